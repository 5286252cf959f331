"""Salt diffusion through negative electrode | separator | positive electrode (batched).

``eps dc/dt = d/dx (eps^b D_e(c, T) dc/dx) + s(x)``, no flux at both current collectors,
on uniform finite volumes within each region (node positions differ per cell, as the
thicknesses do; by default :data:`DEFAULT_VOLUMES`). Face
conductances are the two half volumes in series in ``eps^b`` (exact across the jump of
porosity at a region interface) times Simpson's mean of ``D_e(c)`` over the concentrations
between the nodes (as :func:`cosim.cell.dfn_system.face_weights` for the DFN). A step is backward Euler with the diffusivity
taken at the start of the step, so it is linear: a tridiagonal system per cell, solved in
the C kernel's ``ck_prepare`` (``fmus/pack/src/cell_kernel.c``; Thomas algorithm, the step
without source and the response per ampere together). The salt inventory ``sum(eps dx
c)`` changes by exactly ``h sum(s dx)`` (zero for the reaction sources of a cell), so the
scheme conserves salt to round-off.

This module holds the mesh and the salt state; the mesh arrays are what the kernel reads.
"""

from __future__ import annotations

import numpy as np

from .params import CellParams


#: finite volumes in the negative electrode, separator and positive electrode on the default
#: mesh: the discretisation error of the salt sits in the electrodes, where the reaction
#: sources curve the profile; without sources the separator's profile is nearly linear,
#: which a few volumes resolve (docs/mesh_convergence.md: Chen2020 at 2C with harmonic faces,
#: the SPMe's salt error was 0.34 mV RMS on 28/6/26 and on 28/24/26 alike, 0.01 mV on
#: 112/6/26)
DEFAULT_VOLUMES = (20, 6, 20)


class ElectrolyteMesh:
    """Finite-volume mesh through the thickness of ``n_cells`` unit cells (``n_x``: volumes
    per region)."""

    def __init__(self, params: CellParams, n_x: tuple[int, int, int] = DEFAULT_VOLUMES):
        n_n, n_s, n_p = n_x
        self.n_x = n_x
        self.size = n_n + n_s + n_p
        N = params.n_cells
        L = [np.broadcast_to(r.thickness_m, (N,)) for r in (params.negative, params.separator, params.positive)]
        eps = [np.broadcast_to(r.porosity, (N,)) for r in (params.negative, params.separator, params.positive)]
        brug = [np.broadcast_to(r.bruggeman, (N,)) for r in (params.negative, params.separator, params.positive)]
        self.slices = (slice(0, n_n), slice(n_n, n_n + n_s), slice(n_n + n_s, self.size))
        self.dx = np.concatenate([np.repeat((L[k] / n_x[k])[:, None], n_x[k], axis=1) for k in range(3)], axis=1)
        self.eps = np.concatenate([np.repeat(eps[k][:, None], n_x[k], axis=1) for k in range(3)], axis=1)
        self.tortuosity_factor = np.concatenate(
            [np.repeat((eps[k] ** brug[k])[:, None], n_x[k], axis=1) for k in range(3)], axis=1
        )  # eps^b: transport efficiency
        edges = np.concatenate([np.zeros((N, 1)), np.cumsum(self.dx, axis=1)], axis=1)
        self.x = 0.5 * (edges[:, 1:] + edges[:, :-1])  # node centres
        self.thickness = [L[0], L[1], L[2]]
        self.total = L[0] + L[1] + L[2]


class SaltDiffusion:
    """Salt concentrations of a batch of cells on an :class:`ElectrolyteMesh` (node values,
    shape ``(n_cells, n_nodes)``), stepped by backward Euler in the SPMe kernels."""

    def __init__(self, mesh: ElectrolyteMesh, c_initial: np.ndarray):
        self.mesh = mesh
        self.c = np.repeat(np.asarray(c_initial, dtype=float)[:, None], mesh.size, axis=1)
        self.capacity = mesh.eps * mesh.dx  # eps dx per node

    def inventory(self) -> np.ndarray:
        """Salt per unit electrode area [mol/m^2], per cell."""
        return (self.capacity * self.c).sum(axis=1)
