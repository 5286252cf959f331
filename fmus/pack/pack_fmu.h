/*
 * What the FMI 2.0 and 3.0 co-simulation wrappers of the pack FMU (fmi2_pack.c,
 * fmi3_pack.c) do alike: the instance's lifecycle phases and their checks, logging, the
 * variables and their value references, sub-stepping of a communication step, and the FMU
 * state (pm_get_state's doubles plus the instance's own). No FMI header is included here; a
 * function that stands for an FMI call returns an FMI status as an int (PF_OK ... PF_FATAL,
 * the values of fmi2Status and fmi3Status alike), and `fn` is the FMI function's name, the
 * prefix of every message logged for it.
 *
 * Value references (the same in both FMI versions; cosim/fmu/pack_fmu.py writes them into
 * modelDescription.xml):
 *   0            time
 *   1 .. 4       inputs: the set point (current_setpoint_A or power_setpoint_W), coolant and
 *                ambient temperature, the coolant heat-transfer coefficient
 *   5 .. 7       parameters: initial_soc, initial_temperature_K, internal_step_s
 *   10 ..        the scalar outputs, in the order of PmScalars (pack_model.h)
 *   100 .. 102   FMI 3.0: the structural parameters string, stack, layer (UInt64)
 *   (a+1)*10^6   the per-layer array a of PF_ARRAY_NAMES (FMI 3.0: the whole array; FMI 2.0:
 *                element k at (a+1)*10^6 + k, C order string, stack, layer)
 */
#ifndef PACK_FMU_H
#define PACK_FMU_H

#include <stddef.h>

#include "pack_model.h"

#if defined(__GNUC__)
#define PF_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define PF_PRINTF(fmt_index, first_arg)
#endif

enum { PF_OK = 0, PF_WARNING = 1, PF_DISCARD = 2, PF_ERROR = 3, PF_FATAL = 4 };

/* In a wrapper, PF_STATUSES_MATCH(fmi2); (or fmi3) stops the build unless that version's
 * statuses OK ... Fatal are the values above. */
#define PF_STATUSES_MATCH(prefix)                                                                                 \
    typedef char pf_statuses_of_##prefix[((int)prefix##OK == PF_OK && (int)prefix##Warning == PF_WARNING &&       \
                                          (int)prefix##Discard == PF_DISCARD && (int)prefix##Error == PF_ERROR && \
                                          (int)prefix##Fatal == PF_FATAL) ? 1 : -1]

enum { PF_PHASE_INSTANTIATED, PF_PHASE_INIT, PF_PHASE_STEP, PF_PHASE_TERMINATED, PF_PHASE_ERROR };

enum { PF_CAT_ERROR, PF_CAT_WARNING, PF_CAT_EVENTS, PF_N_CATEGORIES };
extern const char *const PF_CATEGORY[PF_N_CATEGORIES];

enum { PF_VR_TIME = 0, PF_VR_SETPOINT = 1, PF_VR_COOLANT_T = 2, PF_VR_AMBIENT_T = 3, PF_VR_COOLANT_H = 4,
       PF_VR_INITIAL_SOC = 5, PF_VR_INITIAL_T = 6, PF_VR_INTERNAL_STEP = 7, PF_VR_SCALARS = 10,
       PF_VR_DIMENSIONS = 100 };
#define PF_N_INPUTS 4
#define PF_N_PARAMETERS 3
#define PF_N_SCALARS ((int)(sizeof(PmScalars) / sizeof(double)))
#define PF_N_ARRAYS 6
#define PF_ARRAY_BASE 1000000u
extern const char *const PF_ARRAY_NAMES[PF_N_ARRAYS];

#define PF_MSG_LEN (PM_MSG_LEN + 256)
#define PF_MAGIC_LEN 8

/* the start values of the inputs and parameters (from the generated pack_config.h) */
typedef struct {
    double inputs[PF_N_INPUTS];
    double parameters[PF_N_PARAMETERS];
} PfDefaults;

typedef struct PfCore PfCore;

struct PfCore {
    /* set by the wrapper before pf_instantiate */
    int fmi_version;
    void (*sink)(const PfCore *core, int status, const char *category, const char *msg);
    PfDefaults defaults;
    /* the instance's own */
    int log_on[PF_N_CATEGORIES];
    PmPack *pack;
    int phase;
    int ended; /* the pack ended the run (on_limit = "end") */
    double start_time, time;
    double inputs[PF_N_INPUTS];
    double parameters[PF_N_PARAMETERS];
    double scalars[PF_N_SCALARS]; /* the outputs of the last communication step */
};

#define PF_CORE(instance) ((PfCore *)(instance))

void pf_log(const PfCore *core, int status, int cat, const char *fmt, ...) PF_PRINTF(4, 5);
#define PF_LOG_ERROR(core, ...) pf_log((core), PF_ERROR, PF_CAT_ERROR, __VA_ARGS__)

int pf_set_debug_logging(PfCore *core, const char *fn, int logging_on, size_t n_categories,
                         const char *const categories[]);

/* The end of instantiation for a zeroed instance whose core has its sink, defaults and FMI
 * version: read resources_dir/pack.dat, reset. 0, or -1 (logged): the caller frees it. */
int pf_instantiate(PfCore *core, const char *fn, const char *resources_dir, int logging_on);
void pf_free(PfCore *core); /* the pack (not the instance itself) */
int pf_reset(PfCore *core);
int pf_in_phase(const PfCore *core, int phase, const char *fn, const char *rule);

int pf_enter_initialization(PfCore *core, const char *fn, double start_time);
int pf_exit_initialization(PfCore *core, const char *fn);
int pf_terminate(PfCore *core, const char *fn);

/* A communication step [t, t + h] in internal steps of at most internal_step_s. *ended (may
 * be NULL) is set to 1 when the pack ended the run (on_limit = "end"); last_successful_time
 * (may be NULL) receives the time reached. */
int pf_do_step(PfCore *core, const char *fn, double t, double h, int *ended, double *last_successful_time);

/* Float64 values; elementwise = 1 (FMI 2.0: one value reference per array element) or 0
 * (FMI 3.0: an array at its base value reference). */
int pf_get_float64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, double values[],
                   size_t n_values, int elementwise);
int pf_set_float64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, const double values[],
                   size_t n_values, int elementwise);
/* FMI 3.0's UInt64 structural parameters (read only; set only to the values they have) */
int pf_get_uint64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, unsigned long long values[],
                  size_t n_values);
int pf_set_uint64(PfCore *core, const char *fn, const unsigned int vr[], size_t nvr,
                  const unsigned long long values[], size_t n_values);
int pf_no_variables(const PfCore *core, const char *fn, const unsigned int vr[], size_t nvr, const char *type);

/* FMU state: a block of doubles (allocated with malloc) */
int pf_get_state(PfCore *core, const char *fn, void **state);
int pf_set_state(PfCore *core, const char *fn, const void *state);
int pf_free_state(PfCore *core, void **state);
int pf_serialized_state_size(const PfCore *core, size_t *size);
int pf_serialize_state(const PfCore *core, const char *fn, const void *state, void *bytes, size_t size);
int pf_deserialize_state(PfCore *core, const char *fn, const void *bytes, size_t size, void **state);

#endif /* PACK_FMU_H */
