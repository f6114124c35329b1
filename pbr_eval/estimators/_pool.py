"""The building blocks of MatchIt's nearest-neighbour walk, shared by the score and covariate-distance kernels (:mod:`pbr_eval.estimators._nearest`, :mod:`pbr_eval.estimators._nearest_mah`).

* :class:`_Pool`: the still-available comparison units of each exact-matching
  cell in a union-find structure ("next available slot to the left / right"),
  which jumps over used units in near-constant amortised time;
* C++-exact partial sorts and lower bounds (``std::partial_sort``,
  ``std::lower_bound``), so ties are broken as MatchIt's compiled code breaks
  them;
* :func:`_closest_rounds`: MatchIt's ``m.order = "closest"`` rounds, given
  how to find and measure a focal unit's nearest available unit.

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

__all__ = ["partial_sort_first", "sorted_order", "stable_argsort"]


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
    """Return indices of the ``k`` smallest of ``d`` in libstdc++ ``std::partial_sort`` order.

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
    """``np.argsort(a, kind="stable")``, faster: an unstable sort, then ties put back.

    in index order (identical result; about 3x faster on 100,000 floats). Large float
    arrays without NaN go through :func:`sorted_order` (one sort of 64-bit keys).

    Examples
    --------
    >>> stable_argsort(np.array([0.2, 0.1, 0.2, 0.1, 0.0])).tolist()
    [4, 1, 3, 0, 2]
    """
    a = np.asarray(a)
    if a.dtype == np.float64 and a.size >= KEY_SORT_MIN and not np.isnan(a.min()):
        return sorted_order(a)[0]
    return _stable_argsort_ties(a)


#: From this many floats on, :func:`stable_argsort` sorts packed keys (below, numpy's
#: argsort is as fast and the key's set-up costs more than it saves).
KEY_SORT_MIN = 1 << 16


def _stable_argsort_ties(a: np.ndarray) -> np.ndarray:
    """Unstable ``np.argsort``, then each run of tied values put back in index order."""
    n = a.size
    o = np.argsort(a)
    if n < 2:
        return o
    v = a[o]
    if a.dtype.kind == "f" and np.isnan(v[-1]):
        return np.argsort(a, kind="stable")  # NaNs (sorted last): let numpy order them
    tie = v[1:] == v[:-1]
    if not tie.any():
        return o
    grp = np.zeros(n, np.int64)
    np.cumsum(~tie, out=grp[1:])
    key = grp * n + o  # distinct; sorting it orders each run of ties by index
    key.sort()
    return key - grp * n


def sorted_order(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``np.argsort(a, kind="stable")`` and ``a`` in that order, for floats without NaN.

    numpy sorts 64-bit numbers about twice as fast as it argsorts them, so the order
    comes from one sort of keys that carry the index: each float's bits mapped to an
    unsigned integer in the floats' order (IEEE 754: flip the sign bit of a positive
    number, every bit of a negative one; -0.0 counts as 0.0), with the lowest
    ``b = bit_length(n - 1)`` bits replaced by the row number. Sorted keys order the
    rows by the float's leading ``64 - b`` bits, then by row number; the rows whose
    leading bits equal a neighbour's (ties, and values within one unit of the dropped
    bits: a few per million) are then re-sorted by (value, row) among themselves, so
    the result is exactly the stable argsort.

    Parameters
    ----------
    a : numpy.ndarray
        One-dimensional float64 array with no NaN (infinities are fine).

    Returns
    -------
    order : numpy.ndarray of intp
        The stable ascending order.
    values : numpy.ndarray
        ``a[order]``.

    Examples
    --------
    >>> o, v = sorted_order(np.array([0.2, -0.0, 0.2, -1.5, 0.0]))
    >>> o.tolist(), v.tolist()
    ([3, 1, 4, 0, 2], [-1.5, -0.0, 0.0, 0.2, 0.2])
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    n = a.size
    if n < 2:
        return np.arange(n, dtype=np.intp), a.copy()
    b = max(1, (n - 1).bit_length())
    low = np.uint64((1 << b) - 1)
    key = _ordered_bits(a)
    key &= ~low
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    key &= low  # the row numbers, in place: no second n-array
    order = key.view(np.int64).astype(np.intp, copy=False)
    del key
    values = a[order]
    # a run of keys with the same leading bits is in row order; where its values are not
    # ascending (a few runs per million rows), sort its rows by (value, row)
    down = np.flatnonzero(values[1:] < values[:-1])
    if down.size:
        lo, hi = _runs_around(values, down, b)
        if int((hi - lo).sum()) > n // 8:  # values packed closer than the dropped bits
            order = _stable_argsort_ties(a)
            return order, a[order]
        size = hi - lo
        run = np.repeat(np.arange(lo.size), size)
        rows = np.arange(run.size) + np.repeat(lo - (np.cumsum(size) - size), size)
        o = np.lexsort((order[rows], values[rows], run))
        order[rows] = order[rows][o]
        values[rows] = values[rows][o]
    return order, values


def _runs_around(values: np.ndarray, down: np.ndarray, b: int,
                 reach: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct runs (start, end) of sorted ``values`` sharing their leading ``64 - b`` bits that hold the positions ``down``.

    The leading bits are those of the sort keys, so they ascend; each run is found
    within ``reach`` positions either side of its ``down`` position, reading only
    those values; a run longer than that (or none found cheaply) is found from the
    leading bits of every value instead.
    """
    n = values.size
    shift = np.uint64(b)
    span = np.clip(down[:, None] + np.arange(-reach, reach + 2), 0, n - 1)
    lead = _ordered_bits(values[span]) >> shift
    same = lead == lead[:, reach:reach + 1]
    open_left = same[:, 0] & (span[:, 0] > 0)
    open_right = same[:, -1] & (span[:, -1] < n - 1)
    if (open_left | open_right).any():  # a long run: search the leading bits of all values
        every = _ordered_bits(values) >> shift
        runs = np.unique(every[down])
        return (np.searchsorted(every, runs, side="left"),
                np.searchsorted(every, runs, side="right"))
    rows = np.arange(down.size)
    lo = span[rows, np.argmax(same, axis=1)]
    hi = span[rows, same.shape[1] - 1 - np.argmax(same[:, ::-1], axis=1)] + 1
    lo, first = np.unique(lo, return_index=True)
    return lo, hi[first]


def _ordered_bits(a: np.ndarray) -> np.ndarray:
    """Map floats (no NaN) to unsigned integers in the same order (a new array).

    IEEE 754: set the sign bit of a positive number, flip every bit of a negative one;
    -0.0 is first made +0.0, so the two zeros stay equal.
    """
    key = np.add(a, 0.0).view(np.uint64)  # -0.0 + 0.0 is +0.0
    flip = key >> np.uint64(63)  # 1 for negative numbers
    flip *= np.uint64(0x7FFF_FFFF_FFFF_FFFF)
    flip |= np.uint64(1 << 63)
    key ^= flip
    return key


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
    """MatchIt's ``m.order = "closest"`` for covariate distances (``nn_matchC_mahcovs_closest``): each round, every eligible focal unit finds its nearest available unit; pairs are taken in increasing distance (stable order); a focal unit whose unit was taken meanwhile searches again and is re-inserted before pairs at an equal distance (``std::lower_bound``).

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
