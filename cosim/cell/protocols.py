"""Cell test protocols run directly on a batched model: constant-current discharge to a
cut-off voltage, with steps as large as the accuracy allows.

Steps grow geometrically from ``first_step_s`` up to ``max_step_s`` while the current is
constant (the particles are integrated exactly; only the electrolyte's backward-Euler
transient limits the step), and shrink when the voltage is predicted to reach the cut-off
within the next step, so the crossing is located to ``cutoff_tol_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import CellModel


@dataclass
class Discharge:
    """Time series of a constant-current run (cell 0 of the batch unless stated)."""

    time_s: np.ndarray  # (steps + 1,)
    voltage_V: np.ndarray  # (steps + 1, n_cells); the first row is the voltage right after switching on
    capacity_As: np.ndarray  # (n_cells,) charge passed until the cut-off (interpolated)
    cutoff_time_s: np.ndarray  # (n_cells,)


def constant_current(
    model: CellModel,
    current_A,
    *,
    T_K=298.15,
    cutoff_V: float | None = None,
    max_time_s: float = 10 * 3600.0,
    first_step_s: float = 1.0,
    max_step_s: float = 90.0,
    growth: float = 1.5,
    cutoff_tol_s: float = 0.5,
) -> Discharge:
    """Hold ``current_A`` (positive: discharge) until every cell reaches ``cutoff_V``
    (default: the parameter set's lower limit on discharge, upper on charge)."""
    current = np.broadcast_to(np.asarray(current_A, dtype=float), (model.n,)).copy()
    charging = bool(np.all(current < 0))
    if cutoff_V is None:
        cutoff_V = model.params.upper_voltage_V if charging else model.params.lower_voltage_V
    sign = -1.0 if charging else 1.0  # sign * (V - cutoff) > 0 while running
    t = 0.0
    times = [0.0]
    volts = [model.voltage_after(1e-9, T_K, current)]
    h = first_step_s
    done = np.zeros(model.n, dtype=bool)
    t_cut = np.full(model.n, np.nan)
    while not done.all() and t < max_time_s:
        v_prev = volts[-1]
        to_cut = np.array([np.inf])
        if len(volts) >= 2:  # predict the crossing from the last slope
            slope = (volts[-1] - volts[-2]) / (times[-1] - times[-2])
            with np.errstate(divide="ignore", invalid="ignore"):
                to_cut = np.where(sign * slope < 0, (cutoff_V - v_prev) / slope, np.inf)
            to_cut = to_cut[~done]
            if to_cut.size and np.min(to_cut) < h:
                h = max(min(h, 0.7 * float(np.min(to_cut))), cutoff_tol_s)
        # keep the state only where a step may have to be taken again (near the cut-off)
        state = model.get_state() if len(volts) < 2 or np.min(to_cut, initial=np.inf) < 4 * h else None
        try:
            # cells past their cut-off rest, so that they cannot run out of lithium
            V = model.step(h, T_K, current_A=np.where(done, 0.0, current))["voltage_V"].copy()
        except RuntimeError:
            if h <= cutoff_tol_s or state is None:
                raise
            model.set_state(state)
            h = max(h / 4, cutoff_tol_s)
            continue
        crossed = ~done & (sign * (V - cutoff_V) <= 0)
        if crossed.any() and h > cutoff_tol_s and state is not None and not (~done & ~crossed).any():
            # refine: go back and approach with smaller steps
            model.set_state(state)
            h = max(h / 4, cutoff_tol_s)
            continue
        t += h
        times.append(t)
        volts.append(V)
        if crossed.any():
            frac = (v_prev[crossed] - cutoff_V) / (v_prev[crossed] - V[crossed])
            t_cut[crossed] = t - h + np.clip(frac, 0, 1) * h
            done |= crossed
        h = min(h * growth, max_step_s)
    return Discharge(
        time_s=np.array(times),
        voltage_V=np.array(volts),
        capacity_As=np.abs(current) * t_cut,
        cutoff_time_s=t_cut,
    )
