"""The exported pack FMU's cost against the in-process pack, and the export's time.

    python benchmarks/fmu_export.py [--scenario scenarios/flagship_bev_wltc3b.toml] [--steps 1800]

1. ``cosim export-fmu`` of the scenario's pack (FMI 3.0, Linux and Windows binaries), timed
   without the cross-check files, then the cross-check files alone (an in-process run of the
   scenario: they record the set points the pack saw);
2. the same set points through three pack implementations, each stepping the pack and its
   thermal network ``--steps`` steps of the scenario's macro step:

   * in-process: the ``pack`` and ``thermal`` components stepped as the orchestrator steps them
     (the pack FMU's C battery in-process with the kernels' threads, see "Threads" in the
     README; the network in Python, SuperLU);
   * the FMU's Linux binary in a C host (``tests/fmus/pack_host/pack_host.c``: dlopen, FMI 2.0
     calls, no Python; it runs two instances side by side, so its time is halved);
   * the FMU through FMPy's ``simulate_fmu`` (a Python master around the same binary);

   and prints µs per cell-step for each and the ratio FMU / in-process (target: at most 1;
   the FMU runs on one thread: ``COSIM_THREADS=1`` compares them core for core).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def in_process(scenario: Path, th_name: str, setpoints: np.ndarray, h: float) -> float:
    """Wall time of the pack and thermal components stepped with the set points."""
    from cosim.components.pack import Pack
    from cosim.components.thermal import Thermal
    from cosim.scenario import load_scenario

    sc = load_scenario(scenario).scenario
    pack, thermal = Pack("pack", sc.components["pack"]), Thermal(th_name, sc.components[th_name])
    key = "power_setpoint_W" if pack.config.control == "power" else "current_setpoint_A"
    pack.initialize(0.0)
    thermal.initialize(0.0)
    t0 = time.perf_counter()
    for k, p in enumerate(setpoints):
        pack.u["layer_temperature_K"] = thermal.y["layer_temperature_K"]
        pack.u[key] = float(p)
        pack.do_step(k * h, h)
        thermal.u["heat_W"] = pack.y["layer_heat_W"]
        thermal.u["stack_end_heat_W"] = pack.y["stack_end_heat_W"]
        thermal.u["interconnect_heat_W"] = pack.y["interconnect_heat_W"]
        thermal.do_step(k * h, h)
    return time.perf_counter() - t0


def c_host(fmu: Path, in_csv: Path, tmp: Path) -> float:
    """Wall time of one instance in the C host (it steps two side by side)."""
    from cosim.fmu.build import fmi_header_dir

    host = tmp / "pack_host"
    subprocess.run([shutil.which("gcc") or "gcc", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-O2",
                    f"-I{fmi_header_dir()}", str(REPO / "tests" / "fmus" / "pack_host" / "pack_host.c"), "-o",
                    str(host), "-ldl"], check=True)
    unpacked = tmp / "fmu2"
    with zipfile.ZipFile(fmu) as z:
        z.extractall(unpacked)
        import re

        guid = re.search(r'guid="([^"]+)"', z.read("modelDescription.xml").decode()).group(1)
    t0 = time.perf_counter()
    subprocess.run([str(host), str(unpacked / "binaries" / "linux64" / "cosim_pack.so"),
                    (unpacked / "resources").as_uri(), guid, str(in_csv), str(tmp / "out"), "10"], check=True)
    return (time.perf_counter() - t0) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "flagship_bev_wltc3b.toml")
    parser.add_argument("--steps", type=int, default=1800)
    args = parser.parse_args()
    from cosim.fmu.pack_fmu import export_pack_fmu, write_cross_check_bundle
    from cosim.pack.export_data import export_pack
    from cosim.scenario import load_scenario

    loaded = load_scenario(args.scenario)
    meta = export_pack(loaded)
    n_cells = meta.n_strings * meta.n_stacks * meta.n_layers
    with tempfile.TemporaryDirectory(prefix="cosim-bench-export-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        export_pack_fmu(loaded, tmp / "pack3.fmu", fmi_version=3, bundle=False)
        t_export = time.perf_counter() - t0
        t0 = time.perf_counter()
        bundle = write_cross_check_bundle(loaded, "pack", meta, tmp / "pack3.fmu")
        t_bundle = time.perf_counter() - t0
        fmu2 = export_pack_fmu(loaded, tmp / "pack2.fmu", fmi_version=2, platforms=("linux64",), bundle=False).fmu
        with open(bundle["in"], newline="") as f:
            rows = list(csv.reader(f))[1:]
        rows = rows[: args.steps + 1]
        in_csv = tmp / "in.csv"
        with open(in_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time", "u1", "u2", "u3", "u4"])
            w.writerows(rows)
        setpoints = np.array([float(r[1]) for r in rows[:-1]])
        h, n = meta.step_s, setpoints.size
        print(f"{args.scenario.name}: {n_cells} unit cells, {n} steps of {h:g} s")
        print(f"export (FMI 3.0, linux64 + win64): {t_export:.2f} s; cross-check files (an in-process run): "
              f"{t_bundle:.2f} s")
        in_process(args.scenario, meta.thermal_component, setpoints[:5], h)  # the first call compiles / loads what it needs
        t_py = in_process(args.scenario, meta.thermal_component, setpoints, h)
        t_c = c_host(fmu2, in_csv, tmp)
        from fmpy import simulate_fmu

        with open(bundle["in"], newline="") as f:
            names = next(csv.reader(f))
        signals = np.array([tuple(map(float, r)) for r in rows], dtype=[(name, float) for name in names])
        t0 = time.perf_counter()
        simulate_fmu(str(tmp / "pack3.fmu"), stop_time=n * h, output_interval=h, input=signals, output=["voltage_V"])
        t_fmpy = time.perf_counter() - t0
        per = 1e6 / (n * n_cells)
        print(f"{'':28s} {'wall s':>8s} {'µs/cell-step':>13s} {'x real time':>12s}")
        for label, t in (("in-process (pack component)", t_py), ("FMU in a C host", t_c), ("FMU via FMPy", t_fmpy)):
            print(f"{label:28s} {t:8.2f} {t * per:13.2f} {n * h / t:12.0f}")
        print(f"FMU (C host) / in-process: {t_c / t_py:.2f} (target <= 1)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
