r"""Multiple imputation of missing covariates: impute, estimate within each, pool.

The workflow of R ``mice`` (``mice()`` -> ``with()`` -> ``pool()``):

>>> import pbr_eval
>>> from pbr_eval.datasets import load_reoffending
>>> sim = load_reoffending()
>>> data = pbr_eval.add_missing(sim.data, ["age", "prior_offences"], share=0.2, seed=1)
>>> imp = pbr_eval.impute(data, m=3, seed=2, iterations=3, **sim.cohort_args)  # m cohorts
>>> res = imp.estimate(method="ipw")                                   # any estimator, pooled
>>> bool(res.pooled("reoffended").estimate == res.to_frame()["non_intervention"][0])
True

Covariates are imputed by chained equations (statsmodels ``MICEData``:
predictive mean matching from a linear model of each covariate on every other
role column, with the model's parameters drawn from their approximate posterior
before each step, so the imputations are "proper"). The treatment and every
outcome are predictors in each imputation model, as White, Royston & Wood (2011)
recommend, but are never imputed. Each imputation is its own chain with its own
random stream from one seed. Estimates are pooled by Rubin's rules with
Barnard-Rubin degrees of freedom (:mod:`pbr_eval.inference.rubin`).

References
----------
Rubin, D. B. (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
van Buuren, S. and Groothuis-Oudshoorn, K. (2011). mice: multivariate imputation by
chained equations in R. Journal of Statistical Software 45(3).
White, I. R., Royston, P. and Wood, A. M. (2011). Multiple imputation using chained
equations: issues and guidance for practice. Statistics in Medicine 30(4), 377-399.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.api import estimate as _estimate
from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import (
    CovariateError,
    MissingColumnError,
    MissingValueError,
    OptionError,
)
from pbr_eval.inference.rubin import pool_scalar
from pbr_eval.io import missing_columns_message
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_int, check_level
from pbr_eval.results.imputation import ImputedResults

__all__ = ["ImputedCohorts", "add_missing", "from_completed", "impute", "DEFAULT_IMPUTATIONS",
           "DEFAULT_ITERATIONS", "DEFAULT_DONORS"]

#: Imputations made by default (van Buuren 2018 suggests 5-20; more when much is missing).
DEFAULT_IMPUTATIONS = 10
#: Cycles through the covariates in each chain before its imputation is kept (mice: 5).
DEFAULT_ITERATIONS = 10
#: Donors among which predictive mean matching draws (mice's ``donors``: 5).
DEFAULT_DONORS = 5

_ROLE_KEYS = ("unit_id", "cluster", "min_treated", "outcome_types", "max_levels", "period")
_TARGETS = ("cohort", "expected")


class ImputedCohorts:
    """``m`` completed cohorts from one data set with missing covariate values.

    Made by :func:`impute`; analyse with :meth:`estimate`. The cohorts are in
    :attr:`cohorts` (each a :class:`~pbr_eval.cohort.Cohort`, usable with any
    front door).

    Attributes
    ----------
    cohorts : tuple of Cohort
        The completed cohorts, one per imputation.
    m : int
        Number of imputations.
    imputed : pandas.DataFrame
        Values imputed per covariate and group (counts; suppress before publishing).
    settings : dict
        The imputation settings (engine, iterations, donors, seed, predictors).

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> data = pbr_eval.add_missing(sim.data, ["age"], share=0.2, seed=1)
    >>> imp = pbr_eval.impute(data, m=2, seed=5, iterations=2, **sim.cohort_args)
    >>> imp.m, imp.cohorts[0].n_treated
    (2, 600)
    >>> print(imp.imputed[["covariate", "n_imputed"]].to_string(index=False))
    covariate  n_imputed
          age       2512
    """

    def __init__(self, cohorts: Sequence[Cohort], imputed: pd.DataFrame,
                 settings: Mapping[str, Any]) -> None:
        self.cohorts = tuple(cohorts)
        self.m = len(self.cohorts)
        self.imputed = imputed
        self.settings = dict(settings)

    def __repr__(self) -> str:
        return (f"<ImputedCohorts m={self.m} imputed="
                f"{int(self.imputed['n_imputed'].sum()) if len(self.imputed) else 0} values>")

    def estimate(self, method: str = "nearest", *, target: str = "cohort",
                 level: float = DEFAULT_LEVEL, df_complete: float | None = None,
                 **options: Any) -> ImputedResults:
        r"""Estimate within each completed cohort and pool by Rubin's rules.

        Parameters
        ----------
        method : str, default "nearest"
            Any registered estimator (:data:`pbr_eval.estimators.ESTIMATORS`).
        target : {"cohort", "expected"}, default "cohort"
            Which standard errors are pooled: those of the cohort's own rate
            (the default interval of every estimate) or of the expected rate
            (``to_frame(target="expected")``).
        level : float, default 0.95
            Confidence level of the pooled t intervals.
        df_complete : float, optional
            Complete-data degrees of freedom :math:`\nu_{com}` for the
            Barnard-Rubin rule. Default ``n - k``: the rows of a completed
            cohort minus the parameters of a main-effects model of the outcome on
            the treatment and the covariates (``k = 2 + design columns``).
            ``math.inf`` gives Rubin's large-sample degrees of freedom.
        **options
            Passed to :func:`pbr_eval.estimate` for every imputation (e.g.
            ``ratio=2``, ``estimand="ATE"``, ``seed=``).

        Returns
        -------
        ImputedResults

        Raises
        ------
        OptionError
            An unknown method, target or option.

        Notes
        -----
        For each outcome, the non-intervention rate and the effect are pooled
        separately by :func:`pbr_eval.inference.rubin.pool_scalar`:
        :math:`\bar Q`, :math:`T = \bar U + (1 + 1/m) B`, Barnard-Rubin
        degrees of freedom, and the fraction of missing information
        :math:`(r + 2/(\nu + 3)) / (r + 1)`. Intervals are
        :math:`\bar Q \pm t_{\nu} \sqrt{T}` on the outcome's own scale.

        Examples
        --------
        >>> import pbr_eval
        >>> from pbr_eval.datasets import load_reoffending
        >>> sim = load_reoffending()
        >>> data = pbr_eval.add_missing(sim.data, ["age", "prior_offences"], share=0.2, seed=1)
        >>> imp = pbr_eval.impute(data, m=3, seed=2, iterations=3, **sim.cohort_args)
        >>> res = imp.estimate(method="aipw")
        >>> p = res.pooled("reoffended")
        >>> 0 < p.fmi < 1, p.df > 4
        (True, True)
        """
        target = check_choice("target", target, _TARGETS)
        level = check_level(level)
        if df_complete is not None and not (isinstance(df_complete, (int, float))
                                            and df_complete > 0):
            raise OptionError(f"`df_complete` must be a positive number or math.inf; got "
                              f"{df_complete!r}.")
        fits = [_estimate(c, method=method, **options) for c in self.cohorts]
        frames = [f.to_frame(target=target) for f in fits]  # type: ignore[call-arg]
        first = self.cohorts[0]
        if df_complete is None:
            df_complete = float(len(first.t) - 2 - first.X.shape[1])
        pooled, per = [], []
        for i, row in frames[0].iterrows():
            one: dict[str, Any] = {k: row[k] for k in ("outcome", "outcome_type", "n_treated",
                                                       "n_comparison", "observed")}
            for qty, se_col in (("non_intervention", "non_intervention_se"),
                                ("effect", "std_error")):
                q = [float(f.loc[i, qty]) for f in frames]
                u = [float(f.loc[i, se_col]) ** 2 for f in frames]
                one[qty] = _pooled_dict(q, u, df_complete, level)
            pooled.append(one)
        balance = []
        for j, (fit, frame) in enumerate(zip(fits, frames, strict=True), start=1):
            bal = _balance_rows(fit, j)
            balance += bal
            after = [abs(b["smd_after"]) for b in bal if b["smd_after"] is not None
                     and math.isfinite(b["smd_after"])]
            threshold = float(getattr(getattr(fit, "balance", None), "threshold", 0.1) or 0.1)
            for r in frame.itertuples():
                per.append({"imputation": j, "outcome": r.outcome,
                            "outcome_type": r.outcome_type,
                            "non_intervention": r.non_intervention,
                            "non_intervention_se": r.non_intervention_se, "effect": r.effect,
                            "std_error": r.std_error,
                            "max_abs_smd_after": max(after) if after else None,
                            "n_imbalanced_after": sum(a > threshold for a in after)})
        info0 = dict(getattr(fits[0], "info", {}) or {})
        notes = sorted({str(n) for f in fits for n in (getattr(f, "info", {}) or {})
                        .get("notes", [])})
        info = {"method": method, "options": {k: repr(v) for k, v in options.items()},
                "m": self.m, "target": target, "level": level, "df_complete": df_complete,
                "estimand": info0.get("estimand", "ATT"), "dropped": info0.get("dropped", []),
                "notes": notes, **self.settings}
        return ImputedResults(pooled=pooled, per_imputation=per, balance=balance,
                              imputed=self.imputed.to_dict(orient="records"), info=info)


def _pooled_dict(q: list[float], u: list[float], df_complete: float,
                 level: float) -> dict[str, Any]:
    if not (all(map(math.isfinite, q)) and all(map(math.isfinite, u))):
        nan = math.nan
        return {k: nan for k in (*("estimate", "std_error", "df", "fmi", "riv", "within",
                                   "between"), "ci_lower", "ci_upper", "p_value")}
    p = pool_scalar(q, u, df_complete=df_complete)
    lo, hi = p.conf_int(level)
    return {"estimate": p.estimate, "std_error": p.std_error, "df": p.df, "fmi": p.fmi,
            "riv": p.riv, "within": p.within, "between": p.between, "ci_lower": lo,
            "ci_upper": hi, "p_value": p.p_value()}


def _balance_rows(fit: Any, j: int) -> list[dict[str, Any]]:
    bal = getattr(fit, "balance", None)
    if bal is None:
        return []
    frame = bal.to_frame(ecdf=False)
    if "distance" in frame.index:
        frame = frame.drop(index="distance")
    return [{"imputation": j, "covariate": str(name), "smd_before": float(r["smd_before"]),
             "smd_after": float(r["smd_after"])} for name, r in frame.iterrows()]


def _check_frame(data: pd.DataFrame, treatment: str, outcomes: list[str],
                 covariates: list[str], roles: Mapping[str, Any]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise OptionError(f"`data` must be a pandas DataFrame; got {type(data).__name__}.")
    if roles.get("period") is not None:
        raise OptionError("`impute` takes one row per person; this call gives `period`. "
                          "Impute panel data before reshaping, or drop the period rows.")
    named = {"treatment": [treatment], "outcome": outcomes, "covariates": covariates}
    absent = [c for cols in named.values() for c in cols if c not in data.columns]
    if absent:
        raise MissingColumnError(missing_columns_message(absent, list(data.columns), "the data",
                                                         roles=named))


def impute(data: pd.DataFrame, *, treatment: str, outcome: str | Sequence[str],
           covariates: Sequence[str], m: int = DEFAULT_IMPUTATIONS, seed: int | None = None,
           iterations: int = DEFAULT_ITERATIONS, donors: int = DEFAULT_DONORS,
           missing: str = "error", **roles: Any) -> ImputedCohorts:
    r"""Impute missing covariate values ``m`` times by chained equations.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person. Never modified.
    treatment, outcome, covariates : str, str or list of str, list of str
        The roles, as for :class:`~pbr_eval.cohort.Cohort`. Only covariates are
        imputed; the treatment and the outcomes are predictors of every
        imputation model and are never imputed.
    m : int, default 10
        Number of imputations (at least 2).
    seed : int, optional
        Seed of every random draw: the same seed gives the same imputations.
        Without one, fresh entropy is drawn and recorded in ``settings["seed"]``.
    iterations : int, default 10
        Cycles through the incomplete covariates in each chain.
    donors : int, default 5
        Observed values among which predictive mean matching draws.
    missing : {"error", "drop"}, default "error"
        Rows with a missing treatment, outcome, unit identifier or cluster
        (never imputed): ``"error"`` raises, ``"drop"`` leaves them out of the
        imputation and the cohorts and records them (as :class:`Cohort` does).
    **roles
        Other :class:`Cohort` keywords: ``unit_id``, ``cluster``, ``min_treated``,
        ``outcome_types``, ``max_levels``.

    Returns
    -------
    ImputedCohorts

    Raises
    ------
    MissingColumnError
        A role names a column that is not in ``data``.
    CovariateError
        A text covariate has missing values (only numeric and true/false
        covariates are imputed; code a text covariate's gaps as their own level).
    MissingValueError
        A covariate with no observed value.
    OptionError
        ``m`` below 2, a bad ``iterations``, ``donors`` or ``missing``, or ``period``.

    Notes
    -----
    Engine: statsmodels ``MICEData`` with ``perturbation_method="gaussian"``
    (each imputation model's coefficients drawn from the normal approximation
    to their sampling distribution) and predictive mean matching with
    ``donors`` donors, so imputed values are values observed in the data
    (whole numbers stay whole, 0/1 stay 0/1). Each covariate's model is a
    linear regression on every other role column: the other covariates (text
    ones as indicators), the treatment and the outcomes (White, Royston & Wood
    2011). Each imputation is a separate chain started from statsmodels'
    initial fill (the observed value nearest the mean), run ``iterations``
    cycles, with its own stream ``numpy.random.SeedSequence(seed).spawn(m)``.
    Limitations: text covariates are not imputed; interactions of the
    treatment with the covariates are not in the imputation models (impute
    each group separately if effects differ strongly by covariate).
    The imputation's linear algebra runs on one BLAS thread and the donors are
    chosen on predictions rounded to 1e-8 of their scale with ties broken by row
    order (:func:`pmm_donors`), so the same ``seed`` gives the same imputations
    whatever the number of cores or the processor.

    References
    ----------
    White, I. R., Royston, P. and Wood, A. M. (2011). Statistics in Medicine 30(4), 377-399.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> data = pbr_eval.add_missing(sim.data, ["age", "sentence_months"], share=0.2, seed=1)
    >>> a = pbr_eval.impute(data, m=2, seed=9, iterations=2, **sim.cohort_args)
    >>> b = pbr_eval.impute(data, m=2, seed=9, iterations=2, **sim.cohort_args)
    >>> bool((a.cohorts[1].X == b.cohorts[1].X).all())
    True
    """
    from statsmodels.imputation.mice import MICEData
    from threadpoolctl import threadpool_limits

    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    covs = list(covariates)
    _check_frame(data, treatment, outcomes, covs, roles)
    m = check_int("m", m, minimum=2)
    iterations = check_int("iterations", iterations, minimum=1)
    donors = check_int("donors", donors, minimum=1)
    missing = check_choice("missing", missing, ("error", "drop"))
    unknown = sorted(set(roles) - set(_ROLE_KEYS))
    if unknown:
        raise OptionError(f"`impute` got unexpected keyword(s) {', '.join(unknown)}; it takes "
                          f"the Cohort roles {', '.join(_ROLE_KEYS[:-1])}.")
    roles = {k: v for k, v in roles.items() if k != "period"}
    fixed = [treatment, *outcomes, *(roles[k] for k in ("unit_id", "cluster")
                                     if roles.get(k) is not None)]
    usable = ~data[fixed].isna().any(axis=1).to_numpy()
    frame = data.loc[usable]
    # what is imputed: numeric/boolean covariates with gaps; text covariates are predictors only
    gaps = [c for c in covs if frame[c].isna().any()]
    for c in gaps:
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])):
            raise CovariateError(
                f"Covariate '{c}' is text with {int(frame[c].isna().sum()):,} missing values; "
                "only numeric and true/false covariates are imputed. Code its gaps as their own "
                "level (e.g. 'unknown'), or recode it as numbers."
            )
        if frame[c].notna().sum() == 0:
            raise MissingValueError(f"Covariate '{c}' has no observed values to impute from; "
                                    "remove it from `covariates`.")
    if not gaps:
        raise MissingValueError("No covariate has a missing value; there is nothing to impute. "
                                "Use pbr_eval.Cohort(...) directly.")
    work, names = _imputation_frame(frame, treatment, outcomes, covs)
    t = frame[treatment].isin([1, True]).to_numpy()
    entropy = seed if seed is not None else int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    streams = np.random.SeedSequence(entropy).spawn(m)
    cohort_args: dict[str, Any] = {"treatment": treatment, "outcome": outcomes,
                                   "covariates": covs, "missing": missing, **roles}
    completed = []
    for j in range(m):
        md = _stable_mice_data(MICEData)(work, perturbation_method="gaussian", k_pmm=donors,
                                         rng=np.random.default_rng(streams[j]))
        # BLAS on one thread: a multi-threaded sum rounds differently, and predictive mean
        # matching turns a last-digit difference into another donor; the same seed must give
        # the same imputations on any number of cores
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")  # statsmodels' formula and convergence chatter
            md.update_all(iterations)
        filled = data.copy()
        for c in gaps:  # predictive mean matching imputes observed values: 0/1 stay 0/1
            values = md.data[names[c]].to_numpy()
            boolean = pd.api.types.is_bool_dtype(frame[c])
            filled[c] = filled[c].astype(bool) if boolean else filled[c].astype(float)
            filled.loc[frame.index, c] = values > 0.5 if boolean else values
        completed.append(filled)
    import statsmodels

    settings = {
        "engine": (f"chained equations, statsmodels {statsmodels.__version__} MICEData, "
                   f"predictive mean matching ({donors} donors) with Gaussian parameter draws, "
                   f"{iterations} iterations per chain, one chain per imputation"),
        "seed": entropy, "iterations": iterations, "donors": donors,
        "predictors": [treatment, *outcomes, *covs], "imputed_columns": gaps,
    }
    return _build(completed, frame, gaps, t, cohort_args, settings)


def pmm_donors(predicted_observed: np.ndarray, predicted_missing: np.ndarray, donors: int,
               rng: np.random.Generator) -> np.ndarray:
    """Predictive mean matching: the observed row that donates each missing value.

    For each missing row the ``donors`` observed rows whose predicted values are
    nearest to its own are found and one is drawn at random. Predictions are put
    on a grid of 1e-8 of their largest magnitude and ties are broken by row order
    (stable sorts), so a last-digit difference in the linear algebra (another
    processor, another BLAS kernel) does not change the donor; the same seed then
    gives the same imputations on any machine.

    Parameters
    ----------
    predicted_observed, predicted_missing : numpy.ndarray
        The imputation model's predictions for the rows with the value observed and
        for the rows where it is missing.
    donors : int
        How many nearest observed rows each missing value is drawn from.
    rng : numpy.random.Generator
        The chain's random stream (one integer draw per missing row).

    Returns
    -------
    numpy.ndarray
        Positions in ``predicted_observed`` of the donors, one per missing row.

    Examples
    --------
    >>> import numpy as np
    >>> obs = np.array([0.0, 1.0, 1.0, 5.0])
    >>> pmm_donors(obs, np.array([0.9, 4.0]), 1, np.random.default_rng(0)).tolist()
    [1, 3]
    """
    po = np.asarray(predicted_observed, dtype=float).ravel()
    pm = np.asarray(predicted_missing, dtype=float).ravel()
    scale = max(float(np.max(np.abs(po), initial=0.0)), float(np.max(np.abs(pm), initial=0.0)))
    grid = scale * 1e-8 if scale > 0 else 1.0
    po, pm = np.round(po / grid), np.round(pm / grid)
    order = np.argsort(po, kind="stable")
    ranked = po[order]
    k = max(1, min(donors, len(ranked)))
    window = np.searchsorted(ranked, pm)[:, None] + np.arange(-k, k)[None, :]
    outside = (window < 0) | (window >= len(ranked))
    window = np.clip(window, 0, len(ranked) - 1)
    distance = np.abs(pm[:, None] - ranked[window])
    distance[outside] = np.inf
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(pm))
    pick = nearest[rows, rng.integers(0, k, len(pm))]
    return order[window[rows, pick]]


def _stable_mice_data(base: Any) -> Any:
    """Return statsmodels' MICEData with :func:`pmm_donors` as its predictive mean matching."""

    class StableMICEData(base):  # type: ignore[misc, valid-type]
        def impute_pmm(self, vname: str) -> None:
            endog_obs, exog_obs, exog_miss, kw_obs, kw_miss = self.get_split_data(vname)
            model, params = self.models[vname], self.params[vname]
            po = self._get_predicted(model.predict(params, exog_obs, **kw_obs))
            pm = self._get_predicted(model.predict(params, exog_miss, **kw_miss))
            donor = pmm_donors(po, pm, self.k_pmm, self.rng)
            self._store_changes(vname, np.asarray(endog_obs)[donor].squeeze())

    return StableMICEData


def _build(completed: Sequence[pd.DataFrame], frame: pd.DataFrame, gaps: Sequence[str],
           t: np.ndarray, cohort_args: Mapping[str, Any],
           settings: Mapping[str, Any]) -> ImputedCohorts:
    """Cohorts from completed frames; counts of imputed values by covariate and group."""
    cohorts = [Cohort(f, **cohort_args) for f in completed]
    counts = []
    for c in gaps:
        miss = frame[c].isna().to_numpy()
        counts.append({"covariate": c, "n_imputed_treated": int((miss & t).sum()),
                       "n_imputed_comparison": int((miss & ~t).sum()),
                       "n_imputed": int(miss.sum()), "share_imputed": float(miss.mean()),
                       "n_rows": int(len(frame))})
    return ImputedCohorts(cohorts, pd.DataFrame(counts, columns=[
        "covariate", "n_imputed_treated", "n_imputed_comparison", "n_imputed", "share_imputed",
        "n_rows"]), settings)


def from_completed(completed: Sequence[pd.DataFrame], data: pd.DataFrame, *, treatment: str,
                   outcome: str | Sequence[str], covariates: Sequence[str],
                   missing: str = "error", engine: str = "imported",
                   **roles: Any) -> ImputedCohorts:
    """Import data sets completed elsewhere (e.g. R ``mice::complete(imp, "all")``).

    Parameters
    ----------
    completed : sequence of pandas.DataFrame
        The completed data sets (at least 2), rows in the order of ``data``.
    data : pandas.DataFrame
        The data with its gaps: the imputed values are counted from it, and
        every value it has must be unchanged in each completed data set.
    treatment, outcome, covariates : str, str or list of str, list of str
        The roles, as for :class:`~pbr_eval.cohort.Cohort`.
    missing : {"error", "drop"}, default "error"
        Rows with a missing treatment or outcome, as for :func:`impute`.
    engine : str, default "imported"
        How the imputations were made, in words (shown in results and reports).
    **roles
        Other :class:`Cohort` keywords.

    Returns
    -------
    ImputedCohorts

    Raises
    ------
    OptionError
        Fewer than 2 data sets, a data set of another length, or an observed
        value changed in a completed data set (the imports do not belong to ``data``).
    MissingColumnError
        A covariate missing from a completed data set.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> data = pbr_eval.add_missing(sim.data, ["age"], share=0.1, seed=1)
    >>> made = pbr_eval.impute(data, m=2, seed=3, iterations=2, **sim.cohort_args)
    >>> frames = [c.data for c in made.cohorts]
    >>> again = from_completed(frames, data, **sim.cohort_args)
    >>> again.m, int(again.imputed["n_imputed"].iloc[0]) == int(data["age"].isna().sum())
    (2, True)
    """
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    covs = list(covariates)
    _check_frame(data, treatment, outcomes, covs, roles)
    frames = list(completed)
    if len(frames) < 2:
        raise OptionError(f"`completed` must hold at least 2 data sets; got {len(frames)}.")
    missing = check_choice("missing", missing, ("error", "drop"))
    for j, f in enumerate(frames, start=1):
        _check_completed(j, f, data, covs)
    fixed = [treatment, *outcomes, *(roles[k] for k in ("unit_id", "cluster")
                                     if roles.get(k) is not None)]
    frame = data.loc[~data[fixed].isna().any(axis=1).to_numpy()]
    gaps = [c for c in covs if frame[c].isna().any()]
    t = frame[treatment].isin([1, True]).to_numpy()
    merged = []
    for f in frames:  # role columns from `data`, covariates from the completed set
        g = data.copy()
        for c in gaps:
            g[c] = f[c].to_numpy()
        merged.append(g)
    cohort_args = {"treatment": treatment, "outcome": outcomes, "covariates": covs,
                   "missing": missing, **roles}
    return _build(merged, frame, gaps, t, cohort_args,
                  {"engine": str(engine), "imputed_columns": gaps})


def _check_completed(j: int, f: Any, data: pd.DataFrame, covs: Sequence[str]) -> None:
    """Refuse a completed data set without ``data``'s rows or with a changed observed value."""
    if not isinstance(f, pd.DataFrame) or len(f) != len(data):
        got = f"{len(f):,} rows" if isinstance(f, pd.DataFrame) else type(f).__name__
        raise OptionError(f"Completed data set {j} must be a DataFrame of {len(data):,} rows, "
                          f"in the order of `data`; got {got}.")
    absent = [c for c in covs if c not in f.columns]
    if absent:
        raise MissingColumnError(missing_columns_message(
            absent, list(f.columns), f"completed data set {j}", roles={"covariates": list(covs)}))
    for c in covs:
        seen = data[c].notna().to_numpy()
        a, b = data[c].to_numpy()[seen], f[c].to_numpy()[seen]
        if pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            same = np.isclose(a.astype(float), b.astype(float), rtol=1e-12, atol=0)
        else:
            same = a == b
        if not np.all(same):
            raise OptionError(
                f"Completed data set {j} changes {int((~same).sum()):,} observed values of "
                f"'{c}'; a completed data set must keep every value `data` has. Check that its "
                "rows are in the order of `data`."
            )


def _imputation_frame(frame: pd.DataFrame, treatment: str, outcomes: list[str],
                      covs: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric frame for MICEData with formula-safe names; text covariates as indicators."""
    cols: dict[str, Any] = {}
    names: dict[str, str] = {}
    for k, c in enumerate([treatment, *outcomes, *covs]):
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            names[c] = f"v{k}"
            cols[names[c]] = s.astype(float).to_numpy()
        else:
            dummies = pd.get_dummies(s.astype(str), drop_first=True, dtype=float)
            for i, d in enumerate(dummies.columns):
                cols[f"v{k}_{i}"] = dummies[d].to_numpy()
    return pd.DataFrame(cols), names


def add_missing(data: pd.DataFrame, columns: Sequence[str], *, share: float = 0.2,
                seed: int | None = None, depends_on: Sequence[str] | None = None,
                strength: float = 1.0) -> pd.DataFrame:
    r"""Make some values missing at random (MAR), for checking imputation on data with a known answer.

    Each column in ``columns`` loses about ``share`` of its values; whether a
    value goes missing depends on observed columns only (missing at random):
    :math:`P(\text{missing}) = \text{logit}^{-1}(a + s z)` with :math:`z` the
    standardised sum of the standardised ``depends_on`` columns and :math:`a`
    chosen so the expected share is ``share``.

    Parameters
    ----------
    data : pandas.DataFrame
        Never modified.
    columns : sequence of str
        Columns to make gaps in.
    share : float, default 0.2
        Expected share missing in each column (between 0 and 1).
    seed : int, optional
        Seed of the draws.
    depends_on : sequence of str, optional
        Numeric columns (never made missing) that drive the chance of a gap.
        Default none: every value has the same chance (missing completely at random).
    strength : float, default 1.0
        Log-odds change in the chance of a gap per standard deviation of the driver.

    Returns
    -------
    pandas.DataFrame
        A copy with gaps.

    Raises
    ------
    OptionError
        ``share`` not strictly between 0 and 1, or ``depends_on`` overlapping ``columns``.
    MissingColumnError
        A named column is not in ``data``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> d = pbr_eval.add_missing(load_reoffending().data, ["age"], share=0.2, seed=1,
    ...                          depends_on=["reoffended", "treated"])
    >>> round(float(d["age"].isna().mean()), 2)
    0.2
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    cols = list(columns)
    if not (isinstance(share, (int, float)) and 0 < share < 1):
        raise OptionError(f"`share` must be a number between 0 and 1; got {share!r}.")
    drivers = list(depends_on) if depends_on is not None else []
    absent = [c for c in [*cols, *drivers] if c not in data.columns]
    if absent:
        raise MissingColumnError(missing_columns_message(
            absent, list(data.columns), "the data", roles={"columns": cols,
                                                           "depends_on": drivers}))
    if set(drivers) & set(cols):
        raise OptionError("`depends_on` must not name a column in `columns` (the gaps must "
                          "depend on observed values only).")
    rng = np.random.default_rng(seed)
    z = np.zeros(len(data))
    for c in drivers:
        x = data[c].astype(float).to_numpy()
        sd = x.std()
        z += (x - x.mean()) / sd if sd > 0 else 0.0
    if z.std() > 0:
        z = (z - z.mean()) / z.std()
    out = data.copy()
    for c in cols:
        lin = strength * z
        a = brentq(lambda a, lin=lin: float(expit(a + lin).mean()) - share, -50, 50) \
            if drivers else float(np.log(share / (1 - share)))
        gone = rng.random(len(data)) < expit(a + lin)
        out[c] = out[c].astype(float) if pd.api.types.is_integer_dtype(out[c]) else out[c]
        out.loc[gone, c] = np.nan
    return out
