"""Matching by strata: exact matching, coarsened exact matching (CEM) and propensity-score subclassification, with MatchIt's weights.

Every unit falls in a stratum; strata holding both groups are kept. For the
ATT a treated unit gets weight 1 and a comparison unit in stratum ``s`` the
weight ``n_T,s / n_C,s`` (the comparison group is reweighted to the treated
distribution across strata); nonzero weights are then rescaled to mean 1
within each group (MatchIt's ``get_weights_from_subclass`` and
normalisation). The non-intervention rate is the weighted comparison mean;
standard errors are HC3 by default, as MatchIt's documentation recommends.

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2007). Matching as
nonparametric preprocessing ... Political Analysis 15(3), 199-236.
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt. Journal of
Statistical Software 42(8).
Iacus, S. M., King, G. & Porro, G. (2012). Causal inference without balance
checking: coarsened exact matching. Political Analysis 20(1), 1-24.
Rosenbaum, P. R. & Rubin, D. B. (1984). Reducing bias in observational
studies using subclassification on the propensity score. JASA 79, 516-524.
Stuart, E. A. (2010). Matching methods for causal inference. Statistical
Science 25(1), 1-21.
Austin, P. C. (2011). Multivariate Behavioral Research 46(3), 399-424.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable, balance_design
from pbr_eval.estimators._overlap import balance_warning
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.estimators.matched_sample import matched_estimates
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.models.propensity import check_propensity_model, fit_propensity, vanishing_note
from pbr_eval.options import MATCHING_SE_RENAMED, STRATA_SE, StrataSE, check_choice, check_int
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = [
    "ExactMatching",
    "CoarsenedExactMatching",
    "Subclassification",
    "subclass_weights",
    "sturges_bins",
    "coarsen",
]

def subclass_weights(subclass: np.ndarray, t: np.ndarray, estimand: str = "ATT") -> np.ndarray:
    """MatchIt's stratum weights, normalised to mean 1 among nonzero weights per group.

    Parameters
    ----------
    subclass : numpy.ndarray of int
        Stratum of each unit; -1 for none.
    t : numpy.ndarray of bool
    estimand : {"ATT", "ATC"}

    Examples
    --------
    >>> import numpy as np
    >>> subclass_weights(np.array([0, 0, 0, 1, 1]), np.array([1, 0, 0, 1, 0], bool)).tolist()
    [1.0, 0.75, 0.75, 1.0, 1.5]
    """
    w = np.zeros(t.size)
    ok = subclass >= 0
    k = int(subclass[ok].max()) + 1 if ok.any() else 0
    n1 = np.bincount(subclass[ok & t], minlength=k).astype(float)
    n0 = np.bincount(subclass[ok & ~t], minlength=k).astype(float)
    both = (n1 > 0) & (n0 > 0)
    s = np.where(ok, subclass, 0)
    good = ok & both[s]
    if estimand == "ATT":
        w[good & t] = 1.0
        w[good & ~t] = (n1 / np.maximum(n0, 1))[s[good & ~t]]
    else:
        w[good & ~t] = 1.0
        w[good & t] = (n0 / np.maximum(n1, 1))[s[good & t]]
    for g in (t, ~t):
        nz = g & (w > 0)
        if nz.any():
            w[nz] *= nz.sum() / w[nz].sum()
    return w


def sturges_bins(n: int) -> int:
    """``ceiling(log2(n) + 1)``, R's ``nclass.Sturges``."""
    return int(math.ceil(math.log2(n) + 1))


def coarsen(x: np.ndarray, cut: int | Sequence[float]) -> np.ndarray:
    """Bin codes as MatchIt's CEM: ``cut`` equal-width bins over the range of ``x`` (outer breaks open), or the given interior cutpoints; bins are left-closed ``[b_k, b_k+1)``.

    Examples
    --------
    >>> import numpy as np
    >>> coarsen(np.array([0.0, 1, 2, 3, 4]), 2).tolist()
    [1, 1, 2, 2, 2]
    """
    if isinstance(cut, (int, np.integer)):
        lo, hi = float(np.min(x)), float(np.max(x))
        by = (hi - lo) / int(cut)
        breaks = lo + np.arange(int(cut) + 1) * by
        breaks[-1] = hi
        breaks[0], breaks[-1] = -np.inf, np.inf
    else:
        breaks = np.concatenate(([-np.inf], np.sort(np.asarray(cut, float)), [np.inf]))
    return np.searchsorted(breaks, x, side="right").astype(np.int64)


def _real_list(v: Any) -> bool:
    """Return a non-empty list of finite real numbers (cutpoints)."""
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Sequence, np.ndarray)):
        return False
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(arr.ndim == 1 and arr.size > 0 and np.isfinite(arr).all()) and not any(
        isinstance(x, (bool, np.bool_)) for x in v)


def _codes_by_first_treated(keys: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Stratum labels numbered by first appearance among treated units."""
    _, inv = np.unique(keys, return_inverse=True)
    inv = inv.ravel()
    k = int(inv.max()) + 1
    first = np.full(k, np.iinfo(np.int64).max)
    ti = np.flatnonzero(t)
    np.minimum.at(first, inv[ti], ti)
    order = np.argsort(first, kind="stable")
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    has_t = first < np.iinfo(np.int64).max
    lab = rank[inv]
    lab[~has_t[inv]] = -1
    return lab


def _row_keys(cols: list[np.ndarray]) -> np.ndarray:
    frame = pd.DataFrame({i: c for i, c in enumerate(cols)})
    return frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()


class _StrataEstimator(Estimator):
    """Shared fit: strata -> weights -> estimates, balance, info."""

    estimand: str
    se: str
    adjust: bool

    @abstractmethod
    def _strata(self, cohort: Cohort) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        """Stratum of each row (each stratified method defines it)."""

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Form strata, weight and estimate.

        Raises
        ------
        OptionError
            Panel cohort or bad option values for this cohort.
        EstimationError
            When no stratum holds both groups.
        """
        if cohort.is_panel:
            raise OptionError(
                "Matching needs one row per unit; this cohort has a `period`. Use "
                "cohort.at_period(<post period>) first, or method='did'."
            )
        t = cohort.t
        sub, score, extra = self._strata(cohort)
        w = subclass_weights(sub, t, self.estimand)
        if not (w[t] > 0).any() or not (w[~t] > 0).any():
            raise EstimationError(
                f"No {self.method} stratum holds both treated and comparison units. Use fewer or "
                "coarser matching variables."
            )
        subclass = np.where(w > 0, sub, -1)
        estimates = matched_estimates(cohort, w, subclass=subclass, se=self.se,
                                      adjust=self.adjust,
                                      focal=t if self.estimand == "ATT" else ~t)
        if self.estimand == "ATT" and not self.adjust:
            estimates = [
                dataclasses.replace(e, cohort_std_error=strata_cohort_se(
                    cohort.y(e.outcome), t, subclass))
                for e in estimates
            ]
        info = base_info(cohort, self, seed=None)
        n_strata = int(np.unique(subclass[subclass >= 0]).size)
        focal = t if self.estimand == "ATT" else ~t
        n_unf = int((focal & (w == 0)).sum())
        info.update({
            "estimand": self.estimand,
            "se": self.se,
            "n_strata": n_strata,
            "n_treated_matched": int((w[t] > 0).sum()),
            "n_comparison_matched": int((w[~t] > 0).sum()),
            "n_treated_unmatched": int((t & (w == 0)).sum()),
            "n_comparison_unmatched": int((~t & (w == 0)).sum()),
            **extra,
        })
        if info.get("vanishing_note"):
            info["notes"].append(info.pop("vanishing_note"))
        info.pop("vanishing_note", None)
        if info.get("n_scooted"):
            info["notes"].append(
                f"{info['n_scooted']:,} units were moved to a neighbouring subclass so that every "
                "subclass holds both groups (MatchIt's min.n rule); subclasses then do not "
                "follow the cut points exactly.")
        if n_unf:
            who = "treated" if self.estimand == "ATT" else "comparison"
            info["dropped"] = [*info["dropped"], DroppedRows(
                n_unf, f"{who} units in strata without a counterpart (not matched)",
                stage=self.method, n_treated=n_unf if who == "treated" else 0,
                n_comparison=0 if who == "treated" else n_unf,
                share_treated=n_unf / max(int(t.sum()), 1) if who == "treated" else 0.0,
            ).to_dict()]
            info["notes"].append(
                f"{n_unf:,} {who} units fell in strata with no counterpart and were left out: "
                f"the estimand becomes the effect on the matched {who} only."
            )
        note = balance_warning(cohort, w, self.method, estimand=self.estimand)
        if note:
            info["notes"].append(note)
        Xb, names, binary = balance_design(cohort.data, cohort.covariates)
        # pair distances for matched strata (exact, cem); MatchIt leaves them out for
        # propensity subclasses, whose "pairs" are every treated-comparison combination
        balance = BalanceTable(Xb, names, t, w, binary, estimand=self.estimand, distance=score,
                               subclass=None if self.method == "subclass" else subclass)
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={
                "subclass": pd.Series(subclass, index=cohort.index, name="subclass"),
                "distance": None if score is None else pd.Series(score, index=cohort.index,
                                                                   name="distance"),
            },
        )


def strata_cohort_se(y: np.ndarray, t: np.ndarray, stratum: np.ndarray) -> float:
    r"""Return standard error of a stratified ATT estimate as an estimate of the cohort's own rate.

    With strata :math:`s` holding :math:`n_{1s}` treated and :math:`n_{0s}`
    comparison units, the estimate :math:`\hat\mu_0 = \sum_s (n_{1s}/n_1)
    \bar y_{0s}` misses the cohort's own non-intervention mean
    :math:`\frac{1}{n_1}\sum_{T=1} Y_i(0)` by the comparison means' error plus
    the treated units' own outcome noise. If outcomes without the programme
    vary alike for treated and comparison units within a stratum (variance
    :math:`\sigma^2_s`, which is what exact matching assumes),

    .. math:: \mathrm{Var} = \frac{1}{n_1^2} \sum_s n_{1s}\, \sigma^2_s
              \left(\frac{n_{1s}}{n_{0s}} + 1\right),

    with :math:`\sigma^2_s` the comparison units' sample variance in the
    stratum, or, for strata with one comparison unit, the pooled
    within-stratum variance. The treated outcomes (*with* the programme) are
    not used: their spread is not the spread the cohort would have had without
    it. Returns NaN when no stratum has two comparison units.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, 0, 1, 0, 1, 1, 0, 0])
    >>> t = np.array([1, 1, 0, 0, 1, 0, 0, 0], bool)
    >>> s = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> round(strata_cohort_se(y, t, s), 4)  # sqrt(2*0.5*2 + 1*(1/3)*(4/3)) / 3
    0.5212
    """
    keep = stratum >= 0
    codes, inv = np.unique(stratum[keep], return_inverse=True)
    yk, tk = y[keep], t[keep]
    c = ~tk
    n1 = np.bincount(inv, weights=tk.astype(float), minlength=codes.size)
    n0 = np.bincount(inv, weights=c.astype(float), minlength=codes.size)
    s0 = np.bincount(inv[c], weights=yk[c], minlength=codes.size)
    m0 = np.divide(s0, n0, out=np.zeros_like(s0), where=n0 > 0)
    ss = np.bincount(inv[c], weights=(yk[c] - m0[inv[c]]) ** 2, minlength=codes.size)
    ok = (n0 >= 2) & (n1 > 0)  # strata that hold treated units
    if not ok.any():
        return math.nan
    var = np.full(codes.size, float(ss[ok].sum() / (n0[ok] - 1).sum()))
    var[ok] = ss[ok] / (n0[ok] - 1)
    used = (n1 > 0) & (n0 > 0)
    total = float(np.sum(n1[used] * var[used] * (n1[used] / n0[used] + 1.0)))
    return math.sqrt(total) / float(n1[used].sum())


def _check_common(
    cls: type[Estimator], estimand: str, se: StrataSE, adjust: Any
) -> tuple[str, str, bool]:
    estimand = check_choice("estimand", estimand, cls.estimands)
    se = check_choice("se", se, cls.se_kinds, renamed=MATCHING_SE_RENAMED)
    if not isinstance(adjust, (bool, np.bool_)):
        raise OptionError(f"`adjust` must be True or False; got {adjust!r}.")
    return estimand, se, bool(adjust)


@register("exact")
class ExactMatching(_StrataEstimator):
    """Exact matching: strata are the distinct combinations of all covariates.

    Parameters
    ----------
    estimand : {"ATT", "ATC"}, default "ATT"
    se : {"HC3", "HC1", "HC0", "matched_set"}, default "HC3"
        ``"matched_set"`` clusters by stratum (old spelling ``"cluster"``:
        deprecated, works until after version 0.2).
    adjust : bool, default False
        Regression adjustment in the matched sample.

    Notes
    -----
    Weights as in the module docstring (MatchIt ``method = "exact"``). Cost:
    one group-by over the covariates, O(n log n); 10,000 strata are no harder
    than 10.

    References
    ----------
    Ho, Imai, King & Stuart (2007, 2011); Stuart (2010).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> args = dict(sim.cohort_args, covariates=["sex", "offence_type"])
    >>> res = ExactMatching().fit(Cohort(sim.data, **args))
    >>> res.info["n_strata"] > 0
    True
    """

    family = "stratification"
    phrase = "a matched comparison group"
    estimands = ('ATT', 'ATC')
    se_kinds = STRATA_SE
    validation_designs = ('reoffending_categorical',)

    def __init__(self, *, estimand: str = "ATT", se: StrataSE = "HC3", adjust: bool = False) -> None:
        self.estimand, self.se, self.adjust = _check_common(type(self), estimand, se, adjust)

    def _strata(self, cohort: Cohort) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        keys = _row_keys([cohort.data[c].to_numpy() for c in cohort.covariates])
        return _codes_by_first_treated(keys, cohort.t), None, {}


@register("cem")
class CoarsenedExactMatching(_StrataEstimator):
    """Coarsened exact matching (Iacus, King & Porro 2012), as MatchIt's ``method = "cem"``.

    Parameters
    ----------
    cutpoints : mapping, optional
        Per numeric covariate: a number of equal-width bins, or a list of
        interior cutpoints. Default: Sturges' rule ``ceiling(log2(n) + 1)``
        bins for every numeric covariate (0/1 covariates included, as MatchIt).
    grouping : mapping, optional
        Per categorical covariate: a list of lists of levels to merge, e.g.
        ``{"offence_type": [["theft", "burglary"]]}``.
    estimand : {"ATT", "ATC"}, default "ATT"
    se : {"HC3", "HC1", "HC0", "matched_set"}, default "HC3"
    adjust : bool, default False

    Notes
    -----
    Numeric covariates are cut into bins ``[b_k, b_k+1)`` with breaks
    ``seq(min, max, length = bins + 1)`` over the full sample (outer breaks
    open); categorical covariates are matched exactly. Strata are numbered by
    first appearance among treated units.

    References
    ----------
    Iacus, King & Porro (2012); Ho, Imai, King & Stuart (2011).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = CoarsenedExactMatching().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.info["n_strata"] > 0
    True
    """

    family = "stratification"
    phrase = "a matched comparison group"
    estimands = ('ATT', 'ATC')
    se_kinds = STRATA_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        cutpoints: Mapping[str, int | Sequence[float]] | None = None,
        grouping: Mapping[str, Sequence[Sequence[Any]]] | None = None,
        estimand: str = "ATT",
        se: StrataSE = "HC3",
        adjust: bool = False,
    ) -> None:
        if cutpoints is not None and not isinstance(cutpoints, Mapping):
            raise OptionError(f"`cutpoints` must be a mapping column -> bins or cutpoints; got {cutpoints!r}.")
        if grouping is not None and not isinstance(grouping, Mapping):
            raise OptionError(f"`grouping` must be a mapping column -> list of level groups; got {grouping!r}.")
        for k, v in (cutpoints or {}).items():
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                check_int(f"cutpoints['{k}']", v, minimum=1)
            elif not _real_list(v):
                raise OptionError(
                    f"`cutpoints['{k}']` must be a number of bins or a list of numbers (the "
                    f"interior cutpoints); got {v!r}.")
        for k, gv in (grouping or {}).items():
            if isinstance(gv, (str, bytes)) or not isinstance(gv, Sequence) or not all(
                    isinstance(g, Sequence) and not isinstance(g, (str, bytes)) and len(g) > 0
                    for g in gv):
                raise OptionError(
                    f"`grouping['{k}']` must be a list of lists of levels to merge, e.g. "
                    f"[['theft', 'burglary']]; got {gv!r}.")
            flat = [str(lev) for g in gv for lev in g]
            twice = sorted({lev for lev in flat if flat.count(lev) > 1})
            if twice:
                raise OptionError(
                    f"`grouping['{k}']` puts {', '.join(map(repr, twice))} in more than one "
                    "group; each level can be merged into one group only.")
        self.cutpoints = None if cutpoints is None else dict(cutpoints)
        self.grouping = None if grouping is None else dict(grouping)
        self.estimand, self.se, self.adjust = _check_common(type(self), estimand, se, adjust)

    def _strata(self, cohort: Cohort) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        for name, m in (("cutpoints", self.cutpoints), ("grouping", self.grouping)):
            bad = [k for k in (m or {}) if k not in cohort.covariates]
            if bad:
                raise OptionError(f"`{name}` names {bad[0]!r}, which is not a covariate of the cohort.")
        n = cohort.n
        cols = []
        bins_used: dict[str, Any] = {}
        for c in cohort.covariates:
            s = cohort.data[c]
            numeric = pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(
                s.dtype, pd.CategoricalDtype) and not pd.api.types.is_bool_dtype(s.dtype)
            if numeric:
                if c in (self.grouping or {}):
                    raise OptionError(
                        f"`grouping` names '{c}', a numeric covariate; `grouping` merges the "
                        f"levels of a text covariate. Give '{c}' `cutpoints` instead.")
                cut = (self.cutpoints or {}).get(c, sturges_bins(n))
                x = s.to_numpy(dtype=float)
                codes = coarsen(x, cut)
                if c in (self.cutpoints or {}) and not isinstance(cut, (int, np.integer)) and (
                        codes.min() == codes.max()):
                    raise OptionError(
                        f"`cutpoints['{c}']` = {list(cut)} puts every value of '{c}' (from "
                        f"{x.min():g} to {x.max():g}) in one bin, so CEM would ignore '{c}'. "
                        "Give cutpoints inside that range, or drop it from `covariates`.")
                cols.append(codes)
                bins_used[c] = cut if isinstance(cut, (int, np.integer)) else list(cut)
            else:
                if c in (self.cutpoints or {}):
                    raise OptionError(
                        f"`cutpoints` names '{c}', a text (categorical) covariate; cutpoints "
                        f"bin numbers. Merge its levels with `grouping` instead, e.g. "
                        f"grouping={{'{c}': [[level_a, level_b]]}}.")
                v = s.astype(str).to_numpy()
                levels = set(np.unique(v).tolist())
                for gi, group in enumerate((self.grouping or {}).get(c, [])):
                    unknown = [g for g in group if str(g) not in levels]
                    if unknown:
                        raise OptionError(
                            f"`grouping['{c}']` names {', '.join(map(repr, unknown))}, which "
                            f"{'is' if len(unknown) == 1 else 'are'} not a level of '{c}' "
                            f"(its levels are {', '.join(map(repr, sorted(levels)[:12]))}).")
                    v = np.where(np.isin(v, [str(g) for g in group]), f"__group{gi}", v)
                cols.append(v)
        keys = _row_keys(cols)
        return _codes_by_first_treated(keys, cohort.t), None, {"cem_bins": bins_used}


@register("subclass")
class Subclassification(_StrataEstimator):
    r"""Propensity-score subclassification, as MatchIt's ``method = "subclass"``.

    Parameters
    ----------
    subclass : int, default 6
        Number of subclasses, cut at quantiles of the focal group's score.
    propensity : "logit" or scikit-learn classifier, default "logit"
        Propensity model: logistic regression, or a classifier (cloned and
        fitted). ``None`` (the old spelling of the default) still works, with
        a DeprecationWarning, until after version 0.2.
    estimand : {"ATT", "ATC"}, default "ATT"
    se : {"HC3", "HC1", "HC0", "matched_set"}, default "HC3"
    adjust : bool, default False
    min_n : int, default 1
        Minimum number of units of each group in every subclass (MatchIt's
        ``min.n``). A subclass short of a group takes the nearest-scoring
        units of that group from the neighbouring subclasses ("scooting",
        below). ``min_n=0`` instead leaves such subclasses out: their units
        get weight 0 and are counted in ``info["dropped"]``.

    Notes
    -----
    Cut points are the quantiles (R's type 7) of the score among the focal
    group at ``0, 1/K, ..., 1``; subclass ``k`` holds scores in
    ``[q_k, q_k+1)``, with scores below/above the range in the first/last.

    Scooting (as MatchIt's ``subclass_scootC``): for each group separately
    and ``min_n`` rounds, while some subclass has no unit of the group, take
    the first such subclass ``s``; borrow from the left if ``s`` is the last
    subclass, from the right if it is the first, otherwise from the left when
    :math:`\sum_{s' \ne s,\, n_{s'} > 1} (n_{s'} - 1)/(s' - s) \le 0` (more
    spare units below); the donor is the nearest non-empty subclass on that
    side, and the unit moved is its member with the score nearest ``s`` (the
    highest score when borrowing from the left, the lowest from the right;
    ties: the last in data order). Each round then lowers every count by one.
    The resulting subclasses may not follow the cut points exactly. Five
    subclasses remove about 90% of the bias from a covariate (Rosenbaum &
    Rubin 1984).

    References
    ----------
    Rosenbaum & Rubin (1984); Ho, Imai, King & Stuart (2011); Austin (2011).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = Subclassification().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.info["n_strata"]
    6
    """

    family = "stratification"
    phrase = "a matched comparison group"
    estimands = ('ATT', 'ATC')
    se_kinds = STRATA_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        subclass: int = 6,
        propensity: Any = "logit",
        estimand: str = "ATT",
        se: StrataSE = "HC3",
        adjust: bool = False,
        min_n: int = 1,
    ) -> None:
        self.subclass = check_int("subclass", subclass, minimum=1)
        self.min_n = check_int("min_n", min_n, minimum=0)
        self.propensity = check_propensity_model(propensity)
        self.estimand, self.se, self.adjust = _check_common(type(self), estimand, se, adjust)

    def _strata(self, cohort: Cohort) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        ps = fit_propensity(cohort, self.propensity, estimand=self.estimand)
        score = ps.ps
        focal = cohort.t if self.estimand == "ATT" else ~cohort.t
        K = self.subclass
        q = np.quantile(score[focal], np.arange(K + 1) / K)
        sub = np.clip(np.searchsorted(q, score, side="right"), 1, K) - 1
        t = cohort.t
        n_sub = int(np.unique(sub).size)
        if n_sub < K:
            warnings.warn(
                f"`subclass`={K}: ties in the propensity score gave only {n_sub} distinct "
                "subclasses.", UserWarning, stacklevel=3)
        n_scooted = 0
        if self.min_n > 0:
            for g in (True, False):
                n_g = int((t == g).sum())
                if n_g < n_sub * self.min_n:
                    who = "treated" if g else "comparison"
                    raise EstimationError(
                        f"`subclass`={K} with `min_n`={self.min_n} needs at least "
                        f"{n_sub * self.min_n} {who} units; the cohort has {n_g}. Use fewer "
                        "subclasses or a smaller `min_n`.")
            new_sub = _scoot(sub, t, score, self.min_n)
            n_scooted = int((new_sub != sub).sum())
            sub = new_sub
        return sub.astype(np.int64), score, {"subclass_cutpoints": q.tolist(),
                                             "propensity_model": ps.model,
                                             "n_scooted": n_scooted,
                                             "n_vanishing_scores": ps.n_vanishing,
                                             "vanishing_note": vanishing_note(ps)}


def _scoot(sub: np.ndarray, t: np.ndarray, x: np.ndarray, min_n: int) -> np.ndarray:
    """Move units between neighbouring subclasses until each has ``min_n`` of each group (the rule in :class:`Subclassification`'s notes; MatchIt's ``subclass_scootC``)."""
    levels, code = np.unique(sub, return_inverse=True)
    code = code.astype(np.int64)
    n_sub = levels.size
    for g in (True, False):
        idx = np.flatnonzero(t == g)  # data order
        tab = np.bincount(code[idx], minlength=n_sub).astype(np.int64)
        for _ in range(min_n):
            while tab.min() <= 0:
                s = int(np.flatnonzero(tab <= 0)[0])
                if s == n_sub - 1:
                    left = True
                elif s == 0:
                    left = False
                else:
                    others = np.flatnonzero(tab > 1)
                    others = others[others != s]
                    score = float(np.sum((tab[others] - 1) / (others - s).astype(float)))
                    left = score <= 0
                if left:
                    cand = np.flatnonzero(tab[:s] > 0)
                    s2 = int(cand[-1])
                else:
                    cand = np.flatnonzero(tab[s + 1:] > 0)
                    s2 = s + 1 + int(cand[0])
                members = idx[code[idx] == s2]
                xv = x[members]
                best = xv.max() if left else xv.min()
                mover = int(members[np.flatnonzero(xv == best)[-1]])
                code[mover] = s
                tab[s] += 1
                tab[s2] -= 1
            tab -= 1
    return levels[code]
