"""The result of :func:`pbr_eval.pricing.price`: :class:`PriceRecommendation`.

Recommended outcome prices with bands, floors and risks, one row per priced
outcome (:data:`PRICE_COLUMNS`), and the price curve figure. The numbers are
computed in :mod:`pbr_eval.pricing.recommend`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema, format_money
from pbr_eval.options import DEFAULT_LEVEL, check_choice
from pbr_eval.results.base import HasFigures, Results, frame_from_records

__all__ = ["PRICE_COLUMNS", "PriceRecommendation"]

#: Columns of :meth:`PriceRecommendation.to_frame`, in order (a public contract).
PRICE_COLUMNS = [
    "outcome",
    "paid_outcome",
    "value_per_outcome",
    "expected_rate",
    "non_intervention",
    "non_intervention_se",
    "non_intervention_ci_lower",
    "non_intervention_ci_upper",
    "deadweight_share",
    "attachment_fee",
    "cost_per_participant",
    "ceiling",
    "floor",
    "recommended",
    "band_lower",
    "band_upper",
    "prob_overpay",
    "cost_per_additional_outcome",
    "payment_per_participant",
    "cohort_size",
    "expected_total_payment",
    "budget_price",
    "viable",
    "verdict",
]




def _price_schema(rate_kind: str) -> Schema:
    """Return the declared columns of :meth:`PriceRecommendation.to_frame`; rates of ``rate_kind``."""
    return Schema((
        Column("outcome", "text", "Outcome"),
        Column("paid_outcome", "text", "Outcome paid for"),
        Column("value_per_outcome", "money", "Value of one additional outcome"),
        Column("expected_rate", rate_kind, "Expected rate with the programme"),
        Column("non_intervention", rate_kind, "Non-intervention rate",
               description="The rate the participants would have had without the programme."),
        Column("non_intervention_se", "number", "Standard error of the non-intervention rate"),
        Column("non_intervention_ci_lower", rate_kind, "Non-intervention rate, lower limit"),
        Column("non_intervention_ci_upper", rate_kind, "Non-intervention rate, upper limit"),
        Column("deadweight_share", "probability", "Share of paid outcomes that would have "
               "happened anyway"),
        Column("attachment_fee", "money", "Attachment fee per participant"),
        Column("cost_per_participant", "money", "Provider's cost per participant"),
        Column("ceiling", "money", "Most worth paying per outcome (central estimate)"),
        Column("floor", "money", "Provider's break-even price per outcome"),
        Column("recommended", "money", "Recommended price per outcome"),
        Column("band_lower", "money", "Price band, lower end"),
        Column("band_upper", "money", "Price band, upper end"),
        Column("prob_overpay", "probability", "Chance of paying for deadweight at this price"),
        Column("cost_per_additional_outcome", "money", "Cost per additional outcome"),
        Column("payment_per_participant", "money", "Expected payment per participant"),
        Column("cohort_size", "planned_count", "Participants paid for"),
        Column("expected_total_payment", "money", "Expected total payments"),
        Column("budget_price", "money", "Price the budget allows"),
        Column("viable", "text", "Viable (provider's floor below the ceiling)"),
        Column("verdict", "text", "Verdict"),
    ))



class PriceRecommendation(Results, HasFigures):
    """Recommended outcome prices with bands, floors and risks (read-only).

    Attributes
    ----------
    level : float
        Confidence level of the band and of the default rule.
    rule : str
        The rule that chose ``recommended`` (see :func:`price`).
    info : mapping
        Inputs, the rule in words, each priced outcome's type
        (``outcome_types``) and notes.

    Examples
    --------
    Made by :func:`pbr_eval.price`:

    >>> import pbr_eval
    >>> from pbr_eval.aggregates import from_rates
    >>> rec = pbr_eval.price(from_rates(0.40, 1000, 0.30, outcome="job"),
    ...                      value_per_outcome=1000.0)
    >>> row = rec.to_frame().iloc[0]
    >>> float(row["ceiling"]), round(float(row["recommended"]), 2), rec.rule
    (250.0, 171.97, 'upper')
    >>> rec.info["rule"]  # doctest: +NORMALIZE_WHITESPACE
    'ceiling at the upper limit of the two-sided 95% interval of the non-intervention rate
     (chance of paying for deadweight at most 2.5%)'
    """

    kind: ClassVar[str] = "price"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"level", "rule", "prices"})
    title: ClassVar[str] = "Recommended outcome prices"
    schema: ClassVar[Schema] = _price_schema("rate")
    figures: ClassVar[tuple[str, ...]] = ("price_curve",)
    _redo = "price again"

    def __init__(self, frame: pd.DataFrame, *, level: float, info: Mapping[str, Any]) -> None:
        self._frame = frame
        self.level = level
        self.rule = str(info.get("rule_name", "upper"))
        self.info = MappingProxyType(dict(info))
        self._freeze()


    @property
    def viable(self) -> bool:
        """Whether every priced outcome has floor <= ceiling (or no floor was given)."""
        return bool(self._frame["viable"].fillna(True).astype(bool).all())

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome; columns in :data:`PRICE_COLUMNS`."""
        return self._frame.copy()

    def summary(self) -> str:
        """Plain-text summary for a commissioner."""
        pct = int(round(self.level * 100))
        lines = ["pbr_eval: recommended outcome prices", "=" * 72,
                 f"Rule: {self.info.get('rule', '')}.", ""]
        for _, r in self._frame.iterrows():
            rates = r[["expected_rate", "non_intervention_ci_lower", "non_intervention_ci_upper"]]
            share = bool((rates.astype(float) <= 1).all() and (rates.astype(float) >= 0).all())

            def fmt(x: float, _share: bool = share) -> str:
                return f"{x:.1%}" if _share else f"{x:.3g}"
            lines += [
                f"Paid outcome: {r['paid_outcome']}",
                f"  value of one additional outcome: {format_money(r['value_per_outcome'])}",
                f"  expected rate with the programme: {fmt(r['expected_rate'])}; non-intervention "
                f"rate {fmt(r['non_intervention'])} ({pct}% CI "
                f"{fmt(r['non_intervention_ci_lower'])} to {fmt(r['non_intervention_ci_upper'])})",
                f"  {r['deadweight_share']:.0%} of the outcomes paid for would have happened anyway",
                f"  most worth paying (central estimate): {format_money(r['ceiling'])} per outcome",
                f"  recommended price per outcome: {format_money(r['recommended'])} (band "
                f"{format_money(r['band_lower'])} to {format_money(r['band_upper'])}); chance of paying for "
                f"deadweight at this price {r['prob_overpay']:.1%}",
            ]
            if np.isfinite(r["floor"]):
                lines.append(f"  provider's break-even price: {format_money(r['floor'])} per outcome")
            if np.isfinite(r["expected_total_payment"]):
                lines.append(
                    f"  expected payments for {int(r['cohort_size']):,} participants: "
                    f"{format_money(r['expected_total_payment'])}"
                )
            if r["verdict"]:
                lines.append(f"  {r['verdict']}")
            lines.append("")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines).rstrip()

    def __repr__(self) -> str:
        return f"<PriceRecommendation rule={self.rule!r} outcomes={self._frame['outcome'].tolist()}>"

    def frame_schema(self) -> Schema:
        """Return the declared columns: rates are shares of people for yes/no outcomes, else means.

        The outcome types come from ``info["outcome_types"]``; a saved file
        without them (written before pbr_eval 0.2) is read as rates when
        every rate lies in [0, 1].
        """
        types = self.info.get("outcome_types")
        if isinstance(types, Mapping) and types:
            kinds = {"rate" if types.get(o) == "binary" else "mean"
                     for o in self._frame["outcome"]}
        else:
            cols = ["expected_rate", "non_intervention"]
            v = self._frame[cols].to_numpy(dtype=float)
            kinds = {"rate" if bool(np.all((v[np.isfinite(v)] >= 0) & (v[np.isfinite(v)] <= 1)))
                     else "mean"}
        return _price_schema(kinds.pop() if len(kinds) == 1 else "number")

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"price_curve"``: the most worth paying against the non-intervention rate.

        One line per priced outcome (at most six) with a rate and a positive
        expected rate: the price ``v (1 - n / r)`` over a grid of rates
        ``n``, the estimate, its band, the recommended price, the tipping
        point (where the price reaches zero, or the provider's floor) and the
        floor. ``policy`` is accepted for the common signature; prices reveal
        no counts.
        """
        check_choice("name", name, self.figures)
        lines = []
        for _, r in self._frame.head(6).iterrows():
            v, rate, n = (float(r[k]) for k in ("value_per_outcome", "expected_rate",
                                                   "non_intervention"))
            if not all(math.isfinite(x) for x in (v, rate, n)) or rate <= 0:
                continue
            floor = float(r["floor"])
            tip = rate * (1 - floor / v) if math.isfinite(floor) else rate
            grid = np.linspace(0.0, min(1.0, max(rate, n) * 1.25), 60)
            rec = float(r["recommended"])
            lines.append({
                "label": str(r["paid_outcome"]),
                "x": [float(x) for x in grid],
                "price": [float(max(v * (1 - x / rate), 0.0)) for x in grid],
                "estimate": n, "price_at_estimate": float(max(v * (1 - n / rate), 0.0)),
                "recommended": rec if math.isfinite(rec) else None,
                "band": [float(r[k]) if math.isfinite(float(r[k])) else None
                         for k in ("non_intervention_ci_lower", "non_intervention_ci_upper")],
                "tipping_point": float(tip), "floor": floor if math.isfinite(floor) else None,
            })
        if not lines:
            raise OptionError("No priced outcome has a rate and a positive expected rate to draw "
                              "the price curve from.")
        return {"lines": lines}

    def _to_state(self) -> dict[str, Any]:
        return {"level": self.level, "rule": self.rule,
                "prices": self._frame.to_dict(orient="records"), "info": dict(self.info)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: ``kind``, ``level``, ``rule``, ``prices`` (the rows), ``info``."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> PriceRecommendation:
        frame = frame_from_records(state.get("prices") or [], columns=PRICE_COLUMNS,
                                   text=("outcome", "paid_outcome", "viable", "verdict"))
        info = dict(state.get("info") or {})
        info.setdefault("rule_name", state.get("rule", "upper"))
        return cls(frame, level=float(state.get("level", DEFAULT_LEVEL)), info=info)
