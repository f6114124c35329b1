"""A claims validation run: every claim checked against its outcome rule.

:func:`validate_claims` takes the claims file, the evidence records and the
rules, and returns a frozen :class:`ClaimsValidation` with one row per claim
(status, evidence), counts by status, rule and local authority, the value at
stake, and the claims a person should look at (:meth:`ClaimsValidation.review`).
:func:`claims_summary` is the aggregate-only, disclosure-controlled table for
reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval._version import __version__
from pbr_eval.claims.duplicates import duplicate_windows, find_duplicates
from pbr_eval.claims.evaluation import STATUS_NAMES, _evaluate
from pbr_eval.claims.records import RecordStore, _to_days
from pbr_eval.claims.rules import Rule, RuleSet
from pbr_eval.disclosure import MARKER, Cell, DisclosurePolicy, Link, TableData, is_hidden
from pbr_eval.exceptions import (
    DataError,
    DuplicateIdError,
    MissingColumnError,
    OptionError,
    PbrEvalWarning,
    RuleError,
)
from pbr_eval.kinds import Column, Schema, format_value
from pbr_eval.options import CLAIM_STATUSES, DEFAULT_DISCLOSURE_THRESHOLD, check_int
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["ClaimsValidation", "validate_claims", "claims_summary", "claim_payments",
           "SUPPRESSED", "SECONDARY", "validate_files", "claims_report_tables",
           "tariff_value_at_stake"]

#: What a hidden cell shows (the one disclosure marker; kept under its old names).
SUPPRESSED = MARKER
SECONDARY = MARKER


def _frozen_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.copy()


def claim_payments(claims: pd.DataFrame, prices: Any) -> np.ndarray:
    """Payment due for each claim if it were accepted.

    Parameters
    ----------
    claims : DataFrame
        With a ``rule`` column (and whatever a tariff needs).
    prices : mapping or object with ``payments(claims)``
        A mapping rule name -> price, or a tariff-like object (duck-typed:
        anything with a ``payments`` method, such as a pricing Tariff). Its
        ``payments(claims)`` may return one number per claim (array or
        Series in claim order), or a DataFrame with a ``payment`` or
        ``amount`` column.

    Returns
    -------
    numpy.ndarray of float
        NaN where no price is known.

    Raises
    ------
    RuleError
        When ``prices`` is neither, or the tariff returns the wrong length.

    Examples
    --------
    >>> claim_payments(pd.DataFrame({"rule": ["a", "b", "c"]}), {"a": 800, "b": 400})
    array([800., 400.,  nan])
    """
    if prices is None:
        return np.full(len(claims), np.nan)
    if isinstance(prices, Mapping):
        return claims["rule"].map({k: float(v) for k, v in prices.items()}).to_numpy(dtype=float)
    pay = getattr(prices, "payments", None)
    if not callable(pay):
        raise RuleError(f"`prices` must be a mapping rule -> price or an object with a "
                        f"`payments(claims)` method (a Tariff); got {type(prices).__name__}.")
    try:
        out = pay(claims)
    except TypeError as err:
        raise RuleError(
            f"The tariff's payments(claims) cannot price claims one by one ({err}). For a "
            "tariff that needs the people attached (caps, attachment fees), use "
            "tariff_value_at_stake(result, tariff, people=...) instead.") from err
    if hasattr(out, "by_person") and not isinstance(out, pd.DataFrame):
        raise RuleError("The tariff's payments(claims) returned a statement per person, not a "
                        "payment per claim; use tariff_value_at_stake(result, tariff, ...).")
    if isinstance(out, pd.DataFrame):
        col = next((c for c in ("payment", "amount", "total") if c in out.columns), None)
        if col is None:
            raise RuleError("The tariff's payments(claims) returned a table without a "
                            f"'payment' or 'amount' column (columns: {list(out.columns)}).")
        out = out[col]
    arr = np.asarray(out, dtype=float).reshape(-1)
    if len(arr) != len(claims):
        raise RuleError(f"The tariff's payments(claims) returned {len(arr)} values for "
                        f"{len(claims)} claims; it must return one payment per claim.")
    return arr


class ClaimsValidation(Results):
    """The result of a claims validation run (read-only).

    Attributes
    ----------
    claims : pandas.DataFrame or None
        One row per claim: ``claim_id``, ``unit_id``, ``rule``, ``authority``,
        ``date``, ``status`` ("valid" / "invalid" / "unevidenced" /
        "duplicate"), ``evidence`` (what decided it), ``value`` (payment at
        stake; NaN when no price is known) and ``duplicate_of`` (for a
        duplicate, the claim it repeats; else missing). ``None`` for a result
        rebuilt from :meth:`to_dict`, which carries the counts and values
        only: then :meth:`counts` (overall, by rule and by local authority),
        :meth:`value_at_stake` (overall), :meth:`to_frame` and
        :meth:`summary` work, and the claim-level methods raise.
    info : mapping
        Settings, counts of rows dropped and why, and the version.
    """

    kind: ClassVar[str] = "claims_validation"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"counts", "by_rule", "value"})
    title: ClassVar[str] = "Claims checked"
    schema: ClassVar[Schema] = Schema((
        Column("rule", "text", "Rule"),
        Column("valid", "count", "Valid claims"),
        Column("invalid", "count", "Invalid claims"),
        Column("unevidenced", "count", "Claims without evidence"),
        Column("duplicate", "count", "Duplicate claims (not paid again)"),
        Column("total", "count", "All claims"),
    ))
    _redo = "validate the claims again"

    def __init__(self, claims: pd.DataFrame | None, info: Mapping[str, Any] | None = None, *,
                 saved: Mapping[str, Any] | None = None) -> None:
        if claims is None and saved is None:
            raise OptionError("`claims` must be the checked claims (a DataFrame); got None.")
        self.claims = claims
        self.info = MappingProxyType(dict(info or {}))
        # counts and values read from a saved results file (empty when fitted from claims)
        self._saved: Mapping[str, Any] = MappingProxyType(dict(saved or {}))
        self._freeze()

    def _rows(self, what: str) -> pd.DataFrame:
        if self.claims is None:
            raise OptionError(f"{what} needs the claim-level rows, which a saved claims results "
                              "file does not carry (counts and values only); validate again.")
        return self.claims

    def _saved_counts(self, by: str | list[str] | None) -> pd.DataFrame:
        saved = self._saved
        key = {None: "counts", "rule": "by_rule", "authority": "by_authority"}.get(
            by if isinstance(by, str) or by is None else None)
        if key is None or saved.get(key) is None:
            self._rows(f"Counts by {by!r}")
        if key == "counts":
            out = pd.DataFrame([dict(saved["counts"])])
        else:
            out = frame_from_records(saved[str(key)], text=(str(by),)).set_index(str(by))
        out = out.reindex(columns=[*CLAIM_STATUSES, "total"], fill_value=0).astype(int)
        out.columns.name = "status"
        return out

    def counts(self, by: str | list[str] | None = "rule") -> pd.DataFrame:
        """Return number of claims by status (columns) and ``by`` (rows).

        Examples
        --------
        >>> res = ClaimsValidation(pd.DataFrame({"rule": ["a", "a", "b"],
        ...     "status": ["valid", "invalid", "valid"], "value": [1.0, 1.0, 2.0]}))
        >>> res.counts("rule")
        status  valid  invalid  unevidenced  duplicate  total
        rule
        a           1        1            0          0      2
        b           1        0            0          0      1
        """
        if self.claims is None:
            return self._saved_counts(by)
        df = self.claims
        if by is None:
            tab = df["status"].value_counts().reindex(CLAIM_STATUSES, fill_value=0)
            out = tab.to_frame().T.reset_index(drop=True)
            out.columns.name = "status"
        else:
            tab = pd.crosstab([df[b] for b in ([by] if isinstance(by, str) else by)],
                              df["status"])
            out = tab.reindex(columns=list(CLAIM_STATUSES), fill_value=0)
        out["total"] = out.sum(axis=1)
        return out.astype(int)

    def value_at_stake(self, by: str | list[str] | None = None) -> pd.DataFrame:
        """Payments by status: what valid claims earn and what the rest would cost.

        ``at_risk`` = value of invalid + unevidenced + duplicate claims: money
        that would be paid without evidence of the outcome, or paid a second
        time for an outcome already claimed.
        """
        if self.claims is None and by is None and self._saved.get("value"):
            return pd.DataFrame([dict(self._saved["value"])])
        df = self._rows("The value at stake by group")
        df = df.assign(value=df["value"].fillna(0.0))
        keys = [by] if isinstance(by, str) else (by or [])
        grp = df.groupby(keys + ["status"], observed=True)["value"].sum() if keys else \
            df.groupby("status")["value"].sum()
        tab = grp.unstack("status") if keys else grp.to_frame().T
        tab = tab.reindex(columns=list(CLAIM_STATUSES), fill_value=0.0).fillna(0.0)
        tab["at_risk"] = tab[list(_AT_RISK)].sum(axis=1)
        tab["total"] = tab[list(CLAIM_STATUSES)].sum(axis=1)
        if not keys:
            tab = tab.reset_index(drop=True)
        tab.columns.name = None
        return tab

    def review(self) -> pd.DataFrame:
        """Return the claims needing a person.

        Every invalid, unevidenced or duplicate claim, with its evidence (a duplicate names
        the claim it repeats in ``duplicate_of``).
        """
        df = self._rows("The review list")
        return df.loc[df["status"] != "valid"].sort_values(["status", "rule"], kind="stable")

    def to_frame(self) -> pd.DataFrame:
        """Return counts by rule and status (the main table)."""
        return self.counts("rule")

    def _has_values(self) -> bool:
        if self.claims is None:
            return bool(self._saved.get("has_values", False))
        return bool(self.claims["value"].notna().any())

    def _has_authority(self) -> bool:
        if self.claims is None:
            return self._saved.get("by_authority") is not None
        return bool(self.claims["authority"].notna().any())

    def summary(self) -> str:
        """Plain-text summary."""
        tot = self.counts(None).iloc[0]
        val = self.value_at_stake().iloc[0]
        lines = [
            "Claims validation",
            f"  claims checked: {int(tot['total']):,}",
            f"  valid: {int(tot['valid']):,}   invalid: {int(tot['invalid']):,}   "
            f"unevidenced (missing evidence): {int(tot['unevidenced']):,}",
            f"  duplicate (already claimed, not paid again): {int(tot['duplicate']):,}",
        ]
        if self._has_values():
            lines.append(f"  value of valid claims: {format_value(val['valid'], 'money')}; at "
                         f"risk (invalid + unevidenced + duplicate): "
                         f"{format_value(val['at_risk'], 'money')}")
        lines += ["", "By rule:", self.counts("rule").to_string()]
        if self._has_authority():
            lines += ["", "By local authority:", self.counts("authority").to_string()]
        for d in self.info.get("dropped", []):
            lines.append(f"note: {d['n']:,} {d['reason']} ({d['stage']})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ClaimsValidation claims={int(self.counts(None).iloc[0]['total'])}>"

    def _to_state(self) -> dict[str, Any]:
        return {
            "counts": self.counts(None).iloc[0].to_dict(),
            "by_rule": self.counts("rule").reset_index().to_dict(orient="records"),
            "by_authority": (self.counts("authority").reset_index().to_dict(orient="records")
                             if self._has_authority() else None),
            "value": self.value_at_stake().iloc[0].to_dict(),
            "has_values": self._has_values(),
            "info": dict(self.info),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return aggregates only (no claim rows): ``kind``, ``counts``, ``by_rule``, ``by_authority``, ``value``, ``has_values``, ``info``; JSON-ready."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> ClaimsValidation:
        return cls(None, dict(state.get("info") or {}), saved=state)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``claims_checked.csv`` (every claim), ``claims_review.csv`` and ``claims_counts.csv``; return their paths.

        All three are written or none (:class:`pbr_eval.io.Staging`); text cells
        are cleaned and neutralised (:func:`pbr_eval.io.write_csv`), so a label
        such as ``=HYPERLINK(...)`` is shown as text, never run.

        The first two hold claim-level rows for the council's own use; they are
        not for publication (use :func:`claims_summary` for that).
        """
        self._rows("Writing the claim files")
        assert self.claims is not None
        from pbr_eval.io import Staging, write_csv

        d = Path(out_dir)
        paths = {"checked": d / "claims_checked.csv", "review": d / "claims_review.csv",
                 "counts": d / "claims_counts.csv"}
        counts = self.counts(["authority", "rule"] if self.claims["authority"].notna().any()
                             else "rule")
        with Staging(command="claims validate") as st:  # all three files or none
            write_csv(self.claims, st.file(paths["checked"]), index=False)
            write_csv(self.review(), st.file(paths["review"]), index=False)
            write_csv(counts, st.file(paths["counts"]), index=True)
        return paths


def _check_members(members: pd.DataFrame, units: pd.Series, unit_id: str) -> None:
    """Refuse a members table that cannot be joined to the claims.

    A member without a family, person or role, or families written as numbers where the
    claims' units are text (or the other way round), gives a DataError naming the column.
    """
    for col in ("family", "person", "role"):
        gaps = np.flatnonzero(pd.isna(members[col]).to_numpy())
        if len(gaps):
            rows = ", ".join(str(int(i) + 1) for i in gaps[:5]) + (" ..." if len(gaps) > 5 else "")
            raise DataError(f"`members` column '{col}' is missing in {len(gaps)} row(s) (data "
                            f"rows {rows}, counting from 1); every member needs a family, a "
                            "person and a role. Fill them in or remove those rows.")
    fam, uni = members["family"], units.dropna()
    if len(uni) and pd.api.types.is_numeric_dtype(fam) != pd.api.types.is_numeric_dtype(uni):
        kind = {True: "numbers", False: "text"}
        raise DataError(
            f"`members` column 'family' holds {kind[pd.api.types.is_numeric_dtype(fam)]} (e.g. "
            f"{fam.iloc[0]!r}) but the claims' `{unit_id}` holds "
            f"{kind[pd.api.types.is_numeric_dtype(uni)]} (e.g. {uni.iloc[0]!r}), so no member "
            "could be matched to a claim. Write the family identifiers the same way in both "
            "files.")


def _check_identifiers(units: np.ndarray, store: RecordStore,
                       members: pd.DataFrame | None) -> None:
    """Warn when no claim's unit is found anywhere: usually mismatched identifier types (e.g. 123 in one file and "123" in another), which would make every claim unevidenced."""
    if len(units) == 0:
        return
    if (store.unit_codes(units) >= 0).any():
        return
    if members is not None and len(members):
        families = pd.Index(pd.unique(members["family"].to_numpy(dtype=object)))
        if (families.get_indexer(units) >= 0).any():
            return
    warnings.warn(
        "None of the claims' unit identifiers appears in the records or in the members' "
        f"`family` column (claims: e.g. {units[0]!r}, {type(units[0]).__name__}; records: "
        f"e.g. {store.units[0] if len(store.units) else None!r}). Every claim will be "
        "unevidenced; check that identifiers are written the same way in every file.",
        PbrEvalWarning, stacklevel=3)


def validate_claims(claims: pd.DataFrame, records: pd.DataFrame | RecordStore,
                    rules: RuleSet, *, members: pd.DataFrame | None = None,
                    prices: Any = None, claim_id: str = "claim_id", unit_id: str = "unit_id",
                    rule: str = "rule", date: str = "date", authority: str | None = "authority",
                    records_columns: Mapping[str, str] | None = None,
                    duplicate_window_days: int | Mapping[str, int] | None = None
                    ) -> ClaimsValidation:
    """Check every claim against its outcome rule.

    Parameters
    ----------
    claims : DataFrame
        One row per claim: an identifier, the unit (person or family) it is
        about, the rule name, the claim date (the end of the outcome window),
        and optionally the local authority.
    records : DataFrame or RecordStore
        Long-format evidence: unit, measure, date, value.
    rules : RuleSet
    members : DataFrame, optional
        Columns ``family``, ``person``, ``role``: needed when a rule applies
        to family members (``members="child"``).
    prices : mapping or tariff, optional
        Price per rule, or an object with ``payments(claims)``; defaults to
        the rules' own ``price`` fields. See :func:`claim_payments`.
    claim_id, unit_id, rule, date, authority : str
        Column names in ``claims`` (``authority=None`` if there is none; a
        missing ``authority`` column is also allowed).
    records_columns : mapping, optional
        Column names in ``records``: keys ``unit_id``, ``measure``, ``date``,
        ``value``.
    duplicate_window_days : int or dict, optional
        Two claims for the same unit and rule dated closer than this claim
        the same outcome (default: the rule's outcome window,
        :meth:`RuleSet.outcome_days`); ``0`` turns the check off. An int
        applies to every rule, a dict to the rules it names.

    Returns
    -------
    ClaimsValidation

    Raises
    ------
    MissingColumnError
        A named column is absent.
    DuplicateIdError
        A claim identifier appears twice.
    RuleError
        A claim names a rule that is not declared.
    DataError
        Unreadable dates or values; a members table with a missing family, person or
        role, or families typed differently from the claims' units.

    Notes
    -----
    Claims with no unit or no date cannot be checked and are marked
    *unevidenced* (never valid or invalid), and counted in ``info``.

    **Duplicates.** A claim for the same unit and rule as an earlier claim,
    dated inside that claim's outcome window (same date, a day later, under a
    new claim identifier...), claims the same outcome again: its status is
    *duplicate*, ``duplicate_of`` names the first claim, its evidence says
    what the records alone would have said, and it is never counted as
    valid, so it is never paid a second time (see
    :func:`pbr_eval.claims.find_duplicates`). A repeated claim *identifier*
    is an error.
    Rules are evaluated one at a time over all of their claims at once
    (see :mod:`pbr_eval.claims.rules`), so the cost grows with the number
    of records in the claims' windows, not with claims x records.

    Examples
    --------
    >>> from pbr_eval.claims import Sustained, RuleSet
    >>> recs = pd.DataFrame({"unit_id": "p1", "measure": "employed",
    ...     "date": pd.date_range("2024-01-07", periods=4, freq="7D"), "value": [1, 1, 0, 1]})
    >>> claims = pd.DataFrame({"claim_id": [1, 2], "unit_id": ["p1", "p9"],
    ...     "rule": "work", "date": ["2024-01-28", "2024-01-28"]})
    >>> res = validate_claims(claims, recs, RuleSet([Sustained("work", measure="employed",
    ...     periods=4, price=800)]))
    >>> res.claims["status"].tolist()
    ['invalid', 'unevidenced']
    >>> float(res.value_at_stake()["at_risk"].iloc[0])
    1600.0
    """
    if not isinstance(claims, pd.DataFrame):
        raise DataError(f"`claims` must be a pandas DataFrame; got {type(claims).__name__}.")
    if not isinstance(rules, RuleSet):
        raise RuleError(f"`rules` must be a RuleSet (see load_rules); got {type(rules).__name__}.")
    for role, col in (("claim_id", claim_id), ("unit_id", unit_id), ("rule", rule),
                      ("date", date)):
        if col not in claims.columns:
            raise MissingColumnError(
                f"Claims column `{role}`='{col}' is not in the claims; columns are "
                f"{list(claims.columns)[:10]}. Pass {role}=<column name>.")
    if members is not None:
        miss = [c for c in ("family", "person", "role") if c not in members.columns]
        if miss:
            raise MissingColumnError(f"`members` must have columns family, person, role; "
                                     f"missing {miss}.")
        _check_members(members, claims[unit_id], unit_id)
    store = records if isinstance(records, RecordStore) else RecordStore.from_frame(
        records, **dict(records_columns or {}))
    ids = claims[claim_id]
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise DuplicateIdError(f"Claim identifier `{claim_id}` must be unique; {dup!r} appears "
                               f"more than once ({int(ids.duplicated().sum())} repeats). Remove "
                               "repeated claims before validating.")
    rule_names = claims[rule].astype(str)
    unknown = sorted(set(rule_names.unique()) - set(rules))
    if unknown:
        n_unk = int(rule_names.isin(unknown).sum())
        raise RuleError(f"{n_unk} claims name rules that are not declared: {unknown[:5]}; "
                        f"declared rules are {sorted(rules)}. Add them to the rules file or "
                        "correct the claims' `rule` column.")
    end = _to_days(claims[date], f"Claims column '{date}'")
    units = claims[unit_id].to_numpy(dtype=object)
    no_date = end == np.iinfo(np.int64).min
    no_unit = pd.isna(claims[unit_id]).to_numpy()
    status = np.full(len(claims), 1, dtype=np.int8)
    evidence = np.full(len(claims), "", dtype=object)
    checkable = ~no_date & ~no_unit
    _check_identifiers(units[checkable], store, members)
    codes, names = pd.factorize(rule_names)
    for j, name in enumerate(names):  # one vectorised pass per rule
        sel = np.flatnonzero((codes == j) & checkable)
        if len(sel) == 0:
            continue
        r: Rule = rules[str(name)]
        out = _evaluate(r, rules, store, units[sel], end[sel], members)
        status[sel] = out.status
        evidence[sel] = out.evidence
    evidence[no_date] = "claim has no date: cannot be checked; missing evidence"
    evidence[no_unit] = "claim has no unit identifier: cannot be checked; missing evidence"
    windows = duplicate_windows(rules, names, duplicate_window_days)[codes]
    first = find_duplicates(units, codes, end, windows, checkable)
    dup = first >= 0
    status_text = np.asarray(STATUS_NAMES, dtype=object)[status]
    duplicate_of = np.full(len(claims), None, dtype=object)
    if dup.any():
        ids_arr = ids.to_numpy(dtype=object)
        duplicate_of[dup] = ids_arr[first[dup]]
        gap = end[dup] - end[first[dup]]
        when = np.where(gap == 0, "on the same date", gap.astype(str).astype(object)
                        + " day(s) later")
        evidence[dup] = ("duplicate of claim " + pd.Series(ids_arr[first[dup]]).astype(str)
                         + " (same unit and rule, " + when
                         + ", inside its " + pd.Series(windows[dup]).astype(str)
                         + "-day outcome window): not paid again; the records alone say "
                         + status_text[dup] + " [" + evidence[dup] + "]").to_numpy(dtype=object)
        status_text[dup] = "duplicate"
    has_auth = authority is not None and authority in claims.columns
    frame = pd.DataFrame({
        "claim_id": ids.to_numpy(),
        "unit_id": units,
        "rule": rule_names.to_numpy(),
        "authority": claims[authority].to_numpy() if has_auth else np.full(len(claims), None),
        "date": pd.to_datetime(claims[date], errors="coerce").to_numpy(),
        "status": pd.Categorical(status_text, categories=list(CLAIM_STATUSES)),
        "evidence": evidence,
    }, index=claims.index)
    frame["value"] = claim_payments(frame, prices if prices is not None else rules.prices())
    frame["duplicate_of"] = duplicate_of
    dropped = list(store.dropped)
    if no_date.any() or no_unit.any():
        dropped.append({"n": int((no_date | no_unit).sum()),
                        "reason": "claims without a date or unit (marked unevidenced)",
                        "stage": "claims"})
    info = MappingProxyType({
        "n_claims": len(frame), "rules": sorted(rules), "dropped": dropped,
        "columns": {"claim_id": claim_id, "unit_id": unit_id, "rule": rule, "date": date,
                    "authority": authority if has_auth else None},
        "prices": "tariff" if prices is not None and not isinstance(prices, Mapping)
        else "per-rule", "version": __version__,
        "duplicates": int(dup.sum()),
        "duplicate_window_days": ("per rule (its outcome window)" if duplicate_window_days
                                  is None else duplicate_window_days),
    })
    return ClaimsValidation(frame, info)


def _policy(min_count: int, policy: DisclosurePolicy | None) -> DisclosurePolicy:
    if policy is not None:
        if not isinstance(policy, DisclosurePolicy):
            raise RuleError(f"`policy` must be a pbr_eval.disclosure.DisclosurePolicy; got "
                            f"{type(policy).__name__}.")
        return policy
    # a zero count of claims describes no person: shown, unless a report's policy says otherwise
    return DisclosurePolicy(threshold=check_int("min_count", min_count, minimum=1),
                            suppress_zeros=False)


#: Column kinds of the claims count tables (``claims_summary``), for disclosure control.
CLAIMS_COUNTS_SCHEMA = Schema((
    Column("group", "text", "Group"),
    *(Column(s, "count", s) for s in CLAIM_STATUSES),
    Column("total", "count", "total"),
))
#: Column kinds of the value-at-stake table: money that is a count of claims times a price.
CLAIMS_VALUE_SCHEMA = Schema((
    Column("group", "text", "Group"),
    *(Column(s, "money", s) for s in (*CLAIM_STATUSES, "at_risk", "total")),
))
_ROW_TOTAL = (("total", tuple(CLAIM_STATUSES)),)
#: The statuses whose money is at risk (paid without evidence, or paid a second time).
_AT_RISK = ("invalid", "unevidenced", "duplicate")


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"group": k, **{c: frame.at[k, c] for c in frame.columns}} for k in frame.index]


def _frame(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    out = like.astype(object).copy()
    for c in like.columns:
        out[c] = [r[c] for r in rows]
    return out


def _with_share(protected: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    # the share valid is given only when the valid count and the total are both shown
    shown = ~protected["valid"].map(is_hidden) & ~protected["total"].map(is_hidden)
    tot = counts["total"].to_numpy()
    share = np.round(100 * counts["valid"].to_numpy() / np.maximum(tot, 1), 1)
    protected["share_valid"] = [float(v) if ok and t > 0 else (MARKER if not ok else "")
                                for v, ok, t in zip(share, shown, tot, strict=True)]
    return protected


def claims_summary(result: ClaimsValidation, *, by: str | list[str] | None = "rule",
                   min_count: int = DEFAULT_DISCLOSURE_THRESHOLD,
                   policy: DisclosurePolicy | None = None) -> pd.DataFrame:
    """Aggregate-only, disclosure-controlled claims table for reports.

    Counts by status and ``by`` (e.g. ``"rule"``, ``"authority"``), protected
    by :mod:`pbr_eval.disclosure`: every count from 1 to ``min_count - 1``
    is hidden as ``"[c]"`` (zero is shown: it discloses nothing about a
    person, unless ``policy`` says otherwise), and where a hidden cell could
    be worked out from the row total a further cell is hidden too (secondary
    suppression; it is not necessarily small). ``share_valid`` is given only
    when the valid count and the total are both shown. Column totals across
    rows are not protected here (this table has none); in a report,
    :func:`claims_report_tables` protects the tables together.

    Parameters
    ----------
    result : ClaimsValidation
    by : str or list of str or None
    min_count : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
    policy : DisclosurePolicy, optional
        A report's policy (its threshold replaces ``min_count``).

    Returns
    -------
    DataFrame
        Object-typed cells (numbers or the marker ``"[c]"``), plus
        ``share_valid`` (percent; the marker when hidden, ``""`` when there
        are no claims).

    Examples
    --------
    >>> res = ClaimsValidation(pd.DataFrame({"rule": ["a"] * 40 + ["b"] * 3,
    ...     "status": ["valid"] * 30 + ["invalid"] * 4 + ["unevidenced"] * 6 + ["valid"] * 3,
    ...     "value": 0.0}))
    >>> claims_summary(res)
    status valid invalid unevidenced duplicate total share_valid
    rule
    a         30     [c]         [c]         0    40        75.0
    b        [c]       0           0         0   [c]         [c]
    """
    pol = _policy(min_count, policy)
    counts = result.counts(by)
    rows = pol.protect_rows(CLAIMS_COUNTS_SCHEMA, _rows(counts), totals=_ROW_TOTAL)
    return _with_share(_frame(rows, counts), counts)


def validate_files(rules: str | Path, records: str | Path, claims: str | Path, *,
                   members: str | Path | None = None,
                   out_dir: str | Path | None = None,
                   duplicate_window_days: int | Mapping[str, int] | None = None,
                   ) -> tuple[ClaimsValidation, dict[str, Path]]:
    """Run :func:`validate_claims` on files (what ``pbr-eval claims validate`` does).

    Parameters
    ----------
    rules : path
        TOML rules file (see :func:`pbr_eval.claims.load_rules`).
    records, claims, members : path
        CSV, Parquet or Excel files with the default column names
        (records: unit_id, measure, date, value; claims: claim_id, unit_id,
        rule, date, authority; members: family, person, role).
    out_dir : path, optional
        Where to write the claim files (see :meth:`ClaimsValidation.write`).
    duplicate_window_days : int or dict, optional
        As in :func:`validate_claims` (``pbr-eval claims validate --duplicate-window-days``).

    Returns
    -------
    (ClaimsValidation, dict of written paths)
    """
    from pbr_eval.claims.rules import load_rules
    from pbr_eval.io import read_data

    rs = load_rules(rules)
    res = validate_claims(read_data(claims), read_data(records), rs,
                          members=read_data(members) if members else None,
                          duplicate_window_days=duplicate_window_days)
    paths = res.write(out_dir) if out_dir is not None else {}
    return res, paths


def claims_report_tables(result: ClaimsValidation, *,
                         min_count: int = DEFAULT_DISCLOSURE_THRESHOLD,
                         policy: DisclosurePolicy | None = None) -> dict[str, Any]:
    """Everything a report's claims section needs, aggregate-only and disclosure-controlled.

    The tables are protected together by :mod:`pbr_eval.disclosure`: small
    counts hidden, a further cell hidden wherever a hidden one could be worked
    out from a row total or from the overall counts (the rule and authority
    tables each add up to the overall row), and every amount of money hidden
    with its count (money = claims x price) or where it would give a hidden
    amount back from the row's total or amount at risk.

    Parameters
    ----------
    result : ClaimsValidation
    min_count : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
        Counts from 1 to ``min_count - 1`` are hidden (see :func:`claims_summary`).
    policy : DisclosurePolicy, optional
        A report's policy (its threshold replaces ``min_count``).

    Returns
    -------
    dict
        ``overall``, ``by_rule``, ``by_authority`` (DataFrames shaped as
        :func:`claims_summary`'s; ``by_authority`` is None without an
        authority column), ``value`` (DataFrame of money by rule and status,
        the marker wherever it is hidden), ``notes`` (list of plain-language
        strings, counts in them disclosure-controlled). No claim, family or
        person identifiers.

    Examples
    --------
    >>> from pbr_eval.claims import simulate_claims, validate_claims
    >>> sim = simulate_claims(300, seed=2)
    >>> res = validate_claims(sim.claims, sim.records, sim.rules, members=sim.members)
    >>> tabs = claims_report_tables(res)
    >>> sorted(tabs)
    ['by_authority', 'by_rule', 'notes', 'overall', 'value']
    >>> tabs["overall"]
    status valid invalid unevidenced duplicate total  share_valid
    0        258      28          14         0   300         86.0
    """
    pol = _policy(min_count, policy)
    has_auth = result._rows("The disclosure tables")["authority"].notna().any()
    counts = {"overall": result.counts(None), "by_rule": result.counts("rule")}
    if has_auth:
        counts["by_authority"] = result.counts("authority")
    value = result.value_at_stake("rule")
    tables = [TableData(name, CLAIMS_COUNTS_SCHEMA, _rows(f), totals=_ROW_TOTAL,
                        sums=() if name == "overall" else
                        tuple((c, Cell("overall", 0, c)) for c in (*CLAIM_STATUSES, "total")))
              for name, f in counts.items()]
    tables.append(TableData("value", CLAIMS_VALUE_SCHEMA, _rows(value),
                            totals=(*_ROW_TOTAL, ("at_risk", _AT_RISK))))
    # money = claims x price: each amount reveals its count (at risk: invalid + unevidenced
    # + duplicate)
    links = [Link(Cell("by_rule", i, c), Cell("value", i, c))
             for i in range(len(value)) for c in (*CLAIM_STATUSES, "total")]
    links += [Link(Cell("by_rule", i, c), Cell("value", i, "at_risk"))
              for i in range(len(value)) for c in _AT_RISK]
    prot = pol.protect(tables, links=links)
    out: dict[str, Any] = {name: _with_share(_frame(prot.rows[name], f), f)
                           for name, f in counts.items()}
    out.setdefault("by_authority", None)
    out["value"] = _frame(prot.rows["value"], value)
    notes = [
        "valid: the records show the outcome; invalid: the records show it was not met; "
        "unevidenced: the records needed to decide are missing; duplicate: the same unit's "
        "outcome was already claimed inside the rule's outcome window (not paid again).",
        f"Counts from 1 to {pol.threshold - 1} are shown as '{MARKER}', and so is any further "
        "count or amount that would let them be worked out from a total.",
    ]
    notes += [f"{format_value(pol.count(d['n']), 'count')} {d['reason']}."
              for d in result.info.get("dropped", [])]
    out["notes"] = notes
    return {k: out[k] for k in ("overall", "by_rule", "by_authority", "value", "notes")}


def _total(statement: Any) -> float:
    tot = getattr(statement, "total", None)
    if tot is not None and not callable(tot):
        return float(tot)
    if isinstance(statement, pd.DataFrame):
        col = next((c for c in ("total", "payment", "amount") if c in statement.columns), None)
        if col is None:
            raise RuleError("The tariff's payments(...) returned a table without a 'total', "
                            "'payment' or 'amount' column.")
        return float(statement[col].sum())
    return float(np.nansum(np.asarray(statement, dtype=float)))


def tariff_value_at_stake(result: ClaimsValidation, tariff: Any, *,
                          people: Any = None, **payments_options: Any) -> pd.DataFrame:
    """Value at stake under a tariff that prices people, not single claims.

    A tariff with caps or attachment fees (such as :class:`pbr_eval.pricing.Tariff`)
    cannot price each claim on its own, so this prices the claims twice -- all of
    them, and the valid ones only -- and reports the difference.

    Parameters
    ----------
    result : ClaimsValidation
    tariff : object with ``payments(claims, **options)``
        Duck-typed; its result may have a ``total`` attribute (a payment
        statement), be a table with a ``total``/``payment``/``amount``
        column, or an array of payments.
    people : optional
        Passed as ``people=`` (default: every unit with a claim).
    **payments_options
        Passed on; defaults ``person_column="unit_id"``, ``outcome_column="rule"``,
        ``value_column=None`` (the tariff's outcome names must be the rule names).

    Returns
    -------
    DataFrame
        One row: ``claimed`` (paying every claim), ``valid_only`` and
        ``at_stake`` (the difference: what the invalid and unevidenced claims
        would add, after the tariff's caps). Fees paid whatever the outcome
        (attachment) appear in both and cancel.

    Examples
    --------
    >>> from pbr_eval.pricing.mechanisms import PerOutcome
    >>> from pbr_eval.pricing.tariff import Tariff
    >>> res = ClaimsValidation(pd.DataFrame({"unit_id": ["F1", "F2", "F3"],
    ...     "rule": ["education", "education", "employment"],
    ...     "status": ["valid", "invalid", "unevidenced"], "value": np.nan}))
    >>> tariff = Tariff([PerOutcome("education", 800), PerOutcome("employment", 800)])
    >>> tariff_value_at_stake(res, tariff)
       claimed  valid_only  at_stake
    0   2400.0       800.0    1600.0
    """
    pay = getattr(tariff, "payments", None)
    if not callable(pay):
        raise RuleError(f"`tariff` must have a `payments(claims, ...)` method; got "
                        f"{type(tariff).__name__}.")
    opts = {"person_column": "unit_id", "outcome_column": "rule", "value_column": None}
    opts.update(payments_options)
    rows = result._rows("Paid versus valid")
    claims = rows[["unit_id", "rule"]].reset_index(drop=True)
    if people is None:
        people = list(pd.unique(claims["unit_id"]))
    valid = (rows["status"] == "valid").to_numpy()
    claimed = _total(pay(claims, people=people, **opts))
    valid_only = _total(pay(claims.loc[valid].reset_index(drop=True), people=people, **opts))
    return pd.DataFrame([{"claimed": claimed, "valid_only": valid_only,
                          "at_stake": claimed - valid_only}])
