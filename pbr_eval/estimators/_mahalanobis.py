"""Covariate transforms for distance matching, as MatchIt's ``transform_covariates``.

After the transform, the Mahalanobis (or scaled Euclidean, ...) distance
between two units is the squared Euclidean distance between their rows, so
matching never needs a focal x pool distance matrix.

References
----------
Rubin, D. B. (1980). Bias reduction using Mahalanobis-metric matching.
Biometrics 36(2), 293-298 (pooled within-group covariance).
Rosenbaum, P. R. (2010). Design of Observational Studies, ch. 8 (robust,
rank-based Mahalanobis distance).
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt. Journal of
Statistical Software 42(8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = ["distance_matrix_covariates", "transform_covariates", "pivoted_cholesky"]

DISTANCE_TRANSFORMS = ("mahalanobis", "robust_mahalanobis", "euclidean", "scaled_euclidean")


def distance_matrix_covariates(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Covariates for a distance: numbers as they are; each category level an
    indicator divided by sqrt(2) (so a two-level factor counts like one 0/1
    variable, as in MatchIt and optmatch)."""
    blocks = []
    for c in columns:
        s = data[c]
        if pd.api.types.is_bool_dtype(s.dtype) or (
            pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
        ):
            blocks.append(s.to_numpy(dtype=float)[:, None])
        else:
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            cat = cat.cat.remove_unused_categories()
            codes = cat.cat.codes.to_numpy()
            k = len(cat.cat.categories)
            blocks.append((codes[:, None] == np.arange(k)[None, :]).astype(float) / np.sqrt(2.0))
    return np.hstack(blocks)


def pivoted_cholesky(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangular ``U`` and pivot ``piv`` with ``U'U = a[piv][:, piv]``
    (LAPACK ``dpstrf``'s algorithm, as R's ``chol(pivot = TRUE)``); rank-deficient
    trailing rows are zero."""
    a = np.array(a, dtype=float)
    n = a.shape[0]
    piv = np.arange(n)
    tol = n * np.finfo(float).eps * float(np.max(np.diag(a)))
    u = np.zeros((n, n))
    work = a.copy()
    for j in range(n):
        d = np.diag(work)[j:]
        p = j + int(np.argmax(d))
        if d[p - j] <= tol:
            break
        if p != j:
            work[[j, p]] = work[[p, j]]
            work[:, [j, p]] = work[:, [p, j]]
            u[:, [j, p]] = u[:, [p, j]]
            piv[[j, p]] = piv[[p, j]]
        ajj = np.sqrt(work[j, j])
        u[j, j] = ajj
        u[j, j + 1:] = work[j, j + 1:] / ajj
        work[j + 1:, j + 1:] -= np.outer(u[j, j + 1:], u[j, j + 1:])
    return u, piv


def _inverse(v: np.ndarray) -> np.ndarray:
    if np.linalg.det(v) > 1e-8:
        try:
            return np.linalg.inv(v)
        except np.linalg.LinAlgError:
            pass
    uu, s, vt = np.linalg.svd(v)
    pos = s > max(1e-8 * s[0], 0)
    return vt[pos].T @ np.diag(1.0 / s[pos]) @ uu[:, pos].T


def _rowwise_product(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x @ b.T`` summed column by column in a fixed order, so identical rows of
    ``x`` give bit-identical rows (a BLAS product may round rows differently,
    which would break the tie rules on repeated covariate rows)."""
    out = np.zeros((x.shape[0], b.shape[0]))
    for k in range(b.shape[0]):
        acc = out[:, k]
        for j in range(x.shape[1]):
            acc += x[:, j] * b[k, j]
    return out


def _mahalanobize(x: np.ndarray, inv_var: np.ndarray) -> np.ndarray:
    u, piv = pivoted_cholesky(inv_var)
    p = np.argsort(piv)
    return _rowwise_product(x, u[:, p])


def _pooled_cov(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    xc = x.copy()
    for g in (True, False):
        xc[t == g] -= xc[t == g].mean(axis=0)
    n = x.shape[0]
    return np.cov(xc, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1]) * (n - 1) / (n - 2)


def transform_covariates(
    x: np.ndarray, t: np.ndarray, discarded: np.ndarray, method: str = "mahalanobis"
) -> np.ndarray:
    """Rows whose squared Euclidean distances are the chosen covariate distance.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, p)
        Covariates (see :func:`distance_matrix_covariates`).
    t : numpy.ndarray of bool
        Treatment (for the pooled within-group covariance).
    discarded : numpy.ndarray of bool
        Units left out of the covariance (but still transformed).
    method : {"mahalanobis", "robust_mahalanobis", "euclidean", "scaled_euclidean"}

    Returns
    -------
    numpy.ndarray, shape (n, p')

    Notes
    -----
    Mahalanobis: columns are standardised, ``S`` is the pooled within-group
    covariance of the retained units, and rows are multiplied by the pivoted
    Cholesky factor ``U`` of ``S^-1`` (``U'U = S^-1``), so that
    ``|U x_i - U x_j|^2 = (x_i - x_j)' S^-1 (x_i - x_j)``. A singular ``S``
    (e.g. one indicator per category level) uses the SVD generalised inverse.
    Robust Mahalanobis uses ranks and a rescaled rank covariance (Rosenbaum
    2010); scaled Euclidean divides each column by its pooled within-group SD.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 1], [1, 0], [2, 2], [3, 1], [1, 1]])
    >>> z = transform_covariates(x, np.array([1, 1, 0, 0, 0], bool), np.zeros(5, bool))
    >>> z.shape
    (5, 2)
    """
    x = np.asarray(x, dtype=float)
    keep_cols = np.abs(x.max(axis=0) - x.min(axis=0)) >= np.sqrt(np.finfo(float).eps)
    if not keep_cols.any():
        return x[:, :1]
    x = x[:, keep_cols]
    retained = ~discarded
    if method == "euclidean":
        return x
    if method == "scaled_euclidean":
        xc = x[retained].copy()
        tr = t[retained]
        for g in (True, False):
            xc[tr == g] -= xc[tr == g].mean(axis=0)
        n = xc.shape[0]
        sd = np.sqrt((xc**2).sum(axis=0) / (n - 2))
        return x / sd
    if method == "robust_mahalanobis":
        xr_ret = np.column_stack([rankdata(x[retained, j]) for j in range(x.shape[1])])
        v = np.cov(xr_ret, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])
        m = retained.sum()
        mult = np.std(np.arange(1, m + 1), ddof=1) / np.sqrt(np.diag(v))
        v = v * np.outer(mult, mult)
        xr = np.zeros_like(x)
        xr[retained] = xr_ret
        return _mahalanobize(xr, _inverse(v))
    # mahalanobis
    mu = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1)
    z = (x - mu) / sd
    v = _pooled_cov(z[retained], t[retained])
    return _mahalanobize(z, _inverse(v))
