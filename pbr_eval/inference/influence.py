"""Influence functions for estimators built on estimated nuisance models.

The weighting, regression and doubly robust estimators solve stacked
estimating equations: the propensity model's score, the outcome model's
score, then the equations defining the target means. Linearising the
stack gives each unit's influence on every estimate; the variance is the
sum of squared influences (HC0, as statsmodels' ``TreatmentEffect`` GMM
and Stata's ``teffects`` report) or, with clusters, the sum over clusters
of the squared cluster totals times G / (G - 1).

Conventions: an influence ``phi_i`` is scaled so that
``theta_hat - theta ~= sum_i phi_i`` (sums, not means), so
``Var(theta_hat) = sum_i phi_i phi_i'``.

References
----------
Newey, W. K. & McFadden, D. (1994). Large sample estimation and hypothesis
testing. Handbook of Econometrics 4, ch. 36, section 6.
Stefanski, L. A. & Boos, D. D. (2002). The calculus of M-estimation. The
American Statistician 56(1), 29-38.
Lunceford, J. K. & Davidian, M. (2004). Stratification and weighting via the
propensity score in estimation of causal treatment effects. Statistics in
Medicine 23, 2937-2960.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.design import design_gram, design_matvec

__all__ = ["logit_influence", "glm_influence", "influence_covariance", "with_intercept",
           "CoefficientInfluence", "logit_coefficient_influence", "glm_coefficient_influence"]


@dataclass(frozen=True)
class CoefficientInfluence:
    """Each unit's influence on a fitted model's coefficients, kept as factors (never ``n x k``).

    The influences are the rows of ``phi = (Z * e[:, None]) @ M + parent @ P`` with
    ``Z = [1, X]``; the estimators only ever need ``phi @ g`` for a few vectors
    ``g``, which :meth:`dot` computes with one pass over ``X`` (and one more per
    parent), so no ``(n, k)`` array is built. :meth:`matrix` gives the dense
    array for small data and tests.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without the intercept (not copied).
    e : numpy.ndarray, shape (n,)
        Each unit's score residual (``t - ps`` for a logistic propensity
        model, ``w (y - mu)`` for an outcome model; 0 outside its sample).
    M : numpy.ndarray, shape (k, k)
        The inverse information (transposed where it matters).
    parent : CoefficientInfluence or None
        An earlier stage's influence entering this one (the propensity
        model's, for an outcome model weighted by it).
    P : numpy.ndarray or None, shape (k_parent, k)
        How the parent's influence enters.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [0.0], [1.0]])
    >>> phi = logit_coefficient_influence(X, np.array([0, 1, 1, 0]), np.full(4, 0.5))
    >>> bool(np.allclose(phi.matrix(), logit_influence(with_intercept(X), np.array([0, 1, 1, 0]),
    ...                                                  np.full(4, 0.5))))
    True
    >>> (phi.dot(np.array([1.0, 0.0])) + 0.0).tolist()
    [-1.0, 0.0, 1.0, 0.0]
    """

    X: np.ndarray
    e: np.ndarray
    M: np.ndarray
    parent: CoefficientInfluence | None = None
    P: np.ndarray | None = None

    def dot(self, g: np.ndarray) -> np.ndarray:
        """Return ``phi @ g`` (one value per unit)."""
        out = self.e * design_matvec(self.X, self.M @ g)
        if self.parent is not None and self.P is not None:
            out += self.parent.dot(self.P @ g)
        return out

    def matrix(self) -> np.ndarray:
        """Return the dense ``(n, k)`` influences (small data and tests only)."""
        dense = (with_intercept(self.X) * self.e[:, None]) @ self.M
        if self.parent is not None and self.P is not None:
            dense += self.parent.matrix() @ self.P
        return dense


def logit_coefficient_influence(
    X: np.ndarray, t: np.ndarray, ps: np.ndarray, cov: np.ndarray | None = None
) -> CoefficientInfluence:
    """Influence on a logistic propensity model's coefficients, as a :class:`CoefficientInfluence`.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates (no intercept column).
    t : numpy.ndarray of bool or 0/1
    ps : numpy.ndarray
        Fitted (unclipped) probabilities.
    cov : numpy.ndarray, optional
        The inverse information ``(sum_i ps_i (1 - ps_i) z_i z_i')^{-1}`` when
        the fit already has it (:class:`~pbr_eval.models.logit.LogitFit`'s
        ``cov``); otherwise computed here (one chunked pass).

    Returns
    -------
    CoefficientInfluence
        The same influences as :func:`logit_influence`.

    Examples
    --------
    >>> import numpy as np
    >>> phi = logit_coefficient_influence(np.array([[0.0], [1.0], [0.0], [1.0]]),
    ...                                   np.array([0, 1, 1, 0]), np.full(4, 0.5))
    >>> phi.matrix().sum(axis=0).round(12).tolist()
    [0.0, 0.0]
    """
    if cov is None or not np.all(np.isfinite(cov)):
        cov = _inv(design_gram(X, ps * (1.0 - ps)), "propensity model's")
    return CoefficientInfluence(X, np.subtract(t, ps, dtype=float), cov)


def glm_coefficient_influence(
    X: np.ndarray,
    resid_w: np.ndarray,
    information: np.ndarray,
    parent: CoefficientInfluence | None = None,
    B: np.ndarray | None = None,
) -> CoefficientInfluence:
    """Influence on a canonical-link GLM's coefficients, as a :class:`CoefficientInfluence`.

    The same influences as :func:`glm_influence` with ``extra = parent @ B'``.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    resid_w : numpy.ndarray, shape (n,)
        ``w_i (y_i - mu_i)`` in the fitting sample, else 0.
    information : numpy.ndarray, shape (k, k)
    parent : CoefficientInfluence, optional
        The propensity model's influence when the weights were estimated.
    B : numpy.ndarray, shape (k, k_parent), optional
        The derivative of the score in the parent's coefficients.

    Returns
    -------
    CoefficientInfluence

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> phi = glm_coefficient_influence(X, np.array([0.5, -1.0, 0.5]), np.eye(2))
    >>> phi.dot(np.array([1.0, 0.0])).tolist()
    [0.5, -1.0, 0.5]
    """
    Hinv_t = _inv(information, "outcome model's").T
    if parent is None or B is None:
        return CoefficientInfluence(X, resid_w, Hinv_t)
    return CoefficientInfluence(X, resid_w, Hinv_t, parent, B.T @ Hinv_t)


def with_intercept(X: np.ndarray) -> np.ndarray:
    """``[1, X]``."""
    Z = np.empty((X.shape[0], X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    return Z


def _inv(H: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError as err:
        raise EstimationError(
            f"The {what} information matrix is singular, so standard errors cannot be computed; "
            "some covariates are collinear. Remove redundant covariates."
        ) from err


def logit_influence(Z: np.ndarray, t: np.ndarray, ps: np.ndarray) -> np.ndarray:
    """Influence of each unit on a logistic propensity model's coefficients.

    Parameters
    ----------
    Z : numpy.ndarray, shape (n, k)
        Design with intercept.
    t : numpy.ndarray of bool or 0/1
    ps : numpy.ndarray
        Fitted (unclipped) probabilities.

    Returns
    -------
    numpy.ndarray, shape (n, k)
        ``phi_i = H^{-1} z_i (t_i - ps_i)`` with ``H = sum_i ps_i (1 - ps_i) z_i z_i'``.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.column_stack([np.ones(4), [0., 1, 0, 1]])
    >>> phi = logit_influence(Z, np.array([0, 1, 1, 0]), np.full(4, 0.5))
    >>> phi.sum(axis=0).round(12).tolist()
    [0.0, 0.0]
    """
    v = ps * (1.0 - ps)
    H = (Z * v[:, None]).T @ Z
    return (Z * (np.asarray(t, dtype=float) - ps)[:, None]) @ _inv(H, "propensity model's")


def glm_influence(
    Z: np.ndarray,
    resid_w: np.ndarray,
    information: np.ndarray,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Influence on a canonical-link GLM's coefficients, ``H^{-1}(score_i + extra_i)``.

    Parameters
    ----------
    Z : numpy.ndarray, shape (n, k)
        Design with intercept (rows outside the fitting sample included;
        their ``resid_w`` is 0).
    resid_w : numpy.ndarray, shape (n,)
        ``w_i (y_i - mu_i)`` for rows in the fitting sample, else 0.
    information : numpy.ndarray, shape (k, k)
        ``sum_i w_i v_i z_i z_i'``.
    extra : numpy.ndarray, shape (n, k), optional
        Further terms of the linearised score, e.g. ``B @ phi_gamma_i`` when
        the weights depend on an estimated propensity score.
    """
    score = Z * resid_w[:, None]
    if extra is not None:
        score = score + extra
    return score @ _inv(information, "outcome model's").T


def influence_covariance(phi: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """Covariance from influences: ``sum_i phi_i phi_i'`` or its cluster-robust version.

    Parameters
    ----------
    phi : numpy.ndarray, shape (n, r) or (n,)
    cluster : numpy.ndarray, optional
        Cluster label per row. Influences are summed within clusters and the
        result multiplied by ``G / (G - 1)`` (Stata's and ``sandwich::vcovCL``'s
        cluster adjustment without the (n - 1)/(n - k) factor).

    Returns
    -------
    numpy.ndarray, shape (r, r)

    Raises
    ------
    EstimationError
        With fewer than two clusters.

    Examples
    --------
    >>> import numpy as np
    >>> influence_covariance(np.array([1.0, -1.0, 2.0, -2.0])).tolist()
    [[10.0]]
    >>> influence_covariance(np.array([1.0, -1.0, 2.0, -2.0]), np.array([0, 0, 1, 1])).tolist()
    [[0.0]]
    """
    phi = np.asarray(phi, dtype=float)
    if phi.ndim == 1:
        phi = phi[:, None]
    if cluster is None:
        return phi.T @ phi
    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    G = int(codes.max()) + 1
    if G < 2:
        raise EstimationError(
            "Cluster-robust standard errors need at least two clusters; `cluster` has one value."
        )
    U = np.column_stack([np.bincount(codes, weights=phi[:, j], minlength=G)
                         for j in range(phi.shape[1])])
    return U.T @ U * (G / (G - 1))
