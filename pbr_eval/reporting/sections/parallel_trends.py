"""The "Parallel trends" section: how far they may fail before the effect, and its price, are lost."""

from __future__ import annotations

import math
from typing import Any

from pbr_eval.glossary import VALUE_WORDS, plain_name
from pbr_eval.reporting.model import Cell, Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._common import (
    figure,
    frame_rows,
    free_text,
    not_available,
    pct,
    results_part,
)
from pbr_eval.results.parallel_trends import RESTRICTION_WORDS, SENSITIVITY_SCHEMA

__all__ = ["parallel_trends_section", "PARALLEL_TRENDS_TITLE"]

PARALLEL_TRENDS_TITLE = "Parallel trends: how far they may fail before the effect is lost"


def _diff(value: Any, otype: str, cell: Cell | None = None) -> Value:
    return Value(value, "rate_difference" if otype == "binary" else "mean_difference", cell=cell)


def _conclusion(pt: Any, bound_name: str, otype: str) -> Paragraph:
    o, bd = pt.original, pt.breakdown
    outcome = Value(str(plain_name(pt.info.get("outcome") or "the outcome")), "text")
    if o["lower"] <= 0 <= o["upper"]:
        return Paragraph("Even if trends were exactly parallel, the interval of the effect on "
                         "'{outcome}' contains zero: there is no conclusion for a departure from "
                         "parallel trends to overturn.", outcome=outcome)
    if not math.isfinite(bd):
        return Paragraph("The conclusion that the programme changed '{outcome}' survives every "
                         "bound tried, up to {name} = {top}.", outcome=outcome,
                         name=Value(bound_name, "text"),
                         top=Value(float(pt.table["M"].max()), "number"))
    if pt.restriction == "relative_magnitudes":
        return Paragraph(
            "The conclusion that the programme changed '{outcome}' survives departures from "
            "parallel trends after the start of up to {bd} times the largest departure between "
            "consecutive periods before it (the breakdown value); a larger departure could "
            "account for the whole effect.", outcome=outcome, bd=Value(bd, "ratio"))
    return Paragraph(
        "The conclusion that the programme changed '{outcome}' survives a difference in trends "
        "whose slope changes by up to {bd} per period, in the outcome's units (the breakdown "
        "value); a more bent trend could account for the whole effect.", outcome=outcome,
        bd=Value(bd, "number"))


def _price_paragraph(pt: Any, bound_name: str, table: Table) -> Paragraph:
    info = pt.info
    holds = float(info.get("price_holds_to", math.nan))
    bounds = [float(b) for b in pt.table["M"]]
    values: dict[str, Value] = {
        "price": Value(float(info.get("ordinary_price", math.nan)), "money"),
        "risk": Value(float(info.get("risk", (1 - pt.level) / 2)), "probability"),
        "name": Value(bound_name, "text"), "zero": Value(0.0, "money")}
    if math.isnan(holds):
        where = "not even at the smallest bound tried ({name} = {b})"
        values["b"] = Value(bounds[0], "number", cell=Cell(table.name, 0, "M"))
    elif math.isinf(holds):
        where = "at every bound tried (up to {name} = {b})"
        values["b"] = Value(bounds[-1], "number", cell=Cell(table.name, len(bounds) - 1, "M"))
    else:
        where = "up to {name} = {b} and not at the next bound tried"
        values["b"] = Value(holds, "number", cell=Cell(table.name, bounds.index(holds), "M"))
    return Paragraph(
        "Priced on the interval that assumes parallel trends, the recommended price is {price} "
        "per outcome; it keeps the chance of paying for deadweight at {risk} " + where + ". "
        "The last column gives the price that keeps that risk if trends depart by up to each "
        "bound; at the breakdown value it is {zero}: paying anything could be paying for "
        "outcomes that would have happened anyway.", **values)


@section("parallel_trends", title=PARALLEL_TRENDS_TITLE, order={"pilot": 26, "tariff": 65},
         needs=("parallel_trends",), sheet="Parallel trends", optional=True)
def parallel_trends_section(inputs: ReportInputs) -> Section:
    """Rambachan & Roth sensitivity of a DiD effect: intervals by bound, the breakdown value in words, the plot, and prices under each bound.

    Parameters
    ----------
    inputs : ReportInputs
        The report's inputs; reads the part ``parallel_trends`` (a
        :class:`~pbr_eval.results.parallel_trends.ParallelTrendsResults` or its
        ``to_dict()``).

    Returns
    -------
    Section
        Not available (and left out of HTML and Markdown) without the part.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_medicaid_event_study, load_reoffending
    >>> from pbr_eval.reporting.build import report_inputs
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="ipw")
    >>> pt = pbr_eval.parallel_trends(load_medicaid_event_study(), bounds=[1.0])
    >>> sec = parallel_trends_section(report_inputs(res, kind="pilot", parallel_trends=pt))
    >>> sec.available, sec.tables[0].name
    (True, 'parallel_trends')
    """
    pt = results_part(inputs, "parallel_trends", "parallel_trends",
                      "the ParallelTrendsResults of pbr_eval.parallel_trends(results, ...)")
    if pt is None:
        return not_available("parallel_trends", PARALLEL_TRENDS_TITLE,
                             "no parallel-trends sensitivity analysis was given: pass "
                             "parallel_trends=pbr_eval.parallel_trends(results, ...) for a "
                             "difference-in-differences result")
    bound_name, words, _ = RESTRICTION_WORDS.get(pt.restriction, RESTRICTION_WORDS["smoothness"])
    frame = pt.to_frame()
    otype = str(frame["outcome_type"].iloc[0]) if len(frame) else ""
    display = ["M", "lower", "upper"]
    if pt.restriction == "smoothness":
        display.append("max_bias")
    if pt.has_prices:
        display += ["non_intervention_upper", "price"]
    table = Table("parallel_trends", "Intervals by bound", SENSITIVITY_SCHEMA,
                  frame_rows(frame, SENSITIVITY_SCHEMA.names), display=tuple(display))
    o = pt.original
    target = VALUE_WORDS[str(pt.info.get("target", "first"))]
    paras: list[str | Paragraph] = [
        Paragraph("Difference-in-differences assumes that, without the programme, the programme "
                  "and comparison groups' outcomes would have moved in parallel. This section "
                  "asks how far that may fail before the effect in {target} is lost "
                  "(Rambachan & Roth 2023). If trends were exactly parallel, the effect would be "
                  "{est} ({pct}% CI {lo} to {hi}).", target=Value(target, "text"),
                  est=_diff(o["estimate"], otype), pct=pct(pt.level),
                  lo=_diff(o["lower"], otype), hi=_diff(o["upper"], otype)),
        Paragraph("The bound: {words}. Each row gives the {pct}% interval of the effect that "
                  "holds whatever the departure within that bound.",
                  words=Value(str(pt.info.get("restriction_label", words)), "text"),
                  pct=pct(pt.level)),
        _conclusion(pt, bound_name, otype),
    ]
    if pt.has_prices:
        paras.append(_price_paragraph(pt, bound_name, table))
    fig = figure(pt, "parallel_trends", inputs, "The effect's interval as the bound grows",
                 "The effect's interval assuming parallel trends (left) and allowing departures "
                 "up to each bound; the dashed line marks the breakdown value, where the "
                 "interval reaches zero.")
    notes = tuple(free_text(str(n)) for n in pt.info.get("notes") or ())
    return Section("parallel_trends", PARALLEL_TRENDS_TITLE, paragraphs=tuple(paras),
                   tables=(table,), figures=(fig,) if fig is not None else (), notes=notes)
