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
6. Every FMI type becomes a port with a ``dtype`` (:data:`PORT_DTYPES`): Real/Float64/
   Float32 -> ``float64`` (Python float); Integer, Enumeration and the FMI 3 integer widths
   up to Int64 -> ``int64`` (Python int, exact); UInt64 -> ``uint64`` (Python int, exact up
   to 2**64 - 1); Boolean -> ``bool``; String -> ``str``. String ports are scalars only;
   they connect only to string ports and are not recorded (see :mod:`cosim.run`). FMI 3
   Binary and Clock variables are not supported yet: they get no port.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["FmuVariable", "port_name", "port_variables", "NUMERIC_TYPES", "PORT_DTYPES"]

#: FMI type -> port dtype
PORT_DTYPES = {
    "Real": "float64", "Float64": "float64", "Float32": "float64",
    "Integer": "int64", "Enumeration": "int64", "Int8": "int64", "UInt8": "int64", "Int16": "int64",
    "UInt16": "int64", "Int32": "int64", "UInt32": "int64", "Int64": "int64", "UInt64": "uint64",
    "Boolean": "bool", "String": "str",
}
NUMERIC_TYPES = {t for t, d in PORT_DTYPES.items() if d != "str"}


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
    dtype: str = "float64"

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
    """The variable's start value in its port's dtype (rule 6): a Python float, int, bool,
    str or bytes (scalar), or a numpy array of ``shape``; None without a start value."""
    if var.start is None:
        return None
    dtype = PORT_DTYPES[var.type]
    if dtype == "str":
        return str(var.start)
    text = str(var.start).strip()
    if dtype == "bool":
        values = [s in ("true", "1") for s in text.split()]
    elif dtype in ("int64", "uint64"):
        values = [int(s) for s in text.split()]
    else:
        values = [float(s) for s in text.split()]
    if not shape:
        return values[0]
    arr = np.asarray(values, dtype=dtype)
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
        if var.type not in PORT_DTYPES:
            continue
        port = port_name(rename.get(var.name, var.name))
        if port in names:
            raise ValueError(
                f"FMU variables {names[port]!r} and {var.name!r} both become port {port!r}; "
                f"give one of them another name in 'rename'"
            )
        names[port] = var.name
        shape, dims = _shape(var, port)
        if shape and PORT_DTYPES[var.type] == "str":
            raise ValueError(f"{var.type} array variable {var.name!r}: only scalar {var.type} ports are supported")
        depends: tuple[str, ...] = ()
        if var.causality == "output":
            listed = deps.get(var.name)
            if listed is None:
                depends = tuple(input_ports[v.name] for v in inputs if v.type in PORT_DTYPES)
            else:
                depends = tuple(input_ports[v.name] for v in listed if v.name in input_ports)
        out.append(FmuVariable(
            name=var.name, port=port, vr=int(var.valueReference), type=var.type,
            causality=var.causality, unit=_unit(var, units), shape=shape, dims=dims,
            start=parse_start(var, shape), depends_on=depends, description=var.description or "",
            dtype=PORT_DTYPES[var.type],
        ))
    return out
