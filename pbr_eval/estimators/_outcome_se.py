r"""From influence functions to an :class:`~pbr_eval.results.counterfactual.OutcomeEstimate`.

The standard errors the weighting, regression and doubly robust estimators
share: :func:`outcome_estimate` (the expected-rate SEs from the influence
functions, and the cohort's own-rate SE), :func:`cohort_variance` with the
cohort's own outcome noise (:class:`CohortNoise`), the working outcome model
that ipw and entropy use for it (:func:`working_outcome_model`) and
g-computation's (:func:`regression_noise`). Below
:mod:`~pbr_eval.estimators.weighting`, :mod:`~pbr_eval.estimators.regression`
and :mod:`~pbr_eval.estimators._population`, which all import it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.design import design_matvec, design_rmatvec, row_blocks
from pbr_eval.inference.influence import influence_covariance
from pbr_eval.inference.wild import wild_cluster_interval
from pbr_eval.models.glm import canonical_mean, canonical_slope, logistic_mean
from pbr_eval.models.outcome import (
    FAMILY_FOR_TYPE,
    OutcomeFit,
    conditional_variance,
    fit_outcome,
    mean_derivative,
)
from pbr_eval.options import DEFAULT_LEVEL, check_int, check_seed
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["CohortNoise", "cohort_variance", "outcome_estimate", "working_outcome_model",
           "regression_noise", "regression_y_weights", "few_cluster_options", "uses_wild",
           "working_regression", "noise_terms",
           "few_cluster_estimate", "own_noise_variance", "note_few_clusters", "wild_streams"]


@dataclass(frozen=True)
class CohortNoise:
    r"""What :func:`cohort_variance` needs to know about the cohort's own outcome noise.

    Attributes
    ----------
    treated : numpy.ndarray of bool
        The treated units the estimate is for (after any trimming).
    comparison : numpy.ndarray of bool
        The comparison units the outcome model was fitted on.
    y : numpy.ndarray
        The outcome, every row.
    m0, v0 : numpy.ndarray
        For every row, the comparison-group outcome model's mean
        :math:`m_0(x) = E[Y \mid X = x, T = 0]` and variance
        :math:`v(x) = \mathrm{Var}(Y \mid X = x, T = 0)` (a constant variance may be a
        read-only broadcast view).
    y_weights : numpy.ndarray
        :math:`c_j = \partial\hat\mu_0 / \partial y_j`, the weight of each
        comparison unit's outcome in the estimate (0 for other rows); used
        only with a ``cluster``.
    dm : numpy.ndarray or None
        :math:`\dot m(x) = dm_0/d\eta` for every row (how a shared shift of
        the model's linear predictor moves the mean); ``None`` means 1
        (additive, linear model). Used only with a ``cluster``.
    """

    treated: np.ndarray
    comparison: np.ndarray
    y: np.ndarray
    m0: np.ndarray
    v0: np.ndarray
    y_weights: np.ndarray
    dm: np.ndarray | None = None


def cohort_variance(
    phi0: np.ndarray, mu0: float, noise: CohortNoise, *, cluster: np.ndarray | None
) -> float:
    r"""Variance of :math:`\hat\mu_0` as an estimate of the cohort's own rate.

    Parameters
    ----------
    phi0 : numpy.ndarray
        Influence function of :math:`\hat\mu_0` (every row).
    mu0 : float
        The estimate.
    noise : CohortNoise
    cluster : numpy.ndarray or None
        Cluster label per row (cluster-robust version below).

    Returns
    -------
    float
        NaN when the outcome model's mean or variance is not finite for a
        treated unit.

    Notes
    -----
    The cohort's own rate is :math:`\theta_c = \frac{1}{n_1}\sum_{T=1}
    Y_i(0)`. Write :math:`Y_i(0) = m_0(X_i) + \varepsilon_i`. Then
    :math:`\theta_c - \mu_0 = \frac{1}{n_1}\sum_{T=1} (m_0(X_i) - \mu_0) +
    \frac{1}{n_1}\sum_{T=1}\varepsilon_i`, and the treated units' own noise
    :math:`\varepsilon_i` does not enter :math:`\hat\mu_0` (which uses
    the treated units' covariates only), so with
    :math:`a_i = \phi_{0,i} - T_i (m_0(X_i) - \hat\mu_0)/n_1`

    .. math::

        \mathrm{Var}(\hat\mu_0 - \theta_c) \approx \sum_i a_i^2
        + \frac{1}{n_1^2}\sum_{T=1} v(X_i)
        = \sum_i \phi_{0,i}^2 + \frac{\sigma^2}{n_1} - 2C ,

    :math:`C = \frac{1}{n_1}\sum_{T=1}\phi_{0,i}(m_0(X_i) - \hat\mu_0)`,
    :math:`\sigma^2 = \overline{(m_0 - \hat\mu_0)^2}_T + \bar v_T`, the
    variance of :math:`Y(0)` among the treated. For regression-type
    estimators (whose treated influence is :math:`(m_0 - \mu_0)/n_1`) the
    :math:`a_i` are the comparison-side influences and the variance is
    their sum of squares plus :math:`\bar v_T / n_1`. The cohort's observed
    rate is known exactly, so the cohort effect (observed minus
    :math:`\theta_c`) has the same standard error.

    With a ``cluster`` (treated and comparison units may share clusters),
    let the noise have a cluster part, a shift :math:`u_g` of the outcome
    model's linear predictor shared by every unit of cluster :math:`g`
    (treated or not), variance :math:`\tau^2`: to first order
    :math:`\varepsilon_i = \dot m_i u_g + e_i` with :math:`\dot m = dm_0/d\eta`
    (1 for a linear model, :math:`m(1-m)` logistic, :math:`m` Poisson).
    Cluster :math:`g` contributes :math:`B_g = A_g - E_g/n_1` with
    :math:`A_g = \sum_{i \in g} a_i` and :math:`E_g = \sum_{i \in g, T=1}
    \varepsilon_i`. A comparison unit's outcome enters :math:`A_g` with
    weight :math:`c_j = \partial\hat\mu_0/\partial y_j` (``y_weights``),
    so with :math:`W_g = \sum_{j \in g, T=0} c_j \dot m_j`,
    :math:`M_g = \sum_{i \in g, T=1} \dot m_i` and :math:`Q_g = \sum_{i
    \in g, T=1} \dot m_i^2`: :math:`E[A_g E_g] = \tau^2 W_g M_g` and
    :math:`E[E_g^2] = \sum_{i \in g, T=1} v(X_i) + \tau^2 (M_g^2 - Q_g)`.
    Hence

    .. math::

        \mathrm{Var} \approx \frac{G}{G-1}\sum_g A_g^2
        + \frac{1}{n_1^2}\sum_{T=1} v(X_i)
        + \hat\tau^2 \sum_g \Big[\frac{M_g^2 - Q_g}{n_1^2}
        - 2\,\frac{M_g W_g}{n_1}\Big],

    with :math:`\hat\tau^2` from the comparison residuals
    :math:`r = y - m_0` by moments over pairs within clusters,
    :math:`\sum_g \sum_{j \ne k \in g} r_j r_k / \sum_g \sum_{j \ne k
    \in g} \dot m_j \dot m_k` (truncated at 0). The empirical
    :math:`\sum_g A_g^2` already carries the :math:`\tau^2 W_g^2` part, so
    the area effect enters as :math:`\tau^2 \sum_g (W_g - M_g/n_1)^2`: it
    cancels between the estimate and the cohort's own rate when each
    cluster's comparison weight matches its share of the treated.
    Limitations: one :math:`\tau^2` for all clusters and units (random
    intercept on the model's linear-predictor scale), estimated from the
    comparison group (noisy with few clusters). Checked for coverage on
    simulated cohorts with area effects in ``docs/validation.md``.
    """
    tt = np.asarray(noise.treated, dtype=bool)
    n1 = float(np.count_nonzero(tt))
    m0, v0 = noise.m0, noise.v0
    if n1 <= 0 or not (np.all(np.isfinite(m0[tt])) and np.all(np.isfinite(v0[tt]))):
        return float("nan")
    # a = phi0 - t (m0 - mu0) / n1, in one work array
    a = np.subtract(m0, mu0, out=np.zeros(m0.shape), where=tt)
    a /= n1
    np.subtract(phi0, a, out=a)
    var_c = float(influence_covariance(a, cluster)[0, 0]) + float(np.sum(v0, where=tt)) / n1**2
    if cluster is not None:
        _, codes = np.unique(np.asarray(cluster), return_inverse=True)
        G = int(codes.max()) + 1
        cc = np.asarray(noise.comparison, dtype=bool)
        dm = np.ones_like(m0) if noise.dm is None else noise.dm

        def by_cluster(x: np.ndarray) -> np.ndarray:
            return np.bincount(codes, weights=x, minlength=G)

        r = np.where(cc, noise.y - m0, 0.0)
        dmc = np.where(cc, dm, 0.0)
        pairs = float((by_cluster(dmc) ** 2 - by_cluster(dmc**2)).sum())
        cross = float((by_cluster(r) ** 2 - by_cluster(r**2)).sum())
        tau2 = max(cross / pairs, 0.0) if pairs > 0 else 0.0
        dmt = np.where(tt, dm, 0.0)
        M, Q = by_cluster(dmt), by_cluster(dmt**2)
        W = by_cluster(np.where(cc, noise.y_weights * dm, 0.0))
        var_c += tau2 * float(((M**2 - Q) / n1**2 - 2.0 * M * W / n1).sum())
    return max(var_c, 0.0)


def outcome_estimate(
    name: str,
    outcome_type: str,
    mu0: float,
    mu1: float,
    phi0: np.ndarray,
    phi1: np.ndarray,
    *,
    cluster: np.ndarray | None,
    n_treated: int,
    n_comparison: int,
    naive: float,
    se_method: str,
    noise: CohortNoise | None = None,
) -> OutcomeEstimate:
    r"""Return an :class:`OutcomeEstimate` from the two means and their influences.

    Parameters
    ----------
    name, outcome_type : str
    mu0, mu1 : float
        Non-intervention and treated means.
    phi0, phi1 : numpy.ndarray
        Their influence functions (``mu_hat - mu ~= sum_i phi_i``).
    cluster : numpy.ndarray or None
        Cluster label per row for cluster-robust standard errors.
    n_treated, n_comparison : int
    naive : float
    se_method : str
    noise : CohortNoise, optional
        The outcome model's view of the cohort's own outcome noise; gives
        the cohort standard error (``cohort_std_error``, see
        :func:`cohort_variance`). Without it that is NaN and
        :func:`~pbr_eval.results.counterfactual.cohort_se` uses its generic rule.

    Returns
    -------
    OutcomeEstimate
        ``non_intervention_se`` and ``std_error`` are the influence-function
        SEs for the *expected* rate and effect; ``cohort_std_error`` the SE
        of the estimate as an estimate of the cohort's *own* rate (and
        effect).

    """
    if cluster is None:  # sum_i phi_i phi_i' by three dot products (no n x 2 copy)
        c01 = float(phi0 @ phi1)
        cov = np.array([[float(phi0 @ phi0), c01], [c01, float(phi1 @ phi1)]])
    else:
        cov = influence_covariance(np.column_stack([phi0, phi1]), cluster)
    v0_ = float(cov[0, 0])
    ve = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    cohort = float("nan")
    if noise is not None:
        var_c = cohort_variance(phi0, mu0, noise, cluster=cluster)
        if np.isfinite(var_c):
            cohort = float(np.sqrt(var_c))
            se_method += ("; the default intervals (the cohort's own rate and effect) add the "
                          "cohort's outcome noise from an outcome model (cohort_std_error)")
    return OutcomeEstimate(
        outcome=name,
        outcome_type=outcome_type,
        n_treated=n_treated,
        n_comparison=n_comparison,
        observed=mu1,
        non_intervention=mu0,
        non_intervention_se=float(np.sqrt(max(v0_, 0.0))),
        effect=mu1 - mu0,
        std_error=float(np.sqrt(max(ve, 0.0))),
        naive_comparison=naive,
        se_method=se_method,
        cohort_std_error=cohort,
    )


def working_outcome_model(
    X: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    comparison: np.ndarray,
    outcome_type: str,
    y_weights: np.ndarray,
    names: list[str] | None = None,
) -> CohortNoise | None:
    """Return a working outcome model for the cohort standard error of ``ipw`` and ``entropy``.

    Fits the default GLM for the outcome type (logistic, Poisson or linear;
    main effects) on the comparison units, and returns its mean and
    variance for every row as a :class:`CohortNoise` (see
    :func:`cohort_variance`). The estimators' point estimates and their
    ``target="expected"`` standard errors do not use it. Returns ``None``
    when the model cannot be fitted (e.g. separation); the cohort SE then
    falls back to :func:`~pbr_eval.results.counterfactual.cohort_se`'s
    generic rule.

    Parameters
    ----------
    X, y : numpy.ndarray
        Covariates (no intercept) and the outcome, every row.
    treated, comparison : numpy.ndarray of bool
        The treated units the estimate is for and the comparison units the
        model is fitted on.
    outcome_type : {"binary", "count", "continuous"}
        Chooses the GLM (logistic, Poisson, linear).
    y_weights : numpy.ndarray
        Each comparison outcome's weight in the estimate (see
        :class:`CohortNoise`).
    names : list of str, optional
        Covariate names for error messages.

    Returns
    -------
    CohortNoise or None

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, False])
    >>> y = np.array([5., 6., 1., 3., 1., 3.])
    >>> noise = working_outcome_model(X, y, t, ~t, "continuous", ~t / 4.0)
    >>> noise.m0.round(6).tolist()
    [1.0, 3.0, 1.0, 3.0, 1.0, 3.0]
    """
    family = FAMILY_FOR_TYPE[outcome_type]
    try:
        fit = fit_outcome(X, y, family, names=names, subset=comparison)
    except EstimationError:
        return None
    params = fit.params
    if params is None:  # pragma: no cover - a GLM always has coefficients
        return None
    # the means (as fit.predict, without its derivative) in place on one n-vector
    eta = X @ params[1:]
    eta += params[0]
    if family == "logistic":
        m = logistic_mean(eta)
        # m(1 - m) is both the variance and dm/deta (conditional_variance and mean_derivative
        # give these values: m is in [0, 1]); no gather of the comparison rows is needed
        v = m * (1.0 - m)
        return CohortNoise(treated, comparison, y, m, v, y_weights, v)
    m = eta if family == "linear" else canonical_mean(family, eta)[0]
    v, dm = noise_terms(fit, m, y, comparison, outcome_type)
    return CohortNoise(treated, comparison, y, m, v, y_weights, dm)


def noise_terms(fit: OutcomeFit, m: np.ndarray, y: np.ndarray, comparison: np.ndarray,
                outcome_type: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Return :class:`CohortNoise`'s ``v0`` and ``dm`` of a fitted outcome model at its predictions ``m``.

    :func:`~pbr_eval.models.outcome.conditional_variance` and
    :func:`~pbr_eval.models.outcome.mean_derivative`, with fewer passes: a logistic GLM's
    ``m (1 - m)`` is both (computed once, no gather of the comparison rows), and a
    linear GLM's ``dm`` is ``None`` (1).

    Parameters
    ----------
    fit : OutcomeFit
    m : numpy.ndarray
        The model's predictions, every row.
    y : numpy.ndarray
        The outcome, every row.
    comparison : numpy.ndarray of bool
        The rows the model was fitted on (for the dispersion).
    outcome_type : str

    Returns
    -------
    v0, dm : numpy.ndarray (dm may be None)

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.models.outcome import OutcomeFit
    >>> v, dm = noise_terms(OutcomeFit("logistic", np.zeros(2)), np.array([0.2, 0.5]),
    ...                     np.zeros(2), np.ones(2, bool), "binary")
    >>> v.tolist(), dm is v
    ([0.16000000000000003, 0.25], True)
    """
    if fit.family == "logistic" and fit.params is not None:
        v = np.subtract(1.0, m)  # m (1 - m) in one array (a GLM's m is in [0, 1]: the
        v *= m  # clip of conditional_variance is moot)
        return v, v
    if fit.family == "linear" and outcome_type != "binary" and fit.params is not None:
        # conditional_variance's residual variance, its squares summed block by block (no
        # gather, no n-length residual), as a read-only view of the one value
        ss = 0.0
        for rows in row_blocks(m.size):
            r = np.subtract(y[rows], m[rows], out=np.zeros(rows.stop - rows.start),
                            where=comparison[rows])
            ss += float(r @ r)
        dof = max(int(np.count_nonzero(comparison)) - int(np.size(fit.params)), 1)
        return np.broadcast_to(ss / dof, m.shape), None
    v = conditional_variance(fit, m, y[comparison], m[comparison], outcome_type)
    dm = None if fit.family == "linear" else mean_derivative(fit, m, outcome_type)
    return v, dm


def regression_noise(
    fit: OutcomeFit,
    X: np.ndarray,
    y: np.ndarray,
    m: np.ndarray,
    treated: np.ndarray,
    comparison: np.ndarray,
    outcome_type: str,
    *,
    weights: np.ndarray | None = None,
    Z: np.ndarray | None = None,
) -> CohortNoise:
    r"""Return the cohort-noise terms of g-computation (see :func:`~pbr_eval.estimators._outcome_se.cohort_variance`).

    Parameters
    ----------
    fit : OutcomeFit
        The outcome model fitted on ``comparison`` (with ``weights`` if any).
    X, y, m : numpy.ndarray
        Covariates, outcome and the model's predictions, every row.
    treated, comparison : numpy.ndarray of bool
    outcome_type : str
    weights : numpy.ndarray, optional
        The fit's case weights (IPWRA's odds), every row.
    Z : numpy.ndarray, optional
        ``X`` with an intercept column.

    Returns
    -------
    CohortNoise

    Notes
    -----
    The weight of a comparison unit's outcome in
    :math:`\hat\mu_0 = \frac{1}{n_1}\sum_T m_0(x_i; \hat\beta)` is
    :math:`c_j = w_j z_j' H^{-1} D` (:math:`H` the information, :math:`D =
    \frac{1}{n_1}\sum_T \dot m_i z_i`). For a scikit-learn model, whose
    information is unknown, :math:`c_j = 1/n_0` is used (an approximation,
    only in the cluster term).

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.models.outcome import fit_outcome
    >>> Xr = np.arange(5.0).reshape(-1, 1)          # one covariate, 0 to 4
    >>> comparison = Xr[:, 0] < 3                    # fitted on the first three rows
    >>> fit = fit_outcome(Xr, 2 * Xr[:, 0] + 1, "linear", subset=comparison)
    >>> means = fit.predict(Xr)[0]
    >>> noise = regression_noise(fit, Xr, 2 * Xr[:, 0] + 1, means, ~comparison, comparison,
    ...                          "continuous")
    >>> noise.y_weights.round(4).tolist()  # mu0 = sum of these times y: the fit at x = 3.5
    [-0.9167, 0.3333, 1.5833, 0.0, 0.0]
    """
    v = conditional_variance(fit, m, y[comparison], m[comparison], outcome_type)
    c = regression_y_weights(fit, X, m, treated, comparison, weights=weights, Z=Z)
    return CohortNoise(treated, comparison, y, m, v, c, mean_derivative(fit, m, outcome_type))


def regression_y_weights(
    fit: OutcomeFit,
    X: np.ndarray,
    m: np.ndarray,
    treated: np.ndarray,
    comparison: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    Z: np.ndarray | None = None,
) -> np.ndarray:
    """Each comparison outcome's weight in g-computation's ``mu0`` (see :func:`regression_noise`)."""
    if not (fit.analytic and fit.information is not None):
        return comparison / max(int(comparison.sum()), 1)
    tk = treated.astype(float)
    dm = canonical_slope(fit.family, m)
    h = np.linalg.solve(fit.information, design_rmatvec(X, tk * dm) / tk.sum())
    cw = comparison.astype(float) * (1.0 if weights is None else weights)
    return cw * design_matvec(X, h)


# ------------------------------------------------------------------ few clusters
def few_cluster_options(few_clusters: Any, seed: Any) -> tuple[int, int | None]:
    """Check the ``few_clusters`` threshold (an integer >= 0) and the wild bootstrap's ``seed``.

    Examples
    --------
    >>> few_cluster_options(30, 0)
    (30, 0)
    """
    return check_int("few_clusters", few_clusters, minimum=0), check_seed(seed)


def wild_streams(seed: int | None, n: int) -> list[np.random.SeedSequence]:
    """Return one seed stream per outcome for the wild bootstrap's draws; ``seed=None`` is 0.

    Every estimator with a few-cluster interval takes its draws (when not all
    enumerated) from these, so the same seed, or none, gives the same interval.

    Examples
    --------
    >>> [s.entropy for s in wild_streams(None, 2)] == [s.entropy for s in wild_streams(0, 2)]
    True
    """
    return np.random.SeedSequence(0 if seed is None else seed).spawn(n)


def uses_wild(se_option: str, cluster: np.ndarray | None, few_clusters: int) -> bool:
    """Whether the wild cluster bootstrap replaces the cluster-robust interval.

    Only for the recommended choice ``se="auto"`` (``se="cluster"`` asks for the
    cluster-robust standard error) with a cohort ``cluster`` of fewer than
    ``few_clusters`` clusters (:data:`pbr_eval.options.FEW_CLUSTERS` by default).

    Examples
    --------
    >>> import numpy as np
    >>> uses_wild("auto", np.repeat(np.arange(12), 5), 30), uses_wild("cluster", None, 30)
    (True, False)
    """
    return (se_option == "auto" and cluster is not None
            and int(np.unique(np.asarray(cluster)).size) < few_clusters)


def working_regression(
    y_work: np.ndarray, treated: np.ndarray, control_weights: np.ndarray, phi_effect: np.ndarray,
    treated_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r"""Return an effect as a weighted regression: ``X = [1, treated]``, weights, score offsets, effect.

    The weighted least-squares coefficient of ``y_work`` on ``treated`` (weight
    :math:`\omega_i` = ``treated_weights`` for the treated, 1 when not given:
    the ATT; ``control_weights`` for the others) is any weighted difference in
    means, :math:`\hat\delta = \sum_T \omega_i \tilde y_i / S_1 - \sum_C
    \omega_i \tilde y_i / S_0` (:math:`S_1, S_0` the groups' weight sums): the
    ATT of ipw, regression, aipw, ipwra and entropy, and the ATE, ATC and ATO
    of the normalised (Hajek) weighting estimators with :math:`\omega = h/e`
    (treated) and :math:`h/(1-e)` (comparison) and a working outcome whose
    weighted group means are the estimator's two means. Each group's weights
    are scaled to mean 1 among its units used (the coefficient does not
    change; the restricted fit then gives each unit the weight of one
    observation on average, so that without covariates every estimator is
    the difference in means and its test the ordinary wild cluster
    restricted bootstrap's).

    The score offsets make the coefficient's influence the estimator's own
    ``phi_effect`` (its nuisance models included), whatever the treated
    weights. Proof: with :math:`x_i = (1, T_i)` and weights :math:`\omega`,
    :math:`A = \sum_i \omega_i x_i x_i' = \begin{pmatrix} S_0 + S_1 & S_1 \\
    S_1 & S_1 \end{pmatrix}`, whose inverse's second row is :math:`(-1/S_0,\;
    1/S_0 + 1/S_1)`. Unit :math:`i`'s score is :math:`\omega_i u_i x_i + (N_i,
    0)'` (:math:`u_i` its residual, :math:`N_i` the offset on the intercept's
    score), so its influence on the coefficient is :math:`T_i \omega_i u_i /
    S_1 - (1 - T_i)\omega_i u_i / S_0 - N_i / S_0 = \phi^{WLS}_i - N_i / S_0`.
    With :math:`N_i = S_0(\phi^{WLS}_i - \phi_i)` it is :math:`\phi_i` for
    every unit (treated or not, used or not), so the regression's CRV1
    variance is :math:`c \sum_g (\sum_{i \in g} \phi_i)^2`, the estimator's
    own cluster-robust variance up to the small-sample factor :math:`c`; the
    bootstrap flips these scores (:mod:`pbr_eval.inference.wild`). Nothing
    uses :math:`\omega_i = 1` for the treated. The offsets sum to zero
    when :math:`\sum_i \phi_i = 0` (true at the estimating equations'
    solution), as :math:`\sum_i \phi^{WLS}_i = 0`.

    Parameters
    ----------
    y_work : numpy.ndarray
        The working outcome, every row.
    treated : numpy.ndarray of bool
        The treated units used.
    control_weights : numpy.ndarray
        Each comparison unit's weight (0 for rows left out; ignored on the treated).
    phi_effect : numpy.ndarray
        The estimator's influence function of the effect, every row.
    treated_weights : numpy.ndarray, optional
        Each treated unit's weight (1 when not given).

    Returns
    -------
    X, weights, offsets : numpy.ndarray
        ``[1, treated]``, the scaled weights and the (n, 2) score offsets.
    effect : float
        The coefficient of ``treated``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, True, False, False]); y = np.array([3.0, 5.0, 1.0, 2.0])
    >>> X, w, off, effect = working_regression(y, t, np.array([0, 0, 1.0, 3.0]), np.zeros(4))
    >>> effect, w.tolist()
    (2.25, [1.0, 1.0, 0.5, 1.5])
    >>> X, w, off, effect = working_regression(y, t, np.array([0, 0, 1.0, 3.0]), np.zeros(4),
    ...                                        np.array([3.0, 1.0, 0, 0]))
    >>> effect, w.tolist()
    (1.75, [1.5, 0.5, 0.5, 1.5])
    """
    tk = np.asarray(treated, dtype=bool)
    om = np.where(tk, 0.0, np.asarray(control_weights, dtype=float))
    om *= np.count_nonzero(om) / om.sum()  # mean 1 among the comparison units used
    o1 = np.where(tk, 1.0 if treated_weights is None
                  else np.asarray(treated_weights, dtype=float), 0.0)
    o1 *= np.count_nonzero(o1) / o1.sum()  # mean 1 among the treated units used
    S1, S = float(o1.sum()), float(om.sum())
    b = float(y_work[tk].mean() if treated_weights is None else o1 @ y_work / S1)
    a = float(om @ y_work / S)
    u = np.where(tk, y_work - b, y_work - a)
    phi_wls = np.where(tk, o1 * u / S1, -om * u / S)
    offsets = np.zeros((tk.size, 2))
    offsets[:, 0] = S * (phi_wls - phi_effect)
    X = np.column_stack([np.ones(tk.size), tk.astype(float)])
    return X, np.where(tk, o1, om), offsets, b - a


def few_cluster_estimate(
    estimate: OutcomeEstimate,
    y_work: np.ndarray,
    treated: np.ndarray,
    control_weights: np.ndarray,
    phi_effect: np.ndarray,
    cluster: np.ndarray,
    *,
    few_clusters: int,
    seed: int | np.random.SeedSequence | None,
    noise: CohortNoise | None = None,
    treated_weights: np.ndarray | None = None,
) -> tuple[OutcomeEstimate, dict[str, Any]]:
    r"""Return the estimate with its interval by the wild cluster restricted (score) bootstrap.

    The ATT of the weighting, regression, doubly robust and entropy balancing
    estimators is the weighted least-squares coefficient of a working outcome
    ``y_work`` (the outcome, or its residual from the comparison group's
    outcome model) on ``[1, treated]``, with weight 1 for the treated and
    ``control_weights`` (the odds, the entropy weights, or 1) for the
    comparison units:
    :math:`\hat\delta = \bar{\tilde y}_T - \sum_C \omega_i \tilde y_i / \sum_C \omega_i`.
    Other estimands (ATE, ATC, ATO) weight the treated too
    (``treated_weights``): see :func:`working_regression`, whose docstring
    shows that the offsets below stay right for any treated weights.
    The estimation effect of the propensity and outcome models, which the
    estimator's influence function ``phi_effect`` carries, enters each
    unit's intercept score as an offset
    :math:`N_i = S(\phi^{WLS}_i - \phi_i)` (:math:`S = \sum_C \omega`), so the
    cluster-robust t statistic is the estimator's own. The test of
    :math:`\delta = \delta_0` flips the clusters' restricted scores (Kline &
    Santos 2012; the wild cluster restricted bootstrap, Cameron, Gelbach &
    Miller 2008, when there are no nuisance models) and is inverted into the
    interval (:func:`~pbr_eval.inference.wild.wild_cluster_interval`:
    Rademacher weights, all ``2^G`` sign patterns up to 13 clusters, else
    9,999 seeded draws; Webb's below 10 clusters).

    The returned estimate's ``std_error`` is the one the interval implies
    (its width over ``2 x 1.96``), :math:`r` times the cluster-robust one;
    the ATT's ``non_intervention_se`` (the expected rate's) stays cluster-robust. The
    cohort variance :math:`V_c` (``cohort_std_error`` squared, see
    :func:`cohort_variance`) is widened only where it comes from sums over
    clusters: its share for the cohort's own outcome noise,
    :math:`V_o = \sum_{T=1} v(X_i) / n_1^2`, comes from the outcome model
    (``noise``), not from the clusters, and is kept, so
    :math:`V_c' = V_c + (r^2 - 1)\max(V_c - V_o, 0)`. Multiplying the whole
    of :math:`V_c` by :math:`r^2` over-covered where the programme recruits
    in every area alike (the area effects then cancel between the estimate
    and the cohort's own rate, and :math:`V_o` is most of :math:`V_c`):
    0.965-0.995 below 29 areas in ``benchmarks/validate_few_clusters_grid.py``. Without
    ``noise`` the whole cohort standard error is multiplied by :math:`r`.

    A population estimate (``estimate.population``: the ATE, ATC or ATO),
    whose intervals are the expected rates', has no own-noise share
    (:math:`V_o = 0`), so by the same rule its ``non_intervention_se`` is
    multiplied by :math:`r` (an expected rate's variance is all sums over
    clusters). In ``benchmarks/validate_weighting_few_clusters.py`` (12
    areas) the ATE's rate without the programme was covered 0.919 of the
    time by the cluster-robust interval and 0.949-0.950 with this factor.

    Parameters
    ----------
    estimate : OutcomeEstimate
        The estimate with its cluster-robust standard errors.
    y_work : numpy.ndarray
        The working outcome, every row.
    treated : numpy.ndarray of bool
        The treated units the estimate is for (after trimming).
    control_weights : numpy.ndarray
        Each comparison unit's weight (0 for rows left out and for the treated).
    phi_effect : numpy.ndarray
        The effect's influence function (``phi1 - phi0``), every row.
    cluster : numpy.ndarray
        Cluster label per row.
    few_clusters : int
        The threshold used (reported).
    seed : int or SeedSequence, optional
        For the draws when they are not all enumerated.
    noise : CohortNoise, optional
        The cohort noise the estimate's ``cohort_std_error`` was computed
        with (its :math:`V_o` is not widened).
    treated_weights : numpy.ndarray, optional
        Each treated unit's weight (1 when not given: the ATT).

    Returns
    -------
    tuple
        The estimate with the wild bootstrap's standard errors and its record
        (``info["few_clusters"][outcome]``), or the estimate unchanged and a
        record saying why when the working regression does not reproduce it.

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.results.counterfactual import OutcomeEstimate
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(12), 25); t = (g % 3 == 0) & (rng.random(300) < 0.7)
    >>> y = 1.0 + 0.5 * t + rng.normal(size=12)[g] + rng.normal(size=300)
    >>> mu1, mu0 = y[t].mean(), y[~t].mean()
    >>> phi = np.where(t, (y - mu1) / t.sum(), -(y - mu0) / (~t).sum())
    >>> e = OutcomeEstimate("y", "continuous", int(t.sum()), int((~t).sum()), mu1, mu0, 0.1,
    ...                     mu1 - mu0, 0.1, mu0, "cluster-robust")
    >>> new, rec = few_cluster_estimate(e, y, t, (~t).astype(float), phi, g, few_clusters=30,
    ...                                 seed=1)
    >>> rec["n_clusters"], rec["weights"], rec["full_enumeration"]
    (12, 'rademacher', True)
    >>> bool(rec["lower"] < new.effect < rec["upper"])
    True
    """
    X, w, offsets, effect = working_regression(y_work, treated, control_weights, phi_effect,
                                               treated_weights)
    if not np.isclose(effect, estimate.effect, rtol=1e-8,
                      atol=1e-10 * (1 + abs(estimate.effect))):
        return estimate, {"used": False, "reason": (
            "the working regression does not reproduce the estimate (e.g. an outcome model "
            "without an intercept): the cluster-robust interval is kept")}
    wi = wild_cluster_interval(X, y_work, cluster, 1, level=DEFAULT_LEVEL, seed=seed,
                               case_weights=w, score_offsets=offsets)
    z = float(stats.norm.ppf(0.5 + DEFAULT_LEVEL / 2))
    se = (wi.upper - wi.lower) / (2 * z)
    ratio = se / estimate.std_error if estimate.std_error > 0 else float("nan")
    record = {"used": True, **wi.to_dict(), "crv_std_error": estimate.std_error,
              "threshold": few_clusters}
    method = (f"{estimate.se_method}; interval of the effect by the wild cluster restricted "
              f"(score) bootstrap over {wi.n_clusters:,} clusters (fewer than {few_clusters:,}; "
              f"{wi.weights} weights, {wi.n_draws:,} draws"
              f"{', all enumerated' if wi.full_enumeration else ''}); standard error implied by "
              "its interval")
    cohort = estimate.cohort_std_error * ratio
    rate_se = estimate.non_intervention_se
    if estimate.population:
        rate_se *= ratio
        method += ("; the rate's standard error (an expected rate: no own outcome noise) "
                   "widened by the same factor")
    if noise is not None and np.isfinite(estimate.cohort_std_error):
        var_c = estimate.cohort_std_error**2
        var_o = own_noise_variance(noise)
        cohort = float(np.sqrt(var_c + (ratio**2 - 1.0) * max(var_c - var_o, 0.0)))
        record["own_noise_share"] = var_o / var_c if var_c > 0 else float("nan")
        method += ("; the cohort standard error widened by the same factor except its share "
                   "for the cohort's own outcome noise (from the outcome model)")
    new = replace(estimate, std_error=se, se_method=method, cohort_std_error=cohort,
                  non_intervention_se=rate_se)
    return new, record


def own_noise_variance(noise: CohortNoise) -> float:
    r"""Return the cohort's own outcome noise share of :func:`cohort_variance`, :math:`\sum_{T=1} v(X_i) / n_1^2`.

    The part of the cohort variance the outcome model gives (not sums over
    clusters); :func:`few_cluster_estimate` does not widen it.

    Parameters
    ----------
    noise : CohortNoise

    Returns
    -------
    float
        NaN without treated units.

    Examples
    --------
    >>> t = np.array([True, True, False])
    >>> noise = CohortNoise(t, ~t, np.zeros(3), np.full(3, 0.5), np.full(3, 0.25), np.zeros(3))
    >>> own_noise_variance(noise)
    0.125
    """
    tt = np.asarray(noise.treated, dtype=bool)
    n1 = float(np.count_nonzero(tt))
    return float(np.sum(noise.v0, where=tt)) / n1**2 if n1 > 0 else float("nan")


def note_few_clusters(info: dict[str, Any], records: dict[str, dict[str, Any]],
                      few_clusters: int) -> None:
    """Record the wild bootstrap's figures in ``info["few_clusters"]`` and say so in the notes."""
    if not records:
        return
    info["few_clusters"] = records
    used = [r for r in records.values() if r.get("used")]
    if used:
        info["notes"].append(
            f"Only {used[0]['n_clusters']:,} clusters (fewer than {few_clusters:,}): the "
            "effect's interval is the wild cluster restricted (score) bootstrap's (Cameron, "
            "Gelbach & Miller 2008; Kline & Santos 2012), because the cluster-robust one is "
            "too narrow with few clusters.")
    for name, r in records.items():
        if not r.get("used"):
            info["notes"].append(f"'{name}': {r['reason']}.")
