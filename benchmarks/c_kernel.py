"""The C cell kernels (fmus/pack/src, through cosim/pack/c_kernel.py): cost per cell of each
kernel call.

    python benchmarks/c_kernel.py [--cells 384] [--set seed_bgraphite_sno2_lmo_gel] [--repeat 200] [--threads 1,2]

Prints µs per cell for one call of each kernel as the models call them (C through ctypes, the
wrapper's conversions included), one column per thread count of the loops over the cells
(``COSIM_THREADS``; the kernels share them from CK_PARALLEL_MIN_CELLS cells on, see
``fmus/pack/src/cell_kernel.h``): prepare (once per step), evaluate without and
with the slope dV/dI (from the model's guess of the composite split; a few per step),
commit and outputs (once per step), anode_potential (the plating limit), and the string solve
of a pack of 4 strings (once per step of an assembled battery), for the SPMe and the SPM.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import spread
from cosim.pack.c_kernel import THREADS_ENV, CKernel


def batch(name: str, n: int, Model):
    rng = np.random.default_rng(1)
    p = load_parameter_set(name).to_cell_params(n).at_soc(rng.uniform(0.3, 0.9, n))
    p = spread.apply(p, spread.draw(n, seed=1, capacity_rel=0.02, thickness_rel=0.02, resistance_rel=0.05))
    return Model(p), rng.uniform(288.15, 308.15, n)


def best(fns, repeat: int, rounds: int = 7) -> list[float]:
    """Seconds per call of each of ``fns``: the best of ``rounds`` rounds of ``repeat`` calls,
    the functions taking turns in every round (so a machine whose load changes treats them
    alike)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(repeat):
                fn()
            times[k].append((time.perf_counter() - t0) / repeat)
    return [min(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=384)
    ap.add_argument("--set", default="seed_bgraphite_sno2_lmo_gel")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--threads", default="1,2", help="thread counts to compare, comma-separated")
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    n = args.cells
    S = 4 if n % 4 == 0 else 1
    print(f"{args.set}, {n} cells: µs per cell per call (C through ctypes) on {', '.join(map(str, counts))} "
          "thread(s); the kernels' calls take turns, best of 7 rounds")
    for Model in (SPMe, SPM):
        model, T = batch(args.set, n, Model)
        d, z, c = model.data, model._z, model._c
        columns = []
        for t in counts:  # a kernel per thread count: its struct of the cell data carries the count
            os.environ[THREADS_ENV] = str(t)
            columns.append(kernel_rows(CKernel(), d, z, c, T, model._current_scale(), S))
        print(f"  {Model.name}" + "".join(f"{f'{t} thread(s)':>14s}" for t in counts))
        costs = best([fn for rows in columns for fn in rows.values()], args.repeat)
        for r, label in enumerate(columns[0]):
            print(f"    {label:20s}" + "".join(f"{costs[k * len(columns[0]) + r] / n * 1e6:14.3f}"
                                           for k in range(len(counts))))


def kernel_rows(ck, d, z, c, T, one_c, S) -> dict:
    """Each kernel call of a step, as a function of no arguments."""
    n = T.size
    I = 0.8 * one_c
    prep = ck.prepare(d, 1.0, T, z, c)
    first = ck.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, True)
    guess = first[2] + first[7] * 0.01 * I  # the model's start: the last split moved along its slope
    zc, cc = z.copy(), c.copy()
    R_series = np.full(S, 2e-3)
    I0 = np.full(S, float(np.mean(I)) * n / S / (n // S))
    return {
        "prepare": lambda: ck.prepare(d, 1.0, T, z, c),
        "evaluate": lambda: ck.evaluate(d, prep, T, I * 1.01, guess, True, False),
        "evaluate + slope": lambda: ck.evaluate(d, prep, T, I * 1.01, guess, True, True),
        "commit": lambda: ck.commit(d, prep, I, first[2], zc, cc),
        "outputs": lambda: ck.outputs(d, T, I, *first[2:7], z, c),
        "anode_potential": lambda: ck.anode_potential(d, prep, T, I, first[5][0], first[10][0], True),
        f"solve_strings ({S})": lambda: ck.solve_strings(d, prep, T, guess, True, I0, False, float(np.sum(I0)),
                                                          R_series, 1e-9 * float(np.sum(I0)), 40,
                                                          np.full(S, np.nan), 10.0),
    }


if __name__ == "__main__":
    main()
