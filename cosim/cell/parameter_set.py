"""Cell parameter sets: TOML files with units in every key, validated, turned into
:class:`~cosim.cell.params.CellParams` for the solvers.

A parameter set describes one unit cell (negative electrode | separator | positive
electrode) with its electrolyte. Shipped sets live in ``cosim/data/parameters/*.toml``
(see the README there); :func:`load_parameter_set` takes a shipped set's bare name
(``"chen2020"``) or the path of a user file.

File format
-----------
Every key carries its SI unit in its name, written with underscores: ``_m``, ``_m2``,
``_m2_s`` (m^2/s), ``_mol_m3`` (mol/m^3), ``_J_mol`` (J/mol), ``_S_m`` (S/m), ``_V``,
``_V_K`` (V/K), ``_K``, ``_Ohm_m2`` (Ohm m^2), ``_Ah``; ``rate_constant_A_m2_m3mol1p5`` is
in A m^-2 (m^3/mol)^1.5, i.e. A m^-2 (mol m^-3)^-(2 alpha_a + alpha_c) for the usual
alpha_a = alpha_c = 0.5. Keys without a unit are dimensionless (porosity, bruggeman,
volume_fraction, sto_*, alpha_*, transference_number, thermodynamic_factor)::

    [meta]
    name = "chen2020"
    description = "LG M50 (NMC811 | graphite-SiOx) ..."
    citations = ["Chen et al., J. Electrochem. Soc. 167 (2020) 080534"]
    notes = ["..."]

    [cell]
    area_m2 = 0.1027                  # electrode area of one unit cell
    lower_voltage_V = 2.5
    upper_voltage_V = 4.2
    reference_temperature_K = 298.15  # T_ref of every Arrhenius factor and of the OCPs
    contact_resistance_Ohm_m2 = 0.0   # area-specific series resistance of the unit cell
    nominal_capacity_Ah = 5.0         # optional, informative

    [negative]                        # and [positive]
    thickness_m = 85.2e-6
    porosity = 0.25                   # electrolyte volume fraction
    bruggeman = 1.5                   # kappa_eff = kappa * porosity**bruggeman
    conductivity_S_m = 215.0          # EFFECTIVE solid (electronic) conductivity

    [[negative.materials]]            # one table per active material (composites: several)
    name = "graphite"
    volume_fraction = 0.75
    particle_radius_m = 5.86e-6
    max_concentration_mol_m3 = 33133.0
    sto_initial = 0.9014
    sto_at_soc0 = 0.0263              # stoichiometries that define 0 % and 100 % SOC
    sto_at_soc100 = 0.9106
    diffusivity_m2_s = 3.3e-14        # at reference_temperature_K
    diffusivity_activation_J_mol = 0.0
    ocp_V = "chen2020_graphite_ocp"   # U(sto) at reference_temperature_K
    entropic_V_K = 0.0                # dU/dT(sto)
    rate_constant_A_m2_m3mol1p5 = 6.48e-7
    rate_activation_J_mol = 35000.0
    alpha_a = 0.5                     # optional (0.5)
    alpha_c = 0.5                     # optional (0.5)
    film_resistance_Ohm_m2 = 0.0      # optional (0); per m^2 of particle surface

    [separator]
    thickness_m = 12e-6
    porosity = 0.47                   # (0, 1]: 1 for a gel/polymer film without matrix
    bruggeman = 1.5

    [electrolyte]
    initial_concentration_mol_m3 = 1000.0
    conductivity_S_m = "nyman2008_conductivity"   # bulk kappa(c_e) at reference_temperature_K
    conductivity_activation_J_mol = 0.0
    diffusivity_m2_s = "nyman2008_diffusivity"
    diffusivity_activation_J_mol = 0.0
    transference_number = 0.2594
    thermodynamic_factor = 1.0        # optional (1)

A material function (``ocp_V``, ``entropic_V_K``, the electrolyte's ``conductivity_S_m``
and ``diffusivity_m2_s``) is one of

* a number (a constant),
* the name of a function in :data:`cosim.cell.functions.FUNCTIONS`,
* a table of samples, interpolated linearly: ``{ sto = [...], V = [...] }`` for ``ocp_V``,
  ``{ sto = [...], V_K = [...] }`` for ``entropic_V_K``, ``{ c_mol_m3 = [...], S_m = [...] }``
  and ``{ c_mol_m3 = [...], m2_s = [...] }`` for the electrolyte,
* a factory call: ``{ function = "tanh_staircase", plateaus_V = [...], steps_sto = [...],
  width_sto = 0.01 }`` (any factory of the registry with its keyword arguments).

Temperature dependence of the electrolyte functions is an Arrhenius factor with the
``*_activation_J_mol`` keys (:class:`~cosim.cell.functions.ElectrolyteArrhenius`).

Validation
----------
Values are checked at load: every problem is reported at once in one
:class:`~cosim.errors.ScenarioError`, each with its dotted key
(``negative.materials.0.sto_at_soc0``), the allowed range, the file and the line. Beyond
the per-key ranges, the checks are: porosity plus the active volume fractions at most 1
(the rest is inert binder/filler), SOC-window stoichiometries distinct and in the right
direction (the negative is lithiated when charged, the positive delithiated), materials of
one electrode at the same potential (within :data:`EQUILIBRIUM_TOLERANCE_V`) at 0 % and
100 % SOC and initially, material functions finite (and the electrolyte's positive) where
they are used, and capacities consistent: the lithium moved between 0 % and 100 % SOC must
be the same in both electrodes within :data:`CAPACITY_BALANCE_RTOL`.

:meth:`ParameterSet.rebalanced` recomputes the SOC windows from the voltage limits and the
cyclable lithium of the initial state (the electrode state-of-health convention of
PyBaMM (ElectrodeSOH, after Mohtat et al. 2019).
:meth:`ParameterSet.with_overrides` does that by itself when a change (a thickness, a
volume fraction) leaves the windows inconsistent.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
)

from ..data import PARAMETERS_DIR
from ..errors import Problem, ScenarioError
from ..scenario.issues import Issue, did_you_mean, dotted, from_validation_error
from ..scenario.loader import read_toml
from ..scenario.tomlkeys import key_lines
from . import functions as fn
from .params import F, ActiveMaterial, CellParams, Electrode, Electrolyte, Separator

__all__ = [
    "CAPACITY_BALANCE_RTOL",
    "EQUILIBRIUM_TOLERANCE_V",
    "PARAMETERS_DIR",
    "ParameterSet",
    "available_parameter_sets",
    "load_parameter_set",
    "validate_parameter_data",
]

#: largest relative difference allowed between the lithium the negative and the positive
#: exchange between 0 % and 100 % SOC
CAPACITY_BALANCE_RTOL = 0.02
#: largest OCP difference allowed between materials of one electrode at 0 %, 100 % SOC and
#: in the initial state (they must be in equilibrium with each other)
EQUILIBRIUM_TOLERANCE_V = 0.01

Key = tuple[str | int, ...]

from .parameter_fields import (  # noqa: E402
    Bruggeman,
    ClosedUnit,
    ConductivitySpec,
    DiffusivitySpec,
    EntropicSpec,
    HalfOpenUnit,
    Name,
    NonNegative,
    OcpSpec,
    OpenUnit,
    Positive,
    Temperature,
    Voltage,
    _STRICT,
    build_function,
)


class Meta(BaseModel):
    """``[meta]``: what the set is and where its numbers come from."""

    model_config = _STRICT

    name: Name
    description: Name
    citations: Annotated[list[Name], Field(min_length=1)]
    notes: list[str] = Field(default_factory=list)


class CellSection(BaseModel):
    """``[cell]``: geometry and limits of one unit cell."""

    model_config = _STRICT

    area_m2: Positive
    lower_voltage_V: Voltage
    upper_voltage_V: Voltage
    reference_temperature_K: Temperature = 298.15
    contact_resistance_Ohm_m2: NonNegative = 0.0
    nominal_capacity_Ah: Positive | None = None


class Material(BaseModel):
    """``[[negative.materials]]`` / ``[[positive.materials]]``: one active material."""

    model_config = _STRICT

    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    description: str = ""
    volume_fraction: OpenUnit
    particle_radius_m: Positive
    max_concentration_mol_m3: Positive
    sto_initial: OpenUnit
    sto_at_soc0: ClosedUnit
    sto_at_soc100: ClosedUnit
    diffusivity_m2_s: Positive
    diffusivity_activation_J_mol: NonNegative
    ocp_V: OcpSpec
    entropic_V_K: EntropicSpec
    rate_constant_A_m2_m3mol1p5: Positive
    rate_activation_J_mol: NonNegative
    alpha_a: OpenUnit = 0.5
    alpha_c: OpenUnit = 0.5
    film_resistance_Ohm_m2: NonNegative = 0.0


class ElectrodeSection(BaseModel):
    """``[negative]`` / ``[positive]``: a porous electrode and its active materials."""

    model_config = _STRICT

    thickness_m: Positive
    porosity: OpenUnit
    bruggeman: Bruggeman
    conductivity_S_m: Positive
    materials: Annotated[list[Material], Field(min_length=1)]


class SeparatorSection(BaseModel):
    """``[separator]``"""

    model_config = _STRICT

    thickness_m: Positive
    porosity: HalfOpenUnit
    bruggeman: Bruggeman


class ElectrolyteSection(BaseModel):
    """``[electrolyte]``: the salt solution, gel or polymer filling the pores."""

    model_config = _STRICT

    description: str = ""
    initial_concentration_mol_m3: Positive
    conductivity_S_m: ConductivitySpec
    conductivity_activation_J_mol: NonNegative
    diffusivity_m2_s: DiffusivitySpec
    diffusivity_activation_J_mol: NonNegative
    transference_number: HalfOpenUnit
    thermodynamic_factor: Positive = 1.0


_SECTIONS: dict[str, type[BaseModel]] = {
    "meta": Meta,
    "cell": CellSection,
    "negative": ElectrodeSection,
    "separator": SeparatorSection,
    "positive": ElectrodeSection,
    "electrolyte": ElectrolyteSection,
}

_STO_GRID = np.linspace(0.0, 1.0, 2001)
#: a stoichiometry this close to 0 or 1 counts as an empty or full material
_SATURATED = 1e-9


class ParameterSet(BaseModel):
    """A validated cell parameter set (see the module docstring for the file format)."""

    model_config = _STRICT

    meta: Meta
    cell: CellSection
    negative: ElectrodeSection
    separator: SeparatorSection
    positive: ElectrodeSection
    electrolyte: ElectrolyteSection

    _path: Path | None = PrivateAttr(None)
    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def path(self) -> Path | None:
        """The file the set was loaded from (None if built in code)."""
        return self._path

    @property
    def overrides(self) -> dict[str, Any]:
        """Dotted keys changed by :meth:`with_overrides` since loading."""
        return dict(self._overrides)

    def electrode(self, side: str) -> ElectrodeSection:
        if side not in ("negative", "positive"):
            raise ValueError(f"side must be 'negative' or 'positive', got {side!r}")
        return self.negative if side == "negative" else self.positive

    # -- capacities -------------------------------------------------------------------------
    def _material_capacities_As(self, side: str) -> list[float]:
        """F A L eps_s c_max [A s] of each material of an electrode (all sites)."""
        el = self.electrode(side)
        base = F * self.cell.area_m2 * el.thickness_m
        return [base * m.volume_fraction * m.max_concentration_mol_m3 for m in el.materials]

    def theoretical_capacity_As(self) -> dict[str, float]:
        """Charge [A s] that fills every lithium site of each electrode (sto 0 to 1):
        ``{"negative": ..., "positive": ...}``."""
        return {side: sum(self._material_capacities_As(side)) for side in ("negative", "positive")}

    def window_capacity_As(self) -> dict[str, float]:
        """Charge [A s] each electrode exchanges between 0 % and 100 % SOC."""
        out = {}
        for side in ("negative", "positive"):
            qs = self._material_capacities_As(side)
            mats = self.electrode(side).materials
            out[side] = sum(q * abs(m.sto_at_soc100 - m.sto_at_soc0) for q, m in zip(qs, mats))
        return out

    def usable_capacity_As(self) -> float:
        """The cell's usable capacity [A s] between 0 % and 100 % SOC (the smaller of the
        two electrodes' window capacities; validation keeps them within
        :data:`CAPACITY_BALANCE_RTOL`)."""
        return min(self.window_capacity_As().values())

    def cyclable_lithium_As(self) -> float:
        """Lithium [A s] held by the active materials of both electrodes initially."""
        total = 0.0
        for side in ("negative", "positive"):
            for q, m in zip(self._material_capacities_As(side), self.electrode(side).materials):
                total += q * m.sto_initial
        return total

    # -- conversion -------------------------------------------------------------------------
    def to_cell_params(self, n_cells: int = 1) -> CellParams:
        """The numeric parameters of ``n_cells`` identical unit cells (every per-cell value
        an array of shape ``(n_cells,)``)."""
        if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 1:
            raise ValueError(f"n_cells must be a positive integer, got {n_cells!r}")
        n = int(n_cells)

        def full(x: float) -> np.ndarray:
            return np.full(n, float(x), dtype=np.float64)

        def electrode(el: ElectrodeSection) -> Electrode:
            materials = tuple(
                ActiveMaterial(
                    name=m.name,
                    volume_fraction=full(m.volume_fraction),
                    particle_radius_m=full(m.particle_radius_m),
                    c_max_mol_m3=full(m.max_concentration_mol_m3),
                    sto_initial=full(m.sto_initial),
                    sto_at_soc0=full(m.sto_at_soc0),
                    sto_at_soc100=full(m.sto_at_soc100),
                    diffusivity_m2_s=full(m.diffusivity_m2_s),
                    diffusivity_activation_J_mol=float(m.diffusivity_activation_J_mol),
                    ocp_V=build_function(m.ocp_V),
                    entropic_V_K=build_function(m.entropic_V_K),
                    rate_constant=full(m.rate_constant_A_m2_m3mol1p5),
                    rate_activation_J_mol=float(m.rate_activation_J_mol),
                    alpha_a=float(m.alpha_a),
                    alpha_c=float(m.alpha_c),
                    film_resistance_Ohm_m2=full(m.film_resistance_Ohm_m2),
                )
                for m in el.materials
            )
            return Electrode(
                thickness_m=full(el.thickness_m),
                porosity=full(el.porosity),
                bruggeman=full(el.bruggeman),
                conductivity_S_m=full(el.conductivity_S_m),
                materials=materials,
            )

        T_ref = float(self.cell.reference_temperature_K)
        e = self.electrolyte
        return CellParams(
            n_cells=n,
            area_m2=full(self.cell.area_m2),
            negative=electrode(self.negative),
            separator=Separator(
                thickness_m=full(self.separator.thickness_m),
                porosity=full(self.separator.porosity),
                bruggeman=full(self.separator.bruggeman),
            ),
            positive=electrode(self.positive),
            electrolyte=Electrolyte(
                c_initial_mol_m3=full(e.initial_concentration_mol_m3),
                conductivity_S_m=_electrolyte_function(
                    e.conductivity_S_m, e.conductivity_activation_J_mol, T_ref
                ),
                diffusivity_m2_s=_electrolyte_function(
                    e.diffusivity_m2_s, e.diffusivity_activation_J_mol, T_ref
                ),
                transference_number=float(e.transference_number),
                thermodynamic_factor=float(e.thermodynamic_factor),
            ),
            T_ref_K=T_ref,
            lower_voltage_V=float(self.cell.lower_voltage_V),
            upper_voltage_V=float(self.cell.upper_voltage_V),
            contact_resistance_Ohm=full(self.cell.contact_resistance_Ohm_m2 / self.cell.area_m2),
            name=self.meta.name,
            citations=tuple(self.meta.citations),
        )

    # -- changes ----------------------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        """The set as plain TOML-like data (what a file holds)."""
        return self.model_dump(mode="python", exclude_none=True)

    def with_overrides(
        self, overrides: Mapping[str, Any], rebalance: bool | None = None
    ) -> "ParameterSet":
        """A copy with dotted keys replaced (``{"negative.thickness_m": 10e-6,
        "negative.materials.0.volume_fraction": 0.6}``), validated again.

        A change of thickness, volume fraction, c_max or lithium content leaves the SOC
        windows inconsistent; ``rebalance`` says what then happens: ``None`` (default)
        recomputes the windows with :meth:`rebalanced` when the changed set fails only the
        lithium-state checks and no ``sto_at_soc0``/``sto_at_soc100`` was overridden;
        ``True`` always rebalances; ``False`` never does (the inconsistency is an error).
        Raises :class:`~cosim.errors.ScenarioError` naming every bad key."""
        data = self.to_data()
        problems = []
        for key, value in overrides.items():
            try:
                _set_dotted(data, key, value)
            except KeyError as exc:
                problems.append(Problem(key, f"cannot override: {exc.args[0]}"))
        if problems:
            raise ScenarioError(problems)
        ps, issues = validate_parameter_data(data, check_balance=False)
        if ps is None:
            raise ScenarioError(_issue_problems(issues, None, None))
        state_issues = _state_issues(ps)
        windows_given = any(
            str(k).endswith(("sto_at_soc0", "sto_at_soc100")) for k in overrides
        )
        if rebalance or (rebalance is None and state_issues and not windows_given):
            ps = ps._rebalanced_or_raise(problem_file=None)
        elif state_issues:
            raise ScenarioError(_issue_problems(state_issues, None, None))
        ps._path = self._path
        ps._overrides = {**self._overrides, **dict(overrides)}
        return ps

    def rebalanced(self) -> "ParameterSet":
        """A copy whose SOC windows (``sto_at_soc0``/``sto_at_soc100`` of every material)
        are recomputed: the cyclable lithium of the initial state is kept, 100 % SOC is the
        equilibrium state at ``upper_voltage_V`` and 0 % SOC the one at ``lower_voltage_V``
        (materials of one electrode at a common potential). This is PyBaMM's electrode
        state-of-health convention (Mohtat et al. 2019)."""
        return self._rebalanced_or_raise(problem_file=self._path)

    def _rebalanced_or_raise(self, problem_file: Path | None) -> "ParameterSet":
        q_li = self.cyclable_lithium_As()
        windows = {}
        for soc, key in ((0, "lower_voltage_V"), (100, "upper_voltage_V")):
            voltage = getattr(self.cell, key)
            state = _equilibrium_at_voltage(self, q_li, voltage)
            if state is None:
                raise ScenarioError([Problem(
                    f"cell.{key}",
                    f"the open-circuit voltage {voltage:g} V cannot be reached with the "
                    f"cyclable lithium of the initial state ({q_li / 3600:.6g} A h): check "
                    "sto_initial, thicknesses and volume fractions",
                    problem_file,
                )])
            windows[soc] = state
        data = self.to_data()
        for side in ("negative", "positive"):
            for i, mat in enumerate(data[side]["materials"]):
                mat["sto_at_soc0"] = round(float(windows[0][side][i]), 10)
                mat["sto_at_soc100"] = round(float(windows[100][side][i]), 10)
        ps, issues = validate_parameter_data(data)
        if ps is None:
            raise ScenarioError(_issue_problems(issues, problem_file, None))
        ps._path, ps._overrides = self._path, dict(self._overrides)
        return ps


def _electrolyte_function(spec: Any, activation_J_mol: float, T_ref: float):
    base = build_function(spec)
    if activation_J_mol == 0.0:
        return base
    return fn.ElectrolyteArrhenius(base, float(activation_J_mol), T_ref)


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
    if not key or any(p == "" for p in parts):
        raise KeyError(f"bad key {key!r}")
    node: Any = data
    for n, part in enumerate(parts[:-1]):
        where = dotted(parts[: n + 1])
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise KeyError(f"no item {where!r} (there are {len(node)})")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(f"no table {where!r}")
            node = node[part]
        else:
            raise KeyError(f"{dotted(parts[:n])!r} is not a table")
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not 0 <= last < len(node):
            raise KeyError(f"no item {key!r} (there are {len(node)})")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value  # unknown keys are reported by validation
    else:
        raise KeyError(f"{dotted(parts[:-1])!r} is not a table")


# --------------------------------------------------------------------------------------
# equilibrium (open-circuit) states
# --------------------------------------------------------------------------------------


def _sto_at_potential(ocp: Callable, U, grid_u: np.ndarray | None = None) -> np.ndarray:
    """Stoichiometry where ``ocp`` (a decreasing OCP) first falls to ``U`` coming from
    sto = 0: 0 if U is above the OCP everywhere, 1 if below (vectorized over U).
    ``grid_u`` is ``ocp`` sampled on ``_STO_GRID`` (computed if not given)."""
    U = np.atleast_1d(np.asarray(U, dtype=np.float64))
    if grid_u is None:
        grid_u = np.asarray(ocp(_STO_GRID), dtype=np.float64)
    below = grid_u[None, :] <= U[:, None]
    first = np.where(below.any(axis=1), below.argmax(axis=1), _STO_GRID.size)
    out = np.empty_like(U)
    out[first == 0] = 0.0
    out[first == _STO_GRID.size] = 1.0
    mid = (first > 0) & (first < _STO_GRID.size)
    if mid.any():
        lo = _STO_GRID[first[mid] - 1].copy()
        hi = _STO_GRID[first[mid]].copy()
        target = U[mid]
        for _ in range(32):
            m = 0.5 * (lo + hi)
            above = np.asarray(ocp(m)) > target
            lo = np.where(above, m, lo)
            hi = np.where(above, hi, m)
        out[mid] = 0.5 * (lo + hi)
    return out


class _ElectrodeOcv:
    """Open-circuit relations of one electrode: lithium content [A s] <-> potential."""

    def __init__(self, ps: ParameterSet, side: str):
        el = ps.electrode(side)
        self.q = np.array(ps._material_capacities_As(side))
        self.ocps = [build_function(m.ocp_V) for m in el.materials]
        with np.errstate(all="ignore"):
            self.grids = [np.asarray(u(_STO_GRID), dtype=np.float64) for u in self.ocps]
        self.total = float(self.q.sum())
        values = np.concatenate(self.grids)
        values = values[np.isfinite(values)]
        self.u_lo, self.u_hi = float(values.min()) - 1.0, float(values.max()) + 1.0

    def stoichiometries(self, U) -> list[np.ndarray]:
        return [_sto_at_potential(u, U, g) for u, g in zip(self.ocps, self.grids)]

    def lithium(self, U) -> np.ndarray:
        return sum(q * s for q, s in zip(self.q, self.stoichiometries(U)))

    def state(self, n) -> tuple[np.ndarray, list[np.ndarray]]:
        """Potential and material stoichiometries at lithium content ``n`` [A s]
        (vectorized; NaN potential outside [0, total]). Materials side by side share the
        potential; where an OCP is flat the split follows from conserving lithium."""
        n = np.atleast_1d(np.asarray(n, dtype=np.float64))
        inside = (n >= 0) & (n <= self.total)
        if len(self.ocps) == 1:
            sto = np.clip(n / self.total, 0.0, 1.0)
            with np.errstate(all="ignore"):
                u = np.asarray(self.ocps[0](sto), dtype=np.float64)
            return np.where(inside, u, np.nan), [sto]
        lo = np.full_like(n, self.u_lo)  # lithium(lo) >= n >= lithium(hi)
        hi = np.full_like(n, self.u_hi)
        for _ in range(52):
            m = 0.5 * (lo + hi)
            more = self.lithium(m) >= n
            lo = np.where(more, m, lo)
            hi = np.where(more, hi, m)
        s_lo, s_hi = self.stoichiometries(lo), self.stoichiometries(hi)
        n_lo = sum(q * s for q, s in zip(self.q, s_lo))
        n_hi = sum(q * s for q, s in zip(self.q, s_hi))
        span = n_lo - n_hi
        t = np.where(span > 0, (n_lo - n) / np.where(span > 0, span, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        stos = [a + t * (b - a) for a, b in zip(s_lo, s_hi)]
        return np.where(inside, 0.5 * (lo + hi), np.nan), stos


def _equilibrium_at_voltage(ps: ParameterSet, q_li: float, voltage: float):
    """Stoichiometries of every material at open-circuit ``voltage`` with total lithium
    ``q_li`` [A s], or None if not reachable. Solved for the lithium held by the negative,
    on which the open-circuit voltage depends monotonically (and well-conditioned also
    where an OCP is flat)."""
    neg, pos = _ElectrodeOcv(ps, "negative"), _ElectrodeOcv(ps, "positive")
    lo, hi = max(0.0, q_li - pos.total), min(neg.total, q_li)
    if not hi > lo:
        return None

    def gap(n_neg: np.ndarray) -> np.ndarray:  # increases with n_neg
        with np.errstate(all="ignore"):
            return pos.state(q_li - n_neg)[0] - neg.state(n_neg)[0] - voltage

    a, b = lo, hi
    for _ in range(8):
        grid = np.linspace(a, b, 65)
        g = gap(grid)
        if np.isnan(g).any() or not (g[0] <= 0 <= g[-1]):
            return None
        k = int(np.argmax(g >= 0))
        if k == 0:
            a = b = grid[0]
            break
        a, b = grid[k - 1], grid[k]
    n_neg = np.array([0.5 * (a + b)])
    if abs(gap(n_neg)[0]) > 1e-6:
        return None
    return {
        "negative": [float(s[0]) for s in neg.state(n_neg)[1]],
        "positive": [float(s[0]) for s in pos.state(q_li - n_neg)[1]],
    }


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _electrode_issues(el: ElectrodeSection, side: str) -> list[Issue]:
    issues = []
    total = sum(m.volume_fraction for m in el.materials)
    if el.porosity + total > 1.0 + 1e-12:
        issues.append(Issue(
            (side, "porosity"),
            f"porosity plus the active materials' volume fractions must be at most 1 (the "
            f"rest is inert binder/filler), got {el.porosity:g} + {total:g} = "
            f"{el.porosity + total:g}; allowed porosity with these materials: "
            f"(0, {max(0.0, 1.0 - total):g}]",
        ))
    seen: dict[str, int] = {}
    for i, m in enumerate(el.materials):
        loc = (side, "materials", i)
        if m.name in seen:
            issues.append(Issue((*loc, "name"), f"duplicate material name {m.name!r} (also "
                                                 f"{side}.materials.{seen[m.name]})"))
        seen.setdefault(m.name, i)
        if m.sto_at_soc0 == m.sto_at_soc100:
            issues.append(Issue((*loc, "sto_at_soc100"),
                                f"must differ from sto_at_soc0 ({m.sto_at_soc0:g})"))
        elif side == "negative" and not m.sto_at_soc100 > m.sto_at_soc0:
            issues.append(Issue(
                (*loc, "sto_at_soc100"),
                f"must be in (sto_at_soc0, 1] = ({m.sto_at_soc0:g}, 1]: the negative electrode "
                f"is lithiated when charged, got {m.sto_at_soc100:g}",
            ))
        elif side == "positive" and not m.sto_at_soc100 < m.sto_at_soc0:
            issues.append(Issue(
                (*loc, "sto_at_soc100"),
                f"must be in [0, sto_at_soc0) = [0, {m.sto_at_soc0:g}): the positive electrode "
                f"is delithiated when charged, got {m.sto_at_soc100:g}",
            ))
        for key in ("ocp_V", "entropic_V_K"):
            f = build_function(getattr(m, key))
            lo = min(m.sto_at_soc0, m.sto_at_soc100, m.sto_initial)
            hi = max(m.sto_at_soc0, m.sto_at_soc100, m.sto_initial)
            with np.errstate(all="ignore"):
                values = np.asarray(f(np.linspace(lo, hi, 201)), dtype=float)
            if not np.all(np.isfinite(values)):
                issues.append(Issue((*loc, key), f"is not finite everywhere between "
                                                  f"sto {lo:g} and {hi:g}"))
    return issues


def _equilibrium_issues(el: ElectrodeSection, side: str) -> list[Issue]:
    """Materials side by side must share one potential; a material that is empty (sto 0)
    or full (sto 1) is consistent with any potential above U(0) or below U(1)."""
    issues = []
    if len(el.materials) < 2:
        return issues
    for key in ("sto_at_soc0", "sto_at_soc100", "sto_initial"):
        lo, hi, listing = -math.inf, math.inf, []
        for m in el.materials:
            sto = getattr(m, key)
            u = float(build_function(m.ocp_V)(sto))
            if sto <= _SATURATED:
                lo = max(lo, u)
                listing.append(f"{m.name} empty (U(0) = {u:.4f} V)")
            elif sto >= 1.0 - _SATURATED:
                hi = min(hi, u)
                listing.append(f"{m.name} full (U(1) = {u:.4f} V)")
            else:
                lo, hi = max(lo, u), min(hi, u)
                listing.append(f"{m.name} {u:.4f} V")
        if lo - hi > EQUILIBRIUM_TOLERANCE_V:
            issues.append(Issue(
                (side, "materials"),
                f"materials are not in equilibrium at {key} (OCPs: {', '.join(listing)}); "
                f"they must agree within {EQUILIBRIUM_TOLERANCE_V * 1000:g} mV (use "
                "ParameterSet.rebalanced() to derive consistent windows)",
            ))
    return issues


def _cell_issues(cell: CellSection) -> list[Issue]:
    if not cell.upper_voltage_V > cell.lower_voltage_V:
        return [Issue(("cell", "upper_voltage_V"),
                      f"must be in (lower_voltage_V, 10) = ({cell.lower_voltage_V:g}, 10) V, "
                      f"got {cell.upper_voltage_V:g}")]
    return []


def _electrolyte_issues(e: ElectrolyteSection, T_ref: float) -> list[Issue]:
    issues = []
    c0 = np.array([e.initial_concentration_mol_m3])
    for key in ("conductivity_S_m", "diffusivity_m2_s"):
        with np.errstate(all="ignore"):
            value = float(np.asarray(build_function(getattr(e, key))(c0, np.array([T_ref])))[0])
        if not (math.isfinite(value) and value > 0):
            issues.append(Issue(("electrolyte", key),
                                f"must be positive at the initial concentration "
                                f"{e.initial_concentration_mol_m3:g} mol/m^3, got {value!r}"))
    return issues


def _balance_issues(ps: ParameterSet) -> list[Issue]:
    w = ps.window_capacity_As()
    qn, qp = w["negative"], w["positive"]
    if abs(qn - qp) > CAPACITY_BALANCE_RTOL * max(qn, qp):
        return [Issue(
            ("negative", "materials"),
            f"inconsistent capacities: between 0 % and 100 % SOC the negative electrode "
            f"exchanges {qn / 3600:.6g} A h but the positive electrode {qp / 3600:.6g} A h "
            f"(ratio negative/positive {qn / qp:.3g}); they must agree within "
            f"{CAPACITY_BALANCE_RTOL:.0%}: adjust thicknesses, volume fractions or the "
            "sto_at_soc0/sto_at_soc100 windows (ParameterSet.rebalanced() derives them from "
            "the voltage limits)",
        )]
    return []


def validate_parameter_data(
    data: Mapping[str, Any], check_balance: bool = True
) -> tuple[ParameterSet | None, list[Issue]]:
    """Validate parameter-set data (as read from TOML): the set, or None and every issue.

    ``check_balance=False`` skips the checks of the lithium state (materials of an
    electrode in equilibrium, consistent window capacities), e.g. before rebalancing."""
    try:
        ps = ParameterSet.model_validate(data)
    except ValidationError as exc:
        issues = from_validation_error(exc, ParameterSet)
        # sections that are valid on their own still get their cross-checks
        if isinstance(data, Mapping):
            for key, model in _SECTIONS.items():
                if key in ("meta", "electrolyte") or not isinstance(data.get(key), Mapping):
                    continue
                try:
                    section = model.model_validate(data[key])
                except ValidationError:
                    continue
                if isinstance(section, ElectrodeSection):
                    issues += _electrode_issues(section, key)
                elif isinstance(section, CellSection):
                    issues += _cell_issues(section)
        return None, issues
    issues = _cell_issues(ps.cell)
    issues += _electrode_issues(ps.negative, "negative")
    issues += _electrode_issues(ps.positive, "positive")
    issues += _electrolyte_issues(ps.electrolyte, ps.cell.reference_temperature_K)
    if not issues and check_balance:
        issues += _state_issues(ps)
    return (None, issues) if issues else (ps, [])


def _state_issues(ps: ParameterSet) -> list[Issue]:
    """Checks of the lithium state: materials of an electrode in equilibrium, window
    capacities of both electrodes consistent."""
    issues = _equilibrium_issues(ps.negative, "negative")
    issues += _equilibrium_issues(ps.positive, "positive")
    return issues + _balance_issues(ps)


def _issue_problems(issues: Sequence[Issue], file: Path | None, text: str | None) -> list[Problem]:
    lines = key_lines(text) if text else {}
    problems = []
    for issue in issues:
        line = None
        for n in range(len(issue.loc), 0, -1):
            if issue.loc[:n] in lines:
                line = lines[issue.loc[:n]]
                break
        problems.append(Problem(issue.key, issue.message, file, line))
    return sorted(problems, key=lambda p: p.line or 10**9)


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------



def available_parameter_sets() -> list[str]:
    """Names of the shipped parameter sets (for :func:`load_parameter_set`)."""
    return sorted(p.stem for p in PARAMETERS_DIR.glob("*.toml"))


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    text = os.fspath(name_or_path)
    is_name = isinstance(name_or_path, str) and not text.endswith(".toml") and os.sep not in text \
        and "/" not in text
    if is_name:
        path = PARAMETERS_DIR / f"{text}.toml"
        if not path.is_file():
            names = available_parameter_sets()
            raise ScenarioError([Problem(
                "", f"unknown parameter set {text!r}{did_you_mean(text, names)}; shipped "
                f"sets: {', '.join(names)} (or give the path of a .toml file)",
            )])
        return path
    return Path(os.path.abspath(Path(text).expanduser()))


def load_parameter_set(name_or_path: str | os.PathLike[str]) -> ParameterSet:
    """Load and validate a parameter set: a shipped set by bare name (``"chen2020"``, see
    :func:`available_parameter_sets`) or a TOML file by path.

    Raises :class:`~cosim.errors.ScenarioError` listing every problem with its dotted key,
    the allowed range, the file and the line."""
    path = _resolve(name_or_path)
    text, data = read_toml(path, "the parameter set")
    ps, issues = validate_parameter_data(data)
    if ps is None:
        raise ScenarioError(_issue_problems(issues, path, text))
    ps._path = path
    return ps
