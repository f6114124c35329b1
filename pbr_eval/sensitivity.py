r"""Sensitivity to hidden bias: how far it could move the answer.

Rosenbaum bounds, E-values, tipping points and placebo checks.

A matched or weighted comparison removes differences in what was measured.
A commissioner paying on the result also needs to know how large an
*unmeasured* difference between programme and comparison group would have to
be to overturn it. This module answers that four ways:

* :func:`rosenbaum_bounds`: for 1:1 matched pairs, the largest odds
  :math:`\Gamma` of programme entry between two matched people that leaves
  the conclusion standing (McNemar-type bound for rates, Wilcoxon signed-rank
  bound for counts and measurements).
* :func:`e_values`: the E-value of VanderWeele and Ding (2017) for the ratio
  of the observed to the non-intervention rate and for its confidence limit.
* :func:`tipping_point`: how far the non-intervention rate itself would have
  to move for the programme to show no additional outcomes.
* :func:`placebo_outcome` and :func:`placebo_split`: re-estimation where the
  true effect is zero (a pre-programme outcome; comparison-only splits),
  flagging a non-null result.

References
----------
Rosenbaum, P. R. (2002). Observational Studies, 2nd ed. Springer. Chapter 4.
Rosenbaum, P. R. (2010). Design of Observational Studies. Springer. Chapter 3.
VanderWeele, T. J. & Ding, P. (2017). Sensitivity analysis in observational
research: introducing the E-value. Annals of Internal Medicine 167(4), 268-274.
Imbens, G. W. & Rubin, D. B. (2015). Causal Inference for Statistics, Social,
and Biomedical Sciences. Cambridge University Press. Chapter 21 (pseudo-outcomes).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.options import BETTER, DEFAULT_LEVEL, check_choice, check_int, check_level
from pbr_eval.results.counterfactual import CounterfactualResults
from pbr_eval.results.sensitivity import EValues, PlaceboResults, RosenbaumBounds, TippingPoint

__all__ = [
    "mcnemar_bound",
    "wilcoxon_bound",
    "critical_gamma",
    "e_value",
    "RosenbaumBounds",
    "rosenbaum_bounds",
    "EValues",
    "e_values",
    "TippingPoint",
    "tipping_point",
    "PlaceboResults",
    "placebo_outcome",
    "placebo_split",
    "parallel_trends",
]

_GAMMA_MAX = 1e6


# --------------------------------------------------------------------------- pure functions
def mcnemar_bound(t: int, d: int, gamma: float) -> float:
    r"""Upper bound on the one-sided p-value of McNemar's test under hidden bias ``gamma``.

    Parameters
    ----------
    t : int
        Discordant pairs in the direction of the claimed effect (e.g. pairs
        where the comparison person reoffended and the programme person did not).
    d : int
        All discordant pairs (exactly one of the two had the outcome).
    gamma : float
        :math:`\Gamma \ge 1`, the largest odds ratio of programme entry
        between two people in a matched pair.

    Returns
    -------
    float

    Notes
    -----
    Under no effect and bias at most :math:`\Gamma`, ``t`` is stochastically
    smaller than :math:`\mathrm{Binomial}(d, \Gamma/(1+\Gamma))`, so
    :math:`P(\mathrm{Bin}(d, \Gamma/(1+\Gamma)) \ge t)` bounds the p-value
    (Rosenbaum 2002, section 4.3.2). Exact, from the binomial distribution.

    Examples
    --------
    Hammond's smoking study (Rosenbaum 2002, 4.3.2): 122 discordant pairs, in
    110 of which the smoker died of lung cancer.

    >>> round(mcnemar_bound(110, 122, 5.0), 3)
    0.023
    """
    if d <= 0:
        return 1.0
    p = gamma / (1.0 + gamma)
    return float(stats.binom.sf(t - 1, d, p))


def wilcoxon_bound(diffs: np.ndarray, gamma: float) -> float:
    r"""Upper bound on the one-sided p-value of Wilcoxon's signed-rank test under bias ``gamma``.

    Parameters
    ----------
    diffs : numpy.ndarray
        Pair differences oriented so that positive values support the
        claimed effect (e.g. comparison minus programme reconvictions).
    gamma : float

    Returns
    -------
    float

    Notes
    -----
    Zero differences are dropped; ranks :math:`q_i` of :math:`|d_i|` are
    averaged over ties. With :math:`T = \sum_{d_i>0} q_i` and
    :math:`p^+ = \Gamma/(1+\Gamma)`, the bounding statistic has mean
    :math:`p^+ \sum q_i` and variance :math:`p^+(1-p^+) \sum q_i^2`; the bound is
    :math:`1 - \Phi((T - \mu)/\sigma)` (Rosenbaum 2002, section 4.3.3, the
    large-sample approximation also used by R's ``rbounds::psens``). At
    :math:`\Gamma = 1` it is the usual normal-approximation Wilcoxon test.

    Examples
    --------
    >>> d = np.array([3.0, 1.0, 4.0, 1.0, 5.0, -2.0, 6.0, 2.0, 5.0, 3.0])
    >>> wilcoxon_bound(d, 1.0) < wilcoxon_bound(d, 2.0)
    True
    """
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    q = stats.rankdata(np.abs(d))
    t = float(q[d > 0].sum())
    p = gamma / (1.0 + gamma)
    mu = p * q.sum()
    sd = math.sqrt(p * (1 - p) * float((q**2).sum()))
    return float(stats.norm.sf((t - mu) / sd))


def critical_gamma(pvalue: Any, level: float = DEFAULT_LEVEL) -> float:
    r"""Return the :math:`\Gamma` at which an upper-bound p-value reaches ``1 - level``.

    Parameters
    ----------
    pvalue : callable
        ``gamma -> upper bound on the p-value``, increasing in ``gamma``.
    level : float

    Returns
    -------
    float
        1.0 if the result is not significant even without hidden bias;
        ``inf`` if it stays significant up to :math:`\Gamma = 10^6`.

    Examples
    --------
    >>> round(critical_gamma(lambda g: mcnemar_bound(110, 122, g)), 2)
    5.47
    """
    alpha = 1.0 - level
    if pvalue(1.0) >= alpha:
        return 1.0
    if pvalue(_GAMMA_MAX) < alpha:
        return math.inf
    root = optimize.brentq(lambda lg: pvalue(math.exp(lg)) - alpha, 0.0, math.log(_GAMMA_MAX),
                           xtol=1e-10)
    return float(math.exp(root))


def e_value(rr: float, lower: float | None = None, upper: float | None = None) -> tuple[float, float]:
    r"""Return E-value of a risk ratio and of the confidence limit nearer 1 (VanderWeele & Ding 2017).

    Parameters
    ----------
    rr : float
        Risk ratio (> 0).
    lower, upper : float, optional
        Its confidence limits.

    Returns
    -------
    (e_point, e_limit) : tuple of float
        ``e_limit`` is NaN when no limits are given, 1 when the interval includes 1.

    Notes
    -----
    For :math:`RR \ge 1`, :math:`E = RR + \sqrt{RR(RR - 1)}`; for
    :math:`RR < 1` apply it to :math:`1/RR`. The E-value is the minimum
    strength of association, on the risk-ratio scale, that an unmeasured
    confounder would need with both programme entry and the outcome to
    explain the ratio away. For the interval, apply the formula to the limit
    nearer 1 (the lower limit when RR > 1, the upper when RR < 1).

    Examples
    --------
    The worked example of VanderWeele & Ding (2017): RR 10.73, 95% CI 8.02 to 14.36.

    >>> [round(v, 2) for v in e_value(10.73, 8.02, 14.36)]
    [20.95, 15.52]
    """
    if not (rr > 0 and math.isfinite(rr)):
        raise OptionError(f"`rr` must be a positive number; got {rr!r}.")

    def ev(r: float) -> float:
        r = 1.0 / r if r < 1 else r
        return r + math.sqrt(r * (r - 1.0))

    point = ev(rr)
    if lower is None and upper is None:
        return point, math.nan
    if rr >= 1:
        if lower is None:
            return point, math.nan
        return point, 1.0 if lower <= 1 else ev(lower)
    if upper is None:
        return point, math.nan
    return point, 1.0 if upper >= 1 else ev(upper)


# --------------------------------------------------------------------------- Rosenbaum bounds
def _pairs(results: CounterfactualResults, cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    sub = results.extras.get("subclass")
    if sub is None:
        raise OptionError(
            "Rosenbaum bounds need 1:1 matched pairs; these results have none "
            f"(method '{results.method}', no extras['subclass']). Use nearest-neighbour matching "
            "without replacement and ratio=1, or e_values() / tipping_point() instead."
        )
    if results.info.get("fingerprint") not in (None, cohort.fingerprint):
        raise OptionError(
            "`cohort` is not the cohort these results were estimated on; pass the same cohort."
        )
    s = np.asarray(sub, dtype=np.int64)
    keep = s >= 0
    counts = np.bincount(s[keep])
    treated_counts = np.bincount(s[keep & cohort.t], minlength=counts.size)
    if (counts[counts > 0] != 2).any() or (treated_counts[counts > 0] != 1).any():
        raise OptionError(
            "Rosenbaum bounds here need 1:1 matched pairs; the matched sets have "
            f"{int(counts.max())} members. Match with ratio=1 for this analysis."
        )
    rows = np.flatnonzero(keep)
    order = np.lexsort((~cohort.t[rows], s[rows]))  # per pair: treated first
    rows = rows[order]
    return rows[0::2], rows[1::2]


def rosenbaum_bounds(
    results: CounterfactualResults,
    cohort: Cohort,
    *,
    gammas: Sequence[float] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0),
    level: float = DEFAULT_LEVEL,
) -> RosenbaumBounds:
    r"""Rosenbaum bounds for matched pairs: how much hidden bias would change the conclusion.

    Parameters
    ----------
    results : CounterfactualResults
        From 1:1 matching without replacement (``extras['subclass']``).
    cohort : Cohort
        The cohort the results came from.
    gammas : sequence of float, default (1, 1.25, 1.5, 2, 2.5, 3)
        Values of :math:`\Gamma \ge 1` to tabulate.
    level : float, default 0.95
        The conclusion holds while the upper bound on the one-sided p-value
        is below ``1 - level``.

    Returns
    -------
    RosenbaumBounds

    Raises
    ------
    OptionError
        No matched pairs, matched sets larger than pairs, a different
        cohort, or a ``gamma`` below 1.

    Notes
    -----
    Each test is one-sided in the direction of the estimated effect. Binary
    outcomes use the McNemar-type bound on discordant pairs
    (:func:`mcnemar_bound`); counts and continuous outcomes the Wilcoxon
    signed-rank bound (:func:`wilcoxon_bound`). The bounds assume the
    matched pairs are fixed (as in Rosenbaum's framework); they test the
    null of no effect, not the size of the non-intervention rate.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> rb = rosenbaum_bounds(NearestNeighborMatching().fit(cohort), cohort)
    >>> list(rb.critical.columns)
    ['outcome', 'test', 'n_pairs', 'direction', 'statistic', 'n_discordant', 'gamma_critical']
    """
    level = check_level(level)
    gam = [float(g) for g in gammas]
    bad = [g for g in gam if not (g >= 1 and math.isfinite(g))]
    if bad or not gam:
        raise OptionError(f"`gammas` must be numbers >= 1; got {list(gammas)!r}.")
    it, ic = _pairs(results, cohort)
    crit_rows, rows = [], []
    pfun: Callable[[float], float]
    for e in results.estimates:
        y = cohort.y(e.outcome)
        direction = "lower" if e.effect < 0 else "higher"
        diff = (y[ic] - y[it]) if direction == "lower" else (y[it] - y[ic])
        if e.outcome_type == "binary":
            t = int((diff > 0).sum())
            d = int((diff != 0).sum())

            pfun = functools.partial(mcnemar_bound, t, d)
            test, stat, n_disc = "McNemar (exact binomial)", float(t), d
        else:
            pfun = functools.partial(wilcoxon_bound, diff)
            nz = diff[diff != 0]
            q = stats.rankdata(np.abs(nz))
            test, stat, n_disc = "Wilcoxon signed-rank (normal approx.)", float(q[nz > 0].sum()), \
                int(nz.size)
        for g in gam:
            p = pfun(g)
            rows.append({"outcome": e.outcome, "gamma": g, "p_upper": p,
                         "conclusion_holds": bool(p < 1 - level)})
        crit_rows.append({
            "outcome": e.outcome, "test": test, "n_pairs": int(it.size),
            "direction": f"programme {direction}", "statistic": stat,
            "n_discordant": n_disc, "gamma_critical": critical_gamma(pfun, level),
        })
    return RosenbaumBounds(
        table=pd.DataFrame(rows), critical=pd.DataFrame(crit_rows), level=level,
        info=MappingProxyType({"method": results.method, "fingerprint": cohort.fingerprint}),
    )


# --------------------------------------------------------------------------- E-values
def _limits(source: Any, level: float) -> pd.DataFrame:
    """Observed, non-intervention and a CI for the ratio observed / non-intervention."""
    from pbr_eval.inference.intervals import percentile_interval
    from pbr_eval.results.bootstrap import BootstrapResults

    if isinstance(source, BootstrapResults):
        f = source.to_frame(level, ci="percentile")
        reps = source.replicates
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = reps[:, :, 0] / reps[:, :, 1]
        lo, hi = percentile_interval(ratio, level)
        f["rr_ci_lower"], f["rr_ci_upper"] = lo, hi
        f["rr_ci_source"] = "bootstrap percentile of observed / non-intervention"
        return f
    if isinstance(source, CounterfactualResults):
        f = source.to_frame(level)
        f["rr_ci_lower"] = f["observed"] / f["non_intervention_ci_upper"]
        f["rr_ci_upper"] = f["observed"] / f["non_intervention_ci_lower"]
        f["rr_ci_source"] = "observed rate fixed, non-intervention interval"
        return f
    raise OptionError(
        "`results` must be CounterfactualResults or BootstrapResults; got "
        f"{type(source).__name__}."
    )


def e_values(results: Any, *, level: float = DEFAULT_LEVEL) -> EValues:
    r"""Return E-values for the ratio of the observed to the non-intervention rate, per outcome.

    Parameters
    ----------
    results : CounterfactualResults or BootstrapResults
    level : float, default 0.95

    Returns
    -------
    EValues
        Its ``to_frame()``: ``outcome, outcome_type, observed,
        non_intervention, rr, rr_ci_lower, rr_ci_upper, e_value, e_value_ci,
        rr_ci_source, note``.

    Notes
    -----
    :math:`RR = \text{observed} / \text{non-intervention}`. From
    CounterfactualResults the interval for RR divides the (fixed) observed
    rate of the cohort by the limits of the non-intervention interval: it
    carries the uncertainty of the non-intervention rate, the quantity being
    priced. From BootstrapResults it is the percentile interval of the
    replicate ratios (both sources of uncertainty). E-values are defined for
    risk ratios; for counts the ratio of mean counts is used (a rate ratio,
    as VanderWeele & Ding allow for rare outcomes); for continuous outcomes
    no E-value is given (``note`` says why).

    References
    ----------
    VanderWeele & Ding (2017).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> res = NearestNeighborMatching().fit(Cohort(sim.data, **sim.cohort_args))
    >>> ev = e_values(res).to_frame()
    >>> bool((ev["e_value"] >= 1).all())
    True
    """
    level = check_level(level)
    f = _limits(results, level)
    out = []
    for _, r in f.iterrows():
        row = {
            "outcome": r["outcome"], "outcome_type": r["outcome_type"],
            "observed": r["observed"], "non_intervention": r["non_intervention"],
            "rr": math.nan, "rr_ci_lower": math.nan, "rr_ci_upper": math.nan,
            "e_value": math.nan, "e_value_ci": math.nan,
            "rr_ci_source": r["rr_ci_source"], "note": "",
        }
        if r["outcome_type"] == "continuous":
            row["note"] = ("no E-value: the outcome is a measurement, not a rate; use "
                           "tipping_point() instead")
        elif not (r["observed"] > 0 and r["non_intervention"] > 0):
            row["note"] = "no E-value: the observed or non-intervention rate is 0"
        else:
            rr = float(r["observed"] / r["non_intervention"])
            lo_raw, hi_raw = float(r["rr_ci_lower"]), float(r["rr_ci_upper"])
            lo = lo_raw if math.isfinite(lo_raw) and lo_raw > 0 else None
            hi = hi_raw if math.isfinite(hi_raw) and hi_raw > 0 else None
            ep, el = e_value(rr, lo, hi)
            row.update({"rr": rr, "rr_ci_lower": lo if lo else math.nan,
                        "rr_ci_upper": hi if hi else math.nan, "e_value": ep, "e_value_ci": el})
        out.append(row)
    return EValues(pd.DataFrame(out), level=level,
                   info={"method": getattr(results, "method", None)})


# --------------------------------------------------------------------------- tipping point
def tipping_point(
    results: Any, *, better: str = "higher", level: float = DEFAULT_LEVEL
) -> TippingPoint:
    r"""How far the non-intervention rate would have to move for no additional outcomes.

    Parameters
    ----------
    results : CounterfactualResults or BootstrapResults
    better : {"higher", "lower"}, default "higher"
        Whether more of the outcome is good (jobs, school attendance) or
        less (reoffending, care entries).
    level : float, default 0.95

    Returns
    -------
    TippingPoint
        Its ``to_frame()``, per outcome: ``observed``, ``non_intervention``, ``additional``
        (additional outcomes per person, in the good direction),
        ``tipping_rate`` (the non-intervention rate at which the programme
        shows none: the observed rate), ``shift_to_null`` (how much higher,
        or lower when ``better="lower"``, the non-intervention rate would
        have to be, in the outcome's units), ``relative_shift`` (that shift
        as a share of the estimated non-intervention rate) and
        ``shift_to_insignificant`` (the shift that would bring the
        ``level`` interval of the effect to touch zero; 0 if it already does).

    Notes
    -----
    Additional outcomes are :math:`r - n` (``better="higher"``) or
    :math:`n - r` (``"lower"``) for observed rate :math:`r` and
    non-intervention rate :math:`n`; a bias :math:`\delta` in :math:`n`
    moves them one for one, so the tipping point is :math:`\delta = r - n`
    (resp. :math:`n - r`). A positive ``shift_to_null`` means the estimate
    shows additional outcomes and says how wrong the non-intervention rate
    would have to be to erase them: compare it with the size of plausible
    hidden differences between the groups (e.g. the raw gap between the
    programme and the unadjusted comparison pool).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> res = NearestNeighborMatching().fit(Cohort(sim.data, **sim.cohort_args))
    >>> tp = tipping_point(res, better="lower").to_frame()
    >>> bool((tp["tipping_rate"] == tp["observed"]).all())
    True
    """
    level = check_level(level)
    better = check_choice("better", better, BETTER)
    f = _limits(results, level)
    sign = 1.0 if better == "higher" else -1.0
    out = pd.DataFrame({
        "outcome": f["outcome"],
        "outcome_type": f["outcome_type"],
        "observed": f["observed"],
        "non_intervention": f["non_intervention"],
        "additional": sign * f["effect"],
    })
    out["tipping_rate"] = f["observed"]
    out["shift_to_null"] = sign * (f["observed"] - f["non_intervention"])
    out["relative_shift"] = out["shift_to_null"] / f["non_intervention"]
    near = np.where(sign > 0, f["ci_lower"], -f["ci_upper"])
    out["shift_to_insignificant"] = np.maximum(near, 0.0)
    out["direction"] = f"non-intervention rate {'higher' if better == 'higher' else 'lower'}"
    return TippingPoint(out, level=level, info={"better": better,
                                                "method": getattr(results, "method", None)})


# --------------------------------------------------------------------------- placebo checks
def _rows(res: CounterfactualResults, level: float, **extra: Any) -> list[dict[str, Any]]:
    f = res.to_frame(level)
    rows = []
    for _, r in f.iterrows():
        rows.append({
            **extra, "outcome": r["outcome"], "outcome_type": r["outcome_type"],
            "effect": r["effect"], "ci_lower": r["ci_lower"],
            "ci_upper": r["ci_upper"], "p_value": r["p_value"],
            "non_null": bool(r["ci_lower"] > 0 or r["ci_upper"] < 0),
        })
    return rows


def placebo_outcome(
    estimator: Any,
    cohort: Cohort,
    *,
    outcome: str | None = None,
    period: Any = None,
    data: pd.DataFrame | None = None,
    level: float = DEFAULT_LEVEL,
) -> PlaceboResults:
    """Re-estimate on an outcome the programme cannot have changed.

    Parameters
    ----------
    estimator
        An estimator instance (e.g. ``NearestNeighborMatching()``).
    cohort : Cohort
    outcome : str, optional
        A pre-programme outcome used as the placebo outcome. Best: a column
        of ``data`` that is not a covariate (e.g. reoffending in the year
        before), estimated with all the covariates. Otherwise a covariate
        (e.g. ``"prior_offences"``), removed from the covariates for this
        fit: the check then asks whether the *other* covariates make the
        groups alike in it, and flags any covariate that drives selection on
        its own.
    period : optional
        For a panel cohort: a pre-programme period; the estimator is fitted
        to ``cohort.at_period(period)``, whose outcomes predate the programme.
    data : pandas.DataFrame, optional
        The DataFrame the cohort was built from, when ``outcome`` is one of
        its columns that is not a covariate.
    level : float, default 0.95

    Returns
    -------
    PlaceboResults
        ``flagged`` when any placebo effect's interval excludes zero.

    Raises
    ------
    OptionError
        Neither or both of ``outcome`` and ``period``; ``outcome`` not a
        covariate; ``period`` on a cross-sectional cohort.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> pl = placebo_outcome(NearestNeighborMatching(), cohort, outcome="sentence_months")
    >>> pl.kind
    'pre-programme outcome'
    """
    level = check_level(level)
    if (outcome is None) == (period is None):
        raise OptionError(
            "Give exactly one of `outcome` (a pre-programme covariate to use as the placebo "
            "outcome) or `period` (a pre-programme period of a panel cohort)."
        )
    if period is not None:
        placebo_cohort = cohort.at_period(period)
        label = f"period {period!r}"
    elif outcome not in cohort.covariates and data is not None:
        if outcome not in data.columns:
            raise OptionError(f"`outcome` {outcome!r} is not a column of `data`.")
        if outcome in cohort.outcomes:
            raise OptionError(
                f"`outcome` {outcome!r} is an outcome of the cohort, which the programme may "
                "have changed; a placebo outcome must be measured before the programme."
            )
        try:
            rows = data.loc[cohort.index]
        except KeyError as err:
            raise OptionError(
                "`data` must be the DataFrame the cohort was built from (its index labels "
                "do not match the cohort's rows)."
            ) from err
        roles = cohort.roles()
        roles["outcome"] = [outcome]
        placebo_cohort = Cohort(rows.assign(**{c: cohort.data[c].to_numpy()
                                              for c in cohort.data.columns}), **roles)
        label = f"pre-programme outcome {outcome!r}"
    else:
        if outcome not in cohort.covariates:
            raise OptionError(
                f"`outcome` must be one of the cohort's covariates (measured before the "
                f"programme): {', '.join(map(repr, cohort.covariates))}, or a column of "
                f"`data` passed with it; got {outcome!r}."
            )
        roles = cohort.roles()
        roles["outcome"] = [outcome]
        roles["covariates"] = [c for c in cohort.covariates if c != outcome]
        if not roles["covariates"]:
            raise OptionError(
                f"`outcome` {outcome!r} is the only covariate; nothing would be left to adjust for."
            )
        data = cohort.data
        if not pd.api.types.is_numeric_dtype(data[outcome].dtype):
            raise OptionError(
                f"`outcome` {outcome!r} is not numeric; a placebo outcome must be a number "
                "(e.g. prior offences) or 0/1."
            )
        placebo_cohort = Cohort(data, **roles)
        label = f"covariate {outcome!r}"
    res = estimator.fit(placebo_cohort)
    table = pd.DataFrame(_rows(res, level, placebo=label))
    flagged = bool(table["non_null"].any())
    msg = (
        f"Placebo on {label}: the programme appears to change an outcome it cannot have "
        "changed; the comparison group probably differs in ways the covariates miss."
        if flagged else
        f"Placebo on {label}: no effect found ({level:.0%} intervals include zero), as expected."
    )
    return PlaceboResults("pre-programme outcome", table, flagged, msg, level)


def placebo_split(
    estimator: Any,
    cohort: Cohort,
    *,
    n_splits: int = 20,
    n_treated: int | None = None,
    seed: int | None = None,
    level: float = DEFAULT_LEVEL,
) -> PlaceboResults:
    r"""Re-estimate on comparison-only data with a random pretend programme group.

    Comparison units are split at random into a pretend programme group (of
    ``n_treated`` units, default the real cohort's size, at most half the
    pool) and the rest, ``n_splits`` times. The true effect is zero, so about
    ``1 - level`` of the intervals should exclude zero.

    Parameters
    ----------
    estimator
        An estimator instance.
    cohort : Cohort
    n_splits : int, default 20
    n_treated : int, optional
    seed : int, optional
        Seed for the splits (:class:`numpy.random.SeedSequence`).
    level : float, default 0.95

    Returns
    -------
    PlaceboResults
        ``flagged`` when the share of non-null splits is significantly above
        ``1 - level`` (one-sided exact binomial test at 5%), i.e. the
        method's intervals are too narrow or it finds effects where there
        are none.

    Notes
    -----
    Random splits have no confounding, so this checks the estimator's
    interval calibration and small-sample behaviour, not hidden bias.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> pl = placebo_split(NearestNeighborMatching(), cohort, n_splits=3, seed=1)
    >>> len(pl.table)
    6
    """
    level = check_level(level)
    n_splits = check_int("n_splits", n_splits, minimum=1)
    if cohort.is_panel:
        raise OptionError("`placebo_split` needs a cross-sectional cohort; use cohort.at_period(...).")
    pool = np.flatnonzero(~cohort.t)
    k = min(cohort.n_treated, pool.size // 2) if n_treated is None else check_int(
        "n_treated", n_treated, minimum=2)
    if k > pool.size // 2:
        raise OptionError(
            f"`n_treated` must be at most half the comparison pool ({pool.size // 2:,}); got {k:,}."
        )
    ss = np.random.SeedSequence(seed)
    base = cohort.data.iloc[pool].reset_index(drop=True)
    roles = {**cohort.roles(), "min_treated": min(cohort.min_treated, k)}
    rows: list[dict[str, Any]] = []
    failed = 0
    for i, child in enumerate(ss.spawn(n_splits)):
        fake = np.zeros(pool.size, dtype=np.int64)
        fake[np.random.default_rng(child).choice(pool.size, k, replace=False)] = 1
        data = base.copy()
        data[cohort.treatment] = fake
        try:
            res = estimator.fit(Cohort(data, **roles))
        except PbrEvalError:
            failed += 1
            continue
        rows.extend(_rows(res, level, split=i))
    table = pd.DataFrame(rows)
    if table.empty:
        raise OptionError("Every placebo split failed to estimate; check the estimator's options.")
    n_null = int(table["non_null"].sum())
    m = len(table)
    p = float(stats.binomtest(n_null, m, 1 - level, alternative="greater").pvalue)
    flagged = p < 0.05
    msg = (
        f"{n_null} of {m} placebo estimates (outcome x split) exclude zero, against about "
        f"{(1 - level) * m:.1f} expected"
        + (f" (binomial p = {p:.3g}): the intervals are too narrow or the method finds "
           "effects where there are none." if flagged else "; consistent with no effect.")
        + (f" {failed} split(s) failed to estimate." if failed else "")
    )
    return PlaceboResults("comparison-only split", table, flagged, msg, level)


# --------------------------------------------------------------------------- parallel trends
def _event_inputs(results: Any, outcome: str | None) -> dict[str, Any]:
    """Event-study coefficients, covariance, periods and levels from a DiD result (or a dict)."""
    from pbr_eval.results.staggered import StaggeredResults

    if isinstance(results, Mapping) and "betahat" in results:
        need = ("betahat", "sigma", "n_pre", "n_post")
        missing = [k for k in need if k not in results]
        if missing:
            raise OptionError(f"`results` as a mapping needs {', '.join(need)}; missing "
                              f"{', '.join(missing)}.")
        return {"betahat": np.asarray(results["betahat"], float),
                "sigma": np.asarray(results["sigma"], float), "n_pre": int(results["n_pre"]),
                "n_post": int(results["n_post"]), "outcome": str(outcome or ""),
                "outcome_type": "", "observed": {}, "observed_all": math.nan}
    extras = getattr(results, "extras", None) or {}
    st = results if isinstance(results, StaggeredResults) else extras.get("staggered")
    if isinstance(st, StaggeredResults):
        outcomes = list(dict.fromkeys(st.group_time["outcome"]))
        name = outcomes[0] if outcome is None else check_choice("outcome", outcome, outcomes)
        if name not in st.event_cov:
            raise OptionError("These staggered results carry no covariance of their event study "
                              "(saved by an older pbr_eval): estimate again with "
                              "method='staggered_did'.")
        ev = st.event_study(name)
        ref = ev.index[(ev["std_error"] == 0) & (ev["estimate"] == 0)]
        if len(ref) != 1:
            raise OptionError(
                "`base_period` must be 'universal' for a parallel-trends sensitivity analysis "
                "(every event-study effect measured against the same period before the start); "
                f"got base_period={st.info.get('base_period')!r}. Estimate again with "
                "method='staggered_did', base_period='universal'.")
        k = int(ref[0])
        keep = np.r_[0:k, k + 1:len(ev)]
        cov = np.asarray(st.event_cov[name])[np.ix_(keep, keep)]
        et = ev["event_time"].to_numpy(int)
        gt = st.group_time
        cells = gt[(gt["outcome"] == name) & np.isfinite(gt["estimate"].to_numpy(float))]
        cells = cells.assign(e=(cells["period"] - cells["group"]).astype(int))
        observed = {int(e): float(np.average(p["observed"], weights=p["n_treated"]))
                    for e, p in cells.groupby("e") if p["n_treated"].sum() > 0}
        return {"betahat": ev["estimate"].to_numpy(float)[keep], "sigma": cov,
                "n_pre": k, "n_post": len(ev) - k - 1, "outcome": name,
                "outcome_type": str(gt.loc[gt["outcome"] == name, "outcome_type"].iloc[0]),
                "event_times": [int(e) for e in et[k + 1:]], "observed": observed,
                "observed_all": math.nan}
    tables, covs = extras.get("event_study"), extras.get("event_study_cov")
    if isinstance(results, CounterfactualResults) and tables and covs:
        outcomes = list(tables)
        name = outcomes[0] if outcome is None else check_choice("outcome", outcome, outcomes)
        tab = tables[name]
        pre = tab["pre_period"].to_numpy(bool)
        if pre.any() and not (np.all(pre[:int(pre.sum())]) and not pre[int(pre.sum()):].any()):
            raise OptionError("The event study's periods are not in time order (pre-programme "
                              "periods first); build the Cohort with period_order=.")
        row = results.to_frame().set_index("outcome").loc[name]
        return {"betahat": tab["coef"].to_numpy(float), "sigma": np.asarray(covs[name], float),
                "n_pre": int(pre.sum()), "n_post": int((~pre).sum()), "outcome": name,
                "outcome_type": str(row["outcome_type"]), "observed": {},
                "observed_all": float(row["observed"])}
    raise OptionError(
        "`results` must be difference-in-differences results with an event study: "
        "estimate(..., method='staggered_did', base_period='universal'), or "
        "estimate(..., method='did', model='twfe') on more than two periods, or a mapping "
        "with betahat, sigma, n_pre and n_post (from the command line: pbr-eval estimate ... "
        "--period COLUMN --first-treated COLUMN --method staggered_did -o "
        "base_period=universal --save FILE); got "
        f"{type(results).__name__}" + (f" (method {results.method!r})"
                                       if isinstance(results, CounterfactualResults) else "")
        + ".")


def parallel_trends(results: Any, *, outcome: str | None = None,
                    restriction: str = "relative_magnitudes", bounds: Any = None,
                    target: str = "first", level: float = DEFAULT_LEVEL,
                    value_per_outcome: float | None = None, expected_rate: float | None = None,
                    better: str = "higher", seed: int = 0) -> Any:
    r"""How far parallel trends may fail before a DiD effect (and its price) is lost.

    Rambachan & Roth (2023) on the event study of a difference-in-differences result:
    for each bound, the effect's confidence interval allowing that much departure from
    parallel trends, and the breakdown value (the largest bound at which the interval
    still excludes zero). With ``value_per_outcome``, also the price per outcome that
    keeps the chance of paying for deadweight at the stated risk ``(1 - level) / 2``
    under each bound: the non-intervention level's upper limit is the expected level
    minus the interval's limit nearer zero, priced with
    :func:`pbr_eval.pricing.recommend.value_for_money_ceiling`; at the breakdown value
    the safe price is zero.

    Parameters
    ----------
    results : CounterfactualResults, StaggeredResults or mapping
        ``estimate(..., method="staggered_did", base_period="universal")`` (its
        event study and the effects' influence-function covariance),
        ``estimate(..., method="did", model="twfe")`` on more than two periods, or a
        mapping with ``betahat``, ``sigma``, ``n_pre``, ``n_post`` (as
        :func:`pbr_eval.datasets.load_medicaid_event_study` returns).
    outcome : str, optional
        Default: the first outcome.
    restriction : {"relative_magnitudes", "smoothness"}, default "relative_magnitudes"
        Relative magnitudes: after the start the difference in trends moves between
        consecutive periods by at most ``Mbar`` times its largest such move before
        the start. Smoothness: it may change slope by at most ``M`` per period.
    bounds : sequence of float, optional
        ``Mbar`` or ``M`` values (defaults as
        :func:`pbr_eval.estimators.did_sensitivity.parallel_trends_sensitivity`).
    target : {"first", "average"}, default "first"
        The effect in the first period from the start, or the average over the
        periods after it.
    level : float, default 0.95
    value_per_outcome : float, optional
        What one additional outcome is worth; gives the price columns.
    expected_rate : float, optional
        The level expected with the programme; default the programme group's observed
        level in the target periods (staggered) or after the start (``did``).
    better : {"higher", "lower"}, default "higher"
        Which way the outcome should move. ``"lower"`` (a binary outcome such as
        reoffending) prices its complement (not reoffending).
    seed : int, default 0
        Seed of the relative-magnitudes test's simulated critical value.

    Returns
    -------
    ParallelTrendsResults

    Raises
    ------
    OptionError
        Results without an event study, a staggered result with a varying base
        period, too few pre-periods, an unknown outcome, restriction or target,
        ``better="lower"`` with a non-binary outcome, or prices without an expected
        level.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_medicaid_event_study
    >>> pt = pbr_eval.parallel_trends(load_medicaid_event_study(), bounds=[0.5, 1.0],
    ...                               value_per_outcome=1000, expected_rate=0.5)
    >>> round(pt.breakdown, 2), pt.to_frame()["price"].round(2).tolist()
    (1.95, [48.26, 34.19])
    """
    from pbr_eval.estimators.did_sensitivity import parallel_trends_sensitivity
    from pbr_eval.kinds import DEFAULT_CURRENCY
    from pbr_eval.options import check_money, check_rate
    from pbr_eval.pricing.recommend import value_for_money_ceiling
    from pbr_eval.results.parallel_trends import ParallelTrendsResults

    level = check_level(level)
    target = check_choice("target", target, ("first", "average"))
    better = check_choice("better", better, BETTER)
    ev = _event_inputs(results, outcome)
    n_pre, n_post = ev["n_pre"], ev["n_post"]
    if n_pre < (2 if restriction == "smoothness" else 1) or n_post < 1:
        raise OptionError(
            f"The event study needs at least {2 if restriction == 'smoothness' else 1} "
            f"period(s) before the reference period and one after it; got {n_pre} before and "
            f"{n_post} after. Use a longer panel.")
    notes: list[str] = []
    if restriction == "relative_magnitudes" and target == "first" and n_post > 8:
        # later post periods only add free nuisance effects: the interval for the first
        # stays valid on the first eight (the projection of the restriction onto them)
        keep = n_pre + 8
        ev = {**ev, "betahat": ev["betahat"][:keep], "sigma": ev["sigma"][:keep, :keep],
              "event_times": (ev.get("event_times") or [])[:8]}
        notes.append(f"Only the first 8 of the {n_post} periods after the start enter the "
                     "relative-magnitudes test of the first period's effect (the later ones "
                     "only add effects that are free under the restriction).")
        n_post = 8
    lv = np.eye(n_post)[0] if target == "first" else np.full(n_post, 1.0 / n_post)
    pt = parallel_trends_sensitivity(ev["betahat"], ev["sigma"], n_pre=n_pre, n_post=n_post,
                                     M=bounds, l=lv, level=level, restriction=restriction,
                                     seed=seed, outcome=ev["outcome"],
                                     outcome_type=ev["outcome_type"])
    info = dict(pt.info)
    info["notes"] = [*info.get("notes", []), *notes]
    info["target"] = target
    if ev.get("event_times"):
        info["event_times_after"] = ev["event_times"]
    if value_per_outcome is None:
        return ParallelTrendsResults(table=pt.to_frame(), original=pt.original,
                                     breakdown=pt.breakdown, info=info, level=level)
    v = check_money("value_per_outcome", value_per_outcome, positive=True)
    otype = ev["outcome_type"] or None
    if expected_rate is None:
        if ev["observed"]:
            ets = ev["event_times"][:1] if target == "first" else ev["event_times"]
            vals = [ev["observed"][e] for e in ets if e in ev["observed"]]
            r = float(np.mean(vals)) if vals else math.nan
        else:
            r = ev["observed_all"]
        if not math.isfinite(r):
            raise OptionError("`expected_rate` must be given with `value_per_outcome` when the "
                              "results do not carry the programme group's observed level; got "
                              "None.")
    else:
        r = check_rate("expected_rate", expected_rate, outcome_type=otype)
    if better == "lower":
        if ev["outcome_type"] != "binary":
            raise OptionError("`better='lower'` prices the outcome's complement, which needs a "
                              f"binary outcome; got outcome type {ev['outcome_type']!r}. Price a "
                              "count outcome per event avoided with pbr_eval.price.")
        r_paid = 1.0 - r
    else:
        r_paid = r
    if not r_paid > 0:
        raise OptionError(f"The expected level of the paid outcome must be above 0; got {r_paid}.")

    def gain_lower(lo: float, hi: float) -> float:
        return lo if better == "higher" else -hi

    def price_at(lo: float, hi: float) -> tuple[float, float]:
        g = gain_lower(lo, hi)
        if not (math.isfinite(g)):
            return math.nan, math.nan
        ni_up = r_paid - g
        return ni_up, max(0.0, float(value_for_money_ceiling(v, ni_up, r_paid)))

    table = pt.to_frame()
    pairs = [price_at(lo, hi) for lo, hi in zip(table["lower"], table["upper"], strict=True)]
    table["non_intervention_upper"] = [p[0] for p in pairs]
    table["price"] = [p[1] for p in pairs]
    ordinary = price_at(pt.original["lower"], pt.original["upper"])[1]
    holds = math.inf
    for b, p in zip(table["M"], table["price"], strict=True):
        if not (math.isfinite(p) and p >= ordinary - 0.005):
            holds = math.nan if b == table["M"].iloc[0] else holds
            break
        holds = float(b)
    else:
        holds = math.inf
    info.update({"value_per_outcome": v, "expected_rate": r, "paid_expected_rate": r_paid,
                 "better": better, "risk": (1 - level) / 2, "ordinary_price": ordinary,
                 "price_holds_to": holds, "currency": DEFAULT_CURRENCY})
    return ParallelTrendsResults(table=table, original=pt.original, breakdown=pt.breakdown,
                                 info=info, level=level)
