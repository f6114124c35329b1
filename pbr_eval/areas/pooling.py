r"""Partial pooling of area estimates: the Fay-Herriot area-level model.

Each area's direct estimate :math:`\hat\theta_a` (on the modelling scale:
logit for rates) with sampling variance :math:`v_a` is shrunk towards what
similar areas show, :math:`z_a'\gamma`, by the empirical-Bayes weight
:math:`B_a = v_a / (\tau^2 + v_a)`, with :math:`\tau^2` estimated by REML.
The direct estimates themselves come from one national outcome model plus
area offsets (:func:`logit_offsets`, :func:`slope_variance`) or from any
estimator per area (:mod:`pbr_eval.areas.rates`).

References
----------
Fay, R. E. & Herriot, R. A. (1979). Estimates of income for small places: an
application of James-Stein procedures to census data. JASA 74, 269-277.
Prasad, N. G. N. & Rao, J. N. K. (1990); Datta, G. S. & Lahiri, P. (2000):
mean squared error of the EBLUP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from pbr_eval.exceptions import (
    EstimationError,
)

__all__ = ["FayHerriotFit", "fay_herriot", "logit_offsets", "slope_variance"]


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

