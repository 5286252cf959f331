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
    """i0 = k c_e^alpha_a (c_max - c_s)^alpha_a c_s^alpha_c * arrhenius [A/m^2]; NaN outside
    (0, c_max) or for c_e <= 0 (no solution there). With ``nodes``, the arguments carry a
    trailing axis of positions through the electrode (shape ``(n_cells, n_nodes)``)."""
    k, c_max = (m.rate_constant[:, None], m.c_max_mol_m3[:, None]) if nodes else (m.rate_constant, m.c_max_mol_m3)
    ok = (c_surf > 0) & (c_surf < c_max) & (c_e > 0)
    cs = np.where(ok, c_surf, 0.5 * c_max)
    ce = np.where(ok, c_e, 1.0)
    i0 = (
        k
        * ce**m.alpha_a
        * (c_max - cs) ** m.alpha_a
        * cs**m.alpha_c
        * arrhenius(m.rate_activation_J_mol, T, T_ref)
    )
    return np.where(ok, i0, np.nan)


def butler_volmer(i0, eta, T, alpha_a=0.5, alpha_c=0.5):
    f = F / (R * T)
    return i0 * (np.exp(np.clip(alpha_a * f * eta, -_CLIP, _CLIP)) - np.exp(np.clip(-alpha_c * f * eta, -_CLIP, _CLIP)))


def inverse_butler_volmer(j, i0, T, alpha_a=0.5, alpha_c=0.5, eta0=None):
    """Overpotential giving interfacial current ``j`` (closed form when alpha_a == alpha_c)."""
    f = F / (R * T)
    if alpha_a == alpha_c:
        return np.arcsinh(j / (2.0 * i0)) / (alpha_a * f)
    eta = np.arcsinh(j / (2.0 * i0)) / (0.5 * (alpha_a + alpha_c) * f) if eta0 is None else eta0
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


def split_current(materials, s0s, s1s, i_vol, c_e, T, T_ref, guess=None, tol=1e-11, max_iter=60):
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
    for _ in range(max_iter):
        num = i_vol - sum(ak * jk for ak, jk in zip(a, j))  # -r0
        den = np.zeros_like(i_vol)
        dj_free, dj_dphi = [], []
        for k, mat in enumerate(materials):
            sto = c[k] / mat.c_max_mol_m3
            dU = (mat.ocp_V(sto + 1e-7) - mat.ocp_V(sto - 1e-7)) / 2e-7 / mat.c_max_mol_m3
            eta = dphi - ocp(mat, sto, T, T_ref) - mat.film_resistance_Ohm_m2 * j[k]
            ea = np.exp(np.clip(mat.alpha_a * f * eta, -_CLIP, _CLIP))
            ec = np.exp(np.clip(-mat.alpha_c * f * eta, -_CLIP, _CLIP))
            kk = i0[k] * f * (mat.alpha_a * ea + mat.alpha_c * ec)  # dj/deta
            rk = j[k] - i0[k] * (ea - ec)
            jkk = 1.0 + kk * (dU * s1s[k] + mat.film_resistance_Ohm_m2)  # dr_k/dj_k
            dj_free.append(-rk / jkk)
            dj_dphi.append(kk / jkk)
            num = num - a[k] * (-rk / jkk)
            den = den + a[k] * kk / jkk
        d_dphi = np.clip(num / den, -0.2, 0.2)
        dphi = dphi + d_dphi
        for k in range(m):
            j[k] = j[k] + dj_free[k] + dj_dphi[k] * d_dphi
        c = [s0 + s1 * jk for s0, s1, jk in zip(s0s, s1s, j)]
        i0 = [exchange_current(mat, c_e, ck, T, T_ref) for mat, ck in zip(materials, c)]
        if np.all(np.abs(d_dphi) < tol) or np.all(~np.isfinite(d_dphi) | (np.abs(d_dphi) < tol)):
            break
    eta = [dphi - ocp(mat, ck / mat.c_max_mol_m3, T, T_ref) - mat.film_resistance_Ohm_m2 * jk
           for mat, ck, jk in zip(materials, c, j)]
    scale = sum(np.abs(ak * jk) for ak, jk in zip(a, j)) + np.abs(i_vol)
    bad = ~np.isfinite(dphi) | (np.abs(sum(ak * jk for ak, jk in zip(a, j)) - i_vol) > 1e-8 * scale)
    if bad.any():
        dphi = np.where(bad, np.nan, dphi)
    return dphi, j, eta, c
