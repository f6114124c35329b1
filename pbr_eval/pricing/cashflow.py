"""Cash flow: when money goes out and comes in, month by month.

Payment by results pays later than the service costs. This module turns
referrals, delivery cost, the outcome lag (e.g. 12 months of follow-up for
reoffending plus months for the data) and the payment lag into a monthly
schedule: the provider's cash position, the peak working capital needed, the
net present value, and the investor's internal rate of return when a social
impact bond investor funds that working capital.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema, format_money
from pbr_eval.options import (
    DEFAULT_DISCOUNT_RATE,
    OUTCOME_TYPES,
    check_choice,
    check_count,
    check_int,
    check_money,
    check_probability,
    check_rate,
    check_rates,
    renamed_keyword,
)
from pbr_eval.results.base import HasFigures, Results, frame_from_records

__all__ = ["CashFlowSchedule", "cash_flow", "npv", "irr"]




def _discount_rate(value: object) -> float:
    """Return an annual discount rate: a share in [0, 1) (0.035 for 3.5%)."""
    d = check_probability("discount_rate", value, open_interval=False)
    if d >= 1:
        check_probability("discount_rate", d)  # raises: strictly below 1
    return d


def npv(flows: Sequence[float] | np.ndarray, annual_rate: float = DEFAULT_DISCOUNT_RATE) -> float:
    """Net present value of monthly flows (month 0 undiscounted).

    Parameters
    ----------
    flows : array-like of float
        Money in (positive) and out (negative), one value a month from month 0.
    annual_rate : float, default 0.035
        The annual discount rate ``d`` (a share: 0.035 for 3.5%).

    Returns
    -------
    float
        The flows discounted to month 0.

    Notes
    -----
    ``NPV = sum_t x_t / (1 + d)^(t / 12)``, with ``d`` the annual rate (the
    Green Book's 3.5% by default).

    Examples
    --------
    >>> round(npv([-100.0] + [0.0] * 11 + [103.5]), 10)
    0.0
    """
    d = _discount_rate(annual_rate)
    x = np.asarray(flows, dtype=float)
    return float(np.sum(x / (1.0 + d) ** (np.arange(x.size) / 12.0)))


def irr(flows: Sequence[float] | np.ndarray) -> float:
    """Annual internal rate of return of monthly flows.

    Parameters
    ----------
    flows : array-like of float
        Money in (positive) and out (negative), one value a month from month 0;
        both signs must occur.

    Returns
    -------
    float
        The annual rate ``d`` (a share) with ``npv(flows, d) = 0``.

    Raises
    ------
    OptionError
        When the flows do not change sign (no rate makes the NPV zero) or no
        root lies between -99% and +10,000% a year.

    Examples
    --------
    >>> round(irr([-100.0] + [0.0] * 11 + [110.0]), 6)
    0.1
    """
    x = np.asarray(flows, dtype=float)
    if not (x.min() < 0 < x.max()):
        raise OptionError(
            "The internal rate of return needs money both paid in and paid out; these flows "
            f"are all {'non-negative' if x.min() >= 0 else 'non-positive'}."
        )
    t = np.arange(x.size) / 12.0

    def f(log_rate: float) -> float:
        return float(np.sum(x * np.exp(-log_rate * t)))

    lo, hi = np.log(0.01), np.log(101.0)
    if f(lo) * f(hi) > 0:
        raise OptionError("No internal rate of return between -99% and +10,000% a year.")
    return float(np.exp(optimize.brentq(f, lo, hi, xtol=1e-12)) - 1.0)


class CashFlowSchedule(Results, HasFigures):
    """A monthly cash-flow schedule (read-only).

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per month: ``month``, ``referrals``, ``delivery_cost``,
        ``attachment_income``, ``outcome_income``, ``net``, ``cash_position``
        (cumulative net).
    discount_rate : float
    info : mapping

    Examples
    --------
    Made by :func:`cash_flow`; a results object like any other (``to_frame``, ``summary``,
    ``plot``, ``to_dict``):

    >>> cf = cash_flow(referrals=[10, 10], cost_per_participant=1000, price=3000,
    ...                expected_rate=0.5, outcome_lag=2, payment_lag=1)
    >>> cf.to_frame()["net"].tolist()
    [-10000.0, -10000.0, 0.0, 15000.0, 15000.0]
    >>> print(cf.summary().splitlines()[3])
    Peak working capital needed: £20,000 (month 1).
    """

    kind: ClassVar[str] = "cash_flow"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"table", "peak_working_capital", "npv"})
    title: ClassVar[str] = "Cash flow"
    schema: ClassVar[Schema] = Schema((
        Column("month", "integer", "Month"),
        Column("referrals", "planned_count", "Referrals"),
        Column("delivery_cost", "money", "Delivery cost"),
        Column("attachment_income", "money", "Attachment fee income"),
        Column("outcome_income", "money", "Outcome payment income"),
        Column("net", "money", "Net cash flow"),
        Column("cash_position", "money", "Cash position (cumulative)"),
    ))
    figures: ClassVar[tuple[str, ...]] = ("cash",)
    _redo = "run cash_flow() again"

    def __init__(self, frame: pd.DataFrame, *, discount_rate: float,
                 info: Mapping[str, Any]) -> None:
        self.frame = frame
        self.discount_rate = discount_rate
        self.info = MappingProxyType(dict(info))
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """One row per month (see :attr:`frame`)."""
        return self.frame.copy()

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"cash"`` figure: the cumulative cash position month by month (planned figures, no counts of people: ``policy`` is not needed)."""
        check_choice("name", name, self.figures)
        return {"x": [float(m) for m in self.frame["month"]],
                "y": [float(v) for v in self.frame["cash_position"]]}

    @property
    def peak_working_capital(self) -> float:
        """The most the provider is out of pocket at any month end: ``max(0, -min cash)``."""
        return float(max(0.0, -self.frame["cash_position"].min()))

    @property
    def peak_month(self) -> int:
        """Month in which the cash position is lowest."""
        return int(self.frame["month"].iloc[int(self.frame["cash_position"].to_numpy().argmin())])

    @property
    def breakeven_month(self) -> int | None:
        """First month from which the cash position stays at or above zero (None if never)."""
        cash = self.frame["cash_position"].to_numpy()
        below = np.nonzero(cash < -1e-9)[0]
        if below.size == 0:
            return 0
        last = below[-1]
        return None if last == cash.size - 1 else int(self.frame["month"].iloc[last + 1])

    @property
    def npv(self) -> float:
        """Net present value of the provider's flows at ``discount_rate``."""
        return npv(self.frame["net"].to_numpy(), self.discount_rate)

    def investor_irr(self) -> float:
        """IRR for a social-impact-bond investor who funds every shortfall and takes the surplus.

        The investor pays the provider's delivery costs as they fall due and
        receives the outcome (and attachment) payments, so the investor's
        flows are the schedule's ``net``; the rate solves ``NPV = 0``.
        """
        return irr(self.frame["net"].to_numpy())

    def summary(self) -> str:
        """Return a plain-text summary of the monthly cash flow."""
        f = self.frame
        be = self.breakeven_month
        lines = [
            "Cash flow", "=" * 60,
            f"Delivery cost {format_money(f['delivery_cost'].sum())}; income "
            f"{format_money((f['attachment_income'] + f['outcome_income']).sum())} over "
            f"{len(f)} months.",
            f"Peak working capital needed: {format_money(self.peak_working_capital)} (month "
            f"{self.peak_month}).",
            "Cash position back above zero from month "
            f"{be}." if be is not None else "Cash position never recovers.",
            f"Net present value at {self.discount_rate:.1%}: {format_money(self.npv)}.",
        ]
        try:
            lines.append(f"Investor's internal rate of return: {self.investor_irr():.1%} a year.")
        except OptionError as err:
            lines.append(f"Investor's internal rate of return: not defined ({err})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<CashFlowSchedule months={len(self.frame)} "
                f"peak_working_capital={self.peak_working_capital:,.0f}>")

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.to_frame().reset_index().to_dict(orient="records"),
                "info": dict(self.info),
                "peak_working_capital": self.peak_working_capital,
                "npv": self.npv, "discount_rate": self.discount_rate}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (aggregates only): ``kind``, ``table`` (the months), ``info``, ``peak_working_capital``, ``npv``, ``discount_rate``."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> CashFlowSchedule:
        frame = frame_from_records(state.get("table") or []).drop(columns=["index"],
                                                                   errors="ignore")
        return cls(frame, discount_rate=float(state.get("discount_rate", DEFAULT_DISCOUNT_RATE)),
                   info=dict(state.get("info") or {}))


def cash_flow(
    *,
    referrals: int | Sequence[float],
    cost_per_participant: float,
    price: float | None = None,
    expected_rate: float | None = None,
    months_of_referrals: int | None = None,
    delivery_months: int = 1,
    attachment_fee: float = 0.0,
    outcome_lag: int = 12,
    payment_lag: int = 3,
    attachment_lag: int | None = None,
    upfront_cost: float = 0.0,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    outcome_type: str = "binary",
    **renamed: Any,
) -> CashFlowSchedule:
    """Build a monthly cash-flow schedule for a payment-by-results contract.

    Parameters
    ----------
    referrals : int or list
        People starting each month: a list (month 0, 1, ...) or one number
        repeated for ``months_of_referrals`` months.
    cost_per_participant : float
        Delivery cost per person, spread evenly over ``delivery_months``
        from the month of referral.
    price : float
        Price per outcome (the name :func:`pbr_eval.price` and the tariffs use;
        ``outcome_payment``, the version 0.1 name, still works with a
        DeprecationWarning).
    expected_rate : float
        Expected outcomes per person with the programme: a share for a yes/no
        outcome (e.g. 0.25 for 25%), events per person with
        ``outcome_type="count"`` (``outcome_rate`` in version 0.1).
    months_of_referrals : int, optional
        With a single number of ``referrals``.
    delivery_months : int, default 1
    attachment_fee : float, default 0
        Paid ``attachment_lag`` months after referral.
    outcome_lag : int, default 12
        Months from referral until the outcome can be evidenced (e.g. 12
        months of follow-up for reoffending, plus the months the data take).
    payment_lag : int, default 3
        Months from evidence (or attachment) to payment.
    attachment_lag : int, optional
        Months from referral to the attachment fee (default ``payment_lag``).
    upfront_cost : float, default 0
        Set-up cost in month 0.
    discount_rate : float, default 0.035
        Annual rate for the net present value (HM Treasury Green Book), a
        share below 1 (0.035 for 3.5%).
    outcome_type : {"binary", "count"}, default "binary"
        Whether ``expected_rate`` is a share of people (at most 1) or events
        per person.

    Returns
    -------
    CashFlowSchedule

    Notes
    -----
    For ``k_t`` referrals in month ``t``: cost ``k_t c / D`` in months
    ``t .. t + D - 1``; attachment income ``k_t A`` in month ``t + L_a``; outcome
    income ``k_t r p`` in month ``t + L_o + L_p``. The cash position is the
    running sum of income less cost; the peak working capital is the deepest
    point below zero. Limitations: outcomes arrive all at once after the lag
    (no spread of outcome timing); no interest on the working capital within
    the schedule (the NPV and IRR account for the timing).

    Examples
    --------
    >>> cf = cash_flow(referrals=[10, 10], cost_per_participant=1000, price=3000,
    ...                expected_rate=0.5, outcome_lag=2, payment_lag=1)
    >>> cf.frame["cash_position"].tolist()
    [-10000.0, -20000.0, -20000.0, -5000.0, 10000.0]
    >>> cf.peak_working_capital
    20000.0
    """
    price = renamed_keyword(renamed, "outcome_payment", "price", price, None)
    expected_rate = renamed_keyword(renamed, "outcome_rate", "expected_rate", expected_rate, None)
    if renamed:
        raise OptionError(
            f"cash_flow() got unknown option(s) {', '.join(map(repr, renamed))}; see "
            "help(pbr_eval.cash_flow) for its options."
        )
    for name, value in (("price", price), ("expected_rate", expected_rate)):
        if value is None:
            raise OptionError(f"cash_flow() needs `{name}`.")
    if isinstance(referrals, (int, np.integer)) and not isinstance(referrals, bool):
        k = check_int("months_of_referrals", months_of_referrals if months_of_referrals
                      is not None else 0)
        ref = np.full(k, float(check_count("referrals", referrals, minimum=0)))
    else:
        try:
            if isinstance(referrals, (str, bool)) or referrals is None:
                raise OptionError("not a list of numbers")
            ref = check_rates("referrals", referrals, outcome_type=None)
        except OptionError as err:
            raise OptionError(
                "`referrals` must be a non-empty list of non-negative numbers (people starting "
                f"each month) or one integer with `months_of_referrals`; got {referrals!r:.60}."
            ) from err
    otype = check_choice("outcome_type", outcome_type, OUTCOME_TYPES[:2])
    c = check_money("cost_per_participant", cost_per_participant)
    p = check_money("price", price)
    r = check_rate("expected_rate", expected_rate, outcome_type=otype)
    a = check_money("attachment_fee", attachment_fee)
    dm = check_int("delivery_months", delivery_months)
    lo = check_int("outcome_lag", outcome_lag, minimum=0)
    lp = check_int("payment_lag", payment_lag, minimum=0)
    la = lp if attachment_lag is None else check_int("attachment_lag", attachment_lag, minimum=0)
    up = check_money("upfront_cost", upfront_cost)
    d = _discount_rate(discount_rate)
    horizon = ref.size + max(dm - 1, lo + lp, la)
    months = np.arange(horizon)
    cost = np.zeros(horizon)
    att = np.zeros(horizon)
    out = np.zeros(horizon)
    for j in range(dm):
        cost[j:j + ref.size] += ref * c / dm
    att[la:la + ref.size] += ref * a
    out[lo + lp:lo + lp + ref.size] += ref * r * p
    cost[0] += up
    refs = np.zeros(horizon)
    refs[:ref.size] = ref
    net = att + out - cost
    frame = pd.DataFrame({"month": months, "referrals": refs, "delivery_cost": cost,
                          "attachment_income": att, "outcome_income": out, "net": net,
                          "cash_position": np.cumsum(net)})
    info = {"cost_per_participant": c, "price": p, "expected_rate": r,
            "attachment_fee": a, "delivery_months": dm, "outcome_lag": lo, "payment_lag": lp,
            "attachment_lag": la,
            "upfront_cost": up, "outcome_type": otype}
    return CashFlowSchedule(frame, discount_rate=d, info=info)
