"""Group-time average treatment effects for staggered adoption (Callaway & Sant'Anna 2021).

Pure functions over arrays: a balanced panel in wide form (one row per unit,
one column per period), each unit's group (the period it was first treated, or
``inf`` for never treated) and time-invariant covariates in; ATT(g, t), their
influence functions and the aggregations out. :mod:`pbr_eval.estimators.staggered`
wraps them as the ``method="staggered_did"`` estimator.

Definitions (Callaway & Sant'Anna 2021, panel data)
---------------------------------------------------
For group ``g`` and period ``t`` with base period ``b``::

    ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | comparison, X]  (averaged over group g's X)

The comparison units are the never-treated (``comparison="never_treated"``)
or the not-yet-treated: never treated, or first treated after
``max(t, b) + anticipation`` and not in group ``g``. The base period is
``g - anticipation - 1`` for ``t >= g - anticipation``; before that it is
``t - 1`` (``base_period="varying"``) or ``g - anticipation - 1`` as well
(``"universal"``, where ATT(g, g - anticipation - 1) is 0 by construction).

Each ATT(g, t) is the two-period DiD of Sant'Anna & Zhao (2020) on the units
of group ``g`` and the comparison units, by

* ``"reg"``: outcome regression (Heckman, Ichimura & Todd 1997): the
  change ``Y_t - Y_b`` regressed on ``X`` among comparison units by OLS,
  predicted for the group;
* ``"ipw"``: normalised (Hajek) inverse probability weighting (Abadie 2005)
  with a logit propensity score for being in group ``g`` rather than the
  comparison;
* ``"dr"``: the doubly robust combination (Sant'Anna & Zhao 2020, eq. 3.1,
  logit by maximum likelihood and OLS: R ``DRDID::drdid_panel``).

Comparison units whose propensity score is 0.995 or more are left out of the
IPW and DR control means (as R ``DRDID`` does: trimming).

The influence function of each estimator, including the estimation effect of
the nuisance models, is scaled by ``n / n_gt`` (``n`` units in all, ``n_gt``
in the group and comparison) and set to zero for units in neither, so that
``sqrt(sum_i psi_i^2) / n`` is the standard error and sums over clusters give
the cluster-robust one (R ``did``'s convention).

Aggregations (``aggregate``) average ATT(g, t) with weights proportional to
group size ``P(G = g)`` and add the influence of estimating those weights
(``did::aggte``): ``"simple"`` (every post-treatment cell), ``"group"``
(each group's average over its post-treatment periods; overall weighted by
group size), ``"calendar"`` (each period's average over the groups treated
by then; overall the mean over periods) and ``"dynamic"`` (event study: each
length of exposure ``e = t - g``; overall the mean over ``e >= 0``).

References
----------
Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with
multiple time periods. Journal of Econometrics 225(2), 200-230.
Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences
estimators. Journal of Econometrics 219(1), 101-122.
Abadie, A. (2005). Semiparametric difference-in-differences estimators.
Review of Economic Studies 72(1), 1-19.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.multiplier import cluster_sums

__all__ = [
    "GroupTime",
    "Aggregate",
    "group_time_att",
    "aggregate",
    "AGGREGATIONS",
    "DID_MODELS_GT",
    "COMPARISONS",
    "BASE_PERIODS",
]

DID_MODELS_GT = ("dr", "ipw", "reg")
COMPARISONS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")
AGGREGATIONS = ("simple", "group", "calendar", "dynamic")

#: Comparison units with a propensity score at or above this are trimmed (R DRDID's trim.level).
TRIM_LEVEL = 0.995


@dataclass(frozen=True)
class GroupTime:
    """ATT(g, t) for every group and period, with influence functions.

    Attributes
    ----------
    periods : numpy.ndarray
        The periods, in time order.
    group_values : numpy.ndarray
        The groups (first-treatment periods) with at least one unit.
    group : numpy.ndarray, shape (K,)
        Each cell's group (a value of ``periods``).
    time : numpy.ndarray, shape (K,)
        Each cell's period.
    base : numpy.ndarray, shape (K,)
        Each cell's base period.
    att : numpy.ndarray, shape (K,)
        ATT(g, t) (NaN where it cannot be computed; ``notes`` says why).
    psi : numpy.ndarray, shape (n, K)
        Influence functions, scaled so ``sqrt((psi**2).sum(0)) / n`` is the SE.
    n_treated, n_comparison : numpy.ndarray of int, shape (K,)
        Units in the group and in the comparison for each cell.
    unit_group : numpy.ndarray, shape (n,)
        Each unit's group value (``inf``: never treated in the window).
    observed : numpy.ndarray, shape (K,)
        The group's mean outcome in period ``t``.
    post : numpy.ndarray of bool
        ``group <= time`` (a post-treatment cell).
    comparison_mean : numpy.ndarray, shape (K,)
        The comparison units' mean outcome in period ``t`` (unadjusted).
    notes : tuple of str
    """

    periods: np.ndarray
    group_values: np.ndarray
    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    psi: np.ndarray
    n_treated: np.ndarray
    n_comparison: np.ndarray
    unit_group: np.ndarray
    observed: np.ndarray
    post: np.ndarray
    comparison_mean: np.ndarray
    notes: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.psi.shape[0])

    def se(self, cluster: np.ndarray | None = None) -> np.ndarray:
        """Analytic (influence-function) standard errors of ATT(g, t), optionally clustered."""
        return influence_se(self.psi, cluster)


@dataclass(frozen=True)
class Aggregate:
    """One aggregation of ATT(g, t): estimates as linear maps of the cells' influence.

    Attributes
    ----------
    kind : str
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    labels : numpy.ndarray
        The group, period or event time of each estimate (empty for ``simple``).
    estimate : numpy.ndarray
        One per label.
    overall : float
        The overall summary of this aggregation.
    A : numpy.ndarray, shape (K, m + 1)
        Weights on the cells' influence functions (last column: overall).
    B : numpy.ndarray, shape (n_groups, m + 1)
        Weights on the group-share deviations ``1{G = g} - P(G = g)`` (the
        influence of estimating the weights).
    """

    kind: str
    labels: np.ndarray
    estimate: np.ndarray
    overall: float
    A: np.ndarray
    B: np.ndarray

    def psi(self, gt: GroupTime) -> np.ndarray:
        """Influence functions (n, m + 1) of the estimates and the overall value."""
        return gt.psi @ self.A + group_deviation(gt) @ self.B


def influence_se(psi: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """Return standard errors ``sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` (per unit without clusters).

    Examples
    --------
    >>> import numpy as np
    >>> influence_se(np.array([[1.0], [-1.0], [2.0], [-2.0]])).round(4).tolist()
    [0.7906]
    >>> influence_se(np.array([[1.0], [-1.0], [2.0], [-2.0]]), np.array([0, 0, 1, 1])).tolist()
    [0.0]
    """
    psi = np.asarray(psi, dtype=float)
    n = psi.shape[0]
    if psi.ndim == 1:
        psi = psi[:, None]
    if cluster is None:
        return np.sqrt(np.einsum("ij,ij->j", psi, psi)) / n
    sums = cluster_sums(psi, cluster)
    return np.sqrt(np.einsum("ij,ij->j", sums, sums)) / n


def group_deviation(gt: GroupTime) -> np.ndarray:
    """``Z[i, j] = 1{G_i = g_j} - P(G = g_j)`` for the groups of ``gt`` (n, n_groups)."""
    ind = (gt.unit_group[:, None] == gt.group_values[None, :]).astype(float)
    return ind - ind.mean(axis=0)


# --------------------------------------------------------------------- 2x2 DiD
def _ols(X: np.ndarray, y: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares: coefficients and ``(X'WX / n)^{-1}`` (``n``: the whole sample)."""
    Xw = X * w[:, None]
    XtX = Xw.T @ X
    if np.linalg.cond(XtX) > 1e14:
        raise EstimationError(
            "The outcome regression's design is singular among the comparison units; "
            "remove covariates that do not vary among them."
        )
    inv = np.linalg.inv(XtX / n)
    beta = np.linalg.solve(XtX, Xw.T @ y)
    return beta, inv


def _logit(X: np.ndarray, D: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fitted propensity scores of a weighted logit of ``D`` on ``X`` (with intercept column)."""
    from pbr_eval.models.logit import fit_logit

    if X.shape[1] == 1:
        return np.full(D.size, np.average(D, weights=w))
    fit = fit_logit(X[:, 1:], D.astype(float), weights=w)
    return expit(fit.params[0] + X[:, 1:] @ fit.params[1:])


def did_2x2(
    dy: np.ndarray,
    D: np.ndarray,
    X: np.ndarray,
    *,
    model: str,
    ps: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[Any, np.ndarray]:
    """Two-period DiD of Sant'Anna & Zhao (2020) on one sample: ATT and its influence function.

    Every step is linear in the outcome change (the nuisance models' estimation
    effects included), so ``dy`` may also be a matrix: one column per outcome
    (or per period's level, whose differences are then the DiDs:
    :func:`group_time_att` fits each group's columns at once).

    Parameters
    ----------
    dy : numpy.ndarray, shape (n,) or (n, q)
        Outcome change ``Y_t - Y_b`` per unit (or ``q`` of them).
    D : numpy.ndarray of bool
        In the treated group (else comparison).
    X : numpy.ndarray
        Covariates with an intercept column first.
    model : {"dr", "ipw", "reg"}
    ps : numpy.ndarray, optional
        Propensity scores, when already fitted for this sample.
    weights : numpy.ndarray, optional
        Unit weights (normalised to mean 1).

    Returns
    -------
    att : float, or numpy.ndarray of shape (q,) for a matrix ``dy``
    psi : numpy.ndarray, shape of ``dy``
        The influence function on this sample (``sd(psi) / sqrt(n)`` is the SE).

    Examples
    --------
    >>> import numpy as np
    >>> dy = np.array([3.0, 5.0, 1.0, 2.0, 0.0, 1.0]); D = np.array([1, 1, 0, 0, 0, 0], bool)
    >>> att, psi = did_2x2(dy, D, np.ones((6, 1)), model="dr")
    >>> round(att, 6)
    3.0
    >>> atts, _ = did_2x2(np.column_stack([dy, 2 * dy]), D, np.ones((6, 1)), model="dr")
    >>> atts.round(6).tolist()
    [3.0, 6.0]
    """
    dy = np.asarray(dy, dtype=float)
    vector = dy.ndim == 1
    Yq = dy[:, None] if vector else dy
    n = Yq.shape[0]
    w = np.ones(n) if weights is None else weights / weights.mean()
    Df = D.astype(float)
    ctrl = ~D
    k = X.shape[1]
    if model in ("reg", "dr"):
        beta, inv = _ols(X[ctrl], Yq[ctrl], w[ctrl], n)
    else:
        beta = np.zeros((k, Yq.shape[1]))

    def resid_mean(v: np.ndarray) -> np.ndarray:
        """``mean(v * r)`` per column, ``r = dy - X beta`` (no (n, q) temporary)."""
        return (v @ Yq - (v @ X) @ beta) / n

    # psi = r * a + Z @ C, with r = dy - X beta: psi = dy * a + [Z, X a] @ [C; -beta]
    if model == "reg":
        w_t = w * Df
        mt = w_t.mean()
        # ATT = the group's mean of dy - m; OLS asymptotic linear representation over all n
        # (zero off the comparison)
        eta = resid_mean(w_t) / mt
        M1 = (X.T @ w_t) / n
        a = (w_t - (X @ (inv @ M1)) * np.where(ctrl, w, 0.0)) / mt
        Z = np.column_stack([w_t / mt, X * a[:, None]])
        C = np.vstack([-eta[None, :], -beta])
    else:
        if ps is None:
            ps = _logit(X, D, w)
        ps = np.minimum(ps, 1 - 1e-6)
        keep = np.where(D, True, ps < TRIM_LEVEL)
        w_t = keep * w * Df
        w_c = keep * w * ps * (1 - Df) / (1 - ps)
        mt, mc = w_t.mean(), w_c.mean()
        if mc <= 0:
            raise EstimationError("Every comparison unit was trimmed (propensity scores >= 0.995).")
        eta_t = resid_mean(w_t) / mt
        eta_c = resid_mean(w_c) / mc
        eta = eta_t - eta_c
        # logit asymptotic linear representation: score @ (X'WX / n)^{-1} M2
        W = ps * (1 - ps) * w
        H = (X * W[:, None]).T @ X
        score = w * (Df - ps)
        Xc_w = X * w_c[:, None]
        M2 = (Xc_w.T @ Yq - (Xc_w.T @ X) @ beta) / n - np.outer(Xc_w.sum(axis=0) / n, eta_c)
        S2 = np.linalg.solve(H / n, M2)
        a = w_t / mt - w_c / mc
        if model == "dr":
            M1 = (X.T @ w_t) / n
            M3 = (X.T @ w_c) / n
            a -= ((X @ (inv @ M1)) / mt - (X @ (inv @ M3)) / mc) * np.where(ctrl, w, 0.0)
        Z = np.column_stack([w_t / mt, w_c / mc, X * (score / mc)[:, None], X * a[:, None]])
        C = np.vstack([-eta_t[None, :], eta_c[None, :], -S2, -beta])
    psi = Yq * a[:, None]
    psi += Z @ C
    if vector:
        return float(eta[0]), psi[:, 0]
    return eta, psi


# ----------------------------------------------------------------- ATT(g, t)
def group_time_att(
    Y: np.ndarray,
    first_treated: np.ndarray,
    periods: np.ndarray,
    *,
    X: np.ndarray | None = None,
    model: str = "dr",
    comparison: str = "never_treated",
    anticipation: int = 0,
    base_period: str = "varying",
) -> GroupTime:
    """ATT(g, t) for a balanced panel (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    Y : numpy.ndarray, shape (n, T)
        Outcomes, one row per unit, one column per period (in time order).
    first_treated : numpy.ndarray, shape (n,)
        The period each unit was first treated; ``inf`` (or NaN) for never treated.
        Units first treated after the last period count as never treated;
        units treated in the first period (plus anticipation) must already
        have been removed (nothing before them to compare with).
    periods : numpy.ndarray, shape (T,)
        The period values, increasing.
    X : numpy.ndarray, shape (n, k), optional
        Time-invariant covariates (no intercept).
    model : {"dr", "ipw", "reg"}
    comparison : {"never_treated", "not_yet_treated"}
    anticipation : int, default 0
        Periods before ``g`` in which units may already react.
    base_period : {"varying", "universal"}

    Returns
    -------
    GroupTime

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[0., 1, 5], [0, 1, 2], [1, 2, 3], [1, 2, 3]])
    >>> gt = group_time_att(Y, np.array([3, np.inf, np.inf, np.inf]), np.array([1, 2, 3]))
    >>> gt.att.round(6).tolist()
    [0.0, 3.0]
    """
    Y = np.asarray(Y, dtype=float)
    n, T = Y.shape
    periods = np.asarray(periods)
    G = np.asarray(first_treated, dtype=float).copy()
    G[np.isnan(G)] = np.inf
    G[G > periods[-1]] = np.inf
    # group as an index into periods (T for never treated)
    gidx = np.full(n, T, dtype=np.int64)
    fin = np.isfinite(G)
    pos = np.searchsorted(periods, G[fin])
    if np.any(pos >= T) or np.any(periods[np.minimum(pos, T - 1)] != G[fin]):
        raise EstimationError("Every first-treatment period must be one of the periods in the data.")
    gidx[fin] = pos
    if np.any(gidx[fin] - anticipation <= 0):
        raise EstimationError(
            "Some units were treated in the first period (or within `anticipation` of it); "
            "they have no period before treatment to compare with. Leave them out first "
            "(the estimator does this and counts them)."
        )
    never = gidx == T
    groups = np.unique(gidx[fin])
    notes: list[str] = []
    if comparison == "never_treated" and not never.any():
        raise EstimationError(
            "No never-treated units: use comparison='not_yet_treated'."
        )
    if not never.any():
        # as R did: the last group to start is only a comparison, and the periods from its
        # (anticipated) start on, where nobody is untreated, are left out
        last = int(groups.max())
        cut = last - anticipation
        if groups.size < 2 or cut < 2:
            raise EstimationError(
                "Every unit starts the programme and the last group starts too early to leave "
                "anything to compare: there is no untreated comparison in any period after a "
                "start."
            )
        notes.append(
            f"No unit is never treated: the last group to start (period {periods[last]!r}) serves "
            f"only as a comparison, and periods from {periods[cut]!r} on are not estimated."
        )
        Y = Y[:, :cut]
        periods = periods[:cut]
        T = cut
        gidx = np.where(gidx == last, T, gidx)
        never = gidx == T
        groups = groups[groups != last]
    group_sizes = np.bincount(gidx, minlength=T + 1)
    Xc = np.ones((n, 1)) if X is None or np.size(X) == 0 else np.column_stack([np.ones(n), X])
    cells: list[tuple[int, int, int]] = []  # (group idx, time idx, base idx)
    for g in groups:
        b_univ = g - anticipation - 1
        t_range = range(T) if base_period == "universal" else range(1, T)
        for t in t_range:
            if t >= g - anticipation or base_period == "universal":
                b = b_univ
            else:
                b = t - 1
            cells.append((int(g), int(t), int(b)))
    K = len(cells)
    att = np.full(K, np.nan)
    psi = np.zeros((n, K), order="F")  # written a cell (column) at a time
    n1 = np.zeros(K, dtype=np.int64)
    n0 = np.zeros(K, dtype=np.int64)
    observed = np.full(K, np.nan)
    comp_mean = np.full(K, np.nan)
    # Cells that share a group and a comparison set share one sample, propensity score and
    # outcome-regression design: each such block is fitted once on the levels of the periods
    # its cells need (the estimators are linear in the outcome, so a cell's ATT and influence
    # are the level fits' differences between its period and its base period).
    blocks: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for k, (g, t, b) in enumerate(cells):
        n1[k] = int(group_sizes[g])
        if t == b:  # universal base period: the reference cell
            att[k] = 0.0
            continue
        if comparison == "never_treated":
            key: tuple[int, ...] = ()
        else:
            later = max(t, b)
            key = tuple(int(h) for h in groups if h > later + anticipation and h != g)
        blocks.setdefault((g, key), []).append(k)
    group_means = {int(g): Y[gidx == g].mean(axis=0) for g in groups}
    for k, (g, t, _) in enumerate(cells):
        observed[k] = group_means[g][t]
    for (g, key), ks in blocks.items():
        ctrl = never | np.isin(gidx, key) if key else never
        n_ctrl = int(ctrl.sum())
        if n_ctrl == 0:
            for k in ks:
                g_, t, _ = cells[k]
                notes.append(
                    f"ATT(g={periods[g_]!r}, t={periods[t]!r}) cannot be computed: no comparison "
                    "units are untreated in both periods."
                )
            continue
        idx = np.flatnonzero(ctrl | (gidx == g))
        D = gidx[idx] == g
        cols = sorted({c for k in ks for c in cells[k][1:]})
        where = {c: j for j, c in enumerate(cols)}
        tj = np.array([where[cells[k][1]] for k in ks])
        bj = np.array([where[cells[k][2]] for k in ks])
        Ys = Y[np.ix_(idx, np.array(cols))]
        # the cells' outcome changes Y_t - Y_b as one product (exact: +1, -1 and zeros)
        diff = np.zeros((len(cols), len(ks)))
        diff[tj, np.arange(len(ks))] = 1.0
        diff[bj, np.arange(len(ks))] = -1.0
        Xs = Xc[idx]
        ps = None if model == "reg" else _logit(Xs, D, np.ones(idx.size))
        block_att, block_psi = did_2x2(Ys @ diff, D, Xs, model=model, ps=ps)
        block_psi *= n / idx.size
        comp = Ys[~D].mean(axis=0)
        for j, k in enumerate(ks):
            att[k] = block_att[j]
            n0[k] = n_ctrl
            comp_mean[k] = comp[tj[j]]
            psi[idx, k] = block_psi[:, j]
    gv = periods[groups]
    unit_group = np.where(never, np.inf, periods[np.minimum(gidx, T - 1)].astype(float))
    grp = np.array([periods[c[0]] for c in cells])
    tim = np.array([periods[c[1]] for c in cells])
    bas = np.array([periods[c[2]] for c in cells])
    return GroupTime(
        periods=periods, group_values=gv, group=grp, time=tim, base=bas, att=att, psi=psi,
        n_treated=n1, n_comparison=n0, unit_group=unit_group, observed=observed,
        post=np.array([c[0] <= c[1] for c in cells]), comparison_mean=comp_mean,
        notes=tuple(notes),
        info={"model": model, "comparison": comparison, "anticipation": anticipation,
              "base_period": base_period, "cells_index": cells},
    )


# -------------------------------------------------------------- aggregations
def _weighted_block(vals: np.ndarray, keep: np.ndarray, pg: np.ndarray, gpos: np.ndarray,
                    K: int, nG: int) -> tuple[float, np.ndarray, np.ndarray]:
    """pg-weighted mean of the cells in ``keep`` and its (A, B) influence columns (did::aggte)."""
    idx = np.flatnonzero(keep)
    p = pg[idx]
    s = p.sum()
    a = np.zeros(K)
    a[idx] = p / s
    est = float(vals[idx] @ (p / s))
    # weights' influence: sum_k att_k [e_{g_k} / s - p_k / s^2 * sum_{l in keep} e_{g_l}]
    b = np.zeros(nG)
    tot = np.zeros(nG)
    np.add.at(tot, gpos[idx], 1.0)
    for k in idx:
        b[gpos[k]] += vals[k] / s
        b -= vals[k] * pg[k] / s**2 * tot
    return est, a, b


def aggregate(gt: GroupTime, kind: str, values: np.ndarray | None = None) -> Aggregate:
    """Aggregate ATT(g, t) as R ``did::aggte`` does (weights by group size, their influence added).

    Parameters
    ----------
    gt : GroupTime
    kind : {"simple", "group", "calendar", "dynamic"}
    values : numpy.ndarray, optional
        Aggregate these cell values instead of ATT(g, t) with the same weights
        (e.g. ``gt.observed``; ``B`` then carries their weights' influence).

    Returns
    -------
    Aggregate

    Raises
    ------
    EstimationError
        When a cell it needs could not be computed.
    """
    K = gt.att.size
    nG = gt.group_values.size
    vals = gt.att if values is None else np.asarray(values, dtype=float)
    gpos = np.searchsorted(gt.group_values, gt.group)
    share = (gt.unit_group[:, None] == gt.group_values[None, :]).mean(axis=0)
    pg = share[gpos]
    post = gt.group <= gt.time
    labels: list[Any] = []
    ests: list[float] = []
    A_cols: list[np.ndarray] = []
    B_cols: list[np.ndarray] = []

    def need(mask: np.ndarray) -> None:
        if np.isnan(vals[mask]).any():
            raise EstimationError(
                f"The {kind} aggregation needs ATT(g, t) cells that could not be computed "
                "(see the notes)."
            )

    if kind == "simple":
        need(post)
        est, a, b = _weighted_block(vals, post, pg, gpos, K, nG)
        return Aggregate(kind, np.array([]), np.array([]), est, a[:, None], b[:, None])
    if kind == "group":
        for g in gt.group_values:
            keep = (gt.group == g) & post
            need(keep)
            idx = np.flatnonzero(keep)
            a = np.zeros(K)
            a[idx] = 1.0 / idx.size
            labels.append(g)
            ests.append(float(vals[idx].mean()))
            A_cols.append(a)
            B_cols.append(np.zeros(nG))
        est_g = np.array(ests)
        s = share.sum()
        # overall: group-size-weighted mean of the group averages, with the weights' influence
        a_all = np.column_stack(A_cols) @ (share / s)
        b_all = est_g / s - (est_g @ share) / s**2 * np.ones(nG)
        overall = float(est_g @ share / s)
    elif kind == "calendar":
        cal = [t for t in gt.periods if t >= gt.group_values.min()]
        for t in cal:
            keep = (gt.time == t) & post
            need(keep)
            est, a, b = _weighted_block(vals, keep, pg, gpos, K, nG)
            labels.append(t)
            ests.append(est)
            A_cols.append(a)
            B_cols.append(b)
        m = len(ests)
        a_all = np.column_stack(A_cols).mean(axis=1)
        b_all = np.column_stack(B_cols).mean(axis=1)
        overall = float(np.mean(ests)) if m else float("nan")
    elif kind == "dynamic":
        # event time in periods of the data (index differences)
        tpos = np.searchsorted(gt.periods, gt.time)
        gp = np.searchsorted(gt.periods, gt.group)
        e = tpos - gp
        for ev in np.unique(e):
            keep = e == ev
            need(keep)
            est, a, b = _weighted_block(vals, keep, pg, gpos, K, nG)
            labels.append(int(ev))
            ests.append(est)
            A_cols.append(a)
            B_cols.append(b)
        lab = np.array(labels)
        pos_e = lab >= 0
        a_all = np.column_stack(A_cols)[:, pos_e].mean(axis=1)
        b_all = np.column_stack(B_cols)[:, pos_e].mean(axis=1)
        overall = float(np.array(ests)[pos_e].mean())
    else:
        raise EstimationError(f"`kind` must be one of {', '.join(map(repr, AGGREGATIONS))}; "
                              f"got {kind!r}.")
    A = np.column_stack([*A_cols, a_all])
    B = np.column_stack([*B_cols, b_all])
    return Aggregate(kind, np.array(labels), np.array(ests), overall, A, B)
