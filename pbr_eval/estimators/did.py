"""Difference-in-differences for outcomes measured before and after the programme.

The non-intervention rate is the treated group's post-period mean minus the
estimated effect: the treated group's own pre-period level moved by the
comparison group's change over the same time (the common-trend assumption).

References
----------
Angrist, J. D. & Pischke, J.-S. (2009). Mostly Harmless Econometrics, ch. 5.
Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
differences-in-differences estimates? QJE 119(1), 249-275.
Abadie, A. (2005). Semiparametric difference-in-differences estimators.
Review of Economic Studies 72(1), 1-19.
Roth, J. (2022). Pretest with caution: event-study estimates after testing for
parallel trends. AER: Insights 4(3), 305-322.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators.base import ESTIMATORS, Estimator, base_info, register, weights_series
from pbr_eval.exceptions import EstimationError, OptionError, PreTrendWarning
from pbr_eval.inference.wild import WildInterval, wild_cluster_interval
from pbr_eval.options import (
    DEFAULT_LEVEL,
    DID_ADJUST,
    DID_MODELS,
    DID_SE,
    FEW_CLUSTERS,
    DidSE,
    check_choice,
    check_int,
)
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["DifferenceInDifferences", "panel_ols"]

def panel_ols(
    y: np.ndarray,
    exog: pd.DataFrame,
    entity: np.ndarray,
    time: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    entity_effects: bool = False,
    time_effects: bool = False,
    clusters: np.ndarray | None = None,
) -> tuple[pd.Series, pd.DataFrame, int]:
    """Linearmodels ``PanelOLS`` with standard errors clustered by unit or by ``clusters``.

    Parameters
    ----------
    y : numpy.ndarray
    exog : pandas.DataFrame
        Regressors (one row per observation, same order as ``y``).
    entity, time : numpy.ndarray
        Unit identifier and period of each row.
    weights : numpy.ndarray, optional
        Positive weights.
    entity_effects, time_effects : bool
        Two-way fixed effects when both are True.
    clusters : numpy.ndarray, optional
        Cluster label per row; default: cluster by unit.

    Returns
    -------
    params : pandas.Series
    cov : pandas.DataFrame
        ``PanelOLS(...).fit(cov_type="clustered", debiased=True,
        auto_df=False, count_effects=False, group_debias=True)``: the cluster-robust
        covariance times ``G / (G - 1)`` and ``(n - 1) / (n - k)``, not counting
        fixed effects nested within clusters as used degrees of freedom (as
        Stata's ``xtreg, fe vce(cluster)``; counting them, linearmodels'
        default, inflates a two-period panel's SEs by about sqrt(2)).
    n_clusters : int

    References
    ----------
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. Journal of Human Resources 50(2), 317-372.
    """
    from linearmodels import PanelOLS

    ent = pd.factorize(pd.Series(entity))[0]
    idx = pd.MultiIndex.from_arrays([ent, np.asarray(time)], names=["entity", "time"])
    dep = pd.Series(np.asarray(y, dtype=float), index=idx, name="y")
    X = exog.copy()
    X.index = idx
    w = None if weights is None else pd.Series(np.asarray(weights, dtype=float), index=idx)
    mod = PanelOLS(dep, X, weights=w, entity_effects=entity_effects, time_effects=time_effects)
    opts: dict[str, Any] = {"cov_type": "clustered", "debiased": True, "auto_df": False,
                            "count_effects": False,
                            "group_debias": True}
    if clusters is None:
        res = mod.fit(cluster_entity=True, **opts)
        G = int(np.unique(ent).size)
    else:
        codes = pd.factorize(pd.Series(clusters))[0]
        res = mod.fit(clusters=pd.DataFrame({"cluster": codes}, index=idx), **opts)
        G = int(np.unique(codes).size)
    return res.params, res.cov, G


def pooled_ols_clustered(
    y: np.ndarray,
    X: np.ndarray,
    clusters: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Pooled (weighted) least squares with the cluster-robust covariance of :func:`panel_ols`.

    ``V = G/(G-1) * (n-1)/(n-k) * B^{-1} M B^{-1}``, with ``B = X'WX`` and
    ``M = sum_g s_g s_g'``, ``s_g = sum_{i in g} w_i x_i e_i``: what
    linearmodels' ``PanelOLS`` (no effects) reports with the options used
    there, computed in closed form (a fraction of the time).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(4), [0., 1, 0, 1]])
    >>> b, V, G = pooled_ols_clustered(np.array([1., 3, 2, 5]), X, np.array([0, 0, 1, 1]))
    >>> b.tolist(), G
    ([1.5, 2.5], 2)
    """
    from pbr_eval.inference.sandwich import wls_sandwich

    n, k = X.shape
    _, codes = np.unique(np.asarray(clusters), return_inverse=True)
    G = int(codes.max()) + 1
    beta, V = wls_sandwich(X, y, weights, cluster=codes, kind="HC0")
    return beta, V * (G / (G - 1)) * ((n - 1) / (n - k)), G


@register("did")
class DifferenceInDifferences(Estimator):
    """Difference-in-differences: the treated group's change net of the comparison group's.

    Parameters
    ----------
    model : {"2x2", "twfe"}, default "2x2"
        ``"2x2"``: pooled regression ``y ~ 1 + treated + post + treated x post``
        (closed form, :func:`pooled_ols_clustered`);
        ``"twfe"``: two-way fixed effects (unit and period) with
        ``treated x post``, via linearmodels' ``PanelOLS``. With several
        periods, ``"twfe"`` also fits an event study (one coefficient per
        period relative to the last pre-period) and tests the pre-period
        coefficients jointly (a pre-trend test).
    adjust : {"none", "ipw", "entropy", "nearest"}, default "none"
        First weight or match units on their covariates in the last
        pre-period (with that method's defaults), then run the DiD with
        those unit weights (Abadie 2005-style conditional parallel trends).
    post : period value, optional
        First post-programme period: periods at or after it (in time order)
        are "post". Default: only the last period is post. Text periods
        (e.g. "pre"/"post") have no order of their own: build the Cohort with
        ``period_order=``, or, with two periods, name the later one here.
    se : {"auto", "unit", "cluster"}, default "auto"
        Cluster the standard errors by unit (``"unit"``) or by the cohort's
        ``cluster`` (e.g. local authority). ``"auto"``: the cohort's cluster
        when it has one, else unit.
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        With ``se="auto"``, a cohort ``cluster`` and fewer clusters than
        this, the interval comes from the wild cluster restricted bootstrap
        (below); 0 never uses it. ``se="cluster"`` always gives the
        cluster-robust standard error.
    seed : int, default 0
        Seed of the wild bootstrap's draws when they are not all enumerated
        (more than 13 clusters); fixed by default so that a report's numbers
        repeat.

    Notes
    -----
    Effect: ``(ybar_T,post - ybar_T,pre) - (ybar_C,post - ybar_C,pre)``
    (weighted with ``adjust``); non-intervention rate:
    ``ybar_T,post - effect``. Its standard error is that of
    ``b0 + b_treated + b_post`` in the pooled 2x2 regression, clustered as
    chosen (with ``"twfe"`` and a balanced panel the effect equals the 2x2
    one; in an unbalanced panel the non-intervention SE is still the 2x2
    one). That SE is for the *expected* rate (``to_frame(target="expected")``).
    The default interval is for the cohort's own rate: the observed
    post-period rate is known, so its standard error is the effect's
    (``cohort_std_error = std_error``). The effect's SE, clustered by unit or
    cluster, counts the treated units' own (with-programme) outcome noise,
    standing in for their unobserved non-intervention noise; on 500
    simulated cohorts this covered the cohort's rate 0.942-0.946
    (``docs/validation.md``). Standard errors and coefficients are linearmodels PanelOLS's
    (clustered; corrections as in :func:`panel_ols`). Valid under parallel
    trends; the pre-trend test has low power, and passing it does not
    prove the assumption (Roth 2022).

    **Few clusters.** With few clusters the cluster-robust standard error is
    too small and its normal interval under-covers (Cameron, Gelbach &
    Miller 2008). Below ``few_clusters`` clusters (and with ``model="2x2"``
    and ``adjust="none"``, where the effect is one OLS coefficient), the
    effect's interval is the wild cluster restricted bootstrap test inverted
    (:func:`pbr_eval.inference.wild.wild_cluster_interval`: Rademacher
    weights, all ``2^G`` sign patterns up to 13 clusters, else 9,999 seeded
    draws; Webb's six-point weights below 10 clusters). The reported
    standard error is the one that interval implies (its width over
    ``2 x 1.96``), so the default 95% interval is the bootstrap's width
    centred on the estimate; the bootstrap's own limits, its p-value and the
    cluster-robust standard error are in ``info["few_clusters"]``, and
    ``se_method`` and ``info["notes"]`` say which was used. The
    non-intervention standard error for the *expected* rate stays the
    cluster-robust one. In 1,000 simulated 12-area panels
    (``benchmarks/results/validate_did_few_clusters.txt``) this interval
    held the true effect 0.953 of the time (Monte Carlo SE 0.007), the
    cluster-robust one 0.901 (0.009).

    References
    ----------
    Angrist & Pischke (2009); Bertrand, Duflo & Mullainathan (2004);
    Abadie (2005); Roth (2022).
    Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based
    improvements for inference with clustered errors. Review of Economics
    and Statistics 90(3), 414-427.
    MacKinnon, J. G. & Webb, M. D. (2018). The wild bootstrap for few
    (treated) clusters. Econometrics Journal 21(2), 114-135.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_families
    >>> sim = load_families()
    >>> res = DifferenceInDifferences().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.to_frame()["outcome"].tolist()
    ['attendance_rate', 'youth_offending', 'adult_employed']
    """

    family = "panel"
    phrase = "a comparison group (difference in differences)"
    estimands = ('ATT',)
    se_kinds = DID_SE
    validation_designs = ('families',)

    def __init__(
        self,
        *,
        model: str = "2x2",
        adjust: str = "none",
        post: Any = None,
        se: DidSE = "auto",
        few_clusters: int = FEW_CLUSTERS,
        seed: int | None = 0,
    ) -> None:
        self.model = check_choice("model", model, DID_MODELS)
        self.adjust = check_choice("adjust", adjust, DID_ADJUST)
        self.post = post
        self.se = check_choice("se", se, self.se_kinds)
        self.few_clusters = check_int("few_clusters", few_clusters, minimum=0)
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise OptionError(f"`seed` must be a non-negative integer or None; got {seed!r}.")
        self.seed = seed

    # ------------------------------------------------------------ helpers
    def _periods(self, cohort: Cohort) -> tuple[list[Any], list[Any], list[Any]]:
        assert cohort.period is not None
        present = pd.unique(cohort.data[cohort.period]).tolist()
        if len(present) < 2:
            raise OptionError(
                f"Difference-in-differences needs at least two periods in `period` column "
                f"'{cohort.period}'; found {present}."
            )
        # time order, never the labels' alphabetical order ('post' < 'pre')
        periods = cohort.ordered_periods(last=self.post, option="post", method="did")
        first_post = periods[-1] if self.post is None else self.post
        if first_post not in periods or first_post == periods[0]:
            raise OptionError(
                f"`post` must be one of the periods after the first ({', '.join(map(repr, periods[1:]))}); "
                f"got {first_post!r}."
            )
        k = periods.index(first_post)
        return periods, periods[:k], periods[k:]

    def _unit_weights(self, cohort: Cohort, last_pre: Any, info: dict[str, Any]) -> np.ndarray:
        if self.adjust == "none":
            return np.ones(cohort.n)
        pre_cohort = cohort.at_period(last_pre)
        res = ESTIMATORS[self.adjust]().fit(pre_cohort)
        assert cohort.unit_id is not None
        ids_pre = pre_cohort.column(cohort.unit_id)
        by_unit = pd.Series(res.weights.to_numpy(), index=ids_pre)
        w = pd.Series(cohort.column(cohort.unit_id)).map(by_unit).to_numpy(dtype=float)
        missing = np.isnan(w)
        if missing.any():
            info["notes"].append(
                f"{int(missing.sum()):,} rows belong to units not observed in period {last_pre!r} "
                "(where the weights are computed) and were left out."
            )
        w = np.nan_to_num(w, nan=0.0)
        info["adjustment"] = {"method": self.adjust, "period": last_pre,
                              "balance_max_abs_smd": res.balance.max_abs_smd_after
                              if res.balance is not None else None}
        return w

    # -------------------------------------------------------------- fit
    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Estimate the effect and the non-intervention rate.

        Raises
        ------
        OptionError
            The cohort has no ``period``; fewer than two periods; a bad
            ``post``; ``se="cluster"`` without a cluster.
        PeriodOrderError
            Text periods whose time order neither ``period_order`` nor
            ``post`` gives.
        EstimationError
            A group is missing in the pre or post period.
        """
        if not cohort.is_panel:
            raise OptionError(
                "Method 'did' needs before/after data: build the Cohort with `period` (and "
                "`unit_id`), one row per unit and period."
            )
        assert cohort.period is not None and cohort.unit_id is not None
        periods, pre, post = self._periods(cohort)
        se = self.se
        if se == "auto":
            se = "cluster" if cohort.cluster is not None else "unit"
        if se == "cluster" and cohort.cluster is None:
            raise OptionError(
                "`se='cluster'` needs a cohort built with `cluster` (e.g. the local authority); "
                "this one has none. Use se='unit'."
            )
        info = base_info(cohort, self)
        t = cohort.t
        per = cohort.column(cohort.period)
        is_post = np.isin(per, post)
        for grp, mask in (("treated", t), ("comparison", ~t)):
            for lab, pm in (("pre", ~is_post), ("post", is_post)):
                if not (mask & pm).any():
                    raise EstimationError(
                        f"No {grp} rows in the {lab}-programme period(s); difference-in-"
                        "differences needs both groups before and after."
                    )
        w = self._unit_weights(cohort, pre[-1], info)
        keep = w > 0
        n_left = int((~keep).sum())
        if n_left and self.adjust != "none":
            info["dropped"] = info["dropped"] + [DroppedRows(
                n_left, f"rows of units with zero weight after adjust='{self.adjust}'",
                stage=self.method).to_dict()]
        assert cohort.unit_id is not None  # a panel cohort (checked in fit)
        ent = cohort.column(cohort.unit_id)[keep]
        tim = per[keep]
        tk = t[keep].astype(float)
        pk = is_post[keep].astype(float)
        wk = w[keep]
        weights = None if self.adjust == "none" else wk
        clusters = (cohort.column(cohort.cluster)[keep]
                    if se == "cluster" and cohort.cluster is not None else None)
        sat = np.column_stack([np.ones(tk.size), tk, pk, tk * pk])
        sat_clusters = ent if clusters is None else clusters
        twfe = pd.DataFrame({"treated_x_post": tk * pk})
        estimates = []
        event_tables: dict[str, pd.DataFrame] = {}
        event_covs: dict[str, np.ndarray] = {}
        pretrend: dict[str, dict[str, float]] = {}
        n_cl = int(pd.unique(sat_clusters).size)
        # the recommended choice (se="auto") only: se="cluster" asks for the cluster-robust SE
        wild = self.se == "auto" and clusters is not None and n_cl < self.few_clusters
        if wild and (self.model != "2x2" or self.adjust != "none"):
            wild = False
            info["notes"].append(
                f"Only {n_cl:,} clusters: the cluster-robust interval is likely too narrow. The "
                "wild cluster bootstrap is used only with model='2x2' and adjust='none'.")
        few: dict[str, dict[str, Any]] = {}
        streams = np.random.SeedSequence(self.seed).spawn(len(cohort.outcomes))
        for name, stream in zip(cohort.outcomes, streams, strict=True):
            y = cohort.y(name)[keep]
            b, V, G = pooled_ols_clustered(y, sat, sat_clusters, weights)
            a = np.array([1.0, 1.0, 1.0, 0.0])
            ni_se = float(np.sqrt(a @ V @ a))
            if self.model == "twfe":
                bt, Vt, G = panel_ols(y, twfe, ent, tim, weights=weights, entity_effects=True,
                                      time_effects=True, clusters=clusters)
                effect = float(bt["treated_x_post"])
                eff_se = float(np.sqrt(Vt.loc["treated_x_post", "treated_x_post"]))
            else:
                effect = float(b[3])
                eff_se = float(np.sqrt(V[3, 3]))
            se_method = (f"clustered by {'unit' if se == 'unit' else cohort.cluster} "
                         f"({G:,} clusters; linearmodels PanelOLS cov_type='clustered')")
            if wild:
                wi = wild_cluster_interval(sat, y, sat_clusters, 3, level=DEFAULT_LEVEL,
                                           seed=stream)
                few[name] = _few_cluster_record(wi)
                z = float(stats.norm.ppf(0.5 + DEFAULT_LEVEL / 2))
                eff_se = (wi.upper - wi.lower) / (2 * z)
                se_method = (
                    f"wild cluster restricted bootstrap over {G:,} clusters of {cohort.cluster} "
                    f"(fewer than {self.few_clusters:,}; {wi.weights} weights, {wi.n_draws:,} "
                    f"draws{', all enumerated' if wi.full_enumeration else ''}); standard error "
                    "implied by its interval")
            m_tp = (tk * pk) > 0
            observed = float(np.average(y[m_tp], weights=wk[m_tp]))
            y_all = cohort.y(name)
            naive = float(y_all[is_post & ~t].mean())
            estimates.append(OutcomeEstimate(
                outcome=name, outcome_type=cohort.outcome_types[name],
                n_treated=int(pd.unique(ent[tk > 0]).size),
                n_comparison=int(pd.unique(ent[tk == 0]).size),
                observed=observed, non_intervention=observed - effect,
                non_intervention_se=ni_se, effect=effect, std_error=eff_se,
                naive_comparison=naive, cohort_std_error=eff_se, se_method=se_method,
            ))
            if len(periods) > 2:
                table, test, cov = self._event_study(y, tk, tim, ent, weights, clusters,
                                                     periods, pre, name)
                event_tables[name] = table
                event_covs[name] = cov
                if test is not None:
                    pretrend[name] = test
        if pretrend:
            info["pre_trend_test"] = pretrend
            bad = [k for k, v in pretrend.items() if v["p_value"] < 0.05]
            if bad:
                msg = (f"Pre-programme trends differ between the groups for {', '.join(bad)} "
                       "(joint test of the pre-period event-study coefficients, p < 0.05): "
                       "the parallel-trends assumption behind difference-in-differences looks "
                       "doubtful. Consider adjust='ipw' or 'entropy', or another comparison group.")
                warnings.warn(msg, PreTrendWarning, stacklevel=2)
                info["notes"].append(msg)
        if few:
            info["few_clusters"] = few
            info["notes"].append(
                f"Only {n_cl:,} clusters (fewer than {self.few_clusters:,}): the effect's interval "
                "is the wild cluster restricted bootstrap's (Cameron, Gelbach & Miller 2008), "
                "because the cluster-robust one is too narrow with few clusters.")
        info.update({"estimand": "ATT", "model": self.model, "adjust": self.adjust, "se": se,
                     "pre_periods": pre, "post_periods": post, "seed": self.seed})
        last_pre = cohort.data[cohort.period].to_numpy() == pre[-1]
        Xp = cohort.X[last_pre]
        balance = BalanceTable(Xp, cohort.design_columns, t[last_pre], w[last_pre],
                               cohort.binary_columns)
        return CounterfactualResults(
            method=self.method, estimand="ATT", estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={"event_study": event_tables, "event_study_cov": event_covs}
            if event_tables else {},
        )

    @staticmethod
    def _event_study(
        y: np.ndarray, tk: np.ndarray, tim: np.ndarray, ent: np.ndarray,
        weights: np.ndarray | None, clusters: np.ndarray | None, periods: list[Any],
        pre: list[Any], name: str,
    ) -> tuple[pd.DataFrame, dict[str, float] | None, np.ndarray]:
        ref = pre[-1]
        others = [p for p in periods if p != ref]
        X = pd.DataFrame({f"treated_x_{p}": tk * (tim == p) for p in others})
        b, V, _ = panel_ols(y, X, ent, tim, weights=weights, entity_effects=True,
                            time_effects=True, clusters=clusters)
        se = np.sqrt(np.diag(V.to_numpy()))
        table = pd.DataFrame({
            "period": others, "relative_to": ref, "coef": b.to_numpy(), "std_error": se,
            "pre_period": [p in pre for p in others]})
        pre_cols = [f"treated_x_{p}" for p in others if p in pre]
        if not pre_cols:
            return table, None, V.to_numpy()
        bp = b[pre_cols].to_numpy()
        Vp = V.loc[pre_cols, pre_cols].to_numpy()
        stat = float(bp @ np.linalg.solve(Vp, bp))
        p = float(stats.chi2.sf(stat, len(pre_cols)))
        return table, {"statistic": stat, "df": float(len(pre_cols)), "p_value": p}, V.to_numpy()


def _few_cluster_record(wi: WildInterval) -> dict[str, Any]:
    """Return the wild bootstrap's own figures, as ``info["few_clusters"][outcome]`` keeps them."""
    return wi.to_dict()
