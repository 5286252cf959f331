"""Bipolar stacks and assembled batteries: series sums, parallel current sharing, two-way
thermal coupling, limits, spread."""

import numpy as np
import pytest
import xarray as xr

from cosim.errors import CosimError, ScenarioError
from cosim.run import run_scenario
from cosim.scenario import load_scenario

PACK = """
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.load]
type = "profile"
time_s = [0.0, {stop}]
values = {{ {signal} = [{value}, {value}] }}
interpolation = "previous"

[components.pack]
type = "pack"
parameter_set = "{pset}"
control = "{control}"
n_strings = {strings}
n_stacks = {stacks}
n_layers = {layers}
pulse_duration_s = 10.0
{extra}

[[connections]]
from = "load.{signal}"
to = "pack.{port}"
{more}
"""


def run(tmp_path, *, stop=60.0, step=1.0, control="current", value=1.0, strings=1, stacks=1, layers=1,
        pset="seed_bgraphite_sno2_lmo_gel", extra="", more="", name="pack"):
    signal, port = ("current_A", "current_setpoint_A") if control == "current" else ("power_W", "power_setpoint_W")
    path = tmp_path / f"{name}.toml"
    path.write_text(PACK.format(stop=stop, step=step, signal=signal, port=port, value=value, pset=pset,
                                control=control, strings=strings, stacks=stacks, layers=layers, extra=extra,
                                more=more))
    out = tmp_path / f"{name}.nc"
    run_scenario(load_scenario(path), output=out)
    return xr.open_dataset(out)


def test_series_layers_add_their_voltages(tmp_path):
    """Under load, with resistances at the stack ends, between the stacks and in the lead:
    V_pack = sum of every layer's voltage - I (n_stacks R_end + (n_stacks - 1) R_ic + R_lead),
    computed here from the layer outputs and the configured resistances (the pack's voltage
    comes from its string solve, not from this sum)."""
    R_end, R_ic, R_lead, I = 0.01, 0.005, 0.003, 2.0
    R_series = 2 * R_end + R_ic + R_lead  # two stacks per string
    per_layer = []
    for n in (1, 2, 3):
        with run(tmp_path, stacks=2, layers=n, value=I, stop=20.0, name=f"s{n}",
                 extra=f"stack_end_resistance_Ohm = {R_end}\ninterconnect_resistance_Ohm = {R_ic}\n"
                       f"string_lead_resistance_Ohm = {R_lead}\ninitial_soc = 0.8") as ds:
            layers = ds["pack.layer_voltage_V"].values[1:]  # (time, string, stack, layer)
            np.testing.assert_allclose(ds["pack.current_A"].values[1:], I, rtol=1e-12)
            # round-off: measured <= 4e-15 V on 23 V
            np.testing.assert_allclose(ds["pack.voltage_V"].values[1:],
                                       layers.sum(axis=(1, 2, 3)) - I * R_series, rtol=1e-13)
            per_layer.append(layers[-1].ravel())
    # identical unit cells at the same current: every layer of 1, 2 or 3 per stack has the
    # same voltage, so 2n layers in series give 2n times it (measured spread 0)
    for v in per_layer[1:]:
        np.testing.assert_allclose(v, per_layer[0][0], rtol=1e-13)
    assert 3.3 < per_layer[0][0] < 4.2


def test_stack_ocv_is_the_sum_of_layer_ocvs_and_load_drops_the_end_resistance(tmp_path):
    with run(tmp_path, stacks=2, layers=3, value=2.0, stop=20.0,
             extra="stack_end_resistance_Ohm = 0.01\ninterconnect_resistance_Ohm = 0.005") as ds:
        last = ds.isel(time=-1)
        I = float(last["pack.current_A"])
        stack = last["pack.stack_voltage_V"].values[0]
        layers = last["pack.layer_voltage_V"].values[0]
        np.testing.assert_allclose(stack, layers.sum(axis=1) - I * 0.01, rtol=1e-12)
        pack = float(last["pack.voltage_V"])
        assert pack == pytest.approx(stack.sum() - I * 0.005, rel=1e-12)


def test_parallel_strings_share_the_current_exactly(tmp_path):
    """Three different strings in parallel (capacity factors 0.8 / 1.0 / 1.2 and a seeded
    spread of capacity and contact resistance), with series resistances: Kirchhoff holds at
    every step, the string currents sum to the pack current and every string's terminal
    voltage, sum of its layers - I_s R_series (from the outputs and the configured
    resistances), is the pack voltage."""
    R_end, R_ic, R_lead, I = 0.002, 0.001, 0.0005, 6.0
    R_series = 2 * R_end + R_ic + R_lead  # two stacks per string
    extra = (f"stack_end_resistance_Ohm = {R_end}\ninterconnect_resistance_Ohm = {R_ic}\n"
             f"string_lead_resistance_Ohm = {R_lead}\nstring_capacity_factors = [1.0, 0.8, 1.2]\n"
             "resistance_spread_rel = 0.2\ncapacity_spread_rel = 0.05\nspread_seed = 3\ninitial_soc = 0.6")
    with run(tmp_path, strings=3, stacks=2, layers=3, value=I, stop=300.0, step=10.0, extra=extra) as ds:
        I_s = ds["pack.string_current_A"].values[1:]
        # the strings really differ: an even split (the solver's first guess) is off by > 0.2 A
        assert np.ptp(I_s, axis=1).min() > 0.2
        # round-off of the solver's linear solve: measured 1.3e-13 A on 6 A
        np.testing.assert_allclose(I_s.sum(axis=1), I, rtol=1e-13)
        V_string = ds["pack.layer_voltage_V"].values[1:].sum(axis=(2, 3)) - I_s * R_series
        # equal to round-off: measured 7e-15 V on 21 V (a few ulp); 3e-14 V allows ~8 ulp
        V_pack = np.broadcast_to(ds["pack.voltage_V"].values[1:, None], V_string.shape)
        np.testing.assert_allclose(V_string, V_pack, rtol=0, atol=3e-14)


def test_power_control_meets_the_demand(tmp_path):
    with run(tmp_path, control="power", strings=2, layers=4, value=20.0, stop=20.0) as ds:
        # a power set point counts as met within 1e-8 (AssembledBattery._within_limits; measured 2.7e-14)
        np.testing.assert_allclose(ds["pack.power_W"].values[1:], 20.0, rtol=1e-8)
        np.testing.assert_allclose(ds["pack.string_current_A"].values.sum(axis=1)[1:],
                                   ds["pack.current_A"].values[1:], rtol=1e-13)  # the same sum (measured: equal)


def test_weak_string_carries_less_current_late_in_discharge(tmp_path):
    with run(tmp_path, strings=2, layers=2, value=10.0, stop=1200.0, step=20.0, pset="chen2020",
             extra="string_capacity_factors = [1.0, 0.9]\ninitial_soc = 0.3\non_limit = \"end\"\n"
                   "available_power_interval_s = 600.0") as ds:
        I = ds["pack.string_current_A"].values
        np.testing.assert_allclose(I.sum(axis=1)[1:], 10.0, rtol=1e-13)  # round-off (measured 1.4e-14)
        late = I[-5:]
        assert np.all(late[:, 1] < late[:, 0])  # the 10 % weaker string carries less
        assert late[-1, 0] - late[-1, 1] > 0.1


def test_spread_is_reproducible_from_the_seed_and_recorded(tmp_path):
    extra = "capacity_spread_rel = 0.03\nthickness_spread_rel = 0.02\nresistance_spread_rel = 0.1\nspread_seed = 7"
    with run(tmp_path, layers=5, stop=5.0, extra=extra, name="a") as a, \
            run(tmp_path, layers=5, stop=5.0, extra=extra, name="b") as b:
        # the documented draw (cosim.pack.spread): 1 + sigma x, x standard normal from
        # numpy.random.default_rng(seed) truncated at 3, capacity then thickness then resistance
        x = np.clip(np.random.default_rng(7).standard_normal(15).reshape(3, 5), -3.0, 3.0)
        for name, sigma, row in (("capacity", 0.03, x[0]), ("thickness", 0.02, x[1]), ("resistance", 0.1, x[2])):
            var = a[f"pack.layer_{name}_factor"]  # fixed: recorded once, without the time dimension
            assert var.dims == ("string", "stack", "layer") and var.attrs["units"] == "1"
            assert var.attrs["variability"] == "fixed"
            f = var.values.ravel()
            np.testing.assert_allclose(f, 1.0 + sigma * row, rtol=1e-15)  # the same arithmetic: exact
            np.testing.assert_array_equal(f, b[f"pack.layer_{name}_factor"].values.ravel())
        assert np.ptp(a["pack.layer_voltage_V"].values[-1]) > 0  # the layers differ
        np.testing.assert_array_equal(a["pack.layer_voltage_V"].values, b["pack.layer_voltage_V"].values)


def test_layer_limit_names_stack_layer_time_and_value(tmp_path):
    with pytest.raises(CosimError, match=r"string 0, stack 0, layer \d+ reached 2\.4\d+ V at t = \d+ s, below the lower layer limit 2\.5 V"):
        run(tmp_path, layers=3, value=3.0, stop=4000.0, step=20.0, extra='on_limit = "stop"\ninitial_soc = 0.2')


def test_unbuildable_topology_is_refused_with_its_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PACK.format(stop=1.0, step=1.0, signal="current_A", port="current_setpoint_A", value=1.0,
                                pset="chen2020", control="current", strings=2, stacks=1, layers=0,
                                extra="string_capacity_factors = [1.0]", more=""))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "components.pack.n_layers" in str(info.value)


def test_thermal_coupling_makes_the_middle_layer_hottest_and_least_polarised_at_equal_series_soc(tmp_path):
    thermal = """
[components.thermal]
type = "thermal"
n_strings = 1
n_stacks = 1
n_layers = 9
layer_thickness_m = 2e-3
area_m2 = 0.1
cooling = "both"
cooling_type = "cold_plate"
coolant_temperature_K = 298.15
initial_temperature_K = 298.15

[[connections]]
from = "pack.layer_heat_W"
to = "thermal.heat_W"

[[connections]]
from = "thermal.layer_temperature_K"
to = "pack.layer_temperature_K"
"""
    with run(tmp_path, layers=9, value=4.0, stop=600.0, step=5.0, more=thermal,
             extra="initial_soc = 0.9") as ds:
        T = ds["thermal.layer_temperature_K"].isel(time=-1, string=0, stack=0).values
        assert T.argmax() == 4  # symmetric cooling: the middle layer
        assert T[4] - T[0] > 0.05
        soc = ds["pack.layer_soc"].isel(time=-1, string=0, stack=0).values
        v = ds["pack.layer_voltage_V"].isel(time=-1, string=0, stack=0).values
        # the same current through every layer, but the hot middle layer polarises less ...
        assert v[4] - v[0] > 1e-4
        # ... and, in series, passes exactly the same charge: its SOC cannot drift apart
        np.testing.assert_allclose(soc, soc[0], rtol=1e-12)  # round-off (measured 2.1e-15)
        assert ds["thermal.layer_temperature_K"].dims == ("time", "string", "stack", "layer")


@pytest.mark.parametrize("pack_limits", [None, (0.0, 8 * 4.0)])
def test_available_power_is_the_pulse_that_ends_at_the_binding_limit(pack_limits):
    """Against a brute-force bisection of the pack current to 1e-9 V on the binding limit
    (even string split, as the battery's own estimate), times the pulse's lowest pack voltage
    (a constant power that size then draws at most that current throughout)."""
    from cosim.components.pack import PackConfig, build_battery

    config = PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", n_strings=2, n_stacks=2,
                        n_layers=4, initial_soc=0.6, capacity_spread_rel=0.05, resistance_spread_rel=0.1)
    battery, _ = build_battery(config)
    p = battery.model.params
    limits = (p.lower_voltage_V, p.upper_voltage_V)
    T = np.full(battery.layout.n_cells, 298.15)
    for _ in range(3):
        battery.step(1.0, T, current_A=2.0 * battery._one_c)
    duration = 10.0
    prep = battery.model._prepare(duration, T)

    def margin(I_pack, sign):
        V, v, _, _ = battery._string_voltages(prep, np.full(2, I_pack / 2))
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(V))):
            return -np.inf, np.nan
        m = np.min(sign * (v - (limits[0] if sign > 0 else limits[1])))
        if pack_limits is not None:
            m = min(m, sign * (np.mean(V) - (pack_limits[0] if sign > 0 else pack_limits[1])))
        return m, float(np.mean(V))

    def brute(sign):
        good, bad = 0.0, sign * battery._one_c
        while margin(bad, sign)[0] >= 0:
            bad *= 2.0
        for _ in range(200):
            mid = 0.5 * (good + bad)
            m, V = margin(mid, sign)
            if m >= 0:
                good = mid
                if m <= 1e-9:
                    break
            else:
                bad = mid
        if sign > 0:  # the pulse's lowest pack voltage: at its end on discharge ...
            V_low = margin(good, sign)[1]
        else:  # ... right after the current step on charge
            V_low = float(np.mean(battery._string_voltages(battery.model._prepare(1e-6, T), np.full(2, good / 2))[0]))
        return good * V_low, margin(good, sign)[0]

    dis, ch = battery.available_power(duration, T, limits, pack_limits)
    for sign, got in ((1.0, dis), (-1.0, ch)):
        want, m = brute(sign)
        assert 0 <= m <= 1e-9
        assert got * sign > 0
        assert got == pytest.approx(want, rel=1e-5)  # 1e-6 V on a pulse's ~0.1-1 V drop
    # the estimate converged to 1e-6 V on the binding limit, from a warm start too
    dis2, ch2 = battery.available_power(duration, T, limits, pack_limits)
    assert dis2 == pytest.approx(dis, rel=1e-5) and ch2 == pytest.approx(ch, rel=1e-5)


def _seed_battery(soc, n_strings=1):
    from cosim.components.pack import PackConfig, build_battery

    config = PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", n_strings=n_strings, n_stacks=2,
                        n_layers=4, initial_soc=soc, capacity_spread_rel=0.05, resistance_spread_rel=0.1)
    battery, _ = build_battery(config)
    T = np.full(battery.layout.n_cells, 298.15)
    battery.step(1.0, T, current_A=0.5 * battery._one_c)
    p = battery.model.params
    return battery, T, (p.lower_voltage_V, p.upper_voltage_V)


def test_anode_potential_of_an_evaluation_and_its_exact_slope():
    """The SPMe's anode potential of an evaluation is the output after committing that step,
    and its slope matches a central difference."""
    battery, T, _ = _seed_battery(0.9)
    model = battery.model
    prep = model._prepare(10.0, T)
    I = np.full(model.n, -2.0 * battery._one_c)
    _, _, aux = model._evaluate_slope(prep, I)
    a, da = model._anode_potential(prep, I, aux, slope=True)
    dI = 1e-4 * battery._one_c
    a_hi = model._anode_potential(prep, I + dI, model._evaluate(prep, I + dI)[1])
    a_lo = model._anode_potential(prep, I - dI, model._evaluate(prep, I - dI)[1])
    np.testing.assert_allclose(da, (a_hi - a_lo) / (2 * dI), rtol=1e-9)  # the central difference (measured 2.7e-10)
    state = model.get_state()
    model._commit(prep, I, aux)
    np.testing.assert_allclose(model.out["anode_potential_V"], a, rtol=0, atol=1e-12)
    model.set_state(state)


def test_available_charge_power_stops_at_the_plating_limit():
    """At high SOC the seed cell's thin graphite anode reaches 0 V vs Li/Li+ before the cell
    voltage reaches its maximum: the charge pulse that ends at the plating limit is smaller,
    and stepping a copy of the pack with it ends with the lowest anode potential at the margin."""
    duration = 10.0
    for margin_V in (0.0, 0.02):
        old_b, T, limits = _seed_battery(0.9)
        old_dis, old_ch = old_b.available_power(duration, T, limits)
        # None is the voltage-only answer, exactly
        none_b, _, _ = _seed_battery(0.9)
        assert none_b.available_power(duration, T, limits, min_anode_potential_V=None) == (old_dis, old_ch)
        battery, _, _ = _seed_battery(0.9)
        dis, ch = battery.available_power(duration, T, limits, min_anode_potential_V=margin_V)
        assert dis == old_dis  # the discharge side is unchanged
        assert old_ch < ch < 0  # the plating limit binds first

        def pulse(b):  # the constant-current pulse behind the published charge power
            state = b.model.get_state()
            out = b.step(duration, T, current_A=b._last_pulse[-1.0][0])
            v, anode = out["voltage_V"].copy(), out["anode_potential_V"].copy()
            b.model.set_state(state)
            return v, anode

        v, anode = pulse(battery)
        assert float(anode.min()) == pytest.approx(margin_V, abs=1e-6)
        assert v.max() < limits[1] - 1e-3  # well below the voltage limit
        # the voltage-only pulse plates
        v_old, anode_old = pulse(old_b)
        assert v_old.max() == pytest.approx(limits[1], abs=1e-6)  # available_power's tol_V (measured 1.0e-7)
        assert anode_old.min() < margin_V - 1e-3
        # warm start
        dis2, ch2 = battery.available_power(duration, T, limits, min_anode_potential_V=margin_V)
        assert ch2 == pytest.approx(ch, rel=1e-5)  # tol_V = 1e-6 V on the binding limit (measured: equal)


def test_cell_available_charge_power_stops_at_the_plating_limit():
    """The same for the per-cell available power of the cell models (the ``cell`` component)."""
    from cosim.cell.spme import SPMe
    from cosim.cell.parameter_set import load_parameter_set

    params = load_parameter_set("seed_bgraphite_sno2_lmo_gel").to_cell_params(1).at_soc(0.9)
    model = SPMe(params)
    T = 298.15
    v_min, v_max = params.lower_voltage_V, params.upper_voltage_V
    dis0, ch0 = model.available_power(10.0, T, v_min, v_max)
    dis, ch = model.available_power(10.0, T, v_min, v_max, min_anode_potential_V=0.0)
    np.testing.assert_array_equal(dis, dis0)
    assert np.all((ch0 < ch) & (ch < 0))
    state = model.get_state()
    out = model.step(10.0, T, power_W=ch)
    # the search stops within 1e-7 of the 1C current, < 1e-7 V here (measured 1.5e-16 V)
    np.testing.assert_allclose(out["anode_potential_V"], 0.0, rtol=0, atol=1e-7)
    assert np.all(out["voltage_V"] < v_max - 1e-3)
    model.set_state(state)
