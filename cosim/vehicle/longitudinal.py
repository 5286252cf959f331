"""Longitudinal vehicle model: speed trace -> wheel, motor and battery power.

Road load (two forms):

* physical: ``F = m g Crr cos θ + m g sin θ + ½ ρ Cd A v²``;
* coast-down (EPA "target coefficients"): ``F = A + B v + C v² + m g sin θ``, with ``m`` the
  equivalent test weight (ETW), the dynamometer's inertia.

Inertia ``m_eff a`` with ``m_eff = m (1 + δ)`` (δ: rotating-inertia factor, wheels and rotor).

**Energy-exact discretisation.** Between samples ``(t_k, v_k)`` and ``(t_{k+1}, v_{k+1})``
the speed is linear in time. The model uses the *mean* wheel power over each interval:

* inertia: ``m_eff (v_{k+1}² − v_k²) / (2 Δt)`` (the kinetic-energy change, exact);
* road load ``a0 + a1 v + a2 v²`` integrated exactly for linear speed:
  ``mean(v) = (v0 + v1)/2``, ``mean(v²) = (v0² + v0 v1 + v1²)/3``,
  ``mean(v³) = (v0 + v1)(v0² + v1²)/4``,
  so ``P̄_road = a0·mean(v) + a1·mean(v²) + a2·mean(v³)`` (grade taken as the mean of the
  interval's end samples).

A consumer that holds ``P̄`` over the interval receives exactly the energy the trace needs.

**Drivetrain to battery** (cf. the generic backward-facing power balance, e.g. Guzzella &
Sciarretta, *Vehicle Propulsion Systems*, ch. 2-4; FASTSim documentation, NREL):

* traction (``P̄_wheel > 0``): shaft ``P_s = P̄_wheel / η_gear``; motor electrical
  ``P_s / η_m(P_s / P_max)``;
* braking (``P̄_wheel < 0``): regen share ``f(v̄)`` of the braking power, ``f`` rising linearly
  from 0 at ``fade_start_speed_mps`` to ``max_fraction`` at ``fade_end_speed_mps``;
  shaft ``min(f |P̄_wheel| η_gear, P_regen,max)``; electrical ``shaft · η_m``; then capped by
  the battery's available charge power; the rest is friction braking;
* battery ``P_batt = P_motor,el − P_regen,el + P_aux`` (positive on discharge).

η_m is a constant or a curve of load fraction ``|P_shaft| / max_power_W`` (linear
interpolation, held flat outside the points).
"""

from __future__ import annotations

import os
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from .cycles import Cycle
from .hybrid import EnergyManagementSpec, EngineSpec, FuelSpec, HybridPowertrain, _efficiency, _Strict

__all__ = [
    "G_MPS2",
    "VEHICLES_DIR",
    "Vehicle",
    "VehicleSpec",
    "available_vehicles",
    "backward",
    "load_vehicle",
    "load_vehicle_spec",
    "power_balance",
    "solve_speed",
    "summary",
]

#: standard gravity [m/s²]
G_MPS2 = 9.80665
#: folder of the shipped vehicle files
VEHICLES_DIR = Path(__file__).resolve().parent.parent / "data" / "vehicles"


# -- the file format (validated) ------------------------------------------------------------
class MassSpec(_Strict):
    mass_kg: float = Field(gt=0.0, description="vehicle mass as driven (coast-down form: equivalent test weight)")
    rotating_inertia_factor: float = Field(0.0, ge=0.0, le=1.0, description="δ: m_eff = mass_kg·(1 + δ)")


class RoadLoadSpec(_Strict):
    form: Literal["physical", "coastdown"]
    rolling_resistance_coefficient: float | None = Field(None, ge=0.0, lt=0.1)
    drag_area_m2: float | None = Field(None, ge=0.0, lt=20.0, description="Cd·A")
    air_density_kg_per_m3: float = Field(1.2, gt=0.0, lt=2.0)
    A_N: float | None = Field(None, ge=0.0, description="coast-down constant term")
    B_N_s_per_m: float | None = Field(None, description="coast-down linear term, N/(m/s)")
    C_N_s2_per_m2: float | None = Field(None, ge=0.0, description="coast-down quadratic term, N/(m/s)²")

    @model_validator(mode="after")
    def _form_keys(self) -> "RoadLoadSpec":
        phys = {"rolling_resistance_coefficient": self.rolling_resistance_coefficient, "drag_area_m2": self.drag_area_m2}
        coast = {"A_N": self.A_N, "B_N_s_per_m": self.B_N_s_per_m, "C_N_s2_per_m2": self.C_N_s2_per_m2}
        need, other = (phys, coast) if self.form == "physical" else (coast, phys)
        missing = [k for k, v in need.items() if v is None]
        extra = [k for k, v in other.items() if v is not None]
        if missing:
            raise ValueError(f"form = {self.form!r} needs {', '.join(missing)}")
        if extra:
            raise ValueError(f"form = {self.form!r} does not use {', '.join(extra)}")
        return self


class MotorSpec(_Strict):
    max_power_W: float = Field(gt=0.0, description="peak shaft power (motoring)")
    max_regen_power_W: float | None = Field(None, ge=0.0, description="peak shaft power when braking (default: max_power_W)")
    efficiency: float | None = Field(None, description="motor + inverter efficiency, constant")
    efficiency_load_fraction: list[float] | None = Field(None, description="points of |P_shaft| / max_power_W")
    efficiency_curve: list[float] | None = Field(None, description="efficiency at those points")

    @field_validator("efficiency")
    @classmethod
    def _eff(cls, v):
        return None if v is None else _efficiency(v)

    @field_validator("efficiency_curve")
    @classmethod
    def _curve(cls, v):
        if v is not None:
            for x in v:
                _efficiency(x)
        return v

    @model_validator(mode="after")
    def _one(self) -> "MotorSpec":
        curve = self.efficiency_curve is not None or self.efficiency_load_fraction is not None
        if (self.efficiency is None) == (not curve):
            raise ValueError("give either 'efficiency' or 'efficiency_load_fraction' with 'efficiency_curve'")
        if curve:
            x, y = self.efficiency_load_fraction, self.efficiency_curve
            if x is None or y is None or len(x) != len(y) or len(x) < 2:
                raise ValueError("'efficiency_load_fraction' and 'efficiency_curve' need the same length (>= 2)")
            if any(b <= a for a, b in zip(x, x[1:])) or x[0] < 0:
                raise ValueError("'efficiency_load_fraction' must increase from >= 0")
        return self


class DrivetrainSpec(_Strict):
    efficiency: float = Field(description="gear / final drive efficiency, both directions")

    @field_validator("efficiency")
    @classmethod
    def _eff(cls, v):
        return _efficiency(v)


class RegenSpec(_Strict):
    max_fraction: float = Field(1.0, description="share of the braking wheel power offered to the motor")
    fade_start_speed_mps: float = Field(0.0, ge=0.0, description="no regen below this speed")
    fade_end_speed_mps: float = Field(0.0, ge=0.0, description="full regen share above this speed")

    @field_validator("max_fraction")
    @classmethod
    def _frac(cls, v):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"must lie in [0, 1], got {v}")
        return v

    @model_validator(mode="after")
    def _order(self) -> "RegenSpec":
        if self.fade_end_speed_mps < self.fade_start_speed_mps:
            raise ValueError("fade_end_speed_mps must be >= fade_start_speed_mps")
        return self


class AuxSpec(_Strict):
    power_W: float = Field(0.0, ge=0.0, description="constant auxiliary electrical load")


class VehicleSpec(_Strict):
    """A vehicle file (TOML); see ``cosim/data/vehicles/`` for examples."""

    name: str
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    powertrain: Literal["bev", "hev"] = "bev"
    mass: MassSpec
    road_load: RoadLoadSpec
    drivetrain: DrivetrainSpec
    motor: MotorSpec
    regen: RegenSpec = RegenSpec()
    auxiliary: AuxSpec = AuxSpec()
    # parallel hybrid only (powertrain = "hev"; see cosim.vehicle.hybrid)
    engine: EngineSpec | None = None
    fuel: FuelSpec | None = None
    energy_management: EnergyManagementSpec | None = None

    @model_validator(mode="after")
    def _hybrid_sections(self) -> "VehicleSpec":
        sections = {"engine": self.engine, "fuel": self.fuel, "energy_management": self.energy_management}
        if self.powertrain == "hev":
            missing = [k for k, v in sections.items() if v is None]
            if missing:
                raise ValueError(f"powertrain = 'hev' needs the section(s) {', '.join(missing)}")
        else:
            extra = [k for k, v in sections.items() if v is not None]
            if extra:
                raise ValueError(f"powertrain = 'bev' does not use the section(s) {', '.join(extra)}")
        return self


# -- the compiled model (plain floats, for speed) ----------------------------------------------
@dataclass(frozen=True)
class Vehicle:
    """Compiled vehicle: road load ``a0 cos θ + m g sin θ + a1 v + a2 v²``."""

    name: str
    mass_kg: float
    m_eff_kg: float
    a0_N: float  # rolling (scaled by cos θ in the physical form) or coast-down A
    a1_N_s_per_m: float
    a2_N_s2_per_m2: float
    a0_scales_with_cos: bool
    eta_gear: float
    eta_motor: float | None  # constant, or None when the curve is used
    eta_x: np.ndarray
    eta_y: np.ndarray
    max_power_W: float
    max_regen_power_W: float
    regen_max_fraction: float
    regen_v0_mps: float
    regen_v1_mps: float
    aux_power_W: float
    hybrid: HybridPowertrain | None = None  # powertrain = "hev"
    #: (eta_x, eta_y) as lists, for power_balance_one
    eta_lists: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta_lists", (np.asarray(self.eta_x).tolist(), np.asarray(self.eta_y).tolist()))

    @classmethod
    def from_spec(cls, s: VehicleSpec) -> "Vehicle":
        m = s.mass.mass_kg
        r = s.road_load
        if r.form == "physical":
            a0, a1, a2, cos = m * G_MPS2 * r.rolling_resistance_coefficient, 0.0, 0.5 * r.air_density_kg_per_m3 * r.drag_area_m2, True
        else:
            a0, a1, a2, cos = r.A_N, r.B_N_s_per_m, r.C_N_s2_per_m2, False
        mo = s.motor
        return cls(
            name=s.name, mass_kg=m, m_eff_kg=m * (1.0 + s.mass.rotating_inertia_factor),
            a0_N=a0, a1_N_s_per_m=a1, a2_N_s2_per_m2=a2, a0_scales_with_cos=cos,
            eta_gear=s.drivetrain.efficiency, eta_motor=mo.efficiency,
            eta_x=np.asarray(mo.efficiency_load_fraction or [0.0, 1.0], float),
            eta_y=np.asarray(mo.efficiency_curve or [mo.efficiency] * 2, float),
            max_power_W=mo.max_power_W,
            max_regen_power_W=mo.max_power_W if mo.max_regen_power_W is None else mo.max_regen_power_W,
            regen_max_fraction=s.regen.max_fraction, regen_v0_mps=s.regen.fade_start_speed_mps,
            regen_v1_mps=s.regen.fade_end_speed_mps, aux_power_W=s.auxiliary.power_W,
            hybrid=None if s.powertrain == "bev" else HybridPowertrain.from_specs(s.engine, s.fuel, s.energy_management),
        )

    # -- pieces, vectorised ---------------------------------------------------------------
    def motor_efficiency(self, shaft_W):
        """η_m at shaft power(s) ``shaft_W`` (W, either sign)."""
        if self.eta_motor is not None:
            return self.eta_motor if np.ndim(shaft_W) == 0 else np.full(np.shape(shaft_W), self.eta_motor)
        return np.interp(np.abs(shaft_W) / self.max_power_W, self.eta_x, self.eta_y)

    def regen_fraction(self, v_mps):
        """Share of the braking wheel power offered to the motor at speed ``v_mps``."""
        lo, hi = self.regen_v0_mps, self.regen_v1_mps
        if hi > lo:
            ramp = np.clip((np.asarray(v_mps, float) - lo) / (hi - lo), 0.0, 1.0)
        else:
            ramp = (np.asarray(v_mps, float) >= lo).astype(float)
        return self.regen_max_fraction * ramp

    def road_coefficients(self, grade_rad):
        """(c0, c1, c2) of the road load ``c0 + c1 v + c2 v²`` [N] at the grade(s)."""
        g = np.asarray(grade_rad, float)
        c0 = (self.a0_N * np.cos(g) if self.a0_scales_with_cos else self.a0_N) + self.mass_kg * G_MPS2 * np.sin(g)
        return c0, self.a1_N_s_per_m, self.a2_N_s2_per_m2

    def wheel_power(self, v0, v1, dt, grade_rad=0.0):
        """Mean wheel power over intervals with linear speed v0 -> v1 in dt: (inertial, road)
        [W], both exact."""
        inertial = self.m_eff_kg * (v1 * v1 - v0 * v0) / (2.0 * dt)
        c0, c1, c2 = self.road_coefficients(grade_rad)
        m1 = 0.5 * (v0 + v1)
        m2 = (v0 * v0 + v0 * v1 + v1 * v1) / 3.0
        m3 = 0.25 * (v0 + v1) * (v0 * v0 + v1 * v1)
        return inertial, c0 * m1 + c1 * m2 + c2 * m3


def power_balance(veh: Vehicle, v0, v1, dt, grade, charge_limit_W=np.inf) -> dict[str, np.ndarray]:
    """Mean power balance of intervals ``v0 -> v1`` (linear speed) in ``dt`` at grade
    ``grade`` (scalars or arrays), regen capped by the motor and ``charge_limit_W`` (≥ 0,
    at the battery). Identity: battery = wheel + friction + drivetrain and motor losses + aux."""
    inertial, road = veh.wheel_power(v0, v1, dt, grade)
    wheel = inertial + road
    traction = np.maximum(wheel, 0.0)
    braking = np.maximum(-wheel, 0.0)
    shaft = traction / veh.eta_gear
    motor_el = shaft / veh.motor_efficiency(shaft)
    offered = veh.regen_fraction(0.5 * (v0 + v1)) * braking
    regen_shaft = np.minimum(offered * veh.eta_gear, veh.max_regen_power_W)
    eta_r = veh.motor_efficiency(regen_shaft)
    # the battery absorbs at most charge_limit_W; the auxiliaries are fed from regen first
    regen_el = np.minimum(regen_shaft * eta_r, np.maximum(charge_limit_W, 0.0) + veh.aux_power_W)
    return _balance(veh, inertial, road, wheel, traction, braking, shaft, motor_el, regen_el, eta_r,
                    np.full(np.shape(wheel), veh.aux_power_W))


def _balance(veh: Vehicle, inertial, road, wheel, traction, braking, shaft, motor_el, regen_el, eta_r, aux) -> dict:
    """The rest of :func:`power_balance` (and of :func:`power_balance_one`) from the regen the
    battery takes: the same operations on arrays or floats."""
    regen_shaft = regen_el / eta_r
    regen_wheel = regen_shaft / veh.eta_gear
    friction = braking - regen_wheel
    battery = motor_el - regen_el + veh.aux_power_W
    return {
        "inertial_power_W": inertial,
        "road_load_power_W": road,
        "wheel_power_W": wheel,
        "tractive_power_W": traction,
        "braking_power_W": braking,
        "friction_brake_power_W": friction,
        "motor_electrical_power_W": motor_el,
        "regen_power_W": regen_el,
        "drivetrain_loss_W": (shaft - traction) + (regen_wheel - regen_shaft),
        "motor_loss_W": (motor_el - shaft) + (regen_shaft - regen_el),
        "aux_power_W": aux,
        "battery_power_W": battery,
    }


def interp1(x: float, xp: list[float], fp: list[float]) -> float:
    """``np.interp(x, xp, fp)`` at one point (``xp`` increasing), without the arrays: the same
    arithmetic as numpy's (``compiled_base.c``: the end values outside, the knot's value on
    a knot, else ``slope * (x - xp[j]) + fp[j]``, from the other end if that is NaN), so the
    same number bit for bit (``tests/test_vehicle_model.py``)."""
    if not x <= xp[-1]:
        return fp[-1] if x > xp[-1] else float("nan")
    if x < xp[0]:
        return fp[0]
    j = bisect_right(xp, x) - 1
    if j == len(xp) - 1 or xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    value = slope * (x - xp[j]) + fp[j]
    if value != value:
        value = slope * (x - xp[j + 1]) + fp[j + 1]
        if value != value and fp[j] == fp[j + 1]:
            value = fp[j]
    return value


def power_balance_one(veh: Vehicle, v0: float, v1: float, dt: float, grade: float,
                      charge_limit_W: float = np.inf) -> dict[str, float]:
    """:func:`power_balance` of one interval on Python floats (the forward mode's step): the
    same operations in the same order, so the same numbers bit for bit (``np.maximum`` and
    ``np.minimum`` are ``max``/``min`` of numbers; the grade's sine and cosine are numpy's;
    ``tests/test_vehicle_model.py``), without numpy's cost per call on scalars."""
    inertial = veh.m_eff_kg * (v1 * v1 - v0 * v0) / (2.0 * dt)
    if grade == 0.0:  # a0 cos 0 + m g sin 0, as numpy computes it: a0 + 0.0
        c0 = veh.a0_N + 0.0
    else:
        c0 = ((veh.a0_N * float(np.cos(grade)) if veh.a0_scales_with_cos else veh.a0_N)
              + veh.mass_kg * G_MPS2 * float(np.sin(grade)))
    m1 = 0.5 * (v0 + v1)
    m2 = (v0 * v0 + v0 * v1 + v1 * v1) / 3.0
    m3 = 0.25 * (v0 + v1) * (v0 * v0 + v1 * v1)
    road = c0 * m1 + veh.a1_N_s_per_m * m2 + veh.a2_N_s2_per_m2 * m3
    wheel = inertial + road
    traction = max(wheel, 0.0)
    braking = max(-wheel, 0.0)
    shaft = traction / veh.eta_gear
    motor_el = shaft / _efficiency_one(veh, shaft)
    lo, hi = veh.regen_v0_mps, veh.regen_v1_mps
    v = 0.5 * (v0 + v1)
    ramp = min(max((v - lo) / (hi - lo), 0.0), 1.0) if hi > lo else float(v >= lo)
    offered = veh.regen_max_fraction * ramp * braking
    regen_shaft = min(offered * veh.eta_gear, veh.max_regen_power_W)
    eta_r = _efficiency_one(veh, regen_shaft)
    regen_el = min(regen_shaft * eta_r, max(charge_limit_W, 0.0) + veh.aux_power_W)
    return _balance(veh, inertial, road, wheel, traction, braking, shaft, motor_el, regen_el, eta_r, veh.aux_power_W)


def _efficiency_one(veh: Vehicle, shaft_W: float) -> float:
    """:meth:`Vehicle.motor_efficiency` at one shaft power (np.interp's arithmetic)."""
    if veh.eta_motor is not None:
        return veh.eta_motor
    return interp1(abs(shaft_W) / veh.max_power_W, veh.eta_lists[0], veh.eta_lists[1])


def backward(vehicle: Vehicle, cycle: Cycle, charge_limit_W: float = np.inf) -> dict[str, np.ndarray]:
    """Backward-facing (trace-following) simulation of ``cycle``: the mean powers over every
    interval ``[t_k, t_{k+1}]`` (arrays of ``len(cycle) - 1``, W) plus ``time_s`` (interval
    starts), ``dt_s``, and cumulative ``battery_energy_J``, ``wheel_energy_J`` (positive
    wheel work) and ``distance_m`` at the interval ends. Regen is capped by the motor and by
    ``charge_limit_W`` (magnitude of the battery's charge-power limit; sign ignored)."""
    t, v, g = cycle.time_s, cycle.speed_mps, cycle.grade_rad
    dt = t[1:] - t[:-1]
    grade = 0.5 * (g[1:] + g[:-1]) if not cycle.is_flat else 0.0
    out = power_balance(vehicle, v[:-1], v[1:], dt, grade, abs(charge_limit_W))
    out["time_s"] = t[:-1]
    out["dt_s"] = dt
    out["battery_energy_J"] = np.cumsum(out["battery_power_W"] * dt)
    out["wheel_energy_J"] = np.cumsum(out["tractive_power_W"] * dt)
    out["distance_m"] = np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)
    return out


def summary(result: dict[str, np.ndarray]) -> dict[str, float]:
    """Totals of a :func:`backward` result: energies [J], distance [m] and battery energy
    per distance [Wh/km]."""
    dt = result["dt_s"]
    tot = {
        (k[: -len("_power_W")] if k.endswith("_power_W") else k[:-2]) + "_energy_J": float(np.dot(v, dt))
        for k, v in result.items()
        if k.endswith("_W")
    }
    tot["distance_m"] = float(result["distance_m"][-1])
    tot["battery_Wh_per_km"] = tot["battery_energy_J"] / 3.6 / tot["distance_m"] if tot["distance_m"] > 0 else 0.0
    return tot


# -- files ----------------------------------------------------------------------------------
def available_vehicles() -> list[str]:
    return sorted(p.stem for p in VEHICLES_DIR.glob("*.toml"))


def _format_errors(where: str, exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {key}: {e['msg']}")
    n = len(lines)
    return f"{where}: {n} problem{'s' if n != 1 else ''} in the vehicle file:\n" + "\n".join(lines)


def load_vehicle_spec(name_or_path: str | os.PathLike[str]) -> VehicleSpec:
    """Read and validate a vehicle: a shipped name (:func:`available_vehicles`) or a TOML
    path. ValueError listing every problem by dotted key."""
    s = os.fspath(name_or_path)
    path = VEHICLES_DIR / f"{s}.toml" if s in available_vehicles() else Path(s).expanduser()
    if not path.is_file():
        raise ValueError(f"unknown vehicle {s!r}: not a shipped vehicle ({', '.join(available_vehicles())}) and no such file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    try:
        return VehicleSpec.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_format_errors(str(path), exc)) from None


def load_vehicle(name_or_path: str | os.PathLike[str]) -> Vehicle:
    """The compiled :class:`Vehicle` of a shipped name or a TOML file."""
    return Vehicle.from_spec(load_vehicle_spec(name_or_path))


def solve_speed(veh: Vehicle, v0: float, dt: float, grade: float, wheel_W: float, v_max: float) -> float:
    """The end speed ``v1`` in ``[0, v_max]`` whose mean wheel power from ``v0`` over ``dt``
    equals ``wheel_W`` (the road load and inertia terms rise with v1): Newton on the cubic,
    safeguarded by bisection. Returns 0 if even stopping needs more, ``v_max`` if it needs less."""

    def f(v1):
        i, r = veh.wheel_power(v0, v1, dt, grade)
        return float(i + r) - wheel_W

    lo, hi = 0.0, v_max
    flo, fhi = f(lo), f(hi)
    if flo >= 0.0:
        return 0.0
    if fhi <= 0.0:
        return v_max
    x = hi
    for _ in range(60):
        fx = f(x)
        if abs(fx) <= 1e-9 * max(1.0, abs(wheel_W)):
            return x
        if fx > 0:
            hi = x
        else:
            lo = x
        c0, c1, c2 = veh.road_coefficients(grade)
        d = veh.m_eff_kg * x / dt + 0.5 * c0 + c1 * (v0 + 2 * x) / 3.0 + c2 * 0.25 * (v0 * v0 + 2 * v0 * x + 3 * x * x)
        xn = x - fx / d if d > 0 else 0.5 * (lo + hi)
        x = xn if lo < xn < hi else 0.5 * (lo + hi)
        if hi - lo < 1e-12:
            break
    return x
