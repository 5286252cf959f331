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
