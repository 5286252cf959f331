"""Pack speed: an assembled bipolar battery (SPMe cells) coupled two-way to its layer-resolved
thermal network, driven by a power profile at 1 s macro steps.

    python benchmarks/pack.py [--set seed_bgraphite_sno2_lmo_gel] [--duration 1800] [--repeats 2] [--mesh-duration 0]

Prints for 2 strings x 4 stacks x 48 layers (384 unit cells) over the profile: wall time,
the ratio to real time (target >= 600x, i.e. <= 3 s for 1800 s) and µs per cell-step; then
the scaling of µs per cell-step from 16 to 16,384 unit cells over a shorter run (targets: at
most 5 µs at 256 cells, flat within 30 % from 256 cells up; the steps' cost, with the
initialization's, once per run, printed apart and all-in); then (unless ``--mesh-duration
0``) the mesh trade-off (``particle_shells``, ``electrolyte_volumes``): µs per cell-step and
the largest layer-voltage difference to the default mesh. The cells run on the C kernels (``fmus/pack/src``),
on up to 2 threads (``COSIM_THREADS``; see "Threads" in the README): the figures depend on
what else the machine runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cosim.cell.electrolyte1d import DEFAULT_VOLUMES
from cosim.cell.particle import DEFAULT_SHELLS
from cosim.components.pack import Pack, PackConfig
from cosim.components.profile import Profile, ProfileConfig
from cosim.components.thermal import Thermal, ThermalConfig
from cosim.coupling import Edge
from cosim.orchestrator import Orchestrator
from cosim.pack.c_kernel import thread_note


def power_profile(duration_s: float, peak_W: float, seed: int = 1) -> tuple[list[float], list[float]]:
    """Piecewise-constant drive-like power: bursts of traction and regeneration, 5-20 s each."""
    rng = np.random.default_rng(seed)
    t, p = [0.0], []
    while t[-1] < duration_s:
        p.append(float(peak_W * rng.choice([-0.3, 0.0, 0.2, 0.4, 0.7, 1.0])))
        t.append(min(t[-1] + float(rng.integers(5, 21)), duration_s))
    times, values = [], []
    for k, v in enumerate(p):  # jumps: each time twice
        times += [t[k], t[k + 1]]
        values += [v, v]
    return times, values


def build(pset: str, strings: int, stacks: int, layers: int, duration_s: float, c_rate: float, **mesh):
    pack = Pack("pack", PackConfig(type="pack", parameter_set=pset, control="power", n_strings=strings,
                                   n_stacks=stacks, n_layers=layers, initial_soc=0.8,
                                   available_power_interval_s=10.0, **mesh))
    cell_energy_Wh = float(pack.battery._one_c) * 3.7  # 1C current x nominal voltage, per hour
    peak = c_rate * cell_energy_Wh * pack.layout.n_cells
    times, values = power_profile(duration_s, peak)
    source = Profile("load", ProfileConfig(type="profile", time_s=times, values={"power_W": values},
                                           interpolation="previous"))
    thermal = Thermal("thermal", ThermalConfig(type="thermal", n_strings=strings, n_stacks=stacks, n_layers=layers,
                                               layer_thickness_m=2e-4, area_m2=0.1, cooling="both"))
    edges = [Edge("load", "power_W", "pack", "power_setpoint_W"),
             Edge("pack", "layer_heat_W", "thermal", "heat_W"),
             Edge("thermal", "layer_temperature_K", "pack", "layer_temperature_K")]
    return Orchestrator([source, pack, thermal], edges, start_s=0.0, stop_s=duration_s, step_s=1.0)


def timed(pset, strings, stacks, layers, duration_s, c_rate, samples=None, **mesh) -> tuple[float, float]:
    """Wall time of a run and of its initialization (the components' initialize: the C
    battery loaded, the first available power searched from nothing); ``samples`` (a list)
    collects the layer voltages 200 times."""
    orch = build(pset, strings, stacks, layers, duration_s, c_rate, **mesh)
    pack = orch.components["pack"]
    progress = None if samples is None else (lambda t: samples.append(pack.y["layer_voltage_V"].copy()))
    initialize, init = orch.initialize, []

    def timed_initialize():
        begin = time.perf_counter()
        initialize()
        init.append(time.perf_counter() - begin)

    orch.initialize = timed_initialize
    start = time.perf_counter()
    orch.run(progress=progress)
    return time.perf_counter() - start, init[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="seed_bgraphite_sno2_lmo_gel")
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--scaling-duration", type=float, default=30.0)
    parser.add_argument("--mesh-duration", type=float, default=600.0)
    parser.add_argument("--c-rate", type=float, default=2.0, help="peak power as a C-rate of the pack")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each scaling size; the best is reported")
    args = parser.parse_args()

    n = 2 * 4 * 48
    wall, _ = timed(args.set, 2, 4, 48, args.duration, args.c_rate)
    per = wall / (args.duration * n) * 1e6
    ratio = args.duration / wall
    print(thread_note())
    print(f"pack {args.set}: 2 strings x 4 stacks x 48 layers = {n} unit cells, SPMe + thermal, "
          f"power profile, 1 s steps, {args.duration:g} s")
    print(f"  wall {wall:.2f} s, {ratio:.0f}x real time (target >= 600x: {'ok' if ratio >= 600 else 'MISSED'}), "
          f"{per:.2f} µs per cell-step")
    print(f"scaling over {args.scaling_duration:g} s (best of {args.repeats}; targets: <= 5 µs at 256 cells, "
          f"flat within 30 % from 256 up): µs per cell-step of the steps (the initialization, once per run, "
          f"apart), and all-in over the {args.scaling_duration:g} s")
    base, from256 = None, []
    for strings, stacks, layers in ((1, 1, 16), (2, 4, 32), (2, 8, 64), (4, 8, 128), (8, 16, 128)):
        cells = strings * stacks * layers
        w, init = min(timed(args.set, strings, stacks, layers, args.scaling_duration, args.c_rate)
                      for _ in range(args.repeats))
        us = (w - init) / (args.scaling_duration * cells) * 1e6
        base = base or us
        from256 += [us] if cells >= 256 else []
        goal = f" (target <= 5: {'ok' if us <= 5 else 'MISSED'})" if cells == 256 else ""
        print(f"  {cells:6d} cells: {us:8.2f} µs per cell-step ({us / base:5.2f}x the 16-cell figure){goal}; "
              f"initialization {init * 1e3:6.1f} ms; all-in {w / (args.scaling_duration * cells) * 1e6:6.2f} µs")
    spread = max(from256) / min(from256) - 1.0
    print(f"  from 256 cells up: within {spread:.0%} (target <= 30 %: {'ok' if spread <= 0.3 else 'MISSED'})")
    if args.mesh_duration <= 0:
        return
    print(f"mesh trade-off, {n} unit cells over {args.mesh_duration:g} s:")
    reference = None
    for shells, volumes in ((DEFAULT_SHELLS, list(DEFAULT_VOLUMES)), (20, [20, 20, 20]), (20, [10, 3, 10]),
                            (10, [10, 5, 10]), (6, [5, 3, 5])):
        samples: list = []
        w, _ = timed(args.set, 2, 4, 48, args.mesh_duration, args.c_rate, samples,
                     particle_shells=shells, electrolyte_volumes=volumes)
        v = np.array(samples)
        reference = v if reference is None else reference
        print(f"  particle_shells = {shells:2d}, electrolyte_volumes = {volumes}: "
              f"{w / (args.mesh_duration * n) * 1e6:6.2f} µs per cell-step, "
              f"layer voltages within {np.max(np.abs(v - reference)) * 1e3:.3f} mV of the default mesh")


if __name__ == "__main__":
    main()
