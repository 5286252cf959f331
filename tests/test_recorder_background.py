"""Recording off the stepping thread and outputs recorded once: cosim.background_writer,
``Recorder(background=True)`` (what ``cosim run`` uses) and fixed variables
(``RecordedVariable(fixed=True)``, ``Port(variability="fixed")``)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cosim.background_writer import BackgroundWriter
from cosim.components import Causality, Port
from cosim.errors import ResultFileError, RunInterrupted
from cosim.recorder import RecordedVariable, Recorder


def _variables() -> list[RecordedVariable]:
    return [
        RecordedVariable("pack.voltage", "V", "pack voltage"),
        RecordedVariable("pack.factor", "1", "capacity factor", shape=(2, 3), dims=("stack", "layer"), fixed=True),
        RecordedVariable("pack.temperature", "K", "layer temperature", shape=(2, 3), dims=("stack", "layer")),
        RecordedVariable("pack.count", "1", "a fixed count", dtype="int64", fixed=True),
    ]


def _values(k: int) -> list:
    # the fixed values change after the first record: what a fixed output must not do, so the
    # file shows which record they came from
    return [3.6 + 0.01 * k, np.arange(6.0).reshape(2, 3) + 100.0 * k, np.full((2, 3), 300.0 + k), 7 + k]


@pytest.mark.parametrize("background", [False, True])
def test_a_fixed_variable_is_written_once_without_time_with_its_units(tmp_path: Path, background: bool) -> None:
    path = tmp_path / "run.nc"
    with Recorder(path, _variables(), {}, flush_every=4, background=background) as rec:
        for k in range(11):
            rec.record(float(k), _values(k))
    with xr.open_dataset(path) as ds:
        assert ds.attrs["status"] == "complete" and ds.sizes["time"] == 11
        factor = ds["pack.factor"]
        assert factor.dims == ("stack", "layer")
        assert factor.attrs["units"] == "1" and factor.attrs["long_name"] == "capacity factor"
        assert factor.attrs["variability"] == "fixed"
        np.testing.assert_array_equal(factor.values, np.arange(6.0).reshape(2, 3))  # the first record's
        assert ds["pack.count"].dims == () and int(ds["pack.count"]) == 7
        assert ds["pack.temperature"].dims == ("time", "stack", "layer")
        np.testing.assert_array_equal(ds["pack.voltage"].values, 3.6 + 0.01 * np.arange(11))
        np.testing.assert_array_equal(ds["pack.temperature"].values[:, 1, 2], 300.0 + np.arange(11))


def test_background_and_direct_writing_give_the_same_file_contents(tmp_path: Path) -> None:
    contents = []
    for background in (False, True):
        path = tmp_path / f"run{background}.nc"
        with Recorder(path, _variables(), {}, flush_every=3, background=background) as rec:
            for k in range(20):
                rec.record(0.5 * k, _values(k))
            assert rec.n_records == 20
        with xr.open_dataset(path) as ds:
            contents.append({name: ds[name].values.copy() for name in ds.variables})
    assert contents[0].keys() == contents[1].keys()
    for name in contents[0]:
        np.testing.assert_array_equal(contents[0][name], contents[1][name])


def test_flush_waits_for_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "run.nc"
    rec = Recorder(path, [RecordedVariable("x", "1", "x")], {}, flush_every=2, background=True)
    for k in range(7):
        rec.record(float(k), [float(k)])
    rec.flush()  # everything recorded is on disk now, the file still open
    with xr.open_dataset(path) as ds:
        assert ds["x"].values.tolist() == [float(k) for k in range(7)]
        assert ds.attrs["status"] == "incomplete"
    rec.close("complete")


class _FullDisk:
    def __setitem__(self, key, value):
        raise RuntimeError("NetCDF: HDF error")


def test_a_write_error_in_the_writer_thread_is_raised_and_the_file_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "full.nc"
    rec = Recorder(path, [RecordedVariable("x", "1", "x")], {}, flush_every=2, background=True)
    for t in range(4):
        rec.record(float(t), [float(t)])
    rec.flush()  # 4 records on disk
    rec._nc_vars[0] = _FullDisk()
    with pytest.raises(ResultFileError, match=r"after 4 records \(NetCDF: HDF error; is the disk full\?\)"):
        for t in range(4, 20):  # the failed block is reported by a later record
            rec.record(float(t), [float(t)])
    rec.close("incomplete", "the run failed")
    assert rec.kept() == f"4 records kept in {path} (status incomplete)"
    with xr.open_dataset(path) as ds:
        assert ds["x"].values.tolist() == [0.0, 1.0, 2.0, 3.0]
        assert "could not be written" in ds.attrs["status_reason"]


def test_the_writer_runs_jobs_in_order_and_skips_those_after_a_failure() -> None:
    done: list[int] = []
    writer = BackgroundWriter(depth=1)

    def job(k):
        def run():
            if k == 3:
                raise OSError("disk gone")
            done.append(k)
        return run

    for k in range(3):
        writer.submit(job(k))
    writer.drain()
    assert done == [0, 1, 2]
    writer.submit(job(3))
    with pytest.raises(OSError, match="disk gone"):
        writer.drain()
    writer.submit(job(4))  # skipped: it would write after a gap
    writer.drain()  # the error is raised once
    writer.close()
    assert done == [0, 1, 2] and isinstance(writer.error, OSError)


def test_a_ctrl_c_while_draining_still_finishes_every_job() -> None:
    release, done = threading.Event(), []
    writer = BackgroundWriter(depth=2)
    writer.submit(lambda: (release.wait(5.0), done.append(1)))
    writer.submit(lambda: done.append(2))
    timer = threading.Timer(0.05, lambda: (signal.pthread_kill(threading.main_thread().ident, signal.SIGINT),
                                           threading.Timer(0.05, release.set).start()))
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            writer.drain()
    finally:
        timer.join()
        signal.signal(signal.SIGINT, saved)
    assert done == [1, 2]
    writer.close()


def test_only_outputs_can_be_fixed() -> None:
    assert Port("f", Causality.OUTPUT, variability="fixed").fixed
    assert not Port("g", Causality.OUTPUT).fixed
    with pytest.raises(ValueError, match="only outputs can be fixed"):
        Port("u", Causality.INPUT, variability="fixed")
    with pytest.raises(ValueError, match="variability"):
        Port("v", Causality.OUTPUT, variability="discrete")


SCENARIO = """
[simulation]
stop_time_s = 500
step_s = 1

[output]
flush_every_records = 7

[components.src]
type = "profile"
time_s = [0.0, 500.0]
values = { x_1 = [0.0, 500.0] }
"""


def test_an_interrupted_run_holds_every_step_up_to_the_interrupt(tmp_path: Path, monkeypatch) -> None:
    """SIGINT in the step ending at t = 24 (not a multiple of the block of 7 records): the run
    stops after that step, and its file holds every record 0 .. 24, the last partial block
    and the blocks still queued for the writer thread included."""
    import cosim.run
    from cosim.components.profile import Profile
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    original = Profile._do_step

    def do_step(self, t, h):
        original(self, t, h)
        if t + h == 24.0:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Profile, "_do_step", do_step)
    monkeypatch.setattr(cosim.run, "BACKGROUND_MIN_BLOCK_BYTES", 0)  # the writer thread, as a big pack has it
    monkeypatch.setenv("COSIM_THREADS", "1")  # with a core to spare for it
    made = []
    monkeypatch.setattr(cosim.run, "Recorder", lambda *a, **k: made.append(k["background"]) or Recorder(*a, **k))
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal
    try:
        with pytest.raises(RunInterrupted):
            run_scenario(load_scenario(path), output=tmp_path / "r.nc")
    finally:
        signal.signal(signal.SIGINT, saved)
    with xr.open_dataset(tmp_path / "r.nc") as ds:
        assert ds.attrs["status"] == "incomplete" and "interrupted by the user" in ds.attrs["status_reason"]
        assert ds["time"].values.tolist() == [float(k) for k in range(25)]
        assert ds["src.x_1"].values.tolist() == [float(k) for k in range(25)]
        assert int(ds.attrs["n_records"]) == 25
    assert made == [True]


def test_a_run_writes_big_blocks_in_the_writer_thread_with_a_core_to_spare_and_small_ones_itself(tmp_path: Path, monkeypatch) -> None:
    import cosim.run
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    made = []
    monkeypatch.setattr(cosim.run, "Recorder", lambda *a, **k: made.append(k["background"]) or Recorder(*a, **k))
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.replace("stop_time_s = 500", "stop_time_s = 20"))
    import cosim.pack.c_kernel

    monkeypatch.setattr(cosim.pack.c_kernel, "available_cores", lambda: 2)  # a 2-core machine
    monkeypatch.setenv("COSIM_THREADS", "1")  # the cell kernels on one thread: a core to spare
    run_scenario(load_scenario(path), output=tmp_path / "small.nc")  # 7 records of one float: itself
    monkeypatch.setattr(cosim.run, "BACKGROUND_MIN_BLOCK_BYTES", 7 * 8)
    run_scenario(load_scenario(path), output=tmp_path / "big.nc")
    monkeypatch.setenv("COSIM_THREADS", "2")  # the kernels on both cores: none to spare
    run_scenario(load_scenario(path), output=tmp_path / "busy.nc")
    assert made == [False, True, False]
    for name in ("small.nc", "big.nc", "busy.nc"):
        with xr.open_dataset(tmp_path / name) as ds:
            assert ds.attrs["status"] == "complete" and ds["src.x_1"].values.tolist() == [float(k) for k in range(21)]
