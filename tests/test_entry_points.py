"""Component types that other packages register through the ``cosim.components`` entry-point
group, and the entry points cosim itself installs.

A plugin is a distribution on the path whose metadata declares
``[cosim.components] name = module:Class``; here one is written into ``tmp_path`` (a
``.dist-info`` folder beside its module, which is what pip installs) and put on the path,
so ``importlib.metadata`` finds it as it finds any installed distribution.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import xarray as xr

import cosim
from cosim.components import registry

PLUGIN = '''
from pydantic import Field

from cosim.components import Causality, Component, ComponentConfig, Port


class RampConfig(ComponentConfig):
    rate_W_s: float = Field(1.0, description="slope of the ramp")


class Ramp(Component):
    """y = rate * t"""

    type_name = "plugin_ramp"
    Config = RampConfig

    def _declare_ports(self):
        yield Port("power_W", Causality.OUTPUT, unit="W", long_name="ramp")

    def _initialize(self, t0):
        self.y["power_W"] = self.config.rate_W_s * t0

    def _do_step(self, t, h):
        self.y["power_W"] = self.config.rate_W_s * (t + h)
'''

SCENARIO = """
[simulation]
stop_time_s = 4
step_s = 1

[components.ramp]
type = "plugin_ramp"
rate_W_s = 2.5
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A distribution 'cosim-plugin-ramp' with one entry point in the group, on sys.path;
    the registry made to read the entry points again (and left as it was afterwards)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "cosim_plugin_ramp.py").write_text(PLUGIN)
    info = site / "cosim_plugin_ramp-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cosim-plugin-ramp\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[cosim.components]\nplugin_ramp = cosim_plugin_ramp:Ramp\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield site
    registry.unregister("plugin_ramp")
    sys.modules.pop("cosim_plugin_ramp", None)


def test_an_entry_point_of_another_distribution_is_a_component_type(plugin, tmp_path):
    (ep,) = [e for e in metadata.entry_points(group="cosim.components") if e.name == "plugin_ramp"]
    assert ep.dist.name == "cosim-plugin-ramp"
    assert "plugin_ramp" in registry.available()
    cls = registry.get("plugin_ramp")
    assert cls is ep.load() and cls.__module__ == "cosim_plugin_ramp"
    # and a scenario uses it like a built-in
    from cosim.run import run_scenario
    from cosim.scenario import load_scenario

    path = tmp_path / "ramp.toml"
    path.write_text(SCENARIO)
    out = run_scenario(load_scenario(path), output=tmp_path / "ramp.nc")
    with xr.open_dataset(out.path) as ds:
        assert ds.attrs["status"] == "complete"
        assert ds["ramp.power_W"].values.tolist() == [0.0, 2.5, 5.0, 7.5, 10.0]


def test_the_cosim_command_finds_the_plugin(plugin, tmp_path):
    """The installed `cosim` command (a fresh process: the entry points read from the
    environment, PYTHONPATH holding the plugin) validates and runs a scenario of its type."""
    path = tmp_path / "ramp.toml"
    path.write_text(SCENARIO)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")])}
    exe = str(Path(sys.executable).with_name("cosim"))
    r = subprocess.run([exe, "validate", str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and ": ok" in r.stdout, r.stderr
    r = subprocess.run([exe, "schema"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "plugin_ramp" in r.stdout and "rate_W_s" in r.stdout
    r = subprocess.run([exe, "validate", str(path)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode == 1 and "unknown component type 'plugin_ramp'" in r.stderr


def test_cosims_own_entry_points_resolve_to_what_it_uses():
    """The installed distribution's console script is cosim.cli:main; any cosim.components
    entry point in this environment resolves to the class the registry hands out."""
    dist = metadata.distribution("cosim")
    assert dist.version == cosim.__version__
    scripts = {ep.name: ep for ep in dist.entry_points if ep.group == "console_scripts"}
    from cosim.cli import main

    assert scripts["cosim"].value == "cosim.cli:main" and scripts["cosim"].load() is main
    for ep in metadata.entry_points(group="cosim.components"):
        cls = ep.load()
        assert registry.get(cls.type_name) is cls
    # the built-ins register on import, under the type names the README lists
    assert {"profile", "cell", "pack", "thermal", "fmu", "vehicle"} <= set(registry.available())
