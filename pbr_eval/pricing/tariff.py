"""A tariff: payment mechanisms combined, applied to outcome claims."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import ClaimError, OptionError
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import check_count, check_money
from pbr_eval.pricing.mechanisms import PaymentMechanism, _rate_of
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["Tariff", "PaymentStatement"]


class PaymentStatement(Results):
    """What is owed for a set of claims (read-only).

    Attributes
    ----------
    by_person : pandas.DataFrame or None
        One row per enrolled person, one column per payment component, and
        ``total``. ``None`` for a statement rebuilt from :meth:`to_dict`
        (aggregates only).
    info : mapping
        Number of claims, people and outcomes; caps applied.

    Examples
    --------
    Made by :meth:`Tariff.payments`:

    >>> from pbr_eval.pricing import PerOutcome
    >>> claims = pd.DataFrame({"person_id": ["A", "B"], "outcome": ["job", "job"]})
    >>> statement = Tariff([PerOutcome("job", 1000.0)]).payments(claims, people=["A", "B", "C"])
    >>> statement.to_frame()
      component  people_paid  amount
    0       job            2  2000.0
    1     total            2  2000.0
    >>> statement.by_person["total"].tolist()
    [1000.0, 1000.0, 0.0]
    """

    kind: ClassVar[str] = "payment_statement"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"table", "total"})
    title: ClassVar[str] = "Payment statement"
    schema: ClassVar[Schema] = Schema((
        Column("component", "text", "Payment component"),
        Column("people_paid", "count", "People paid"),
        Column("amount", "money", "Amount owed"),
    ))
    _redo = "pay the claims again"

    def __init__(self, by_person: pd.DataFrame | None, info: Mapping[str, Any], *,
                 table: pd.DataFrame | None = None) -> None:
        self.by_person = by_person
        self.info = MappingProxyType(dict(info))
        self._table = table
        self._freeze()

    @property
    def total(self) -> float:
        """Total owed."""
        if self.by_person is None:
            t = self.to_frame()
            return float(t.loc[t["component"] == "total", "amount"].sum())
        return float(self.by_person["total"].sum())

    def to_frame(self) -> pd.DataFrame:
        """Totals by payment component (aggregates only)."""
        if self.by_person is None:
            if self._table is None:
                raise OptionError("A PaymentStatement needs `by_person` or a saved `table`.")
            return self._table.copy()
        cols = [c for c in self.by_person.columns if c != "total"]
        s = self.by_person[cols].sum()
        paid = (self.by_person[cols] > 0).sum()
        out = pd.DataFrame({"component": cols, "people_paid": paid.to_numpy(),
                            "amount": s.to_numpy()})
        total = pd.DataFrame({"component": ["total"],
                              "people_paid": [int((self.by_person["total"] > 0).sum())],
                              "amount": [self.total]})
        return pd.concat([out, total], ignore_index=True)

    def summary(self) -> str:
        """Plain-text statement."""
        lines = [f"Payment statement: {self.info['n_people']:,} people, "
                 f"{self.info['n_claims']:,} claims", "=" * 60]
        for _, r in self.to_frame().iterrows():
            lines.append(f"  {r['component']:<32}{int(r['people_paid']):>8,} "
                         f"{r['amount']:>16,.2f}")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<PaymentStatement total={self.total:,.2f} people={self.info['n_people']}>"

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.to_frame().reset_index().to_dict(orient="records"),
                "info": dict(self.info), "total": self.total}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (aggregates only): ``kind``, ``table``, ``info``, ``total``."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> PaymentStatement:
        table = frame_from_records(state.get("table") or [], text=("component",))
        table = table.drop(columns=["index"], errors="ignore")
        return cls(None, dict(state.get("info") or {}), table=table)


class Tariff:
    """Payment mechanisms combined into one tariff.

    Parameters
    ----------
    mechanisms : sequence of PaymentMechanism
        E.g. an :class:`~pbr_eval.pricing.mechanisms.AttachmentFee`, a
        :class:`~pbr_eval.pricing.mechanisms.PerOutcome` and
        :class:`~pbr_eval.pricing.mechanisms.Milestones`.
    per_person_cap : float, optional
        Most one person can earn over all mechanisms.
    programme_cap : float, optional
        Most paid in total.
    name : str, optional

    Notes
    -----
    A person's total is the sum over mechanisms; a per-person cap scales
    that person's components down together, then a programme cap scales
    everything down together.

    Examples
    --------
    Work Programme, JSA 18-24 (maxima from NAO 2012, *The introduction of the
    Work Programme*): attachment 400, job outcome 1,200, sustainment up to 2,210.

    >>> from pbr_eval.pricing.mechanisms import AttachmentFee, PerOutcome, Milestones
    >>> wp = Tariff([AttachmentFee(400), PerOutcome("job", 1200, max_per_person=1),
    ...              Milestones.every("weeks_in_work", period=4, amount=170, count=13)])
    >>> people = pd.DataFrame({"person_id": ["A", "B"]})
    >>> claims = pd.DataFrame({"person_id": ["A", "A"], "outcome": ["job", "weeks_in_work"],
    ...                        "value": [1, 104]})
    >>> wp.payments(claims, people=people).by_person["total"].tolist()
    [3810.0, 400.0]
    """

    def __init__(self, mechanisms: Sequence[PaymentMechanism], *,
                 per_person_cap: float | None = None, programme_cap: float | None = None,
                 name: str = "tariff") -> None:
        mechanisms = list(mechanisms)
        if not mechanisms or not all(isinstance(m, PaymentMechanism) for m in mechanisms):
            raise OptionError(
                "`mechanisms` must be a non-empty list of payment mechanisms (e.g. "
                "AttachmentFee, PerOutcome, RateCard); got "
                f"{[type(m).__name__ for m in mechanisms]}."
            )
        self.mechanisms = tuple(mechanisms)
        self.per_person_cap = None if per_person_cap is None else check_money(
            "per_person_cap", per_person_cap, positive=True)
        self.programme_cap = None if programme_cap is None else check_money(
            "programme_cap", programme_cap, positive=True)
        self.name = name

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Outcome columns the tariff pays on."""
        return tuple(dict.fromkeys(o for m in self.mechanisms for o in m.outcomes))

    @property
    def attributes(self) -> tuple[str, ...]:
        """Person attributes the tariff needs (e.g. year of attachment, cohort)."""
        return tuple(dict.fromkeys(a for m in self.mechanisms for a in m.attributes))

    def __repr__(self) -> str:
        return f"<Tariff {self.name!r}: {', '.join(type(m).__name__ for m in self.mechanisms)}>"

    # --------------------------------------------------------------- arithmetic
    def amounts(self, y: Mapping[str, np.ndarray], attrs: Mapping[str, np.ndarray],
                ctx: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Per-person amounts by component, caps applied; arrays ``(..., n)``."""
        ctx = dict(ctx or {})
        parts: dict[str, np.ndarray] = {}
        for m in self.mechanisms:
            for k, v in m.amounts(y, attrs, ctx).items():
                key = k
                i = 2
                while key in parts:
                    key, i = f"{k}#{i}", i + 1
                parts[key] = np.asarray(v, dtype=float)
        if self.per_person_cap is not None:
            tot = sum(parts.values())
            scale = np.where(tot > self.per_person_cap,
                             self.per_person_cap / np.where(tot > 0, tot, 1.0), 1.0)
            parts = {k: v * scale for k, v in parts.items()}
        if self.programme_cap is not None:
            s = sum(v.sum(axis=-1, keepdims=True) for v in parts.values())
            scale = np.where(s > self.programme_cap,
                             self.programme_cap / np.where(s > 0, s, 1.0), 1.0)
            parts = {k: v * scale for k, v in parts.items()}
        return parts

    def total(self, y: Mapping[str, np.ndarray], attrs: Mapping[str, np.ndarray],
              ctx: Mapping[str, Any] | None = None) -> np.ndarray:
        """Total payment per cohort (sums the last axis): shape ``(...)``."""
        parts = self.amounts(y, attrs, ctx)
        return sum(v.sum(axis=-1) for v in parts.values())

    # ------------------------------------------------------------------ claims
    def payments(
        self,
        claims: pd.DataFrame,
        *,
        people: pd.DataFrame | Sequence[Any],
        person_column: str = "person_id",
        outcome_column: str = "outcome",
        value_column: str | None = "value",
        comparison: Mapping[str, float] | None = None,
    ) -> PaymentStatement:
        """Return what is owed for claims data (one row per person and outcome).

        Parameters
        ----------
        claims : pandas.DataFrame
            One row per claim: the person, the outcome claimed and (if
            ``value_column`` is in the frame) its value (a count, or a
            duration for milestones); a claim without a value counts 1.
            Several rows for the same person and outcome are added up.
        people : DataFrame or list
            The people attached to the programme: a list of identifiers, or a
            frame with ``person_column`` and any attributes the tariff needs
            (e.g. ``year``, ``cohort``).
        person_column, outcome_column, value_column : str
            Column names in ``claims`` (and ``people``).
        comparison : dict, optional
            Comparison rates measured at payment time (per event avoided,
            sliding scales on improvement).

        Returns
        -------
        PaymentStatement

        Raises
        ------
        ClaimError
            When a claim names a person not attached or an outcome the
            tariff does not pay for, a column is missing, a value is negative
            or not a number, or people are listed twice.
        """
        if isinstance(people, pd.DataFrame):
            if person_column not in people.columns:
                raise ClaimError(
                    f"`people` has no column '{person_column}'; it has "
                    f"{', '.join(map(repr, people.columns))}. Set `person_column=`."
                )
            roster = people.reset_index(drop=True)
        else:
            roster = pd.DataFrame({person_column: list(people)})
        dup = roster[person_column].duplicated()
        if dup.any():
            raise ClaimError(
                f"`people` lists {int(dup.sum())} identifier(s) more than once (e.g. "
                f"{roster.loc[dup, person_column].iloc[0]!r}); each person must appear once."
            )
        missing_attrs = [a for a in self.attributes if a not in roster.columns]
        if missing_attrs:
            raise ClaimError(
                f"The tariff needs the person attribute(s) {', '.join(map(repr, missing_attrs))} "
                "in `people` (e.g. the year each person joined)."
            )
        for col in (person_column, outcome_column):
            if col not in claims.columns:
                raise ClaimError(
                    f"`claims` has no column '{col}'; it has "
                    f"{', '.join(map(repr, claims.columns))}."
                )
        known = pd.Index(roster[person_column])
        unknown_people = ~claims[person_column].isin(known)
        if unknown_people.any():
            bad = pd.unique(claims.loc[unknown_people, person_column])
            raise ClaimError(
                f"{int(unknown_people.sum())} claim(s) name {len(bad)} person(s) not attached to "
                f"the programme, e.g. {', '.join(map(repr, bad[:5]))}; only people in `people` "
                "can be paid for. Check the identifiers or add the attachment records."
            )
        outs = set(self.outcomes)
        unknown_out = ~claims[outcome_column].isin(outs)
        if unknown_out.any():
            bad = pd.unique(claims.loc[unknown_out, outcome_column])
            raise ClaimError(
                f"{int(unknown_out.sum())} claim(s) are for outcome(s) "
                f"{', '.join(map(repr, bad[:5]))} that the tariff does not pay for; it pays for "
                f"{', '.join(map(repr, self.outcomes))}."
            )
        if value_column is not None and value_column in claims.columns:
            values = pd.to_numeric(claims[value_column], errors="coerce")
            bad = values.isna() | (values < 0)
            if bad.any():
                raise ClaimError(
                    f"`claims['{value_column}']` must hold non-negative numbers; "
                    f"{int(bad.sum())} row(s) do not (e.g. {claims.loc[bad, value_column].iloc[0]!r})."
                )
        else:
            values = pd.Series(1.0, index=claims.index)
        summed = (pd.DataFrame({"p": claims[person_column].to_numpy(),
                                "o": claims[outcome_column].to_numpy(),
                                "v": values.to_numpy(dtype=float)})
                  .groupby(["p", "o"], sort=False)["v"].sum().unstack("o"))
        wide = summed.reindex(index=known, columns=list(self.outcomes)).fillna(0.0)
        y = {o: wide[o].to_numpy(dtype=float) for o in self.outcomes}
        attrs = {a: roster[a].to_numpy() for a in self.attributes}
        parts = self.amounts(y, attrs, {"comparison": dict(comparison or {}),
                                        "n_people": len(known)})
        by_person = pd.DataFrame({k: np.broadcast_to(v, (len(known),)).astype(float)
                                  for k, v in parts.items()}, index=known)
        by_person["total"] = by_person.sum(axis=1)
        info = {"n_claims": len(claims), "n_people": len(known),
                "n_people_claiming": int(claims[person_column].nunique()),
                "outcomes": list(self.outcomes), "tariff": self.name,
                "per_person_cap": self.per_person_cap, "programme_cap": self.programme_cap,
                "notes": []}
        return PaymentStatement(by_person, info)

    def expected_payment(self, rates: Mapping[str, float], *, cohort_size: int,
                         attributes: pd.DataFrame | None = None,
                         comparison: Mapping[str, float] | None = None,
                         outcome_types: Mapping[str, str] | None = None,
                         draws: int = 4000, seed: int = 0) -> float:
        """Return expected total payment at the given outcome rates.

        Exact (sum of the mechanisms' formulas) when there are no tariff-level
        caps; otherwise by simulating individual outcomes (seeded).

        Examples
        --------
        >>> from pbr_eval.pricing.mechanisms import AttachmentFee, PerOutcome
        >>> Tariff([AttachmentFee(400), PerOutcome("job", 1200)]).expected_payment(
        ...     {"job": 0.25}, cohort_size=1000)
        700000.0
        """
        n = check_count("cohort_size", cohort_size, minimum=1)
        kw: dict[str, Any] = {"attributes": attributes, "comparison": comparison,
                              "outcome_types": outcome_types,
              "draws": draws, "seed": seed}
        if self.per_person_cap is None and self.programme_cap is None:
            return float(sum(m.expected_payment(rates, cohort_size=n, **kw)
                             for m in self.mechanisms))
        rng = np.random.default_rng(seed)
        types = dict(outcome_types or {})
        y = {}
        for o in self.outcomes:
            r = _rate_of(rates, o, types)
            binary = types.get(o, "binary" if r <= 1 else "count") == "binary"
            y[o] = ((rng.random((draws, n)) < r).astype(float) if binary
                    else rng.poisson(r, (draws, n)).astype(float))
        attrs = {} if attributes is None else {a: attributes[a].to_numpy()
                                                 for a in self.attributes}
        return float(self.total(y, attrs, {"comparison": dict(comparison or {})}).mean())
