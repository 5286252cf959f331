"""Every scenario the README names, run to its end: wall time and real-time factor.

    python benchmarks/scenarios.py [--skip-range] [NAME ...]

NAME selects scenarios by a part of their path (e.g. ``thickness``). The scenario with the
vehicle FMU runs on FMUs built with gcc into a temporary folder (never ``fmus/build/``).
Results go to a temporary folder too. One run at a time, in this process (the first pays
for loading the compiled kernels); ``python -m pytest -m slow`` runs the same scenarios as
tests (status complete, finite outputs).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def readme_scenarios() -> list[Path]:
    """Every scenario file named in README.md (brace lists expanded)."""
    names = set()
    for m in re.finditer(r"(?:scenarios/)?([\w/{},]+\.toml)", (REPO / "README.md").read_text()):
        name = m.group(1)
        brace = re.search(r"\{([^}]*)\}", name)
        parts = brace.group(1).split(",") if brace else [None]
        names.update(name if p is None else name[:brace.start()] + p + name[brace.end():] for p in parts)
    return sorted(p for p in (SCENARIOS / n for n in names) if p.is_file())


def with_built_fmu(path: Path, tmp: Path) -> Path:
    """A copy of ``path`` that takes the vehicle FMU from a build in ``tmp``."""
    from cosim.fmu.vehicle_fmu import build_vehicle_fmus

    built = build_vehicle_fmus(tmp / "fmus")
    text = re.sub(r'extends = "([^"]+)"', lambda m: f'extends = "{(path.parent / m.group(1)).as_posix()}"',
                  path.read_text())
    text = text.replace('"../fmus/build/vehicle_fmi2.fmu"', f'"{built["vehicle_fmi2.fmu"].as_posix()}"')
    copy = tmp / path.name
    copy.write_text(text)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only scenarios whose path contains one of these")
    parser.add_argument("--skip-range", action="store_true", help="leave out the range test (several minutes)")
    args = parser.parse_args()
    import xarray as xr

    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    paths = readme_scenarios()
    if args.names:
        paths = [p for p in paths if any(n in p.relative_to(SCENARIOS).as_posix() for n in args.names)]
    if args.skip_range:
        paths = [p for p in paths if "range" not in p.name]
    print(f"{'scenario':45s} {'status':10s} {'simulated s':>11s} {'wall s':>8s} {'x real time':>11s}")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k, path in enumerate(paths):
            source = with_built_fmu(path, tmp) if "../fmus/build/" in path.read_text() else path
            loaded = load_scenario(source)
            start = time.perf_counter()
            out = run_scenario(loaded, output=tmp / f"{k}.nc")
            wall = time.perf_counter() - start
            total += wall
            with xr.open_dataset(out.path) as ds:
                span = float(ds["time"][-1]) - float(ds["time"][0])
                reason = ds.attrs.get("status_reason", "")
            print(f"{path.relative_to(SCENARIOS).as_posix():45s} {out.status:10s} {span:11.0f} {wall:8.1f} "
                  f"{span / wall:11.0f}" + (f"  ({reason[:90]})" if reason else ""), flush=True)
    print(f"total wall time {total:.0f} s")


if __name__ == "__main__":
    main()
