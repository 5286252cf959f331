"""Ctrl-C and SIGTERM during a run with the compiled cell kernels busy (a 192-cell pack,
threaded kernels, with its thermal network): the run always stops between two macro
steps, the file is closed as incomplete with the reason, and the command exits 130.

In-process (20 tries of each signal, at random moments, sent by another thread to this
process exactly as a terminal or ``kill`` would): the handler, the orchestrator's check
and the close; then the command line itself (exit code 130 and the message)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import xarray as xr

from cosim.errors import RunInterrupted
from cosim.run import run_scenario
from cosim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "scenarios" / "bipolar_pack_power_pulses.toml"


def _check_incomplete(path: Path, signal_name: str) -> None:
    with xr.open_dataset(path) as ds:
        assert ds.attrs["status"] == "incomplete"
        assert f"interrupted by the user (signal {signal_name})" in ds.attrs["status_reason"]
        t = ds["time"].values
        assert len(t) >= 1 and (t[1:] > t[:-1]).all()
        for name in ds.data_vars:  # every record complete: no fill values in what was kept
            assert not ds[name].isnull().any(), name


@pytest.fixture
def as_on_a_terminal():
    """SIGINT and SIGTERM as a foreground process has them (pytest may run in the
    background, where SIGINT is ignored, and cosim leaves an ignored signal ignored)."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _foreground() -> None:  # in the child, before exec: signals as on a terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_a_random_moment_stops_between_steps_and_keeps_a_readable_file(tmp_path, sig, as_on_a_terminal):
    loaded = load_scenario(PACK)
    rng = random.Random(sig)
    run_scenario(loaded, output=tmp_path / "warm.nc")  # kernels compiled and loaded before timing
    for k in range(20):
        out = tmp_path / f"run{k}.nc"
        delay = rng.uniform(0.0, 0.4)  # the whole run takes about 1 s here: initialization included
        timer = threading.Timer(delay, os.kill, (os.getpid(), sig))
        timer.start()
        try:
            run_scenario(loaded, output=out)
        except RunInterrupted as exc:
            assert f"signal {sig.name}" in str(exc) and "records kept in" in str(exc)
        else:  # the run ended before the signal: wait for it so that it cannot hit the next try
            timer.join()
            pytest.fail(f"try {k}: the run finished before the signal ({delay:.2f} s)")
        finally:
            timer.join()
        _check_incomplete(out, sig.name)
    # the handlers are restored after each run
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_exits_130_with_an_incomplete_file(tmp_path, sig):
    out = tmp_path / "run.nc"
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "run", str(PACK), "-o", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_foreground)
    deadline = time.monotonic() + 120
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the steps
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    _check_incomplete(out, sig.name)


def test_an_ignored_sigint_stays_ignored(tmp_path):
    """Started with SIGINT ignored (nohup, a background job), a run leaves it so."""
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        seen = []
        timer = threading.Timer(0.05, lambda: seen.append(signal.getsignal(signal.SIGINT)))
        timer.start()
        run_scenario(load_scenario(PACK), output=tmp_path / "r.nc")
        timer.join()
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, saved)
