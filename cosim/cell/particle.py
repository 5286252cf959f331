"""Solid diffusion in spherical particles, integrated exactly over a step (batched).

Each particle of radius R obeys ``dc/dt = (1/r^2) d/dr (r^2 D dc/dr)`` with the surface flux
``-D dc/dr (R) = j / F`` (j > 0: lithium leaves the particle). In the dimensionless radius
rho = r / R the finite-volume semi-discretisation on ``n`` shells (uniform, or graded
thinner towards the surface: :func:`shell_edges`; gradients between shell midpoints) is::

    dc/dt = (D / R^2) K c + g * (-j / (F R)),      K = M^-1 S,  g = e_n / v_n

with M = diag(shell volumes v_i / (4 pi)), S symmetric tridiagonal (face areas over spacing).
K is the same for every particle of the batch, so it is diagonalised once through the
generalised symmetric eigenproblem ``S phi = lambda M phi`` (M-orthonormal modes). In modal
coordinates ``c = Phi z`` the modes decouple, and for a current held constant over the step
(the co-simulation's zero-order hold) the exact solution is::

    z_k(t + h) = exp(lambda_k tau) z_k(t) + h phi1(lambda_k tau) b_k (-j / (F R)),
    tau = D h / R^2,  phi1(x) = (exp(x) - 1) / x,  b = Phi[n - 1, :]

so the step is exact in time for any step size (1 ms or 10 s alike), costs a few
elementwise operations per mode, and conserves lithium to round-off: the total amount
lives in the single mode with lambda = 0, which changes by exactly ``-h j A_s / F``.

The surface concentration is extrapolated linearly from the two outermost shell values
(as PyBaMM's finite volumes do by default), which keeps it affine in ``j`` at the end of a
step: ``c_surf(t + h) = s0 + s1 * j``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .params import F


#: the default mesh of the particles: shells, and their grading (the outermost shell is
#: ``n^-1.5`` thick instead of ``1 / n``, :func:`shell_edges`); docs/mesh_convergence.md
DEFAULT_SHELLS = 20
GRADED = 1.5


def shell_edges(n: int, grading: float = 1.0) -> np.ndarray:
    """Shell edges in the dimensionless radius: ``rho_i = 1 - (1 - i / n)^grading``; 1 is
    uniform (PyBaMM's), a grading above 1 makes the shells thinner towards the surface,
    where the concentration gradients of a discharge sit (the outermost shell is
    ``n^-grading`` thick)."""
    u = np.linspace(0.0, 1.0, n + 1)
    return 1.0 - (1.0 - u) ** grading


def _centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])


def _modes(n: int, grading: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues, M-orthonormal eigenvectors and shell volumes of the unit-sphere operator."""
    edges = shell_edges(n, grading)
    vol = (edges[1:] ** 3 - edges[:-1] ** 3) / 3.0
    face = edges[1:-1] ** 2 / np.diff(_centres(edges))  # between shells i and i + 1
    S = np.zeros((n, n))
    i = np.arange(n - 1)
    S[i, i] -= face
    S[i + 1, i + 1] -= face
    S[i, i + 1] = face
    S[i + 1, i] = face
    lam, phi = scipy.linalg.eigh(S, np.diag(vol))
    # the uniform mode, exactly (S has zero row sums): eigh's own carries round-off amplified
    # by the spread of the eigenvalues (thin outer shells), which the lithium inventory, read
    # from this mode alone, would pick up
    k0 = int(np.argmax(lam))
    lam[k0] = 0.0
    phi[:, k0] = 1.0 / np.sqrt(vol.sum())
    return lam, phi, vol


def phi1(x: np.ndarray) -> np.ndarray:
    """(exp(x) - 1) / x, accurate near 0 (x <= 0 here)."""
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + 0.5 * x, np.expm1(safe) / safe)


class ParticleBatch:
    """Particles of one active material for a batch of cells (and optionally several
    positions per cell): state shape ``(*batch, n)`` in modal coordinates.

    ``radius_m`` and the diffusivity passed to :meth:`coefficients` broadcast against the
    batch shape.
    """

    def __init__(self, n: int, batch_shape: tuple[int, ...], radius_m: np.ndarray, c_initial: np.ndarray,
                 grading: float = 1.0):
        self.n = n
        self.grading = grading
        self.lam, self.phi, self.vol = _modes(n, grading)
        self.b = self.phi[n - 1, :].copy()  # modal weight of the surface flux
        edges = shell_edges(n, grading)
        r = _centres(edges)
        self.face = edges[1:-1] ** 2 / np.diff(r)  # unit-sphere face areas / (4 pi) over the spacing
        # c_surf: linear extrapolation from the last two shell centres to rho = 1 (on uniform
        # shells 1.5 c_n - 0.5 c_{n-1})
        w = np.zeros(n)
        w[-1] = (1.0 - r[-2]) / (r[-1] - r[-2])
        w[-2] = (r[-1] - 1.0) / (r[-1] - r[-2])
        self.w_surf = w @ self.phi
        # volume average: only the uniform mode (lambda = 0) carries it, the others are
        # M-orthogonal to it; its weight alone, so that the mean (the SOC) is exactly what the
        # flux moved, without the round-off of the other modes' weights (~1e-16 each)
        self.w_mean = np.zeros(n)
        k0 = int(np.argmax(self.lam))
        self.w_mean[k0] = (self.vol / self.vol.sum()) @ self.phi[:, k0]
        self.radius = np.broadcast_to(np.asarray(radius_m, dtype=float), batch_shape)
        self.z = np.zeros((*batch_shape, n))
        self.set_uniform(c_initial)
        self._key = None

    def set_uniform(self, c: np.ndarray) -> None:
        """Set every particle to a uniform concentration ``c`` (broadcast to the batch)."""
        uniform = np.ones(self.n)
        z_uniform = self.phi.T @ (self.vol * uniform)  # M-orthonormal projection
        self.z[...] = np.asarray(c, dtype=float)[..., None] * z_uniform

    def coefficients(self, h: float, diffusivity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-mode decay ``E`` and flux gain ``G`` of a step of ``h`` seconds, such that
        ``z_new = E z + G * j`` (j in A/m^2); cached while h and D do not change."""
        D = np.broadcast_to(np.asarray(diffusivity, dtype=float), self.radius.shape)
        if self._key is None or self._key[0] != h or not np.array_equal(self._key[1], D):
            tau = (D * h / self.radius**2)[..., None]
            x = self.lam * tau
            self._E = np.exp(x)
            self._G = (h * phi1(x) * self.b) * (-1.0 / (F * self.radius))[..., None]
            self._key = (h, D.copy())
        return self._E, self._G

    def advance(self, E: np.ndarray, G: np.ndarray, j: np.ndarray) -> None:
        """Commit a step with interfacial current density ``j`` held over it."""
        self.z = E * self.z + G * np.asarray(j)[..., None]

    @property
    def surface(self) -> np.ndarray:
        return self.z @ self.w_surf

    @property
    def mean(self) -> np.ndarray:
        return self.z @ self.w_mean

    @property
    def shells(self) -> np.ndarray:
        """Shell concentrations ``(*batch, n)`` (centre first)."""
        return self.z @ self.phi.T

    @property
    def shell_fractions(self) -> np.ndarray:
        """Each shell's share of the particle volume ``(n,)`` (they sum to 1)."""
        return self.vol / self.vol.sum()
