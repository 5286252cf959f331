/* me2_vdp - FMI 2.0 model exchange test fixture: the van der Pol oscillator
 * der(x0) = x1, der(x1) = mu*(1 - x0^2)*x1 - x0 (non-stiff for mu ~ 1); no events. */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_ME
#define FX_MODEL_IDENTIFIER "me2_vdp"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40107}"
#define FX_NSTATES 2
#define FX_NINDICATORS 0

enum { X0, DER_X0, X1, DER_X1, MU, NSLOTS };
#define FX_NSLOTS NSLOTS

#include "fixture.h"

static const FxVar variables[] = {
    {X0, X0, 1, FX_EXACT_STATE, "x0"},
    {DER_X0, DER_X0, 1, FX_CALCULATED, "der(x0)"},
    {X1, X1, 1, FX_EXACT_STATE, "x1"},
    {DER_X1, DER_X1, 1, FX_CALCULATED, "der(x1)"},
    {MU, MU, 1, FX_PARAMETER, "mu"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    d->r[X0] = 2.0;
    d->r[X1] = 0.0;
    d->r[MU] = 1.0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    d->r[DER_X0] = d->r[X1];
    d->r[DER_X1] = d->r[MU] * (1.0 - d->r[X0] * d->r[X0]) * d->r[X1] - d->r[X0];
}

static void fx_get_states(const FxData *d, double x[]) {
    x[0] = d->r[X0];
    x[1] = d->r[X1];
}

static void fx_set_states(FxData *d, const double x[]) {
    d->r[X0] = x[0];
    d->r[X1] = x[1];
}

static void fx_derivatives(FxData *d, double dx[]) {
    fx_evaluate(d);
    dx[0] = d->r[DER_X0];
    dx[1] = d->r[DER_X1];
}

static void fx_indicators(FxData *d, double z[]) { (void)d; (void)z; }

static void fx_event_update(FxInstance *m, FxEvent *ev) {
    (void)ev;
    fx_evaluate(&m->d);
}
