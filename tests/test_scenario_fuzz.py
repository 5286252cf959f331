"""Fuzzing the scenario loader and validator with mutants of the shipped scenarios.

Hypothesis draws, per example, a shipped scenario and one mutation: a value of the wrong
type or an edge number put at any key, a key deleted, added or misspelt, a connection to
random ports, a strange ``extends``/``replace``/``remove``, or the file's text truncated,
a line repeated or bytes flipped. :data:`N_MUTANTS` mutants per run are validated
in-process: every rejection must be a :class:`~cosim.errors.CosimError` whose problems
name a key or a line, never another exception. A sample of the accepted ones (a tenth of the mutants of
the quickly built scenarios) goes on through everything a run checks before its first
step, and a quarter of those run three steps:
again only CosimErrors may come out.
"""
from __future__ import annotations

import math
from collections import Counter
import shutil
import tomllib
import zlib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.errors import CosimError, ScenarioError
from cosim.run import check_runnable, run_scenario
from cosim.scenario import load_scenario

N_MUTANTS = 10_000
#: how far the mutants got (checked by the last test: the fuzzing must reach every stage)
SEEN: Counter = Counter()
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.relative_to(ROOT / "scenarios") for p in (ROOT / "scenarios").rglob("*.toml"))
# runs of the plan and of a few steps: scenarios whose set-up is quick (no 384-cell pack)
QUICK = {Path(n) for n in ("cell_1C_discharge_chen2020.toml", "hppc_chen2020.toml", "wltc3b_trace.toml",
                           "hev_us06.toml", "hev_jp1015.toml")}

EDGE_VALUES = [0, -1, 1, 3, 2**63 - 1, -(2**63), 0.0, -0.0, 1e-300, 5e-324, 1e308, -1e308, math.inf, -math.inf,
               math.nan, True, False, "", "x" * 300, "nope", "chen2020", "../", [], [1, 2], ["a"], {}, {"a": 1},
               [{"a": 1}], "1e3", 1e-6, 1e9]
NAMES = ["vehicle", "pack", "thermal", "cell", "cycle", "load", "pulses", "nope", "f"]
PORTS = ["speed_mps", "battery_power_W", "power_setpoint_W", "current_setpoint_A", "heat_W", "voltage_V",
         "layer_temperature_K", "power_limit_W", "battery_power_limit_W", "nope", "temperature_K"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A copy of scenarios/ (data files included), where the mutants are written beside the
    files they extend."""
    out = tmp_path_factory.mktemp("fuzz") / "scenarios"
    shutil.copytree(ROOT / "scenarios", out)
    return out


def _paths(value, loc=()):
    """Every key path of a TOML document (tables, arrays and leaves)."""
    yield loc
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*loc, i))


def _parent(doc, loc):
    for part in loc[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutants(draw):
    """(scenario relative path, mutant text or bytes, what was done)."""
    rel = draw(st.sampled_from(SHIPPED))
    text = (ROOT / "scenarios" / rel).read_text()
    doc = tomllib.loads(text)
    kind = draw(st.sampled_from(["value", "delete", "add", "rename", "connection", "extends", "directive",
                                 "truncate", "repeat", "flip"]))
    paths = [p for p in _paths(doc) if p]
    if kind == "value":
        loc = draw(st.sampled_from(paths))
        _parent(doc, loc)[loc[-1]] = draw(st.sampled_from(EDGE_VALUES))
    elif kind == "delete":
        loc = draw(st.sampled_from(paths))
        del _parent(doc, loc)[loc[-1]]
    elif kind == "add":
        tables = [p for p in [(), *paths] if isinstance(_parent(doc, (*p, None)) if p else doc, dict)]
        loc = draw(st.sampled_from(tables))
        table = _parent(doc, (*loc, None)) if loc else doc
        table[draw(st.sampled_from(["nope", "stop_time", "type", "fmu", "extends", "iterate"]))] = \
            draw(st.sampled_from(EDGE_VALUES))
    elif kind == "rename":
        keys = [p for p in paths if isinstance(p[-1], str)]
        loc = draw(st.sampled_from(keys))
        parent = _parent(doc, loc)
        parent[loc[-1] + draw(st.sampled_from(["s", "_", "X"]))] = parent.pop(loc[-1])
    elif kind == "connection":
        end = st.builds(lambda c, p: f"{c}.{p}", st.sampled_from(NAMES), st.sampled_from(PORTS))
        conn = {"from": draw(end), "to": draw(end)}
        for flag in ("delayed", "iterate"):
            if draw(st.booleans()):
                conn[flag] = draw(st.sampled_from([True, False, 1, "yes"]))
        doc.setdefault("connections", []).append(conn)
    elif kind == "extends":
        doc["extends"] = draw(st.sampled_from([str(p) for p in SHIPPED] + ["mutant.toml", "nope.toml", "", "..",
                                                                           "/", "x" * 300, 3, []]))
    elif kind == "directive":
        doc[draw(st.sampled_from(["replace", "remove"]))] = draw(st.sampled_from(
            [["connections"], ["components.pack.parameter_set"], ["nope"], "connections", [3], [""],
             ["components"], ["simulation.step_s"], ["output"]]))
    try:
        out = tomli_w.dumps(doc)
    except (TypeError, ValueError, OverflowError):  # not writable as TOML (e.g. NaN inside arrays)
        out = text
    if kind == "truncate":
        out = out[: draw(st.integers(0, len(out)))]
    elif kind == "repeat":
        lines = out.splitlines(keepends=True)
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        out = "".join(lines[: i + 1] + lines[i:])
    elif kind == "flip":
        raw = bytearray(out.encode())
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        return rel, bytes(raw), kind
    return rel, out.encode(), kind


def _assert_named(exc: CosimError) -> None:
    if isinstance(exc, ScenarioError):
        for p in exc.problems:
            assert p.key or p.line or p.file, f"a problem without key, line or file: {p}"


@settings(max_examples=N_MUTANTS, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(mutant=mutants())
def test_mutants_are_accepted_or_refused_with_a_cosim_error(folder, tmp_path_factory, mutant):
    rel, raw, kind = mutant
    sample = zlib.crc32(raw) % 400  # the samples by a hash (hypothesis' own draws favour 0)
    path = folder / rel.parent / "mutant.toml"
    path.unlink(missing_ok=True)  # (rewriting a file in place makes ext4 flush it: 3 ms, not 0.04)
    path.write_bytes(raw)
    SEEN[kind] += 1
    try:
        loaded = load_scenario(path)
    except CosimError as exc:
        _assert_named(exc)
        SEEN["refused"] += 1
        return
    SEEN["accepted"] += 1
    if rel not in QUICK or sample % 10:  # a tenth of the quick ones go on
        return
    SEEN["planned"] += 1
    try:
        check_runnable(loaded)
    except CosimError as exc:
        _assert_named(exc)
        return
    if sample % 40:  # a quarter of those run three steps
        return
    sim = loaded.scenario.simulation
    short = path.with_name("mutant_short.toml")
    short.unlink(missing_ok=True)
    short.write_text(f'extends = "mutant.toml"\n[simulation]\nstop_time_s = {sim.start_time_s + 3 * sim.step_s!r}\n')
    SEEN["ran"] += 1
    try:
        run_scenario(load_scenario(short), output=tmp_path_factory.mktemp("run") / "r.nc")
    except CosimError as exc:
        _assert_named(exc)


def test_the_fuzzing_reached_every_stage():
    """Not vacuous: every kind of mutation was drawn, many mutants were refused and many
    accepted, and some went through the plan and a short run."""
    if not SEEN:
        pytest.skip("runs after the fuzz test, in the same session")
    total = SEEN["accepted"] + SEEN["refused"]
    assert total >= N_MUTANTS
    for kind in ("value", "delete", "add", "rename", "connection", "extends", "directive", "truncate", "repeat",
                 "flip"):
        assert SEEN[kind] >= N_MUTANTS // 50, (kind, SEEN)
    assert SEEN["refused"] >= total // 5 and SEEN["accepted"] >= total // 10, SEEN
    assert SEEN["planned"] >= 10 and SEEN["ran"] >= 2, SEEN
