"""Nearest-neighbour matching on a covariate distance (Mahalanobis and friends), as MatchIt.

MatchIt sorts all units on the first transformed coordinate and walks outward
from each focal unit, pruning a side once that coordinate alone is farther
than the best match (``find_control_mahcovs``): exact nearest neighbours, no
distance matrix. Cells of more than :data:`MAH_WALK_LIMIT` units use a k-d
tree instead (exact nearest too; exactly equidistant units may be chosen
differently from MatchIt). Called by :func:`pbr_eval.estimators._nearest.match_nearest`.
"""

from __future__ import annotations

import numpy as np

from pbr_eval.estimators._pool import _closest_rounds, _covs_ok, _Pool

__all__ = ["MAH_WALK_LIMIT"]


#: Cells with more units than this use the k-d tree for covariate distances.
MAH_WALK_LIMIT = 5_000


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
