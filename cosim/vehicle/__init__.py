"""Vehicle models: drive cycles (:mod:`.cycles`) and the longitudinal model that turns a
speed trace into battery power (:mod:`.longitudinal`). The co-simulation component is
:mod:`cosim.components.vehicle` (type ``"vehicle"``)."""

from .cycles import CYCLES_DIR, WLTC_PHASES, Cycle, CycleStats, available_cycles, load_cycle
from .longitudinal import (
    VEHICLES_DIR,
    Vehicle,
    VehicleSpec,
    available_vehicles,
    backward,
    load_vehicle,
    load_vehicle_spec,
    summary,
)

__all__ = [
    "CYCLES_DIR",
    "VEHICLES_DIR",
    "WLTC_PHASES",
    "Cycle",
    "CycleStats",
    "Vehicle",
    "VehicleSpec",
    "available_cycles",
    "available_vehicles",
    "backward",
    "load_cycle",
    "load_vehicle",
    "load_vehicle_spec",
    "summary",
]
