"""Mesh convergence of the SPMe and the DFN (issue 16): the default mesh (20 particle shells,
20/20/20 electrolyte volumes) against the same model on meshes refined 2x and 4x in both
directions, constant-current discharges at fixed steps (the same on every mesh, so only the
spatial discretisation differs). The study behind the choices: docs/mesh_convergence.md
(``python benchmarks/mesh_convergence.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.cell.dfn import DFN
from cosim.cell.parameter_set import load_parameter_set
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
    """RMS difference over the steps both runs have."""
    k = min(len(V), len(ref)) - 1
    return float(np.sqrt(np.mean((V[:k] - ref[:k]) ** 2)))


def errors(make, name: str, current: float, h: float):
    """RMS differences of the default and the 2x mesh from the 4x mesh."""
    params = load_parameter_set(name).to_cell_params(1)
    cutoff = float(params.lower_voltage_V)
    runs = [discharge(make(params, 20 * k, (20 * k,) * 3), current, h, cutoff) for k in (1, 2, 4)]
    return rms_vs(runs[0], runs[2]), rms_vs(runs[1], runs[2])


def spme(params, n_r, n_x):
    return SPMe(params, n_r=n_r, n_x=n_x)


def dfn_converging(params, n_r, n_x):
    return DFN(params, n_x=n_x, n_r=n_r, face_mean="harmonic", particle_grading=1.1)


# (parameter set, current A, step s, bound on the default mesh's RMS error V): Chen2020 at 2C
# (5 A h), Doyle 1996 cell 1 at 4C (17.5 A/m^2 on 1 m^2). Measured (SPMe): 0.93 mV and
# 0.98 mV (today's scheme before issue 16: 4.2 and 3.3 mV); the bounds are the acceptance's.
@pytest.mark.parametrize("name, current, h, bound", [("chen2020", 10.0, 5.0, 1e-3), ("doyle1996_cell1", 70.0, 2.0, 3e-3)])
def test_spme_default_mesh_is_converged_and_refinement_halves_the_error(name, current, h, bound):
    e1, e2 = errors(spme, name, current, h)
    print(f"SPMe {name}: default {e1 * 1e3:.3f} mV, 2x {e2 * 1e3:.3f} mV RMS from 4x")
    assert e1 < bound
    assert e2 < 0.5 * e1


def test_dfn_with_harmonic_faces_and_graded_shells_converges_at_4C_doyle():
    # measured 1.06 mV (2x: 0.23 mV); today's default DFN (arithmetic faces, uniform
    # shells): 20.1 mV
    e1, e2 = errors(dfn_converging, "doyle1996_cell1", 70.0, 4.0)
    print(f"DFN doyle cell 1 4C: default {e1 * 1e3:.3f} mV, 2x {e2 * 1e3:.3f} mV RMS from 4x")
    assert e1 < 3e-3
    assert e2 < 0.5 * e1


def test_dfn_with_harmonic_faces_and_graded_shells_at_2C_chen2020():
    # measured 1.20 mV (2x: 0.24 mV): the acceptance's 1 mV is NOT met (see
    # docs/mesh_convergence.md); this bounds the present state at 1.5 mV and the halving
    e1, e2 = errors(dfn_converging, "chen2020", 10.0, 10.0)
    print(f"DFN chen2020 2C: default {e1 * 1e3:.3f} mV, 2x {e2 * 1e3:.3f} mV RMS from 4x")
    assert e1 < 1.5e-3
    assert e2 < 0.5 * e1


def test_arithmetic_face_means_are_what_kept_the_dfn_from_converging():
    # the cause, demonstrated: the same DFN with PyBaMM's arithmetic face means (its
    # default, kept for the PyBaMM reference test) is an order of magnitude further off
    e_harm, _ = errors(dfn_converging, "doyle1996_cell1", 70.0, 4.0)
    e_arit, _ = errors(lambda p, n_r, n_x: DFN(p, n_x=n_x, n_r=n_r, particle_grading=1.1), "doyle1996_cell1", 70.0, 4.0)
    assert e_arit > 5 * e_harm
