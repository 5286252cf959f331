"""Doyle-Fuller-Newman (pseudo-two-dimensional) model, batched over cells.

Finite volumes through the thickness (``n_x`` uniform cells in the negative electrode,
separator and positive electrode; node positions differ per cell as the thicknesses do)
and, at every electrode node, one particle per active material (:mod:`cosim.cell.particle`,
integrated exactly for a current density held over the step). Unknowns at the end of a
step, per cell: salt concentration ``c`` and electrolyte potential ``phi_e`` at every node,
solid potential ``phi_s`` at every electrode node, interfacial current density ``j`` per
material at every electrode node ("site"). Equations (conventions of :mod:`.params`)::

    eps (c - c_old) / h = d/dx(eps^b D_e dc/dx) + (1 - t+) sum_k a_k j_k / F   (backward Euler)
    d/dx i_e = sum_k a_k j_k,  i_e = -kappa_eff dphi_e/dx + chi R T / F kappa_eff dln(c)/dx
    d/dx i_s = -sum_k a_k j_k, i_s = -sigma dphi_s/dx
    phi_s - phi_e - U_k - R_film j_k = asinh(j_k / (2 i0_k)) / (alpha f)   (alpha_a = alpha_c = alpha)

(the general Butler-Volmer form ``j = i0 (exp(alpha_a f eta) - exp(-alpha_c f eta))`` when
alpha_a != alpha_c), with ``chi = 2 (1 - t+) TDF``, ``f = F / (R T)``, no salt flux and no
electrolyte current at the current collectors, ``phi_s = 0`` at the negative current
collector (a ghost node half a cell away, as PyBaMM), no solid current at the separator and
``i_s = I / A`` at the positive collector. Face conductances of ``eps^b D_e`` and ``kappa_eff``
(:func:`~cosim.cell.dfn_system.face_weights`): ``face_mean="series"`` (the default) the two
half volumes in series in ``eps^b`` (exact across the jump of porosity and Bruggeman exponent
at a region interface) times Simpson's mean of ``D_e(c)`` / ``kappa(c)`` over the
concentrations between the nodes; ``"arithmetic"`` the mean of the node values over the
distance between node centres (PyBaMM's). That of ``1 / c`` in the diffusion-potential term
``chi R T / (F c) dc/dx`` is the arithmetic mean. ``particle_grading`` as
:func:`cosim.cell.particle.shell_edges` (1: uniform shells, PyBaMM's; the default mesh and
why: docs/mesh_convergence.md). The terminal voltage is the
positive solid potential extrapolated linearly to the collector, less ``I R_contact``.

The particle surface concentration at the end of the step is affine in the ``j`` held over
it (:mod:`cosim.cell.particle`: ``s0 + s1 j``), so a step is one nonlinear algebraic system,
solved by a damped Newton method (:mod:`cosim.cell.dfn_system`) with an analytic Jacobian
(finite differences only for the material functions), in one banded LAPACK factorisation
for all cells (unknowns interleaved per node; the blocks of different cells do not touch).
The starting point is the last solution extrapolated in time, so a step of a smooth
discharge usually takes a single Newton iteration. Cells are independent: each is damped,
converged and frozen on its own, so a cell gets the same result in any batch. A cell whose
Newton fails is re-run alone with sub-steps of h/2, h/4, ... (``max_halvings``); if that
fails too its voltage is NaN. After convergence the tiny residual of the charge balance is
removed (``sum a j dx = +-I / A`` per electrode, and the salt inventory), so lithium is
conserved to round-off.

Outputs (``self.out``): those of :data:`cosim.cell.base.OUTPUTS` (reaction heat includes the
film loss ``R_film j^2``; ohmic heat is ``-i . grad(phi)`` of electrolyte and solid, which
includes the concentration polarisation, plus ``I^2 R_contact``; the OCV is the
capacity-weighted mean over the materials of an electrode of ``U(mean stoichiometry)``), and
per material ``sto_surface_<electrode>_<material>`` and ``sto_mean_<electrode>_<material>``
(thickness averages). :attr:`DFN.electrolyte_concentration` is the salt profile
``(n_cells, n_x_total)``.
"""

from __future__ import annotations

import numpy as np

from .base import CellModel, LazyOutputs
from .dfn_system import _PM, DFNSystem, face_conductance, face_weights
from .params import F, R, CellParams, arrhenius
from .electrolyte1d import DEFAULT_VOLUMES
from .particle import DEFAULT_SHELLS, GRADED, ParticleBatch

_STACKED = ("fw",)  # context arrays with the cells on axis 1



class _Prep:
    # recent: the last two successful evaluations of this step [(current, solution, voltage, ok)]
    __slots__ = ("h", "T", "coeffs", "D", "ctx", "recent", "halvings")


def _needs_T(fn, T_ref: float) -> bool:
    """False if the electrolyte function ``fn(c_e, T)`` accepts ``T=None`` and does not
    depend on the temperature (checked on a grid of concentrations and temperatures)."""
    c = np.linspace(50.0, 3000.0, 16)[None, :]
    try:
        free = np.asarray(fn(c, None), dtype=float)
        for T in (T_ref - 40.0, T_ref, T_ref + 40.0):
            if not np.array_equal(np.broadcast_to(np.asarray(fn(c, np.full((1, 1), T)), dtype=float), c.shape),
                                  np.broadcast_to(free, c.shape)):
                return True
    except Exception:  # noqa: BLE001 - any failure: call it with T
        return True
    return False


def _cells(x, n) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,)).astype(float)


class DFN(DFNSystem, CellModel):
    """Doyle-Fuller-Newman model for ``params.n_cells`` cells at once.

    ``n_x``: finite volumes in the negative electrode, separator and positive electrode;
    ``n_r``: shells per particle (PyBaMM's 20-point discretisation, which made its reference
    curves: ``n_x=(20, 20, 20), n_r=20, face_mean="arithmetic", particle_grading=1.0``). ``tol``: Newton stops when the estimated remaining error of the solution is
    below ``tol`` thermal voltages (R T / F; relative for the salt concentration);
    ``max_iter``: Newton iterations per attempt; ``max_halvings``: how often a failing step
    is halved before the cell's voltage is reported as NaN.
    """

    name = "DFN"
    pulse_halvings = 5

    def __init__(
        self,
        params: CellParams,
        n_x: tuple[int, int, int] = DEFAULT_VOLUMES,
        n_r: int = DEFAULT_SHELLS,
        *,
        tol: float = 1e-5,
        max_iter: int = 30,
        max_halvings: int = 10,
        face_mean: str = "series",
        particle_grading: float = GRADED,
        _general_bv: bool = False,
    ):
        super().__init__(params)
        n = self.n
        p = params
        self.tol, self.max_iter, self.max_halvings = tol, max_iter, max_halvings
        self.face_mean, self.particle_grading = face_mean, float(particle_grading)
        self._mid = face_mean == "series"  # faces that need the coefficients between the nodes
        nn, ns, npp = (int(k) for k in n_x)
        if min(nn, ns, npp) < 2 or int(n_r) < 2:
            raise ValueError(f"DFN needs at least 2 finite volumes per region and shell count, got n_x={n_x}, n_r={n_r}")
        self.n_x = (nn, ns, npp)
        N = nn + ns + npp
        Ne = nn + npp
        self.N, self.Ne = N, Ne
        self.area = _cells(p.area_m2, n)
        self.R_contact = _cells(p.contact_resistance_Ohm, n)
        regions = (p.negative, p.separator, p.positive)
        L = [_cells(r.thickness_m, n) for r in regions]
        self.L = L
        cnt = (nn, ns, npp)
        rep = lambda vals: np.concatenate([np.repeat(v[:, None], k, axis=1) for v, k in zip(vals, cnt)], axis=1)
        self.dx = rep([L[k] / cnt[k] for k in range(3)])
        self.eps = rep([_cells(r.porosity, n) for r in regions])
        self.tor = rep([_cells(r.porosity, n) ** _cells(r.bruggeman, n) for r in regions])
        self.face_w = face_weights(self.tor, self.dx, face_mean)
        self.eps_dx = self.eps * self.dx
        self.eps_dx_sum = self.eps_dx.sum(axis=1)
        el = p.electrolyte
        self.tplus = float(el.transference_number)
        self.chi = 2.0 * (1.0 - self.tplus) * float(el.thermodynamic_factor)
        self.kappa_fn, self.De_fn = el.conductivity_S_m, el.diffusivity_m2_s
        # temperature-free electrolyte functions are called with T=None (cheaper)
        self._kappa_T = _needs_T(self.kappa_fn, float(p.T_ref_K))
        self._De_T = _needs_T(self.De_fn, float(p.T_ref_K))
        self.c0 = _cells(el.c_initial_mol_m3, n)

        # -- electrodes and reaction sites ------------------------------------------------
        self.electrodes = (p.negative, p.positive)
        node0 = (0, nn + ns)
        enode0 = (0, nn)
        ne = (nn, npp)
        dx_e = (L[0] / nn, L[2] / npp)
        self.dx_e = dx_e
        self.sigma = (_cells(p.negative.conductivity_S_m, n), _cells(p.positive.conductivity_S_m, n))
        mats, site_node, site_enode, site_elec = [], [], [], []
        S = 0
        for e, elec in enumerate(self.electrodes):
            for mat in elec.materials:
                cmax = _cells(mat.c_max_mol_m3, n)
                radius = _cells(mat.particle_radius_m, n)
                pb = ParticleBatch(n_r, (n, ne[e]), radius[:, None], (_cells(mat.sto_initial, n) * cmax)[:, None],
                                   self.particle_grading)
                mats.append(dict(e=e, mat=mat, pb=pb, sl=slice(S, S + ne[e]), cmax=cmax,
                                 side="negative" if e == 0 else "positive",
                                 a=_cells(mat.surface_area_per_volume, n)))
                site_node.append(node0[e] + np.arange(ne[e]))
                site_enode.append(enode0[e] + np.arange(ne[e]))
                site_elec.append(np.full(ne[e], e))
                S += ne[e]
        self.mats, self.S = mats, S
        self.site_node = np.concatenate(site_node)
        self.site_enode = np.concatenate(site_enode)
        site_elec = np.concatenate(site_elec)
        bsite = lambda f: np.concatenate([np.repeat(f(m)[:, None], ne[m["e"]], axis=1) for m in mats], axis=1)
        self.a_dx = bsite(lambda m: m["a"] * dx_e[m["e"]])
        self.cmax = bsite(lambda m: m["cmax"])
        self.Rf = bsite(lambda m: _cells(m["mat"].film_resistance_Ohm_m2, n))
        self.alpha_a = np.concatenate([np.full(ne[m["e"]], m["mat"].alpha_a) for m in mats])
        self.alpha_c = np.concatenate([np.full(ne[m["e"]], m["mat"].alpha_c) for m in mats])
        self.sym = bool(np.all(self.alpha_a == self.alpha_c)) and not _general_bv
        self.half = bool(np.all(self.alpha_a == 0.5) and np.all(self.alpha_c == 0.5)) and not _general_bv
        self.adx_el = np.stack([self.a_dx[:, site_elec == e].sum(axis=1) for e in (0, 1)], axis=1)  # (n, 2)
        self._unit_j = (_PM / self.adx_el)[:, site_elec]  # uniform j per unit I / A

        # solid: internal face conductances (zero across the separator gap)
        G = np.zeros((n, Ne - 1))
        G[:, : nn - 1] = (self.sigma[0] / dx_e[0])[:, None]
        G[:, nn:] = (self.sigma[1] / dx_e[1])[:, None]
        self.G_s = G
        self.g_cc = 2.0 * self.sigma[0] / dx_e[0]  # to the Dirichlet boundary phi_s = 0
        sdiag = np.zeros((n, Ne))
        sdiag[:, :-1] += G
        sdiag[:, 1:] += G
        sdiag[:, 0] += self.g_cc
        faces = np.concatenate([np.arange(nn - 1), nn + np.arange(npp - 1)])

        # -- unknown layout, interleaved per node for a narrow band -----------------------
        m = 2 * N + Ne + S
        self.m = m
        tc, tpe, tps, tj = np.arange(N), N + np.arange(N), 2 * N + np.arange(Ne), 2 * N + Ne + np.arange(S)
        perm = []
        for i in range(N):
            perm += [tc[i], tpe[i]]
            for e in (0, 1):
                k = i - node0[e]
                if 0 <= k < ne[e]:
                    perm.append(tps[enode0[e] + k])
                    perm += [tj[mm["sl"].start + k] for mm in mats if mm["e"] == e]
        perm = np.array(perm)
        inv = np.empty(m, dtype=int)
        inv[perm] = np.arange(m)
        self.perm, self.inv = perm, inv
        sn, se = self.site_node, self.site_enode
        var_groups = [
            (tc, tc), (tc[:-1], tc[1:]), (tc[1:], tc[:-1]),
            (tpe, tc), (tpe[:-1], tc[1:]), (tpe[1:], tc[:-1]),
            (tpe, tpe), (tpe[:-1], tpe[1:]), (tpe[1:], tpe[:-1]),
            (tj, tc[sn]), (tj, tj),
        ]
        const_groups = [
            (tps, tps), (tps[faces], tps[faces + 1]), (tps[faces + 1], tps[faces]),
            (tc[sn], tj), (tpe[sn], tj), (tps[se], tj),
        ]
        const_vals = [sdiag, -G[:, faces], -G[:, faces], -(1.0 - self.tplus) * self.a_dx, -self.a_dx, self.a_dx]
        bv_groups = [(tj, tps[se]), (tj, tpe[sn])]
        if self.sym:
            const_groups += bv_groups
            const_vals += [np.ones((n, S)), -np.ones((n, S))]
        else:
            var_groups += bv_groups
        groups = var_groups + const_groups
        rows = inv[np.concatenate([g[0] for g in groups])]
        cols = inv[np.concatenate([g[1] for g in groups])]
        if len(set(zip(rows.tolist(), cols.tolist()))) != rows.size:
            raise AssertionError("duplicate Jacobian entries")
        self.kl = int(np.max(rows - cols))
        self.ku = int(np.max(cols - rows))
        self.nb = 2 * self.kl + self.ku + 1
        self._base = cols * self.nb + (self.kl + self.ku + rows - cols)
        self._pos_cache: dict[int, np.ndarray] = {}
        self.const_vals = np.concatenate(const_vals, axis=1)
        self._ident = (rows == cols).astype(float)

        # site layout per electrode (sites of an electrode are contiguous, material-major)
        self._S_el = [sum(ne[m["e"]] for m in mats if m["e"] == e) for e in (0, 1)]
        self._M_el = [sum(1 for m in mats if m["e"] == e) for e in (0, 1)]
        self.single = self._M_el == [1, 1]
        self._el_starts = np.array([0, self._S_el[0]])
        self._jsl = slice(2 * N + Ne, m)

        self._static = dict(
            fw=self.face_w,
            eps_dx=self.eps_dx, eps_dx_sum=self.eps_dx_sum,
            a_dx=self.a_dx, cmax=self.cmax, icmax=1.0 / self.cmax, Rf=self.Rf, G_s=self.G_s, g_cc=self.g_cc,
            adx_el=self.adx_el, const_vals=self.const_vals, area=self.area, R_contact=self.R_contact,
            unit_j=self._unit_j, g_cc1=self.g_cc[:, None],
            salt=self.eps_dx_sum * self.c0,  # salt per area: exactly conserved
            ARc=self.area * self.R_contact,
        )
        self.has_film = bool(np.any(self.Rf != 0))
        self.has_contact = bool(np.any(self.R_contact != 0))
        self._iV1, self._iV2 = 2 * N + Ne - 1, 2 * N + Ne - 2
        self._scale = self._current_scale()
        self._site_el = site_elec
        self._ctx_key = self._T_key = self._coef_key = None

        # -- state: the particles, and the last solution (its salt part is the state) ----
        self.X = self._rest_solution()
        self._I_prev = np.zeros(n)
        self._trend = None  # (d1, dd, h): first and second divided differences in time
        self._same_prev = np.zeros(n, dtype=bool)
        self._last = None

    # -- set-up helpers ----------------------------------------------------------------------
    def _rest_solution(self) -> np.ndarray:
        """Uniform salt, no current; potentials from the first material of each electrode."""
        n, N, nn = self.n, self.N, self.n_x[0]
        X = np.zeros((n, self.m))
        X[:, :N] = self.c0[:, None]
        mn = next(m for m in self.mats if m["e"] == 0)
        mp = next(m for m in self.mats if m["e"] == 1)
        Un = mn["mat"].ocp_V(mn["pb"].surface / mn["cmax"][:, None]).mean(axis=1)
        Up = mp["mat"].ocp_V(mp["pb"].surface / mp["cmax"][:, None])
        X[:, N:2 * N] = -Un[:, None]
        X[:, 2 * N + nn:2 * N + self.Ne] = Up - Un[:, None]
        return X

    def _positions(self, n_sub: int) -> np.ndarray:
        pos = self._pos_cache.get(n_sub)
        if pos is None:
            pos = (np.arange(n_sub) * (self.m * self.nb))[:, None] + self._base
            self._pos_cache[n_sub] = pos
        return pos

    def _current_scale(self) -> np.ndarray:
        q = sum(m["a"] / 3.0 * m["mat"].particle_radius_m * m["cmax"] for m in self.mats if m["e"] == 1)
        return q * self.L[2] * self.area * F / 3600.0

    @property
    def c(self) -> np.ndarray:
        """Salt concentration at the nodes (state), shape (n_cells, n_x_total) [mol/m^3]."""
        return self.X[:, : self.N]

    electrolyte_concentration = c

    # -- CellModel hooks -------------------------------------------------------------------
    def _base_ctx(self, T: np.ndarray, h: float) -> dict:
        """Per-cell constants of a step of ``h`` seconds at temperatures ``T`` (cached)."""
        key = (T.tobytes(), h)
        if self._ctx_key == key:
            return self._ctx_base
        if self._T_key != key[0]:
            Tref = self.params.T_ref_K
            n = self.n
            D, kk = [], []
            for m in self.mats:
                mat = m["mat"]
                Ds = _cells(mat.diffusivity_m2_s, n) * arrhenius(mat.diffusivity_activation_J_mol, T, Tref)
                D.append(Ds[:, None])
                k = _cells(mat.rate_constant, n) * arrhenius(mat.rate_activation_J_mol, T, Tref)
                kk.append(np.repeat(k[:, None], m["pb"].z.shape[1], axis=1))
            Tc = T[:, None]
            f = F / (R * Tc)
            ctx = dict(self._static)
            ctx.update(T=Tc, kk=np.concatenate(kk, axis=1), f=f, hbeta=0.5 * self.chi * R * Tc / F, dT=Tc - Tref,
                       inv_af=1.0 / (self.alpha_a * f), fa=self.alpha_a * f, fc=self.alpha_c * f,
                       fvec=np.repeat(f, self.N + self.Ne, axis=1))
            self._T_D = D
            self._T_ctx = ctx
            self._T_key = key[0]
            self._entropic = bool(np.any(T != Tref))
        ctx = dict(self._T_ctx)
        ctx["mdiag"] = ctx["eps_dx"] * (F / h)
        self._ctx_base, self._ctx_key = ctx, key
        return ctx

    def _coeffs(self, T: np.ndarray, h: float) -> list:
        """Per material: the particle step coefficients (E, G) and the surface gain s1
        (cached with the base context)."""
        self._base_ctx(T, h)
        if self._coef_key != self._ctx_key:
            out = []
            for m, D in zip(self.mats, self._T_D):
                E, G = m["pb"].coefficients(h, D)
                out.append((E, G, G @ m["pb"].w_surf))
            self._coef, self._coef_key = out, self._ctx_key
        return self._coef

    def _state_ctx(self, base: dict, h: float, c_old: np.ndarray, s0: list, s1: list) -> dict:
        ctx = dict(base)
        ctx["h"] = h
        ctx["c_old"] = c_old
        ctx["s0"] = s0[0] if len(s0) == 1 else np.concatenate(s0, axis=1)
        ctx["s1"] = s1[0] if len(s1) == 1 else np.concatenate(s1, axis=1)
        return ctx

    def _prepare(self, h: float, T_K: np.ndarray) -> _Prep:
        coef = self._coeffs(T_K, h)
        prep = _Prep()
        prep.h, prep.T, prep.D = h, T_K, self._T_D
        prep.recent = []
        prep.halvings = self.max_halvings
        prep.coeffs = [(E, G) for E, G, _ in coef]
        s0 = [(E * m["pb"].z) @ m["pb"].w_surf for m, (E, _, _) in zip(self.mats, coef)]
        prep.ctx = self._state_ctx(self._ctx_base, h, self.c, s0, [s1 for _, _, s1 in coef])
        return prep

    def _predict(self, I_new: np.ndarray, h: float, cells=None) -> np.ndarray:
        """Newton's starting point: the last solution extrapolated (quadratically) along
        the last steps at constant current, with j adapted to a new current."""
        take = (lambda a: a) if cells is None else (lambda a: a[cells])
        trend = self._trend
        if trend is None or h > 3.0 * trend[2]:  # no (reliable) trend
            X = take(self.X).copy()
        else:
            d1, dd, h1 = trend
            X = take(self.X) + h * take(d1)
            if dd is not None:
                X += (h * (h + h1)) * take(dd)
        return self._rescale_j(X, take(self._I_prev), I_new, cells)

    def _rescale_j(self, X: np.ndarray, I_from: np.ndarray, I_to: np.ndarray, cells=None) -> np.ndarray:
        """Adapt the j of ``X`` (in place) from the current ``I_from`` to ``I_to``: the
        distribution scaled with the current, or shifted uniformly from a small current."""
        if (I_to != I_from).any():
            take = (lambda a: a) if cells is None else (lambda a: a[cells])
            big = np.abs(I_from) > 0.05 * take(self._scale)
            ratio = np.where(big, I_to / np.where(big, I_from, 1.0), 1.0)
            shift = np.where(big, 0.0, (I_to - I_from) / take(self.area))
            X[:, self._jsl] = X[:, self._jsl] * ratio[:, None] + shift[:, None] * take(self._unit_j)
        return X

    def _evaluate(self, prep: _Prep, current_A: np.ndarray):
        # power and voltage control evaluate the same step at nearby currents: reuse
        # (a current evaluated just before) or start from (the last evaluation) what is known
        recent = prep.recent
        if recent:
            hits = [(I == current_A) & ok for I, _, _, ok in recent]
            if np.logical_or.reduce(hits).all():
                X, V = recent[0][1], recent[0][2]
                if len(recent) > 1:
                    X = np.where(hits[0][:, None], X, recent[1][1])
                    V = np.where(hits[0], V, recent[1][2])
                return V, (X, V, None)
        ia = (current_A / self.area)[:, None]
        X0 = self._predict(current_A, prep.h)
        if recent:
            I_w, X_w, _, ok_w = recent[0]
            X0 = np.where(ok_w[:, None], self._rescale_j(X_w.copy(), I_w, current_A), X0)
        ok, X, V = self._newton(prep.ctx, ia, X0)
        prep.recent = [(current_A.copy(), X, V, ok)] + recent[:1]  # entries of failed cells unused
        sub = None
        if not ok.all() and prep.halvings > 0:
            cells = np.flatnonzero(~ok)
            okc, Xc, Vc, zc = self._substeps(prep, ia, current_A, cells)
            X[cells] = Xc
            V[cells] = np.where(okc, Vc, np.nan)
            sub = (cells, zc)
        return V, (X, V, sub)

    def _prepare_pulse(self, h: float, T_K: np.ndarray, substeps: int = 1) -> _Prep:
        """:meth:`_prepare` for the available power's trial pulses: a trial current whose
        Newton fails is beyond the cell's range unless ``pulse_halvings`` sub-step halvings
        (instead of ``max_halvings``) find it; the limits are searched by bisection there, so
        the deep retries of an infeasible current cost most of the search."""
        prep = self._prepare(h, T_K)
        prep.halvings = min(self.pulse_halvings, self.max_halvings)
        return prep

    def _anode_potential(self, prep: _Prep, current_A, aux, slope: bool = False):
        """End-of-step anode potential (the ``anode_potential_V`` output) read from the
        evaluated solution in ``aux`` (no commit); the slope, if asked, by a forward
        difference (one more evaluation)."""
        a = self._anode_of(aux[0])
        if not slope:
            return a
        dI = 1e-3 * self._current_scale()
        _, aux2 = self._evaluate(prep, np.asarray(current_A, dtype=float) + dI)
        return a, (self._anode_of(aux2[0]) - a) / dI

    def _anode_of(self, X: np.ndarray) -> np.ndarray:
        """phi_s - phi_e of the negative electrode extrapolated to the separator."""
        N, nn = self.N, self.n_x[0]
        d = X[:, 2 * N:2 * N + nn] - X[:, N:N + nn]
        return 1.5 * d[:, -1] - 0.5 * d[:, -2] if nn > 1 else d[:, -1].copy()

    def _substeps(self, prep: _Prep, ia: np.ndarray, current_A: np.ndarray, cells: np.ndarray):
        """Step the cells ``cells`` alone with sub-steps h / 2^k, halving after a failure."""
        K = prep.halvings
        nc = cells.size
        level = np.ones(nc, dtype=int)
        remaining = np.full(nc, 2**K)  # in units of h / 2^K
        failed = np.zeros(nc, dtype=bool)
        z = [m["pb"].z[cells].copy() for m in self.mats]
        X = self._predict(current_A[cells], prep.h / 2.0, cells)
        c_old = self.c[cells].copy()
        V = np.full(nc, np.nan)
        while True:
            active = (remaining > 0) & ~failed
            if not active.any():
                break
            for lev in np.unique(level[active]):
                g = np.flatnonzero(active & (level == lev))
                cg = cells[g]
                hk = prep.h / 2.0**lev
                coeffs, s0, s1 = [], [], []
                for q, (m, D) in enumerate(zip(self.mats, prep.D)):
                    E, G = m["pb"].coefficients(hk, D)
                    E, G = E[cg], G[cg]
                    coeffs.append((E, G))
                    s0.append((E * z[q][g]) @ m["pb"].w_surf)
                    s1.append(G @ m["pb"].w_surf)
                base = {k: v[:, cg] if k in _STACKED else v[cg] for k, v in self._base_ctx(prep.T, hk).items()}
                okg, Xg, Vg = self._newton(self._state_ctx(base, hk, c_old[g], s0, s1), ia[cg], X[g], True)
                good = g[okg]
                X[good] = Xg[okg]
                jg = Xg[okg][:, self._jsl]
                for q, (m, (E, G)) in enumerate(zip(self.mats, coeffs)):
                    z[q][good] = E[okg] * z[q][good] + G[okg] * jg[:, m["sl"], None]
                c_old[good] = Xg[okg][:, : self.N]
                V[good] = Vg[okg]
                remaining[good] -= 2 ** (K - lev)
                bad = g[~okg]
                level[bad] += 1
                failed[bad] |= level[bad] > K
        return ~failed, X, V, z

    def _commit(self, prep: _Prep, current_A: np.ndarray, aux) -> None:
        X, V, sub = aux
        j = X[:, self._jsl]
        for m, (E, G) in zip(self.mats, prep.coeffs):
            m["pb"].advance(E, G, j[:, m["sl"]])
        if sub is not None:
            cells, z = sub
            for m, zq in zip(self.mats, z):
                m["pb"].z[cells] = zq
        # divided differences in time, for the next prediction (constant current only)
        h = prep.h
        same = current_A == self._I_prev
        d1 = (X - self.X) * (same / h)[:, None]
        dd = None
        if self._trend is not None:
            d1_old, _, h1 = self._trend
            dd = (d1 - d1_old) * ((same & self._same_prev) / (h + h1))[:, None]
        self._trend = (d1, dd, h)
        self._same_prev = same
        self.X = X
        self._I_prev = current_A.copy()
        self._last = (current_A.copy(), V, prep.T)
        self._out = None

    def _get_state(self):
        trend = None if self._trend is None else tuple(a.copy() if isinstance(a, np.ndarray) else a
                                                       for a in self._trend)
        return ([m["pb"].z.copy() for m in self.mats], self.X.copy(), self._I_prev.copy(), trend,
                self._same_prev.copy(), self._last)  # _last: replaced, never mutated

    def _set_state(self, state) -> None:
        zs, X, I_prev, trend, same_prev, self._last = state
        for m, z in zip(self.mats, zs):
            m["pb"].z = z.copy()
        self.X = X.copy()
        self._I_prev = I_prev.copy()
        self._trend = None if trend is None else tuple(a.copy() if isinstance(a, np.ndarray) else a for a in trend)
        self._same_prev = same_prev.copy()
        self._out = None

    # -- outputs -----------------------------------------------------------------------------
    def _outputs(self):
        if self._out is None:
            self._out = {} if self._last is None else LazyOutputs(self._fill_outputs, self._last)
        return self._out

    def _fill_outputs(self, out, I, V, T):
        N, Ne = self.N, self.Ne
        X = self.X
        c, pe, ps, j = X[:, :N], X[:, N:2 * N], X[:, 2 * N:2 * N + Ne], X[:, 2 * N + Ne:]
        Tref = self.params.T_ref_K
        Tc = T[:, None]
        sn, se = self.site_node, self.site_enode
        cs = np.concatenate([m["pb"].surface for m in self.mats], axis=1)
        sto = cs / self.cmax
        U, _ = self._ocp(sto, Tc - Tref, False, bool(np.any(T != Tref)))
        area = self.area
        aj = self.a_dx * j
        # reaction heat (incl. the film): sum a j (phi_s - phi_e - U) dx
        out["heat_reaction_W"] = (aj * (ps[:, se] - pe[:, sn] - U)).sum(axis=1) * area
        dUdT = np.concatenate([m["mat"].entropic_V_K(sto[:, m["sl"]]) for m in self.mats], axis=1)
        out["heat_reversible_W"] = (aj * Tc * dUdT).sum(axis=1) * area
        out["heat_mixing_W"] = self._heat_mixing(T, j)
        # ohmic: -i.grad(phi) summed over faces (electrolyte, solid incl. the collector
        # half-cells), plus the contact resistance
        kap_m = self.kappa_fn(0.5 * (c[:, 1:] + c[:, :-1]), Tc) if self._mid else 0.0
        kf = face_conductance(self.face_w, self.kappa_fn(c, Tc), kap_m)
        ic = 1.0 / c
        beta = self.chi * R * Tc / F
        dpe = pe[:, 1:] - pe[:, :-1]
        ie = kf * (beta * 0.5 * (ic[:, 1:] + ic[:, :-1]) * (c[:, 1:] - c[:, :-1]) - dpe)
        q_e = -(ie * dpe).sum(axis=1)
        q_s = (self.G_s * (ps[:, 1:] - ps[:, :-1]) ** 2).sum(axis=1) + self.g_cc * ps[:, 0] ** 2
        q_s = q_s + (I / area) ** 2 * 0.5 * self.dx_e[1] / self.sigma[1]
        out["heat_ohmic_W"] = (q_e + q_s) * area + I * I * self.R_contact
        # stoichiometries, OCV and SOC
        ocv = [0.0, 0.0]
        wsum = [0.0, 0.0]
        soc_num = soc_den = 0.0
        for m in self.mats:
            mat, e = m["mat"], m["e"]
            mean = m["pb"].mean.mean(axis=1) / m["cmax"]
            out[f"sto_surface_{m['side']}_{mat.name}"] = sto[:, m["sl"]].mean(axis=1)
            out[f"sto_mean_{m['side']}_{mat.name}"] = mean
            cap = m["a"] * mat.particle_radius_m * m["cmax"]  # 3 eps_s c_max
            ocv[e] = ocv[e] + cap * (mat.ocp_V(mean) + (T - Tref) * mat.entropic_V_K(mean))
            wsum[e] = wsum[e] + cap
            if e == 0:
                soc_num = soc_num + cap * (mean - mat.sto_at_soc0)
                soc_den = soc_den + cap * (mat.sto_at_soc100 - mat.sto_at_soc0)
        out["ocv_V"] = ocv[1] / wsum[1] - ocv[0] / wsum[0]
        out["soc"] = soc_num / soc_den
        out["anode_potential_V"] = self._anode_of(X)

    def _particle_shells(self):
        for m in self.mats:
            pb = m["pb"]
            eps_s = m["a"] * m["mat"].particle_radius_m / 3.0
            mol = (eps_s * self.dx_e[m["e"]] * self.area * m["cmax"])[:, None, None] * pb.shell_fractions
            yield m["mat"], pb.shells / m["cmax"][:, None, None], mol

    def _heat_mixing(self, T: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Heat of mixing of the particles [W] (K. E. Thomas and J. Newman, J. Electrochem.
        Soc. 150 (2003) A176: ``F int D (-dU_H/dc) |dc/dr|^2 dV`` over every particle), in the
        finite-volume form of the SPMe's (``mixing`` in ``fmus/pack/src/cell_kernel.c``: faces
        between shells plus the half shell to the extrapolated surface), so that it is exactly what the
        particles' stored energy (:meth:`stored_energy_J`) misses of the reaction's
        ``a j U_H(c_surf)``."""
        Tref = self.params.T_ref_K
        q = np.zeros(self.n)
        for m, D in zip(self.mats, self._diffusivities(T)):
            pb, mat, cmax = m["pb"], m["mat"], m["cmax"][:, None, None]
            uH = lambda sto: mat.ocp_V(sto) - Tref * mat.entropic_V_K(sto)  # noqa: E731
            c = pb.shells
            u = uH(c / cmax)
            faces = (pb.face * (c[..., 1:] - c[..., :-1]) * (u[..., :-1] - u[..., 1:])).sum(axis=2)
            eps_s = m["a"] * mat.particle_radius_m / 3.0
            inner = (3.0 * F * eps_s * D / mat.particle_radius_m**2)[:, None] * faces  # W/m^3 per site
            surface = m["a"][:, None] * j[:, m["sl"]] * (uH(pb.surface / cmax[..., 0]) - u[..., -1])
            q += ((inner + surface).sum(axis=1)) * self.dx_e[m["e"]] * self.area
        return q

    def _diffusivities(self, T: np.ndarray) -> list:
        """Solid diffusivity of every material at the temperatures ``T`` (n,)."""
        Tref = self.params.T_ref_K
        return [_cells(m["mat"].diffusivity_m2_s, self.n) * arrhenius(m["mat"].diffusivity_activation_J_mol, T, Tref)
                for m in self.mats]

    # -- extra views ---------------------------------------------------------------------------
    def lithium_in_particles_mol(self, side: str | None = None) -> np.ndarray:
        """Lithium in the particles of each cell [mol]: all, or those of one electrode
        (``side`` = "negative" or "positive")."""
        total = np.zeros(self.n)
        for m in self.mats:
            if side is not None and m["side"] != side:
                continue
            eps_s = m["a"] * m["mat"].particle_radius_m / 3.0
            total += m["pb"].mean.sum(axis=1) * eps_s * self.dx_e[m["e"]] * self.area
        return total

    def lithium_in_electrolyte_mol(self) -> np.ndarray:
        """Lithium (salt) in the electrolyte of each cell [mol]."""
        return (self.eps_dx * self.c).sum(axis=1) * self.area
