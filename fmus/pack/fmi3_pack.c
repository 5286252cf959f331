/* FMI 3.0 co-simulation wrapper of the pack FMU (pack_model.h through pack_fmu.h).
 *
 * pack_config.h is written by cosim.fmu.pack_fmu at export time: the instantiation token
 * and the start values of the inputs and parameters, the same numbers as
 * modelDescription.xml. The pack's data is the resource pack.dat. The per-layer outputs are
 * Float64 arrays whose dimensions are the UInt64 structural parameters string, stack and
 * layer (pack_fmu.h).
 *
 * Every function of fmi3Functions.h is present; what this FMU does not offer (model
 * exchange, scheduled execution, event mode, clocks, derivatives, other types) logs an
 * error and returns fmi3Error. What FMI 2.0 does alike is in pack_fmu.c; this file keeps
 * FMI 3.0's own: the log callback, the resource path, the API's signatures and the stubs. */
#include <stdlib.h>
#include <string.h>

#include "fmi3Functions.h"
#include "pack_fmu.h"
#include "pack_config.h"


PF_STATUSES_MATCH(fmi3); /* the statuses fmu_common returns are fmi3Status values */

typedef struct {
    PfCore core; /* first: an fmi3Instance is a PfCore */
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback log;
} Instance;

/* -- logging ------------------------------------------------------------------------------- */

static void sink(const PfCore *core, int status, const char *category, const char *msg)
{
    const Instance *inst = (const Instance *)core;
    if (inst->log != NULL) inst->log(inst->env, (fmi3Status)status, category, msg);
}

/* an error before there is an instance */
static void instantiation_error(fmi3InstanceEnvironment env, fmi3LogMessageCallback logMessage, const char *msg)
{
    if (logMessage != NULL) logMessage(env, fmi3Error, PF_CATEGORY[PF_CAT_ERROR], msg);
}

static fmi3Status unsupported(fmi3Instance instance, const char *fn)
{
    PF_LOG_ERROR(PF_CORE(instance), "%s: not supported by this FMU (co-simulation without event mode)", fn);
    return fmi3Error;
}

/* -- common functions --------------------------------------------------------------------------- */

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[])
{
    return (fmi3Status)pf_set_debug_logging(PF_CORE(instance), "fmi3SetDebugLogging", loggingOn, nCategories,
                                            categories);
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                          fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage)
{
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    instantiation_error(instanceEnvironment, logMessage,
                        "fmi3InstantiateModelExchange: this FMU supports co-simulation only");
    return NULL;
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken,
                                         fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                         fmi3Boolean eventModeUsed, fmi3Boolean earlyReturnAllowed,
                                         const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables,
                                         fmi3InstanceEnvironment instanceEnvironment,
                                         fmi3LogMessageCallback logMessage,
                                         fmi3IntermediateUpdateCallback intermediateUpdate)
{
    Instance *inst;
    (void)instanceName; (void)visible; (void)earlyReturnAllowed; (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    if (eventModeUsed) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: this FMU has no event mode (hasEventMode = false)");
        return NULL;
    }
    if (instantiationToken == NULL || strcmp(instantiationToken, PC_INSTANTIATION_TOKEN) != 0) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: the instantiation token does not match this FMU's "
                            "modelDescription.xml (" PC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (resourcePath == NULL || strlen(resourcePath) == 0) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: no resource path (the pack's data is resources/pack.dat)");
        return NULL;
    }
    inst = (Instance *)calloc(1, sizeof *inst);
    if (inst == NULL) {
        instantiation_error(instanceEnvironment, logMessage, "fmi3InstantiateCoSimulation: out of memory");
        return NULL;
    }
    inst->env = instanceEnvironment;
    inst->log = logMessage;
    inst->core.fmi_version = 3;
    inst->core.sink = sink;
    pc_defaults(&inst->core.defaults);
    if (pf_instantiate(&inst->core, "fmi3InstantiateCoSimulation", resourcePath, loggingOn) != 0) {
        fmi3FreeInstance(inst);
        return NULL;
    }
    return inst;
}

fmi3Instance fmi3InstantiateScheduledExecution(fmi3String instanceName, fmi3String instantiationToken,
                                               fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                               fmi3InstanceEnvironment instanceEnvironment,
                                               fmi3LogMessageCallback logMessage, fmi3ClockUpdateCallback clockUpdate,
                                               fmi3LockPreemptionCallback lockPreemption,
                                               fmi3UnlockPreemptionCallback unlockPreemption)
{
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    (void)clockUpdate; (void)lockPreemption; (void)unlockPreemption;
    instantiation_error(instanceEnvironment, logMessage,
                        "fmi3InstantiateScheduledExecution: this FMU supports co-simulation only");
    return NULL;
}

void fmi3FreeInstance(fmi3Instance instance)
{
    if (instance == NULL) return;
    pf_free(PF_CORE(instance));
    free(instance);
}

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime)
{
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    return (fmi3Status)pf_enter_initialization(PF_CORE(instance), "fmi3EnterInitializationMode", startTime);
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance)
{
    return (fmi3Status)pf_exit_initialization(PF_CORE(instance), "fmi3ExitInitializationMode");
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) { return unsupported(instance, "fmi3EnterEventMode"); }

fmi3Status fmi3Terminate(fmi3Instance instance) { return (fmi3Status)pf_terminate(PF_CORE(instance), "fmi3Terminate"); }

fmi3Status fmi3Reset(fmi3Instance instance) { return (fmi3Status)pf_reset(PF_CORE(instance)); }

/* -- values --------------------------------------------------------------------------------------- */

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Float64 values[], size_t nValues)
{
    return (fmi3Status)pf_get_float64(PF_CORE(instance), "fmi3GetFloat64", valueReferences, nValueReferences, values,
                                      nValues, 0);
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Float64 values[], size_t nValues)
{
    return (fmi3Status)pf_set_float64(PF_CORE(instance), "fmi3SetFloat64", valueReferences, nValueReferences, values,
                                      nValues, 0);
}

fmi3Status fmi3GetUInt64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         fmi3UInt64 values[], size_t nValues)
{
    return (fmi3Status)pf_get_uint64(PF_CORE(instance), "fmi3GetUInt64", valueReferences, nValueReferences,
                                     (unsigned long long *)values, nValues);
}

fmi3Status fmi3SetUInt64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         const fmi3UInt64 values[], size_t nValues)
{
    return (fmi3Status)pf_set_uint64(PF_CORE(instance), "fmi3SetUInt64", valueReferences, nValueReferences,
                                     (const unsigned long long *)values, nValues);
}

/* getters and setters of the types this FMU has no variables of */
#define NO_VARIABLES(fn, T, CONST)                                                                            \
    fmi3Status fn(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                  CONST T values[], size_t nValues)                                                           \
    {                                                                                                         \
        (void)values; (void)nValues;                                                                          \
        return (fmi3Status)pf_no_variables(PF_CORE(instance), #fn, valueReferences, nValueReferences, NULL);  \
    }
#define EMPTY_QUALIFIER

NO_VARIABLES(fmi3GetFloat32, fmi3Float32, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetInt8, fmi3Int8, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetUInt8, fmi3UInt8, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetInt16, fmi3Int16, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetUInt16, fmi3UInt16, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetInt32, fmi3Int32, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetUInt32, fmi3UInt32, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetInt64, fmi3Int64, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetBoolean, fmi3Boolean, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetString, fmi3String, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3SetFloat32, fmi3Float32, const)
NO_VARIABLES(fmi3SetInt8, fmi3Int8, const)
NO_VARIABLES(fmi3SetUInt8, fmi3UInt8, const)
NO_VARIABLES(fmi3SetInt16, fmi3Int16, const)
NO_VARIABLES(fmi3SetUInt16, fmi3UInt16, const)
NO_VARIABLES(fmi3SetInt32, fmi3Int32, const)
NO_VARIABLES(fmi3SetUInt32, fmi3UInt32, const)
NO_VARIABLES(fmi3SetInt64, fmi3Int64, const)
NO_VARIABLES(fmi3SetBoolean, fmi3Boolean, const)
NO_VARIABLES(fmi3SetString, fmi3String, const)

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         size_t valueSizes[], fmi3Binary values[], size_t nValues)
{
    (void)valueReferences; (void)valueSizes; (void)values; (void)nValues;
    if (instance == NULL) return fmi3Error;
    return nValueReferences == 0 ? fmi3OK : unsupported(instance, "fmi3GetBinary");
}

fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                         const size_t valueSizes[], const fmi3Binary values[], size_t nValues)
{
    (void)valueReferences; (void)valueSizes; (void)values; (void)nValues;
    if (instance == NULL) return fmi3Error;
    return nValueReferences == 0 ? fmi3OK : unsupported(instance, "fmi3SetBinary");
}

fmi3Status fmi3GetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                        fmi3Clock values[])
{
    (void)valueReferences; (void)values;
    if (instance == NULL) return fmi3Error;
    return nValueReferences == 0 ? fmi3OK : unsupported(instance, "fmi3GetClock");
}

fmi3Status fmi3SetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                        const fmi3Clock values[])
{
    (void)valueReferences; (void)values;
    if (instance == NULL) return fmi3Error;
    return nValueReferences == 0 ? fmi3OK : unsupported(instance, "fmi3SetClock");
}

fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference valueReference,
                                               size_t *nDependencies)
{
    (void)valueReference; (void)nDependencies;
    return unsupported(instance, "fmi3GetNumberOfVariableDependencies");
}

fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent,
                                       size_t elementIndicesOfDependent[], fmi3ValueReference independents[],
                                       size_t elementIndicesOfIndependents[], fmi3DependencyKind dependencyKinds[],
                                       size_t nDependencies)
{
    (void)dependent; (void)elementIndicesOfDependent; (void)independents; (void)elementIndicesOfIndependents;
    (void)dependencyKinds; (void)nDependencies;
    return unsupported(instance, "fmi3GetVariableDependencies");
}

/* -- FMU state ------------------------------------------------------------------------------------ */

fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState *FMUState)
{
    return (fmi3Status)pf_get_state(PF_CORE(instance), "fmi3GetFMUState", FMUState);
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState)
{
    return (fmi3Status)pf_set_state(PF_CORE(instance), "fmi3SetFMUState", FMUState);
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *FMUState)
{
    return (fmi3Status)pf_free_state(PF_CORE(instance), FMUState);
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t *size)
{
    (void)FMUState;
    return (fmi3Status)pf_serialized_state_size(PF_CORE(instance), size);
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[], size_t size)
{
    return (fmi3Status)pf_serialize_state(PF_CORE(instance), "fmi3SerializeFMUState", FMUState, serializedState, size);
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState *FMUState)
{
    return (fmi3Status)pf_deserialize_state(PF_CORE(instance), "fmi3DeserializeFMUState", serializedState, size,
                                            FMUState);
}

/* -- not offered ------------------------------------------------------------------------------------ */

fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                        const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                        size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity)
{
    (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed; (void)sensitivity;
    (void)nSensitivity;
    return unsupported(instance, "fmi3GetDirectionalDerivative");
}

fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                    const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                    size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity)
{
    (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed; (void)sensitivity;
    (void)nSensitivity;
    return unsupported(instance, "fmi3GetAdjointDerivative");
}

fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance) { return unsupported(instance, "fmi3EnterConfigurationMode"); }

fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance) { return unsupported(instance, "fmi3ExitConfigurationMode"); }

fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, fmi3Float64 intervals[], fmi3IntervalQualifier qualifiers[])
{
    (void)valueReferences; (void)nValueReferences; (void)intervals; (void)qualifiers;
    return unsupported(instance, "fmi3GetIntervalDecimal");
}

fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[],
                                   fmi3IntervalQualifier qualifiers[])
{
    (void)valueReferences; (void)nValueReferences; (void)counters; (void)resolutions; (void)qualifiers;
    return unsupported(instance, "fmi3GetIntervalFraction");
}

fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, fmi3Float64 shifts[])
{
    (void)valueReferences; (void)nValueReferences; (void)shifts;
    return unsupported(instance, "fmi3GetShiftDecimal");
}

fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[])
{
    (void)valueReferences; (void)nValueReferences; (void)counters; (void)resolutions;
    return unsupported(instance, "fmi3GetShiftFraction");
}

fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, const fmi3Float64 intervals[])
{
    (void)valueReferences; (void)nValueReferences; (void)intervals;
    return unsupported(instance, "fmi3SetIntervalDecimal");
}

fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, const fmi3UInt64 counters[],
                                   const fmi3UInt64 resolutions[])
{
    (void)valueReferences; (void)nValueReferences; (void)counters; (void)resolutions;
    return unsupported(instance, "fmi3SetIntervalFraction");
}

fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, const fmi3Float64 shifts[])
{
    (void)valueReferences; (void)nValueReferences; (void)shifts;
    return unsupported(instance, "fmi3SetShiftDecimal");
}

fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, const fmi3UInt64 counters[], const fmi3UInt64 resolutions[])
{
    (void)valueReferences; (void)nValueReferences; (void)counters; (void)resolutions;
    return unsupported(instance, "fmi3SetShiftFraction");
}

fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance) { return unsupported(instance, "fmi3EvaluateDiscreteStates"); }

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean *discreteStatesNeedUpdate,
                                    fmi3Boolean *terminateSimulation, fmi3Boolean *nominalsOfContinuousStatesChanged,
                                    fmi3Boolean *valuesOfContinuousStatesChanged, fmi3Boolean *nextEventTimeDefined,
                                    fmi3Float64 *nextEventTime)
{
    (void)discreteStatesNeedUpdate; (void)terminateSimulation; (void)nominalsOfContinuousStatesChanged;
    (void)valuesOfContinuousStatesChanged; (void)nextEventTimeDefined; (void)nextEventTime;
    return unsupported(instance, "fmi3UpdateDiscreteStates");
}

fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance instance) { return unsupported(instance, "fmi3EnterContinuousTimeMode"); }

fmi3Status fmi3CompletedIntegratorStep(fmi3Instance instance, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi3Boolean *enterEventMode, fmi3Boolean *terminateSimulation)
{
    (void)noSetFMUStatePriorToCurrentPoint; (void)enterEventMode; (void)terminateSimulation;
    return unsupported(instance, "fmi3CompletedIntegratorStep");
}

fmi3Status fmi3SetTime(fmi3Instance instance, fmi3Float64 time)
{
    (void)time;
    return unsupported(instance, "fmi3SetTime");
}

fmi3Status fmi3SetContinuousStates(fmi3Instance instance, const fmi3Float64 continuousStates[],
                                   size_t nContinuousStates)
{
    (void)continuousStates; (void)nContinuousStates;
    return unsupported(instance, "fmi3SetContinuousStates");
}

fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance instance, fmi3Float64 derivatives[],
                                             size_t nContinuousStates)
{
    (void)derivatives; (void)nContinuousStates;
    return unsupported(instance, "fmi3GetContinuousStateDerivatives");
}

fmi3Status fmi3GetEventIndicators(fmi3Instance instance, fmi3Float64 eventIndicators[], size_t nEventIndicators)
{
    (void)eventIndicators; (void)nEventIndicators;
    return unsupported(instance, "fmi3GetEventIndicators");
}

fmi3Status fmi3GetContinuousStates(fmi3Instance instance, fmi3Float64 continuousStates[], size_t nContinuousStates)
{
    (void)continuousStates; (void)nContinuousStates;
    return unsupported(instance, "fmi3GetContinuousStates");
}

fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance instance, fmi3Float64 nominals[], size_t nContinuousStates)
{
    (void)nominals; (void)nContinuousStates;
    return unsupported(instance, "fmi3GetNominalsOfContinuousStates");
}

fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance instance, size_t *nEventIndicators)
{
    if (instance == NULL || nEventIndicators == NULL) return fmi3Error;
    *nEventIndicators = 0;
    return fmi3OK;
}

fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance instance, size_t *nContinuousStates)
{
    if (instance == NULL || nContinuousStates == NULL) return fmi3Error;
    *nContinuousStates = 0;
    return fmi3OK;
}

fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                    size_t nValueReferences, const fmi3Int32 orders[], fmi3Float64 values[],
                                    size_t nValues)
{
    (void)valueReferences; (void)nValueReferences; (void)orders; (void)values; (void)nValues;
    return unsupported(instance, "fmi3GetOutputDerivatives");
}

fmi3Status fmi3ActivateModelPartition(fmi3Instance instance, fmi3ValueReference clockReference,
                                      fmi3Float64 activationTime)
{
    (void)clockReference; (void)activationTime;
    return unsupported(instance, "fmi3ActivateModelPartition");
}

/* -- co-simulation ---------------------------------------------------------------------------------- */

fmi3Status fmi3EnterStepMode(fmi3Instance instance)
{
    /* already in step mode after initialization */
    return pf_in_phase(PF_CORE(instance), PF_PHASE_STEP, "fmi3EnterStepMode", "only allowed after initialization")
               ? fmi3OK
               : fmi3Error;
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime)
{
    int ended = 0, status;
    (void)noSetFMUStatePriorToCurrentPoint;
    if (instance == NULL) return fmi3Error;
    if (eventHandlingNeeded != NULL) *eventHandlingNeeded = fmi3False;
    if (earlyReturn != NULL) *earlyReturn = fmi3False;
    status = pf_do_step(PF_CORE(instance), "fmi3DoStep", currentCommunicationPoint, communicationStepSize, &ended,
                        lastSuccessfulTime);
    /* the pack ended the run: terminateSimulation (at lastSuccessfulTime) */
    if (terminateSimulation != NULL) *terminateSimulation = ended ? fmi3True : fmi3False;
    return (fmi3Status)status;
}
