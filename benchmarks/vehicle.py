"""Vehicle speed: backward-mode cycles per second, and the flagship run's wall time.

    python benchmarks/vehicle.py [--skip-flagship] [--side-by-side] [--range]

Backward mode on UDDS (FASTSim 2's Rust core does about 53 cycles per second on this
machine class; target at least 10x that), then the flagship scenario (BEV on WLTC 3b with a
384-cell bipolar pack and its thermal network; target at least 400x real time on a 2-core
machine): its wall time (best of ``--repeats`` runs, start-up excluded), real-time factor and
µs per cell-step all-in; then the same scenario with a 2-cell pack (1 string x 1 stack x 2
layers of 192 times the area, so each cell carries the flagship's current density): its wall
time per macro step is the overhead outside the cells (orchestrator, vehicle, thermal
network, pack bookkeeping, recording; target at most 0.15 ms). With
``--side-by-side``, also two flagship runs at once (separate ``cosim run`` processes, as a
sweep would start them): the wall time of each, against one alone. With ``--range``, also the
range test (the flagship repeating WLTC 3b until it misses the trace by 2 km/h): its wall
time, the simulated time and the range it reports.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cosim.pack.c_kernel import thread_note
from cosim.vehicle.cycles import load_cycle
from cosim.vehicle.longitudinal import backward, load_vehicle

FLAGSHIP = Path(__file__).resolve().parents[1] / "scenarios" / "flagship_bev_wltc3b.toml"
RANGE = FLAGSHIP.with_name("range_bev_wltc3b.toml")


def cycles_per_second(vehicle: str, cycle: str, runs: int = 1000, repeats: int = 3) -> float:
    veh, cyc = load_vehicle(vehicle), load_cycle(cycle)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(runs):
            backward(veh, cyc)
        best = min(best, time.perf_counter() - start)
    return runs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-flagship", action="store_true")
    parser.add_argument("--side-by-side", action="store_true", help="also two flagship runs at once")
    parser.add_argument("--range", action="store_true", help="also the range test")
    parser.add_argument("--repeats", type=int, default=2, help="flagship runs; the best is reported")
    args = parser.parse_args()
    for vehicle in ("nissan_leaf_2016", "nissan_leaf_2022_epa"):
        rate = cycles_per_second(vehicle, "UDDS")
        print(f"backward mode, UDDS, {vehicle}: {rate:8.0f} cycles/s "
              f"({rate / 53:.0f}x FASTSim 2's 53/s; target >= 10x: {'ok' if rate >= 530 else 'MISSED'})")
    if args.skip_flagship:
        return
    print(thread_note())
    wall, simulated, cells = flagship_wall(FLAGSHIP.read_text(), args.repeats)
    ratio = simulated / wall
    print(f"flagship {FLAGSHIP.name}: {simulated:g} s simulated in {wall:.2f} s wall, {ratio:.0f}x real time "
          f"(target >= 400x: {'ok' if ratio >= 400 else 'MISSED'}), {wall / simulated / cells * 1e6:.2f} µs per "
          f"cell-step all-in ({cells} cells, 1 s steps)")
    small, simulated, _ = flagship_wall(two_cell(FLAGSHIP.read_text()), args.repeats)
    per_step = small / simulated * 1e3
    print(f"  the same with a 2-cell pack: {small:.2f} s wall, {per_step:.3f} ms per macro step outside the cells "
          f"(target <= 0.15 ms: {'ok' if per_step <= 0.15 else 'MISSED'})")
    if args.side_by_side:
        side_by_side(wall)
    if args.range:
        range_test()


def two_cell(text: str) -> str:
    """The flagship's scenario text with a pack (and thermal network) of 1 string x 1 stack x
    2 layers of 192 times the area: the cells carry the flagship's current density."""
    subs = {r"n_strings = 2": "n_strings = 1", r"n_stacks = 4": "n_stacks = 1", r"n_layers = 48": "n_layers = 2",
            r"area_m2\"? = 2\.0": None}
    for pattern, repl in subs.items():
        if repl is None:
            text, n = re.subn(pattern, lambda m: m.group(0).replace("2.0", "384.0"), text)
        else:
            text, n = re.subn(pattern, repl, text)
        if n != 2:
            raise SystemExit(f"the flagship scenario changed: {pattern!r} found {n} times, not twice")
    return text


def flagship_wall(text: str, repeats: int) -> tuple[float, float, int]:
    """Best wall time of ``repeats`` runs of the scenario ``text`` (components built and file
    written, imports and the kernel build excluded), the simulated time and the pack's cells."""
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FLAGSHIP.name
        path.write_text(text)
        for k in range(repeats):
            loaded = load_scenario(path)
            start = time.perf_counter()
            run_scenario(loaded, output=Path(tmp) / f"run{k}.nc")
            best = min(best, time.perf_counter() - start)
    sim = loaded.scenario.simulation
    pack = loaded.scenario.components["pack"]
    return best, sim.stop_time_s - sim.start_time_s, pack.n_strings * pack.n_stacks * pack.n_layers


def range_test() -> None:
    """The range scenario: wall time, simulated time and the range in its status reason."""
    import xarray as xr

    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_scenario(load_scenario(RANGE), output=Path(tmp) / "range.nc")
        wall = time.perf_counter() - start
        with xr.open_dataset(Path(tmp) / "range.nc") as ds:
            simulated = float(ds["time"][-1] - ds["time"][0])
            reason = ds.attrs["status_reason"]
    print(f"range test {RANGE.name}: {simulated:g} s simulated in {wall:.1f} s wall, {simulated / wall:.0f}x real "
          f"time; {reason.split(';')[0]}")


def side_by_side(alone_s: float) -> None:
    """Two ``cosim run`` processes of the flagship at once; each one's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        script = ("import sys, time; from cosim.cli import main; t = time.perf_counter(); "
                  "main(['run', sys.argv[1], '--output', sys.argv[2]]); print(time.perf_counter() - t)")
        procs = [subprocess.Popen([sys.executable, "-c", script, str(FLAGSHIP), str(Path(tmp) / f"{k}.nc")],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for k in range(2)]
        walls = [float(p.communicate()[0].split()[-1]) for p in procs]
    print(f"flagship, two runs side by side: {walls[0]:.1f} s and {walls[1]:.1f} s wall "
          f"(one alone: {alone_s:.1f} s)")


if __name__ == "__main__":
    main()
