"""Compiled kernels of the single particle models (SPM, SPMe): one loop over the cells each
(:func:`prepare` and :func:`evaluate` run theirs in threads, one cell per iteration).

The physics is that of :mod:`cosim.cell.spme` (see its docstring); these kernels are its
only implementation. A step is split as :class:`~cosim.cell.base.CellModel` asks:

* :func:`prepare` (once per step, given the step ``h`` and the cell temperatures): the
  Arrhenius factors, the exact modal decay ``E`` and flux gain ``G`` of every particle
  (:mod:`cosim.cell.particle`: ``z_new = E z + G j``) with the affine end-of-step surface
  concentration ``c_surf = s0 + s1 j``, and the backward-Euler salt step
  (:mod:`cosim.cell.electrolyte1d`) solved per cell by the Thomas algorithm for two right-hand
  sides, so that the end-of-step salt is ``c_free + c_unit * I``;
* :func:`evaluate` (a few times per step): the end-of-step terminal voltage of every cell for
  a current held over the step, and, when asked, its exact derivative ``dV/dI``. It does
  not change the state. In an electrode with one active material the reaction current is
  known and the overpotential is the electrode average of the local inverse Butler-Volmer
  values; with several materials side by side the split of the current between them is
  solved per cell by Newton on ``(dphi, j_1..j_m)`` with the j's eliminated (the
  materials share ``dphi``; exact Jacobian, so convergence is quadratic: an update of
  ``dphi`` and of every ``j_k`` (as the overpotential it takes) below 1e-6 V leaves an
  error of ~1e-12 V). It starts from a guess (the caller's: the last evaluation moved
  along its slope ``dj/dI``) and, if that does not converge in a few iterations, from a
  split in proportion to ``a_k i0_k``;
* :func:`solve_strings` (once per step of an assembled battery): the pack's Newton on its
  string currents around :func:`evaluate`, in one call (see
  :meth:`cosim.pack.assembly.AssembledBattery._solve`);
* :func:`commit` (once): advance the particle modes and the salt with the chosen current;
* :func:`outputs`: heats, OCV, SOC, surface and mean stoichiometries, anode potential.

``dV/dI`` follows from differentiating every term: the salt is affine in ``I``; the
concentration overpotential and the electrolyte conductivity (through the cell-average
salt) by the chain rule; for one material the local overpotentials through ``j``, the
surface concentration and the local salt; for several the implicit function theorem on the
converged split (with the full exchange-current dependence).

Cell data live in :class:`CellData` (a named tuple of arrays, built by
:class:`~cosim.cell.spme.SPMe`): material arrays have a leading axis over the materials of
both electrodes (negative first, ``mat_start = [0, m_negative, m_total]``), material
functions are the compiled specs of :mod:`cosim.cell.functions`. Division by zero gives
inf/NaN as in numpy (``error_model="numpy"``); a cell without a solution gets a NaN voltage.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .kernel_cache import drop_stale

drop_stale()  # before any kernel is loaded from numba's cache: see kernel_cache

from .functions import arrhenius_factor, value_slope  # noqa: E402
from .mixing_kernels import mixing  # noqa: E402
from .params import F, R  # noqa: E402

_CLIP = 60.0  # bound on alpha F eta / (R T) inside exponentials
_SPLIT_TOL = 1e-6  # V: the Newton update (of dphi and every j_k) that ends the current split
_SPLIT_MAX_ITER = 60
_SPLIT_GUESSED_ITER = 12  # from a guess; then once more from the proportional split

_jit = njit(cache=True, error_model="numpy")
# the per-cell loops of the costly kernels run in threads (for batches of THREADS_MIN_CELLS
# cells and more: below, a thread pool's start-up costs more than it saves, and far more on
# a busy machine, so those loops run serially)
_pjit = njit(cache=True, error_model="numpy", parallel=True)
THREADS_MIN_CELLS = 64
# helpers are inlined into the kernels: a call that passes the CellData tuple would copy it
_inline = njit(cache=True, error_model="numpy", inline="always")


class CellData(NamedTuple):
    """Parameters of a batch of ``N`` cells with ``M`` active materials in all."""

    mat_start: np.ndarray  # (3,) int: materials of electrode e are mat_start[e]:mat_start[e + 1]
    c_max: np.ndarray  # (M, N) mol/m^3
    a: np.ndarray  # (M, N) surface area per volume 1/m
    radius: np.ndarray  # (M, N) m
    film: np.ndarray  # (M, N) film resistance Ohm m^2
    rate: np.ndarray  # (M, N) rate constant at T_ref
    D_ref: np.ndarray  # (M, N) solid diffusivity at T_ref
    cap: np.ndarray  # (M, N) eps_s c_max: lithium capacity per electrode volume
    sto0: np.ndarray  # (M, N) stoichiometry at 0 % SOC
    sto100: np.ndarray  # (M, N) stoichiometry at 100 % SOC
    alpha_a: np.ndarray  # (M,)
    alpha_c: np.ndarray  # (M,)
    E_D: np.ndarray  # (M,) activation of the diffusivity J/mol
    E_k: np.ndarray  # (M,) activation of the rate constant J/mol
    ocp_code: np.ndarray  # (M,) int
    ocp_p: np.ndarray  # (M, P)
    dUdT_code: np.ndarray  # (M,) int
    dUdT_p: np.ndarray  # (M, P)
    area: np.ndarray  # (N,) m^2
    L: np.ndarray  # (3, N) thicknesses: negative, separator, positive
    sigma: np.ndarray  # (2, N) effective solid conductivity of the electrodes
    eff: np.ndarray  # (3, N) porosity^bruggeman per region
    contact: np.ndarray  # (N,) Ohm
    c_e0: np.ndarray  # (N,) initial salt (the SPM's constant salt)
    scalars: np.ndarray  # [T_ref, chi = 2 (1 - t+) TDF, 1 - t+, kappa E, kappa T_ref, D_e E, D_e T_ref]
    kappa_code: int
    kappa_p: np.ndarray
    De_code: int
    De_p: np.ndarray
    n_x: np.ndarray  # (3,) int nodes per region; all zero for the SPM
    dx: np.ndarray  # (N, n) node widths
    capacity: np.ndarray  # (N, n) porosity * dx
    tortuosity: np.ndarray  # (N, n) porosity^bruggeman per node
    d_centres: np.ndarray  # (N, n - 1) distances between node centres
    total: np.ndarray  # (N,) cell thickness
    lam: np.ndarray  # (n_r,) eigenvalues of the unit-sphere operator
    b: np.ndarray  # (n_r,) modal weight of the surface flux
    w_surf: np.ndarray  # (n_r,) surface extrapolation in modal coordinates
    w_mean: np.ndarray  # (n_r,) volume average in modal coordinates
    phi: np.ndarray  # (n_r, n_r) shell concentrations from the modes: c = phi @ z
    face: np.ndarray  # (n_r - 1,) unit-sphere face areas / (4 pi) over the shell spacing
    uH_table: np.ndarray  # (M, n + 1, 2) enthalpy potential tables (:mod:`cosim.cell.mixing_kernels`)


# -- scalar pieces ---------------------------------------------------------------------------


@_inline
def _ocp(d, k, sto, dT):
    """U + dT dU/dT of material k at ``sto``, and its derivative in sto."""
    u, du = value_slope(d.ocp_code[k], d.ocp_p[k], sto)
    if dT != 0.0:
        s, ds = value_slope(d.dUdT_code[k], d.dUdT_p[k], sto)
        u += dT * s
        du += dT * ds
    return u, du


@_inline
def _i0_surface(k_eff, aa, ac, c_max, cs):
    """The surface factor of the exchange current, ``k (c_max - cs)^aa cs^ac``."""
    cs = min(max(cs, 0.0), c_max)
    if aa == 0.5 and ac == 0.5:
        return k_eff * math.sqrt((c_max - cs) * cs)
    return k_eff * (c_max - cs) ** aa * cs**ac


@_inline
def _i0_salt(aa, ce):
    """The salt factor of the exchange current, ``ce^aa``."""
    ce = max(ce, 0.0)
    return math.sqrt(ce) if aa == 0.5 else ce**aa


@_inline
def _i0(k_eff, aa, ac, c_max, ce, cs):
    """Exchange current density (zero at an empty or full surface or depleted salt)."""
    return _i0_surface(k_eff, aa, ac, c_max, cs) * _i0_salt(aa, ce)


@_inline
def _clip(x):
    return min(max(x, -_CLIP), _CLIP)


@_inline
def _asinh(x):
    """asinh through log1p (absolute error at round-off, a few times cheaper than libm's)."""
    a = abs(x)
    if a > 1e150:
        r = math.log(a) + math.log(2.0)
    else:
        r = math.log1p(a + a * a / (1.0 + math.sqrt(1.0 + a * a)))
    return r if x >= 0 else -r


@_inline
def _inverse_bv(j, i0, f, aa, ac):
    """Overpotential giving interfacial current ``j`` (closed form when aa == ac)."""
    if not i0 > 0.0:
        return 0.0 if j == 0.0 else math.copysign(math.inf, j)
    ratio = j / (2.0 * i0)
    if aa == ac:
        return _asinh(ratio) / (aa * f)
    eta = _asinh(ratio) / (0.5 * (aa + ac) * f)
    for _ in range(50):
        ea = math.exp(_clip(aa * f * eta))
        ec = math.exp(_clip(-ac * f * eta))
        step = (i0 * (ea - ec) - j) / (i0 * f * (aa * ea + ac * ec))
        eta -= step
        if abs(step) < 1e-13:
            break
    return eta


@_inline
def _deta(j, dj, i0, di0, eta, f, aa, ac):
    """Derivative of the overpotential of ``j = i0 BV(eta)`` for changes ``dj``, ``di0``."""
    if aa == ac:  # BV = 2 sinh(aa f eta): dBV/deta = 2 aa f cosh = 2 aa f sqrt(1 + (j / 2 i0)^2)
        r = j / (2.0 * i0)
        return (dj - di0 * j / i0) / (2.0 * aa * f * i0 * math.sqrt(1.0 + r * r))
    ea = math.exp(_clip(aa * f * eta))
    ec = math.exp(_clip(-ac * f * eta))
    return (dj - di0 * (ea - ec)) / (i0 * f * (aa * ea + ac * ec))


@_inline
def _dlni0(aa, ac, c_max, cs):
    """d ln(i0) / d c_surf."""
    return -aa / (c_max - cs) + ac / cs


# -- prepare ----------------------------------------------------------------------------------


@_jit
def prepare(d, h, T, z, c, threads, n_sub=1):
    """Everything of a step of ``h`` s at temperatures ``T`` that does not depend on the
    current: ``(E, G, s0, s1, k_eff, kfac, c_free, c_unit)``; ``z`` (M, N, n_r) are the
    particle modes (exact for a held current), ``c`` (N, n) the salt (backward Euler in
    ``n_sub`` equal sub-steps). The cells run in threads if ``threads``."""
    M, N, nr = z.shape
    n = c.shape[1]
    E = np.empty_like(z)
    G = np.empty_like(z)
    s0 = np.empty((M, N))
    s1 = np.empty((M, N))
    k_eff = np.empty((M, N))
    kfac = np.ones(N)
    c_free = np.empty((N, n))
    c_unit = np.empty((N, n))
    res = (E, G, s0, s1, k_eff, kfac, c_free, c_unit)
    if threads:
        _prepare_threads(d, h, T, z, c, res, n_sub)
    else:
        _prepare_serial(d, h, T, z, c, res, n_sub)
    return res


@_pjit
def _prepare_threads(d, h, T, z, c, res, n_sub):
    for i in prange(T.shape[0]):
        _prepare_cell(d, h, T, z, c, res, i, n_sub)


@_jit
def _prepare_serial(d, h, T, z, c, res, n_sub):
    for i in range(T.shape[0]):
        _prepare_cell(d, h, T, z, c, res, i, n_sub)


@_jit
def _prepare_cell(d, h, T, z, c, res, i, n_sub):
    """:func:`prepare` of cell ``i``, into the arrays ``res``."""
    E, G, s0, s1, k_eff, kfac, c_free, c_unit = res
    M, _, nr = z.shape
    T_ref = d.scalars[0]
    for k in range(M):
        k_eff[k, i] = d.rate[k, i] * arrhenius_factor(d.E_k[k], T[i], T_ref)
        D = d.D_ref[k, i] * arrhenius_factor(d.E_D[k], T[i], T_ref)
        rad = d.radius[k, i]
        tau = D * h / rad**2
        gain = -1.0 / (F * rad)
        a0, a1 = 0.0, 0.0
        for q in range(nr):
            x = d.lam[q] * tau
            e = math.exp(x)
            if x < -38.0:  # expm1(x) is -1 to the last bit
                p1 = -1.0 / x
            elif abs(x) < 1e-8:
                p1 = 1.0 + 0.5 * x
            else:
                p1 = math.expm1(x) / x
            gq = (h * p1 * d.b[q]) * gain
            E[k, i, q] = e
            G[k, i, q] = gq
            a0 += e * z[k, i, q] * d.w_surf[q]
            a1 += gq * d.w_surf[q]
        s0[k, i] = a0
        s1[k, i] = a1
    n = c.shape[1]
    if n == 0:
        return
    tp1 = d.scalars[2]
    nn, ns = d.n_x[0], d.n_x[1]
    kk = np.empty(n)
    g = np.empty(n)
    cp = np.empty(n)
    kfac[i] = arrhenius_factor(d.scalars[3], T[i], d.scalars[4])
    fD = arrhenius_factor(d.scalars[5], T[i], d.scalars[6])
    for m in range(n):
        kk[m] = d.tortuosity[i, m] * (value_slope(d.De_code, d.De_p, c[i, m])[0] * fD)
    for m in range(n - 1):
        g[m] = 0.5 * (kk[m + 1] + kk[m]) / d.d_centres[i, m]
    src_n = tp1 / (F * d.area[i] * d.L[0, i])
    src_p = -tp1 / (F * d.area[i] * d.L[2, i])
    # backward Euler in n_sub sub-steps of the same matrix: the end state stays affine in the
    # current, c_end = c_free + I c_unit. Thomas algorithm (no pivoting: the matrix is
    # diagonally dominant): eliminate once, then substitute for both right-hand sides per sub-step
    hs = h / n_sub
    piv = np.empty(n)
    prev_c = 0.0
    for m in range(n):
        main = d.capacity[i, m] / hs
        if m < n - 1:
            main += g[m]
        if m > 0:
            main += g[m - 1]
            main += g[m - 1] * prev_c
        piv[m] = main
        prev_c = (-g[m] if m < n - 1 else 0.0) / main
        cp[m] = prev_c
    for m in range(n):
        c_free[i, m] = c[i, m]
        c_unit[i, m] = 0.0
    for _ in range(n_sub):
        for m in range(n):
            src = src_n if m < nn else (0.0 if m < nn + ns else src_p)
            r0 = d.capacity[i, m] / hs * c_free[i, m]
            r1 = d.capacity[i, m] / hs * c_unit[i, m] + src * d.dx[i, m]
            if m > 0:
                r0 += g[m - 1] * c_free[i, m - 1]
                r1 += g[m - 1] * c_unit[i, m - 1]
            c_free[i, m] = r0 / piv[m]
            c_unit[i, m] = r1 / piv[m]
        for m in range(n - 2, -1, -1):
            c_free[i, m] -= cp[m] * c_free[i, m + 1]
            c_unit[i, m] -= cp[m] * c_unit[i, m + 1]


# -- evaluate ---------------------------------------------------------------------------------


@_inline
def _split(d, i, k0, k1, i_vol, di_vol, ce, dce, T, f, s0, s1, k_eff, guess, has_guess, j, eta, cs, w, slope):
    """Share ``i_vol`` between the materials k0..k1-1 of an electrode of cell i (the current
    split; writes j, eta, cs; ``w`` (4, M) is scratch); returns ``(dphi, d dphi / dI)``, NaN
    without a solution. On return ``w[0, k] + w[1, k] * d dphi`` is ``dj_k`` (with
    ``slope``)."""
    dT = T - d.scalars[0]
    update = math.nan
    dphi = math.nan
    # from the guess if there is one (a few iterations), else (or if that fails) from a split
    # in proportion to a_k i0_k at the present surface state
    for attempt in range(2 if has_guess else 1):
        if attempt == 0 and has_guess:
            for k in range(k0, k1):
                j[k, i] = guess[k, i]
        else:
            total = 0.0
            for k in range(k0, k1):
                cm = d.c_max[k, i]
                v = _i0(k_eff[k, i], d.alpha_a[k], d.alpha_c[k], cm, ce, min(max(s0[k, i], 1e-9 * cm), (1 - 1e-9) * cm))
                w[0, k] = 1e-30 if v != v else v
                total += d.a[k, i] * w[0, k]
            for k in range(k0, k1):
                j[k, i] = i_vol * w[0, k] / total
        for k in range(k0, k1):
            cs[k, i] = s0[k, i] + s1[k, i] * j[k, i]
        k = k0
        i0 = _i0(k_eff[k, i], d.alpha_a[k], d.alpha_c[k], d.c_max[k, i], ce, cs[k, i])
        dphi = (_ocp(d, k, cs[k, i] / d.c_max[k, i], dT)[0] + _inverse_bv(j[k, i], i0, f, d.alpha_a[k], d.alpha_c[k])
                + d.film[k, i] * j[k, i])
        for _ in range(_SPLIT_GUESSED_ITER if attempt == 0 and has_guess else _SPLIT_MAX_ITER):
            num = i_vol
            for k in range(k0, k1):
                num -= d.a[k, i] * j[k, i]
            den = 0.0
            for k in range(k0, k1):
                cm, aa, ac, rf = d.c_max[k, i], d.alpha_a[k], d.alpha_c[k], d.film[k, i]
                i0 = _i0(k_eff[k, i], aa, ac, cm, ce, cs[k, i])
                U, dU = _ocp(d, k, cs[k, i] / cm, dT)
                e = dphi - U - rf * j[k, i]
                ea = math.exp(_clip(aa * f * e))
                ec = math.exp(_clip(-ac * f * e))
                kk = i0 * f * (aa * ea + ac * ec)  # dj/deta
                rk = j[k, i] - i0 * (ea - ec)
                # dr_k/dj_k, with the exchange current's dependence on the surface concentration
                jkk = 1.0 + kk * (dU / cm * s1[k, i] + rf) - i0 * _dlni0(aa, ac, cm, cs[k, i]) * s1[k, i] * (ea - ec)
                w[0, k] = -rk / jkk  # dj_k at fixed dphi
                w[1, k] = kk / jkk  # dj_k / d dphi
                w[2, k] = U
                w[3, k] = dU / cm
                num -= d.a[k, i] * w[0, k]
                den += d.a[k, i] * w[1, k]
            step = num / den
            if step == step:
                step = min(max(step, -0.2), 0.2)
            dphi += step
            update = abs(step)  # the update in volts: of dphi, and of each j_k as the overpotential it takes
            for k in range(k0, k1):
                dj = w[0, k] + w[1, k] * step
                j[k, i] += dj
                cs[k, i] += s1[k, i] * dj
                w[2, k] += w[3, k] * s1[k, i] * dj  # U at the new surface state (to second order)
                if w[1, k] != 0.0:
                    update = max(update, abs(dj / w[1, k]))
            if not update >= _SPLIT_TOL:
                break
        if update < _SPLIT_TOL:
            break
    total, scale = 0.0, abs(i_vol)
    for k in range(k0, k1):
        eta[k, i] = dphi - w[2, k] - d.film[k, i] * j[k, i]
        total += d.a[k, i] * j[k, i]
        scale += abs(d.a[k, i] * j[k, i])
    if not (math.isfinite(dphi) and update < _SPLIT_TOL) or abs(total - i_vol) > 1e-8 * scale:
        return math.nan, math.nan
    if not slope:
        return dphi, 0.0
    # implicit derivative: dj_k = (P_k B_k dce + K_k d dphi) / D_k with sum a_k dj_k = d i_vol
    num, den = di_vol, 0.0
    for k in range(k0, k1):
        cm, aa, ac, rf = d.c_max[k, i], d.alpha_a[k], d.alpha_c[k], d.film[k, i]
        i0 = _i0(k_eff[k, i], aa, ac, cm, ce, cs[k, i])
        dU = _ocp(d, k, cs[k, i] / cm, dT)[1] / cm
        w[3, k] = dU
        ea = math.exp(_clip(aa * f * eta[k, i]))
        ec = math.exp(_clip(-ac * f * eta[k, i]))
        B = ea - ec
        K = i0 * f * (aa * ea + ac * ec)
        Dk = 1.0 + K * (dU * s1[k, i] + rf) - i0 * _dlni0(aa, ac, cm, cs[k, i]) * s1[k, i] * B
        w[0, k] = (i0 * aa / ce * dce * B) / Dk if dce != 0.0 else 0.0
        w[1, k] = K / Dk
        num -= d.a[k, i] * w[0, k]
        den += d.a[k, i] * w[1, k]
    ddphi = num / den
    return dphi, ddphi


@_jit
def evaluate(d, prep, T, I, guess, has_guess, slope, threads):
    """End-of-step terminal voltage ``V`` of every cell for currents ``I`` held over the
    step at temperatures ``T``, and ``dV/dI`` if ``slope``; returns ``(V, dV, j, eta, cs,
    dphi, terms, dj, deta, dcs, ddphi, dterms)`` with ``terms`` (3, N) = (eta_c, dphi_e,
    dphi_s) and, with ``slope``, the derivatives in ``I`` of j, eta, cs, dphi and terms
    (empty arrays without). NaN where no solution exists (a particle or the salt runs out)."""
    out = _alloc(prep[2].shape[0], I.shape[0], slope)
    _evaluate_into(d, prep, T, I, guess, has_guess, slope, threads, out)
    return out


@_jit
def _alloc(M, N, slope):
    """Result arrays of :func:`evaluate` (derivatives empty without ``slope``)."""
    Nd = N if slope else 0
    return (np.empty(N), np.zeros(N), np.zeros((M, N)), np.zeros((M, N)), np.zeros((M, N)), np.zeros((2, N)),
            np.zeros((3, N)), np.zeros((M, Nd)), np.zeros((M, Nd)), np.zeros((M, Nd)), np.zeros((2, Nd)),
            np.zeros((3, Nd)))


@_jit
def _evaluate_into(d, prep, T, I, guess, has_guess, slope, threads, out):
    """:func:`evaluate` into the arrays ``out`` (as :func:`_alloc` makes them), the cells in
    threads if ``threads``."""
    if threads:
        _evaluate_threads(d, prep, T, I, guess, has_guess, slope, out)
    else:
        _evaluate_serial(d, prep, T, I, guess, has_guess, slope, out)


@_pjit
def _evaluate_threads(d, prep, T, I, guess, has_guess, slope, out):
    for i in prange(T.shape[0]):
        _evaluate_cell(d, prep, T, I, guess, has_guess, slope, out, i)


@_jit
def _evaluate_serial(d, prep, T, I, guess, has_guess, slope, out):
    for i in range(T.shape[0]):
        _evaluate_cell(d, prep, T, I, guess, has_guess, slope, out, i)


@_jit
def _evaluate_cell(d, prep, T, I, guess, has_guess, slope, out, i):
    """:func:`evaluate` of cell ``i`` into the arrays ``out``."""
    E, G, s0, s1, k_eff, kfac, c_free, c_unit = prep
    V, dV, j, eta, cs, dphi, terms, dj_out, deta_out, dcs_out, ddphi_out, dterms_out = out
    M, N = s0.shape
    n = c_free.shape[1]
    chi = d.scalars[1]
    nn, ns = d.n_x[0], d.n_x[1]
    npos = n - nn - ns
    w = np.empty((4, M))
    Ii = I[i]
    Ti = T[i]
    f = F / (R * Ti)
    terms[0, i] = terms[1, i] = terms[2, i] = 0.0
    dV[i] = 0.0
    if slope:
        dterms_out[0, i] = dterms_out[1, i] = dterms_out[2, i] = 0.0
    area = d.area[i]
    ce_el = (d.c_e0[i], d.c_e0[i])  # electrode-mean salt (negative, positive)
    dce_el = (0.0, 0.0)
    dterms = 0.0
    bad = False
    if n > 0:
        # salt at the end of the step, its region means and the potential corrections
        sn = sp = 0.0
        dsn = dsp = 0.0
        av = dav = 0.0
        for m in range(n):
            c = c_free[i, m] + c_unit[i, m] * Ii
            if not c > 0.0:
                bad = True
            av += c * d.dx[i, m]
            dav += c_unit[i, m] * d.dx[i, m]
            if m < nn:
                sn += c
                dsn += c_unit[i, m]
            elif m >= nn + ns:
                sp += c
                dsp += c_unit[i, m]
        if bad:
            V[i] = math.nan
            dV[i] = math.nan
            return
        av /= d.total[i]
        dav /= d.total[i]
        ce_el = (sn / nn, sp / npos)
        dce_el = (dsn / nn, dsp / npos)
        ln = lp = 0.0
        dln = dlp = 0.0
        for m in range(nn):
            c = c_free[i, m] + c_unit[i, m] * Ii
            ln += math.log(c / av)
            dln += c_unit[i, m] / c
        for m in range(nn + ns, n):
            c = c_free[i, m] + c_unit[i, m] * Ii
            lp += math.log(c / av)
            dlp += c_unit[i, m] / c
        rtf = chi * R * Ti / F
        eta_c = rtf * (lp / npos - ln / nn)
        kappa, dkappa = value_slope(d.kappa_code, d.kappa_p, av)
        kappa *= kfac[i]
        dkappa *= kfac[i]
        cur = Ii / area
        Q = (d.L[0, i] / (3 * kappa * d.eff[0, i]) + d.L[1, i] / (kappa * d.eff[1, i])
             + d.L[2, i] / (3 * kappa * d.eff[2, i]))
        dphi_e = -cur * Q
        dphi_s = -cur * (d.L[0, i] / (3 * d.sigma[0, i]) + d.L[2, i] / (3 * d.sigma[1, i]))
        terms[0, i], terms[1, i], terms[2, i] = eta_c, dphi_e, dphi_s
        if slope:
            dterms_out[0, i] = rtf * (dlp / npos - dln / nn)
            dterms_out[1, i] = -Q / area + cur * Q / kappa * dkappa * dav
            dterms_out[2, i] = -(d.L[0, i] / (3 * d.sigma[0, i]) + d.L[2, i] / (3 * d.sigma[1, i])) / area
            dterms = dterms_out[0, i] + dterms_out[1, i] + dterms_out[2, i]
    ddphi = (0.0, 0.0)
    for e in range(2):
        k0, k1 = d.mat_start[e], d.mat_start[e + 1]
        L = d.L[2 * e, i]
        sgn = 1.0 if e == 0 else -1.0
        i_vol = sgn * Ii / (area * L)
        di_vol = sgn / (area * L)
        if k1 - k0 > 1:
            dp, ddp = _split(d, i, k0, k1, i_vol, di_vol, ce_el[e], dce_el[e], Ti, f, s0, s1, k_eff,
                             guess, has_guess, j, eta, cs, w, slope)
            if slope:  # dj_k = w[0, k] + w[1, k] d dphi (see _split)
                for k in range(k0, k1):
                    dj_out[k, i] = w[0, k] + w[1, k] * ddp
                    dcs_out[k, i] = s1[k, i] * dj_out[k, i]
                    deta_out[k, i] = ddp - w[3, k] * dcs_out[k, i] - d.film[k, i] * dj_out[k, i]
        else:
            k = k0
            cm, aa, ac, rf, a = d.c_max[k, i], d.alpha_a[k], d.alpha_c[k], d.film[k, i], d.a[k, i]
            jk = i_vol / a
            djk = di_vol / a
            c_s = s0[k, i] + s1[k, i] * jk
            dcs = s1[k, i] * djk
            dln_cs = _dlni0(aa, ac, cm, c_s) * dcs
            ek = dek = 0.0
            if n == 0:
                i0 = _i0(k_eff[k, i], aa, ac, cm, ce_el[e], c_s)
                ek = _inverse_bv(jk, i0, f, aa, ac)
                if slope:
                    dek = _deta(jk, djk, i0, i0 * dln_cs, ek, f, aa, ac)
            else:  # the overpotential of the uniform reaction at the local salt, averaged
                m0 = 0 if e == 0 else nn + ns
                m1 = nn if e == 0 else n
                surf = _i0_surface(k_eff[k, i], aa, ac, cm, c_s)
                for m in range(m0, m1):
                    c = c_free[i, m] + c_unit[i, m] * Ii
                    i0 = surf * _i0_salt(aa, c)
                    em = _inverse_bv(jk, i0, f, aa, ac)
                    ek += em
                    if slope:
                        dek += _deta(jk, djk, i0, i0 * (aa * c_unit[i, m] / c + dln_cs), em, f, aa, ac)
                ek /= m1 - m0
                dek /= m1 - m0
            U, dU = _ocp(d, k, c_s / cm, Ti - d.scalars[0])
            dp = U + ek + rf * jk
            ddp = dU / cm * dcs + dek + rf * djk
            j[k, i], eta[k, i], cs[k, i] = jk, ek, c_s
            if slope:
                dj_out[k, i], deta_out[k, i], dcs_out[k, i] = djk, dek, dcs
        dphi[e, i] = dp
        if slope:
            ddphi_out[e, i] = ddp
        if e == 0:
            ddphi = (ddp, 0.0)
        else:
            ddphi = (ddphi[0], ddp)
    V[i] = (dphi[1, i] - dphi[0, i] + terms[0, i] + terms[1, i] + terms[2, i] - Ii * d.contact[i])
    if slope:
        dV[i] = ddphi[1] - ddphi[0] + dterms - d.contact[i]


# -- a pack's strings -------------------------------------------------------------------------


@_jit
def _fill_strings(I, Ic):
    """Cell currents of strings in C order: string s holds the cells s*per..(s+1)*per-1."""
    per = Ic.shape[0] // I.shape[0]
    for s in range(I.shape[0]):
        for c in range(per):
            Ic[s * per + c] = I[s]


@_jit
def _string_sums(V, dv, I, R_series, Vs, dVs):
    """String voltages ``Vs`` and slopes ``dVs`` (``dv`` may be empty); False if a cell has
    no solution."""
    S = I.shape[0]
    per = V.shape[0] // S
    ok = True
    for s in range(S):
        a = -I[s] * R_series[s]
        b = -R_series[s]
        for c in range(per):
            i = s * per + c
            a += V[i]
            if dv.shape[0]:
                b += dv[i]
            if not math.isfinite(V[i]):
                ok = False
        Vs[s] = a
        dVs[s] = b
    return ok


@_jit
def solve_strings(d, prep, T, guess, has_guess, I0, power_mode, demand, R_series, scale, max_iter, curvature,
                  safety, threads):
    """The string solve of :meth:`cosim.pack.assembly.AssembledBattery._solve` (without
    ``slopes``) in one call: Newton on the string currents ``I0`` (S,) until every string
    has one voltage, for a pack current (``demand``) or, with ``power_mode``, a pack power;
    the cells of string s are s*per..(s+1)*per-1. The last update is applied along the
    exact linearisation (values plus derivatives times the update) once it is below
    ``scale`` [A] or its second-order term ``safety * curvature * dI^2 / 2`` moves the
    currents by less than that; ``curvature`` (S,) (NaN: unknown) is updated in place from
    the slopes of consecutive evaluations. Returns ``(ok, I_strings, V_pack, I_cells,
    out)`` with ``out`` as :func:`evaluate` returns it."""
    S = I0.shape[0]
    N = T.shape[0]
    M = prep[2].shape[0]
    per = N // S
    I = I0.copy()
    Ic = np.empty(N)
    _fill_strings(I, Ic)
    Vs = np.empty(S)
    dVs = np.empty(S)
    # run-time booleans: literal ones would compile the cell kernel once more for each
    yes, no = S > 0, S < 0
    if S == 1 and not power_mode:  # one string at a given current: nothing to solve
        out = _alloc(M, N, no)
        _evaluate_into(d, prep, T, Ic, guess, has_guess, no, threads, out)
        ok = _string_sums(out[0], out[1][:0], I, R_series, Vs, dVs)
        return ok, I, Vs[0], Ic, out
    out = _alloc(M, N, yes)
    V, dv, j, eta, cs, dphi, terms, dj, deta, dcs, ddphi, dterms = out
    _evaluate_into(d, prep, T, Ic, guess, has_guess, yes, threads, out)
    dVs_old = np.empty(S)
    start = np.empty((M, N))
    step = np.empty(S)
    g = np.empty(S)
    for it in range(max_iter + 1):
        ok = _string_sums(V, dv, I, R_series, Vs, dVs)
        if it > 0:
            fine = True
            for s in range(S):
                fine = fine and math.isfinite(abs(dVs[s] - dVs_old[s]) / abs(step[s]))
            if fine:
                for s in range(S):
                    curvature[s] = abs(dVs[s] - dVs_old[s]) / abs(step[s])
        for s in range(S):
            ok = ok and -dVs[s] > 0.0
        if not ok or it == max_iter:
            return False, I, math.nan, Ic, out
        G = 0.0
        A = 0.0
        total = 0.0
        for s in range(S):
            g[s] = -1.0 / dVs[s]
            G += g[s]
            A += Vs[s] * g[s]
            total += I[s]
        if power_mode:
            A += total
            disc = A * A - 4.0 * G * demand
            if disc < 0:  # more power than the pack can give at these resistances
                return False, I, math.nan, Ic, out
            V_pack = (A + math.sqrt(disc)) / (2.0 * G)
        else:
            V_pack = (demand - total + A) / G
        biggest = 0.0
        small = True
        for s in range(S):
            step[s] = (Vs[s] - V_pack) * g[s]
            biggest = max(biggest, abs(step[s]))
            small = small and 0.5 * safety * curvature[s] * step[s] ** 2 <= scale / g[s]
        if biggest <= scale or small:
            for s in range(S):
                dI = step[s]
                I[s] += dI
                for c in range(per):
                    i = s * per + c
                    Ic[i] = I[s]
                    V[i] += dv[i] * dI
                    for k in range(M):
                        j[k, i] += dj[k, i] * dI
                        eta[k, i] += deta[k, i] * dI
                        cs[k, i] += dcs[k, i] * dI
                    for e in range(2):
                        dphi[e, i] += ddphi[e, i] * dI
                    for q in range(3):
                        terms[q, i] += dterms[q, i] * dI
            return True, I, V_pack, Ic, out
        for s in range(S):
            dVs_old[s] = dVs[s]
            I[s] += step[s]
            for c in range(per):  # the next splits start from this one moved along its slope
                i = s * per + c
                for k in range(M):
                    start[k, i] = j[k, i] + dj[k, i] * step[s]
        _fill_strings(I, Ic)
        _evaluate_into(d, prep, T, Ic, start, yes, yes, threads, out)
    return False, I, math.nan, Ic, out


# -- commit and outputs -----------------------------------------------------------------------


@_jit
def commit(prep, I, j, z, c):
    """Advance the particle modes ``z`` and the salt ``c`` in place over the step."""
    E, G = prep[0], prep[1]
    c_free, c_unit = prep[6], prep[7]
    M, N, nr = z.shape
    for k in range(M):
        for i in range(N):
            for q in range(nr):
                z[k, i, q] = E[k, i, q] * z[k, i, q] + G[k, i, q] * j[k, i]
    for i in range(N):
        for m in range(c.shape[1]):
            c[i, m] = c_free[i, m] + c_unit[i, m] * I[i]


@_jit
def outputs(d, T, I, j, eta, cs, dphi, terms, z, c, threads):
    """Outputs after a step: ``(ocv, heat_reaction, heat_ohmic, heat_reversible,
    heat_mixing, soc, anode_potential, sto_surface, sto_mean)`` (the last two (M, N)); the
    cells run in threads if ``threads``."""
    M, N, nr = z.shape
    res = (np.empty(N), np.zeros(N), np.empty(N), np.zeros(N), np.zeros(N), np.empty(N), np.empty(N),
           np.empty((M, N)), np.empty((M, N)))
    if threads:
        _outputs_threads(d, T, I, j, eta, cs, dphi, terms, z, c, res)
    else:
        _outputs_serial(d, T, I, j, eta, cs, dphi, terms, z, c, res)
    return res


@_pjit
def _outputs_threads(d, T, I, j, eta, cs, dphi, terms, z, c, res):
    for i in prange(T.shape[0]):
        _outputs_cell(d, T, I, j, eta, cs, dphi, terms, z, c, res, i)


@_jit
def _outputs_serial(d, T, I, j, eta, cs, dphi, terms, z, c, res):
    for i in range(T.shape[0]):
        _outputs_cell(d, T, I, j, eta, cs, dphi, terms, z, c, res, i)


@_jit
def _outputs_cell(d, T, I, j, eta, cs, dphi, terms, z, c, res, i):
    """:func:`outputs` of cell ``i`` into the arrays ``res``."""
    ocv, q_rxn, q_ohm, q_rev, q_mix, soc, anode, sto_s, sto_m = res
    nr = z.shape[2]
    n = c.shape[1]
    nn = d.n_x[0]
    T_ref, chi = d.scalars[0], d.scalars[1]
    Ti = T[i]
    u = (0.0, 0.0)
    for e in range(2):
        vol = d.area[i] * d.L[2 * e, i]
        um, w = 0.0, 0.0
        for k in range(d.mat_start[e], d.mat_start[e + 1]):
            cm = d.c_max[k, i]
            a = d.a[k, i]
            q_rxn[i] += vol * a * j[k, i] * (eta[k, i] + d.film[k, i] * j[k, i])
            q_rev[i] += vol * a * j[k, i] * Ti * value_slope(d.dUdT_code[k], d.dUdT_p[k], cs[k, i] / cm)[0]
            q_mix[i] += vol * mixing(d, k, i, Ti, z, j[k, i], cs[k, i])
            mean = 0.0
            for q in range(nr):
                mean += z[k, i, q] * d.w_mean[q]
            sto_m[k, i] = mean / cm
            sto_s[k, i] = cs[k, i] / cm
            um += d.cap[k, i] * _ocp(d, k, sto_m[k, i], Ti - T_ref)[0]
            w += d.cap[k, i]
        u = (um / w, 0.0) if e == 0 else (u[0], um / w)
    ocv[i] = u[1] - u[0]
    q_ohm[i] = -I[i] * (terms[0, i] + terms[1, i] + terms[2, i]) + I[i] * I[i] * d.contact[i]
    num = den = 0.0
    for k in range(d.mat_start[0], d.mat_start[1]):
        q = d.cap[k, i] * d.L[0, i] * d.area[i] * F
        num += q * (sto_m[k, i] - d.sto0[k, i])
        den += q * (d.sto100[k, i] - d.sto0[k, i])
    soc[i] = num / den
    # dphi of the negative at the separator: the averaged value corrected by the composite
    # potential profiles (solid: -i L/(6 sigma), electrolyte: -i L/(3 kappa) and the
    # concentration term)
    a_pot = dphi[0, i]
    if n > 0:
        cur = I[i] / d.area[i]
        av = 0.0
        for m in range(n):
            av += c[i, m] * d.dx[i, m]
        av /= d.total[i]
        kappa_n = (value_slope(d.kappa_code, d.kappa_p, av)[0]
                   * arrhenius_factor(d.scalars[3], Ti, d.scalars[4])) * d.eff[0, i]
        ln = 0.0
        for m in range(nn):
            ln += math.log(c[i, m])
        conc = chi * R * Ti / F * (math.log(c[i, nn - 1]) - ln / nn)
        a_pot = a_pot - cur * d.L[0, i] / (6 * d.sigma[0, i]) - (conc - cur * d.L[0, i] / (3 * kappa_n))
    anode[i] = a_pot


@_jit
def anode_potential(d, prep, T, I, dphi0, ddphi0, slope, threads):
    """End-of-step negative electrode potential vs Li/Li+ at the separator (as
    :func:`outputs` gives it after a commit) for currents ``I`` held over the step, from the
    negative's ``dphi0`` of :func:`evaluate`, and, with ``slope``, its exact derivative in
    ``I`` (from ``ddphi0``, the affine salt and the conductivity's slope); returns ``(a,
    da)`` (``da`` zeros without ``slope``); the cells run in threads if ``threads``."""
    N = I.shape[0]
    res = (np.empty(N), np.zeros(N))
    if threads:
        _anode_threads(d, prep, T, I, dphi0, ddphi0, slope, res)
    else:
        _anode_serial(d, prep, T, I, dphi0, ddphi0, slope, res)
    return res


@_pjit
def _anode_threads(d, prep, T, I, dphi0, ddphi0, slope, res):
    for i in prange(I.shape[0]):
        _anode_cell(d, prep, T, I, dphi0, ddphi0, slope, res, i)


@_jit
def _anode_serial(d, prep, T, I, dphi0, ddphi0, slope, res):
    for i in range(I.shape[0]):
        _anode_cell(d, prep, T, I, dphi0, ddphi0, slope, res, i)


@_jit
def _anode_cell(d, prep, T, I, dphi0, ddphi0, slope, res, i):
    """:func:`anode_potential` of cell ``i`` into the arrays ``res``."""
    a, da = res
    kfac, c_free, c_unit = prep[5], prep[6], prep[7]
    n = c_free.shape[1]
    nn = d.n_x[0]
    chi = d.scalars[1]
    a_pot = dphi0[i]
    d_pot = ddphi0[i] if slope else 0.0
    if n > 0:
        Ii, Ti = I[i], T[i]
        cur = Ii / d.area[i]
        dcur = 1.0 / d.area[i]
        av = dav = 0.0
        for m in range(n):
            av += (c_free[i, m] + c_unit[i, m] * Ii) * d.dx[i, m]
            dav += c_unit[i, m] * d.dx[i, m]
        av /= d.total[i]
        dav /= d.total[i]
        kap, dkap = value_slope(d.kappa_code, d.kappa_p, av)
        kappa_n = kap * kfac[i] * d.eff[0, i]
        dkappa_n = dkap * kfac[i] * d.eff[0, i] * dav
        ln = dln = 0.0
        for m in range(nn):
            c = c_free[i, m] + c_unit[i, m] * Ii
            ln += math.log(c)
            dln += c_unit[i, m] / c
        rtf = chi * R * Ti / F
        c_sep = c_free[i, nn - 1] + c_unit[i, nn - 1] * Ii
        conc = rtf * (math.log(c_sep) - ln / nn)
        L = d.L[0, i]
        a_pot = a_pot - cur * L / (6 * d.sigma[0, i]) - (conc - cur * L / (3 * kappa_n))
        if slope:
            dconc = rtf * (c_unit[i, nn - 1] / c_sep - dln / nn)
            d_pot += (-dcur * L / (6 * d.sigma[0, i]) - dconc
                      + L / 3 * (dcur / kappa_n - cur * dkappa_n / kappa_n**2))
    a[i] = a_pot
    da[i] = d_pot
