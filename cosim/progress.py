"""What a run tells its user while it goes (stderr; nothing with ``-q``).

1. On a terminal: a progress bar (tqdm) with simulated time, rate and ETA.
2. Elsewhere (a log file, CI, nohup): one line every :data:`LOG_EVERY_S` s of wall time and
   at the end, ``cosim: NAME: t = 540 s of 1800 s (30 %), 152x real time, about 8 s left``,
   so that a log shows that a run lives and how fast it goes.
3. When a run compiles the C cell kernels (the first run after an install or an update of
   ``fmus/pack/src``: :func:`cosim.pack.c_kernel.build` finds no library for the sources in
   its cache), one line says so before the wait: a few seconds, once.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

#: seconds of wall time between two progress lines in a log
LOG_EVERY_S = 30.0

#: the line :func:`compile_notice` prints (:data:`cosim.pack.c_kernel.BUILD_NOTE`)
COMPILE_NOTE = "cosim: compiling the C cell kernels with gcc (once per install, a few seconds) ..."


class Progress:
    """``progress(t)`` for :meth:`cosim.orchestrator.Orchestrator.run` and its end."""

    def __init__(self, name: str, start_s: float, stop_s: float, stream=None):
        self.name, self.start_s, self.stop_s = name, start_s, stop_s
        self.stream = stream if stream is not None else sys.stderr
        self._wall0 = self._last_line = time.monotonic()
        self._t = self._t0 = start_s  # the rate counts from the first step's end (after any compile)
        self._started = False
        self._bar = None
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=stop_s - start_s, unit="s", unit_scale=True, desc=name, leave=False,
                             file=self.stream)

    def __call__(self, t: float) -> None:
        if not self._started:  # initialization (a first compile, FMU set-up) is not the rate
            self._started = True
            self._wall0 = self._last_line = time.monotonic()
            self._t0 = t
        if self._bar is not None:
            self._bar.update(t - self._t)
        elif time.monotonic() - self._last_line >= LOG_EVERY_S:
            self._line(t)
        self._t = t

    def line(self, t: float, final: bool = False) -> str:
        """The log line at simulated time ``t`` (``final``: the run has ended there)."""
        wall = max(time.monotonic() - self._wall0, 1e-9)
        span = self.stop_s - self.start_s
        text = f"cosim: {self.name}: t = {t:g} s of {self.stop_s:g} s ({100 * (t - self.start_s) / span:.0f} %)"
        done = t - self._t0
        if done > 0:
            rate = done / wall
            text += f", {rate:.0f}x real time" if rate >= 10 else f", {rate:.2g}x real time"
            if not final and t < self.stop_s:
                text += f", about {(self.stop_s - t) / rate:.0f} s left"
        return text

    def _line(self, t: float, final: bool = False) -> None:
        print(self.line(t, final), file=self.stream, flush=True)
        self._last_line = time.monotonic()

    def close(self, t: float) -> None:
        """The end of the run (any end): the bar goes; a log gets its last line."""
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(t, final=True)


@contextmanager
def compile_notice(stream=None):
    """While active, the first build of the C cell kernels prints :data:`COMPILE_NOTE`
    (once; nothing when the library is in its cache)."""
    from .pack.c_kernel import on_build

    stream = stream if stream is not None else sys.stderr
    said = False

    def notice() -> None:
        nonlocal said
        if not said:
            said = True
            print(COMPILE_NOTE, file=stream, flush=True)

    with on_build(notice):
        yield
