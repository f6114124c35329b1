"""Price recommendations: the most a commissioner should pay per observed outcome so that it pays only for additional outcomes, the least a provider can accept, and the chance of paying for deadweight at the price chosen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.kinds import format_money, format_value
from pbr_eval.options import (
    BETTER,
    DEFAULT_LEVEL,
    OUTCOME_TYPES,
    PRICE_RULES,
    check_choice,
    check_count,
    check_level,
    check_money,
    check_number,
    check_rate,
)
from pbr_eval.pricing.rates import (
    RateDistribution,
    RateInput,
    rate_input,
    rates_from_dict,
    rates_from_results,
)
from pbr_eval.pricing.recommendation import PRICE_COLUMNS, PriceRecommendation
from pbr_eval.results.counterfactual import CounterfactualResults


def _rate_kind(outcome_type: str) -> str:
    """Return the kind a non-intervention rate is shown as: a share for a yes/no outcome, else a mean."""
    return "rate" if outcome_type == "binary" else "mean"

__all__ = [
    "PriceRecommendation",
    "PRICE_COLUMNS",
    "price",
    "price_from_rate",
    "provider_floor",
    "value_for_money_ceiling",
    "prob_overpay",
]

_RULE_TEXT = {
    "upper": "ceiling at the upper limit of the two-sided {pct}% interval of the "
    "non-intervention rate (chance of paying for deadweight at most {risk:.1%})",
    "one-sided": "ceiling at the one-sided {pct}% upper bound of the non-intervention rate "
    "(chance of paying for deadweight {risk:.1%})",
    "central": "ceiling at the estimated non-intervention rate (about even chance of paying "
    "for deadweight)",
}


def value_for_money_ceiling(
    value_per_outcome: float | np.ndarray,
    non_intervention: float | np.ndarray,
    expected_rate: float | np.ndarray,
    attachment_fee: float | np.ndarray = 0.0,
) -> Any:
    """Return the most worth paying per observed outcome: ``(v (r - n) - A) / r``.

    Parameters
    ----------
    value_per_outcome : float
        ``v``, the fiscal or social value of one additional outcome.
    non_intervention : float
        ``n``, outcomes per person without the programme.
    expected_rate : float
        ``r``, outcomes per person with the programme.
    attachment_fee : float, default 0
        ``A``, paid per participant whatever the outcome.

    Returns
    -------
    float or numpy.ndarray

    Notes
    -----
    A commissioner paying ``A`` per participant and ``p`` per observed outcome
    spends ``A + p r`` per participant and buys ``r - n`` additional outcomes
    worth ``v (r - n)``. Setting the two equal gives
    ``p = (v (r - n) - A) / r = v (1 - n / r) - A / r``; with no attachment fee
    this is ``v (1 - n / r)``: the value discounted by the deadweight share ``n / r``.

    Examples
    --------
    >>> value_for_money_ceiling(1000.0, 0.05, 0.10)
    500.0
    >>> value_for_money_ceiling(1000.0, 0.05, 0.10, attachment_fee=20.0)
    300.0
    """
    return (value_per_outcome * (expected_rate - non_intervention) - attachment_fee) / expected_rate


def provider_floor(
    cost_per_participant: float, expected_rate: float, attachment_fee: float = 0.0
) -> float:
    """Return the least a provider can accept per outcome and break even: ``(c - A) / r``.

    Parameters
    ----------
    cost_per_participant : float
        The provider's delivery cost per person ``c``.
    expected_rate : float
        The outcome rate ``r`` the provider expects to achieve.
    attachment_fee : float, default 0.0
        The fee ``A`` paid per person on joining.

    Returns
    -------
    float
        The break-even price per outcome, never below 0.

    Examples
    --------
    >>> provider_floor(1000.0, 0.25, attachment_fee=200.0)
    3200.0
    """
    return max(0.0, (cost_per_participant - attachment_fee) / expected_rate)


def prob_overpay(
    price: float,
    distribution: RateDistribution,
    *,
    value_per_outcome: float,
    expected_rate: float | None = None,
    expected_effect: float | np.ndarray | None = None,
    attachment_fee: float = 0.0,
) -> float:
    """Chance that, at ``price``, the commissioner pays for deadweight.

    Parameters
    ----------
    price : float
        Price per observed outcome.
    distribution : RateDistribution
        Uncertainty about the non-intervention rate ``n``.
    value_per_outcome, attachment_fee : float
    expected_rate : float, optional
        A fixed rate ``r`` with the programme; or
    expected_effect : float or array, optional
        An additive effect ``e`` (``r = n + e``); an array is a distribution.

    Returns
    -------
    float

    Notes
    -----
    The commissioner pays for deadweight when it spends more than the value
    of the additional outcomes, ``A + p r > v (r - n)``, i.e. when
    ``n > n* = r - (A + p r) / v`` (fixed ``r``) or, with ``r = n + e``,
    ``n > (v e - A) / p - e``. The probability is ``P(N > n*)`` under the
    rate's distribution, averaged over the effect's draws if given. A
    commissioner who pays nothing (no fee, price 0) pays for no deadweight: 0.

    Examples
    --------
    >>> d = RateDistribution(0.05, 0.01, "normal")
    >>> round(prob_overpay(500.0, d, value_per_outcome=1000.0, expected_rate=0.10), 3)
    0.5
    """
    v, a, p = value_per_outcome, attachment_fee, price
    if a <= 0 and p <= 0:
        return 0.0  # paying nothing cannot pay for deadweight
    if expected_rate is not None:
        return float(distribution.sf(expected_rate - (a + p * expected_rate) / v))
    e = np.atleast_1d(np.asarray(expected_effect, dtype=float))
    if p <= 0:
        return float(np.mean(a > v * e))
    return float(np.mean(distribution.sf((v * e - a) / p - e)))


def _per_outcome(name: str, value: Any, outcomes: Sequence[str]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = set(value) - set(outcomes)
        if unknown:
            raise OptionError(
                f"`{name}` names {', '.join(map(repr, sorted(unknown)))}, which "
                f"{'is not an outcome' if len(unknown) == 1 else 'are not outcomes'} of the "
                f"results; outcomes are {', '.join(map(repr, outcomes))}."
            )
        missing = [o for o in outcomes if o not in value]
        if missing and name == "value_per_outcome":
            raise OptionError(
                f"`value_per_outcome` gives no value for {', '.join(map(repr, missing))}; give "
                "one per priced outcome or choose outcomes with `outcomes=`."
            )
        return {o: value.get(o) for o in outcomes}
    return {o: value for o in outcomes}


def price_from_rate(
    *,
    outcome: str,
    non_intervention: float,
    ci: tuple[float, float],
    value_per_outcome: float,
    expected_rate: float,
    paid_outcome: str | None = None,
    outcome_type: str = "count",
) -> dict[str, Any]:
    """Central price of one outcome from a non-intervention rate and its interval.

    The simplest form, kept for scripts: the ceiling at the point estimate
    with the band from the interval. :func:`price` does the full job.
    ``outcome_type="binary"`` holds both rates to [0, 1] (a share of people);
    the default only requires them to be non-negative.

    Parameters
    ----------
    outcome : str
        The outcome's name.
    non_intervention : float
        The non-intervention rate ``n``.
    ci : (float, float)
        The interval of ``n``; its limits give the price band.
    value_per_outcome : float
        What an additional outcome is worth to the commissioner ``v``.
    expected_rate : float
        The rate ``r`` expected with the programme.
    paid_outcome : str, optional
        The name of the outcome paid for, if not ``outcome``.
    outcome_type : {"count", "binary", "continuous"}, default "count"
        ``"binary"`` holds both rates to [0, 1].

    Returns
    -------
    dict
        ``outcome``, ``paid_outcome``, ``recommended`` (the ceiling ``v (r - n) / r``),
        ``band_lower`` and ``band_upper`` (the ceiling at the interval's limits) and the
        inputs.

    Raises
    ------
    NotViableError
        When ``expected_rate`` does not exceed ``non_intervention``.
    OptionError
        When a rate is not a number or is outside its range.

    Examples
    --------
    >>> row = price_from_rate(outcome="job", non_intervention=0.05, ci=(0.04, 0.06),
    ...                       value_per_outcome=1000, expected_rate=0.10)
    >>> row["recommended"], row["band_lower"], row["band_upper"]
    (500.0, 400.0, 600.0)
    """
    check_choice("outcome_type", outcome_type, OUTCOME_TYPES)
    v = check_money("value_per_outcome", value_per_outcome, positive=True)
    r = check_rate("expected_rate", expected_rate, outcome_type=outcome_type, positive=True)
    n = check_rate("non_intervention", non_intervention, outcome_type=outcome_type)
    _check_gain(r, n, paid_outcome or outcome)
    lo_n, hi_n = (float(c) for c in ci)
    ceiling = float(value_for_money_ceiling(v, n, r))
    return {
        "outcome": outcome,
        "paid_outcome": paid_outcome or outcome,
        "value_per_outcome": v,
        "expected_rate": r,
        "non_intervention": n,
        "non_intervention_ci_lower": float(lo_n),
        "non_intervention_ci_upper": float(hi_n),
        "deadweight_share": n / r,
        "ceiling": ceiling,
        "recommended": ceiling,
        "band_lower": max(0.0, float(value_for_money_ceiling(v, hi_n, r))),
        "band_upper": float(value_for_money_ceiling(v, max(lo_n, 0.0), r)),
    }


def check_effect(name: str, effect: Any) -> np.ndarray:
    """Return an assumed effect as a 1-d array of finite numbers (one number or draws).

    Text, booleans, ``None``, NaN and infinity are refused with the template
    message of :mod:`pbr_eval.options`; the sign is not checked here.
    """
    if isinstance(effect, (str, bool)) or effect is None:
        check_number(name, effect)  # raises the template message
    arr = np.asarray(effect)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise OptionError(
            f"`{name}` must be a number or an array of numbers (draws of your belief); got "
            f"{type(effect).__name__} {str(effect)[:40]!r}. Give numbers, not text."
        )
    out = arr.astype(float).ravel()
    if not np.all(np.isfinite(out)):
        raise OptionError(
            f"`{name}` must be finite numbers; got {int((~np.isfinite(out)).sum())} missing or "
            "infinite value(s). Remove them.")
    return out


def _check_gain(r: float, n: float, name: str) -> None:
    if r <= n:
        raise NotViableError(
            f"For '{name}' the expected rate ({r:.4g}) does not exceed the "
            f"non-intervention rate ({n:.4g}): every outcome paid for would have happened "
            "anyway, so no price is value for money. Check the outcome's direction "
            "(better='lower' for outcomes the programme should reduce) or the expected rate."
        )


def _rate_inputs(
    results: Any, se: Any, draws: Any, outcome_type: str | None, outcome_name: str
) -> list[RateInput]:
    if isinstance(results, CounterfactualResults):
        return rates_from_results(results)
    if isinstance(results, Mapping):
        return rates_from_dict(results)
    if isinstance(results, str):
        try:
            float(results)
        except ValueError:
            pass  # not a number written as text: the general message below
        else:
            check_rate("results", results, outcome_type=None)  # raises: text, not a number
    if isinstance(results, (int, float, np.integer, np.floating)) and not isinstance(
            results, bool):
        return [rate_input(outcome_name, results, se=se, draws=draws,  # type: ignore[arg-type]
                           outcome_type=outcome_type, name="results")]
    if draws is None and isinstance(results, (np.ndarray, list, tuple)):
        return [rate_input(outcome_name, float("nan"), draws=results, outcome_type=outcome_type)]
    raise OptionError(
        "`results` must be the result of pbr_eval.estimate(), its to_dict(), a non-intervention "
        f"rate (with `se=` or `draws=`) or an array of draws; got {type(results).__name__}."
    )


def price(
    results: Any,
    *,
    value_per_outcome: float | Mapping[str, float],
    expected_rate: float | Mapping[str, float] | None = None,
    level: float = DEFAULT_LEVEL,
    better: str | Mapping[str, str] = "higher",
    outcomes: Sequence[str] | None = None,
    expected_effect: Any = None,
    cost_per_participant: float | Mapping[str, float] | None = None,
    attachment_fee: float | Mapping[str, float] = 0.0,
    cohort_size: int | None = None,
    budget: float | Mapping[str, float] | None = None,
    rule: str = "upper",
    se: float | None = None,
    draws: Sequence[float] | np.ndarray | None = None,
    outcome_type: str | None = None,
    outcome_name: str = "outcome",
) -> PriceRecommendation:
    """Recommend a price per observed outcome from a non-intervention estimate.

    For each outcome: the value-for-money **ceiling** (the most a
    commissioner can pay per observed outcome and still pay only for
    additional outcomes), the provider's **floor** (break-even), the
    **recommended** price chosen by ``rule``, a **band** and the chance of
    paying for deadweight at the recommended price (``prob_overpay``).

    Parameters
    ----------
    results : CounterfactualResults, dict, float or array
        From :func:`pbr_eval.estimate`; or its ``to_dict()`` (a results JSON
        saved by ``pbr-eval estimate --save``); or a plain non-intervention
        rate with ``se=`` or ``draws=``; or an array of draws of the rate.
    value_per_outcome : float or dict
        Fiscal or social value of one additional outcome, one number or one
        per outcome. Take it from a unit-cost source (e.g. the Greater
        Manchester unit cost database, Green Book supplementary guidance):
        the cost a public body avoids when the outcome happens (e.g. a year
        of a looked-after child placement, a reconviction's police, court
        and prison costs), in the same year's prices as the tariff.
    expected_rate : float or dict, optional
        The rate expected with the programme (on the paid scale). Default:
        the treated group's observed rate (results only). Give this or
        ``expected_effect``.
    level : float, default 0.95
        Confidence level of the band and of the default rule.
    better : {"higher", "lower"} or dict, default "higher"
        Direction the programme should move the outcome. For a binary
        outcome that should fall (e.g. reoffending), ``"lower"`` prices its
        complement (e.g. *not* reoffending): rates ``r`` become ``1 - r``.
        Counts that should fall are paid per event avoided: use
        :class:`pbr_eval.pricing.PerEventAvoided`.
    outcomes : list of str, optional
        Which outcomes to price (default: all).
    expected_effect : float, array or dict, optional
        Instead of ``expected_rate``: the programme's additive effect on the
        paid rate, ``r = n + e``; an array is a distribution of beliefs
        (its mean sets the price; ``prob_overpay`` averages over it). On the
        paid scale: with ``better="lower"`` a 3-point fall in reoffending is
        ``+0.03`` (3 points more people not reoffending).
    cost_per_participant : float or dict, optional
        The provider's delivery cost per participant; sets the ``floor``.
    attachment_fee : float or dict, default 0
        Paid per participant whatever the outcome; lowers both the ceiling
        and the floor by ``A / r``.
    cohort_size : int, optional
        Number of participants: gives the expected total payment.
    budget : float or dict, optional
        The commissioner's budget for the cohort (needs ``cohort_size``):
        the recommended price is capped at the budget price
        ``(budget / N - A) / r``. With several outcomes, one budget each (dict).
    rule : {"upper", "one-sided", "central"}, default "upper"
        ``"upper"``: the ceiling at the upper limit of the two-sided
        ``level`` interval of the non-intervention rate, so the chance of
        paying for deadweight is ``(1 - level) / 2``, at most ``1 - level``.
        ``"one-sided"``: the ceiling at the one-sided ``level`` upper bound
        (chance exactly ``1 - level``; a slightly higher price).
        ``"central"``: the ceiling at the point estimate (the seed's rule;
        about an even chance of paying for deadweight).
    se, draws : optional
        The uncertainty of a plain rate given as ``results``.
    outcome_type : {"binary", "count", "continuous"}, optional
        For a plain rate (default ``"binary"`` for a rate in [0, 1]).
    outcome_name : str, default "outcome"
        Name of a plain rate's outcome.

    Returns
    -------
    PriceRecommendation
        ``to_frame()`` has one row per outcome with the columns in
        :data:`PRICE_COLUMNS`: ``outcome``, ``non_intervention``,
        ``expected_rate``, ``ceiling``, ``floor``, ``recommended``,
        ``band_lower``, ``band_upper``, ``prob_overpay``, ``viable``,
        ``verdict`` (a sentence when the scheme is not viable) and more.

    Raises
    ------
    NotViableError
        When the expected rate does not exceed the non-intervention rate
        (nothing additional to pay for).
    OptionError
        For invalid inputs (naming the option).

    Notes
    -----
    With value ``v``, attachment fee ``A``, expected rate ``r`` and
    non-intervention rate ``n``, the ceiling is ``c(n) = (v (r - n) - A) / r``
    (see :func:`value_for_money_ceiling`); the band is
    ``[c(n_upper), c(n_lower)]`` over the ``level`` interval of ``n``, and
    ``floor = (cost - A) / r``. When ``floor > ceiling`` the scheme is not
    viable and the verdict says by how much per outcome, per participant and
    over the cohort. The interval uses the results' range-respecting scale
    (logit for rates, log for counts); ``prob_overpay`` uses the same
    distribution (see :func:`prob_overpay`). With ``expected_effect`` the
    rate moves with ``n`` (``r = n + e``), so the ceiling is ``v e / (n + e)``
    less ``A / r``.

    Limitations: the uncertainty is the sampling error of the estimate only;
    bias from unmeasured confounding is not in it (see the sensitivity
    analysis and :mod:`pbr_eval.pricing.sensitivity`).

    References
    ----------
    National Audit Office (2015), *Outcome-based payment schemes: government's
    use of payment by results*, HC 86. HM Treasury (2022), *The Green Book*.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    >>> rec.to_frame()[["paid_outcome", "recommended"]].shape
    (1, 2)

    A plain rate with its standard error, a cost and an attachment fee:

    >>> rec = pbr_eval.price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10,
    ...                      cost_per_participant=150, attachment_fee=50, outcome_name="job")
    >>> row = rec.to_frame().iloc[0]
    >>> round(row["ceiling"]), round(row["recommended"]), round(row["floor"])
    (1500, 1070, 1000)
    >>> round(float(row["prob_overpay"]), 3)
    0.025
    """
    level = check_level(level)
    rule = check_choice("rule", rule, PRICE_RULES)
    inputs = _rate_inputs(results, se, draws, outcome_type, outcome_name)
    all_outcomes = [ri.outcome for ri in inputs]
    chosen = list(all_outcomes if outcomes is None else outcomes)
    for o in chosen:
        if o not in all_outcomes:
            raise OptionError(
                f"`outcomes` must be among {', '.join(map(repr, all_outcomes))}; got {o!r}."
            )
    if expected_rate is not None and expected_effect is not None:
        raise OptionError(
            "Give `expected_rate` or `expected_effect`, not both: the rate with the programme is "
            "either stated or the non-intervention rate plus the effect."
        )
    by_name = {ri.outcome: ri for ri in inputs}
    values = _per_outcome("value_per_outcome", value_per_outcome, chosen)
    expected = _per_outcome("expected_rate", expected_rate, chosen)
    effects = (_per_outcome("expected_effect", expected_effect, chosen)
               if isinstance(expected_effect, Mapping) else {o: expected_effect for o in chosen})
    directions = _per_outcome("better", better, chosen)
    costs = _per_outcome("cost_per_participant", cost_per_participant, chosen)
    fees = _per_outcome("attachment_fee", attachment_fee, chosen)
    n_people = None if cohort_size is None else check_count("cohort_size", cohort_size, minimum=1)
    if budget is not None and n_people is None:
        raise OptionError("`budget` needs `cohort_size` (the number of participants it pays for).")
    if budget is not None and not isinstance(budget, Mapping) and len(chosen) > 1:
        raise OptionError(
            f"`budget` is one number but {len(chosen)} outcomes are priced; give a dict with each "
            "outcome's share of the budget (e.g. budget={'reoffended': 60000, ...})."
        )
    budgets = _per_outcome("budget", budget, chosen)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for o in chosen:
        d = check_choice(f"better['{o}']" if isinstance(better, Mapping) else "better",
                         directions[o] or "higher", BETTER)
        ri = by_name[o]
        dist, obs, paid = ri.distribution, ri.observed, o
        if d == "lower":
            if ri.outcome_type != "binary":
                raise OptionError(
                    f"`better='lower'` for '{o}' ({ri.outcome_type}) would price events "
                    "avoided; price() handles rates only. Use a binary outcome (e.g. any "
                    "reoffence) or the pricing engine's per-event-avoided mechanism "
                    "(pbr_eval.pricing.PerEventAvoided)."
                )
            dist = dist.complement()
            obs = None if obs is None else 1.0 - obs
            paid = f"not {o}"
        if ri.outcome_type == "continuous":  # a mean that can be paid per unit is never negative
            check_rate(f"non_intervention of '{o}'", dist.estimate, outcome_type="continuous")
        row, row_notes = _price_one(
            outcome=o, paid=paid, dist=dist, observed=obs, level=level, rule=rule,
            outcome_type=ri.outcome_type,
            value=values[o], expected_rate=expected[o], effect=effects[o], cost=costs[o],
            fee=fees[o] if fees[o] is not None else 0.0, n_people=n_people,
            budget=None if budgets[o] is None else check_money("budget", budgets[o],
                                                              positive=True),
        )
        rows.append(row)
        notes.extend(row_notes)
    out = pd.DataFrame(rows, columns=PRICE_COLUMNS)
    risk = (1 - level) / 2 if rule == "upper" else 1 - level
    info = {
        "method": getattr(results, "method", None) if not isinstance(results, Mapping)
        else results.get("method"),
        "level": level,
        "rule_name": rule,
        "rule": _RULE_TEXT[rule].format(pct=int(round(level * 100)), risk=risk),
        "fingerprint": (results.info.get("fingerprint")
                        if isinstance(results, CounterfactualResults)
                        else (results.get("info") or {}).get("fingerprint")
                        if isinstance(results, Mapping) else None),
        "notes": notes,
        "outcome_types": {o: by_name[o].outcome_type for o in chosen},
    }
    return PriceRecommendation(out, level=level, info=info)


def _price_one(
    *, outcome: str, paid: str, dist: RateDistribution, observed: float | None, level: float,
    rule: str, value: Any, expected_rate: Any, effect: Any, cost: Any, fee: Any,
    n_people: int | None, budget: float | None, outcome_type: str = "binary",
) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    v = check_money("value_per_outcome", value, positive=True)
    a = check_money("attachment_fee", fee)
    n = dist.estimate
    lo_n, hi_n = dist.interval(level)
    eff_draws = None
    if effect is not None:
        eff_draws = check_effect("expected_effect", effect)
        e = float(eff_draws.mean())
        if e <= 0:
            raise NotViableError(
                f"For '{paid}' the expected effect ({e:.4g}) is not positive on the paid scale: "
                "nothing additional to pay for. For an outcome that should fall, use "
                "better='lower' and give the effect on the complement (a fall of 3 points is +0.03)."
            )
        top = 1.0 if outcome_type == "binary" else np.inf
        if n + e > top:
            raise OptionError(
                f"`expected_effect` ({e:.4g}) added to the non-intervention rate of '{paid}' "
                f"({n:.4g}) gives an expected rate of {n + e:.4g}, above 1: a yes/no outcome's "
                f"rate cannot exceed 1. Give an effect of at most {top - n:.4g} (an effect in "
                "percentage points is a share too: 5 points is 0.05)."
            )
        if hi_n + e > top:
            notes.append(
                f"For '{paid}' the expected rate at the upper limit of the non-intervention "
                f"interval ({hi_n:.4g} + {e:.4g}) would exceed 1; it is taken as 1 there."
            )

        def rate_at(x: float) -> float:
            return min(x + e, top)
        r = rate_at(n)
    else:
        if expected_rate is None:
            if observed is None:
                raise OptionError(
                    f"`expected_rate` (or `expected_effect`) is needed for '{paid}': a plain "
                    "non-intervention rate carries no observed rate to default to."
                )
            expected_rate = observed
            notes.append(f"Expected rate for '{paid}' taken as the treated group's observed rate.")
        r = check_rate("expected_rate", expected_rate, outcome_type=outcome_type, positive=True)

        def rate_at(x: float) -> float:
            return r
    _check_gain(r, n, paid)

    def ceiling_at(x: float) -> float:
        return float(value_for_money_ceiling(v, x, rate_at(x), a))

    ceiling = ceiling_at(n)
    band_lower = max(0.0, ceiling_at(hi_n))
    band_upper = max(0.0, ceiling_at(max(lo_n, 0.0)))
    n_rule = {"upper": hi_n, "one-sided": float(dist.quantile(level)), "central": n}[rule]
    recommended = max(0.0, ceiling_at(n_rule))
    if recommended == 0.0:
        notes.append(
            f"For '{paid}' no positive price is value for money at the cautious "
            f"non-intervention rate ({format_value(n_rule, _rate_kind(outcome_type))}); the "
            "recommended price is 0."
        )
    budget_price = float("nan")
    if budget is not None and n_people is not None:
        budget_price = max(0.0, (budget / n_people - a) / r)
        if budget_price < recommended:
            notes.append(
                f"For '{paid}' the budget ({format_money(budget)} for {n_people:,} participants) caps the "
                f"price at {format_money(budget_price)} per outcome, below the {format_money(recommended)} the "
                "rule gives; the recommended price is the budget price."
            )
            recommended = budget_price
    c = None if cost is None else check_money("cost_per_participant", cost)
    floor = float("nan") if c is None else provider_floor(c, r, a)
    if eff_draws is not None:
        risk = prob_overpay(recommended, dist, value_per_outcome=v, expected_effect=eff_draws,
                            attachment_fee=a)
    else:
        risk = prob_overpay(recommended, dist, value_per_outcome=v, expected_rate=r,
                            attachment_fee=a)
    viable: Any = None
    verdict = ""
    if c is not None:
        viable = bool(floor <= ceiling)
        if not viable:
            gap = floor - ceiling
            verdict = (
                f"NOT VIABLE at these inputs: the provider needs at least {format_money(floor)} per "
                f"'{paid}' outcome to cover its cost of {format_money(c)} per participant, but the most "
                f"worth paying is {format_money(max(ceiling, 0))}; short by {format_money(gap)} per outcome "
                f"({format_money(gap * r)} per participant"
                + (f", {format_money(gap * r * n_people)} over the cohort" if n_people else "")
                + "). Lower the cost, raise the expected rate, or pay for a more valuable outcome."
            )
        elif floor > recommended:
            verdict = (
                f"Viable only at the central estimate: at the recommended {format_money(recommended)} the "
                f"provider is {format_money(floor - recommended)} per outcome short of break-even "
                f"({format_money(floor)}); paying up to {format_money(ceiling)} raises the chance of paying for "
                "deadweight."
            )
        else:
            verdict = (
                f"Viable: the recommended price leaves the provider {format_money(recommended - floor)} "
                "per outcome above break-even."
            )
    cpa = recommended * r / (r - n) + a / (r - n)
    per_participant = a + recommended * r
    row = {
        "outcome": outcome,
        "paid_outcome": paid,
        "value_per_outcome": v,
        "expected_rate": r,
        "non_intervention": n,
        "non_intervention_se": dist.se,
        "non_intervention_ci_lower": lo_n,
        "non_intervention_ci_upper": hi_n,
        "deadweight_share": n / r,
        "attachment_fee": a,
        "cost_per_participant": float("nan") if c is None else c,
        "ceiling": ceiling,
        "floor": floor,
        "recommended": recommended,
        "band_lower": band_lower,
        "band_upper": band_upper,
        "prob_overpay": risk,
        "cost_per_additional_outcome": cpa,
        "payment_per_participant": per_participant,
        "cohort_size": float("nan") if n_people is None else n_people,
        "expected_total_payment": float("nan") if n_people is None else per_participant * n_people,
        "budget_price": budget_price,
        "viable": viable,
        "verdict": verdict,
    }
    if c is None:
        notes.append(f"No floor for '{paid}': the provider's cost per participant was not "
                     "given, so the price's viability for the provider is not checked.")
    return row, notes
