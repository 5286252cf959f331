"""The notebooks in notebooks/ run from top to bottom (small settings: COSIM_NOTEBOOK_QUICK=1),
each on the results it produces itself."""

import shutil
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_the_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["flagship_postprocessing.ipynb", "thickness_study_fixed_volume.ipynb",
                                           "vehicle_fmu_import.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_without_error(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    if path.name == "vehicle_fmu_import.ipynb" and shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the vehicle FMU the notebook imports", pytrace=False)
    monkeypatch.setenv("COSIM_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("COSIM_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend shows the figures
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs are kept out of git"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError with the cell and its traceback
    nbformat.write(nb, tmp_path / path.name)  # executed, for a look when a test fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type in ("display_data", "execute_result") and "image/png" in o.get("data", {})]
    assert images, "the notebook draws its figures"
