"""The parameters of a batch of cells as the C cell kernels take them.

:class:`CellData` is a named tuple of numpy arrays, built by
:meth:`cosim.cell.spme.SPMe._cell_data` and converted once per batch into the C struct
``CkCells`` of ``fmus/pack/src/cell_kernel.h`` (:class:`cosim.pack.c_kernel.CKernel`, same
field names, same shapes); the pack FMU's resource file carries the same fields
(:mod:`cosim.pack.export_data`). Material arrays have a leading axis over the materials of
both electrodes (negative first, ``mat_start = [0, m_negative, m_total]``); material
functions are the ``(code, params)`` specs of :mod:`cosim.cell.functions`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CellData"]


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
    total: np.ndarray  # (N,) cell thickness
    lam: np.ndarray  # (n_r,) eigenvalues of the unit-sphere operator
    b: np.ndarray  # (n_r,) modal weight of the surface flux
    w_surf: np.ndarray  # (n_r,) surface extrapolation in modal coordinates
    w_mean: np.ndarray  # (n_r,) volume average in modal coordinates
    phi: np.ndarray  # (n_r, n_r) shell concentrations from the modes: c = phi @ z
    face: np.ndarray  # (n_r - 1,) unit-sphere face areas / (4 pi) over the shell spacing
    uH_table: np.ndarray  # (M, n + 1, 2) enthalpy potential tables (:mod:`cosim.cell.mixing_kernels`)
