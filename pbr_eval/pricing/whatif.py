"""The commissioner's what-if quantities: one definition, rendered three ways.

The live tariff workbook (formulas), the what-if page (JavaScript) and the
Python API compute the figures a commissioner explores from the same inputs
with the same definitions, all given here as pure functions of two frozen
records:

* :class:`WhatIfInputs`: what the commissioner can change (the value of an
  outcome, the risk of paying for deadweight they accept, the attachment fee,
  the cohort, the provider's cost, the referral profile, the lags, the
  discount rate, a cap, a trigger and a minimum performance level).
* :class:`Evidence`: what the evaluation fixed (the estimated non-intervention
  rate of the paid outcome and its uncertainty: a normal distribution on a
  stated scale, or draws).

Every function is deterministic (no simulation), so a spreadsheet engine or a
browser reproduces it to rounding error. The definitions (``v`` value per
outcome, ``r`` expected rate with the programme, ``n`` the non-intervention
rate, ``A`` attachment fee per participant, ``m`` the minimum performance
level, 0 when there is none, ``N`` cohort size, ``p`` price per outcome):

* paid outcomes per participant ``k = r - m``;
* ceiling ``c(n) = (v (r - n) - A) / k``: at most this per paid outcome, the
  commissioner pays no more than the additional outcomes are worth;
* recommended price at risk ``a``: ``max(0, c(n_a))`` with ``n_a`` the
  ``1 - a`` quantile of the non-intervention rate (normal on the evidence's
  scale, or the empirical quantile of the draws, interpolated linearly as
  spreadsheets' ``PERCENTILE.INC`` does); equal to :func:`pbr_eval.price`
  with ``rule="one-sided"`` and ``level = 1 - a`` when there is no minimum
  performance level;
* band: ``[max(0, c(n_hi)), max(0, c(n_lo))]`` over the two-sided ``level``
  interval of ``n``;
* chance of paying for deadweight at price ``p``: ``P(n > r - (A + p k) / v)``
  (the commissioner spends more per participant than the additional outcomes
  are worth);
* provider break-even price: ``max(0, (cost - A) / k)``;
* budget at 95%: ``N A + p max(0, N r + z_0.95 sd - N m)``, at most the cap,
  where ``sd = sqrt(N r (1 - r))`` (yes/no outcome) or ``sqrt(N r)`` (count):
  the cohort's payments with the expected rate, covering its chance
  variation 95 times in 100 (normal approximation);
* monthly cash flow (as :func:`pbr_eval.pricing.cash_flow`, referrals
  ``N w_t / sum w``), with outcome income held at the cap and withheld when
  the expected rate misses the trigger; peak working capital and net present
  value of the provider's monthly net flows.

Limitations: the budget and the trigger chance use the normal approximation
to the number of outcomes in the cohort and take the expected rate as known;
the payment simulation (:func:`pbr_eval.pricing.simulate_payments`) draws the
non-intervention rate and each person's outcome instead, so its figures
differ by simulation error and by that extra uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.options import (
    DEFAULT_DISCOUNT_RATE,
    OUTCOME_TYPES,
    check_choice,
    check_count,
    check_int,
    check_level,
    check_money,
    check_probability,
    check_rate,
    check_rates,
)
from pbr_eval.pricing.cashflow import npv
from pbr_eval.pricing.rates import RateDistribution

__all__ = [
    "WhatIfInputs",
    "Evidence",
    "WhatIfFigures",
    "RISK_LEVELS",
    "DRAW_DECIMALS",
    "attachment_fee_used",
    "minimum_level",
    "ceiling_at",
    "rate_at_risk",
    "price_at_risk",
    "price_band",
    "price_used",
    "deadweight_chance",
    "break_even_price",
    "budget_at",
    "expected_total_payment",
    "trigger_chance",
    "referrals_by_month",
    "horizon",
    "monthly_cash_flow",
    "peak_working_capital",
    "net_present_value",
    "whatif",
    "ADVICE",
    "advice",
]

#: The risks of a price-by-risk table (chance of paying for deadweight).
RISK_LEVELS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5)
#: Decimals the evidence's draws are kept to (so a spreadsheet holds the same numbers).
DRAW_DECIMALS = 9
_SCALES = ("logit", "log", "normal", "draws")


@dataclass(frozen=True)
class Evidence:
    """The estimated non-intervention rate of one paid outcome and its uncertainty.

    Attributes
    ----------
    outcome : str
        The paid outcome's name (as the commissioner reads it).
    estimate : float
        The non-intervention rate on the paid scale (for an outcome that
        should fall, the complement: people *not* reoffending).
    se : float
        Its standard error (natural scale).
    scale : {"logit", "log", "normal", "draws"}
        Where the distribution is normal, or ``"draws"`` for the empirical
        distribution of ``draws``.
    draws : tuple of float, optional
        Draws of the rate (bootstrap or posterior), rounded to
        :data:`DRAW_DECIMALS` decimals.
    outcome_type : {"binary", "count", "continuous"}, default "binary"
    bounds : (float, float)
        The rate's range (held in the quantiles of the ``"normal"`` scale).

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.01, "normal")
    >>> round(ev.quantile(0.975), 4)
    0.0696
    """

    outcome: str
    estimate: float
    se: float
    scale: str
    draws: tuple[float, ...] | None = None
    outcome_type: str = "binary"
    bounds: tuple[float, float] = (-math.inf, math.inf)

    def __post_init__(self) -> None:
        check_choice("scale", self.scale, _SCALES)
        check_choice("outcome_type", self.outcome_type, OUTCOME_TYPES)
        if self.scale == "draws":
            if not self.draws:
                raise OptionError("`draws` must hold at least one draw when scale='draws'.")
            arr = np.round(check_rates("draws", list(self.draws), outcome_type=None),
                           DRAW_DECIMALS)
            object.__setattr__(self, "draws", tuple(float(x) for x in arr))
        else:
            check_rate("estimate", self.estimate, outcome_type=self.outcome_type)
            check_money("se", self.se)  # a non-negative finite number
            object.__setattr__(self, "draws", None)
        lo, hi = self.bounds
        if self.outcome_type == "binary" and (lo, hi) == (-math.inf, math.inf):
            object.__setattr__(self, "bounds", (0.0, 1.0))
        elif self.outcome_type == "count" and (lo, hi) == (-math.inf, math.inf):
            object.__setattr__(self, "bounds", (0.0, math.inf))

    @classmethod
    def from_distribution(cls, outcome: str, distribution: RateDistribution, *,
                          outcome_type: str = "binary") -> Evidence:
        """Return the evidence held by a :class:`~pbr_eval.pricing.RateDistribution`."""
        draws = None if distribution.draws is None else tuple(
            float(x) for x in np.asarray(distribution.draws, dtype=float).ravel())
        lo, hi = distribution.bounds
        return cls(outcome, float(distribution.estimate), float(distribution.se),
                   distribution.scale, draws, outcome_type, (float(lo), float(hi)))

    @property
    def distribution(self) -> RateDistribution:
        """The same distribution as a :class:`~pbr_eval.pricing.RateDistribution`."""
        draws = None if self.draws is None else np.asarray(self.draws, dtype=float)
        return RateDistribution(self.estimate, self.se, self.scale, draws, self.bounds)

    @property
    def centre(self) -> float:
        """The point estimate (the mean of the draws for ``scale="draws"``)."""
        return float(np.mean(self.draws)) if self.draws is not None else self.estimate

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile of the non-intervention rate."""
        return float(self.distribution.quantile(q))

    def sf(self, x: float) -> float:
        """``P(rate > x)``."""
        return float(self.distribution.sf(x))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (infinite bounds written as ``None``)."""
        out = asdict(self)
        out["draws"] = None if self.draws is None else list(self.draws)
        out["bounds"] = [None if not math.isfinite(b) else b for b in self.bounds]
        return out


@dataclass(frozen=True)
class WhatIfInputs:
    """What a commissioner can change, for one paid outcome and its contract.

    Attributes
    ----------
    value_per_outcome : float
        Value of one additional outcome (money).
    expected_rate : float
        The rate expected with the programme, on the paid scale.
    risk : float, default 0.025
        The chance of paying for deadweight the commissioner accepts, in (0, 1).
    level : float, default 0.95
        Confidence level of the price band.
    attachment_fee : float, default 0
        Paid per participant whatever the outcome.
    attachment_share : float, optional
        If given, sets the attachment fee instead: the share of the most paid
        for one participant with an outcome (fee plus price) that the fee
        makes up, at the recommended price (Troubled Families 2012/13: 80%).
    cohort_size : int, default 100
    cost_per_participant : float, default 0
        The provider's delivery cost per participant.
    referral_profile : tuple of float, default twelve equal months
        Relative referrals by month; referrals in month ``t`` are
        ``N w_t / sum(w)``.
    delivery_months : int, default 1
        Months over which each participant's cost is spread.
    outcome_lag, payment_lag : int, default 12 and 3
        Months from referral to evidence, and from evidence (or attachment)
        to payment.
    discount_rate : float, default 0.035
        Annual rate for the net present value.
    cap : float, optional
        Most the contract pays for the cohort (attachment fees and outcome
        payments together).
    trigger : float, optional
        Rate the cohort must reach (paid scale) before any outcome is paid.
    mpl_uplift : float, optional
        Minimum performance level ``m = n (1 + uplift)`` from the estimated
        non-intervention rate ``n``; only outcomes beyond ``m N`` are paid.
    price_paid : float, optional
        The price the commissioner pays per paid outcome (default: the
        recommended price at ``risk``).

    Examples
    --------
    >>> WhatIfInputs(value_per_outcome=4000, expected_rate=0.1).risk
    0.025
    """

    value_per_outcome: float
    expected_rate: float
    risk: float = 0.025
    level: float = 0.95
    attachment_fee: float = 0.0
    attachment_share: float | None = None
    cohort_size: int = 100
    cost_per_participant: float = 0.0
    referral_profile: tuple[float, ...] = field(default_factory=lambda: (1.0,) * 12)
    delivery_months: int = 1
    outcome_lag: int = 12
    payment_lag: int = 3
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    cap: float | None = None
    trigger: float | None = None
    mpl_uplift: float | None = None
    price_paid: float | None = None

    def __post_init__(self) -> None:
        check_money("value_per_outcome", self.value_per_outcome, positive=True)
        check_rate("expected_rate", self.expected_rate, outcome_type=None, positive=True)
        check_probability("risk", self.risk)
        check_level(self.level)
        check_money("attachment_fee", self.attachment_fee)
        if self.attachment_share is not None:
            s = check_probability("attachment_share", self.attachment_share, open_interval=False)
            if s >= 1:
                check_probability("attachment_share", s)  # raises: below 1
        object.__setattr__(self, "cohort_size",
                           check_count("cohort_size", self.cohort_size, minimum=1))
        check_money("cost_per_participant", self.cost_per_participant)
        prof = check_rates("referral_profile", list(self.referral_profile), outcome_type=None)
        if prof.size == 0 or prof.sum() <= 0:
            raise OptionError("`referral_profile` must hold at least one month with a positive "
                              "number of referrals; got none.")
        object.__setattr__(self, "referral_profile", tuple(float(x) for x in prof))
        check_int("delivery_months", self.delivery_months)
        check_int("outcome_lag", self.outcome_lag, minimum=0)
        check_int("payment_lag", self.payment_lag, minimum=0)
        d = check_probability("discount_rate", self.discount_rate, open_interval=False)
        if d >= 1:
            check_probability("discount_rate", d)  # raises: below 1
        if self.cap is not None:
            check_money("cap", self.cap)
        if self.trigger is not None:
            check_rate("trigger", self.trigger, outcome_type=None)
        if self.mpl_uplift is not None:
            check_probability("mpl_uplift", self.mpl_uplift, open_interval=False)
        if self.price_paid is not None:
            check_money("price_paid", self.price_paid)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        out = asdict(self)
        out["referral_profile"] = list(self.referral_profile)
        return out


def minimum_level(inputs: WhatIfInputs, evidence: Evidence) -> float:
    """Return the minimum performance level ``m = n (1 + uplift)`` (0 without one).

    Examples
    --------
    >>> round(minimum_level(WhatIfInputs(4000, 0.1, mpl_uplift=0.1),
    ...                     Evidence("job", 0.05, 0.01, "normal")), 6)
    0.055
    """
    if inputs.mpl_uplift is None:
        return 0.0
    return evidence.centre * (1.0 + inputs.mpl_uplift)


def _paid_per_participant(inputs: WhatIfInputs, evidence: Evidence) -> float:
    k = inputs.expected_rate - minimum_level(inputs, evidence)
    if k <= 0:
        raise NotViableError(
            f"For '{evidence.outcome}' the expected rate ({inputs.expected_rate:.4g}) does not "
            f"exceed the minimum performance level ({minimum_level(inputs, evidence):.4g}): no "
            "outcome would be paid. Lower the uplift or check the expected rate."
        )
    return k


def rate_at_risk(evidence: Evidence, risk: float) -> float:
    """Return the non-intervention rate exceeded with chance ``risk``: the ``1 - risk`` quantile.

    Examples
    --------
    >>> round(rate_at_risk(Evidence("job", 0.05, 0.01, "normal"), 0.025), 6)
    0.069600
    """
    return evidence.quantile(1.0 - check_probability("risk", risk))


def _fee(inputs: WhatIfInputs, evidence: Evidence, risk: float) -> float:
    if inputs.attachment_share is None:
        return float(inputs.attachment_fee)
    s = inputs.attachment_share
    k = _paid_per_participant(inputs, evidence)
    worth = inputs.value_per_outcome * (inputs.expected_rate - rate_at_risk(evidence, risk))
    return max(0.0, s * worth / (k * (1.0 - s) + s))


def attachment_fee_used(inputs: WhatIfInputs, evidence: Evidence) -> float:
    """Return the attachment fee per participant: ``attachment_fee``, or the one ``attachment_share`` sets.

    Notes
    -----
    With share ``s``, the fee ``A`` is ``s`` of fee plus price at the
    recommended price ``p = (W - A) / k`` (``W = v (r - n_a)``), so
    ``A = s (A + p)`` gives ``A = s W / (k (1 - s) + s)`` (at least 0).

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.0, "normal")
    >>> inp = WhatIfInputs(4000, 0.25, attachment_share=0.8)
    >>> a = attachment_fee_used(inp, ev)
    >>> p = price_at_risk(inp, ev)
    >>> round(a / (a + p), 6)
    0.8
    """
    return _fee(inputs, evidence, inputs.risk)


def ceiling_at(inputs: WhatIfInputs, evidence: Evidence, rate: float,
               attachment_fee: float | None = None) -> float:
    """Value-for-money ceiling at non-intervention rate ``rate``: ``(v (r - n) - A) / k``.

    Examples
    --------
    >>> ceiling_at(WhatIfInputs(1000.0, 0.10), Evidence("job", 0.05, 0.01, "normal"), 0.05)
    500.0
    """
    a = attachment_fee_used(inputs, evidence) if attachment_fee is None else attachment_fee
    k = _paid_per_participant(inputs, evidence)
    return (inputs.value_per_outcome * (inputs.expected_rate - rate) - a) / k


def price_at_risk(inputs: WhatIfInputs, evidence: Evidence, risk: float | None = None) -> float:
    """Recommended price per paid outcome at the chance of paying for deadweight ``risk``.

    ``max(0, c(n_a))`` with ``n_a`` the ``1 - risk`` quantile (default: the
    inputs' risk). The attachment fee is the one at the inputs' risk, so a
    price-by-risk table varies the price only.

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.005, "logit")
    >>> round(price_at_risk(WhatIfInputs(4000, 0.10, attachment_fee=50), ev), 2)
    1069.57
    """
    a = attachment_fee_used(inputs, evidence)
    n_a = rate_at_risk(evidence, inputs.risk if risk is None else risk)
    return max(0.0, ceiling_at(inputs, evidence, n_a, a))


def price_band(inputs: WhatIfInputs, evidence: Evidence) -> tuple[float, float]:
    """Return the band ``[max(0, c(n_hi)), max(0, c(n_lo))]`` over the ``level`` interval of ``n``.

    Examples
    --------
    >>> lo, hi = price_band(WhatIfInputs(1000.0, 0.10), Evidence("job", 0.05, 0.01, "normal"))
    >>> round(lo, 2), round(hi, 2)
    (304.0, 696.0)
    """
    a = attachment_fee_used(inputs, evidence)
    lo_n = evidence.quantile(0.5 - inputs.level / 2)
    hi_n = evidence.quantile(0.5 + inputs.level / 2)
    return (max(0.0, ceiling_at(inputs, evidence, hi_n, a)),
            max(0.0, ceiling_at(inputs, evidence, max(lo_n, 0.0), a)))


def price_used(inputs: WhatIfInputs, evidence: Evidence) -> float:
    """Return the price paid: ``price_paid`` if given, else the recommended price."""
    return float(inputs.price_paid) if inputs.price_paid is not None else price_at_risk(
        inputs, evidence)


def deadweight_chance(inputs: WhatIfInputs, evidence: Evidence,
                      price: float | None = None) -> float:
    """Chance of paying for deadweight at ``price`` (default: the price paid).

    ``P(n > n*)`` with ``n* = r - (A + p k) / v``; 0 when nothing is paid.
    For draws, ``n*`` is rounded to 12 decimals (the draws have
    :data:`DRAW_DECIMALS`), so a price set at a draw counts that draw the same
    way in every engine.

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.01, "normal")
    >>> round(deadweight_chance(WhatIfInputs(1000.0, 0.10), ev, 500.0), 3)
    0.5
    """
    a = attachment_fee_used(inputs, evidence)
    p = price_used(inputs, evidence) if price is None else price
    if a <= 0 and p <= 0:
        return 0.0
    k = _paid_per_participant(inputs, evidence)
    n_star = inputs.expected_rate - (a + p * k) / inputs.value_per_outcome
    if evidence.scale == "draws":
        n_star = round(n_star, 12)
    return evidence.sf(n_star)


def break_even_price(inputs: WhatIfInputs, evidence: Evidence) -> float:
    """Return the least price per paid outcome at which the provider covers its cost: ``max(0, (c - A) / k)``.

    Examples
    --------
    >>> break_even_price(WhatIfInputs(4000, 0.25, attachment_fee=200.0,
    ...                               cost_per_participant=1000.0),
    ...                  Evidence("job", 0.05, 0.01, "normal"))
    3200.0
    """
    a = attachment_fee_used(inputs, evidence)
    return max(0.0, (inputs.cost_per_participant - a) / _paid_per_participant(inputs, evidence))


def _outcome_sd(inputs: WhatIfInputs, evidence: Evidence) -> float:
    n, r = inputs.cohort_size, inputs.expected_rate
    if evidence.outcome_type == "binary":
        return math.sqrt(n * r * max(0.0, 1.0 - r))
    return math.sqrt(n * r)


def _capped(inputs: WhatIfInputs, amount: float) -> float:
    return amount if inputs.cap is None else min(float(inputs.cap), amount)


def budget_at(inputs: WhatIfInputs, evidence: Evidence, q: float = 0.95,
              price: float | None = None) -> float:
    """Return the budget that covers the cohort's payments with chance ``q``.

    ``N A + p max(0, N r + z_q sd - N m)``, at most the cap (normal
    approximation to the number of outcomes; see the module notes).

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.01, "normal")
    >>> round(budget_at(WhatIfInputs(1000.0, 0.10, cohort_size=1000), ev, price=500.0), 2)
    57802.23
    """
    q = check_probability("q", q)
    a = attachment_fee_used(inputs, evidence)
    p = price_used(inputs, evidence) if price is None else price
    n = inputs.cohort_size
    paid = n * inputs.expected_rate + float(stats.norm.ppf(q)) * _outcome_sd(inputs, evidence) \
        - n * minimum_level(inputs, evidence)
    return _capped(inputs, n * a + p * max(0.0, paid))


def expected_total_payment(inputs: WhatIfInputs, evidence: Evidence,
                           price: float | None = None) -> float:
    """``N (A + p k)`` at the expected rate, at most the cap (0 for outcomes if the trigger is missed).

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.01, "normal")
    >>> expected_total_payment(WhatIfInputs(1000.0, 0.10, cohort_size=1000), ev, 500.0)
    50000.0
    """
    a = attachment_fee_used(inputs, evidence)
    p = price_used(inputs, evidence) if price is None else price
    met = inputs.trigger is None or inputs.expected_rate >= inputs.trigger
    k = _paid_per_participant(inputs, evidence)
    return _capped(inputs, inputs.cohort_size * (a + (p * k if met else 0.0)))


def trigger_chance(inputs: WhatIfInputs, evidence: Evidence) -> float:
    """Chance that the cohort's rate reaches the trigger (1 without a trigger).

    ``1 - Phi((N T - N r) / sd)`` (normal approximation; a cohort whose
    outcomes cannot vary reaches it when ``r >= T``).

    Examples
    --------
    >>> ev = Evidence("job", 0.05, 0.01, "normal")
    >>> round(trigger_chance(WhatIfInputs(1000.0, 0.10, cohort_size=900, trigger=0.1), ev), 3)
    0.5
    """
    if inputs.trigger is None:
        return 1.0
    sd = _outcome_sd(inputs, evidence)
    gap = inputs.cohort_size * (inputs.trigger - inputs.expected_rate)
    if sd == 0:
        return 1.0 if gap <= 0 else 0.0
    return float(stats.norm.sf(gap / sd))


def referrals_by_month(inputs: WhatIfInputs) -> np.ndarray:
    """Referrals in each month: ``N w_t / sum(w)``.

    Examples
    --------
    >>> referrals_by_month(WhatIfInputs(1000.0, 0.1, cohort_size=30,
    ...                                 referral_profile=(1, 2))).tolist()
    [10.0, 20.0]
    """
    w = np.asarray(inputs.referral_profile, dtype=float)
    return inputs.cohort_size * w / w.sum()


def horizon(inputs: WhatIfInputs) -> int:
    """Months in the schedule: referral months plus the longest lag."""
    return len(inputs.referral_profile) + max(inputs.delivery_months - 1,
                                              inputs.outcome_lag + inputs.payment_lag,
                                              inputs.payment_lag)


def monthly_cash_flow(
    inputs: WhatIfInputs,
    outcome_payments: Sequence[tuple[float, float]],
    *,
    attachment_fee: float = 0.0,
    months: int | None = None,
) -> dict[str, np.ndarray]:
    """Return the provider's monthly schedule.

    Parameters
    ----------
    inputs : WhatIfInputs
        Cohort, referral profile, cost, lags, cap, discount rate.
    outcome_payments : sequence of (price, paid rate)
        For each paid outcome the price per paid outcome and the paid
        outcomes per participant ``k`` (0 when its trigger is missed).
    attachment_fee : float, default 0
        Per participant, paid ``payment_lag`` months after referral.
    months : int, optional
        Length of the schedule (at least :func:`horizon`; later months are
        zero).

    Returns
    -------
    dict of str to numpy.ndarray
        ``month``, ``referrals``, ``delivery_cost``, ``attachment_income``,
        ``outcome_income``, ``net``, ``cash_position``.

    Notes
    -----
    As :func:`pbr_eval.pricing.cash_flow`: referrals ``k_t`` cost ``k_t c / D``
    in months ``t .. t + D - 1``; attachment income ``k_t A`` in month
    ``t + L_p``; outcome income ``k_t sum_o p_o k_o`` in month ``t + L_o + L_p``.
    With a cap, income stops once the cumulative income reaches it (each
    month's income is at most the cap less what was paid before).

    Examples
    --------
    >>> inp = WhatIfInputs(1000.0, 0.5, cohort_size=20, referral_profile=(1, 1),
    ...                    cost_per_participant=1000, outcome_lag=2, payment_lag=1)
    >>> monthly_cash_flow(inp, [(3000.0, 0.5)])["cash_position"].tolist()
    [-10000.0, -20000.0, -20000.0, -5000.0, 10000.0]
    """
    ref = referrals_by_month(inputs)
    h = max(horizon(inputs), months or 0)
    dm, lo, lp = inputs.delivery_months, inputs.outcome_lag, inputs.payment_lag
    cost = np.zeros(h)
    att = np.zeros(h)
    out = np.zeros(h)
    for j in range(dm):
        cost[j:j + ref.size] += ref * inputs.cost_per_participant / dm
    att[lp:lp + ref.size] += ref * attachment_fee
    per_person = sum(p * k for p, k in outcome_payments)
    out[lo + lp:lo + lp + ref.size] += ref * per_person
    if inputs.cap is not None:
        paid = 0.0
        for t in range(h):
            att[t] = min(att[t], max(0.0, inputs.cap - paid))
            paid += att[t]
            out[t] = min(out[t], max(0.0, inputs.cap - paid))
            paid += out[t]
    refs = np.zeros(h)
    refs[:ref.size] = ref
    net = att + out - cost
    return {"month": np.arange(h), "referrals": refs, "delivery_cost": cost,
            "attachment_income": att, "outcome_income": out, "net": net,
            "cash_position": np.cumsum(net)}


def peak_working_capital(schedule: dict[str, np.ndarray]) -> float:
    """Return the most the provider is out of pocket at a month end: ``max(0, -min cash position)``."""
    return float(max(0.0, -float(np.min(schedule["cash_position"]))))


def net_present_value(schedule: dict[str, np.ndarray],
                      discount_rate: float = DEFAULT_DISCOUNT_RATE) -> float:
    """NPV of the monthly net flows, ``sum_t x_t / (1 + d)^(t / 12)`` (:func:`~pbr_eval.pricing.npv`)."""
    return npv(schedule["net"], discount_rate)


@dataclass(frozen=True)
class WhatIfFigures:
    """Every figure the workbook, the what-if page and the API show for one set of inputs."""

    outcome: str
    rate_at_risk: float
    attachment_fee: float
    ceiling: float
    recommended: float
    price_paid: float
    band_lower: float
    band_upper: float
    deadweight_chance: float
    break_even: float
    expected_total: float
    budget_95: float
    trigger_chance: float
    peak_working_capital: float
    npv: float
    price_by_risk: tuple[tuple[float, float], ...]
    schedule: dict[str, np.ndarray] = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the schedule as lists)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "schedule"}
        out["price_by_risk"] = [list(x) for x in self.price_by_risk]
        out["schedule"] = {k: v.tolist() for k, v in self.schedule.items()}
        return out


#: The engine's advice: rule -> (text when it applies, text when it does not). The workbook's
#: Read me sheet writes these same sentences through formulas; :func:`advice` picks them.
ADVICE: dict[str, tuple[str, ...]] = {
    "pilot": (
        "Pilot longer: the evidence is too uncertain for a confident price (the recommended "
        "price is less than half the most worth paying at the central estimate). A longer or "
        "larger pilot narrows the range.",
        "The evidence supports a price: the recommended price is at least half the most worth "
        "paying at the central estimate.",
    ),
    "attachment": (
        "Use attachment fees: at the price paid the provider does not cover its delivery "
        "cost, so pay part of the price when people join (an attachment fee) or the provider "
        "cannot take the contract.",
        "Consider attachment fees: the provider must fund more than a quarter of its delivery "
        "cost before payments arrive; an attachment fee eases its cash flow.",
        "Attachment fees are not needed for the provider to break even or to fund its cash "
        "flow at these inputs.",
    ),
    "segment": (
        "Segment: more than half of the outcomes paid for would have happened anyway. Pay "
        "different prices for groups with different non-intervention rates (payment groups) "
        "so the easiest cases are not over-paid.",
        "Segmenting is not needed on deadweight grounds: most outcomes paid for are additional.",
    ),
}


def advice(inputs: WhatIfInputs, evidence: Evidence,
           figures: WhatIfFigures | None = None) -> dict[str, str]:
    """Return the engine's advice (pilot longer, use attachment fees, segment) for these inputs.

    Rules: *pilot longer* when the recommended price is under half the most
    worth paying at the central estimate; *use attachment fees* when the
    provider's break-even price exceeds the price paid, *consider* them when
    the peak working capital exceeds a quarter of the total delivery cost;
    *segment* when the deadweight share ``n / r`` exceeds one half.

    Examples
    --------
    >>> ev = Evidence("not reoffended", 0.7183, 0.026, "logit")
    >>> advice(WhatIfInputs(5000.0, 0.7533, cohort_size=600), ev)["pilot"][:12]
    'Pilot longer'
    """
    f = whatif(inputs, evidence) if figures is None else figures
    total_cost = inputs.cohort_size * inputs.cost_per_participant
    if f.break_even > f.price_paid:
        attach = ADVICE["attachment"][0]
    elif f.peak_working_capital > 0.25 * total_cost:
        attach = ADVICE["attachment"][1]
    else:
        attach = ADVICE["attachment"][2]
    return {
        "pilot": ADVICE["pilot"][0 if f.recommended < 0.5 * f.ceiling else 1],
        "attachment": attach,
        "segment": ADVICE["segment"][0 if evidence.centre / inputs.expected_rate > 0.5 else 1],
    }


def whatif(inputs: WhatIfInputs, evidence: Evidence,
           risks: Sequence[float] = RISK_LEVELS) -> WhatIfFigures:
    """All the what-if figures for one paid outcome.

    Examples
    --------
    >>> ev = Evidence("not reoffended", 0.55, 0.02, "logit")
    >>> fig = whatif(WhatIfInputs(5000.0, 0.62, cohort_size=600, cost_per_participant=250.0), ev)
    >>> round(fig.deadweight_chance, 3)
    0.025
    >>> fig.band_lower <= fig.recommended <= fig.ceiling <= fig.band_upper
    True
    """
    a = attachment_fee_used(inputs, evidence)
    k = _paid_per_participant(inputs, evidence)
    p = price_used(inputs, evidence)
    lo, hi = price_band(inputs, evidence)
    met = inputs.trigger is None or inputs.expected_rate >= inputs.trigger
    sched = monthly_cash_flow(inputs, [(p, k if met else 0.0)], attachment_fee=a)
    return WhatIfFigures(
        outcome=evidence.outcome,
        rate_at_risk=rate_at_risk(evidence, inputs.risk),
        attachment_fee=a,
        ceiling=ceiling_at(inputs, evidence, evidence.centre, a),
        recommended=price_at_risk(inputs, evidence),
        price_paid=p,
        band_lower=lo,
        band_upper=hi,
        deadweight_chance=deadweight_chance(inputs, evidence, p),
        break_even=break_even_price(inputs, evidence),
        expected_total=expected_total_payment(inputs, evidence, p),
        budget_95=budget_at(inputs, evidence, 0.95, p),
        trigger_chance=trigger_chance(inputs, evidence),
        peak_working_capital=peak_working_capital(sched),
        npv=net_present_value(sched, inputs.discount_rate),
        price_by_risk=tuple((q, price_at_risk(inputs, evidence, q)) for q in risks),
        schedule=sched,
    )
