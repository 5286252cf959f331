"""Parallel hybrid (HEV) powertrain: engine + one traction motor on the same shaft, with a
rule-based energy management and SOC feedback (backward-facing, mean power per interval).

Layout (cf. the Nissan Tino "NEO HYBRID", vehicles.md §2.7d: engine and a 17 kW motor in the
CVT where the torque converter sits): shaft power at the gearbox input
``P_s = P̄_wheel⁺ / η_gear`` is shared ``P_s = P_engine + P_motor``; ``P_motor < 0`` is the
motor generating (engine load-point shifted up to charge).

Rules per interval (the battery SOC is held over a macro step; generic rule-based parallel
HEV strategy as described e.g. by Guzzella & Sciarretta, *Vehicle Propulsion Systems*, ch. 7,
"heuristic control strategies"; parameters are ours, see the vehicle file). The engine's
on/off state and the time since its last start carry over from one interval to the next
(and across macro steps: component state):

1. **Braking / standstill** (``P̄_wheel ≤ 0``): engine off (idle stop); regen exactly as
   the BEV (:func:`~cosim.vehicle.longitudinal.power_balance`); above ``soc_max`` the battery
   takes no charge (regen only feeds the auxiliaries). Exception: at **standstill below
   ``soc_min``** the engine runs and charges through the motor as in rule 3.
2. **Motor only**: ``P̄_wheel ≤ motor_only_max_wheel_power_W`` and ``v̄ ≤
   motor_only_max_speed_mps`` and ``SOC > soc_min``: engine off, the motor drives.
3. **Engine on** otherwise: load-point shift ``ΔP = charge_gain_W · (soc_target − SOC)``;
   ``ΔP > 0`` raises the engine power to charge (``≤ max_charge_power_W``), ``ΔP < 0`` lets
   the motor assist (``≤ max_assist_power_W``); the engine runs between
   ``min_load_fraction · P_max`` and ``P_max``; the motor stays within its ratings.
4. **Battery limits**: the battery power ``P_b = P_el(P_motor) − P_regen,el + P_aux (+
   P_start)`` is kept within ``[−available_charge, available_discharge]``, each further capped
   by the controller's ``max_battery_charge_power_W`` / ``max_battery_discharge_power_W``
   (``P_el = P_m/η_m`` motoring, ``P_m·η_m`` generating); the engine takes over what the motor
   may not deliver (and starts if needed); what the engine at ``P_max`` cannot add is
   ``unmet`` (shaft side).
5. **Minimum on-time**: an engine started less than ``min_on_time_s`` ago stays on where
   rules 1-2 would stop it: no motor-only driving (rule 3 instead), and it idles (``P_engine
   = 0``) while braking or standing. This removes 1 s on/off chattering at the motor-only
   power threshold.
6. **Starts**: an interval with the engine on after one with it off is a start. The
   starter-generator (the Tino's second motor-generator on the engine) cranks it from the
   battery: ``P_start = start_energy_J / Δt`` is added to the battery power of that interval
   (it shares the discharge limit; the engine covers what the motor then may not), and
   ``start_fuel_kg`` is burnt on top. The engine is off at the start time.

Fuel: ``ṁ = max(P_engine / (η_e(P_engine/P_max) · LHV), idle_fuel_rate_kg_s)`` while the
engine runs (so an idling engine burns the idle flow), 0 when off, plus the start fuel; η_e
is a table of brake efficiency vs load fraction (linear, held flat outside), the engine on
its best-efficiency line (the CVT chooses its speed).

Energy identity per interval (traction): ``P_engine + P_motor + unmet = P̄_wheel/η_gear`` and
``P_b = P_el(P_motor) − P_regen,el + P_aux + P_start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:  # pragma: no cover
    from .longitudinal import Vehicle

__all__ = ["EnergyManagementSpec", "EngineSpec", "FuelSpec", "HybridPowertrain", "hybrid_split"]


class _Strict(BaseModel):
    """Base of the vehicle file's sections (here and in :mod:`.longitudinal`): strict types,
    unknown keys are errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _efficiency(v: float) -> float:
    if not 0.0 < v <= 1.0:
        raise ValueError(f"an efficiency must lie in (0, 1], got {v}")
    return v


class EngineSpec(_Strict):
    max_power_W: float = Field(gt=0.0, description="peak engine brake power")
    efficiency_load_fraction: list[float] = Field(description="points of P_engine / max_power_W")
    efficiency_curve: list[float] = Field(description="brake efficiency at those points")
    min_load_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="lowest load while the engine runs")
    idle_fuel_rate_kg_s: float = Field(
        0.0, ge=0.0, description="fuel flow of the running engine at no load: the floor of its fuel flow while on")
    start_energy_J: float = Field(
        0.0, ge=0.0, description="electrical energy the starter-generator draws from the battery per engine start")
    start_fuel_kg: float = Field(0.0, ge=0.0, description="extra fuel per engine start (enrichment while it fires)")
    min_on_time_s: float = Field(
        0.0, ge=0.0, description="a started engine runs at least this long (no motor-only driving; idles when not driving)")

    @field_validator("efficiency_curve")
    @classmethod
    def _curve(cls, v):
        for x in v:
            _efficiency(x)
        return v

    @model_validator(mode="after")
    def _points(self) -> EngineSpec:
        x, y = self.efficiency_load_fraction, self.efficiency_curve
        if len(x) != len(y) or len(x) < 2:
            raise ValueError("'efficiency_load_fraction' and 'efficiency_curve' need the same length (>= 2)")
        if any(b <= a for a, b in zip(x, x[1:])) or x[0] < 0:
            raise ValueError("'efficiency_load_fraction' must increase from >= 0")
        return self


class FuelSpec(_Strict):
    lower_heating_value_J_per_kg: float = Field(gt=1e6, lt=1.5e8)
    density_kg_per_m3: float = Field(gt=100.0, lt=2000.0)


class EnergyManagementSpec(_Strict):
    soc_min: float = Field(description="below it: no motor-only driving")
    soc_target: float = Field(description="the load-point shift drives the SOC towards it")
    soc_max: float = Field(description="at or above it: the battery takes no charge")
    motor_only_max_wheel_power_W: float = Field(ge=0.0)
    motor_only_max_speed_mps: float = Field(ge=0.0)
    charge_gain_W: float = Field(ge=0.0, description="load-point shift per unit SOC error, W")
    max_charge_power_W: float = Field(ge=0.0, description="largest upward load-point shift (shaft)")
    max_assist_power_W: float = Field(ge=0.0, description="largest motor assist from the shift (shaft)")
    max_battery_charge_power_W: float | None = Field(
        None, gt=0.0, description="battery charge power cap of the controller (regen + engine charging); none: the pack's")
    max_battery_discharge_power_W: float | None = Field(
        None, gt=0.0, description="battery discharge power cap of the controller; none: the pack's")

    @model_validator(mode="after")
    def _window(self) -> EnergyManagementSpec:
        if not 0.0 <= self.soc_min < self.soc_target < self.soc_max <= 1.0:
            raise ValueError(
                f"need 0 <= soc_min < soc_target < soc_max <= 1, got {self.soc_min}, {self.soc_target}, {self.soc_max}")
        return self


@dataclass(frozen=True)
class HybridPowertrain:
    """Compiled HEV part of a :class:`~cosim.vehicle.longitudinal.Vehicle` (plain floats)."""

    engine_max_W: float
    engine_min_load: float
    eng_x: np.ndarray
    eng_y: np.ndarray
    lhv_J_per_kg: float
    density_kg_per_m3: float
    soc_min: float
    soc_target: float
    soc_max: float
    ev_max_wheel_W: float
    ev_max_speed_mps: float
    charge_gain_W: float
    max_charge_W: float
    max_assist_W: float
    max_batt_charge_W: float = np.inf
    max_batt_discharge_W: float = np.inf
    idle_fuel_kg_s: float = 0.0
    start_energy_J: float = 0.0
    start_fuel_kg: float = 0.0
    min_on_time_s: float = 0.0

    @classmethod
    def from_specs(cls, e: EngineSpec, f: FuelSpec, m: EnergyManagementSpec) -> HybridPowertrain:
        return cls(
            engine_max_W=e.max_power_W, engine_min_load=e.min_load_fraction,
            eng_x=np.asarray(e.efficiency_load_fraction, float), eng_y=np.asarray(e.efficiency_curve, float),
            lhv_J_per_kg=f.lower_heating_value_J_per_kg, density_kg_per_m3=f.density_kg_per_m3,
            soc_min=m.soc_min, soc_target=m.soc_target, soc_max=m.soc_max,
            ev_max_wheel_W=m.motor_only_max_wheel_power_W, ev_max_speed_mps=m.motor_only_max_speed_mps,
            charge_gain_W=m.charge_gain_W, max_charge_W=m.max_charge_power_W, max_assist_W=m.max_assist_power_W,
            max_batt_charge_W=np.inf if m.max_battery_charge_power_W is None else m.max_battery_charge_power_W,
            max_batt_discharge_W=np.inf if m.max_battery_discharge_power_W is None else m.max_battery_discharge_power_W,
            idle_fuel_kg_s=e.idle_fuel_rate_kg_s, start_energy_J=e.start_energy_J, start_fuel_kg=e.start_fuel_kg,
            min_on_time_s=e.min_on_time_s,
        )

    def charge_limit(self, soc: float, available_W: float) -> float:
        """Charge power [W, ≥ 0] the controller lets the battery take: the pack's available
        charge power, capped by ``max_battery_charge_power_W``, and 0 at or above ``soc_max``."""
        return 0.0 if soc >= self.soc_max else min(abs(float(available_W)), self.max_batt_charge_W)

    def discharge_limit(self, available_W: float) -> float:
        """Discharge power [W, ≥ 0]: the pack's, capped by ``max_battery_discharge_power_W``."""
        return min(max(float(available_W), 0.0), self.max_batt_discharge_W)

    def engine_efficiency(self, power_W):
        return np.interp(np.asarray(power_W, float) / self.engine_max_W, self.eng_x, self.eng_y)

    def fuel_rate(self, power_W, on=None):
        """Fuel mass flow [kg/s] at engine brake power(s) ``power_W`` from the map; where the
        engine runs (``on``; default: where ``power_W > 0``) at least ``idle_fuel_kg_s``, and 0
        where it is off."""
        p = np.maximum(np.asarray(power_W, float), 0.0)
        on = p > 0.0 if on is None else np.asarray(on, bool)
        mapped = p / (self.engine_efficiency(p) * self.lhv_J_per_kg)
        return np.where(on, np.maximum(mapped, self.idle_fuel_kg_s), 0.0)


def motor_electrical(veh: Vehicle, shaft_W):
    """Signed electrical power of the motor at signed shaft power (motoring > 0)."""
    s = np.asarray(shaft_W, float)
    eta = veh.motor_efficiency(s)
    return np.where(s >= 0.0, s / eta, s * eta)


def motor_shaft_for(veh: Vehicle, el_W):
    """Inverse of :func:`motor_electrical` (monotone), clipped to the motor's ratings."""
    el = np.asarray(el_W, float)
    lo = np.full(el.shape, -veh.max_regen_power_W)
    hi = np.full(el.shape, veh.max_power_W)
    if veh.eta_motor is not None:
        s = np.where(el >= 0.0, el * veh.eta_motor, el / veh.eta_motor)
        return np.clip(s, lo, hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = motor_electrical(veh, mid) <= el
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return lo


def _shares(veh: Vehicle, hy: HybridPowertrain, ps, moving, regen, on, drive, shift, dis, chg):
    """Engine and motor shaft power of intervals with shaft demand ``ps`` where the rules
    run the engine (``on``) and where engine and/or motor work (``drive``)."""
    aux = veh.aux_power_W
    pe = np.where(on, np.clip(ps + shift, hy.engine_min_load * hy.engine_max_W, hy.engine_max_W), 0.0)
    pm = np.clip(ps - pe, -veh.max_regen_power_W, veh.max_power_W)
    # battery limits on the motor's electrical power (regen_el and aux also flow)
    pm_hi = motor_shaft_for(veh, dis - aux + regen)
    pm_lo = motor_shaft_for(veh, -chg - aux + regen)
    pm = np.where(drive, np.minimum(np.maximum(pm, pm_lo), pm_hi), 0.0)
    pm = np.where(moving, np.minimum(pm, ps), pm)  # a motor-only interval never generates
    pe = np.where(drive, np.clip(ps - pm, 0.0, hy.engine_max_W), 0.0)
    return pe, pm


def hybrid_split(veh: Vehicle, res: dict, v_mean, soc: float, discharge_limit_W: float,
                 charge_limit_W: float, dt=1.0, engine_on: bool = False,
                 on_time_s: float = np.inf) -> dict[str, np.ndarray]:
    """Engine / motor / battery shares of the consecutive intervals (durations ``dt``) of a
    BEV-style ``power_balance`` result ``res`` (its regen already capped by the charge limit),
    at battery ``soc``; before the first interval the engine runs if ``engine_on``, started
    ``on_time_s`` ago. Returns ``engine_power_W``, ``motor_shaft_power_W``,
    ``motor_electrical_power_W``, ``start_power_W``, ``battery_power_W`` (incl. the start
    power), ``fuel_rate_kg_s`` (incl. start fuel), ``unmet_power_W`` (shaft side),
    ``engine_on`` (bool), ``engine_starts`` (0/1) and ``on_time_s`` (time since the last start
    at each interval's end; inf while off), arrays."""
    hy: HybridPowertrain = veh.hybrid
    traction = np.atleast_1d(np.asarray(res["tractive_power_W"], float))
    wheel = np.atleast_1d(np.asarray(res["wheel_power_W"], float))
    regen = np.atleast_1d(np.asarray(res["regen_power_W"], float))
    v = np.broadcast_to(np.asarray(v_mean, float), traction.shape)
    dt = np.broadcast_to(np.asarray(dt, float), traction.shape)
    aux = veh.aux_power_W
    ps = traction / veh.eta_gear
    moving = traction > 0.0
    ev = moving & (wheel <= hy.ev_max_wheel_W) & (v <= hy.ev_max_speed_mps) & (soc > hy.soc_min)
    # standstill below soc_min: the engine runs to charge (idle stop otherwise)
    charge_stop = (v <= 0.0) & ~moving & (soc < hy.soc_min)
    drive = moving | charge_stop  # intervals where engine and/or motor work
    # load-point shift from the SOC error (positive: charge)
    shift = hy.charge_gain_W * (hy.soc_target - soc)
    shift = min(shift, hy.max_charge_W) if shift > 0 else max(shift, -hy.max_assist_W)
    dis = hy.discharge_limit(discharge_limit_W)
    chg = hy.charge_limit(soc, charge_limit_W)
    # (a) the rules: the engine runs where they start it or where the motor alone cannot
    # carry the demand (battery limit)
    on_a = (moving & ~ev) | charge_stop
    pe, pm = _shares(veh, hy, ps, moving, regen, on_a, drive, shift, dis, chg)
    on_a = on_a | (pe > 0.0)
    # (b) held on by the minimum on-time: no motor-only driving; when not driving it idles
    on, held = on_a.copy(), np.zeros(on_a.shape, bool)
    t_on = np.full(on.shape, np.inf)
    prev, t = bool(engine_on), float(on_time_s) if engine_on else np.inf
    for k in range(on.size):  # sequential: each interval depends on the one before
        held[k] = prev and t < hy.min_on_time_s and not on_a[k]
        on[k] = on_a[k] or held[k]
        t = (t + dt[k] if prev else dt[k]) if on[k] else np.inf
        t_on[k], prev = t, on[k]
    if held.any():
        pe_b, pm_b = _shares(veh, hy, ps, moving, regen, moving | charge_stop, drive, shift, dis, chg)
        pe, pm = np.where(held, pe_b, pe), np.where(held, pm_b, pm)
    # a start is an off -> on change between consecutive intervals
    before = np.concatenate(([bool(engine_on)], on[:-1]))
    starts = on & ~before
    start_W = np.where(starts, hy.start_energy_J / dt, 0.0)
    if np.any(starts) and hy.start_energy_J > 0.0:
        # the starter-generator's draw shares the discharge limit: the engine takes over
        pm_hi = motor_shaft_for(veh, dis - aux - start_W + regen)
        pm = np.where(starts, np.minimum(pm, pm_hi), pm)
        pe = np.where(drive, np.clip(ps - pm, 0.0, hy.engine_max_W), 0.0)
    unmet = np.where(moving, np.maximum(ps - pm - pe, 0.0), 0.0)
    el = motor_electrical(veh, pm)
    battery = el - regen + aux + start_W
    fuel = hy.fuel_rate(pe, on) + np.where(starts, hy.start_fuel_kg / dt, 0.0)
    return {
        "engine_power_W": pe,
        "motor_shaft_power_W": pm,
        "motor_electrical_power_W": el,
        "start_power_W": start_W,
        "battery_power_W": battery,
        "fuel_rate_kg_s": fuel,
        "unmet_power_W": unmet,
        "engine_on": on,
        "engine_starts": starts.astype(float),
        "on_time_s": t_on,
    }
