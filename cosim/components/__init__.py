"""Components: the models the orchestrator couples (see :mod:`cosim.components.base`)."""

from .base import Causality, Component, ComponentConfig, Port, StepRejected
from .registry import available, get, register

from . import profile as _profile  # noqa: E402,F401  (registers the built-in types)

__all__ = [
    "Causality",
    "Component",
    "ComponentConfig",
    "Port",
    "StepRejected",
    "available",
    "get",
    "register",
]
