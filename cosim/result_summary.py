"""A human summary of a result file, for ``cosim info RESULT``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from .energy_ledger import format_ledger
from .errors import CosimError

__all__ = ["summarize"]

_PROVENANCE = ("cosim_version", "git_commit", "scenario_file", "host", "start_time_wall", "end_time_wall")


def _fmt_time(t: float) -> str:
    return f"{t:g} s"


def _mesh_checks(attrs) -> list[str]:
    """The mesh checks' summaries (``<component>_mesh_check_*`` attributes), one line each."""
    suffix = "_mesh_check_rms_voltage_difference_V"
    lines = []
    for key in sorted(k for k in attrs if k.endswith(suffix)):
        prefix = key[: -len("_rms_voltage_difference_V")]
        worst = float(attrs.get(f"{prefix}_max_abs_voltage_difference_V", float("nan")))
        line = (f"mesh check: {key[: -len(suffix)]}: RMS {float(attrs[key]) * 1e3:.4g} mV, max {worst * 1e3:.4g} mV "
                f"({attrs.get(f'{prefix}_max_abs_voltage_difference_at', '?')}) over "
                f"{attrs.get(f'{prefix}_cells', '?')}; {attrs.get(f'{prefix}_meshes', '?')}")
        lost = attrs.get(f"{prefix}_lost_cells")
        lines.append(line + (f"; {lost}" if lost else ""))
    return lines


def summarize(path: str | os.PathLike[str]) -> str:
    """Describe a result dataset: status, time range, dimensions, variables (dims, units,
    long name), the energy ledger (:mod:`cosim.energy_ledger`), the mesh checks
    (:mod:`cosim.components.mesh_check`) and provenance. Only the time coordinate is read."""
    path = Path(path)
    if not path.is_file():
        raise CosimError(f"no result file at {path}")
    try:
        ds = xr.open_dataset(path, decode_times=False, decode_timedelta=False, cache=False)
    except Exception as exc:  # netCDF/HDF5 report unreadable files as OSError, ValueError, ...
        raise CosimError(
            f"cannot read result file {path}: {exc}. If a run is still writing it, read it "
            "with HDF5_USE_FILE_LOCKING=FALSE set in the environment."
        ) from exc
    with ds:
        lines = [f"file:       {path}"]
        status = str(ds.attrs.get("status", "unknown (no status attribute)"))
        reason = str(ds.attrs.get("status_reason", ""))
        lines.append(f"status:     {status}" + (f" ({reason})" if reason else ""))

        if "time" in ds.variables:
            times = np.asarray(ds["time"].values, dtype=float)
            n = times.size
            if n:
                lines.append(
                    f"time:       {_fmt_time(float(times[0]))} .. {_fmt_time(float(times[-1]))}, "
                    f"{n} record{'s' if n != 1 else ''}"
                )
            else:
                lines.append("time:       no records")
        dims = ", ".join(f"{name}={size}" for name, size in ds.sizes.items())
        lines.append(f"dims:       {dims or '(none)'}")

        rows = []
        for name, var in ds.data_vars.items():
            rows.append(
                (
                    str(name),
                    "(" + ", ".join(str(d) for d in var.dims) + ")",
                    str(var.attrs.get("units", "?")),
                    str(var.attrs.get("long_name", "")),
                )
            )
        lines.append(f"variables:  {len(rows)}")
        if rows:
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for r in rows:
                row = "  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3]
                lines.append(row.rstrip())

        if "energy_ledger" in ds.attrs:
            try:
                lines.extend(format_ledger(json.loads(str(ds.attrs["energy_ledger"]))))
            except (ValueError, KeyError, TypeError) as exc:
                lines.append(f"energy ledger: unreadable ({type(exc).__name__}: {exc})")
        elif "energy_ledger_error" in ds.attrs:
            lines.append(f"energy ledger: {ds.attrs['energy_ledger_error']}")

        lines.extend(_mesh_checks(ds.attrs))

        prov = [(key, ds.attrs[key]) for key in _PROVENANCE if key in ds.attrs]
        if prov:
            lines.append("provenance:")
            width = max(len(k) for k, _ in prov)
            for key, value in prov:
                lines.append(f"  {key.ljust(width)}  {value}")
    return "\n".join(lines)
