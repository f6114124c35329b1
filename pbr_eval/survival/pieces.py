r"""The linearised pieces a survival estimate is built from, and their variance.

Every estimate of :func:`pbr_eval.survival.estimate_survival` is a vector of
quantities (the survival at the grid times, then the restricted mean up to the
horizon) made of *pieces*: a weighted Kaplan-Meier curve, or an average of
Cox-predicted curves over a target group. A piece gives its estimate and, for
any rows, each row's influence (``estimate - truth ~= sum of influences``).
Influences are computed a chunk of rows at a time, so a pool of a million
people never needs a million-by-grid matrix at once.

Weights estimated by a model (a logistic propensity score, entropy balancing)
enter every piece that uses them through one correction: with
:math:`\phi_i` the influence of row :math:`i` on the weight model's
parameters and :math:`\partial \log w_j/\partial\gamma` the derivative of a
weight, the estimate moves by :math:`\sum_j (\partial \log w_j/\partial\gamma)
\psi_j` per unit change of the parameters, where :math:`\psi_j` is row
:math:`j`'s fixed-weight influence (:math:`w_j \partial\theta/\partial w_j`),
so each row adds :math:`\phi_i' A` with :math:`A = \sum_j (\partial\log
w_j/\partial\gamma)\psi_j'`. This is the stacked-estimating-equation
linearisation that :func:`pbr_eval.estimators.weighting.ipw_att` and
:func:`pbr_eval.estimators.entropy.entropy_att` use for means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pbr_eval.survival.cox import CoxFit
from pbr_eval.survival.km import KMCurve, kaplan_meier, km_profile_index, km_profiles

__all__ = ["KMPiece", "CoxMeanPiece", "WeightModel", "Combination", "variances",
           "covariances", "diagonals", "influences", "grid_from_window"]

#: Rows per chunk when influences are accumulated.
CHUNK = 131_072


class KMPiece:
    """A (weighted) Kaplan-Meier curve over ``rows`` (positions in the cohort).

    Parameters
    ----------
    rows : numpy.ndarray
        Cohort positions (sorted) of the curve's units.
    time, event, weights : numpy.ndarray
        Their times, event indicators and case weights.
    grid : numpy.ndarray
        Times at which the curve is an estimate.
    horizon : float
        Horizon of the restricted mean (the last estimate).

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.survival.pieces import KMPiece, Combination, influences
    >>> t, d = np.array([1., 2, 2, 3, 4]), np.array([1., 1, 0, 1, 0])
    >>> piece = KMPiece(np.arange(5), t, d, np.ones(5), np.array([2.5]), 3.0)
    >>> piece.estimate.round(3).tolist()  # S(2.5) and the mean time free up to 3
    [0.6, 2.4]
    >>> round(float((influences(5, Combination([(1.0, piece)])) ** 2).sum(axis=0)[0]), 3)
    0.048
    """

    def __init__(self, rows: np.ndarray, time: np.ndarray, event: np.ndarray,
                 weights: np.ndarray, grid: np.ndarray, horizon: float) -> None:
        self.rows = np.asarray(rows, dtype=np.intp)
        self.time = np.asarray(time, dtype=float)
        self.event = np.asarray(event, dtype=float)
        self.w = np.asarray(weights, dtype=float)
        self.grid, self.horizon = grid, horizon
        self.curve: KMCurve = kaplan_meier(self.time, self.event, self.w)
        self.estimate = np.concatenate([self.curve.at(grid), [self.curve.rmst(horizon)]])
        self.P = km_profiles(self.curve, grid, horizon)
        self.idx = km_profile_index(self.curve, self.time, self.event)

    def block(self, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the influence of the piece's rows ``sel`` (positions within ``rows``).

        The total and the part that moves with the weights (here the same).
        """
        out = self.w[sel][:, None] * self.P[self.idx[sel]]
        return out, out

    def weight_correction(self, dlogw: np.ndarray) -> np.ndarray:
        """``sum_j dlogw_j psi_j'`` over the piece's rows (``dlogw``: their rows), by profile."""
        L = self.P.shape[0]
        G = np.column_stack([np.bincount(self.idx, weights=self.w * dlogw[:, j], minlength=L)
                             for j in range(dlogw.shape[1])])
        return G.T @ np.nan_to_num(self.P)


class CoxMeanPiece:
    r"""The average of Cox-predicted curves over a target group.

    The target group has weights ``v`` summing to 1; the Cox model is fitted
    on other rows. Checked against R (``coxph`` + ``survfit(fit, newdata)``)
    and by the derivative of the estimate in each row's case weight
    (``tests/test_survival_influence.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.survival.cox import fit_cox, cox_beta_influence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 1)); t = np.ceil(rng.exponential(5, 40)); d = np.ones(40)
    >>> fit = fit_cox(X, t, d, np.ones(40))
    >>> phi = cox_beta_influence(fit, X, t, d, np.ones(40))
    >>> p = CoxMeanPiece(fit, np.arange(40), X, t, d, np.ones(40), phi, np.arange(5), X[:5],
    ...                  np.full(5, 0.2), np.array([3.0]), 3.0, weighted_target=False)
    >>> bool(0 < p.estimate[0] < 1)
    True

    Parameters
    ----------
    fit : CoxFit
    fit_rows : numpy.ndarray
        Cohort positions of the rows the model was fitted on, with their
        ``X``, ``time``, ``event``, case weights ``w_fit`` and coefficient
        influences ``phi_beta`` (rows x p).
    target_rows, X_target, v : numpy.ndarray
        Cohort positions, covariates and weights (sum 1) of the group averaged over.
    weighted_target : bool
        Whether ``v`` comes from an estimated weight model (then the target
        part of the influence moves with the weights).

    Notes
    -----
    With :math:`m_j(t) = \exp(-\Lambda_0(t) r_j)`, :math:`\hat\theta(t) =
    \sum_j v_j m_j(t)`. Besides the target rows' own part
    :math:`v_j(m_j(t) - \hat\theta(t))`, a fitting row :math:`i` moves the
    estimate through the Breslow hazard (by :math:`-a(t)\,IF_{\Lambda,i}(t)`,
    :math:`a(t) = \sum_j v_j r_j m_j(t)`) and the coefficients (by
    :math:`\phi_{\beta,i}'(a(t) H(t) - \Lambda_0(t) b(t))`, :math:`H(t) =
    \sum_{u_k \le t} \bar x_k d\Lambda_k`, :math:`b(t) = \sum_j v_j r_j x_j
    m_j(t)`), where :math:`IF_{\Lambda,i}(t) = w_i[\delta_i 1\{T_i \le t\} /
    S^{(0)}(T_i) - r_i \sum_{u_k \le \min(t, T_i)} d\Lambda_k / S^{(0)}_k]`.
    The restricted mean integrates each term over :math:`[0, \tau]`.
    """

    def __init__(self, fit: CoxFit, fit_rows: np.ndarray, X_fit: np.ndarray, time: np.ndarray,
                 event: np.ndarray, w_fit: np.ndarray, phi_beta: np.ndarray,
                 target_rows: np.ndarray, X_target: np.ndarray, v: np.ndarray,
                 grid: np.ndarray, horizon: float, *, weighted_target: bool) -> None:
        self.fit = fit
        self.grid, self.horizon = grid, horizon
        self.weighted_target = weighted_target
        tmax = max(float(grid.max()), horizon)
        K = int(fit.index(tmax)) + 1
        u = fit.times[:K]
        dL = fit.dLambda[:K]
        Lam = np.cumsum(dL)
        r_t = fit.risk(X_target)
        p = X_target.shape[1]
        # sums over the target group at every event time up to tmax (chunked over targets)
        g = np.zeros(K)
        a = np.zeros(K)
        bb = np.zeros((K, p))
        for s in range(0, r_t.size, max(1, CHUNK // max(K, 1))):
            rr = r_t[s: s + max(1, CHUNK // max(K, 1))]
            vv = v[s: s + rr.size]
            m = np.exp(-np.outer(rr, Lam))  # targets x K
            vm = m * vv[:, None]
            g += vm.sum(axis=0)
            a += rr @ vm
            bb += vm.T @ (X_target[s: s + rr.size] * rr[:, None])
        v_sum = float(v.sum())
        a0 = float(v @ r_t)  # a(t) before the first event time
        m_idx = fit.index(grid)
        m_idx = np.minimum(m_idx, K - 1)
        g_ext = np.concatenate([[v_sum], g])
        a_ext = np.concatenate([[a0], a])
        Lam_ext = np.concatenate([[0.0], Lam])
        bb_ext = np.vstack([v @ (X_target * r_t[:, None]) if p else np.zeros((1, 0)), bb])
        H = np.vstack([np.zeros((1, p)), np.cumsum(fit.xbar[:K] * dL[:, None], axis=0)])
        self.est_grid = g_ext[m_idx + 1]
        # restricted mean: integrate the step function g (and the others) up to the horizon
        mt = min(int(fit.index(horizon)), K - 1)
        edges = np.concatenate([[0.0], u[: mt + 1], [horizon]])
        widths = np.diff(edges)  # widths[0]: before the first event; widths[k+1]: [u_k, next)
        rmst = float(g_ext[: mt + 2] @ widths)
        self.estimate = np.concatenate([self.est_grid, [rmst]])
        # beta direction: a(t) H(t) - Lambda(t) b(t), at the grid and integrated
        beta_dir = a_ext[:, None] * H - Lam_ext[:, None] * bb_ext  # (K+1) x p
        self.beta_grid = beta_dir[m_idx + 1]  # G x p
        self.beta_rmst = widths @ beta_dir[: mt + 2]  # p
        # hazard-influence pieces (as in the Kaplan-Meier influence): e_k, c_k, and the
        # integrals A_k = int_{u_k}^tau a(t) dt
        s0 = fit.s0[:K]
        self.e = 1.0 / s0
        self.c = dL / s0
        self.C = np.concatenate([[0.0], np.cumsum(self.c)])
        self.a_grid = a_ext[m_idx + 1]
        A = np.cumsum((a[: mt + 1] * widths[1: mt + 2])[::-1])[::-1]
        CA = np.concatenate([[0.0], np.cumsum(self.c[: mt + 1] * A)])
        # profiles by k = -1..K-1 (row k + 1): the event term (times w_i) and the at-risk
        # term (times w_i r_i) of -a(t) IF_Lambda, and their integrals for the RMST
        kv = np.arange(-1, K)
        e_k = np.concatenate([[0.0], self.e])
        A_k = np.concatenate([[0.0], A, np.zeros(K - mt - 1)])
        self.P_event = np.column_stack([
            -self.a_grid[None, :] * np.where(kv[:, None] <= m_idx[None, :], e_k[:, None], 0.0),
            -e_k * A_k])
        kk = np.minimum(kv[:, None], m_idx[None, :])
        self.P_risk = np.column_stack([self.a_grid[None, :] * self.C[kk + 1],
                                       CA[np.minimum(kv, mt) + 1]])
        self.mt, self.K, self.m_idx = mt, K, m_idx
        self.Lam, self.u, self.widths = Lam, u, widths
        # rows: fitting rows and target rows (they may overlap, e.g. the comparison group)
        self.fit_rows = np.asarray(fit_rows, dtype=np.intp)
        self.X_fit, self.t_fit, self.d_fit = X_fit, time, np.asarray(event, float) > 0
        self.w_fit, self.phi_beta = w_fit, phi_beta
        self.r_fit = fit.risk(X_fit)
        self.target_rows = np.asarray(target_rows, dtype=np.intp)
        self.X_target, self.v, self.r_t = X_target, v, r_t
        self.rows = np.union1d(self.fit_rows, self.target_rows)
        self._fit_pos = np.searchsorted(self.rows, self.fit_rows)
        self._target_pos = np.searchsorted(self.rows, self.target_rows)

    def _target_part(self, sel: np.ndarray) -> np.ndarray:
        """v_j (m_j - theta) at the grid and for the restricted mean, target rows ``sel``."""
        rr = self.r_t[sel]
        Lg = np.concatenate([[0.0], self.Lam])[self.m_idx + 1]
        m_grid = np.exp(-np.outer(rr, Lg))
        mt = self.mt
        Lr = np.concatenate([[0.0], self.Lam[: mt + 1]])
        m_all = np.exp(-np.outer(rr, Lr))
        rm = m_all @ self.widths[: mt + 2]
        own = np.column_stack([m_grid, rm]) - self.estimate[None, :]
        return own * self.v[sel][:, None]

    def _fit_part(self, sel: np.ndarray) -> np.ndarray:
        """Return the fitting rows' influence through the hazard and the coefficients."""
        t = self.t_fit[sel]
        k = np.minimum(self.fit.index(t), self.K - 1)
        # an event at an event time up to the last one used (later events do not move
        # the estimate's hazard)
        ev = self.d_fit[sel] & (k >= 0) & (t == self.fit.times[np.maximum(k, 0)])
        w, r = self.w_fit[sel], self.r_fit[sel]
        out = (w * r)[:, None] * self.P_risk[k + 1]
        out += np.where(ev, w, 0.0)[:, None] * self.P_event[k + 1]
        phi = self.phi_beta[sel]
        out[:, :-1] += phi @ self.beta_grid.T
        out[:, -1] += phi @ self.beta_rmst
        return out

    def block(self, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the influence of ``self.rows[sel]``.

        The total, and the part that moves with the target weights (None when
        they are fixed).
        """
        rows = self.rows[sel]
        out = np.zeros((rows.size, self.estimate.size))
        tpos = np.searchsorted(self.target_rows, rows)
        tpos = np.minimum(tpos, self.target_rows.size - 1)
        is_t = self.target_rows[tpos] == rows
        target = self._target_part(tpos[is_t])
        out[is_t] += target
        fpos = np.minimum(np.searchsorted(self.fit_rows, rows), self.fit_rows.size - 1)
        is_f = self.fit_rows[fpos] == rows
        out[is_f] += self._fit_part(fpos[is_f])
        if not self.weighted_target:
            return out, None
        wpart = np.zeros_like(out)
        wpart[is_t] = target
        return out, wpart


@dataclass(frozen=True)
class WeightModel:
    """How estimated weights move.

    ``phi`` (n x q), each cohort row's influence on the weight model's
    parameters, and ``dlogw`` (n x q), the derivative of each row's log weight.

    Examples
    --------
    >>> import numpy as np
    >>> WeightModel(np.zeros((3, 2)), np.ones((3, 2))).phi.shape
    (3, 2)
    """

    phi: np.ndarray
    dlogw: np.ndarray


@dataclass(frozen=True)
class Combination:
    """A signed sum of pieces; the weighted pieces' weights may come from a weight model.

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.survival.pieces import KMPiece, Combination, influences
    >>> t, d = np.array([1., 2, 2, 3, 4]), np.array([1., 1, 0, 1, 0])
    >>> piece = KMPiece(np.arange(5), t, d, np.ones(5), np.array([2.5]), 3.0)
    >>> piece.estimate.round(3).tolist()  # S(2.5) and the mean time free up to 3
    [0.6, 2.4]
    >>> round(float((influences(5, Combination([(1.0, piece)])) ** 2).sum(axis=0)[0]), 3)
    0.048
    """

    pieces: Sequence[tuple[float, object]]
    weights: WeightModel | None = None

    @property
    def estimate(self) -> np.ndarray:
        """The signed sum of the pieces' estimates."""
        return np.asarray(sum(s * p.estimate for s, p in self.pieces))  # type: ignore[attr-defined]


def _members(piece: object, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions within the piece's rows, and within ``rows`` (sorted), of the rows in both."""
    prow = piece.rows  # type: ignore[attr-defined]
    if prow.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    pos = np.minimum(np.searchsorted(prow, rows), prow.size - 1)
    hit = prow[pos] == rows
    return pos[hit], np.flatnonzero(hit)


def _influence(combo: Combination, rows: np.ndarray, Q: int, A: np.ndarray | None,
               *, weight_part: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the influence of the cohort rows ``rows`` (sorted).

    The total, and (``weight_part``) the part that moves with the weights.
    """
    out = np.zeros((rows.size, Q))
    wpart = np.zeros((rows.size, Q)) if weight_part else None
    for sign, piece in combo.pieces:
        sel, pos = _members(piece, rows)
        if sel.size == 0:
            continue
        tot, wp = piece.block(sel)  # type: ignore[attr-defined]
        out[pos] += sign * tot
        if wpart is not None and wp is not None:
            wpart[pos] += sign * wp
    if A is not None and combo.weights is not None:
        out += combo.weights.phi[rows] @ A
    return out, wpart


def _correction(combo: Combination, n: int, Q: int, chunk: int) -> np.ndarray | None:
    """Return ``A = sum_j dlogw_j psi_j'`` over every row (None without a weight model)."""
    if combo.weights is None:
        return None
    dlogw = combo.weights.dlogw
    A = np.zeros((dlogw.shape[1], Q))
    dense = []
    for sign, piece in combo.pieces:
        if hasattr(piece, "weight_correction"):
            A += sign * piece.weight_correction(dlogw[piece.rows])  # type: ignore[attr-defined]
        else:
            dense.append((sign, piece))
    if dense:
        part = Combination(dense)
        for lo in range(0, n, chunk):
            rows = np.arange(lo, min(n, lo + chunk))
            _, wpart = _influence(part, rows, Q, None, weight_part=True)
            A += np.nan_to_num(dlogw[rows]).T @ wpart  # type: ignore[operator]
    return A


def influences(n: int, combo: Combination) -> np.ndarray:
    """Return every row's influence on every quantity (n x Q).

    For checks on small data; the variances of large pools are accumulated by
    :func:`variances` without it.

    Parameters
    ----------
    n : int
        Rows of the cohort.
    combo : Combination
        The estimate.

    Returns
    -------
    numpy.ndarray, shape (n, Q)

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.survival.pieces import KMPiece, Combination, influences
    >>> t, d = np.array([1., 2, 2, 3, 4]), np.array([1., 1, 0, 1, 0])
    >>> piece = KMPiece(np.arange(5), t, d, np.ones(5), np.array([2.5]), 3.0)
    >>> piece.estimate.round(3).tolist()  # S(2.5) and the mean time free up to 3
    [0.6, 2.4]
    >>> round(float((influences(5, Combination([(1.0, piece)])) ** 2).sum(axis=0)[0]), 3)
    0.048
    """
    Q = int(np.asarray(combo.estimate).size)
    return _influence(combo, np.arange(n), Q, _correction(combo, n, Q, CHUNK))[0]


def _grouped(piece: KMPiece, values: np.ndarray) -> np.ndarray:
    """``sum_{i in profile l} values_i`` for each profile (rows of ``values`` = piece rows)."""
    L = piece.P.shape[0]
    return np.column_stack([np.bincount(piece.idx, weights=values[:, j], minlength=L)
                            for j in range(values.shape[1])])


def _profile_covariances(observed: Combination, counterfactual: Combination,
                         A0: np.ndarray | None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Return sums of outer products of influences without materialising them.

    When both curves are one Kaplan-Meier piece each on different rows and only the counterfactual's weights are
    estimated (weighting and matching): every row's influence is its weight times one of a few
    profiles, plus ``phi_i' A``, so the sums group by profile (O(n q), not O(n x grid)).
    """
    if observed.weights is not None or len(observed.pieces) != 1 or len(
            counterfactual.pieces) != 1:
        return None
    (s1, p1), (s0, p0) = observed.pieces[0], counterfactual.pieces[0]
    if not (isinstance(p1, KMPiece) and isinstance(p0, KMPiece)):
        return None
    if np.intersect1d(p1.rows, p0.rows).size:
        return None
    P1, P0 = np.nan_to_num(p1.P), np.nan_to_num(p0.P)
    m1 = np.bincount(p1.idx, weights=p1.w ** 2, minlength=P1.shape[0])
    m0 = np.bincount(p0.idx, weights=p0.w ** 2, minlength=P0.shape[0])
    C1 = (P1.T * m1) @ P1 * s1 ** 2
    C0 = (P0.T * m0) @ P0 * s0 ** 2
    C10 = np.zeros_like(C1)
    if A0 is not None and counterfactual.weights is not None:
        phi = counterfactual.weights.phi
        # the weight model's own term over every row, and its cross terms with the curves
        C0 = C0 + A0.T @ (phi.T @ phi) @ A0
        B = s0 * P0.T @ (_grouped(p0, p0.w[:, None] * phi[p0.rows]) @ A0)
        C0 = C0 + B + B.T
        C10 = s1 * P1.T @ (_grouped(p1, p1.w[:, None] * phi[p1.rows]) @ A0)
    for C, P in ((C1, p1.P), (C0, p0.P)):
        bad = np.isnan(P).any(axis=0)
        C[bad, :] = np.nan
        C[:, bad] = np.nan
    return C1, C0, C10


def covariances(n: int, observed: Combination, counterfactual: Combination,
                cluster: np.ndarray | None = None, chunk: int = CHUNK
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariance matrices of the observed and counterfactual quantities, and between them.

    Parameters
    ----------
    n : int
        Rows of the cohort (pieces' rows are positions in ``0..n-1``, sorted).
    observed, counterfactual : Combination
    cluster : numpy.ndarray, optional
        Integer cluster code per row (0..G-1, -1 for rows in none): influences
        are summed within clusters and the covariance multiplied by G/(G-1).
    chunk : int, default :data:`CHUNK`
        Rows of influences held in memory at once.

    Returns
    -------
    cov_observed, cov_counterfactual, cov_cross : numpy.ndarray
        Q x Q each (``cov_cross[j, k]``: observed quantity j with
        counterfactual quantity k); NaN where an influence is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> t, d = np.array([1., 2, 2, 3, 4, 1, 3, 5]), np.array([1., 1, 0, 1, 0, 1, 0, 1])
    >>> p1 = KMPiece(np.arange(5), t[:5], d[:5], np.ones(5), np.array([2.5]), 3.0)
    >>> p0 = KMPiece(np.arange(5, 8), t[5:], d[5:], np.ones(3), np.array([2.5]), 3.0)
    >>> C1, C0, C10 = covariances(8, Combination([(1.0, p1)]), Combination([(1.0, p0)]))
    >>> C1.shape, bool(np.allclose(C10, 0))  # separate groups: no covariance
    ((2, 2), True)
    """
    Q = int(np.asarray(observed.estimate).size)
    A1 = _correction(observed, n, Q, chunk)
    A0 = _correction(counterfactual, n, Q, chunk)
    if cluster is None:
        fast = _profile_covariances(observed, counterfactual, A0)
        if fast is not None:
            return fast
    # the observed curve's influence lives on its own rows (the participants) unless its
    # weights are estimated: the counterfactual's on every row
    if observed.weights is None:
        rows1 = np.unique(np.concatenate([p.rows for _, p in observed.pieces]))  # type: ignore
    else:
        rows1 = np.arange(n)
    if cluster is None:
        C1, C0, C10 = np.zeros((Q, Q)), np.zeros((Q, Q)), np.zeros((Q, Q))
        for lo in range(0, n, chunk):
            f0, _ = _influence(counterfactual, np.arange(lo, min(n, lo + chunk)), Q, A0)
            C0 += f0.T @ f0
        for lo in range(0, rows1.size, chunk):
            r = rows1[lo: lo + chunk]
            f1, _ = _influence(observed, r, Q, A1)
            f0, _ = _influence(counterfactual, r, Q, A0)
            C1 += f1.T @ f1
            C10 += f1.T @ f0
        return C1, C0, C10
    codes = np.asarray(cluster)
    G = int(codes.max()) + 1
    if G < 2:
        nan = np.full((Q, Q), np.nan)
        return nan, nan, nan
    U1 = np.zeros((G, Q))
    U0 = np.zeros((G, Q))

    def add(U: np.ndarray, r: np.ndarray, f: np.ndarray) -> None:
        c = codes[r]
        inside = c >= 0
        ci, fi = c[inside], f[inside]
        for q in range(Q):
            U[:, q] += np.bincount(ci, weights=fi[:, q], minlength=G)

    for lo in range(0, n, chunk):
        r = np.arange(lo, min(n, lo + chunk))
        add(U0, r, _influence(counterfactual, r, Q, A0)[0])
    for lo in range(0, rows1.size, chunk):
        r = rows1[lo: lo + chunk]
        add(U1, r, _influence(observed, r, Q, A1)[0])
    scale = G / (G - 1)
    return scale * U1.T @ U1, scale * U0.T @ U0, scale * U1.T @ U0


def variances(n: int, observed: Combination, counterfactual: Combination,
              cluster: np.ndarray | None = None, chunk: int = CHUNK
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances of the observed and counterfactual quantities and of their difference.

    The diagonals of :func:`covariances`.

    Parameters
    ----------
    n, observed, counterfactual, cluster, chunk
        As :func:`covariances`.

    Returns
    -------
    var_observed, var_counterfactual, var_difference : numpy.ndarray
        One per quantity (NaN where an influence is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> same = KMPiece(np.arange(4), np.array([1., 2, 3, 4]), np.array([1., 0, 1, 0]),
    ...                np.ones(4), np.array([2.5]), 3.0)
    >>> v1, v0, vd = variances(4, Combination([(1.0, same)]), Combination([(1.0, same)]))
    >>> bool(np.allclose(vd, 0) and np.allclose(v1, v0))  # one curve twice: no difference
    True
    """
    return diagonals(*covariances(n, observed, counterfactual, cluster, chunk))


def diagonals(C1: np.ndarray, C0: np.ndarray, C10: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the variances of the observed, counterfactual and difference quantities.

    Parameters
    ----------
    C1, C0, C10 : numpy.ndarray
        The matrices of :func:`covariances`.

    Returns
    -------
    var_observed, var_counterfactual, var_difference : numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> [v.tolist() for v in diagonals(np.eye(1), 2 * np.eye(1), 0.5 * np.eye(1))]
    [[1.0], [2.0], [2.0]]
    """
    v1, v0, c = np.diag(C1).copy(), np.diag(C0).copy(), np.diag(C10)
    return v1, v0, v1 + v0 - 2 * c


def grid_from_window(window: float, steps: int = 52) -> np.ndarray:
    """Return ``steps + 1`` equally spaced times from 0 to ``window`` (weekly for a year).

    Parameters
    ----------
    window : float
        The follow-up window.
    steps : int, default 52
        Intervals.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> grid_from_window(364.0, steps=4).tolist()
    [0.0, 91.0, 182.0, 273.0, 364.0]
    """
    return np.linspace(0.0, float(window), steps + 1)
