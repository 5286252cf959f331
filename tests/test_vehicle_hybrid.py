"""Parallel HEV (Nissan Tino Hybrid class): rule-based split, SOC feedback, fuel, validation."""

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cosim.components.vehicle import VehicleComponent, VehicleConfig
from cosim.scenario import load_scenario
from cosim.vehicle import load_cycle, load_vehicle, load_vehicle_spec
from cosim.vehicle.longitudinal import VEHICLES_DIR

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hev_us06.toml"
SCENARIO_JP1015 = SCENARIO.with_name("hev_jp1015.toml")
TINO = "nissan_tino_hybrid"
#: published 10-15 mode fuel economy of the Tino Hybrid, km/L (Response, 2000-03-24, article
#: 1585; vehicles.md §2.7d)
TINO_JP1015_KM_PER_L = 23.0
#: battery energy of the test's integrator: about the seed pack of hev_us06.toml (1 string x 2
#: stacks x 48 unit cells of 0.25 m^2, ~1.1 kWh)
PACK_J = 1.1 * 3.6e6


def _cycle_file(tmp_path, speeds, name="c.csv"):
    p = tmp_path / name
    p.write_text("time_s,speed_mps\n" + "".join(f"{k},{v}\n" for k, v in enumerate(speeds)))
    return p


def _run(tmp_path, speeds, soc, mode="backward", limits=None):
    cfg = VehicleConfig(type="vehicle", vehicle=TINO, cycle_file=_cycle_file(tmp_path, speeds), mode=mode)
    c = VehicleComponent("vehicle", cfg)
    c.set_input("soc", soc)
    if limits:
        for k, v in limits.items():
            c.set_input(k, v)
    c.initialize(0.0)
    rows = []
    for k in range(len(speeds) - 1):
        c.do_step(float(k), 1.0)
        rows.append(dict(c.y))
    return c, rows


def test_no_fuel_below_the_motor_only_threshold_with_a_high_soc(tmp_path):
    hy = load_vehicle(TINO).hybrid
    # gentle creep: 0 -> 6 m/s at 0.3 m/s² and cruise, all below the thresholds
    speeds = list(np.minimum(np.arange(60) * 0.3, 6.0))
    _, rows = _run(tmp_path, speeds, soc=0.65)
    assert all(r["engine_power_W"] == 0.0 and r["fuel_rate_kg_s"] == 0.0 for r in rows)
    assert rows[-1]["fuel_kg"] == 0.0 and rows[-1]["fuel_consumption_l_100km"] == 0.0
    assert max(r["tractive_power_W"] for r in rows) <= hy.ev_max_wheel_W
    assert rows[-1]["battery_power_W"] > 0.0


def test_below_the_soc_target_the_engine_charges_while_cruising(tmp_path):
    hy = load_vehicle(TINO).hybrid
    speeds = [25.0] * 30  # 90 km/h, above the motor-only speed
    _, rows = _run(tmp_path, speeds, soc=hy.soc_target - 0.05)
    for r in rows:
        assert r["battery_power_W"] < 0.0
        assert r["engine_power_W"] > r["tractive_power_W"]
        assert r["fuel_rate_kg_s"] > 0.0
    assert rows[-1]["fuel_consumption_l_100km"] > 0.0
    # above the target the motor assists instead (battery discharging)
    _, rows = _run(tmp_path, speeds, soc=hy.soc_target + 0.05)
    assert all(r["battery_power_W"] > 0.0 for r in rows)


@pytest.mark.parametrize("soc", [0.3, 0.5, 0.55, 0.6, 0.69, 0.75])
def test_energy_balance_per_step(tmp_path, soc):
    spec = load_vehicle_spec(TINO)
    veh = load_vehicle(TINO)
    speeds = list(np.clip(np.concatenate([np.arange(0, 30, 1.5), np.full(10, 30.0), np.arange(30, 0, -2.5), [0, 0]]), 0, None))
    limits = {"available_discharge_power_W": 12000.0, "available_charge_power_W": -5000.0}
    _, rows = _run(tmp_path, speeds, soc=soc, limits=limits)
    eta_g, aux = spec.drivetrain.efficiency, spec.auxiliary.power_W
    x, y = spec.motor.efficiency_load_fraction, spec.motor.efficiency_curve
    eng = spec.engine
    starts_before = 0.0
    for r in rows:
        shaft = r["tractive_power_W"] / eta_g  # 1 s steps on 1 s samples: one interval per step
        motor = shaft - r["engine_power_W"] - r["unmet_power_W"]
        eta_m = np.interp(abs(motor) / spec.motor.max_power_W, x, y)
        el = motor / eta_m if motor >= 0 else motor * eta_m
        started = r["engine_starts"] - starts_before  # 0 or 1 per 1 s step
        starts_before = r["engine_starts"]
        assert started in (0.0, 1.0)
        # engine + battery discharge (electrical -> shaft) = wheel demand / efficiencies + aux
        # (+ the starter-generator's cranking energy in the step of a start)
        assert r["battery_power_W"] == pytest.approx(
            el - r["regen_power_W"] + aux + started * eng.start_energy_J, rel=1e-12, abs=1e-9)  # measured 5e-12 W
        assert r["engine_power_W"] + motor + r["unmet_power_W"] == pytest.approx(shaft, rel=1e-12, abs=1e-9)
        # the battery stays within the limits it was given (and the controller's cap)
        assert r["battery_power_W"] <= limits["available_discharge_power_W"] + 1e-6
        cap = min(5000.0, spec.energy_management.max_battery_charge_power_W or np.inf)
        assert r["battery_power_W"] >= -cap - 1e-6
        if soc >= spec.energy_management.soc_max:
            assert r["battery_power_W"] >= -1e-6  # at soc_max no net charge: regen only feeds the aux
        # fuel from the engine map, at least the idle flow while running, plus the start fuel
        fuel = r["fuel_rate_kg_s"] - started * eng.start_fuel_kg
        if r["engine_power_W"] > 0:
            eta_e = np.interp(r["engine_power_W"] / eng.max_power_W, eng.efficiency_load_fraction, eng.efficiency_curve)
            expected = max(r["engine_power_W"] / (eta_e * 43e6), eng.idle_fuel_rate_kg_s)
            assert fuel == pytest.approx(expected, rel=1e-12)
        else:  # off, or idling (held on by the minimum on-time)
            assert fuel == pytest.approx(0.0, abs=1e-15) or fuel == pytest.approx(eng.idle_fuel_rate_kg_s, rel=1e-12)
    assert veh.hybrid is not None


def _tino_variant(tmp_path, **engine):
    """The Tino's file with some ``[engine]`` numbers replaced."""
    text = (VEHICLES_DIR / f"{TINO}.toml").read_text()
    for k, v in engine.items():
        text, n = re.subn(rf"^{k} = .*$", f"{k} = {v!r}", text, flags=re.M)
        assert n == 1, k
    p = tmp_path / f"tino_{len(list(tmp_path.iterdir()))}.toml"
    p.write_text(text)
    return p


def _drive(tmp_path, speeds, soc, h=1.0, vehicle=TINO, mode="backward", rollback_at=()):
    """Step a Tino on a 1 Hz trace with steps of ``h`` at a held SOC; outputs per step. At the
    steps in ``rollback_at`` the step is done, rolled back and done again."""
    cfg = dict(type="vehicle", cycle_file=_cycle_file(tmp_path, speeds, f"c{len(list(tmp_path.iterdir()))}.csv"), mode=mode)
    cfg["vehicle" if vehicle == TINO else "vehicle_file"] = vehicle
    c = VehicleComponent("vehicle", VehicleConfig(**cfg))
    c.set_input("soc", soc)
    c.initialize(0.0)
    rows = []
    for k in range(int(round((len(speeds) - 1) / h))):
        if k in rollback_at:
            snap = c.get_state()
            c.do_step(k * h, h)
            c.set_state(snap)
        c.do_step(k * h, h)
        rows.append(dict(c.y))
    return c, rows


#: launches, cruise, a short power blip and stops of 20 s: several engine starts
_STOP_GO = [0.0] * 3 + list(np.arange(1, 16) * 1.0) + [15.0] * 10 + list(np.arange(14, -1, -1.0)) + [0.0] * 20 \
    + [3.5, 3.5, 0.0] + [0.0] * 20 + list(np.arange(1, 21) * 1.0) + list(np.arange(18, -1, -2.0)) + [0.0] * 10


def test_tino_10_15_mode_charge_sustaining_fuel_matches_the_published_23_km_per_l():
    """The Tino on its certification cycle, the Japanese 10-15 mode (660 s, 4.165 km), in
    backward mode: the vehicle component alone, its ``soc`` fed by a constant-voltage energy
    integrator of PACK_J (~1.1 kWh, the seed pack of hev_us06.toml; no battery losses), the
    SOC read at the start of each 1 s step (SOC_{k+1} = SOC_k − P_batt,k · 1 s / PACK_J). The
    pack's available powers are left unlimited: the controller's own caps from the vehicle
    file (3 kW charge) and the motor's 17 kW bind.

    Charge-sustaining result, as SAE J1711 treats a charge-sustaining HEV test: the cycle is
    repeated from SOC 0.55 until one cycle's net battery energy change ΔE_batt (discharge
    positive) is within 1 % of that cycle's fuel energy (J1711's tolerance for an uncorrected
    result); the small rest is still converted to fuel with the cycle's average engine
    efficiency η̄_e = ∫P_engine dt / (m_fuel · LHV):  m_corr = m_fuel + ΔE_batt / (η̄_e · LHV).

    Tolerance ±15 % on the fuel consumption (l/100 km): every number but mass, engine and motor
    ratings is an ASSUMPTION with a plausible range in the vehicle file. Moving each to either
    end of its range one at a time (10-15 mode, this procedure) changes the result by: mass
    −3/+5 %, rotating inertia −1/+4 %, rolling resistance ±5 %, drag area ±2.5 %, drivetrain
    efficiency −3/+4.5 %, engine peak efficiency ±6 %, fuel density ±4 %, min load 0/+6 %, the
    controller's battery charge cap −4.5/+7 %, start fuel −2/+10 %, minimum on-time −1/+2 %;
    the root sum of squares of the road-load, mass, drivetrain, engine and fuel ones is ≈ 12 %,
    with the controller and start ones ≈ 18 %. (The aux range 0.25-1.05 kW includes A/C, which
    the certification test does not run; a motor-only speed limit at its 20 km/h low end would
    give +23 %.) ±15 % therefore tests the model, its rules and the whole parameter set
    together, not a fit; the model gives ≈ 24 km/L (−4.5 % in l/100 km). The engine starts per
    km must stay plausible (idle stop at each of the cycle's stops, no chattering)."""
    spec = load_vehicle_spec(TINO)
    lhv, rho = spec.fuel.lower_heating_value_J_per_kg, spec.fuel.density_kg_per_m3
    cyc = load_cycle("JP1015")
    period = int(round(cyc.time_s[-1] - cyc.time_s[0]))
    max_cycles = 5
    c = VehicleComponent("vehicle", VehicleConfig(type="vehicle", vehicle=TINO, cycle="JP1015", repeat=max_cycles))
    soc = spec.energy_management.soc_target
    c.set_input("soc", soc)
    c.initialize(0.0)
    for n in range(max_cycles):
        fuel0, dist0, starts0 = c.y["fuel_kg"], c.y["distance_m"], c.y["engine_starts"]
        e_batt = e_eng = 0.0
        soc_lo = soc_hi = soc
        for k in range(period):
            c.set_input("soc", soc)
            c.do_step(float(n * period + k), 1.0)
            e_batt += c.y["battery_power_W"]
            e_eng += c.y["engine_power_W"]
            soc -= c.y["battery_power_W"] / PACK_J
            soc_lo, soc_hi = min(soc_lo, soc), max(soc_hi, soc)
        fuel = c.y["fuel_kg"] - fuel0
        if abs(e_batt) <= 0.01 * fuel * lhv:
            break
    else:
        pytest.fail(f"not charge-sustaining after {max_cycles} cycles: {e_batt / 3600:.1f} Wh in the last")
    assert n >= 1  # the first cycle (from the SOC target) is never the one measured
    km = (c.y["distance_m"] - dist0) / 1000.0
    assert km == pytest.approx(4.165, abs=5e-4)  # the README's 4.165 km, rounded to 1 m (measured 0.39 m)
    eta_e = e_eng / (fuel * lhv)
    assert 0.25 < eta_e < spec.engine.efficiency_curve[7] + 1e-9  # below the map's peak
    litres = (fuel + e_batt / (eta_e * lhv)) / rho * 1000.0
    l_100km = litres / km * 100.0
    published = 100.0 / TINO_JP1015_KM_PER_L  # 4.35 l/100 km
    assert l_100km == pytest.approx(published, rel=0.15), f"{km / litres:.1f} km/L vs {TINO_JP1015_KM_PER_L}"
    starts_per_km = (c.y["engine_starts"] - starts0) / km
    assert 1.0 <= starts_per_km <= 5.0
    em = spec.energy_management
    assert em.soc_min < soc_lo < soc_hi < em.soc_max  # the rules keep the SOC in its window


def test_engine_starts_cost_what_the_file_says(tmp_path):
    """Same trace, same decisions, with and without start costs: the battery energy differs by
    exactly start_energy_J per start and the fuel by start_fuel_kg per start (the pack's
    limits are not binding here, so the starter's draw does not change the split)."""
    eng = load_vehicle_spec(TINO).engine
    assert eng.start_energy_J > 0 and eng.start_fuel_kg > 0
    free = _tino_variant(tmp_path, start_energy_J=0.0, start_fuel_kg=0.0)
    _, a = _drive(tmp_path, _STOP_GO, soc=0.55)
    _, b = _drive(tmp_path, _STOP_GO, soc=0.55, vehicle=free)
    n = a[-1]["engine_starts"]
    assert n == b[-1]["engine_starts"] >= 3
    e_a = sum(r["battery_power_W"] for r in a)  # 1 s steps: J
    e_b = sum(r["battery_power_W"] for r in b)
    # round-off of the differences of two runs' sums (measured 0 and 5e-15)
    assert e_a - e_b == pytest.approx(n * eng.start_energy_J, rel=1e-12)
    assert a[-1]["fuel_kg"] - b[-1]["fuel_kg"] == pytest.approx(n * eng.start_fuel_kg, rel=1e-12)
    # the cranking energy is drawn in the step of each start, and only there
    for ra, rb, prev in zip(a, b, [{"engine_starts": 0.0}] + a[:-1]):
        started = ra["engine_starts"] - prev["engine_starts"]
        assert ra["battery_power_W"] - rb["battery_power_W"] == pytest.approx(started * eng.start_energy_J, abs=1e-9)


def test_idle_stop_at_standstill_and_charging_below_soc_min(tmp_path):
    eng = load_vehicle_spec(TINO).engine
    em = load_vehicle_spec(TINO).energy_management
    aux = load_vehicle_spec(TINO).auxiliary.power_W
    speeds = [0.0] * 3 + list(np.arange(1, 21) * 1.0) + list(np.arange(18, -1, -2.0)) + [0.0] * 30
    stand = [k for k in range(len(speeds) - 1) if speeds[k] == speeds[k + 1] == 0.0]
    _, rows = _drive(tmp_path, speeds, soc=em.soc_min + 0.05)
    assert rows[-1]["engine_starts"] == 1.0  # started for the launch
    t_stop = stand[2]  # first step of the final standstill (two before the launch)
    after = [rows[k] for k in stand if k >= t_stop + eng.min_on_time_s]
    assert after and all(r["engine_power_W"] == 0.0 and r["fuel_rate_kg_s"] == 0.0 for r in after)
    assert all(r["battery_power_W"] == pytest.approx(aux, rel=1e-12) for r in after)  # measured: equal
    assert all(rows[k]["fuel_rate_kg_s"] == 0.0 for k in stand[:2])  # off before the launch too
    # below soc_min the engine runs at standstill to charge: started in the first step, it
    # runs through the launch, stops while braking (regen charges) and restarts at the stop
    _, rows = _drive(tmp_path, speeds, soc=em.soc_min - 0.05)
    assert [r["engine_starts"] for r in rows[:t_stop + 1]] == [1.0] * t_stop + [2.0]
    for k in stand:
        r = rows[k]
        assert r["engine_power_W"] > 0.0 and r["fuel_rate_kg_s"] >= eng.idle_fuel_rate_kg_s
        assert r["battery_power_W"] < 0.0


def test_minimum_on_time_idles_and_then_stops(tmp_path):
    """A 1 s launch blip starts the engine; it runs min_on_time_s, idling once the car stands,
    then stops: no 1 s on/off chattering."""
    eng = load_vehicle_spec(TINO).engine
    assert eng.min_on_time_s >= 2.0
    speeds = [0.0, 0.0, 3.0, 3.0, 0.0] + [0.0] * 12  # 0 -> 3 m/s in 1 s: above the motor-only power
    _, rows = _drive(tmp_path, speeds, soc=0.6)
    assert rows[1]["engine_power_W"] > 0.0 and rows[-1]["engine_starts"] == 1.0
    burning = [k for k, r in enumerate(rows) if r["fuel_rate_kg_s"] > 0.0]
    assert burning == list(range(1, 1 + int(eng.min_on_time_s)))
    idling = [k for k in burning if rows[k]["engine_power_W"] == 0.0]
    assert idling and all(rows[k]["fuel_rate_kg_s"] == pytest.approx(eng.idle_fuel_rate_kg_s, rel=1e-12) for k in idling)


def test_engine_state_persists_across_steps_modes_and_rollback(tmp_path):
    """The engine's on/off state is component state: 1 s and 2 s macro steps, forward mode
    (limits not binding) and steps redone after a rollback give the same starts and fuel."""
    _, ref = _drive(tmp_path, _STOP_GO, soc=0.55)
    assert ref[-1]["engine_starts"] >= 3
    n = len(_STOP_GO) - 1
    if n % 2:
        n -= 1
    for kw in (dict(h=2.0), dict(mode="forward"), dict(rollback_at=range(0, n, 3))):
        speeds = _STOP_GO[: n + 1] if "h" in kw else _STOP_GO
        _, rows = _drive(tmp_path, speeds, soc=0.55, **kw)
        k_ref = n - 1 if "h" in kw else len(ref) - 1
        assert rows[-1]["engine_starts"] == ref[k_ref]["engine_starts"], kw
        # round-off (measured 1.4e-16 and 2.2e-16)
        assert rows[-1]["fuel_kg"] == pytest.approx(ref[k_ref]["fuel_kg"], rel=1e-12), kw
        assert rows[-1]["energy_per_distance_Wh_km"] == pytest.approx(ref[k_ref]["energy_per_distance_Wh_km"], rel=1e-12), kw


def test_forward_mode_turns_a_shortfall_into_trace_miss(tmp_path):
    speeds = [0.0, 0.0] + [float(v) for v in np.arange(1, 30) * 1.2]  # hard acceleration
    limits = {"available_discharge_power_W": 1000.0}
    _, rows = _run(tmp_path, speeds, soc=0.55, mode="forward", limits=limits)
    assert max(r["trace_miss_mps"] for r in rows) > 0.5
    assert all(r["unmet_power_W"] < 1e-3 for r in rows)
    assert all(r["battery_power_W"] <= 1000.0 + 1e-6 for r in rows)


@pytest.mark.parametrize(
    ("section", "key", "value", "where"),
    [
        ("engine", "efficiency_curve", [0.1, 1.2], "engine.efficiency_curve"),
        ("energy_management", "soc_min", 0.8, "energy_management"),
        ("motor", "efficiency_curve", [0.8, 0.83, 0.86, 0.89, 0.91, 0.91, 0.90, 1.05], "motor.efficiency_curve"),
    ],
)
def test_bad_hev_parameters_are_rejected_with_the_key(tmp_path, section, key, value, where):
    data = tomllib.loads((VEHICLES_DIR / f"{TINO}.toml").read_text())
    data[section][key] = value
    if key == "efficiency_curve" and section == "engine":
        data[section]["efficiency_load_fraction"] = [0.0, 1.0]
    p = tmp_path / "bad.toml"
    lines = []
    for k, v in data.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {_toml(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {_toml(vv)}" for kk, vv in v.items()]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=where.replace(".", r"\.")):
        load_vehicle_spec(p)


def test_hev_sections_required_and_bev_unchanged():
    spec = load_vehicle_spec(TINO)
    with pytest.raises(ValueError, match="needs the section"):
        type(spec).model_validate({**spec.model_dump(exclude_none=True), "engine": None})
    bev = VehicleComponent("v", VehicleConfig(type="vehicle", vehicle="nissan_leaf_2016", cycle="UDDS"))
    assert "soc" not in bev.ports and "fuel_kg" not in bev.ports
    hev = VehicleComponent("v", VehicleConfig(type="vehicle", vehicle=TINO, cycle="US06"))
    assert hev.ports["soc"].start == 0.55
    assert hev.ports["engine_starts"].unit == "1" and "engine_starts" not in bev.ports
    assert all(p.depends_on == () for p in hev.outputs)


@pytest.mark.parametrize("path", [SCENARIO, SCENARIO_JP1015])
def test_the_scenarios_validate(path):
    scen = load_scenario(path)
    assert scen is not None


def _toml(v):
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(float(v)) if isinstance(v, float) else str(v)
