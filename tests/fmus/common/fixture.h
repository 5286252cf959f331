/*
 * fixture.h - the FMI 2.0 / 3.0 API shared by the test-fixture FMUs of cosim.
 *
 * A fixture's .c file defines, before including this header:
 *
 *   FX_FMI_VERSION       2 or 3
 *   FX_INTERFACE         FX_CS (co-simulation) or FX_ME (model exchange)
 *   FX_MODEL_IDENTIFIER  "name" (the modelIdentifier, for messages and FMU states)
 *   FX_TOKEN             the guid / instantiationToken of its modelDescription.xml
 *   FX_NSLOTS            number of float64 value slots of the model data
 *   FX_NSTATES, FX_NINDICATORS   (model exchange only) continuous states, event indicators
 *
 * and after including it the hooks declared below. All model values are float64 slots of
 * FxData.r; the variable table maps value references (dense: 0, 1, 2, ...) to slots.
 *
 * Conventions of these fixtures:
 * - messages with status Discard, Error or Fatal are always passed to the logger; the
 *   category logEvents (debug messages) only while enabled by loggingOn/SetDebugLogging;
 * - misuse (unknown value reference, call in the wrong state) returns Error but leaves the
 *   instance usable; a doStep returning Error/Fatal puts the instance into the error/fatal
 *   state (then: Get*, status queries, Reset, Terminate, FreeInstance after Error;
 *   only FreeInstance after Fatal);
 * - parameters and states with initial="exact" can be set before ExitInitializationMode,
 *   inputs at any time before Terminate; calculated variables never.
 */
#ifndef COSIM_FIXTURE_H
#define COSIM_FIXTURE_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_CS 1
#define FX_ME 2

#if FX_FMI_VERSION == 2
#include "fmi2Functions.h"
#elif FX_FMI_VERSION == 3
#include "fmi3Functions.h"
#else
#error "define FX_FMI_VERSION as 2 or 3 before including fixture.h"
#endif

#ifndef FX_NSTATES
#define FX_NSTATES 0
#endif
#ifndef FX_NINDICATORS
#define FX_NINDICATORS 0
#endif
#define FX_NFLAGS 4

/* status codes: the same numbers as fmi2Status and fmi3Status */
enum { FX_OK = 0, FX_WARNING = 1, FX_DISCARD = 2, FX_ERROR = 3, FX_FATAL = 4 };

/* how a variable may be set */
/* the nominal value of continuous state i of the model data d (a model may define it before
 * including this file; an event that changes it sets FxEvent.nominals_changed) */
#ifndef FX_NOMINAL
#define FX_NOMINAL(d, i) 1.0
#endif

/* FX_DISCRETE_INPUT: an input of variability discrete, which model exchange allows to be set
 * only in initialization and event mode (FMI 2.0.4 section 3.2.3; co-simulation: in step mode) */
enum { FX_PARAMETER, FX_INPUT, FX_EXACT_STATE, FX_CALCULATED, FX_INDEPENDENT, FX_DISCRETE_INPUT };

/* log categories (declared in every modelDescription.xml) */
enum { FX_LOG_EVENTS, FX_LOG_DISCARD, FX_LOG_ERROR, FX_NCATEGORIES };
static const char *const fx_category_names[FX_NCATEGORIES] = {
    "logEvents", "logStatusDiscard", "logStatusError"};

/* instance states (bit mask) */
enum {
    FX_INSTANTIATED = 1, FX_INITIALIZATION = 2, FX_STEP = 4, FX_EVENT = 8, FX_CONTINUOUS = 16,
    FX_TERMINATED = 32, FX_ERRORED = 64, FX_FATALED = 128
};
#define FX_NOT_FATAL (FX_INSTANTIATED | FX_INITIALIZATION | FX_STEP | FX_EVENT | FX_CONTINUOUS | \
                      FX_TERMINATED | FX_ERRORED)
#define FX_RUNNING (FX_STEP | FX_EVENT | FX_CONTINUOUS)

typedef struct {
    unsigned vr;      /* value reference; the table is indexed by it */
    int slot;         /* first slot in FxData.r (unused for FX_INDEPENDENT) */
    int count;        /* number of elements (1 for scalars) */
    int kind;         /* FX_PARAMETER ... FX_INDEPENDENT */
    const char *name;
} FxVar;

typedef struct {
    double time;
    double r[FX_NSLOTS];
    int flag[FX_NFLAGS];   /* model-specific discrete flags */
#ifdef FX_TYPED
    FxTyped x;             /* the fixture's non-float64 values (see fx_typed) */
#endif
} FxData;

typedef struct {
    int values_changed, next_defined, terminate;
    double next_time;
    int nominals_changed;
} FxEvent;

typedef struct {
    FxData d;
    int mode;
    int log_on[FX_NCATEGORIES];
    int last_step_status;
    double start_time;
    char name[128];
#if FX_FMI_VERSION == 2
    fmi2CallbackFunctions cb;
#else
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback logger;
#endif
} FxInstance;

typedef struct {
    char magic[8];
    char model[32];
    unsigned size;
    FxData d;
} FxState;

/* ---- hooks implemented by each fixture ---- */
static const FxVar *fx_variables(size_t *n);
static void fx_start(FxData *d);       /* start values */
static void fx_initialize(FxData *d);  /* calculated initial values (Instantiated/Initialization) */
static void fx_evaluate(FxData *d);    /* outputs and derivatives from the current values */
#ifdef FX_TYPED
/* Get (set = 0) or set (set = 1) variables of every type but float64; `fn` is the FMI
 * function's name (fmi2GetInteger, fmi3SetUInt64, ...), `values` its value array. Defining
 * FX_TYPED also requires the type FxTyped (kept in FxData.x, so FMU states include it). */
static int fx_typed(FxInstance *m, const char *fn, int set, const unsigned vr[], size_t nvr,
                    void *values, size_t nvalues);
#endif
/* FX_FLAG_TERMINATED (a FxData.flag index): the FMU has ended the simulation (FMI 2:
 * fmi2GetBooleanStatus(fmi2Terminated); FMI 3: DoStep's terminateSimulation); FX_FLAG_EARLY:
 * FMI 3 DoStep's earlyReturn (cleared by every DoStep). */
#if FX_INTERFACE == FX_CS
static int fx_do_step(FxInstance *m, double t, double h);
#else
static void fx_get_states(const FxData *d, double x[]);
static void fx_set_states(FxData *d, const double x[]);
static void fx_derivatives(FxData *d, double dx[]);
static void fx_indicators(FxData *d, double z[]);
static void fx_event_update(FxInstance *m, FxEvent *ev);
#endif

/* ---- shared helpers ---- */

static void fx_log(FxInstance *m, int status, int category, const char *fmt, ...) {
    char text[512];
    va_list ap;
    if (m == NULL || (status < FX_DISCARD && !m->log_on[category])) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
#if FX_FMI_VERSION == 2
    if (m->cb.logger != NULL) {
        /* the FMI 2 logger takes a printf format: escape '%' so the text arrives verbatim */
        char escaped[1024];
        size_t i, k = 0;
        for (i = 0; text[i] != '\0' && k + 2 < sizeof escaped; i++) {
            if (text[i] == '%') escaped[k++] = '%';
            escaped[k++] = text[i];
        }
        escaped[k] = '\0';
        m->cb.logger(m->cb.componentEnvironment, m->name, (fmi2Status)status,
                     fx_category_names[category], escaped);
    }
#else
    if (m->logger != NULL) m->logger(m->env, (fmi3Status)status, fx_category_names[category], text);
#endif
}

/* shortest text that reads back as the same double, written like Python's repr (1.0, 0.25) */
static const char *fx_num(double x, char buf[40]) {
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, 40, "%.*g", p, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (isfinite(x) && strpbrk(buf, ".e") == NULL) strcat(buf, ".0");
    return buf;
}

static const char *fx_mode_name(int mode) {
    switch (mode) {
    case FX_INSTANTIATED: return "Instantiated";
    case FX_INITIALIZATION: return "Initialization Mode";
    case FX_STEP: return "Step Mode";
    case FX_EVENT: return "Event Mode";
    case FX_CONTINUOUS: return "Continuous-Time Mode";
    case FX_TERMINATED: return "Terminated";
    case FX_ERRORED: return "the error state";
    default: return "the fatal state";
    }
}

static int fx_check(FxInstance *m, const char *fn, int modes) {
    if (m == NULL) return 0;
    if (m->mode & modes) return 1;
    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: not allowed in %s", fn, fx_mode_name(m->mode));
    return 0;
}

static int fx_unsupported(FxInstance *m, const char *fn) {
    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: not supported by %s", fn, FX_MODEL_IDENTIFIER);
    return FX_ERROR;
}

static void fx_setup(FxInstance *m, const char *name, int logging_on) {
    int i;
    memset(&m->d, 0, sizeof m->d);
    snprintf(m->name, sizeof m->name, "%s", name ? name : "");
    for (i = 0; i < FX_NCATEGORIES; i++) m->log_on[i] = logging_on ? 1 : 0;
    m->mode = FX_INSTANTIATED;
    m->last_step_status = FX_OK;
    m->start_time = 0.0;
    fx_start(&m->d);
}

static int fx_set_logging(FxInstance *m, int on, size_t n, const char *const categories[]) {
    size_t i;
    int k;
    if (!fx_check(m, "SetDebugLogging", FX_NOT_FATAL)) return FX_ERROR;
    if (n == 0) {
        for (k = 0; k < FX_NCATEGORIES; k++) m->log_on[k] = on ? 1 : 0;
        return FX_OK;
    }
    for (i = 0; i < n; i++) {
        for (k = 0; k < FX_NCATEGORIES; k++)
            if (categories[i] != NULL && strcmp(categories[i], fx_category_names[k]) == 0) break;
        if (k == FX_NCATEGORIES) {
            fx_log(m, FX_ERROR, FX_LOG_ERROR, "SetDebugLogging: unknown log category \"%s\"",
                   categories[i] ? categories[i] : "(null)");
            return FX_ERROR;
        }
        m->log_on[k] = on ? 1 : 0;
    }
    return FX_OK;
}

static const FxVar *fx_lookup(unsigned vr) {
    size_t n;
    const FxVar *vars = fx_variables(&n);
    return (vr < n && vars[vr].vr == vr) ? &vars[vr] : NULL;
}

static void fx_refresh(FxInstance *m) {
    if (m->mode & (FX_INSTANTIATED | FX_INITIALIZATION)) fx_initialize(&m->d);
    fx_evaluate(&m->d);
}

static int fx_get(FxInstance *m, const char *fn, const unsigned vr[], size_t nvr,
                  double values[], size_t nvalues) {
    size_t i, k = 0;
    if (!fx_check(m, fn, FX_NOT_FATAL)) return FX_ERROR;
    if (nvr > 0) fx_refresh(m);
    for (i = 0; i < nvr; i++) {
        const FxVar *v = fx_lookup(vr[i]);
        if (v == NULL) {
            fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: unknown value reference %u", fn, vr[i]);
            return FX_ERROR;
        }
        if (k + (size_t)v->count > nvalues) break;
        if (v->kind == FX_INDEPENDENT) values[k] = m->d.time;
        else memcpy(values + k, m->d.r + v->slot, (size_t)v->count * sizeof(double));
        k += (size_t)v->count;
    }
    if (i < nvr || k != nvalues) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: nValues=%lu does not match the variables' sizes",
               fn, (unsigned long)nvalues);
        return FX_ERROR;
    }
    return FX_OK;
}

/* whether variable `v` may be set now (logs the refusal) */
static int fx_may_set(FxInstance *m, const char *fn, const FxVar *v) {
    int ok = v->kind == FX_INPUT ||
             (v->kind == FX_DISCRETE_INPUT && (m->mode & (FX_INSTANTIATED | FX_INITIALIZATION | FX_EVENT | FX_STEP))) ||
             ((v->kind == FX_PARAMETER || v->kind == FX_EXACT_STATE) &&
              (m->mode & (FX_INSTANTIATED | FX_INITIALIZATION)));
    if (!ok)
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: variable \"%s\" cannot be set in %s", fn, v->name,
               fx_mode_name(m->mode));
    return ok;
}

static int fx_set(FxInstance *m, const char *fn, const unsigned vr[], size_t nvr,
                  const double values[], size_t nvalues) {
    size_t i, k = 0;
    if (!fx_check(m, fn, FX_INSTANTIATED | FX_INITIALIZATION | FX_RUNNING)) return FX_ERROR;
    for (i = 0; i < nvr; i++) {  /* check everything before changing anything */
        const FxVar *v = fx_lookup(vr[i]);
        int ok;
        if (v == NULL) {
            fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: unknown value reference %u", fn, vr[i]);
            return FX_ERROR;
        }
        ok = v->kind == FX_INPUT ||
             (v->kind == FX_DISCRETE_INPUT && (m->mode & (FX_INSTANTIATED | FX_INITIALIZATION | FX_EVENT | FX_STEP))) ||
             ((v->kind == FX_PARAMETER || v->kind == FX_EXACT_STATE) &&
              (m->mode & (FX_INSTANTIATED | FX_INITIALIZATION)));
        if (!ok) {
            fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: variable \"%s\" cannot be set in %s", fn,
                   v->name, fx_mode_name(m->mode));
            return FX_ERROR;
        }
        k += (size_t)v->count;
    }
    if (k != nvalues) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: nValues=%lu does not match the variables' sizes",
               fn, (unsigned long)nvalues);
        return FX_ERROR;
    }
    for (i = 0, k = 0; i < nvr; i++) {
        const FxVar *v = fx_lookup(vr[i]);
        memcpy(m->d.r + v->slot, values + k, (size_t)v->count * sizeof(double));
        k += (size_t)v->count;
    }
    return FX_OK;
}

static int fx_no_variables(FxInstance *m, const char *fn, const unsigned vr[], size_t nvr) {
    if (!fx_check(m, fn, FX_NOT_FATAL)) return FX_ERROR;
    if (nvr == 0) return FX_OK;
    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: unknown value reference %u (this FMU has only float64 "
           "variables)", fn, vr[0]);
    return FX_ERROR;
}

static void fx_enter_initialization(FxInstance *m, double start_time) {
    m->start_time = start_time;
    m->d.time = start_time;
    m->mode = FX_INITIALIZATION;
    fx_initialize(&m->d);
}

static void fx_exit_initialization(FxInstance *m) {
    fx_initialize(&m->d);
    fx_evaluate(&m->d);
    m->mode = FX_INTERFACE == FX_CS ? FX_STEP : FX_EVENT;
}

static void fx_reset(FxInstance *m) {
    memset(&m->d, 0, sizeof m->d);
    fx_start(&m->d);
    m->mode = FX_INSTANTIATED;
    m->last_step_status = FX_OK;
    m->start_time = 0.0;
}

/* FMU state: a tagged copy of FxData; `fresh` is the allocated block when *state is NULL */
static int fx_state_store(FxInstance *m, void **state, void *fresh) {
    FxState *s = *state ? (FxState *)*state : (FxState *)fresh;
    if (s == NULL) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "GetFMUState: out of memory");
        return FX_ERROR;
    }
    memset(s, 0, sizeof *s);
    memcpy(s->magic, "FXSTATE", 8);
    snprintf(s->model, sizeof s->model, "%s", FX_MODEL_IDENTIFIER);
    s->size = (unsigned)sizeof(FxData);
    s->d = m->d;
    *state = s;
    return FX_OK;
}

static int fx_state_valid(FxInstance *m, const FxState *s, const char *fn) {
    if (s != NULL && memcmp(s->magic, "FXSTATE", 8) == 0 && s->size == sizeof(FxData) &&
        strncmp(s->model, FX_MODEL_IDENTIFIER, sizeof s->model) == 0)
        return 1;
    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: not an FMU state of %s", fn, FX_MODEL_IDENTIFIER);
    return 0;
}

static int fx_state_restore(FxInstance *m, const void *state) {
    if (!fx_check(m, "SetFMUState", FX_INSTANTIATED | FX_INITIALIZATION | FX_RUNNING | FX_TERMINATED))
        return FX_ERROR;
    if (!fx_state_valid(m, (const FxState *)state, "SetFMUState")) return FX_ERROR;
    m->d = ((const FxState *)state)->d;
    return FX_OK;
}

static int fx_serialize(FxInstance *m, const void *state, unsigned char out[], size_t size) {
    if (!fx_state_valid(m, (const FxState *)state, "SerializeFMUState")) return FX_ERROR;
    if (size != sizeof(FxState)) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "SerializeFMUState: size must be %lu",
               (unsigned long)sizeof(FxState));
        return FX_ERROR;
    }
    memcpy(out, state, sizeof(FxState));
    return FX_OK;
}

static int fx_deserialize(FxInstance *m, const unsigned char in[], size_t size, void **state,
                          void *fresh) {
    FxState tmp;
    if (size != sizeof(FxState)) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "DeserializeFMUState: %lu bytes, expected %lu",
               (unsigned long)size, (unsigned long)sizeof(FxState));
        return FX_ERROR;
    }
    memcpy(&tmp, in, sizeof tmp);
    if (!fx_state_valid(m, &tmp, "DeserializeFMUState")) return FX_ERROR;
    if (*state == NULL) *state = fresh;
    if (*state == NULL) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "DeserializeFMUState: out of memory");
        return FX_ERROR;
    }
    memcpy(*state, &tmp, sizeof tmp);
    return FX_OK;
}

#if FX_INTERFACE == FX_ME
static int fx_count_ok(FxInstance *m, const char *fn, size_t n, size_t expected) {
    if (n == expected) return 1;
    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: size %lu, expected %lu", fn, (unsigned long)n,
           (unsigned long)expected);
    return 0;
}
#endif

#if FX_INTERFACE == FX_CS
static int fx_step(FxInstance *m, double t, double h) {
    int status;
    char a[40], b[40];
    if (!fx_check(m, "DoStep", FX_STEP)) return FX_ERROR;
    if (!(h >= 0.0)) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "DoStep: invalid step size h=%s", fx_num(h, a));
        return FX_ERROR;
    }
    if (!(fabs(t - m->d.time) <= 1e-9 * fmax(1.0, fabs(t)))) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "DoStep: currentCommunicationPoint=%s but the FMU is at t=%s",
               fx_num(t, a), fx_num(m->d.time, b));
        return FX_ERROR;
    }
    status = fx_do_step(m, t, h);
    m->last_step_status = status;
    if (status == FX_ERROR) m->mode = FX_ERRORED;
    if (status == FX_FATAL) m->mode = FX_FATALED;
    return status;
}
#endif

/* ======================================================================================= */
#if FX_FMI_VERSION == 2

#define FX_M ((FxInstance *)c)

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories,
                               const fmi2String categories[]) {
    return (fmi2Status)fx_set_logging(FX_M, loggingOn, nCategories, categories);
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    FxInstance *m;
    fmi2Type expected = FX_INTERFACE == FX_CS ? fmi2CoSimulation : fmi2ModelExchange;
    (void)fmuResourceLocation;
    (void)visible;
    if (functions == NULL || functions->allocateMemory == NULL || functions->freeMemory == NULL)
        return NULL;
    m = (FxInstance *)functions->allocateMemory(1, sizeof(FxInstance));
    if (m == NULL) return NULL;
    m->cb = *functions;
    fx_setup(m, instanceName, loggingOn);
    if (fmuType != expected) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "fmi2Instantiate: %s is a %s FMU", FX_MODEL_IDENTIFIER,
               FX_INTERFACE == FX_CS ? "co-simulation" : "model exchange");
    } else if (fmuGUID == NULL || strcmp(fmuGUID, FX_TOKEN) != 0) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "fmi2Instantiate: GUID %s does not match %s",
               fmuGUID ? fmuGUID : "(null)", FX_TOKEN);
    } else {
        return m;
    }
    functions->freeMemory(m);
    return NULL;
}

void fmi2FreeInstance(fmi2Component c) {
    if (c != NULL) FX_M->cb.freeMemory(c);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (!fx_check(FX_M, "fmi2SetupExperiment", FX_INSTANTIATED)) return fmi2Error;
    FX_M->start_time = startTime;
    FX_M->d.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
    if (!fx_check(FX_M, "fmi2EnterInitializationMode", FX_INSTANTIATED)) return fmi2Error;
    fx_enter_initialization(FX_M, FX_M->start_time);
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    if (!fx_check(FX_M, "fmi2ExitInitializationMode", FX_INITIALIZATION)) return fmi2Error;
    fx_exit_initialization(FX_M);
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
    if (!fx_check(FX_M, "fmi2Terminate", FX_RUNNING | FX_ERRORED)) return fmi2Error;
    FX_M->mode = FX_TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
    if (!fx_check(FX_M, "fmi2Reset", FX_NOT_FATAL)) return fmi2Error;
    fx_reset(FX_M);
    return fmi2OK;
}

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    return (fmi2Status)fx_get(FX_M, "fmi2GetReal", vr, nvr, value, nvr);
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                       const fmi2Real value[]) {
    return (fmi2Status)fx_set(FX_M, "fmi2SetReal", vr, nvr, value, nvr);
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2GetInteger", 0, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2GetInteger", vr, nvr);
#endif
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2GetBoolean", 0, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2GetBoolean", vr, nvr);
#endif
}

fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2GetString", 0, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2GetString", vr, nvr);
#endif
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                          const fmi2Integer value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2SetInteger", 1, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2SetInteger", vr, nvr);
#endif
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                          const fmi2Boolean value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2SetBoolean", 1, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2SetBoolean", vr, nvr);
#endif
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                         const fmi2String value[]) {
#ifdef FX_TYPED
    return (fmi2Status)fx_typed(FX_M, "fmi2SetString", 1, vr, nvr, (void *)value, nvr);
#else
    (void)value;
    return (fmi2Status)fx_no_variables(FX_M, "fmi2SetString", vr, nvr);
#endif
}

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *FMUstate) {
    void *fresh = NULL;
    if (!fx_check(FX_M, "fmi2GetFMUstate", FX_NOT_FATAL & ~FX_ERRORED) || FMUstate == NULL) return fmi2Error;
    if (*FMUstate == NULL) fresh = FX_M->cb.allocateMemory(1, sizeof(FxState));
    return (fmi2Status)fx_state_store(FX_M, FMUstate, fresh);
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate FMUstate) {
    return (fmi2Status)fx_state_restore(FX_M, FMUstate);
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *FMUstate) {
    if (c == NULL) return fmi2Error;
    if (FMUstate != NULL && *FMUstate != NULL) {
        FX_M->cb.freeMemory(*FMUstate);
        *FMUstate = NULL;
    }
    return fmi2OK;
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate FMUstate, size_t *size) {
    if (c == NULL || size == NULL) return fmi2Error;
    (void)FMUstate;
    *size = sizeof(FxState);
    return fmi2OK;
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate FMUstate, fmi2Byte serializedState[],
                                 size_t size) {
    if (c == NULL) return fmi2Error;
    return (fmi2Status)fx_serialize(FX_M, FMUstate, (unsigned char *)serializedState, size);
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size,
                                   fmi2FMUstate *FMUstate) {
    void *fresh = NULL;
    fmi2Status status;
    if (c == NULL || FMUstate == NULL) return fmi2Error;
    if (*FMUstate == NULL) fresh = FX_M->cb.allocateMemory(1, sizeof(FxState));
    status = (fmi2Status)fx_deserialize(FX_M, (const unsigned char *)serializedState, size, FMUstate, fresh);
    if (status != fmi2OK && fresh != NULL) FX_M->cb.freeMemory(fresh);
    return status;
}

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[],
                                        size_t nUnknown, const fmi2ValueReference vKnown_ref[],
                                        size_t nKnown, const fmi2Real dvKnown[], fmi2Real dvUnknown[]) {
    (void)vUnknown_ref; (void)nUnknown; (void)vKnown_ref; (void)nKnown; (void)dvKnown; (void)dvUnknown;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetDirectionalDerivative");
}

/* ---- model exchange ---- */

fmi2Status fmi2EnterEventMode(fmi2Component c) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2EnterEventMode", FX_CONTINUOUS | FX_EVENT)) return fmi2Error;
    FX_M->mode = FX_EVENT;
    return fmi2OK;
#else
    return (fmi2Status)fx_unsupported(FX_M, "fmi2EnterEventMode");
#endif
}

fmi2Status fmi2NewDiscreteStates(fmi2Component c, fmi2EventInfo *info) {
#if FX_INTERFACE == FX_ME
    FxEvent ev = {0, 0, 0, 0.0};
    if (!fx_check(FX_M, "fmi2NewDiscreteStates", FX_EVENT) || info == NULL) return fmi2Error;
    fx_event_update(FX_M, &ev);
    info->newDiscreteStatesNeeded = fmi2False;
    info->terminateSimulation = ev.terminate ? fmi2True : fmi2False;
    info->nominalsOfContinuousStatesChanged = ev.nominals_changed ? fmi2True : fmi2False;
    info->valuesOfContinuousStatesChanged = ev.values_changed ? fmi2True : fmi2False;
    info->nextEventTimeDefined = ev.next_defined ? fmi2True : fmi2False;
    info->nextEventTime = ev.next_defined ? ev.next_time : 0.0;
    return fmi2OK;
#else
    (void)info;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2NewDiscreteStates");
#endif
}

fmi2Status fmi2EnterContinuousTimeMode(fmi2Component c) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2EnterContinuousTimeMode", FX_EVENT)) return fmi2Error;
    FX_M->mode = FX_CONTINUOUS;
    return fmi2OK;
#else
    return (fmi2Status)fx_unsupported(FX_M, "fmi2EnterContinuousTimeMode");
#endif
}

fmi2Status fmi2CompletedIntegratorStep(fmi2Component c, fmi2Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi2Boolean *enterEventMode, fmi2Boolean *terminateSimulation) {
    (void)noSetFMUStatePriorToCurrentPoint;
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2CompletedIntegratorStep", FX_CONTINUOUS)) return fmi2Error;
    if (enterEventMode) *enterEventMode = fmi2False;
    if (terminateSimulation) *terminateSimulation = fmi2False;
    return fmi2OK;
#else
    (void)enterEventMode; (void)terminateSimulation;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2CompletedIntegratorStep");
#endif
}

fmi2Status fmi2SetTime(fmi2Component c, fmi2Real time) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2SetTime", FX_EVENT | FX_CONTINUOUS)) return fmi2Error;
    FX_M->d.time = time;
    return fmi2OK;
#else
    (void)time;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2SetTime");
#endif
}

fmi2Status fmi2SetContinuousStates(fmi2Component c, const fmi2Real x[], size_t nx) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2SetContinuousStates", FX_EVENT | FX_CONTINUOUS) ||
        !fx_count_ok(FX_M, "fmi2SetContinuousStates", nx, FX_NSTATES))
        return fmi2Error;
    fx_set_states(&FX_M->d, x);
    return fmi2OK;
#else
    (void)x; (void)nx;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2SetContinuousStates");
#endif
}

fmi2Status fmi2GetDerivatives(fmi2Component c, fmi2Real derivatives[], size_t nx) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2GetDerivatives", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi2GetDerivatives", nx, FX_NSTATES))
        return fmi2Error;
    fx_refresh(FX_M);
    fx_derivatives(&FX_M->d, derivatives);
    return fmi2OK;
#else
    (void)derivatives; (void)nx;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetDerivatives");
#endif
}

fmi2Status fmi2GetEventIndicators(fmi2Component c, fmi2Real eventIndicators[], size_t ni) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2GetEventIndicators", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi2GetEventIndicators", ni, FX_NINDICATORS))
        return fmi2Error;
    fx_refresh(FX_M);
    fx_indicators(&FX_M->d, eventIndicators);
    return fmi2OK;
#else
    (void)eventIndicators; (void)ni;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetEventIndicators");
#endif
}

fmi2Status fmi2GetContinuousStates(fmi2Component c, fmi2Real x[], size_t nx) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi2GetContinuousStates", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi2GetContinuousStates", nx, FX_NSTATES))
        return fmi2Error;
    fx_refresh(FX_M);
    fx_get_states(&FX_M->d, x);
    return fmi2OK;
#else
    (void)x; (void)nx;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetContinuousStates");
#endif
}

fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component c, fmi2Real x_nominal[], size_t nx) {
#if FX_INTERFACE == FX_ME
    size_t i;
    if (!fx_check(FX_M, "fmi2GetNominalsOfContinuousStates", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi2GetNominalsOfContinuousStates", nx, FX_NSTATES))
        return fmi2Error;
    for (i = 0; i < nx; i++) x_nominal[i] = FX_NOMINAL(&FX_M->d, i);
    return fmi2OK;
#else
    (void)x_nominal; (void)nx;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetNominalsOfContinuousStates");
#endif
}

/* ---- co-simulation ---- */

fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[]) {
    (void)vr; (void)nvr; (void)order; (void)value;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2SetRealInputDerivatives");
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[]) {
    (void)vr; (void)nvr; (void)order; (void)value;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2GetRealOutputDerivatives");
}

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint,
                      fmi2Real communicationStepSize, fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    (void)noSetFMUStatePriorToCurrentPoint;
#if FX_INTERFACE == FX_CS
    return (fmi2Status)fx_step(FX_M, currentCommunicationPoint, communicationStepSize);
#else
    (void)currentCommunicationPoint; (void)communicationStepSize;
    return (fmi2Status)fx_unsupported(FX_M, "fmi2DoStep");
#endif
}

fmi2Status fmi2CancelStep(fmi2Component c) {
    return (fmi2Status)fx_unsupported(FX_M, "fmi2CancelStep (doStep never returns fmi2Pending)");
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *value) {
    if (!fx_check(FX_M, "fmi2GetStatus", FX_NOT_FATAL) || value == NULL) return fmi2Error;
    if (s != fmi2DoStepStatus) return fmi2Discard;
    *value = (fmi2Status)FX_M->last_step_status;
    return fmi2OK;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value) {
    if (!fx_check(FX_M, "fmi2GetRealStatus", FX_NOT_FATAL) || value == NULL) return fmi2Error;
    if (s != fmi2LastSuccessfulTime) return fmi2Discard;
    *value = FX_M->d.time;
    return fmi2OK;
}

fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer *value) {
    (void)s; (void)value;
    return fx_check(FX_M, "fmi2GetIntegerStatus", FX_NOT_FATAL) ? fmi2Discard : fmi2Error;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *value) {
    if (!fx_check(FX_M, "fmi2GetBooleanStatus", FX_NOT_FATAL) || value == NULL) return fmi2Error;
    if (s != fmi2Terminated) return fmi2Discard;
#ifdef FX_FLAG_TERMINATED
    *value = FX_M->d.flag[FX_FLAG_TERMINATED] ? fmi2True : fmi2False;
#else
    *value = fmi2False;  /* this fixture never asks to end the simulation */
#endif
    return fmi2OK;
}

fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String *value) {
    (void)s; (void)value;
    return fx_check(FX_M, "fmi2GetStringStatus", FX_NOT_FATAL) ? fmi2Discard : fmi2Error;
}

#undef FX_M

/* ======================================================================================= */
#else /* FMI 3.0 */

#define FX_M ((FxInstance *)instance)

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[]) {
    return (fmi3Status)fx_set_logging(FX_M, loggingOn, nCategories, categories);
}

static FxInstance *fx_instantiate3(const char *fn, int interface, fmi3String name, fmi3String token,
                                   fmi3Boolean loggingOn, fmi3InstanceEnvironment env,
                                   fmi3LogMessageCallback logger, int event_mode) {
    FxInstance tmp, *m;
    memset(&tmp, 0, sizeof tmp);
    tmp.env = env;
    tmp.logger = logger;
    fx_setup(&tmp, name, loggingOn);
    if (interface != FX_INTERFACE) {
        fx_log(&tmp, FX_ERROR, FX_LOG_ERROR, "%s: %s is a %s FMU", fn, FX_MODEL_IDENTIFIER,
               FX_INTERFACE == FX_CS ? "co-simulation" : "model exchange");
        return NULL;
    }
    if (token == NULL || strcmp(token, FX_TOKEN) != 0) {
        fx_log(&tmp, FX_ERROR, FX_LOG_ERROR, "%s: instantiationToken %s does not match %s", fn,
               token ? token : "(null)", FX_TOKEN);
        return NULL;
    }
    if (event_mode) {
        fx_log(&tmp, FX_ERROR, FX_LOG_ERROR, "%s: event mode is not supported (hasEventMode=false)", fn);
        return NULL;
    }
    m = (FxInstance *)malloc(sizeof *m);
    if (m != NULL) *m = tmp;
    return m;
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible,
                                          fmi3Boolean loggingOn, fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage) {
    (void)resourcePath; (void)visible;
    return fx_instantiate3("fmi3InstantiateModelExchange", FX_ME, instanceName, instantiationToken,
                           loggingOn, instanceEnvironment, logMessage, 0);
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken,
                                         fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                         fmi3Boolean eventModeUsed, fmi3Boolean earlyReturnAllowed,
                                         const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables,
                                         fmi3InstanceEnvironment instanceEnvironment,
                                         fmi3LogMessageCallback logMessage,
                                         fmi3IntermediateUpdateCallback intermediateUpdate) {
    (void)resourcePath; (void)visible; (void)earlyReturnAllowed; (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    return fx_instantiate3("fmi3InstantiateCoSimulation", FX_CS, instanceName, instantiationToken,
                           loggingOn, instanceEnvironment, logMessage, eventModeUsed);
}

fmi3Instance fmi3InstantiateScheduledExecution(fmi3String instanceName, fmi3String instantiationToken,
                                               fmi3String resourcePath, fmi3Boolean visible,
                                               fmi3Boolean loggingOn, fmi3InstanceEnvironment instanceEnvironment,
                                               fmi3LogMessageCallback logMessage,
                                               fmi3ClockUpdateCallback clockUpdate,
                                               fmi3LockPreemptionCallback lockPreemption,
                                               fmi3UnlockPreemptionCallback unlockPreemption) {
    (void)resourcePath; (void)visible; (void)clockUpdate; (void)lockPreemption; (void)unlockPreemption;
    return fx_instantiate3("fmi3InstantiateScheduledExecution", 0, instanceName, instantiationToken,
                           loggingOn, instanceEnvironment, logMessage, 0);
}

void fmi3FreeInstance(fmi3Instance instance) { free(instance); }

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined,
                                       fmi3Float64 tolerance, fmi3Float64 startTime,
                                       fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (!fx_check(FX_M, "fmi3EnterInitializationMode", FX_INSTANTIATED)) return fmi3Error;
    fx_enter_initialization(FX_M, startTime);
    return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance) {
    if (!fx_check(FX_M, "fmi3ExitInitializationMode", FX_INITIALIZATION)) return fmi3Error;
    fx_exit_initialization(FX_M);
    return fmi3OK;
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3EnterEventMode", FX_CONTINUOUS | FX_EVENT)) return fmi3Error;
    FX_M->mode = FX_EVENT;
    return fmi3OK;
#else
    return (fmi3Status)fx_unsupported(FX_M, "fmi3EnterEventMode");
#endif
}

fmi3Status fmi3Terminate(fmi3Instance instance) {
    if (!fx_check(FX_M, "fmi3Terminate", FX_RUNNING | FX_ERRORED)) return fmi3Error;
    FX_M->mode = FX_TERMINATED;
    return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance) {
    if (!fx_check(FX_M, "fmi3Reset", FX_NOT_FATAL)) return fmi3Error;
    fx_reset(FX_M);
    return fmi3OK;
}

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                          size_t nValueReferences, fmi3Float64 values[], size_t nValues) {
    return (fmi3Status)fx_get(FX_M, "fmi3GetFloat64", valueReferences, nValueReferences, values, nValues);
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                          size_t nValueReferences, const fmi3Float64 values[], size_t nValues) {
    return (fmi3Status)fx_set(FX_M, "fmi3SetFloat64", valueReferences, nValueReferences, values, nValues);
}

/* without FX_TYPED the fixtures have only Float64 variables: every other type is an unknown
 * value reference */
#ifdef FX_TYPED
#define FX_TYPED_CALL(fn, set)                                                                    \
    return (fmi3Status)fx_typed(FX_M, #fn, set, valueReferences, nValueReferences, (void *)values, nValues);
#else
#define FX_TYPED_CALL(fn, set)                                                                    \
    (void)values; (void)nValues;                                                                  \
    return (fmi3Status)fx_no_variables(FX_M, #fn, valueReferences, nValueReferences);
#endif
#define FX_NO_GET(fn, T)                                                                          \
    fmi3Status fn(fmi3Instance instance, const fmi3ValueReference valueReferences[],              \
                  size_t nValueReferences, T values[], size_t nValues) {                          \
        FX_TYPED_CALL(fn, 0)                                                                      \
    }
#define FX_NO_SET(fn, T)                                                                          \
    fmi3Status fn(fmi3Instance instance, const fmi3ValueReference valueReferences[],              \
                  size_t nValueReferences, const T values[], size_t nValues) {                    \
        FX_TYPED_CALL(fn, 1)                                                                      \
    }
FX_NO_GET(fmi3GetFloat32, fmi3Float32)
FX_NO_GET(fmi3GetInt8, fmi3Int8)
FX_NO_GET(fmi3GetUInt8, fmi3UInt8)
FX_NO_GET(fmi3GetInt16, fmi3Int16)
FX_NO_GET(fmi3GetUInt16, fmi3UInt16)
FX_NO_GET(fmi3GetInt32, fmi3Int32)
FX_NO_GET(fmi3GetUInt32, fmi3UInt32)
FX_NO_GET(fmi3GetInt64, fmi3Int64)
FX_NO_GET(fmi3GetUInt64, fmi3UInt64)
FX_NO_GET(fmi3GetBoolean, fmi3Boolean)
FX_NO_GET(fmi3GetString, fmi3String)
FX_NO_SET(fmi3SetFloat32, fmi3Float32)
FX_NO_SET(fmi3SetInt8, fmi3Int8)
FX_NO_SET(fmi3SetUInt8, fmi3UInt8)
FX_NO_SET(fmi3SetInt16, fmi3Int16)
FX_NO_SET(fmi3SetUInt16, fmi3UInt16)
FX_NO_SET(fmi3SetInt32, fmi3Int32)
FX_NO_SET(fmi3SetUInt32, fmi3UInt32)
FX_NO_SET(fmi3SetInt64, fmi3Int64)
FX_NO_SET(fmi3SetUInt64, fmi3UInt64)
FX_NO_SET(fmi3SetBoolean, fmi3Boolean)
FX_NO_SET(fmi3SetString, fmi3String)

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                         size_t nValueReferences, size_t valueSizes[], fmi3Binary values[], size_t nValues) {
    (void)valueSizes; (void)values; (void)nValues;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetBinary", valueReferences, nValueReferences);
}

fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                         size_t nValueReferences, const size_t valueSizes[], const fmi3Binary values[],
                         size_t nValues) {
    (void)valueSizes; (void)values; (void)nValues;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetBinary", valueReferences, nValueReferences);
}

fmi3Status fmi3GetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                        size_t nValueReferences, fmi3Clock values[]) {
    (void)values;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetClock", valueReferences, nValueReferences);
}

fmi3Status fmi3SetClock(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                        size_t nValueReferences, const fmi3Clock values[]) {
    (void)values;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetClock", valueReferences, nValueReferences);
}

fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference valueReference,
                                               size_t *nDependencies) {
    (void)valueReference; (void)nDependencies;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetNumberOfVariableDependencies");
}

fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent,
                                       size_t elementIndicesOfDependent[], fmi3ValueReference independents[],
                                       size_t elementIndicesOfIndependents[],
                                       fmi3DependencyKind dependencyKinds[], size_t nDependencies) {
    (void)dependent; (void)elementIndicesOfDependent; (void)independents;
    (void)elementIndicesOfIndependents; (void)dependencyKinds; (void)nDependencies;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetVariableDependencies");
}

fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState *FMUState) {
    void *fresh = NULL;
    fmi3Status status;
    if (!fx_check(FX_M, "fmi3GetFMUState", FX_NOT_FATAL & ~FX_ERRORED) || FMUState == NULL) return fmi3Error;
    if (*FMUState == NULL) fresh = malloc(sizeof(FxState));
    status = (fmi3Status)fx_state_store(FX_M, FMUState, fresh);
    return status;
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState) {
    return (fmi3Status)fx_state_restore(FX_M, FMUState);
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *FMUState) {
    if (instance == NULL) return fmi3Error;
    if (FMUState != NULL) {
        free(*FMUState);
        *FMUState = NULL;
    }
    return fmi3OK;
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t *size) {
    (void)FMUState;
    if (instance == NULL || size == NULL) return fmi3Error;
    *size = sizeof(FxState);
    return fmi3OK;
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[],
                                 size_t size) {
    if (instance == NULL) return fmi3Error;
    return (fmi3Status)fx_serialize(FX_M, FMUState, serializedState, size);
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState *FMUState) {
    void *fresh = NULL;
    fmi3Status status;
    if (instance == NULL || FMUState == NULL) return fmi3Error;
    if (*FMUState == NULL) fresh = malloc(sizeof(FxState));
    status = (fmi3Status)fx_deserialize(FX_M, serializedState, size, FMUState, fresh);
    if (status != fmi3OK) free(fresh);
    return status;
}

fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[],
                                        size_t nUnknowns, const fmi3ValueReference knowns[], size_t nKnowns,
                                        const fmi3Float64 seed[], size_t nSeed, fmi3Float64 sensitivity[],
                                        size_t nSensitivity) {
    (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed;
    (void)sensitivity; (void)nSensitivity;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetDirectionalDerivative");
}

fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[],
                                    size_t nUnknowns, const fmi3ValueReference knowns[], size_t nKnowns,
                                    const fmi3Float64 seed[], size_t nSeed, fmi3Float64 sensitivity[],
                                    size_t nSensitivity) {
    (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed;
    (void)sensitivity; (void)nSensitivity;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetAdjointDerivative");
}

fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance) {
    return (fmi3Status)fx_unsupported(FX_M, "fmi3EnterConfigurationMode (no structural parameters)");
}

fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance) {
    return (fmi3Status)fx_unsupported(FX_M, "fmi3ExitConfigurationMode (no structural parameters)");
}

fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, fmi3Float64 intervals[],
                                  fmi3IntervalQualifier qualifiers[]) {
    (void)intervals; (void)qualifiers;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetIntervalDecimal", valueReferences, nValueReferences);
}

fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[],
                                   fmi3IntervalQualifier qualifiers[]) {
    (void)counters; (void)resolutions; (void)qualifiers;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetIntervalFraction", valueReferences, nValueReferences);
}

fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, fmi3Float64 shifts[]) {
    (void)shifts;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetShiftDecimal", valueReferences, nValueReferences);
}

fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, fmi3UInt64 counters[], fmi3UInt64 resolutions[]) {
    (void)counters; (void)resolutions;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3GetShiftFraction", valueReferences, nValueReferences);
}

fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                  size_t nValueReferences, const fmi3Float64 intervals[]) {
    (void)intervals;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetIntervalDecimal", valueReferences, nValueReferences);
}

fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                   size_t nValueReferences, const fmi3UInt64 counters[],
                                   const fmi3UInt64 resolutions[]) {
    (void)counters; (void)resolutions;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetIntervalFraction", valueReferences, nValueReferences);
}

fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                               size_t nValueReferences, const fmi3Float64 shifts[]) {
    (void)shifts;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetShiftDecimal", valueReferences, nValueReferences);
}

fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                size_t nValueReferences, const fmi3UInt64 counters[],
                                const fmi3UInt64 resolutions[]) {
    (void)counters; (void)resolutions;
    return (fmi3Status)fx_no_variables(FX_M, "fmi3SetShiftFraction", valueReferences, nValueReferences);
}

fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance) {
    /* no clocked partitions: nothing to evaluate */
    return fx_check(FX_M, "fmi3EvaluateDiscreteStates", FX_NOT_FATAL) ? fmi3OK : fmi3Error;
}

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean *discreteStatesNeedUpdate,
                                    fmi3Boolean *terminateSimulation,
                                    fmi3Boolean *nominalsOfContinuousStatesChanged,
                                    fmi3Boolean *valuesOfContinuousStatesChanged,
                                    fmi3Boolean *nextEventTimeDefined, fmi3Float64 *nextEventTime) {
#if FX_INTERFACE == FX_ME
    FxEvent ev = {0, 0, 0, 0.0};
    if (!fx_check(FX_M, "fmi3UpdateDiscreteStates", FX_EVENT)) return fmi3Error;
    fx_event_update(FX_M, &ev);
    if (discreteStatesNeedUpdate) *discreteStatesNeedUpdate = false;
    if (terminateSimulation) *terminateSimulation = ev.terminate != 0;
    if (nominalsOfContinuousStatesChanged) *nominalsOfContinuousStatesChanged = ev.nominals_changed != 0;
    if (valuesOfContinuousStatesChanged) *valuesOfContinuousStatesChanged = ev.values_changed != 0;
    if (nextEventTimeDefined) *nextEventTimeDefined = ev.next_defined != 0;
    if (nextEventTime) *nextEventTime = ev.next_defined ? ev.next_time : 0.0;
    return fmi3OK;
#else
    (void)discreteStatesNeedUpdate; (void)terminateSimulation; (void)nominalsOfContinuousStatesChanged;
    (void)valuesOfContinuousStatesChanged; (void)nextEventTimeDefined; (void)nextEventTime;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3UpdateDiscreteStates (no event mode)");
#endif
}

/* ---- model exchange ---- */

fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance instance) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3EnterContinuousTimeMode", FX_EVENT)) return fmi3Error;
    FX_M->mode = FX_CONTINUOUS;
    return fmi3OK;
#else
    return (fmi3Status)fx_unsupported(FX_M, "fmi3EnterContinuousTimeMode");
#endif
}

fmi3Status fmi3CompletedIntegratorStep(fmi3Instance instance, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi3Boolean *enterEventMode, fmi3Boolean *terminateSimulation) {
    (void)noSetFMUStatePriorToCurrentPoint;
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3CompletedIntegratorStep", FX_CONTINUOUS)) return fmi3Error;
    if (enterEventMode) *enterEventMode = false;
    if (terminateSimulation) *terminateSimulation = false;
    return fmi3OK;
#else
    (void)enterEventMode; (void)terminateSimulation;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3CompletedIntegratorStep");
#endif
}

fmi3Status fmi3SetTime(fmi3Instance instance, fmi3Float64 time) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3SetTime", FX_EVENT | FX_CONTINUOUS)) return fmi3Error;
    FX_M->d.time = time;
    return fmi3OK;
#else
    (void)time;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3SetTime");
#endif
}

fmi3Status fmi3SetContinuousStates(fmi3Instance instance, const fmi3Float64 continuousStates[],
                                   size_t nContinuousStates) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3SetContinuousStates", FX_EVENT | FX_CONTINUOUS) ||
        !fx_count_ok(FX_M, "fmi3SetContinuousStates", nContinuousStates, FX_NSTATES))
        return fmi3Error;
    fx_set_states(&FX_M->d, continuousStates);
    return fmi3OK;
#else
    (void)continuousStates; (void)nContinuousStates;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3SetContinuousStates");
#endif
}

fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance instance, fmi3Float64 derivatives[],
                                             size_t nContinuousStates) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3GetContinuousStateDerivatives", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi3GetContinuousStateDerivatives", nContinuousStates, FX_NSTATES))
        return fmi3Error;
    fx_refresh(FX_M);
    fx_derivatives(&FX_M->d, derivatives);
    return fmi3OK;
#else
    (void)derivatives; (void)nContinuousStates;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetContinuousStateDerivatives");
#endif
}

fmi3Status fmi3GetEventIndicators(fmi3Instance instance, fmi3Float64 eventIndicators[],
                                  size_t nEventIndicators) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3GetEventIndicators", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi3GetEventIndicators", nEventIndicators, FX_NINDICATORS))
        return fmi3Error;
    fx_refresh(FX_M);
    fx_indicators(&FX_M->d, eventIndicators);
    return fmi3OK;
#else
    (void)eventIndicators; (void)nEventIndicators;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetEventIndicators");
#endif
}

fmi3Status fmi3GetContinuousStates(fmi3Instance instance, fmi3Float64 continuousStates[],
                                   size_t nContinuousStates) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3GetContinuousStates", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi3GetContinuousStates", nContinuousStates, FX_NSTATES))
        return fmi3Error;
    fx_refresh(FX_M);
    fx_get_states(&FX_M->d, continuousStates);
    return fmi3OK;
#else
    (void)continuousStates; (void)nContinuousStates;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetContinuousStates");
#endif
}

fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance instance, fmi3Float64 nominals[],
                                             size_t nContinuousStates) {
#if FX_INTERFACE == FX_ME
    size_t i;
    if (!fx_check(FX_M, "fmi3GetNominalsOfContinuousStates", FX_NOT_FATAL) ||
        !fx_count_ok(FX_M, "fmi3GetNominalsOfContinuousStates", nContinuousStates, FX_NSTATES))
        return fmi3Error;
    for (i = 0; i < nContinuousStates; i++) nominals[i] = FX_NOMINAL(&FX_M->d, i);
    return fmi3OK;
#else
    (void)nominals; (void)nContinuousStates;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetNominalsOfContinuousStates");
#endif
}

fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance instance, size_t *nEventIndicators) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3GetNumberOfEventIndicators", FX_NOT_FATAL) || nEventIndicators == NULL)
        return fmi3Error;
    *nEventIndicators = FX_NINDICATORS;
    return fmi3OK;
#else
    (void)nEventIndicators;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetNumberOfEventIndicators");
#endif
}

fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance instance, size_t *nContinuousStates) {
#if FX_INTERFACE == FX_ME
    if (!fx_check(FX_M, "fmi3GetNumberOfContinuousStates", FX_NOT_FATAL) || nContinuousStates == NULL)
        return fmi3Error;
    *nContinuousStates = FX_NSTATES;
    return fmi3OK;
#else
    (void)nContinuousStates;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetNumberOfContinuousStates");
#endif
}

/* ---- co-simulation ---- */

fmi3Status fmi3EnterStepMode(fmi3Instance instance) {
    return (fmi3Status)fx_unsupported(FX_M, "fmi3EnterStepMode (no event mode)");
}

fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference valueReferences[],
                                    size_t nValueReferences, const fmi3Int32 orders[], fmi3Float64 values[],
                                    size_t nValues) {
    (void)valueReferences; (void)nValueReferences; (void)orders; (void)values; (void)nValues;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3GetOutputDerivatives");
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint,
                      fmi3Float64 communicationStepSize, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                      fmi3Boolean *eventHandlingNeeded, fmi3Boolean *terminateSimulation,
                      fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime) {
    (void)noSetFMUStatePriorToCurrentPoint;
    if (eventHandlingNeeded) *eventHandlingNeeded = false;
    if (terminateSimulation) *terminateSimulation = false;
    if (earlyReturn) *earlyReturn = false;
#if FX_INTERFACE == FX_CS
    {
        int status;
#ifdef FX_FLAG_EARLY
        if (instance) FX_M->d.flag[FX_FLAG_EARLY] = 0;
#endif
        status = fx_step(FX_M, currentCommunicationPoint, communicationStepSize);
        if (lastSuccessfulTime && instance) *lastSuccessfulTime = FX_M->d.time;
#ifdef FX_FLAG_TERMINATED
        if (terminateSimulation && instance) *terminateSimulation = FX_M->d.flag[FX_FLAG_TERMINATED] != 0;
#endif
#ifdef FX_FLAG_EARLY
        if (earlyReturn && instance) *earlyReturn = FX_M->d.flag[FX_FLAG_EARLY] != 0;
#endif
        return (fmi3Status)status;
    }
#else
    (void)currentCommunicationPoint; (void)communicationStepSize;
    if (lastSuccessfulTime && instance) *lastSuccessfulTime = FX_M->d.time;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3DoStep");
#endif
}

/* ---- scheduled execution ---- */

fmi3Status fmi3ActivateModelPartition(fmi3Instance instance, fmi3ValueReference clockReference,
                                      fmi3Float64 activationTime) {
    (void)clockReference; (void)activationTime;
    return (fmi3Status)fx_unsupported(FX_M, "fmi3ActivateModelPartition");
}

#undef FX_M

#endif /* FX_FMI_VERSION */

#endif /* COSIM_FIXTURE_H */
