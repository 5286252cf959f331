"""Cell-core speed: single-cell 1C discharges (set-up included) and batched SPMe steps.

    python benchmarks/cell_core.py

Prints, for Chen2020 at 25 C: the wall time of a 1C discharge to 2.5 V including model
set-up (SPM, SPMe, DFN; targets SPMe <= 40 ms, DFN <= 110 ms; PyBaMM 26.10 needs 0.42 s and
0.55 s for set-up + solve on this machine class), and for SPMe batches of 16, 256 and 4096
cells at 1 s steps: microseconds per cell-step (target <= 10 at 256 cells; liionpack needs
about 1,100) and memory of the model state per cell.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.protocols import constant_current
from cosim.cell.spme import SPM, SPMe


def models():
    found = [("SPM", SPM, None), ("SPMe", SPMe, 40e-3)]
    try:
        from cosim.cell.dfn import DFN

        found.append(("DFN", DFN, 110e-3))
    except ImportError:
        pass
    return found


def single_cell(repeats: int) -> None:
    pset = load_parameter_set("chen2020")
    print("single cell, Chen2020, 5 A (1C) to 2.5 V, set-up included (best of %d)" % repeats)
    for label, Model, target in models():
        best, cap = np.inf, None
        for _ in range(repeats):
            start = time.perf_counter()
            run = constant_current(Model(pset.to_cell_params(1)), 5.0)
            best = min(best, time.perf_counter() - start)
            cap = run.capacity_As[0] / 3600
        goal = "" if target is None else f" (target <= {target * 1e3:.0f} ms: {'ok' if best <= target else 'MISSED'})"
        print(f"  {label:5s} {best * 1e3:8.1f} ms, {len(run.time_s) - 1:4d} steps, {cap:.4f} Ah{goal}")


def batches(sizes, steps: int) -> None:
    pset = load_parameter_set("chen2020")
    print(f"SPMe batches, 1 s steps, {steps} steps at a varying current")
    rng = np.random.default_rng(0)
    for n in sizes:
        params = pset.to_cell_params(n)
        tracemalloc.start()
        model = SPMe(params)
        model.step(1.0, 298.15, current_A=1.0)
        state_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        currents = rng.uniform(-5.0, 10.0, size=(steps, n))
        T = np.full(n, 298.15)
        start = time.perf_counter()
        for k in range(steps):
            model.step(1.0, T, current_A=currents[k])
            model.out["soc"]  # read the outputs, as a component does
        elapsed = time.perf_counter() - start
        per = elapsed / (steps * n) * 1e6
        goal = f" (target <= 10: {'ok' if per <= 10 else 'MISSED'})" if n == 256 else ""
        print(f"  {n:6d} cells: {per:8.2f} µs per cell-step{goal}, {elapsed / steps * 1e3:7.3f} ms per step, "
              f"peak memory while building {state_bytes / n / 1024:7.1f} KiB per cell")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    single_cell(args.repeats)
    batches((16, 256, 4096), args.steps)


if __name__ == "__main__":
    main()
