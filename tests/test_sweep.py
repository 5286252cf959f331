"""cosim sweep: variants, validation, process pool against Dask, failures, kill and resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cosim.cli import main
from cosim.errors import CosimError
from cosim.sweep import Dimension, plan_sweep, run_sweep
from cosim.sweep.grid import dimension_name, parse_vary, unit_of_key
from sweep_scenarios import COOLANT, INITIAL, POSITIVE, THICKNESS, small_pack

THICKNESSES = (10e-6, 15e-6, 30e-6)
POSITIVES = (5.007e-05, 7.51e-05, 0.0001502)
AMBIENTS = (273.15, 298.15, 313.15)


def _grid_3x3():
    return [Dimension(THICKNESS, THICKNESSES, {POSITIVE: POSITIVES}),
            Dimension(COOLANT, AMBIENTS, {INITIAL: AMBIENTS})]


def test_parse_vary_reads_toml_values_and_keys_that_follow():
    dims = parse_vary([("vary", f"{THICKNESS}=1e-6,10e-6"), ("with", f"{POSITIVE}=5e-6,50e-6"),
                       ("vary", "components.vehicle.cycle=US06,\"WLTC3b\""), ("vary", "components.pack.n_layers=24,48")])
    assert dims[0].key == THICKNESS and dims[0].values == (1e-6, 10e-6)
    assert dims[0].follow == {POSITIVE: (5e-6, 50e-6)}
    assert dims[1].values == ("US06", "WLTC3b")
    assert dims[2].values == (24, 48) and all(isinstance(v, int) for v in dims[2].values)
    with pytest.raises(CosimError, match="expected KEY=V1,V2"):
        parse_vary([("vary", "components.pack.n_layers")])
    with pytest.raises(CosimError, match="after the --vary"):
        parse_vary([("with", "components.pack.n_layers=1")])


def test_names_and_units_of_keys():
    assert dimension_name(THICKNESS) == "negative_thickness_m"
    assert unit_of_key(THICKNESS) == "m" and unit_of_key(COOLANT) == "K" and unit_of_key("components.pack.n_layers") == "1"
    assert dimension_name("components.thermal.n_layers", ["n_layers"]) == "thermal_n_layers"


def test_a_bad_value_is_named_with_its_grid_index_before_anything_runs(tmp_path):
    scenario = small_pack(tmp_path)
    dims = [Dimension(COOLANT, (273.15, 298.15)), Dimension("components.pack.n_layers", (4, 0, 8))]
    with pytest.raises(CosimError) as err:
        plan_sweep(scenario, dims)
    text = str(err.value)
    assert "grid index 1 [0, 1]" in text and "components.pack.n_layers=0" in text and "n_layers" in text
    assert not (tmp_path / "out").exists()


def test_a_misspelt_key_is_an_error_naming_it(tmp_path):
    scenario = small_pack(tmp_path)
    with pytest.raises(CosimError, match=r"components\.pack\.n_layer: unknown key 'n_layer'; did you mean 'n_layers'"):
        plan_sweep(scenario, [Dimension("components.pack.n_layer", (4, 8))])
    with pytest.raises(CosimError, match="no table 'components.pakc'"):
        plan_sweep(scenario, [Dimension("components.pakc.n_layers", (4, 8))])
    with pytest.raises(CosimError, match=r"negative\.thicknes_m"):
        plan_sweep(scenario, [Dimension('components.pack.overrides."negative.thicknes_m"', (1e-5, 2e-5))])


def _kpi(outcome):
    with xr.open_dataset(outcome.kpi_path) as ds:
        return ds.load()


def test_a_3x3_sweep_gives_the_same_kpis_on_the_process_pool_and_on_dask(tmp_path):
    scenario = small_pack(tmp_path)
    plan = plan_sweep(scenario, _grid_3x3())
    assert plan.shape == (3, 3) and len({v.scenario_hash for v in plan.variants}) == 9
    pool = run_sweep(plan, tmp_path / "pool", workers=2)
    dask = run_sweep(plan, tmp_path / "dask", workers=2, dask=True)
    assert sorted(pool.executed) == sorted(dask.executed) == list(range(9))
    a, b = _kpi(pool), _kpi(dask)
    assert dict(a.sizes) == {"negative_thickness_m": 3, "coolant_temperature_K": 3}
    assert a["status"].dims == ("negative_thickness_m", "coolant_temperature_K")
    assert (a["status"].values == "complete").all()
    np.testing.assert_array_equal(a["negative_thickness_m"].values, THICKNESSES)
    np.testing.assert_array_equal(a["positive_thickness_m"].values, POSITIVES)
    np.testing.assert_array_equal(a["coolant_temperature_K"].values, AMBIENTS)
    for name in a.variables:
        assert a[name].attrs.get("units") and a[name].attrs.get("long_name"), name
    for name in ("energy_per_distance_J_m", "min_layer_voltage_V", "max_layer_temperature_K",
                 "layer_temperature_spread_K", "max_trace_miss_mps", "limited_steps", "final_soc",
                 "final_soc_spread", "peak_power_W", "pack_heat_J"):
        assert np.isfinite(a[name].values).all(), name
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    # the keys reached the runs: a colder pack runs colder, and the thinnest heats more when cold
    assert (np.diff(a["max_layer_temperature_K"].values, axis=1) > 0).all()
    assert (np.diff(a["pack_heat_J"].isel(negative_thickness_m=0).values) < 0).all()
    assert len(np.unique(a["min_layer_voltage_V"].values)) == 9
    # one result per run, each complete, named in the manifest
    manifest = json.loads((tmp_path / "pool" / "manifest.json").read_text())
    assert manifest["counts"]["complete"] == 9
    for run in manifest["runs"]:
        with xr.open_dataset(tmp_path / "pool" / run["file"]) as ds:
            assert ds.attrs["status"] == "complete"


def test_a_failing_variant_is_recorded_and_the_others_complete(tmp_path):
    scenario = small_pack(tmp_path)
    # 340 K at the start: a layer over max_layer_temperature_K (333.15 K) stops that run
    plan = plan_sweep(scenario, [Dimension(INITIAL, (298.15, 340.0, 303.15), {COOLANT: (298.15, 340.0, 303.15)})])
    outcome = run_sweep(plan, tmp_path / "out", workers=2)
    assert outcome.count("complete") == 2 and outcome.count("failed") == 1
    failed = outcome.records[1]
    assert failed["status"] == "failed" and "max_layer_temperature_K" in failed["error"]
    kpi = _kpi(outcome)
    assert list(kpi["status"].values) == ["complete", "failed", "complete"]
    assert np.isnan(kpi["final_soc"].values[1]) and np.isfinite(kpi["final_soc"].values[[0, 2]]).all()
    with xr.open_dataset(tmp_path / "out" / failed["file"]) as ds:
        assert ds.attrs["status"] == "incomplete"
    # a second call runs nothing (the failure is deterministic) unless asked to retry it
    again = run_sweep(plan, tmp_path / "out", workers=1)
    assert again.executed == [] and again.count("failed") == 1
    retried = run_sweep(plan, tmp_path / "out", workers=1, retry_failed=True)
    assert retried.executed == [1]


def test_zip_gives_one_variant_dimension_with_the_keys_as_coordinates(tmp_path):
    scenario = small_pack(tmp_path, stop_s=10.0)
    dims = [Dimension(COOLANT, (283.15, 293.15)), Dimension("components.pack.initial_soc", (0.9, 0.7))]
    plan = plan_sweep(scenario, dims, zipped=True)
    assert [dict(v.values) for v in plan.variants] == [{COOLANT: 283.15, "components.pack.initial_soc": 0.9},
                                                       {COOLANT: 293.15, "components.pack.initial_soc": 0.7}]
    kpi = _kpi(run_sweep(plan, tmp_path / "out", workers=1))
    assert kpi["final_soc"].dims == ("variant",)
    assert list(kpi["initial_soc"].values) == [0.9, 0.7] and kpi["initial_soc"].dims == ("variant",)
    assert kpi["final_soc"].values[0] > kpi["final_soc"].values[1]
    with pytest.raises(CosimError, match="same number of values"):
        plan_sweep(scenario, [Dimension(COOLANT, (283.15, 293.15)), Dimension("components.pack.initial_soc", (0.9,))],
                   zipped=True)


def test_the_sweep_table_of_a_scenario_file_and_the_command_line(tmp_path, capsys):
    scenario = small_pack(tmp_path, stop_s=10.0, extra=f"""
[sweep]
[[sweep.vary]]
key = '{COOLANT}'
values = [283.15, 303.15]
""")
    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "-o", str(out), "--workers", "1", "-q"]) == 0
    assert "2 complete, 0 failed of 2 runs (2 run now, 0 from before)" in capsys.readouterr().out
    with xr.open_dataset(out / "kpi.nc") as kpi:
        assert list(kpi["coolant_temperature_K"].values) == [283.15, 303.15]
    # the command line's --vary replaces the table; a bad value is one line naming its index
    assert main(["sweep", str(scenario), "-o", str(out), "-q", "--vary", "components.pack.initial_soc=0.5,1.5"]) == 1
    err = capsys.readouterr().err
    assert "grid index 1 [1]" in err and "initial_soc" in err
    # the file itself still runs as one scenario (cosim run ignores [sweep])
    assert main(["run", str(scenario), "-o", str(tmp_path / "one.nc"), "-q"]) == 0


def _counts(manifest: Path) -> dict:
    try:
        return json.loads(manifest.read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return {}


def test_killing_a_sweep_and_running_it_again_completes_only_the_missing_runs(tmp_path):
    scenario = small_pack(tmp_path, stop_s=240.0, layers=8)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "cosim.cli", "sweep", str(scenario), "-o", str(out), "--workers", "1",
            "--batch", "1", "--vary", f"{COOLANT}=283.15,288.15,293.15,298.15,303.15,308.15"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 300
    while _counts(out / "manifest.json").get("complete", 0) < 2 and time.monotonic() < deadline \
            and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "sweep stopped" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    done = [r["index"] for r in manifest["runs"] if r["status"] == "complete"]
    assert 2 <= len(done) < 6, manifest["counts"]
    assert all(r["status"] == "interrupted" for r in manifest["runs"] if r["index"] not in done)
    for r in manifest["runs"]:  # a run stopped half-way closed its file as incomplete
        if r["status"] == "interrupted" and (out / r["file"]).exists():
            with xr.open_dataset(out / r["file"]) as ds:
                assert ds.attrs["status"] == "incomplete"
    with xr.open_dataset(out / "kpi.nc") as kpi:  # written on the way out too
        assert int((kpi["status"].values == "complete").sum()) == len(done)
    plan = plan_sweep(scenario, parse_vary([("vary", f"{COOLANT}=283.15,288.15,293.15,298.15,303.15,308.15")]))
    again = run_sweep(plan, out, workers=1)
    assert sorted(again.executed) == sorted(set(range(6)) - set(done))
    assert sorted(again.skipped) == sorted(done)
    assert again.count("complete") == 6
    for run in json.loads((out / "manifest.json").read_text())["runs"]:
        with xr.open_dataset(out / run["file"]) as ds:
            assert ds.attrs["status"] == "complete"


def test_a_dask_scheduler_given_by_its_address_runs_the_sweep_in_its_worker_threads(tmp_path):
    from distributed import LocalCluster

    scenario = small_pack(tmp_path, stop_s=20.0)
    plan = plan_sweep(scenario, [Dimension(COOLANT, (283.15, 303.15), {INITIAL: (283.15, 303.15)})])
    pool = run_sweep(plan, tmp_path / "pool", workers=1)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        threads = run_sweep(plan, tmp_path / "dask", dask=cluster.scheduler_address, batch_size=1)
    assert sorted(threads.executed) == [0, 1]
    a, b = _kpi(pool), _kpi(threads)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_help_of_sweep_and_plot():
    for command, word in (("sweep", "--vary"), ("plot", "kpi.nc")):
        r = subprocess.run([sys.executable, "-m", "cosim.cli", command, "--help"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0 and "usage: cosim" in r.stdout and word in r.stdout


def test_cosim_validate_checks_every_variant_of_a_sweep_table(tmp_path, capsys):
    scenario = small_pack(tmp_path, extra="""
[sweep]
[[sweep.vary]]
key = "components.pack.initial_soc"
values = [0.5, 1.5]
""")
    assert main(["validate", str(scenario)]) == 1
    err = capsys.readouterr().err
    assert "sweep grid index 1 [1] (components.pack.initial_soc=1.5)" in err and "must be at most 1" in err
