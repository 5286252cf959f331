"""Field types of parameter-set files: numbers with allowed ranges, material functions given
by name, number, sample table or a function call (see :mod:`cosim.cell.parameter_set` for
the file format)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ..scenario.issues import did_you_mean
from . import functions as fn

# --------------------------------------------------------------------------------------
# value types with their allowed ranges
# --------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:g}"


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    return f"{'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"


def _ranged(lo: float, hi: float, lo_open: bool = True, hi_open: bool = True, unit: str = ""):
    allowed = _interval(lo, hi, lo_open, hi_open) + (f" {unit}" if unit else "")

    def check(v: float) -> float:
        v = float(v)
        ok = math.isfinite(v)
        ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok:
            raise ValueError(f"must be in {allowed}, got {v!r}")
        return v

    return AfterValidator(check)


Finite = Annotated[float, _ranged(-math.inf, math.inf)]
Positive = Annotated[float, _ranged(0.0, math.inf)]
NonNegative = Annotated[float, _ranged(0.0, math.inf, lo_open=False)]
OpenUnit = Annotated[float, _ranged(0.0, 1.0)]
ClosedUnit = Annotated[float, _ranged(0.0, 1.0, False, False)]
HalfOpenUnit = Annotated[float, _ranged(0.0, 1.0, True, False)]
Bruggeman = Annotated[float, _ranged(0.0, 10.0, False, False)]
Voltage = Annotated[float, _ranged(0.0, 10.0)]
Temperature = Annotated[float, _ranged(0.0, math.inf)]
Name = Annotated[str, Field(min_length=1)]

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------
# material-function specifications
# --------------------------------------------------------------------------------------


def _named(kind: str) -> AfterValidator:
    """A name in the function registry that is a ready function usable as ``kind``."""

    def check(name: str) -> str:
        entry = fn.FUNCTIONS.get(name)
        if entry is None:
            ready = [k for k, v in fn.FUNCTIONS.items() if not fn.is_factory(v)]
            raise ValueError(f"unknown function {name!r}{did_you_mean(name, ready)}")
        if fn.is_factory(entry):
            raise ValueError(
                f"{name!r} is a factory: write a table {{ function = {name!r}, ... }} with its "
                "arguments"
            )
        if fn.function_kind(entry) not in (kind, "any"):
            what = "stoichiometry" if kind == "sto" else "electrolyte"
            raise ValueError(f"{name!r} is not a{'n' if what[0] == 'e' else ''} {what} function")
        return name

    return AfterValidator(check)


class _SampleTable(BaseModel):
    """Samples of a function, interpolated linearly (:class:`~cosim.cell.functions.Table`)."""

    model_config = _STRICT
    x_key: ClassVar[str] = ""
    y_key: ClassVar[str] = ""
    x_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)

    @model_validator(mode="after")
    def _check(self):
        xk, yk = self.x_key, self.y_key
        x = np.asarray(getattr(self, xk), dtype=float)
        y = np.asarray(getattr(self, yk), dtype=float)
        if x.size != y.size:
            raise ValueError(f"{xk} and {yk} must have the same length, got {x.size} and {y.size}")
        for key, arr in ((xk, x), (yk, y)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{key} must hold finite numbers only")
        fn.check_increasing(x, xk)
        lo, hi = self.x_range
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{xk} values must be in [{_fmt(lo)}, {_fmt(hi)}], got "
                             f"{x.min():g} to {x.max():g}")
        return self

    def build(self) -> fn.Table:
        return fn.Table(getattr(self, self.x_key), getattr(self, self.y_key))


_Samples = Annotated[list[float], Field(min_length=2)]


class OcpTable(_SampleTable):
    """``{ sto = [...], V = [...] }``: open-circuit potential samples."""

    sto: _Samples
    V: _Samples
    x_key, y_key, x_range = "sto", "V", (0.0, 1.0)


class EntropicTable(_SampleTable):
    """``{ sto = [...], V_K = [...] }``: entropic coefficient samples."""

    sto: _Samples
    V_K: _Samples
    x_key, y_key, x_range = "sto", "V_K", (0.0, 1.0)


class ConductivityTable(_SampleTable):
    """``{ c_mol_m3 = [...], S_m = [...] }``: electrolyte conductivity samples."""

    c_mol_m3: _Samples
    S_m: _Samples
    x_key, y_key, x_range = "c_mol_m3", "S_m", (0.0, math.inf)


class DiffusivityTable(_SampleTable):
    """``{ c_mol_m3 = [...], m2_s = [...] }``: electrolyte diffusivity samples."""

    c_mol_m3: _Samples
    m2_s: _Samples
    x_key, y_key, x_range = "c_mol_m3", "m2_s", (0.0, math.inf)


class FunctionCall(BaseModel):
    """``{ function = "factory", ... }``: a registry factory called with keyword arguments
    (numbers or arrays of numbers)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    function: str

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check(self):
        entry = fn.FUNCTIONS.get(self.function)
        factories = [k for k, v in fn.FUNCTIONS.items() if fn.is_factory(v)]
        if entry is None or not fn.is_factory(entry):
            raise ValueError(
                f"unknown factory {self.function!r}{did_you_mean(self.function, factories)} "
                f"(factories: {', '.join(factories)})"
            )
        for key, value in self.kwargs().items():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise ValueError(f"argument {key!r} must be a number or an array of numbers")
        try:
            entry(**self.kwargs())
        except TypeError as exc:
            raise ValueError(f"bad arguments for {self.function!r}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{self.function}: {exc}") from None
        return self

    def build(self):
        return fn.FUNCTIONS[self.function](**self.kwargs())


def _spec(number_type: Any, kind: str, table: type[BaseModel]) -> Any:
    table_tag = table.__name__

    def tag(value: Any) -> str | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return "number"
        if isinstance(value, str):
            return "name"
        if isinstance(value, dict):
            return "FunctionCall" if "function" in value else table_tag
        if isinstance(value, BaseModel):
            return type(value).__name__
        return None

    return Annotated[
        Union[
            Annotated[number_type, Tag("number")],
            Annotated[str, _named(kind), Tag("name")],
            Annotated[table, Tag(table_tag)],
            Annotated[FunctionCall, Tag("FunctionCall")],
        ],
        Discriminator(
            tag,
            custom_error_type="function_spec",
            custom_error_message="expected a number, a function name (string) or a table",
        ),
    ]


OcpSpec = _spec(Finite, "sto", OcpTable)
EntropicSpec = _spec(Finite, "sto", EntropicTable)
ConductivitySpec = _spec(Positive, "electrolyte", ConductivityTable)
DiffusivitySpec = _spec(Positive, "electrolyte", DiffusivityTable)


def build_function(spec: Any) -> Callable[..., np.ndarray]:
    """The callable a validated function spec stands for."""
    if isinstance(spec, (int, float)):
        return fn.Constant(float(spec))
    if isinstance(spec, str):
        return fn.FUNCTIONS[spec]
    return spec.build()


# --------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------
