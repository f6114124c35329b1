r"""Target populations beyond the treated: the ATE, ATC and overlap (ATO) estimands.

The weighting, regression and doubly robust estimators all estimate the two
potential-outcome means of one target population,

.. math::

    \mu_a = \frac{E[h(X)\, m_a(X)]}{E[h(X)]}, \qquad m_a(x) = E[Y \mid X = x, T = a],

for a *tilting function* :math:`h` (Li, Morgan & Zaslavsky 2018): :math:`h = 1`
for the whole population (ATE), :math:`h = e(x)` for the treated (ATT),
:math:`h = 1 - e(x)` for the comparison group (ATC) and :math:`h = e(x)(1 -
e(x))` for the overlap population (ATO), with :math:`e` the propensity score.
The non-intervention rate of the target population is :math:`\mu_0`.

This module holds the numbers as pure functions over arrays (each returns the
two means and their influence functions, ``mu_hat - mu ~= sum_i phi_i``):

* :func:`weighting_means`: normalised (Hajek) inverse-probability weighting with
  balancing weights :math:`w_1 = h/e` (treated) and :math:`w_0 = h/(1-e)`
  (comparison);
* :func:`gcomp_means`: g-computation (regression adjustment; with case weights
  :math:`w_a` in each group's outcome fit it is IPW regression adjustment),
  averaging each group's fitted model over the target population's rows
  (weights :math:`p_i`: 1 for the ATE, :math:`T_i` for the ATT, :math:`1-T_i`
  for the ATC, :math:`e_i(1-e_i)` for the ATO);
* :func:`pooled_gcomp_means`: g-computation from one outcome model fitted on
  both groups with a treatment indicator and chosen treatment interactions
  (the "standardisation" of Hernan & Robins, ch. 13);
* :func:`aipw_means`: augmented IPW, g-computation plus the weighted mean
  residual of each group (normalised by the weights' sum, or, as Stata's
  ``teffects aipw`` and statsmodels' ``TreatmentEffect.aipw``, by the target
  population's size).

Every influence function includes the estimation of the propensity model
(through ``phi_gamma``, the logistic coefficients' influence) and of the
outcome models (canonical-link GLMs), so the standard errors are the stacked
M-estimation sandwich (HC0) that statsmodels and Stata report.

References
----------
Li, F., Morgan, K. L. & Zaslavsky, A. M. (2018). Balancing covariates via
propensity score weighting. JASA 113(521), 390-400.
Hernan, M. A. & Robins, J. M. (2020). Causal Inference: What If. Chapman &
Hall/CRC, chapters 12-13.
Lunceford, J. K. & Davidian, M. (2004). Stratification and weighting via the
propensity score in estimation of causal treatment effects. Statistics in
Medicine 23, 2937-2960.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.exceptions import OptionError
from pbr_eval.inference.influence import glm_influence, with_intercept
from pbr_eval.models.outcome import OutcomeFit, fit_outcome

__all__ = ["Means", "target_weights", "balancing_weights", "weighting_means", "gcomp_means",
           "pooled_gcomp_means", "aipw_means", "POPULATION"]

#: Who each estimand's rates describe, in words (reports and summaries).
POPULATION = {
    "ATT": "the people in the programme",
    "ATC": "the comparison group",
    "ATE": "everyone in the data (programme and comparison group together)",
    "ATO": "the overlap population (people who could plausibly have been in either group, "
           "weighted by e(1 - e))",
}


@dataclass(frozen=True)
class Means:
    """The two potential-outcome means of a target population and their influences.

    Attributes
    ----------
    mu0, mu1 : float
        Estimated means without and with the programme.
    phi0, phi1 : numpy.ndarray
        Their influence functions (``mu_hat - mu ~= sum_i phi_i``).
    analytic : bool
        False when a scikit-learn outcome model was used (its estimation is
        then not in the influence functions).
    fits : tuple
        The outcome fits (group 0's first), if any.
    y_work, wls_weights : numpy.ndarray or None
        A working outcome and a weight per row (0 for rows not used) whose
        weighted means within the treated and within the comparison units
        are ``mu1`` and ``mu0``: the effect as the weighted least-squares
        coefficient of ``y_work`` on ``[1, T]``, which the few-cluster
        interval needs
        (:func:`~pbr_eval.estimators._outcome_se.working_regression`). IPW:
        the outcome and the balancing weights. G-computation and AIPW: each
        unit's residual from its own group's outcome model plus that group's
        g-computation mean :math:`A_a` (AIPW with ``normalize=False``: the
        residual times :math:`S_a / P`), with the model's fit weights (its
        residuals then average to zero within the group: canonical link and
        intercept) or the balancing weights (AIPW).

    Examples
    --------
    >>> import numpy as np
    >>> m = Means(0.3, 0.25, np.zeros(2), np.zeros(2))
    >>> round(m.mu1 - m.mu0, 2)
    -0.05
    """

    mu0: float
    mu1: float
    phi0: np.ndarray
    phi1: np.ndarray
    analytic: bool = True
    fits: tuple[OutcomeFit, ...] = ()
    y_work: np.ndarray | None = None
    wls_weights: np.ndarray | None = None


def _needs_ps(estimand: str, e: np.ndarray | None) -> np.ndarray:
    if e is None:
        raise OptionError(
            f"`estimand='{estimand}'` needs propensity scores (the overlap population is "
            "defined by them); use method='ipw', 'aipw' or 'ipwra'.")
    return e


def target_weights(
    estimand: str, t: np.ndarray, e: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Each row's weight :math:`p_i` in the target population and :math:`dp_i/d\eta_i`.

    Parameters
    ----------
    estimand : {"ATE", "ATT", "ATC", "ATO"}
    t : numpy.ndarray of bool
    e : numpy.ndarray, optional
        Propensity scores (needed for the ATO only).

    Returns
    -------
    p, dp : numpy.ndarray
        ``dp`` is the derivative with respect to the propensity model's
        linear predictor (non-zero for the ATO only).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, False])
    >>> [a.tolist() for a in target_weights("ATC", t)]
    [[0.0, 1.0], [0.0, 0.0]]
    >>> [a.tolist() for a in target_weights("ATO", t, np.array([0.5, 0.2]))]
    [[0.25, 0.16000000000000003], [0.0, 0.09600000000000002]]
    """
    tf = np.asarray(t, dtype=float)
    zero = np.zeros(tf.size)
    if estimand == "ATE":
        return np.ones(tf.size), zero
    if estimand == "ATT":
        return tf, zero
    if estimand == "ATC":
        return 1.0 - tf, zero
    e = _needs_ps(estimand, e)
    return e * (1 - e), e * (1 - e) * (1 - 2 * e)


def balancing_weights(
    estimand: str, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Balancing weights :math:`w_1 = h/e`, :math:`w_0 = h/(1-e)` and their log-derivatives.

    Parameters
    ----------
    estimand : {"ATE", "ATT", "ATC", "ATO"}
    e : numpy.ndarray
        Propensity scores.

    Returns
    -------
    w1, w0, a1, a0 : numpy.ndarray
        The treated and comparison weights and :math:`d \log w / d\eta`
        (:math:`\eta` the logistic linear predictor): ATE :math:`(e - 1, e)`,
        ATT :math:`(0, 1)`, ATC :math:`(-1, 0)`, ATO :math:`(-e, 1 - e)`.

    Examples
    --------
    >>> import numpy as np
    >>> w1, w0, a1, a0 = balancing_weights("ATE", np.array([0.25]))
    >>> float(w1[0]), float(w0[0]), float(a1[0]), float(a0[0])
    (4.0, 1.3333333333333333, -0.75, 0.25)
    """
    one = np.ones_like(e)
    if estimand == "ATE":
        w1, w0, a1 = 1 / e, 1 / (1 - e), e - 1
    elif estimand == "ATT":
        w1, w0, a1 = one, e / (1 - e), 0 * one
    elif estimand == "ATC":
        w1, w0, a1 = (1 - e) / e, one, -one
    elif estimand == "ATO":
        w1, w0, a1 = 1 - e, e, -e
    else:
        raise OptionError(f"`estimand` must be one of 'ATE', 'ATT', 'ATC', 'ATO'; got {estimand!r}.")
    return w1, w0, a1, a1 + 1


def _ps_terms(
    n: int, Z: np.ndarray | None, phi_gamma: np.ndarray | None, free: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    fr = np.ones(n) if free is None else free
    if phi_gamma is None or Z is None:
        return None, None, fr
    return Z, phi_gamma, fr


def weighting_means(
    y: np.ndarray,
    t: np.ndarray,
    e: np.ndarray,
    estimand: str,
    *,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: np.ndarray | None = None,
    free: np.ndarray | None = None,
) -> Means:
    r"""Normalised IPW means of a target population, with influence functions.

    Parameters
    ----------
    y : numpy.ndarray
    t : numpy.ndarray of bool
    e : numpy.ndarray
        Propensity scores (after any clipping).
    estimand : {"ATE", "ATT", "ATC", "ATO"}
    keep : numpy.ndarray of bool, optional
        Rows used (after trimming).
    Z, phi_gamma, free : numpy.ndarray, optional
        Propensity design (with intercept), the logistic coefficients'
        influences and the not-clipped indicator: with them the influence
        accounts for the estimated score.

    Returns
    -------
    Means

    Notes
    -----
    :math:`\hat\mu_a = \sum_{T=a} w_{a,i} y_i / S_a`, :math:`S_a = \sum_{T=a}
    w_{a,i}`; linearising in the logistic coefficients :math:`\gamma`,
    :math:`\phi_{a,i} = [1\{T_i = a\} w_{a,i}(y_i - \hat\mu_a) + \phi_{\gamma,i}'
    G_a] / S_a` with :math:`G_a = \sum_{T=a} w_{a,j} \alpha_{a,j} (y_j -
    \hat\mu_a) z_j` (:math:`\alpha = d\log w/d\eta`, see
    :func:`balancing_weights`; clipped scores do not move). For the ATT this
    is :func:`pbr_eval.estimators.weighting.ipw_att`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, True, False, False])
    >>> m = weighting_means(np.array([1., 0, 1, 0]), t, np.array([0.5, 0.25, 0.5, 0.25]), "ATE")
    >>> round(m.mu1, 4), round(m.mu0, 4)
    (0.3333, 0.6)
    """
    keep = np.ones(t.size, dtype=bool) if keep is None else keep
    Z, phi_gamma, fr = _ps_terms(t.size, Z, phi_gamma, free)
    w1, w0, a1, a0 = balancing_weights(estimand, e)
    out = []
    wls = np.where(t, w1, w0) * keep
    for grp, w, a in (((~t) & keep, w0, a0), (t & keep, w1, a1)):
        wg = np.where(grp, w, 0.0)
        S = float(wg.sum())
        mu = float(wg @ y / S)
        psi = wg * (y - mu)
        phi = psi.copy()
        if phi_gamma is not None and Z is not None:
            phi += phi_gamma @ (Z.T @ (psi * a * fr))
        out.append((mu, phi / S))
    return Means(out[0][0], out[1][0], out[0][1], out[1][1], y_work=y, wls_weights=wls)


def _target(estimand: str, t: np.ndarray, e: np.ndarray | None, keep: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
    p, dp = target_weights(estimand, t, e)
    p, dp = p * keep, dp * keep
    return p, dp, float(p.sum())


def _average(
    m: np.ndarray, v: np.ndarray | None, fit: OutcomeFit, X1_at: np.ndarray, p: np.ndarray,
    dp: np.ndarray, P: float, phi_beta: np.ndarray | None, Z: np.ndarray | None,
    phi_gamma: np.ndarray | None, fr: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Target average of predictions ``m`` and its influence (target and model parts)."""
    mu = float(p @ m / P)
    phi = p * (m - mu) / P
    if phi_gamma is not None and Z is not None and np.any(dp):
        phi = phi + phi_gamma @ (Z.T @ (dp * fr * (m - mu))) / P
    if phi_beta is not None and v is not None:
        phi = phi + phi_beta @ (X1_at.T @ (p * v) / P)
    return mu, phi


def _beta_influence(
    fit: OutcomeFit, X1: np.ndarray, r: np.ndarray, a_r: np.ndarray | None,
    Z: np.ndarray | None, phi_gamma: np.ndarray | None,
) -> np.ndarray | None:
    """Influence on a GLM's coefficients; ``a_r`` (weights' log-derivative x residual term) adds the estimated weights."""
    if not fit.analytic or fit.information is None:
        return None
    extra = None
    if a_r is not None and phi_gamma is not None and Z is not None:
        B = (X1 * a_r[:, None]).T @ Z
        extra = phi_gamma @ B.T
    return glm_influence(X1, r, fit.information, extra)


def _group_mean(
    y: np.ndarray, X: np.ndarray, X1: np.ndarray, grp: np.ndarray, model: Any,
    names: list[str] | None, target: tuple[np.ndarray, np.ndarray, float],
    ps: tuple[np.ndarray | None, np.ndarray | None, np.ndarray], *,
    wfit: np.ndarray | None = None, a: np.ndarray | None = None,
) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray | None, tuple[float, np.ndarray]]:
    """One group's outcome model (weights ``wfit``, if any) averaged over the target population.

    Returns the fit, its mean and variance for every row, the coefficients' influence and
    ``(mean, influence)`` from :func:`_average`; ``a`` is the balancing weights' derivative
    (the ``a_r`` term of :func:`_beta_influence`).
    """
    p, dp, P = target
    Z, phi_gamma, fr = ps
    fit = fit_outcome(X[grp], y[grp], model, weights=None if wfit is None else wfit[grp],
                      names=names)
    m, v = fit.predict(X)
    r = grp.astype(float) * (1.0 if wfit is None else wfit) * (y - m)
    a_r = None if a is None else r * a * fr
    phi_beta = _beta_influence(fit, X1, r, a_r, Z, phi_gamma)
    return fit, m, v, phi_beta, _average(m, v, fit, X1, p, dp, P, phi_beta, Z, phi_gamma, fr)


def gcomp_means(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    model: Any,
    estimand: str,
    *,
    e: np.ndarray | None = None,
    weighted: bool = False,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: np.ndarray | None = None,
    free: np.ndarray | None = None,
    names: list[str] | None = None,
) -> Means:
    r"""G-computation (and IPW regression adjustment) of a target population's two means.

    Parameters
    ----------
    y, t, X : numpy.ndarray
        Outcome, treatment (bool) and the outcome model's covariates (no intercept).
    model : {"linear", "logistic", "poisson"} or scikit-learn estimator
        Fitted separately on each group.
    estimand : {"ATE", "ATT", "ATC", "ATO"}
    e : numpy.ndarray, optional
        Propensity scores (needed for the ATO and for ``weighted``).
    weighted : bool, default False
        Fit each group's model with its balancing weights
        (:func:`balancing_weights`): IPW regression adjustment (Stata's
        ``teffects ipwra``).
    keep : numpy.ndarray of bool, optional
    Z, phi_gamma, free : numpy.ndarray, optional
        Propensity design, the logistic coefficients' influences and the
        not-clipped indicator.
    names : list of str, optional
        Covariate names for error messages.

    Returns
    -------
    Means

    Notes
    -----
    :math:`\hat\mu_a = \sum_i p_i \hat m_a(x_i) / \sum_i p_i`. The influence
    is :math:`p_i(\hat m_{a,i} - \hat\mu_a)/P + \phi_{\beta_a,i}' D_a` (plus
    :math:`\phi_{\gamma,i}'\sum_j \dot p_j (\hat m_{a,j} - \hat\mu_a) z_j / P`
    for the ATO) with :math:`D_a = \sum_j p_j \dot m_{a,j} x_j / P`;
    :math:`\phi_{\beta_a,i} = H_a^{-1}[1\{T_i=a\} w_{a,i} x_i (y_i - \hat m_{a,i})
    + B_a \phi_{\gamma,i}]` with :math:`B_a = \sum_{T=a} w_{a,j}\alpha_{a,j}
    (y_j - \hat m_{a,j}) x_j z_j'` when the weights are estimated.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, True])
    >>> y = np.array([5., 6., 1., 3., 1., 8.])
    >>> m = gcomp_means(y, t, X, "linear", "ATE")
    >>> round(m.mu1, 6), round(m.mu0, 6)
    (6.0, 2.0)
    """
    keep = np.ones(t.size, dtype=bool) if keep is None else keep
    Z, phi_gamma, fr = _ps_terms(t.size, Z, phi_gamma, free)
    if weighted or estimand == "ATO":
        e = _needs_ps(estimand, e)
    p, dp, P = _target(estimand, t, e, keep)
    X1 = with_intercept(X)
    bw = balancing_weights(estimand, e) if weighted and e is not None else None
    res = []
    fits = []
    y_work = y.astype(float)
    wls = keep.astype(float)
    for g, grp in ((0, ~t & keep), (1, t & keep)):
        fit, m, _, _, mean = _group_mean(
            y, X, X1, grp, model, names, (p, dp, P), (Z, phi_gamma, fr),
            wfit=None if bw is None else bw[1 - g], a=None if bw is None else bw[3 - g])
        fits.append(fit)
        res.append(mean)
        # the residual from the group's own fit (mean 0 with its fit weights) plus A_a
        y_work[grp] += mean[0] - m[grp]
        if bw is not None:
            wls[grp] *= bw[1 - g][grp]
    analytic = all(f.analytic for f in fits)
    return Means(res[0][0], res[1][0], res[0][1], res[1][1], analytic, tuple(fits),
                 y_work=y_work, wls_weights=wls)


def pooled_gcomp_means(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    model: Any,
    estimand: str,
    *,
    interactions: np.ndarray,
    keep: np.ndarray | None = None,
    names: list[str] | None = None,
) -> Means:
    r"""G-computation from one outcome model fitted on both groups (standardisation).

    The model's design is ``[1, X, T, T * X[:, interactions]]``; the means
    average its predictions with ``T`` set to 0 and to 1 over the target
    population (Hernan & Robins, Program 13.3, is this with a linear model
    and ``interactions`` the smoking-intensity column).

    Parameters
    ----------
    y, t, X : numpy.ndarray
    model : {"linear", "logistic", "poisson"} or scikit-learn estimator
    estimand : {"ATE", "ATT", "ATC"}
    interactions : numpy.ndarray of int
        Columns of ``X`` interacted with the treatment (all of them: the
        same predictions as separate models for a linear model).
    keep : numpy.ndarray of bool, optional
    names : list of str, optional

    Returns
    -------
    Means

    Notes
    -----
    With :math:`x_i(a)` the design row at treatment :math:`a`,
    :math:`\phi_{a,i} = p_i(\hat m_{a,i} - \hat\mu_a)/P + \phi_{\beta,i}'
    \sum_j p_j \dot m_{a,j} x_j(a) / P` and :math:`\phi_\beta` the pooled
    model's influence.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, True])
    >>> y = np.array([5., 6., 1., 3., 1., 8.])
    >>> m = pooled_gcomp_means(y, t, X, "linear", "ATE", interactions=np.array([0]))
    >>> round(m.mu1, 6), round(m.mu0, 6)
    (6.0, 2.0)
    """
    keep = np.ones(t.size, dtype=bool) if keep is None else keep
    p, dp, P = _target(estimand, t, None, keep)
    tf = t.astype(float)

    def design(a: np.ndarray) -> np.ndarray:
        return np.column_stack([X, a, a[:, None] * X[:, interactions]])

    Xd = design(tf)
    inames = None if names is None else (
        [*names, "treatment", *[f"treatment:{names[j]}" for j in interactions]])
    fit = fit_outcome(Xd[keep], y[keep], model, names=inames)
    m_obs = fit.predict(Xd)[0]
    r = keep * (y - m_obs)
    out = []
    for a in (0.0, 1.0):
        Xa = design(np.full(t.size, a))
        X1a = with_intercept(Xa)
        m, v = fit.predict(Xa)
        phi_beta = _beta_influence(fit, with_intercept(Xd), r, None, None, None)
        out.append(_average(m, v, fit, X1a, p, dp, P, phi_beta, None, None, np.ones(t.size)))
    # each group's residuals average to 0 (the intercept and treatment columns' scores)
    y_work = y - m_obs + np.where(t, out[1][0], out[0][0])
    return Means(out[0][0], out[1][0], out[0][1], out[1][1], fit.analytic, (fit,),
                 y_work=y_work, wls_weights=keep.astype(float))


def aipw_means(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    e: np.ndarray,
    model: Any,
    estimand: str,
    *,
    normalize: bool = True,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: np.ndarray | None = None,
    free: np.ndarray | None = None,
    names: list[str] | None = None,
) -> Means:
    r"""Augmented IPW of a target population's two means, with influence functions.

    Parameters
    ----------
    y, t, X : numpy.ndarray
        Outcome, treatment (bool), the outcome model's covariates.
    e : numpy.ndarray
        Propensity scores (after any clipping).
    model : {"linear", "logistic", "poisson"} or scikit-learn estimator
        Fitted (unweighted) on each group.
    estimand : {"ATE", "ATT", "ATC", "ATO"}
    normalize : bool, default True
        Divide each group's weighted residual sum by the weights' sum
        (Hajek); False divides by the target population's size
        :math:`\sum_i p_i` (Stata's ``teffects aipw``, statsmodels'
        ``TreatmentEffect.aipw`` and DoubleML's default).
    keep, Z, phi_gamma, free : numpy.ndarray, optional
        As for :func:`weighting_means`.
    names : list of str, optional

    Returns
    -------
    Means

    Notes
    -----
    :math:`\hat\mu_a = A_a + C_a`, :math:`A_a` the g-computation mean
    (:func:`gcomp_means`) and :math:`C_a = \sum_{T=a} w_{a,j}(y_j - \hat
    m_{a,j}) / S` with :math:`S = \sum_{T=a} w_a` (normalised) or :math:`S =
    \sum p` (not). Normalised, :math:`\phi_{C,i} = [1\{T_i=a\}w_{a,i}(y_i -
    \hat m_{a,i} - C_a) + \phi_{\gamma,i}'\sum_{T=a} w\alpha(y - \hat m - C_a)z
    - \phi_{\beta_a,i}'\sum_{T=a} w \dot m x] / S`; not normalised, the
    centring term is :math:`p_i C_a` (and :math:`\dot p_j C_a` in the
    :math:`\gamma` term).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, True])
    >>> y = np.array([5., 6., 1., 3., 1., 8.])
    >>> m = aipw_means(y, t, X, np.full(6, 0.5), "linear", "ATE")
    >>> round(m.mu1, 6), round(m.mu0, 6)
    (6.0, 2.0)
    """
    keep = np.ones(t.size, dtype=bool) if keep is None else keep
    Z, phi_gamma, fr = _ps_terms(t.size, Z, phi_gamma, free)
    p, dp, P = _target(estimand, t, e, keep)
    X1 = with_intercept(X)
    bw = balancing_weights(estimand, e)
    res = []
    fits = []
    y_work = y.astype(float)
    wls = np.zeros(t.size)
    for g, grp in ((0, ~t & keep), (1, t & keep)):
        fit, m, v, phi_beta, (A, phiA) = _group_mean(y, X, X1, grp, model, names, (p, dp, P),
                                                     (Z, phi_gamma, fr))
        fits.append(fit)
        w = np.where(grp, bw[1 - g], 0.0)
        wls += w
        a = bw[3 - g]
        resid = w * (y - m)
        if normalize:
            S = float(w.sum())
            C = float(resid.sum() / S)
            psi = resid - w * C
            dpsi = (resid - w * C) * a
        else:
            S = P
            C = float(resid.sum() / S)
            psi = resid - p * C
            dpsi = resid * a - dp * C
        phiC = psi.copy()
        if phi_gamma is not None and Z is not None:
            phiC += phi_gamma @ (Z.T @ (dpsi * fr))
        if phi_beta is not None and v is not None:
            phiC -= phi_beta @ (X1.T @ (w * v))
        res.append((A + C, phiA + phiC / S))
        # weighted by w its mean is A + C: the residual, times S_a / P when not normalised
        y_work[grp] = A + (y[grp] - m[grp]) * (1.0 if normalize else float(w.sum()) / S)
    analytic = all(f.analytic for f in fits)
    return Means(res[0][0], res[1][0], res[0][1], res[1][1], analytic, tuple(fits),
                 y_work=y_work, wls_weights=wls)
