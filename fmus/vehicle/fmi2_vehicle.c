/* FMI 2.0 co-simulation wrapper of the reference vehicle model (vehicle_model.h).
 *
 * vehicle_config.h is written by cosim.fmu.vehicle_fmu at build time: the GUID and the
 * start values of the parameters (vc_defaults), the same numbers as modelDescription.xml.
 * The drive cycle is the resource cycle.csv. Arrays of the model (motor efficiency curve,
 * energy per distance of the cycle phases) are numbered scalars here: value reference
 * base + 1 ... base + n (see vehicle_model.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "vehicle_model.h"
#include "vehicle_config.h"

#define PATH_LEN 4096

typedef enum { PHASE_INSTANTIATED, PHASE_INIT, PHASE_STEP, PHASE_TERMINATED, PHASE_ERROR } Phase;

enum { CAT_ERROR, CAT_WARNING, CAT_EVENTS, N_CATEGORIES };
static const char *const CATEGORY[N_CATEGORIES] = {"logStatusError", "logStatusWarning", "logEvents"};

/* everything an FMU state holds (plain data) */
typedef struct {
    VmModel model;
    double start_time;
    double time;
    int phase;
} Snapshot;

typedef struct {
    fmi2CallbackFunctions cb;
    char *name;
    int log_on[N_CATEGORIES];
    VmCycle cycle;
    Snapshot s;
} Instance;

static const char STATE_MAGIC[8] = {'c', 'o', 's', 'i', 'm', 'V', '2', 0};

/* -- memory and logging ------------------------------------------------------------------ */

static void *alloc_mem(const fmi2CallbackFunctions *cb, size_t n)
{
    if (cb != NULL && cb->allocateMemory != NULL) return cb->allocateMemory(1, n);
    return calloc(1, n);
}

static void free_mem(const fmi2CallbackFunctions *cb, void *p)
{
    if (p == NULL) return;
    if (cb != NULL && cb->freeMemory != NULL) cb->freeMemory(p);
    else free(p);
}

static void log_raw(const fmi2CallbackFunctions *cb, const char *name, fmi2Status status, int cat, const char *msg)
{
    /* the logger takes a printf format: pass the message itself with every '%' doubled, so
     * that loggers that print the format unformatted show it as well */
    char fmt[2 * (VM_MSG_LEN + 256) + 1];
    size_t k = 0;
    if (cb == NULL || cb->logger == NULL) return;
    for (; *msg != '\0' && k + 2 < sizeof fmt; ++msg) {
        if (*msg == '%') fmt[k++] = '%';
        fmt[k++] = *msg;
    }
    fmt[k] = '\0';
    cb->logger(cb->componentEnvironment, name ? name : "vehicle", status, CATEGORY[cat], fmt);
}

static void logf_(Instance *inst, fmi2Status status, int cat, const char *fmt, ...)
{
    char msg[VM_MSG_LEN + 256];
    va_list ap;
    if (inst == NULL) return;
    if (cat == CAT_EVENTS && !inst->log_on[CAT_EVENTS]) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_raw(&inst->cb, inst->name, status, cat, msg);
}

#define LOG_ERROR(inst, ...) logf_((inst), fmi2Error, CAT_ERROR, __VA_ARGS__)

/* -- helpers ------------------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* file:///dir, file:/dir or file://localhost/dir (percent-encoded) -> /dir/cycle.csv */
static int resource_file(const char *uri, const char *file, char *out, size_t n)
{
    const char *p;
    size_t k = 0;
    if (uri == NULL) return -1;
    if (strncmp(uri, "file://localhost/", 17) == 0) p = uri + 16;
    else if (strncmp(uri, "file:///", 8) == 0) p = uri + 7;
    else if (strncmp(uri, "file:/", 6) == 0 && uri[6] != '/') p = uri + 5;
    else return -1;
    /* file:///C:/dir on Windows */
    if (p[0] == '/' && p[1] != '\0' && p[2] == ':') ++p;
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
    if (k > 0 && out[k - 1] != '/' && out[k - 1] != '\\') {
        if (k + 1 >= n) return -1;
        out[k++] = '/';
    }
    if (k + strlen(file) + 1 > n) return -1;
    memcpy(out + k, file, strlen(file) + 1);
    return 0;
}

static int init_model(Instance *inst)
{
    char err[VM_MSG_LEN];
    if (vm_init(&inst->s.model, &inst->cycle, inst->s.start_time, err, sizeof err) != 0) {
        LOG_ERROR(inst, "%s", err);
        return -1;
    }
    return 0;
}

static int settable(Instance *inst, const VmVariable *var, const char *fn)
{
    int phase = inst->s.phase;
    if (var->kind == VM_KIND_PARAMETER && phase != PHASE_INSTANTIATED && phase != PHASE_INIT) {
        LOG_ERROR(inst, "%s: the parameter %s can only be set before initialization ends", fn, var->name);
        return 0;
    }
    if (var->kind == VM_KIND_INPUT && (phase == PHASE_TERMINATED || phase == PHASE_ERROR)) {
        LOG_ERROR(inst, "%s: the input %s cannot be set after termination or an error", fn, var->name);
        return 0;
    }
    if (var->kind == VM_KIND_OUTPUT || var->kind == VM_KIND_TIME) {
        LOG_ERROR(inst, "%s: %s is not an input or a parameter", fn, var->name);
        return 0;
    }
    return 1;
}

/* -- common functions ----------------------------------------------------------------------- */

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }

const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories, const fmi2String categories[])
{
    Instance *inst = (Instance *)c;
    size_t i;
    int k;
    if (inst == NULL) return fmi2Error;
    if (nCategories == 0) {
        for (k = 0; k < N_CATEGORIES; ++k) inst->log_on[k] = loggingOn ? 1 : 0;
        return fmi2OK;
    }
    for (i = 0; i < nCategories; ++i) {
        int found = 0;
        for (k = 0; k < N_CATEGORIES; ++k) {
            if (categories[i] != NULL && strcmp(categories[i], CATEGORY[k]) == 0) {
                inst->log_on[k] = loggingOn ? 1 : 0;
                found = 1;
            }
        }
        if (!found) {
            LOG_ERROR(inst, "fmi2SetDebugLogging: unknown log category '%s'", categories[i] ? categories[i] : "(null)");
            return fmi2Error;
        }
    }
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn)
{
    Instance *inst;
    char path[PATH_LEN], err[VM_MSG_LEN];
    int k;
    (void)visible;
    if (fmuType != fmi2CoSimulation) {
        log_raw(functions, instanceName, fmi2Error, CAT_ERROR, "fmi2Instantiate: this FMU supports co-simulation only");
        return NULL;
    }
    if (fmuGUID == NULL || strcmp(fmuGUID, VC_INSTANTIATION_TOKEN) != 0) {
        log_raw(functions, instanceName, fmi2Error, CAT_ERROR,
                "fmi2Instantiate: the GUID does not match this FMU's modelDescription.xml (" VC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (resource_file(fmuResourceLocation, "cycle.csv", path, sizeof path) != 0) {
        char msg[PATH_LEN + 128];
        snprintf(msg, sizeof msg, "fmi2Instantiate: cannot use the resource location '%s' (a file:// URI is needed)",
                 fmuResourceLocation ? fmuResourceLocation : "(null)");
        log_raw(functions, instanceName, fmi2Error, CAT_ERROR, msg);
        return NULL;
    }
    inst = (Instance *)alloc_mem(functions, sizeof *inst);
    if (inst == NULL) {
        log_raw(functions, instanceName, fmi2Error, CAT_ERROR, "fmi2Instantiate: out of memory");
        return NULL;
    }
    memset(inst, 0, sizeof *inst);
    if (functions != NULL) inst->cb = *functions;
    if (instanceName == NULL) instanceName = "vehicle";
    inst->name = (char *)alloc_mem(functions, strlen(instanceName) + 1);
    if (inst->name == NULL) {
        free_mem(functions, inst);
        return NULL;
    }
    strcpy(inst->name, instanceName);
    for (k = 0; k < N_CATEGORIES; ++k) inst->log_on[k] = loggingOn ? 1 : 0;
    if (vm_cycle_load(&inst->cycle, path, err, sizeof err) != 0) {
        LOG_ERROR(inst, "fmi2Instantiate: %s", err);
        free_mem(functions, inst->name);
        free_mem(functions, inst);
        return NULL;
    }
    vc_defaults(&inst->s.model);
    inst->s.phase = PHASE_INSTANTIATED;
    logf_(inst, fmi2OK, CAT_EVENTS, "instantiated: %s, drive cycle %s (%lu samples)", VC_MODEL_NAME, path,
          (unsigned long)inst->cycle.n);
    return inst;
}

void fmi2FreeInstance(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    fmi2CallbackFunctions cb;
    if (inst == NULL) return;
    cb = inst->cb;
    vm_cycle_free(&inst->cycle);
    free_mem(&cb, inst->name);
    free_mem(&cb, inst);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime)
{
    Instance *inst = (Instance *)c;
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (inst == NULL) return fmi2Error;
    if (inst->s.phase != PHASE_INSTANTIATED) {
        LOG_ERROR(inst, "fmi2SetupExperiment: only allowed after instantiation");
        return fmi2Error;
    }
    inst->s.start_time = startTime;
    inst->s.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    if (inst->s.phase != PHASE_INSTANTIATED) {
        LOG_ERROR(inst, "fmi2EnterInitializationMode: only allowed after instantiation");
        return fmi2Error;
    }
    inst->s.phase = PHASE_INIT;
    inst->s.time = inst->s.start_time;
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    if (inst->s.phase != PHASE_INIT) {
        LOG_ERROR(inst, "fmi2ExitInitializationMode: not in initialization mode");
        return fmi2Error;
    }
    if (init_model(inst) != 0) {
        inst->s.phase = PHASE_ERROR;
        return fmi2Error;
    }
    inst->s.phase = PHASE_STEP;
    inst->s.time = inst->s.start_time;
    logf_(inst, fmi2OK, CAT_EVENTS, "initialized at t = %g s (%s mode)", inst->s.start_time,
          inst->s.model.p.forward ? "forward" : "backward");
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    if (inst->s.phase != PHASE_STEP) {
        LOG_ERROR(inst, "fmi2Terminate: only allowed after initialization");
        return fmi2Error;
    }
    inst->s.phase = PHASE_TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    memset(&inst->s, 0, sizeof inst->s);
    vc_defaults(&inst->s.model);
    inst->s.phase = PHASE_INSTANTIATED;
    return fmi2OK;
}

/* -- values ------------------------------------------------------------------------------- */

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[])
{
    Instance *inst = (Instance *)c;
    size_t i;
    if (inst == NULL) return fmi2Error;
    if (nvr > 0 && (vr == NULL || value == NULL)) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        VmVariable var;
        if (vm_variable(&inst->s.model, vr[i], 1, &var) != 0) {
            LOG_ERROR(inst, "fmi2GetReal: unknown value reference %u", vr[i]);
            return fmi2Error;
        }
        if (var.kind == VM_KIND_TIME) {
            value[i] = inst->s.time;
            continue;
        }
        if (var.kind == VM_KIND_OUTPUT && inst->s.phase == PHASE_INIT && init_model(inst) != 0) return fmi2Error;
        value[i] = *var.value;
    }
    return fmi2OK;
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[])
{
    Instance *inst = (Instance *)c;
    (void)value;
    if (inst == NULL) return fmi2Error;
    if (nvr == 0) return fmi2OK;
    LOG_ERROR(inst, "fmi2GetInteger: unknown value reference %u (this FMU has no Integer variables)", vr[0]);
    return fmi2Error;
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[])
{
    Instance *inst = (Instance *)c;
    size_t i;
    if (inst == NULL) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        if (vr[i] != VM_ID_FORWARD) {
            LOG_ERROR(inst, "fmi2GetBoolean: unknown value reference %u", vr[i]);
            return fmi2Error;
        }
        value[i] = inst->s.model.p.forward ? fmi2True : fmi2False;
    }
    return fmi2OK;
}

fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[])
{
    Instance *inst = (Instance *)c;
    (void)value;
    if (inst == NULL) return fmi2Error;
    if (nvr == 0) return fmi2OK;
    LOG_ERROR(inst, "fmi2GetString: unknown value reference %u (this FMU has no String variables)", vr[0]);
    return fmi2Error;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[])
{
    Instance *inst = (Instance *)c;
    size_t i;
    if (inst == NULL) return fmi2Error;
    if (nvr > 0 && (vr == NULL || value == NULL)) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        VmVariable var;
        if (vm_variable(&inst->s.model, vr[i], 1, &var) != 0) {
            LOG_ERROR(inst, "fmi2SetReal: unknown value reference %u", vr[i]);
            return fmi2Error;
        }
        if (!settable(inst, &var, "fmi2SetReal")) return fmi2Error;
        *var.value = value[i];
    }
    return fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[])
{
    Instance *inst = (Instance *)c;
    (void)value;
    if (inst == NULL) return fmi2Error;
    if (nvr == 0) return fmi2OK;
    LOG_ERROR(inst, "fmi2SetInteger: unknown value reference %u (this FMU has no Integer variables)", vr[0]);
    return fmi2Error;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[])
{
    Instance *inst = (Instance *)c;
    size_t i;
    if (inst == NULL) return fmi2Error;
    for (i = 0; i < nvr; ++i) {
        if (vr[i] != VM_ID_FORWARD) {
            LOG_ERROR(inst, "fmi2SetBoolean: unknown value reference %u", vr[i]);
            return fmi2Error;
        }
        if (inst->s.phase != PHASE_INSTANTIATED && inst->s.phase != PHASE_INIT) {
            LOG_ERROR(inst, "fmi2SetBoolean: the parameter forward can only be set before initialization ends");
            return fmi2Error;
        }
        inst->s.model.p.forward = value[i] ? 1 : 0;
    }
    return fmi2OK;
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[])
{
    Instance *inst = (Instance *)c;
    (void)value;
    if (inst == NULL) return fmi2Error;
    if (nvr == 0) return fmi2OK;
    LOG_ERROR(inst, "fmi2SetString: unknown value reference %u (this FMU has no String variables)", vr[0]);
    return fmi2Error;
}

/* -- FMU state ------------------------------------------------------------------------------ */

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    Instance *inst = (Instance *)c;
    Snapshot *snap;
    if (inst == NULL || FMUstate == NULL) return fmi2Error;
    snap = (Snapshot *)*FMUstate;
    if (snap == NULL) {
        snap = (Snapshot *)alloc_mem(&inst->cb, sizeof *snap);
        if (snap == NULL) {
            LOG_ERROR(inst, "fmi2GetFMUstate: out of memory");
            return fmi2Error;
        }
        *FMUstate = snap;
    }
    *snap = inst->s;
    return fmi2OK;
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate FMUstate)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    if (FMUstate == NULL) {
        LOG_ERROR(inst, "fmi2SetFMUstate: no state given");
        return fmi2Error;
    }
    inst->s = *(const Snapshot *)FMUstate;
    return fmi2OK;
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *FMUstate)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL || FMUstate == NULL) return fmi2Error;
    free_mem(&inst->cb, *FMUstate);
    *FMUstate = NULL;
    return fmi2OK;
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate FMUstate, size_t *size)
{
    (void)FMUstate;
    if (c == NULL || size == NULL) return fmi2Error;
    *size = sizeof STATE_MAGIC + sizeof(Snapshot);
    return fmi2OK;
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate FMUstate, fmi2Byte serializedState[], size_t size)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL) return fmi2Error;
    if (FMUstate == NULL || serializedState == NULL || size != sizeof STATE_MAGIC + sizeof(Snapshot)) {
        LOG_ERROR(inst, "fmi2SerializeFMUstate: no state or a buffer of the wrong size");
        return fmi2Error;
    }
    memcpy(serializedState, STATE_MAGIC, sizeof STATE_MAGIC);
    memcpy(serializedState + sizeof STATE_MAGIC, FMUstate, sizeof(Snapshot));
    return fmi2OK;
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate *FMUstate)
{
    Instance *inst = (Instance *)c;
    Snapshot *snap;
    if (inst == NULL || FMUstate == NULL) return fmi2Error;
    if (serializedState == NULL || size != sizeof STATE_MAGIC + sizeof(Snapshot) ||
        memcmp(serializedState, STATE_MAGIC, sizeof STATE_MAGIC) != 0) {
        LOG_ERROR(inst, "fmi2DeSerializeFMUstate: not a state of this FMU");
        return fmi2Error;
    }
    snap = (Snapshot *)*FMUstate;
    if (snap == NULL) {
        snap = (Snapshot *)alloc_mem(&inst->cb, sizeof *snap);
        if (snap == NULL) {
            LOG_ERROR(inst, "fmi2DeSerializeFMUstate: out of memory");
            return fmi2Error;
        }
        *FMUstate = snap;
    }
    memcpy(snap, serializedState + sizeof STATE_MAGIC, sizeof *snap);
    return fmi2OK;
}

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown,
                                        const fmi2Real dvKnown[], fmi2Real dvUnknown[])
{
    (void)vUnknown_ref; (void)nUnknown; (void)vKnown_ref; (void)nKnown; (void)dvKnown; (void)dvUnknown;
    LOG_ERROR((Instance *)c, "fmi2GetDirectionalDerivative: not provided by this FMU");
    return fmi2Error;
}

/* -- co-simulation ---------------------------------------------------------------------------- */

fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    LOG_ERROR((Instance *)c, "fmi2SetRealInputDerivatives: the inputs are held constant over a step");
    return fmi2Error;
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    LOG_ERROR((Instance *)c, "fmi2GetRealOutputDerivatives: not provided by this FMU");
    return fmi2Error;
}

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint)
{
    Instance *inst = (Instance *)c;
    char err[VM_MSG_LEN];
    (void)noSetFMUStatePriorToCurrentPoint;
    if (inst == NULL) return fmi2Error;
    if (inst->s.phase != PHASE_STEP) {
        LOG_ERROR(inst, "fmi2DoStep: only allowed after initialization (and before termination)");
        return fmi2Error;
    }
    if (vm_do_step(&inst->s.model, &inst->cycle, currentCommunicationPoint, communicationStepSize, err, sizeof err) != 0) {
        LOG_ERROR(inst, "fmi2DoStep at t = %g s: %s", currentCommunicationPoint, err);
        inst->s.phase = PHASE_ERROR;
        return fmi2Error;
    }
    inst->s.time = currentCommunicationPoint + communicationStepSize;
    return fmi2OK;
}

fmi2Status fmi2CancelStep(fmi2Component c)
{
    LOG_ERROR((Instance *)c, "fmi2CancelStep: steps are never asynchronous in this FMU");
    return fmi2Error;
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *value)
{
    (void)s; (void)value;
    return c == NULL ? fmi2Error : fmi2Discard;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value)
{
    Instance *inst = (Instance *)c;
    if (inst == NULL || value == NULL) return fmi2Error;
    if (s == fmi2LastSuccessfulTime) {
        *value = inst->s.time;
        return fmi2OK;
    }
    return fmi2Discard;
}

fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer *value)
{
    (void)s; (void)value;
    return c == NULL ? fmi2Error : fmi2Discard;
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

fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String *value)
{
    (void)s; (void)value;
    return c == NULL ? fmi2Error : fmi2Discard;
}
