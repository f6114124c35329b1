"""Cross-fitted doubly robust estimation of the non-intervention rate of the treated.

``estimate(cohort, method="aipw", cross_fit=5, propensity=..., outcome_model=...)``:
the nuisance models (any scikit-learn classifier and regressor) are fitted on K - 1
folds and predict the K-th, so their own estimation does not bias the standard error
(Chernozhukov et al. 2018). The numbers are pure functions, checked against DoubleML's
ATTE score on the same folds (``tests/reference/doubleml/``). Interval coverage in
simulation: ``benchmarks/validate_crossfit.py`` (wrong main-effects models against flexible
learners) and, below ``options.FEW_CLUSTERS`` clusters, where the effect's interval is the
wild cluster restricted score bootstrap's (:func:`fit_crossfit`),
``benchmarks/validate_weighting_few_clusters.py``; both in ``docs/weighting.md``.

References
----------
Chernozhukov, V., Chetverikov, D., Demirer, M., Duflo, E., Hansen, C., Newey, W. & Robins, J.
(2018). Double/debiased machine learning for treatment and structural parameters. The
Econometrics Journal 21(1), C1-C68.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._att import reject_panel, resolve_se
from pbr_eval.estimators._outcome_se import (
    CohortNoise,
    few_cluster_estimate,
    note_few_clusters,
    outcome_estimate,
    uses_wild,
)
from pbr_eval.estimators.base import base_info, weights_series
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["CrossFit", "crossfit_folds", "aipw_att_crossfit", "aggregate_repetitions",
           "fit_crossfit", "crossfit_learners"]


@dataclass(frozen=True)
class CrossFit:
    """One cross-fitted ATT estimate.

    Attributes
    ----------
    effect, effect_se : float
        The ATT and its standard error.
    mu0, mu0_se : float
        The non-intervention rate of the treated and its standard error.
    phi_effect, phi_mu0 : numpy.ndarray
        Influence functions (``theta_hat - theta ~= sum_i phi_i``).
    g0, ps : numpy.ndarray, optional
        The out-of-fold comparison-outcome predictions and (clipped) propensity scores.

    Examples
    --------
    >>> import numpy as np
    >>> CrossFit(0.1, 0.02, 0.3, 0.03, np.zeros(1), np.zeros(1)).effect
    0.1
    """

    effect: float
    effect_se: float
    mu0: float
    mu0_se: float
    phi_effect: np.ndarray
    phi_mu0: np.ndarray
    g0: np.ndarray | None = None
    ps: np.ndarray | None = None


def crossfit_folds(t: np.ndarray, k: int, *, seed: int | None,
                   cluster: np.ndarray | None = None) -> np.ndarray:
    """Fold of each row: stratified by treatment, or whole clusters to a fold.

    Parameters
    ----------
    t : numpy.ndarray of bool
    k : int
        Number of folds.
    seed : int or None
    cluster : numpy.ndarray, optional
        Cluster label per row: every row of a cluster goes to the same fold.

    Returns
    -------
    numpy.ndarray of int
        The fold (0 to k - 1) of each row.

    Examples
    --------
    >>> import numpy as np
    >>> f = crossfit_folds(np.array([True, False] * 10), 5, seed=1)
    >>> sorted(np.bincount(f).tolist())
    [4, 4, 4, 4, 4]
    """
    rng = np.random.default_rng(seed)
    fold = np.empty(t.size, dtype=int)
    if cluster is None:
        for g in (False, True):
            idx = np.flatnonzero(t == g)
            fold[idx] = rng.permutation(np.arange(idx.size) % k)
        return fold
    labels, codes = np.unique(np.asarray(cluster), return_inverse=True)
    by_cluster = rng.permutation(np.arange(labels.size) % k)
    return by_cluster[codes]


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        classes = list(getattr(model, "classes_", [0, 1]))
        return np.asarray(model.predict_proba(X))[:, classes.index(1)]
    return np.asarray(model.predict(X), dtype=float)


def aipw_att_crossfit(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    propensity: Any,
    outcome: Any,
    folds: np.ndarray,
    *,
    clip: float | tuple[float, float] = 0.01,
) -> CrossFit:
    r"""Cross-fitted AIPW for the ATT and the non-intervention rate of the treated.

    Parameters
    ----------
    y, t, X : numpy.ndarray
    propensity : scikit-learn classifier
        Cloned and fitted on each training fold.
    outcome : scikit-learn regressor (or classifier for a binary outcome)
        Cloned and fitted on each training fold's comparison units.
    folds : numpy.ndarray of int
        Fold of each row (:func:`crossfit_folds`).
    clip : float or (lo, hi), default 0.01
        Scores are clipped to ``[clip, 1 - clip]`` (DoubleML's default) or ``[lo, hi]``.

    Returns
    -------
    CrossFit

    Notes
    -----
    With out-of-fold :math:`\hat m(x)` (propensity) and :math:`\hat g_0(x)`
    (comparison outcome), :math:`\hat\theta = \sum_i [T_i(Y_i - \hat g_{0,i}) -
    \hat m_i(1-T_i)(Y_i - \hat g_{0,i})/(1-\hat m_i)] / \sum_i T_i` (DoubleML's
    ATTE score, ``normalize_ipw=False``) and its influence
    :math:`\psi_i / n_1` with :math:`\psi_i` the score minus :math:`T_i\hat\theta`;
    the non-intervention rate is the treated mean minus :math:`\hat\theta`.
    The standard error treats the out-of-fold predictions as fixed (valid
    for flexible learners that converge fast enough; Chernozhukov et al. 2018).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); t = rng.random(400) < 0.4
    >>> y = X[:, 0] + t + rng.normal(size=400)
    >>> r = aipw_att_crossfit(y, t, X, LogisticRegression(), LinearRegression(),
    ...                       crossfit_folds(t, 5, seed=1))
    >>> abs(r.effect - 1) < 3 * r.effect_se
    True
    """
    from sklearn.base import clone  # scikit-learn only when cross-fitting

    n = t.size
    m = np.empty(n)
    g0 = np.empty(n)
    for k in np.unique(folds):
        test, train = folds == k, folds != k
        pm = clone(propensity).fit(X[train], t[train].astype(int))
        m[test] = _predict(pm, X[test])
        c = train & ~t
        om = clone(outcome).fit(X[c], y[c])
        g0[test] = _predict(om, X[test])
    lo, hi = (clip, 1 - clip) if isinstance(clip, float) else clip
    m = np.clip(m, lo, hi)
    d = t.astype(float)
    n1 = d.sum()
    u0 = y - g0
    score = d * u0 - m * (1 - d) * u0 / (1 - m)
    theta = float(score.sum() / n1)
    phi = (score - d * theta) / n1
    mu1 = float(d @ y / n1)
    phi1 = d * (y - mu1) / n1
    phi0 = phi1 - phi
    return CrossFit(theta, float(np.sqrt(phi @ phi)), mu1 - theta, float(np.sqrt(phi0 @ phi0)),
                    phi, phi0, g0, m)


def aggregate_repetitions(effects: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """Combine repeated cross-fits by the median rule (DoubleML 0.11's).

    The estimate is the median of the repetitions' estimates; the standard
    error is read back from the median of their upper 95% limits,
    ``(median(theta_r + 1.96 se_r) - median(theta_r)) / 1.96``.

    Parameters
    ----------
    effects, ses : numpy.ndarray
        Each repetition's estimate and standard error.

    Returns
    -------
    tuple of float
        The estimate and its standard error.

    Examples
    --------
    >>> import numpy as np
    >>> theta, se = aggregate_repetitions(np.array([1.0, 3.0, 2.0]), np.array([0.5, 0.1, 0.2]))
    >>> theta, round(se, 6)
    (2.0, 0.2)
    """
    theta = float(np.median(effects))
    upper = float(np.median(effects + 1.96 * ses))
    return theta, (upper - theta) / 1.96


def crossfit_learners(propensity: Any, outcome_model: Any, outcome_type: str) -> tuple[Any, Any]:
    """Return the scikit-learn learners behind ``propensity=`` and ``outcome_model=`` when cross-fitting.

    ``"logit"`` is an unpenalised logistic regression; ``"auto"`` the
    outcome type's main-effects GLM (linear; logistic for a yes/no outcome;
    Poisson for a count), ``"linear"``, ``"logistic"`` and ``"poisson"``
    those GLMs; a scikit-learn estimator is used as given (cloned per fold).

    Parameters
    ----------
    propensity, outcome_model : str or scikit-learn estimator
    outcome_type : {"binary", "count", "continuous"}

    Returns
    -------
    tuple
        The classifier and the regressor (or classifier, for a yes/no outcome).

    Raises
    ------
    OptionError
        ``propensity="probit"`` (no scikit-learn probit).

    Examples
    --------
    >>> m, g = crossfit_learners("logit", "auto", "binary")
    >>> type(m).__name__, type(g).__name__
    ('LogisticRegression', 'LogisticRegression')
    """
    from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor

    if isinstance(propensity, str):
        if propensity != "logit":
            raise OptionError(
                f"`propensity={propensity!r}` cannot be cross-fitted; use 'logit' or a "
                "scikit-learn classifier (e.g. RandomForestClassifier()), or cross_fit=None.")
        propensity = LogisticRegression(penalty=None, max_iter=1000)
    if isinstance(outcome_model, str):
        kind = outcome_model if outcome_model != "auto" else {
            "binary": "logistic", "count": "poisson"}.get(outcome_type, "linear")
        outcome_model = {"linear": LinearRegression(),
                         "logistic": LogisticRegression(penalty=None, max_iter=1000),
                         "poisson": PoissonRegressor(alpha=0.0, max_iter=1000)}[kind]
    return propensity, outcome_model


def fit_crossfit(est: Any, cohort: Cohort) -> CounterfactualResults:
    r"""Fit ``aipw`` with ``cross_fit=K``: cross-fitted AIPW for the ATT, every outcome.

    Folds are stratified by treatment, or whole clusters with ``se="cluster"``
    (or ``"auto"`` on a cohort with a cluster); ``repetitions`` repeated splits are
    combined by the median rule (:func:`aggregate_repetitions`), for the
    non-intervention rate as for the effect.

    Few clusters: with ``se="auto"`` and fewer than ``few_clusters`` clusters,
    each split's effect interval is the wild cluster restricted (score)
    bootstrap's, as for ``aipw`` without cross-fitting
    (:func:`~pbr_eval.estimators._outcome_se.few_cluster_estimate`). The
    estimate is the working regression's coefficient with working outcome
    :math:`Y_i - \hat g_{0,i}` (treated) and :math:`\kappa (Y_i - \hat g_{0,i})`
    (comparison), weights 1 and the odds :math:`\hat m_i / (1 - \hat m_i)`,
    where :math:`\kappa = \sum_C \text{odds} / n_1` turns the odds-weighted
    mean into DoubleML's unnormalised sum over :math:`n_1`; the score offsets
    make each unit's influence the cross-fit's own :math:`\phi_i`. The
    out-of-fold predictions (and the folds) are held fixed, not refitted in
    each draw, as the other estimators' nuisance models are not. With
    ``repetitions`` each split's interval-implied standard error enters the
    median rule, and ``info["few_clusters"]`` keeps the first split's record
    (every split's under ``"repetitions"``). Coverage over 12 areas:
    ``benchmarks/validate_weighting_few_clusters.py`` (``docs/weighting.md``).

    The default intervals are for the cohort's own rate
    :math:`\theta_c = \frac{1}{n_1}\sum_{T=1} Y_i(0)`: the treated units'
    influence on :math:`\hat\mu_0` is :math:`(\hat g_0(X_i) - \hat\mu_0)/n_1`, so
    (as for the regression-type estimators,
    :func:`~pbr_eval.estimators._outcome_se.cohort_variance`) its variance is the
    comparison units' influences squared plus :math:`\bar v_1 / n_1`, with
    :math:`\bar v_1` the odds-weighted mean squared out-of-fold residual of the
    comparison units (their outcome noise reweighted to the participants).

    Parameters
    ----------
    est : AugmentedIPW
        With ``cross_fit`` set.
    cohort : Cohort

    Returns
    -------
    CounterfactualResults
        ``extras["crossfit"]`` holds each repetition's estimates.

    Raises
    ------
    OptionError
        A panel cohort; ``se="cluster"`` without a cluster; fewer units in a group
        than folds.
    EstimationError
        A learner that cannot be fitted on a training fold.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets._designs import simulate_design
    >>> toy = simulate_design("correct", n_treated=100, seed=2)
    >>> aipw = pbr_eval.estimators.ESTIMATORS["aipw"](cross_fit=3, seed=1)
    >>> res = fit_crossfit(aipw, pbr_eval.Cohort(toy.data, **toy.cohort_args))
    >>> res.info["cross_fit"], res.estimates[0].se_method.split(" (")[0]
    (3, 'cross-fitted influence function')
    """
    reject_panel(cohort, est.method)
    se, cl = resolve_se(est.se, cohort)
    t = cohort.t
    K = est.cross_fit
    for g, label in ((t, "programme participants"), (~t, "comparison people")):
        if int(g.sum()) < K:
            raise OptionError(f"`cross_fit={K}` needs at least {K} {label}; this cohort has "
                              f"{int(g.sum())}. Use fewer folds.")
    if cl is not None and np.unique(cl).size < K:
        raise OptionError(f"`cross_fit={K}` with clusters needs at least {K} clusters; this "
                          f"cohort has {np.unique(cl).size}. Use fewer folds or se='robust'.")
    clip = est.clip if est.clip is not None else 0.01
    X = cohort.X
    root = np.random.SeedSequence(est.seed)
    seeds = root.spawn(est.repetitions)
    folds = [crossfit_folds(t, K, seed=int(s.generate_state(1)[0]), cluster=cl) for s in seeds]
    wild = uses_wild(est.se, cl, est.few_clusters)
    # the wild bootstrap's draws (when not all enumerated): one stream per outcome and split,
    # spawned after the folds' (which they leave unchanged); seed 0 when None, as for aipw
    streams = (root if est.seed is not None else np.random.SeedSequence(0)).spawn(
        len(cohort.outcomes) * est.repetitions)
    few: dict[str, dict[str, Any]] = {}
    estimates, reps, w = [], {}, np.ones(t.size)
    for j, name in enumerate(cohort.outcomes):
        otype = cohort.outcome_types[name]
        m_learner, g_learner = crossfit_learners(est.propensity, est.outcome_model, otype)
        y = cohort.y(name)
        fits = []
        for f in folds:
            try:
                fits.append(aipw_att_crossfit(y, t, X, m_learner, g_learner, f, clip=clip))
            except ValueError as err:
                raise EstimationError(
                    f"cross-fitting could not fit a learner for '{name}': {err}. Check the "
                    "learners, or use fewer folds.") from err
        rows, records = [], []
        for r, fit in enumerate(fits):
            assert fit.g0 is not None and fit.ps is not None
            odds = fit.ps / (1 - fit.ps)
            c = ~t
            resid2 = (y - fit.g0) ** 2
            v_bar = float(odds[c] @ resid2[c] / odds[c].sum())
            n1 = float(t.sum())
            noise = CohortNoise(t, c, y, fit.g0, np.full(t.size, v_bar),
                                np.where(c, odds / n1, 0.0), None)
            mu1 = float(y[t].mean())
            row = outcome_estimate(
                name, otype, fit.mu0, mu1, fit.phi_mu0, fit.phi_mu0 + fit.phi_effect,
                cluster=cl, n_treated=int(t.sum()), n_comparison=int((~t).sum()),
                naive=float(y[~t].mean()), se_method="", noise=noise)
            if wild:
                # the ATT is the treated units' mean out-of-fold residual minus the comparison
                # units' odds-weighted sum over n1 (DoubleML's unnormalised score): with the
                # comparison residuals times kappa = sum_C odds / n1 it is the working
                # regression's coefficient (its odds-weighted mean); nuisance values fixed
                assert cl is not None
                u0 = y - fit.g0
                kappa = float(odds[c].sum()) / n1
                row, rec = few_cluster_estimate(
                    row, np.where(t, u0, kappa * u0), t, np.where(c, odds, 0.0),
                    fit.phi_effect, cl, few_clusters=est.few_clusters,
                    seed=streams[j * est.repetitions + r], noise=noise)
                records.append(rec)
            rows.append(row)
        if records:
            few[name] = records[0] if len(records) == 1 else {
                **records[0], "repetitions": records}
        combined = {}
        for attr in ("non_intervention", "effect"):
            se_attr = {"non_intervention": "non_intervention_se", "effect": "std_error"}[attr]
            combined[attr], combined[se_attr] = aggregate_repetitions(
                np.array([getattr(r, attr) for r in rows]),
                np.array([getattr(r, se_attr) for r in rows]))
        _, combined["cohort_std_error"] = aggregate_repetitions(
            np.array([r.non_intervention for r in rows]),
            np.array([r.cohort_std_error for r in rows]))
        first = rows[0]
        estimates.append(OutcomeEstimate(
            outcome=name, outcome_type=otype, n_treated=first.n_treated,
            n_comparison=first.n_comparison, observed=first.observed,
            non_intervention=combined["non_intervention"],
            non_intervention_se=combined["non_intervention_se"],
            effect=first.observed - combined["non_intervention"],
            std_error=combined["std_error"], naive_comparison=first.naive_comparison,
            se_method=(f"cross-fitted influence function ({K} folds"
                       + (f", {est.repetitions} repeated splits, median rule" if est.repetitions > 1
                          else "") + ("; cluster-robust, whole clusters to a fold" if cl is not None
                                      else "")
                       + "; DoubleML's ATTE score); the default intervals (the cohort's own rate "
                       "and effect) add the cohort's outcome noise from the out-of-fold residuals "
                       "(cohort_std_error)"
                       + "".join(first.se_method.partition("; interval of the effect")[1:])
                       + ("; each split's bootstrap standard error in the median rule"
                          if records and est.repetitions > 1 else "")),
            cohort_std_error=combined["cohort_std_error"]))
        reps[name] = [{"non_intervention": r.non_intervention, "non_intervention_se":
                       r.non_intervention_se, "effect": r.effect, "std_error": r.std_error}
                      for r in rows]
        ps = fits[0].ps
        assert ps is not None
        w = np.where(t, 1.0, ps / (1 - ps))
    w[~t] *= t.sum() / w[~t].sum()
    balance = BalanceTable(X, cohort.design_columns, t, w, cohort.binary_columns)
    info = base_info(cohort, est, seed=est.seed)
    info.update({"estimand": "ATT", "se": se, "cross_fit": K, "repetitions": est.repetitions,
                 "effective_sample_size": balance.effective_sample_size()})
    note_few_clusters(info, few, est.few_clusters)
    return CounterfactualResults(
        method=est.method, estimand="ATT", estimates=estimates,
        weights=weights_series(cohort, w), balance=balance, info=info,
        extras={"crossfit": reps})
