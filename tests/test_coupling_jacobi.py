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
        assert inputs["u"] == outputs_at[t]["a"]  # a copy of the recorded value, exactly
    for t, h, inputs in c.log[::2]:
        assert inputs["u"] == outputs_at[t]["b"]
    # hand calculation: a = t; b' = 1 + a(t_k) held -> b(3) = (1+0) + (1+1) + (1+2) = 6;
    # c' = 1 + b(t_k) held, b(t_k) = 0, 1, 3 -> c(3) = 1 + 2 + 4 = 7 (sums of small
    # integers: exact in floating point)
    assert [outputs_at[t]["a"] for t in (1.0, 2.0, 3.0)] == [1.0, 2.0, 3.0]
    assert [outputs_at[t]["b"] for t in (1.0, 2.0, 3.0)] == [1.0, 3.0, 6.0]
    assert [outputs_at[t]["c"] for t in (1.0, 2.0, 3.0)] == [1.0, 3.0, 7.0]


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_jacobi_accepts_component_cycles_in_any_order(order):
    a = Probe.make("a", inputs=["u"])
    b = Probe.make("b", inputs=["u"])
    probes = {"a": a, "b": b}
    _, records = run([probes[n] for n in order], [("a", "y", "b", "u"), ("b", "y", "a", "u")], coupling="jacobi",
                     record=[("a", "y"), ("b", "y")], stop_s=4.0, step_s=0.5)
    # x' = 1 + u, u the other's output at the previous communication point, both from 0:
    # x_k+1 = x_k + h (1 + x_k) -> x_k = (1 + h)^k - 1 for both, whatever the order (Gauss-
    # Seidel would give the second one the first one's new value: 0.5, 0.75 at t = 0.5)
    for t, (ya, yb) in records:
        expected = 1.5 ** round(t / 0.5) - 1.0
        # 8 steps of x + 0.5 (1 + x) on dyadic values (3^k / 2^k): exact in floating point
        assert ya == expected and yb == expected
    assert [t for t, _ in records] == [0.5 * k for k in range(9)]
