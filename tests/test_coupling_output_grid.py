"""Output grid: records at t0, every interval (a multiple of the step), and at the stop time."""

import pytest
from coupling_helpers import run
from doubles import Probe


def test_records_on_the_interval_grid_with_exact_times():
    a = Probe.make("a")
    orch, records = run([a], [], stop_s=2.0, step_s=0.1, output_every=5, record=[("a", "y")])
    assert [t for t, _ in records] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert orch.n_macro_steps == 20
    # a integrates x' = 1: its output equals the time
    for t, (y,) in records:
        assert y == pytest.approx(t, abs=1e-12)


def test_times_are_rounded_decimals_not_accumulated_float_error():
    a = Probe.make("a")
    _, records = run([a], [], stop_s=1.0, step_s=0.1, record=[("a", "y")])
    assert [t for t, _ in records] == [round(0.1 * k, 10) for k in range(11)]


def test_stop_time_off_the_grid_shortens_the_last_step_and_is_recorded():
    a = Probe.make("a")
    _, records = run([a], [], stop_s=1.05, step_s=0.1, output_every=5, record=[("a", "y")])
    assert [t for t, _ in records] == [0.0, 0.5, 1.0, 1.05]
    # round-off of 1.05 - 1.0 and of the sum of the steps (measured 4.2e-17 and 0)
    assert a.log[-2][1] == pytest.approx(0.05, rel=1e-12)
    assert records[-1][1][0] == pytest.approx(1.05, rel=1e-12)
