"""Greedy nearest-neighbour matching kernels that reproduce MatchIt exactly.

Pure functions over arrays; :mod:`pbr_eval.estimators.matching` orchestrates.

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

from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

__all__ = ["match_nearest", "match_weights", "partial_sort_first", "stable_argsort"]


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


# --------------------------------------------------------------------------
# libstdc++'s std::partial_sort, emulated so that tied distances are ordered
# exactly as MatchIt's C++ code orders them.
def _adjust_heap(a: list[int], d: Sequence[float], hole: int, n: int, value: int) -> None:
    top = hole
    child = hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if d[a[child]] < d[a[child - 1]]:
            child -= 1
        a[hole] = a[child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[hole] = a[child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and d[a[parent]] < d[value]:
        a[hole] = a[parent]
        hole = parent
        parent = (hole - 1) // 2
    a[hole] = value


def _pop_heap(a: list[int], d: Sequence[float], last: int, result: int) -> None:
    value = a[result]
    a[result] = a[0]
    _adjust_heap(a, d, 0, last, value)


def partial_sort_first(d: Sequence[float], k: int) -> list[int]:
    """Indices of the ``k`` smallest of ``d`` in libstdc++ ``std::partial_sort`` order

    (not stable: tied values may come out in either order, as in MatchIt).

    Examples
    --------
    >>> partial_sort_first([0.3, 0.1, 0.1, 0.2], 2)
    [2, 1]
    """
    a = list(range(len(d)))
    n = k
    if n >= 2:
        parent = (n - 2) // 2
        while True:
            _adjust_heap(a, d, parent, n, a[parent])
            if parent == 0:
                break
            parent -= 1
    for i in range(k, len(a)):
        if d[a[i]] < d[a[0]]:
            _pop_heap(a, d, k, i)
    last = k
    while last > 1:
        last -= 1
        _pop_heap(a, d, last, last)
    return a[:k]


def stable_argsort(a: np.ndarray) -> np.ndarray:
    """``np.argsort(a, kind="stable")``, faster: an unstable sort, then ties put back

    in index order (identical result; about 3x faster on 100,000 floats).

    Examples
    --------
    >>> stable_argsort(np.array([0.2, 0.1, 0.2, 0.1, 0.0])).tolist()
    [4, 1, 3, 0, 2]
    """
    a = np.asarray(a)
    n = a.size
    o = np.argsort(a)
    if n < 2:
        return o
    v = a[o]
    tie = v[1:] == v[:-1]
    if not tie.any():
        return o
    if a.dtype.kind == "f" and np.isnan(v[-1]):
        return np.argsort(a, kind="stable")  # NaNs: let numpy order them
    grp = np.zeros(n, np.int64)
    np.cumsum(~tie, out=grp[1:])
    key = grp * n + o  # distinct; sorting it orders each run of ties by index
    key.sort()
    return key - grp * n


def _stable_sort_small(d: Sequence[float]) -> list[int]:
    # std::sort on fewer than 16 elements is an insertion sort: stable.
    return sorted(range(len(d)), key=lambda j: d[j])


class _Pool:
    """Available comparison units, grouped by cell, in order of the matching variable."""

    def __init__(
        self,
        pos: np.ndarray,
        cells: np.ndarray | None,
        pool_units: np.ndarray,
        n: int,
        *,
        presorted: bool = False,
    ) -> None:
        # ``presorted``: pool_units already in (cell, position) order
        cell_of = np.zeros(n, np.int64) if cells is None else cells
        key = cell_of[pool_units] * (n + 1) + pos[pool_units]
        if not presorted:
            o = np.argsort(key, kind="stable")
            key = key[o]
            pool_units = pool_units[o]
        self.n = n
        self.key = key
        units = pool_units
        m = units.size
        self.m = m
        ext = np.empty(m + 2, np.int64)
        ext[0] = ext[-1] = -1
        ext[1:-1] = units
        self.unit = ext.tolist()
        self.has_cells = cells is not None
        if cells is None:
            self.cell = [-1] + [0] * m + [-1]
        else:
            ext[1:-1] = cell_of[units]
            self.cell = ext.tolist()
        pos_ext = np.empty(m + 2, np.int64)
        pos_ext[0] = pos_ext[-1] = -1
        pos_ext[1:-1] = pos[units]
        self.pos_arr = pos_ext
        self.left = list(range(m + 2))
        self.right = list(range(m + 2))
        slot = np.zeros(n, np.int64)
        slot[units] = np.arange(1, m + 1)
        self.slot_of = slot
        self.n_available = m

    @cached_property
    def pos(self) -> list[int]:
        """Position (in the sort of all units) of the unit in each slot."""
        return self.pos_arr.tolist()

    def remove(self, unit: int) -> None:
        s = int(self.slot_of[unit])
        self.left[s] = s - 1
        self.right[s] = s + 1
        self.n_available -= 1

    def available(self, unit: int) -> bool:
        s = int(self.slot_of[unit])
        return s > 0 and self.left[s] == s

    def first_left(self, cell: int, start_pos: int, cnt: int = -1) -> int:
        """Slot of the nearest available unit of ``cell`` positioned before ``start_pos``."""
        if cnt < 0:
            cnt = int(np.searchsorted(self.key, cell * (self.n + 1) + start_pos, side="left"))
        s = _find(self.left, cnt)
        return s if s >= 1 and self.cell[s] == cell else 0

    def first_right(self, cell: int, start_pos: int, cnt: int = -1) -> int:
        if cnt < 0:
            cnt = int(np.searchsorted(self.key, cell * (self.n + 1) + start_pos, side="right"))
        s = _find(self.right, cnt + 1)
        return s if s <= self.m and self.cell[s] == cell else 0

    def next_left(self, s: int) -> int:
        c = self.cell[s]
        s2 = _find(self.left, s - 1)
        return s2 if s2 >= 1 and self.cell[s2] == c else 0

    def next_right(self, s: int) -> int:
        c = self.cell[s]
        s2 = _find(self.right, s + 1)
        return s2 if s2 <= self.m and self.cell[s2] == c else 0


def _covs_ok(cal_x: np.ndarray | None, cal_w: np.ndarray | None, i: int, u: int) -> bool:
    if cal_x is None or cal_w is None:
        return True
    return bool(np.all(np.abs(cal_x[i] - cal_x[u]) <= cal_w))


def _find_vec(
    pool: _Pool,
    i: int,
    score: np.ndarray,
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


def _find_mah(
    pool: _Pool,
    i: int,
    sv: np.ndarray,
    mah: np.ndarray,
    cells: np.ndarray,
    ratio: int,
    score: np.ndarray | None,
    caliper: float,
    cal_x: np.ndarray | None,
    cal_w: np.ndarray | None,
    pos_i: int,
) -> list[int]:
    """MatchIt's ``find_control_mahcovs`` over the available pool."""
    mv_i = float(sv[i])
    cell = int(cells[i])
    sl = pool.first_left(cell, pos_i)
    sr = pool.first_right(cell, pos_i)
    lstop = sl == 0
    rstop = sr == 0
    pot: list[tuple[int, float]] = []
    ppos = pool.pos
    punit = pool.unit
    xi = mah[i]
    while not (lstop and rstop):
        if lstop:
            left = False
        elif rstop:
            left = True
        else:
            left = (pos_i - ppos[sl]) <= (ppos[sr] - pos_i)
        s = sl if left else sr
        u = punit[s]
        mv = (mv_i - float(sv[u])) ** 2
        if len(pot) == ratio and pot[-1][1] < mv:
            if left:
                lstop = True
            else:
                rstop = True
            continue
        ok = True
        if score is not None and abs(float(score[i]) - float(score[u])) > caliper:
            ok = False
        elif not _covs_ok(cal_x, cal_w, i, u):
            ok = False
        if ok:
            diff = xi - mah[u]
            dc = float(np.sum(diff * diff))
            if np.isfinite(dc):
                if not pot:
                    pot.append((u, dc))
                elif dc > pot[-1][1]:
                    if len(pot) < ratio:
                        pot.append((u, dc))
                elif ratio == 1:
                    pot[0] = (u, dc)
                else:
                    if len(pot) == ratio:
                        pot.pop()
                    if dc > pot[-1][1]:
                        pot.append((u, dc))
                    else:
                        lo, hi = 0, len(pot)
                        while lo < hi:  # std::lower_bound with a.second < b.second
                            mid = (lo + hi) // 2
                            if pot[mid][1] < dc:
                                lo = mid + 1
                            else:
                                hi = mid
                        pot.insert(lo, (u, dc))
        if left:
            sl = pool.next_left(sl)
            lstop = sl == 0
        else:
            sr = pool.next_right(sr)
            rstop = sr == 0
    return [p[0] for p in pot]


def _lower_bound(seq: list[int], first: int, value: float, d: list[float]) -> int:
    count = len(seq) - first
    while count > 0:
        step = count // 2
        it = first + step
        if d[seq[it]] < value:
            first = it + 1
            count -= step + 1
        else:
            count = step
    return first


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
    disc = np.zeros(n, bool) if discarded is None else np.asarray(discarded, bool)
    cells_ = np.zeros(n, np.int64) if cells is None else np.asarray(cells, np.int64)
    focal_idx = np.flatnonzero(focal)
    nf = focal_idx.size
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    cal = np.inf if caliper is None else float(caliper)
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
        # fast path: the pool as flat arrays, no Python lists of the whole pool
        if cells is None:
            units = ord_all[~focal[ord_all] & ~disc[ord_all]]
            key = pos[units]
        else:
            units = np.flatnonzero(~focal & ~disc)
            key = cells_[units] * (n + 1) + pos[units]
            o = np.argsort(key)  # keys are distinct: any sort is the stable one
            units, key = units[o], key[o]
        keyf = cells_[focal_idx] * (n + 1) + pos[focal_idx]
        seq0 = np.arange(nf) if order is None else np.asarray(order)
        return _greedy_1to1(
            units, None if cells is None else cells_[units], pos[units], score_a[units],
            seq0.tolist(), score_a[focal_idx].tolist(), cells_[focal_idx].tolist(),
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
    out = [[-1] * ratio for _ in range(nf)]
    for r in range(ratio):
        for k in seq.tolist():
            if pool.n_available == 0:
                break
            if not eligible[k]:
                continue
            i = fidx[k]
            prev = out[k][:r]
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
            out[k][r] = got[0]
            pool.remove(got[0])
    return np.array(out, dtype=np.int64).reshape(nf, ratio)


def _flat(values: np.ndarray, code: str, fill: float) -> memoryview:
    """``values`` with a sentinel ``fill`` at each end, as a ``memoryview``

    (of a new numpy array: indexing it gives Python numbers, as a list does,
    without building one Python object per element)."""
    ext = np.empty(values.size + 2, np.float64 if code == "d" else np.int64)
    ext[0] = ext[-1] = fill
    ext[1:-1] = values
    return memoryview(ext)


def _greedy_1to1(
    units: np.ndarray,
    cells: np.ndarray | None,
    upos: np.ndarray,
    uscore: np.ndarray,
    seq: list[int],
    fscore: list[float],
    fcell: list[int],
    fpos: list[int],
    cl_all: list[int],
    cr_all: list[int],
    cal: float,
    ok: list[bool],
) -> np.ndarray:
    """The common case (1:1, no replacement, no covariate calipers), inlined.

    Same result as :func:`_find_vec` with ``ratio=1``: the nearest available
    control on each side (caliper-checked), the nearer wins, and at equal
    distance the one fewer positions away (the left one if equally far).
    ``units``/``cells``/``upos``/``uscore`` are the pool units in (cell,
    position) order (slots 1..m; ``cells`` None for one cell), ``cl_all`` /
    ``cr_all`` each focal unit's left/right insertion slot in that order, and
    ``fscore``/``fcell``/``fpos`` are per focal unit. The union-find arrays
    ("nearest available slot to the left / right") and the pool columns are
    memoryviews of numpy arrays, so preparing a pool of 100,000 costs a few
    array operations rather than 100,000 Python objects.
    """
    m = int(units.size)
    slots = np.arange(m + 2, dtype=np.int64)
    left = memoryview(slots)
    right = memoryview(slots.copy())
    pcell = _flat(np.zeros(m, np.int64) if cells is None else cells, "q", -1)
    ppos = _flat(upos, "q", -1)
    punit = _flat(units, "q", -1)
    pscore = _flat(uscore, "d", np.nan)
    out = [-1] * len(fscore)
    n_avail = m
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
        if sl >= 1 and pcell[sl] == c:
            dl = di - pscore[sl]
            if dl < 0:
                dl = -dl
            if dl > cal:
                dl = -1.0
        if sr <= m and pcell[sr] == c:
            dr = pscore[sr] - di
            if dr < 0:
                dr = -dr
            if dr > cal:
                dr = -1.0
        if dl < 0 and dr < 0:
            continue
        if dr < 0 or (dl >= 0 and (dl < dr or (dl == dr and ii - ppos[sl] <= ppos[sr] - ii))):
            s = sl
        else:
            s = sr
        out[k] = punit[s]
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
    """MatchIt's ``nn_matchC_vec_closest`` (``m.order = "closest"``): the rounds of
    :func:`_closest_rounds`; a later search starts beyond the unit's earlier matches
    (and, on a re-search, beyond the unit just taken by another focal unit)."""

    def find(k: int, prev: list[int]) -> int | None:
        i = int(focal_idx[k])
        iil, iir, md = _starts(i, prev, pos_l, score)
        got = _find_vec(pool, i, score, cells, iil, iir, md, 1, cal, cal_x, cal_w)
        return got[0] if got else None

    def dist(k: int, u: int) -> float:
        return abs(float(score[int(focal_idx[k])]) - float(score[u]))

    return _closest_rounds(focal_idx.size, focal_ok, ratio, find, dist, pool.available,
                           pool.remove, lambda: pool.n_available)


def _closest_rounds(
    nf: int,
    eligible: np.ndarray,
    ratio: int,
    find: Callable[[int, list[int]], int | None],
    dist: Callable[[int, int], float],
    available: Callable[[int], bool],
    take: Callable[[int], None],
    n_available: Callable[[], int],
) -> np.ndarray:
    """MatchIt's ``m.order = "closest"`` for covariate distances
    (``nn_matchC_mahcovs_closest``): each round, every eligible focal unit finds
    its nearest available unit; pairs are taken in increasing distance (stable
    order); a focal unit whose unit was taken meanwhile searches again and is
    re-inserted before pairs at an equal distance (``std::lower_bound``).

    ``find(k, prev)`` is the nearest available pool unit of focal row ``k`` (or
    None), given its earlier matches ``prev`` (on a re-search also the unit just
    taken); ``dist(k, u)`` the distance; ``take(u)`` removes ``u`` from the pool.
    """
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    eligible = eligible.copy()
    n_elig = int(eligible.sum())
    for r in range(ratio):
        t_k: list[int] = []
        c_id: list[int] = []
        d: list[float] = []
        for k in range(nf):
            if not eligible[k]:
                continue
            u = find(k, mm[k, :r].tolist())
            if u is None:
                eligible[k] = False
                n_elig -= 1
                continue
            t_k.append(k)
            c_id.append(u)
            d.append(dist(k, u))
        heap = sorted(range(len(d)), key=lambda j: d[j])  # R's order(): stable
        j = 0
        while n_available() > 0 and n_elig > 0 and j < len(heap):
            hi = heap[j]
            k = t_k[hi]
            if not eligible[k]:
                j += 1
                continue
            c = c_id[hi]
            if not available(c):
                u = find(k, mm[k, :r].tolist() + [c])
                if u is None:
                    eligible[k] = False
                    n_elig -= 1
                    continue
                c_id[hi] = u
                d[hi] = dist(k, u)
                ci = _lower_bound(heap, j, d[hi], d)
                if ci != j:
                    heap[j:ci] = heap[j + 1:ci] + [heap[j]]
                continue
            mm[k, r] = c
            take(c)
            if r + 1 >= ratio:
                eligible[k] = False
                n_elig -= 1
            j += 1
    return mm


def _match_mah_cell(
    focal: np.ndarray,
    order: np.ndarray | None,
    mah: np.ndarray,
    score: np.ndarray | None,
    ratio: int,
    replace: bool,
    cal: float,
    cal_x: np.ndarray | None,
    cal_w: np.ndarray | None,
    disc: np.ndarray,
    closest: bool = False,
) -> np.ndarray:
    n = focal.size
    sv = mah[:, 0]
    ord_all = np.argsort(sv, kind="stable")
    pos = np.empty(n, np.int64)
    pos[ord_all] = np.arange(n)
    cells = np.zeros(n, np.int64)
    pool = _Pool(pos, cells, np.flatnonzero(~focal & ~disc), n)
    focal_idx = np.flatnonzero(focal)
    nf = focal_idx.size
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    eligible = ~disc[focal_idx]
    seq = np.arange(nf) if (replace or order is None) else np.asarray(order)
    sc = score if (score is not None and np.isfinite(cal)) else None
    if closest and not replace:
        def find(k: int, prev: list[int]) -> int | None:
            i = int(focal_idx[k])
            got = _find_mah(pool, i, sv, mah, cells, 1, sc, cal, cal_x, cal_w, int(pos[i]))
            return got[0] if got else None

        def dist(k: int, u: int) -> float:
            diff = mah[focal_idx[k]] - mah[u]
            return float(np.sum(diff * diff))

        return _closest_rounds(nf, eligible, ratio, find, dist, pool.available, pool.remove,
                               lambda: pool.n_available)
    if replace:
        for k in seq.tolist():
            if not eligible[k]:
                continue
            i = int(focal_idx[k])
            got = _find_mah(pool, i, sv, mah, cells, ratio, sc, cal, cal_x, cal_w, int(pos[i]))
            mm[k, : len(got)] = got
        return mm
    for r in range(ratio):
        for k in seq.tolist():
            if pool.n_available == 0:
                break
            if not eligible[k]:
                continue
            i = int(focal_idx[k])
            got = _find_mah(pool, i, sv, mah, cells, 1, sc, cal, cal_x, cal_w, int(pos[i]))
            if not got:
                if r == 0:
                    eligible[k] = False
                continue
            mm[k, r] = got[0]
            pool.remove(got[0])
    return mm


def _match_mah_tree(
    focal: np.ndarray,
    order: np.ndarray | None,
    mah: np.ndarray,
    score: np.ndarray | None,
    ratio: int,
    replace: bool,
    cal: float,
    cal_x: np.ndarray | None,
    cal_w: np.ndarray | None,
    disc: np.ndarray,
    closest: bool = False,
) -> np.ndarray:
    """Covariate-distance matching on large cells with a k-d tree (exact nearest).

    Each focal unit queries the tree for its k nearest pool units, keeps the
    available ones that pass the calipers, and doubles k until enough are
    found. The matches are the exact nearest available units, processed in the
    same order as MatchIt; only units at *exactly* equal distance may be
    chosen differently from MatchIt's walk (which this replaces above
    :data:`MAH_WALK_LIMIT` units per cell, for speed).
    """
    from scipy.spatial import cKDTree

    pool_idx = np.flatnonzero(~focal & ~disc)
    focal_idx = np.flatnonzero(focal)
    nf = focal_idx.size
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    if pool_idx.size == 0:
        return mm
    tree = cKDTree(mah[pool_idx])
    used = np.zeros(pool_idx.size, bool)
    eligible = ~disc[focal_idx]
    seq = np.arange(nf) if (replace or order is None) else np.asarray(order)
    m = pool_idx.size
    use_ps = score is not None and np.isfinite(cal)

    def nearest(i: int, need: int, taken: list[int]) -> list[int]:
        kq = min(m, max(8, 4 * need))
        while True:
            _, cand = tree.query(mah[i], k=kq)
            cand = np.atleast_1d(cand)
            ok = ~used[cand] if not replace else np.ones(cand.size, bool)
            if taken:
                ok &= ~np.isin(cand, taken)
            units = pool_idx[cand]
            if use_ps:
                ok &= np.abs(score[units] - score[i]) <= cal  # type: ignore[index]
            if cal_x is not None and cal_w is not None:
                ok &= np.all(np.abs(cal_x[units] - cal_x[i]) <= cal_w, axis=1)
            got = cand[ok][:need].tolist()
            if len(got) == need or kq >= m:
                return got
            kq = min(m, kq * 4)

    if closest and not replace:
        n_left = [m]

        def find(k: int, prev: list[int]) -> int | None:
            got = nearest(int(focal_idx[k]), 1, [])
            return got[0] if got else None

        def dist(k: int, u: int) -> float:
            diff = mah[focal_idx[k]] - mah[pool_idx[u]]
            return float(np.sum(diff * diff))

        def take(u: int) -> None:
            used[u] = True
            n_left[0] -= 1

        out = _closest_rounds(nf, eligible, ratio, find, dist, lambda u: not used[u], take,
                              lambda: n_left[0])
        has = out >= 0
        out[has] = pool_idx[out[has]]
        return out
    if replace:
        for k in seq.tolist():
            if eligible[k]:
                got = nearest(int(focal_idx[k]), ratio, [])
                mm[k, : len(got)] = pool_idx[got]
        return mm
    for r in range(ratio):
        for k in seq.tolist():
            if not eligible[k] or used.all():
                continue
            got = nearest(int(focal_idx[k]), 1, [])
            if not got:
                if r == 0:
                    eligible[k] = False
                continue
            used[got[0]] = True
            mm[k, r] = pool_idx[got[0]]
    return mm


#: Cells with more units than this use the k-d tree for covariate distances.
MAH_WALK_LIMIT = 5_000


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
