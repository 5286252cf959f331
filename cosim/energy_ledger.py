"""The energy ledger of a run: every component's books, and the books of both ends of every
connection compared.

At the end of a run (complete or not) :func:`collect` reads the energy books of every
component that keeps them (contract item 10 of :mod:`cosim.components.base`; components
without books, e.g. FMUs, are left out) and, for every connection whose source and target
ports both have a port book, compares the two: the energy the source booked through its
output with the energy the target booked through its input. ``mismatch_J = target -
source``; the relative mismatch is ``|mismatch| / max(|source|, |target|)`` (0 if both are 0).
Above :data:`TOLERANCE` it is a warning (Python logging, logger ``cosim.energy_ledger``) and
:func:`collect` returns it as a line for the result's ``status_reason``.

Time intervals. Under Gauss-Seidel a target that steps after its source receives the
source's output at ``t + h`` (for the vehicle: its mean battery power over ``[t, t + h]``;
for the pack: its heat at the end of ``[t, t + h]``) and holds it over the same step
``[t, t + h]``, so both books cover the same intervals and agree to round-off, unless the
target does not do what it received (a pack whose limits bind delivers less than it was
asked for: a real mismatch). A *lagged* connection (``delayed = true``, every connection
under Jacobi, or a source that steps after its target) hands over the source's output at
``t``: the target's book then holds the source's value of the step before, i.e. the source's
initial output over the first step and not the source's last step. That shifted sum is
reported as a mismatch like any other; the comparison says ``"lagged": true`` so it can be
read for what it is (a one-step shift, not lost energy). Books are only compared when both
components have reached the same time (``component.time``): after a failure in the middle of
a macro step the components that already stepped are one step ahead, and such a pair is
reported as not comparable rather than as a mismatch.

In the result (:func:`result_attrs`): one JSON attribute ``energy_ledger`` with everything
(books, ports, details, notes, comparisons), plus flat numbers readable straight from
``Dataset.attrs``: ``ledger_<component>_<book>_J`` for ``in``, ``out``, ``stored``,
``dissipated``, ``residual``, and ``ledger_max_relative_mismatch``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .components.base import Component, EnergyBooks
from .coupling import Edge

__all__ = ["TOLERANCE", "Comparison", "Ledger", "collect", "format_ledger", "result_attrs"]

logger = logging.getLogger("cosim.energy_ledger")

#: relative mismatch of a connection's two books above which the run warns
TOLERANCE = 1e-6

_BOOKS = ("in", "out", "stored", "dissipated", "residual")


@dataclass(frozen=True)
class Comparison:
    """The books of one connection's two ends."""

    source: str  # "component.port"
    target: str
    source_J: float
    target_J: float
    lagged: bool
    comparable: bool = True

    @property
    def mismatch_J(self) -> float:
        return self.target_J - self.source_J

    @property
    def relative_mismatch(self) -> float:
        scale = max(abs(self.source_J), abs(self.target_J))
        return abs(self.mismatch_J) / scale if scale > 0 else 0.0

    @property
    def exceeds(self) -> bool:
        return self.comparable and not self.relative_mismatch <= TOLERANCE

    def describe(self) -> str:
        lag = " (lagged connection: shifted by one step)" if self.lagged else ""
        return (f"energy ledger: {self.source} -> {self.target} differ by {self.relative_mismatch:.3g} relative "
                f"({self.source_J:.6g} J booked by the source, {self.target_J:.6g} J by the target){lag}")


@dataclass
class Ledger:
    books: dict[str, EnergyBooks] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [c.describe() for c in self.comparisons if c.exceeds]

    @property
    def max_relative_mismatch(self) -> float:
        rel = [c.relative_mismatch for c in self.comparisons if c.comparable]
        return max(rel) if rel else 0.0


def collect(components: Mapping[str, Component] | Iterable[Component], edges: Sequence[Edge],
            lagged: Sequence[Edge] = ()) -> Ledger:
    """Every component's books and every comparable connection's comparison; logs a warning
    per connection whose relative mismatch exceeds :data:`TOLERANCE`."""
    comps = dict(components) if isinstance(components, Mapping) else {c.name: c for c in components}
    ledger = Ledger()
    for name, comp in comps.items():
        books = comp.energy_books()
        if books is not None:
            ledger.books[name] = books
            ledger.times[name] = comp.time
    lagged_ids = {id(e) for e in lagged}
    for e in edges:
        src, dst = ledger.books.get(e.source), ledger.books.get(e.target)
        if src is None or dst is None or e.source_port not in src.ports or e.target_port not in dst.ports:
            continue
        ledger.comparisons.append(Comparison(
            source=f"{e.source}.{e.source_port}", target=f"{e.target}.{e.target_port}",
            source_J=float(src.ports[e.source_port]), target_J=float(dst.ports[e.target_port]),
            lagged=bool(e.delayed) or id(e) in lagged_ids,
            comparable=ledger.times[e.source] == ledger.times[e.target],
        ))
    for line in ledger.warnings:
        logger.warning(line)
    return ledger


def _num(x: float) -> float | None:
    """JSON has no NaN: None instead."""
    return float(x) if math.isfinite(x) else None


def to_json(ledger: Ledger) -> dict[str, Any]:
    comps = {}
    for name, b in ledger.books.items():
        comps[name] = {
            "time_s": ledger.times[name],
            **{f"{k}_J": _num(getattr(b, f"{k}_J")) for k in _BOOKS},
            "ports_J": {k: _num(v) for k, v in b.ports.items()},
            "details_J": {k: _num(v) for k, v in b.details.items()},
            "notes": b.notes,
        }
    connections = [{
        "source": c.source, "target": c.target, "source_J": _num(c.source_J), "target_J": _num(c.target_J),
        "mismatch_J": _num(c.mismatch_J), "relative_mismatch": _num(c.relative_mismatch), "lagged": c.lagged,
        "comparable": c.comparable,
    } for c in ledger.comparisons]
    return {"tolerance": TOLERANCE, "components": comps, "connections": connections}


def result_attrs(ledger: Ledger) -> dict[str, Any]:
    """Global attributes of the result (see the module docstring)."""
    attrs: dict[str, Any] = {"energy_ledger": json.dumps(to_json(ledger))}
    for name, b in ledger.books.items():
        for k in _BOOKS:
            attrs[f"ledger_{name}_{k}_J"] = float(getattr(b, f"{k}_J"))
    attrs["ledger_max_relative_mismatch"] = ledger.max_relative_mismatch
    return attrs


def format_ledger(data: Mapping[str, Any]) -> list[str]:
    """Lines for ``cosim info`` from the ``energy_ledger`` attribute (parsed JSON)."""

    def f(x) -> str:
        return "n/a" if x is None else f"{x:.6g}"

    lines = ["energy ledger [J] (since the start):"]
    comps = data.get("components", {})
    if comps:
        width = max(len(n) for n in comps)
        lines.append(f"  {'':{width}}  {'in':>13} {'out':>13} {'stored':>13} {'dissipated':>13} {'residual':>13}")
        for name, b in comps.items():
            lines.append(f"  {name:{width}}  " + " ".join(f"{f(b.get(f'{k}_J')):>13}" for k in _BOOKS))
        for name, b in comps.items():
            ports = ", ".join(f"{p} {f(v)}" for p, v in b.get("ports_J", {}).items())
            if ports:
                lines.append(f"  {name} ports: {ports}")
    for c in data.get("connections", []):
        if not c.get("comparable", True):
            lines.append(f"  {c['source']} -> {c['target']}: not compared (the two ends stopped at different times)")
            continue
        flag = "  ** above tolerance **" if (c["relative_mismatch"] or 0) > data.get("tolerance", TOLERANCE) else ""
        lag = " (lagged)" if c.get("lagged") else ""
        lines.append(f"  {c['source']} -> {c['target']}{lag}: {f(c['source_J'])} -> {f(c['target_J'])}, "
                     f"mismatch {f(c['mismatch_J'])} ({f(c['relative_mismatch'])} relative){flag}")
    return lines
