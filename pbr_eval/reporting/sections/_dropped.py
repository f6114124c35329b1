"""Rows left out, as data: counts by group and by reason, protected like any other table.

Every results object records the rows its cohort and its estimator left out
(``info["dropped"]``: one record per stage with ``n``, ``n_treated``,
``n_comparison``, ``share_treated`` and a reason such as ``"missing values in
age (433), sex (3)"``). A report shows them as two tables (by group, and by
reason) whose additive relations are declared, so disclosure control hides a
small count *and* whatever would give it back (436 rows, 433 of them for age:
the 3 for sex go, and so does the 433). Sentences repeat the protected cells.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pbr_eval.kinds import finite_number
from pbr_eval.reporting.model import Cell, Paragraph, Relation, Table, Value
from pbr_eval.reporting.sections._common import free_text, schema_table

__all__ = ["LeftOut", "rows_left_out", "reason_items", "left_out_sentence", "TABLE", "REASONS"]

#: The table names (cells of them are repeated by the headline and the methods sentences).
TABLE, REASONS = "rows_left_out", "rows_left_out_reasons"

_BY_GROUP = schema_table("""
    stage         | text        | Where
    n             | count       | Rows left out
    n_treated     | count       | Programme participants
    n_comparison  | count       | Comparison units
    no_treatment  | count       | With no treatment value
    share_treated | probability | Share of the programme cohort | from=n_treated
""")
_BY_REASON = schema_table("""
    stage  | text  | Where
    reason | text  | Why
    n      | count | Rows
""")
_ITEM = re.compile(r"^(?P<label>\S.*?)\s*\((?P<n>\d[\d,]*)\)$")
_ALL = "all stages"


def reason_items(reason: str) -> list[tuple[str, int]] | None:
    """Return a reason of the form ``"missing values in age (433), sex (3)"`` as its items (``[("missing values in age", 433), ("missing values in sex", 3)]``); None when the reason is not a list of counted items.

    Examples
    --------
    >>> reason_items("missing values in age (433), sex (3)")
    [('missing values in age', 433), ('missing values in sex', 3)]
    >>> reason_items("12 units not observed in every period") is None
    True
    >>> reason_items("weights above the 99th percentile (25)") is None  # read as free text
    True
    """
    out: list[tuple[str, int]] = []
    for part in (p.strip() for p in reason.split(", ")):
        m = _ITEM.match(part)
        if m is None or any(ch.isdigit() for ch in m["label"]):  # a number outside the count
            return None
        out.append((m["label"], int(m["n"].replace(",", ""))))
    if not out:
        return None
    first = out[0][0]
    prefix = first.rsplit(" in ", 1)[0] + " in " if " in " in first else ""
    return [(lab if k == 0 or lab.startswith(prefix) else prefix + lab, n)
            for k, (lab, n) in enumerate(out)]


@dataclass(frozen=True)
class LeftOut:
    """The rows-left-out tables of a report, their relations and one sentence per record.

    ``total_row`` is the row of :data:`TABLE` holding the totals over every stage (the
    only row when there is one record); ``by_group`` says whether the records split the
    rows by programme and comparison.
    """

    tables: tuple[Table, ...]
    relations: tuple[Relation, ...]
    sentences: tuple[Paragraph | str, ...]
    total_row: int
    by_group: bool


def _count(v: Any) -> int | None:
    x = finite_number(v)
    return None if x is None else int(round(x))


def _sum(values: Sequence[Any]) -> int | None:
    nums = [_count(v) for v in values]
    return None if any(v is None for v in nums) else sum(v for v in nums if v is not None)


def rows_left_out(records: Sequence[Mapping[str, Any]]) -> LeftOut | None:
    """Return the rows-left-out tables and sentences for ``info["dropped"]`` (None when empty)."""
    records = [d for d in records if isinstance(d, Mapping)]
    if not records:
        return None
    by_group = all(d.get("n_treated") is not None for d in records)
    rows: list[dict[str, Any]] = []
    for d in records:
        n, n1, n0 = (_count(d.get(k)) for k in ("n", "n_treated", "n_comparison"))
        rows.append({"stage": str(d.get("stage", "")), "n": n, "n_treated": n1,
                     "n_comparison": n0 if by_group else None,
                     "no_treatment": (n - n1 - (n0 or 0)) if n is not None and n1 is not None
                     else None,
                     "share_treated": finite_number(d.get("share_treated"))})
    cols = ("n", "n_treated", "n_comparison", "no_treatment")
    relations: list[Relation] = []
    if len(rows) > 1:  # a row of totals, each column the sum of the stages'
        kept = 1.0
        for r in rows:  # each stage loses a share of what the stage before kept
            kept *= 1.0 - (r["share_treated"] or 0.0)
        rows.append({"stage": _ALL, **{c: _sum([r[c] for r in rows]) for c in cols},
                     "share_treated": (1.0 - kept) if by_group else None})
        k = len(rows) - 1
        relations += [Relation(Cell(TABLE, k, c), tuple(Cell(TABLE, i, c) for i in range(k)))
                      for c in (cols if by_group else ("n",))]
    unknown = by_group and any((r["no_treatment"] or 0) > 0 for r in rows)
    parts = ("n_treated", "n_comparison", "no_treatment") if unknown else (
        "n_treated", "n_comparison")
    if by_group:
        schema = _BY_GROUP.select(["stage", "n", *parts, "share_treated"])
    else:
        schema = _BY_GROUP.select(["stage", "n"])
    table = Table(TABLE, "Rows left out", schema, tuple(rows),
                  totals=(("n", parts),) if by_group else ())

    reasons: list[dict[str, Any]] = []
    sentences: list[Paragraph | str] = []
    for i, d in enumerate(records):
        stage, reason = str(d.get("stage", "")), str(d.get("reason", ""))
        values: dict[str, Value] = {"stage": Value(stage, "text"),
                                    "n": Value(rows[i]["n"], "count", cell=Cell(TABLE, i, "n"))}
        head = "Rows left out ({stage}): {n}"
        if by_group:
            head += (" ({nt} programme participants, {share} of the programme cohort; {nc} "
                     "comparison units" + ("; {nn} with no treatment value" if unknown else "")
                     + ")")
            values.update(nt=Value(rows[i]["n_treated"], "count",
                                   cell=Cell(TABLE, i, "n_treated")),
                          nc=Value(rows[i]["n_comparison"], "count",
                                   cell=Cell(TABLE, i, "n_comparison")),
                          share=Value(rows[i]["share_treated"], "probability",
                                      cell=Cell(TABLE, i, "share_treated")))
            if unknown:
                values["nn"] = Value(rows[i]["no_treatment"], "count",
                                     cell=Cell(TABLE, i, "no_treatment"))
        items = reason_items(reason)
        if items is None:  # free text: its numbers are typed counts, each through the policy
            t = free_text(reason)
            if isinstance(t, Paragraph):
                values.update({f"t_{k}": v for k, v in t.values.items()})
                t = t.template.replace("{n", "{t_n")
            sentences.append(Paragraph(head + ", " + t + ".", **values))
            continue
        first = len(reasons)
        words = []
        for j, (label, n) in enumerate(items):
            reasons.append({"stage": stage, "reason": label, "n": n})
            key = f"r{j}"
            values[key] = Value(n, "count", cell=Cell(REASONS, first + j, "n"))
            words.append(label.replace("{", "(").replace("}", ")") + " ({" + key + "})")
        # the items add up to the stage's rows (or more, when a row misses several values):
        # declared as a sum, so no hidden item is worked out from the others and the total
        relations.append(Relation(Cell(TABLE, i, "n"),
                                  tuple(Cell(REASONS, first + j, "n") for j in range(len(items)))))
        sentences.append(Paragraph(head + ", " + ", ".join(words) + ".", **values))
    tables = [table]
    if reasons:
        tables.append(Table(REASONS, "Rows left out, by reason", _BY_REASON, tuple(reasons)))
    return LeftOut(tuple(tables), tuple(relations), tuple(sentences),
                   total_row=len(rows) - 1, by_group=by_group)


def left_out_sentence(records: Sequence[Mapping[str, Any]]) -> Paragraph | None:
    """Return the headline's sentence on rows left out (counts by group), repeating the cells of the methods section's table; None when no rows were left out."""
    left = rows_left_out(records)
    if left is None:
        return None
    k = left.total_row
    row = left.tables[0].rows[k]
    if not (finite_number(row.get("n")) or 0) > 0:
        return None
    values = {"n": Value(row["n"], "count", cell=Cell(TABLE, k, "n"))}
    if not left.by_group:
        return Paragraph("Rows left out before estimating: {n} (see Methods and limitations).",
                         **values)
    values.update(
        nt=Value(row["n_treated"], "count", cell=Cell(TABLE, k, "n_treated")),
        share=Value(row["share_treated"], "probability", cell=Cell(TABLE, k, "share_treated")),
        nc=Value(row["n_comparison"], "count", cell=Cell(TABLE, k, "n_comparison")))
    return Paragraph("Rows left out before estimating: {nt} programme participants ({share} of "
                     "the programme cohort) and {nc} comparison units, {n} rows in all (see "
                     "Methods and limitations).", **values)
