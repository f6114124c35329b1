"""Row-chunked sums over a design ``Z = [1, X]``, without building ``Z``.

Every fit and influence function of the weighting, regression and doubly
robust estimators needs only a few kinds of sums over the rows of the design
``Z = [1, X]``: the linear predictor ``Z b``, the cross-product ``Z' r`` and
the weighted Gram matrix ``Z' diag(v) Z``. These functions take the
covariate columns ``X`` (shape ``(n, p)``, float64) and handle the intercept
column analytically, so no ``(n, p + 1)`` copy is made; the Gram matrix is
accumulated over blocks of :data:`CHUNK_ROWS` rows, so its temporaries are one
block, not ``n x p``. Optional ``center`` and ``scale`` give the same sums
over standardised columns ``[1, (X - center) / scale]`` (better conditioned)
at no extra memory.

Each sum is additive over rows, so a partitioned (e.g. Dask) path computes
the same functions on each partition and adds the results.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]])
>>> Z = np.column_stack([np.ones(3), X])
>>> bool(np.allclose(design_gram(X, np.array([1.0, 2.0, 3.0])), Z.T @ np.diag([1, 2, 3.0]) @ Z))
True
>>> design_rmatvec(X, np.array([1.0, -1.0, 2.0])).tolist()
[2.0, -2.0, -1.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_ROWS", "design_matvec", "design_rmatvec", "design_gram", "design_sums",
           "row_blocks"]

#: Rows per block of the chunked sums (a block of 10 float64 columns is about 5 MB).
CHUNK_ROWS = 65_536


def row_blocks(n: int, chunk: int = CHUNK_ROWS) -> list[slice]:
    """Return the row slices of ``n`` rows in blocks of ``chunk``.

    Parameters
    ----------
    n : int
        Number of rows.
    chunk : int
        Rows per block.

    Returns
    -------
    list of slice

    Examples
    --------
    >>> row_blocks(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    return [slice(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def design_matvec(
    X: np.ndarray, b: np.ndarray, *, center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``Z b`` for ``Z = [1, X]`` (or its standardised version).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    b : numpy.ndarray, shape (p + 1,)
        Intercept first.
    center, scale : numpy.ndarray, optional
        When given, ``Z = [1, (X - center) / scale]``.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> design_matvec(np.array([[1.0], [2.0]]), np.array([0.5, 2.0])).tolist()
    [2.5, 4.5]
    """
    b = np.asarray(b, dtype=float)
    if center is None or scale is None:
        return X @ b[1:] + b[0]
    raw = b[1:] / scale
    return X @ raw + (b[0] - float(center @ raw))


def design_rmatvec(
    X: np.ndarray, r: np.ndarray, *, center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``Z' r`` for ``Z = [1, X]`` (or its standardised version).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    r : numpy.ndarray, shape (n,)
    center, scale : numpy.ndarray, optional
        When given, ``Z = [1, (X - center) / scale]``.

    Returns
    -------
    numpy.ndarray, shape (p + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> design_rmatvec(np.array([[1.0], [2.0]]), np.array([1.0, 1.0])).tolist()
    [2.0, 3.0]
    """
    out = np.empty(X.shape[1] + 1)
    out[0] = r.sum()
    out[1:] = r @ X
    if center is not None and scale is not None:
        out[1:] = (out[1:] - out[0] * center) / scale
    return out


def design_gram(
    X: np.ndarray, v: np.ndarray, *, center: np.ndarray | None = None,
    scale: np.ndarray | None = None, chunk: int = CHUNK_ROWS,
) -> np.ndarray:
    """Return ``Z' diag(v) Z`` for ``Z = [1, X]`` (or its standardised version), block by block.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    v : numpy.ndarray, shape (n,)
        Row weights; may be negative (the sum is then taken without square
        roots, at the same cost).
    center, scale : numpy.ndarray, optional
        When given, ``Z = [1, (X - center) / scale]``.
    chunk : int
        Rows per block (memory: one block of ``X``).

    Returns
    -------
    numpy.ndarray, shape (p + 1, p + 1)
        Symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> design_gram(np.array([[1.0], [2.0]]), np.array([1.0, 1.0])).tolist()
    [[2.0, 3.0], [3.0, 5.0]]
    """
    return design_sums(X, v, None, center=center, scale=scale, chunk=chunk)[0]


def design_sums(
    X: np.ndarray, v: np.ndarray, r: np.ndarray | None, *, center: np.ndarray | None = None,
    scale: np.ndarray | None = None, chunk: int = CHUNK_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``Z' diag(v) Z`` and ``Z' r`` from one blocked pass over ``X`` (a Newton step's sums).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    v : numpy.ndarray, shape (n,)
        Row weights of the Gram matrix (may be negative).
    r : numpy.ndarray, shape (n,), or None
        The vector of the cross-product (``None``: zeros returned).
    center, scale : numpy.ndarray, optional
        When given, ``Z = [1, (X - center) / scale]``.
    chunk : int
        Rows per block.

    Returns
    -------
    gram : numpy.ndarray, shape (p + 1, p + 1)
    cross : numpy.ndarray, shape (p + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> H, g = design_sums(np.array([[1.0], [2.0]]), np.ones(2), np.array([1.0, -1.0]))
    >>> H.tolist(), g.tolist()
    ([[2.0, 3.0], [3.0, 5.0]], [0.0, -1.0])
    """
    n, p = X.shape
    H = np.zeros((p + 1, p + 1))
    g = np.zeros(p + 1)
    if n == 0:
        return H, g
    nonneg = bool((v >= 0).all())
    buf = np.empty((min(chunk, n), p))
    for rows in row_blocks(n, chunk):
        # centred here, scaled once at the end (dividing the sums by the scales)
        src = (np.subtract(X[rows], center, out=buf[: rows.stop - rows.start])
               if center is not None and scale is not None else X[rows])
        vb = v[rows]
        H[0, 0] += vb.sum()
        H[0, 1:] += vb @ src
        if r is not None:
            rb = r[rows]
            g[0] += rb.sum()
            g[1:] += rb @ src
        if nonneg:
            block = np.multiply(src, np.sqrt(vb)[:, None], out=buf[: rows.stop - rows.start])
            H[1:, 1:] += block.T @ block
        else:
            H[1:, 1:] += (src * vb[:, None]).T @ src
    if center is not None and scale is not None:
        H[0, 1:] /= scale
        H[1:, 1:] /= np.outer(scale, scale)
        g[1:] /= scale
    H[1:, 0] = H[0, 1:]
    if not nonneg:
        H[1:, 1:] = (H[1:, 1:] + H[1:, 1:].T) / 2
    return H, g
