"""CVODE (SUNDIALS) stepped one internal step at a time, for model-exchange FMUs.

The solver is the CVODE library that FMPy ships (``fmpy.sundials``: SUNDIALS 7, dense
direct linear solver); this module adds the calls FMPy's own wrapper does not bind
(one-step mode, stop time, interpolation, cleanup) on the same shared libraries.

:class:`CVodeStepper` offers what :class:`~cosim.fmu.model_exchange.ModelExchangeIntegrator`
uses of a scipy ``OdeSolver`` (``t``, ``y``, ``status``, ``step_size``, ``step()``,
``dense_output()``), so that the event logic is one and the same for every method:

1. ``step()`` takes one internal step (``CV_ONE_STEP``), never past ``t_bound`` (a CVODE
   stop time); reaching it sets ``status = "finished"``;
2. ``dense_output()`` interpolates inside the last step with ``CVodeGetDky`` (CVODE's own
   Nordsieck polynomial, of the method's order); valid until the next ``step()``;
3. the right-hand side is the FMU's ``SetTime``/``SetContinuousStates``/``GetDerivatives``
   called with CVODE's own vectors (no copy): ``rhs(t, y_ptr, ydot_ptr)`` returns 0, or 1
   for a recoverable failure (the FMU returned Discard: CVODE retries with a smaller step),
   or raises: the exception is kept, CVODE is told the failure is unrecoverable, and
   ``step()`` raises it again;
4. one CVODE memory lives as long as the stepper; ``reinit`` restarts it from a new time
   and state (after an event or an input jump) without allocating; ``close()`` frees it.

The two methods (``lmm``): ``"bdf"`` (variable-order BDF 1-5 with Newton iterations on a
finite-difference dense Jacobian; stiff-safe, FMPy's choice) and ``"adams"`` (Adams-Moulton
1-12; cheaper on non-stiff models). Tolerances as CVODE defines them: the weighted RMS
norm of the local error with weights ``1/(rtol |y_i| + atol_i)``.
"""

from __future__ import annotations

import math
from ctypes import CFUNCTYPE, POINTER, byref, c_char_p, c_double, c_int, c_long, c_void_p

import numpy as np

from fmpy.sundials.cvode import CV_ADAMS, CV_BDF, CVode, CVodeCreate, CVodeFree
from fmpy.sundials.cvode_ls import CVodeSetLinearSolver
from fmpy.sundials.libraries import sundials_core, sundials_cvode
from fmpy.sundials.nvector_serial import N_VDestroy_Serial, N_VNew_Serial, NV_DATA_S, _N_VectorContent_Serial
from fmpy.sundials.sundials_context import SUNContext_Create, SUNContext_PushErrHandler
from fmpy.sundials.sundials_nvector import N_Vector, _generic_N_Vector
from fmpy.sundials.sundials_types import SUN_COMM_NULL, SUNContext, SUNErrHandlerFn
from fmpy.sundials.sunlinsol_dense import SUNLinSol_Dense
from fmpy.sundials.sunmatrix_dense import SUNDenseMatrix

__all__ = ["CVodeStepper", "METHODS"]

#: method name -> CVODE linear multistep method
METHODS = {"bdf": CV_BDF, "adams": CV_ADAMS}

_ONE_STEP, _TSTOP_RETURN = 2, 1  # CV_ONE_STEP, CV_TSTOP_RETURN (cvode.h)


def _bind(lib, name: str, argtypes, restype=c_int):
    """A function object of our own (``lib[name]`` is a new one; ``getattr`` would be the
    one FMPy's bindings configure, whose argtypes must stay as FMPy set them)."""
    fn = lib[name]
    fn.argtypes, fn.restype = argtypes, restype
    return fn


#: the right-hand side with the vectors as plain addresses (looked up in a cache, see _f)
_RhsFn = CFUNCTYPE(c_int, c_double, c_void_p, c_void_p, c_void_p)
_Init = _bind(sundials_cvode, "CVodeInit", [c_void_p, _RhsFn, c_double, N_Vector])
_SVtolerances = _bind(sundials_cvode, "CVodeSVtolerances", [c_void_p, c_double, N_Vector])
_ReInit = _bind(sundials_cvode, "CVodeReInit", [c_void_p, c_double, N_Vector])
_SetStopTime = _bind(sundials_cvode, "CVodeSetStopTime", [c_void_p, c_double])
_ClearStopTime = _bind(sundials_cvode, "CVodeClearStopTime", [c_void_p])
_SetMaxStep = _bind(sundials_cvode, "CVodeSetMaxStep", [c_void_p, c_double])
_SetMaxNumSteps = _bind(sundials_cvode, "CVodeSetMaxNumSteps", [c_void_p, c_long])
_GetDky = _bind(sundials_cvode, "CVodeGetDky", [c_void_p, c_double, c_int, N_Vector])
_GetLastStep = _bind(sundials_cvode, "CVodeGetLastStep", [c_void_p, POINTER(c_double)])
_GetReturnFlagName = _bind(sundials_cvode, "CVodeGetReturnFlagName", [c_int], c_char_p)
_LinSolFree = _bind(sundials_core, "SUNLinSolFree", [c_void_p])
_MatDestroy = _bind(sundials_core, "SUNMatDestroy", [c_void_p], None)
_ContextFree = _bind(sundials_core, "SUNContext_Free", [POINTER(SUNContext)])


class CVodeStepper:
    """CVODE on ``y' = f(t, y)`` stepped by the caller; see the module's contract."""

    def __init__(self, rhs, n: int, lmm: str, rtol: float, atol, max_step: float):
        self.n = n
        self._rhs = rhs
        self._error: BaseException | None = None
        self._message = ""
        self._ctx = SUNContext()
        self._check(SUNContext_Create(SUN_COMM_NULL, byref(self._ctx)), "SUNContext_Create")
        self._err_cb = SUNErrHandlerFn(self._on_error)
        SUNContext_PushErrHandler(self._ctx, self._err_cb, None)  # messages kept, not printed
        self._yv = N_VNew_Serial(n, self._ctx)
        self._dkyv = N_VNew_Serial(n, self._ctx)
        self._atolv = N_VNew_Serial(n, self._ctx)
        self._y = np.ctypeslib.as_array(NV_DATA_S(self._yv), (n,))
        self._dky = np.ctypeslib.as_array(NV_DATA_S(self._dkyv), (n,))
        self._atol = np.ctypeslib.as_array(NV_DATA_S(self._atolv), (n,))
        self._mem = CVodeCreate(METHODS[lmm], self._ctx)
        # N_Vector address -> its data pointer: CVODE allocates its vectors in CVodeInit and
        # CVodeSetLinearSolver and frees them only in CVodeFree, so an entry stays valid
        self._data: dict[int, object] = {}
        self._rhs_cb = _RhsFn(self._f)
        self._check(_Init(self._mem, self._rhs_cb, 0.0, self._yv), "CVodeInit")
        self._mat = SUNDenseMatrix(n, n, self._ctx)
        self._ls = SUNLinSol_Dense(self._yv, self._mat, self._ctx)
        self._check(CVodeSetLinearSolver(self._mem, self._ls, self._mat), "CVodeSetLinearSolver")
        if math.isfinite(max_step):
            self._check(_SetMaxStep(self._mem, max_step), "CVodeSetMaxStep")
        self._check(_SetMaxNumSteps(self._mem, 100_000), "CVodeSetMaxNumSteps")
        self.set_tolerances(rtol, atol)
        self._tret = c_double()
        self._h = c_double()
        self.t = 0.0
        self.t_old = 0.0
        self.t_bound = self._tout = math.inf
        self.status = "running"

    # -- callbacks from C: never raise through CVODE -------------------------------------
    def _pointer(self, address: int):
        """Data pointer of the serial N_Vector at ``address`` (CVODE passes the same few
        vectors again and again: read once)."""
        content = _generic_N_Vector.from_address(address).content
        self._data[address] = pointer = _N_VectorContent_Serial.from_address(content).data
        return pointer

    def _f(self, t, y, ydot, _user_data) -> int:
        try:
            data = self._data
            return self._rhs(t, data.get(y) or self._pointer(y), data.get(ydot) or self._pointer(ydot))
        except BaseException as exc:  # kept and raised by step(); CVODE gets "unrecoverable"
            self._error = exc
            return -1

    def _on_error(self, line, func, file, msg, err_code, user_data, ctx) -> None:
        self._message = (msg or b"").decode("utf-8", "replace")

    def _check(self, flag: int, name: str) -> None:
        if flag < 0:
            raise RuntimeError(f"{name} failed ({flag}): {self._message}")

    # -- the OdeSolver-like interface ---------------------------------------------------
    def set_tolerances(self, rtol: float, atol) -> None:
        self._atol[:] = atol
        self._check(_SVtolerances(self._mem, rtol, self._atolv), "CVodeSVtolerances")

    def reinit(self, t0: float, y0: np.ndarray, t_bound: float, t_hint: float) -> None:
        """Restart at ``(t0, y0)``, never stepping past ``t_bound`` (inf: no bound); CVODE
        estimates the first step, with ``t_hint`` (the next communication point) giving it
        the scale of the time axis."""
        self._y[:] = y0
        self._check(_ReInit(self._mem, t0, self._yv), "CVodeReInit")
        if math.isfinite(t_bound):
            self._check(_SetStopTime(self._mem, t_bound), "CVodeSetStopTime")
        else:
            _ClearStopTime(self._mem)
        self.t = self.t_old = t0
        self.t_bound = t_bound
        self._tout = min(t_bound, t_hint if t_hint > t0 else t0 + max(1.0, abs(t0)))
        self.status = "running" if t_bound > t0 else "finished"
        self._error = None

    @property
    def y(self) -> np.ndarray:
        return self._y

    @property
    def step_size(self) -> float | None:
        if _GetLastStep(self._mem, byref(self._h)) < 0 or self._h.value == 0.0:
            return None
        return abs(self._h.value)

    def step(self) -> str | None:
        """One internal step; returns None, or the failure's message (``status`` "failed")."""
        self.t_old = self.t
        flag = CVode(self._mem, self._tout, self._yv, byref(self._tret), _ONE_STEP)
        if self._error is not None:
            error, self._error = self._error, None
            self.status = "failed"
            raise error
        if flag < 0:
            self.status = "failed"
            name = (_GetReturnFlagName(flag) or b"").decode()
            return f"CVODE {name}: {self._message}"
        self.t = self._tret.value
        if flag == _TSTOP_RETURN or self.t >= self.t_bound:
            self.status = "finished"
        return None

    def dense_output(self):
        """``t -> y(t)`` inside the last step (CVODE's interpolating polynomial)."""
        def at(t: float) -> np.ndarray:
            self._check(_GetDky(self._mem, t, 0, self._dkyv), "CVodeGetDky")
            return self._dky.copy()
        return at

    def close(self) -> None:
        """Free CVODE's memory (idempotent)."""
        if self._mem is None:
            return
        CVodeFree(byref(c_void_p(self._mem)))
        _LinSolFree(self._ls)
        _MatDestroy(self._mat)
        for v in (self._yv, self._dkyv, self._atolv):
            N_VDestroy_Serial(v)
        _ContextFree(byref(self._ctx))
        self._mem = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the libraries may be gone
            pass
