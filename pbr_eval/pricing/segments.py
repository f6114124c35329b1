"""Differential tariffs against cherry-picking ("creaming and parking").

Under a flat price per outcome a provider earns most from the people whose
outcomes were likely anyway. Grouping people by their predicted
non-intervention probability and paying more per outcome in the harder
groups makes every person worth the same expected margin to the provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.kinds import Column, Schema, format_money
from pbr_eval.options import (
    EFFECT_SCALES,
    check_choice,
    check_int,
    check_money,
    check_number,
    check_rates,
)
from pbr_eval.pricing.mechanisms import PerOutcomeByGroup
from pbr_eval.pricing.tariff import Tariff
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["DifferentialTariff", "differential_tariff", "payment_groups"]




def _probabilities(p0: Any) -> pd.Series:
    try:
        v = check_rates("p0", p0, outcome_type="binary")
    except OptionError as err:
        raise OptionError(
            "`p0` must be one predicted non-intervention probability per person, all in [0, 1]; "
            f"{str(err).split('; ', 1)[-1]}"
        ) from err
    if isinstance(p0, pd.Series):
        return pd.Series(v, index=p0.index, name=p0.name)
    return pd.Series(v)


def payment_groups(
    p0: Any = None,
    *,
    n_groups: int | None = None,
    bands: Sequence[float] | None = None,
    data: pd.DataFrame | None = None,
    columns: Sequence[str] | str | None = None,
) -> pd.Series:
    """Assign people to payment groups.

    Parameters
    ----------
    p0 : array or Series, optional
        Per-person predicted probability of the *paid* outcome without the
        programme (e.g. from an outcome model fitted on the comparison
        group). Needed for ``n_groups`` or ``bands``.
    n_groups : int, optional
        Equal-sized groups by quantile of ``p0``.
    bands : list of float, optional
        Cut points on ``p0`` (e.g. ``[0, 0.2, 0.5, 1]``).
    data, columns : optional
        Or group by named columns of ``data`` (e.g. benefit type and age
        band, as the Work Programme did).

    Returns
    -------
    pandas.Series
        Group label per person (strings), indexed like ``p0`` or ``data``.

    Raises
    ------
    OptionError
        When not exactly one grouping is chosen, or it is invalid.

    Examples
    --------
    >>> payment_groups([0.1, 0.5, 0.9, 0.3], bands=[0, 0.25, 0.75, 1]).tolist()
    ['0.00-0.25', '0.25-0.75', '0.75-1.00', '0.25-0.75']
    """
    chosen = [x is not None for x in (n_groups, bands, columns)]
    if sum(chosen) != 1:
        raise OptionError("Choose exactly one of `n_groups`, `bands` or `columns` to form "
                          f"payment groups; got {sum(chosen)}.")
    if columns is not None:
        if data is None:
            raise OptionError("`columns` needs `data`, the frame holding them.")
        cols = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise OptionError(f"`columns` names {', '.join(map(repr, missing))}, not in `data`.")
        return data[cols].astype(str).agg(" / ".join, axis=1).rename("payment_group")
    s = _probabilities(p0)
    if n_groups is not None:
        k = check_int("n_groups", n_groups, minimum=2)
        edges = np.unique(np.quantile(s.to_numpy(), np.linspace(0, 1, k + 1)))
        if edges.size < 3:
            raise OptionError(f"`p0` has too few distinct values for {k} groups.")
    else:
        edges = np.asarray(sorted(bands or ()), dtype=float)
        if edges.size < 2 or edges[0] > s.min() or edges[-1] < s.max():
            raise OptionError(
                f"`bands` must cover every probability ({s.min():.3g} to {s.max():.3g}) with at "
                f"least two cut points; got {list(bands or ())}."
            )
    idx = np.clip(np.searchsorted(edges, s.to_numpy(), side="right") - 1, 0, edges.size - 2)
    labels = np.array([f"{edges[i]:.2f}-{edges[i + 1]:.2f}" for i in range(edges.size - 1)])
    return pd.Series(labels[idx], index=s.index, name="payment_group")


class DifferentialTariff(Results):
    """Prices by payment group that equalise the provider's expected margin.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group (the index): ``n``, ``mean_p0``, ``expected_rate``,
        ``cost_per_participant``, ``flat_price``, ``flat_margin``, ``price``,
        ``margin`` (expected margin per person).
    groups : pandas.Series or None
        Group per person (``None`` when rebuilt from :meth:`to_dict`, which
        carries aggregates only).
    margin : float
        The equalised expected margin per person.
    info : mapping

    Examples
    --------
    Made by :func:`differential_tariff`: the harder group's price is higher, so the provider's
    expected margin is the same in both.

    >>> dt = differential_tariff([0.2, 0.2, 0.6, 0.6], ["hard", "hard", "easy", "easy"],
    ...                          effect=0.1, cost_per_participant=100.0, flat_price=1000.0)
    >>> dt.to_frame()[["price", "margin"]].round(2)
                       price  margin
    payment_group
    easy            714.29   400.0
    hard           1666.67   400.0
    """

    kind: ClassVar[str] = "differential_tariff"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"table", "margin"})
    title: ClassVar[str] = "Differential tariff"
    _redo = "call differential_tariff() again"

    def __init__(self, table: pd.DataFrame, groups: pd.Series | None, margin: float,
                 outcome: str, info: Mapping[str, Any]) -> None:
        self.table = table
        self.groups = groups
        self.margin = margin
        self.outcome = outcome
        self.info = MappingProxyType(dict(info))
        self._freeze()


    @property
    def prices(self) -> dict[str, float]:
        """Price per outcome by group."""
        return {str(g): float(p) for g, p in self.table["price"].items()}

    def to_frame(self) -> pd.DataFrame:
        """Return the per-group table, indexed by group."""
        return self.table.copy()

    def frame_schema(self) -> Schema:
        """Return the declared columns (the group column is named after the grouping)."""
        return Schema((
            Column(str(self.table.index.name or "group"), "text", "Payment group"),
            Column("n", "count", "People"),
            Column("mean_p0", "probability",
                   "Average chance of the outcome without the programme"),
            Column("expected_rate", "probability", "Expected rate with the programme"),
            Column("cost_per_participant", "money", "Provider's cost per participant"),
            Column("flat_price", "money", "Flat price per outcome"),
            Column("flat_margin", "money", "Provider's margin per person at the flat price"),
            Column("price", "money", "Differential price per outcome"),
            Column("margin", "money", "Provider's margin per person at the differential price"),
        ))

    def mechanism(self, *, group_column: str = "payment_group") -> PerOutcomeByGroup:
        """Return the prices as a payment mechanism."""
        return PerOutcomeByGroup(self.outcome, self.prices, group_column=group_column)

    def tariff(self, *, group_column: str = "payment_group") -> Tariff:
        """Return a :class:`Tariff` paying the differential prices."""
        return Tariff([self.mechanism(group_column=group_column)], name="differential tariff")

    def summary(self) -> str:
        """Return a plain-text summary of the differential tariff."""
        t = self.table
        lines = ["Differential tariff: prices that make every group equally worth serving",
                 "=" * 78,
                 f"{'group':<14}{'people':>8}{'rate without':>14}{'flat margin':>14}"
                 f"{'price':>12}{'margin':>12}"]
        for g, r in t.iterrows():
            lines.append(f"{str(g):<14}{int(r['n']):>8,}{r['mean_p0']:>14.1%}"
                         f"{r['flat_margin']:>14,.0f}{r['price']:>12,.0f}{r['margin']:>12,.0f}")
        spread = t["flat_margin"].max() - t["flat_margin"].min()
        lines.append(f"Under the flat price of {format_money(self.info['flat_price'])} the best group is "
                     f"worth {format_money(spread)} more per person than the worst: that gap is the "
                     "incentive to cherry-pick, which the differential prices remove.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DifferentialTariff groups={len(self.table)} margin={self.margin:,.2f}>"

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.to_frame().reset_index().to_dict(orient="records"),
                "info": dict(self.info), "margin": self.margin, "outcome": self.outcome,
                "group_column": str(self.table.index.name or "group")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (aggregates only): ``kind``, ``table`` (one row per group), ``info``, ``margin``, ``outcome``, ``group_column``."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> DifferentialTariff:
        rows = state.get("table") or []
        gcol = state.get("group_column") or (next(iter(rows[0])) if rows else "group")
        table = frame_from_records(rows, index=gcol)
        return cls(table, None, float(state.get("margin", float("nan"))),
                   str(state.get("outcome", "outcome")), dict(state.get("info") or {}))


def differential_tariff(
    p0: Any,
    groups: pd.Series | Sequence[Any],
    *,
    effect: float,
    cost_per_participant: float | Mapping[Any, float],
    flat_price: float | None = None,
    total_payment: float | None = None,
    effect_scale: str = "additive",
    outcome: str = "outcome",
) -> DifferentialTariff:
    """Prices per group so the provider's expected margin per person is equal.

    Parameters
    ----------
    p0 : array or Series
        Predicted probability of the paid outcome without the programme, per person.
    groups : Series or list
        Payment group per person (see :func:`payment_groups`).
    effect : float
        The programme's expected effect on each person's probability:
        added (``"additive"``) or multiplying (``"relative"``: ``p0 (1 + e)``).
    cost_per_participant : float or dict
        Delivery cost per person, one number or one per group.
    flat_price : float, optional
        The flat price it replaces; the differential tariff costs the same in
        expectation (budget neutral). Or give ``total_payment``.
    total_payment : float, optional
        The expected total to pay out over these people.
    effect_scale : {"additive", "relative"}, default "additive"
    outcome : str, default "outcome"
        The paid outcome's name (for :meth:`DifferentialTariff.tariff`).

    Returns
    -------
    DifferentialTariff

    Raises
    ------
    OptionError
        For invalid inputs.
    OptionError
        Also when the effect would push someone's expected probability
        outside [0, 1] (it is not silently held at the bound).
    NotViableError
        When a group would need a negative price (the budget is below its cost
        by more than the common margin allows) or has no expected outcomes.

    Notes
    -----
    With expected rate ``r_i`` per person, group ``g`` of size ``N_g`` has mean
    rate ``rbar_g`` and cost ``c_g``. At price ``p_g`` the expected margin per
    person is ``m_g = p_g rbar_g - c_g``. Equal margins ``m`` with the total
    expected payment ``P`` fixed give ``m = (P - sum_g N_g c_g) / N`` and
    ``p_g = (m + c_g) / rbar_g``. Under a flat price ``f`` the margins are
    ``f rbar_g - c_g``: largest for the groups most likely to succeed anyway.

    The margins are equal in expectation under the model for ``p0``; a
    miscalibrated model leaves a gap (check calibration on the comparison
    group).

    Examples
    --------
    >>> dt = differential_tariff([0.2, 0.2, 0.6, 0.6], ["hard", "hard", "easy", "easy"],
    ...                          effect=0.1, cost_per_participant=100.0, flat_price=1000.0)
    >>> dt.prices
    {'easy': 714.28..., 'hard': 1666.66...}
    >>> dt.table["flat_margin"].round().tolist()
    [600.0, 200.0]
    """
    s = _probabilities(p0)
    garr = np.asarray(groups, dtype=object).ravel()
    g = pd.Series(garr if len(garr) == len(s) else np.full(len(s), None), index=s.index,
                  name="payment_group")
    if len(garr) != len(s) or g.isna().any():
        raise OptionError(f"`groups` must give a group for each of the {len(s)} people.")
    scale = check_choice("effect_scale", effect_scale, EFFECT_SCALES)
    e = check_number("effect", effect)
    r = s + e if scale == "additive" else s * (1.0 + e)
    outside = (r < 0) | (r > 1)
    if outside.any():
        worst = float(r[outside].iloc[0])
        raise OptionError(
            f"`effect` = {e:g} ({scale}) gives {int(outside.sum())} of {len(r)} people an expected "
            f"probability outside [0, 1] (e.g. {worst:.3g}): a yes/no outcome's probability "
            "cannot go there. Give a smaller effect (5 points is 0.05), or use "
            "effect_scale='relative' for an effect proportional to each person's probability."
        )
    if (flat_price is None) == (total_payment is None):
        raise OptionError("Give exactly one of `flat_price` (the tariff to replace, kept budget "
                          "neutral) or `total_payment` (the expected total to pay).")
    grouped = pd.DataFrame({"g": g.to_numpy(), "p0": s.to_numpy(), "r": r.to_numpy()}
                           ).groupby("g", sort=True)
    table = pd.DataFrame({"n": grouped.size(), "mean_p0": grouped["p0"].mean(),
                          "expected_rate": grouped["r"].mean()})
    table.index.name = "payment_group"
    if isinstance(cost_per_participant, Mapping):
        missing = [k for k in table.index if k not in cost_per_participant]
        if missing:
            raise OptionError(f"`cost_per_participant` has no cost for group(s) "
                              f"{', '.join(map(repr, missing))}.")
        table["cost_per_participant"] = [check_money(f"cost_per_participant[{k!r}]",
                                                     cost_per_participant[k])
                                         for k in table.index]
    else:
        table["cost_per_participant"] = check_money("cost_per_participant", cost_per_participant)
    if (table["expected_rate"] <= 0).any():
        bad = table.index[table["expected_rate"] <= 0].tolist()
        raise NotViableError(f"Group(s) {bad} expect no outcomes: no price per outcome can pay "
                             "for them. Merge them with another group or pay an attachment fee.")
    n_total = float(table["n"].sum())
    expected_outcomes = float(r.sum())
    if flat_price is not None:
        f = check_money("flat_price", flat_price)
        total = f * expected_outcomes
    else:
        total = check_money("total_payment", total_payment)
        f = total / expected_outcomes
    table["flat_price"] = f
    table["flat_margin"] = f * table["expected_rate"] - table["cost_per_participant"]
    margin = (total - float((table["n"] * table["cost_per_participant"]).sum())) / n_total
    table["price"] = (margin + table["cost_per_participant"]) / table["expected_rate"]
    if (table["price"] < 0).any():
        raise NotViableError(
            f"At a total of {format_money(total)} the common margin is {format_money(margin)} per person, below "
            "minus the cost of some group: it would need a negative price. Raise the budget."
        )
    table["margin"] = table["price"] * table["expected_rate"] - table["cost_per_participant"]
    info = {"flat_price": f, "total_payment": total, "effect": e, "effect_scale": scale,
            "n_people": int(n_total)}
    return DifferentialTariff(table, g, margin, outcome, info)
