"""``cosim info X.fmu --scenario``: a complete scenario that runs an FMU as written.

The scenario has:

1. ``[simulation]`` from the FMU's DefaultExperiment (start, stop, step; where it gives no
   step, a hundredth of the run, and no stop, 10 s from the start);
2. the FMU as a component, its path relative to the scenario file (scenarios resolve paths
   against their own folder), the interface it offers (co-simulation first), and every
   settable parameter with its start value, commented out, under ``parameters``;
3. a ``profile`` source for the FMU's scalar Real inputs, holding each at its start value,
   with the input's unit, connected to the input (edit the table to drive it); inputs a
   profile cannot feed (arrays, integers, booleans, strings) keep their start values and are
   listed in a comment.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import archive
from .component import settable
from .variables import port_variables

__all__ = ["scenario_for_fmu"]

_REAL = ("Real", "Float64", "Float32")


def _name(text: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z_]", "_", text or "fmu").strip("_").lower() or "fmu"
    return name if not name[0].isdigit() else f"fmu_{name}"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _number(text) -> float:
    try:
        return float(str(text).split()[0])
    except (ValueError, IndexError):
        return 0.0


def _value(var) -> str:
    """A variable's start value as TOML."""
    text = "" if var.start is None else str(var.start).strip()
    if var.type == "Boolean":
        return "true" if text.lower() in ("true", "1") else "false"
    if var.type == "String":
        return json.dumps(text)
    parts = text.split()
    if var.type in _REAL:
        items = [repr(_number(p)) for p in parts] or ["0.0"]
    else:
        items = [str(int(_number(p))) for p in parts] or ["0"]
    return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"


def scenario_for_fmu(fmu: str | Path, scenario_path: str | Path | None = None) -> str:
    """The scenario text for ``fmu``; paths are written relative to ``scenario_path``'s
    folder (the current folder when None, i.e. printed)."""
    fmu = Path(fmu).resolve()
    md = archive.read_description(fmu)
    base = Path(scenario_path).resolve().parent if scenario_path is not None else Path.cwd()
    rel = Path(os.path.relpath(fmu, base)).as_posix()
    name = _name(md.modelName)
    interface = "co-simulation" if md.coSimulation is not None else "model-exchange"
    exp = md.defaultExperiment
    start = float(exp.startTime) if exp is not None and exp.startTime is not None else 0.0
    stop = float(exp.stopTime) if exp is not None and exp.stopTime is not None else start + 10.0
    step = float(exp.stepSize) if exp is not None and exp.stepSize is not None else (stop - start) / 100.0
    lines = [
        f"# {md.modelName} ({fmu.name}, FMI {md.fmiVersion}), written by `cosim info {fmu.name} --scenario`.",
        "# Runs as written: the inputs are held at their start values; edit the profile to drive them.",
        f'description = "{md.modelName} from {fmu.name}"',
        "",
        "[simulation]",
        f"start_time_s = {start!r}",
        f"stop_time_s = {stop!r}",
        f"step_s = {step!r}",
        "",
        f"[components.{name}]",
        f'fmu = "{rel}"',
        f'interface = "{interface}"',
    ]
    params = [v for v in md.modelVariables if settable(v) and v.causality != "input" and v.start is not None]
    if params:
        lines += ["", f"[components.{name}.parameters]",
                  "# every settable parameter at its start value: uncomment to change one"]
        for v in params:
            unit = v.unit or (v.declaredType.unit if v.declaredType is not None else None)
            note = " ".join(x for x in (f"[{unit}]" if unit else "", v.description or "") if x)
            lines.append(f"# {_key(v.name)} = {_value(v)}" + (f"  # {note}" if note else ""))
    ports = [p for p in port_variables(md, {}, {}) if p.causality == "input"]
    fed = [p for p in ports if not p.shape and p.type in _REAL]
    rest = [p for p in ports if p not in fed]
    if fed:
        source = f"{name}_inputs"
        values = ", ".join(f"{_key(p.port)} = [{_number(p.start)!r}, {_number(p.start)!r}]" for p in fed)
        units = ", ".join(f"{_key(p.port)} = {json.dumps(p.unit)}" for p in fed)
        lines += ["", f"[components.{source}]", 'type = "profile"', f"time_s = [{start!r}, {stop!r}]",
                  f"values = {{ {values} }}", f"units = {{ {units} }}", 'interpolation = "previous"']
        for p in fed:
            lines += ["", "[[connections]]", f'from = "{source}.{p.port}"', f'to = "{name}.{p.port}"']
    if rest:
        lines += ["", "# inputs held at their start values (a profile cannot feed them): "
                  + ", ".join(f"{p.port} ({p.type}{', shape ' + str(list(p.shape)) if p.shape else ''})" for p in rest)]
    return "\n".join(lines) + "\n"
