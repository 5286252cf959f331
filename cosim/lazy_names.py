"""Names of a package imported from its modules when first used (PEP 562).

``__getattr__, __dir__ = lazy_names(__name__, {"name": "module", ...}, __all__)`` in a
package's ``__init__``: ``package.name`` imports ``package.module`` on first access and keeps
the value in the package's namespace; an unknown name is an AttributeError. Used where a
package's names must not cost their imports up front (``cosim.scenario``: component modules
import its types without a cycle; ``cosim.sweep``: ``cosim --help`` stays fast).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def lazy_names(package: str, where: Mapping[str, str],
               exported: Iterable[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``."""
    exported = tuple(exported)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exported})

    return __getattr__, __dir__
