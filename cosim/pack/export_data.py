"""The resource file of the pack FMU's C battery (``fmus/pack/src/pack_model.h``) from a scenario.

:func:`export_pack` builds the scenario's ``pack`` component exactly as a run would
(:class:`cosim.components.pack.Pack`, i.e. :func:`~cosim.components.pack.build_battery`) and,
when the scenario couples one to it, its ``thermal`` component (:class:`cosim.components.thermal.Thermal`),
and writes everything the C needs into one file, read by ``pm_load`` with stdio only.

Coupling: the thermal component is the one whose ``heat_W`` the pack's ``layer_heat_W`` feeds
and whose ``layer_temperature_K`` feeds the pack's ``layer_temperature_K`` (the flagship's
coupling; the pack steps first, the network after it with that step's heat). Its
``stack_end_heat_W`` and ``interconnect_heat_W`` count when they come from the pack. Other
sources of those ports (or the pack's heat or temperature wired elsewhere) are refused.
DFN packs are refused (the C has the SPM and SPMe only).

File format (version 1), little-endian, portable::

    COSIM-PACK 1\\n
    <name> <f8|i8> <count>\\n <count x 8 bytes: float64 or int64, little-endian> \\n
    ...                                  (one record per array, any order)
    end\\n

Arrays: ``cell.<field>`` for every field of :class:`cosim.cell.cell_data.CellData` and
its sizes (``cell.N``, ``cell.M``, ``cell.n_r``, ``cell.n``, ``cell.P_ocp``,
``cell.P_dUdT``, ``cell.n_tab``); ``layout`` (strings, stacks, layers); ``control`` (0
current, 1 power); ``composite``; ``on_limit`` (0 stop, 1 end, 2 clamp);
``available_power``; ``has_min_anode``; ``max_step_halvings``; ``pack_scalars`` (R_end,
1C current of a unit cell, layer limits lo/hi, pack limits lo/hi, max layer temperature,
pulse, interval, min anode potential, temperature_K, initial SOC (-1: none), the layer
temperature at initialization); ``R_series`` (per string); ``connection_R`` (per stack);
``cell_capacity_C``; ``z0``, ``c0`` (the initial state); ``z_uniform`` (the modes of a
uniform unit concentration); ``temperature_cache_K`` (optional, 0 if absent); ``has_thermal`` and with a network ``th_n``,
``th_capacity``, ``th_G_indptr``/``th_G_indices``/``th_G_data`` (CSR, sorted, of the
node-to-node conductances), ``th_perm`` (reverse Cuthill-McKee order), ``th_layer_node``,
``th_stack_end_nodes``, ``th_contrib_*`` (the conductances to the boundaries in the
builder's order: node, boundary 0 coolant / 1 ambient, kind 0 fixed [W/K] / 1 cooled face
with value r_face [K/W] whose conductance is 1/(r_face + r_TIM + 1/(h A))),
``th_scalars`` (r_TIM, A, coolant h, initial temperature, max_step_s (-1: none), coolant
and ambient temperature, 0), ``th_series`` (stack_end_heat_W, interconnect_heat_W
connected).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CosimError

__all__ = ["PackExport", "export_pack", "write_resource"]


@dataclass(frozen=True)
class PackExport:
    """The resource file's bytes and what the model description needs."""

    data: bytes
    n_strings: int
    n_stacks: int
    n_layers: int
    control: str  # "current" or "power"
    model: str  # "spm" or "spme"
    parameter_set: str
    has_thermal: bool
    thermal_component: str | None  # the scenario's thermal component coupled to the pack
    n_nodes: int
    initial_soc: float | None
    initial_temperature_K: float
    coolant_temperature_K: float
    ambient_temperature_K: float
    coolant_h_W_m2K: float
    available_power: bool
    pulse_duration_s: float
    available_power_interval_s: float
    start_time_s: float
    stop_time_s: float
    step_s: float

    def write(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_bytes(self.data)
        return path


def write_resource(arrays: dict[str, np.ndarray]) -> bytes:
    """The file (module docstring) of named float64 / int64 arrays."""
    out = [b"COSIM-PACK 1\n"]
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            a, dtype = np.ascontiguousarray(a, dtype="<i8"), "i8"
        else:
            a, dtype = np.ascontiguousarray(a, dtype="<f8"), "f8"
        if " " in name or len(name) > 63:
            raise ValueError(f"array name {name!r}")
        out.append(f"{name} {dtype} {a.size}\n".encode())
        out.append(a.tobytes(order="C"))
        out.append(b"\n")
    out.append(b"end\n")
    return b"".join(out)


def _couplings(scenario, pack: str):
    """The thermal component coupled to ``pack`` and whether its series inputs come from it."""
    conns = [(c.source_component, c.source_port, c.target_component, c.target_port) for c in scenario.connections]
    heat = [c for c in conns if c[0] == pack and c[1] == "layer_heat_W"]
    temp = [c for c in conns if c[2] == pack and c[3] == "layer_temperature_K"]
    if not heat and not temp:
        return None, (False, False)
    thermal = {c[2] for c in heat} | {c[0] for c in temp}
    comps = scenario.components
    ok = (len(heat) == 1 and len(temp) == 1 and heat[0][3] == "heat_W" and temp[0][1] == "layer_temperature_K"
          and heat[0][2] == temp[0][0] and comps[heat[0][2]].type == "thermal")
    if not ok:
        shown = "; ".join(f"{a}.{b} -> {c}.{d}" for a, b, c, d in heat + temp)
        raise CosimError(f"pack export: the pack FMU couples {pack}.layer_heat_W -> THERMAL.heat_W and "
                         f"THERMAL.layer_temperature_K -> {pack}.layer_temperature_K with one thermal component; "
                         f"the scenario has {shown}")
    th = thermal.pop()
    series = []
    for port in ("stack_end_heat_W", "interconnect_heat_W"):
        into = [c for c in conns if c[2] == th and c[3] == port]
        if into and (len(into) > 1 or into[0][0] != pack or into[0][1] != port):
            raise CosimError(f"pack export: {th}.{port} must come from {pack}.{port} (or stay unconnected); the "
                             f"scenario has " + "; ".join(f"{a}.{b} -> {c}.{d}" for a, b, c, d in into))
        series.append(bool(into))
    for port in ("heat_W", "coolant_temperature_K", "ambient_temperature_K"):
        into = [c for c in conns if c[2] == th and c[3] == port and c[0] != pack]
        if port == "heat_W" and into:
            raise CosimError(f"pack export: {th}.heat_W has another source: {into[0][0]}.{into[0][1]}")
    return th, tuple(series)


def _thermal_arrays(thermal, series) -> dict[str, np.ndarray]:
    """The network of a built Thermal component, with the builder's boundary conductance
    terms (:attr:`~cosim.thermal.builder.PackThermalNetwork.boundary_terms`: the C sums them
    in that order and recomputes the cooled faces when the coolant h changes)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    pack_net = thermal.pack
    net = pack_net.network
    g = pack_net.geometry
    c = thermal.config
    if not c.per_layer_heat:
        raise CosimError("pack export: the thermal component needs per_layer_heat = true (heat per unit cell)")
    G = net.conductance_W_K.tocsr()
    G.sort_indices()
    perm = reverse_cuthill_mckee(G.tocsr(), symmetric_mode=True)
    node, bnd, kind, val = zip(*pack_net.boundary_terms) if pack_net.boundary_terms else ((), (), (), ())
    return {
        "has_thermal": np.array([1]),
        "th_n": np.array([net.n_nodes]),
        "th_capacity": net.capacity_J_K,
        "th_G_indptr": G.indptr.astype(np.int64),
        "th_G_indices": G.indices.astype(np.int64),
        "th_G_data": G.data,
        "th_perm": np.asarray(perm, dtype=np.int64),
        "th_layer_node": pack_net.layer_node.ravel(),
        "th_stack_end_nodes": pack_net.stack_end_nodes.ravel(),
        "th_contrib_node": np.array(node, dtype=np.int64),
        "th_contrib_boundary": np.array(bnd, dtype=np.int64),
        "th_contrib_kind": np.array(kind, dtype=np.int64),
        "th_contrib_value": np.array(val, dtype=float),
        "th_scalars": np.array([pack_net.tim_resistance_K_W, g.area_m2, g.coolant_h_W_m2K, c.initial_temperature_K,
                                c.max_step_s if c.max_step_s is not None else -1.0,
                                c.coolant_temperature_K, c.ambient_temperature_K, 0.0]),
        "th_series": np.array([int(series[0]), int(series[1])]),
    }


def pack_arrays(pack, thermal=None, series=(False, False)) -> dict[str, np.ndarray]:
    """Every array of the resource file from built ``Pack`` (and ``Thermal``) components."""
    c = pack.config
    b = pack.battery
    model = b.model
    d = model.data
    arrays: dict[str, np.ndarray] = {}
    M, N = d.c_max.shape
    sizes = {"N": N, "M": M, "n_r": d.lam.shape[0], "n": d.dx.shape[1], "P_ocp": d.ocp_p.shape[1],
             "P_dUdT": d.dUdT_p.shape[1], "n_tab": d.uH_table.shape[1]}
    for k, v in sizes.items():
        arrays[f"cell.{k}"] = np.array([v])
    for name in d._fields:  # a NamedTuple
        arrays[f"cell.{name}"] = np.atleast_1d(np.asarray(getattr(d, name)))
    on_limit = {"stop": 0, "end": 1, "clamp": 2}[c.on_limit]
    part = model.particles[0][0]
    z_uniform = part.phi.T @ (part.vol * np.ones(part.n))
    arrays.update({
        "layout": np.array(pack.layout.shape),
        "control": np.array([0 if c.control == "current" else 1]),
        "composite": np.array([int(model._composite)]),
        "on_limit": np.array([on_limit]),
        "available_power": np.array([int(c.available_power)]),
        "has_min_anode": np.array([int(c.min_anode_potential_V is not None)]),
        "max_step_halvings": np.array([c.max_step_halvings]),
        "pack_scalars": np.array([b.R_end, b._one_c, *pack.layer_limits, *pack.pack_limits,
                                  c.max_layer_temperature_K, c.pulse_duration_s, c.available_power_interval_s,
                                  c.min_anode_potential_V if c.min_anode_potential_V is not None else 0.0,
                                  c.temperature_K, c.initial_soc if c.initial_soc is not None else -1.0,
                                  c.temperature_K], dtype=float),
        "R_series": b.R_series,
        "connection_R": pack.connection_resistance_Ohm,
        "cell_capacity_C": pack.cell_capacity_C,
        "z0": model._z,
        "c0": model._c,
        "z_uniform": z_uniform,
        "temperature_cache_K": np.array([c.temperature_cache_K]),
    })
    if thermal is not None:
        arrays.update(_thermal_arrays(thermal, series))
    else:
        arrays["has_thermal"] = np.array([0])
    return arrays


def export_pack(scenario, pack: str = "pack") -> PackExport:
    """The resource file and metadata of the pack component ``pack`` of ``scenario`` (a
    path or a loaded scenario)."""
    from ..components.pack import Pack
    from ..components.thermal import Thermal
    from ..scenario import load_scenario

    loaded = load_scenario(scenario) if isinstance(scenario, (str, os.PathLike)) else scenario
    sc = getattr(loaded, "scenario", loaded)
    if pack not in sc.components or sc.components[pack].type != "pack":
        raise CosimError(f"pack export: the scenario has no pack component {pack!r}")
    config = sc.components[pack]
    if config.model == "dfn":
        raise CosimError(f"pack export: component {pack!r} uses the DFN model; the pack FMU's C battery has the SPM "
                         "and SPMe only (set model = \"spme\")")
    if config.mesh_check:
        raise CosimError(f"pack export: component {pack!r} has mesh_check = true; the pack FMU has no refined cells and "
                         "no output for their voltage difference (the check is a run's, not the pack's): export a "
                         f"scenario that extends this one with components.{pack}.mesh_check = false (the same pack)")
    p = Pack(pack, config)
    th_name, series = _couplings(sc, pack)
    thermal = None
    if th_name is not None:
        thermal = Thermal(th_name, sc.components[th_name])
        shape = (config.n_strings, config.n_stacks, config.n_layers)
        if thermal._layer_shape != shape:
            raise CosimError(f"pack export: {th_name} has {thermal._layer_shape} unit cells, {pack} {shape}")
    data = write_resource(pack_arrays(p, thermal, series))
    tc = thermal.config if thermal is not None else None
    sim = sc.simulation
    return PackExport(
        data=data, n_strings=config.n_strings, n_stacks=config.n_stacks, n_layers=config.n_layers,
        control=config.control, model=config.model,
        parameter_set=str(config.parameter_set or config.parameter_file), has_thermal=thermal is not None,
        thermal_component=th_name,
        n_nodes=thermal.network.n_nodes if thermal is not None else 0, initial_soc=config.initial_soc,
        initial_temperature_K=tc.initial_temperature_K if tc else config.temperature_K,
        coolant_temperature_K=tc.coolant_temperature_K if tc else config.temperature_K,
        ambient_temperature_K=tc.ambient_temperature_K if tc else config.temperature_K,
        coolant_h_W_m2K=thermal.pack.geometry.coolant_h_W_m2K if tc else 0.0,
        available_power=config.available_power, pulse_duration_s=config.pulse_duration_s,
        available_power_interval_s=config.available_power_interval_s,
        start_time_s=sim.start_time_s, stop_time_s=sim.stop_time_s, step_s=sim.step_s)
