"""Several batteries stepped at once from Python threads give what each gives alone, and the
kernels' loops over the cells shared between OpenMP threads (``COSIM_THREADS``) give what one
thread gives.

The C cell kernels keep no global state (``fmus/pack/src/cell_kernel.h``) and ctypes releases
the GIL during their calls, so batteries in different threads (a host running several packs,
a sweep in threads) really run their kernels at the same time. Here three different
batteries (two assembled packs of different parameter sets and one SPM batch of 256 unit
cells, every cell different) are advanced through the same steps, once one after the other
and once all three at the same time in threads: every output and state array must agree bit
for bit. A kernel that kept anything between calls in shared memory (a static scratch
buffer, a cached struct of another model's data) would mix the batteries' numbers; whether
it does in a given run depends on how the threads interleave (a static scratch buffer put
into ck_prepare as a trial failed this test in 2 of 4 runs).
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pytest
from fork_helpers import wait_for_child

from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import AssembledBattery, Layout
from cosim.pack.c_kernel import SOURCE_DIR, THREADS_ENV, library, threads
from cosim.pack.spread import apply, draw

N = 256


def spread_params(name: str, seed: int):
    """256 unit cells of the parameter set ``name``, each its own: capacity, thickness and
    contact resistance (the pack's spread), area (0.5-2x) and initial SOC (20-85 %)."""
    p = load_parameter_set(name).to_cell_params(N)
    p = apply(p, draw(N, seed=seed, capacity_rel=0.05, thickness_rel=0.05, resistance_rel=0.3))
    rng = np.random.default_rng(seed + 12)
    p = p.with_(area_m2=np.broadcast_to(p.area_m2, (N,)) * rng.uniform(0.5, 2.0, N))
    return p.at_soc(rng.uniform(0.2, 0.85, N))


def pack(name: str, seed: int):
    params = spread_params(name, seed)
    layout = Layout(2, 4, 32)
    battery = AssembledBattery(SPMe(params, n_r=8, n_x=(6, 4, 6)), layout, end_collector_resistance_Ohm=2e-4,
                               string_resistance_Ohm=[1e-4, 3e-4])
    n_series = layout.n_stacks * layout.n_layers
    limits = (params.lower_voltage_V, params.upper_voltage_V)
    rng = np.random.default_rng(seed)
    T = rng.uniform(278.15, 313.15, N)

    def run(record):
        # three rounds of power steps (the last two of each beyond the limits)
        for k, P in enumerate([2000.0, -1500.0, 5000.0, 0.0, -1e6, 1e6] * 3):
            battery.step(2.0, T, power_W=P, limits=limits, pack_limits=(n_series * limits[0], n_series * limits[1]))
            record(f"step {k}", [battery.string_current, [battery.voltage], *outputs(battery.model)])
        record("available power", [battery.available_power(10.0, T, limits, (n_series * limits[0],
                                                                             n_series * limits[1]),
                                                           min_anode_potential_V=0.0)])
    return run


def cells(name: str, seed: int):
    params = spread_params(name, seed)
    model = SPM(params, n_r=8)
    rng = np.random.default_rng(seed)
    T = rng.uniform(268.15, 318.15, N)
    limits = (params.lower_voltage_V, params.upper_voltage_V)

    def run(record):
        one_c = model._current_scale()
        for k in range(6):
            model.step(7.0, T, current_A=one_c * rng.uniform(-1.5, 2.0, N), limits=limits)
            record(f"current step {k}", outputs(model))
        model.step(5.0, T, power_W=model.out["voltage_V"] * one_c * rng.uniform(-1.0, 1.0, N))
        record("power step", outputs(model))
        model.step(3.0, T, voltage_V=model.out["ocv_V"] + rng.uniform(-0.05, 0.05, N))
        record("voltage step", outputs(model))
        record("available power", list(model.available_power(10.0, T, *limits, min_anode_potential_V=0.0)))
    return run


def outputs(model) -> list:
    arrays = [np.asarray(model.out[key], dtype=float) for key in sorted(model.out)]

    def walk(s):
        if isinstance(s, np.ndarray):
            arrays.append(s)
        elif isinstance(s, (tuple, list)):
            for v in s:
                walk(v)
        elif isinstance(s, dict):
            for v in s.values():
                walk(v)

    walk(model.get_state())
    return [a.copy() for a in arrays]


JOBS = [(pack, "seed_bgraphite_sno2_lmo_gel", 5), (pack, "chen2020", 7), (cells, "seed_bgraphite_sno2_lmo_gel", 9)]


def test_batteries_in_threads_agree_with_serial_runs_bit_for_bit():
    def collect(runs):
        logs = [[] for _ in runs]
        recorders = [lambda what, arrays, log=log: log.append((what, arrays)) for log in logs]
        return logs, recorders

    serial_runs = [make(name, seed) for make, name, seed in JOBS]
    serial, rec = collect(serial_runs)
    for run, r in zip(serial_runs, rec):
        run(r)
    threaded_runs = [make(name, seed) for make, name, seed in JOBS]
    threaded, rec = collect(threaded_runs)
    start = threading.Barrier(len(JOBS))
    errors = []

    def worker(run, r):
        try:
            start.wait()
            run(r)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(run, r)) for run, r in zip(threaded_runs, rec)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (_, name, _), a_log, b_log in zip(JOBS, serial, threaded):
        assert [w for w, _ in a_log] == [w for w, _ in b_log]
        for (what, a), (_, b) in zip(a_log, b_log):
            assert len(a) == len(b)
            for k, (x, y) in enumerate(zip(a, b)):
                x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
                assert np.array_equal(x, y, equal_nan=True), f"{name}, {what}, array {k}"
        assert any(np.ptp(np.asarray(arr, dtype=float)) > 0 for _, arrays in a_log for arr in arrays[:3])


def run_logged(make, name, seed) -> list:
    log: list = []
    make(name, seed)(lambda what, arrays: log.append((what, arrays)))
    return log


def test_kernels_on_one_and_two_threads_agree_bit_for_bit(monkeypatch):
    """The same batteries (256 cells each, above the kernels' threshold for threads) stepped
    with the loops over the cells on one thread and on two: every output and state array the
    same bit for bit (each cell is computed by one thread alone; no sum over cells is shared).
    The library must have been built with OpenMP for this to test anything."""
    assert hasattr(library(), "omp_get_max_threads"), "the kernel library was built without OpenMP"
    header = (SOURCE_DIR / "cell_kernel.h").read_text()
    assert N >= int(re.search(r"#define CK_PARALLEL_MIN_CELLS (\d+)", header).group(1))
    logs = {}
    for n in (1, 2):
        monkeypatch.setenv(THREADS_ENV, str(n))
        model = SPM(spread_params("chen2020", 3), n_r=8)
        assert model._k.cells(model.data).n_threads == n  # what the C is given
        logs[n] = [run_logged(*job) for job in JOBS]
    for (_, name, _), a_log, b_log in zip(JOBS, logs[1], logs[2]):
        assert [w for w, _ in a_log] == [w for w, _ in b_log]
        for (what, a), (_, b) in zip(a_log, b_log):
            assert len(a) == len(b)
            for k, (x, y) in enumerate(zip(a, b)):
                x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
                assert np.array_equal(x, y, equal_nan=True), f"{name}, {what}, array {k}"


def test_the_thread_count_setting(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert 1 <= threads() <= 2
    for bad in ("0", "two", "-1", "1.5", "257"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(Exception, match=THREADS_ENV):
            threads()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_child_forked_after_threaded_kernels_steps_serially(monkeypatch, tmp_path):
    """GNU OpenMP hangs in a child forked from a process whose OpenMP threads ran (Python's
    default start method of multiprocessing on Linux is fork): the kernels of such a child
    run serially, with the same numbers, and do not hang."""
    monkeypatch.setenv(THREADS_ENV, "2")
    model = SPMe(spread_params("seed_bgraphite_sno2_lmo_gel", 4), n_r=8, n_x=(6, 4, 6))
    T = np.full(N, 300.0)
    before = model._k.prepare(model.data, 1.0, T, model._z, model._c)
    out = tmp_path / "child.npy"
    pid = os.fork()
    if pid == 0:  # the child: the same call again, its result into a file
        try:
            again = model._k.prepare(model.data, 1.0, T, model._z, model._c)
            counts = [model._k.cells(model.data).n_threads, threads()]
            np.save(out, np.concatenate([a.ravel() for a in again] + [np.array(counts, dtype=float)]))
        finally:
            os._exit(0)
    wait_for_child(pid, "the kernels")
    got = np.load(out)
    assert np.array_equal(got[:-2], np.concatenate([a.ravel() for a in before]))
    assert list(got[-2:]) == [1.0, 1.0]  # serial in the child
    assert model._k.cells(model.data).n_threads == 2  # the parent keeps its threads


def test_the_tuner_uses_the_threads_only_while_they_pay(monkeypatch):
    """Unless COSIM_THREADS fixes the count, a kernel measures its step's prepare on both
    counts (a block of probe calls of every period on the count not in use, its first call
    not counted) and uses its threads only while they are at least 10 % faster: here with
    made-up timings, the threads first twice as fast, then (the machine got busy) slower, then
    fast again; the first call after a switch is made to look slow (threads waking) and must
    not decide."""
    from cosim.pack.c_kernel import _Tuner

    tuner = _Tuner(2)

    def run(calls, seconds):
        used = []
        for _ in range(calls):
            count = tuner.pick()
            first = count != tuner._last
            used.append(count)
            tuner.record(count, seconds[count] * (100.0 if first else 1.0))
        return used

    warm_up = 2 * _Tuner.BLOCK
    used = run(warm_up, {1: 2e-3, 2: 1e-3})
    assert used == [2] * _Tuner.BLOCK + [1] * _Tuner.BLOCK and tuner.use == 2  # a block on each, then threads
    assert {n: list(v) for n, v in tuner.seconds.items()} == {2: [1e-3] * 3, 1: [2e-3] * 3}  # first calls not counted
    used = run(4 * _Tuner.PERIOD - warm_up, {1: 2e-3, 2: 1e-3})
    assert used[-_Tuner.PERIOD:].count(1) == _Tuner.BLOCK and tuner.use == 2  # probes of one thread only
    used = run(4 * _Tuner.PERIOD, {1: 2e-3, 2: 4e-3})
    assert tuner.use == 1 and used[-_Tuner.PERIOD:].count(2) == _Tuner.BLOCK  # switched; probes the threads
    run(4 * _Tuner.PERIOD, {1: 2e-3, 2: 1e-3})
    assert tuner.use == 2
    monkeypatch.delenv(THREADS_ENV, raising=False)
    model = SPM(spread_params("chen2020", 3), n_r=8)
    model._k.cells(model.data)
    assert (model._k._tuner is not None) == (threads() > 1)
    monkeypatch.setenv(THREADS_ENV, "2")  # fixed: no tuning
    model = SPM(spread_params("chen2020", 3), n_r=8)
    model._k.cells(model.data)
    assert model._k._tuner is None and model._k.cells(model.data).n_threads == 2


def test_sweep_workers_that_take_the_cores_run_their_cells_on_one_thread():
    """A sweep's pool workers (cosim.sweep.execute.init_worker) run their cells on one thread
    when the workers take the cores, unless COSIM_THREADS says otherwise (in a fresh process:
    the initializer also sets the worker's signal handlers)."""
    import subprocess
    import sys

    script = ("import os, sys; from cosim.sweep.execute import init_worker; from cosim.pack.c_kernel import threads; "
              "init_worker(sys.argv[1] == 'serial'); print(threads())")
    env = {k: v for k, v in os.environ.items() if k != THREADS_ENV}
    counts = {how: int(subprocess.run([sys.executable, "-c", script, how], env=env, capture_output=True, text=True,
                                      check=True).stdout) for how in ("serial", "free")}
    assert counts["serial"] == 1 and counts["free"] == min(2, len(os.sched_getaffinity(0)))
    env[THREADS_ENV] = "2"
    assert subprocess.run([sys.executable, "-c", script, "serial"], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "2"
