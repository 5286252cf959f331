"""The pack component's two engines (``PackConfig.engine``): the pack FMU's C battery stepped
in-process (``"c"``, the default for the SPM and SPMe) and the Python battery
(``"python"``) give the same run, in scenarios where the limits bind.

``tests/test_pack_c_model.py`` compares the two batteries step by step outside the
orchestrator; here whole runs are compared through the orchestrator, the recorder and the
energy ledger, so what the component adds around the C battery (the layer temperatures in,
the outputs and the books out, the state that an iterated connection saves and restores, the
errors and the end of a run) is covered too:

* the small high-power pack on US06 (power control; the pack's limit binds and feeds back to
  the vehicle through an iterated connection, which restores the pack's state and repeats
  the step);
* a CC-CV charge (current control, clamp at the upper limit, on 2 kernel threads);
* the cold start at -20 C (the plating limit of the available charge power binds);
* a step that leaves the layer limits with ``on_limit = "stop"`` and ``"end"``, and a layer
  above its maximum temperature: the same message from both engines;
* a child forked after the C battery ran on two threads steps serially (without the mark
  that the C battery used threads, the child hung: tried);
* the C engine's temperature cache: exact by default, a stated tolerance moves a run by a
  bounded amount.

Measured: every recorded variable of every run agrees **bit for bit** (the C mirrors the
Python operation for operation, ``fmus/pack/src/pack_model.h``). The comparison allows 1e-12
of each variable's scale (a different compiler could round a sum differently); an engine
that dropped a step's repetition or published a stale output would differ by far more.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fork_helpers import wait_for_child

from cosim.components.pack import PackConfig
from cosim.errors import CosimError
from cosim.run import run_scenario
from cosim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
RTOL = 1e-12


def _run(tmp_path: Path, text: str, engine: str) -> xr.Dataset:
    path = tmp_path / f"{engine}.toml"
    path.write_text(text.replace("[components.pack]", f'[components.pack]\nengine = "{engine}"', 1))
    run_scenario(load_scenario(path), output=tmp_path / f"{engine}.nc")
    return xr.load_dataset(tmp_path / f"{engine}.nc")


def _same_runs(tmp_path: Path, text: str) -> xr.Dataset:
    c, py = _run(tmp_path, text, "c"), _run(tmp_path, text, "python")
    assert set(c.data_vars) == set(py.data_vars)
    assert c.sizes == py.sizes
    for name in py.data_vars:
        want, got = py[name].values, c[name].values
        if want.dtype.kind not in "fi":
            assert (want == got).all(), name
            continue
        scale = max(float(np.nanmax(np.abs(want))), 1.0) if want.size else 1.0
        diff = float(np.nanmax(np.abs(got - want))) if want.size else 0.0
        assert np.array_equal(np.isnan(want), np.isnan(got)) and diff <= RTOL * scale, (
            f"{name}: largest difference {diff:.3g} (scale {scale:.3g})")
    for key in ("status", "status_reason", "ledger_max_relative_mismatch"):
        assert c.attrs.get(key) == py.attrs.get(key), key
    return c


# the small high-power pack on US06, from 35 % SOC: its limit binds within 300 s
US06 = f"""
extends = "{SCENARIOS / 'small_pack_us06.toml'}"
[simulation]
stop_time_s = 300
[components.pack]
initial_soc = 0.35
"""


def test_a_small_pack_on_us06_where_the_limit_binds_and_is_iterated(tmp_path):
    ds = _same_runs(tmp_path, US06)
    assert float(ds["pack.limited"].sum()) >= 10  # the limit bound (measured: 22 steps)
    assert "at a limit in" in ds.attrs["status_reason"]


CCCV = """
[simulation]
stop_time_s = 1500
step_s = 10

[components.charger]
type = "profile"
time_s = [0.0, 1500.0]
values = { current_A = [-5.5, -5.5] }
interpolation = "previous"

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
overrides = { "cell.area_m2" = 0.1 }
control = "current"
n_strings = 2
n_stacks = 4
n_layers = 16
initial_soc = 0.7
capacity_spread_rel = 0.03
spread_seed = 3
particle_shells = 8
electrolyte_volumes = [6, 4, 6]
on_limit = "clamp"

[[connections]]
from = "charger.current_A"
to = "pack.current_setpoint_A"
"""


@pytest.mark.parametrize("available_power", [True, False])
def test_a_cc_cv_charge_on_two_kernel_threads(tmp_path, monkeypatch, available_power):
    monkeypatch.setenv("COSIM_THREADS", "2")  # 128 cells: the C battery's loops run on 2 threads
    text = CCCV if available_power else CCCV.replace('on_limit = "clamp"', 'on_limit = "clamp"\navailable_power = false')
    ds = _same_runs(tmp_path, text)
    current = -ds["pack.current_A"].values[1:]
    assert current[0] == pytest.approx(5.5) and current[-1] < 2.0  # the limit held, the current tapered
    assert ("pack.available_charge_power_W" in ds) == available_power


def test_the_cold_start_with_the_plating_limit(tmp_path):
    ds = _same_runs(tmp_path, f"""
extends = "{SCENARIOS / 'cold_start_minus20_wltc3b.toml'}"
[simulation]
stop_time_s = 400
[components.pack]
""")
    assert float(ds["pack.available_charge_power_W"].values[1:].max()) > -1e12  # computed


@pytest.mark.parametrize("on_limit", ["stop", "end"])
def test_a_layer_limit_without_clamp_stops_or_ends_alike(tmp_path, on_limit):
    text = CCCV.replace('on_limit = "clamp"', f'on_limit = "{on_limit}"')
    if on_limit == "stop":
        messages = []
        for engine in ("c", "python"):
            with pytest.raises(CosimError) as err:
                _run(tmp_path, text, engine)
            messages.append(str(err.value).replace(f"{engine}.", "ENGINE."))  # its files
        assert messages[0] == messages[1] and "above the upper layer limit" in messages[0]
        ds = xr.load_dataset(tmp_path / "c.nc")
        assert ds.attrs["status"] != "complete"  # what was recorded stays, marked
    else:
        ds = _same_runs(tmp_path, text)
        assert "above the upper layer limit" in ds.attrs["status_reason"]


def test_a_layer_above_its_maximum_temperature_is_the_same_error(tmp_path):
    text = CCCV.replace("initial_soc = 0.7", "initial_soc = 0.7\ntemperature_K = 340.0")
    messages = []
    for engine in ("c", "python"):
        with pytest.raises(CosimError) as err:
            _run(tmp_path, text, engine)
        messages.append(str(err.value).replace(f"{engine}.", "ENGINE."))
    assert messages[0] == messages[1] and "above max_layer_temperature_K" in messages[0]


def test_engine_c_is_refused_where_only_python_steps(tmp_path):
    base = dict(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel")
    with pytest.raises(ValueError, match="engine"):
        PackConfig(**base, model="dfn", engine="c")
    with pytest.raises(ValueError, match="engine"):
        PackConfig(**base, mesh_check=True, engine="c")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_child_forked_after_a_threaded_c_battery_steps_serially(tmp_path, monkeypatch):
    """GNU OpenMP hangs in a child forked from a process whose OpenMP threads ran (a sweep's
    workers on Linux): a C battery that ran on two threads in the parent, and a new one
    built in the child, step serially there, to the same numbers, and do not hang."""
    from cosim.components.pack import Pack

    monkeypatch.setenv("COSIM_THREADS", "2")
    config = PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", overrides={"cell.area_m2": 0.1},
                        n_strings=2, n_stacks=4, n_layers=16, initial_soc=0.5, capacity_spread_rel=0.03,
                        particle_shells=8, electrolyte_volumes=[6, 4, 6])

    def run(pack):
        pack.initialize(0.0)
        for k in range(5):
            pack.u["current_setpoint_A"] = 3.0
            pack.do_step(float(k), 1.0)
        return pack.y["layer_voltage_V"].copy()

    parent = Pack("pack", config)
    want = run(parent)
    assert parent._engine._threads == 2  # 128 cells on two threads
    out = tmp_path / "child.npy"
    pid = os.fork()
    if pid == 0:
        try:
            child = Pack("pack", config)
            got = run(child)
            np.save(out, np.concatenate([got.ravel(), [child._engine._threads]]))
        finally:
            os._exit(0)
    wait_for_child(pid, "the C battery")
    got = np.load(out)
    assert got[-1] == 1.0  # serial in the child
    assert np.array_equal(got[:-1], want.ravel())


def test_the_temperature_cache_trades_a_stated_tolerance_for_speed(tmp_path):
    """``temperature_cache_K`` (C engine): each unit cell reuses its particle propagators and
    reaction rates while its temperature stays within the tolerance of the one they were
    computed at. 0 (the default) reuses them only at the very same temperature: exact (the
    runs above compare bit for bit with the Python engine; the CC-CV pack at its fixed
    temperature reuses them every step). 0.01 K on the small pack at its limits, whose layers
    warm by up to 0.57 K per step: the run moves (the cache is used), by at most 0.12 mV
    (measured) in the layer voltages, below the default mesh's own error; the energy ledger
    still closes. A Python-engine pack refuses the key."""
    (tmp_path / "exact").mkdir()
    exact = _run(tmp_path / "exact", US06, "c")
    cached = _run(tmp_path, US06.replace("initial_soc = 0.35", "initial_soc = 0.35\ntemperature_cache_K = 0.01"), "c")
    dv = float(np.abs(cached["pack.layer_voltage_V"] - exact["pack.layer_voltage_V"]).max())
    assert 0.0 < dv < 3e-4
    assert float(cached.attrs["ledger_max_relative_mismatch"]) < 1e-12
    with pytest.raises(ValueError, match="temperature_cache_K"):
        PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", engine="python", temperature_cache_K=0.01)
    with pytest.raises(ValueError, match="temperature_cache_K"):
        PackConfig(type="pack", parameter_set="seed_bgraphite_sno2_lmo_gel", model="dfn", temperature_cache_K=0.01)
