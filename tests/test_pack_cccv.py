"""The pack's CC-CV charge: a constant charge current with ``on_limit = "clamp"`` until the
worst layer (or the pack) reaches its upper voltage limit, then that voltage held while the
current tapers.

Expectations: the set point exactly until the limit; from then on the limiting voltage at
the limit (within the clamp's solve tolerance) and never above it, the charge current
falling step after step; and charge conservation, every unit cell's SOC change times its
capacity equal to the charge its string passed, with the capacities computed here from the
parameter file's own numbers (not from the package).
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import xarray as xr

from cosim.run import run_scenario
from cosim.scenario import load_scenario

import cosim

SEED = cosim.__path__[0] + "/data/parameters/seed_bgraphite_sno2_lmo_gel.toml"
F = 96485.33212  # C/mol
AREA = 0.1
N_STRINGS, N_STACKS, N_LAYERS = 2, 2, 4
STEP = 10.0

PACK = """
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.charger]
type = "profile"
time_s = [0.0, {stop}]
values = {{ current_A = [{current}, {current}] }}
interpolation = "previous"

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
overrides = {{ "cell.area_m2" = {area} }}
control = "current"
n_strings = {n_strings}
n_stacks = {n_stacks}
n_layers = {n_layers}
initial_soc = 0.5
capacity_spread_rel = 0.03
resistance_spread_rel = 0.2
spread_seed = 4
on_limit = "clamp"
available_power = false
{extra}

[[connections]]
from = "charger.current_A"
to = "pack.current_setpoint_A"
"""


def unit_cell_capacity_C() -> float:
    """Charge between 0 and 100 % SOC of one unit cell without spread, from the parameter
    file: F L A sum over the negative's materials of eps_s c_max (sto100 - sto0)."""
    with open(SEED, "rb") as f:
        data = tomllib.load(f)
    neg = data["negative"]
    per_volume = sum(m["volume_fraction"] * m["max_concentration_mol_m3"] * (m["sto_at_soc100"] - m["sto_at_soc0"])
                     for m in neg["materials"])
    return F * neg["thickness_m"] * AREA * per_volume


def charge(tmp_path, current: float, stop: float, extra: str = "") -> xr.Dataset:
    path = tmp_path / "cccv.toml"
    path.write_text(PACK.format(stop=stop, step=STEP, current=current, area=AREA, n_strings=N_STRINGS,
                                n_stacks=N_STACKS, n_layers=N_LAYERS, extra=extra))
    out = run_scenario(load_scenario(path), output=tmp_path / "cccv.nc")
    assert out.status == "complete"
    return xr.load_dataset(out.path)


def test_the_capacity_formula_matches_the_parameter_files_note():
    """The file's notes: both electrodes exchange 10.48 A h/m^2 between 0 and 100 % SOC."""
    assert unit_cell_capacity_C() / 3600.0 / AREA == pytest.approx(10.48, rel=1e-3)


@pytest.mark.parametrize("binding", ["layer", "pack"])
def test_cc_cv_charge_holds_the_limit_while_the_current_tapers_and_conserves_charge(tmp_path, binding):
    """2C charge from 50 % SOC. ``layer``: the layer limit (4.2 V) binds (the weakest layer
    reaches it first); ``pack``: a pack limit of 16 x 4.1 V binds before any layer's."""
    one_c = unit_cell_capacity_C() / 3600.0 * N_STRINGS  # A, pack
    I_set = -2.0 * one_c
    n_series = N_STACKS * N_LAYERS
    extra = f"pack_upper_voltage_V = {n_series * 4.1}" if binding == "pack" else ""
    ds = charge(tmp_path, I_set, 2400.0, extra)
    I = ds["pack.current_A"].values[1:]  # the current of each step (held over it)
    V_pack = ds["pack.voltage_V"].values[1:]
    V_max = ds["pack.max_layer_voltage_V"].values[1:]
    limited = ds["pack.limited"].values[1:].astype(bool)
    limit, held = (4.2, V_max) if binding == "layer" else (n_series * 4.1, V_pack)
    cv = limited.copy()
    first = int(np.argmax(cv))
    assert 10 < first < len(cv) - 100  # a CC phase, then a long CV phase
    assert cv[first:].all() and not cv[:first].any()
    # CC phase: the set point exactly, the limit not yet reached
    np.testing.assert_allclose(I[:first], I_set, rtol=1e-13)  # measured 2.7e-14
    assert np.all(held[:first] < limit)
    # CV phase: the limit held (measured: within 9.0e-8 V layer, 4.4e-8 V pack; the clamp
    # solves to 1e-7 V) ...
    assert np.max(np.abs(held[first:] - limit)) < 2e-7
    assert np.all(V_max <= 4.2 + 2e-7) and np.all(V_pack <= n_series * 4.2 + 2e-7)
    if binding == "pack":
        assert np.all(V_max[first:] < 4.2)  # no layer at its own limit
    # ... and the charge current tapering off towards zero, step after step
    assert np.all(I[first:] < 0) and np.all(I[first:] > I_set)
    assert np.all(np.diff(I[first:]) > 0)
    assert abs(I[-1]) < 5e-3 * abs(I_set)  # measured 8e-6 (layer), 1.4e-3 (pack) after 40 min
    # charge conservation: every cell of a string passes the string's charge
    Q = unit_cell_capacity_C() * ds["pack.layer_capacity_factor"].values  # (string, stack, layer): fixed, no time
    soc = ds["pack.layer_soc"].values
    passed = -(ds["pack.string_current_A"].values[1:] * STEP).sum(axis=0)  # C into each string
    np.testing.assert_allclose(ds["pack.string_current_A"].values[1:].sum(axis=1), I, rtol=1e-12, atol=1e-12)
    gained = (soc[-1] - soc[0]) * Q
    err = np.max(np.abs(gained - passed[:, None, None]) / np.abs(passed[:, None, None]))
    assert err < 5e-14  # measured 1.0e-14 (round-off of 240 steps)
    # and the pack SOC (capacity-weighted: dSOC/dt = -I/Q_pack, Q_pack = sum of each string's
    # smallest cell)
    Q_pack = Q.reshape(N_STRINGS, -1).min(axis=1).sum()
    pack_soc = ds["pack.soc"].values
    assert pack_soc[-1] - pack_soc[0] == pytest.approx(-(I * STEP).sum() / Q_pack, rel=3e-14)  # measured 8.4e-15
