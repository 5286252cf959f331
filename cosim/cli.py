"""The ``cosim`` command line: run, sweep, plot, validate, schema, info, build-fmus, export-fmu.

Imports of numpy, xarray, netCDF4 and the models happen inside the commands, so that
``cosim --help`` answers at once. Errors print as ``cosim: error: ...`` and exit non-zero;
``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _cmd_run(args: argparse.Namespace) -> int:
    from .provenance import prefetch_source_commit

    prefetch_source_commit()  # git runs while the rest is imported
    from .run import run_scenario
    from .scenario import load_scenario

    loaded = load_scenario(args.scenario)
    outcome = run_scenario(
        loaded,
        output=args.output,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    if not args.quiet:
        print(f"{outcome.status}: {outcome.n_records} records written to {outcome.path}")
    else:
        print(outcome.path)
    if args.plot:
        from .plot import plot_file

        print(plot_file(outcome.path))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep.command import sweep_command

    return sweep_command(args)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_file

    print(plot_file(args.path, args.output))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .errors import CosimError
    from .run import check_runnable
    from .scenario import load_scenario

    failed = 0
    for path in args.files:
        try:  # the file, then everything a run checks before its first step
            loaded = load_scenario(path)
            check_runnable(loaded)
            if loaded.scenario.sweep is not None:  # and every variant of its [sweep]
                from .sweep.grid import plan_sweep

                plan_sweep(path)
        except CosimError as exc:
            failed += 1
            print(f"{path}: {exc}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: reported, and the next file is checked
            failed += 1
            print(f"{path}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    return EXIT_ERROR if failed else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from .scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .errors import CosimError

    path = Path(args.path)
    if not path.is_file():
        raise CosimError(f"{path}: no such file")
    if path.suffix in (".nc", ".nc4", ".netcdf"):
        from .result_summary import summarize

        print(summarize(path))
        return 0
    if path.suffix == ".fmu":
        if args.scenario:
            from .fmu.scenario_writer import scenario_for_fmu

            text = scenario_for_fmu(path, args.output)
            if args.output is None:
                sys.stdout.write(text)
            else:
                Path(args.output).write_text(text)
                print(args.output)
            return 0
        from .fmu.info import describe_fmu

        print(describe_fmu(path))
        return 0
    if args.scenario or args.output is not None:
        raise CosimError(f"{path}: --scenario and --output are for FMUs")
    raise CosimError(f"{path}: cosim info reads result datasets (.nc) and FMUs (.fmu)")


def _cmd_build_fmus(args: argparse.Namespace) -> int:
    from .errors import CosimError
    from .fmu.vehicle_fmu import build_vehicle_fmus

    try:
        built = build_vehicle_fmus(args.out, vehicle=args.vehicle, cycle=args.cycle)
    except ValueError as exc:
        raise CosimError(str(exc)) from None
    for path in built.values():
        print(path)
    return 0


def _cmd_export_fmu(args: argparse.Namespace) -> int:
    from .fmu.pack_fmu import export_pack_fmu

    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
    done = export_pack_fmu(args.scenario, args.output, component=args.component, fmi_version=args.fmi,
                           platforms=platforms, bundle=not args.no_bundle)
    print(done.fmu)
    for path in done.bundle.values():
        print(path)
    return 0


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="cosim",
        description="Thermal-electrical co-simulation of bipolar Li-ion battery packs in vehicles.",
    )
    parser.add_argument("--version", action="version", version=f"cosim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario and write its dataset",
                       description="Run a scenario file; the dataset goes to results/ unless --output says otherwise.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("-o", "--output", type=Path, help="result file (.nc); default results/<scenario>-<time>.nc")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; print only the result path")
    p.add_argument("--plot", action="store_true", help="also write a quick-look figure next to the result (.png)")
    p.set_defaults(func=_cmd_run)

    from .sweep.command import add_sweep_arguments  # (argparse only)

    p = sub.add_parser("sweep", help="run many variants of a scenario in parallel; KPIs in one dataset",
                       description="Run every variant of a scenario (a grid over --vary keys, or its [sweep] table) "
                       "on a process pool or a Dask cluster; one result per run, kpi.nc and manifest.json in the "
                       "output folder. Running the same sweep again runs only what is not complete.")
    add_sweep_arguments(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("plot", help="quick-look figure of a result or of a sweep's kpi.nc (PNG)",
                       description="Draw a result dataset (speed, power, voltage, SOC, layer temperatures) or a "
                       "sweep's kpi.nc (each KPI against the varied keys) into a PNG.")
    p.add_argument("path", type=Path, help="result file (.nc) or kpi.nc")
    p.add_argument("-o", "--output", type=Path, help="figure file (default: beside the dataset, .png)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("validate", help="check scenario files and report every problem",
                       description="Check scenario files; every problem is listed with its key path and line.")
    p.add_argument("files", nargs="+", type=Path, help="scenario files (TOML)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files",
                       description="Print the JSON Schema of scenario files (for editor completion).")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("info", help="summarize a result dataset or an FMU",
                       description="Summarize a result dataset (status, time span, variables with units, "
                       "provenance) or an FMU (ports, units, parameters, a scenario table to paste); "
                       "`cosim info X.fmu --scenario -o x.toml` writes a scenario that runs the FMU as written.")
    p.add_argument("path", type=Path, help="result file (.nc) or FMU (.fmu)")
    p.add_argument("--scenario", action="store_true",
                   help="FMU: write a complete scenario that runs it (DefaultExperiment, interface, parameters, "
                   "input sources)")
    p.add_argument("-o", "--output", type=Path, help="with --scenario: the scenario file to write (paths in it are "
                   "relative to its folder); default: print it")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("build-fmus", help="build our reference vehicle FMUs (FMI 2.0 and 3.0) with gcc",
                       description="Build vehicle_fmi2.fmu and vehicle_fmi3.fmu (co-simulation) from the C sources in "
                       "fmus/vehicle/: the native vehicle component's equations for one vehicle file and drive cycle.")
    p.add_argument("--out", type=Path, default=Path("fmus/build"), metavar="DIR",
                   help="folder for the FMUs (default: fmus/build)")
    p.add_argument("--vehicle", default="nissan_leaf_2016",
                   help="shipped battery-electric vehicle or vehicle TOML file (default: nissan_leaf_2016)")
    p.add_argument("--cycle", default="WLTC3b", help="shipped drive cycle or cycle CSV file (default: WLTC3b)")
    p.set_defaults(func=_cmd_build_fmus)

    p = sub.add_parser("export-fmu", help="export a scenario's pack as a standalone co-simulation FMU (C, no Python)",
                       description="Export the scenario's assembled battery (and the thermal network coupled to it) "
                       "as a co-simulation FMU compiled from C for Linux and Windows x86-64, with the FMI "
                       "Cross-Check files (<name>_in.csv, _ref.csv, _ref.opt) from an in-process run next to it.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--component", default="pack", help="the pack component to export (default: pack)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the FMU to write (.fmu)")
    p.add_argument("--fmi", type=int, choices=(2, 3), default=3, help="FMI version (default: 3)")
    p.add_argument("--platforms", default="linux64,win64",
                   help="comma-separated: linux64, win64 (mingw-w64) (default: linux64,win64)")
    p.add_argument("--no-bundle", action="store_true", help="skip the cross-check files (no in-process run)")
    p.set_defaults(func=_cmd_export_fmu)
    return parser


def main(argv: list[str] | None = None) -> int:
    # let `cosim info` read a dataset that a running `cosim run` is still writing (HDF5
    # locks files open for writing); must be set before netCDF4 is first imported
    os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
    args = make_parser().parse_args(argv)
    import logging

    # FMU log messages (cosim.fmu.<component>.<category>) and other warnings, one line each
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(levelname)s: %(message)s")
    from .errors import CosimError, RunInterrupted

    try:
        return args.func(args)
    except RunInterrupted as exc:
        if args.debug:
            raise
        print(f"cosim: interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("cosim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CosimError as exc:
        if args.debug:
            raise
        print(f"cosim: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into a reader that stopped early (`cosim info X | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for the user, traceback with --debug
        if args.debug:
            raise
        print(f"cosim: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
