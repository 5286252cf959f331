"""The C cell kernels (``fmus/pack/src/``: the SPM/SPMe kernels and the material functions in
C99, the one implementation of the single particle models; also the cell core of the pack
FMU) built with gcc and called through ctypes.

:func:`build` compiles the sources once into a shared library in a cache folder (keyed by a
hash of the sources and the flags, so an edit rebuilds; a few seconds, once per install);
:func:`library` loads it once per process with the signatures declared (the material
functions of :mod:`cosim.cell.functions` and the enthalpy tables of
:mod:`cosim.cell.mixing_kernels` call it directly), and :class:`CKernel` wraps the kernels
for :class:`cosim.cell.spme.SPMe` (tuples of numpy arrays in, tuples out)::

    from cosim.pack.c_kernel import CKernel
    ck = CKernel()
    prep = ck.prepare(model.data, h, T, z, c)
    V, dV, j, ... = ck.evaluate(model.data, prep, T, I, guess, has_guess, slope)

The :class:`~cosim.cell.cell_data.CellData` of a batch is converted to the C struct
``CkCells`` once and kept while the same object is passed again, with the number of threads
its loops over the cells share (:func:`threads`: ``COSIM_THREADS``, or the cores available,
at most 2, used while :class:`_Tuner` measures that they pay; the library is built with
OpenMP where gcc has it, see ``cell_kernel.h``; the numbers are the same bit for bit
whatever the count). The C has no global state, so several batches may also run at once in
Python threads (ctypes releases the GIL during a call).
"""

from __future__ import annotations

import collections
import ctypes
import functools
import hashlib
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import CosimError

__all__ = ["SOURCE_DIR", "CFLAGS", "OPENMP_FLAGS", "THREADS_ENV", "CKernel", "CKernelBuildError", "build",
           "library", "load", "on_build", "threads", "available_cores"]

#: the C sources of the cell kernel
SOURCE_DIR = Path(__file__).resolve().parents[2] / "fmus" / "pack" / "src"
#: gcc flags: strict C99, every warning an error, no fused multiply-add (the same round-off on
#: every x86-64 build)
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-ffp-contract=off")
#: added for the in-process library (not on Windows, where Python would not find gcc's OpenMP
#: DLL, and dropped if gcc cannot build with them): the loops over the cells share threads
OPENMP_FLAGS = () if os.name == "nt" else ("-fopenmp",)
#: environment variable: threads of the loops over the cells (see :func:`threads`)
THREADS_ENV = "COSIM_THREADS"
LIBRARY = "cosim_cell.dll" if os.name == "nt" else "libcosim_cell.so"
#: called (no arguments) just before :func:`build` runs gcc; see :func:`on_build` (a run
#: prints :data:`cosim.progress.COMPILE_NOTE` then)
_BUILD_LISTENERS: list = []


class CKernelBuildError(CosimError):
    """The C cell kernels could not be built (gcc missing or failing)."""


@contextmanager
def on_build(callback):
    """While active, ``callback()`` is called each time :func:`build` is about to compile."""
    _BUILD_LISTENERS.append(callback)
    try:
        yield
    finally:
        _BUILD_LISTENERS.remove(callback)


_f8 = ctypes.POINTER(ctypes.c_double)
_i8 = ctypes.POINTER(ctypes.c_int64)
_I64 = ctypes.c_int64


class _Cells(ctypes.Structure):
    """``CkCells`` of ``cell_kernel.h`` (field order matters)."""

    _fields_ = ([(name, _I64) for name in ("N", "M", "n_r", "n", "P_ocp", "P_dUdT", "n_tab")]
                + [("mat_start", _I64 * 3), ("n_x", _I64 * 3), ("kappa_code", _I64), ("De_code", _I64),
                   ("ocp_code", _i8), ("dUdT_code", _i8)]
                + [(name, _f8) for name in (
                    "c_max", "a", "radius", "film", "rate", "D_ref", "cap", "sto0", "sto100", "alpha_a", "alpha_c",
                    "E_D", "E_k", "ocp_p", "dUdT_p", "area", "L", "sigma", "eff", "contact", "c_e0", "scalars",
                    "kappa_p", "De_p", "dx", "capacity", "tortuosity", "total", "lam", "b", "w_surf",
                    "w_mean", "phi", "face", "uH_table")]
                + [("n_threads", _I64)])


# kernels whose cell data were given more than one thread. GNU OpenMP cannot start threads in
# a child forked from a process whose OpenMP threads have run (the child hangs): in such a
# child every kernel runs serially (_serial_after_fork)
_THREADED: "weakref.WeakSet[CKernel]" = weakref.WeakSet()
_FORKED_SERIAL = [False]
#: threads were given outside a CKernel (the pack's C battery, cosim.pack.c_pack.CPack, which
#: checks _FORKED_SERIAL before each step)
_THREADED_ELSEWHERE = [False]


def _serial_after_fork() -> None:
    if _THREADED or _THREADED_ELSEWHERE[0]:
        _FORKED_SERIAL[0] = True
        for kernel in list(_THREADED):
            kernel._tuner = None
            cached = kernel._data
            if cached is not None:
                cached[1]._obj.n_threads = 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_serial_after_fork)


def threads() -> int:
    """Threads the loops over the cells of a batch share: ``$COSIM_THREADS`` if set (a whole
    number from 1 to 256), else the cores this process may run on, at most 2 (and then
    :class:`_Tuner` may use one, where the second does not pay); 1 in a child forked from a
    process whose kernels ran on threads (see ``_serial_after_fork``)."""
    return _thread_setting()[0]


def thread_note() -> str:
    """What the cell kernels' threads are, for benchmark printouts."""
    count, fixed = _thread_setting()
    if count == 1:
        return "cell kernels on 1 thread"
    how = f"{THREADS_ENV}={count}" if fixed else f"each model uses them while they pay ({THREADS_ENV} unset)"
    return f"cell kernels on up to {count} threads: {how}"


def _thread_setting() -> tuple[int, bool]:
    """:func:`threads`, and whether ``COSIM_THREADS`` fixes it."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= 256:
            raise CosimError(f"{THREADS_ENV}={value!r}: give a whole number of threads from 1 to 256")
        return (1 if _FORKED_SERIAL[0] else int(value)), True
    if _FORKED_SERIAL[0]:
        return 1, True
    return max(1, min(2, available_cores())), False


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Tuner:
    """Whether a kernel's loops use its threads (``most``) or one, by measurement: on a
    machine busy with other processes a second thread can cost more than it saves (a thread
    the system holds back makes the other wait for its cells). The probe is ck_prepare of a
    step (the same work every step), in blocks of ``BLOCK`` calls on one count: first a block
    on the threads and one on one thread, then of every ``PERIOD`` calls a block on the count
    not in use. The first call of a block is not counted: it wakes the threads (or leaves
    them idle) and finds cold caches, so a count that has just been switched to would always
    look slow (a tuner that counted it stayed on one thread in the flagship, measured). Each
    count keeps its last ``KEEP`` counted calls, and the threads are used while their median
    is below ``GAIN`` times the one thread's (a median: a call the system held back now and
    then, a tail of several times the typical call, must not decide; with moving averages the
    flagship's tuner chose one thread half of the time where two were 40 % faster). The numbers are the same bit for
    bit either way (``cell_kernel.h``)."""

    PERIOD, BLOCK, GAIN, KEEP = 64, 4, 0.9, 9

    def __init__(self, most: int):
        self.most = most
        self.use = most
        self.calls = 0
        self.seconds: dict[int, collections.deque] = {}  # count -> its last counted calls
        self._last: int | None = None  # the count of the last call

    def pick(self) -> int:
        """The count for this call."""
        k = self.calls
        if k < 2 * self.BLOCK:
            return self.most if k < self.BLOCK else 1
        if k % self.PERIOD < self.BLOCK:
            return 1 if self.use == self.most else self.most
        return self.use

    def record(self, count: int, seconds: float) -> None:
        """A call on ``count`` threads took ``seconds``."""
        self.calls += 1
        if count == self._last:  # not the first of a block
            self.seconds.setdefault(count, collections.deque(maxlen=self.KEEP)).append(seconds)
        self._last = count
        if len(self.seconds) == 2 and self.calls >= 2 * self.BLOCK:
            typical = {n: statistics.median(v) for n, v in self.seconds.items()}
            self.use = self.most if typical[self.most] < self.GAIN * typical[1] else 1


_PREP = ("E", "G", "s0", "s1", "k_eff", "kfac", "c_free", "c_unit")
_EVAL = ("V", "dV", "j", "eta", "cs", "dphi", "terms", "dj", "deta", "dcs", "ddphi", "dterms")
_OUT = ("ocv", "q_rxn", "q_ohm", "q_rev", "q_mix", "soc", "anode", "sto_surf", "sto_mean")


def _struct(names):
    # void pointers (the layout of ``double *``): filled from plain addresses, no ctypes casts
    return type("_S", (ctypes.Structure,), {"_fields_": [(n, ctypes.c_void_p) for n in names]})


_Prep, _Eval, _Out = _struct(_PREP), _struct(_EVAL), _struct(_OUT)
_F64 = np.dtype(np.float64)


def _f64(x) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype is _F64 and x.flags.c_contiguous:
        return x
    return np.ascontiguousarray(x, dtype=np.float64)


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(_f8)


def _addr(a: np.ndarray) -> int:
    """The address of the data of ``a`` (C-contiguous float64: see :func:`_f64`)."""
    return a.ctypes.data


@functools.lru_cache(maxsize=256)
def _layout(shapes: tuple) -> tuple[int, tuple[tuple[int, int, tuple], ...]]:
    """``(total size, ((start, stop, shape), ...))`` of arrays of ``shapes`` laid end to end."""
    parts, k = [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append((k, k + size, shape))
        k += size
    return k, tuple(parts)


def _block(shapes) -> tuple[tuple[np.ndarray, ...], list[int]]:
    """Fresh float64 arrays of ``shapes``, carved from one allocation (so one address is
    looked up, the others computed): ``(arrays, their addresses)``."""
    total, parts = _layout(tuple(shapes))
    base = np.empty(total)
    start = base.ctypes.data
    return (tuple([base[a:b].reshape(shape) for a, b, shape in parts]),
            [start + 8 * a for a, _, _ in parts])


class PrepArrays(tuple):
    """What :meth:`CKernel.prepare` returns: the tuple ``(E, G, s0, s1, k_eff, kfac, c_free,
    c_unit)`` with its C struct (``ref``) kept, so the calls of a step do not rebuild it."""

    ref = None


def _prep_ref(prep):
    ref = getattr(prep, "ref", None)
    if ref is not None:
        return ref
    arrays = tuple(map(_f64, prep))
    struct = _Prep(*map(_addr, arrays))
    struct.keep = arrays
    return ctypes.byref(struct)


def _sources() -> list[Path]:
    return sorted(SOURCE_DIR.glob("*.c"))


def build(out_dir: str | os.PathLike | None = None) -> Path:
    """Compile the sources into ``out_dir`` (default: a folder under ``$XDG_CACHE_HOME`` or
    ``~/.cache``, ``cosim/c_kernel/<hash>``) unless the library is there; returns its path.
    Raises CKernelBuildError if gcc is missing or fails."""
    files = _sources() + sorted(SOURCE_DIR.glob("*.h"))
    digest = hashlib.sha256(b"\0".join([" ".join(CFLAGS + OPENMP_FLAGS).encode()]
                                       + [f.read_bytes() for f in files])).hexdigest()[:16]
    if out_dir is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        out_dir = cache / "cosim" / "c_kernel" / digest
    out_dir = Path(out_dir)
    lib = out_dir / LIBRARY
    stamp = out_dir / (LIBRARY + ".sha256")
    if lib.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return lib
    gcc = shutil.which("gcc")
    if gcc is None:
        raise CKernelBuildError(
            "gcc was not found on PATH: cosim compiles its C cell kernels (fmus/pack/src) with gcc on first use. "
            "Install gcc (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc; Windows: a mingw-w64 gcc "
            "on PATH, e.g. from MSYS2 or WinLibs) and run again.")
    for listener in tuple(_BUILD_LISTENERS):
        listener()
    flags = [f for f in CFLAGS if not (os.name == "nt" and f == "-fPIC")]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{LIBRARY}.", dir=out_dir)
    except OSError as exc:
        raise CKernelBuildError(f"cannot write the C cell kernels into {out_dir} ({exc}); set XDG_CACHE_HOME to a "
                                "writable folder") from exc
    os.close(fd)
    try:
        command = [gcc, *flags, f"-I{SOURCE_DIR}", "-o", partial, *map(str, _sources()), "-lm"]
        proc = subprocess.run(command[:1] + list(OPENMP_FLAGS) + command[1:], capture_output=True, text=True)
        if proc.returncode != 0 and OPENMP_FLAGS:  # a gcc without OpenMP: serial loops
            proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CKernelBuildError(f"gcc failed to build the C cell kernel:\n{proc.stderr.strip()}")
        os.replace(partial, lib)
    finally:
        Path(partial).unlink(missing_ok=True)
    stamp.write_text(digest)
    return lib


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """``lib`` with the result and argument types of the API of ``cell_kernel.h`` declared."""
    P, I64, D, INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double, ctypes.c_int
    sig = {
        # the SPM/SPMe kernels: arrays as addresses (void pointers; see CKernel)
        "ck_prepare": (INT, [P, D, P, P, P, I64, P]),
        "ck_evaluate": (INT, [P, P, P, P, P, INT, INT, P]),
        "ck_commit": (None, [P, P, P, P, P, P]),
        "ck_outputs": (None, [P, P, P, P, P, P, P, P, P, P, P]),
        "ck_anode_potential": (None, [P, P, P, P, P, P, INT, P, P]),
        "ck_solve_strings": (INT, [P, P, P, P, INT, I64, P, INT, D, P, D, I64, P, D, P, P, P, P,
                                   ctypes.POINTER(INT)]),
        "ck_value_slope": (None, [I64, _f8, D, _f8, _f8]),
        "ck_values": (None, [I64, P, P, I64, P, P]),  # addresses (cosim.cell.functions._values)
        "ck_arrhenius_factor": (D, [D, D, D]),
        "ck_enthalpy_table": (None, [I64, _f8, I64, _f8, D, I64, D, D, _f8]),
        "ck_enthalpy_potentials": (None, [_f8, I64, I64, _f8, I64, _f8, D, _f8, I64, _f8]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


#: how long OpenMP's threads spin waiting for work before they sleep (GNU OpenMP's count,
#: unless the environment sets it or OMP_WAIT_POLICY; read when the OpenMP runtime loads):
#: its default (300,000) holds the second core through the Python between the kernels'
#: calls; sleeping at once costs a wake-up of the order of 0.1 ms per loop (measured: 256
#: cells, 1 s steps, 8-9.5 µs per cell-step with OMP_WAIT_POLICY=passive, 6.2-6.8 with
#: 10,000-30,000 spins, 9.5 on one thread; benchmarks/c_kernel.py compares the kernels)
SPIN_COUNT = "30000"


def _open(path) -> ctypes.CDLL:
    """The library at ``path``, its functions declared (OpenMP's wait: :data:`SPIN_COUNT`)."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return _declare(ctypes.CDLL(str(path)))


@functools.cache
def library() -> ctypes.CDLL:
    """The kernel library of this process (built by :func:`build` into the cache if needed),
    its functions declared."""
    return _open(build())


def load(out_dir: str | os.PathLike | None = None) -> "CKernel":
    """A :class:`CKernel` on the library built by :func:`build` into ``out_dir`` (default:
    the cache)."""
    return CKernel(build(out_dir))


class CKernel:
    """The SPM/SPMe kernels of the library at ``path`` (default: :func:`library`'s), with
    numpy arrays in and out. Each instance keeps the C struct of the last cell data it was
    given: one instance per model."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.lib = library() if path is None else _open(path)
        self.path = Path(self.lib._name)
        self._data = None  # (CellData, a reference to its struct) of the last call
        self._tuner: _Tuner | None = None  # chooses the threads of the last cell data, unless fixed

    # -- conversions ------------------------------------------------------------------------
    def cells(self, d) -> ctypes.Structure:
        """``CkCells`` of a :class:`~cosim.cell.cell_data.CellData` (cached for the last one)."""
        return self._cells_ref(d)._obj

    def _cells_ref(self, d):
        """``ctypes.byref`` of :meth:`cells` (cached for the last cell data)."""
        cached = self._data  # read once: another thread may replace it
        if cached is not None and cached[0] is d:
            return cached[1]
        M, N, nr = d.c_max.shape[0], d.c_max.shape[1], d.lam.shape[0]
        keep = {}

        def f(name):
            keep[name] = a = _f64(getattr(d, name))
            return _ptr(a)

        def i(name):
            keep[name] = a = np.ascontiguousarray(getattr(d, name), dtype=np.int64)
            return a.ctypes.data_as(_i8)

        s = _Cells(N=N, M=M, n_r=nr, n=d.dx.shape[1], P_ocp=d.ocp_p.shape[1], P_dUdT=d.dUdT_p.shape[1],
                   n_tab=d.uH_table.shape[1], mat_start=(_I64 * 3)(*map(int, d.mat_start)),
                   n_x=(_I64 * 3)(*map(int, d.n_x)), kappa_code=int(d.kappa_code), De_code=int(d.De_code),
                   ocp_code=i("ocp_code"), dUdT_code=i("dUdT_code"))
        count, fixed = _thread_setting()
        for name in (n for n, t in _Cells._fields_ if t is _f8):
            setattr(s, name, f(name))
        s.keep = keep  # the arrays live as long as the struct that points into them
        ref = ctypes.byref(s)
        self._data = (d, ref)
        self._tuner = _Tuner(count) if count > 1 and not fixed else None
        s.n_threads = count if self._tuner is None else self._tuner.use
        if count > 1:
            _THREADED.add(self)
        return ref

    # -- the kernels (what they compute: cell_kernel.h) ---------------------------------------
    # Arrays go to the C as addresses: inputs made C-contiguous float64 by _f64 (no copy when
    # they are), outputs fresh arrays carved from one allocation (_block).
    def prepare(self, d, h, T, z, c, n_sub=1):
        """Everything of a step of ``h`` s at temperatures ``T`` (N,) that does not depend on
        the current, from the particle modes ``z`` (M, N, n_r) and the salt ``c`` (N, n), the
        salt in ``n_sub`` backward-Euler sub-steps: ``(E, G, s0, s1, k_eff, kfac, c_free,
        c_unit)`` (a :class:`PrepArrays`)."""
        M, N, nr = z.shape
        n = c.shape[1]
        res, addresses = _block(((M, N, nr), (M, N, nr), (M, N), (M, N), (M, N), (N,), (N, n), (N, n)))
        struct = _Prep(*addresses)
        T, z, c = _f64(T), _f64(z), _f64(c)
        ref = ctypes.byref(struct)
        cells = self._cells_ref(d)
        tuner = self._tuner if n_sub == 1 else None  # a step's prepare: the same work every step
        if tuner is not None:
            count = cells._obj.n_threads = tuner.pick()
            start = time.perf_counter()
        failed = self.lib.ck_prepare(cells, float(h), _addr(T), _addr(z), _addr(c), int(n_sub), ref) != 0
        if tuner is not None:
            tuner.record(count, time.perf_counter() - start)
            cells._obj.n_threads = tuner.use
        if failed:
            raise MemoryError("ck_prepare")
        prep = PrepArrays(res)
        struct.keep = res
        prep.ref = ref
        return prep

    @staticmethod
    def _alloc(M, N):
        """The outputs of an evaluation, and the reference to their struct."""
        out, addresses = _block(((N,), (N,), (M, N), (M, N), (M, N), (2, N), (3, N), (M, N), (M, N), (M, N), (2, N),
                                 (3, N)))
        struct = _Eval(*addresses)
        return out, struct

    @staticmethod
    def _trim(out, slope):
        """Derivative arrays empty without ``slope``."""
        return out if slope else out[:7] + tuple(a[:, :0] for a in out[7:])

    def evaluate(self, d, prep, T, I, guess, has_guess, slope):
        """End-of-step terminal voltage ``V`` of every cell for currents ``I`` held over the
        step, and with ``slope`` its exact ``dV/dI``: ``(V, dV, j, eta, cs, dphi, terms, dj,
        deta, dcs, ddphi, dterms)`` with ``terms`` (3, N) = (eta_c, dphi_e, dphi_s) and, with
        ``slope``, the derivatives in ``I`` of j, eta, cs, dphi and terms (empty arrays
        without); composite splits start from ``guess`` (M, N) if ``has_guess``. NaN where no
        solution exists (a particle or the salt runs out)."""
        M, N = prep[2].shape
        out, struct = self._alloc(M, N)
        T, I, guess = _f64(T), _f64(I), _f64(guess)
        if self.lib.ck_evaluate(self._cells_ref(d), _prep_ref(prep), _addr(T), _addr(I), _addr(guess),
                                int(bool(has_guess)), int(bool(slope)), ctypes.byref(struct)) != 0:
            raise MemoryError("ck_evaluate")
        return self._trim(out, slope)

    def commit(self, d, prep, I, j, z, c):
        """Advances the modes ``z`` and the salt ``c`` (C-contiguous float64) in place over the
        prepared step with cell currents ``I`` and splits ``j``."""
        for a in (z, c):
            if not (a.dtype == np.float64 and a.flags.c_contiguous):
                raise ValueError("z and c must be C-contiguous float64 arrays (advanced in place)")
        I, j = _f64(I), _f64(j)
        self.lib.ck_commit(self._cells_ref(d), _prep_ref(prep), _addr(I), _addr(j), _addr(z), _addr(c))

    def outputs(self, d, T, I, j, eta, cs, dphi, terms, z, c):
        """Outputs after a committed step: ``(ocv, heat_reaction, heat_ohmic, heat_reversible,
        heat_mixing, soc, anode_potential, sto_surface, sto_mean)`` (the last two (M, N))."""
        M, N = j.shape
        res, addresses = _block(((N,),) * 7 + ((M, N), (M, N)))
        args = [_addr(_f64(x)) for x in (T, I, j, eta, cs, dphi, terms, z, c)]
        self.lib.ck_outputs(self._cells_ref(d), *args, ctypes.byref(_Out(*addresses)))
        return res

    def anode_potential(self, d, prep, T, I, dphi0, ddphi0, slope):
        """End-of-step negative electrode potential vs Li/Li+ at the separator for currents
        ``I`` from the negative's ``dphi0`` of :meth:`evaluate`, and with ``slope`` its exact
        derivative in ``I`` (from ``ddphi0``): ``(a, da)`` (``da`` zeros without)."""
        N = prep[5].shape[0]
        (a, da), (pa, pda) = _block(((N,), (N,)))
        args = [_addr(_f64(x)) for x in (T, I, dphi0, ddphi0)]
        self.lib.ck_anode_potential(self._cells_ref(d), _prep_ref(prep), *args, int(bool(slope)), pa, pda)
        return a, da

    def solve_strings(self, d, prep, T, guess, has_guess, I0, power_mode, demand, R_series, scale, max_iter,
                      curvature, safety):
        """The string solve of :meth:`cosim.pack.assembly.AssembledBattery._solve` in one call
        (Newton on the string currents ``I0``, for a pack current ``demand`` or, with
        ``power_mode``, a pack power): ``(ok, I_strings, V_pack, I_cells, out)`` with ``out``
        as :meth:`evaluate` returns it; ``curvature`` (C-contiguous float64) is updated in
        place."""
        M, N = prep[2].shape
        if not (curvature.dtype == np.float64 and curvature.flags.c_contiguous):
            raise ValueError("curvature must be a C-contiguous float64 array (updated in place)")
        T, guess, I0, R_series = map(_f64, (T, guess, I0, R_series))
        S = I0.shape[0]
        (I, Ic), (pI, pIc) = _block(((S,), (N,)))
        V_pack, slope = ctypes.c_double(), ctypes.c_int()
        out, struct = self._alloc(M, N)
        ok = self.lib.ck_solve_strings(
            self._cells_ref(d), _prep_ref(prep), _addr(T), _addr(guess), int(bool(has_guess)),
            S, _addr(I0), int(bool(power_mode)), float(demand), _addr(R_series), float(scale), int(max_iter),
            _addr(curvature), float(safety), pI, ctypes.byref(V_pack), pIc, ctypes.byref(struct),
            ctypes.byref(slope))
        if ok < 0:
            raise MemoryError("ck_solve_strings")
        return bool(ok), I, V_pack.value, Ic, self._trim(out, slope.value)
