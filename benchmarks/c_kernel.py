"""The C cell kernel (fmus/pack/src, through cosim/pack/c_kernel.py) against the numba kernels:
cost per cell-step of prepare and evaluate.

    python benchmarks/c_kernel.py [--cells 384] [--set seed_bgraphite_sno2_lmo_gel] [--repeat 200]

Prints µs per cell-step for prepare (one per step) and evaluate (with and without the
slope dV/dI, from the model's guess of the composite split), for the SPMe and the SPM: numba
serial, numba as the model runs it (threads from 64 cells on) and the C (serial, called
through ctypes, the wrapper's conversions included). Nothing is asserted; the numbers go
into the decision of issue 14 (retire the numba copy if the C is at least as fast).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.cell import spme_kernels as kern
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import spread
from cosim.pack.c_kernel import load


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
    args = ap.parse_args()
    ck = load()
    n = args.cells
    print(f"{args.set}, {n} cells: µs per cell-step (numba serial | numba as the model runs it | C serial)")
    for Model in (SPMe, SPM):
        model, T = batch(args.set, n, Model)
        d, z, c = model.data, model._z, model._c
        threads = n >= kern.THREADS_MIN_CELLS
        I = 0.8 * model._current_scale()
        prep = kern.prepare(d, 1.0, T, z, c, False)
        first = kern.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, True, False)
        guess = first[2] + first[7] * 0.01 * I  # the model's start: the last split moved along its slope
        rows = {
            "prepare": (lambda th: kern.prepare(d, 1.0, T, z, c, th), lambda: ck.prepare(d, 1.0, T, z, c)),
            "evaluate": (lambda th: kern.evaluate(d, prep, T, I * 1.01, guess, True, False, th),
                         lambda: ck.evaluate(d, prep, T, I * 1.01, guess, True, False)),
            "evaluate + slope": (lambda th: kern.evaluate(d, prep, T, I * 1.01, guess, True, True, th),
                                 lambda: ck.evaluate(d, prep, T, I * 1.01, guess, True, True)),
        }
        print(f"  {Model.name}")
        for label, (numba_fn, c_fn) in rows.items():
            serial, model_way, cost = (t / n * 1e6 for t in best(
                [lambda: numba_fn(False), lambda: numba_fn(threads), c_fn], args.repeat))
            print(f"    {label:18s} {serial:7.3f} | {model_way:7.3f} | {cost:7.3f}   (C / numba serial {cost / serial:.2f})")


if __name__ == "__main__":
    main()
