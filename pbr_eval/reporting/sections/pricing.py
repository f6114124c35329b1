"""Sections about prices: recommendation, tariff, payment simulation, cash flow, sensitivity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import PbrEvalError
from pbr_eval.kinds import Column, Schema, finite_number, resolve_kind
from pbr_eval.reporting import model as rm
from pbr_eval.reporting.model import Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._bridge import schema_of
from pbr_eval.reporting.sections._common import (
    figure,
    frame_rows,
    free_text,
    not_available,
    outcome_index,
    pct,
    results_object,
    with_text,
)

__all__ = ["price_advice_sentences", "price_sentences", "prices_section", "tariff_section", "simulation_section",
           "cashflow_section", "price_sensitivity_section", "contract_payments_section",
           "PRICE_DISPLAY"]

#: Columns of the price table shown in HTML / Markdown (the workbook shows all).
PRICE_DISPLAY = ("paid_outcome", "value_per_outcome", "expected_rate", "non_intervention",
                 "non_intervention_ci_lower", "non_intervention_ci_upper", "deadweight_share",
                 "floor", "ceiling", "recommended", "band_lower", "band_upper")

_ORDER = {"pilot": 60, "tariff": 10}


def _order(k: float) -> dict[str, float]:
    return {kind: v + k for kind, v in _ORDER.items()}


def _absent(inputs: ReportInputs, part: str) -> str:
    if inputs.get("pricing") is None and not any(
            inputs.get(p) is not None for p in ("tariff", "simulation", "cashflow",
                                                "price_sensitivity")):
        return "no pricing inputs were given (pricing=...)"
    return f"the pricing engine's {part} was not given"


# -------------------------------------------------------------------- prices
def _price_frame(rec: Any) -> pd.DataFrame | None:
    to_frame = getattr(rec, "to_frame", None)
    if callable(to_frame):
        try:
            f = to_frame()
        except Exception:  # a to_frame that needs arguments, or fails: not a price table
            return None
        return f if isinstance(f, pd.DataFrame) else None
    return None


def _price_table(inputs: ReportInputs) -> tuple[Table | None, tuple[rm.Link, ...], Any]:
    rec = results_object(inputs.get("pricing"))
    frame = _price_frame(rec)
    if frame is None or not len(frame):
        return None, (), inputs.get("pricing")
    schema = schema_of(rec, frame)
    if schema is None:
        return None, (), rec
    rows = frame_rows(frame, schema.names)
    display = tuple(c for c in PRICE_DISPLAY if c in schema)
    table = Table("prices", "Prices", schema, rows,
                  display=display if len(display) >= 4 else None)
    # the prices' rates repeat the estimates (or their complements): hidden where they are;
    # and every price, share and risk of a row is computed from the row's rates
    est = outcome_index(inputs)
    rates = [c.name for c in schema if resolve_kind(c, {}) in ("rate", "mean")]
    derived = [c.name for c in schema if c.kind in ("money", "probability", "number")]
    links = []
    for i, r in enumerate(rows):
        links += [rm.Link(rm.Cell("prices", i, src), rm.Cell("prices", i, c))
                  for c in derived for src in rates]
        j = est.get(str(r.get("outcome")))
        if j is not None:
            links += [rm.Link(rm.Cell("estimates", j, src), rm.Cell("prices", i, dst))
                      for src in ("observed", "non_intervention") for dst in rates]
    return table, tuple(links), rec


def price_advice_sentences(inputs: ReportInputs) -> list[str]:
    """Return the pricing engine's advice for each priced outcome (pilot longer, pay mainly through attachment fees, change the contract), from :func:`pbr_eval.pricing.advice.price_advice`; plain sentences with no number from the data."""
    from pbr_eval.pricing.advice import price_advice

    table, _, _ = _price_table(inputs)
    out: list[str] = []
    for row in (table.rows if table is not None else ()):
        out += [a for a in price_advice(row) if a not in out]
    return out


def price_sentences(inputs: ReportInputs) -> list[Paragraph]:
    """One sentence per priced outcome (recommended price, band, deadweight, verdict)."""
    table, _, _ = _price_table(inputs)
    if table is None or not {"recommended", "band_lower", "band_upper"} <= set(table.schema.names):
        return []
    out = []
    for i, r in enumerate(table.rows):
        def v(col: str, kind: str = "money", i: int = i, r: Any = r) -> Value:
            return Value(r.get(col), kind, cell=rm.Cell("prices", i, col))

        name = r.get("paid_outcome", r.get("outcome"))
        text = "Recommended price per '{paid}': {rec} (band {lo} to {hi})"
        vals = dict(paid=Value(str(name), "text"), rec=v("recommended"), lo=v("band_lower"),
                    hi=v("band_upper"))
        if "deadweight_share" in table.schema:
            text += "; {dw} of the outcomes paid for would have happened anyway."
            vals["dw"] = v("deadweight_share", "probability")
        else:
            text += "."
        verdict = r.get("verdict")
        words = verdict if isinstance(verdict, str) else ""
        out.append(with_text(text + (" {text}" if words else ""), words, **vals))
    return out


@section("prices", title="Recommended prices and bands", order=_order(0), needs=("pricing",),
         sheet="Prices", optional=("pilot",))
def prices_section(inputs: ReportInputs) -> Section:
    """Recommended price per outcome with its band, and the price curve."""
    title = "Recommended prices and bands"
    table, links, rec = _price_table(inputs)
    if table is None:
        reason = ("no price recommendation was given (pricing=...)" if rec is None else
                  "the price recommendation has no rows, or its columns have no declared kinds")
        return not_available("prices", title, reason)
    info = rec.get("info") if isinstance(rec, Mapping) else getattr(rec, "info", None)
    info = info if isinstance(info, Mapping) else {}
    level = finite_number(rec.get("level") if isinstance(rec, Mapping)
                          else getattr(rec, "level", None)) or inputs.level
    paras: list[str | Paragraph] = [*price_sentences(inputs), Paragraph(
        "The ceiling is the most worth paying per observed outcome so that, on average, only "
        "the additional outcomes are paid for: the value of an outcome times one minus the "
        "ratio of the non-intervention rate to the expected rate. The band follows the "
        "{pct}% confidence interval of the non-intervention rate.", pct=pct(level))]
    if info.get("rule"):
        paras.append(free_text(f"Pricing rule: {info['rule']}.", kind="integer"))
    from pbr_eval.pricing.advice import RISK_EXPLAINED

    paras.append(RISK_EXPLAINED)  # the two risk figures, explained (no number from the data)
    # the pricing engine's notes speak of prices and rates, not of people: numbers as written
    notes = tuple(free_text(f"Note: {n}", kind="integer") for n in info.get("notes", []) or [])
    curve = figure(rec, "price_curve", inputs, "Price against the non-intervention rate",
                   "Most worth paying per outcome as the non-intervention rate rises, with the "
                   "estimate, its confidence band and the tipping point where the price reaches "
                   "zero (or the provider's floor).")
    if curve is not None:  # one line per priced outcome: drawn only where its rates are shown
        curve = rm.Figure(curve.name, curve.title, curve.alt, curve.data,
                          points=tuple(rm.Cell("prices", i, "non_intervention")
                                       for i in range(len(curve.data.get("lines", [])))),
                          series=("lines",))
    return Section("prices", title, paragraphs=tuple(paras), tables=(table,),
                   figures=(curve,) if curve else (), notes=notes, links=links)


# -------------------------------------------------------------------- tariff
_TARIFF = Schema((Column("mechanism", "text", "Payment"),
                  Column("what", "text", "How it pays"),
                  Column("applies_to", "text", "Outcomes"),
                  Column("amount", "money", "Amount")))


def _tariff_rows(tariff: Any) -> tuple[dict[str, Any], ...] | None:
    mechs = getattr(tariff, "mechanisms", None)
    if not mechs:
        return None
    rows = []
    for m in mechs:
        fields = {k: v for k, v in vars(m).items() if not k.startswith("_")}
        amount = next((fields[k] for k in ("price", "amount", "fee", "total")
                       if isinstance(fields.get(k), (int, float))
                       and not isinstance(fields.get(k), bool)), None)
        doc = (type(m).__doc__ or "").strip().splitlines()
        rows.append({"mechanism": str(fields.get("label", "")).replace("_", " "),
                     "what": doc[0] if doc else "",
                     "applies_to": ", ".join(str(o).replace("_", " ")
                                             for o in getattr(m, "outcomes", ()) or ()),
                     "amount": amount})
    for cap, what in (("per_person_cap", "Most one person can earn"),
                      ("programme_cap", "Most paid in total")):
        v = getattr(tariff, cap, None)
        if v is not None:
            rows.append({"mechanism": cap.replace("_", " "), "what": what, "applies_to": "",
                         "amount": v})
    return tuple(rows)


@section("tariff", title="Tariff and payment mechanisms", order=_order(1), needs=("tariff",),
         sheet="Tariff", optional=("pilot",))
def tariff_section(inputs: ReportInputs) -> Section:
    """Return the tariff's payment mechanisms and caps."""
    title = "Tariff and payment mechanisms"
    tariff = inputs.get("tariff")
    if tariff is None:
        return not_available("tariff", title, _absent(inputs, "tariff"))
    rows = _tariff_rows(tariff)
    if rows is not None:
        return Section("tariff", title, tables=(Table("tariff", title, _TARIFF, rows),))
    frame = tariff if isinstance(tariff, pd.DataFrame) else None
    schema = schema_of(tariff, frame) if frame is not None and len(frame) else None
    if schema is None or frame is None:
        return not_available("tariff", title, "the tariff is not a pbr_eval Tariff, or its "
                             "columns have no declared kinds")
    return Section("tariff", title, tables=(Table("tariff", title, schema,
                                                  frame_rows(frame, schema.names)),))


# ------------------------------------------------------- contract payments
_CONTRACT = Schema((
    Column("paid", "text", "Outcome paid for"),
    Column("cohort_size", "planned_count", "People referred"),
    Column("attachment_fee", "money", "Attachment fee per person"),
    Column("price_paid", "money", "Price per outcome paid"),
    Column("expected_total", "money", "Expected payments for the cohort"),
    Column("budget_95", "money", "Budget covering payments 95 times in 100"),
    Column("trigger_chance", "probability", "Chance the cohort reaches the trigger"),
    Column("deadweight_chance", "probability", "Chance of paying for deadweight at this price"),
    Column("break_even", "money", "Provider's break-even price"),
    Column("peak_working_capital", "money", "Provider's peak working capital"),
    Column("npv", "money", "Provider's net present value"),
))


def _contract_bundle(inputs: ReportInputs) -> dict[str, Any]:
    return {"recommendation": inputs.get("pricing"), "contract": inputs.get("contract"),
            "cashflow": inputs.get("cashflow")}


@section("contract_payments", title="Payments under the contract",
         order={"tariff": _ORDER["tariff"] + 1.5}, needs=("pricing", "contract", "cashflow"))
def contract_payments_section(inputs: ReportInputs) -> Section:
    """Return the contract's payments as the workbook and the what-if page compute them.

    One row per paid outcome from :func:`pbr_eval.reporting.contract.contract_figures`
    (:func:`pbr_eval.pricing.whatif.whatif` on the contract's price paid, attachment
    fee, cap, trigger and minimum performance level), so the three agree to the penny.

    Parameters
    ----------
    inputs : ReportInputs
        Reads the parts ``pricing`` (the recommendation), ``contract`` and ``cashflow``.

    Returns
    -------
    Section
        Not available (with the reason) without a recommendation or a contract.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.reporting.build import report_inputs
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62,
    ...                      cost_per_participant=250)
    >>> saved = {"estimates": [], "info": {}}
    >>> contract_payments_section(report_inputs(saved, kind="tariff", pricing=rec)).reason[:14]
    'no contract wa'
    >>> s = contract_payments_section(report_inputs(saved, kind="tariff", pricing=rec,
    ...                               contract={"cap": 40000.0, "referrals_per_month": 50}))
    >>> s.tables[0].rows[0]["expected_total"] <= 40000.0
    True
    """
    from pbr_eval.reporting.contract import contract_outcomes
    from pbr_eval.reporting.workbook import _recommendation

    title = "Payments under the contract"
    if _recommendation(inputs.get("pricing")) is None:
        return not_available("contract_payments", title, _absent(inputs, "price recommendation"))
    if inputs.get("contract") is None:
        return not_available("contract_payments", title,
                             "no contract was given (the attachment fee, provider cost, "
                             "referrals and lags of pbr_eval.analysis.commissioner_bundle)")
    from pbr_eval.pricing.whatif import minimum_level, whatif

    try:
        terms = contract_outcomes(inputs.results, _contract_bundle(inputs))
        figs = [whatif(o.inputs, o.evidence) for o in terms]
    except PbrEvalError as exc:
        return not_available("contract_payments", title, str(exc).rstrip("."))
    rows = tuple({"paid": o.paid, "cohort_size": o.inputs.cohort_size,
                  **{c.name: getattr(f, c.name) for c in _CONTRACT
                     if c.name not in ("paid", "cohort_size")}}
                 for o, f in zip(terms, figs, strict=True))
    paras: list[str | Paragraph] = [
        "These are the figures the tariff workbook and the what-if page show for the same "
        "contract: payments at the expected rate with the programme, after the attachment "
        "fee, any minimum performance level, trigger and cap."]
    for o in terms:
        name = Value(o.paid, "text")
        rate_kind = "rate" if o.evidence.outcome_type == "binary" else "mean"
        if o.inputs.mpl_uplift is not None:
            paras.append(Paragraph(
                "For '{paid}' only outcomes beyond the minimum performance level of {m} (the "
                "non-intervention rate raised by {u}) are paid.", paid=name,
                m=Value(minimum_level(o.inputs, o.evidence), "probability"
                        if rate_kind == "rate" else "mean"),
                u=Value(o.inputs.mpl_uplift, "probability")))
        if o.inputs.trigger is not None:
            paras.append(Paragraph(
                "For '{paid}' no outcome is paid unless the cohort reaches {t}; the expected "
                "rate with the programme {verb} it.", paid=name,
                t=Value(o.inputs.trigger, "probability" if rate_kind == "rate" else "mean"),
                verb=Value("reaches" if o.inputs.expected_rate >= o.inputs.trigger
                           else "does not reach", "text")))
        if o.inputs.cap is not None:
            paras.append(Paragraph("Payments for the cohort stop at the cap of {cap}.",
                                   cap=Value(o.inputs.cap, "money")))
    links = tuple(rm.Link(rm.Cell("prices", i, "non_intervention"),
                          rm.Cell("contract_payments", i, c.name))
                  for i in range(len(rows)) for c in _CONTRACT if c.kind != "text")
    shown = tuple(c.name for c in _CONTRACT if c.name != "trigger_chance"
                  or any(o.inputs.trigger is not None for o in terms))
    return Section("contract_payments", title, paragraphs=tuple(paras),
                   tables=(Table("contract_payments", title, _CONTRACT, rows, display=shown),),
                   links=links)


# ---------------------------------------------------------------- simulation
_QUANTITY_WORDS = {"payments": "Total payments", "value": "Value of the additional outcomes",
                   "commissioner_net": "Commissioner's net value (value minus payments)",
                   "provider_margin": "Provider's margin (payments minus cost)"}


def _part(inputs: ReportInputs, part: str, title: str, what: str, *,
          words: Mapping[str, str] | None = None) -> tuple[Any, Table | None, Section | None]:
    """Return a pricing part, its table (declared kinds; the first column's code words put in plain ``words``), or the not-available section saying why."""
    obj = inputs.get(part)
    if obj is None:
        return None, None, not_available(part, title, _absent(inputs, what))
    table = _table_of(obj, part, title)
    if table is None:
        return obj, None, not_available(part, title, f"the {what} has no table with declared "
                                        "column kinds")
    if words:
        key = table.schema.names[0]
        table = Table(table.name, table.title, table.schema, tuple(
            {**r, key: words.get(str(r.get(key)), str(r.get(key)).replace("_", " "))}
            for r in table.rows))
    return obj, table, None


#: section id -> (figure name, title, alternative text) of its part's figure
_FIGURES = {
    "simulation": ("payments", "Distribution of total payments",
                   "Histogram of simulated total outcome payments with the budget and the mean "
                   "value of the additional outcomes marked."),
    "cashflow": ("cash", "Monthly cash position of the provider",
                 "Provider's cumulative cash position month by month; the lowest point is the "
                 "working capital needed."),
}


def _with_figure(id: str, title: str, paras: list[str | Paragraph], table: Table, obj: Any,
                 inputs: ReportInputs) -> Section:
    """Return the section with its part's figure (drawn from the part's own figure data)."""
    fig = figure(obj, *_FIGURES[id][:1], inputs, *_FIGURES[id][1:])
    return Section(id, title, paragraphs=tuple(paras), tables=(table,),
                   figures=(fig,) if fig else ())


def _table_of(obj: Any, name: str, title: str) -> Table | None:
    frame = obj if isinstance(obj, pd.DataFrame) else None
    if frame is None and callable(getattr(obj, "to_frame", None)):
        try:
            frame = obj.to_frame()
        except Exception:  # needs arguments or fails: no table
            frame = None
    if not isinstance(frame, pd.DataFrame) or not len(frame):
        return None
    schema = schema_of(obj, frame)
    if schema is None:
        return None
    return Table(name, title, schema, frame_rows(frame, schema.names))


@section("simulation", title="Payment simulation", order=_order(2), needs=("simulation",),
         sheet="Payment simulation", optional=("pilot",))
def simulation_section(inputs: ReportInputs) -> Section:
    """Return simulated payments, value and risks of the tariff."""
    title = "Payment simulation"
    sim, table, na = _part(inputs, "simulation", title, "payment simulation",
                           words=_QUANTITY_WORDS)
    if na is not None or table is None:
        return na or not_available("simulation", title, "no table")
    paras: list[str | Paragraph] = []
    pay = getattr(sim, "payments", None)
    value = getattr(sim, "value", None)
    info = getattr(sim, "info", {}) or {}
    if isinstance(pay, np.ndarray) and pay.size:
        paras.append(Paragraph(
            "{draws} simulated cohorts of {size} people (seed {seed}). Expected payments "
            "{mean} ({p90}% of simulations between {lo} and {hi}).", p90=Value(90, "integer"),
            draws=Value(pay.size, "planned_count"),
            size=Value(info.get("cohort_size"), "planned_count"),
            seed=Value(info.get("seed"), "integer"), mean=Value(float(pay.mean()), "money"),
            lo=Value(float(np.quantile(pay, 0.05)), "money"),
            hi=Value(float(np.quantile(pay, 0.95)), "money")))
        if isinstance(value, np.ndarray) and value.size == pay.size:
            paras.append(Paragraph(
                "Expected value of the additional outcomes: {v}. Chance the commissioner pays "
                "more than the additional outcomes are worth: {p}. Budget covering the "
                "payments in {b_pct}% of simulations: {budget}.",
                v=Value(float(value.mean()), "money"),
                p=Value(float(np.mean(pay > value)), "probability"),
                b_pct=Value(95, "integer"), budget=Value(float(np.quantile(pay, 0.95)), "money")))
        cost = finite_number(getattr(sim, "cost", None))
        if cost is not None:
            paras.append(Paragraph("Chance the provider does not recover its costs ({cost}): "
                                   "{p}.", cost=Value(cost, "money"),
                                   p=Value(float(np.mean(pay < cost)), "probability")))
        paras.append("This chance of paying more than the outcomes are worth is over whole "
                     "cohorts and includes chance variation in who achieves the outcome; the "
                     "recommended price's chance of paying for deadweight is about the "
                     "non-intervention rate alone, so the two differ.")
        contract = inputs.get("contract")
        if isinstance(contract, Mapping) and contract.get("trigger") is not None:
            paras.append("The simulated cohorts apply the attachment fee, the price paid, the "
                         "minimum performance level and the cap, but not the trigger: the "
                         "chance the cohort reaches it is under Payments under the contract.")
    return _with_figure("simulation", title, paras, table, sim, inputs)


# ----------------------------------------------------------------- cash flow
@section("cashflow", title="Cash-flow schedule", order=_order(3), needs=("cashflow",),
         sheet="Cash flow", optional=("pilot",))
def cashflow_section(inputs: ReportInputs) -> Section:
    """Return the provider's monthly cash flow: costs, income, cash position."""
    title = "Cash-flow schedule"
    cf, table, na = _part(inputs, "cashflow", title, "cash flow")
    if na is not None or table is None:
        return na or not_available("cashflow", title, "no table")
    paras: list[str | Paragraph] = []
    frame = getattr(cf, "frame", None)
    if isinstance(frame, pd.DataFrame) and {"delivery_cost", "attachment_income",
                                             "outcome_income"} <= set(frame.columns):
        paras.append(Paragraph(
            "Delivery cost {cost}; income {income} over {months} months.",
            cost=Value(float(frame["delivery_cost"].sum()), "money"),
            income=Value(float((frame["attachment_income"] + frame["outcome_income"]).sum()),
                         "money"),
            months=Value(len(frame), "integer")))
    peak = finite_number(getattr(cf, "peak_working_capital", None))
    if peak is not None:
        paras.append(Paragraph("Peak working capital needed: {peak} (month {month}).",
                               peak=Value(peak, "money"),
                               month=Value(getattr(cf, "peak_month", None), "integer")))
    if hasattr(cf, "breakeven_month"):
        be = cf.breakeven_month
        paras.append(Paragraph("Cash position back above zero from month {m}.",
                               m=Value(be, "integer")) if be is not None else
                     "The cash position never recovers.")
    npv = finite_number(getattr(cf, "npv", None))
    if npv is not None:
        paras.append(Paragraph("Net present value at {rate}: {npv}.",
                               rate=Value(getattr(cf, "discount_rate", None), "probability"),
                               npv=Value(npv, "money")))
    if callable(getattr(cf, "investor_irr", None)):
        try:
            irr = finite_number(cf.investor_irr())
        except PbrEvalError:
            irr = None
        paras.append(Paragraph("Investor's internal rate of return: {irr} a year.",
                               irr=Value(irr, "probability")) if irr is not None else
                     "Investor's internal rate of return: not defined for these cash flows.")
    return _with_figure("cashflow", title, paras, table, cf, inputs)


# -------------------------------------------------------- price sensitivity
@section("price_sensitivity", title="Price sensitivity", order=_order(4),
         needs=("price_sensitivity",), sheet="Price sensitivity", optional=("pilot",))
def price_sensitivity_section(inputs: ReportInputs) -> Section:
    """How the ceiling moves with the non-intervention rate."""
    title = "Price sensitivity"
    _, table, na = _part(inputs, "price_sensitivity", title, "price sensitivity")
    if na is not None or table is None:
        return na or not_available("price_sensitivity", title, "no table")
    return Section("price_sensitivity", title, tables=(table,), paragraphs=(
        "The most worth paying per outcome (the ceiling) for a range of assumed "
        "non-intervention rates: the price falls to nothing where the non-intervention rate "
        "reaches the expected rate.",))
