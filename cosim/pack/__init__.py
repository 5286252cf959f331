"""Bipolar stacks and assembled batteries (series stacks, parallel strings) around the cell core."""

from .assembly import AssembledBattery, Layout

__all__ = ["AssembledBattery", "Layout"]
