"""The co-simulation master: fixed macro steps, Gauss-Seidel or Jacobi coupling, rollback.

Per macro step ``[t, t + h]``:

1. lagged connections (delayed ones; all of them under Jacobi; under Gauss-Seidel those
   whose source steps after their target) copy their source's output at ``t`` into the
   target's input;
2. each component, in coupling order, receives its remaining inputs from the sources
   that already stepped (their outputs at ``t + h``) and steps ``do_step(t, h)`` with every
   input held constant over the step (zero-order hold);
3. every output is checked to be finite; the first NaN or Inf stops the run naming the
   component and port.

**Iterated connections** (``iterate = true``) close a loop within the step: at every macro
step their inputs start from the input's start value, the components step, and while any
iterated input differs from its source's new output (floats beyond 1e-7 relative: the pack
solves its strings to ~1e-8; other types at all) every component is rolled back to ``t``
and the step is repeated with those outputs as the inputs (at most
``max_loop_passes`` passes; then the run stops naming the connection). The converged pass
is the step. Every component must then be able to save and restore its state.

If a component refuses a step (:class:`~cosim.components.base.StepRejected`) and every
component can save and restore its state, all of them are restored to ``t`` and the
interval is covered by two half steps (recursively, at most ``max_step_halvings`` times);
if some component cannot restore its state the run stops naming it. Outputs are recorded
at ``t0`` and every ``output_every`` macro steps, and at the stop time. A component may end
the run after a completed step (:class:`~cosim.components.base.EndOfRun`); the outputs of
that moment are recorded last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .components.base import Component, EndOfRun, StepRejected
from .coupling import (
    Edge,
    check_connections,
    check_no_algebraic_loops,
    gauss_seidel_order,
    lagged_edges,
)
from .errors import ComponentError, CosimError


@dataclass
class _Transfer:
    """Copies one output into one input; arrays are copied into the input's own buffer."""

    src: dict
    src_key: str
    dst: dict
    dst_key: str
    is_array: bool


def _apply(transfers: Sequence[_Transfer]) -> None:
    for tr in transfers:
        if tr.is_array:
            np.copyto(tr.dst[tr.dst_key], tr.src[tr.src_key])
        else:
            tr.dst[tr.dst_key] = tr.src[tr.src_key]


def _agree(a, b) -> bool:
    """Whether an iterated input (``b``) and its source's new output (``a``) agree: floats to
    1e-7 relative, every other type exactly."""
    if type(a) is float and type(b) is float:  # np.allclose's test on two floats, without the arrays
        return a == b or (abs(a - b) <= 1e-9 + 1e-7 * abs(b) and math.isfinite(b))  # an infinity: only itself
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-7, atol=1e-9))
    return bool(np.array_equal(a, b))


class Orchestrator:
    """Couples components and advances them from ``start_s`` to ``stop_s``.

    ``components`` are in scenario order; ``recorded`` lists the ``(component, port)``
    outputs handed to ``run``'s ``record`` callback at every output time.
    """

    def __init__(
        self,
        components: Sequence[Component],
        edges: Sequence[Edge],
        *,
        start_s: float,
        stop_s: float,
        step_s: float,
        output_every: int = 1,
        coupling: str = "gauss-seidel",
        order: Sequence[str] | None = None,
        max_step_halvings: int = 8,
        recorded: Sequence[tuple[str, str]] = (),
        max_loop_passes: int = 20,
    ):
        if coupling not in ("gauss-seidel", "jacobi"):
            raise ValueError(f"coupling must be 'gauss-seidel' or 'jacobi', got {coupling!r}")
        if not step_s > 0 or not stop_s > start_s:
            raise ValueError("need step_s > 0 and stop_s > start_s")
        if output_every < 1:
            raise ValueError("output_every must be a positive number of steps")
        self.components: dict[str, Component] = {}
        for c in components:
            if c.name in self.components:
                raise CosimError(f"two components are named {c.name!r}")
            self.components[c.name] = c
        self.edges = list(edges)
        check_connections(self.components, self.edges)
        check_no_algebraic_loops(self.components, self.edges)
        self.jacobi = coupling == "jacobi"
        self.coupling = coupling
        self.order = gauss_seidel_order(self.components, self.edges, order)
        self.lagged = lagged_edges(self.order, self.edges, self.jacobi)
        self.start_s = float(start_s)
        self.stop_s = float(stop_s)
        self.step_s = float(step_s)
        self.n_steps = max(1, math.ceil((self.stop_s - self.start_s) / self.step_s - 1e-9))
        self.output_every = int(output_every)
        self._time_digits = max(15 - math.ceil(math.log10(max(abs(self.start_s), abs(self.stop_s), 1e-300))), 0)
        self.max_step_halvings = int(max_step_halvings)
        self.can_roll_back = all(c.can_get_set_state for c in self.components.values())
        self.iterated = [e for e in self.edges if e.iterate]
        if self.iterated and not self.can_roll_back:
            cannot = [c.name for c in self.components.values() if not c.can_get_set_state]
            raise CosimError(f"the iterated connection {self.iterated[0]} ({self.iterated[0].where}) repeats steps, "
                             f"but {', '.join(cannot)} cannot save and restore state")
        self.max_loop_passes = int(max_loop_passes)
        self.n_loop_repeats = 0  # macro-step passes repeated to converge iterated connections
        for comp_name, port in recorded:
            comp = self.components.get(comp_name)
            if comp is None or port not in comp.ports:
                raise CosimError(f"cannot record {comp_name}.{port}: no such output")
        self._recorded = [(self.components[c], p) for c, p in recorded]
        self._record: Callable[[float, list], None] | None = None
        self.time = self.start_s
        self.n_macro_steps = 0
        self.n_rejections = 0
        self.end_reason = ""  # set when a component ended the run early (EndOfRun)
        # set (e.g. by a signal handler, see cosim.run) to stop the run between two macro
        # steps: the loop raises KeyboardInterrupt(interrupt) there, never inside a component
        self.interrupt: str | None = None
        self._compile()

    # -- plan ---------------------------------------------------------------------------
    def _transfer(self, e: Edge) -> _Transfer:
        src, dst = self.components[e.source], self.components[e.target]
        return _Transfer(src.y, e.source_port, dst.u, e.target_port, bool(dst.ports[e.target_port].shape))

    def _compile(self) -> None:
        """Precompute, per component, the input copies and output checks of a step."""
        lagged = set(map(id, self.lagged + self.iterated))
        self._lagged_transfers = [self._transfer(e) for e in self.lagged]
        # the first pass of an iterated step starts each iterated input at its start value
        # (read, never written: copied into the inputs)
        self._iterated_start = [self.components[e.target].ports[e.target_port].default_value() for e in self.iterated]
        self._stages = []
        for name in self.order:
            comp = self.components[name]
            fresh = [self._transfer(e) for e in self.edges if e.target == name and id(e) not in lagged]
            # only float outputs can be NaN/Inf (int/bool are always finite, str is skipped)
            # the outputs checked for NaN/Inf after every step (a fixed output: once, at initialize)
            scalars = tuple(p.name for p in comp.outputs if not p.shape and p.dtype == "float64" and not p.fixed)
            arrays = tuple(p.name for p in comp.outputs if p.shape and p.dtype == "float64" and not p.fixed)
            self._stages.append((comp, fresh, scalars, arrays))
        self._init_transfers = {
            name: [(e.source, self._transfer(e)) for e in self.edges if e.target == name and not e.iterate]
            for name in self.order
        }

    def describe(self) -> dict[str, str]:
        """The coupling as recorded in the results' attributes."""
        return {
            "coupling": self.coupling,
            "coupling_order": " -> ".join(self.order),
            "coupling_lagged_connections": "; ".join(map(str, self.lagged)) or "none",
            "coupling_iterated_connections": "; ".join(map(str, self.iterated)) or "none",
            "step_s": self.step_s,
            "output_interval_s": self.step_s * self.output_every,
        }

    # -- run ----------------------------------------------------------------------------
    def initialize(self) -> None:
        """Initialize every component in coupling order: each sees the initial outputs of the
        sources initialized before it (and its inputs' start values otherwise)."""
        initialized: set[str] = set()
        for name in self.order:
            comp = self.components[name]
            _apply([tr for source, tr in self._init_transfers[name] if source in initialized])
            self._call(comp, "initialize", comp.initialize, self.start_s)
            self._check_finite(comp, tuple(p.name for p in comp.outputs), (), self.start_s, "initialize")
            initialized.add(name)
        self.time = self.start_s

    def run(
        self,
        record: Callable[[float, list], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """Initialize, then step to the stop time.

        ``record(t, values)`` receives the values of the recorded outputs at every output
        time; ``progress(t)`` is called every 1/200 of the run. ``KeyboardInterrupt`` (also
        raised here when :attr:`interrupt` is set, before the next macro step) and errors
        propagate after the components are terminated; the caller (see :mod:`cosim.run`)
        closes the results as incomplete."""
        self._record = record
        try:
            self.initialize()
            self._emit(self.start_s)
            n, every = self.n_steps, self.output_every
            tick = max(1, n // 200)
            for k in range(n):
                if self.interrupt is not None:
                    raise KeyboardInterrupt(self.interrupt)
                t, t_next = self.communication_time(k), self.communication_time(k + 1)
                try:
                    self._macro_step(t, t_next - t, 0)
                except EndOfRun as exc:
                    # a component that ended before the end of the step says when (``exc.time``)
                    t_end = t_next if getattr(exc, "time", None) is None else min(t_next, exc.time)
                    self.end_reason = f"{exc.component}: {exc}"
                    self.time, self.n_macro_steps = t_end, k + 1
                    if t_end > t or k % every:  # else the record at t is already the last one
                        self._emit(t_end)
                    break
                self.time = t_next
                self.n_macro_steps = k + 1
                if (k + 1) % every == 0 or k + 1 == n:
                    self._emit(t_next)
                if progress is not None and (k + 1) % tick == 0:
                    progress(t_next)
        finally:
            self.terminate()

    def communication_time(self, k: int) -> float:
        """``start + k * step`` (macro step ``k``; ``k = n_steps`` is exactly the stop time),
        rounded to 15 significant digits so that ``0.1 * 3`` is recorded as ``0.3``.
        Computed one at a time: a long run never holds a list of its times."""
        if k >= self.n_steps:
            return self.stop_s
        return round(self.start_s + k * self.step_s, self._time_digits)

    def terminate(self) -> None:
        for comp in self.components.values():
            try:
                comp.terminate()
            except Exception:  # noqa: BLE001 - terminate every component whatever happens
                pass

    def _emit(self, t: float) -> None:
        if self._record is not None:
            self._record(t, [c.y[p] for c, p in self._recorded])

    def _macro_step(self, t: float, h: float, depth: int) -> None:
        states = [c.get_state() for c in self.components.values()] if self.can_roll_back else None
        try:
            ending = self._sweep(t, h) if not self.iterated else self._iterate(t, h, states)
            if ending is not None:
                raise ending
        except StepRejected as exc:
            self.n_rejections += 1
            comp = getattr(exc, "component", "?")
            if states is None:
                cannot = [c.name for c in self.components.values() if not c.can_get_set_state]
                raise ComponentError(
                    comp, "do_step", t,
                    f"step of {h:g} s rejected ({exc}); cannot roll back because "
                    f"{', '.join(cannot)} cannot save and restore state",
                ) from None
            if depth >= self.max_step_halvings:
                raise ComponentError(
                    comp, "do_step", t,
                    f"step rejected ({exc}) even after {depth} halvings (h = {h:g} s)",
                ) from None
            for c, s in zip(self.components.values(), states):
                c.set_state(s)
            self._macro_step(t, h / 2, depth + 1)
            self._macro_step(t + h / 2, h / 2, depth + 1)

    def _iterate(self, t: float, h: float, states) -> EndOfRun | None:
        """Repeat the step until every iterated input equals its source's new output."""
        guess = self._iterated_start
        for _ in range(self.max_loop_passes):
            for e, value in zip(self.iterated, guess):
                u = self.components[e.target].u
                if np.ndim(value):
                    np.copyto(u[e.target_port], value)
                else:
                    u[e.target_port] = value
            ending = self._sweep(t, h)
            new = [self.components[e.source].y[e.source_port] for e in self.iterated]
            pending = [(e, a, b) for e, a, b in zip(self.iterated, new, guess) if not _agree(a, b)]
            if not pending:
                return ending
            self.n_loop_repeats += 1
            for c, s in zip(self.components.values(), states):
                c.set_state(s)
            guess = [np.array(a) if np.ndim(a) else a for a in new]
        e, a, b = pending[0]
        raise ComponentError(e.target, "do_step", t, f"the iterated connection {e} ({e.where}) did not converge in "
                             f"{self.max_loop_passes} passes (last input {b}, output {a})")

    def _sweep(self, t: float, h: float) -> EndOfRun | None:
        """Step every component once over ``[t, t + h]``; returns the first EndOfRun."""
        _apply(self._lagged_transfers)
        ending = None
        for comp, fresh, scalars, arrays in self._stages:
            _apply(fresh)
            try:
                comp.do_step(t, h)
            except StepRejected as exc:
                exc.component = comp.name
                raise
            except EndOfRun as exc:  # the others still complete this step
                exc.component = comp.name
                ending = ending or exc
            except (KeyboardInterrupt, CosimError):
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is reported with where it happened
                raise ComponentError(comp.name, "do_step", t, f"{type(exc).__name__}: {exc}") from exc
            y = comp.y
            for key in scalars:
                v = y[key]
                if v - v != 0.0:  # NaN or +-Inf (fast path for Python floats)
                    self._check_finite(comp, scalars, arrays, t, "do_step")
            if arrays and not np.isfinite(np.concatenate(
                    [v.ravel() if type(v) is np.ndarray else np.ravel(v) for v in map(y.__getitem__, arrays)])).all():
                self._check_finite(comp, scalars, arrays, t, "do_step")  # one check of them all; this names it
        return ending

    @staticmethod
    def _check_finite(comp: Component, scalars, arrays, t: float, phase: str) -> None:
        for key in scalars + arrays:
            if comp.ports[key].dtype != "float64":  # ints/bools are finite; strings have no such check
                continue
            bad = ~np.isfinite(np.asarray(comp.y[key], dtype=float))
            if bad.any():
                where = "" if not np.ndim(bad) else f" at index {tuple(int(i) for i in np.argwhere(bad)[0])}"
                raise ComponentError(comp.name, phase, t, f"output '{key}' is not finite{where}")

    def _call(self, comp: Component, phase: str, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except (KeyboardInterrupt, CosimError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise ComponentError(comp.name, phase, args[0] if args else None, f"{type(exc).__name__}: {exc}") from exc

