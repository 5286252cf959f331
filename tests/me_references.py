"""Model-exchange fixtures run by cosim and by FMPy on one output grid, and their
independent references (scipy ``solve_ivp`` at rtol 1e-10 on the same ODE written in
Python, or the analytic solution). Used by tests/test_fmu_me_accuracy.py and
benchmarks/fmu.py."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp


def _ivp(rhs, y0, grid, method):
    sol = solve_ivp(rhs, (grid[0], grid[-1]), y0, method=method, t_eval=grid, rtol=1e-10, atol=1e-14)
    assert sol.success, sol.message
    return sol.y.T


def vdp_reference(grid: np.ndarray, mu: float = 1.0) -> np.ndarray:
    """van der Pol from (2, 0): columns x0, x1."""
    return _ivp(lambda t, x: [x[1], mu * (1 - x[0] ** 2) * x[1] - x[0]], [2.0, 0.0], grid, "DOP853")


def robertson_reference(grid: np.ndarray) -> np.ndarray:
    """Robertson's kinetics from (1, 0, 0): columns y1, y2, y3."""
    def rhs(t, y):
        r1, r2, r3 = 0.04 * y[0], 3e7 * y[1] ** 2, 1e4 * y[1] * y[2]
        return [-r1 + r3, r1 - r3 - r2, r2]

    return _ivp(rhs, [1.0, 0.0, 0.0], grid, "Radau")


def ball_reference(grid: np.ndarray, g: float = 9.81, e: float = 0.7, h0: float = 1.0,
                   rest_speed: float = 1e-3) -> np.ndarray:
    """The bouncing ball of tests/fmus/common/ball.h, analytically: columns h, v."""
    out = np.zeros((len(grid), 2))
    t_hit = math.sqrt(2 * h0 / g)
    flights = [(0.0, h0, 0.0)]  # (start time, start height, start speed) of each flight
    t, v = t_hit, g * t_hit
    while True:
        v = e * v
        if v < rest_speed:
            rest = t
            break
        flights.append((t, 0.0, v))
        t += 2 * v / g
    for i, tt in enumerate(grid):
        if tt >= rest:
            continue
        t0, hs, vs = [f for f in flights if f[0] <= tt][-1]
        dt = tt - t0
        out[i] = hs + vs * dt - 0.5 * g * dt * dt, vs - g * dt
    return out  # at rest (h = v = 0) from the last bounce on


def scaled_error(y: np.ndarray, ref: np.ndarray) -> float:
    """Largest error over the grid, each state's error divided by its largest magnitude."""
    scale = np.maximum(np.max(np.abs(ref), axis=0), 1e-300)
    return float(np.max(np.max(np.abs(y - ref), axis=0) / scale))


@dataclass
class Case:
    fmu: str                  # fixture name
    states: tuple[str, ...]   # output variables compared
    stop: float
    reference: Callable[[np.ndarray], np.ndarray]

    @property
    def step(self) -> float:  # FMPy's default output interval: stop/500
        return self.stop / 500

    @property
    def grid(self) -> np.ndarray:
        return np.linspace(0.0, self.stop, 501)


CASES = {
    "van der Pol": Case("me2_vdp", ("x0", "x1"), 20.0, vdp_reference),
    "Robertson": Case("me2_robertson", ("y1", "y2", "y3"), 40.0, robertson_reference),
    "bouncing ball": Case("me2_ball", ("h", "v"), 3.0, ball_reference),
}


def run_cosim(path, case: Case, **cfg) -> np.ndarray:
    """Our component with communication step = the output interval: states on the grid."""
    from cosim.fmu.component import FmuComponent, FmuConfig

    c = FmuComponent("f", FmuConfig(fmu=path, **cfg))
    c.set_parameters({})
    c.initialize(0.0)
    grid = case.grid
    out = np.zeros((len(grid), len(case.states)))
    out[0] = [c.y[s] for s in case.states]
    for i in range(1, len(grid)):
        c.do_step(grid[i - 1], grid[i] - grid[i - 1])
        out[i] = [c.y[s] for s in case.states]
    c.terminate()
    return out


def run_fmpy(path, case: Case, **kwargs) -> np.ndarray:
    """fmpy.simulate_fmu (its defaults: CVode, rtol 1e-5 or the FMU's default tolerance),
    states at the grid points (events add rows at the same time: the last one is kept)."""
    import fmpy

    r = fmpy.simulate_fmu(str(path), stop_time=case.stop, output_interval=case.step,
                          output=list(case.states), **kwargs)
    grid = case.grid
    idx = np.searchsorted(r["time"], grid + 1e-9 * case.stop, side="right") - 1
    assert np.allclose(r["time"][idx], grid, rtol=0, atol=1e-9 * case.stop)
    return np.column_stack([r[s][idx] for s in case.states])
