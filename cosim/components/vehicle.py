"""``vehicle``: a drive cycle driven by a vehicle, as battery power (see :mod:`cosim.vehicle`).

The vehicle follows a speed trace (a shipped cycle or a CSV, played ``repeat`` times from the
start time) and outputs the battery power it needs, positive on discharge, to connect to a
pack's ``power_setpoint_W``.

* ``mode = "backward"``: the trace is followed exactly; the battery power is the demand
  (the discharge input is not used). Regen is capped by the motor and by
  ``available_charge_power_W``.
* ``mode = "forward"``: an ideal driver commands, each interval, the power that reaches the
  trace's speed at the interval's end, but the battery power is capped by
  ``available_discharge_power_W`` (and by the motor's peak power). When capped the achieved
  speed falls short (the end speed whose exact mean wheel power equals the cap), the vehicle
  carries on from there and ``trace_miss_mps`` records the shortfall; regen is capped by
  ``available_charge_power_W`` (the rest goes to the friction brakes).

Timing: powers (``battery_power_W``, ``tractive_power_W``, ``braking_power_W``,
``regen_power_W``) after a step ``[t, t + h]`` are the **means over that step**, so a pack
that holds ``battery_power_W`` over the next step receives exactly the cycle's energy (the
Gauss-Seidel orchestrator steps the vehicle before the pack). Speeds, distance, trace miss
and energy per distance are the values at ``t + h``. Steps need not align with the cycle's
samples: the trace is linear between samples and the model splits a step at them.

**The pack's own limit within the step**: the input ``battery_power_limit_W``, fed from a
pack's ``power_limit_W`` through an iterated connection (``iterate = true``), is the power
the battery could deliver over this very step when one of its limits bound (beyond
±1e11 W: none). In forward mode it caps the battery power like the available powers (a
capped step books exactly that power; if even a standstill needs more, e.g. the
auxiliaries alone, the rest of the auxiliary load is shed), so the vehicle's speed and
energy books use the power the pack delivered. In backward mode the trace is still
followed; a step whose discharge demand the pack could not meet is counted, and the run's
status reason says so (:meth:`run_notes`).

No output depends directly on an input (``depends_on = ()``): the limits read at ``t`` act
over ``[t, t + h]``, so a vehicle-pack loop has no algebraic loop. After the last repetition
the last sample is held (``at_end = "hold"``) or the run ends (``"end"``).

**Parallel hybrids** (vehicle files with ``powertrain = "hev"``, e.g. ``nissan_tino_hybrid``;
rules in :mod:`cosim.vehicle.hybrid`): one more input, ``soc`` (the pack's SOC, start 0.55,
read at ``t`` and held over the step; no output depends on it directly), and the outputs
``engine_power_W`` and ``fuel_rate_kg_s`` (means over the step), ``unmet_power_W`` (mean
shaft power neither engine nor motor could give; backward mode), cumulative ``fuel_kg``,
``fuel_consumption_l_100km`` and ``engine_starts``. The split keeps the battery power within
both available powers in either mode; in forward mode a shortfall becomes trace miss (as for
the BEV). The engine's on/off state (off at the start time) and the start count are part of
the component's state, so a start is counted, and its cranking energy and fuel charged, only
on an off -> on change, also across steps and after a rollback.

**Energy books** (contract item 10), from the exact mean powers of every piece of a step
(between the trace's samples): ``in_J`` the battery's discharge energy (plus, for a hybrid,
the fuel's energy at its lower heating value), ``out_J`` the energy sent back into the
battery, ``stored_J`` kinetic (with the rotating masses) plus potential energy,
``dissipated_J`` road load (without the grade), friction brakes, drivetrain and motor losses
and auxiliaries (a BEV; a hybrid's losses are not itemised: NaN). The port
``battery_power_W`` is booked as the battery energy the vehicle used (its mean power times
each step), exactly what a pack that holds it over the same step receives.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..limits import MAX_REPEAT
from ..scenario.types import ScenarioPath
from ..vehicle.cycles import available_cycles, load_cycle
from ..vehicle.hybrid import hybrid_split
from ..vehicle.longitudinal import (available_vehicles, interp1, load_vehicle, power_balance, power_balance_one,
                                   solve_speed)
from ..vehicle.longitudinal import G_MPS2
from .base import UNLIMITED_W, Causality, Component, ComponentConfig, EndOfRun, EnergyBooks, Port
from .registry import register


#: outputs of every vehicle: name, unit, long name (the vehicle FMUs declare the same)
OUTPUTS = (
    ("battery_power_W", "W", "battery power, mean over the step (positive on discharge)"),
    ("target_speed_mps", "m/s", "speed of the drive cycle"),
    ("speed_mps", "m/s", "achieved vehicle speed"),
    ("distance_m", "m", "distance driven"),
    ("tractive_power_W", "W", "positive wheel power, mean over the step"),
    ("braking_power_W", "W", "braking wheel power (regen + friction), mean over the step"),
    ("regen_power_W", "W", "regenerated electrical power, mean over the step"),
    ("trace_miss_mps", "m/s", "target speed minus achieved speed"),
    ("energy_per_distance_Wh_km", "Wh/km", "cumulative battery energy per distance driven"),
)
_POWER_KEYS = ("battery_power_W", "tractive_power_W", "braking_power_W", "regen_power_W")
_HEV_KEYS = ("engine_power_W", "fuel_rate_kg_s", "unmet_power_W")
#: the vehicle's energy books [J] (see the module docstring)
_BOOKS = ("battery", "battery_discharge", "battery_charge", "kinetic", "potential", "road_load", "tractive", "braking",
          "regen", "friction_brake", "drivetrain_loss", "motor_loss", "aux", "fuel")
#: start value of the unconnected ``soc`` input of a hybrid
HEV_START_SOC = 0.55


class VehicleConfig(ComponentConfig):
    vehicle: str | None = Field(None, description="shipped vehicle, e.g. 'nissan_leaf_2016'")
    vehicle_file: ScenarioPath | None = Field(None, description="a vehicle TOML file of your own")
    cycle: str | None = Field(None, description="shipped drive cycle, e.g. 'UDDS', 'WLTC3b'")
    cycle_file: ScenarioPath | None = Field(None, description="CSV with time_s,speed_mps[,grade_rad|grade_percent]")
    repeat: int = Field(1, ge=1, le=MAX_REPEAT, description="number of times the cycle is played")
    mode: Literal["backward", "forward"] = "backward"
    at_end: Literal["hold", "end"] = Field("hold", description="after the cycle: hold its last sample, or end the run")
    end_trace_miss_mps: float | None = Field(
        None, gt=0.0, description="forward mode: end the run (a range test) once the speed falls this far below the "
        "trace (2 km/h = 0.5556 m/s); the status reason gives the range and why (the pack's power limit, the pack at "
        "its cut-off, or the motor)")

    @field_validator("vehicle")
    @classmethod
    def _known_vehicle(cls, v):
        if v is not None and v not in available_vehicles():
            raise ValueError(f"unknown vehicle {v!r}; shipped: {', '.join(available_vehicles())}")
        return v

    @field_validator("cycle")
    @classmethod
    def _known_cycle(cls, v):
        if v is not None and v.lower() not in {c.lower() for c in available_cycles()}:
            raise ValueError(f"unknown cycle {v!r}; shipped: {', '.join(available_cycles())}")
        return v

    @model_validator(mode="after")
    def _one_each(self) -> "VehicleConfig":
        if (self.vehicle is None) == (self.vehicle_file is None):
            raise ValueError("give exactly one of 'vehicle' and 'vehicle_file'")
        if (self.cycle is None) == (self.cycle_file is None):
            raise ValueError("give exactly one of 'cycle' and 'cycle_file'")
        return self


def _scalar(x) -> float:
    return float(np.asarray(x).reshape(-1)[0])


@register
class VehicleComponent(Component):
    """Drive-cycle vehicle; see the module docstring."""

    type_name = "vehicle"
    Config = VehicleConfig
    can_get_set_state = True

    def __init__(self, name: str, config: VehicleConfig):
        self.vehicle = load_vehicle(config.vehicle_file if config.vehicle is None else config.vehicle)
        self.cycle = load_cycle(config.cycle_file if config.cycle is None else config.cycle, config.repeat)
        self._ct = np.asarray(self.cycle.time_s) - self.cycle.time_s[0]
        self._cv = np.asarray(self.cycle.speed_mps)
        self._cg = np.asarray(self.cycle.grade_rad)
        self._lists = (self._ct.tolist(), self._cv.tolist(), self._cg.tolist())  # for interp1
        self._phases = list(self.cycle.phases.items())  # e.g. the four WLTC phases
        self._period = max(b for _, (_, b) in self._phases) if self._phases else None
        self._hev = self.vehicle.hybrid is not None
        self._keys = _POWER_KEYS + (_HEV_KEYS if self._hev else ())
        super().__init__(name, config)

    def _declare_ports(self):
        yield Port("available_discharge_power_W", Causality.INPUT, unit="W", start=UNLIMITED_W,
                   long_name="battery discharge power available (forward mode caps the demand)")
        yield Port("available_charge_power_W", Causality.INPUT, unit="W", start=-UNLIMITED_W,
                   long_name="battery charge power available (sign ignored; caps regen)")
        yield Port("battery_power_limit_W", Causality.INPUT, unit="W", start=UNLIMITED_W,
                   long_name="battery power the pack could deliver over this step when a limit bound (from an "
                   "iterated connection; beyond +-1e11 W: no limit)")
        if self._hev:
            yield Port("soc", Causality.INPUT, unit="1", start=HEV_START_SOC,
                       long_name="battery state of charge (energy management feedback)")
        for n, unit, ln in OUTPUTS:
            yield Port(n, Causality.OUTPUT, unit=unit, long_name=ln, depends_on=())
        if self._hev:
            for n, unit, ln in (
                ("engine_power_W", "W", "engine brake power, mean over the step"),
                ("fuel_rate_kg_s", "kg/s", "fuel mass flow, mean over the step"),
                ("unmet_power_W", "W", "shaft power demand neither engine nor motor could give, mean over the step"),
                ("fuel_kg", "kg", "cumulative fuel used"),
                ("fuel_consumption_l_100km", "l/(100km)", "cumulative fuel volume per distance driven"),
                ("engine_starts", "1", "cumulative number of engine starts (off -> on)"),
            ):
                yield Port(n, Causality.OUTPUT, unit=unit, long_name=ln, depends_on=())
        if self._phases:
            names = ", ".join(name for name, _ in self._phases)
            yield Port("phase_energy_per_distance_Wh_km", Causality.OUTPUT, unit="Wh/km",
                       shape=(len(self._phases),), dims=("phase",), depends_on=(),
                       long_name=f"battery energy per distance in each cycle phase ({names}); 0 before a phase")

    # -- trace --------------------------------------------------------------------------
    def _local(self, t: float) -> float:
        return t - self._t0

    def _target(self, tl):
        if type(tl) is float:
            return interp1(tl, self._lists[0], self._lists[1])
        return np.interp(tl, self._ct, self._cv)

    def _knots(self, a: float, b: float) -> list[float]:
        """``a``, the cycle's samples strictly inside ``(a, b)`` (by more than 1e-12 s), ``b``."""
        ct = self._lists[0]
        inner = ct[bisect_right(ct, a):bisect_right(ct, b)]
        return [a, *(x for x in inner if a + 1e-12 < x < b - 1e-12), b]

    # -- lifecycle ----------------------------------------------------------------------
    def _initialize(self, t0: float) -> None:
        self._t0 = t0
        v = float(self._cv[0])
        n = len(self._phases)
        self._state = {"v": v, "d": 0.0, "E": 0.0, "F": 0.0, "Ep": (0.0,) * n, "dp": (0.0,) * n,
                       "short": (0, 0.0, 0.0, 0.0, 0.0)}  # limited steps; worst shortfall: W, t, asked, got
        self._state["books"] = dict.fromkeys(_BOOKS, 0.0)
        if self._hev:  # engine off at the start, no starts yet
            self._state.update(on=False, N=0, ton=np.inf)
        res = self._balance(v, v, 1.0, float(self._cg[0]), np.inf)
        for k in self._keys:
            self.y[k] = _scalar(res[k])
        self._publish(t0)

    def _balance(self, v0, v1, dt, grade, charge, engine=None):
        """power_balance, and for a hybrid the engine/motor split at the held SOC; ``engine``:
        (on, seconds since its start) before the first interval (default: the state's)."""
        veh = self.vehicle
        if not self._hev:
            return power_balance(veh, v0, v1, dt, grade, charge)
        soc = float(self.u["soc"])
        charge = veh.hybrid.charge_limit(soc, charge)  # regen obeys the controller's cap too
        res = power_balance(veh, v0, v1, dt, grade, charge)
        split = hybrid_split(veh, res, 0.5 * (np.asarray(v0) + np.asarray(v1)), soc,
                             self._discharge_limit(), charge, dt,
                             *((self._state["on"], self._state["ton"]) if engine is None else engine))
        res = dict(res)
        res.update(split)
        return res

    def _publish(self, t: float) -> None:
        s, y = self._state, self.y
        vt = self._target(float(self._local(t)))
        y["target_speed_mps"] = vt
        y["speed_mps"] = s["v"]
        y["distance_m"] = s["d"]
        y["trace_miss_mps"] = vt - s["v"]
        y["energy_per_distance_Wh_km"] = s["E"] / (3.6 * s["d"]) if s["d"] > 0 else 0.0
        if self._hev:
            y["fuel_kg"] = s["F"]
            litres = s["F"] / self.vehicle.hybrid.density_kg_per_m3 * 1000.0
            y["fuel_consumption_l_100km"] = litres / (s["d"] / 1e5) if s["d"] > 0 else 0.0
            y["engine_starts"] = float(s["N"])
        if self._phases:
            y["phase_energy_per_distance_Wh_km"] = np.array(
                [E / (3.6 * d) if d > 0 else 0.0 for E, d in zip(s["Ep"], s["dp"])])

    def _phase_of(self, tl: float) -> int | None:
        """Index of the phase holding local time ``tl`` (repeated cycles wrap around;
        after the last repetition, while the last sample is held, no phase)."""
        if tl >= self._lists[0][-1]:
            return None
        tl = tl % self._period
        for k, (_, (a, b)) in enumerate(self._phases):
            if a <= tl < b:
                return k
        return None

    def _do_step(self, t: float, h: float) -> None:
        a, b = float(self._local(t)), float(self._local(t + h))
        ts = self._knots(a, b)
        dts = [y - x for x, y in zip(ts, ts[1:])]
        charge = self._charge_limit()
        s = self._state
        if self.config.mode == "backward":
            ts, dts = np.array(ts), np.array(dts)
            v = self._target(ts)
            g = np.interp(ts, self._ct, self._cg)
            res = self._balance(v[:-1], v[1:], dts, 0.5 * (g[1:] + g[:-1]), charge)
            means = {k: float(np.dot(res[k], dts)) / h for k in self._keys}
            s_new = {"v": float(v[-1]), "d": s["d"] + float(np.dot(0.5 * (v[1:] + v[:-1]), dts)),
                     "E": s["E"] + means["battery_power_W"] * h,
                     "books": self._book(s["books"], res, v[:-1], v[1:], dts, 0.5 * (g[1:] + g[:-1]))}
            if self._hev:
                s_new["F"] = s["F"] + means["fuel_rate_kg_s"] * h
                s_new["on"], s_new["ton"] = bool(res["engine_on"][-1]), float(res["on_time_s"][-1])
                s_new["N"] = s["N"] + int(np.sum(res["engine_starts"]))
            s_new["short"] = self._shortfall(s["short"], means["battery_power_W"], t + h)
        else:
            means, s_new = self._forward(ts, dts, h, charge)
            s_new["short"] = s["short"]
        if self._phases:  # the step's energy and distance go to the phase of its midpoint
            k = self._phase_of(0.5 * (a + b))
            Ep, dp = list(s["Ep"]), list(s["dp"])
            if k is not None:
                Ep[k] += s_new["E"] - s["E"]
                dp[k] += s_new["d"] - s["d"]
            s_new["Ep"], s_new["dp"] = tuple(Ep), tuple(dp)
        self._state = s_new
        for k in self._keys:
            self.y[k] = means[k]
        self._publish(t + h)
        miss = self.config.end_trace_miss_mps
        if miss is not None and self.y["trace_miss_mps"] > miss:
            raise EndOfRun(self._range_reason(t + h, miss))
        if self.config.at_end == "end" and b >= self._lists[0][-1] - 1e-9:
            raise EndOfRun(f"vehicle '{self.name}': end of the drive cycle at {t + h:g} s")

    def _range_reason(self, t: float, miss: float) -> str:
        """The end of a range test: the distance and what held the vehicle back."""
        limit, veh = self._discharge_limit(), self.vehicle
        if limit <= veh.aux_power_W:
            why = "cut-off: the pack can no longer give even the auxiliary load within its limits"
        elif self._wheel_budget(limit) < veh.max_power_W * (1.0 - 1e-9):
            why = f"trace miss: the pack's discharge power limit ({limit:.6g} W)"
        else:
            why = "trace miss: the motor's peak power"
        return (f"vehicle '{self.name}': range {self._state['d'] / 1000.0:.2f} km; at t = {t:g} s the speed was more "
                f"than {miss * 3.6:.3g} km/h below the trace ({why})")

    def _cap(self) -> float | None:
        """The pack's limit of this step (``battery_power_limit_W``), None if it has none."""
        cap = float(self.u["battery_power_limit_W"])
        return cap if abs(cap) < 0.1 * UNLIMITED_W else None

    def _discharge_limit(self) -> float:
        """Discharge power the battery can give over this step: the available power, and
        the pack's own limit of this step where it bound on discharge."""
        limit, cap = float(self.u["available_discharge_power_W"]), self._cap()
        return min(limit, cap) if cap is not None and cap >= 0.0 else limit

    def _charge_limit(self) -> float:
        """Charge power (magnitude) the battery can take over this step, likewise."""
        limit, cap = abs(float(self.u["available_charge_power_W"])), self._cap()
        return min(limit, -cap) if cap is not None and cap <= 0.0 else limit

    def _shortfall(self, short: tuple, asked: float, t: float) -> tuple:
        """Backward mode: count a step whose discharge demand exceeds the pack's limit and
        keep the worst (shortfall, t, asked, got)."""
        cap = self._cap()
        if cap is None or cap < 0.0 or asked <= cap * (1.0 + 1e-9) + 1e-9:
            return short
        n, worst = short[0] + 1, short[1]
        return (n, asked - cap, t, asked, cap) if asked - cap > worst else (n,) + short[1:]

    def coordinates(self) -> dict[str, list]:
        """The cycle's phase names (contract item 11), for the ``phase`` dimension."""
        return {"phase": [name for name, _ in self._phases]} if self._phases else {}

    def run_notes(self) -> list[str]:
        n, _, t, asked, got = self._state["short"]
        if not n:
            return []
        return [f"vehicle '{self.name}' (backward mode): the pack could not deliver the trace's demand in {n} "
                f"step(s), worst at t = {t:g} s (asked {asked:.6g} W, the pack's limit {got:.6g} W); use forward "
                "mode to let the limit slow the vehicle"]

    def _forward(self, ts, dts, h, charge):
        veh = self.vehicle
        limit = self._discharge_limit()
        v0, d, E = self._state["v"], self._state["d"], self._state["E"]
        books = self._state["books"]
        acc = dict.fromkeys(self._keys, 0.0)
        if self._hev:
            engine, n_starts = (self._state["on"], self._state["ton"]), self._state["N"]
        ct, cg = self._lists[0], self._lists[2]
        for a, dt in zip(ts[:-1], dts):
            b = a + dt
            vt = self._target(b)
            g = 0.5 * (interp1(a, ct, cg) + interp1(b, ct, cg))
            if self._hev:
                res = self._balance(v0, vt, dt, g, charge, engine)
                v1 = vt
                unmet = _scalar(res["unmet_power_W"])
                if unmet > 0.0:  # engine at its peak and the motor at its (battery) limit
                    wheel_max = _scalar(res["tractive_power_W"]) - unmet * veh.eta_gear
                    v1 = solve_speed(veh, v0, dt, g, wheel_max, vt)
                    res = self._balance(v0, v1, dt, g, charge, engine)
                for k in self._keys:
                    acc[k] += _scalar(res[k]) * dt
                books = self._book(books, res, v0, v1, dt, g)
                engine = (bool(res["engine_on"][0]), float(res["on_time_s"][0]))
                n_starts += int(res["engine_starts"][0])
                d += 0.5 * (v0 + v1) * dt
                v0 = v1
                continue
            res = power_balance_one(veh, v0, vt, dt, g, charge)
            shaft = float(res["tractive_power_W"]) / veh.eta_gear
            v1 = vt
            if float(res["battery_power_W"]) > limit or shaft > veh.max_power_W:
                wheel_max = self._wheel_budget(limit) * veh.eta_gear
                v1 = float(solve_speed(veh, v0, dt, g, wheel_max, vt))
                res = power_balance_one(veh, v0, v1, dt, g, charge)
            for k in _POWER_KEYS:
                acc[k] += float(res[k]) * dt
            books = self._book(books, res, v0, v1, dt, g)
            d += 0.5 * (v0 + v1) * dt
            v0 = v1
        means = {k: acc[k] / h for k in self._keys}
        cap = self._cap()
        P = means["battery_power_W"]
        if cap is not None and (P >= cap * (1.0 - 1e-6) >= 0.0 if P >= 0.0 else P <= cap * (1.0 - 1e-6) <= 0.0):
            # held at the pack's limit (the speed solve leaves ~1e-9) or above it (the rest of the aux
            # load shed): the battery gives exactly the limit; the books move the difference to aux
            delta = (cap - P) * h
            books = dict(books)
            books["battery"] += delta
            books["aux"] += delta
            books["battery_discharge"] = books["battery_discharge"] + max(cap, 0.0) * h - max(P, 0.0) * h
            books["battery_charge"] = books["battery_charge"] + max(-cap, 0.0) * h - max(-P, 0.0) * h
            means["battery_power_W"] = cap
        s_new = {"v": v0, "d": d, "E": E + means["battery_power_W"] * h, "books": books}
        if self._hev:
            s_new["F"] = self._state["F"] + acc["fuel_rate_kg_s"]
            (s_new["on"], s_new["ton"]), s_new["N"] = engine, n_starts
        return means, s_new

    # -- energy books (contract item 10) ---------------------------------------------------
    def _book(self, books: dict, res: dict, v0, v1, dt, grade) -> dict:
        """``books`` plus the energies [J] of intervals ``v0 -> v1`` of ``dt`` with the power
        balance ``res`` (a new dict; the saved states keep theirs)."""
        if np.ndim(dt) == 0 and not self._hev:
            return self._book_interval(books, res, v0, v1, float(dt), grade)
        dt = np.asarray(dt, dtype=float)

        def energy(power) -> float:
            return float(np.sum(np.asarray(power, dtype=float) * dt))

        veh = self.vehicle
        battery = np.asarray(res["battery_power_W"], dtype=float)
        potential = veh.mass_kg * G_MPS2 * np.sin(np.asarray(grade, dtype=float)) * 0.5 * (np.asarray(v0) + np.asarray(v1))
        new = dict(books)
        for key, power in (
            ("battery", battery), ("battery_discharge", np.maximum(battery, 0.0)),
            ("battery_charge", np.maximum(-battery, 0.0)), ("kinetic", res["inertial_power_W"]),
            ("potential", potential), ("road_load", np.asarray(res["road_load_power_W"]) - potential),
            ("tractive", res["tractive_power_W"]), ("braking", res["braking_power_W"]),
            ("regen", res["regen_power_W"]), ("friction_brake", res["friction_brake_power_W"]),
            ("drivetrain_loss", res["drivetrain_loss_W"]), ("motor_loss", res["motor_loss_W"]),
            ("aux", res["aux_power_W"]),
        ):
            new[key] += energy(power)
        if self._hev:
            new["fuel"] += energy(res["fuel_rate_kg_s"]) * veh.hybrid.lhv_J_per_kg
        return new

    _BOOKED = (("kinetic", "inertial_power_W"), ("tractive", "tractive_power_W"), ("braking", "braking_power_W"),
               ("regen", "regen_power_W"), ("friction_brake", "friction_brake_power_W"),
               ("drivetrain_loss", "drivetrain_loss_W"), ("motor_loss", "motor_loss_W"), ("aux", "aux_power_W"))

    def _book_interval(self, books: dict, res: dict, v0, v1, dt: float, grade) -> dict:
        """:meth:`_book` of one interval (forward mode, a battery vehicle): the same
        arithmetic on scalars, without the arrays (the same numbers, bit for bit)."""
        veh = self.vehicle
        battery = float(res["battery_power_W"])
        sine = 0.0 if grade == 0.0 else float(np.sin(float(grade)))  # np.sin(0.0) is 0.0
        potential = float(veh.mass_kg * G_MPS2 * sine * 0.5 * (float(v0) + float(v1)))
        new = dict(books)
        new["battery"] += battery * dt
        new["battery_discharge"] += max(battery, 0.0) * dt
        new["battery_charge"] += max(-battery, 0.0) * dt
        new["potential"] += potential * dt
        new["road_load"] += (float(res["road_load_power_W"]) - potential) * dt
        for key, name in self._BOOKED:
            new[key] += float(res[name]) * dt
        return new

    def _energy_books(self) -> EnergyBooks:
        b = self._state["books"]
        losses = ("road_load", "friction_brake", "drivetrain_loss", "motor_loss", "aux")
        dissipated = float("nan") if self._hev else sum(b[k] for k in losses)
        details = {f"{k}_J": b[k] for k in _BOOKS if k != "fuel" or self._hev}
        return EnergyBooks(
            in_J=b["battery_discharge"] + b["fuel"], out_J=b["battery_charge"], stored_J=b["kinetic"] + b["potential"],
            dissipated_J=dissipated, ports={"battery_power_W": b["battery"]}, details=details,
            notes="in: battery discharge energy" + (" + fuel at its lower heating value" if self._hev else "")
                  + "; out: energy into the battery; stored: kinetic + potential; dissipated: road load, friction "
                  "brakes, drivetrain, motor, auxiliaries" + (" (not itemised for a hybrid)" if self._hev else ""))

    def _wheel_budget(self, limit_W: float) -> float:
        """Largest motor shaft power with electrical power <= limit − aux and <= the motor's peak."""
        veh = self.vehicle
        el = limit_W - veh.aux_power_W
        if el <= 0:
            return 0.0
        if veh.eta_motor is not None:
            return min(el * veh.eta_motor, veh.max_power_W)
        if veh.max_power_W / float(veh.motor_efficiency(veh.max_power_W)) <= el:
            return veh.max_power_W
        lo, hi = 0.0, veh.max_power_W  # shaft / η(shaft) rises with shaft
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if mid / float(veh.motor_efficiency(mid)) <= el:
                lo = mid
            else:
                hi = mid
        return lo

    def _get_state(self):
        return dict(self._state)

    def _set_state(self, state) -> None:
        self._state = dict(state)
