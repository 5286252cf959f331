"""Progress output: lines in a log (no terminal), the bar's end, the compile notice."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_build_of_the_c_kernels_is_announced_once(tmp_path, monkeypatch):
    """With an empty cache (a fresh install) the build prints the notice once, before gcc
    runs; with the library in the cache nothing is printed."""
    from cosim.pack import c_kernel

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    out = io.StringIO()
    with prog.compile_notice(out):
        lib = c_kernel.build()
        assert lib.is_file() and tmp_path in lib.parents  # really built, into the cache
        c_kernel.build(tmp_path / "other")  # a second build in the same run: no second line
    assert out.getvalue().splitlines() == [prog.COMPILE_NOTE]
    assert "gcc" in prog.COMPILE_NOTE and "once per install" in prog.COMPILE_NOTE
    with prog.compile_notice(out):
        assert c_kernel.build() == lib  # cached: nothing
    assert out.getvalue().splitlines() == [prog.COMPILE_NOTE]
    c_kernel.build(tmp_path / "third")  # outside a notice: silent
    assert out.getvalue().splitlines() == [prog.COMPILE_NOTE]


def test_a_run_in_a_fresh_install_says_it_compiles(tmp_path):
    """``cosim run`` with an empty cache prints the notice (stderr) before its progress, and
    the next run, with the library cached, does not."""
    root = Path(__file__).resolve().parents[1]
    scenario = tmp_path / "short.toml"
    scenario.write_text(f'extends = "{(root / "scenarios" / "small_pack_us06.toml").as_posix()}"\n'
                        "[simulation]\nstop_time_s = 2\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    errs = []
    for k in range(2):
        proc = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(scenario), "-o", str(tmp_path / f"{k}.nc")],
                              capture_output=True, text=True, env=env, cwd=root)
        assert proc.returncode == 0, proc.stderr
        errs.append(proc.stderr.splitlines())
    assert errs[0][0] == prog.COMPILE_NOTE and errs[0].count(prog.COMPILE_NOTE) == 1
    assert prog.COMPILE_NOTE not in errs[1]
