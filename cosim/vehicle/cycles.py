"""Drive cycles: speed traces (and optional road grade) sampled at a constant step.

Shipped cycles live in ``cosim/data/cycles/`` (sources and licences in its README); load one
by name (``load_cycle("UDDS")``) or a CSV of your own by path. A cycle CSV has a header row
with ``time_s`` and ``speed_mps`` and optionally ``grade_rad`` or ``grade_percent`` (road
grade, positive uphill; percent = 100·tan θ). Between samples the speed is taken as linear
in time (constant acceleration), which is what the energy-exact vehicle model assumes.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CYCLES_DIR",
    "Cycle",
    "CycleStats",
    "WLTC_PHASES",
    "available_cycles",
    "load_cycle",
]

#: folder of the shipped drive cycles
CYCLES_DIR = Path(__file__).resolve().parent.parent / "data" / "cycles"

#: WLTC class 3 phase boundaries [s] (UN GTR No. 15, Annex 1): Low, Medium, High, Extra-High
WLTC_PHASES: dict[str, tuple[float, float]] = {
    "Low": (0.0, 589.0),
    "Medium": (589.0, 1022.0),
    "High": (1022.0, 1477.0),
    "Extra-High": (1477.0, 1800.0),
}

#: relative tolerance on the sampling step (a gap is an interval longer than this)
_STEP_RTOL = 1e-6


def available_cycles() -> list[str]:
    """Names of the shipped cycles (file names without ``.csv``), sorted."""
    return sorted(p.stem for p in CYCLES_DIR.glob("*.csv"))


@dataclass(frozen=True)
class CycleStats:
    """Summary of a speed trace. Distances by the trapezoid rule (exact for linear speed)."""

    duration_s: float
    distance_m: float
    max_speed_mps: float
    mean_speed_mps: float
    #: distance over the time not spent standing (intervals with zero speed at both ends)
    mean_moving_speed_mps: float
    idle_time_s: float


@dataclass(frozen=True, eq=False)
class Cycle:
    """A speed trace: ``time_s`` (increasing, constant step), ``speed_mps`` (≥ 0) and
    ``grade_rad`` (road angle, positive uphill), all of the same length."""

    name: str
    time_s: np.ndarray
    speed_mps: np.ndarray
    grade_rad: np.ndarray
    #: named phases (start, end) [s], e.g. :data:`WLTC_PHASES` for WLTC3b
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a in ("time_s", "speed_mps", "grade_rad"):
            arr = np.asarray(getattr(self, a), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, a, arr)
        _validate(self.name, self.time_s, self.speed_mps, self.grade_rad)

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0])

    @property
    def step_s(self) -> float:
        """The sampling step (the median interval)."""
        return float(np.median(np.diff(self.time_s)))

    @property
    def is_flat(self) -> bool:
        return not np.any(self.grade_rad)

    def distance_m(self) -> float:
        t, v = self.time_s, self.speed_mps
        return float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(t)))

    def stats(self) -> CycleStats:
        t, v = self.time_s, self.speed_mps
        dt = np.diff(t)
        dist = self.distance_m()
        idle = float(dt[(v[1:] == 0.0) & (v[:-1] == 0.0)].sum())
        dur = self.duration_s
        moving = dur - idle
        return CycleStats(
            duration_s=dur,
            distance_m=dist,
            max_speed_mps=float(v.max()),
            mean_speed_mps=dist / dur,
            mean_moving_speed_mps=dist / moving if moving > 0 else 0.0,
            idle_time_s=idle,
        )

    def segment(self, start_s: float, end_s: float, name: str | None = None) -> "Cycle":
        """The samples with ``start_s <= t <= end_s`` (time kept, not re-based)."""
        m = (self.time_s >= start_s - 1e-9) & (self.time_s <= end_s + 1e-9)
        return Cycle(name or f"{self.name}[{start_s:g}:{end_s:g}]", self.time_s[m], self.speed_mps[m], self.grade_rad[m])

    def phase_stats(self) -> dict[str, CycleStats]:
        """:meth:`stats` of every named phase."""
        return {k: self.segment(a, b, f"{self.name} {k}").stats() for k, (a, b) in self.phases.items()}

    def repeat(self, n: int) -> "Cycle":
        """The cycle played ``n`` times back to back. Each play lasts ``duration_s`` (as the
        ``profile`` component repeats a table): the first sample of every later play is
        dropped, since it falls on the last sample of the previous one (the traces start and
        end at rest)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"repeat needs a whole number >= 1, got {n!r}")
        if n == 1:
            return self
        T = self.duration_s
        t = np.concatenate([self.time_s] + [self.time_s[1:] + k * T for k in range(1, n)])
        v = np.concatenate([self.speed_mps] + [self.speed_mps[1:]] * (n - 1))
        g = np.concatenate([self.grade_rad] + [self.grade_rad[1:]] * (n - 1))
        return Cycle(f"{self.name}x{n}", t, v, g)


def _validate(where: str, t: np.ndarray, v: np.ndarray, g: np.ndarray) -> None:
    """ValueError naming the (1-based data) row of the first problem."""
    if not (t.ndim == v.ndim == g.ndim == 1 and len(t) == len(v) == len(g)):
        raise ValueError(f"{where}: time_s, speed_mps and grade need one value each per row")
    if len(t) < 2:
        raise ValueError(f"{where}: a cycle needs at least two rows")
    for name, arr in (("time_s", t), ("speed_mps", v), ("grade", g)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{where}: row {i + 1}: {name} is {arr[i]} (NaN or infinite)")
    if (v < 0).any():
        i = int(np.argmax(v < 0))
        raise ValueError(f"{where}: row {i + 1}: negative speed {v[i]} m/s")
    if (np.abs(g) >= math.pi / 2).any():
        i = int(np.argmax(np.abs(g) >= math.pi / 2))
        raise ValueError(f"{where}: row {i + 1}: grade {g[i]} rad is not a road")
    dt = np.diff(t)
    if (dt <= 0).any():
        i = int(np.argmax(dt <= 0)) + 1
        raise ValueError(f"{where}: row {i + 1}: time_s {t[i]} does not increase (previous row: {t[i - 1]})")
    step = float(np.median(dt))
    gap = dt > step * (1 + _STEP_RTOL)
    if gap.any():
        i = int(np.argmax(gap)) + 1
        raise ValueError(
            f"{where}: row {i + 1}: gap of {dt[i - 1]:g} s after time_s {t[i - 1]} "
            f"(the sampling step is {step:g} s)"
        )


def _read_csv(path: Path) -> Cycle:
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise ValueError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    for need in ("time_s", "speed_mps"):
        if need not in header:
            raise ValueError(f"{path}: needs a column {need!r} (header: {', '.join(header)})")
    if "grade_rad" in header and "grade_percent" in header:
        raise ValueError(f"{path}: give grade_rad or grade_percent, not both")
    data = np.empty((len(rows) - 1, len(header)))
    for i, r in enumerate(rows[1:]):
        if len(r) != len(header):
            raise ValueError(f"{path}: row {i + 1}: {len(r)} fields, header has {len(header)}")
        try:
            data[i] = [float(x) for x in r]
        except ValueError:
            raise ValueError(f"{path}: row {i + 1}: non-numeric value in {r}") from None
    col = {h: data[:, j] for j, h in enumerate(header)}
    if "grade_rad" in col:
        grade = col["grade_rad"]
    elif "grade_percent" in col:
        grade = np.arctan(col["grade_percent"] / 100.0)
    else:
        grade = np.zeros(len(data))
    return Cycle(str(path), col["time_s"], col["speed_mps"], grade)


def load_cycle(name_or_path: str | os.PathLike[str], repeat: int = 1) -> Cycle:
    """A shipped cycle by name (``"UDDS"``, see :func:`available_cycles`; case-insensitive)
    or a CSV file by path; played ``repeat`` times. Raises ValueError on an unknown name
    (listing the shipped ones) or a bad file (naming the row)."""
    s = os.fspath(name_or_path)
    known = {n.lower(): n for n in available_cycles()}
    if s.lower() in known:
        name = known[s.lower()]
        c = _read_csv(CYCLES_DIR / f"{name}.csv")
        c = Cycle(name, c.time_s, c.speed_mps, c.grade_rad, dict(WLTC_PHASES) if name.startswith("WLTC") else {})
    else:
        path = Path(s).expanduser()
        if not path.is_file():
            raise ValueError(
                f"unknown drive cycle {s!r}: not a shipped cycle ({', '.join(available_cycles())}) "
                "and no such file"
            )
        c = _read_csv(path)
    return c.repeat(repeat)
