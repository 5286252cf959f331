"""Seeded cell-to-cell manufacturing spread of capacity, layer thickness and resistance.

Each unit cell gets three factors ``1 + x`` with ``x`` drawn from a normal distribution of
the given relative standard deviation, truncated at three deviations (no negative
thicknesses), from ``numpy.random.default_rng(seed)``: the same seed gives the same pack.

* capacity: scales the active-material volume fractions of both electrodes;
* thickness: scales the thickness of both electrodes and the separator;
* resistance: scales the unit cell's contact (and collector) resistance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..cell.params import CellParams


@dataclass(frozen=True)
class Spread:
    capacity: np.ndarray
    thickness: np.ndarray
    resistance: np.ndarray


def draw(n_cells: int, *, seed: int, capacity_rel: float = 0.0, thickness_rel: float = 0.0,
         resistance_rel: float = 0.0) -> Spread:
    rng = np.random.default_rng(seed)

    def factors(sigma: float) -> np.ndarray:
        x = np.clip(rng.standard_normal(n_cells), -3.0, 3.0)  # drawn even for sigma = 0: stable streams
        return 1.0 + sigma * x

    return Spread(factors(capacity_rel), factors(thickness_rel), factors(resistance_rel))


def apply(params: CellParams, spread: Spread) -> CellParams:
    """``params`` (one entry per cell) with the spread factors applied."""

    def electrode(el):
        mats = tuple(replace(m, volume_fraction=m.volume_fraction * spread.capacity) for m in el.materials)
        return replace(el, thickness_m=el.thickness_m * spread.thickness, materials=mats)

    return replace(
        params,
        negative=electrode(params.negative),
        positive=electrode(params.positive),
        separator=replace(params.separator, thickness_m=params.separator.thickness_m * spread.thickness),
        contact_resistance_Ohm=np.broadcast_to(params.contact_resistance_Ohm, (params.n_cells,)) * spread.resistance,
    )
