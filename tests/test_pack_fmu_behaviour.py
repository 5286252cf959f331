"""The exported pack FMU as an FMI slave, on a small pack (one export per FMI version, the
Linux binary): FMU state get/set and serialization, internal sub-stepping independent of
the communication step, the parameters, and the pack's limits as the standard says (an error
is Error with the message logged; on_limit = "end" ends the run: FMI 2.0 Discard with
fmi2Terminated, FMI 3.0 terminateSimulation), driven through FMPy's low-level API."""

from __future__ import annotations


import numpy as np
import pytest

from cosim.fmu.pack_fmu import VR_INPUTS, VR_PARAMETERS, VR_SCALARS, SCALARS, export_pack_fmu

SCENARIO = """
[simulation]
stop_time_s = 60
step_s = 1

[components.pack]
type = "pack"
parameter_set = "seed_bgraphite_sno2_lmo_gel"
control = "power"
n_strings = 2
n_stacks = 2
n_layers = 3
initial_soc = 0.4
capacity_spread_rel = 0.03
spread_seed = 1
particle_shells = 8
electrolyte_volumes = [6, 4, 6]
on_limit = "{on_limit}"

[components.thermal]
type = "thermal"
n_strings = 2
n_stacks = 2
n_layers = 3
area_m2 = 0.05
layer_thickness_m = 2e-4

[[connections]]
from = "pack.layer_heat_W"
to = "thermal.heat_W"

[[connections]]
from = "thermal.layer_temperature_K"
to = "pack.layer_temperature_K"
delayed = true
"""
OUT = {name: VR_SCALARS + k for k, (name, _, _) in enumerate(SCALARS)}
SETPOINT, COOLANT_T, AMBIENT_T, COOLANT_H = range(VR_INPUTS, VR_INPUTS + 4)
INITIAL_SOC, INITIAL_T, INTERNAL_STEP = range(VR_PARAMETERS, VR_PARAMETERS + 3)


def _export(tmp_path_factory, version: int, on_limit: str = "clamp"):
    tmp = tmp_path_factory.mktemp(f"small_fmi{version}_{on_limit}")
    scenario = tmp / "small.toml"
    scenario.write_text(SCENARIO.format(on_limit=on_limit))
    return export_pack_fmu(scenario, tmp / "small.fmu", fmi_version=version, platforms=("linux64",), bundle=False).fmu


@pytest.fixture(scope="module", params=[2, 3], ids=["fmi2", "fmi3"])
def small(request, tmp_path_factory):
    return request.param, _export(tmp_path_factory, request.param)


class Slave:
    """An instance through FMPy's wrappers (log lines kept)."""

    def __init__(self, version: int, fmu, tmp, name: str = "pack", **parameters):
        from fmpy import extract, read_model_description
        from fmpy.fmi2 import FMU2Slave
        from fmpy.fmi3 import FMU3Slave

        self.version = version
        self.md = read_model_description(str(fmu))
        unzipped = extract(str(fmu), unzipdir=str(tmp / name))
        self.log: list[str] = []
        cls = FMU2Slave if version == 2 else FMU3Slave
        ident = self.md.coSimulation.modelIdentifier
        token = self.md.guid if version == 2 else self.md.instantiationToken
        self.s = cls(guid=token, unzipDirectory=unzipped, modelIdentifier=ident, instanceName=name)
        self.s.instantiate(loggingOn=True, logMessage=self._log) if version == 3 else self.s.instantiate(
            loggingOn=True, callbacks=self._callbacks())
        if version == 2:
            self.s.setupExperiment(startTime=0.0)
        self.s.enterInitializationMode() if version == 2 else self.s.enterInitializationMode(startTime=0.0)
        for vr, value in parameters.items():
            self.set(int(vr), value)
        self.s.exitInitializationMode()

    def _log(self, env, status, category, message):
        self.log.append(message.decode() if isinstance(message, bytes) else str(message))

    def _callbacks(self):
        from fmpy.fmi2 import fmi2CallbackFunctions, fmi2CallbackLoggerTYPE, fmi2CallbackAllocateMemoryTYPE, \
            fmi2CallbackFreeMemoryTYPE, calloc, free

        def logger(env, name, status, category, message):
            self.log.append(message.decode())

        cb = fmi2CallbackFunctions()
        cb.logger = fmi2CallbackLoggerTYPE(logger)
        cb.allocateMemory = fmi2CallbackAllocateMemoryTYPE(calloc)
        cb.freeMemory = fmi2CallbackFreeMemoryTYPE(free)
        self._keep = cb
        return cb

    def set(self, vr: int, value: float):
        if self.version == 2:
            self.s.setReal([vr], [value])
        else:
            self.s.setFloat64([vr], [value])

    def get(self, *vrs: int) -> np.ndarray:
        return np.array(self.s.getReal(list(vrs)) if self.version == 2 else self.s.getFloat64(list(vrs)))

    def layer_voltages(self) -> np.ndarray:
        """The per-layer voltages: an FMI 3.0 array, FMI 2.0 scalars [1,1,1] ... [2,2,3]."""
        if self.version == 3:
            return np.array(self.s.getFloat64([1_000_000], nValues=12))
        return self.get(*range(1_000_000, 1_000_012))

    def outputs(self) -> np.ndarray:
        return self.get(*OUT.values())

    def step(self, t: float, h: float):
        """(status or exception, terminated)"""
        if self.version == 2:
            self.s.doStep(currentCommunicationPoint=t, communicationStepSize=h)
            return False
        return self.s.doStep(currentCommunicationPoint=t, communicationStepSize=h)[1]


def test_state_get_set_and_serialization_repeat_steps_exactly(small, tmp_path):
    version, fmu = small
    a = Slave(version, fmu, tmp_path)
    for k in range(5):
        a.set(SETPOINT, 400.0 * (k + 1))
        a.step(float(k), 1.0)
    state = a.s.getFMUState()  # FMPy's names for both versions
    blob = a.s.serializeFMUState(state)
    runs = []
    for restore in (None, state, a.s.deserializeFMUState(blob)):
        if restore is not None:
            a.s.setFMUState(restore)
        rows = []
        for k in range(5, 12):
            a.set(SETPOINT, -300.0 if k % 2 else 2500.0)
            a.step(float(k), 1.0)
            rows.append(np.concatenate([a.outputs(), a.layer_voltages()]))
        runs.append(np.array(rows))
    np.testing.assert_array_equal(runs[1], runs[0])
    np.testing.assert_array_equal(runs[2], runs[0])
    assert np.ptp(runs[0][:, list(OUT).index("voltage_V")]) > 1e-3  # the steps did something


def test_a_long_communication_step_is_taken_in_internal_steps(small, tmp_path):
    """internal_step_s = 1: one 4 s communication step = four 1 s steps (end values exactly;
    power and heat as the means over the step)."""
    version, fmu = small
    one = Slave(version, fmu, tmp_path, "one", **{str(INTERNAL_STEP): 1.0})
    four = Slave(version, fmu, tmp_path, "four", **{str(INTERNAL_STEP): 1.0})
    one.set(SETPOINT, 1500.0)
    four.set(SETPOINT, 1500.0)
    powers = []
    for k in range(4):
        one.step(float(k), 1.0)
        powers.append(one.get(OUT["power_W"])[0])
    four.step(0.0, 4.0)
    a, b = one.outputs(), four.outputs()
    for name, k in OUT.items():
        i = list(OUT).index(name)
        if name in ("power_W", "heat_W", "heat_to_coolant_W", "power_limit_W"):
            continue
        assert b[i] == a[i], name
    assert four.get(OUT["power_W"])[0] == pytest.approx(np.mean(powers), rel=1e-14)
    coarse = Slave(version, fmu, tmp_path, "coarse", **{str(INTERNAL_STEP): 4.0})
    coarse.set(SETPOINT, 1500.0)
    coarse.step(0.0, 4.0)
    assert coarse.get(OUT["voltage_V"])[0] != a[list(OUT).index("voltage_V")]  # one 4 s step is another step


def test_the_parameters_set_the_start(small, tmp_path):
    version, fmu = small
    cold = Slave(version, fmu, tmp_path, "cold", **{str(INITIAL_SOC): 0.8, str(INITIAL_T): 263.15})
    assert cold.get(OUT["soc"])[0] == pytest.approx(0.8, abs=1e-12)
    assert cold.get(OUT["min_layer_temperature_K"], OUT["max_layer_temperature_K"]) == pytest.approx([263.15] * 2)
    warm = Slave(version, fmu, tmp_path, "warm")
    assert warm.get(OUT["soc"])[0] == pytest.approx(0.4, abs=1e-12)
    assert cold.get(OUT["available_discharge_power_W"])[0] < warm.get(OUT["available_discharge_power_W"])[0]


@pytest.mark.parametrize("version", [2, 3])
def test_on_limit_end_ends_the_run_and_stop_is_an_error(version, tmp_path, tmp_path_factory):
    from fmpy.fmi1 import FMICallException

    end = Slave(version, _export(tmp_path_factory, version, "end"), tmp_path, "end")
    # 10 % more than the power the pack holds over a 10 s pulse, for 10 s: a layer crosses its
    # lower limit within the communication step (internal steps of 1 s; measured: at 9 s)
    over = 1.1 * end.get(OUT["available_discharge_power_W"])[0]
    end.set(SETPOINT, over)
    if version == 2:
        with pytest.raises(FMICallException) as info:
            end.step(0.0, 10.0)
        assert info.value.status == 2  # fmi2Discard ...
        assert end.s.getBooleanStatus(3)  # ... with fmi2Terminated (fmi2StatusKind 3)
        reached = end.s.getRealStatus(2)  # fmi2LastSuccessfulTime (fmi2StatusKind 2)
    else:
        assert end.step(0.0, 10.0) is True  # terminateSimulation
        reached = end.get(0)[0]
    assert 0.0 < reached < 10.0
    assert any(f"ends at t = {reached:g} s" in line and "below the lower" in line for line in end.log), end.log
    stop = Slave(version, _export(tmp_path_factory, version, "stop"), tmp_path, "stop")
    stop.set(SETPOINT, over)
    with pytest.raises(FMICallException) as info:
        stop.step(0.0, 10.0)
    assert info.value.status == 3  # Error
    assert any("below the lower" in line for line in stop.log), stop.log
