/* The assembled battery of cosim/pack/assembly.py (AssembledBattery): the string solve, the
 * limits (margin, probe, limit current, maximum-power point, power point), the step and the
 * available power. Each function names the method it mirrors and repeats its operations in
 * order (numpy's pairwise sums: np_sum). */
#include "pack_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* AssembledBattery._string_voltages: string voltages V (S) and with slope dV (S) at string
 * currents Is, the evaluation into r (r->Ic the cell currents) */
static int string_voltages(PmPack *p, PmPrep *pr, const double *Is, int slope, PmRes *r, double *V, double *dV)
{
    const int64_t S = p->S, per = p->N / p->S;
    int64_t i, s;
    for (i = 0; i < p->N; i++) r->Ic[i] = Is[i / per];
    if (model_evaluate(p, pr, r->Ic, slope, r) != 0) return -1;
    for (s = 0; s < S; s++) {
        V[s] = np_sum(r->ev.V + s * per, per) - Is[s] * p->R_series[s];
        if (slope) dV[s] = np_sum(r->ev.dV + s * per, per) - p->R_series[s];
    }
    return 0;
}

static void fill_nan(double *a, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) a[i] = NAN;
}

/* AssembledBattery._solve (I0 NULL: None); the result into r; -1 without memory */
static int solve(PmPack *p, PmPrep *pr, int power_mode, double demand, const double *I0, int slopes, PmRes *r)
{
    const int64_t S = p->S, N = p->N;
    double *I = r->I_s, *V = p->tmpS, *dV = p->tmpS2, *dV_old = p->tmpS3, *step = p->tmpS4, scale;
    const int current = !power_mode;
    int64_t s, i, it;
    if (I0 == NULL) {
        for (s = 0; s < S; s++) I[s] = (current ? demand : 0.0) / (double)S;
    } else {
        for (s = 0; s < S; s++) I[s] = I0[s];
        if (current) {
            double sum = np_sum(I, S);
            if (sum != 0 && demand != 0) {
                double f = demand / sum;
                for (s = 0; s < S; s++) I[s] = I[s] * f;
            } else {
                for (s = 0; s < S; s++) I[s] = demand / (double)S;
            }
        }
    }
    scale = PM_SOLVE_TOL * py_max(fabs(current ? demand : np_sum(I, S)), p->one_c * (double)S);
    if (!slopes) { /* the whole Newton in one compiled call */
        int ok = 0;
        if (model_solve_strings(p, pr, I, power_mode, demand, scale, r, &ok) != 0) return -1;
        if (!ok) {
            r->V_pack = NAN;
            if (!(S == 1 && current)) fill_nan(r->ev.V, N);
        }
        r->has_dv = 0;
        return 0;
    }
    if (string_voltages(p, pr, I, 1, r, V, dV) != 0) return -1;
    if (!(S == 1 && current)) {
        for (it = 0; it < PM_SOLVE_MAX_ITER + 1; it++) {
            double g[64], Vp, big;
            int fine = all_finite(r->ev.V, N);
            for (s = 0; s < S; s++) fine = fine && (-dV[s] > 0);
            if (!fine || it == PM_SOLVE_MAX_ITER || S > 64) {
                r->V_pack = NAN;
                fill_nan(r->ev.V, N);
                r->has_dv = 0;
                return 0;
            }
            for (s = 0; s < S; s++) g[s] = 1.0 / (-dV[s]);
            if (current) {
                for (s = 0; s < S; s++) step[s] = V[s] * g[s];
                Vp = (demand - np_sum(I, S) + np_sum(step, S)) / np_sum(g, S);
            } else {
                double A, G, disc;
                for (s = 0; s < S; s++) step[s] = V[s] * g[s];
                A = np_sum(I, S) + np_sum(step, S);
                G = np_sum(g, S);
                disc = A * A - 4.0 * G * demand;
                if (disc < 0) {
                    r->V_pack = NAN;
                    fill_nan(r->ev.V, N);
                    r->has_dv = 0;
                    return 0;
                }
                Vp = (A + sqrt(disc)) / (2.0 * G);
            }
            for (s = 0; s < S; s++) step[s] = (V[s] - Vp) * g[s];
            for (s = 0; s < S; s++) p->tmpN[s] = fabs(step[s]);
            big = np_max(p->tmpN, S);
            if (big <= scale) break;
            for (s = 0; s < S; s++) {
                dV_old[s] = dV[s];
                I[s] = I[s] + step[s];
            }
            if (string_voltages(p, pr, I, 1, r, V, dV) != 0) return -1;
            {
                int finite = 1;
                for (s = 0; s < S; s++) finite = finite && isfinite(fabs(dV[s] - dV_old[s]) / fabs(step[s]));
                if (finite)
                    for (s = 0; s < S; s++) p->curvature[s] = fabs(dV[s] - dV_old[s]) / fabs(step[s]);
            }
        }
    }
    r->V_pack = np_sum(V, S) / (double)S;
    r->has_dv = all_finite(r->ev.V, N);
    if (r->has_dv)
        for (i = 0; i < N; i++) r->dv[i] = -r->ev.dV[i];
    return 0;
}

/* AssembledBattery._margin (lim, plim: whether the layer and pack limits apply) */
static double margin(const PmPack *p, const double *v, double V_pack, double sign, int lim, int plim)
{
    double worst = INFINITY;
    int64_t i;
    if (!(all_finite(v, p->N) && isfinite(V_pack))) return -INFINITY;
    if (lim) {
        worst = INFINITY;
        for (i = 0; i < p->N; i++) {
            double d = sign > 0 ? v[i] - p->lim_lo : p->lim_hi - v[i];
            if (i == 0 || d < worst) worst = d;
        }
    }
    if (plim) worst = py_min(worst, sign > 0 ? V_pack - p->plim_lo : p->plim_hi - V_pack);
    return worst;
}

/* AssembledBattery._probe into o (I0 NULL: None); -1 without memory */
static int probe(PmPack *p, PmPrep *pr, double x, double sign, const double *I0, int lim, int plim, PmProbe *o)
{
    const int64_t S = p->S, per = p->N / p->S;
    double g[64], gs, dV_dx, m, dm;
    int64_t s;
    if (solve(p, pr, 0, sign * x, I0, 1, &o->r) != 0) return -1;
    m = margin(p, o->r.ev.V, o->r.V_pack, sign, lim, plim);
    if (!o->r.has_dv || m == -INFINITY) {
        o->m = -INFINITY;
        o->dm = o->p = o->dp = NAN;
        return 0;
    }
    for (s = 0; s < S; s++) g[s] = 1.0 / (np_sum(o->r.dv + s * per, per) + p->R_series[s]);
    gs = np_sum(g, S);
    dV_dx = -sign / gs;
    dm = INFINITY;
    if (lim) { /* the slope of the worst cell's margin */
        int64_t i, k = 0;
        double best = 0.0;
        for (i = 0; i < p->N; i++) {
            double d = sign > 0 ? o->r.ev.V[i] - p->lim_lo : p->lim_hi - o->r.ev.V[i];
            if (i == 0 || d < best) {
                best = d;
                k = i;
            }
        }
        dm = sign * ((-sign * o->r.dv[k]) * (g[k / per] / gs));
    }
    if (plim && (!lim || m == (sign > 0 ? o->r.V_pack - p->plim_lo : p->plim_hi - o->r.V_pack))) dm = sign * dV_dx;
    o->m = m;
    o->dm = dm;
    o->p = o->r.V_pack * x;
    o->dp = o->r.V_pack + x * dV_dx;
    return 0;
}

static void probe_copy(const PmPack *p, PmProbe *dst, const PmProbe *src)
{
    res_copy(p, &dst->r, &src->r);
    dst->m = src->m;
    dst->dm = src->dm;
    dst->p = src->p;
    dst->dp = src->dp;
}

/* AssembledBattery._limit_current: x into *x_out, its probe into good (cur: scratch) */
static int limit_current(PmPack *p, PmPrep *pr, double sign, double x, const double *I0_in, double tol_V,
                         PmProbe *good, PmProbe *cur, double *x_out)
{
    const int64_t S = p->S;
    const double scale = p->one_c * (double)S;
    double *I0 = p->I0buf, good_x = 0.0, bad = INFINITY;
    int have_I0 = I0_in != NULL, have_good = 0, it;
    int64_t s;
    if (have_I0)
        for (s = 0; s < S; s++) I0[s] = I0_in[s];
    x = py_max(x, 1e-6 * scale);
    for (it = 0; it < 80; it++) {
        double m, dm, lo, x_new;
        if (probe(p, pr, x, sign, have_I0 ? I0 : NULL, 1, 1, cur) != 0) return -1;
        m = cur->m;
        dm = cur->dm;
        if (m >= 0) {
            if (!have_good || x > good_x) {
                good_x = x;
                probe_copy(p, good, cur);
                have_good = 1;
            }
            for (s = 0; s < S; s++) I0[s] = cur->r.I_s[s];
            have_I0 = 1;
            /* within tol_V of the limit and within 1e-9 relative of the current where it binds */
            if (m <= tol_V && !(isfinite(dm) && dm < 0 && m > -dm * 1e-9 * x)) break;
        } else {
            bad = py_min(bad, x);
        }
        lo = have_good ? good_x : 0.0;
        if (isfinite(bad) && bad - lo <= 1e-10 * py_max(bad, scale)) break;
        x_new = isfinite(m) && isfinite(dm) && dm < 0 ? x - m / dm : NAN;
        if (!(lo < x_new && x_new < bad)) x_new = isfinite(bad) ? 0.5 * (lo + bad) : 2.0 * x;
        if (!have_good && x_new < 1e-9 * scale) break;
        x = x_new;
    }
    if (!have_good) { /* even a tiny current crosses: deliver nothing */
        *x_out = 0.0;
        return probe(p, pr, 0.0, sign, NULL, 1, 1, good);
    }
    if (good->m > tol_V) { /* the edge of the model's range: 0.1 % short of it */
        x = good_x * (1.0 - 1e-3);
        for (s = 0; s < S; s++) I0[s] = good->r.I_s[s];
        *x_out = x;
        return probe(p, pr, x, sign, I0, 1, 1, good);
    }
    *x_out = good_x;
    return 0;
}

/* AssembledBattery._power_point: the probe into *out (one of a, b) */
static int power_point(PmPack *p, PmPrep *pr, double p_target, double sign, double x_top, const PmProbe *top,
                       const double *I0_in, PmProbe *cur, PmProbe **out)
{
    const int64_t S = p->S;
    double lo = 0.0, hi = x_top, x, I0s[64];
    int it;
    int64_t s;
    for (s = 0; s < S; s++) I0s[s] = I0_in[s];
    x = top->p > 0 ? x_top * p_target / top->p : 0.5 * x_top;
    *out = (PmProbe *)top;
    for (it = 0; it < 80; it++) {
        double pw, dp, x_new;
        if (probe(p, pr, x, sign, I0s, 0, 0, cur) != 0) return -1;
        *out = cur;
        pw = cur->p;
        dp = cur->dp;
        if (!isfinite(pw)) {
            hi = x;
        } else if (pw < p_target) {
            lo = x;
            for (s = 0; s < S; s++) I0s[s] = cur->r.I_s[s];
        } else {
            hi = x;
            for (s = 0; s < S; s++) I0s[s] = cur->r.I_s[s];
        }
        if (isfinite(pw) && fabs(pw - p_target) <= 1e-10 * p_target) break;
        x_new = isfinite(pw) && dp > 0 ? x - (pw - p_target) / dp : NAN;
        if (!(lo < x_new && x_new < hi)) x_new = 0.5 * (lo + hi);
        if (hi - lo <= 1e-13 * x_top) break;
        x = x_new;
    }
    return 0;
}

/* AssembledBattery._within_limits: res replaced by the step inside the limits; *limited */
static int within_limits(PmPack *p, PmPrep *pr, PmRes *res, int power_mode, double demand, int *limited)
{
    const int64_t S = p->S;
    const double sign = demand > 0 ? 1.0 : -1.0;
    const int current = !power_mode;
    double I_pack = np_sum(res->I_s, S), V_pack = res->V_pack, want, x0, x_top = 0.0;
    PmProbe *top = &p->pr[0], *cur = &p->pr[1], *tmp;
    int feasible;
    *limited = 0;
    if (demand == 0.0
        || (isfinite(V_pack) && all_finite(res->ev.V, p->N) && I_pack * sign > 0
            && margin(p, res->ev.V, V_pack, sign, 1, 1) >= 0
            && (current || fabs(V_pack * I_pack - demand) <= 1e-8 * fabs(demand))))
        return 0; /* reachable as solved */
    want = fabs(demand);
    feasible = isfinite(V_pack) && I_pack * sign > 0;
    x0 = feasible ? fabs(I_pack) : (current ? want : want / py_max(fabs(p->voltage), 1e-9));
    if (limit_current(p, pr, sign, x0, feasible ? res->I_s : NULL, 1e-7, top, cur, &x_top) != 0) return -1;
    if (sign > 0 && x_top > 0 && top->dp < 0) { /* past the maximum-power point: find it (dp/dx = 0) */
        double lo = 0.0, hi = x_top;
        int it;
        for (it = 0; it < 60; it++) {
            double mid = 0.5 * (lo + hi);
            if (probe(p, pr, mid, sign, top->r.I_s, 0, 0, cur) != 0) return -1;
            if (cur->dp > 0) {
                lo = mid;
            } else {
                hi = mid;
                x_top = mid;
                tmp = top;
                top = cur;
                cur = tmp;
            }
            if (hi - lo <= 1e-9 * x_top) break;
        }
    }
    if (current) {
        if (x_top >= want) { /* reachable (the fast solve failed, the careful one did not) */
            if (probe(p, pr, want, sign, top->r.I_s, 0, 0, cur) != 0) return -1;
            res_copy(p, res, &cur->r);
            return 0;
        }
        res_copy(p, res, &top->r);
        *limited = 1;
        return 0;
    }
    if (x_top <= 0 || top->p <= want) {
        res_copy(p, res, &top->r);
        *limited = 1;
        return 0;
    }
    {
        PmProbe *out = NULL, *scratch = (cur == &p->pr[2]) ? &p->pr[3] : &p->pr[2];
        if (power_point(p, pr, want, sign, x_top, top, top->r.I_s, scratch, &out) != 0) return -1;
        res_copy(p, res, &out->r);
    }
    return 0;
}

/* AssembledBattery.step: 0, 1 (ConvergenceError, msg set), -1 (no memory) */
int battery_step(PmPack *p, double h, const double *T, int power_mode, double value, int with_limits, char *msg,
                 size_t n)
{
    const int64_t S = p->S;
    PmPrep *pr = &p->prep;
    PmRes *res = &p->res_step;
    double I0[64];
    int any = 0, limited = 0;
    int64_t s;
    if (S > 64) return -1;
    if (model_prepare(p, pr, h, T, 1) != 0) return -1;
    for (s = 0; s < S; s++) any = any || p->I_s[s] != 0;
    if (any) {
        for (s = 0; s < S; s++) I0[s] = p->I_s[s];
        if (p->trend_ok && p->trend_h == h && p->trend_power == power_mode && p->trend_value == value)
            for (s = 0; s < S; s++) I0[s] = 2.0 * I0[s] - p->trend_I[s]; /* the same demand again */
    }
    if (solve(p, pr, power_mode, value, any ? I0 : NULL, 0, res) != 0) return -1;
    if (with_limits && within_limits(p, pr, res, power_mode, value, &limited) != 0) return -1;
    p->limited = limited;
    if (!all_finite(res->ev.V, p->N)) {
        char where[96];
        int64_t i, bad = 0;
        for (i = 0; i < p->N; i++)
            if (!isfinite(res->ev.V[i])) {
                bad = i;
                break;
            }
        pm_where(p, bad, where, sizeof where);
        snprintf(msg, n, "no solution at %g %s over a step of %g s (%s: a particle or the electrolyte ran out, or the "
                 "demand exceeds what the pack can deliver)", value, power_mode ? "W" : "A", h, where);
        return 1;
    }
    model_commit(p, pr, res);
    p->trend_ok = 1;
    p->trend_h = h;
    p->trend_power = power_mode;
    p->trend_value = value;
    for (s = 0; s < S; s++) {
        p->trend_I[s] = p->I_s[s];
        p->I_s[s] = res->I_s[s];
    }
    p->voltage = res->V_pack;
    return 0;
}

/* -- available power ------------------------------------------------------------------ */

/* available_power's `evaluate` into u (r: scratch) */
static int pulse_evaluate(PmPack *p, PmPrep *pr, double I_pack, double sign, PmRes *r, PmPulse *u)
{
    const int64_t S = p->S, N = p->N;
    double Is[64], V[64], dV[64];
    int64_t i, s;
    for (s = 0; s < S; s++) Is[s] = I_pack / (double)S;
    if (string_voltages(p, pr, Is, 1, r, V, dV) != 0) return -1;
    u->ok = all_finite(r->ev.V, N) && all_finite(r->ev.dV, N) && all_finite(V, S);
    u->has_anode = 0;
    for (i = 0; i < N; i++) {
        u->v[i] = r->ev.V[i];
        u->dv[i] = r->ev.dV[i] / (double)S;
    }
    u->V = np_sum(V, S) / (double)S;
    u->dV = np_sum(dV, S) / (double)S / (double)S;
    if (u->ok && p->has_min_anode && sign < 0) {
        ck_anode_potential(&p->cells, &pr->a, pr->T, r->Ic, r->ev.dphi, r->ev.ddphi, 1, u->a, u->da);
        u->ok = all_finite(u->a, N) && all_finite(u->da, N);
        for (i = 0; i < N; i++) u->da[i] = u->da[i] / (double)S;
        u->has_anode = 1;
    }
    return 0;
}

/* available_power's `margin` */
static double pulse_margin(const PmPack *p, double sign, const PmPulse *u)
{
    const double target = sign > 0 ? p->lim_lo : p->lim_hi;
    double m = 0.0;
    int64_t i;
    for (i = 0; i < p->N; i++) {
        double d = sign * (u->v[i] - target);
        if (i == 0 || d < m || d != d) m = d;
        if (m != m) break;
    }
    m = py_min(m, sign * (u->V - (sign > 0 ? p->plim_lo : p->plim_hi)));
    if (u->has_anode) {
        double a = 0.0;
        for (i = 0; i < p->N; i++) {
            double d = u->a[i] - p->min_anode;
            if (i == 0 || d < a || d != d) a = d;
            if (a != a) break;
        }
        m = py_min(m, a);
    }
    return m;
}

/* available_power's `crossing`: the pack current at which the first limit is crossed */
static double pulse_crossing(const PmPack *p, double sign, double I, const PmPulse *u)
{
    const double target = sign > 0 ? p->lim_lo : p->lim_hi;
    double step = 0.0;
    int64_t i;
    for (i = 0; i < p->N; i++) {
        double st = u->dv[i] < 0 ? (target - u->v[i]) / u->dv[i] : sign * INFINITY;
        if (i == 0 || st != st || (sign > 0 ? st < step : st > step)) step = st;
        if (step != step) break;
    }
    if (u->dV < 0) {
        double sp = ((sign > 0 ? p->plim_lo : p->plim_hi) - u->V) / u->dV;
        step = sign > 0 ? py_min(step, sp) : py_max(step, sp);
    }
    if (u->has_anode) {
        double best = 0.0;
        for (i = 0; i < p->N; i++) {
            double st = u->da[i] > 0 ? (p->min_anode - u->a[i]) / u->da[i] : -INFINITY;
            if (i == 0 || st != st || st > best) best = st;
            if (best != best) break;
        }
        step = py_max(step, best);
    }
    return I + step;
}

/* available_power's `rest_margin` (rest[0]: key +1, rest[1]: key -1) */
static int rest_margin(PmPack *p, PmPrep *pr, double sign, int *have, PmRes *r, double *m)
{
    const int key = p->has_min_anode && sign < 0 ? 1 : 0;
    PmPulse *u = &p->pulses[key];
    if (!have[key]) {
        if (pulse_evaluate(p, pr, 0.0, key ? -1.0 : 1.0, r, u) != 0) return -1;
        have[key] = 1;
    }
    *m = u->ok ? pulse_margin(p, sign, u) : -INFINITY;
    return 0;
}

/* AssembledBattery.available_power(pulse_duration_s, T, layer limits, pack limits,
 * tol_V = 1e-6, min_anode_potential_V, substep_s = the macro step) */
int battery_available_power(PmPack *p, const double *T, double *dis, double *ch)
{
    const int64_t S = p->S;
    const double tol_V = 1e-6;
    PmPrep *pr = &p->pulse_prep;
    PmRes *r = &p->pr[5].r;
    PmPulse *cur = &p->pulses[2];
    double n_sub_d = ceil(p->pulse_s / p->h_macro - 1e-9), out[2];
    int64_t n_sub = n_sub_d > 1 ? (int64_t)n_sub_d : 1;
    int have[2] = {0, 0}, k;
    if (model_prepare(p, pr, p->pulse_s, T, n_sub) != 0) return -1;
    for (k = 0; k < 2; k++) {
        const double sign = k == 0 ? 1.0 : -1.0;
        const int last = p->pulse_state[k];
        double I, good = 0.0, V_good = 0.0, bad = 0.0, m = 0.0, rm, pw;
        int has_bad = 0, it;
        if (last) {
            I = last == 2 ? 2.0 * p->pulse_found[k] - p->pulse_prev[k] : p->pulse_found[k];
            if (I * sign <= 0) I = p->pulse_found[k];
        } else {
            if (rest_margin(p, pr, sign, have, r, &rm) != 0) return -1;
            if (!(rm > 0)) { /* at a limit already */
                out[k] = 0.0;
                continue;
            }
            I = pulse_crossing(p, sign, 0.0, &p->pulses[p->has_min_anode && sign < 0 ? 1 : 0]);
            if (!isfinite(I) || I * sign <= 0) I = sign * p->one_c * (double)S;
        }
        for (it = 0; it < 60; it++) {
            double I_new;
            if (pulse_evaluate(p, pr, I, sign, r, cur) != 0) return -1;
            m = cur->ok ? pulse_margin(p, sign, cur) : -INFINITY;
            if (m >= 0) {
                good = I;
                V_good = cur->V;
            } else if (!has_bad || fabs(I) < fabs(bad)) {
                bad = I;
                has_bad = 1;
            }
            if (fabs(m) <= tol_V) break;
            I_new = cur->ok ? pulse_crossing(p, sign, I, cur) : NAN;
            if (I_new * sign <= 0) {
                if (rest_margin(p, pr, sign, have, r, &rm) != 0) return -1;
                if (!(rm > 0)) { /* at a limit already at rest */
                    good = 0.0;
                    m = INFINITY;
                    break;
                }
            }
            if (has_bad && !(fabs(good) < fabs(I_new) && fabs(I_new) < fabs(bad))) {
                if (fabs(bad - good) <= 1e-6 * fabs(bad)) break; /* the edge of the model's range */
                I_new = 0.5 * (good + bad);
            }
            if (!isfinite(I_new) || I_new == I) break;
            I = I_new;
        }
        if (fabs(m) <= tol_V) { /* converged: the current at the limit */
            good = I;
            V_good = cur->V;
        }
        if (fabs(good) > 1e-9 * p->one_c) {
            p->pulse_prev[k] = p->pulse_found[k];
            p->pulse_state[k] = last ? 2 : 1;
            p->pulse_found[k] = good;
        } else {
            p->pulse_state[k] = 0;
        }
        if (sign < 0 && good != 0.0) { /* charge: the voltage right after the current step */
            double Is[64], V[64], V0;
            int64_t s;
            for (s = 0; s < S; s++) Is[s] = good / (double)S;
            if (model_prepare(p, &p->short_prep, 1e-6, T, 1) != 0) return -1;
            if (string_voltages(p, &p->short_prep, Is, 0, r, V, NULL) != 0) return -1;
            V0 = np_sum(V, S) / (double)S;
            V_good = isfinite(V0) && V0 < V_good ? V0 : V_good;
        }
        pw = good * V_good;
        out[k] = sign > 0 ? py_max(pw, 0.0) : py_min(pw, 0.0);
    }
    *dis = out[0];
    *ch = out[1];
    return 0;
}
