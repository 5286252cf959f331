"""Drive cycles: shipped files against the published/verified figures, validation, repeat."""

import numpy as np
import pytest

from cosim.vehicle.cycles import WLTC_PHASES, available_cycles, load_cycle

# Duration [s] and distance [km] from shared/cycles/README.md (beside the repository), "Verified figures"
# (and the official figures checked there), typed in by hand, not computed by cosim.
EXPECTED = {
    "UDDS": (1369, 11.990),
    "HWFET": (765, 16.507),
    "US06": (600, 12.888),
    "SC03": (600, 5.761),
    "FTP75": (1874, 17.769),
    "WLTC3b": (1800, 23.266),
    "NEDC": (1180, 11.028),
    "JP1015": (660, 4.165),
    "ARTEMIS_URBAN": (993, 4.870),
    "ARTEMIS_RURAL": (1081, 17.272),
    "ARTEMIS_MW130": (1067, 28.736),
    "ARTEMIS_MW150": (1067, 29.545),
}


def test_every_cycle_is_shipped():
    assert sorted(EXPECTED) == available_cycles()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_duration_and_distance_match_the_published_figures(name):
    duration, km = EXPECTED[name]
    st = load_cycle(name).stats()
    assert st.duration_s == duration  # whole seconds: exact
    # the README rounds to 1 m: half of that (measured at most 0.47 m, HWFET and ARTEMIS_RURAL)
    assert st.distance_m / 1000 == pytest.approx(km, rel=0, abs=5e-4)


def test_udds_speeds():
    st = load_cycle("udds").stats()  # names are case-insensitive
    # the README's figures, rounded to their last digit: half a unit of it
    assert st.max_speed_mps * 3.6 == pytest.approx(91.2, abs=0.05)
    assert st.mean_speed_mps * 3.6 == pytest.approx(31.53, abs=0.005)
    assert st.mean_moving_speed_mps > st.mean_speed_mps
    v = load_cycle("udds").speed_mps
    assert np.mean(v == 0.0) == pytest.approx(0.189, abs=5e-4)  # README: 18.9 % idle samples
    # idle time: the 1 s intervals at rest from end to end
    assert st.idle_time_s == np.sum((v[:-1] == 0.0) & (v[1:] == 0.0))


def test_wltc_phases():
    c = load_cycle("WLTC3b")
    assert c.phases == WLTC_PHASES
    assert list(WLTC_PHASES.values()) == [(0, 589), (589, 1022), (1022, 1477), (1477, 1800)]
    km = {k: s.distance_m / 1000 for k, s in c.phase_stats().items()}
    # GTR 15 phase distances, as in the cycles README
    for phase, ref in {"Low": 3.095, "Medium": 4.756, "High": 7.162, "Extra-High": 8.254}.items():
        assert km[phase] == pytest.approx(ref, rel=0, abs=5e-4)  # rounded to 1 m (measured <= 0.47 m)
    assert sum(km.values()) == pytest.approx(c.stats().distance_m / 1000, rel=1e-12)


def test_repeat():
    c = load_cycle("JP1015")
    r = c.repeat(3)
    assert r.duration_s == 3 * c.duration_s
    assert r.stats().distance_m == pytest.approx(3 * c.stats().distance_m, rel=1e-12)
    assert np.all(np.diff(r.time_s) == 1.0)
    assert load_cycle("JP1015", repeat=2).duration_s == 2 * c.duration_s
    with pytest.raises(ValueError, match="repeat"):
        c.repeat(0)


def test_unknown_name_lists_the_shipped_cycles():
    with pytest.raises(ValueError, match=r"unknown drive cycle 'JC08'.*ARTEMIS_MW130.*UDDS"):
        load_cycle("JC08")


def _write(tmp_path, text, name="c.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_user_csv_with_grade_percent(tmp_path):
    p = _write(tmp_path, "time_s,speed_mps,grade_percent\n0,0,0\n1,1,10\n2,2,10\n")
    c = load_cycle(p)
    assert c.grade_rad[1] == pytest.approx(np.arctan(0.1), rel=1e-12)  # the same formula (measured: equal)
    assert c.stats().distance_m == pytest.approx(2.0, rel=1e-12)
    c2 = load_cycle(_write(tmp_path, "time_s,speed_mps,grade_rad\n0,0,0.01\n1,1,0.02\n", "g.csv"))
    assert list(c2.grade_rad) == [0.01, 0.02]


@pytest.mark.parametrize(
    "body, message",
    [
        ("0,0\n1,-1\n2,0\n", r"row 2: negative speed"),
        ("0,0\n1,1\n1,0\n", r"row 3: time_s 1.0 does not increase"),
        ("0,0\n2,1\n1,0\n", r"row 3: time_s 1.0 does not increase"),
        ("0,0\n1,1\n2,1\n4,0\n5,0\n", r"row 4: gap of 2 s"),
        ("0,0\n1,nan\n2,0\n", r"row 2: speed_mps is nan"),
        ("0,0\n1,x\n", r"row 2: non-numeric"),
    ],
)
def test_bad_files_name_the_row(tmp_path, body, message):
    p = _write(tmp_path, "time_s,speed_mps\n" + body)
    with pytest.raises(ValueError, match=message):
        load_cycle(p)


def test_missing_column(tmp_path):
    with pytest.raises(ValueError, match="speed_mps"):
        load_cycle(_write(tmp_path, "time_s,v\n0,0\n1,1\n"))
