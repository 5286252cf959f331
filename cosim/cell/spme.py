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
:class:`~cosim.cell.base.CellModel` re-evaluate the end-of-step voltage cheaply, with its
exact derivative ``dV/dI`` where a solver wants it (:meth:`SPMe._evaluate_slope`).

The computations run in the C cell kernels (``fmus/pack/src/cell_kernel.c``, their one
implementation, called through :class:`cosim.pack.c_kernel.CKernel`; gcc builds them once
per install), one loop over the cells each. This class holds the state (particle modes of all
materials in one array, the salt), packs the parameters for the kernels
(:class:`~cosim.cell.cell_data.CellData`) and implements the
:class:`~cosim.cell.base.CellModel` hooks on top of them. A step is split as
:class:`~cosim.cell.base.CellModel` asks:

* ``prepare`` (once per step, given the step ``h`` and the cell temperatures): the
  Arrhenius factors, the exact modal decay ``E`` and flux gain ``G`` of every particle
  (:mod:`cosim.cell.particle`: ``z_new = E z + G j``) with the affine end-of-step surface
  concentration ``c_surf = s0 + s1 j``, and the backward-Euler salt step
  (:mod:`cosim.cell.electrolyte1d`) solved per cell by the Thomas algorithm for two right-hand
  sides, so that the end-of-step salt is ``c_free + c_unit * I``;
* ``evaluate`` (a few times per step): the end-of-step terminal voltage of every cell for
  a current held over the step, and, when asked, its exact derivative ``dV/dI``. It does
  not change the state. In an electrode with one active material the reaction current is
  known and the overpotential is the electrode average of the local inverse Butler-Volmer
  values; with several materials side by side the split of the current between them is
  solved per cell by Newton on ``(dphi, j_1..j_m)`` with the j's eliminated (the
  materials share ``dphi``; exact Jacobian, so convergence is quadratic: an update of
  ``dphi`` and of every ``j_k`` (as the overpotential it takes) below 1e-6 V leaves an
  error of ~1e-12 V). It starts from a guess (the last evaluation moved along its slope
  ``dj/dI``, :meth:`SPMe._start`) and, if that does not converge in a few iterations, from
  a split in proportion to ``a_k i0_k``;
* ``solve_strings`` (once per step of an assembled battery): the pack's Newton on its
  string currents around ``evaluate``, in one call (see
  :meth:`cosim.pack.assembly.AssembledBattery._solve`);
* ``commit`` (once): advance the particle modes and the salt with the chosen current;
* ``outputs``: heats (the heat of mixing from tabulated enthalpy potentials,
  :mod:`cosim.cell.mixing_kernels`), OCV, SOC, surface and mean stoichiometries, anode
  potential.

``dV/dI`` follows from differentiating every term: the salt is affine in ``I``; the
concentration overpotential and the electrolyte conductivity (through the cell-average
salt) by the chain rule; for one material the local overpotentials through ``j``, the
surface concentration and the local salt; for several the implicit function theorem on the
converged split (with the full exchange-current dependence). Division by zero gives inf/NaN
as in numpy; a cell without a solution gets a NaN voltage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pack.c_kernel import CKernel
from .base import CellModel, LazyOutputs
from .cell_data import CellData
from .mixing_kernels import enthalpy_tables
from .electrolyte1d import DEFAULT_VOLUMES, ElectrolyteMesh, SaltDiffusion
from .functions import electrolyte_spec, spec_of
from .params import F, CellParams, Electrode
from .particle import DEFAULT_SHELLS, GRADED, ParticleBatch


@dataclass
class _Prep:
    h: float
    T: np.ndarray
    arrays: tuple  # what CKernel.prepare returns
    hint: tuple | None = None  # (currents, j, dj/dI) of the last slope evaluation of this step


def _predicted(hint, I: np.ndarray) -> np.ndarray:
    """The current split ``j`` of ``hint = (currents, j, dj/dI or None)`` moved to the
    currents ``I`` along its slope: where a composite electrode's split starts from."""
    I0, j, dj = hint
    return j if dj is None else j + dj * (I - I0)


def _padded(specs) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([c for c, _ in specs], dtype=np.int64)
    width = max(p.size for _, p in specs)
    params = np.zeros((len(specs), width))
    for k, (_, p) in enumerate(specs):
        params[k, : p.size] = p
    return codes, params


class SPMe(CellModel):
    """Single particle model with electrolyte, for ``params.n_cells`` cells at once."""

    name = "SPMe"
    with_electrolyte = True

    def __init__(self, params: CellParams, n_r: int = DEFAULT_SHELLS, n_x: tuple[int, int, int] = DEFAULT_VOLUMES,
                 particle_grading: float = GRADED):
        """``particle_grading``: the particle shells thinner towards the surface
        (:func:`cosim.cell.particle.shell_edges`; 1: uniform, PyBaMM's)."""
        super().__init__(params)
        self.particle_grading = float(particle_grading)
        N = self.n
        self.electrodes: tuple[Electrode, Electrode] = (params.negative, params.positive)
        self.particles = [
            [ParticleBatch(n_r, (N,), m.particle_radius_m, m.sto_initial * m.c_max_mol_m3, self.particle_grading)
             for m in el.materials]
            for el in self.electrodes
        ]
        parts = [part for parts in self.particles for part in parts]
        self._z = np.stack([part.z for part in parts])  # (M, N, n_r): every particle's modes
        for k, part in enumerate(parts):
            part.z = self._z[k]  # a view: the kernels advance the modes in place
        self.area = np.broadcast_to(params.area_m2, (N,))
        self.L = [np.broadcast_to(el.thickness_m, (N,)) for el in self.electrodes]
        el_ = params.electrolyte
        self.c_e0 = np.broadcast_to(el_.c_initial_mol_m3, (N,)).astype(float)
        if self.with_electrolyte:
            self.mesh = ElectrolyteMesh(params, n_x)
            self.salt = SaltDiffusion(self.mesh, self.c_e0)
            self._c = self.salt.c  # (N, n), advanced in place
        else:
            self._c = np.zeros((N, 0))
        self.data = self._cell_data(parts[0])
        M = self._z.shape[0]
        # the composite electrodes' split of the last committed step, (currents, j, dj/dI or
        # None): the next step's splits start from it
        self._hint: tuple | None = None
        self._no_guess = np.zeros((M, N))
        ms = self.data.mat_start
        self._composite = bool(np.any(np.diff(ms) > 1))
        self._k = CKernel()  # one per model: it keeps the C struct of this model's data
        self._last = None
        self._t = 0.0

    def _cell_data(self, part: ParticleBatch) -> CellData:
        p, N = self.params, self.n
        mats = [m for el in self.electrodes for m in el.materials]

        def per_mat(get):
            return np.ascontiguousarray(np.stack([np.broadcast_to(np.asarray(get(m), dtype=float), (N,)) for m in mats]))

        def cells(x):
            return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (N,)))

        el = p.electrolyte
        kappa = electrolyte_spec(el.conductivity_S_m)
        De = electrolyte_spec(el.diffusivity_m2_s)
        ocp_code, ocp_p = _padded([spec_of(m.ocp_V) for m in mats])
        s_code, s_p = _padded([spec_of(m.entropic_V_K) for m in mats])
        regions = (p.negative, p.separator, p.positive)
        if self.with_electrolyte:
            m = self.mesh
            n_x, dx, capacity = np.array(m.n_x), m.dx, self.salt.capacity
            tort, total = m.tortuosity_factor, m.total
        else:
            n_x, dx = np.zeros(3, dtype=np.int64), np.zeros((N, 0))
            capacity, tort, total = dx, dx, cells(0.0)
        n_neg = len(p.negative.materials)
        return CellData(
            mat_start=np.array([0, n_neg, len(mats)], dtype=np.int64),
            c_max=per_mat(lambda m: m.c_max_mol_m3),
            a=per_mat(lambda m: m.surface_area_per_volume),
            radius=per_mat(lambda m: m.particle_radius_m),
            film=per_mat(lambda m: m.film_resistance_Ohm_m2),
            rate=per_mat(lambda m: m.rate_constant),
            D_ref=per_mat(lambda m: m.diffusivity_m2_s),
            cap=per_mat(lambda m: m.volume_fraction * m.c_max_mol_m3),
            sto0=per_mat(lambda m: m.sto_at_soc0),
            sto100=per_mat(lambda m: m.sto_at_soc100),
            alpha_a=np.array([m.alpha_a for m in mats], dtype=float),
            alpha_c=np.array([m.alpha_c for m in mats], dtype=float),
            E_D=np.array([m.diffusivity_activation_J_mol for m in mats], dtype=float),
            E_k=np.array([m.rate_activation_J_mol for m in mats], dtype=float),
            ocp_code=ocp_code, ocp_p=ocp_p, dUdT_code=s_code, dUdT_p=s_p,
            area=cells(p.area_m2),
            L=np.stack([cells(r.thickness_m) for r in regions]),
            sigma=np.stack([cells(p.negative.conductivity_S_m), cells(p.positive.conductivity_S_m)]),
            eff=np.stack([cells(r.porosity ** r.bruggeman) for r in regions]),
            contact=cells(p.contact_resistance_Ohm),
            c_e0=cells(self.c_e0),
            scalars=np.array([p.T_ref_K, 2.0 * (1.0 - el.transference_number) * el.thermodynamic_factor,
                              1.0 - el.transference_number, kappa[2], kappa[3], De[2], De[3]]),
            kappa_code=kappa[0], kappa_p=kappa[1], De_code=De[0], De_p=De[1],
            n_x=n_x, dx=np.ascontiguousarray(dx), capacity=np.ascontiguousarray(capacity),
            tortuosity=np.ascontiguousarray(tort), total=cells(total),
            lam=part.lam.copy(), b=part.b.copy(), w_surf=part.w_surf.copy(), w_mean=part.w_mean.copy(),
            phi=np.ascontiguousarray(part.phi), face=part.face.copy(),
            uH_table=enthalpy_tables(ocp_code, ocp_p, s_code, s_p, p.T_ref_K),
        )

    # -- helpers --------------------------------------------------------------------------
    def _current_scale(self) -> np.ndarray:
        q = sum(m.volume_fraction * self.L[1] * self.area * m.c_max_mol_m3 * F for m in self.params.positive.materials)
        return q / 3600.0

    # -- CellModel hooks ----------------------------------------------------------------
    def _prepare(self, h: float, T: np.ndarray, substeps: int = 1) -> _Prep:
        T = np.ascontiguousarray(T, dtype=float)
        return _Prep(h, T, self._k.prepare(self.data, float(h), T, self._z, self._c, int(substeps)))

    def _prepare_pulse(self, h: float, T: np.ndarray, substeps: int = 1) -> _Prep:
        """A pulse of ``h`` s with the salt in ``substeps`` backward-Euler steps (the
        particles are exact for a held current at any step)."""
        return self._prepare(h, T, substeps)

    def _start(self, prep: _Prep, I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the composite electrodes' current split starts for currents ``I``: the
        last slope evaluation of this step or the last committed step, whichever ran at
        currents nearer to ``I``, predicted to ``I`` along its slope; ``(guess j, whether
        there is one)``. (Only the path: the kernel falls back to its own start if a
        guess does not converge.)"""
        hints = [h for h in (prep.hint, self._hint) if h is not None]
        if not hints or not self._composite:
            return self._no_guess, False
        hint = min(hints, key=lambda h: float(np.max(np.abs(I - h[0]))))
        return np.ascontiguousarray(_predicted(hint, I)), True

    def _evaluate(self, prep: _Prep, I: np.ndarray):
        I = np.ascontiguousarray(I, dtype=float)
        res = self._k.evaluate(self.data, prep.arrays, prep.T, I, *self._start(prep, I), False)
        return res[0], (I, res[0]) + res[2:7] + (None,)

    def _evaluate_slope(self, prep: _Prep, I: np.ndarray):
        I = np.ascontiguousarray(I, dtype=float)
        res = self._k.evaluate(self.data, prep.arrays, prep.T, I, *self._start(prep, I), True)
        if np.all(np.isfinite(res[0])):  # a failed evaluation is no place to start from
            prep.hint = (I, res[2], res[7])
        return res[0], res[1], (I, res[0]) + res[2:7] + ((res[1],) + res[7:],)

    def _anode_potential(self, prep: _Prep, current_A, aux, slope: bool = False):
        """End-of-step anode potential vs Li/Li+ (the ``anode_potential_V`` output) of the
        currents ``current_A`` evaluated into ``aux``, and with ``slope`` its exact derivative in each cell's current
        (the kernels' ``anode_potential``; ``aux`` must then come from a slope evaluation)."""
        I, dphi, deriv = current_A, aux[5], aux[7]
        if slope and deriv is None:
            raise ValueError("the anode potential's slope needs the aux of a slope evaluation")
        ddphi0 = deriv[4][0] if slope else dphi[0]
        a, da = self._k.anode_potential(self.data, prep.arrays, prep.T, np.ascontiguousarray(I, dtype=float),
                                        np.ascontiguousarray(dphi[0]), np.ascontiguousarray(ddphi0), bool(slope))
        return (a, da) if slope else a

    def _solve_strings(self, prep: _Prep, I0: np.ndarray, current, power, R_series: np.ndarray, scale: float,
                       max_iter: int, curvature: np.ndarray, safety: float):
        """The pack's string solve in one call of the C (``ck_solve_strings``);
        returns ``(ok, I_strings, V_pack, v_cells, aux, I_cells)``."""
        mode = power is not None
        I0 = np.ascontiguousarray(I0, dtype=float)
        guess = self._start(prep, np.repeat(I0, self.n // I0.size))
        ok, I, V_pack, Ic, out = self._k.solve_strings(
            self.data, prep.arrays, prep.T, *guess, I0, mode, float(power if mode else current), R_series,
            float(scale), int(max_iter), curvature, float(safety))
        if out[7].size and np.all(np.isfinite(out[0])):
            prep.hint = (Ic, out[2], out[7])
        return ok, I, V_pack, out[0], (Ic, out[0]) + out[2:7] + (None,), Ic

    def _shift(self, aux, dI: np.ndarray):
        """``aux`` of a slope evaluation moved to the currents ``I + dI`` along its exact
        linearisation (every end-of-step quantity plus its derivative in the current times
        ``dI``); None for the aux of a plain evaluation."""
        I, V, j, eta, cs, dphi, terms, deriv = aux
        if deriv is None:
            return None
        dV, dj, deta, dcs, ddphi, dterms = deriv
        return (I + dI, V + dV * dI, j + dj * dI, eta + deta * dI, cs + dcs * dI, dphi + ddphi * dI,
                terms + dterms * dI, None)

    def _commit(self, prep: _Prep, I: np.ndarray, aux) -> None:
        I, V, j, eta, cs, dphi, terms, _ = aux
        self._k.commit(self.data, prep.arrays, I, j, self._z, self._c)
        if self._composite:  # the split's slope: of the step's last slope evaluation, if any
            self._hint = (I, j, None if prep.hint is None else prep.hint[2])
        self._t += prep.h
        self._last = (I, V, prep.T, j, eta, cs, dphi, terms)
        self._out = None

    def _outputs(self) -> dict[str, np.ndarray]:
        if self._out is None:
            self._out = LazyOutputs(self._fill_outputs, self._last)
        return self._out

    def _fill_outputs(self, out: dict, I, V, T, j, eta, cs, dphi, terms) -> None:
        ocv, q_rxn, q_ohm, q_rev, q_mix, soc, anode, sto_s, sto_m = self._k.outputs(
            self.data, T, I, j, eta, cs, dphi, terms, self._z, self._c)
        k = 0
        for side, el in zip(("negative", "positive"), self.electrodes):
            for m in el.materials:
                out[f"sto_surface_{side}_{m.name}"] = sto_s[k]
                out[f"sto_mean_{side}_{m.name}"] = sto_m[k]
                k += 1
        out["ocv_V"] = ocv
        out["heat_reaction_W"] = q_rxn
        out["heat_ohmic_W"] = q_ohm
        out["heat_reversible_W"] = q_rev
        out["heat_mixing_W"] = q_mix
        out["soc"] = soc
        out["anode_potential_V"] = anode

    def _get_state(self):
        return (self._z.copy(), self._c.copy(), self._hint,  # the hint and the last step: replaced, never mutated
                self._last, self._t)

    def _set_state(self, state) -> None:
        z, c, hint, last, t = state
        self._z[...] = z
        self._c[...] = c
        self._hint = hint
        self._last = last
        self._out = None
        self._t = t

    def _particle_shells(self):
        for el, parts, L in zip(self.electrodes, self.particles, self.L):
            for m, part in zip(el.materials, parts):
                cmax = np.broadcast_to(m.c_max_mol_m3, (self.n,))
                mol = (m.volume_fraction * L * self.area * cmax)[:, None] * part.shell_fractions
                yield m, part.shells / cmax[:, None], mol

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
