"""Our reference vehicle as FMUs (FMI 2.0 and 3.0 co-simulation), built from ``fmus/vehicle/``.

The C model (``fmus/vehicle/vehicle_model.c``) has the equations of the native ``vehicle``
component (battery-electric vehicles only) and agrees with it to round-off. Each FMU is
made for one vehicle file and one drive cycle:

* ``modelDescription.xml`` is rendered here from the vehicle file (every number the
  equations use is a parameter whose start value is the file's value) and the cycle;
* ``vehicle_config.h`` (generated beside the C sources, shipped in ``sources/``) holds the
  same start values for the C code and the instantiation token;
* ``resources/cycle.csv`` is the drive cycle (``time_s,speed_mps,grade_rad``, every number
  written so that it reads back bit for bit).

Variables have the names and units of the native component's ports, so an FMU can replace
the native vehicle in a scenario without any mapping. Value references are the ids in
``fmus/vehicle/vehicle_model.h``. The arrays (motor efficiency curve, energy per distance of
the cycle's phases) are FMI 3 arrays, and numbered scalars ``<name>_1`` ... ``<name>_N`` in
FMI 2 (value references base + 1 ... base + N). The GUID / instantiation token is a UUID 5
of everything that goes into the build (description, generated header, C sources), so a
rebuild of the same inputs gives the same token.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .. import __version__
from ..components.base import UNLIMITED_W
from ..components.vehicle import OUTPUTS
from ..vehicle.cycles import Cycle, load_cycle
from ..vehicle.longitudinal import Vehicle, VehicleSpec, load_vehicle, load_vehicle_spec
from .build import COMMON, COMMON_DIR

__all__ = ["SOURCE_DIR", "MODEL_IDENTIFIER", "VehicleVariable", "build_vehicle_fmus", "fmu_variables",
           "render_model_description", "render_config_header", "cycle_csv"]

#: the C sources of the vehicle FMUs
SOURCE_DIR = Path(__file__).resolve().parents[2] / "fmus" / "vehicle"
#: modelIdentifier of both FMUs (the shared library's name)
MODEL_IDENTIFIER = "cosim_vehicle"
#: the C files of each FMU, besides the generated vehicle_config.h: the model, what both
#: wrappers share, and the wrapper of each FMI version
_CORE = ("vehicle_model.h", "vehicle_model.c", "fmu_common.h", "fmu_common.c")
_WRAPPER = {2: "fmi2_vehicle.c", 3: "fmi3_vehicle.c"}
_TOKEN = "@INSTANTIATION_TOKEN@"
_NAMESPACE = uuid.UUID("6f1c2d7e-3b1a-5c55-9a53-7c0f5b0e11aa")  # fixed: tokens of cosim's vehicle FMUs

# value references (= the ids in vehicle_model.h)
_VR = {
    "time": 0, "available_discharge_power_W": 1, "available_charge_power_W": 2, "battery_power_limit_W": 3,
    "battery_power_W": 10, "target_speed_mps": 11, "speed_mps": 12, "distance_m": 13,
    "tractive_power_W": 14, "braking_power_W": 15, "regen_power_W": 16, "trace_miss_mps": 17,
    "energy_per_distance_Wh_km": 18, "phase_energy_per_distance_Wh_km": 100,
    "mass_kg": 200, "rotating_inertia_factor": 201, "rolling_resistance_coefficient": 202,
    "drag_area_m2": 203, "air_density_kg_per_m3": 204, "A_N": 205, "B_N_s_per_m": 206,
    "C_N_s2_per_m2": 207, "drivetrain_efficiency": 208, "motor_max_power_W": 209,
    "motor_max_regen_power_W": 210, "motor_efficiency": 211, "regen_max_fraction": 212,
    "regen_fade_start_speed_mps": 213, "regen_fade_end_speed_mps": 214, "auxiliary_power_W": 215,
    "motor_efficiency_load_fraction": 300, "motor_efficiency_curve": 400, "forward": 500,
}

# unit -> SI base-unit exponents (and factor) for <UnitDefinitions>
_UNITS = {
    "s": {"s": 1},
    "W": {"kg": 1, "m": 2, "s": -3},
    "m/s": {"m": 1, "s": -1},
    "m": {"m": 1},
    "Wh/km": {"kg": 1, "m": 1, "s": -2, "factor": 3.6},
    "kg": {"kg": 1},
    "m2": {"m": 2},
    "kg/m3": {"kg": 1, "m": -3},
    "N": {"kg": 1, "m": 1, "s": -2},
    "N.s/m": {"kg": 1, "s": -1},
    "N.s2/m2": {"kg": 1, "m": -1},
}

_LOG_CATEGORIES = (
    ("logStatusError", "errors: bad parameters, a missing or bad drive cycle, calls in the wrong state"),
    ("logStatusWarning", "warnings"),
    ("logEvents", "instantiation and initialization (only with logging on)"),
)


@dataclass(frozen=True)
class VehicleVariable:
    """One variable of the vehicle FMUs (``start``: a float, a tuple for arrays, a bool)."""

    name: str
    vr: int
    causality: str  # independent, input, output, parameter
    unit: str | None
    description: str
    start: object = None
    type: str = "Real"  # Real or Boolean
    size: int | None = None  # array length (FMI 3 array, FMI 2 numbered scalars)
    elements: tuple[str, ...] = ()  # FMI 2: description of each numbered scalar


def _c_sources(fmi_version: int) -> list[str]:
    """The C files compiled into the FMU of this FMI version (listed in FMI 2's SourceFiles)."""
    return ([name for name in _CORE if name.endswith(".c")] + [_WRAPPER[fmi_version]]
            + [name for name in COMMON[fmi_version] if name.endswith(".c")])


def _bev(vehicle: str | os.PathLike) -> tuple[VehicleSpec, Vehicle]:
    spec = load_vehicle_spec(vehicle)
    veh = load_vehicle(vehicle)
    if spec.powertrain != "bev" or veh.hybrid is not None:
        raise ValueError(f"vehicle {spec.name!r}: the vehicle FMU models battery-electric vehicles only "
                         f"(powertrain = {spec.powertrain!r})")
    return spec, veh


def fmu_variables(spec: VehicleSpec, veh: Vehicle, cycle: Cycle) -> list[VehicleVariable]:
    """The FMUs' variables for a vehicle file and a cycle, in the order they are declared."""
    out = [
        VehicleVariable("time", 0, "independent", "s", "simulation time"),
        VehicleVariable("available_discharge_power_W", 1, "input", "W",
                    "battery discharge power available (forward mode caps the demand)", UNLIMITED_W),
        VehicleVariable("available_charge_power_W", 2, "input", "W",
                    "battery charge power available (sign ignored; caps regen)", -UNLIMITED_W),
        VehicleVariable("battery_power_limit_W", 3, "input", "W",
                    "battery power the pack could deliver over this step when a limit bound (from an "
                    "iterated connection; beyond +-1e11 W: no limit)", UNLIMITED_W),
    ]
    out += [VehicleVariable(n, _VR[n], "output", u, d) for n, u, d in OUTPUTS]
    if cycle.phases:
        names = ", ".join(cycle.phases)
        out.append(VehicleVariable("phase_energy_per_distance_Wh_km", _VR["phase_energy_per_distance_Wh_km"], "output",
                               "Wh/km", f"battery energy per distance in each cycle phase ({names}); 0 before a phase",
                               size=len(cycle.phases),
                               elements=tuple(f"battery energy per distance in the cycle phase {name} "
                                              f"({a:g} s to {b:g} s); 0 before the phase"
                                              for name, (a, b) in cycle.phases.items())))

    def par(name, unit, description, value):
        out.append(VehicleVariable(name, _VR[name], "parameter", unit, description, float(value)))

    par("mass_kg", "kg", "vehicle mass as driven (coast-down form: equivalent test weight)", spec.mass.mass_kg)
    par("rotating_inertia_factor", None, "rotating-inertia factor: effective mass = mass_kg (1 + factor)",
        spec.mass.rotating_inertia_factor)
    rl = spec.road_load
    if rl.form == "physical":
        par("rolling_resistance_coefficient", None, "rolling resistance coefficient (road load m g Crr cos(grade))",
            rl.rolling_resistance_coefficient)
        par("drag_area_m2", "m2", "drag area Cd A", rl.drag_area_m2)
        par("air_density_kg_per_m3", "kg/m3", "air density", rl.air_density_kg_per_m3)
    else:
        par("A_N", "N", "coast-down constant term", rl.A_N)
        par("B_N_s_per_m", "N.s/m", "coast-down linear term", rl.B_N_s_per_m)
        par("C_N_s2_per_m2", "N.s2/m2", "coast-down quadratic term", rl.C_N_s2_per_m2)
    par("drivetrain_efficiency", None, "gear / final drive efficiency, both directions", spec.drivetrain.efficiency)
    par("motor_max_power_W", "W", "peak motor shaft power (motoring)", veh.max_power_W)
    par("motor_max_regen_power_W", "W", "peak motor shaft power when braking", veh.max_regen_power_W)
    if veh.eta_motor is not None:
        par("motor_efficiency", None, "motor + inverter efficiency, constant", veh.eta_motor)
    else:
        n = len(veh.eta_x)
        out.append(VehicleVariable("motor_efficiency_load_fraction", _VR["motor_efficiency_load_fraction"], "parameter",
                               None, "points of |shaft power| / motor_max_power_W (increasing)",
                               tuple(float(x) for x in veh.eta_x), size=n,
                               elements=tuple(f"load fraction |shaft power| / motor_max_power_W of point {k + 1} "
                                              "of the motor efficiency curve" for k in range(n))))
        out.append(VehicleVariable("motor_efficiency_curve", _VR["motor_efficiency_curve"], "parameter", None,
                               "motor + inverter efficiency at those points (linear between, flat outside)",
                               tuple(float(y) for y in veh.eta_y), size=n,
                               elements=tuple(f"motor + inverter efficiency at point {k + 1} of the curve"
                                              for k in range(n))))
    par("regen_max_fraction", None, "share of the braking wheel power offered to the motor", veh.regen_max_fraction)
    par("regen_fade_start_speed_mps", "m/s", "no regen below this speed", veh.regen_v0_mps)
    par("regen_fade_end_speed_mps", "m/s", "full regen share above this speed", veh.regen_v1_mps)
    par("auxiliary_power_W", "W", "constant auxiliary electrical load", veh.aux_power_W)
    out.append(VehicleVariable("forward", _VR["forward"], "parameter", None,
                           "true: forward mode (the available discharge power caps the vehicle); "
                           "false: backward mode (the trace is followed exactly)", True, type="Boolean"))
    return out


def _num(x: float) -> str:
    """Shortest text that reads back as the same double (C and XML alike)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x!r} in the vehicle FMU")
    return repr(x)


def _fmi2_scalars(variables: list[VehicleVariable]) -> list[tuple[VehicleVariable, str, int, object, str]]:
    """FMI 2 view: arrays become numbered scalars (name_k, vr base + k)."""
    rows = []
    for v in variables:
        if v.size is None:
            rows.append((v, v.name, v.vr, v.start, v.description))
        else:
            for k in range(v.size):
                start = None if v.start is None else v.start[k]
                rows.append((v, f"{v.name}_{k + 1}", v.vr + k + 1, start, v.elements[k]))
    return rows


def _unit_definitions(used: set[str], indent: str) -> list[str]:
    lines = [f"{indent}<UnitDefinitions>"]
    for name in sorted(used):
        exps = dict(_UNITS[name])
        attrs = " ".join(f'{k}="{_num(v) if k == "factor" else v}"' for k, v in exps.items())
        lines.append(f"{indent}  <Unit name={quoteattr(name)}><BaseUnit {attrs}/></Unit>")
    lines.append(f"{indent}</UnitDefinitions>")
    return lines


def render_model_description(spec: VehicleSpec, veh: Vehicle, cycle: Cycle, fmi_version: int,
                             token: str = _TOKEN) -> str:
    """modelDescription.xml of the FMI 2.0 (``fmi_version=2``) or 3.0 (``3``) vehicle FMU."""
    if fmi_version not in (2, 3):
        raise ValueError(f"fmi_version must be 2 or 3, not {fmi_version!r}")
    variables = fmu_variables(spec, veh, cycle)
    used_units = {v.unit for v in variables if v.unit}
    description = (f"cosim reference vehicle {spec.name} on the drive cycle {cycle.name} "
                   f"(equations of cosim's native vehicle component): {spec.description}")
    duration = _num(float(cycle.time_s[-1] - cycle.time_s[0]))
    head = ['<?xml version="1.0" encoding="UTF-8"?>']
    if fmi_version == 2:
        head.append(f'<fmiModelDescription fmiVersion="2.0" modelName={quoteattr(MODEL_IDENTIFIER)} '
                    f'guid="{token}" description={quoteattr(description)} '
                    f'generationTool="cosim {escape(__version__)}" variableNamingConvention="flat" '
                    f'numberOfEventIndicators="0">')
        head.append(f'  <CoSimulation modelIdentifier="{MODEL_IDENTIFIER}" canHandleVariableCommunicationStepSize="true" '
                    'canGetAndSetFMUstate="true" canSerializeFMUstate="true">')
        head.append("    <SourceFiles>")
        for f in _c_sources(2):
            head.append(f'      <File name="{f}"/>')
        head.append("    </SourceFiles>")
        head.append("  </CoSimulation>")
    else:
        head.append(f'<fmiModelDescription fmiVersion="3.0" modelName={quoteattr(MODEL_IDENTIFIER)} '
                    f'instantiationToken="{token}" description={quoteattr(description)} '
                    f'generationTool="cosim {escape(__version__)}" variableNamingConvention="flat">')
        head.append(f'  <CoSimulation modelIdentifier="{MODEL_IDENTIFIER}" canHandleVariableCommunicationStepSize="true" '
                    'canGetAndSetFMUState="true" canSerializeFMUState="true" hasEventMode="false" '
                    'providesIntermediateUpdate="false" canReturnEarlyAfterIntermediateUpdate="false"/>')
    lines = head + _unit_definitions(used_units, "  ")
    lines.append("  <LogCategories>")
    for name, text in _LOG_CATEGORIES:
        lines.append(f"    <Category name={quoteattr(name)} description={quoteattr(text)}/>")
    lines.append("  </LogCategories>")
    lines.append(f'  <DefaultExperiment startTime="0.0" stopTime="{duration}" stepSize="1.0"/>')
    lines.append("  <ModelVariables>")
    outputs: list[int] = []  # FMI 2: indices; FMI 3: value references
    if fmi_version == 2:
        for index, (v, name, vr, start, desc) in enumerate(_fmi2_scalars(variables), start=1):
            attrs = [f"name={quoteattr(name)}", f'valueReference="{vr}"', f'causality="{v.causality}"']
            if v.causality == "parameter":
                attrs.append('variability="fixed"')
            elif v.causality in ("output", "independent", "input"):
                attrs.append('variability="continuous"')
            attrs.append(f"description={quoteattr(desc)}")
            inner = []
            if v.type == "Boolean":
                inner.append(f'start="{"true" if start else "false"}"')
            else:
                if v.unit:
                    inner.append(f"unit={quoteattr(v.unit)}")
                if start is not None:
                    inner.append(f'start="{_num(start)}"')
            lines.append(f"    <ScalarVariable {' '.join(attrs)}>")
            lines.append(f"      <{v.type}{(' ' + ' '.join(inner)) if inner else ''}/>")
            lines.append("    </ScalarVariable>")
            if v.causality == "output":
                outputs.append(index)
        lines.append("  </ModelVariables>")
        lines.append("  <ModelStructure>")
        lines.append("    <Outputs>")
        lines += [f'      <Unknown index="{i}" dependencies=""/>' for i in outputs]
        lines.append("    </Outputs>")
        lines.append("    <InitialUnknowns>")
        lines += [f'      <Unknown index="{i}"/>' for i in outputs]
        lines.append("    </InitialUnknowns>")
        lines.append("  </ModelStructure>")
    else:
        for v in variables:
            tag = "Float64" if v.type == "Real" else "Boolean"
            attrs = [f"name={quoteattr(v.name)}", f'valueReference="{v.vr}"', f'causality="{v.causality}"']
            if v.causality == "parameter":
                attrs.append('variability="fixed"')
            elif tag == "Float64":
                attrs.append('variability="continuous"')
            attrs.append(f"description={quoteattr(v.description)}")
            if v.unit:
                attrs.append(f"unit={quoteattr(v.unit)}")
            if v.start is not None:
                if v.type == "Boolean":
                    attrs.append(f'start="{"true" if v.start else "false"}"')
                elif v.size is not None:
                    attrs.append(f'start="{" ".join(_num(x) for x in v.start)}"')
                else:
                    attrs.append(f'start="{_num(v.start)}"')
            if v.size is None:
                lines.append(f"    <{tag} {' '.join(attrs)}/>")
            else:
                lines.append(f"    <{tag} {' '.join(attrs)}>")
                lines.append(f'      <Dimension start="{v.size}"/>')
                lines.append(f"    </{tag}>")
            if v.causality == "output":
                outputs.append(v.vr)
        lines.append("  </ModelVariables>")
        lines.append("  <ModelStructure>")
        lines += [f'    <Output valueReference="{vr}" dependencies=""/>' for vr in outputs]
        lines += [f'    <InitialUnknown valueReference="{vr}"/>' for vr in outputs]
        lines.append("  </ModelStructure>")
    lines.append("</fmiModelDescription>")
    return "\n".join(lines) + "\n"


def render_config_header(spec: VehicleSpec, veh: Vehicle, cycle: Cycle, fmi_version: int,
                         token: str = _TOKEN) -> str:
    """vehicle_config.h: the token and the parameters' start values for the C wrappers."""
    p = {v.name: v.start for v in fmu_variables(spec, veh, cycle) if v.causality == "parameter"}
    body = []

    def put(field, value):
        body.append(f"    p->{field} = {_num(value)};")

    coastdown = spec.road_load.form == "coastdown"
    put("mass_kg", p["mass_kg"])
    put("rotating_inertia_factor", p["rotating_inertia_factor"])
    body.append(f"    p->coastdown = {int(coastdown)};")
    for key in (("A_N", "B_N_s_per_m", "C_N_s2_per_m2") if coastdown else
                ("rolling_resistance_coefficient", "drag_area_m2", "air_density_kg_per_m3")):
        put(key, p[key])
    for key in ("drivetrain_efficiency", "motor_max_power_W", "motor_max_regen_power_W"):
        put(key, p[key])
    if "motor_efficiency" in p:
        body.append("    p->motor_n_points = 0;")
        put("motor_efficiency", p["motor_efficiency"])
    else:
        x, y = p["motor_efficiency_load_fraction"], p["motor_efficiency_curve"]
        body.append(f"    p->motor_n_points = {len(x)};")
        for k, (xk, yk) in enumerate(zip(x, y)):
            put(f"motor_efficiency_load_fraction[{k}]", xk)
            put(f"motor_efficiency_curve[{k}]", yk)
    for key in ("regen_max_fraction", "regen_fade_start_speed_mps", "regen_fade_end_speed_mps", "auxiliary_power_W"):
        put(key, p[key])
    body.append(f"    p->forward = {int(bool(p['forward']))};")
    body.append(f"    p->n_phases = {len(cycle.phases)};")
    for k, (name, (a, b)) in enumerate(cycle.phases.items()):
        body.append(f"    p->phase_start_s[{k}] = {_num(a)}; /* {name} */")
        body.append(f"    p->phase_end_s[{k}] = {_num(b)};")
    label = f"{spec.name} on {cycle.name}".replace("\\", "/").replace('"', "'")
    return "\n".join([
        f"/* Generated by cosim.fmu.vehicle_fmu (cosim {__version__}) for the FMI {fmi_version}.0 FMU of the",
        f" * vehicle {spec.name} on the drive cycle {cycle.name}: the instantiation token and the",
        " * start values of the parameters, the same as in modelDescription.xml. Do not edit. */",
        "#ifndef VEHICLE_CONFIG_H",
        "#define VEHICLE_CONFIG_H",
        "",
        '#include "vehicle_model.h"',
        "",
        f'#define VC_INSTANTIATION_TOKEN "{token}"',
        f'#define VC_MODEL_NAME "{label}"',
        "",
        "static void vc_defaults(VmModel *m)",
        "{",
        "    VmParams *p = &m->p;",
        "    vm_model_defaults(m);",
        *body,
        "}",
        "",
        "#endif /* VEHICLE_CONFIG_H */",
        "",
    ])


def cycle_csv(cycle: Cycle) -> str:
    """The drive cycle as the FMUs read it (``time_s,speed_mps,grade_rad``, exact numbers)."""
    rows = ["time_s,speed_mps,grade_rad"]
    rows += [f"{_num(t)},{_num(v)},{_num(g)}" for t, v, g in zip(cycle.time_s, cycle.speed_mps, cycle.grade_rad)]
    return "\n".join(rows) + "\n"


def build_vehicle_fmus(out_dir: str | os.PathLike = "fmus/build", vehicle: str | os.PathLike = "nissan_leaf_2016",
                       cycle: str | os.PathLike = "WLTC3b", *, source_dir: str | os.PathLike | None = None
                       ) -> dict[str, Path]:
    """Build ``vehicle_fmi2.fmu`` and ``vehicle_fmi3.fmu`` in `out_dir` for a vehicle (a
    shipped name or a vehicle TOML file; battery-electric) on a drive cycle (a shipped name
    or a CSV). Returns ``{"vehicle_fmi2.fmu": path, "vehicle_fmi3.fmu": path}``. Raises ValueError for an unknown or
    unsuitable vehicle or cycle, and cosim.fmu.build.FmuBuildError if compiling fails."""
    from .build import build_fmu

    src = Path(source_dir) if source_dir is not None else SOURCE_DIR
    missing = [name for name in (*_CORE, *_WRAPPER.values()) if not (src / name).is_file()]
    if missing:
        raise ValueError(f"the vehicle FMU's C sources are missing in {src}: {', '.join(missing)}")
    spec, veh = _bev(vehicle)
    cyc = load_cycle(cycle)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="cosim-vehicle-fmu-") as tmp:
        csv_path = Path(tmp) / "cycle.csv"
        csv_path.write_text(cycle_csv(cyc))
        for version in (2, 3):
            stage = Path(tmp) / f"fmi{version}"
            stage.mkdir()
            files = (*_CORE, _WRAPPER[version])
            for name in files:
                shutil.copyfile(src / name, stage / name)
            for name in COMMON[version]:
                shutil.copyfile(COMMON_DIR / name, stage / name)
            files += COMMON[version]
            xml = render_model_description(spec, veh, cyc, version)
            header = render_config_header(spec, veh, cyc, version)
            digest = "\n".join([xml, header, csv_path.read_text(), *((stage / n).read_text() for n in files)])
            token = "{" + str(uuid.uuid5(_NAMESPACE, digest)) + "}"
            (stage / "vehicle_config.h").write_text(header.replace(_TOKEN, token))
            out = out_dir / f"vehicle_fmi{version}.fmu"
            build_fmu(stage, out, sources=_c_sources(version),
                      resources={"cycle.csv": csv_path}, model_description=xml.replace(_TOKEN, token),
                      cflags=("-ffp-contract=off", "-fvisibility=hidden", "-Wextra", "-Wno-unused-parameter"))
            built[out.name] = out
    return built
