"""Nearest-neighbour matching with MatchIt's vocabulary, defaults and tie rules.

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2007). Matching as
nonparametric preprocessing for reducing model dependence in parametric
causal inference. Political Analysis 15(3), 199-236.
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt: Nonparametric
preprocessing for parametric causal inference. Journal of Statistical
Software 42(8).
Austin, P. C. (2011). An introduction to propensity score methods for
reducing the effects of confounding in observational studies. Multivariate
Behavioral Research 46(3), 399-424.
Stuart, E. A. (2010). Matching methods for causal inference: a review and a
look forward. Statistical Science 25(1), 1-21.
Abadie, A. & Imbens, G. W. (2006). Large sample properties of matching
estimators for average treatment effects. Econometrica 74(1), 235-267.
Abadie, A. & Imbens, G. W. (2016). Matching on the estimated propensity
score. Econometrica 84(2), 781-807.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable, balance_design
from pbr_eval.estimators._mahalanobis import (
    DISTANCE_TRANSFORMS,
    distance_matrix_covariates,
    transform_covariates,
)
from pbr_eval.estimators._nearest import match_nearest, match_weights
from pbr_eval.estimators._overlap import balance_warning
from pbr_eval.estimators.base import (
    Estimator,
    base_info,
    register,
    weights_series,
)
from pbr_eval.estimators.matched_sample import abadie_imbens_estimates, matched_estimates
from pbr_eval.exceptions import EstimationError, IgnoredOptionWarning, OptionError
from pbr_eval.models.propensity import (
    PropensityScore,
    check_propensity_model,
    fit_propensity,
    is_classifier,
    vanishing_note,
)
from pbr_eval.options import (
    MATCHING_SE,
    MATCHING_SE_RENAMED,
    MatchingSE,
    check_choice,
    check_int,
    check_positive,
    warn_renamed,
)
from pbr_eval.replicate import ReplicateHints
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["NearestNeighborMatching", "matched_estimates", "abadie_imbens_estimates",
           "discard_units", "exact_cells", "check_distance", "unmatched_note"]

Distance = Literal[
    "glm", "linear.logit", "mahalanobis", "robust_mahalanobis", "euclidean", "scaled_euclidean"
]
Order = Literal["largest", "smallest", "closest", "random", "data"]
Discard = Literal["none", "treated", "control", "both"]
DISTANCES = ("glm", "linear.logit", *DISTANCE_TRANSFORMS)
ORDERS = ("largest", "smallest", "closest", "random", "data")
DISCARDS = ("none", "treated", "control", "both")


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def _check_cols(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    out = list(value)
    if not out or not all(isinstance(v, str) for v in out):
        raise OptionError(f"`{name}` must be a list of covariate names; got {value!r}.")
    return out


def _need_covariates(cohort: Cohort, name: str, cols: Sequence[str]) -> None:
    bad = [c for c in cols if c not in cohort.covariates]
    if bad:
        raise OptionError(
            f"`{name}` names {', '.join(map(repr, bad))}, which "
            f"{'is' if len(bad) == 1 else 'are'} not among the cohort's covariates "
            f"({', '.join(map(repr, cohort.covariates))}). Add them to `covariates` when "
            "building the Cohort."
        )


def check_distance(distance: Any, propensity: Any) -> tuple[Any, Any]:
    """Validate ``distance=`` (the metric, MatchIt's names, or a score) and ``propensity=``.

    A classifier passed as ``distance`` (the version 0.1 spelling) becomes
    ``propensity`` with ``distance="glm"`` and a DeprecationWarning.
    """
    if is_classifier(distance):
        if propensity != "logit":
            raise OptionError(
                "`distance` is a classifier and `propensity` is set too; pass the model once, "
                "as `propensity`, with distance='glm'."
            )
        warn_renamed("distance=<classifier>", "propensity=<classifier>, distance='glm'")
        return "glm", distance
    propensity = check_propensity_model(propensity)
    if isinstance(distance, str):
        check_choice("distance", distance, DISTANCES)
    elif isinstance(distance, (pd.Series, np.ndarray, list)):
        arr = np.asarray(distance.to_numpy() if isinstance(distance, pd.Series) else distance)
        if arr.ndim != 1 or arr.dtype.kind not in "fiu" or not np.all(np.isfinite(arr)):
            raise OptionError(
                "`distance` given as a score must be one finite number per cohort row; "
                f"got an array of shape {arr.shape} and type {arr.dtype}."
            )
    else:
        raise OptionError(
            "`distance` must be one of " + ", ".join(repr(d) for d in DISTANCES)
            + f" or a score (Series/array); got {distance!r}. A scikit-learn classifier goes "
            "in `propensity`."
        )
    return distance, propensity


def discard_units(score: np.ndarray, t: np.ndarray, how: str) -> np.ndarray:
    """Units outside the region of common support of the score (MatchIt's ``discard``).

    ``"both"`` drops units with a score below ``max(min_T, min_C)`` or above
    ``min(max_T, max_C)``; ``"treated"`` only treated units outside the
    comparison group's range; ``"control"`` only comparison units outside the
    treated range.

    Examples
    --------
    >>> import numpy as np
    >>> discard_units(np.array([.1, .5, .9, .3, .6]), np.array([1, 1, 1, 0, 0], bool), "both").tolist()
    [True, False, True, False, False]
    """
    out = np.zeros(t.size, bool)
    if how == "none":
        return out
    s1, s0 = score[t], score[~t]
    if how in ("both", "treated"):
        out |= t & ((score < s0.min()) | (score > s0.max()))
    if how in ("both", "control"):
        out |= ~t & ((score < s1.min()) | (score > s1.max()))
    return out


def unmatched_note(n_unmatched: int, n_focal: int, n_treated: int, names: tuple[str, str]
                   ) -> tuple[dict[str, Any], str]:
    """Return the dropped-rows entry and the note for focal units left without a match.

    Shared by the in-memory and the distributed (exact-cell) matching.

    Parameters
    ----------
    n_unmatched, n_focal, n_treated : int
    names : (str, str)
        What the focal and the pool units are called ("treated", "comparison").

    Returns
    -------
    dropped : dict
        A :class:`~pbr_eval.cohort.DroppedRows` as a dict.
    note : str

    Examples
    --------
    >>> unmatched_note(3, 40, 40, ("treated", "comparison"))[1][:46]
    '3 of 40 treated units had no comparison unit w'
    """
    dropped = DroppedRows(
        n_unmatched,
        f"{names[0]} units with no {names[1]} unit within the caliper or exact cell "
        "(not matched)", stage="nearest",
        n_treated=n_unmatched if names[0] == "treated" else 0,
        n_comparison=0 if names[0] == "treated" else n_unmatched,
        share_treated=(n_unmatched / max(n_treated, 1) if names[0] == "treated"
                       else 0.0)).to_dict()
    note = (f"{n_unmatched:,} of {n_focal:,} {names[0]} units had no {names[1]} "
            "unit within the caliper or exact cell and were left out: the estimate is for the "
            "matched "
            f"{names[0]} only (the estimand becomes the effect on the matched {names[0]}), "
            f"not the whole {'cohort' if names[0] == 'treated' else 'pool'}.")
    return dropped, note


def exact_cells(cohort: Cohort, columns: Sequence[str]) -> np.ndarray:
    """Integer code of each row's combination of ``columns`` (an exact-matching cell)."""
    frame = cohort.data[list(columns)]
    codes = frame.groupby(list(columns), sort=True, dropna=False).ngroup().to_numpy()
    return codes.astype(np.int64)


@dataclass(frozen=True)
class _MatchProblem:
    """What nearest-neighbour matching matches on (step 2 of its fit)."""

    focal: np.ndarray  # units that choose (treated for the ATT)
    score: np.ndarray | None  # propensity (or user) score, None for covariate distances
    ps: PropensityScore | None
    discarded: np.ndarray  # outside common support
    mah: np.ndarray | None  # transformed covariates for a covariate distance
    caliper: float | None  # on the score, in its units
    cal_x: np.ndarray | None  # covariates with their own calipers
    cal_w: np.ndarray | None  # those calipers in data units
    cells: np.ndarray | None  # exact-matching cell of each unit
    match_disc: np.ndarray  # discarded, or in a cell without both groups
    order_name: str
    order: np.ndarray | None  # positions among the focal units, in choosing order


@dataclass(frozen=True)
class _Matched:
    """The matching's outcome (step 3 of the fit)."""

    mm: np.ndarray  # matched pool rows per focal unit, -1 for none
    fw: np.ndarray  # focal weights (1 matched, 0 not)
    w: np.ndarray  # every unit's weight
    subclass: np.ndarray | None  # matched set of each unit (-1 none); None with replacement
    idx_f: np.ndarray  # row of each focal unit


@register("nearest")
class NearestNeighborMatching(Estimator):
    """Nearest-neighbour matching, reproducing R's MatchIt ``method = "nearest"``.

    Each focal unit (treated for the ATT), in turn, takes the comparison unit
    nearest on the distance that is still available (or, with
    ``replace=True``, the nearest whether taken or not). The
    non-intervention rate is the weighted mean outcome of the matched
    comparison group.

    Parameters
    ----------
    distance : str or array-like, default "glm"
        The distance metric, in MatchIt's vocabulary. ``"glm"``: the
        propensity score (from ``propensity``) on the probability scale
        (MatchIt's default); ``"linear.logit"``: its logit;
        ``"mahalanobis"``, ``"robust_mahalanobis"``, ``"euclidean"``,
        ``"scaled_euclidean"``: a covariate distance on all covariates; or a
        user-supplied score: a pandas Series indexed like the cohort's data,
        or an array with one value per cohort row. (A scikit-learn classifier
        passed here, the version 0.1 spelling, still works with a
        DeprecationWarning: pass it as ``propensity``.)
    propensity : "logit" or scikit-learn classifier, default "logit"
        The propensity model behind ``distance="glm"`` / ``"linear.logit"``:
        main-effects logistic regression, or a classifier (cloned, then
        fitted on the design matrix; its ``predict_proba`` is the score).
    ratio : int, default 1
        Comparison units per focal unit (k:1). Without replacement every focal
        unit gets its first match before any gets a second.
    replace : bool, default False
        Whether a comparison unit may be matched to several focal units.
    caliper : float or mapping, optional
        Largest allowed distance (inclusive). A number applies to the score;
        a mapping ``{"distance": 0.2, "age": 5}`` also sets per-covariate
        calipers (numeric covariates). Focal units with no comparison unit
        within the calipers are left unmatched and reported; the estimand is
        then the effect on the matched focal units.
    std_caliper : bool, default True
        Whether calipers are in standard deviations (sample SD over all
        retained units, both groups pooled, as MatchIt).
    order : {"largest", "smallest", "closest", "random", "data"}, optional
        Order in which focal units choose. Default ``"largest"`` score first
        for the ATT (``"smallest"`` for the ATC), ``"data"`` without a score.
        ``"closest"`` forms the closest pairs first. ``"random"`` uses
        ``seed`` (numpy's generator: the order differs from R's ``sample``).
    exact : list of str, optional
        Covariates that must agree exactly between matched units.
    mahvars : list of str, optional
        Match on the Mahalanobis distance of these covariates, within the
        propensity-score ``caliper`` (which then applies to the score).
    discard : {"none", "treated", "control", "both"}, default "none"
        Drop units outside the region of common support of the propensity
        score before matching (reported as discarded).
    estimand : {"ATT", "ATC"}, default "ATT"
    se : {"auto", "matched_set", "HC3", "HC1", "HC0", "abadie_imbens"}, default "auto"
        ``"auto"``: cluster-robust by matched set (``"matched_set"``) without
        replacement, HC3 with replacement (MatchIt's recommendation). The old
        spelling ``"cluster"`` for the matched set still works, with a
        DeprecationWarning, until after version 0.2. ``"abadie_imbens"``:
        the Abadie-Imbens (2006) matching variance, for ``replace=True``.
    adjust : bool, default False
        Regression adjustment on the covariates in the matched sample.
    seed : int, optional
        Seed for ``order="random"``.

    Notes
    -----
    **Algorithm** (MatchIt 4.7, reproduced exactly): all units are sorted on
    the score (stable: ties keep data order). For each focal unit MatchIt
    walks outward from its position, one position left then one right,
    skipping units that are not available comparison units; on each side it
    stops at the first comparison unit within the calipers. The nearer of
    the two wins; at equal distance the one found first (fewer positions
    away, the left one if equally far). So among controls tied below the
    focal score the last in data order is taken, among those tied above
    the first. Here used units are skipped with a union-find structure, so
    matching costs O((n_focal + n_pool) log n_pool) after the score is known,
    in O(n) memory, including with calipers, exact cells and ``ratio > 1``.
    Mahalanobis matching sorts on the first transformed coordinate and prunes
    a side once that coordinate alone is farther than the best match
    (exact nearest, no distance matrix); exact cells of more than 5,000 units
    use a k-d tree instead (exact nearest too, but exactly equidistant units
    may be chosen differently from MatchIt).

    **Weights**: matched focal units 1; each comparison unit the sum over the
    focal units it serves of 1/(number of matches of that focal unit),
    rescaled to mean 1 among matched comparison units.

    **Estimate**: the coefficient on treatment in the weighted regression
    ``y ~ 1 + t`` in the matched sample; the intercept is the
    non-intervention rate. Standard errors: cluster-robust by matched set
    (HC1 with the G/(G-1) correction, as ``sandwich::vcovCL``) without
    replacement, HC3 with replacement (Austin 2011; Stuart 2010).

    **Abadie-Imbens** (2006, eq. 14 for the ATT, with their M=1 conditional
    variance by the nearest same-group unit; ``replace=True`` only): the
    variance of the matching estimator, counting each comparison unit's reuse
    ``K_M(i)``. It treats the score as known; with an estimated propensity
    score Abadie & Imbens (2016) show it is conservative for the ATT
    adjustment-free case only approximately -- the correction term is not
    applied here.

    References
    ----------
    Ho, Imai, King & Stuart (2007, 2011); Austin (2011); Stuart (2010);
    Abadie & Imbens (2006, 2016).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> res = NearestNeighborMatching(caliper=0.2).fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.to_frame()[["outcome", "n_treated", "n_comparison"]]
                   outcome  n_treated  n_comparison
    0           reoffended        ...           ...
    1  reconviction_events        ...           ...
    """

    family = "matching"
    phrase = "a matched comparison group"
    estimands = ('ATT', 'ATC')
    se_kinds = MATCHING_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        distance: Any = "glm",
        propensity: Any = "logit",
        ratio: int = 1,
        replace: bool = False,
        caliper: float | Mapping[str, float] | None = None,
        std_caliper: bool = True,
        order: str | None = None,
        exact: Sequence[str] | None = None,
        mahvars: Sequence[str] | None = None,
        discard: str = "none",
        estimand: str = "ATT",
        se: MatchingSE = "auto",
        adjust: bool = False,
        seed: int | None = None,
    ) -> None:
        self.distance, self.propensity = check_distance(distance, propensity)
        self.ratio = check_int("ratio", ratio, minimum=1)
        self.replace = _check_bool("replace", replace)
        if caliper is None or isinstance(caliper, Mapping):
            if isinstance(caliper, Mapping):
                for k, v in caliper.items():
                    check_positive(f"caliper['{k}']", v)
            self.caliper: float | dict[str, float] | None = (
                None if caliper is None else dict(caliper))
        else:
            self.caliper = check_positive("caliper", caliper)
        self.std_caliper = _check_bool("std_caliper", std_caliper)
        self.order = None if order is None else check_choice("order", order, ORDERS)
        self.exact = _check_cols("exact", exact)
        self.mahvars = _check_cols("mahvars", mahvars)
        self.discard = check_choice("discard", discard, DISCARDS)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds, renamed=MATCHING_SE_RENAMED)
        self.adjust = _check_bool("adjust", adjust)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise OptionError(f"`seed` must be an integer or None; got {seed!r}.")
        self.seed = seed
        self._check_combinations()

    # ---------------------------------------------------------------- checks
    @property
    def _covariate_distance(self) -> bool:
        return isinstance(self.distance, str) and self.distance in DISTANCE_TRANSFORMS

    def _score_caliper(self) -> float | None:
        if isinstance(self.caliper, dict):
            return self.caliper.get("distance")
        return self.caliper

    def _check_combinations(self) -> None:
        ignored = []
        if self.replace and self.order is not None:
            ignored.append(f"order={self.order!r} (with replace=True every unit chooses freely)")
        if self._covariate_distance and self.mahvars is not None:
            ignored.append("mahvars (distance is already a covariate distance on all covariates)")
        if self.se == "abadie_imbens" and not self.replace:
            raise OptionError(
                "`se='abadie_imbens'` is for matching with replacement; set replace=True, or use "
                "se='matched_set' (the default without replacement)."
            )
        if self.se == "abadie_imbens" and self.adjust:
            raise OptionError("`se='abadie_imbens'` cannot be combined with adjust=True.")
        if self.se == "matched_set" and self.replace:
            raise OptionError(
                "`se='matched_set'` (by matched pair) needs matching without replacement; with "
                "replace=True use se='HC3' (the default) or se='abadie_imbens'."
            )
        if self._covariate_distance:
            if self._score_caliper() is not None:
                raise OptionError(
                    f"`caliper` on the score needs a propensity score, but distance="
                    f"{self.distance!r} has none. Use per-covariate calipers "
                    "(caliper={'age': 0.5}) or mahvars=[...] with distance='glm'."
                )
            if self.discard != "none":
                raise OptionError(
                    f"`discard`={self.discard!r} needs a propensity score, but distance="
                    f"{self.distance!r} has none. Use distance='glm' with mahvars=[...]."
                )
            if self.order in ("largest", "smallest"):
                raise OptionError(
                    f"`order`={self.order!r} orders by the score, but distance="
                    f"{self.distance!r} has none; use 'data', 'random' or 'closest'."
                )
        if ignored:
            warnings.warn(
                "Nearest-neighbour matching ignores " + "; ".join(ignored) + ".",
                IgnoredOptionWarning,
                stacklevel=3,
            )

    def replicate_columns(self, cohort: Cohort) -> list[str] | None:
        """Return data columns :meth:`fit_replicate` reads: outcomes and the columns matched on directly (a full fit also reads every covariate for the balance table, which replicates skip); ``None`` (all) when a subclass overrides :meth:`fit` (see :meth:`fit_replicate`)."""
        if not self._fast_replicates:
            return None
        cols = list(cohort.outcomes)
        if self._covariate_distance:
            cols += list(cohort.covariates)
        for extra in (self.exact, self.mahvars):
            cols += list(extra or [])
        if isinstance(self.caliper, dict):
            cols += [k for k in self.caliper if k != "distance"]
        return list(dict.fromkeys(cols))

    # ------------------------------------------------------------------- fit
    def fit_replicate(self, cohort: Cohort, hints: ReplicateHints) -> CounterfactualResults:
        """Return a bootstrap replicate: :meth:`fit` without the balance table, with the propensity model warm-started at ``hints.start`` and fitted on the distinct parent rows (same estimates; see :class:`ReplicateHints`).

        A subclass that overrides :meth:`fit` but not this method gets full
        refits (its ``fit``), so its change is honoured in every replicate.
        """
        if not self._fast_replicates:
            return self.fit(cohort)
        return self._fit(cohort, hints)

    @property
    def _fast_replicates(self) -> bool:
        return type(self).fit is NearestNeighborMatching.fit

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Match and estimate.

        Parameters
        ----------
        cohort : Cohort

        Returns
        -------
        CounterfactualResults
            ``extras`` holds ``distance``, ``subclass``, ``match_matrix``
            (positions of matched units per focal unit, -1 for none),
            ``focal_index``, ``discarded`` and ``propensity``.

        Raises
        ------
        OptionError
            Panel cohort; a column in ``exact``/``mahvars``/``caliper`` that is
            not a covariate; ``ratio`` impossible without replacement.
        EstimationError
            The propensity model fails, or no focal unit can be matched.
        """
        return self._fit(cohort, None)

    def _fit(self, cohort: Cohort, hints: ReplicateHints | None) -> CounterfactualResults:
        """Return the fit in named steps: check, set up the matching problem, match, estimate, describe (info, balance) and build the results."""
        focal = self._check_cohort(cohort)
        problem = self._problem(cohort, focal, hints)
        matched = self._match(cohort, problem)
        se = self.se if self.se != "auto" else ("HC3" if self.replace else "matched_set")
        if se == "abadie_imbens":
            estimates = abadie_imbens_estimates(
                cohort, matched.mm, focal, problem.score if problem.mah is None else problem.mah)
        else:
            estimates = matched_estimates(cohort, matched.w, subclass=matched.subclass, se=se,
                                          adjust=self.adjust, focal=focal)
        info = self._info(cohort, problem, matched, se)
        balance = None
        if hints is None:  # replicates skip the balance table and its warning
            note = self._balance_warning(cohort, matched)
            if note:
                info["notes"].append(note)
            Xb, bnames, bbin = balance_design(cohort.data, cohort.covariates)
            balance = BalanceTable(
                Xb, bnames, cohort.t, matched.w, bbin, estimand=self.estimand,
                discarded=problem.discarded,
                distance=problem.score if not self._covariate_distance else None,
                subclass=matched.subclass,
                match_matrix=None if matched.subclass is not None else (matched.idx_f, matched.mm),
            )
        return CounterfactualResults(
            method=self.method,
            estimand=self.estimand,
            estimates=estimates,
            weights=weights_series(cohort, matched.w),
            balance=balance,
            info=info,
            extras=self._extras(cohort, problem, matched),
        )

    def _balance_warning(self, cohort: Cohort, m: _Matched) -> str | None:
        """|SMD| above 0.25 after matching (shared with stratification, ``_overlap``)."""
        names, n_pool = self._names(), int((~self._focal(cohort)).sum())
        hint = ""
        if self.replace and self.ratio >= n_pool:
            hint = (f"ratio={self.ratio} is as large as the {names[1]} pool ({n_pool:,} "
                    f"units), so every {names[0]} unit is matched to all of it and the "
                    "estimate is the pool's unadjusted rate; ")
        return balance_warning(cohort, m.w, self.method, estimand=self.estimand, hint=hint)

    def _focal(self, cohort: Cohort) -> np.ndarray:
        return cohort.t if self.estimand == "ATT" else ~cohort.t

    def _names(self) -> tuple[str, str]:
        """Return what the focal and the pool units are called in messages."""
        return ("treated", "comparison") if self.estimand == "ATT" else ("comparison", "treated")

    def _check_cohort(self, cohort: Cohort) -> np.ndarray:
        """Step 1: a cross-section with enough pool units and the named covariates; returns the focal units (treated for the ATT)."""
        if cohort.is_panel:
            raise OptionError(
                "Matching needs one row per unit; this cohort has a `period`. Use "
                "cohort.at_period(<post period>) first, or method='did'."
            )
        focal = self._focal(cohort)
        n_focal, n_pool = int(focal.sum()), int((~focal).sum())
        names = self._names()
        if not self.replace and self.ratio * n_focal > n_pool:
            raise OptionError(
                f"`ratio`={self.ratio} without replacement needs at least "
                f"{self.ratio * n_focal:,} {names[1]} units for {n_focal:,} {names[0]} units; "
                f"there are {n_pool:,}. Lower `ratio` or set replace=True."
            )
        for name, cols in (("exact", self.exact), ("mahvars", self.mahvars),
                           ("caliper", list(self._covariate_calipers()) or None)):
            if cols:
                _need_covariates(cohort, name, cols)
        # text covariates enter the design as dummies only
        text_cal = [c for c in self._covariate_calipers() if c not in cohort.design_columns]
        if text_cal:
            raise OptionError(
                f"`caliper` on {', '.join(map(repr, text_cal))}: a per-covariate caliper needs a "
                f"numeric covariate, and {'it holds' if len(text_cal) == 1 else 'they hold'} "
                f"categories. Match within its categories with exact={text_cal!r} instead."
            )
        return focal

    def _covariate_calipers(self) -> dict[str, float]:
        if not isinstance(self.caliper, dict):
            return {}
        return {k: v for k, v in self.caliper.items() if k != "distance"}

    def _problem(
        self, cohort: Cohort, focal: np.ndarray, hints: ReplicateHints | None
    ) -> _MatchProblem:
        """Step 2: the score, common support, covariate distance, calipers in data units, exact cells and the order in which focal units choose."""
        t = cohort.t
        score, ps = self._score(cohort, hints)
        discarded = (
            discard_units(ps.ps if ps is not None else score, t, self.discard)
            if score is not None else np.zeros(t.size, bool)
        )
        retained = ~discarded
        mah = None
        if self._covariate_distance or self.mahvars is not None:
            cols = cohort.covariates if self._covariate_distance else self.mahvars
            x = distance_matrix_covariates(cohort.data, cols)  # type: ignore[arg-type]
            mah = transform_covariates(
                x, t, discarded, self.distance if self._covariate_distance else "mahalanobis"
            )
        caliper = self._score_caliper()
        if caliper is not None and score is not None and self.std_caliper:
            caliper = caliper * float(np.std(score[retained], ddof=1))
        cov_cal = self._covariate_calipers()
        cal_x = cal_w = None
        if cov_cal:
            cal_x = np.column_stack([cohort.data[c].to_numpy(dtype=float) for c in cov_cal])
            cal_w = np.array(list(cov_cal.values()), dtype=float)
            if self.std_caliper:
                cal_w = cal_w * cal_x[retained].std(axis=0, ddof=1)
        cells = None
        match_disc = discarded.copy()
        if self.exact:
            cells = exact_cells(cohort, self.exact)
            both = np.intersect1d(np.unique(cells[focal]), np.unique(cells[~focal]))
            match_disc |= ~np.isin(cells, both)
        order_name = self.order
        if order_name is None:
            order_name = ("largest" if self.estimand == "ATT" else "smallest") if (
                score is not None and not self._covariate_distance) else "data"
        idx_f = np.flatnonzero(focal)
        order = None
        if score is not None and order_name == "largest":
            order = np.argsort(-score[idx_f], kind="stable")
        elif score is not None and order_name == "smallest":
            order = np.argsort(score[idx_f], kind="stable")
        elif order_name == "random":
            ok = np.flatnonzero(~discarded[idx_f])
            order = np.random.default_rng(self.seed).permutation(ok)
        elif order_name == "data":
            order = np.flatnonzero(~discarded[idx_f])
        return _MatchProblem(
            focal=focal, score=score, ps=ps, discarded=discarded, mah=mah, caliper=caliper,
            cal_x=cal_x, cal_w=cal_w, cells=cells, match_disc=match_disc,
            order_name=order_name, order=order)

    def _match(self, cohort: Cohort, p: _MatchProblem) -> _Matched:
        """Step 3: match (MatchIt's walk), then the weights and matched sets."""
        mm = match_nearest(
            p.focal,
            order=p.order,
            score=p.score,
            mah=p.mah,
            ratio=self.ratio,
            replace=self.replace,
            caliper=p.caliper,
            cal_x=p.cal_x,
            cal_w=p.cal_w,
            cells=p.cells,
            discarded=p.match_disc,
            closest=p.order_name == "closest",
        )
        fw, pw = match_weights(mm, cohort.n)
        if int(fw.sum()) == 0:
            names = self._names()
            raise EstimationError(
                f"No {names[0]} unit found a {names[1]} unit within the calipers/exact cells. "
                "Widen `caliper`, drop it, or use fewer `exact` columns."
            )
        idx_f = np.flatnonzero(p.focal)
        w = pw
        w[idx_f] = fw
        subclass = None
        if not self.replace:
            subclass = np.full(cohort.n, -1, dtype=np.int64)
            sub_of_focal = np.cumsum(fw).astype(np.int64) - 1
            subclass[idx_f[fw > 0]] = sub_of_focal[fw > 0]
            has = mm >= 0
            rows = np.broadcast_to(np.arange(mm.shape[0])[:, None], mm.shape)
            subclass[mm[has]] = sub_of_focal[rows[has]]
        return _Matched(mm=mm, fw=fw, w=w, subclass=subclass, idx_f=idx_f)

    def _info(self, cohort: Cohort, p: _MatchProblem, m: _Matched, se: str) -> dict[str, Any]:
        """Step 4: ``info``, with every unit left out counted (dropped rows) and explained."""
        t, discarded, w, names = cohort.t, p.discarded, m.w, self._names()
        info = base_info(cohort, self, seed=self.seed)
        n_disc_f = int(discarded[m.idx_f].sum())
        n_unmatched = int((m.fw == 0).sum() - n_disc_f)
        # the counts by group from whole-array masks (no n-sized gathers such as w[~t])
        n_t, n_disc = int(np.count_nonzero(t)), int(np.count_nonzero(discarded))
        n_disc_t = int(np.count_nonzero(discarded & t))
        n_disc_p = n_disc - n_disc_t if self.estimand == "ATT" else n_disc_t
        used = w > 0
        n_used, n_used_t = int(np.count_nonzero(used)), int(np.count_nonzero(used & t))
        used |= discarded  # now: matched or discarded
        n_left = t.size - int(np.count_nonzero(used))
        n_left_t = n_t - int(np.count_nonzero(used & t))
        info.update(
            {
                "estimand": self.estimand,
                "propensity_model": None if p.ps is None else p.ps.model,
                "distance": self._distance_label(),
                "order": "data" if self.replace else p.order_name,
                "caliper_score_units": p.caliper,
                "caliper_covariate_units": None if p.cal_w is None else dict(
                    zip(self._covariate_calipers(), p.cal_w.tolist(), strict=True)),
                "n_focal_matched": int(m.fw.sum()),
                "n_focal_unmatched": n_unmatched,
                "n_treated_matched": n_used_t,
                "n_comparison_matched": n_used - n_used_t,
                "n_treated_unmatched": n_left_t,
                "n_comparison_unmatched": n_left - n_left_t,
                "n_discarded_treated": n_disc_t,
                "n_discarded_comparison": n_disc - n_disc_t,
                "se": se,
            }
        )
        note = vanishing_note(p.ps)
        if note:
            info["notes"].append(note)
        dropped = list(info["dropped"])
        if n_disc_f or n_disc_p:
            dropped.append(DroppedRows(
                n_disc_f + n_disc_p,
                f"outside common support of the propensity score (discard={self.discard!r}): "
                f"{n_disc_t:,} treated, {n_disc - n_disc_t:,} comparison",
                stage="nearest", n_treated=n_disc_t, n_comparison=n_disc - n_disc_t,
                share_treated=float(n_disc_t / max(n_t, 1))).to_dict())
            info["notes"].append(
                f"{n_disc_t:,} treated and {n_disc - n_disc_t:,} comparison "
                "units lay outside the region of common support and were discarded."
            )
        if n_unmatched:
            row, note = unmatched_note(n_unmatched, m.idx_f.size, n_t, names)
            dropped.append(row)
            info["notes"].append(note)
        if n_disc_f:
            info["notes"].append(
                f"With {n_disc_f:,} {names[0]} units discarded, the estimand is the effect on the "
                f"retained {names[0]} units."
            )
        info["dropped"] = dropped
        if self.estimand == "ATC":
            info["notes"].append(
                "Estimand ATC: the effect is for the comparison group (treated units are matched "
                "to it); the non-intervention figure is then the comparison group's own mean."
            )
        return info

    def _extras(self, cohort: Cohort, p: _MatchProblem, m: _Matched) -> dict[str, Any]:
        """Step 5: the results' method-specific extras (score, matched sets, discards)."""
        return {
            "distance": None if p.score is None else pd.Series(
                p.score, index=cohort.index, name="distance"),
            "subclass": None if m.subclass is None else pd.Series(
                m.subclass, index=cohort.index, name="subclass"),
            "match_matrix": m.mm,
            "focal_index": cohort.index[m.idx_f],
            "discarded": pd.Series(p.discarded, index=cohort.index, name="discarded"),
            "propensity": p.ps,
        }

    def _distance_label(self) -> str:
        return self.distance if isinstance(self.distance, str) else "user score"

    def _score(
        self, cohort: Cohort, hints: ReplicateHints | None = None
    ) -> tuple[np.ndarray | None, PropensityScore | None]:
        d = self.distance
        if isinstance(d, pd.Series):
            missing = cohort.index.difference(d.index)
            if len(missing):
                raise OptionError(
                    f"`distance` (a score Series) has no value for {len(missing):,} cohort rows "
                    f"(e.g. index {missing[0]!r}); index it like the data given to Cohort."
                )
            return d.reindex(cohort.index).to_numpy(dtype=float), None
        if isinstance(d, (np.ndarray, list)):
            arr = np.asarray(d, dtype=float)
            if arr.size != cohort.n:
                raise OptionError(
                    f"`distance` (a score array) must have one value per cohort row ({cohort.n:,}); "
                    f"got {arr.size:,}."
                )
            return arr, None
        if isinstance(d, str) and d in DISTANCE_TRANSFORMS:
            return None, None
        start = hints.start if hints is not None and isinstance(self.propensity, str) else None
        ps = fit_propensity(cohort, self.propensity, start=start, estimand=self.estimand,
                            replicate=hints)
        return (ps.linear if d == "linear.logit" else ps.ps), ps
