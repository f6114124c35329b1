"""The contract's what-if inputs, read once for the report, the workbook and the what-if page.

The tariff report's payments, the live workbook's starting inputs and the
what-if page's starting settings are the figures of
:func:`pbr_eval.pricing.whatif.whatif` for one set of
:class:`~pbr_eval.pricing.whatif.WhatIfInputs` and
:class:`~pbr_eval.pricing.whatif.Evidence` per paid outcome.
:func:`contract_outcomes` builds those inputs from a report's results and
pricing bundle (the price recommendation, the contract of
:func:`pbr_eval.analysis.commissioner_bundle`, its cash flow), so the three
apply the same price paid, attachment fee, cap, trigger and minimum
performance level and agree to the penny on the same inputs
(``tests/test_contract_figures.py``).

Where a value comes from, first found wins: the ``contract`` overrides
given here, the bundle's ``contract``, the cash flow's settings, the price
recommendation's row, then the defaults of
:class:`~pbr_eval.pricing.whatif.WhatIfInputs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.options import DEFAULT_DISCOUNT_RATE
from pbr_eval.pricing.whatif import Evidence, WhatIfFigures, WhatIfInputs, whatif

__all__ = ["ContractOutcome", "contract_outcomes", "recommendation_of", "contract_figures",
           "bundle_part"]

#: Months of a referral profile read back from a cash flow (the workbook's profile rows).
PROFILE_MONTHS = 24


@dataclass(frozen=True)
class ContractOutcome:
    """One paid outcome of a contract: its what-if inputs and evidence.

    Attributes
    ----------
    outcome : str
        The results' outcome name.
    paid : str
        The outcome paid for (``"not reoffended"`` for an outcome that should fall).
    better : str
        ``"higher"`` or ``"lower"``.
    inputs : WhatIfInputs
    evidence : Evidence

    Examples
    --------
    >>> import pbr_eval
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62)
    >>> contract_outcomes(None, rec)[0].better
    'higher'
    """

    outcome: str
    paid: str
    better: str
    inputs: WhatIfInputs
    evidence: Evidence


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def bundle_part(bundle: Any, name: str) -> Any:
    """Return the part ``name`` of a pricing bundle (mapping or object), or None.

    Parameters
    ----------
    bundle : mapping or object
    name : str

    Returns
    -------
    object or None

    Examples
    --------
    >>> bundle_part({"cashflow": 1}, "cashflow"), bundle_part(None, "cashflow")
    (1, None)
    """
    if bundle is None:
        return None
    if isinstance(bundle, Mapping):
        return bundle.get(name)
    return getattr(bundle, name, None)


def recommendation_of(pricing: Any) -> Any:
    """Return the :class:`~pbr_eval.pricing.PriceRecommendation` in ``pricing`` (object, bundle or dict), or None.

    Parameters
    ----------
    pricing : object
        A recommendation, its ``to_dict()``, or a bundle holding ``recommendation``.

    Returns
    -------
    PriceRecommendation or None

    Examples
    --------
    >>> import pbr_eval
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62)
    >>> recommendation_of({"recommendation": rec}) is rec, recommendation_of(3) is None
    (True, True)
    """
    from pbr_eval.pricing.recommendation import PriceRecommendation
    from pbr_eval.results.base import Results

    rec = pricing if isinstance(pricing, PriceRecommendation) else bundle_part(pricing, "recommendation")
    if rec is None and isinstance(pricing, Mapping) and pricing.get("kind") == "price":
        rec = pricing
    if isinstance(rec, Mapping):
        rec = Results.from_dict(rec)
    return rec if isinstance(rec, PriceRecommendation) else None


def _evidence_for(results: Any, row: Mapping[str, Any], outcome_type: str) -> Evidence:
    """Return the distribution behind one priced row (the complement for outcomes that should fall)."""
    from pbr_eval.pricing.rates import _scale_for, rates_from_dict, rates_from_results
    from pbr_eval.results.counterfactual import CounterfactualResults

    paid, n = str(row["paid_outcome"]), float(row["non_intervention"])
    rates: list[Any] = []
    try:
        if isinstance(results, CounterfactualResults):
            rates = rates_from_results(results)
        elif isinstance(results, Mapping) and "estimates" in results:
            rates = rates_from_dict(results)
    except Exception:  # noqa: BLE001 - a saved file without a rate's uncertainty: fallback below
        rates = []
    for ri in rates:
        if ri.outcome != row["outcome"]:
            continue
        dist = ri.distribution
        if abs(dist.estimate - n) > 1e-9 and dist.scale != "log":
            dist = dist.complement()
        if abs(dist.estimate - n) <= 1e-9 or dist.scale == "draws":
            return Evidence.from_distribution(paid, dist, outcome_type=ri.outcome_type)
    se = float(row.get("non_intervention_se") or 0.0)
    se = se if math.isfinite(se) else 0.0
    return Evidence(paid, n, se, _scale_for(outcome_type, n), outcome_type=outcome_type)


def _profile(contract: Mapping[str, Any], given: Mapping[str, Any],
             cash: Any) -> tuple[tuple[float, ...], float | None]:
    """Return the referral profile and, when it counts people, their number."""
    if given.get("referral_profile"):
        prof = tuple(float(x) for x in given["referral_profile"])
        return prof, None
    if given.get("referrals_per_month") is not None or given.get("months_of_referrals"):
        prof = (float(given.get("referrals_per_month", 1)),) * int(
            given.get("months_of_referrals", 12))
        return prof, sum(prof) if given.get("referrals_per_month") is not None else None
    if contract.get("referral_profile"):
        return tuple(float(x) for x in contract["referral_profile"]), None
    frame = getattr(cash, "frame", None)
    if frame is not None and "referrals" in frame:
        refs = [float(x) for x in frame["referrals"]]
        while refs and refs[-1] == 0:
            refs.pop()
        prof = tuple(refs[:PROFILE_MONTHS]) or (1.0,)
        return prof, sum(prof)
    if contract.get("months_of_referrals"):
        prof = (float(contract.get("referrals_per_month", 1)),) * int(
            contract["months_of_referrals"])
        return prof, sum(prof)
    return (1.0,) * 12, None


def contract_outcomes(results: Any, pricing: Any,
                      contract: Mapping[str, Any] | None = None) -> list[ContractOutcome]:
    """Return the what-if inputs and evidence of every priced outcome of a report.

    Parameters
    ----------
    results : CounterfactualResults, dict or None
        The estimates (a rate's distribution, e.g. bootstrap draws, becomes the
        evidence); None: the recommendation's rate and standard error.
    pricing : PriceRecommendation, dict or bundle
        A recommendation (or its ``to_dict()``), or the bundle of
        :func:`pbr_eval.analysis.commissioner_bundle` (its ``contract`` and
        ``cashflow`` set the contract's values: attachment fee, provider cost,
        cohort, referral profile, lags, discount rate, price paid, cap, trigger,
        minimum performance level).
    contract : mapping, optional
        Overrides of those values (the same keys, and ``cohort_size``,
        ``delivery_months``).

    Returns
    -------
    list of ContractOutcome
        One per priced outcome, in the recommendation's order.

    Raises
    ------
    OptionError
        When ``pricing`` holds no price recommendation, or a priced outcome has
        no finite non-intervention rate.

    Examples
    --------
    >>> import pbr_eval
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62,
    ...                      outcome_name="not reoffended", cost_per_participant=250)
    >>> [o] = contract_outcomes(None, rec, {"cap": 100000.0, "trigger": 0.6})
    >>> o.inputs.cap, o.inputs.trigger, o.evidence.scale
    (100000.0, 0.6, 'logit')
    """
    rec = recommendation_of(pricing)
    if rec is None:
        raise OptionError("The contract's figures need a price recommendation: give `pricing` "
                          "from pbr_eval.price() (or a bundle with `recommendation`); got "
                          f"{type(pricing).__name__}.")
    frame = rec.to_frame()
    level = float(rec.level)
    risk = round({"upper": (1 - level) / 2, "one-sided": 1 - level}.get(rec.rule, 0.5), 12)
    types = dict(rec.info.get("outcome_types") or {})
    given = dict(contract or {})
    bundle_contract = dict(bundle_part(pricing, "contract") or {}) if not hasattr(
        pricing, "to_frame") else {}
    cash = bundle_part(pricing, "cashflow") if not hasattr(pricing, "to_frame") else None
    cash_info = dict(getattr(cash, "info", {}) or {})
    profile, planned = _profile(bundle_contract, given, cash)
    out = []
    for _, row in frame.iterrows():
        def pick(key: str, default: Any, row: Any = row) -> Any:
            for source in (given, bundle_contract, cash_info):
                if source.get(key) is not None:
                    return source[key]
            value = row.get(key)
            return value if _finite(value) else default

        n = row["non_intervention"]
        if not _finite(n):
            raise OptionError(f"The price of {row['paid_outcome']!r} has no finite "
                              "non-intervention rate; its payments cannot be computed.")
        otype = types.get(str(row["outcome"]), "binary")
        cohort = pick("cohort_size", None)
        if cohort is None:
            cohort = int(round(planned)) if planned else (
                int(round(sum(profile))) if sum(profile) >= 1 else 100)
        paid = str(row["paid_outcome"])
        inputs = WhatIfInputs(
            value_per_outcome=float(row["value_per_outcome"]),
            expected_rate=float(row["expected_rate"]), risk=risk, level=level,
            attachment_fee=float(pick("attachment_fee", 0.0)),
            cohort_size=int(cohort),
            cost_per_participant=float(pick("cost_per_participant", 0.0)),
            referral_profile=profile,
            delivery_months=int(pick("delivery_months", 1)),
            outcome_lag=int(pick("outcome_lag", 12)), payment_lag=int(pick("payment_lag", 3)),
            discount_rate=float(pick("discount_rate", DEFAULT_DISCOUNT_RATE)),
            cap=pick("cap", None), trigger=pick("trigger", None),
            mpl_uplift=pick("mpl_uplift", None), price_paid=pick("price_paid", None))
        better = ("lower" if paid.startswith("not ") and paid != str(row["outcome"])
                  else "higher")
        out.append(ContractOutcome(str(row["outcome"]), paid, better, inputs,
                                   _evidence_for(results, row, otype)))
    if not out:
        raise OptionError("The price recommendation has no priced outcome.")
    return out


def contract_figures(results: Any, pricing: Any,
                     contract: Mapping[str, Any] | None = None) -> list[WhatIfFigures]:
    """Return :func:`~pbr_eval.pricing.whatif.whatif` of every priced outcome: the report's payment figures.

    Parameters
    ----------
    results, pricing, contract
        As :func:`contract_outcomes`.

    Returns
    -------
    list of WhatIfFigures

    Examples
    --------
    >>> import pbr_eval
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62,
    ...                      outcome_name="not reoffended", cost_per_participant=250)
    >>> [f] = contract_figures(None, rec, {"cohort_size": 600, "cap": 50000.0})
    >>> f.expected_total <= 50000.0
    True
    """
    return [whatif(o.inputs, o.evidence) for o in contract_outcomes(results, pricing, contract)]
