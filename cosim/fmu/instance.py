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
import weakref
from ctypes import byref, c_bool, c_double, c_float, c_int, c_int8, c_int16, c_int32, c_int64, c_uint
from ctypes import c_uint8, c_uint16, c_uint32, c_uint64

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
        "Boolean": (c_int, "Boolean")},
    3: {"Float64": (c_double, "Float64"), "Float32": (c_float, "Float32"), "Int8": (c_int8, "Int8"),
        "UInt8": (c_uint8, "UInt8"), "Int16": (c_int16, "Int16"), "UInt16": (c_uint16, "UInt16"),
        "Int32": (c_int32, "Int32"), "UInt32": (c_uint32, "UInt32"), "Int64": (c_int64, "Int64"),
        "UInt64": (c_uint64, "UInt64"), "Enumeration": (c_int64, "Int64"), "Boolean": (c_bool, "Boolean")},
}


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
    after the other in ``buffer`` (FMI 3 arrays in row-major order)."""

    def __init__(self, instance: "FmuInstance", type_name: str, entries: list[tuple[str, int, tuple[int, ...]]]):
        ctype, suffix = _TYPES[instance.version][type_name]
        prefix = f"fmi{instance.version}"
        self._instance = instance
        self._get = instance.function(f"{prefix}Get{suffix}")
        self._set = instance.function(f"{prefix}Set{suffix}")
        self._get_name, self._set_name = f"{prefix}Get{suffix}", f"{prefix}Set{suffix}"
        sizes = [int(np.prod(shape)) for _, _, shape in entries]
        self.n_vr, self.n_values = len(entries), sum(sizes)
        self.vr = (c_uint * self.n_vr)(*[vr for _, vr, _ in entries])
        self.buffer = (ctype * self.n_values)()
        self.view = np.ctypeslib.as_array(self.buffer)
        self.scalars = all(not shape for _, _, shape in entries)
        self.ports = [port for port, _, _ in entries]
        offsets = np.cumsum([0] + sizes)
        self.slices = [(port, int(offsets[k]), int(offsets[k + 1]), shape)
                       for k, (port, _, shape) in enumerate(entries)]
        v3 = instance.version == 3
        self._args = (self.vr, self.n_vr, self.buffer, self.n_values) if v3 else (self.vr, self.n_vr, self.buffer)

    def write(self, values: dict) -> None:
        """Set the FMU's variables from ``values`` (port -> scalar or array)."""
        if self.scalars:
            buf = self.buffer
            for i, port in enumerate(self.ports):
                buf[i] = values[port]
        else:
            for port, a, b, _ in self.slices:
                self.view[a:b] = np.ravel(values[port])
        status = self._set(self._instance.handle, *self._args)
        if status > 1:
            self._instance.fail(self._set_name, status)

    def read(self, into: dict) -> None:
        """Get the FMU's variables into ``into`` (floats, or new float arrays)."""
        status = self._get(self._instance.handle, *self._args)
        if status > 1:
            self._instance.fail(self._get_name, status)
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
    def do_step(self, t: float, h: float, no_set_prior: bool) -> bool:
        """One communication step; returns True if the FMU asks to terminate (FMI 3)."""
        self.time = t
        if self.version == 2:
            status = self.fmu._functions["fmi2DoStep"](self.handle, t, h, int(no_set_prior))
            terminate = False
        else:
            if self._flags is None:
                self._flag_values = (c_bool(), c_bool(), c_bool(), c_double())
                self._flags = tuple(byref(v) for v in self._flag_values)
            status = self.fmu._functions["fmi3DoStep"](self.handle, t, h, bool(no_set_prior), *self._flags)
            terminate = self._flag_values[1].value
        if status == _DISCARD:
            raise FmuDiscard(f"fmi{self.version}DoStep")
        if status > 1:
            self.fail(f"fmi{self.version}DoStep", status)
        self.time = t + h
        return terminate

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
