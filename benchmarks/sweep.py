"""Throughput of ``cosim sweep`` on the process pool: runs per minute on 1 and 2 workers, the
speed-up, and the per-task overhead.

    python benchmarks/sweep.py [--runs N] [--trivial-runs N] [--layers N] [--stop S]

Start-up: the first sweep in a process starts the fork server (cosim imported once) that
later sweeps start their workers from; timed first, on one trivial run.

Throughput: N variants (the coolant temperature) of the flagship car with one 48-layer
stack and its thermal network on the first ``--stop`` seconds of WLTC 3b, as
:func:`cosim.sweep.run_sweep` runs them: wall time from the call to the written ``kpi.nc``,
the workers' start included. Target: at least 1.7x on 2 workers on a 2-core machine.

Overhead: ``--trivial-runs`` variants of a trivial scenario (one profile component, ten 1 s
steps), on one worker, wall time per run (start-up, validation, result file, KPIs, manifest
included), beside the same runs done in this process with ``run_scenario`` in a loop.
Target: under 0.3 s per run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from cosim.run import run_scenario
from cosim.sweep import Dimension, load_variant, plan_sweep, run_sweep

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

TRIVIAL = """
description = "trivial: one profile"
[simulation]
stop_time_s = 10
step_s = 1
[components.src]
type = "profile"
time_s = [0.0, 10.0]
values = { power_W = [0.0, 100.0] }
interpolation = "mean"
"""


def small_pack(folder: Path, layers: int, stop: float) -> Path:
    path = folder / "bench_pack.toml"
    path.write_text(f"""extends = "{SCENARIOS / 'flagship_bev_wltc3b.toml'}"
[simulation]
stop_time_s = {stop}
[output]
interval_s = 10
[components.pack]
n_strings = 1
n_stacks = 1
n_layers = {layers}
[components.thermal]
n_strings = 1
n_stacks = 1
n_layers = {layers}
""")
    return path


def timed_sweep(plan, out: Path, workers: int) -> tuple[float, float]:
    """Wall time of the sweep, and the mean wall time of one run inside its worker (which
    grows when the machine has fewer free cores than workers)."""
    t0 = time.perf_counter()
    outcome = run_sweep(plan, out, workers=workers)
    wall = time.perf_counter() - t0
    assert outcome.count("complete") == len(plan.variants), "a run failed"
    return wall, sum(r["wall_s"] for r in outcome.records.values()) / len(outcome.records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8, help="variants of the pack scenario (default 8)")
    parser.add_argument("--trivial-runs", type=int, default=40, help="variants of the trivial scenario (default 40)")
    parser.add_argument("--layers", type=int, default=48, help="unit cells of the pack's one stack (default 48)")
    parser.add_argument("--stop", type=float, default=600.0, help="simulated seconds of WLTC 3b per run (default 600)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scenario = small_pack(tmp, args.layers, args.stop)
        coolant = tuple(273.15 + 40.0 * i / max(args.runs - 1, 1) for i in range(args.runs))
        plan = plan_sweep(scenario, [Dimension("components.thermal.coolant_temperature_K", coolant)])
        run_scenario(load_variant(scenario, dict(plan.variants[0].values)), output=tmp / "warm.nc")  # compile cache warm
        trivial = tmp / "trivial.toml"
        trivial.write_text(TRIVIAL)
        cold = timed_sweep(plan_sweep(trivial, [Dimension("simulation.stop_time_s", (5.0,))]), tmp / "cold", 1)[0]
        print(f"start-up: the first sweep of a process (fork server with cosim imported, one worker, one trivial "
              f"run): {cold:.2f} s; later sweeps start their workers from it")
        load = os.getloadavg()[0]
        timed = {w: timed_sweep(plan, tmp / f"pack-{w}", w) for w in (1, 2)}
        walls = {w: t[0] for w, t in timed.items()}
        print(f"pack sweep: {args.runs} runs of a {args.layers}-cell stack, {args.stop:g} s of WLTC 3b each "
              f"({os.cpu_count()} cores, load average {load:.2f} before the start)")
        for w, (wall, run) in timed.items():
            print(f"  {w} worker{'s' if w > 1 else ' '}: {wall:6.2f} s, {args.runs / wall * 60:6.1f} runs/min "
                  f"(one run {run:.2f} s in its worker)")
        print(f"  speed-up on 2 workers: {walls[1] / walls[2]:.2f}x (target >= 1.7x on 2 free cores; a run that "
              f"takes longer on 2 workers than on 1 shares its core with other processes)")

        stops = tuple(10.0 + i for i in range(args.trivial_runs))
        plan = plan_sweep(trivial, [Dimension("simulation.stop_time_s", stops)])
        wall = timed_sweep(plan, tmp / "trivial", 1)[0]
        t0 = time.perf_counter()
        for i, v in enumerate(plan.variants):
            run_scenario(load_variant(trivial, dict(v.values)), output=tmp / f"direct-{i}.nc")
        direct = time.perf_counter() - t0
        n = len(plan.variants)
        print(f"trivial sweep: {n} runs on 1 worker: {wall:.2f} s, {wall / n:.3f} s per run including start-up "
              f"(target < 0.3 s); the same runs in-process: {direct / n:.3f} s each, so the sweep adds "
              f"{(wall - direct) / n:.3f} s per run")


if __name__ == "__main__":
    main()
