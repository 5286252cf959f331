"""The CVODE stepper behind model exchange's default method (cosim/fmu/cvode.py), on
y' = -y with a Python right-hand side: each point of its contract against exp(-t)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cosim.fmu.cvode import CVodeStepper


def decay(calls: list | None = None, fail_at: float = math.inf, discard_above: float = math.inf):
    """rhs of y' = -y on CVODE's pointers; raises past ``fail_at``; asks for a smaller
    step (returns 1) when a trial step reaches past ``discard_above``."""
    def rhs(t, y, dy):
        if calls is not None:
            calls.append(t)
        if t > fail_at:
            raise RuntimeError(f"the model failed at t = {t}")
        if t > discard_above:
            return 1
        dy[0] = -y[0]
        return 0
    return rhs


@pytest.mark.parametrize("lmm", ["bdf", "adams"])
def test_one_step_at_a_time_follows_the_exact_solution_and_stops_at_the_bound(lmm):
    s = CVodeStepper(decay(), 1, lmm, rtol=1e-8, atol=1e-12, max_step=math.inf)
    s.reinit(0.0, np.array([1.0]), t_bound=2.0, t_hint=0.1)
    steps = 0
    while s.status == "running":
        t_old = s.t
        assert s.step() is None
        steps += 1
        assert s.t > t_old and s.t <= 2.0
        # measured: 6.8e-8 (BDF), 1.2e-8 (Adams) relative over [0, 2], the same inside steps
        assert s.y[0] == pytest.approx(math.exp(-s.t), rel=2e-7)
        dense = s.dense_output()  # inside the step just taken: CVODE's interpolant
        for t in np.linspace(t_old, s.t, 4):
            assert dense(t)[0] == pytest.approx(math.exp(-t), rel=2e-7)
    assert s.t == 2.0 and s.status == "finished"  # landed exactly on the stop time
    assert steps > 10
    s.close()
    s.close()  # idempotent


def test_a_restart_from_a_new_state_forgets_the_old_one():
    s = CVodeStepper(decay(), 1, "bdf", rtol=1e-8, atol=1e-12, max_step=math.inf)
    s.reinit(0.0, np.array([1.0]), t_bound=1.0, t_hint=1.0)
    while s.status == "running":
        s.step()
    s.reinit(1.0, np.array([5.0]), t_bound=math.inf, t_hint=1.5)  # a jump of the state (an event)
    while s.t < 3.0:
        s.step()
    assert s.status == "running"  # no bound: never "finished"
    assert s.y[0] == pytest.approx(5.0 * math.exp(-(s.t - 1.0)), rel=1e-7)
    s.close()


def test_an_exception_in_the_right_hand_side_reaches_the_caller_and_cvode_stops():
    s = CVodeStepper(decay(fail_at=0.5), 1, "bdf", rtol=1e-6, atol=1e-10, max_step=math.inf)
    s.reinit(0.0, np.array([1.0]), t_bound=math.inf, t_hint=0.1)
    with pytest.raises(RuntimeError, match="the model failed at t = "):
        for _ in range(10_000):
            s.step()
    assert s.status == "failed"
    s.close()


def test_a_recoverable_failure_shrinks_the_step_up_to_where_the_model_refuses():
    """A right-hand side that refuses every time past t = 1 (returns 1): CVODE retries
    with smaller steps and creeps up to t = 1, then makes no more progress (the
    integrator turns that into an error naming the time)."""
    calls: list = []
    s = CVodeStepper(decay(calls, discard_above=1.0), 1, "bdf", rtol=1e-6, atol=1e-10, max_step=math.inf)
    s.reinit(0.0, np.array([1.0]), t_bound=math.inf, t_hint=0.5)
    for _ in range(1000):
        t_old = s.t
        if s.step() is not None or s.t <= t_old:
            break
    assert 1.0 - 1e-9 <= s.t <= 1.0 and max(calls) > 1.0
    assert s.y[0] == pytest.approx(math.exp(-s.t), rel=1e-5)  # the accepted steps are right
    s.close()


def test_the_absolute_tolerance_applies_and_set_tolerances_changes_it():
    """y(0) = 1e-9: with atol 1 nothing is controlled (a loose answer), with atol 1e-20
    the relative tolerance governs; set_tolerances switches between them on a live memory."""
    s = CVodeStepper(decay(), 1, "bdf", rtol=1e-6, atol=np.array([1.0]), max_step=math.inf)
    errors = []
    for atol in (1.0, 1e-20):
        s.set_tolerances(1e-6, atol)
        s.reinit(0.0, np.array([1e-9]), t_bound=3.0, t_hint=0.1)
        while s.status == "running":
            s.step()
        errors.append(abs(s.y[0] / (1e-9 * math.exp(-3.0)) - 1))
    assert errors[0] > 1e-2  # measured 3.0 (a few long steps)
    assert errors[1] < 1.5e-5  # measured 5.1e-6
    s.close()
