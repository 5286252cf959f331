"""Progress output: lines in a log (no terminal), the bar's end, the compile notice."""
from __future__ import annotations

import io
import time

import numba
import numpy as np

from cosim import progress as prog


def test_a_log_gets_a_line_every_interval_and_one_at_the_end(monkeypatch):
    out = io.StringIO()  # not a terminal
    p = prog.Progress("flagship", 0.0, 1800.0, stream=out)
    monkeypatch.setattr(prog, "LOG_EVERY_S", 3600.0)
    time.sleep(0.5)  # initialization (a compile): not counted in the rate
    p(100.0)
    assert out.getvalue() == ""  # the interval has not passed
    monkeypatch.setattr(prog, "LOG_EVERY_S", 0.0)
    time.sleep(0.01)
    p(540.0)
    line = out.getvalue().strip()
    assert line.startswith("cosim: flagship: t = 540 s of 1800 s (30 %), ") and "x real time, about " in line
    rate = float(line.split(", ")[1].split("x")[0])
    assert rate > 3000  # 440 s since the first step, ~10 ms ago (counting the 0.5 s set-up: < 1080)
    left = float(line.split("about ")[1].split(" s")[0])
    assert abs(left - 1260.0 / rate) <= 1.0  # what is left at the rate so far
    p.close(1800.0)
    last = out.getvalue().strip().splitlines()[-1]
    assert "t = 1800 s of 1800 s (100 %)" in last and "left" not in last


def test_the_first_compile_is_announced_once():
    out = io.StringIO()

    @numba.njit
    def fresh(x):  # a new function: never in any cache
        return x * 2.0

    @numba.njit
    def other(x):
        return x + 1.0

    with prog.compile_notice(out):
        fresh(np.ones(3))
        other(np.ones(3))
        fresh(np.ones(3))
    assert out.getvalue().splitlines() == [prog.COMPILE_NOTE]
    with prog.compile_notice(out):
        fresh(np.ones(3))  # compiled already: nothing
    assert out.getvalue().splitlines() == [prog.COMPILE_NOTE]
