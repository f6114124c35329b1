"""The "Time to the outcome" section: survival with and without the programme (JDL style)."""

from __future__ import annotations

from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.reporting.model import (
    Cell,
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
    results_object,
)
from pbr_eval.results.survival import SURVIVAL_FRAME_SCHEMA

__all__ = ["survival_section", "SURVIVAL_TITLE"]

SURVIVAL_TITLE = "Time to the outcome: with and without the programme"


def _survival(inputs: ReportInputs) -> Any:
    """Return the report's :class:`~pbr_eval.results.survival.SurvivalResults`, or None."""
    given = inputs.get("survival")
    if given is None:
        return None
    obj = results_object(given)
    if getattr(obj, "kind", None) != "survival":
        raise OptionError(
            "`survival` must be the SurvivalResults of pbr_eval.estimate_survival(...) or its "
            f"to_dict(); got {type(given).__name__}.")
    return obj


def _number(x: float) -> Value:
    return Value(int(x), "integer") if float(x).is_integer() else Value(x, "number")


@section("survival", title=SURVIVAL_TITLE, order=26, reports=("pilot",), needs=("survival",),
         sheet="Time to the outcome", optional=True)
def survival_section(inputs: ReportInputs) -> Section:
    """Build the section: the outcome by the window and the mean time free of it, observed and without the programme, with intervals; the JDL-style sentence; the adjusted curves with bands.

    Parameters
    ----------
    inputs : ReportInputs
        The report's inputs; the part ``survival`` is the
        :class:`~pbr_eval.results.survival.SurvivalResults`.

    Returns
    -------
    Section
        Not available (and left out: the section is optional) without ``survival``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending_time
    >>> from pbr_eval.reporting.build import report_inputs
    >>> sim = load_reoffending_time()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> s = pbr_eval.estimate_survival(cohort)
    >>> sec = survival_section(report_inputs(pbr_eval.estimate(cohort), survival=s))
    >>> sec.tables[0].name
    'survival_estimates'
    """
    res = _survival(inputs)
    if res is None:
        return not_available("survival", SURVIVAL_TITLE,
                             "no time-to-event results were given: pass survival= with the "
                             "results of estimate_survival")
    schema = SURVIVAL_FRAME_SCHEMA
    table = Table("survival_estimates", "Time to the outcome", schema,
                  frame_rows(res.to_frame(level=inputs.level), schema.names),
                  display=tuple(c for c in schema.names
                                if c not in ("outcome_type", "non_intervention_se",
                                             "std_error")))
    rows = table.rows

    def val(i: int, column: str, kind: str) -> Value:
        return Value(rows[i].get(column), kind, cell=Cell(table.name, i, column))

    paras: list[str | Paragraph] = [Paragraph(
        "Within {window} {unit} of the start of follow-up, {obs} of the {n} people in the "
        "programme had the outcome, against an estimated {without} had they not taken part "
        "(difference {eff}, {pct}% CI {lo} to {hi}).",
        window=_number(res.window), unit=Value(res.unit, "text"),
        obs=val(0, "observed", "probability"), n=val(0, "n_treated", "count"),
        without=val(0, "non_intervention", "probability"),
        eff=val(0, "effect", "rate_difference"), pct=pct(inputs.level),
        lo=val(0, "ci_lower", "rate_difference"), hi=val(0, "ci_upper", "rate_difference")),
        Paragraph(
        "Over the first {horizon} {unit}, people in the programme spent on average {obs} {unit} "
        "free of the outcome, against an estimated {without} without it (difference {eff}, "
        "{pct}% CI {lo} to {hi}).",
        horizon=_number(res.horizon), unit=Value(res.unit, "text"),
        obs=val(1, "observed", "mean"), without=val(1, "non_intervention", "mean"),
        eff=val(1, "effect", "mean_difference"), pct=pct(inputs.level),
        lo=val(1, "ci_lower", "mean_difference"), hi=val(1, "ci_upper", "mean_difference")),
        "People followed for less than the window without the outcome count for the time they "
        "were followed (Kaplan-Meier); without the programme is estimated from the comparison "
        "group, weighted or matched to resemble the participants."]
    fig = figure(res, "incidence", inputs, "Share who have had the outcome, over time",
                 "Share of the programme's participants who have had the outcome by each time "
                 "since the start of follow-up, observed and estimated without the programme, "
                 "with intervals; points where few people were still followed are left out.")
    notes = tuple(free_text(str(n)) for n in res.info.get("notes") or ())
    notes += (free_text(f"Standard errors: {res.info.get('se_method', '')}."),)
    return Section("survival", SURVIVAL_TITLE, paragraphs=tuple(paras), tables=(table,),
                   figures=(fig,) if fig is not None else (), notes=notes)
