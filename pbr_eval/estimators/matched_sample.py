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
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["matched_estimates", "abadie_imbens_estimates", "variance_neighbours"]


@dataclass(frozen=True)
class _Adjusted:
    """One outcome's regression adjustment in a matched sample (see :func:`_regression_adjusted`)."""

    outcome: str
    observed: float          # with the programme: the treated units' fit at the focal mean
    non_intervention: float  # without: the comparison units' fit at the focal mean
    effect: float            # observed - non_intervention
    var_effect: float        # the effect's sandwich variance (the interacted regression's)
    var_intercept: float     # the non-intervention estimate's variance given the covariates
    var_focal_fit: float     # variance over the focal units of the comparison model's fit
    var_comparison: float    # the comparison units' weighted residual variance (their own model)
    n_focal: float           # Kish's effective number of focal units


@dataclass(frozen=True)
class _GroupFit:
    """One group's own weighted regression in the matched sample (see :func:`_group_fit`)."""

    design: np.ndarray     # (1, x - xbar_g): the covariates centred at the group's own means
    coef_map: np.ndarray   # A^+: the coefficients are coef_map @ (sqrt(w) y)
    at_focal: np.ndarray   # weights c on the group's outcomes: its fit at the focal mean is c'y
    leverage: np.ndarray   # h_i = w_i z_i'(Z'WZ)^+ z_i
    inflation: np.ndarray  # 1 - 2 h_i + q_i: the residual's variance over the outcome's
    rank: int              # columns the fit could identify


def _group_fit(X: np.ndarray, w: np.ndarray, xbar_focal: np.ndarray) -> _GroupFit:
    """One group's WLS of the outcome on its own centred covariates, linear in its outcomes.

    With ``z_i = (1, x_i - xbar_g)``, the covariates centred at the group's own weighted
    means, the intercept column is orthogonal to the others (``sum_i w_i (x_i - xbar_g) =
    0``), so the intercept is the group's weighted mean outcome and the slopes ``b`` come
    from the centred block alone: minimum-norm (``Z'WZ``'s pseudo-inverse) when a covariate
    is constant in the group or two are collinear (a direction the group's data cannot
    estimate is then not adjusted along). The fit at the focal mean,
    ``ybar_g + (xbar_f - xbar_g)'b``, is ``c'y`` with
    ``c_i = w_i (1, xbar_f - xbar_g)'(Z'WZ)^+ z_i``.

    Each unit's outcome has its own noise (a comparison unit used several times is one
    person, its matching weight ``w`` a count of uses), so the residual ``r_i`` has
    variance ``v (1 - 2 h_i + q_i)``, ``h_i = w_i z_i'(Z'WZ)^+ z_i``,
    ``q_i = z_i'(Z'WZ)^+ (sum_j w_j^2 z_j z_j') (Z'WZ)^+ z_i`` (HC2's leverage correction
    for such weights: heavily reused units pull the fit towards them).
    """
    W = float(w.sum())
    mean_x = (w @ X) / W
    sw = np.sqrt(w)
    Z = np.column_stack([np.ones(w.size), X - mean_x])
    U, sv, Vt = np.linalg.svd(Z * sw[:, None], full_matrices=False)
    ok = sv > sv.max() * max(Z.shape) * np.finfo(float).eps
    U, sv, Vt = U[:, ok], sv[ok], Vt[ok]
    coef_map = (Vt.T / sv) @ U.T
    at_focal = sw * (np.r_[1.0, xbar_focal - mean_x] @ coef_map)
    P = (Z @ Vt.T) / sv  # z_i'(Z'WZ)^+ z_j = P_i . P_j
    h = w * np.einsum("ij,ij->i", P, P)
    Pw = P * w[:, None]
    q = np.einsum("ij,ij->i", P @ (Pw.T @ Pw), P)
    return _GroupFit(design=Z, coef_map=coef_map, at_focal=at_focal, leverage=h,
                     inflation=np.maximum(1 - 2 * h + q, 1e-12), rank=int(ok.sum()))


def _sandwich_of_linear(d: np.ndarray, e: np.ndarray, h: np.ndarray, *,
                        cluster: np.ndarray | None, kind: str, k: int) -> float:
    """Robust variance of ``d'y``, a coefficient of a WLS fit with residuals ``e``.

    A WLS coefficient is ``d'y`` with ``d = w_i (Z'WZ)^-1 z_i`` (its row), so its sandwich
    variance is ``sum_i d_i^2 e_i^2`` (HC0), the same with ``e_i / (1 - h_i)`` (HC3) or
    times ``n / (n - k)`` (HC1), and ``G/(G-1) (n-1)/(n-k) sum_g (sum_{i in g} d_i e_i)^2``
    by cluster (``sandwich::vcovCL``'s HC1): the diagonal entry of
    :func:`pbr_eval.inference.sandwich.wls_sandwich`'s covariance, here also for a
    rank-deficient design (``k`` its rank). HC3 is NaN when a unit has leverage 1 (it
    alone determines a coefficient of its group's regression, e.g. the only participant
    with some category: its residual is 0 and its term 0/0), as in ``sandwich::vcovHC``.
    """
    n = d.size
    if cluster is None:
        if kind == "HC3" and np.any(1 - h < 1e-9):
            return float("nan")  # a unit fits its group's regression alone: HC3 is 0/0
        u = d * e / (1 - h) if kind == "HC3" else d * e
        v = float(u @ u)
        return v * n / (n - k) if kind == "HC1" else v
    _, g = np.unique(cluster, return_inverse=True)
    n_g = int(g.max()) + 1
    v = float(np.sum(np.bincount(g, weights=d * e) ** 2))
    return v * n_g / max(n_g - 1, 1) * (n - 1) / (n - k) if kind == "HC1" else v


def _regression_adjusted(
    cohort: Cohort, w: np.ndarray, *, cluster: np.ndarray | None, kind: str, focal: np.ndarray
) -> list[_Adjusted]:
    """Each group's own WLS on the covariates in the matched sample, at the focal group's means.

    The g-computation of MatchIt's "Estimating Effects After Matching" (the outcome
    regression with the treatment interacted with every covariate, its predictions
    averaged over the focal group): the comparison units' own regression evaluated at the
    focal units' weighted covariate means is the non-intervention estimate, the treated
    units' own regression there the estimate with the programme (for the ATT simply the
    treated units' weighted mean), the effect their difference, which is the coefficient
    on ``t`` in ``y ~ t * (x - xbar_f)``. Also returned: the effect's sandwich variance
    and the pieces of the non-intervention rate's variance (see :func:`matched_estimates`).
    """
    keep = w > 0
    t = cohort.t[keep]
    ww = w[keep]
    Xc = cohort.X[keep]
    f = focal[keep]
    wf = ww[f]
    xbar = (wf @ Xc[f]) / wf.sum()
    n_focal = float(wf.sum() ** 2 / (wf @ wf))
    fits = {g: _group_fit(Xc[sel], ww[sel], xbar) for g, sel in ((True, t), (False, ~t))}
    c = np.empty(t.size)  # the non-intervention estimate is c'y: comparison units only
    c[~t], c[t] = fits[False].at_focal, 0.0
    d = np.empty(t.size)  # the effect is d'y
    d[t], d[~t] = fits[True].at_focal, -fits[False].at_focal
    lev = np.empty(t.size)
    infl = np.empty(t.size)
    for g, sel in ((True, t), (False, ~t)):
        lev[sel], infl[sel] = fits[g].leverage, fits[g].inflation
    rank = fits[True].rank + fits[False].rank
    if cluster is not None:
        _, codes = np.unique(cluster, return_inverse=True)
        n_cl = int(codes.max()) + 1
    out: list[_Adjusted] = []
    for name in cohort.outcomes:
        y = cohort.y(name)[keep]
        e = np.empty(t.size)
        slope0 = np.zeros(Xc.shape[1])
        for g, sel in ((True, t), (False, ~t)):
            fit = fits[g]
            coef = fit.coef_map @ (np.sqrt(ww[sel]) * y[sel])
            e[sel] = y[sel] - fit.design @ coef
            if not g:
                slope0 = coef[1:]
        observed = float(fits[True].at_focal @ y[t])
        non_int = float(fits[False].at_focal @ y[~t])
        r = e / np.sqrt(infl)  # each residual scaled to its outcome's variance
        if cluster is None:
            v_int = float((c * c) @ (r * r))
        else:
            v_int = float(np.sum(np.bincount(codes, weights=c * r) ** 2)) * n_cl / max(n_cl - 1, 1)
        comp_fit = (Xc[f] - xbar) @ slope0  # the comparison model's fit, centred at the focal mean
        out.append(_Adjusted(
            outcome=name, observed=observed, non_intervention=non_int,
            effect=observed - non_int,
            var_effect=_sandwich_of_linear(d, e, lev, cluster=cluster, kind=kind, k=rank),
            var_intercept=v_int, var_focal_fit=float(np.average(comp_fit**2, weights=wf)),
            var_comparison=float(np.average(r[~t] ** 2, weights=ww[~t])), n_focal=n_focal))
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
    documentation recommends). With ``adjust=True`` it is the g-computation that
    MatchIt's guide "Estimating Effects After Matching" recommends: the outcome
    regression with the treatment interacted with every covariate,
    ``y ~ t * x`` by WLS with the matching weights, its predictions averaged over
    the focal group. For the ATT that is: the matched comparison units' *own*
    weighted regression :math:`\hat m_0(x) = \hat a + \hat b'(x - \bar x_1)`
    evaluated at the participants' weighted covariate means :math:`\bar x_1`,
    the non-intervention estimate :math:`\hat\mu_0 = \hat a`; the participants'
    own regression there is their weighted mean :math:`\bar Y_1` (the observed
    rate), and the effect is :math:`\hat\tau = \bar Y_1 - \hat\mu_0`, the
    coefficient on ``t`` in ``y ~ t * (x - xbar_1)``. For the ATC (focal: the
    comparison units) the mirror: the non-intervention estimate is the comparison
    units' weighted mean, the treated units' own regression at the comparison
    units' means is the rate with the programme, and the effect their difference.

    Version 0.1 fitted one regression ``y ~ 1 + t + (x - xbar_1)`` (Ho et al.
    2007), whose covariate slope is shared by both groups. When the effect varies
    with the covariates that slope mixes the participants' slopes (which carry the
    variation of the effect) into the prediction of their outcomes without the
    programme, in proportion to the imbalance left after matching: bias +0.100
    with 1:1 matching without replacement from a pool of 1.5 comparison people per
    participant (``benchmarks/validate_matching_heterogeneous.py``). Each group's
    own slope removes it.

    **The estimate is linear in the comparison outcomes.** With the comparison
    units' covariates centred at their own weighted means, :math:`z_j = (1, x_j -
    \bar x_0)` and :math:`A = \sum_{T=0} w_j z_j z_j'`,
    :math:`\hat\mu_0 = \sum_{T=0} c_j Y_j`,
    :math:`c_j = w_j\,(1, \bar x_1 - \bar x_0)' A^{+} z_j` (the intercept is the
    weighted mean; :math:`A^{+}`, the pseudo-inverse, leaves a direction the
    comparison units cannot estimate, such as a covariate constant among them,
    unadjusted). Likewise :math:`\hat\tau = \sum_i d_i Y_i` with :math:`d_i =
    w_i / W_1` for the participants and :math:`d_j = -c_j` for the comparison units.

    **The effect's standard error** is :math:`\hat\tau`'s sandwich in the
    interacted regression (what MatchIt's guide computes with
    ``marginaleffects::avg_comparisons``): :math:`\sum_i d_i^2 \hat e_i^2` with
    :math:`\hat e_i` each unit's residual from its own group's regression, divided
    by :math:`1 - h_i` (HC3, :math:`h_i` the leverage in its group), times
    :math:`n/(n-k)` (HC1), or by matched set
    :math:`\frac{G}{G-1}\frac{n-1}{n-k}\sum_g (\sum_{i \in g} d_i \hat e_i)^2`.

    **Standard errors of the non-intervention rate (ATT).** The treated mean
    :math:`\bar Y_1` is *not* a fixed number here: it is :math:`\hat\mu_0 +
    \hat\tau` and moves with :math:`\hat\tau`, so :math:`\mathrm{se}(\hat\tau)`
    is not the rate's standard error (it carries the participants' outcomes
    *with* the programme around their own regression, and the spread of their
    effects that the covariates do not explain; the single-slope regression's
    also carried the part they do explain). Given the covariates, :math:`\hat\mu_0 - \bar m_0 = \sum_{T=0} c_j
    \varepsilon_j` with :math:`\bar m_0 = m_0(\bar x_1)` for a linear
    :math:`m_0`, so :math:`V_{00} = \sum_{T=0} c_j^2 v_j` (each comparison person
    once, however often matched: the weight is in :math:`c_j`). :math:`v_j` is
    estimated by :math:`r_j^2`, the residual of the comparison units' own
    regression divided by its variance factor :math:`1 - 2h_j + q_j` (HC2's
    correction for weights that count reuses; see :func:`_group_fit`); by matched
    set :math:`V_{00} = \frac{G}{G-1}\sum_g (\sum_{j \in g} c_j r_j)^2`.

    - The cohort's own rate, :math:`\theta_c = \frac{1}{n_1}\sum_{T=1}
      Y_i(0)` (what a commissioner pays on; the default intervals,
      ``cohort_std_error``): :math:`\hat\mu_0 - \theta_c =
      (\hat\mu_0 - \bar m_0) - \bar\varepsilon_1` with :math:`Y_i(0) =
      m_0(X_i) + \varepsilon_i`, and the participants' own noise
      :math:`\bar\varepsilon_1` is not in :math:`\hat\mu_0`, so
      :math:`\mathrm{Var} = V_{00} + \bar v_1 / n_1`. Under
      unconfoundedness :math:`\mathrm{Var}(Y(0) \mid X)` is the same in both
      groups, and the matched comparison units have the participants'
      covariate distribution, so :math:`\bar v_1` is estimated by their
      weighted mean of :math:`r_j^2`.
    - The expected rate :math:`E[Y(0) \mid T=1]` (``target="expected"``,
      ``non_intervention_se``): the participants' covariates are a sample
      too, so :math:`\mathrm{Var} = V_{00} + \mathrm{Var}_{T=1}(\hat b'x)/n_1`.

    :math:`n_1` is Kish's effective number of focal units (the number of
    matched participants: their weights are 1). The cohort's own effect
    (observed minus :math:`\theta_c`, the observed rate known exactly) has the
    cohort standard error. For the ATC the non-intervention estimate is the
    comparison units' weighted mean (:math:`c_j = w_j / W_0`) and its standard
    error the expected rate's formula above with the comparison units as the focal
    group (:math:`V_{00}` plus the variance of their own fit over them, about
    :math:`\mathrm{Var}(Y \mid T=0)/n_0`); there is no cohort standard error.

    Limitations: the slopes are linear in the covariates as given (add
    transformed columns to the cohort for curvature); a group with fewer units
    than covariates is fitted by the pseudo-inverse, and a unit with leverage 1
    in its group makes the effect's HC3 standard error undefined (NaN, said in
    ``se_method``; the cohort and expected-rate standard errors remain, but that
    unit's own noise is not estimable and adds nothing to them).

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
        se_effect = float(np.sqrt(max(a.var_effect, 0.0))) if np.isfinite(a.var_effect) \
            else float("nan")
        se_ni = float(np.sqrt(max(a.var_intercept + a.var_focal_fit / a.n_focal, 0.0)))
        se_cohort, how = float("nan"), se_method
        if att:
            se_cohort = float(np.sqrt(max(a.var_intercept + a.var_comparison / a.n_focal, 0.0)))
            how += ("; the default intervals (the cohort's own rate and effect) add the "
                    "cohort's outcome noise, the matched comparison units' residual variance "
                    "over the participants (cohort_std_error)")
        if not np.isfinite(se_effect):
            how += ("; the effect's HC3 standard error is undefined: a unit alone determines "
                    "a coefficient of its group's regression (leverage 1, e.g. the only one "
                    "with some category); use se='HC1' or fewer covariates for it")
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
