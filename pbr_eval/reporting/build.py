"""Build a report: inputs -> registered sections -> one disclosure pass -> :class:`Report`.

:func:`report_inputs` checks the options and the named parts (exactly the
names the registered sections declare in ``needs``) and freezes them in a
:class:`~pbr_eval.reporting.model.ReportInputs`; :func:`build_report` runs every
registered section of the report kind, protects all their tables *together*
(:meth:`pbr_eval.disclosure.DisclosurePolicy.protect`: primary suppression by
column kind, derived values, secondary suppression over every relation the
sections declare, within and across tables), then fills each sentence's
numbers from the protected cells they repeat, or through the policy, and drops
figure points whose cells are hidden. Renderers only format the result.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pbr_eval.disclosure import DisclosurePolicy, Protection, is_hidden
from pbr_eval.exceptions import OptionError
from pbr_eval.glossary import method_words, plain_name, plain_reason
from pbr_eval.kinds import DEFAULT_CURRENCY
from pbr_eval.options import (
    DEFAULT_DISCLOSURE_THRESHOLD,
    DEFAULT_LEVEL,
    DEFAULT_MIN_TREATED,
    check_choice,
    check_level,
)
from pbr_eval.reporting import sections as _sections  # noqa: F401  (registers the sections)
from pbr_eval.reporting.model import (
    REPORT_KINDS,
    Figure,
    Paragraph,
    Report,
    ReportInputs,
    Section,
    Table,
    Value,
    report_parts,
    sections_for,
)
from pbr_eval.reporting.sections._common import free_text, plain, results_dict

__all__ = ["report_inputs", "build_report", "build", "OPTIONS", "DEFAULTS", "DEFAULT_TITLES"]

#: The options of a report besides its parts, with their defaults.
DEFAULTS: dict[str, Any] = {
    "kind": "pilot", "title": None, "level": DEFAULT_LEVEL,
    "threshold": DEFAULT_DISCLOSURE_THRESHOLD, "min_cohort": DEFAULT_MIN_TREATED,
    "generated": None, "provenance": None, "currency": DEFAULT_CURRENCY,
}
#: The options' names (what an analysis file's [report] table may set, with its outputs).
OPTIONS: tuple[str, ...] = tuple(DEFAULTS)

#: Title of each report kind when none is given.
DEFAULT_TITLES = {"pilot": "Pilot evaluation report", "tariff": "Tariff report for commissioners"}

# what a pricing bundle (mapping or object) may hold, and the part each becomes
_BUNDLE = {"tariff": ("tariff",), "simulation": ("simulation", "payments", "risk"),
           "cashflow": ("cashflow", "cash_flow"), "price_sensitivity": ("sensitivity",),
           "contract": ("contract",)}


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        v = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if v is not None:
            return v
    return None


def _split_pricing(parts: dict[str, Any]) -> dict[str, Any]:
    """Return a ``pricing=`` bundle split into its parts (parts given by name win)."""
    pricing = parts.get("pricing")
    if pricing is None:
        return parts
    is_bundle = (isinstance(pricing, Mapping) and not isinstance(pricing.get("prices"), list)) \
        or (not isinstance(pricing, Mapping) and not callable(getattr(pricing, "to_frame", None))
            and any(hasattr(pricing, n) for n in ("recommendation", "tariff", "simulation",
                                                  "cashflow")))
    if not is_bundle:
        return parts
    out = dict(parts)
    out["pricing"] = _get(pricing, "recommendation", "prices", "price")
    for part, names in _BUNDLE.items():
        if out.get(part) is None:
            out[part] = _get(pricing, *names)
    return out


def report_inputs(results: Any, **options: Any) -> ReportInputs:
    """Check a report's options and parts and freeze them.

    ``options`` are the report options (:data:`OPTIONS`, defaults in
    :data:`DEFAULTS`) and the parts the registered sections need
    (:func:`~pbr_eval.reporting.model.report_parts`).

    Raises
    ------
    OptionError
        For an unknown ``kind``, a bad ``level`` / ``threshold`` / ``min_cohort``,
        or a keyword that is neither an option nor a part (the message lists them).
    """
    opts = {**DEFAULTS, **{k: v for k, v in options.items() if k in DEFAULTS}}
    parts = {k: v for k, v in options.items() if k not in DEFAULTS}
    kind, level, currency = opts["kind"], opts["level"], opts["currency"]
    kind = check_choice("kind", kind, REPORT_KINDS)
    level = check_level(level)
    accepted = report_parts()
    unknown = sorted(set(parts) - set(accepted))
    if unknown:
        raise OptionError(
            f"`{unknown[0]}` is not a part of a report; the parts are "
            f"{', '.join(map(repr, accepted))} (and the options "
            f"{', '.join(map(repr, [o for o in OPTIONS]))})."
        )
    if not isinstance(currency, str) or len(currency) > 8:
        raise OptionError(f"`currency` must be a short symbol such as '£' or 'EUR '; got "
                          f"{currency!r}.")
    policy = DisclosurePolicy(threshold=opts["threshold"], min_cohort=opts["min_cohort"])
    generated = opts["generated"] or _dt.datetime.now(_dt.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    inputs = ReportInputs(results=results, parts=_split_pricing(parts), kind=kind,
                          level=level, policy=policy, title=opts["title"], generated=generated,
                          provenance=dict(opts["provenance"] or {}), currency=currency)
    results_dict(inputs)  # a clear error now for something that is not results
    return inputs


def _resolve(value: Value, prot: Protection, policy: DisclosurePolicy) -> Value:
    cell = value.cell
    if cell is not None and cell.table in prot.rows and 0 <= cell.row < len(prot.rows[cell.table]):
        value = replace(value, value=prot.rows[cell.table][cell.row].get(cell.column))
        return replace(value, value=plain_name(value.value)) if value.kind == "text" else value
    if value.kind == "text":  # a name from the data reads as words (pbr_eval.glossary)
        return replace(value, value=plain_name(value.value))
    return replace(value, value=policy.value(plain(value.value), value.kind,
                                             denominator=value.denominator))


def _paragraph(p: str | Paragraph, prot: Protection, policy: DisclosurePolicy) -> Paragraph:
    # a plain sentence with a digit in it is read as engine text: its numbers go through policy
    if isinstance(p, str):
        q = free_text(p)
        p = q if isinstance(q, Paragraph) else Paragraph(q.replace("{", "(").replace("}", ")"))
    return Paragraph(p.template, **{k: _resolve(v, prot, policy) for k, v in p.values.items()})


def _plain_rows(table: Table, rows: Any) -> tuple[dict[str, Any], ...]:
    """Return the protected rows with the names from the data in words, in the text columns (:func:`pbr_eval.glossary.plain_name`)."""
    text = [c.name for c in table.schema if c.kind == "text"]
    return tuple({**r, **{k: plain_name(r[k]) for k in text if k in r}} for r in rows)


def _figure(f: Figure, prot: Protection, currency: str) -> Figure | None:
    f = replace(f, data={**f.data, "currency": currency})  # money axes in the report's currency
    if isinstance(f.data.get("covariates"), (list, tuple)):  # axis labels: names in words
        f = replace(f, data={**f.data, "covariates": [plain_name(c) for c in f.data["covariates"]]})
    if not f.points:
        return f
    keep = [k for k, c in enumerate(f.points)
            if not (c.table in prot.rows and is_hidden(prot.value(c)))]
    if not keep:
        return None
    data = dict(f.data)
    for s in f.series:
        data[s] = [data[s][k] for k in keep]
    return replace(f, data=data, points=tuple(f.points[k] for k in keep))


def _provenance(inputs: ReportInputs) -> dict[str, Any]:
    rdict = results_dict(inputs)
    info = rdict.get("info") or {}
    prov: dict[str, Any] = {
        "generated": inputs.generated,
        "pbr_eval": info.get("version"),
        "versions": dict(info.get("versions") or {}),
        "data_fingerprint": info.get("fingerprint"),
        "seed": info.get("seed"),
        "method": rdict.get("method") or info.get("method"),
        "options": {str(k): plain(v) for k, v in (info.get("options") or {}).items()},
    }
    prov.update({str(k): v for k, v in inputs.provenance.items()})
    return prov


def build_report(inputs: ReportInputs) -> Report:
    """Run the registered sections of ``inputs.kind`` and apply disclosure control to all.

    Returns
    -------
    Report
        Every table protected together, every sentence's numbers published
        through the same protection, figure points of hidden cells dropped.
    """
    specs = sections_for(inputs.kind)
    built: list[Section] = []
    for spec in specs:
        s = spec.build(inputs)
        if s.id != spec.id:
            s = replace(s, id=spec.id)
        built.append(s)
    tables = [t for s in built for t in s.tables]
    names = [t.name for t in tables]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptionError(f"report tables must have unique names; {dup} appear twice.")
    policy: DisclosurePolicy = inputs.policy
    prot = policy.protect(tables, relations=[r for s in built for r in s.relations],
                          links=[lk for s in built for lk in s.links])
    sections = []
    for s in built:
        sections.append(replace(
            s,
            reason=plain_reason(s.reason) if s.reason else s.reason,  # a reason in words
            tables=tuple(replace(t, rows=_plain_rows(t, prot.rows[t.name])) for t in s.tables),
            paragraphs=tuple(_paragraph(p, prot, policy) for p in s.paragraphs),
            notes=tuple(_paragraph(p, prot, policy) for p in s.notes),
            figures=tuple(f for f in (_figure(f, prot, inputs.currency) for f in s.figures)
                          if f is not None),
        ))
    rdict = results_dict(inputs)
    info = rdict.get("info") or {}
    cohort = info.get("cohort") or {}
    method = str(rdict.get("method") or info.get("method") or "unknown")
    # the unit's word: an area panel (synthetic control) counts areas, not people; always the
    # plural, so that a suppressed count is not given away by a singular noun
    word = str((info.get("unit_words") or ("person", "people"))[-1])
    subtitle = _paragraph(Paragraph(
        "{nt} " + word + " in the programme, {nc} in the comparison pool; method: {method}.",
        nt=Value(cohort.get("n_treated"), "count"), nc=Value(cohort.get("n_comparison"), "count"),
        method=Value(method_words(method), "text")) if cohort else
        Paragraph("Method: {method}.", method=Value(method_words(method), "text")), prot, policy)
    return Report(
        kind=inputs.kind,
        title=inputs.title or DEFAULT_TITLES[inputs.kind],
        subtitle=subtitle,
        generated=inputs.generated,
        level=inputs.level,
        currency=inputs.currency,
        sections=tuple(sections),
        sheets={s.id: s.sheet for s in specs if s.sheet},
        optional=frozenset(s.id for s in specs if inputs.kind in s.optional),
        disclosure=_paragraph(free_text(policy.describe(), kind="integer"), prot, policy),
        provenance=_provenance(inputs),
    )


def build(results: Any, **options: Any) -> Report:
    """:func:`report_inputs` then :func:`build_report` (the options and parts of :func:`pbr_eval.report`).

    Examples
    --------
    >>> from pbr_eval import Cohort, estimate
    >>> from pbr_eval.datasets import load_reoffending
    >>> rep = build(estimate(Cohort(load_reoffending().data,
    ...                             **load_reoffending().cohort_args)), generated="2026-01-01")
    >>> [s.id for s in rep.sections if s.available][:4]
    ['headline', 'explain', 'estimates', 'balance']
    """
    return build_report(report_inputs(results, **options))



