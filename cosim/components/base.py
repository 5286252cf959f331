"""The component contract: what every model the orchestrator steps must provide.

Native models (cell core, thermal network, vehicle) and FMUs a vehicle team hands over are
interchangeable behind this one contract. It maps one to one onto FMI co-simulation:

==========================================  ==============================================
contract                                    FMI 2.0 / 3.0 co-simulation
==========================================  ==============================================
:class:`Port` with ``causality``            variable with causality input/output/parameter
``Port.unit``, ``Port.shape``               ``unit`` / ``declaredType``; FMI 3 array dims
``Port.depends_on`` (outputs only)          ``ModelStructure/Output@dependencies``
``set_parameters``                          ``SetReal`` on parameters before init
``initialize(t0)``                          ``EnterInitializationMode``/``Exit...``
``u[...]`` / ``set_input``                  ``SetReal`` on inputs
``do_step(t, h)``                           ``DoStep(t, h)``
:class:`StepRejected`                       status ``Discard``
``y[...]`` / ``get_output``                 ``GetReal`` on outputs
``get_state`` / ``set_state``               ``GetFMUState`` / ``SetFMUState``
``terminate``                               ``Terminate`` + ``FreeInstance``
==========================================  ==============================================

Contract for implementers (subclass :class:`Component`):

1. Set ``type_name`` (the scenario's ``type = "..."``) and ``Config``, a subclass of
   :class:`ComponentConfig` holding the component's scenario keys (units in their names).
   Register the class with :func:`cosim.components.registry.register`.
2. ``__init__(name, config)`` receives the validated ``Config`` instance. Do cheap set-up
   there; heavy set-up belongs in ``_initialize``.
3. Implement ``_declare_ports()``: return every :class:`Port` (inputs, outputs,
   parameters). It is called once, by the constructor, after ``self.config`` is set, so
   shapes may depend on the configuration. Vector ports name their dimensions
   (``dims=("layer",)``); outputs list the inputs they depend on *directly* (within the
   same step, "direct feedthrough") in ``depends_on``; an empty tuple means none. An
   output that never changes after ``initialize`` (a cell-to-cell spread factor, a
   geometry) is declared ``variability="fixed"`` (FMI's fixed variability): its value at
   ``initialize`` is its value for the whole run, the component need not publish it again,
   and the results hold it once, without the time dimension.
4. Optionally implement ``_set_parameters(values)``; the default stores them in
   ``self.p``. Called (through ``set_parameters``) before ``initialize``.
5. Implement ``_initialize(t0)``. On entry ``self.u`` holds a value for every input (the
   connected source's initial output, or the port's ``start``). On return ``self.y`` must
   hold a value for every output: the outputs at ``t0``.
6. Implement ``_do_step(t, h)``: advance from ``t`` to ``t + h`` with the inputs in ``self.u``
   held constant over the step (zero-order hold); on return ``self.y`` holds the outputs at
   ``t + h``. Sub-step internally as needed. Scalars are Python numbers; vector values are
   numpy arrays of the port's shape. **Replace, never mutate in place, an array you have
   published in** ``self.y`` (the orchestrator may still hold the previous one), never
   keep a reference to an array found in ``self.u`` beyond the step, and never rebind
   ``self.u`` or ``self.y`` themselves (the orchestrator holds them).
   To refuse a step (it would not converge, a limit would be crossed between points),
   raise :class:`StepRejected`; the component's state must then either be unchanged or be
   restorable with ``set_state``. To end the run after a completed step (a cut-off
   reached), set the outputs and raise :class:`EndOfRun`.
7. If the component can save and restore its complete state, set
   ``can_get_set_state = True`` and implement ``_get_state()`` (return an object that stays
   valid after later steps; copy arrays) and ``_set_state(state)``. The orchestrator rolls
   back a macro step only if every component can.
8. Optionally override ``run_notes()``: remarks on the run so far that its user must see
   (e.g. "a limit bound in N steps"), each one line naming the component; they are
   appended to the result's status reason. The default has none.
9. Optionally implement ``_terminate()`` to release resources; it is called exactly once,
   also after a failure.
10. Optionally keep energy books: implement ``_energy_books()`` returning an
   :class:`EnergyBooks` of everything since ``initialize`` up to the component's current
   time (``self.time``; the run reads it at the end, also after a failure, so it must work
   after any completed step). The books say:

   a. ``in_J`` and ``out_J``: energy the component took in and gave out (each >= 0, gross
      over the run, e.g. battery discharge and charge energy; a component chooses what
      its inputs and outputs are and says so in ``notes``);
   b. ``stored_J``: the change of the energy stored in it since ``initialize`` (NaN if it
      cannot tell);
   c. ``dissipated_J``: energy it turned into heat or lost (NaN if not itemised);
      ``residual_J = in - out - stored - dissipated`` is then what its own books fail to
      close by (discretisation, or NaN);
   d. ``ports``: per port name, the energy [J] that passed through that port over the
      steps taken, *as the component booked it*, in the port's own sign (a ``W`` port:
      the integral of the power the component actually used or delivered; a heat input:
      the heat it put into its model). The run compares the books of the two ends of
      every connection whose ends both have one (:mod:`cosim.energy_ledger`);
   e. ``details``: further named energies [J] (e.g. regen, friction brakes), for reading.

   The books must be part of the state that ``_get_state``/``_set_state`` save and
   restore (a rolled-back step is not booked). A component without books (the default,
   e.g. an FMU) returns None and is left out of the ledger.
11. Optionally override ``coordinates()``: ``{dim: labels}`` for named dimensions of its
   ports whose positions have names (the vehicle's cycle phases, the thermal nodes); the
   results store them as coordinate variables. Dimensions without labels are numbered 0..n-1.
12. Optionally override ``run_attributes()``: ``{name: value}`` global attributes of the
   result that summarise the run so far (numbers or strings; names start with the
   component's name, e.g. ``pack_mesh_check_rms_voltage_difference_V``). Read once, when
   the run closes its results, also after a failure. The default has none.

Any other exception raised from a hook stops the run; the orchestrator reports it with the
component's name, the phase and the time, and keeps what was recorded so far.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

__all__ = [
    "Causality",
    "Component",
    "ComponentConfig",
    "EndOfRun",
    "EnergyBooks",
    "Port",
    "StepRejected",
    "same_unit",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: a port's variability: ``continuous`` (may change every step) or ``fixed`` (an output set
#: by ``initialize`` that never changes afterwards; FMI's fixed variability)
VARIABILITIES = ("continuous", "fixed")

#: a power limit that does not limit (start value of limit inputs, "no limit" of limit outputs)
UNLIMITED_W = 1e12
_DIMENSIONLESS = {"", "1", "-"}


def same_unit(a: str, b: str) -> bool:
    """True if two unit strings denote the same unit (exact match; '', '1', '-' are all
    dimensionless). No conversion is ever applied between connected ports."""
    if a in _DIMENSIONLESS and b in _DIMENSIONLESS:
        return True
    return a.replace(" ", "") == b.replace(" ", "")


class Causality(enum.StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    PARAMETER = "parameter"


@dataclass(frozen=True)
class Port:
    """A named, typed value a component exchanges.

    ``unit`` is a UCUM-style string as FMI uses (``"V"``, ``"W"``, ``"K"``, ``"m/s"``,
    ``"1"`` for dimensionless). ``shape`` is ``()`` for scalars; a vector port gives one
    dimension name per axis in ``dims`` (``("layer",)``), which becomes the dimension of
    the recorded variable. ``depends_on`` (outputs only) lists the inputs this output
    depends on within the same step (direct feedthrough). ``start`` is the value an
    unconnected input holds (and an input's value before its source is initialized).
    ``dtype`` is the value's type: ``float64`` (Python float, the default), ``int64`` and
    ``uint64`` (Python int, exact), ``bool``, or ``str`` (scalars only; not recorded).
    ``variability`` is ``"continuous"`` (the default: may change every step) or, for an
    output, ``"fixed"``: set by ``initialize`` and never changed afterwards (recorded once,
    without the time dimension; contract item 3).
    Connected ports must have the same kind of dtype (float, integer, bool, str); integer
    ports of either signedness connect (the target checks the range of what it receives).
    """

    name: str
    causality: Causality
    unit: str = "1"
    shape: tuple[int, ...] = ()
    dims: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    long_name: str = ""
    start: Any = None
    dtype: str = "float64"
    variability: str = "continuous"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"port name {self.name!r} is not an identifier")
        object.__setattr__(self, "causality", Causality(self.causality))
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        object.__setattr__(self, "dims", tuple(self.dims))
        object.__setattr__(self, "depends_on", tuple(self.depends_on))
        if any(n < 1 for n in self.shape):
            raise ValueError(f"port {self.name!r}: every axis needs at least one element")
        if len(self.dims) != len(self.shape):
            raise ValueError(
                f"port {self.name!r}: shape {self.shape} needs {len(self.shape)} dimension "
                f"name(s), got dims={self.dims}"
            )
        if self.depends_on and self.causality is not Causality.OUTPUT:
            raise ValueError(f"port {self.name!r}: only outputs can declare depends_on")
        if self.dtype not in ("float64", "int64", "uint64", "int32", "bool", "str"):
            raise ValueError(f"port {self.name!r}: unknown dtype {self.dtype!r}")
        if self.dtype == "str" and self.shape:
            raise ValueError(f"port {self.name!r}: str ports are scalars")
        if self.variability not in VARIABILITIES:
            raise ValueError(f"port {self.name!r}: variability {self.variability!r} is not one of {VARIABILITIES}")
        if self.variability == "fixed" and self.causality is not Causality.OUTPUT:
            raise ValueError(f"port {self.name!r}: only outputs can be fixed")

    @property
    def fixed(self) -> bool:
        """Whether the output never changes after ``initialize`` (``variability="fixed"``)."""
        return self.variability == "fixed"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def default_value(self) -> Any:
        """The port's start value as the component sees it (float or array)."""
        if self.shape:
            value = np.zeros(self.shape, dtype=self.dtype)
            if self.start is not None:
                value[...] = self.start
            return value
        if self.start is None:
            if self.dtype == "str":
                return ""
            return 0.0 if self.dtype == "float64" else np.dtype(self.dtype).type(0).item()
        return self.start

    @property
    def kind(self) -> str:
        """The dtype's kind for the connection rules: float, integer, bool or str."""
        return {"int64": "integer", "uint64": "integer", "int32": "integer", "float64": "float"}.get(
            self.dtype, self.dtype)


@dataclass(frozen=True)
class EnergyBooks:
    """A component's energy books since ``initialize`` (contract item 10), all in J."""

    in_J: float
    out_J: float
    stored_J: float = math.nan
    dissipated_J: float = math.nan
    ports: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, float] = field(default_factory=dict)
    notes: str = ""

    @property
    def residual_J(self) -> float:
        """``in - out - stored - dissipated``: what the component's own books fail to close by."""
        return self.in_J - self.out_J - self.stored_J - self.dissipated_J


class ComponentConfig(BaseModel):
    """Base of every component's scenario table: strict types, unknown keys are errors.

    ``type`` selects the component class. Keys carry their SI unit in the name
    (``capacity_Ah`` is wrong, ``capacity_C`` or ``capacity_A_s`` is right)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: str


class EndOfRun(Exception):
    """Raised by ``_do_step`` *after* completing its step to end the whole run there (a
    cut-off reached, a test protocol finished); the run then closes as complete, with the
    message as its reason. ``time``: when the component ended, if before the end of the step
    (an FMU that ended the simulation at its last successful time); the run's last record
    is then at that time."""

    def __init__(self, message: str = "", time: float | None = None):
        super().__init__(message)
        self.time = time


class StepRejected(Exception):
    """Raised by ``_do_step`` to refuse a step (FMI ``Discard``); the orchestrator may roll
    back every component and retry with smaller steps."""


class Component:
    """Base class of every component; see the module docstring for the numbered contract.

    Public methods check and delegate to the private hooks; the orchestrator reads and
    writes ``u`` (inputs) and ``y`` (outputs) directly in its hot loop.
    """

    type_name: ClassVar[str] = ""
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    can_get_set_state: ClassVar[bool] = False

    def __init__(self, name: str, config: ComponentConfig):
        if not _NAME.match(name):
            raise ValueError(f"component name {name!r} is not an identifier")
        self.name = name
        self.config = config
        self.ports: dict[str, Port] = {}
        for port in self._declare_ports():
            if port.name in self.ports:
                raise ValueError(f"component {name!r} declares port {port.name!r} twice")
            self.ports[port.name] = port
        for port in self.ports.values():
            for dep in port.depends_on:
                if dep not in self.ports or self.ports[dep].causality is not Causality.INPUT:
                    raise ValueError(
                        f"component {name!r}: output {port.name!r} depends on "
                        f"{dep!r}, which is not one of its inputs"
                    )
        self.p: dict[str, Any] = {
            p.name: p.default_value() for p in self.ports.values() if p.causality is Causality.PARAMETER
        }
        self.u: dict[str, Any] = {p.name: p.default_value() for p in self.inputs}
        self.y: dict[str, Any] = {}
        self.time: float | None = None
        self._terminated = False

    # -- ports ------------------------------------------------------------------------
    @property
    def inputs(self) -> list[Port]:
        return [p for p in self.ports.values() if p.causality is Causality.INPUT]

    @property
    def outputs(self) -> list[Port]:
        return [p for p in self.ports.values() if p.causality is Causality.OUTPUT]

    @property
    def parameters(self) -> list[Port]:
        return [p for p in self.ports.values() if p.causality is Causality.PARAMETER]

    def _port(self, name: str, causality: Causality) -> Port:
        port = self.ports.get(name)
        if port is None or port.causality is not causality:
            known = ", ".join(p.name for p in self.ports.values() if p.causality is causality)
            raise KeyError(
                f"component '{self.name}' has no {causality.value} {name!r} (its {causality.value}s: {known or 'none'})"
            )
        return port

    # -- lifecycle ----------------------------------------------------------------------
    def set_parameters(self, values: Mapping[str, Any]) -> None:
        """Step 1: set parameter values (before ``initialize``)."""
        if self.time is not None:
            raise RuntimeError(f"component '{self.name}': parameters are set before initialize")
        for key in values:
            self._port(key, Causality.PARAMETER)
        self._set_parameters(dict(values))

    def initialize(self, t0: float) -> None:
        """Step 2: initialize at ``t0``; afterwards every output has a value."""
        self._initialize(float(t0))
        missing = [p.name for p in self.outputs if p.name not in self.y]
        if missing:
            raise RuntimeError(
                f"component '{self.name}' did not set output(s) {', '.join(missing)} in initialize"
            )
        self.time = float(t0)

    def set_input(self, name: str, value: Any) -> None:
        """Step 3a: set one input's value for the next step."""
        port = self._port(name, Causality.INPUT)
        if port.shape:
            value = np.asarray(value, dtype=port.dtype)
            if value.shape != port.shape:
                raise ValueError(
                    f"input '{self.name}.{name}' has shape {port.shape}, got {value.shape}"
                )
            self.u[name] = value.copy()
        else:
            self.u[name] = value

    def do_step(self, t: float, h: float) -> None:
        """Step 3b: advance from ``t`` to ``t + h`` (inputs held); may raise StepRejected."""
        self._do_step(t, h)
        self.time = t + h

    def get_output(self, name: str) -> Any:
        """Step 3c: an output's value at the component's current time."""
        self._port(name, Causality.OUTPUT)
        return self.y[name]

    def get_state(self) -> Any:
        """Optional (``can_get_set_state``): a snapshot to roll back to."""
        if not self.can_get_set_state:
            raise NotImplementedError(f"component '{self.name}' cannot save its state")
        return (self.time, self._get_state(), dict(self.y))

    def set_state(self, state: Any) -> None:
        """Optional (``can_get_set_state``): restore a snapshot from ``get_state``."""
        if not self.can_get_set_state:
            raise NotImplementedError(f"component '{self.name}' cannot restore its state")
        self.time, inner, outputs = state
        self._set_state(inner)
        self.y.clear()
        self.y.update(outputs)

    def run_notes(self) -> list[str]:
        """Remarks on the run so far for the result's status reason (contract item 8)."""
        return []

    def coordinates(self) -> dict[str, list]:
        """Optional (contract item 11): labels of the named dimensions of its ports."""
        return {}

    def run_attributes(self) -> dict[str, object]:
        """Optional (contract item 12): result attributes summarising the run so far."""
        return {}

    def energy_books(self) -> EnergyBooks | None:
        """Optional (contract item 10): the energy books since ``initialize``, or None."""
        if self.time is None:
            return None
        return self._energy_books()

    def terminate(self) -> None:
        """Step 4: release resources; safe to call more than once."""
        if self._terminated:
            return
        self._terminated = True
        self._terminate()

    # -- hooks for implementers ---------------------------------------------------------
    def _declare_ports(self) -> Iterable[Port]:
        raise NotImplementedError

    def _set_parameters(self, values: dict[str, Any]) -> None:
        self.p.update(values)

    def _initialize(self, t0: float) -> None:
        raise NotImplementedError

    def _do_step(self, t: float, h: float) -> None:
        raise NotImplementedError

    def _get_state(self) -> Any:
        raise NotImplementedError

    def _set_state(self, state: Any) -> None:
        raise NotImplementedError

    def _terminate(self) -> None:
        pass

    def _energy_books(self) -> EnergyBooks | None:
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"
