"""Components: the models the orchestrator couples (see :mod:`cosim.components.base`)."""

from .base import Causality, Component, ComponentConfig, EndOfRun, EnergyBooks, Port, StepRejected
from .registry import available, get, register

# the built-in types (registry.BUILTIN) are imported when first asked for: see registry.get

__all__ = [
    "Causality",
    "Component",
    "ComponentConfig",
    "EndOfRun",
    "EnergyBooks",
    "Port",
    "StepRejected",
    "available",
    "get",
    "register",
]
