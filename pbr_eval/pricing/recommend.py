"""Price recommendations: the most a commissioner should pay per observed
outcome so that, on average, it pays only for additional outcomes."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.options import BETTER, DEFAULT_LEVEL, check_choice, check_level, check_positive
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["PriceRecommendation", "price", "price_from_rate", "value_for_money_ceiling"]

PRICE_COLUMNS = [
    "outcome",
    "paid_outcome",
    "value_per_outcome",
    "expected_rate",
    "non_intervention",
    "non_intervention_ci_lower",
    "non_intervention_ci_upper",
    "deadweight_share",
    "ceiling",
    "recommended",
    "band_lower",
    "band_upper",
]


def value_for_money_ceiling(
    value_per_outcome: float | np.ndarray,
    non_intervention: float | np.ndarray,
    expected_rate: float | np.ndarray,
) -> float | np.ndarray:
    """The most worth paying per observed outcome: ``v (1 - n / r)``.

    Paying ``p`` for each of the ``r`` observed outcomes per person costs
    ``p r``; only ``r - n`` of them are additional, worth ``v (r - n)``.
    Setting ``p r = v (r - n)`` gives ``p = v (1 - n / r)``.

    Parameters
    ----------
    value_per_outcome : float
        The fiscal or social value of one additional outcome.
    non_intervention : float
        The non-intervention rate ``n`` (outcomes per person without the programme).
    expected_rate : float
        The rate ``r`` expected with the programme.

    Examples
    --------
    >>> value_for_money_ceiling(1000.0, 0.05, 0.10)
    500.0
    """
    return value_per_outcome * (1.0 - non_intervention / expected_rate)


class PriceRecommendation:
    """Recommended outcome prices with bands (read-only).

    Attributes
    ----------
    level : float
        Confidence level of the band.
    info : mapping
        Inputs and notes.
    """

    def __init__(self, frame: pd.DataFrame, *, level: float, info: Mapping[str, Any]) -> None:
        self._frame = frame
        self.level = level
        self.info = MappingProxyType(dict(info))

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome: ceiling, recommended price and band."""
        return self._frame.copy()

    def summary(self) -> str:
        """Plain-text summary for a commissioner."""
        pct = int(round(self.level * 100))
        lines = ["pbr_eval: recommended outcome prices", "=" * 72]
        for _, r in self._frame.iterrows():
            lines += [
                f"Paid outcome: {r['paid_outcome']}",
                f"  value of one additional outcome: {r['value_per_outcome']:,.0f}",
                f"  expected rate with the programme: {r['expected_rate']:.1%}; non-intervention "
                f"rate {r['non_intervention']:.1%} ({pct}% CI {r['non_intervention_ci_lower']:.1%}"
                f" to {r['non_intervention_ci_upper']:.1%})",
                f"  {r['deadweight_share']:.0%} of the outcomes paid for would have happened anyway",
                f"  recommended price per outcome: {r['recommended']:,.0f} (band "
                f"{r['band_lower']:,.0f} to {r['band_upper']:,.0f})",
                "",
            ]
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines).rstrip()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<PriceRecommendation outcomes={self._frame['outcome'].tolist()}>"

    def _repr_html_(self) -> str:
        return "<div><strong>Recommended outcome prices</strong>" + self._frame.to_html(
            index=False, float_format=lambda v: f"{v:,.4g}", escape=True
        ) + "</div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        from pbr_eval.results.counterfactual import _jsonable

        return _jsonable(
            {"level": self.level, "prices": self._frame.to_dict(orient="records"),
             "info": dict(self.info)}
        )


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
) -> dict[str, Any]:
    """Price one outcome from a non-intervention rate and its interval.

    Returns a dict with the columns of :meth:`PriceRecommendation.to_frame`.

    Raises
    ------
    NotViableError
        When ``expected_rate`` does not exceed ``non_intervention``.

    Examples
    --------
    >>> row = price_from_rate(outcome="job", non_intervention=0.05, ci=(0.04, 0.06),
    ...                       value_per_outcome=1000, expected_rate=0.10)
    >>> row["recommended"], row["band_lower"], row["band_upper"]
    (500.0, 400.0, 600.0)
    """
    v = check_positive("value_per_outcome", value_per_outcome)
    r = float(expected_rate)
    n = float(non_intervention)
    if not math.isfinite(r) or r <= 0:
        raise OptionError(f"`expected_rate` must be a positive number; got {expected_rate!r}.")
    if r <= n:
        raise NotViableError(
            f"For '{paid_outcome or outcome}' the expected rate ({r:.4g}) does not exceed the "
            f"non-intervention rate ({n:.4g}): every outcome paid for would have happened "
            "anyway, so no price is value for money. Check the outcome's direction "
            "(better='lower' for outcomes the programme should reduce) or the expected rate."
        )
    lo_n, hi_n = ci
    ceiling = float(value_for_money_ceiling(v, n, r))
    band_lower = max(0.0, float(value_for_money_ceiling(v, hi_n, r)))
    band_upper = float(value_for_money_ceiling(v, max(lo_n, 0.0), r))
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
        "band_lower": band_lower,
        "band_upper": band_upper,
    }


def price(
    results: CounterfactualResults,
    *,
    value_per_outcome: float | Mapping[str, float],
    expected_rate: float | Mapping[str, float] | None = None,
    level: float = DEFAULT_LEVEL,
    better: str | Mapping[str, str] = "higher",
    outcomes: Sequence[str] | None = None,
) -> PriceRecommendation:
    """Recommend a price per observed outcome from a non-intervention estimate.

    For each outcome the price is the most a commissioner can pay per
    *observed* outcome and still pay, on average, only for the *additional*
    outcomes: ``value_per_outcome x (1 - non_intervention / expected_rate)``.
    The band carries the confidence interval of the non-intervention rate:
    its upper limit gives the band's lower price and its lower limit the
    upper price.

    Parameters
    ----------
    results : CounterfactualResults
        From :func:`pbr_eval.estimate`.
    value_per_outcome : float or dict
        Fiscal or social value of one additional outcome (e.g. from a
        unit-cost database), one number or one per outcome.
    expected_rate : float or dict, optional
        The outcome rate expected with the programme (on the paid scale).
        Defaults to the observed rate of the treated.
    level : float, default 0.95
        Confidence level of the band.
    better : {"higher", "lower"} or dict, default "higher"
        Direction the programme should move the outcome. For a binary
        outcome the programme should reduce (e.g. reoffending), ``"lower"``
        prices its complement (e.g. *not* reoffending): rates ``r`` become
        ``1 - r``. Counts and continuous outcomes that should fall are priced
        per event avoided, which is the pricing engine's job; here they raise.
    outcomes : list of str, optional
        Which outcomes to price (default: all).

    Returns
    -------
    PriceRecommendation

    Raises
    ------
    NotViableError
        When the expected rate does not exceed the non-intervention rate.
    OptionError
        For invalid inputs (naming the option).

    Notes
    -----
    This is the seed of the pricing engine: the recommended price is the
    value-for-money ceiling at the point estimate.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    >>> rec.to_frame()[["paid_outcome", "recommended"]].shape
    (1, 2)
    """
    if not isinstance(results, CounterfactualResults):
        raise OptionError(
            "`results` must be the result of pbr_eval.estimate(); got "
            f"{type(results).__name__}."
        )
    level = check_level(level)
    all_outcomes = results.outcomes
    chosen = list(all_outcomes if outcomes is None else outcomes)
    for o in chosen:
        if o not in all_outcomes:
            raise OptionError(
                f"`outcomes` must be among {', '.join(map(repr, all_outcomes))}; got {o!r}."
            )
    values = _per_outcome("value_per_outcome", value_per_outcome, chosen)
    expected = _per_outcome("expected_rate", expected_rate, chosen)
    directions = _per_outcome("better", better, chosen)
    frame = results.to_frame(level).set_index("outcome")
    rows = []
    notes = []
    for o in chosen:
        d = check_choice(f"better['{o}']" if isinstance(better, Mapping) else "better",
                         directions[o] or "higher", BETTER)
        r = frame.loc[o]
        n, lo, hi, obs = (r["non_intervention"], r["non_intervention_ci_lower"],
                          r["non_intervention_ci_upper"], r["observed"])
        paid = o
        if d == "lower":
            if r["outcome_type"] != "binary":
                raise OptionError(
                    f"`better='lower'` for '{o}' ({r['outcome_type']}) would price events "
                    "avoided; price() handles rates only. Use a binary outcome (e.g. any "
                    "reoffence) or the pricing engine's per-event-avoided mechanism."
                )
            n, lo, hi, obs = 1 - n, 1 - hi, 1 - lo, 1 - obs
            paid = f"not {o}"
        exp = expected[o]
        if exp is None:
            exp = obs
            notes.append(f"Expected rate for '{paid}' taken as the treated group's observed rate.")
        rows.append(
            price_from_rate(
                outcome=o, non_intervention=n, ci=(lo, hi), value_per_outcome=values[o],
                expected_rate=exp, paid_outcome=paid,
            )
        )
    out = pd.DataFrame(rows, columns=PRICE_COLUMNS)
    info = {
        "method": results.method,
        "level": level,
        "rule": "central: value-for-money ceiling at the estimated non-intervention rate",
        "fingerprint": results.info.get("fingerprint"),
        "notes": notes,
    }
    return PriceRecommendation(out, level=level, info=info)
