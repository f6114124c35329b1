r"""Cox proportional hazards with Breslow's ties, its baseline hazard and influence functions.

Pure functions over arrays, for g-computation of the comparison group's
survival (:func:`pbr_eval.survival.estimate_survival` with ``method="cox"``
or ``"aipw"``). Coefficients, baseline hazard and predicted curves equal R
``survival``'s ``coxph(..., ties="breslow")`` and ``survfit(fit, newdata)``
(``tests/reference/survival``).

Written here rather than taken from lifelines (whose ``CoxPHFitter`` uses
Efron's ties and has no influence function for the baseline hazard, which
the standard errors of averaged predicted curves need); lifelines' Breslow
coefficients serve as a second reference.

Notation: linear predictor :math:`\eta_i = x_i'\beta`, :math:`r_i = e^{\eta_i}`,
weighted events :math:`d_k` at event times :math:`u_k`,
:math:`S^{(0)}_k = \sum_j w_j r_j 1\{T_j \ge u_k\}`,
:math:`\bar x_k = \sum_j w_j r_j x_j 1\{T_j \ge u_k\} / S^{(0)}_k`, Breslow
increments :math:`d\Lambda_k = d_k / S^{(0)}_k`.

References
----------
Cox, D. R. (1972). Regression models and life-tables. JRSS B 34, 187-220.
Breslow, N. E. (1974). Covariance analysis of censored survival data.
Biometrics 30, 89-99.
Reid, N. & Crepeau, H. (1985). Influence functions for proportional hazards
regression. Biometrika 72, 1-9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.exceptions import EstimationError

__all__ = ["CoxFit", "fit_cox", "cox_beta_influence"]


@dataclass(frozen=True)
class CoxFit:
    r"""A fitted Cox model with its Breslow baseline cumulative hazard.

    Attributes
    ----------
    params : numpy.ndarray
        Coefficients :math:`\beta` (no intercept).
    information : numpy.ndarray
        Observed information :math:`I(\hat\beta)`.
    times : numpy.ndarray
        Event times :math:`u_k`.
    dLambda : numpy.ndarray
        Breslow increments :math:`d\Lambda_k` of the baseline cumulative hazard.
    s0 : numpy.ndarray
        :math:`S^{(0)}_k`.
    xbar : numpy.ndarray, shape (K, p)
        :math:`\bar x_k`.
    n_iter : int
    loglik : float
        Partial log-likelihood at the estimate.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 1)); t = np.ceil(rng.exponential(5, 40)); d = np.ones(40)
    >>> fit = fit_cox(X, t, d, np.ones(40))
    >>> fit.params.shape, bool(fit.survival(X[:2], np.array([3.0])).max() < 1)
    ((1,), True)
    """

    params: np.ndarray
    information: np.ndarray
    times: np.ndarray
    dLambda: np.ndarray
    s0: np.ndarray
    xbar: np.ndarray
    n_iter: int
    loglik: float

    @property
    def cumhaz(self) -> np.ndarray:
        r"""Baseline cumulative hazard :math:`\Lambda_0(u_k)`."""
        return np.cumsum(self.dLambda)

    def index(self, t: np.ndarray | float) -> np.ndarray:
        """Position of the last event time at or before ``t`` (-1 before the first)."""
        return np.searchsorted(self.times, t, side="right") - 1

    def baseline(self, t: np.ndarray | float) -> np.ndarray:
        r""":math:`\Lambda_0(t)`, right-continuous."""
        return np.concatenate([[0.0], self.cumhaz])[self.index(np.asarray(t, float)) + 1]

    def risk(self, X: np.ndarray) -> np.ndarray:
        r""":math:`r = e^{x'\beta}` for rows of ``X``."""
        return np.exp(np.asarray(X, dtype=float) @ self.params)

    def survival(self, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        r"""Predicted :math:`S(t \mid x) = \exp(-\Lambda_0(t) e^{x'\beta})`, shape (rows, times).

        Examples
        --------
        >>> import numpy as np
        >>> x = np.array([[0.], [1], [0], [1], [0], [1]])
        >>> fit = fit_cox(x, np.array([1., 2, 3, 4, 5, 6]), np.array([1, 1, 0, 1, 1, 0]))
        >>> fit.survival(np.array([[0.], [1]]), np.array([0.5, 6])).round(4).tolist()
        [[1.0, 0.2496], [1.0, 0.3481]]
        """
        return np.exp(-np.outer(self.risk(X), self.baseline(t)))


def _sums(X: np.ndarray, time: np.ndarray, event: np.ndarray, w: np.ndarray,
          beta: np.ndarray) -> tuple[Any, ...]:
    """Return the event times and the risk-set sums at each.

    S0 (K,), S1 (K, p), with d_k and the weighted event covariate sum.
    """
    eta = X @ beta
    shift = eta.max() if eta.size else 0.0
    r = np.exp(eta - shift)  # scaled for overflow; scale cancels in ratios
    order = np.argsort(-time, kind="stable")
    ts = time[order]
    wr = (w * r)[order]
    # distinct times in decreasing order; cumulative sums to the end of each tied block
    uniq_desc, first = np.unique(-ts, return_index=True)
    ends = np.concatenate([first[1:], [ts.size]]) - 1
    c0 = np.cumsum(wr)[ends]
    c1 = np.cumsum(wr[:, None] * X[order], axis=0)[ends]
    d_at = np.add.reduceat((w * event)[order], first)
    has = d_at > 0
    times = -uniq_desc[has][::-1]
    s0 = c0[has][::-1]
    s1 = c1[has][::-1]
    d = d_at[has][::-1]
    return times, s0, s1, d, r, shift


def fit_cox(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    names: Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> CoxFit:
    r"""Fit a Cox proportional hazards model (Breslow's method for ties) by Newton-Raphson.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates (no intercept column: the baseline hazard absorbs it).
    time, event : numpy.ndarray
        Time to the event or censoring; 1 for an event.
    weights : numpy.ndarray, optional
        Case weights (e.g. matching or weighting weights); 0 leaves a row out.
    names : list of str, optional
        Covariate names for error messages.
    tol : float
        Convergence: the largest Newton step below ``tol`` (on standardised columns).
    max_iter : int

    Returns
    -------
    CoxFit

    Raises
    ------
    EstimationError
        No events, a singular information matrix (collinear covariates), or
        a coefficient diverging (monotone likelihood: a covariate separates
        those with and without events); the message names the covariates.

    Notes
    -----
    Log partial likelihood :math:`\sum_k [\sum_{i \in D_k} w_i \eta_i - d_k
    \log S^{(0)}_k]`; score :math:`\sum_k [\sum_{i \in D_k} w_i x_i - d_k \bar
    x_k]`; information :math:`\sum_i w_i r_i \Lambda_0(T_i) x_i x_i' - \sum_k
    d_k \bar x_k \bar x_k'` (the risk-set second moments summed by person), so a
    million rows cost one :math:`n \times p^2` product per iteration.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.], [1], [0], [1], [0], [1]])
    >>> fit = fit_cox(x, np.array([1., 2, 3, 4, 5, 6]), np.array([1, 1, 0, 1, 1, 0]))
    >>> round(float(fit.params[0]), 6)
    -0.273948
    """
    X = np.asarray(X, dtype=float)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    w = np.ones_like(time) if weights is None else np.asarray(weights, dtype=float)
    pos = w > 0
    if not pos.all():
        X, time, event, w = X[pos], time[pos], event[pos], w[pos]
    n, p = X.shape
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    if not (w * event).sum() > 0:
        raise EstimationError("The Cox model needs at least one event; the data have none.")
    centre = (w @ X) / w.sum()
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - centre) / scale
    beta = np.zeros(p)
    ev_sum = (w * event) @ Z

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        times, s0, s1, d, r, shift = _sums(Z, time, event, w, b)
        xbar = s1 / s0[:, None]
        ll = float((w * event) @ (Z @ b) - d @ (np.log(s0) + shift))
        score = ev_sum - d @ xbar
        dL = d / s0
        lam = np.concatenate([[0.0], np.cumsum(dL)])[np.searchsorted(times, time, "right")]
        info = (Z * (w * r * lam)[:, None]).T @ Z - (xbar * d[:, None]).T @ xbar
        return ll, score, info, (times, s0, xbar, d, shift)

    ll, score, info, parts = evaluate(beta)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as err:
            raise EstimationError(
                "The Cox model's information matrix is singular: covariates "
                f"{', '.join(map(repr, names))} are collinear among the people it is fitted on. "
                "Remove redundant covariates."
            ) from err
        h = 1.0
        while True:
            new = beta + h * step
            ll_new, score_new, info_new, parts_new = evaluate(new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            h /= 2
            if h < 1e-8:
                break
        beta, ll, score, info, parts = new, ll_new, score_new, info_new, parts_new
        if np.abs(h * step).max() < tol:
            break
        if np.abs(beta).max() > 30:
            big = [names[j] for j in np.argsort(-np.abs(beta))[:3]]
            raise EstimationError(
                "The Cox model's coefficients diverge (monotone likelihood): "
                f"{', '.join(map(repr, big))} separate the people with and without events. "
                "Coarsen or remove them."
            )
    times, s0, xbar, d, shift = parts
    # back to the original scale of X (the baseline hazard refers to x = 0)
    b = beta / scale
    off = float(centre @ b)
    # eta_Z = (x - centre) b = x b - off; r_scaled = exp(eta_Z - shift)
    # S0 on the original scale: sum w exp(x b) = exp(off + shift) * s0_scaled
    s0_orig = s0 * np.exp(off + shift)
    xbar_orig = xbar * scale + centre
    info_orig = info * np.outer(scale, scale)
    return CoxFit(params=b, information=info_orig, times=times, dLambda=d / s0_orig,
                  s0=s0_orig, xbar=xbar_orig, n_iter=n_iter, loglik=ll)


def cox_beta_influence(fit: CoxFit, X: np.ndarray, time: np.ndarray, event: np.ndarray,
                       weights: np.ndarray) -> np.ndarray:
    r"""Influence of each row on the coefficients: :math:`I^{-1}` times its score residual.

    The score residual of row :math:`i` (Breslow) is
    :math:`w_i[\delta_i (x_i - \bar x(T_i)) - r_i \sum_{u_k \le T_i} (x_i - \bar x_k)
    d\Lambda_k]`; rows with weight 0 get 0. ``R``: ``residuals(fit, "dfbeta")``
    times the case weight.

    Parameters
    ----------
    fit : CoxFit
        The model fitted on these rows.
    X, time, event, weights : numpy.ndarray
        The rows' covariates, times, event indicators and case weights.

    Returns
    -------
    numpy.ndarray, shape (rows, p)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 1)); t = np.ceil(rng.exponential(5, 40)); d = np.ones(40)
    >>> fit = fit_cox(X, t, d, np.ones(40))
    >>> phi = cox_beta_influence(fit, X, t, d, np.ones(40))
    >>> phi.shape, bool(abs(phi.sum()) < 1e-8)  # the score residuals sum to 0 at the estimate
    ((40, 1), True)
    """
    X = np.asarray(X, dtype=float)
    w = np.asarray(weights, dtype=float)
    k = fit.index(np.asarray(time, dtype=float))
    r = fit.risk(X)
    cum_dl = np.concatenate([[0.0], np.cumsum(fit.dLambda)])
    cum_xdl = np.vstack([np.zeros((1, X.shape[1])), np.cumsum(fit.xbar * fit.dLambda[:, None],
                                                                axis=0)])
    ev = (np.asarray(event, dtype=float) > 0) & (k >= 0)
    xb_at = np.where(ev[:, None], fit.xbar[np.maximum(k, 0)] if fit.times.size else 0.0, 0.0)
    resid = np.where(ev[:, None], X - xb_at, 0.0)
    resid -= r[:, None] * (X * cum_dl[k + 1][:, None] - cum_xdl[k + 1])
    resid *= w[:, None]
    try:
        inv = np.linalg.inv(fit.information)
    except np.linalg.LinAlgError as err:  # pragma: no cover - fit_cox refuses singular fits
        raise EstimationError("The Cox model's information matrix is singular.") from err
    return resid @ inv
