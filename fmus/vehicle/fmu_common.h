/*
 * What the FMI 2.0 and 3.0 co-simulation wrappers of the reference vehicle (fmi2_vehicle.c,
 * fmi3_vehicle.c) do alike: the instance's lifecycle phases and their checks, logging,
 * log categories, the loops of the Float64 getters and setters, and the FMU state (a
 * plain snapshot, its copies and its serialized form with a magic header).
 *
 * No FMI header is included here; the functions take plain C types. A function that stands
 * for an FMI call returns an FMI status as an int, FC_OK ... FC_FATAL: the values of
 * fmi2Status and fmi3Status alike, so a wrapper casts it to its own status type. `fn` is
 * the name of the FMI function, the prefix of every message logged for it.
 *
 * A wrapper's instance struct has an FcCore as its FIRST member, so that the FMI instance
 * pointer is also a pointer to its core: FC_CORE(instance), with NULL staying NULL. Every
 * function here takes a NULL core (an FMI call on a NULL instance) and then returns
 * FC_ERROR without logging.
 */
#ifndef FMU_COMMON_H
#define FMU_COMMON_H

#include <stddef.h>

#include "vehicle_model.h"

#if defined(__GNUC__)
#define FC_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define FC_PRINTF(fmt_index, first_arg)
#endif

/* FMI statuses: the values of fmi2Status and fmi3Status */
enum { FC_OK = 0, FC_WARNING = 1, FC_DISCARD = 2, FC_ERROR = 3, FC_FATAL = 4 };

/* In a wrapper, FC_STATUSES_MATCH(fmi2); (or fmi3) stops the build unless that version's
 * statuses OK ... Fatal are the values above. */
#define FC_STATUSES_MATCH(prefix)                                                                                 \
    typedef char fc_statuses_of_##prefix[((int)prefix##OK == FC_OK && (int)prefix##Warning == FC_WARNING &&       \
                                          (int)prefix##Discard == FC_DISCARD && (int)prefix##Error == FC_ERROR && \
                                          (int)prefix##Fatal == FC_FATAL) ? 1 : -1]

/* lifecycle phases of an instance */
enum { FC_PHASE_INSTANTIATED, FC_PHASE_INIT, FC_PHASE_STEP, FC_PHASE_TERMINATED, FC_PHASE_ERROR };

/* log categories (as in modelDescription.xml) */
enum { FC_CAT_ERROR, FC_CAT_WARNING, FC_CAT_EVENTS, FC_N_CATEGORIES };
extern const char *const FC_CATEGORY[FC_N_CATEGORIES];

#define FC_MSG_LEN (VM_MSG_LEN + 256) /* longest message logged, with its terminating 0 */
#define FC_MAGIC_LEN 8                /* bytes of the header of a serialized state */

/* everything an FMU state holds (plain data, copied byte for byte) */
typedef struct {
    VmModel model;
    double start_time;
    double time;
    int phase;
} FcSnapshot;

typedef struct FcCore FcCore;

struct FcCore {
    /* set by the wrapper before fc_instantiate */
    int fmi_version; /* 2 or 3: marks its serialized states */
    /* passes a formatted message on to the importer's logger */
    void (*sink)(const FcCore *core, int status, const char *category, const char *msg);
    void *(*mem_alloc)(size_t n, size_t size); /* zeroed memory, as calloc */
    void (*mem_free)(void *p);
    void (*defaults)(VmModel *m); /* the parameters' start values (vc_defaults) */
    /* the instance's own */
    int log_on[FC_N_CATEGORIES];
    VmCycle cycle;
    FcSnapshot s;
};

#define FC_CORE(instance) ((FcCore *)(instance))

/* -- logging ------------------------------------------------------------------------------ */

/* Format a message and pass it to the sink; logEvents messages only while that category is
 * on (errors always go out). */
void fc_log(const FcCore *core, int status, int cat, const char *fmt, ...) FC_PRINTF(4, 5);
#define FC_LOG_ERROR(core, ...) fc_log((core), FC_ERROR, FC_CAT_ERROR, __VA_ARGS__)

/* fmiXSetDebugLogging: no categories switches all of them */
int fc_set_debug_logging(FcCore *core, const char *fn, int logging_on, size_t n_categories,
                         const char *const categories[]);

/* -- lifecycle ---------------------------------------------------------------------------- */

/* The end of instantiation, for a zeroed instance whose core has its sink, allocator,
 * defaults and FMI version set: load the drive cycle at cycle_path, reset, log. Returns 0,
 * or -1 (logged) when the cycle cannot be loaded; the caller then frees the instance. */
int fc_instantiate(FcCore *core, const char *fn, const char *cycle_path, int logging_on, const char *model_name);

/* Free the drive cycle and the instance itself (allocated with core->mem_alloc). */
void fc_free_instance(FcCore *core);

/* Back to the state after instantiation: start values, time 0. */
int fc_reset(FcCore *core);

/* 1 if the instance is in this phase; else 0, with "fn: rule" logged. */
int fc_in_phase(const FcCore *core, int phase, const char *fn, const char *rule);

/* The lifecycle calls; each is refused (logged, FC_ERROR) outside the phase it belongs to.
 * Leaving initialization initializes the model at the start time: a bad parameter is
 * logged and puts the instance in FC_PHASE_ERROR. */
int fc_enter_initialization(FcCore *core, const char *fn, double start_time);
int fc_exit_initialization(FcCore *core, const char *fn);
int fc_terminate(FcCore *core, const char *fn);
/* (fc_terminate logs a warning, category logStatusWarning, when backward mode counted steps
 * whose discharge demand exceeded battery_power_limit_W: the native vehicle's run note.) */

/* A step from t to t + h. last_successful_time (may be NULL) receives the instance's time
 * after a step that was tried, successful or not (not when the phase refuses it). */
int fc_do_step(FcCore *core, const char *fn, double t, double h, double *last_successful_time);

/* -- values ------------------------------------------------------------------------------- */

/* The Float64 variables at vr[0 .. nvr-1] to or from values[0 .. n_values-1]. Arrays are
 * whole at their base value reference (elementwise = 0, FMI 3) or one element per value
 * reference (elementwise = 1, FMI 2); n_values must be the number of values the variables
 * hold. Outputs read during initialization are computed first. */
int fc_get_float64(FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, double values[],
                   size_t n_values, int elementwise);
int fc_set_float64(FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, const double values[],
                   size_t n_values, int elementwise);

/* The Boolean variable with this value reference (the parameter `forward`, the only one),
 * to read, or to write (set = 1: only before initialization ends); NULL, logged, if there is
 * none or it cannot be set now. */
int *fc_boolean(FcCore *core, const char *fn, unsigned int vr, int set);

/* A getter or setter of a type this FMU has no variables of: OK for no value references,
 * else an error naming the first one; `type` (may be NULL) is named in the message. */
int fc_no_variables(const FcCore *core, const char *fn, const unsigned int vr[], size_t nvr, const char *type);

/* -- FMU state ---------------------------------------------------------------------------- */

/* A state is an FcSnapshot allocated with core->mem_alloc; *state NULL gets a new one. */
int fc_get_state(FcCore *core, const char *fn, void **state);
int fc_set_state(FcCore *core, const char *fn, const void *state);
int fc_free_state(FcCore *core, void **state);

/* Serialized: FC_MAGIC_LEN bytes "cosimV2" / "cosimV3" (the FMI version) and the snapshot. */
int fc_serialized_state_size(const FcCore *core, size_t *size);
int fc_serialize_state(const FcCore *core, const char *fn, const void *state, void *bytes, size_t size);
int fc_deserialize_state(FcCore *core, const char *fn, const void *bytes, size_t size, void **state);

#endif /* FMU_COMMON_H */
