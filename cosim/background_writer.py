"""A writer thread with a bounded queue: jobs (callables) run one after another, in the order
given, off the thread that submits them (:class:`cosim.recorder.Recorder` compresses and
writes its blocks of records there while the run steps on; netCDF4 releases the GIL while
HDF5 compresses and writes).

The queue holds at most ``depth`` jobs: a producer faster than the disk waits in
:meth:`BackgroundWriter.submit` rather than piling up memory. The first job that raises
stops the writing: later jobs are skipped (they would write after a gap), and the error is
raised in the submitting thread by the next :meth:`~BackgroundWriter.submit` or
:meth:`~BackgroundWriter.drain` (once). :meth:`~BackgroundWriter.drain` waits until every job
submitted has run; a Ctrl-C (KeyboardInterrupt) while it waits does not abandon the jobs: it
waits on and raises the interrupt afterwards, so nothing submitted is lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["BackgroundWriter"]

_STOP = object()


class BackgroundWriter:
    """One daemon thread running submitted jobs in order; see the module docstring."""

    def __init__(self, name: str = "cosim-writer", depth: int = 2):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def error(self) -> BaseException | None:
        """The error of the job that raised, if one did (the later ones were skipped)."""
        return self._error

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job`` (waits while the queue is full); raises a job's earlier error first
        (then ``job`` is not queued)."""
        self._raise_error()
        if not self._thread.is_alive():
            raise RuntimeError("the background writer is closed")
        self._queue.put(job)

    def drain(self) -> None:
        """Wait until every submitted job has run; then raise a job's error not raised yet."""
        interrupted: BaseException | None = None
        while True:
            try:
                self._queue.join()
                break
            except KeyboardInterrupt as exc:  # the jobs still finish: nothing submitted is lost
                interrupted = exc
        if interrupted is not None:
            raise interrupted
        self._raise_error()

    def close(self) -> None:
        """Run what is queued, then end the thread (errors stay for :meth:`drain`)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._error = exc
            finally:
                self._queue.task_done()
