"""PyBaMM reference curves for Chen2020 constant-current discharges on refined meshes.

Reproduces the 20-point cases of ``../shared/reference/pybamm-chen2020/`` (DFN, SPMe, SPM;
5 A to 2.5 V; IDAKLU rtol 1e-6, atol 1e-8; isothermal 298.15 K) and solves the same cases
with every mesh dimension (x_n, x_s, x_p, r_n, r_p) scaled by 2, 4, 8 and 16, plus the DFN
and SPMe at 10 A (2C). Writes ``tests/data/pybamm_chen2020_fine/``: one CSV per case
(``time_s, current_A, voltage_V, discharge_capacity_Ah``, every 10 s plus the cut-off point)
and ``manifest.json`` (versions, solver, meshes, states, cut-off, the check against the shared
20-point curves, and voltage/capacity differences between meshes).

PyBaMM is not a dependency of cosim and the test suite never runs this script. Run it with a
separate environment holding the same PyBaMM version as the shared data:

    python3 -m venv ../pybamm-venv && ../pybamm-venv/bin/pip install pybamm==26.10.1.1
    ../pybamm-venv/bin/python benchmarks/pybamm_reference.py [--factors 1,2,4,8,16] [--out DIR]

About 2 minutes on 2 cores; the largest case (DFN, 16x: about 207,000 states) needs about
1.5 GB of memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pybamm

REPO = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO.parent / "shared" / "reference" / "pybamm-chen2020"
OUT_DIR = REPO / "tests" / "data" / "pybamm_chen2020_fine"

BASE_POINTS = 20  # PyBaMM's default points per dimension (the shared data)
MESH_KEYS = ("x_n", "x_s", "x_p", "r_n", "r_p")
RTOL = 1e-6
ATOL = 1e-8
OUTPUT_SPACING_S = 10.0
T_MAX_S = 4000.0  # beyond the 1C cut-off (about 3556 s); the voltage event ends every case first
CUTOFF_V = 2.5
ONE_C_A = 5.0
LAST_MINUTE_S = 60.0

# (model, rate label, current [A]) ; every one solved on every factor requested
CASES = (
    ("DFN", "1C", ONE_C_A),
    ("SPMe", "1C", ONE_C_A),
    ("SPM", "1C", ONE_C_A),
    ("DFN", "2C", 2.0 * ONE_C_A),
    ("SPMe", "2C", 2.0 * ONE_C_A),
)


def case_name(model: str, rate: str, factor: int) -> str:
    return f"{model.lower()}_{rate}_x{factor}"


def solve_case(model_name: str, current_A: float, factor: int, particle_factor: int | None = None) -> dict:
    """One constant-current discharge to the voltage cut-off; the curve on the 10 s grid.

    ``factor`` scales every mesh dimension; ``particle_factor``, if given, the particle ones
    (r_n, r_p) instead, for the study that refines one direction at a time."""
    parameter_values = pybamm.ParameterValues("Chen2020")
    parameter_values["Current function [A]"] = current_A
    parameter_values["Lower voltage cut-off [V]"] = CUTOFF_V
    model = getattr(pybamm.lithium_ion, model_name)()  # default options: isothermal
    var_pts = {key: BASE_POINTS * factor for key in MESH_KEYS}
    if particle_factor is not None:
        var_pts.update(r_n=BASE_POINTS * particle_factor, r_p=BASE_POINTS * particle_factor)
    solver = pybamm.IDAKLUSolver(rtol=RTOL, atol=ATOL)
    simulation = pybamm.Simulation(model, parameter_values=parameter_values, var_pts=var_pts, solver=solver)
    simulation.build()
    start = time.perf_counter()
    # t_eval gives the integration span; t_interp the output grid (the solver's dense output),
    # and the solution ends with the point where the voltage event fired.
    solution = simulation.solve(
        t_eval=[0.0, T_MAX_S], t_interp=np.arange(0.0, T_MAX_S + OUTPUT_SPACING_S, OUTPUT_SPACING_S)
    )
    wall_s = time.perf_counter() - start
    time_s = np.asarray(solution.t)
    current = np.asarray(solution["Current [A]"].entries)
    voltage_V = np.asarray(solution["Voltage [V]"].entries)
    capacity_Ah = np.asarray(solution["Discharge capacity [A.h]"].entries)
    return {
        "model": model_name,
        "current_A_set": current_A,
        "var_pts": var_pts,
        "n_states": int(simulation.built_model.len_rhs_and_alg),
        "termination": str(solution.termination),
        "time_s": time_s,
        "current_A": current,
        "voltage_V": voltage_V,
        "capacity_Ah": capacity_Ah,
        "solve_wall_s": wall_s,
    }


def write_csv(path: Path, result: dict) -> None:
    rows = np.column_stack([result["time_s"], result["current_A"], result["voltage_V"], result["capacity_Ah"]])
    with path.open("w") as handle:
        handle.write("time_s,current_A,voltage_V,discharge_capacity_Ah\n")
        for row in rows:
            handle.write(",".join(f"{value:.10g}" for value in row) + "\n")


def read_csv(path: Path) -> dict[str, np.ndarray]:
    data = np.genfromtxt(path, delimiter=",", names=True)
    return {name: np.asarray(data[name]) for name in data.dtype.names}


def grid_part(time_s: np.ndarray) -> np.ndarray:
    """Indices of the rows on the 10 s grid (every row but the cut-off point, unless it falls on the grid)."""
    on_grid = np.isclose(time_s / OUTPUT_SPACING_S, np.round(time_s / OUTPUT_SPACING_S), rtol=0.0, atol=1e-9)
    return np.flatnonzero(on_grid)


def compare_curves(a: dict, b: dict) -> dict:
    """Voltage differences on the grid times both curves reach, with and without the last minute."""
    ia, ib = grid_part(a["time_s"]), grid_part(b["time_s"])
    ta, tb = a["time_s"][ia], b["time_s"][ib]
    n = min(len(ta), len(tb))
    if not np.allclose(ta[:n], tb[:n], rtol=0.0, atol=1e-9):
        raise AssertionError("output grids differ")
    dv = a["voltage_V"][ia][:n] - b["voltage_V"][ib][:n]
    t_end_a, t_end_b = float(a["time_s"][-1]), float(b["time_s"][-1])
    keep = ta[:n] <= min(t_end_a, t_end_b) - LAST_MINUTE_S
    q_a, q_b = float(a["capacity_Ah"][-1]), float(b["capacity_Ah"][-1])
    return {
        "capacity_difference_Ah": q_a - q_b,
        "capacity_relative_difference": (q_a - q_b) / q_b,
        "cutoff_time_difference_s": t_end_a - t_end_b,
        "voltage_rms_difference_V": float(np.sqrt(np.mean(dv**2))),
        "voltage_max_abs_difference_V": float(np.max(np.abs(dv))),
        "voltage_rms_difference_excl_last_minute_V": float(np.sqrt(np.mean(dv[keep] ** 2))),
        "voltage_max_abs_difference_excl_last_minute_V": float(np.max(np.abs(dv[keep]))),
        "time_of_max_abs_voltage_difference_s": float(ta[int(np.argmax(np.abs(dv)))]),
        "voltage_rms_difference_excl_first_and_last_minute_V": float(
            np.sqrt(np.mean(dv[keep & (ta[:n] >= LAST_MINUTE_S)] ** 2))
        ),
        "n_points_compared": int(n),
    }


def richardson(capacities_Ah: list[float]) -> dict:
    """Observed order and extrapolated limit of the capacity at cut-off from its three finest
    meshes (each twice as fine as the one before): an estimate, not a solve."""
    q_coarse, q_mid, q_fine = capacities_Ah[-3:]
    ratio = (q_coarse - q_mid) / (q_mid - q_fine)
    order = float(np.log2(ratio))
    limit = q_fine - (q_mid - q_fine) / (ratio - 1.0)
    return {
        "observed_order": order,
        "capacity_Ah_extrapolated": float(limit),
        "finest_minus_extrapolated_Ah": float(q_fine - limit),
    }


def check_against_shared(result: dict, shared_csv: Path, shared_case: dict) -> dict:
    """Our 20-point curve against the shared one, row by row (same 10 s grid and cut-off point)."""
    shared = read_csv(shared_csv)
    n = min(len(shared["time_s"]), len(result["time_s"]))
    return {
        "shared_file": str(shared_csv.relative_to(REPO.parent)),
        "rows_here": int(len(result["time_s"])),
        "rows_shared": int(len(shared["time_s"])),
        "max_abs_time_difference_s": float(np.max(np.abs(result["time_s"][:n] - shared["time_s"][:n]))),
        "max_abs_voltage_difference_V": float(np.max(np.abs(result["voltage_V"][:n] - shared["voltage_V"][:n]))),
        "max_abs_capacity_difference_Ah": float(np.max(np.abs(result["capacity_Ah"][:n] - shared["discharge_capacity_Ah"][:n]))),
        "t_end_difference_to_shared_manifest_s": float(result["time_s"][-1]) - shared_case["t_end_s"],
        "capacity_difference_to_shared_manifest_Ah": float(result["capacity_Ah"][-1]) - shared_case["capacity_Ah_final"],
        "n_states_shared": shared_case["n_states"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default="1,2,4,8,16", help="mesh refinement factors (1 = 20 points)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--split-study",
        action="store_true",
        help="also refine the through-cell (x) and particle (r) meshes one at a time (the other at the "
        "finest factor) for the DFN at 1C and 2C and the SPMe at 2C; writes mesh_split.json",
    )
    args = parser.parse_args()
    factors = sorted({int(f) for f in args.factors.split(",")})
    args.out.mkdir(parents=True, exist_ok=True)

    shared_manifest = None
    if (SHARED_DIR / "manifest.json").exists():
        shared_manifest = json.loads((SHARED_DIR / "manifest.json").read_text())

    results: dict[str, dict] = {}
    manifest_cases: dict[str, dict] = {}
    for model_name, rate, current_A in CASES:
        for factor in factors:
            name = case_name(model_name, rate, factor)
            result = solve_case(model_name, current_A, factor)
            results[name] = result
            write_csv(args.out / f"{name}.csv", result)
            entry = {
                "file": f"{name}.csv",
                "model": model_name,
                "options_nondefault": {},
                "current_A": current_A,
                "c_rate": current_A / ONE_C_A,
                "mesh_factor": factor,
                "var_pts": result["var_pts"],
                "n_states": result["n_states"],
                "t_end_s": float(result["time_s"][-1]),
                "termination": result["termination"],
                "V_initial": float(result["voltage_V"][0]),
                "V_final": float(result["voltage_V"][-1]),
                "capacity_Ah_final": float(result["capacity_Ah"][-1]),
                "solve_wall_s_this_run": result["solve_wall_s"],
                "rows": int(len(result["time_s"])),
            }
            shared_key = f"{model_name.lower()}_{rate}"
            if factor == 1 and shared_manifest and shared_key in shared_manifest["cases"]:
                shared_case = shared_manifest["cases"][shared_key]
                entry["check_against_shared"] = check_against_shared(result, SHARED_DIR / shared_case["file"], shared_case)
            manifest_cases[name] = entry
            print(
                f"{name:14s} states {entry['n_states']:7d}  t_end {entry['t_end_s']:.6f} s  "
                f"Q {entry['capacity_Ah_final']:.9f} Ah  V_end {entry['V_final']:.6f}  "
                f"solve {result['solve_wall_s']:.1f} s",
                flush=True,
            )
            if "check_against_shared" in entry:
                check = entry["check_against_shared"]
                print(
                    f"{'':14s} vs shared: max |dV| {check['max_abs_voltage_difference_V']:.2e} V, "
                    f"dt_end {check['t_end_difference_to_shared_manifest_s']:.2e} s, "
                    f"dQ {check['capacity_difference_to_shared_manifest_Ah']:.2e} Ah",
                    flush=True,
                )

    # Convergence: every mesh against the finest and against the next finer one.
    convergence: dict[str, dict] = {}
    finest = factors[-1]
    for model_name, rate, _ in CASES:
        for i, factor in enumerate(factors[:-1]):
            pairs = {f"x{factor}_vs_x{finest}": finest}
            if factors[i + 1] != finest:
                pairs[f"x{factor}_vs_x{factors[i + 1]}"] = factors[i + 1]
            for label, other in pairs.items():
                a = results[case_name(model_name, rate, factor)]
                b = results[case_name(model_name, rate, other)]
                convergence[f"{model_name.lower()}_{rate}_{label}"] = compare_curves(a, b)

    extrapolated = {}
    if len(factors) >= 3 and all(b == 2 * a for a, b in zip(factors[-3:], factors[-2:])):
        for model_name, rate, _ in CASES:
            q = [float(results[case_name(model_name, rate, f)]["capacity_Ah"][-1]) for f in factors]
            extrapolated[f"{model_name.lower()}_{rate}"] = richardson(q)

    manifest = {
        "pybamm_version": pybamm.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "solver": {"class": "IDAKLUSolver", "rtol": RTOL, "atol": ATOL},
        "parameter_set": "Chen2020 (LG M50 21700, 5 Ah): PyBaMM ParameterValues('Chen2020'), only the current set",
        "temperature": "isothermal at 298.15 K (models' default options)",
        "initial_state": "Chen2020 default initial concentrations",
        "termination": f"lower voltage cut-off {CUTOFF_V} V (event)",
        "output_spacing": f"{OUTPUT_SPACING_S} s (solver dense output) plus the final (cut-off) point",
        "current_sign": "positive = discharge",
        "mesh": f"var_pts = {BASE_POINTS} x mesh_factor in each of {', '.join(MESH_KEYS)}; default submeshes (uniform)",
        "command": "python benchmarks/pybamm_reference.py " + " ".join(sys.argv[1:]),
        "cases": manifest_cases,
        "convergence": {
            "note": (
                "a - b for the pair named: capacity and time at cut-off; voltage on the 10 s grid points both "
                f"curves reach, all of them and without those later than {LAST_MINUTE_S:.0f} s before the earlier cut-off"
            ),
            "pairs": convergence,
            "capacity_richardson_estimate": extrapolated,
        },
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    if args.split_study:
        split: dict[str, dict] = {}
        for model_name, rate, current_A in CASES:
            if (model_name, rate) not in {("DFN", "1C"), ("DFN", "2C"), ("SPMe", "2C")}:
                continue
            reference = results[case_name(model_name, rate, finest)]
            for factor in factors[:-1]:
                for label, x_factor, r_factor in (
                    (f"x_mesh_x{factor}", factor, finest),
                    (f"r_mesh_x{factor}", finest, factor),
                ):
                    result = solve_case(model_name, current_A, x_factor, particle_factor=r_factor)
                    key = f"{model_name.lower()}_{rate}_{label}_vs_x{finest}"
                    split[key] = {"var_pts": result["var_pts"], **compare_curves(result, reference)}
                    c = split[key]
                    print(
                        f"{key:28s} dQ {c['capacity_difference_Ah']:+.3e} Ah  V rms {c['voltage_rms_difference_V'] * 1e3:.4f} "
                        f"mV (excl. first/last min {c['voltage_rms_difference_excl_first_and_last_minute_V'] * 1e3:.4f}), "
                        f"max {c['voltage_max_abs_difference_V'] * 1e3:.4f} mV at {c['time_of_max_abs_voltage_difference_s']:.0f} s",
                        flush=True,
                    )
        study = {
            "note": (
                f"one mesh direction coarsened at a time, the other at x{finest}; differences (a - b) to the "
                f"x{finest} case on every dimension, same measures as manifest.json's convergence pairs"
            ),
            "pairs": split,
        }
        (args.out / "mesh_split.json").write_text(json.dumps(study, indent=1) + "\n")

    print("\nconvergence (a - b):")
    for label, c in convergence.items():
        print(
            f"{label:26s} dQ {c['capacity_difference_Ah']:+.3e} Ah ({c['capacity_relative_difference']:+.2e})  "
            f"V rms/max {c['voltage_rms_difference_excl_last_minute_V'] * 1e3:.4f}/"
            f"{c['voltage_max_abs_difference_excl_last_minute_V'] * 1e3:.4f} mV excl. last min, "
            f"{c['voltage_rms_difference_V'] * 1e3:.4f}/{c['voltage_max_abs_difference_V'] * 1e3:.4f} mV all"
        )
    for label, e in extrapolated.items():
        print(
            f"{label:10s} capacity: observed order {e['observed_order']:.2f}, extrapolated "
            f"{e['capacity_Ah_extrapolated']:.9f} Ah (finest - limit {e['finest_minus_extrapolated_Ah']:+.2e} Ah)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
