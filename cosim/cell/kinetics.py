"""Electrode kinetics shared by the single-particle models: Butler-Volmer, its inverse,
and the split of an electrode's current between active materials side by side.

Conventions are those of :mod:`cosim.cell.params`: ``j`` [A/m^2 of particle surface] is
positive for oxidation, ``eta = dphi - U(sto_surf) - R_film j`` with ``dphi = phi_s - phi_e``.
"""

from __future__ import annotations

import numpy as np

from .params import F, R, ActiveMaterial, arrhenius

_CLIP = 60.0  # bound on alpha F eta / (R T) inside exponentials


def exchange_current(m: ActiveMaterial, c_e, c_surf, T, T_ref, nodes: bool = False):
    """i0 = k c_e^alpha_a (c_max - c_s)^alpha_a c_s^alpha_c * arrhenius [A/m^2]; zero for an
    empty or full particle surface or a depleted electrolyte (the reaction stops there, so a
    material alone cannot carry current and one beside others carries none). With
    ``nodes``, the arguments carry a trailing axis of positions through the electrode
    (shape ``(n_cells, n_nodes)``)."""
    k, c_max = (m.rate_constant[:, None], m.c_max_mol_m3[:, None]) if nodes else (m.rate_constant, m.c_max_mol_m3)
    cs = np.clip(c_surf, 0.0, c_max)
    ce = np.maximum(c_e, 0.0)
    return (
        k
        * ce**m.alpha_a
        * (c_max - cs) ** m.alpha_a
        * cs**m.alpha_c
        * arrhenius(m.rate_activation_J_mol, T, T_ref)
    )


def butler_volmer(i0, eta, T, alpha_a=0.5, alpha_c=0.5):
    f = F / (R * T)
    return i0 * (np.exp(np.clip(alpha_a * f * eta, -_CLIP, _CLIP)) - np.exp(np.clip(-alpha_c * f * eta, -_CLIP, _CLIP)))


def inverse_butler_volmer(j, i0, T, alpha_a=0.5, alpha_c=0.5, eta0=None):
    """Overpotential giving interfacial current ``j`` (closed form when alpha_a == alpha_c)."""
    f = F / (R * T)
    with np.errstate(divide="ignore", invalid="ignore"):  # i0 = 0: no current possible, except none
        ratio = np.where(i0 > 0, j / (2.0 * i0), np.where(j == 0, 0.0, np.sign(j) * np.inf))
    if alpha_a == alpha_c:
        return np.arcsinh(ratio) / (alpha_a * f)
    eta = np.arcsinh(ratio) / (0.5 * (alpha_a + alpha_c) * f) if eta0 is None else eta0
    for _ in range(50):
        ea = np.exp(np.clip(alpha_a * f * eta, -_CLIP, _CLIP))
        ec = np.exp(np.clip(-alpha_c * f * eta, -_CLIP, _CLIP))
        r = i0 * (ea - ec) - j
        d = i0 * f * (alpha_a * ea + alpha_c * ec)
        step = r / d
        eta = eta - step
        if np.all(np.abs(step) < 1e-13):
            break
    return eta


def ocp(m: ActiveMaterial, sto, T, T_ref):
    """Open-circuit potential with the entropic term, vs Li/Li+ [V]."""
    return m.ocp_V(sto) + (T - T_ref) * m.entropic_V_K(sto)


def split_current(materials, s0s, s1s, i_vol, c_e, T, T_ref, guess=None, tol=1e-10, max_iter=60):
    """Share a volumetric reaction current ``i_vol`` [A/m^3] = sum_k a_k j_k between the
    materials of one electrode, so that all see the same ``dphi`` (they share the solid and
    the electrolyte). The surface concentration of material k at the end of the step is
    ``s0_k + s1_k j_k``. Newton on (dphi, j_1..j_m) per cell with the j's eliminated, so
    each iteration is a few vectorized operations.

    Returns ``(dphi, [j_k], [eta_k], [c_surf_k])``; NaN for cells without a solution."""
    m = len(materials)
    a = [mat.surface_area_per_volume for mat in materials]
    if guess is None:
        # split in proportion to a_k i0_k at the present surface state
        weights = []
        for mat, s0 in zip(materials, s0s):
            i0 = exchange_current(mat, c_e, np.clip(s0, 1e-9 * mat.c_max_mol_m3, (1 - 1e-9) * mat.c_max_mol_m3), T, T_ref)
            weights.append(np.nan_to_num(i0, nan=1e-30) * 1.0)
        total = sum(ak * wk for ak, wk in zip(a, weights))
        j = [i_vol * wk / total for wk in weights]
    else:
        j = [np.array(g, dtype=float) for g in guess]
    c = [s0 + s1 * jk for s0, s1, jk in zip(s0s, s1s, j)]
    i0 = [exchange_current(mat, c_e, ck, T, T_ref) for mat, ck in zip(materials, c)]
    first = materials[0]
    dphi = (
        ocp(first, c[0] / first.c_max_mol_m3, T, T_ref)
        + inverse_butler_volmer(j[0], i0[0], T, first.alpha_a, first.alpha_c)
        + first.film_resistance_Ohm_m2 * j[0]
    )
    f = F / (R * T)
    dUs = [None] * m
    for it in range(max_iter):
        num = i_vol - sum(ak * jk for ak, jk in zip(a, j))  # -r0
        den = np.zeros_like(i_vol)
        dj_free, dj_dphi = [], []
        for k, mat in enumerate(materials):
            sto = c[k] / mat.c_max_mol_m3
            U = ocp(mat, sto, T, T_ref)
            if it < 2:  # OCP slope (one-sided difference); later iterations keep it (chord Newton)
                dUs[k] = (ocp(mat, sto + 1e-7, T, T_ref) - U) / 1e-7 / mat.c_max_mol_m3
            dU = dUs[k]
            eta = dphi - U - mat.film_resistance_Ohm_m2 * j[k]
            ea = np.exp(np.clip(mat.alpha_a * f * eta, -_CLIP, _CLIP))
            ec = np.exp(np.clip(-mat.alpha_c * f * eta, -_CLIP, _CLIP))
            kk = i0[k] * f * (mat.alpha_a * ea + mat.alpha_c * ec)  # dj/deta
            rk = j[k] - i0[k] * (ea - ec)
            jkk = 1.0 + kk * (dU * s1s[k] + mat.film_resistance_Ohm_m2)  # dr_k/dj_k
            dj_free.append(-rk / jkk)
            dj_dphi.append(kk / jkk)
            num = num - a[k] * (-rk / jkk)
            den = den + a[k] * kk / jkk
        with np.errstate(divide="ignore", invalid="ignore"):  # den = 0: no material can react
            d_dphi = np.clip(num / den, -0.2, 0.2)
        dphi = dphi + d_dphi
        for k in range(m):
            j[k] = j[k] + dj_free[k] + dj_dphi[k] * d_dphi
        c = [s0 + s1 * jk for s0, s1, jk in zip(s0s, s1s, j)]
        i0 = [exchange_current(mat, c_e, ck, T, T_ref) for mat, ck in zip(materials, c)]
        if not np.any(np.abs(d_dphi) >= tol):  # converged (NaN cells have no solution)
            break
    eta = [dphi - ocp(mat, ck / mat.c_max_mol_m3, T, T_ref) - mat.film_resistance_Ohm_m2 * jk
           for mat, ck, jk in zip(materials, c, j)]
    scale = sum(np.abs(ak * jk) for ak, jk in zip(a, j)) + np.abs(i_vol)
    bad = ~np.isfinite(dphi) | (np.abs(sum(ak * jk for ak, jk in zip(a, j)) - i_vol) > 1e-8 * scale)
    if bad.any():
        dphi = np.where(bad, np.nan, dphi)
    return dphi, j, eta, c
