"""Helpers shared by the section-building functions (no section is registered here)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.disclosure import MARKER
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.glossary import plain_text
from pbr_eval.kinds import Column, Schema, finite_number
from pbr_eval.reporting.model import Cell, Figure, Paragraph, ReportInputs, Section, Table, Value

__all__ = [
    "not_available",
    "figure",
    "results_object",
    "results_part",
    "with_text",
    "schema_table",
    "results_dict",
    "estimate_rows",
    "outcome_index",
    "plain",
    "frame_rows",
    "free_text",
    "pct",
    "method_phrase",
    "method_caveat",
    "published_estimates",
]


def schema_table(text: str) -> Schema:
    """Return a schema written as a table, one column a line: ``name | kind | label [| options]``.

    Options: ``by=<column>``, ``of=<count column>`` (the denominator),
    ``from=<a>,<b>`` (derived from).

    Examples
    --------
    >>> s = schema_table('''
    ...     n    | count | People
    ...     rate | rate  | Rate | of=n
    ... ''')
    >>> s.kind("rate"), s.column("rate").denominator
    ('rate', 'n')
    """
    cols = []
    for line in text.strip().splitlines():
        name, kind, label, *opts = (c.strip() for c in line.split("|"))
        kw: dict[str, Any] = {}
        for opt in (o for o in opts if o):
            key, _, val = opt.partition("=")
            if key == "by":
                kw["by"] = val
            elif key == "of":
                kw["denominator"] = val
            elif key == "from":
                kw["derived_from"] = tuple(v.strip() for v in val.split(","))
            else:
                raise OptionError(f"schema_table: unknown option {key!r} in {line!r}.")
        cols.append(Column(name, kind, label, **kw))
    return Schema(tuple(cols))


def not_available(id: str, title: str, reason: str) -> Section:
    """Return a section that says it is not available, and why (plain words, no digits)."""
    return Section(id, title, available=False, reason=reason)


def plain(v: Any) -> Any:
    """Return a plain scalar: numpy numbers to Python, NaN/inf to None, text kept."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is None or isinstance(v, (int, str)):
        return v
    if v is pd.NA or v is pd.NaT:
        return None
    return str(v)


def frame_rows(frame: pd.DataFrame, columns: Sequence[str] | None = None
               ) -> tuple[dict[str, Any], ...]:
    """Rows of ``frame`` (index kept as a column when it is named) as plain dicts."""
    f = frame
    if f.index.name is not None or not isinstance(f.index, pd.RangeIndex):
        f = f.reset_index()
    f.columns = [str(c) for c in f.columns]
    cols = list(columns) if columns is not None else list(f.columns)
    return tuple({c: plain(r[c]) for c in cols if c in f.columns}
                 for r in f.to_dict(orient="records"))


def results_dict(inputs: ReportInputs) -> dict[str, Any]:
    """Return the main results as a plain dictionary (``to_dict(level)``, or a saved dictionary)."""
    results = inputs.results
    if isinstance(results, Mapping) and "estimates" in results:
        return dict(results)
    to_dict = getattr(results, "to_dict", None)
    if callable(to_dict):
        try:
            d = to_dict(inputs.level)
        except TypeError:
            d = to_dict()
        if isinstance(d, Mapping) and "estimates" in d:
            return dict(d)
    raise OptionError(
        "`results` must be a results object from pbr_eval.estimate() (or its to_dict() / saved "
        f"JSON); got {type(results).__name__}."
    )


def results_object(obj: Any) -> Any:
    """``obj`` as a results object: itself, or rebuilt from its ``to_dict()`` (a saved file); None when it is neither."""
    if callable(getattr(obj, "figure_data", None)) or callable(getattr(obj, "frame_schema", None)):
        return obj
    if isinstance(obj, Mapping):
        from pbr_eval.results.base import Results

        try:
            return Results.from_dict(obj)
        except PbrEvalError:
            return None
    return None


def results_part(inputs: ReportInputs, part: str, kind: str, expected: str) -> Any:
    """Return the results object given as the report part ``part`` (or its ``to_dict()``), or None.

    None when the part is absent; :class:`~pbr_eval.exceptions.OptionError`
    naming the part and what was ``expected`` when it is something else
    (another kind of results).
    """
    given = inputs.get(part)
    if given is None:
        return None
    obj = results_object(given)
    if getattr(obj, "kind", None) != kind:
        raise OptionError(f"`{part}` must be {expected} or its to_dict(); got "
                          f"{type(given).__name__}.")
    return obj


def figure(obj: Any, name: str, inputs: ReportInputs, title: str, alt: str) -> Figure | None:
    """Figure ``name`` of a results object, from its own published data (``figure_data(name, policy=...)``, drawn by :mod:`pbr_eval.figures`), or None when these results cannot draw it."""
    obj = results_object(obj)
    if obj is None or name not in getattr(obj, "figures", ()):
        return None
    try:
        data = obj.figure_data(name, policy=inputs.policy)
    except PbrEvalError:
        return None
    return Figure(name, title, alt, data)


def estimate_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Return the estimates rows of the main results (one per outcome)."""
    return [dict(r) for r in results_dict(inputs).get("estimates") or []]


def outcome_index(inputs: ReportInputs) -> dict[str, int]:
    """Outcome name -> its row in the report's ``estimates`` table."""
    return {str(r.get("outcome")): i for i, r in enumerate(estimate_rows(inputs))}


def pct(level: float) -> Value:
    """Return the confidence level as a whole percentage for a sentence (``{pct}%``)."""
    return Value(int(round(level * 100)), "integer")


_NUMBER = re.compile(r"(?<![\w.])(-?£)?(\d[\d,]*(?:\.\d+)?)")


def free_text(text: str, *, kind: str = "count") -> str | Paragraph:
    """Text written by an engine (a note, a reason) as a paragraph whose numbers are typed.

    Whole numbers become ``kind`` values (counts by default, so a small one is
    hidden by the policy like any count); amounts after a currency sign are
    money (never hidden as counts); decimals are kept as written.

    Examples
    --------
    >>> p = free_text("missing values in age (3), sex (12)")
    >>> p.template, [v.value for v in p.values.values()]
    ('missing values in age ({n0}), sex ({n1})', [3, 12])
    >>> p = free_text("short by £3 per outcome")
    >>> p.template, p.values["n0"].kind, p.values["n0"].value
    ('short by {n0} per outcome', 'money', 3.0)
    """
    values: dict[str, Value] = {}

    def sub(m: re.Match[str]) -> str:
        sign, token = m.group(1), m.group(2)
        key = f"n{len(values)}"
        if sign:
            amount = float(token.replace(",", ""))
            values[key] = Value(-amount if sign.startswith("-") else amount, "money")
        elif "." in token:
            values[key] = Value(token, "text")
        else:
            values[key] = Value(int(token.replace(",", "")), kind)
        return "{" + key + "}"

    text = plain_text(text)  # names quoted by the engines read as words (pbr_eval.glossary)
    template = _NUMBER.sub(sub, text.replace("{", "(").replace("}", ")"))
    return Paragraph(template, **values) if values else template


def with_text(template: str, text: str, **values: Value) -> Paragraph:
    """Return a sentence with an engine's free text in place of ``{text}`` (its numbers typed, :func:`free_text`).

    Examples
    --------
    >>> p = with_text("Rows left out: {n}, {text}.", "missing age (3)", n=Value(40, "count"))
    >>> p.template
    'Rows left out: {n}, missing age ({t_n0}).'
    """
    t = free_text(text)
    if isinstance(t, Paragraph):
        values = {**values, **{f"t_{k}": v for k, v in t.values.items()}}
        t = t.template.replace("{n", "{t_n")
    return Paragraph(template.replace("{text}", t), **values)


def method_name(rdict: Mapping[str, Any]) -> str:
    """Return the estimator's registered name."""
    info = rdict.get("info") or {}
    return str(rdict.get("method") or info.get("method") or "unknown")


def _estimator(method: str) -> Any:
    from pbr_eval.estimators import ESTIMATORS

    return ESTIMATORS.get(method)


def method_phrase(method: str) -> str:
    """How the report names the comparison: the estimator's declared ``phrase``."""
    cls = _estimator(method)
    return cls.phrase if cls is not None else "a comparison group"


def method_caveat(method: str, info: Mapping[str, Any]) -> list[str]:
    """Warnings every report of this method prints: the estimator's declared ``caveat`` (and any caveat the results carry)."""
    cls = _estimator(method)
    out = []
    declared = cls.caveat if cls is not None else None
    if declared:
        out.append(str(declared))
    if info.get("caveat") and str(info["caveat"]) not in out:
        out.append(str(info["caveat"]))
    return out


def estimates_schema(level: float, pool: Any) -> Schema:
    """Return the declared columns of the report's estimates table."""
    p = int(round(level * 100))
    by = "outcome_type"
    return Schema((
        Column("outcome", "text", "Outcome"),
        Column("n_treated", "count", "People in programme"),
        Column("n_comparison", "count", "Comparison group"),
        Column("observed", "outcome", "Programme", denominator="n_treated", by=by),
        Column("non_intervention", "outcome", "Non-intervention", denominator="n_comparison",
               by=by),
        Column("non_intervention_ci_lower", "outcome", f"{p}% CI lower", by=by,
               derived_from=("non_intervention",)),
        Column("non_intervention_ci_upper", "outcome", f"{p}% CI upper", by=by,
               derived_from=("non_intervention",)),
        Column("effect", "outcome_difference", "Difference", by=by,
               derived_from=("observed", "non_intervention")),
        Column("ci_lower", "outcome_difference", f"Difference {p}% CI lower", by=by,
               derived_from=("effect",)),
        Column("ci_upper", "outcome_difference", f"Difference {p}% CI upper", by=by,
               derived_from=("effect",)),
        Column("p_value", "p_value", "p-value", derived_from=("effect",)),
        Column("naive_comparison", "outcome", "Unadjusted pool", by=by,
               denominator=finite_number(pool)),
    ))


_VALUE_COLUMNS = ("observed", "non_intervention", "non_intervention_ci_lower",
                  "non_intervention_ci_upper", "effect", "ci_lower", "ci_upper", "p_value",
                  "naive_comparison")


def published_estimates(inputs: ReportInputs) -> tuple[Table, dict[str, str]]:
    """Return the estimates table (raw values, minimum-cohort rule applied) and the outcomes whose rates are withheld, with why (``"cohort"``: too few people; ``"count"``: a small count)."""
    rdict = results_dict(inputs)
    info = rdict.get("info") or {}
    pool = (info.get("cohort") or {}).get("n_comparison")
    schema = estimates_schema(inputs.level, pool)
    policy = inputs.policy
    rows = []
    withheld: dict[str, str] = {}
    for r in estimate_rows(inputs):
        row = {c.name: plain(r.get(c.name)) for c in schema}
        row["outcome"] = str(r.get("outcome"))
        row["outcome_type"] = r.get("outcome_type")
        if not policy.publishable_cohort(r.get("n_treated")):
            row.update({k: MARKER for k in _VALUE_COLUMNS})
            withheld[row["outcome"]] = "cohort"
        else:
            binary = r.get("outcome_type") == "binary"
            for k, n in (("observed", r.get("n_treated")), ("non_intervention",
                                                             r.get("n_comparison"))):
                if policy.rate(r.get(k), n, binary=binary) == MARKER:
                    withheld.setdefault(row["outcome"], "count")
        rows.append(row)
    return Table("estimates", "Estimates", schema, tuple(rows)), withheld


def estimate_value(inputs: ReportInputs, i: int, column: str, row: Mapping[str, Any]) -> Value:
    """Return a number of the estimates table, for a sentence (it repeats the table's cell)."""
    binary = row.get("outcome_type") == "binary"
    if column in ("n_treated", "n_comparison"):
        kind = "count"
    elif column in ("effect", "ci_lower", "ci_upper"):
        kind = "rate_difference" if binary else "mean_difference"
    elif column == "p_value":
        kind = "p_value"
    else:
        kind = "rate" if binary else "mean"
    return Value(row.get(column), kind, cell=Cell("estimates", i, column))
