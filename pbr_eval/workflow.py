r"""The design-first workflow behind :func:`pbr_eval.evaluate`.

Which method a user runs decides whether the answer is right, so the default
does what the literature recommends before looking at outcomes, runs a small
panel of estimators that rest on different models, and says when the answer
is fragile:

1. **Assess overlap** (Imbens & Rubin 2015, ch. 14): fit a main-effects
   logistic propensity score; for each programme participant count the
   comparison people within a caliper of 0.2 standard deviations of the
   logit of the score (Austin 2011); the share with none, and with fewer
   than ``k``; Kish's effective number of comparison people under the ATT
   odds weights; the score distributions by group; what the usual trimming
   rule (scores outside [0.1, 0.9], Crump, Hotz, Imbens & Mitnik 2009)
   would drop. Trimming changes the estimand to "the participants who have
   comparable non-participants", which is not the cohort a commissioner
   pays for, so the default does not trim; it says how many people the
   rule would drop instead. Test the propensity model's specification: a
   likelihood-ratio test against the model with squares of the non-binary
   covariates and products of all pairs added (the second-order terms
   Imbens & Rubin 2015, ch. 13, and Dehejia & Wahba 1999 add when the data
   support them), at the 5% level.
2. **Headline**: nearest-neighbour matching on the propensity score *with
   replacement*, ``k`` comparison people per participant (``k`` = the
   pool-to-cohort ratio rounded, between 1 and 4), and regression
   adjustment in the matched sample (Stuart 2010; Abadie & Imbens 2011's
   bias correction; Austin 2011). With replacement every participant gets
   its closest comparison people however thin the pool (1:1 matching
   without replacement runs out of good matches and was the worst method on
   the NSW benchmarks); regression adjustment removes what the matching
   leaves, so the estimate is right when either the matching or the
   outcome model is; it does not rely on extreme weights, which is where
   weighting estimators break down when models are wrong (Kang & Schafer
   2007). If it cannot be computed the next panel member that can is the
   headline (order: doubly robust, entropy balancing, regression).
3. **Panel**: doubly robust AIPW (both models), entropy balancing
   (Hainmueller 2012), inverse probability weighting (propensity model only)
   and outcome regression (outcome model only). When the design is sound
   they estimate the same quantity and agree; when one model is wrong the
   estimators relying on it move (Kang & Schafer 2007).
4. **Fragility warnings** (:class:`~pbr_eval.results.evaluation.FragilityFlag`,
   raised as the warning classes in :mod:`pbr_eval.exceptions`): more than
   5% of participants with no comparable comparison person; an effective
   number of comparison people below 30 or a quarter of the cohort; a check
   that uses an outcome model (doubly robust, entropy balancing, outcome
   regression) more than ``disagreement`` (0.4) headline standard errors from
   the headline, any check more than 2 headline standard errors from it, or a
   check failing; one comparison person carrying more than 10% of
   a weighting estimator's weight (for entropy balancing its weights are its
   diagnostics, since its balance is exact by construction); an estimate
   describing fewer participants than the cohort (caliper, CEM, discard); a
   propensity model that the specification test rejects (matching and
   weighting on it may leave the groups unlike each other on the omitted
   terms, so the headline leans on its regression adjustment).

The thresholds are stated here and checked for what they buy in
``docs/validation.md`` (share of missed intervals with no warning, share of
sound estimates warned about).

Why 0.4 and why those three checks. When both models are right the
headline and a check differ only by noise, and the spread of that
difference, not the headline's own standard error, is the joint
uncertainty a disagreement should be judged against. In the
misspecification designs of ``docs/validation.md`` the difference between
the headline and the doubly robust, entropy balancing or regression check
has a spread of 0.40-0.55 headline standard errors, so 0.4 is a little
under one standard error of the difference: a screening level, not a 5%
test, and it fires by chance on about half of the sound cohorts. Issue 16
asks the default to warn on at least 90% of the intervals that miss the
truth. Where a working model is wrong nearly every miss is caught at any
level up to 1; the rest are the ordinary misses of a sound 95% interval,
and about half of those are missed by every outcome-model check too, on
the same side (the cohort's own outcomes without the programme, which no
data holds, were unusual), so no comparison inside the data tells them
from sound cohorts. Catching 90% of all misses therefore costs warnings
on sound estimates; ``docs/validation.md`` shows the trade-off at each
level. The threshold was first set at 0.5 on one set of simulated cohorts
(92.7% of misses warned there), failed its check on fresh cohorts (88.3%),
was chosen again on all the cohorts seen so far as the largest level
warning on 90% of misses plus two Monte Carlo standard errors
(``benchmarks/warning_calibration.py``), and checked on fresh cohorts
again (``docs/validation.md``). ``evaluate(disagreement=0.5)`` or ``0.6``
trades some misses caught for fewer warnings on sound estimates.
Entropy balancing is doubly robust when
the outcome is linear in the balanced covariates (Zhao & Percival 2017).
Inverse probability weighting has no outcome model; its difference from the
headline is dominated by its own weight noise (a spread of up to 0.78
headline standard errors with weak overlap), so a small distance says
little and it is judged at the wider 2 standard errors that every check
gets.

References
----------
Abadie, A. & Imbens, G. W. (2011). Bias-corrected matching estimators for
average treatment effects. JBES 29(1), 1-11.
Austin, P. C. (2011). Optimal caliper widths for propensity-score matching.
Pharmaceutical Statistics 10(2), 150-161.
Crump, R. K., Hotz, V. J., Imbens, G. W. & Mitnik, O. A. (2009). Dealing with
limited overlap in estimation of average treatment effects. Biometrika 96(1).
Dehejia, R. H. & Wahba, S. (1999). Causal effects in nonexperimental studies:
reevaluating the evaluation of training programs. JASA 94(448), 1053-1062.
Hainmueller, J. (2012). Entropy balancing for causal effects. Political
Analysis 20(1), 25-46.
Imbens, G. W. & Rubin, D. B. (2015). Causal Inference for Statistics, Social,
and Biomedical Sciences. Cambridge University Press.
Kang, J. D. Y. & Schafer, J. L. (2007). Demystifying double robustness.
Statistical Science 22(4), 523-539.
Peduzzi, P., Concato, J., Kemper, E., Holford, T. R. & Feinstein, A. R. (1996).
A simulation study of the number of events per variable in logistic regression
analysis. Journal of Clinical Epidemiology 49(12), 1373-1379.
Stuart, E. A. (2010). Matching methods for causal inference: a review and a
look forward. Statistical Science 25(1), 1-21.
Zhao, Q. & Percival, D. (2017). Entropy balancing is doubly robust. Journal of
Causal Inference 5(1).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval import exceptions as exc
from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import build_estimator
from pbr_eval.exceptions import EstimationError, OptionError, PbrEvalError
from pbr_eval.models.logit import fit_logit
from pbr_eval.models.propensity import fit_propensity
from pbr_eval.options import DEFAULT_LEVEL, check_int, check_level, check_positive
from pbr_eval.results.counterfactual import CounterfactualResults
from pbr_eval.results.evaluation import EvaluationResults, FragilityFlag

__all__ = ["evaluate", "assess_overlap", "propensity_specification", "fragility",
           "panel_specs", "disagreement_limit", "THRESHOLDS", "CLOSE_CHECKS"]

#: The fragility thresholds (see the module docstring).
THRESHOLDS = {
    "caliper_sd": 0.2,          # Austin (2011): 0.2 SD of the logit propensity score
    "no_comparable_share": 0.05,
    "min_ess": 30.0,
    "min_ess_share": 0.25,      # of the number of participants
    "max_weight_share": 0.10,
    "disagreement": 0.4,        # headline standard errors, checks with an outcome model
    "disagreement_any": 2.0,    # headline standard errors, every check
    "crump_alpha": 0.1,
    "specification_p": 0.05,    # the propensity specification test's level
    "events_per_term": 10.0,    # Peduzzi et al. (1996): people in the smaller group per term
}

#: The checks judged at ``disagreement`` (they use an outcome model); the others at
#: ``disagreement_any``.
CLOSE_CHECKS = ("aipw", "entropy", "regression")

def disagreement_limit(method: str, disagreement: float = THRESHOLDS["disagreement"]) -> float:
    """Return how many headline standard errors a check of ``method`` may differ by unwarned.

    Parameters
    ----------
    method : str
        The check's registered method.
    disagreement : float, default ``THRESHOLDS["disagreement"]``
        The limit for the checks with an outcome model (:data:`CLOSE_CHECKS`).

    Returns
    -------
    float
        ``disagreement`` for those checks, ``THRESHOLDS["disagreement_any"]`` for the others.

    Examples
    --------
    >>> disagreement_limit("aipw"), disagreement_limit("ipw"), disagreement_limit("aipw", 0.75)
    (0.4, 2.0, 0.75)
    """
    return disagreement if method in CLOSE_CHECKS else THRESHOLDS["disagreement_any"]


#: Above this many rows the specification test runs on an evenly spaced subsample.
SPECIFICATION_ROWS = 200_000

HEADLINE_RULE = (
    "matching with replacement on the propensity score ({k} comparison people per "
    "participant: the pool-to-cohort ratio, rounded, between 1 and 4) with regression "
    "adjustment in the matched sample (Stuart 2010; Abadie & Imbens 2011), because it gives "
    "every participant its closest comparison people however thin the pool and does not rest "
    "on extreme weights (Kang & Schafer 2007); the other estimators are checks. If it cannot "
    "be computed, the first of the doubly robust, entropy balancing and regression estimators "
    "that can is the headline."
)


def panel_specs(k: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Return the panel, headline first: (label, method, options).

    Parameters
    ----------
    k : int
        Comparison units per participant in the headline's matching with replacement.

    Returns
    -------
    list of tuple of (str, str, dict)
        The panel label, the registered method and its options, headline first.

    Examples
    --------
    >>> [method for _, method, _ in panel_specs(3)]
    ['nearest', 'aipw', 'entropy', 'ipw', 'regression']
    >>> panel_specs(3)[0][2]
    {'replace': True, 'ratio': 3, 'adjust': True}
    """
    return [
        (f"matching with replacement 1:{k}, adjusted", "nearest",
         {"replace": True, "ratio": k, "adjust": True}),
        ("doubly robust (AIPW)", "aipw", {}),
        ("entropy balancing", "entropy", {}),
        ("weighting (IPW)", "ipw", {}),
        ("outcome regression", "regression", {}),
    ]


def _ess(w: np.ndarray) -> tuple[float, float]:
    """Kish's effective sample size and the largest share of the total weight."""
    w = w[w > 0]
    if w.size == 0:
        return 0.0, math.nan
    s = float(w.sum())
    return s * s / float((w * w).sum()), float(w.max() / s)


def _second_order(X: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Squares of the non-binary columns and products of all pairs, of standardised columns.

    Terms that are (numerically) linear combinations of the intercept, the main effects and
    the terms kept before them are left out (e.g. products of categories that exclude each
    other), judged by an unpivoted QR decomposition: a column is kept when its distance from
    the span of the columns before it is more than 1e-7 of its own length.
    """
    n, p = X.shape
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    binary = [np.isin(X[:, j], (0.0, 1.0)).all() for j in range(p)]
    pairs = [(j, j) for j in range(p) if not binary[j] and sd[j] > 0]
    pairs += [(j, m) for j in range(p) for m in range(j + 1, p) if sd[j] > 0 and sd[m] > 0]
    if not pairs:
        return np.empty((n, 0)), []
    T = np.column_stack([Z[:, j] * Z[:, m] for j, m in pairs])
    M = np.column_stack([np.ones(n), Z, T])
    r = np.abs(np.diag(np.linalg.qr(M, mode="r")))
    norms = np.linalg.norm(M, axis=0)
    keep = (r[p + 1:] > 1e-7 * np.maximum(norms[p + 1:], 1e-300))
    return T[:, keep], [pr for pr, k in zip(pairs, keep, strict=True) if k]


def propensity_specification(cohort: Cohort) -> dict[str, Any]:
    """Test the main-effects propensity model against one with second-order terms.

    A likelihood-ratio test of the main-effects logistic model against the
    model that adds the squares of the non-binary design columns and the
    products of all pairs (the second-order terms Imbens & Rubin 2015, ch.
    13, and Dehejia & Wahba 1999 add to a propensity model when the data
    support them). A small p-value says the main-effects score misses how
    programme entry depends on the covariates, so matching and weighting on
    it may leave the groups unlike each other on the omitted terms.

    Not run (``available`` False, with ``reason``) when the larger model would
    have fewer than 10 people of the smaller group per coefficient (Peduzzi et
    al. 1996; squares alone are tried first) or cannot be fitted (e.g.
    separation). Above 200,000 rows both models are fitted on an evenly spaced
    subsample (``n_rows`` says how many rows were used).

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    dict
        ``available``, ``reason`` (when not run), ``statistic`` (twice the
        log-likelihood gain), ``df`` (terms added), ``p_value``, ``terms``
        ("squares and pairwise products" or "squares"), ``n_rows``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets._designs import simulate_design
    >>> sim = simulate_design("wrong_propensity", n_treated=300, seed=1)
    >>> spec = propensity_specification(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> spec["available"], spec["df"], spec["p_value"] < 0.05
    (True, 10, True)
    """
    X, t = cohort.X, cohort.t
    n = X.shape[0]
    rows = (np.unique(np.linspace(0, n - 1, SPECIFICATION_ROWS).round().astype(np.int64))
            if n > SPECIFICATION_ROWS else np.arange(n))
    X, t = X[rows], t[rows]
    out: dict[str, Any] = {"available": False, "n_rows": int(rows.size)}
    T, pairs = _second_order(X)
    budget = min(int(t.sum()), int((~t).sum())) / THRESHOLDS["events_per_term"]
    label = "squares and pairwise products"
    if 1 + X.shape[1] + T.shape[1] > budget:
        sq = [i for i, (j, m) in enumerate(pairs) if j == m]
        T, label = T[:, sq], "squares"
    if T.shape[1] == 0:
        out["reason"] = "no second-order term can be added (binary or constant covariates only)"
        return out
    if 1 + X.shape[1] + T.shape[1] > budget:
        out["reason"] = (f"too few people for a model with {1 + X.shape[1] + T.shape[1]} "
                         "coefficients (10 of the smaller group per coefficient, Peduzzi et "
                         "al. 1996)")
        return out
    y = t.astype(float)
    try:
        small = fit_logit(X, y, ignorable=~t)
        big = fit_logit(np.column_stack([X, T]), y, ignorable=~t)
    except (PbrEvalError, np.linalg.LinAlgError) as err:
        out["reason"] = f"the model with {label} could not be fitted ({err})"
        return out
    from scipy.stats import chi2

    stat = max(0.0, 2.0 * (big.loglik - small.loglik))
    out.update({"available": True, "statistic": stat, "df": int(T.shape[1]),
                "p_value": float(chi2.sf(stat, T.shape[1])), "terms": label})
    return out


def assess_overlap(cohort: Cohort, *, k: int = 1) -> dict[str, Any]:
    """Overlap of the programme cohort and the comparison pool (aggregates only).

    Parameters
    ----------
    cohort : Cohort
    k : int, default 1
        "Few" comparable comparison people means fewer than ``k``.

    Returns
    -------
    dict
        ``available`` (False with ``reason`` when the propensity model cannot
        be fitted, e.g. separation), ``n_treated``, ``n_comparison``,
        ``caliper`` (0.2 SD of the logit score), ``share_no_comparable``,
        ``share_few_comparable``, ``few``, ``ess_comparison`` and
        ``max_weight_share`` (ATT odds weights), ``ps_treated`` /
        ``ps_comparison`` (min, 5%, 25%, median, 75%, 95%, max of the score),
        ``crump_treated`` / ``crump_comparison`` (people outside [0.1, 0.9]),
        ``high_treated`` (participants with scores above 0.9: the ones the
        rule would drop for lack of comparable non-participants; a low score
        is no problem for an estimate about the participants),
        ``specification`` (:func:`propensity_specification`).

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> ov = assess_overlap(pbr_eval.Cohort(sim.data, **sim.cohort_args), k=2)
    >>> ov["available"], ov["n_treated"], 0 <= ov["share_no_comparable"] <= 1
    (True, 600, True)
    """
    t = cohort.t
    out: dict[str, Any] = {"available": False, "n_treated": int(t.sum()),
                           "n_comparison": int((~t).sum()), "few": int(k)}
    try:
        ps = fit_propensity(cohort, None, estimand="ATT").ps
    except PbrEvalError as err:
        out["reason"] = f"the propensity model could not be fitted: {err}"
        return out
    ps = np.clip(ps, 1e-15, 1 - 1e-15)
    lps = np.log(ps / (1 - ps))
    cal = THRESHOLDS["caliper_sd"] * float(np.std(lps, ddof=1))
    pool = np.sort(lps[~t])
    lt = lps[t]
    n_close = np.searchsorted(pool, lt + cal, side="right") - np.searchsorted(pool, lt - cal,
                                                                               side="left")
    odds = ps[~t] / (1 - ps[~t])
    ess, top = _ess(odds)
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
    a = THRESHOLDS["crump_alpha"]
    out.update({
        "available": True, "caliper": cal,
        "share_no_comparable": float(np.mean(n_close == 0)),
        "share_few_comparable": float(np.mean(n_close < k)),
        "ess_comparison": ess, "max_weight_share": top,
        "ps_treated": [float(v) for v in np.quantile(ps[t], qs)],
        "ps_comparison": [float(v) for v in np.quantile(ps[~t], qs)],
        "crump_treated": int(((ps[t] < a) | (ps[t] > 1 - a)).sum()),
        "crump_comparison": int(((ps[~t] < a) | (ps[~t] > 1 - a)).sum()),
        "high_treated": int((ps[t] > 1 - a).sum()),
        "specification": propensity_specification(cohort),
    })
    return out


def fragility(results: CounterfactualResults, cohort: Cohort, *, label: str | None = None,
              weighting: bool | None = None) -> list[FragilityFlag]:
    """Return the fragility flags one estimate raises on its own (no panel needed).

    Checks: the estimate describes fewer participants than the cohort
    (``cohort_changed``: treated units with weight 0, e.g. a caliper, CEM
    or a discard rule); a small effective number of comparison people
    (``small_ess``); one comparison person carrying more than 10% of a
    weighting estimator's weight (``extreme_weights``).

    Parameters
    ----------
    results : CounterfactualResults
        Fitted results (with ``weights``).
    cohort : Cohort
        The cohort they were fitted on.
    label : str, optional
        How to name the estimate (default: its method).
    weighting : bool, optional
        Check extreme weights (default: for the weighting and doubly robust
        families and entropy balancing).

    Returns
    -------
    list of FragilityFlag

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest", caliper=0.05)
    >>> [f.code for f in fragility(res, cohort)]
    ['cohort_changed']
    """
    label = label or results.method
    if results.weights is None:
        return []
    w = results.weights.to_numpy(dtype=float)
    t = cohort.t
    flags: list[FragilityFlag] = []
    n1 = int(t.sum())
    kept = int((w[t] > 0).sum())
    if kept < n1:
        flags.append(FragilityFlag(
            "cohort_changed",
            f"{label} describes {kept:,} of the {n1:,} participants ({kept / n1:.0%}): the "
            "others were left out (caliper, coarsened exact matching or a discard rule), so "
            "the number is not the cohort's non-intervention rate.", label))
    ess, top = _ess(w[~t])
    floor = max(THRESHOLDS["min_ess"], THRESHOLDS["min_ess_share"] * kept)
    if ess < floor:
        flags.append(FragilityFlag(
            "small_ess",
            f"{label} rests on an effective {ess:.1f} comparison people for {kept:,} "
            f"participants (below {floor:.0f}): a few people carry the estimate.", label))
    if weighting is None:
        from pbr_eval.estimators.base import ESTIMATORS

        cls = ESTIMATORS.get(results.method)
        weighting = cls is not None and (cls.family in ("weighting", "doubly_robust")
                                         or results.method == "entropy")
    if weighting and math.isfinite(top) and top > THRESHOLDS["max_weight_share"]:
        flags.append(FragilityFlag(
            "extreme_weights",
            f"{label}: one comparison person carries {top:.0%} of the comparison weight "
            f"(effective number of comparison people {ess:.1f}); its balance checks cannot "
            "show this, its weights do.", label))
    return flags


def _row(label: str, role: str, res: CounterfactualResults | None, cohort: Cohort,
         error: str = "") -> list[dict[str, Any]]:
    if res is None:
        return [{"estimator": label, "role": role, "outcome": o,
                 "outcome_type": cohort.outcome_types[o], "error": error}
                for o in cohort.outcomes]
    w = res.weights.to_numpy(dtype=float) if res.weights is not None else np.zeros(0)
    ess, top = _ess(w[~cohort.t]) if w.size else (math.nan, math.nan)
    rows = []
    for _, r in res.to_frame().iterrows():
        rows.append({"estimator": label, "role": role, "outcome": r["outcome"],
                     "outcome_type": r["outcome_type"],
                     "non_intervention": r["non_intervention"],
                     "non_intervention_ci_lower": r["non_intervention_ci_lower"],
                     "non_intervention_ci_upper": r["non_intervention_ci_upper"],
                     "non_intervention_se": r["non_intervention_se"], "effect": r["effect"],
                     "ess_comparison": ess, "max_weight_share": top, "error": ""})
    return rows


def evaluate(cohort: Cohort, *, ratio: int | None = None,
             disagreement: float = THRESHOLDS["disagreement"], level: float = DEFAULT_LEVEL,
             warn: bool = True) -> EvaluationResults:
    """Design-first evaluation: overlap, a stated headline, a panel of checks, warnings.

    Parameters
    ----------
    cohort : Cohort
    ratio : int, optional
        Comparison people per participant for the headline matching
        (default: the pool-to-cohort ratio rounded, between 1 and 4).
    disagreement : float, default 0.4
        A check that uses an outcome model (doubly robust, entropy balancing,
        outcome regression) further than this many headline standard errors
        from the headline raises a
        :class:`~pbr_eval.exceptions.DisagreementWarning`; any check further
        than ``THRESHOLDS["disagreement_any"]`` (2) does too. 0.4 is a little
        under one standard error of the difference between the headline and
        such a check when both models are right (see the module docstring).
    level : float, default 0.95
    warn : bool, default True
        Also raise each fragility flag as a Python warning (its class in
        :mod:`pbr_eval.exceptions`); the flags are in the results either way.

    Returns
    -------
    EvaluationResults

    Raises
    ------
    EstimationError
        When no estimator of the panel can be computed.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> ev = pbr_eval.evaluate(pbr_eval.Cohort(sim.data, **sim.cohort_args), warn=False)
    >>> ev.headline
    'matching with replacement 1:4, adjusted'
    >>> list(ev.panel_frame()["estimator"].unique())[1:]
    ['doubly robust (AIPW)', 'entropy balancing', 'weighting (IPW)', 'outcome regression']
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Build one with "
            "pbr_eval.Cohort(data, treatment=..., outcome=..., covariates=...).")
    if cohort.is_panel:
        raise OptionError("`evaluate` compares people at one time; this cohort has periods. "
                          "Use cohort.at_period(...) or pbr_eval.estimate(method='did').")
    if not cohort.outcomes:
        names = ", ".join(f"'{n}'" for n in cohort.time_to_event)
        raise OptionError(
            "`evaluate` estimates the non-intervention rate or mean of `outcome` columns; this "
            f"cohort has time-to-event outcomes only ({names}). Use "
            "pbr_eval.estimate_survival(cohort, method='ipw') (or 'nearest', 'cox', 'aipw') for "
            "the non-intervention curve, the probability by the window and the mean time free "
            "of the outcome, or give a yes/no `outcome` column as well.")
    level = check_level(level)
    disagreement = check_positive("disagreement", disagreement)
    n1, n0 = cohort.n_treated, cohort.n_comparison
    k = (min(4, max(1, int(round(n0 / n1)))) if ratio is None
         else check_int("ratio", ratio, minimum=1))
    overlap = assess_overlap(cohort, k=k)
    fits: list[tuple[str, str, CounterfactualResults | None, str, list[str]]] = []
    for label, method, options in panel_specs(k):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = build_estimator(method, options).fit(cohort)
                err = ""
            except PbrEvalError as e:
                res, err = None, f"{type(e).__name__}: {e}"
        fits.append((label, method, res, err,
                     [str(c.message) for c in caught if issubclass(c.category, Warning)]))
    ok = [f for f in fits if f[2] is not None]
    if not ok:
        raise EstimationError(
            "No estimator of the design-first panel could be computed: "
            + "; ".join(f"{lab}: {err}" for lab, _, _, err, _ in fits))
    head_label, head = ok[0][0], ok[0][2]
    if head is None:  # pragma: no cover - ok holds fitted results only
        raise EstimationError("the headline estimator returned no results")
    rows: list[dict[str, Any]] = []
    for label, _, res, err, _ in fits:
        rows += _row(label, "headline" if label == head_label else "check", res, cohort, err)
    panel = pd.DataFrame(rows)
    hf = head.to_frame(level).set_index("outcome")
    panel["distance"] = [
        abs(r["non_intervention"] - hf.loc[r["outcome"], "non_intervention"])
        / hf.loc[r["outcome"], "non_intervention_se"]
        if not r.get("error") and hf.loc[r["outcome"], "non_intervention_se"] > 0 else math.nan
        for _, r in panel.iterrows()]
    flags = _flags(cohort, overlap, fits, head_label, panel, disagreement)
    if warn:
        for f in flags:
            warnings.warn(f.message, getattr(exc, f.warning), stacklevel=3)
    info = dict(head.info)
    info["evaluation"] = {"ratio": k, "disagreement": disagreement, "thresholds": THRESHOLDS,
                          "panel_warnings": {lab: msgs for lab, _, _, _, msgs in fits if msgs}}
    return EvaluationResults(
        headline=head_label, rule=HEADLINE_RULE.format(k=k), panel=panel, overlap=overlap,
        flags=flags, method=head.method, estimand=head.estimand, estimates=head.estimates,
        weights=head.weights, balance=head.balance, info=info, level=level,
        extras=dict(head.extras))


def _flags(cohort: Cohort, overlap: dict[str, Any], fits: list[Any], head_label: str,
           panel: pd.DataFrame, disagreement: float) -> list[FragilityFlag]:
    flags: list[FragilityFlag] = []
    if overlap.get("available"):
        share = overlap["share_no_comparable"]
        if share > THRESHOLDS["no_comparable_share"]:
            flags.append(FragilityFlag(
                "no_comparables",
                f"{share:.0%} of participants have no comparison person with a similar "
                f"propensity score (within {overlap['caliper']:.2f} on the logit scale, 0.2 SD): "
                "their non-intervention outcomes are extrapolated."))
    else:
        flags.append(FragilityFlag(
            "no_comparables",
            f"Overlap could not be assessed ({overlap.get('reason')}); separation means some "
            "participants have no comparable comparison person."))
    spec = overlap.get("specification") or {}
    if spec.get("available") and spec["p_value"] < THRESHOLDS["specification_p"]:
        flags.append(FragilityFlag(
            "propensity_misspecified",
            f"The main-effects propensity model misses how programme entry depends on the "
            f"covariates: adding {spec['terms']} ({spec['df']} terms) improves its fit beyond "
            f"chance (likelihood-ratio test, p = {spec['p_value']:.2g}). Matching and weighting "
            "on it may leave the groups unlike each other on those terms, so the headline "
            "leans on its regression adjustment (and the doubly robust check on its outcome "
            "model) being right."))
    for label, _method, res, err, _ in fits:
        if res is None:
            flags.append(FragilityFlag("failed", f"{label} could not be computed ({err}).",
                                       label))
            continue
        for f in fragility(res, cohort, label=label):
            if label == head_label or f.code == "extreme_weights":
                flags.append(f)
    method = {label: m for label, m, *_ in fits}
    checks = panel[(panel["role"] == "check") & panel["distance"].notna()]
    wide = THRESHOLDS["disagreement_any"]
    for outcome, g in checks.groupby("outcome", sort=False):
        limit = [disagreement_limit(method[e], disagreement) for e in g["estimator"]]
        far = g[g["distance"].to_numpy() > np.asarray(limit, dtype=float)]
        if len(far):
            names = ", ".join(f"{r['estimator']} ({r['distance']:.2f} SE)"
                              for _, r in far.iterrows())
            flags.append(FragilityFlag(
                "disagreement",
                f"'{outcome}': {names} differ from the headline by more than {disagreement:g} "
                f"of its standard errors (the checks with an outcome model; any check by more "
                f"than {wide:g}). A gap this size can arise by chance when both models are "
                "right, and arises in nearly every analysis where a model is wrong: the headline "
                "may be off, so read it beside the panel, and trust it less the further the "
                "checks are.", outcome=str(outcome)))
    return flags
