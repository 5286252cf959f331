"""Scenario files: TOML, loaded into strict pydantic models.

``load_scenario(path)`` returns a :class:`LoadedScenario` (the validated :class:`Scenario`
plus the files it came from) or raises :class:`cosim.errors.ScenarioError` listing every
problem with its key, file and line. ``scenario_json_schema()`` gives the JSON Schema for
editors. Names are imported lazily, so that component modules can import
:mod:`cosim.scenario.types` without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_names import lazy_names

__all__ = [
    "Connection",
    "LoadedScenario",
    "Output",
    "Scenario",
    "Simulation",
    "load_scenario",
    "scenario_json_schema",
    "validate_files",
]

_WHERE = {
    "Connection": "model",
    "Output": "model",
    "Scenario": "model",
    "Simulation": "model",
    "LoadedScenario": "loader",
    "load_scenario": "loader",
    "validate_files": "loader",
    "scenario_json_schema": "schema",
}

if TYPE_CHECKING:
    from .loader import LoadedScenario, load_scenario, validate_files
    from .model import Connection, Output, Scenario, Simulation
    from .schema import scenario_json_schema


__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
