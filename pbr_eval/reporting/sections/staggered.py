"""The "Staggered roll-out" section: effects by start period and by time since the start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.glossary import method_words
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
from pbr_eval.results.staggered import (
    AGGREGATION_SCHEMA,
    CROSS_CHECK_SCHEMA,
    GROUP_TIME_SCHEMA,
)

__all__ = ["staggered_section", "STAGGERED_TITLE"]

STAGGERED_TITLE = "Staggered roll-out: effects by start period and time since the start"


def extras_part(inputs: ReportInputs, part: str, kind: str, producer: str) -> Any:
    """Return the results object of report part ``part`` (given, or the results' own ``extras[part]``) when its kind is ``kind``, else None.

    Raises :class:`OptionError` when the part was given but is not of that kind;
    ``producer`` names the results and the call that makes them (for the message). Shared by the
    staggered and synthetic-control sections.
    """
    given = inputs.get(part)
    own = inputs.results
    saved = (own.get("parts") if isinstance(own, Mapping) else None) or {}  # a saved file
    obj = results_object(given if given is not None else
                         (getattr(own, "extras", None) or saved).get(part))
    if getattr(obj, "kind", None) == kind:
        return obj
    if given is not None:
        raise OptionError(
            f"`{part}` must be the {producer} (results.extras[{part!r}]) or its "
            f"to_dict(); got {type(given).__name__}. Leave it out for other methods.")
    return None


def _staggered(inputs: ReportInputs) -> Any:
    """Return the :class:`~pbr_eval.results.staggered.StaggeredResults` of the report, or None."""
    return extras_part(inputs, "staggered", "staggered_did",
                       "StaggeredResults of estimate(..., method='staggered_did')")


def difference_value(row: Any, table: str, i: int, column: str) -> Value:
    """Return a table cell's effect as a typed value (rate or mean difference by the outcome type)."""
    kind = "rate_difference" if row.get("outcome_type") == "binary" else "mean_difference"
    return Value(row.get(column), kind, cell=Cell(table, i, column))


@section("staggered", title=STAGGERED_TITLE, order=25, reports=("pilot",),
         needs=("staggered",), sheet="Staggered roll-out", optional=True)
def staggered_section(inputs: ReportInputs) -> Section:
    """Callaway-Sant'Anna summaries (overall, by start period, by period, event study) and the cross-checks of ``method="staggered_did"``, each with its pointwise interval and band."""
    st = _staggered(inputs)
    if st is None:
        return not_available("staggered", STAGGERED_TITLE,
                             "these results are not from a staggered roll-out (method: "
                             f"{method_words('staggered_did')}); a results file saved by an older "
                             "pbr_eval does not carry its effects by group and period: "
                             "estimate again, or pass staggered= with them")
    agg = Table("staggered_effects", "Effects by summary", AGGREGATION_SCHEMA,
                frame_rows(st.aggregations(level=inputs.level), AGGREGATION_SCHEMA.names),
                display=tuple(c for c in AGGREGATION_SCHEMA.names
                              if c not in ("outcome_type", "std_error", "event_time")))
    cc = Table("staggered_cross_checks", "Roll-out cross-checks", CROSS_CHECK_SCHEMA,
               frame_rows(st.cross_checks(level=inputs.level), CROSS_CHECK_SCHEMA.names),
               display=tuple(c for c in CROSS_CHECK_SCHEMA.names
                             if c not in ("outcome_type", "std_error")))
    paras: list[str | Paragraph] = [
        "The programme started at different times for different groups. Each group is compared "
        "with units not yet in the programme (or never in it) over the same periods, and the "
        "group-by-period effects are summarised below."]
    for i, row in enumerate(agg.rows):
        if row.get("aggregation") != "overall":
            continue
        paras.append(Paragraph(
            "Averaged over every programme unit and period after its start, the programme "
            "changed '{outcome}' by {est} ({pct}% CI {lo} to {hi}).",
            outcome=Value(str(row.get("outcome")), "text"), pct=pct(inputs.level),
            est=difference_value(row, agg.name, i, "estimate"),
            lo=difference_value(row, agg.name, i, "ci_lower"),
            hi=difference_value(row, agg.name, i, "ci_upper")))
    paras.append(
        "Rows by periods since the start with a negative number of periods are checks of the "
        "parallel-trends assumption: their effects should be close to zero. The limits 'all "
        "at once' cover every effect of one summary together (a simultaneous band); the "
        "cross-checks estimate the same average effect in other ways.")
    # every group in every period: its effect and its level without the programme (what a
    # price per group reads); a small group's count and observed level are hidden, and its
    # non-intervention level with them (derived from the observed level)
    gt = Table("staggered_group_time", "Levels by group and period", GROUP_TIME_SCHEMA,
               frame_rows(st.to_frame(level=inputs.level), GROUP_TIME_SCHEMA.names),
               display=("group", "period", "n_treated", "observed", "non_intervention",
                        "estimate", "ci_lower", "ci_upper", "band_lower", "band_upper"))
    paras.append(
        "The last table gives each start group in each period: its observed level, its "
        "estimated level without the programme (observed minus the effect) and the effect; "
        "a price for one group can be set from its level without the programme.")
    ev = figure(st, "event_study", inputs, "Effect by periods since the start",
                "Effect at each number of periods before and after the start, with its interval "
                "(lines) and the band that covers all of them at once (shaded); before the "
                "start the effects should be close to zero.")
    notes = tuple(free_text(str(n)) for n in st.info.get("notes") or ())
    return Section("staggered", STAGGERED_TITLE, paragraphs=tuple(paras), tables=(agg, cc, gt),
                   figures=(ev,) if ev is not None else (), notes=notes)
