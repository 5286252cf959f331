"""Test doubles: components that log every call, for the orchestrator's coupling tests.

``Probe`` is an integrator ``x' = 1 + sum(u)`` whose outputs are ``x`` (plus ``sum(u)`` when
it has direct feedthrough), so every value a test expects can be computed by hand. Each call
is appended to a shared ``journal`` as ``(component, event, t, h, inputs)``.
"""

from __future__ import annotations

import math
import time

import numpy as np
from pydantic import Field

from cosim.components import Causality, Component, ComponentConfig, Port, StepRejected, register

JOURNAL: list[tuple] = []


class ProbeConfig(ComponentConfig):
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=lambda: ["y"])
    feedthrough: bool = False
    unit: str = "1"
    size: int = Field(0, ge=0, description="0: scalar ports; n: vectors of n along dim 'layer'")
    can_roll_back: bool = True
    reject_h_above_s: float | None = None
    nan_at_s: float | None = None
    fail_at_s: float | None = None
    sleep_s: float = 0.0
    substeps: int = 1


class Probe(Component):
    type_name = "test_probe"
    Config = ProbeConfig

    def __init__(self, name, config):
        super().__init__(name, config)
        self.can_get_set_state = config.can_roll_back
        self.x = 0.0
        self.log: list[tuple] = []

    @classmethod
    def make(cls, name: str, **kwargs) -> "Probe":
        return cls(name, ProbeConfig(type=cls.type_name, **kwargs))

    def _declare_ports(self):
        c = self.config
        shape, dims = ((c.size,), ("layer",)) if c.size else ((), ())
        for i in c.inputs:
            yield Port(i, Causality.INPUT, unit=c.unit, shape=shape, dims=dims, start=0.0)
        for o in c.outputs:
            deps = tuple(c.inputs) if c.feedthrough else ()
            yield Port(o, Causality.OUTPUT, unit=c.unit, shape=shape, dims=dims, depends_on=deps,
                       long_name=f"probe output {o}")

    def _sum_u(self):
        return sum((np.asarray(self.u[i], dtype=float) for i in self.config.inputs), 0.0)

    def _publish(self):
        value = self.x + (self._sum_u() if self.config.feedthrough else 0.0)
        for o in self.config.outputs:
            self.y[o] = np.array(value, dtype=float) * np.ones(self.config.size) if self.config.size else float(value)

    def _initialize(self, t0):
        JOURNAL.append((self.name, "initialize", t0, 0.0, self._inputs()))
        self._publish()

    def _inputs(self):
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.u.items()}

    def _do_step(self, t, h):
        c = self.config
        JOURNAL.append((self.name, "step", t, h, self._inputs()))
        self.log.append((t, h, self._inputs()))
        if c.sleep_s:
            time.sleep(c.sleep_s)
        if c.fail_at_s is not None and t >= c.fail_at_s:
            raise RuntimeError("deliberate failure")
        if c.reject_h_above_s is not None and h > c.reject_h_above_s + 1e-12:
            raise StepRejected(f"h = {h} s is above {c.reject_h_above_s} s")
        for k in range(c.substeps):  # the inputs must not change while the component sub-steps
            self.log.append(("substep", t + k * h / c.substeps, self._inputs()))
            self.x += (h / c.substeps) * (1.0 + float(np.sum(self._sum_u())))
        if c.nan_at_s is not None and t + h >= c.nan_at_s:
            self.x = math.nan
        self._publish()

    def _get_state(self):
        return self.x

    def _set_state(self, state):
        JOURNAL.append((self.name, "set_state", self.time, 0.0, {}))
        self.x = state


def register_doubles() -> None:
    register(Probe)  # registering the same class again is a no-op


def events(kind: str = "step") -> list[tuple]:
    """(component, t, h) of every journal entry of ``kind``, in call order."""
    return [(name, t, h) for name, ev, t, h, _ in JOURNAL if ev == kind]
