"""The pack FMU's C battery (``fmus/pack/src/pack_model.h``) through ctypes, for the
cross-check against the Python pack (``tests/test_pack_c_model.py``) and benchmarks::

    from cosim.pack.export_data import export_pack
    from cosim.pack.c_pack import CPack
    exp = export_pack("scenarios/flagship_bev_wltc3b.toml")
    pack = CPack(exp.write(tmp / "pack.bin"))
    pack.initialize(0.0, coolant_T=298.15, ambient_T=298.15, coolant_h=1000.0)
    status, message = pack.do_step(0.0, 1.0, 5e3, 298.15, 298.15, 1000.0)
    pack.scalars()["voltage_V"], pack.layer("layer_voltage_V")

The library is the kernel's (:func:`cosim.pack.c_kernel.build`: every ``*.c`` of
``fmus/pack/src``). PM_ERROR raises :class:`CPackError` (the state is that before the call).

The in-process ``pack`` component runs its SPM/SPMe battery on an instance without a thermal
network (``engine`` in :class:`cosim.components.pack.PackConfig`): it sets the layer
temperatures before each step (:meth:`CPack.set_layer_temperature`), the kernels' loops use
threads as :class:`cosim.pack.c_kernel.CKernel`'s do (:meth:`CPack.use_threads`), and it
reads the outputs through :meth:`CPack.view` and :meth:`CPack.scalars_view` (no copies;
valid while the instance lives).
"""

from __future__ import annotations

import ctypes
import functools
import os
import time

import numpy as np

from ..errors import CosimError
from . import c_kernel

__all__ = ["CPack", "CPackError", "PM_OK", "PM_ENDED", "PM_ERROR", "SCALARS"]

PM_OK, PM_ENDED, PM_ERROR = 0, 1, 2
_MSG = 512

#: PmScalars' fields, in order (all doubles: :meth:`CPack.scalars_view`)
SCALARS = ("voltage_V", "current_A", "power_W", "soc", "min_layer_soc", "max_layer_soc", "heat_W",
           "min_layer_voltage_V", "mean_layer_voltage_V", "max_layer_voltage_V",
           "min_layer_temperature_K", "mean_layer_temperature_K", "max_layer_temperature_K",
           "min_anode_potential_V", "mean_anode_potential_V", "max_anode_potential_V",
           "available_discharge_power_W", "available_charge_power_W", "heat_to_coolant_W",
           "limited", "power_limit_W")


class CPackError(CosimError):
    """pm_load, pm_initialize or pm_do_step failed (PM_ERROR); the message is the C's."""


class _Inputs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_double) for n in ("setpoint", "coolant_temperature_K", "ambient_temperature_K",
                                               "coolant_h_W_m2K")]


_LAYER = {"layer_voltage_V": "pm_layer_voltage_V", "layer_temperature_K": "pm_layer_temperature_K",
          "layer_anode_potential_V": "pm_layer_anode_potential_V", "layer_soc": "pm_layer_soc",
          "layer_heat_W": "pm_layer_heat_W"}
_STACK = {"stack_voltage_V": "pm_stack_voltage_V", "stack_end_heat_W": "pm_stack_end_heat_W",
          "interconnect_heat_W": "pm_interconnect_heat_W"}


@functools.cache
def _library() -> ctypes.CDLL:
    """The kernel library of this process (:func:`cosim.pack.c_kernel.library`: built once,
    loaded once, OpenMP's wait set before it loads) with the pm_* functions declared."""
    lib = c_kernel.library()
    P, D, I64, S = ctypes.c_void_p, ctypes.c_double, ctypes.c_int64, ctypes.c_size_t
    f8 = ctypes.POINTER(ctypes.c_double)
    sig = {
        "pm_load": (P, [ctypes.c_char_p, ctypes.c_char_p, S]),
        "pm_free": (None, [P]),
        "pm_n_strings": (I64, [P]), "pm_n_stacks": (I64, [P]), "pm_n_layers": (I64, [P]),
        "pm_n_nodes": (I64, [P]), "pm_control": (ctypes.c_int, [P]), "pm_has_thermal": (ctypes.c_int, [P]),
        "pm_set_initial": (ctypes.c_int, [P, D, D, ctypes.c_char_p, S]),
        "pm_initialize": (ctypes.c_int, [P, D, ctypes.POINTER(_Inputs), ctypes.c_char_p, S]),
        "pm_do_step": (ctypes.c_int, [P, D, D, ctypes.POINTER(_Inputs), ctypes.c_char_p, S]),
        "pm_scalars": (P, [P]),
        "pm_string_current_A": (f8, [P]), "pm_node_temperature_K": (f8, [P]),
        "pm_state_size": (S, [P]), "pm_get_state": (None, [P, P]), "pm_set_state": (ctypes.c_int, [P, P]),
        "pm_set_layer_temperature": (ctypes.c_int, [P, P, ctypes.c_char_p, S]),
        "pm_set_threads": (None, [P, I64]), "pm_step_limited": (ctypes.c_int, [P]),
    }
    for name in list(_LAYER.values()) + list(_STACK.values()):
        sig[name] = (f8, [P])
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def array_outputs() -> tuple[str, ...]:
    """The names of the array outputs (:meth:`CPack.view`)."""
    return (*_LAYER, *_STACK, "string_current_A")


class CPack:
    """One instance of the C battery, loaded from a resource file (cosim.pack.export_data)."""

    def __init__(self, path: str | os.PathLike):
        self._lib = lib = _library()
        err = ctypes.create_string_buffer(_MSG)
        self._p = lib.pm_load(os.fsencode(os.fspath(path)), err, _MSG)
        if not self._p:
            raise CPackError(err.value.decode())
        self.shape = (lib.pm_n_strings(self._p), lib.pm_n_stacks(self._p), lib.pm_n_layers(self._p))
        self.n_cells = int(np.prod(self.shape))
        self.n_nodes = int(lib.pm_n_nodes(self._p))
        self.control = "power" if lib.pm_control(self._p) else "current"
        self.has_thermal = bool(lib.pm_has_thermal(self._p))
        self._msg = ctypes.create_string_buffer(_MSG)
        self._u = _Inputs(0.0, 298.15, 298.15, 1000.0)
        self._u_ref = ctypes.byref(self._u)
        self._threads, self._tuner = 1, None
        self._state_size = int(lib.pm_state_size(self._p))  # fixed by the file

    def use_threads(self) -> None:
        """The kernels' loops on :func:`cosim.pack.c_kernel.threads` threads from
        ``CK_PARALLEL_MIN_CELLS`` (64) cells on, while :class:`cosim.pack.c_kernel._Tuner`
        measures that they pay (its probe: the whole step; unless ``COSIM_THREADS`` fixes
        the count)."""
        count, fixed = c_kernel._thread_setting()
        if count < 2 or self.n_cells < 64:
            return
        c_kernel._THREADED_ELSEWHERE[0] = True  # a child forked after this steps serially
        self._tuner = None if fixed else c_kernel._Tuner(count)
        self._threads = count if fixed else self._tuner.use
        self._lib.pm_set_threads(self._p, self._threads)

    def _pick_threads(self) -> int:
        if c_kernel._FORKED_SERIAL[0]:  # a forked child: serial (see c_kernel._serial_after_fork)
            self._tuner = None
            count = 1
        else:
            count = self._tuner.pick() if self._tuner is not None else self._threads
        if count != self._threads:
            self._lib.pm_set_threads(self._p, count)
            self._threads = count
        return count

    def close(self) -> None:
        if self._p:
            self._lib.pm_free(self._p)
            self._p = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _check(self, status: int, msg) -> tuple[int, str]:
        text = msg.value.decode()
        if status == PM_ERROR:
            raise CPackError(text)
        return status, text

    def set_initial(self, initial_soc: float = -1.0, initial_temperature_K: float = 298.15) -> None:
        msg = ctypes.create_string_buffer(_MSG)
        self._check(self._lib.pm_set_initial(self._p, float(initial_soc), float(initial_temperature_K), msg, _MSG), msg)

    def initialize(self, t0: float = 0.0, coolant_T: float = 298.15, ambient_T: float = 298.15,
                   coolant_h: float = 1000.0) -> None:
        msg = ctypes.create_string_buffer(_MSG)
        u = _Inputs(0.0, coolant_T, ambient_T, coolant_h)
        self._check(self._lib.pm_initialize(self._p, float(t0), ctypes.byref(u), msg, _MSG), msg)

    def do_step(self, t: float, h: float, setpoint: float, coolant_T: float = 298.15, ambient_T: float = 298.15,
                coolant_h: float = 1000.0) -> tuple[int, str]:
        """One step; ``(PM_OK or PM_ENDED, message)``; raises CPackError on PM_ERROR."""
        u = self._u
        u.setpoint, u.coolant_temperature_K, u.ambient_temperature_K, u.coolant_h_W_m2K = (
            setpoint, coolant_T, ambient_T, coolant_h)
        count = self._pick_threads() if self._threads > 1 or self._tuner is not None else 1
        start = time.perf_counter()
        status = self._lib.pm_do_step(self._p, float(t), float(h), self._u_ref, self._msg, _MSG)
        if self._tuner is not None:
            self._tuner.record(count, time.perf_counter() - start)
        if status == PM_OK:
            return status, ""
        return self._check(status, self._msg)

    def set_layer_temperature(self, T_K: np.ndarray) -> None:
        """The layer temperatures (n_cells values, C order) of the next initialize or step
        (an instance without a thermal network)."""
        T = T_K if type(T_K) is np.ndarray and T_K.dtype == np.float64 and T_K.flags.c_contiguous else (
            np.ascontiguousarray(T_K, dtype=float))
        if T.size != self.n_cells:
            raise ValueError(f"{T.size} layer temperatures for {self.n_cells} unit cells")
        self._check(self._lib.pm_set_layer_temperature(self._p, c_kernel._addr(T), self._msg, _MSG), self._msg)

    def step_limited(self) -> bool:
        """Whether the last step cut its set point back at a limit itself."""
        return bool(self._lib.pm_step_limited(self._p))

    # -- outputs ------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        return dict(zip(SCALARS, self.scalars_view().tolist()))

    def scalars_view(self) -> np.ndarray:
        """The scalar outputs (:data:`SCALARS`, in order) as a view of the instance's memory."""
        return np.ctypeslib.as_array(ctypes.cast(self._lib.pm_scalars(self._p), ctypes.POINTER(ctypes.c_double)),
                                     shape=(len(SCALARS),))

    def view(self, name: str) -> np.ndarray:
        """An array output (``layer_*``: (strings, stacks, layers); ``stack_*`` and
        ``interconnect_heat_W``: (strings, stacks); ``string_current_A``) as a view of the
        instance's memory: it changes with every step (copy what must be kept)."""
        if name == "string_current_A":
            return np.ctypeslib.as_array(self._lib.pm_string_current_A(self._p), shape=(self.shape[0],))
        if name in _LAYER:
            ptr, shape = getattr(self._lib, _LAYER[name])(self._p), self.shape
        else:
            ptr, shape = getattr(self._lib, _STACK[name])(self._p), self.shape[:2]
        return np.ctypeslib.as_array(ptr, shape=(int(np.prod(shape)),)).reshape(shape)

    def layer(self, name: str) -> np.ndarray:
        """A per-unit-cell output (``layer_voltage_V`` ...) as (strings, stacks, layers)."""
        return self.view(name).copy()

    def stack(self, name: str) -> np.ndarray:
        """A per-stack output (``stack_voltage_V``, ``stack_end_heat_W``, ``interconnect_heat_W``)."""
        return self.view(name).copy()

    def string_current(self) -> np.ndarray:
        return self.view("string_current_A").copy()

    def node_temperature(self) -> np.ndarray | None:
        if not self.n_nodes:
            return None
        return np.ctypeslib.as_array(self._lib.pm_node_temperature_K(self._p), shape=(self.n_nodes,)).copy()

    def outputs(self) -> dict:
        """Every output: the scalars, the per-layer and per-stack arrays, the string currents."""
        out: dict = self.scalars()
        out.update({n: self.layer(n) for n in _LAYER})
        out.update({n: self.stack(n) for n in _STACK})
        out["string_current_A"] = self.string_current()
        return out

    # -- state --------------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        buf = np.empty(self._state_size)
        self._lib.pm_get_state(self._p, c_kernel._addr(buf))
        return buf

    def set_state(self, state: np.ndarray) -> None:
        state = np.ascontiguousarray(state, dtype=float)
        if state.size != self._state_size:
            raise ValueError(f"state of {state.size} values, the instance has {self._state_size}")
        self._lib.pm_set_state(self._p, c_kernel._addr(state))
