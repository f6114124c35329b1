"""The "Time to the outcome" section: survival with and without the programme (JDL style)."""

from __future__ import annotations

from typing import Any

from pbr_eval.kinds import Schema
from pbr_eval.reporting.model import Cell, Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections import _common
from pbr_eval.results.survival import INTERIM_SCHEMA, PAY_FOR_WORDS, SURVIVAL_FRAME_SCHEMA

__all__ = ["survival_section", "interim_payment_section", "SURVIVAL_TITLE", "INTERIM_TITLE"]

SURVIVAL_TITLE = "Time to the outcome: with and without the programme"
INTERIM_TITLE = "Interim payment: outcomes expected by the end of the window"


_KINDS = {"survival": ("survival", "survival"), "interim": ("interim_payment", "interim_payment")}


def _given(inputs: ReportInputs, part: str, cls: str, func: str, title: str,
           missing: str) -> tuple[Any, Section | None]:
    """Return the part's results, or the not-available section saying how to give it."""
    kind, sid = _KINDS[part]
    res = _common.results_part(inputs, part, kind, f"the {cls} of pbr_eval.{func}(...)")
    if res is None:
        return None, _common.not_available(sid, title, f"{missing}: pass {part}= with the "
                                           f"results of {func}")
    return res, None


def _number(x: float) -> Value:
    return Value(int(x), "integer") if float(x).is_integer() else Value(x, "number")


@section("survival", title=SURVIVAL_TITLE, order=26, reports=("pilot",), needs=("survival",),
         sheet="Time to the outcome", optional=True)
def survival_section(inputs: ReportInputs) -> Section:
    """Build the section: the outcome by the window, the mean time free of it and the mean time to it, observed and without the programme, with intervals; the JDL-style sentences; the adjusted curves with bands.

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
    res, absent = _given(inputs, "survival", "SurvivalResults", "estimate_survival",
                         SURVIVAL_TITLE, "no time-to-event results were given")
    if absent is not None:
        return absent
    schema = SURVIVAL_FRAME_SCHEMA
    table = Table("survival_estimates", "Time to the outcome", schema,
                  _common.frame_rows(res.to_frame(level=inputs.level), schema.names),
                  display=tuple(c for c in schema.names
                                if c not in ("outcome_type", "non_intervention_se",
                                             "std_error")))
    rows = table.rows

    def val(i: int, column: str, kind: str) -> Value:
        return Value(rows[i].get(column), kind, cell=Cell(table.name, i, column))

    def measure(i: int, level: str, difference: str) -> dict[str, Value]:
        """Return row ``i``'s typed values: observed, without, difference, interval."""
        return {"obs": val(i, "observed", level), "without": val(i, "non_intervention", level),
                "eff": val(i, "effect", difference), "pct": _common.pct(inputs.level),
                "lo": val(i, "ci_lower", difference), "hi": val(i, "ci_upper", difference),
                "unit": Value(res.unit, "text")}

    paras: list[str | Paragraph] = [Paragraph(
        "Within {window} {unit} of the start of follow-up, {obs} of the {n} people in the "
        "programme had the outcome, against an estimated {without} had they not taken part "
        "(difference {eff}, {pct}% CI {lo} to {hi}).",
        window=_number(res.window), n=val(0, "n_treated", "count"),
        **measure(0, "probability", "rate_difference")),
        Paragraph(
        "Over the first {horizon} {unit}, people in the programme spent on average {obs} {unit} "
        "free of the outcome, against an estimated {without} without it (difference {eff}, "
        "{pct}% CI {lo} to {hi}).",
        horizon=_number(res.horizon), **measure(1, "mean", "mean_difference"))]
    if len(rows) > 2 and rows[2].get("observed") is not None and rows[2].get(
            "non_intervention") is not None:
        paras.append(Paragraph(
            "Of those who had the outcome within {window} {unit}, people in the programme had it "
            "on average {obs} {unit} after the start of follow-up, against an estimated "
            "{without} without the programme (difference {eff}, {pct}% CI {lo} to {hi}).",
            window=_number(res.window), **measure(2, "mean", "mean_difference")))
    paras.append(
        "People followed for less than the window without the outcome count for the time they "
        "were followed (Kaplan-Meier); without the programme is estimated from the comparison "
        "group, weighted or matched to resemble the participants.")
    fig = _common.figure(res, "incidence", inputs, "Share who have had the outcome, over time",
                 "Share of the programme's participants who have had the outcome by each time "
                 "since the start of follow-up, observed and estimated without the programme, "
                 "with intervals; points where few people were still followed are left out.")
    notes = tuple(_common.free_text(str(n)) for n in res.info.get("notes") or ())
    notes += (_common.free_text(f"Standard errors: {res.info.get('se_method', '')}."),)
    return Section("survival", SURVIVAL_TITLE, paragraphs=tuple(paras), tables=(table,),
                   figures=(fig,) if fig is not None else (), notes=notes)


_STATUS_SCHEMA = Schema(tuple(c for c in INTERIM_SCHEMA if c.name in (
    "n_participants", "outcomes_so_far", "followed_free", "completed_free")))
_EXPECTED_COLUMNS = ("expected", "expected_lower", "expected_upper", "expected_no_further_effect",
                     "non_intervention_expected", "non_intervention_lower",
                     "non_intervention_upper", "payable", "payable_lower", "payable_upper",
                     "price", "payment_on_account", "payment_expected", "payment_upper")
_EXPECTED_SCHEMA = Schema(tuple(c for c in INTERIM_SCHEMA if c.name in _EXPECTED_COLUMNS))


@section("interim_payment", title=INTERIM_TITLE, order=27, reports=("pilot", "tariff"),
         needs=("interim",), sheet="Interim payment", optional=True)
def interim_payment_section(inputs: ReportInputs) -> Section:
    """Build the section: where a cohort still in follow-up stands, the outcomes expected by the end of the window with their band, and the payment on account.

    Parameters
    ----------
    inputs : ReportInputs
        Holding the part ``interim``: what :func:`pbr_eval.interim_payment`
        returned (an :class:`~pbr_eval.results.survival.InterimPaymentResults`).

    Returns
    -------
    Section
        With two tables (the expected counts and payments; the cohort's
        status); not available without ``interim``, and then left out.

    Examples
    --------
    >>> from pbr_eval import Cohort, estimate, estimate_survival, interim_payment
    >>> from pbr_eval.datasets import simulate_reoffending_interim
    >>> from pbr_eval.reporting.build import report_inputs
    >>> cut = simulate_reoffending_interim(n_treated=120, n_comparison=800, seed=4)
    >>> at_cut = Cohort(cut.data, **cut.cohort_args)
    >>> part = interim_payment(estimate_survival(at_cut), at_cut, price=900)
    >>> sec = interim_payment_section(report_inputs(estimate(at_cut), interim=part))
    >>> [t.name for t in sec.tables]
    ['interim_expected', 'interim_status']
    """
    res, absent = _given(inputs, "interim", "InterimPaymentResults", "interim_payment",
                         INTERIM_TITLE, "no interim payment was given")
    if absent is not None:
        return absent
    row = dict(res.row)
    status = Table("interim_status", "Interim: where the cohort is", _STATUS_SCHEMA,
                   ({c: row[c] for c in _STATUS_SCHEMA.names},),
                   totals=(("n_participants", ("outcomes_so_far", "followed_free",
                                               "completed_free")),))
    priced = row["price"] == row["price"]  # not NaN: a price was given
    shown = tuple(c for c in _EXPECTED_COLUMNS if priced or c not in (
        "price", "payment_on_account", "payment_expected", "payment_upper"))
    expected = Table("interim_expected", "Expected by the end of the window", _EXPECTED_SCHEMA,
                     ({c: row[c] for c in _EXPECTED_COLUMNS},), display=shown)

    def cell(table: Table, column: str, kind: str) -> Value:
        return Value(row[column], kind, cell=Cell(table.name, 0, column))

    paras: list[str | Paragraph] = [Paragraph(
        "Of the {n} people in the programme, {seen} have had the outcome within {window} {unit} "
        "so far, {followed} are still in follow-up without it and {done} were followed for the "
        "whole window without it.",
        n=cell(status, "n_participants", "count"), seen=cell(status, "outcomes_so_far", "count"),
        window=_number(row["window"]), unit=Value(str(row["unit"]), "text"),
        followed=cell(status, "followed_free", "count"),
        done=cell(status, "completed_free", "count")),
        Paragraph(
        "By the end of the window, {e} are expected to have had the outcome ({pct}% prediction "
        "band {lo} to {hi}); {e0} would be expected without the programme.",
        e=cell(expected, "expected", "planned_count"), pct=_common.pct(res.level),
        lo=cell(expected, "expected_lower", "planned_count"),
        hi=cell(expected, "expected_upper", "planned_count"),
        e0=cell(expected, "non_intervention_expected", "planned_count"))]
    if priced:
        paras.append(Paragraph(
            "Paying {price} for " + PAY_FOR_WORDS[str(row["pay_for"])] + ", the payment at "
            "reconciliation is expected to be {pay} (band {lo} to {hi}); paying {lo} on account "
            "now leaves a top-up at reconciliation in all but about {tail} of cases.",
            tail=Value((1 - res.level) / 2, "probability"),
            price=cell(expected, "price", "money"), pay=cell(expected, "payment_expected", "money"),
            lo=cell(expected, "payment_on_account", "money"),
            hi=cell(expected, "payment_upper", "money")))
    paras.append("Each person still in follow-up counts with their probability of the outcome by "
                 "the end of the window given none so far, read from the programme's curve. The "
                 "band adds the chance of who among them has the outcome to the uncertainty of "
                 "the estimated curve.")
    notes = tuple(_common.free_text(str(n)) for n in res.info.get("notes") or ())
    return Section("interim_payment", INTERIM_TITLE, paragraphs=tuple(paras),
                   tables=(expected, status), notes=notes)
