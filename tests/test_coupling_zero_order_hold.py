"""Zero-order hold: inputs stay constant over a macro step, however a component sub-steps."""

import numpy as np
import pytest
from coupling_helpers import run
from doubles import Probe

from cosim.components.profile import Profile, ProfileConfig


def _profile(name, interpolation, t, v):
    return Profile(name, ProfileConfig(type="profile", time_s=t, values={"p_W": v}, interpolation=interpolation))


def test_inputs_do_not_change_while_a_component_sub_steps():
    src = _profile("src", "linear", [0.0, 10.0], [0.0, 10.0])
    sink = Probe.make("sink", inputs=["u"], unit="W", substeps=7)
    run([src, sink], [("src", "p_W", "sink", "u")], stop_s=4.0, step_s=1.0)
    substeps = [entry for entry in sink.log if entry[0] == "substep"]
    assert len(substeps) == 4 * 7
    for k in range(4):
        seen = {e[2]["u"] for e in substeps[7 * k: 7 * (k + 1)]}
        assert seen == {float(k + 1)}  # the ramp's value at the end of step k, held


@pytest.mark.parametrize("step", [1.0, 0.7, 2.5])
def test_mean_profile_held_over_each_step_is_exact_in_charge(step):
    # a consumer integrating a held input receives exactly the integral of the table
    t = [0.0, 3.0, 4.0, 9.0, 10.0]
    v = [0.0, 6.0, -2.0, 5.0, 1.0]
    src = _profile("src", "mean", t, v)
    sink = Probe.make("sink", inputs=["u"], unit="W")
    _, records = run([src, sink], [("src", "p_W", "sink", "u")], stop_s=10.0, step_s=step,
                     record=[("sink", "y")])
    exact = 10.0 + np.trapezoid(v, t)  # sink: x' = 1 + u
    assert records[-1][1][0] == pytest.approx(exact, rel=1e-12)


def test_previous_and_linear_sample_the_table_at_the_step_end():
    t, v = [0.0, 2.0, 4.0], [1.0, 3.0, 7.0]
    for interpolation, expected in (("previous", [1.0, 1.0, 3.0, 3.0, 7.0]), ("linear", [1.0, 2.0, 3.0, 5.0, 7.0])):
        src = _profile("src", interpolation, t, v)
        _, records = run([src], [], stop_s=4.0, step_s=1.0, record=[("src", "p_W")])
        assert [r[1][0] for r in records] == expected


def test_repeated_profile_plays_back_to_back_then_holds():
    src = Profile("src", ProfileConfig(type="profile", time_s=[0.0, 2.0], values={"p_W": [0.0, 2.0]},
                                       interpolation="linear", repeat=2))
    _, records = run([src], [], stop_s=6.0, step_s=1.0, record=[("src", "p_W")])
    assert [r[1][0] for r in records] == [0.0, 1.0, 0.0, 1.0, 2.0, 2.0, 2.0]
