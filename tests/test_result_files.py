"""Result files under contention: two commands on one ``-o`` at once, and paths that
cannot be created. One run writes, the other is refused; nothing is half-written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from cosim.errors import ResultFileError
from cosim.run import run_scenario
from cosim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "hppc_chen2020.toml"


def test_two_runs_started_together_on_one_path_one_runs_one_is_refused(tmp_path):
    out = tmp_path / "same.nc"
    cmd = [sys.executable, "-m", "cosim.cli", "run", str(QUICK), "-o", str(out), "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refused = next(err for code, err in results if code == 1)
    assert "exists" in refused and "Traceback" not in refused
    with xr.open_dataset(out) as ds:
        assert ds.attrs["status"] == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["same.nc"]


def test_a_result_path_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(ResultFileError, match="cannot create the folder of the result file"):
        run_scenario(load_scenario(QUICK), output=tmp_path / "a_file" / "r.nc")
