"""Inverse-probability weighting for the non-intervention rate of the treated.

Also home to what the weighting, regression and doubly robust estimators
share: the ATT propensity model with clipping/trimming and overlap checks,
the standard-error option, and turning influence functions into
:class:`~pbr_eval.results.counterfactual.OutcomeEstimate` objects.

References
----------
Hirano, K., Imbens, G. W. & Ridder, G. (2003). Efficient estimation of average
treatment effects using the estimated propensity score. Econometrica 71(4),
1161-1189.
Lunceford, J. K. & Davidian, M. (2004). Stratification and weighting via the
propensity score in estimation of causal treatment effects. Statistics in
Medicine 23, 2937-2960.
Austin, P. C. & Stuart, E. A. (2015). Moving towards best practice when using
inverse probability of treatment weighting (IPTW) using the propensity score
to estimate causal treatment effects in observational studies. Statistics in
Medicine 34, 3661-3679.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.exceptions import EstimationError, OptionError, OverlapWarning
from pbr_eval.inference.design import design_rmatvec
from pbr_eval.inference.influence import (
    CoefficientInfluence,
    influence_covariance,
    logit_coefficient_influence,
    with_intercept,
)
from pbr_eval.models.outcome import (
    FAMILY_FOR_TYPE,
    conditional_variance,
    fit_outcome,
    mean_derivative,
)
from pbr_eval.models.propensity import (
    PropensityScore,
    check_propensity_model,
    fit_propensity,
    vanishing_note,
)
from pbr_eval.options import (
    WEIGHTING_SE,
    WeightingSE,
    check_choice,
    check_columns,
    check_probability,
)
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["InverseProbabilityWeighting", "ipw_att", "AttPropensity", "att_propensity",
           "AttWeighting", "att_weighting_setup"]



# --------------------------------------------------------------- options
def check_bounds(name: str, value: Any) -> tuple[float, float] | None:
    """``None``, a number ``a`` (meaning ``(a, 1 - a)``) or a pair ``(lo, hi)`` with 0 <= lo < hi <= 1.

    Examples
    --------
    >>> check_bounds("clip", 0.01)
    (0.01, 0.99)
    >>> check_bounds("clip", (0.2, 0.1))
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `clip` must be a number below 0.5 or a pair (lo, hi) with 0 <= lo < hi <= 1; got (0.2, 0.1).
    """
    if value is None:
        return None
    msg = (f"`{name}` must be a number below 0.5 or a pair (lo, hi) with 0 <= lo < hi <= 1; "
           f"got {value!r}.")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        a = check_probability(name, value)
        if a >= 0.5:
            raise OptionError(msg)
        return (float(a), float(1 - a))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            lo, hi = float(value[0]), float(value[1])
        except (TypeError, ValueError) as err:
            raise OptionError(msg) from err
        if 0 <= lo < hi <= 1:
            return (lo, hi)
    raise OptionError(msg)


def covariate_list(name: str, value: Any) -> tuple[str, ...] | None:
    """Return ``None`` or the non-empty tuple of covariate names of ``propensity_covariates`` / ``outcome_covariates``.

    Examples
    --------
    >>> covariate_list("outcome_covariates", "age")
    ('age',)
    >>> covariate_list("outcome_covariates", [])
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `outcome_covariates` must name at least one covariate (or be None for all of the cohort's); got an empty list.
    """
    if value is None:
        return None
    names = check_columns(name, value)
    if not names:
        raise OptionError(f"`{name}` must name at least one covariate (or be None for all of "
                          "the cohort's); got an empty list.")
    return tuple(names)


def weighting_propensity(model: Any) -> Any:
    """Return ``propensity=`` of the weighting family: ``"probit"`` or what :func:`check_propensity_model` accepts.

    Examples
    --------
    >>> weighting_propensity("probit")
    'probit'
    """
    return "probit" if isinstance(model, str) and model == "probit" else (
        check_propensity_model(model))


def resolve_se(se: str, cohort: Cohort) -> tuple[str, np.ndarray | None]:
    """``"auto"`` is cluster-robust when the cohort has a ``cluster``, else robust."""
    if se == "auto":
        se = "cluster" if cohort.cluster is not None else "robust"
    if se == "cluster":
        if cohort.cluster is None:
            raise OptionError(
                "`se='cluster'` needs a cohort built with `cluster` (e.g. the local authority); "
                "this one has none. Pass cluster=... to Cohort or use se='robust'."
            )
        return se, cohort.column(cohort.cluster)
    return se, None


# ---------------------------------------------------------- propensity
@dataclass(frozen=True)
class AttPropensity:
    """The propensity score as the ATT estimators use it.

    Attributes
    ----------
    ps_raw : numpy.ndarray
        Fitted scores.
    ps : numpy.ndarray
        Scores after clipping (equal to ``ps_raw`` without ``clip``).
    free : numpy.ndarray of float
        1 where the score was not clipped (so it moves with the model's
        coefficients), 0 where clipping fixed it.
    odds : numpy.ndarray
        ``ps / (1 - ps)``, the ATT weight of a comparison unit.
    phi : CoefficientInfluence or None
        Influence of each unit on the logistic coefficients, kept as factors
        (``phi.dot(g)``; ``phi.matrix()`` for the dense array); ``None`` for a
        scikit-learn classifier, whose estimation the SEs cannot include.
    keep : numpy.ndarray of bool
        Rows kept after trimming.
    model : str
    n_clipped : int
    n_trimmed_treated, n_trimmed_comparison : int
    n_vanishing : int
        Comparison units with scores below 1e-10 (accepted: no ATT weight).
    """

    ps_raw: np.ndarray
    ps: np.ndarray
    free: np.ndarray
    odds: np.ndarray
    phi: CoefficientInfluence | None
    keep: np.ndarray
    model: str
    n_clipped: int
    n_trimmed_treated: int
    n_trimmed_comparison: int
    n_vanishing: int = 0


def att_propensity(
    cohort: Cohort,
    model: Any,
    *,
    clip: tuple[float, float] | None,
    trim: tuple[float, float] | None,
    Z: np.ndarray | None = None,
) -> AttPropensity:
    """Fit the propensity model, clip or trim it, and compute its influence.

    ``Z`` is not used (the influence works on ``cohort.X`` without an
    intercept column); it is accepted for older callers.

    Raises
    ------
    EstimationError
        Separation (scores of exactly 0 or 1; the error names the covariates
        most involved), or trimming that leaves no treated or no comparison unit.
    """
    fit = fit_propensity(cohort, None if model == "logit" else model, estimand="ATT")
    ps_raw = fit.ps
    t = cohort.t
    if clip is not None:
        ps = np.clip(ps_raw, clip[0], clip[1])
        free = ((ps_raw > clip[0]) & (ps_raw < clip[1])).astype(float)
    else:
        ps = ps_raw
        free = np.ones_like(ps_raw)
    n_clipped = int((free == 0).sum())
    keep = np.ones(t.size, dtype=bool)
    if trim is not None:
        keep = (ps_raw >= trim[0]) & (ps_raw <= trim[1])
    n_tt = int((t & ~keep).sum())
    n_tc = int((~t & ~keep).sum())
    if not (t & keep).any() or not (~t & keep).any():
        raise EstimationError(
            f"`trim`={trim} leaves no {'treated' if not (t & keep).any() else 'comparison'} "
            "units: the groups do not overlap on the propensity score. Widen `trim`."
        )
    odds = ps / (1.0 - ps)
    if not np.all(np.isfinite(odds)):  # pragma: no cover - fit_propensity rejects 0/1 scores
        raise EstimationError("Propensity scores of exactly 1 give infinite weights.")
    phi = None
    if fit.logit is not None:
        # the fit's covariance is the inverse information at the estimate: no further pass
        phi = logit_coefficient_influence(cohort.X, t, ps_raw, fit.logit.cov)
    return AttPropensity(ps_raw, ps, free, odds, phi, keep, fit.model, n_clipped, n_tt, n_tc,
                         fit.n_vanishing)


def overlap_warning(cohort: Cohort, prop: AttPropensity, w: np.ndarray, method: str) -> str | None:
    """Warn (and return the note) when overlap is weak for the ATT.

    Weak means: more than 2% of the treated units have a score above every
    comparison unit's, or one comparison unit carries more than 10% of the
    comparison group's total weight.
    """
    t, keep = cohort.t, prop.keep
    c = ~t & keep
    tk = t & keep
    beyond = int((prop.ps_raw[tk] > prop.ps_raw[c].max()).sum())
    wc = w[c]
    share = float(wc.max() / wc.sum()) if wc.sum() > 0 else 1.0
    if beyond <= 0.02 * tk.sum() and share <= 0.10:
        return None
    X = cohort.X
    m1, m0 = X[tk].mean(axis=0), X[c].mean(axis=0)
    sd = X[tk].std(axis=0)
    sd[sd == 0] = 1.0
    top = np.argsort(-np.abs((m1 - m0) / sd))[:3]
    names = ", ".join(f"'{cohort.design_columns[j]}'" for j in top)
    parts = []
    if beyond > 0.02 * tk.sum():
        parts.append(f"{beyond:,} treated units have a propensity score above every comparison "
                     "unit's (no comparable comparison unit)")
    if share > 0.10:
        parts.append(f"one comparison unit carries {share:.0%} of the comparison group's weight")
    note = (
        f"Weak overlap ({method}): {'; '.join(parts)}. The groups differ most on {names}. "
        "Consider `clip` or `trim`, restricting the comparison pool, or matching."
    )
    warnings.warn(note, OverlapWarning, stacklevel=3)
    return note


# ------------------------------------------------------------- numbers
def ipw_att(
    y: np.ndarray,
    t: np.ndarray,
    odds: np.ndarray,
    *,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: CoefficientInfluence | None = None,
    free: np.ndarray | None = None,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Normalised ATT inverse-probability weighting and its influence functions.

    Parameters
    ----------
    y : numpy.ndarray
    t : numpy.ndarray of bool
    odds : numpy.ndarray
        ``ps / (1 - ps)``: the comparison units' weights.
    keep : numpy.ndarray of bool, optional
        Rows used (after trimming).
    Z : numpy.ndarray, optional
        Not used (``phi_gamma`` carries the design); accepted for older callers.
    phi_gamma : CoefficientInfluence, optional
        The logistic coefficients' influences; when given the influence
        accounts for the estimated score.
    free : numpy.ndarray, optional
        The not-clipped indicator (1 where the score moves with the model).

    Returns
    -------
    mu0, mu1 : float
        Non-intervention mean ``sum_c o_i y_i / sum_c o_i`` and the treated mean.
    phi0, phi1 : numpy.ndarray
        Their influence functions (``mu_hat - mu ~= sum_i phi_i``).

    Notes
    -----
    The estimating equations are the logistic score
    ``z_i (t_i - p_i)``, ``(1 - t_i) o_i (y_i - mu0)`` and
    ``t_i (y_i - mu1)`` with ``o_i = p_i / (1 - p_i) = exp(z_i' gamma)``.
    Linearising the second in ``gamma`` gives
    ``phi0_i = [(1 - t_i) o_i (y_i - mu0) + phi_gamma_i' G] / sum_c o``
    with ``G = sum_c o_i (y_i - mu0) z_i`` (unclipped units only).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, True, False, False])
    >>> mu0, mu1, _, _ = ipw_att(np.array([1., 0, 1, 0]), t, np.array([1, 1, 3, 1.]))
    >>> mu0, mu1
    (0.75, 0.5)
    """
    keep = np.ones(t.size, dtype=bool) if keep is None else keep
    c = (~t & keep).astype(float)
    tk = (t & keep).astype(float)
    n1 = tk.sum()
    S = float((c * odds).sum())
    mu0 = float((c * odds) @ y / S)
    mu1 = float(tk @ y / n1)
    psi = c * odds * (y - mu0)
    phi0 = psi.copy()
    if phi_gamma is not None:
        G = design_rmatvec(phi_gamma.X, psi if free is None else psi * free)
        phi0 += phi_gamma.dot(G)
    phi0 /= S
    phi1 = tk * (y - mu1) / n1
    return mu0, mu1, phi0, phi1


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
        :math:`v(x) = \mathrm{Var}(Y \mid X = x, T = 0)`.
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
    tk = np.asarray(noise.treated, dtype=float)
    n1 = float(tk.sum())
    m0, v0 = noise.m0, noise.v0
    tt = tk > 0
    if n1 <= 0 or not (np.all(np.isfinite(m0[tt])) and np.all(np.isfinite(v0[tt]))):
        return float("nan")
    a = phi0 - tk * (m0 - mu0) / n1
    var_c = float(influence_covariance(a, cluster)[0, 0]) + float(tk @ v0) / n1**2
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
        dmt = np.where(tk > 0, dm, 0.0)
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
    """
    family = FAMILY_FOR_TYPE[outcome_type]
    try:
        fit = fit_outcome(X, y, family, names=names, subset=comparison)
    except EstimationError:
        return None
    m, _ = fit.predict(X)
    v = conditional_variance(fit, m, y[comparison], m[comparison], outcome_type)
    return CohortNoise(treated, comparison, y, m, v, y_weights,
                       mean_derivative(fit, m, outcome_type))


def se_description(se: str, nuisance: Sequence[str], analytic: bool) -> str:
    """Plain description of how the standard errors were computed."""
    base = ("cluster-robust influence-function (sum over clusters, G/(G-1))" if se == "cluster"
            else "robust influence-function (HC0, as statsmodels TreatmentEffect / Stata teffects)")
    if analytic:
        return f"{base}, accounting for the estimated {' and '.join(nuisance)}"
    return (f"{base}; a scikit-learn nuisance model's estimation is NOT accounted for "
            "(treated as known), so the SEs may be too small or too large")


def clip_trim_info(prop: AttPropensity, info: dict[str, Any], stage: str) -> None:
    """Record clipping and trimming counts in ``info`` (and notes / dropped)."""
    info["n_clipped"] = prop.n_clipped
    if prop.n_vanishing:
        info["notes"].append(vanishing_note(PropensityScore(prop.ps_raw, prop.model,
                                                            n_vanishing=prop.n_vanishing,
                                                            estimand="ATT")))
    info["n_trimmed_treated"] = prop.n_trimmed_treated
    info["n_trimmed_comparison"] = prop.n_trimmed_comparison
    if prop.n_clipped:
        info["notes"].append(
            f"{prop.n_clipped:,} propensity scores were clipped to the `clip` bounds."
        )
    n_trim = prop.n_trimmed_treated + prop.n_trimmed_comparison
    if n_trim:
        info["dropped"] = info["dropped"] + [DroppedRows(
            n_trim,
            f"propensity score outside the `trim` bounds ({prop.n_trimmed_treated:,} treated, "
            f"{prop.n_trimmed_comparison:,} comparison)",
            stage=stage, n_treated=prop.n_trimmed_treated,
            n_comparison=prop.n_trimmed_comparison,
            share_treated=prop.n_trimmed_treated / max(int(info["cohort"]["n_treated"]), 1),
        ).to_dict()]
        if prop.n_trimmed_treated:
            info["notes"].append(
                f"{prop.n_trimmed_treated:,} treated units were trimmed: the estimate is for the "
                "remaining treated units, not the whole cohort."
            )


def reject_panel(cohort: Cohort, method: str) -> None:
    if cohort.is_panel:
        raise OptionError(
            f"Method '{method}' needs one row per unit; this cohort has a `period`. Use "
            "cohort.at_period(<post period>) first, or method='did'."
        )


# ------------------------------------------------------------- estimator
@dataclass(frozen=True)
class AttWeighting:
    """What the ATT weighting estimators (ipw, aipw, ipwra) share before the outcomes.

    Built by :func:`att_weighting_setup`.

    Attributes
    ----------
    se : str
        The resolved standard-error kind (``"robust"`` or ``"cluster"``).
    cluster : numpy.ndarray or None
        The cohort's cluster label per row when ``se == "cluster"``.
    t : numpy.ndarray of bool
        Treatment indicator.
    X : numpy.ndarray
        The cohort's design columns (``cohort.X``, not copied).
    prop : AttPropensity
        The fitted, clipped or trimmed propensity score and its influence.
    w : numpy.ndarray
        Normalised ATT weights: treated 1, comparison ``ps / (1 - ps)`` rescaled
        to sum to :attr:`n_treated`; 0 for trimmed units.
    info : dict
        The results' ``info`` so far (overlap and clipping notes); the
        estimator adds its own entries.
    """

    se: str
    cluster: np.ndarray | None
    t: np.ndarray
    X: np.ndarray
    prop: AttPropensity
    w: np.ndarray
    info: dict[str, Any]

    @property
    def Z(self) -> np.ndarray:
        """The propensity design with an intercept, built on request (the estimators do not need it)."""
        return with_intercept(self.X)

    @property
    def keep(self) -> np.ndarray:
        """Rows kept after trimming."""
        return self.prop.keep

    @property
    def n_treated(self) -> int:
        """Treated units kept."""
        return int((self.t & self.keep).sum())

    @property
    def n_comparison(self) -> int:
        """Comparison units kept with positive weight."""
        return int(((~self.t) & self.keep & (self.w > 0)).sum())


def att_weighting_setup(estimator: Any, cohort: Cohort) -> AttWeighting:
    """Check the cohort, resolve ``se``, fit the propensity score and build the ATT weights.

    The propensity score is fitted with any clipping or trimming; the
    weights are the normalised ATT odds weights; ``info`` carries the overlap
    and clipping notes (see :class:`AttWeighting`).
    """
    reject_panel(cohort, estimator.method)
    se, cl = resolve_se(estimator.se, cohort)
    t = cohort.t
    prop = att_propensity(cohort, estimator.propensity, clip=estimator.clip,
                          trim=estimator.trim)
    keep = prop.keep
    n1 = int((t & keep).sum())
    w = np.where(t, 1.0, prop.odds) * keep
    w[~t] *= n1 / w[~t].sum()
    info = base_info(cohort, estimator)
    note = overlap_warning(cohort, prop, w, estimator.method)
    if note:
        info["notes"].append(note)
    clip_trim_info(prop, info, estimator.method)
    return AttWeighting(se=se, cluster=cl, t=t, X=cohort.X, prop=prop, w=w, info=info)


@register("ipw")
class InverseProbabilityWeighting(Estimator):
    """Inverse-probability weighting: comparison units weighted by the odds ``ps / (1 - ps)``; right when the propensity model is.

    The non-intervention rate is the weighted mean outcome of the
    comparison group with ATT weights ``ps / (1 - ps)`` (normalised: the
    weights are divided by their sum; :attr:`~CounterfactualResults.weights`
    shows them scaled to sum to the number of treated units).

    Parameters
    ----------
    propensity : "logit", "probit" or scikit-learn classifier, default "logit"
        Main-effects logistic (or probit: Stata ``teffects``' default)
        regression on the cohort's covariates, or a classifier (cloned and
        fitted; its estimation is then not reflected in the standard errors).
    clip : float or (lo, hi), optional
        Clip scores to ``[lo, hi]`` (a number ``a`` means ``(a, 1 - a)``);
        the number clipped is reported in ``info["n_clipped"]``.
    trim : float or (lo, hi), optional
        Leave out units whose score is outside ``[lo, hi]``; counts in
        ``info["dropped"]``. Trimming treated units changes the estimand.
    estimand : {"ATT", "ATE", "ATC", "ATO"}, default "ATT"
        The population the rates are for: the programme's participants, everyone,
        the comparison group, or the overlap population (weights ``e(1 - e)``:
        people who could plausibly have been in either group). Other than the
        ATT, weights are ``h / e`` (treated) and ``h / (1 - e)`` (comparison)
        (see :mod:`pbr_eval.estimators.estimands`).
    se : {"auto", "robust", "cluster"}, default "auto"
        ``"auto"``: cluster-robust when the cohort has a ``cluster``, else robust.
    propensity_covariates : list of str, optional
        The covariates of the propensity model (default: all the cohort's),
        Stata ``teffects``' treatment-model variable list.

    Notes
    -----
    ``mu0 = sum_c o_i y_i / sum_c o_i`` with ``o_i = p_i / (1 - p_i)``,
    which estimates E[Y(0) | treated] when the propensity model is right
    and every treated person has comparable comparison people. Standard
    errors stack the logistic score with the mean equations (see
    :func:`ipw_att`), as statsmodels' ``TreatmentEffect.ipw(effect_group=1)``
    does; they are the SEs of the expected rate and effect
    (``to_frame(target="expected")``). The default intervals, for the
    cohort's own rate and effect, use ``cohort_std_error`` (see
    :func:`cohort_variance`), which needs the outcome's conditional mean and
    variance: IPW has no outcome model, so a working one (the default GLM
    for the outcome type, fitted on the comparison group) is used for that
    standard error only; the point estimate does not use it (see
    :func:`working_outcome_model`). For the ATE, ATC and ATO the estimates are
    the normalised (Hajek) weighted means of :func:`~pbr_eval.estimators.estimands.weighting_means`,
    as statsmodels' ``TreatmentEffect.ipw`` and Stata's ``teffects ipw``
    (checked against both on Hernan & Robins' NHEFS data: ATE 3.44 kg), with
    the intervals of the population's expected rates.

    References
    ----------
    Hirano, Imbens & Ridder (2003); Lunceford & Davidian (2004); Austin &
    Stuart (2015).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = InverseProbabilityWeighting().fit(Cohort(sim.data, **sim.cohort_args))
    >>> round(float(res.to_frame()["non_intervention"].iloc[0]), 2)
    0.3
    """

    family = "weighting"
    phrase = "a weighted comparison group"
    estimands = ('ATT', 'ATE', 'ATC', 'ATO')
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        propensity: Any = "logit",
        clip: float | tuple[float, float] | None = None,
        trim: float | tuple[float, float] | None = None,
        estimand: str = "ATT",
        se: WeightingSE = "auto",
        propensity_covariates: Sequence[str] | str | None = None,
    ) -> None:
        self.propensity = weighting_propensity(propensity)
        self.propensity_covariates = covariate_list("propensity_covariates",
                                                    propensity_covariates)
        self.clip = check_bounds("clip", clip)
        self.trim = check_bounds("trim", trim)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds)

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Weight and estimate.

        Raises
        ------
        OptionError
            Panel cohort, or ``se="cluster"`` without a cluster.
        EstimationError
            Separation in the propensity model (names the covariates), or
            trimming that leaves a group empty.
        """
        from pbr_eval.estimators._population import (  # it imports this module
            fit_population,
            uses_population_path,
        )

        if uses_population_path(self):
            return fit_population(self, cohort, "ipw")
        s = att_weighting_setup(self, cohort)
        t, prop, keep, w, info = s.t, s.prop, s.keep, s.w, s.info
        se_method = se_description(s.se, ["propensity score"], prop.phi is not None)
        estimates = []
        for name in cohort.outcomes:
            y = cohort.y(name)
            mu0, mu1, phi0, phi1 = ipw_att(y, t, prop.odds, keep=keep,
                                           phi_gamma=prop.phi, free=prop.free)
            otype = cohort.outcome_types[name]
            c = ~t & keep
            noise = working_outcome_model(cohort.X, y, t & keep, c, otype,
                                          c * prop.odds / (c * prop.odds).sum(),
                                          cohort.design_columns)
            estimates.append(outcome_estimate(
                name, otype, mu0, mu1, phi0, phi1, cluster=s.cluster,
                n_treated=s.n_treated, n_comparison=s.n_comparison, naive=float(y[~t].mean()),
                se_method=se_method, noise=noise))
        balance = BalanceTable(cohort.X, cohort.design_columns, t, w, cohort.binary_columns,
                               estimand="ATT")
        ess = balance.effective_sample_size()
        info.update({"estimand": self.estimand, "propensity_model": prop.model, "se": s.se,
                     "effective_sample_size": ess})
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={"propensity": prop},
        )
