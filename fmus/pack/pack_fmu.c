/* What the FMI 2.0 and 3.0 wrappers of the pack FMU share; see pack_fmu.h. */
#include "pack_fmu.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const PF_CATEGORY[PF_N_CATEGORIES] = {"logStatusError", "logStatusWarning", "logEvents"};
const char *const PF_ARRAY_NAMES[PF_N_ARRAYS] = {"layer_voltage_V", "layer_temperature_K", "layer_anode_potential_V",
                                                  "layer_soc",       "layer_heat_W",        "string_current_A"};

/* scalar outputs averaged over a communication step (the others are end-of-step values) */
#define SCALAR_INDEX(field) ((int)(offsetof(PmScalars, field) / sizeof(double)))
#define UNLIMITED_W 1e12 /* power_limit_W when no limit bound (cosim.components.base.UNLIMITED_W) */

/* -- logging ---------------------------------------------------------------------------------- */

void pf_log(const PfCore *core, int status, int cat, const char *fmt, ...)
{
    char msg[PF_MSG_LEN];
    va_list ap;
    if (core == NULL) return;
    if (cat == PF_CAT_EVENTS && !core->log_on[PF_CAT_EVENTS]) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core->sink(core, status, PF_CATEGORY[cat], msg);
}

static void log_all(PfCore *core, int logging_on)
{
    int k;
    for (k = 0; k < PF_N_CATEGORIES; ++k) core->log_on[k] = logging_on ? 1 : 0;
}

int pf_set_debug_logging(PfCore *core, const char *fn, int logging_on, size_t n_categories,
                         const char *const categories[])
{
    size_t i;
    int k;
    if (core == NULL) return PF_ERROR;
    if (n_categories == 0) {
        log_all(core, logging_on);
        return PF_OK;
    }
    for (i = 0; i < n_categories; ++i) {
        int found = 0;
        for (k = 0; k < PF_N_CATEGORIES; ++k) {
            if (categories[i] != NULL && strcmp(categories[i], PF_CATEGORY[k]) == 0) {
                core->log_on[k] = logging_on ? 1 : 0;
                found = 1;
            }
        }
        if (!found) {
            PF_LOG_ERROR(core, "%s: unknown log category '%s'", fn, categories[i] ? categories[i] : "(null)");
            return PF_ERROR;
        }
    }
    return PF_OK;
}

/* -- lifecycle ------------------------------------------------------------------------------- */

int pf_instantiate(PfCore *core, const char *fn, const char *resources_dir, int logging_on)
{
    char path[4096], err[PM_MSG_LEN];
    size_t n = strlen(resources_dir);
    log_all(core, logging_on);
    if (n + 16 > sizeof path) {
        PF_LOG_ERROR(core, "%s: the resource path is too long", fn);
        return -1;
    }
    memcpy(path, resources_dir, n + 1);
    if (n > 0 && path[n - 1] != '/' && path[n - 1] != '\\') path[n++] = '/';
    memcpy(path + n, "pack.dat", sizeof "pack.dat");
    core->pack = pm_load(path, err, sizeof err);
    if (core->pack == NULL) {
        PF_LOG_ERROR(core, "%s: cannot read the pack's data %s: %s", fn, path, err);
        return -1;
    }
    pf_reset(core);
    pf_log(core, PF_OK, PF_CAT_EVENTS, "instantiated: %ld strings x %ld stacks x %ld unit cells from %s",
           (long)pm_n_strings(core->pack), (long)pm_n_stacks(core->pack), (long)pm_n_layers(core->pack), path);
    return 0;
}

void pf_free(PfCore *core)
{
    if (core == NULL) return;
    pm_free(core->pack);
    core->pack = NULL;
}

int pf_reset(PfCore *core)
{
    if (core == NULL) return PF_ERROR;
    memcpy(core->inputs, core->defaults.inputs, sizeof core->inputs);
    memcpy(core->parameters, core->defaults.parameters, sizeof core->parameters);
    memset(core->scalars, 0, sizeof core->scalars);
    core->phase = PF_PHASE_INSTANTIATED;
    core->ended = 0;
    core->start_time = core->time = 0.0;
    return PF_OK;
}

int pf_in_phase(const PfCore *core, int phase, const char *fn, const char *rule)
{
    if (core == NULL) return 0;
    if (core->phase == phase) return 1;
    PF_LOG_ERROR(core, "%s: %s", fn, rule);
    return 0;
}

static PmInputs inputs_of(const PfCore *core)
{
    PmInputs u;
    u.setpoint = core->inputs[0];
    u.coolant_temperature_K = core->inputs[1];
    u.ambient_temperature_K = core->inputs[2];
    u.coolant_h_W_m2K = core->inputs[3];
    return u;
}

/* the pack at the start time with the parameters and inputs set now; 0, or -1 logged */
static int init_pack(PfCore *core, const char *fn)
{
    char msg[PM_MSG_LEN];
    PmInputs u = inputs_of(core);
    if (!(core->parameters[2] > 0.0 && isfinite(core->parameters[2]))) {
        PF_LOG_ERROR(core, "%s: internal_step_s must be positive and finite, got %g", fn, core->parameters[2]);
        return -1;
    }
    if (pm_set_initial(core->pack, core->parameters[0], core->parameters[1], msg, sizeof msg) != PM_OK ||
        pm_initialize(core->pack, core->start_time, &u, msg, sizeof msg) != PM_OK) {
        PF_LOG_ERROR(core, "%s: %s", fn, msg);
        return -1;
    }
    memcpy(core->scalars, pm_scalars(core->pack), sizeof core->scalars);
    return 0;
}

int pf_enter_initialization(PfCore *core, const char *fn, double start_time)
{
    if (!pf_in_phase(core, PF_PHASE_INSTANTIATED, fn, "only allowed after instantiation")) return PF_ERROR;
    core->phase = PF_PHASE_INIT;
    core->start_time = core->time = start_time;
    return PF_OK;
}

int pf_exit_initialization(PfCore *core, const char *fn)
{
    if (!pf_in_phase(core, PF_PHASE_INIT, fn, "not in initialization mode")) return PF_ERROR;
    if (init_pack(core, fn) != 0) {
        core->phase = PF_PHASE_ERROR;
        return PF_ERROR;
    }
    core->phase = PF_PHASE_STEP;
    core->time = core->start_time;
    pf_log(core, PF_OK, PF_CAT_EVENTS, "initialized at t = %g s: SOC %g, %g K", core->start_time,
           core->scalars[SCALAR_INDEX(soc)], core->scalars[SCALAR_INDEX(mean_layer_temperature_K)]);
    return PF_OK;
}

int pf_terminate(PfCore *core, const char *fn)
{
    if (core == NULL) return PF_ERROR;
    if (core->phase != PF_PHASE_STEP && core->phase != PF_PHASE_ERROR) {
        PF_LOG_ERROR(core, "%s: only allowed after initialization", fn);
        return PF_ERROR;
    }
    core->phase = PF_PHASE_TERMINATED;
    return PF_OK;
}

int pf_do_step(PfCore *core, const char *fn, double t, double h, int *ended, double *last_successful_time)
{
    char msg[PM_MSG_LEN];
    double energy = 0.0, heat = 0.0, to_coolant = 0.0, dt, tk;
    int k, n, limited = 0, status = PF_OK;
    PmInputs u;
    const PmScalars *y;
    if (ended != NULL) *ended = 0;
    if (!pf_in_phase(core, PF_PHASE_STEP, fn, "only allowed after initialization (and before termination)"))
        return PF_ERROR;
    if (last_successful_time != NULL) *last_successful_time = core->time;
    if (core->ended) {
        PF_LOG_ERROR(core, "%s: the pack ended the run at t = %g s", fn, core->time);
        return PF_ERROR;
    }
    if (!(h > 0.0 && isfinite(h) && isfinite(t))) {
        PF_LOG_ERROR(core, "%s: the step size must be positive and finite, got %g at t = %g s", fn, h, t);
        return PF_ERROR;
    }
    if (fabs(t - core->time) > 1e-9 * (fabs(core->time) > 1.0 ? fabs(core->time) : 1.0)) {
        PF_LOG_ERROR(core, "%s: the communication point %.17g s is not the FMU's time %.17g s", fn, t, core->time);
        return PF_ERROR;
    }
    for (k = 0; k < PF_N_INPUTS; ++k) {
        if (!isfinite(core->inputs[k])) {
            PF_LOG_ERROR(core, "%s at t = %g s: input %d is not finite (%g)", fn, t, k + 1, core->inputs[k]);
            return PF_ERROR;
        }
    }
    u = inputs_of(core);
    /* internal steps of at most internal_step_s (as the thermal component's max_step_s) */
    n = (int)ceil(h / core->parameters[2] - 1e-9);
    if (n < 1) n = 1;
    dt = h / n;
    for (k = 0; k < n; ++k) {
        int rc;
        tk = t + k * dt;
        rc = pm_do_step(core->pack, tk, dt, &u, msg, sizeof msg);
        if (rc == PM_ERROR) {
            PF_LOG_ERROR(core, "%s at t = %g s: %s", fn, tk, msg);
            core->phase = PF_PHASE_ERROR;
            status = PF_ERROR;
            break;
        }
        y = pm_scalars(core->pack);
        energy += y->power_W * dt;
        heat += y->heat_W * dt;
        to_coolant += y->heat_to_coolant_W * dt;
        limited = limited || y->limited != 0.0;
        core->time = k + 1 == n ? t + h : t + (k + 1) * dt;
        if (rc == PM_ENDED) {
            pf_log(core, PF_WARNING, PF_CAT_WARNING, "%s: the run ends at t = %g s: %s", fn, core->time, msg);
            core->ended = 1;
            if (ended != NULL) *ended = 1;
            break;
        }
    }
    if (status == PF_OK) {
        double span = core->time - t;
        memcpy(core->scalars, pm_scalars(core->pack), sizeof core->scalars);
        core->scalars[SCALAR_INDEX(power_W)] = energy / span;
        core->scalars[SCALAR_INDEX(heat_W)] = heat / span;
        core->scalars[SCALAR_INDEX(heat_to_coolant_W)] = to_coolant / span;
        core->scalars[SCALAR_INDEX(limited)] = limited ? 1.0 : 0.0;
        core->scalars[SCALAR_INDEX(power_limit_W)] = limited ? energy / span : UNLIMITED_W;
    }
    if (last_successful_time != NULL) *last_successful_time = core->time;
    return status;
}

/* -- values ---------------------------------------------------------------------------------- */

enum { KIND_TIME, KIND_INPUT, KIND_PARAMETER, KIND_OUTPUT };

typedef struct {
    const double *value; /* first element (NULL: time) */
    double *settable;    /* where a set writes (inputs, parameters) */
    size_t n;
    int kind;
} Variable;

static const double *array_values(const PfCore *core, int a)
{
    switch (a) {
    case 0: return pm_layer_voltage_V(core->pack);
    case 1: return pm_layer_temperature_K(core->pack);
    case 2: return pm_layer_anode_potential_V(core->pack);
    case 3: return pm_layer_soc(core->pack);
    case 4: return pm_layer_heat_W(core->pack);
    default: return pm_string_current_A(core->pack);
    }
}

static size_t array_size(const PfCore *core, int a)
{
    int64_t S = pm_n_strings(core->pack);
    return (size_t)(a == PF_N_ARRAYS - 1 ? S : S * pm_n_stacks(core->pack) * pm_n_layers(core->pack));
}

/* the variable of a value reference; 0, or -1 if there is none */
static int variable(PfCore *core, unsigned int vr, int elementwise, Variable *var)
{
    var->n = 1;
    if (vr == PF_VR_TIME) {
        var->kind = KIND_TIME;
        var->value = var->settable = NULL;
        return 0;
    }
    if (vr >= PF_VR_SETPOINT && vr < PF_VR_SETPOINT + PF_N_INPUTS) {
        var->kind = KIND_INPUT;
        var->value = var->settable = &core->inputs[vr - PF_VR_SETPOINT];
        return 0;
    }
    if (vr >= PF_VR_INITIAL_SOC && vr < PF_VR_INITIAL_SOC + PF_N_PARAMETERS) {
        var->kind = KIND_PARAMETER;
        var->value = var->settable = &core->parameters[vr - PF_VR_INITIAL_SOC];
        return 0;
    }
    if (vr >= PF_VR_SCALARS && vr < PF_VR_SCALARS + (unsigned)PF_N_SCALARS) {
        var->kind = KIND_OUTPUT;
        var->value = &core->scalars[vr - PF_VR_SCALARS];
        var->settable = NULL;
        return 0;
    }
    if (vr >= PF_ARRAY_BASE) {
        int a = (int)(vr / PF_ARRAY_BASE) - 1;
        size_t k = vr % PF_ARRAY_BASE, size;
        if (a >= PF_N_ARRAYS) return -1;
        size = array_size(core, a);
        if (elementwise ? k >= size : k != 0) return -1;
        var->kind = KIND_OUTPUT;
        var->value = array_values(core, a) + k;
        var->settable = NULL;
        var->n = elementwise ? 1 : size;
        return 0;
    }
    return -1;
}

static int settable(const PfCore *core, const Variable *var, unsigned int vr, const char *fn)
{
    int phase = core->phase;
    if (var->kind == KIND_PARAMETER && phase != PF_PHASE_INSTANTIATED && phase != PF_PHASE_INIT) {
        PF_LOG_ERROR(core, "%s: the parameter with value reference %u can only be set before initialization ends",
                     fn, vr);
        return 0;
    }
    if (var->kind == KIND_INPUT && (phase == PF_PHASE_TERMINATED || phase == PF_PHASE_ERROR)) {
        PF_LOG_ERROR(core, "%s: the input with value reference %u cannot be set after termination or an error", fn,
                     vr);
        return 0;
    }
    if (var->settable == NULL) {
        PF_LOG_ERROR(core, "%s: value reference %u is not an input or a parameter", fn, vr);
        return 0;
    }
    return 1;
}

static int float64_values(PfCore *core, const char *fn, int setting, const unsigned int vr[], size_t nvr,
                          double *get, const double *set, size_t n_values, int elementwise)
{
    size_t i, k = 0;
    int initialized = 0;
    if (core == NULL) return PF_ERROR;
    if (nvr > 0 && (vr == NULL || (setting ? set == NULL : get == NULL))) {
        PF_LOG_ERROR(core, "%s: no value references or no values", fn);
        return PF_ERROR;
    }
    for (i = 0; i < nvr; ++i) {
        Variable var;
        if (variable(core, vr[i], elementwise, &var) != 0) {
            PF_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr[i]);
            return PF_ERROR;
        }
        if (setting && !settable(core, &var, vr[i], fn)) return PF_ERROR;
        if (k + var.n > n_values) {
            PF_LOG_ERROR(core, "%s: nValues = %lu is too small", fn, (unsigned long)n_values);
            return PF_ERROR;
        }
        if (setting) {
            memcpy(var.settable, set + k, var.n * sizeof *set);
        } else if (var.kind == KIND_TIME) {
            get[k] = core->time;
        } else {
            /* outputs read in initialization mode: the pack at the start with what is set now */
            if (var.kind == KIND_OUTPUT && core->phase == PF_PHASE_INIT && !initialized) {
                if (init_pack(core, fn) != 0) return PF_ERROR;
                initialized = 1;
                if (variable(core, vr[i], elementwise, &var) != 0) return PF_ERROR;
            }
            if (var.kind == KIND_OUTPUT && core->phase == PF_PHASE_INSTANTIATED) {
                PF_LOG_ERROR(core, "%s: outputs are known after initialization mode is entered", fn);
                return PF_ERROR;
            }
            memcpy(get + k, var.value, var.n * sizeof *get);
        }
        k += var.n;
    }
    if (k != n_values) {
        PF_LOG_ERROR(core, "%s: nValues = %lu, the variables hold %lu values", fn, (unsigned long)n_values,
                     (unsigned long)k);
        return PF_ERROR;
    }
    return PF_OK;
}

int pf_get_float64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, double values[],
                   size_t n_values, int elementwise)
{
    return float64_values(core, fn, 0, vr, nvr, values, NULL, n_values, elementwise);
}

int pf_set_float64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, const double values[],
                   size_t n_values, int elementwise)
{
    return float64_values(core, fn, 1, vr, nvr, NULL, values, n_values, elementwise);
}

static int dimension(const PfCore *core, unsigned int vr, unsigned long long *value)
{
    switch ((int)vr - PF_VR_DIMENSIONS) {
    case 0: *value = (unsigned long long)pm_n_strings(core->pack); return 0;
    case 1: *value = (unsigned long long)pm_n_stacks(core->pack); return 0;
    case 2: *value = (unsigned long long)pm_n_layers(core->pack); return 0;
    default: return -1;
    }
}

int pf_get_uint64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, unsigned long long values[],
                  size_t n_values)
{
    size_t i;
    if (core == NULL) return PF_ERROR;
    if (n_values != nvr) {
        PF_LOG_ERROR(core, "%s: nValues must equal nValueReferences", fn);
        return PF_ERROR;
    }
    for (i = 0; i < nvr; ++i) {
        if (dimension(core, vr[i], &values[i]) != 0) {
            PF_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr[i]);
            return PF_ERROR;
        }
    }
    return PF_OK;
}

int pf_set_uint64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr,
                  const unsigned long long values[], size_t n_values)
{
    size_t i;
    if (core == NULL) return PF_ERROR;
    if (n_values != nvr) {
        PF_LOG_ERROR(core, "%s: nValues must equal nValueReferences", fn);
        return PF_ERROR;
    }
    for (i = 0; i < nvr; ++i) {
        unsigned long long have;
        if (dimension(core, vr[i], &have) != 0) {
            PF_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr[i]);
            return PF_ERROR;
        }
        if (values[i] != have) {
            PF_LOG_ERROR(core, "%s: the pack's layout is fixed at export (value reference %u is %llu, not %llu)",
                         fn, vr[i], have, values[i]);
            return PF_ERROR;
        }
    }
    return PF_OK;
}

int pf_no_variables(const PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, const char *type)
{
    if (core == NULL) return PF_ERROR;
    if (nvr == 0) return PF_OK;
    PF_LOG_ERROR(core, "%s: unknown value reference %u (this FMU has no %s variables)", fn, vr[0],
                 type != NULL ? type : "such");
    return PF_ERROR;
}

/* -- FMU state ------------------------------------------------------------------------------- */
/* A state is [count, phase, ended, start_time, time, inputs, parameters, scalars, the pack's]. */

#define HEAD (5 + PF_N_INPUTS + PF_N_PARAMETERS + PF_N_SCALARS)

static size_t state_doubles(const PfCore *core) { return HEAD + pm_state_size(core->pack); }

/* *state if it holds n doubles, else a new block there (the old one freed); NULL, logged,
 * without memory */
static double *state_buffer(const PfCore *core, const char *fn, void **state, size_t n)
{
    double *s = (double *)*state;
    if (s != NULL && (size_t)s[0] != n) {
        free(s);
        *state = s = NULL;
    }
    if (s == NULL) {
        s = (double *)malloc(n * sizeof *s);
        if (s == NULL) {
            PF_LOG_ERROR(core, "%s: out of memory", fn);
            return NULL;
        }
        *state = s;
    }
    return s;
}

int pf_get_state(PfCore *core, const char *fn, void **state)
{
    size_t n;
    double *s;
    if (core == NULL || state == NULL) return PF_ERROR;
    n = state_doubles(core);
    s = state_buffer(core, fn, state, n);
    if (s == NULL) return PF_ERROR;
    s[0] = (double)n;
    s[1] = core->phase;
    s[2] = core->ended;
    s[3] = core->start_time;
    s[4] = core->time;
    memcpy(s + 5, core->inputs, sizeof core->inputs);
    memcpy(s + 5 + PF_N_INPUTS, core->parameters, sizeof core->parameters);
    memcpy(s + 5 + PF_N_INPUTS + PF_N_PARAMETERS, core->scalars, sizeof core->scalars);
    pm_get_state(core->pack, s + HEAD);
    return PF_OK;
}

int pf_set_state(PfCore *core, const char *fn, const void *state)
{
    const double *s = (const double *)state;
    if (core == NULL) return PF_ERROR;
    if (s == NULL || (size_t)s[0] != state_doubles(core)) {
        PF_LOG_ERROR(core, "%s: not a state of this FMU", fn);
        return PF_ERROR;
    }
    if (pm_set_state(core->pack, s + HEAD) != PM_OK) {
        PF_LOG_ERROR(core, "%s: the pack refused the state", fn);
        return PF_ERROR;
    }
    core->phase = (int)s[1];
    core->ended = (int)s[2];
    core->start_time = s[3];
    core->time = s[4];
    memcpy(core->inputs, s + 5, sizeof core->inputs);
    memcpy(core->parameters, s + 5 + PF_N_INPUTS, sizeof core->parameters);
    memcpy(core->scalars, s + 5 + PF_N_INPUTS + PF_N_PARAMETERS, sizeof core->scalars);
    return PF_OK;
}

int pf_free_state(PfCore *core, void **state)
{
    if (core == NULL || state == NULL) return PF_ERROR;
    free(*state);
    *state = NULL;
    return PF_OK;
}

static void state_magic(const PfCore *core, unsigned char magic[PF_MAGIC_LEN])
{
    static const char stem[PF_MAGIC_LEN - 2] = {'c', 'p', 'a', 'c', 'k', 'V'};
    memcpy(magic, stem, sizeof stem);
    magic[PF_MAGIC_LEN - 2] = (unsigned char)('0' + core->fmi_version);
    magic[PF_MAGIC_LEN - 1] = 0;
}

int pf_serialized_state_size(const PfCore *core, size_t *size)
{
    if (core == NULL || size == NULL) return PF_ERROR;
    *size = PF_MAGIC_LEN + state_doubles(core) * sizeof(double);
    return PF_OK;
}

int pf_serialize_state(const PfCore *core, const char *fn, const void *state, void *bytes, size_t size)
{
    unsigned char magic[PF_MAGIC_LEN];
    size_t n;
    if (core == NULL) return PF_ERROR;
    n = state_doubles(core);
    if (state == NULL || bytes == NULL || size != PF_MAGIC_LEN + n * sizeof(double) ||
        (size_t)((const double *)state)[0] != n) {
        PF_LOG_ERROR(core, "%s: no state or a buffer of the wrong size", fn);
        return PF_ERROR;
    }
    state_magic(core, magic);
    memcpy(bytes, magic, PF_MAGIC_LEN);
    memcpy((unsigned char *)bytes + PF_MAGIC_LEN, state, n * sizeof(double));
    return PF_OK;
}

int pf_deserialize_state(PfCore *core, const char *fn, const void *bytes, size_t size, void **state)
{
    unsigned char magic[PF_MAGIC_LEN];
    size_t n;
    double *s;
    if (core == NULL || state == NULL) return PF_ERROR;
    n = state_doubles(core);
    state_magic(core, magic);
    if (bytes == NULL || size != PF_MAGIC_LEN + n * sizeof(double) || memcmp(bytes, magic, PF_MAGIC_LEN) != 0) {
        PF_LOG_ERROR(core, "%s: not a state of this FMU", fn);
        return PF_ERROR;
    }
    s = state_buffer(core, fn, state, n);
    if (s == NULL) return PF_ERROR;
    memcpy(s, (const unsigned char *)bytes + PF_MAGIC_LEN, n * sizeof(double));
    return PF_OK;
}
