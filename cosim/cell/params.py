"""Numeric cell parameters as the solvers consume them: SI units, batched over cells.

A :class:`CellParams` describes ``n_cells`` unit cells (negative electrode | separator |
positive electrode) at once. Every per-cell quantity is a float64 array of shape
``(n_cells,)`` (a spread between cells is just different values); material functions are
shared by all cells of a batch and vectorized over any array shape.

Conventions (as in the DFN literature and PyBaMM):

* x runs from the negative current collector (x = 0) through the separator to the
  positive current collector.
* Current ``I > 0`` is discharge. The interfacial current density ``j`` [A/m^2 of particle
  surface] is positive for oxidation (lithium leaves the particle: the negative electrode
  on discharge).
* Stoichiometry ``sto = c_s / c_max``. Butler-Volmer::

      j = i0 * (exp(alpha_a F eta / (R T)) - exp(-alpha_c F eta / (R T)))
      i0 = k * c_e**alpha_a * (c_max - c_surf)**alpha_a * c_surf**alpha_c * arrhenius(E_k)
      eta = phi_s - phi_e - U(sto_surf) - R_film * j

* Effective transport: ``kappa_eff = kappa(c_e, T) * porosity**b`` (and likewise ``D_e``),
  ``b`` = Bruggeman exponent of the region; solid conductivity is given as effective.
* Temperature: ``arrhenius(E) = exp(E / R * (1 / T_ref - 1 / T))``; open-circuit
  potentials are ``U(sto) + (T - T_ref) * dUdT(sto)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace

import numpy as np

F = 96485.33212  # C/mol, CODATA 2018
R = 8.314462618  # J/(mol K), CODATA 2018

#: f(sto) -> value, vectorized over arrays
StoFunction = Callable[[np.ndarray], np.ndarray]
#: f(c_e [mol/m^3], T [K]) -> value, vectorized over arrays
ElectrolyteFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def arrhenius(activation_energy_J_mol, T, T_ref):
    """exp(E / R * (1 / T_ref - 1 / T)); 1 when E = 0."""
    return np.exp(np.asarray(activation_energy_J_mol) / R * (1.0 / T_ref - 1.0 / np.asarray(T)))


@dataclass(frozen=True, eq=False)
class ActiveMaterial:
    """One active material of an electrode (an electrode may hold several side by side)."""

    name: str
    volume_fraction: np.ndarray  # (n,) active-material volume fraction eps_s in the electrode
    particle_radius_m: np.ndarray  # (n,)
    c_max_mol_m3: np.ndarray  # (n,)
    sto_initial: np.ndarray  # (n,) initial stoichiometry (uniform in the particle)
    sto_at_soc0: np.ndarray  # (n,) stoichiometry at 0 % SOC (for the SOC definition)
    sto_at_soc100: np.ndarray  # (n,) stoichiometry at 100 % SOC
    diffusivity_m2_s: np.ndarray  # (n,) solid diffusivity at T_ref
    diffusivity_activation_J_mol: float
    ocp_V: StoFunction  # U(sto) at T_ref [V vs Li/Li+]
    entropic_V_K: StoFunction  # dU/dT(sto) [V/K]
    rate_constant: np.ndarray  # (n,) k in A m^-2 (mol m^-3)^-(alpha_a + alpha_a + alpha_c)
    rate_activation_J_mol: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    film_resistance_Ohm_m2: np.ndarray | float = 0.0  # per m^2 of particle surface

    @property
    def surface_area_per_volume(self) -> np.ndarray:
        """a = 3 eps_s / r [1/m]"""
        return 3.0 * self.volume_fraction / self.particle_radius_m


@dataclass(frozen=True, eq=False)
class Electrode:
    thickness_m: np.ndarray  # (n,)
    porosity: np.ndarray  # (n,) electrolyte volume fraction
    bruggeman: np.ndarray  # (n,) exponent b in porosity**b
    conductivity_S_m: np.ndarray  # (n,) effective solid (electronic) conductivity
    materials: tuple[ActiveMaterial, ...]


@dataclass(frozen=True, eq=False)
class Separator:
    thickness_m: np.ndarray
    porosity: np.ndarray
    bruggeman: np.ndarray


@dataclass(frozen=True, eq=False)
class Electrolyte:
    c_initial_mol_m3: np.ndarray  # (n,)
    conductivity_S_m: ElectrolyteFunction  # kappa(c_e, T), bulk
    diffusivity_m2_s: ElectrolyteFunction  # D_e(c_e, T), bulk
    transference_number: float  # t+^0
    thermodynamic_factor: float = 1.0  # 1 + d ln f / d ln c


@dataclass(frozen=True, eq=False)
class CellParams:
    """Parameters of ``n_cells`` unit cells; see the module docstring for conventions."""

    n_cells: int
    area_m2: np.ndarray  # (n,) electrode area of one unit cell
    negative: Electrode
    separator: Separator
    positive: Electrode
    electrolyte: Electrolyte
    T_ref_K: float = 298.15
    lower_voltage_V: float = 2.5
    upper_voltage_V: float = 4.2
    contact_resistance_Ohm: np.ndarray | float = 0.0  # (n,) series resistance of the unit cell
    name: str = ""
    citations: tuple[str, ...] = field(default_factory=tuple)

    def with_(self, **changes) -> "CellParams":
        return replace(self, **changes)

    def at_soc(self, soc: float) -> "CellParams":
        """The same cells starting at rest at state of charge ``soc``: the electrode's
        lithium is that at the same fraction of every material's SOC window; materials side
        by side share it so that they are at one potential (see :func:`equilibrium_split`)."""

        def moved(el: Electrode) -> Electrode:
            linear = [m.sto_at_soc0 + soc * (m.sto_at_soc100 - m.sto_at_soc0) for m in el.materials]
            if len(el.materials) > 1:
                linear = equilibrium_split(el.materials, linear)
            mats = tuple(replace(m, sto_initial=np.asarray(s, dtype=float)) for m, s in zip(el.materials, linear))
            return replace(el, materials=mats)

        return replace(self, negative=moved(self.negative), positive=moved(self.positive))

    def take(self, cells) -> "CellParams":
        """The parameters of the cells ``cells`` (indices into this batch, in that order)
        only: every per-cell array indexed, everything shared (functions, scalars) kept.
        A model of the result advances those cells exactly as this batch's model does
        (cells never interact inside a model)."""
        idx = np.asarray(cells, dtype=int).reshape(-1)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_cells:
            raise IndexError(f"cells {idx.tolist()} are not all in 0..{self.n_cells - 1}")

        def pick(value):
            if isinstance(value, np.ndarray) and value.ndim:
                if value.shape[0] != self.n_cells:
                    raise ValueError(f"a per-cell array of shape {value.shape} in a batch of {self.n_cells} cells")
                return value[idx]
            if is_dataclass(value):
                return replace(value, **{f.name: pick(getattr(value, f.name)) for f in fields(value) if f.init})
            if isinstance(value, tuple):
                return tuple(pick(v) for v in value)
            return value

        taken = pick(self)
        return replace(taken, n_cells=int(idx.size))


def equilibrium_split(materials, sto_guess) -> list[np.ndarray]:
    """Stoichiometries of materials side by side that hold the same lithium as ``sto_guess``
    and are at one open-circuit potential (at the reference temperature). Each OCP falls
    with stoichiometry, so nested bisections on the potential and on each stoichiometry
    find it. Where a material's OCP is flat (a two-phase plateau) its stoichiometry jumps
    across the potential's final bracket ``[U_lo, U_hi]`` and the potential alone cannot hold
    the lithium; the rest is then taken up by the materials within their range over that
    bracket (in order), so the split holds exactly the lithium of ``sto_guess`` (the state
    of charge asked for; without it a seed composite anode at SOC 0.4 started at 0.396).

    Cells with the same stoichiometries and capacities are solved once; for a few distinct
    cells the potential's bracket is narrowed by up to a factor 64 per pass (63 potentials at
    once, each a bisection on the stoichiometries; ten passes: 2^60, as sixty halvings); from
    256 distinct cells on it is the plain bisection. Each bisection on a stoichiometry starts
    where the bisections at the bracket's ends part (:func:`_sto_at`). The numbers are those
    of the plain nested bisection bit for bit, with far fewer OCP calls (start-up, measured:
    a cell 60 -> 11 ms, the flagship's 384 distinct cells 119 -> 75 ms)."""
    cap = [m.volume_fraction * m.c_max_mol_m3 for m in materials]
    shape = np.broadcast_shapes(*(np.shape(a) for a in [*cap, *sto_guess]))
    if len(shape) == 1 and shape[0] > 1:  # per cell: solve each distinct cell once
        columns = np.stack([np.broadcast_to(np.asarray(a, dtype=float), shape) for a in [*sto_guess, *cap]], axis=1)
        rows, inverse = np.unique(columns, axis=0, return_inverse=True)
        if len(rows) < shape[0]:
            M = len(materials)
            split = _equilibrium_split(materials, list(rows[:, :M].T), list(rows[:, M:].T))
            return [s[inverse.reshape(-1)] for s in split]
    return _equilibrium_split(materials, sto_guess, cap)


def _equilibrium_split(materials, sto_guess, cap) -> list[np.ndarray]:
    target = np.asarray(sum(c * s for c, s in zip(cap, sto_guess)), dtype=float)
    U_lo, U_hi = np.full_like(target, -1.0), np.full_like(target, 6.0)
    # each material's stoichiometry at U_lo (lithium-rich) and U_hi (lithium-poor); NaN: not
    # computed yet (the initial bracket)
    rich = [np.full_like(target, np.nan) for _ in materials]
    poor = [np.full_like(target, np.nan) for _ in materials]
    # 2^bits - 1 potentials per pass, at most ~512 values per OCP call (a call's fixed cost
    # is that of some 400 values): 63 for a cell, 1 (plain bisection) from 256 distinct cells
    bits = int(np.clip(np.floor(np.log2(512.0 / max(target.size, 1) + 1.0)), 1, 6))
    inner = 2**bits - 1
    fraction = (np.arange(1, inner + 1) / 2.0**bits).reshape((inner,) + (1,) * target.ndim)
    for _ in range(-(-60 // bits)):  # a bracket of 7 V / 2^60 at least
        U = U_lo + fraction * (U_hi - U_lo)  # ascending
        stos = [_sto_at(m, U, p, r) for m, p, r in zip(materials, poor, rich)]
        held = sum(c * s for c, s in zip(cap, stos))
        too_much = held > target  # lithium grows as U falls: raise U (the first k potentials)
        k = too_much.sum(axis=0)
        lower, upper = np.maximum(k - 1, 0)[None], np.minimum(k, inner - 1)[None]
        moved_lo, moved_hi = k > 0, k < inner
        U_lo = np.where(moved_lo, np.take_along_axis(U, lower, axis=0)[0], U_lo)
        U_hi = np.where(moved_hi, np.take_along_axis(U, upper, axis=0)[0], U_hi)
        rich = [np.where(moved_lo, np.take_along_axis(s, lower, axis=0)[0], r) for s, r in zip(stos, rich)]
        poor = [np.where(moved_hi, np.take_along_axis(s, upper, axis=0)[0], p) for s, p in zip(stos, poor)]
    U = 0.5 * (U_lo + U_hi)
    sto = [_sto_at(m, U, p, r) for m, p, r in zip(materials, poor, rich)]
    rest = target - sum(c * s for c, s in zip(cap, sto))
    for k, (c, m) in enumerate(zip(cap, materials)):
        lithium_poor, lithium_rich = _sto_at(m, U_hi, poor[k], poor[k]), _sto_at(m, U_lo, rich[k], rich[k])
        moved = np.minimum(np.maximum(sto[k] + rest / c, lithium_poor), lithium_rich)
        rest = rest - c * (moved - sto[k])
        sto[k] = moved
    return sto


_LEVELS = 50  # the bisection's halvings of [0, 1]: results are odd multiples of 2^-51


def _sto_at(m, U, poor, rich):
    """The stoichiometry of material ``m`` at potential(s) ``U`` by bisection of [0, 1] in
    50 halvings (the OCP falls with stoichiometry), started where it must pass: ``poor`` and
    ``rich`` (broadcast to ``U``; NaN: unknown) are this bisection's results at potentials
    above and below ``U``. Their paths share the halvings down to the dyadic cell holding
    both, and so does the path for any potential between them (at each shared halving the
    OCP at the midpoint is above both or at most both, hence above U or at most U): the
    bisection starts in that cell, with the same numbers as from [0, 1]."""
    U = np.asarray(U, dtype=float)
    poor, rich = np.broadcast_to(poor, U.shape), np.broadcast_to(rich, U.shape)
    scale = 2.0 ** (_LEVELS + 1)
    known = np.isfinite(poor) & np.isfinite(rich)
    a = np.where(known, poor, 0.0) * scale  # exact integers below 2^51
    b = np.where(known, rich, 0.0) * scale
    differing = np.frexp(np.abs(a.astype(np.int64) ^ b.astype(np.int64)).astype(float))[1]  # highest bit
    level = np.where(known, np.minimum(_LEVELS + 1 - differing, _LEVELS), 0)
    cell = 2.0 ** -level
    lo = np.where(level > 0, np.floor(np.where(known, poor, 0.0) / cell) * cell, 0.0)
    hi = lo + cell
    left = _LEVELS - level
    for it in range(int(left.max(initial=0))):
        mid = 0.5 * (lo + hi)
        above = m.ocp_V(mid) > U  # potential still above U: more lithium needed
        go = it < left
        lo, hi = np.where(go & above, mid, lo), np.where(go & ~above, mid, hi)
    return 0.5 * (lo + hi)
