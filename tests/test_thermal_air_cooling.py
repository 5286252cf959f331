"""The thermal component with air-cooled faces (``cooling_type = "air"``: each cooled face
straight to the ambient air through ``1/(h A)``, no cold plate), against analytic limits.

* Biot << 1 (natural convection on a thin stack): the stack cools as one lump,
  ``T - T_amb = (T0 - T_amb) exp(-t / tau)`` with ``tau = C / (n_faces h A)``;
* steady state with uniform heating: the conduction-convection solution of a slab heated
  uniformly and cooled on both faces, ``T(x) = T_amb + q''' b / h + q''' (b^2 - x^2) / (2k)``
  (half thickness ``b``, ``x`` from the mid-plane); with one face cooled, the other adiabatic,
  ``T(x) = T_amb + q''' L / h + q''' (L^2 - x^2) / (2k)`` (``x`` from the adiabatic face).

The coolant is set 60 K colder than the air throughout: air-cooled faces must not see it.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cosim.run import run_scenario
from cosim.scenario import load_scenario

T_AMB, T_COOLANT = 293.15, 233.15
AREA = 0.04  # m2
RHO_C = 2.4e6  # J/m3/K (the network's default, set explicitly below)

SCENARIO = """
[simulation]
stop_time_s = {stop}
step_s = {step}

[components.heater]
type = "profile"
time_s = [0.0, {stop}]
values = {{ heat_W = [{q}, {q}] }}
interpolation = "previous"

[components.thermal]
type = "thermal"
n_layers = {n}
layer_thickness_m = {t}
area_m2 = {area}
through_plane_conductivity_W_mK = {k}
volumetric_heat_capacity_J_m3K = {rho_c}
end_plate_thickness_m = 0.0
cooling = "{cooling}"
cooling_type = "air"
coolant_h_W_m2K = {h}
coolant_temperature_K = {t_coolant}
ambient_temperature_K = {t_amb}
initial_temperature_K = {t0}
per_layer_heat = false

[[connections]]
from = "heater.heat_W"
to = "thermal.heat_W"
"""


def run(tmp_path, *, stop, step, q=0.0, n=10, t=2e-4, k=0.8, h=5.0, cooling="both", t0=T_AMB):
    path = tmp_path / "air.toml"
    path.write_text(SCENARIO.format(stop=stop, step=step, q=q, n=n, t=t, area=AREA, k=k, rho_c=RHO_C, cooling=cooling,
                                    h=h, t_coolant=T_COOLANT, t_amb=T_AMB, t0=t0))
    out = run_scenario(load_scenario(path), output=tmp_path / "air.nc")
    assert out.status == "complete"
    return xr.load_dataset(out.path)


@pytest.mark.parametrize("cooling, faces", [("both", 2), ("one", 1)])
def test_a_thin_air_cooled_stack_decays_with_the_lumped_time_constant(tmp_path, cooling, faces):
    """10 layers of 0.2 mm, k = 0.8 W/m/K, h = 5 W/m2/K: Biot = h L / k = 0.0125 (one face,
    L the whole stack; half that with both), tau = 480 s (both faces) or 960 s (one); from
    40 K above the air, 1 s steps over three time constants."""
    n, t, h = 10, 2e-4, 5.0
    tau = RHO_C * n * t * AREA / (faces * h * AREA)
    ds = run(tmp_path, stop=3 * tau, step=1.0, n=n, t=t, h=h, cooling=cooling, t0=T_AMB + 40.0)
    time = ds["time"].values
    T = ds["thermal.layer_temperature_K"].values[:, 0, 0, :]  # (time, layer)
    expected = T_AMB + 40.0 * np.exp(-time / tau)
    err = np.max(np.abs(T - expected[:, None])) / 40.0
    # measured 1.6e-3 (both) / 3.5e-3 (one) of the initial difference: the lumped model's
    # O(Biot) error (the slowest slab mode decays at Bi (1 - Bi/3) ...: 0.2 % / 0.4 % slower)
    # plus backward Euler's lag (h/(2 tau) t/tau exp(-t/tau): at most 7.7e-4 / 3.8e-4)
    assert err < (4e-3 if faces == 2 else 8e-3)
    # nearly isothermal (Biot << 1): measured 0.0050 K / 0.0113 K across the layers at the end
    assert np.ptp(T[-1]) < (0.012 if faces == 2 else 0.025)
    # the heat goes to the air, none to the (colder) coolant; the ledger closes
    removed = float(ds["thermal.heat_removed_to_ambient_J"][-1])
    assert float(ds["thermal.heat_removed_to_coolant_J"][-1]) == 0.0
    C = RHO_C * n * t * AREA
    assert removed == pytest.approx(C * (T[0] - T[-1]).mean(), rel=1e-9)
    # the lumped limit's heat over three time constants: measured -5.0e-4 / -7.4e-4 relative
    assert removed == pytest.approx(C * 40.0 * (1 - np.exp(-3.0)), rel=(1.5e-3 if faces == 2 else 2e-3))


@pytest.mark.parametrize("cooling", ["both", "one"])
def test_uniformly_heated_air_cooled_slab_reaches_the_conduction_convection_steady_state(tmp_path, cooling):
    """20 layers of 0.25 mm (5 mm), k = 0.8 W/m/K, forced air h = 50 W/m2/K, 0.5 W per
    layer (q''' = 50 kW/m3): after 40 time constants every layer sits at the continuous
    slab solution at its centre."""
    n, t, k, h, q = 20, 2.5e-4, 0.8, 50.0, 0.5
    faces = 2 if cooling == "both" else 1
    tau = RHO_C * n * t / (faces * h)
    ds = run(tmp_path, stop=40 * tau, step=tau / 10, q=q, n=n, t=t, k=k, h=h, cooling=cooling)
    T = ds["thermal.layer_temperature_K"].values[-1, 0, 0, :]
    q3 = q / (t * AREA)  # W/m3
    centres = (np.arange(n) + 0.5) * t
    if cooling == "both":
        b = n * t / 2
        x = centres - b
    else:  # layer 0's face cooled, the far face adiabatic
        b = n * t
        x = b - centres
    expected = T_AMB + q3 * b / h + q3 * (b**2 - x**2) / (2 * k)
    rise = expected - T_AMB
    err = np.max(np.abs(T - expected))
    # measured 4.9e-4 K both ways, of a 2.7 / 5.8 K rise (0.20 / 0.78 K of it the conduction
    # inside the slab): the layer network's error for the quadratic profile, q''' t^2 / (8k)
    # = 4.9e-4 K (its face path from the outer layer's centre misses the half layer's own
    # heat); a face path without the half layer's resistance would be 0.02 / 0.04 K off
    assert err < 1e-3
    assert rise.min() > 2.0
    # and the heat generated leaves to the air only: in steady state, all of it
    gen = float(ds["thermal.heat_generated_J"][-1])
    assert gen == pytest.approx(n * q * 40 * tau, rel=1e-12)
    assert float(ds["thermal.heat_removed_to_coolant_J"][-1]) == 0.0
