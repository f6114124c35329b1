"""The "Missing covariates" section: estimates pooled over multiple imputations (Rubin's rules)."""

from __future__ import annotations

from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema
from pbr_eval.reporting.model import Cell, Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._common import (
    frame_rows,
    free_text,
    not_available,
    pct,
    results_object,
)
from pbr_eval.results.imputation import IMPUTED_COUNTS_SCHEMA, ImputedResults

__all__ = ["imputation_section", "IMPUTATION_TITLE"]

IMPUTATION_TITLE = "Missing covariates: multiple imputation"

#: Each imputation's balance after adjustment (one row per imputation).
_BALANCE_SCHEMA = Schema((
    Column("imputation", "integer", "Imputation"),
    Column("max_abs_smd_after", "number", "Largest standardised difference after adjustment"),
    Column("n_imbalanced_after", "integer", "Covariates above the balance threshold"),
))


def _imputation(inputs: ReportInputs) -> ImputedResults | None:
    """Return the report's :class:`~pbr_eval.results.imputation.ImputedResults`, or None."""
    given = inputs.get("imputation")
    if given is None:
        return None
    obj: Any = results_object(given)
    if getattr(obj, "kind", None) != "imputation":
        raise OptionError(
            "`imputation` must be the ImputedResults of pbr_eval.impute(...).estimate(...) or "
            f"its to_dict(); got {type(given).__name__}.")
    return obj


@section("imputation", title=IMPUTATION_TITLE, order=27, reports=("pilot", "tariff"),
         needs=("imputation",), sheet="Multiple imputation", optional=True)
def imputation_section(inputs: ReportInputs) -> Section:
    """Build the section: the pooled estimates with the fraction of missing information, the values imputed by covariate and group, and the balance in each imputation.

    Parameters
    ----------
    inputs : ReportInputs
        The report's inputs; the part ``imputation`` is the
        :class:`~pbr_eval.results.imputation.ImputedResults`.

    Returns
    -------
    Section
        Not available (and left out: the section is optional) without ``imputation``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.reporting.build import report_inputs
    >>> sim = load_reoffending()
    >>> gaps = pbr_eval.add_missing(sim.data, ["prior_offences"], share=0.1, seed=3)
    >>> pooled = pbr_eval.impute(gaps, m=2, seed=4, iterations=2,
    ...                          **sim.cohort_args).estimate(method="ipw")
    >>> cc = pbr_eval.estimate(pbr_eval.Cohort(gaps, missing="drop", **sim.cohort_args))
    >>> sec = imputation_section(report_inputs(cc, imputation=pooled))
    >>> [t.name for t in sec.tables]
    ['imputation_pooled', 'imputation_counts', 'imputation_balance']
    """
    res = _imputation(inputs)
    if res is None:
        return not_available("imputation", IMPUTATION_TITLE,
                             "no multiple imputation results were given: pass imputation= with "
                             "the results of pbr_eval.impute(...).estimate(...)")
    schema = res.schema
    shown = ("outcome", "observed", "non_intervention", "non_intervention_ci_lower",
             "non_intervention_ci_upper", "non_intervention_fmi", "effect", "ci_lower",
             "ci_upper", "fmi", "p_value")
    pooled = Table("imputation_pooled", "Estimates pooled over the imputations", schema,
                   frame_rows(res.to_frame(), schema.names), display=shown)
    counts = Table("imputation_counts", "Values imputed, by covariate and group",
                   IMPUTED_COUNTS_SCHEMA,
                   frame_rows(res.imputed_counts(), IMPUTED_COUNTS_SCHEMA.names),
                   display=tuple(c for c in IMPUTED_COUNTS_SCHEMA.names if c != "n_rows"),
                   totals=(("n_imputed", ("n_imputed_treated", "n_imputed_comparison")),))
    per = res.per_imputation().drop_duplicates("imputation")
    balance = Table("imputation_balance", "Balance after adjustment in each imputation",
                    _BALANCE_SCHEMA, frame_rows(per, _BALANCE_SCHEMA.names))
    rows = pooled.rows
    rate = "rate" if rows and rows[0].get("outcome_type") == "binary" else "mean"

    def val(column: str, kind: str) -> Value:
        return Value(rows[0].get(column), kind, cell=Cell(pooled.name, 0, column))

    paras: list[str | Paragraph] = [
        Paragraph(
            "Some covariate values were missing. Each gap was filled {m} times with values "
            "drawn from what the other columns (including the treatment and the outcomes) "
            "predict, the estimate was made in each completed cohort, and the estimates were "
            "combined by Rubin's rules.", m=Value(res.m, "integer")),
        Paragraph(
            "Combined, the estimate without the programme is {without} ({pct}% CI {lo} to "
            "{hi}); the fraction of missing information, the share of its uncertainty due to "
            "the gaps, is {fmi}.",
            without=val("non_intervention", rate), pct=pct(res.level),
            lo=val("non_intervention_ci_lower", rate),
            hi=val("non_intervention_ci_upper", rate),
            fmi=val("non_intervention_fmi", "probability")),
        "The intervals use the Barnard-Rubin degrees of freedom; a large fraction of missing "
        "information means the gaps, not the sample size, limit what the data can say."]
    # the engine's settings are numbers of donors and iterations, not counts of people
    notes: tuple[str | Paragraph, ...] = (
        free_text(f"Imputation: {res.info.get('engine', '')}.", kind="integer"),
        free_text(f"Estimator in each imputation: {res.info.get('method', '')}."))
    notes += tuple(free_text(str(n)) for n in res.info.get("notes") or ())
    return Section("imputation", IMPUTATION_TITLE, paragraphs=tuple(paras),
                   tables=(pooled, counts, balance), notes=notes)
