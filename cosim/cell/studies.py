"""Small studies on single unit cells: the seed's thin-layer trade-off.

:func:`layer_thickness_tradeoff` scales the negative layer (and the positive with it, so
the negative/positive capacity ratio stays that of the parameter set) and reports, per
thickness, the capacity of one layer and the voltage drop of a discharge pulse at a fixed
areal current density. Thin layers polarize less (electrolyte and solid-state transport
paths are shorter, and the same areal current is spread over less material at a higher
rate, so the drop also includes that); the capacity per layer falls in proportion.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .params import F, CellParams
from .spme import SPMe


@dataclass(frozen=True)
class TradeoffRow:
    negative_thickness_m: float
    positive_thickness_m: float
    capacity_Ah_per_m2: float  # between 0 and 100 % SOC
    pulse_drop_V: float  # rest voltage minus voltage at the end of the pulse
    polarization_V: float  # open-circuit voltage minus voltage at the end of the pulse
    end_voltage_V: float


#: a layer is at least this many particle radii thick (two particle diameters)
RADII_PER_LAYER = 4.0


def scaled_layers(params: CellParams, negative_thickness_m: float) -> CellParams:
    """The same cell with the negative layer at ``negative_thickness_m`` and the positive
    scaled by the same factor (balance kept). A layer cannot hold particles larger than
    itself: particle radii are capped at a quarter of the layer thickness (two particle
    diameters across the layer), as a thin layer is made of correspondingly fine powder."""
    k = negative_thickness_m / params.negative.thickness_m

    def thinner(el):
        L = el.thickness_m * k
        mats = tuple(replace(m, particle_radius_m=np.minimum(m.particle_radius_m, L / RADII_PER_LAYER))
                     for m in el.materials)
        return replace(el, thickness_m=L, materials=mats)

    return replace(params, negative=thinner(params.negative), positive=thinner(params.positive))


def window_capacity_As_per_m2(params: CellParams) -> np.ndarray:
    """Charge the negative exchanges between 0 and 100 % SOC, per electrode area."""
    el = params.negative
    return sum(
        m.volume_fraction * el.thickness_m * m.c_max_mol_m3 * F * np.abs(m.sto_at_soc100 - m.sto_at_soc0)
        for m in el.materials
    )


def layer_thickness_tradeoff(
    params: CellParams,
    thicknesses_m,
    *,
    current_density_A_m2: float = 10.0,
    pulse_s: float = 10.0,
    soc: float = 0.5,
    T_K: float = 298.15,
    step_s: float = 0.5,
) -> list[TradeoffRow]:
    """One SPMe batch, one cell per thickness (see the module docstring)."""
    thicknesses = list(thicknesses_m)
    cells = [scaled_layers(params, t).at_soc(soc) for t in thicknesses]
    batch = _stack(cells)
    model = SPMe(batch)
    current = current_density_A_m2 * np.asarray(batch.area_m2)
    rest = model.rest_outputs(T_K)["voltage_V"].copy()
    for _ in range(int(round(pulse_s / step_s))):
        out = model.step(step_s, T_K, current_A=current)
    cap = window_capacity_As_per_m2(batch) / 3600.0
    return [
        TradeoffRow(t, float(batch.positive.thickness_m[i]), float(cap[i]), float(rest[i] - out["voltage_V"][i]),
                    float(out["ocv_V"][i] - out["voltage_V"][i]), float(out["voltage_V"][i]))
        for i, t in enumerate(thicknesses)
    ]


def _stack(cells: list[CellParams]) -> CellParams:
    """Cells that differ only in per-cell arrays, as one batch."""
    first = cells[0]

    def cat(get):
        return np.concatenate([np.atleast_1d(get(c)) for c in cells])

    def electrode(side):
        el0 = getattr(first, side)
        mats = tuple(
            replace(m0, **{f: cat(lambda c, i=i, f=f: getattr(getattr(c, side).materials[i], f))
                           for f in ("volume_fraction", "particle_radius_m", "c_max_mol_m3", "sto_initial",
                                     "sto_at_soc0", "sto_at_soc100", "diffusivity_m2_s", "rate_constant")})
            for i, m0 in enumerate(el0.materials)
        )
        return replace(el0, materials=mats, **{f: cat(lambda c, f=f: getattr(getattr(c, side), f))
                                                for f in ("thickness_m", "porosity", "bruggeman", "conductivity_S_m")})

    return replace(
        first,
        n_cells=sum(c.n_cells for c in cells),
        area_m2=cat(lambda c: c.area_m2),
        negative=electrode("negative"),
        positive=electrode("positive"),
        separator=replace(first.separator, **{f: cat(lambda c, f=f: getattr(c.separator, f))
                                              for f in ("thickness_m", "porosity", "bruggeman")}),
        electrolyte=replace(first.electrolyte, c_initial_mol_m3=cat(lambda c: c.electrolyte.c_initial_mol_m3)),
        contact_resistance_Ohm=cat(lambda c: np.broadcast_to(c.contact_resistance_Ohm, (c.n_cells,))),
    )
