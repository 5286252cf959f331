"""Algebraic loops: found through direct feedthrough, refused with the loop spelled out."""

import pytest
from coupling_helpers import run
from doubles import Probe

from cosim.errors import CouplingError


def test_two_component_loop_is_named():
    a = Probe.make("a", inputs=["u"], feedthrough=True)
    b = Probe.make("b", inputs=["u"], feedthrough=True)
    with pytest.raises(CouplingError) as info:
        run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u")])
    msg = str(info.value)
    assert "algebraic loop" in msg
    for piece in ("a.y", "b.u", "b.y", "a.u", "delayed = true"):
        assert piece in msg


def test_three_component_loop_through_feedthrough_only():
    a = Probe.make("a", inputs=["u"], feedthrough=True)
    b = Probe.make("b", inputs=["u"], feedthrough=True)
    c = Probe.make("c", inputs=["u"], feedthrough=True)
    edges = [("a", "y", "b", "u"), ("b", "y", "c", "u"), ("c", "y", "a", "u")]
    with pytest.raises(CouplingError, match=r"a\.u -> a\.y -> b\.u -> b\.y -> c\.u -> c\.y -> a\.u"):
        run([a, b, c], edges)


def test_loop_with_one_state_component_is_not_algebraic():
    a = Probe.make("a", inputs=["u"], feedthrough=True)
    b = Probe.make("b", inputs=["u"], feedthrough=False)
    orch, _ = run([a, b], [("a", "y", "b", "u"), ("b", "y", "a", "u")])
    assert orch.n_macro_steps == 3


def test_self_loop_with_feedthrough():
    a = Probe.make("a", inputs=["u"], feedthrough=True)
    with pytest.raises(CouplingError, match=r"a\.u -> a\.y -> a\.u"):
        run([a], [("a", "y", "a", "u")])
