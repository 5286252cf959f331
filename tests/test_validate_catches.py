"""`cosim validate` refuses what a run would refuse before its first step, naming the file,
line and dotted key: data files, parameter sets and overrides, FMUs, port shapes and
algebraic loops (ports, units and output patterns: tests/test_cli.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from cosim.errors import CosimError
from cosim.run import check_runnable
from cosim.scenario import load_scenario

BASE = '''
[simulation]
stop_time_s = 10
step_s = 1
[components.load]
type = "profile"
{load}
[components.cell]
type = "cell"
parameter_set = "chen2020"
{cell}
[[connections]]
from = "load.current_A"
to = "cell.current_setpoint_A"
{extra}
'''
INLINE = 'time_s = [0.0, 10.0]\nvalues = { current_A = [1.0, 1.0] }'

CASES = {
    "missing csv": (dict(load='file = "nope.csv"'), "components.load.file: profile file not found", 7),
    "bad csv": (dict(load='file = "bad.csv"'), "components.load.file: ", 7),
    "unknown override key": (dict(cell='overrides = { "negative.nope_m" = 1.0 }'),
                             "components.cell.overrides.negative.nope_m: unknown key 'nope_m'", 12),
    "nan override": (dict(cell='overrides = { "negative.thickness_m" = nan }'), "got nan", 12),
    "missing parameter file": (dict(cell='parameter_file = "nope.toml"'),
                               "components.cell.parameter_file: ", 11),
    "missing fmu": (dict(extra='[components.f]\nfmu = "nope.fmu"'), "nope.fmu: no such file", None),
    "column without unit": (dict(load='time_s = [0.0, 10.0]\nvalues = { nope = [1.0, 1.0] }'),
                            "components.load.values.nope: column 'nope' has no unit", 8),
    "loop": (dict(cell='control = "power"', extra=""), None, None),
}


@pytest.mark.parametrize("case", CASES)
def test_validate_names_the_problem(tmp_path: Path, case: str):
    parts, needle, line = CASES[case]
    fields = {"load": INLINE, "cell": "", "extra": "", **parts}
    (tmp_path / "bad.csv").write_text("time_s,current_A\n0,1\nzero,1\n")
    text = BASE.format(**fields)
    if case == "missing parameter file":
        text = text.replace('parameter_set = "chen2020"\n', "")
    if case == "loop":  # the cell's voltage feeds a profile-free power source: cell -> cell, no delay
        text = text.replace('to = "cell.current_setpoint_A"', 'to = "cell.power_setpoint_W"').replace(
            'from = "load.current_A"', 'from = "cell.power_W"')
        needle = "loop"
    path = tmp_path / f"{case.replace(' ', '_')}.toml"
    path.write_text(text)
    with pytest.raises(CosimError) as info:
        check_runnable(load_scenario(path))
    message = str(info.value)
    assert needle in message, message
    if line is not None:
        assert f"{path}:{line}:" in message, message


def test_a_shape_mismatch_fails_validation(tmp_path: Path):
    flagship = Path(__file__).resolve().parents[1] / "scenarios" / "flagship_bev_wltc3b.toml"
    path = tmp_path / "shape.toml"
    path.write_text(f'extends = "{flagship.as_posix()}"\n[[connections]]\n'
                    'from = "thermal.layer_temperature_K"\nto = "thermal.coolant_temperature_K"\n')
    with pytest.raises(CosimError, match=r"shape \(2, 4, 48\)|shape"):
        check_runnable(load_scenario(path))
