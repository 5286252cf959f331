"""Mesh convergence of the SPMe and the DFN (issue 16): the default mesh (20 particle shells
graded towards the surface, 20/6/20 electrolyte volumes) against the same model on meshes
refined 2x and 4x in both directions, constant-current discharges at fixed steps (the same on
every mesh, so only the spatial discretisation differs). The study behind the choices:
docs/mesh_convergence.md (``python benchmarks/mesh_convergence.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.cell.dfn import DFN
from cosim.cell.electrolyte1d import DEFAULT_VOLUMES
from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.particle import DEFAULT_SHELLS
from cosim.cell.spme import SPMe

T25 = 298.15


def discharge(model, current: float, h: float, cutoff: float):
    """Voltages of fixed steps of ``h`` s until the voltage is below ``cutoff``."""
    volts = []
    for _ in range(5000):
        V = float(model.step(h, T25, current_A=current)["voltage_V"][0])
        volts.append(V)
        if not V >= cutoff:
            break
    return np.array(volts)


def rms_vs(V, ref) -> float:
    """RMS difference over the steps both runs have (before either crosses the cut-off)."""
    k = min(len(V), len(ref)) - 1
    return float(np.sqrt(np.mean((V[:k] - ref[:k]) ** 2)))


def refined(Model, params, k: int, **options):
    """``Model`` on the default mesh refined ``k`` times in both directions."""
    return Model(params, n_r=DEFAULT_SHELLS * k, n_x=tuple(n * k for n in DEFAULT_VOLUMES), **options)


def errors(Model, name: str, current: float, h: float, **options):
    """RMS differences of the default and the 2x mesh from the 4x mesh."""
    params = load_parameter_set(name).to_cell_params(1)
    cutoff = float(params.lower_voltage_V)
    runs = [discharge(refined(Model, params, k, **options), current, h, cutoff) for k in (1, 2, 4)]
    return rms_vs(runs[0], runs[2]), rms_vs(runs[1], runs[2])


# (model, parameter set, current A, step s, bound on the default mesh's RMS from 4x, V):
# Chen2020 at 2C (5 A h), Doyle 1996 cell 1 at 4C (17.5 A/m^2 on 1 m^2). The bounds are the
# acceptance's (1 mV at 2C, 3 mV at 4C). Measured: SPMe 0.66 and 0.95 mV, DFN 0.86 and
# 1.19 mV; before issue 16 (arithmetic faces, uniform shells, 20/20/20 volumes): SPMe 4.2 and
# 3.3 mV, DFN 5.6 and 20.1 mV.
@pytest.mark.parametrize("Model, name, current, h, bound", [
    (SPMe, "chen2020", 10.0, 5.0, 1e-3),
    (SPMe, "doyle1996_cell1", 70.0, 2.0, 3e-3),
    (DFN, "chen2020", 10.0, 10.0, 1e-3),
    (DFN, "doyle1996_cell1", 70.0, 4.0, 3e-3),
])
def test_default_mesh_is_converged_and_refinement_halves_the_error(Model, name, current, h, bound):
    e1, e2 = errors(Model, name, current, h)
    print(f"{Model.name} {name}: default {e1 * 1e3:.3f} mV, 2x {e2 * 1e3:.3f} mV RMS from 4x")
    assert e1 < bound
    assert e2 < 0.5 * e1


def test_default_volumes_resolve_the_salt_where_its_diffusivity_has_a_minimum():
    """Chen2020 at 2C accumulates salt to about 3200 mol/m^3 at the negative collector, across
    the minimum of its D_e(c) near 2000 mol/m^3: the series face conductances take the mean of
    D_e over the concentrations between the nodes (Simpson), a mean of the node values misses
    the minimum. The SPMe's voltage on the default volumes against 4x volumes (the same 80
    shells): measured 0.09 mV RMS (0.32 mV with the harmonic mean of the node values), so
    the bound is 0.2 mV."""
    params = load_parameter_set("chen2020").to_cell_params(1)
    cutoff = float(params.lower_voltage_V)
    runs = [discharge(SPMe(params, n_r=80, n_x=tuple(k * n for n in DEFAULT_VOLUMES)), 10.0, 10.0, cutoff)
            for k in (1, 4)]
    e = rms_vs(*runs)
    print(f"salt of the default volumes: {e * 1e3:.3f} mV RMS from 4x")
    assert e < 0.2e-3


def test_arithmetic_face_means_are_what_kept_the_dfn_from_converging():
    # the cause, demonstrated: the same DFN with PyBaMM's arithmetic face means is an order
    # of magnitude further off at Doyle's 4C (measured 1.0 mV with the default faces)
    e_default, _ = errors(DFN, "doyle1996_cell1", 70.0, 4.0)
    e_arith, _ = errors(DFN, "doyle1996_cell1", 70.0, 4.0, face_mean="arithmetic")
    assert e_arith > 5 * e_default


def test_default_shells_follow_one_second_current_changes():
    """A drive-cycle-like current (a new value every 1 s, -0.5C..1.5C at 2C scale, 300 s):
    the boundary layer a current change leaves at the particle surface is thinner than a
    uniform shell at first; shells graded towards the surface resolve it. RMS from the same
    SPMe on 4x shells (and volumes): measured 0.89 mV on the default shells, 4.7 mV on uniform
    ones (PyBaMM's), so the bound is 2 mV."""
    params = load_parameter_set("chen2020").to_cell_params(1)
    currents = np.random.default_rng(1).uniform(-5.0, 15.0, 300)

    def volts(model):
        return np.array([model.step(1.0, T25, current_A=I)["voltage_V"][0] for I in currents])

    fine = volts(refined(SPMe, params, 4))
    graded = np.sqrt(np.mean((volts(refined(SPMe, params, 1)) - fine) ** 2))
    uniform = np.sqrt(np.mean((volts(refined(SPMe, params, 1, particle_grading=1.0)) - fine) ** 2))
    print(f"1 s steps: default {graded * 1e3:.2f} mV, uniform shells {uniform * 1e3:.2f} mV RMS from 4x")
    assert graded < 2e-3
    assert uniform > 3 * graded
