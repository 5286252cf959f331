"""Walking pydantic models by their type annotations.

Two jobs need the declared types rather than the data: turning a pydantic error location
into the key path a user wrote (skipping union tags, finding the model that owns a key for
"did you mean" hints), and finding every :data:`~cosim.scenario.types.ScenarioPath` value
in a validated model, however deeply nested (lists, dicts, nested models), to make it
absolute.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .types import SCENARIO_PATH

Loc = tuple[str | int, ...]

_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


def field_key(name: str, info: FieldInfo) -> str:
    """The key a scenario file uses for a field: its alias if it has one, else its name."""
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return info.alias or name


def field_keys(model: type[BaseModel]) -> list[str]:
    """Every key a scenario file may use in ``model``'s table."""
    return [field_key(name, info) for name, info in model.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str | int) -> tuple[str, FieldInfo] | None:
    for name, info in model.model_fields.items():
        if key in (name, field_key(name, info)):
            return name, info
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _strip(tp: Any) -> tuple[Any, bool]:
    """Remove ``Annotated`` and ``None`` from a union; the flag says whether the
    ``Annotated`` metadata (at any level removed) carries the ScenarioPath marker."""
    marked = False
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            marked = marked or any(m is SCENARIO_PATH for m in tp.__metadata__)
            tp = tp.__origin__
        elif _is_union(tp):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp, marked
            tp = args[0]
        else:
            return tp, marked


def _union_member(tp: Any, tag: str | int) -> Any:
    """The member of union ``tp`` that pydantic names ``tag`` in an error location."""
    for arg in typing.get_args(tp):
        inner, _ = _strip(arg)
        if _is_model(inner) and inner.__name__ == tag:
            return inner
    return None


def walk_loc(model: type[BaseModel], loc: Loc) -> tuple[Loc, type[BaseModel] | None]:
    """Follow a pydantic error ``loc`` through ``model``'s annotations.

    Returns the location as scenario keys (union member tags removed; ``"[key]"`` kept for
    dict-key errors) and the model that owns the last key (for extra/missing-key hints).
    Unknown territory (``Any``, plain dicts) keeps the remaining parts unchanged."""
    out: list[str | int] = []
    tp: Any = model
    owner: type[BaseModel] | None = model
    i = 0
    while i < len(loc):
        part = loc[i]
        tp, _ = _strip(tp) if tp is not None else (None, False)
        if part == "[key]":
            out.append(part)
        elif _is_model(tp):
            owner = tp
            out.append(part)
            found = _field_by_key(tp, part)
            tp = found[1].annotation if found else None
            if found and found[1].metadata:  # Annotated[...] metadata moved onto the field
                tp = typing.Annotated[(tp, *found[1].metadata)]  # type: ignore[valid-type]
        elif _is_union(tp):
            tp = _union_member(tp, part)  # the tag is not a key: skip it
        elif typing.get_origin(tp) in _MAPPINGS:
            out.append(part)
            args = typing.get_args(tp)
            tp = args[1] if len(args) == 2 else None
        elif typing.get_origin(tp) in _SEQUENCES:
            out.append(part)
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            tp = args[0] if len(args) == 1 else None
        else:
            out.append(part)
            tp = None
            owner = None
        i += 1
    return tuple(out), owner


def _absolute(path: Path, base_dir: Path) -> Path:
    path = path.expanduser()
    if not path.is_absolute():
        path = base_dir / path
    return Path(os.path.normpath(path))


def _resolve(value: Any, tp: Any, loc: Loc, base_dir_for: Callable[[Loc], Path]) -> Any:
    tp, marked = _strip(tp)
    if isinstance(value, BaseModel):
        return resolve_paths(value, base_dir_for, loc)
    if value is None or tp is None:
        return value
    if _is_union(tp):
        for arg in typing.get_args(tp):
            inner, _ = _strip(arg)
            kind = typing.get_origin(inner) or inner
            if isinstance(kind, type) and isinstance(value, kind):
                return _resolve(value, arg, loc, base_dir_for)
        return value
    if isinstance(value, Path):
        return _absolute(value, base_dir_for(loc)) if marked else value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if isinstance(value, dict) and origin in _MAPPINGS and len(args) == 2:
        return {k: _resolve(v, args[1], (*loc, k), base_dir_for) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and origin in _SEQUENCES and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [_resolve(v, a, (*loc, i), base_dir_for) for i, (v, a) in enumerate(zip(value, args))]
        else:
            items = [_resolve(v, args[0], (*loc, i), base_dir_for) for i, v in enumerate(value)]
        return type(value)(items)
    return value


def resolve_paths(model: BaseModel, base_dir_for: Callable[[Loc], Path], loc: Loc = ()) -> BaseModel:
    """A copy of ``model`` in which every relative ``ScenarioPath`` is made absolute.

    ``base_dir_for(key_path)`` gives the directory a relative path set at ``key_path`` (a
    tuple of scenario keys, e.g. ``("components", "drive", "file")``) resolves against.
    Models are copied, never mutated (component configurations are frozen)."""
    updates = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        tp = info.annotation
        if info.metadata:
            tp = typing.Annotated[(tp, *info.metadata)]  # type: ignore[valid-type]
        new = _resolve(value, tp, (*loc, field_key(name, info)), base_dir_for)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model
