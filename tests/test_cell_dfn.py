"""The batched Doyle-Fuller-Newman model (cosim.cell.dfn): accuracy against PyBaMM's DFN
for Chen2020, exact lithium conservation, the low-rate limit, batch independence, the
power / voltage modes, sub-stepping and the outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cosim.cell.base import OUTPUTS, ConvergenceError
from cosim.cell.dfn import DFN
from cosim.cell.electrolyte1d import DEFAULT_VOLUMES
from cosim.cell.functions import Constant
from cosim.cell.params import F
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.protocols import constant_current
from reference_data import CHEN2020_FINE, pybamm_curve

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference" / "pybamm-chen2020"
T25 = 298.15


def chen2020(n: int = 1):
    return load_parameter_set("chen2020").to_cell_params(n)


def with_negative(p, **changes):
    return p.with_(negative=replace(p.negative, **changes))


def with_material(p, side: str, k: int = 0, **changes):
    el = getattr(p, side)
    mats = list(el.materials)
    mats[k] = replace(mats[k], **changes)
    return p.with_(**{side: replace(el, materials=tuple(mats))})


def discharge(model: DFN, current, h: float = 10.0, cutoff: float = 2.5, max_steps: int = 1000):
    """Constant current until every cell is below ``cutoff``: times, voltages (steps, cells)."""
    t, times, volts = 0.0, [], []
    for _ in range(max_steps):
        V = model.step(h, T25, current_A=current)["voltage_V"].copy()
        t += h
        times.append(t)
        volts.append(V)
        if np.all(V < cutoff):
            break
    return np.array(times), np.array(volts)


def crossing(times, volts, level):
    """Time at which a falling voltage series first crosses ``level`` (linear between steps)."""
    k = int(np.argmax(volts < level))
    assert k > 0
    return times[k - 1] + (volts[k - 1] - level) / (volts[k - 1] - volts[k]) * (times[k] - times[k - 1])


# -- accuracy against PyBaMM ------------------------------------------------------------------


def _voltage_errors(times, V, t_ref, V_ref):
    """RMS and largest voltage difference on the reference's 10 s grid, the last minute
    before the cut-off left out."""
    sel = (times > 0.0) & (times <= t_ref[-1] - 60.0) & np.isin(times, t_ref)
    assert sel.sum() == np.count_nonzero(t_ref <= t_ref[-1] - 60.0) - 1  # every grid point after t = 0
    err = V[sel] - np.interp(times[sel], t_ref, V_ref)
    return np.sqrt(np.mean(err**2)), np.max(np.abs(err))


def test_1c_discharge_matches_pybamm_dfn():
    csv = REFERENCE / "dfn_1C.csv"
    if not csv.exists():
        pytest.skip(f"shared PyBaMM reference data not found at {csv}")
    ref = np.loadtxt(csv, delimiter=",", skiprows=1)
    t_ref, I_ref, V_ref, Q_ref = ref.T
    assert np.all(I_ref == 5.0)
    # PyBaMM's own discretisation (20 volumes per region, 20 uniform shells, arithmetic face
    # means): the curve is PyBaMM's 20-point solution, whose own discretisation error (9.4 mV at
    # t = 10 s and 8.2e-5 in capacity from its 16x solution, tests/data/pybamm_chen2020_fine)
    # exceeds these tolerances; the default mesh is held to PyBaMM's 16x DFN below
    model = DFN(chen2020(1), n_x=(20, 20, 20), n_r=20, face_mean="arithmetic", particle_grading=1.0)
    times, volts = discharge(model, 5.0, h=10.0)
    V = volts[:, 0]
    rms, worst = _voltage_errors(times, V, t_ref, V_ref)
    # two discretisations of the DFN (PyBaMM's finite volumes, ours): measured 0.80 mV RMS,
    # 1.39 mV max, 1.8e-5 in capacity (crossing interpolated linearly between the 10 s steps,
    # which puts it about 3e-5 early; located to 0.01 s: 4.9e-5)
    assert rms < 2e-3, f"RMS {rms * 1e3:.2f} mV"
    assert worst < 3.5e-3, f"max {worst * 1e3:.2f} mV"
    # discharged capacity at the cut-off
    capacity_Ah = 5.0 * crossing(times, V, 2.5) / 3600.0
    assert abs(capacity_Ah / Q_ref[-1] - 1.0) < 5e-5, (capacity_Ah, Q_ref[-1])


def test_1c_discharge_of_the_default_mesh_matches_pybamms_converged_dfn():
    """The default mesh against PyBaMM's DFN on a 16x mesh (within 0.05 mV RMS and 2.4e-6 in
    capacity of its converged solution), at the tolerances of the 20-point test above, in
    2.5 s steps (time-converged: 1.25 s moves the voltage by < 0.01 mV RMS and the capacity by
    4e-7) with the cut-off located to 0.01 s, as PyBaMM's event is (interpolated linearly
    between fixed 10 s steps it came 3.2e-5 early). Measured 0.37 mV RMS, 0.85 mV max,
    -7.9e-5 in capacity (PyBaMM's 20-point curve: 1.08 mV RMS, 9.4 mV max, +8.2e-5). The
    capacity is the particles' share: the default's 20 graded shells end the discharge
    7.9e-5 early (40 graded shells: -2.5e-5, at about 1.3x the cost per cell-step; see
    docs/mesh_convergence.md), so the bound is 2x that, not the 20-point test's 5e-5."""
    ref = pybamm_curve("dfn_1C_x16.csv", CHEN2020_FINE)
    run = constant_current(DFN(chen2020(1)), 5.0, first_step_s=2.5, max_step_s=2.5, cutoff_tol_s=0.01)
    rms, worst = _voltage_errors(run.time_s, run.voltage_V[:, 0], ref["time_s"], ref["voltage_V"])
    cap = run.capacity_As[0] / 3600.0 / ref["capacity_Ah"][-1] - 1.0
    print(f"default DFN vs PyBaMM 16x: {rms * 1e3:.3f} mV RMS, {worst * 1e3:.3f} mV max, capacity {cap:.2e}")
    assert rms < 2e-3, f"RMS {rms * 1e3:.2f} mV"
    assert worst < 3.5e-3, f"max {worst * 1e3:.2f} mV"
    assert abs(cap) < 1.6e-4, cap


# -- conservation and the low-rate limit ---------------------------------------------------------


def test_lithium_conserved_to_round_off_with_a_varying_current():
    m = DFN(chen2020(1))
    neg0, pos0 = m.lithium_in_particles_mol("negative"), m.lithium_in_particles_mol("positive")
    salt0 = m.lithium_in_electrolyte_mol()
    charge = 0.0
    rng = np.random.default_rng(7)
    steps = [1.0, 10.0, 3.0, 30.0, 0.1]
    for k in range(150):
        I = 6.0 * np.sin(k / 9.0) + 3.0 + rng.normal()  # discharge, rest-like and charge
        h = steps[k % len(steps)]
        m.step(h, T25, current_A=I)
        charge += I * h
    moved = charge / F
    assert abs(moved) > 1e-3
    neg, pos = m.lithium_in_particles_mol("negative"), m.lithium_in_particles_mol("positive")
    total0 = neg0 + pos0 + salt0
    # round-off (measured 8.9e-15 and 6.7e-15 relative)
    assert np.all(np.abs((neg0 - neg) - moved) <= 1e-12 * abs(moved))
    assert np.all(np.abs((pos - pos0) - moved) <= 1e-12 * abs(moved))
    assert np.all(np.abs(neg + pos + m.lithium_in_electrolyte_mol() - total0) <= 1e-12 * total0)


def test_low_rate_voltage_tends_to_the_ocv():
    """C/1000 stays within 2 mV of the OCV at the same mean stoichiometries over the
    discharge (above 3 V, where the OCV is not steep); at C/100 the gap is ten times larger:
    linear kinetics (Chen2020's graphite exchange current is only ~0.2 A/m^2, which alone
    costs ~3 mV at C/100), so C/100 cannot be held to 2 mV."""
    gaps = {}
    for rate, h in ((1000, 36000.0), (100, 3600.0)):
        m = DFN(chen2020(1))
        I = m._current_scale() / rate
        gap, soc = [], []
        for _ in range(200):
            out = m.step(h, T25, current_A=I)
            if out["voltage_V"][0] < 3.0:
                break
            gap.append(out["voltage_V"][0] - out["ocv_V"][0])
            soc.append(out["soc"][0])
        assert soc[-1] < 0.15
        gaps[rate] = np.array(gap)
    assert np.all(np.abs(gaps[1000]) < 2e-3)  # measured 0.84 mV
    assert np.all(gaps[1000] < 0) and np.all(gaps[100] < 0)
    ratio = gaps[100] / gaps[1000]
    assert np.all((ratio > 9.0) & (ratio < 11.0)), ratio  # measured 9.69 ... 10.47


# -- batches ------------------------------------------------------------------------------------


def test_identical_cells_in_a_batch_give_identical_results():
    m = DFN(chen2020(3))
    for k in range(40):
        out = m.step(10.0, T25, current_A=5.0 + 2.0 * np.sin(k / 4.0))
        for key in ("voltage_V", "heat_ohmic_W", "anode_potential_V", "soc"):
            assert np.all(out[key] == out[key][0]), key
    c = m.electrolyte_concentration
    assert c.shape == (3, sum(DEFAULT_VOLUMES))
    assert np.all(c == c[0])


def test_each_cell_of_a_spread_batch_gets_what_it_gets_alone():
    thickness = np.array([85.2e-6, 70e-6, 95e-6, 60e-6])
    porosity = np.array([0.25, 0.3, 0.22, 0.25])
    current = np.array([5.0, 4.0, 6.0, 7.5])
    T = np.array([298.15, 288.15, 308.15, 298.15])
    batch = DFN(with_negative(chen2020(4), thickness_m=thickness, porosity=porosity))
    alone = [DFN(with_negative(chen2020(1), thickness_m=thickness[i:i + 1], porosity=porosity[i:i + 1]))
             for i in range(4)]
    for k in range(60):
        scale = 1.0 + 0.5 * np.sin(k / 6.0)
        out = batch.step(10.0, T, current_A=current * scale)
        for i, single in enumerate(alone):
            o = single.step(10.0, T[i], current_A=current[i] * scale)
            for key, tol in (("voltage_V", 1e-12), ("soc", 1e-12), ("anode_potential_V", 1e-12),
                             ("heat_reaction_W", 1e-11), ("heat_ohmic_W", 1e-11)):  # heats: differences
                assert abs(out[key][i] - o[key][0]) <= tol * max(1.0, abs(o[key][0])), (k, i, key)
    for i, single in enumerate(alone):
        assert np.allclose(batch.electrolyte_concentration[i], single.electrolyte_concentration[0],
                           rtol=1e-12, atol=0)
    # the same in power mode (the root finder's trial currents differ once a cell has converged)
    power = np.array([15.0, 12.0, 20.0, 25.0])
    for k in range(5):
        out = batch.step(10.0, T, power_W=power)
        for i, single in enumerate(alone):
            o = single.step(10.0, T[i], power_W=power[i])
            assert abs(out["voltage_V"][i] - o["voltage_V"][0]) < 1e-12  # measured 2.2e-15 V


# -- control modes, state handling ----------------------------------------------------------------


def test_power_and_voltage_modes():
    m = DFN(chen2020(2))
    m.step(10.0, T25, current_A=5.0)
    P = np.array([15.0, 22.0])
    out = m.step(10.0, T25, power_W=P)
    # Newton converged to round-off (measured 4.4e-16, 3.6e-15 W, 8.9e-16 V)
    assert np.allclose(out["voltage_V"] * out["current_A"], P, rtol=1e-12, atol=0)
    out = m.step(10.0, T25, power_W=np.array([-10.0, 0.0]))  # charge and rest
    assert np.allclose(out["voltage_V"] * out["current_A"], [-10.0, 0.0], rtol=1e-12, atol=1e-12)
    target = np.array([3.85, 3.75])
    for _ in range(3):
        out = m.step(10.0, T25, voltage_V=target)
        assert np.allclose(out["voltage_V"], target, rtol=0, atol=1e-12)
    assert np.all(out["current_A"] > 0) and out["current_A"][1] > out["current_A"][0]


def test_evaluation_leaves_the_state_alone_and_states_round_trip():
    m = DFN(chen2020(2))
    for _ in range(5):
        m.step(10.0, T25, current_A=5.0)
    state = m.get_state()
    V1 = m.voltage_after(10.0, T25, [4.0, 8.0])
    V2 = m.voltage_after(10.0, T25, [4.0, 8.0])
    assert np.array_equal(V1, V2)
    out = m.step(10.0, T25, current_A=[4.0, 8.0])
    assert np.array_equal(out["voltage_V"], V1)
    after = {k: v.copy() for k, v in out.items()}
    m.step(30.0, T25, current_A=[-3.0, 1.0])
    m.set_state(state)
    out = m.step(10.0, T25, current_A=[4.0, 8.0])
    for k, v in after.items():
        assert np.array_equal(out[k], v), k


# -- sub-stepping and failures -------------------------------------------------------------------------


class _FullStepFails(DFN):
    """A DFN whose Newton solve fails for the full 10 s step of the cells in ``flaky``."""

    flaky: tuple[int, ...] = ()

    def _newton(self, ctx, ia, X, *args):
        ok, X, V = super()._newton(ctx, ia, X, *args)
        if ctx["h"] == 10.0 and ok.size == self.n:
            ok = ok.copy()
            ok[list(self.flaky)] = False
        return ok, X, V


def test_a_failed_step_is_retried_in_halves():
    flaky = _FullStepFails(chen2020(3))
    flaky.flaky = (1,)
    plain = DFN(chen2020(3))
    halves = DFN(chen2020(3))
    for k in range(20):
        I = 5.0 + 3.0 * np.sin(k / 3.0)
        V = flaky.step(10.0, T25, current_A=I)["voltage_V"]
        Vp = plain.step(10.0, T25, current_A=I)["voltage_V"]
        halves.step(5.0, T25, current_A=I)
        Vh = halves.step(5.0, T25, current_A=I)["voltage_V"]
        assert V[0] == Vp[0] and V[2] == Vp[2]  # the other cells are untouched
        assert abs(V[1] - Vh[1]) < 1e-7  # two half steps (to the Newton tolerance)
    q = flaky.lithium_in_particles_mol() + flaky.lithium_in_electrolyte_mol()
    q0 = DFN(chen2020(3))
    q0 = q0.lithium_in_particles_mol() + q0.lithium_in_electrolyte_mol()
    assert np.allclose(q, q0, rtol=1e-13, atol=0)


def test_an_infeasible_current_gives_nan_and_a_convergence_error_naming_the_cell():
    m = DFN(chen2020(2))
    for _ in range(340):  # close to the end of a 1C discharge
        m.step(10.0, T25, current_A=5.0)
    state = m.get_state()
    V = m.voltage_after(60.0, T25, [5.0, 40.0])
    assert np.isfinite(V[0]) and np.isnan(V[1])
    with pytest.raises(ConvergenceError) as info:
        m.step(60.0, T25, current_A=[5.0, 40.0])
    assert info.value.cells.tolist() == [1]
    z = [x.copy() for x in state[0]]
    assert all(np.array_equal(a, b) for a, b in zip(m.get_state()[0], z))
    assert np.array_equal(m.voltage_after(60.0, T25, [5.0, 40.0])[0], V[0])


# -- outputs ---------------------------------------------------------------------------------------


def test_outputs_and_heat_balance():
    p = chen2020(2)
    m = DFN(p)
    out = m.step(1e-6, T25, current_A=0.0)
    # at rest: OCV, SOC of the initial state, anode potential = U_n(initial stoichiometry)
    neg, pos = p.negative.materials[0], p.positive.materials[0]
    U0 = pos.ocp_V(pos.sto_initial) - neg.ocp_V(neg.sto_initial)
    # round-off (measured 4.4e-15 V, 1.4e-17 V, 9e-16)
    assert np.allclose(out["voltage_V"], U0, rtol=0, atol=1e-12) and np.allclose(out["ocv_V"], U0, rtol=0, atol=1e-12)
    assert np.allclose(out["anode_potential_V"], neg.ocp_V(neg.sto_initial), rtol=0, atol=1e-12)
    soc0 = (neg.sto_initial - neg.sto_at_soc0) / (neg.sto_at_soc100 - neg.sto_at_soc0)
    assert np.allclose(out["soc"], soc0, rtol=1e-12, atol=0)
    for _ in range(30):
        out = m.step(10.0, T25, current_A=[5.0, 10.0])
    for key in OUTPUTS:
        assert out[key].shape == (2,), key
    for side, mat in (("negative", neg), ("positive", pos)):
        for kind in ("surface", "mean"):
            assert out[f"sto_{kind}_{side}_{mat.name}"].shape == (2,)
    assert np.all(out["sto_surface_negative_graphite"] < out["sto_mean_negative_graphite"])
    assert np.all(out["sto_surface_positive_nmc811"] > out["sto_mean_positive_nmc811"])
    assert np.all(out["heat_ohmic_W"] > 0) and np.all(out["heat_reaction_W"] > 0)
    assert out["heat_ohmic_W"][1] > 3 * out["heat_ohmic_W"][0]
    assert np.all(out["heat_reversible_W"] == 0)
    assert np.all(out["anode_potential_V"] > 0.05) and np.all(out["anode_potential_V"] < 0.3)
    # energy: ohmic + reaction heat = -sum(a j U(surface) dV) - I V (the open-circuit power of
    # the reactions minus the electrical power), up to the collector half-cell (measured 1.8e-4)
    sto_surface = np.concatenate([mm["pb"].surface / mm["cmax"][:, None] for mm in m.mats], axis=1)
    U_surface, _ = m._ocp(sto_surface, 0.0, False, False)
    j = m.X[:, 2 * m.N + m.Ne:]  # the solution: salt, phi_e, phi_s, then j per site
    emf_power = -(m.a_dx * j * U_surface).sum(axis=1) * m.area
    heat = out["heat_ohmic_W"] + out["heat_reaction_W"]
    assert np.allclose(heat, emf_power - out["current_A"] * out["voltage_V"], rtol=5e-4, atol=0)
    c = m.electrolyte_concentration
    assert c.shape == (2, sum(DEFAULT_VOLUMES)) and np.all(c[:, 0] > c[:, -1])


def test_entropic_term_and_arrhenius():
    p = chen2020(2)
    p = with_material(p, "negative", entropic_V_K=Constant(-1e-4))
    p = with_material(p, "positive", entropic_V_K=Constant(2e-4))
    m = DFN(p)
    T = np.array([298.15, 318.15])
    out = m.step(1e-6, T, current_A=0.0)
    # round-off (measured 1.1e-13 of the 6 mV difference, 8.9e-16 V)
    assert np.allclose(out["ocv_V"][1] - out["ocv_V"][0], 20.0 * 3e-4, rtol=1e-12, atol=0)
    assert np.allclose(out["voltage_V"], out["ocv_V"], rtol=0, atol=1e-12)
    out = m.step(10.0, T, current_A=5.0)
    # reversible heat: -I T (dU_p/dT - dU_n/dT) on discharge with uniform dU/dT
    assert np.allclose(out["heat_reversible_W"], -5.0 * T * 3e-4, rtol=1e-12, atol=0)  # measured 1.2e-16
    # warmer: faster kinetics, less overpotential
    assert out["ocv_V"][1] - out["voltage_V"][1] < out["ocv_V"][0] - out["voltage_V"][0]


# -- several materials, general Butler-Volmer, film resistance ----------------------------------------


def test_an_electrode_split_into_two_identical_materials_behaves_as_one():
    p = chen2020(1)
    g = p.negative.materials[0]
    halves = (replace(g, name="a", volume_fraction=g.volume_fraction / 2),
              replace(g, name="b", volume_fraction=g.volume_fraction / 2))
    two = DFN(p.with_(negative=replace(p.negative, materials=halves)))
    one = DFN(p)
    for k in range(30):
        I = 5.0 + 4.0 * np.sin(k / 5.0)
        o2 = two.step(10.0, T25, current_A=I)
        o1 = one.step(10.0, T25, current_A=I)
        assert abs(o2["voltage_V"][0] - o1["voltage_V"][0]) < 1e-12  # measured 4.4e-14 V (Newton)
    # round-off (measured 1.1e-16, 1.1e-16, 2.2e-16)
    assert abs(o2["sto_mean_negative_a"][0] - o1["sto_mean_negative_graphite"][0]) < 1e-13
    assert abs(o2["sto_mean_negative_b"][0] - o1["sto_mean_negative_graphite"][0]) < 1e-13
    assert abs(o2["soc"][0] - o1["soc"][0]) < 1e-13


def test_two_different_materials_share_the_current_and_conserve_lithium():
    p = chen2020(1)
    g = p.negative.materials[0]
    second = replace(g, name="fast", volume_fraction=g.volume_fraction * 0.3, particle_radius_m=g.particle_radius_m / 3,
                     sto_initial=g.sto_initial * 0.95, rate_constant=g.rate_constant * 5)
    p = p.with_(negative=replace(p.negative, materials=(replace(g, volume_fraction=g.volume_fraction * 0.7), second)))
    m = DFN(p)
    neg0 = m.lithium_in_particles_mol("negative")
    total0 = neg0 + m.lithium_in_particles_mol("positive") + m.lithium_in_electrolyte_mol()
    out = m.step(600.0, T25, current_A=0.0)  # the materials equilibrate at rest
    assert abs(out["sto_mean_negative_graphite"][0] - out["sto_mean_negative_fast"][0]) > 1e-3
    times, volts = discharge(m, 5.0, h=20.0)
    assert 3000 < crossing(times, volts[:, 0], 2.5) < 4000
    moved = 5.0 * times[-1] / F
    assert abs(neg0 - m.lithium_in_particles_mol("negative") - moved) < 1e-12 * moved  # measured 7.9e-15
    total = m.lithium_in_particles_mol() + m.lithium_in_electrolyte_mol()
    assert abs(total - total0) < 1e-12 * total0


def test_general_butler_volmer_path_agrees_and_asymmetric_kinetics_run():
    p = chen2020(1)
    sym, general = DFN(p, tol=1e-12), DFN(p, tol=1e-12, _general_bv=True)
    for k in range(20):
        I = 5.0 + 3.0 * np.sin(k / 3.0)
        assert abs(sym.step(10.0, T25, current_A=I)["voltage_V"][0]
                   - general.step(10.0, T25, current_A=I)["voltage_V"][0]) < 1e-12  # measured 1.2e-14 V
    asym = DFN(with_material(p, "positive", alpha_a=0.7, alpha_c=0.3))
    times, volts = discharge(asym, 5.0, h=10.0)
    assert 3400 < crossing(times, volts[:, 0], 2.5) < 3700


def test_film_resistance_adds_its_ohmic_drop():
    p = chen2020(1)
    R_film = 0.01  # Ohm m^2 of particle surface
    film = DFN(with_material(p, "negative", film_resistance_Ohm_m2=np.array([R_film])))
    bare = DFN(p)
    dV = bare.step(1.0, T25, current_A=5.0)["voltage_V"] - film.step(1.0, T25, current_A=5.0)["voltage_V"]
    g = p.negative.materials[0]
    j_mean = 5.0 / (p.area_m2 * g.surface_area_per_volume * p.negative.thickness_m)
    # the film dissipates R_film j^2 per m^2 of surface; to first order in R_film the extra
    # drop is that loss over the current, R_film <j^2> / <j> >= R_film j_mean (Cauchy-Schwarz;
    # equal for a uniform reaction), and a film makes the reaction more uniform. Measured:
    # 1.0146 R_film j_mean (1.0201 as R_film -> 0: the bare cell's <j^2>/<j>^2 after 1 s at 1C),
    # so the window is [1, 1.03]; a film on a part of the current (or not at all) falls below 1
    assert R_film * j_mean <= dV[0] < 1.03 * R_film * j_mean


def test_contact_resistance_is_a_series_drop_and_its_heat():
    p = chen2020(1)
    bare, contact = DFN(p), DFN(p.with_(contact_resistance_Ohm=np.array([0.01])))
    for _ in range(5):
        ob = bare.step(10.0, T25, current_A=5.0)
        oc = contact.step(10.0, T25, current_A=5.0)
    assert abs((ob["voltage_V"][0] - oc["voltage_V"][0]) - 0.05) < 1e-12
    assert abs((oc["heat_ohmic_W"][0] - ob["heat_ohmic_W"][0]) - 0.25) < 1e-12  # measured 0


def test_dfn_and_spme_agree_at_low_rate():
    from cosim.cell.spme import SPMe

    params = load_parameter_set("chen2020").to_cell_params(1)
    dfn, spme = DFN(params), SPMe(params)
    for _ in range(30):  # C/10 for 3000 s
        a = dfn.step(100.0, 298.15, current_A=0.5)["voltage_V"][0]
        b = spme.step(100.0, 298.15, current_A=0.5)["voltage_V"][0]
        assert abs(a - b) < 6e-4  # measured 0.20 mV
