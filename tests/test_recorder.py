"""Tests of cosim.recorder (streaming results to netCDF4) and cosim.result_summary."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from cosim.errors import CosimError, ResultExistsError
from cosim.recorder import RecordedVariable, Recorder
from cosim.result_summary import summarize


def _variables() -> list[RecordedVariable]:
    return [
        RecordedVariable("pack.voltage", "V", "pack terminal voltage", attrs={"component": "pack", "port": "voltage"}),
        RecordedVariable("pack.temperature", "K", "layer temperature", shape=(5,), dims=("layer",)),
        RecordedVariable("pack.heat", "W", "heat per cell", shape=(2, 5), dims=("stack", "layer")),
        RecordedVariable("bms.contactor", "1", "contactor closed", dtype="bool"),
        RecordedVariable("bms.mode", "1", "operating mode", dtype="int32"),
        RecordedVariable("vehicle.count", "1", "step count", dtype="int64"),
    ]


def _values(k: int) -> tuple:
    return (
        3.6 + 0.01 * k,
        np.arange(5.0) + 300.0 + k,
        np.arange(10.0).reshape(2, 5) * k,
        k % 3 == 0,
        k % 4,
        10**12 + k,
    )


def _open(path: Path) -> xr.Dataset:
    return xr.open_dataset(path, cache=False)


# -- round trip --------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "run.nc"  # parent folders are created
    times = [0.0, 0.5, 1.0, 2.5, 4.0]
    attrs = {"title": "round trip", "n_layers": 5, "dt": 0.5, "config": {"a": [1, 2]}, "tags": ["x", "y"]}
    rec = Recorder(path, _variables(), attrs, flush_every=2)
    assert rec.path == path
    for k, t in enumerate(times):
        rec.record(t, _values(k))
    assert rec.n_records == len(times)
    rec.close("complete", attrs={"solver_steps": 17})

    with _open(path) as ds:
        assert ds.sizes["time"] == len(times)
        assert ds.sizes["layer"] == 5 and ds.sizes["stack"] == 2
        np.testing.assert_array_equal(ds["time"].values, times)
        assert ds["time"].dtype == np.float64
        assert ds["time"].attrs["units"] == "s"
        assert ds["time"].attrs["standard_name"] == "time"
        assert ds["time"].attrs["axis"] == "T"

        expected = [_values(k) for k in range(len(times))]
        for i, var in enumerate(_variables()):
            da = ds[var.name]
            assert da.dims == ("time", *var.dims)
            assert da.attrs["units"] == var.units
            assert da.attrs["long_name"] == var.long_name
            np.testing.assert_array_equal(da.values, np.array([e[i] for e in expected]))
        assert ds["pack.voltage"].attrs["component"] == "pack"
        assert ds["pack.voltage"].attrs["port"] == "voltage"
        assert ds["bms.contactor"].dtype == bool
        assert ds["bms.mode"].dtype == np.int32
        assert ds["vehicle.count"].dtype == np.int64
        assert ds["vehicle.count"].values[-1] == 10**12 + 4

        assert ds.attrs["status"] == "complete"
        assert ds.attrs["status_reason"] == ""
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds.attrs["title"] == "round trip"
        assert ds.attrs["n_layers"] == 5
        assert ds.attrs["dt"] == 0.5
        assert json.loads(ds.attrs["config"]) == {"a": [1, 2]}
        assert json.loads(ds.attrs["tags"]) == ["x", "y"]
        assert ds.attrs["n_records"] == len(times)
        assert ds.attrs["solver_steps"] == 17
        assert ds.attrs["start_time_wall"].endswith("Z")
        assert ds.attrs["end_time_wall"] >= ds.attrs["start_time_wall"]


def test_netcdf_layout(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    with Recorder(path, _variables(), {}, flush_every=7, compression_level=4) as rec:
        rec.record(0.0, _values(0))
    with netCDF4.Dataset(path) as nc:
        assert nc.data_model == "NETCDF4"
        assert nc.dimensions["time"].isunlimited()
        volt = nc["pack.voltage"]
        assert volt.filters()["zlib"] and volt.filters()["shuffle"]
        assert volt.filters()["complevel"] == 4
        assert volt.chunking() == [7]
        assert nc["pack.heat"].chunking() == [7, 2, 5]
        assert np.isnan(volt.getncattr("_FillValue"))
        assert "_FillValue" not in nc["bms.mode"].ncattrs()


def test_no_compression(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    with Recorder(path, _variables(), {}, compression_level=0) as rec:
        rec.record(0.0, _values(0))
    with netCDF4.Dataset(path) as nc:
        assert not nc["pack.voltage"].filters()["zlib"]


def test_nan_values_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    var = RecordedVariable("x", "1", "x")
    with Recorder(path, [var], {}, flush_every=2) as rec:
        for k, v in enumerate([1.0, np.nan, 3.0]):
            rec.record(float(k), [v])
    with _open(path) as ds:
        np.testing.assert_array_equal(ds["x"].values, [1.0, np.nan, 3.0])


# -- flushing, crashes -------------------------------------------------------------------


def test_flush_visible_before_close(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    var = RecordedVariable("pack.voltage", "V", "pack voltage")
    rec = Recorder(path, [var], {}, flush_every=3)

    with netCDF4.Dataset(path) as nc:  # readable right after creation
        assert nc.getncattr("status") == "incomplete"
        assert len(nc.dimensions["time"]) == 0

    for k in range(7):
        rec.record(float(k), [10.0 + k])
    assert rec.n_records == 7

    with netCDF4.Dataset(path) as nc:
        n = len(nc.dimensions["time"])
        assert n >= 6
        assert nc.getncattr("status") == "incomplete"
        np.testing.assert_array_equal(nc["pack.voltage"][:n], 10.0 + np.arange(n))

    rec.close("complete")
    with _open(path) as ds:
        assert ds.sizes["time"] == 7
        np.testing.assert_array_equal(ds["pack.voltage"].values, 10.0 + np.arange(7))
        assert ds.attrs["status"] == "complete"


def test_killed_run_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "killed.nc"
    script = textwrap.dedent(
        f"""
        import os, numpy as np
        from cosim.recorder import Recorder, RecordedVariable
        variables = [
            RecordedVariable("pack.voltage", "V", "pack voltage"),
            RecordedVariable("pack.temperature", "K", "layer temperature", (5,), ("layer",)),
        ]
        rec = Recorder({str(path)!r}, variables, {{"title": "killed"}}, flush_every=10)
        for k in range(50):
            rec.record(0.1 * k, [float(k), np.full(5, 300.0 + k)])
        os._exit(1)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr

    with _open(path) as ds:
        assert ds.attrs["status"] == "incomplete"
        assert "stopped before" in ds.attrs["status_reason"]
        assert ds.attrs["title"] == "killed"
        n = ds.sizes["time"]
        assert n >= 50 - 10
        np.testing.assert_array_equal(ds["pack.voltage"].values, np.arange(n, dtype=float))
        np.testing.assert_allclose(ds["time"].values, 0.1 * np.arange(n), rtol=1e-12)  # rounded decimals (measured: equal)
        assert ds["pack.temperature"].shape == (n, 5)
        assert not np.isnan(ds["pack.temperature"].values).any()
    assert "status:     incomplete" in summarize(path)


def test_context_manager_exception_marks_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    var = RecordedVariable("pack.voltage", "V", "pack voltage")
    with pytest.raises(RuntimeError, match="solver diverged"):
        with Recorder(path, [var], {}, flush_every=100) as rec:
            rec.record(0.0, [1.0])
            rec.record(1.0, [2.0])
            raise RuntimeError("solver diverged")
    with _open(path) as ds:
        assert ds.attrs["status"] == "incomplete"
        assert ds.attrs["status_reason"] == "RuntimeError: solver diverged"
        np.testing.assert_array_equal(ds["pack.voltage"].values, [1.0, 2.0])  # buffer flushed
        assert ds.attrs["n_records"] == 2


def test_context_manager_normal_exit_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    with Recorder(path, [RecordedVariable("x", "1", "x")], {}) as rec:
        rec.record(0.0, [1.0])
    with _open(path) as ds:
        assert ds.attrs["status"] == "complete"


def test_close_is_idempotent_and_record_after_close_raises(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    rec = Recorder(path, [RecordedVariable("x", "1", "x")], {})
    rec.record(0.0, [1.0])
    rec.close("incomplete", reason="interrupted by user")
    rec.close("complete")  # no effect
    with pytest.raises(RuntimeError, match="closed"):
        rec.record(1.0, [2.0])
    with _open(path) as ds:
        assert ds.attrs["status"] == "incomplete"
        assert ds.attrs["status_reason"] == "interrupted by user"


def test_close_rejects_unknown_status(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "run.nc", [RecordedVariable("x", "1", "x")], {})
    with pytest.raises(ValueError, match="status"):
        rec.close("done")  # type: ignore[arg-type]
    rec.close("complete")


# -- existing files ----------------------------------------------------------------------


def test_existing_file_refused_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    path.write_bytes(b"previous result")
    mtime = path.stat().st_mtime_ns
    with pytest.raises(ResultExistsError) as info:
        Recorder(path, [RecordedVariable("x", "1", "x")], {})
    message = str(info.value)
    assert str(path) in message and "--overwrite" in message and "--output" in message
    assert isinstance(info.value, CosimError)
    assert path.read_bytes() == b"previous result"
    assert path.stat().st_mtime_ns == mtime

    with Recorder(path, [RecordedVariable("x", "1", "x")], {}, overwrite=True) as rec:
        rec.record(0.0, [1.0])
    with _open(path) as ds:
        assert ds.attrs["status"] == "complete"
        assert ds["x"].values.tolist() == [1.0]


# -- validation --------------------------------------------------------------------------


def test_dim_size_conflict_names_both_variables(tmp_path: Path) -> None:
    variables = [
        RecordedVariable("pack.temperature", "K", "T", shape=(5,), dims=("layer",)),
        RecordedVariable("cooler.heat", "W", "Q", shape=(4,), dims=("layer",)),
    ]
    with pytest.raises(ValueError, match="layer") as info:
        Recorder(tmp_path / "run.nc", variables, {})
    assert "pack.temperature" in str(info.value) and "cooler.heat" in str(info.value)
    assert not (tmp_path / "run.nc").exists()


def test_duplicate_and_reserved_names(tmp_path: Path) -> None:
    x = RecordedVariable("x", "1", "x")
    with pytest.raises(ValueError, match="'x'"):
        Recorder(tmp_path / "a.nc", [x, x], {})
    with pytest.raises(ValueError, match="time"):
        RecordedVariable("pack.T", "K", "T", shape=(3,), dims=("time",))
    with pytest.raises(ValueError, match="time"):
        RecordedVariable("time", "s", "t")
    with pytest.raises(ValueError, match="dimension name"):
        RecordedVariable("pack.T", "K", "T", shape=(3,))
    with pytest.raises(ValueError, match="dtype"):
        RecordedVariable("pack.T", "K", "T", dtype="float32")
    with pytest.raises(ValueError, match="layer"):
        Recorder(
            tmp_path / "b.nc",
            [RecordedVariable("layer", "1", "l"), RecordedVariable("T", "K", "T", (2,), ("layer",))],
            {},
        )


def test_non_increasing_time(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "run.nc", [RecordedVariable("pack.voltage", "V", "v")], {})
    rec.record(1.0, [1.0])
    with pytest.raises(ValueError, match="increase"):
        rec.record(1.0, [2.0])
    with pytest.raises(ValueError, match="increase"):
        rec.record(0.5, [2.0])
    with pytest.raises(ValueError, match="increase"):
        rec.record(float("nan"), [2.0])
    rec.record(2.0, [3.0])
    rec.close("complete")
    with _open(tmp_path / "run.nc") as ds:
        assert ds["time"].values.tolist() == [1.0, 2.0]
        assert ds["pack.voltage"].values.tolist() == [1.0, 3.0]


def test_wrong_shape_names_variable(tmp_path: Path) -> None:
    variables = [
        RecordedVariable("pack.voltage", "V", "v"),
        RecordedVariable("pack.temperature", "K", "T", shape=(5,), dims=("layer",)),
    ]
    rec = Recorder(tmp_path / "run.nc", variables, {})
    with pytest.raises(ValueError, match=r"pack\.temperature.*\(5,\).*\(4,\)"):
        rec.record(0.0, [1.0, np.zeros(4)])
    with pytest.raises(ValueError, match=r"pack\.temperature"):
        rec.record(0.0, [1.0, 300.0])
    with pytest.raises(ValueError, match="2 values"):
        rec.record(0.0, [1.0])
    rec.record(0.0, [1.0, np.zeros(5)])  # the shape check passed: later records go fast
    with pytest.raises(ValueError, match=r"pack\.temperature"):
        rec.record(1.0, [1.0, np.zeros(3)])
    assert rec.n_records == 1
    rec.close("complete")


def test_bad_attribute_type(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="attribute 'bad'"):
        Recorder(tmp_path / "run.nc", [RecordedVariable("x", "1", "x")], {"bad": object()})


# -- summary -----------------------------------------------------------------------------


def test_summarize(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    attrs = {"cosim_version": "9.9.9", "git_commit": "abc123+dirty"}
    with Recorder(path, _variables(), attrs, flush_every=3) as rec:
        for k in range(4):
            rec.record(10.0 * k, _values(k))
    text = summarize(path)
    assert "status:     complete" in text
    assert "0 s .. 30 s, 4 records" in text
    assert "time=4" in text and "layer=5" in text and "stack=2" in text
    for line_start, units, long_name in [
        ("pack.voltage", "V", "pack terminal voltage"),
        ("pack.heat", "W", "heat per cell"),
        ("bms.contactor", "1", "contactor closed"),
    ]:
        (line,) = [ln for ln in text.splitlines() if ln.strip().startswith(line_start + " ")]
        assert f" {units} " in line and line.endswith(long_name)
    assert "(time, stack, layer)" in text
    assert "9.9.9" in text and "abc123+dirty" in text
    assert "start_time_wall" in text and "end_time_wall" in text


def test_summarize_incomplete_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    rec = Recorder(path, [RecordedVariable("x", "1", "x")], {})
    rec.close("incomplete", reason="interrupted by user (SIGINT)")
    text = summarize(path)
    assert "status:     incomplete (interrupted by user (SIGINT))" in text
    assert "no records" in text
    with pytest.raises(CosimError, match="no result file"):
        summarize(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(CosimError, match="cannot read"):
        summarize(tmp_path / "junk.nc")


def test_named_dimensions_get_coordinates(tmp_path: Path) -> None:
    """Labels where a component gives them (phase names), indices 0..n-1 otherwise; labels
    that do not fit the dimension are refused."""
    variables = [RecordedVariable("v.e", "J", "e", shape=(3,), dims=("phase",)),
                 RecordedVariable("p.T", "K", "T", shape=(2, 4), dims=("string", "layer"))]
    path = tmp_path / "c.nc"
    with Recorder(path, variables, {}, coordinates={"phase": ["Low", "Medium", "High"]}) as rec:
        rec.record(0.0, [np.zeros(3), np.zeros((2, 4))])
    with _open(path) as ds:
        assert ds["phase"].values.tolist() == ["Low", "Medium", "High"]
        assert ds["string"].values.tolist() == [0, 1] and ds["layer"].values.tolist() == [0, 1, 2, 3]
        assert float(ds["v.e"].sel(phase="Medium")[0]) == 0.0
    with pytest.raises(ValueError, match="'phase' has 3 positions but 2 labels"):
        Recorder(tmp_path / "d.nc", variables, {}, coordinates={"phase": ["Low", "High"]})


class _FullDisk:
    """A netCDF variable on a full disk: every write fails as HDF5 reports it."""

    def __setitem__(self, key, value):
        raise RuntimeError("NetCDF: HDF error")


def test_a_full_disk_is_a_clear_error_and_the_records_written_stay_readable(tmp_path: Path) -> None:
    from cosim.errors import ResultFileError

    path = tmp_path / "full.nc"
    rec = Recorder(path, [RecordedVariable("x", "1", "x")], {}, flush_every=2)
    for t in range(4):
        rec.record(float(t), [float(t)])  # two flushes: 4 records on disk
    rec._nc_vars[0] = _FullDisk()
    rec.record(4.0, [4.0])
    with pytest.raises(ResultFileError, match=r"cannot write to the result file .*full\.nc after 4 records "
                                              r"\(NetCDF: HDF error; is the disk full\?\)"):
        rec.record(5.0, [5.0])
    rec.close("incomplete", "the run failed")  # the buffer cannot be written either: no second error
    assert rec.kept() == f"4 records kept in {path} (status incomplete)"
    with _open(path) as ds:
        assert ds.attrs["status"] == "incomplete" and ds["x"].values.tolist() == [0.0, 1.0, 2.0, 3.0]
        assert "could not be written" in ds.attrs["status_reason"]
