"""A scenario run end to end: the dataset on disk, its metadata, and what a failure leaves."""

import json

import numpy as np
import pytest
import xarray as xr
from scenario_files import probe_chain

from cosim.errors import CosimError, ResultExistsError
from cosim.run import run_scenario
from cosim.scenario import load_scenario


def test_dataset_round_trip_values_units_and_provenance(tmp_path):
    scenario = probe_chain(tmp_path)
    out = run_scenario(load_scenario(scenario), output=tmp_path / "r.nc")
    assert out.status == "complete" and out.n_records == 11
    with xr.open_dataset(out.path) as ds:
        assert ds.attrs["status"] == "complete"
        np.testing.assert_array_equal(ds["time"].values, np.arange(11.0))
        assert ds["time"].attrs["units"] == "s"
        for name, var in ds.data_vars.items():
            assert var.attrs.get("units"), name
            assert var.attrs.get("long_name"), name
        assert ds["layered.temperature"].dims == ("time", "layer")
        assert ds["layered.temperature"].attrs["units"] == "K"
        # the source ramps 0 -> 100 W over 10 s; step means are 5, 15, ..., 95 W
        np.testing.assert_allclose(ds["src.power_W"].values[1:], 10.0 * np.arange(10) + 5.0, rtol=1e-12)  # measured: equal
        # the sink integrates 1 + u: at 10 s, 10 + integral of the ramp = 10 + 500
        assert float(ds["sink.y"][-1]) == pytest.approx(510.0, rel=1e-12)
        assert ds.attrs["scenario"] == scenario.read_text()
        assert json.loads(ds.attrs["scenario_resolved"])["simulation"]["stop_time_s"] == 10.0
        assert ds.attrs["coupling_order"] == "src -> sink -> layered"
        files = json.loads(ds.attrs["input_files_sha256"])
        assert str(scenario) in files
        assert ds.attrs["cosim_version"]


def test_output_variables_select_by_pattern(tmp_path):
    text = probe_chain(tmp_path).read_text().replace(
        "flush_every_records = 100", 'flush_every_records = 100\nvariables = ["sink.*"]')
    (tmp_path / "sel.toml").write_text(text)
    out = run_scenario(load_scenario(tmp_path / "sel.toml"), output=tmp_path / "r.nc")
    with xr.open_dataset(out.path) as ds:
        assert sorted(ds.data_vars) == ["sink.y", "sink.z"]
    (tmp_path / "bad.toml").write_text(text.replace('"sink.*"', '"snik.*"'))
    with pytest.raises(CosimError, match=r"\['snik\.\*'\] match no output"):
        run_scenario(load_scenario(tmp_path / "bad.toml"), output=tmp_path / "r2.nc")


def test_existing_result_is_never_overwritten_silently(tmp_path):
    loaded = load_scenario(probe_chain(tmp_path))
    target = tmp_path / "r.nc"
    target.write_bytes(b"precious")
    with pytest.raises(ResultExistsError, match="--overwrite"):
        run_scenario(loaded, output=target)
    assert target.read_bytes() == b"precious"
    run_scenario(loaded, output=target, overwrite=True)
    with xr.open_dataset(target) as ds:
        assert ds.attrs["status"] == "complete"


def test_default_path_is_under_results_and_unique(tmp_path):
    loaded = load_scenario(probe_chain(tmp_path))
    out = run_scenario(loaded, results_dir=tmp_path / "results")
    assert out.path.parent == tmp_path / "results" and out.path.name.startswith("chain-")


@pytest.mark.parametrize(
    "extra, cause",
    [
        ("nan_at_s = 4.0", "output 'y' is not finite"),
        ("fail_at_s = 4.0", "RuntimeError: deliberate failure"),
    ],
)
def test_failing_component_leaves_an_incomplete_dataset_naming_the_cause(tmp_path, extra, cause):
    loaded = load_scenario(probe_chain(tmp_path, flush=2, extra=extra))
    with pytest.raises(CosimError) as info:
        run_scenario(loaded, output=tmp_path / "r.nc")
    msg = str(info.value)
    assert "component 'sink'" in msg and "t = " in msg and cause in msg
    assert f"(components.sink: {tmp_path / 'chain.toml'}:17)" in msg  # where the failing component is set
    with xr.open_dataset(tmp_path / "r.nc") as ds:
        assert ds.attrs["status"] == "incomplete"
        assert cause in ds.attrs["status_reason"]
        assert float(ds["time"][-1]) <= 4.0  # what was recorded before the failure
        assert ds.sizes["time"] >= 4
        assert np.isfinite(ds["sink.y"].values).all()


def test_coupling_errors_stop_before_any_file_is_written(tmp_path):
    text = probe_chain(tmp_path).read_text().replace('to = "sink.u"', 'to = "sink.v"')
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(CosimError, match=r"bad\.toml:\d+: src\.power_W -> sink\.v: sink\.v does not exist \(sink's inputs: u\)"):
        run_scenario(load_scenario(tmp_path / "bad.toml"), output=tmp_path / "r.nc")
    assert not (tmp_path / "r.nc").exists()


def test_overwrite_replaces_the_old_file_only_with_a_result(tmp_path):
    """--overwrite writes beside the target: a run that fails in its first step leaves the
    old file as it was; one that fails later replaces it with its incomplete records; no
    temporary file is left either way."""
    target = tmp_path / "r.nc"
    target.write_bytes(b"precious")
    early = load_scenario(probe_chain(tmp_path, extra="fail_at_s = 0.0", name="early.toml"))
    with pytest.raises(CosimError, match="deliberate failure") as info:
        run_scenario(early, output=target, overwrite=True)
    assert f"no records written; {target} left as it was" in str(info.value)
    assert target.read_bytes() == b"precious"
    later = load_scenario(probe_chain(tmp_path, extra="fail_at_s = 5.0", name="later.toml"))
    with pytest.raises(CosimError, match=r"6 records kept in .*r\.nc \(status incomplete\)"):
        run_scenario(later, output=target, overwrite=True)
    with xr.open_dataset(target) as ds:
        assert ds.attrs["status"] == "incomplete" and ds["time"].values.tolist() == [0, 1, 2, 3, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".toml") == ["r.nc"]


def test_a_file_created_between_the_check_and_the_create_is_refused(tmp_path, monkeypatch):
    """The existence check and the creation are one step (O_EXCL): a run that finds no file
    but loses the race to another run is refused, and the other run's file is untouched."""
    from pathlib import Path

    loaded = load_scenario(probe_chain(tmp_path))
    target = tmp_path / "r.nc"
    run_scenario(loaded, output=target)
    before = target.read_bytes()
    monkeypatch.setattr(Path, "exists", lambda self: False)  # the other run creates it just after our check
    with pytest.raises(ResultExistsError, match="exists: another run created it at the same moment"):
        run_scenario(loaded, output=target)
    assert target.read_bytes() == before


def test_the_default_block_of_records_is_about_4_mb():
    """Unset ``flush_every_records``: blocks of about 4 MB, within 100 to 1000 records (each
    write costs per variable whatever its length; a block must not hold gigabytes either)."""
    from cosim.recorder import RecordedVariable
    from cosim.run import DEFAULT_BLOCK_BYTES, default_flush_every

    def layers(n_cells, n_arrays=9, n_scalars=45):
        return ([RecordedVariable(f"s{k}", units="1", long_name="s") for k in range(n_scalars)]
                + [RecordedVariable(f"a{k}", units="1", long_name="a", shape=(n_cells,), dims=("cell",))
                   for k in range(n_arrays)])

    assert default_flush_every(layers(2)) == 1000  # the flagship's variables with a 2-cell pack
    record, n = 8 * (45 + 9 * 384), default_flush_every(layers(384))  # the flagship: 28 kB per record
    assert n * record <= DEFAULT_BLOCK_BYTES < (n + 1) * record
    assert default_flush_every(layers(16384)) == 100  # 1.2 MB per record: the smallest block
    assert default_flush_every([]) == 1000
