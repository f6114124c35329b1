"""Propensity-score nearest-neighbour matching.

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
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._nearest import (
    greedy_match_1d,
    match_weights,
    nearest_with_replacement_1d,
)
from pbr_eval.estimators.base import (
    Estimator,
    base_info,
    register,
    weighted_difference,
    weights_series,
)
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.models.propensity import fit_propensity
from pbr_eval.options import check_choice, check_int, check_positive
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["NearestNeighborMatching"]

Distance = Literal["glm", "linear.logit"]
Order = Literal["largest", "smallest", "random", "data"]
DISTANCES = ("glm", "linear.logit")
ORDERS = ("largest", "smallest", "random", "data")
SE_TYPES = ("auto", "cluster", "HC3", "HC1", "HC0")


@register("nearest")
class NearestNeighborMatching(Estimator):
    """Greedy nearest-neighbour matching on the propensity score.

    Each treated person, in turn, takes the comparison person with the
    closest propensity score who has not been taken yet (or, with
    ``replace=True``, the closest whether taken or not). The
    non-intervention rate is the (weighted) mean outcome of the matched
    comparison group.

    Parameters
    ----------
    distance : {"glm", "linear.logit"} or scikit-learn classifier, default "glm"
        ``"glm"``: logistic propensity score on the probability scale
        (MatchIt's default); ``"linear.logit"``: its logit. A classifier
        with ``predict_proba`` is cloned and fitted instead of the logistic
        model. A column name of the cohort's data holding a user-supplied
        score is not yet supported here.
    ratio : int, default 1
        Comparison units per treated unit (k:1). Every treated unit gets its
        first match before any gets a second.
    replace : bool, default False
        Whether a comparison unit may be matched to several treated units.
    caliper : float, optional
        Largest allowed distance (inclusive). Treated units with no
        comparison unit within it are left unmatched and reported; the
        estimand is then the effect on the matched treated.
    std_caliper : bool, default True
        Whether ``caliper`` is in standard deviations of the distance
        (computed over all units, both groups pooled).
    order : {"largest", "smallest", "random", "data"}, default "largest"
        Order in which treated units choose (by score). ``"random"`` uses ``seed``.
    estimand : {"ATT"}, default "ATT"
        The non-intervention rate is defined for the treated.
    se : {"auto", "cluster", "HC3", "HC1", "HC0"}, default "auto"
        ``"auto"`` is cluster-robust by matched set without replacement and
        HC3 with replacement, as MatchIt's documentation recommends.
    seed : int, optional
        Seed for ``order="random"``.

    Notes
    -----
    Greedy matching processes treated units in ``order``; for each, the
    candidates are the nearest available comparison unit with score at or
    below the treated unit's (the last in data order among equal scores) and
    the nearest above it (the first among equal scores), and the nearer wins
    (the lower on a tie), as in MatchIt. Weights: matched treated 1;
    each comparison unit the sum, over the treated units it serves, of one
    over their number of matches, rescaled to mean 1 among matched
    comparison units.

    With ``ratio=1`` and no replacement the non-intervention estimate is
    ``mean(y_c)`` over matched comparison units and its standard error the
    cluster-robust (by pair) standard error of the intercept of
    ``y ~ 1 + treated`` in the matched sample.

    Matching takes O((n_t + n_c) log n_c) time after the score is known and
    no n_t x n_c memory.

    References
    ----------
    Ho, Imai, King & Stuart (2007, 2011); Austin (2011); Stuart (2010);
    Abadie & Imbens (2006). Large sample properties of matching estimators for
    average treatment effects. Econometrica 74(1), 235-267.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> res = NearestNeighborMatching().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.to_frame()[["outcome", "n_treated", "n_comparison"]]
                   outcome  n_treated  n_comparison
    0           reoffended        ...           ...
    1  reconviction_events        ...           ...
    """

    def __init__(
        self,
        *,
        distance: Any = "glm",
        ratio: int = 1,
        replace: bool = False,
        caliper: float | None = None,
        std_caliper: bool = True,
        order: str | None = None,
        estimand: str = "ATT",
        se: str = "auto",
        seed: int | None = None,
    ) -> None:
        if isinstance(distance, str):
            check_choice("distance", distance, DISTANCES)
        elif not (hasattr(distance, "fit") and hasattr(distance, "predict_proba")):
            raise OptionError(
                "`distance` must be one of 'glm', 'linear.logit' or a scikit-learn classifier; "
                f"got {distance!r}."
            )
        self.distance = distance
        self.ratio = check_int("ratio", ratio, minimum=1)
        if not isinstance(replace, (bool, np.bool_)):
            raise OptionError(f"`replace` must be True or False; got {replace!r}.")
        self.replace = bool(replace)
        self.caliper = None if caliper is None else check_positive("caliper", caliper)
        self.std_caliper = bool(std_caliper)
        self.order = "largest" if order is None else check_choice("order", order, ORDERS)
        self.estimand = check_choice("estimand", estimand, ("ATT",))
        self.se = check_choice("se", se, SE_TYPES)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise OptionError(f"`seed` must be an integer or None; got {seed!r}.")
        self.seed = seed

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Match and estimate.

        Parameters
        ----------
        cohort : Cohort

        Returns
        -------
        CounterfactualResults

        Raises
        ------
        OptionError
            If the cohort holds panel data, or ``ratio`` is impossible without
            replacement.
        EstimationError
            If the propensity model fails or no treated unit can be matched.
        """
        if cohort.is_panel:
            raise OptionError(
                "Matching needs one row per unit; this cohort has a `period`. Use "
                "cohort.at_period(<post period>) first, or method='did'."
            )
        t = cohort.t
        n1, n0 = cohort.n_treated, cohort.n_comparison
        if not self.replace and self.ratio * n1 > n0:
            raise OptionError(
                f"`ratio`={self.ratio} without replacement needs at least {self.ratio * n1:,} "
                f"comparison units for {n1:,} treated; there are {n0:,}. Lower `ratio` or set "
                "replace=True."
            )
        ps = fit_propensity(cohort, None if isinstance(self.distance, str) else self.distance)
        score = ps.linear if self.distance == "linear.logit" else ps.ps
        caliper = None
        if self.caliper is not None:
            caliper = self.caliper * float(np.std(score, ddof=1)) if self.std_caliper else self.caliper
        idx_t = np.flatnonzero(t)
        idx_c = np.flatnonzero(~t)
        s_t, s_c = score[idx_t], score[idx_c]
        if self.replace:
            mm = nearest_with_replacement_1d(s_t, s_c, ratio=self.ratio, caliper=caliper)
        else:
            mm = greedy_match_1d(s_t, s_c, self._order(s_t), ratio=self.ratio, caliper=caliper)
        fw, cw = match_weights(mm, idx_c.size)
        n_matched = int(fw.sum())
        if n_matched == 0:
            raise EstimationError(
                "No treated unit found a comparison unit within the caliper "
                f"({caliper:.4g} on the score scale). Widen `caliper` or drop it."
            )
        w = np.zeros(cohort.n)
        w[idx_t] = fw
        w[idx_c] = cw
        subclass = None
        if not self.replace:
            subclass = np.full(cohort.n, -1, dtype=np.int64)
            subclass[idx_t[fw > 0]] = np.arange(n_matched)
            pair_of_treated = np.cumsum(fw) - 1
            has = mm >= 0
            rows = np.repeat(np.arange(mm.shape[0]), mm.shape[1]).reshape(mm.shape)
            subclass[idx_c[mm[has]]] = pair_of_treated[rows[has]].astype(np.int64)
        se = self.se
        if se == "auto":
            se = "HC3" if self.replace else "cluster"
        if se == "cluster" and subclass is None:
            raise OptionError(
                "`se='cluster'` (by matched pair) needs matching without replacement; "
                "with replace=True use se='HC3' (the default)."
            )
        estimates = weighted_difference(cohort, w, subclass=subclass, se=se)
        info = base_info(cohort, self, seed=self.seed)
        n_unmatched = n1 - n_matched
        info.update(
            {
                "estimand": self.estimand,
                "propensity_model": ps.model,
                "caliper_score_units": caliper,
                "n_treated_matched": n_matched,
                "n_treated_unmatched": n_unmatched,
                "n_comparison_matched": int((cw > 0).sum()),
                "se": se,
            }
        )
        if n_unmatched:
            info["dropped"] = info["dropped"] + [
                DroppedRows(
                    n_unmatched,
                    "treated units with no comparison unit within the caliper (not matched)",
                    stage="nearest",
                ).to_dict()
            ]
            info["notes"].append(
                f"{n_unmatched:,} of {n1:,} treated units had no comparison unit within the "
                "caliper and were left out: the estimate is for the matched treated only, not "
                "the whole cohort."
            )
        balance = BalanceTable(
            cohort.X, cohort.design_columns, t, w, cohort.binary_columns, estimand=self.estimand
        )
        distance = pd.Series(score, index=cohort.index, name="distance")
        return CounterfactualResults(
            method=self.method,
            estimand=self.estimand,
            estimates=estimates,
            weights=weights_series(cohort, w),
            balance=balance,
            info=info,
            extras={
                "distance": distance,
                "subclass": None if subclass is None else pd.Series(
                    subclass, index=cohort.index, name="subclass"),
                "match_matrix": mm,
                "treated_index": cohort.index[idx_t],
                "comparison_index": cohort.index[idx_c],
                "propensity": ps,
            },
        )

    def _order(self, s_t: np.ndarray) -> np.ndarray:
        if self.order == "largest":
            return np.argsort(-s_t, kind="stable")
        if self.order == "smallest":
            return np.argsort(s_t, kind="stable")
        if self.order == "random":
            return np.random.default_rng(self.seed).permutation(s_t.size)
        return np.arange(s_t.size)
