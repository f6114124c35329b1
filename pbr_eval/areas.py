r"""Local non-intervention rates: one per area, unpooled and partially pooled,
and area tariffs that are fair to each area.

A programme run across many local authorities needs each area's
non-intervention rate (the outcome rate its treated cohort would have had
without the programme), but most areas have small cohorts. This module gives

* :func:`area_rates`: for each area's treated cohort, an *unpooled* estimate
  (from that area's own comparison data) and a *partially pooled*
  empirical-Bayes estimate (Fay-Herriot / Efron-Morris shrinkage towards what
  similar areas show, optionally on area covariates such as the
  unemployment rate), with intervals and the shrinkage factor per area;
  returned as :class:`AreaRates` (read-only), with a funnel plot, a ranked
  plot and a disclosure-controlled table for reports;
* :func:`area_tariffs`: a price and a minimum performance level per area, and
  the misallocation table: how much each area's providers would be over- or
  under-paid under one national price (:class:`AreaTariffs`);
* the pure functions behind them (:func:`fay_herriot`,
  :func:`misallocation`, :func:`funnel_limits`).

See ``docs/areas.md`` for a commissioner's guide and worked examples.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, logit

from pbr_eval._provenance import __version__, versions
from pbr_eval.cohort import Cohort
from pbr_eval.disclosure import MARKER, DisclosurePolicy, is_hidden
from pbr_eval.exceptions import (
    DataError,
    EstimationError,
    NotViableError,
    OptionError,
    PbrEvalError,
)
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import (
    AREA_ESTIMATES,
    BETTER,
    DEFAULT_DISCLOSURE_THRESHOLD,
    DEFAULT_LEVEL,
    check_choice,
    check_int,
    check_level,
    check_positive,
    check_probability,
    check_rate,
)
from pbr_eval.pricing.recommend import price_from_rate
from pbr_eval.results._readonly import ReadOnly

__all__ = [
    "AREA_COLUMNS",
    "TARIFF_COLUMNS",
    "NATIONAL_MODEL",
    "AreaRates",
    "AreaTariffs",
    "FayHerriotFit",
    "area_rates",
    "area_tariffs",
    "fay_herriot",
    "funnel_limits",
    "logit_offsets",
    "misallocation",
    "slope_variance",
]

#: The cheap default of :func:`area_rates`: one national outcome model plus
#: each area's own comparison data (see :func:`area_rates`, Notes).
NATIONAL_MODEL = "national_model"

#: Columns of :meth:`AreaRates.to_frame`, in order (a public contract).
AREA_COLUMNS = [
    "area",
    "n_treated",
    "n_comparison",
    "observed",
    "unpooled",
    "unpooled_se",
    "unpooled_ci_lower",
    "unpooled_ci_upper",
    "pooled",
    "pooled_se",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "prior_mean",
    "shrinkage",
    "note",
]

#: Columns of :meth:`AreaTariffs.to_frame`, in order.
TARIFF_COLUMNS = [
    "area",
    "n_treated",
    "non_intervention",
    "non_intervention_ci_lower",
    "non_intervention_ci_upper",
    "expected_rate",
    "minimum_performance_level",
    "price",
    "band_lower",
    "band_upper",
    "national_price",
    "expected_outcomes",
    "payment_at_area_price",
    "payment_at_national_price",
    "misallocation",
    "misallocation_per_person",
]

#: Cells counting fewer people than this are suppressed in the disclosure table.
DISCLOSURE_MIN_COUNT = DEFAULT_DISCLOSURE_THRESHOLD
_AREA_COLUMNS = (Column("area", "text", "Area"),
                 Column("n_treated", "count", "People in the programme"),
                 Column("n_comparison", "count", "People in the comparison pool"))
#: Column kinds of :meth:`AreaRates.disclosure_table` (binary outcome).
AREA_DISCLOSURE_SCHEMA = Schema((*_AREA_COLUMNS,
                                 Column("observed", "rate", "Observed rate",
                                        denominator="n_treated"),
                                 Column("non_intervention", "rate", "Non-intervention rate"),
                                 Column("ci_lower", "rate", "Lower limit"),
                                 Column("ci_upper", "rate", "Upper limit"),
                                 Column("shrinkage", "number", "Shrinkage"),
                                 Column("disclosure", "text", "Disclosure control")))
_AREA_MEANS_SCHEMA = Schema(tuple(
    Column(c.name, "mean", c.label, denominator=c.denominator) if c.kind == "rate" else c
    for c in AREA_DISCLOSURE_SCHEMA))


# =========================================================================
# Pure numbers
# =========================================================================
@dataclass(frozen=True)
class FayHerriotFit:
    r"""The fitted area-level (Fay-Herriot) model and each area's posterior.

    Attributes
    ----------
    tau2 : float
        Between-area variance :math:`\tau^2` (REML).
    tau2_var : float
        Its asymptotic variance, :math:`2 / \sum_a (\tau^2 + v_a)^{-2}`.
    gamma : numpy.ndarray
        Regression coefficients of the prior mean (intercept first).
    cov_gamma : numpy.ndarray
        Their covariance :math:`(Z' W Z)^{-1}`.
    prior_mean : numpy.ndarray
        :math:`z_a'\hat\gamma` per area.
    shrinkage : numpy.ndarray
        :math:`B_a = v_a / (\tau^2 + v_a)` (1 for areas without a direct estimate).
    mean : numpy.ndarray
        Posterior (EBLUP) mean per area.
    mse : numpy.ndarray
        Prasad-Rao / Datta-Lahiri mean squared error per area,
        :math:`g_1 + g_2 + 2 g_3`.
    n_direct : int
        Number of areas with a direct estimate (used to fit the model).
    """

    tau2: float
    tau2_var: float
    gamma: np.ndarray
    cov_gamma: np.ndarray
    prior_mean: np.ndarray
    shrinkage: np.ndarray
    mean: np.ndarray
    mse: np.ndarray
    n_direct: int


def _reml_objective(tau2: float, theta: np.ndarray, v: np.ndarray, Z: np.ndarray) -> float:
    w = 1.0 / (tau2 + v)
    A = Z.T @ (Z * w[:, None])
    gamma = np.linalg.solve(A, Z.T @ (w * theta))
    r = theta - Z @ gamma
    return 0.5 * float(np.sum(np.log(tau2 + v)) + np.linalg.slogdet(A)[1] + np.sum(w * r * r))


def fay_herriot(theta: np.ndarray, v: np.ndarray, Z: np.ndarray) -> FayHerriotFit:
    r"""Empirical-Bayes shrinkage of area estimates (the Fay-Herriot model).

    Parameters
    ----------
    theta : numpy.ndarray, shape (m,)
        Direct (unpooled) estimate per area on the modelling scale (e.g.
        logit); NaN for an area without one.
    v : numpy.ndarray, shape (m,)
        Sampling variance of each direct estimate, treated as known; NaN
        where ``theta`` is NaN.
    Z : numpy.ndarray, shape (m, p)
        Area-level design of the prior mean, with an intercept column.

    Returns
    -------
    FayHerriotFit

    Raises
    ------
    EstimationError
        When fewer than ``p + 2`` areas have a direct estimate, or the
        design of the areas that do is singular.

    Notes
    -----
    The model (Fay and Herriot 1979; Efron and Morris 1975 without
    covariates) is

    .. math::
        \hat\theta_a \mid \theta_a \sim N(\theta_a, v_a), \qquad
        \theta_a \sim N(z_a'\gamma, \tau^2).

    :math:`\tau^2` is estimated by adjusted restricted maximum likelihood
    (Li and Lahiri 2010: the REML likelihood times :math:`\tau^2`, maximised
    by a bounded one-dimensional search), which, unlike plain REML, never
    returns :math:`\hat\tau^2 = 0`; plain REML's zero estimates shrink every
    area onto the regression line with intervals far too narrow. :math:`\gamma`
    is estimated by weighted least squares with weights :math:`1/(\tau^2+v_a)`. The posterior
    mean shrinks each direct estimate towards the regression prediction,
    :math:`\tilde\theta_a = \hat\theta_a - B_a(\hat\theta_a - z_a'\hat\gamma)`
    with :math:`B_a = v_a/(\tau^2+v_a)`: the noisier the area's own
    estimate, the more it borrows. Areas without a direct estimate get the
    regression prediction (:math:`B_a = 1`).

    The uncertainty reported is the second-order mean squared error of
    Prasad and Rao (1990), as adapted to REML by Datta and Lahiri (2000):
    :math:`g_{1a} = (1-B_a) v_a`, :math:`g_{2a} = B_a^2 z_a'(Z'WZ)^{-1}z_a`
    (estimating :math:`\gamma`) and :math:`g_{3a} = B_a^2 \operatorname{var}(\hat\tau^2)/(\tau^2+v_a)`
    (estimating :math:`\tau^2`); MSE :math:`= g_1 + g_2 + 2 g_3`. It thereby
    accounts for the hyperparameters being estimated, to second order.
    For an area without a direct estimate the MSE is
    :math:`\hat\tau^2 + z_a'(Z'WZ)^{-1}z_a`.

    References
    ----------
    Efron, B. and Morris, C. (1975). Data analysis using Stein's estimator and
    its generalizations. JASA 70, 311-319.
    Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small
    places. JASA 74, 269-277.
    Prasad, N. G. N. and Rao, J. N. K. (1990). The estimation of the mean
    squared error of small-area estimators. JASA 85, 163-171.
    Li, H. and Lahiri, P. (2010). An adjusted maximum likelihood method for
    solving small area estimation problems. J. Multivariate Anal. 101, 882-892.
    Datta, G. S. and Lahiri, P. (2000). A unified measure of uncertainty of
    estimated best linear unbiased predictors in small area estimation
    problems. Statistica Sinica 10, 613-627.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([0.1, 0.9, -0.6, 0.4, -0.2, 1.2])
    >>> v = np.array([0.01, 0.2, 0.05, 0.1, 0.02, 0.4])
    >>> fit = fay_herriot(theta, v, np.ones((6, 1)))
    >>> round(fit.tau2, 3)
    0.626
    >>> fit.shrinkage.round(2)  # the noisiest area (the last) borrows most
    array([0.02, 0.24, 0.07, 0.14, 0.03, 0.39])
    >>> fit.mean.round(2)
    array([ 0.1 ,  0.73, -0.54,  0.37, -0.19,  0.82])
    """
    theta = np.asarray(theta, dtype=float)
    v = np.asarray(v, dtype=float)
    Z = np.asarray(Z, dtype=float)
    m, p = Z.shape
    direct = np.isfinite(theta) & np.isfinite(v) & (v > 0)
    k = int(direct.sum())
    if k < p + 2:
        raise EstimationError(
            f"Partial pooling needs direct estimates in at least {p + 2} areas (for {p} "
            f"prior-mean coefficient(s) and the between-area variance); found {k}. Use fewer "
            "area covariates, or merge small areas."
        )
    th, vv, Zd = theta[direct], v[direct], Z[direct]
    if np.linalg.matrix_rank(Zd) < p:
        raise EstimationError(
            "The area covariates are collinear (or constant) over the areas with a direct "
            "estimate; drop one of them."
        )
    spread = float(np.var(th)) if k > 1 else 0.0
    upper = max(4.0 * spread, 4.0 * float(np.median(vv)), 1e-8)
    # Adjusted REML (Li and Lahiri 2010): maximise L_R(tau2) * tau2, which keeps
    # tau2 > 0 so that no area is pulled entirely onto the regression line.
    res = optimize.minimize_scalar(
        lambda s2: _reml_objective(s2, th, vv, Zd) - math.log(s2),
        bounds=(1e-12 * upper, upper), method="bounded",
        options={"xatol": 1e-10 * upper},
    )
    tau2 = float(res.x)
    w = 1.0 / (tau2 + vv)
    A = Zd.T @ (Zd * w[:, None])
    cov_gamma = np.linalg.inv(A)
    gamma = cov_gamma @ (Zd.T @ (w * th))
    tau2_var = 2.0 / float(np.sum(w * w))
    prior = Z @ gamma
    g2_lin = np.einsum("ij,jk,ik->i", Z, cov_gamma, Z)
    B = np.ones(m)
    mean = prior.copy()
    mse = tau2 + g2_lin
    Bd = vv / (tau2 + vv)
    B[direct] = Bd
    mean[direct] = th - Bd * (th - prior[direct])
    g1 = (1.0 - Bd) * vv
    g2 = Bd**2 * g2_lin[direct]
    g3 = Bd**2 * tau2_var / (tau2 + vv)
    mse[direct] = g1 + g2 + 2.0 * g3
    return FayHerriotFit(
        tau2=tau2, tau2_var=tau2_var, gamma=gamma, cov_gamma=cov_gamma, prior_mean=prior,
        shrinkage=B, mean=mean, mse=mse, n_direct=k,
    )


def logit_offsets(
    eta: np.ndarray, y: np.ndarray, code: np.ndarray, n_areas: int, *, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    r"""Each area's shift of a national logit model, from its own rows.

    Solves, per area, :math:`\frac{1}{n_a}\sum_{i \in a} \operatorname{expit}(\eta_i + \delta_a)
    = (O_a + \tfrac12)/(n_a + 1)`, the maximum-likelihood equation with
    half an outcome added to the events and non-events (Haldane-Anscombe),
    so that an area where everybody (or nobody) had the outcome still gets a
    finite estimate. With equal :math:`\eta_i` it is the empirical logit.

    Returns
    -------
    delta, var : numpy.ndarray
        Offset per area and its variance :math:`1/\sum_i p_i(1-p_i)`
        (inverse Fisher information) evaluated at the national model
        (:math:`p_i = \operatorname{expit}(\eta_i)`), not at the area's own
        estimate: a variance computed at the estimate is correlated with it
        (areas with rates nearer 50% would look more precise and pull the
        pooled mean towards 50%), the known bias of "direct" variances for
        proportions (Rao and Molina 2015, sec. 6.1, on smoothed sampling
        variances). NaN for areas without rows.

    Examples
    --------
    >>> import numpy as np
    >>> d, v = logit_offsets(np.zeros(4), np.array([1.0, 0, 0, 0]), np.zeros(4, int), 1)
    >>> round(float(d[0]), 4)  # logit(1.5 / 5)
    -0.8473
    """
    n = np.bincount(code, minlength=n_areas).astype(float)
    has = n > 0
    events = np.bincount(code, weights=y, minlength=n_areas)
    target = np.divide(events + 0.5, n + 1.0, out=np.full(n_areas, 0.5), where=has)
    mean_eta = np.divide(np.bincount(code, weights=eta, minlength=n_areas), n,
                         out=np.zeros(n_areas), where=has)
    d = logit(target) - mean_eta
    nn = np.where(has, n, 1.0)
    for _ in range(100):
        pr = expit(eta + d[code])
        f = np.bincount(code, weights=pr, minlength=n_areas) / nn - target
        fp = np.bincount(code, weights=pr * (1.0 - pr), minlength=n_areas) / nn
        step = np.clip(np.divide(f, fp, out=np.zeros(n_areas), where=fp > 0), -2.0, 2.0)
        step[~has] = 0.0
        d -= step
        if float(np.max(np.abs(step))) < tol:
            break
    pr = expit(eta)  # smoothed variances: at the national model, not at the area's estimate
    info = np.bincount(code, weights=pr * (1.0 - pr), minlength=n_areas)
    var = np.divide(1.0, info, out=np.full(n_areas, np.nan), where=info > 0)
    d[~has] = np.nan
    var[~has] = np.nan
    return d, var


def funnel_limits(
    target: float, precision: np.ndarray, *, level: float, binary: bool
) -> tuple[np.ndarray, np.ndarray]:
    r"""Funnel-plot control limits around ``target`` (Spiegelhalter 2005).

    Parameters
    ----------
    target : float
        The rate areas are compared with (here the pooled national rate).
    precision : numpy.ndarray
        For a rate, the effective cohort size :math:`n` (the limits are
        :math:`\theta_0 \pm z\sqrt{\theta_0(1-\theta_0)/n}`, clipped to [0, 1]);
        for a mean, :math:`1/\mathrm{SE}^2` (limits :math:`\theta_0 \pm z/\sqrt{w}`).
    level : float
        Two-sided coverage, e.g. 0.95 or 0.998.
    binary : bool
        Whether the indicator is a rate.

    Returns
    -------
    lower, upper : numpy.ndarray

    Examples
    --------
    >>> lo, hi = funnel_limits(0.3, np.array([100.0]), level=0.95, binary=True)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.2102, 0.3898)
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    precision = np.asarray(precision, dtype=float)
    if binary:
        half = z * np.sqrt(target * (1.0 - target) / precision)
        return np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)
    half = z / np.sqrt(precision)
    return target - half, target + half


def misallocation(
    n_treated: np.ndarray,
    non_intervention: np.ndarray,
    expected_rate: np.ndarray,
    value_per_outcome: float,
    national_price: float | None = None,
) -> pd.DataFrame:
    r"""Money a single national price over- or under-pays each area.

    Parameters
    ----------
    n_treated : array
        People in each area's cohort, :math:`N_a`.
    non_intervention : array
        Each area's non-intervention rate :math:`n_a` (on the paid scale).
    expected_rate : array
        Each area's expected rate with the programme :math:`r_a`.
    value_per_outcome : float
        Value :math:`v` of one additional outcome.
    national_price : float, optional
        The one national price. Default: the value-for-money price at the
        national rates, :math:`P = v(1 - \bar n/\bar r)` with :math:`\bar n`
        and :math:`\bar r` the cohort-weighted means of :math:`n_a`, :math:`r_a`.

    Returns
    -------
    pandas.DataFrame
        Columns ``price`` (:math:`P_a = v(1 - n_a/r_a)`), ``national_price``,
        ``expected_outcomes`` (:math:`N_a r_a`), ``payment_at_area_price``
        (:math:`P_a N_a r_a = v N_a (r_a - n_a)`, the value of the additional
        outcomes), ``payment_at_national_price`` (:math:`P N_a r_a`),
        ``misallocation`` (their difference: positive means the area's
        providers are over-paid, i.e. paid for deadweight) and
        ``misallocation_per_person``.

    Notes
    -----
    With the default national price the misallocations sum to zero: one
    national price is budget-neutral overall but moves money from areas
    with low non-intervention rates (hard labour markets, where outcomes
    are hard to get) to areas with high ones (where many outcomes would
    have happened anyway) -- the Work Programme's problem.

    Examples
    --------
    Two areas of 100 people, non-intervention rates 10% and 30%, both
    expected to gain 10 points, an outcome worth 1,000:

    >>> t = misallocation(np.array([100, 100]), np.array([0.1, 0.3]),
    ...                   np.array([0.2, 0.4]), 1000.0)
    >>> t[["price", "national_price", "misallocation"]].round(2)
        price  national_price  misallocation
    0  500.00          333.33       -3333.33
    1  250.00          333.33        3333.33
    """
    N = np.asarray(n_treated, dtype=float)
    n = np.asarray(non_intervention, dtype=float)
    r = np.asarray(expected_rate, dtype=float)
    v = float(value_per_outcome)
    if national_price is None:
        n_bar = float(np.sum(N * n) / np.sum(N))
        r_bar = float(np.sum(N * r) / np.sum(N))
        national_price = v * (1.0 - n_bar / r_bar)
    P_a = v * (1.0 - n / r)
    outcomes = N * r
    pay_area = P_a * outcomes
    pay_nat = national_price * outcomes
    mis = pay_nat - pay_area
    return pd.DataFrame(
        {
            "price": P_a,
            "national_price": float(national_price),
            "expected_outcomes": outcomes,
            "payment_at_area_price": pay_area,
            "payment_at_national_price": pay_nat,
            "misallocation": mis,
            "misallocation_per_person": np.divide(mis, N, out=np.full(N.size, np.nan),
                                                  where=N > 0),
        }
    )


# =========================================================================
# Unpooled (direct) estimates on the modelling scale
# =========================================================================
@dataclass(frozen=True)
class _Direct:
    """Direct estimates on the modelling scale and how to map them to rates."""

    theta: np.ndarray  # (m,) modelling-scale estimate, NaN if none
    var: np.ndarray  # (m,) its variance
    link: str  # "logit_offset", "identity_offset", "logit", "identity"
    eta_t: np.ndarray | None  # treated linear predictors (logit_offset)
    code_t: np.ndarray | None  # treated area codes (logit_offset)
    base: np.ndarray | None  # mean treated prediction per area (identity_offset)
    notes: list[str]  # per-area note ("" if none)
    eta_c: np.ndarray | None  # comparison linear predictors (logit_offset), for smoothed variances
    code_c: np.ndarray | None  # comparison area codes (logit_offset)
    var_slope: np.ndarray | None  # the part of var inherited from the national slopes
    national: float  # the national model's non-intervention rate for all treated
    extra_info: dict[str, Any]


def _design_with_intercept(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X])


def slope_variance(
    X: np.ndarray, t: np.ndarray, code: np.ndarray, m: int, w: np.ndarray,
    cov_slopes: np.ndarray,
) -> np.ndarray:
    r"""Variance an area's offset inherits from the national slopes.

    An area's estimate is the average prediction for its treated, shifted so
    that the predictions for its comparison people match their outcomes;
    an error :math:`\Delta\beta` in the national slopes therefore moves the
    estimate (on the link scale) by :math:`h_a'\Delta\beta` with
    :math:`h_a = \bar x^w_{T,a} - \bar x^w_{C,a}`, the difference between the
    ``w``-weighted covariate means of the area's treated and comparison
    people (``w = p(1-p)`` for a logit, 1 for least squares). The variance
    is :math:`h_a' \operatorname{Cov}(\hat\beta) h_a` (delta method).
    """
    n1 = np.bincount(code[t], weights=w[t], minlength=m)
    n0 = np.bincount(code[~t], weights=w[~t], minlength=m)
    h = np.empty((m, X.shape[1]))
    for j in range(X.shape[1]):
        xt = np.bincount(code[t], weights=w[t] * X[t, j], minlength=m)
        xc = np.bincount(code[~t], weights=w[~t] * X[~t, j], minlength=m)
        h[:, j] = (np.divide(xt, n1, out=np.zeros(m), where=n1 > 0)
                   - np.divide(xc, n0, out=np.zeros(m), where=n0 > 0))
    return np.einsum("ij,jk,ik->i", h, cov_slopes, h)


def _national_model(cohort: Cohort, outcome: str, code: np.ndarray, m: int) -> _Direct:
    from pbr_eval.models.logit import fit_logit

    t = cohort.t
    y = cohort.y(outcome)
    X = cohort.X
    kind = cohort.outcome_types[outcome]
    n0 = np.bincount(code[~t], minlength=m)
    notes = ["" if k > 0 else "no comparison people in this area: regression prediction only"
             for k in n0]
    if kind == "binary":
        fit = fit_logit(X[~t], y[~t], names=cohort.design_columns)
        eta = fit.linear_predictor(X)
        delta, var = logit_offsets(eta[~t], y[~t], code[~t], m)
        p0 = expit(eta)
        var_slope = slope_variance(X, t, code, m, p0 * (1.0 - p0), fit.cov[1:, 1:])
        return _Direct(
            theta=delta, var=var + var_slope, link="logit_offset", eta_t=eta[t], code_t=code[t],
            base=None, notes=notes, eta_c=eta[~t], code_c=code[~t], var_slope=var_slope, national=float(expit(eta[t]).mean()),
            extra_info={"national_model": "logistic regression of the outcome on the "
                        "covariates over the comparison pool",
                        "national_coefficients": dict(zip(["intercept", *cohort.design_columns],
                                                          map(float, fit.params), strict=True))},
        )
    D = _design_with_intercept(X)
    D0, y0 = D[~t], y[~t]
    beta, *_ = np.linalg.lstsq(D0, y0, rcond=None)
    pred = D @ beta
    resid = y0 - pred[~t]
    dof = max(D0.shape[0] - D0.shape[1], 1)
    sigma2 = float(resid @ resid / dof)
    n0f = n0.astype(float)
    delta = np.divide(np.bincount(code[~t], weights=resid, minlength=m), n0f,
                      out=np.full(m, np.nan), where=n0 > 0)
    var = np.divide(sigma2, n0f, out=np.full(m, np.nan), where=n0 > 0)
    cov_beta = sigma2 * np.linalg.pinv(D0.T @ D0)
    var = var + slope_variance(X, t, code, m, np.ones(t.size), cov_beta[1:, 1:])
    n1 = np.bincount(code[t], minlength=m)
    base = np.bincount(code[t], weights=pred[t], minlength=m) / np.maximum(n1, 1)
    return _Direct(
        theta=delta, var=var, link="identity_offset", eta_t=None, code_t=None, base=base,
        notes=notes, eta_c=None, code_c=None, var_slope=None, national=float(pred[t].mean()),
        extra_info={"national_model": "least-squares regression of the outcome on the "
                    "covariates over the comparison pool",
                    "residual_variance": sigma2,
                    "national_coefficients": dict(zip(["intercept", *cohort.design_columns],
                                                      map(float, beta), strict=True))},
    )


def _per_area(
    cohort: Cohort, outcome: str, code: np.ndarray, m: int, method: str,
    options: Mapping[str, Any], min_area_treated: int,
) -> _Direct:
    from pbr_eval.estimators.base import build_estimator

    kind = cohort.outcome_types[outcome]
    binary = kind == "binary"
    theta = np.full(m, np.nan)
    var = np.full(m, np.nan)
    notes = [""] * m
    roles = cohort.roles()
    # one area is one cluster: cluster-robust standard errors make no sense within it
    roles.update(outcome=[outcome], min_treated=min_area_treated, missing="error", cluster=None)
    frame = cohort.data
    for a in range(m):
        sub = frame.loc[code == a]
        try:
            c = Cohort(sub, outcome_types={outcome: kind}, **roles)
            est = build_estimator(method, dict(options)).fit(c).estimate_for(outcome)
        except PbrEvalError as err:  # too small, one group only, no overlap, ...
            notes[a] = f"no direct estimate ({type(err).__name__}: {str(err)[:120]})"
            continue
        ni, se = est.non_intervention, est.non_intervention_se
        if not (math.isfinite(ni) and math.isfinite(se) and se > 0):
            notes[a] = "no direct estimate (standard error not available)"
            continue
        if binary:
            if not 0.0 < ni < 1.0:
                notes[a] = f"no direct estimate (estimated rate {ni:g} is at a bound)"
                continue
            theta[a] = float(logit(ni))
            var[a] = (se / (ni * (1.0 - ni))) ** 2
        else:
            theta[a], var[a] = ni, se**2
    return _Direct(
        theta=theta, var=var, link="logit" if binary else "identity", eta_t=None, code_t=None,
        base=None, notes=notes, eta_c=None, code_c=None, var_slope=None, national=float("nan"),
        extra_info={"per_area_method": method, "per_area_options": dict(options)},
    )


# =========================================================================
# Results
# =========================================================================
class AreaRates(ReadOnly):
    """Area-level non-intervention rates, unpooled and partially pooled (read-only).

    Returned by :func:`area_rates`.

    Attributes
    ----------
    outcome, outcome_type : str
    method : str
        ``"national_model"`` or the per-area estimator's name.
    level : float
        Confidence level of the default intervals.
    areas : list of str
        Area labels (areas with at least one treated person), in the order
        of :meth:`to_frame`.
    hyperparameters : mapping
        ``tau2`` (between-area variance on the modelling scale),
        ``tau2_se``, ``gamma`` (prior-mean coefficients by name),
        ``scale`` (``"logit"`` or ``"identity"``), ``n_direct``.
    national_rate : float
        Cohort-weighted mean of the pooled area rates: the single national
        non-intervention rate for the whole treated cohort.
    info : mapping
        Settings, cohort description, rows dropped, fingerprint, versions, notes.
    """

    _redo = "call area_rates() again"

    def __init__(
        self, *, outcome: str, outcome_type: str, method: str, level: float,
        areas: Sequence[str], n_treated: np.ndarray, n_comparison: np.ndarray,
        observed: np.ndarray, direct: _Direct, fit: FayHerriotFit, gamma_names: Sequence[str],
        info: Mapping[str, Any],
    ) -> None:
        self.outcome = outcome
        self.outcome_type = outcome_type
        self.method = method
        self.level = level
        self.areas = list(areas)
        self._n1 = np.asarray(n_treated)
        self._n0 = np.asarray(n_comparison)
        self._observed = np.asarray(observed, dtype=float)
        self._direct = direct
        self._fit = fit
        self.hyperparameters = MappingProxyType({
            "tau2": fit.tau2,
            "tau2_se": math.sqrt(fit.tau2_var),
            "gamma": dict(zip(gamma_names, map(float, fit.gamma), strict=True)),
            "scale": "logit" if direct.link.startswith("logit") else "identity",
            "n_direct": fit.n_direct,
        })
        pooled, _ = self._to_rate(fit.mean[:, None])
        self.national_rate = float(np.sum(self._n1 * pooled[:, 0]) / np.sum(self._n1))
        self.info = MappingProxyType(dict(info))
        self._freeze()


    # ------------------------------------------------------------- mapping
    def _to_rate(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map modelling-scale values ``D`` (m, K) to rates and their derivative."""
        d = self._direct
        m = len(self.areas)
        D = np.asarray(D, dtype=float)
        if d.link == "logit_offset":
            assert d.eta_t is not None and d.code_t is not None
            Dz = np.where(np.isfinite(D), D, 0.0)
            P = expit(d.eta_t[:, None] + Dz[d.code_t])
            rate = np.stack([np.bincount(d.code_t, weights=P[:, k], minlength=m)
                             for k in range(D.shape[1])], axis=1)
            der = np.stack([np.bincount(d.code_t, weights=P[:, k] * (1 - P[:, k]), minlength=m)
                            for k in range(D.shape[1])], axis=1)
            n1 = self._n1[:, None].astype(float)
            rate, der = rate / n1, der / n1
            rate[~np.isfinite(D)] = np.nan
            return rate, der
        if d.link == "identity_offset":
            assert d.base is not None
            return d.base[:, None] + D, np.ones_like(D)
        if d.link == "logit":
            p = expit(D)
            return p, p * (1 - p)
        return D.copy(), np.ones_like(D)

    # ------------------------------------------------------------- tables
    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """One row per area: unpooled and pooled rates with intervals, and shrinkage.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``).

        Returns
        -------
        pandas.DataFrame
            Columns as listed in :data:`AREA_COLUMNS`. ``shrinkage`` is
            :math:`B_a`, the weight on the prior mean (0: the area's own
            data only; 1: entirely borrowed). Intervals are computed on the
            modelling scale (logit for rates) and mapped back, so they stay
            inside [0, 1]. ``*_se`` are delta-method standard errors on the
            rate scale.
        """
        level = self.level if level is None else check_level(level)
        z = float(stats.norm.ppf(0.5 + level / 2))
        d, f = self._direct, self._fit
        s_u = np.sqrt(d.var)
        s_p = np.sqrt(f.mse)
        D = np.column_stack([d.theta, d.theta - z * s_u, d.theta + z * s_u,
                             f.mean, f.mean - z * s_p, f.mean + z * s_p, f.prior_mean])
        R, der = self._to_rate(D)
        frame = pd.DataFrame({
            "area": self.areas,
            "n_treated": self._n1.astype(np.int64),
            "n_comparison": self._n0.astype(np.int64),
            "observed": self._observed,
            "unpooled": R[:, 0],
            "unpooled_se": der[:, 0] * s_u,
            "unpooled_ci_lower": R[:, 1],
            "unpooled_ci_upper": R[:, 2],
            "pooled": R[:, 3],
            "pooled_se": der[:, 3] * s_p,
            "pooled_ci_lower": R[:, 4],
            "pooled_ci_upper": R[:, 5],
            "prior_mean": R[:, 6],
            "shrinkage": f.shrinkage,
            "note": d.notes,
        }, columns=AREA_COLUMNS)
        return frame

    def conf_int(self, level: float = DEFAULT_LEVEL, *, estimate: str = "pooled") -> pd.DataFrame:
        """Interval per area for the ``"pooled"`` (default) or ``"unpooled"`` rate."""
        check_choice("estimate", estimate, AREA_ESTIMATES)
        f = self.to_frame(level).set_index("area")
        return f[[f"{estimate}_ci_lower", f"{estimate}_ci_upper"]]

    def funnel_table(self) -> pd.DataFrame:
        """Unpooled area rates against the national rate, with funnel flags.

        Returns
        -------
        pandas.DataFrame
            One row per area with a direct estimate: ``area``,
            ``n_treated``, ``n_comparison``, ``unpooled``, ``precision``
            (effective cohort size :math:`\\theta_0(1-\\theta_0)/\\mathrm{SE}^2`
            for a rate, :math:`1/\\mathrm{SE}^2` for a mean), ``z``
            (:math:`(\\hat\\theta_a - \\theta_0)/\\mathrm{SE}_a`) and ``flag``:
            ``"above 99.8%"``, ``"above 95%"``, ``"within"``, ``"below 95%"``
            or ``"below 99.8%"`` limits.

        Notes
        -----
        The target :math:`\\theta_0` is :attr:`national_rate`; its own
        uncertainty is ignored, as usual for funnel plots (Spiegelhalter
        2005). Many areas outside the limits signal real between-area
        variation (over-dispersion): one national rate does not fit.
        """
        f = self.to_frame()
        f = f[np.isfinite(f["unpooled"]) & (f["unpooled_se"] > 0)].copy()
        theta0 = self.national_rate
        se = f["unpooled_se"].to_numpy()
        binary = self.outcome_type == "binary"
        prec = theta0 * (1 - theta0) / se**2 if binary else 1.0 / se**2
        z = (f["unpooled"].to_numpy() - theta0) / se
        z95, z998 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)
        flag = np.select(
            [z > z998, z > z95, z < -z998, z < -z95],
            ["above 99.8%", "above 95%", "below 99.8%", "below 95%"], default="within",
        )
        out = f[["area", "n_treated", "n_comparison", "unpooled"]].copy()
        out["precision"] = prec
        out["z"] = z
        out["flag"] = flag
        return out.reset_index(drop=True)

    def disclosure_table(
        self, *, min_count: int = DISCLOSURE_MIN_COUNT, level: float | None = None,
        policy: DisclosurePolicy | None = None,
    ) -> pd.DataFrame:
        """The area table for publication, with small numbers suppressed.

        Areas whose treated cohort is smaller than ``min_count`` are merged
        into one row, ``"Smaller areas (k merged)"``, whose rate is the
        cohort-weighted mean of their pooled rates (interval assuming the
        areas' errors independent, which ignores the shared prior and so is
        slightly narrow); if the merged cohort is itself below ``min_count``
        the row is suppressed. Any remaining count below ``min_count``
        (comparison numbers, outcome counts behind an observed rate) is shown
        as ``"[c]"``, and a binary observed rate is withheld when the number
        with or without the outcome is below ``min_count``. The area counts
        add up to the programme's and the pool's published sizes, so where a
        hidden count could be worked out from them a further area's count is
        hidden too (with its observed rate), by :mod:`pbr_eval.disclosure`.
        Only aggregates appear.

        Parameters
        ----------
        min_count : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
            Smallest count shown.
        policy : DisclosurePolicy, optional
            A report's policy (its threshold replaces ``min_count``).
        level : float, optional
            Confidence level.

        Returns
        -------
        pandas.DataFrame
            Columns ``area``, ``n_treated``, ``n_comparison``, ``observed``,
            ``non_intervention`` (pooled), ``ci_lower``, ``ci_upper``,
            ``shrinkage``, ``disclosure`` (what was done); the last row's
            ``disclosure`` states the rule.
        """
        if policy is None:
            policy = DisclosurePolicy(threshold=check_int("min_count", min_count, minimum=1))
        min_count = policy.threshold
        level = self.level if level is None else check_level(level)
        f = self.to_frame(level)
        z = float(stats.norm.ppf(0.5 + level / 2))
        small = f["n_treated"] < min_count
        binary = self.outcome_type == "binary"
        rows: list[dict[str, Any]] = [{
            "area": r["area"], "n_treated": int(r["n_treated"]),
            "n_comparison": int(r["n_comparison"]), "observed": float(r["observed"]),
            "non_intervention": r["pooled"], "ci_lower": r["pooled_ci_lower"],
            "ci_upper": r["pooled_ci_upper"], "shrinkage": r["shrinkage"], "disclosure": "",
        } for _, r in f[~small].iterrows()]
        k = int(small.sum())
        if k:
            g = f[small]
            n1 = float(g["n_treated"].sum())
            row: dict[str, Any] = {
                "area": f"Smaller areas ({k} merged)", "n_treated": int(n1),
                "n_comparison": int(g["n_comparison"].sum()), "observed": MARKER,
                "non_intervention": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
                "shrinkage": np.nan, "disclosure": "merged row suppressed: fewer than "
                f"{min_count} treated in total"}
            if n1 >= min_count:
                w = g["n_treated"].to_numpy() / n1
                est = float(w @ g["pooled"].to_numpy())
                se = float(np.sqrt(np.sum((w * g["pooled_se"].to_numpy()) ** 2)))
                lo, hi = est - z * se, est + z * se
                if binary:
                    lo, hi = max(lo, 0.0), min(hi, 1.0)
                row.update(observed=float(g["observed"].to_numpy() @ g["n_treated"].to_numpy())
                           / n1, non_intervention=est, ci_lower=lo, ci_upper=hi,
                           disclosure=f"{k} areas with fewer than {min_count} treated merged "
                           "(cohort-weighted mean of pooled rates)")
            else:
                row["n_comparison"] = MARKER
            rows.append(row)
        # the programme's and the pool's sizes are published: their area counts add up to them
        rows = policy.protect_rows(AREA_DISCLOSURE_SCHEMA if binary else _AREA_MEANS_SCHEMA,
                                   rows, public_sums=("n_treated", "n_comparison"))
        for r in rows:
            if r["disclosure"]:
                continue
            r["disclosure"] = "; ".join(what for col, what in (
                ("n_treated", "programme count suppressed"),
                ("observed", "observed rate suppressed (small count)"),
                ("n_comparison", "comparison count suppressed")) if is_hidden(r[col]))
        rule = (f"Disclosure control: counts below {min_count}, and further counts that would "
                f"let them be worked out from the totals, shown as '{MARKER}'; areas with "
                f"fewer than {min_count} treated merged; observed rates withheld where fewer "
                f"than {min_count} people had (or did not have) the outcome or the count is "
                "hidden.")
        rows.append({"area": "Note", "n_treated": "", "n_comparison": "", "observed": "",
                     "non_intervention": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
                     "shrinkage": np.nan, "disclosure": rule})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------- display
    def summary(self, level: float | None = None) -> str:
        """A plain-text summary for a commissioner."""
        level = self.level if level is None else check_level(level)
        f = self.to_frame(level)
        pct = int(round(level * 100))
        binary = self.outcome_type == "binary"

        def fmt(x: float) -> str:
            return f"{x:.1%}" if binary else f"{x:.3g}"

        h = self.hyperparameters
        lines = [
            f"pbr_eval: area non-intervention rates for '{self.outcome}' ({self.method})",
            "=" * 72,
            f"{len(f)} areas; {int(f['n_treated'].sum()):,} treated; "
            f"{h['n_direct']} areas with their own comparison estimate.",
            f"National non-intervention rate (cohort-weighted): {fmt(self.national_rate)}.",
            f"Between-area spread on the {h['scale']} scale: tau = {math.sqrt(h['tau2']):.3f} "
            f"(tau^2 = {h['tau2']:.4f}, SE {h['tau2_se']:.4f}).",
            f"Shrinkage towards the prior mean: median {np.median(f['shrinkage']):.2f} "
            f"(range {f['shrinkage'].min():.2f} to {f['shrinkage'].max():.2f}).",
            f"Pooled rates range from {fmt(f['pooled'].min())} to {fmt(f['pooled'].max())}.",
            "",
            f"{'area':<16}{'treated':>8}{'unpooled':>10}{'pooled':>9}  {pct}% CI (pooled)"
            f"{'shrink':>10}",
        ]
        show = f.sort_values("n_treated", ascending=False)
        for _, r in show.head(25).iterrows():
            unp = fmt(r["unpooled"]) if math.isfinite(r["unpooled"]) else "-"
            lines.append(
                f"{str(r['area'])[:15]:<16}{int(r['n_treated']):>8}{unp:>10}{fmt(r['pooled']):>9}"
                f"  {fmt(r['pooled_ci_lower'])} to {fmt(r['pooled_ci_upper'])}"
                f"{r['shrinkage']:>10.2f}"
            )
        if len(show) > 25:
            lines.append(f"... and {len(show) - 25} smaller areas (see to_frame()).")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append(f"pbr_eval {self.info.get('version', '?')}; data fingerprint "
                     f"{str(self.info.get('fingerprint', '?'))[:12]}.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"<AreaRates outcome={self.outcome!r} method={self.method!r} "
                f"areas={len(self.areas)}>")

    def _repr_html_(self) -> str:
        head = html.escape(f"{self.outcome} ({self.method})")
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                        escape=True)
        return f"<div><strong>Area non-intervention rates: {head}</strong>{table}</div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: the disclosure-controlled table and settings."""
        from pbr_eval.results.counterfactual import _jsonable

        return _jsonable({
            "outcome": self.outcome, "method": self.method, "level": self.level,
            "national_rate": self.national_rate,
            "hyperparameters": dict(self.hyperparameters),
            "areas": self.disclosure_table().to_dict(orient="records"),
            "info": dict(self.info),
        })

    # ------------------------------------------------------------- plots
    def plot_ranked(self, *, ax: Any = None, level: float | None = None) -> Any:
        """Areas ranked by pooled rate with intervals ("caterpillar" plot).

        Filled dots: pooled estimates with their intervals; open circles:
        unpooled estimates; dashed line: the national rate. Returns the
        matplotlib Figure (Agg backend; nothing is shown).
        """
        fig, ax = _axes(ax, figsize=(7.0, max(3.0, 0.12 * len(self.areas) + 1.5)))
        f = self.to_frame(level).sort_values("pooled").reset_index(drop=True)
        y = np.arange(len(f))
        ax.hlines(y, f["pooled_ci_lower"], f["pooled_ci_upper"], color="tab:blue", lw=1)
        ax.plot(f["pooled"], y, "o", color="tab:blue", ms=3, label="pooled (partial pooling)")
        ax.plot(f["unpooled"], y, "o", mfc="none", color="tab:gray", ms=3,
                label="unpooled (own data only)")
        ax.axvline(self.national_rate, ls="--", color="black", lw=1, label="national rate")
        if len(f) <= 40:
            ax.set_yticks(y)
            ax.set_yticklabels(f["area"].astype(str), fontsize=7)
        else:
            ax.set_yticks([])
            ax.set_ylabel(f"{len(f)} areas, ranked")
        ax.set_xlabel(f"non-intervention rate: {self.outcome}")
        ax.set_title("Area non-intervention rates, ranked")
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        return fig

    def plot_funnel(self, *, ax: Any = None) -> Any:
        """Funnel plot: unpooled area rates against precision, with 95% and 99.8% limits.

        Areas outside the 99.8% limits are drawn in red and labelled.
        Returns the matplotlib Figure. See :meth:`funnel_table`.
        """
        fig, ax = _axes(ax, figsize=(7.0, 4.5))
        t = self.funnel_table()
        binary = self.outcome_type == "binary"
        theta0 = self.national_rate
        lo_x = max(float(t["precision"].min()) * 0.8, 1e-9) if len(t) else 1.0
        hi_x = float(t["precision"].max()) * 1.2 if len(t) else 10.0
        grid = np.geomspace(lo_x, hi_x, 200)
        for lev, style in ((0.95, "--"), (0.998, ":")):
            lo, hi = funnel_limits(theta0, grid, level=lev, binary=binary)
            ax.plot(grid, lo, style, color="gray", lw=1, label=f"{lev:.1%} limits")
            ax.plot(grid, hi, style, color="gray", lw=1)
        ax.axhline(theta0, color="black", lw=1, label="national rate")
        out = t["flag"].str.contains("99.8")
        ax.plot(t.loc[~out, "precision"], t.loc[~out, "unpooled"], "o", color="tab:blue", ms=4)
        ax.plot(t.loc[out, "precision"], t.loc[out, "unpooled"], "o", color="tab:red", ms=4,
                label="outside 99.8% limits")
        for _, r in t[out].iterrows():
            ax.annotate(str(r["area"]), (r["precision"], r["unpooled"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("effective cohort size" if binary else "precision (1 / SE^2)")
        ax.set_ylabel(f"unpooled non-intervention rate: {self.outcome}")
        ax.set_title("Funnel plot of area non-intervention rates")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.add_subplot(1, 1, 1)


# =========================================================================
# Front door
# =========================================================================
def _area_design(
    areas: Sequence[str], area_covariates: pd.DataFrame | None
) -> tuple[np.ndarray, list[str]]:
    m = len(areas)
    if area_covariates is None:
        return np.ones((m, 1)), ["intercept"]
    if not isinstance(area_covariates, pd.DataFrame):
        raise OptionError(
            "`area_covariates` must be a pandas DataFrame indexed by area, one row per area "
            f"(e.g. data.groupby('local_authority')[['unemployment_rate']].first()); got "
            f"{type(area_covariates).__name__}."
        )
    idx = pd.Index(area_covariates.index.astype(str))
    if idx.has_duplicates:
        dup = idx[idx.duplicated()].unique()[:3].tolist()
        raise OptionError(
            f"`area_covariates` must have one row per area; areas {dup} appear more than once."
        )
    missing = [a for a in areas if a not in set(idx)]
    if missing:
        raise OptionError(
            f"`area_covariates` has no row for {len(missing)} area(s) with treated people "
            f"(e.g. {missing[:3]}); give a row for every area."
        )
    cols = [str(c) for c in area_covariates.columns]
    frame = area_covariates.set_axis(idx).loc[list(areas)]
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c].dtype) or frame[c].dtype == bool:
            raise OptionError(
                f"`area_covariates` column '{c}' must be numeric; found {frame[c].dtype}."
            )
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise OptionError(
            "`area_covariates` has missing or infinite values; fill them in for every area."
        )
    sd = values.std(axis=0)
    if np.any(sd == 0):
        const = [c for c, s in zip(cols, sd, strict=True) if s == 0]
        raise OptionError(f"`area_covariates` column(s) {const} are constant across areas; "
                          "drop them.")
    Zs = (values - values.mean(axis=0)) / sd
    return np.column_stack([np.ones(m), Zs]), ["intercept", *[f"{c} (standardised)"
                                                              for c in cols]]


def area_rates(
    cohort: Cohort,
    *,
    outcome: str | None = None,
    method: str = NATIONAL_MODEL,
    area_covariates: pd.DataFrame | None = None,
    level: float = DEFAULT_LEVEL,
    min_area_treated: int = 10,
    **options: Any,
) -> AreaRates:
    r"""Non-intervention rate of each area's treated cohort, unpooled and partially pooled.

    Parameters
    ----------
    cohort : Cohort
        Built with ``cluster=`` naming the area column (e.g. the local
        authority). Cross-sectional (no ``period``).
    outcome : str, optional
        The outcome (default: the cohort's first).
    method : str, default "national_model"
        How each area's own (unpooled) estimate is made. ``"national_model"``
        (fast at national scale; see Notes) or the name of any registered
        estimator (``"nearest"``, ...), which is then fitted separately in
        each area on that area's treated and comparison people.
    area_covariates : pandas.DataFrame, optional
        One row per area (index: area label), numeric columns such as the
        unemployment rate or a deprivation score. They enter the prior mean
        (empirical-Bayes regression), so areas borrow strength from
        *similar* areas rather than from all areas equally. Standardised
        internally.
    level : float, default 0.95
        Confidence level of the intervals.
    min_area_treated : int, default 10
        With a per-area estimator, areas with fewer treated than this get
        no unpooled estimate (their pooled estimate is the prior mean).
    **options
        Options of the per-area estimator (e.g. ``caliper=0.2``).

    Returns
    -------
    AreaRates

    Raises
    ------
    OptionError
        No area column, unknown outcome or method, options given to
        ``"national_model"``, bad ``area_covariates``.
    DataError
        Panel cohorts (use one period with ``cohort.at_period(...)``).
    EstimationError
        Too few areas with a direct estimate to estimate the between-area
        variance.

    Notes
    -----
    **Unpooled estimates, method "national_model".** One national outcome
    model is fitted on the whole comparison pool: a logistic regression
    for a binary outcome, least squares otherwise. Each area's own
    comparison people then estimate how far the area sits from the
    national model: a shift :math:`\hat\delta_a` on the logit scale
    (:func:`logit_offsets`) or the mean residual. The area's
    non-intervention rate for its treated is the average prediction with
    that shift,

    .. math::
        \hat n_a = \frac{1}{N_a}\sum_{i \in T_a}
        \operatorname{expit}(x_i'\hat\beta + \hat\delta_a),

    i.e. regression (outcome-model) adjustment in which the covariate
    slopes are national and the level is local. This costs one model fit
    and a few passes over the data, whatever the number of areas. It
    assumes the covariates act the same way in every area (only the
    level differs). Sampling variance of :math:`\hat\delta_a`: inverse
    Fisher information :math:`1/\sum_i p_i(1-p_i)` at the national model
    (binary; :func:`logit_offsets`) or :math:`\hat\sigma^2/n_{0a}` with the
    national residual variance (means; heteroscedasticity between areas is
    ignored), plus the part inherited from the national slopes
    (:func:`slope_variance`). For rates the information is then
    re-evaluated twice at the partially pooled estimates and the pooling
    refitted ("smoothed" sampling variances: neither correlated with the
    area's own error nor tied to the national rate), which brought the
    simulated coverage of the unpooled intervals from 0.93 to 0.94-0.95.
    The slopes' error is shared by all areas; the
    pooling step treats areas as independent, which is a small
    approximation when the comparison pool is large. A logistic model
    without area effects has slightly flatter slopes than the within-area
    ones (non-collapsibility); with a between-area standard deviation of
    0.3 on the logit scale the attenuation is about 1.5%.

    **Unpooled estimates, a registered estimator.** The estimator is fitted
    in each area separately; its estimate and standard error are put on
    the logit scale (rates) by the delta method. This is as good as the
    estimator is in small samples and slow with many areas.

    **Partial pooling.** The unpooled estimates enter the Fay-Herriot model
    (:func:`fay_herriot`) on the logit scale for rates (logit-normal) and
    the identity scale for means (Gaussian), with an intercept and the
    ``area_covariates`` in the prior mean. The posterior mean and its
    Prasad-Rao MSE (which allows for estimating the hyperparameters) are
    mapped back to the rate scale through the same function as the
    unpooled estimate, so intervals are monotone images of normal intervals
    and stay in [0, 1].

    The target is the mean, over the area's treated, of their expected
    non-intervention outcome given covariates and area; the realised
    outcomes add binomial noise no estimator can predict.

    References
    ----------
    Efron, B. and Morris, C. (1975). Data analysis using Stein's estimator and
    its generalizations. JASA 70, 311-319.
    Fay, R. E. and Herriot, R. A. (1979). JASA 74, 269-277.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley.
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
    performance. Statistics in Medicine 24, 1185-1202.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.areas import area_rates
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> rates = area_rates(cohort, outcome="reoffended")
    >>> rates
    <AreaRates outcome='reoffended' method='national_model' areas=20>
    >>> f = rates.to_frame()
    >>> bool(((f["shrinkage"] >= 0) & (f["shrinkage"] <= 1)).all())
    True
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Build one with "
            "pbr_eval.Cohort(data, ..., cluster='local_authority')."
        )
    if cohort.cluster is None:
        raise OptionError(
            "`cohort` has no area column: build the Cohort with `cluster=` naming it "
            "(e.g. cluster='local_authority')."
        )
    if cohort.is_panel:
        raise DataError(
            "Area rates need one row per person; this cohort has periods. Use "
            "cohort.at_period(<post period>) to take the outcome period."
        )
    if outcome is None:
        outcome = cohort.outcomes[0]
    check_choice("outcome", outcome, cohort.outcomes)
    level = check_level(level)
    min_area_treated = check_int("min_area_treated", min_area_treated, minimum=1)
    if method == NATIONAL_MODEL:
        if options:
            raise OptionError(
                f"Method '{NATIONAL_MODEL}' takes no estimator options; got "
                f"{', '.join(map(repr, options))}. Name a per-area estimator with `method=` to "
                "use them."
            )
    else:
        from pbr_eval.estimators.base import ESTIMATORS, build_estimator

        check_choice("method", method, [NATIONAL_MODEL, *sorted(ESTIMATORS)])
        build_estimator(method, dict(options))  # bad options fail here, not once per area

    labels = cohort.column(cohort.cluster).astype(str)
    t = cohort.t
    treated_areas = sorted(pd.unique(labels[t]).tolist())
    all_areas = pd.unique(labels).tolist()
    lookup = {a: i for i, a in enumerate(treated_areas)}
    m = len(treated_areas)
    code = pd.Series(labels).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    keep = code >= 0
    notes: list[str] = []
    n_no_treated = len(all_areas) - m
    if n_no_treated:
        notes.append(
            f"{n_no_treated} area(s) have comparison people but no treated people; they have no "
            "treated cohort to estimate for and are left out (their comparison people still "
            "inform the national model)."
        )
    y = cohort.y(outcome)
    n1 = np.bincount(code[t], minlength=m)
    n0 = np.bincount(code[keep & ~t], minlength=m)
    observed = np.bincount(code[t], weights=y[t], minlength=m) / n1

    if method == NATIONAL_MODEL:
        code_all = np.where(keep, code, m)  # areas without treated -> a spare slot
        direct = _national_model(cohort, outcome, code_all, m + 1)
        direct = _trim(direct, m)
    else:
        direct = _per_area(cohort, outcome, code, m, method, options, min_area_treated)

    Z, gamma_names = _area_design(treated_areas, area_covariates)
    try:
        fit = fay_herriot(direct.theta, direct.var, Z)
    except EstimationError as err:
        failed = [(a, n) for a, n in zip(treated_areas, direct.notes, strict=True) if n]
        if not failed:
            raise
        raise EstimationError(
            f"{err} {len(failed)} area(s) have no direct estimate, e.g. {failed[0][0]}: "
            f"{failed[0][1]}"
        ) from err
    if direct.link == "logit_offset":
        for _ in range(_SMOOTHING_ROUNDS):
            direct = _smooth_variances(direct, fit.mean)
            fit = fay_herriot(direct.theta, direct.var, Z)
    if float(np.median(fit.shrinkage)) > 0.9:
        notes.append(
            "Most areas borrow over 90% of their estimate from the prior mean: their own data "
            "show little more spread than chance would give."
        )
    info = {
        "method": method,
        "outcome": outcome,
        "level": level,
        "area_column": cohort.cluster,
        "area_covariates": None if area_covariates is None else list(area_covariates.columns),
        "min_area_treated": min_area_treated,
        "options": dict(options),
        "pooling": "Fay-Herriot empirical Bayes (REML), Prasad-Rao/Datta-Lahiri MSE",
        "cohort": cohort.describe(),
        "dropped": [d.to_dict() for d in cohort.dropped],
        "fingerprint": cohort.fingerprint,
        "version": __version__,
        "versions": versions(),
        "notes": notes,
        **direct.extra_info,
    }
    return AreaRates(
        outcome=outcome, outcome_type=cohort.outcome_types[outcome], method=method, level=level,
        areas=treated_areas, n_treated=n1, n_comparison=n0, observed=observed, direct=direct,
        fit=fit, gamma_names=gamma_names, info=info,
    )


#: Rounds of re-evaluating the logit sampling variances at the pooled estimates.
_SMOOTHING_ROUNDS = 2


def _smooth_variances(d: _Direct, delta: np.ndarray) -> _Direct:
    """Sampling variances re-evaluated at the pooled offsets (smoothed variances).

    The inverse information ``1 / sum p_i (1 - p_i)`` depends on the rate; taken
    at the area's own estimate it is correlated with the estimate's error, taken
    at the national rate it is too small for areas whose rate is far from 50%.
    At the partially pooled estimate it is neither.
    """
    assert d.eta_c is not None and d.code_c is not None and d.var_slope is not None
    m = d.theta.size
    keep = d.code_c < m
    code = d.code_c[keep]
    pr = expit(d.eta_c[keep] + delta[code])
    info = np.bincount(code, weights=pr * (1.0 - pr), minlength=m)
    var = np.divide(1.0, info, out=np.full(m, np.nan), where=info > 0) + d.var_slope
    var[~np.isfinite(d.theta)] = np.nan
    return _Direct(
        theta=d.theta, var=var, link=d.link, eta_t=d.eta_t, code_t=d.code_t, base=d.base,
        notes=d.notes, eta_c=d.eta_c, code_c=d.code_c, var_slope=d.var_slope,
        national=d.national, extra_info=d.extra_info,
    )


def _trim(d: _Direct, m: int) -> _Direct:
    """Drop the spare slot that held areas without treated people."""
    return _Direct(
        theta=d.theta[:m], var=d.var[:m], link=d.link, eta_t=d.eta_t, code_t=d.code_t,
        base=None if d.base is None else d.base[:m], notes=d.notes[:m], national=d.national,
        extra_info=d.extra_info, eta_c=d.eta_c, code_c=d.code_c,
        var_slope=None if d.var_slope is None else d.var_slope[:m],
    )


# =========================================================================
# Tariffs
# =========================================================================
class AreaTariffs(ReadOnly):
    """Area prices, minimum performance levels and the misallocation table (read-only).

    Returned by :func:`area_tariffs`.

    Attributes
    ----------
    national : mapping
        ``non_intervention``, ``expected_rate``, ``price`` and
        ``minimum_performance_level`` for one national tariff.
    info : mapping
        Inputs and notes.
    """

    _redo = "call area_tariffs() again"

    def __init__(self, frame: pd.DataFrame, *, national: Mapping[str, float],
                 info: Mapping[str, Any]) -> None:
        self._frame = frame
        self.national = MappingProxyType(dict(national))
        self.info = MappingProxyType(dict(info))
        self._freeze()


    def to_frame(self) -> pd.DataFrame:
        """One row per area, columns :data:`TARIFF_COLUMNS`."""
        return self._frame.copy()

    @property
    def total_misallocated(self) -> float:
        """Money paid to the wrong areas under one national price: half the sum of |misallocation|."""
        return float(0.5 * np.abs(self._frame["misallocation"]).sum())

    def summary(self) -> str:
        """Plain-text summary for a commissioner."""
        f = self._frame
        nat = self.national
        paid = self.info.get("paid_outcome", "")
        total_pay = float(f["payment_at_national_price"].sum())
        over = f[f["misallocation"] > 0]
        under = f[f["misallocation"] < 0]
        lines = [
            f"pbr_eval: area tariffs for '{paid}'",
            "=" * 72,
            f"National: non-intervention {nat['non_intervention']:.1%}, expected "
            f"{nat['expected_rate']:.1%}, price {nat['price']:,.0f} per outcome, minimum "
            f"performance level {nat['minimum_performance_level']:.1%}.",
            f"Area prices range from {f['price'].min():,.0f} to {f['price'].max():,.0f}; "
            f"MPLs from {f['minimum_performance_level'].min():.1%} to "
            f"{f['minimum_performance_level'].max():.1%}.",
            f"Under one national price {self.total_misallocated:,.0f} of {total_pay:,.0f} "
            f"({self.total_misallocated / total_pay:.1%}) would go to the wrong areas: "
            f"{len(over)} areas over-paid (paid for deadweight), {len(under)} under-paid.",
        ]
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<AreaTariffs areas={len(self._frame)}>"

    def _repr_html_(self) -> str:
        return "<div><strong>Area tariffs</strong>" + self._frame.to_html(
            index=False, float_format=lambda v: f"{v:,.4g}", escape=True) + "</div>"

    def plot_misallocation(self, *, ax: Any = None) -> Any:
        """Ranked bars: money each area gains (over-paid) or loses under one national price.

        Returns the matplotlib Figure.
        """
        f = self._frame.sort_values("misallocation").reset_index(drop=True)
        fig, ax = _axes(ax, figsize=(7.0, max(3.0, 0.12 * len(f) + 1.5)))
        colors = np.where(f["misallocation"] > 0, "tab:red", "tab:blue")
        y = np.arange(len(f))
        ax.barh(y, f["misallocation"], color=colors)
        ax.axvline(0, color="black", lw=1)
        if len(f) <= 40:
            ax.set_yticks(y)
            ax.set_yticklabels(f["area"].astype(str), fontsize=7)
        else:
            ax.set_yticks([])
            ax.set_ylabel(f"{len(f)} areas, ranked")
        ax.set_xlabel("over-payment (+) / under-payment (-) under one national price")
        ax.set_title("Money misallocated by a single national price")
        fig.tight_layout()
        return fig


def area_tariffs(
    rates: AreaRates,
    *,
    value_per_outcome: float,
    effect: float | None = None,
    expected_rate: float | Mapping[str, float] | None = None,
    uplift: float = 0.1,
    better: str = "higher",
    estimate: str = "pooled",
) -> AreaTariffs:
    r"""Price, minimum performance level and misallocation for each area.

    Parameters
    ----------
    rates : AreaRates
        From :func:`area_rates`.
    value_per_outcome : float
        Value of one additional outcome.
    effect : float, optional
        Expected additional outcomes per person (e.g. 0.05 for 5
        percentage points), the same in every area: :math:`r_a = n_a + e`.
    expected_rate : float or dict, optional
        Instead of ``effect``: the expected rate with the programme, one
        for all areas or one per area. Give exactly one of the two.
    uplift : float, default 0.1
        Minimum performance level :math:`= n_a (1 + \text{uplift})`; the Work
        Programme's year-1 MPL of 5.5% on a 5% non-intervention estimate
        is an uplift of 0.1.
    better : {"higher", "lower"}, default "higher"
        For a binary outcome the programme should reduce (reoffending),
        ``"lower"`` prices its complement (not reoffending).
    estimate : {"pooled", "unpooled"}, default "pooled"
        Which area rates to price from. Areas without an unpooled estimate
        cannot be priced from unpooled rates and raise.

    Returns
    -------
    AreaTariffs

    Raises
    ------
    OptionError
        Neither or both of ``effect``/``expected_rate``; an area missing from
        ``expected_rate``; ``better="lower"`` for a non-binary outcome.
    NotViableError
        When an area's expected rate does not exceed its non-intervention rate.

    Notes
    -----
    Area price (value-for-money ceiling, :func:`pbr_eval.pricing.recommend.price_from_rate`):
    :math:`P_a = v(1 - n_a/r_a)`, with a band from the interval of
    :math:`n_a`. National price: the same formula at the cohort-weighted
    national rates :math:`\bar n = \sum N_a n_a / \sum N_a` and
    :math:`\bar r`. Misallocation (:func:`misallocation`):
    :math:`M_a = (P - P_a) N_a r_a`, what the area's providers receive
    under the national price minus the value of the additional outcomes
    they produce. The :math:`M_a` sum to zero.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.areas import area_rates, area_tariffs
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> rates = area_rates(pbr_eval.Cohort(sim.data, **sim.cohort_args), outcome="reoffended")
    >>> tariffs = area_tariffs(rates, value_per_outcome=5000, effect=0.05, better="lower")
    >>> bool(abs(tariffs.to_frame()["misallocation"].sum()) < 1e-6)  # budget-neutral
    True
    """
    if not isinstance(rates, AreaRates):
        raise OptionError(
            f"`rates` must be the result of area_rates(); got {type(rates).__name__}."
        )
    v = check_positive("value_per_outcome", value_per_outcome)
    uplift = check_probability("uplift", uplift, open_interval=False)
    check_choice("better", better, BETTER)
    check_choice("estimate", estimate, AREA_ESTIMATES)
    if (effect is None) == (expected_rate is None):
        raise OptionError(
            "Give exactly one of `effect` (expected additional outcomes per person, e.g. 0.05) "
            "and `expected_rate` (the rate expected with the programme); got "
            f"{'both' if effect is not None else 'neither'}."
        )
    f = rates.to_frame()
    n = f[estimate].to_numpy(dtype=float)
    lo = f[f"{estimate}_ci_lower"].to_numpy(dtype=float)
    hi = f[f"{estimate}_ci_upper"].to_numpy(dtype=float)
    if not np.isfinite(n).all():
        bad = f.loc[~np.isfinite(n), "area"].tolist()
        raise OptionError(
            f"`estimate='{estimate}'` has no rate for {len(bad)} area(s) (e.g. {bad[:3]}); "
            "use estimate='pooled'."
        )
    paid = rates.outcome
    if better == "lower":
        if rates.outcome_type != "binary":
            raise OptionError(
                f"`better='lower'` prices the complement of a rate; '{rates.outcome}' is "
                f"{rates.outcome_type}. Use a binary outcome."
            )
        n, lo, hi = 1.0 - n, 1.0 - hi, 1.0 - lo
        paid = f"not {rates.outcome}"
    areas = f["area"].tolist()
    if effect is not None:
        e = check_positive("effect", effect)
        r = n + e
        over = r > 1 if rates.outcome_type == "binary" else np.zeros(len(r), dtype=bool)
        if over.any():
            bad = [a for a, o in zip(areas, over, strict=True) if o]
            raise OptionError(
                f"`effect` = {e:g} added to the non-intervention rate of '{paid}' gives an "
                f"expected rate above 1 in {len(bad)} area(s) (e.g. {bad[0]}: "
                f"{float(n[over][0]):.3g} + {e:g} = {float(r[over][0]):.3g}), which would "
                "predict more outcomes than people. Give a smaller effect (5 points is 0.05)."
            )
        rule = f"expected rate = non-intervention rate + {e:g} in every area"
    elif isinstance(expected_rate, Mapping):
        missing = [a for a in areas if a not in expected_rate]
        if missing:
            raise OptionError(
                f"`expected_rate` has no rate for {len(missing)} area(s) (e.g. {missing[:3]}); "
                "give one per area or a single number."
            )
        r = np.array([check_rate(f"expected_rate['{a}']", expected_rate[a],
                                 outcome_type=rates.outcome_type, positive=True) for a in areas])
        rule = "expected rate given per area"
    else:
        r = np.full(len(areas), check_rate("expected_rate", expected_rate,
                                           outcome_type=rates.outcome_type, positive=True))
        rule = f"expected rate {float(r[0]):g} in every area"
    N = f["n_treated"].to_numpy(dtype=float)
    rows = []
    for i, a in enumerate(areas):
        pr = price_from_rate(outcome=rates.outcome, non_intervention=float(n[i]),
                             ci=(float(lo[i]), float(hi[i])), value_per_outcome=v,
                             expected_rate=float(r[i]), paid_outcome=f"{paid} in {a}",
                             outcome_type=rates.outcome_type)
        rows.append(pr)
    mis = misallocation(N, n, r, v)
    frame = pd.DataFrame({
        "area": areas,
        "n_treated": f["n_treated"].to_numpy(),
        "non_intervention": n,
        "non_intervention_ci_lower": lo,
        "non_intervention_ci_upper": hi,
        "expected_rate": r,
        "minimum_performance_level": n * (1.0 + uplift),
        "price": [row["recommended"] for row in rows],
        "band_lower": [row["band_lower"] for row in rows],
        "band_upper": [row["band_upper"] for row in rows],
        "national_price": mis["national_price"].to_numpy(),
        "expected_outcomes": mis["expected_outcomes"].to_numpy(),
        "payment_at_area_price": mis["payment_at_area_price"].to_numpy(),
        "payment_at_national_price": mis["payment_at_national_price"].to_numpy(),
        "misallocation": mis["misallocation"].to_numpy(),
        "misallocation_per_person": mis["misallocation_per_person"].to_numpy(),
    }, columns=TARIFF_COLUMNS)
    n_bar = float(np.sum(N * n) / np.sum(N))
    r_bar = float(np.sum(N * r) / np.sum(N))
    if r_bar <= n_bar:
        raise NotViableError(
            f"Nationally the expected rate ({r_bar:.4g}) does not exceed the non-intervention "
            f"rate ({n_bar:.4g}); no national price is value for money."
        )
    national = {
        "non_intervention": n_bar,
        "expected_rate": r_bar,
        "price": float(mis["national_price"].iloc[0]),
        "minimum_performance_level": n_bar * (1.0 + uplift),
    }
    info = {
        "outcome": rates.outcome, "paid_outcome": paid, "value_per_outcome": v,
        "uplift": uplift, "estimate": estimate, "expected_rate_rule": rule,
        "method": rates.method, "fingerprint": rates.info.get("fingerprint"),
        "notes": [
            "Misallocation = (national price - area price) x expected outcomes; positive means "
            "the area's providers would be paid for outcomes that would have happened anyway.",
        ],
    }
    return AreaTariffs(frame, national=national, info=info)
