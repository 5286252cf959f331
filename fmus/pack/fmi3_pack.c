/* FMI 3.0 co-simulation wrapper of the pack FMU (pack_model.h through pack_fmu.h).
 *
 * pack_config.h is written by cosim.fmu.pack_fmu at export time: the instantiation token
 * and the start values of the inputs and parameters, the same numbers as
 * modelDescription.xml. The pack's data is the resource pack.dat. The per-layer outputs are
 * Float64 arrays whose dimensions are the UInt64 structural parameters string, stack and
 * layer (pack_fmu.h).
 *
 * What this FMU does not offer (model exchange, scheduled execution, event mode, clocks,
 * derivatives) is in fmus/common/fmi3_not_offered.c; getters and setters of the types
 * without variables log an error and return fmi3Error. What FMI 2.0 does alike is in pack_fmu.c; this file keeps
 * FMI 3.0's own: the log callback, the resource path, the API's signatures and the stubs. */
#include <stdlib.h>
#include <string.h>

#include "fmi3Functions.h"
#include "fmi3_not_offered.h"
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

fmi3Status fmi3_not_offered(fmi3Instance instance, const char *fn)
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
