"""Tests of cosim.provenance."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

import cosim
from cosim import provenance
from cosim.provenance import git_commit, run_attrs, sha256_file


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(str(empty)) == hashlib.sha256(b"").hexdigest()


def _git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    _git(repo, "init", "-q")
    assert git_commit(repo) is None  # no commit yet
    tracked = repo / "pkg" / "model.py"
    tracked.write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert len(head) == 40

    assert git_commit(repo) == head
    assert git_commit(tracked) == head  # a file inside the work tree
    assert git_commit(repo / "pkg") == head

    tracked.write_text("x = 2\n")
    assert git_commit(tracked) == head + "+dirty"
    _git(repo, "checkout", "--", ".")
    assert git_commit(repo) == head


def test_git_commit_outside_repo_and_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_commit(plain) is None
    assert git_commit(tmp_path / "does" / "not" / "exist") is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # git cannot be found
    assert git_commit(plain) is None


def test_run_attrs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "scenario.toml"
    text = '[run]\nend_s = 10.0\n\n[components.pack]\ntype = "pack"\n'
    scenario.write_text(text)
    table = tmp_path / "ocv.csv"
    table.write_text("soc,ocv\n0,3.0\n1,4.2\n")
    resolved = json.dumps({"run": {"end_s": 10.0, "dt_s": 1.0}})

    monkeypatch.setattr(provenance, "_source_commit", lambda: "0123abc+dirty")
    attrs = run_attrs(
        scenario_path="scenario.toml",
        scenario_text=text,
        resolved_scenario_json=resolved,
        files=[scenario, table, tmp_path / "missing.fmu"],
    )
    assert all(isinstance(v, str) for v in attrs.values())
    assert attrs["source"] == f"cosim {cosim.__version__}"
    assert attrs["cosim_version"] == cosim.__version__
    assert attrs["title"]
    assert attrs["python_version"] == platform.python_version()
    versions = json.loads(attrs["package_versions"])
    assert set(versions) == {"numpy", "scipy", "xarray", "netCDF4", "fmpy", "pydantic"}
    import numpy

    assert versions["numpy"] == numpy.__version__
    assert attrs["git_commit"] == "0123abc+dirty"
    assert attrs["scenario_file"] == "scenario.toml"
    assert attrs["scenario"] == text
    assert attrs["scenario_resolved"] == resolved
    hashes = json.loads(attrs["input_files_sha256"])
    assert hashes == {
        str(scenario): hashlib.sha256(scenario.read_bytes()).hexdigest(),
        str(table): hashlib.sha256(table.read_bytes()).hexdigest(),
    }
    assert attrs["host"] == platform.node()

    # a dict for the resolved scenario is JSON-encoded; an unknown commit omits the key
    monkeypatch.setattr(provenance, "_source_commit", lambda: None)
    attrs = run_attrs(scenario_path=scenario, scenario_text=text, resolved_scenario_json={"a": 1}, files=[])
    assert "git_commit" not in attrs
    assert json.loads(attrs["scenario_resolved"]) == {"a": 1}
    assert attrs["input_files_sha256"] == "{}"


def test_run_attrs_are_storable(tmp_path: Path) -> None:
    """The attributes go into a result file unchanged, including a large scenario."""
    import xarray as xr

    from cosim.recorder import RecordedVariable, Recorder

    big = "# padding\n" * 20000  # 200 kB: beyond HDF5's 64 kB compact-attribute limit
    attrs = run_attrs(scenario_path="s.toml", scenario_text=big, resolved_scenario_json="{}", files=[])
    path = tmp_path / "run.nc"
    with Recorder(path, [RecordedVariable("x", "1", "x")], attrs) as rec:
        rec.record(0.0, [1.0])
    with xr.open_dataset(path, cache=False) as ds:
        for key, value in attrs.items():
            assert ds.attrs[key] == value
