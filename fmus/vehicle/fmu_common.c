/* What the FMI 2.0 and 3.0 wrappers of the reference vehicle share; see fmu_common.h. */
#include "fmu_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const FC_CATEGORY[FC_N_CATEGORIES] = {"logStatusError", "logStatusWarning", "logEvents"};

/* -- logging ---------------------------------------------------------------------------------- */

void fc_log(const FcCore *core, int status, int cat, const char *fmt, ...)
{
    char msg[FC_MSG_LEN];
    va_list ap;
    if (core == NULL) return;
    if (cat == FC_CAT_EVENTS && !core->log_on[FC_CAT_EVENTS]) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core->sink(core, status, FC_CATEGORY[cat], msg);
}

static void log_all(FcCore *core, int logging_on)
{
    int k;
    for (k = 0; k < FC_N_CATEGORIES; ++k) core->log_on[k] = logging_on ? 1 : 0;
}

int fc_set_debug_logging(FcCore *core, const char *fn, int logging_on, size_t n_categories,
                         const char *const categories[])
{
    size_t i;
    int k;
    if (core == NULL) return FC_ERROR;
    if (n_categories == 0) {
        log_all(core, logging_on);
        return FC_OK;
    }
    for (i = 0; i < n_categories; ++i) {
        int found = 0;
        for (k = 0; k < FC_N_CATEGORIES; ++k) {
            if (categories[i] != NULL && strcmp(categories[i], FC_CATEGORY[k]) == 0) {
                core->log_on[k] = logging_on ? 1 : 0;
                found = 1;
            }
        }
        if (!found) {
            FC_LOG_ERROR(core, "%s: unknown log category '%s'", fn, categories[i] ? categories[i] : "(null)");
            return FC_ERROR;
        }
    }
    return FC_OK;
}

/* -- lifecycle ------------------------------------------------------------------------------- */

int fc_instantiate(FcCore *core, const char *fn, const char *cycle_path, int logging_on, const char *model_name)
{
    char err[VM_MSG_LEN];
    log_all(core, logging_on);
    if (vm_cycle_load(&core->cycle, cycle_path, err, sizeof err) != 0) {
        FC_LOG_ERROR(core, "%s: %s", fn, err);
        return -1;
    }
    fc_reset(core);
    fc_log(core, FC_OK, FC_CAT_EVENTS, "instantiated: %s, drive cycle %s (%lu samples)", model_name, cycle_path,
           (unsigned long)core->cycle.n);
    return 0;
}

void fc_free_instance(FcCore *core)
{
    void (*mem_free)(void *);
    if (core == NULL) return;
    mem_free = core->mem_free;
    vm_cycle_free(&core->cycle);
    mem_free(core);
}

int fc_reset(FcCore *core)
{
    if (core == NULL) return FC_ERROR;
    memset(&core->s, 0, sizeof core->s);
    core->defaults(&core->s.model);
    core->s.phase = FC_PHASE_INSTANTIATED;
    return FC_OK;
}

int fc_in_phase(const FcCore *core, int phase, const char *fn, const char *rule)
{
    if (core == NULL) return 0;
    if (core->s.phase == phase) return 1;
    FC_LOG_ERROR(core, "%s: %s", fn, rule);
    return 0;
}

/* vm_init at the start time (the outputs at the start); 0, or -1 logged */
static int init_model(FcCore *core)
{
    char err[VM_MSG_LEN];
    if (vm_init(&core->s.model, &core->cycle, core->s.start_time, err, sizeof err) != 0) {
        FC_LOG_ERROR(core, "%s", err);
        return -1;
    }
    return 0;
}

int fc_enter_initialization(FcCore *core, const char *fn, double start_time)
{
    if (!fc_in_phase(core, FC_PHASE_INSTANTIATED, fn, "only allowed after instantiation")) return FC_ERROR;
    core->s.phase = FC_PHASE_INIT;
    core->s.start_time = start_time;
    core->s.time = start_time;
    return FC_OK;
}

int fc_exit_initialization(FcCore *core, const char *fn)
{
    if (!fc_in_phase(core, FC_PHASE_INIT, fn, "not in initialization mode")) return FC_ERROR;
    if (init_model(core) != 0) {
        core->s.phase = FC_PHASE_ERROR;
        return FC_ERROR;
    }
    core->s.phase = FC_PHASE_STEP;
    core->s.time = core->s.start_time;
    fc_log(core, FC_OK, FC_CAT_EVENTS, "initialized at t = %g s (%s mode)", core->s.start_time,
           core->s.model.p.forward ? "forward" : "backward");
    return FC_OK;
}

int fc_terminate(FcCore *core, const char *fn)
{
    const VmState *st;
    if (!fc_in_phase(core, FC_PHASE_STEP, fn, "only allowed after initialization")) return FC_ERROR;
    st = &core->s.model.s;
    if (st->short_n > 0) /* the native vehicle's run note (backward mode only counts) */
        fc_log(core, FC_WARNING, FC_CAT_WARNING,
               "%s: backward mode: the pack could not deliver the trace's demand in %ld step(s), worst at t = %g s "
               "(asked %.6g W, the pack's limit %.6g W); use forward mode to let the limit slow the vehicle", fn,
               st->short_n, st->short_t_s, st->short_asked_W, st->short_limit_W);
    core->s.phase = FC_PHASE_TERMINATED;
    return FC_OK;
}

int fc_do_step(FcCore *core, const char *fn, double t, double h, double *last_successful_time)
{
    char err[VM_MSG_LEN];
    int status = FC_OK;
    if (!fc_in_phase(core, FC_PHASE_STEP, fn, "only allowed after initialization (and before termination)"))
        return FC_ERROR;
    if (vm_do_step(&core->s.model, &core->cycle, t, h, err, sizeof err) != 0) {
        FC_LOG_ERROR(core, "%s at t = %g s: %s", fn, t, err);
        core->s.phase = FC_PHASE_ERROR;
        status = FC_ERROR;
    } else {
        core->s.time = t + h;
    }
    if (last_successful_time != NULL) *last_successful_time = core->s.time;
    return status;
}

/* -- values ---------------------------------------------------------------------------------- */

/* whether the variable can be set now (logged if not) */
static int settable(const FcCore *core, const VmVariable *var, const char *fn)
{
    int phase = core->s.phase;
    if (var->kind == VM_KIND_PARAMETER && phase != FC_PHASE_INSTANTIATED && phase != FC_PHASE_INIT) {
        FC_LOG_ERROR(core, "%s: the parameter %s can only be set before initialization ends", fn, var->name);
        return 0;
    }
    if (var->kind == VM_KIND_INPUT && (phase == FC_PHASE_TERMINATED || phase == FC_PHASE_ERROR)) {
        FC_LOG_ERROR(core, "%s: the input %s cannot be set after termination or an error", fn, var->name);
        return 0;
    }
    if (var->kind == VM_KIND_OUTPUT || var->kind == VM_KIND_TIME) {
        FC_LOG_ERROR(core, "%s: %s is not an input or a parameter", fn, var->name);
        return 0;
    }
    return 1;
}

/* the loop of fc_get_float64 (setting = 0: into get) and fc_set_float64 (setting = 1: from set) */
static int float64_values(FcCore *core, const char *fn, int setting, const unsigned int vr[], size_t nvr,
                          double *get, const double *set, size_t n_values, int elementwise)
{
    size_t i, k = 0;
    if (core == NULL) return FC_ERROR;
    for (i = 0; i < nvr; ++i) {
        VmVariable var;
        if (vm_variable(&core->s.model, vr[i], elementwise, &var) != 0) {
            FC_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr[i]);
            return FC_ERROR;
        }
        if (setting && !settable(core, &var, fn)) return FC_ERROR;
        if (k + var.n > n_values) {
            FC_LOG_ERROR(core, "%s: nValues = %lu is too small", fn, (unsigned long)n_values);
            return FC_ERROR;
        }
        if (setting) {
            memcpy(var.value, set + k, var.n * sizeof *set);
        } else if (var.kind == VM_KIND_TIME) {
            get[k] = core->s.time;
        } else {
            if (var.kind == VM_KIND_OUTPUT && core->s.phase == FC_PHASE_INIT && init_model(core) != 0)
                return FC_ERROR;
            memcpy(get + k, var.value, var.n * sizeof *get);
        }
        k += var.n;
    }
    if (k != n_values) {
        FC_LOG_ERROR(core, "%s: nValues = %lu, the variables hold %lu values", fn, (unsigned long)n_values,
                     (unsigned long)k);
        return FC_ERROR;
    }
    return FC_OK;
}

int fc_get_float64(FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, double values[],
                   size_t n_values, int elementwise)
{
    return float64_values(core, fn, 0, vr, nvr, values, NULL, n_values, elementwise);
}

int fc_set_float64(FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, const double values[],
                   size_t n_values, int elementwise)
{
    return float64_values(core, fn, 1, vr, nvr, NULL, values, n_values, elementwise);
}

int *fc_boolean(FcCore *core, const char *fn, unsigned int vr, int set)
{
    if (core == NULL) return NULL;
    if (vr != VM_ID_FORWARD) {
        FC_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr);
        return NULL;
    }
    if (set && core->s.phase != FC_PHASE_INSTANTIATED && core->s.phase != FC_PHASE_INIT) {
        FC_LOG_ERROR(core, "%s: the parameter forward can only be set before initialization ends", fn);
        return NULL;
    }
    return &core->s.model.p.forward;
}

int fc_no_variables(const FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, const char *type)
{
    if (core == NULL) return FC_ERROR;
    if (nvr == 0) return FC_OK;
    if (type != NULL)
        FC_LOG_ERROR(core, "%s: unknown value reference %u (this FMU has no %s variables)", fn, vr[0], type);
    else
        FC_LOG_ERROR(core, "%s: unknown value reference %u", fn, vr[0]);
    return FC_ERROR;
}

/* -- FMU state ------------------------------------------------------------------------------- */

/* the header of a serialized state of this FMI version */
static void state_magic(const FcCore *core, unsigned char magic[FC_MAGIC_LEN])
{
    static const char stem[FC_MAGIC_LEN - 2] = {'c', 'o', 's', 'i', 'm', 'V'};
    memcpy(magic, stem, sizeof stem);
    magic[FC_MAGIC_LEN - 2] = (unsigned char)('0' + core->fmi_version);
    magic[FC_MAGIC_LEN - 1] = 0;
}

/* *state, or a new snapshot there when it is NULL (logged if out of memory) */
static FcSnapshot *state_at(FcCore *core, const char *fn, void **state)
{
    FcSnapshot *snap = (FcSnapshot *)*state;
    if (snap == NULL) {
        snap = (FcSnapshot *)core->mem_alloc(1, sizeof *snap);
        if (snap == NULL) {
            FC_LOG_ERROR(core, "%s: out of memory", fn);
            return NULL;
        }
        *state = snap;
    }
    return snap;
}

int fc_get_state(FcCore *core, const char *fn, void **state)
{
    FcSnapshot *snap;
    if (core == NULL || state == NULL) return FC_ERROR;
    snap = state_at(core, fn, state);
    if (snap == NULL) return FC_ERROR;
    *snap = core->s;
    return FC_OK;
}

int fc_set_state(FcCore *core, const char *fn, const void *state)
{
    if (core == NULL) return FC_ERROR;
    if (state == NULL) {
        FC_LOG_ERROR(core, "%s: no state given", fn);
        return FC_ERROR;
    }
    core->s = *(const FcSnapshot *)state;
    return FC_OK;
}

int fc_free_state(FcCore *core, void **state)
{
    if (core == NULL || state == NULL) return FC_ERROR;
    if (*state != NULL) core->mem_free(*state);
    *state = NULL;
    return FC_OK;
}

int fc_serialized_state_size(const FcCore *core, size_t *size)
{
    if (core == NULL || size == NULL) return FC_ERROR;
    *size = FC_MAGIC_LEN + sizeof(FcSnapshot);
    return FC_OK;
}

int fc_serialize_state(const FcCore *core, const char *fn, const void *state, void *bytes, size_t size)
{
    unsigned char magic[FC_MAGIC_LEN];
    if (core == NULL) return FC_ERROR;
    if (state == NULL || bytes == NULL || size != FC_MAGIC_LEN + sizeof(FcSnapshot)) {
        FC_LOG_ERROR(core, "%s: no state or a buffer of the wrong size", fn);
        return FC_ERROR;
    }
    state_magic(core, magic);
    memcpy(bytes, magic, FC_MAGIC_LEN);
    memcpy((unsigned char *)bytes + FC_MAGIC_LEN, state, sizeof(FcSnapshot));
    return FC_OK;
}

int fc_deserialize_state(FcCore *core, const char *fn, const void *bytes, size_t size, void **state)
{
    unsigned char magic[FC_MAGIC_LEN];
    FcSnapshot *snap;
    if (core == NULL || state == NULL) return FC_ERROR;
    state_magic(core, magic);
    if (bytes == NULL || size != FC_MAGIC_LEN + sizeof(FcSnapshot) || memcmp(bytes, magic, FC_MAGIC_LEN) != 0) {
        FC_LOG_ERROR(core, "%s: not a state of this FMU", fn);
        return FC_ERROR;
    }
    snap = state_at(core, fn, state);
    if (snap == NULL) return FC_ERROR;
    memcpy(snap, (const unsigned char *)bytes + FC_MAGIC_LEN, sizeof *snap);
    return FC_OK;
}
