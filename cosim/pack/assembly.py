"""Bipolar stacks assembled into a battery: series stacks in parallel strings, solved exactly.

Layout: ``n_strings`` parallel strings, each ``n_stacks`` bipolar stacks in series, each
stack ``n_layers`` unit cells in series. Every unit cell is a cell of one batched
electrochemical model (cell index ``(string, stack, layer)`` in C order), so all of them
advance together with their own state, parameters and temperature.

Electrical model per step (current held over the step, end-of-step voltages):

* a unit cell's terminal voltage ``v(I)`` comes from the cell model and already contains its
  bipolar collector and contact resistance (the parameter set's ``contact_resistance``);
* a stack adds its two end collectors: ``V_stack = sum(v) - I R_end``;
* a string adds the interconnects between its stacks and its own lead: ``V_string =
  sum(V_stack) - I R_string``;
* the strings are in parallel: ``V_string,s(I_s) = V_pack`` for every s and
  ``sum(I_s) = I_pack``. Solved to convergence every step by Newton on the string currents
  with each string's own end-of-step resistance (the sum of its cells' exact slopes
  ``dv/dI`` from the cell model, plus its series resistance); the currents come out of a
  linear solve that makes their sum exactly ``I_pack``.

The pack can be driven by current, by power (``V_pack I_pack = P``), and respects voltage
limits per layer and per pack by holding the worst layer (or the pack) at its limit. Its
available power (:meth:`AssembledBattery.available_power`) is the pulse that ends at the
binding voltage limit or, on charge, at the plating limit (every layer's anode potential vs
Li/Li+ at or above ``min_anode_potential_V``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..cell.base import CellModel, ConvergenceError

# margin on the curvature estimate when a Newton update is committed linearised
_SAFETY = 10.0


@dataclass(frozen=True)
class Layout:
    n_strings: int
    n_stacks: int
    n_layers: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.n_strings, self.n_stacks, self.n_layers)

    @property
    def n_cells(self) -> int:
        return self.n_strings * self.n_stacks * self.n_layers

    def where(self, cell: int) -> str:
        s, k, layer = np.unravel_index(cell, self.shape)
        return f"string {s}, stack {k}, layer {layer}"


class AssembledBattery:
    """Strings of bipolar stacks around one batched cell model; see the module docstring."""

    def __init__(self, model: CellModel, layout: Layout, *, end_collector_resistance_Ohm: float = 0.0,
                 string_resistance_Ohm: np.ndarray | float = 0.0):
        if model.n != layout.n_cells:
            raise ValueError(f"the cell model holds {model.n} cells, the layout {layout.n_cells}")
        self.model = model
        self.layout = layout
        self.R_end = float(end_collector_resistance_Ohm)
        self.R_string = np.broadcast_to(np.asarray(string_resistance_Ohm, dtype=float), (layout.n_strings,)).copy()
        # series resistance of a whole string outside its unit cells
        self.R_series = layout.n_stacks * self.R_end + self.R_string
        self.string_current = np.zeros(layout.n_strings)
        self.voltage = 0.0
        self._one_c = float(np.mean(model._current_scale()))  # 1C current of a unit cell [A]
        # available-power currents (the last two answers per direction), to start from
        self._last_pulse: dict[float, tuple | None] = {}
        self._per_string = layout.n_stacks * layout.n_layers
        # |d^2 V_s / dI_s^2| per string, from the slopes of the last two evaluations of a solve
        self._curvature = np.full(layout.n_strings, np.nan)
        self._trend = None  # (demand, string currents) of the step before the last
        self.limited = False  # whether the last step's set point was cut back by a limit

    # -- one evaluation: string voltages for given string currents ------------------------
    def _string_voltages(self, prep, I_strings: np.ndarray, slope: bool = False):
        """String voltages, cell voltages, the cells' aux and currents for string currents
        ``I_strings``; with ``slope`` also ``dV_string/dI_string`` and every cell's ``dv/dI``
        (the cell model's exact slope where it has one)."""
        L = self.layout
        I_cells = np.repeat(I_strings, self._per_string)
        if slope:
            v, dv, aux = self.model._evaluate_slope(prep, I_cells)
        else:
            v, aux = self.model._evaluate(prep, I_cells)
        V = v.reshape(L.n_strings, -1).sum(axis=1) - I_strings * self.R_series
        if not slope:
            return V, v, aux, I_cells
        dV = dv.reshape(L.n_strings, -1).sum(axis=1) - self.R_series
        return V, v, aux, I_cells, dV, dv

    def _solve(self, prep, *, current: float | None = None, power: float | None = None, I0=None,
               slopes: bool = False, tol: float = 1e-9, max_iter: int = 40):
        """String currents with one string voltage, for a pack current or power.

        Newton on the strings with their end-of-step resistances ``R_s = -dV_s/dI_s`` (exact,
        from the cell model's slopes): ``V_s - R_s dI_s = V_pack`` for all s, with ``sum(I_s +
        dI_s) = I_pack`` (current) or ``V_pack sum(I_s + dI_s) = P`` (power: a quadratic in
        ``V_pack`` whose high root is the low-current branch). An iteration costs one
        evaluation of the cells; the currents are accepted once the Newton update is below
        ``tol`` relative (the error is then about that update; without ``slopes`` that last
        update is applied along the linearisation, see below). When an update is larger
        than that but so small that its second-order term, ``|V_s''| dI_s^2 / 2`` with the
        curvature ``V_s''`` estimated from the slopes of the last two evaluations (times a
        safety factor of 10), moves the currents by less than the tolerance, it is
        committed along the cell model's exact linearisation (:meth:`CellModel._shift`)
        instead of costing one more evaluation. A cell model with a compiled string solve
        (``_solve_strings``: the SPM and SPMe) runs this whole Newton in one call, except with
        ``slopes``. Returns ``(I_strings, V_pack,
        v_cells, aux, I_cells, dv_dI)`` (``dv_dI`` = ``-dv/dI_string`` per cell, only with
        ``slopes``); NaN voltages where no solution exists."""
        S = self.layout.n_strings
        if I0 is None:
            I = np.full(S, (current if current is not None else 0.0) / S)
        else:
            I = np.asarray(I0, dtype=float).copy()
            if current is not None:
                I = I * (current / I.sum()) if I.sum() != 0 and current != 0 else np.full(S, current / S)
        scale = tol * max(abs(current if current is not None else I.sum()), self._one_c * S)
        fast = getattr(self.model, "_solve_strings", None)
        if fast is not None and not slopes:  # the whole Newton in one compiled call
            ok, I, V_pack, v, aux, I_cells = fast(prep, I, current, power, self.R_series, scale, max_iter,
                                                  self._curvature, _SAFETY)
            if not ok:
                return I, np.nan, v if S == 1 and current is not None else np.full_like(v, np.nan), aux, I_cells, None
            return I, float(V_pack), v, aux, I_cells, None
        need_slope = slopes or not (S == 1 and current is not None)
        res = self._string_voltages(prep, I, slope=need_slope)
        V, v, aux, I_cells = res[:4]
        if not need_slope:
            return I, float(np.mean(V)), v, aux, I_cells, None
        dV, dv = res[4], res[5]
        if not (S == 1 and current is not None):
            for it in range(max_iter + 1):
                R = -dV
                if not (np.all(np.isfinite(v)) and np.all(R > 0)) or it == max_iter:
                    return I, np.nan, np.full_like(v, np.nan), aux, I_cells, None
                g = 1.0 / R
                if current is not None:
                    V_pack = (current - I.sum() + (V * g).sum()) / g.sum()
                else:
                    A, G = I.sum() + (V * g).sum(), g.sum()
                    disc = A * A - 4.0 * G * power
                    if disc < 0:  # more power than the pack can give at these resistances
                        return I, np.nan, np.full_like(v, np.nan), aux, I_cells, None
                    V_pack = (A + np.sqrt(disc)) / (2.0 * G)
                step = (V - V_pack) * g
                converged = np.max(np.abs(step)) <= scale
                if not slopes and (converged or np.all(
                        0.5 * _SAFETY * self._curvature * step**2 <= R * scale)):
                    # the update is tiny: its linearised correction is within the tolerance
                    dI = np.repeat(step, self._per_string)
                    shifted = self.model._shift(aux, dI)
                    if shifted is not None:
                        return I + step, float(V_pack), shifted[1], shifted, shifted[0], None
                if converged:
                    break
                dV_old = dV
                I = I + step
                V, v, aux, I_cells, dV, dv = self._string_voltages(prep, I, slope=True)
                with np.errstate(divide="ignore", invalid="ignore"):
                    curvature = np.abs(dV - dV_old) / np.abs(step)
                if np.all(np.isfinite(curvature)):
                    self._curvature[:] = curvature
        V_pack = float(np.mean(V))
        return I, V_pack, v, aux, I_cells, (-dv if slopes and np.all(np.isfinite(v)) else None)

    # -- public ---------------------------------------------------------------------------
    def step(self, h: float, T_cells: np.ndarray, *, current_A: float | None = None, power_W: float | None = None,
             limits: tuple[float, float] | None = None, pack_limits: tuple[float, float] | None = None) -> dict:
        """Advance by ``h`` with the pack current (or power) held over the step.

        Without limits the step is taken as asked (:class:`ConvergenceError` if it has no
        solution). With ``limits`` (per layer) and/or ``pack_limits`` (terminal) the pack
        delivers, in the direction of the set point and never the other way, the set point
        if it is reachable inside the limits, otherwise the most it can: the current at the
        binding limit in that direction (the lower limits on discharge, the upper ones on
        charge), or on discharge the maximum-power current if that comes first
        (:meth:`_within_limits`). ``self.limited`` then says whether the set point was cut
        back, and ``self.voltage * self.string_current.sum()`` is the power delivered over
        the step (end-of-step voltage with the current held, as the cell model steps)."""
        if (current_A is None) == (power_W is None):
            raise ValueError("give exactly one of current_A and power_W")
        prep = self.model._prepare(float(h), T_cells)
        I0 = self.string_current if np.any(self.string_current) else None
        demand = (float(h), current_A, power_W)
        if I0 is not None and self._trend is not None and self._trend[0] == demand:
            I0 = 2.0 * I0 - self._trend[1]  # the same demand again: extrapolate the drift of the currents
        res = self._solve(prep, current=current_A, power=power_W, I0=I0)
        self.limited = False
        if limits is not None or pack_limits is not None:
            res, self.limited = self._within_limits(prep, res, current_A, power_W, limits, pack_limits)
        I_s, V_pack, v, aux, I_cells, _ = res
        if v is None or not np.all(np.isfinite(v)):
            bad = np.flatnonzero(~np.isfinite(v)) if v is not None else np.array([0])
            demand = f"{current_A:g} A" if current_A is not None else f"{power_W:g} W"
            raise ConvergenceError(
                f"no solution at {demand} over a step of {h:g} s "
                f"({self.layout.where(int(bad[0])) if bad.size else 'the pack'}: a particle or the electrolyte "
                "ran out, or the demand exceeds what the pack can deliver)", bad)
        self.model._commit(prep, I_cells, aux)
        self._trend = (demand, self.string_current)
        self.string_current = I_s
        self.voltage = V_pack
        return self.model.out

    # -- limits ---------------------------------------------------------------------------
    @staticmethod
    def _margin(v, V_pack, sign: float, limits, pack_limits) -> float:
        """Distance [V] to the limits that a current of ``sign`` drives towards (the lower
        ones on discharge, the upper ones on charge); < 0: crossed; -inf: no solution."""
        if v is None or not (np.all(np.isfinite(v)) and np.isfinite(V_pack)):
            return -np.inf
        worst = np.inf
        if limits is not None:
            worst = float(np.min(v - limits[0]) if sign > 0 else np.min(limits[1] - v))
        if pack_limits is not None:
            worst = min(worst, V_pack - pack_limits[0] if sign > 0 else pack_limits[1] - V_pack)
        return worst

    def _probe(self, prep, x: float, sign: float, I0, limits, pack_limits):
        """The step at pack current ``sign * x`` (x >= 0): ``(res, margin, dmargin/dx, p,
        dp/dx)`` with ``p = sign * V_pack * I_pack`` the power in the direction ``sign`` and
        the slopes from the cell model's exact ``dv/dI`` (the strings share a change of the
        pack current by their conductances)."""
        res = self._solve(prep, current=sign * x, I0=I0, slopes=True)
        I_s, V_pack, v, _, _, dv = res
        m = self._margin(v, V_pack, sign, limits, pack_limits)
        if dv is None or m == -np.inf:
            return res, -np.inf, np.nan, np.nan, np.nan
        g = 1.0 / (dv.reshape(self.layout.n_strings, -1).sum(axis=1) + self.R_series)  # dv = -dv/dI
        dV_dx = -sign / g.sum()
        dm = np.inf
        if limits is not None:  # the slope of the worst cell's margin
            dv_dx = -sign * dv * np.repeat(g / g.sum(), self._per_string)
            k = int(np.argmin(v - limits[0]) if sign > 0 else np.argmin(limits[1] - v))
            dm = sign * dv_dx[k]
        if pack_limits is not None and (limits is None or
                                        m == (V_pack - pack_limits[0] if sign > 0 else pack_limits[1] - V_pack)):
            dm = sign * dV_dx
        return res, m, dm, V_pack * x, V_pack + x * dV_dx

    def _limit_current(self, prep, sign: float, x: float, I0, limits, pack_limits, tol_V: float = 1e-7):
        """The largest ``x`` (pack current ``sign * x``) whose step ends inside the limits,
        within ``tol_V`` of the binding one and, where the margin's slope is known, within
        1e-9 relative of the current at which it binds (the margin over its slope: a margin
        of ``tol_V`` alone leaves the current, and the power, short by ``tol_V`` over the
        voltage drop, 1e-7 relative at a charge limit near full) (or, where the model runs out of range first,
        0.1 % short of the edge of its range, found to 1e-10 relative); Newton on the margin with its exact
        slope, kept inside the bracket of feasible and infeasible currents found so far.
        Returns ``(x, probe)``; ``x = 0`` with the rest state's probe when even that is
        beyond a limit."""
        scale = self._one_c * self.layout.n_strings
        good, bad = None, np.inf  # (x, probe) of the largest feasible current; smallest infeasible
        x = max(float(x), 1e-6 * scale)
        for _ in range(80):
            pr = self._probe(prep, x, sign, I0, limits, pack_limits)
            m, dm = pr[1], pr[2]
            if m >= 0:
                if good is None or x > good[0]:
                    good = (x, pr)
                I0 = pr[0][0]
                if m <= tol_V and not (np.isfinite(dm) and dm < 0 and m > -dm * 1e-9 * x):
                    break
            else:
                bad = min(bad, x)
            lo = good[0] if good is not None else 0.0
            if np.isfinite(bad) and bad - lo <= 1e-10 * max(bad, scale):
                break
            x_new = x - m / dm if np.isfinite(m) and np.isfinite(dm) and dm < 0 else np.nan
            if not lo < x_new < bad:
                x_new = 0.5 * (lo + bad) if np.isfinite(bad) else 2.0 * x
            if good is None and x_new < 1e-9 * scale:
                break
            x = x_new
        if good is None:  # even a tiny current crosses: deliver nothing
            pr = self._probe(prep, 0.0, sign, None, limits, pack_limits)
            return 0.0, pr
        if good[1][1] > tol_V:
            # the edge of the model's range (the electrolyte or a particle runs out) before any
            # limit: its voltage is ill-conditioned there (log of a vanishing concentration),
            # so the limit is taken 0.1 % of the current short of it, where it is not
            x = good[0] * (1.0 - 1e-3)
            return x, self._probe(prep, x, sign, good[1][0][0], limits, pack_limits)
        return good

    def _power_point(self, prep, p_target: float, sign: float, x_top: float, top, I0):
        """The current ``x`` in ``[0, x_top]`` whose step delivers ``p_target`` (> 0) in the
        direction ``sign``, on the low-current branch (p rises with x there): Newton with
        the exact slope inside the shrinking bracket ``[lo, hi]``, to 1e-10 relative."""
        lo, hi = 0.0, x_top
        x = x_top * p_target / top[3] if top[3] > 0 else 0.5 * x_top
        pr = top
        for _ in range(80):
            pr = self._probe(prep, x, sign, I0, None, None)
            p, dp = pr[3], pr[4]
            if not np.isfinite(p):
                hi = x
            elif p < p_target:
                lo = x
                I0 = pr[0][0]
            else:
                hi = x
                I0 = pr[0][0]
            if np.isfinite(p) and abs(p - p_target) <= 1e-10 * p_target:
                break
            x_new = x - (p - p_target) / dp if np.isfinite(p) and dp > 0 else np.nan
            if not lo < x_new < hi:
                x_new = 0.5 * (lo + hi)
            if hi - lo <= 1e-13 * x_top:
                break
            x = x_new
        return pr

    def _within_limits(self, prep, res, current, power, limits, pack_limits):
        """The step of a set point inside the limits (see :meth:`step`): ``(res, limited)``."""
        demand = current if current is not None else power
        sign = 1.0 if demand > 0 else -1.0
        I_s, V_pack, v = res[0], res[1], res[2]
        I_pack = float(I_s.sum())
        if demand == 0.0 or (np.isfinite(V_pack) and np.all(np.isfinite(v)) and I_pack * sign > 0
                             and self._margin(v, V_pack, sign, limits, pack_limits) >= 0
                             and (current is not None or abs(V_pack * I_pack - power) <= 1e-8 * abs(power))):
            return res, False  # reachable as solved
        want = abs(current) if current is not None else abs(power)
        x0 = abs(I_pack) if np.isfinite(V_pack) and I_pack * sign > 0 else (
            want if current is not None else want / max(abs(self.voltage), 1e-9))
        I0 = I_s if np.isfinite(V_pack) and I_pack * sign > 0 else None
        x_top, top = self._limit_current(prep, sign, x0, I0, limits, pack_limits)
        if sign > 0 and x_top > 0 and top[4] < 0:  # past the maximum-power point: find it (dp/dx = 0)
            lo, hi = 0.0, x_top
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                pr = self._probe(prep, mid, sign, top[0][0], None, None)
                if pr[4] > 0:
                    lo = mid
                else:
                    hi, x_top, top = mid, mid, pr
                if hi - lo <= 1e-9 * x_top:
                    break
        if current is not None:
            if x_top >= want:  # reachable (the fast solve failed, the careful one did not)
                return self._probe(prep, want, sign, top[0][0], None, None)[0], False
            return top[0], True
        if x_top <= 0 or top[3] <= want:
            return top[0], True
        return self._power_point(prep, want, sign, x_top, top, top[0][0])[0], False

    def available_power(self, duration_s: float, T_cells: np.ndarray, limits: tuple[float, float],
                        pack_limits: tuple[float, float] | None = None, tol_V: float = 1e-6,
                        min_anode_potential_V: float | None = None, substep_s: float | None = None) -> tuple[float, float]:
        """Discharge (>= 0) and charge (<= 0) power of a constant-current pulse of
        ``duration_s`` that ends with the worst layer (or the pack) at its limit.

        The pulse is what the pack can hold over the next ``duration_s`` at constant power:
        its salt is integrated in steps no longer than ``substep_s`` (the macro step the run
        will take; one backward-Euler step over the whole pulse underestimates the
        concentration polarisation), and the power is the pulse current times the pulse's
        lowest pack voltage (at its end on discharge, right after the current step on charge),
        so a constant power of that size draws at most the pulse current throughout.

        With ``min_anode_potential_V`` (V vs Li/Li+) the charge pulse also keeps every cell's
        anode potential at the end of the pulse (the ``anode_potential_V`` output, the
        plating margin) at or above it: a plating limit, handled like a voltage limit with
        the anode potential's slope in the current from the cell model
        (:meth:`CellModel._anode_potential`: exact for the SPM/SPMe, a forward difference
        otherwise). None: voltage limits only. The discharge side ignores it.

        The pulse current is split evenly between the strings. Newton on the pack current
        against the binding limit: every cell voltage (and the pack voltage) is linearised in
        the pack current with the cell model's exact slope, and the next current is the
        nearest crossing of a limit; it starts from the last two answers extrapolated and
        stops once the margin to the binding limit is within ``tol_V`` (a few evaluations per
        update; the rest state is evaluated only when needed). Where a
        trial current has no solution or crosses a limit, the current is kept inside the
        bracket of feasible and infeasible currents found so far (bisection); where the pulse
        runs out of the model's range (a particle empties or fills) before any limit, the
        bisection ends with that bracket within 1e-6 relative and the feasible end counts."""
        n_sub = 1 if substep_s is None else max(1, math.ceil(duration_s / substep_s - 1e-9))
        prep = self.model._prepare_pulse(float(duration_s), T_cells, substeps=n_sub)
        S = self.layout.n_strings

        plating = min_anode_potential_V is not None

        def evaluate(I_pack: float, sign: float):
            """Cell and pack voltages of the pulse and their slopes in the pack current, and
            (charge with a plating limit) the cells' anode potentials and their slopes."""
            V, v, aux, I_cells, dV, dv = self._string_voltages(prep, np.full(S, I_pack / S), slope=True)
            ok = bool(np.all(np.isfinite(v)) and np.all(np.isfinite(dv)) and np.all(np.isfinite(V)))
            anode = None
            if ok and plating and sign < 0:
                a, da = self.model._anode_potential(prep, I_cells, aux, slope=True)
                ok = bool(np.all(np.isfinite(a)) and np.all(np.isfinite(da)))
                anode = (a, da / S)
            return ok, v, dv / S, float(np.mean(V)), float(np.mean(dV)) / S, anode

        def margin(sign, v, V_pack, anode=None):
            target = limits[0] if sign > 0 else limits[1]
            m = float(np.min(sign * (v - target)))
            if pack_limits is not None:
                m = min(m, sign * (V_pack - (pack_limits[0] if sign > 0 else pack_limits[1])))
            if anode is not None:
                m = min(m, float(np.min(anode[0] - min_anode_potential_V)))
            return m

        def crossing(sign, I, v, dv, V_pack, dV_pack, anode=None):
            """The pack current at which the first limit is crossed, linearised at ``I``."""
            target = limits[0] if sign > 0 else limits[1]
            with np.errstate(divide="ignore", invalid="ignore"):  # v falls as I rises
                steps = np.where(dv < 0, (target - v) / dv, sign * np.inf)
            step = float(np.min(steps) if sign > 0 else np.max(steps))
            if pack_limits is not None and dV_pack < 0:
                step_pack = ((pack_limits[0] if sign > 0 else pack_limits[1]) - V_pack) / dV_pack
                step = min(step, step_pack) if sign > 0 else max(step, step_pack)
            if anode is not None:  # charge only: the anode potential falls as the charge current grows
                a, da = anode
                with np.errstate(divide="ignore", invalid="ignore"):
                    steps = np.where(da > 0, (min_anode_potential_V - a) / da, -np.inf)
                step = max(step, float(np.max(steps)))
            return I + step

        rest = {}  # the rest state (zero current) per direction, evaluated only when needed

        def rest_margin(sign):
            key = -1.0 if plating and sign < 0 else 1.0  # the same evaluation without a plating limit
            if key not in rest:
                rest[key] = evaluate(0.0, key)
            r = rest[key]
            return margin(sign, r[1], r[3], r[5]) if r[0] else -np.inf

        out = []
        for sign in (1.0, -1.0):
            last = self._last_pulse.get(sign)  # the last two answers, to extrapolate the drift from
            if last is not None:
                I = 2.0 * last[0] - last[1] if last[1] is not None else last[0]
                if I * sign <= 0:
                    I = last[0]
            else:
                if not rest_margin(sign) > 0:  # at a limit already
                    out.append(0.0)
                    continue
                I = crossing(sign, 0.0, *rest[-1.0 if plating and sign < 0 else 1.0][1:])
                if not np.isfinite(I) or I * sign <= 0:
                    I = sign * self._one_c * S
            good, V_good, bad = 0.0, 0.0, None
            for _ in range(60):
                ok, v, dv, V, dV, anode = evaluate(I, sign)
                m = margin(sign, v, V, anode) if ok else -np.inf
                if m >= 0:
                    good, V_good = I, V
                elif bad is None or abs(I) < abs(bad):
                    bad = I
                if abs(m) <= tol_V:
                    break
                I_new = crossing(sign, I, v, dv, V, dV, anode) if ok else np.nan
                if I_new * sign <= 0 and not rest_margin(sign) > 0:  # at a limit already at rest
                    good, m = 0.0, np.inf
                    break
                if bad is not None and not (abs(good) < abs(I_new) < abs(bad)):
                    if abs(bad - good) <= 1e-6 * abs(bad):  # the edge of the model's range
                        break
                    I_new = 0.5 * (good + bad)  # keep inside the bracket
                if not np.isfinite(I_new) or I_new == I:
                    break
                I = I_new
            if abs(m) <= tol_V:  # converged: the current at the limit, on either side within tol_V
                good, V_good = I, V
            found = good if abs(good) > 1e-9 * self._one_c else None
            self._last_pulse[sign] = None if found is None else (found, None if last is None else last[0])
            if sign < 0 and good != 0.0:  # charge: the voltage right after the current step, the pulse's lowest
                V0 = float(np.mean(self._string_voltages(self.model._prepare(1e-6, T_cells), np.full(S, good / S))[0]))
                V_good = V0 if np.isfinite(V0) and V0 < V_good else V_good
            p = good * V_good
            out.append(max(p, 0.0) if sign > 0 else min(p, 0.0))
        return out[0], out[1]
