r"""The "How the estimate was chosen" report section (design-first evaluation, issue 16).

One function registered with :func:`~pbr_eval.reporting.model.section`: it
reads an :class:`~pbr_eval.results.evaluation.EvaluationResults` (the object
or its ``to_dict()``) and shows the headline rule, the panel of estimators
(estimates and intervals, typed by column kind), the overlap assessment in
sentences with typed values, and the fragility warnings. Results from
:func:`pbr_eval.estimate` (a single estimator) make it "not available", with
the reason. Aggregates only: the panel and overlap figures are means, shares
and effective sample sizes; counts go through typed :class:`Value`\ s so the
disclosure policy applies.
"""

from __future__ import annotations

from typing import Any

from pbr_eval.kinds import Schema
from pbr_eval.reporting.model import Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._common import not_available, results_object
from pbr_eval.results.evaluation import PANEL_SCHEMA

__all__ = ["evaluation_section", "TITLE"]

TITLE = "How the estimate was chosen"
_SHOWN = ("estimator", "role", "outcome", "non_intervention", "non_intervention_ci_lower",
          "non_intervention_ci_upper", "distance")


def _evaluation(results: Any) -> Any:
    obj = results_object(results)
    return obj if getattr(type(obj), "kind", "") == "evaluation" else None


@section("evaluation", title=TITLE, order=22, reports=("pilot", "tariff"), sheet="Evaluation",
         optional=True)
def evaluation_section(inputs: ReportInputs) -> Section:
    """Show the design-first evaluation: rule, panel, overlap and fragility warnings.

    Parameters
    ----------
    inputs : ReportInputs

    Returns
    -------
    Section
        Not available (with the reason) when the results are not from
        :func:`pbr_eval.evaluate`.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.disclosure import DisclosurePolicy
    >>> sim = load_reoffending()
    >>> ev = pbr_eval.evaluate(pbr_eval.Cohort(sim.data, **sim.cohort_args), warn=False)
    >>> s = evaluation_section(ReportInputs(ev, {}, "pilot", 0.95, DisclosurePolicy()))
    >>> s.available, s.tables[0].name
    (True, 'evaluation_panel')
    """
    ev = _evaluation(inputs.results)
    if ev is None:
        return not_available("evaluation", TITLE,
                             "these results come from one estimator, not the design-first "
                             "evaluation (pbr_eval.evaluate)")
    paras: list[str | Paragraph] = [
        Paragraph("The headline is {h}: {rule}", h=Value(ev.headline, "text"),
                  rule=Value(ev.rule, "text"))]
    ov = ev.overlap
    if ov.get("available"):
        paras.append(Paragraph(
            "Overlap: {share} of the {n} participants have no comparison person with a similar "
            "propensity score. Weighted to resemble the participants, the comparison pool "
            "counts as {ess} people (its effective size).",
            share=Value(ov["share_no_comparable"], "probability"),
            n=Value(ov["n_treated"], "count"),
            ess=Value(round(float(ov["ess_comparison"])), "number")))
        if ov.get("high_treated"):
            paras.append(Paragraph(
                "{high} participants have a propensity score above 0.9: few non-participants "
                "resemble them. Trimming them (Crump et al. 2009) would change who the estimate "
                "describes, so they are kept.", high=Value(ov["high_treated"], "count")))
        spec = ov.get("specification") or {}
        if spec.get("available"):
            paras.append(Paragraph(
                "Propensity model: a likelihood-ratio test against the model with {terms} of "
                "the covariates gives p = {p} ({verdict}).",
                terms=Value(spec["terms"], "text"), p=Value(spec["p_value"], "p_value"),
                verdict=Value("it misses how programme entry depends on them"
                              if spec["p_value"] < 0.05 else "no sign that it misses how "
                              "programme entry depends on them", "text")))
    else:
        paras.append(Paragraph("Overlap could not be assessed: {why}",
                               why=Value(str(ov.get("reason", "")), "text")))
    notes: list[str | Paragraph] = [Paragraph("Warning: {m}", m=Value(f.message, "text"))
                                    for f in ev.flags]
    if not ev.flags:
        tested = (ov.get("specification") or {}).get("available")
        notes.append("No fragility warning: the checks agree with the headline, every "
                     "participant has comparable comparison people"
                     + (", no one carries the estimate alone and the propensity model passes "
                        "its specification test." if tested else
                        " and no one carries the estimate alone."))
    schema = Schema(tuple(c for c in PANEL_SCHEMA if c.name in _SHOWN))
    panel = ev.panel_frame()
    rows = tuple({c: panel.at[i, c] for c in _SHOWN} | {"outcome_type": panel.at[i, "outcome_type"]}
                 for i in panel.index if not panel.at[i, "error"])
    table = Table("evaluation_panel", "Estimates by estimator (the checks should agree with the "
                  "headline)", schema, rows)
    return Section("evaluation", TITLE, paragraphs=tuple(paras), tables=(table,),
                   notes=tuple(notes))
