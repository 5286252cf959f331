"""Build an FMU archive (FMI 2.0 or 3.0) from C sources with gcc.

`build_fmu` reads ``fmiVersion`` and the ``modelIdentifier`` from the model description,
compiles all C sources in one gcc call into a shared library and zips the archive::

    modelDescription.xml
    binaries/<platform>/<modelIdentifier>.so
    sources/<every .c and .h file of the source folder>
    resources/<name>                       (only for the resources passed in)

The sources include ``fmi2Functions.h`` / ``fmi3Functions.h`` (taken from fmpy's ``c-code``
folder) without defining a function prefix, so the standard names (``fmi2Instantiate``,
``fmi3DoStep``, ...) are exported. Platform folders: FMI 2.0 uses ``linux64`` (64-bit
Linux); FMI 3.0 uses the platform tuple ``x86_64-linux`` or ``aarch64-linux``. Builds run on
Linux; with ``platforms`` containing ``"win64"`` the same sources are also cross-compiled for
Windows x86-64 with mingw-w64 (``x86_64-w64-mingw32-gcc``; FMI 2.0 folder ``win64``, FMI 3.0
``x86_64-windows``), linked statically against libgcc so that the DLL imports only system
DLLs. The archive is written under a temporary name and renamed into place, so a failed
build never leaves a partial file behind.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from ..errors import CosimError

_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


class FmuBuildError(CosimError):
    """An FMU could not be built: bad model description, gcc missing, or gcc failed."""


def platform_folder(fmi_version: str) -> str:
    """Name of the ``binaries/`` sub-folder for this machine and FMI version ("2.0" or "3.0")."""
    system, machine = platform.system(), platform.machine().lower()
    if system != "Linux":
        raise FmuBuildError(f"building FMUs is only supported on Linux, not on {system or 'this OS'}")
    arch = _ARCHITECTURES.get(machine)
    if arch is None:
        raise FmuBuildError(f"unsupported machine architecture {machine!r} for building FMUs")
    if fmi_version.startswith("2."):
        return "linux64"
    if fmi_version.startswith("3."):
        return f"{arch}-linux"
    raise FmuBuildError(f"unsupported FMI version {fmi_version!r} (expected 2.0 or 3.0)")


#: what the wrappers of cosim's own FMUs (fmus/vehicle, fmus/pack) share, per FMI version
COMMON_DIR = Path(__file__).resolve().parents[2] / "fmus" / "common"
COMMON = {2: ("fmi2_shared.h", "fmi2_shared.c"), 3: ("fmi3_not_offered.h", "fmi3_not_offered.c")}
#: the mingw-w64 cross compiler for Windows x86-64 (Debian: gcc-mingw-w64-x86-64)
MINGW_GCC = "x86_64-w64-mingw32-gcc"
#: the platforms build_fmu compiles for: "native" (this Linux machine), "linux64", "win64"
PLATFORMS = ("native", "linux64", "win64")


def _target(name: str, fmi_version: str) -> tuple[str, str, str, tuple[str, ...]]:
    """(binaries folder, compiler, library suffix, link flags) of a platform name."""
    if name in ("native", "linux64"):
        folder = platform_folder(fmi_version)
        if name == "linux64" and "x86_64" not in folder and folder != "linux64":
            raise FmuBuildError(f"linux64 binaries need an x86-64 Linux machine (this one is {folder})")
        return folder, "gcc", ".so", ("-fPIC",)
    if name == "win64":
        folder = "win64" if fmi_version.startswith("2.") else "x86_64-windows"
        return folder, MINGW_GCC, ".dll", ("-static-libgcc",)
    raise FmuBuildError(f"unknown platform {name!r} (choose from {', '.join(PLATFORMS)})")


def fmi_header_dir() -> Path:
    """The folder holding the FMI 2.0 and 3.0 C headers (fmpy's ``c-code`` folder)."""
    import fmpy

    return Path(fmpy.__file__).resolve().parent / "c-code"


def _identity(xml_text: str, label: str) -> tuple[str, str]:
    """(fmiVersion, modelIdentifier) of a model description."""
    try:
        root = ET.fromstring(xml_text.encode("utf-8"))
    except ET.ParseError as exc:
        raise FmuBuildError(f"FMU {label}: modelDescription.xml is not well-formed XML: {exc}") from exc
    version = root.get("fmiVersion")
    if root.tag != "fmiModelDescription" or not version:
        raise FmuBuildError(f"FMU {label}: not an FMI model description (no fmiVersion)")
    ids = {el.tag: el.get("modelIdentifier") for el in root
           if el.tag in ("CoSimulation", "ModelExchange", "ScheduledExecution")}
    if not ids or not all(ids.values()):
        raise FmuBuildError(f"FMU {label}: no CoSimulation/ModelExchange element with a modelIdentifier")
    if len(set(ids.values())) > 1:
        listed = ", ".join(f"{tag}={ident!r}" for tag, ident in ids.items())
        raise FmuBuildError(f"FMU {label}: interface types use different modelIdentifiers ({listed});"
                            " one binary per FMU is supported")
    return version, next(iter(ids.values()))


def build_fmu(source_dir: str | os.PathLike, out_path: str | os.PathLike, *,
              sources: Iterable[str | os.PathLike] | None = None,
              resources: Mapping[str, str | os.PathLike] | None = None,
              model_description: str | None = None,
              cflags: Iterable[str] = (),
              platforms: Iterable[str] = ("native",),
              extra_sources: Mapping[str, str | os.PathLike] | None = None) -> Path:
    """Compile the C sources of `source_dir` and write the FMU archive to `out_path`.

    `sources` lists the C files to compile (relative paths are taken relative to
    `source_dir`; default: every ``*.c`` in `source_dir`). `model_description` is the XML
    text to use instead of ``source_dir/modelDescription.xml``. `resources` maps archive
    names (below ``resources/``) to files. `cflags` are extra gcc arguments. `platforms`
    names the binaries to build (see :data:`PLATFORMS`); `extra_sources` maps more names
    below ``sources/`` to files (e.g. FMI 3.0's ``buildDescription.xml``). Returns
    `out_path`; raises FmuBuildError if anything fails.
    """
    source_dir, out_path = Path(source_dir), Path(out_path)
    label = repr(out_path.name)
    if model_description is None:
        try:
            model_description = (source_dir / "modelDescription.xml").read_text(encoding="utf-8")
        except OSError as exc:
            raise FmuBuildError(f"FMU {label}: cannot read the model description: {exc}") from exc
    version, identifier = _identity(model_description, label)
    label = f"{identifier!r} ({out_path.name})"

    c_files = (sorted(source_dir.glob("*.c")) if sources is None
               else [source_dir / Path(s) for s in sources])
    if not c_files:
        raise FmuBuildError(f"FMU {label}: no C sources in {source_dir}")
    missing = [str(p) for p in c_files if not p.is_file()]
    if missing:
        raise FmuBuildError(f"FMU {label}: missing C sources: {', '.join(missing)}")
    packed_resources = {}
    for name, path in (resources or {}).items():
        pure = PurePosixPath(name)
        if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name:
            raise FmuBuildError(f"FMU {label}: bad resource name {name!r}")
        if not Path(path).is_file():
            raise FmuBuildError(f"FMU {label}: resource file {path} does not exist")
        packed_resources[f"resources/{pure}"] = Path(path)
    targets = [_target(name, version) for name in dict.fromkeys(platforms)]
    if not targets:
        raise FmuBuildError(f"FMU {label}: no platform to build for")

    with tempfile.TemporaryDirectory(prefix="fmu-build-") as tmp:
        libraries = {}
        for folder, compiler, suffix, link in targets:
            cc = shutil.which(compiler)
            if cc is None:
                hint = (" (Debian/Ubuntu: apt-get install gcc-mingw-w64-x86-64; or build without the Windows "
                        "binary: --platforms linux64)") if compiler == MINGW_GCC else ""
                raise FmuBuildError(f"cannot build FMU {label} for {folder}: {compiler} is not installed "
                                    f"(not found on PATH){hint}")
            library = f"binaries/{folder}/{identifier}{suffix}"
            so_path = Path(tmp) / library
            so_path.parent.mkdir(parents=True)
            command = [cc, "-shared", *link, "-O2", "-std=c99", "-Wall", f"-I{fmi_header_dir()}",
                       f"-I{source_dir}", *cflags, "-o", str(so_path), *map(str, c_files), "-lm"]
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0:
                raise FmuBuildError(f"{compiler} failed to build FMU {label} for {folder} (exit status "
                                    f"{proc.returncode}):\n{proc.stderr.strip() or proc.stdout.strip()}")
            libraries[library] = so_path

        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("modelDescription.xml", model_description.encode("utf-8"))
                for library, so_path in libraries.items():
                    zf.write(so_path, library)
                for src in sorted(source_dir.iterdir()) if source_dir.is_dir() else ():
                    if src.suffix in (".c", ".h") and src.is_file():
                        zf.write(src, f"sources/{src.name}")
                for name, path in (extra_sources or {}).items():
                    zf.write(path, f"sources/{name}")
                for name, path in packed_resources.items():
                    zf.write(path, name)
            os.chmod(partial, 0o644)  # mkstemp creates it private
            os.replace(partial, out_path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return out_path
