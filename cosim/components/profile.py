"""``profile``: a time-series source read from a CSV file or given inline.

A profile turns a table (``time_s`` plus one column per signal) into outputs: a current or
power profile for a cell test, a coolant temperature trace, a speed trace. Column names
carry their unit as a suffix (``current_A``, ``speed_mps``, ``coolant_temperature_K``); the
suffix gives the port's unit unless ``units`` says otherwise.

A time written twice in a row marks a jump (the value before and after it), so set-point
profiles are written exactly. ``interpolation`` says what the output after a step
``[t, t + h]`` is:

* ``"previous"``: the table's value at ``t + h`` held from the last row at or before it
  (a staircase, as a test bench applies set points);
* ``"linear"``: the linear interpolation at ``t + h``;
* ``"mean"``: the mean of the linear interpolation over ``[t, t + h]``, so that a consumer
  that holds the value over the next step receives exactly the table's integral (energy- or
  charge-exact coupling of a power or current trace).

With ``repeat = n`` the table is played ``n`` times back to back, each play lasting
``time_s[-1] - time_s[0]`` (a cycle that ends where it starts repeats without a gap); after
the last repetition the last value is held.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..limits import MAX_REPEAT
from ..errors import Problem, ScenarioError
from ..scenario.types import ScenarioPath
from .base import Causality, Component, ComponentConfig, Port
from .registry import register

#: unit of a column from the suffix of its name (after the last underscore)
UNIT_SUFFIXES = {
    "s": "s",
    "m": "m",
    "mps": "m/s",
    "kg": "kg",
    "N": "N",
    "Pa": "Pa",
    "J": "J",
    "W": "W",
    "A": "A",
    "V": "V",
    "K": "K",
    "C": "C",
    "Ohm": "Ohm",
    "rad": "rad",
    "1": "1",
}


class ProfileConfig(ComponentConfig):
    file: ScenarioPath | None = Field(
        None, description="CSV file with a header row; first column time_s, one column per signal"
    )
    time_s: list[float] | None = Field(None, description="inline table: sample times [s]")
    values: dict[str, list[float]] | None = Field(
        None, description="inline table: signal name -> samples (same length as time_s)"
    )
    columns: list[str] | None = Field(None, description="signals to output (default: all)")
    units: dict[str, str] = Field(
        default_factory=dict, description="unit per signal, where the name's suffix does not give it"
    )
    interpolation: Literal["previous", "linear", "mean"] = "linear"
    repeat: int = Field(1, ge=1, le=MAX_REPEAT, description="number of times the table is played")

    @model_validator(mode="after")
    def _one_source(self) -> "ProfileConfig":
        if (self.file is None) == (self.time_s is None):
            raise ValueError("give either 'file' or inline 'time_s' with 'values', not both or neither")
        if self.time_s is not None and not self.values:
            raise ValueError("inline 'time_s' needs 'values'")
        if self.values is not None and self.time_s is None:
            raise ValueError("'values' needs 'time_s'")
        return self


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"profile file not found: {path}")
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    if len(rows) < 3:
        raise ValueError(f"{path}: needs a header row and at least two data rows")
    header = [h.strip() for h in rows[0]]
    try:
        data = np.array([[float(x) for x in r] for r in rows[1:]], dtype=float)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric value ({exc})") from None
    if data.shape[1] != len(header):
        raise ValueError(f"{path}: rows have {data.shape[1]} fields, header has {len(header)}")
    return header, data


@register
class Profile(Component):
    """Time-series source; see the module docstring."""

    type_name = "profile"
    Config = ProfileConfig
    can_get_set_state = True

    def __init__(self, name: str, config: ProfileConfig):
        if config.file is not None:
            try:
                header, data = _read_csv(Path(config.file))
                if header[0] != "time_s":
                    raise ValueError(f"{config.file}: first column must be 'time_s', found {header[0]!r}")
            except (OSError, ValueError) as exc:  # the file's problem, at the scenario's 'file' key
                raise ScenarioError([Problem("file", str(exc))]) from None
            names, t, table = header[1:], data[:, 0], data[:, 1:]
            where = str(config.file)
        else:
            names = list(config.values)
            t = np.asarray(config.time_s, dtype=float)
            lengths = {k: len(v) for k, v in config.values.items() if len(v) != len(t)}
            if lengths:
                raise ValueError(f"inline values {lengths} differ in length from time_s ({len(t)})")
            table = np.column_stack([np.asarray(config.values[k], dtype=float) for k in names])
            where = "inline table"
        if len(t) < 2:
            raise ValueError(f"{where}: needs at least two samples")
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(table)):
            raise ValueError(f"{where}: contains NaN or infinite values")
        dt = np.diff(t)
        if np.any(dt < 0) or np.any((dt[1:] == 0) & (dt[:-1] == 0)) or dt[0] == 0 or dt[-1] == 0:
            i = int(np.argmax(dt < 0)) if np.any(dt < 0) else int(np.argmax(dt == 0))
            raise ValueError(
                f"{where}: time_s must increase (a time may appear twice in a row, inside the table, "
                f"to mark a jump; row {i + 2}: {t[i + 1]} after {t[i]})"
            )
        if config.columns is not None:
            unknown = [c for c in config.columns if c not in names]
            if unknown:
                raise ValueError(f"{where}: no column(s) {unknown}; columns are {names}")
            keep = [names.index(c) for c in config.columns]
            names, table = [names[i] for i in keep], table[:, keep]
        self._names = names
        self._t = t
        self._table = table
        # cumulative integral of the linear interpolant at the knots, per column
        area = 0.5 * (table[1:] + table[:-1]) * np.diff(t)[:, None]
        self._cum = np.vstack([np.zeros(table.shape[1]), np.cumsum(area, axis=0)])
        self._period = t[-1] - t[0]
        super().__init__(name, config)

    def _declare_ports(self):
        for col in self._names:
            unit = self.config.units.get(col)
            if unit is None:
                suffix = col.rsplit("_", 1)[-1] if "_" in col else ""
                unit = UNIT_SUFFIXES.get(suffix)
            if unit is None:  # a scenario problem, at the column (inline) or the file
                raise ScenarioError([Problem(
                    f"values.{col}" if self.config.file is None else "file",
                    f"column {col!r} has no unit: name it with a unit suffix "
                    f"({', '.join('_' + s for s in UNIT_SUFFIXES)}) or set units.{col}")])
            yield Port(col, Causality.OUTPUT, unit=unit, long_name=f"{col} from profile")

    # -- evaluation ---------------------------------------------------------------------
    def _local(self, t: float) -> tuple[float, bool]:
        """Time within the table and whether the table has ended (hold the last value)."""
        t0 = self._t[0]
        span = t - t0
        if span <= 0.0:
            return t0, False
        k = math.floor(span / self._period)
        if k >= self.config.repeat:
            return self._t[-1], True
        return t0 + (span - k * self._period), False

    def _value(self, t: float) -> np.ndarray:
        tl, _ = self._local(t)
        if self.config.interpolation == "previous":
            i = int(np.searchsorted(self._t, tl, side="right")) - 1
            return self._table[max(i, 0)]
        i = min(max(int(np.searchsorted(self._t, tl, side="right")) - 1, 0), len(self._t) - 2)
        w = (tl - self._t[i]) / (self._t[i + 1] - self._t[i])
        return self._table[i] + w * (self._table[i + 1] - self._table[i])

    def _integral(self, t: float) -> np.ndarray:
        """Integral of the (repeated, then held) linear interpolant from the table's start to t."""
        t0 = self._t[0]
        if t <= t0:
            return (t - t0) * self._table[0]
        k = min(math.floor((t - t0) / self._period), self.config.repeat)
        whole = k * self._cum[-1]
        if k >= self.config.repeat:
            return whole + (t - t0 - k * self._period) * self._table[-1]
        tl = t - k * self._period
        i = min(int(np.searchsorted(self._t, tl, side="right")) - 1, len(self._t) - 2)
        dt = tl - self._t[i]
        slope = (self._table[i + 1] - self._table[i]) / (self._t[i + 1] - self._t[i])
        return whole + self._cum[i] + self._table[i] * dt + 0.5 * slope * dt * dt

    def _publish(self, values: np.ndarray) -> None:
        for name, v in zip(self._names, values.tolist()):
            self.y[name] = v

    def _initialize(self, t0: float) -> None:
        self._publish(self._value(t0))

    def _do_step(self, t: float, h: float) -> None:
        if self.config.interpolation == "mean":
            self._publish((self._integral(t + h) - self._integral(t)) / h)
        else:
            self._publish(self._value(t + h))

    def _get_state(self):
        return None  # outputs are a function of time only

    def _set_state(self, state) -> None:
        pass
