"""The C cell kernel (``fmus/pack/src/``, loaded by ``cosim/pack/c_kernel.py``) against the
numba kernels of ``cosim/cell/spme_kernels.py``: the same inputs through prepare, evaluate
(with and without slope, with a guessed, a wrong and no start of the composite split),
anode_potential, commit, outputs and solve_strings (current and power mode), every output
compared, over a sequence of steps that each kernel advances from its own results.

Batches of 64 cells with spread (state of charge, electrode area, the pack's seeded spread of
capacity, thickness and resistance, temperatures from 253.15 K to 318 K), for the seed's
composite anode (``seed_bgraphite_sno2_lmo_gel``: the Newton split), Chen2020, and a variant
of the seed with asymmetric transfer coefficients and a tabulated entropic coefficient (the
iterative inverse Butler-Volmer, the general exchange-current powers, the reversible heat).

Measured on x86-64 (gcc 12.2 -O2 -ffp-contract=off, numba 0.60, glibc's libm for both):
every output agrees **bit for bit**: the largest difference is 0 in every compared array
(voltages, states, derivatives, heats, string currents, the curvature estimate), since the
C repeats the Python operations in order and calls the same libm. The tolerances leave room
for a libm or compiler that rounds some last bits differently. They come from a round-off
probe (two products in prepare and evaluate re-associated in the C, which changes nothing
but rounding): it gave at most 3e-15 relative in the voltages (~1e-14 V), 2e-14 in states,
currents and splits, 5e-13 in the derivatives of cells near cut-off, and 8e-11 in the
string solve's curvature estimate (a difference quotient of slopes, which only decides when
the Newton stops); hence 1e-11 relative to each array's largest magnitude, 1e-8 for the
curvature, and 1e-12 V absolute on voltages (the issue's bar is 1e-9 V). Should such
rounding ever flip a stopping decision of a Newton loop, the results would differ at that
loop's tolerance (1e-9 of the current) and this test would say so.

The test bites: each mutation of fmus/pack/src listed in ``_MUTATIONS_TRIED`` made it fail
(and was reverted); the round-off probe passed.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from cosim.cell import spme_kernels as kern
from cosim.cell.functions import (FUNCTIONS, Constant, PolynomialInC, Table, TanhStaircase, arrhenius_factor,
                                  electrolyte_spec, spec_of, value_slope)
from cosim.cell.parameter_set import available_parameter_sets, load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import spread

N = 64  # cells per batch (numba threads its loops from 64 on; the C is serial)
RTOL = 1e-11  # relative to the largest magnitude of each compared array (measured: 0)
CURVATURE_RTOL = 1e-8  # the string solve's curvature estimate, a difference quotient (measured: 0)
VTOL = 1e-12  # V, on terminal, open-circuit, pack and anode voltages (measured: 0)
WORST: dict[str, float] = {}  # largest relative difference seen per output (printed at the end)

_MUTATIONS_TRIED = """
Each made this test fail (failing tests in brackets), then was reverted:
1. cell_kernel.c evaluate_cell: dphi_s = +cur * (...) (wrong sign)  [step-by-step and string
   solve, every SPMe case]
2. cell_kernel.c split: the Newton residual sums over k0 + 1 .. k1 - 1 (off by one material)
   [every seed case]
3. cell_kernel.c prepare_cell: the Thomas forward sweep reads c_unit[m], not c_unit[m - 1]
   (off-by-one node)  [every SPMe case]
4. cell_kernel.c anode_cell: the log-mean over nn - 1 nodes (off by one)  [step-by-step SPMe]
5. cell_functions.c tanh staircase: the slope reads p[3 + k] (a step) for p[3 + n + k] (a
   drop)  [material functions, every seed case]
6. cell_kernel.c fill_strings: cells get the next string's current (off-by-one string)
   [every string solve]
7. cell_kernel.c outputs_cell: the next cell's temperature (off-by-one cell)  [step-by-step]
8. cell_kernel.c mixing: (u - u_prev) for (u_prev - u) (sign of the heat of mixing)
   [step-by-step, every case]
9. cell_kernel.c split: the caller's guess used on the second attempt instead of the first
   [every seed case]
10. cell_kernel.c solve_strings: the curvature estimate halved  [every string solve]
"""


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    """The C kernel, compiled for this session."""
    from cosim.pack.c_kernel import load

    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the C cell kernel (fmus/pack/src) but was not found on PATH",
                    pytrace=False)
    return load(tmp_path_factory.mktemp("c_kernel"))


def _same(c, n, what, vtol=None, rtol=RTOL):
    """C result ``c`` equals numba's ``n`` to the tolerance; NaN and inf where numba has them."""
    c, n = np.asarray(c, dtype=float), np.asarray(n, dtype=float)
    assert c.shape == n.shape, f"{what}: shape {c.shape} vs {n.shape}"
    assert np.array_equal(np.isnan(c), np.isnan(n)), f"{what}: NaN at {np.flatnonzero(np.isnan(c) != np.isnan(n))}"
    inf = np.isinf(n)
    assert np.array_equal(c[inf], n[inf]), f"{what}: inf differs"
    ok = np.isfinite(n)
    assert np.all(np.isfinite(c[ok])), f"{what}: C not finite where numba is"
    if not ok.any():
        return
    scale = float(np.max(np.abs(n[ok])))
    diff = np.abs(c[ok] - n[ok])
    worst = float(diff.max() / scale) if scale > 0 else float(diff.max())
    WORST[what] = max(WORST.get(what, 0.0), worst)
    tol = rtol * scale if vtol is None else vtol
    assert diff.max() <= tol, f"{what}: C and numba differ by {diff.max():.3g} (scale {scale:.3g})"


def _all_same(c, n, names, prefix, vtol_names=()):
    assert len(c) == len(n) == len(names)
    for a, b, name in zip(c, n, names):
        _same(a, b, f"{prefix}.{name}", VTOL if name in vtol_names else None)


PREP = ("E", "G", "s0", "s1", "k_eff", "kfac", "c_free", "c_unit")
EVAL = ("V", "dV", "j", "eta", "cs", "dphi", "terms", "dj", "deta", "dcs", "ddphi", "dterms")
OUT = ("ocv", "heat_reaction", "heat_ohmic", "heat_reversible", "heat_mixing", "soc", "anode_potential",
       "sto_surface", "sto_mean")


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


# -- material functions ----------------------------------------------------------------------


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


def test_material_functions_match(ck):
    import ctypes

    sto = np.concatenate([np.linspace(-0.1, 1.1, 1201), [0.0, 0.2, 0.5, 1.0, 0.998432, 0.133875, np.nan]])
    conc = np.concatenate([np.linspace(-50.0, 4000.0, 811), [0.0, 1000.0, np.nan]])
    v, s = ctypes.c_double(), ctypes.c_double()
    for name, (code, p) in _function_specs().items():
        p = np.ascontiguousarray(p, dtype=float)
        xs = conc if name.endswith(("kappa", "De")) or "nyman" in name or "kappa_ec" in name else sto
        got, want = np.empty((2, xs.size)), np.empty((2, xs.size))
        for q, x in enumerate(xs):
            ck.lib.ck_value_slope(int(code), p.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), float(x),
                                  ctypes.byref(v), ctypes.byref(s))
            got[:, q] = v.value, s.value
            want[:, q] = value_slope(int(code), p, float(x))
        _same(got[0], want[0], f"function {name} value")
        _same(got[1], want[1], f"function {name} slope")
    for E, T, T_ref in [(0.0, 300.0, 298.15), (2e4, 253.15, 298.15), (3.5e4, 318.0, 298.15)]:
        assert ck.lib.ck_arrhenius_factor(E, T, T_ref) == pytest.approx(arrhenius_factor(E, T, T_ref), rel=RTOL)


# -- prepare, evaluate, anode_potential, commit, outputs -----------------------------------

# (step s, C-rate of the mean cell, salt sub-steps): discharge, charge, rest, a long step, a
# pulse in sub-steps, and currents near and past cut-off (cell currents spread 0.5-1.5x):
# at 3C and 5C the emptiest cells of the seed have no split (NaN), Chen2020's SPM empties
# negative particle surfaces (V = -inf) and its SPMe runs out of salt in 35-39 of the 64
# cells (NaN); such steps are compared but not committed
STEPS = [(10.0, 1.0, 1), (10.0, -1.5, 1), (30.0, 0.0, 1), (60.0, 1.0, 1), (2.0, 2.0, 3), (10.0, 3.0, 1),
         (5.0, 5.0, 1), (1.0, -4.0, 1), (10.0, 0.5, 1)]


@pytest.mark.parametrize("Model", [SPM, SPMe], ids=["SPM", "SPMe"])
@pytest.mark.parametrize("name, variant", CASES, ids=["seed", "chen2020", "seed-asymmetric"])
def test_cell_kernels_match_step_by_step(ck, name, variant, Model):
    model, T = _batch(name, variant, Model)
    d = model.data
    M = d.c_max.shape[0]
    one_c = model._current_scale()
    shape = np.random.default_rng(5).uniform(0.5, 1.5, N)  # per-cell current spread
    z_n, c_n = model._z.copy(), model._c.copy()
    z_c, c_c = z_n.copy(), c_n.copy()
    no = np.zeros((M, N))
    hint = None  # (I, j, dj) of the last slope evaluation: where composite splits start
    failed = 0
    for h, rate, n_sub in STEPS:
        tag = f"{name}{'-' + variant if variant else ''}/{Model.name}"
        I = rate * one_c * shape
        pn = kern.prepare(d, h, T, z_n, c_n, False, n_sub)
        pc = ck.prepare(d, h, T, z_c, c_c, False, n_sub)
        _all_same(pc, pn, PREP, f"{tag} prepare")
        starts = [(no, False)]
        if hint is not None:
            starts.append((hint[1] + hint[2] * (I - hint[0]), True))  # the model's guess
            starts.append((hint[1] * 3.0 + 1.0, True))  # a poor guess: the split restarts
        for guess, has in starts:
            for slope in (False, True):
                en = kern.evaluate(d, pn, T, I, guess, has, slope, False)
                ec = ck.evaluate(d, pn, T, I, guess, has, slope)
                _all_same(ec, en, EVAL, f"{tag} evaluate", ("V",))
        an = kern.anode_potential(d, pn, T, I, en[5][0].copy(), en[10][0].copy(), True, False)
        ac = ck.anode_potential(d, pn, T, I, en[5][0], en[10][0], True)
        _all_same(ac, an, ("a", "da"), f"{tag} anode_potential", ("a",))
        an = kern.anode_potential(d, pn, T, I, en[5][0].copy(), en[5][0].copy(), False, False)
        ac = ck.anode_potential(d, pn, T, I, en[5][0], en[5][0], False)
        _all_same(ac, an, ("a", "da"), f"{tag} anode_potential", ("a",))
        if not np.all(np.isfinite(en[0])):  # past cut-off: some cells have no solution; not committed
            failed += 1
            continue
        hint = (I, en[2], en[7])
        # each kernel advances its own state from its own results
        kern.commit(pn, I, en[2], z_n, c_n)
        ck.commit(d, pc, I, ec[2], z_c, c_c)
        _same(z_c, z_n, f"{tag} commit.z")
        _same(c_c, c_n, f"{tag} commit.c")
        on = kern.outputs(d, T, I, en[2], en[3], en[4], en[5], en[6], z_n, c_n, False)
        oc = ck.outputs(d, T, I, ec[2], ec[3], ec[4], ec[5], ec[6], z_c, c_c)
        _all_same(oc, on, OUT, f"{tag} outputs", ("ocv", "anode_potential"))
    assert failed < len(STEPS) - 3  # most steps ran through


# -- solve_strings -----------------------------------------------------------------------------

S = 4  # strings of N / S cells


def _solve_both(ck, d, pn, pc, T, guess, has, I0, power_mode, demand, R_series, scale, curv_n, curv_c, tag):
    rn = kern.solve_strings(d, pn, T, guess, has, I0, power_mode, demand, R_series, scale, 40, curv_n, 10.0, False)
    rc = ck.solve_strings(d, pc, T, guess, has, I0, power_mode, demand, R_series, scale, 40, curv_c, 10.0)
    assert rc[0] == rn[0], f"{tag}: ok {rc[0]} vs {rn[0]}"
    _same(rc[1], rn[1], f"{tag} I_strings")
    _same(rc[2], rn[2], f"{tag} V_pack", VTOL * N / S)  # a sum of N / S cell voltages
    _same(rc[3], rn[3], f"{tag} I_cells")
    _same(curv_c, curv_n, f"{tag} curvature", rtol=CURVATURE_RTOL)
    _all_same(rc[4], rn[4], EVAL, f"{tag} out", ("V",))
    return rn, rc


@pytest.mark.parametrize("Model", [SPM, SPMe], ids=["SPM", "SPMe"])
@pytest.mark.parametrize("name, variant", CASES[:2], ids=["seed", "chen2020"])
def test_solve_strings_match(ck, name, variant, Model):
    model, T = _batch(name, variant, Model)
    d = model.data
    M = d.c_max.shape[0]
    one_c = float(np.mean(model._current_scale()))
    R_series = np.array([2e-3, 2.5e-3, 1.5e-3, 3e-3])
    z_n, c_n = model._z.copy(), model._c.copy()
    z_c, c_c = z_n.copy(), c_n.copy()
    curv_n, curv_c = np.full(S, np.nan), np.full(S, np.nan)
    no = np.zeros((M, N))
    hint = None
    tag = f"{name}/{Model.name} solve_strings"
    v_pack = None
    # (step s, mode, pack current A or pack power in C-rate x nominal power): discharge,
    # charge, rest, power discharge and charge, a power beyond the pack, a near-cut-off current
    steps = [(10.0, "current", 1.0), (10.0, "current", -1.5), (20.0, "current", 0.0), (10.0, "power", 1.0),
             (10.0, "power", -1.0), (5.0, "power", 1e4), (10.0, "current", 2.0), (10.0, "current", 3.0),
             (5.0, "power", 2.0)]
    results = []
    for h, mode, rate in steps:
        pn = kern.prepare(d, h, T, z_n, c_n, False, 1)
        pc = ck.prepare(d, h, T, z_c, c_c, False, 1)
        I0 = np.full(S, rate * one_c) if mode == "current" else np.full(S, np.sign(rate) * one_c)
        if v_pack is None:
            v_pack = float(np.sum(kern.evaluate(d, pn, T, np.zeros(N), no, False, False, False)[0])) / S
        demand = rate * one_c * S * (v_pack if mode == "power" else 1.0)
        scale = 1e-9 * max(abs(demand if mode == "current" else I0.sum()), one_c * S)
        guess, has = (no, False) if hint is None else (hint[1] + hint[2] * (np.repeat(I0, N // S) - hint[0]), True)
        rn, rc = _solve_both(ck, d, pn, pc, T, guess, has, I0, mode == "power", demand, R_series, scale,
                             curv_n, curv_c, f"{tag} {mode} {rate:g}")
        results.append(rn[0])
        if rn[0]:
            out_n, out_c = rn[4], rc[4]
            hint = (rn[3], out_n[2], out_n[7])
            kern.commit(pn, rn[3], out_n[2], z_n, c_n)
            ck.commit(d, pc, rc[3], out_c[2], z_c, c_c)
            _same(z_c, z_n, f"{tag} commit.z")
            _same(c_c, c_n, f"{tag} commit.c")
    assert results[:5] == [True] * 5 and results[5] is False  # the set points the pack can meet are met
    # one string at a given current: evaluated once, without slopes
    pn = kern.prepare(d, 10.0, T, z_n, c_n, False, 1)
    pc = ck.prepare(d, 10.0, T, z_c, c_c, False, 1)
    one_n, one_c_ = np.full(1, np.nan), np.full(1, np.nan)
    _solve_both(ck, d, pn, pc, T, no, False, np.array([one_c]), False, one_c, R_series[:1], 1e-9, one_n, one_c_,
                f"{tag} one string")


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


def test_a_drive_profile_through_the_string_solve(ck):
    """150 one-second steps of a drive-like power profile (traction bursts, regeneration,
    rests; the seed's SPMe, 2 strings of 32 cells): each kernel advances its own pack from its
    own solves, with the model's split guesses from step to step; no drift."""
    model, T = _batch("seed_bgraphite_sno2_lmo_gel", None, SPMe)
    d = model.data
    M = d.c_max.shape[0]
    S2 = 2
    one_c = float(np.mean(model._current_scale()))
    R_series = np.array([4e-3, 5e-3])
    z_n, c_n = model._z.copy(), model._c.copy()
    z_c, c_c = z_n.copy(), c_n.copy()
    curv_n, curv_c = np.full(S2, np.nan), np.full(S2, np.nan)
    rng = np.random.default_rng(3)
    v_string = 3.6 * N / S2
    power = np.repeat(rng.choice([-0.6, 0.0, 0.3, 0.8, 1.5, 2.0], 15), 10) * one_c * S2 * v_string
    hint, I_last, solved = None, np.zeros(S2), 0
    for P in power:
        pn = kern.prepare(d, 1.0, T, z_n, c_n, False, 1)
        pc = ck.prepare(d, 1.0, T, z_c, c_c, False, 1)
        I0 = I_last if np.any(I_last) else np.full(S2, np.sign(P) * one_c if P else 0.0)
        guess, has = (np.zeros((M, N)), False) if hint is None else (
            hint[1] + hint[2] * (np.repeat(I0, N // S2) - hint[0]), True)
        scale = 1e-9 * max(abs(float(I0.sum())), one_c * S2)
        rn, rc = _solve_both(ck, d, pn, pc, T, guess, has, I0, True, float(P), R_series, scale, curv_n, curv_c,
                             "drive profile")
        assert rn[0]
        solved += 1
        I_last = rn[1]
        hint = (rn[3], rn[4][2], rn[4][7])
        kern.commit(pn, rn[3], rn[4][2], z_n, c_n)
        ck.commit(d, pc, rc[3], rc[4][2], z_c, c_c)
    _same(z_c, z_n, "drive profile final z")
    _same(c_c, c_n, "drive profile final c")
    assert solved == power.size


@pytest.fixture(scope="module", autouse=True)
def _report():
    """Prints how far C and numba differed over the module (with pytest -s)."""
    yield
    if WORST:
        exact = sum(v == 0.0 for v in WORST.values())
        print(f"\nC vs numba: {exact} of {len(WORST)} compared outputs bit for bit; largest relative "
              f"difference {max(WORST.values()):.3g}")
        for key in sorted(WORST, key=WORST.get, reverse=True)[:5]:
            if WORST[key] > 0.0:
                print(f"  {key}: {WORST[key]:.3g}")


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


def test_a_whole_pack_run_on_the_c_kernels_gives_the_numba_run(tmp_path, monkeypatch):
    """The 192-cell pack with its thermal network (power pulses, 120 s) run twice, the
    cells once on numba's kernels and once on the C's (``cosim.cell.spme.KERNELS``): every
    recorded output agrees (measured: identical, all 0 differences), to the kernel test's
    1e-11 of each variable's scale."""
    from pathlib import Path

    import xarray as xr

    import cosim.cell.spme as spme
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "bipolar_pack_power_pulses.toml"
    short = tmp_path / "short.toml"
    short.write_text(f'extends = "{scenario.as_posix()}"\n[simulation]\nstop_time_s = 120\n')
    runs = {}
    for kernels in ("numba", "c"):
        monkeypatch.setattr(spme, "KERNELS", kernels)
        runs[kernels] = run_scenario(load_scenario(short), output=tmp_path / f"{kernels}.nc").path
    with xr.open_dataset(runs["numba"]) as a, xr.open_dataset(runs["c"]) as b:
        assert a.attrs["status"] == b.attrs["status"] == "complete"
        for name in a.data_vars:
            x, y = a[name].values, b[name].values
            if x.dtype.kind == "f":
                scale = max(float(np.nanmax(np.abs(x))), 1e-300)
                np.testing.assert_allclose(y, x, rtol=0, atol=1e-11 * scale, err_msg=name)
            else:
                np.testing.assert_array_equal(y, x, err_msg=name)
