"""FMU ports of every FMI type (cs2_types, cs3_types) and FMUs that end the simulation
themselves (cs2_stop: FMI 2 Discard + fmi2Terminated; cs3_types: FMI 3 terminateSimulation,
earlyReturn)."""

import subprocess
import sys

import netCDF4
import pytest

from cosim.components.base import EndOfRun, StepRejected
from cosim.coupling import Edge
from cosim.errors import CosimError, CouplingError
from cosim.fmu.component import FmuComponent, FmuConfig
from cosim.orchestrator import Orchestrator

CLI = [sys.executable, "-m", "cosim.cli"]


def make(fmus, name, comp="f", **cfg):
    return FmuComponent(comp, FmuConfig(fmu=fmus[name], **cfg))


def started(fmus, name, comp="f", **cfg):
    c = make(fmus, name, comp, **cfg)
    c.set_parameters({})
    c.initialize(0.0)
    return c


# -- ports of every type -----------------------------------------------------------------
def test_fmi2_integer_boolean_enumeration_string_ports_have_their_types(test_fmus):
    c = make(test_fmus, "cs2_types")
    dtypes = {p.name: p.dtype for p in c.ports.values()}
    assert dtypes == {"n_in": "int64", "flag_in": "bool", "mode_in": "int64", "label_in": "str", "u": "float64",
                      "n_out": "int64", "flag_out": "bool", "mode_out": "int64", "label_out": "str",
                      "y": "float64", "steps": "int64"}
    assert c.u == {"n_in": 5, "flag_in": False, "mode_in": 2, "label_in": "pack", "u": 1.5}
    c.terminate()


def test_fmi2_typed_inputs_left_unconnected_initialize_and_step_exactly(test_fmus):
    c = started(test_fmus, "cs2_types", parameters={"k_int": 4})
    # n_out = k_int*n_in + steps, flag_out = not flag_in, mode_out = mode_in, label_out = label:n
    assert c.y == {"n_out": 20, "steps": 0, "flag_out": True, "mode_out": 2, "label_out": "pack:5", "y": 7.5}
    assert type(c.y["n_out"]) is int and type(c.y["flag_out"]) is bool and type(c.y["label_out"]) is str
    c.u.update(n_in=-7, flag_in=True, mode_in=3, label_in="zelle-ä", u=0.25)
    c.do_step(0.0, 1.0)
    c.do_step(1.0, 1.0)
    assert c.y == {"n_out": -26, "steps": 2, "flag_out": False, "mode_out": 3, "label_out": "zelle-ä:-7",
                   "y": -1.75}
    c.terminate()


def test_fmi2_integer_input_refuses_a_float_and_an_out_of_range_int(test_fmus):
    c = started(test_fmus, "cs2_types")
    c.u["n_in"] = 2.0
    with pytest.raises(CosimError, match=r"input 'n_in' \(Integer\) needs an integer, got float 2.0"):
        c.do_step(0.0, 1.0)
    c.u["n_in"] = 2**31
    with pytest.raises(CosimError, match=r"input 'n_in' = 2147483648 is outside the range of its FMI type "
                                         r"Integer \[-2147483648, 2147483647\]"):
        c.do_step(0.0, 1.0)
    c.terminate()


def test_fmi3_int64_uint64_int8_string_enum_float32_are_exact(test_fmus):
    c = started(test_fmus, "cs3_types")
    big, ubig = 2**62 + 12345, 2**63 + 987654321  # neither is representable in float64
    assert float(big) != big and float(ubig) != ubig
    c.u.update(i64_in=big, u64_in=ubig, i8_in=-100, b_in=True, s_in="SoC", e_in=-1, u=0.1)
    c.do_step(0.0, 2.0)
    y = c.y
    assert y["i64_out"] == big + 1 and type(y["i64_out"]) is int
    assert y["u64_out"] == ubig + 1 and type(y["u64_out"]) is int
    assert (y["i8_out"], y["u16_out"], y["b_out"], y["s_out"], y["e_out"]) == (100, 1, False, "SoC!", -1)
    assert y["x"] == 0.1 * 2.0
    assert y["f32_out"] == float(__import__("numpy").float32(0.1 * 2.0))  # rounded to Float32 by the FMU
    c.u["u64_in"] = 2**64 - 2
    c.do_step(2.0, 1.0)
    assert c.y["u64_out"] == 2**64 - 1
    c.u["i64_in"] = -2**63
    c.u["i8_in"] = 128
    with pytest.raises(CosimError, match=r"input 'i8_in' = 128 is outside the range of its FMI type Int8"):
        c.do_step(3.0, 1.0)
    c.terminate()


def test_integer_and_string_connections_carry_exact_values(test_fmus):
    a, b = make(test_fmus, "cs3_types", "a"), make(test_fmus, "cs3_types", "b")
    a.u.update(i64_in=2**62, u64_in=2**63 + 1, s_in="cell")
    orch = Orchestrator([a, b], [Edge("a", "i64_out", "b", "i64_in"),
                                      Edge("a", "u64_out", "b", "u64_in"), Edge("a", "s_out", "b", "s_in"),
                                      Edge("a", "b_out", "b", "b_in"), Edge("a", "e_out", "b", "e_in")],
                        start_s=0.0, stop_s=2.0, step_s=1.0)
    orch.run()
    assert b.y["i64_out"] == 2**62 + 2 and b.y["u64_out"] == 2**63 + 3
    assert (b.y["s_out"], b.y["b_out"], b.y["e_out"]) == ("cell!!", False, 1)


@pytest.mark.parametrize("source, target, message", [
    (("a", "x"), ("b", "i64_in"), r"a\.x carries float values \(float64\), b\.i64_in takes integer values"),
    (("a", "i64_out"), ("b", "u"), r"a\.i64_out carries integer values \(int64\), b\.u takes float values"),
    (("a", "b_out"), ("b", "i64_in"), r"a\.b_out carries bool values \(bool\), b\.i64_in takes integer values"),
    (("a", "s_out"), ("b", "i64_in"), r"a\.s_out carries str values \(str\), b\.i64_in takes integer values"),
])
def test_connections_between_types_are_refused_naming_both_ports(test_fmus, source, target, message):
    units = {"i64_in": "J", "u": "1"}  # the units agree, only the types differ
    a, b = make(test_fmus, "cs3_types", "a"), make(test_fmus, "cs3_types", "b", units=units)
    if source[1] == "i64_out":
        b = FmuComponent("b", FmuConfig(fmu=test_fmus["cs3_types"]))
    with pytest.raises(CouplingError, match="type mismatch: " + message):
        Orchestrator([a, b], [Edge(*source, *target)], start_s=0.0, stop_s=1.0, step_s=1.0)


TYPES_SCENARIO = """
[simulation]
stop_time_s = 3
step_s = 1

[components.a]
fmu = "{fmu}"

[components.b]
fmu = "{fmu}"

[[connections]]
from = "a.i64_out"
to = "b.i64_in"

[[connections]]
from = "a.u64_out"
to = "b.u64_in"

[[connections]]
from = "a.s_out"
to = "b.s_in"
"""


def test_a_run_records_integers_exactly_and_lists_string_outputs_it_skips(test_fmus, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(TYPES_SCENARIO.format(fmu=test_fmus["cs3_types"]))
    out = tmp_path / "out.nc"
    proc = subprocess.run([*CLI, "run", str(scenario), "-o", str(out), "-q"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    with netCDF4.Dataset(out) as ds:
        assert ds.status == "complete"
        assert ds["b.i64_out"].dtype == "int64" and ds["b.u64_out"].dtype == "uint64"
        assert ds["b.i64_out"][:].tolist() == [2, 2, 2, 2]
        assert ds["b.u64_out"][:].tolist() == [2, 2, 2, 2]
        assert ds["b.u16_out"][:].tolist() == [0, 1, 2, 3]
        assert "a.s_out" not in ds.variables and "b.s_out" not in ds.variables
        assert ds.outputs_not_recorded == ("a.s_out (a string output: not recorded); "
                                           "b.s_out (a string output: not recorded)")
    assert "a.s_out (a string output: not recorded)" in proc.stderr


# -- FMUs that end the simulation --------------------------------------------------------
STOP_SCENARIO = """
[simulation]
stop_time_s = 10
step_s = 1

[components.src]
type = "profile"
time_s = [0.0, 10.0]
values = {{ power_W = [1.0, 1.0] }}
interpolation = "previous"

[components.f]
fmu = "{fmu}"
parameters = {{ {params} }}

[[connections]]
from = "src.power_W"
to = "f.u"
"""


def run_stop(tmp_path, fmu, params):
    scenario = tmp_path / "s.toml"
    scenario.write_text(STOP_SCENARIO.format(fmu=fmu, params=params))
    out = tmp_path / "out.nc"
    proc = subprocess.run([*CLI, "run", str(scenario), "-o", str(out), "-q"], capture_output=True, text=True,
                          timeout=120)
    return proc, out


@pytest.mark.parametrize("name, params, end, how", [
    ("cs2_stop", "stop_at_s = 3.5", 3.5, "fmi2DoStep returned Discard with fmi2Terminated"),
    ("cs2_stop", "stop_at_s = 4.0", 4.0, "fmi2DoStep returned Discard with fmi2Terminated"),
    ("cs3_types", "terminate_at_s = 3.5", 3.5, "fmi3DoStep set terminateSimulation"),
    ("cs3_types", "terminate_at_s = 3.5, terminate_discard = true", 3.5, "fmi3DoStep set terminateSimulation"),
])
def test_an_fmu_that_ends_the_simulation_ends_the_run_complete(test_fmus, tmp_path, name, params, end, how):
    proc, out = run_stop(tmp_path, test_fmus[name], params)
    assert proc.returncode == 0, proc.stderr
    with netCDF4.Dataset(out) as ds:
        assert ds.status == "complete"
        assert ds.status_reason == f"ended early by f: FMU {name}.fmu ended the simulation at t = {end:g} s ({how})"
        t = ds["time"][:].tolist()
        assert t == [0.0, 1.0, 2.0, 3.0, end] if end != 4.0 else t == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert ds["f.x"][-1] == end  # x = integral of u = 1 up to where the FMU ended
        assert int(ds.n_step_rejections) == 0


def test_fmi2_discard_without_terminated_is_still_a_rejected_step(test_fmus):
    c = started(test_fmus, "cs2_stop", parameters={"max_step_s": 0.5})
    with pytest.raises(StepRejected, match=r"FMU cs2_stop.fmu discarded the step t = 0 s, h = 1 s"):
        c.do_step(0.0, 1.0)
    c.terminate()
    c = started(test_fmus, "cs2_stop", parameters={"stop_at_s": 0.25})
    with pytest.raises(EndOfRun) as info:
        c.do_step(0.0, 1.0)
    assert info.value.time == 0.25 and c.y["x"] == 0.25
    c.terminate()


def test_fmi3_early_return_is_a_rejected_step_retried_shorter(test_fmus):
    c = make(test_fmus, "cs3_types", parameters={"early_at_s": 1.5})
    c.u["u"] = 2.0
    orch = Orchestrator([c], [], start_s=0.0, stop_s=4.0, step_s=1.0)
    orch.run()
    assert orch.n_rejections == 1  # [1, 2] returned early at 1.5: retried as [1, 1.5] + [1.5, 2]
    assert c.y["x"] == 8.0 and c.y["u16_out"] == 5
