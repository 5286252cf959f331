/* ball.h - the model of the bouncing ball shared by me2_ball (FMI 2.0) and me3_ball (FMI 3.0),
 * included after fixture.h; the including file names the slots H, DER_H, V, DER_V, G, E,
 * BOUNCES. der(h) = v, der(v) = -g; event indicator z = h; at an event with h at the floor
 * and v < 0: v = -e*v, bounces += 1, and below REST_SPEED the ball rests (h = v = 0,
 * derivatives 0, no more events). */
#define RESTING 0        /* flag: the ball lies on the floor */
#define REST_SPEED 1e-3  /* m/s: slower bounces end in rest */
#define FLOOR_EPS 1e-6   /* m: tolerance of h at the floor (event localization) */

static void fx_start(FxData *d) {
    d->r[H] = 1.0;
    d->r[V] = 0.0;
    d->r[G] = 9.81;
    d->r[E] = 0.7;
    d->r[BOUNCES] = 0.0;
}

static void fx_initialize(FxData *d) {
    d->r[BOUNCES] = 0.0;
    d->flag[RESTING] = 0;
}

static void fx_evaluate(FxData *d) {
    d->r[DER_H] = d->flag[RESTING] ? 0.0 : d->r[V];
    d->r[DER_V] = d->flag[RESTING] ? 0.0 : -d->r[G];
}

static void fx_get_states(const FxData *d, double x[]) {
    x[0] = d->r[H];
    x[1] = d->r[V];
}

static void fx_set_states(FxData *d, const double x[]) {
    d->r[H] = x[0];
    d->r[V] = x[1];
}

static void fx_derivatives(FxData *d, double dx[]) {
    fx_evaluate(d);
    dx[0] = d->r[DER_H];
    dx[1] = d->r[DER_V];
}

static void fx_indicators(FxData *d, double z[]) { z[0] = d->r[H]; }

static void fx_event_update(FxInstance *m, FxEvent *ev) {
    FxData *d = &m->d;
    char a[40], b[40];
    if (!d->flag[RESTING] && d->r[H] < 0.0) {
        /* the floor is impenetrable: a solver that cannot resolve the last, tiny bounces
         * (heights below its absolute tolerance) may step h slightly below it */
        d->r[H] = 0.0;
        ev->values_changed = 1;
    }
    if (!d->flag[RESTING] && d->r[H] <= FLOOR_EPS && d->r[V] < 0.0) {
        d->r[H] = 0.0;
        d->r[V] = -d->r[E] * d->r[V];
        d->r[BOUNCES] += 1.0;
        if (d->r[V] < REST_SPEED) {
            d->r[V] = 0.0;
            d->flag[RESTING] = 1;
        }
        ev->values_changed = 1;
        fx_log(m, FX_OK, FX_LOG_EVENTS, "bounce %s at t=%s%s", fx_num(d->r[BOUNCES], a),
               fx_num(d->time, b), d->flag[RESTING] ? ": the ball comes to rest" : "");
    }
    fx_evaluate(d);
}
