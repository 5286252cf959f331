"""Cost of the ``cell`` component's available-power outputs (DFN, SPMe): a 1C Chen2020
discharge for 3000 s through the scenario API, with the component's ``extra`` settings.

    python benchmarks/cell_available_power.py [--step 10] [--model dfn] [extra TOML lines ...]

Prints the wall time of the run (model set-up and output file included) and of the
component's calls to ``available_power``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cosim.run import run_scenario
from cosim.scenario import load_scenario

CELL = """
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.load]
type = "profile"
time_s = [0.0, {stop}]
values = {{ current_A = [5.0, 5.0] }}
interpolation = "previous"

[components.cell]
type = "cell"
parameter_set = "chen2020"
model = "{model}"
{extra}

[[connections]]
from = "load.current_A"
to = "cell.current_setpoint_A"
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dfn")
    ap.add_argument("--step", type=float, default=10.0)
    ap.add_argument("--stop", type=float, default=3000.0)
    ap.add_argument("extra", nargs="*", help="TOML lines for the cell component")
    a = ap.parse_args()
    from cosim.cell.base import CellModel

    spent = [0.0, 0]
    original = CellModel.available_power

    def timed(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[1] += 1

    CellModel.available_power = timed
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cell.toml"
        for repeat in range(2):  # the first run compiles and warms caches
            spent[:] = [0.0, 0]
            path.write_text(CELL.format(stop=a.stop, step=a.step, model=a.model, extra="\n".join(a.extra)))
            t0 = time.perf_counter()
            run_scenario(load_scenario(path), output=Path(tmp) / f"r{repeat}.nc")
            wall = time.perf_counter() - t0
        print(f"{a.model} step {a.step:g} s, {' '.join(a.extra) or '(defaults)'}: {wall:.2f} s wall, "
              f"available_power {spent[0]:.2f} s in {spent[1]} calls ({spent[0] / wall:.1%})")


if __name__ == "__main__":
    main()
