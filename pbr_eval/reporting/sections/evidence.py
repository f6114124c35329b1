"""Sections about the evidence: warnings, headline, estimates, balance, overlap, hidden bias, methods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pbr_eval.disclosure import MARKER, is_hidden
from pbr_eval.glossary import method_words, names_text, option_value, options_text
from pbr_eval.kinds import Column, Schema, finite_number
from pbr_eval.reporting import model as rm
from pbr_eval.reporting.model import Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._bridge import schema_of
from pbr_eval.reporting.sections._common import (
    estimate_value,
    figure,
    frame_rows,
    free_text,
    method_caveat,
    method_name,
    method_phrase,
    not_available,
    outcome_index,
    pct,
    plain,
    published_estimates,
    results_dict,
)
from pbr_eval.reporting.sections._dropped import left_out_sentence, rows_left_out

__all__ = ["PLAIN_NI", "PLAIN_CI", "outcome_sentences"]

PLAIN_NI = (
    "The non-intervention rate is our best estimate of how often the outcome would have "
    "happened to these same people if the programme had not existed. It is estimated from a "
    "comparison group of similar people who were not in the programme. The difference between "
    "what happened and the non-intervention rate is what the programme added; outcomes that "
    "would have happened anyway (\"deadweight\") should not be paid for."
)
PLAIN_CI = (
    "The range in brackets (the {pct}% confidence interval) shows how precise the estimate is: "
    "had we been able to repeat the comparison many times with different people, ranges "
    "built this way would contain the true value {pct} times in a hundred. A wide range means "
    "the data cannot pin the rate down; if the range for the difference includes zero, the "
    "data are consistent with the programme having made no difference."
)


# ------------------------------------------------------------------ warnings
@section("warnings", title="Warning", order=0, optional=True)
def warnings_section(inputs: ReportInputs) -> Section:
    """Return the estimator's declared caveat (e.g. a historical baseline), as a warning box."""
    rdict = results_dict(inputs)
    caveats = method_caveat(method_name(rdict), rdict.get("info") or {})
    if not caveats:
        return not_available("warnings", "Warning", "the method carries no caveat")
    return Section("warnings", "Warning", paragraphs=tuple(free_text(c) for c in caveats),
                   role="warning")


# ------------------------------------------------------------------ headline
def outcome_sentences(inputs: ReportInputs) -> list[str | Paragraph]:
    """One Justice Data Lab style sentence per outcome, numbers from the estimates table."""
    table, withheld = published_estimates(inputs)
    who = method_phrase(method_name(results_dict(inputs)))
    out: list[str | Paragraph] = []
    for i, row in enumerate(table.rows):
        name = Value(row["outcome"], "text")
        if row["outcome"] in withheld:
            out.append(Paragraph("Results for '{outcome}' are not published for this cohort "
                                 "(disclosure control: see the notes under the estimates).",
                                 outcome=name))
            continue

        def v(col: str, i: int = i, row: Any = row) -> Value:
            return estimate_value(inputs, i, col, row)

        common = dict(outcome=name, n=v("n_treated"), obs=v("observed"),
                      ni=v("non_intervention"), lo=v("non_intervention_ci_lower"),
                      hi=v("non_intervention_ci_upper"), pct=pct(inputs.level),
                      who=Value(who, "text"))
        ci = " ({pct}% CI {lo} to {hi})"
        if any(finite_number(row.get(k)) is None for k in ("non_intervention_ci_lower",
                                                           "non_intervention_ci_upper")):
            ci = ""  # no interval (e.g. no variation): said below, the reason under Methods
            for k in ("lo", "hi", "pct"):
                common.pop(k)
        if row.get("outcome_type") == "binary":
            text = ("{obs} of the {n} people in the programme had the outcome '{outcome}', "
                    "against {ni}" + ci + " of {who}.")
        else:
            text = ("The {n} people in the programme had on average {obs} '{outcome}' each, "
                    "against {ni}" + ci + " estimated for {who}.")
        lo, hi = finite_number(row.get("ci_lower")), finite_number(row.get("ci_upper"))
        if lo is not None and hi is not None and (lo > 0 or hi < 0):
            direction = "higher" if lo > 0 else "lower"
            text += (" The difference ({elo} to {ehi}) is statistically significant: the "
                     f"programme's {'rate' if row.get('outcome_type') == 'binary' else 'mean'}"
                     f" is {direction}.")
            common.update(elo=v("ci_lower"), ehi=v("ci_upper"))
        elif lo is not None and hi is not None:
            text += (" The difference is not statistically significant: the data are "
                     "consistent with the programme making no difference")
            if finite_number(row.get("p_value")) is not None:
                text += " (p = {p})."
                common["p"] = v("p_value")
            else:
                text += "."
        else:
            text += (" The uncertainty of these figures cannot be computed (no interval, no "
                     "p-value); the reason is under Methods and limitations." if not ci else
                     " The difference's interval cannot be computed for these results.")
        out.append(Paragraph(text, **common))
    return out


@section("headline", title="Headline", order=1, needs=("pricing",))
def headline_section(inputs: ReportInputs) -> Section:
    """Return the headline: the outcome sentences (the tariff report leads with the prices)."""
    paras = outcome_sentences(inputs)
    left = left_out_sentence((results_dict(inputs).get("info") or {}).get("dropped") or [])
    if left is not None:
        paras.append(left)
    if inputs.kind == "tariff":
        from pbr_eval.reporting.sections.pricing import price_advice_sentences, price_sentences

        prices = price_sentences(inputs)
        if prices:  # the prices, the engine's advice, then the evidence
            paras = [*prices, *price_advice_sentences(inputs), *paras[:1],
                     *([left] if left is not None else [])]
    return Section("headline", "Headline", paragraphs=tuple(paras), role="headline")


# --------------------------------------------------------------- explanation
@section("explain", title="What the figures mean", order=10, reports=("pilot",))
def explain_section(inputs: ReportInputs) -> Section:
    """Return the non-intervention rate and the interval in plain words."""
    return Section("explain", "What the figures mean",
                   paragraphs=(PLAIN_NI, Paragraph(PLAIN_CI, pct=pct(inputs.level))))


# ----------------------------------------------------------------- estimates
@section("estimates", title="Estimates", order={"pilot": 20, "tariff": 60}, sheet="Estimates")
def estimates_section(inputs: ReportInputs) -> Section:
    """Programme rate, non-intervention rate and difference for every outcome."""
    table, withheld = published_estimates(inputs)
    notes: list[str | Paragraph] = []
    for name, why in withheld.items():
        notes.append(Paragraph(
            "Results for '{outcome}' are withheld: fewer than {mc} people in the programme "
            "contributed (minimum cohort size).", outcome=Value(name, "text"),
            mc=Value(inputs.policy.min_cohort, "integer")) if why == "cohort" else Paragraph(
            "Some rates for '{outcome}' are withheld because they would reveal a count below "
            "{thr}.", outcome=Value(name, "text"), thr=Value(inputs.policy.threshold, "integer")))
    explain = ("Programme: the outcome rate (or mean) of the people in the programme. "
               "Non-intervention: the estimated rate without the programme. Difference: "
               "programme minus non-intervention. Unadjusted pool: the rate of the whole "
               "comparison pool before any matching or weighting, for contrast.")
    if inputs.kind == "tariff":
        return Section("estimates", "The evidence behind the prices",
                       paragraphs=(*outcome_sentences(inputs), PLAIN_NI),
                       tables=(table,), notes=tuple(notes))
    return Section("estimates", "Estimates", paragraphs=(explain,), tables=(table,),
                   notes=tuple(notes))


# ------------------------------------------------------------------- balance
def _balance_schema(n: Mapping[str, Any]) -> Schema:
    cols = [Column("covariate", "text", "Covariate")]
    for when, label in (("before", "before"), ("after", "after")):
        t, c = f"mean_treated_{when}", f"mean_comparison_{when}"
        cols += [
            Column(t, "outcome", f"Programme ({label})", by="_type",
                   denominator=n[f"t_{when}"]),
            Column(c, "outcome", f"Comparison ({label})", by="_type",
                   denominator=n[f"c_{when}"]),
            Column(f"smd_{when}", "number", f"SMD {label}", derived_from=(t, c)),
        ]
    cols.append(Column("var_ratio_after", "ratio", "Variance ratio after",
                       derived_from=("mean_treated_after", "mean_comparison_after")))
    return Schema(tuple(cols))


@section("balance", title="Balance: how alike the two groups are",
         order={"pilot": 30, "tariff": 70}, sheet="Balance")
def balance_section(inputs: ReportInputs) -> Section:
    """Covariate balance before and after adjustment, with a Love plot."""
    title = "Balance: how alike the two groups are"
    rdict = results_dict(inputs)
    rows = rdict.get("balance")
    if not rows:
        return not_available("balance", title, "these results carry no balance table")
    bal_obj = getattr(inputs.results, "balance", None)
    binary_names = set(getattr(bal_obj, "binary", set()) or set())
    cohort = (rdict.get("info") or {}).get("cohort") or {}
    est = [r for r in rdict.get("estimates") or []]
    n = {"t_before": finite_number(cohort.get("n_treated")),
         "c_before": finite_number(cohort.get("n_comparison")),
         "t_after": finite_number(est[0].get("n_treated")) if est else None,
         "c_after": finite_number(est[0].get("n_comparison")) if est else None}
    schema = _balance_schema(n)
    policy = inputs.policy
    out = []
    for r in rows:
        name = str(r.get("covariate", r.get("index", "")))
        means = [r.get(f"mean_{g}_{w}") for g in ("treated", "comparison")
                 for w in ("before", "after")]
        is_bin = name in binary_names or (not binary_names and all(
            (x := finite_number(m)) is not None and 0 <= x <= 1 for m in means))
        row = {c.name: plain(r.get(c.name)) for c in schema}
        row["covariate"] = name
        row["_type"] = "binary" if is_bin else "continuous"
        out.append(row)
    table = Table("balance", "Covariate balance", schema, tuple(out))
    # rows whose means are withheld (their SMDs go with them, in the table and the Love plot)
    hidden_rows = set()
    for i, row in enumerate(out):
        for when in ("before", "after"):
            for g, key in (("treated", f"t_{when}"), ("comparison", f"c_{when}")):
                kind = "rate" if row["_type"] == "binary" else "mean"
                if is_hidden(policy.value(row[f"mean_{g}_{when}"], kind, denominator=n[key]
                                          if n[key] is not None else MARKER)):
                    hidden_rows.add(i)
    love = figure(inputs.results, "love", inputs, "Love plot: standardised mean differences",
                  "Absolute standardised mean difference of each covariate before and after "
                  "adjustment; points left of the dashed line are balanced.")
    thr = finite_number(getattr(bal_obj, "threshold", None)) or finite_number(
        (love.data if love else {}).get("threshold")) or 0.1
    imb = list(getattr(bal_obj, "imbalanced", []) or [])
    paras: list[str | Paragraph] = [Paragraph(
        "A standardised mean difference (SMD) below {thr} in absolute value is usually taken "
        "as good balance: the comparison group then resembles the programme group on that "
        "characteristic.", thr=Value(thr, "number"))]
    paras.append(Paragraph("Still imbalanced after adjustment: {names}.",
                           names=Value(", ".join(imb), "text")) if imb else
                 Paragraph("After adjustment every covariate is within {thr}.",
                           thr=Value(thr, "number")))
    notes: list[str | Paragraph] = []
    k = len(hidden_rows)
    if k:
        notes.append(Paragraph("Balance figures for {k} categories are withheld because they "
                               "would reveal counts below {thr}.", k=Value(k, "integer"),
                               thr=Value(policy.threshold, "integer")))
    return Section("balance", title, paragraphs=tuple(paras), tables=(table,),
                   figures=(love,) if love else (), notes=tuple(notes))


# ------------------------------------------------------------------- overlap
@section("overlap", title="Overlap: are there comparable people?", order=40,
         reports=("pilot",))
def overlap_section(inputs: ReportInputs) -> Section:
    """Return the propensity-score overlap plot (small bands left blank)."""
    title = "Overlap: are there comparable people?"
    fig = figure(inputs.results, "overlap", inputs, "Overlap of propensity scores",
                 "Share of programme and comparison people in each propensity-score band; "
                 "bands holding fewer than the disclosure threshold are left blank.")
    if fig is None:
        return not_available("overlap", title, "the propensity scores are not in these results "
                             "(a saved results file carries aggregates only, or the method does "
                             "not use a propensity score)")
    n_hidden = int(fig.data.get("suppressed_bins") or 0)
    paras: list[str | Paragraph] = [
        "Each person's propensity score is their estimated chance of joining the programme "
        "given their characteristics. The comparison is only trustworthy where both groups "
        "have people with similar scores."]
    if n_hidden:
        paras.append(Paragraph("{k} bands with fewer than {thr} people are left blank "
                               "(disclosure control).", k=Value(n_hidden, "integer"),
                               thr=Value(inputs.policy.threshold, "integer")))
    return Section("overlap", title, paragraphs=tuple(paras), figures=(fig,))


# ---------------------------------------------------------------- hidden bias
def _sensitivity_items(inputs: ReportInputs) -> list[tuple[str, Any]]:
    obj = inputs.get("sensitivity")
    if obj is None:
        obj = getattr(inputs.results, "sensitivity", None)
    if isinstance(obj, Mapping) and obj:
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(f"Sensitivity analysis {chr(ord('A') + i)}", v) for i, v in enumerate(obj)]
    return [] if obj is None else [("Sensitivity analysis", obj)]


def _rosenbaum_sentences(obj: Any, names: Mapping[str, int]) -> list[Paragraph]:
    crit = getattr(obj, "critical", None)
    level = finite_number(getattr(obj, "level", None))
    if not isinstance(crit, pd.DataFrame) or level is None or "gamma_critical" not in crit:
        return []
    out = []
    for _, r in crit.iterrows():
        g = finite_number(r["gamma_critical"])
        name = Value(str(r["outcome"]), "text")
        if g is not None and g <= 1.0:
            out.append(Paragraph("{outcome}: not significant at {pct}% even with no hidden "
                                 "bias.", outcome=name, pct=pct(level)))
        else:
            out.append(Paragraph(
                "{outcome}: the effect stays significant unless an unmeasured factor makes one "
                "member of a matched pair up to {g} times as likely (in odds) to join the "
                "programme as the other.", outcome=name,
                g=Value(g if g is not None else "more than a million", "ratio"
                        if g is not None else "text")))
    return out


_REPEATED = ("observed", "non_intervention")


@section("sensitivity", title="Sensitivity to hidden bias", order={"pilot": 50, "tariff": 80},
         needs=("sensitivity",), sheet="Hidden-bias sensitivity")
def sensitivity_section(inputs: ReportInputs) -> Section:
    """Rosenbaum bounds, E-values, the tipping point: how strong hidden bias would have to be."""
    title = "Sensitivity to hidden bias"
    items = _sensitivity_items(inputs)
    est = outcome_index(inputs)
    tables: list[Table] = []
    paras: list[str | Paragraph] = ["How strong an unmeasured difference between the groups "
                                    "would have to be to change the conclusion."]
    notes: list[str | Paragraph] = []
    links: list[rm.Link] = []
    for label, obj in items:
        frame = obj if isinstance(obj, pd.DataFrame) else _to_frame(obj)
        if frame is None or not len(frame):
            continue
        schema = schema_of(obj, frame)
        if schema is None:
            notes.append(Paragraph("'{label}' is left out: its columns have no declared kinds.",
                                   label=Value(label, "text")))
            continue
        name = "sensitivity" if not tables else f"sensitivity_{chr(ord('a') + len(tables))}"
        rows = frame_rows(frame, schema.names)
        tables.append(Table(name, label, schema, rows,
                            display=tuple(c for c in schema.names if c != "outcome_type")))
        # the rates of an outcome (kind "outcome") repeat the estimates: hidden wherever the
        # estimates hide them, and every other figure of the row is computed from them
        rates = [c.name for c in schema if c.kind == "outcome"]
        others = [c.name for c in schema if c.kind not in ("text", "outcome", "count")]
        for i, r in enumerate(rows):
            j = est.get(str(r.get("outcome")))
            if j is None:
                continue
            links += [rm.Link(rm.Cell("estimates", j, src), rm.Cell(name, i, c))
                      for c in rates for src in _REPEATED]
            links += [rm.Link(rm.Cell(name, i, src), rm.Cell(name, i, c))
                      for c in others for src in rates]
        paras += _rosenbaum_sentences(obj, est)
    if not tables:
        return not_available("sensitivity", title,
                             "no sensitivity analysis was run for these results")
    return Section("sensitivity", title, paragraphs=tuple(paras), tables=tuple(tables),
                   notes=tuple(notes), links=tuple(links))


def _to_frame(obj: Any) -> pd.DataFrame | None:
    to_frame = getattr(obj, "to_frame", None)
    if not callable(to_frame):
        return None
    try:
        f = to_frame()
    except Exception:  # a to_frame that needs arguments, or fails: not the report's to fix
        return None
    return f if isinstance(f, pd.DataFrame) else None


# ------------------------------------------------------------------- methods
@section("methods", title="Methods and limitations", order=100)
def methods_section(inputs: ReportInputs) -> Section:
    """Return method, covariates, standard errors, options, rows left out, notes, limitations."""
    rdict = results_dict(inputs)
    info = rdict.get("info") or {}
    method = method_name(rdict)
    cohort = info.get("cohort") or {}
    paras: list[str | Paragraph] = list(free_text(c) for c in method_caveat(method, info))
    estimand = rdict.get("estimand", info.get("estimand"))
    paras.append(Paragraph(
        "Method: {method}; estimand: {estimand}; the comparison is {who}.",
        method=Value(method_words(method), "text"),
        estimand=Value(option_value(estimand) if estimand else "not recorded", "text"),
        who=Value(method_phrase(method), "text")))
    paras.append(Paragraph("Covariates used: {cov}.", cov=Value(
        names_text(cohort.get("covariates") or []), "text")))
    se = info.get("se") or info.get("se_method")
    if se:
        paras.append(Paragraph("Standard errors: {se}.", se=Value(option_value(str(se),
                                                                               name="se"),
                                                                  "text")))
    opts = info.get("options") or {}
    if opts:  # in words; the option names themselves are in the provenance's data block
        paras.append(Paragraph("Method settings: {opts}.", opts=Value(options_text(opts),
                                                                      "text")))
    left = rows_left_out(info.get("dropped") or [])
    if left is not None:
        paras += left.sentences
    for note in info.get("notes") or []:
        p = free_text(f"Note: {note}")
        paras.append(p)
    paras.append("Limitations: the comparison can only adjust for characteristics that were "
                 "recorded; a difference in something unrecorded (motivation, family support) "
                 "would bias the non-intervention rate. The sensitivity section shows how "
                 "strong such a difference would need to be.")
    paras.append(free_text(inputs.policy.describe(), kind="integer"))
    return Section("methods", "Methods and limitations", paragraphs=tuple(paras),
                   tables=left.tables if left is not None else (),
                   relations=left.relations if left is not None else ())


__all__ += ["warnings_section", "headline_section", "explain_section", "estimates_section",
            "balance_section", "overlap_section", "sensitivity_section", "methods_section"]


