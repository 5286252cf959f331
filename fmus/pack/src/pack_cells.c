/* The batched cell model around the kernels, as cosim/cell/spme.py's SPMe class drives them:
 * the prepared step with its hint, where composite splits start (_start, _predicted), the
 * string solve (_solve_strings), commit and outputs (_commit, _fill_outputs), and the
 * initial state at a state of charge (params.at_soc, equilibrium_split, set_uniform). */
#include "pack_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* room for a CkPrep (a prepared step) and a hint */
int prep_alloc(PmPack *p, PmPrep *pr)
{
    const size_t N = (size_t)p->N, MN = (size_t)(p->M * p->N), MNr = MN * (size_t)p->nr, Nn = N * (size_t)p->n;
    double *b = (double *)pm_calloc(2 * MNr + 3 * MN + N + 2 * Nn + N + 2 * MN + N, sizeof(double));
    if (b == NULL) return -1;
    pr->reuse = (int64_t *)pm_calloc(N, sizeof(int64_t));
    if (pr->reuse == NULL) {
        free(b);
        return -1;
    }
    pr->buf = b;
    pr->a.E = b;
    pr->a.G = b + MNr;
    pr->a.s0 = pr->a.G + MNr;
    pr->a.s1 = pr->a.s0 + MN;
    pr->a.k_eff = pr->a.s1 + MN;
    pr->a.kfac = pr->a.k_eff + MN;
    pr->a.c_free = pr->a.kfac + N;
    pr->a.c_unit = pr->a.c_free + Nn;
    pr->hint_I = pr->a.c_unit + Nn;
    pr->hint_j = pr->hint_I + N;
    pr->hint_dj = pr->hint_j + MN;
    pr->T_used = pr->hint_dj + MN;
    pr->has_hint = 0;
    pr->used = 0;
    return 0;
}

/* room for a PmRes */
int res_alloc(PmPack *p, PmRes *r)
{
    const size_t N = (size_t)p->N, S = (size_t)p->S, MN = (size_t)(p->M * p->N);
    double *b = (double *)pm_calloc(S + N + 2 * N + 6 * MN + 4 * N + 6 * N + N, sizeof(double));
    if (b == NULL) return -1;
    r->buf = b;
    r->I_s = b;
    r->Ic = b + S;
    r->ev.V = r->Ic + N;
    r->ev.dV = r->ev.V + N;
    r->ev.j = r->ev.dV + N;
    r->ev.eta = r->ev.j + MN;
    r->ev.cs = r->ev.eta + MN;
    r->ev.dj = r->ev.cs + MN;
    r->ev.deta = r->ev.dj + MN;
    r->ev.dcs = r->ev.deta + MN;
    r->ev.dphi = r->ev.dcs + MN;
    r->ev.ddphi = r->ev.dphi + 2 * N;
    r->ev.terms = r->ev.ddphi + 2 * N;
    r->ev.dterms = r->ev.terms + 3 * N;
    r->dv = r->ev.dterms + 3 * N;
    r->V_pack = NAN;
    r->has_deriv = r->has_dv = 0;
    return 0;
}

void res_copy(const PmPack *p, PmRes *dst, const PmRes *src)
{
    const size_t N = (size_t)p->N, S = (size_t)p->S, MN = (size_t)(p->M * p->N);
    if (dst == src) return;
    memcpy(dst->buf, src->buf, sizeof(double) * (S + N + 2 * N + 6 * MN + 4 * N + 6 * N + N));
    dst->V_pack = src->V_pack;
    dst->has_deriv = src->has_deriv;
    dst->has_dv = src->has_dv;
}

int pulse_alloc(PmPack *p, PmPulse *u)
{
    const size_t N = (size_t)p->N;
    double *b = (double *)pm_calloc(4 * N, sizeof(double));
    if (b == NULL) return -1;
    u->buf = b;
    u->v = b;
    u->dv = b + N;
    u->a = b + 2 * N;
    u->da = b + 3 * N;
    u->ok = u->has_anode = 0;
    return 0;
}

/* SPMe._prepare / _prepare_pulse (a new _Prep: no hint): ck_prepare of a step of h s at T
 * into pr, reusing each cell's temperature-only arrays
 * (ck_prepare_reusing) where pr holds them for the same h at a temperature within
 * temperature_cache_K of T (0: the very same temperature, so the numbers are those of a
 * full ck_prepare; they depend on T and h only, not on the state, which may have been
 * restored since) */
int model_prepare(PmPack *p, PmPrep *pr, double h, const double *T, int64_t substeps)
{
    const int64_t N = p->N;
    int64_t i, any = 0;
    int rc;
    pr->h = h;
    pr->T = T;
    pr->has_hint = 0;
    for (i = 0; i < N; i++) {
        pr->reuse[i] = pr->used && pr->h_used == h && fabs(T[i] - pr->T_used[i]) <= p->T_cache_tol;
        any |= pr->reuse[i];
    }
    rc = ck_prepare_reusing(&p->cells, h, T, p->z, p->c, substeps, &pr->a, any ? pr->reuse : NULL);
    if (rc != 0) {
        pr->used = 0;
        return rc;
    }
    for (i = 0; i < N; i++)
        if (!pr->reuse[i]) pr->T_used[i] = T[i];
    pr->h_used = h;
    pr->used = 1;
    return 0;
}

/* SPMe._start with spme._predicted: the guess of the composite splits for cell currents I
 * (into p->guess); returns whether there is one */
static int model_start(PmPack *p, const PmPrep *pr, const double *I)
{
    const int64_t N = p->N, M = p->M;
    const double *hI, *hj, *hdj;
    int has_dj;
    int64_t i, k;
    if (!p->composite || !(pr->has_hint || p->hint_ok)) return 0;
    if (pr->has_hint && p->hint_ok) {
        /* min(hints, key=max |I - hint currents|): the prep's unless the model's is nearer */
        double d1 = 0.0, d2 = 0.0;
        int nan1 = 0, nan2 = 0;
        for (i = 0; i < N; i++) {
            double a = fabs(I[i] - pr->hint_I[i]), b = fabs(I[i] - p->hint_I[i]);
            if (a != a) nan1 = 1;
            if (b != b) nan2 = 1;
            if (a > d1) d1 = a;
            if (b > d2) d2 = b;
        }
        if (nan1) d1 = NAN;
        if (nan2) d2 = NAN;
        if (d2 < d1) {
            hI = p->hint_I, hj = p->hint_j, hdj = p->hint_dj, has_dj = p->hint_has_dj;
        } else {
            hI = pr->hint_I, hj = pr->hint_j, hdj = pr->hint_dj, has_dj = 1;
        }
    } else if (pr->has_hint) {
        hI = pr->hint_I, hj = pr->hint_j, hdj = pr->hint_dj, has_dj = 1;
    } else {
        hI = p->hint_I, hj = p->hint_j, hdj = p->hint_dj, has_dj = p->hint_has_dj;
    }
    for (k = 0; k < M; k++)
        for (i = 0; i < N; i++)
            p->guess[k * N + i] = has_dj ? hj[k * N + i] + hdj[k * N + i] * (I[i] - hI[i]) : hj[k * N + i];
    return 1;
}

static void set_prep_hint(PmPack *p, PmPrep *pr, const double *I, const double *j, const double *dj)
{
    const size_t N = (size_t)p->N, MN = (size_t)(p->M * p->N);
    if (pr->hint_I != I) memcpy(pr->hint_I, I, sizeof(double) * N);
    memcpy(pr->hint_j, j, sizeof(double) * MN);
    memcpy(pr->hint_dj, dj, sizeof(double) * MN);
    pr->has_hint = 1;
}

/* SPMe._evaluate / _evaluate_slope at cell currents I into r (r->Ic receives I) */
int model_evaluate(PmPack *p, PmPrep *pr, const double *I, int slope, PmRes *r)
{
    int has_guess;
    if (r->Ic != I) memcpy(r->Ic, I, sizeof(double) * (size_t)p->N);
    has_guess = model_start(p, pr, r->Ic);
    if (ck_evaluate(&p->cells, &pr->a, pr->T, r->Ic, p->guess, has_guess, slope, &r->ev) != 0) return -1;
    r->has_deriv = slope;
    if (slope && all_finite(r->ev.V, p->N)) set_prep_hint(p, pr, r->Ic, r->ev.j, r->ev.dj);
    return 0;
}

/* SPMe._solve_strings: returns -1 without memory; *ok as the kernel says */
int model_solve_strings(PmPack *p, PmPrep *pr, const double *I0, int power_mode, double demand, double scale,
                        PmRes *r, int *ok)
{
    const int64_t N = p->N, per = p->N / p->S;
    int64_t i;
    int has_guess, slope_out = 0, res;
    for (i = 0; i < N; i++) p->tmpN[i] = I0[i / per];
    has_guess = model_start(p, pr, p->tmpN);
    res = ck_solve_strings(&p->cells, &pr->a, pr->T, p->guess, has_guess, p->S, I0, power_mode, demand, p->R_series,
                           scale, PM_SOLVE_MAX_ITER, p->curvature, PM_SAFETY, r->I_s, &r->V_pack, r->Ic, &r->ev,
                           &slope_out);
    if (res < 0) return -1;
    *ok = res;
    r->has_deriv = 0;
    r->has_dv = 0;
    if (slope_out && all_finite(r->ev.V, N)) set_prep_hint(p, pr, r->Ic, r->ev.j, r->ev.dj);
    return 0;
}

/* SPMe._commit and _fill_outputs (the outputs of the step, at once) */
void model_commit(PmPack *p, PmPrep *pr, const PmRes *r)
{
    const size_t N = (size_t)p->N, MN = (size_t)(p->M * p->N);
    CkOutputs o;
    ck_commit(&p->cells, &pr->a, r->Ic, r->ev.j, p->z, p->c);
    if (p->composite) {
        memcpy(p->hint_I, r->Ic, sizeof(double) * N);
        memcpy(p->hint_j, r->ev.j, sizeof(double) * MN);
        p->hint_has_dj = pr->has_hint;
        if (pr->has_hint) memcpy(p->hint_dj, pr->hint_dj, sizeof(double) * MN);
        p->hint_ok = 1;
    }
    memcpy(p->out_V, r->ev.V, sizeof(double) * N);
    memcpy(p->out_I, r->Ic, sizeof(double) * N);
    o.ocv = p->out_ocv;
    o.q_rxn = p->out_q[0];
    o.q_ohm = p->out_q[1];
    o.q_rev = p->out_q[2];
    o.q_mix = p->out_q[3];
    o.soc = p->out_soc;
    o.anode = p->out_anode;
    o.sto_surf = p->out_sto_s;
    o.sto_mean = p->out_sto_m;
    ck_outputs(&p->cells, pr->T, r->Ic, r->ev.j, r->ev.eta, r->ev.cs, r->ev.dphi, r->ev.terms, p->z, p->c, &o);
}

/* params.equilibrium_split's sto_at: the stoichiometry of material k at potential U */
static double sto_at(const PmPack *p, int64_t k, double U)
{
    double lo = 0.0, hi = 1.0, v, d;
    int it;
    for (it = 0; it < 50; it++) {
        double mid = 0.5 * (lo + hi);
        ck_value_slope(p->cells.ocp_code[k], p->cells.ocp_p + k * p->cells.P_ocp, mid, &v, &d);
        if (v > U) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* CellParams.at_soc (with equilibrium_split for composite electrodes) and
 * ParticleBatch.set_uniform: every particle uniform at its initial stoichiometry, the salt
 * at its initial concentration */
void model_set_soc(PmPack *p, double soc)
{
    const CkCells *d = &p->cells;
    const int64_t N = p->N, nr = p->nr;
    int64_t e, k, i, q, m;
    for (i = 0; i < N; i++) {
        for (e = 0; e < 2; e++) {
            const int64_t k0 = d->mat_start[e], k1 = d->mat_start[e + 1];
            double sto[16];
            for (k = k0; k < k1 && k - k0 < 16; k++)
                sto[k - k0] = d->sto0[k * N + i] + soc * (d->sto100[k * N + i] - d->sto0[k * N + i]);
            if (k1 - k0 > 1 && k1 - k0 <= 16) {
                double target = 0.0, U_lo = -1.0, U_hi = 6.0, U;
                int it;
                for (k = k0; k < k1; k++) target += (d->cap[k * N + i]) * sto[k - k0];
                for (it = 0; it < 60; it++) {
                    double held = 0.0;
                    U = 0.5 * (U_lo + U_hi);
                    for (k = k0; k < k1; k++) held += d->cap[k * N + i] * sto_at(p, k, U);
                    if (held > target) U_lo = U;
                    else U_hi = U;
                }
                U = 0.5 * (U_lo + U_hi);
                for (k = k0; k < k1; k++) sto[k - k0] = sto_at(p, k, U);
                {   /* the lithium the potential alone leaves (a plateau), taken up within the bracket */
                    double held = 0.0, rest;
                    for (k = k0; k < k1; k++) held += d->cap[k * N + i] * sto[k - k0];
                    rest = target - held;
                    for (k = k0; k < k1; k++) {
                        double c = d->cap[k * N + i], poor = sto_at(p, k, U_hi), rich = sto_at(p, k, U_lo);
                        double moved = sto[k - k0] + rest / c;
                        moved = moved > poor ? moved : poor; /* np.maximum, then np.minimum */
                        moved = moved < rich ? moved : rich;
                        rest = rest - c * (moved - sto[k - k0]);
                        sto[k - k0] = moved;
                    }
                }
            }
            for (k = k0; k < k1 && k - k0 < 16; k++) {
                double cz = sto[k - k0] * d->c_max[k * N + i];
                for (q = 0; q < nr; q++) p->z[(k * N + i) * nr + q] = cz * p->z_uniform[q];
            }
        }
        for (m = 0; m < p->n; m++) p->c[i * p->n + m] = d->c_e0[i];
    }
}
