"""Salt diffusion through negative electrode | separator | positive electrode (batched).

``eps dc/dt = d/dx (eps^b D_e(c, T) dc/dx) + s(x)``, no flux at both current collectors,
on uniform finite volumes within each region (node positions differ per cell, as the
thicknesses do). Face coefficients are the arithmetic mean of the node values; the distance
across a face is that between node centres. A step is backward Euler with the diffusivity
taken at the start of the step, so it is linear: all cells are solved at once as one
tridiagonal system (the blocks of different cells do not touch), with LAPACK's ``gtsv``.
The salt inventory ``sum(eps dx c)`` changes by exactly ``h sum(s dx)`` (zero for the
reaction sources of a cell), so the scheme conserves salt to round-off.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from .params import CellParams


class ElectrolyteMesh:
    """Finite-volume mesh through the thickness of ``n_cells`` unit cells."""

    def __init__(self, params: CellParams, n_x: tuple[int, int, int] = (20, 20, 20)):
        n_n, n_s, n_p = n_x
        self.n_x = n_x
        self.size = n_n + n_s + n_p
        N = params.n_cells
        L = [np.broadcast_to(r.thickness_m, (N,)) for r in (params.negative, params.separator, params.positive)]
        eps = [np.broadcast_to(r.porosity, (N,)) for r in (params.negative, params.separator, params.positive)]
        brug = [np.broadcast_to(r.bruggeman, (N,)) for r in (params.negative, params.separator, params.positive)]
        counts = np.array(n_x)
        self.region = np.repeat(np.arange(3), counts)  # 0, 1, 2 per node
        self.slices = (slice(0, n_n), slice(n_n, n_n + n_s), slice(n_n + n_s, self.size))
        self.dx = np.concatenate([np.repeat((L[k] / n_x[k])[:, None], n_x[k], axis=1) for k in range(3)], axis=1)
        self.eps = np.concatenate([np.repeat(eps[k][:, None], n_x[k], axis=1) for k in range(3)], axis=1)
        self.tortuosity_factor = np.concatenate(
            [np.repeat((eps[k] ** brug[k])[:, None], n_x[k], axis=1) for k in range(3)], axis=1
        )  # eps^b: transport efficiency
        edges = np.concatenate([np.zeros((N, 1)), np.cumsum(self.dx, axis=1)], axis=1)
        self.x = 0.5 * (edges[:, 1:] + edges[:, :-1])  # node centres
        self.d_centres = np.diff(self.x, axis=1)  # (N, size - 1)
        self.thickness = [L[0], L[1], L[2]]
        self.total = L[0] + L[1] + L[2]

    def region_mean(self, values: np.ndarray, k: int) -> np.ndarray:
        """Volume (thickness) average of node values over region k (uniform cells)."""
        return values[:, self.slices[k]].mean(axis=1)

    def average(self, values: np.ndarray) -> np.ndarray:
        """Thickness average over the whole cell."""
        return (values * self.dx).sum(axis=1) / self.total


class SaltDiffusion:
    """Backward-Euler salt diffusion for a batch of cells on an :class:`ElectrolyteMesh`."""

    def __init__(self, mesh: ElectrolyteMesh, c_initial: np.ndarray):
        self.mesh = mesh
        self.c = np.repeat(np.asarray(c_initial, dtype=float)[:, None], mesh.size, axis=1)
        self.capacity = mesh.eps * mesh.dx  # eps dx per node

    def _matrix(self, h: float, diffusivity_nodes: np.ndarray):
        """Diagonals (lower, main, upper) of the stacked system, flattened over cells."""
        m = self.mesh
        k = m.tortuosity_factor * diffusivity_nodes
        g = 0.5 * (k[:, 1:] + k[:, :-1]) / m.d_centres  # face conductance (N, size - 1)
        N, n = self.c.shape
        main = self.capacity / h
        main = main.copy()
        main[:, :-1] += g
        main[:, 1:] += g
        off = np.zeros((N, n))
        off[:, :-1] = -g  # last entry of each block couples to the next cell: zero
        off = off.reshape(-1)[:-1]
        return off, main.reshape(-1), off.copy()

    def prepare(self, h: float, diffusivity_nodes: np.ndarray, unit_source: np.ndarray):
        """The affine end-of-step solution ``c(h) = c_free + c_unit * I``: the step with no
        source, and the response to the source per ampere (``unit_source``, node values of
        ``s / I``). Both columns are solved together."""
        dl, d, du = self._matrix(h, diffusivity_nodes)
        N, n = self.c.shape
        rhs = np.empty((N * n, 2), order="F")  # LAPACK's layout: no copy on the way in
        np.multiply(self.capacity / h, self.c, out=rhs[:, 0].reshape(N, n))
        np.multiply(unit_source, self.mesh.dx, out=rhs[:, 1].reshape(N, n))
        _, _, _, x, info = lapack.dgtsv(dl, d, du, rhs, overwrite_dl=True, overwrite_d=True,
                                         overwrite_du=True, overwrite_b=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"electrolyte diffusion solve failed (dgtsv info {info})")
        return x[:, 0].reshape(N, n), x[:, 1].reshape(N, n)

    def inventory(self) -> np.ndarray:
        """Salt per unit electrode area [mol/m^2], per cell."""
        return (self.capacity * self.c).sum(axis=1)
