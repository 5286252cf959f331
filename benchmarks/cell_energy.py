"""Energy books of a single cell: discharge, then rest to equilibrium.

Prints, per model and parameter set, E(start) - E(end) (stored energy,
CellModel.stored_energy_J) against the integral of terminal power plus every heat output
(end-of-step values times the step, as a thermal model books them), the relative gap, and
its dependence on the step size. Usage: python benchmarks/cell_energy.py [--dt 1 0.5 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.cell.base import HEAT_OUTPUTS
from cosim.cell.dfn import DFN
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe

MODELS = {"SPM": SPM, "SPMe": SPMe, "DFN": DFN}


def books(Model, set_name, dt=1.0, c_rate=1.0, t_dis=1500.0, t_rest=2e4, rest_h0=0.01, growth=1.01, T=298.15,
          parts=False):
    """(E_start - E_end, integral of I V + heat, per-heat integrals)."""
    params = load_parameter_set(set_name).to_cell_params(1)
    model = Model(params)
    I = float(model._current_scale()[0]) * c_rate
    E0 = model.stored_energy_J()[0]
    sums = {k: 0.0 for k in ("IV",) + HEAT_OUTPUTS}

    def book(out, h):
        sums["IV"] += h * float(out["current_A"][0] * out["voltage_V"][0])
        for k in HEAT_OUTPUTS:
            sums[k] += h * float(out.get(k, np.zeros(1))[0])

    n = int(round(t_dis / dt))
    for _ in range(n):
        book(model.step(dt, T, current_A=I), dt)
    t, h = 0.0, rest_h0
    while t < t_rest:
        book(model.step(h, T, current_A=0.0), h)
        t += h
        h *= growth
    E1 = model.stored_energy_J()[0]
    total = sum(sums.values())
    return E0 - E1, total, sums


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--sets", nargs="*", default=["chen2020", "seed_bgraphite_sno2_lmo_gel"])
    ap.add_argument("--dt", nargs="*", type=float, default=[1.0])
    ap.add_argument("--growth", type=float, default=1.01)
    ap.add_argument("--t-dis", type=float, default=1500.0)
    ap.add_argument("--T", type=float, default=298.15)
    a = ap.parse_args()
    for s in a.sets:
        for m in a.models:
            for dt in a.dt:
                t0 = time.perf_counter()
                dE, total, sums = books(MODELS[m], s, dt=dt, growth=a.growth, t_dis=a.t_dis, T=a.T)
                mix = sums["heat_mixing_W"]
                print(f"{s:30s} {m:5s} dt={dt:5.2f} dE={dE:12.3f} J  IV+Q={total:12.3f} J  gap={(total - dE) / dE:+.3e}"
                      f"  (mixing {mix / dE:.3e}, dissipated {(dE - sums['IV']) / dE:.3e}) "
                      f"[{time.perf_counter() - t0:.1f} s]", flush=True)


if __name__ == "__main__":
    main()
