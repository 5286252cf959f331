"""Every shipped scenario, in every folder under scenarios/, validates and runs.

Default suite: each one is validated (the file, then everything a run checks before its
first step) and run for its first few macro steps (the stop time overridden in memory, no
file written in the repository), and must end ``complete`` with finite outputs.

``-m slow``: every scenario the README names runs to its stop time (``python -m pytest -m
slow``; ``benchmarks/scenarios.py`` times the same runs).

The scenarios that need our FMUs (``fmus/build/``) are run against FMUs built in the
session: the vehicle FMU's in ``test_cli_build_fmus.py`` (``cosim build-fmus``), the exported
pack's in ``test_pack_fmu_export.py`` (``cosim export-fmu``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cosim.run import check_runnable, run_scenario
from cosim.scenario import load_scenario, validate_files

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
ALL = sorted(SCENARIOS.rglob("*.toml"))
#: the scenarios that need our FMUs (see the module docstring)
NEEDS_FMU = [p for p in ALL if "../fmus/build/" in p.read_text()]
NATIVE = [p for p in ALL if p not in NEEDS_FMU]
#: macro steps of the short runs
SHORT_STEPS = 3


def _id(path: Path) -> str:
    return path.relative_to(SCENARIOS).as_posix()


def readme_scenarios() -> list[Path]:
    """Every scenario file the README names (``thickness_study/anode_{10,30,100}um.toml``
    expanded), as paths under scenarios/."""
    text = (REPO / "README.md").read_text()
    names = set()
    for m in re.finditer(r"(?:scenarios/)?([\w/{},]+\.toml)", text):
        name = m.group(1)
        brace = re.search(r"\{([^}]*)\}", name)
        if brace:
            names.update(name[:brace.start()] + part + name[brace.end():] for part in brace.group(1).split(","))
        else:
            names.add(name)
    names.discard("base.toml")  # the `extends = "base.toml"` of the scenario-file example
    names.discard("x.toml")  # `cosim info X.fmu --scenario -o x.toml`
    names.discard("pyproject.toml")
    names.discard("my_cells.toml")  # the parameter file of the README's `extends` example
    return sorted(SCENARIOS / n for n in names)


def shortened(path: Path, steps: int = SHORT_STEPS):
    """The scenario at ``path`` with its stop time moved to ``steps`` macro steps after its
    start (in memory: the loaded, validated scenario with one field replaced)."""
    loaded = load_scenario(path)
    sim = loaded.scenario.simulation
    short = sim.model_copy(update={"stop_time_s": sim.start_time_s + steps * sim.step_s})
    return dataclasses.replace(loaded, scenario=loaded.scenario.model_copy(update={"simulation": short})), sim


def test_the_scenario_folders_are_all_covered():
    """The glob enters the sub-folders (the thickness study) and the FMU scenarios are the
    only ones left to test_cli_build_fmus.py and test_pack_fmu_export.py."""
    names = {_id(p) for p in ALL}
    assert {"thickness_study/anode_10um.toml", "thickness_study/anode_30um.toml",
            "thickness_study/anode_100um.toml", "cold_start_jp1015.toml", "hev_jp1015.toml"} <= names
    assert [_id(p) for p in NEEDS_FMU] == ["flagship_bev_wltc3b_pack_fmu.toml", "flagship_bev_wltc3b_vehicle_fmu.toml"]
    missing = [p for p in readme_scenarios() if not p.is_file()]
    assert not missing, f"the README names scenarios that are not shipped: {missing}"
    assert len(readme_scenarios()) >= 15


@pytest.mark.parametrize("path", NATIVE, ids=_id)
def test_shipped_scenario_validates_and_runs_its_first_steps(path, tmp_path):
    assert validate_files([path]) == []
    loaded, sim = shortened(path)
    check_runnable(loaded)
    stop = loaded.scenario.simulation.stop_time_s
    assert stop < sim.stop_time_s
    out = run_scenario(loaded, output=tmp_path / "short.nc")
    assert out.status == "complete"
    with xr.open_dataset(out.path) as ds:
        assert ds.attrs["status"] == "complete", ds.attrs.get("status_reason")
        assert float(ds["time"][0]) == sim.start_time_s and float(ds["time"][-1]) == pytest.approx(stop, abs=1e-9)
        assert len(ds.data_vars) > 0
        for name, var in ds.data_vars.items():
            values = np.asarray(var.values)
            if values.dtype.kind in "fc":
                assert np.all(np.isfinite(values)), f"{name} is not finite"


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in readme_scenarios() if p not in NEEDS_FMU], ids=_id)
def test_readme_scenario_runs_to_its_end(path, tmp_path):
    """The whole run, as `cosim run` does it (a range test may end early: still complete).
    The flagship with the vehicle FMU runs to its end in test_fmu_flagship.py (default suite)."""
    loaded = load_scenario(path)
    t0 = time.perf_counter()
    out = run_scenario(loaded, output=tmp_path / "full.nc")
    wall = time.perf_counter() - t0
    assert out.status == "complete"
    with xr.open_dataset(out.path) as ds:
        assert ds.attrs["status"] == "complete"
        reason = ds.attrs.get("status_reason", "")
        t_end = float(ds["time"][-1])
        if "ended early" not in reason:
            assert t_end == pytest.approx(loaded.scenario.simulation.stop_time_s)
        for name, var in ds.data_vars.items():
            values = np.asarray(var.values)
            if values.dtype.kind in "fc":
                assert np.all(np.isfinite(values)), f"{name} is not finite"
    print(f"{_id(path)}: {t_end:g} s simulated in {wall:.1f} s wall ({t_end / wall:.0f}x real time)")
