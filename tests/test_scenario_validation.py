"""Scenario validation: every problem at once, with its key path, file and line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from cosim.components import registry
from cosim.components.base import Component, ComponentConfig, Port
from cosim.errors import ScenarioError
from cosim.scenario import (
    Connection,
    LoadedScenario,
    Scenario,
    Simulation,
    load_scenario,
    scenario_json_schema,
    validate_files,
)
from cosim.scenario.tomlkeys import key_lines
from cosim.scenario.types import ScenarioPath


class _Lookup(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    table: ScenarioPath
    scale: float = 1.0


class _TankConfig(ComponentConfig):
    capacity_As: float = Field(description="capacity [A s]")
    file: ScenarioPath = Field(description="data file")
    gain: float = 1.0
    more_files: list[ScenarioPath] = Field(default_factory=list)
    named_files: dict[str, ScenarioPath] = Field(default_factory=dict)
    lookup: _Lookup | None = None
    offset: float | list[float] = 0.0


class _Tank(Component):
    """A test double: one input, one output."""

    type_name = "test_tank"
    Config = _TankConfig

    def _declare_ports(self):
        return [Port("current", "input", unit="A"), Port("charge", "output", unit="A.s")]


@pytest.fixture(autouse=True)
def tank_type():
    registry.register(_Tank)
    yield _Tank
    registry.unregister(_Tank.type_name)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def by_key(problems) -> dict:
    return {p.key: p for p in problems}


VALID = """
description = "two tanks"

[simulation]
stop_time_s = 10
step_s = 0.5

[components.a]
type = "test_tank"
capacity_As = 3600
file = "data/a.csv"

[components.b]
type = "test_tank"
capacity_As = 7200.0
file = "/abs/b.csv"

[[connections]]
from = "a.charge"
to = "b.current"
"""


def test_valid_file_loads(tmp_path):
    path = write(tmp_path, "s.toml", VALID)
    loaded = load_scenario(path)
    assert isinstance(loaded, LoadedScenario)
    assert loaded.path == path.resolve()
    assert loaded.files == [path.resolve()]
    assert loaded.text == path.read_text()
    assert loaded.texts == {str(path.resolve()): path.read_text()}
    sc = loaded.scenario
    assert sc.simulation.stop_time_s == 10.0 and isinstance(sc.simulation.stop_time_s, float)
    assert sc.simulation.coupling == "gauss-seidel"
    assert isinstance(sc.components["a"], _TankConfig)
    assert sc.components["a"].capacity_As == 3600.0
    assert sc.components["a"].file == tmp_path / "data" / "a.csv"
    assert sc.components["b"].file == Path("/abs/b.csv")
    conn = sc.connections[0]
    assert (conn.source_component, conn.source_port) == ("a", "charge")
    assert (conn.target_component, conn.target_port) == ("b", "current")
    assert conn.delayed is False
    assert sc.output.variables == ["*"] and sc.output.interval_s is None
    # the dump carries every component key (the results store it)
    dumped = json.loads(sc.model_dump_json())
    assert dumped["components"]["a"]["capacity_As"] == 3600.0


def test_three_mistakes_reported_at_once_with_lines(tmp_path):
    path = write(tmp_path, "s.toml", """
        [simulation]
        stop_time_s = 10
        stpe_s = 1

        [components.a]
        type = "test_tank"
        capacity_As = "lots"
        file = "a.csv"
    """)
    problems = problems_of(path)
    found = by_key(problems)
    assert set(found) == {"simulation.stpe_s", "simulation.step_s", "components.a.capacity_As"}
    typo = found["simulation.stpe_s"]
    assert typo.message == "unknown key 'stpe_s'; did you mean 'step_s'?"
    assert typo.line == 3 and typo.file == path.resolve()
    wrong = found["components.a.capacity_As"]
    assert wrong.message == "expected a number (float), got string 'lots'"
    assert wrong.line == 7
    missing = found["simulation.step_s"]
    assert missing.message == "required key is missing"
    assert missing.line == 1  # the [simulation] header: the table that lacks it
    text = str(ScenarioError(problems))
    assert "3 problems" in text and f"{path.resolve()}:3: simulation.stpe_s" in text


def test_toml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, "s.toml", """
        [simulation]
        stop_time_s = 10
        step_s = = 1
    """)
    (problem,) = problems_of(path)
    assert problem.line == 3
    assert problem.file == path.resolve()
    assert problem.message.startswith("TOML syntax error")
    assert "at line" not in problem.message


def test_unknown_component_type_hint(tmp_path):
    path = write(tmp_path, "s.toml", VALID.replace('type = "test_tank"\ncapacity_As = 3600',
                                                   'type = "test_tnak"\ncapacity_As = 3600'))
    (problem,) = problems_of(path)
    assert problem.key == "components.a.type"
    assert problem.line == 8
    assert "did you mean 'test_tank'?" in problem.message
    assert "test_tank" in problem.message.split("known:")[1]


def test_missing_component_type(tmp_path):
    path = write(tmp_path, "s.toml", """
        [simulation]
        stop_time_s = 10
        step_s = 1
        [components.a]
        capacity_As = 1
    """)
    (problem,) = problems_of(path)
    assert problem.key == "components.a.type"
    assert problem.message.startswith("required key is missing (known types:")
    assert problem.line == 4


def test_connection_to_unknown_component_hint(tmp_path):
    path = write(tmp_path, "s.toml", VALID + '\n[[connections]]\nfrom = "bb.charge"\nto = "a.current"\n')
    (problem,) = problems_of(path)
    assert problem.key == "connections.1.from"
    assert "unknown component 'bb'; did you mean 'b'?" in problem.message
    assert problem.line == 22


def test_connection_malformed_reference(tmp_path):
    path = write(tmp_path, "s.toml", VALID.replace('to = "b.current"', 'to = "b"'))
    (problem,) = problems_of(path)
    assert problem.key == "connections.0.to"
    assert "expected 'component.port'" in problem.message
    assert problem.line == 19


def test_inline_connections_located(tmp_path):
    # top-level keys come before the first table header
    text = textwrap.dedent("""
        connections = [
          { from = "a.charge", to = "b.current" },
          { from = "a.charge", to = "b.current", delayed = "yes" },
        ]
    """) + VALID.split("[[connections]]")[0]
    path = write(tmp_path, "s.toml", text)
    found = by_key(problems_of(path))
    assert set(found) == {"connections.1.to", "connections.1.delayed"}
    assert "already connected by connections.0" in found["connections.1.to"].message
    assert found["connections.1.to"].line == 3
    assert found["connections.1.delayed"].line == 3
    assert found["connections.1.delayed"].message == "expected a boolean (true or false), got string 'yes'"


def test_duplicate_target(tmp_path):
    path = write(tmp_path, "s.toml", VALID + '\n[[connections]]\nfrom = "b.charge"\nto = "b.current"\n')
    (problem,) = problems_of(path)
    assert problem.key == "connections.1.to"
    assert "'b.current' is already connected by connections.0" in problem.message
    assert problem.line == 23


def test_bad_order(tmp_path):
    path = write(tmp_path, "s.toml", VALID.replace("step_s = 0.5", 'step_s = 0.5\norder = ["a", "c"]'))
    (problem,) = problems_of(path)
    assert problem.key == "simulation.order"
    assert problem.line == 6
    assert "unknown 'c'" in problem.message and "missing: 'b'" in problem.message


def test_order_duplicates(tmp_path):
    path = write(tmp_path, "s.toml", VALID.replace("step_s = 0.5", 'step_s = 0.5\norder = ["a", "b", "a"]'))
    (problem,) = problems_of(path)
    assert "listed more than once: 'a'" in problem.message


def test_valid_order_and_interval(tmp_path):
    text = VALID.replace("step_s = 0.5", 'step_s = 0.1\norder = ["b", "a"]')
    text += '\n[output]\ninterval_s = 0.3\nvariables = ["a.*"]\n'
    loaded = load_scenario(write(tmp_path, "s.toml", text))
    assert loaded.scenario.simulation.order == ["b", "a"]
    assert loaded.scenario.output.interval_s == pytest.approx(0.3, rel=1e-12)


def test_interval_not_multiple_of_step(tmp_path):
    path = write(tmp_path, "s.toml", VALID + "\n[output]\ninterval_s = 1.25\n")
    (problem,) = problems_of(path)
    assert problem.key == "output.interval_s"
    assert "whole multiple of simulation.step_s" in problem.message
    assert problem.line == 22


@pytest.mark.parametrize(("start", "stop"), [(0, 0), (5, 2)])
def test_stop_not_after_start(tmp_path, start, stop):
    text = VALID.replace("stop_time_s = 10\nstep_s = 0.5", f"start_time_s = {start}\nstop_time_s = {stop}\nstep_s = 0.5")
    found = by_key(problems_of(write(tmp_path, "s.toml", text)))
    assert list(found) == ["simulation.stop_time_s"]
    assert "must be greater than start_time_s" in found["simulation.stop_time_s"].message
    assert found["simulation.stop_time_s"].line == 5


def test_step_checks(tmp_path):
    found = by_key(problems_of(write(tmp_path, "s.toml", VALID.replace("step_s = 0.5", "step_s = 20"))))
    assert "must not exceed the simulated span" in found["simulation.step_s"].message
    found = by_key(problems_of(write(tmp_path, "s.toml", VALID.replace("step_s = 0.5", "step_s = 0"))))
    assert found["simulation.step_s"].message == "must be greater than 0, got integer 0"


def test_int_accepted_string_and_bool_rejected_for_float(tmp_path):
    ok = load_scenario(write(tmp_path, "ok.toml", VALID))
    assert ok.scenario.components["a"].capacity_As == 3600.0
    for bad, shown in [('"3600"', "string '3600'"), ("true", "boolean true")]:
        path = write(tmp_path, "bad.toml", VALID.replace("capacity_As = 3600\n", f"capacity_As = {bad}\n"))
        (problem,) = problems_of(path)
        assert problem.key == "components.a.capacity_As"
        assert problem.message == f"expected a number (float), got {shown}"


def test_float_rejected_for_int_and_literal(tmp_path):
    text = VALID.replace("step_s = 0.5", 'step_s = 0.5\nmax_step_halvings = 2.0\ncoupling = "gauss"')
    found = by_key(problems_of(write(tmp_path, "s.toml", text)))
    assert found["simulation.max_step_halvings"].message == "expected an integer, got float 2.0"
    assert found["simulation.coupling"].message == (
        "expected one of 'gauss-seidel' or 'jacobi', got string 'gauss'"
    )


def test_component_unknown_key_and_bad_name(tmp_path):
    text = VALID.replace("capacity_As = 3600\n", "capacity_As = 3600\ngian = 2\n")
    text += '\n[components."bad-name"]\ntype = "test_tank"\n'
    found = by_key(problems_of(write(tmp_path, "s.toml", text)))
    assert found["components.a.gian"].message == "unknown key 'gian'; did you mean 'gain'?"
    assert found["components.a.gian"].line == 10
    assert "not an identifier" in found["components.bad-name"].message
    assert found["components.bad-name"].line == 22


def test_union_alternatives_in_one_message(tmp_path):
    path = write(tmp_path, "s.toml", VALID.replace("capacity_As = 3600\n", 'capacity_As = 3600\noffset = "x"\n'))
    (problem,) = problems_of(path)
    assert problem.key == "components.a.offset"
    assert problem.message == "expected a number (float) or an array, got string 'x'"
    assert problem.line == 10


def test_no_components(tmp_path):
    path = write(tmp_path, "s.toml", "[simulation]\nstop_time_s = 1\nstep_s = 1\n[components]\n")
    (problem,) = problems_of(path)
    assert problem.key == "components" and problem.message == "at least one component is required"


def test_missing_simulation_table(tmp_path):
    path = write(tmp_path, "s.toml", '[components.a]\ntype = "test_tank"\ncapacity_As = 1\nfile = "x"\n')
    (problem,) = problems_of(path)
    assert (problem.key, problem.message, problem.line) == ("simulation", "required key is missing", None)


def test_output_checks(tmp_path):
    text = VALID + '\n[output]\ncompression_level = 12\nflush_every_records = 0\nvariables = "a.*"\n'
    found = by_key(problems_of(write(tmp_path, "s.toml", text)))
    assert found["output.compression_level"].message == "must be at most 9, got integer 12"
    assert found["output.flush_every_records"].message == "must be greater than 0, got integer 0"
    assert found["output.variables"].message == "expected an array, got string 'a.*'"
    assert [found[k].line for k in ("output.compression_level", "output.flush_every_records")] == [22, 23]


def test_nested_paths_resolve(tmp_path):
    text = VALID.replace('file = "/abs/b.csv"', textwrap.dedent("""\
        file = "/abs/b.csv"
        more_files = ["m1.csv", "/abs/m2.csv"]
        named_files = { x = "sub/x.csv" }
        lookup = { table = "../t.csv" }"""))
    text += '\n[output]\npath = "results/run.nc"\n'
    loaded = load_scenario(write(tmp_path, "dir/s.toml", text))
    b = loaded.scenario.components["b"]
    here = tmp_path / "dir"
    assert b.more_files == [here / "m1.csv", Path("/abs/m2.csv")]
    assert b.named_files == {"x": here / "sub" / "x.csv"}
    assert b.lookup.table == tmp_path / "t.csv"
    assert loaded.scenario.output.path == here / "results" / "run.nc"


def test_validate_files_collects_all(tmp_path):
    good = write(tmp_path, "good.toml", VALID)
    bad = write(tmp_path, "bad.toml", VALID.replace("step_s = 0.5", "step_s = 0.5\nfoo = 1"))
    assert validate_files([good]) == []
    (problem,) = validate_files([good, bad])
    assert problem.file == bad.resolve() and problem.key == "simulation.foo"


def test_locate_and_problem_helpers(tmp_path):
    loaded = load_scenario(write(tmp_path, "s.toml", VALID))
    assert loaded.locate("connections.0.to") == (loaded.path, 19)
    problem = loaded.problem(("components", "b", "capacity_As"), "no such port")
    assert (problem.key, problem.line, problem.file) == ("components.b.capacity_As", 14, loaded.path)


def test_models_in_code():
    scenario = Scenario.model_validate({
        "simulation": {"stop_time_s": 1, "step_s": 0.1},
        "components": {"a": {"type": "test_tank", "capacity_As": 1, "file": "f.csv"}},
        "connections": [Connection(source="a.charge", target="a.current", delayed=True)],
    })
    assert isinstance(scenario.components["a"], _TankConfig)
    assert scenario.connections[0].delayed
    with pytest.raises(ValueError, match="components.a.gain: expected a number"):
        Scenario.model_validate({
            "simulation": {"stop_time_s": 1, "step_s": 0.1},
            "components": {"a": {"type": "test_tank", "capacity_As": 1, "file": "f", "gain": "x"}},
        })
    with pytest.raises(ValueError, match="must be greater than start_time_s"):
        Simulation(start_time_s=1, stop_time_s=1, step_s=0.1)


def test_key_lines_scanner():
    text = textwrap.dedent('''\
        title = "x # not a comment"   # comment
        a.b.c = 1
        s = """
        [not.a.table]
        """
        arr = [
          1,
          { k = 2 },
        ]
        [t]
        "quoted key" = 'v'
        [[aot]]
        x = 1
        [[aot]]
        x = 2
        [[aot.sub]]
        y = 3
        [aot.tbl]
        z = 4
        ''')
    lines = key_lines(text)
    assert lines[("title",)] == 1
    assert lines[("a", "b", "c")] == 2 and lines[("a",)] == 2
    assert ("not",) not in lines
    assert lines[("arr", 0)] == 7 and lines[("arr", 1, "k")] == 8
    assert lines[("t", "quoted key")] == 11
    assert lines[("aot", 0, "x")] == 13
    assert lines[("aot", 1)] == 14 and lines[("aot", 1, "x")] == 15
    assert lines[("aot", 1, "sub", 0, "y")] == 17
    assert lines[("aot", 1, "tbl", "z")] == 19


def test_json_schema_has_component_keys():
    schema = scenario_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["$schema"].endswith("2020-12/schema")
    variants = schema["properties"]["components"]["additionalProperties"]["oneOf"]
    tank = next(v for v in variants if v["properties"]["type"].get("const") == "test_tank")
    assert {"type", "capacity_As", "file", "gain", "lookup"} <= set(tank["properties"])
    assert tank["required"][0] == "type" and "capacity_As" in tank["required"]
    assert tank["properties"]["capacity_As"]["description"] == "capacity [A s]"
    assert schema["$defs"]["Simulation"]["properties"]["step_s"]["description"]
    assert "from" in schema["$defs"]["Connection"]["properties"]


def test_json_schema_checks_documents():
    jsonschema = pytest.importorskip("jsonschema")
    import tomllib

    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    doc = tomllib.loads(textwrap.dedent(VALID))
    assert list(validator.iter_errors(doc)) == []
    doc["components"]["a"]["gian"] = 2
    assert list(validator.iter_errors(doc))
