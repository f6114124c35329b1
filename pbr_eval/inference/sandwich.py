"""Heteroskedasticity- and cluster-robust (sandwich) covariances for weighted least squares, as R's ``sandwich::vcovHC`` and ``sandwich::vcovCL`` compute them for ``lm(y ~ x, weights = w)``."""

from __future__ import annotations

from typing import Literal

import numpy as np

from pbr_eval.exceptions import EstimationError
from pbr_eval.options import check_choice

__all__ = ["wls_sandwich", "SandwichType"]

SandwichType = Literal["HC0", "HC1", "HC3"]


def wls_sandwich(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None = None,
    *,
    cluster: np.ndarray | None = None,
    kind: SandwichType = "HC1",
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares with a robust covariance.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, k)
        Design including any intercept column.
    y : numpy.ndarray, shape (n,)
    w : numpy.ndarray, optional
        Positive weights (rows with weight 0 should be removed beforehand).
    cluster : numpy.ndarray, optional
        Cluster labels; when given the covariance is cluster-robust.
    kind : {"HC0", "HC1", "HC3"}
        Small-sample correction. Without clusters: HC0 none, HC1 n/(n-k),
        HC3 the jackknife-like 1/(1-h_i)^2. With clusters: HC0 none, HC1
        G/(G-1) x (n-1)/(n-k) (``vcovCL``'s default); HC3 is not defined.

    Returns
    -------
    beta : numpy.ndarray
    cov : numpy.ndarray

    Notes
    -----
    With ``Xw = sqrt(w) X`` and ``ew = sqrt(w) (y - X beta)`` the bread is
    ``(Xw'Xw)^-1`` and the meat ``sum_i ew_i^2 xw_i xw_i'`` (HC) or
    ``sum_g u_g u_g'`` with ``u_g = sum_{i in g} ew_i xw_i`` (cluster).

    References
    ----------
    Zeileis, A. (2004). Econometric computing with HC and HAC covariance
    matrix estimators. Journal of Statistical Software 11(10).
    Zeileis, A., Koell, S. & Graham, N. (2020). Various versatile variances:
    an object-oriented implementation of clustered covariances in R. Journal
    of Statistical Software 95(1).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> beta, cov = wls_sandwich(X, np.array([1., 2, 3, 5, 6, 7]), kind="HC0")
    >>> beta.round(3).tolist()
    [2.0, 4.0]
    """
    check_choice("kind", kind, ("HC0", "HC1", "HC3"))
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    sw = np.ones(n) if w is None else np.sqrt(np.asarray(w, dtype=float))
    Xw = X * sw[:, None]
    yw = y * sw
    xtx = Xw.T @ Xw
    try:
        bread = np.linalg.inv(xtx)
    except np.linalg.LinAlgError as err:
        raise EstimationError("The outcome regression's design is singular.") from err
    beta = bread @ (Xw.T @ yw)
    ew = yw - Xw @ beta
    if cluster is None:
        if kind == "HC3":
            h = np.einsum("ij,jk,ik->i", Xw, bread, Xw)
            ew = ew / (1.0 - h)
        meat = (Xw * (ew**2)[:, None]).T @ Xw
        cov = bread @ meat @ bread
        if kind == "HC1":
            cov *= n / (n - k)
        return beta, cov
    if kind == "HC3":
        raise EstimationError("HC3 is not defined for cluster-robust covariances; use HC1.")
    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    G = int(codes.max()) + 1
    scores = Xw * ew[:, None]
    U = np.zeros((G, k))
    np.add.at(U, codes, scores)
    meat = U.T @ U
    cov = bread @ meat @ bread
    if kind == "HC1":
        if G < 2:
            raise EstimationError("Cluster-robust standard errors need at least two clusters.")
        cov *= G / (G - 1) * (n - 1) / (n - k)
    return beta, cov
