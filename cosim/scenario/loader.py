"""Loading scenario files: TOML, ``extends`` chains, validation, path resolution.

``load_scenario(path)`` reads a TOML scenario, loads the file it ``extends`` (recursively,
relative to the extending file), deep-merges the child over the base, validates the result
and makes every relative
``ScenarioPath`` absolute against the directory of the file that set it. Every problem is
reported at once in one :class:`~cosim.errors.ScenarioError`, each with its dotted key,
the file that set the key and the line it is written on.

The merge rules (a child over its base):

1. tables merge key by key; a component table that names another ``type`` or an ``fmu``
   replaces the base's (the old model's keys mean nothing to the new);
2. arrays of tables (``[[connections]]``) append: the child's entries follow the base's;
3. everything else (scalars, arrays of values such as ``time_s`` or ``variables``) replaces;
4. ``replace = ["dotted.key", ...]`` in the child: those keys replace the base's value
   whole instead of merging or appending (``replace = ["connections"]``);
5. ``remove = ["dotted.key", ...]`` in the child: those keys of the base are deleted before
   the merge (``remove = ["components.pack.parameter_set"]`` to switch to a
   ``parameter_file``); a key the base does not set is an error.

``replace`` and ``remove`` act on the merge of the file that writes them and are not
inherited by its children.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, ScenarioError
from .fields import resolve_paths
from .issues import Issue, describe, did_you_mean, dotted
from .model import Scenario, validate_scenario
from .tomlkeys import key_lines

__all__ = ["LoadedScenario", "load_scenario", "parse_dotted_key", "validate_files"]

Key = tuple[str | int, ...]

_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and the files it was read from.

    ``path`` is the scenario file (absolute), ``text`` its own TOML text, ``texts`` the text
    of every file read (the file and all it extends) keyed by absolute path string,
    ``files`` every file read (base files first). ``origins`` maps key paths to the file
    that set them; use :meth:`locate` / :meth:`problem` to point a user at a key."""

    scenario: Scenario
    path: Path
    text: str
    texts: dict[str, str]
    files: list[Path]
    origins: Mapping[Key, Path] = field(default_factory=dict, repr=False, compare=False)

    def locate(self, key: str | Key) -> tuple[Path, int | None]:
        """The file that set ``key`` (``"connections.2.to"`` or a tuple) and its line there."""
        loc = _parse_key(key) if isinstance(key, str) else tuple(key)
        file = _origin(self.origins, loc, self.path)
        return file, _line(self.texts.get(str(file), ""), loc)

    def problem(self, key: str | Key, message: str) -> Problem:
        """A :class:`Problem` at ``key``, with the file and line it comes from."""
        loc = _parse_key(key) if isinstance(key, str) else tuple(key)
        file, line = self.locate(loc)
        return Problem(dotted(loc), message, file, line)


def _parse_key(key: str) -> Key:
    return tuple(int(p) if p.isdigit() else p for p in key.split(".")) if key else ()


def _origin(origins: Mapping[Key, Path], loc: Key, default: Path) -> Path:
    """The file that set ``loc`` or, failing that, its nearest enclosing table."""
    for n in range(len(loc), 0, -1):
        found = origins.get(loc[:n])
        if found is not None:
            return found
    return default


_LINE_CACHE: dict[str, dict[Key, int]] = {}


def _line(text: str, loc: Key) -> int | None:
    """The line where ``loc`` (or, failing that, its nearest enclosing key) is written."""
    lines = _LINE_CACHE.get(text)
    if lines is None:
        lines = key_lines(text)
        if len(_LINE_CACHE) > 64:
            _LINE_CACHE.clear()
        _LINE_CACHE[text] = lines
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


@dataclass
class _Merged:
    """Merged data of a file and all it extends, with the file each key comes from."""

    data: dict[str, Any]
    origins: dict[Key, Path]
    texts: dict[str, str]
    files: list[Path]


def _leaf_origins(value: Any, loc: Key, file: Path, out: dict[Key, Path]) -> None:
    out[loc] = file
    if isinstance(value, dict):
        for k, v in value.items():
            _leaf_origins(v, (*loc, k), file, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _leaf_origins(v, (*loc, i), file, out)


def _replaces(loc: Key, child: dict, base: dict) -> bool:
    """A component table that changes the model (another ``type``, or an ``fmu``) replaces
    the base's table instead of merging into it: the old model's keys mean nothing to the new."""
    if loc != ("components",):
        return False
    return "fmu" in child or ("type" in child and child["type"] != base.get("type"))


def _merge(base: dict, child: dict, loc: Key, file: Path, origins: dict[Key, Path],
           replace: frozenset[Key] = frozenset()) -> dict:
    """Deep-merge ``child`` (from ``file``) over ``base`` by the module's rules 1-4;
    ``origins`` is updated for every key the child sets."""
    out = dict(base)
    for key, value in child.items():
        here = (*loc, key)
        old = out.get(key)
        if here not in replace and isinstance(value, dict) and isinstance(old, dict) \
                and not _replaces(loc, value, old):
            origins[here] = file
            out[key] = _merge(old, value, here, file, origins, replace)
        elif here not in replace and _tables(value) and _tables(old):
            for i, item in enumerate(value, start=len(old)):  # rule 2: append
                _leaf_origins(item, (*here, i), file, origins)
            out[key] = [*old, *value]
        else:
            for stale in [k for k in origins if k[: len(here)] == here]:
                del origins[stale]
            _leaf_origins(value, here, file, origins)
            out[key] = value
    return out


def _tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _directive(data: dict, name: str, path: Path, text: str) -> list[Key]:
    """The dotted keys of a ``replace``/``remove`` list (taken out of ``data``)."""
    value = data.pop(name, None)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip(".") == v and v for v in value):
        raise ScenarioError([Problem(name, f"expected a list of dotted keys (strings), got {describe(value)}",
                                     path, _line(text, (name,)))])
    if "extends" not in data:
        raise ScenarioError([Problem(name, f"'{name}' acts on the scenario this file extends; there is none",
                                     path, _line(text, (name,)))])
    return [tuple(v.split(".")) for v in value]


def _remove(base: _Merged, keys: list[Key], path: Path, text: str) -> None:
    """Rule 5: delete ``keys`` from the base's data (and their origins)."""
    for key in keys:
        table = base.data
        for part in key[:-1]:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict) or key[-1] not in table:
            raise ScenarioError([Problem("remove", f"'{'.'.join(key)}' is not set by the base scenario",
                                         path, _line(text, ("remove",)))])
        del table[key[-1]]
        for stale in [k for k in base.origins if k[: len(key)] == key]:
            del base.origins[stale]


def _syntax_problem(exc: tomllib.TOMLDecodeError, file: Path) -> Problem:
    message = str(exc)
    m = _AT_LINE.search(message)
    line = int(m.group(1)) if m else None
    if m:
        message = f"{message[: m.start()]} (column {m.group(2)})"
    return Problem("", f"TOML syntax error: {message}", file, line)


def read_toml(path: Path, what: str) -> tuple[str, dict]:
    """Text and table of a TOML file; a ScenarioError naming the file (and the line of a
    syntax error) if it cannot be read or parsed. ``what`` names the file in the message."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([Problem("", f"cannot read {what}: {reason}", path)]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_syntax_problem(exc, path)]) from None
    except RecursionError:
        raise ScenarioError([Problem("", f"cannot read {what}: arrays or tables nested too deeply", path)]) from None
    if _depth(data) > MAX_DEPTH:
        raise ScenarioError([Problem("", f"cannot read {what}: arrays or tables nested deeper than {MAX_DEPTH} "
                                         "levels", path)])
    return text, data


#: deepest nesting of tables and arrays a scenario may have (the deepest real one has 5)
MAX_DEPTH = 32


def _depth(value: Any, limit: int = MAX_DEPTH + 1) -> int:
    """Nesting depth of tables and arrays, counted no further than ``limit``."""
    if limit <= 0 or not isinstance(value, (dict, list)):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in items), default=0)


def _read(path: Path, chain: tuple[Path, ...]) -> _Merged:
    """Read ``path`` and everything it extends; raise ScenarioError on the first file that
    cannot be read or parsed, or on an extends cycle."""
    text, data = read_toml(path, "the scenario file")
    replace, remove = _directive(data, "replace", path, text), _directive(data, "remove", path, text)
    own_origins: dict[Key, Path] = {}
    _leaf_origins(data, (), path, own_origins)
    del own_origins[()]
    extends = data.get("extends")
    if extends is None:
        return _Merged(data, own_origins, {str(path): text}, [path])
    where = _line(text, ("extends",))
    if not isinstance(extends, str) or not extends:
        raise ScenarioError([Problem(
            "extends", f"expected a file name (string), got {describe(extends)}", path, where
        )])
    base_path = Path(os.path.normpath(path.parent / Path(extends).expanduser()))
    if base_path in chain or base_path == path:
        cycle = " -> ".join(p.name if p.parent == path.parent else str(p) for p in (*chain, path, base_path))
        raise ScenarioError([Problem("extends", f"extends cycle: {cycle}", path, where)])
    try:
        found = base_path.is_file()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ScenarioError([Problem(
            "extends", f"base scenario {str(base_path)!r} cannot be read: {exc.strerror or exc}", path, where
        )]) from None
    if not found:
        raise ScenarioError([Problem(
            "extends", f"base scenario {str(base_path)!r} does not exist", path, where
        )])
    base = _read(base_path, (*chain, path))
    _remove(base, remove, path, text)
    origins = dict(base.origins)
    merged = _merge(base.data, data, (), path, origins, frozenset(replace))
    return _Merged(merged, origins, {**base.texts, str(path): text}, [*base.files, path])


def _problems(issues: Iterable[Issue], merged: _Merged, path: Path) -> list[Problem]:
    problems = []
    for issue in issues:
        file = _origin(merged.origins, issue.loc, path)
        line = _line(merged.texts.get(str(file), ""), issue.loc)
        problems.append(Problem(issue.key, issue.message, file, line))
    order = {str(f): n for n, f in enumerate(merged.files)}
    return sorted(problems, key=lambda p: (order.get(str(p.file), -1), p.line or 10**9))


def parse_dotted_key(key: str) -> Key:
    """A dotted key as TOML writes it (``components.pack.overrides."negative.thickness_m"``)
    split into its parts; a ValueError says what is wrong with it."""
    try:
        data = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{key!r} is not a dotted key ({_AT_LINE.sub('', str(exc))})") from None
    parts: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        (name, data), = data.items()
        parts.append(name)
    if data != 0:
        raise ValueError(f"{key!r} is not one dotted key")
    return tuple(parts)


def _set_keys(merged: _Merged, values: Mapping[str, Any], path: Path) -> None:
    """Set dotted keys in the merged data of a scenario (a sweep's variant). The tables on
    the way must exist down to a component's table; deeper ones are made (the validation
    then names a key the component does not have)."""
    problems = []
    for key, value in values.items():
        try:
            loc = parse_dotted_key(key)
        except ValueError as exc:
            problems.append(Problem(key, str(exc), path))
            continue
        table: Any = merged.data
        for depth, part in enumerate(loc[:-1]):
            if not isinstance(table, dict):
                problems.append(Problem(key, f"{dotted(loc[:depth])} is not a table", path))
                break
            if part not in table:
                optional = (depth == 0 and part in Scenario.model_fields and part != "components") or \
                    (depth >= 2 and loc[0] == "components")
                if not optional:
                    names = [str(k) for k in table]
                    problems.append(Problem(key, f"no table {dotted(loc[: depth + 1])!r} in the scenario"
                                                 f"{did_you_mean(str(part), names)}", path))
                    break
                table[part] = {}
            table = table[part]
        else:
            if not isinstance(table, dict):
                problems.append(Problem(key, f"{dotted(loc[:-1])} is not a table", path))
                continue
            table[loc[-1]] = value
            for stale in [k for k in merged.origins if k[: len(loc)] == loc]:
                del merged.origins[stale]
            merged.origins[loc] = path
    if problems:
        raise ScenarioError(problems)


def load_scenario(path: str | os.PathLike[str], set_keys: Mapping[str, Any] | None = None) -> LoadedScenario:
    """Load, merge, validate and resolve the scenario file at ``path``.

    ``set_keys`` (dotted key -> value, e.g. a sweep's variant) are set in the merged data
    before it is validated. Raises :class:`~cosim.errors.ScenarioError` listing every
    problem found."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    merged = _read(path, ())
    if set_keys:
        _set_keys(merged, set_keys, path)
    scenario, issues = validate_scenario(merged.data)
    if scenario is None:
        raise ScenarioError(_problems(issues, merged, path))

    def base_dir_for(loc: Key) -> Path:
        return _origin(merged.origins, loc, path).parent

    scenario = resolve_paths(scenario, base_dir_for)
    assert isinstance(scenario, Scenario)
    return LoadedScenario(
        scenario=scenario,
        path=path,
        text=merged.texts[str(path)],
        texts=merged.texts,
        files=merged.files,
        origins=merged.origins,
    )


def validate_files(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Load every file in ``paths`` and return all their problems (empty: all valid)."""
    problems: list[Problem] = []
    for path in paths:
        try:
            load_scenario(path)
        except ScenarioError as exc:
            problems += exc.problems
    return problems
