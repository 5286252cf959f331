"""``fmu``: any FMU (FMI 2.0 or 3.0, co-simulation or model exchange) as a component.

Scenario syntax (``type = "fmu"`` may be left out when ``fmu`` is given)::

    [components.vehicle]
    fmu = "../fmus/build/vehicle_fmi2.fmu"     # relative to this scenario file
    parameters = { mass_kg = 1600.0 }          # FMU variable -> value, set before initialization
    rename = { "P_batt" = "battery_power_W" }  # FMU variable -> port name (optional)
    units = { "P_batt" = "W" }                 # for variables the FMU gives no unit (optional)

``cosim info X.fmu`` prints the ports, parameters and a table ready to paste. How ports
are made from the model description: :mod:`cosim.fmu.variables`.

Life of the component:

1. At construction the archive is checked and only its ``modelDescription.xml`` is read
   (:mod:`cosim.fmu.archive`): ports, units, direct feedthrough (``ModelStructure``), the
   ``parameters``/``rename`` names (unknown ones are refused with the known ones listed).
2. ``initialize`` unpacks the FMU into a private temporary folder (removed at
   ``terminate``, whatever happened), instantiates it once, sets the parameters, the
   inputs, and runs the initialization; model exchange then settles its events.
3. ``do_step`` writes the inputs from buffers allocated once, then co-simulation calls
   ``DoStep``; model exchange integrates (:mod:`cosim.fmu.model_exchange`). ``Discard``
   becomes :class:`~cosim.components.base.StepRejected` (the orchestrator retries with
   half steps if every component can roll back, else stops with the message);
   ``Error``/``Fatal`` stop the run with the FMU, the time, the FMI call and the FMU's log
   (:class:`~cosim.fmu.instance.FmuCallError`); NaN/Inf outputs are caught by the
   orchestrator and named. An FMU that ends the simulation (FMI 2: Discard with
   ``fmi2Terminated``; FMI 3: ``terminateSimulation``) ends the run cleanly at the FMU's
   last successful time (:meth:`~cosim.fmu.instance.FmuInstance.do_step`); an FMI 3 early
   return without termination is a rejected step.
4. An FMU that advertises ``canGetAndSetFMUstate`` can be rolled back (its state is kept
   serialized when it also advertises ``canSerializeFMUstate``); one that cannot
   handle variable communication steps refuses a step of another size than its first.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..components.base import Causality, Component, ComponentConfig, EndOfRun, Port, StepRejected
from ..components.registry import register
from ..errors import CosimError
from ..scenario.issues import did_you_mean
from ..scenario.types import ScenarioPath
from . import archive
from .instance import FmuDiscard, FmuInstance, ValueGroup
from .variables import port_variables

__all__ = ["FmuComponent", "FmuConfig", "settable"]

Value = float | int | bool | str | list[float] | list[int] | list[bool]


class FmuConfig(ComponentConfig):
    type: str = "fmu"
    fmu: ScenarioPath = Field(description="the FMU file (.fmu), relative to the scenario file")
    interface: Literal["auto", "co-simulation", "model-exchange"] = Field(
        "auto", description="which interface to use; auto: co-simulation if the FMU has it")
    parameters: dict[str, Value] = Field(
        default_factory=dict, description="FMU variable name -> value, set before initialization")
    rename: dict[str, str] = Field(default_factory=dict, description="FMU variable name -> port name")
    units: dict[str, str] = Field(
        default_factory=dict, description="FMU variable name -> unit, for variables the FMU gives none")
    tolerance: float | None = Field(None, gt=0, description="relative tolerance handed to the FMU (SetupExperiment)")
    rtol: float = Field(1e-6, gt=0, description="model exchange: relative tolerance of the integrator")
    atol: float = Field(1e-10, gt=0, description="model exchange: absolute tolerance of the integrator, times each state's nominal value")
    max_step_s: float = Field(math.inf, gt=0, description="model exchange: largest integrator step [s]")
    solver: Literal["auto", "cvode_bdf", "cvode_adams", "rk45", "dop853", "bdf", "lsoda"] = Field(
        "auto", description="model exchange: integration method (auto: CVODE's BDF, stiff-safe; cvode_adams for "
                            "non-stiff models; rk45/dop853/bdf/lsoda: scipy's)")
    debug_logging: bool = Field(False, description="ask the FMU for its debug log (loggingOn)")


def settable(var) -> bool:
    """Whether a variable may be set before initialization (FMI's rules, simplified):
    parameters and inputs, and variables with an exact or approximate start value."""
    if var.variability == "constant":
        return False
    return var.causality in ("parameter", "input") or (var.initial in ("exact", "approx") and var.start is not None)


@register
class FmuComponent(Component):
    """An FMU behind the component contract; see the module docstring."""

    type_name = "fmu"
    Config = FmuConfig

    def __init__(self, name: str, config: FmuConfig):
        self.path = Path(config.fmu)
        self.md = archive.read_description(self.path)
        self.interface = self._choose_interface(config.interface)
        kind = self.md.coSimulation if self.interface == "cs" else self.md.modelExchange
        self.can_get_set_state = bool(kind.canGetAndSetFMUstate)
        self._serialize = bool(kind.canSerializeFMUstate)
        self.variable_step = self.interface == "me" or bool(kind.canHandleVariableCommunicationStepSize)
        by_name = {v.name: v for v in self.md.modelVariables}
        self._check_names(config, by_name)
        self._start = [(by_name[k], v) for k, v in config.parameters.items()]
        try:
            self.variables = port_variables(self.md, config.rename, config.units)
        except ValueError as exc:
            raise CosimError(f"FMU {self.path.name}: {exc}") from None
        self._inst: FmuInstance | None = None
        self._folder: Path | None = None
        self._me = None  # the ModelExchangeIntegrator of a model-exchange FMU
        self._warnings: tuple[int, tuple | None] = (0, None)  # of the FMU, kept after it is freed
        self._initialized = False
        self._h0: float | None = None
        super().__init__(name, config)

    def _choose_interface(self, wanted: str) -> str:
        offered = {name: key for name, key, kind in (("co-simulation", "cs", self.md.coSimulation),
                                                     ("model-exchange", "me", self.md.modelExchange)) if kind}
        if not offered and getattr(self.md, "scheduledExecution", None) is not None:
            raise CosimError(f"FMU {self.path.name}: offers only FMI 3 scheduled execution, which cosim does not "
                             "support (it needs co-simulation or model exchange)")
        if wanted == "auto" and offered:
            return next(iter(offered.values()))  # co-simulation first
        if wanted in offered:
            return offered[wanted]
        raise CosimError(f"FMU {self.path.name}: interface {wanted!r} not offered (it has: {', '.join(offered) or 'none'})")

    def _check_names(self, config: FmuConfig, by_name: dict) -> None:
        problems = []
        for key, what in ((config.parameters, "parameters"), (config.rename, "rename"), (config.units, "units")):
            unknown = [k for k in key if k not in by_name]
            if unknown:
                hints = [f"{k!r} ({hint[2:]})" if (hint := did_you_mean(k, list(by_name))) else repr(k)
                         for k in unknown]
                problems.append(f"{what}: no variable {', '.join(hints)} in the FMU")
        fixed = [k for k in config.parameters if k in by_name and not settable(by_name[k])]
        if fixed:
            problems.append(f"parameters: {', '.join(map(repr, fixed))} cannot be set (constant, or calculated by the FMU)")
        if problems:
            settable_names = ", ".join(v.name for v in self.md.modelVariables if settable(v) and v.causality != "input")
            raise CosimError(f"FMU {self.path.name}: " + "; ".join(problems) + f" (settable: {settable_names or 'none'})")

    def _declare_ports(self):
        for v in self.variables:
            yield Port(v.port, Causality.INPUT if v.causality == "input" else Causality.OUTPUT, unit=v.unit,
                       shape=v.shape, dims=v.dims, depends_on=v.depends_on,
                       long_name=v.description or f"FMU variable {v.name}",
                       start=v.start if v.causality == "input" else None, dtype=v.dtype)

    def _groups(self, causality: str, discrete: bool | None = None) -> list[ValueGroup]:
        """Value groups of the ports of ``causality`` (inputs: only the discrete ones, or only
        the continuous ones, when ``discrete`` says)."""
        variability = {v.name: v.variability for v in self.md.modelVariables}
        by_type: dict[str, list] = {}
        for v in self.variables:
            if v.causality == causality and (discrete is None or (variability[v.name] != "continuous") == discrete):
                by_type.setdefault(v.type, []).append((v.port, v.vr, v.shape))
        return [ValueGroup(self._inst, t, entries) for t, entries in by_type.items()]

    def _discrete_values(self) -> list:
        return [np.array(self.u[p]) if np.ndim(self.u[p]) else self.u[p]
                for g in self._discrete_inputs for p in g.ports]

    # -- lifecycle ----------------------------------------------------------------------
    def _initialize(self, t0: float) -> None:
        cfg = self.config
        self._folder = archive.extract(self.path)
        self._cleanup = weakref.finalize(self, archive.remove, self._folder)
        self._inst = inst = FmuInstance(self.md, str(self._folder), self.name, self.interface,
                                        label=f"'{self.name}' ({self.path.name})",
                                        debug_logging=cfg.debug_logging)
        self._inputs, self._outputs = self._groups("input"), self._groups("output")
        self._discrete_inputs = []
        if self.interface == "me":  # discrete inputs may change only in event mode (FMI 2.0.4 3.2.3, 3.0.2 3.2.4)
            self._inputs, self._discrete_inputs = self._groups("input", False), self._groups("input", True)
        for var, value in self._start:
            inst.set_start(var, value)
        inst.enter_initialization(t0, None, cfg.tolerance)
        for g in self._inputs + self._discrete_inputs:
            g.write(self.u)
        self._discrete_last = self._discrete_values()
        inst.exit_initialization()
        self._initialized = True
        self._me = None
        if self.interface == "me":
            from .model_exchange import ModelExchangeIntegrator  # (scipy.integrate: only when used)

            self._me = ModelExchangeIntegrator(inst, cfg.rtol, cfg.atol, cfg.max_step_s, cfg.solver)
            self._me.start(t0)
        for g in self._outputs:
            g.read(self.y)

    def _do_step(self, t: float, h: float) -> None:
        if not self.variable_step:
            if self._h0 is None:
                self._h0 = h
            elif abs(h - self._h0) > 1e-12 * self._h0:
                raise CosimError(f"FMU {self.path.name} cannot change its communication step "
                                 f"(canHandleVariableCommunicationStepSize is false): first {self._h0:g} s, now {h:g} s")
        for g in self._inputs:
            g.write(self.u)
        if self._me is None:
            logged = self._inst.n_logged
            try:
                ended_at = self._inst.do_step(t, h, not self.can_get_set_state)
            except FmuDiscard as exc:
                new = min(self._inst.n_logged - logged, len(self._inst.log))
                log = "; ".join(list(self._inst.log)[len(self._inst.log) - new:]) or "no log"
                why = "discarded the step" if str(exc).endswith("DoStep") else str(exc)
                raise StepRejected(f"FMU {self.path.name} {why} t = {t:g} s, h = {h:g} s ({log})") from None
            for g in self._outputs:
                g.read(self.y)
            if ended_at is not None:
                how = ("fmi2DoStep returned Discard with fmi2Terminated" if self._inst.version == 2
                       else "fmi3DoStep set terminateSimulation")
                raise EndOfRun(f"FMU {self.path.name} ended the simulation at t = {ended_at:g} s ({how})",
                               time=ended_at)
            return
        if self._discrete_inputs:
            now = self._discrete_values()
            if any(not np.array_equal(a, b) for a, b in zip(now, self._discrete_last)):
                # a discrete input changed: an event at t, the inputs set in event mode
                self._me.input_event(t, lambda: [g.write(self.u) for g in self._discrete_inputs])
                self._discrete_last = now
        self._me.advance(t, t + h)
        for g in self._outputs:
            g.read(self.y)
        if self._me.terminated:
            raise EndOfRun(f"FMU {self.path.name} asked to terminate at t = {t + h:g} s")

    def _get_state(self):
        me = self._me
        extra = None if me is None else (me.x.copy(), me.z.copy(), me.next_event, me.h_last, me.terminated,
                                         list(self._discrete_last))
        return self._inst.get_state(self._serialize), extra

    def _set_state(self, state) -> None:
        handle, extra = state
        self._inst.set_state(handle)
        if extra is not None:
            me = self._me
            me.x, me.z, me.next_event, me.h_last, me.terminated = extra[0].copy(), extra[1].copy(), *extra[2:5]
            self._discrete_last = list(extra[5])

    def run_notes(self) -> list[str]:
        """The FMU's warnings (status Warning in its log), which its user must see: how many,
        and the last one (a model's own end-of-run remark is usually logged at Terminate)."""
        n, last = self._warnings if self._inst is None else (self._inst.n_warnings, self._inst.last_warning)
        if not n:
            return []
        t, text = last
        when = "" if t is None else f" at t = {t:g} s"
        return [f"component '{self.name}' ({self.path.name}) logged {n} warning(s), the last{when}: {text}"]

    def _terminate(self) -> None:
        if self._me is not None:
            self._me.close()
        if self._inst is not None:
            self._inst.terminate(self._initialized)
            self._warnings = (self._inst.n_warnings, self._inst.last_warning)
            self._inst = None
        if self._folder is not None:
            self._cleanup()
