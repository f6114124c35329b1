"""The "Claims checked" section: counts and money by status, rule and authority."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pbr_eval.disclosure import is_hidden
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import CLAIM_STATUSES
from pbr_eval.reporting import model as rm
from pbr_eval.reporting.model import Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._common import frame_rows, not_available, with_text

__all__ = ["claims_section", "CLAIMS_TITLE"]

CLAIMS_TITLE = "Claims checked"
_STATUS_WORDS = {"valid": "Valid", "invalid": "Invalid", "unevidenced": "Unevidenced",
                 "duplicate": "Duplicate"}
#: The statuses whose money is at risk (every status but valid).
_AT_RISK = tuple(s for s in CLAIM_STATUSES if s != "valid")


def _count_schema(key: str | None, label: str) -> Schema:
    cols = [Column(key, "text", label)] if key else []
    return Schema((*cols,
                   *(Column(s, "count", _STATUS_WORDS.get(s, s.capitalize())) for s in CLAIM_STATUSES),
                   Column("total", "count", "Claims"),
                   Column("share_valid", "rate", "Share valid", denominator="total",
                          derived_from=("valid",))))


_VALUE = Schema((Column("rule", "text", "Outcome rule"),
                 *(Column(s, "money", _STATUS_WORDS.get(s, s.capitalize())) for s in CLAIM_STATUSES),
                 Column("at_risk", "money", "At risk (" + ", ".join(_AT_RISK[:-1])
                        + " and " + _AT_RISK[-1] + ")"),
                 Column("total", "money", "Total")))
_ROW = (("total", tuple(CLAIM_STATUSES)),)


def _counts_rows(frame: pd.DataFrame, key: str | None) -> tuple[dict[str, Any], ...]:
    f = frame.copy()
    f.columns = [str(c) for c in f.columns]
    f.columns.name = None
    if key is not None:
        f.index.name = key
        f = f.reset_index()
        f[key] = f[key].astype(str)
    else:
        f = f.reset_index(drop=True)
    rows = frame_rows(f)
    # the engine gives the share in percent (or the marker): the report keeps a proportion
    return tuple({**r, "share_valid": (r["share_valid"] / 100.0
                                       if isinstance(r.get("share_valid"), (int, float))
                                       else r.get("share_valid") or None)} for r in rows)


@section("claims", title=CLAIMS_TITLE, order={"pilot": 80, "tariff": 90}, needs=("claims",),
         sheet="Claims", optional=True)
def claims_section(inputs: ReportInputs) -> Section:
    """Claims checked against the outcome rules: valid, invalid and unevidenced counts and money.

    The tables are :func:`pbr_eval.claims.claims_report_tables` under the
    report's policy; their relations (row totals, the rule and authority tables
    adding up to the overall row, money = claims x price) are declared here so
    the report's disclosure control checks them with every other table.
    """
    claims = inputs.get("claims")
    if claims is None:
        return not_available("claims", CLAIMS_TITLE,
                             "no claims validation was given (claims=...)")
    if not (hasattr(claims, "claims") and hasattr(claims, "value_at_stake")):
        raise OptionError(
            "`claims` must be a ClaimsValidation from pbr_eval.claims.validate_claims(); got "
            f"{type(claims).__name__}. Run validate_claims(claims, records, rules) and pass "
            "its result.")
    from pbr_eval.claims import claims_report_tables

    tabs = claims_report_tables(claims, policy=inputs.policy)
    overall = Table("claims_overall", "All claims", _count_schema(None, ""),
                    _counts_rows(tabs["overall"], None), totals=_ROW)
    sums = tuple((c, rm.Cell("claims_overall", 0, c)) for c in (*CLAIM_STATUSES, "total"))
    tables = [overall, Table("claims_by_rule", "Claims by rule",
                             _count_schema("rule", "Outcome rule"),
                             _counts_rows(tabs["by_rule"], "rule"), totals=_ROW, sums=sums)]
    if tabs.get("by_authority") is not None:
        tables.append(Table("claims_by_authority", "Claims by authority",
                            _count_schema("authority", "Local authority"),
                            _counts_rows(tabs["by_authority"], "authority"), totals=_ROW,
                            sums=sums))
    links: list[rm.Link] = []
    value = tabs.get("value")
    if isinstance(value, pd.DataFrame) and len(value):
        v = value.copy()
        v.index.name = "rule"
        v = v.reset_index()
        v["rule"] = v["rule"].astype(str)
        rows = frame_rows(v, _VALUE.names)
        tables.append(Table("claims_value", "Claims value at stake", _VALUE, rows,
                            totals=(*_ROW, ("at_risk", _AT_RISK))))
        by_rule = {r["rule"]: i for i, r in enumerate(tables[1].rows)}
        for i, r in enumerate(rows):
            j = by_rule.get(r["rule"])
            if j is None:
                continue
            links += [rm.Link(rm.Cell("claims_by_rule", j, c), rm.Cell("claims_value", i, c))
                      for c in (*CLAIM_STATUSES, "total")]
            links += [rm.Link(rm.Cell("claims_by_rule", j, c), rm.Cell("claims_value", i, "at_risk"))
                      for c in _AT_RISK]
    row = overall.rows[0] if overall.rows else {}
    paras: list[str | Paragraph] = []
    if row and not is_hidden(row.get("total")):
        paras.append(Paragraph(
            "{total} claims were checked against the outcome rules: {valid} are valid "
            "({share}).", total=Value(row.get("total"), "count",
                                       cell=rm.Cell("claims_overall", 0, "total")),
            valid=Value(row.get("valid"), "count", cell=rm.Cell("claims_overall", 0, "valid")),
            share=Value(row.get("share_valid"), "rate",
                        cell=rm.Cell("claims_overall", 0, "share_valid"))))
    paras.append("Each claim was checked against its outcome rule using the records "
                 "(attendance, offending, employment). Valid: the records show the outcome; "
                 "invalid: the records show it was not met; unevidenced: the records needed to "
                 "decide are missing (never counted as valid or invalid)"
                 + ("; duplicate: the same outcome was already claimed for that unit (never "
                    "paid twice)." if "duplicate" in CLAIM_STATUSES else "."))
    notes: list[str | Paragraph] = []
    info: Mapping[str, Any] = getattr(claims, "info", {}) or {}
    for d in info.get("dropped", []) or []:
        notes.append(with_text("Rows left out: {n} {text}.", str(d.get("reason", "")),
                               n=Value(d.get("n"), "count")))
    return Section("claims", CLAIMS_TITLE, paragraphs=tuple(paras), tables=tuple(tables),
                   notes=tuple(notes), links=tuple(links))
