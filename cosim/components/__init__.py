"""Components: the models the orchestrator couples (see :mod:`cosim.components.base`)."""

from .base import Causality, Component, ComponentConfig, EndOfRun, EnergyBooks, Port, StepRejected
from .registry import available, get, register

from . import cell_core as _cell_core  # noqa: E402,F401  (registers the built-in types)
from . import pack as _pack  # noqa: E402,F401
from . import profile as _profile  # noqa: E402,F401
from . import thermal as _thermal  # noqa: E402,F401
from . import vehicle as _vehicle  # noqa: E402,F401
from ..fmu import component as _fmu  # noqa: E402,F401

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
