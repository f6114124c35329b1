"""The "Synthetic control" section: the programme areas' path with and without the programme."""

from __future__ import annotations

from typing import Any

from pbr_eval.kinds import Column, Schema
from pbr_eval.reporting.model import (
    Paragraph,
    ReportInputs,
    Section,
    Table,
    Value,
    section,
)
from pbr_eval.reporting.sections._common import (
    figure,
    frame_rows,
    free_text,
    not_available,
    pct,
)
from pbr_eval.reporting.sections.staggered import difference_value, extras_part
from pbr_eval.results.synthetic import PATH_SCHEMA, SYNTH_CHECK_SCHEMA, UNIT_WEIGHT_SCHEMA

__all__ = ["synthetic_section", "SYNTHETIC_TITLE"]

SYNTHETIC_TITLE = "Synthetic control: the programme areas with and without the programme"
#: The path as the report shows it: periods as labels (a year is "1989", not "1,989").
_PATH_SHOWN = Schema(tuple(Column("period", "text", "Period") if c.name == "period" else c
                           for c in PATH_SCHEMA))


def _period_label(v: Any) -> str:
    x = float(v)
    return str(int(x)) if x.is_integer() else str(x)


def _synthetic(inputs: ReportInputs) -> Any:
    """Return the :class:`~pbr_eval.results.synthetic.SyntheticResults` of the report, or None."""
    return extras_part(inputs, "synthetic", "synthetic_control",
                       "SyntheticResults of estimate(..., method='synthetic_control' or 'sdid')")


@section("synthetic", title=SYNTHETIC_TITLE, order=26, reports=("pilot",),
         needs=("synthetic",), sheet="Synthetic control", optional=True)
def synthetic_section(inputs: ReportInputs) -> Section:
    """Synthetic control or synthetic DiD (``method="synthetic_control"`` / ``"sdid"``): the average effect with its interval, the path with and without the programme, the comparison areas' weights and the cross-checks.

    Parameters
    ----------
    inputs : ReportInputs
        The report's inputs; reads the part ``synthetic`` or the results' own
        ``extras["synthetic"]``.

    Returns
    -------
    Section
        Not available (with the reason) for results of other methods.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> from pbr_eval.reporting.build import report_inputs
    >>> sim = simulate_synthetic(n_areas=10, n_treated=2, n_periods=8, start=6, seed=1)
    >>> res = pbr_eval.estimate(sim.cohort(), method="sdid", cross_checks=False)
    >>> [t.name for t in synthetic_section(report_inputs(res)).tables]
    ['synthetic_cross_checks', 'synthetic_path', 'synthetic_weights']
    """
    sr = _synthetic(inputs)
    if sr is None:
        return not_available("synthetic", SYNTHETIC_TITLE,
                             "these results are not from synthetic control or synthetic DiD "
                             "(method 'synthetic_control' or 'sdid'); a results file saved by an "
                             "older pbr_eval does not carry the path and weights: estimate "
                             "again, or pass synthetic= with them")
    cc = Table("synthetic_cross_checks", "Effect by method", SYNTH_CHECK_SCHEMA,
               frame_rows(sr.cross_checks(level=inputs.level), SYNTH_CHECK_SCHEMA.names),
               display=tuple(c for c in SYNTH_CHECK_SCHEMA.names
                             if c not in ("outcome_type", "std_error")))
    form = str(sr.info.get("form_label", "synthetic control"))
    paras: list[str | Paragraph] = [Paragraph(
        "The programme started in {treated} area(s) at the same time. The comparison is "
        "{form}: comparison areas (and, for synthetic DiD, periods) are weighted so that "
        "together they followed the programme areas before the start; after the start, the "
        "weighted comparison is the programme areas' path without the programme.",
        treated=Value(int(sr.info.get("n_treated_areas", 0)), "integer"),
        form=Value(form, "text"))]
    for i, row in enumerate(cc.rows):
        if row.get("note") != "the headline":
            continue
        paras.append(Paragraph(
            "From the start, the programme changed '{outcome}' by {est} on average ({pct}% CI "
            "{lo} to {hi}; standard error by {how}).",
            outcome=Value(str(row.get("outcome")), "text"), pct=pct(inputs.level),
            est=difference_value(row, cc.name, i, "estimate"),
            lo=difference_value(row, cc.name, i, "ci_lower"),
            hi=difference_value(row, cc.name, i, "ci_upper"),
            how=Value("placebo areas" if sr.info.get("se") == "placebo" else
                      "leaving out one area at a time", "text")))
    paras.append(
        "The other methods estimate the same average effect on the same areas: plain "
        "difference-in-differences weights every comparison area equally, and differs when the "
        "programme areas' trend before the start was not the average area's.")
    shown = sr.to_frame()
    shown["period"] = [_period_label(v) for v in shown["period"]]
    path = Table("synthetic_path", "Path with and without the programme", _PATH_SHOWN,
                 frame_rows(shown, PATH_SCHEMA.names),
                 display=("outcome", "period", "post", "observed", "non_intervention", "gap"))
    weights = Table("synthetic_weights", "Comparison areas' weights", UNIT_WEIGHT_SCHEMA,
                    frame_rows(sr.unit_weights, UNIT_WEIGHT_SCHEMA.names))
    fig = figure(sr, "synthetic_path", inputs, "The programme areas with and without the "
                 "programme",
                 "The programme areas' observed outcome (solid) and their estimated outcome "
                 "without the programme (dashed) by period; the gap after the start is the "
                 "effect.")
    notes = tuple(free_text(str(n)) for n in sr.info.get("notes") or ())
    return Section("synthetic", SYNTHETIC_TITLE, paragraphs=tuple(paras),
                   tables=(cc, path, weights), figures=(fig,) if fig is not None else (),
                   notes=notes)
