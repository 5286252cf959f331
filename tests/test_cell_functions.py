"""Material functions of the cell model (cosim.cell.functions): published closed forms
against independent samples (PyBaMM's Chen2020 set, the derived values recorded in
shared/reference/doyle1996.toml), and the generic building blocks."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from cosim.cell import functions as fn
from cosim.cell.params import R, arrhenius

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
CHEN = REFERENCE / "pybamm-chen2020" / "functions"
TEMPERATURES = (273.15, 298.15, 318.15)


def _csv(name: str) -> np.ndarray:
    path = CHEN / name
    if not path.is_file():
        pytest.skip(f"PyBaMM Chen2020 reference samples not found at {path} (shared/ is absent)")
    return np.genfromtxt(path, delimiter=",", skip_header=1)


# -- Chen2020 / Nyman2008 against PyBaMM's samples ---------------------------------------


@pytest.mark.parametrize(
    "csv, function",
    [
        ("negative_electrode_ocp_v.csv", fn.chen2020_graphite_ocp),
        ("positive_electrode_ocp_v.csv", fn.chen2020_nmc811_ocp),
    ],
)
def test_chen2020_ocp_matches_pybamm_samples(csv, function):
    data = _csv(csv)
    assert data.shape[0] == 101
    # the samples carry 10 significant digits: half a unit of the last is <= 5e-10 relative
    # (measured 4.2e-10)
    np.testing.assert_allclose(function(data[:, 0]), data[:, 1], rtol=6e-10, atol=0)


@pytest.mark.parametrize(
    "csv, function",
    [
        ("electrolyte_conductivity_s_m_1.csv", fn.nyman2008_conductivity),
        ("electrolyte_diffusivity_m2_s_1.csv", fn.nyman2008_diffusivity),
    ],
)
def test_nyman2008_matches_pybamm_samples_at_every_temperature(csv, function):
    data = _csv(csv)
    c = data[:, 0]
    assert c.max() == 2000.0
    for column, T in enumerate(TEMPERATURES, start=1):
        value = function(c, np.full_like(c, T))
        np.testing.assert_allclose(value, data[:, column], rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    "csv, side, c_max",
    [
        ("negative_electrode_exchange_current_density_a_m_2.csv", "negative", 33133.0),
        ("positive_electrode_exchange_current_density_a_m_2.csv", "positive", 63104.0),
    ],
)
def test_chen2020_exchange_current_from_rate_constant_matches_pybamm(csv, side, c_max):
    """i0 = k c_e^aa (c_max - c_s)^aa c_s^ac arrhenius(E_k) (params.py's form) with the
    shipped chen2020 set's rate constant and activation energy reproduces PyBaMM's samples
    (c_e = 1000 mol/m^3) at 273.15, 298.15 and 318.15 K."""
    from cosim.cell.parameter_set import load_parameter_set

    data = _csv(csv)
    params = load_parameter_set("chen2020").to_cell_params(1)
    m = getattr(params, side).materials[0]
    assert m.c_max_mol_m3[0] == c_max
    c_s = data[:, 0] * c_max
    c_e = 1000.0
    for column, T in enumerate(TEMPERATURES, start=1):
        i0 = (
            m.rate_constant[0]
            * c_e**m.alpha_a
            * (m.c_max_mol_m3[0] - c_s) ** m.alpha_a
            * c_s**m.alpha_c
            * arrhenius(m.rate_activation_J_mol, T, params.T_ref_K)
        )
        np.testing.assert_allclose(i0, data[:, column], rtol=6e-10, atol=0)  # 10 digits (measured 4.3e-10)
    # the samples really do depend on temperature (so the activation energy is tested)
    assert data[50, 3] / data[50, 1] > 2.0


# -- Doyle 1996 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "y, x, ocv, u_pos, u_neg",
    [
        (0.1705, 0.5635, 4.2237, 4.30710, 0.08344),  # cells 1 and 2 (doyle1996.toml initial_ocv_V)
        (0.1705, 0.519, 4.1889, 4.30710, 0.11821),  # cell 3
    ],
)
def test_doyle1996_ocps_give_the_recorded_initial_voltages(y, x, ocv, u_pos, u_neg):
    # recorded to 5 and 4 decimals: half a unit of the last digit (measured 1.1e-7 and 3e-5 V)
    assert fn.doyle1996_spinel_ocp(y) == pytest.approx(u_pos, abs=5e-6)
    assert fn.doyle1996_coke_ocp(x) == pytest.approx(u_neg, abs=5e-6)
    assert fn.doyle1996_spinel_ocp(y) - fn.doyle1996_coke_ocp(x) == pytest.approx(ocv, abs=5e-5)


@pytest.mark.parametrize(
    "function, c, kappa",
    [
        (fn.doyle1996_kappa_ec_dmc_1_2, 1000.0, 0.287),
        (fn.doyle1996_kappa_ec_dmc_1_2, 2000.0, 0.171),
        (fn.doyle1996_kappa_ec_dmc_2_1, 1000.0, 0.205),
        (fn.doyle1996_kappa_ec_dmc_2_1, 500.0, 0.191),
        (fn.doyle1996_kappa_ec_dmc_2_1, 0.0, 0.041),
    ],
)
def test_doyle1996_gel_conductivity_matches_recorded_values(function, c, kappa):
    """kappa values given in doyle1996.toml's kappa_note (3 significant digits)."""
    assert function(np.array([c]))[0] == pytest.approx(kappa, abs=6e-4)


def test_spinel_ocp_singularity_is_handled_as_dualfoil():
    y = np.linspace(0.0, 1.0, 100001)
    u = fn.doyle1996_spinel_ocp(y)
    assert np.all(np.isfinite(u))
    assert u.max() == fn.SPINEL_OCP_CAP_V  # capped at 6 V where the last term blows up
    assert fn.doyle1996_spinel_ocp(0.0) == 6.0
    # at and above the singular point the power term is dropped
    above = np.array([0.998432, 0.999, 1.0])
    without_power = (
        4.19829
        + 0.0565661 * np.tanh(-14.5546 * above + 8.60942)
        - 0.157123 * np.exp(-0.04738 * above**8)
        + 0.810239 * np.exp(-40.0 * (above - 0.133875))
    )
    np.testing.assert_allclose(fn.doyle1996_spinel_ocp(above), without_power, rtol=0, atol=1e-12)
    # in the fit's range (0.17 <= y < 0.99) the OCP falls monotonically through 4.3-3.8 V
    inside = np.linspace(0.17, 0.99, 500)
    assert np.all(np.diff(fn.doyle1996_spinel_ocp(inside)) < 0)


def test_coke_ocp_rises_steeply_at_empty_and_is_finite():
    assert fn.doyle1996_coke_ocp(0.0) == pytest.approx(-0.16 + 1.32 + 10.0, rel=1e-12)  # round-off (measured 0)
    assert fn.doyle1996_coke_ocp(1.0) == pytest.approx(-0.16 + 1.32 * np.exp(-3.0), abs=1e-12)


# -- other cathode fits (no independent samples: shape checks) -------------------------------


@pytest.mark.parametrize(
    "function, lo, hi, u_range",
    [
        (fn.marquis2019_lico2_ocp, 0.4, 0.93, (3.7, 4.4)),
        (fn.kim2011_nca_ocp, 0.3, 0.96, (3.4, 4.4)),
    ],
)
def test_cathode_ocps_fall_through_a_plausible_range(function, lo, hi, u_range):
    y = np.linspace(lo, hi, 400)
    u = function(y)
    assert np.all(np.diff(u) < 0)
    assert u_range[0] < u.min() and u.max() < u_range[1]


# -- building blocks --------------------------------------------------------------------------


def test_constant_broadcasts_over_both_arguments():
    c = fn.Constant(2.5)
    assert c(np.zeros((3, 4))).shape == (3, 4)
    np.testing.assert_array_equal(c(np.zeros(3)), [2.5, 2.5, 2.5])
    assert c(np.zeros(3), np.full((2, 1), 300.0)).shape == (2, 3)
    assert c(0.3).shape == ()
    with pytest.raises(ValueError, match="finite"):
        fn.Constant(float("nan"))


def test_table_interpolates_linearly_and_holds_the_ends():
    t = fn.Table([0.0, 0.5, 1.0], [4.0, 3.0, 2.0])
    # linear interpolation of these values: exact to round-off (measured 0)
    np.testing.assert_allclose(t(np.array([0.25, 0.75])), [3.5, 2.5], rtol=1e-12)
    np.testing.assert_allclose(t(np.array([-1.0, 2.0])), [4.0, 2.0], rtol=1e-12)
    assert t(np.zeros((2, 3))).shape == (2, 3)
    assert t(np.zeros(3), np.full(3, 300.0)).shape == (3,)


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([0.0, 0.5, 0.5], [1.0, 2.0, 3.0], "strictly increasing"),
        ([0.0, 0.6, 0.5], [1.0, 2.0, 3.0], r"x\[2\] = 0.5 follows x\[1\] = 0.6"),
        ([0.0, 1.0], [1.0, float("nan")], "finite"),
        ([0.0, float("inf")], [1.0, 2.0], "finite"),
        ([0.0, 1.0], [1.0, 2.0, 3.0], "same length"),
        ([0.0], [1.0], "at least 2"),
        ([[0.0, 1.0]], [[1.0, 2.0]], "1-D"),
    ],
)
def test_table_rejects_bad_samples(x, y, match):
    with pytest.raises(ValueError, match=match):
        fn.Table(x, y)


def test_table_is_immutable():
    t = fn.Table([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        t.x[0] = 5.0


def test_polynomial_in_c():
    p = fn.PolynomialInC((1.0, 2.0, 3.0), c_scale_mol_m3=1000.0, value_scale=10.0)
    np.testing.assert_allclose(p(np.array([0.0, 1000.0, 2000.0])), [10.0, 60.0, 170.0], rtol=1e-12)  # measured 0
    with pytest.raises(ValueError):
        fn.PolynomialInC((), 1000.0)
    with pytest.raises(ValueError):
        fn.PolynomialInC((1.0,), 0.0)


def test_electrolyte_arrhenius():
    base = fn.PolynomialInC((0.0, 1.0))  # value = c / 1000
    f = fn.ElectrolyteArrhenius(base, 20000.0, T_ref_K=298.15)
    c = np.array([500.0, 1000.0])
    np.testing.assert_allclose(f(c, 298.15), base(c), rtol=1e-12)  # exp(0) = 1 (measured: equal)
    expected = base(c) * np.exp(20000.0 / R * (1 / 298.15 - 1 / 318.15))
    np.testing.assert_allclose(f(c, np.array([318.15, 318.15])), expected, rtol=1e-14)
    assert f(c, 318.15)[0] > f(c, 298.15)[0] > f(c, 273.15)[0]
    no_activation = fn.ElectrolyteArrhenius(base, 0.0)
    np.testing.assert_allclose(no_activation(c, 250.0), base(c), rtol=1e-12)
    with pytest.raises(ValueError):
        fn.ElectrolyteArrhenius(base, -1.0)


def test_tanh_staircase_sits_on_its_plateaus():
    s = fn.TanhStaircase((1.0, 0.7, 0.4), (0.3, 0.6), width_sto=0.01)
    # 15 widths from the steps the tanh tails are ~e^-30 ~ 1e-13 (measured 5.6e-17)
    np.testing.assert_allclose(s(np.array([0.1, 0.45, 0.9])), [1.0, 0.7, 0.4], rtol=0, atol=1e-12)
    assert s(0.3) == pytest.approx(0.85, rel=1e-12)  # half way at a step (measured 1.3e-16)
    assert np.all(np.diff(s(np.linspace(0, 1, 1001))) <= 0)
    with pytest.raises(ValueError, match="one value fewer"):
        fn.TanhStaircase((1.0, 0.7), (0.3, 0.6))
    with pytest.raises(ValueError, match="increasing"):
        fn.TanhStaircase((1.0, 0.7, 0.4), (0.6, 0.3))


@pytest.mark.parametrize("name", sorted(fn.FUNCTIONS))
def test_registry_entries_are_documented_picklable_and_vectorized(name):
    entry = fn.FUNCTIONS[name]
    assert entry.__doc__ and len(entry.__doc__) > 40
    if fn.is_factory(entry):
        return
    assert fn.function_kind(entry) in ("sto", "electrolyte")
    clone = pickle.loads(pickle.dumps(entry))
    x = np.linspace(0.05, 0.95, 12).reshape(3, 4)
    if fn.function_kind(entry) == "electrolyte":
        x = x * 2000.0
        out, again = entry(x, np.full_like(x, 300.0)), clone(x, np.full_like(x, 300.0))
    else:
        out, again = entry(x), clone(x)
    assert out.shape == (3, 4)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, again)


def test_built_functions_survive_pickling():
    t = fn.Table([0.0, 1.0], [1.0, 0.0])
    arr = fn.ElectrolyteArrhenius(fn.nyman2008_conductivity, 10000.0)
    for f in (t, arr, fn.TanhStaircase((1.0, 0.5), (0.5,)), fn.Constant(1.0)):
        g = pickle.loads(pickle.dumps(f))
        np.testing.assert_array_equal(g(np.array([0.2, 700.0])), f(np.array([0.2, 700.0])))


@pytest.mark.parametrize("name", sorted(n for n, f in fn.FUNCTIONS.items() if not fn.is_factory(f)))
def test_compiled_slope_matches_a_finite_difference(name):
    """The derivative each compiled formula returns (used by the kernels' exact dV/dI)."""
    f = fn.FUNCTIONS[name]
    code, p = fn.spec_of(f)
    xs = np.linspace(0.02, 0.97, 41) * (2000.0 if fn.function_kind(f) == "electrolyte" else 1.0)
    for x in xs:
        value, slope = fn.value_slope(code, p, x)
        assert value == pytest.approx(float(f(np.array([x]))[0]), rel=1e-14, abs=1e-15)
        h = 1e-6 * max(abs(x), 1e-3)
        fd = (fn.value_slope(code, p, x + h)[0] - fn.value_slope(code, p, x - h)[0]) / (2 * h)
        # the central difference's truncation and round-off (measured: 0.28 of this bound)
        assert slope == pytest.approx(fd, rel=1e-6, abs=1e-10 * max(1.0, abs(value) / max(abs(x), 1e-3)))


@pytest.mark.parametrize("f, xs", [
    (fn.Table([0.0, 0.5, 1.0], [4.0, 3.0, 2.5]), [-0.5, 0.2, 0.5, 0.7, 1.0, 1.5]),
    (fn.TanhStaircase((1.0, 0.7, 0.4), (0.3, 0.6), width_sto=0.01), [0.1, 0.3, 0.31, 0.62]),
    (fn.PolynomialInC((1.0, 2.0, 3.0), 1000.0, 10.0), [0.0, 500.0, 1500.0]),
    (fn.Constant(2.5), [0.3]),
])
def test_compiled_slope_of_the_building_blocks(f, xs):
    code, p = fn.spec_of(f)
    for x in xs:
        value, slope = fn.value_slope(code, p, x)
        assert value == pytest.approx(float(f(np.array([x]))[0]), rel=1e-14)
        h = 1e-7 * max(abs(x), 1.0)
        if isinstance(f, fn.Table) and x in (-0.5, 0.5, 1.0, 1.5):
            continue  # kinks and held ends: one-sided
        fd = (fn.value_slope(code, p, x + h)[0] - fn.value_slope(code, p, x - h)[0]) / (2 * h)
        assert slope == pytest.approx(fd, rel=3e-7, abs=1e-12)  # the central difference (measured 8.3e-8)
