"""Vehicle speed: backward-mode cycles per second, and the flagship run's wall time.

    python benchmarks/vehicle.py [--skip-flagship] [--side-by-side] [--range]

Backward mode on UDDS (FASTSim 2's Rust core does about 53 cycles per second on this
machine class; target at least 10x that), then the flagship scenario (BEV on WLTC 3b with a
384-cell bipolar pack and its thermal network; target at least 1000x real time). With
``--side-by-side``, also two flagship runs at once (separate ``cosim run`` processes, as a
sweep would start them): the wall time of each, against one alone. With ``--range``, also the
range test (the flagship repeating WLTC 3b until it misses the trace by 2 km/h): its wall
time, the simulated time and the range it reports.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    args = parser.parse_args()
    for vehicle in ("nissan_leaf_2016", "nissan_leaf_2022_epa"):
        rate = cycles_per_second(vehicle, "UDDS")
        print(f"backward mode, UDDS, {vehicle}: {rate:8.0f} cycles/s "
              f"({rate / 53:.0f}x FASTSim 2's 53/s; target >= 10x: {'ok' if rate >= 530 else 'MISSED'})")
    if args.skip_flagship:
        return
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    loaded = load_scenario(FLAGSHIP)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_scenario(loaded, output=Path(tmp) / "flagship.nc")
        wall = time.perf_counter() - start
    simulated = loaded.scenario.simulation.stop_time_s - loaded.scenario.simulation.start_time_s
    ratio = simulated / wall
    print(f"flagship {FLAGSHIP.name}: {simulated:g} s simulated in {wall:.1f} s wall, {ratio:.0f}x real time "
          f"(target >= 1000x: {'ok' if ratio >= 1000 else 'MISSED'})")
    if args.side_by_side:
        side_by_side(wall)
    if args.range:
        range_test()


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
