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

from dataclasses import dataclass

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import matched_sample_se, weighted_difference
from pbr_eval.inference.sandwich import wls_sandwich
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["matched_estimates", "abadie_imbens_estimates", "variance_neighbours"]


@dataclass(frozen=True)
class _Adjusted:
    """One outcome's regression adjustment in a matched sample (see :func:`_regression_adjusted`)."""

    outcome: str
    observed: float          # weighted mean of the treated
    non_intervention: float  # observed - effect (the intercept, for the ATT)
    effect: float            # the coefficient on treatment
    cov: np.ndarray          # the coefficients' sandwich covariance
    var_intercept: float     # the intercept's variance given the covariates (group-wise residuals)
    var_focal_fit: float     # variance over the focal units of the comparison model's fit
    var_comparison: float    # the comparison units' weighted residual variance (their own model)
    n_focal: float           # Kish's effective number of focal units


def _group_residuals(Z: np.ndarray, y: np.ndarray, w: np.ndarray,
                     groups: tuple[np.ndarray, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scaled residuals of ``y`` on ``Z`` by WLS within each group (the interacted model).

    Each unit's outcome has its own noise (a comparison unit used several times is one
    person, its matching weight ``w`` a count of uses), so with ``A = Z'WZ`` the residual
    ``r_i`` has variance ``v (1 - 2 h_i + q_i)``, ``h_i = w_i z_i'A^-1 z_i``,
    ``q_i = z_i'A^-1 (sum_j w_j^2 z_j z_j') A^-1 z_i`` (HC2's leverage correction for such
    weights: heavily reused units pull the fit towards them). Returns ``r_i`` divided by the
    root of that factor, and each group's coefficients.
    """
    r = np.empty_like(y)
    coefs = []
    for g in groups:
        sw = np.sqrt(w[g])
        U, sv, Vt = np.linalg.svd(Z[g] * sw[:, None], full_matrices=False)
        ok = sv > sv.max() * max(Z.shape) * np.finfo(float).eps
        U, sv, Vt = U[:, ok], sv[ok], Vt[ok]
        bg = Vt.T @ ((U.T @ (y[g] * sw)) / sv)
        P = (Z[g] @ Vt.T) / sv  # z_i'A^-1 z_j = P_i . P_j
        h = w[g] * np.einsum("ij,ij->i", P, P)
        Pw = P * w[g][:, None]
        q = np.einsum("ij,ij->i", P @ (Pw.T @ Pw), P)
        r[g] = (y[g] - Z[g] @ bg) / np.sqrt(np.maximum(1 - 2 * h + q, 1e-12))
        coefs.append(bg)
    return r, coefs


def _regression_adjusted(
    cohort: Cohort, w: np.ndarray, *, cluster: np.ndarray | None, kind: str, focal: np.ndarray
) -> list[_Adjusted]:
    """``y ~ 1 + t + (x - xbar_focal)`` by WLS in the matched sample, one row per outcome.

    With covariates centred at the weighted focal-group means, the
    coefficient on ``t`` is the adjusted effect on the focal group, and the
    intercept (plus the coefficient, for the ATC) the adjusted mean outcome
    of the comparison group at the focal group's covariates. Also returned:
    the pieces of the non-intervention rate's variance (see
    :func:`matched_estimates`).
    """
    keep = w > 0
    t = cohort.t[keep]
    ww = w[keep]
    Xc = cohort.X[keep]
    f = focal[keep]
    wf = ww[f]
    xbar = (wf @ Xc[f]) / wf.sum()
    Z = np.column_stack([np.ones(t.size), t.astype(float), Xc - xbar])
    n_focal = float(wf.sum() ** 2 / (wf @ wf))
    # the intercept is linear in y: beta_0 = c'y, c = e_0' (Z'WZ)^-1 Z'W
    c = ww * (Z @ np.linalg.lstsq(Z.T @ (Z * ww[:, None]), np.eye(Z.shape[1])[0], rcond=None)[0])
    Zg = np.delete(Z, 1, axis=1)  # intercept and centred covariates, fitted per group
    out: list[_Adjusted] = []
    for name in cohort.outcomes:
        y = cohort.y(name)[keep]
        beta, cov = wls_sandwich(Z, y, ww, cluster=cluster, kind=kind)  # type: ignore[arg-type]
        observed = float(np.average(y[t], weights=ww[t]))
        effect = float(beta[1])
        r, (_, b0) = _group_residuals(Zg, y, ww, (t, ~t))
        if cluster is None:
            v_int = float((c * c) @ (r * r))
        else:
            _, g = np.unique(cluster, return_inverse=True)
            n_g = int(g.max()) + 1
            v_int = float(np.sum(np.bincount(g, weights=c * r) ** 2)) * n_g / max(n_g - 1, 1)
        fit = Z[f, 2:] @ b0[1:]  # the comparison model's fit, centred at the focal mean
        v_comp = float(np.average(r[~t] ** 2, weights=ww[~t]))
        out.append(_Adjusted(
            outcome=name, observed=observed, non_intervention=observed - effect, effect=effect,
            cov=cov, var_intercept=v_int, var_focal_fit=float(np.average(fit**2, weights=wf)),
            var_comparison=v_comp, n_focal=n_focal))
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
    r"""Estimates in a matched sample: weighted means, optional regression adjustment.

    Without adjustment this is :func:`pbr_eval.estimators.base.weighted_difference`
    (``y ~ 1 + t`` by WLS; cluster-robust by matched set or HC3, as MatchIt's
    documentation recommends). With ``adjust=True`` the covariates, centred at
    the focal group's weighted means :math:`\bar x_1`, enter the regression
    (Ho et al. 2007): ``y ~ 1 + t + (x - xbar_1)`` with coefficients
    :math:`(\beta_0, \tau, b)`. The effect is :math:`\hat\tau`; for the ATT the
    non-intervention estimate is the observed treated mean minus it, which
    is the intercept :math:`\hat\beta_0` (the treated residuals sum to zero),
    the comparison units' regression evaluated at :math:`\bar x_1`.

    **Standard errors of the non-intervention rate (ATT).** Let :math:`V_{00}`
    be the sandwich variance of :math:`\hat\beta_0` (given the covariates);
    it comes from the comparison units' outcomes (the treated enter through
    :math:`b` only, times the imbalance left after matching). The treated
    mean :math:`\bar Y_1` is *not* a fixed number here: it is
    :math:`\hat\beta_0 + \hat\tau` and moves with :math:`\hat\tau`, so
    :math:`\mathrm{se}(\hat\tau)` is not the rate's standard error (it
    also carries the treated units' own noise and, when the effect varies
    between people, the spread of their effects).

    - The cohort's own rate, :math:`\theta_c = \frac{1}{n_1}\sum_{T=1}
      Y_i(0)` (what a commissioner pays on; the default intervals,
      ``cohort_std_error``): :math:`\hat\beta_0 - \theta_c =
      (\hat\beta_0 - \bar m_0) - \bar\varepsilon_1` with :math:`Y_i(0) =
      m_0(X_i) + \varepsilon_i`, and the participants' own noise
      :math:`\bar\varepsilon_1` is not in :math:`\hat\beta_0`, so
      :math:`\mathrm{Var} = V_{00} + \bar v_1 / n_1`. Under
      unconfoundedness :math:`\mathrm{Var}(Y(0) \mid X)` is the same in both
      groups, and the matched comparison units have the participants'
      covariate distribution, so :math:`\bar v_1` is estimated by their
      weighted mean squared residual.
    - The expected rate :math:`E[Y(0) \mid T=1]` (``target="expected"``,
      ``non_intervention_se``): the participants' covariates are a sample
      too, so :math:`\mathrm{Var} = V_{00} + \mathrm{Var}_{T=1}(\hat b'x)/n_1`.

    :math:`n_1` is Kish's effective number of focal units (the number of
    matched participants: their weights are 1). The effect's standard
    error is :math:`\sqrt{V_{\tau\tau}}`; the cohort's own effect (observed
    minus :math:`\theta_c`, the observed rate known exactly) has the
    cohort standard error. For the ATC the non-intervention estimate and its
    standard error are the effect's, as before (no cohort standard error).

    Parameters
    ----------
    cohort : Cohort
    w : numpy.ndarray
        Matching weights aligned with the cohort's rows; 0 leaves a unit out.
    subclass : numpy.ndarray, optional
        Matched set per row (-1 for none), for ``se="matched_set"``.
    se : {"matched_set", "HC3", "HC1", "HC0"}
    adjust : bool, default False
        Regression adjustment on the covariates.
    focal : numpy.ndarray of bool, optional
        The group the estimate is for (default: the treated).

    Returns
    -------
    list of OutcomeEstimate
        One per outcome.

    Examples
    --------
    >>> import pbr_eval.datasets
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> prison = pbr_eval.datasets.load_reoffending()
    >>> adjusted = NearestNeighborMatching(replace=True, ratio=2, adjust=True)
    >>> e = adjusted.fit(pbr_eval.Cohort(prison.data, **prison.cohort_args)).estimates[0]
    >>> round(e.non_intervention, 3), round(e.cohort_std_error, 3)  # the cohort's own rate
    (0.29, 0.023)
    """
    if not adjust:
        return weighted_difference(cohort, w, subclass=subclass, se=se)
    keep = w > 0
    cl, kind, se_method = matched_sample_se(se, subclass, keep)
    se_method = f"regression-adjusted; {se_method}"
    fo = cohort.t if focal is None else focal
    att = bool(np.array_equal(fo, cohort.t))
    n1 = int(cohort.t[keep].sum())
    n0 = int((~cohort.t[keep]).sum())
    out = []
    for a in _regression_adjusted(cohort, w, cluster=cl, kind=kind, focal=fo):
        se_effect = float(np.sqrt(max(a.cov[1, 1], 0.0)))
        se_ni, se_cohort, how = se_effect, float("nan"), se_method
        if att:
            se_ni = float(np.sqrt(max(a.var_intercept + a.var_focal_fit / a.n_focal, 0.0)))
            se_cohort = float(np.sqrt(max(a.var_intercept + a.var_comparison / a.n_focal, 0.0)))
            how += ("; the default intervals (the cohort's own rate and effect) add the "
                    "cohort's outcome noise, the matched comparison units' residual variance "
                    "over the participants (cohort_std_error)")
        out.append(
            OutcomeEstimate(
                outcome=a.outcome,
                outcome_type=cohort.outcome_types[a.outcome],
                n_treated=n1,
                n_comparison=n0,
                observed=a.observed,
                non_intervention=a.non_intervention,
                non_intervention_se=se_ni,
                effect=a.effect,
                std_error=se_effect,
                naive_comparison=float(cohort.y(a.outcome)[~cohort.t].mean()),
                se_method=how,
                cohort_std_error=se_cohort,
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
