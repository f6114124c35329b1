"""Baseline-to-closure tracking: family-level evidence beyond the claim.

Councils want to show, for the families they worked with, which needs were
present when the family was taken on (baseline), which were met when the
case was closed, and whether families came back (were re-referred) later.

* :func:`needs_progress` -- needs present at baseline and met at closure,
  aggregated by need (and cohort), with small counts suppressed;
* :func:`rereferral_rates` -- re-referral within a follow-up period for
  families with a results claim against those without. **This comparison is
  not causal**: families whose claims succeeded differ from the others in
  ways that also drive re-referral;
* :func:`to_cohort` -- the same data as a :class:`pbr_eval.Cohort`
  (treatment = claimed, outcome = re-referred) in one call, so an estimator
  (e.g. ``pbr_eval.estimate(cohort, method="nearest")``) can compare like
  with like on the covariates given.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.claims.audit import proportion_ci
from pbr_eval.claims.records import _to_days
from pbr_eval.disclosure import DisclosurePolicy, is_hidden
from pbr_eval.exceptions import DataError, MissingColumnError, PbrEvalWarning
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import (
    DEFAULT_DISCLOSURE_THRESHOLD,
    DEFAULT_LEVEL,
    PROPORTION_INTERVALS,
    check_choice,
    check_int,
    check_level,
)
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["needs_progress", "rereferral_rates", "RereferralComparison", "to_cohort",
           "NOT_CAUSAL"]

#: The caveat every re-referral comparison carries.
NOT_CAUSAL = ("This comparison is not causal: families with a successful claim differ from "
              "the others (in need, engagement, circumstances) in ways that also affect "
              "re-referral. Use pbr_eval.claims.to_cohort and an estimator to compare like "
              "with like.")


def _need_cols(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise MissingColumnError(f"Column '{c}' is not in the {what}; columns are "
                                     f"{list(df.columns)[:10]}. Pass the right column name.")


def _as_bool(s: pd.Series, name: str, *, allow_missing: bool) -> pd.Series:
    """True/False/1/0 (and missing, if allowed) -> pandas 'boolean' dtype."""
    vals = set(pd.unique(s.dropna().astype(object)))
    if not vals <= {True, False}:
        raise DataError(f"Column '{name}' must be True/False (or 1/0); found "
                        f"{sorted(map(str, vals))[:5]}.")
    if not allow_missing and s.isna().any():
        raise DataError(f"Column '{name}' has {int(s.isna().sum())} missing values; fill them "
                        "in (True/False) or drop those rows.")
    return s.astype("boolean")


def _protect(frame: pd.DataFrame, schema: Schema, min_count: int, *,
             totals: Sequence[tuple[str, Sequence[str]]] = ()) -> pd.DataFrame:
    """``frame`` with its cells protected by :mod:`pbr_eval.disclosure` (zero counts shown)."""
    policy = DisclosurePolicy(threshold=min_count, suppress_zeros=False)
    rows = [dict(zip(schema.names, vals, strict=True))
            for vals in frame[list(schema.names)].itertuples(index=False, name=None)]
    out = frame.astype(object).copy()
    protected = policy.protect_rows(schema, rows, totals=totals)
    for c in schema:
        out[c.name] = [r[c.name] for r in protected]
    return out


def needs_progress(needs: pd.DataFrame, *, family: str = "family_id", need: str = "need",
                   baseline: str = "present_at_baseline", closure: str = "met_at_closure",
                   cohort: str | None = None,
                   min_count: int = DEFAULT_DISCLOSURE_THRESHOLD) -> pd.DataFrame:
    """Needs present at baseline and met at closure, by need (and cohort).

    Parameters
    ----------
    needs : DataFrame
        Long format: one row per family and need, with ``baseline`` (was
        the need present when the family was taken on?) and ``closure`` (was
        it met when the case closed? missing if not recorded).
    family, need, baseline, closure : str
        Column names.
    cohort : str, optional
        Column to group by as well (e.g. year of attachment).
    min_count : int, default 10
        Counts from 1 to ``min_count - 1`` show as ``"[c]"`` (and a further
        count where the total would give a hidden one back, see
        :mod:`pbr_eval.disclosure`); the share met is shown only when both of
        its counts are shown.

    Returns
    -------
    DataFrame
        Index (cohort,) need; columns ``families_with_need``, ``met``,
        ``not_met``, ``not_recorded`` and ``share_met`` (percent of those
        recorded). Aggregates only.

    Raises
    ------
    MissingColumnError, DataError

    Notes
    -----
    A need with no closure record is *not recorded*, never counted as met
    or unmet. Needs not present at baseline are left out.

    Examples
    --------
    >>> needs = pd.DataFrame({"family_id": np.repeat(np.arange(30), 2),
    ...     "need": ["school", "work"] * 30, "present_at_baseline": True,
    ...     "met_at_closure": [True, False] * 20 + [False, None] * 4 + [False] * 12})
    >>> needs_progress(needs)
           families_with_need met not_met not_recorded  share_met
    need
    school                 30  20      10            0       66.7
    work                   30   0     [c]          [c]        [c]
    """
    min_count = check_int("min_count", min_count)
    cols = [family, need, baseline, closure] + ([cohort] if cohort else [])
    _need_cols(needs, cols, "needs table")
    df = needs[cols].copy()
    if df.duplicated([family, need] + ([cohort] if cohort else [])).any():
        raise DataError(f"Each family should have one row per need; some ('{family}', '{need}') "
                        "pairs appear twice. Keep one row per family and need.")
    base = _as_bool(df[baseline], baseline, allow_missing=False)
    met = _as_bool(df[closure], closure, allow_missing=True)
    df = df.loc[base.to_numpy(dtype=bool)]
    met = met.loc[df.index]
    keys = ([cohort] if cohort else []) + [need]
    t = pd.DataFrame({k: df[k] for k in keys})
    t["families_with_need"] = 1
    t["met"] = met.fillna(False).astype(int)
    t["not_met"] = (~met.fillna(True)).astype(int)
    t["not_recorded"] = met.isna().astype(int)
    agg = t.groupby(keys, sort=True).sum()
    rec = agg["met"] + agg["not_met"]
    share = np.where(rec > 0, np.round(100 * agg["met"] / rec.where(rec > 0, 1), 1), np.nan)
    cnt = ["families_with_need", "met", "not_met", "not_recorded"]
    agg["share_met"] = share
    schema = Schema((*(Column(c, "count", c) for c in cnt),
                     Column("share_met", "number", "share met", derived_from=("met", "not_met"))))
    out = _protect(agg, schema, min_count,
                   totals=(("families_with_need", ("met", "not_met", "not_recorded")),))
    out["share_met"] = [v if is_hidden(v) else ("" if np.isnan(v) else float(v))
                        for v in out["share_met"]]
    return out


class RereferralComparison(Results):
    """Re-referral rates for claimed and non-claimed families (read-only).

    Attributes
    ----------
    table : DataFrame
        Index ``claimed`` / ``not claimed``: families followed up,
        re-referred, rate and interval (Wilson or Clopper-Pearson).
    difference, lower, upper : float
        Claimed minus not claimed, with Newcombe's hybrid score interval.
    level : float
    caveat : str
        :data:`NOT_CAUSAL`.
    info : mapping
        Settings and rows left out (``dropped``).
    """

    kind: ClassVar[str] = "rereferral"
    title: ClassVar[str] = "Re-referral after closure"
    schema: ClassVar[Schema] = Schema((
        Column("group", "text", "Families"),
        Column("families", "count", "Families followed up"),
        Column("rereferred", "count", "Families re-referred"),
        Column("rate", "rate", "Re-referral rate", denominator="families"),
        Column("lower", "rate", "Lower limit", denominator="families"),
        Column("upper", "rate", "Upper limit", denominator="families"),
    ))
    _redo = "compare the re-referral rates again"

    def __init__(self, table: pd.DataFrame, difference: float, lower: float, upper: float,
                 level: float, caveat: str = NOT_CAUSAL,
                 info: Mapping[str, Any] | None = None) -> None:
        self.table = table
        self.difference, self.lower, self.upper = float(difference), float(lower), float(upper)
        self.level = float(level)
        self.caveat = str(caveat)
        self.info = MappingProxyType(dict(info or {}))
        self._freeze()

    def to_frame(self, *, min_count: int = DEFAULT_DISCLOSURE_THRESHOLD) -> pd.DataFrame:
        """Return the table with counts below ``min_count`` suppressed (for reports)."""
        schema = Schema((Column("families", "count", "families"),
                         Column("rereferred", "count", "re-referred"),
                         *(Column(c, "rate", c, denominator="families",
                                  derived_from=("rereferred",)) for c in ("rate", "lower",
                                                                          "upper"))))
        return _protect(self.table, schema, check_int("min_count", min_count))

    def summary(self) -> str:
        """Plain-language summary with the caveat."""
        t = self.table
        lines = ["Re-referral after closure", self.to_frame().to_string(), "",
                 f"Difference (claimed - not claimed): {self.difference:+.1%} "
                 f"({self.level:.0%} interval {self.lower:+.1%} to {self.upper:+.1%})"
                 if int(t["families"].min()) >= 10 else
                 "Difference not shown: a group has fewer than 10 families.",
                 "", "Caveat: " + self.caveat]
        for d in self.info.get("dropped", []):
            lines.append(f"note: {d['n']:,} {d['reason']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RereferralComparison difference={self.difference:+.3f}>"

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.table.reset_index().to_dict(orient="records"),
                "difference": self.difference, "lower": self.lower, "upper": self.upper,
                "level": self.level, "caveat": self.caveat, "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> RereferralComparison:
        def num(k: str) -> float:
            v = state.get(k)
            return math.nan if v is None else float(v)

        return cls(frame_from_records(state.get("table") or [], index="group"),
                   num("difference"), num("lower"), num("upper"), num("level"),
                   str(state.get("caveat", NOT_CAUSAL)), dict(state.get("info") or {}))


def _followed_up(families: pd.DataFrame, claimed: str, closure_date: str,
                 rereferral_date: str, within_days: int, as_of: Any
                 ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    _need_cols(families, [claimed, closure_date, rereferral_date], "families table")
    c = _as_bool(families[claimed], claimed, allow_missing=False).to_numpy(dtype=bool)
    close = _to_days(families[closure_date], f"Column '{closure_date}'")
    ref = _to_days(families[rereferral_date], f"Column '{rereferral_date}'")
    nat = np.iinfo(np.int64).min
    if as_of is None:
        known = np.concatenate([close[close != nat], ref[ref != nat]])
        if known.size == 0:
            raise DataError(f"Column '{closure_date}' has no dates; families must be closed.")
        horizon = int(known.max())
    else:
        horizon = int(_to_days([as_of], "`as_of`")[0])
    dropped: list[dict[str, Any]] = []
    open_ = close == nat
    short = ~open_ & (close + within_days > horizon)
    before = ~open_ & (ref != nat) & (ref <= close)
    for mask, why in ((open_, "families without a closure date (not closed)"),
                      (short, f"families closed less than {within_days} days before the end "
                              "of follow-up (too soon to tell)"),
                      (before & ~short, "families whose re-referral is dated on or before "
                                        "closure (check the dates)")):
        if mask.any():
            dropped.append({"n": int(mask.sum()), "reason": why, "stage": "tracking"})
    keep = ~open_ & ~short & ~before
    rer = (ref != nat) & (ref > close) & (ref - close <= within_days)
    out = pd.DataFrame({"claimed": c, "rereferred": rer}, index=families.index)
    return out.loc[keep], dropped


def rereferral_rates(families: pd.DataFrame, *, claimed: str = "claimed",
                     closure_date: str = "closure_date",
                     rereferral_date: str = "rereferral_date", within_days: int = 365,
                     as_of: Any = None, level: float = DEFAULT_LEVEL,
                     method: str = "wilson") -> RereferralComparison:
    r"""Re-referral within ``within_days`` of closure, claimed vs not claimed.

    Parameters
    ----------
    families : DataFrame
        One row per family: ``claimed`` (True if a results claim was made and
        upheld), ``closure_date``, ``rereferral_date`` (empty if never).
    claimed, closure_date, rereferral_date : str
        Column names.
    within_days : int, default 365
        Follow-up period after closure.
    as_of : date, optional
        End of follow-up (defaults to the latest date in the data). Families
        closed less than ``within_days`` before it are left out and counted.
    level : float, default 0.95
    method : {"wilson", "clopper-pearson"}

    Returns
    -------
    RereferralComparison

    Raises
    ------
    MissingColumnError, DataError, OptionError

    Notes
    -----
    The difference's interval is Newcombe's method 10 (hybrid score):
    :math:`d - \sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2}` to
    :math:`d + \sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}` from the Wilson limits
    of each group. The comparison is descriptive, **not causal**
    (:data:`NOT_CAUSAL`); see :func:`to_cohort`.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between
    independent proportions. Statistics in Medicine 17, 873-890.

    Examples
    --------
    >>> fam = pd.DataFrame({"claimed": [True] * 40 + [False] * 40,
    ...     "closure_date": "2023-01-01",
    ...     "rereferral_date": ["2023-06-01"] * 8 + [None] * 32 + ["2023-03-01"] * 12 + [None] * 28})
    >>> r = rereferral_rates(fam, as_of="2024-06-30")
    >>> r.table["rate"].round(2).tolist()
    [0.2, 0.3]
    >>> round(r.difference, 2)
    -0.1
    """
    within_days = check_int("within_days", within_days)
    level = check_level(level)
    check_choice("method", method, PROPORTION_INTERVALS)
    df, dropped = _followed_up(families, claimed, closure_date, rereferral_date, within_days,
                               as_of)
    rows = []
    for label, flag in (("claimed", True), ("not claimed", False)):
        y = df.loc[df["claimed"] == flag, "rereferred"].to_numpy()
        n, x = len(y), int(y.sum())
        lo, hi = proportion_ci(x, n, level=level, method=method) if n else (math.nan, math.nan)
        rows.append({"group": label, "families": n, "rereferred": x,
                     "rate": x / n if n else math.nan, "lower": lo, "upper": hi})
    table = pd.DataFrame(rows).set_index("group")
    if (table["families"] == 0).any():
        raise DataError("Both claimed and non-claimed families are needed (with full follow-up) "
                        f"to compare; got {table['families'].to_dict()}.")
    (p1, n1, x1), (p2, n2, x2) = ((table.loc[g, "rate"], table.loc[g, "families"],
                                   table.loc[g, "rereferred"]) for g in table.index)
    l1, u1 = proportion_ci(x1, n1, level=level, method="wilson")
    l2, u2 = proportion_ci(x2, n2, level=level, method="wilson")
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    info = MappingProxyType({"within_days": within_days, "method": method, "dropped": dropped,
                             "as_of": None if as_of is None else str(as_of)})
    return RereferralComparison(table, float(d), float(lo), float(hi), level, NOT_CAUSAL, info)


def to_cohort(families: pd.DataFrame, *, covariates: Sequence[str], claimed: str = "claimed",
              closure_date: str = "closure_date", rereferral_date: str = "rereferral_date",
              within_days: int = 365, as_of: Any = None, unit_id: str | None = None,
              **cohort_options: Any):
    """Hand the families to an estimator: a :class:`pbr_eval.Cohort` in one call.

    Treatment is ``claimed``; the outcome ``rereferred`` (re-referred within
    ``within_days`` of closure) is built as in :func:`rereferral_rates`, over
    families with full follow-up. With an estimator, the non-intervention
    rate is then the re-referral rate the claimed families would have had
    had their claim not been made (their outcome not achieved), comparing
    like with like on ``covariates`` -- still only as good as those
    covariates.

    Parameters
    ----------
    families : DataFrame
    covariates : list of str
        Baseline characteristics (e.g. number of needs at baseline).
    claimed, closure_date, rereferral_date, within_days, as_of
        As for :func:`rereferral_rates`.
    unit_id : str, optional
        Family identifier column.
    **cohort_options
        Passed to :class:`pbr_eval.Cohort` (e.g. ``min_treated``, ``missing``).

    Returns
    -------
    pbr_eval.Cohort

    Warns
    -----
    PbrEvalWarning
        When families are left out (not closed, follow-up too short, or a
        re-referral dated before closure), saying how many and why.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fam = pd.DataFrame({"needs": rng.integers(1, 6, 200), "claimed": rng.random(200) < 0.5,
    ...     "closure_date": "2023-01-01", "rereferral_date": None})
    >>> fam.loc[rng.random(200) < 0.2, "rereferral_date"] = "2023-05-01"
    >>> cohort = to_cohort(fam, covariates=["needs"], as_of="2024-06-30")
    >>> cohort.outcomes
    ['rereferred']
    """
    from pbr_eval.cohort import Cohort

    covs = list(covariates)
    _need_cols(families, covs + ([unit_id] if unit_id else []), "families table")
    df, dropped = _followed_up(families, claimed, closure_date, rereferral_date,
                               check_int("within_days", within_days), as_of)
    for d in dropped:
        warnings.warn(f"to_cohort left out {d['n']:,} {d['reason']}.", PbrEvalWarning,
                      stacklevel=2)
    data = families.loc[df.index, covs + ([unit_id] if unit_id else [])].copy()
    data["claimed"] = df["claimed"].astype(int)
    data["rereferred"] = df["rereferred"].astype(int)
    return Cohort(data, treatment="claimed", outcome="rereferred", covariates=covs,
                  unit_id=unit_id, **cohort_options)
