"""``cell``: the electrochemical cell core as a component (one cell or a batch).

A batch of ``n_cells`` identical unit cells (SPM, SPMe or DFN) driven by a current, a power
or a voltage set point (one for all cells, or one per cell with ``per_cell_setpoint``), at
a temperature that is an input (from a thermal network) or a fixed value. With
``n_cells = 1`` the ports are scalars; otherwise outputs and the temperature are vectors
along ``cell``.

Voltage limits (the parameter set's, unless overridden): ``on_limit = "stop"`` stops the run
with an error naming the cell, the time and the voltage; ``"end"`` ends it normally there
(a discharge to cut-off); ``"clamp"`` holds the cell at the limit instead (the current then
follows from the voltage, as in the CV phase of a charge).
A step that does not converge is retried in halves (up to ``max_step_halvings``) before the
run stops with the cell index, time and state.

Outputs: the cell model's (:data:`cosim.cell.base.OUTPUTS`), the electrical power, the total
heat ``heat_W`` (the sum of the heat outputs: what a ``thermal`` component's heat input
takes), the stoichiometries per material and, with ``available_power = true`` (default), the
power of a ``pulse_duration_s`` pulse to each limit, recomputed every
``available_power_interval_s`` and held in between.

Energy books (contract item 10), summed over the cells, every output at a step's end held over
the step (what a component connected to it receives): ``in_J``/``out_J`` the charge and
discharge energy at the terminals, ``stored_J`` from the model's ``stored_energy_J()``,
``dissipated_J`` the heat (reaction + ohmic + reversible + mixing); ports ``power_W``, the
power set point (power control) and the four heat outputs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..limits import MAX_STEP_HALVINGS, MAX_UNIT_CELLS
from ..cell.base import HEAT_OUTPUTS
from ..cell.electrolyte1d import DEFAULT_VOLUMES
from ..cell.particle import DEFAULT_SHELLS
from ..errors import ComponentError
from ..scenario.types import ScenarioPath
from .base import Causality, Component, ComponentConfig, EndOfRun, EnergyBooks, Port
from .mesh_check import PORT as MESH_CHECK
from .registry import register

_KWARG = {"current": "current_A", "power": "power_W", "voltage": "voltage_V"}
_HEAT = HEAT_OUTPUTS  # every heat term, the books itemise them


class CellMeshConfig(ComponentConfig):
    """The cell model's mesh (shared by ``cell`` and ``pack``): the defaults are within about
    1 mV of the converged solution at 2C (docs/mesh_convergence.md); coarser meshes are
    faster (``benchmarks/pack.py`` prints the trade-off)."""

    particle_shells: int = Field(DEFAULT_SHELLS, ge=2, le=200, description="finite volumes along each particle's radius")
    electrolyte_volumes: list[int] = Field(
        list(DEFAULT_VOLUMES), description="finite volumes through the negative electrode, separator and positive "
        "electrode (SPMe and DFN; at least 2 each)"
    )

    mesh_check: bool = Field(
        False, description="also run a sample of the unit cells on a refined mesh, driven alike, and record the "
        "voltage difference (the discretisation error of the answer; cosim/components/mesh_check.py)")
    mesh_check_refinement: int = Field(
        2, ge=2, le=4, description="the refined mesh of the mesh check: every count of the mesh times this")

    @model_validator(mode="after")
    def _mesh(self) -> "CellMeshConfig":
        v = self.electrolyte_volumes
        if len(v) != 3 or min(v) < 2 or max(v) > 200:
            raise ValueError(f"electrolyte_volumes needs 3 numbers (negative, separator, positive) in 2..200, got {v}")
        # the sample (a key of each subclass: cell indices, or a pack's [string, stack, layer])
        if getattr(self, "mesh_check_cells", None) is not None and not self.mesh_check:
            raise ValueError("mesh_check_cells given without mesh_check = true (it would do nothing)")
        return self


class CellCoreConfig(CellMeshConfig):
    parameter_set: str | None = Field(None, description="name of a shipped parameter set, e.g. 'chen2020'")
    parameter_file: ScenarioPath | None = Field(None, description="a parameter-set TOML file of your own")
    overrides: dict[str, float] = Field(
        default_factory=dict,
        description="parameter changes by dotted key, e.g. {'negative.thickness_m' = 10e-6}",
    )
    model: Literal["spm", "spme", "dfn"] = "spme"
    n_cells: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="number of identical cells advanced together")
    control: Literal["current", "power", "voltage"] = Field("current", description="which set point drives the cells")
    per_cell_setpoint: bool = Field(False, description="one set point per cell (a vector input) instead of one for all")
    initial_soc: float | None = Field(None, ge=0.0, le=1.0, description="initial state of charge (default: the set's initial state)")
    temperature_K: float = Field(298.15, gt=0.0, description="cell temperature while the temperature input is unconnected")
    lower_voltage_V: float | None = Field(None, gt=0.0, description="default: the parameter set's")
    upper_voltage_V: float | None = Field(None, gt=0.0, description="default: the parameter set's")
    on_limit: Literal["stop", "end", "clamp"] = "stop"
    available_power: bool = Field(True, description="compute the available-power outputs (false: no such outputs)")
    pulse_duration_s: float = Field(10.0, gt=0.0, description="pulse length of the available-power outputs")
    available_power_interval_s: float = Field(
        10.0, gt=0.0, description="how often the available power is recomputed (held in between)"
    )
    min_anode_potential_V: float | None = Field(
        0.0, description="plating limit of the available charge power [V vs Li/Li+]: the charge pulse keeps the "
        "anode potential (output anode_potential_V) at or above it at the end of the pulse; 0 = no lithium "
        "plating, a positive value is a safety margin; none: the voltage limit only"
    )
    max_step_s: float | None = Field(None, gt=0.0, description="longest internal step (default: the macro step)")
    max_step_halvings: int = Field(6, ge=0, le=MAX_STEP_HALVINGS)
    mesh_check_cells: list[int] | None = Field(
        None, description="the cells (indices from 0) of the mesh check (default: the first and the last)")

    @model_validator(mode="after")
    def _one_parameter_source(self) -> "CellCoreConfig":
        if (self.parameter_set is None) == (self.parameter_file is None):
            raise ValueError("give exactly one of 'parameter_set' and 'parameter_file'")
        cells = self.mesh_check_cells
        if cells is not None:
            bad = [k for k in cells if not 0 <= k < self.n_cells]
            if not cells or bad or len(set(cells)) != len(cells):
                raise ValueError(f"mesh_check_cells needs distinct cell indices in 0..{self.n_cells - 1}, got {cells}")
        return self


def make_model(name: str, params, mesh: CellMeshConfig | None = None, refinement: int = 1):
    """A batched cell model by name ('spm', 'spme', 'dfn') on the configuration's mesh
    (the models' defaults without one), every count of it times ``refinement``."""
    from ..cell.spme import SPM, SPMe

    kwargs = {} if mesh is None else {"n_r": refinement * mesh.particle_shells,
                                      "n_x": tuple(refinement * n for n in mesh.electrolyte_volumes)}
    if name == "dfn":
        from ..cell.dfn import DFN

        return DFN(params, **kwargs)
    return {"spm": SPM, "spme": SPMe}[name](params, **kwargs)


def build_model(config: CellCoreConfig):
    """The batched cell model a configuration describes."""
    from ..cell.parameter_set import load_parameter_set

    pset = load_parameter_set(config.parameter_file or config.parameter_set)
    if config.overrides:
        pset = pset.with_overrides(config.overrides)
    params = pset.to_cell_params(config.n_cells)
    if config.initial_soc is not None:
        params = params.at_soc(config.initial_soc)
    return make_model(config.model, params, config)


@register
class CellCore(Component):
    """Batched electrochemical cell core; see the module docstring."""

    type_name = "cell"
    Config = CellCoreConfig
    can_get_set_state = True

    _SETPOINT = {"current": ("current_setpoint_A", "A"), "power": ("power_setpoint_W", "W"),
                 "voltage": ("voltage_setpoint_V", "V")}

    def __init__(self, name: str, config: CellCoreConfig):
        self.model = build_model(config)
        p = self.model.params
        self.v_min = config.lower_voltage_V or p.lower_voltage_V
        self.v_max = config.upper_voltage_V or p.upper_voltage_V
        self._material_outputs = [
            (side, m.name) for side, el in (("negative", p.negative), ("positive", p.positive)) for m in el.materials
        ]
        self.mesh_check = None
        if config.mesh_check:
            from .mesh_check import MeshCheck, batch_sample

            cells = config.mesh_check_cells or batch_sample(config.n_cells)
            self.mesh_check = MeshCheck(name, config.model, p, config, config.mesh_check_refinement, cells,
                                        [f"cell {k}" for k in cells], config.max_step_halvings)
        super().__init__(name, config)
        #: the outputs of the model and of the available power (the mesh check publishes its own)
        self._model_outputs = [port.name for port in self.outputs if port.name != MESH_CHECK]

    def _declare_ports(self):
        c = self.config
        shape, dims = ((), ()) if c.n_cells == 1 else ((c.n_cells,), ("cell",))
        setpoint, unit = self._SETPOINT[c.control]
        sp_shape, sp_dims = (shape, dims) if c.per_cell_setpoint else ((), ())
        yield Port(setpoint, Causality.INPUT, unit=unit, shape=sp_shape, dims=sp_dims, start=0.0,
                   long_name=f"{c.control} set point (positive on discharge)")
        yield Port("temperature_K", Causality.INPUT, unit="K", shape=shape, dims=dims, start=c.temperature_K,
                   long_name="cell temperature")
        deps = (setpoint, "temperature_K")

        def out(name, unit, long_name):
            return Port(name, Causality.OUTPUT, unit=unit, shape=shape, dims=dims, depends_on=deps, long_name=long_name)

        from ..cell.base import OUTPUTS

        for key, (unit, long_name) in OUTPUTS.items():
            yield out(key, unit, long_name)
        yield out("power_W", "W", "electrical power (positive on discharge)")
        yield out("heat_W", "W", "total heat of each cell (reaction, ohmic, reversible and mixing)")
        for side, mat in self._material_outputs:
            yield out(f"sto_surface_{side}_{mat}", "1", f"surface stoichiometry of {mat} in the {side} electrode")
            yield out(f"sto_mean_{side}_{mat}", "1", f"mean stoichiometry of {mat} in the {side} electrode")
        if c.available_power:
            every = f" (updated every {c.available_power_interval_s:g} s)"
            yield out("available_discharge_power_W", "W",
                      f"discharge power for {c.pulse_duration_s:g} s down to {self.v_min:g} V{every}")
            yield out("available_charge_power_W", "W",
                      f"charge power for {c.pulse_duration_s:g} s up to {self.v_max:g} V"
                      + ("" if c.min_anode_potential_V is None else f", anode >= {c.min_anode_potential_V:g} V vs Li")
                      + f" (negative){every}")
        if self.mesh_check is not None:
            yield self.mesh_check.port(deps)

    def coordinates(self) -> dict[str, list]:
        return {} if self.mesh_check is None else self.mesh_check.coordinates()

    # -- lifecycle ------------------------------------------------------------------------
    def _vector(self, value) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), (self.model.n,))

    def _publish(self, out: dict, T: np.ndarray, t: float) -> None:
        from ..cell.base import total_heat_W

        c = self.config
        scalar = c.n_cells == 1
        values = dict(out)
        values["power_W"] = out["voltage_V"] * out["current_A"]
        values["heat_W"] = total_heat_W(out)
        if c.available_power:
            if self._next_power_update is None or t >= self._next_power_update - 1e-9:
                self._available = self.model.available_power(c.pulse_duration_s, T, self.v_min, self.v_max,
                                                             min_anode_potential_V=c.min_anode_potential_V)
                self._next_power_update = t + c.available_power_interval_s
            values["available_discharge_power_W"], values["available_charge_power_W"] = self._available
        for name in self._model_outputs:
            v = np.asarray(values[name], dtype=float)
            self.y[name] = float(v[0]) if scalar else v.copy()

    def _initialize(self, t0: float) -> None:
        T = self._vector(self.u["temperature_K"])
        self.model.rest_outputs(T)
        self._next_power_update = None
        self._publish(self.model.out, T, t0)
        if self.mesh_check is not None:
            self.y[MESH_CHECK] = self.mesh_check.start(t0, T, self.model.out["voltage_V"])
        self._books = {"t": t0, "in": 0.0, "out": 0.0, "power_W": 0.0, **dict.fromkeys(_HEAT, 0.0)}
        self._stored0 = float(self.model.stored_energy_J().sum())

    # -- energy books (contract item 10) ---------------------------------------------------

    def _book(self, t: float) -> None:
        b, y = dict(self._books), self.y
        h = t - b["t"]
        power = np.asarray(y["power_W"], dtype=float)
        b["t"] = t
        b["power_W"] += float(power.sum()) * h
        b["out"] += float(np.maximum(power, 0.0).sum()) * h
        b["in"] += float(np.maximum(-power, 0.0).sum()) * h
        for k in _HEAT:
            b[k] += float(np.sum(y[k])) * h
        self._books = b  # replaced, never mutated: saved states keep theirs

    def _energy_books(self) -> EnergyBooks:
        b = self._books
        ports = {k: b[k] for k in (*_HEAT, "power_W")}
        if self.config.control == "power":
            ports["power_setpoint_W"] = b["power_W"]
        return EnergyBooks(
            in_J=b["in"], out_J=b["out"], stored_J=float(self.model.stored_energy_J().sum()) - self._stored0,
            dissipated_J=sum(b[k] for k in _HEAT), ports=ports,
            notes="in/out: charge/discharge energy at the terminals, summed over the cells; stored: the model's "
                  "stored_energy_J; dissipated: reaction + ohmic + reversible + mixing heat")

    def _do_step(self, t: float, h: float) -> None:
        c = self.config
        setpoint = self._vector(self.u[self._SETPOINT[c.control][0]])
        T = self._vector(self.u["temperature_K"])
        n_sub = 1 if c.max_step_s is None else max(1, int(np.ceil(h / c.max_step_s - 1e-9)))
        self._ending = None
        if self.mesh_check is not None:
            self.mesh_check.begin()
        for k in range(n_sub):
            self._step_with_retries(t + k * h / n_sub, h / n_sub, setpoint, T)
            if self._ending:
                break
        self._publish(self.model.out, T, t + h)
        if self.mesh_check is not None:
            self.y[MESH_CHECK] = self.mesh_check.finish(t + h, self.model.out["voltage_V"])
        self._book(t + h)
        if self._ending:
            raise EndOfRun(self._ending)

    def _step_with_retries(self, t: float, h: float, setpoint: np.ndarray, T: np.ndarray, depth: int = 0) -> None:
        from ..cell.base import ConvergenceError

        try:  # a step that finds no solution leaves the model as it was: retry it in halves
            self.model.step(h, T, **{_KWARG[self.config.control]: setpoint},
                            limits=(self.v_min, self.v_max) if self.config.on_limit == "clamp" else None)
        except ConvergenceError as exc:
            if depth >= self.config.max_step_halvings:
                cell = int(exc.cells[0])
                soc = self.model.out.get("soc")
                soc_text = f", SOC {float(soc[cell]):.4f}" if soc is not None and len(soc) > cell else ""
                raise ComponentError(
                    self.name, "do_step", t,
                    f"cell {cell} did not converge even with steps of {h:g} s (set point "
                    f"{float(setpoint[cell]):g}, T {float(T[cell]):g} K{soc_text}): {exc}",
                ) from None
            self._step_with_retries(t, h / 2, setpoint, T, depth + 1)
            self._step_with_retries(t + h / 2, h / 2, setpoint, T, depth + 1)
            return
        if self.mesh_check is not None:
            self.mesh_check.took(h, T, self.model.out["current_A"])
        if self.config.on_limit != "clamp":
            V = self.model.out["voltage_V"]
            low, high = V < self.v_min - 1e-9, V > self.v_max + 1e-9
            if low.any() or high.any():
                cell = int(np.flatnonzero(low | high)[0])
                which, limit = ("below the lower", self.v_min) if low[cell] else ("above the upper", self.v_max)
                message = f"cell {cell} reached {float(V[cell]):.4f} V at t = {t + h:g} s, {which} voltage limit {limit:g} V"
                if self.config.on_limit == "end":
                    self._ending = message
                    return
                raise ComponentError(
                    self.name, "do_step", t,
                    message + ' (on_limit = "end" ends the run there, "clamp" holds the limit)',
                )

    def _get_state(self):
        return (self.model.get_state(), self._next_power_update, getattr(self, "_available", None), self._books,
                None if self.mesh_check is None else self.mesh_check.get_state())

    def _set_state(self, state) -> None:
        self.model.set_state(state[0])
        self._next_power_update, self._available = state[1], state[2]  # replaced, never mutated
        self._books = state[3]
        if self.mesh_check is not None:
            self.mesh_check.set_state(state[4])

    def run_notes(self) -> list[str]:
        return [] if self.mesh_check is None else self.mesh_check.notes()

    def run_attributes(self) -> dict:
        return {} if self.mesh_check is None else self.mesh_check.attributes()
