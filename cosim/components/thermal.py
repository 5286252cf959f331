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
while unconnected). Outputs: every unit cell's temperature (a cell in a group sees the
group's), every node's temperature, the hottest cell, and the energy ledger since the start
(generated = stored + removed to round-off). Temperatures are states, so no output depends
directly on an input: a pack <-> thermal loop has no algebraic loop.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from ..thermal.builder import BOUNDARIES, PackThermalGeometry, build_pack_network
from .base import Causality, Component, ComponentConfig, Port
from .registry import register

_LAYER_DIMS = ("string", "stack", "layer")


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
        self._publish()

    def _do_step(self, t: float, h: float) -> None:
        u = self.u
        heat = u["heat_W"]
        q = self.pack.node_heat(heat) if self.config.per_layer_heat else self._cells_per_node * float(heat)
        Tb = np.array([float(u["coolant_temperature_K"]), float(u["ambient_temperature_K"])])
        if not (math.isfinite(float(q.sum())) and math.isfinite(float(Tb.sum()))):
            self._refuse_non_finite(heat, Tb, t)
        n_sub = 1 if self.config.max_step_s is None else max(1, math.ceil(h / self.config.max_step_s - 1e-9))
        for _ in range(n_sub):
            self.network.step(h / n_sub, q, Tb, check=False)
        self._publish()

    def _refuse_non_finite(self, heat, Tb, t: float):
        heat = np.broadcast_to(np.asarray(heat, dtype=float), self._layer_shape)
        bad = np.argwhere(~np.isfinite(heat))
        if bad.size:
            s, p, k = (int(i) for i in bad[0])
            raise ValueError(f"heat_W of string {s}, stack {p}, layer {k} is not finite ({heat[s, p, k]}) at t = {t:g} s")
        for b, v in zip(BOUNDARIES, Tb):
            if not math.isfinite(v):
                raise ValueError(f"{b}_temperature_K is not finite ({v}) at t = {t:g} s")

    def _get_state(self):
        return self.network.get_state()

    def _set_state(self, state) -> None:
        self.network.set_state(state)
