"""The engine's advice on a price, in plain words, for the headline of a tariff report.

One function, :func:`price_advice`, reads one row of
:meth:`~pbr_eval.pricing.PriceRecommendation.to_frame` and says what the evidence
supports: pay the recommended price, pilot longer, pay mainly through attachment fees,
or change the contract so the provider can break even. ``pbr-eval demo`` prints it;
reports can put it in their headline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["price_advice", "RISK_EXPLAINED"]

#: Why the recommended price's risk and the payment simulation's risk differ.
RISK_EXPLAINED = (
    "Two risks are quoted. The recommended price is set so that the chance of paying for "
    "outcomes that would have happened anyway is small if only the price per outcome is "
    "paid: it assumes the rate without the programme is at the cautious end of its range. "
    "The chance of paying for deadweight in the payment simulation is for the whole "
    "tariff: it includes the attachment fee, paid whatever happens, and the chance "
    "variation of the cohort's outcomes, so it is usually larger."
)


def _number(row: Mapping[str, Any], key: str) -> float:
    try:
        v = float(row.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v


def price_advice(row: Mapping[str, Any]) -> list[str]:
    """Return the engine's advice on one priced outcome, as plain sentences.

    Parameters
    ----------
    row : mapping
        One row of ``PriceRecommendation.to_frame()`` (``recommended``, ``ceiling``,
        ``floor``, ``viable``, ``band_lower``, ``non_intervention_ci_upper``,
        ``expected_rate``, ``attachment_fee``).

    Returns
    -------
    list of str
        Empty when the recommended price can simply be paid.

    Notes
    -----
    The evidence is weak when the recommended price is below half the central
    ceiling (the estimate's uncertainty, not its level, sets the price) or when
    the upper limit of the non-intervention rate reaches the expected rate (the
    effect is not clearly different from zero). A price the provider cannot
    break even at (``floor > ceiling``) needs the contract changed.

    Examples
    --------
    >>> price_advice({"recommended": 0.0, "ceiling": 232.0, "floor": float("nan"),
    ...               "viable": None, "non_intervention_ci_upper": 0.77,
    ...               "expected_rate": 0.75, "attachment_fee": 0.0})[0][:60]
    "The programme's effect is not clearly different from zero: t"
    >>> price_advice({"recommended": 900.0, "ceiling": 1000.0, "floor": 500.0, "viable": True,
    ...               "non_intervention_ci_upper": 0.2, "expected_rate": 0.4})
    []
    """
    rec, ceiling, floor = (_number(row, k) for k in ("recommended", "ceiling", "floor"))
    upper, rate = _number(row, "non_intervention_ci_upper"), _number(row, "expected_rate")
    fee = _number(row, "attachment_fee")
    out: list[str] = []
    weak = (math.isfinite(upper) and math.isfinite(rate) and upper >= rate) or (
        math.isfinite(rec) and math.isfinite(ceiling) and ceiling > 0 and rec < 0.5 * ceiling)
    if weak:
        out.append(
            "The programme's effect is not clearly different from zero: the evidence cannot "
            "yet justify a confident price per outcome. Pilot longer (a larger cohort narrows "
            "the range), or pay mainly through attachment fees until the effect is "
            "established." + (" The attachment fee is paid whatever happens, so it carries "
                              "its own chance of paying for outcomes that would have happened "
                              "anyway." if math.isfinite(fee) and fee > 0 else ""))
    if row.get("viable") is False or (math.isfinite(floor) and math.isfinite(ceiling)
                                      and floor > ceiling):
        out.append(
            "At these inputs the provider cannot cover its cost per participant at any price "
            "that is value for money: lower the cost, raise the expected rate, or pay for a "
            "more valuable outcome.")
    elif math.isfinite(floor) and math.isfinite(rec) and floor > rec:
        out.append(
            "At the recommended price the provider does not break even: paying more raises "
            "the chance of paying for deadweight; a larger attachment fee or a longer pilot "
            "are the alternatives.")
    return out
