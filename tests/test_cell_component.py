"""The cell core as a scenario component: discharge to cut-off, limits, batches, bad input."""

import numpy as np
import pytest
import xarray as xr

from cosim.errors import CosimError
from cosim.run import run_scenario
from cosim.scenario import load_scenario

CELL = """
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.load]
type = "profile"
time_s = [0.0, {stop}]
values = {{ current_A = [{current}, {current}] }}
interpolation = "previous"

[components.cell]
type = "cell"
parameter_set = "chen2020"
{extra}

[[connections]]
from = "load.current_A"
to = "cell.current_setpoint_A"
"""


def run(tmp_path, *, stop=4000.0, step=10.0, current=5.0, extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "cell.toml"
    path.write_text(CELL.format(stop=stop, step=step, current=current, extra=extra))
    out = tmp_path / "r.nc"
    run_scenario(load_scenario(path), output=out)
    return xr.open_dataset(out)


def test_discharge_to_cut_off_ends_the_run_complete(tmp_path):
    with run(tmp_path, extra='on_limit = "end"') as ds:
        assert ds.attrs["status"] == "complete"
        assert "cell 0 reached" in ds.attrs["status_reason"]
        t_end = float(ds["time"][-1])
        # PyBaMM's SPMe reaches 2.5 V at 3555.9 s, ours within 0.2 s of it (its capacity, 5e-5,
        # see test_cell_spme): the run ends with the 10 s step that crosses, at 3560 s
        assert t_end == 3560.0
        soc = ds["cell.soc"].values
        assert np.all(np.diff(soc) < 0)
        assert (ds["cell.heat_reaction_W"].values[1:] > 0).all()
        assert ds["cell.voltage_V"].attrs["units"] == "V"
        assert (ds["cell.available_discharge_power_W"].values > 0).all()
        assert (ds["cell.available_charge_power_W"].values[:-1] < 0).all()


def test_limit_stops_the_run_naming_cell_time_and_voltage(tmp_path):
    with pytest.raises(CosimError, match=r"cell 0 reached 2\.4\d+ V at t = 35\d0 s, below the lower voltage limit 2\.5 V"):
        run(tmp_path)
    with xr.open_dataset(tmp_path / "r.nc") as ds:
        assert ds.attrs["status"] == "incomplete"
        assert ds.sizes["time"] > 300


def test_clamp_holds_the_upper_limit_like_a_cv_phase(tmp_path):
    with run(tmp_path, stop=2000.0, current=-10.0, extra='on_limit = "clamp"\ninitial_soc = 0.6') as ds:
        V = ds["cell.voltage_V"].values
        I = ds["cell.current_A"].values
        assert V.max() <= 4.2 + 4e-13  # the clamp's solve (measured 1.2e-13 V)
        clamped = np.isclose(V, 4.2, rtol=0, atol=4e-13)  # (numpy adds rtol 1e-5, 42 uV, unless told)
        assert clamped[-1] and clamped.sum() > 10
        assert np.all(np.diff(I[clamped]) > 0)  # the charge current tapers off (towards zero)


def test_batch_has_a_cell_dimension(tmp_path):
    with run(tmp_path, stop=100.0, extra="n_cells = 4") as ds:
        assert ds["cell.voltage_V"].dims == ("time", "cell")
        assert ds.sizes["cell"] == 4
        v = ds["cell.voltage_V"].values
        assert np.all(v == v[:, :1])


def test_non_physical_override_is_refused_with_its_name(tmp_path):
    with pytest.raises(CosimError, match=r"negative\.thickness_m"):
        run(tmp_path, extra="overrides = { 'negative.thickness_m' = -1e-6 }")


def test_mesh_keys_reach_the_model(tmp_path):
    """particle_shells and electrolyte_volumes give the scenario's cell the model on that
    mesh: the same voltages as the model built directly on it, not the default mesh's."""
    from cosim.cell.parameter_set import load_parameter_set
    from cosim.cell.spme import SPMe

    extra = "particle_shells = 6\nelectrolyte_volumes = [4, 3, 5]"
    with run(tmp_path, stop=300.0, step=10.0, current=10.0, extra=extra) as ds:
        v = ds["cell.voltage_V"].values[1:]
    params = load_parameter_set("chen2020").to_cell_params(1)
    for mesh, same in (({"n_r": 6, "n_x": (4, 3, 5)}, True), ({}, False)):
        model = SPMe(params, **mesh)
        direct = np.array([model.step(10.0, 298.15, current_A=10.0)["voltage_V"][0] for _ in range(30)])
        assert np.allclose(v, direct, rtol=0, atol=1e-12) == same


def test_refining_the_mesh_converges():
    """Each doubling of the particle shells and electrolyte volumes at least halves the
    voltage error of a 2C discharge against a fine mesh (80 shells, 40/30/40 volumes)."""
    from cosim.cell.parameter_set import load_parameter_set
    from cosim.cell.spme import SPMe

    params = load_parameter_set("chen2020").to_cell_params(1)

    def voltages(n_r, n_x):
        model = SPMe(params, n_r=n_r, n_x=n_x)
        return np.array([model.step(10.0, 298.15, current_A=10.0)["voltage_V"][0] for _ in range(90)])

    fine = voltages(80, (40, 30, 40))
    errors = [float(np.max(np.abs(voltages(n_r, n_x) - fine)))
              for n_r, n_x in ((5, (5, 4, 5)), (10, (10, 8, 10)), (20, (20, 15, 20)), (40, (40, 30, 40)))]
    assert all(coarse > 2 * finer for coarse, finer in zip(errors, errors[1:])), errors


def test_bad_mesh_is_refused_at_load(tmp_path):
    path = tmp_path / "cell.toml"
    path.write_text(CELL.format(stop=10, step=1, current=1.0, extra="electrolyte_volumes = [8, 1, 8]"))
    with pytest.raises(CosimError, match=r"electrolyte_volumes needs 3 numbers .* got \[8, 1, 8\]"):
        load_scenario(path)


def test_total_heat_output_is_the_sum_of_the_heat_terms(tmp_path):
    with run(tmp_path, stop=600.0, extra='model = "spm"') as ds:
        parts = sum(ds[f"cell.{k}"].values for k in ("heat_reaction_W", "heat_ohmic_W", "heat_reversible_W",
                                                     "heat_mixing_W"))
        np.testing.assert_allclose(ds["cell.heat_W"].values, parts, rtol=1e-14, atol=1e-14)
        assert (ds["cell.heat_mixing_W"].values[1:] > 0).all()


def test_available_power_can_be_switched_off_and_is_held_between_updates(tmp_path):
    with run(tmp_path / "off", stop=100.0, step=2.0, extra="available_power = false") as ds:
        assert "cell.available_discharge_power_W" not in ds
    with run(tmp_path / "on", stop=100.0, step=2.0, extra="available_power_interval_s = 10.0") as ds:
        p = ds["cell.available_discharge_power_W"].values
        t = ds["time"].values
        assert np.all(p > 0)
        # recomputed at t = 0, 10, 20, ... and held in between
        for k in range(len(t) - 1):
            if round(t[k + 1]) % 10 != 0:
                assert p[k + 1] == p[k]
        assert len(np.unique(p)) == len(np.unique(np.floor(t / 10.0 + 1e-9)))


def test_pulse_duration_must_be_a_number():
    from pydantic import ValidationError

    from cosim.components.cell_core import CellCoreConfig

    with pytest.raises(ValidationError):
        CellCoreConfig(parameter_set="chen2020", pulse_duration_s=None)
