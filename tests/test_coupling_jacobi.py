"""Jacobi: every component steps with the outputs of the previous communication point."""

import pytest
from coupling_helpers import run
from doubles import Probe


def test_every_input_comes_from_the_previous_communication_point():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"])
    c = Probe.make("c", inputs=["u"])
    orch, records = run([a, b, c], [("a", "y", "b", "u"), ("b", "y", "c", "u")], coupling="jacobi",
                        record=[("a", "y"), ("b", "y"), ("c", "y")])
    assert {str(e) for e in orch.lagged} == {"a.y -> b.u", "b.y -> c.u"}
    outputs_at = {t: dict(zip("abc", values)) for t, values in records}
    for t, h, inputs in b.log[::2]:
        assert inputs["u"] == pytest.approx(outputs_at[t]["a"])
    for t, h, inputs in c.log[::2]:
        assert inputs["u"] == pytest.approx(outputs_at[t]["b"])
    # hand calculation: a = t; b' = 1 + a(t_k) held -> b(3) = (1+0) + (1+1) + (1+2) = 6
    assert outputs_at[3.0]["a"] == pytest.approx(3.0)
    assert outputs_at[3.0]["b"] == pytest.approx(6.0)


def test_jacobi_accepts_component_cycles_in_any_order():
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    _, records = run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u")], coupling="jacobi",
                     record=[("a", "y"), ("b", "y")])
    # symmetric system, symmetric coupling: both stay equal
    for _, (ya, yb) in records:
        assert ya == yb
