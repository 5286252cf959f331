"""The contract of a batched electrochemical cell model (SPM, SPMe, DFN).

A model advances ``n_cells`` independent unit cells together; every input and output is a
float64 array of shape ``(n_cells,)``. Cells never interact inside a model (stacks and
packs couple them outside), so a cell's results do not depend on the rest of its batch.

Contract for implementers (subclass :class:`CellModel`):

1. ``__init__(params, **mesh)`` builds the state at the parameter set's initial state
   (uniform particle and electrolyte concentrations). Mesh keywords have defaults that
   reach the reference accuracy (see the tests against PyBaMM).
2. Implement ``_prepare(h, T_K)``: everything of a step of ``h`` seconds at cell
   temperatures ``T_K`` that does not depend on the applied current (factorisations,
   decay factors, affine parts); return an opaque object.
3. Implement ``_evaluate(prep, current_A)``: the end-of-step terminal voltage for a
   current held over the step, *without* changing the state; return ``(voltage, aux)``.
   It must be cheap enough to be called a few times per step (power and voltage control
   solve for the current with it) and must tolerate currents that give no solution
   (return NaN voltage for those cells, never raise). Optionally override
   ``_evaluate_slope(prep, current_A)`` to return ``(voltage, dV/dI, aux)`` with an exact
   slope (the default takes a finite difference); the pack's solvers use it. A model whose
   slope evaluation also gives the derivatives of its aux may override ``_shift(aux, dI)``
   to return that aux moved to the currents ``current_A + dI`` along the linearisation
   (the pack then commits a converged Newton update without one more evaluation); the
   default returns None.
4. Implement ``_commit(prep, current_A, aux)``: make the step happen. Outputs (see
   :data:`OUTPUTS`) are read through the ``out`` property: either fill the dict
   ``self.out[...]`` in ``_commit``, or override ``_outputs()`` to compute them only when
   read (cheaper when a driver only needs the voltage).
5. Implement ``_get_state()``/``_set_state()`` (copies of every state array).

The public :meth:`CellModel.step` drives the current, power (``V * I = P``) or voltage
modes on top of these hooks. Sign: current and power are positive on discharge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .params import CellParams

#: outputs every model fills after each step: name -> (unit, long name)
OUTPUTS: dict[str, tuple[str, str]] = {
    "voltage_V": ("V", "terminal voltage"),
    "current_A": ("A", "current (positive on discharge)"),
    "ocv_V": ("V", "open-circuit voltage at the mean particle stoichiometries"),
    "soc": ("1", "state of charge (negative electrode lithium in its SOC window)"),
    "anode_potential_V": ("V", "negative electrode potential vs Li/Li+ at the separator (plating margin)"),
    "heat_reaction_W": ("W", "irreversible heat of the electrode reactions"),
    "heat_ohmic_W": ("W", "irreversible ohmic heat (electrolyte, solid, contacts, concentration polarisation)"),
    "heat_reversible_W": ("W", "reversible (entropic) heat"),
    "heat_mixing_W": ("W", "heat of mixing of the particle concentration gradients"),
}

#: the outputs whose sum is a cell's heat (what a thermal model needs)
HEAT_OUTPUTS = ("heat_reaction_W", "heat_ohmic_W", "heat_reversible_W", "heat_mixing_W")


def total_heat_W(out) -> np.ndarray:
    """A cell's total heat from its outputs: the sum of :data:`HEAT_OUTPUTS`."""
    return sum(np.asarray(out[k], dtype=float) for k in HEAT_OUTPUTS)


class LazyOutputs(dict):
    """Outputs of a step: current and voltage at once, the rest filled by ``fill(self,
    *last)`` when first asked for (``last`` = (current, voltage, ...) of the step)."""

    def __init__(self, fill, last):
        super().__init__(current_A=last[0], voltage_V=last[1])
        self._fill, self._last = fill, last

    def _complete(self):
        if self._last is not None:
            last, self._last = self._last, None
            self._fill(self, *last)

    def __missing__(self, key):
        self._complete()
        return dict.__getitem__(self, key)

    def __contains__(self, key):
        self._complete()
        return super().__contains__(key)

    def __iter__(self):
        self._complete()
        return super().__iter__()

    def get(self, key, default=None):
        self._complete()
        return super().get(key, default)

    def keys(self):
        self._complete()
        return super().keys()

    def copy(self):
        self._complete()
        return dict(self)

    def values(self):
        self._complete()
        return super().values()

    def items(self):
        self._complete()
        return super().items()

    def __len__(self):
        self._complete()
        return super().__len__()


class ConvergenceError(RuntimeError):
    """A step did not converge; carries the cell indices, time step and state."""

    def __init__(self, message: str, cells: np.ndarray):
        super().__init__(message)
        self.cells = cells


class CellModel:
    """Base class of the batched cell models; see the module docstring."""

    name = ""

    def __init__(self, params: CellParams):
        self.params = params
        self.n = params.n_cells
        self._out: dict[str, np.ndarray] = {}

    @property
    def out(self) -> dict[str, np.ndarray]:
        """Outputs after the last step (arrays of shape ``(n_cells,)``)."""
        return self._outputs()

    def _outputs(self) -> dict[str, np.ndarray]:
        return self._out

    # -- hooks ------------------------------------------------------------------------
    def _prepare(self, h: float, T_K: np.ndarray) -> Any:
        raise NotImplementedError

    def _evaluate(self, prep: Any, current_A: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _prepare_pulse(self, h: float, T_K: np.ndarray, substeps: int = 1) -> Any:
        """:meth:`_prepare` for the trial pulses of :meth:`available_power` (a model may
        trade robustness it needs only in real steps for speed there); a model that can
        integrate the pulse in ``substeps`` equal steps (as the run that follows will step)
        does so (the SPM/SPMe), others take it in one."""
        return self._prepare(h, T_K)

    def _evaluate_slope(self, prep: Any, current_A: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(voltage, dV/dI, aux)``: :meth:`_evaluate` with the slope of each cell's voltage
        in its own current. This default takes a forward difference (one more evaluation);
        a model with an analytic slope overrides it."""
        V, aux = self._evaluate(prep, current_A)
        dI = 1e-3 * self._current_scale()
        V2, _ = self._evaluate(prep, current_A + dI)
        return V, (V2 - V) / dI, aux

    def _shift(self, aux: Any, dI: np.ndarray) -> Any:
        """The aux of a slope evaluation moved by current changes ``dI`` along its
        linearisation, or None where the model cannot (this default)."""
        return None

    def _commit(self, prep: Any, current_A: np.ndarray, aux: Any) -> None:
        raise NotImplementedError

    def _anode_potential(self, prep: Any, current_A: np.ndarray, aux: Any, slope: bool = False):
        """End-of-step anode potential vs Li/Li+ (the ``anode_potential_V`` output) for the
        currents ``current_A`` evaluated into ``aux``, without changing the state; with
        ``slope`` also its derivative in each cell's current, ``(a, da/dI)``. This default
        commits the step on a saved state, reads the output and restores the state, and takes
        the slope by a forward difference (one more evaluation and commit, ``dI`` = 1e-3 of
        the 1C current); a model that has the anode potential in its evaluation overrides
        it with the exact value and slope."""
        I = np.asarray(current_A, dtype=float)
        state = self._get_state()
        try:
            self._commit(prep, I, aux)
            a = np.array(self.out["anode_potential_V"], dtype=float)
            if not slope:
                return a
            dI = 1e-3 * self._current_scale()
            _, aux2 = self._evaluate(prep, I + dI)
            self._set_state(state)
            self._commit(prep, I + dI, aux2)
            a2 = np.array(self.out["anode_potential_V"], dtype=float)
            return a, (a2 - a) / dI
        finally:
            self._set_state(state)

    def _get_state(self) -> Any:
        raise NotImplementedError

    def _particle_shells(self):
        """Every particle's shells: yields ``(material, sto, mol)`` per active material, with
        ``sto`` the shell stoichiometries (cells on axis 0, shells on the last axis) and
        ``mol`` (broadcast against ``sto``) the lithium capacity ``c_max * volume`` of those
        shells in all of the cell's particles of that material [mol]."""
        raise NotImplementedError

    def stored_energy_J(self) -> np.ndarray:
        """Energy stored in each cell's particles [J]: the enthalpy of their lithium relative
        to empty particles (and lithium metal), with the sign that makes it fall on discharge::

            E = -F sum_(electrodes, materials) int_particles int_0^c U_H(c') dc' dV,
            U_H(c) = U_ref(c) - T_ref dU/dT(c)

        (:mod:`cosim.cell.energy`; the integral over the particles is the models' own
        quadrature: the finite-volume shells, uniform within each). Moving lithium from the
        negative to the positive electrode lowers E by ``F (U_H,p - U_H,n)`` per mole, so
        between two states ``E(start) - E(end)`` is the electrical energy delivered plus all
        the heat (reaction, ohmic, reversible and mixing: the books close,
        ``tests/test_cell_energy.py``). Both electrodes carry the same sign (-F times the
        integral): the lithium's molar enthalpy is ``-F U_H`` in either.

        The electrolyte's free energy is left out: a model's ohmic heat books the
        concentration polarisation ``-i_e . grad(phi_e)`` (which contains the rate of change of
        the salt's free energy) as heat when it occurs, so between two states with the same
        uniform salt (rest to equilibrium: the salt is conserved) it cancels exactly; between
        states with salt gradients E misses their free energy."""
        from .energy import EnthalpyIntegral
        from .params import F

        cache = self.__dict__.setdefault("_enthalpy_cache", {})
        E = np.zeros(self.n)
        for mat, sto, mol in self._particle_shells():
            key = id(mat)
            if key not in cache:
                cache[key] = (mat, EnthalpyIntegral(mat.ocp_V, mat.entropic_V_K, self.params.T_ref_K))
            G = cache[key][1](sto)
            E -= F * (mol * G).reshape(self.n, -1).sum(axis=1)
        return E

    def _set_state(self, state: Any) -> None:
        raise NotImplementedError

    # -- public -----------------------------------------------------------------------
    def get_state(self) -> Any:
        return self._get_state()

    def set_state(self, state: Any) -> None:
        self._set_state(state)

    def voltage_after(self, h: float, T_K, current_A) -> np.ndarray:
        """Terminal voltage after holding ``current_A`` for ``h`` seconds from the present
        state (the state does not change)."""
        prep = self._prepare(float(h), self._cells(T_K))
        return self._evaluate(prep, self._cells(current_A))[0]

    def rest_outputs(self, T_K) -> dict[str, np.ndarray]:
        """Fill the outputs for the present state at zero current (before the first step)."""
        return self.step(1e-9, T_K, current_A=0.0)

    def available_power(self, duration_s: float, T_K, v_min: float, v_max: float,
                        min_anode_potential_V: float | None = None):
        """Power each cell can deliver (discharge, >= 0) and take (charge, <= 0) over a
        constant-current pulse of ``duration_s`` that ends exactly at ``v_min`` / ``v_max``.

        With ``min_anode_potential_V`` (V vs Li/Li+) the charge pulse also ends with the
        anode potential (the ``anode_potential_V`` output) at or above it (a plating limit):
        the current where it reaches that value is solved per cell like the voltage limit
        (:meth:`_anode_potential`), and the smaller of the two charge currents counts."""
        T = self._cells(T_K)
        prep = self._prepare_pulse(float(duration_s), T)
        zero = np.zeros(self.n)
        V0, aux0 = self._evaluate(prep, zero)  # where each search starts: evaluated once
        I_dis, V_dis, _ = self._solve_voltage(prep, np.full(self.n, v_min), pulse=V0)
        I_ch, V_ch, _ = self._solve_voltage(prep, np.full(self.n, v_max), pulse=V0)
        dis = np.where(np.isfinite(V_dis), np.maximum(I_dis, 0.0) * v_min, 0.0)
        ch = np.where(np.isfinite(V_ch), np.minimum(I_ch, 0.0) * v_max, 0.0)
        if min_anode_potential_V is None:
            return dis, ch
        I_pl, ok = self._solve_anode(prep, float(min_anode_potential_V), (V0, self._anode_potential(prep, zero, aux0)))
        I_v = np.where(np.isfinite(V_ch), np.minimum(I_ch, 0.0), 0.0)
        I_pl = np.where(ok, np.minimum(I_pl, 0.0), 0.0)
        plating = I_pl > I_v  # the plating limit binds first (a smaller charge current)
        if plating.any():
            V_pl, _ = self._evaluate(prep, np.where(plating, I_pl, 0.0))
            ch = np.where(plating, np.where(np.isfinite(V_pl), I_pl * V_pl, 0.0), ch)
        return dis, ch

    def _solve_anode(self, prep, target: float, at_zero=None):
        """Current at which the end-of-step anode potential is ``target`` (it rises with the
        current; no solution at a charge current: the limit is certainly crossed); returns
        the current and where it was found."""

        def residual(I):
            V, aux = self._evaluate(prep, I)
            a = self._anode_potential(prep, I, aux)
            r = target - a
            return np.where(np.isfinite(V) & np.isfinite(a), r, np.where(I > 0, -np.inf, np.inf))

        r0 = None
        if at_zero is not None:  # (voltage, anode potential) at zero current
            V0, a0 = at_zero
            r0 = np.where(np.isfinite(V0) & np.isfinite(a0), target - a0, np.inf)
        I, V, _ = self._pulse_root(prep, residual, r0)
        return I, np.isfinite(V)

    def _pulse_root(self, prep, residual, r0=None):
        """Root of a residual that falls with the current (a voltage or potential limit of
        a pulse; ±inf where a current has no solution) from zero current, in few
        evaluations: the first trial step of 0.1 C is extended along the secant through
        zero and it, 1.5 times as far (the voltage curves bend away from their secant, so
        that usually brackets the root), then bracketed and refined as
        :meth:`_bracketed` does, to 1e-7 of the 1C current (a pulse power to ~1e-7 of
        the 1C power) or, where the limit is the edge of the model's range (a particle
        surface or the salt runs out before the voltage limit: bisection), to 1e-5 of the
        current, on the side inside the range: the bisections to the 1e-12 that a step's
        solves use cost most of the time there."""
        scale = self._current_scale()
        I0 = np.zeros(self.n)
        if r0 is None:
            r0 = residual(I0)
        step = np.where(r0 > 0, 1.0, -1.0) * 0.1 * scale
        I1 = I0 + step
        r1 = residual(I1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            secant = -r1 * step / (r1 - r0)
        go = (np.isfinite(r0) & np.isfinite(r1) & (np.sign(r1) == np.sign(r0)) & (r0 != 0)
              & np.isfinite(secant) & (secant * step > 0))
        # from (I1, r1) where the first step did not bracket the root, else from zero again
        a = np.where(go, I1, I0)
        ra = np.where(go, r1, r0)
        ext = np.where(go, 1.5 * secant, step)
        return self._bracketed(prep, residual, a, ra, ext, expand=2.0, tol=1e-7, edge_rtol=1e-5)

    def step(self, h: float, T_K, *, current_A=None, power_W=None, voltage_V=None,
             limits: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
        """Advance every cell by ``h`` seconds with one input held over the step: a current,
        a power (the current with ``V * I = P`` at the end of the step) or a terminal
        voltage. With ``limits = (v_min, v_max)`` a cell that would end the step outside
        them is held at the limit instead (its current follows). Returns ``self.out``.
        Raises :class:`ConvergenceError` for cells without a solution; the state is then
        unchanged (nothing is committed), so a caller can retry with shorter steps."""
        given = [x is not None for x in (current_A, power_W, voltage_V)]
        if sum(given) != 1:
            raise ValueError("give exactly one of current_A, power_W, voltage_V")
        T = self._cells(T_K)
        prep = self._prepare(float(h), T)
        if current_A is not None:
            current = self._cells(current_A)
            voltage, aux = self._evaluate(prep, current)
        elif power_W is not None:
            current, voltage, aux = self._solve_power(prep, self._cells(power_W))
        else:
            current, voltage, aux = self._solve_voltage(prep, self._cells(voltage_V))
        if limits is not None:
            lost = ~np.isfinite(voltage)  # no solution at this current: a limit is certainly crossed
            low = (voltage < limits[0]) | (lost & (current > 0))
            high = (voltage > limits[1]) | (lost & (current < 0))
            if low.any() or high.any():
                target = np.where(low, limits[0], np.where(high, limits[1], voltage))
                I_lim, _, aux = self._solve_voltage(prep, target, current0=np.where(lost, 0.0, current))
                clamp = low | high
                current = np.where(clamp, I_lim, current)
                voltage, aux = self._evaluate(prep, current)
        bad = ~np.isfinite(voltage)
        if bad.any():
            cells = np.flatnonzero(bad)
            raise ConvergenceError(
                f"{self.name}: no solution for cell(s) {cells[:10].tolist()} over a step of {h:g} s "
                f"(current {current[cells[:3]].tolist()} A): outside the model's range "
                "(a particle empty or full, or the electrolyte depleted)",
                cells,
            )
        self._commit(prep, current, aux)
        return self.out

    def _cells(self, value) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), (self.n,)).copy()

    def _solve_voltage(self, prep, target: np.ndarray, current0=None, pulse=None):
        """Current giving ``target`` terminal voltage. V falls with I; where no solution
        exists at a trial current (a particle or the electrolyte runs out) the limit is
        certainly beyond, so a bracket is always found within the model's range. ``pulse`` (the
        voltages at zero current): from zero current by :meth:`_pulse_root` (a root far from
        zero, in fewer evaluations)."""

        def residual(I):
            V, _ = self._evaluate(prep, I)
            r = V - target
            return np.where(np.isfinite(V), r, np.where(I > 0, -np.inf, np.inf))

        if pulse is not None:
            return self._pulse_root(prep, residual, np.where(np.isfinite(pulse), pulse - target, np.inf))

        I0 = np.zeros(self.n) if current0 is None else np.asarray(current0, dtype=float)
        r0 = residual(I0)
        step = np.where(r0 > 0, 1.0, -1.0) * 0.1 * self._current_scale()
        return self._bracketed(prep, residual, I0, r0, step, expand=2.0)

    def _solve_power(self, prep, power: np.ndarray):
        """Current with ``I * V(I) = P`` on the low-current branch (NaN where ``P`` is more
        than the cell can give or take)."""

        def residual(I):
            V, _ = self._evaluate(prep, I)
            return np.where(np.isfinite(V), I * V - power, np.nan)

        I0 = np.zeros(self.n)
        V0, _ = self._evaluate(prep, I0)
        step = power / np.where(V0 > 0, V0, 1.0)
        return self._bracketed(prep, residual, I0, residual(I0), step, expand=1.3)

    def _bracketed(self, prep, residual, I0, r0, step, expand, tol=1e-12, max_iter=80, edge_rtol=0.0):
        """Root of a residual per cell: bracket by expanding steps from ``I0``, then the
        Illinois variant of regula falsi (bisection where an end is infinite), until the
        bracket is below ``tol`` of the 1C current or, where an end is infinite (the root is
        the edge of the model's range), below ``edge_rtol`` of the current."""
        scale = self._current_scale()
        a, ra = I0.copy(), r0.copy()
        b = I0 + np.where(step == 0, 1e-9 * scale, step)
        rb = residual(b)
        for _ in range(60):
            need = np.isfinite(rb) & (np.sign(rb) == np.sign(ra)) & (ra != 0)
            if not need.any():
                break
            b_next = b + (b - I0) * (expand - 1.0)
            a, ra = np.where(need, b, a), np.where(need, rb, ra)
            b = np.where(need, b_next, b)
            rb = np.where(need, residual(b), rb)
        ok = np.isfinite(ra) & ~np.isnan(rb) & ((np.sign(ra) != np.sign(rb)) | (ra == 0))
        for _ in range(max_iter):
            width = np.abs(b - a)
            edge = ~(np.isfinite(ra) & np.isfinite(rb)) & (width <= edge_rtol * np.maximum(np.abs(a), np.abs(b)))
            if np.all(~ok | (width <= tol * scale) | edge):
                break
            finite = np.isfinite(ra) & np.isfinite(rb)
            with np.errstate(invalid="ignore", divide="ignore"):
                c = np.where(finite & (rb != ra), b - rb * (b - a) / (rb - ra), 0.5 * (a + b))
            c = np.where((c - a) * (c - b) < 0, c, 0.5 * (a + b))
            rc = residual(c)
            rc = np.where(np.isnan(rc), np.inf, rc)
            same_as_b = np.sign(rc) == np.sign(rb)
            # Illinois: the end that stays gets its residual halved, so it moves next time
            a, ra = np.where(same_as_b, a, b), np.where(same_as_b, 0.5 * ra, rb)
            b, rb = c, rc
        I = np.where(np.abs(rb) <= np.abs(ra), b, a)
        V, aux = self._evaluate(prep, I)
        V = np.where(ok, V, np.nan)
        return I, V, aux

    def _current_scale(self) -> np.ndarray:
        """A 1C-like current per cell [A] for tolerances and step limits."""
        raise NotImplementedError
