"""A connection marked delayed breaks an algebraic loop and carries the previous value."""

from coupling_helpers import run
from doubles import Probe


def test_delayed_edge_breaks_the_loop_and_lags_by_one_step():
    a = Probe.make("a", inputs=["u"], feedthrough=True)
    b = Probe.make("b", inputs=["u"], feedthrough=True)
    orch, records = run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u", True)],
                        record=[("a", "y"), ("b", "y")])
    assert orch.order == ["a", "b"]
    out = {t: v for t, v in records}
    for t, h, inputs in a.log[::2]:
        assert inputs["u"] == out[t][1]  # b's output at t, not t + h (a copy: exact)
    for t, h, inputs in b.log[::2]:
        assert inputs["u"] == out[t + h][0]  # a's fresh output


def test_delayed_edge_lags_even_when_the_source_steps_first():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"])
    orch, records = run([a, b], [("a", "y", "b", "u", True)], record=[("a", "y")])
    assert orch.order == ["a", "b"]
    out = {t: v[0] for t, v in records}
    assert [inputs["u"] for t, h, inputs in b.log[::2]] == [out[0.0], out[1.0], out[2.0]]
