"""Mesh convergence of the SPMe and the DFN: error vs cost per mesh, per model, per rate.

    python benchmarks/mesh_convergence.py [--quick] [--markdown]

Constant-current discharges to the cut-off of single cells at fixed time steps (the same
steps on every mesh, so only the spatial discretisation differs), on the default mesh
(40 particle shells graded towards the surface, 20/6/20 electrolyte volumes), on meshes
refined 2x, 4x (and 8x, the reference) in both directions and in each direction alone, and
on PyBaMM's 20-point discretisation (20 uniform shells, 20/20/20 volumes; the DFN also with
PyBaMM's arithmetic face means), the default before issue 16. Prints per mesh the RMS and
largest voltage difference from the reference over the common time span, the shift of the
cut-off time and the cost in microseconds per cell-step (SPMe: a batch of 256 cells; DFN: a
batch of 8; wall-clock, best of 3: on a shared machine compare rows of one run only).
``docs/mesh_convergence.md`` holds the tables of a run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.cell.dfn import DFN
from cosim.cell.electrolyte1d import DEFAULT_VOLUMES
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.particle import DEFAULT_SHELLS
from cosim.cell.spme import SPMe

T25 = 298.15

#: (parameter set, 1C current A, C-rate, time step s) of the study: Chen2020's nominal 5 A h,
#: the Doyle cells' 17.5 A/m^2 on 1 m^2
CASES = [("chen2020", 5.0, 2.0, 5.0), ("doyle1996_cell1", 17.5, 4.0, 2.0), ("doyle1996_cell1", 17.5, 6.0, 1.0)]


#: PyBaMM's 20-point discretisation, each model's default before issue 16
PYBAMM_MESH = (20, (20, 20, 20))


def make(model: str, params, n_r: int, n_x: tuple[int, int, int], pybamm: bool = False):
    """The model on a mesh; ``pybamm``: uniform shells (and, DFN, arithmetic face means)."""
    options = dict(particle_grading=1.0) if pybamm else {}
    if model == "SPMe":
        return SPMe(params, n_r=n_r, n_x=n_x, **options)
    return DFN(params, n_x=n_x, n_r=n_r, **(dict(options, face_mean="arithmetic") if pybamm else options))


def discharge(model, current: float, h: float, cutoff: float, max_steps: int = 20000):
    """Fixed steps of ``h`` s until the voltage falls below ``cutoff``: (times, voltages,
    cut-off time interpolated between the last two steps)."""
    t, times, volts = 0.0, [], []
    for _ in range(max_steps):
        V = float(model.step(h, T25, current_A=current)["voltage_V"][0])
        t += h
        times.append(t)
        volts.append(V)
        if not V >= cutoff:
            break
    times, volts = np.array(times), np.array(volts)
    k = len(volts) - 1
    t_cut = times[k - 1] + (volts[k - 1] - cutoff) / (volts[k - 1] - volts[k]) * h if np.isfinite(volts[k]) else times[k - 1]
    return times, volts, t_cut


def compare(run, ref) -> tuple[float, float, float]:
    """RMS and largest voltage difference over the steps both runs have (before either
    crosses the cut-off), and the cut-off time shift."""
    t, V, tc = run
    tr, Vr, tcr = ref
    k = min(len(t), len(tr)) - 1  # the last common step is the first below the cut-off of one
    err = V[:k] - Vr[:k]
    return float(np.sqrt(np.mean(err**2))), float(np.abs(err).max()), float(tc - tcr)


def cost_us(model: str, params_set, n_r: int, n_x, n_batch: int, steps: int, current: float, h: float,
            pybamm: bool = False) -> float:
    """Microseconds per cell-step of a batch of ``n_batch`` identical cells."""
    m = make(model, params_set.to_cell_params(n_batch), n_r, n_x, pybamm)
    I = np.full(n_batch, current)
    m.step(h, T25, current_A=I)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(steps):
            m.step(h, T25, current_A=I)
        best = min(best, time.perf_counter() - start)
    return best / (steps * n_batch) * 1e6


def meshes(n_r0: int, n_x0: tuple[int, int, int], levels):
    """(label, n_r, n_x, pybamm): the mesh refined by k in both directions, then each alone,
    then PyBaMM's 20-point discretisation."""
    out = []
    for k in levels:
        out.append((f"{k}x both", n_r0 * k, tuple(n * k for n in n_x0), False))
    for k in levels[1:]:
        out.append((f"{k}x electrolyte", n_r0, tuple(n * k for n in n_x0), False))
        out.append((f"{k}x particle", n_r0 * k, n_x0, False))
    out.append(("PyBaMM 20-point", *PYBAMM_MESH, True))
    return out


def study(model: str, case, levels, ref_level: int, markdown: bool, n_r0=DEFAULT_SHELLS, n_x0=DEFAULT_VOLUMES) -> dict:
    name, one_c, rate, h = case
    pset = load_parameter_set(name)
    params = pset.to_cell_params(1)
    current = rate * one_c
    cutoff = float(params.lower_voltage_V)
    ref = discharge(make(model, params, n_r0 * ref_level, tuple(n * ref_level for n in n_x0)), current, h, cutoff)
    rows = {}
    head = f"{model}, {name}, {rate:g}C ({current:.3g} A), h = {h:g} s, reference {ref_level}x (cut-off {ref[2]:.1f} s)"
    print("\n" + head)
    if markdown:
        print("\n| mesh | n_r | n_x | RMS mV | max mV | cut-off shift s | us per cell-step |")
        print("|---|---|---|---|---|---|---|")
    for label, n_r, n_x, pybamm in meshes(n_r0, n_x0, levels):
        run = discharge(make(model, params, n_r, n_x, pybamm), current, h, cutoff)
        rms, worst, shift = compare(run, ref)
        us = cost_us(model, pset, n_r, n_x, 256 if model == "SPMe" else 8, 20 if model == "SPMe" else 5, current, h,
                     pybamm)
        rows[label] = (rms, worst, shift, us)
        if markdown:
            print(f"| {label} | {n_r} | {'/'.join(map(str, n_x))} | {rms * 1e3:.3f} | {worst * 1e3:.3f} | {shift:+.2f} | {us:.1f} |")
        else:
            print(f"  {label:16s} n_r {n_r:4d} n_x {str(n_x):16s} RMS {rms * 1e3:7.3f} mV  max {worst * 1e3:7.3f} mV"
                  f"  cut-off {shift:+7.2f} s  {us:8.1f} us/cell-step")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2x and 4x only, reference 4x")
    ap.add_argument("--markdown", action="store_true", help="tables as markdown")
    ap.add_argument("--models", default="SPMe,DFN")
    args = ap.parse_args()
    levels, ref_level = ([1, 2], 4) if args.quick else ([1, 2, 4], 8)
    for model in args.models.split(","):
        for case in CASES:
            study(model, case, levels, ref_level, args.markdown)


if __name__ == "__main__":
    main()
