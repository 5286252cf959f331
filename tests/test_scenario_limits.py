"""Scenario limits stated and checked at load: finite times, bounded macro steps, records
and buffers, nesting depth, file names; each a problem with its key, never an internal
exception, and every file on a validate command line is checked."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cosim.errors import ScenarioError
from cosim.scenario import load_scenario
from cosim.limits import MAX_FLUSH_EVERY, MAX_MACRO_STEPS, MAX_RECORDS

ROOT = Path(__file__).resolve().parents[1]
BASE = (ROOT / "scenarios" / "hppc_chen2020.toml").as_posix()


def child(tmp_path: Path, text: str, name: str = "child.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{BASE}"\n{text}\n')
    return path


@pytest.mark.parametrize("text, key, message", [
    ("[simulation]\nstop_time_s = inf", "simulation.stop_time_s", "finite"),
    ("[simulation]\nstart_time_s = nan", "simulation.start_time_s", "finite"),
    ("[simulation]\nstep_s = 5e-324", "simulation.step_s", f"at most {MAX_MACRO_STEPS:.0e}"),
    ("[simulation]\nstep_s = 1e-6", "simulation.step_s", "gives 1.8e+09 macro steps"),
    ("[simulation]\nstart_time_s = 1e17\nstop_time_s = 100000000000000160.0\nstep_s = 1", "simulation.step_s",
     "too small to advance the time"),
    ("[simulation]\nstop_time_s = 1e8", "output.interval_s", f"at most {MAX_RECORDS:.0e} records"),
    ("[output]\nflush_every_records = 1000000000000", "output.flush_every_records", f"at most {MAX_FLUSH_EVERY}"),
])
def test_unbounded_runs_are_refused_at_load(tmp_path, text, key, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(child(tmp_path, text))
    problem = next(p for p in info.value.problems if p.key == key)
    assert message in problem.message


def test_a_long_run_within_the_limits_loads(tmp_path):
    """1e8 macro steps recorded every 100: at the limits, accepted."""
    loaded = load_scenario(child(tmp_path, "[simulation]\nstop_time_s = 1e8\nstep_s = 1\n[output]\ninterval_s = 100"))
    assert loaded.scenario.simulation.stop_time_s == 1e8


def test_deep_nesting_and_long_names_are_problems_not_crashes(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 600 + "]" * 600 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply|nested deeper than"):
        load_scenario(deep)
    long = tmp_path / "long.toml"
    long.write_text(f'extends = "{"x" * 300}.toml"\n')
    with pytest.raises(ScenarioError, match="cannot be read: File name too long") as info:
        load_scenario(long)
    assert info.value.problems[0].key == "extends" and info.value.problems[0].line == 1


def test_validate_checks_every_file_even_after_a_bad_one(tmp_path):
    bad = child(tmp_path, "[simulation]\nstop_time_s = inf", "bad.toml")
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 600 + "]" * 600 + "\n")
    good = child(tmp_path, "", "good.toml")
    run = subprocess.run([sys.executable, "-m", "cosim.cli", "validate", str(bad), str(deep), str(good)],
                         capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 1 and "Traceback" not in out
    assert "bad.toml" in out and "deep.toml" in out and "good.toml: ok" in out


@pytest.mark.parametrize("scenario, table, message", [
    ("hev_jp1015.toml", "[components.vehicle]\nrepeat = 9223372036854775807", "must be at most 10000"),
    ("bipolar_pack_power_pulses.toml", "[components.pack]\nn_layers = 100000", "at most 100000 are allowed"),
    ("bipolar_pack_power_pulses.toml", "[components.thermal]\nn_stacks = 100000", "at most 100000 are allowed"),
    ("hppc_chen2020.toml", "[components.cell]\nn_cells = 1000000", "must be at most 100000"),
    ("hppc_chen2020.toml", "[components.pulses]\nrepeat = 100000", "must be at most 10000"),
    ("hppc_chen2020.toml", "[simulation]\nmax_step_halvings = 64", "must be at most 30"),
])
def test_sizes_beyond_the_stated_bounds_are_refused(tmp_path, scenario, table, message):
    base = (ROOT / "scenarios" / scenario).as_posix()
    path = tmp_path / "big.toml"
    path.write_text(f'extends = "{base}"\n{table}\n')
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
