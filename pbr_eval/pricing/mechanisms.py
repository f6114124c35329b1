"""Payment mechanisms: small composable objects, one way of paying each.

Every mechanism computes, for a cohort's outcomes, what each person earns
the provider, split into named components (e.g. ``attachment`` and
``results``). The arithmetic is vectorised over leading axes, so the same
code prices one set of claims (arrays of shape ``(n,)``) and ten thousand
simulated cohorts (shape ``(draws, n)``) in :func:`pbr_eval.simulate_payments`.

A :class:`~pbr_eval.pricing.tariff.Tariff` combines mechanisms and applies
them to claims data.

Cohort-level mechanisms (thresholds, payments per event avoided, minimum
performance levels, sliding scales) pay for the cohort as a whole; the
per-person amounts they report are equal shares of the cohort's payment
(within each cohort), so that per-person totals always add up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import ClaimError, OptionError
from pbr_eval.options import (
    BETTER,
    OUTCOME_TYPES,
    check_choice,
    check_count,
    check_int,
    check_money,
    check_number,
    check_positive,
    check_probability,
    check_rate,
)

__all__ = [
    "PaymentMechanism",
    "AttachmentFee",
    "PerOutcome",
    "PerEventAvoided",
    "MinimumPerformanceLevel",
    "RateCard",
    "AttachmentAndResults",
    "Milestones",
    "SlidingScale",
    "PerOutcomeByGroup",
    "minimum_performance_level",
    "MPL_BASES",
]

Arrays = Mapping[str, np.ndarray]

#: What a minimum performance level pays for.
MPL_BASES = ("above", "all")


def minimum_performance_level(non_intervention: float, uplift: float, *,
                              outcome_type: str = "binary") -> float:
    """Return the minimum performance level ``n (1 + u)``.

    ``uplift`` is a share (0.10 for 10%) between 0 and 1. For a yes/no
    outcome (the default) the rate and the level are shares of people, at
    most 1; give ``outcome_type="count"`` for events per person.

    Parameters
    ----------
    non_intervention : float
        The non-intervention rate ``n``.
    uplift : float
        The uplift ``u`` as a share, between 0 and 1.
    outcome_type : {"binary", "count", "continuous"}, default "binary"
        The outcome's type, which sets the range ``n`` and the level must lie in.

    Returns
    -------
    float
        The level ``n (1 + u)`` a provider must beat.

    Raises
    ------
    OptionError
        When a rate or the uplift is outside its range, or a yes/no level exceeds 1.

    Examples
    --------
    Work Programme, year 1: a non-intervention estimate of 5% and a 10% uplift.

    >>> round(minimum_performance_level(0.05, 0.10), 6)
    0.055
    """
    otype = check_choice("outcome_type", outcome_type, OUTCOME_TYPES)
    n = check_rate("non_intervention", non_intervention, outcome_type=otype)
    u = check_probability("uplift", uplift, open_interval=False)
    if otype == "binary" and n * (1.0 + u) > 1:
        raise OptionError(
            f"The minimum performance level `non_intervention` x (1 + `uplift`) = {n:g} x "
            f"{1 + u:g} = {n * (1 + u):.4g} exceeds 1: no cohort could reach it. Lower the "
            "uplift or check the non-intervention rate."
        )
    return n * (1.0 + u)


def _rate_of(rates: Mapping[str, Any], outcome: str, types: Mapping[str, str] | None) -> float:
    """Return the rate given for ``outcome``, checked: a share for a yes/no outcome, else >= 0."""
    if not isinstance(rates, Mapping) or outcome not in rates:
        raise OptionError(f"`rates` gives no rate for '{outcome}'; give rates={{'{outcome}': "
                          "<expected outcomes per person>}.")
    otype = (types or {}).get(outcome)
    return check_rate(f"rates['{outcome}']", rates[outcome], outcome_type=otype)


def _comparison(ctx: Mapping[str, Any], outcome: str, fixed: float | None, who: str) -> Any:
    if fixed is not None:
        return fixed
    comp = (ctx.get("comparison") or {}).get(outcome)
    if comp is None:
        raise OptionError(
            f"{who} compares '{outcome}' with a comparison rate measured at payment time; give "
            f"it as comparison={{'{outcome}': <rate>}} (e.g. the matched comparison group's "
            "rate) or fix `comparison_rate` in the mechanism."
        )
    return np.asarray(comp, dtype=float)


def _cohort_codes(attrs: Arrays, column: str | None, n: int) -> tuple[np.ndarray, int]:
    if column is None:
        return np.zeros(n, dtype=np.int64), 1
    _, codes = np.unique(np.asarray(attrs[column]), return_inverse=True)
    return codes.ravel(), int(codes.max()) + 1 if codes.size else 0


def _group_sums(y: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Sum the last axis of ``y`` within groups: shape ``(..., k)``."""
    onehot = np.zeros((codes.size, k))
    onehot[np.arange(codes.size), codes] = 1.0
    return y @ onehot


class PaymentMechanism(ABC):
    """One way of paying; subclasses implement :meth:`amounts`.

    Attributes
    ----------
    label : str
        Prefix of the component names this mechanism reports.
    outcomes : tuple of str
        Outcome columns it reads (one row per person).
    attributes : tuple of str
        Person attributes it reads (e.g. the year of attachment, the cohort).

    Examples
    --------
    A new mechanism declares what it reads and returns per-person arrays by component,
    vectorised over leading (draw) axes (``docs/ARCHITECTURE.md``, "A new payment mechanism"):

    >>> class PerMonthInWork(PaymentMechanism):
    ...     outcomes = ("months_in_work",)
    ...     def __init__(self, amount):
    ...         self.amount = amount
    ...     def amounts(self, y, attrs, ctx):
    ...         return {"months_in_work": self.amount * np.asarray(y["months_in_work"])}
    >>> PerMonthInWork(50.0).payments(pd.DataFrame({"months_in_work": [0, 3]}))["total"].tolist()
    [0.0, 150.0]
    """

    label: str = "payment"
    outcomes: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()

    @abstractmethod
    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Per-person amounts by component, arrays of shape ``(..., n)``.

        Parameters
        ----------
        y : mapping of str to array
            Each outcome's value per person (0/1, a count, or months), last
            axis = people; leading axes are simulation draws.
        attrs : mapping of str to array
            Person attributes, shape ``(n,)``.
        ctx : mapping
            Payment-time context, e.g. ``{"comparison": {"events": 0.9}}``.
        """

    def payments(self, data: pd.DataFrame, *, comparison: Mapping[str, float] | None = None
                 ) -> pd.DataFrame:
        """Return what each person (row of ``data``) earns, by component.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per person with the mechanism's outcome and attribute columns.
        comparison : dict, optional
            Comparison rates measured at payment time.

        Returns
        -------
        pandas.DataFrame
            One column per component plus ``total``, indexed like ``data``.
        """
        need = [c for c in (*self.outcomes, *self.attributes) if c not in data.columns]
        if need:
            raise ClaimError(
                f"{type(self).__name__} needs the column(s) {', '.join(map(repr, need))}; the "
                f"data has {', '.join(map(repr, data.columns))}."
            )
        y = {o: data[o].to_numpy(dtype=float) for o in self.outcomes}
        attrs = {a: data[a].to_numpy() for a in self.attributes}
        parts = self.amounts(y, attrs, {"comparison": dict(comparison or {}),
                                        "n_people": len(data)})
        out = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in parts.items()},
                           index=data.index)
        out["total"] = out.sum(axis=1)
        return out

    def expected_payment(
        self,
        rates: Mapping[str, float],
        *,
        cohort_size: int,
        attributes: pd.DataFrame | None = None,
        comparison: Mapping[str, float] | None = None,
        outcome_types: Mapping[str, str] | None = None,
        draws: int = 4000,
        seed: int = 0,
    ) -> float:
        """Return expected total payment for a cohort with the given outcome rates.

        The base implementation simulates individual outcomes (Bernoulli for
        a rate in [0, 1] unless ``outcome_types`` says ``"count"``, else
        Poisson) ``draws`` times; linear mechanisms override it with the
        exact formula.

        Examples
        --------
        >>> PerOutcome("job", 1200.0).expected_payment({"job": 0.25}, cohort_size=100)
        30000.0
        """
        n = check_count("cohort_size", cohort_size, minimum=1)
        rng = np.random.default_rng(seed)
        attrs = {} if attributes is None else {a: attributes[a].to_numpy()
                                                 for a in self.attributes}
        types = dict(outcome_types or {})
        y = {}
        for o in self.outcomes:
            if o not in rates:
                raise OptionError(f"`rates` gives no rate for '{o}', which {type(self).__name__} pays on.")
            r = _rate_of(rates, o, types)
            binary = types.get(o, "binary" if r <= 1 else "count") == "binary"
            y[o] = (rng.random((draws, n)) < r).astype(float) if binary else rng.poisson(
                r, (draws, n)).astype(float)
        parts = self.amounts(y, attrs, {"comparison": dict(comparison or {})})
        return float(np.mean(sum(p.sum(axis=-1) for p in parts.values())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class AttachmentFee(PaymentMechanism):
    """A fixed fee per person attached (joining the programme).

    Examples
    --------
    >>> AttachmentFee(400.0).payments(pd.DataFrame(index=[1, 2]))["total"].tolist()
    [400.0, 400.0]
    """

    def __init__(self, amount: float, *, label: str = "attachment") -> None:
        self.amount = check_money("amount", amount)
        self.label = label

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        n = _n_people(y, attrs, ctx)
        return {self.label: np.full(n, self.amount)}

    def expected_payment(self, rates: Mapping[str, float], *, cohort_size: int,
                         **kwargs: Any) -> float:
        """Return the expected total payment (see :meth:`PaymentMechanism.expected_payment`)."""
        return self.amount * check_count("cohort_size", cohort_size, minimum=1)


def _n_people(y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> Any:
    for arr in (*y.values(), *attrs.values()):
        return np.shape(arr)[-1:]
    if "n_people" in ctx:
        return ctx["n_people"]
    raise OptionError("The number of people is unknown: pass a frame with one row per person.")


class PerOutcome(PaymentMechanism):
    """A price for each observed outcome, optionally discounted for deadweight.

    Parameters
    ----------
    outcome : str
        Outcome column (0/1 or a count per person).
    price : float
        Price per outcome.
    deadweight_discount : float, default 0
        Share knocked off every payment for outcomes expected anyway (e.g.
        Norfolk's edge-of-care social impact bond: 33%).
    max_per_person : int, optional
        Most outcomes paid per person (e.g. 1 for a once-only outcome).

    Notes
    -----
    Person ``i`` earns ``p (1 - d) min(y_i, m)``. The expected payment for
    ``N`` people at rate ``r`` is ``N p (1 - d) r`` (without a per-person limit).

    Examples
    --------
    >>> PerOutcome("care_days_avoided", 100.0, deadweight_discount=0.33).payments(
    ...     pd.DataFrame({"care_days_avoided": [10, 0]}))["total"].tolist()
    [670.0, 0.0]
    """

    def __init__(self, outcome: str, price: float, *, deadweight_discount: float = 0.0,
                 max_per_person: int | None = None, label: str | None = None) -> None:
        self.outcome = outcome
        self.price = check_money("price", price)
        self.deadweight_discount = check_probability("deadweight_discount", deadweight_discount,
                                                     open_interval=False)
        self.max_per_person = None if max_per_person is None else check_int(
            "max_per_person", max_per_person)
        self.label = label or outcome
        self.outcomes = (outcome,)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.outcome], dtype=float)
        if self.max_per_person is not None:
            v = np.minimum(v, self.max_per_person)
        return {self.label: self.price * (1.0 - self.deadweight_discount) * v}

    def expected_payment(self, rates: Mapping[str, float], *, cohort_size: int,
                         **kwargs: Any) -> float:
        """Return the expected total payment (see :meth:`PaymentMechanism.expected_payment`)."""
        r = _rate_of(rates, self.outcome, kwargs.get("outcome_types"))
        if self.max_per_person is not None and r > 1:
            return super().expected_payment(rates, cohort_size=cohort_size, **kwargs)
        return (check_count("cohort_size", cohort_size, minimum=1) * self.price
                * (1.0 - self.deadweight_discount) * r)


class PerEventAvoided(PaymentMechanism):
    """Pay per event avoided against a comparison rate, with cohort and pooled triggers.

    The Peterborough social impact bond design: for each cohort, if the
    frequency of reconviction events fell by at least ``threshold`` (10%)
    relative to the matched comparison group, pay ``price`` per event
    avoided; at the end, if the fall over all cohorts pooled reached
    ``pooled_threshold`` (7.5%), pay for all events avoided over all
    cohorts, less what the cohorts were already paid.

    Parameters
    ----------
    outcome : str
        Events per person (a count), or a 0/1 outcome.
    price : float
        Price per event avoided (per event gained with ``better="higher"``).
    comparison_rate : float, optional
        The comparison rate per person; default: taken at payment time
        from ``comparison={outcome: rate}`` (the contemporaneous matched
        comparison group).
    threshold : float, default 0
        Smallest relative change for a cohort to be paid (0.10 for 10%).
    pooled_threshold : float, optional
        Smallest relative change over all cohorts for the pooled payment.
    cohort_column : str, optional
        Person attribute naming each person's cohort (default: one cohort).
    better : {"lower", "higher"}, default "lower"

    Notes
    -----
    For cohort ``c`` with ``N_c`` people, observed rate ``y_c`` and
    comparison rate ``m``, the change is ``g_c = (m - y_c) / m`` (``"lower"``)
    and the payment ``p N_c (m - y_c)`` if ``g_c >= threshold``, else 0.
    The pooled payment is ``max(0, p N (m - y) - sum_c paid_c)`` if
    ``g >= pooled_threshold``.

    Examples
    --------
    Ten per cent fewer events than the comparison (1.0 per person): paid.

    >>> mech = PerEventAvoided("events", 1000.0, comparison_rate=1.0, threshold=0.10)
    >>> df = pd.DataFrame({"events": [1] * 90 + [0] * 10})
    >>> float(mech.payments(df)["total"].sum())
    10000.0
    """

    def __init__(self, outcome: str, price: float, *, comparison_rate: float | None = None,
                 threshold: float = 0.0, pooled_threshold: float | None = None,
                 cohort_column: str | None = None, better: str = "lower",
                 label: str | None = None) -> None:
        self.outcome = outcome
        self.price = check_money("price", price)
        self.comparison_rate = None if comparison_rate is None else check_rate(
            "comparison_rate", comparison_rate, outcome_type=None, positive=True)
        self.threshold = check_probability("threshold", threshold, open_interval=False)
        self.pooled_threshold = None if pooled_threshold is None else check_probability(
            "pooled_threshold", pooled_threshold, open_interval=False)
        self.cohort_column = cohort_column
        self.better = check_choice("better", better, BETTER)
        self.label = label or f"{outcome}_avoided" if better == "lower" else label or outcome
        self.outcomes = (outcome,)
        self.attributes = () if cohort_column is None else (cohort_column,)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.outcome], dtype=float)
        n = v.shape[-1]
        m = _comparison(ctx, self.outcome, self.comparison_rate, "PerEventAvoided")
        m = np.asarray(m, dtype=float)
        m_c = m[..., None] if m.ndim and m.shape[-1] != 1 else m  # draws -> (draws, 1)
        codes, k = _cohort_codes(attrs, self.cohort_column, n)
        sizes = np.bincount(codes, minlength=k).astype(float)
        obs_c = _group_sums(v, codes, k) / sizes
        sign = 1.0 if self.better == "lower" else -1.0
        gain_c = sign * (m_c - obs_c)  # per person, per cohort
        rel_c = gain_c / m_c
        paid_c = np.where(rel_c >= self.threshold - 1e-12, self.price * sizes * gain_c, 0.0)
        paid_c = np.maximum(paid_c, 0.0)
        per_person = (paid_c / sizes)[..., codes]
        out = {self.label: per_person}
        if self.pooled_threshold is not None:
            m0 = m_c[..., 0] if np.ndim(m_c) else m_c
            gain = sign * (m0 - v.mean(axis=-1))
            total_due = np.where(gain / m0 >= self.pooled_threshold - 1e-12,
                                 self.price * n * gain, 0.0)
            top_up = np.maximum(total_due - paid_c.sum(axis=-1), 0.0)
            out[f"{self.label}_pooled"] = np.broadcast_to(
                (top_up / n)[..., None], per_person.shape).copy()
        return out


class MinimumPerformanceLevel(PaymentMechanism):
    """Pay only for performance beyond a minimum level set from the non-intervention rate.

    The minimum performance level (MPL) is ``n (1 + uplift)``: the Work
    Programme's year-1 MPL of 5.5% sat on a non-intervention estimate of 5%
    with a 10% uplift.

    Parameters
    ----------
    outcome : str
    price : float
        Price per outcome paid.
    non_intervention : float
        The non-intervention rate ``n``.
    uplift : float, default 0.10
        A share between 0 and 1 (0.10 for 10%).
    basis : {"above", "all"}, default "above"
        ``"above"``: pay per outcome beyond ``MPL x N``; ``"all"``: pay for
        every outcome, but only if the cohort's rate reaches the MPL.
    outcome_type : {"binary", "count"}, default "binary"
        A yes/no outcome's rate and level are shares (at most 1); say
        ``"count"`` for events per person.

    Examples
    --------
    >>> mech = MinimumPerformanceLevel("job", 1000.0, non_intervention=0.05, uplift=0.10)
    >>> round(mech.mpl, 6)
    0.055
    >>> round(float(mech.payments(pd.DataFrame({"job": [1] * 8 + [0] * 92}))["total"].sum()))
    2500
    """

    def __init__(self, outcome: str, price: float, *, non_intervention: float,
                 uplift: float = 0.10, basis: str = "above", label: str | None = None,
                 outcome_type: str = "binary") -> None:
        self.outcome = outcome
        self.price = check_money("price", price)
        self.mpl = minimum_performance_level(non_intervention, uplift, outcome_type=outcome_type)
        self.non_intervention = float(non_intervention)
        self.uplift = float(uplift)
        self.outcome_type = outcome_type
        self.basis = check_choice("basis", basis, MPL_BASES)
        self.label = label or f"{outcome}_above_mpl"
        self.outcomes = (outcome,)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.outcome], dtype=float)
        n = v.shape[-1]
        rate = v.mean(axis=-1, keepdims=True)
        if self.basis == "all":
            return {self.label: np.where(rate >= self.mpl - 1e-12, self.price * v, 0.0)}
        excess = np.maximum(rate - self.mpl, 0.0) * n * self.price
        return {self.label: np.broadcast_to(excess / n, v.shape).copy()}


class RateCard(PaymentMechanism):
    """Prices for several outcomes per person, with caps.

    Parameters
    ----------
    prices : dict
        Price of each outcome (e.g. ``{"attendance": 700, "qualification": 900,
        "job_13wk": 2000, "job_26wk": 1500}``).
    per_person_cap : float, optional
        Most one person can earn the provider.
    outcome_caps : dict, optional
        Most paid for each outcome over the whole programme.
    programme_cap : float, optional
        Most paid in total.
    max_per_person : int, default 1
        Each outcome is paid at most this many times per person.

    Notes
    -----
    Applied in order: per-person cap (a person's outcomes scaled down
    together), per-outcome caps (that outcome's payments scaled down),
    programme cap (everything scaled down). Each step only lowers amounts,
    so all caps hold at the end.

    Examples
    --------
    >>> card = RateCard({"a": 700.0, "b": 900.0}, per_person_cap=1000.0)
    >>> card.payments(pd.DataFrame({"a": [1, 1], "b": [0, 1]}))["total"].tolist()
    [700.0, 1000.0]
    """

    def __init__(self, prices: Mapping[str, float], *, per_person_cap: float | None = None,
                 outcome_caps: Mapping[str, float] | None = None,
                 programme_cap: float | None = None, max_per_person: int = 1,
                 label: str = "rate_card") -> None:
        if not isinstance(prices, Mapping) or not prices:
            raise OptionError(f"`prices` must be a non-empty dict of outcome -> price; got {prices!r}.")
        self.prices = {str(k): check_money(f"prices['{k}']", v) for k, v in prices.items()}
        self.per_person_cap = None if per_person_cap is None else check_money(
            "per_person_cap", per_person_cap, positive=True)
        caps = dict(outcome_caps or {})
        unknown = set(caps) - set(self.prices)
        if unknown:
            raise OptionError(
                f"`outcome_caps` names {', '.join(map(repr, sorted(unknown)))}, not on the rate "
                f"card; outcomes are {', '.join(map(repr, self.prices))}."
            )
        self.outcome_caps = {k: check_money(f"outcome_caps['{k}']", v, positive=True)
                             for k, v in caps.items()}
        self.programme_cap = None if programme_cap is None else check_money(
            "programme_cap", programme_cap, positive=True)
        self.max_per_person = check_int("max_per_person", max_per_person)
        self.label = label
        self.outcomes = tuple(self.prices)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        parts = {o: p * np.minimum(np.asarray(y[o], dtype=float), self.max_per_person)
                 for o, p in self.prices.items()}
        if self.per_person_cap is not None:
            tot = sum(parts.values())
            scale = np.where(tot > self.per_person_cap, self.per_person_cap / np.where(
                tot > 0, tot, 1.0), 1.0)
            parts = {o: v * scale for o, v in parts.items()}
        for o, cap in self.outcome_caps.items():
            s = parts[o].sum(axis=-1, keepdims=True)
            parts[o] = parts[o] * np.where(s > cap, cap / np.where(s > 0, s, 1.0), 1.0)
        if self.programme_cap is not None:
            s = sum(v.sum(axis=-1, keepdims=True) for v in parts.values())
            scale = np.where(s > self.programme_cap, self.programme_cap / np.where(s > 0, s, 1.0),
                             1.0)
            parts = {o: v * scale for o, v in parts.items()}
        return {f"{self.label}:{o}": v for o, v in parts.items()}


class AttachmentAndResults(PaymentMechanism):
    """A maximum per person split between an attachment fee and a results payment.

    The share paid on attachment changes with the year a person joins:
    Troubled Families phase 1 paid up to GBP 4,000 per family, 80% on
    attachment in 2012/13, 60% in 2013/14 and 40% in 2014/15.

    Parameters
    ----------
    total : float
        Most paid per person.
    outcome : str
        The 0/1 results criterion.
    attachment_share : float or dict
        Share of ``total`` paid on attachment, one number or one per year.
    year_column : str, default "year"
        Person attribute with the year of attachment (when shares vary).

    Examples
    --------
    >>> tf = AttachmentAndResults.troubled_families_phase1("turned_around")
    >>> tf.split(1), tf.split(2), tf.split(3)
    ((3200.0, 800.0), (2400.0, 1600.0), (1600.0, 2400.0))
    """

    def __init__(self, total: float, *, outcome: str,
                 attachment_share: float | Mapping[Any, float],
                 year_column: str = "year", label: str = "") -> None:
        self.total = check_money("total", total, positive=True)
        self.outcome = outcome
        self.attachment_share: float | dict[Any, float]
        if isinstance(attachment_share, Mapping):
            if not attachment_share:
                raise OptionError("`attachment_share` must give at least one year's share.")
            self.attachment_share = {k: check_probability(f"attachment_share[{k!r}]", v,
                                                          open_interval=False)
                                     for k, v in attachment_share.items()}
            self.attributes = (year_column,)
        else:
            self.attachment_share = check_probability("attachment_share", attachment_share,
                                                      open_interval=False)
            self.attributes = ()
        self.year_column = year_column
        self.label = label
        self.outcomes = (outcome,)

    @classmethod
    def troubled_families_phase1(cls, outcome: str, *, year_column: str = "year"
                                 ) -> AttachmentAndResults:
        """GBP 4,000 per family; attachment share 80%, 60%, 40% in years 1, 2, 3.

        Source: DCLG (2012), *The Troubled Families programme: financial
        framework*; NAO (2013), *Programmes to help families facing multiple
        challenges*, HC 878.
        """
        return cls(4000.0, outcome=outcome, attachment_share={1: 0.8, 2: 0.6, 3: 0.4},
                   year_column=year_column)

    def split(self, year: Any = None) -> tuple[float, float]:
        """(attachment fee, results payment) for a person joining in ``year``."""
        fee = float(self.total * self._share(np.asarray([year]))[0])
        return fee, self.total - fee

    def _share(self, years: np.ndarray) -> np.ndarray:
        if not isinstance(self.attachment_share, Mapping):
            return np.full(np.shape(years), self.attachment_share)
        table = self.attachment_share
        unknown = sorted({y for y in years.tolist() if y not in table}, key=str)
        if unknown:
            raise ClaimError(
                f"`{self.year_column}` has year(s) {', '.join(map(repr, unknown[:5]))} with no "
                f"attachment share; the schedule covers {', '.join(map(repr, table))}."
            )
        return np.array([table[y] for y in years.tolist()], dtype=float)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.outcome], dtype=float)
        years = attrs.get(self.year_column) if self.attributes else np.zeros(v.shape[-1])
        share = self._share(np.asarray(years))
        p = f"{self.label}:" if self.label else ""
        fee = self.total * share
        return {f"{p}attachment": np.broadcast_to(fee, v.shape).copy(),
                f"{p}results": (self.total - fee) * (v > 0)}


class Milestones(PaymentMechanism):
    """Payments as a sustained outcome reaches milestones (e.g. 3, 6, 12, 18 months).

    Parameters
    ----------
    column : str
        Duration the outcome was sustained per person (months, weeks).
    schedule : dict
        Milestone -> payment (paid once the duration reaches the milestone).

    Examples
    --------
    >>> m = Milestones("months_housed", {3: 500.0, 6: 500.0, 12: 1000.0, 18: 1000.0})
    >>> m.payments(pd.DataFrame({"months_housed": [0, 7, 24]}))["total"].tolist()
    [0.0, 1000.0, 3000.0]
    >>> Milestones.every("weeks_in_work", period=4, amount=170.0, count=13).maximum
    2210.0
    """

    def __init__(self, column: str, schedule: Mapping[float, float], *,
                 label: str | None = None) -> None:
        if not isinstance(schedule, Mapping) or not schedule:
            raise OptionError(
                f"`schedule` must be a non-empty dict of milestone -> payment; got {schedule!r}."
            )
        self.column = column
        items = sorted((check_positive("milestone", k), check_money(f"schedule[{k!r}]", v))
                       for k, v in schedule.items())
        self.schedule = dict(items)
        self.label = label or f"{column}_milestones"
        self.outcomes = (column,)

    @classmethod
    def every(cls, column: str, *, period: float, amount: float, count: int,
              label: str | None = None) -> Milestones:
        """Sustainment payments: ``amount`` for each further ``period``, up to ``count`` times."""
        c = check_int("count", count)
        p = check_positive("period", period)
        return cls(column, {p * (i + 1): amount for i in range(c)}, label=label)

    @property
    def maximum(self) -> float:
        """Most paid per person."""
        return float(sum(self.schedule.values()))

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.column], dtype=float)
        marks = np.array(list(self.schedule))
        cum = np.r_[0.0, np.cumsum(list(self.schedule.values()))]
        reached = np.searchsorted(marks, v + 1e-12, side="right")
        return {self.label: cum[reached]}


class SlidingScale(PaymentMechanism):
    """A price per outcome that rises with the cohort's performance.

    Parameters
    ----------
    outcome : str
    schedule : list of (performance, price)
        From this performance up, this price per outcome (steps), or points
        to interpolate between with ``interpolate=True``.
    basis : {"rate", "improvement"}, default "rate"
        Performance is the cohort's rate, or its relative improvement on
        ``comparison_rate`` (``(y - m) / m``).
    comparison_rate : float, optional
        Needed for ``basis="improvement"`` (or given at payment time).

    Examples
    --------
    >>> s = SlidingScale("job", [(0.0, 0.0), (0.10, 1000.0), (0.20, 1500.0)])
    >>> float(s.payments(pd.DataFrame({"job": [1] * 15 + [0] * 85}))["total"].sum())
    15000.0
    """

    def __init__(self, outcome: str, schedule: Sequence[tuple[float, float]], *,
                 basis: str = "rate", comparison_rate: float | None = None,
                 interpolate: bool = False, label: str | None = None) -> None:
        if isinstance(schedule, (str, Mapping)) or not all(
                isinstance(pt, Sequence) and not isinstance(pt, str) and len(pt) == 2
                for pt in schedule):
            raise OptionError(
                "`schedule` must be a list of (performance, price) pairs, e.g. "
                f"[(0.1, 1000), (0.2, 1500)]; got {schedule!r:.60}."
            )
        pts = sorted((check_number("performance", a), check_money("price", b))
                     for a, b in schedule)
        if not pts:
            raise OptionError("`schedule` must list at least one (performance, price) pair.")
        self.outcome = outcome
        self.schedule = pts
        self.basis = check_choice("basis", basis, ("rate", "improvement"))
        self.comparison_rate = None if comparison_rate is None else check_rate(
            "comparison_rate", comparison_rate, outcome_type=None, positive=True)
        self.interpolate = bool(interpolate)
        self.label = label or f"{outcome}_sliding"
        self.outcomes = (outcome,)

    def price_at(self, performance: Any) -> Any:
        """Return the price per outcome at a performance level."""
        x = np.array([a for a, _ in self.schedule])
        p = np.array([b for _, b in self.schedule])
        perf = np.asarray(performance, dtype=float)
        if self.interpolate:
            return np.interp(perf, x, p, left=0.0)
        idx = np.searchsorted(x, perf + 1e-12, side="right") - 1
        return np.where(idx >= 0, p[np.maximum(idx, 0)], 0.0)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        v = np.asarray(y[self.outcome], dtype=float)
        perf = v.mean(axis=-1, keepdims=True)
        if self.basis == "improvement":
            m = np.asarray(_comparison(ctx, self.outcome, self.comparison_rate, "SlidingScale"),
                           dtype=float)
            m = m[..., None] if m.ndim and m.shape[-1] != 1 else m
            perf = (perf - m) / m
        return {self.label: self.price_at(perf) * v}


class PerOutcomeByGroup(PaymentMechanism):
    """A price per outcome that depends on the person's payment group.

    The differential tariff of :func:`pbr_eval.pricing.differential_tariff`
    (the Work Programme's nine payment groups are the classic case).

    Parameters
    ----------
    outcome : str
    prices : dict
        Payment group -> price per outcome.
    group_column : str, default "payment_group"
        Person attribute holding the group.

    Examples
    --------
    >>> m = PerOutcomeByGroup("job", {"easy": 800.0, "hard": 2400.0})
    >>> m.payments(pd.DataFrame({"job": [1, 1, 0], "payment_group": ["easy", "hard", "hard"]})
    ...            )["total"].tolist()
    [800.0, 2400.0, 0.0]
    """

    def __init__(self, outcome: str, prices: Mapping[Any, float], *,
                 group_column: str = "payment_group", label: str | None = None) -> None:
        if not isinstance(prices, Mapping) or not prices:
            raise OptionError(f"`prices` must be a non-empty dict of group -> price; got {prices!r}.")
        self.outcome = outcome
        self.prices = {k: check_money(f"prices[{k!r}]", v) for k, v in prices.items()}
        self.group_column = group_column
        self.label = label or outcome
        self.outcomes = (outcome,)
        self.attributes = (group_column,)

    def amounts(self, y: Arrays, attrs: Arrays, ctx: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Return this mechanism's payment per person, by component (see :meth:`PaymentMechanism.amounts`)."""
        groups = np.asarray(attrs[self.group_column]).tolist()
        unknown = sorted({g for g in groups if g not in self.prices}, key=str)
        if unknown:
            raise ClaimError(
                f"`{self.group_column}` has group(s) {', '.join(map(repr, unknown[:5]))} with no "
                f"price; the tariff prices {', '.join(map(repr, self.prices))}."
            )
        unit = np.array([self.prices[g] for g in groups], dtype=float)
        return {self.label: unit * np.asarray(y[self.outcome], dtype=float)}
