"""The flagship BEV run with the vehicle as our own FMU (built from fmus/vehicle with gcc in
this session) against the native vehicle: the whole WLTC 3b, 384 unit cells, thermal network."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cosim.fmu.vehicle_fmu import build_vehicle_fmus
from cosim.run import run_scenario
from cosim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("version", ["fmi2", "fmi3"])
def test_flagship_with_the_vehicle_fmu_matches_the_native_vehicle(tmp_path_factory, native_flagship, version):
    tmp = tmp_path_factory.mktemp(f"flagship_{version}")
    fmus = build_vehicle_fmus(tmp / "fmus")
    scenario = tmp / "with_fmu.toml"
    # the shipped variant, pointed at this session's build of the FMU
    shipped = (SCENARIOS / "flagship_bev_wltc3b_vehicle_fmu.toml").read_text()
    scenario.write_text(
        shipped.replace('extends = "flagship_bev_wltc3b.toml"', f'extends = "{(SCENARIOS / "flagship_bev_wltc3b.toml").as_posix()}"')
        .replace('"../fmus/build/vehicle_fmi2.fmu"', f'"{fmus[f"vehicle_{version}.fmu"].as_posix()}"'))
    loaded = load_scenario(scenario)
    assert loaded.scenario.components["vehicle"].type == "fmu"
    out = run_scenario(loaded, output=tmp / "fmu.nc")
    with xr.open_dataset(native_flagship) as a, xr.open_dataset(out.path) as b:
        assert b.attrs["status"] == "complete" and b.sizes["time"] == a.sizes["time"] == 1801
        # measured bit for bit equal, every step (the C build does the native arithmetic); the
        # tolerances leave room only for last-bit differences of a libm (an ulp in the power
        # moves the pack's string solve continuously, far below 1e-9 V)
        p0, p1 = a["vehicle.battery_power_W"].values, b["vehicle.battery_power_W"].values
        np.testing.assert_allclose(p1, p0, rtol=1e-12, atol=1e-9)
        v0, v1 = a["pack.voltage_V"].values, b["pack.voltage_V"].values
        np.testing.assert_allclose(v1, v0, rtol=0, atol=1e-9)
        assert b["vehicle.speed_mps"].attrs["units"] == "m/s"
        np.testing.assert_allclose(b["vehicle.distance_m"].values[-1], a["vehicle.distance_m"].values[-1], rtol=1e-12)
