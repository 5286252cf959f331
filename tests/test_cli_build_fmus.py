"""`cosim build-fmus` as a user runs it (the installed `cosim` command, in a subprocess):
the two vehicle FMUs land in the folder asked for and are FMUs fmpy reads; the shipped
scenario that uses the FMU validates and runs its first steps against them; a bad vehicle
is one line on stderr and exit status 1."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fmpy import read_model_description

from cosim.run import check_runnable, run_scenario
from cosim.scenario import load_scenario, validate_files

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
COSIM = Path(sys.executable).with_name("cosim")  # the console script the package installs


def cosim(*args, cwd=None):
    assert COSIM.is_file(), f"the cosim command is not installed beside {sys.executable}"
    return subprocess.run([str(COSIM), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the vehicle FMUs but was not found on PATH", pytrace=False)
    root = tmp_path_factory.mktemp("cli_fmus")
    out = root / "nested" / "build"  # a folder that does not exist yet
    r = cosim("build-fmus", "--out", out, cwd=root)  # (never the repository's fmus/build)
    assert r.returncode == 0, r.stderr
    return out, r


def test_build_fmus_writes_both_fmus_that_fmpy_reads(built):
    out, r = built
    printed = [Path(line) for line in r.stdout.split()]
    assert sorted(p.name for p in printed) == ["vehicle_fmi2.fmu", "vehicle_fmi3.fmu"]
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".fmu") == ["vehicle_fmi2.fmu", "vehicle_fmi3.fmu"]
    for path, version in ((out / "vehicle_fmi2.fmu", "2.0"), (out / "vehicle_fmi3.fmu", "3.0")):
        assert path in printed and path.stat().st_size > 0
        assert zipfile.is_zipfile(path)
        md = read_model_description(str(path))
        assert md.fmiVersion == version
        assert md.coSimulation is not None
        names = {v.name for v in md.modelVariables}
        assert {"battery_power_W", "speed_mps", "battery_power_limit_W"} <= names
        with zipfile.ZipFile(path) as z:  # a compiled binary for this platform
            assert any(n.startswith("binaries/") and n.endswith((".so", ".dylib", ".dll")) for n in z.namelist())


def test_the_shipped_fmu_scenario_runs_on_the_built_fmu(built, tmp_path):
    """flagship_bev_wltc3b_vehicle_fmu.toml as shipped, pointed at this build (a copy in
    tmp_path: the repository's fmus/build/ is not written), validated and run for 3 s."""
    out, _ = built
    shipped = SCENARIOS / "flagship_bev_wltc3b_vehicle_fmu.toml"
    text = shipped.read_text()
    assert '"../fmus/build/vehicle_fmi2.fmu"' in text
    copy = tmp_path / "scenarios" / shipped.name
    copy.parent.mkdir()
    copy.write_text(text.replace('extends = "flagship_bev_wltc3b.toml"',
                                 f'extends = "{(SCENARIOS / "flagship_bev_wltc3b.toml").as_posix()}"')
                    .replace('"../fmus/build/vehicle_fmi2.fmu"', f'"{(out / "vehicle_fmi2.fmu").as_posix()}"'))
    assert validate_files([copy]) == []
    loaded = load_scenario(copy)
    assert loaded.scenario.components["vehicle"].type == "fmu"
    sim = loaded.scenario.simulation
    short = dataclasses.replace(loaded, scenario=loaded.scenario.model_copy(
        update={"simulation": sim.model_copy(update={"stop_time_s": sim.start_time_s + 3 * sim.step_s})}))
    check_runnable(short)
    result = run_scenario(short, output=tmp_path / "fmu.nc")
    assert result.status == "complete"
    with xr.open_dataset(result.path) as ds:
        assert ds.attrs["status"] == "complete" and ds.sizes["time"] == 4
        for name, var in ds.data_vars.items():
            if var.dtype.kind in "fc":
                assert np.all(np.isfinite(var.values)), name


def test_build_fmus_with_an_unknown_vehicle_is_one_line_and_exit_1(tmp_path):
    r = cosim("build-fmus", "--out", tmp_path / "x", "--vehicle", "no_such_car", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("cosim: error:") and "no_such_car" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "vehicle_fmi2.fmu").exists()
