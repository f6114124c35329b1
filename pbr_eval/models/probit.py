"""Probit propensity model (Stata's ``teffects`` default) with its influence function."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from pbr_eval.exceptions import EstimationError

__all__ = ["ProbitFit", "fit_probit"]


@dataclass(frozen=True)
class ProbitFit:
    """A fitted probit model ``P(T = 1 | x) = Phi(z' gamma)``.

    Attributes
    ----------
    params : numpy.ndarray
        Coefficients, intercept first.
    ps : numpy.ndarray
        Fitted probabilities.
    phi : numpy.ndarray, shape (n, k)
        Each unit's influence on the coefficients, ``H^{-1} s_i`` (``H`` the
        observed information, ``s_i`` the score).
    link_scale : numpy.ndarray
        ``(de/deta) / (e (1 - e))``: the factor turning a logit-scale
        derivative into the probit's (1 for a logit).

    Examples
    --------
    >>> import numpy as np
    >>> f = fit_probit(np.array([[0.], [1.], [0.], [1.], [1.], [0.]]),
    ...                np.array([0, 1, 1, 1, 0, 0]))
    >>> round(float(f.ps[1]), 4)
    0.6667
    """

    params: np.ndarray
    ps: np.ndarray
    phi: np.ndarray
    link_scale: np.ndarray


def fit_probit(X: np.ndarray, t: np.ndarray, *, names: Sequence[str] | None = None,
               tol: float = 1e-12, max_iter: int = 100) -> ProbitFit:
    r"""Fit a probit model by Newton-Raphson with the observed information.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without an intercept (one is added).
    t : numpy.ndarray
        0/1 treatment.
    names : sequence of str, optional
        Covariate names, for error messages.
    tol : float, default 1e-12
        Convergence tolerance on the largest score.
    max_iter : int, default 100

    Returns
    -------
    ProbitFit

    Raises
    ------
    EstimationError
        When the fit does not converge or a score is 0 or 1 (separation; the
        message names the covariates with the largest coefficients).

    Notes
    -----
    With :math:`q = 2t - 1` and :math:`\lambda_i = q_i \phi(q_i\eta_i) /
    \Phi(q_i\eta_i)` the score is :math:`\sum_i \lambda_i z_i` and the
    observed information :math:`H = \sum_i \lambda_i(\lambda_i + \eta_i)
    z_i z_i'`; the influence on the coefficients is :math:`H^{-1}\lambda_i
    z_i`, as in the stacked sandwich of Stata's ``teffects``.

    Examples
    --------
    >>> import numpy as np
    >>> f = fit_probit(np.array([[0.], [1.], [0.], [1.], [1.], [0.]]),
    ...                np.array([0, 1, 1, 1, 0, 0]))
    >>> np.round(f.params, 4).tolist()
    [-0.4307, 0.8615]
    """
    n = X.shape[0]
    Z = np.column_stack([np.ones(n), X])
    q = 2.0 * np.asarray(t, dtype=float) - 1.0
    gamma = np.zeros(Z.shape[1])

    def parts(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        eta = Z @ g
        u = q * eta
        lam = q * np.exp(stats.norm.logpdf(u) - stats.norm.logcdf(u))
        return eta, lam, (Z * (lam * (lam + eta))[:, None]).T @ Z

    converged = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(max_iter):
            eta, lam, H = parts(gamma)
            score = Z.T @ lam
            if np.abs(score).max() < tol * max(1.0, n):
                converged = True
                break
            try:
                step = np.linalg.solve(H, score)
            except np.linalg.LinAlgError as err:
                raise EstimationError(
                    "The probit propensity model's information matrix is singular; some "
                    "covariates are collinear. Remove redundant covariates.") from err
            gamma = gamma + step
    eta, lam, H = parts(gamma)
    ps = stats.norm.cdf(eta)
    if not converged or not np.all(np.isfinite(gamma)) or ps.min() <= 0 or ps.max() >= 1:
        top = np.argsort(-np.abs(gamma[1:]))[:3]
        who = ", ".join(f"'{names[j]}'" for j in top) if names is not None else "some"
        raise EstimationError(
            "The probit propensity model did not converge or separates the groups (scores of "
            f"0 or 1); the covariates most involved: {who}. Remove or coarsen them, or restrict "
            "the data to where the groups overlap.")
    phi = (Z * lam[:, None]) @ np.linalg.inv(H)
    link_scale = stats.norm.pdf(eta) / (ps * (1 - ps))
    return ProbitFit(gamma, ps, phi, link_scale)
