"""Errors that cosim reports to users.

Every error a user can cause (a bad scenario, a coupling that cannot work, a component that
fails) derives from :class:`CosimError`; its message is one or a few lines that name the
cause and where it happened. The CLI prints the message and exits non-zero; a traceback is
only shown with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CosimError(Exception):
    """Base class of all errors a user can cause or act on."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a scenario file.

    ``key`` is the dotted key path (``components.pack.layers``), ``line`` the 1-based line in
    ``file`` where the key is written, when it could be found.
    """

    key: str
    message: str
    file: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = self.key or "(top level)"
        return f"{where}{key}: {self.message}"


class ScenarioError(CosimError):
    """A scenario file (or a set of them) has problems; all are listed at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class CouplingError(CosimError):
    """The connections between components cannot work (unknown port, unit or shape
    mismatch, algebraic loop, bad order)."""


class ComponentError(CosimError):
    """A component failed while the run was going; names the component, time and phase."""

    def __init__(self, component: str, phase: str, time: float | None, cause: str):
        self.component = component
        self.phase = phase
        self.time = time
        self.cause = cause
        at = f" at t = {time:g} s" if time is not None else ""
        super().__init__(f"component '{component}' failed in {phase}{at}: {cause}")


class RunInterrupted(CosimError):
    """The run was stopped by the user (Ctrl-C / SIGINT, SIGTERM)."""


class ResultExistsError(CosimError):
    """The result file exists and overwriting was not asked for."""


class ResultFileError(CosimError):
    """The result file cannot be created or written (a folder that cannot be made or
    written, a full disk)."""
