"""Heat of mixing of the particles of the single particle models (compiled).

The heat (K. E. Thomas and J. Newman, J. Electrochem. Soc. 150 (2003) A176) needs the
enthalpy potential ``U_H = U_ref - T_ref dU/dT`` (:mod:`cosim.cell.energy`) at every shell
of every particle and step. Evaluated from the material functions (tanh staircases,
exponentials, powers: ~45 ns each, and two array views per call) that was about half of the
flagship scenario's wall time, so each material's
``U_H`` is tabulated once, when the model is built (:func:`enthalpy_table`): values and
slopes at ``TABLE_INTERVALS + 1`` uniform stoichiometries on [0, 1], read back by a cubic
Hermite interpolant (:func:`enthalpy_potential`; C1, exact for cubics, its slope within
``O(h^3)`` of the function's). The heat uses *differences* of ``U_H`` between neighbouring
shells, i.e. essentially its slope, so the slope's accuracy is what counts. The table
checks itself when it is built: an interval where the interpolant misses the function at
a quarter point by more than ``VALUE_TOL`` or its slope by more than ``SLOPE_TOL``
(relative) is marked (a kink such as the Doyle spinel's 6 V cap or a table's node, a
singularity, a feature narrower than a few intervals such as the coke's exp(-2000 sto))
and read from the functions, as is a stoichiometry outside [0, 1] or NaN. With 2^14
intervals (h = 6.1e-5) the marks cover a few hundred intervals at most per material and
the heat over a drive agrees with the direct evaluation to round-off
(``tests/test_cell_energy.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .functions import arrhenius_factor, value_slope
from .params import F

#: intervals of the uniform stoichiometry grid of the enthalpy tables
TABLE_INTERVALS = 1 << 14
#: V: the largest miss of the interpolant's value in an interval that it is used for ...
VALUE_TOL = 1e-10
#: ... and of its slope, relative (plus VALUE_TOL per interval)
SLOPE_TOL = 1e-7

_inline = njit(cache=True, error_model="numpy", inline="always")


@_inline
def _hermite(y0, d0, y1, d1, t):
    """The cubic with values ``y0``, ``y1`` and slopes ``d0``, ``d1`` (per unit ``t``) at
    ``t`` = 0, 1, and its slope."""
    dy = y1 - y0
    a2 = 3.0 * dy - 2.0 * d0 - d1
    a3 = d0 + d1 - 2.0 * dy
    return y0 + t * (d0 + t * (a2 + t * a3)), d0 + t * (2.0 * a2 + 3.0 * t * a3)


@_inline
def _u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, x):
    """``U_H`` and its slope from the material functions."""
    u, du = value_slope(ocp_code, ocp_p, x)
    s, ds = value_slope(dUdT_code, dUdT_p, x)
    return u - T_ref * s, du - T_ref * ds


@njit(cache=True, error_model="numpy")
def enthalpy_table(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, n):
    """``(n + 1, 2)``: ``U_H`` at ``sto = i / n`` and its slope times ``1 / n`` (the slope
    per grid interval, as the Hermite interpolant takes it). Where the interpolant misses
    the function at a quarter point of an interval by more than ``VALUE_TOL`` or its slope
    by more than ``SLOPE_TOL`` (relative; a kink, a singularity, a feature narrower than a
    few intervals) the slopes at both ends are NaN: :func:`enthalpy_potential` evaluates the
    functions there."""
    tab = np.empty((n + 1, 2))
    for i in range(n + 1):
        u, du = _u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, i / n)
        tab[i, 0] = u
        tab[i, 1] = du / n
    bad = np.zeros(n + 1, dtype=np.bool_)
    for i in range(n):
        for t in (0.25, 0.5, 0.75):
            p, dp = _hermite(tab[i, 0], tab[i, 1], tab[i + 1, 0], tab[i + 1, 1], t)
            u, du = _u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, (i + t) / n)
            du /= n
            if not (abs(p - u) <= VALUE_TOL and abs(dp - du) <= SLOPE_TOL * abs(du) + VALUE_TOL):
                bad[i] = bad[i + 1] = True
    for i in range(n + 1):
        if bad[i]:
            tab[i, 1] = math.nan
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
    outside [0, 1] and in the intervals the table marks."""
    n = tab.shape[0] - 1
    if 0.0 <= sto <= 1.0:
        s = sto * n
        m = min(int(s), n - 1)
        v = _hermite(tab[m, 0], tab[m, 1], tab[m + 1, 0], tab[m + 1, 1], s - m)[0]
        if v == v:  # NaN: an interval the table does not represent
            return v
    return _u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, sto)[0]


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
    # the arrays once: views taken inside the loops (d.ocp_p[k], ...) cost several times the
    # arithmetic
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
