"""Thermal networks: a general sparse RC network (:mod:`.network`) and its layout from the
geometry of an assembled bipolar battery (:mod:`.builder`)."""

from .builder import BOUNDARIES, PackThermalGeometry, PackThermalNetwork, build_pack_network
from .network import EnergyLedger, ThermalNetwork

__all__ = [
    "BOUNDARIES",
    "EnergyLedger",
    "PackThermalGeometry",
    "PackThermalNetwork",
    "ThermalNetwork",
    "build_pack_network",
]
