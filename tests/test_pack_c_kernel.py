"""The C cell kernels (``fmus/pack/src/``, built and loaded by ``cosim/pack/c_kernel.py``) at
the level of the library: the build (the gcc-missing error, the Windows cross-compile), the
material functions' vectorised entry against the scalar one, the kernels' contracts that the
model relies on (an evaluation leaves its inputs alone and gives the same voltage with and
without its slope; the string solve meets its set point with one voltage per string), and
reentrancy (two batches stepped at once from Python threads).

The physics of the kernels is validated through the models that run on them:
``tests/test_cell_spme.py`` (PyBaMM reference curves, conservation of lithium, limits, the
exact dV/dI against finite differences, the composite split), ``tests/test_cell_energy.py``
(energy books, heat of mixing from the enthalpy tables), ``tests/test_cell_functions.py``
(the material functions against published values), ``tests/test_pack*.py`` (the assembled
battery and its string solve) and ``tests/test_pack_c_model.py`` (the pack FMU's C battery
against the Python pack). Until the numba copy was retired, the C also matched it bit for
bit on every output of every kernel.
"""

from __future__ import annotations

import ctypes
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cosim.cell import functions as fn
from cosim.cell.functions import FUNCTIONS, Constant, PolynomialInC, Table, TanhStaircase, electrolyte_spec, spec_of
from cosim.cell.parameter_set import available_parameter_sets, load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import spread
from cosim.pack.c_kernel import CKernelBuildError, build

N = 64  # cells per batch


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    """The C kernel, compiled for this session."""
    from cosim.pack.c_kernel import load

    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the C cell kernel (fmus/pack/src) but was not found on PATH",
                    pytrace=False)
    return load(tmp_path_factory.mktemp("c_kernel"))


# -- the build --------------------------------------------------------------------------------


def test_a_missing_gcc_is_a_clear_error(tmp_path, monkeypatch):
    """No gcc on PATH and nothing in the cache: CKernelBuildError says what to install."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(CKernelBuildError) as err:
        build(tmp_path / "cache")
    message = str(err.value)
    assert "gcc was not found" in message and "apt-get install gcc" in message and "mingw-w64" in message
    assert not (tmp_path / "cache").exists()


def test_a_run_without_gcc_stops_with_that_error(tmp_path):
    """``cosim run`` in a fresh install (an empty cache) on a machine without gcc: exit
    status 1 and the message, no traceback."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "run", "scenarios/small_pack_us06.toml", "-q",
                           "-o", str(tmp_path / "out.nc")], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 1, proc.stderr
    assert "apt-get install gcc" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_the_library_is_built_once_per_source_hash(tmp_path):
    """A second build finds the library; the stamp holds the hash of sources and flags."""
    lib = build(tmp_path)
    stamp = lib.with_name(lib.name + ".sha256")
    first = (lib.stat().st_mtime_ns, stamp.read_text())
    assert build(tmp_path) == lib and (lib.stat().st_mtime_ns, stamp.read_text()) == first


# -- batches ---------------------------------------------------------------------------------


def _asymmetric(params):
    """The seed with asymmetric transfer coefficients and a tabulated entropic coefficient."""
    table = Table([0.0, 0.3, 0.6, 1.0], [-2e-4, 1e-4, -5e-5, 3e-4])

    def el(e, aa, ac):
        mats = tuple(dataclasses.replace(m, alpha_a=aa, alpha_c=ac, entropic_V_K=table) for m in e.materials)
        return dataclasses.replace(e, materials=mats)

    return dataclasses.replace(params, negative=el(params.negative, 0.6, 0.4), positive=el(params.positive, 0.45, 0.55))


CASES = [("seed_bgraphite_sno2_lmo_gel", None), ("chen2020", None), ("seed_bgraphite_sno2_lmo_gel", "asymmetric")]


def _batch(name, variant, Model, n=N):
    """``n`` cells of set ``name`` with spread in SOC (3 % to 97 %), area (+-30 %), the pack's
    seeded capacity/thickness/resistance spread; and their temperatures (four cells at 253.15 K)."""
    rng = np.random.default_rng(7)
    soc = rng.uniform(0.03, 0.97, n)
    p = load_parameter_set(name).to_cell_params(n).at_soc(soc)
    p = dataclasses.replace(p, area_m2=np.broadcast_to(p.area_m2, (n,)) * rng.uniform(0.7, 1.3, n))
    p = spread.apply(p, spread.draw(n, seed=11, capacity_rel=0.03, thickness_rel=0.02, resistance_rel=0.05))
    if variant == "asymmetric":
        p = _asymmetric(p)
    model = Model(p)
    T = rng.uniform(268.15, 318.15, n)
    T[:4] = 253.15
    return model, T


def _function_specs():
    specs = {name: spec_of(fn) for name, fn in FUNCTIONS.items() if not isinstance(fn, type)}
    specs["constant"] = spec_of(Constant(0.7))
    specs["table"] = spec_of(Table([0.0, 0.2, 0.5, 1.0], [1.0, 0.4, 0.3, 0.1]))
    specs["polynomial"] = spec_of(PolynomialInC((0.1, 0.02, -3e-3, 1e-4), 1000.0, 100.0))
    specs["staircase"] = spec_of(TanhStaircase((0.9, 0.6, 0.45, 0.1), (0.1, 0.45, 0.8), 0.02))
    specs["unknown code"] = (99, np.zeros(1))  # NaN, NaN
    for name in available_parameter_sets():  # every function of every shipped set
        p = load_parameter_set(name).to_cell_params(1)
        for el in (p.negative, p.positive):
            for m in el.materials:
                specs[f"{name}.{m.name}.ocp"] = spec_of(m.ocp_V)
                specs[f"{name}.{m.name}.dUdT"] = spec_of(m.entropic_V_K)
        specs[f"{name}.kappa"] = electrolyte_spec(p.electrolyte.conductivity_S_m)[:2]
        specs[f"{name}.De"] = electrolyte_spec(p.electrolyte.diffusivity_m2_s)[:2]
    return specs


# -- material functions ----------------------------------------------------------------------


def test_the_vectorised_functions_give_the_scalar_ones(ck):
    """``ck_values`` (what ``functions.py`` calls over arrays, with and without slopes) gives
    ``ck_value_slope`` point by point, bit for bit, for every shipped function, the building
    blocks and an unknown code (NaN); NaN in, NaN out (but for a constant)."""
    sto = np.concatenate([np.linspace(-0.1, 1.1, 1201), [0.0, 0.2, 0.5, 1.0, 0.998432, 0.133875, np.nan]])
    conc = np.concatenate([np.linspace(-50.0, 4000.0, 811), [0.0, 1000.0, np.nan]])
    f8 = ctypes.POINTER(ctypes.c_double)
    v, s = ctypes.c_double(), ctypes.c_double()
    for name, (code, p) in _function_specs().items():
        p = np.ascontiguousarray(p, dtype=float)
        xs = conc if name.endswith(("kappa", "De")) or "nyman" in name or "kappa_ec" in name else sto
        want = np.empty((2, xs.size))
        for q, x in enumerate(xs):
            ck.lib.ck_value_slope(int(code), p.ctypes.data_as(f8), float(x), ctypes.byref(v), ctypes.byref(s))
            want[:, q] = v.value, s.value
        got = np.empty((2, xs.size))
        only = np.empty(xs.size)
        ck.lib.ck_values(int(code), p.ctypes.data_as(f8), xs.ctypes.data_as(f8), xs.size, got[0].ctypes.data_as(f8),
                         got[1].ctypes.data_as(f8))
        ck.lib.ck_values(int(code), p.ctypes.data_as(f8), xs.ctypes.data_as(f8), xs.size, only.ctypes.data_as(f8),
                         None)
        assert np.array_equal(got, want, equal_nan=True), name
        assert np.array_equal(only, want[0], equal_nan=True), name
        value, slope = fn.values_slopes((code, p), xs.reshape(-1, 1))
        assert value.shape == (xs.size, 1) and np.array_equal(value[:, 0], want[0], equal_nan=True), name
        assert np.array_equal(slope[:, 0], want[1], equal_nan=True), name
        if code != fn.CONSTANT:
            assert np.isnan(want[:, -1]).all(), name  # NaN in, NaN out
        if name == "unknown code":
            assert np.isnan(want).all()


def test_a_function_call_is_its_compiled_form(ck):
    """``__call__`` of the functions (numpy arrays of any shape) is the C over the array."""
    x = np.linspace(0.01, 0.99, 12).reshape(3, 4)
    for f in (fn.chen2020_graphite_ocp, fn.kim2011_nca_ocp, Table([0.0, 0.5, 1.0], [1.0, 0.2, 0.0]),
              TanhStaircase((1.0, 0.5), (0.5,))):
        assert np.array_equal(f(x), fn.values_slopes(spec_of(f), x)[0])
        assert fn.value_slope(*spec_of(f), 0.3) == tuple(float(a[0]) for a in fn.values_slopes(spec_of(f), [0.3]))
    kappa = fn.ElectrolyteArrhenius(fn.nyman2008_conductivity, 2e4)
    c, T = np.full(4, 1000.0), np.array([253.15, 273.15, 298.15, 318.15])
    base = fn.values_slopes(spec_of(fn.nyman2008_conductivity), c)[0]
    assert np.allclose(kappa(c, T), base * np.exp(2e4 / 8.314462618 * (1 / 298.15 - 1 / T)), rtol=1e-14)


# -- the kernels' contracts ------------------------------------------------------------------


@pytest.mark.parametrize("Model", [SPM, SPMe], ids=["SPM", "SPMe"])
@pytest.mark.parametrize("name, variant", CASES, ids=["seed", "chen2020", "seed-asymmetric"])
def test_an_evaluation_changes_nothing_and_its_slope_changes_no_value(ck, name, variant, Model):
    """evaluate leaves the state and the prepared step as they were, gives the same values
    with and without the slope (bit for bit) and from the guess or without one (to the
    split's tolerance); commit then advances the modes exactly as ``z = E z + G j``."""
    model, T = _batch(name, variant, Model)
    d = model.data
    z, c = model._z.copy(), model._c.copy()
    I = 1.5 * model._current_scale() * np.random.default_rng(5).uniform(0.5, 1.5, N)
    prep = ck.prepare(d, 10.0, T, z, c)
    kept = [a.copy() for a in (z, c, T, I, *prep)]
    plain = ck.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, False)
    slope = ck.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, True)
    guessed = ck.evaluate(d, prep, T, I, slope[2] * 1.01, True, False)
    for a, b in zip((z, c, T, I, *prep), kept):
        assert np.array_equal(a, b)
    assert np.all(np.isfinite(plain[0]))
    for k in (0, 2, 3, 4, 5, 6):  # V, j, eta, cs, dphi, terms (dV is zero without the slope)
        assert np.array_equal(plain[k], slope[k])
    assert not np.any(plain[1]) and np.all(slope[1] < 0)
    assert all(a.size == 0 for a in plain[7:]) and all(a.size for a in slope[7:])
    assert np.allclose(guessed[0], plain[0], rtol=0, atol=1e-9)
    ck.commit(d, prep, I, plain[2], z, c)
    assert np.array_equal(z, prep[0] * kept[0] + prep[1] * plain[2][:, :, None])
    assert np.array_equal(c, prep[6] + prep[7] * I[:, None])


@pytest.mark.parametrize("mode", ["current", "power"])
def test_the_string_solve_meets_its_set_point(ck, mode):
    """solve_strings (4 strings of 16 cells, each string its own series resistance): every
    string at one voltage, the string currents adding up to the pack current (or the pack
    power), each cell at its string's current; a set point beyond the pack is refused."""
    model, T = _batch("seed_bgraphite_sno2_lmo_gel", None, SPMe)
    d = model.data
    S = 4
    one_c = float(np.mean(model._current_scale()))
    R_series = np.array([2e-3, 2.5e-3, 1.5e-3, 3e-3])
    prep = ck.prepare(d, 10.0, T, model._z, model._c)
    no = np.zeros_like(prep[2])
    v_pack = float(np.sum(ck.evaluate(d, prep, T, np.zeros(N), no, False, False)[0])) / S  # at rest
    demand = one_c * S * (v_pack if mode == "power" else 1.0)  # 1C
    curvature = np.full(S, np.nan)
    ok, I, V_pack, Ic, out = ck.solve_strings(d, prep, T, no, False, np.full(S, one_c), mode == "power", demand,
                                              R_series, 1e-9 * one_c * S, 40, curvature, 10.0)
    assert ok
    assert np.array_equal(Ic, np.repeat(I, N // S))
    strings = out[0].reshape(S, N // S).sum(axis=1) - I * R_series
    assert np.allclose(strings, V_pack, rtol=0, atol=1e-9 * V_pack)
    assert np.ptp(I) > 1e-3 * one_c  # the strings differ
    total = I.sum() if mode == "current" else I.sum() * V_pack
    assert total == pytest.approx(demand, rel=1e-8)
    ok, *_ = ck.solve_strings(d, prep, T, no, False, np.full(S, one_c), mode == "power", demand * 1e4, R_series,
                              1e-9 * one_c * S, 40, np.full(S, np.nan), 10.0)
    assert not ok


def test_two_batches_at_once_from_threads(ck):
    """No global state: two batches stepped at the same time from two threads (ctypes
    releases the GIL during the calls) give what each gives alone."""
    import threading

    jobs = []
    for name in ("seed_bgraphite_sno2_lmo_gel", "chen2020"):
        model, T = _batch(name, None, SPMe)
        jobs.append((model.data, T, model._z.copy(), model._c.copy(), 2.0 * model._current_scale()))

    def run(d, T, z, c, I, kernel):
        z, c = z.copy(), c.copy()
        for _ in range(20):
            prep = kernel.prepare(d, 5.0, T, z, c)
            ev = kernel.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, True)
            kernel.commit(d, prep, I, ev[2], z, c)
        return z, c, ev

    alone = [run(*job, ck) for job in jobs]
    together = [None, None]

    def worker(k):
        together[k] = run(*jobs[k], ck)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        for x, y in zip(a[2], b[2]):
            assert np.array_equal(x, y, equal_nan=True)


# the DLLs every Windows x86-64 has (the C runtime mingw-w64 links by default, and the kernel)
WINDOWS_SYSTEM_DLLS = {"kernel32.dll", "msvcrt.dll"}


def test_the_kernel_cross_compiles_for_windows_and_imports_only_system_dlls(tmp_path):
    """The pack FMU must run in Windows hosts: the kernel builds with mingw-w64 under the same
    flags (-Werror) into a DLL that imports nothing but system DLLs and exports the API
    (``.ci/run`` installs the cross compiler from Debian's packages)."""
    import re
    import subprocess

    from cosim.pack.c_kernel import CFLAGS, SOURCE_DIR

    gcc, objdump = shutil.which("x86_64-w64-mingw32-gcc"), shutil.which("x86_64-w64-mingw32-objdump")
    assert gcc and objdump, "x86_64-w64-mingw32-gcc missing: apt-get install gcc-mingw-w64-x86-64 (.ci/run does)"
    dll = tmp_path / "cosim_cell.dll"
    flags = [f for f in CFLAGS if f != "-fPIC"]
    build = subprocess.run([gcc, *flags, f"-I{SOURCE_DIR}", "-o", str(dll), *map(str, sorted(SOURCE_DIR.glob("*.c"))),
                            "-lm"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    dump = subprocess.run([objdump, "-p", str(dll)], capture_output=True, text=True, check=True).stdout
    imported = {m.lower() for m in re.findall(r"DLL Name: (\S+)", dump)}
    assert imported and imported <= WINDOWS_SYSTEM_DLLS, imported
    header = (SOURCE_DIR / "cell_kernel.h").read_text()
    api = set(re.findall(r"\b(ck_\w+)\s*\(", header))
    exported = set(re.findall(r"\]\s+(ck_\w+)\s*$", dump, flags=re.MULTILINE))
    assert api and api <= exported, sorted(api - exported)
