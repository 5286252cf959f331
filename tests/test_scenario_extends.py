"""Scenario ``extends``: deep merge, per-file path resolution, cycles, errors in base files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import Field

from cosim.components import registry
from cosim.components.base import Component, ComponentConfig, Port
from cosim.errors import ScenarioError
from cosim.scenario import load_scenario
from cosim.scenario.types import ScenarioPath


class _CellConfig(ComponentConfig):
    capacity_As: float
    file: ScenarioPath
    gain: float = 1.0
    tables: list[ScenarioPath] = Field(default_factory=list)


class _Cell(Component):
    type_name = "test_cell"
    Config = _CellConfig

    def _declare_ports(self):
        return [Port("current", "input", unit="A"), Port("voltage", "output", unit="V")]


@pytest.fixture(autouse=True)
def cell_type():
    registry.register(_Cell)
    yield _Cell
    registry.unregister(_Cell.type_name)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


BASE = """
description = "base"

[simulation]
stop_time_s = 100
step_s = 1
coupling = "jacobi"

[output]
variables = ["cell.*", "load.*"]

[components.cell]
type = "test_cell"
capacity_As = 3600
file = "data/ocv.csv"
tables = ["t1.csv", "t2.csv"]

[components.load]
type = "test_cell"
capacity_As = 1
file = "load.csv"

[[connections]]
from = "cell.voltage"
to = "load.current"
"""


@pytest.fixture
def base(tmp_path) -> Path:
    return write(tmp_path / "base" / "base.toml", BASE)


def test_merge_override_and_replace(tmp_path, base):
    child = write(tmp_path / "runs" / "child.toml", """
        extends = "../base/base.toml"

        [simulation]
        stop_time_s = 50

        [output]
        variables = ["cell.voltage"]

        [components.cell]
        gain = 2.5
        file = "my_ocv.csv"

        [[connections]]
        from = "load.voltage"
        to = "cell.current"
        delayed = true
    """)
    loaded = load_scenario(child)
    sc = loaded.scenario
    # scalar overridden, sibling keys of the merged table kept
    assert sc.simulation.stop_time_s == 50.0
    assert sc.simulation.step_s == 1.0 and sc.simulation.coupling == "jacobi"
    assert sc.description == "base"
    # arrays of values replace; arrays of tables append
    assert sc.output.variables == ["cell.voltage"]
    assert [(c.source, c.target, c.delayed) for c in sc.connections] == [
        ("cell.voltage", "load.current", False), ("load.voltage", "cell.current", True)
    ]
    # component tables merge key by key
    cell = sc.components["cell"]
    assert (cell.capacity_As, cell.gain) == (3600.0, 2.5)
    assert list(sc.components) == ["cell", "load"]
    # paths resolve against the directory of the file that set them
    assert cell.file == tmp_path / "runs" / "my_ocv.csv"
    assert cell.tables == [tmp_path / "base" / "t1.csv", tmp_path / "base" / "t2.csv"]
    assert sc.components["load"].file == tmp_path / "base" / "load.csv"
    # the loaded scenario keeps every file read
    assert loaded.path == child.resolve()
    assert loaded.files == [base.resolve(), child.resolve()]
    assert loaded.text == child.read_text()
    assert loaded.texts[str(base.resolve())] == base.read_text()
    assert sc.extends == "../base/base.toml"


def test_array_set_in_child_resolves_against_child(tmp_path, base):
    child = write(tmp_path / "c" / "child.toml", """
        extends = "../base/base.toml"
        [components.cell]
        tables = ["mine.csv"]
    """)
    cell = load_scenario(child).scenario.components["cell"]
    assert cell.tables == [tmp_path / "c" / "mine.csv"]
    assert cell.file == tmp_path / "base" / "data" / "ocv.csv"


def test_three_level_chain(tmp_path, base):
    write(tmp_path / "mid" / "mid.toml", """
        extends = "../base/base.toml"
        [components.load]
        gain = 3
    """)
    top = write(tmp_path / "top.toml", """
        extends = "mid/mid.toml"
        [simulation]
        step_s = 0.5
    """)
    loaded = load_scenario(top)
    assert loaded.scenario.simulation.step_s == 0.5
    assert loaded.scenario.components["load"].gain == 3.0
    assert [p.name for p in loaded.files] == ["base.toml", "mid.toml", "top.toml"]


def test_extends_cycle(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n[simulation]\nstop_time_s = 1\nstep_s = 1\n')
    write(tmp_path / "b.toml", '# b\nextends = "a.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "a.toml")
    (problem,) = info.value.problems
    assert problem.key == "extends"
    assert "extends cycle: a.toml -> b.toml -> a.toml" in problem.message
    assert problem.file == (tmp_path / "b.toml").resolve() and problem.line == 2


def test_extends_itself(tmp_path):
    write(tmp_path / "a.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="extends cycle: a.toml -> a.toml"):
        load_scenario(tmp_path / "a.toml")


def test_missing_base(tmp_path):
    child = write(tmp_path / "child.toml", '# no base\nextends = "nope.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    (problem,) = info.value.problems
    assert (problem.key, problem.line, problem.file) == ("extends", 2, child.resolve())
    assert "does not exist" in problem.message


def test_errors_in_base_name_the_base(tmp_path):
    base = write(tmp_path / "base.toml", BASE.replace("step_s = 1", "step_s = 1\nstpe_s = 2"))
    child = write(tmp_path / "child.toml", """
        extends = "base.toml"
        [components.cell]
        gain = "high"
    """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    found = {p.key: p for p in info.value.problems}
    assert set(found) == {"simulation.stpe_s", "components.cell.gain"}
    assert found["simulation.stpe_s"].file == base.resolve()
    assert found["simulation.stpe_s"].line == 6
    assert found["components.cell.gain"].file == child.resolve()
    assert found["components.cell.gain"].line == 3
    # problems of base files come first
    assert [p.key for p in info.value.problems] == ["simulation.stpe_s", "components.cell.gain"]


def test_syntax_error_in_base_names_the_base(tmp_path):
    base = write(tmp_path / "base.toml", "[simulation\nstop_time_s = 1\n")
    child = write(tmp_path / "child.toml", 'extends = "base.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    (problem,) = info.value.problems
    assert problem.file == base.resolve() and problem.line == 1


def test_missing_key_in_merged_table_points_at_a_header(tmp_path):
    write(tmp_path / "base.toml", "[simulation]\nstop_time_s = 1\n")
    child = write(tmp_path / "child.toml", """
        extends = "base.toml"
        [simulation]
        coupling = "jacobi"
        [components.x]
        type = "test_cell"
        capacity_As = 1
        file = "f"
    """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    (problem,) = info.value.problems
    assert (problem.key, problem.message) == ("simulation.step_s", "required key is missing")
    assert problem.file == child.resolve() and problem.line == 2


def test_bad_extends_value(tmp_path):
    child = write(tmp_path / "child.toml", "extends = 3\n")
    with pytest.raises(ScenarioError, match="extends: expected a file name"):
        load_scenario(child)


def test_a_component_that_changes_model_replaces_the_base_table(tmp_path, base):
    child = write(tmp_path / "runs" / "fmu.toml", """
        extends = "../base/base.toml"

        [components.load]
        fmu = "models/load.fmu"
        parameters = { R = 2.0 }
    """)
    loaded = load_scenario(child)
    load = loaded.scenario.components["load"]
    # no 'capacity_As'/'file' inherited from the test_cell table it replaces
    assert load.type == "fmu" and set(load.model_fields_set) >= {"fmu", "parameters"}
    assert load.fmu == tmp_path / "runs" / "models" / "load.fmu"
    assert loaded.scenario.components["cell"].capacity_As == 3600.0  # other tables still merge
    # a new type replaces too; keys of the old type would otherwise be errors
    other = write(tmp_path / "runs" / "other.toml", """
        extends = "fmu.toml"

        [components.load]
        type = "test_cell"
        capacity_As = 5
        file = "x.csv"
    """)
    assert load_scenario(other).scenario.components["load"].capacity_As == 5.0
    # `fmu` with another type is refused, with the key and line
    bad = write(tmp_path / "runs" / "bad.toml", """
        extends = "../base/base.toml"

        [components.load]
        type = "test_cell"
        fmu = "models/load.fmu"
    """)
    with pytest.raises(ScenarioError, match=r"bad.toml:4: components.load.type: a component with 'fmu' is an FMU"):
        load_scenario(bad)


def test_replace_and_remove_in_a_child(tmp_path, base):
    """replace: the child's [[connections]] instead of the base's; remove: a base key
    deleted (here a component's option falls back to its default); neither is inherited
    by a grandchild, whose connections append again."""
    child = write(tmp_path / "runs" / "child.toml", """
        extends = "../base/base.toml"
        replace = ["connections"]
        remove = ["components.cell.tables", "output.variables"]

        [[connections]]
        from = "load.voltage"
        to = "cell.current"
    """)
    sc = load_scenario(child).scenario
    assert [(c.source, c.target) for c in sc.connections] == [("load.voltage", "cell.current")]
    assert sc.components["cell"].tables == [] and sc.output.variables == ["*"]  # both defaults
    grandchild = write(tmp_path / "runs" / "grandchild.toml", """
        extends = "child.toml"

        [[connections]]
        from = "cell.voltage"
        to = "load.current"
    """)
    sc = load_scenario(grandchild).scenario
    assert [(c.source, c.target) for c in sc.connections] == [("load.voltage", "cell.current"),
                                                               ("cell.voltage", "load.current")]
    assert sc.components["cell"].tables == []


@pytest.mark.parametrize("text, message", [
    ('remove = ["components.cell.nothing"]', "'components.cell.nothing' is not set by the base scenario"),
    ('remove = "components.cell.gain"', "expected a list of dotted keys"),
    ('replace = ["connections", 3]', "expected a list of dotted keys"),
])
def test_bad_replace_or_remove_is_named(tmp_path, base, text, message):
    child = write(tmp_path / "runs" / "child.toml", f"""
        extends = "../base/base.toml"
        {text}
    """)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(child)
    problem = info.value.problems[0]
    assert problem.file == child.resolve() and problem.line == 2


def test_replace_without_extends_is_an_error(tmp_path):
    path = write(tmp_path / "alone.toml", BASE.replace('description = "base"', 'replace = ["connections"]'))
    with pytest.raises(ScenarioError, match="acts on the scenario this file extends; there is none"):
        load_scenario(path)
