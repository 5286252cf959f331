/* FMI 2.0 co-simulation wrapper of the pack FMU (pack_model.h through pack_fmu.h).
 *
 * pack_config.h is written by cosim.fmu.pack_fmu at export time: the GUID and the start
 * values of the inputs and parameters, the same numbers as modelDescription.xml. The pack's
 * data is the resource pack.dat. Arrays are numbered scalars here (pack_fmu.h). What FMI 3.0
 * does alike is in pack_fmu.c, what cosim's FMI 2.0 wrappers share (the logger call, the
 * resource URI, what they do not offer) in fmus/common/fmi2_shared.c; this file keeps the
 * pack's FMI 2.0 API: instantiation, values, state, steps and the status queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "fmi2_shared.h"
#include "pack_fmu.h"
#include "pack_config.h"

#define PATH_LEN 4096

PF_STATUSES_MATCH(fmi2);

typedef struct {
    PfCore core; /* first: an fmi2Component is a PfCore */
    fmi2CallbackFunctions cb;
    char *name;
} Instance;

static void sink(const PfCore *core, int status, const char *category, const char *msg)
{
    const Instance *inst = (const Instance *)core;
    fmi2_log(&inst->cb, inst->name, (fmi2Status)status, category, msg);
}

static void instantiation_error(const fmi2CallbackFunctions *cb, const char *name, const char *msg)
{
    fmi2_log(cb, name ? name : "pack", fmi2Error, PF_CATEGORY[PF_CAT_ERROR], msg);
}

void fmi2_not_offered(fmi2Component c, const char *fn, const char *why)
{
    PF_LOG_ERROR(PF_CORE(c), "%s: %s", fn, why);
}

/* -- common functions ----------------------------------------------------------------------- */

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories, const fmi2String categories[])
{
    return (fmi2Status)pf_set_debug_logging(PF_CORE(c), "fmi2SetDebugLogging", loggingOn, nCategories, categories);
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn)
{
    Instance *inst;
    char dir[PATH_LEN];
    (void)visible;
    if (fmuType != fmi2CoSimulation) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: this FMU supports co-simulation only");
        return NULL;
    }
    if (fmuGUID == NULL || strcmp(fmuGUID, PC_INSTANTIATION_TOKEN) != 0) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: the GUID does not match this FMU's "
                                                     "modelDescription.xml (" PC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (fmi2_resource_path(fmuResourceLocation, "", dir, sizeof dir) != 0) {
        char msg[PATH_LEN + 128];
        snprintf(msg, sizeof msg, "fmi2Instantiate: cannot use the resource location '%s' (a file:// URI is needed)",
                 fmuResourceLocation ? fmuResourceLocation : "(null)");
        instantiation_error(functions, instanceName, msg);
        return NULL;
    }
    /* the instance's memory is its own (calloc): fmi2 allocateMemory is optional to use */
    inst = (Instance *)calloc(1, sizeof *inst);
    if (inst == NULL) {
        instantiation_error(functions, instanceName, "fmi2Instantiate: out of memory");
        return NULL;
    }
    if (functions != NULL) inst->cb = *functions;
    if (instanceName == NULL) instanceName = "pack";
    inst->name = (char *)malloc(strlen(instanceName) + 1);
    if (inst->name == NULL) {
        free(inst);
        return NULL;
    }
    strcpy(inst->name, instanceName);
    inst->core.fmi_version = 2;
    inst->core.sink = sink;
    pc_defaults(&inst->core.defaults);
    if (pf_instantiate(&inst->core, "fmi2Instantiate", dir, loggingOn) != 0) {
        pf_free(&inst->core);
        free(inst->name);
        free(inst);
        return NULL;
    }
    return inst;
}

void fmi2FreeInstance(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return;
    pf_free(&inst->core);
    free(inst->name);
    free(inst);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime)
{
    PfCore *core = PF_CORE(c);
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (!pf_in_phase(core, PF_PHASE_INSTANTIATED, "fmi2SetupExperiment", "only allowed after instantiation"))
        return fmi2Error;
    core->start_time = core->time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c)
{
    PfCore *core = PF_CORE(c);
    if (core == NULL) return fmi2Error;
    return (fmi2Status)pf_enter_initialization(core, "fmi2EnterInitializationMode", core->start_time);
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c)
{
    return (fmi2Status)pf_exit_initialization(PF_CORE(c), "fmi2ExitInitializationMode");
}

fmi2Status fmi2Terminate(fmi2Component c) { return (fmi2Status)pf_terminate(PF_CORE(c), "fmi2Terminate"); }

fmi2Status fmi2Reset(fmi2Component c) { return (fmi2Status)pf_reset(PF_CORE(c)); }

/* -- values ------------------------------------------------------------------------------- */

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[])
{
    return (fmi2Status)pf_get_float64(PF_CORE(c), "fmi2GetReal", vr, nvr, value, nvr, 1);
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[])
{
    return (fmi2Status)pf_set_float64(PF_CORE(c), "fmi2SetReal", vr, nvr, value, nvr, 1);
}

#define NO_VARIABLES(fn, T, type)                                                        \
    fmi2Status fn(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, T value[]) \
    {                                                                                    \
        (void)value;                                                                     \
        return (fmi2Status)pf_no_variables(PF_CORE(c), #fn, vr, nvr, type);              \
    }

NO_VARIABLES(fmi2GetInteger, fmi2Integer, "Integer")
NO_VARIABLES(fmi2GetBoolean, fmi2Boolean, "Boolean")
NO_VARIABLES(fmi2GetString, fmi2String, "String")
NO_VARIABLES(fmi2SetInteger, const fmi2Integer, "Integer")
NO_VARIABLES(fmi2SetBoolean, const fmi2Boolean, "Boolean")
NO_VARIABLES(fmi2SetString, const fmi2String, "String")

/* -- FMU state ------------------------------------------------------------------------------ */

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    return (fmi2Status)pf_get_state(PF_CORE(c), "fmi2GetFMUstate", FMUstate);
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate FMUstate)
{
    return (fmi2Status)pf_set_state(PF_CORE(c), "fmi2SetFMUstate", FMUstate);
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    return (fmi2Status)pf_free_state(PF_CORE(c), FMUstate);
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate FMUstate, size_t *size)
{
    (void)FMUstate;
    return (fmi2Status)pf_serialized_state_size(PF_CORE(c), size);
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate FMUstate, fmi2Byte serializedState[], size_t size)
{
    return (fmi2Status)pf_serialize_state(PF_CORE(c), "fmi2SerializeFMUstate", FMUstate, serializedState, size);
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate *FMUstate)
{
    return (fmi2Status)pf_deserialize_state(PF_CORE(c), "fmi2DeSerializeFMUstate", serializedState, size, FMUstate);
}

/* -- co-simulation ---------------------------------------------------------------------------- */

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint)
{
    Instance *inst = (Instance *)c;
    int ended = 0, status;
    (void)noSetFMUStatePriorToCurrentPoint;
    if (inst == NULL) return fmi2Error;
    status = pf_do_step(&inst->core, "fmi2DoStep", currentCommunicationPoint, communicationStepSize, &ended, NULL);
    /* the pack ended the run: Discard with fmi2Terminated (FMI 2.0, section 4.2.3) */
    return ended ? fmi2Discard : (fmi2Status)status;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value)
{
    if (c == NULL || value == NULL) return fmi2Error;
    if (s == fmi2LastSuccessfulTime) {
        *value = PF_CORE(c)->time;
        return fmi2OK;
    }
    return fmi2Discard;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *value)
{
    if (c == NULL || value == NULL) return fmi2Error;
    if (s == fmi2Terminated) {
        *value = PF_CORE(c)->ended ? fmi2True : fmi2False;
        return fmi2OK;
    }
    return fmi2Discard;
}
