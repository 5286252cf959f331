"""Provenance of a run: what produced a result file, recorded as its global attributes.

:func:`run_attrs` gathers the software versions, the git commit of cosim's source tree, the
scenario (as written and as resolved) and the SHA-256 of every input file, so that a result
can be traced back to, and reproduced from, what made it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "package_versions", "run_attrs", "sha256_file"]

_CHUNK = 1024 * 1024
_GIT_TIMEOUT_S = 5.0
#: Distributions whose versions every result records.
_PACKAGES = ("numpy", "scipy", "xarray", "netCDF4", "fmpy", "pydantic")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _git(cwd: Path, *args: str) -> str | None:
    """Output of ``git -C cwd args`` (stripped), or None if git fails or is missing."""
    return _git_all(cwd, args)[0]


def _git_all(cwd: Path, *commands: tuple[str, ...]) -> list[str | None]:
    """:func:`_git` of each of ``commands``, the processes run at once (start-up: one
    git's latency instead of several)."""
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    procs = []
    for args in commands:
        try:
            procs.append(subprocess.Popen(["git", "-C", str(cwd), *args], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env))
        except (OSError, subprocess.SubprocessError):
            procs.append(None)
    out: list[str | None] = []
    for proc in procs:
        if proc is None:
            out.append(None)
            continue
        try:
            stdout, _ = proc.communicate(timeout=_GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out.append(None)
            continue
        out.append(stdout.strip() if proc.returncode == 0 else None)
    return out


def git_commit(path: str | os.PathLike[str]) -> str | None:
    """The HEAD commit of the git work tree containing ``path`` (a file or a folder), with
    ``+dirty`` appended when ``git status --porcelain`` lists anything (modified, staged or
    untracked files). None if git is missing, ``path`` is not in a work tree, or the
    repository has no commit yet."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not folder.is_dir():
        return None
    head, status = _git_all(folder, ("rev-parse", "--verify", "--quiet", "HEAD"), ("status", "--porcelain"))
    if not head:
        return None
    if status is None:
        return head
    return head + "+dirty" if status else head


_prefetched: list = []  # (thread, its result, its start) of prefetch_source_commit, until used


def prefetch_source_commit(reuse_within_s: float = 0.0) -> None:
    """Start finding :func:`_source_commit` in a thread, for the next :func:`run_attrs` (so
    that git runs while ``cosim run`` imports the rest, or while a run builds its
    components), unless one started within the last ``reuse_within_s`` seconds is pending."""
    import threading
    import time

    now = time.monotonic()
    if _prefetched and now - _prefetched[-1][2] <= reuse_within_s:
        return
    result: dict[str, str | None] = {}
    thread = threading.Thread(target=lambda: result.update(commit=_find_source_commit()), daemon=True,
                              name="cosim-provenance")
    thread.start()
    _prefetched.append((thread, result, now))


def _source_commit() -> str | None:
    """:func:`_find_source_commit`, or the newest prefetched answer (older ones are dropped)."""
    if _prefetched:
        thread, result, _ = _prefetched[-1]
        _prefetched.clear()
        thread.join()
        if "commit" in result:
            return result["commit"]
    return _find_source_commit()


def _find_source_commit() -> str | None:
    """The commit of cosim's own source tree, if it runs from a git checkout (not from an
    installed copy that merely sits inside some other repository)."""
    import cosim

    source = Path(cosim.__file__).resolve().parent
    if any(part in ("site-packages", "dist-packages") for part in source.parts):
        return None
    return git_commit(source)


def package_versions() -> dict[str, str | None]:
    """Installed versions of cosim's main dependencies (None if one is not installed), read
    once per process (about 8 ms: the packages' metadata files; the modules a process has
    imported do not change with a later install)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_attrs(
    *,
    scenario_path: str | os.PathLike[str],
    scenario_text: str,
    resolved_scenario_json: str | dict[str, Any],
    files: Iterable[str | os.PathLike[str]],
) -> dict[str, str]:
    """Global attributes describing a run, for :class:`cosim.recorder.Recorder`.

    ``scenario_path`` is recorded as given, ``scenario_text`` is the scenario file's full
    TOML text, ``resolved_scenario_json`` the scenario after defaults and includes were
    applied (a JSON string, or a dict that is encoded here), and ``files`` the input files
    (FMUs, drive cycles, tables) whose SHA-256 is recorded; files that do not exist are
    skipped.
    """
    import cosim

    if not isinstance(resolved_scenario_json, str):
        resolved_scenario_json = json.dumps(resolved_scenario_json, default=str)
    hashes: dict[str, str] = {}
    for f in files:
        if Path(f).is_file():
            hashes[str(f)] = sha256_file(f)

    attrs: dict[str, str] = {
        "title": f"cosim run of scenario {Path(scenario_path).name}",
        "source": f"cosim {cosim.__version__}",
        "cosim_version": cosim.__version__,
        "python_version": platform.python_version(),
        "package_versions": json.dumps(package_versions()),
    }
    commit = _source_commit()
    if commit is not None:
        attrs["git_commit"] = commit
    attrs.update(
        {
            "scenario_file": str(scenario_path),
            "scenario": scenario_text,
            "scenario_resolved": resolved_scenario_json,
            "input_files_sha256": json.dumps(hashes),
            "host": platform.node(),
        }
    )
    return attrs
