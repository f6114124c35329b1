"""Nearest-neighbour matching on the propensity score on a distributed cohort.

**With replacement** and one match per treated unit, MatchIt's walk (see
:mod:`pbr_eval.estimators._nearest`) looks at two candidates only: the
comparison units just before and just after the treated unit in the stable
sort of every unit by score (ties in the score ordered by row). It takes
first the one fewer sorted positions away (the left one on a tie), then the
other if it is not farther, and keeps the second only if it is strictly
closer. Here:

1. the treated units' scores and rows come to the client (one pass, which
   also gives the propensity model's state at its estimate and the pool's
   sums for the balance table);
2. each partition finds, among its own comparison units, each treated
   unit's predecessor and successor in the (score, row) order; a tree of
   pairwise merges keeps the closest across partitions (O(n_treated) per
   task, nothing of size n_comparison leaves a partition);
3. the positions between a treated unit and its two candidates are counted
   from the treated units alone (no comparison unit lies between), which
   gives the walk's order, and the rule above picks the match;
4. the matched comparison units are fetched (one pass, with the pool's sums
   of squares) and the estimates (WLS with HC3, as in memory) and the
   "after" balance are computed on the matched sample in memory; "before"
   balance and the pool's unadjusted rate are reduced over every partition.

The match matrix is therefore the in-memory one for the same scores. The
propensity coefficients come from the distributed Newton fit, which agrees
with the in-memory fit to rounding (about 1e-13), so a tie between two
candidates closer than that could break differently; exact ties (the same
covariate values) break identically.

**Without replacement, within exact cells** (``exact=[...]``, columns that
are covariates). MatchIt's greedy order makes each match depend on every
earlier one, so the whole pool cannot be split across workers; but cells
share no units, so the greedy walk of one cell never sees another's. Here:

1. as step 1 above, and each partition lists its distinct cells (the values
   of the ``exact`` columns' design columns) with their treated and
   comparison counts; the client numbers the cells that hold both groups;
2. one pass regroups the rows of those cells (score, row, group: 17 bytes
   a row) into buckets of whole cells, each bucket on one worker, where the
   in-memory :func:`~pbr_eval.estimators._nearest.match_nearest` matches
   each cell without replacement, its treated units choosing in the global
   order restricted to the cell (``order="largest"`` by default, as
   MatchIt; "smallest", "data" and "random" with the same ``seed`` too);
3. as step 4 above; matched sets are numbered by the treated units' rows
   (the in-memory subclasses) for the matched-set standard errors.

Treated units in cells without comparison units stay unmatched and are
reported as in memory. The matched sets equal the in-memory ones with
``exact=`` the same columns whenever two candidates of a treated unit are
never at exactly the same score distance with units of other cells between
them in the score order: the walk compares positions among the cell's units,
where MatchIt counts positions among all units. Equal scores mean equal
covariates, hence the same cell, so the common ties (identical covariate
patterns) break identically; an exact tie between different scores is the
coincidence the with-replacement note above already allows for. Refused
(``OptionError``): ``replace=False`` without ``exact``, ``ratio`` other than
1, calipers, Mahalanobis variables, ``discard``, ``adjust``, the ATC and
more than :data:`MAX_CELLS` cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pbr_eval.distributed.cohort import DistributedCohort, PerPartition
from pbr_eval.distributed.models import logit_job
from pbr_eval.distributed.passes import Job, blockwise, run_jobs
from pbr_eval.estimators._overlap import _warn, poor_balance_note
from pbr_eval.estimators.base import base_info, weighted_difference
from pbr_eval.estimators.matching import unmatched_note
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.models.logit import LogitFit
from pbr_eval.models.propensity import PropensityScore, vanishing_note
from pbr_eval.options import SMD_THRESHOLD
from pbr_eval.results.balance import BalanceTable, balance_frame, weighted_mean_var
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["fit_nearest_distributed", "nearest_with_replacement"]


# ------------------------------------------------------------------- the layout
def _layout(cohort: DistributedCohort) -> list[tuple[str, Any]]:
    """Balance columns as :func:`~pbr_eval.results.balance.balance_design` lays them out.

    Numbers as they are; every level of a text covariate as a 0/1 column
    (the reference level, left out of the design, is one minus the others).
    """
    out: list[tuple[str, Any]] = []
    for c in cohort.covariates:
        levels = cohort._levels.get(c)
        if levels is None:
            out.append((c, cohort.design_columns.index(c)))
            continue
        idx = [cohort.design_columns.index(f"{c}[{lev}]") for lev in levels[1:]]
        out.append((f"{c}[{levels[0]}]", ("ref", idx)))
        for lev, j in zip(levels[1:], idx, strict=True):
            out.append((f"{c}[{lev}]", j))
    return out


def _balance_columns(X: np.ndarray, score: np.ndarray, layout: Sequence[tuple[str, Any]]
                     ) -> np.ndarray:
    cols = [score]
    for _, how in layout:
        cols.append(1.0 - X[:, how[1]].sum(axis=1) if isinstance(how, tuple) else X[:, how])
    return np.column_stack(cols)


def _scores(part: Mapping[str, Any], params: np.ndarray, distance: str) -> np.ndarray:
    ps = LogitFit(params, np.empty((0, 0)), 0, np.nan).predict(part["X"])
    if distance == "linear.logit":
        return np.log(ps) - np.log1p(-ps)
    return ps


# ------------------------------------------------------------------- the passes
def _treated(part: Mapping[str, Any], params: np.ndarray, distance: str, offset: int,
             layout: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Return the treated rows' scores, global rows, outcomes and balance columns; the pool's outcome sums."""
    t = part["t"]
    s = _scores(part, params, distance)
    return {"score": s[t], "row": offset + np.flatnonzero(t), "Y": part["Y"][t],
            "B": _balance_columns(part["X"][t], s[t], layout),
            "y0": part["Y"][~t].sum(axis=0), "n0": int((~t).sum())}


def _composite(ref_s: np.ndarray, ref_r: np.ndarray, qs: np.ndarray, qr: np.ndarray,
               n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys ordering (score, row) pairs: the reference set's and the queries'.

    ``ref_s`` must be sorted (ascending; the callers sort the pairs first),
    so its distinct scores come without another sort. A query whose score
    is not among the reference scores gets a key between the neighbouring
    score groups (never equal to a reference key). Queries in ascending
    order make the binary searches walk memory in order (several times
    faster on millions of rows than queries in random order).
    """
    if ref_s.size:
        first = np.empty(ref_s.size, bool)
        first[0] = True
        np.not_equal(ref_s[1:], ref_s[:-1], out=first[1:])
        u = ref_s[first]
        code_r = np.cumsum(first) - 1
    else:
        u, code_r = ref_s, np.empty(0, np.int64)
    code_q = np.searchsorted(u, qs)
    exact = (code_q < u.size) & (u[np.minimum(code_q, u.size - 1)] == qs) if u.size else \
        np.zeros(qs.size, bool)
    m = np.int64(n_rows + 1)
    key_r = code_r.astype(np.int64) * m + ref_r
    key_q = np.where(exact, code_q.astype(np.int64) * m + qr, code_q.astype(np.int64) * m - 1)
    return key_r, key_q


def _neighbours(part: Mapping[str, Any], params: np.ndarray, distance: str, offset: int,
                treated: Mapping[str, np.ndarray], n_rows: int) -> dict[str, np.ndarray]:
    """Each treated unit's predecessor and successor among this partition's comparison units.

    ``treated`` holds the queries (``score``, ``row``), best sorted by
    (score, row) (see :func:`_composite`).
    """
    t = part["t"]
    s = _scores(part, params, distance)[~t]
    r = offset + np.flatnonzero(~t)
    o = np.argsort(s, kind="stable")  # rows ascend within the partition: the (score, row) order
    s, r = s[o], r[o]
    key_c, key_t = _composite(s, r, treated["score"], treated["row"], n_rows)
    pos = np.searchsorted(key_c, key_t)
    has_l, has_r = pos > 0, pos < s.size
    pl, pr_ = np.maximum(pos - 1, 0), np.minimum(pos, max(s.size - 1, 0))
    return {"ls": np.where(has_l, s[pl] if s.size else 0.0, -np.inf),
            "lr": np.where(has_l, r[pl] if s.size else -1, -1),
            "rs": np.where(has_r, s[pr_] if s.size else 0.0, np.inf),
            "rr": np.where(has_r, r[pr_] if s.size else -1, -1)}


def _merge(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keep the later predecessor and the earlier successor in (score, row) order."""
    take_b = (b["lr"] >= 0) & ((a["lr"] < 0) | (b["ls"] > a["ls"])
                               | ((b["ls"] == a["ls"]) & (b["lr"] > a["lr"])))
    take_c = (b["rr"] >= 0) & ((a["rr"] < 0) | (b["rs"] < a["rs"])
                               | ((b["rs"] == a["rs"]) & (b["rr"] < a["rr"])))
    return {"ls": np.where(take_b, b["ls"], a["ls"]), "lr": np.where(take_b, b["lr"], a["lr"]),
            "rs": np.where(take_c, b["rs"], a["rs"]), "rr": np.where(take_c, b["rr"], a["rr"])}


def _fetch(part: Mapping[str, Any], params: np.ndarray, distance: str, offset: int,
           rows: np.ndarray, layout: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Return the matched comparison units of this partition (global ``rows``, sorted; others ignored)."""
    n = part["t"].size
    lo, hi = np.searchsorted(rows, [offset, offset + n])
    local = rows[lo:hi] - offset
    X = part["X"][local]
    s = _scores({"X": X}, params, distance)
    return {"row": rows[lo:hi], "Y": part["Y"][local], "B": _balance_columns(X, s, layout)}


@blockwise
def _before(part: Mapping[str, Any], params: np.ndarray, distance: str,
            layout: Sequence[tuple[str, Any]], means: Any) -> dict[str, Any]:
    """Comparison-group sums (``means`` None) or sums of squared deviations of the balance columns."""
    t = part["t"]
    B = _balance_columns(part["X"][~t], _scores(part, params, distance)[~t], layout)
    if means is None:
        return {"sum0": B.sum(axis=0), "min0": B.min(axis=0) if B.size else np.inf,
                "max0": B.max(axis=0) if B.size else -np.inf}
    d = B - means
    return {"ss0": (d * d).sum(axis=0)}


# ------------------------------------------------------------------- the match
def nearest_with_replacement(ts: np.ndarray, tr: np.ndarray, nb: Mapping[str, np.ndarray],
                             n_rows: int) -> np.ndarray:
    """MatchIt's choice between each treated unit's two score neighbours (ratio 1, with replacement).

    Parameters
    ----------
    ts, tr : numpy.ndarray
        The treated units' scores and rows (any order).
    nb : mapping
        ``ls``/``lr`` and ``rs``/``rr``: the comparison predecessor's and
        successor's score and row in the (score, row) order (row -1: none).
    n_rows : int
        Rows in the cohort.

    Returns
    -------
    numpy.ndarray of int
        The matched comparison row of each treated unit (-1: none).

    Examples
    --------
    >>> import numpy as np
    >>> nb = {"ls": np.array([0.4]), "lr": np.array([3]), "rs": np.array([0.6]),
    ...       "rr": np.array([7])}
    >>> nearest_with_replacement(np.array([0.55]), np.array([5]), nb, 10).tolist()
    [7]
    """
    o = np.lexsort((tr, ts))
    ts, tr = ts[o], tr[o]  # worked in (score, row) order, where every search's queries ascend
    nb = {k: np.asarray(v)[o] for k, v in nb.items()}

    def below(qs: np.ndarray, qr: np.ndarray, inclusive: bool) -> np.ndarray:
        key_t, key_q = _composite(ts, tr, qs, qr, n_rows)
        return np.searchsorted(key_t, key_q, side="right" if inclusive else "left")

    q = below(ts, tr, False)  # treated units before each one
    has_l, has_r = nb["lr"] >= 0, nb["rr"] >= 0
    gap_l = np.where(has_l, 1 + q - below(nb["ls"], np.maximum(nb["lr"], 0), True), 0)
    gap_r = np.where(has_r, below(nb["rs"], np.maximum(nb["rr"], 0), False) - q, 0)
    d_l, d_r = np.abs(ts - nb["ls"]), np.abs(nb["rs"] - ts)
    left_first = has_l & (~has_r | (gap_l <= gap_r))
    d_first = np.where(left_first, d_l, d_r)
    d_second = np.where(left_first, d_r, d_l)
    second_ok = np.where(left_first, has_r, has_l)
    pick_left = np.where(second_ok & (d_second < d_first), ~left_first, left_first)
    out = np.where(has_l | has_r, np.where(pick_left, nb["lr"], nb["rr"]), -1)
    matched = np.empty_like(out)
    matched[o] = out
    return matched


@dataclass(frozen=True)
class _Sample:
    """The matched sample as :func:`~pbr_eval.estimators.base.weighted_difference` reads a cohort."""

    t: np.ndarray
    Y: np.ndarray
    outcomes: list[str]
    outcome_types: Mapping[str, str]

    def y(self, name: str) -> np.ndarray:
        """Return one outcome's column."""
        return self.Y[:, self.outcomes.index(name)]


#: Exact cells a distributed matching accepts (the client holds one row per cell).
MAX_CELLS = 1_000_000


def _check(est: Any, cohort: DistributedCohort) -> None:
    if est.replace:
        ok = {"ratio": 1, "caliper": None, "exact": None, "mahvars": None, "discard": "none",
              "adjust": False, "estimand": "ATT", "propensity": "logit"}
        what = ("Distributed nearest matching with replacement is 1:1 on the propensity score "
                "(no exact cells)")
    else:
        ok = {"ratio": 1, "caliper": None, "mahvars": None, "discard": "none", "adjust": False,
              "estimand": "ATT", "propensity": "logit"}
        what = ("Distributed nearest matching without replacement is 1:1 on the propensity "
                "score within exact cells (exact=[...])")
    for name, want in ok.items():
        if getattr(est, name) != want:
            raise OptionError(
                f"`{name}` must be {want!r} for method='nearest' on a distributed cohort; got "
                f"{getattr(est, name)!r}. {what}; for other settings use cohort.to_cohort() "
                "when the rows fit in memory."
            )
    if not est.replace:
        if not est.exact:
            raise OptionError(
                "`replace` must be True for method='nearest' on a distributed cohort unless "
                "`exact` names the cells to match within; got replace=False and no `exact`. "
                "MatchIt's greedy order without replacement makes every match depend on every "
                "earlier one, so it is distributed only cell by cell: pass exact=[...] (columns "
                "that are covariates), replace=True, or use cohort.to_cohort().")
        missing = [c for c in est.exact if c not in cohort.covariates]
        if missing:
            raise OptionError(
                f"`exact` names {', '.join(map(repr, missing))}, which "
                f"{'is' if len(missing) == 1 else 'are'} not among the covariates; exact "
                f"cells must be covariates ({', '.join(map(repr, cohort.covariates))}).")
        if est.order not in (None, "largest", "smallest", "data", "random"):
            raise OptionError(
                f"`order` must be None, 'largest', 'smallest', 'data' or 'random' for "
                f"distributed matching within exact cells; got {est.order!r}.")
        n1, n0 = cohort.n_treated, cohort.n_comparison
        if n1 > n0:
            raise OptionError(
                f"`ratio`=1 without replacement needs at least {n1:,} comparison units for "
                f"{n1:,} treated units; there are {n0:,}. Lower `ratio` or set replace=True.")
    if est.distance not in ("glm", "linear.logit"):
        raise OptionError(f"`distance` must be 'glm' or 'linear.logit' on a distributed cohort; "
                          f"got {est.distance!r}.")
    allowed = ("auto", "HC3", "HC1", "HC0") + (() if est.replace else ("matched_set",))
    if est.se not in allowed:
        raise OptionError(f"`se` must be {', '.join(map(repr, allowed))} for distributed "
                          f"nearest matching; got {est.se!r}.")


# ------------------------------------------------------------------- exact cells
def _cell_columns(cohort: DistributedCohort, exact: Sequence[str]) -> list[int]:
    """Design columns that identify an exact cell: a numeric covariate, or every level dummy of a text one."""
    idx: list[int] = []
    for c in exact:
        idx.extend(j for j, nm in enumerate(cohort.design_columns)
                   if cohort.design_sources[nm] == c)
    return idx


def _cells(part: Mapping[str, Any], idx: Sequence[int]) -> dict[str, Any]:
    """Return the partition's distinct cells and, per cell, its treated and comparison counts."""
    key = part["X"][:, list(idx)]
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    t = part["t"]
    return {"cells": uniq, "n1": np.bincount(inv[t], minlength=len(uniq)),
            "n0": np.bincount(inv[~t], minlength=len(uniq))}


def _cell_pieces(part: Mapping[str, Any], params: np.ndarray, distance: str, offset: int,
                 idx: Sequence[int], to_global: np.ndarray, n_buckets: int
                 ) -> list[dict[str, np.ndarray]]:
    """Cut the partition's rows in matchable cells into buckets by cell (score, global row, group)."""
    key = part["X"][:, list(idx)]
    _, inv = np.unique(key, axis=0, return_inverse=True)
    cell = to_global[inv.reshape(-1)]
    keep = cell >= 0
    s = _scores(part, params, distance)
    rows = offset + np.flatnonzero(keep)
    cell, s, t = cell[keep], s[keep], part["t"][keep]
    bucket = cell % n_buckets
    return [{"cell": cell[bucket == b], "row": rows[bucket == b], "score": s[bucket == b],
             "t": t[bucket == b]} for b in range(n_buckets)]


def _match_cells(order_name: str, *pieces: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Match within each cell of a bucket with the in-memory walk (MatchIt's greedy order).

    ``order_name`` "largest", "smallest" or "data", or an array of the
    treated rows in the global choosing order ("random").
    """
    from pbr_eval.estimators._nearest import match_nearest

    cat = {k: np.concatenate([p[k] for p in pieces]) for k in ("cell", "row", "score", "t")}
    o = np.argsort(cat["cell"], kind="stable")  # pieces come in partition order: rows ascend
    cell, row, score, t = (cat[k][o] for k in ("cell", "row", "score", "t"))
    bounds = np.flatnonzero(np.diff(cell)) + 1
    out_t, out_c = [], []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, cell.size], strict=True):
        if hi <= lo:
            continue
        sc, tt, rr = score[lo:hi], t[lo:hi], row[lo:hi]
        fr = rr[tt]
        if isinstance(order_name, str):
            if order_name == "largest":
                order = np.argsort(-sc[tt], kind="stable")
            elif order_name == "smallest":
                order = np.argsort(sc[tt], kind="stable")
            else:
                order = np.arange(fr.size)
        else:  # the global random order restricted to this cell's treated units
            rank = np.searchsorted(order_name[0], fr)
            order = np.argsort(order_name[1][rank], kind="stable")
        mm = match_nearest(tt, order=order, score=sc, replace=False, ratio=1)[:, 0]
        out_t.append(fr)
        out_c.append(np.where(mm >= 0, rr[np.maximum(mm, 0)], -1))
    empty = np.empty(0, np.int64)
    return {"treated": np.concatenate(out_t) if out_t else empty,
            "control": np.concatenate(out_c) if out_c else empty}


def nearest_in_cells(cohort: DistributedCohort, est: Any, gamma: np.ndarray, distance: str,
                     per: PerPartition, tre: Mapping[str, np.ndarray],
                     got: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Match each treated unit without replacement within its exact cell (see the module notes).

    Parameters
    ----------
    cohort : DistributedCohort
    est : NearestNeighborMatching
        ``exact`` names the cells; ``order`` the choosing order.
    gamma : numpy.ndarray
        Propensity coefficients.
    distance : {"glm", "linear.logit"}
    per : PerPartition
        Each partition's first global row.
    tre : mapping
        The treated units' ``score`` and ``row`` (ascending rows).
    got : sequence of mapping
        Each partition's distinct cells and group counts (``_cells``, taken
        in the pass that fetched the treated units).

    Returns
    -------
    numpy.ndarray of int
        The matched comparison row of each treated unit (-1: none), in ``tre`` order.

    Raises
    ------
    OptionError
        More than :data:`MAX_CELLS` cells (``exact`` on a measurement).
    """
    idx = _cell_columns(cohort, est.exact)
    table, inverse = np.unique(np.concatenate([g["cells"] for g in got]), axis=0,
                               return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(table) > MAX_CELLS:
        raise OptionError(
            f"`exact` on {', '.join(map(repr, est.exact))} makes {len(table):,} cells; at most "
            f"{MAX_CELLS:,} are matched on a distributed cohort. Exact cells must be categories "
            "(region, sex, offence group), not measurements.")
    n1 = np.zeros(len(table), np.int64)
    n0 = np.zeros(len(table), np.int64)
    maps, start = [], 0
    for g in got:
        k = len(g["cells"])
        codes = inverse[start:start + k]
        start += k
        np.add.at(n1, codes, g["n1"])
        np.add.at(n0, codes, g["n0"])
        maps.append(codes)
    both = (n1 > 0) & (n0 > 0)
    matchable = np.where(both, np.cumsum(both) - 1, -1)  # codes of the cells with both groups
    maps = [matchable[m] for m in maps]
    order_name = est.order or "largest"
    if order_name == "random":
        perm = np.random.default_rng(est.seed).permutation(tre["row"].size)
        rank = np.empty(perm.size, np.int64)
        rank[perm] = np.arange(perm.size)
        order_name = (tre["row"], rank)
    n_buckets = max(1, min(int(both.sum()), 2 * cohort.npartitions))
    parts = cohort.map_buckets(_cell_pieces, lambda *pieces: _match_cells(order_name, *pieces),
                               n_buckets, gamma, distance, per, idx, PerPartition(maps),
                               n_buckets)
    matched = np.full(tre["row"].size, -1, np.int64)
    for b in parts:
        matched[np.searchsorted(tre["row"], b["treated"])] = b["control"]
    return matched


def fit_nearest_distributed(est: Any, cohort: DistributedCohort) -> CounterfactualResults:
    """Nearest-neighbour matching with replacement on a distributed cohort (see the module notes).

    Parameters
    ----------
    est : NearestNeighborMatching
        With ``replace=True`` (and ratio 1, no caliper, exact or Mahalanobis
        variables, ``discard="none"``, ``adjust=False``).
    cohort : DistributedCohort

    Returns
    -------
    CounterfactualResults
        As in memory (``extras["match_matrix"]`` holds global row positions);
        the balance table has no eCDF statistics and ``weights`` is None.

    Raises
    ------
    OptionError
        Any other setting.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> roles = {k: v for k, v in sim.cohort_args.items() if k != "cluster"}
    >>> dc = pbr_eval.DistributedCohort(sim.data, npartitions=4, scheduler="synchronous",
    ...                                 **roles)
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> res = fit_nearest_distributed(NearestNeighborMatching(replace=True), dc)
    >>> res.info["n_comparison_matched"]
    561
    """
    _check(est, cohort)
    distance = str(est.distance)
    n_rows = cohort.n
    offsets = np.concatenate([[0], np.cumsum(cohort.partition_sizes)[:-1]]).astype(int)
    per = PerPartition([int(o) for o in offsets])
    layout = _layout(cohort)

    def first_job(gamma: np.ndarray) -> Job:
        """Ask for the treated rows and the pool's sums: one pass, shared with the score model's final state."""
        req: dict[str, tuple[Any, ...]] = {
            "treated": (_treated, (gamma, distance, per, layout), "list"),
            "before": (_before, (gamma, distance, layout, None))}
        if not est.replace:
            req["cells"] = (_cells, (_cell_columns(cohort, est.exact),), "list")
        return (yield req)

    def hook(event: str, value: Any, done: dict[str, Any]) -> dict[str, Job]:
        return {"first": first_job(value)} if event == "logit.published" else {}

    done = run_jobs(cohort, {"logit": logit_job(cohort)}, hook)
    logit, gamma = done["logit"], done["logit.published"]
    got, s1 = done["first"]["treated"], done["first"]["before"]
    tre = {k: np.concatenate([g[k] for g in got]) for k in ("score", "row", "Y", "B")}
    y0 = sum(g["y0"] for g in got) / sum(g["n0"] for g in got)
    if est.replace:
        # the queries in (score, row) order: every partition's searches then walk in order
        o = np.lexsort((tre["row"], tre["score"]))
        tq = {"score": tre["score"][o], "row": tre["row"][o]}
        if cohort.client is not None:
            tq = cohort.client.scatter(tq, broadcast=True)
        nb = cohort.map_merge(_neighbours, _merge, gamma, distance, per, tq, n_rows)
        back = np.empty_like(o)
        back[o] = np.arange(o.size)
        matched = nearest_with_replacement(tre["score"], tre["row"],
                                           {k: v[back] for k, v in nb.items()}, n_rows)
    else:
        matched = nearest_in_cells(cohort, est, gamma, distance, per, tre,
                                   done["first"]["cells"])
    has = matched >= 0
    if not has.any():
        raise EstimationError(
            "No treated unit found a comparison unit within the calipers/exact cells. "
            "Widen `caliper`, drop it, or use fewer `exact` columns.")
    rows, counts = np.unique(matched[has], return_counts=True)
    n0 = cohort.n_comparison
    m0 = s1["sum0"] / n0
    bounds = np.concatenate([offsets, [n_rows]])
    cuts = np.searchsorted(rows, bounds)  # each partition gets its own matched rows
    own = PerPartition([rows[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
    last = cohort.run({"fetch": (_fetch, (gamma, distance, per, own, layout), "list"),
                       "ss0": (_before, (gamma, distance, layout, m0))})
    fetched, ss0 = last["fetch"], last["ss0"]["ss0"]
    ctl = {k: np.concatenate([g[k] for g in fetched]) for k in ("row", "Y", "B")}
    # the matched sample in row order: matched treated (weight 1) and matched comparison units
    n1, n_u, n1m = tre["row"].size, rows.size, int(has.sum())
    order = np.argsort(np.concatenate([tre["row"][has], ctl["row"]]), kind="stable")
    t_s = np.concatenate([np.ones(n1m, bool), np.zeros(n_u, bool)])[order]
    w_c = counts * (n_u / counts.sum())
    w_s = np.concatenate([np.ones(n1m), w_c])[order]
    Y_s = np.concatenate([tre["Y"][has], ctl["Y"]])[order]
    B_s = np.concatenate([tre["B"][has], ctl["B"]])[order]
    subclass = None
    if not est.replace:  # matched sets numbered as in memory: by the treated units' rows
        pair = np.arange(n1m)
        sub_c = np.empty(n_u, np.int64)
        sub_c[np.searchsorted(rows, matched[has])] = pair
        subclass = np.concatenate([pair, sub_c])[order]
    se = (("HC3" if est.replace else "matched_set") if est.se == "auto" else str(est.se))
    sample = _Sample(t_s, Y_s, list(cohort.outcomes), cohort.outcome_types)
    estimates = [replace(e, naive_comparison=float(y0[j]))
                 for j, e in enumerate(weighted_difference(sample, w_s,  # type: ignore[arg-type]
                                                           subclass=subclass, se=se))]
    # ---- balance: "before" comparison moments over every partition, "after" on the sample
    names = ["distance", *(nm for nm, _ in layout)]
    m1, v1 = weighted_mean_var(tre["B"], np.ones(n1))
    before = {"m1": m1, "v1": v1, "m0": m0,
              "v0": ss0 / (n0 - 1) if n0 > 1 else np.full(m0.size, np.nan)}
    ma1, va1 = weighted_mean_var(B_s[t_s], w_s[t_s])
    ma0, va0 = weighted_mean_var(B_s[~t_s], w_s[~t_s])
    after = {"m1": ma1, "v1": va1, "m0": ma0, "v0": va0}
    pos = np.searchsorted(ctl["row"], matched[has])
    pair = np.abs(tre["B"][has] - ctl["B"][pos]).mean(axis=0)
    lo = np.minimum(s1["min0"], tre["B"].min(axis=0))
    hi = np.maximum(s1["max0"], tre["B"].max(axis=0))
    binary = [nm for j, nm in enumerate(names)
              if j > 0 and lo[j] >= 0 and hi[j] <= 1 and _all01(tre["B"][:, j], nm, cohort)]
    is_bin = np.array([nm in binary for nm in names])
    frame = balance_frame(before, after, is_bin, names, estimand="ATT",
                          threshold=SMD_THRESHOLD, pair_dist=pair)
    frame["covariate_type"] = np.where(is_bin, "binary", "numeric")
    ess = float(w_c.sum() ** 2 / (w_c**2).sum())
    counts_tab = {"comparison": {"all": float(n0), "all_ess": float(n0), "matched": float(n_u),
                                 "matched_ess": ess, "unmatched": float(n0 - n_u),
                                 "discarded": 0.0},
                  "treated": {"all": float(n1), "all_ess": float(n1), "matched": float(n1m),
                              "matched_ess": float(n1m), "unmatched": float(n1 - n1m),
                              "discarded": 0.0}}
    balance = BalanceTable.from_rows(frame.reset_index().to_dict(orient="records"),
                                     binary=binary, counts=counts_tab)
    info = base_info(cohort, est, seed=getattr(est, "seed", None))  # type: ignore[arg-type]
    info.update({
        "estimand": "ATT", "propensity_model": "logit", "distance": distance,
        "order": "data" if est.replace else (est.order or "largest"),
        "caliper_score_units": None, "caliper_covariate_units": None,
        "n_focal_matched": n1m, "n_focal_unmatched": n1 - n1m, "n_treated_matched": n1m,
        "n_comparison_matched": int(n_u), "n_treated_unmatched": n1 - n1m,
        "n_comparison_unmatched": int(n0 - n_u), "n_discarded_treated": 0,
        "n_discarded_comparison": 0, "se": se, "backend": "dask",
        "npartitions": cohort.npartitions, "scheduler": cohort.scheduler})
    note = vanishing_note(PropensityScore(np.empty(0), "logit", n_vanishing=logit.n_vanishing,
                                          estimand="ATT"))
    if note:
        info["notes"].append(note)
    if n1m < n1:
        row, text = unmatched_note(n1 - n1m, n1, n1, ("treated", "comparison"))
        info["dropped"] = [*info["dropped"], row]
        info["notes"].append(text)
    warn = _balance_note(frame, names, layout, cohort, est.method)
    if warn:
        info["notes"].append(warn)
    return CounterfactualResults(
        method=est.method, estimand="ATT", estimates=estimates, weights=None, balance=balance,
        info=info, extras={"match_matrix": matched[:, None], "focal_index": tre["row"],
                           "propensity": {"params": gamma.tolist(), "model": "logit"}})


def _all01(x: np.ndarray, name: str, cohort: DistributedCohort) -> bool:
    """Whether a balance column is 0/1: a level indicator, or a numeric design column found binary."""
    return "[" in name or name in cohort.binary_columns


def _balance_note(frame: Any, names: list[str], layout: Sequence[tuple[str, Any]],
                  cohort: DistributedCohort, method: str) -> str | None:
    """:func:`pbr_eval.estimators._overlap.balance_warning` on the design columns (reference levels left out)."""
    design = [nm for nm, how in layout if not isinstance(how, tuple)]
    smd = np.abs(frame.loc[design, "smd_after"].to_numpy(float))
    note = poor_balance_note(smd, design, method)
    return None if note is None else _warn(note, 4)
