"""Registry of component types, looked up by the scenario's ``type = "..."``.

Built-in components register themselves when their module is imported; the registry imports
a built-in's module only when its type is first asked for (:data:`BUILTIN`: a run of profiles
never imports the thermal network's scipy or the vehicle model), and every one of them for
:func:`available`. Other packages add theirs through the ``cosim.components`` entry-point group
(the value is a ``module:Class``; read when a type is neither registered nor built in, and for
:func:`available`), and tests register doubles with :func:`register`.
"""

from __future__ import annotations

import difflib
from importlib import import_module

from .base import Component, ComponentConfig

_TYPES: dict[str, type[Component]] = {}
_entry_points_loaded = False

#: the built-in component types: type name -> the module that registers it on import
BUILTIN: dict[str, str] = {
    "cell": "cosim.components.cell_core",
    "pack": "cosim.components.pack",
    "profile": "cosim.components.profile",
    "thermal": "cosim.components.thermal",
    "vehicle": "cosim.components.vehicle",
    "fmu": "cosim.fmu.component",
}


def register(cls: type[Component]) -> type[Component]:
    """Register a component class under its ``type_name`` (usable as a decorator)."""
    if not cls.type_name:
        raise ValueError(f"{cls.__qualname__} has no type_name")
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, ComponentConfig)):
        raise TypeError(f"{cls.__qualname__}.Config must subclass ComponentConfig")
    other = _TYPES.get(cls.type_name)
    if other is not None and other is not cls:
        raise ValueError(
            f"component type {cls.type_name!r} is already registered by {other.__module__}.{other.__qualname__}"
        )
    _TYPES[cls.type_name] = cls
    return cls


def unregister(type_name: str) -> None:
    _TYPES.pop(type_name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib import metadata  # only when a plugin may be needed (a few ms at start-up)

    for module in BUILTIN.values():
        import_module(module)
    for ep in metadata.entry_points(group="cosim.components"):
        register(ep.load())


def available() -> list[str]:
    """Names of every registered component type, sorted."""
    _load_entry_points()
    return sorted(_TYPES)


def get(type_name: str) -> type[Component]:
    """The class registered as ``type_name``; KeyError with a 'did you mean' hint if none."""
    if type_name not in _TYPES and type_name in BUILTIN:
        import_module(BUILTIN[type_name])  # registers it
    if type_name not in _TYPES:
        _load_entry_points()
    try:
        return _TYPES[type_name]
    except KeyError:
        close = difflib.get_close_matches(type_name, list(_TYPES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"unknown component type {type_name!r}{hint} (known: {', '.join(sorted(_TYPES)) or 'none'})"
        ) from None
