"""Heat of mixing of the particles of the single particle models (compiled).

The heat (K. E. Thomas and J. Newman, J. Electrochem. Soc. 150 (2003) A176) needs the
enthalpy potential ``U_H = U_ref - T_ref dU/dT`` (:mod:`cosim.cell.energy`) at every shell
of every particle and step. Evaluated from the material functions (tanh staircases,
exponentials, powers: ~45 ns each) that was most of a pack's step, so each material's
``U_H`` is tabulated once, when the model is built (:func:`enthalpy_table`): values and
slopes at ``TABLE_INTERVALS + 1`` uniform stoichiometries on [0, 1], read back by a cubic
Hermite interpolant (:func:`enthalpy_potential`; C1, exact for cubics, its slope within
``O(h^3)`` of the function's). The heat uses *differences* of ``U_H`` between neighbouring
shells, i.e. essentially its slope, so the slope's accuracy is what counts: with 2^14
intervals (h = 6.1e-5) the heat over a drive cycle agrees with the direct evaluation of
the functions to the tolerance stated in ``tests/test_cell_energy.py``. A stoichiometry
outside [0, 1] (or NaN) is evaluated from the functions themselves.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .functions import arrhenius_factor, value_slope
from .params import F

#: intervals of the uniform stoichiometry grid of the enthalpy tables
TABLE_INTERVALS = 1 << 14

_inline = njit(cache=True, error_model="numpy", inline="always")


@njit(cache=True, error_model="numpy")
def enthalpy_table(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, n):
    """``(n + 1, 2)``: ``U_H`` at ``sto = i / n`` and its slope times ``1 / n`` (the slope
    per grid interval, as the Hermite interpolant takes it)."""
    tab = np.empty((n + 1, 2))
    for i in range(n + 1):
        x = i / n
        u, du = value_slope(ocp_code, ocp_p, x)
        s, ds = value_slope(dUdT_code, dUdT_p, x)
        tab[i, 0] = u - T_ref * s
        tab[i, 1] = (du - T_ref * ds) / n
    return tab


def enthalpy_tables(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, n=TABLE_INTERVALS) -> np.ndarray:
    """``(M, n + 1, 2)``: :func:`enthalpy_table` of every material (the ``(code, params)``
    arrays of :class:`~cosim.cell.spme_kernels.CellData`)."""
    return np.ascontiguousarray(np.stack([
        enthalpy_table(ocp_code[k], ocp_p[k], dUdT_code[k], dUdT_p[k], float(T_ref), n)
        for k in range(len(ocp_code))]))


@_inline
def enthalpy_potential(tab, sto, ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref):
    """``U_H`` at ``sto``: the Hermite interpolant of the table ``tab`` (:func:`enthalpy_table`)
    of the material ``(ocp_code, ocp_p, dUdT_code, dUdT_p)``, whose functions give it
    outside [0, 1]."""
    n = tab.shape[0] - 1
    if not (0.0 <= sto <= 1.0):
        return value_slope(ocp_code, ocp_p, sto)[0] - T_ref * value_slope(dUdT_code, dUdT_p, sto)[0]
    s = sto * n
    m = min(int(s), n - 1)
    t = s - m
    y0, d0 = tab[m, 0], tab[m, 1]
    y1, d1 = tab[m + 1, 0], tab[m + 1, 1]
    dy = y1 - y0
    return y0 + t * (d0 + t * ((3.0 * dy - 2.0 * d0 - d1) + t * (d0 + d1 - 2.0 * dy)))


@_inline
def mixing(d, k, i, T, z, jk, c_s):
    """Heat of mixing of material ``k`` of cell ``i`` per electrode volume [W/m^3]: the
    finite-volume form of ``F int D (-dU_H/dc) |dc/dr|^2 dV`` per particle volume times the
    volume fraction (Thomas and Newman 2003), with the enthalpy potential ``U_H = U_ref -
    T_ref dU/dT`` (:mod:`cosim.cell.energy`)::

        3 eps F D / R^2 sum_faces face_f (c_f+1 - c_f) (U_H(c_f) - U_H(c_f+1))
          + a j (U_H(c_surf) - U_H(c_last shell))

    the exact rate at which the particles' stored energy (``CellModel.stored_energy_J``, on
    the same shells) falls short of the reaction's ``a j U_H(c_surf)``: the faces between
    shells (a secant of U_H, so >= 0 wherever U_H falls with c) and the half shell between
    the last shell and the extrapolated surface. ``U_H`` from the tables
    (:func:`enthalpy_potential`)."""
    nr = z.shape[2]
    cm = d.c_max[k, i]
    inv = 1.0 / cm
    T_ref = d.scalars[0]
    D = d.D_ref[k, i] * arrhenius_factor(d.E_D[k], T, T_ref)
    # the arrays once (not through ``d`` inside the loops)
    tab, phi, face, zk = d.uH_table[k], d.phi, d.face, z[k, i]
    oc, op, sc, sp = d.ocp_code[k], d.ocp_p[k], d.dUdT_code[k], d.dUdT_p[k]
    acc = 0.0
    c_prev = u_prev = 0.0
    for s in range(nr):
        c = 0.0
        for q in range(nr):
            c += phi[s, q] * zk[q]
        u = enthalpy_potential(tab, c * inv, oc, op, sc, sp, T_ref)
        if s > 0:
            acc += face[s - 1] * (c - c_prev) * (u_prev - u)
        c_prev, u_prev = c, u
    rad = d.radius[k, i]
    surface = d.a[k, i] * jk * (enthalpy_potential(tab, c_s * inv, oc, op, sc, sp, T_ref) - u_prev)
    return 3.0 * (d.cap[k, i] * inv) * F * D / (rad * rad) * acc + surface
