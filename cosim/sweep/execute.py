"""Running a sweep: executors, batches, the manifest, resume, progress, interrupts.

The runs go through a standard :class:`concurrent.futures.Executor`: a local process pool by
default, a Dask distributed cluster (``dask=True``: a LocalCluster; ``dask="tcp://..."``: a
scheduler) or any executor passed in. Everything lands in one folder::

    OUT/manifest.json   every run: index, values, scenario hash, file, status, error, KPIs
    OUT/runs/NNNN-HASH.nc   one result per run (HASH: the first 8 hex digits of the scenario hash)
    OUT/kpi.nc          the KPIs, one dimension per varied key (cosim.sweep.kpi)

Contract of an executor (what :func:`run_sweep` needs from one passed as ``executor``):

1. ``submit(fn, *args)`` returns a :class:`concurrent.futures.Future`; ``fn`` and its
   arguments are module-level functions and plain data (picklable);
2. the caller owns it: :func:`run_sweep` neither shuts it down nor kills its workers;
3. a task runs :func:`run_batch` (the cell kernels run serially in C: a worker is one core);
4. runs in threads of one process take turns (a lock: netCDF/HDF5 is not thread-safe), so a
   Dask worker with several threads is safe but runs one run at a time: give Dask workers
   one thread each (``dask worker --nthreads 1``; the LocalCluster of ``--dask`` does).

Resume: a run whose scenario hash has a complete record in the manifest and a complete file
is not run again; nor is a failed one (unless ``retry_failed``); a file left complete by a
sweep that stopped before it could write the manifest is taken as it is. Everything else
(interrupted, missing) runs, its stale file replaced.

Interrupts: Ctrl-C (SIGINT) or SIGTERM in the sweep's process stops it: no new run starts,
the pool's workers are sent SIGTERM so that their running runs stop before their next macro
step and close their files as incomplete, and the manifest and ``kpi.nc`` are written with
every run that completed. A second Ctrl-C kills the workers at once.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, wait, FIRST_COMPLETED
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CosimError, RunInterrupted

__all__ = ["SweepOutcome", "run_batch", "run_sweep"]

MANIFEST = "manifest.json"
KPI_FILE = "kpi.nc"
RUNS = "runs"
_STOPPING = False  # in a worker: a SIGTERM arrived; no further run starts
_KEPT = ("hash", "file", "status", "error", "kpis", "wall_s")  # a record's keys
_RUN_LOCK = threading.Lock()  # one run at a time per process (netCDF/HDF5 is not thread-safe)


# -- in the worker --------------------------------------------------------------------------------

def _on_sigterm(signum, frame) -> None:
    global _STOPPING
    _STOPPING = True


def init_worker(serial_cells: bool = True) -> None:
    """Initializer of the process pool's workers: Ctrl-C is the sweep's business (its
    process stops the workers), SIGTERM stops the worker's runs gracefully (cosim.run closes
    the file as incomplete); with ``serial_cells`` (the workers already take the cores) the
    cell kernels of a run use one thread unless ``COSIM_THREADS`` says otherwise."""
    from ..pack.c_kernel import THREADS_ENV

    if serial_cells:
        os.environ.setdefault(THREADS_ENV, "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _run_one(scenario: str, index: int, values: Mapping[str, Any], scenario_hash: str, path: str) -> dict:
    record = {"index": index, "hash": scenario_hash, "status": "interrupted", "error": "", "kpis": {},
              "wall_s": 0.0}
    if _STOPPING:
        record["error"] = "not started: the sweep was stopped"
        return record
    with _RUN_LOCK:
        return _run_locked(scenario, record, values, scenario_hash, path)


def _run_locked(scenario: str, record: dict, values: Mapping[str, Any], scenario_hash: str, path: str) -> dict:
    from ..run import run_scenario
    from .grid import load_variant, scenario_hash as hash_of
    from .kpi import kpis_from_file

    global _STOPPING
    t0 = time.perf_counter()
    try:
        loaded = load_variant(scenario, values)
        if hash_of(loaded) != scenario_hash:
            raise CosimError(f"{scenario} (or a file it reads) changed since the sweep was planned; run the sweep again")
        Path(path).unlink(missing_ok=True)  # a stale file of an interrupted run
        run_scenario(loaded, output=Path(path), quiet=True)
        record["status"] = "complete"
        record["kpis"] = kpis_from_file(path)
    except RunInterrupted as exc:
        _STOPPING = True
        record["error"] = str(exc)
    except CosimError as exc:
        record.update(status="failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug of ours: recorded, the other runs go on
        record.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}")
    record["wall_s"] = time.perf_counter() - t0
    return record


def run_batch(scenario: str, items: Sequence[tuple[int, Mapping[str, Any], str, str]]) -> list[dict]:
    """Run a batch of variants ``(index, values, scenario hash, result path)`` one after the
    other in this worker; one record per variant (status complete/failed/interrupted)."""
    return [_run_one(scenario, *item) for item in items]


# -- in the sweep's process -------------------------------------------------------------------------

@dataclass
class SweepOutcome:
    out_dir: Path
    kpi_path: Path
    manifest_path: Path
    records: dict[int, dict]
    executed: list[int] = field(default_factory=list)  # indices run by this call
    skipped: list[int] = field(default_factory=list)  # indices taken from an earlier call
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.records.values() if r.get("status") == status)


def _file_status(path: Path) -> tuple[str, str]:
    """``(status, scenario hash)`` of a result file; ``("", "")`` if it cannot be read."""
    import hashlib

    try:
        import netCDF4

        with netCDF4.Dataset(path) as ds:
            status = str(ds.getncattr("status")) if "status" in ds.ncattrs() else ""
            resolved = str(ds.getncattr("scenario_resolved")) if "scenario_resolved" in ds.ncattrs() else ""
    except Exception:  # noqa: BLE001 - unreadable (a run killed while writing): not complete
        return "", ""
    return status, hashlib.sha256(resolved.encode()).hexdigest()


def _read_manifest(path: Path) -> dict[str, dict]:
    """Records of an earlier sweep in this folder by scenario hash (empty if none)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CosimError(f"{path}: cannot read the manifest of the earlier sweep ({exc}); move it away to start anew")
    runs = [*data.get("runs", []), *data.get("earlier_runs", [])]
    return {r["hash"]: r for r in runs if isinstance(r, dict) and "hash" in r}


def _write_manifest(path: Path, plan, records: Mapping[int, dict], earlier: Sequence[dict]) -> None:
    data = {
        "scenario": str(plan.scenario),
        "zip": plan.zip,
        "shape": list(plan.shape),
        "dimensions": [{"key": d.key, "values": list(d.values), "with": {k: list(v) for k, v in d.follow.items()}}
                       for d in plan.dimensions],
        "counts": {s: sum(1 for r in records.values() if r.get("status") == s)
                   for s in ("complete", "failed", "interrupted", "pending")},
        "runs": [{**records[v.index], "index": v.index, "position": list(v.position), "values": dict(v.values)}
                 for v in plan.variants],
        "earlier_runs": list(earlier),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def _write_kpis(out_dir: Path, plan, records: Mapping[int, dict]) -> Path:
    from .kpi import kpi_dataset

    path = out_dir / KPI_FILE
    tmp = out_dir / f".{KPI_FILE}.{os.getpid()}.tmp"
    kpi_dataset(plan, records).to_netcdf(tmp)
    os.replace(tmp, path)
    return path


def _batches(items: list, workers: int, batch_size: int | None) -> list[list]:
    """Batches of about ``batch_size`` runs; by default each worker gets about four batches
    (so the work stays balanced) of at most 16 runs (so progress stays visible)."""
    if batch_size is None:
        batch_size = max(1, min(16, math.ceil(len(items) / (4 * max(workers, 1)))))
    return [items[i: i + batch_size] for i in range(0, len(items), batch_size)]


class _Progress:
    def __init__(self, total: int, done: int, quiet: bool):
        self.total, self.done, self.failed, self.quiet = total, done, 0, quiet
        self.start_done, self.t0, self.last, self.printed = done, time.monotonic(), 0.0, -1

    def update(self, records: Sequence[dict], force: bool = False) -> None:
        self.done += sum(1 for r in records if r["status"] in ("complete", "failed"))
        self.failed += sum(1 for r in records if r["status"] == "failed")
        now = time.monotonic()
        if self.quiet or self.printed == self.done or not (force or now - self.last >= 2.0 or self.done == self.total):
            return
        self.printed = self.done
        self.last = now
        ran = self.done - self.start_done
        eta = ""
        if 0 < ran and self.done < self.total:
            left = (now - self.t0) / ran * (self.total - self.done)
            eta = f", about {left:.0f} s left" if left < 120 else f", about {left / 60:.1f} min left"
        print(f"cosim sweep: {self.done}/{self.total} runs done, {self.failed} failed{eta}", file=sys.stderr,
              flush=True)


def _make_executor(workers: int, dask: bool | str | None):
    """The executor and a function that releases it: a process pool (forkserver workers with
    cosim imported once), or a Dask client's executor."""
    if dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise CosimError("--dask needs dask distributed: pip install 'cosim[dask]'") from None
        if isinstance(dask, str):
            client = Client(dask)
            cluster = None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)

        def close() -> None:
            client.close()
            if cluster is not None:
                cluster.close()

        return client.get_executor(), close, None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("forkserver")
    # imported once in the fork server (the workers fork from it with the modules loaded)
    ctx.set_forkserver_preload(["cosim.run", "cosim.sweep.execute", "cosim.sweep.kpi", "cosim.cell.spme", "xarray"])
    from ..pack.c_kernel import available_cores

    # one thread per run for the cell kernels when the workers take every core
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                               initargs=(2 * workers > available_cores(),))
    return pool, lambda: pool.shutdown(wait=True, cancel_futures=True), pool


def _stop_pool(pool, hard: bool) -> None:
    for proc in list(getattr(pool, "_processes", {}).values()):
        try:
            if hard:
                proc.kill()
            else:
                os.kill(proc.pid, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


def run_sweep(plan, out_dir: str | Path, *, workers: int | None = None, dask: bool | str | None = None,
              executor: Executor | None = None, batch_size: int | None = None, retry_failed: bool = False,
              quiet: bool = True, on_record: Callable[[dict], None] | None = None) -> SweepOutcome:
    """Run every variant of ``plan`` (see :func:`cosim.sweep.grid.plan_sweep`) not already
    complete in ``out_dir``; write the manifest and ``kpi.nc``. Raises RunInterrupted
    (after writing both) on Ctrl-C or SIGTERM."""
    out_dir = Path(out_dir)
    (out_dir / RUNS).mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST
    previous = _read_manifest(manifest)
    hashes = {v.scenario_hash for v in plan.variants}
    earlier = [r for h, r in previous.items() if h not in hashes]
    records: dict[int, dict] = {}
    todo = []
    outcome = SweepOutcome(out_dir, out_dir / KPI_FILE, manifest, records)
    for v in plan.variants:
        name = f"{RUNS}/{v.index:04d}-{v.scenario_hash[:8]}.nc"
        prev = previous.get(v.scenario_hash)
        if prev is not None and prev.get("status") == "complete" and \
                _file_status(out_dir / prev.get("file", "")) == ("complete", v.scenario_hash):
            records[v.index] = {k: prev[k] for k in _KEPT if k in prev}
            outcome.skipped.append(v.index)
            continue
        if prev is not None and prev.get("status") == "failed" and not retry_failed:
            records[v.index] = {k: prev[k] for k in _KEPT if k in prev}
            outcome.skipped.append(v.index)
            continue
        if _file_status(out_dir / name) == ("complete", v.scenario_hash):  # done, the manifest not written
            from .kpi import kpis_from_file

            records[v.index] = {"hash": v.scenario_hash, "file": name, "status": "complete", "error": "",
                                "kpis": kpis_from_file(out_dir / name), "wall_s": math.nan}
            outcome.skipped.append(v.index)
            continue
        records[v.index] = {"hash": v.scenario_hash, "file": name, "status": "pending", "error": "", "kpis": {}}
        todo.append((v.index, dict(v.values), v.scenario_hash, str((out_dir / name).resolve())))
    _write_manifest(manifest, plan, records, earlier)
    progress = _Progress(len(plan.variants), len(plan.variants) - len(todo), quiet)
    if not quiet and outcome.skipped:
        print(f"cosim sweep: {len(outcome.skipped)} of {len(plan.variants)} runs already done in {out_dir}",
              file=sys.stderr)
    if not workers:
        from ..pack.c_kernel import available_cores

        workers = available_cores()
    workers = max(1, workers)
    release, pool = None, None
    if todo and executor is None:
        executor, release, pool = _make_executor(workers, dask)
    interrupted = False
    previous_term = None
    try:
        if threading_main():
            previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        pending: dict[Future, list] = {}
        for batch in _batches(todo, workers, batch_size):
            pending[executor.submit(run_batch, str(plan.scenario), batch)] = batch
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    _collect(fut, pending.pop(fut), records, outcome, progress, on_record)
                _write_manifest(manifest, plan, records, earlier)
        except KeyboardInterrupt:
            interrupted = True
            for fut in pending:
                fut.cancel()
            if not quiet:
                print("cosim sweep: stopping: the running runs close their files (Ctrl-C again: at once)",
                      file=sys.stderr, flush=True)
            try:
                if pool is not None:
                    _stop_pool(pool, hard=False)
                done, _ = wait([f for f in pending if not f.cancelled()], timeout=60)
                for fut in done:
                    _collect(fut, pending.pop(fut), records, outcome, progress, on_record)
            except KeyboardInterrupt:
                if pool is not None:
                    _stop_pool(pool, hard=True)
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        for rec in records.values():
            if rec["status"] == "pending":
                rec.update(status="interrupted", error="not run: the sweep was stopped")
        _write_manifest(manifest, plan, records, earlier)
        _write_kpis(out_dir, plan, records)
        if release is not None:
            try:
                if interrupted and pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                else:
                    release()
            except Exception:  # noqa: BLE001 - the results are written; a cluster that closes badly is not ours
                pass
    outcome.interrupted = interrupted
    progress.update([], force=True)
    if interrupted:
        raise RunInterrupted(f"sweep stopped: {outcome.count('complete')} of {len(plan.variants)} runs complete "
                             f"in {out_dir} (run the same sweep again to complete the others)")
    return outcome


def threading_main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _collect(fut: Future, batch: list, records: dict, outcome: SweepOutcome, progress: _Progress,
             on_record) -> None:
    try:
        results = fut.result()
    except BaseException as exc:  # noqa: BLE001 - a worker that died: its batch failed, the others go on
        if isinstance(exc, KeyboardInterrupt):
            raise
        results = [{"index": item[0], "hash": item[2], "status": "failed", "kpis": {}, "wall_s": math.nan,
                    "error": f"the worker failed: {type(exc).__name__}: {exc}"} for item in batch]
    for rec in results:
        index = rec.pop("index")
        records[index].update(rec)
        if rec["status"] != "interrupted":
            outcome.executed.append(index)
        if on_record is not None:
            on_record({"index": index, **records[index]})
    progress.update(results)
