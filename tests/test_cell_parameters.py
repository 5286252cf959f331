"""Cell parameter sets (cosim.cell.parameter_set): the shipped files, their conversion to
CellParams, overrides, rebalancing and the validation of bad input."""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from cosim.cell import functions as fn
from cosim.cell.parameter_set import (
    CAPACITY_BALANCE_RTOL,
    PARAMETERS_DIR,
    ParameterSet,
    available_parameter_sets,
    load_parameter_set,
)
from cosim.cell.params import ActiveMaterial, CellParams
from cosim.errors import ScenarioError

SHIPPED = [
    "chen2020",
    "doyle1996_cell1",
    "doyle1996_cell2",
    "doyle1996_cell3",
    "seed_bcarbon_sno2_nmc_spe",
    "seed_bcarbon_sns_lco_gel",
    "seed_bgraphite_sno2_lmo_gel",
    "seed_bgraphite_sno2_nca_gel",
    "seed_carbon_film_lmo_gel",
]
SEEDS = [n for n in SHIPPED if n.startswith("seed_")]
CHEN_TEXT = (PARAMETERS_DIR / "chen2020.toml").read_text(encoding="utf-8")


def _ocv(ps: ParameterSet, key: str) -> float:
    """Open-circuit voltage with every material at its ``key`` stoichiometry (the first
    material stands for its electrode: materials of one electrode share the potential)."""
    neg, pos = ps.negative.materials[0], ps.positive.materials[0]
    u_pos = fn_of(pos)(getattr(pos, key))
    u_neg = fn_of(neg)(getattr(neg, key))
    return float(u_pos - u_neg)


def fn_of(material):
    from cosim.cell.parameter_set import build_function

    return build_function(material.ocp_V)


# -- shipped sets -------------------------------------------------------------------------


def test_available_parameter_sets_lists_the_shipped_files():
    assert available_parameter_sets() == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_set_loads_with_positive_capacities(name):
    ps = load_parameter_set(name)
    assert ps.name == name
    assert ps.path == PARAMETERS_DIR / f"{name}.toml"
    th, w = ps.theoretical_capacity_As(), ps.window_capacity_As()
    assert th["negative"] > 0 and th["positive"] > 0
    assert 0 < w["negative"] <= th["negative"] and 0 < w["positive"] <= th["positive"]
    assert abs(w["negative"] - w["positive"]) <= CAPACITY_BALANCE_RTOL * max(w.values())
    assert ps.usable_capacity_As() == pytest.approx(min(w.values()), rel=1e-12)  # measured: equal
    assert ps.meta.citations


@pytest.mark.parametrize("name", SHIPPED)
def test_to_cell_params_broadcasts_every_per_cell_value(name):
    params = load_parameter_set(name).to_cell_params(5)
    assert isinstance(params, CellParams) and params.n_cells == 5

    arrays = []

    def walk(obj):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, np.ndarray):
                arrays.append((f.name, value))
            elif dataclasses.is_dataclass(value):
                walk(value)
            elif isinstance(value, tuple):
                for item in value:
                    if dataclasses.is_dataclass(item):
                        walk(item)

    walk(params)
    assert len(arrays) >= 20
    for field_name, value in arrays:
        assert value.shape == (5,), field_name
        assert value.dtype == np.float64, field_name
        assert np.all(value == value[0]), field_name
    material = params.negative.materials[0]
    assert isinstance(material, ActiveMaterial)
    sto = np.linspace(0.1, 0.9, 7)
    assert material.ocp_V(sto).shape == (7,)
    c = np.full(5, 1000.0)
    T = np.full(5, 310.0)
    assert np.all(params.electrolyte.conductivity_S_m(c, T) > 0)
    assert np.all(params.electrolyte.diffusivity_m2_s(c, T) > 0)
    clone = pickle.loads(pickle.dumps(params))  # solvers may ship a batch to workers
    np.testing.assert_array_equal(clone.negative.materials[0].ocp_V(sto), material.ocp_V(sto))


def test_to_cell_params_rejects_bad_n_cells():
    ps = load_parameter_set("chen2020")
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n_cells"):
            ps.to_cell_params(bad)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_in_a_shipped_file_carries_a_source_comment(name):
    text = (PARAMETERS_DIR / f"{name}.toml").read_text(encoding="utf-8")
    number = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*(\[\s*)?([-+0-9.]|nan|inf)")
    for n, line in enumerate(text.splitlines(), start=1):
        if number.match(line):
            assert "#" in line, f"{name}.toml:{n} has no source comment: {line}"
            comment = line.split("#", 1)[1].strip()
            assert len(comment) > 3, f"{name}.toml:{n}: comment too short"


# -- Chen2020 ---------------------------------------------------------------------------------


def test_chen2020_values_are_pybamms():
    ps = load_parameter_set("chen2020")
    p = ps.to_cell_params()
    assert p.area_m2[0] == pytest.approx(0.065 * 1.58, rel=1e-12)  # round-off (measured 1.4e-16)
    neg, pos = p.negative.materials[0], p.positive.materials[0]
    assert neg.sto_initial[0] * 33133.0 == pytest.approx(29866.0, abs=1e-5)
    assert pos.sto_initial[0] * 63104.0 == pytest.approx(17038.0, abs=1e-5)
    assert neg.rate_constant[0] == 6.48e-7 and neg.rate_activation_J_mol == 35000.0
    assert pos.rate_constant[0] == 3.42e-6 and pos.rate_activation_J_mol == 17800.0
    assert p.electrolyte.transference_number == 0.2594
    assert p.negative.bruggeman[0] == p.positive.bruggeman[0] == p.separator.bruggeman[0] == 1.5
    assert p.negative.conductivity_S_m[0] == 215.0 and p.positive.conductivity_S_m[0] == 0.18
    assert p.electrolyte.conductivity_S_m is fn.nyman2008_conductivity
    assert (p.lower_voltage_V, p.upper_voltage_V, p.T_ref_K) == (2.5, 4.2, 298.15)


def test_chen2020_soc_window_is_pybamms_electrode_soh():
    """0 % and 100 % SOC are the open-circuit states at 2.5 V and 4.2 V that hold the
    cyclable lithium of PyBaMM's initial concentrations."""
    ps = load_parameter_set("chen2020")
    # the shipped window's digits (measured 2.7e-11 and 7.6e-10 V)
    assert _ocv(ps, "sto_at_soc100") == pytest.approx(4.2, abs=1e-10)
    assert _ocv(ps, "sto_at_soc0") == pytest.approx(2.5, abs=2e-9)
    q = {side: ps.theoretical_capacity_As()[side] for side in ("negative", "positive")}
    lithium = [
        q["negative"] * ps.negative.materials[0].__getattribute__(k)
        + q["positive"] * ps.positive.materials[0].__getattribute__(k)
        for k in ("sto_initial", "sto_at_soc0", "sto_at_soc100")
    ]
    # likewise (measured 2.0e-11 and 3.7e-11)
    assert lithium[1] == pytest.approx(lithium[0], rel=1e-10)
    assert lithium[2] == pytest.approx(lithium[0], rel=1e-10)
    assert 4.9 < ps.usable_capacity_As() / 3600 < 5.3  # nominal 5 A h
    again = ps.rebalanced()
    for side in ("negative", "positive"):
        a, b = ps.electrode(side).materials[0], again.electrode(side).materials[0]
        # the rebalance solves to the shipped digits (measured 0 and 1.0e-10)
        assert b.sto_at_soc0 == pytest.approx(a.sto_at_soc0, abs=3e-10)
        assert b.sto_at_soc100 == pytest.approx(a.sto_at_soc100, abs=3e-10)


# -- Doyle 1996 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, q_pos, q_neg, li_neg, ocv",
    [
        (1, 31.66, 33.32, 18.77, 4.2237),
        (2, 34.58, 42.65, 24.03, 4.2237),
        (3, 66.61, 81.30, 42.19, 4.1889),
    ],
)
def test_doyle1996_capacities_and_initial_voltage(cell, q_pos, q_neg, li_neg, ocv):
    """Derived values of shared/reference/doyle1996.toml [cells.cellN]."""
    ps = load_parameter_set(f"doyle1996_cell{cell}")
    assert ps.cell.area_m2 == 1.0
    th = {k: v / 3600.0 for k, v in ps.theoretical_capacity_As().items()}  # A h per m^2
    # the reference's derived figures, two decimals (measured 2.3e-4, 1.1e-3 A h, 2.9e-4)
    assert th["positive"] == pytest.approx(q_pos, rel=1e-3)
    assert th["negative"] == pytest.approx(q_neg, abs=5e-3)  # half a unit of the last digit
    assert th["negative"] * ps.negative.materials[0].sto_initial == pytest.approx(li_neg, rel=1e-3)
    assert _ocv(ps, "sto_initial") == pytest.approx(ocv, abs=5e-5)
    p = ps.to_cell_params()
    assert p.negative.bruggeman[0] == p.positive.bruggeman[0] == p.separator.bruggeman[0] == 3.3
    assert p.separator.porosity[0] == 1.0
    assert p.negative.materials[0].film_resistance_Ohm_m2[0] == 0.11
    assert p.positive.materials[0].film_resistance_Ohm_m2[0] == 0.0
    # the inert filler is not active material: eps_s = (1 - porosity) * P_L
    # shipped with 6 decimals: half a unit of the last
    assert p.negative.materials[0].volume_fraction[0] == pytest.approx((1 - 0.503) * 0.9477, abs=5e-7)
    assert p.positive.materials[0].volume_fraction[0] == pytest.approx((1 - 0.630) * 0.8027, rel=1e-12)  # exact
    kappa = p.electrolyte.conductivity_S_m(np.array([1000.0]), np.array([298.0]))[0]
    assert kappa == pytest.approx(0.287 if cell == 1 else 0.205, abs=6e-4)
    # negative-limited: discharging from the initial state empties the negative first
    assert ps.negative.materials[0].sto_at_soc0 < 0.01


# -- seed chemistry ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEEDS)
def test_seed_cells_are_balanced_thin_anode_cells(name):
    ps = load_parameter_set(name)
    if "film" in name:
        assert ps.negative.thickness_m < 1e-6
        assert len(ps.negative.materials) == 1
    else:
        assert 10e-6 <= ps.negative.thickness_m <= 30e-6
        names = [m.name for m in ps.negative.materials]
        assert len(names) == 2 and names[0] in ("b_graphite", "b_carbon")
        assert names[1] in ("sno2", "sns")
    # open-circuit voltage at the window ends equals the voltage limits
    # the shipped window's digits (measured at most 1.7e-10 and 2.2e-8 V)
    assert _ocv(ps, "sto_at_soc100") == pytest.approx(ps.cell.upper_voltage_V, abs=5e-10)
    assert _ocv(ps, "sto_at_soc0") == pytest.approx(ps.cell.lower_voltage_V, abs=6e-8)
    # the cell starts charged, every material strictly inside (0, 1) (kinetics need it)
    for side in ("negative", "positive"):
        for m in ps.electrode(side).materials:
            assert m.sto_initial == m.sto_at_soc100
            assert 0 < m.sto_initial < 1
    # every material of the composite anode is at the same potential at 100 % SOC
    u = [float(fn_of(m)(m.sto_at_soc100)) for m in ps.negative.materials]
    assert max(u) - min(u) < 2e-9  # the shipped window's digits (measured 5.6e-10 V)
    # balance: the carbon is charged to 0.85 (graphite plateau) or about the Doyle 1996
    # charged state 0.57 (coke fit, which reaches 0 V vs Li near 0.7): no plating at 100 %
    carbon = ps.negative.materials[0]
    target = 0.85 if carbon.ocp_V == "chen2020_graphite_ocp" else 0.57
    assert carbon.sto_at_soc100 == pytest.approx(target, abs=0.01)
    assert float(fn_of(carbon)(carbon.sto_at_soc100)) > 0.05


def test_seed_cells_cover_the_patent_materials():
    sets = {n: load_parameter_set(n) for n in SEEDS}
    positives = {m.name for ps in sets.values() for m in ps.positive.materials}
    assert positives == {"lmo", "nmc811", "lco", "nca"}
    negatives = {m.name for ps in sets.values() for m in ps.negative.materials}
    assert {"b_graphite", "b_carbon", "sno2", "sns", "carbon"} <= negatives
    transference = {n: ps.electrolyte.transference_number for n, ps in sets.items()}
    assert transference["seed_bcarbon_sno2_nmc_spe"] >= 0.8  # single-ion-like polymer
    assert transference["seed_bgraphite_sno2_lmo_gel"] < 0.5  # gel


def test_seed_gel_conductivity_follows_its_activation_energy():
    ps = load_parameter_set("seed_bgraphite_sno2_lmo_gel")
    kappa = ps.to_cell_params().electrolyte.conductivity_S_m
    c = np.array([1000.0])
    ratio = kappa(c, np.array([318.15]))[0] / kappa(c, np.array([298.15]))[0]
    E = ps.electrolyte.conductivity_activation_J_mol
    assert E > 0
    # round-off (measured 1.3e-16 and 0)
    assert ratio == pytest.approx(math.exp(E / 8.314462618 * (1 / 298.15 - 1 / 318.15)), rel=1e-12)
    assert kappa(c, np.array([298.15]))[0] == pytest.approx(fn.doyle1996_kappa_ec_dmc_2_1(c)[0], rel=1e-12)


def test_seed_rebalance_reproduces_the_shipped_window():
    ps = load_parameter_set("seed_bgraphite_sno2_lmo_gel")
    again = ps.rebalanced()
    for side in ("negative", "positive"):
        for a, b in zip(ps.electrode(side).materials, again.electrode(side).materials):
            # the rebalance solves to the shipped digits (measured 0 and 1.0e-10)
            assert b.sto_at_soc0 == pytest.approx(a.sto_at_soc0, abs=3e-10)
            assert b.sto_at_soc100 == pytest.approx(a.sto_at_soc100, abs=3e-10)


# -- loading --------------------------------------------------------------------------------


def test_load_by_path_and_by_name_agree(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(CHEN_TEXT, encoding="utf-8")
    by_path = load_parameter_set(path)
    assert by_path.path == path
    assert by_path.to_data() == load_parameter_set("chen2020").to_data()
    assert load_parameter_set(str(path)).to_data() == by_path.to_data()


def test_unknown_set_name_lists_the_shipped_sets():
    with pytest.raises(ScenarioError) as err:
        load_parameter_set("chen2021")
    message = str(err.value)
    assert "unknown parameter set 'chen2021'" in message
    assert "did you mean 'chen2020'" in message and "doyle1996_cell1" in message


def test_missing_file_and_syntax_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_parameter_set(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cell]\narea_m2 = = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_parameter_set(bad)
    assert err.value.problems[0].line == 2
    assert "TOML syntax error" in err.value.problems[0].message


# -- overrides ----------------------------------------------------------------------------------


def test_overrides_replace_values_and_leave_the_original_alone():
    ps = load_parameter_set("chen2020")
    changed = ps.with_overrides({
        "cell.area_m2": 0.2,
        "negative.materials.0.particle_radius_m": 4e-6,
        "electrolyte.transference_number": 0.3,
    })
    assert changed.cell.area_m2 == 0.2
    assert changed.negative.materials[0].particle_radius_m == 4e-6
    assert changed.to_cell_params(2).electrolyte.transference_number == 0.3
    assert changed.usable_capacity_As() == pytest.approx(2 * ps.usable_capacity_As() / 0.1027 * 0.1, rel=1e-12)
    assert ps.cell.area_m2 == pytest.approx(0.1027, rel=1e-12)  # measured: equal
    assert changed.overrides["cell.area_m2"] == 0.2
    assert changed.path == ps.path


def test_overrides_are_validated_again():
    ps = load_parameter_set("chen2020")
    with pytest.raises(ScenarioError) as err:
        ps.with_overrides({"negative.porosity": 1.2, "separator.thickness_m": -1e-6})
    keys = {p.key: p.message for p in err.value.problems}
    assert "must be in (0, 1), got 1.2" in keys["negative.porosity"]
    assert "must be in (0, inf), got -1e-06" in keys["separator.thickness_m"]
    with pytest.raises(ScenarioError, match="unknown key 'thickness'; did you mean 'thickness_m'"):
        ps.with_overrides({"negative.thickness": 1e-5})
    with pytest.raises(ScenarioError, match="no item 'negative.materials.3'"):
        ps.with_overrides({"negative.materials.3.volume_fraction": 0.5})


def test_thickness_override_rebalances_the_soc_window():
    """Changing the negative alone breaks the SOC window: by default the window is derived
    again (lithium of the initial state kept); rebalance=False makes it an error naming
    both electrodes; explicit windows are not overwritten."""
    ps = load_parameter_set("chen2020")
    with pytest.raises(ScenarioError) as err:
        ps.with_overrides({"negative.thickness_m": 60e-6}, rebalance=False)
    message = str(err.value)
    assert "inconsistent capacities" in message
    assert "negative electrode exchanges" in message and "positive electrode" in message
    for thin in (
        ps.with_overrides({"negative.thickness_m": 60e-6}),
        ps.with_overrides({"negative.thickness_m": 60e-6}, rebalance=True),
    ):
        assert thin.negative.thickness_m == 60e-6
        # the rebalance's solver tolerance (measured 1.3e-10 and 8.8e-11 V, 1.2e-10)
        assert _ocv(thin, "sto_at_soc100") == pytest.approx(4.2, abs=4e-10)
        assert _ocv(thin, "sto_at_soc0") == pytest.approx(2.5, abs=3e-10)
        w = thin.window_capacity_As()
        assert w["negative"] == pytest.approx(w["positive"], rel=4e-10)
        assert thin.usable_capacity_As() < ps.usable_capacity_As()
        assert thin.negative.materials[0].sto_initial == ps.negative.materials[0].sto_initial
    # an unchanged balance is not touched
    same = ps.with_overrides({"separator.thickness_m": 20e-6})
    assert same.negative.materials[0].sto_at_soc0 == ps.negative.materials[0].sto_at_soc0
    # windows given explicitly are checked, not replaced
    with pytest.raises(ScenarioError, match="inconsistent capacities"):
        ps.with_overrides({"negative.thickness_m": 60e-6, "negative.materials.0.sto_at_soc0": 0.03})


def test_seed_anode_thickness_study():
    """The thickness study of the seed cell: a thinner composite anode with the same
    cathode keeps both anode materials in equilibrium at the new window ends."""
    ps = load_parameter_set("seed_bgraphite_sno2_lmo_gel")
    thin = ps.with_overrides({"negative.thickness_m": 5e-6})
    # the rebalance's solver tolerance (measured 1.7e-10 and 1.5e-9 V)
    assert _ocv(thin, "sto_at_soc100") == pytest.approx(4.2, abs=5e-10)
    assert _ocv(thin, "sto_at_soc0") == pytest.approx(2.5, abs=5e-9)
    for key in ("sto_at_soc0", "sto_at_soc100"):
        u = [float(fn_of(m)(getattr(m, key))) for m in thin.negative.materials]
        assert max(u) - min(u) < 2e-8  # the rebalance's solve (measured 6.2e-9 V)
    assert thin.usable_capacity_As() == pytest.approx(ps.usable_capacity_As() / 3, rel=0.01)  # measured 3.4e-3
    assert thin.to_cell_params(2).negative.thickness_m.tolist() == [5e-6, 5e-6]


# -- validation of bad input ----------------------------------------------------------------


def _edit(text: str, table: str, key: str, value: str) -> tuple[str, int]:
    """Replace ``key = ...`` in the first occurrence of table header ``table``; return the
    new text and the 1-based line of the key."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == table)
    for i in range(start + 1, len(lines)):
        if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
            lines[i] = f"{key} = {value}  # edited"
            return "\n".join(lines) + "\n", i + 1
        if lines[i].startswith("["):
            break
    raise AssertionError(f"{key} not in {table}")


def _load_edited(tmp_path: Path, edits) -> ScenarioError:
    text, lines = CHEN_TEXT, []
    for table, key, value in edits:
        text, line = _edit(text, table, key, value)
        lines.append(line)
    path = tmp_path / "edited.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_parameter_set(path)
    for p in err.value.problems:
        assert p.file == path
    return err.value


@pytest.mark.parametrize(
    "table, key, value, dotted, expected",
    [
        ("[negative]", "thickness_m", "0.0", "negative.thickness_m", "must be in (0, inf), got 0.0"),
        ("[separator]", "thickness_m", "-12e-6", "separator.thickness_m", "must be in (0, inf), got -1.2e-05"),
        ("[negative]", "porosity", "1.0", "negative.porosity", "must be in (0, 1), got 1.0"),
        ("[positive]", "porosity", "0", "positive.porosity", "must be in (0, 1), got 0.0"),
        ("[separator]", "porosity", "1.1", "separator.porosity", "must be in (0, 1], got 1.1"),
        ("[[negative.materials]]", "sto_at_soc0", "-0.1", "negative.materials.0.sto_at_soc0", "must be in [0, 1], got -0.1"),
        ("[[positive.materials]]", "sto_initial", "1.5", "positive.materials.0.sto_initial", "must be in (0, 1), got 1.5"),
        ("[[negative.materials]]", "diffusivity_m2_s", "-3.3e-14", "negative.materials.0.diffusivity_m2_s", "must be in (0, inf), got -3.3e-14"),
        ("[[positive.materials]]", "rate_activation_J_mol", "-1.0", "positive.materials.0.rate_activation_J_mol", "must be in [0, inf), got -1.0"),
        ("[[negative.materials]]", "max_concentration_mol_m3", "nan", "negative.materials.0.max_concentration_mol_m3", "must be in (0, inf), got nan"),
        ("[negative]", "bruggeman", "12.0", "negative.bruggeman", "must be in [0, 10], got 12.0"),
        ("[electrolyte]", "transference_number", "1.2", "electrolyte.transference_number", "must be in (0, 1], got 1.2"),
        ("[cell]", "area_m2", '"big"', "cell.area_m2", "expected a number (float), got string 'big'"),
        ("[cell]", "upper_voltage_V", "2.4", "cell.upper_voltage_V", "must be in (lower_voltage_V, 10) = (2.5, 10) V, got 2.4"),
    ],
)
def test_bad_values_are_rejected_with_key_range_and_line(tmp_path, table, key, value, dotted, expected):
    text, line = _edit(CHEN_TEXT, table, key, value)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_parameter_set(path)
    problems = [p for p in err.value.problems if p.key == dotted]
    assert problems, [str(p) for p in err.value.problems]
    assert expected in problems[0].message
    assert problems[0].line == line
    assert problems[0].file == path
    assert f"{path}:{line}: {dotted}: " in str(err.value)


def test_porosity_plus_volume_fractions_above_one(tmp_path):
    err = _load_edited(tmp_path, [("[negative]", "porosity", "0.3")])
    (p,) = err.problems
    assert p.key == "negative.porosity"
    assert "0.3 + 0.75 = 1.05" in p.message and "(0, 0.25]" in p.message


def test_equal_window_stoichiometries(tmp_path):
    err = _load_edited(tmp_path, [("[[positive.materials]]", "sto_at_soc100", "0.8539746747")])
    (p,) = err.problems
    assert p.key == "positive.materials.0.sto_at_soc100"
    assert "must differ from sto_at_soc0 (0.853975)" in p.message


def test_window_in_the_wrong_direction(tmp_path):
    err = _load_edited(tmp_path, [
        ("[[negative.materials]]", "sto_at_soc0", "0.95"),
        ("[[positive.materials]]", "sto_at_soc0", "0.1"),
    ])
    keys = {p.key: p.message for p in err.problems}
    assert "must be in (sto_at_soc0, 1] = (0.95, 1]" in keys["negative.materials.0.sto_at_soc100"]
    assert "must be in [0, sto_at_soc0) = [0, 0.1)" in keys["positive.materials.0.sto_at_soc100"]


def test_inconsistent_capacities_are_rejected_naming_both_electrodes(tmp_path):
    err = _load_edited(tmp_path, [("[positive]", "thickness_m", "40e-6")])
    (p,) = err.problems
    assert p.key == "negative.materials"
    assert p.message.startswith("inconsistent capacities:")
    assert "negative electrode exchanges 5.15" in p.message
    assert "positive electrode 2.72" in p.message
    assert "within 2%" in p.message


@pytest.mark.parametrize(
    "value, expected",
    [
        ('"chen2020_graphite_ocpp"', "unknown function 'chen2020_graphite_ocpp'; did you mean 'chen2020_graphite_ocp'?"),
        ('"nyman2008_conductivity"', "'nyman2008_conductivity' is not a stoichiometry function"),
        ('"table"', "'table' is a factory"),
        ("true", "expected a number, a function name (string) or a table, got boolean true"),
        ("{ sto = [0.0, 0.5, 0.4], V = [1.0, 0.5, 0.1] }", "sto must be strictly increasing, but sto[2] = 0.4 follows sto[1] = 0.5"),
        ("{ sto = [0.0, 1.0], V = [1.0] }", "V: expected at least 2 items"),
        ("{ sto = [0.0, 1.0], U = [1.0, 0.0] }", "unknown key 'U'"),
        ('{ function = "tanh_staircase", plateaus_V = [1.0, 0.5] }', "bad arguments for 'tanh_staircase'"),
        ('{ function = "tanh_stair", plateaus_V = [1.0, 0.5] }', "unknown factory 'tanh_stair'; did you mean 'tanh_staircase'?"),
        ('{ function = "tanh_staircase", plateaus_V = [1.0, 0.5], steps_sto = [0.5, 0.6] }', "steps_sto needs one value fewer"),
    ],
)
def test_bad_material_functions(tmp_path, value, expected):
    err = _load_edited(tmp_path, [("[[negative.materials]]", "ocp_V", value)])
    messages = [f"{p.key}: {p.message}" for p in err.problems]
    assert any(m.startswith("negative.materials.0.ocp_V") and expected in m for m in messages), messages


def test_tables_and_factories_are_accepted(tmp_path):
    sto = np.linspace(0.0, 1.0, 201)
    table = "{ sto = [" + ", ".join(f"{s:.6f}" for s in sto) + "], V = [" + ", ".join(
        f"{u:.9f}" for u in fn.chen2020_graphite_ocp(sto)) + "] }"
    text, _ = _edit(CHEN_TEXT, "[[negative.materials]]", "ocp_V", table)
    text, _ = _edit(text, "[electrolyte]", "diffusivity_m2_s",
                    '{ function = "polynomial_in_c", coefficients = [4.862e-10, -3.972e-10, 8.794e-11] }')
    text, _ = _edit(text, "[electrolyte]", "conductivity_S_m",
                    "{ c_mol_m3 = [0.0, 1000.0, 2000.0], S_m = [0.0, 0.9487, 0.5962] }")
    path = tmp_path / "tables.toml"
    path.write_text(text, encoding="utf-8")
    ps = load_parameter_set(path)
    p = ps.to_cell_params(3)
    x = np.array([0.3, 0.5, 0.7])
    # x on the table's grid: the table's 9 decimals (measured 4.95e-10 V)
    np.testing.assert_allclose(p.negative.materials[0].ocp_V(x), fn.chen2020_graphite_ocp(x), rtol=0, atol=6e-10)
    c = np.array([500.0, 1000.0, 1500.0])
    np.testing.assert_allclose(p.electrolyte.diffusivity_m2_s(c, 298.15), fn.nyman2008_diffusivity(c), rtol=1e-12)
    assert p.electrolyte.conductivity_S_m(np.array([1000.0]), 298.15)[0] == pytest.approx(0.9487, rel=1e-12)
    # the data round-trips: overriding nothing gives the same set
    assert ps.with_overrides({}).to_data() == ps.to_data()


def test_unknown_and_missing_keys(tmp_path):
    text = CHEN_TEXT.replace("porosity = 0.47", "porosityy = 0.47")
    text = text.replace('name = "chen2020"\n', "")
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_parameter_set(path)
    keys = {p.key: p.message for p in err.value.problems}
    assert keys["separator.porosityy"] == "unknown key 'porosityy'; did you mean 'porosity'?"
    assert keys["separator.porosity"] == "required key is missing"
    assert keys["meta.name"] == "required key is missing"


def test_a_file_with_several_problems_reports_them_all(tmp_path):
    err = _load_edited(tmp_path, [
        ("[cell]", "area_m2", "-1.0"),
        ("[negative]", "thickness_m", "0.0"),
        ("[[negative.materials]]", "sto_at_soc0", "1.5"),
        ("[separator]", "porosity", "0.0"),
        ("[positive]", "porosity", "0.5"),  # 0.5 + 0.665 > 1 (cross-check still runs)
        ("[electrolyte]", "diffusivity_m2_s", "-4e-10"),
        ("[electrolyte]", "transference_number", "0.0"),
    ])
    keys = [p.key for p in err.problems]
    assert set(keys) == {
        "cell.area_m2",
        "negative.thickness_m",
        "negative.materials.0.sto_at_soc0",
        "separator.porosity",
        "positive.porosity",
        "electrolyte.diffusivity_m2_s",
        "electrolyte.transference_number",
    }
    lines = [p.line for p in err.problems]
    assert lines == sorted(lines) and all(lines)
    assert str(err).count("\n") >= 7


def test_a_composite_electrode_at_a_soc_holds_that_soc_at_one_potential():
    """``CellParams.at_soc`` on the seed's composite anode (boron-added graphite + SnO2): the
    split between the materials holds exactly the lithium of the SOC asked for and puts both
    at one open-circuit potential, at every SOC (measured: lithium to 2e-16 relative,
    potentials to 5e-14 V; before the split took up the bisection's rest, SOC 0.4 started at
    0.396)."""
    import numpy as np

    from cosim.cell.params import equilibrium_split

    params = load_parameter_set("seed_bgraphite_sno2_lmo_gel").to_cell_params(1)
    mats = params.negative.materials
    cap = [m.volume_fraction * m.c_max_mol_m3 for m in mats]
    for soc in np.linspace(0.0, 1.0, 41):
        linear = [np.atleast_1d(m.sto_at_soc0 + soc * (m.sto_at_soc100 - m.sto_at_soc0)) for m in mats]
        split = equilibrium_split(mats, linear)
        want = sum(c * s for c, s in zip(cap, linear))
        assert sum(c * s for c, s in zip(cap, split)) == pytest.approx(want, rel=1e-14, abs=0)
        potentials = [float(np.ravel(m.ocp_V(s))[0]) for m, s in zip(mats, split)]
        assert max(potentials) - min(potentials) < 1e-12


def test_a_batch_of_cells_is_split_as_each_cell_alone():
    """``equilibrium_split`` solves each distinct cell of a batch once: a batch of repeated
    and distinct cells (three SOCs) gives each cell exactly what that cell gives alone."""
    import numpy as np

    from cosim.cell.params import equilibrium_split

    params = load_parameter_set("seed_bgraphite_sno2_lmo_gel").to_cell_params(1)
    mats = params.negative.materials
    socs = np.array([0.9, 0.3, 0.9, 0.9, 0.3, 0.6])
    linear = [m.sto_at_soc0 + socs * (m.sto_at_soc100 - m.sto_at_soc0) for m in mats]
    batch = equilibrium_split(mats, linear)
    for k in range(socs.size):
        alone = equilibrium_split(mats, [np.atleast_1d(s[k]) for s in linear])
        for b, a in zip(batch, alone):
            assert b[k] == a[0]
    assert batch[0][0] == batch[0][2] == batch[0][3] and batch[0][0] != batch[0][1]


def test_the_warm_started_bisection_is_the_bisection_from_zero_to_one():
    """``_sto_at`` started in the dyadic cell that the bisections at a higher and a lower
    potential share gives, for every potential between them, the number the bisection of
    the whole [0, 1] gives (the split's 64 potentials per pass start there), for each
    material of every shipped composite electrode, across its whole potential range."""
    import numpy as np

    from cosim.cell.parameter_set import available_parameter_sets
    from cosim.cell.params import _sto_at

    rng = np.random.default_rng(5)
    for name in available_parameter_sets():
        params = load_parameter_set(name).to_cell_params(1)
        for m in (*params.negative.materials, *params.positive.materials):
            unknown = np.full(400, np.nan)
            ends = np.sort(rng.uniform(-0.2, 4.8, (400, 2)), axis=1)
            ends[::2, 1] = ends[::2, 0] + rng.uniform(0.0, 1e-6, 200)  # close pairs: deep shared cells
            U_lo, U_hi = ends[:, 0], ends[:, 1]
            rich, poor = _sto_at(m, U_lo, unknown, unknown), _sto_at(m, U_hi, unknown, unknown)
            U = U_lo + rng.uniform(0.0, 1.0, 400) * (U_hi - U_lo)
            assert np.array_equal(_sto_at(m, U, poor, rich), _sto_at(m, U, unknown, unknown)), (name, m)
