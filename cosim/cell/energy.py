"""Energy stored in a cell's particles: the integral of the enthalpy potential.

With the open-circuit potential ``U(c, T) = U_ref(c) + (T - T_ref) dU/dT(c)`` (the models'
form, :mod:`cosim.cell.params`), the partial molar enthalpy of lithium in an insertion
material, relative to lithium metal, is ``-F U_H`` with the enthalpy potential::

    U_H(c) = U - T dU/dT = U_ref(c) - T_ref dU/dT(c)

(independent of T). The enthalpy of the lithium in a particle of volume V_p, relative to an
empty particle and lithium metal, is ``-F int_V_p int_0^c U_H(c') dc' dV``; a cell's stored
energy is the sum over its particles (see :meth:`cosim.cell.base.CellModel.stored_energy_J`).
Its rate of change on a particle obeying Fick's law is ``sum a j U_H(c_surf)`` per electrode
volume (the reversible work and entropic heat of the reaction) minus the heat of mixing of
the concentration gradients, ``F int D (-dU_H/dc) |grad c|^2 dV`` (K. E. Thomas and J.
Newman, "Heats of mixing and of entropy in porous insertion electrodes", J. Electrochem.
Soc. 150 (2003) A176, the heat of mixing of the particles).

:class:`EnthalpyIntegral` evaluates ``int_0^sto U_H(x) dx`` for a material by a table of
Gauss-Legendre panels (``_PANELS`` uniform panels on [0, 1], ``_ORDER`` nodes each, with the
cumulative integral at the panel ends) plus one Gauss-Legendre panel from the last panel end
to ``sto``: smooth functions whose features are wider than ~1e-4 in stoichiometry (every
shipped fit; the steepest, the Doyle 1996 coke exponential, has 5e-4) are integrated to
round-off (the tests compare with adaptive quadrature).
"""

from __future__ import annotations

import numpy as np

_PANELS = 2000
_ORDER = 10
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(_ORDER)


class EnthalpyIntegral:
    """``int_0^sto U_H(x) dx`` [V] of one material, ``U_H = U_ref - T_ref dU/dT``."""

    def __init__(self, ocp_V, entropic_V_K, T_ref_K: float):
        self.ocp, self.entropic, self.T_ref = ocp_V, entropic_V_K, float(T_ref_K)
        edges = np.linspace(0.0, 1.0, _PANELS + 1)
        h = np.diff(edges)
        x = edges[:-1, None] + 0.5 * h[:, None] * (_NODES + 1.0)
        panel = 0.5 * h * (self.u_H(x) @ _WEIGHTS)
        self.edges = edges
        self.cumulative = np.concatenate(([0.0], np.cumsum(panel)))

    def u_H(self, sto) -> np.ndarray:
        """The enthalpy potential ``U_ref(sto) - T_ref dU/dT(sto)`` [V]."""
        sto = np.asarray(sto, dtype=float)
        return np.asarray(self.ocp(sto), dtype=float) - self.T_ref * np.asarray(self.entropic(sto), dtype=float)

    def __call__(self, sto) -> np.ndarray:
        sto = np.asarray(sto, dtype=float)
        k = np.clip(np.floor(sto * _PANELS).astype(int), 0, _PANELS - 1)
        x0 = self.edges[k]
        half = 0.5 * (sto - x0)
        x = x0[..., None] + half[..., None] * (_NODES + 1.0)
        return self.cumulative[k] + half * (self.u_H(x) @ _WEIGHTS)
