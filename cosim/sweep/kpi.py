"""Key performance indicators of a run, read from its result dataset, and the N-d KPI
dataset of a sweep (``kpi.nc``).

Contract of a KPI (to add one, add it to :data:`KPIS` and to :func:`kpis_from_dataset`):

1. its name carries its SI unit (``peak_power_W``) and :data:`KPIS` gives ``units`` and
   ``long_name`` (written on the variable in ``kpi.nc``);
2. it is read only from what a run already writes (recorded outputs and the result's
   attributes); a run that does not record what it needs gives NaN, not an error;
3. it is a plain float: deterministic for a given result file (no wall-clock times), so a
   sweep gives identical numbers on any executor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KPIS", "kpi_dataset", "kpis_from_dataset", "kpis_from_file"]

#: name -> (units, long_name)
KPIS: dict[str, tuple[str, str]] = {
    "energy_per_distance_J_m": ("J/m", "battery energy per distance driven over the run (1 Wh/km = 3.6 J/m)"),
    "distance_m": ("m", "distance driven"),
    "range_m": ("m", "range: distance driven when a range test ended (NaN: the run measures no range or did "
                     "not reach its end)"),
    "min_layer_voltage_V": ("V", "lowest unit-cell voltage over the run"),
    "max_layer_temperature_K": ("K", "highest unit-cell temperature over the run"),
    "layer_temperature_spread_K": ("K", "largest temperature difference between unit cells at one time"),
    "max_trace_miss_mps": ("m/s", "largest shortfall of the achieved speed below the drive cycle's"),
    "limited_steps": ("1", "recorded steps in which the pack was at a limit (all steps when output.interval_s = "
                           "simulation.step_s)"),
    "final_soc": ("1", "pack state of charge at the end"),
    "final_soc_spread": ("1", "highest minus lowest unit-cell state of charge at the end"),
    "layer_voltage_spread_V": ("V", "largest voltage difference between unit cells at one time"),
    "peak_power_W": ("W", "highest power delivered at the pack terminals (mean over a step)"),
    "pack_heat_J": ("J", "heat generated in the pack over the run (energy ledger: pack dissipated)"),
    "fuel_kg": ("kg", "fuel used (hybrids)"),
    "simulated_time_s": ("s", "simulated time span of the run"),
    "mesh_check_rms_voltage_difference_V": ("V", "RMS over the run of the pack's mesh check: its sampled unit cells' "
                                                 "voltage on the run's mesh minus on the refined mesh (the "
                                                 "discretisation error; pack.mesh_check = true)"),
}

_RANGE = re.compile(r"\brange [0-9.]+ km\b")


def _values(ds, name: str) -> np.ndarray | None:
    if name not in ds.variables or ds[name].size == 0:
        return None
    return np.asarray(ds[name].values, dtype=float)


def _last(ds, name: str) -> float:
    v = _values(ds, name)
    return float(v.reshape(v.shape[0], -1)[-1].mean()) if v is not None and v.ndim else math.nan


def _reduce(ds, name: str, how) -> float:
    v = _values(ds, name)
    return float(how(v)) if v is not None else math.nan


def _spread_over_cells(ds, name: str) -> float:
    v = _values(ds, name)
    if v is None or v.ndim < 2:
        return math.nan
    flat = v.reshape(v.shape[0], -1)
    return float(np.max(flat.max(axis=1) - flat.min(axis=1)))


def kpis_from_dataset(ds) -> dict[str, float]:
    """The KPIs of one result dataset (an ``xarray.Dataset`` of a run), NaN where the run
    does not record what a KPI needs."""
    out = {name: math.nan for name in KPIS}
    out["energy_per_distance_J_m"] = _last(ds, "vehicle.energy_per_distance_Wh_km") * 3.6
    out["distance_m"] = _last(ds, "vehicle.distance_m")
    if _RANGE.search(str(ds.attrs.get("status_reason", ""))):
        out["range_m"] = out["distance_m"]
    out["min_layer_voltage_V"] = (_reduce(ds, "pack.min_layer_voltage_V", np.min)
                                  if "pack.min_layer_voltage_V" in ds.variables
                                  else _reduce(ds, "pack.layer_voltage_V", np.min))
    out["max_layer_temperature_K"] = (_reduce(ds, "thermal.max_layer_temperature_K", np.max)
                                      if "thermal.max_layer_temperature_K" in ds.variables
                                      else _reduce(ds, "thermal.layer_temperature_K", np.max))
    out["layer_temperature_spread_K"] = _spread_over_cells(ds, "thermal.layer_temperature_K")
    out["max_trace_miss_mps"] = _reduce(ds, "vehicle.trace_miss_mps", np.max)
    out["limited_steps"] = _reduce(ds, "pack.limited", np.sum)
    out["final_soc"] = _last(ds, "pack.soc")
    out["final_soc_spread"] = _last(ds, "pack.max_layer_soc") - _last(ds, "pack.min_layer_soc")
    out["layer_voltage_spread_V"] = _spread_over_cells(ds, "pack.layer_voltage_V")
    out["peak_power_W"] = _reduce(ds, "pack.power_W", np.max)
    heat = ds.attrs.get("ledger_pack_dissipated_J")
    out["pack_heat_J"] = float(heat) if heat is not None else _last(ds, "thermal.heat_generated_J")
    out["fuel_kg"] = _last(ds, "vehicle.fuel_kg")
    mesh = ds.attrs.get("pack_mesh_check_rms_voltage_difference_V")
    out["mesh_check_rms_voltage_difference_V"] = float(mesh) if mesh is not None else math.nan
    t = _values(ds, "time")
    out["simulated_time_s"] = float(t[-1] - t[0]) if t is not None else math.nan
    return out


def kpis_from_file(path: str | Path) -> dict[str, float]:
    import xarray as xr

    with xr.open_dataset(path, decode_times=False, decode_timedelta=False, cache=False) as ds:
        return kpis_from_dataset(ds)


def _coordinate_values(values: Sequence[Any]) -> np.ndarray:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float if any(isinstance(v, float) for v in values) else np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def kpi_dataset(plan, records: Mapping[int, Mapping[str, Any]]):
    """The KPI dataset of a sweep: one dimension per varied key (grid) or one ``variant``
    dimension with the keys as coordinates (zip); one variable per KPI plus ``status`` and
    ``run_file``; ``records`` maps a variant's index to its manifest record (``status``,
    ``file``, ``kpis``). KPIs that no run gives are left out."""
    import xarray as xr

    from .grid import dimension_name, unit_of_key

    coords: dict[str, Any] = {}
    taken: list[str] = []
    if plan.zip:
        dims = ("variant",)
        coords["variant"] = ("variant", np.arange(len(plan.variants)), {"units": "1", "long_name": "variant index"})
        for d in plan.dimensions:
            for key in d.keys:
                name = dimension_name(key, taken)
                taken.append(name)
                values = d.values if key == d.key else d.follow[key]
                coords[name] = ("variant", _coordinate_values(values),
                                {"units": unit_of_key(key), "long_name": f"scenario key {key}", "sweep_key": key})
    else:
        names = []
        for d in plan.dimensions:
            name = dimension_name(d.key, taken)
            taken.append(name)
            names.append(name)
            coords[name] = (name, _coordinate_values(d.values),
                            {"units": unit_of_key(d.key), "long_name": f"scenario key {d.key}", "sweep_key": d.key})
        for d, dim in zip(plan.dimensions, names):
            for key, values in d.follow.items():
                name = dimension_name(key, taken)
                taken.append(name)
                coords[name] = (dim, _coordinate_values(values),
                                {"units": unit_of_key(key), "long_name": f"scenario key {key} (follows {d.key})",
                                 "sweep_key": key})
        dims = tuple(names)
    shape = plan.shape
    data = {name: np.full(shape, np.nan) for name in KPIS}
    status = np.full(shape, "missing", dtype=object)
    files = np.full(shape, "", dtype=object)
    for v in plan.variants:
        rec = records.get(v.index)
        if rec is None:
            continue
        status[v.position] = str(rec.get("status", "missing"))
        files[v.position] = str(rec.get("file", ""))
        for name, value in (rec.get("kpis") or {}).items():
            if name in data and value is not None:
                data[name][v.position] = float(value)
    variables: dict[str, Any] = {}
    for name, values in data.items():
        if np.isfinite(values).any():
            units, long_name = KPIS[name]
            variables[name] = (dims, values, {"units": units, "long_name": long_name})
    variables["status"] = (dims, status, {
        "units": "1", "long_name": "run status: complete, failed, interrupted or missing (see manifest.json for errors)"})
    variables["run_file"] = (dims, files, {"units": "1", "long_name": "result file of the run, relative to this folder"})
    n_complete = int(np.sum(status == "complete"))
    attrs = {
        "title": f"KPIs of a cosim sweep of {Path(plan.scenario).name}",
        "Conventions": "CF-1.8",
        "scenario_file": str(plan.scenario),
        "sweep_zip": int(plan.zip),
        "sweep_keys": "; ".join(k for d in plan.dimensions for k in d.keys),
        "n_runs": len(plan.variants),
        "n_complete": n_complete,
        "n_failed": int(np.sum(status == "failed")),
    }
    return xr.Dataset(variables, coords=coords, attrs=attrs)
