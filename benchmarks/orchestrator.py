"""Orchestrator overhead per macro step: three trivial components coupled in a loop; and
the start-up of ``cosim run``.

    python benchmarks/orchestrator.py [--steps N] [--startup-only]

Each component is ``y = x``, ``x += h * u`` (no direct feedthrough, so the loop
a -> b -> c -> a is not algebraic). The orchestrator's own cost per macro step is the
run's wall time minus the time the same components need when their ``do_step`` is called
directly in a bare loop, divided by the number of steps. Target: at most 20 µs per step.

Start-up: ``cosim run`` on a trivial scenario (one profile, one 1 s step) as a new process,
best of 5 wall times, beside the time to import what a run imports (``cosim.run``) and a bare
``python -c pass``. Target (the numerics and speed issue): at most 0.3 s to the first step.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cosim.components import Causality, Component, ComponentConfig, Port
from cosim.coupling import Edge
from cosim.orchestrator import Orchestrator
from cosim.recorder import RecordedVariable, Recorder


class Trivial(Component):
    type_name = "bench_trivial"
    can_get_set_state = True

    def _declare_ports(self):
        yield Port("u", Causality.INPUT, unit="1")
        yield Port("y", Causality.OUTPUT, unit="1")

    def _initialize(self, t0):
        self.x = 1.0
        self.y["y"] = self.x

    def _do_step(self, t, h):
        self.x += h * 1e-9 * self.u["u"]
        self.y["y"] = self.x

    def _get_state(self):
        return self.x

    def _set_state(self, state):
        self.x = state


def make(n_steps: int, **kwargs) -> Orchestrator:
    comps = [Trivial(name, ComponentConfig(type="bench_trivial")) for name in "abc"]
    edges = [Edge("a", "y", "b", "u"), Edge("b", "y", "c", "u"), Edge("c", "y", "a", "u")]
    return Orchestrator(comps, edges, start_s=0.0, stop_s=float(n_steps), step_s=1.0, **kwargs)


def bare_components(n_steps: int) -> float:
    comps = [Trivial(name, ComponentConfig(type="bench_trivial")) for name in "abc"]
    for c in comps:
        c.initialize(0.0)
    start = time.perf_counter()
    for k in range(n_steps):
        t = float(k)
        for c in comps:
            c.do_step(t, 1.0)
    return time.perf_counter() - start


def best_of(repeats: int, fn) -> float:
    return min(fn() for _ in range(repeats))


TRIVIAL = """[simulation]
stop_time_s = 1
step_s = 1
[components.src]
type = "profile"
time_s = [0.0, 1.0]
values = { x_1 = [0.0, 1.0] }
"""


def startup() -> None:
    def wall(cmd) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            best = min(best, time.perf_counter() - start)
        return best

    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "trivial.toml"
        scenario.write_text(TRIVIAL)
        bare = wall([sys.executable, "-c", "pass"])
        imports = wall([sys.executable, "-c", "import cosim.run"])
        run = wall([sys.executable, "-m", "cosim.cli", "run", str(scenario), "-o", str(Path(tmp) / "r.nc"),
                    "--overwrite", "-q"])
    print("start-up of `cosim run` on a trivial scenario (new process, best of 5)")
    print(f"  python -c pass {bare:6.3f} s; import cosim.run {imports:6.3f} s; whole run {run:6.3f} s"
          f" (target <= 0.3 s: {'ok' if run <= 0.3 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--startup-only", action="store_true", help="only the start-up of `cosim run`")
    args = parser.parse_args()
    startup()
    if args.startup_only:
        return
    n = args.steps

    def timed_run(**kwargs):
        def go():
            orch = make(n, **kwargs)
            record = kwargs.pop("_record", None)
            start = time.perf_counter()
            orch.run(record)
            return time.perf_counter() - start
        return go

    t_bare = best_of(args.repeats, lambda: bare_components(n))
    rows = []
    for label, kwargs in (
        ("gauss-seidel, no recording", {}),
        ("jacobi, no recording", {"coupling": "jacobi"}),
    ):
        rows.append((label, best_of(args.repeats, timed_run(**kwargs))))

    def with_recorder():
        with tempfile.TemporaryDirectory() as tmp:
            orch = make(n, recorded=[("a", "y"), ("b", "y"), ("c", "y")])
            variables = [RecordedVariable(f"{c}.y", "1", f"{c} output") for c in "abc"]
            rec = Recorder(Path(tmp) / "bench.nc", variables, {}, flush_every=1000)
            start = time.perf_counter()
            orch.run(rec.record)
            rec.close("complete")
            return time.perf_counter() - start

    rows.append(("gauss-seidel, netCDF every step", best_of(args.repeats, with_recorder)))

    print(f"orchestrator overhead, 3 trivial components in a loop, {n} macro steps (best of {args.repeats})")
    print(f"  components' own do_step, bare loop: {t_bare / n * 1e6:8.2f} µs per macro step")
    for label, t in rows:
        overhead = (t - t_bare) / n * 1e6
        print(f"  {label:34s} total {t / n * 1e6:8.2f} µs/step, orchestrator overhead {overhead:8.2f} µs/step"
              f" (target <= 20: {'ok' if overhead <= 20 else 'MISSED'}), ratio to bare {t / t_bare:5.1f}x")


if __name__ == "__main__":
    main()
