"""Single particle models, batched: SPM and SPMe (with electrolyte).

**SPM**: one representative particle per active material and electrode, reacting
uniformly through the electrode; the electrolyte stays at its initial concentration and
carries no potential drop. **SPMe** adds salt diffusion through the thickness
(:mod:`cosim.cell.electrolyte1d`) and the electrolyte and solid potential corrections of the
composite SPMe (Marquis et al., J. Electrochem. Soc. 166 (2019) A3693; the composite form
as in PyBaMM)::

    V = dphi_p - dphi_n + eta_c + dphi_e + dphi_s - I R_contact
    dphi = U(sto_surf) + eta + R_film j           (per electrode, from the kinetics)
    eta_c  = chi R T / F * (<ln(c_e / c_av)>_p - <ln(c_e / c_av)>_n),  chi = 2 (1 - t+) TDF
    dphi_e = -i (L_n / (3 kappa_n) + L_s / kappa_s + L_p / (3 kappa_p)),  kappa_k = kappa(c_av) eps_k^b
    dphi_s = -i (L_n / (3 sigma_n) + L_p / (3 sigma_p)),  i = I / A

where ``<.>_k`` is the average over region k and ``c_av`` the average over the cell. The
reaction is uniform through each electrode; its overpotential is the electrode average of
the local overpotentials (exchange current at the local electrolyte concentration), as in
PyBaMM. With several active materials in an electrode the split between them uses the
electrode-averaged electrolyte concentration.

Time stepping, for an input held over the step: particles exactly
(:mod:`cosim.cell.particle`), salt by backward Euler; the potentials are algebraic at the
end of the step. Both are affine in the current, so the power and voltage modes of
:class:`~cosim.cell.base.CellModel` re-evaluate the end-of-step voltage cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import CellModel, LazyOutputs
from .electrolyte1d import ElectrolyteMesh, SaltDiffusion
from .kinetics import exchange_current, inverse_butler_volmer, ocp, split_current
from .params import F, R, CellParams, Electrode, arrhenius
from .particle import ParticleBatch


@dataclass
class _Prep:
    h: float
    T: np.ndarray
    coeffs: list  # per electrode: list of (E, G) per material
    affine: list  # per electrode: list of (s0, s1) per material
    c_free: np.ndarray | None
    c_unit: np.ndarray | None


class SPMe(CellModel):
    """Single particle model with electrolyte, for ``params.n_cells`` cells at once."""

    name = "SPMe"
    with_electrolyte = True

    def __init__(self, params: CellParams, n_r: int = 20, n_x: tuple[int, int, int] = (20, 20, 20)):
        super().__init__(params)
        N = self.n
        self.electrodes: tuple[Electrode, Electrode] = (params.negative, params.positive)
        self.particles = [
            [ParticleBatch(n_r, (N,), m.particle_radius_m, m.sto_initial * m.c_max_mol_m3) for m in el.materials]
            for el in self.electrodes
        ]
        self.area = np.broadcast_to(params.area_m2, (N,))
        self.L = [np.broadcast_to(el.thickness_m, (N,)) for el in self.electrodes]
        el_ = params.electrolyte
        self.c_e0 = np.broadcast_to(el_.c_initial_mol_m3, (N,)).astype(float)
        if self.with_electrolyte:
            self.mesh = ElectrolyteMesh(params, n_x)
            self.salt = SaltDiffusion(self.mesh, self.c_e0)
            tp = el_.transference_number
            unit = np.zeros((N, self.mesh.size))
            # uniform reaction: sum_k a_k j_k = +-I / (A L) in the negative / positive
            unit[:, self.mesh.slices[0]] = ((1 - tp) / (F * self.area * self.L[0]))[:, None]
            unit[:, self.mesh.slices[2]] = (-(1 - tp) / (F * self.area * self.L[1]))[:, None]
            self._unit_source = unit
        self._guess: list = [None, None]
        self._last = None
        self._T_cache: tuple | None = None
        # capacities for SOC: coulombs per unit stoichiometry, per material of the negative
        self._q_neg = [m.volume_fraction * self.L[0] * self.area * m.c_max_mol_m3 * F for m in params.negative.materials]
        self._t = 0.0

    # -- helpers --------------------------------------------------------------------------
    def _current_scale(self) -> np.ndarray:
        q = sum(m.volume_fraction * self.L[1] * self.area * m.c_max_mol_m3 * F for m in self.params.positive.materials)
        return q / 3600.0

    def _electrolyte_terms(self, c_e: np.ndarray | None, T: np.ndarray, I: np.ndarray):
        """Region-mean concentrations and the potential corrections (eta_c, dphi_e, dphi_s)."""
        p = self.params
        if c_e is None:
            zero = np.zeros(self.n)
            return self.c_e0, self.c_e0, zero, zero, zero
        m = self.mesh
        ce_n = m.region_mean(c_e, 0)
        ce_p = m.region_mean(c_e, 2)
        ce_av = m.average(c_e)
        with np.errstate(invalid="ignore", divide="ignore"):
            log_ratio = np.log(c_e / ce_av[:, None])
        el = p.electrolyte
        chi = 2.0 * (1.0 - el.transference_number) * el.thermodynamic_factor
        eta_c = chi * R * T / F * (m.region_mean(log_ratio, 2) - m.region_mean(log_ratio, 0))
        kappa = el.conductivity_S_m(ce_av, T)
        eff = [r.porosity ** r.bruggeman for r in (p.negative, p.separator, p.positive)]
        i = I / self.area
        dphi_e = -i * (self.L[0] / (3 * kappa * eff[0]) + p.separator.thickness_m / (kappa * eff[1])
                       + self.L[1] / (3 * kappa * eff[2]))
        dphi_s = -i * (self.L[0] / (3 * p.negative.conductivity_S_m) + self.L[1] / (3 * p.positive.conductivity_S_m))
        return ce_n, ce_p, eta_c, dphi_e, dphi_s

    # -- CellModel hooks ----------------------------------------------------------------
    def _diffusivities(self, T: np.ndarray) -> list:
        """Solid diffusivities at T, per electrode and material (cached while T holds)."""
        if self._T_cache is None or not np.array_equal(self._T_cache[0], T):
            Tref = self.params.T_ref_K
            D = [[m.diffusivity_m2_s * arrhenius(m.diffusivity_activation_J_mol, T, Tref) for m in el.materials]
                 for el in self.electrodes]
            self._T_cache = (T.copy(), D)
        return self._T_cache[1]

    def _prepare(self, h: float, T: np.ndarray) -> _Prep:
        coeffs, affine = [], []
        for el, parts, D_el in zip(self.electrodes, self.particles, self._diffusivities(T)):
            c_el, a_el = [], []
            for m, part, D in zip(el.materials, parts, D_el):
                E, G = part.coefficients(h, D)
                c_el.append((E, G))
                a_el.append(part.surface_affine(E, G))
            coeffs.append(c_el)
            affine.append(a_el)
        c_free = c_unit = None
        if self.with_electrolyte:
            D = self.params.electrolyte.diffusivity_m2_s(self.salt.c, T[:, None])
            c_free, c_unit = self.salt.prepare(h, D, self._unit_source)
        return _Prep(h, T, coeffs, affine, c_free, c_unit)

    def _evaluate(self, prep: _Prep, I: np.ndarray):
        T, Tref = prep.T, self.params.T_ref_K
        c_e = None if prep.c_free is None else prep.c_free + prep.c_unit * I[:, None]
        ce_n, ce_p, eta_c, dphi_e, dphi_s = self._electrolyte_terms(c_e, T, I)
        bad = np.zeros(self.n, dtype=bool) if c_e is None else (c_e <= 0).any(axis=1)
        results = []
        for k, (el, ce) in enumerate(zip(self.electrodes, (ce_n, ce_p))):
            i_vol = (1.0 if k == 0 else -1.0) * I / (self.area * self.L[k])
            mats = el.materials
            if len(mats) == 1:
                m = mats[0]
                s0, s1 = prep.affine[k][0]
                j = i_vol / m.surface_area_per_volume
                c_s = s0 + s1 * j
                if c_e is None:
                    i0 = exchange_current(m, ce, c_s, T, Tref)
                    eta = inverse_butler_volmer(j, i0, T, m.alpha_a, m.alpha_c)
                else:  # the overpotential of the uniform reaction at the local c_e, averaged
                    local = c_e[:, self.mesh.slices[2 * k]]
                    i0 = exchange_current(m, local, c_s[:, None], T[:, None], Tref, nodes=True)
                    eta = inverse_butler_volmer(j[:, None], i0, T[:, None], m.alpha_a, m.alpha_c).mean(axis=1)
                dphi = ocp(m, c_s / m.c_max_mol_m3, T, Tref) + eta + m.film_resistance_Ohm_m2 * j
                results.append((dphi, [j], [eta], [c_s]))
            else:
                s0s = [a[0] for a in prep.affine[k]]
                s1s = [a[1] for a in prep.affine[k]]
                results.append(split_current(mats, s0s, s1s, i_vol, ce, T, Tref, guess=self._guess[k]))
        contact = I * self.params.contact_resistance_Ohm
        V = results[1][0] - results[0][0] + eta_c + dphi_e + dphi_s - contact
        V = np.where(bad, np.nan, V)
        return V, (V, c_e, results, eta_c, dphi_e, dphi_s)

    def _commit(self, prep: _Prep, I: np.ndarray, aux) -> None:
        V, c_e, results, eta_c, dphi_e, dphi_s = aux
        T = prep.T
        for k, (parts, coeffs, res) in enumerate(zip(self.particles, prep.coeffs, results)):
            for part, (E, G), j in zip(parts, coeffs, res[1]):
                part.advance(E, G, j)
            if len(parts) > 1:
                self._guess[k] = [j.copy() for j in res[1]]
        if c_e is not None:
            self.salt.c = c_e
        self._t += prep.h
        self._last = (I, V, T, results, eta_c, dphi_e, dphi_s)
        self._out = None

    def _outputs(self) -> dict[str, np.ndarray]:
        if self._out is None:
            self._out = LazyOutputs(self._fill_outputs, self._last)
        return self._out

    def _fill_outputs(self, out: dict, I, V, T, results, eta_c, dphi_e, dphi_s) -> None:
        p, Tref = self.params, self.params.T_ref_K
        q_rxn = np.zeros(self.n)
        q_rev = np.zeros(self.n)
        ocv = []
        for k, (el, parts, res) in enumerate(zip(self.electrodes, self.particles, results)):
            vol = self.area * self.L[k]
            u_mean, w = 0.0, 0.0
            for m, part, j, eta, c_s in zip(el.materials, parts, res[1], res[2], res[3]):
                a = m.surface_area_per_volume
                q_rxn += vol * a * j * (eta + m.film_resistance_Ohm_m2 * j)
                q_rev += vol * a * j * T * m.entropic_V_K(c_s / m.c_max_mol_m3)
                sto_mean = part.mean / m.c_max_mol_m3
                cap = m.volume_fraction * m.c_max_mol_m3
                u_mean = u_mean + cap * ocp(m, sto_mean, T, Tref)
                w = w + cap
                side = "negative" if k == 0 else "positive"
                out[f"sto_surface_{side}_{m.name}"] = c_s / m.c_max_mol_m3
                out[f"sto_mean_{side}_{m.name}"] = sto_mean
            ocv.append(u_mean / w)
        out["ocv_V"] = ocv[1] - ocv[0]
        out["heat_reaction_W"] = q_rxn
        out["heat_ohmic_W"] = -I * (eta_c + dphi_e + dphi_s) + I * I * p.contact_resistance_Ohm
        out["heat_reversible_W"] = q_rev
        num = sum(q * (part.mean / m.c_max_mol_m3 - m.sto_at_soc0)
                  for q, part, m in zip(self._q_neg, self.particles[0], p.negative.materials))
        den = sum(q * (m.sto_at_soc100 - m.sto_at_soc0) for q, m in zip(self._q_neg, p.negative.materials))
        out["soc"] = num / den
        # dphi of the negative at the separator: the averaged value corrected by the
        # composite potential profiles (solid: -i L/(6 sigma), electrolyte: -i L/(3 kappa) and
        # the concentration term)
        dphi_n = results[0][0]
        if self.with_electrolyte:
            i = I / self.area
            el = p.electrolyte
            chi = 2.0 * (1.0 - el.transference_number) * el.thermodynamic_factor
            m = self.mesh
            c_sep = self.salt.c[:, m.slices[0].stop - 1]
            kappa_n = el.conductivity_S_m(m.average(self.salt.c), T) * p.negative.porosity ** p.negative.bruggeman
            with np.errstate(invalid="ignore", divide="ignore"):
                conc = chi * R * T / F * (np.log(c_sep) - m.region_mean(np.log(self.salt.c), 0))
            dphi_n = dphi_n - i * self.L[0] / (6 * p.negative.conductivity_S_m) - (conc - i * self.L[0] / (3 * kappa_n))
        out["anode_potential_V"] = dphi_n

    def _get_state(self):
        return (
            [[part.z.copy() for part in parts] for parts in self.particles],
            None if not self.with_electrolyte else self.salt.c.copy(),
            [None if g is None else [x.copy() for x in g] for g in self._guess],
            self._last,  # replaced, never mutated, by each step
            self._t,
        )

    def _set_state(self, state) -> None:
        zs, c, guess, last, t = state
        for parts, zl in zip(self.particles, zs):
            for part, z in zip(parts, zl):
                part.z = z.copy()
        if c is not None:
            self.salt.c = c.copy()
        self._guess = [None if g is None else [x.copy() for x in g] for g in guess]
        self._last = last
        self._out = None
        self._t = t

    # -- inventories (for conservation checks) ------------------------------------------
    def lithium_in_particles_mol(self) -> np.ndarray:
        """Lithium held in every particle of each cell [mol]."""
        total = np.zeros(self.n)
        for el, parts, L in zip(self.electrodes, self.particles, self.L):
            for m, part in zip(el.materials, parts):
                total += part.mean * m.volume_fraction * L * self.area
        return total


class SPM(SPMe):
    """Single particle model: SPMe without electrolyte transport or potential drops."""

    name = "SPM"
    with_electrolyte = False
