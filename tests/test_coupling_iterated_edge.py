"""A connection marked ``iterate`` closes a loop within the step: the step is repeated (with
rollback) until the target's input equals its source's new output."""

import pytest
from coupling_helpers import run
from doubles import Probe

from cosim.errors import CosimError


def test_iterated_edge_gives_the_target_the_same_steps_value():
    """a integrates 1 + u_a, b integrates 1 + a's fresh output, and b's output is fed back to
    a by an iterated connection: a's input over each step must be b's output at the step's
    end, the fixed point u = (x_b + h + h x_a + h^2) / (1 - h^2) of that loop."""
    h = 0.25
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    orch, records = run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u", False, "", True)],
                        stop_s=2.0, step_s=h, record=[("a", "y"), ("b", "y")])
    assert orch.order == ["a", "b"] and orch.n_loop_repeats > 0
    out = dict(records)
    # the converged pass of every step: its input is b's output at the step's end
    converged = {}
    for t, step, inputs in a.log[::2]:
        converged[t] = inputs["u"]
    for t, u in converged.items():
        assert u == pytest.approx(out[round(t / h + 1) * h][1], rel=1e-7)
        x_a, x_b = out[round(t / h) * h]
        assert u == pytest.approx((x_b + h + h * x_a + h * h) / (1 - h * h), rel=1e-7)


def test_an_iterated_loop_that_does_not_converge_stops_naming_the_connection():
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    with pytest.raises(CosimError, match=r"iterated connection b\.y -> a\.u .*did not converge"):
        run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u", False, "", True)], stop_s=2.0, step_s=2.0,
            max_loop_passes=5)


def test_an_iterated_connection_needs_every_component_to_roll_back():
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"], can_roll_back=False)
    with pytest.raises(CosimError, match="cannot save and restore state"):
        run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u", False, "", True)])


def test_a_connection_is_delayed_or_iterated_not_both():
    from pydantic import ValidationError

    from cosim.scenario import Connection

    with pytest.raises(ValidationError, match="either delayed or iterated"):
        Connection(source="a.y", target="b.u", delayed=True, iterate=True)
