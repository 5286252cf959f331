/* FMI 3.0 co-simulation wrapper of the reference vehicle model (vehicle_model.h).
 *
 * vehicle_config.h is written by cosim.fmu.vehicle_fmu at build time: the instantiation
 * token and the start values of the parameters (vc_defaults), the same numbers as
 * modelDescription.xml. The drive cycle is the resource cycle.csv. Arrays of the model
 * (motor efficiency curve, energy per distance of the cycle phases) are Float64 arrays of
 * fixed size, addressed by their base value reference (see vehicle_model.h).
 *
 * Every function of fmi3Functions.h is present; what this FMU does not offer (model
 * exchange, scheduled execution, event mode, clocks, derivatives, other types) logs an
 * error and returns fmi3Error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi3Functions.h"
#include "vehicle_model.h"
#include "vehicle_config.h"

#define PATH_LEN 4096

typedef enum { PHASE_INSTANTIATED, PHASE_INIT, PHASE_STEP, PHASE_TERMINATED, PHASE_ERROR } Phase;

enum { CAT_ERROR, CAT_WARNING, CAT_EVENTS, N_CATEGORIES };
static const char *const CATEGORY[N_CATEGORIES] = {"logStatusError", "logStatusWarning", "logEvents"};

typedef struct {
    VmModel model;
    double start_time;
    double time;
    int phase;
} Snapshot;

typedef struct {
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback log;
    int log_on[N_CATEGORIES];
    VmCycle cycle;
    Snapshot s;
} Instance;

static const char STATE_MAGIC[8] = {'c', 'o', 's', 'i', 'm', 'V', '3', 0};

/* -- logging ------------------------------------------------------------------------------- */

static void logf_(Instance *inst, fmi3Status status, int cat, const char *fmt, ...)
{
    char msg[VM_MSG_LEN + 256];
    va_list ap;
    if (inst == NULL || inst->log == NULL) return;
    if (cat == CAT_EVENTS && !inst->log_on[CAT_EVENTS]) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->log(inst->env, status, CATEGORY[cat], msg);
}

#define LOG_ERROR(inst, ...) logf_((inst), fmi3Error, CAT_ERROR, __VA_ARGS__)

static fmi3Status unsupported(fmi3Instance instance, const char *fn)
{
    LOG_ERROR((Instance *)instance, "%s: not supported by this FMU (co-simulation without event mode)", fn);
    return fmi3Error;
}

/* -- helpers ---------------------------------------------------------------------------------- */

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

/* -- common functions --------------------------------------------------------------------------- */

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[])
{
    Instance *inst = (Instance *)instance;
    size_t i;
    int k;
    if (inst == NULL) return fmi3Error;
    if (nCategories == 0) {
        for (k = 0; k < N_CATEGORIES; ++k) inst->log_on[k] = loggingOn ? 1 : 0;
        return fmi3OK;
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
            LOG_ERROR(inst, "fmi3SetDebugLogging: unknown log category '%s'", categories[i] ? categories[i] : "(null)");
            return fmi3Error;
        }
    }
    return fmi3OK;
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                          fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage)
{
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    if (logMessage != NULL)
        logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR],
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
    char path[PATH_LEN], err[VM_MSG_LEN];
    size_t n;
    int k;
    (void)instanceName; (void)visible; (void)earlyReturnAllowed; (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    if (eventModeUsed) {
        if (logMessage != NULL)
            logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR],
                       "fmi3InstantiateCoSimulation: this FMU has no event mode (hasEventMode = false)");
        return NULL;
    }
    if (instantiationToken == NULL || strcmp(instantiationToken, VC_INSTANTIATION_TOKEN) != 0) {
        if (logMessage != NULL)
            logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR],
                       "fmi3InstantiateCoSimulation: the instantiation token does not match this FMU's "
                       "modelDescription.xml (" VC_INSTANTIATION_TOKEN ")");
        return NULL;
    }
    if (resourcePath == NULL || (n = strlen(resourcePath)) == 0 || n + 16 > sizeof path) {
        if (logMessage != NULL)
            logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR],
                       "fmi3InstantiateCoSimulation: no resource path (the drive cycle is resources/cycle.csv)");
        return NULL;
    }
    memcpy(path, resourcePath, n + 1);
    if (path[n - 1] != '/' && path[n - 1] != '\\') path[n++] = '/';
    memcpy(path + n, "cycle.csv", sizeof "cycle.csv");
    inst = (Instance *)calloc(1, sizeof *inst);
    if (inst == NULL) {
        if (logMessage != NULL)
            logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR], "fmi3InstantiateCoSimulation: out of memory");
        return NULL;
    }
    inst->env = instanceEnvironment;
    inst->log = logMessage;
    for (k = 0; k < N_CATEGORIES; ++k) inst->log_on[k] = loggingOn ? 1 : 0;
    if (vm_cycle_load(&inst->cycle, path, err, sizeof err) != 0) {
        LOG_ERROR(inst, "fmi3InstantiateCoSimulation: %s", err);
        free(inst);
        return NULL;
    }
    vc_defaults(&inst->s.model);
    inst->s.phase = PHASE_INSTANTIATED;
    logf_(inst, fmi3OK, CAT_EVENTS, "instantiated: %s, drive cycle %s (%lu samples)", VC_MODEL_NAME, path,
          (unsigned long)inst->cycle.n);
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
    if (logMessage != NULL)
        logMessage(instanceEnvironment, fmi3Error, CATEGORY[CAT_ERROR],
                   "fmi3InstantiateScheduledExecution: this FMU supports co-simulation only");
    return NULL;
}

void fmi3FreeInstance(fmi3Instance instance)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return;
    vm_cycle_free(&inst->cycle);
    free(inst);
}

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime)
{
    Instance *inst = (Instance *)instance;
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (inst == NULL) return fmi3Error;
    if (inst->s.phase != PHASE_INSTANTIATED) {
        LOG_ERROR(inst, "fmi3EnterInitializationMode: only allowed after instantiation");
        return fmi3Error;
    }
    inst->s.phase = PHASE_INIT;
    inst->s.start_time = startTime;
    inst->s.time = startTime;
    return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    if (inst->s.phase != PHASE_INIT) {
        LOG_ERROR(inst, "fmi3ExitInitializationMode: not in initialization mode");
        return fmi3Error;
    }
    if (init_model(inst) != 0) {
        inst->s.phase = PHASE_ERROR;
        return fmi3Error;
    }
    inst->s.phase = PHASE_STEP;
    logf_(inst, fmi3OK, CAT_EVENTS, "initialized at t = %g s (%s mode)", inst->s.start_time,
          inst->s.model.p.forward ? "forward" : "backward");
    return fmi3OK;
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) { return unsupported(instance, "fmi3EnterEventMode"); }

fmi3Status fmi3Terminate(fmi3Instance instance)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    if (inst->s.phase != PHASE_STEP) {
        LOG_ERROR(inst, "fmi3Terminate: only allowed after initialization");
        return fmi3Error;
    }
    inst->s.phase = PHASE_TERMINATED;
    return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    memset(&inst->s, 0, sizeof inst->s);
    vc_defaults(&inst->s.model);
    inst->s.phase = PHASE_INSTANTIATED;
    return fmi3OK;
}

/* -- values --------------------------------------------------------------------------------------- */

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Float64 values[], size_t nValues)
{
    Instance *inst = (Instance *)instance;
    size_t i, k = 0;
    if (inst == NULL) return fmi3Error;
    for (i = 0; i < nValueReferences; ++i) {
        VmVariable var;
        if (vm_variable(&inst->s.model, valueReferences[i], 0, &var) != 0) {
            LOG_ERROR(inst, "fmi3GetFloat64: unknown value reference %u", valueReferences[i]);
            return fmi3Error;
        }
        if (k + var.n > nValues) {
            LOG_ERROR(inst, "fmi3GetFloat64: nValues = %lu is too small", (unsigned long)nValues);
            return fmi3Error;
        }
        if (var.kind == VM_KIND_TIME) {
            values[k++] = inst->s.time;
            continue;
        }
        if (var.kind == VM_KIND_OUTPUT && inst->s.phase == PHASE_INIT && init_model(inst) != 0) return fmi3Error;
        memcpy(values + k, var.value, var.n * sizeof *values);
        k += var.n;
    }
    if (k != nValues) {
        LOG_ERROR(inst, "fmi3GetFloat64: nValues = %lu, the variables hold %lu values", (unsigned long)nValues,
                  (unsigned long)k);
        return fmi3Error;
    }
    return fmi3OK;
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Float64 values[], size_t nValues)
{
    Instance *inst = (Instance *)instance;
    size_t i, k = 0;
    if (inst == NULL) return fmi3Error;
    for (i = 0; i < nValueReferences; ++i) {
        VmVariable var;
        if (vm_variable(&inst->s.model, valueReferences[i], 0, &var) != 0) {
            LOG_ERROR(inst, "fmi3SetFloat64: unknown value reference %u", valueReferences[i]);
            return fmi3Error;
        }
        if (!settable(inst, &var, "fmi3SetFloat64")) return fmi3Error;
        if (k + var.n > nValues) {
            LOG_ERROR(inst, "fmi3SetFloat64: nValues = %lu is too small", (unsigned long)nValues);
            return fmi3Error;
        }
        memcpy(var.value, values + k, var.n * sizeof *values);
        k += var.n;
    }
    if (k != nValues) {
        LOG_ERROR(inst, "fmi3SetFloat64: nValues = %lu, the variables hold %lu values", (unsigned long)nValues,
                  (unsigned long)k);
        return fmi3Error;
    }
    return fmi3OK;
}

fmi3Status fmi3GetBoolean(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          fmi3Boolean values[], size_t nValues)
{
    Instance *inst = (Instance *)instance;
    size_t i;
    if (inst == NULL) return fmi3Error;
    if (nValues != nValueReferences) {
        LOG_ERROR(inst, "fmi3GetBoolean: nValues must equal nValueReferences");
        return fmi3Error;
    }
    for (i = 0; i < nValueReferences; ++i) {
        if (valueReferences[i] != VM_ID_FORWARD) {
            LOG_ERROR(inst, "fmi3GetBoolean: unknown value reference %u", valueReferences[i]);
            return fmi3Error;
        }
        values[i] = inst->s.model.p.forward ? fmi3True : fmi3False;
    }
    return fmi3OK;
}

fmi3Status fmi3SetBoolean(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences,
                          const fmi3Boolean values[], size_t nValues)
{
    Instance *inst = (Instance *)instance;
    size_t i;
    if (inst == NULL) return fmi3Error;
    if (nValues != nValueReferences) {
        LOG_ERROR(inst, "fmi3SetBoolean: nValues must equal nValueReferences");
        return fmi3Error;
    }
    for (i = 0; i < nValueReferences; ++i) {
        if (valueReferences[i] != VM_ID_FORWARD) {
            LOG_ERROR(inst, "fmi3SetBoolean: unknown value reference %u", valueReferences[i]);
            return fmi3Error;
        }
        if (inst->s.phase != PHASE_INSTANTIATED && inst->s.phase != PHASE_INIT) {
            LOG_ERROR(inst, "fmi3SetBoolean: the parameter forward can only be set before initialization ends");
            return fmi3Error;
        }
        inst->s.model.p.forward = values[i] ? 1 : 0;
    }
    return fmi3OK;
}

/* getters and setters of the types this FMU has no variables of */
#define NO_VARIABLES(fn, T, CONST)                                                                        \
    fmi3Status fn(fmi3Instance instance, const fmi3ValueReference valueReferences[], size_t nValueReferences, \
                  CONST T values[], size_t nValues)                                                        \
    {                                                                                                      \
        (void)values; (void)nValues;                                                                       \
        if (instance == NULL) return fmi3Error;                                                            \
        if (nValueReferences == 0) return fmi3OK;                                                          \
        LOG_ERROR((Instance *)instance, #fn ": unknown value reference %u", valueReferences[0]);          \
        return fmi3Error;                                                                                  \
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
    Instance *inst = (Instance *)instance;
    Snapshot *snap;
    if (inst == NULL || FMUState == NULL) return fmi3Error;
    snap = (Snapshot *)*FMUState;
    if (snap == NULL) {
        snap = (Snapshot *)calloc(1, sizeof *snap);
        if (snap == NULL) {
            LOG_ERROR(inst, "fmi3GetFMUState: out of memory");
            return fmi3Error;
        }
        *FMUState = snap;
    }
    *snap = inst->s;
    return fmi3OK;
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    if (FMUState == NULL) {
        LOG_ERROR(inst, "fmi3SetFMUState: no state given");
        return fmi3Error;
    }
    inst->s = *(const Snapshot *)FMUState;
    return fmi3OK;
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *FMUState)
{
    if (instance == NULL || FMUState == NULL) return fmi3Error;
    free(*FMUState);
    *FMUState = NULL;
    return fmi3OK;
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t *size)
{
    (void)FMUState;
    if (instance == NULL || size == NULL) return fmi3Error;
    *size = sizeof STATE_MAGIC + sizeof(Snapshot);
    return fmi3OK;
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[], size_t size)
{
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    if (FMUState == NULL || serializedState == NULL || size != sizeof STATE_MAGIC + sizeof(Snapshot)) {
        LOG_ERROR(inst, "fmi3SerializeFMUState: no state or a buffer of the wrong size");
        return fmi3Error;
    }
    memcpy(serializedState, STATE_MAGIC, sizeof STATE_MAGIC);
    memcpy(serializedState + sizeof STATE_MAGIC, FMUState, sizeof(Snapshot));
    return fmi3OK;
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState *FMUState)
{
    Instance *inst = (Instance *)instance;
    Snapshot *snap;
    if (inst == NULL || FMUState == NULL) return fmi3Error;
    if (serializedState == NULL || size != sizeof STATE_MAGIC + sizeof(Snapshot) ||
        memcmp(serializedState, STATE_MAGIC, sizeof STATE_MAGIC) != 0) {
        LOG_ERROR(inst, "fmi3DeserializeFMUState: not a state of this FMU");
        return fmi3Error;
    }
    snap = (Snapshot *)*FMUState;
    if (snap == NULL) {
        snap = (Snapshot *)calloc(1, sizeof *snap);
        if (snap == NULL) {
            LOG_ERROR(inst, "fmi3DeserializeFMUState: out of memory");
            return fmi3Error;
        }
        *FMUState = snap;
    }
    memcpy(snap, serializedState + sizeof STATE_MAGIC, sizeof *snap);
    return fmi3OK;
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
    Instance *inst = (Instance *)instance;
    if (inst == NULL) return fmi3Error;
    if (inst->s.phase == PHASE_STEP) return fmi3OK; /* already there after initialization */
    LOG_ERROR(inst, "fmi3EnterStepMode: only allowed after initialization");
    return fmi3Error;
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime)
{
    Instance *inst = (Instance *)instance;
    char err[VM_MSG_LEN];
    (void)noSetFMUStatePriorToCurrentPoint;
    if (inst == NULL) return fmi3Error;
    if (eventHandlingNeeded != NULL) *eventHandlingNeeded = fmi3False;
    if (terminateSimulation != NULL) *terminateSimulation = fmi3False;
    if (earlyReturn != NULL) *earlyReturn = fmi3False;
    if (inst->s.phase != PHASE_STEP) {
        LOG_ERROR(inst, "fmi3DoStep: only allowed after initialization (and before termination)");
        return fmi3Error;
    }
    if (vm_do_step(&inst->s.model, &inst->cycle, currentCommunicationPoint, communicationStepSize, err, sizeof err) != 0) {
        LOG_ERROR(inst, "fmi3DoStep at t = %g s: %s", currentCommunicationPoint, err);
        inst->s.phase = PHASE_ERROR;
        if (lastSuccessfulTime != NULL) *lastSuccessfulTime = inst->s.time;
        return fmi3Error;
    }
    inst->s.time = currentCommunicationPoint + communicationStepSize;
    if (lastSuccessfulTime != NULL) *lastSuccessfulTime = inst->s.time;
    return fmi3OK;
}
