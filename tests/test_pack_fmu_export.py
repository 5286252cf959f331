"""Our pack out (`cosim export-fmu`): the flagship's and the HEV's packs exported as FMI 2.0
and 3.0 co-simulation FMUs compiled from C in this session, checked by FMPy's validator,
run back in cosim in place of the native pack and thermal network (the round trip), by
FMPy's simulate_fmu on the cross-check inputs, and by a small C host program (dlopen, the
FMI 2.0 call sequence, two instances at once, no Python); the Windows DLLs are checked with
objdump. (That the C model is the Python pack, output for output, is
tests/test_pack_c_model.py.)"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cosim.fmu.build import fmi_header_dir
from cosim.fmu.pack_fmu import ARRAY_BASE, SCALARS, VR_SCALARS, PackFmuError, export_pack_fmu
from cosim.run import run_scenario
from cosim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
FLAGSHIP = SCENARIOS / "flagship_bev_wltc3b.toml"
HEV = SCENARIOS / "hev_jp1015.toml"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The flagship pack as FMI 3.0 and 2.0 FMUs (Linux and Windows binaries), with their
    cross-check bundles; key (scenario, version)."""
    tmp = tmp_path_factory.mktemp("pack_fmus")
    out = {}
    for version in (3, 2):
        out["flagship", version] = export_pack_fmu(FLAGSHIP, tmp / f"flagship_fmi{version}.fmu", fmi_version=version,
                                                   bundle=version == 3)
    return out


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=float)


# -- the archive -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", [2, 3])
def test_the_fmu_holds_linux_and_windows_binaries_sources_and_the_pack_data(exported, version):
    done = exported["flagship", version]
    with zipfile.ZipFile(done.fmu) as z:
        names = set(z.namelist())
        xml = z.read("modelDescription.xml").decode()
    linux, windows = ("linux64", "win64") if version == 2 else ("x86_64-linux", "x86_64-windows")
    assert {f"binaries/{linux}/cosim_pack.so", f"binaries/{windows}/cosim_pack.dll", "resources/pack.dat",
            "sources/pack_model.h", "sources/cell_kernel.c", "sources/pack_fmu.c", "sources/pack_config.h"} <= names
    if version == 3:
        assert "sources/buildDescription.xml" in names
    else:  # FMI 2.0 lists the sources in the model description
        listed = set(re.findall(r'<File name="([^"]+)"/>', xml))
        assert listed and listed <= {n.removeprefix("sources/") for n in names}
    assert 'stopTime="1800.0"' in xml and 'stepSize="1.0"' in xml  # the flagship's [simulation]


@pytest.mark.parametrize("scenario,version", [(FLAGSHIP, 3), (FLAGSHIP, 2), (HEV, 3), (HEV, 2)],
                         ids=["flagship-fmi3", "flagship-fmi2", "hev-fmi3", "hev-fmi2"])
def test_fmpy_validates_the_exports_without_a_problem(exported, scenario, version, tmp_path):
    from fmpy.validation import validate_fmu

    if scenario == FLAGSHIP:
        fmu = exported["flagship", version].fmu
    else:
        fmu = export_pack_fmu(scenario, tmp_path / "hev.fmu", fmi_version=version, platforms=("linux64",),
                              bundle=False).fmu
    assert validate_fmu(str(fmu)) == []


# -- the round trip ----------------------------------------------------------------------------

def test_the_flagship_with_its_exported_pack_matches_the_native_flagship(exported, native_flagship, tmp_path):
    """The shipped flagship_bev_wltc3b_pack_fmu.toml (pack and thermal network replaced by the
    FMU, imported through cosim's own fmu component) against the native run: the issue asks
    for pack voltage within 1 mV RMS, layer temperatures within 0.05 K, Wh/km within 0.1 %."""
    scenario = tmp_path / "with_pack_fmu.toml"
    shipped = (SCENARIOS / "flagship_bev_wltc3b_pack_fmu.toml").read_text()
    scenario.write_text(
        shipped.replace('extends = "flagship_bev_wltc3b.toml"', f'extends = "{FLAGSHIP.as_posix()}"')
        .replace('"../fmus/build/flagship_pack.fmu"', f'"{exported["flagship", 3].fmu.as_posix()}"'))
    out = run_scenario(load_scenario(scenario), output=tmp_path / "fmu.nc")
    with xr.open_dataset(native_flagship) as a, xr.open_dataset(out.path) as b:
        assert b.attrs["status"] == "complete" and b.sizes["time"] == a.sizes["time"] == 1801
        dv = b["pack.voltage_V"].values - a["pack.voltage_V"].values
        assert np.sqrt(np.mean(dv**2)) < 1e-3
        dT = b["pack.layer_temperature_K"].values - a["thermal.layer_temperature_K"].values
        assert np.max(np.abs(dT)) < 0.05
        e0, e1 = a["vehicle.energy_per_distance_Wh_km"].values[-1], b["vehicle.energy_per_distance_Wh_km"].values[-1]
        assert abs(e1 / e0 - 1.0) < 1e-3
        assert b["pack.layer_temperature_K"].dims == ("time", "string", "stack", "layer")
        assert b["pack.layer_voltage_V"].attrs["units"] == "V"


def test_fmpy_simulate_fmu_on_the_cross_check_inputs_gives_the_reference(exported):
    """FMPy's own master (no cosim) on ``_in.csv``: every column of ``_ref.csv``."""
    from fmpy import simulate_fmu

    done = exported["flagship", 3]
    names, rows = _read_csv(done.bundle["in"])
    signals = np.array([tuple(r) for r in rows], dtype=[(n, float) for n in names])
    res = simulate_fmu(str(done.fmu), start_time=0.0, stop_time=float(rows[-1, 0]), output_interval=1.0,
                       input=signals, output=[n for n, _, _ in SCALARS])
    ref_names, ref = _read_csv(done.bundle["ref"])
    assert ref.shape[0] == res.shape[0] == 1801
    np.testing.assert_array_equal(res["time"], ref[:, 0])
    for k, name in enumerate(ref_names[1:], start=1):
        _assert_output_matches(name, res[name], ref[:, k])


def _assert_output_matches(name: str, got: np.ndarray, ref: np.ndarray) -> None:
    """The FMU's outputs against the in-process reference (the same run up to round-off;
    set-point replay without the iterated connection's memo moves a limited step's current
    within the searches' tolerances)."""
    if name in ("available_discharge_power_W", "available_charge_power_W"):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-3, err_msg=name)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9, err_msg=name)


# -- a host without Python ---------------------------------------------------------------------

def test_a_c_host_steps_two_instances_of_the_linux_binary_to_the_reference(exported, tmp_path):
    """pack_host.c (dlopen, fmi2Instantiate twice, SetupExperiment ... DoStep ... Terminate,
    interleaved step by step) on the FMI 2.0 export and the FMI 3.0 export's cross-check
    inputs: both instances give the ``_ref.csv`` outputs."""
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed (.ci/run installs it)"
    host = tmp_path / "pack_host"
    subprocess.run([gcc, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-O2", "-Wall", "-Wextra", "-Werror",
                    f"-I{fmi_header_dir()}", str(REPO / "tests" / "fmus" / "pack_host" / "pack_host.c"),
                    "-o", str(host), "-ldl"], check=True)
    fmu = exported["flagship", 2].fmu
    unpacked = tmp_path / "fmu"
    with zipfile.ZipFile(fmu) as z:
        z.extractall(unpacked)
        guid = re.search(r'guid="([^"]+)"', z.read("modelDescription.xml").decode()).group(1)
    ref_names, ref = _read_csv(exported["flagship", 3].bundle["ref"])
    vrs = [VR_SCALARS + [n for n, _, _ in SCALARS].index(name) for name in ref_names[1:]]
    vrs.append(ARRAY_BASE)  # layer_voltage_V[1,1,1]
    proc = subprocess.run([str(host), str(unpacked / "binaries" / "linux64" / "cosim_pack.so"),
                           (unpacked / "resources").as_uri(), guid, str(exported["flagship", 3].bundle["in"]),
                           str(tmp_path / "out"), *map(str, vrs)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    a = np.loadtxt(tmp_path / "out_a.csv", delimiter=",")
    b = np.loadtxt(tmp_path / "out_b.csv", delimiter=",")
    np.testing.assert_array_equal(a, b)  # two instances in one process do not share anything
    assert a.shape[0] == ref.shape[0]
    for k, name in enumerate(ref_names[1:], start=1):
        _assert_output_matches(name, a[:, k], ref[:, k])


# -- Windows -----------------------------------------------------------------------------------

#: FMI 2.0's functions for model exchange only (section 3.2 of the standard)
FMI2_MODEL_EXCHANGE_ONLY = ("EnterEventMode", "NewDiscreteStates", "EnterContinuousTimeMode", "CompletedIntegratorStep",
                            "SetTime", "SetContinuousStates", "GetDerivatives", "GetEventIndicators",
                            "GetContinuousStates", "GetNominalsOfContinuousStates")
# the DLLs every Windows x86-64 has (the C runtime mingw-w64 links by default, and the kernel)
WINDOWS_SYSTEM_DLLS = {"kernel32.dll", "msvcrt.dll"}


@pytest.mark.parametrize("version", [2, 3])
def test_the_windows_dll_exports_the_fmi_api_and_imports_only_system_dlls(exported, version, tmp_path):
    objdump = shutil.which("x86_64-w64-mingw32-objdump")
    assert objdump, "x86_64-w64-mingw32-objdump missing: apt-get install binutils-mingw-w64-x86-64 (.ci/run does)"
    folder = "win64" if version == 2 else "x86_64-windows"
    with zipfile.ZipFile(exported["flagship", version].fmu) as z:
        dll = tmp_path / "cosim_pack.dll"
        dll.write_bytes(z.read(f"binaries/{folder}/cosim_pack.dll"))
    dump = subprocess.run([objdump, "-p", str(dll)], capture_output=True, text=True, check=True).stdout
    imported = {m.lower() for m in re.findall(r"DLL Name: (\S+)", dump)}
    assert imported and imported <= WINDOWS_SYSTEM_DLLS, imported
    exported_names = set(re.findall(r"\]\s+(fmi\d\w+)\s*$", dump, flags=re.MULTILINE))
    header = (fmi_header_dir() / f"fmi{version}FunctionTypes.h").read_text()
    required = {f"fmi{version}{n}" for n in re.findall(rf"typedef\s+\w+\s+fmi{version}(\w+)TYPE\s*\(", header)}
    if version == 2:  # a co-simulation FMU need not have FMI 2.0's model-exchange functions (FMI 3.0: all)
        required -= {f"fmi2{n}" for n in FMI2_MODEL_EXCHANGE_ONLY}
    assert required and required <= exported_names, sorted(required - exported_names)
    assert not any(n.startswith(("ck_", "pm_", "pf_")) for n in re.findall(r"\]\s+(\w+)\s*$", dump, re.MULTILINE))


# -- refused -----------------------------------------------------------------------------------

def test_what_cannot_be_exported_is_refused_with_the_reason(tmp_path):
    with pytest.raises(PackFmuError, match="fmi"):
        export_pack_fmu(FLAGSHIP, tmp_path / "x.fmu", fmi_version=4)
    with pytest.raises(Exception, match="nope"):
        export_pack_fmu(FLAGSHIP, tmp_path / "x.fmu", component="nope", bundle=False)
    dfn = tmp_path / "dfn.toml"
    dfn.write_text(f'extends = "{FLAGSHIP.as_posix()}"\n[components.pack]\nmodel = "dfn"\n')
    with pytest.raises(Exception, match="(?i)dfn"):
        export_pack_fmu(dfn, tmp_path / "x.fmu", bundle=False)
    assert not (tmp_path / "x.fmu").exists()


def test_the_linux_binary_needs_only_libc_and_libm(exported, tmp_path):
    """No libgomp, no libstdc++: the shared object links the C library and libm only."""
    readelf = shutil.which("readelf")
    assert readelf, "readelf (binutils) is needed"
    with zipfile.ZipFile(exported["flagship", 3].fmu) as z:
        so = tmp_path / "cosim_pack.so"
        so.write_bytes(z.read("binaries/x86_64-linux/cosim_pack.so"))
    dynamic = subprocess.run([readelf, "-d", str(so)], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    assert needed and needed <= {"libc.so.6", "libm.so.6"}, needed


@pytest.mark.parametrize("version", [2, 3])
def test_the_shipped_sources_rebuild_the_binary(exported, version, tmp_path):
    """Another platform's team rebuilds from ``sources/`` alone (the files the model
    description or buildDescription.xml lists, with the flags fmus/README.md gives): the
    rebuilt library, put in place of ours, steps to the same outputs."""
    from fmpy import simulate_fmu

    fmu = exported["flagship", version].fmu
    unpacked = tmp_path / "fmu"
    with zipfile.ZipFile(fmu) as z:
        z.extractall(unpacked)
    src = unpacked / "sources"
    if version == 2:
        listed = re.findall(r'<File name="([^"]+)"/>', (unpacked / "modelDescription.xml").read_text())
    else:
        listed = re.findall(r'<SourceFile name="([^"]+)"/>', (src / "buildDescription.xml").read_text())
    folder = "linux64" if version == 2 else "x86_64-linux"
    library = unpacked / "binaries" / folder / "cosim_pack.so"
    library.unlink()
    subprocess.run([shutil.which("gcc") or "gcc", "-shared", "-fPIC", "-O2", "-std=c99", "-ffp-contract=off",
                    "-DCK_EXPORT=", "-fvisibility=hidden", f"-I{fmi_header_dir()}", f"-I{src}",
                    *(str(src / f) for f in listed), "-o", str(library), "-lm"], check=True)
    rebuilt = tmp_path / "rebuilt.fmu"
    with zipfile.ZipFile(rebuilt, "w") as z:
        for path in sorted(unpacked.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(unpacked).as_posix())
    names = ["voltage_V", "max_layer_temperature_K", "available_discharge_power_W"]
    signal = np.array([(0.0, 30e3), (20.0, 30e3)], dtype=[("time", float), ("power_setpoint_W", float)])
    a = simulate_fmu(str(fmu), stop_time=20.0, output_interval=1.0, input=signal, output=names)
    b = simulate_fmu(str(rebuilt), stop_time=20.0, output_interval=1.0, input=signal, output=names)
    for name in names:
        np.testing.assert_array_equal(b[name], a[name])


def test_the_round_trip_holds_where_the_pack_limits_bind(tmp_path):
    """The small high-power pack on US06 (small_pack_us06.toml), where the pack's limits bind
    and the iterated connection repeats steps through the FMU's state: the exported pack in
    its place gives the native run (measured: the same limited steps, voltages and
    temperatures to round-off)."""
    small = SCENARIOS / "small_pack_us06.toml"
    fmu = export_pack_fmu(small, tmp_path / "small_pack.fmu", platforms=("linux64",), bundle=False).fmu
    scenario = tmp_path / "with_pack_fmu.toml"
    shipped = (SCENARIOS / "flagship_bev_wltc3b_pack_fmu.toml").read_text()
    scenario.write_text(shipped.replace('extends = "flagship_bev_wltc3b.toml"', f'extends = "{small.as_posix()}"')
                        .replace('"../fmus/build/flagship_pack.fmu"', f'"{fmu.as_posix()}"'))
    native = run_scenario(load_scenario(small), output=tmp_path / "native.nc")
    out = run_scenario(load_scenario(scenario), output=tmp_path / "fmu.nc")
    with xr.open_dataset(native.path) as a, xr.open_dataset(out.path) as b:
        assert a.attrs["status"] == b.attrs["status"] == "complete"
        limited = a["pack.limited"].values
        assert limited.sum() >= 10  # the limits bind
        np.testing.assert_array_equal(b["pack.limited"].values, limited)
        dv = b["pack.voltage_V"].values - a["pack.voltage_V"].values
        assert np.sqrt(np.mean(dv**2)) < 1e-3
        dT = b["pack.layer_temperature_K"].values - a["thermal.layer_temperature_K"].values
        assert np.max(np.abs(dT)) < 0.05
        e0, e1 = a["vehicle.energy_per_distance_Wh_km"].values[-1], b["vehicle.energy_per_distance_Wh_km"].values[-1]
        assert abs(e1 / e0 - 1.0) < 1e-3
        print(f"\nsmall pack on US06 through the FMU: {int(limited.sum())} limited steps; voltage RMS "
              f"{np.sqrt(np.mean(dv**2)):.3g} V, temperatures {np.max(np.abs(dT)):.3g} K, Wh/km {e1 / e0 - 1.0:.3g}")


def test_a_missing_cross_compiler_is_named_with_the_way_out(tmp_path, monkeypatch):
    """Without mingw-w64 the default export (Linux and Windows) stops before writing anything
    and says what to install, or how to leave the Windows binary out."""
    import cosim.fmu.build as build

    monkeypatch.setattr(build, "MINGW_GCC", "no-such-mingw-gcc")
    with pytest.raises(build.FmuBuildError, match=r"no-such-mingw-gcc is not installed.*--platforms linux64"):
        export_pack_fmu(FLAGSHIP, tmp_path / "x.fmu", bundle=False)
    assert not (tmp_path / "x.fmu").exists()
