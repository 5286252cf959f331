"""The FMU builder (cosim.fmu.build) and the C test-fixture FMUs it compiles (tests/fmus):
valid model descriptions, archive layout, and the behaviour other tests rely on."""

import math
import shutil
import zipfile

import fmpy
import numpy as np
import pytest
from fmpy import extract, read_model_description
from fmpy.fmi1 import FMICallException
from fmpy.fmi2 import (FMU2Slave, fmi2CallbackAllocateMemoryTYPE, fmi2CallbackFreeMemoryTYPE,
                        fmi2CallbackFunctions, fmi2CallbackLoggerTYPE, fmi2LastSuccessfulTime)
from fmpy.validation import validate_fmu

from cosim.fmu import build
from cosim.fmu.build import FmuBuildError, build_fmu, fmi_header_dir, platform_folder
from fmu_fixtures import FMU_SOURCES, TEST_FMUS

COMMON = f"-I{FMU_SOURCES / 'common'}"


# -- the builder -------------------------------------------------------------------------
def test_platform_folder(monkeypatch):
    monkeypatch.setattr(build.platform, "system", lambda: "Linux")
    monkeypatch.setattr(build.platform, "machine", lambda: "x86_64")
    assert (platform_folder("2.0"), platform_folder("3.0")) == ("linux64", "x86_64-linux")
    monkeypatch.setattr(build.platform, "machine", lambda: "aarch64")
    assert (platform_folder("2.0"), platform_folder("3.0")) == ("linux64", "aarch64-linux")
    with pytest.raises(FmuBuildError, match="FMI version"):
        platform_folder("1.0")
    monkeypatch.setattr(build.platform, "system", lambda: "Darwin")
    with pytest.raises(FmuBuildError, match="only supported on Linux"):
        platform_folder("2.0")


def test_fmi_headers_are_fmpys():
    assert (fmi_header_dir() / "fmi2Functions.h").is_file() and (fmi_header_dir() / "fmi3Functions.h").is_file()


def test_gcc_error_is_reported_and_leaves_no_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FMU_SOURCES / "cs2_bench" / "modelDescription.xml", src)
    (src / "broken.c").write_text('#include "fmi2Functions.h"\nint broken( { return 0; }\n')
    out = tmp_path / "out" / "broken.fmu"
    out.parent.mkdir()
    with pytest.raises(FmuBuildError) as err:
        build_fmu(src, out)
    message = str(err.value)
    assert "cs2_bench" in message and "broken.c" in message and "error:" in message and "expected" in message
    assert not out.exists() and list(out.parent.iterdir()) == []
    # an existing archive is left alone by a failed build
    out.write_bytes(b"previous")
    with pytest.raises(FmuBuildError):
        build_fmu(src, out)
    assert out.read_bytes() == b"previous" and [p.name for p in out.parent.iterdir()] == ["broken.fmu"]


def test_missing_gcc_and_bad_descriptions_are_refused(tmp_path, monkeypatch):
    xml = (FMU_SOURCES / "cs2_bench" / "modelDescription.xml").read_text()
    two_ids = xml.replace("<CoSimulation", '<ModelExchange modelIdentifier="other"/>\n  <CoSimulation')
    with pytest.raises(FmuBuildError, match="different modelIdentifiers"):
        build_fmu(FMU_SOURCES / "cs2_bench", tmp_path / "x.fmu", model_description=two_ids)
    with pytest.raises(FmuBuildError, match="not well-formed"):
        build_fmu(FMU_SOURCES / "cs2_bench", tmp_path / "x.fmu", model_description="<fmiModelDescription")
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(FmuBuildError, match=r"'cs2_bench'.*gcc is not installed"):
        build_fmu(FMU_SOURCES / "cs2_bench", tmp_path / "x.fmu", cflags=[COMMON])
    assert not (tmp_path / "x.fmu").exists()


def test_description_as_text_explicit_sources_and_resources(tmp_path):
    data = tmp_path / "table.csv"
    data.write_text("t,v\n0,1\n")
    elsewhere = tmp_path / "src"  # no modelDescription.xml here, the C file comes from elsewhere
    elsewhere.mkdir()
    xml = (FMU_SOURCES / "cs2_bench" / "modelDescription.xml").read_text()
    out = build_fmu(elsewhere, tmp_path / "deep" / "bench.fmu", model_description=xml,
                    sources=[FMU_SOURCES / "cs2_bench" / "cs2_bench.c"], cflags=[COMMON],
                    resources={"data/table.csv": data})
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["binaries/linux64/cs2_bench.so", "modelDescription.xml",
                                         "resources/data/table.csv"]
        assert zf.read("resources/data/table.csv") == data.read_bytes()
    assert validate_fmu(str(out)) == []
    with pytest.raises(FmuBuildError, match="bad resource name"):
        build_fmu(elsewhere, tmp_path / "y.fmu", model_description=xml, resources={"../x": data},
                  sources=[FMU_SOURCES / "cs2_bench" / "cs2_bench.c"])


# -- the fixture FMUs ----------------------------------------------------------------------
@pytest.mark.parametrize("name", TEST_FMUS)
def test_fixture_validates_and_has_the_standard_layout(test_fmus, name):
    path = test_fmus[name]
    assert validate_fmu(str(path)) == []
    md = read_model_description(str(path))
    interface = md.coSimulation or md.modelExchange
    assert interface.modelIdentifier == name
    folder = platform_folder(md.fmiVersion)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert zf.getinfo("modelDescription.xml").compress_type == zipfile.ZIP_DEFLATED
    assert {"modelDescription.xml", f"binaries/{folder}/{name}.so", f"sources/{name}.c"} <= names
    assert [n for n in names if n.startswith("binaries/")] == [f"binaries/{folder}/{name}.so"]
    units = {u.name for u in md.unitDefinitions}
    # every real variable has a declared unit (integers, e.g. structural parameters, have none in FMI 3)
    assert all(v.unit in units for v in md.modelVariables if v.type in ("Real", "Float64", "Float32"))
    assert {c.name for c in md.logCategories} >= {"logEvents", "logStatusError"}


def test_me2_decay_follows_exp_and_switches_gain_at_the_time_event(test_fmus):
    r = fmpy.simulate_fmu(str(test_fmus["me2_decay"]), start_values={"lam": 1.0, "u": 0.0},
                          stop_time=3.0, output_interval=0.01)
    assert np.max(np.abs(r["x"] - np.exp(-r["time"]))) < 1e-4
    np.testing.assert_array_equal(r["y"], r["x"])
    r = fmpy.simulate_fmu(str(test_fmus["me2_decay"]), start_values={"t_switch": 0.55, "x0": 2.0},
                          stop_time=1.0, output_interval=0.1)
    before, after = r["time"] < 0.55, r["time"] > 0.55
    assert np.all(r["gain"][before] == 1.0) and np.all(r["gain"][after] == 2.0)
    assert np.any(np.isclose(r["time"], 0.55) & (r["gain"] == 2.0))  # the event itself is recorded
    np.testing.assert_allclose(r["x"], 2.0 * np.exp(-r["time"]), atol=1e-4)
    np.testing.assert_allclose(r["y"], r["gain"] * r["x"], rtol=1e-15)


@pytest.mark.parametrize("name", ["me2_ball", "me3_ball"])
def test_ball_bounces_at_the_free_fall_time_and_comes_to_rest(test_fmus, name):
    g, e, h0 = 9.81, 0.7, 1.0
    # the default experiment asks for rtol 1e-8: fmpy's CVode uses atol = rtol * nominal, and
    # the last bounces (below 1 mm/s, heights < 0.1 um) need a fine absolute tolerance
    r = fmpy.simulate_fmu(str(test_fmus[name]), stop_time=3.0, output_interval=0.01)
    first = r["time"][np.argmax(r["bounces"] >= 1)]
    assert abs(first - math.sqrt(2 * h0 / g)) < 1e-3
    assert r["h"].min() > -1e-6
    # the bounce speeds fall by e each time; below 1 mm/s the ball rests (after 24 bounces)
    expected = math.ceil(math.log(1e-3 / math.sqrt(2 * g * h0)) / math.log(e))
    assert (r["bounces"][-1], r["h"][-1], r["v"][-1]) == (expected, 0.0, 0.0)


def test_cs2_gain_integrates_a_constant_input(test_fmus):
    r = fmpy.simulate_fmu(str(test_fmus["cs2_gain"]), start_values={"u": 3.0, "k": 4.0},
                          stop_time=2.0, output_interval=0.1)
    np.testing.assert_allclose(r["x"], 3.0 * r["time"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(r["y"], 12.0)
    np.testing.assert_array_equal(r["time_s"], r["time"])


def test_cs3_array_ports(test_fmus):
    u = np.array([1.0, -2.0, 5.0])
    r = fmpy.simulate_fmu(str(test_fmus["cs3_array"]), start_values={"u": u, "k": 0.5},
                          stop_time=2.0, output_interval=0.5)
    np.testing.assert_allclose(r["x"][-1], 2.0 * u, rtol=1e-12)
    np.testing.assert_array_equal(r["y"][-1], 0.5 * u)
    assert r["y_sum"][-1] == pytest.approx(0.5 * u.sum())
    md = read_model_description(str(test_fmus["cs3_array"]))
    deps = {o.variable.name: [d.name for d in o.dependencies] for o in md.outputs}
    assert deps == {"y": ["u"], "x": [], "y_sum": ["u"], "time_s": ["time"]}


def test_cs2_bench_adds_time(test_fmus):
    r = fmpy.simulate_fmu(str(test_fmus["cs2_bench"]), start_values={"u3": 7.0}, stop_time=1.0,
                          output_interval=0.25)
    np.testing.assert_array_equal(r["y3"], 7.0 + r["time"])
    np.testing.assert_array_equal(r["y0"], r["time"])


# fmpy's simulate_fmu(logger=...) for FMI 2 installs a process-wide logger proxy that later
# FMI 2 instances share (a collected logger then crashes them): these tests pass their own
# callbacks instead
def _slave(test_fmus, name, tmp_path, messages, logging_on=False):
    path = str(test_fmus[name])
    md = read_model_description(path)
    fmu = FMU2Slave(guid=md.guid, unzipDirectory=extract(path, unzipdir=str(tmp_path / name)),
                    modelIdentifier=name)

    def log(env, instance, status, category, message):
        messages.append((status, category.decode(), message.decode()))

    callbacks = fmi2CallbackFunctions()
    callbacks.logger = fmi2CallbackLoggerTYPE(log)
    callbacks.allocateMemory = fmi2CallbackAllocateMemoryTYPE(fmpy.calloc)
    callbacks.freeMemory = fmi2CallbackFreeMemoryTYPE(fmpy.free)
    fmu.instantiate(callbacks=callbacks, loggingOn=logging_on)  # fmu.callbacks keeps them alive
    return fmu, {v.name: v.valueReference for v in md.modelVariables}


def _started(fmu, vr, **params):
    fmu.setupExperiment(startTime=0.0)
    fmu.setReal([vr[k] for k in params], list(params.values()))
    fmu.enterInitializationMode()
    fmu.exitInitializationMode()


@pytest.mark.parametrize(("param", "status", "text"), [
    ("error_at_s", 3, "deliberate error at t=0.75"),
    ("fatal_at_s", 4, "deliberate fatal at t=0.75"),
])
def test_cs2_gain_error_and_fatal_are_logged(test_fmus, tmp_path, param, status, text):
    messages = []
    fmu, vr = _slave(test_fmus, "cs2_gain", tmp_path, messages)
    _started(fmu, vr, **{param: 0.6})
    fmu.doStep(0.0, 0.5)
    with pytest.raises(FMICallException, match=f"status {status}"):
        fmu.doStep(0.5, 0.25)
    assert messages == [(status, "logStatusError", text)]
    if status == 3:  # after an error the state can still be inspected, then terminated
        assert fmu.getRealStatus(fmi2LastSuccessfulTime) == 0.5 and fmu.getReal([vr["x"]]) == [0.0]
        with pytest.raises(FMICallException):
            fmu.doStep(0.5, 0.1)
        fmu.terminate()
    fmu.freeInstance()


@pytest.mark.parametrize("logging_on", [False, True])
def test_nan_outputs_and_debug_logging(test_fmus, tmp_path, logging_on):
    messages = []
    fmu, vr = _slave(test_fmus, "cs2_gain", tmp_path, messages, logging_on)
    _started(fmu, vr, nan_at_s=0.5, u=1.0)
    fmu.doStep(0.0, 0.5)
    assert fmu.getReal([vr["x"], vr["y"]]) == [0.5, 2.0]
    fmu.doStep(0.5, 0.25)
    assert all(math.isnan(v) for v in fmu.getReal([vr["x"], vr["y"]]))
    assert [m[1] for m in messages] == (["logEvents"] if logging_on else [])
    fmu.setDebugLogging(False, ["logEvents"])
    fmu.terminate()
    fmu.freeInstance()


def test_cs2_gain_discard_state_and_feedthrough_low_level(test_fmus, tmp_path):
    messages = []
    fmu, vr = _slave(test_fmus, "cs2_gain", tmp_path, messages)
    _started(fmu, vr, max_step_s=0.5, discard_above=10.0)
    fmu.setReal([vr["u"]], [3.0])
    assert fmu.getReal([vr["y"]]) == [6.0]  # feedthrough: seen before any step
    with pytest.raises(FMICallException, match="status 2"):
        fmu.doStep(0.0, 1.0)
    assert messages == [(2, "logStatusDiscard", "step h=1.0 exceeds max_step_s=0.5")]
    assert fmu.getReal([vr["x"], vr["time_s"]]) == [0.0, 0.0]
    assert fmu.getRealStatus(fmi2LastSuccessfulTime) == 0.0
    fmu.doStep(0.0, 0.5)
    state = fmu.serializeFMUstate(fmu.getFMUstate())
    fmu.setReal([vr["u"]], [20.0])
    with pytest.raises(FMICallException, match="status 2"):  # |u| above discard_above
        fmu.doStep(0.5, 0.5)
    fmu.setReal([vr["u"]], [-1.0])
    fmu.doStep(0.5, 0.5)
    assert fmu.getReal([vr["x"], vr["time_s"]]) == [1.0, 1.0]
    fmu.setFMUstate(fmu.deSerializeFMUstate(state))
    assert fmu.getReal([vr["x"], vr["time_s"], vr["u"]]) == [1.5, 0.5, 3.0]
    with pytest.raises(FMICallException, match="status 3"):
        fmu.getReal([vr["time_s"] + 100])
    with pytest.raises(FMICallException, match="status 3"):
        fmu.setReal([vr["k"]], [1.0])  # a fixed parameter after initialization
    with pytest.raises(FMICallException, match="status 3"):
        fmu.doStep(0.25, 0.5)  # not where the FMU is
    assert "unknown value reference 109" in messages[-3][2] and "FMU is at t=0.5" in messages[-1][2]
    fmu.terminate()
    fmu.freeInstance()
