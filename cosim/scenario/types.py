"""Field types shared by scenario models and component configurations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field


class _ScenarioPathMarker:
    """Marks a ``Path`` field whose relative value resolves against the directory of the
    scenario file that sets it (not the current directory)."""

    def __repr__(self) -> str:
        return "ScenarioPath"


SCENARIO_PATH = _ScenarioPathMarker()

#: A file path in a scenario; relative paths resolve against the scenario file's directory.
#: TOML gives strings, so the field accepts ``str`` even in strict mode.
ScenarioPath = Annotated[Path, Field(strict=False), SCENARIO_PATH]
