"""Greedy nearest-neighbour matching kernels that reproduce MatchIt exactly.

Pure functions over arrays; :mod:`pbr_eval.estimators.matching` orchestrates. The
shared walk machinery is in :mod:`pbr_eval.estimators._pool`, the covariate-distance
kernels in :mod:`pbr_eval.estimators._nearest_mah`.

MatchIt (Ho, Imai, King & Stuart 2011; version 4.7) sorts *all* units on the
matching variable (the score, or the first Mahalanobis-transformed
coordinate), and for each focal unit walks outward from its position,
alternately one position to the left and one to the right, skipping units
that cannot be used; the order in which candidates are *found* breaks ties
between equally distant controls. Walking position by position is
O(n_focal x n_pool) in the worst case (long runs of used controls), so here
the still-available controls of each exact-matching cell are kept in a
union-find structure ("next available slot to the left / right"), which
jumps over used units in near-constant amortised time, and the walk's
alternation is reproduced from the positions of the candidates found (a
candidate ``a`` positions to the left is found at walk step ``2a - 1``, one
``b`` positions to the right at step ``2b``). The result is the same match
matrix as MatchIt's, in O((n_focal + n_pool) log n_pool) time after the
score is known and O(n) memory: no focal x pool distance matrix is built.

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt: Nonparametric
preprocessing for parametric causal inference. Journal of Statistical
Software 42(8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pbr_eval.estimators._nearest_mah import MAH_WALK_LIMIT, _match_mah_cell, _match_mah_tree
from pbr_eval.estimators._pool import (
    KEY_SORT_MIN,
    _closest_rounds,
    _covs_ok,
    _Pool,
    _stable_sort_small,
    partial_sort_first,
    sorted_order,
    stable_argsort,
)

__all__ = ["match_nearest", "match_weights", "partial_sort_first", "stable_argsort"]


def _find_vec(
    pool: _Pool,
    i: int,
    score: Sequence[float],
    cells: np.ndarray,
    iil: int,
    iir: int,
    min_dist: float,
    ratio: int,
    caliper: float,
    cal_x: np.ndarray | None,
    cal_w: np.ndarray | None,
    cl: int = -1,
    cr: int = -1,
) -> list[int]:
    """MatchIt's ``find_control_vec`` over the available pool (``score`` a list)."""
    di = score[i]
    cell = int(cells[i])
    sl = pool.first_left(cell, iil, cl)
    sr = pool.first_right(cell, iir, cr)
    lstop = sl == 0
    rstop = sr == 0
    nl = nr = 0
    pot_u: list[int] = []
    pot_d: list[float] = []
    ppos = pool.pos
    punit = pool.unit
    while not (lstop and rstop):
        if lstop:
            left = False
        elif rstop:
            left = True
        else:
            left = (iil - ppos[sl]) <= (ppos[sr] - iir)
        s = sl if left else sr
        u = punit[s]
        d = abs(di - score[u])
        stop = False
        take = False
        if d > caliper:
            stop = True
        elif len(pot_d) >= ratio and sum(1 for x in pot_d if x < d) >= ratio:
            stop = True
        elif d < min_dist or not _covs_ok(cal_x, cal_w, i, u):
            pass
        else:
            take = True
        if take:
            pot_u.append(u)
            pot_d.append(d)
            if left:
                nl += 1
                stop = nl == ratio
            else:
                nr += 1
                stop = nr == ratio
        if left:
            if stop:
                lstop = True
            else:
                sl = pool.next_left(sl)
                lstop = sl == 0
        else:
            if stop:
                rstop = True
            else:
                sr = pool.next_right(sr)
                rstop = sr == 0
    n_pot = len(pot_u)
    if n_pot <= 1:
        return pot_u
    if n_pot <= ratio and all(pot_d[j] <= pot_d[j + 1] for j in range(n_pot - 1)):
        return pot_u
    if n_pot > ratio:
        return [pot_u[j] for j in partial_sort_first(pot_d, ratio)]
    return [pot_u[j] for j in _stable_sort_small(pot_d)]


def match_nearest(
    focal: np.ndarray,
    *,
    order: np.ndarray | None,
    score: np.ndarray | None = None,
    mah: np.ndarray | None = None,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    cal_x: np.ndarray | None = None,
    cal_w: np.ndarray | None = None,
    cells: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
    closest: bool = False,
) -> np.ndarray:
    """Nearest-neighbour matching exactly as MatchIt 4.7 does it.

    Parameters
    ----------
    focal : numpy.ndarray of bool, shape (n,)
        The units that choose (the treated for the ATT, controls for the ATC).
    order : numpy.ndarray of int or None
        Indices (into the focal units, in data order) giving the order in
        which focal units choose; ignored with ``replace=True`` or ``closest``.
    score : numpy.ndarray, optional
        The scalar distance (propensity score or its logit). With ``mah``
        given, it only serves the caliper.
    mah : numpy.ndarray, shape (n, q), optional
        Mahalanobis-transformed covariates; matching minimises the squared
        Euclidean distance between rows.
    ratio : int
        Matches per focal unit; without replacement given in rounds (every
        focal unit gets its first match before any gets a second).
    replace : bool
        Whether pool units may be reused.
    caliper : float, optional
        Largest allowed ``|score_i - score_j|`` (inclusive), on the score scale.
    cal_x, cal_w : numpy.ndarray, optional
        Covariate values (n, p) and caliper widths (p,) for per-covariate calipers.
    cells : numpy.ndarray of int, optional
        Exact-matching cell of each unit; units only match within a cell.
    discarded : numpy.ndarray of bool, optional
        Units that may neither choose nor be chosen.
    closest : bool
        MatchIt's ``m.order = "closest"``: pairs are formed in increasing order
        of distance (score matching without replacement only).

    Returns
    -------
    numpy.ndarray of int, shape (n_focal, ratio)
        Unit indices (into all n units) matched to each focal unit, focal
        units in data order; -1 where none.

    Examples
    --------
    >>> import numpy as np
    >>> focal = np.array([True, True, False, False, False])
    >>> score = np.array([0.5, 0.52, 0.1, 0.51, 0.53])
    >>> match_nearest(focal, order=np.array([1, 0]), score=score)
    array([[4],
           [3]])
    """
    focal = np.asarray(focal, dtype=bool)
    n = focal.size
    focal_idx = np.flatnonzero(focal)
    nf = focal_idx.size
    cal = np.inf if caliper is None else float(caliper)
    if (mah is None and ratio == 1 and cal_x is None and not replace and not closest
            and cells is None):
        return _greedy_one_cell(focal, focal_idx, np.asarray(score, dtype=float), order,
                                discarded, cal)
    disc = np.zeros(n, bool) if discarded is None else np.asarray(discarded, bool)
    cells_ = np.zeros(n, np.int64) if cells is None else np.asarray(cells, np.int64)
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    if mah is not None:
        # MatchIt splits the sample by exact cell and matches each separately.
        for c in np.unique(cells_[focal_idx]):
            sub = np.flatnonzero(cells_ == c)
            f_sub = focal[sub]
            if not f_sub.any() or f_sub.all():
                continue
            rows = np.searchsorted(focal_idx, sub[f_sub])
            sub_order = None
            if order is not None:
                rank = np.full(nf, -1)
                rank[np.asarray(order)] = np.arange(len(order))
                r = rank[rows]
                keep = r >= 0
                sub_order = np.flatnonzero(keep)[np.argsort(r[keep], kind="stable")]
            cell_fn = _match_mah_cell if sub.size <= MAH_WALK_LIMIT else _match_mah_tree
            out = cell_fn(
                f_sub, sub_order, mah[sub], None if score is None else score[sub], ratio,
                replace, cal, None if cal_x is None else cal_x[sub], cal_w, disc[sub],
                closest=closest,
            )
            has = out >= 0
            out[has] = sub[out[has]]
            mm[rows] = out
        return mm
    assert score is not None
    score_a = np.asarray(score, dtype=float)
    ord_all = stable_argsort(score_a)
    pos = np.empty(n, np.int64)
    pos[ord_all] = np.arange(n)
    if ratio == 1 and cal_x is None and not replace and not closest:
        # fast path (several exact cells): the pool as flat arrays, no Python lists of it
        units = np.flatnonzero(~focal & ~disc)
        key = cells_[units] * (n + 1) + pos[units]
        o = np.argsort(key)  # keys are distinct: any sort is the stable one
        units, key = units[o], key[o]
        keyf = cells_[focal_idx] * (n + 1) + pos[focal_idx]
        seq0 = np.arange(nf) if order is None else np.asarray(order)
        return _greedy_1to1(
            _flat(cells_[units], "q", -1), _flat(pos[units], "q", -1), _flat(units, "q", -1),
            _flat(score_a[units], "d", np.nan), seq0.tolist(), score_a[focal_idx].tolist(), cells_[focal_idx].tolist(),
            pos[focal_idx].tolist(), np.searchsorted(key, keyf, side="left").tolist(),
            np.searchsorted(key, keyf, side="right").tolist(), cal, (~disc[focal_idx]).tolist(),
        )
    if cells is None:
        pool_units = ord_all[~focal[ord_all] & ~disc[ord_all]]
        pool = _Pool(pos, None, pool_units, n, presorted=True)
    else:
        pool = _Pool(pos, cells_, np.flatnonzero(~focal & ~disc), n)
    keyf = cells_[focal_idx] * (n + 1) + pos[focal_idx]
    cl_all = np.searchsorted(pool.key, keyf, side="left").tolist()
    cr_all = np.searchsorted(pool.key, keyf, side="right").tolist()
    focal_ok = ~disc[focal_idx]
    score_l = score_a.tolist()
    pos_l = pos.tolist()
    if closest and not replace:
        return _closest_vec(pool, focal_idx, focal_ok, score_l, cells_, pos_l, ratio, cal, cal_x,
                            cal_w)
    seq = np.arange(nf) if (replace or order is None) else np.asarray(order)
    fidx = focal_idx.tolist()
    if replace:
        for k in seq.tolist():
            if not focal_ok[k]:
                continue
            i = fidx[k]
            got = _find_vec(pool, i, score_l, cells_, pos_l[i], pos_l[i], 0.0, ratio, cal, cal_x,
                            cal_w, cl_all[k], cr_all[k])
            mm[k, : len(got)] = got
        return mm
    eligible = focal_ok.tolist()
    chosen = [[-1] * ratio for _ in range(nf)]
    for r in range(ratio):
        for k in seq.tolist():
            if pool.n_available == 0:
                break
            if not eligible[k]:
                continue
            i = fidx[k]
            prev = chosen[k][:r]
            if r == 0 or all(u < 0 for u in prev):
                got = _find_vec(pool, i, score_l, cells_, pos_l[i], pos_l[i], 0.0, 1, cal, cal_x,
                                cal_w, cl_all[k], cr_all[k])
            else:
                iil, iir, min_dist = _starts(i, prev, pos_l, score_l)
                got = _find_vec(pool, i, score_l, cells_, iil, iir, min_dist, 1, cal, cal_x, cal_w)
            if not got:
                if r == 0:
                    eligible[k] = False
                continue
            chosen[k][r] = got[0]
            pool.remove(got[0])
    return np.array(chosen, dtype=np.int64).reshape(nf, ratio)


def _greedy_one_cell(focal: np.ndarray, focal_idx: np.ndarray, score: np.ndarray,
                     order: np.ndarray | None, discarded: np.ndarray | None,
                     cal: float) -> np.ndarray:
    """Match the commonest case (1:1, no replacement, one cell): one sort and :func:`_greedy_1to1`.

    Everything but the sort is O(n_focal) in Python and a few flat array operations:
    the walk runs over the sorted order of *all* units (slot = position + 1), with the
    focal and discarded units marked taken before it starts, so no array of the pool's
    positions, units or scores is gathered out of the sort (three n-arrays fewer).
    """
    nf = focal_idx.size
    n = score.size
    if n >= KEY_SORT_MIN and not np.isnan(score.min()):
        ord_all, sorted_score = sorted_order(score)
    else:
        ord_all = stable_argsort(score)
        sorted_score = score[ord_all]
    out_pool = focal if discarded is None else focal | np.asarray(discarded, bool)
    gone = np.flatnonzero(out_pool[ord_all])  # positions of units that cannot be chosen
    fpos_s = gone[focal[ord_all[gone]]]  # the focal units' positions, ascending
    # each focal unit's index in data order (focal_idx is ascending)
    fk = np.searchsorted(focal_idx, ord_all[fpos_s])
    fpos = np.empty(nf, np.int64)
    fpos[fk] = fpos_s
    ok = (np.ones(nf, bool) if discarded is None
          else ~np.asarray(discarded, bool)[focal_idx])
    seq0 = np.arange(nf) if order is None else np.asarray(order)
    cl = fpos.tolist()  # the slot left of each focal unit's (slot = position + 1)
    return _greedy_1to1(None, None, ord_all.data, sorted_score.data, seq0.tolist(),
                        score[focal_idx].tolist(), [0] * nf, [p + 1 for p in cl], cl, cl, cal,
                        ok.tolist(), shift=1, taken=gone + 1, n_slots=n)


def _flat(values: np.ndarray, code: str, fill: float) -> memoryview:
    """``values`` with a sentinel ``fill`` at each end, as a ``memoryview``.

    (of a new numpy array: indexing it gives Python numbers, as a list does,
    without building one Python object per element).
    """
    ext = np.empty(values.size + 2, np.float64 if code == "d" else np.int64)
    ext[0] = ext[-1] = fill
    ext[1:-1] = values
    return ext.data


def _greedy_1to1(
    pcell: memoryview | None,
    ppos: memoryview | None,
    punit: memoryview,
    pscore: memoryview,
    seq: list[int],
    fscore: list[float],
    fcell: list[int],
    fpos: list[int],
    cl_all: list[int],
    cr_all: list[int],
    cal: float,
    ok: list[bool],
    *,
    shift: int = 0,
    taken: np.ndarray | None = None,
    n_slots: int | None = None,
) -> np.ndarray:
    """Return the common case (1:1, no replacement, no covariate calipers), inlined.

    Same result as :func:`_find_vec` with ``ratio=1``: the nearest available
    control on each side (caliper-checked), the nearer wins, and at equal
    distance the one fewer positions away (the left one if equally far).
    ``pcell``/``ppos``/``punit``/``pscore`` are the pool units' cells (None: one
    cell), positions, indices and scores in (cell, position) order, in slots 1..m
    with a sentinel at slots 0 and m + 1 (see :func:`_flat`); ``cl_all`` / ``cr_all``
    each focal unit's left/right insertion slot in that order, and
    ``fscore``/``fcell``/``fpos`` are per focal unit. The union-find arrays
    ("nearest available slot to the left / right") and the pool columns are
    memoryviews of numpy arrays, so preparing a pool of 100,000 costs a few
    array operations rather than 100,000 Python objects.

    The one-cell caller walks over the sorted order of all units instead: ``ppos``
    None (a slot's position is the slot itself, ``fpos`` in slots too), ``punit`` /
    ``pscore`` without sentinels (slot ``s`` reads element ``s - shift``), ``n_slots``
    slots of which ``taken`` (the focal and discarded units') start unavailable.
    """
    m = len(punit) - 2 if n_slots is None else n_slots
    slots = np.arange(m + 2, dtype=np.int64 if m >= 2**31 - 2 else np.int32)
    right = slots.copy()
    if taken is not None and taken.size:
        slots[taken] -= 1
        right[taken] += 1
    left = slots.data
    right = right.data
    one_cell = pcell is None
    out = [-1] * len(fscore)
    n_avail = m - (0 if taken is None else taken.size)
    for k in seq:
        if n_avail == 0:
            break
        if not ok[k]:
            continue
        c = fcell[k]
        di = fscore[k]
        ii = fpos[k]
        # nearest available slot at or left of cl_all[k] (path-compressed find)
        a = cl_all[k]
        r = a
        while left[r] != r:
            r = left[r]
        while left[a] != r:
            left[a], a = r, left[a]
        sl = r
        a = cr_all[k] + 1
        r = a
        while right[r] != r:
            r = right[r]
        while right[a] != r:
            right[a], a = r, right[a]
        sr = r
        dl = dr = -1.0
        if sl >= 1 and (one_cell or pcell[sl] == c):  # type: ignore[index] # pcell given
            dl = di - pscore[sl - shift]
            if dl < 0:
                dl = -dl
            if dl > cal:
                dl = -1.0
        if sr <= m and (one_cell or pcell[sr] == c):  # type: ignore[index] # pcell given
            dr = pscore[sr - shift] - di
            if dr < 0:
                dr = -dr
            if dr > cal:
                dr = -1.0
        if dl < 0 and dr < 0:
            continue
        if dr < 0 or (dl >= 0 and (dl < dr or (dl == dr and (
                ii - sl <= sr - ii if ppos is None else ii - ppos[sl] <= ppos[sr] - ii)))):
            s = sl
        else:
            s = sr
        out[k] = punit[s - shift]
        left[s] = s - 1
        right[s] = s + 1
        n_avail -= 1
    return np.array(out, dtype=np.int64).reshape(-1, 1)


def _starts(
    i: int, prev: list[int], pos_l: list[int], score: Sequence[float]
) -> tuple[int, int, float]:
    """Where the walk starts in a later round, and the smallest distance allowed."""
    prev = [u for u in prev if u >= 0]
    ii = pos_l[i]
    if not prev:
        return ii, ii, 0.0
    starts = [pos_l[u] for u in prev] + [ii]
    iil, iir = min(starts), max(starts)
    # the units at the extreme positions (ii itself or a previous match)
    by_pos = {pos_l[u]: u for u in prev}
    di = float(score[i])
    if iil == ii:
        min_dist = abs(di - float(score[by_pos[iir]]))
    elif iir == ii:
        min_dist = abs(di - float(score[by_pos[iil]]))
    else:
        min_dist = max(abs(di - float(score[by_pos[iil]])), abs(di - float(score[by_pos[iir]])))
    return iil, iir, min_dist


def _closest_vec(
    pool: _Pool,
    focal_idx: np.ndarray,
    focal_ok: np.ndarray,
    score: list[float],
    cells: np.ndarray,
    pos_l: list[int],
    ratio: int,
    cal: float,
    cal_x: np.ndarray | None,
    cal_w: np.ndarray | None,
) -> np.ndarray:
    """MatchIt's ``nn_matchC_vec_closest`` (``m.order = "closest"``): the rounds of :func:`_closest_rounds`; a later search starts beyond the unit's earlier matches (and, on a re-search, beyond the unit just taken by another focal unit)."""

    def find(k: int, prev: list[int]) -> int | None:
        i = int(focal_idx[k])
        iil, iir, md = _starts(i, prev, pos_l, score)
        got = _find_vec(pool, i, score, cells, iil, iir, md, 1, cal, cal_x, cal_w)
        return got[0] if got else None

    def dist(k: int, u: int) -> float:
        return abs(float(score[int(focal_idx[k])]) - float(score[u]))

    return _closest_rounds(focal_idx.size, focal_ok, ratio, find, dist, pool.available,
                           pool.remove, lambda: pool.n_available)


def match_weights(
    match_matrix: np.ndarray, n_pool: int
) -> tuple[np.ndarray, np.ndarray]:
    """MatchIt's matching weights from a match matrix (matching with replacement).

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
