"""Estimates in a matched sample: weighted means with robust or matched-set standard errors, regression adjustment, and the Abadie-Imbens matching variance.

Used by every matching and stratification estimator
(:mod:`~pbr_eval.estimators.matching`, :mod:`~pbr_eval.estimators.optimal`,
:mod:`~pbr_eval.estimators.stratified`).

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2007). Matching as
nonparametric preprocessing for reducing model dependence in parametric
causal inference. Political Analysis 15(3), 199-236.
Abadie, A. & Imbens, G. W. (2006). Large sample properties of matching
estimators for average treatment effects. Econometrica 74(1), 235-267.
"""

from __future__ import annotations

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import matched_sample_se, weighted_difference
from pbr_eval.inference.sandwich import wls_sandwich
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["matched_estimates", "abadie_imbens_estimates", "variance_neighbours"]


def _regression_adjusted(
    cohort: Cohort, w: np.ndarray, *, cluster: np.ndarray | None, kind: str, focal: np.ndarray
) -> list[tuple[str, float, float, float, np.ndarray]]:
    """``y ~ 1 + t + (x - xbar_focal)`` by WLS in the matched sample.

    Returns, per outcome: its name, the observed treated mean, the adjusted
    non-intervention mean, the adjusted effect and the coefficients' covariance.

    With covariates centred at the weighted focal-group means, the
    coefficient on ``t`` is the adjusted effect on the focal group, and the
    intercept (plus the coefficient, for the ATC) the adjusted mean outcome
    of the comparison group at the focal group's covariates.
    """
    keep = w > 0
    t = cohort.t[keep]
    ww = w[keep]
    Xc = cohort.X[keep]
    f = focal[keep]
    xbar = (ww[f] @ Xc[f]) / ww[f].sum()
    Z = np.column_stack([np.ones(t.size), t.astype(float), Xc - xbar])
    out: list[tuple[str, float, float, float, np.ndarray]] = []
    for name in cohort.outcomes:
        y = cohort.y(name)[keep]
        beta, cov = wls_sandwich(Z, y, ww, cluster=cluster, kind=kind)  # type: ignore[arg-type]
        observed = float(np.average(y[t], weights=ww[t]))
        effect = float(beta[1])
        out.append((name, observed, observed - effect, effect, cov))
    return out


def matched_estimates(
    cohort: Cohort,
    w: np.ndarray,
    *,
    subclass: np.ndarray | None,
    se: str,
    adjust: bool = False,
    focal: np.ndarray | None = None,
) -> list[OutcomeEstimate]:
    """Estimates in a matched sample: weighted means, optional regression adjustment.

    Without adjustment this is :func:`pbr_eval.estimators.base.weighted_difference`
    (``y ~ 1 + t`` by WLS; cluster-robust by matched set or HC3, as MatchIt's
    documentation recommends). With ``adjust=True`` the covariates, centred at
    the focal group's weighted means, enter the regression (Ho et al. 2007);
    the non-intervention estimate is then the observed treated mean minus the
    adjusted effect, and its standard error is taken as the effect's (the
    treated mean is treated as the cohort's observed, fixed outcome rate).
    """
    if not adjust:
        return weighted_difference(cohort, w, subclass=subclass, se=se)
    keep = w > 0
    cl, kind, se_method = matched_sample_se(se, subclass, keep)
    se_method = f"regression-adjusted; {se_method}"
    fo = cohort.t if focal is None else focal
    rows = _regression_adjusted(cohort, w, cluster=cl, kind=kind, focal=fo)
    n1 = int(cohort.t[keep].sum())
    n0 = int((~cohort.t[keep]).sum())
    out = []
    for name, observed, ni, effect, cov in rows:
        y_all = cohort.y(name)
        out.append(
            OutcomeEstimate(
                outcome=name,
                outcome_type=cohort.outcome_types[name],
                n_treated=n1,
                n_comparison=n0,
                observed=observed,
                non_intervention=ni,
                non_intervention_se=float(np.sqrt(cov[1, 1])),
                effect=effect,
                std_error=float(np.sqrt(cov[1, 1])),
                naive_comparison=float(y_all[~cohort.t].mean()),
                se_method=se_method,
            )
        )
    return out


def variance_neighbours(
    z: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Each unit's nearest *other* unit of its own group, for the conditional variances.

    Parameters
    ----------
    z : numpy.ndarray, shape (n, d)
        The matching variable (a score as one column, or transformed covariates).
    t : numpy.ndarray of bool
        Group of each unit.

    Returns
    -------
    nearest : numpy.ndarray of int
        Row of the nearest other unit of the same group. Never the unit itself,
        also when another unit shares its value exactly (a k-d tree may list the
        unit itself second then, after its twin at distance 0).
    tied : dict
        For the units with several others at exactly the nearest distance
        (e.g. a neighbour and that neighbour's twin): row -> all of them. Their
        conditional variance is the sample variance of the unit and those
        neighbours together, as R's ``Matching`` (``Var.calc``) computes it.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.1], [0.3], [0.3], [0.5]])  # units 1 and 2 share a score
    >>> nearest, tied = variance_neighbours(z, np.zeros(4, bool))
    >>> nearest[1:3].tolist()  # each other's neighbour, never themselves
    [2, 1]
    >>> {k: v.tolist() for k, v in tied.items()}  # units 0 and 3: two at the nearest distance
    {0: [1, 2], 3: [1, 2]}
    """
    from scipy.spatial import cKDTree

    nearest = np.empty(t.size, dtype=np.int64)
    tied: dict[int, np.ndarray] = {}
    for g in (True, False):
        ids = np.flatnonzero(t == g)
        if ids.size < 2:
            nearest[ids] = ids
            continue
        tree = cKDTree(z[ids])
        k = min(3, ids.size)
        dist, nb = tree.query(z[ids], k=k)
        own = np.arange(ids.size)
        first = np.where(nb[:, 0] == own, nb[:, 1], nb[:, 0])
        nearest[ids] = ids[first]
        if k < 3:
            continue
        # the other two listed (self dropped where it is listed): tied if at equal distance
        d_first = np.where(nb[:, 0] == own, dist[:, 1], dist[:, 0])
        second = np.where((nb[:, 0] == own) | (nb[:, 1] == own), nb[:, 2], nb[:, 1])
        d_second = np.where((nb[:, 0] == own) | (nb[:, 1] == own), dist[:, 2], dist[:, 1])
        for r in np.flatnonzero(d_second == d_first):
            found = np.asarray(tree.query_ball_point(z[ids[r]], r=d_first[r]), dtype=np.int64)
            found = found[found != r]
            if found.size == 0:  # pragma: no cover - rounding in the ball query
                found = np.array([first[r], second[r]])
            tied[int(ids[r])] = ids[np.sort(found)]
    return nearest, tied


def abadie_imbens_estimates(
    cohort: Cohort, mm: np.ndarray, focal: np.ndarray, score: np.ndarray | None
) -> list[OutcomeEstimate]:
    """Return matching estimates with the Abadie-Imbens (2006) variance (with replacement).

    For focal units ``i`` (n_1 matched) with matched sets ``J(i)`` of size
    ``M_i``, the effect is ``tau = mean_i (Y_i - mean_{j in J(i)} Y_j)`` and
    ``K(j) = sum_i 1[j in J(i)] / M_i``. With ``sigma^2(x)`` estimated by
    matching each unit to its nearest same-group unit on the matching
    variable (``sigma^2_i = (Y_i - Y_l(i))^2 / 2``; ``l(i)`` is never ``i``
    itself, also when another unit shares its score exactly, and with several
    neighbours at exactly the nearest distance their sample variance together
    with ``Y_i``, as R's ``Matching``; see :func:`variance_neighbours`), eq. (14)
    of Abadie & Imbens (2006) for the ATT gives

    ``V = (1/n_1^2) [ sum_i (Y_i - mean_J Y_j - tau)^2
    + sum_j (K(j)^2 - K(j)/M) sigma^2_j ]``.

    The non-intervention mean ``mean_i mean_J Y_j`` gets the variance of its
    own part: ``(1/n_1^2) [sum_i (mean_J Y_j - m0)^2 + sum_j (K^2 - K/M) sigma^2_j]``.
    """
    has = mm >= 0
    rows_ok = has.any(axis=1)
    idx_f = np.flatnonzero(focal)[rows_ok]
    mmf = mm[rows_ok]
    hf = mmf >= 0
    M = hf.sum(axis=1)
    n1 = idx_f.size
    K = np.bincount(mmf[hf], weights=(1.0 / np.repeat(M, M)), minlength=cohort.n)
    # conditional variance: nearest same-group neighbour on the matching variable
    z = np.zeros((cohort.n, 1)) if score is None else (
        score.reshape(-1, 1) if score.ndim == 1 else score)
    sig_nb, tied = variance_neighbours(z, cohort.t)
    Mbar = float(M.mean())
    out = []
    for name in cohort.outcomes:
        y = cohort.y(name)
        ym = np.zeros(n1)
        for c in range(mmf.shape[1]):
            ym += np.where(hf[:, c], y[np.where(hf[:, c], mmf[:, c], 0)], 0.0)
        ym /= M
        yi = y[idx_f]
        sign = 1.0 if cohort.t[idx_f].all() else -1.0  # ATC: focal are controls
        tau_i = sign * (yi - ym)
        tau = float(tau_i.mean())
        sig2 = (y - y[sig_nb]) ** 2 / 2
        for i, group in tied.items():  # several neighbours at the nearest distance
            sig2[i] = float(np.var(y[np.r_[i, group]], ddof=1))
        extra = float(np.sum((K**2 - K / Mbar) * sig2))
        v_tau = (np.sum((tau_i - tau) ** 2) + extra) / n1**2
        m0 = float(ym.mean())
        v_m0 = (np.sum((ym - m0) ** 2) + extra) / n1**2
        observed = float(yi.mean()) if sign > 0 else m0
        ni = m0 if sign > 0 else float(yi.mean())
        out.append(
            OutcomeEstimate(
                outcome=name,
                outcome_type=cohort.outcome_types[name],
                n_treated=int(n1 if sign > 0 else (K[cohort.t] > 0).sum()),
                n_comparison=int((K[~cohort.t] > 0).sum() if sign > 0 else n1),
                observed=observed,
                non_intervention=ni,
                non_intervention_se=float(np.sqrt(v_m0)),
                effect=tau,
                std_error=float(np.sqrt(max(v_tau, 0.0))),
                naive_comparison=float(y[~cohort.t].mean()),
                se_method="Abadie-Imbens (2006) matching variance (score treated as known)",
            )
        )
    return out
