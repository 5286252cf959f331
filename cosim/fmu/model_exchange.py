"""Integrating a model-exchange FMU across communication steps, with its events.

One ODE solver (CVODE through :mod:`cosim.fmu.cvode`, or a scipy
:class:`~scipy.integrate.OdeSolver`) is kept alive across communication steps and driven
one internal step at a time, so that every kind of event is seen where it happens:

1. **time events**: the solver is created with ``t_bound`` = the FMU's ``nextEventTime``,
   so it never steps past a time event and lands on it exactly;
2. **state events**: after each internal step (and at each communication point inside a
   step) the event indicators are compared with their signs at the last checked time; on a
   change the earliest crossing is bracketed by bisection on the step's dense output (to
   :data:`EVENT_TOL_S`), the FMU is set to the state just past it and the event handled;
3. **step events**: ``CompletedIntegratorStep`` asking for event mode (called after every
   accepted internal step, not at interpolated communication points; not at all when the
   FMU declares it needs none).

An indicator that is exactly 0 after an event (a ball's height reset to the floor) has no
domain yet: its reference sign is taken just after the event along the derivative, so that
leaving 0 is not an event but returning to 0 or below within one long step is (a step of
an explicit method may span a whole tiny flight of the ball).

Handling an event: enter event mode, iterate ``NewDiscreteStates``/``UpdateDiscreteStates``
until the FMU needs no more, honour ``terminateSimulation``, return to continuous-time
mode, re-read the states (they may have been reinitialized).

**When the solver is re-initialised** (CVODE restarted, or a new scipy solver, from the
FMU's current time and states; scipy's starting with the last step size used, CVODE
estimating its first step): after every event (time, state, step);
when a real input's value differs from its value at the previous communication step (the
inputs are held constant over a communication step, so a change is a discontinuity of the
right-hand side at the step boundary; unchanged inputs keep the solver); after a rollback
(assigning :attr:`ModelExchangeIntegrator.x`, which the component does when it restores an
FMU state, drops the solver).

**Reaching a communication point**: the solver steps *past* it with its own step-size
control, the states at the communication point are interpolated with the step's dense
output (of the method's order, within the tolerances) and set into the FMU; the next
communication step continues from the solver's own step, whose remaining part is already
integrated. The alternative, setting ``t_bound`` at every communication point, forces a
step to end at every point: with communication steps shorter than the natural step size
(the usual case in a co-simulation with 1-10 ms steps) the cost grows with the number of
communication steps instead of with the dynamics, and each forced stop cuts the step size
and, for multistep methods (BDF, LSODA), the order history. The right-hand side is thus
evaluated a little beyond the communication point; the FMUs are instantiated without a
stop time (``stopTimeDefined`` false), so this is allowed. Time events remain exact
because they are the solver's ``t_bound``.

**Choice of method** (scenario key ``solver`` of the fmu component):

- ``"auto"`` (default) = ``"cvode_bdf"``: CVODE's variable-order BDF with Newton iterations
  on a dense finite-difference Jacobian (SUNDIALS, as FMPy ships it; FMPy and OMSimulator
  integrate with it too). Stiff-safe, and on non-stiff models the cheapest of these per
  step: its step and interpolation run in C, only the right-hand side calls the FMU.
- ``"cvode_adams"``: CVODE's Adams-Moulton, for non-stiff models (more accurate than BDF
  at the same tolerances on smooth orbits and bouncing balls).
- ``"lsoda"``: ODEPACK's LSODA through scipy, switching between Adams and BDF by itself.
- ``"rk45"`` / ``"dop853"``: scipy's explicit Runge-Kutta (Dormand-Prince 5(4) / 8(5,3)).
- ``"bdf"``: scipy's BDF (in Python; slowest).

Default tolerances (``rtol`` 1e-6, ``atol`` 1e-10 of the component, the latter times each
state's nominal value, re-read when the FMU says they changed) give errors about ten times
below FMPy's defaults (CVODE BDF, relative tolerance 1e-5 or the FMU's default tolerance,
absolute = relative x nominal). benchmarks/fmu.py measures both against references, each
state's error scaled by its largest magnitude: van der Pol 1.1e-5 vs FMPy 1.5e-4,
Robertson 8.2e-6 vs 1.6e-1, bouncing ball 6.0e-6 vs 5.4e-5 (an absolute tolerance of 1e-8
left the ball at 5.6e-5: the late, slow bounces are located from heights near zero).

FMI 3 sizes: the number of continuous states (event indicators) is the total number of
elements of the derivative (event indicator) variables, an array counting the product of
its dimensions, a dimension given by a structural parameter taking that parameter's start
value.
"""

from __future__ import annotations

import math
from ctypes import byref, c_bool, c_double, c_float, c_int, c_size_t, c_uint

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK45

from .instance import FmuCallError, FmuInstance

__all__ = ["EVENT_TOL_S", "SOLVERS", "ModelExchangeIntegrator", "variable_size"]

#: width to which a state event's time is bracketed [s]
EVENT_TOL_S = 1e-10

#: scenario name -> scipy solver class, or the CVODE method ("auto" is CVODE's BDF)
SOLVERS = {"auto": "bdf", "cvode_bdf": "bdf", "cvode_adams": "adams",
           "rk45": RK45, "dop853": DOP853, "bdf": BDF, "lsoda": LSODA}

#: the solver's t_bound when no time event is pending (LSODA needs a finite bound)
_NO_BOUND = 1e300


def variable_size(var) -> int:
    """Number of elements of an FMI 3 variable: the product of its dimensions (a dimension
    given by a structural parameter is that parameter's start value); 1 for a scalar."""
    n = 1
    for dim in getattr(var, "dimensions", None) or ():
        if dim.start is not None:
            n *= int(dim.start)
        else:
            n *= int(dim.variable.start)
    return n


class ModelExchangeIntegrator:
    """Advances a model-exchange :class:`FmuInstance` between communication points."""

    def __init__(self, inst: FmuInstance, rtol: float, atol: float, max_step_s: float,
                 solver: str = "auto"):
        md = inst.md
        self.inst = inst
        self.v3 = inst.version == 3
        if self.v3:
            self.nx = sum(variable_size(u.variable) for u in md.derivatives)
            self.nz = sum(variable_size(u.variable) for u in md.eventIndicators)
        else:
            self.nx, self.nz = md.numberOfContinuousStates, md.numberOfEventIndicators
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r} (one of {', '.join(SOLVERS)})")
        self.method = SOLVERS[solver]
        self._cvode = None  # a CVodeStepper, made at the first integration, freed by close()
        self.rtol, self.atol, self.max_step = rtol, atol, max_step_s
        self._x = (c_double * max(self.nx, 1))()
        self._dx = (c_double * max(self.nx, 1))()
        self._z = (c_double * max(self.nz, 1))()
        self._xa = np.ctypeslib.as_array(self._x)[: self.nx]    # numpy views of the buffers
        self._dxa = np.ctypeslib.as_array(self._dx)[: self.nx]
        self._za = np.ctypeslib.as_array(self._z)[: self.nz]
        p = "fmi3" if self.v3 else "fmi2"
        self._f_time = inst.function(f"{p}SetTime")
        self._f_setx = inst.function(f"{p}SetContinuousStates")
        self._f_getx = inst.function(f"{p}GetContinuousStates")
        self._f_dx = inst.function("fmi3GetContinuousStateDerivatives" if self.v3 else "fmi2GetDerivatives")
        self._f_z = inst.function(f"{p}GetEventIndicators")
        self._f_nominal = inst.function(f"{p}GetNominalsOfContinuousStates")
        self._nominal = (c_double * max(self.nx, 1))()
        self._atol = self.atol  # atol x each state's nominal value, read at the start and when they change
        self._setup_inputs(md)
        me = md.modelExchange
        self._needs_completed = (bool(me.needsCompletedIntegratorStep) if self.v3
                                 else not me.completedIntegratorStepNotNeeded)
        self._f_completed = inst.function(f"{p}CompletedIntegratorStep")
        self._enter, self._stop = (c_bool(), c_bool()) if self.v3 else (c_int(), c_int())
        self._enter_ref, self._stop_ref = byref(self._enter), byref(self._stop)
        self._no_set = c_bool(True) if self.v3 else 1
        self.next_event: float = math.inf
        self._h_last: float | None = None
        self.terminated = False
        self._solver = None      # the live scipy solver, None: re-initialise before integrating
        self._dense = None       # dense output of the solver's last step (made on demand)
        self._xv = np.zeros(self.nx)
        self.z = np.zeros(self.nz)
        self.restarts = 0        # solver (re-)initialisations, for tests and benchmarks
        self.events = 0          # events handled (time, state, step)

    # -- the state at the FMU's current time ----------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """Continuous states at the FMU's current time. Assigning them (a restore after a
        rollback) drops the solver: it is re-initialised from them at the next step."""
        return self._xv

    @x.setter
    def x(self, value: np.ndarray) -> None:
        if self._solver is not None:
            self._h_last = self._solver.step_size
        self._xv = np.asarray(value, dtype=float)
        self._solver = None
        self._u_last = None

    @property
    def h_last(self) -> float | None:
        """Size of the last internal step (the first step after a re-initialisation)."""
        if self._solver is not None and self._solver.step_size is not None:
            return self._solver.step_size
        return self._h_last

    @h_last.setter
    def h_last(self, value: float | None) -> None:
        self._h_last = value

    # -- raw calls ---------------------------------------------------------------------
    def _check(self, status: int, name: str) -> None:
        if status > 1:
            self.inst.fail(name, status)

    def _set(self, t: float, x: np.ndarray) -> None:
        self._check(self._f_time(self.inst.handle, t), "SetTime")
        if self.nx:
            self._xa[:] = x
            self._check(self._f_setx(self.inst.handle, self._x, self.nx), "SetContinuousStates")

    def _derivatives(self, t: float, x: np.ndarray) -> np.ndarray:
        self._set(t, x)
        self._check(self._f_dx(self.inst.handle, self._dx, self.nx), "GetDerivatives")
        return self._dxa.copy()

    def _rhs_raw(self, t: float, x_ptr, dx_ptr) -> int:
        """CVODE's right-hand side on its own vectors: 0, or 1 (recoverable: CVODE retries
        with a smaller step) when the FMU returns Discard for these states."""
        handle, fail = self.inst.handle, self.inst.fail
        status = self._f_time(handle, t)
        if status > 1:
            fail("SetTime", status)
        status = self._f_setx(handle, x_ptr, self.nx)
        if status == 2:
            return 1
        if status > 1:
            fail("SetContinuousStates", status)
        status = self._f_dx(handle, dx_ptr, self.nx)
        if status == 2:
            return 1
        if status > 1:
            fail("GetDerivatives", status)
        return 0

    def close(self) -> None:
        """Free the CVODE memory, if any (the component calls this when it terminates)."""
        if self._cvode is not None:
            self._cvode.close()
            self._cvode = None

    def _indicators(self) -> np.ndarray:
        if not self.nz:
            return np.zeros(0)
        self._check(self._f_z(self.inst.handle, self._z, self.nz), "GetEventIndicators")
        return self._za.copy()

    def _read_states(self) -> np.ndarray:
        if self.nx:
            self._check(self._f_getx(self.inst.handle, self._x, self.nx), "GetContinuousStates")
        return self._xa.copy()

    # -- inputs: a changed value is a discontinuity ------------------------------------
    def _setup_inputs(self, md) -> None:
        """The continuous inputs (FMI 2 Real; FMI 3 Float64 and Float32), read back after
        the component wrote them, grouped by type: (getter, value refs, n values, buffer)."""
        kinds = [("Float64", "fmi3GetFloat64", c_double), ("Float32", "fmi3GetFloat32", c_float)] if self.v3 \
            else [("Real", "fmi2GetReal", c_double)]
        self._in_groups = []
        for type_name, getter, ctype in kinds:
            ins = [v for v in md.modelVariables if v.causality == "input" and v.type == type_name]
            if ins:
                n = sum(variable_size(v) for v in ins)
                self._in_groups.append((self.inst.function(getter), (c_uint * len(ins))(*[v.valueReference for v in ins]),
                                        n, (ctype * n)()))
        self._u_last = None

    def _inputs_changed(self) -> bool:
        if not self._in_groups:
            return False
        u = []
        for get, vrs, n, buf in self._in_groups:
            if self.v3:
                status = get(self.inst.handle, vrs, c_size_t(len(vrs)), buf, c_size_t(n))
            else:
                status = get(self.inst.handle, vrs, c_size_t(len(vrs)), buf)
            self._check(status, "Get (continuous inputs)")
            u.extend(buf)
        changed = u != self._u_last
        self._u_last = u
        return changed

    # -- events ------------------------------------------------------------------------
    def _discrete_iteration(self) -> None:
        """In event mode: update discrete states until settled; next time event, terminate."""
        inst = self.inst
        for _ in range(1000):
            if self.v3:
                flags = [c_bool(), c_bool(), c_bool(), c_bool(), c_bool(), c_double()]
                inst.call("fmi3UpdateDiscreteStates", *[byref(f) for f in flags])
                again, stop, defined, t_next = flags[0].value, flags[1].value, flags[4].value, flags[5].value
                nominals = flags[2].value
            else:
                from fmpy.fmi2 import fmi2EventInfo

                info = fmi2EventInfo()
                inst.call("fmi2NewDiscreteStates", byref(info))
                again, stop = bool(info.newDiscreteStatesNeeded), bool(info.terminateSimulation)
                defined, t_next = bool(info.nextEventTimeDefined), info.nextEventTime
                nominals = bool(info.nominalsOfContinuousStatesChanged)
            if nominals:
                self._read_nominals()
            if stop:
                self.terminated = True
            self.next_event = t_next if defined else math.inf
            if not again or stop:
                break
        else:
            raise FmuCallError(inst.label, "event iteration", 3, ["discrete states did not settle in 1000 iterations"],
                               inst.time)

    def _read_nominals(self) -> None:
        """The states' nominal values scale the absolute tolerance (a state of nominal 1e-9
        gets atol x 1e-9), as the standard intends them for the integrator."""
        if not self.nx:
            return
        self._check(self._f_nominal(self.inst.handle, self._nominal, self.nx), "GetNominalsOfContinuousStates")
        nominal = np.abs(np.ctypeslib.as_array(self._nominal)[: self.nx])
        self._atol = self.atol * np.where(nominal > 0, nominal, 1.0)

    def _handle_event(self, t: float, write=None) -> None:
        """An event at ``t``: event mode (where ``write()`` sets discrete inputs, if given),
        discrete states settled, back to continuous time (the states may jump: the solver
        restarts)."""
        inst = self.inst
        inst.time = t
        self.events += 1
        inst.call(f"fmi{inst.version}EnterEventMode")
        if write is not None:
            write()
        self._discrete_iteration()
        inst.call(f"fmi{inst.version}EnterContinuousTimeMode")
        self.x = self._read_states()  # drops the solver
        self.z = self._indicators_leaving(t)

    def input_event(self, t: float, write) -> None:
        """Discrete inputs change at ``t`` (the standard lets them change only in event mode):
        an event in which ``write()`` sets them."""
        self._handle_event(t, write)

    def start(self, t0: float) -> None:
        """After ``ExitInitializationMode`` (the FMU is in event mode): settle, go to
        continuous time."""
        self.inst.time = t0
        self._discrete_iteration()
        self.inst.call(f"fmi{self.inst.version}EnterContinuousTimeMode")
        self._set_time_only(t0)
        self._read_nominals()
        self.x = self._read_states()
        self.z = self._indicators_leaving(t0)

    def _indicators_leaving(self, t: float) -> np.ndarray:
        """Indicators at ``t`` as the reference for the next sign check. One that is exactly
        0 (typically reset by the event, like a ball's height at a bounce) has no domain
        yet: it takes its sign just after ``t`` along the derivative (at t + delta, x +
        delta*der(x)), so that leaving 0 is not an event but coming back to it within one
        step is."""
        z = self._indicators()
        if self.nz and self.nx and not z.all():
            delta = 10 * EVENT_TOL_S * max(1.0, abs(t))
            dx = self._derivatives(t, self._xv)
            self._set(t + delta, self._xv + delta * dx)
            z_after = self._indicators()
            z = np.where(z == 0.0, z_after, z)
            self._set(t, self._xv)
        return z

    def _set_time_only(self, t: float) -> None:
        self._check(self._f_time(self.inst.handle, t), "SetTime")

    def _completed_step(self) -> bool:
        """``CompletedIntegratorStep`` (unless the FMU says it needs none: FMI 2
        ``completedIntegratorStepNotNeeded``, FMI 3 ``needsCompletedIntegratorStep`` false);
        True when the FMU asks for event mode."""
        if not self._needs_completed:
            return False
        status = self._f_completed(self.inst.handle, self._no_set, self._enter_ref, self._stop_ref)
        self._check(status, "CompletedIntegratorStep")
        if self._stop.value:
            self.terminated = True
        return bool(self._enter.value)

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
        if self._inputs_changed() and self._solver is not None:
            self._h_last, self._solver = self._solver.step_size, None
        while t < t_end and not self.terminated:
            t_was = t
            if self.nx == 0:
                t = self._jump(t, min(t_end, self.next_event))
            else:
                t = self._integrate(t, t_end)
            if not self.terminated and self.next_event <= t + EVENT_TOL_S:
                self._set(t, self.x)
                self._handle_event(t)
            elif t <= t_was:
                raise FmuCallError(self.inst.label, "integration", 3, [f"no progress at t = {t:g} s"], t)
        self._set(t, self.x)

    def _jump(self, t: float, t_stop: float) -> float:
        self._set_time_only(t_stop)
        z = self._indicators()
        if self._crossing(self.z, z).any() or self._completed_step():
            self._handle_event(t_stop)
        else:
            self.z = z
        return t_stop

    def _new_solver(self, t: float, t_end: float):
        """A solver from the FMU's time and states; its first step is the last step size
        used, at most the communication step (a step may have run far past the last
        communication point when the right-hand side was constant)."""
        t_bound = min(self.next_event, _NO_BOUND)
        if t_bound <= t:
            return None
        self.restarts += 1
        if isinstance(self.method, str):  # CVODE: one memory for the whole run, restarted
            if self._cvode is None:
                from .cvode import CVodeStepper  # (loads SUNDIALS' libraries: only when used)

                self._cvode = CVodeStepper(self._rhs_raw, self.nx, self.method, self.rtol, self._atol, self.max_step)
            else:
                self._cvode.set_tolerances(self.rtol, self._atol)
            self._cvode.reinit(t, self._xv, t_bound if t_bound < _NO_BOUND else math.inf, t_end)
            return self._cvode
        first = None if not self._h_last else min(self._h_last, t_bound - t, t_end - t)
        if self.method is LSODA:
            first = None  # LSODA starts in Adams mode: a long first step fails on stiff models
        return self.method(self._derivatives, t, self._xv.copy(), t_bound, rtol=self.rtol, atol=self._atol,
                           max_step=self.max_step, first_step=first)

    def _integrate(self, t: float, t_end: float) -> float:
        """Integrate from ``t`` towards ``t_end``; returns where it stopped: ``t_end``, an
        event (handled; the solver dropped), or the pending time event (not handled)."""
        s = self._solver
        if s is None:
            s = self._solver = self._new_solver(t, t_end)
            self._dense = None
            if s is None:  # a time event at t
                return t
        while True:
            if s.t <= t:  # the last step is used up: take a new one
                if s.status != "running":  # at t_bound: the time event (handled by advance)
                    return t
                t_old = s.t
                message = s.step()
                if s.status == "running" and not s.t > t_old:
                    s.status, message = "failed", f"no progress (step size {s.step_size:g} s)"
                if s.status == "failed":
                    raise FmuCallError(self.inst.label, "integration", 3,
                                       [f"{type(s).__name__} failed at t = {s.t:g} s: {message}"], s.t)
                self._dense = None
            full = s.t <= t_end
            t_hi = s.t if full else t_end
            if full:
                x_hi = s.y.copy()
            else:
                if self._dense is None:
                    self._dense = s.dense_output()
                x_hi = self._dense(t_hi)
            if (full and self._needs_completed) or self.nz:
                self._set(t_hi, x_hi)  # (advance sets the FMU at the communication point)
            z = self._indicators() if self.nz else self.z
            if self.nz and self._crossing(self.z, z).any():
                if self._dense is None:
                    self._dense = s.dense_output()
                t_ev, x_ev = self._locate(self._dense, t, t_hi, self.z)
                self._set(t_ev, x_ev)
                self._handle_event(t_ev)
                return t_ev
            self._xv, self.z = x_hi, z
            if full:
                if self._completed_step():
                    self._handle_event(t_hi)
                    return t_hi
                if self.terminated:
                    return t_hi
            if t_hi >= t_end:
                return t_hi
            t = t_hi
