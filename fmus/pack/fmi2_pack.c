/* FMI 2.0 co-simulation wrapper of the pack FMU (pack_model.h through pack_fmu.h).
 *
 * pack_config.h is written by cosim.fmu.pack_fmu at export time: the GUID and the start
 * values of the inputs and parameters, the same numbers as modelDescription.xml. The pack's
 * data is the resource pack.dat. Arrays are numbered scalars here (pack_fmu.h). What FMI 3.0
 * does alike is in pack_fmu.c; this file keeps FMI 2.0's own: the callbacks, the resource
 * URI, the API's signatures and the status queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "pack_fmu.h"
#include "pack_config.h"

#define PATH_LEN 4096

PF_STATUSES_MATCH(fmi2);

typedef struct {
    PfCore core; /* first: an fmi2Component is a PfCore */
    fmi2CallbackFunctions cb;
    char *name;
} Instance;

static void log_raw(const fmi2CallbackFunctions *cb, const char *name, fmi2Status status, const char *category,
                    const char *msg)
{
    /* the logger takes a printf format: pass the message with every '%' doubled */
    char fmt[2 * PF_MSG_LEN + 1];
    size_t k = 0;
    if (cb == NULL || cb->logger == NULL) return;
    for (; *msg != '\0' && k + 2 < sizeof fmt; ++msg) {
        if (*msg == '%') fmt[k++] = '%';
        fmt[k++] = *msg;
    }
    fmt[k] = '\0';
    cb->logger(cb->componentEnvironment, name ? name : "pack", status, category, fmt);
}

static void sink(const PfCore *core, int status, const char *category, const char *msg)
{
    const Instance *inst = (const Instance *)core;
    log_raw(&inst->cb, inst->name, (fmi2Status)status, category, msg);
}

static void instantiation_error(const fmi2CallbackFunctions *cb, const char *name, const char *msg)
{
    log_raw(cb, name, fmi2Error, PF_CATEGORY[PF_CAT_ERROR], msg);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* file:///dir, file:/dir or file://localhost/dir (percent-encoded) -> /dir */
static int resource_dir(const char *uri, char *out, size_t n)
{
    const char *p;
    size_t k = 0;
    if (uri == NULL) return -1;
    if (strncmp(uri, "file://localhost/", 17) == 0) p = uri + 16;
    else if (strncmp(uri, "file:///", 8) == 0) p = uri + 7;
    else if (strncmp(uri, "file:/", 6) == 0 && uri[6] != '/') p = uri + 5;
    else return -1;
    if (p[0] == '/' && p[1] != '\0' && p[2] == ':') ++p; /* file:///C:/dir on Windows */
    for (; *p != '\0'; ++p) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (k + 1 >= n) return -1;
        out[k++] = c;
    }
    out[k] = '\0';
    return 0;
}

/* -- common functions ----------------------------------------------------------------------- */

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }

const char *fmi2GetVersion(void) { return fmi2Version; }

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
    if (resource_dir(fmuResourceLocation, dir, sizeof dir) != 0) {
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

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown,
                                        const fmi2Real dvKnown[], fmi2Real dvUnknown[])
{
    (void)vUnknown_ref; (void)nUnknown; (void)vKnown_ref; (void)nKnown; (void)dvKnown; (void)dvUnknown;
    PF_LOG_ERROR(PF_CORE(c), "fmi2GetDirectionalDerivative: not provided by this FMU");
    return fmi2Error;
}

/* -- co-simulation ---------------------------------------------------------------------------- */

fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    PF_LOG_ERROR(PF_CORE(c), "fmi2SetRealInputDerivatives: the inputs are held constant over a step");
    return fmi2Error;
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    PF_LOG_ERROR(PF_CORE(c), "fmi2GetRealOutputDerivatives: not provided by this FMU");
    return fmi2Error;
}

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

fmi2Status fmi2CancelStep(fmi2Component c)
{
    PF_LOG_ERROR(PF_CORE(c), "fmi2CancelStep: steps are never asynchronous in this FMU");
    return fmi2Error;
}

#define NO_STATUS(fn, T)                                             \
    fmi2Status fn(fmi2Component c, const fmi2StatusKind s, T *value) \
    {                                                                \
        (void)s; (void)value;                                        \
        return c == NULL ? fmi2Error : fmi2Discard;                  \
    }

NO_STATUS(fmi2GetStatus, fmi2Status)
NO_STATUS(fmi2GetIntegerStatus, fmi2Integer)
NO_STATUS(fmi2GetStringStatus, fmi2String)

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
