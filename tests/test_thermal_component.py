"""The thermal network as a scenario component: recorded dims and units, ledger, ports,
rollback state, refused configurations with their dotted keys."""

import textwrap

import numpy as np
import pytest
import xarray as xr

import cosim.components.thermal  # noqa: F401  (registers "thermal" until cosim.components imports it)
from cosim.components.thermal import Thermal, ThermalConfig
from cosim.errors import CosimError, ScenarioError
from cosim.run import run_scenario
from cosim.scenario import load_scenario

SCENARIO = """
[simulation]
stop_time_s = 1200
step_s = 10

[components.load]
type = "profile"
time_s = [0.0, 300.0, 600.0, 1200.0]
values = {{ heat_W = [0.0, 0.08, 0.0, 0.02], coolant_temperature_K = [298.15, 293.15, 303.15, 298.15] }}
interpolation = "mean"

[components.th]
type = "thermal"
n_strings = 2
n_stacks = 3
{extra}

[[connections]]
from = "load.heat_W"
to = "th.heat_W"

[[connections]]
from = "load.coolant_temperature_K"
to = "th.coolant_temperature_K"
"""


def write(tmp_path, extra=""):
    """The scenario with ``extra`` keys in the thermal table (n_layers = 12 and a scalar
    heat input unless ``extra`` sets them)."""
    if "n_layers" not in extra:
        extra += "\nn_layers = 12"
    if "per_layer_heat" not in extra:
        extra += "\nper_layer_heat = false"
    path = tmp_path / "thermal.toml"
    path.write_text(SCENARIO.format(extra=textwrap.dedent(extra)))
    return path


def run(tmp_path, extra=""):
    out = tmp_path / "r.nc"
    run_scenario(load_scenario(write(tmp_path, extra)), output=out)
    return xr.open_dataset(out)


def test_profile_driven_run_records_layer_temperatures(tmp_path):
    with run(tmp_path, 'cooling = "one"\nedge_path = true') as ds:
        assert ds.attrs["status"] == "complete"
        T = ds["th.layer_temperature_K"]
        assert T.dims == ("time", "string", "stack", "layer")
        assert T.shape == (121, 2, 3, 12)
        assert T.attrs["units"] == "K"
        assert ds["th.node_temperature_K"].dims == ("time", "node")
        assert ds.sizes["node"] == 2 * 3 * (12 + 3)  # layers, end plates, frame
        assert np.all(T.isel(time=0).values == 298.15)
        # one cooled face: the far layer is the hottest while heat flows
        at_300 = T.sel(time=300.0).values
        assert np.all(np.argmax(at_300, axis=-1) == 11)
        np.testing.assert_allclose(ds["th.max_layer_temperature_K"].values, T.max(("string", "stack", "layer")).values,
                                   rtol=1e-12)  # the same maximum (measured: equal)
        # ledger: the profile's energy exactly (mean interpolation), closing to round-off
        gen = ds["th.heat_generated_J"].values
        expected = 72 * (0.5 * 0.08 * 600 + 0.5 * 0.02 * 600)
        assert gen[-1] == pytest.approx(expected, rel=1e-12)
        stored, removed = ds["th.heat_stored_J"].values, ds["th.heat_removed_J"].values
        assert np.abs(gen - stored - removed).max() <= 3e-13 * np.abs(stored).max()  # measured 7e-14
        np.testing.assert_allclose(
            removed, ds["th.heat_removed_to_coolant_J"].values + ds["th.heat_removed_to_ambient_J"].values, rtol=1e-12
        )


def make(**keys):
    return Thermal("th", ThermalConfig(type="thermal", **keys))


def test_ports_units_shapes_and_no_direct_feedthrough():
    th = make(n_strings=2, n_stacks=2, n_layers=4, layers_per_node=2, coolant_temperature_K=290.0)
    heat = th.ports["heat_W"]
    assert (heat.shape, heat.dims, heat.unit) == ((2, 2, 4), ("string", "stack", "layer"), "W")
    assert th.ports["coolant_temperature_K"].start == 290.0
    assert th.ports["layer_temperature_K"].shape == (2, 2, 4)
    assert th.ports["node_temperature_K"].shape == (len(th.node_names),)
    assert all(p.depends_on == () for p in th.outputs)
    assert {p.unit for p in th.outputs} == {"K", "J"}


def test_per_layer_heat_zero_order_hold_and_state_round_trip():
    th = make(n_stacks=2, n_layers=6, max_step_s=2.0)
    th.initialize(0.0)
    heat = np.zeros((1, 2, 6))
    heat[0, 1, 2] = 1.0
    th.set_input("heat_W", heat)
    th.do_step(0.0, 10.0)
    T = th.get_output("layer_temperature_K")
    assert np.unravel_index(np.argmax(T), T.shape) == (0, 1, 2)
    assert np.all(T[0, 0] == T[0, 0, 0]) and T[0, 0, 0] == pytest.approx(298.15, abs=1e-12)  # not coupled (measured: equal)
    assert th.get_output("heat_generated_J") == pytest.approx(10.0, rel=1e-14)  # held over the step
    assert th.network.n_factorizations == 1  # five sub-steps of 2 s, one factorization
    state = th.get_state()
    th.do_step(10.0, 10.0)
    after = th.get_output("node_temperature_K")
    th.set_state(state)
    assert th.time == 10.0
    assert np.all(th.get_output("layer_temperature_K") == T)
    th.do_step(10.0, 10.0)
    assert np.array_equal(th.get_output("node_temperature_K"), after)
    assert T is not th.get_output("layer_temperature_K")  # a new array every step


def test_non_finite_heat_is_reported_with_its_cell():
    th = make(n_stacks=2, n_layers=3)
    th.initialize(0.0)
    heat = np.zeros((1, 2, 3))
    heat[0, 1, 2] = np.nan
    th.set_input("heat_W", heat)
    with pytest.raises(ValueError, match=r"heat_W of string 0, stack 1, layer 2 is not finite"):
        th.do_step(0.0, 1.0)


@pytest.mark.parametrize(
    "extra, key, text",
    [
        ("n_layers = 0", "n_layers", "must be at least 1"),
        ("layers_per_node = 5", "layers_per_node", "must divide n_layers (12), got 5"),
        ("through_plane_conductivity_W_mK = -0.8", "through_plane_conductivity_W_mK", "must be greater than 0"),
        ("volumetric_heat_capacity_J_m3K = 0", "volumetric_heat_capacity_J_m3K", "must be greater than 0"),
        ("stack_contact_conductance_W_K = -2.0", "stack_contact_conductance_W_K", "must be at least 0"),
        ('cooling_type = "water"', "cooling_type", "expected one of 'cold_plate' or 'air'"),
        ("layer_thickness_mm = 0.25", "layer_thickness_mm", "did you mean 'layer_thickness_m'?"),
    ],
)
def test_bad_configuration_is_refused_with_its_dotted_key(tmp_path, extra, key, text):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, extra))
    (problem,) = info.value.problems
    assert problem.key == f"components.th.{key}"
    assert text in problem.message
    assert problem.line is not None


def test_shape_mismatch_with_a_scalar_source_is_refused(tmp_path):
    with pytest.raises(CosimError, match="shape mismatch"):
        run(tmp_path, "per_layer_heat = true")
