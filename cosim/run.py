"""Run a loaded scenario: build its components, couple them, stream the results to disk.

Whatever stops a run (the stop time, an error in a component, a NaN, Ctrl-C or SIGTERM),
the result file stays on disk with what was recorded so far; its ``status`` attribute says
``complete`` or ``incomplete`` and ``status_reason`` says why. Either way the energy ledger
(:mod:`cosim.energy_ledger`) is written into the attributes; a connection whose two ends'
books differ by more than its tolerance is logged as a warning and appended to
``status_reason``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import logging
import math
import signal
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .components import registry
from .components.base import Component
from .energy_ledger import collect as collect_ledger
from .energy_ledger import result_attrs as ledger_attrs
from .coupling import Edge
from .errors import ComponentError, CosimError, RunInterrupted, ScenarioError
from .orchestrator import Orchestrator
from .progress import Progress, compile_notice
from .provenance import prefetch_source_commit, run_attrs
from .recorder import RecordedVariable, Recorder
from .scenario import LoadedScenario


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    status: str
    n_records: int


def build_components(loaded: LoadedScenario) -> list[Component]:
    """Instantiate every component of the scenario, in scenario order."""
    components = []
    for name, config in loaded.scenario.components.items():
        cls = registry.get(config.type)
        try:
            components.append(cls(name, config))
        except ScenarioError as exc:  # a problem found while building: say which table it is in
            raise ScenarioError([_in_table(loaded, name, config, pr) for pr in exc.problems]) from None
        except CosimError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the component's name and table
            file, line = loaded.locate(f"components.{name}")
            where = f"{file}:{line}" if line else str(file)
            raise ComponentError(name, "set-up", None, f"{type(exc).__name__}: {exc} ({where})") from exc
    return components


def _in_table(loaded: LoadedScenario, name: str, config, problem):
    """A problem that a component found in its own configuration, placed in the scenario:
    an override key at its line in ``overrides``, a key of the component's table at its
    line, anything else at the table (problems in a parameter file keep that file and line)."""
    if problem.file is not None:
        if not problem.key and problem.file == getattr(config, "parameter_file", None):  # the file itself
            return loaded.problem(f"components.{name}.parameter_file", f"{problem.file}: {problem.message}")
        return problem
    if problem.key and problem.key in (getattr(config, "overrides", None) or {}):
        return loaded.problem(("components", name, "overrides", problem.key), problem.message)
    if problem.key and problem.key.split(".")[0] in type(config).model_fields:
        return loaded.problem(f"components.{name}.{problem.key}", problem.message)
    message = f"{problem.key}: {problem.message}" if problem.key else problem.message
    return loaded.problem(f"components.{name}", message)


def _data_files(value: Any) -> Iterator[Path]:
    """Every path set in a scenario's components (for the results' provenance)."""
    if isinstance(value, Path):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _data_files(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _data_files(v)


def _select_outputs(components: list[Component], patterns: list[str],
                    skipped: list[str] | None = None) -> list[tuple[Component, str]]:
    """The outputs matching ``patterns``; string outputs are not recorded (netCDF results hold
    numbers): each one matched is logged and listed in ``skipped`` with the reason."""
    outputs = [(c, p.name) for c in components for p in c.outputs]
    chosen = [(c, p) for c, p in outputs if any(fnmatch.fnmatchcase(f"{c.name}.{p}", pat) for pat in patterns)]
    for c, p in [(c, p) for c, p in chosen if c.ports[p].dtype == "str"]:
        note = f"{c.name}.{p} (a string output: not recorded)"
        logging.getLogger("cosim.run").warning("output %s", note)
        if skipped is not None:
            skipped.append(note)
    chosen = [(c, p) for c, p in chosen if c.ports[p].dtype != "str"]
    unused = [pat for pat in patterns if not any(fnmatch.fnmatchcase(f"{c.name}.{p}", pat) for c, p in outputs)]
    if unused:
        names = ", ".join(f"{c.name}.{p}" for c, p in outputs)
        raise CosimError(f"output.variables: {unused} match no output (outputs are: {names})")
    return chosen


#: a run whose block of ``flush_every_records`` records holds at least this many bytes has its
#: blocks compressed and written by the recorder's writer thread; a smaller one writes them
#: itself. Measured on 2 cores (the flagship, 1800 steps): with its 384-cell pack (about 2 MB
#: per block) the thread saves 0.18 ms per step (3.93 -> 3.75 ms); with a 2-cell pack (about
#: 70 kB per block) it cost 0.25 ms per step (0.55 -> 0.80 ms: the writer's Python-side work
#: contends for the GIL with the stepping, while the compression it could take over is small).
#: Only with a core to spare (see :func:`_writer_thread_pays`).
BACKGROUND_MIN_BLOCK_BYTES = 512 * 1024


#: the default block of records (``flush_every_records`` unset): about this many bytes,
#: within FLUSH_EVERY_RANGE records. Each write of a block costs about 60 µs per variable
#: (compression and HDF5 bookkeeping), whatever its length: measured with the flagship's
#: 53 series of a 2-cell pack, 39 µs per record with blocks of 100 records, 6 with 1000.
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024
FLUSH_EVERY_RANGE = (100, 1000)


def default_flush_every(variables: list[RecordedVariable]) -> int:
    """Records per block when the scenario does not say (:data:`DEFAULT_BLOCK_BYTES`)."""
    lo, hi = FLUSH_EVERY_RANGE
    return min(hi, max(lo, DEFAULT_BLOCK_BYTES // max(1, _block_bytes(variables, 1))))


def _block_bytes(variables: list[RecordedVariable], flush_every: int) -> int:
    """Bytes of one block of records of the time-varying ``variables``."""
    return flush_every * sum(8 * math.prod(v.shape) for v in variables if not v.fixed)


def _writer_thread_pays(variables: list[RecordedVariable], flush_every: int) -> bool:
    """Whether the recorder's writer thread pays: blocks of at least
    :data:`BACKGROUND_MIN_BLOCK_BYTES` and a core that the cell kernels' threads leave free
    (:func:`cosim.pack.c_kernel.threads`). Measured, the flagship on 2 cores, best of 3: with
    the kernels on one thread the writer thread gives 279x real time against 264x; with
    them on two it cost (330-334x against 357-364x: the kernels' threads held back while it
    compresses, and the tuner then falls back to one thread)."""
    if _block_bytes(variables, flush_every) < BACKGROUND_MIN_BLOCK_BYTES:
        return False
    from .pack.c_kernel import available_cores, threads

    return available_cores() > threads()


def _close(recorder: Recorder, orchestrator: Orchestrator, status: str, reason: str, attrs: dict) -> None:
    """Close the results with the components' run attributes (contract item 12) and the energy
    ledger in their attributes and the ledger's warnings appended to the reason (neither
    keeps the file from closing when it cannot be read)."""
    attrs = dict(attrs)
    for comp in orchestrator.components.values():
        try:
            attrs.update(comp.run_attributes())
        except Exception as exc:  # noqa: BLE001 - the results matter more than a summary
            attrs[f"{comp.name}_run_attributes_error"] = f"{type(exc).__name__}: {exc}"
    try:
        ledger = collect_ledger(orchestrator.components, orchestrator.edges, orchestrator.lagged)
        attrs.update(ledger_attrs(ledger))
        reason = "; ".join([r for r in (reason, *ledger.warnings) if r])
    except Exception as exc:  # noqa: BLE001 - the results matter more than their ledger
        attrs["energy_ledger_error"] = f"{type(exc).__name__}: {exc}"
    recorder.close(status, reason, attrs=attrs)


def default_result_path(loaded: LoadedScenario, results_dir: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return results_dir / f"{loaded.path.stem}-{stamp}.nc"


class _StopRequest:
    """SIGINT (Ctrl-C) and SIGTERM during :func:`run_scenario` ask the run to stop: the
    handler only records the request and sets ``interrupt`` on the orchestrator (once it
    exists), which checks it before each macro step, so a signal never lands inside a
    component's call (a compiled kernel, an FMU) nor while the file is written. A second
    signal while the first is pending interrupts at once (a component that never returns)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._orchestrator: Orchestrator | None = None

    def attach(self, orchestrator: Orchestrator) -> None:
        self._orchestrator = orchestrator
        if self.reason is not None:
            orchestrator.interrupt = self.reason

    def _handler(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.reason is not None:
            raise KeyboardInterrupt(f"signal {name}, twice")
        self.reason = f"signal {name}"
        if self._orchestrator is not None:
            self._orchestrator.interrupt = self.reason

    @contextmanager
    def handling_signals(self):
        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:  # ignored (nohup, a background job): stays so
                    previous[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not in the main thread: signals stay as they are
            pass
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def plan_run(loaded: LoadedScenario) -> tuple[list[Component], Orchestrator, list[tuple[Component, str]], list[str]]:
    """Everything a run sets up before its first step, and every check of that set-up:
    the components are built (an FMU's model description is read, nothing is initialised),
    the connections checked (ports, units, shapes, types), the algebraic loops and the
    coupling order found, the output patterns matched. Returns the components, the
    orchestrator, the recorded outputs and the outputs not recorded (with the reason)."""
    scenario = loaded.scenario
    sim, out = scenario.simulation, scenario.output
    components = build_components(loaded)
    edges = []
    for i, c in enumerate(scenario.connections):
        file, line = loaded.locate(f"connections.{i}")
        edges.append(Edge(c.source_component, c.source_port, c.target_component, c.target_port,
                          c.delayed, where=f"{file}:{line}" if line else str(file), iterate=c.iterate))
    not_recorded: list[str] = []
    recorded = _select_outputs(components, out.variables, not_recorded)
    interval = out.interval_s if out.interval_s is not None else sim.step_s
    orchestrator = Orchestrator(
        components,
        edges,
        start_s=sim.start_time_s,
        stop_s=sim.stop_time_s,
        step_s=sim.step_s,
        output_every=max(1, round(interval / sim.step_s)),
        coupling=sim.coupling,
        order=sim.order,
        max_step_halvings=sim.max_step_halvings,
        recorded=[(c.name, p) for c, p in recorded],
    )
    return components, orchestrator, recorded, not_recorded


def check_runnable(loaded: LoadedScenario) -> None:
    """``cosim validate``'s second stage: :func:`plan_run` without running (raises the
    CosimError a run would raise before its first step)."""
    components = plan_run(loaded)[0]
    for c in components:
        c.terminate()


def run_scenario(
    loaded: LoadedScenario,
    *,
    output: Path | None = None,
    overwrite: bool = False,
    quiet: bool = True,
    results_dir: Path = Path("results"),
) -> RunOutcome:
    """Run ``loaded`` and write its dataset; returns where and how it ended.

    Raises :class:`~cosim.errors.CosimError` (after closing the file as incomplete) when the
    run cannot finish, and :class:`~cosim.errors.RunInterrupted` on Ctrl-C or SIGTERM (the
    run stops before its next macro step; see :class:`_StopRequest`)."""
    stop = _StopRequest()
    with stop.handling_signals(), (nullcontext() if quiet else compile_notice()):
        return _run(loaded, stop, output, overwrite, quiet, results_dir)


def _run(loaded: LoadedScenario, stop: _StopRequest, output, overwrite: bool, quiet: bool,
         results_dir: Path) -> RunOutcome:
    scenario = loaded.scenario
    sim, out = scenario.simulation, scenario.output
    prefetch_source_commit(reuse_within_s=5.0)  # git runs while the components are built (or since `cosim run` began)
    components, orchestrator, recorded, not_recorded = plan_run(loaded)
    stop.attach(orchestrator)
    by_name = {c.name: c for c in components}
    variables = []
    for comp, port_name in recorded:
        port = by_name[comp.name].ports[port_name]
        variables.append(RecordedVariable(
            name=f"{comp.name}.{port_name}",
            units=port.unit,
            long_name=port.long_name or f"{port_name} of {comp.name}",
            shape=port.shape,
            dims=port.dims,
            dtype=port.dtype,
            attrs={"component": comp.name, "port": port_name, "component_type": comp.type_name},
            fixed=port.fixed,
        ))
    files = list(loaded.files) + sorted({p for p in _data_files(scenario.model_dump()["components"]) if p.is_file()})
    attrs = run_attrs(
        scenario_path=loaded.path,
        scenario_text=loaded.text,
        resolved_scenario_json=scenario.model_dump_json(),
        files=files,
    )
    attrs.update(orchestrator.describe())
    attrs.update(start_time_s=sim.start_time_s, stop_time_s=sim.stop_time_s)
    attrs["outputs_not_recorded"] = "; ".join(not_recorded) or "none"
    path = Path(output) if output is not None else (out.path or default_result_path(loaded, results_dir))
    try:
        coordinates = {d: v for c in components for d, v in c.coordinates().items()}
        flush_every = out.flush_every_records or default_flush_every(variables)
        recorder = Recorder(path, variables, attrs, flush_every=flush_every,
                            overwrite=overwrite, compression_level=out.compression_level, coordinates=coordinates,
                            background=_writer_thread_pays(variables, flush_every))
    except ValueError as exc:
        raise CosimError(f"cannot record the outputs: {exc}") from None

    progress = None if quiet else Progress(loaded.path.stem, sim.start_time_s, sim.stop_time_s)

    try:
        orchestrator.run(recorder.record, progress)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) or orchestrator.interrupt is not None:
            # the orchestrator honouring a signal, or a second signal that landed inside a component's call
            why = (str(exc) or "SIGINT") if isinstance(exc, KeyboardInterrupt) else f"{orchestrator.interrupt}, twice"
            reason = f"interrupted by the user ({why}) at t = {orchestrator.time:g} s"
            _close(recorder, orchestrator, "incomplete", reason, {"n_macro_steps": orchestrator.n_macro_steps})
            raise RunInterrupted(f"{reason}; {recorder.kept()}") from None
        reason = str(exc) if isinstance(exc, CosimError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ComponentError) and exc.component in loaded.scenario.components:
            file, line = loaded.locate(f"components.{exc.component}")  # where its table is
            reason += f" (components.{exc.component}: {file}{f':{line}' if line else ''})"
        _close(recorder, orchestrator, "incomplete", reason, {"n_macro_steps": orchestrator.n_macro_steps})
        if isinstance(exc, CosimError):
            raise CosimError(f"{reason}\n  {recorder.kept()}") from exc
        raise
    finally:
        if progress is not None:
            progress.close(orchestrator.time)
    notes = [note for c in components for note in c.run_notes()]
    reason = "; ".join(([f"ended early by {orchestrator.end_reason}"] if orchestrator.end_reason else []) + notes)
    _close(recorder, orchestrator, "complete", reason, {"n_macro_steps": orchestrator.n_macro_steps,
                                                        "n_step_rejections": orchestrator.n_rejections,
                                                        "n_loop_repeats": orchestrator.n_loop_repeats})
    return RunOutcome(path=path, status="complete", n_records=recorder.n_records)
