"""The sparse RC thermal network and its pack builder: analytic slab and lumped limits,
energy ledger, hottest layers, factorization reuse, refused topologies."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from pydantic import ValidationError

from cosim.thermal import PackThermalGeometry, ThermalNetwork, build_pack_network

K_PERP = 0.8  # W/m/K
Q_VOL = 65e3  # W/m3, a bipolar stack at 3C (thermal.md §3.5)

SLAB = dict(
    end_plate_thickness_m=0.0, tim_thickness_m=0.0, coolant_h_W_m2K=1e12,
    through_plane_conductivity_W_mK=K_PERP, layer_thickness_m=250e-6, area_m2=0.01,
)


def slab(n_layers, cooling):
    pack = build_pack_network(n_layers=n_layers, cooling=cooling, **SLAB)
    cell_heat = Q_VOL * SLAB["layer_thickness_m"] * SLAB["area_m2"]
    q = pack.node_heat(np.full((1, 1, n_layers), cell_heat))
    return pack, q


@pytest.mark.parametrize("cooling, divisor, faces", [("both", 8.0, 2), ("one", 2.0, 1)])
def test_steady_slab_matches_the_analytic_rise(cooling, divisor, faces):
    n = 101
    dx = SLAB["layer_thickness_m"]
    L = n * dx
    # the continuum rise, centre (both faces) or far face (one) over the cooled face, is
    # Q L^2 / (divisor k). The network (one node per layer, half a layer to each face) by hand:
    # each link carries the heat of the layers beyond it, (m - i) q between layers i and i+1
    # and m q through a face (m = n / 2 or n), over dx / k (dx / 2k to the face). One face:
    # q dx / k (n / 2 + sum_{i<n} (n - i)) = Q L^2 / 2k, the continuum; both: the centre node
    # q dx / k (n / 4 + sum_{i<(n+1)/2} (n/2 - i)) = Q L^2 (1 + 1/n^2) / 8k. Plus the coolant
    # film: the face's heat Q L / faces over h.
    network = Q_VOL * L**2 / (divisor * K_PERP) * (1 + (1 / n**2 if faces == 2 else 0.0))
    film = Q_VOL * L / (faces * SLAB["coolant_h_W_m2K"])
    pack, q_nodes = slab(n, cooling)
    T = pack.network.steady_state(q_nodes, {"coolant": 300.0, "ambient": 300.0})
    # round-off of the sparse solve: measured 1.1e-14 K (both) and 3.9e-14 K (one), under one
    # ulp of 300 K (5.7e-14 K); the continuum value alone would be 1e-4 off (1/n^2) for both
    assert T.max() - 300.0 == pytest.approx(network + film, rel=0, abs=1e-13)
    # backward Euler with huge steps lands on the same steady state (measured 5.7e-14 K)
    for _ in range(5):
        T_be = pack.network.step(1e7, q_nodes, [300.0, 300.0])
    np.testing.assert_allclose(T_be, T, rtol=0, atol=2e-13)


def test_slab_converges_with_more_nodes():
    L_layers = 96
    L = L_layers * SLAB["layer_thickness_m"]
    expected = Q_VOL * L**2 / (8 * K_PERP)
    # by hand (as in the test above), node i of n of a slab cooled on both faces sits
    # Q dx^2 / 8k above the continuum profile at its centre, for every i: a uniform error of
    # expected / n^2 (second order), plus the coolant film's Q L / 2h
    film = Q_VOL * L / (2 * SLAB["coolant_h_W_m2K"])
    for m in (12, 4, 1):  # 8, 24, 96 nodes
        n = L_layers // m
        pack = build_pack_network(n_layers=L_layers, layers_per_node=m, **SLAB)
        q = pack.node_heat(np.full((1, 1, L_layers), Q_VOL * SLAB["layer_thickness_m"] * SLAB["area_m2"]))
        T = pack.network.steady_state(q, [300.0, 300.0])
        # the analytic profile at the node centres, T(x) = Ts + q x (L - x) / (2k)
        x = (np.arange(n) + 0.5) * m * SLAB["layer_thickness_m"]
        exact = 300.0 + Q_VOL * x * (L - x) / (2 * K_PERP)
        # round-off: measured 4e-14 K, under an ulp of 300 K (5.7e-14 K)
        np.testing.assert_allclose(T - exact, expected / n**2 + film, rtol=0, atol=1e-13)


def test_symmetric_cooling_heats_the_middle_one_face_the_far_layer():
    n = 21
    pack, q = slab(n, "both")
    T = pack.layer_temperature(pack.network.steady_state(q, [300.0, 300.0]))[0, 0]
    assert int(np.argmax(T)) == n // 2
    np.testing.assert_allclose(T, T[::-1], rtol=1e-12)
    pack, q = slab(n, "one")
    T = pack.layer_temperature(pack.network.steady_state(q, [300.0, 300.0]))[0, 0]
    assert int(np.argmax(T)) == n - 1
    assert np.all(np.diff(T) > 0)
    # the same holds in a transient from cold, with end plates and a real cold plate
    for cooling, hottest in (("both", (n // 2,)), ("one", (n - 1,))):
        pack = build_pack_network(n_layers=n, cooling=cooling)
        heat = np.full((1, 1, n), 0.05)
        for _ in range(30):
            pack.network.step(20.0, pack.node_heat(heat), [298.15, 298.15])
        T = pack.layer_temperature()[0, 0]
        assert int(np.argmax(T)) in hottest


def test_lumped_node_follows_the_exponential():
    C, R, q, T_amb = 5000.0, 0.2, 40.0, 293.15  # J/K, K/W, W, K
    tau = R * C
    net = ThermalNetwork([C], None, {"ambient": [1 / R]}, initial_temperature_K=T_amb)
    # large steps: exactly backward Euler's discrete solution, and within its known error
    h, n = tau / 4, 12
    for k in range(1, n + 1):
        T = net.step(h, [q], [T_amb])[0]
        be = T_amb + q * R * (1 - (1 + h / tau) ** -k)
        exact = T_amb + q * R * (1 - math.exp(-k * h / tau))
        assert T == pytest.approx(be, rel=1e-13)
        assert abs(T - exact) <= 0.06 * q * R  # BE lags; at h = tau/4 by < 6 % of the rise
    # small steps: close to the exponential
    net = ThermalNetwork([C], None, {"ambient": [1 / R]}, initial_temperature_K=T_amb)
    h = tau / 2000
    for _ in range(2000):
        T = net.step(h, [q], [T_amb])[0]
    assert T == pytest.approx(T_amb + q * R * (1 - math.exp(-1.0)), abs=2e-4 * q * R)


def test_energy_ledger_closes_over_a_random_drive_cycle():
    rng = np.random.default_rng(7)
    pack = build_pack_network(
        n_strings=2, n_stacks=3, n_layers=24, layers_per_node=2, edge_path=True,
        stack_contact_conductance_W_K=2.0, interlayer_contact_resistance_m2K_W=1e-4,
        cooling="one", uncooled_face_h_W_m2K=8.0,
    )
    net = pack.network
    T0 = net.temperature_K.copy()
    for k in range(600):
        h = float(rng.choice([1e-3, 0.1, 1.0, 10.0, 1000.0]))
        heat = rng.uniform(-0.02, 0.3, size=pack.layer_node.shape)  # regen, entropic cooling, peaks
        coolant = 298.15 + 10 * math.sin(k / 40)
        net.step(h, pack.node_heat(heat), {"coolant": coolant, "ambient": 305.0})
    ledger = net.ledger
    assert ledger.generated_J > 0 and ledger.removed_J["coolant"] != 0 and ledger.removed_J["ambient"] != 0
    # round-off over 600 steps (measured 4.8e-15 and 7.9e-16)
    assert ledger.relative_imbalance < 1e-12
    stored = float(np.sum(net.capacity_J_K * (net.temperature_K - T0)))
    assert stored == pytest.approx(ledger.stored_J, rel=1e-12, abs=1e-12 * ledger.generated_J)


def test_factorization_reused_while_step_and_conductances_hold():
    pack = build_pack_network(n_layers=10)
    net = pack.network
    q = np.ones(net.n_nodes)
    for _ in range(20):
        net.step(1.0, q, [300.0, 300.0])
    assert net.n_factorizations == 1
    net.step(0.5, q, [300.0, 300.0])  # a different step size (e.g. a halved macro step)
    net.step(1.0, q, [300.0, 300.0])  # back: still cached
    net.step(0.5, q, [310.0, 290.0])  # boundary temperatures do not touch the matrix
    assert net.n_factorizations == 2
    g = net.boundary_conductance("coolant")
    net.set_boundary_conductance("coolant", g)  # unchanged: nothing to do
    net.step(1.0, q, [300.0, 300.0])
    assert net.n_factorizations == 2
    net.set_boundary_conductance("coolant", 2 * g)  # coolant h doubled (pump speed)
    net.step(1.0, q, [300.0, 300.0])
    net.step(1.0, q, [300.0, 300.0])
    assert net.n_factorizations == 3


def test_state_round_trip_repeats_a_step_exactly():
    pack = build_pack_network(n_layers=8, edge_path=True)
    net = pack.network
    q = np.linspace(0.1, 1.0, net.n_nodes)
    net.step(5.0, q, [300.0, 290.0])
    state = net.get_state()
    first = net.step(5.0, q, [300.0, 290.0])
    ledger = net.ledger
    net.set_state(state)
    again = net.step(5.0, q, [300.0, 290.0])
    np.testing.assert_array_equal(first, again)
    assert net.ledger == ledger


# -- refused inputs ---------------------------------------------------------------------
def test_bad_networks_name_the_offending_node_or_edge():
    names = ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"heat capacity of node 1 \('b'\) must be positive"):
        ThermalNetwork([1.0, 0.0, 1.0], node_names=names)
    with pytest.raises(ValueError, match=r"heat capacity of node 2 \('c'\) is not finite"):
        ThermalNetwork([1.0, 1.0, np.nan], node_names=names)
    with pytest.raises(ValueError, match=r"edge 1 between node 1 \('b'\) and node 2 \('c'\) must be finite and non-negative"):
        ThermalNetwork.from_edges([1.0] * 3, [(0, 1, 1.0), (1, 2, -2.0)], node_names=names)
    with pytest.raises(ValueError, match=r"edge 0 between node 0 and node 1 .* got inf"):
        ThermalNetwork.from_edges([1.0] * 3, [(0, 1, np.inf)])
    with pytest.raises(ValueError, match=r"connects node 2 \('c'\) to itself"):
        ThermalNetwork.from_edges([1.0] * 3, [(2, 2, 1.0)], node_names=names)
    G = sp.csr_matrix(np.array([[0, 1.0, 0], [2.0, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match=r"not symmetric: between node 0 and node 1"):
        ThermalNetwork([1.0] * 3, G)
    with pytest.raises(ValueError, match=r"node 2 \('c'\) to boundary 'coolant' must be non-negative"):
        ThermalNetwork([1.0] * 3, None, {"coolant": [0.0, 1.0, -1.0]}, node_names=names)
    net = ThermalNetwork([1.0] * 3, None, {"coolant": [1.0, 0.0, 0.0]}, node_names=names)
    with pytest.raises(ValueError, match=r"heat of node 1 \('b'\) is not finite"):
        net.step(1.0, [0.0, np.nan, 0.0], [300.0])
    with pytest.raises(ValueError, match="step size must be positive"):
        net.step(0.0, [0.0] * 3, [300.0])
    with pytest.raises(ValueError, match=r"no steady state: node 1 \('b'\) has no path to a boundary"):
        net.steady_state([0.0] * 3, [300.0])


@pytest.mark.parametrize(
    "keys, field, text",
    [
        ({"n_layers": 0}, "n_layers", "greater than or equal to 1"),
        ({"n_layers": 10, "layers_per_node": 3}, "layers_per_node", "must divide n_layers (10)"),
        ({"through_plane_conductivity_W_mK": -0.8}, "through_plane_conductivity_W_mK", "greater than 0"),
        ({"volumetric_heat_capacity_J_m3K": 0.0}, "volumetric_heat_capacity_J_m3K", "greater than 0"),
        ({"stack_contact_conductance_W_K": -1.0}, "stack_contact_conductance_W_K", "greater than or equal to 0"),
        ({"coolant_h_W_m2K": math.inf}, "coolant_h_W_m2K", "finite"),
        ({"cooling": "top"}, "cooling", "'both', 'one' or 'none'"),
    ],
)
def test_builder_refuses_bad_topologies_by_key(keys, field, text):
    with pytest.raises(ValidationError) as info:
        PackThermalGeometry(**keys)
    (err,) = info.value.errors()
    assert err["loc"] == (field,)
    assert text in str(info.value)


def test_builder_layout_names_and_groups():
    pack = build_pack_network(n_strings=2, n_stacks=3, n_layers=6, layers_per_node=2, edge_path=True)
    per_stack = 2 + 3 + 1  # end plates, groups, frame
    assert pack.n_nodes == 6 * per_stack
    assert pack.layer_node.shape == (2, 3, 6)
    node = pack.layer_node[1, 2]
    assert node[0] == node[1] != node[2]
    assert pack.node_names[node[2]] == "string1.stack2.layers2-3"
    assert pack.node_names[pack.stack_nodes[0][1][0]] == "string0.stack1.end_plate_low"
    assert pack.node_names[pack.stack_nodes[0][1][-1]] == "string0.stack1.frame"
    # the group's heat is the sum of its cells'
    heat = np.arange(36, dtype=float).reshape(2, 3, 6)
    q = pack.node_heat(heat)
    assert q[node[0]] == heat[1, 2, 0] + heat[1, 2, 1]
    assert q.sum() == heat.sum()
    # every cell of a group sees the group's temperature
    T = np.arange(pack.n_nodes, dtype=float)
    assert np.all(pack.layer_temperature(T)[1, 2, :2] == T[node[0]])


def test_stack_contact_and_edge_path_carry_heat():
    """Heat one stack of two; contact warms the neighbour, the edge path cools the stack."""
    base = dict(n_stacks=2, n_layers=10, cooling="none", end_plate_thickness_m=0.0, uncooled_face_h_W_m2K=5.0)
    heat = np.zeros((1, 2, 10))
    heat[0, 0] = 0.5

    def run(**extra):
        pack = build_pack_network(**base, **extra)
        for _ in range(50):
            pack.network.step(60.0, pack.node_heat(heat), [298.15, 298.15])
        return pack.layer_temperature()[0]

    isolated = run()
    coupled = run(stack_contact_conductance_W_K=5.0)
    edged = run(edge_path=True)
    assert coupled[1].mean() > isolated[1].mean() + 0.1
    assert coupled[0].max() < isolated[0].max()
    assert edged[0].max() < isolated[0].max() - 0.1
