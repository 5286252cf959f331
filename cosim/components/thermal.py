"""``thermal``: the thermal network of an assembled bipolar battery as a component.

The network (:mod:`cosim.thermal.builder`) has a node per unit cell (or per group of
``layers_per_node`` cells) through every stack, end plates, face cooling (cold plate to the
coolant, or air to ambient), an optional in-plane edge path to a frame and optional contact
between neighbouring stacks; it is integrated with backward Euler
(:mod:`cosim.thermal.network`), which is stable at any step, with the heat per unit cell and
the coolant and ambient temperatures held over the step (zero-order hold).

Inputs: ``heat_W`` per unit cell, shape ``(n_strings, n_stacks, n_layers)`` (or, with
``per_layer_heat = false``, one scalar for every unit cell, e.g. from a profile);
``coolant_temperature_K`` and ``ambient_temperature_K`` (scalars; the configuration's values
while unconnected). The pack's series I²R heat, outside its unit cells, enters at the stack
ends (the end plates; without end plates, the outermost node of cells):
``stack_end_heat_W`` ``(n_strings, n_stacks)`` (a stack's two end collectors: half onto each
end) and ``interconnect_heat_W`` ``(n_strings, n_stacks)`` (the connection at each stack's
high end: half onto that end, half onto the low end of the next stack of the string; the
last stack's entry is the string lead, half onto its high end and half onto the low end of
the string's first stack, where the string's two terminals are). Both are 0 while
unconnected. Outputs: every unit cell's temperature (a cell in a group sees the
group's), every node's temperature, the hottest cell, and the energy ledger since the start
(generated = stored + removed to round-off). Temperatures are states, so no output depends
directly on an input: a pack <-> thermal loop has no algebraic loop.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from ..thermal.builder import BOUNDARIES, PackThermalGeometry, build_pack_network
from .base import Causality, Component, ComponentConfig, EnergyBooks, Port
from .registry import register

_LAYER_DIMS = ("string", "stack", "layer")
_SERIES_PORTS = ("stack_end_heat_W", "interconnect_heat_W")


class ThermalConfig(PackThermalGeometry, ComponentConfig):
    """The pack's geometry and materials (:class:`PackThermalGeometry`) plus start values."""

    initial_temperature_K: float = Field(298.15, gt=0, description="temperature of every node at the start [K]")
    coolant_temperature_K: float = Field(
        298.15, gt=0, description="coolant temperature while the coolant_temperature_K input is unconnected [K]"
    )
    ambient_temperature_K: float = Field(
        298.15, gt=0, description="ambient temperature while the ambient_temperature_K input is unconnected [K]"
    )
    per_layer_heat: bool = Field(
        True,
        description="heat_W is one value per unit cell (n_strings, n_stacks, n_layers); false: one scalar "
        "applied to every unit cell (to drive the network from a profile)",
    )
    max_step_s: float | None = Field(
        None, gt=0, description="longest internal (backward Euler) step [s]; default: the macro step"
    )


@register
class Thermal(Component):
    """Pack thermal network; see the module docstring."""

    type_name = "thermal"
    Config = ThermalConfig
    can_get_set_state = True

    def __init__(self, name: str, config: ThermalConfig):
        geometry = PackThermalGeometry.model_validate(
            {k: getattr(config, k) for k in PackThermalGeometry.model_fields}
        )
        self.pack = build_pack_network(geometry, initial_temperature_K=config.initial_temperature_K)
        self.network = self.pack.network
        #: human-readable name of every node (the ``node`` dimension)
        self.node_names = self.pack.node_names
        self._layer_shape = (config.n_strings, config.n_stacks, config.n_layers)
        self._previous_stack = np.roll(np.arange(config.n_stacks), 1)  # stack p -> p - 1 (p = 0 -> the last)
        self._cells_per_node = np.bincount(self.pack.layer_node.ravel(), minlength=self.network.n_nodes).astype(float)
        super().__init__(name, config)

    def _declare_ports(self):
        c = self.config
        shape = self._layer_shape
        if c.per_layer_heat:
            yield Port("heat_W", Causality.INPUT, unit="W", shape=shape, dims=_LAYER_DIMS, start=0.0,
                       long_name="heat generated in each unit cell")
        else:
            yield Port("heat_W", Causality.INPUT, unit="W", start=0.0,
                       long_name="heat generated in every unit cell (the same in each)")
        yield Port("stack_end_heat_W", Causality.INPUT, unit="W", shape=shape[:2], dims=_LAYER_DIMS[:2], start=0.0,
                   long_name="heat of each stack's end collectors (half onto each end)")
        yield Port("interconnect_heat_W", Causality.INPUT, unit="W", shape=shape[:2], dims=_LAYER_DIMS[:2], start=0.0,
                   long_name="heat of the connection at each stack's high end (the last: the string lead), "
                   "half onto each of the two stack ends it joins")
        yield Port("coolant_temperature_K", Causality.INPUT, unit="K", start=c.coolant_temperature_K,
                   long_name="coolant temperature")
        yield Port("ambient_temperature_K", Causality.INPUT, unit="K", start=c.ambient_temperature_K,
                   long_name="ambient temperature")
        yield Port("layer_temperature_K", Causality.OUTPUT, unit="K", shape=shape, dims=_LAYER_DIMS,
                   long_name="temperature of each unit cell")
        yield Port("node_temperature_K", Causality.OUTPUT, unit="K", shape=(self.network.n_nodes,), dims=("node",),
                   long_name="temperature of each thermal node")
        yield Port("max_layer_temperature_K", Causality.OUTPUT, unit="K", long_name="hottest unit cell")
        yield Port("heat_generated_J", Causality.OUTPUT, unit="J", long_name="heat generated since the start")
        yield Port("heat_stored_J", Causality.OUTPUT, unit="J", long_name="heat stored since the start")
        yield Port("heat_removed_J", Causality.OUTPUT, unit="J", long_name="heat removed to coolant and ambient since the start")
        for b in BOUNDARIES:
            yield Port(f"heat_removed_to_{b}_J", Causality.OUTPUT, unit="J", long_name=f"heat removed to the {b} since the start")

    # -- lifecycle ------------------------------------------------------------------------
    def coordinates(self) -> dict[str, list]:
        """The network's node names (contract item 11), for the ``node`` dimension."""
        return {"node": list(self.node_names)}

    def _publish(self) -> None:
        net = self.network
        T = net.temperature_K  # a new read-only array after every step, never mutated
        layers = T[self.pack.layer_node]
        y = self.y
        y["layer_temperature_K"] = layers
        y["node_temperature_K"] = T
        y["max_layer_temperature_K"] = float(layers.max())
        generated, stored, removed = net.ledger_totals()
        removed = removed.tolist()
        y["heat_generated_J"] = generated
        y["heat_stored_J"] = stored
        y["heat_removed_J"] = math.fsum(removed)
        for b, v in zip(BOUNDARIES, removed):
            y[f"heat_removed_to_{b}_J"] = v

    def _initialize(self, t0: float) -> None:
        self.network.set_temperature(self.config.initial_temperature_K)
        self.network.reset_ledger()
        self._books = dict.fromkeys(_SERIES_PORTS, 0.0)
        self._publish()

    def _series_heat(self) -> tuple[np.ndarray | None, float, float]:
        """Node heat [W] of the series inputs (None if both are 0) and each input's total."""
        end, link = self.u["stack_end_heat_W"], self.u["interconnect_heat_W"]
        if not (end.any() or link.any()):
            return None, 0.0, 0.0
        end_sum, link_sum = float(end.sum()), float(link.sum())
        # the (low, high) end of each stack, built in place: low = 0.5 end + the connection from
        # stack p-1 (the lead: p = 0), i.e. np.roll(link, 1, axis=1); high = 0.5 end + its own
        ends = np.empty(end.shape + (2,))
        half_link = 0.5 * link
        np.multiply(end, 0.5, out=ends[..., 0])
        np.add(ends[..., 0], half_link, out=ends[..., 1])
        ends[..., 0] += half_link[:, self._previous_stack]
        return self.pack.stack_end_heat(ends), end_sum, link_sum

    def _energy_books(self) -> EnergyBooks:
        generated, stored, removed = self.network.ledger_totals()
        ports = dict(self._books)
        ports["heat_W"] = generated - math.fsum(ports.values())
        return EnergyBooks(
            in_J=generated, out_J=math.fsum(removed.tolist()), stored_J=stored, dissipated_J=0.0, ports=ports,
            details={f"heat_removed_to_{b}_J": float(v) for b, v in zip(BOUNDARIES, removed)},
            notes="in: heat generated in the network (its EnergyLedger); out: heat removed to coolant and ambient; "
                  "heat_W: the generated heat less the series heat inputs")

    def _do_step(self, t: float, h: float) -> None:
        u = self.u
        heat = u["heat_W"]
        q = self.pack.node_heat(heat) if self.config.per_layer_heat else self._cells_per_node * float(heat)
        series, end_sum, link_sum = self._series_heat()
        if series is not None:
            q = q + series
        coolant, ambient = float(u["coolant_temperature_K"]), float(u["ambient_temperature_K"])
        Tb = np.array([coolant, ambient])
        if not (math.isfinite(float(q.sum())) and math.isfinite(coolant + ambient)):
            self._refuse_non_finite(heat, Tb, t)
        n_sub = 1 if self.config.max_step_s is None else max(1, math.ceil(h / self.config.max_step_s - 1e-9))
        for _ in range(n_sub):
            self.network.step(h / n_sub, q, Tb, check=False)
        if series is not None:
            books = dict(self._books)  # replaced, never mutated: saved states keep theirs
            books["stack_end_heat_W"] += h * end_sum
            books["interconnect_heat_W"] += h * link_sum
            self._books = books
        self._publish()

    def _refuse_non_finite(self, heat, Tb, t: float):
        heat = np.broadcast_to(np.asarray(heat, dtype=float), self._layer_shape)
        bad = np.argwhere(~np.isfinite(heat))
        if bad.size:
            s, p, k = (int(i) for i in bad[0])
            raise ValueError(f"heat_W of string {s}, stack {p}, layer {k} is not finite ({heat[s, p, k]}) at t = {t:g} s")
        for port in _SERIES_PORTS:
            bad = np.argwhere(~np.isfinite(self.u[port]))
            if bad.size:
                s, p = (int(i) for i in bad[0])
                raise ValueError(f"{port} of string {s}, stack {p} is not finite ({self.u[port][s, p]}) at t = {t:g} s")
        for b, v in zip(BOUNDARIES, Tb):
            if not math.isfinite(v):
                raise ValueError(f"{b}_temperature_K is not finite ({v}) at t = {t:g} s")

    def _get_state(self):
        return self.network.get_state(), self._books

    def _set_state(self, state) -> None:
        self.network.set_state(state[0])
        self._books = state[1]
