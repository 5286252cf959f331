"""Where the pack limits the vehicle: a set point with a binding limit delivers the most the
pack can in the requested direction (never the other way, never more than asked), the
vehicle books what the pack delivered, and a run whose demand the pack could not meet says so.
"""

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.run import run_scenario
from cosim.scenario import load_scenario


def _battery(soc, *, n_strings=1, n_stacks=2, n_layers=4, area=None, **extra):
    from cosim.components.pack import PackConfig, build_battery

    overrides = {} if area is None else {"cell.area_m2": area}
    config = PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", n_strings=n_strings,
                        n_stacks=n_stacks, n_layers=n_layers, initial_soc=soc, capacity_spread_rel=0.05,
                        resistance_spread_rel=0.1, overrides=overrides, **extra)
    battery, _ = build_battery(config)
    T = np.full(battery.layout.n_cells, 298.15)
    p = battery.model.params
    return battery, T, (p.lower_voltage_V, p.upper_voltage_V)


def _power_curve(battery, T, h, sign, limits):
    """Power and worst-layer margin of the step against the pack current, by brute force
    (no limit handling): the reference the limited steps are checked against."""
    prep = battery.model._prepare(h, T)
    S = battery.layout.n_strings

    def at(x):
        res = battery._solve(prep, current=sign * x, slopes=True)
        V, v = res[1], res[2]
        if not (np.isfinite(V) and np.all(np.isfinite(v))):
            return (x, np.nan, -np.inf)
        return (x, V * x, np.min(v - limits[0]) if sign > 0 else np.min(limits[1] - v))

    rows = []
    for x in np.linspace(0.0, 60.0, 1201) * battery._one_c * S:
        rows.append(at(x))
        if rows[-1][2] < 0:  # refine the crossing by bisection
            lo, hi = rows[-2][0], x
            for _ in range(100):
                mid = at(0.5 * (lo + hi))
                lo, hi = (mid[0], hi) if mid[2] >= 0 else (lo, mid[0])
            rows.append(at(lo))
            break
    return np.array(rows)


@pytest.mark.parametrize("soc, sign", [(0.5, 1.0), (0.1, 1.0), (0.5, -1.0), (0.95, -1.0)])
def test_an_unreachable_power_gives_the_most_the_limits_allow_in_its_direction(soc, sign):
    """From rest, a request 20x beyond what the pack can do in a 1 s step: the pack delivers,
    in the requested direction, the largest power whose step stays inside the limits (brute
    force over the current), with the worst layer on its limit; a reachable request is met
    exactly."""
    battery, T, limits = _battery(soc)
    curve = _power_curve(battery, T, 1.0, sign, limits)
    inside = curve[curve[:, 2] >= -1e-9]
    best = inside[:, 1].max()
    state = battery.model.get_state()
    out = battery.step(1.0, T, power_W=sign * 20 * best, limits=limits)
    delivered = battery.voltage * battery.string_current.sum()
    assert battery.limited
    assert delivered * sign > 0
    # the limit search ends within 1e-9 relative of the current at the limit (the power follows;
    # measured 4e-16 to 4e-14; before that criterion it stopped at a margin of 1e-7 V, 1.4e-7
    # short in power at the charge limit from 95 % SOC)
    assert sign * delivered == pytest.approx(best, rel=4e-9)
    v = out["voltage_V"]
    # the limit search stops within tol_V = 1e-7 V of the limit (measured 1.7e-11 and 1.5e-10 V:
    # its last Newton step usually lands far closer, but the contract is tol_V)
    if sign > 0:
        assert v.min() >= limits[0] - 1e-9 and v.min() == pytest.approx(limits[0], abs=1e-7)
    else:
        assert v.max() <= limits[1] + 1e-9 and v.max() == pytest.approx(limits[1], abs=1e-7)
    # half of it is reachable: met to the solver's tolerance, not flagged
    battery.model.set_state(state)
    battery.string_current[:] = 0.0
    battery.step(1.0, T, power_W=sign * 0.5 * best, limits=limits)
    assert not battery.limited
    # a power set point counts as met within 1e-8 (AssembledBattery._within_limits; measured 3e-15)
    assert battery.voltage * battery.string_current.sum() == pytest.approx(sign * 0.5 * best, rel=1e-8)


def test_a_large_first_request_is_not_over_delivered_and_regen_is_not_overcharged():
    """The two branches found in the old limit handling: a first 1 s step of a request the
    pack cannot meet delivered more than asked, and a small regen request whose power solve
    failed charged several times what was asked. Both now deliver at most the request, in
    its direction, across parallel strings too."""
    for n_strings in (1, 2):
        battery, T, limits = _battery(0.5, n_strings=n_strings)
        p_max = _power_curve(battery, T, 1.0, 1.0, limits)
        p_max = p_max[p_max[:, 2] >= -1e-9][:, 1].max()
        for request in (0.3 * p_max, 0.99 * p_max, 1.3 * p_max, -0.01 * p_max, -0.3 * p_max):
            state = battery.model.get_state()
            battery.string_current[:] = 0.0
            battery.step(1.0, T, power_W=request, limits=limits)
            delivered = battery.voltage * battery.string_current.sum()
            assert np.sign(delivered) == np.sign(request)
            assert abs(delivered) <= abs(request) * (1 + 1e-9)
            if not battery.limited:
                assert delivered == pytest.approx(request, rel=1e-8)  # met within 1e-8 (measured 1.1e-14)
            battery.model.set_state(state)


def test_a_current_set_point_beyond_the_limit_holds_the_limit_and_an_empty_pack_gives_nothing():
    battery, T, limits = _battery(0.02)
    out = battery.step(1.0, T, current_A=50 * battery._one_c, limits=limits)
    assert battery.limited and battery.string_current.sum() > 0
    assert out["voltage_V"].min() == pytest.approx(limits[0], abs=1e-7)  # tol_V of the limit search (measured 0)
    # drain it at the limit until nothing is left: the current falls to zero, never negative
    for _ in range(400):
        out = battery.step(10.0, T, current_A=50 * battery._one_c, limits=limits)
        assert battery.string_current.sum() >= 0.0
        assert out["voltage_V"].min() >= limits[0] - 1e-9


SCENARIO = """
[simulation]
stop_time_s = {stop}
step_s = 1

[components.vehicle]
type = "vehicle"
vehicle = "nissan_leaf_2016"
cycle = "{cycle}"
mode = "{mode}"

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
overrides = {{ "cell.area_m2" = {area} }}
control = "power"
n_strings = {strings}
n_stacks = {stacks}
n_layers = 48
initial_soc = {soc}
temperature_K = {T}
capacity_spread_rel = 0.02
resistance_spread_rel = 0.05

[[connections]]
from = "vehicle.battery_power_W"
to = "pack.power_setpoint_W"

[[connections]]
from = "pack.available_discharge_power_W"
to = "vehicle.available_discharge_power_W"

[[connections]]
from = "pack.available_charge_power_W"
to = "vehicle.available_charge_power_W"

[[connections]]
from = "pack.power_limit_W"
to = "vehicle.battery_power_limit_W"
iterate = true
"""


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(area=st.sampled_from([0.02, 0.1, 0.3, 1.0]), strings=st.integers(1, 2), stacks=st.integers(1, 3),
       cycle=st.sampled_from(["US06", "WLTC3b", "UDDS", "HWFET"]), soc=st.floats(0.05, 0.98),
       T=st.floats(253.15, 318.15), mode=st.sampled_from(["backward", "forward"]))
def test_any_pack_on_any_cycle_delivers_in_the_asked_direction_and_the_books_agree(
        tmp_path, area, strings, stacks, cycle, soc, T, mode):
    """Random pack sizes (down to packs far too small for the car), cycles, start SOCs,
    temperatures and both modes: every step delivers power of the request's sign (or
    none) and at most the request; in forward mode the vehicle's battery energy equals the
    pack's to 1e-6; a backward run whose demand the pack could not meet says so."""
    path = tmp_path / f"pack_{area}_{strings}_{stacks}_{cycle}_{mode}.toml"
    path.write_text(SCENARIO.format(stop=150, cycle=cycle, mode=mode, area=area, strings=strings, stacks=stacks,
                                    soc=soc, T=T))
    out = path.with_suffix(".nc")
    run_scenario(load_scenario(path), output=out, overwrite=True)
    with xr.open_dataset(out) as ds:
        asked = ds["vehicle.battery_power_W"].values[1:]
        got = ds["pack.power_W"].values[1:]
        reason = ds.attrs["status_reason"]
        assert ds.attrs["status"] == "complete"
    assert np.all((np.sign(got) == np.sign(asked)) | (got == 0.0))
    assert np.all(np.abs(got) <= np.abs(asked) * (1 + 1e-9) + 1e-9)
    short = np.abs(got) < np.abs(asked) * (1 - 1e-6)
    if mode == "forward":
        # every step to the iterated connection's convergence test, 1e-7 (measured 3.3e-14)
        assert abs(asked.sum() - got.sum()) <= 1e-7 * np.abs(got).sum()
        assert not short.any()
    elif (short & (asked > 0)).any():
        assert "backward mode" in reason and "could not deliver" in reason


CHARGE_AT_AVAILABLE = """
[simulation]
stop_time_s = 40
step_s = 1

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
control = "power"
n_stacks = 2
n_layers = 4
initial_soc = {soc}
capacity_spread_rel = 0.05
resistance_spread_rel = 0.1
min_anode_potential_V = {margin}

[[connections]]
from = "pack.{which}"
to = "pack.power_setpoint_W"
delayed = true
"""


@pytest.mark.parametrize("soc, margin, plating_binds", [(0.9, 0.0, True), (0.9, 0.02, True), (0.5, 0.02, False)])
def test_a_pack_held_at_its_published_charge_power_keeps_its_plating_margin(tmp_path, soc, margin, plating_binds):
    """The pack charged at the available charge power it published (plating-limited) for
    every step: every anode potential stays at or above the margin (within 1 mV) and the
    margin is where it operates, not far above. (Before, the 10 s pulse in one backward-Euler
    step and held for 10 s overshot the margin by 5-42 mV.)"""
    path = tmp_path / "charge.toml"
    path.write_text(CHARGE_AT_AVAILABLE.format(soc=soc, margin=margin, which="available_charge_power_W"))
    run_scenario(load_scenario(path), output=tmp_path / "charge.nc")
    ds = xr.load_dataset(tmp_path / "charge.nc")
    anode = ds["pack.layer_anode_potential_V"].min(dim=["string", "stack", "layer"]).values[1:]
    assert (ds["pack.power_W"].values[1:] < 0).all()
    assert anode.min() >= margin - 1e-3
    if plating_binds:  # at high SOC the plating limit is the one that binds
        assert anode.min() <= margin + 5e-3
    assert float(ds["pack.max_layer_voltage_V"].max()) < 4.2


def test_a_pack_held_at_its_published_discharge_power_delivers_it():
    """The discharge pulse, integrated in macro-step sub-steps, is deliverable at constant
    power over the whole 10 s it is published for (before: 0.8 % short, at the limit)."""
    battery, T, limits = _battery(0.5)
    dis, _ = battery.available_power(10.0, T, limits, substep_s=1.0)
    for _ in range(10):
        out = battery.step(1.0, T, power_W=dis, limits=limits)
        assert not battery.limited
        assert battery.voltage * battery.string_current.sum() == pytest.approx(dis, rel=1e-8)  # met within 1e-8
    assert out["voltage_V"].min() >= limits[0]
