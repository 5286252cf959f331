"""Rollback: a rejected macro step is undone in every component and retried in halves."""

import pytest
from coupling_helpers import run
from doubles import JOURNAL, Probe, events

from cosim.errors import ComponentError


def test_rejected_step_is_rolled_back_everywhere_and_halved():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"], reject_h_above_s=0.25)
    orch, records = run([a, b], [("a", "y", "b", "u")], stop_s=1.0, step_s=1.0,
                        record=[("a", "y"), ("b", "y")])
    restored = [name for name, ev, *_ in JOURNAL if ev == "set_state"]
    # rejected: [0, 1] at h = 1, [0, 0.5] at h = 0.5, [0.5, 1] at h = 0.5
    assert restored == ["a", "b"] * 3
    tried = [h for _, _, h in events("step")]  # a then b, each try
    assert tried == [1.0, 1.0, 0.5, 0.5] + [0.25] * 4 + [0.5, 0.5] + [0.25] * 4
    assert orch.n_rejections == 3
    # same result as stepping at 0.25 from the start
    a2, b2 = Probe.make("a"), Probe.make("b", inputs=["u"])
    _, ref = run([a2, b2], [("a", "y", "b", "u")], stop_s=1.0, step_s=0.25, record=[("a", "y"), ("b", "y")])
    assert records[-1][1] == pytest.approx(ref[-1][1], rel=1e-15)
    assert [t for t, _ in records] == [0.0, 1.0]


def test_rejection_without_state_support_names_the_component_that_cannot():
    a = Probe.make("a", can_roll_back=False)
    b = Probe.make("b", inputs=["u"], reject_h_above_s=0.5)
    with pytest.raises(ComponentError) as info:
        run([a, b], [("a", "y", "b", "u")], stop_s=1.0, step_s=1.0)
    msg = str(info.value)
    assert "'b'" in msg and "rejected" in msg and "a cannot save and restore state" in msg


def test_too_many_halvings_stop_the_run():
    a = Probe.make("a", reject_h_above_s=1e-6)
    with pytest.raises(ComponentError, match="after 3 halvings"):
        run([a], [], stop_s=1.0, step_s=1.0, max_step_halvings=3)
