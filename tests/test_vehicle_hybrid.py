"""Parallel HEV (Nissan Tino Hybrid class): rule-based split, SOC feedback, fuel, validation."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from cosim.components.vehicle import VehicleComponent, VehicleConfig
from cosim.scenario import load_scenario
from cosim.vehicle import load_vehicle, load_vehicle_spec
from cosim.vehicle.longitudinal import VEHICLES_DIR

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hev_us06.toml"
TINO = "nissan_tino_hybrid"


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
    for r in rows:
        shaft = r["tractive_power_W"] / eta_g  # 1 s steps on 1 s samples: one interval per step
        motor = shaft - r["engine_power_W"] - r["unmet_power_W"]
        eta_m = np.interp(abs(motor) / spec.motor.max_power_W, x, y)
        el = motor / eta_m if motor >= 0 else motor * eta_m
        # engine + battery discharge (electrical -> shaft) = wheel demand / efficiencies + aux
        assert r["battery_power_W"] == pytest.approx(el - r["regen_power_W"] + aux, rel=1e-9, abs=1e-6)
        assert r["engine_power_W"] + motor + r["unmet_power_W"] == pytest.approx(shaft, rel=1e-12, abs=1e-6)
        # the battery stays within the limits it was given (and the controller's cap)
        assert r["battery_power_W"] <= limits["available_discharge_power_W"] + 1e-6
        cap = min(5000.0, spec.energy_management.max_battery_charge_power_W or np.inf)
        assert r["battery_power_W"] >= -cap - 1e-6
        if soc >= spec.energy_management.soc_max:
            assert r["battery_power_W"] >= -1e-6  # at soc_max no net charge: regen only feeds the aux
        # fuel from the engine map
        if r["engine_power_W"] > 0:
            eta_e = np.interp(r["engine_power_W"] / spec.engine.max_power_W,
                              spec.engine.efficiency_load_fraction, spec.engine.efficiency_curve)
            assert r["fuel_rate_kg_s"] == pytest.approx(r["engine_power_W"] / (eta_e * 43e6), rel=1e-12)
        else:
            assert r["fuel_rate_kg_s"] == 0.0
    assert veh.hybrid is not None


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
    assert all(p.depends_on == () for p in hev.outputs)


def test_the_scenario_validates():
    scen = load_scenario(SCENARIO)
    assert scen is not None


def _toml(v):
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(float(v)) if isinstance(v, float) else str(v)
