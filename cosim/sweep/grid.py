"""The variants of a sweep: dimensions from ``--vary``/``[sweep]``, a grid or zipped lists,
each variant validated before anything runs.

A sweep has one or more :class:`Dimension`: a dotted scenario key and its values, plus keys
that follow it (``with``: one value each per value of the key, e.g. the cell area that
follows the layer thickness at a fixed pack volume). ``zip = False`` runs every combination
(a grid, C order: the last dimension varies fastest); ``zip = True`` runs the i-th values of
every dimension together (all dimensions of equal length).

Contract of a variant (what :mod:`cosim.sweep.execute` relies on):

1. ``Variant.index`` is its position in the sweep (grid: the flat C-order index), and
   ``Variant.position`` its index along each dimension (zip: ``(index,)``);
2. ``Variant.values`` maps every dotted key (the dimensions' keys and the keys following
   them) to its value; :func:`load_variant` sets them in the merged scenario (after
   ``extends``) and validates the result through the same path as ``cosim validate``;
3. ``Variant.scenario_hash`` is the SHA-256 of the variant's resolved scenario (the JSON a
   run writes as its ``scenario_resolved`` attribute): equal hashes, equal runs.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CosimError, ScenarioError

__all__ = ["Dimension", "SweepPlan", "Variant", "dimension_name", "load_variant", "parse_vary",
           "plan_sweep", "scenario_hash", "unit_of_key"]

#: unit suffixes of scenario keys (the key carries its unit: ``coolant_temperature_K``)
_UNITS = {"K": "K", "m": "m", "m2": "m2", "m3": "m3", "s": "s", "W": "W", "J": "J", "V": "V", "A": "A",
          "mps": "m/s", "kg": "kg", "Ohm_m2": "Ohm m2", "S_m": "S/m", "Pa": "Pa", "mol_m3": "mol/m3"}


@dataclass(frozen=True)
class Dimension:
    """One dimension of a sweep: ``key`` takes ``values``; each key of ``follow`` takes its
    own list's value at the same position."""

    key: str
    values: tuple[Any, ...]
    follow: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "follow", {k: tuple(v) for k, v in self.follow.items()})
        if not self.values:
            raise CosimError(f"sweep: {self.key} has no values")
        for key, values in self.follow.items():
            if len(values) != len(self.values):
                raise CosimError(f"sweep: {key} (with {self.key}) has {len(values)} values, "
                                 f"{self.key} has {len(self.values)}: give one for each")

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.follow)

    def at(self, i: int) -> dict[str, Any]:
        return {self.key: self.values[i], **{k: v[i] for k, v in self.follow.items()}}


@dataclass(frozen=True)
class Variant:
    index: int
    position: tuple[int, ...]
    values: Mapping[str, Any]
    scenario_hash: str = ""

    def label(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.values.items())


@dataclass(frozen=True)
class SweepPlan:
    """A scenario file and the validated variants of its sweep."""

    scenario: Path
    dimensions: tuple[Dimension, ...]
    zip: bool
    variants: tuple[Variant, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        if self.zip:
            return (len(self.variants),)
        return tuple(len(d.values) for d in self.dimensions)


# -- command line -------------------------------------------------------------------------------

def _split_values(text: str) -> list[str]:
    """Split ``a,b,[1,2],"x,y"`` at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    """A value as TOML reads it (``1e-5``, ``48``, ``true``, ``"US06"``, ``[1, 2]``); a bare
    word that is no TOML value is a string (``US06``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z_][\w.\-]*", text):
            return text
        raise CosimError(f"sweep: cannot read the value {text!r} (write it as in TOML: 1e-5, 48, \"US06\")") from None


def _key_values(text: str, option: str) -> tuple[str, list[Any]]:
    key, sep, values = text.partition("=")
    # a key may hold '=' only inside quotes: take the first '=' outside them
    if '"' in key and key.count('"') % 2:
        q = text.index('"', len(key))
        nxt = text.find("=", q)
        key, values = text[:nxt], text[nxt + 1:]
        sep = "=" if nxt >= 0 else ""
    key = key.strip()
    if not sep or not key or not values.strip():
        raise CosimError(f"{option} {text!r}: expected KEY=V1,V2,... (e.g. components.thermal.coolant_temperature_K="
                         "263.15,298.15)")
    return key, [parse_value(v) for v in _split_values(values)]


def parse_vary(items: Sequence[tuple[str, str]]) -> list[Dimension]:
    """Dimensions from the command line: ``("vary", "KEY=V1,V2")`` starts a dimension,
    ``("with", "KEY=W1,W2")`` adds a key that follows the dimension before it."""
    dims: list[tuple[str, list[Any], dict[str, list[Any]]]] = []
    for option, text in items:
        key, values = _key_values(text, f"--{option}")
        if option == "with":
            if not dims:
                raise CosimError(f"--with {text!r}: give it after the --vary it follows")
            dims[-1][2][key] = values
        else:
            dims.append((key, values, {}))
    return [Dimension(k, tuple(v), f) for k, v, f in dims]


def dimensions_from_table(sweep: Any) -> tuple[list[Dimension], bool]:
    """Dimensions and zip flag of a scenario's validated ``[sweep]`` table."""
    return [Dimension(d.key, tuple(d.values), dict(d.with_)) for d in sweep.vary], bool(sweep.zip)


# -- variants -----------------------------------------------------------------------------------

def _variants(dimensions: Sequence[Dimension], zipped: bool) -> list[Variant]:
    keys = [k for d in dimensions for k in d.keys]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise CosimError(f"sweep: {', '.join(twice)} varied more than once")
    if zipped:
        lengths = {len(d.values) for d in dimensions}
        if len(lengths) > 1:
            raise CosimError("sweep --zip: every --vary needs the same number of values, got "
                             + ", ".join(f"{d.key}: {len(d.values)}" for d in dimensions))
        n = lengths.pop()
        return [Variant(i, (i,), {k: v for d in dimensions for k, v in d.at(i).items()}) for i in range(n)]
    out = []
    for index, position in enumerate(itertools.product(*(range(len(d.values)) for d in dimensions))):
        out.append(Variant(index, tuple(position),
                           {k: v for d, i in zip(dimensions, position) for k, v in d.at(i).items()}))
    return out


def scenario_hash(loaded: Any) -> str:
    """SHA-256 of a loaded scenario's resolved content (what its results call ``scenario_resolved``)."""
    return hashlib.sha256(loaded.scenario.model_dump_json().encode()).hexdigest()


def load_variant(scenario: str | Path, values: Mapping[str, Any]):
    """The scenario with a variant's keys set, validated (the sweep table itself removed: a
    variant is one plain run)."""
    from ..scenario import load_scenario

    loaded = load_scenario(scenario, {**values})
    if loaded.scenario.sweep is not None:
        import dataclasses

        loaded = dataclasses.replace(loaded, scenario=loaded.scenario.model_copy(update={"sweep": None}))
    return loaded


def plan_sweep(scenario: str | Path, dimensions: Sequence[Dimension] | None = None, zipped: bool | None = None,
               *, check: bool = True) -> SweepPlan:
    """Validate every variant of a sweep over ``scenario`` and return the plan.

    Without ``dimensions`` the scenario's ``[sweep]`` table gives them (and ``zip``). Each
    variant is loaded with its keys set and checked like ``cosim validate`` does (with
    ``check``: components built, connections checked); the first bad variant raises a
    CosimError naming its grid index, its values and the problem."""
    from ..run import check_runnable
    from ..scenario import load_scenario

    path = Path(scenario)
    base = load_scenario(path)
    if not dimensions:
        if base.scenario.sweep is None:
            raise CosimError(f"{path}: nothing to sweep: give --vary KEY=V1,V2,... or a [sweep] table in the file")
        dimensions, table_zip = dimensions_from_table(base.scenario.sweep)
        zipped = table_zip if zipped is None else zipped or table_zip
    variants = _variants(list(dimensions), bool(zipped))
    checked = []
    seen: dict[str, int] = {}
    for v in variants:
        try:
            loaded = load_variant(path, v.values)
            h = scenario_hash(loaded)
            if check and h not in seen:
                check_runnable(loaded)
        except CosimError as exc:
            where = "variant" if zipped else "grid index"
            pos = "" if zipped else f" {list(v.position)}"
            message = "\n".join(f"  {p.key}: {p.message}" for p in exc.problems) \
                if isinstance(exc, ScenarioError) else f"  {exc}"
            raise CosimError(f"sweep {where} {v.index}{pos} ({v.label()}) is not a valid scenario:\n{message}") from None
        seen.setdefault(h, v.index)
        checked.append(Variant(v.index, v.position, v.values, h))
    return SweepPlan(path.resolve(), tuple(dimensions), bool(zipped), tuple(checked))


# -- names and units ----------------------------------------------------------------------------

def unit_of_key(key: str) -> str:
    """The SI unit a key's name carries (``coolant_temperature_K`` -> ``K``), ``1`` if none."""
    from ..scenario.loader import parse_dotted_key

    try:
        last = parse_dotted_key(key)[-1]
    except ValueError:
        last = key
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if last.endswith("_" + suffix):
            return _UNITS[suffix]
    return "1"


def dimension_name(key: str, taken: Sequence[str] = ()) -> str:
    """A short, readable netCDF name for a key: its last part with dots as underscores
    (``components.pack.overrides."negative.thickness_m"`` -> ``negative_thickness_m``),
    longer (with the table) where that is taken."""
    from ..scenario.loader import parse_dotted_key

    parts = [str(p).replace(".", "_") for p in parse_dotted_key(key)]
    for n in range(1, len(parts) + 1):
        name = "_".join(p for p in parts[-n:] if p not in ("components", "overrides"))
        if name and name not in taken and name not in ("time", "variant"):
            return name
    return "_".join(parts)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
