"""Connections are checked before anything runs; every message names both ends."""

import pytest
from coupling_helpers import run
from doubles import Probe

from cosim.errors import CouplingError


def test_unit_mismatch_names_both_ends_and_units():
    a = Probe.make("a", unit="W")
    b = Probe.make("b", inputs=["u"], unit="A")
    with pytest.raises(CouplingError, match=r"a\.y is in 'W', b\.u expects 'A'"):
        run([a, b], [("a", "y", "b", "u")])


def test_shape_mismatch_names_both_ends():
    a = Probe.make("a", size=3)
    b = Probe.make("b", inputs=["u"], size=4)
    with pytest.raises(CouplingError, match=r"a\.y has shape \(3,\), b\.u expects \(4,\)"):
        run([a, b], [("a", "y", "b", "u")])


def test_all_problems_at_once_with_hints():
    a = Probe.make("a")
    b = Probe.make("b", inputs=["u"])
    edges = [("a", "yy", "b", "u"), ("a", "y", "bb", "u"), ("b", "u", "a", "y"), ("a", "y", "b", "u"), ("a", "y", "b", "u")]
    with pytest.raises(CouplingError) as info:
        run([a, b], edges)
    msg = str(info.value)
    assert "a.yy does not exist; did you mean 'y'?" in msg
    assert "no component 'bb'; did you mean 'b'?" in msg
    assert "b.u is an input, not an output" in msg
    assert "a.y is an output, not an input" in msg
    assert msg.count("already fed by") == 2
    assert msg.startswith("6 problem(s)")


def test_dimensionless_spellings_are_one_unit_and_vectors_are_copied():
    a = Probe.make("a", unit="1", size=3)
    b = Probe.make("b", inputs=["u"], unit="", size=3)
    _, records = run([a, b], [("a", "y", "b", "u")], record=[("a", "y"), ("b", "y")])
    ya, yb = records[-1][1]
    assert ya.shape == yb.shape == (3,)
    assert b.u["u"] is not a.y["y"]  # copied into b's own buffer
