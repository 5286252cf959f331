"""FMU archives from strangers: checked before anything is read, extracted privately.

An FMU is a zip file that somebody else built. Before any of it touches the disk, every
entry is checked:

1. the name must be relative and stay inside the target folder: absolute paths
   (``/x``, ``C:\\x``, ``\\\\server``), ``..`` components and backslash tricks are refused;
2. no links: entries whose Unix mode says symlink (or anything but a file or folder);
3. no absurd sizes: at most :data:`MAX_ENTRIES` entries and :data:`MAX_TOTAL_BYTES`
   uncompressed in all, counted while writing (the sizes a zip declares are not trusted);
4. ``modelDescription.xml`` must be there.

:func:`extract` writes into a fresh private folder (mode 0700, from :mod:`tempfile`) that
the caller removes with :func:`remove` after the run; :func:`read_description` parses
``modelDescription.xml`` without extracting anything else. Entries that unpack to one path
are kept once if identical (size and CRC-32) and refused if they differ. The archive's SHA-256 is
what :func:`cosim.provenance.sha256_file` records with the results.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import CosimError

__all__ = ["FmuArchiveError", "MAX_ENTRIES", "MAX_TOTAL_BYTES", "extract", "read_description", "remove"]

#: most entries an FMU may hold
MAX_ENTRIES = 20_000
#: most bytes an FMU may unpack to (all entries together)
MAX_TOTAL_BYTES = 2 * 1024**3
_CHUNK = 1 << 20


class FmuArchiveError(CosimError):
    """The FMU file cannot be used (not a zip, unsafe entry, too large, no description)."""


def _open(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        hint = ""
        if path.parent.name == "build" and path.parent.parent.name == "fmus" and path.name.startswith("vehicle_fmi"):
            hint = f" (our reference vehicle FMUs are built by `cosim build-fmus --out {path.parent}`)"
        elif path.parent.name == "build" and path.parent.parent.name == "fmus" and path.name == "flagship_pack.fmu":
            hint = (" (the flagship's pack FMU is exported by `cosim export-fmu scenarios/flagship_bev_wltc3b.toml "
                    f"-o {path}`)")
        raise FmuArchiveError(f"FMU {path}: no such file{hint}")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FmuArchiveError(f"FMU {path}: not a zip archive ({exc})") from None


def _checked_entries(path: Path, zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise FmuArchiveError(f"FMU {path}: {len(infos)} entries, more than the {MAX_ENTRIES} allowed")
    out = []
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        unsafe = (
            name.startswith(("/", "\\"))
            or (len(name) > 1 and name[1] == ":")
            or "\\" in name
            or ".." in parts
            or "\x00" in name
        )
        if unsafe:
            raise FmuArchiveError(f"FMU {path}: refused entry {name!r}: it would be written outside the FMU's folder")
        kind_bits = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver gave none
        if kind_bits not in (0, stat.S_IFREG, stat.S_IFDIR):
            kind = "a symbolic link" if kind_bits == stat.S_IFLNK else "not a regular file"
            raise FmuArchiveError(f"FMU {path}: refused entry {name!r}: {kind}")
        out.append((info, PurePosixPath(*[p for p in parts if p not in ("", ".")])))
    out = _without_duplicates(path, out)
    if "modelDescription.xml" not in {str(p) for _, p in out}:
        raise FmuArchiveError(f"FMU {path}: no modelDescription.xml at the top of the archive")
    return out


def _without_duplicates(path: Path, entries):
    """Entries that unpack to one path: identical ones (same kind, size and CRC-32) are kept
    once; differing ones are refused, naming the entry."""
    first: dict[PurePosixPath, zipfile.ZipInfo] = {}
    out = []
    for info, rel in entries:
        seen = first.get(rel)
        if seen is None:
            first[rel] = info
            out.append((info, rel))
            continue
        same = seen.is_dir() == info.is_dir() and (info.is_dir() or (
            seen.file_size == info.file_size and seen.CRC == info.CRC))
        if not same:
            raise FmuArchiveError(f"FMU {path}: refused entry {info.filename!r}: the archive holds it more than "
                                  f"once with different contents (first as {seen.filename!r})")
    return out


def _copy(src, dst, budget: list[int], path: Path, name: str) -> None:
    while chunk := src.read(_CHUNK):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise FmuArchiveError(
                f"FMU {path}: unpacks to more than {MAX_TOTAL_BYTES / 1024**3:g} GiB (at entry {name!r})")
        dst.write(chunk)


def extract(fmu_path: str | os.PathLike[str]) -> Path:
    """Check every entry of the FMU, then unpack it into a new private temporary folder;
    returns the folder (remove it with :func:`remove`). Nothing is left behind on refusal."""
    path = Path(fmu_path)
    global _orphans_removed
    if not _orphans_removed:  # once per process
        _orphans_removed = True
        remove_orphans()
    with _open(path) as zf:
        entries = _checked_entries(path, zf)
        root = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        try:
            budget = [MAX_TOTAL_BYTES]
            real_root = root.resolve()
            for info, rel in entries:
                target = (root / rel).resolve() if rel.parts else real_root
                if target != real_root and real_root not in target.parents:
                    raise FmuArchiveError(f"FMU {path}: refused entry {info.filename!r}: escapes the FMU's folder")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "xb") as dst:
                    _copy(src, dst, budget, path, info.filename)
        except zipfile.BadZipFile as exc:
            remove(root)
            raise FmuArchiveError(f"FMU {path}: corrupt archive ({exc})") from None
        except OSError as exc:  # e.g. a file and a folder of one name
            remove(root)
            raise FmuArchiveError(f"FMU {path}: cannot unpack entry {info.filename!r}: {exc.strerror or exc}") from None
        except BaseException:
            remove(root)
            raise
    return root


def read_description(fmu_path: str | os.PathLike[str]):
    """The FMU's model description (:class:`fmpy.model_description.ModelDescription`),
    read after checking the archive, without unpacking anything to disk (FMPy parses the
    checked entry from a one-entry archive in memory)."""
    from fmpy.model_description import read_model_description

    path = Path(fmu_path)
    with _open(path) as zf:
        entries = _checked_entries(path, zf)
        info = next(i for i, rel in entries if str(rel) == "modelDescription.xml")
        xml = io.BytesIO()
        with zf.open(info) as src:
            _copy(src, xml, [64 * 1024**2], path, info.filename)
    one = io.BytesIO()
    with zipfile.ZipFile(one, "w") as out:
        out.writestr("modelDescription.xml", xml.getvalue())
    one.seek(0)
    try:
        return read_model_description(one)
    except Exception as exc:  # noqa: BLE001 - fmpy raises plain exceptions
        raise FmuArchiveError(f"FMU {path}: invalid modelDescription.xml: {exc}") from None


_PREFIX = "cosim-fmu-"
_orphans_removed = False


def remove_orphans(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the extraction folders (``cosim-fmu-<pid>-*`` in the temporary folder) of
    processes that no longer exist (a run killed with SIGKILL cannot clean up after
    itself); returns what was removed."""
    removed = []
    for d in Path(folder or tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = d.name[len(_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        remove(d)
        removed.append(d)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # (Windows' os.kill would end the process)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # somebody else's process, or no way to ask (Windows): keep
        return True
    return True


def remove(folder: str | os.PathLike[str]) -> None:
    """Remove an extraction folder (quietly if it is already gone)."""
    shutil.rmtree(folder, ignore_errors=True)
