"""cosim plot: the quick-look figure of a run (the flagship) and of a sweep's kpi.nc."""

import struct

import pytest
import xarray as xr

from cosim.cli import main
from cosim.plot import kpi_figure, run_figure
from cosim.sweep import Dimension, plan_sweep, run_sweep
from sweep_scenarios import COOLANT, INITIAL, SCENARIOS, small_pack


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def flagship_result(tmp_path_factory):
    """The flagship scenario (384 unit cells, thermal network) over its first 60 s."""
    tmp = tmp_path_factory.mktemp("flagship")
    scenario = tmp / "flagship_60s.toml"
    scenario.write_text(f'extends = "{SCENARIOS / "flagship_bev_wltc3b.toml"}"\n[simulation]\nstop_time_s = 60\n')
    result = tmp / "flagship.nc"
    assert main(["run", str(scenario), "-o", str(result), "-q", "--plot"]) == 0
    return result


def test_cosim_run_plot_writes_the_figure_next_to_the_flagship_result(flagship_result):
    png = flagship_result.with_suffix(".png")
    width, height = _png_size(png)
    assert width > 1000 and height > 600


def test_the_run_figure_has_the_expected_axes(flagship_result, tmp_path):
    with xr.open_dataset(flagship_result) as ds:
        fig = run_figure(ds)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["vehicle speed", "pack power", "voltage", "state of charge", "unit-cell temperature",
                      "unit-cell voltage spread"]
    by_title = {ax.get_title(): ax for ax in fig.axes}
    assert by_title["vehicle speed"].get_ylabel() == "speed [km/h]"
    assert [line.get_label() for line in by_title["vehicle speed"].get_lines()] == ["target", "achieved"]
    assert {line.get_label() for line in by_title["pack power"].get_lines()} >= {
        "delivered", "available (discharge)", "available (charge)"}
    heat_map = by_title["unit-cell temperature"]
    assert heat_map.get_ylabel() == "unit cell (string x stack x layer)"
    assert heat_map.get_ylim() == (0.0, 384.0)  # every unit cell of the flagship, one row each
    assert any(ax.get_ylabel() == "unit-cell voltage [V]" for ax in fig.axes)  # min/max layer on a twin axis
    # and through the command line, to a chosen file
    out = tmp_path / "fig" / "flagship.png"
    assert main(["plot", str(flagship_result), "-o", str(out)]) == 0
    _png_size(out)


def test_cosim_plot_draws_the_kpis_against_the_varied_keys(tmp_path, capsys):
    scenario = small_pack(tmp_path, stop_s=10.0)
    plan = plan_sweep(scenario, [Dimension(COOLANT, (283.15, 298.15, 308.15), {INITIAL: (283.15, 298.15, 308.15)}),
                                 Dimension("components.pack.initial_soc", (0.9, 0.6))])
    outcome = run_sweep(plan, tmp_path / "sweep", workers=2)
    assert main(["plot", str(outcome.kpi_path)]) == 0
    png = outcome.kpi_path.with_suffix(".png")
    assert capsys.readouterr().out.strip() == str(png)
    _png_size(png)
    with xr.open_dataset(outcome.kpi_path) as ds:
        fig = kpi_figure(ds)
        kpis = [n for n, v in ds.data_vars.items() if v.dtype.kind == "f"]
    assert [ax.get_title() for ax in fig.axes] == kpis
    assert "final_soc" in kpis and "max_layer_temperature_K" in kpis
    for ax in fig.axes:
        assert ax.get_xlabel() == "coolant_temperature_K [K]"
        assert [line.get_label() for line in ax.get_lines()] == ["initial_soc = 0.9", "initial_soc = 0.6"]
        assert len(ax.get_lines()[0].get_xdata()) == 3
    soc = {ax.get_title(): ax for ax in fig.axes}["final_soc"]
    assert soc.get_ylabel() == "[1]"


def test_a_file_that_is_not_a_dataset_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "x.nc"
    bad.write_text("not netCDF")
    assert main(["plot", str(bad)]) == 1
    assert "cannot read" in capsys.readouterr().err
