import shutil

import pytest

import doubles


@pytest.fixture(autouse=True)
def _journal():
    """Every test starts with an empty call journal and the test doubles registered."""
    doubles.register_doubles()
    doubles.JOURNAL.clear()
    yield
    doubles.JOURNAL.clear()


@pytest.fixture(scope="session")
def test_fmus(tmp_path_factory):
    """The C test-fixture FMUs of tests/fmus, compiled once per session: name -> .fmu path."""
    from cosim.fmu.build import FmuBuildError
    from fmu_fixtures import build_test_fmus

    if shutil.which("gcc") is None:
        pytest.fail("gcc is required to build the test FMUs in tests/fmus but was not found on PATH",
                    pytrace=False)
    try:
        return build_test_fmus(tmp_path_factory.mktemp("fmus"))
    except FmuBuildError as exc:
        pytest.fail(f"building the test FMUs failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def native_flagship(tmp_path_factory):
    """The shipped flagship run once per session (native components): the dataset's path, for
    the runs with our FMUs in its place (test_fmu_flagship.py, test_pack_fmu_export.py)."""
    from pathlib import Path

    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "flagship_bev_wltc3b.toml"
    out = tmp_path_factory.mktemp("flagship_native") / "native.nc"
    return run_scenario(load_scenario(scenario), output=out).path
