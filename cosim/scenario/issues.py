"""Readable validation issues: a key path plus a message saying what was expected.

The loader turns each :class:`Issue` into a :class:`cosim.errors.Problem` by adding the file
and line the key comes from. Pydantic's error records are translated here, so users never
see pydantic's raw text.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from .fields import field_keys, walk_loc

Loc = tuple[str | int, ...]


class Issue(NamedTuple):
    """One problem at a key path (``("connections", 2, "to")``), not yet tied to a file."""

    loc: Loc
    message: str

    @property
    def key(self) -> str:
        """The dotted key path, ``connections.2.to``."""
        return dotted(self.loc)


def dotted(loc: Sequence[str | int]) -> str:
    """``("connections", 2, "to")`` -> ``"connections.2.to"``."""
    return ".".join(str(part) for part in loc)


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def describe(value: Any) -> str:
    """How a TOML value is named in messages: ``string 'abc'``, ``integer 3``, ``a table``."""
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"string {text!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, _dt.datetime):
        return f"date-time {value.isoformat()}"
    if isinstance(value, _dt.date):
        return f"date {value.isoformat()}"
    if isinstance(value, _dt.time):
        return f"time {value.isoformat()}"
    return type(value).__name__


_EXPECTED = {
    "float_type": "a number (float)",
    "float_parsing": "a number (float)",
    "finite_number": "a finite number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
    "string_type": "a string",
    "list_type": "an array",
    "tuple_type": "an array",
    "set_type": "an array",
    "frozen_set_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dataclass_type": "a table",
    "path_type": "a path (string)",
    "date_type": "a date",
    "datetime_type": "a date-time",
    "time_type": "a time",
    "none_required": "nothing (leave the key out)",
}

_BOUNDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "multiple_of": ("multiple_of", "must be a multiple of {}"),
}


def _message(err: dict[str, Any], model: type[BaseModel] | None, key: str | int | None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        hint = did_you_mean(str(key), field_keys(model)) if model is not None else ""
        return f"unknown key {str(key)!r}{hint}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected', '?')}, got {describe(value)}"
    if kind in _BOUNDS:
        name, text = _BOUNDS[kind]
        bound = ctx.get(name)
        shown = f"{bound:g}" if isinstance(bound, float) else bound
        return f"{text.format(shown)}, got {describe(value)}"
    if kind in ("too_short", "string_too_short"):
        unit = "character" if kind.startswith("string") else "item"
        n = ctx.get("min_length")
        return f"expected at least {n} {unit}{'s' if n != 1 else ''}, got {describe(value)}"
    if kind in ("too_long", "string_too_long"):
        unit = "character" if kind.startswith("string") else "item"
        n = ctx.get("max_length")
        return f"expected at most {n} {unit}{'s' if n != 1 else ''}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        return f"{describe(value)} does not match the pattern {ctx.get('pattern')!r}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    msg = str(err.get("msg", kind))
    return f"{msg[:1].lower()}{msg[1:]}, got {describe(value)}"


def from_validation_error(
    exc: ValidationError, model: type[BaseModel], prefix: Loc = ()
) -> list[Issue]:
    """Translate ``exc`` (raised validating ``model``) into issues whose ``loc`` is the key
    path in the scenario file, prefixed by ``prefix``."""
    issues = []
    for err in exc.errors(include_url=False):
        loc, owner = walk_loc(model, tuple(err["loc"]))
        if err["type"] == "extra_forbidden" or err["type"] == "missing":
            key = loc[-1] if loc else None
        else:
            key = None
        message = _message(err, owner, key)
        if loc and loc[-1] == "[key]":  # a dict key failed its own validation
            loc = loc[:-1]
        issues.append(Issue(tuple(prefix) + tuple(loc), message))
    return _merge_alternatives(issues)


def _merge_alternatives(issues: list[Issue]) -> list[Issue]:
    """Join the errors of a union's members at one key: ``expected a number (float), got
    string 's'`` and ``expected an array, got string 's'`` become ``expected a number
    (float) or an array, got string 's'``."""
    out: list[Issue] = []
    where: dict[Loc, int] = {}
    for issue in issues:
        head, sep, got = issue.message.rpartition(", got ")
        n = where.get(issue.loc)
        if sep and head.startswith("expected ") and n is not None:
            prev_head, _, prev_got = out[n].message.rpartition(", got ")
            if prev_got == got and prev_head.startswith("expected "):
                out[n] = Issue(issue.loc, f"{prev_head} or {head[len('expected '):]}, got {got}")
                continue
        where[issue.loc] = len(out)
        out.append(issue)
    return out
