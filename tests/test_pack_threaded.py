"""The threaded cell kernels against the serial ones, cell by cell.

Batches of ``THREADS_MIN_CELLS`` (64) cells and more run the per-cell loops of the SPM/SPMe
kernels (prepare, evaluate, outputs, anode potential, the pack's string solve) in numba
threads (``prange``); smaller batches run the same per-cell code in a plain loop. Here the
same 256 cells, every one different (capacity, thickness, contact resistance, area, SOC,
temperature, current), are advanced both ways: the serial path is forced by raising the
module's threshold before the model is built. An indexing slip in a threaded loop (a cell
computed with its neighbour's data, or a cell left out) gives different numbers for some
cells; the loops only reorder independent per-cell work, so the two must agree to the bit
(measured: identical; the assertion allows 1e-12 relative).
"""

from __future__ import annotations

import numpy as np
import pytest

import cosim.cell.spme_kernels as kern
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.spme import SPM, SPMe
from cosim.pack import AssembledBattery, Layout
from cosim.pack.spread import apply, draw

N = 256
RTOL = 1e-12  # measured: 0 (bit-identical) for every output and state array


def spread_params(name: str):
    """256 unit cells of the parameter set ``name``, each its own: capacity, thickness and
    contact resistance (the pack's spread), area (0.5-2x) and initial SOC (20-85 %)."""
    p = load_parameter_set(name).to_cell_params(N)
    p = apply(p, draw(N, seed=5, capacity_rel=0.05, thickness_rel=0.05, resistance_rel=0.3))
    rng = np.random.default_rng(17)
    p = p.with_(area_m2=np.broadcast_to(p.area_m2, (N,)) * rng.uniform(0.5, 2.0, N),
                contact_resistance_Ohm=np.broadcast_to(p.contact_resistance_Ohm, (N,)) + rng.uniform(0, 2e-3, N)
                / np.broadcast_to(p.area_m2, (N,)) * 1e-2)
    return p.at_soc(rng.uniform(0.2, 0.85, N))


def both(Model, params, monkeypatch, **kw):
    """The same cells as a threaded model and as a serial one."""
    threaded = Model(params, **kw)
    with monkeypatch.context() as m:
        m.setattr(kern, "THREADS_MIN_CELLS", 10**9)
        serial = Model(params, **kw)
    assert threaded._threads and not serial._threads
    return threaded, serial


def assert_same(a, b, what):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    assert np.all(np.isfinite(a)), what
    bad = ~(np.abs(a - b) <= RTOL * np.abs(b))
    assert not bad.any(), f"{what}: cells {np.flatnonzero(bad.ravel())[:8].tolist()} differ, max " \
                          f"{np.max(np.abs(a - b)):.3g}"


def assert_outputs_same(a, b, what):
    keys = sorted(b.out)
    assert sorted(a.out) == keys
    for key in keys:
        assert_same(a.out[key], b.out[key], f"{what}: {key}")
    for k, (x, y) in enumerate(zip(_flat_state(a), _flat_state(b))):
        assert_same(x, y, f"{what}: state array {k}")


def _flat_state(model):
    out = []

    def walk(s):
        if isinstance(s, np.ndarray):
            out.append(s)
        elif isinstance(s, (tuple, list)):
            for v in s:
                walk(v)
        elif isinstance(s, dict):
            for v in s.values():
                walk(v)

    walk(model.get_state())
    return out


@pytest.mark.parametrize("Model", [SPM, SPMe])
@pytest.mark.parametrize("name", ["chen2020", "seed_bgraphite_sno2_lmo_gel"])
def test_threaded_and_serial_kernels_agree_cell_by_cell(Model, name, monkeypatch):
    """Current, power and voltage control, a clamp at the voltage limits and the available
    power (the pulse solves and the plating limit's anode-potential kernel)."""
    params = spread_params(name)
    threaded, serial = both(Model, params, monkeypatch, n_r=8, n_x=(6, 4, 6))
    rng = np.random.default_rng(3)
    T = rng.uniform(268.15, 318.15, N)
    one_c = serial._current_scale()
    assert np.ptp(one_c) > 0.5 * np.mean(one_c)  # the cells really differ
    limits = (params.lower_voltage_V, params.upper_voltage_V)
    for k in range(6):
        I = one_c * rng.uniform(-1.5, 2.0, N)
        T = T + rng.uniform(-0.5, 1.0, N)
        for m in (threaded, serial):
            m.step(7.0, T, current_A=I, limits=limits)
        assert_outputs_same(threaded, serial, f"current step {k}")
    P = threaded.out["voltage_V"] * one_c * rng.uniform(-1.0, 1.0, N)
    for m in (threaded, serial):
        m.step(5.0, T, power_W=P)
    assert_outputs_same(threaded, serial, "power step")
    V = threaded.out["ocv_V"] + rng.uniform(-0.05, 0.05, N)
    for m in (threaded, serial):
        m.step(3.0, T, voltage_V=V)
    assert_outputs_same(threaded, serial, "voltage step")
    a = threaded.available_power(10.0, T, *limits, min_anode_potential_V=0.0)
    b = serial.available_power(10.0, T, *limits, min_anode_potential_V=0.0)
    assert_same(a[0], b[0], "available discharge power")
    assert_same(a[1], b[1], "available charge power")
    assert np.ptp(a[0]) > 0 and np.ptp(threaded.out["soc"]) > 0.3


def test_threaded_and_serial_packs_agree_layer_by_layer(monkeypatch):
    """The assembled battery's compiled string solve (2 strings x 4 stacks x 32 layers, every
    layer different, each at its own temperature): power steps, a clamp at the limits and
    the available power."""
    params = spread_params("seed_bgraphite_sno2_lmo_gel")
    layout = Layout(2, 4, 32)
    packs = [AssembledBattery(m, layout, end_collector_resistance_Ohm=2e-4, string_resistance_Ohm=[1e-4, 3e-4])
             for m in both(SPMe, params, monkeypatch, n_r=8, n_x=(6, 4, 6))]
    rng = np.random.default_rng(9)
    T = rng.uniform(278.15, 313.15, N)
    limits = (params.lower_voltage_V, params.upper_voltage_V)
    n_series = layout.n_stacks * layout.n_layers
    pack_limits = (n_series * limits[0], n_series * limits[1])
    for k, P in enumerate([2000.0, -1500.0, 5000.0, 0.0, -1e6, 1e6]):  # the last two beyond the limits
        for b in packs:
            b.step(2.0, T, power_W=P, limits=limits, pack_limits=pack_limits)
        a, s = packs
        assert_same(a.string_current, s.string_current, f"string currents, step {k}")
        assert_same([a.voltage], [s.voltage], f"pack voltage, step {k}")
        assert a.limited == s.limited
        assert_outputs_same(a.model, s.model, f"pack step {k}")
    assert packs[0].limited  # the last set point was beyond a limit
    a = packs[0].available_power(10.0, T, limits, pack_limits, min_anode_potential_V=0.0)
    b = packs[1].available_power(10.0, T, limits, pack_limits, min_anode_potential_V=0.0)
    assert_same(a, b, "pack available power")
