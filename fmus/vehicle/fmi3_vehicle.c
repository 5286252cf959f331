/* FMI 3.0 co-simulation wrapper of the reference vehicle model (vehicle_model.h).
 *
 * vehicle_config.h is written by cosim.fmu.vehicle_fmu at build time: the instantiation
 * token and the start values of the parameters (vc_defaults), the same numbers as
 * modelDescription.xml. The drive cycle is the resource cycle.csv. Arrays of the model
 * (motor efficiency curve, energy per distance of the cycle phases) are Float64 arrays of
 * fixed size, addressed by their base value reference (see vehicle_model.h).
 *
 * What this FMU does not offer (model exchange, scheduled execution, event mode, clocks,
 * derivatives) is in fmus/common/fmi3_not_offered.c; getters and setters of the types
 * without variables log an error and return fmi3Error. What FMI 2.0 does alike is in fmu_common.c; this file keeps
 * FMI 3.0's own: the log callback, the resource path, the API's signatures and the stubs. */
#include <stdlib.h>
#include <string.h>

#include "fmi3Functions.h"
#include "fmi3_not_offered.h"
#include "fmu_common.h"
#include "vehicle_model.h"
#include "vehicle_config.h"

#define PATH_LEN 4096

FC_STATUSES_MATCH(fmi3); /* the statuses fmu_common returns are fmi3Status values */

typedef struct {
    FcCore core; /* first: an fmi3Instance is an FcCore */
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback log;
} Instance;

/* -- logging ------------------------------------------------------------------------------- */

static void sink(const FcCore *core, int status, const char *category, const char *msg)
{
    const Instance *inst = (const Instance *)core;
    if (inst->log != NULL) inst->log(inst->env, (fmi3Status)status, category, msg);
}

/* an error before there is an instance */
static void instantiation_error(fmi3InstanceEnvironment env, fmi3LogMessageCallback logMessage, const char *msg)
{
    if (logMessage != NULL) logMessage(env, fmi3Error, FC_CATEGORY[FC_CAT_ERROR], msg);
}

fmi3Status fmi3_not_offered(fmi3Instance instance, const char *fn)
{
    FC_LOG_ERROR(FC_CORE(instance), "%s: not supported by this FMU (co-simulation without event mode)", fn);
    return fmi3Error;
}

/* -- common functions --------------------------------------------------------------------------- */

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[])
{
    return (fmi3Status)fc_set_debug_logging(FC_CORE(instance), "fmi3SetDebugLogging", loggingOn, nCategories,
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
    char path[PATH_LEN];
    size_t n;
    (void)instanceName; (void)visible; (void)earlyReturnAllowed; (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    if (eventModeUsed) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: this FMU has no event mode (hasEventMode = false)");
        return NULL;
    }
    if (instantiationToken == NULL || strcmp(instantiationToken, VC_INSTANTIATION_TOKEN) != 0) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: the instantiation token does not match this FMU's "
                            "modelDescription.xml (" VC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (resourcePath == NULL || (n = strlen(resourcePath)) == 0 || n + 16 > sizeof path) {
        instantiation_error(instanceEnvironment, logMessage,
                            "fmi3InstantiateCoSimulation: no resource path (the drive cycle is resources/cycle.csv)");
        return NULL;
    }
    memcpy(path, resourcePath, n + 1);
    if (path[n - 1] != '/' && path[n - 1] != '\\') path[n++] = '/';
    memcpy(path + n, "cycle.csv", sizeof "cycle.csv");
    inst = (Instance *)calloc(1, sizeof *inst);
    if (inst == NULL) {
        instantiation_error(instanceEnvironment, logMessage, "fmi3InstantiateCoSimulation: out of memory");
        return NULL;
    }
    inst->env = instanceEnvironment;
    inst->log = logMessage;
    inst->core.fmi_version = 3;
    inst->core.sink = sink;
    inst->core.mem_alloc = calloc;
    inst->core.mem_free = free;
    inst->core.defaults = vc_defaults;
    if (fc_instantiate(&inst->core, "fmi3InstantiateCoSimulation", path, loggingOn, VC_MODEL_NAME) != 0) {
        fc_free_instance(&inst->core);
        return NULL;
    }
    return inst;
}

void fmi3FreeInstance(fmi3Instance instance) { fc_free_instance(FC_CORE(instance)); }

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime)
{
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    return (fmi3Status)fc_enter_initialization(FC_CORE(instance), "fmi3EnterInitializationMode", startTime);
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance)
{
    return (fmi3Status)fc_exit_initialization(FC_CORE(instance), "fmi3ExitInitializationMode");
}

fmi3Status fmi3Terminate(fmi3Instance instance) { return (fmi3Status)fc_terminate(FC_CORE(instance), "fmi3Terminate"); }

fmi3Status fmi3Reset(fmi3Instance instance) { return (fmi3Status)fc_reset(FC_CORE(instance)); }

/* -- values --------------------------------------------------------------------------------------- */

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Float64 values[], size_t nValues)
{
    return (fmi3Status)fc_get_float64(FC_CORE(instance), "fmi3GetFloat64", valueReferences, nValueReferences, values,
                                      nValues, 0);
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Float64 values[], size_t nValues)
{
    return (fmi3Status)fc_set_float64(FC_CORE(instance), "fmi3SetFloat64", valueReferences, nValueReferences, values,
                                      nValues, 0);
}

/* the Boolean getter and setter take one value per value reference (no Boolean arrays) */
static int one_value_each(fmi3Instance instance, const char *fn, size_t nValueReferences, size_t nValues)
{
    if (instance == NULL) return 0;
    if (nValues == nValueReferences) return 1;
    FC_LOG_ERROR(FC_CORE(instance), "%s: nValues must equal nValueReferences", fn);
    return 0;
}

fmi3Status fmi3GetBoolean(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Boolean values[], size_t nValues)
{
    size_t i;
    if (!one_value_each(instance, "fmi3GetBoolean", nValueReferences, nValues)) return fmi3Error;
    for (i = 0; i < nValueReferences; ++i) {
        const int *forward = fc_boolean(FC_CORE(instance), "fmi3GetBoolean", valueReferences[i], 0);
        if (forward == NULL) return fmi3Error;
        values[i] = *forward ? fmi3True : fmi3False;
    }
    return fmi3OK;
}

fmi3Status fmi3SetBoolean(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Boolean values[], size_t nValues)
{
    size_t i;
    if (!one_value_each(instance, "fmi3SetBoolean", nValueReferences, nValues)) return fmi3Error;
    for (i = 0; i < nValueReferences; ++i) {
        int *forward = fc_boolean(FC_CORE(instance), "fmi3SetBoolean", valueReferences[i], 1);
        if (forward == NULL) return fmi3Error;
        *forward = values[i] ? 1 : 0;
    }
    return fmi3OK;
}

/* getters and setters of the types this FMU has no variables of */
#define NO_VARIABLES(fn, T, CONST)                                                                            \
    fmi3Status fn(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                  CONST T values[], size_t nValues)                                                           \
    {                                                                                                         \
        (void)values; (void)nValues;                                                                          \
        return (fmi3Status)fc_no_variables(FC_CORE(instance), #fn, valueReferences, nValueReferences, NULL);  \
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
NO_VARIABLES(fmi3GetUInt64, fmi3UInt64, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3GetString, fmi3String, EMPTY_QUALIFIER)
NO_VARIABLES(fmi3SetFloat32, fmi3Float32, const)
NO_VARIABLES(fmi3SetInt8, fmi3Int8, const)
NO_VARIABLES(fmi3SetUInt8, fmi3UInt8, const)
NO_VARIABLES(fmi3SetInt16, fmi3Int16, const)
NO_VARIABLES(fmi3SetUInt16, fmi3UInt16, const)
NO_VARIABLES(fmi3SetInt32, fmi3Int32, const)
NO_VARIABLES(fmi3SetUInt32, fmi3UInt32, const)
NO_VARIABLES(fmi3SetInt64, fmi3Int64, const)
NO_VARIABLES(fmi3SetUInt64, fmi3UInt64, const)
NO_VARIABLES(fmi3SetString, fmi3String, const)

/* -- FMU state ------------------------------------------------------------------------------------ */

fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState *FMUState)
{
    return (fmi3Status)fc_get_state(FC_CORE(instance), "fmi3GetFMUState", FMUState);
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState)
{
    return (fmi3Status)fc_set_state(FC_CORE(instance), "fmi3SetFMUState", FMUState);
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *FMUState)
{
    return (fmi3Status)fc_free_state(FC_CORE(instance), FMUState);
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t *size)
{
    (void)FMUState;
    return (fmi3Status)fc_serialized_state_size(FC_CORE(instance), size);
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[], size_t size)
{
    return (fmi3Status)fc_serialize_state(FC_CORE(instance), "fmi3SerializeFMUState", FMUState, serializedState, size);
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState *FMUState)
{
    return (fmi3Status)fc_deserialize_state(FC_CORE(instance), "fmi3DeserializeFMUState", serializedState, size,
                                            FMUState);
}

/* -- co-simulation ---------------------------------------------------------------------------------- */

fmi3Status fmi3EnterStepMode(fmi3Instance instance)
{
    /* already in step mode after initialization */
    return fc_in_phase(FC_CORE(instance), FC_PHASE_STEP, "fmi3EnterStepMode", "only allowed after initialization")
               ? fmi3OK
               : fmi3Error;
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime)
{
    (void)noSetFMUStatePriorToCurrentPoint;
    if (instance == NULL) return fmi3Error;
    if (eventHandlingNeeded != NULL) *eventHandlingNeeded = fmi3False;
    if (terminateSimulation != NULL) *terminateSimulation = fmi3False;
    if (earlyReturn != NULL) *earlyReturn = fmi3False;
    return (fmi3Status)fc_do_step(FC_CORE(instance), "fmi3DoStep", currentCommunicationPoint, communicationStepSize,
                                  lastSuccessfulTime);
}
