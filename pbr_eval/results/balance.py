"""Covariate balance before and after matching or weighting.

The conventions follow MatchIt's ``summary.matchit`` so that a balance table
from pbr_eval can be set beside one from R:

* standardised mean difference (SMD) = (weighted mean treated - weighted mean
  comparison) / s, where s is the standard deviation in the *unadjusted*
  focal group (the treated for the ATT, the comparison group for the ATC,
  the pooled ``sqrt((s1^2 + s0^2) / 2)`` for the ATE); for a binary
  covariate s = sqrt(p (1 - p)) with p its focal-group proportion;
* variance ratio = weighted variance treated / weighted variance comparison
  (not reported for binary covariates);
* eCDF mean and max = mean and largest absolute difference between the two
  groups' weighted empirical distribution functions.

Weighted variances use the unbiased form ``sum(w) / (sum(w)^2 - sum(w^2)) *
sum(w (x - m)^2)``.

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt: Nonparametric
preprocessing for parametric causal inference. Journal of Statistical
Software 42(8).
Austin, P. C. (2011). An introduction to propensity score methods for
reducing the effects of confounding in observational studies. Multivariate
Behavioral Research 46(3), 399-424.
Stuart, E. A. (2010). Matching methods for causal inference: a review and a
look forward. Statistical Science 25(1), 1-21.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import SMD_THRESHOLD
from pbr_eval.results.base import HasFigures, Results

__all__ = ["BalanceTable", "balance_design", "balance_frame", "weighted_mean_var", "ecdf_stats", "smd_threshold_default"]

#: The default |SMD| flag (:data:`pbr_eval.options.SMD_THRESHOLD`; this name kept for 0.1 code).
smd_threshold_default = SMD_THRESHOLD


def weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise weighted means and unbiased weighted variances.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, p)
    w : numpy.ndarray, shape (n,)
        Non-negative weights.

    Returns
    -------
    mean, variance : numpy.ndarray, shape (p,)
        The variance uses the reliability-weights correction
        ``sum(w) / (sum(w)^2 - sum(w^2))``; NaN when that is undefined (one unit).

    Examples
    --------
    >>> import numpy as np
    >>> m, v = weighted_mean_var(np.array([[1.0], [2.0], [3.0]]), np.ones(3))
    >>> m.tolist(), v.tolist()
    ([2.0], [1.0])
    """
    sw = w.sum()
    m = (w @ x) / sw
    sw2 = (w**2).sum()
    denom = sw**2 - sw2
    dev = x - m
    ss = w @ (dev * dev)
    v = ss * (sw / denom) if denom > 0 else np.full(x.shape[1], np.nan)
    return m, v


def ecdf_stats(
    x: np.ndarray, t: np.ndarray, w: np.ndarray, *, binary: bool = False
) -> tuple[float, float]:
    """Mean and maximum absolute difference of the groups' weighted eCDFs.

    MatchIt's convention (``qqsum`` with ``standardize = TRUE``): weights are
    normalised to sum to 1 within each group; every unit (including those
    with weight 0) is sorted by ``x`` and the difference of the cumulative
    weights is read at the last unit of each distinct value of ``x`` in the
    full sample. For a binary ``x`` both statistics are ``|p1 - p0|``.
    O(n log n).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        One covariate.
    t : numpy.ndarray of bool, shape (n,)
        Treatment indicator.
    w : numpy.ndarray, shape (n,)
        Adjustment weights (0 for units left out).
    binary : bool, default False
        ``x`` takes only the values 0 and 1.

    Returns
    -------
    mean, max : float
        The mean and the largest absolute eCDF difference.

    Examples
    --------
    >>> import numpy as np
    >>> ecdf_stats(np.array([0., 1, 0, 1]), np.array([1, 1, 0, 0], bool), np.ones(4))
    (0.0, 0.0)
    >>> ecdf_stats(np.array([1., 2, 3, 4]), np.array([1, 1, 0, 0], bool), np.ones(4))
    (0.5, 1.0)
    """
    w1 = np.where(t, w, 0.0)
    w0 = np.where(t, 0.0, w)
    s1, s0 = w1.sum(), w0.sum()
    if binary:
        d = abs(float(w1 @ x) / s1 - float(w0 @ x) / s0)
        return d, d
    order = np.argsort(x, kind="stable")
    xs = x[order]
    c = np.cumsum(w1[order] / s1 - w0[order] / s0)
    last = np.r_[xs[1:] != xs[:-1], True]  # last occurrence of each distinct value
    d = np.abs(c[last])
    return float(d.mean()), float(d.max())


def balance_frame(
    before: Mapping[str, np.ndarray],
    after: Mapping[str, np.ndarray],
    is_bin: np.ndarray,
    names: Sequence[str],
    *,
    estimand: str = "ATT",
    threshold: float = smd_threshold_default,
    pair_dist: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the balance table's core columns from each group's means and variances.

    Parameters
    ----------
    before, after : mapping
        ``m1``, ``v1``, ``m0``, ``v0``: the treated and comparison groups'
        means and variances per covariate, unweighted (before) and weighted
        (after adjustment). Any code that can compute these sums (in memory,
        or reduced across the partitions of a distributed cohort) gets the
        same table.
    is_bin : numpy.ndarray of bool
        Which covariates are 0/1 (their SMD scale is ``sqrt(p (1 - p))``).
    names : sequence of str
    estimand : {"ATT", "ATC", "ATE"}
        Whose standard deviation scales the SMD.
    threshold : float
        The |SMD| flag.
    pair_dist : numpy.ndarray, optional
        Mean absolute matched-pair difference per covariate (NaN without pairs).

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate, the columns of :meth:`BalanceTable.to_frame`
        without the eCDF statistics and ``covariate_type``.

    Examples
    --------
    >>> import numpy as np
    >>> side = {"m1": np.array([40.0]), "v1": np.array([100.0]), "m0": np.array([35.0]),
    ...         "v0": np.array([81.0])}
    >>> after = dict(side, m0=np.array([39.0]))
    >>> f = balance_frame(side, after, np.array([False]), ["age"])
    >>> f[["smd_before", "smd_after"]].round(2).values.tolist()
    [[0.5, 0.1]]
    """
    var1 = np.where(is_bin, before["m1"] * (1 - before["m1"]), before["v1"])
    var0 = np.where(is_bin, before["m0"] * (1 - before["m0"]), before["v0"])
    if estimand == "ATC":
        v = var0
    elif estimand == "ATE":
        v = (var1 + var0) / 2
    else:
        v = var1
    sd = np.sqrt(np.clip(v, 0, None))
    tiny = np.sqrt(np.finfo(float).eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff_b = before["m1"] - before["m0"]
        diff_a = after["m1"] - after["m0"]
        smd_b = np.where(np.abs(diff_b) <= tiny, diff_b, diff_b / sd)
        smd_a = np.where(np.abs(diff_a) <= tiny, diff_a, diff_a / sd)
        vr_b = np.where(is_bin, np.nan, before["v1"] / before["v0"])
        vr_a = np.where(is_bin, np.nan, after["v1"] / after["v0"])
    frame = pd.DataFrame(
        {
            "mean_treated_before": before["m1"],
            "mean_comparison_before": before["m0"],
            "smd_before": smd_b,
            "var_ratio_before": vr_b,
            "mean_treated_after": after["m1"],
            "mean_comparison_after": after["m0"],
            "smd_after": smd_a,
            "var_ratio_after": vr_a,
        },
        index=pd.Index(list(names), name="covariate"),
    )
    pdist = np.full(len(names), np.nan) if pair_dist is None else pair_dist
    with np.errstate(divide="ignore", invalid="ignore"):
        # as MatchIt: raw when the matched means agree to sqrt(eps) (no SMD scale)
        # or when the pair distance itself is below 1e-8
        frame["std_pair_dist_after"] = np.where(
            (np.abs(diff_a) > tiny) & (np.abs(pdist) > 1e-8), pdist / sd, pdist)
    frame["imbalanced_after"] = np.abs(frame["smd_after"]) > threshold
    return frame


def _stage_columns(when: str, *, ecdf: bool) -> list[Column]:
    """Return the declared columns of one stage (``"before"`` / ``"after"`` adjustment)."""
    tail = f"{when} adjustment"
    cols = [Column(f"mean_{group}_{when}", "outcome", f"{who} mean {tail}", by="covariate_type")
            for group, who in (("treated", "Programme"), ("comparison", "Comparison"))]
    cols += [Column(f"smd_{when}", "number", f"Standardised mean difference {tail}"),
             Column(f"var_ratio_{when}", "ratio", f"Variance ratio {tail}")]
    if ecdf:
        cols += [Column(f"ecdf_{stat}_{when}", "number",
                        f"{what} difference in cumulative distribution {tail}")
                 for stat, what in (("mean", "Mean"), ("max", "Largest"))]
    return cols


class BalanceTable(Results, HasFigures):
    """Balance of each covariate before and after adjustment (MatchIt's conventions).

    Built by the estimators; read it with :meth:`to_frame` and :meth:`counts`.
    Columns of :meth:`to_frame` (one row per covariate, every category level
    separately, plus a ``distance`` row for the score when there is one):
    ``mean_treated_before``, ``mean_comparison_before``, ``smd_before``,
    ``var_ratio_before``, ``ecdf_mean_before``, ``ecdf_max_before``, the
    same with ``_after``, ``std_pair_dist_after`` (matching and strata only;
    NaN for weighting) and ``imbalanced_after`` (|SMD| above the threshold).

    Parameters
    ----------
    X : numpy.ndarray or list of numpy.ndarray
        Covariate matrix, or its columns (one indicator per category level for
        MatchIt's layout; see :func:`balance_design`).
    names : sequence of str
        Column names of ``X``.
    t : numpy.ndarray of bool
        Treatment indicator.
    weights : numpy.ndarray
        Adjustment weights (0 for units left out).
    binary : sequence of str
        Names of binary columns.
    estimand : {"ATT", "ATC", "ATE"}
    threshold : float
        |SMD| above which a covariate is flagged (default 0.1; Austin 2011).
    discarded : numpy.ndarray of bool, optional
        Units dropped for lack of common support (counted in :meth:`counts`).
    distance : numpy.ndarray, optional
        The matching score; adds a ``distance`` row first.
    subclass : numpy.ndarray of int, optional
        Matched set / stratum of each unit (-1: none). Gives the standardised
        pair distance ``std_pair_dist_after``.
    match_matrix : tuple (focal_rows, mm), optional
        For matching with replacement: the row of each focal unit and its
        matched rows (``mm``, -1 where none); used for the pair distance when
        ``subclass`` is not given.

    Notes
    -----
    SMD = (mean_T - mean_C) / s with weighted means and ``s`` the standard
    deviation in the *unadjusted* focal group (treated for the ATT, comparison
    for the ATC, ``sqrt((s_T^2 + s_C^2)/2)`` for the ATE), the same before and
    after; a binary covariate uses ``s^2 = p(1 - p)``. When |mean_T - mean_C|
    is below ``sqrt(machine epsilon)`` the raw difference is reported. The
    variance ratio uses the weighted variance ``sum w(x-m)^2 / (1 - sum w^2)``
    with ``w`` normalised to sum 1 (not shown for binary covariates).

    The standardised pair distance (MatchIt's "Std. Pair Dist.", Stuart &
    Green 2008) is the mean of ``|x_T - x_C|`` over matched pairs, divided by
    the SMD's ``s`` (not divided when the mean is below 1e-8 or the matched
    means agree to ``sqrt(eps)``, as MatchIt): within each subclass or
    stratum every treated-comparison combination is one pair; with a match
    matrix every (focal unit, match) entry is one pair. Computed in
    O(n log n) by sorting within subclasses (no pair is enumerated).

    Examples
    --------
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> import pbr_eval
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest")
    >>> res.balance.to_frame().loc[["age", "prior_offences"], ["smd_before", "smd_after"]].round(3)
                    smd_before  smd_after
    covariate
    age                  0.194      0.007
    prior_offences      -0.902      0.035
    """

    kind: ClassVar[str] = "balance"
    title: ClassVar[str] = "Covariate balance"
    figures: ClassVar[tuple[str, ...]] = ("love",)
    schema: ClassVar[Schema] = Schema((
        Column("covariate", "text", "Covariate"),
        *_stage_columns("before", ecdf=True),
        *_stage_columns("after", ecdf=True),
        Column("std_pair_dist_after", "number", "Standardised distance within matched pairs"),
        Column("imbalanced_after", "text", "Above the balance threshold after adjustment"),
        Column("covariate_type", "text", "Covariate type",
               description="'binary' for a 0/1 covariate or category level (means are "
                           "shares of people), else 'numeric'."),
    ))
    _redo = "estimate again"

    def __init__(
        self,
        X: np.ndarray | Sequence[np.ndarray],
        names: Sequence[str],
        t: np.ndarray,
        weights: np.ndarray,
        binary: Sequence[str],
        *,
        estimand: str = "ATT",
        threshold: float = smd_threshold_default,
        discarded: np.ndarray | None = None,
        distance: np.ndarray | None = None,
        subclass: np.ndarray | None = None,
        match_matrix: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        names = list(names)
        self._subclass = None if subclass is None else np.asarray(subclass, dtype=np.int64)
        self._match_matrix = match_matrix
        # columns are kept as separate arrays: no copy of a national-scale matrix
        if isinstance(X, np.ndarray):
            self._cols: list[np.ndarray] = [X[:, j] for j in range(X.shape[1])]
        else:
            self._cols = [np.asarray(x, dtype=float) for x in X]
        if distance is not None:
            self._cols.insert(0, np.asarray(distance, dtype=float))
            names = ["distance", *names]
        self.names = names
        self._t = np.asarray(t, dtype=bool)
        self._w = np.asarray(weights, dtype=float)
        self.binary = set(binary)
        self.estimand = estimand
        self.threshold = float(threshold)
        self._discarded = (
            np.zeros(self._t.size, bool) if discarded is None else np.asarray(discarded, bool)
        )
        self._counts: pd.DataFrame | None = None  # set when rebuilt from to_dict()
        self._freeze()

    def _side(self, w: np.ndarray | None) -> dict[str, np.ndarray]:
        """Weighted means and variances per group (``w=None``: unweighted).

        Only units with positive weight are touched, so the matched-sample
        statistics on a national pool cost O(n_matched) after one scan.
        """
        t = self._t
        if w is None:
            idx = None
            tt = t
        else:
            nz = w > 0
            idx = np.flatnonzero(nz) if nz.sum() < 0.5 * nz.size else None
            tt = t if idx is None else t[idx]
            w = w if idx is None else w[idx]
        out: dict[str, np.ndarray] = {}
        if w is None:
            return self._side_unweighted()
        cols = self._cols if idx is None else [x[idx] for x in self._cols]
        for g, mask in (("1", tt), ("0", ~tt)):
            wg = mask.astype(float) if w is None else np.where(mask, w, 0.0)
            sw = wg.sum()
            denom = sw**2 - (wg**2).sum() if w is not None else sw**2 - sw
            m = np.array([wg @ x for x in cols]) / sw
            ss = np.array([wg @ ((x - mj) ** 2) for x, mj in zip(cols, m, strict=True)])
            out["m" + g] = m
            out["v" + g] = ss * (sw / denom) if denom > 0 else np.full(m.size, np.nan)
        return out

    def _side_unweighted(self) -> dict[str, np.ndarray]:
        """Group means and sample variances in one pass per column: sums and sums of squares of the column shifted by its first value (which keeps the one-pass formula accurate)."""
        t = self._t
        tf = t.astype(float)
        n1 = float(tf.sum())
        n0 = t.size - n1
        m1, m0, v1, v0 = [], [], [], []
        for x in self._cols:
            c = float(x[0])
            d = x - c
            s_all, s1 = float(d.sum()), float(d @ tf)
            q = d * d
            q_all, q1 = float(q.sum()), float(q @ tf)
            s0, q0 = s_all - s1, q_all - q1
            m1.append(c + s1 / n1)
            m0.append(c + s0 / n0)
            v1.append((q1 - s1 * s1 / n1) / (n1 - 1) if n1 > 1 else np.nan)
            v0.append((q0 - s0 * s0 / n0) / (n0 - 1) if n0 > 1 else np.nan)
        return {"m1": np.array(m1), "v1": np.array(v1), "m0": np.array(m0), "v0": np.array(v0)}

    @cached_property
    def _is_bin(self) -> np.ndarray:
        return np.array([n in self.binary for n in self.names])

    @cached_property
    def _core(self) -> pd.DataFrame:
        return balance_frame(self._side(None), self._side(self._w), self._is_bin, self.names,
                             estimand=self.estimand, threshold=self.threshold,
                             pair_dist=self._pair_dist)

    @cached_property
    def _ecdf(self) -> pd.DataFrame:
        ones = np.ones(self._t.size)
        rows = []
        for j, x in enumerate(self._cols):
            b = bool(self._is_bin[j])
            mb, xb = ecdf_stats(x, self._t, ones, binary=b)
            ma, xa = ecdf_stats(x, self._t, self._w, binary=b)
            rows.append((mb, xb, ma, xa))
        return pd.DataFrame(
            rows,
            columns=["ecdf_mean_before", "ecdf_max_before", "ecdf_mean_after", "ecdf_max_after"],
            index=pd.Index(self.names, name="covariate"),
        )

    @cached_property
    def _pair_dist(self) -> np.ndarray:
        """Mean absolute matched-pair difference per column (unstandardised)."""
        out = np.full(len(self._cols), np.nan)
        if self._subclass is not None:
            s = self._subclass
            keep = np.flatnonzero(s >= 0)
            if keep.size == 0:
                return out
            sk, tk = s[keep], self._t[keep]
            codes, inv = np.unique(sk, return_inverse=True)
            n1 = np.bincount(inv, weights=tk.astype(float), minlength=codes.size)
            n0 = np.bincount(inv, minlength=codes.size) - n1
            n_pairs = float(np.sum(n1 * n0))
            if n_pairs == 0:
                return out
            for j, col in enumerate(self._cols):
                x = col[keep]
                order = np.lexsort((x, inv))
                xs, gs, ts = x[order], inv[order], tk[order]
                c_ind = (~ts).astype(float)
                cum_n = np.cumsum(c_ind)  # controls at or before each position
                cum_s = np.cumsum(c_ind * xs)
                start = np.searchsorted(gs, np.arange(codes.size))  # first position of each group
                base_n = np.where(start > 0, cum_n[start - 1], 0.0)
                base_s = np.where(start > 0, cum_s[start - 1], 0.0)
                tot_s = np.bincount(gs, weights=c_ind * xs, minlength=codes.size)
                tp = np.flatnonzero(ts)
                g = gs[tp]
                k = cum_n[tp] - base_n[g]  # controls below (ties give |0| either way)
                sk_ = cum_s[tp] - base_s[g]
                xt = xs[tp]
                total = np.sum(xt * k - sk_ + (tot_s[g] - sk_) - xt * (n0[g] - k))
                out[j] = total / n_pairs
        elif self._match_matrix is not None:
            rows, mm = self._match_matrix
            has = mm >= 0
            if not has.any():
                return out
            for j, col in enumerate(self._cols):
                d = np.abs(col[rows][:, None] - col[np.maximum(mm, 0)])
                out[j] = float(d[has].mean())
        return out

    @property
    def has_unit_data(self) -> bool:
        """False for a table rebuilt from :meth:`to_dict` (aggregates only)."""
        return self._cols is not None

    @property
    def has_ecdf(self) -> bool:
        """Whether :meth:`to_frame` can include the eCDF statistics."""
        return self._cols is not None or "_ecdf" in self.__dict__

    def to_frame(self, *, ecdf: bool = True) -> pd.DataFrame:
        """Return the balance table as a DataFrame indexed by covariate.

        Parameters
        ----------
        ecdf : bool, default True
            Include the eCDF statistics (they sort every covariate, so they
            are computed on first request and cached). A table rebuilt from
            a saved results file that did not carry them has none.

        Returns
        -------
        pandas.DataFrame
            Columns as declared in :attr:`schema` (``covariate`` is the
            index); ``covariate_type`` is ``"binary"`` for 0/1 columns (the
            means are then shares of people) and ``"numeric"`` otherwise.
        """
        core = self._core.copy()
        if ecdf and self.has_ecdf:
            e = self._ecdf
            cols = [
                "mean_treated_before", "mean_comparison_before", "smd_before",
                "var_ratio_before", "ecdf_mean_before", "ecdf_max_before",
                "mean_treated_after", "mean_comparison_after", "smd_after", "var_ratio_after",
                "ecdf_mean_after", "ecdf_max_after", "std_pair_dist_after", "imbalanced_after",
            ]
            core = pd.concat([core, e], axis=1)[cols]
        core["covariate_type"] = np.where(self._is_bin, "binary", "numeric")
        return core

    def frame_schema(self) -> Schema:
        """Return the declared columns, with each mean's denominator (the group's size)."""
        c = self.counts()
        n = {("treated", "before"): c.loc["all", "treated"],
             ("comparison", "before"): c.loc["all", "comparison"],
             ("treated", "after"): c.loc["matched", "treated"],
             ("comparison", "after"): c.loc["matched", "comparison"]}
        cols = []
        for col in type(self).schema:
            if col.name.startswith("mean_"):
                _, group, when = col.name.split("_")
                col = Column(col.name, col.kind, col.label, denominator=float(n[group, when]),
                             by=col.by, description=col.description)
            cols.append(col)
        return Schema(tuple(cols))

    def counts(self) -> pd.DataFrame:
        """Sample sizes as MatchIt's ``summary()$nn``: rows ``all``, ``all_ess``, ``matched`` (weight > 0), ``matched_ess`` (Kish's ``(sum w)^2 / sum w^2``), ``unmatched`` (weight 0, not discarded), ``discarded``; columns ``comparison`` and ``treated``."""
        if self._counts is not None:
            return self._counts.copy()
        out = {}
        for name, mask in (("comparison", ~self._t), ("treated", self._t)):
            w = self._w[mask]
            pos = w > 0
            ess = float(w.sum() ** 2 / (w**2).sum()) if pos.any() else 0.0
            disc = self._discarded[mask]
            out[name] = {
                "all": float(mask.sum()),
                "all_ess": float(mask.sum()),
                "matched": float(pos.sum()),
                "matched_ess": ess,
                "unmatched": float((~pos & ~disc).sum()),
                "discarded": float(disc.sum()),
            }
        return pd.DataFrame(out)

    @property
    def max_abs_smd_after(self) -> float:
        """The largest |SMD| after adjustment (covariates only, not the distance; NaN without any)."""
        c = self._core.drop(index="distance", errors="ignore")
        smd = np.abs(c["smd_after"].to_numpy(dtype=float))
        return float(np.nanmax(smd)) if np.isfinite(smd).any() else float("nan")

    @property
    def imbalanced(self) -> list[str]:
        """Covariates whose |SMD| after adjustment exceeds the threshold."""
        c = self._core.drop(index="distance", errors="ignore")
        return c.index[c["imbalanced_after"].to_numpy()].tolist()

    def effective_sample_size(self) -> dict[str, float]:
        """Kish's effective sample size ``(sum w)^2 / sum w^2`` per group, after."""
        if self._w is None:
            c = self.counts()
            return {g: float(c.loc["matched_ess", g]) for g in ("treated", "comparison")}
        out = {}
        for name, mask in (("treated", self._t), ("comparison", ~self._t)):
            w = self._w[mask]
            out[name] = float(w.sum() ** 2 / (w**2).sum()) if (w > 0).any() else 0.0
        return out

    def __repr__(self) -> str:
        return f"BalanceTable({len(self.names)} covariates, max |SMD| after = {self.max_abs_smd_after:.3f})"

    # ------------------------------------------------------------ the results face
    def summary(self) -> str:
        """Plain-text balance table: SMDs before and after, flagged covariates."""
        f = self.to_frame(ecdf=False)
        lines = [f"Covariate balance ({self.estimand}); |SMD| threshold {self.threshold:g}",
                 "=" * 72, f"{'covariate':<32}{'SMD before':>12}{'SMD after':>12}"
                 f"{'var. ratio after':>18}"]
        for name, r in f.iterrows():
            vr = r["var_ratio_after"]
            lines.append(f"{str(name)[:31]:<32}{r['smd_before']:>12.3f}{r['smd_after']:>12.3f}"
                         + (f"{vr:>18.2f}" if np.isfinite(vr) else f"{'':>18}"))
        lines.append("")
        lines.append(f"Max |SMD| after adjustment {self.max_abs_smd_after:.3f}; "
                     + (f"above {self.threshold:g}: {', '.join(self.imbalanced)}."
                        if self.imbalanced else f"all below {self.threshold:g}."))
        return "\n".join(lines)

    def _to_state(self) -> dict[str, Any]:
        rows = self.to_frame(ecdf=True).reset_index().to_dict(orient="records")
        c = self.counts()
        return {"estimand": self.estimand, "threshold": self.threshold,
                "binary": [n for n in self.names if n in self.binary],
                "rows": rows, "counts": {g: c[g].to_dict() for g in c.columns}}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> BalanceTable:
        return cls.from_rows(state["rows"], binary=state.get("binary", ()),
                             estimand=state.get("estimand", "ATT"),
                             threshold=state.get("threshold", smd_threshold_default),
                             counts=state.get("counts"))

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]], *, binary: Sequence[str] = (),
                  estimand: str = "ATT", threshold: float = smd_threshold_default,
                  counts: Mapping[str, Mapping[str, float]] | None = None) -> BalanceTable:
        """Return a table of aggregates only, from :meth:`to_frame` rows (e.g. a saved results file).

        It has no unit-level data: :meth:`to_frame`, :meth:`summary`,
        :meth:`counts` (when ``counts`` is given) and the Love plot work; the
        eCDF statistics appear only when the rows carry them. Without
        ``binary`` and without a ``covariate_type`` column (files written
        before pbr_eval 0.2), a row whose means all lie in [0, 1] is taken as
        binary (its means as shares of people: the cautious reading for
        disclosure control).
        """
        obj = cls.__new__(cls)
        frame = pd.DataFrame([dict(r) for r in rows])
        if "covariate" not in frame.columns:
            raise OptionError("Balance rows must carry a 'covariate' key (from to_frame() rows "
                              "with the index reset).")
        frame = frame.set_index("covariate")
        for col in frame.columns:
            if col not in ("imbalanced_after", "covariate_type"):
                frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
        obj.names = [str(n) for n in frame.index]
        if binary:
            obj.binary = set(binary)
        elif "covariate_type" in frame.columns:
            obj.binary = set(frame.index[frame["covariate_type"].eq("binary")])
        else:  # a file written before pbr_eval 0.2: 0/1 covariates look like shares
            means = frame.reindex(columns=[c for c in frame.columns if c.startswith("mean_")])
            looks = means.apply(lambda r: bool(len(r) and r.between(0, 1).all()), axis=1)
            obj.binary = set(frame.index[looks.to_numpy(dtype=bool)])
        obj.estimand = estimand
        obj.threshold = float(threshold)
        # read from a file: no unit-level data (the arrays' types say what a fitted table holds)
        obj._cols = None  # type: ignore[assignment]
        obj._t = None  # type: ignore[assignment]
        obj._w = None  # type: ignore[assignment]
        obj._subclass = None
        obj._match_matrix = None
        obj._discarded = None  # type: ignore[assignment]
        core_cols = ["mean_treated_before", "mean_comparison_before", "smd_before",
                     "var_ratio_before", "mean_treated_after", "mean_comparison_after",
                     "smd_after", "var_ratio_after", "std_pair_dist_after"]
        core = frame.reindex(columns=core_cols).astype(float)
        imb = frame["imbalanced_after"] if "imbalanced_after" in frame.columns else None
        core["imbalanced_after"] = (np.abs(core["smd_after"]) > obj.threshold if imb is None
                                    else imb.astype(bool))
        core.index.name = "covariate"
        obj.__dict__["_core"] = core
        ecdf_cols = ["ecdf_mean_before", "ecdf_max_before", "ecdf_mean_after", "ecdf_max_after"]
        if all(c in frame.columns for c in ecdf_cols):
            obj.__dict__["_ecdf"] = frame[ecdf_cols].astype(float)
        obj._counts = None
        if counts:
            c = pd.DataFrame({g: dict(v) for g, v in counts.items()})
            obj._counts = c.reindex(index=["all", "all_ess", "matched", "matched_ess",
                                           "unmatched", "discarded"]).astype(float)
        obj._freeze()
        return obj

    def counts_or_none(self) -> pd.DataFrame | None:
        """:meth:`counts`, or None for a rebuilt table without them."""
        if self._t is None and self._counts is None:
            return None
        return self.counts()

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the Love plot (``"love"``): SMD before and after per covariate.

        With a disclosure ``policy``, the SMDs of a binary covariate are left
        out (``None``) when either group's share would reveal a small count,
        before or after adjustment.
        """
        if name != "love":
            raise OptionError(f"`name` must be 'love'; got {name!r}.")
        tab = self.to_frame(ecdf=False)
        before = [float(v) for v in tab["smd_before"]]
        after = [float(v) for v in tab["smd_after"]]
        if policy is not None:
            c = self.counts_or_none()
            for i, (cov, r) in enumerate(tab.iterrows()):
                if cov not in self.binary:
                    continue
                for when, values in (("before", before), ("after", after)):
                    row = "all" if when == "before" else "matched"
                    shown = []
                    for group in ("treated", "comparison"):
                        n = None if c is None else c.loc[row, group]
                        pub = policy.rate(r[f"mean_{group}_{when}"], n)
                        shown.append(not isinstance(pub, str))
                    if not all(shown):
                        values[i] = None  # type: ignore[call-overload]
        return {"covariates": [str(n) for n in tab.index],
                "before": [v if v is None or np.isfinite(v) else None for v in before],
                "after": [v if v is None or np.isfinite(v) else None for v in after],
                "threshold": self.threshold}


def balance_design(
    data: pd.DataFrame, covariates: Sequence[str]
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Covariates laid out as MatchIt's balance tables show them.

    Numbers and booleans as they are; a text or categorical covariate as one
    0/1 column per level (none left out), named ``"race[black]"``.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    covariates : sequence of str
        The columns to lay out, in order.

    Returns
    -------
    columns : list of numpy.ndarray
        One float array per column (no n x p copy is made).
    names : list of str
    binary : list of str
        Columns taking only the values 0 and 1.

    Examples
    --------
    >>> import pandas as pd
    >>> X, names, binary = balance_design(pd.DataFrame({"a": [1.0, 2.0], "g": ["x", "y"]}), ["a", "g"])
    >>> names, binary
    (['a', 'g[x]', 'g[y]'], ['g[x]', 'g[y]'])
    """
    cols: list[np.ndarray] = []
    names: list[str] = []
    binary: list[str] = []
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s.dtype) or (
            pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
        ):
            x = s.to_numpy(dtype=float)
            cols.append(x)
            names.append(c)
            lo, hi = x.min(), x.max()
            if lo >= 0 and hi <= 1 and ((x == 0) | (x == 1)).all():
                binary.append(c)
        else:
            cat = s if isinstance(s.dtype, pd.CategoricalDtype) else pd.Series(
                pd.Categorical(s, categories=sorted(pd.unique(s))), index=s.index)
            cat = cat.cat.remove_unused_categories()
            codes = cat.cat.codes.to_numpy()
            for k, lev in enumerate(cat.cat.categories):
                cols.append((codes == k).astype(float))
                names.append(f"{c}[{lev}]")
                binary.append(f"{c}[{lev}]")
    return cols, names, binary
