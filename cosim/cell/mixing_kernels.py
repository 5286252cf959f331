"""Heat of mixing of the particles of the single particle models: the enthalpy tables.

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

The tables are built and read in C (``ck_enthalpy_table`` and ``ck_enthalpy_potential`` of
``fmus/pack/src/cell_functions.c``); the heat itself is ``mixing`` of
``fmus/pack/src/cell_kernel.c`` (the formula is in its comment), evaluated in the cell
kernels' outputs. This module calls the C for the tables a model packs into its
:class:`~cosim.cell.cell_data.CellData` and for tests.
"""

from __future__ import annotations

import ctypes

import numpy as np

#: intervals of the uniform stoichiometry grid of the enthalpy tables
TABLE_INTERVALS = 1 << 14
#: V: the largest miss of the interpolant's value in an interval that it is used for ...
VALUE_TOL = 1e-10
#: ... and of its slope, relative (plus VALUE_TOL per interval)
SLOPE_TOL = 1e-7

_F8 = ctypes.POINTER(ctypes.c_double)


def _lib():
    from .functions import _lib

    return _lib()


def _f64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(_F8)


def enthalpy_table(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, n=TABLE_INTERVALS) -> np.ndarray:
    """``(n + 1, 2)``: ``U_H`` at ``sto = i / n`` and its slope times ``1 / n`` (the slope
    per grid interval, as the Hermite interpolant takes it). Where the interpolant misses
    the function at a quarter point of an interval by more than ``VALUE_TOL`` or its slope
    by more than ``SLOPE_TOL`` (relative; a kink, a singularity, a feature narrower than a
    few intervals) the slopes at both ends are NaN: :func:`enthalpy_potential` evaluates the
    functions there."""
    n = int(n)
    if n < 1:
        raise ValueError(f"an enthalpy table needs at least one interval, got {n}")
    ocp_p, dUdT_p = _f64(ocp_p), _f64(dUdT_p)
    key = (int(ocp_code), ocp_p.tobytes(), int(dUdT_code), dUdT_p.tobytes(), float(T_ref), n)
    tab = _TABLES.get(key)
    if tab is None:  # a few ms each: kept for the process (every model of a material shares it)
        tab = np.empty((n + 1, 2))
        _lib().ck_enthalpy_table(int(ocp_code), _ptr(ocp_p), int(dUdT_code), _ptr(dUdT_p), float(T_ref), n,
                                 VALUE_TOL, SLOPE_TOL, _ptr(tab))
        tab.flags.writeable = False
        if len(_TABLES) >= 64:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = tab
    return tab.copy()


_TABLES: dict[tuple, np.ndarray] = {}  # enthalpy_table's, by material, reference temperature and grid


def enthalpy_tables(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, n=TABLE_INTERVALS) -> np.ndarray:
    """``(M, n + 1, 2)``: :func:`enthalpy_table` of every material (the ``(code, params)``
    arrays of :class:`~cosim.cell.cell_data.CellData`)."""
    return np.ascontiguousarray(np.stack([
        enthalpy_table(ocp_code[k], ocp_p[k], dUdT_code[k], dUdT_p[k], float(T_ref), n)
        for k in range(len(ocp_code))]))


def enthalpy_potential(tab, sto, ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref):
    """``U_H`` at ``sto`` (a number, or an array of any shape): the Hermite interpolant of the
    table ``tab`` (:func:`enthalpy_table`) of the material ``(ocp_code, ocp_p, dUdT_code,
    dUdT_p)``, whose functions give it outside [0, 1], at NaN and in the intervals the table
    marks. A float for a number, else an array of the shape of ``sto``."""
    tab, x = _f64(tab), np.asarray(sto, dtype=np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    ocp_p, dUdT_p = _f64(ocp_p), _f64(dUdT_p)
    out = np.empty(flat.size)
    _lib().ck_enthalpy_potentials(_ptr(tab), tab.shape[0], int(ocp_code), _ptr(ocp_p), int(dUdT_code), _ptr(dUdT_p),
                                  float(T_ref), _ptr(flat), flat.size, _ptr(out))
    return float(out[0]) if x.ndim == 0 else out.reshape(x.shape)
