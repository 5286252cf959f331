"""Integrating a model-exchange FMU over a communication step, with its events.

The continuous states go to scipy's variable-order BDF method (stiff-capable; the
Jacobian by finite differences of ``GetDerivatives``), stepped one internal step at a
time so that every kind of event is seen where it happens:

1. **time events**: the integration stops exactly at the FMU's ``nextEventTime``;
2. **state events**: after each internal step the event indicators are compared with
   their signs before it; on a change the earliest crossing is bracketed by bisection on
   the step's dense output (to :data:`EVENT_TOL_S`), the FMU is set to the state just past
   it and the event is handled there;
3. **step events**: ``CompletedIntegratorStep`` asking for event mode.

Handling an event: enter event mode, iterate ``NewDiscreteStates``/``UpdateDiscreteStates``
until the FMU needs no more, honour ``terminateSimulation``, return to continuous-time
mode, re-read the states (they may have been reinitialized) and restart the integrator
from there. The inputs are held over the communication step (zero-order hold), so the
integrator also restarts at every communication point; it starts with the last step size
it used, which keeps restarts cheap.
"""

from __future__ import annotations

import math
from ctypes import byref, c_bool, c_double, c_int

import numpy as np
from scipy.integrate import BDF

from .instance import FmuCallError, FmuInstance

__all__ = ["EVENT_TOL_S", "ModelExchangeIntegrator"]

#: width to which a state event's time is bracketed [s]
EVENT_TOL_S = 1e-10


class ModelExchangeIntegrator:
    """Advances a model-exchange :class:`FmuInstance` between communication points."""

    def __init__(self, inst: FmuInstance, rtol: float, atol: float, max_step_s: float):
        md = inst.md
        self.inst = inst
        self.v3 = inst.version == 3
        self.nx = md.numberOfContinuousStates if not self.v3 else len(md.derivatives)
        self.nz = md.numberOfEventIndicators if not self.v3 else len(md.eventIndicators)
        self.rtol, self.atol, self.max_step = rtol, atol, max_step_s
        self._x = (c_double * max(self.nx, 1))()
        self._dx = (c_double * max(self.nx, 1))()
        self._z = (c_double * max(self.nz, 1))()
        p = "fmi3" if self.v3 else "fmi2"
        self._f_time = inst.function(f"{p}SetTime")
        self._f_setx = inst.function(f"{p}SetContinuousStates")
        self._f_getx = inst.function(f"{p}GetContinuousStates")
        self._f_dx = inst.function("fmi3GetContinuousStateDerivatives" if self.v3 else "fmi2GetDerivatives")
        self._f_z = inst.function(f"{p}GetEventIndicators")
        self.next_event: float = math.inf
        self.h_last: float | None = None
        self.terminated = False
        self.x = np.zeros(self.nx)
        self.z = np.zeros(self.nz)

    # -- raw calls ---------------------------------------------------------------------
    def _check(self, status: int, name: str) -> None:
        if status > 1:
            self.inst.fail(name, status)

    def _set(self, t: float, x: np.ndarray) -> None:
        self._check(self._f_time(self.inst.handle, t), "SetTime")
        if self.nx:
            self._x[:] = x.tolist()
            self._check(self._f_setx(self.inst.handle, self._x, self.nx), "SetContinuousStates")

    def _derivatives(self, t: float, x: np.ndarray) -> np.ndarray:
        self._set(t, x)
        self._check(self._f_dx(self.inst.handle, self._dx, self.nx), "GetDerivatives")
        return np.array(self._dx[: self.nx])

    def _indicators(self) -> np.ndarray:
        if not self.nz:
            return np.zeros(0)
        self._check(self._f_z(self.inst.handle, self._z, self.nz), "GetEventIndicators")
        return np.array(self._z[: self.nz])

    def _read_states(self) -> np.ndarray:
        if self.nx:
            self._check(self._f_getx(self.inst.handle, self._x, self.nx), "GetContinuousStates")
        return np.array(self._x[: self.nx])

    # -- events ------------------------------------------------------------------------
    def _discrete_iteration(self) -> None:
        """In event mode: update discrete states until settled; next time event, terminate."""
        inst = self.inst
        for _ in range(1000):
            if self.v3:
                flags = [c_bool(), c_bool(), c_bool(), c_bool(), c_bool(), c_double()]
                inst.call("fmi3UpdateDiscreteStates", *[byref(f) for f in flags])
                again, stop, defined, t_next = flags[0].value, flags[1].value, flags[4].value, flags[5].value
            else:
                from fmpy.fmi2 import fmi2EventInfo

                info = fmi2EventInfo()
                inst.call("fmi2NewDiscreteStates", byref(info))
                again, stop = bool(info.newDiscreteStatesNeeded), bool(info.terminateSimulation)
                defined, t_next = bool(info.nextEventTimeDefined), info.nextEventTime
            if stop:
                self.terminated = True
            self.next_event = t_next if defined else math.inf
            if not again or stop:
                break
        else:
            raise FmuCallError(inst.label, "event iteration", 3, ["discrete states did not settle in 1000 iterations"],
                               inst.time)

    def _handle_event(self, t: float) -> None:
        inst = self.inst
        inst.time = t
        inst.call(f"fmi{inst.version}EnterEventMode")
        self._discrete_iteration()
        inst.call(f"fmi{inst.version}EnterContinuousTimeMode")
        self.x = self._read_states()
        self.z = self._indicators()

    def start(self, t0: float) -> None:
        """After ``ExitInitializationMode`` (the FMU is in event mode): settle, go to
        continuous time."""
        self.inst.time = t0
        self._discrete_iteration()
        self.inst.call(f"fmi{self.inst.version}EnterContinuousTimeMode")
        self._set_time_only(t0)
        self.x = self._read_states()
        self.z = self._indicators()

    def _set_time_only(self, t: float) -> None:
        self._check(self._f_time(self.inst.handle, t), "SetTime")

    def _completed_step(self) -> bool:
        enter, stop = c_bool() if self.v3 else c_int(), c_bool() if self.v3 else c_int()
        no_set = c_bool(True) if self.v3 else 1
        self.inst.call(f"fmi{self.inst.version}CompletedIntegratorStep", no_set, byref(enter), byref(stop))
        if stop.value:
            self.terminated = True
        return bool(enter.value)

    def _crossing(self, z0: np.ndarray, z1: np.ndarray) -> np.ndarray:
        return (z0 > 0) != (z1 > 0)

    def _locate(self, dense, t0: float, t1: float, z0: np.ndarray) -> tuple[float, np.ndarray]:
        """Earliest time in (t0, t1] where an indicator's sign differs from ``z0`` (the
        right end of a bracket of width EVENT_TOL_S), and the state there."""
        lo, hi = t0, t1
        while hi - lo > EVENT_TOL_S * max(1.0, abs(hi)):
            mid = 0.5 * (lo + hi)
            self._set(mid, dense(mid))
            if self._crossing(z0, self._indicators()).any():
                hi = mid
            else:
                lo = mid
        return hi, dense(hi)

    # -- integration -------------------------------------------------------------------
    def advance(self, t: float, t_end: float) -> None:
        """Integrate from ``t`` to ``t_end`` (inputs already set); on return the FMU holds
        the time and states at ``t_end`` (or where it asked to terminate)."""
        while t < t_end and not self.terminated:
            t_stop = min(t_end, self.next_event)
            if self.nx == 0:
                t = self._jump(t, t_stop)
            else:
                t = self._integrate(t, t_stop)
            if not self.terminated and self.next_event <= t + EVENT_TOL_S:
                self._set(t, self.x)
                self._handle_event(t)
        self._set(t, self.x)

    def _jump(self, t: float, t_stop: float) -> float:
        self._set_time_only(t_stop)
        z = self._indicators()
        if self._crossing(self.z, z).any() or self._completed_step():
            self._handle_event(t_stop)
        else:
            self.z = z
        return t_stop

    def _integrate(self, t: float, t_stop: float) -> float:
        if t_stop - t <= 0:
            return t
        first = None if self.h_last is None else min(self.h_last, t_stop - t)
        solver = BDF(self._derivatives, t, self.x.copy(), t_stop, rtol=self.rtol, atol=self.atol,
                     max_step=self.max_step, first_step=first)
        while solver.status == "running":
            t_old = solver.t
            message = solver.step()
            if solver.status == "failed":
                raise FmuCallError(self.inst.label, "integration", 3, [f"BDF failed at t = {solver.t:g} s: {message}"],
                                   solver.t)
            self.h_last = solver.step_size
            self._set(solver.t, solver.y)
            z = self._indicators()
            if self.nz and self._crossing(self.z, z).any():
                t_ev, x_ev = self._locate(solver.dense_output(), t_old, solver.t, self.z)
                self._set(t_ev, x_ev)
                self._handle_event(t_ev)
                return t_ev
            self.x, self.z = solver.y.copy(), z
            if self._completed_step():
                self._handle_event(solver.t)
                return solver.t
            if self.terminated:
                return solver.t
        return solver.t
