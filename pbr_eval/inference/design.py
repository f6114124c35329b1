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

from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

import numpy as np

__all__ = ["CHUNK_ROWS", "RAW_CENTRE_RATIO", "design_matvec", "design_rmatvec", "design_gram", "design_sums",
           "row_blocks", "BlockSums", "design_rmatvecs", "design_product_blocks"]

#: Rows per block of the chunked sums (a block of 10 float64 columns is about 1.3 MB).
CHUNK_ROWS = 16_384
#: :func:`design_sums` centres inside its blocks only when a centre is farther than this
#: many scales from zero; otherwise it centres the raw sums afterwards (see its Notes).
RAW_CENTRE_RATIO = 4.0


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


#: One factor of a :func:`design_rmatvecs` vector: an array, or its values on a block's rows.
Factor: TypeAlias = "np.ndarray | Callable[[slice], np.ndarray]"


def design_rmatvecs(
    X: np.ndarray, vectors: Sequence[Factor | tuple[Factor, ...]], *,
    chunk: int = CHUNK_ROWS,
) -> np.ndarray:
    """Return ``Z' r`` for several vectors ``r`` at once, from one blocked read of ``X``.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    vectors : list of numpy.ndarray or tuple of numpy.ndarray, each shape (n,)
        A tuple stands for the elementwise product of its arrays, formed block by block
        (so no ``n``-length product is made; a bool array multiplies by 0 or 1). A
        callable in place of an array gives that array's values on the rows of a
        block (a slice) when asked, so a vector computed from others (a GLM's
        ``dmu/deta`` from its means) needs no ``n``-length array either.
    chunk : int
        Rows per block (memory: one block of ``len(vectors)`` columns).

    Returns
    -------
    numpy.ndarray, shape (len(vectors), p + 1)
        Row ``j`` is :func:`design_rmatvec` of ``vectors[j]`` (to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [4.0]])
    >>> design_rmatvecs(X, [np.ones(3), np.array([1.0, 0.0, -1.0])], chunk=2).tolist()
    [[3.0, 7.0], [0.0, -3.0]]
    >>> design_rmatvecs(X, [(np.array([2.0, 2.0, 2.0]), np.array([True, False, True]))]).tolist()
    [[4.0, 10.0]]
    >>> design_rmatvecs(X, [lambda rows: 2.0 * X[rows, 0]]).tolist()
    [[14.0, 42.0]]
    """
    n, p = X.shape
    k = len(vectors)
    factors = [r if isinstance(r, tuple) else (r,) for r in vectors]
    out = np.zeros((k, p + 1))
    # one contiguous row per vector (the block's products are formed and summed along
    # rows, and the product with the block is one (k, m) @ (m, p) multiplication)
    buf = np.empty((k, max(min(chunk, n), 1)))
    for rows in row_blocks(n, chunk):
        m = rows.stop - rows.start
        for j, (first, *rest) in enumerate(factors):
            col = buf[j, :m]
            col[:] = first(rows) if callable(first) else first[rows]
            for f in rest:
                col *= f(rows) if callable(f) else f[rows]
        out[:, 0] += buf[:, :m].sum(axis=1)
        out[:, 1:] += buf[:, :m] @ X[rows]
    return out


def design_product_blocks(
    X: np.ndarray, B: np.ndarray, *, chunk: int = CHUNK_ROWS,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield each block of rows of ``Z B`` (``Z = [1, X]``) with its rows, from one read of ``X``.

    For callers that use several products ``Z b`` at once, row by row (an influence
    function's last terms, predictions): each block of ``X`` is multiplied by every
    column of ``B`` while it is in cache, and the caller finishes its arithmetic on the
    block, so no ``n``-length product is made.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    B : numpy.ndarray, shape (p + 1, k)
        One coefficient vector per column, intercept first.
    chunk : int
        Rows per block.

    Yields
    ------
    rows : slice
        The block's rows.
    P : numpy.ndarray, shape (rows, k)
        ``X[rows] @ B[1:] + B[0]`` (as :func:`design_matvec` forms it), in a work buffer
        that the next block overwrites.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [4.0]])
    >>> [(r.start, P.tolist()) for r, P in design_product_blocks(X, np.array([[0.5], [2.0]]),
    ...                                                           chunk=2)]
    [(0, [[2.5], [4.5]]), (2, [[8.5]])]
    """
    n = X.shape[0]
    B = np.asarray(B, dtype=float)
    coef = np.ascontiguousarray(B[1:])
    tmp = np.empty((max(min(chunk, n), 1), B.shape[1]))
    for rows in row_blocks(n, chunk):
        P = np.matmul(X[rows], coef, out=tmp[: rows.stop - rows.start])
        P += B[0]
        yield rows, P


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

    Notes
    -----
    Per block: one product ``[v, r]' X_b`` (the intercept row and the cross-product),
    one scaling of the block by ``sqrt(v)`` into a work buffer and one symmetric
    rank-k update. When every centre is within :data:`RAW_CENTRE_RATIO` scales of
    zero the sums run over the raw columns and are centred afterwards,
    ``sum v (x - c)(x - c)' = S - s c' - c s' + V c c'`` (``S = sum v x x'``,
    ``s = sum v x``, ``V = sum v``), which saves a subtraction per element; the
    rounding error is then at most ``(1 + RAW_CENTRE_RATIO)^2`` times that of
    centring first, about 1e-14 relative. A column farther from zero (a calendar
    year, say) is centred block by block first, as it must be for accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> H, g = design_sums(np.array([[1.0], [2.0]]), np.ones(2), np.array([1.0, -1.0]))
    >>> H.tolist(), g.tolist()
    ([[2.0, 3.0], [3.0, 5.0]], [0.0, -1.0])
    """
    n, p = X.shape
    acc = BlockSums(p, center=center, scale=scale, nonneg=bool((v >= 0).all()) if n else True,
                    chunk=max(min(chunk, n), 1))
    for rows in row_blocks(n, chunk):
        acc.add(X[rows], v[rows], None if r is None else r[rows])
    return acc.result()


class BlockSums:
    """Running ``Z' diag(v) Z`` and ``Z' r`` over row blocks of ``X``, added one block at a time.

    What :func:`design_sums` adds up, for callers that compute ``v`` and ``r`` block by
    block from the block itself (a fused Newton pass: linear predictor, means, weights and
    the sums from one read of each block, :func:`pbr_eval.models.glm.glm_pass`). The
    arithmetic is :func:`design_sums`' (see its Notes), so the same blocks give the same
    bits.

    Parameters
    ----------
    p : int
        Columns of ``X``.
    center, scale : numpy.ndarray, optional
        When given, the sums are over ``Z = [1, (X - center) / scale]``.
    nonneg : bool
        Whether every ``v`` is non-negative (then each block is scaled by ``sqrt(v)`` for
        a symmetric rank-k update).
    chunk : int
        The largest block that will be added (the size of the work buffer).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [4.0]])
    >>> acc = BlockSums(1)
    >>> acc.add(X[:2], np.ones(2), np.array([1.0, -1.0]))
    >>> acc.add(X[2:], np.ones(1), np.array([0.5]))
    >>> H, g = acc.result()
    >>> bool(np.array_equal(H, design_gram(X, np.ones(3)))), g.tolist()
    (True, [0.5, 1.0])
    """

    def __init__(self, p: int, *, center: np.ndarray | None = None,
                 scale: np.ndarray | None = None, nonneg: bool = True,
                 chunk: int = CHUNK_ROWS) -> None:
        self.p = p
        self.center, self.scale = center, scale
        # centre inside the blocks only when some column is far from zero (accuracy)
        self.shift = None
        if center is not None and scale is not None and bool(
                (np.abs(center) > RAW_CENTRE_RATIO * np.asarray(scale)).any()):
            self.shift = center
        self.nonneg = nonneg
        self.H = np.zeros((p + 1, p + 1))
        self.g = np.zeros(p + 1)
        self.buf = np.empty((chunk, p))
        self.vr = np.zeros((2, chunk))  # rows v and r of the block: one product, both sums

    def add(self, Xb: np.ndarray, v: np.ndarray | None, r: np.ndarray | None, *,
            gram: bool = True) -> None:
        """Add one block: rows ``Xb`` of ``X``, their weights ``v`` and vector ``r`` (or None).

        ``gram=False`` adds only the cross-product (``v`` is not used and may be None).
        """
        m = Xb.shape[0]
        if m > self.buf.shape[0]:
            self.buf = np.empty((m, self.p))
            self.vr = np.zeros((2, m))
        H, g, buf, vr = self.H, self.g, self.buf, self.vr
        src = Xb if self.shift is None else np.subtract(Xb, self.shift, out=buf[:m])
        if not gram or v is None:  # the cross-product alone: one vector-matrix product
            if r is not None:
                g[0] += r.sum()
                g[1:] += r @ src
            return
        vr[0, :m] = v
        if r is not None:
            vr[1, :m] = r
        else:
            vr[1, :m] = 0.0
        M = vr[:, :m] @ src
        H[0, 0] += vr[0, :m].sum()
        H[0, 1:] += M[0]
        if r is not None:
            g[0] += vr[1, :m].sum()
            g[1:] += M[1]
        if self.nonneg:
            block = np.multiply(src, np.sqrt(vr[0, :m])[:, None], out=buf[:m])
            H[1:, 1:] += block.T @ block
        else:
            H[1:, 1:] += (src * vr[0, :m, None]).T @ src

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the Gram matrix and the cross-product (as :func:`design_sums`)."""
        H, g = self.H.copy(), self.g.copy()
        center, scale = self.center, self.scale
        if center is not None and scale is not None:
            if self.shift is None:  # raw sums -> centred ones
                s1 = H[0, 1:].copy()
                H[1:, 1:] += (H[0, 0] * np.outer(center, center) - np.outer(s1, center)
                              - np.outer(center, s1))
                H[0, 1:] = s1 - H[0, 0] * center
                g[1:] -= g[0] * center
            H[0, 1:] /= scale
            H[1:, 1:] /= np.outer(scale, scale)
            g[1:] /= scale
        H[1:, 0] = H[0, 1:]
        H[1:, 1:] = (H[1:, 1:] + H[1:, 1:].T) / 2
        return H, g

