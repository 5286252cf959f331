"""The vehicle FMU in the vehicle-pack loop closed within the step: a pack far too small for
US06 feeds its limit back to the FMU's ``battery_power_limit_W`` through an iterated
connection, the orchestrator repeats the limited steps with rollback (FMU state get/set),
and the run is the run with the native vehicle."""

import numpy as np
import pytest
import xarray as xr
from fmpy import read_model_description

from cosim.fmu.vehicle_fmu import build_vehicle_fmus
from cosim.run import run_scenario
from cosim.scenario import load_scenario

# Only the pack's own limit caps the vehicle (its available powers are not connected), so
# every limited step goes through the iterated connection.
SCENARIO = """
[simulation]
stop_time_s = 300
step_s = 1

{vehicle}
[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
overrides = {{ "cell.area_m2" = 0.1 }}
control = "power"
n_strings = 1
n_stacks = 2
n_layers = 48
initial_soc = 0.95
temperature_K = 298.15

[[connections]]
from = "vehicle.battery_power_W"
to = "pack.power_setpoint_W"

[[connections]]
from = "pack.power_limit_W"
to = "vehicle.battery_power_limit_W"
iterate = true
"""

NATIVE = """[components.vehicle]
type = "vehicle"
vehicle = "nissan_leaf_2016"
cycle = "US06"
mode = "forward"
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fmu_pack_limit")
    fmus = build_vehicle_fmus(tmp / "fmus", cycle="US06")  # forward mode is the FMU's default
    vehicles = {"native": NATIVE, **{v: f'[components.vehicle]\nfmu = "{fmus[f"vehicle_{v}.fmu"].as_posix()}"\n'
                                     for v in ("fmi2", "fmi3")},
                "native_backward": NATIVE.replace('"forward"', '"backward"'),
                "fmi2_backward": f'[components.vehicle]\nfmu = "{fmus["vehicle_fmi2.fmu"].as_posix()}"\n'
                                 'parameters = { forward = false }\n'}
    out = {}
    for name, vehicle in vehicles.items():
        path = tmp / f"{name}.toml"
        path.write_text(SCENARIO.format(vehicle=vehicle))
        result = run_scenario(load_scenario(path), output=tmp / f"{name}.nc")
        with xr.open_dataset(result.path) as ds:
            out[name] = ({k: ds[k].values.copy() for k in ds.data_vars}, dict(ds.attrs))
    return fmus, out


def test_the_fmu_advertises_rollback(runs):
    fmus, _ = runs
    for path in fmus.values():
        cs = read_model_description(str(path)).coSimulation
        assert cs.canGetAndSetFMUstate and cs.canSerializeFMUstate


@pytest.mark.parametrize("version", ["fmi2", "fmi3"])
def test_the_fmu_books_what_the_limited_pack_delivers_and_matches_the_native_run(runs, version):
    _, out = runs
    y, attrs = out[version]
    assert attrs["status"] == "complete"
    assert attrs["n_loop_repeats"] > 0  # limited steps were repeated after a rollback
    limited = y["pack.limited"][1:] > 0.5
    limit = y["pack.power_limit_W"][1:]
    # the pack's limit binds on discharge and on charge (measured: 258 and 8 of 300 steps)
    assert (limited & (limit > 0)).sum() > 200 and (limited & (limit < 0)).sum() >= 4
    asked, got = y["vehicle.battery_power_W"][1:], y["pack.power_W"][1:]
    # the vehicle's power is what the pack delivered, every step, limited or not: to the
    # iterated connection's convergence test (1e-7; measured 4.9e-11 relative)
    np.testing.assert_allclose(asked, got, rtol=1e-7, atol=1e-9)
    assert y["vehicle.trace_miss_mps"].max() > 10.0  # the limit slowed the car
    # and the run is the native vehicle's run: measured equal bit for bit, every variable
    native, native_attrs = out["native"]
    assert native_attrs["n_loop_repeats"] == attrs["n_loop_repeats"]
    common = sorted(set(native) & set(y))
    assert {"vehicle.battery_power_W", "vehicle.speed_mps", "vehicle.distance_m", "pack.power_W",
            "pack.voltage_V", "pack.soc", "pack.limited", "pack.power_limit_W"} <= set(common)
    for key in common:
        np.testing.assert_array_equal(y[key], native[key], err_msg=f"{version}: {key}")


def test_a_backward_fmu_vehicle_says_what_the_native_says_in_the_status_reason(runs):
    """Backward mode with the pack too small: the FMU logs the shortfall as a warning at
    Terminate; the fmu component's run notes put it into the status reason, with the same
    count, time and powers as the native vehicle's own note."""
    _, out = runs
    native, fmu = out["native_backward"][1]["status_reason"], out["fmi2_backward"][1]["status_reason"]
    marker = "the pack could not deliver the trace's demand in "
    assert marker in native and marker in fmu
    assert "component 'vehicle' (vehicle_fmi2.fmu) logged 1 warning(s)" in fmu
    detail = native[native.index(marker):].split(";")[0]
    assert detail in fmu  # same count, worst time and powers
