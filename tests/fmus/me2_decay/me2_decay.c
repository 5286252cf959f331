/* me2_decay - FMI 2.0 model exchange test fixture: der(x) = -lam*(x - u), x(start) = x0,
 * y = gain*x, where the discrete gain jumps from 1 to 2 at the time event t_switch.
 * Variants (me2_discrete, me2_tiny, me2_rescale) define their identifier, token and these before
 * including this file: DECAY_U_KIND (the kind of the input u), DECAY_X0 (the start of x0),
 * DECAY_T_SWITCH (the start of t_switch), DECAY_RESCALE (a factor by which x and its nominal
 * change at the event, reported as valuesOfContinuousStatesChanged and
 * nominalsOfContinuousStatesChanged) and FX_NOMINAL. */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_ME
#ifndef FX_MODEL_IDENTIFIER
#define FX_MODEL_IDENTIFIER "me2_decay"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40103}"
#endif
#ifndef DECAY_U_KIND
#define DECAY_U_KIND FX_INPUT
#endif
#ifndef DECAY_X0
#define DECAY_X0 1.0
#endif
#ifndef DECAY_T_SWITCH
#define DECAY_T_SWITCH 1e300
#endif
#define FX_NSTATES 1
#define FX_NINDICATORS 0

enum { X0, LAM, T_SWITCH, U, X, DER_X, GAIN, Y, NSLOTS };
#define FX_NSLOTS NSLOTS
#define SWITCHED 0 /* flag: the time event has happened */

#include "fixture.h"

static const FxVar variables[] = {
    {X0, X0, 1, FX_PARAMETER, "x0"},
    {LAM, LAM, 1, FX_PARAMETER, "lam"},
    {T_SWITCH, T_SWITCH, 1, FX_PARAMETER, "t_switch"},
    {U, U, 1, DECAY_U_KIND, "u"},
    {X, X, 1, FX_CALCULATED, "x"},
    {DER_X, DER_X, 1, FX_CALCULATED, "der(x)"},
    {GAIN, GAIN, 1, FX_CALCULATED, "gain"},
    {Y, Y, 1, FX_CALCULATED, "y"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    d->r[X0] = DECAY_X0;
    d->r[LAM] = 1.0;
    d->r[T_SWITCH] = DECAY_T_SWITCH;
    d->r[U] = 0.0;
    d->r[GAIN] = 1.0;
}

static void fx_initialize(FxData *d) {
    d->r[X] = d->r[X0];
    d->r[GAIN] = 1.0;
    d->flag[SWITCHED] = 0;
}

static void fx_evaluate(FxData *d) {
    d->r[DER_X] = -d->r[LAM] * (d->r[X] - d->r[U]);
    d->r[Y] = d->r[GAIN] * d->r[X];
}

static void fx_get_states(const FxData *d, double x[]) { x[0] = d->r[X]; }
static void fx_set_states(FxData *d, const double x[]) { d->r[X] = x[0]; }

static void fx_derivatives(FxData *d, double dx[]) {
    fx_evaluate(d);
    dx[0] = d->r[DER_X];
}

static void fx_indicators(FxData *d, double z[]) { (void)d; (void)z; }

static void fx_event_update(FxInstance *m, FxEvent *ev) {
    FxData *d = &m->d;
    double ts = d->r[T_SWITCH];
    char a[40];
    /* the importer stops exactly at nextEventTime; allow for rounding in its time grid */
    if (!d->flag[SWITCHED] && d->time >= ts - 1e-12 * fmax(1.0, fabs(ts))) {
        d->flag[SWITCHED] = 1;
        d->r[GAIN] = 2.0;
        fx_log(m, FX_OK, FX_LOG_EVENTS, "time event at t=%s: gain 1 -> 2", fx_num(d->time, a));
#ifdef DECAY_RESCALE /* x changes scale at the event: its value and its nominal by DECAY_RESCALE */
        d->r[X] *= DECAY_RESCALE;
        ev->values_changed = 1;
        ev->nominals_changed = 1;
#endif
    }
    ev->next_defined = !d->flag[SWITCHED];
    ev->next_time = ts;
    fx_evaluate(d);
}
