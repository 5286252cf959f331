"""Longitudinal model (backward), the vehicle component (backward and forward) and scenarios."""

import math

import numpy as np
import pytest
import xarray as xr

import cosim.components.vehicle  # noqa: F401  (registers "vehicle" until components/__init__ imports it)
from cosim.components.vehicle import VehicleComponent, VehicleConfig
from cosim.errors import CosimError
from cosim.run import run_scenario
from cosim.scenario import load_scenario
from cosim.vehicle import VEHICLES_DIR, Cycle, backward, load_cycle, load_vehicle, load_vehicle_spec, summary

G = 9.80665

# 2022 Leaf, EPA test car list (vehicles.md §2.7b), converted to SI by hand here
ETW, A, B, C = 1757.7, 115.16, 3.432, 0.4329


def test_epa_wheel_energy_per_distance_matches_an_independent_calculation():
    veh = load_vehicle("nissan_leaf_2022_epa")
    assert (veh.mass_kg, veh.a0_N, veh.a1_N_s_per_m, veh.a2_N_s2_per_m2) == (ETW, A, B, C)
    for name in ("UDDS", "HWFET", "US06"):
        cyc = load_cycle(name)
        res = backward(veh, cyc)
        # independent: per 1 Hz interval, speed linear from v_k to v_k+1; mean of F(v)·v over the
        # interval by 3-point Gauss-Legendre quadrature (exact for this cubic), F = A + Bv + Cv² + m a
        v = cyc.speed_mps
        x, w = np.polynomial.legendre.leggauss(3)
        energy_pos = energy_net = dist = 0.0
        for k in range(len(v) - 1):
            a = v[k + 1] - v[k]
            vs = v[k] + a * (x + 1) / 2
            p = float(np.sum(w / 2 * (A + B * vs + C * vs**2 + ETW * a) * vs))
            energy_pos += max(p, 0.0)
            energy_net += p
            dist += (v[k] + v[k + 1]) / 2
        s = summary(res)
        assert s["distance_m"] == pytest.approx(dist, rel=1e-12)
        # the quadrature is exact for the cubic: the two agree to round-off (measured 1.5e-15)
        assert s["tractive_energy_J"] / s["distance_m"] == pytest.approx(energy_pos / dist, rel=1e-12)
        assert s["wheel_energy_J"] == pytest.approx(energy_net, rel=1e-12)
        assert res["wheel_energy_J"][-1] == pytest.approx(energy_pos, rel=1e-12)
        # the cycle starts and ends at rest: net wheel work = road-load work (measured 5e-16)
        assert s["wheel_energy_J"] == pytest.approx(s["road_load_energy_J"], rel=1e-12)


def test_constant_speed_on_the_flat_gives_the_road_load_power():
    veh = load_vehicle("nissan_leaf_2016")
    spec = load_vehicle_spec("nissan_leaf_2016")
    v = 20.0
    cyc = Cycle("flat", np.arange(101.0), np.full(101, v), np.zeros(101))
    res = backward(veh, cyc)
    rl = spec.road_load
    p_wheel = (spec.mass.mass_kg * G * rl.rolling_resistance_coefficient + 0.5 * rl.air_density_kg_per_m3 * rl.drag_area_m2 * v**2) * v
    np.testing.assert_allclose(res["wheel_power_W"], p_wheel, rtol=1e-12)
    shaft = p_wheel / spec.drivetrain.efficiency
    eta = np.interp(shaft / spec.motor.max_power_W, spec.motor.efficiency_load_fraction, spec.motor.efficiency_curve)
    np.testing.assert_allclose(res["battery_power_W"], shaft / eta + spec.auxiliary.power_W, rtol=1e-12)
    assert summary(res)["battery_Wh_per_km"] == pytest.approx((shaft / eta + 250.0) / v / 3.6, rel=1e-12)


def test_grade_adds_m_g_sin_theta_v():
    veh = load_vehicle("nissan_leaf_2016")
    theta = math.atan(0.05)
    flat = backward(veh, Cycle("f", np.arange(11.0), np.full(11, 10.0), np.zeros(11)))
    hill = backward(veh, Cycle("h", np.arange(11.0), np.full(11, 10.0), np.full(11, theta)))
    rr = veh.mass_kg * G * 0.008 * 10.0
    np.testing.assert_allclose(hill["wheel_power_W"] - flat["wheel_power_W"],
                               veh.mass_kg * G * math.sin(theta) * 10.0 + rr * (math.cos(theta) - 1), rtol=1e-12)


@pytest.mark.parametrize("vehicle", ["nissan_leaf_2016", "nissan_leaf_2022_epa"])
def test_energy_balance(vehicle):
    veh = load_vehicle(vehicle)
    for limit in (np.inf, 5000.0):
        res = backward(veh, load_cycle("US06"), charge_limit_W=limit)
        s = summary(res)
        losses = s["drivetrain_loss_energy_J"] + s["motor_loss_energy_J"]
        lhs = s["battery_energy_J"]
        rhs = s["wheel_energy_J"] + s["friction_brake_energy_J"] + losses + s["aux_energy_J"]
        assert lhs == pytest.approx(rhs, rel=1e-12)
        # traction side and braking side separately
        assert s["motor_electrical_energy_J"] + s["aux_energy_J"] - s["regen_energy_J"] == pytest.approx(lhs, rel=1e-12)
        assert s["braking_energy_J"] == pytest.approx(
            s["friction_brake_energy_J"] + s["regen_energy_J"]
            + (s["drivetrain_loss_energy_J"] + s["motor_loss_energy_J"]
               - (s["motor_electrical_energy_J"] - s["tractive_energy_J"])), rel=1e-12)
        assert np.all(res["friction_brake_power_W"] >= -1e-9)
        assert np.all(res["regen_power_W"] - veh.aux_power_W <= limit * (1 + 1e-12))
        assert np.all(res["drivetrain_loss_W"] >= 0) and np.all(res["motor_loss_W"] >= 0)


def test_regen_fades_out_at_low_speed():
    veh = load_vehicle("nissan_leaf_2016")  # fade 1.2 ... 3.6 m/s
    t = np.arange(3.0)
    res = backward(veh, Cycle("stop", t, np.array([1.2, 0.6, 0.0]), np.zeros(3)))
    assert np.all(res["regen_power_W"] == 0.0)
    res = backward(veh, Cycle("brake", t, np.array([20.0, 18.0, 16.0]), np.zeros(3)))
    assert np.all(res["regen_power_W"] > 0.5 * res["braking_power_W"])


# -- bad input -----------------------------------------------------------------------------
def _bad(tmp_path, old, new):
    text = (VEHICLES_DIR / "nissan_leaf_2016.toml").read_text()
    assert old in text
    p = tmp_path / "v.toml"
    p.write_text(text.replace(old, new))
    return p


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("mass_kg = 1636.0", "mass_kg = -1636.0", "mass.mass_kg"),
        ("[drivetrain]\nefficiency = 0.98", "[drivetrain]\nefficiency = 1.2", "drivetrain.efficiency"),
        ("[drivetrain]\nefficiency = 0.98", "[drivetrain]\nefficiency = 0.0", "drivetrain.efficiency"),
        ("0.93, 0.92]", "0.93, 1.05]", "motor.efficiency_curve"),
        ("drag_area_m2 = 0.868", "drag_area_mm2 = 0.868", "road_load"),
    ],
)
def test_bad_vehicle_files_name_the_key(tmp_path, old, new, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        load_vehicle(_bad(tmp_path, old, new))


def test_bad_config_keys():
    with pytest.raises(ValueError, match=r"unknown cycle 'JC08'; shipped: .*UDDS"):
        VehicleConfig(type="vehicle", vehicle="nissan_leaf_2016", cycle="JC08")
    with pytest.raises(ValueError, match="unknown vehicle"):
        VehicleConfig(type="vehicle", vehicle="tesla", cycle="UDDS")
    with pytest.raises(ValueError, match="exactly one of 'cycle' and 'cycle_file'"):
        VehicleConfig(type="vehicle", vehicle="nissan_leaf_2016")


# -- the component -----------------------------------------------------------------------------
def _component(**kw):
    cfg = VehicleConfig(type="vehicle", **{"vehicle": "nissan_leaf_2016", "cycle": "US06", **kw})
    c = VehicleComponent("veh", cfg)
    c.initialize(0.0)
    return c


def _drive(c, n, h=1.0, discharge=None):
    out = {k: [] for k in c.y}
    for k in range(n):
        if discharge is not None:
            c.set_input("available_discharge_power_W", discharge)
        c.do_step(k * h, h)
        for name in out:
            out[name].append(c.y[name])
    return {k: np.array(v) for k, v in out.items()}


def test_backward_component_is_exact_at_any_step():
    veh, cyc = load_vehicle("nissan_leaf_2016"), load_cycle("US06")
    ref = backward(veh, cyc)
    out = _drive(_component(), 600)
    np.testing.assert_allclose(out["battery_power_W"], ref["battery_power_W"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out["speed_mps"], cyc.speed_mps[1:], rtol=1e-12)  # the samples (measured: equal)
    assert np.all(out["trace_miss_mps"] == 0.0)
    # steps of 2.5 s (not aligned with the 1 Hz samples): means over each step, same energy
    # the wheel energy is exact; the battery energy differs slightly, since the traction /
    # braking split and the motor efficiency are taken per (sub-)interval
    out = _drive(_component(), 240, h=2.5)
    net = np.sum(out["tractive_power_W"] - out["braking_power_W"]) * 2.5
    assert net == pytest.approx(np.sum(ref["wheel_power_W"]), rel=1e-12)
    # measured 6.6e-6 relative (the split and efficiency per 2.5 s step instead of per 1 s)
    assert np.sum(out["battery_power_W"]) * 2.5 == pytest.approx(ref["battery_energy_J"][-1], rel=2e-5)
    assert out["distance_m"][-1] == pytest.approx(cyc.stats().distance_m, rel=1e-12)
    assert out["energy_per_distance_Wh_km"][-1] == pytest.approx(summary(ref)["battery_Wh_per_km"], rel=2e-5)


def test_forward_trace_miss_exactly_where_the_demand_exceeds_the_limit():
    limit = 30e3
    demand = backward(load_vehicle("nissan_leaf_2016"), load_cycle("US06"))["battery_power_W"]
    assert np.any(demand > limit) and np.any(demand <= limit)
    c = _component(mode="forward")
    miss = []
    battery = []
    on_trace_before = []
    exceeds = []
    for k in range(600):
        on_trace_before.append(abs(c.y["trace_miss_mps"]) < 1e-12)
        c.set_input("available_discharge_power_W", limit)
        c.do_step(float(k), 1.0)
        miss.append(c.y["trace_miss_mps"])
        battery.append(c.y["battery_power_W"])
        exceeds.append(demand[k] > limit)
    miss, battery, on, exceeds = map(np.array, (miss, battery, on_trace_before, exceeds))
    assert np.all(battery <= limit * (1 + 1e-9))
    assert np.all(miss >= -1e-12)
    # starting on the trace, the vehicle falls behind if and only if the trace demands more
    np.testing.assert_array_equal(miss[on] > 1e-9, exceeds[on])
    first = int(np.argmax(exceeds))
    assert np.all(miss[:first] == 0.0) and miss[first] > 0
    # where capped, the battery delivers exactly the limit
    capped = on & exceeds
    np.testing.assert_allclose(battery[capped], limit, rtol=3e-9)  # the forward solve's tolerance (measured 8e-10)
    assert (~on).sum() > 0  # it did fall behind and (mostly) caught up again
    assert miss[-1] == pytest.approx(0.0, abs=1e-9)


def test_forward_without_limits_equals_backward():
    # UDDS stays within the Leaf's 80 kW motor (US06 does not: see the next test)
    a = _drive(_component(cycle="UDDS"), 1369)
    b = _drive(_component(cycle="UDDS", mode="forward"), 1369)
    assert np.all(b["trace_miss_mps"] == 0.0)
    np.testing.assert_allclose(b["battery_power_W"], a["battery_power_W"], rtol=1e-12)  # round-off (measured: equal)
    np.testing.assert_allclose(b["speed_mps"], a["speed_mps"], rtol=0, atol=1e-12)  # measured: equal



def test_forward_motor_power_caps_the_demand():
    out = _drive(_component(mode="forward"), 600)  # US06 needs more than 80 kW at the shaft
    veh = load_vehicle("nissan_leaf_2016")
    assert out["tractive_power_W"].max() / veh.eta_gear == pytest.approx(veh.max_power_W, rel=1e-12)  # measured 7e-16
    assert out["trace_miss_mps"].max() > 0


def test_state_roundtrip():
    c = _component(mode="forward")
    _drive(c, 100, discharge=20e3)
    s = c.get_state()
    a = _drive(c, 50, discharge=20e3)
    c.set_state(s)
    b = _drive(c, 50, discharge=20e3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_charge_limit_caps_regen():
    """A 2 kW charge limit holds every regen step's battery power at exactly -2 kW (the
    auxiliaries, 250 W, are fed from regen first) and leaves every other step as it was."""
    limit, aux = 2000.0, load_vehicle("nissan_leaf_2016").aux_power_W

    def drive(charge):
        c, battery, regen = _component(), [], []
        for k in range(600):
            if charge is not None:
                c.set_input("available_charge_power_W", charge)  # the sign is ignored
            c.do_step(float(k), 1.0)
            battery.append(c.y["battery_power_W"])
            regen.append(c.y["regen_power_W"])
        return np.array(battery), np.array(regen)

    free, free_regen = drive(None)
    capped, capped_regen = drive(-limit)
    over = free < -limit  # the steps whose regen the limit must cut
    # the test bites: without the limit US06 charges at up to ~50 kW on many steps
    assert over.sum() > 50 and free.min() < -20 * limit
    # one 1 s step is one 1 Hz interval: battery = aux - regen exactly (round-off 0 measured;
    # 1e-9 W allows the last bit of a ~1e3 W sum)
    np.testing.assert_allclose(capped[over], -limit, rtol=0, atol=1e-9)
    np.testing.assert_allclose(capped_regen[over], limit + aux, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(capped[~over], free[~over])
    np.testing.assert_array_equal(capped_regen[~over], free_regen[~over])
    assert capped.min() >= -limit - 1e-9


# -- scenarios -----------------------------------------------------------------------------
SCENARIO = """
[simulation]
stop_time_s = {stop}
step_s = 1.0

[components.vehicle]
type = "vehicle"
vehicle = "nissan_leaf_2016"
cycle = "{cycle}"
mode = "{mode}"
{extra}
"""


def _run(tmp_path, text, name="veh"):
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    out = tmp_path / f"{name}.nc"
    run_scenario(load_scenario(p), output=out)
    return xr.open_dataset(out)


def test_scenario_alone_matches_backward(tmp_path):
    ds = _run(tmp_path, SCENARIO.format(stop=1369, cycle="UDDS", mode="backward", extra=""))
    ref = summary(backward(load_vehicle("nissan_leaf_2016"), load_cycle("UDDS")))
    p = ds["vehicle.battery_power_W"].values
    assert ds.attrs["status"] == "complete"
    assert np.sum(p[1:]) == pytest.approx(ref["battery_energy_J"], rel=1e-12)
    assert float(ds["vehicle.distance_m"][-1]) == pytest.approx(ref["distance_m"], rel=1e-12)
    assert ds["vehicle.energy_per_distance_Wh_km"].attrs["units"] == "Wh/km"


def test_scenario_with_a_profile_limit(tmp_path):
    extra = """
[components.limit]
type = "profile"
time_s = [0.0, 600.0]
values = { available_discharge_power_W = [25000.0, 25000.0] }

[[connections]]
from = "limit.available_discharge_power_W"
to = "vehicle.available_discharge_power_W"
"""
    ds = _run(tmp_path, SCENARIO.format(stop=600, cycle="US06", mode="forward", extra=extra))
    assert ds.attrs["status"] == "complete"
    assert float(ds["vehicle.battery_power_W"].max()) <= 25000.0 * (1 + 1e-9)
    assert float(ds["vehicle.trace_miss_mps"].max()) > 1.0


def test_scenario_at_end_ends_the_run(tmp_path):
    ds = _run(tmp_path, SCENARIO.format(stop=5000, cycle="JP1015", mode="backward", extra='at_end = "end"\nrepeat = 2'))
    assert float(ds["time"][-1]) == 1320.0


def test_scenario_unknown_cycle_is_a_load_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(SCENARIO.format(stop=10, cycle="JC08", mode="backward", extra=""))
    with pytest.raises(CosimError, match=r"components\.vehicle\.cycle.*unknown cycle 'JC08'"):
        load_scenario(p)


def test_wltc_phases_split_energy_and_distance(tmp_path):
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario
    from cosim.vehicle.cycles import load_cycle

    path = tmp_path / "phases.toml"
    path.write_text('[simulation]\nstop_time_s = 1800\nstep_s = 1\n\n[components.vehicle]\ntype = "vehicle"\n'
                    'vehicle = "nissan_leaf_2016"\ncycle = "WLTC3b"\n')
    out = run_scenario(load_scenario(path), output=tmp_path / "p.nc")
    import xarray as xr

    with xr.open_dataset(out.path) as ds:
        per_phase = ds["vehicle.phase_energy_per_distance_Wh_km"].isel(time=-1).values
        overall = float(ds["vehicle.energy_per_distance_Wh_km"][-1])
    stats = load_cycle("WLTC3b").phase_stats()
    distances = np.array([st.distance_m for st in stats.values()])
    assert per_phase.shape == (4,) and np.all(per_phase > 0)
    # the phases' energies add up to the whole cycle's
    assert (per_phase * distances).sum() / distances.sum() == pytest.approx(overall, rel=1e-12)  # measured 4e-16
    # the slow urban phase and the extra-high phase cost more per km than the medium one
    assert per_phase[3] > per_phase[1]


def test_phase_energy_stops_counting_when_the_cycle_is_over():
    """After the last sample (held, at standstill) only the auxiliaries draw power: the
    overall Wh/km keeps rising, the phases' values stay as the cycle left them."""
    c = _component(cycle="WLTC3b")
    out = _drive(c, 1830)
    phases = out["phase_energy_per_distance_Wh_km"]
    np.testing.assert_array_equal(phases[1799], phases[-1])
    assert out["energy_per_distance_Wh_km"][-1] > out["energy_per_distance_Wh_km"][1799]
    assert np.all(phases[1799] > 0)


def test_interp1_is_numpys_interp_bit_for_bit():
    """The vehicle's scalar interpolation (forward mode, every step) gives np.interp's number
    bit for bit: on and between the samples of every shipped cycle (speed and grade), at its
    ends and outside, and on a series with a non-uniform grid."""
    import numpy as np

    from cosim.vehicle.longitudinal import interp1
    from cosim.vehicle.cycles import available_cycles, load_cycle

    rng = np.random.default_rng(7)
    series = []
    for name in available_cycles():
        c = load_cycle(name)
        t = np.asarray(c.time_s) - c.time_s[0]
        series += [(t, np.asarray(c.speed_mps)), (t, np.asarray(c.grade_rad))]
    x = np.sort(rng.uniform(0.0, 10.0, 40))
    series.append((x, rng.normal(size=40)))
    for xp, fp in series:
        points = np.concatenate([xp, rng.uniform(xp[0] - 5.0, xp[-1] + 5.0, 300), xp[:50] + 1e-13,
                                 [xp[0] - 1.0, xp[-1] + 1.0, xp[-1]]])
        want = np.interp(points, xp, fp)
        got = np.array([interp1(float(p), xp.tolist(), fp.tolist()) for p in points])
        assert np.array_equal(got, want)


def test_power_balance_of_one_interval_is_the_vectorised_one_bit_for_bit():
    """The forward mode's ``power_balance_one`` (Python floats) gives ``power_balance``'s
    numbers bit for bit, for every shipped vehicle (constant and curved motor efficiency),
    over random speeds, steps, grades (and flat) and charge limits, traction and braking."""
    import numpy as np

    from cosim.vehicle.longitudinal import available_vehicles, power_balance, power_balance_one

    rng = np.random.default_rng(11)
    for name in available_vehicles():
        veh = load_vehicle(name)
        for _ in range(300):
            v0, v1 = rng.uniform(0.0, 40.0, 2) * rng.choice([0.0, 1.0], 2, p=[0.1, 0.9])
            dt = float(rng.choice([1.0, 0.5, rng.uniform(0.01, 2.0)]))
            grade = float(rng.choice([0.0, rng.uniform(-0.1, 0.1)]))
            charge = float(rng.choice([np.inf, 0.0, rng.uniform(0.0, 8e4)]))
            want = power_balance(veh, float(v0), float(v1), dt, grade, charge)
            got = power_balance_one(veh, float(v0), float(v1), dt, grade, charge)
            assert set(got) == set(want)
            for key, value in want.items():
                assert float(got[key]) == float(value), (name, key, v0, v1, dt, grade, charge)
