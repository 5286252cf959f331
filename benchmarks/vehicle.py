"""Vehicle speed: backward-mode cycles per second, and the flagship run's wall time.

    python benchmarks/vehicle.py [--skip-flagship]

Backward mode on UDDS (FASTSim 2's Rust core does about 53 cycles per second on this
machine class; target at least 10x that), then the flagship scenario (BEV on WLTC 3b with a
384-cell bipolar pack and its thermal network; target at least 1000x real time).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cosim.vehicle.cycles import load_cycle
from cosim.vehicle.longitudinal import backward, load_vehicle

FLAGSHIP = Path(__file__).resolve().parents[1] / "scenarios" / "flagship_bev_wltc3b.toml"


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


if __name__ == "__main__":
    main()
