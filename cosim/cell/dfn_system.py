"""The end-of-step algebraic system of the DFN model (:mod:`cosim.cell.dfn`) and its
damped Newton solver, as a mixin of :class:`~cosim.cell.dfn.DFN` (which sets up the mesh,
the unknown layout and the per-step context ``ctx`` these methods use).

Unknowns of a cell, in "type order": salt concentration at the N nodes, electrolyte
potential at the N nodes, solid potential at the electrode nodes, interfacial current
density at the sites (material x electrode node). The linear systems are solved in an
order interleaved by node, which makes the Jacobian banded; all cells go into one LAPACK
band solve (the blocks of different cells do not touch).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from .params import F


#: how the DFN's face conductances are formed (:func:`face_weights`)
FACE_MEANS = ("series", "arithmetic")


def face_weights(tor: np.ndarray, dx: np.ndarray, face_mean: str) -> np.ndarray:
    """Weights ``(w_l, w_m, w_r)``, each (cells, faces), of the conductance of the faces
    between neighbouring nodes, ``g = w_l A(c_l) + w_m A((c_l + c_r) / 2) + w_r A(c_r)`` for a
    transport coefficient ``eps^b A(c)`` (``A``: the salt diffusivity or the conductivity),
    node widths ``dx`` and ``tor = eps^b`` at the nodes:

    * ``"series"``: the two half volumes in series in ``eps^b`` (exact for a flux through the
      jump of porosity and Bruggeman exponent at a region interface, where an arithmetic
      mean is first order) times the mean of ``A(c)`` over the concentrations between the
      nodes by Simpson's rule (a steady flux between two nodes is ``(Phi(c_r) - Phi(c_l)) /
      dx`` with ``Phi' = A``; a mean of the node values misses a minimum of ``A`` in between,
      as Chen2020's near 2000 mol/m^3, docs/mesh_convergence.md);
    * ``"arithmetic"``: the mean of the node values of ``eps^b A`` over the distance between
      the nodes, ``w_m = 0`` (PyBaMM's, which made its reference curves).
    """
    wl, wr = 0.5 * dx[:, :-1], 0.5 * dx[:, 1:]
    tl, tr = tor[:, :-1], tor[:, 1:]
    if face_mean == "arithmetic":
        inv = 0.5 / (wl + wr)
        return np.stack((tl * inv, np.zeros_like(inv), tr * inv))
    if face_mean != "series":
        raise ValueError(f"face_mean must be one of {FACE_MEANS}, got {face_mean!r}")
    g = 1.0 / (wl / tl + wr / tr) / 6.0
    return np.stack((g, 4.0 * g, g))


def face_conductance(w: np.ndarray, A: np.ndarray, Am) -> np.ndarray:
    """The faces' conductances from :func:`face_weights` ``w``, the coefficient ``A`` at the
    nodes (last axis) and ``Am`` at the faces' mean concentrations (unused where ``w_m = 0``:
    pass 0)."""
    return w[0] * A[..., :-1] + w[1] * Am + w[2] * A[..., 1:]


_FD = 1e-7  # finite-difference step for the material-function derivatives (relative for c_e)
_FD2 = np.array([0.0, _FD])[:, None, None]
_FDC = np.array([1.0, 1.0 + _FD])[:, None, None]
_PM = np.array([1.0, -1.0])
_FSCALE = np.array([1.0, F])[:, None, None]  # face terms: electrolyte current, F * salt flux


class DFNSystem:
    """Residual, Jacobian and Newton solver of :class:`~cosim.cell.dfn.DFN` (mixin)."""

    def _ocp(self, sto, dT, deriv, entropic):
        """U (with the entropic term) at the sites and, if asked, dU/dsto."""
        U, dU = [], []
        for m in self.mats:
            s = sto[:, m["sl"]]
            fn, fs = m["mat"].ocp_V, m["mat"].entropic_V_K
            if deriv:
                s2 = s + _FD2
                both = fn(s2)
                if entropic:
                    both = both + dT * fs(s2)
                U.append(both[0])
                dU.append((both[1] - both[0]) * (1.0 / _FD))
            else:
                u = fn(s)
                if entropic:
                    u = u + dT * fs(s)
                U.append(u)
        return np.concatenate(U, axis=1), (np.concatenate(dU, axis=1) if deriv else None)

    def _node_sums(self, aj):
        """Sum over the materials of an electrode at each of its nodes: (n, n_x_neg + n_x_pos)."""
        if self.single:
            return aj
        parts = []
        for e, (start, M) in enumerate(zip(self._el_starts, self._M_el)):
            ne = self.n_x[2 * e]
            parts.append(aj[:, start:start + M * ne].reshape(aj.shape[0], M, ne).sum(axis=1))
        return np.concatenate(parts, axis=1)

    def _coefficients(self, c, T, slope):
        """``(kappa, D_e)`` stacked at the concentrations ``c`` and, with ``slope``, their
        derivatives in c (forward differences, evaluated together), else None."""
        if not slope:
            return np.array((self.kappa_fn(c, T if self._kappa_T else None),
                             self.De_fn(c, T if self._De_T else None))), None
        cc = c * _FDC
        kd = np.concatenate((self.kappa_fn(cc, T if self._kappa_T else None),
                             self.De_fn(cc, T if self._De_T else None)))
        return kd[::2], (kd[1::2] - kd[::2]) / (c * _FD)

    def _system(self, ctx, ia, X, jac):
        """Residual (type order: salt, charge, solid, kinetics) and, if ``jac``, the Jacobian
        values and the volt-equivalent scale of an update of j."""
        T = ctx["T"]
        N, Ne, nn = self.N, self.Ne, self.n_x[0]
        c = X[:, :N]
        pe = X[:, N:2 * N]
        ps = X[:, 2 * N:2 * N + Ne]
        j = X[:, 2 * N + Ne:]
        n = c.shape[0]
        ic = 1.0 / c
        fw = ctx["fw"]
        # stacked pairs, index 0: electrolyte charge (kappa), 1: salt (D_e, scaled by F), at
        # the nodes and (with the series faces) at the faces' mean concentrations
        if self._mid:  # one evaluation for the nodes and the faces (the calls cost, not the points)
            A, Ap = self._coefficients(np.concatenate((c, 0.5 * (c[:, 1:] + c[:, :-1])), axis=1), T, jac)
            A, Am = A[..., :N], A[..., N:]
            Ap, Apm = (Ap[..., :N], Ap[..., N:]) if jac else (None, None)
        else:
            A, Ap = self._coefficients(c, T, jac)
            Am, Apm = 0.0, 0.0
        kfDf = face_conductance(fw, A, Am) * _FSCALE  # face conductances (over the distance)
        kf = kfDf[0]
        dc = c[:, 1:] - c[:, :-1]
        bg = ctx["hbeta"] * (ic[:, 1:] + ic[:, :-1])
        brk = bg * dc - (pe[:, 1:] - pe[:, :-1])
        M = np.array((brk, dc))
        faces = np.zeros((2, n, N + 1))
        faces[:, :, 1:-1] = kfDf * M  # i_e and F * salt flux
        div = faces[:, :, 1:] - faces[:, :, :-1]
        srcs = self._node_sums(ctx["a_dx"] * j)
        src = np.concatenate((srcs[:, :nn], np.zeros((n, self.n_x[1])), srcs[:, nn:]), axis=1)
        is_p = np.concatenate((ctx["g_cc1"] * ps[:, :1], ctx["G_s"] * (ps[:, 1:] - ps[:, :-1]), -ia), axis=1)
        # kinetics
        sn, se = self.site_node, self.site_enode
        s1 = ctx["s1"]
        cs = ctx["s0"] + s1 * j
        U, dU = self._ocp(cs * ctx["icmax"], ctx["dT"], jac, self._entropic)
        ce = c[:, sn]
        cmc = ctx["cmax"] - cs
        if self.half:
            i0 = ctx["kk"] * np.sqrt(ce * cmc * cs)
        else:
            i0 = ctx["kk"] * ce**self.alpha_a * cmc**self.alpha_a * cs**self.alpha_c
        eta = ps[:, se] - pe[:, sn] - U
        if self.has_film:
            eta = eta - ctx["Rf"] * j
        if self.sym:
            u = j / (2.0 * i0)
            Rb = eta - np.arcsinh(u) * ctx["inv_af"]
        else:
            ea = np.exp(np.clip(ctx["fa"] * eta, -60.0, 60.0))
            ec = np.exp(np.clip(-ctx["fc"] * eta, -60.0, 60.0))
            bv = i0 * (ea - ec)
            Rb = j - bv
        r = np.concatenate((ctx["mdiag"] * (c - ctx["c_old"]) - div[1] - (1.0 - self.tplus) * src,
                            div[0] - src, is_p[:, :-1] - is_p[:, 1:] + srcs, Rb), axis=1)
        if not jac:
            return r, None, None, ic, cs, cmc
        # Jacobian: derivatives of the face terms in the concentrations left and right
        M = M * _FSCALE
        Tl = (fw[0] * Ap[:, :, :-1] + 0.5 * fw[1] * Apm) * M
        Tr = (fw[2] * Ap[:, :, 1:] + 0.5 * fw[1] * Apm) * M
        hb = ctx["hbeta"] * ic * ic
        Af = Tl[0] - kf * (hb[:, :-1] * dc + bg)  # d i_e / d c_left
        Bf = Tr[0] - kf * (hb[:, 1:] * dc - bg)  # d i_e / d c_right
        Df = kfDf[1]
        Pf = Tl[1] - Df  # d F flux / d c_left
        Qf = Tr[1] + Df  # d F flux / d c_right
        dd = np.zeros((3, n, N))
        dd[0, :, :-1] = Pf
        dd[0, :, 1:] -= Qf
        dd[1, :, :-1] = Af
        dd[1, :, 1:] -= Bf
        dd[2, :, :-1] = kf
        dd[2, :, 1:] += kf
        # kinetics
        dUj = dU * (s1 * ctx["icmax"])
        if self.has_film:
            dUj = dUj + ctx["Rf"]
        aa, ac = self.alpha_a, self.alpha_c
        dl_dj = s1 * (ac / cs - aa / cmc)  # d ln(i0) / dj
        if self.sym:
            w = ctx["inv_af"] / np.sqrt(1.0 + u * u)
            Jbj = -dUj - w * (0.5 / i0 - u * dl_dj)
            Jbc = w * u * (aa / ce)
            jscale = Jbj
            extra = []
        else:
            K = i0 * (ctx["fa"] * ea + ctx["fc"] * ec)
            Jbj = 1.0 - bv * dl_dj + K * dUj
            Jbc = -bv * (aa / ce)
            jscale = Jbj / K
            extra = [-K, K]
        mkf = -kf
        vals = np.concatenate(
            [ctx["mdiag"] - dd[0], -Qf, Pf, dd[1], Bf, -Af, dd[2], mkf, mkf, Jbc, Jbj] + extra + [ctx["const_vals"]],
            axis=1,
        )
        return r, vals, jscale, ic, cs, cmc

    def _factor(self, vals, pos):
        n_sub = vals.shape[0]
        buf = np.zeros(n_sub * self.m * self.nb)
        buf[pos] = vals
        lu, piv, info = lapack.dgbtrf(buf.reshape(n_sub * self.m, self.nb).T, self.kl, self.ku, overwrite_ab=1)
        return lu, piv, info

    def _back(self, lu, piv, r):
        x, _ = lapack.dgbtrs(lu, self.kl, self.ku, r[:, self.perm].reshape(-1), piv, overwrite_b=1)
        return x.reshape(r.shape)[:, self.inv]

    def _update_size(self, x, ic, fvec, jsf):
        """Size of an update in thermal voltages (relative for the salt): (scaled, max)."""
        xs = x * np.concatenate((ic, fvec, jsf), axis=1)
        return xs, np.abs(xs).max(axis=1)

    def _newton(self, ctx, ia, X, check_reach=False):
        """Damped Newton for the cells of ``ctx`` from ``X``: each Newton step is checked
        by the natural monotonicity test (the next simplified correction, with the same
        factorisation, must be smaller; otherwise the step is halved), and while a cell
        converges fast the factorisation is reused (chord steps). Every decision is per
        cell, so a cell's iterates do not depend on the rest of the batch. Returns
        (converged, solution, voltage). ``check_reach``: first fail the cells whose current
        the particle surfaces cannot take over the step at all (cheap; used for sub-steps)."""
        n_sub = X.shape[0]
        N, jsl = self.N, self._jsl
        done = np.zeros(n_sub, dtype=bool)
        failed = np.zeros(n_sub, dtype=bool)
        active = ~done
        need = active  # predicted to want a fresh Jacobian at the next evaluation
        tol = self.tol
        s1, f, fvec = ctx["s1"], ctx["f"], ctx["fvec"]
        vals_used = jsf = lu = piv = None
        Xa = xa = ea = lam = cap = None  # last accepted point, its step, size, damping, cap
        if check_reach:
            with np.errstate(divide="ignore", invalid="ignore"):
                lo = ctx["a_dx"] * ((ctx["cmax"] - ctx["s0"]) / s1)  # every surface full
                hi = ctx["a_dx"] * (-ctx["s0"] / s1)  # every surface empty
            target = ia * _PM
            out = ((target <= np.add.reduceat(lo, self._el_starts, axis=1))
                   | (target >= np.add.reduceat(hi, self._el_starts, axis=1))).any(axis=1)
            failed |= out
            active = active & ~out
        retried = False
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for _ in range(self.max_iter):
                if not active.any():
                    break
                first = vals_used is None
                with_jac = first or bool((need & active).any())
                r, vals, js, ic, cs, cmc = self._system(ctx, ia, X, with_jac)
                chk = r.sum(axis=1)
                if with_jac:
                    chk = chk + vals.sum(axis=1)
                bad = ~np.isfinite(chk)
                if bad.any():
                    outside = ((cs <= 0.0) | (cs >= ctx["cmax"])).any(axis=1) & bad & active
                    if first and not retried and outside.any():
                        # a starting point outside 0 < c_surf < c_max: pull j inside, once
                        retried = True
                        inside = np.clip(cs, 1e-3 * ctx["cmax"], 0.999 * ctx["cmax"])
                        X = X.copy()
                        X[outside, jsl] = ((inside - ctx["s0"]) / s1)[outside]
                        continue
                    failed |= bad & active
                    active = active & ~bad
                if not active.all():
                    if not active.any():
                        break
                    r[~active] = 0.0
                if first:
                    fresh, step = active, active
                    theta = xbar = None
                else:
                    # simplified Newton correction with each cell's last factorisation
                    xbar = self._back(lu, piv, r)
                    theta = self._update_size(xbar, ic, fvec, jsf)[1] / ea
                    reject = active & (theta >= 1.0 - 0.25 * lam) & (theta * ea > 1e-6)
                    if reject.any():  # not monotone: back to the last point, half the step
                        lam = np.where(reject, 0.5 * lam, lam)
                        cap = np.where(reject, lam, cap)
                        failed |= reject & (lam < 1e-3)
                        active = active & ~(reject & (lam < 1e-3))
                        X = np.where(reject[:, None], Xa - lam[:, None] * xa, X)
                    step = active & ~reject
                    fresh = step & ((theta > 0.1) | (lam < 1.0))
                if fresh.any():
                    if not with_jac:
                        r, vals, js, ic, cs, cmc = self._system(ctx, ia, X, True)
                        if not active.all():
                            r[~active] = 0.0
                        gone = ~np.isfinite(r.sum(axis=1) + vals.sum(axis=1)) & active
                        if gone.any():
                            failed |= gone
                            active, fresh, step = active & ~gone, fresh & ~gone, step & ~gone
                            r[gone] = 0.0
                    js = js * f
                    if first:
                        vals_used, jsf = vals, js
                    else:
                        vals_used = np.where(fresh[:, None], vals, vals_used)
                        jsf = np.where(fresh[:, None], js, jsf)
                    if not active.all():
                        vals_used[~active] = self._ident
                    pos = self._positions(n_sub)
                    while True:
                        lu, piv, info = self._factor(vals_used, pos)
                        if info <= 0:
                            break
                        cell = (info - 1) // self.m  # an exactly singular block
                        failed[cell], active[cell], fresh[cell], step[cell] = True, False, False, False
                        r[cell] = 0.0
                        vals_used[cell] = self._ident
                    x = self._back(lu, piv, r)
                    if xbar is not None:
                        x = np.where(fresh[:, None], x, xbar)
                else:
                    x = xbar
                xs, err = self._update_size(x, ic, fvec, jsf)
                # damping: keep c_e > 0 and 0 < c_surf < c_max, potentials move <= 20 R T / F
                v = s1 * x[:, jsl]
                t = np.maximum(np.maximum(v / cs, v / -cmc).max(axis=1), xs[:, :N].max(axis=1))
                t = np.maximum(t, 0.04 * err)
                alpha = np.where(t <= 0.8, 1.0, 0.8 / t)
                if cap is not None:
                    alpha = np.minimum(alpha, cap)
                full = alpha == 1.0
                if first:
                    Xa, xa, ea, lam = X, x, err, alpha
                    cap = np.minimum(1.0, 2.0 * alpha)
                    if full.all() and active.all():
                        X = X - x
                    else:
                        X = X - np.where(active, alpha, 0.0)[:, None] * x
                else:
                    s2 = step[:, None]
                    Xa, xa = np.where(s2, X, Xa), np.where(s2, x, xa)
                    ea, lam = np.where(step, err, ea), np.where(step, alpha, lam)
                    cap = np.where(step, np.minimum(1.0, 2.0 * alpha), cap)
                    X = X - np.where(step, alpha, 0.0)[:, None] * x
                # remaining error: ~err^2 after a Newton step, err * theta after a chord step
                rate = err if theta is None else np.where(fresh, err, theta)
                newly = (err * np.minimum(rate, 1.0) < tol) & full & step
                done |= newly
                active = active & ~newly
                need = (rate > 0.1) | ~full
                if not active.any():
                    break
        # remove the residual of the charge balance, exactly: sum a j dx = +-I/A per electrode
        miss = ia * _PM - np.add.reduceat(ctx["a_dx"] * X[:, jsl], self._el_starts, axis=1)
        X[:, jsl] += (miss / ctx["adx_el"])[:, self._site_el]
        # and of the salt inventory (the sources now sum to zero)
        c = X[:, :N]
        c += ((ctx["salt"] - (ctx["eps_dx"] * c).sum(axis=1)) / ctx["eps_dx_sum"])[:, None]
        V = 1.5 * X[:, self._iV1] - 0.5 * X[:, self._iV2]
        if self.has_contact:
            V -= ia[:, 0] * ctx["ARc"]
        if not done.all():
            V[~done] = np.nan
        return done, X, V

