"""One FMU instance (FMI 2.0 or 3.0, co-simulation or model exchange) behind uniform calls.

Built on fmpy's low-level classes (``FMU2Slave``, ``FMU2Model``, ``FMU3Slave``,
``FMU3Model``), whose loaded C functions are called directly on the hot path with value
buffers allocated once (:class:`ValueGroup`). Every FMI call's status is checked here:

* ``Discard`` from a step raises :class:`FmuDiscard` (the component turns it into a step
  rejection);
* ``Error``/``Fatal`` (or ``Discard`` elsewhere) raise :class:`FmuCallError` naming the
  FMU, the FMI function, the status and the FMU's latest log lines;
* ``Warning`` is accepted (the FMU's log says why).

The FMU's log messages go to the logger ``cosim.fmu.<instance>.<category>`` at the level
of their status (OK -> INFO, Warning/Discard -> WARNING, Error -> ERROR, Fatal ->
CRITICAL), and the last :data:`LOG_LINES` are kept for error messages.
"""

from __future__ import annotations

import collections
import itertools
import logging
import operator
import weakref
from ctypes import byref, c_bool, c_double, c_float, c_int, c_int8, c_int16, c_int32, c_int64, c_uint
from ctypes import c_char_p, c_uint8, c_uint16, c_uint32, c_uint64

import numpy as np

from ..errors import CosimError

__all__ = ["FmuCallError", "FmuDiscard", "FmuInstance", "ValueGroup", "fmi2_callbacks"]

#: log lines kept for error messages
LOG_LINES = 20
_STATUS = ["OK", "Warning", "Discard", "Error", "Fatal", "Pending"]
_LEVEL = [logging.INFO, logging.WARNING, logging.WARNING, logging.ERROR, logging.CRITICAL, logging.INFO]
_DISCARD = 2

# type name -> (ctypes type, function suffix)
_TYPES = {
    2: {"Real": (c_double, "Real"), "Integer": (c_int, "Integer"), "Enumeration": (c_int, "Integer"),
        "Boolean": (c_int, "Boolean"), "String": (c_char_p, "String")},
    3: {"Float64": (c_double, "Float64"), "Float32": (c_float, "Float32"), "Int8": (c_int8, "Int8"),
        "UInt8": (c_uint8, "UInt8"), "Int16": (c_int16, "Int16"), "UInt16": (c_uint16, "UInt16"),
        "Int32": (c_int32, "Int32"), "UInt32": (c_uint32, "UInt32"), "Int64": (c_int64, "Int64"),
        "UInt64": (c_uint64, "UInt64"), "Enumeration": (c_int64, "Int64"), "Boolean": (c_bool, "Boolean"),
        "String": (c_char_p, "String")},
}
# integer types -> (smallest, largest) value
_RANGES = {"Integer": (-2**31, 2**31 - 1), "Enumeration": (-2**31, 2**31 - 1), "Int8": (-2**7, 2**7 - 1),
           "UInt8": (0, 2**8 - 1), "Int16": (-2**15, 2**15 - 1), "UInt16": (0, 2**16 - 1),
           "Int32": (-2**31, 2**31 - 1), "UInt32": (0, 2**32 - 1), "Int64": (-2**63, 2**63 - 1),
           "UInt64": (0, 2**64 - 1)}


class FmuCallError(CosimError):
    """An FMI call returned Error or Fatal (or an unexpected Discard)."""

    def __init__(self, fmu: str, function: str, status: int, log: list[str], time: float | None = None):
        self.fmu, self.function, self.status, self.log = fmu, function, status, log
        label = _STATUS[status] if 0 <= status < len(_STATUS) else f"illegal status {status}"
        at = f" at t = {time:g} s" if time is not None else ""
        tail = ("; FMU log:\n    " + "\n    ".join(log)) if log else "; the FMU logged nothing"
        super().__init__(f"FMU {fmu}: {function} returned {label}{at}{tail}")


class FmuDiscard(Exception):
    """A step returned Discard."""


class ValueGroup:
    """Variables of one FMI type read or written together through buffers allocated once.

    ``entries`` are ``(port, value_reference, shape)``; the values of all entries sit one
    after the other in ``buffer`` (FMI 3 arrays in row-major order). Values are exchanged
    in the port's dtype (:data:`cosim.fmu.variables.PORT_DTYPES`): floats, exact Python ints
    (checked against the FMI type's range before they are written; a float is refused),
    bools, and str (UTF-8 at the FMU's boundary)."""

    def __init__(self, instance: "FmuInstance", type_name: str, entries: list[tuple[str, int, tuple[int, ...]]]):
        from .variables import PORT_DTYPES

        ctype, suffix = _TYPES[instance.version][type_name]
        self.type_name, self.dtype = type_name, PORT_DTYPES[type_name]
        self._range = _RANGES.get(type_name)
        prefix = f"fmi{instance.version}"
        self._instance = instance
        self._get = instance.function(f"{prefix}Get{suffix}")
        self._set = instance.function(f"{prefix}Set{suffix}")
        self._get_name, self._set_name = f"{prefix}Get{suffix}", f"{prefix}Set{suffix}"
        sizes = [int(np.prod(shape)) for _, _, shape in entries]
        self.n_vr, self.n_values = len(entries), sum(sizes)
        self.vr = (c_uint * self.n_vr)(*[vr for _, vr, _ in entries])
        self.buffer = (ctype * self.n_values)()
        self.view = np.ctypeslib.as_array(self.buffer) if self.dtype != "str" else None
        self.scalars = all(not shape for _, _, shape in entries)
        self.ports = [port for port, _, _ in entries]
        offsets = np.cumsum([0] + sizes)
        self.slices = [(port, int(offsets[k]), int(offsets[k + 1]), shape)
                       for k, (port, _, shape) in enumerate(entries)]
        v3 = instance.version == 3
        self._args = (self.vr, self.n_vr, self.buffer, self.n_values) if v3 else (self.vr, self.n_vr, self.buffer)

    def write(self, values: dict) -> None:
        """Set the FMU's variables from ``values`` (port -> scalar or array)."""
        if self.dtype == "float64":
            if self.scalars:
                buf = self.buffer
                for i, port in enumerate(self.ports):
                    buf[i] = values[port]
            else:
                for port, a, b, _ in self.slices:
                    self.view[a:b] = np.ravel(values[port])
        else:
            self._write_other(values)
        status = self._set(self._instance.handle, *self._args)
        if status > 1:
            self._instance.fail(self._set_name, status)

    def _write_other(self, values: dict) -> None:
        buf = self.buffer
        for port, a, b, shape in self.slices:
            value = values[port]
            if self.dtype == "str":
                if not isinstance(value, str):
                    self._refuse(port, value, "a str")
                buf[a] = value.encode("utf-8")
                continue
            if self.dtype == "bool":
                flat = np.ravel(value).tolist() if shape else [value]
                if not all(isinstance(v, (bool, np.bool_)) for v in flat):
                    self._refuse(port, value, "a bool")
                if shape:
                    self.view[a:b] = flat
                else:
                    buf[a] = bool(value)
                continue
            flat = np.ravel(value).tolist() if shape else [value]
            try:
                ints = [operator.index(v) for v in flat]
            except TypeError:
                self._refuse(port, value, "an integer")
            lo, hi = self._range
            if any(v < lo or v > hi for v in ints):
                bad = next(v for v in ints if v < lo or v > hi)
                raise CosimError(f"FMU {self._instance.label}: input {port!r} = {bad} is outside the range of "
                                 f"its FMI type {self.type_name} [{lo}, {hi}]")
            if shape:
                self.view[a:b] = ints
            else:
                buf[a] = ints[0]

    def _refuse(self, port: str, value, wanted: str):
        raise CosimError(f"FMU {self._instance.label}: input {port!r} ({self.type_name}) needs {wanted}, "
                         f"got {type(value).__name__} {value!r}")

    def read(self, into: dict) -> None:
        """Get the FMU's variables into ``into`` (scalars as Python float/int/bool/str, arrays as
        new numpy arrays of the port's dtype)."""
        status = self._get(self._instance.handle, *self._args)
        if status > 1:
            self._instance.fail(self._get_name, status)
        if self.dtype != "float64":
            if self.dtype == "str":
                for port, v in zip(self.ports, self.buffer[:]):
                    into[port] = (v or b"").decode("utf-8", "replace")
                return
            convert = bool if self.dtype == "bool" else int
            for port, a, b, shape in self.slices:
                into[port] = (self.view[a:b].astype(self.dtype).reshape(shape) if shape
                              else convert(self.buffer[a]))
            return
        if self.scalars:
            for port, v in zip(self.ports, self.buffer[:]):
                into[port] = float(v)
        else:
            for port, a, b, shape in self.slices:
                into[port] = self.view[a:b].astype(float).reshape(shape) if shape else float(self.view[a])


_fmi2_loggers: dict[int, object] = {}
_fmi2_proxy = None
_fmi2_keys = itertools.count(1)


def _fmi2_dispatch(env, instance_name, status, category, message) -> None:
    log = _fmi2_loggers.get(env or 0)
    if log is not None:
        log(status, category, message)
    else:  # an instance we no longer track (or one of somebody else's)
        name = (instance_name or b"?").decode("utf-8", "replace")
        level = _LEVEL[status] if 0 <= status < len(_LEVEL) else logging.ERROR
        logging.getLogger(f"cosim.fmu.{name}").log(level, "%s", (message or b"").decode("utf-8", "replace"))


def fmi2_callbacks(log):
    """FMI 2 callback functions whose logger calls ``log(status, category, message)``
    (bytes) with the message formatted.

    FMI 2's logger is variadic, which ctypes cannot receive; fmpy's ``addLoggerProxy``
    formats in C and forwards to ONE Python function for the whole process. That function is
    installed once here, never freed, and dispatches on ``componentEnvironment``, a key per
    callback struct. The caller keeps the struct alive as long as the instance (fmpy's
    ``instantiate`` does); the key is dropped with the struct."""
    from fmpy import fmi2

    global _fmi2_proxy
    if _fmi2_proxy is None:
        from fmpy import calloc, free
        from fmpy.logging import addLoggerProxy

        proxy = fmi2.fmi2CallbackFunctions()
        proxy.logger = fmi2.fmi2CallbackLoggerTYPE(_fmi2_dispatch)
        proxy.allocateMemory = fmi2.fmi2CallbackAllocateMemoryTYPE(calloc)
        proxy.freeMemory = fmi2.fmi2CallbackFreeMemoryTYPE(free)
        proxy._keep = proxy.logger  # the Python callback must outlive the process's FMUs
        addLoggerProxy(byref(proxy))
        _fmi2_proxy = proxy
    key = next(_fmi2_keys)
    cb = fmi2.fmi2CallbackFunctions()
    cb.logger, cb.allocateMemory, cb.freeMemory = _fmi2_proxy.logger, _fmi2_proxy.allocateMemory, _fmi2_proxy.freeMemory
    cb.componentEnvironment = key
    _fmi2_loggers[key] = log
    weakref.finalize(cb, _fmi2_loggers.pop, key, None)
    return cb


class FmuInstance:
    """An instantiated FMU; ``interface`` is ``"cs"`` or ``"me"``."""

    def __init__(self, md, folder: str, name: str, interface: str, *, label: str = "",
                 debug_logging: bool = False):
        from fmpy import fmi2, fmi3

        self.name, self.md, self.interface = name, md, interface
        self.label = label or name
        self._alive = False
        self.version = md.fmiMajorVersion
        self.log: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self.n_logged = 0
        self.n_warnings = 0  # messages logged with status Warning
        self.last_warning: tuple[float | None, str] | None = None  # (time, message)
        self.time: float | None = None
        kind = md.coSimulation if interface == "cs" else md.modelExchange
        common = dict(guid=md.guid, unzipDirectory=folder, modelIdentifier=kind.modelIdentifier, instanceName=name)
        if self.version == 2:
            cls = fmi2.FMU2Slave if interface == "cs" else fmi2.FMU2Model
            self.fmu = cls(**common)
            self._guarded(self.fmu.instantiate, "fmi2Instantiate", callbacks=fmi2_callbacks(self._log),
                          loggingOn=debug_logging)
        elif self.version == 3:
            cls = fmi3.FMU3Slave if interface == "cs" else fmi3.FMU3Model
            self.fmu = cls(**common)
            self._guarded(self.fmu.instantiate, "fmi3Instantiate", loggingOn=debug_logging,
                          logMessage=lambda env, status, cat, msg: self._log(status, cat, msg))
        else:
            raise FmuCallError(self.label, f"FMI {md.fmiVersion}", 3, ["only FMI 2.0 and 3.0 are supported"])
        self.handle = self.fmu.component
        self._alive = True
        self._flags = None

    # -- calls and logging -------------------------------------------------------------
    def _log(self, status: int, category: bytes | None, message: bytes | None) -> None:
        cat = (category or b"").decode("utf-8", "replace") or "log"
        text = (message or b"").decode("utf-8", "replace")
        label = _STATUS[status] if 0 <= status < len(_STATUS) else str(status)
        self.log.append(f"[{label}] {cat}: {text}")
        self.n_logged += 1
        if status == 1:
            self.n_warnings += 1
            self.last_warning = (self.time, text)
        level = _LEVEL[status] if 0 <= status < len(_LEVEL) else logging.ERROR
        logging.getLogger(f"cosim.fmu.{self.name}.{cat}").log(level, "%s", text)

    def function(self, fname: str):
        return self.fmu._functions[fname]

    def fail(self, function: str, status: int):
        if status == 4:  # Fatal: the FMU may not be called again, not even to free it
            self._alive = False
        raise FmuCallError(self.label, function, status, list(self.log), self.time)

    def call(self, fname: str, *args) -> int:
        """Call an FMI function on this instance; raise on Error/Fatal/Discard."""
        status = self.fmu._functions[fname](self.handle, *args)
        if status > 1:
            self.fail(fname, status)
        return status

    def _guarded(self, fn, fname: str, *args, **kwargs):
        """Call one of fmpy's convenience methods, turning its exceptions into ours."""
        from fmpy.fmi1 import FMICallException

        try:
            return fn(*args, **kwargs)
        except FMICallException as exc:
            if exc.status == _DISCARD and fname.endswith("DoStep"):
                raise FmuDiscard(fname) from None
            self.fail(exc.function, exc.status)
        except Exception as exc:  # noqa: BLE001 - fmpy raises plain Exception on instantiate
            self.log.append(str(exc))
            self.fail(fname, 3)

    # -- set-up ------------------------------------------------------------------------
    def set_start(self, var, value) -> None:
        """Set one variable before initialization (scalars, FMI 3 arrays, strings)."""
        values = np.ravel(np.asarray(value)).tolist() if not isinstance(value, str) else [value]
        vr = [var.valueReference]
        if var.type == "String":
            setter = self.fmu.setString
            values = [str(v) for v in values]
        else:
            suffix = _TYPES[self.version][var.type][1]
            setter = getattr(self.fmu, f"set{suffix}")
            if var.type == "Boolean":
                values = [bool(v) for v in values]
            elif var.type not in ("Real", "Float64", "Float32"):
                values = [int(v) for v in values]
        self._guarded(setter, f"fmi{self.version}Set", vr, values)

    def enter_initialization(self, t0: float, stop_s: float | None, tolerance: float | None) -> None:
        self.time = t0
        if self.version == 2:
            self._guarded(self.fmu.setupExperiment, "fmi2SetupExperiment", tolerance=tolerance,
                          startTime=t0, stopTime=stop_s)
            self._guarded(self.fmu.enterInitializationMode, "fmi2EnterInitializationMode")
        else:
            self._guarded(self.fmu.enterInitializationMode, "fmi3EnterInitializationMode",
                          tolerance=tolerance, startTime=t0, stopTime=stop_s)

    def exit_initialization(self) -> None:
        self._guarded(self.fmu.exitInitializationMode, f"fmi{self.version}ExitInitializationMode")

    # -- co-simulation -----------------------------------------------------------------
    def do_step(self, t: float, h: float, no_set_prior: bool) -> float | None:
        """One communication step. Returns None when the step completed, or the time at which
        the FMU ended the simulation (then no further step may be taken):

        * FMI 2: ``fmi2DoStep`` returned Discard and ``fmi2GetBooleanStatus(fmi2Terminated)``
          is true: the FMU ended at ``fmi2GetRealStatus(fmi2LastSuccessfulTime)``. Discard
          with ``fmi2Terminated`` false is a rejected step (:class:`FmuDiscard`).
        * FMI 3: ``terminateSimulation`` is true (status OK, Warning or Discard): the FMU ended
          at ``lastSuccessfulTime``. Discard without it is a rejected step. An early return
          (``earlyReturn`` without ``terminateSimulation``) is also treated as a rejected step:
          cosim instantiates with ``earlyReturnAllowed = false`` and has no event mode, so the
          simplest correct handling is to roll back and retry with shorter steps (the
          orchestrator halves the step; if the components cannot roll back the run stops
          with the message)."""
        self.time = t
        if self.version == 2:
            status = self.fmu._functions["fmi2DoStep"](self.handle, t, h, int(no_set_prior))
            if status == _DISCARD:
                if self._fmi2_terminated():
                    return self._fmi2_status_real()
                raise FmuDiscard("fmi2DoStep")
        else:
            if self._flags is None:
                self._flag_values = (c_bool(), c_bool(), c_bool(), c_double())
                self._flags = tuple(byref(v) for v in self._flag_values)
            status = self.fmu._functions["fmi3DoStep"](self.handle, t, h, bool(no_set_prior), *self._flags)
            _, terminate, early, last = (v.value for v in self._flag_values)
            if status <= _DISCARD and terminate:
                self.time = last
                return last
            if status == _DISCARD:
                raise FmuDiscard("fmi3DoStep")
            if status <= 1 and early:
                raise FmuDiscard(f"fmi3DoStep returned early at t = {last:g} s (earlyReturn without "
                                 f"terminateSimulation; the step is retried shorter)")
        if status > 1:
            self.fail(f"fmi{self.version}DoStep", status)
        self.time = t + h
        return None

    def _fmi2_terminated(self) -> bool:
        from fmpy.fmi2 import fmi2Boolean

        value = fmi2Boolean()
        status = self.fmu._functions["fmi2GetBooleanStatus"](self.handle, 3, byref(value))  # fmi2Terminated
        if status > 1:
            return False  # an FMU that cannot tell has not ended the simulation
        return bool(value.value)

    def _fmi2_status_real(self) -> float:
        value = c_double()
        status = self.fmu._functions["fmi2GetRealStatus"](self.handle, 2, byref(value))  # fmi2LastSuccessfulTime
        if status > 1:
            self.fail("fmi2GetRealStatus(fmi2LastSuccessfulTime)", status)
        self.time = value.value
        return value.value

    # -- FMU state ---------------------------------------------------------------------
    def get_state(self, serialize: bool):
        """A copy of the FMU's state: serialized bytes (when the FMU can serialize; they
        outlive the instance and cost nothing to keep), else a handle freed when dropped."""
        state = self._guarded(self.fmu.getFMUState, f"fmi{self.version}GetFMUState")
        if not serialize:
            return _StateHandle(self, state)
        try:
            return self._guarded(self.fmu.serializeFMUState, f"fmi{self.version}SerializeFMUState", state)
        finally:
            self.free_state(state)

    def set_state(self, saved) -> None:
        if isinstance(saved, _StateHandle):
            self._guarded(self.fmu.setFMUState, f"fmi{self.version}SetFMUState", saved.state)
            return
        state = self._guarded(self.fmu.deserializeFMUState, f"fmi{self.version}DeserializeFMUState", saved)
        try:
            self._guarded(self.fmu.setFMUState, f"fmi{self.version}SetFMUState", state)
        finally:
            self.free_state(state)

    def free_state(self, state) -> None:
        if self._alive:
            try:
                self.fmu.freeFMUState(state)
            except Exception:  # noqa: BLE001 - freeing must never raise
                pass

    # -- end -----------------------------------------------------------------------------
    def terminate(self, initialized: bool) -> None:
        """Terminate (if initialized) and free the instance, then unload the library."""
        if not self._alive:
            return
        self._alive = False
        try:
            if initialized:
                self.fmu.terminate()
        except Exception:  # noqa: BLE001 - an FMU that fails to terminate is still freed
            pass
        try:
            self.fmu.freeInstance()
        except Exception:  # noqa: BLE001
            pass


class _StateHandle:
    """An FMU state pointer, freed with its FMU when garbage-collected."""

    __slots__ = ("instance", "state")

    def __init__(self, instance: FmuInstance, state):
        self.instance, self.state = instance, state

    def __del__(self):
        self.instance.free_state(self.state)
