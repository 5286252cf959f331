"""The shipped scenarios that meet the pack's limits: a range test, a cold start with the
coolant off, and a small high-power pack on US06. Each runs in a shortened or scaled-down
form here (the full runs are in the README and ``benchmarks/vehicle.py --range``)."""

from pathlib import Path

import numpy as np
import xarray as xr

from cosim.run import run_scenario
from cosim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _run(tmp_path, text: str, name: str) -> xr.Dataset:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    run_scenario(load_scenario(path), output=tmp_path / f"{name}.nc")
    return xr.load_dataset(tmp_path / f"{name}.nc")


def _books_agree(ds: xr.Dataset) -> None:
    asked, got = ds["vehicle.battery_power_W"].values[1:], ds["pack.power_W"].values[1:]
    # to the iterated connection's convergence test (rtol 1e-7, atol 1e-9; measured 1.6e-12)
    np.testing.assert_allclose(got, asked, rtol=1e-7, atol=1e-9)
    assert float(ds.attrs["ledger_max_relative_mismatch"]) < 1e-7  # likewise (measured 1.5e-15)


def test_the_range_test_ends_on_the_trace_and_reports_the_range(tmp_path):
    """The range scenario with a pack a tenth the size (0.2 m2 cells): it drives until the
    speed falls 2 km/h below the trace, well before its stop time, and says how far it got
    (the vehicle's distance) and that the pack's limit ended it."""
    ds = _run(tmp_path, f"""
extends = "{SCENARIOS / 'range_bev_wltc3b.toml'}"
[components.pack]
overrides = {{ "cell.area_m2" = 0.2 }}
[components.thermal]
area_m2 = 0.2
""", "range")
    reason = ds.attrs["status_reason"]
    assert ds.attrs["status"] == "complete" and "ended early" in reason
    distance_km = float(ds["vehicle.distance_m"][-1]) / 1000.0
    assert f"range {distance_km:.2f} km" in reason
    assert "the pack's discharge power limit" in reason or "cut-off" in reason
    assert float(ds["time"][-1]) < 36000.0
    miss = ds["vehicle.trace_miss_mps"].values
    assert miss[-1] > 0.5556 and (miss[:-1] <= 0.5556).all()
    # a tenth of the flagship's 29 kWh from 90 % SOC at 100-250 Wh/km
    assert 8.0 < distance_km < 30.0
    _books_agree(ds)


def test_the_cold_start_warms_the_pack_and_holds_regen_at_the_plating_limit(tmp_path):
    """The -20 C cold start, first 900 s: no coolant, so every layer ends warmer than it
    started (its own losses; the entropic heat and the still air take some back at times);
    regen is held at the plating-limited charge power in some steps, and no anode goes
    below 0 V vs Li by more than 1 mV."""
    ds = _run(tmp_path, f"""
extends = "{SCENARIOS / 'cold_start_minus20_wltc3b.toml'}"
[simulation]
stop_time_s = 900
""", "cold")
    T = ds["thermal.layer_temperature_K"].values
    assert T[0].max() == 253.15 and (T[-1] > T[0]).all()
    P = ds["vehicle.battery_power_W"].values[1:]
    charge = ds["pack.available_charge_power_W"].values[:-1]
    held = (P < 0) & (np.abs(P - charge) <= 1e-6 * np.abs(charge))
    assert held.sum() >= 5
    assert float(ds["pack.layer_anode_potential_V"].min()) >= -1e-3
    _books_agree(ds)


def test_the_small_pack_on_us06_is_at_its_limit_in_more_than_a_tenth_of_the_steps(tmp_path):
    ds = _run(tmp_path, f'extends = "{SCENARIOS / "small_pack_us06.toml"}"\n', "us06")
    limited = ds["pack.limited"].values[1:]
    assert limited.mean() > 0.10
    assert "at a limit in" in ds.attrs["status_reason"]
    assert float(ds["vehicle.trace_miss_mps"].max()) > 1.0  # the car is slowed
    assert float(ds["pack.min_layer_voltage_V"].min()) >= 2.5 - 1e-9
    _books_agree(ds)
