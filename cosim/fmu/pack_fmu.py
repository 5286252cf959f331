"""Our pack out: a scenario's assembled battery as a standalone co-simulation FMU (FMI 2.0 or
3.0) compiled from C, for Linux x86-64 and Windows x86-64, with its cross-check bundle.

``export_pack_fmu(scenario, "pack.fmu")`` (the command ``cosim export-fmu``):

1. builds the pack (and the thermal network the scenario couples to it) exactly as a run
   would and writes everything the C needs into ``resources/pack.dat``
   (:func:`cosim.pack.export_data.export_pack`);
2. renders ``modelDescription.xml`` and ``pack_config.h`` (the instantiation token and the
   start values of the inputs and parameters, the same numbers in both);
3. compiles ``fmus/pack/src/*.c`` (the cell kernels and the pack model, the same C the
   cross-check test ties to the Python pack) with the FMI wrapper of the version into
   ``binaries/`` for each platform; the sources go into ``sources/`` (FMI 2.0:
   ``SourceFiles`` in the model description; FMI 3.0: ``sources/buildDescription.xml``);
4. with ``bundle`` (the default) runs the scenario in-process and writes the FMI
   Cross-Check files next to the FMU: ``<name>_in.csv`` (the set point and the coolant
   inputs the pack saw at each communication point), ``<name>_ref.csv`` (the in-process
   pack's outputs) and ``<name>_ref.opt`` (start, stop, step, tolerance).

Variables (value references in ``fmus/pack/pack_fmu.h``): the inputs ``current_setpoint_A`` or
``power_setpoint_W`` (the scenario's control), ``coolant_temperature_K``,
``ambient_temperature_K``, ``coolant_h_W_m2K``; the parameters ``initial_soc``,
``initial_temperature_K``, ``internal_step_s``; the scalar outputs of :data:`SCALARS`; the
per-layer outputs of :data:`ARRAYS` (FMI 3.0: Float64 arrays over the structural parameters
``string``, ``stack``, ``layer``; FMI 2.0: scalars ``layer_voltage_V[s,k,l]`` with indices
from 1, the structured naming convention). Outputs change only in ``doStep`` (no direct
feedthrough: ``dependencies=""``); at initialization they depend on the initial SOC and
temperature.

The token is a UUID 5 of everything that goes into the build, so the same scenario and
sources give the same token.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .. import __version__
from ..errors import CosimError
from ..pack.c_pack import SCALARS as C_SCALARS

__all__ = ["ARRAYS", "MODEL_IDENTIFIER", "SCALARS", "SOURCE_DIR", "PackFmuExport", "export_pack_fmu",
           "render_model_description"]

#: the FMU's C sources: fmus/pack/ (wrappers) and fmus/pack/src/ (cell kernels, pack model)
SOURCE_DIR = Path(__file__).resolve().parents[2] / "fmus" / "pack"
MODEL_IDENTIFIER = "cosim_pack"
_WRAPPER = {2: "fmi2_pack.c", 3: "fmi3_pack.c"}
_TOKEN = "@INSTANTIATION_TOKEN@"
_NAMESPACE = uuid.UUID("0d5d1c4e-8c1f-5b0a-a3c2-6c1b2f0e7a11")  # fixed: tokens of cosim's pack FMUs

#: value references (fmus/pack/pack_fmu.h)
VR_TIME, VR_INPUTS, VR_PARAMETERS, VR_SCALARS, VR_DIMENSIONS, ARRAY_BASE = 0, 1, 5, 10, 100, 1_000_000

# unit and description of each scalar output (fmus/pack/src/pack_model.h PmScalars)
_SCALAR_INFO = {
    "voltage_V": ("V", "pack terminal voltage"),
    "current_A": ("A", "pack current (positive on discharge)"),
    "power_W": ("W", "power at the pack terminals, mean over the communication step (positive on discharge)"),
    "soc": ("1", "pack state of charge: charge the strings can deliver (each down to its emptiest unit cell) over "
     "their capacity (each its smallest unit cell's)"),
    "min_layer_soc": ("1", "lowest unit-cell state of charge"),
    "max_layer_soc": ("1", "highest unit-cell state of charge"),
    "heat_W": ("W", "heat of the whole pack (cells, collectors, interconnects), mean over the communication step"),
    "min_layer_voltage_V": ("V", "lowest unit-cell voltage"),
    "mean_layer_voltage_V": ("V", "mean unit-cell voltage"),
    "max_layer_voltage_V": ("V", "highest unit-cell voltage"),
    "min_layer_temperature_K": ("K", "coldest unit cell"),
    "mean_layer_temperature_K": ("K", "mean unit-cell temperature"),
    "max_layer_temperature_K": ("K", "hottest unit cell"),
    "min_anode_potential_V": ("V", "lowest negative-electrode potential vs Li/Li+ (plating margin)"),
    "mean_anode_potential_V": ("V", "mean negative-electrode potential vs Li/Li+"),
    "max_anode_potential_V": ("V", "highest negative-electrode potential vs Li/Li+"),
    "available_discharge_power_W": ("W", "pack discharge power over the scenario's pulse within the limits"),
    "available_charge_power_W": ("W", "pack charge power over the scenario's pulse within the voltage and plating "
     "limits (negative)"),
    "heat_to_coolant_W": ("W", "heat removed to the coolant, mean over the communication step"),
    "limited": ("1", "1 when the pack was at a limit in the step (it delivered the most it could)"),
    "power_limit_W": ("W", "power the pack could deliver over the step when a limit bound (= power_W), 1e12 when "
     "none did; feed it to a vehicle's battery_power_limit_W with an iterated connection"),
}
#: the scalar outputs in the order of PmScalars (the ctypes binding's list): name, unit, description
SCALARS = tuple((name, *_SCALAR_INFO[name]) for name in C_SCALARS)
#: the per-layer outputs in the order of PF_ARRAY_NAMES (fmus/pack/pack_fmu.c): name, unit, description, dims
ARRAYS = (
    ("layer_voltage_V", "V", "unit-cell voltage", ("string", "stack", "layer")),
    ("layer_temperature_K", "K", "unit-cell temperature", ("string", "stack", "layer")),
    ("layer_anode_potential_V", "V", "negative electrode potential vs Li/Li+", ("string", "stack", "layer")),
    ("layer_soc", "1", "unit-cell state of charge", ("string", "stack", "layer")),
    ("layer_heat_W", "W", "heat generated in each unit cell (incl. its collector)", ("string", "stack", "layer")),
    ("string_current_A", "A", "current of each parallel string", ("string",)),
)
_DIMENSIONS = (("string", "parallel strings"), ("stack", "bipolar stacks in series per string"),
               ("layer", "unit cells in series per stack"))

# unit -> SI base-unit exponents for <UnitDefinitions>
_UNITS = {
    "s": {"s": 1}, "W": {"kg": 1, "m": 2, "s": -3}, "V": {"kg": 1, "m": 2, "s": -3, "A": -1}, "A": {"A": 1},
    "K": {"K": 1}, "W/(m2.K)": {"kg": 1, "s": -3, "K": -1},
}
_LOG_CATEGORIES = (
    ("logStatusError", "errors: a bad resource file or parameter, a step without solution, a limit with "
     "on_limit = stop, calls in the wrong state"),
    ("logStatusWarning", "warnings: the pack ended the run (on_limit = end)"),
    ("logEvents", "instantiation and initialization (only with logging on)"),
)


class PackFmuError(CosimError):
    """The pack cannot be exported as asked (a DFN pack, an unknown component, a bad option)."""


@dataclass(frozen=True)
class PackFmuExport:
    """What :func:`export_pack_fmu` wrote: the FMU and its cross-check files."""

    fmu: Path
    fmi_version: int
    platforms: tuple[str, ...]
    token: str
    bundle: dict[str, Path] = field(default_factory=dict)


def _num(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise PackFmuError(f"non-finite value {x!r} in the pack FMU")
    return repr(x)


def _inputs(meta) -> list[tuple[str, str, str, float]]:
    setpoint = ("current_setpoint_A", "A", "pack current set point (positive on discharge)") if meta.control == "current" \
        else ("power_setpoint_W", "W", "pack power set point (positive on discharge)")
    return [
        (*setpoint, 0.0),
        ("coolant_temperature_K", "K", "coolant temperature (the thermal network's coolant boundary)",
         meta.coolant_temperature_K),
        ("ambient_temperature_K", "K", "ambient temperature (the thermal network's ambient boundary)",
         meta.ambient_temperature_K),
        ("coolant_h_W_m2K", "W/(m2.K)", "heat-transfer coefficient of the cooled faces to their medium",
         meta.coolant_h_W_m2K),
    ]


def _parameters(meta) -> list[tuple[str, str, str, float]]:
    soc = -1.0 if meta.initial_soc is None else meta.initial_soc
    return [
        ("initial_soc", "1", "state of charge of every unit cell at the start (negative: the parameter set's "
         "initial state, as the scenario starts)", soc),
        ("initial_temperature_K", "K", "temperature of every thermal node (or unit cell) at the start",
         meta.initial_temperature_K),
        ("internal_step_s", "s", "longest internal step: a communication step is taken in equal steps no longer "
         "than this", meta.step_s),
    ]


def _unit_definitions(indent: str) -> list[str]:
    lines = [f"{indent}<UnitDefinitions>"]
    for name, exps in _UNITS.items():
        attrs = " ".join(f'{k}="{v}"' for k, v in exps.items())
        lines.append(f"{indent}  <Unit name={quoteattr(name)}><BaseUnit {attrs}/></Unit>")
    lines.append(f"{indent}</UnitDefinitions>")
    return lines


def _sources(fmi_version: int) -> list[str]:
    """The C files compiled into the FMU (names inside ``sources/``)."""
    from .build import COMMON

    return (sorted(p.name for p in (SOURCE_DIR / "src").glob("*.c")) + ["pack_fmu.c", _WRAPPER[fmi_version]]
            + [name for name in COMMON[fmi_version] if name.endswith(".c")])


def render_model_description(meta, fmi_version: int, token: str = _TOKEN, label: str = "a scenario") -> str:
    """modelDescription.xml of the pack FMU for the export metadata ``meta``
    (:class:`cosim.pack.export_data.PackExport`) of ``label`` (the scenario's name)."""
    if fmi_version not in (2, 3):
        raise PackFmuError(f"fmi_version must be 2 or 3, not {fmi_version!r}")
    S, P, L = meta.n_strings, meta.n_stacks, meta.n_layers
    thermal = "with its layer-resolved thermal network" if meta.has_thermal else "at a set temperature"
    description = (f"cosim pack: {S} string(s) x {P} bipolar stack(s) x {L} unit cells ({meta.model.upper()}, "
                   f"parameter set {meta.parameter_set}) {thermal}, exported from {label}")
    head = ['<?xml version="1.0" encoding="UTF-8"?>']
    common = (f'modelName={quoteattr(MODEL_IDENTIFIER)} description={quoteattr(description)} '
              f'generationTool="cosim {escape(__version__)}" variableNamingConvention="structured"')
    if fmi_version == 2:
        head.append(f'<fmiModelDescription fmiVersion="2.0" guid="{token}" {common} numberOfEventIndicators="0">')
        head.append(f'  <CoSimulation modelIdentifier="{MODEL_IDENTIFIER}" canHandleVariableCommunicationStepSize="true" '
                    'canGetAndSetFMUstate="true" canSerializeFMUstate="true" canNotUseMemoryManagementFunctions="true">')
        head.append("    <SourceFiles>")
        head += [f'      <File name="{f}"/>' for f in _sources(2)]
        head.append("    </SourceFiles>")
        head.append("  </CoSimulation>")
    else:
        head.append(f'<fmiModelDescription fmiVersion="3.0" instantiationToken="{token}" {common}>')
        head.append(f'  <CoSimulation modelIdentifier="{MODEL_IDENTIFIER}" canHandleVariableCommunicationStepSize="true" '
                    'canGetAndSetFMUState="true" canSerializeFMUState="true" hasEventMode="false" '
                    'providesIntermediateUpdate="false" canReturnEarlyAfterIntermediateUpdate="false"/>')
    lines = head + _unit_definitions("  ")
    lines.append("  <LogCategories>")
    lines += [f"    <Category name={quoteattr(n)} description={quoteattr(d)}/>" for n, d in _LOG_CATEGORIES]
    lines.append("  </LogCategories>")
    lines.append(f'  <DefaultExperiment startTime="{_num(meta.start_time_s)}" stopTime="{_num(meta.stop_time_s)}" '
                 f'stepSize="{_num(meta.step_s)}"/>')
    lines.append("  <ModelVariables>")
    # (name, vr, causality, unit, description, start, dims or None)
    rows = [("time", VR_TIME, "independent", "s", "simulation time", None, None)]
    rows += [(n, VR_INPUTS + k, "input", u, d, s, None) for k, (n, u, d, s) in enumerate(_inputs(meta))]
    rows += [(n, VR_PARAMETERS + k, "parameter", u, d, s, None) for k, (n, u, d, s) in enumerate(_parameters(meta))]
    rows += [(n, VR_SCALARS + k, "output", u, d, None, None) for k, (n, u, d) in enumerate(SCALARS)]
    rows += [(n, ARRAY_BASE * (k + 1), "output", u, d, None, dims) for k, (n, u, d, dims) in enumerate(ARRAYS)]
    sizes = {"string": S, "stack": P, "layer": L}
    outputs, initial_deps = [], []
    if fmi_version == 2:
        index = 0
        for name, vr, causality, unit, desc, start, dims in rows:
            elements = [((), vr)] if dims is None else [
                (idx, vr + k) for k, idx in enumerate(_indices([sizes[d] for d in dims]))]
            for idx, ref in elements:
                index += 1
                label = name if not idx else f"{name}[{','.join(str(i + 1) for i in idx)}]"
                attrs = [f"name={quoteattr(label)}", f'valueReference="{ref}"', f'causality="{causality}"',
                         f'variability="{"fixed" if causality == "parameter" else "continuous"}"']
                if causality == "parameter":
                    attrs.append('initial="exact"')
                elif causality == "output":
                    attrs.append('initial="calculated"')
                attrs.append(f"description={quoteattr(desc)}")
                inner = ([f"unit={quoteattr(unit)}"] if unit != "1" else []) + (
                    [f'start="{_num(start)}"'] if start is not None else [])
                lines.append(f"    <ScalarVariable {' '.join(attrs)}>")
                lines.append(f"      <Real {' '.join(inner)}/>")
                lines.append("    </ScalarVariable>")
                if causality == "output":
                    outputs.append(index)
                if name in ("initial_soc", "initial_temperature_K"):
                    initial_deps.append(index)
        lines.append("  </ModelVariables>")
        lines.append("  <ModelStructure>")
        lines.append("    <Outputs>")
        lines += [f'      <Unknown index="{i}" dependencies=""/>' for i in outputs]
        lines.append("    </Outputs>")
        lines.append("    <InitialUnknowns>")
        deps = " ".join(map(str, initial_deps))
        lines += [f'      <Unknown index="{i}" dependencies="{deps}"/>' for i in outputs]
        lines.append("    </InitialUnknowns>")
        lines.append("  </ModelStructure>")
    else:
        for k, ((dim, desc), n) in enumerate(zip(_DIMENSIONS, (S, P, L))):
            lines.append(f'    <UInt64 name="{dim}" valueReference="{VR_DIMENSIONS + k}" causality="structuralParameter" '
                         f'variability="fixed" start="{n}" description={quoteattr(desc + " (a dimension of the arrays)")}/>')
        for name, vr, causality, unit, desc, start, dims in rows:
            attrs = [f"name={quoteattr(name)}", f'valueReference="{vr}"', f'causality="{causality}"',
                     f'variability="{"fixed" if causality == "parameter" else "continuous"}"']
            if causality == "output":
                attrs.append('initial="calculated"')
            attrs.append(f"description={quoteattr(desc)}")
            if unit != "1":  # dimensionless: no unit (an importer reads "1")
                attrs.append(f"unit={quoteattr(unit)}")
            if start is not None:
                attrs.append(f'start="{_num(start)}"')
            if dims is None:
                lines.append(f"    <Float64 {' '.join(attrs)}/>")
            else:
                lines.append(f"    <Float64 {' '.join(attrs)}>")
                lines += [f'      <Dimension valueReference="{VR_DIMENSIONS + ("string", "stack", "layer").index(d)}"/>'
                          for d in dims]
                lines.append("    </Float64>")
            if causality == "output":
                outputs.append(vr)
        deps = f"{VR_PARAMETERS} {VR_PARAMETERS + 1}"
        lines.append("  </ModelVariables>")
        lines.append("  <ModelStructure>")
        lines += [f'    <Output valueReference="{vr}" dependencies=""/>' for vr in outputs]
        lines += [f'    <InitialUnknown valueReference="{vr}" dependencies="{deps}"/>' for vr in outputs]
        lines.append("  </ModelStructure>")
    lines.append("</fmiModelDescription>")
    return "\n".join(lines) + "\n"


def _indices(shape: list[int]):
    """Every index tuple of ``shape`` in C order."""
    return itertools.product(*(range(n) for n in shape))


def render_config_header(meta, token: str = _TOKEN, label: str = "a scenario") -> str:
    """pack_config.h: the token and the start values of the inputs and parameters."""
    body = [f"    d->inputs[{k}] = {_num(s)}; /* {n} */" for k, (n, _, _, s) in enumerate(_inputs(meta))]
    body += [f"    d->parameters[{k}] = {_num(s)}; /* {n} */" for k, (n, _, _, s) in enumerate(_parameters(meta))]
    return "\n".join([
        f"/* Generated by cosim.fmu.pack_fmu (cosim {__version__}) for the pack of {label}:",
        " * the instantiation token and the start values of the inputs and parameters, the same as",
        " * in modelDescription.xml. Do not edit. */",
        "#ifndef PACK_CONFIG_H",
        "#define PACK_CONFIG_H",
        "",
        '#include "pack_fmu.h"',
        "",
        f'#define PC_INSTANTIATION_TOKEN "{token}"',
        "",
        "static void pc_defaults(PfDefaults *d)",
        "{",
        *body,
        "}",
        "",
        "#endif /* PACK_CONFIG_H */",
        "",
    ])


def render_build_description(fmi_version: int) -> str:
    """FMI 3.0's sources/buildDescription.xml: how to compile the shipped sources."""
    files = "\n".join(f'      <SourceFile name="{f}"/>' for f in _sources(fmi_version))
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<fmiBuildDescription fmiVersion="3.0">',
        f'  <BuildConfiguration modelIdentifier="{MODEL_IDENTIFIER}">',
        '    <SourceFileSet language="C99" compilerOptions="-O2 -ffp-contract=off -DCK_EXPORT=">',
        files,
        "    </SourceFileSet>",
        '    <Library name="m"/>',
        "  </BuildConfiguration>",
        "</fmiBuildDescription>",
        "",
    ])


# C flags of the FMU build: no fused multiply-adds (the cross-check's round-off), the kernels'
# functions not exported (only the fmi* API)
_CFLAGS = ("-ffp-contract=off", "-fvisibility=hidden", "-DCK_EXPORT=", "-Wextra", "-Werror")


def export_pack_fmu(scenario, out: str | os.PathLike, *, component: str = "pack", fmi_version: int = 3,
                    platforms: tuple[str, ...] = ("linux64", "win64"), bundle: bool = True) -> PackFmuExport:
    """Export the scenario's assembled battery (component ``component``) as a co-simulation
    FMU at ``out``; see the module docstring. ``scenario`` is a path or a loaded scenario.
    Raises :class:`PackFmuError` for what cannot be exported and
    :class:`cosim.fmu.build.FmuBuildError` when compiling fails."""
    from ..pack.export_data import export_pack
    from ..scenario import load_scenario
    from .build import build_fmu
    from .build import COMMON, COMMON_DIR

    if fmi_version not in (2, 3):
        raise PackFmuError(f"--fmi must be 2 or 3, not {fmi_version!r}")
    loaded = load_scenario(scenario) if isinstance(scenario, (str, os.PathLike)) else scenario
    meta = export_pack(loaded, component)
    label = loaded.path.name
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="cosim-pack-fmu-") as tmp:
        stage = Path(tmp) / "sources"
        stage.mkdir()
        for f in sorted((SOURCE_DIR / "src").iterdir()):
            if f.suffix in (".c", ".h"):
                shutil.copyfile(f, stage / f.name)
        for name in ("pack_fmu.h", "pack_fmu.c", _WRAPPER[fmi_version]):
            shutil.copyfile(SOURCE_DIR / name, stage / name)
        for name in COMMON[fmi_version]:
            shutil.copyfile(COMMON_DIR / name, stage / name)
        data = Path(tmp) / "pack.dat"
        data.write_bytes(meta.data)
        xml = render_model_description(meta, fmi_version, label=label)
        header = render_config_header(meta, label=label)
        digest = "\n".join([xml, header, meta.data.hex()] + [(stage / n).read_text() for n in sorted(os.listdir(stage))])
        token = "{" + str(uuid.uuid5(_NAMESPACE, digest)) + "}"
        (stage / "pack_config.h").write_text(header.replace(_TOKEN, token))
        extra = {}
        if fmi_version == 3:
            build_xml = Path(tmp) / "buildDescription.xml"
            build_xml.write_text(render_build_description(3))
            extra["buildDescription.xml"] = build_xml
        build_fmu(stage, out, sources=_sources(fmi_version), resources={"pack.dat": data},
                  model_description=xml.replace(_TOKEN, token), cflags=_CFLAGS, platforms=platforms,
                  extra_sources=extra)
    files = write_cross_check_bundle(loaded, component, meta, out) if bundle else {}
    return PackFmuExport(out, fmi_version, tuple(platforms), token, files)


# -- the cross-check bundle -------------------------------------------------------------------

def _bundle_rows(loaded, p: str, meta):
    """Run the scenario in-process; the inputs the pack ``p`` (and its thermal network) saw
    over each step and its outputs after each step, named as the FMU's variables."""
    import dataclasses

    import numpy as np
    import xarray as xr

    from ..run import run_scenario

    scenario = loaded.scenario
    th = meta.thermal_component
    setpoint_port = "current_setpoint_A" if meta.control == "current" else "power_setpoint_W"
    sources = {}
    for c in scenario.connections:
        if (c.target_component, c.target_port) in ((p, setpoint_port), (th, "coolant_temperature_K"),
                                                   (th, "ambient_temperature_K")):
            sources[c.target_port] = f"{c.source_component}.{c.source_port}"
    output = scenario.output.model_copy(update={"interval_s": None, "variables": ["*"], "path": None})
    loaded = dataclasses.replace(loaded, scenario=scenario.model_copy(update={"output": output}))
    with tempfile.TemporaryDirectory(prefix="cosim-pack-bundle-") as tmp:
        outcome = run_scenario(loaded, output=Path(tmp) / "reference.nc")
        if outcome.status != "complete":
            raise PackFmuError(f"the in-process run for the cross-check files ended {outcome.status}: "
                               f"{outcome.reason}")
        with xr.open_dataset(outcome.path) as ds:
            ds = ds.load()
    t = ds["time"].values.astype(float)

    def source_of(port: str, default: float) -> np.ndarray:
        """The values fed into an input over each step [t_i, t_i+1] (recorded at t_i+1)."""
        name = sources.get(port)
        if name is None:
            return np.full(t.size - 1, float(default))
        return ds[name].values[1:].astype(float)

    setpoint = source_of(setpoint_port, 0.0)
    inputs = {_inputs(meta)[0][0]: setpoint,
              "coolant_temperature_K": source_of("coolant_temperature_K", meta.coolant_temperature_K),
              "ambient_temperature_K": source_of("ambient_temperature_K", meta.ambient_temperature_K),
              "coolant_h_W_m2K": np.full(t.size - 1, meta.coolant_h_W_m2K)}
    axes = (1, 2, 3)
    v = ds[f"{p}.layer_voltage_V"].values
    a = ds[f"{p}.layer_anode_potential_V"].values
    T = ds[f"{th}.layer_temperature_K"].values if th else None
    ref = {name: ds[f"{p}.{name}"].values.astype(float) for name in (
        "voltage_V", "current_A", "power_W", "soc", "min_layer_soc", "max_layer_soc", "heat_W",
        "min_layer_voltage_V", "max_layer_voltage_V", "limited", "power_limit_W")}
    ref["mean_layer_voltage_V"] = v.mean(axis=axes)
    ref["min_anode_potential_V"], ref["mean_anode_potential_V"], ref["max_anode_potential_V"] = (
        a.min(axis=axes), a.mean(axis=axes), a.max(axis=axes))
    if T is not None:
        ref["min_layer_temperature_K"], ref["mean_layer_temperature_K"], ref["max_layer_temperature_K"] = (
            T.min(axis=axes), T.mean(axis=axes), T.max(axis=axes))
        removed = ds[f"{th}.heat_removed_to_coolant_J"].values.astype(float)
        ref["heat_to_coolant_W"] = np.concatenate([[0.0], np.diff(removed) / np.diff(t)])
    for name in ("available_discharge_power_W", "available_charge_power_W"):
        if f"{p}.{name}" in ds:
            ref[name] = ds[f"{p}.{name}"].values.astype(float)
    return t, inputs, ref


def write_cross_check_bundle(loaded, component: str, meta, fmu: Path) -> dict[str, Path]:
    """``<fmu stem>_in.csv``, ``_ref.csv`` and ``_ref.opt`` next to the FMU (FMI Cross-Check
    layout) from an in-process run of the scenario."""
    t, inputs, ref = _bundle_rows(loaded, component, meta)
    stem = fmu.with_suffix("")
    files = {"in": Path(f"{stem}_in.csv"), "ref": Path(f"{stem}_ref.csv"), "opt": Path(f"{stem}_ref.opt")}
    with open(files["in"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *inputs])
        for i in range(t.size):  # the last row repeats the last step's inputs (held)
            k = min(i, t.size - 2)
            w.writerow([repr(float(t[i]))] + [repr(float(col[k])) for col in inputs.values()])
    order = [n for n, _, _ in SCALARS if n in ref]
    with open(files["ref"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *order])
        for i in range(t.size):
            w.writerow([repr(float(t[i]))] + [repr(float(ref[n][i])) for n in order])
    files["opt"].write_text(f"StartTime, {_num(meta.start_time_s)}\nStopTime, {_num(meta.stop_time_s)}\n"
                            f"StepSize, {_num(meta.step_s)}\nRelTol, 1e-06\n")
    return files
