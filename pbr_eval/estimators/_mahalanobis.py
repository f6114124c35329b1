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

__all__ = [
    "distance_matrix_covariates", "transform_covariates", "pivoted_cholesky", "r_solve",
    "r_scale", "r_cov", "R_EXACT_MAX_ROWS",
]

DISTANCE_TRANSFORMS = ("mahalanobis", "robust_mahalanobis", "euclidean", "scaled_euclidean")


def distance_matrix_covariates(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Covariates for a distance: numbers as they are; each category level an indicator divided by sqrt(2) (so a two-level factor counts like one 0/1 variable, as in MatchIt and optmatch)."""
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


# --------------------------------------------------------------------------- R's numerics
# The Mahalanobis transform decides which of two equally distant controls is
# "nearer" in the last bit, and lalonde-like data (repeated and mirror-image
# covariate rows) has such ties. To give MatchIt's matched sets exactly, the
# steps below follow the order of floating-point operations of R (extended-
# precision accumulation in ``colMeans``, ``sum``, ``mean`` and ``cov``) and of
# the reference LAPACK routines R calls (``dgetrf2``/``dgetrs`` for ``solve``,
# ``dpstf2`` for ``chol(pivot = TRUE)``). These are re-implementations of the
# documented algorithms, written for p x p matrices (p = number of covariates).
_LD = np.longdouble
#: Up to this many rows the covariance steps follow R's extended-precision
#: accumulation exactly; above it (national-scale pools, where nobody compares
#: bits with R) ordinary double-precision sums are used, about 20 times faster.
R_EXACT_MAX_ROWS = 100_000


def _ld_colsum(x: np.ndarray) -> np.ndarray:
    """Column sums accumulated row by row in extended precision (R's LDOUBLE)."""
    x = np.asarray(x)
    if x.ndim == 1:
        return np.cumsum(x.astype(_LD))[-1] if x.size else _LD(0)
    return np.array([_ld_colsum(x[:, j]) for j in range(x.shape[1])], dtype=_LD)


def r_scale(x: np.ndarray) -> np.ndarray:
    """``scale(x)``: centre by ``colMeans``, divide by ``sqrt(sum(v^2)/(n-1))``, with R's extended-precision sums (for at most :data:`R_EXACT_MAX_ROWS` rows)."""
    n = x.shape[0]
    if n > R_EXACT_MAX_ROWS:
        xc = x - x.mean(axis=0)
        return xc / np.sqrt((xc * xc).sum(axis=0) / max(1, n - 1))
    center = (_ld_colsum(x) / _LD(n)).astype(float)
    xc = x - center
    sd = np.sqrt(_ld_colsum(xc * xc).astype(float) / max(1, n - 1))
    return xc / sd


def _r_mean(x: np.ndarray) -> np.ndarray:
    """R's ``mean`` of each column: extended-precision sum, then one correction pass."""
    if x.shape[0] > R_EXACT_MAX_ROWS:
        return x.mean(axis=0)
    n = _LD(x.shape[0])
    s = _ld_colsum(x) / n
    return (s + _ld_colsum(np.asarray(x, dtype=_LD) - s) / n).astype(float)


def r_cov(x: np.ndarray) -> np.ndarray:
    """``cov(x)`` as R's C code computes it (extended-precision products and sums; for more than :data:`R_EXACT_MAX_ROWS` rows, ``numpy.cov``)."""
    n, p = x.shape
    if n > R_EXACT_MAX_ROWS:
        return np.cov(x, rowvar=False, ddof=1).reshape(p, p)
    d = [np.asarray(x[:, j], dtype=_LD) - _LD(m) for j, m in enumerate(_r_mean(x))]
    out = np.empty((p, p))
    for i in range(p):
        for j in range(i + 1):
            out[i, j] = out[j, i] = float(_ld_colsum(d[i] * d[j]) / _LD(n - 1))
    return out


def _getrf2(a: np.ndarray, r0: int, c0: int, m: int, n: int, ipiv: np.ndarray) -> None:
    """LU with partial pivoting of ``a[r0:r0+m, c0:c0+n]`` in place (LAPACK dgetrf2's recursion; ``ipiv`` holds absolute row numbers)."""
    if m == 1:
        ipiv[r0] = r0
        return
    if n == 1:
        col = a[r0:r0 + m, c0]
        p = int(np.argmax(np.abs(col)))  # first maximum, as idamax
        ipiv[r0] = r0 + p
        if col[p] != 0:
            if p:
                a[[r0, r0 + p], c0] = a[[r0 + p, r0], c0]
            piv = a[r0, c0]
            if abs(piv) >= np.finfo(float).tiny:
                a[r0 + 1:r0 + m, c0] *= 1.0 / piv
            else:
                a[r0 + 1:r0 + m, c0] /= piv
        return
    n1 = min(m, n) // 2
    c1 = c0 + n1
    _getrf2(a, r0, c0, m, n1, ipiv)
    for k in range(r0, r0 + n1):  # dlaswp on [A12; A22]
        if ipiv[k] != k:
            a[[k, ipiv[k]], c1:c0 + n] = a[[ipiv[k], k], c1:c0 + n]
    for j in range(c1, c0 + n):  # A12 <- L11^-1 A12 (dtrsm, unit lower)
        for k in range(n1):
            bkj = a[r0 + k, j]
            if bkj != 0:
                a[r0 + k + 1:r0 + n1, j] -= bkj * a[r0 + k + 1:r0 + n1, c0 + k]
    for j in range(c1, c0 + n):  # A22 <- A22 - A21 A12 (dgemm, column by column)
        for k in range(n1):
            temp = -a[r0 + k, j]
            a[r0 + n1:r0 + m, j] += temp * a[r0 + n1:r0 + m, c0 + k]
    _getrf2(a, r0 + n1, c1, m - n1, n - n1, ipiv)
    for k in range(r0 + n1, r0 + min(m, n)):  # dlaswp on A21
        if ipiv[k] != k:
            a[[k, ipiv[k]], c0:c1] = a[[ipiv[k], k], c0:c1]


def r_solve(v: np.ndarray) -> np.ndarray:
    """``solve(v)`` (the inverse) as R computes it with reference LAPACK's dgesv."""
    a = np.array(v, dtype=float)
    n = a.shape[0]
    ipiv = np.arange(n)
    _getrf2(a, 0, 0, n, n, ipiv)
    b = np.eye(n)
    for k in range(n):
        if ipiv[k] != k:
            b[[k, ipiv[k]]] = b[[ipiv[k], k]]
    for j in range(n):  # forward substitution, unit lower
        for k in range(n):
            if b[k, j] != 0:
                b[k + 1:, j] -= b[k, j] * a[k + 1:, k]
    for j in range(n):  # back substitution, upper
        for k in range(n - 1, -1, -1):
            if b[k, j] != 0:
                b[k, j] = b[k, j] / a[k, k]
                b[:k, j] -= b[k, j] * a[:k, k]
    return b


def pivoted_cholesky(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangular ``U`` and pivot ``piv`` with ``U'U = a[piv][:, piv]``, as R's ``chol(a, pivot = TRUE)`` (LAPACK ``dpstf2``, upper, default tolerance).

    For a rank-deficient ``a`` the first row past the rank keeps the residual
    pivot on its diagonal, as R returns it; the rows after it (left
    unprocessed by LAPACK, so arbitrary in R) are zero.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> u, piv = pivoted_cholesky(a)
    >>> bool(np.allclose(u.T @ u, a[np.ix_(piv, piv)]))
    True
    """
    a = np.array(a, dtype=float)
    n = a.shape[0]
    piv = np.arange(n)
    work = np.zeros(2 * n)
    pvt = int(np.argmax(np.diag(a)))
    ajj = a[pvt, pvt]
    if not ajj > 0:
        return np.zeros_like(a), piv
    dstop = n * np.finfo(float).eps * ajj
    rank = n
    for j in range(n):
        for i in range(j, n):
            if j > 0:
                work[i] = work[i] + a[j - 1, i] ** 2
            work[n + i] = a[i, i] - work[i]
        if j > 0:
            pvt = j + int(np.argmax(work[n + j:]))
            ajj = work[n + pvt]
            if ajj <= dstop or np.isnan(ajj):
                a[j, j] = ajj  # as dpstf2 leaves it (R keeps it)
                rank = j
                break
        if j != pvt:
            a[pvt, pvt] = a[j, j]
            a[:j, [j, pvt]] = a[:j, [pvt, j]]
            if pvt < n - 1:
                a[[j, pvt], pvt + 1:] = a[[pvt, j], pvt + 1:]
            tmp = a[j, j + 1:pvt].copy()
            a[j, j + 1:pvt] = a[j + 1:pvt, pvt]
            a[j + 1:pvt, pvt] = tmp
            work[[j, pvt]] = work[[pvt, j]]
            piv[[j, pvt]] = piv[[pvt, j]]
        ajj = np.sqrt(ajj)
        a[j, j] = ajj
        for c in range(j + 1, n):  # row j: dgemv ('T'), summed in order, then dscal
            temp = 0.0
            for i in range(j):
                temp = temp + a[i, c] * a[i, j]
            a[j, c] = a[j, c] - temp
        a[j, j + 1:] *= 1.0 / ajj
    u = np.triu(a)
    # dpstf2 leaves rows after the rank-deficient one unprocessed (R returns them
    # as they are); here they are zero, so they add nothing to distances.
    u[rank + 1:, :] = 0.0
    if rank < n:
        u[rank, rank + 1:] = 0.0
    return u, piv


def _inverse(v: np.ndarray) -> np.ndarray:
    if np.linalg.det(v) > 1e-8:
        inv = r_solve(v)
        if np.all(np.isfinite(inv)):
            return inv
    uu, s, vt = np.linalg.svd(v)
    pos = s > max(1e-8 * s[0], 0)
    return vt[pos].T @ np.diag(1.0 / s[pos]) @ uu[:, pos].T


def _rowwise_product(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x @ b.T`` summed column by column in a fixed order, so identical rows of ``x`` give bit-identical rows (a BLAS product may round rows differently, which would break the tie rules on repeated covariate rows)."""
    xf = np.asfortranarray(x)
    out = np.zeros((x.shape[0], b.shape[0]), order="F")
    for k in range(b.shape[0]):
        acc = out[:, k]
        for j in range(x.shape[1]):
            acc += xf[:, j] * b[k, j]
    return np.ascontiguousarray(out)


def _mahalanobize(x: np.ndarray, inv_var: np.ndarray) -> np.ndarray:
    u, piv = pivoted_cholesky(inv_var)
    p = np.argsort(piv)
    return _rowwise_product(x, u[:, p])


def _pooled_cov(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """MatchIt's ``pooled_cov``: centre each group at its mean, ``cov() * (n-1)/(n-2)``."""
    xc = x.copy()
    for g in (True, False):
        if (t == g).any():
            xc[t == g] -= _r_mean(xc[t == g])
    n = x.shape[0]
    return r_cov(xc) * (n - 1) / (n - 2)


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
    z = r_scale(x)
    v = _pooled_cov(z[retained], t[retained])
    return _mahalanobize(z, _inverse(v))
