"""The orchestrator's test of an iterated connection's agreement (``_agree``): on two
floats it answers exactly what ``np.allclose(a, b, rtol=1e-7, atol=1e-9)`` answers (its
fast path must not change which steps repeat)."""

from __future__ import annotations

import itertools

import numpy as np

from cosim.orchestrator import _agree

VALUES = [0.0, -0.0, 1.0, 1.0 + 1e-8, 1.0 + 2e-7, -1.0, 1e12, 1e12 * (1 + 1e-8), 1e12 * (1 + 1e-6), 1e-9, 2e-9,
          -1e-10, 5e-10, float("inf"), -float("inf"), float("nan")]


def test_two_floats_agree_exactly_when_allclose_says_so():
    for a, b in itertools.product(VALUES, VALUES):
        assert _agree(a, b) == bool(np.allclose(np.asarray(a), np.asarray(b), rtol=1e-7, atol=1e-9)), (a, b)


def test_arrays_and_other_types_still_go_through_numpy():
    assert _agree(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-8]))
    assert not _agree(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert _agree(3, 3) and not _agree(3, 4)
