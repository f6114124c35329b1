"""Results of the parallel-trends sensitivity analysis (Rambachan & Roth 2023).

:class:`ParallelTrendsResults` is what
:func:`pbr_eval.estimators.did_sensitivity.parallel_trends_sensitivity` (and
:func:`pbr_eval.parallel_trends` on a difference-in-differences result) returns: for each
bound on how far the difference in trends may depart from parallel, the confidence interval
of the effect, the breakdown value (the largest bound at which the interval still excludes
zero) and, when a value per outcome is given, the price per outcome that keeps the chance of
paying for deadweight at the stated risk under each bound. Aggregates only: event-study
coefficients in, intervals out.

Two restrictions (``info["restriction"]``):

``"relative_magnitudes"``
    The bound ``Mbar``: between consecutive periods after the start, the difference in
    trends moves by at most ``Mbar`` times its largest move between consecutive periods
    before the start.
``"smoothness"``
    The bound ``M``: the difference in trends may change slope by at most ``M`` (in the
    outcome's units) between consecutive periods; ``M = 0`` allows a straight-line trend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.kinds import Column, Schema, format_value
from pbr_eval.options import DEFAULT_LEVEL, check_level
from pbr_eval.results.base import HasFigures, Results

__all__ = ["ParallelTrendsResults", "SENSITIVITY_SCHEMA", "RESTRICTION_WORDS"]

#: Columns of :meth:`ParallelTrendsResults.to_frame` (one row per bound).
SENSITIVITY_SCHEMA = Schema((
    Column("M", "number", "Bound on the departure from parallel trends",
           description="Relative magnitudes: how many times the largest move before the start "
                       "the difference in trends may move after it. Smoothness: how much the "
                       "difference in trends may change slope between periods, in the "
                       "outcome's units."),
    Column("outcome_type", "text", "Outcome type"),
    Column("estimate", "outcome_difference", "Centre of the interval", by="outcome_type"),
    Column("lower", "outcome_difference", "Lower limit", by="outcome_type"),
    Column("upper", "outcome_difference", "Upper limit", by="outcome_type"),
    Column("max_bias", "outcome_difference", "Largest bias allowed", by="outcome_type"),
    Column("std_error", "outcome_difference", "Standard error", by="outcome_type"),
    Column("non_intervention_upper", "outcome", "Highest non-intervention level",
           by="outcome_type",
           description="The expected level with the programme minus the interval's limit "
                       "nearer zero: the highest level without the programme this bound allows."),
    Column("price", "money", "Price safe at this bound",
           description="The most per outcome that keeps the chance of paying for deadweight at "
                       "the stated risk if trends depart from parallel by up to this bound."),
))

#: Restriction -> (bound's name, plain description, short label).
RESTRICTION_WORDS: dict[str, tuple[str, str, str]] = {
    "relative_magnitudes": (
        "Mbar",
        "relative magnitudes (after the start, the difference in trends between the groups moves "
        "between consecutive periods by at most Mbar times its largest such move before the "
        "start; Rambachan & Roth 2023)",
        "times the largest pre-period move"),
    "smoothness": (
        "M",
        "smoothness (the difference in trends may change slope by at most M between "
        "consecutive periods; Rambachan & Roth 2023)",
        "change in slope per period"),
}


def _num(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.4g}"


class ParallelTrendsResults(Results, HasFigures):
    """Confidence intervals for a DiD effect when parallel trends may fail by up to a bound.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per bound (see :data:`SENSITIVITY_SCHEMA`; the bound is in column ``M``
        whatever the restriction). ``estimate``, ``max_bias`` and ``std_error`` are
        those of the fixed-length interval (smoothness) and missing for relative
        magnitudes (a test-inversion interval has no centre). ``non_intervention_upper``
        and ``price`` are missing unless a value per outcome was given.
    original : mapping
        The interval assuming parallel trends hold exactly (``estimate``,
        ``std_error``, ``lower``, ``upper``).
    breakdown : float
        The largest bound whose interval excludes zero (0 when even the
        original interval contains zero; ``inf`` when no bound tried reaches zero).
    info : mapping
        ``restriction`` and its words, periods, target weights, method, notes, the
        ``outcome`` and, with prices: ``value_per_outcome``, ``expected_rate``,
        ``risk``, ``ordinary_price`` (from the original interval) and ``price_holds_to``
        (the largest bound at which the ordinary price keeps the stated risk).
    level : float

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.estimators.did_sensitivity import parallel_trends_sensitivity
    >>> r = parallel_trends_sensitivity(np.array([0.0, 0.01, 0.3, 0.3]), np.eye(4) * 0.01,
    ...                                 n_pre=2, n_post=2, M=[0.0, 0.1])
    >>> r.to_frame()["M"].tolist()
    [0.0, 0.1]
    """

    kind: ClassVar[str] = "parallel_trends"
    title: ClassVar[str] = "Parallel trends: how far they may fail before the effect is lost"
    schema: ClassVar[Schema] = SENSITIVITY_SCHEMA
    figures: ClassVar[tuple[str, ...]] = ("parallel_trends",)

    def __init__(self, *, table: pd.DataFrame, original: Mapping[str, float], breakdown: float,
                 info: Mapping[str, Any], level: float = DEFAULT_LEVEL) -> None:
        t = table.copy()
        for c in SENSITIVITY_SCHEMA.names:
            if c not in t.columns:
                t[c] = "" if c == "outcome_type" else np.nan
        t["outcome_type"] = t["outcome_type"].fillna("").astype(str)
        self.table = t[list(SENSITIVITY_SCHEMA.names)].reset_index(drop=True)
        self.original = MappingProxyType({k: float(v) for k, v in original.items()})
        self.breakdown = float(breakdown)
        self.info = MappingProxyType(dict(info))
        self.level = check_level(level)
        self._freeze()

    @property
    def restriction(self) -> str:
        """``"relative_magnitudes"`` or ``"smoothness"``."""
        return str(self.info.get("restriction", "smoothness"))

    @property
    def has_prices(self) -> bool:
        """True when prices were computed (a value per outcome was given)."""
        return bool(np.isfinite(self.table["price"].to_numpy(float)).any())

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Return the intervals, one row per bound.

        Parameters
        ----------
        level : float, optional
            Must equal the level the intervals were computed at (they are
            not rescaled: an interval's construction depends on the level).
        """
        if level is not None and check_level(level) != self.level:
            from pbr_eval.exceptions import OptionError

            raise OptionError(f"`level` must be {self.level} (the level these intervals were "
                              f"computed at); got {level}. Run the analysis again at {level}.")
        return self.table.copy()

    def conclusion(self) -> str:
        """Return one plain sentence: how far parallel trends may fail before the effect could be zero."""
        o, bd = self.original, self.breakdown
        name, _, unit = RESTRICTION_WORDS.get(self.restriction, RESTRICTION_WORDS["smoothness"])
        if o["lower"] <= 0 <= o["upper"]:
            return ("Even if trends were exactly parallel the interval contains zero: there is "
                    "no conclusion for a departure from parallel trends to overturn.")
        if not math.isfinite(bd):
            return ("The conclusion that the effect is not zero survives every bound tried.")
        if self.restriction == "relative_magnitudes":
            return (f"The conclusion that the effect is not zero survives departures from "
                    f"parallel trends after the start of up to {bd:.2f} times the largest "
                    f"departure between consecutive periods before it (the breakdown value "
                    f"{name} = {bd:.2f}).")
        return (f"The conclusion that the effect is not zero survives a difference in trends "
                f"whose slope changes by up to {bd:.3g} per period (the breakdown value "
                f"{name} = {bd:.3g}, in the outcome's units).")

    def summary(self) -> str:
        """Plain text: the original interval, the interval by bound, the breakdown, the prices."""
        o = self.original
        pct = f"{self.level:.0%}"
        name, words, _ = RESTRICTION_WORDS.get(self.restriction, RESTRICTION_WORDS["smoothness"])
        lines = [self.title,
                 f"Effect {_num(o['estimate'])}; {pct} interval assuming parallel trends "
                 f"{_num(o['lower'])} to {_num(o['upper'])}.",
                 f"Restriction: {self.info.get('restriction_label', words)}."]
        cur = str(self.info.get("currency", "£"))
        for _, r in self.table.iterrows():
            price = ("" if not math.isfinite(r["price"]) else
                     f"; price {format_value(r['price'], 'money', currency=cur)}")
            lines.append(f"  {name} = {r['M']:.4g}: {_num(r['lower'])} to {_num(r['upper'])}"
                         f"{price}")
        bd = ("the original interval already contains zero" if self.breakdown == 0 else
              "no bound tried makes it contain zero" if not math.isfinite(self.breakdown) else
              f"{name} = {self.breakdown:.4g}")
        lines.append(f"Breakdown value (the largest {name} whose interval excludes zero): {bd}.")
        lines.append(self.conclusion())
        if self.has_prices:
            lines.append(self.price_sentence())
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def price_sentence(self) -> str:
        """Return the ordinary price and the bound up to which it keeps the stated deadweight risk.

        Examples
        --------
        >>> import pbr_eval
        >>> from pbr_eval.datasets import load_medicaid_event_study
        >>> pt = pbr_eval.parallel_trends(load_medicaid_event_study(), bounds=[0.0, 1.0],
        ...                               value_per_outcome=1000, expected_rate=0.5)
        >>> print(pt.price_sentence())  # doctest: +NORMALIZE_WHITESPACE
        The ordinary recommended price, £57 per outcome, keeps the chance of paying for
        deadweight at 2.5% up to Mbar = 0 and not at the next bound tried; beyond that the
        price safe at that risk is lower (the table's last column), and at the breakdown
        value it is £0.
        """
        cur = str(self.info.get("currency", "£"))
        name = RESTRICTION_WORDS.get(self.restriction, RESTRICTION_WORDS["smoothness"])[0]
        ordinary = float(self.info.get("ordinary_price", math.nan))
        risk = float(self.info.get("risk", (1 - self.level) / 2))
        holds = float(self.info.get("price_holds_to", math.nan))
        money = format_value(ordinary, "money", currency=cur)
        bounds = self.table["M"].to_numpy(float)
        if math.isnan(holds):
            where = f"not even at the smallest bound tried ({name} = {bounds[0]:.3g})"
        elif math.isinf(holds):
            where = f"at every bound tried (up to {name} = {bounds[-1]:.3g})"
        else:
            where = f"up to {name} = {holds:.3g} and not at the next bound tried"
        return (f"The ordinary recommended price, {money} per outcome, keeps the chance of "
                f"paying for deadweight at {risk:.1%} {where}; beyond that the price safe at "
                f"that risk is lower (the table's last column), and at the breakdown value it "
                f"is {format_value(0.0, 'money', currency=cur)}.")

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return the data of the ``"parallel_trends"`` figure: intervals against the bound.

        Aggregates of an event study only (no counts): the same with or without a
        disclosure ``policy``.
        """
        from pbr_eval.options import check_choice

        check_choice("name", name, self.figures)
        bname, _, unit = RESTRICTION_WORDS.get(self.restriction, RESTRICTION_WORDS["smoothness"])

        def col(c: str) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in self.table[c].to_numpy(float)]

        o = self.original
        return {"bound": [float(v) for v in self.table["M"]], "lower": col("lower"),
                "upper": col("upper"), "original": [o["lower"], o["upper"]],
                "estimate": o["estimate"],
                "breakdown": self.breakdown if math.isfinite(self.breakdown) else None,
                "xlabel": f"{bname}: {unit}", "outcome": str(self.info.get("outcome", "")),
                "level": self.level}

    def _to_state(self) -> dict[str, Any]:
        tab = self.table.astype(object).where(self.table.notna(), None)
        return {"table": tab.to_dict(orient="list"), "original": dict(self.original),
                "breakdown": self.breakdown if math.isfinite(self.breakdown) else None,
                "info": dict(self.info), "level": self.level}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> ParallelTrendsResults:
        bd = state.get("breakdown")
        tab = pd.DataFrame({k: [np.nan if v is None else v for v in vals]
                            if k != "outcome_type" else vals
                            for k, vals in state["table"].items()})
        return cls(table=tab, original=state["original"],
                   breakdown=float("inf") if bd is None else bd, info=state.get("info", {}),
                   level=state.get("level", DEFAULT_LEVEL))
