/* The SPM/SPMe cell kernels in C99 (their one implementation; the physics is described in
 * cosim/cell/spme.py): the SPMe step that cosim/cell/spme.py calls through
 * cosim/pack/c_kernel.py and the pack FMU's battery runs. See cell_kernel.h. */
#include "cell_kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* bound on alpha F eta / (R T) inside exponentials; the Newton update (V, of dphi and every
 * j_k) that ends a composite electrode's current split; its iterations from the proportional
 * split, and from a guess (then once more from the proportional split) */
#define CLIP 60.0
#define SPLIT_TOL 1e-6
#define SPLIT_MAX_ITER 60
#define SPLIT_GUESSED_ITER 12

/* CK_OMP(directive): an OpenMP pragma where the build has OpenMP, nothing otherwise (see
 * "Threads" in cell_kernel.h) */
#ifdef _OPENMP
#define CK_OMP(x) _Pragma(#x)
#else
#define CK_OMP(x)
#endif

/* cells a thread takes at a time: the threads share the cells dynamically, so one that the
 * system holds back (the cores busy with other work) leaves more to the others */
#define CK_CHUNK 16

/* the threads of a loop over the cells of d: d->n_threads from CK_PARALLEL_MIN_CELLS cells on */
static int threads_for(const CkCells *d)
{
    return d->n_threads > 1 && d->N >= CK_PARALLEL_MIN_CELLS ? (int)d->n_threads : 1;
}

/* index helpers: (M, N) and (N, n) arrays */
#define MN(k, i) ((k) * N + (i))

/* min(a, b) and max(a, b) with Python's NaN rules: b if b < a (b > a) else a. */
static double py_min(double a, double b) { return b < a ? b : a; }
static double py_max(double a, double b) { return b > a ? b : a; }

/* -- scalar pieces ------------------------------------------------------------------------ */

/* U + dT dU/dT of material k at sto, and its derivative in sto. */
static void ocp(const CkCells *d, int64_t k, double sto, double dT, double *u_out, double *du_out)
{
    double u, du, s, ds;
    ck_value_slope(d->ocp_code[k], d->ocp_p + k * d->P_ocp, sto, &u, &du);
    if (dT != 0.0) {
        ck_value_slope(d->dUdT_code[k], d->dUdT_p + k * d->P_dUdT, sto, &s, &ds);
        u += dT * s;
        du += dT * ds;
    }
    *u_out = u;
    *du_out = du;
}

static double ocp_value(const CkCells *d, int64_t k, double sto, double dT)
{
    double u, du;
    ocp(d, k, sto, dT, &u, &du);
    return u;
}

/* the surface factor of the exchange current, k (c_max - cs)^aa cs^ac */
static double i0_surface(double k_eff, double aa, double ac, double c_max, double cs)
{
    cs = py_min(py_max(cs, 0.0), c_max);
    if (aa == 0.5 && ac == 0.5) return k_eff * sqrt((c_max - cs) * cs);
    return k_eff * pow(c_max - cs, aa) * pow(cs, ac);
}

/* the salt factor of the exchange current, ce^aa */
static double i0_salt(double aa, double ce)
{
    ce = py_max(ce, 0.0);
    return aa == 0.5 ? sqrt(ce) : pow(ce, aa);
}

/* exchange current density (zero at an empty or full surface or depleted salt) */
static double i0_of(double k_eff, double aa, double ac, double c_max, double ce, double cs)
{
    return i0_surface(k_eff, aa, ac, c_max, cs) * i0_salt(aa, ce);
}

/* x clipped to [-CLIP, CLIP] */
static double clip(double x) { return py_min(py_max(x, -CLIP), CLIP); }

/* asinh through log1p (absolute error at round-off, a few times cheaper than libm's) */
static double asinh_(double x)
{
    double a = fabs(x), r;
    if (a > 1e150) r = log(a) + log(2.0);
    else r = log1p(a + a * a / (1.0 + sqrt(1.0 + a * a)));
    return x >= 0 ? r : -r;
}

/* the overpotential giving interfacial current j (closed form when aa == ac, else Newton) */
static double inverse_bv(double j, double i0, double f, double aa, double ac)
{
    double ratio, eta;
    int it;
    if (!(i0 > 0.0)) return j == 0.0 ? 0.0 : copysign(INFINITY, j);
    ratio = j / (2.0 * i0);
    if (aa == ac) return asinh_(ratio) / (aa * f);
    eta = asinh_(ratio) / (0.5 * (aa + ac) * f);
    for (it = 0; it < 50; it++) {
        double ea = exp(clip(aa * f * eta));
        double ec = exp(clip(-ac * f * eta));
        double step = (i0 * (ea - ec) - j) / (i0 * f * (aa * ea + ac * ec));
        eta -= step;
        if (fabs(step) < 1e-13) break;
    }
    return eta;
}

/* derivative of the overpotential of j = i0 BV(eta) for changes dj, di0 */
static double deta_of(double j, double dj, double i0, double di0, double eta, double f, double aa, double ac)
{
    double ea, ec;
    if (aa == ac) {
        double r = j / (2.0 * i0);
        return (dj - di0 * j / i0) / (2.0 * aa * f * i0 * sqrt(1.0 + r * r));
    }
    ea = exp(clip(aa * f * eta));
    ec = exp(clip(-ac * f * eta));
    return (dj - di0 * (ea - ec)) / (i0 * f * (aa * ea + ac * ec));
}

/* d ln(i0) / d c_surf */
static double dlni0(double aa, double ac, double c_max, double cs) { return -aa / (c_max - cs) + ac / cs; }

/* -- prepare ------------------------------------------------------------------------------ */

/* ck_prepare of cell i; `work` holds 4 n doubles */
static void prepare_cell(const CkCells *d, double h, const double *T, const double *z, const double *c,
                         int64_t n_sub, const CkPrep *res, int64_t i, double *work, int reuse)
{
    const int64_t M = d->M, N = d->N, nr = d->n_r, n = d->n;
    const double T_ref = d->scalars[0];
    int64_t k, q, m, sub;
    double tp1, src_n, src_p, fD, hs, prev_c;
    int64_t nn, ns;
    double *kk = work, *g = work + n, *cp = work + 2 * n, *piv = work + 3 * n;
    double *c_free = res->c_free + i * n, *c_unit = res->c_unit + i * n;
    const double *ci = c + i * n;
    for (k = 0; k < M; k++) {
        double D, rad, tau, gain, a0, a1;
        const double *zk = z + MN(k, i) * nr;
        double *Ek = res->E + MN(k, i) * nr, *Gk = res->G + MN(k, i) * nr;
        if (reuse) { /* E, G, s1 and k_eff as an earlier call left them: only s0 is the state's */
            a0 = 0.0;
            for (q = 0; q < nr; q++) a0 += Ek[q] * zk[q] * d->w_surf[q];
            res->s0[MN(k, i)] = a0;
            continue;
        }
        res->k_eff[MN(k, i)] = d->rate[MN(k, i)] * ck_arrhenius_factor(d->E_k[k], T[i], T_ref);
        D = d->D_ref[MN(k, i)] * ck_arrhenius_factor(d->E_D[k], T[i], T_ref);
        rad = d->radius[MN(k, i)];
        tau = D * h / (rad * rad);
        gain = -1.0 / (CK_F * rad);
        a0 = 0.0;
        a1 = 0.0;
        for (q = 0; q < nr; q++) {
            double x = d->lam[q] * tau;
            double e = exp(x), p1, gq;
            if (x < -38.0) p1 = -1.0 / x; /* expm1(x) is -1 to the last bit */
            else if (fabs(x) < 1e-8) p1 = 1.0 + 0.5 * x;
            else p1 = expm1(x) / x;
            gq = (h * p1 * d->b[q]) * gain;
            Ek[q] = e;
            Gk[q] = gq;
            a0 += e * zk[q] * d->w_surf[q];
            a1 += gq * d->w_surf[q];
        }
        res->s0[MN(k, i)] = a0;
        res->s1[MN(k, i)] = a1;
    }
    res->kfac[i] = 1.0; /* np.ones(N) in prepare */
    if (n == 0) return;
    tp1 = d->scalars[2];
    nn = d->n_x[0];
    ns = d->n_x[1];
    res->kfac[i] = ck_arrhenius_factor(d->scalars[3], T[i], d->scalars[4]);
    fD = ck_arrhenius_factor(d->scalars[5], T[i], d->scalars[6]);
    for (m = 0; m < n; m++) {
        double v, dv;
        ck_value_slope(d->De_code, d->De_p, ci[m], &v, &dv);
        kk[m] = v;
    }
    /* face conductance between nodes m and m + 1: the two half volumes in series in eps^b
     * (exact for a flux through the jump of porosity at a region interface, where an
     * arithmetic mean is first order) times the mean of D_e(c) over the concentrations
     * between the nodes (Simpson's rule; the flux between two nodes of a steady profile is
     * exactly (Phi(c_r) - Phi(c_l)) / dx with Phi' = D_e, where D_e(c) has a minimum in
     * between (Chen2020 near 2000 mol/m^3) a mean of the node values misses it) */
    for (m = 0; m < n - 1; m++) {
        double v, dv;
        ck_value_slope(d->De_code, d->De_p, 0.5 * (ci[m] + ci[m + 1]), &v, &dv);
        g[m] = fD * (kk[m] + 4.0 * v + kk[m + 1]) / 6.0
               * (2.0 / (d->dx[i * n + m] / d->tortuosity[i * n + m] + d->dx[i * n + m + 1] / d->tortuosity[i * n + m + 1]));
    }
    src_n = tp1 / (CK_F * d->area[i] * d->L[0 * N + i]);
    src_p = -tp1 / (CK_F * d->area[i] * d->L[2 * N + i]);
    /* backward Euler in n_sub sub-steps of the same matrix, Thomas algorithm for both
     * right-hand sides (c_end = c_free + I c_unit) */
    hs = h / (double)n_sub;
    prev_c = 0.0;
    for (m = 0; m < n; m++) {
        double main_ = d->capacity[i * n + m] / hs;
        if (m < n - 1) main_ += g[m];
        if (m > 0) {
            main_ += g[m - 1];
            main_ += g[m - 1] * prev_c;
        }
        piv[m] = main_;
        prev_c = (m < n - 1 ? -g[m] : 0.0) / main_;
        cp[m] = prev_c;
    }
    for (m = 0; m < n; m++) {
        c_free[m] = ci[m];
        c_unit[m] = 0.0;
    }
    for (sub = 0; sub < n_sub; sub++) {
        for (m = 0; m < n; m++) {
            double src = m < nn ? src_n : (m < nn + ns ? 0.0 : src_p);
            double r0 = d->capacity[i * n + m] / hs * c_free[m];
            double r1 = d->capacity[i * n + m] / hs * c_unit[m] + src * d->dx[i * n + m];
            if (m > 0) {
                r0 += g[m - 1] * c_free[m - 1];
                r1 += g[m - 1] * c_unit[m - 1];
            }
            c_free[m] = r0 / piv[m];
            c_unit[m] = r1 / piv[m];
        }
        for (m = n - 2; m >= 0; m--) {
            c_free[m] -= cp[m] * c_free[m + 1];
            c_unit[m] -= cp[m] * c_unit[m + 1];
        }
    }
}

/* the cells, shared between the threads (each with its own scratch) */
int ck_prepare(const CkCells *d, double h, const double *T, const double *z, const double *c, int64_t n_sub,
               const CkPrep *out)
{
    return ck_prepare_reusing(d, h, T, z, c, n_sub, out, NULL);
}

int ck_prepare_reusing(const CkCells *d, double h, const double *T, const double *z, const double *c,
                       int64_t n_sub, const CkPrep *out, const int64_t *reuse)
{
    const int nt = threads_for(d);
    int failed = 0;
    (void)nt;
    CK_OMP(omp parallel num_threads(nt) if (nt > 1))
    {
        int64_t i;
        double *work = NULL;
        if (d->n > 0 && (work = (double *)malloc(sizeof(double) * (size_t)(4 * d->n))) == NULL) {
            CK_OMP(omp atomic write)
            failed = 1;
        }
        CK_OMP(omp for schedule(dynamic, CK_CHUNK))
        for (i = 0; i < d->N; i++)
            if (d->n == 0 || work != NULL) prepare_cell(d, h, T, z, c, n_sub, out, i, work, reuse != NULL && reuse[i]);
        free(work);
    }
    return failed ? -1 : 0;
}

/* -- evaluate ----------------------------------------------------------------------------- */

/* the current split: share i_vol between the materials k0..k1-1 of an electrode of cell
 * i; writes j, eta, cs and the scratch w (4, M); returns dphi and sets *ddphi (NaN both
 * without a solution). */
static double split(const CkCells *d, const CkPrep *prep, int64_t i, int64_t k0, int64_t k1, double i_vol,
                    double di_vol, double ce, double dce, double T, double f, const double *guess,
                    int has_guess, double *j, double *eta, double *cs, double *w, int slope, double *ddphi_out)
{
    const int64_t N = d->N, M = d->M;
    const double *s0 = prep->s0, *s1 = prep->s1, *k_eff = prep->k_eff;
    const double dT = T - d->scalars[0];
    double update = NAN, dphi = NAN, total, scale, num, den;
    double *w0 = w, *w1 = w + M, *w2 = w + 2 * M, *w3 = w + 3 * M;
    int attempt, it, n_attempts = has_guess ? 2 : 1;
    int64_t k;
    /* from the guess if there is one (a few iterations), else (or if that fails) from a
     * split in proportion to a_k i0_k at the present surface state */
    for (attempt = 0; attempt < n_attempts; attempt++) {
        int n_iter;
        double i0, U, dU;
        if (attempt == 0 && has_guess) {
            for (k = k0; k < k1; k++) j[MN(k, i)] = guess[MN(k, i)];
        } else {
            double tot = 0.0;
            for (k = k0; k < k1; k++) {
                double cm = d->c_max[MN(k, i)];
                double v = i0_of(k_eff[MN(k, i)], d->alpha_a[k], d->alpha_c[k], cm, ce,
                                 py_min(py_max(s0[MN(k, i)], 1e-9 * cm), (1 - 1e-9) * cm));
                w0[k] = v != v ? 1e-30 : v;
                tot += d->a[MN(k, i)] * w0[k];
            }
            for (k = k0; k < k1; k++) j[MN(k, i)] = i_vol * w0[k] / tot;
        }
        for (k = k0; k < k1; k++) cs[MN(k, i)] = s0[MN(k, i)] + s1[MN(k, i)] * j[MN(k, i)];
        k = k0;
        i0 = i0_of(k_eff[MN(k, i)], d->alpha_a[k], d->alpha_c[k], d->c_max[MN(k, i)], ce, cs[MN(k, i)]);
        ocp(d, k, cs[MN(k, i)] / d->c_max[MN(k, i)], dT, &U, &dU);
        dphi = (U + inverse_bv(j[MN(k, i)], i0, f, d->alpha_a[k], d->alpha_c[k]) + d->film[MN(k, i)] * j[MN(k, i)]);
        n_iter = attempt == 0 && has_guess ? SPLIT_GUESSED_ITER : SPLIT_MAX_ITER;
        for (it = 0; it < n_iter; it++) {
            double step;
            num = i_vol;
            for (k = k0; k < k1; k++) num -= d->a[MN(k, i)] * j[MN(k, i)];
            den = 0.0;
            for (k = k0; k < k1; k++) {
                double cm = d->c_max[MN(k, i)], aa = d->alpha_a[k], ac = d->alpha_c[k], rf = d->film[MN(k, i)];
                double e, ea, ec, kk, rk, jkk;
                i0 = i0_of(k_eff[MN(k, i)], aa, ac, cm, ce, cs[MN(k, i)]);
                ocp(d, k, cs[MN(k, i)] / cm, dT, &U, &dU);
                e = dphi - U - rf * j[MN(k, i)];
                ea = exp(clip(aa * f * e));
                ec = exp(clip(-ac * f * e));
                kk = i0 * f * (aa * ea + ac * ec); /* dj/deta */
                rk = j[MN(k, i)] - i0 * (ea - ec);
                jkk = 1.0 + kk * (dU / cm * s1[MN(k, i)] + rf) - i0 * dlni0(aa, ac, cm, cs[MN(k, i)]) * s1[MN(k, i)] * (ea - ec);
                w0[k] = -rk / jkk;
                w1[k] = kk / jkk;
                w2[k] = U;
                w3[k] = dU / cm;
                num -= d->a[MN(k, i)] * w0[k];
                den += d->a[MN(k, i)] * w1[k];
            }
            step = num / den;
            if (step == step) step = py_min(py_max(step, -0.2), 0.2);
            dphi += step;
            update = fabs(step);
            for (k = k0; k < k1; k++) {
                double dj = w0[k] + w1[k] * step;
                j[MN(k, i)] += dj;
                cs[MN(k, i)] += s1[MN(k, i)] * dj;
                w2[k] += w3[k] * s1[MN(k, i)] * dj;
                if (w1[k] != 0.0) update = py_max(update, fabs(dj / w1[k]));
            }
            if (!(update >= SPLIT_TOL)) break;
        }
        if (update < SPLIT_TOL) break;
    }
    total = 0.0;
    scale = fabs(i_vol);
    for (k = k0; k < k1; k++) {
        eta[MN(k, i)] = dphi - w2[k] - d->film[MN(k, i)] * j[MN(k, i)];
        total += d->a[MN(k, i)] * j[MN(k, i)];
        scale += fabs(d->a[MN(k, i)] * j[MN(k, i)]);
    }
    if (!(isfinite(dphi) && update < SPLIT_TOL) || fabs(total - i_vol) > 1e-8 * scale) {
        *ddphi_out = NAN;
        return NAN;
    }
    if (!slope) {
        *ddphi_out = 0.0;
        return dphi;
    }
    /* implicit derivative: dj_k = (P_k B_k dce + K_k d dphi) / D_k with sum a_k dj_k = d i_vol */
    num = di_vol;
    den = 0.0;
    for (k = k0; k < k1; k++) {
        double cm = d->c_max[MN(k, i)], aa = d->alpha_a[k], ac = d->alpha_c[k], rf = d->film[MN(k, i)];
        double i0 = i0_of(k_eff[MN(k, i)], aa, ac, cm, ce, cs[MN(k, i)]);
        double U, dU, ea, ec, B, K, Dk;
        ocp(d, k, cs[MN(k, i)] / cm, dT, &U, &dU);
        dU = dU / cm;
        w3[k] = dU;
        ea = exp(clip(aa * f * eta[MN(k, i)]));
        ec = exp(clip(-ac * f * eta[MN(k, i)]));
        B = ea - ec;
        K = i0 * f * (aa * ea + ac * ec);
        Dk = 1.0 + K * (dU * s1[MN(k, i)] + rf) - i0 * dlni0(aa, ac, cm, cs[MN(k, i)]) * s1[MN(k, i)] * B;
        w0[k] = dce != 0.0 ? (i0 * aa / ce * dce * B) / Dk : 0.0;
        w1[k] = K / Dk;
        num -= d->a[MN(k, i)] * w0[k];
        den += d->a[MN(k, i)] * w1[k];
    }
    *ddphi_out = num / den;
    return dphi;
}

/* ck_evaluate of cell i; `w` is scratch of 4 M doubles */
static void evaluate_cell(const CkCells *d, const CkPrep *prep, const double *T, const double *I,
                          const double *guess, int has_guess, int slope, const CkEval *out, int64_t i, double *w)
{
    const int64_t N = d->N, M = d->M, n = d->n;
    const double *s0 = prep->s0, *s1 = prep->s1, *k_eff = prep->k_eff;
    const double *c_free = prep->c_free + i * n, *c_unit = prep->c_unit + i * n;
    const double chi = d->scalars[1];
    const int64_t nn = d->n_x[0], ns = d->n_x[1], npos = n - nn - ns;
    const double Ii = I[i], Ti = T[i];
    const double f = CK_F / (CK_R * Ti);
    const double area = d->area[i];
    double ce_el[2], dce_el[2], ddphi[2] = {0.0, 0.0}, dterms = 0.0;
    int64_t m, e, k;
    int bad = 0;
    out->terms[0 * N + i] = out->terms[1 * N + i] = out->terms[2 * N + i] = 0.0;
    out->dV[i] = 0.0;
    if (slope) out->dterms[0 * N + i] = out->dterms[1 * N + i] = out->dterms[2 * N + i] = 0.0;
    ce_el[0] = ce_el[1] = d->c_e0[i]; /* electrode-mean salt (negative, positive) */
    dce_el[0] = dce_el[1] = 0.0;
    if (n > 0) {
        /* salt at the end of the step, its region means and the potential corrections */
        double sn = 0.0, sp = 0.0, dsn = 0.0, dsp = 0.0, av = 0.0, dav = 0.0;
        double ln = 0.0, lp = 0.0, dln = 0.0, dlp = 0.0, rtf, eta_c, kappa, dkappa, cur, Q, dphi_e, dphi_s;
        for (m = 0; m < n; m++) {
            double c = c_free[m] + c_unit[m] * Ii;
            if (!(c > 0.0)) bad = 1;
            av += c * d->dx[i * n + m];
            dav += c_unit[m] * d->dx[i * n + m];
            if (m < nn) {
                sn += c;
                dsn += c_unit[m];
            } else if (m >= nn + ns) {
                sp += c;
                dsp += c_unit[m];
            }
        }
        if (bad) {
            out->V[i] = NAN;
            out->dV[i] = NAN;
            return;
        }
        av /= d->total[i];
        dav /= d->total[i];
        ce_el[0] = sn / (double)nn;
        ce_el[1] = sp / (double)npos;
        dce_el[0] = dsn / (double)nn;
        dce_el[1] = dsp / (double)npos;
        for (m = 0; m < nn; m++) {
            double c = c_free[m] + c_unit[m] * Ii;
            ln += log(c / av);
            dln += c_unit[m] / c;
        }
        for (m = nn + ns; m < n; m++) {
            double c = c_free[m] + c_unit[m] * Ii;
            lp += log(c / av);
            dlp += c_unit[m] / c;
        }
        rtf = chi * CK_R * Ti / CK_F;
        eta_c = rtf * (lp / (double)npos - ln / (double)nn);
        ck_value_slope(d->kappa_code, d->kappa_p, av, &kappa, &dkappa);
        kappa *= prep->kfac[i];
        dkappa *= prep->kfac[i];
        cur = Ii / area;
        Q = (d->L[0 * N + i] / (3 * kappa * d->eff[0 * N + i]) + d->L[1 * N + i] / (kappa * d->eff[1 * N + i])
             + d->L[2 * N + i] / (3 * kappa * d->eff[2 * N + i]));
        dphi_e = -cur * Q;
        dphi_s = -cur * (d->L[0 * N + i] / (3 * d->sigma[0 * N + i]) + d->L[2 * N + i] / (3 * d->sigma[1 * N + i]));
        out->terms[0 * N + i] = eta_c;
        out->terms[1 * N + i] = dphi_e;
        out->terms[2 * N + i] = dphi_s;
        if (slope) {
            out->dterms[0 * N + i] = rtf * (dlp / (double)npos - dln / (double)nn);
            out->dterms[1 * N + i] = -Q / area + cur * Q / kappa * dkappa * dav;
            out->dterms[2 * N + i] =
                -(d->L[0 * N + i] / (3 * d->sigma[0 * N + i]) + d->L[2 * N + i] / (3 * d->sigma[1 * N + i])) / area;
            dterms = out->dterms[0 * N + i] + out->dterms[1 * N + i] + out->dterms[2 * N + i];
        }
    }
    for (e = 0; e < 2; e++) {
        const int64_t k0 = d->mat_start[e], k1 = d->mat_start[e + 1];
        const double L = d->L[2 * e * N + i];
        const double sgn = e == 0 ? 1.0 : -1.0;
        const double i_vol = sgn * Ii / (area * L);
        const double di_vol = sgn / (area * L);
        double dp, ddp;
        if (k1 - k0 > 1) {
            dp = split(d, prep, i, k0, k1, i_vol, di_vol, ce_el[e], dce_el[e], Ti, f, guess, has_guess, out->j,
                       out->eta, out->cs, w, slope, &ddp);
            if (slope) { /* dj_k = w[0, k] + w[1, k] d dphi (see split) */
                for (k = k0; k < k1; k++) {
                    out->dj[MN(k, i)] = w[k] + w[M + k] * ddp;
                    out->dcs[MN(k, i)] = s1[MN(k, i)] * out->dj[MN(k, i)];
                    out->deta[MN(k, i)] = ddp - w[3 * M + k] * out->dcs[MN(k, i)] - d->film[MN(k, i)] * out->dj[MN(k, i)];
                }
            }
        } else {
            const double cm = d->c_max[MN(k0, i)], aa = d->alpha_a[k0], ac = d->alpha_c[k0];
            const double rf = d->film[MN(k0, i)], a = d->a[MN(k0, i)];
            const double jk = i_vol / a, djk = di_vol / a;
            const double c_s = s0[MN(k0, i)] + s1[MN(k0, i)] * jk;
            const double dcs = s1[MN(k0, i)] * djk;
            const double dln_cs = dlni0(aa, ac, cm, c_s) * dcs;
            double ek = 0.0, dek = 0.0, U, dU;
            k = k0;
            if (n == 0) {
                double i0 = i0_of(k_eff[MN(k, i)], aa, ac, cm, ce_el[e], c_s);
                ek = inverse_bv(jk, i0, f, aa, ac);
                if (slope) dek = deta_of(jk, djk, i0, i0 * dln_cs, ek, f, aa, ac);
            } else { /* the overpotential of the uniform reaction at the local salt, averaged */
                const int64_t m0 = e == 0 ? 0 : nn + ns;
                const int64_t m1 = e == 0 ? nn : n;
                const double surf = i0_surface(k_eff[MN(k, i)], aa, ac, cm, c_s);
                for (m = m0; m < m1; m++) {
                    double c = c_free[m] + c_unit[m] * Ii;
                    double i0 = surf * i0_salt(aa, c);
                    double em = inverse_bv(jk, i0, f, aa, ac);
                    ek += em;
                    if (slope) dek += deta_of(jk, djk, i0, i0 * (aa * c_unit[m] / c + dln_cs), em, f, aa, ac);
                }
                ek /= (double)(m1 - m0);
                dek /= (double)(m1 - m0);
            }
            ocp(d, k, c_s / cm, Ti - d->scalars[0], &U, &dU);
            dp = U + ek + rf * jk;
            ddp = dU / cm * dcs + dek + rf * djk;
            out->j[MN(k, i)] = jk;
            out->eta[MN(k, i)] = ek;
            out->cs[MN(k, i)] = c_s;
            if (slope) {
                out->dj[MN(k, i)] = djk;
                out->deta[MN(k, i)] = dek;
                out->dcs[MN(k, i)] = dcs;
            }
        }
        out->dphi[e * N + i] = dp;
        if (slope) out->ddphi[e * N + i] = ddp;
        ddphi[e] = ddp;
    }
    out->V[i] = (out->dphi[1 * N + i] - out->dphi[0 * N + i] + out->terms[0 * N + i] + out->terms[1 * N + i]
                 + out->terms[2 * N + i] - Ii * d->contact[i]);
    if (slope) out->dV[i] = ddphi[1] - ddphi[0] + dterms - d->contact[i];
}

/* every cell into `out`, shared between the threads (each with its own scratch of 4 M
 * doubles); 0, or -1 without scratch memory */
static int evaluate_into(const CkCells *d, const CkPrep *prep, const double *T, const double *I,
                         const double *guess, int has_guess, int slope, const CkEval *out)
{
    const int nt = threads_for(d);
    int failed = 0;
    (void)nt;
    CK_OMP(omp parallel num_threads(nt) if (nt > 1))
    {
        int64_t i;
        double *w = (double *)malloc(sizeof(double) * (size_t)(4 * d->M));
        if (w == NULL) {
            CK_OMP(omp atomic write)
            failed = 1;
        }
        CK_OMP(omp for schedule(dynamic, CK_CHUNK))
        for (i = 0; i < d->N; i++)
            if (w != NULL) evaluate_cell(d, prep, T, I, guess, has_guess, slope, out, i, w);
        free(w);
    }
    return failed ? -1 : 0;
}

/* the initial values of an evaluation: V NaN, the rest zeros (derivatives only with slope) */
static void clear_eval(const CkCells *d, int slope, const CkEval *out)
{
    const size_t N = (size_t)d->N, MN_ = (size_t)(d->M * d->N);
    size_t i;
    for (i = 0; i < N; i++) out->V[i] = NAN;
    memset(out->dV, 0, sizeof(double) * N);
    memset(out->j, 0, sizeof(double) * MN_);
    memset(out->eta, 0, sizeof(double) * MN_);
    memset(out->cs, 0, sizeof(double) * MN_);
    memset(out->dphi, 0, sizeof(double) * 2 * N);
    memset(out->terms, 0, sizeof(double) * 3 * N);
    if (slope) {
        memset(out->dj, 0, sizeof(double) * MN_);
        memset(out->deta, 0, sizeof(double) * MN_);
        memset(out->dcs, 0, sizeof(double) * MN_);
        memset(out->ddphi, 0, sizeof(double) * 2 * N);
        memset(out->dterms, 0, sizeof(double) * 3 * N);
    }
}

/* see cell_kernel.h */
int ck_evaluate(const CkCells *d, const CkPrep *prep, const double *T, const double *I, const double *guess,
                int has_guess, int slope, const CkEval *out)
{
    clear_eval(d, slope, out);
    return evaluate_into(d, prep, T, I, guess, has_guess, slope, out);
}

/* -- a pack's strings --------------------------------------------------------------------- */

/* cell currents of strings in C order: string s holds the cells s*per..(s+1)*per-1 */
static void fill_strings(int64_t S, int64_t N, const double *I, double *Ic)
{
    const int64_t per = N / S;
    int64_t s, c;
    for (s = 0; s < S; s++)
        for (c = 0; c < per; c++) Ic[s * per + c] = I[s];
}

/* string voltages Vs and slopes dVs (dv NULL: without slopes); 0 if a cell has no solution */
static int string_sums(int64_t S, int64_t N, const double *V, const double *dv, const double *I,
                       const double *R_series, double *Vs, double *dVs)
{
    const int64_t per = N / S;
    int ok = 1;
    int64_t s, c;
    for (s = 0; s < S; s++) {
        double a = -I[s] * R_series[s];
        double b = -R_series[s];
        for (c = 0; c < per; c++) {
            const int64_t i = s * per + c;
            a += V[i];
            if (dv != NULL) b += dv[i];
            if (!isfinite(V[i])) ok = 0;
        }
        Vs[s] = a;
        dVs[s] = b;
    }
    return ok;
}

/* see cell_kernel.h; the Newton of cosim.pack.assembly.AssembledBattery._solve in one call */
int ck_solve_strings(const CkCells *d, const CkPrep *prep, const double *T, const double *guess, int has_guess,
                     int64_t S, const double *I0, int power_mode, double demand, const double *R_series,
                     double scale, int64_t max_iter, double *curvature, double safety, double *I, double *V_pack,
                     double *Ic, const CkEval *out, int *slope_out)
{
    const int64_t N = d->N, M = d->M, per = N / S;
    double *buf, *Vs, *dVs, *dVs_old, *step, *g, *start;
    int64_t it, s, c, k, q, e;
    int ok, result = 0;
    buf = (double *)malloc(sizeof(double) * (size_t)(5 * S + M * N));
    if (buf == NULL) return -1;
    Vs = buf;
    dVs = Vs + S;
    dVs_old = dVs + S;
    step = dVs_old + S;
    g = step + S;
    start = g + S;
    for (s = 0; s < S; s++) I[s] = I0[s];
    fill_strings(S, N, I, Ic);
    if (S == 1 && !power_mode) { /* one string at a given current: nothing to solve */
        *slope_out = 0;
        clear_eval(d, 0, out);
        if (evaluate_into(d, prep, T, Ic, guess, has_guess, 0, out) != 0) {
            free(buf);
            return -1;
        }
        ok = string_sums(S, N, out->V, NULL, I, R_series, Vs, dVs);
        *V_pack = Vs[0];
        free(buf);
        return ok;
    }
    *slope_out = 1;
    clear_eval(d, 1, out);
    *V_pack = NAN;
    if (evaluate_into(d, prep, T, Ic, guess, has_guess, 1, out) != 0) {
        result = -1;
        goto done;
    }
    for (it = 0; it < max_iter + 1; it++) {
        double G = 0.0, A = 0.0, total = 0.0, Vp, biggest = 0.0;
        int small = 1;
        ok = string_sums(S, N, out->V, out->dV, I, R_series, Vs, dVs);
        if (it > 0) {
            int fine = 1;
            for (s = 0; s < S; s++) fine = fine && isfinite(fabs(dVs[s] - dVs_old[s]) / fabs(step[s]));
            if (fine)
                for (s = 0; s < S; s++) curvature[s] = fabs(dVs[s] - dVs_old[s]) / fabs(step[s]);
        }
        for (s = 0; s < S; s++) ok = ok && -dVs[s] > 0.0;
        if (!ok || it == max_iter) goto done;
        for (s = 0; s < S; s++) {
            g[s] = -1.0 / dVs[s];
            G += g[s];
            A += Vs[s] * g[s];
            total += I[s];
        }
        if (power_mode) {
            double disc;
            A += total;
            disc = A * A - 4.0 * G * demand;
            if (disc < 0) goto done; /* more power than the pack can give at these resistances */
            Vp = (A + sqrt(disc)) / (2.0 * G);
        } else {
            Vp = (demand - total + A) / G;
        }
        for (s = 0; s < S; s++) {
            step[s] = (Vs[s] - Vp) * g[s];
            biggest = py_max(biggest, fabs(step[s]));
            small = small && 0.5 * safety * curvature[s] * (step[s] * step[s]) <= scale / g[s];
        }
        if (biggest <= scale || small) {
            for (s = 0; s < S; s++) {
                const double dI = step[s];
                I[s] += dI;
                for (c = 0; c < per; c++) {
                    const int64_t i = s * per + c;
                    Ic[i] = I[s];
                    out->V[i] += out->dV[i] * dI;
                    for (k = 0; k < M; k++) {
                        out->j[MN(k, i)] += out->dj[MN(k, i)] * dI;
                        out->eta[MN(k, i)] += out->deta[MN(k, i)] * dI;
                        out->cs[MN(k, i)] += out->dcs[MN(k, i)] * dI;
                    }
                    for (e = 0; e < 2; e++) out->dphi[e * N + i] += out->ddphi[e * N + i] * dI;
                    for (q = 0; q < 3; q++) out->terms[q * N + i] += out->dterms[q * N + i] * dI;
                }
            }
            *V_pack = Vp;
            result = 1;
            goto done;
        }
        for (s = 0; s < S; s++) {
            dVs_old[s] = dVs[s];
            I[s] += step[s];
            for (c = 0; c < per; c++) { /* the next splits start from this one moved along its slope */
                const int64_t i = s * per + c;
                for (k = 0; k < M; k++) start[MN(k, i)] = out->j[MN(k, i)] + out->dj[MN(k, i)] * step[s];
            }
        }
        fill_strings(S, N, I, Ic);
        if (evaluate_into(d, prep, T, Ic, start, 1, 1, out) != 0) {
            result = -1;
            goto done;
        }
    }
done:
    free(buf);
    return result;
}

/* -- commit and outputs ------------------------------------------------------------------- */

/* see cell_kernel.h: z = E z + G j (exact modal step), c = c_free + c_unit I */
void ck_commit(const CkCells *d, const CkPrep *prep, const double *I, const double *j, double *z, double *c)
{
    const int64_t M = d->M, N = d->N, nr = d->n_r, n = d->n;
    int64_t k, i, q, m;
    for (k = 0; k < M; k++)
        for (i = 0; i < N; i++)
            for (q = 0; q < nr; q++) {
                const int64_t x = MN(k, i) * nr + q;
                z[x] = prep->E[x] * z[x] + prep->G[x] * j[MN(k, i)];
            }
    for (i = 0; i < N; i++)
        for (m = 0; m < n; m++) c[i * n + m] = prep->c_free[i * n + m] + prep->c_unit[i * n + m] * I[i];
}

/* Heat of mixing of material k of cell i per electrode volume [W/m^3]: the finite-volume
 * form of F int D (-dU_H/dc) |dc/dr|^2 dV per particle volume times the volume fraction
 * (K. E. Thomas and J. Newman, J. Electrochem. Soc. 150 (2003) A176), with the enthalpy
 * potential U_H = U_ref - T_ref dU/dT (cosim/cell/energy.py):
 *     3 eps F D / R^2 sum_faces face_f (c_f+1 - c_f) (U_H(c_f) - U_H(c_f+1))
 *       + a j (U_H(c_surf) - U_H(c_last shell)),
 * the exact rate at which the particles' stored energy (CellModel.stored_energy_J, on the
 * same shells) falls short of the reaction's a j U_H(c_surf). U_H from the tables
 * (ck_enthalpy_potential). */
static double mixing(const CkCells *d, int64_t k, int64_t i, double T, const double *z, double jk, double c_s)
{
    const int64_t N = d->N, nr = d->n_r;
    const double cm = d->c_max[MN(k, i)];
    const double inv = 1.0 / cm;
    const double T_ref = d->scalars[0];
    const double D = d->D_ref[MN(k, i)] * ck_arrhenius_factor(d->E_D[k], T, T_ref);
    const double *zk = z + MN(k, i) * nr;
    double acc = 0.0, c_prev = 0.0, u_prev = 0.0, rad, surface;
    int64_t s, q;
    for (s = 0; s < nr; s++) {
        double c = 0.0, u;
        for (q = 0; q < nr; q++) c += d->phi[s * nr + q] * zk[q];
        u = ck_enthalpy_potential(d, k, c * inv);
        if (s > 0) acc += d->face[s - 1] * (c - c_prev) * (u_prev - u);
        c_prev = c;
        u_prev = u;
    }
    rad = d->radius[MN(k, i)];
    surface = d->a[MN(k, i)] * jk * (ck_enthalpy_potential(d, k, c_s * inv) - u_prev);
    return 3.0 * (d->cap[MN(k, i)] * inv) * CK_F * D / (rad * rad) * acc + surface;
}

/* ck_outputs of cell i */
static void outputs_cell(const CkCells *d, const double *T, const double *I, const double *j, const double *eta,
                         const double *cs, const double *dphi, const double *terms, const double *z,
                         const double *c, const CkOutputs *res, int64_t i)
{
    const int64_t N = d->N, nr = d->n_r, n = d->n, nn = d->n_x[0];
    const double T_ref = d->scalars[0], chi = d->scalars[1];
    const double Ti = T[i];
    double u[2] = {0.0, 0.0}, num = 0.0, den = 0.0, a_pot;
    int64_t e, k, q, m;
    res->q_rxn[i] = 0.0; /* np.zeros in outputs */
    res->q_rev[i] = 0.0;
    res->q_mix[i] = 0.0;
    for (e = 0; e < 2; e++) {
        const double vol = d->area[i] * d->L[2 * e * N + i];
        double um = 0.0, w = 0.0;
        for (k = d->mat_start[e]; k < d->mat_start[e + 1]; k++) {
            const double cm = d->c_max[MN(k, i)];
            const double a = d->a[MN(k, i)];
            double s, ds, mean = 0.0;
            res->q_rxn[i] += vol * a * j[MN(k, i)] * (eta[MN(k, i)] + d->film[MN(k, i)] * j[MN(k, i)]);
            ck_value_slope(d->dUdT_code[k], d->dUdT_p + k * d->P_dUdT, cs[MN(k, i)] / cm, &s, &ds);
            res->q_rev[i] += vol * a * j[MN(k, i)] * Ti * s;
            res->q_mix[i] += vol * mixing(d, k, i, Ti, z, j[MN(k, i)], cs[MN(k, i)]);
            for (q = 0; q < nr; q++) mean += z[MN(k, i) * nr + q] * d->w_mean[q];
            res->sto_mean[MN(k, i)] = mean / cm;
            res->sto_surf[MN(k, i)] = cs[MN(k, i)] / cm;
            um += d->cap[MN(k, i)] * ocp_value(d, k, res->sto_mean[MN(k, i)], Ti - T_ref);
            w += d->cap[MN(k, i)];
        }
        u[e] = um / w;
    }
    res->ocv[i] = u[1] - u[0];
    res->q_ohm[i] = -I[i] * (terms[0 * N + i] + terms[1 * N + i] + terms[2 * N + i]) + I[i] * I[i] * d->contact[i];
    for (k = d->mat_start[0]; k < d->mat_start[1]; k++) {
        const double qk = d->cap[MN(k, i)] * d->L[0 * N + i] * d->area[i] * CK_F;
        num += qk * (res->sto_mean[MN(k, i)] - d->sto0[MN(k, i)]);
        den += qk * (d->sto100[MN(k, i)] - d->sto0[MN(k, i)]);
    }
    res->soc[i] = num / den;
    /* dphi of the negative at the separator: the averaged value corrected by the composite
     * potential profiles */
    a_pot = dphi[0 * N + i];
    if (n > 0) {
        const double *ci = c + i * n;
        const double cur = I[i] / d->area[i];
        double av = 0.0, kap, dkap, kappa_n, ln = 0.0, conc;
        for (m = 0; m < n; m++) av += ci[m] * d->dx[i * n + m];
        av /= d->total[i];
        ck_value_slope(d->kappa_code, d->kappa_p, av, &kap, &dkap);
        kappa_n = (kap * ck_arrhenius_factor(d->scalars[3], Ti, d->scalars[4])) * d->eff[0 * N + i];
        for (m = 0; m < nn; m++) ln += log(ci[m]);
        conc = chi * CK_R * Ti / CK_F * (log(ci[nn - 1]) - ln / (double)nn);
        a_pot = a_pot - cur * d->L[0 * N + i] / (6 * d->sigma[0 * N + i]) - (conc - cur * d->L[0 * N + i] / (3 * kappa_n));
    }
    res->anode[i] = a_pot;
}

/* the cells, shared between the threads */
void ck_outputs(const CkCells *d, const double *T, const double *I, const double *j, const double *eta,
                const double *cs, const double *dphi, const double *terms, const double *z, const double *c,
                const CkOutputs *out)
{
    const int nt = threads_for(d);
    int64_t i;
    (void)nt;
    CK_OMP(omp parallel for schedule(dynamic, CK_CHUNK) num_threads(nt) if (nt > 1))
    for (i = 0; i < d->N; i++) outputs_cell(d, T, I, j, eta, cs, dphi, terms, z, c, out, i);
}

/* ck_anode_potential of cell i */
static void anode_cell(const CkCells *d, const CkPrep *prep, const double *T, const double *I, const double *dphi0,
                       const double *ddphi0, int slope, double *a, double *da, int64_t i)
{
    const int64_t N = d->N, n = d->n, nn = d->n_x[0];
    const double chi = d->scalars[1];
    double a_pot = dphi0[i];
    double d_pot = slope ? ddphi0[i] : 0.0;
    if (n > 0) {
        const double *c_free = prep->c_free + i * n, *c_unit = prep->c_unit + i * n;
        const double Ii = I[i], Ti = T[i];
        const double cur = Ii / d->area[i];
        const double dcur = 1.0 / d->area[i];
        double av = 0.0, dav = 0.0, kap, dkap, kappa_n, dkappa_n, ln = 0.0, dln = 0.0, rtf, c_sep, conc, L;
        int64_t m;
        for (m = 0; m < n; m++) {
            av += (c_free[m] + c_unit[m] * Ii) * d->dx[i * n + m];
            dav += c_unit[m] * d->dx[i * n + m];
        }
        av /= d->total[i];
        dav /= d->total[i];
        ck_value_slope(d->kappa_code, d->kappa_p, av, &kap, &dkap);
        kappa_n = kap * prep->kfac[i] * d->eff[0 * N + i];
        dkappa_n = dkap * prep->kfac[i] * d->eff[0 * N + i] * dav;
        for (m = 0; m < nn; m++) {
            double c = c_free[m] + c_unit[m] * Ii;
            ln += log(c);
            dln += c_unit[m] / c;
        }
        rtf = chi * CK_R * Ti / CK_F;
        c_sep = c_free[nn - 1] + c_unit[nn - 1] * Ii;
        conc = rtf * (log(c_sep) - ln / (double)nn);
        L = d->L[0 * N + i];
        a_pot = a_pot - cur * L / (6 * d->sigma[0 * N + i]) - (conc - cur * L / (3 * kappa_n));
        if (slope) {
            double dconc = rtf * (c_unit[nn - 1] / c_sep - dln / (double)nn);
            d_pot += (-dcur * L / (6 * d->sigma[0 * N + i]) - dconc
                      + L / 3 * (dcur / kappa_n - cur * dkappa_n / (kappa_n * kappa_n)));
        }
    }
    a[i] = a_pot;
    da[i] = d_pot;
}

/* the cells, shared between the threads */
void ck_anode_potential(const CkCells *d, const CkPrep *prep, const double *T, const double *I, const double *dphi0,
                        const double *ddphi0, int slope, double *a, double *da)
{
    const int nt = threads_for(d);
    int64_t i;
    (void)nt;
    CK_OMP(omp parallel for schedule(dynamic, CK_CHUNK) num_threads(nt) if (nt > 1))
    for (i = 0; i < d->N; i++) anode_cell(d, prep, T, I, dphi0, ddphi0, slope, a, da, i);
}
