"""State of charge of an assembled battery from its unit cells, weighted by capacity.

A unit cell's SOC is the lithium in its negative electrode within the electrode's SOC
window (the cell models' ``soc`` output), so its charge ``q = soc Q`` with the capacity

    Q = sum over the negative electrode's materials of eps_s c_max L A F (sto100 - sto0)  [C]

and ``dq/dt = -I`` exactly (the models conserve lithium).

Pack SOC (this module's definition): the charge the pack can still deliver over the charge
it holds when full,

    SOC = sum_s min_i q_si / sum_s min_i Q_si

over the strings ``s`` and the series cells ``i`` of each string: a string can deliver
charge until its emptiest cell is empty, and it holds at most what its smallest cell holds.
Every cell of a string carries the string current, so the differences between the charges
of a string's cells stay constant and ``d(min_i q_si)/dt = -I_s``; hence

    dSOC/dt = -I_pack / Q_pack,   Q_pack = sum_s min_i Q_si,

whatever the split of the current between the strings. With every cell at one SOC at the
start (as the pack starts: ``initial_soc``), a string's emptiest cell is its smallest one
and stays so, and the pack SOC is the capacity-weighted mean over the strings of the SOC of
each string's smallest cell. Without spread it is the plain mean of the cells' SOC.
"""

from __future__ import annotations

import numpy as np

from ..cell.params import F, CellParams

__all__ = ["cell_capacity_C", "pack_soc", "string_capacity_C"]


def cell_capacity_C(params: CellParams) -> np.ndarray:
    """Capacity [C] of every unit cell, shape ``(n_cells,)``: the charge between SOC 0 and 1
    (lithium of the negative electrode's SOC window)."""
    neg = params.negative
    q = np.zeros(params.n_cells)
    for m in neg.materials:
        q = q + m.volume_fraction * m.c_max_mol_m3 * (m.sto_at_soc100 - m.sto_at_soc0)
    return q * neg.thickness_m * params.area_m2 * F


def string_capacity_C(cell_capacity: np.ndarray, n_strings: int) -> np.ndarray:
    """Capacity [C] of every string: that of its smallest cell."""
    return np.asarray(cell_capacity).reshape(n_strings, -1).min(axis=1)


def pack_soc(cell_soc: np.ndarray, cell_capacity: np.ndarray, n_strings: int) -> float:
    """Pack SOC (module docstring) from every cell's SOC and capacity [C] (C order, string
    first)."""
    q = (np.asarray(cell_soc) * cell_capacity).reshape(n_strings, -1)
    return float(q.min(axis=1).sum() / string_capacity_C(cell_capacity, n_strings).sum())
