"""Risk by simulation: what a tariff may cost, and who bears the risk."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema, format_money
from pbr_eval.options import (
    BETTER,
    EFFECT_SCALES,
    OUTCOME_TYPES,
    check_choice,
    check_count,
    check_int,
    check_money,
    check_probability,
    check_rate,
    check_rates,
)
from pbr_eval.pricing.rates import (
    RateDistribution,
    RateInput,
    rate_input,
    rates_from_dict,
    rates_from_results,
)
from pbr_eval.pricing.recommend import check_effect
from pbr_eval.pricing.tariff import Tariff
from pbr_eval.results.base import HasFigures, Results, frame_from_records
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["PaymentRisk", "simulate_payments"]


_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)




class PaymentRisk(Results, HasFigures):
    """The simulated distribution of a tariff's payments and value (read-only).

    Attributes
    ----------
    payments : numpy.ndarray or None
        Total payment in each draw (``None`` when rebuilt from :meth:`to_dict`,
        which keeps the quantiles, the probabilities and a histogram).
    value : numpy.ndarray or None
        Value of the additional outcomes in each draw (``v`` times outcomes
        beyond the drawn non-intervention rate; negative if fewer).
    cost : float or None
        The provider's total delivery cost (if given).
    non_intervention : dict of str to numpy.ndarray
        The drawn non-intervention rate per outcome.
    info : mapping
        Settings: draws, seed, cohort size, effects, outcome types.

    Examples
    --------
    Made by :func:`simulate_payments`:

    >>> from pbr_eval.pricing import Tariff, PerOutcome
    >>> risk = simulate_payments(Tariff([PerOutcome("job", 1000.0)]),
    ...                          non_intervention={"job": (0.05, 0.005)}, effect={"job": 0.05},
    ...                          value_per_outcome={"job": 2500.0}, cohort_size=1000,
    ...                          cost_per_participant=80.0, draws=2000, seed=1)
    >>> risk.to_frame().index.tolist()
    ['payments', 'value', 'commissioner_net', 'provider_margin']
    >>> from pbr_eval.results import Results
    >>> saved = Results.from_dict(risk.to_dict())  # aggregates only: no draws
    >>> saved.payments is None, saved.prob_commissioner_overpays == risk.prob_commissioner_overpays
    (True, True)
    """

    kind: ClassVar[str] = "payment_risk"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"table", "prob_commissioner_overpays", "budget_p95"})
    title: ClassVar[str] = "Payment risk"
    schema: ClassVar[Schema] = Schema((
        Column("quantity", "text", "Quantity",
               description="payments: total outcome payments; value: value of the additional "
                           "outcomes; commissioner_net: value less payments; provider_margin: "
                           "payments less the provider's cost."),
        Column("mean", "money", "Average"),
        *(Column(f"p{int(q * 100):02d}", "money", f"{int(q * 100)}th percentile")
          for q in _QUANTILES),
    ))
    figures: ClassVar[tuple[str, ...]] = ("payments",)
    _redo = "simulate again"

    def __init__(self, *, payments: np.ndarray | None, value: np.ndarray | None,
                 cost: float | None, non_intervention: Mapping[str, np.ndarray],
                 info: Mapping[str, Any], saved: Mapping[str, Any] | None = None) -> None:
        self.payments = payments
        self.value = value
        self.cost = cost
        self.non_intervention = MappingProxyType(dict(non_intervention))
        self.info = MappingProxyType(dict(info))
        self._saved = None if saved is None else MappingProxyType(dict(saved))
        self._freeze()

    def _need_draws(self, what: str) -> None:
        if self.payments is None:
            raise OptionError(f"{what} needs the simulated draws, which a saved payment-risk file "
                              "does not carry; simulate again (the file keeps the quantiles, "
                              "the probabilities and the budget covering 95% of draws).")

    @property
    def prob_commissioner_overpays(self) -> float:
        """P(total payments > value of the additional outcomes)."""
        if self.payments is None:
            return float(self._saved["prob_commissioner_overpays"])  # type: ignore[index]
        return float(np.mean(self.payments > self.value))

    @property
    def prob_provider_loss(self) -> float:
        """P(total payments < the provider's cost); NaN (with a reason in ``info``) without a cost."""
        if self.cost is None:
            return float("nan")
        if self.payments is None:
            v = self._saved.get("prob_provider_loss")  # type: ignore[union-attr]
            return float("nan") if v is None else float(v)
        return float(np.mean(self.payments < self.cost))

    def budget_at(self, percentile: float = 0.95) -> float:
        """Return the budget that covers the payments with probability ``percentile``."""
        q = check_probability("percentile", percentile)
        if self.payments is None:
            if q == 0.95:
                return float(self._saved["budget_p95"])  # type: ignore[index]
            self._need_draws(f"The budget at {q:.0%}")
        return float(np.quantile(np.asarray(self.payments), q))

    def mc_error(self, p: float) -> float:
        """Monte Carlo standard error of a probability estimated from these draws."""
        n = int(self.info["draws"]) if self.payments is None else self.payments.size
        return float(np.sqrt(p * (1 - p) / n))

    def to_frame(self) -> pd.DataFrame:
        """Quantiles of payments, value and the provider's margin."""
        if self.payments is None:
            return frame_from_records(self._saved["table"],  # type: ignore[index]
                                      index="quantity")
        rows = {"payments": self.payments, "value": self.value,
                "commissioner_net": self.value - self.payments}
        if self.cost is not None:
            rows["provider_margin"] = self.payments - self.cost
        out = pd.DataFrame({k: np.r_[v.mean(), np.quantile(v, _QUANTILES)] for k, v in rows.items()},
                           index=["mean", *(f"p{int(q * 100):02d}" for q in _QUANTILES)]).T
        out.index.name = "quantity"
        return out

    def summary(self) -> str:
        """Plain-text summary for a commissioner."""
        i = self.info
        t = self.to_frame()
        pay, val = t.loc["payments"], t.loc["value"]
        lines = [
            f"Payment risk: {i['draws']:,} simulated cohorts of {i['cohort_size']:,} "
            f"(seed {i['seed']})", "=" * 72,
            f"Expected payments {format_money(pay['mean'])} (90% range "
            f"{format_money(pay['p05'])} to {format_money(pay['p95'])}).",
            f"Expected value of additional outcomes {format_money(val['mean'])}.",
            f"Chance the commissioner pays more than the additional outcomes are worth: "
            f"{self.prob_commissioner_overpays:.1%}.",
            f"Budget covering payments in 95% of cases: {format_money(self.budget_at(0.95))}.",
        ]
        if self.cost is not None:
            lines.append(f"Chance the provider does not recover its costs "
                         f"({format_money(self.cost)}): {self.prob_provider_loss:.1%}.")
        else:
            lines.append("Provider's risk not computed: give `cost_per_participant`.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        mean = self.to_frame().loc["payments", "mean"]
        return (f"<PaymentRisk draws={self.info.get('draws')} mean_payment={mean:,.0f} "
                f"p_overpay={self.prob_commissioner_overpays:.3f}>")

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"payments"`` figure: a 30-band histogram of the simulated totals, the budget covering 95% of draws and the mean value of the additional outcomes.

        Simulated draws reveal no counts of people (``policy`` is not needed).
        """
        check_choice("name", name, self.figures)
        if self.payments is None:
            h = self._saved.get("histogram")  # type: ignore[union-attr]
            if not h:
                raise OptionError("This saved payment-risk file has no histogram of the draws; "
                                  "simulate again to draw the payments figure.")
            return {**dict(h), "budget": self.budget_at(0.95),
                    "value": float(self.to_frame().loc["value", "mean"])}
        arr = np.asarray(self.payments, dtype=float).ravel()
        arr = arr[np.isfinite(arr)]
        counts, edges = np.histogram(arr, bins=30)
        value = float(np.nanmean(np.asarray(self.value, dtype=float)))
        return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
                "budget": self.budget_at(0.95), "value": value if np.isfinite(value) else None}

    def _to_state(self) -> dict[str, Any]:
        hist = self.figure_data("payments")
        return {"table": self.to_frame().reset_index().to_dict(orient="records"),
                "info": dict(self.info),
                "prob_commissioner_overpays": self.prob_commissioner_overpays,
                "prob_provider_loss": self.prob_provider_loss,
                "budget_p95": self.budget_at(0.95),
                "cost": self.cost,
                "histogram": {"edges": hist["edges"], "counts": hist["counts"]}}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (aggregates only): ``kind``, ``table`` (quantiles), ``info``, ``prob_commissioner_overpays``, ``prob_provider_loss``, ``budget_p95``, ``cost`` and ``histogram`` (of the simulated totals)."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> PaymentRisk:
        cost = state.get("cost")
        return cls(payments=None, value=None, cost=None if cost is None else float(cost),
                   non_intervention={}, info=dict(state.get("info") or {}), saved=state)


def _distribution(o: str, spec: Any, outcome_type: str | None = None) -> RateInput:
    name = f"non_intervention['{o}']"
    if isinstance(spec, RateInput):
        check_rate(name, spec.non_intervention, outcome_type=outcome_type or spec.outcome_type)
        return spec
    if isinstance(spec, RateDistribution):
        n = check_rate(name, spec.estimate, outcome_type=outcome_type)
        return RateInput(o, outcome_type or ("binary" if n <= 1 else "count"), spec)
    if isinstance(spec, tuple) and len(spec) == 2:
        return rate_input(o, spec[0], se=spec[1], outcome_type=outcome_type, name=name)
    if isinstance(spec, (np.ndarray, list)):
        return rate_input(o, float("nan"), draws=spec, outcome_type=outcome_type)
    if isinstance(spec, (int, float, np.floating, np.integer)) and not isinstance(spec, bool):
        return rate_input(o, spec, se=0.0, outcome_type=outcome_type, name=name)
    raise OptionError(
        f"`non_intervention['{o}']` must be a rate, a (rate, se) pair, an array of draws or a "
        f"RateDistribution; got {type(spec).__name__}."
    )


def _check_effect_range(o: str, n: float, e: float, scale: str, otype: str) -> None:
    """Return the rate with the programme at the estimate, ``n + e`` or ``n (1 + e)``, must be possible."""
    r = n + e if scale == "additive" else n * (1.0 + e)
    top = 1.0 if otype == "binary" else np.inf
    if 0.0 <= r <= top:
        return
    how = f"{n:.4g} + {e:.4g}" if scale == "additive" else f"{n:.4g} x (1 + {e:.4g})"
    raise OptionError(
        f"`effect['{o}']` gives an expected rate of {how} = {r:.4g} for '{o}', "
        + ("below 0: a rate cannot be negative. " if r < 0 else
           "above 1: a yes/no outcome's rate cannot exceed 1. ")
        + "Give a smaller effect (effects on a yes/no outcome are shares: 5 points is 0.05)."
    )


def simulate_payments(
    tariff: Tariff,
    *,
    non_intervention: Mapping[str, Any],
    effect: Mapping[str, Any],
    value_per_outcome: Mapping[str, float],
    cohort_size: int | None = None,
    people: pd.DataFrame | None = None,
    cost_per_participant: float | None = None,
    better: Mapping[str, str] | None = None,
    outcome_types: Mapping[str, str] | None = None,
    effect_scale: str = "additive",
    person_rates: Mapping[str, Any] | None = None,
    draws: int = 10_000,
    seed: int = 0,
    chunk_size: int | None = None,
) -> PaymentRisk:
    """Simulate a tariff's payments for a cohort under uncertainty.

    Each draw: the non-intervention rate ``n`` of every outcome is drawn from
    its sampling distribution; the programme's effect ``e`` from the
    assumption given (a number, or an array resampled); each person's outcome
    from Bernoulli(``r``) (binary) or Poisson(``r``) (count), with
    ``r = n + e`` (additive) or ``n (1 + e)`` (relative); the tariff is applied
    with the drawn ``n`` as the comparison rate (for per-event-avoided and
    improvement-based mechanisms).

    Parameters
    ----------
    tariff : Tariff
    non_intervention : CounterfactualResults, its to_dict(), or dict
        The results of :func:`pbr_eval.estimate` (each outcome's estimate and
        standard error, on the outcome's own scale), or per outcome the tariff
        pays on: a :class:`RateDistribution` or
        :class:`RateInput` (e.g. from :func:`pbr_eval.pricing.rates_from_results`),
        a ``(rate, se)`` pair, an array of draws, or a fixed number.
    effect : dict
        Per outcome: the effect on the outcome's own scale (negative for
        reductions), a number or an array of draws.
    value_per_outcome : dict
        Value of one additional outcome (of one event avoided for outcomes
        with ``better="lower"``).
    cohort_size : int, optional
        Number of participants (or give ``people``).
    people : DataFrame, optional
        One row per participant with the person attributes the tariff needs
        (e.g. ``year``, ``cohort``); columns named like outcomes the tariff pays
        on (e.g. months sustained) are held fixed at their values.
    cost_per_participant : float, optional
        The provider's delivery cost; gives ``prob_provider_loss``.
    better : dict, optional
        ``"higher"`` (default) or ``"lower"`` per outcome, for the value.
    outcome_types : dict, optional
        ``"binary"`` or ``"count"`` per outcome (default from the rate).
    effect_scale : {"additive", "relative"}, default "additive"
    person_rates : dict, optional
        Per outcome, each person's predicted non-intervention probability (or
        rate), e.g. from an outcome model; it sets how the drawn rate ``n``
        spreads over people: person ``i`` gets ``n w_i`` with
        ``w_i = p_i / mean(p)`` (then the effect is applied and binary rates
        clipped to [0, 1]). Default: the same rate for everyone.
    draws : int, default 10000
    seed : int, default 0
    chunk_size : int, optional
        Draws simulated at once (default: about 1 million person-draws, which bounds
        memory at a few hundred bytes per person-draw of the chunk).

    Returns
    -------
    PaymentRisk

    Raises
    ------
    OptionError
        For a missing rate, effect or value, or invalid options.

    Notes
    -----
    The value in a draw is ``sum_o s_o v_o (sum_i y_io - N n_o)`` with
    ``s_o = +1`` for outcomes that should rise and ``-1`` for those that
    should fall. The commissioner overpays when payments exceed it.
    Limitations: without ``person_rates`` people are exchangeable (one rate
    for all); the comparison group is taken as measured without error at
    payment time. The rate with the programme at the estimate must lie in
    its range (an error otherwise); a *drawn* rate that falls outside it
    (a yes/no rate above 1 in the tail of the draws) is held at the bound,
    and ``info["rates_clipped"]`` counts those person-draws.

    Examples
    --------
    >>> from pbr_eval.pricing import Tariff, PerOutcome
    >>> t = Tariff([PerOutcome("job", 1000.0)])
    >>> risk = simulate_payments(t, non_intervention={"job": (0.05, 0.005)},
    ...                          effect={"job": 0.05}, value_per_outcome={"job": 2500.0},
    ...                          cohort_size=1000, cost_per_participant=80.0, draws=2000, seed=1)
    >>> round(float(risk.payments.mean()), -3)
    100000.0
    >>> 0.0 <= risk.prob_commissioner_overpays <= 1.0
    True
    """
    if not isinstance(tariff, Tariff):
        raise OptionError(f"`tariff` must be a pbr_eval Tariff; got {type(tariff).__name__}.")
    if isinstance(non_intervention, CounterfactualResults):
        non_intervention = {r.outcome: r for r in rates_from_results(non_intervention)}
    elif isinstance(non_intervention, Mapping) and "estimates" in non_intervention:
        non_intervention = {r.outcome: r for r in rates_from_dict(non_intervention)}
    for name, m in (("non_intervention", non_intervention), ("effect", effect),
                    ("value_per_outcome", value_per_outcome), ("better", better or {}),
                    ("outcome_types", outcome_types or {}), ("person_rates", person_rates or {})):
        if not isinstance(m, Mapping):
            raise OptionError(
                f"`{name}` must be a dict with one entry per outcome the tariff pays on (e.g. "
                f"{name}={{'{(tariff.outcomes or ('job',))[0]}': ...}}); got "
                f"{type(m).__name__}."
            )
    n_draws = check_int("draws", draws)
    seed = check_int("seed", seed, minimum=0)
    scale = check_choice("effect_scale", effect_scale, EFFECT_SCALES)
    if people is not None:
        if not isinstance(people, pd.DataFrame):
            raise OptionError(f"`people` must be a DataFrame; got {type(people).__name__}.")
        n = len(people)
        if cohort_size is not None and check_count("cohort_size", cohort_size, minimum=1) != n:
            raise OptionError(f"`cohort_size` ({cohort_size}) differs from len(people) ({n}).")
        missing = [a for a in tariff.attributes if a not in people.columns]
        if missing:
            raise OptionError(f"`people` lacks the attribute(s) {', '.join(map(repr, missing))} "
                              "that the tariff needs.")
    elif cohort_size is None:
        raise OptionError("Give `cohort_size` (number of participants) or `people`.")
    else:
        n = check_count("cohort_size", cohort_size, minimum=1)
        if tariff.attributes:
            raise OptionError(f"The tariff needs person attributes "
                              f"{', '.join(map(repr, tariff.attributes))}: give `people`.")
    fixed = {o: people[o].to_numpy(dtype=float) for o in tariff.outcomes
             if people is not None and o in people.columns}
    simulated = [o for o in tariff.outcomes if o not in fixed]
    better = dict(better or {})
    types = dict(outcome_types or {})
    dists: dict[str, RateInput] = {}
    for o in simulated:
        for name, m in (("non_intervention", non_intervention), ("effect", effect),
                        ("value_per_outcome", value_per_outcome)):
            if o not in m:
                raise OptionError(f"`{name}` gives nothing for '{o}', which the tariff pays on.")
        if o in types:
            check_choice(f"outcome_types['{o}']", types[o], OUTCOME_TYPES[:2])
        dists[o] = _distribution(o, non_intervention[o], types.get(o))
        types[o] = check_choice(f"outcome_types['{o}']", types.get(o, dists[o].outcome_type),
                                OUTCOME_TYPES[:2])
        check_choice(f"better['{o}']", better.get(o, "higher"), BETTER)
        check_money(f"value_per_outcome['{o}']", value_per_outcome[o])
    attrs = {} if people is None else {a: people[a].to_numpy() for a in tariff.attributes}
    cost = None if cost_per_participant is None else n * check_money(
        "cost_per_participant", cost_per_participant)
    chunk = chunk_size or max(1, min(n_draws, 1_000_000 // max(n, 1)))
    chunk = check_int("chunk_size", chunk)
    ss = np.random.SeedSequence(seed)
    rng_rates, *chunk_seeds = ss.spawn(1 + -(-n_draws // chunk))
    rng0 = np.random.default_rng(rng_rates)
    ni = {o: dists[o].distribution.sample(rng0, n_draws) for o in simulated}
    eff = {}
    for o in simulated:
        draws_e = check_effect(f"effect['{o}']", effect[o])
        _check_effect_range(o, dists[o].non_intervention, float(draws_e.mean()), scale, types[o])
        e = np.asarray(effect[o], dtype=float)
        eff[o] = rng0.choice(e.ravel(), n_draws) if e.ndim else np.full(n_draws, float(e))
    profiles: dict[str, np.ndarray] = {}
    for o, p in dict(person_rates or {}).items():
        if o not in simulated:
            raise OptionError(f"`person_rates` names '{o}', which is not a simulated outcome of "
                              f"the tariff ({', '.join(map(repr, simulated))}).")
        w = check_rates(f"person_rates['{o}']", p, outcome_type=None)
        if w.size != n or w.mean() <= 0:
            raise OptionError(f"`person_rates['{o}']` must be {n} non-negative numbers (one per "
                              f"participant) with a positive mean; got {w.size} value(s).")
        profiles[o] = w / w.mean()
    payments = np.empty(n_draws)
    value = np.zeros(n_draws)
    clipped = dict.fromkeys(simulated, 0)
    for k, start in enumerate(range(0, n_draws, chunk)):
        stop = min(start + chunk, n_draws)
        rng = np.random.default_rng(chunk_seeds[k])
        y: dict[str, np.ndarray] = {}
        for o in simulated:
            base = ni[o][start:stop, None] * (profiles[o][None, :] if o in profiles else 1.0)
            e = eff[o][start:stop, None]
            r = base + e if scale == "additive" else base * (1.0 + e)
            outside = (r < 0.0) | (r > 1.0) if types[o] == "binary" else r < 0.0
            clipped[o] += int(np.broadcast_to(outside, (stop - start, n)).sum())
            r = np.clip(r, 0.0, 1.0) if types[o] == "binary" else np.maximum(r, 0.0)
            if types[o] == "binary":
                y[o] = (rng.random((stop - start, n)) < r).astype(float)
            else:
                y[o] = rng.poisson(np.broadcast_to(r, (stop - start, n))).astype(float)
            sign = -1.0 if better.get(o, "higher") == "lower" else 1.0
            value[start:stop] += sign * float(value_per_outcome[o]) * (
                y[o].sum(axis=1) - n * ni[o][start:stop])
        for o, v in fixed.items():
            y[o] = np.broadcast_to(v, (stop - start, n))
        ctx = {"comparison": {o: ni[o][start:stop] for o in simulated}, "n_people": n}
        payments[start:stop] = tariff.total(y, attrs, ctx)
    info = {"draws": n_draws, "seed": seed, "cohort_size": n, "effect_scale": scale,
            "outcome_types": types, "better": {o: better.get(o, "higher") for o in simulated},
            "fixed_outcomes": list(fixed), "chunk_size": chunk,
            "person_rates": sorted(profiles),
            # person-draws whose drawn rate fell outside its range and was held at the bound
            "rates_clipped": {o: {"n": k, "of": n_draws * n} for o, k in clipped.items() if k}}
    return PaymentRisk(payments=payments, value=value, cost=cost, non_intervention=ni, info=info)
