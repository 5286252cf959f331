"""The seed's thin-layer trade-off: thinner layers polarize less, and hold less."""

import numpy as np
import pytest

from cosim.cell.parameter_set import load_parameter_set
from cosim.cell.studies import layer_thickness_tradeoff, scaled_layers

THICKNESSES = [100e-6, 30e-6, 10e-6, 3e-6, 1e-6]


@pytest.fixture(scope="module")
def seed():
    return load_parameter_set("seed_bgraphite_sno2_lmo_gel").to_cell_params(1)


def test_capacity_per_layer_falls_in_proportion_to_thickness(seed):
    rows = layer_thickness_tradeoff(seed, THICKNESSES, current_density_A_m2=2.0)
    cap = np.array([r.capacity_Ah_per_m2 for r in rows])
    np.testing.assert_allclose(cap / cap[0], np.array(THICKNESSES) / THICKNESSES[0], rtol=1e-12)


@pytest.mark.parametrize("current_density", [2.0, 10.0, 30.0])
def test_thinning_a_thick_gel_layer_cuts_the_pulse_drop(seed, current_density):
    rows = {round(r.negative_thickness_m * 1e6): r for r in
            layer_thickness_tradeoff(seed, [100e-6, 30e-6, 10e-6], current_density_A_m2=current_density)}
    # transport through the gel-filled layer dominates the thick layer: 100 -> 30 µm more than halves it
    assert rows[30].pulse_drop_V < 0.5 * rows[100].pulse_drop_V
    assert rows[10].pulse_drop_V < rows[100].pulse_drop_V
    assert all(r.pulse_drop_V > 0 for r in rows.values())


def test_thin_layers_are_made_of_fine_particles(seed):
    thin = scaled_layers(seed, 1e-6)
    for el in (thin.negative, thin.positive):
        for m in el.materials:
            assert np.all(m.particle_radius_m <= el.thickness_m / 4 + 1e-18)
