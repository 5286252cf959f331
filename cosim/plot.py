"""Quick-look figures (PNG, headless): a run's result dataset, or a sweep's ``kpi.nc``.

``plot_file(path)`` picks the kind from the dataset (a ``time`` dimension: a run; a ``status``
variable without one: a sweep's KPIs) and writes ``path`` with ``.png``. The figures are built
with matplotlib's object API (``matplotlib.figure.Figure`` and the Agg canvas), never pyplot,
so no display is needed and nothing global is touched.

Contract of a panel (to add one to the run figure, add a function to :data:`RUN_PANELS`):

1. it takes ``(ax, ds)`` and draws on ``ax`` from the dataset's variables, setting the title
   and the axis labels with units;
2. it returns False (and draws nothing) when the run did not record what it needs; the
   figure then leaves the panel out;
3. time is on the x axis in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import CosimError

__all__ = ["RUN_PANELS", "kpi_figure", "plot_file", "run_figure"]


def _figure(n_panels: int, ncols: int = 2, height: float = 2.6):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CosimError("plots need matplotlib: pip install 'cosim[plot]'") from None
    nrows = max(1, -(-n_panels // ncols))
    fig = Figure(figsize=(6.0 * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    return fig, axes


def _has(ds, *names: str) -> bool:
    return all(n in ds.variables for n in names)


def _time(ds) -> np.ndarray:
    return np.asarray(ds["time"].values, dtype=float)


def _speed(ax, ds) -> bool:
    if not _has(ds, "vehicle.speed_mps"):
        return False
    t = _time(ds)
    if _has(ds, "vehicle.target_speed_mps"):
        ax.plot(t, ds["vehicle.target_speed_mps"].values * 3.6, color="0.6", lw=1.5, label="target")
    ax.plot(t, ds["vehicle.speed_mps"].values * 3.6, color="C0", lw=1, label="achieved")
    ax.set(title="vehicle speed", xlabel="time [s]", ylabel="speed [km/h]")
    ax.legend(loc="upper right", fontsize="small")
    return True


def _power(ax, ds) -> bool:
    if not _has(ds, "pack.power_W"):
        return False
    t = _time(ds)
    ax.plot(t, ds["pack.power_W"].values / 1e3, color="C0", lw=1, label="delivered")
    for name, label, color in (("pack.available_discharge_power_W", "available (discharge)", "C3"),
                               ("pack.available_charge_power_W", "available (charge)", "C2")):
        if _has(ds, name):
            ax.plot(t, ds[name].values / 1e3, color=color, lw=1, ls="--", label=label)
    if _has(ds, "pack.limited"):
        lim = np.asarray(ds["pack.limited"].values, dtype=bool)
        if lim.any():
            ax.plot(t[lim], ds["pack.power_W"].values[lim] / 1e3, "k.", ms=3, label="at a limit")
    ax.set(title="pack power", xlabel="time [s]", ylabel="power [kW]")
    ax.legend(loc="upper right", fontsize="small")
    return True


def _voltage(ax, ds) -> bool:
    if not _has(ds, "pack.voltage_V"):
        return False
    t = _time(ds)
    ax.plot(t, ds["pack.voltage_V"].values, color="C0", lw=1, label="pack")
    ax.set(title="voltage", xlabel="time [s]", ylabel="pack voltage [V]")
    if _has(ds, "pack.min_layer_voltage_V", "pack.max_layer_voltage_V"):
        layer = ax.twinx()
        layer.fill_between(t, ds["pack.min_layer_voltage_V"].values, ds["pack.max_layer_voltage_V"].values,
                           color="C1", alpha=0.4, label="unit cells (min..max)")
        layer.set_ylabel("unit-cell voltage [V]")
        layer.legend(loc="lower left", fontsize="small")
    return True


def _soc(ax, ds) -> bool:
    if not _has(ds, "pack.soc"):
        return False
    t = _time(ds)
    ax.plot(t, ds["pack.soc"].values * 100, color="C0", lw=1, label="pack")
    if _has(ds, "pack.min_layer_soc", "pack.max_layer_soc"):
        ax.fill_between(t, ds["pack.min_layer_soc"].values * 100, ds["pack.max_layer_soc"].values * 100,
                        color="C0", alpha=0.25, label="unit cells (min..max)")
    ax.set(title="state of charge", xlabel="time [s]", ylabel="SOC [%]")
    ax.legend(loc="upper right", fontsize="small")
    return True


def _temperature_map(ax, ds) -> bool:
    if not _has(ds, "thermal.layer_temperature_K"):
        return False
    var = ds["thermal.layer_temperature_K"]
    t = _time(ds)
    values = np.asarray(var.values, dtype=float).reshape(len(t), -1) - 273.15
    cells = np.arange(values.shape[1] + 1)
    edges = np.concatenate([t, [t[-1] + (t[-1] - t[-2] if len(t) > 1 else 1.0)]])
    mesh = ax.pcolormesh(edges, cells, values.T, shading="flat", cmap="inferno")
    ax.figure.colorbar(mesh, ax=ax, label="temperature [°C]")
    inner = " x ".join(f"{d}" for d in var.dims[1:])
    ax.set(title="unit-cell temperature", xlabel="time [s]", ylabel=f"unit cell ({inner})")
    return True


def _voltage_spread(ax, ds) -> bool:
    if _has(ds, "pack.layer_voltage_V"):
        v = np.asarray(ds["pack.layer_voltage_V"].values, dtype=float)
        spread = v.reshape(v.shape[0], -1).max(axis=1) - v.reshape(v.shape[0], -1).min(axis=1)
    elif _has(ds, "pack.min_layer_voltage_V", "pack.max_layer_voltage_V"):
        spread = ds["pack.max_layer_voltage_V"].values - ds["pack.min_layer_voltage_V"].values
    else:
        return False
    ax.plot(_time(ds), np.asarray(spread) * 1e3, color="C4", lw=1)
    ax.set(title="unit-cell voltage spread", xlabel="time [s]", ylabel="max - min [mV]")
    return True


#: the panels of a run's figure, in order
RUN_PANELS: list[Callable] = [_speed, _power, _voltage, _soc, _temperature_map, _voltage_spread]


def run_figure(ds):
    """The quick-look figure of a run: every panel of :data:`RUN_PANELS` the run has data for."""
    if "time" not in ds.variables or ds.sizes.get("time", 0) == 0:
        raise CosimError("the dataset has no records to plot")
    fig, axes = _figure(len(RUN_PANELS))
    used = 0
    for panel in RUN_PANELS:
        if panel(axes[used], ds):
            used += 1
    for ax in axes[used:]:
        fig.delaxes(ax)
    if used == 0:
        raise CosimError("the dataset records none of what the quick-look figure shows "
                         "(vehicle speed, pack power/voltage/SOC, layer temperatures)")
    status = ds.attrs.get("status", "?")
    fig.suptitle(f"{ds.attrs.get('title', 'cosim run')} ({status})", fontsize="medium")
    return fig


def kpi_figure(ds):
    """A sweep's KPIs against its varied keys: one panel per KPI, the first dimension on the
    x axis, one line per value of the second (further dimensions at their first value)."""
    names = [n for n, v in ds.data_vars.items() if v.dtype.kind == "f"]
    if not names:
        raise CosimError("the KPI dataset has no numeric KPIs (did every run fail? see its status)")
    dims = list(ds["status"].dims) if "status" in ds.variables else list(ds.dims)
    fig, axes = _figure(len(names), ncols=3, height=2.8)
    x_dim = dims[0]
    xs = ds[x_dim] if x_dim in ds.coords else np.arange(ds.sizes[x_dim])
    x_label = f"{x_dim} [{ds[x_dim].attrs.get('units', '1')}]" if x_dim in ds.coords else x_dim
    numeric_x = np.asarray(xs).dtype.kind in "fiu"
    for ax, name in zip(axes, names):
        var = ds[name]
        rest = {d: 0 for d in dims[2:]}
        var = var.isel(rest) if rest else var
        if len(dims) >= 2:
            line_dim = dims[1]
            for j in range(ds.sizes[line_dim]):
                label = f"{line_dim} = {ds[line_dim].values[j]}" if line_dim in ds.coords else f"{line_dim} {j}"
                ax.plot(np.asarray(xs) if numeric_x else np.arange(len(xs)), var.isel({line_dim: j}).values,
                        "o-", ms=3, label=label)
            ax.legend(fontsize="x-small")
        else:
            ax.plot(np.asarray(xs) if numeric_x else np.arange(len(xs)), var.values, "o-", ms=3)
        if not numeric_x:
            ax.set_xticks(np.arange(len(xs)), [str(x) for x in np.asarray(xs)])
        elif np.all(np.asarray(xs) > 0) and np.asarray(xs).max() / np.asarray(xs).min() >= 20:
            ax.set_xscale("log")
        ax.set(title=name, xlabel=x_label, ylabel=f"[{var.attrs.get('units', '1')}]")
    for ax in axes[len(names):]:
        fig.delaxes(ax)
    fig.suptitle(ds.attrs.get("title", "sweep KPIs"), fontsize="medium")
    return fig


def plot_file(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Path:
    """Write the figure of a run's result or of a sweep's ``kpi.nc``; returns the PNG's path
    (default: the dataset's with ``.png``)."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise CosimError(f"{path}: no such file")
    out = Path(output) if output is not None else path.with_suffix(".png")
    try:
        ds = xr.open_dataset(path, decode_times=False, decode_timedelta=False, cache=False)
    except Exception as exc:  # noqa: BLE001 - netCDF reports unreadable files in many ways
        raise CosimError(f"cannot read {path}: {exc}") from None
    with ds:
        fig = run_figure(ds) if "time" in ds.dims else kpi_figure(ds)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    return out
