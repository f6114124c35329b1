"""Greedy nearest-neighbour matching on a one-dimensional score.

Pure functions over arrays; :mod:`pbr_eval.estimators.matching` orchestrates.
Time is O((n_focal + n_pool) log n_pool) and memory O(n_focal + n_pool): the
pool is sorted once and the nearest still-available unit on each side is
found with two union-find structures ("next available to the left/right"),
so no focal x pool distance matrix is ever built.
"""

from __future__ import annotations

import numpy as np

__all__ = ["greedy_match_1d", "nearest_with_replacement_1d", "match_weights"]


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def greedy_match_1d(
    focal_score: np.ndarray,
    pool_score: np.ndarray,
    order: np.ndarray,
    *,
    ratio: int = 1,
    caliper: float | None = None,
) -> np.ndarray:
    """Greedy 1-d nearest-neighbour matching without replacement.

    Parameters
    ----------
    focal_score : numpy.ndarray, shape (n_focal,)
        Score of each focal (e.g. treated) unit.
    pool_score : numpy.ndarray, shape (n_pool,)
        Score of each pool (e.g. comparison) unit, in data order.
    order : numpy.ndarray of int
        The order in which focal units choose (indices into ``focal_score``).
    ratio : int
        Matches per focal unit. Every focal unit gets its first match before
        any gets its second (``ratio`` passes through ``order``).
    caliper : float, optional
        Largest allowed score distance (inclusive). A focal unit whose nearest
        available pool unit is farther goes unmatched in that pass.

    Returns
    -------
    numpy.ndarray of int, shape (n_focal, ratio)
        Pool indices matched to each focal unit; -1 where none.

    Notes
    -----
    Tie rule (MatchIt's): the candidates are the nearest available pool unit
    with score <= the focal score (among equal scores the last in data
    order) and the nearest with score > it (among equal scores the first in
    data order); when both are equally distant, the lower one wins.

    Examples
    --------
    >>> import numpy as np
    >>> greedy_match_1d(np.array([0.5, 0.52]), np.array([0.1, 0.51, 0.53]), np.array([1, 0]))
    array([[1],
           [2]])
    """
    m = pool_score.size
    sort_idx = np.argsort(pool_score, kind="stable")
    sorted_scores = pool_score[sort_idx]
    # positions 1..m hold pool units; 0 and m+1 are sentinels meaning "none"
    s_ext = np.concatenate(([-np.inf], sorted_scores, [np.inf])).tolist()
    pool_ids = [-1, *sort_idx.tolist(), -1]
    left = list(range(m + 2))
    right = list(range(m + 2))
    lpos_all = np.searchsorted(sorted_scores, focal_score, side="right").tolist()
    fscores = focal_score.tolist()
    out = np.full((focal_score.size, ratio), -1, dtype=np.int64)
    cal = np.inf if caliper is None else float(caliper)
    n_left = m
    for k in range(ratio):
        for i in order.tolist():
            if n_left == 0:
                break
            s = fscores[i]
            lp = lpos_all[i]
            L = _find(left, lp)
            R = _find(right, lp + 1)
            dl = s - s_ext[L]
            dr = s_ext[R] - s
            if dl <= dr:
                pos, d = L, dl
            else:
                pos, d = R, dr
            if pos == 0 or pos == m + 1 or d > cal:
                continue
            out[i, k] = pool_ids[pos]
            left[pos] = pos - 1
            right[pos] = pos + 1
            n_left -= 1
    return out


def nearest_with_replacement_1d(
    focal_score: np.ndarray,
    pool_score: np.ndarray,
    *,
    ratio: int = 1,
    caliper: float | None = None,
) -> np.ndarray:
    """Vectorised 1-d k-nearest-neighbour matching with replacement.

    Same tie rule as :func:`greedy_match_1d`; the order of focal units does
    not matter because pool units are never used up.

    Returns
    -------
    numpy.ndarray of int, shape (n_focal, ratio)
        Pool indices; -1 where fewer than ``ratio`` are within the caliper.
    """
    m = pool_score.size
    sort_idx = np.argsort(pool_score, kind="stable")
    s_sorted = pool_score[sort_idx]
    s_ext = np.concatenate(([-np.inf], s_sorted, [np.inf]))
    ids_ext = np.concatenate(([-1], sort_idx, [-1]))
    L = np.searchsorted(s_sorted, focal_score, side="right")  # 1-based position of left cand.
    R = L + 1
    out = np.full((focal_score.size, ratio), -1, dtype=np.int64)
    cal = np.inf if caliper is None else float(caliper)
    for k in range(ratio):
        dl = focal_score - s_ext[L]
        dr = s_ext[R] - focal_score
        take_left = dl <= dr
        pos = np.where(take_left, L, R)
        d = np.where(take_left, dl, dr)
        ok = (pos >= 1) & (pos <= m) & (d <= cal)
        out[ok, k] = ids_ext[pos[ok]]
        L = np.where(take_left, L - 1, L)
        R = np.where(take_left, R, R + 1)
        L = np.maximum(L, 0)
        R = np.minimum(R, m + 1)
    return out


def match_weights(
    match_matrix: np.ndarray, n_pool: int
) -> tuple[np.ndarray, np.ndarray]:
    """MatchIt's matching weights from a match matrix.

    Parameters
    ----------
    match_matrix : numpy.ndarray of int, shape (n_focal, ratio)
        Pool indices per focal unit, -1 for none.
    n_pool : int
        Number of pool units.

    Returns
    -------
    focal_w : numpy.ndarray
        1 for focal units with at least one match, else 0.
    pool_w : numpy.ndarray
        For each pool unit, the sum over the focal units it is matched to of
        1 / (number of pool units matched to that focal unit), rescaled so the
        nonzero weights have mean 1.

    Examples
    --------
    >>> import numpy as np
    >>> fw, pw = match_weights(np.array([[0, 1], [1, -1]]), 3)
    >>> fw.tolist(), pw.tolist()
    ([1.0, 1.0], [0.5, 1.5, 0.0])
    """
    has = match_matrix >= 0
    k = has.sum(axis=1)
    focal_w = (k > 0).astype(float)
    share = np.where(has, 1.0 / np.maximum(k, 1)[:, None], 0.0)
    pool_w = np.bincount(match_matrix[has], weights=share[has], minlength=n_pool).astype(float)
    nz = pool_w > 0
    if nz.any():
        pool_w[nz] *= nz.sum() / pool_w[nz].sum()
    return focal_w, pool_w
