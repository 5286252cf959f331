"""The ``cosim`` command line, run as a user runs it (subprocesses)."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr
from scenario_files import probe_chain

TESTS = Path(__file__).parent
REPO = TESTS.parent
# the CLI with the test doubles registered (as a plugin package would register its types)
CLI = [sys.executable, "-c",
       "import sys; sys.path.insert(0, sys.argv.pop(1)); import doubles; doubles.register_doubles(); "
       "from cosim.cli import main; sys.exit(main(sys.argv[1:]))", str(TESTS)]


def cosim(*args, **kwargs):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, **kwargs)


def test_help_on_every_command():
    for args in ([], ["run"], ["validate"], ["schema"], ["info"]):
        r = cosim(*args, "--help")
        assert r.returncode == 0 and "usage: cosim" in r.stdout


def test_validate_reports_three_mistakes_with_paths_and_exits_non_zero(tmp_path):
    f = tmp_path / "three.toml"
    f.write_text('[simulation]\nstop_time_s = "long"\nstpe_s = 1.0\n\n'
                 '[components.src]\ntype = "profile"\ntime_s = [0.0, 1.0]\nvalues = { p_W = [1.0, 2.0] }\n')
    r = cosim("validate", f)
    assert r.returncode == 1
    err = r.stderr
    assert "3 problems" in err
    assert f"{f}:3: simulation.stpe_s: unknown key 'stpe_s'; did you mean 'step_s'?" in err
    assert f"{f}:2: simulation.stop_time_s: expected a number" in err
    assert "simulation.step_s: required key is missing" in err


def test_validate_ok_and_schema_is_json_with_component_types(tmp_path):
    r = cosim("validate", REPO / "scenarios" / "wltc3b_trace.toml")
    assert r.returncode == 0 and "ok" in r.stdout
    r = cosim("schema")
    schema = json.loads(r.stdout)
    assert "simulation" in schema["properties"]
    assert "test_probe" in r.stdout and "interpolation" in r.stdout


def test_run_then_info(tmp_path):
    out = tmp_path / "r.nc"
    r = cosim("run", probe_chain(tmp_path), "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    r = cosim("info", out)
    assert r.returncode == 0
    assert "complete" in r.stdout and "sink.y" in r.stdout and "W" in r.stdout


def test_errors_are_one_clear_line_and_tracebacks_only_with_debug(tmp_path):
    out = tmp_path / "r.nc"
    out.write_text("x")
    r = cosim("run", probe_chain(tmp_path), "--output", out)
    assert r.returncode == 1
    assert r.stderr.startswith("cosim: error: result file") and "Traceback" not in r.stderr
    r = cosim("--debug", "run", probe_chain(tmp_path), "--output", out)
    assert r.returncode == 1 and "Traceback" in r.stderr
    r = cosim("info", tmp_path / "missing.nc")
    assert r.returncode == 1 and "no such file" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_killed_run_leaves_a_readable_incomplete_file(tmp_path, sig):
    out = tmp_path / "r.nc"
    scenario = probe_chain(tmp_path, stop=100000.0, step=1.0, flush=5, sleep=0.002)
    proc = subprocess.Popen([*CLI, "run", str(scenario), "--output", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # a few hundred steps, several flushes
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    with xr.open_dataset(out) as ds:
        assert ds.attrs["status"] == "incomplete"
        assert "interrupted" in ds.attrs["status_reason"]
        n = ds.sizes["time"]
        assert 10 < n < 100000
        assert (ds["time"].diff("time") > 0).all()
        assert float(ds["time"][-1]) == n - 1  # every record up to the interruption is kept


def test_every_shipped_scenario_validates(tmp_path):
    """Every shipped scenario validates (components built, connections and outputs checked);
    those that need our FMUs (the vehicle's, the flagship's exported pack) say how to make
    them when they are missing, and validate once they are built (here: the shipped files
    pointed at this session's builds)."""
    from cosim.fmu.pack_fmu import export_pack_fmu
    from cosim.fmu.vehicle_fmu import build_vehicle_fmus

    files = sorted((REPO / "scenarios").glob("*.toml"))
    assert len(files) >= 4
    needs_fmu = [f for f in files if "../fmus/build/" in f.read_text()]
    assert needs_fmu
    r = cosim("validate", *files)
    assert r.stdout.count(": ok") >= len(files) - len(needs_fmu)
    hints = {"vehicle_fmi2.fmu": "cosim build-fmus", "flagship_pack.fmu": "cosim export-fmu"}
    for name, hint in hints.items():
        if not (REPO / "fmus" / "build" / name).is_file():
            assert r.returncode == 1 and r.stderr.count(hint) == 1, r.stderr
    build_vehicle_fmus(tmp_path / "fmus" / "build")
    export_pack_fmu(REPO / "scenarios" / "flagship_bev_wltc3b.toml", tmp_path / "fmus" / "build" / "flagship_pack.fmu",
                    platforms=("linux64",), bundle=False)
    copies = []
    for f in needs_fmu:
        copy = tmp_path / "scenarios" / f.name
        copy.parent.mkdir(exist_ok=True)
        text = f.read_text().replace('extends = "', f'extends = "{(REPO / "scenarios").as_posix()}/')
        copy.write_text(text)
        copies.append(copy)
    r = cosim("validate", *copies)
    assert r.returncode == 0 and r.stdout.count(": ok") == len(copies), r.stderr


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error():
    """`cosim schema | head -c 10`: the reader is gone before cosim writes."""
    proc = subprocess.Popen([*CLI, "schema"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == ""


def test_validate_catches_what_a_run_would_refuse_before_its_first_step(tmp_path):
    """A connection to a port the component does not have, a unit mismatch and an output
    pattern that matches nothing: each fails `validate` (not only the run), naming it."""
    base = '''
[simulation]
stop_time_s = 10
step_s = 1
[components.load]
type = "profile"
time_s = [0.0, 10.0]
values = {{ current_A = [1.0, 1.0] }}
[components.cell]
type = "cell"
parameter_set = "chen2020"
{extra}
[[connections]]
from = "load.current_A"
to = "{target}"
'''
    cases = {
        "port": (base.format(extra="", target="cell.curent_setpoint_A"), "curent_setpoint_A"),
        "unit": (base.format(extra='control = "power"', target="cell.power_setpoint_W"), "unit"),
        "output": (base.format(extra="", target="cell.current_setpoint_A")
                   + '[output]\nvariables = ["cell.nothing_*"]\n', "match no output"),
    }
    cases["parameter set"] = (base.replace('"chen2020"', '"Chen2020"').format(extra="", target="cell.current_setpoint_A"),
                              "components.cell: unknown parameter set 'Chen2020'; did you mean 'chen2020'?")
    for name, (text, needle) in cases.items():
        f = tmp_path / f"{name}.toml"
        f.write_text(text)
        r = cosim("validate", f)
        assert r.returncode == 1 and needle in r.stderr, (name, r.stderr)
