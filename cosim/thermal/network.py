"""A general sparse RC thermal network, integrated with backward Euler, with an energy ledger.

The network has ``n`` nodes with heat capacities ``C`` [J/K], symmetric node-to-node
conductances ``G_ij`` [W/K], conductances ``Gb_ik`` [W/K] from nodes to a few boundary
temperatures ``T_b,k`` (coolant, ambient, ...) and heat sources ``q`` [W] per node:

    C_i dT_i/dt = sum_j G_ij (T_j - T_i) + sum_k Gb_ik (T_b,k - T_i) + q_i

or, with the conductance matrix ``K = L + diag(sum_k Gb_ik)`` (``L`` the weighted graph
Laplacian of ``G``), ``C dT/dt = -K T + Gb T_b + q``. This is the lumped-capacitance
network of the Modelica Standard Library's ``Modelica.Thermal.HeatTransfer`` (heat
capacitors, thermal conductors, fixed temperatures) written as one sparse system.

Time integration: backward (implicit) Euler over a step ``h`` with ``q`` and ``T_b`` held
constant (zero-order hold),

    (C/h + K) dT = q + Gb T_b - K T_old,        T_new = T_old + dT,

solved with a sparse LU factorization (SuperLU through :func:`scipy.sparse.linalg.splu`) of
``C/h + K``. The factorization is cached per step size (a few step sizes at once, so that a
macro step and its shorter last sub-step do not refactorize each other away) and dropped when
a conductance changes; ``n_factorizations`` counts them. Backward Euler is L-stable:
unconditionally stable at any step, and stiff modes (a thin layer's time constant is
milliseconds) are damped rather than carried along. Crank-Nicolson is second order but
only A-stable: its amplification factor tends to -1 for modes much faster than the step,
so a heat pulse or a coolant-temperature step makes those modes ring (sign-alternating
layer temperatures) at the 1-60 s steps a drive cycle is run with (see e.g. Hairer &
Wanner, *Solving ODEs II*, sec. IV.3, on L-stability).

The system is solved for the *increment* ``dT`` with temperatures measured from a reference
(the initial mean temperature) so that round-off scales with the temperature changes, not
with 300 K.

Energy ledger (cumulative since construction or :meth:`reset_ledger`): summing the step
equation over the nodes (the Laplacian's columns sum to zero) gives exactly

    h sum_i q_i = sum_i C_i dT_i + sum_k h sum_i Gb_ik (T_new,i - T_b,k)
    (generated)   (stored)         (removed to boundary k, at the *new* temperatures)

so generated = stored + removed closes to round-off when "removed" is booked with the
end-of-step temperatures, as the implicit step defines it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["EnergyLedger", "ThermalNetwork"]

#: step sizes whose factorizations are kept at once
FACTORIZATION_CACHE_SIZE = 4


@dataclass(frozen=True)
class EnergyLedger:
    """Cumulative energies [J] of a network since its ledger was last reset."""

    generated_J: float
    stored_J: float
    removed_J: dict[str, float]

    @property
    def removed_total_J(self) -> float:
        return math.fsum(self.removed_J.values())

    @property
    def imbalance_J(self) -> float:
        """generated - stored - removed: zero up to round-off."""
        return self.generated_J - self.stored_J - self.removed_total_J

    @property
    def relative_imbalance(self) -> float:
        """|imbalance| relative to the largest of the ledger's magnitudes (0 if all are 0)."""
        scale = max(abs(self.generated_J), abs(self.stored_J), *(abs(v) for v in self.removed_J.values()), 0.0)
        return abs(self.imbalance_J) / scale if scale > 0 else 0.0


def _name(names: Sequence[str] | None, i: int) -> str:
    return f"node {i} ({names[i]!r})" if names is not None else f"node {i}"


def _finite_vector(value, n: int, what: str, names: Sequence[str] | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what} of {_name(names, i)} is not finite ({arr[i]})")
    return arr


class ThermalNetwork:
    """Sparse RC thermal network; see the module docstring.

    Parameters
    ----------
    capacity_J_K:
        heat capacity of every node [J/K], shape ``(n,)``, all positive.
    conductance_W_K:
        node-to-node conductances [W/K]: a symmetric ``(n, n)`` scipy.sparse matrix (or
        array) with ``G[i, j]`` the conductance between nodes ``i`` and ``j``, non-negative,
        zero diagonal. ``None``: no internal conductances. See also :meth:`from_edges`.
    boundary_conductance_W_K:
        ``{boundary name: (n,) conductances [W/K] from each node to that boundary}``,
        non-negative; a scalar applies to every node.
    node_names:
        names used in messages (default: indices).
    initial_temperature_K:
        initial temperature, a scalar or ``(n,)``.
    """

    def __init__(
        self,
        capacity_J_K,
        conductance_W_K=None,
        boundary_conductance_W_K: Mapping[str, object] | None = None,
        *,
        node_names: Sequence[str] | None = None,
        initial_temperature_K=298.15,
    ):
        cap = np.asarray(capacity_J_K, dtype=float)
        if cap.ndim != 1 or cap.size == 0:
            raise ValueError(f"capacity_J_K: expected a non-empty vector, got shape {cap.shape}")
        n = cap.size
        if node_names is not None:
            node_names = [str(s) for s in node_names]
            if len(node_names) != n:
                raise ValueError(f"node_names: expected {n} names, got {len(node_names)}")
        self.node_names: list[str] | None = node_names
        cap = _finite_vector(cap, n, "heat capacity", node_names)
        bad = np.flatnonzero(cap <= 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"heat capacity of {_name(node_names, i)} must be positive, got {cap[i]:g} J/K")
        self.n_nodes = n
        self.capacity_J_K = cap
        self._G = self._check_conductance(conductance_W_K)
        self.boundary_names: list[str] = []
        gb = []
        for name, g in (boundary_conductance_W_K or {}).items():
            self.boundary_names.append(str(name))
            gb.append(self._check_boundary(str(name), g))
        self._Gb = np.column_stack(gb) if gb else np.zeros((n, 0))
        self._assemble()
        T0 = _finite_vector(initial_temperature_K, n, "initial temperature", node_names)
        self._T_ref = float(np.mean(T0))
        self._T = T0.copy()
        self._T.flags.writeable = False
        self._cache: OrderedDict[float, object] = OrderedDict()
        self.n_factorizations = 0
        self.reset_ledger()

    @classmethod
    def from_edges(cls, capacity_J_K, edges, boundary_conductance_W_K=None, **kwargs) -> "ThermalNetwork":
        """A network from an edge list ``[(i, j, G_ij), ...]`` (or three arrays ``(i, j, g)``);
        parallel edges between the same pair add up."""
        n = int(np.asarray(capacity_J_K).size)
        if isinstance(edges, tuple) and len(edges) == 3 and np.ndim(edges[0]) == 1:
            i, j, g = (np.asarray(a) for a in edges)
        else:
            rows = list(edges)
            i = np.array([int(r[0]) for r in rows], dtype=np.int64)
            j = np.array([int(r[1]) for r in rows], dtype=np.int64)
            g = np.array([float(r[2]) for r in rows], dtype=float)
        i, j, g = i.astype(np.int64), j.astype(np.int64), g.astype(float)
        names = kwargs.get("node_names")
        outside = np.flatnonzero((i < 0) | (i >= n) | (j < 0) | (j >= n))
        if outside.size:
            k = int(outside[0])
            raise ValueError(f"edge {k} ({i[k]}, {j[k]}) names a node outside 0..{n - 1}")
        loops = np.flatnonzero(i == j)
        if loops.size:
            k = int(loops[0])
            raise ValueError(f"edge {k} connects {_name(names, int(i[k]))} to itself")
        bad = np.flatnonzero(~np.isfinite(g) | (g < 0))
        if bad.size:
            k = int(bad[0])
            raise ValueError(
                f"conductance of edge {k} between {_name(names, int(i[k]))} and {_name(names, int(j[k]))} "
                f"must be finite and non-negative, got {g[k]:g} W/K"
            )
        G = sp.coo_matrix((np.concatenate([g, g]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n))
        return cls(capacity_J_K, G.tocsr(), boundary_conductance_W_K, **kwargs)

    # -- validation and assembly ---------------------------------------------------------
    def _check_conductance(self, G) -> sp.csr_matrix:
        n, names = self.n_nodes, self.node_names
        if G is None:
            return sp.csr_matrix((n, n))
        G = sp.csr_matrix(G, dtype=float)
        G.sum_duplicates()
        if G.shape != (n, n):
            raise ValueError(f"conductance matrix: expected shape ({n}, {n}), got {G.shape}")
        coo = G.tocoo()
        bad = np.flatnonzero(~np.isfinite(coo.data) | (coo.data < 0))
        if bad.size:
            k = int(bad[0])
            i, j = int(coo.row[k]), int(coo.col[k])
            raise ValueError(
                f"conductance between {_name(names, i)} and {_name(names, j)} must be finite and "
                f"non-negative, got {coo.data[k]:g} W/K"
            )
        diag = np.flatnonzero((coo.row == coo.col) & (coo.data != 0))
        if diag.size:
            i = int(coo.row[diag[0]])
            raise ValueError(f"conductance matrix has a conductance from {_name(names, i)} to itself")
        asym = abs(G - G.T).tocoo()
        tol = 1e-12 * (abs(G).max() if G.nnz else 0.0)
        big = np.flatnonzero(asym.data > tol)
        if big.size:
            i, j = int(asym.row[big[0]]), int(asym.col[big[0]])
            raise ValueError(
                f"conductance matrix is not symmetric: between {_name(names, i)} and {_name(names, j)} "
                f"G[i, j] = {G[i, j]:g} but G[j, i] = {G[j, i]:g} W/K"
            )
        G.eliminate_zeros()
        return G

    def _check_boundary(self, name: str, g) -> np.ndarray:
        arr = _finite_vector(g, self.n_nodes, f"conductance to boundary {name!r}", self.node_names)
        bad = np.flatnonzero(arr < 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"conductance from {_name(self.node_names, i)} to boundary {name!r} must be "
                f"non-negative, got {arr[i]:g} W/K"
            )
        return arr

    def _assemble(self) -> None:
        G = self._G
        self._gb_sum = self._Gb.sum(axis=1)  # per node
        self._K = (sp.diags(np.asarray(G.sum(axis=1)).ravel() + self._gb_sum) - G).tocsc()
        self._K_csr = self._K.tocsr()
        # per boundary connected to any node: its index, those nodes and their conductances
        self._bnodes = [
            (k, idx, self._Gb[idx, k].copy()) for k in range(self._Gb.shape[1])
            for idx in [np.flatnonzero(self._Gb[:, k])] if idx.size
        ]
        self._cache = OrderedDict()

    # -- changing conductances (refactorizes on the next step) ------------------------------
    def set_boundary_conductance(self, boundary: str, conductance_W_K) -> None:
        """Replace the conductances from every node to ``boundary`` (e.g. a new h)."""
        k = self._boundary_index(boundary)
        g = self._check_boundary(boundary, conductance_W_K)
        if np.array_equal(g, self._Gb[:, k]):
            return
        self._Gb = self._Gb.copy()
        self._Gb[:, k] = g
        self._assemble()

    def set_conductance(self, conductance_W_K) -> None:
        """Replace the node-to-node conductance matrix."""
        self._G = self._check_conductance(conductance_W_K)
        self._assemble()

    def boundary_conductance(self, boundary: str) -> np.ndarray:
        return self._Gb[:, self._boundary_index(boundary)].copy()

    @property
    def conductance_W_K(self) -> sp.csr_matrix:
        return self._G.copy()

    def _boundary_index(self, boundary: str) -> int:
        try:
            return self.boundary_names.index(boundary)
        except ValueError:
            raise KeyError(f"no boundary {boundary!r} (boundaries: {', '.join(self.boundary_names) or 'none'})") from None

    # -- stepping ------------------------------------------------------------------------
    @property
    def temperature_K(self) -> np.ndarray:
        """Node temperatures [K] (a read-only array, replaced on every step)."""
        return self._T

    def boundary_vector(self, boundary_temperature_K) -> np.ndarray:
        """Boundary temperatures as a vector in ``boundary_names`` order (from a mapping,
        a sequence, or a scalar for all)."""
        nb = len(self.boundary_names)
        if isinstance(boundary_temperature_K, Mapping):
            missing = [b for b in self.boundary_names if b not in boundary_temperature_K]
            extra = [b for b in boundary_temperature_K if b not in self.boundary_names]
            if missing or extra:
                raise KeyError(f"boundary temperatures: missing {missing}, unknown {extra}")
            Tb = np.array([float(boundary_temperature_K[b]) for b in self.boundary_names])
        else:
            Tb = np.asarray(boundary_temperature_K, dtype=float)
            if Tb.ndim == 0:
                Tb = np.full(nb, float(Tb))
        if Tb.shape != (nb,) or not np.all(np.isfinite(Tb)):
            raise ValueError(f"boundary temperatures: expected {nb} finite values {self.boundary_names}, got {Tb}")
        return Tb

    def factorization(self, h: float):
        """The sparse LU of ``C/h + K`` (cached per step size)."""
        lu = self._cache.get(h)
        if lu is None:
            A = (sp.diags(self.capacity_J_K / h) + self._K).tocsc()
            lu = splu(A, permc_spec="MMD_AT_PLUS_A")
            self.n_factorizations += 1
            self._cache[h] = lu
            while len(self._cache) > FACTORIZATION_CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(h)
        return lu

    def step(self, h: float, heat_W, boundary_temperature_K=(), *, check: bool = True) -> np.ndarray:
        """Advance by ``h`` seconds with ``heat_W`` (``(n,)`` [W]) and the boundary
        temperatures held; returns the new node temperatures (a new array)."""
        h = float(h)
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"step size must be positive and finite, got {h}")
        q = np.asarray(heat_W, dtype=float)
        Tb = boundary_temperature_K
        if check or not isinstance(Tb, np.ndarray):
            Tb = self.boundary_vector(Tb)
        if check:
            q = _finite_vector(q, self.n_nodes, "heat", self.node_names)
        # temperatures from the reference (see the module docstring); sparse products and
        # ufunc reductions only: a BLAS dot of long vectors can stall on a busy machine
        Tref = self._T_ref
        theta = self._T - Tref
        theta_b = Tb - Tref
        rhs = q - self._K_csr @ theta
        theta_b = theta_b.tolist()
        for k, idx, g in self._bnodes:
            rhs[idx] += g * theta_b[k]
        dT = self.factorization(h).solve(rhs)
        theta_new = theta + dT
        T = theta_new + Tref
        T.flags.writeable = False
        self._T = T
        # ledger: stored as the sum of the steps' increments, so that each step's balance is
        # exactly that of the implicit step (removed at the new temperatures)
        self._generated += h * float(q.sum())
        self._stored += float((self.capacity_J_K * dT).sum())
        removed = self._removed
        for k, idx, g in self._bnodes:  # a boundary without nodes removes nothing
            removed[k] += h * float((g * (theta_new[idx] - theta_b[k])).sum())
        return T

    def steady_state(self, heat_W, boundary_temperature_K=()) -> np.ndarray:
        """The steady temperatures for constant heat and boundary temperatures (every part
        of the network must reach a boundary); does not change the state."""
        q = _finite_vector(heat_W, self.n_nodes, "heat", self.node_names)
        Tb = self.boundary_vector(boundary_temperature_K)
        from scipy.sparse.csgraph import connected_components

        n_parts, label = connected_components(self._G, directed=False)
        reached = np.zeros(n_parts, dtype=bool)
        reached[np.unique(label[self._gb_sum > 0])] = True
        if not reached.all():
            i = int(np.flatnonzero(~reached[label])[0])
            raise ValueError(f"no steady state: {_name(self.node_names, i)} has no path to a boundary")
        Tref = self._T_ref
        rhs = q + self._Gb @ (Tb - Tref) if Tb.size else q
        return splu(self._K.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(rhs) + Tref

    # -- ledger and state ------------------------------------------------------------------
    def reset_ledger(self) -> None:
        self._generated = 0.0
        self._stored = 0.0
        self._removed = np.zeros(len(self.boundary_names))

    @property
    def ledger(self) -> EnergyLedger:
        return EnergyLedger(
            generated_J=self._generated,
            stored_J=self._stored,
            removed_J={b: float(v) for b, v in zip(self.boundary_names, self._removed)},
        )

    def ledger_totals(self) -> tuple[float, float, np.ndarray]:
        """``(generated, stored, removed per boundary)`` [J]: the ledger without building it."""
        return self._generated, self._stored, self._removed.copy()

    def get_state(self):
        """A snapshot (temperatures and ledger) for :meth:`set_state`."""
        return (self._T, self._generated, self._stored, self._removed.copy())

    def set_state(self, state) -> None:
        T, self._generated, self._stored, removed = state
        T = np.array(T, dtype=float)
        if T.shape != (self.n_nodes,):
            raise ValueError(f"state has {T.shape} temperatures, network has {self.n_nodes} nodes")
        T.flags.writeable = False
        self._T = T
        self._removed = np.array(removed, dtype=float)

    def set_temperature(self, temperature_K) -> None:
        """Set node temperatures (the ledger is not touched; reset it if wanted)."""
        T = _finite_vector(temperature_K, self.n_nodes, "temperature", self.node_names).copy()
        T.flags.writeable = False
        self._T = T
