"""Optimal pair (and k:1) matching: the matched sample with the smallest total distance.

References
----------
Rosenbaum, P. R. (1989). Optimal matching for observational studies. JASA
84(408), 1024-1032.
Hansen, B. B. & Klopfer, S. O. (2006). Optimal full matching and related
designs via network flows. JCGS 15(3), 609-627 (optmatch, used by MatchIt).
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt. Journal of
Statistical Software 42(8).
Stuart, E. A. (2010). Statistical Science 25(1), 1-21.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable, balance_design
from pbr_eval.estimators._mahalanobis import (
    DISTANCE_TRANSFORMS,
    distance_matrix_covariates,
    transform_covariates,
)
from pbr_eval.estimators._nearest import match_weights
from pbr_eval.estimators._overlap import balance_warning
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.estimators.matched_sample import matched_estimates
from pbr_eval.estimators.matching import (
    _check_cols,
    _need_covariates,
    check_distance,
    exact_cells,
)
from pbr_eval.exceptions import OptionError
from pbr_eval.models.propensity import fit_propensity, vanishing_note
from pbr_eval.options import MATCHING_SE_RENAMED, STRATA_SE, StrataSE, check_choice, check_int
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["OptimalMatching", "optimal_match", "MAX_CELLS"]

#: Largest (focal units x ratio) x pool units handled in one exact cell: the dense
#: cost matrix then takes 200 MB and scipy's solver (Crouse 2016, O(n^3) worst case)
#: a few seconds to a minute. Larger problems raise OptionError.
MAX_CELLS = 25_000_000


def optimal_match(cost_focal: np.ndarray, cost_pool: np.ndarray, *, ratio: int = 1,
                  metric: str = "abs") -> np.ndarray:
    """Minimum-total-distance assignment of ``ratio`` pool units to each focal unit.

    Parameters
    ----------
    cost_focal, cost_pool : numpy.ndarray
        Scores (1-d) or transformed covariates (2-d, Euclidean after transform).
    ratio : int
    metric : {"abs", "euclidean"}

    Returns
    -------
    numpy.ndarray of int, shape (n_focal, ratio)
        Pool indices.

    Examples
    --------
    >>> import numpy as np
    >>> optimal_match(np.array([0.5, 0.52]), np.array([0.51, 0.9, 0.53])).tolist()
    [[0], [2]]
    """
    a = cost_focal if cost_focal.ndim == 2 else cost_focal[:, None]
    b = cost_pool if cost_pool.ndim == 2 else cost_pool[:, None]
    if metric == "abs":
        d = np.abs(a[:, 0][:, None] - b[:, 0][None, :])
    else:
        sq = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
        d = np.sqrt(np.maximum(sq, 0.0))
    big = np.repeat(d, ratio, axis=0)
    rows, cols = linear_sum_assignment(big)
    out = np.full((a.shape[0], ratio), -1, dtype=np.int64)
    slot = np.zeros(a.shape[0], dtype=np.int64)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        i = r // ratio
        out[i, slot[i]] = c
        slot[i] += 1
    return out


@register("optimal")
class OptimalMatching(Estimator):
    """Optimal pair (k:1) matching without replacement: the pairs with the smallest total distance.

    The set of pairs that minimises the total distance (Rosenbaum 1989),
    solved exactly as a linear assignment problem with
    :func:`scipy.optimize.linear_sum_assignment`.

    Parameters
    ----------
    distance : {"glm", "linear.logit", "mahalanobis", ...} or score, default "glm"
        As :class:`~pbr_eval.estimators.matching.NearestNeighborMatching`.
    propensity : "logit" or scikit-learn classifier, default "logit"
        The propensity model behind ``distance="glm"`` / ``"linear.logit"``.
    ratio : int, default 1
    exact : list of str, optional
        Solve separately within each exact cell.
    estimand : {"ATT", "ATC"}, default "ATT"
    se : {"matched_set", "HC3", "HC1", "HC0"}, default "matched_set"
        ``"matched_set"``: cluster-robust by matched set (old spelling
        ``"cluster"``: deprecated, works until after version 0.2).
        Cluster-robust by matched set, as MatchIt recommends without replacement.
    adjust : bool, default False

    Notes
    -----
    Size: the solver needs the dense cost matrix of each exact cell,
    ``(n_focal x ratio) x n_pool`` numbers; up to :data:`MAX_CELLS` (25 million,
    e.g. 2,500 treated x 10,000 comparison; 200 MB) per cell. Beyond that an
    :class:`OptionError` suggests nearest-neighbour matching or exact cells.
    The total distance is minimal, but ties between equally good solutions may
    be resolved differently from R's optmatch, so matched sets can differ
    from MatchIt's ``method = "optimal"`` while the total distance is equal.

    References
    ----------
    Rosenbaum (1989); Hansen & Klopfer (2006); Ho, Imai, King & Stuart (2011);
    Stuart (2010).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> small = sim.data.iloc[::6]
    >>> res = OptimalMatching().fit(Cohort(small, **sim.cohort_args))
    >>> res.info["n_focal_matched"] == res.info["cohort"]["n_treated"]
    True
    """

    family = "matching"
    phrase = "a matched comparison group"
    estimands = ('ATT', 'ATC')
    se_kinds = STRATA_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        distance: Any = "glm",
        propensity: Any = "logit",
        ratio: int = 1,
        exact: Sequence[str] | None = None,
        estimand: str = "ATT",
        se: StrataSE = "matched_set",
        adjust: bool = False,
    ) -> None:
        self.distance, self.propensity = check_distance(distance, propensity)
        self.ratio = check_int("ratio", ratio, minimum=1)
        self.exact = _check_cols("exact", exact)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds, renamed=MATCHING_SE_RENAMED)
        if not isinstance(adjust, (bool, np.bool_)):
            raise OptionError(f"`adjust` must be True or False; got {adjust!r}.")
        self.adjust = bool(adjust)

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Match optimally and estimate.

        Raises
        ------
        OptionError
            Too few pool units for ``ratio``, or a cell larger than :data:`MAX_CELLS`.
        """
        t = cohort.t
        focal = t if self.estimand == "ATT" else ~t
        if self.exact:
            _need_covariates(cohort, "exact", self.exact)
        cells = exact_cells(cohort, self.exact) if self.exact else np.zeros(cohort.n, np.int64)
        d = self.distance
        ps = None
        if isinstance(d, str) and d in DISTANCE_TRANSFORMS:
            x = distance_matrix_covariates(cohort.data, cohort.covariates)
            z = transform_covariates(x, t, np.zeros(cohort.n, bool), d)
            metric = "euclidean"
        elif isinstance(d, (pd.Series, np.ndarray, list)):
            z = (d.reindex(cohort.index).to_numpy(dtype=float) if isinstance(d, pd.Series)
                 else np.asarray(d, dtype=float))
            metric = "abs"
        else:
            ps = fit_propensity(cohort, self.propensity, estimand=self.estimand)
            z = ps.linear if d == "linear.logit" else ps.ps
            metric = "abs"
        idx_f = np.flatnonzero(focal)
        mm = np.full((idx_f.size, self.ratio), -1, dtype=np.int64)
        for c in np.unique(cells[focal]):
            f = np.flatnonzero(focal & (cells == c))
            p = np.flatnonzero(~focal & (cells == c))
            if p.size == 0:
                continue
            if f.size * self.ratio > p.size:
                raise OptionError(
                    f"`ratio`={self.ratio}: an exact cell has {f.size:,} focal but only {p.size:,} "
                    "pool units; optimal matching without replacement needs at least ratio x "
                    "as many. Lower `ratio` or use fewer `exact` columns."
                )
            if f.size * self.ratio * p.size > MAX_CELLS:
                raise OptionError(
                    f"Optimal matching of {f.size:,} x {self.ratio} focal units to {p.size:,} pool "
                    f"units needs a {f.size * self.ratio * p.size:,}-entry cost matrix; the limit "
                    f"is {MAX_CELLS:,}. Use method='nearest' (order='closest' comes close), or "
                    "`exact` cells to split the problem."
                )
            got = optimal_match(z[f], z[p], ratio=self.ratio, metric=metric)
            mm[np.searchsorted(idx_f, f)] = np.where(got >= 0, p[np.maximum(got, 0)], -1)
        fw, w = match_weights(mm, cohort.n)
        w[idx_f] = fw
        subclass = np.full(cohort.n, -1, dtype=np.int64)
        sub_of = np.cumsum(fw).astype(np.int64) - 1
        subclass[idx_f[fw > 0]] = sub_of[fw > 0]
        has = mm >= 0
        rows = np.broadcast_to(np.arange(mm.shape[0])[:, None], mm.shape)
        subclass[mm[has]] = sub_of[rows[has]]
        estimates = matched_estimates(cohort, w, subclass=subclass, se=self.se,
                                      adjust=self.adjust, focal=focal)
        info = base_info(cohort, self)
        if vanishing_note(ps):
            info["notes"].append(vanishing_note(ps))
        total = float(np.sum(np.abs(z[idx_f][:, None] - z[np.maximum(mm, 0)]) * has)) if (
            metric == "abs") else float("nan")
        info.update({
            "estimand": self.estimand, "se": self.se,
            "n_focal_matched": int(fw.sum()),
            "n_focal_unmatched": int((fw == 0).sum()),
            "total_distance": total,
            "propensity_model": None if ps is None else ps.model,
        })
        n_un = int((fw == 0).sum())
        if n_un:
            info["notes"].append(
                f"{n_un:,} focal units had no pool unit in their exact cell and were left out: the "
                "estimand becomes the effect on the matched units only.")
        note = balance_warning(cohort, w, self.method, estimand=self.estimand)
        if note:
            info["notes"].append(note)
        Xb, names, binary = balance_design(cohort.data, cohort.covariates)
        balance = BalanceTable(Xb, names, t, w, binary, estimand=self.estimand,
                               distance=z if metric == "abs" else None, subclass=subclass)
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={"match_matrix": mm, "subclass": pd.Series(subclass, index=cohort.index),
                    "distance": pd.Series(z, index=cohort.index) if metric == "abs" else None,
                    "propensity": ps},
        )
