"""Stream a run's results to a netCDF4 file while the run goes.

The file is a CF-1.8 netCDF-4 (HDF5) dataset with an unlimited ``time`` dimension and one
variable per recorded output (``pack.voltage``: dims ``("time", *dims)``); a ``fixed``
variable (an output that never changes after the start: FMI's fixed variability) has dims
``dims`` only and holds the value of the first record. Records are
buffered in preallocated numpy arrays and written one block at a time, followed by a
``sync()``, every ``flush_every`` records; per record the cost is a few numpy element
assignments, not a netCDF call per variable. With ``background=True`` (what ``cosim run``
uses) the blocks are compressed and written by a writer thread
(:mod:`cosim.background_writer`, at most two blocks queued) while the run steps on;
:meth:`Recorder.flush` and :meth:`Recorder.close` wait for it, so a run closed after an error
or a Ctrl-C holds every record made before it, and a write error is raised by the next
:meth:`~Recorder.record`, :meth:`~Recorder.flush` or :meth:`~Recorder.close` (a file of a
process killed outright may miss the blocks still queued).

The global attribute ``status`` is ``"incomplete"`` from the moment the file exists until
:meth:`Recorder.close` sets it to the run's outcome, so a file whose process died shows
what it is (``xarray.open_dataset`` reads it, with every flushed record).

Note on reading a file *while* the run writes it from another process: HDF5 locks files
open for writing, so the reader must be started with ``HDF5_USE_FILE_LOCKING=FALSE`` in its
environment (readers in the writing process itself need nothing).
"""

from __future__ import annotations

import errno
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import netCDF4
import numpy as np

from .background_writer import BackgroundWriter
from .errors import ResultExistsError, ResultFileError

_NC_EEXIST = -35  # netCDF's NC_EEXIST: "File exists && NC_NOCLOBBER"

__all__ = ["RecordedVariable", "Recorder", "encode_attr", "utc_now_iso"]

_DTYPES = {"float64": "f8", "int64": "i8", "uint64": "u8", "int32": "i4", "bool": "i1"}
_BUFFER_DTYPES = {"float64": np.float64, "int64": np.int64, "uint64": np.uint64, "int32": np.int32, "bool": np.int8}
_STATUSES = ("complete", "incomplete")
_IN_PROGRESS = "run in progress, or stopped before it could close the file"
#: Upper bound of one chunk's size; the time extent of a chunk shrinks to stay below it.
_MAX_CHUNK_BYTES = 4 * 1024 * 1024


def _valid_name(name: object) -> bool:
    """A usable netCDF-4 name: non-empty, no '/', no control characters."""
    return (
        isinstance(name, str)
        and bool(name)
        and "/" not in name
        and not any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


def utc_now_iso() -> str:
    """The current wall-clock time as ISO 8601 UTC, e.g. ``2024-05-01T12:00:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_attr(key: str, value: Any) -> str | int | float | np.ndarray:
    """A global/variable attribute value netCDF can store: strings and numbers as they are,
    dicts, lists, tuples and booleans JSON-encoded to a string."""
    if isinstance(value, (bool, np.bool_)):
        return json.dumps(bool(value))
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, default=str)
    raise TypeError(
        f"attribute {key!r}: cannot store a value of type {type(value).__name__} "
        "(use str, int, float, or a JSON-serializable dict/list)"
    )


@dataclass(frozen=True)
class RecordedVariable:
    """One recorded quantity: a netCDF variable with dims ``("time", *dims)``.

    ``name`` is usually ``component.port`` (dots are legal netCDF-4 names). ``units`` is a
    CF/UCUM string (``"V"``, ``"K"``, ``"1"``). ``bool`` values are stored as ``int8`` with
    ``flag_values``/``flag_meanings`` (and ``dtype="bool"``, which xarray decodes back to
    bool).
    """

    name: str
    units: str
    long_name: str
    shape: tuple[int, ...] = ()
    dims: tuple[str, ...] = ()
    dtype: str = "float64"
    attrs: Mapping[str, str] = field(default_factory=dict)
    #: the value never changes: written once (from the first record), without the time dimension
    fixed: bool = False

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise ValueError(f"recorded variable name {self.name!r} is not a valid netCDF name")
        if self.name == "time":
            raise ValueError("recorded variable name 'time' is reserved for the time coordinate")
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        object.__setattr__(self, "dims", tuple(self.dims))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        if any(n < 1 for n in self.shape):
            raise ValueError(f"recorded variable {self.name!r}: every axis needs at least one element")
        if len(self.dims) != len(self.shape):
            raise ValueError(
                f"recorded variable {self.name!r}: shape {self.shape} needs {len(self.shape)} "
                f"dimension name(s), got dims={self.dims}"
            )
        if len(set(self.dims)) != len(self.dims):
            raise ValueError(f"recorded variable {self.name!r}: repeated dimension name in {self.dims}")
        for dim in self.dims:
            if not _valid_name(dim):
                raise ValueError(f"recorded variable {self.name!r}: bad dimension name {dim!r}")
            if dim == "time":
                raise ValueError(
                    f"recorded variable {self.name!r}: dimension name 'time' is reserved "
                    "(time is added as the first dimension of every variable)"
                )
        if self.dtype not in _DTYPES:
            raise ValueError(
                f"recorded variable {self.name!r}: dtype {self.dtype!r} is not one of "
                f"{', '.join(_DTYPES)}"
            )


class Recorder:
    """Writes records ``(t, values)`` to a new netCDF4 file; see the module docstring.

    ``values`` holds one value per variable, in the order of ``variables``. Use as a
    context manager: leaving the block normally closes with status ``"complete"`` (unless
    :meth:`close` was already called), an exception closes with ``"incomplete"`` and the
    exception as the reason.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        variables: Sequence[RecordedVariable],
        attrs: Mapping[str, Any],
        *,
        flush_every: int = 100,
        overwrite: bool = False,
        compression_level: int = 4,
        coordinates: Mapping[str, Sequence] = MappingProxyType({}),
        background: bool = False,
    ):
        self.path = Path(path)
        self.variables: tuple[RecordedVariable, ...] = tuple(variables)
        flush_every = int(flush_every)
        if flush_every < 1:
            raise ValueError(f"flush_every must be at least 1, got {flush_every}")
        compression_level = int(compression_level)
        if not 0 <= compression_level <= 9:
            raise ValueError(f"compression_level must be 0..9, got {compression_level}")
        self.flush_every = flush_every
        dim_sizes = self._check_variables(self.variables)
        self._coordinates = {d: list(coordinates[d]) for d in dim_sizes if d in coordinates}
        for d, labels in self._coordinates.items():
            if len(labels) != dim_sizes[d]:
                raise ValueError(f"dimension {d!r} has {dim_sizes[d]} positions but {len(labels)} labels")
        encoded_attrs = {str(k): encode_attr(str(k), v) for k, v in attrs.items() if v is not None}

        if self.path.exists() and not overwrite:
            raise ResultExistsError(
                f"result file {self.path} exists; pass --overwrite to replace it, "
                "or choose another --output"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultFileError(f"cannot create the folder of the result file {self.path}: "
                                  f"{exc.strerror or exc}") from None
        # Written in place, created exclusively (O_EXCL: of two runs started on one path,
        # one is refused); with overwrite, written beside the target and moved onto it by
        # close() only when the run has a result: complete, or records past the initial
        # one (an old file survives a run that failed in its first step).
        self._target = self.path if overwrite else None
        self._replaced: bool | None = None  # with overwrite, after close: whether the target was replaced
        self._status = "incomplete"  # as closed
        if overwrite:
            self.path = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
            self.path.unlink(missing_ok=True)  # our own leftover (a reused pid)

        self._ds: netCDF4.Dataset | None = None
        try:
            ds = netCDF4.Dataset(self.path, mode="x", format="NETCDF4")
        except OSError as exc:
            # the create was exclusive: a file there now was made by somebody else (HDF5 may
            # report the collision as EEXIST, netCDF's NC_EEXIST, or EACCES when it lost the race)
            if exc.errno in (errno.EEXIST, _NC_EEXIST) or os.path.lexists(self.path):
                raise ResultExistsError(f"result file {self.path} exists: another run created it at the "
                                        "same moment; choose another --output") from None
            raise ResultFileError(f"cannot create the result file {self.path}: {exc.strerror or exc}") from None
        try:
            self._define(ds, dim_sizes, encoded_attrs, compression_level)
            ds.set_auto_maskandscale(False)  # raw writes: a third less overhead per block
            ds.sync()
        except BaseException:
            ds.close()
            self.path.unlink(missing_ok=True)  # a half-defined file would only block a rerun
            raise
        self._ds = ds
        #: positions in ``variables`` of the time series and of the fixed variables
        self._series = [k for k, v in enumerate(self.variables) if not v.fixed]
        self._fixed = [k for k, v in enumerate(self.variables) if v.fixed]
        self._nc_vars = [ds.variables[self.variables[k].name] for k in self._series]
        self._nc_fixed = [ds.variables[self.variables[k].name] for k in self._fixed]
        self._fixed_values: list[np.ndarray] | None = None  # from the first record, until written
        self._nc_time = ds.variables["time"]

        #: the scalar float64 series share one block (a record's row in one assignment; each
        #: variable's buffer is a column of it): their positions in ``variables``; the rest
        scalar = [k for k in self._series if self.variables[k].shape == ()
                  and _BUFFER_DTYPES[self.variables[k].dtype] == np.float64]
        self._scalar_src = scalar
        self._column = {k: j for j, k in enumerate(scalar)}
        self._new_buffers()
        self._n_buffered = 0
        self._n_written = 0  # on disk
        self._n_handed = 0  # handed to the writer thread (written or not yet)
        self._last_t = -math.inf
        self._shapes_checked = False
        self._writer = BackgroundWriter(f"cosim-writer {self.path.name}") if background else None

    def _new_buffers(self) -> None:
        """Fresh buffers for ``flush_every`` records: the time, the block of the scalar float64
        series and every series' buffer (in ``_series`` order; a column of the block or its own)."""
        n = self.flush_every
        self._time_buf = np.empty(n, dtype=np.float64)
        self._block = np.empty((n, len(self._scalar_src)), dtype=np.float64)
        self._bufs, self._other = [], []
        for k in self._series:
            if k in self._column:
                buf = self._block[:, self._column[k]]
            else:
                buf = np.empty((n, *self.variables[k].shape), dtype=_BUFFER_DTYPES[self.variables[k].dtype])
                self._other.append((buf, k))
            self._bufs.append(buf)

    # -- set-up -------------------------------------------------------------------------
    @staticmethod
    def _check_variables(variables: Sequence[RecordedVariable]) -> dict[str, int]:
        names: set[str] = set()
        dim_sizes: dict[str, int] = {}
        dim_owner: dict[str, str] = {}
        for var in variables:
            if not isinstance(var, RecordedVariable):
                raise TypeError(f"expected RecordedVariable, got {type(var).__name__}")
            if var.name in names:
                raise ValueError(f"recorded variable {var.name!r} is listed twice")
            names.add(var.name)
            for dim, size in zip(var.dims, var.shape):
                if dim in dim_sizes and dim_sizes[dim] != size:
                    raise ValueError(
                        f"dimension {dim!r} has size {dim_sizes[dim]} in variable "
                        f"{dim_owner[dim]!r} but size {size} in variable {var.name!r}"
                    )
                dim_sizes.setdefault(dim, size)
                dim_owner.setdefault(dim, var.name)
        clash = names & set(dim_sizes)
        if clash:
            name = sorted(clash)[0]
            raise ValueError(
                f"recorded variable {name!r} has the name of a dimension (used by "
                f"{dim_owner[name]!r}); rename the variable or the dimension"
            )
        return dim_sizes

    def _define(
        self,
        ds: netCDF4.Dataset,
        dim_sizes: Mapping[str, int],
        attrs: Mapping[str, Any],
        level: int,
    ) -> None:
        for key, value in attrs.items():
            ds.setncattr(key, value)
        ds.setncattr("Conventions", "CF-1.8")
        ds.setncattr("status", "incomplete")
        ds.setncattr("status_reason", _IN_PROGRESS)
        ds.setncattr("start_time_wall", utc_now_iso())

        ds.createDimension("time", None)
        for dim, size in dim_sizes.items():
            ds.createDimension(dim, size)
            labels = self._coordinates.get(dim)
            if labels is not None and all(isinstance(v, str) for v in labels):
                coord = ds.createVariable(dim, str, (dim,))
                coord[:] = np.array(labels, dtype=object)
                coord.setncatts({"long_name": f"{dim} name"})
            else:  # positions numbered 0..n-1 (string, stack, layer: indices)
                coord = ds.createVariable(dim, "i4", (dim,))
                coord[:] = np.arange(size, dtype=np.int32) if labels is None else np.asarray(labels, dtype=np.int32)
                coord.setncatts({"long_name": f"{dim} index", "units": "1"})

        compression = {"compression": "zlib", "complevel": level, "shuffle": True} if level else {}
        time = ds.createVariable(
            "time", "f8", ("time",), chunksizes=(self.flush_every,), **compression
        )
        time.setncatts({"units": "s", "long_name": "time", "standard_name": "time", "axis": "T"})

        for var in self.variables:
            if var.fixed:
                self._define_fixed(ds, var, compression)
                continue
            itemsize = np.dtype(_BUFFER_DTYPES[var.dtype]).itemsize
            record_bytes = itemsize * math.prod(var.shape)
            chunk_t = max(1, min(self.flush_every, _MAX_CHUNK_BYTES // record_bytes))
            kwargs: dict[str, Any] = {"chunksizes": (chunk_t, *var.shape), **compression}
            if var.dtype == "float64":
                kwargs["fill_value"] = np.nan
            nc_var = ds.createVariable(var.name, _DTYPES[var.dtype], ("time", *var.dims), **kwargs)
            nc_var.setncatts(self._var_attrs(var))

    def _define_fixed(self, ds: netCDF4.Dataset, var: RecordedVariable, compression: Mapping[str, Any]) -> None:
        """A variable without the time dimension: the value of the first record."""
        kwargs: dict[str, Any] = dict(compression) if var.shape else {}
        if var.dtype == "float64":
            kwargs["fill_value"] = np.nan
        nc_var = ds.createVariable(var.name, _DTYPES[var.dtype], var.dims, **kwargs)
        nc_var.setncatts({**self._var_attrs(var), "variability": "fixed"})

    @staticmethod
    def _var_attrs(var: RecordedVariable) -> dict[str, Any]:
        var_attrs: dict[str, Any] = {"units": var.units, "long_name": var.long_name}
        if var.dtype == "bool":
            var_attrs["flag_values"] = np.array([0, 1], dtype=np.int8)
            var_attrs["flag_meanings"] = "false true"
            var_attrs["dtype"] = "bool"
        for key, value in var.attrs.items():
            var_attrs[str(key)] = encode_attr(f"{var.name}:{key}", value)
        return var_attrs

    # -- recording ----------------------------------------------------------------------
    @property
    def n_records(self) -> int:
        """Records passed to :meth:`record` so far (written or still buffered)."""
        return self._n_handed + self._n_buffered

    @property
    def closed(self) -> bool:
        return self._ds is None

    def record(self, t: float, values: Sequence[Any]) -> None:
        """Append one record at time ``t`` (s): one value per variable, in order."""
        if self._ds is None:
            raise RuntimeError(f"recorder for {self.path} is closed")
        t = float(t)
        if not t > self._last_t or t == math.inf:
            raise ValueError(
                f"record time {t!r} s does not increase strictly "
                f"(previous record at {self._last_t!r} s)"
            )
        if len(values) != len(self.variables):
            raise ValueError(f"expected {len(self.variables)} values (one per variable), got {len(values)}")
        if not self._shapes_checked:
            self._check_shapes(values)
            self._keep_fixed(t, values)
        i = self._n_buffered
        try:
            self._block[i] = [values[k] for k in self._scalar_src]
            for buf, k in self._other:
                buf[i] = values[k]
        except (ValueError, TypeError) as exc:
            if self._fixed:
                values = [values[k] for k in self._series]
            k = next(
                (k for k, (buf, value) in enumerate(zip(self._bufs, values)) if not _assignable(buf[i], value)),
                None,
            )
            name = self.variables[self._series[k]].name if k is not None else "?"
            raise ValueError(f"recorded variable {name!r} at t = {t:g} s: bad value: {exc}") from exc
        self._time_buf[i] = t
        self._last_t = t
        self._n_buffered = i + 1
        if self._n_buffered == self.flush_every:
            if self._writer is None:
                self.flush()
            else:
                self._hand_off()

    def _keep_fixed(self, t: float, values: Sequence[Any]) -> None:
        """The fixed variables' values of the first record (written with the first block)."""
        kept = []
        for k in self._fixed:
            var = self.variables[k]
            try:
                kept.append(np.array(values[k], dtype=_BUFFER_DTYPES[var.dtype]))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"recorded variable {var.name!r} at t = {t:g} s: bad value: {exc}") from exc
        self._fixed_values = kept

    def _check_shapes(self, values: Sequence[Any]) -> None:
        for var, value in zip(self.variables, values):
            shape = np.shape(value)
            if shape != var.shape:
                raise ValueError(
                    f"recorded variable {var.name!r} has shape {var.shape}, got a value of shape {shape}"
                )
        self._shapes_checked = True

    def flush(self) -> None:
        """Write the buffered records to the file and ``sync()`` it (with a writer thread:
        hand them over and wait until everything handed over is written)."""
        if self._ds is None:
            return
        if self._writer is not None:
            if self._n_buffered:
                self._hand_off()
            self._writer.drain()
            return
        if self._n_buffered == 0:
            return
        self._write(self._n_written, self._n_buffered, self._time_buf, self._bufs, self._fixed_values)
        self._fixed_values = None
        self._n_handed = self._n_written
        self._n_buffered = 0

    def _hand_off(self) -> None:
        """The buffered records to the writer thread; fresh buffers for the next ones."""
        n, start = self._n_buffered, self._n_handed
        time_buf, bufs, fixed = self._time_buf, self._bufs, self._fixed_values
        self._writer.submit(lambda: self._write(start, n, time_buf, bufs, fixed))
        # handed over (a Ctrl-C while waiting to submit leaves them here, for close)
        self._new_buffers()
        self._fixed_values = None
        self._n_handed = start + n
        self._n_buffered = 0

    def _write(self, start: int, n: int, time_buf: np.ndarray, bufs: list[np.ndarray],
               fixed: list[np.ndarray] | None) -> None:
        """Records ``start .. start + n`` (and the fixed variables' values) into the file,
        then ``sync()``."""
        stop = start + n
        try:
            if fixed is not None:
                for nc_var, value in zip(self._nc_fixed, fixed):
                    nc_var[...] = value
            for nc_var, buf in zip(self._nc_vars, bufs):
                nc_var[start:stop, ...] = buf[:n]
            # time last: a reader sees the time axis grow only with the data in place.
            self._nc_time[start:stop] = time_buf[:n]
            self._ds.sync()
        except (RuntimeError, OSError) as exc:  # netCDF/HDF5 write errors: typically a full disk
            raise ResultFileError(f"cannot write to the result file {self.path} after {start} records "
                                  f"({exc}; is the disk full?)") from exc
        self._n_written = stop

    # -- closing ------------------------------------------------------------------------
    def kept(self) -> str:
        """What a closed recorder left on disk, for messages."""
        if self._replaced is False:
            return f"no records written; {self.path} left as it was"
        return f"{self._n_written} records kept in {self.path} (status {self._status})"

    def close(
        self,
        status: Literal["complete", "incomplete"],
        reason: str = "",
        attrs: Mapping[str, Any] = MappingProxyType({}),
    ) -> None:
        """Flush, set ``status``/``status_reason``/``end_time_wall``/``n_records`` and any
        extra global ``attrs``, and close the file. Calling it again does nothing. If the
        last records cannot be written, the file is closed as incomplete saying so, and the
        error is raised when ``status`` was "complete" (when closing a run that failed
        already, the file's reason is enough)."""
        if self._ds is None:
            return
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {status!r}")
        ds = self._ds
        error: BaseException | None = None
        requested = status
        try:
            self.flush()
            if self._writer is not None and self._writer.error is not None:  # raised before: say so again
                raise self._writer.error
        except Exception as exc:  # keep the file readable and say why it is short
            error = exc
            status = "incomplete"
            reason = (reason + "; " if reason else "") + (
                f"the last {self.n_records - self._n_written} record(s) could not be written: "
                f"{type(exc).__name__}: {exc}"
            )
        finally:
            if self._writer is not None:  # nothing more will be handed over
                self._writer.close()
        try:
            for key, value in attrs.items():
                if value is not None:
                    ds.setncattr(str(key), encode_attr(str(key), value))
            self._status = status
            ds.setncattr("status", status)
            ds.setncattr("status_reason", reason)
            ds.setncattr("end_time_wall", utc_now_iso())
            ds.setncattr("n_records", self._n_written)
        finally:
            self._ds = None
            ds.close()
            if self._target is not None:  # --overwrite: the result replaces the old file
                # a result: complete, or records past the first (the initial state alone is not one)
                self._replaced = status == "complete" or self._n_written > 1
                if self._replaced:
                    os.replace(self.path, self._target)
                else:
                    self.path.unlink(missing_ok=True)
                self.path, self._target = self._target, None
        if error is not None and requested == "complete":
            raise error

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close("complete")
        else:
            message = str(exc)
            self.close("incomplete", reason=f"{exc_type.__name__}: {message}" if message else exc_type.__name__)

    def __repr__(self) -> str:
        state = "closed" if self._ds is None else "open"
        return f"<Recorder {str(self.path)!r} {state}, {self.n_records} records>"


def _assignable(slot: np.ndarray, value: Any) -> bool:
    try:
        np.copyto(np.empty_like(slot), value, casting="unsafe")
    except (ValueError, TypeError):
        return False
    return True
