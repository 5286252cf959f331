"""FMU component cost: what the ``fmu`` component adds to an FMU's own ``DoStep``, and the
flagship BEV run with the vehicle as our FMU next to the native vehicle.

    python benchmarks/fmu.py [--steps 200000] [--skip-flagship]

1. ``cs2_bench`` (tests/fmus: FMI 2.0 co-simulation, 10 inputs, 10 outputs, a DoStep that
   only advances time) is compiled with gcc, then timed three ways per step: the bare
   ``fmi2DoStep`` call through ctypes (the FMU's own cost as Python sees it), the
   component's ``do_step`` (inputs written, DoStep, outputs read), and a whole orchestrated
   macro step with 10 connections feeding it. Target: the component at most 10 µs above
   the bare DoStep.
2. The flagship scenario (``scenarios/flagship_bev_wltc3b.toml``) and its FMU variant
   (``scenarios/flagship_bev_wltc3b_vehicle_fmu.toml``) are run; wall times and the
   agreement of battery power and pack voltage are printed.
3. Model exchange (``--me-only`` runs just this): the fixtures ``me2_vdp`` (van der Pol,
   mu = 1, non-stiff), ``me2_robertson`` (Robertson's stiff kinetics) and ``me2_ball``
   (bouncing ball, state events), built like the tests build them, run by the ``fmu``
   component (communication step = FMPy's default output interval, stop/500) with each
   solver, and by ``fmpy.simulate_fmu`` with its defaults (CVode, rtol 1e-5 or the FMU's
   default tolerance). Printed: best-of-5 wall times, their ratio (target: ``auto`` at most
   1.5x FMPy) and both errors against the reference (scipy at rtol 1e-10, or analytic for
   the ball), each state's error scaled by its largest magnitude.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _best(fn, n: int, repeats: int = 5) -> float:
    """Best of ``repeats`` timings of ``n`` calls, seconds per call."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn(n)
        best = min(best, (time.perf_counter() - start) / n)
    return best


def component_overhead(tmp: Path, steps: int) -> None:
    from cosim.components.base import Causality, Component, ComponentConfig, Port
    from cosim.coupling import Edge
    from cosim.fmu.build import build_fmu
    from cosim.fmu.component import FmuComponent, FmuConfig
    from cosim.orchestrator import Orchestrator

    src = ROOT / "tests" / "fmus" / "cs2_bench"
    fmu = build_fmu(src, tmp / "cs2_bench.fmu", cflags=[f"-I{ROOT / 'tests' / 'fmus' / 'common'}"])
    comp = FmuComponent("bench", FmuConfig(fmu=fmu))
    comp.initialize(0.0)
    inst = comp._inst
    do_step = inst.function("fmi2DoStep")
    handle = inst.handle
    h = 1e-3
    clock = [0.0]  # the FMU's time goes on across the repeats

    def bare(n):
        t = clock[0]
        for _ in range(n):
            do_step(handle, t, h, 1)
            t += h
        clock[0] = t

    def component(n):
        t = clock[0]
        for _ in range(n):
            comp.do_step(t, h)
            t += h
        clock[0] = t

    t_bare = _best(bare, steps)
    t_comp = _best(component, steps)
    comp.terminate()

    class Source(Component):
        type_name = "bench_source"

        def _declare_ports(self):
            for i in range(10):
                yield Port(f"s{i}", Causality.OUTPUT, depends_on=())

        def _initialize(self, t0):
            for i in range(10):
                self.y[f"s{i}"] = float(i)

        def _do_step(self, t, h):
            pass

    n_macro = steps // 4
    source = Source("source", ComponentConfig(type="bench_source"))
    target = FmuComponent("bench", FmuConfig(fmu=fmu))
    orch = Orchestrator([source, target], [Edge("source", f"s{i}", "bench", f"u{i}") for i in range(10)],
                        start_s=0.0, stop_s=n_macro * h, step_s=h)
    start = time.perf_counter()
    orch.run()
    t_orch = (time.perf_counter() - start) / n_macro
    print("FMU cs2_bench (FMI 2.0 CS, 10 inputs, 10 outputs), per step:")
    print(f"  bare fmi2DoStep via ctypes        {t_bare * 1e6:7.2f} us")
    print(f"  fmu component do_step             {t_comp * 1e6:7.2f} us   (+{(t_comp - t_bare) * 1e6:.2f} us; target <= 10)")
    print(f"  orchestrated macro step (10 edges, 2 components) {t_orch * 1e6:7.2f} us")


def flagship(tmp: Path) -> None:
    import xarray as xr

    from cosim.fmu.vehicle_fmu import build_vehicle_fmus
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    build_vehicle_fmus(ROOT / "fmus" / "build")
    runs = {}
    for label, name in (("native vehicle", "flagship_bev_wltc3b.toml"),
                        ("vehicle FMU (FMI 2.0)", "flagship_bev_wltc3b_vehicle_fmu.toml")):
        loaded = load_scenario(ROOT / "scenarios" / name)
        start = time.perf_counter()
        outcome = run_scenario(loaded, output=tmp / name.replace(".toml", ".nc"), overwrite=True)
        wall = time.perf_counter() - start
        span = loaded.scenario.simulation.stop_time_s - loaded.scenario.simulation.start_time_s
        runs[label] = outcome.path
        print(f"flagship, {label}: {wall:6.1f} s wall for {span:g} s simulated ({span / wall:5.1f}x real time)")
    a, b = (xr.open_dataset(p) for p in runs.values())
    with a, b:
        p0, p1 = a["vehicle.battery_power_W"].values, b["vehicle.battery_power_W"].values
        v0, v1 = a["pack.voltage_V"].values, b["pack.voltage_V"].values
        rms = np.sqrt(np.mean((p1 - p0) ** 2)) / np.sqrt(np.mean(p0**2))
        print(f"  battery power: {rms * 100:.2e} % RMS apart; pack voltage {np.sqrt(np.mean((v1 - v0) ** 2)) * 1e3:.2e} mV RMS")


def model_exchange(tmp: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from fmu_fixtures import build_test_fmus
    from me_references import CASES, run_cosim, run_fmpy, scaled_error

    fmus = build_test_fmus(tmp / "fixtures")
    warm = CASES["van der Pol"]
    run_cosim(fmus[warm.fmu], warm), run_fmpy(fmus[warm.fmu], warm)  # imports, first calls

    def timed(fn):
        best, y = np.inf, None
        for _ in range(5):
            start = time.perf_counter()
            y = fn()
            best = min(best, time.perf_counter() - start)
        return best, y

    print("model exchange vs fmpy.simulate_fmu (CVode, its defaults); 500 communication steps")
    print(f"  {'model':<14} {'solver':<8} {'ours ms':>8} {'fmpy ms':>8} {'ratio':>6} {'our error':>10} {'fmpy error':>10}")
    for name, case in CASES.items():
        ref = case.reference(case.grid)
        t_fmpy, y_fmpy = timed(lambda: run_fmpy(fmus[case.fmu], case))
        e_fmpy = scaled_error(y_fmpy, ref)
        for solver in ("auto", "cvode_adams", "lsoda", "rk45", "dop853", "bdf"):
            if name == "Robertson" and solver in ("rk45", "dop853", "cvode_adams"):
                continue  # explicit methods on a stiff model: seconds, not informative
            t_ours, y = timed(lambda: run_cosim(fmus[case.fmu], case, solver=solver))
            print(f"  {name:<14} {solver:<8} {t_ours * 1e3:8.1f} {t_fmpy * 1e3:8.1f} {t_ours / t_fmpy:6.2f} "
                  f"{scaled_error(y, ref):10.2e} {e_fmpy:10.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--skip-flagship", action="store_true")
    parser.add_argument("--me-only", action="store_true", help="only the model-exchange comparison")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model_exchange(Path(tmp))
        if args.me_only:
            return 0
        component_overhead(Path(tmp), args.steps)
        if not args.skip_flagship:
            flagship(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
