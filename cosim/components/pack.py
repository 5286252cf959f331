"""``pack``: an assembled battery of bipolar stacks, with every unit cell resolved.

``n_strings`` parallel strings × ``n_stacks`` bipolar stacks in series × ``n_layers`` unit
cells per stack, all advanced by one batched cell model (see :mod:`cosim.pack.assembly`).
The layer temperatures are an input (from a ``thermal`` component, dims ``string``,
``stack``, ``layer``) and the per-layer heat is an output, so the two couple both ways.

Drive it by a pack current or power set point (positive on discharge). A CC-CV charge is a
negative current with ``on_limit = "clamp"``: when the worst layer (or the pack) reaches
its upper limit the current is cut back to hold it there. Limits are per layer and per
pack; ``on_limit = "stop"`` stops the run naming the layer, the time and the value,
``"end"`` ends the run there, ``"clamp"`` holds the limit.

Two engines step the battery (``engine``): the Python one (:mod:`cosim.pack.assembly`, every
model, the mesh check) and the pack FMU's C battery in-process (``fmus/pack/src/pack_model.h``
through :class:`cosim.pack.c_pack.CPack`, the SPM and SPMe: the default), which mirrors the
Python operation for operation; ``tests/test_pack_engine.py`` requires whole runs of both to
agree (measured: bit for bit).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..limits import MAX_STEP_HALVINGS, MAX_UNIT_CELLS
from ..cell.base import total_heat_W
from ..errors import ComponentError
from ..scenario.types import ScenarioPath
from ..pack.c_pack import PM_ENDED, SCALARS, CPack, CPackError, array_outputs
from ..pack.pack_soc import cell_capacity_C, pack_soc
from .base import UNLIMITED_W, Causality, Component, EndOfRun, EnergyBooks, Port
from .cell_core import CellMeshConfig, make_model
from .mesh_check import PORT as MESH_CHECK
from .registry import register


class PackConfig(CellMeshConfig):
    parameter_set: str | None = Field(None, description="shipped parameter set of the unit cell, e.g. 'seed_bgraphite_sno2_lmo_gel'")
    parameter_file: ScenarioPath | None = Field(None, description="a parameter-set TOML file of your own")
    overrides: dict[str, float] = Field(default_factory=dict, description="unit-cell parameter changes by dotted key")
    model: Literal["spm", "spme", "dfn"] = "spme"
    engine: Literal["auto", "c", "python"] = Field(
        "auto", description="what steps the battery: 'c' the pack FMU's C battery (fmus/pack/src/pack_model.h) "
        "in-process, 'python' the Python one (cosim/pack/assembly.py), the same results (tests/test_pack_engine.py); "
        "'auto': C for the SPM and SPMe without mesh_check, else Python")
    temperature_cache_K: float = Field(
        0.0, ge=0.0, le=1.0, description="the C engine reuses a unit cell's particle propagators and reaction "
        "rates (about a fifth of its step) while its temperature stays within this of the one they were computed "
        "at; 0: only at the very same temperature (exact: a pack at a fixed temperature; "
        "cosim/pack/c_pack.py)")
    n_strings: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="parallel strings")
    n_stacks: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="bipolar stacks in series per string")
    n_layers: int = Field(1, ge=1, le=MAX_UNIT_CELLS, description="unit cells in series per stack")
    initial_soc: float | None = Field(None, ge=0.0, le=1.0)
    control: Literal["current", "power"] = "current"
    collector_thickness_m: float = Field(20e-6, gt=0.0, description="bipolar collector foil (e.g. 20 µm stainless steel)")
    collector_resistivity_Ohm_m: float = Field(7.2e-7, gt=0.0, description="SUS304: 7.2e-7 Ohm m")
    stack_end_resistance_Ohm: float = Field(2e-4, ge=0.0, description="both end collectors and terminals of one stack")
    interconnect_resistance_Ohm: float = Field(1e-4, ge=0.0, description="each connection between stacks of a string")
    string_lead_resistance_Ohm: float = Field(0.0, ge=0.0, description="lead of each string to the pack terminals")
    spread_seed: int = Field(0, ge=0, description="seed of the cell-to-cell spread")
    capacity_spread_rel: float = Field(0.0, ge=0.0, lt=0.3, description="relative std. dev. of unit-cell capacity")
    thickness_spread_rel: float = Field(0.0, ge=0.0, lt=0.3, description="relative std. dev. of layer thickness")
    resistance_spread_rel: float = Field(0.0, ge=0.0, lt=0.3, description="relative std. dev. of contact resistance")
    string_capacity_factors: list[float] | None = Field(None, description="capacity factor per string (e.g. a weak string)")
    temperature_K: float = Field(298.15, gt=0.0, description="layer temperature while the input is unconnected")
    layer_lower_voltage_V: float | None = Field(None, gt=0.0, description="default: the parameter set's")
    layer_upper_voltage_V: float | None = Field(None, gt=0.0, description="default: the parameter set's")
    pack_lower_voltage_V: float | None = Field(None, gt=0.0)
    pack_upper_voltage_V: float | None = Field(None, gt=0.0)
    max_layer_temperature_K: float = Field(333.15, gt=0.0, description="the run stops above it")
    on_limit: Literal["stop", "end", "clamp"] = "clamp"
    available_power: bool = Field(True, description="compute the available-power outputs (false: no such outputs)")
    pulse_duration_s: float = Field(10.0, gt=0.0, description="pulse of the available-power outputs")
    available_power_interval_s: float = Field(
        10.0, gt=0.0, description="how often the available power is recomputed (held in between)"
    )
    min_anode_potential_V: float | None = Field(
        0.0, description="plating limit of the available charge power [V vs Li/Li+]: the charge pulse keeps every "
        "layer's anode potential (output layer_anode_potential_V) at or above it at the end of the pulse; "
        "0 = no lithium plating, a positive value is a safety margin; none: voltage limits only"
    )
    max_step_halvings: int = Field(6, ge=0, le=MAX_STEP_HALVINGS)
    mesh_check_cells: list[list[int]] | None = Field(
        None, description="the unit cells of the mesh check as [string, stack, layer] from 0 (default: the smallest "
        "capacity, the thickest layers and the most nominal cell of the spread; cosim/components/mesh_check.py)")

    @model_validator(mode="after")
    def _checks(self) -> "PackConfig":
        if (self.parameter_set is None) == (self.parameter_file is None):
            raise ValueError("give exactly one of 'parameter_set' and 'parameter_file'")
        n = self.n_strings * self.n_stacks * self.n_layers
        if n > MAX_UNIT_CELLS:
            raise ValueError(f"n_strings x n_stacks x n_layers = {n} unit cells; at most {MAX_UNIT_CELLS} are allowed")
        if self.string_capacity_factors is not None:
            if len(self.string_capacity_factors) != self.n_strings:
                raise ValueError(f"string_capacity_factors needs {self.n_strings} values (one per string)")
            if any(not 0.2 < f < 2.0 for f in self.string_capacity_factors):
                raise ValueError("string_capacity_factors must lie in (0.2, 2.0)")
        if self.temperature_cache_K > 0 and not self.c_engine:
            raise ValueError("temperature_cache_K > 0 needs the C engine (an SPM or SPMe without mesh_check, engine "
                             "\"auto\" or \"c\"); the Python one computes every step at its temperature")
        if self.engine == "c" and (self.model == "dfn" or self.mesh_check):
            raise ValueError("engine = \"c\" steps the SPM and SPMe without mesh_check; this pack has "
                             + ("model = \"dfn\"" if self.model == "dfn" else "mesh_check = true")
                             + " (use engine = \"auto\" or \"python\")")
        cells = self.mesh_check_cells
        if cells is not None:
            shape = (self.n_strings, self.n_stacks, self.n_layers)
            bad = [c for c in cells if len(c) != 3 or not all(0 <= i < n for i, n in zip(c, shape))]
            if not cells or bad or len({tuple(c) for c in cells}) != len(cells):
                raise ValueError(f"mesh_check_cells needs distinct [string, stack, layer] triples within "
                                 f"[{shape[0] - 1}, {shape[1] - 1}, {shape[2] - 1}] (from 0), got {bad or cells}")
        return self

    @property
    def c_engine(self) -> bool:
        """Whether the C battery steps the pack (``engine``)."""
        return self.engine == "c" or (self.engine == "auto" and self.model != "dfn" and not self.mesh_check)


def build_battery(config: PackConfig):
    """The assembled battery, its cell parameters and spread, as the configuration says."""
    from dataclasses import replace

    from ..cell.parameter_set import load_parameter_set
    from ..pack import AssembledBattery, Layout
    from ..pack.spread import apply, draw

    layout = Layout(config.n_strings, config.n_stacks, config.n_layers)
    pset = load_parameter_set(config.parameter_file or config.parameter_set)
    if config.overrides:
        pset = pset.with_overrides(config.overrides)
    params = pset.to_cell_params(layout.n_cells)
    collector = config.collector_resistivity_Ohm_m * config.collector_thickness_m / params.area_m2
    params = replace(params, contact_resistance_Ohm=params.contact_resistance_Ohm + collector)
    spread = draw(layout.n_cells, seed=config.spread_seed, capacity_rel=config.capacity_spread_rel,
                  thickness_rel=config.thickness_spread_rel, resistance_rel=config.resistance_spread_rel)
    if config.string_capacity_factors is not None:
        per_string = np.repeat(np.asarray(config.string_capacity_factors), config.n_stacks * config.n_layers)
        spread = replace(spread, capacity=spread.capacity * per_string)
    params = apply(params, spread)
    if config.initial_soc is not None:
        params = params.at_soc(config.initial_soc)
    r_string = (config.n_stacks - 1) * config.interconnect_resistance_Ohm + config.string_lead_resistance_Ohm
    battery = AssembledBattery(make_model(config.model, params, config), layout,
                               end_collector_resistance_Ohm=config.stack_end_resistance_Ohm,
                               string_resistance_Ohm=r_string)
    return battery, spread


@register
class Pack(Component):
    """Assembled bipolar battery; see the module docstring."""

    type_name = "pack"
    Config = PackConfig
    can_get_set_state = True

    def __init__(self, name: str, config: PackConfig):
        self.battery, self.spread = build_battery(config)
        p = self.battery.model.params
        self.layout = self.battery.layout
        n_series = config.n_stacks * config.n_layers
        self.layer_limits = (config.layer_lower_voltage_V or p.lower_voltage_V, config.layer_upper_voltage_V or p.upper_voltage_V)
        self.pack_limits = (config.pack_lower_voltage_V or n_series * self.layer_limits[0],
                            config.pack_upper_voltage_V or n_series * self.layer_limits[1])
        #: capacity [C] of every unit cell, for the pack SOC (:mod:`cosim.pack.pack_soc`)
        self.cell_capacity_C = cell_capacity_C(p)
        #: resistance of the connection at each stack's high end: the interconnect to the next
        #: stack, and for the last stack the string lead (shared by the string's two terminals)
        self.connection_resistance_Ohm = np.full(config.n_stacks, config.interconnect_resistance_Ohm)
        self.connection_resistance_Ohm[-1] = config.string_lead_resistance_Ohm
        self.mesh_check = None
        self._engine = None  # the C battery of a run (PackConfig.engine), made at initialize
        if config.mesh_check:
            from .mesh_check import MeshCheck, pack_sample

            cells = ([int(np.ravel_multi_index(c, self.layout.shape)) for c in config.mesh_check_cells]
                     if config.mesh_check_cells else pack_sample(self.cell_capacity_C, self.spread))
            self.mesh_check = MeshCheck(name, config.model, p, config, config.mesh_check_refinement, cells,
                                        [self.layout.where(k) for k in cells], config.max_step_halvings)
        super().__init__(name, config)

    def _declare_ports(self):
        c = self.config
        grid, gdims = self.layout.shape, ("string", "stack", "layer")
        setpoint = "current_setpoint_A" if c.control == "current" else "power_setpoint_W"
        yield Port(setpoint, Causality.INPUT, unit="A" if c.control == "current" else "W", start=0.0,
                   long_name=f"pack {c.control} set point (positive on discharge)")
        yield Port("layer_temperature_K", Causality.INPUT, unit="K", shape=grid, dims=gdims, start=c.temperature_K,
                   long_name="unit-cell temperature")
        deps = (setpoint, "layer_temperature_K")

        def out(name, unit, long_name, shape=(), dims=(), depends=deps, variability="continuous"):
            return Port(name, Causality.OUTPUT, unit=unit, shape=shape, dims=dims, depends_on=depends, long_name=long_name,
                        variability=variability)

        yield out("voltage_V", "V", "pack terminal voltage")
        yield out("current_A", "A", "pack current (positive on discharge)")
        yield out("power_W", "W", "power delivered at the pack terminals, mean over the step (positive on discharge)")
        yield out("soc", "1", "pack state of charge: charge the strings can deliver (each down to its emptiest "
                  "unit cell) over their capacity (each its smallest unit cell's)")
        yield out("min_layer_soc", "1", "lowest unit-cell state of charge")
        yield out("max_layer_soc", "1", "highest unit-cell state of charge")
        yield out("heat_W", "W", "heat of the whole pack (cells, collectors, interconnects)")
        yield out("stack_end_heat_W", "W", "heat of each stack's two end collectors and terminals (I_s^2 R_end; "
                  "half at each end)", grid[:2], gdims[:2])
        yield out("interconnect_heat_W", "W", "heat of the connection at each stack's high end: the interconnect to "
                  "the next stack, for the last stack the string lead (I_s^2 R)", grid[:2], gdims[:2])
        yield out("string_current_A", "A", "current of each parallel string", (c.n_strings,), ("string",))
        yield out("stack_voltage_V", "V", "voltage of each bipolar stack", grid[:2], gdims[:2])
        yield out("layer_voltage_V", "V", "unit-cell voltage", grid, gdims)
        yield out("layer_soc", "1", "unit-cell state of charge", grid, gdims)
        yield out("layer_heat_W", "W", "heat generated in each unit cell (incl. its collector)", grid, gdims)
        yield out("layer_anode_potential_V", "V", "negative electrode potential vs Li/Li+ (plating margin)", grid, gdims)
        yield out("limited", "1", "1 when the pack was at a limit in the step (it delivered the most it could)")
        yield out("power_limit_W", "W",
                  "power the pack could deliver over the step when a limit bound (= power_W), 1e12 when none did; "
                  "feed it to a vehicle's battery_power_limit_W with iterate = true")
        yield out("min_layer_voltage_V", "V", "lowest unit-cell voltage")
        yield out("max_layer_voltage_V", "V", "highest unit-cell voltage")
        # the cell-to-cell spread: fixed at initialize (recorded once, without the time dimension)
        yield out("layer_capacity_factor", "1", "capacity factor of the cell-to-cell spread", grid, gdims, (),
                  "fixed")
        yield out("layer_thickness_factor", "1", "thickness factor of the cell-to-cell spread", grid, gdims, (),
                  "fixed")
        yield out("layer_resistance_factor", "1", "contact-resistance factor of the cell-to-cell spread", grid,
                  gdims, (), "fixed")
        if c.available_power:
            yield out("available_discharge_power_W", "W",
                      f"pack discharge power over a {c.pulse_duration_s:g} s pulse within the limits "
                      f"(updated every {c.available_power_interval_s:g} s)")
            plating = "" if c.min_anode_potential_V is None else f" and anode >= {c.min_anode_potential_V:g} V vs Li"
            yield out("available_charge_power_W", "W",
                      f"pack charge power over a {c.pulse_duration_s:g} s pulse within the limits{plating}, negative "
                      f"(updated every {c.available_power_interval_s:g} s)")
        if self.mesh_check is not None:
            yield self.mesh_check.port(deps)

    def coordinates(self) -> dict[str, list]:
        return {} if self.mesh_check is None else self.mesh_check.coordinates()

    # -- lifecycle ------------------------------------------------------------------------
    def _T(self) -> np.ndarray:
        T = self.u["layer_temperature_K"]
        if type(T) is np.ndarray and T.dtype == np.float64 and T.shape == self.layout.shape:  # as connected
            return T.reshape(-1)
        return np.broadcast_to(np.asarray(T, dtype=float), self.layout.shape).reshape(-1)

    def _publish(self, T: np.ndarray, t: float, power_W: float) -> None:
        b, L = self.battery, self.layout
        out = b.model.out
        v = out["voltage_V"].reshape(L.shape)
        heat = total_heat_W(out)  # reaction, ohmic, reversible and mixing
        I_s = b.string_current
        I2 = (I_s**2)[:, None]
        y = self.y
        y["voltage_V"] = float(b.voltage)
        y["current_A"] = float(I_s.sum())
        y["power_W"] = power_W
        soc = out["soc"]
        y["soc"] = pack_soc(soc, self.cell_capacity_C, L.n_strings)
        y["min_layer_soc"] = float(soc.min())
        y["max_layer_soc"] = float(soc.max())
        y["stack_end_heat_W"] = np.broadcast_to(I2 * b.R_end, L.shape[:2]).copy()
        y["interconnect_heat_W"] = I2 * self.connection_resistance_Ohm[None, :]
        y["heat_W"] = float(heat.sum() + y["stack_end_heat_W"].sum() + y["interconnect_heat_W"].sum())
        y["string_current_A"] = I_s.copy()
        y["stack_voltage_V"] = v.sum(axis=2) - I_s[:, None] * b.R_end
        y["layer_voltage_V"] = v.copy()
        y["layer_soc"] = out["soc"].reshape(L.shape).copy()
        y["layer_heat_W"] = heat.reshape(L.shape).copy()
        y["layer_anode_potential_V"] = out["anode_potential_V"].reshape(L.shape).copy()
        y["min_layer_voltage_V"] = float(v.min())
        y["max_layer_voltage_V"] = float(v.max())
        c = self.config
        if c.available_power and (self._next_power_update is None or t >= self._next_power_update - 1e-9
                                  or self._near_available(power_W)):
            dis, ch = b.available_power(c.pulse_duration_s, T, self.layer_limits, self.pack_limits,
                                        min_anode_potential_V=c.min_anode_potential_V, substep_s=self._h)
            y["available_discharge_power_W"] = dis
            y["available_charge_power_W"] = ch
            self._next_power_update = t + c.available_power_interval_s
        self._book(t)

    # -- energy books (contract item 10) ---------------------------------------------------
    _HEAT_PORTS = ("heat_W", "layer_heat_W", "stack_end_heat_W", "interconnect_heat_W")

    def _book(self, t: float) -> None:
        """Book the step that ended at ``t`` with the outputs just published, each held over
        the step as the step computed it: ``power_W`` is the step's terminal energy over its
        length, the heats are what the thermal network receives for that step."""
        if self._books is None:  # initialize
            self._books = {"t": t, "in": 0.0, "out": 0.0, **{k: 0.0 for k in self._HEAT_PORTS}, "power_W": 0.0}
            # the C engine's particle modes: their stored energy is computed when the books are asked for
            self._start = self._stored_J() if self._engine is None else self._modes()
            return
        h = t - self._books["t"]
        y, books = self.y, dict(self._books)
        P = y["power_W"]
        books["t"] = t
        books["power_W"] += P * h
        books["out" if P > 0 else "in"] += abs(P) * h
        for k in self._HEAT_PORTS:
            v = y[k]
            books[k] += (v if type(v) is float else float(v.sum())) * h
        self._books = books  # replaced, never mutated: the saved states keep theirs

    def _energy_books(self) -> EnergyBooks:
        b = self._books
        ports = {k: b[k] for k in self._HEAT_PORTS}
        ports["power_W"] = b["power_W"]
        if self.config.control == "power":
            ports["power_setpoint_W"] = b["power_W"]
        start = self._start if self._engine is None else self._stored_J(self._start)
        return EnergyBooks(
            in_J=b["in"], out_J=b["out"], stored_J=self._stored_J() - start,
            dissipated_J=b["heat_W"], ports=ports,
            notes="in/out: charge/discharge energy at the terminals (power_W: the energy of each step over its "
                  "length); stored: the cells' stored_energy_J; dissipated: heat_W "
                  "(cells + series I^2 R)")

    def _near_available(self, power_W: float) -> bool:
        """Whether the last step drew at least 90 % of the available power in its direction:
        then the available power is refreshed every step (a promise held for a whole interval
        would drift from the state it was made at; one step ahead it holds)."""
        key = "available_discharge_power_W" if power_W > 0 else "available_charge_power_W"
        available = self.y.get(key)
        return available is not None and power_W != 0.0 and abs(power_W) >= 0.9 * abs(available)

    # -- the C engine (PackConfig.engine) ---------------------------------------------------
    def _start_c(self):
        """The pack FMU's C battery of this pack as built (cosim/pack/c_pack.py), without a
        thermal network (the layer temperatures are this component's input), and the views
        of its array outputs."""
        import os
        import tempfile

        from ..pack.export_data import pack_arrays, write_resource

        fd, path = tempfile.mkstemp(prefix="cosim-pack-", suffix=".bin")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(write_resource(pack_arrays(self)))
            engine = CPack(path)  # read whole
        finally:
            os.unlink(path)
        engine.use_threads()
        outputs = {p.name for p in self.outputs}  # those the C has: every one but the spread's and the mesh check's
        self._c_outputs = (engine.scalars_view(), [(k, i) for i, k in enumerate(SCALARS) if k in outputs],
                           [(k, engine.view(k)) for k in array_outputs() if k in outputs])
        return engine

    def _publish_c(self, t: float) -> None:
        """The outputs of the C battery's last step (what :meth:`_publish` computes) and the books."""
        y = self.y
        live, scalars, views = self._c_outputs
        values = live.tolist()
        for k, i in scalars:
            y[k] = values[i]
        for k, v in views:
            y[k] = v.copy()
        self._book(t)

    def _do_step_c(self, t: float, h: float) -> None:
        engine = self._engine
        setpoint = float(self.u["current_setpoint_A" if self.config.control == "current" else "power_setpoint_W"])
        try:
            engine.set_layer_temperature(self._T())
            status, message = engine.do_step(t, h, setpoint)
        except CPackError as exc:
            raise ComponentError(self.name, "do_step", t, str(exc)) from None
        self._publish_c(t + h)
        y = self.y
        if y["limited"]:
            self._count_limit(t + h, setpoint, y["voltage_V"], y["power_W"], engine.step_limited())
        if status == PM_ENDED:
            raise EndOfRun(message)

    def _modes(self) -> np.ndarray:
        """The C engine's particle modes now (its state starts with them)."""
        return self._engine.get_state()[:self.battery.model._z.size].copy()

    def _stored_J(self, z: np.ndarray | None = None) -> float:
        """The energy stored in the cells (:meth:`cosim.cell.base.CellModel.stored_energy_J`):
        the Python model's now, or with the C engine, of the particle modes ``z`` (default:
        now), put into the Python model (an SPM/SPMe; it does not step with the C engine)."""
        model = self.battery.model
        if self._engine is not None:
            model._z[...] = (self._modes() if z is None else z).reshape(model._z.shape)
        return float(model.stored_energy_J().sum())

    def _initialize(self, t0: float) -> None:
        T = self._T()
        self._engine = self._start_c() if self.config.c_engine else None
        if self._engine is None:
            self.battery.step(1e-9, T, current_A=0.0)
        else:
            try:
                self._engine.set_layer_temperature(T)
                self._engine.initialize(t0)
            except CPackError as exc:
                raise ComponentError(self.name, "initialize", t0, str(exc)) from None
        self._next_power_update = None
        self._h = 1.0  # until the first step says the macro step
        self._short = (0, 0, 0.0, 0.0, 0.0, 0.0)  # steps at a limit, cut back; the worst cut: W, t, asked, delivered
        self._step_limit = (None, None, 0.0, None)  # (t, h, power, pack current) of the last step cut back
        self.y["limited"], self.y["power_limit_W"] = 0.0, UNLIMITED_W
        self._books = None
        L = self.layout  # the spread factors: fixed outputs, published once
        self.y["layer_capacity_factor"] = self.spread.capacity.reshape(L.shape).copy()
        self.y["layer_thickness_factor"] = self.spread.thickness.reshape(L.shape).copy()
        self.y["layer_resistance_factor"] = self.spread.resistance.reshape(L.shape).copy()
        if self.mesh_check is not None:
            self.y[MESH_CHECK] = self.mesh_check.start(t0, T, self.battery.model.out["voltage_V"])
        if self._engine is not None:
            self._publish_c(t0)
        else:
            self._publish(T, t0, 0.0)

    def _do_step(self, t: float, h: float) -> None:
        if self._engine is not None:
            return self._do_step_c(t, h)
        T = self._T()
        hot = T > self.config.max_layer_temperature_K
        if hot.any():
            cell = int(np.flatnonzero(hot)[0])
            raise ComponentError(self.name, "do_step", t,
                                 f"{self.layout.where(cell)} is at {T[cell]:.2f} K, above max_layer_temperature_K "
                                 f"{self.config.max_layer_temperature_K:g} K")
        setpoint = float(self.u["current_setpoint_A" if self.config.control == "current" else "power_setpoint_W"])
        self._ending = None
        self._energy_J, self._limited, self._substeps = 0.0, False, 0
        self._h = h  # the available power's pulse is integrated in steps of the macro step
        if self.mesh_check is not None:
            self.mesh_check.begin()
        memo = self._step_limit
        if (memo[0] == t and memo[1] == h and memo[3] is not None and setpoint * memo[2] > 0.0
                and abs(setpoint) >= abs(memo[2]) * (1.0 - 1e-9)):
            # a repeated pass asking at least the limit an earlier pass found: take that very step
            # again (its current was found inside the limits), not a new search that may land a
            # hair apart and keep an iterated loop from converging
            self._replay(t, h, setpoint, T, memo[3])
        else:
            self._step(t, h, setpoint, T, 0)
        if self.mesh_check is not None:
            self.y[MESH_CHECK] = self.mesh_check.finish(t + h, self.battery.model.out["voltage_V"])
        power = self._energy_J / h
        self._limits_of_step(t, h, setpoint, power)
        self._publish(T, t + h, power)
        if self._ending:
            raise EndOfRun(self._ending)

    def _replay(self, t: float, h: float, setpoint: float, T: np.ndarray, I_pack: float) -> None:
        """The step at the current of the limit found in an earlier pass; if that has no
        solution now or would give more than asked, the ordinary step."""
        from ..cell.base import ConvergenceError

        b = self.battery
        state = self._get_state()
        try:
            b.step(h, T, current_A=I_pack)
            power = b.voltage * float(b.string_current.sum())
        except ConvergenceError:
            power = np.inf
        if abs(power) <= abs(setpoint) * (1.0 + 1e-12):
            self._energy_J, self._limited, self._substeps = power * h, True, 1
            if self.mesh_check is not None:
                self.mesh_check.took(h, T, b.model.out["current_A"])
            return
        self._set_state(state)
        self._step(t, h, setpoint, T, 0)

    def _limits_of_step(self, t: float, h: float, setpoint: float, power: float) -> None:
        """The ``limited`` and ``power_limit_W`` outputs of the step ``[t, t + h]`` and the
        count of limited steps. ``power_limit_W`` is the delivered power when a limit cut the
        set point back; when the step is repeated (an iterated connection) with a set point
        that reaches the limit found in an earlier pass of it, that is still the limit (the
        pack remembers the last step's limit outside its state, since a repeat restores
        the state); otherwise 1e12 W (no limit)."""
        if self._limited:
            I_pack = float(self.battery.string_current.sum()) if self._substeps == 1 else None
            self._step_limit = (t, h, power, I_pack)
        memo = self._step_limit
        at_limit = self._limited or (memo[0] == t and memo[1] == h and power * memo[2] >= 0.0
                                     and abs(power) >= abs(memo[2]) * (1.0 - 1e-9))
        self.y["limited"] = float(at_limit)
        self.y["power_limit_W"] = power if at_limit else UNLIMITED_W
        if at_limit:
            self._count_limit(t + h, setpoint, self.battery.voltage, power, self._limited)

    def _count_limit(self, t_end: float, setpoint: float, voltage: float, power: float, cut: bool) -> None:
        """Count a step at a limit (``cut``: its set point cut back) for :meth:`run_notes`."""
        asked = setpoint * voltage if self.config.control == "current" else setpoint
        n, cuts, worst = self._short[0] + 1, self._short[1] + cut, abs(asked - power)
        self._short = (n, cuts, worst, t_end, asked, power) if worst > self._short[2] else (n, cuts) + self._short[2:]

    def run_notes(self) -> list[str]:
        n, cut, _, t, asked, got = getattr(self, "_short", (0,) * 6)
        mesh = [] if self.mesh_check is None else self.mesh_check.notes()
        if not n:
            return mesh
        note = f"pack '{self.name}': at a limit in {n} step(s)"
        if cut and abs(asked - got) > 1e-6 * max(abs(asked), 1.0):
            note += (f", the set point cut back in {cut} of them, the most at t = {t:g} s (asked {asked:.6g} W, "
                     f"delivered {got:.6g} W)")
        return [note, *mesh]

    def run_attributes(self) -> dict:
        return {} if self.mesh_check is None else self.mesh_check.attributes()

    def _step(self, t: float, h: float, setpoint: float, T: np.ndarray, depth: int) -> None:
        from ..cell.base import ConvergenceError

        c = self.config
        kwargs = {"current_A" if c.control == "current" else "power_W": setpoint}
        clamp = c.on_limit == "clamp"
        try:  # a step that finds no solution leaves the battery as it was: retry it in halves
            self.battery.step(h, T, **kwargs, limits=self.layer_limits if clamp else None,
                              pack_limits=self.pack_limits if clamp else None)
            b = self.battery
            self._energy_J += b.voltage * float(b.string_current.sum()) * h
            self._substeps += 1
            self._limited = self._limited or b.limited
            if self.mesh_check is not None:
                self.mesh_check.took(h, T, b.model.out["current_A"])
        except ConvergenceError as exc:
            if depth >= c.max_step_halvings:
                raise ComponentError(self.name, "do_step", t,
                                     f"no solution even with steps of {h:g} s at set point {setpoint:g}: {exc}") from None
            self._step(t, h / 2, setpoint, T, depth + 1)
            self._step(t + h / 2, h / 2, setpoint, T, depth + 1)
            return
        if not clamp:
            v = self.battery.model.out["voltage_V"]
            lo, hi = self.layer_limits
            bad = np.flatnonzero((v < lo - 1e-9) | (v > hi + 1e-9))
            if bad.size:
                k = int(bad[0])
                which = "below the lower" if v[k] < lo else "above the upper"
                message = (f"{self.layout.where(k)} reached {v[k]:.4f} V at t = {t + h:g} s, {which} "
                           f"layer limit {lo if v[k] < lo else hi:g} V")
                if c.on_limit == "end":
                    self._ending = message
                    return
                raise ComponentError(self.name, "do_step", t, message)

    def _get_state(self):
        if self._engine is not None:
            return (self._engine.get_state(), self._short, self._books)
        b = self.battery
        return (b.model.get_state(), b.string_current.copy(), b.voltage, self._next_power_update,
                b._curvature.copy(), dict(b._last_pulse), b._trend, self._short, self._books,
                None if self.mesh_check is None else self.mesh_check.get_state())

    def _set_state(self, state) -> None:
        if self._engine is not None:
            self._engine.set_state(state[0])
            self._short, self._books = state[1], state[2]  # replaced, never mutated, by each step
            return
        self.battery.model.set_state(state[0])
        self.battery.string_current, self.battery.voltage, self._next_power_update = state[1].copy(), state[2], state[3]
        self.battery._curvature[:] = state[4]
        self.battery._last_pulse = dict(state[5])
        self.battery._trend = state[6]  # replaced, never mutated, by each step
        self._short = state[7]
        self._books = state[8]  # replaced, never mutated, by each step
        if self.mesh_check is not None:
            self.mesh_check.set_state(state[9])
