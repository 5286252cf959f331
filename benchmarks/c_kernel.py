"""The C cell kernels (fmus/pack/src, through cosim/pack/c_kernel.py): cost per cell of each
kernel call.

    python benchmarks/c_kernel.py [--cells 384] [--set seed_bgraphite_sno2_lmo_gel] [--repeat 200]

Prints µs per cell for one call of each kernel as the models call them (serial C through
ctypes, the wrapper's conversions included): prepare (once per step), evaluate without and
with the slope dV/dI (from the model's guess of the composite split; a few per step),
commit and outputs (once per step), anode_potential (the plating limit), and the string solve
of a pack of 4 strings (once per step of an assembled battery), for the SPMe and the SPM.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import spread
from cosim.pack.c_kernel import CKernel


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
    ck = CKernel()
    n = args.cells
    S = 4 if n % 4 == 0 else 1
    print(f"{args.set}, {n} cells: µs per cell per call (C, serial, through ctypes)")
    for Model in (SPMe, SPM):
        model, T = batch(args.set, n, Model)
        d, z, c = model.data, model._z, model._c
        I = 0.8 * model._current_scale()
        prep = ck.prepare(d, 1.0, T, z, c)
        first = ck.evaluate(d, prep, T, I, np.zeros_like(prep[2]), False, True)
        guess = first[2] + first[7] * 0.01 * I  # the model's start: the last split moved along its slope
        zc, cc = z.copy(), c.copy()
        R_series = np.full(S, 2e-3)
        I0 = np.full(S, float(np.mean(I)) * n / S / (n // S))
        rows = {
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
        print(f"  {Model.name}")
        for (label, _), cost in zip(rows.items(), best(list(rows.values()), args.repeat)):
            print(f"    {label:20s} {cost / n * 1e6:7.3f}")


if __name__ == "__main__":
    main()
