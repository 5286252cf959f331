"""Cost and answer of ``mesh_check``: the 384-cell pack of ``benchmarks/pack.py`` (SPMe cells,
two-way coupled to its thermal network, a drive-like power profile at 1 s steps) without and
with the mesh check.

    python benchmarks/mesh_check.py [--duration 600] [--c-rate 2] [--repeats 2]

Off, the pack steps on its C engine; on, on its Python engine (the same numbers; see the
README). Prints per setting (off; on with the default sample on a 2x and a 4x refined mesh; on with
a sample of 16 cells) the CPU time per macro step (best of ``--repeats``; CPU rather than wall
time: less disturbed by other processes on the machine), the CPU time of the check's own
methods in it, and the RMS and largest |voltage difference| it recorded. The profile's pack
has no spread: the default sample is then its first and last cell.
"""

from __future__ import annotations

import argparse
import time

from pack import build  # benchmarks/pack.py: the same pack, thermal network and profile

from cosim.cell.electrolyte1d import DEFAULT_VOLUMES
from cosim.cell.particle import DEFAULT_SHELLS


def timed(duration_s: float, c_rate: float, **keys) -> tuple[float, float, dict]:
    """CPU time of the run [s] (less sensitive to other processes than wall time), CPU time
    spent in the mesh check's own methods [s], and its attributes."""
    orch = build("seed_bgraphite_sno2_lmo_gel", 2, 4, 48, duration_s, c_rate, **keys)
    check = orch.components["pack"].mesh_check
    spent = [0.0]
    if check is not None:  # time the check's own work: every method the pack calls on it
        for name in ("begin", "took", "finish", "get_state", "set_state"):
            def timed_method(*args, _f=getattr(check, name)):
                t0 = time.process_time()
                try:
                    return _f(*args)
                finally:
                    spent[0] += time.process_time() - t0
            setattr(check, name, timed_method)
    start = time.process_time()
    orch.run()
    return time.process_time() - start, spent[0], orch.components["pack"].run_attributes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--c-rate", type=float, default=2.0, help="peak power as a C-rate of the pack")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sixteen = [[s, k, layer] for s in range(2) for k in range(4) for layer in (0, 47)]
    settings = [("off", {}), ("on, 2x, default sample", {"mesh_check": True}),
                ("on, 4x, default sample", {"mesh_check": True, "mesh_check_refinement": 4}),
                ("on, 2x, 16 cells", {"mesh_check": True, "mesh_check_cells": sixteen})]
    print(f"384 unit cells (SPMe, {DEFAULT_SHELLS} shells, volumes {'/'.join(map(str, DEFAULT_VOLUMES))}) + thermal "
          f"network, {args.duration:g} s at 1 s steps, "
          f"peak {args.c_rate:g}C; best of {args.repeats}")
    for label, keys in settings:
        cpu, spent, attrs = min((timed(args.duration, args.c_rate, **keys) for _ in range(args.repeats)),
                                key=lambda r: r[0])
        line = f"  {label:24s} {cpu / args.duration * 1e3:6.3f} ms CPU per step"
        if attrs:
            line += (f", of which the check {spent / args.duration * 1e3:.3f} ms; RMS "
                     f"{attrs['pack_mesh_check_rms_voltage_difference_V'] * 1e3:.4f} mV, max "
                     f"{attrs['pack_mesh_check_max_abs_voltage_difference_V'] * 1e3:.4f} mV "
                     f"({attrs['pack_mesh_check_cells'].count(';') + 1} cells)")
        print(line)


if __name__ == "__main__":
    main()
