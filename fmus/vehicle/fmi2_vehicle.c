/* FMI 2.0 co-simulation wrapper of the reference vehicle model (vehicle_model.h).
 *
 * vehicle_config.h is written by cosim.fmu.vehicle_fmu at build time: the GUID and the
 * start values of the parameters (vc_defaults), the same numbers as modelDescription.xml.
 * The drive cycle is the resource cycle.csv. Arrays of the model (motor efficiency curve,
 * energy per distance of the cycle phases) are numbered scalars here: value reference
 * base + 1 ... base + n (see vehicle_model.h). What FMI 3.0 does alike is in fmu_common.c,
 * what cosim's FMI 2.0 wrappers share (the logger call, the resource URI, what they do not
 * offer) in fmus/common/fmi2_shared.c; this file keeps the vehicle's FMI 2.0 API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "fmi2_shared.h"
#include "fmu_common.h"
#include "vehicle_model.h"
#include "vehicle_config.h"

#define PATH_LEN 4096

FC_STATUSES_MATCH(fmi2); /* the statuses fmu_common returns are fmi2Status values */

typedef struct {
    FcCore core; /* first: an fmi2Component is an FcCore */
    fmi2CallbackFunctions cb;
    char *name;
} Instance;

/* -- logging -------------------------------------------------------------------------------- */

static void sink(const FcCore *core, int status, const char *category, const char *msg)
{
    const Instance *inst = (const Instance *)core;
    fmi2_log(&inst->cb, inst->name, (fmi2Status)status, category, msg);
}

/* an error before there is an instance */
static void instantiation_error(const fmi2CallbackFunctions *cb, const char *name, const char *msg)
{
    fmi2_log(cb, name ? name : "vehicle", fmi2Error, FC_CATEGORY[FC_CAT_ERROR], msg);
}

/* -- helpers ------------------------------------------------------------------------------ */

void fmi2_not_offered(fmi2Component c, const char *fn, const char *why)
{
    FC_LOG_ERROR(FC_CORE(c), "%s: %s", fn, why);
}

/* -- common functions ----------------------------------------------------------------------- */

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories, const fmi2String categories[])
{
    return (fmi2Status)fc_set_debug_logging(FC_CORE(c), "fmi2SetDebugLogging", loggingOn, nCategories, categories);
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn)
{
    void *(*mem_alloc)(size_t, size_t) = calloc;
    void (*mem_free)(void *) = free;
    Instance *inst;
    char path[PATH_LEN];
    (void)visible;
    if (functions != NULL && functions->allocateMemory != NULL) mem_alloc = functions->allocateMemory;
    if (functions != NULL && functions->freeMemory != NULL) mem_free = functions->freeMemory;
    if (fmuType != fmi2CoSimulation) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: this FMU supports co-simulation only");
        return NULL;
    }
    if (fmuGUID == NULL || strcmp(fmuGUID, VC_INSTANTIATION_TOKEN) != 0) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: the GUID does not match this FMU's "
                                                     "modelDescription.xml (" VC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (fmi2_resource_path(fmuResourceLocation, "cycle.csv", path, sizeof path) != 0) {
        char msg[PATH_LEN + 128];
        snprintf(msg, sizeof msg, "fmi2Instantiate: cannot use the resource location '%s' (a file:// URI is needed)",
                 fmuResourceLocation ? fmuResourceLocation : "(null)");
        instantiation_error(functions, instanceName, msg);
        return NULL;
    }
    inst = (Instance *)mem_alloc(1, sizeof *inst);
    if (inst == NULL) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: out of memory");
        return NULL;
    }
    memset(inst, 0, sizeof *inst);
    if (functions != NULL) inst->cb = *functions;
    if (instanceName == NULL) instanceName = "vehicle";
    inst->name = (char *)mem_alloc(1, strlen(instanceName) + 1);
    if (inst->name == NULL) {
        mem_free(inst);
        return NULL;
    }
    strcpy(inst->name, instanceName);
    inst->core.fmi_version = 2;
    inst->core.sink = sink;
    inst->core.mem_alloc = mem_alloc;
    inst->core.mem_free = mem_free;
    inst->core.defaults = vc_defaults;
    if (fc_instantiate(&inst->core, "fmi2Instantiate", path, loggingOn, VC_MODEL_NAME) != 0) {
        mem_free(inst->name);
        fc_free_instance(&inst->core);
        return NULL;
    }
    return inst;
}

void fmi2FreeInstance(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return;
    inst->core.mem_free(inst->name);
    fc_free_instance(&inst->core);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime)
{
    FcCore *core = FC_CORE(c);
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (!fc_in_phase(core, FC_PHASE_INSTANTIATED, "fmi2SetupExperiment", "only allowed after instantiation"))
        return fmi2Error;
    core->s.start_time = startTime;
    core->s.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c)
{
    /* the start time is the one of fmi2SetupExperiment */
    FcCore *core = FC_CORE(c);
    if (core == NULL) return fmi2Error;
    return (fmi2Status)fc_enter_initialization(core, "fmi2EnterInitializationMode", core->s.start_time);
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c)
{
    return (fmi2Status)fc_exit_initialization(FC_CORE(c), "fmi2ExitInitializationMode");
}

fmi2Status fmi2Terminate(fmi2Component c) { return (fmi2Status)fc_terminate(FC_CORE(c), "fmi2Terminate"); }

fmi2Status fmi2Reset(fmi2Component c) { return (fmi2Status)fc_reset(FC_CORE(c)); }

/* -- values ------------------------------------------------------------------------------- */

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[])
{
    if (nvr > 0 && (vr == NULL || value == NULL)) return fmi2Error;
    return (fmi2Status)fc_get_float64(FC_CORE(c), "fmi2GetReal", vr, nvr, value, nvr, 1);
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[])
{
    if (nvr > 0 && (vr == NULL || value == NULL)) return fmi2Error;
    return (fmi2Status)fc_set_float64(FC_CORE(c), "fmi2SetReal", vr, nvr, value, nvr, 1);
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[])
{
    size_t i;
    if (c == NULL) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        const int *forward = fc_boolean(FC_CORE(c), "fmi2GetBoolean", vr[i], 0);
        if (forward == NULL) return fmi2Error;
        value[i] = *forward ? fmi2True : fmi2False;
    }
    return fmi2OK;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[])
{
    size_t i;
    if (c == NULL) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        int *forward = fc_boolean(FC_CORE(c), "fmi2SetBoolean", vr[i], 1);
        if (forward == NULL) return fmi2Error;
        *forward = value[i] ? 1 : 0;
    }
    return fmi2OK;
}

/* getters and setters of the types this FMU has no variables of */
#define NO_VARIABLES(fn, T, type)                                                        \
    fmi2Status fn(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, T value[]) \
    {                                                                                    \
        (void)value;                                                                     \
        return (fmi2Status)fc_no_variables(FC_CORE(c), #fn, vr, nvr, type);              \
    }

NO_VARIABLES(fmi2GetInteger, fmi2Integer, "Integer")
NO_VARIABLES(fmi2GetString, fmi2String, "String")
NO_VARIABLES(fmi2SetInteger, const fmi2Integer, "Integer")
NO_VARIABLES(fmi2SetString, const fmi2String, "String")

/* -- FMU state ------------------------------------------------------------------------------ */

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    return (fmi2Status)fc_get_state(FC_CORE(c), "fmi2GetFMUstate", FMUstate);
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate FMUstate)
{
    return (fmi2Status)fc_set_state(FC_CORE(c), "fmi2SetFMUstate", FMUstate);
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    return (fmi2Status)fc_free_state(FC_CORE(c), FMUstate);
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate FMUstate, size_t *size)
{
    (void)FMUstate;
    return (fmi2Status)fc_serialized_state_size(FC_CORE(c), size);
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate FMUstate, fmi2Byte serializedState[], size_t size)
{
    return (fmi2Status)fc_serialize_state(FC_CORE(c), "fmi2SerializeFMUstate", FMUstate, serializedState, size);
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate *FMUstate)
{
    return (fmi2Status)fc_deserialize_state(FC_CORE(c), "fmi2DeSerializeFMUstate", serializedState, size, FMUstate);
}

/* -- co-simulation ---------------------------------------------------------------------------- */

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint)
{
    (void)noSetFMUStatePriorToCurrentPoint;
    return (fmi2Status)fc_do_step(FC_CORE(c), "fmi2DoStep", currentCommunicationPoint, communicationStepSize, NULL);
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value)
{
    if (c == NULL || value == NULL) return fmi2Error;
    if (s == fmi2LastSuccessfulTime) {
        *value = FC_CORE(c)->s.time;
        return fmi2OK;
    }
    return fmi2Discard;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *value)
{
    if (c == NULL || value == NULL) return fmi2Error;
    if (s == fmi2Terminated) {
        *value = fmi2False;
        return fmi2OK;
    }
    return fmi2Discard;
}
