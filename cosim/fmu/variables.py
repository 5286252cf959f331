"""From an FMU's model description to the ports a component declares.

Rules (they are what ``cosim info X.fmu`` prints):

1. Variables with causality ``input`` become input ports, ``output`` output ports; other
   variables are reachable only through the scenario's ``parameters`` table (set before
   initialization).
2. Port name: the FMU's variable name, or its entry in the scenario's ``rename`` table;
   characters that are not letters, digits or ``_`` become ``_`` (``der(x)`` ->
   ``der_x``, ``body.v`` -> ``body_v``). Two variables that end up with one name is an
   error that asks for a ``rename``.
3. Unit: the variable's ``unit`` (or that of its declared type), else the scenario's
   ``units`` entry, else ``"1"`` (dimensionless); connected ports must agree exactly.
4. FMI 3 arrays become vector ports of the same shape; a dimension given by a structural
   parameter takes that parameter's (sanitized) name, others are ``<port>_index``.
5. ``depends_on`` of an output: the inputs its ``ModelStructure`` entry lists; no entry,
   or no ``dependencies`` attribute, means every input (the FMI standard's default).
6. Numeric types only (Float/Real, Int/Integer, Boolean, Enumeration); they are exchanged
   as float64 port values and converted at the FMU's boundary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["FmuVariable", "port_name", "port_variables", "NUMERIC_TYPES"]

NUMERIC_TYPES = {
    "Real", "Integer", "Boolean", "Enumeration",  # FMI 2
    "Float64", "Float32", "Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
}


def port_name(name: str) -> str:
    """A port name for an FMU variable name (rule 2)."""
    out = re.sub(r"\W+", "_", name).strip("_") or "v"
    return "_" + out if out[0].isdigit() else out


@dataclass(frozen=True)
class FmuVariable:
    """One FMU variable exchanged through a port."""

    name: str  # the FMU's name
    port: str  # the port's name
    vr: int
    type: str
    causality: str
    unit: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    start: object
    depends_on: tuple[str, ...]
    description: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _unit(var, units: dict[str, str]) -> str:
    unit = var.unit or (var.declaredType.unit if var.declaredType is not None else None)
    return unit or units.get(var.name, "1")


def _shape(var, port: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    shape, dims = [], []
    for k, dim in enumerate(var.dimensions):
        if dim.start is not None:
            shape.append(int(dim.start))
            dims.append(f"{port}_index" if len(var.dimensions) == 1 else f"{port}_index{k}")
        else:
            ref = dim.variable
            shape.append(int(ref.start))
            dims.append(port_name(ref.name))
    return tuple(shape), tuple(dims)


def parse_start(var, shape: tuple[int, ...]):
    """The variable's start value as a float (scalar) or float array (shape), or None."""
    if var.start is None:
        return None
    text = str(var.start).strip()
    if var.type == "Boolean":
        values = [1.0 if s in ("true", "1") else 0.0 for s in text.split()]
    else:
        values = [float(s) for s in text.split()]
    if not shape:
        return values[0]
    arr = np.asarray(values, dtype=float)
    return np.broadcast_to(arr, shape).copy() if arr.size == 1 else arr.reshape(shape)


def port_variables(md, rename: dict[str, str], units: dict[str, str]) -> list[FmuVariable]:
    """Input and output variables of ``md`` as port descriptions (rules 1-6); raises
    ValueError naming the variables when two map to one port."""
    inputs = [v for v in md.modelVariables if v.causality == "input"]
    outputs = [v for v in md.modelVariables if v.causality == "output"]
    deps = {u.variable.name: u.dependencies for u in md.outputs}
    names: dict[str, str] = {}
    out = []
    input_ports = {v.name: port_name(rename.get(v.name, v.name)) for v in inputs}
    for var in inputs + outputs:
        if var.type not in NUMERIC_TYPES:
            continue
        port = port_name(rename.get(var.name, var.name))
        if port in names:
            raise ValueError(
                f"FMU variables {names[port]!r} and {var.name!r} both become port {port!r}; "
                f"give one of them another name in 'rename'"
            )
        names[port] = var.name
        shape, dims = _shape(var, port)
        depends: tuple[str, ...] = ()
        if var.causality == "output":
            listed = deps.get(var.name)
            if listed is None:
                depends = tuple(input_ports[v.name] for v in inputs if v.type in NUMERIC_TYPES)
            else:
                depends = tuple(input_ports[v.name] for v in listed if v.name in input_ports)
        out.append(FmuVariable(
            name=var.name, port=port, vr=int(var.valueReference), type=var.type,
            causality=var.causality, unit=_unit(var, units), shape=shape, dims=dims,
            start=parse_start(var, shape), depends_on=depends, description=var.description or "",
        ))
    return out
