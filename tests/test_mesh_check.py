"""``mesh_check``: a sample of unit cells also runs on a refined mesh, driven like their
counterparts, and the voltage difference is recorded (cosim/components/mesh_check.py).

The recorded difference is checked against independent refined models driven with the
currents and temperatures the run recorded (to round-off), against the expected
convergence (a coarse mesh shows a far larger difference than a fine one), under repeated
and rolled-back steps and a binding limit; off, the run is what it was."""

import json
import re

import numpy as np
import pytest
import xarray as xr
from coupling_helpers import run as run_components
from doubles import Probe

from cosim.cell.particle import DEFAULT_SHELLS
from cosim.components.cell_core import CellCoreConfig, build_model, make_model
from cosim.components.pack import Pack, PackConfig, build_battery
from cosim.components.profile import Profile, ProfileConfig
from cosim.errors import CosimError
from cosim.result_summary import summarize
from cosim.sweep.kpi import kpis_from_file
from cosim.run import run_scenario
from cosim.scenario import load_scenario

DIFF = "mesh_check_voltage_difference_V"
# An independent model of the same cells on the same refined mesh, stepped with the recorded
# currents and temperatures, gives the recorded refined voltages to round-off: measured at most
# 0 V (single cells), 1.8e-15 V (SPM/SPMe packs: a batch of 12 cells against the check's 3) and
# 1.2e-14 V (DFN pack: its Newton solve over the other batch); the bound is 3x the largest.
ROUND_OFF_V = 4e-14


def _run(tmp_path, text: str, name: str = "run") -> xr.Dataset:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    run_scenario(load_scenario(path), output=tmp_path / f"{name}.nc", quiet=True)
    return xr.load_dataset(tmp_path / f"{name}.nc")


def _cells(labels) -> list[tuple[int, int, int]]:
    """(string, stack, layer) of the coordinate labels 'string s, stack k, layer l'."""
    return [tuple(int(x) for x in re.findall(r"\d+", str(label))) for label in labels]


PACK = """
[simulation]
stop_time_s = {stop}
step_s = 1

[components.load]
type = "profile"
time_s = [0.0, 10.0, 10.0, 20.0, 20.0, 30.0]
values = {{ current_A = [6.0, 6.0, -4.0, -4.0, 2.0, 2.0] }}
interpolation = "previous"
repeat = 10

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
model = "{model}"
n_strings = 2
n_stacks = 2
n_layers = 3
initial_soc = 0.6
capacity_spread_rel = 0.05
thickness_spread_rel = 0.05
resistance_spread_rel = 0.05
spread_seed = 3
{extra}

[components.thermal]
type = "thermal"
n_strings = 2
n_stacks = 2
n_layers = 3
layer_thickness_m = 1.5e-4
area_m2 = 0.1
cooling = "both"
cooling_type = "cold_plate"
coolant_temperature_K = 288.15
initial_temperature_K = 308.15

[[connections]]
from = "load.current_A"
to = "pack.current_setpoint_A"

[[connections]]
from = "pack.layer_heat_W"
to = "thermal.heat_W"

[[connections]]
from = "thermal.layer_temperature_K"
to = "pack.layer_temperature_K"
delayed = true
"""


def _table(ds: xr.Dataset, name: str) -> dict:
    """The component's table of the run's resolved scenario."""
    return json.loads(ds.attrs["scenario_resolved"])["components"][name]


def _pack_config(ds: xr.Dataset) -> PackConfig:
    return PackConfig(**_table(ds, "pack"))


def _replay_pack(ds: xr.Dataset, refinement: int = 2) -> np.ndarray:
    """The refined voltages of every unit cell of the run's pack, from an independent batch
    of all of them (not the run's sample) stepped with the recorded string currents and the
    temperatures the pack received (the thermal output of the step before: delayed)."""
    config = _pack_config(ds)
    battery, _ = build_battery(config)
    fine = make_model(config.model, battery.model.params, config, refinement)
    T = ds["thermal.layer_temperature_K"].values.reshape(ds.sizes["time"], -1)
    fine.rest_outputs(T[0])
    per_string = config.n_stacks * config.n_layers
    t, I_s = ds["time"].values, ds["pack.string_current_A"].values
    out = [fine.out["voltage_V"].copy()]
    for k in range(1, t.size):
        fine.step(t[k] - t[k - 1], T[k - 1], current_A=np.repeat(I_s[k], per_string))
        out.append(fine.out["voltage_V"].copy())
    return np.array(out).reshape(t.size, *battery.layout.shape)


@pytest.mark.parametrize("model,stop", [("spme", 40), ("spm", 40), ("dfn", 25)])
def test_the_pack_difference_is_the_run_minus_independent_refined_cells(tmp_path, model, stop):
    """Two strings (the string solve shares the current unevenly), a spread, a thermal
    network (every cell at its own temperature): the recorded difference equals the
    recorded layer voltage minus an independent refined model driven with the recorded
    string current and temperature; the default sample is the smallest-capacity, the
    thickest and the most nominal cell."""
    ds = _run(tmp_path, PACK.format(stop=stop, model=model, extra="mesh_check = true"))
    diff = ds[f"pack.{DIFF}"]
    assert diff.dims == ("time", "pack_mesh_check_cell") and diff.attrs["units"] == "V" and diff.attrs["long_name"]
    cells = _cells(diff["pack_mesh_check_cell"].values)
    cap = ds["pack.layer_capacity_factor"].values * ds["pack.layer_thickness_factor"].values
    thick = ds["pack.layer_thickness_factor"].values
    assert cells[0] == np.unravel_index(np.argmin(cap), cap.shape)
    assert cells[1] == np.unravel_index(np.argmax(thick), thick.shape)
    assert len(cells) == 3 and len(set(cells)) == 3
    fine = _replay_pack(ds)
    coarse = ds["pack.layer_voltage_V"].values
    expected = np.stack([coarse[:, s, k, m] - fine[:, s, k, m] for s, k, m in cells], axis=1)
    np.testing.assert_allclose(diff.values, expected, rtol=0, atol=ROUND_OFF_V)
    assert np.abs(expected[1:]).max() > 1e-6  # a difference worth checking (measured 0.04-0.2 mV)
    # the summary: over every step and cell (here every step is recorded)
    h = np.diff(ds["time"].values)[:, None]
    rms = np.sqrt((expected[1:] ** 2 * h).sum() / (h.sum() * len(cells)))
    assert float(ds.attrs["pack_mesh_check_rms_voltage_difference_V"]) == pytest.approx(rms, rel=1e-12)
    assert float(ds.attrs["pack_mesh_check_max_abs_voltage_difference_V"]) == pytest.approx(
        np.abs(expected[1:]).max(), rel=0, abs=ROUND_OFF_V)
    assert f"particle_shells {DEFAULT_SHELLS} vs {2 * DEFAULT_SHELLS}" in ds.attrs["pack_mesh_check_meshes"]
    assert kpis_from_file(tmp_path / "run.nc")["mesh_check_rms_voltage_difference_V"] == pytest.approx(rms, rel=1e-12)
    summary = summarize(tmp_path / "run.nc")  # cosim info
    assert f"mesh check: pack: RMS {rms * 1e3:.4g} mV" in summary and "vs 2x refined" in summary
    for name in ds.data_vars:
        assert ds[name].attrs.get("units") is not None and ds[name].attrs.get("long_name"), name


def test_off_the_dataset_is_as_before_and_on_the_run_is_unchanged(tmp_path):
    """Off: no mesh-check variable, dimension or attribute. On: every other variable is
    bit for bit what the run gives without it (the check only watches)."""
    off = _run(tmp_path, PACK.format(stop=15, model="spme", extra=""), "off")
    on = _run(tmp_path, PACK.format(stop=15, model="spme", extra="mesh_check = true"), "on")
    assert not [k for k in [*off.variables, *off.dims, *off.attrs] if "mesh_check" in k]
    assert np.isnan(kpis_from_file(tmp_path / "off.nc")["mesh_check_rms_voltage_difference_V"])
    assert set(on.data_vars) - set(off.data_vars) == {f"pack.{DIFF}"}
    for name in off.data_vars:
        np.testing.assert_array_equal(on[name].values, off[name].values, err_msg=name)


def _cell_run(tmp_path, model, control, extra="", stop=60, step=5, setpoint=(6.0, 6.0, -3.0, -3.0), soc=0.7,
              name=None):
    key = {"current": "current_A", "power": "power_W", "voltage": "voltage_V"}[control]
    return _run(tmp_path, f"""
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.load]
type = "profile"
time_s = [0.0, 30.0, 30.0, 60.0]
values = {{ {key} = {list(setpoint)} }}
interpolation = "previous"
repeat = 100

[components.cell]
type = "cell"
parameter_set = "chen2020"
model = "{model}"
control = "{control}"
initial_soc = {soc}
mesh_check = true
{extra}

[[connections]]
from = "load.{key}"
to = "cell.{control}_setpoint_{key[-1]}"
""", name or f"cell_{model}_{control}")


def _replay_cell(ds, refinement=2, substeps=1):
    """The voltages of independent models of the run's cell on its mesh and on the refined
    one, stepped with the recorded current in ``substeps`` equal sub-steps per step, the
    sub-steps of a step ending where the run's mesh reaches the lower voltage limit."""
    config = CellCoreConfig(**_table(ds, "cell"))
    params = build_model(config).params
    models = [make_model(config.model, params, config), make_model(config.model, params, config, refinement)]
    for m in models:
        m.rest_outputs(config.temperature_K)
    t, I = ds["time"].values, ds["cell.current_A"].values
    out = [[m.out["voltage_V"][0] for m in models]]
    for k in range(1, t.size):
        for _ in range(substeps):
            for m in models:
                m.step((t[k] - t[k - 1]) / substeps, config.temperature_K, current_A=I[k])
            if models[0].out["voltage_V"][0] < params.lower_voltage_V:
                break
        out.append([m.out["voltage_V"][0] for m in models])
    return np.array(out).T


@pytest.mark.parametrize("model,control", [("spm", "power"), ("spme", "voltage"), ("dfn", "power")])
def test_a_cell_in_power_or_voltage_control_is_checked_at_the_current_it_took(tmp_path, model, control):
    """Power and voltage control: the refined cell is driven with the current the run's cell
    took (not the set point), so the difference is the mesh's error at that operating point."""
    setpoint = (20.0, 20.0, -10.0, -10.0) if control == "power" else (3.6, 3.6, 3.9, 3.9)
    ds = _cell_run(tmp_path, model, control, stop=40, setpoint=setpoint)
    diff = ds[f"cell.{DIFF}"]
    assert diff.dims == ("time", "cell_mesh_check_cell") and list(diff["cell_mesh_check_cell"].values) == ["cell 0"]
    expected = ds["cell.voltage_V"].values - _replay_cell(ds)[1]
    np.testing.assert_allclose(diff.values[:, 0], expected, rtol=0, atol=ROUND_OFF_V)
    assert np.abs(expected[1:]).max() > 1e-6


def test_sub_steps_and_a_cut_off_that_ends_the_run(tmp_path):
    """``max_step_s`` splits every macro step in two and ``on_limit = "end"`` ends the run at
    the cut-off: the refined cell takes the same two sub-steps, also in the last step."""
    ds = _cell_run(tmp_path, "spme", "current", extra='on_limit = "end"\nmax_step_s = 2.5', stop=2000, step=5,
                   setpoint=(10.0, 10.0, 10.0, 10.0), soc=0.2)
    assert ds.attrs["status"] == "complete" and "ended early" in ds.attrs["status_reason"]
    assert float(ds["cell.voltage_V"][-1]) < 2.5 and float(ds["time"][-1]) < 2000
    coarse, fine = _replay_cell(ds, substeps=2)
    np.testing.assert_allclose(coarse, ds["cell.voltage_V"].values, rtol=0, atol=ROUND_OFF_V)
    expected = coarse - fine
    np.testing.assert_allclose(ds[f"cell.{DIFF}"].values[:, 0], expected, rtol=0, atol=ROUND_OFF_V)


def test_a_coarse_mesh_shows_a_larger_difference_than_a_fine_one(tmp_path):
    """2C discharge of a Chen2020 SPMe for 10 minutes: 5 shells and 5 volumes per region
    against 40 of each (each against its own 2x refined mesh). Eight times finer: an error
    of first order falls 8x, of second order 64x. Measured: RMS 24.2 mV vs 1.32 mV (18x,
    between the two: the coarse mesh is not yet in the asymptotic range). The bound is a
    third of the measured ratio."""
    rms = {}
    for n in (5, 40):
        ds = _cell_run(tmp_path, "spme", "current", f"particle_shells = {n}\nelectrolyte_volumes = [{n}, {n}, {n}]",
                       stop=600, step=10, setpoint=(10.0, 10.0, 10.0, 10.0), name=f"n{n}")
        rms[n] = float(ds.attrs["cell_mesh_check_rms_voltage_difference_V"])
    assert rms[5] > 6 * rms[40] > 0


PACK_ON_VEHICLE = """
[simulation]
stop_time_s = 120
step_s = 1

[components.vehicle]
type = "vehicle"
vehicle = "nissan_leaf_2016"
cycle = "US06"
mode = "forward"

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
overrides = { "cell.area_m2" = 0.02 }
control = "power"
n_strings = 1
n_stacks = 2
n_layers = 48
initial_soc = 0.3
capacity_spread_rel = 0.02
resistance_spread_rel = 0.05
mesh_check = true
mesh_check_cells = [[0, 0, 0], [0, 1, 47]]

[[connections]]
from = "vehicle.battery_power_W"
to = "pack.power_setpoint_W"

[[connections]]
from = "pack.available_discharge_power_W"
to = "vehicle.available_discharge_power_W"

[[connections]]
from = "pack.available_charge_power_W"
to = "vehicle.available_charge_power_W"

[[connections]]
from = "pack.power_limit_W"
to = "vehicle.battery_power_limit_W"
iterate = true
"""


def test_a_binding_limit_and_repeated_steps_advance_the_refined_cells_once(tmp_path):
    """A pack far too small for the car on US06, its power limit fed back through an
    iterated connection: steps at the limit are repeated (the pack replays its limit
    current). The refined cells are restored with the pack's state, so the recorded
    difference still equals an independent refined model stepped once per step."""
    ds = _run(tmp_path, PACK_ON_VEHICLE)
    assert int(ds.attrs["n_loop_repeats"]) > 5 and ds["pack.limited"].values.sum() > 5
    assert ds.attrs["status"] == "complete"
    diff = ds[f"pack.{DIFF}"]
    cells = _cells(diff["pack_mesh_check_cell"].values)
    assert cells == [(0, 0, 0), (0, 1, 47)]
    config = _pack_config(ds)
    battery, _ = build_battery(config)
    fine = make_model(config.model, battery.model.params, config, 2)
    fine.rest_outputs(config.temperature_K)
    t, I_s = ds["time"].values, ds["pack.string_current_A"].values
    v = [fine.out["voltage_V"].copy()]
    for k in range(1, t.size):
        fine.step(t[k] - t[k - 1], config.temperature_K, current_A=np.repeat(I_s[k], 96))
        v.append(fine.out["voltage_V"].copy())
    fine_v = np.array(v).reshape(t.size, 1, 2, 48)
    coarse = ds["pack.layer_voltage_V"].values
    expected = np.stack([coarse[:, s, k, m] - fine_v[:, s, k, m] for s, k, m in cells], axis=1)
    np.testing.assert_allclose(diff.values, expected, rtol=0, atol=ROUND_OFF_V)


def test_a_rolled_back_step_is_retaken_in_halves_by_the_refined_cells_too():
    """Another component rejects every step longer than 0.5 s: the orchestrator restores
    the pack (refined cells included) and retakes each 1 s step as two halves; the
    refined cells take exactly those halves."""
    profile = Profile("load", ProfileConfig(type="profile", time_s=[0.0, 10.0], values={"current_A": [3.0, 3.0]},
                                            interpolation="previous"))
    pack = Pack("pack", PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", n_layers=3,
                                   capacity_spread_rel=0.05, spread_seed=2, initial_soc=0.5, mesh_check=True))
    probe = Probe.make("probe", inputs=["u"], unit="V", reject_h_above_s=0.5)
    orch, records = run_components(
        [profile, pack, probe], [("load", "current_A", "pack", "current_setpoint_A"), ("pack", "voltage_V", "probe", "u")],
        stop_s=3.0, step_s=1.0, record=[("pack", "layer_voltage_V"), ("pack", DIFF)])
    assert orch.n_rejections == 3
    fine = make_model("spme", build_battery(pack.config)[0].model.params, pack.config, 2)
    fine.rest_outputs(298.15)
    cells = pack.mesh_check.cells
    for k, (t, (v, diff)) in enumerate(records):
        if k:
            for _ in range(2):
                fine.step(0.5, 298.15, current_A=3.0)
        np.testing.assert_allclose(diff, v.reshape(-1)[cells] - fine.out["voltage_V"][cells], rtol=0, atol=ROUND_OFF_V)


@pytest.mark.parametrize("keys,message", [
    ("mesh_check = true\nmesh_check_refinement = 5", "mesh_check_refinement"),
    ("mesh_check = true\nmesh_check_refinement = 1", "mesh_check_refinement"),
    ("mesh_check = true\nmesh_check_cells = [[0, 2, 0]]", "mesh_check_cells needs distinct [string, stack, layer]"),
    ("mesh_check = true\nmesh_check_cells = [[0, 0]]", "mesh_check_cells needs distinct [string, stack, layer]"),
    ("mesh_check = true\nmesh_check_cells = [[0, 0, 1], [0, 0, 1]]", "mesh_check_cells needs distinct"),
    ("mesh_check_cells = [[0, 0, 1]]", "mesh_check_cells given without mesh_check = true"),
    ("mesh_check = \"yes\"", "mesh_check"),
    ("mesh_chek = true", "did you mean 'mesh_check'"),
])
def test_bad_mesh_check_keys_are_refused_with_the_key_and_the_cause(tmp_path, keys, message):
    path = tmp_path / "bad.toml"
    path.write_text(PACK.format(stop=5, model="spme", extra=keys))
    with pytest.raises(CosimError) as info:
        load_scenario(path)
    text = str(info.value)
    assert message in text and "components.pack" in text


def test_a_cell_sample_out_of_range_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"mesh_check_cells needs distinct cell indices in 0..1, got \[2\]"):
        CellCoreConfig(type="cell", parameter_set="chen2020", n_cells=2, mesh_check=True, mesh_check_cells=[2])


def test_the_pack_fmu_export_refuses_a_mesh_check(tmp_path):
    """The exported FMU has no refined cells and no output for them: a scenario that asks
    for the check is refused, saying how to export the pack (the pack is the same)."""
    from cosim.pack.export_data import export_pack

    path = tmp_path / "fmu.toml"
    path.write_text(PACK.format(stop=5, model="spme", extra="mesh_check = true"))
    with pytest.raises(CosimError, match="mesh_check"):
        export_pack(path)


def test_a_refined_cell_without_a_solution_leaves_the_check_and_the_run_says_when():
    """A refined cell driven where it has no solution (here a current far beyond what its
    particles can deliver) is retried in halves, then leaves the check: its difference is
    held at its last value, it no longer counts in the summary, and the notes and the
    attributes name it and the time; the other cell goes on."""
    from cosim.cell.parameter_set import load_parameter_set
    from cosim.components.mesh_check import MeshCheck

    config = CellCoreConfig(type="cell", parameter_set="chen2020", model="spm", n_cells=2, mesh_check=True)
    params = load_parameter_set("chen2020").to_cell_params(2)
    check = MeshCheck("cell", "spm", params, config, 2, [0, 1], ["cell 0", "cell 1"], max_halvings=2)
    run = make_model("spm", params, config)
    T = np.full(2, 298.15)
    run.rest_outputs(T)
    first = check.start(0.0, T, run.out["voltage_V"])
    check.begin()
    check.took(10.0, T, np.array([5.0, 1e5]))  # what the run's cells "took"; cell 1 has no solution
    run.step(10.0, T, current_A=np.array([5.0, 0.0]))
    diff = check.finish(10.0, run.out["voltage_V"])
    assert diff[1] == first[1] and abs(diff[0]) > 0
    attrs = check.attributes()
    assert attrs["cell_mesh_check_lost_cells"] == "cell 1 left the check at t = 0 s"
    assert attrs["cell_mesh_check_rms_voltage_difference_V"] == pytest.approx(abs(diff[0]), rel=1e-12)
    assert "cell 1 left the check at t = 0 s" in check.notes()[0]
