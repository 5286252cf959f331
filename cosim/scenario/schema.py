"""JSON Schema of scenario files, for editor completion and checking (Taplo, Even Better
TOML, VS Code) and for documentation.

The schema is pydantic's (draft 2020-12) for :class:`~cosim.scenario.model.Scenario`, with
``components`` made precise: each component table is ``oneOf`` the ``Config`` schema of
every registered component type, told apart by ``type``, which is a ``const``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .model import IDENTIFIER, Scenario

__all__ = ["scenario_json_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _refs(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out.add(ref[len("#/$defs/"):])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)
    return out


def _prune(schema: dict[str, Any]) -> None:
    """Drop ``$defs`` entries nothing refers to (any more)."""
    defs = schema.get("$defs", {})
    keep: set[str] = set()
    todo = _refs({k: v for k, v in schema.items() if k != "$defs"}, set())
    while todo:
        name = todo.pop()
        if name in keep or name not in defs:
            continue
        keep.add(name)
        todo |= _refs(defs[name], set()) - keep
    for name in list(defs):
        if name not in keep:
            del defs[name]
    if not defs:
        schema.pop("$defs", None)


def _component_schema(type_name: str, body: dict[str, Any], doc: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["title"] = type_name
    if doc and "description" not in body:
        body["description"] = doc
    properties = body.setdefault("properties", {})
    properties["type"] = {
        "const": type_name,
        "type": "string",
        "description": "component type",
    }
    properties = {"type": properties.pop("type"), **properties}  # 'type' first
    body["properties"] = properties
    required = [k for k in body.get("required", []) if k != "type"]
    body["required"] = ["type", *required]
    return body


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file, covering every component type
    registered now (built-ins, plugins, anything registered at run time)."""
    from ..components import registry

    configs: dict[str, type[BaseModel]] = {}
    bodies: dict[str, dict[str, Any]] = {}
    docs: dict[str, str] = {}
    for type_name in registry.available():
        cls = registry.get(type_name)
        try:
            cls.Config.model_json_schema()
        except Exception:  # noqa: BLE001 - a type without a schema still gets its 'type'
            bodies[type_name] = {"type": "object"}
        else:
            configs[type_name] = cls.Config
        docs[type_name] = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")

    models = [(Scenario, "validation")] + [(c, "validation") for c in set(configs.values())]
    refs, top = models_json_schema(models, title="cosim scenario")
    defs = top.get("$defs", {})
    for type_name, cls in configs.items():
        name = refs[(cls, "validation")]["$ref"].removeprefix("#/$defs/")
        bodies[type_name] = defs[name]
    scenario_name = refs[(Scenario, "validation")]["$ref"].removeprefix("#/$defs/")
    schema: dict[str, Any] = {"$schema": DIALECT, **copy.deepcopy(defs[scenario_name])}
    schema["title"] = "cosim scenario"
    schema["description"] = (
        "A cosim scenario file (TOML): [simulation], [output], one [components.NAME] table "
        "per component and [[connections]] between their ports."
    )
    schema["$defs"] = defs

    components = schema["properties"]["components"]
    components["propertyNames"] = {"pattern": IDENTIFIER.pattern}
    components["minProperties"] = 1
    components["additionalProperties"] = {
        "oneOf": [_component_schema(t, bodies[t], docs[t]) for t in sorted(bodies)],
    }
    _prune(schema)
    return schema
