"""Lay out the thermal network of an assembled bipolar battery from its geometry.

An assembled battery has ``n_strings`` parallel strings, each of ``n_stacks`` bipolar stacks
in series, each stack of ``n_layers`` unit cells stacked face to face. Heat leaves a bipolar
stack through its faces (through-plane, conductivity k⊥) or sideways in-plane (k∥) through
the edge seal, so each stack becomes (the network recommended in
``reference/thermal.md`` §3.5)::

    [coolant/ambient] - face path - [end plate] - g0 - g1 - ... - gN-1 - [end plate] - face path - [...]
                                                   \\    |          /
                                                    [frame] - ambient        (optional edge path)

* one node per unit cell, or per group of ``layers_per_node`` cells (the group's heat is
  the sum of its cells', and every cell of the group sees the group's temperature):
  ``C = ρc_p·t·A`` per cell; between the centres of neighbouring groups of m cells
  ``R = m·(t/(k⊥·A) + R''_contact/A)`` (m cell thicknesses and m interlayer contacts);
* end plates (``end_plate_thickness_m > 0``) as one node each at both ends; from the
  outermost group's centre to the plate's centre ``m·t/(2k⊥A) + R''_ep/A + t_ep/(2k_ep·A)``;
* cooling of one face (the low face, layer 0's side: the far layer then runs hottest) or
  both faces (the middle runs hottest): ``cold_plate`` through the TIM to the ``coolant``
  boundary, ``R = R_half + t_TIM/(k_TIM·A) + 1/(h·A)``; ``air`` straight to ``ambient``,
  ``R = R_half + 1/(h·A)``; faces without cooling lose ``uncooled_face_h_W_m2K`` to ambient;
* optional edge path (``edge_path = true``): from every group node to one frame node per
  stack, ``G_edge,i = k∥·t_i·P/(W/2)`` (thermal.md §3.5) in series with the edge seal
  ``R''_seal/(t_i·P)``; the frame has its own capacity and ``h·A`` to ambient;
* optional contact between neighbouring stacks laid out in a row in (string, stack) order,
  outermost node to outermost node.

Boundaries are always ``("coolant", "ambient")``. Nodes of one stack are numbered
contiguously (low end plate, groups from layer 0 up, high end plate, frame), which keeps the
matrix banded apart from the frame's column.

Defaults are the mid values of ``reference/thermal.md`` §3.3: k⊥ = 0.8 W/m/K,
ρc_p = 2.4 MJ/m³/K, a 250 µm unit cell, k∥ = 30 W/m/K, a liquid cold plate with
h = 1000 W/m²/K behind a 1 mm, 3 W/m/K gap pad; aluminium end plates (Chen2020's Al:
237 W/m/K, 2700 kg/m³ × 897 J/kg/K).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..limits import MAX_UNIT_CELLS
from .network import ThermalNetwork

__all__ = ["BOUNDARIES", "PackThermalGeometry", "PackThermalNetwork", "build_pack_network"]

BOUNDARIES = ("coolant", "ambient")


class PackThermalGeometry(BaseModel):
    """Geometry and materials of the pack's thermal network (units in the key names)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    n_strings: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="parallel strings")
    n_stacks: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="bipolar stacks in series per string")
    n_layers: int = Field(96, ge=1, le=MAX_UNIT_CELLS, description="unit cells per stack")
    layers_per_node: int = Field(
        1, ge=1, description="unit cells lumped into one thermal node; must divide n_layers"
    )
    layer_thickness_m: float = Field(250e-6, gt=0, description="unit-cell thickness [m]")
    area_m2: float = Field(0.04, gt=0, description="stack face area [m2]")
    through_plane_conductivity_W_mK: float = Field(0.8, gt=0, description="k⊥ of a unit cell [W/m/K]")
    volumetric_heat_capacity_J_m3K: float = Field(2.4e6, gt=0, description="ρc_p of a unit cell [J/m3/K]")
    interlayer_contact_resistance_m2K_W: float = Field(
        0.0, ge=0, description="area-specific contact resistance between neighbouring unit cells [m2 K/W]"
    )
    end_plate_thickness_m: float = Field(1e-3, ge=0, description="end plate thickness [m]; 0: no end plates")
    end_plate_conductivity_W_mK: float = Field(237.0, gt=0, description="end plate conductivity [W/m/K]")
    end_plate_volumetric_heat_capacity_J_m3K: float = Field(
        2.42e6, gt=0, description="end plate ρc_p [J/m3/K]"
    )
    end_plate_contact_resistance_m2K_W: float = Field(
        0.0, ge=0, description="contact resistance between the stack and an end plate [m2 K/W]"
    )
    cooling: Literal["both", "one", "none"] = Field(
        "both", description="cooled faces: both, one (the low face, layer 0's side) or none"
    )
    cooling_type: Literal["cold_plate", "air"] = Field(
        "cold_plate", description="cold_plate: through a TIM to the coolant; air: to ambient air"
    )
    coolant_h_W_m2K: float = Field(
        1000.0, gt=0, description="heat transfer coefficient of a cooled face to its medium [W/m2/K]"
    )
    tim_thickness_m: float = Field(1e-3, ge=0, description="thermal interface material thickness (cold plate) [m]")
    tim_conductivity_W_mK: float = Field(3.0, gt=0, description="thermal interface material conductivity [W/m/K]")
    uncooled_face_h_W_m2K: float = Field(
        0.0, ge=0, description="heat transfer coefficient of an uncooled face to ambient [W/m2/K]; 0: adiabatic"
    )
    edge_path: bool = Field(False, description="conduct heat in-plane from every node to a frame node")
    in_plane_conductivity_W_mK: float = Field(30.0, gt=0, description="k∥ of a unit cell [W/m/K]")
    edge_perimeter_m: float | None = Field(
        None, gt=0, description="perimeter P of a layer [m]; default: a square of area_m2, 4·sqrt(A)"
    )
    edge_path_length_m: float | None = Field(
        None, gt=0, description="in-plane path W/2 to the edge [m]; default: half a square's side, sqrt(A)/2"
    )
    edge_seal_resistance_m2K_W: float = Field(
        0.01, ge=0, description="area-specific resistance of the edge seal over the edge area t·P [m2 K/W]"
    )
    frame_heat_capacity_J_K: float = Field(100.0, gt=0, description="heat capacity of a stack's frame [J/K]")
    frame_h_W_m2K: float = Field(10.0, ge=0, description="frame to ambient heat transfer coefficient [W/m2/K]")
    frame_area_m2: float | None = Field(
        None, gt=0, description="frame area exposed to ambient [m2]; default: perimeter × stack thickness"
    )
    stack_contact_conductance_W_K: float = Field(
        0.0, ge=0, description="conductance between neighbouring stacks' end faces [W/K]; 0: none"
    )

    @field_validator("layers_per_node")
    @classmethod
    def _divides(cls, m: int, info: ValidationInfo) -> int:
        n = info.data.get("n_layers")
        if n is not None and n % m:
            raise ValueError(f"must divide n_layers ({n}), got {m}")
        return m

    @model_validator(mode="after")
    def _size(self) -> "PackThermalGeometry":
        n = self.n_strings * self.n_stacks * self.n_layers
        if n > MAX_UNIT_CELLS:
            raise ValueError(f"n_strings x n_stacks x n_layers = {n} unit cells; at most {MAX_UNIT_CELLS} are allowed")
        return self

    @field_validator(
        "layer_thickness_m", "area_m2", "through_plane_conductivity_W_mK", "volumetric_heat_capacity_J_m3K",
        "interlayer_contact_resistance_m2K_W", "end_plate_thickness_m", "end_plate_conductivity_W_mK",
        "end_plate_volumetric_heat_capacity_J_m3K", "end_plate_contact_resistance_m2K_W", "coolant_h_W_m2K",
        "tim_thickness_m", "tim_conductivity_W_mK", "uncooled_face_h_W_m2K", "in_plane_conductivity_W_mK",
        "edge_perimeter_m", "edge_path_length_m", "edge_seal_resistance_m2K_W", "frame_heat_capacity_J_K",
        "frame_h_W_m2K", "frame_area_m2", "stack_contact_conductance_W_K",
    )
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"must be finite, got {v}")
        return v


@dataclass
class PackThermalNetwork:
    """A built pack network: the :class:`ThermalNetwork` plus where each unit cell sits."""

    network: ThermalNetwork
    geometry: PackThermalGeometry
    #: node index of every unit cell, shape (n_strings, n_stacks, n_layers)
    layer_node: np.ndarray
    node_names: list[str]
    #: node indices per stack, shape (n_strings, n_stacks) of lists, in chain order
    stack_nodes: list[list[list[int]]] = field(default_factory=list)
    #: the outermost node at each stack's low and high end, shape (n_strings, n_stacks, 2):
    #: the end plates, or without them the outermost groups of unit cells
    stack_end_nodes: np.ndarray | None = None
    #: every conductance to a boundary, in the order they were summed: (node, boundary index,
    #: kind, value); kind 0: a fixed conductance [W/K]; kind 1: a cooled face whose value is
    #: the resistance r_face [K/W] from the node to the face, conductance
    #: 1 / (r_face + tim_resistance_K_W + 1 / (coolant_h_W_m2K * area_m2)) (what a new
    #: coolant h changes; the pack FMU recomputes it so)
    boundary_terms: list[tuple[int, int, int, float]] = field(default_factory=list)
    #: the thermal interface material's resistance of a cooled face (0 for air cooling) [K/W]
    tim_resistance_K_W: float = 0.0

    @property
    def n_nodes(self) -> int:
        return self.network.n_nodes

    def node_heat(self, layer_heat_W) -> np.ndarray:
        """Heat per node [W] from heat per unit cell ``(n_strings, n_stacks, n_layers)``."""
        return np.bincount(self._flat_nodes, weights=np.ravel(layer_heat_W), minlength=self.n_nodes)

    def stack_end_heat(self, ends_W: np.ndarray) -> np.ndarray:
        """Heat per node [W] from heat at each stack's low and high end ``(n_strings,
        n_stacks, 2)`` (onto :attr:`stack_end_nodes`)."""
        return np.bincount(self.stack_end_nodes.ravel(), weights=ends_W.ravel(), minlength=self.n_nodes)

    def layer_temperature(self, node_temperature_K=None) -> np.ndarray:
        """Temperature of every unit cell ``(n_strings, n_stacks, n_layers)`` (a new array)."""
        T = self.network.temperature_K if node_temperature_K is None else np.asarray(node_temperature_K)
        return T[self.layer_node]

    def __post_init__(self) -> None:
        self._flat_nodes = self.layer_node.ravel()


def build_pack_network(geometry: PackThermalGeometry | None = None, *, initial_temperature_K: float = 298.15,
                       **keys) -> PackThermalNetwork:
    """Build the network of a pack: ``build_pack_network(PackThermalGeometry(...))`` or
    ``build_pack_network(n_layers=20, cooling="one", ...)`` (keys of
    :class:`PackThermalGeometry`). Boundaries: ``coolant`` and ``ambient``."""
    if geometry is None:
        geometry = PackThermalGeometry(**keys)
    elif keys:
        geometry = geometry.model_copy(update=keys)
        geometry = PackThermalGeometry.model_validate(geometry.model_dump())
    g = geometry
    A, t, m = g.area_m2, g.layer_thickness_m, g.layers_per_node
    n_groups = g.n_layers // m
    k = g.through_plane_conductivity_W_mK
    r_cell = m * (t / (k * A) + g.interlayer_contact_resistance_m2K_W / A)  # centre to centre
    r_half_group = m * t / (2 * k * A)
    plates = g.end_plate_thickness_m > 0
    r_half_plate = g.end_plate_thickness_m / (2 * g.end_plate_conductivity_W_mK * A) if plates else 0.0
    perimeter = g.edge_perimeter_m if g.edge_perimeter_m is not None else 4 * math.sqrt(A)
    half_width = g.edge_path_length_m if g.edge_path_length_m is not None else math.sqrt(A) / 2
    stack_thickness = g.n_layers * t + 2 * g.end_plate_thickness_m
    frame_area = g.frame_area_m2 if g.frame_area_m2 is not None else perimeter * stack_thickness

    r_tim, cool_boundary = (g.tim_thickness_m / (g.tim_conductivity_W_mK * A), 0) if g.cooling_type == "cold_plate" \
        else (0.0, 1)
    r_cool = r_tim + 1 / (g.coolant_h_W_m2K * A)
    cooled = {"both": (True, True), "one": (True, False), "none": (False, False)}[g.cooling]

    cap: list[float] = []
    names: list[str] = []
    ei: list[int] = []
    ej: list[int] = []
    eg: list[float] = []
    gb: dict[int, list[float]] = {0: [], 1: []}
    terms: list[tuple[int, int, int, float]] = []
    layer_node = np.empty((g.n_strings, g.n_stacks, g.n_layers), dtype=np.int64)
    stack_nodes: list[list[list[int]]] = []
    outer: list[tuple[int, float, int, float]] = []  # (low node, R to low face, high node, R to high face)

    def node(c: float, name: str) -> int:
        cap.append(c)
        names.append(name)
        gb[0].append(0.0)
        gb[1].append(0.0)
        return len(cap) - 1

    def edge(i: int, j: int, r: float) -> None:
        ei.append(i)
        ej.append(j)
        eg.append(1.0 / r)

    for s in range(g.n_strings):
        stack_nodes.append([])
        for p in range(g.n_stacks):
            prefix = f"string{s}.stack{p}"
            chain: list[int] = []
            if plates:
                c_plate = g.end_plate_volumetric_heat_capacity_J_m3K * g.end_plate_thickness_m * A
                chain.append(node(c_plate, f"{prefix}.end_plate_low"))
            groups = []
            for q in range(n_groups):
                label = f"layer{q * m}" if m == 1 else f"layers{q * m}-{q * m + m - 1}"
                groups.append(node(g.volumetric_heat_capacity_J_m3K * m * t * A, f"{prefix}.{label}"))
                layer_node[s, p, q * m:(q + 1) * m] = groups[-1]
            chain.extend(groups)
            if plates:
                chain.append(node(c_plate, f"{prefix}.end_plate_high"))
                r_plate_link = r_half_group + g.end_plate_contact_resistance_m2K_W / A + r_half_plate
                edge(chain[0], groups[0], r_plate_link)
                edge(groups[-1], chain[-1], r_plate_link)
                r_face = r_half_plate
            else:
                r_face = r_half_group
            for a, b in zip(groups[:-1], groups[1:]):
                edge(a, b, r_cell)
            for end, is_cooled in zip((chain[0], chain[-1]), cooled):
                if is_cooled:
                    gb[cool_boundary][end] += 1.0 / (r_face + r_cool)
                    terms.append((end, cool_boundary, 1, r_face))
                elif g.uncooled_face_h_W_m2K > 0:
                    gb[1][end] += 1.0 / (r_face + 1.0 / (g.uncooled_face_h_W_m2K * A))
                    terms.append((end, 1, 0, 1.0 / (r_face + 1.0 / (g.uncooled_face_h_W_m2K * A))))
            if g.edge_path:
                frame = node(g.frame_heat_capacity_J_K, f"{prefix}.frame")
                t_i = m * t
                g_edge = g.in_plane_conductivity_W_mK * t_i * perimeter / half_width
                r_seal = g.edge_seal_resistance_m2K_W / (t_i * perimeter)
                for q in groups:
                    edge(q, frame, 1.0 / g_edge + r_seal)
                if g.frame_h_W_m2K > 0:
                    gb[1][frame] += g.frame_h_W_m2K * frame_area
                    terms.append((frame, 1, 0, g.frame_h_W_m2K * frame_area))
                chain.append(frame)
            stack_nodes[s].append(chain)
            outer.append((chain[0], r_face, (chain[-2] if g.edge_path else chain[-1]), r_face))

    if g.stack_contact_conductance_W_K > 0:
        for (_, _, hi, r_hi), (lo, r_lo, _, _) in zip(outer[:-1], outer[1:]):
            edge(hi, lo, r_hi + 1.0 / g.stack_contact_conductance_W_K + r_lo)

    net = ThermalNetwork.from_edges(
        np.array(cap),
        (np.array(ei, dtype=np.int64), np.array(ej, dtype=np.int64), np.array(eg)),
        {BOUNDARIES[0]: np.array(gb[0]), BOUNDARIES[1]: np.array(gb[1])},
        node_names=names,
        initial_temperature_K=initial_temperature_K,
    )
    ends = np.array([(lo, hi) for lo, _, hi, _ in outer], dtype=np.int64).reshape(g.n_strings, g.n_stacks, 2)
    return PackThermalNetwork(net, geometry, layer_node, names, stack_nodes, ends, terms, r_tim)
