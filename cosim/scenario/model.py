"""The scenario file as strict pydantic models.

A scenario has a ``[simulation]`` table (time span, macro step, coupling), an ``[output]``
table (what to record, where), one ``[components.NAME]`` table per component and a list of
``[[connections]]``. Every model is strict (a string is never a number; TOML integers are
accepted where a float is expected) and forbids unknown keys.

Component tables are validated by the ``Config`` of the class registered for their
``type`` (:mod:`cosim.components.registry`), looked up at validation time so that types
registered at run time (plugins, test doubles) work. The loader
(:mod:`cosim.scenario.loader`) validates in two passes and reports every problem at once;
``Scenario.model_validate`` works on its own too, for scenarios built in code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..limits import MAX_FLUSH_EVERY, MAX_MACRO_STEPS, MAX_RECORDS, MAX_STEP_HALVINGS
from ..components.base import ComponentConfig
from .issues import Issue, did_you_mean, from_validation_error
from .types import ScenarioPath

__all__ = [
    "Connection",
    "Output",
    "Scenario",
    "Simulation",
    "Sweep",
    "SweepDimension",
    "component_issues",
    "scenario_issues",
    "validate_scenario",
]

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PORT_REF = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*$")
#: relative tolerance when checking that the output interval is a multiple of the step
INTERVAL_RTOL = 1e-9

_STRICT = ConfigDict(strict=True, extra="forbid")


def _identifier(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(
            f"component name {name!r} is not an identifier (letters, digits and '_', "
            "not starting with a digit)"
        )
    return name


ComponentName = Annotated[str, AfterValidator(_identifier)]


class Simulation(BaseModel):
    """``[simulation]``: time span, macro step and coupling scheme."""

    model_config = _STRICT

    start_time_s: float = Field(0.0, allow_inf_nan=False, description="start time [s]")
    stop_time_s: float = Field(allow_inf_nan=False, description="stop time [s]; must be greater than start_time_s")
    step_s: float = Field(gt=0, allow_inf_nan=False,
                          description=f"macro (communication) step [s]; at most {MAX_MACRO_STEPS:.0e} steps in a run")
    coupling: Literal["gauss-seidel", "jacobi"] = Field(
        "gauss-seidel",
        description="gauss-seidel: components step in turn and see this step's outputs; "
        "jacobi: all step in parallel on the previous step's outputs",
    )
    order: list[str] | None = Field(
        None, description="explicit Gauss-Seidel order: every component name exactly once"
    )
    max_step_halvings: int = Field(
        8, ge=0, le=MAX_STEP_HALVINGS, description="how often a rejected macro step may be halved during rollback"
    )

    @field_validator("stop_time_s")
    @classmethod
    def _after_start(cls, stop: float, info: ValidationInfo) -> float:
        start = info.data.get("start_time_s")
        if start is not None and not stop > start:
            raise ValueError(f"must be greater than start_time_s ({start:g}), got {stop:g}")
        return stop

    @field_validator("step_s")
    @classmethod
    def _within_span(cls, step: float, info: ValidationInfo) -> float:
        start, stop = info.data.get("start_time_s"), info.data.get("stop_time_s")
        if start is not None and stop is not None and step > stop - start:
            raise ValueError(
                f"must not exceed the simulated span stop_time_s - start_time_s = "
                f"{stop - start:g} s, got {step:g}"
            )
        if start is not None and stop is not None and (stop - start) / step > MAX_MACRO_STEPS:
            raise ValueError(
                f"gives {(stop - start) / step:.3g} macro steps over {stop - start:g} s; "
                f"at most {MAX_MACRO_STEPS:.0e} are allowed"
            )
        if start is not None and stop is not None and not max(abs(start), abs(stop)) + step > max(abs(start), abs(stop)):
            raise ValueError(f"{step:g} s is too small to advance the time at {max(abs(start), abs(stop)):g} s")
        return step


class Output(BaseModel):
    """``[output]``: which outputs are recorded, how often, and where."""

    model_config = _STRICT

    path: ScenarioPath | None = Field(
        None, description="result file (.nc), relative to this scenario file; default results/"
    )
    interval_s: float | None = Field(
        None,
        gt=0,
        description="recording interval [s]; a whole multiple of simulation.step_s "
        "(default: every macro step)",
    )
    variables: list[str] = Field(
        default_factory=lambda: ["*"],
        description="fnmatch patterns on 'component.port' names of the outputs to record",
    )
    flush_every_records: int | None = Field(
        None, gt=0, le=MAX_FLUSH_EVERY, description="records buffered before writing (default: a block of about "
        "4 MB, 100 to 1000 records; an error or Ctrl-C still writes every record, a killed process loses the block)")
    compression_level: int = Field(4, ge=0, le=9, description="zlib level, 0 (none) to 9")


class Connection(BaseModel):
    """``[[connections]]``: feeds one component's output into another's input."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    source: str = Field(
        alias="from",
        description="source output as 'component.port'",
        json_schema_extra={"pattern": PORT_REF.pattern},
    )
    target: str = Field(
        alias="to",
        description="target input as 'component.port'",
        json_schema_extra={"pattern": PORT_REF.pattern},
    )
    delayed: bool = Field(
        False,
        description="take the source's value from the previous macro step (breaks an "
        "algebraic loop)",
    )
    iterate: bool = Field(
        False,
        description="the target takes the source's value of the same macro step, found by repeating the "
        "step until they agree (closes a loop exactly, e.g. a pack's power_limit_W -> a vehicle's "
        "battery_power_limit_W; every component must be able to roll back)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> "Connection":
        if self.delayed and self.iterate:
            raise ValueError("a connection is either delayed or iterated, not both")
        return self

    @field_validator("source", "target")
    @classmethod
    def _port_ref(cls, value: str) -> str:
        if not PORT_REF.match(value):
            raise ValueError(f"expected 'component.port' (two identifiers), got {value!r}")
        return value

    @property
    def source_component(self) -> str:
        return self.source.split(".", 1)[0]

    @property
    def source_port(self) -> str:
        return self.source.split(".", 1)[1]

    @property
    def target_component(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def target_port(self) -> str:
        return self.target.split(".", 1)[1]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}" + (" (delayed)" if self.delayed else "") + (
            " (iterated)" if self.iterate else "")


class SweepDimension(BaseModel):
    """``[[sweep.vary]]``: one dimension of a sweep: a dotted key and its values, and keys
    that follow it (``with``: one value per value of ``key``, e.g. a layer count that follows
    the layer thickness)."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    key: str = Field(description="dotted scenario key, e.g. 'components.pack.overrides.\"negative.thickness_m\"'")
    values: list[Any] = Field(min_length=1, description="the values the key takes")
    with_: dict[str, list[Any]] = Field(
        default_factory=dict, alias="with",
        description="other dotted keys that change with this one: one value per value of key")


class Sweep(BaseModel):
    """``[sweep]``: the variants ``cosim sweep`` runs (``cosim run`` ignores the table)."""

    model_config = _STRICT

    zip: bool = Field(False, description="false: every combination of the dimensions' values (a grid); "
                                         "true: the i-th values of every dimension together (equal lengths)")
    vary: list[SweepDimension] = Field(min_length=1, description="the dimensions of the sweep")


class _ScenarioFields(BaseModel):
    """Everything of a scenario; components are raw tables (the loader's first pass)."""

    model_config = _STRICT

    extends: str | None = Field(
        None, description="base scenario file (relative to this one) whose tables this file overrides"
    )
    replace: list[str] = Field(
        default_factory=list, description="with extends: dotted keys whose inherited value this file replaces "
                                          "whole (tables otherwise merge, arrays of tables append)")
    remove: list[str] = Field(
        default_factory=list, description="with extends: dotted keys of the base scenario that this file deletes")
    description: str = Field("", description="free text, copied into the results")
    simulation: Simulation
    output: Output = Field(default_factory=Output)
    components: dict[ComponentName, dict[str, Any]] = Field(
        description="one table per component, keyed by its name; 'type' selects the model"
    )
    connections: list[Connection] = Field(default_factory=list)
    sweep: Sweep | None = Field(None, description="variants for `cosim sweep` (ignored by `cosim run`)")

    @field_validator("components")
    @classmethod
    def _not_empty(cls, value: dict) -> dict:
        if not value:
            raise ValueError("at least one component is required")
        return value


class Scenario(_ScenarioFields):
    """A validated scenario; ``components`` holds each type's ``Config`` instance."""

    components: dict[ComponentName, SerializeAsAny[ComponentConfig]] = Field(  # type: ignore[assignment]
        description="one table per component, keyed by its name; 'type' selects the model"
    )

    @field_validator("components", mode="before")
    @classmethod
    def _configs(cls, value: Any) -> Any:
        """Validate raw component tables with their type's Config (for scenarios built in
        code; the loader hands over Config instances)."""
        if not isinstance(value, Mapping):
            return value
        issues: list[Issue] = []
        out = {}
        for name, table in value.items():
            if isinstance(table, ComponentConfig):
                out[name] = table
                continue
            config, found = component_issues(str(name), table)
            issues += found
            out[name] = config
        if issues:
            raise ValueError("; ".join(f"{i.key}: {i.message}" for i in issues))
        return out

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        issues = scenario_issues(self.model_dump(by_alias=True))
        if issues:
            raise ValueError("; ".join(f"{i.key}: {i.message}" for i in issues))
        return self


def component_issues(name: str, table: Any) -> tuple[ComponentConfig | None, list[Issue]]:
    """Validate one ``[components.NAME]`` table with the Config of its ``type``.

    Returns the Config instance (None on problems) and the problems, located at
    ``components.NAME...``."""
    from ..components import registry  # at call time: plugins may register late

    loc = ("components", name)
    if not isinstance(table, Mapping):
        return None, []  # the first pass reports "expected a table"
    type_name = table.get("type")
    if "fmu" in table:  # `fmu = "X.fmu"` makes any component an FMU
        if type_name not in (None, "fmu"):
            return None, [Issue((*loc, "type"), f"a component with 'fmu' is an FMU: remove type = {type_name!r} "
                                                "or write type = \"fmu\"")]
        type_name = "fmu"
        table = {**table, "type": "fmu"}
    if type_name is None:
        known = ", ".join(registry.available()) or "none"
        return None, [Issue((*loc, "type"), f"required key is missing (known types: {known})")]
    if not isinstance(type_name, str):
        return None, [Issue((*loc, "type"), f"expected a string (a component type), got {type_name!r}")]
    try:
        cls = registry.get(type_name)
    except KeyError as exc:
        return None, [Issue((*loc, "type"), str(exc.args[0]))]
    try:
        return cls.Config.model_validate(dict(table)), []
    except ValidationError as exc:
        return None, from_validation_error(exc, cls.Config, loc)


def _number(value: Any) -> bool:
    """A finite int or float (not a bool): the cross-table checks use only those; the
    fields' own validation reports the rest."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def scenario_issues(data: Mapping[str, Any]) -> list[Issue]:
    """Checks across tables, on raw (or dumped) scenario data; parts that are malformed are
    skipped, since the per-table validation reports them.

    Connections must name existing components, an input may be fed by one connection only,
    ``simulation.order`` must list every component once, and ``output.interval_s`` must be a
    whole multiple of ``simulation.step_s``."""
    issues: list[Issue] = []
    components = data.get("components")
    names = [n for n in components if isinstance(n, str)] if isinstance(components, Mapping) else None
    connections = data.get("connections")
    if names is not None and isinstance(connections, list):
        fed: dict[str, int] = {}
        for i, conn in enumerate(connections):
            if not isinstance(conn, Mapping):
                continue
            for key in ("from", "to"):
                ref = conn.get(key)
                if not (isinstance(ref, str) and PORT_REF.match(ref)):
                    continue
                comp = ref.split(".", 1)[0]
                if comp not in names:
                    issues.append(Issue(
                        ("connections", i, key),
                        f"unknown component {comp!r}{did_you_mean(comp, names)} "
                        f"(components: {', '.join(names) or 'none'})",
                    ))
            target = conn.get("to")
            if isinstance(target, str) and PORT_REF.match(target):
                if target in fed:
                    issues.append(Issue(
                        ("connections", i, "to"),
                        f"input {target!r} is already connected by connections.{fed[target]}; "
                        "an input takes one connection" + (
                            " (a child's [[connections]] add to its base's: to rewire inherited inputs, "
                            "write replace = [\"connections\"] and list them all)" if data.get("extends") else ""),
                    ))
                else:
                    fed[target] = i
    simulation = data.get("simulation")
    simulation = simulation if isinstance(simulation, Mapping) else {}
    order = simulation.get("order")
    if names is not None and isinstance(order, list) and all(isinstance(n, str) for n in order):
        problems = []
        unknown = [n for n in order if n not in names]
        if unknown:
            problems.append("unknown " + ", ".join(
                f"{n!r}{did_you_mean(n, names)}" for n in unknown
            ))
        twice = sorted({n for n in order if order.count(n) > 1})
        if twice:
            problems.append("listed more than once: " + ", ".join(map(repr, twice)))
        missing = [n for n in names if n not in order]
        if missing:
            problems.append("missing: " + ", ".join(map(repr, missing)))
        if problems:
            issues.append(Issue(
                ("simulation", "order"),
                "must list every component exactly once; " + "; ".join(problems),
            ))
    output = data.get("output")
    interval = output.get("interval_s") if isinstance(output, Mapping) else None
    step = simulation.get("step_s")
    if _number(interval) and _number(step) and interval > 0 and step > 0 and math.isfinite(interval / step):
        n = round(interval / step)
        if n < 1 or abs(interval - n * step) > INTERVAL_RTOL * interval:
            issues.append(Issue(
                ("output", "interval_s"),
                f"must be a whole multiple of simulation.step_s ({step:g} s), got {interval:g}",
            ))
    start, stop = simulation.get("start_time_s", 0.0), simulation.get("stop_time_s")
    steps = (stop - start) / step if _number(start) and _number(stop) and _number(step) and step > 0 else 0.0
    if 0 < steps <= MAX_MACRO_STEPS:  # (more steps: the step's own problem)
        every = round(interval / step) if _number(interval) and interval >= step else 1
        records = steps / max(every, 1)
        if records > MAX_RECORDS:
            issues.append(Issue(
                ("output", "interval_s"),
                f"the run would record {records:.3g} times; at most {MAX_RECORDS:.0e} records are allowed "
                "(set a longer output.interval_s)",
            ))
    return issues


def validate_scenario(data: Mapping[str, Any]) -> tuple[Scenario | None, list[Issue]]:
    """Validate raw scenario data in two passes and collect every problem.

    Pass 1 checks everything but the component bodies (and the checks across tables); pass
    2 checks each component table with its own type's Config. Returns the scenario (None if
    there is any problem) and the problems."""
    issues: list[Issue] = []
    try:
        _ScenarioFields.model_validate(data)
    except ValidationError as exc:
        issues += from_validation_error(exc, _ScenarioFields)
    issues += scenario_issues(data)
    configs: dict[str, ComponentConfig] = {}
    components = data.get("components")
    if isinstance(components, Mapping):
        for name, table in components.items():
            config, found = component_issues(str(name), table)
            issues += found
            if config is not None:
                configs[name] = config
    if issues:
        return None, issues
    try:
        return Scenario.model_validate({**data, "components": configs}), []
    except ValidationError as exc:  # not expected: both passes succeeded
        return None, from_validation_error(exc, Scenario)
