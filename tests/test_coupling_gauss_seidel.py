"""Gauss-Seidel: components step in dependency order and see their sources' new outputs."""

import pytest
from coupling_helpers import run
from doubles import Probe, events


def test_chain_steps_in_dependency_order_not_scenario_order():
    c = Probe.make("c", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    a = Probe.make("a")
    orch, _ = run([c, b, a], [("a", "y", "b", "u"), ("b", "y", "c", "u")])
    assert orch.order == ["a", "b", "c"]
    steps = events("step")
    assert [name for name, _, _ in steps] == ["a", "b", "c"] * 3
    # a integrates x' = 1, so its output at t + h is t + h; b holds that value over [t, t + h]
    for t, h, inputs in b.log[::2]:
        assert inputs["u"] == pytest.approx(t + h, rel=1e-12)  # sums of h = 1: exact (measured)
    # b: x' = 1 + u with u = t + h per step -> x after k steps of h = 1 is sum_{j=1..k} (1 + j)
    xb = 0.0
    for (t, h, inputs) in c.log[::2]:
        xb += h * (1.0 + (t + h))
        assert inputs["u"] == pytest.approx(xb, rel=1e-12)  # the same sums (measured: equal)


def test_cycle_without_feedthrough_follows_scenario_order_and_lags_one_edge():
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    orch, _ = run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u")])
    assert orch.order == ["a", "b"]
    assert [str(e) for e in orch.lagged] == ["b.y -> a.u"]
    # a sees b's previous output, b sees a's output after this step
    xa = xb = 0.0
    for (ta, ha, ua), (tb, hb, ub) in zip(a.log[::2], b.log[::2]):
        assert ta == tb
        assert ua["u"] == pytest.approx(xb, rel=1e-12, abs=0)  # the same arithmetic (measured: equal)
        xa += ha * (1 + ua["u"])
        assert ub["u"] == pytest.approx(xa, rel=1e-12, abs=0)
        xb += hb * (1 + ub["u"])


def test_cycle_is_cut_where_the_input_has_no_feedthrough():
    # b's output depends directly on its input; a's does not. Cutting a's input keeps the
    # algebraic path fresh: a must step first although the scenario lists b first.
    b = Probe.make("b", inputs=["u"], feedthrough=True)
    a = Probe.make("a", inputs=["u"])
    orch, _ = run([b, a], [("a", "y", "b", "u"), ("b", "y", "a", "u")])
    assert orch.order == ["a", "b"]
    assert [str(e) for e in orch.lagged] == ["b.y -> a.u"]


def test_explicit_order_is_used_and_checked():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"])
    orch, _ = run([a, b], [("a", "y", "b", "u")], order=["b", "a"])
    assert [n for n, _, _ in events("step")][:2] == ["b", "a"]
    # b now steps before a, so it sees a's previous value: 0 at the first step
    assert b.log[0][2]["u"] == 0.0
    with pytest.raises(Exception, match="every component exactly once"):
        run([Probe.make("p"), Probe.make("q")], [], order=["p"])


def test_initialization_follows_the_order_and_propagates_initial_outputs():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"], feedthrough=True)
    a.x = 5.0  # a starts with a non-zero state, so its initial output is 5
    run([b, a], [("a", "y", "b", "u")], stop_s=1.0)
    inits = [(name, inputs) for name, ev, _, _, inputs in __import__("doubles").JOURNAL if ev == "initialize"]
    assert [n for n, _ in inits] == ["a", "b"]
    assert inits[1][1]["u"] == 5.0


def test_a_component_can_end_the_run_after_a_completed_step():
    from cosim.components import EndOfRun

    class Ender(Probe):
        def _do_step(self, t, h):
            super()._do_step(t, h)
            if t + h >= 2.0:
                raise EndOfRun("cut-off reached")

    a = Ender.make("a")
    b = Probe.make("b", inputs=["u"])
    orch, records = run([a, b], [("a", "y", "b", "u")], stop_s=10.0, record=[("a", "y"), ("b", "y")])
    assert [t for t, _ in records] == [0.0, 1.0, 2.0]
    assert orch.end_reason == "a: cut-off reached"
    assert [n for n, _, _ in events("step")] == ["a", "b", "a", "b"]  # b completed the last step too
