"""``cosim sweep``: the command's logic (the parser lives in :mod:`cosim.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class VaryAction(argparse.Action):
    """``--vary`` and ``--with`` append ``(option, text)`` to one list, in command-line order
    (a ``--with`` follows the ``--vary`` before it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((option_string.lstrip("-"), values))
        setattr(namespace, self.dest, items)


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``cosim sweep``."""
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--vary", action=VaryAction, metavar="KEY=V1,V2,...", help="a dotted scenario key and its values "
                   "(repeat for more dimensions), e.g. components.thermal.coolant_temperature_K=263.15,298.15")
    p.add_argument("--with", action=VaryAction, dest="vary", metavar="KEY=W1,W2,...",
                   help="a key that changes with the --vary before it (one value per value)")
    p.add_argument("--zip", action="store_true", help="the i-th values of every --vary together, not a grid")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--workers", type=int, metavar="N", help="parallel runs (default: the number of cores)")
    how.add_argument("--dask", nargs="?", const=True, metavar="ADDRESS",
                     help="run on Dask: a LocalCluster, or the scheduler at ADDRESS (give it after the scenario)")
    p.add_argument("--batch", type=int, metavar="N", help="runs per task (default: about 4 tasks per worker)")
    p.add_argument("-o", "--output", type=Path, metavar="DIR", help="output folder (default results/<scenario>-sweep)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs that failed before")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def default_out_dir(scenario: Path) -> Path:
    return Path("results") / f"{scenario.stem}-sweep"


def sweep_command(args: argparse.Namespace) -> int:
    from .execute import run_sweep
    from .grid import parse_vary, plan_sweep

    dims = parse_vary(args.vary or [])
    plan = plan_sweep(args.scenario, dims or None, True if args.zip else None)
    out = args.output or default_out_dir(args.scenario)
    workers = args.workers
    if not args.quiet:
        how = f"Dask ({args.dask})" if isinstance(args.dask, str) else "a Dask LocalCluster" if args.dask \
            else "a process pool"
        print(f"cosim sweep: {len(plan.variants)} runs ({' x '.join(map(str, plan.shape))}) validated; "
              f"running on {how} into {out}", file=sys.stderr, flush=True)
    outcome = run_sweep(plan, out, workers=workers, dask=args.dask, batch_size=args.batch,
                        retry_failed=args.retry_failed, quiet=args.quiet)
    failed = [(i, r) for i, r in sorted(outcome.records.items()) if r["status"] == "failed"]
    for i, r in failed:
        first = r["error"].strip().splitlines()[0] if r["error"].strip() else "?"
        print(f"cosim sweep: run {i} failed: {first}", file=sys.stderr)
    print(f"{outcome.count('complete')} complete, {len(failed)} failed of {len(plan.variants)} runs "
          f"({len(outcome.executed)} run now, {len(outcome.skipped)} from before): {outcome.kpi_path}")
    return 0
