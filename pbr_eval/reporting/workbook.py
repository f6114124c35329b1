"""The live tariff workbook: inputs a commissioner can change, and formulas that follow.

The workbook's sheets are

* **Read me**: what the workbook is, the engine's advice (live formulas: pilot
  longer, use attachment fees, segment) and one paragraph on the difference
  between the recommended price's risk and the payment simulation's risk;
* **Inputs**: yellow, validated input cells (with units and a comment each):
  the contract (risk accepted, band level, attachment fee or share, cohort,
  provider cost, delivery months, lags, discount rate, cap), one column per
  paid outcome (value, expected rate, price paid, trigger, minimum
  performance level uplift), the referral profile by month, and the fixed,
  labelled **Evidence** block (the estimated non-intervention rate and its
  uncertainty; draws on the hidden sheet *Draws* where the evidence is draws);
* **Prices**, **Tariff**, **Payments** and **Cash flow**: computed *by
  formulas* from Inputs and Evidence, with a price-by-risk and a
  price-by-value table.

Every formula is the spreadsheet form of one function of
:mod:`pbr_eval.pricing.whatif` (the same definitions the what-if page and the
Python API use); ``tests/test_workbook_recalc.py`` recalculates the workbook
in LibreOffice for hundreds of random inputs and compares. Formula text is
built only from this module's own cell references and fixed words; every text
the user or the data supplies (titles, outcome names) is written as
neutralised text, never inside a formula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pbr_eval.glossary import plain_name
from pbr_eval.io import save_workbook
from pbr_eval.kinds import DEFAULT_CURRENCY, Column, excel_format
from pbr_eval.pricing.whatif import ADVICE, RISK_LEVELS, Evidence, WhatIfInputs
from pbr_eval.reporting.contract import bundle_part as _part
from pbr_eval.reporting.contract import contract_outcomes, recommendation_of
from pbr_eval.reporting.safety import neutralise_formula

__all__ = [
    "write_live_workbook",
    "write_tariff_workbook",
    "workbook_inputs",
    "INPUT_ROWS",
    "OUTCOME_INPUT_ROWS",
    "PROFILE_MONTHS",
    "CASH_FLOW_MONTHS",
    "VALUE_FACTORS",
    "workbook_labels",
    "cell_addresses",
]

#: Months of the referral profile on the Inputs sheet (blank months count as none).
PROFILE_MONTHS = 24
_MAX_DELIVERY = 24
_MAX_OUTCOME_LAG = 36
_MAX_PAYMENT_LAG = 12
#: Months of the cash-flow sheet: every referral month plus the longest lags allowed.
CASH_FLOW_MONTHS = PROFILE_MONTHS + max(_MAX_DELIVERY - 1, _MAX_OUTCOME_LAG + _MAX_PAYMENT_LAG)
#: Multiples of the value per outcome in the price-by-value table.
VALUE_FACTORS: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)

_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_EVIDENCE_FILL = PatternFill("solid", fgColor="E2EFDA")
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True)
class _Input:
    column: Column
    unit: str
    validation: tuple[str, float | None, float | None]  # (type, min, max)
    optional: bool = False


def _inp(name: str, kind: str, label: str, unit: str, description: str,
         validation: tuple[str, float | None, float | None], optional: bool = False) -> _Input:
    return _Input(Column(name, kind, label, description=description), unit, validation, optional)


#: The contract inputs, in sheet order (labels and comments are the glossary).
INPUT_ROWS: tuple[_Input, ...] = (
    _inp("risk", "probability", "Chance of paying for deadweight you accept", "% (one-sided)",
         "The recommended price is set so that the chance the outcomes paid for would have "
         "happened anyway (and so are worth less than paid) is this. 2.5% is the upper end of "
         "the 95% range.", ("decimal", 0.0001, 0.9999)),
    _inp("level", "probability", "Confidence level of the price band", "%",
         "The band is the range of value-for-money prices over this range of the "
         "non-intervention rate.", ("decimal", 0.5, 0.9999)),
    _inp("attachment_fee", "money", "Attachment fee per participant", "money per person",
         "Paid when a person joins, whatever the outcome. It eases the provider's cash flow "
         "and lowers the most worth paying per outcome.", ("decimal", 0, None)),
    _inp("attachment_share", "probability", "Attachment share (blank: use the fee above)",
         "% of fee plus price",
         "If given, the attachment fee is set to this share of the most paid for one person "
         "with an outcome (fee plus price) at the recommended price.", ("decimal", 0, 0.9999),
         optional=True),
    _inp("cohort_size", "planned_count", "Cohort size", "people",
         "People the contract pays for.", ("whole", 1, 10_000_000)),
    _inp("cost_per_participant", "money", "Provider's delivery cost per participant",
         "money per person", "What the provider spends per person; sets its break-even price.",
         ("decimal", 0, None)),
    _inp("delivery_months", "integer", "Months each participant's cost is spread over",
         "months", "The delivery cost of a person is spent evenly over this many months from "
         "referral.", ("whole", 1, _MAX_DELIVERY)),
    _inp("outcome_lag", "integer", "Months from referral to evidence of the outcome", "months",
         "E.g. 12 months of follow-up for reoffending plus the months the data take.",
         ("whole", 0, _MAX_OUTCOME_LAG)),
    _inp("payment_lag", "integer", "Months from evidence (or joining) to payment", "months",
         "How long claims take to be checked and paid.", ("whole", 0, _MAX_PAYMENT_LAG)),
    _inp("discount_rate", "probability", "Discount rate", "% a year",
         "For the net present value; HM Treasury's Green Book uses 3.5%.",
         ("decimal", 0, 0.9999)),
    _inp("cap", "money", "Cap on total payments for the cohort (blank: none)", "money",
         "The most the contract pays for the cohort, attachment fees and outcome payments "
         "together.", ("decimal", 0, None), optional=True),
)

#: The inputs of each paid outcome (one column per outcome).
OUTCOME_INPUT_ROWS: tuple[_Input, ...] = (
    _inp("value_per_outcome", "money", "Value of one additional outcome", "money",
         "The public cost avoided when the outcome happens (e.g. from a unit-cost database), "
         "in the same year's prices as the tariff.", ("decimal", 0.01, None)),
    _inp("expected_rate", "probability", "Expected rate with the programme", "share or per person",
         "The outcome rate you expect the programme's participants to reach.",
         ("decimal", 0.000001, None)),
    _inp("price_paid", "money", "Price you will pay per outcome (blank: the recommended price)",
         "money", "Type a price to see its risk, budget and cash flow; leave blank to use the "
         "recommended price.", ("decimal", 0, None), optional=True),
    _inp("trigger", "probability", "Trigger: rate the cohort must reach (blank: none)",
         "share or per person", "No outcome is paid unless the cohort reaches this rate.",
         ("decimal", 0, None), optional=True),
    _inp("mpl_uplift", "probability",
         "Minimum performance level: uplift on the non-intervention rate (blank: none)", "%",
         "Only outcomes beyond the non-intervention rate times (1 + uplift) are paid; the Work "
         "Programme used 10%.", ("decimal", 0, 1), optional=True),
)

#: The live workbook's number formats where they are finer than the reports' (kinds.excel_format):
#: rates to 0.01% so a changed input shows; "yes_no" is the workbook's own kind.
_LIVE_FORMATS = {"rate": "0.00%", "probability": "0.00%", "yes_no": '"Yes";"Yes";"No"',
                 "mean": "0.0000"}
_SCALE_CODES = {"logit": 1, "log": 2, "normal": 3, "draws": 4}
_SCALE_WORDS = {
    "logit": "normal on the log-odds scale (a share of people)",
    "log": "normal on the log scale (events per person)",
    "normal": "normal",
    "draws": "the draws on the hidden sheet Draws",
}


def _plain(name: str) -> str:
    """Return an outcome or title as plain words (:func:`pbr_eval.glossary.plain_name`)."""
    return " ".join(str(plain_name(str(name))).replace("_", " ").split())


class _Book:
    """Cell bookkeeping: each quantity's (sheet, row); outcome j sits in column 2 + j."""

    def __init__(self, n_outcomes: int, currency: str) -> None:
        self.wb = Workbook()
        self.n = n_outcomes
        self.currency = currency
        self.where: dict[str, tuple[str, int]] = {}
        self.labels: list[str] = []
        self.fixed: dict[str, str] = {}  # key -> column, for quantities outside outcome columns

    # -- references ----------------------------------------------------------------------
    @staticmethod
    def col(j: int) -> str:
        return get_column_letter(2 + j)

    def ref(self, key: str, j: int = 0) -> str:
        sheet, row = self.where[key]
        return f"'{sheet}'!${self.fixed.get(key) or self.col(j)}${row}"

    def fill(self, template: str, j: int) -> str:
        """Replace each ``{key}`` in ``template`` by the absolute reference of outcome ``j``."""
        out, i = [], 0
        while i < len(template):
            if template[i] == "{":
                k = template.index("}", i)
                out.append(self.ref(template[i + 1:k], j))
                i = k + 1
            else:
                out.append(template[i])
                i += 1
        return "".join(out)

    # -- writing ---------------------------------------------------------------------------
    def text(self, ws: Any, row: int, col: int, value: Any, font: Font | None = None,
             wrap: bool = False) -> Any:
        cell = ws.cell(row=row, column=col)
        cell.value = neutralise_formula(str(value))
        cell.data_type = "s"
        if font is not None:
            cell.font = font
        if wrap:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        if str(value).strip():
            self.labels.append(str(value))
        return cell

    def number(self, ws: Any, row: int, col: int, value: float | None, kind: str) -> Any:
        cell = ws.cell(row=row, column=col)
        cell.value = value
        cell.number_format = self.fmt(kind)
        return cell

    def formula(self, ws: Any, row: int, col: int, template: str, j: int, kind: str) -> Any:
        cell = ws.cell(row=row, column=col)
        cell.value = "=" + self.fill(template, j)
        cell.number_format = self.fmt(kind)
        return cell

    def fmt(self, kind: str) -> str:
        if kind == "money":  # to the penny: the workbook equals pbr_eval's figures to it
            return f'"{self.currency}"#,##0.00;-"{self.currency}"#,##0.00'
        return _LIVE_FORMATS.get(kind) or excel_format(kind, currency=self.currency)

    def sheet(self, title: str, heading: str, subtitle: str, widths: Sequence[float]) -> Any:
        ws = self.wb.create_sheet(title)
        self.text(ws, 1, 1, heading, _TITLE)
        self.text(ws, 2, 1, subtitle, wrap=False)
        for k, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(k)].width = w
        return ws

    def header(self, ws: Any, row: int, labels: Sequence[str], first_col: int = 1) -> None:
        for k, lab in enumerate(labels, start=first_col):
            c = self.text(ws, row, k, lab, _BOLD)
            c.fill = _HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="bottom")
            c.border = _BOX


def _fit_rows(ws: Any, first_row: int = 4) -> None:
    """Wrap text cells from ``first_row`` on and make each row tall enough for its lines.

    Spreadsheet programs do not grow a row for wrapped text written by a library, so the
    heights are set here (about one line per column width of characters).
    """
    merged = {c for rng in ws.merged_cells.ranges for row in ws.iter_rows(
        min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col, max_col=rng.max_col)
        for c in (cell.coordinate for cell in row)}
    for row in ws.iter_rows(min_row=first_row):
        lines = 1
        for cell in row:
            text = cell.value
            if not isinstance(text, str) or text.startswith("=") or cell.coordinate in merged:
                continue
            width = ws.column_dimensions[cell.column_letter].width or 10
            need = math.ceil(len(text) / max(1.0, width * 1.05))
            if need > 1:
                cell.alignment = Alignment(wrap_text=True, vertical="top",
                                           horizontal=cell.alignment.horizontal)
            lines = max(lines, need)
        if lines > 1:
            ws.row_dimensions[row[0].row].height = 13.5 * lines + 2


def _print_setup(ws: Any, title: str, header_row: int | None, pages_tall: int = 1) -> None:
    """A4 landscape, one page wide and ``pages_tall`` pages tall (0: as many as needed)."""
    if header_row is not None:
        _fit_rows(ws, header_row)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = pages_tall
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddHeader.center.text = neutralise_formula(title).replace("&", "&&")
    ws.oddHeader.center.size = 10
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"


def _quantile(b: _Book, q: str) -> str:
    """Template: the ``q`` quantile of the non-intervention rate (``Evidence.quantile``)."""
    z = f"NORMSINV({q})"
    return (f"IF({{ev_code}}=4,PERCENTILE({{ev_draws}},{q}),IF({{ev_se}}=0,{{ev_est}},"
            f"IF({{ev_code}}=1,1/(1+EXP(-(LN({{ev_est}}/(1-{{ev_est}}))+{{ev_se}}/({{ev_est}}*"
            f"(1-{{ev_est}}))*{z}))),IF({{ev_code}}=2,EXP(LN({{ev_est}})+{{ev_se}}/{{ev_est}}*{z}),"
            f"MIN({{ev_hi}},MAX({{ev_lo}},{{ev_est}}+{{ev_se}}*{z}))))))")


def _sf(x: str) -> str:
    """Template: ``P(rate > x)`` (``Evidence.sf``)."""
    logit = (f"IF({x}<={{ev_lo}},1,IF({x}>={{ev_hi}},0,NORMSDIST(-(LN({x}/(1-{x}))-"
             f"LN({{ev_est}}/(1-{{ev_est}})))/({{ev_se}}/({{ev_est}}*(1-{{ev_est}}))))))")
    log = (f"IF({x}<=0,1,IF({x}>={{ev_hi}},0,NORMSDIST(-(LN({x})-LN({{ev_est}}))/"
           f"({{ev_se}}/{{ev_est}}))))")
    normal = f"IF({x}<{{ev_lo}},1,IF({x}>={{ev_hi}},0,NORMSDIST(-({x}-{{ev_est}})/{{ev_se}})))"
    return (f"IF({{ev_code}}=4,SUMPRODUCT(--({{ev_draws}}>ROUND({x},12)))/COUNT({{ev_draws}}),"
            f"IF({{ev_se}}=0,IF({{ev_est}}>{x},1,0),IF({{ev_code}}=1,{logit},"
            f"IF({{ev_code}}=2,{log},{normal}))))")


def _q(text: str) -> str:
    """Return fixed words of this module as a formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def _capped(x: str) -> str:
    return f"IF(ISBLANK({{cap}}),{x},MIN({{cap}},{x}))"


def _fee(value: str) -> str:
    """Template: the attachment fee used for a value per outcome ``value``."""
    return (f"IF(ISBLANK({{attachment_share}}),{{attachment_fee}},MAX(0,{{attachment_share}}*"
            f"{value}*({{expected_rate}}-{{n_risk}})/({{k}}*(1-{{attachment_share}})+"
            "{attachment_share})))")


def _write_inputs(b: _Book, inputs: Sequence[WhatIfInputs], evidence: Sequence[Evidence]) -> None:
    n = b.n
    ws = b.sheet("Inputs", "Inputs and evidence",
                 "Yellow cells are yours to change; green cells are the evaluation's evidence "
                 "(fixed). Every other sheet recalculates from them.",
                 [48] + [18] * n + [16, 60])
    unit_col, note_col = 2 + n, 3 + n
    b.header(ws, 4, ["Contract input", "Value"] + [""] * (n - 1) + ["Unit", "What it means"])
    first = inputs[0]
    row = 5
    for spec in INPUT_ROWS:
        c = spec.column
        b.where[c.name] = ("Inputs", row)
        b.fixed[c.name] = "B"  # the contract's inputs are one column
        b.text(ws, row, 1, c.label)
        value = getattr(first, c.name)
        cell = b.number(ws, row, 2, None if value is None else float(value), c.kind)
        _input_cell(b, ws, cell, spec)
        b.text(ws, row, unit_col, spec.unit)
        b.text(ws, row, note_col, c.description, wrap=True)
        row += 1
    row += 1
    b.header(ws, row, ["Paid outcome"] + [_plain(e.outcome) for e in evidence]
             + ["Unit", "What it means"])
    row += 1
    for spec in OUTCOME_INPUT_ROWS:
        c = spec.column
        b.where[c.name] = ("Inputs", row)
        b.text(ws, row, 1, c.label)
        for j, (inp, ev) in enumerate(zip(inputs, evidence, strict=True)):
            value = getattr(inp, c.name)
            kind = "mean" if (c.name in ("expected_rate", "trigger")
                              and ev.outcome_type != "binary") else c.kind
            cell = b.number(ws, row, 2 + j, None if value is None else float(value), kind)
            _input_cell(b, ws, cell, spec, binary=ev.outcome_type == "binary")
        b.text(ws, row, unit_col, spec.unit)
        b.text(ws, row, note_col, c.description, wrap=True)
        row += 1
    row += 1
    # the referral profile sits beside the inputs, so the sheet prints on one page
    pc = note_col + 2
    ws.column_dimensions[get_column_letter(pc)].width = 10
    ws.column_dimensions[get_column_letter(pc + 1)].width = 14
    b.header(ws, 4, ["Month", "Referrals (relative)"], first_col=pc)
    prof = list(first.referral_profile)[:PROFILE_MONTHS]
    b.where["profile_first"] = ("Inputs", 5)
    b.where["profile_last"] = ("Inputs", 5 + PROFILE_MONTHS - 1)
    b.fixed["profile_first"] = b.fixed["profile_last"] = get_column_letter(pc + 1)
    spec = _Input(Column("referrals", "planned_count", "Referrals",
                         description="People referred in the month, relative to the other "
                         "months: the cohort is spread over the months in these proportions "
                         "(1 in each month for an even flow; blank months have no referrals)."),
                  "relative", ("decimal", 0, None), optional=True)
    for t in range(PROFILE_MONTHS):
        b.text(ws, 5 + t, pc, f"Month {t + 1}")
        cell = b.number(ws, 5 + t, pc + 1, prof[t] if t < len(prof) else None, "number")
        cell.number_format = "0.##"
        _input_cell(b, ws, cell, spec)
    ws.merge_cells(start_row=5 + PROFILE_MONTHS, start_column=pc, end_row=8 + PROFILE_MONTHS,
                   end_column=pc + 1)
    b.text(ws, 5 + PROFILE_MONTHS, pc, "The cohort is spread over the months in these "
           "proportions; blank months have no referrals.", wrap=True)

    b.header(ws, row, ["Evidence (fixed, from the evaluation)"]
             + [_plain(e.outcome) for e in evidence] + ["Unit", "What it means"])
    row += 1
    ev_rows: list[tuple[str, str, str, str]] = [
        ("ev_est", "Estimated non-intervention rate", "share or per person",
         "The outcome rate the participants would have had without the programme."),
        ("ev_se", "Its standard error", "share or per person",
         "The uncertainty of the estimate (sampling error only)."),
        ("ev_words", "How the uncertainty is described", "", ""),
        ("ev_code", "Uncertainty model (1 log-odds, 2 log, 3 normal, 4 draws)", "code",
         "Used by the formulas; do not change."),
        ("ev_lo", "Lowest possible rate", "share or per person", ""),
        ("ev_hi", "Highest possible rate", "share or per person",
         "A very large number means no upper limit (events per person)."),
        ("ev_n_draws", "Number of draws", "draws", "0 unless the uncertainty is a set of draws."),
        ("ev_centre", "Central non-intervention rate used for prices", "share or per person",
         "The estimate (the mean of the draws where there are draws)."),
        ("ev_lower", "Lower limit of the range at the band's level", "share or per person",
         "Calculated from the evidence and the band's confidence level."),
        ("ev_upper", "Upper limit of the range at the band's level", "share or per person",
         "Calculated from the evidence and the band's confidence level."),
    ]
    for key, label, unit, note in ev_rows:
        b.where[key] = ("Inputs", row)
        b.text(ws, row, 1, label)
        b.text(ws, row, unit_col, unit)
        b.text(ws, row, note_col, note, wrap=True)
        row += 1
    for j, ev in enumerate(evidence):
        r = {k: b.where[k][1] for k, *_ in ev_rows}
        col = 2 + j
        kind = "probability" if ev.outcome_type == "binary" else "mean"
        b.number(ws, r["ev_est"], col, ev.estimate if ev.draws is None else ev.centre, kind)
        b.number(ws, r["ev_se"], col, ev.se, kind)
        b.text(ws, r["ev_words"], col, _SCALE_WORDS[ev.scale], wrap=True)
        b.number(ws, r["ev_code"], col, _SCALE_CODES[ev.scale], "integer")
        b.number(ws, r["ev_lo"], col, _finite(ev.bounds[0], -1e300), kind)
        b.number(ws, r["ev_hi"], col, _finite(ev.bounds[1], 1e300), kind)
        b.number(ws, r["ev_n_draws"], col, len(ev.draws) if ev.draws else 0, "integer")
        for key in ("ev_est", "ev_se", "ev_code", "ev_lo", "ev_hi", "ev_n_draws", "ev_words"):
            ws.cell(row=r[key], column=col).fill = _EVIDENCE_FILL
        ws.cell(row=r["ev_hi"], column=col).number_format = (
            '[>=1E+299]"no limit";' + b.fmt(kind))
        ws.cell(row=r["ev_lo"], column=col).number_format = (
            '[<=-1E+299]"no limit";' + b.fmt(kind))
    for j, ev in enumerate(evidence):
        r = {k: b.where[k][1] for k, *_ in ev_rows}
        kind = "probability" if ev.outcome_type == "binary" else "mean"
        b.formula(ws, r["ev_centre"], 2 + j,
                  "IF({ev_code}=4,AVERAGE({ev_draws}),{ev_est})", j, kind)
        b.formula(ws, r["ev_lower"], 2 + j, _quantile(b, "0.5-{level}/2"), j, kind)
        b.formula(ws, r["ev_upper"], 2 + j, _quantile(b, "0.5+{level}/2"), j, kind)
    ws.freeze_panes = "B5"
    _print_setup(ws, "Inputs and evidence", 4)


def _finite(x: float, fallback: float) -> float:
    return float(x) if math.isfinite(x) else fallback


def _input_cell(b: _Book, ws: Any, cell: Any, spec: _Input, binary: bool = True) -> None:
    cell.fill = _INPUT_FILL
    cell.border = _BOX
    kind, lo, hi = spec.validation
    if spec.column.name in ("expected_rate", "trigger") and binary:
        hi = 1.0
    dv = DataValidation(type=kind, allow_blank=spec.optional, showErrorMessage=True,
                        showInputMessage=True)
    if lo is not None and hi is not None:
        dv.operator, dv.formula1, dv.formula2 = "between", repr(lo), repr(hi)
        rng = f"between {_show(lo, spec)} and {_show(hi, spec)}"
    else:
        low = 0.0 if lo is None else lo
        dv.operator, dv.formula1 = "greaterThanOrEqual", repr(low)
        rng = f"at least {_show(low, spec)}"
    dv.errorTitle = "Not allowed"
    dv.error = f"{spec.column.label}: give a number {rng}."
    dv.promptTitle = spec.column.label[:32]
    dv.prompt = spec.column.description[:250]
    ws.add_data_validation(dv)
    dv.add(cell)
    cell.comment = Comment(f"{spec.column.description} Unit: {spec.unit}.", "pbr_eval",
                           width=320, height=110)


def _show(x: float, spec: _Input) -> str:
    if spec.column.kind == "probability" and spec.column.name not in ("expected_rate", "trigger"):
        return f"{x:.2%}" if x < 1 else "100%"
    return f"{x:,.6g}"


#: Calculated rows: (key, sheet, label, kind, template, description).
_PRICE_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("ni", "Non-intervention rate (central)", "rate", "{ev_centre}"),
    ("r", "Expected rate with the programme", "rate", "{expected_rate}"),
    ("m", "Minimum performance level (0 if none)", "rate",
     "IF(ISBLANK({mpl_uplift}),0,{ev_centre}*(1+{mpl_uplift}))"),
    ("k", "Outcomes paid per participant", "rate", "{expected_rate}-{m}"),
    ("n_risk", "Non-intervention rate at your risk", "rate", ""),
    ("fee", "Attachment fee per participant", "money", ""),
    ("ceiling", "Most worth paying per outcome (central)", "money",
     "({value_per_outcome}*({expected_rate}-{ev_centre})-{fee})/{k}"),
    ("recommended", "Recommended price per outcome", "money",
     "MAX(0,({value_per_outcome}*({expected_rate}-{n_risk})-{fee})/{k})"),
    ("band_lower", "Band: lower price", "money",
     "MAX(0,({value_per_outcome}*({expected_rate}-{ev_upper})-{fee})/{k})"),
    ("band_upper", "Band: upper price", "money",
     "MAX(0,({value_per_outcome}*({expected_rate}-MAX({ev_lower},0))-{fee})/{k})"),
    ("paid", "Price paid per outcome", "money",
     "IF(ISBLANK({price_paid}),{recommended},{price_paid})"),
    ("n_star", "Non-intervention rate above which you pay for deadweight", "rate",
     "{expected_rate}-({fee}+{paid}*{k})/{value_per_outcome}"),
    ("deadweight", "Chance of paying for deadweight at the price paid", "probability", ""),
    ("break_even", "Provider's break-even price per outcome", "money",
     "MAX(0,({cost_per_participant}-{fee})/{k})"),
    ("viable", "Can the provider break even within value for money?", "yes_no",
     "IF({break_even}<={ceiling},1,0)"),
)


def _write_prices(b: _Book, evidence: Sequence[Evidence]) -> None:
    n = b.n
    ws = b.sheet("Prices", "Prices", "Calculated from the Inputs sheet: change a yellow cell "
                 "there and these follow.", [58] + [22] * max(n, 2))
    b.header(ws, 4, ["Price per paid outcome"] + [_plain(e.outcome) for e in evidence])
    row = 5
    for key, label, _, _ in _PRICE_ROWS:
        b.where[key] = ("Prices", row)
        b.text(ws, row, 1, label)
        row += 1
    templates = {key: t for key, _, _, t in _PRICE_ROWS}
    templates["n_risk"] = _quantile(b, "1-{risk}")
    templates["fee"] = _fee("{value_per_outcome}")
    templates["deadweight"] = ("IF(AND({fee}<=0,{paid}<=0),0," + _sf("{n_star}") + ")")
    for j, ev in enumerate(evidence):
        binary = ev.outcome_type == "binary"
        for key, _, kind, _ in _PRICE_ROWS:
            kind = "mean" if kind == "rate" and not binary else kind
            b.formula(ws, b.where[key][1], 2 + j, templates[key], j, kind)
    row += 1
    b.where["warning"] = ("Prices", row)
    b.text(ws, row, 1, "Check")
    for j in range(n):
        b.formula(ws, row, 2 + j,
                  'IF({k}<=0,"The expected rate does not exceed the minimum performance level: '
                  'nothing would be paid.",IF({expected_rate}<={ev_centre},"The expected rate '
                  'does not exceed the non-intervention rate: no price is value for money.",'
                  '"No problem found."))', j, "text")
        ws.cell(row=row, column=2 + j).alignment = Alignment(wrap_text=True, vertical="top")
    row += 2
    # price by risk
    b.text(ws, row, 1, "Price by the risk you accept", _BOLD)
    row += 1
    b.header(ws, row, ["Chance of paying for deadweight"]
             + [_plain(e.outcome) for e in evidence])
    b.where["by_risk_header"] = ("Prices", row)
    row += 1
    b.where["by_risk_first"] = ("Prices", row)
    for q in RISK_LEVELS:
        b.number(ws, row, 1, q, "probability").alignment = Alignment(horizontal="left")
        for j in range(n):
            cell_q = f"$A${row}"
            t = ("MAX(0,({value_per_outcome}*({expected_rate}-(" + _quantile(b, f"1-{cell_q}")
                 + "))-{fee})/{k})")
            b.formula(ws, row, 2 + j, t, j, "money")
        row += 1
    row += 1
    b.text(ws, row, 1, "Price by the value of an outcome (at the risk you accept)", _BOLD)
    row += 1
    hdr = ["Share of your value"]
    for e in evidence:
        hdr += [f"{_plain(e.outcome)}: value", f"{_plain(e.outcome)}: price"]
    b.header(ws, row, hdr)
    row += 1
    b.where["by_value_first"] = ("Prices", row)
    for f in VALUE_FACTORS:
        b.number(ws, row, 1, f, "probability").number_format = "0%"
        ws.cell(row=row, column=1).alignment = Alignment(horizontal="left")
        for j in range(n):
            vcol = get_column_letter(2 + 2 * j)
            val = ws.cell(row=row, column=2 + 2 * j)
            val.value = "=" + b.fill(f"$A${row}*{{value_per_outcome}}", j)
            val.number_format = b.fmt("money")
            v = f"${vcol}${row}"
            t = (f"MAX(0,({v}*({{expected_rate}}-{{n_risk}})-" + _fee(v) + ")/{k})")
            b.formula(ws, row, 3 + 2 * j, t, j, "money")
        row += 1
    for k in range(2, 2 + 2 * n + 1):
        ws.column_dimensions[get_column_letter(k)].width = 22
    ws.freeze_panes = "B5"
    _print_setup(ws, "Prices", 4)


_TARIFF_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("t_fee", "Attachment fee per participant", "money", "{fee}"),
    ("t_price", "Price per paid outcome", "money", "{paid}"),
    ("t_mpl", "Minimum performance level (outcomes below it are not paid)", "rate", "{m}"),
    ("t_trigger", "Trigger rate (0 if none)", "rate",
     "IF(ISBLANK({trigger}),0,{trigger})"),
    ("t_met", "Trigger reached at the expected rate?", "yes_no",
     "IF(ISBLANK({trigger}),1,IF({expected_rate}>={trigger},1,0))"),
    ("t_share", "Attachment fee as a share of fee plus price", "probability",
     "IF({fee}+{paid}>0,{fee}/({fee}+{paid}),0)"),
    ("t_per_person", "Expected payment per participant", "money",
     "{fee}+{paid}*{k}*{t_met}"),
    ("t_outcome_pp", "Expected outcome payment per participant", "money",
     "{paid}*{k}*{t_met}"),
    ("t_cpa", "Cost per additional outcome", "money",
     "IF({expected_rate}>{ev_centre},({fee}+{paid}*{k})/({expected_rate}-{ev_centre}),0)"),
)


def _write_tariff(b: _Book, evidence: Sequence[Evidence]) -> None:
    ws = b.sheet("Tariff", "Tariff", "What the contract pays, from the price paid on the "
                 "Prices sheet.", [58] + [22] * max(b.n, 2))
    b.header(ws, 4, ["Tariff"] + [_plain(e.outcome) for e in evidence])
    for i, (key, label, _, _) in enumerate(_TARIFF_ROWS):
        b.where[key] = ("Tariff", 5 + i)
        b.text(ws, 5 + i, 1, label)
    for j, ev in enumerate(evidence):
        for key, _, kind, t in _TARIFF_ROWS:
            kind = "mean" if kind == "rate" and ev.outcome_type != "binary" else kind
            b.formula(ws, b.where[key][1], 2 + j, t, j, kind)
    ws.freeze_panes = "B5"
    _print_setup(ws, "Tariff", 4)


_PAYMENT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("sd", "Spread of the cohort's number of outcomes (standard deviation)", "number", ""),
    ("expected_total", "Expected total payment for the cohort", "money",
     _capped("{cohort_size}*({fee}+IF({t_met}=1,{paid}*{k},0))")),
    ("budget_95", "Budget covering the payments 95 times in 100", "money",
     _capped("{cohort_size}*{fee}+{paid}*MAX(0,{cohort_size}*{expected_rate}+NORMSINV(0.95)*"
             "{sd}-{cohort_size}*{m})")),
    ("trigger_chance", "Chance the cohort reaches the trigger", "probability",
     "IF(ISBLANK({trigger}),1,IF({sd}=0,IF({cohort_size}*({trigger}-{expected_rate})<=0,1,0),"
     "NORMSDIST(-{cohort_size}*({trigger}-{expected_rate})/{sd})))"),
    ("value_added", "Value of the additional outcomes (central)", "money",
     "{cohort_size}*{value_per_outcome}*({expected_rate}-{ev_centre})"),
    ("provider_cost", "Provider's total delivery cost", "money",
     "{cohort_size}*{cost_per_participant}"),
)


def _write_payments(b: _Book, evidence: Sequence[Evidence],
                    simulation: Mapping[str, float] | None) -> None:
    ws = b.sheet("Payments", "Payments", "What the cohort may cost: the expected total and a "
                 "budget that covers the payments 95 times in 100.", [58] + [22] * max(b.n, 2))
    b.header(ws, 4, ["Payments for the cohort"] + [_plain(e.outcome) for e in evidence])
    for i, (key, label, _, _) in enumerate(_PAYMENT_ROWS):
        b.where[key] = ("Payments", 5 + i)
        b.text(ws, 5 + i, 1, label)
    for j, ev in enumerate(evidence):
        sd = ("SQRT({cohort_size}*{expected_rate}*MAX(0,1-{expected_rate}))"
              if ev.outcome_type == "binary" else "SQRT({cohort_size}*{expected_rate})")
        for key, _, kind, t in _PAYMENT_ROWS:
            b.formula(ws, b.where[key][1], 2 + j, sd if key == "sd" else t, j, kind)
    row = 6 + len(_PAYMENT_ROWS)
    if simulation:
        b.text(ws, row, 1, "From the payment simulation in the report (fixed: it does not "
               "recalculate)", _BOLD)
        row += 1
        labels = {"mean": ("Mean simulated total payment", "money"),
                  "budget_p95": ("Simulated budget covering 95% of cohorts", "money"),
                  "prob_commissioner_overpays": (
                      "Chance the cohort's payments exceed the value of its additional outcomes",
                      "probability"),
                  "prob_provider_loss": ("Chance the provider makes a loss", "probability")}
        for key, (label, kind) in labels.items():
            if key in simulation and simulation[key] is not None:
                b.text(ws, row, 1, label)
                b.number(ws, row, 2, float(simulation[key]), kind)
                row += 1
    ws.freeze_panes = "B5"
    _print_setup(ws, "Payments", 4)


_CASH_COLUMNS = (
    Column("month", "integer", "Month"),
    Column("referrals", "planned_count", "Referrals"),
    Column("delivery_cost", "money", "Delivery cost"),
    Column("attachment_due", "money", "Attachment fees due"),
    Column("outcome_due", "money", "Outcome payments due"),
    Column("attachment_income", "money", "Attachment fees paid"),
    Column("outcome_income", "money", "Outcome payments paid"),
    Column("net", "money", "Net cash flow"),
    Column("cash_position", "money", "Cash position (cumulative)"),
)


def _write_cash_flow(b: _Book) -> None:
    ws = b.sheet("Cash flow", "Cash flow (provider)", "Month by month: delivery costs go out "
                 "as people are referred; fees and outcome payments come in after the lags.",
                 [9, 11, 15, 15, 15, 15, 15, 15, 17, 3, 40, 18])
    b.header(ws, 4, [c.label for c in _CASH_COLUMNS])
    first, last = 5, 5 + CASH_FLOW_MONTHS - 1
    months = f"$A${first}:$A${last}"
    refs = f"$B${first}:$B${last}"
    n_out = b.n
    out_pp = (f"SUM('Tariff'!$B${b.where['t_outcome_pp'][1]}:"
              f"${get_column_letter(1 + n_out)}${b.where['t_outcome_pp'][1]})")
    p_first, p_last = b.where["profile_first"][1], b.where["profile_last"][1]
    pcol = b.fixed["profile_first"]
    profile = f"'Inputs'!${pcol}${p_first}:${pcol}${p_last}"
    for t in range(CASH_FLOW_MONTHS):
        r = first + t
        b.number(ws, r, 1, t, "integer")
        ref = (f"IF(A{r}<{PROFILE_MONTHS},{{cohort_size}}*N(INDEX({profile},A{r}+1))/"
               f"SUM({profile}),0)")
        b.formula(ws, r, 2, ref, 0, "number").number_format = "#,##0.0"
        b.formula(ws, r, 3, f"{{cost_per_participant}}/{{delivery_months}}*SUMPRODUCT(({months}"
                  f">=A{r}-{{delivery_months}}+1)*({months}<=A{r})*{refs})", 0, "money")
        b.formula(ws, r, 4, f"{{fee}}*SUMPRODUCT(({months}=A{r}-{{payment_lag}})*{refs})", 0,
                  "money")
        b.formula(ws, r, 5, f"{out_pp}*SUMPRODUCT(({months}=A{r}-{{outcome_lag}}-"
                  f"{{payment_lag}})*{refs})", 0, "money")
        before = "0" if t == 0 else f"SUM($F${first}:$G${r - 1})"
        b.formula(ws, r, 6, f"IF(ISBLANK({{cap}}),D{r},MIN(D{r},MAX(0,{{cap}}-{before})))", 0,
                  "money")
        b.formula(ws, r, 7, f"IF(ISBLANK({{cap}}),E{r},MIN(E{r},MAX(0,{{cap}}-{before}-F{r})))",
                  0, "money")
        b.formula(ws, r, 8, f"F{r}+G{r}-C{r}", 0, "money")
        b.formula(ws, r, 9, f"H{r}" if t == 0 else f"I{r - 1}+H{r}", 0, "money")
    summary: list[tuple[str, str, str, str]] = [
        ("peak_wc", "Peak working capital the provider needs", "money",
         f"MAX(0,-MIN($I${first}:$I${last}))"),
        ("peak_month", "Month of the lowest cash position", "integer",
         f"INDEX($A${first}:$A${last},MATCH(MIN($I${first}:$I${last}),$I${first}:$I${last},0))"),
        ("npv", "Net present value of the provider's flows", "money",
         f"SUMPRODUCT($H${first}:$H${last}/(1+{{discount_rate}})^($A${first}:$A${last}/12))"),
        ("total_cost", "Total delivery cost", "money", f"SUM($C${first}:$C${last})"),
        ("total_income", "Total income (fees and outcome payments)", "money",
         f"SUM($F${first}:$G${last})"),
    ]
    for i, (key, label, kind, tpl) in enumerate(summary):
        b.where[key] = ("Cash flow", 5 + i)
        b.fixed[key] = "L"
        c = b.text(ws, 5 + i, 11, label, _BOLD)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        b.formula(ws, 5 + i, 12, tpl, 0, kind)
    ws.freeze_panes = "B5"
    _print_setup(ws, "Cash flow", 4, pages_tall=0)


def _write_read_me(b: _Book, title: str, subtitle: str, notes: Sequence[str],
                   simulation: Mapping[str, float] | None, generated: str) -> None:
    ws = b.wb.active
    ws.title = "Read me"
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 120
    b.text(ws, 1, 1, title, _TITLE)
    b.text(ws, 2, 1, subtitle)
    rows: list[tuple[str, str | None, str | None]] = [
        ("What this is", "A live tariff workbook: change the yellow cells on the Inputs sheet "
         "and the Prices, Tariff, Payments and Cash flow sheets recalculate. The green Evidence "
         "block holds what the evaluation estimated and stays fixed.", None),
        ("Advice: pilot", None,
         f'IF({{recommended}}<0.5*{{ceiling}},{_q(ADVICE["pilot"][0])},{_q(ADVICE["pilot"][1])})'),
        ("Advice: attachment fees", None,
         f'IF({{break_even}}>{{paid}},{_q(ADVICE["attachment"][0])},IF({{peak_wc}}>0.25*'
         f'{{total_cost}},{_q(ADVICE["attachment"][1])},{_q(ADVICE["attachment"][2])}))'),
        ("Advice: segment", None,
         f'IF({{ev_centre}}/{{expected_rate}}>0.5,{_q(ADVICE["segment"][0])},'
         f'{_q(ADVICE["segment"][1])})'),
        ("Two different risks", "The recommended price's risk (the Inputs sheet's chance of "
         "paying for deadweight) is about the evidence: the chance that the true "
         "non-intervention rate is higher than the cautious value the price is set at, so "
         "that on average every outcome paid for is worth less than its price. The payment "
         "simulation's risk is about one cohort: the chance that, in the cohort you actually "
         "buy, the payments exceed the value of its additional outcomes. It adds the chance "
         "variation of which people happen to have an outcome and of the rate itself, so it "
         "is usually much larger, and it does not fall as the price falls in the same way. "
         "Use the first to set the price and the second to judge the budget risk.", None),
    ]
    if simulation and simulation.get("prob_commissioner_overpays") is not None:
        rows.append(("In this report", None,
                     '"At the inputs of the report: chance of paying for deadweight at the '
                     'recommended price "&TEXT({risk},"0.0%")&"; payment simulation: chance '
                     'the cohort\'s payments exceed the value of its additional outcomes '
                     f'{float(simulation["prob_commissioner_overpays"]):.1%}."'))
    rows += [
        ("Sheets", "Inputs: your choices and the evidence. Prices: the most worth paying, the "
         "recommended price, its band and risk, the provider's break-even, and prices by risk "
         "and by value. Tariff: what the contract pays. Payments: the expected total and the "
         "budget covering 95 cohorts in 100. Cash flow: the provider's months, peak working "
         "capital and net present value.", None),
        ("Limitations", "The uncertainty is the estimate's sampling error only (not bias from "
         "unmeasured differences). The budget and the trigger use a normal approximation to "
         "the cohort's number of outcomes at the expected rate. Outcomes are paid all at once "
         "after the lags.", None),
        ("Generated", generated, None),
    ]
    rows += [("Note", note, None) for note in notes]
    r = 4
    for label, text, template in rows:
        b.text(ws, r, 1, label, _BOLD).alignment = Alignment(vertical="top")
        if template is None:
            b.text(ws, r, 2, text or "", wrap=True)
        else:
            b.formula(ws, r, 2, template, 0, "text")
            ws.cell(row=r, column=2).alignment = Alignment(wrap_text=True, vertical="top")
            if label.startswith("Advice: "):
                key = {"pilot": "pilot", "attachment fees": "attachment",
                       "segment": "segment"}[label[len("Advice: "):]]
                b.where[f"advice_{key}"] = ("Read me", r)
                b.fixed[f"advice_{key}"] = "B"
        ws.row_dimensions[r].height = 15 * max(1, math.ceil(len(text or "x" * 230) / 115))
        r += 1
    _print_setup(ws, title, None)


def write_live_workbook(
    inputs: Sequence[WhatIfInputs],
    evidence: Sequence[Evidence],
    path: str | Path,
    *,
    title: str = "Tariff workbook",
    subtitle: str = "",
    currency: str = DEFAULT_CURRENCY,
    simulation: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    generated: str = "",
) -> Path:
    """Write the live tariff workbook for one or more paid outcomes.

    Parameters
    ----------
    inputs : sequence of WhatIfInputs
        One per paid outcome (the contract inputs are taken from the first).
    evidence : sequence of Evidence
        The evaluation's evidence, one per paid outcome, in the same order.
    path : str or Path
        The .xlsx file to write (atomically).
    title, subtitle : str
        Shown on the Read me sheet and as page titles (written as text).
    currency : str, default "£"
        The currency symbol of money cells.
    simulation : mapping, optional
        Fixed figures of the payment simulation (``mean``, ``budget_p95``,
        ``prob_commissioner_overpays``, ``prob_provider_loss``), shown
        labelled as fixed on the Payments sheet.
    notes : sequence of str
        Further notes for the Read me sheet.
    generated : str
        When the workbook was made.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> from openpyxl import load_workbook
    >>> ev = Evidence("not reoffended", 0.55, 0.02, "logit")
    >>> inp = WhatIfInputs(5000.0, 0.62, cohort_size=600, cost_per_participant=250.0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_live_workbook([inp], [ev], os.path.join(d, "tariff.xlsx"))
    ...     load_workbook(p).sheetnames
    ['Read me', 'Inputs', 'Prices', 'Tariff', 'Payments', 'Cash flow', 'Draws']
    """
    b = _build(inputs, evidence, title=title, subtitle=subtitle, currency=currency,
               simulation=simulation, notes=notes, generated=generated)
    return save_workbook(b.wb, path)


def _build(inputs: Sequence[WhatIfInputs], evidence: Sequence[Evidence], *, title: str = "",
           subtitle: str = "", currency: str = DEFAULT_CURRENCY,
           simulation: Mapping[str, float] | None = None, notes: Sequence[str] = (),
           generated: str = "") -> _Book:
    inputs, evidence = list(inputs), list(evidence)
    if not inputs or len(inputs) != len(evidence):
        from pbr_eval.exceptions import OptionError

        raise OptionError(f"`inputs` and `evidence` must be one per paid outcome; got "
                          f"{len(inputs)} and {len(evidence)}.")
    b = _Book(len(inputs), currency)
    # the Read me sheet is the first (active) sheet, written last: it references all others
    draws_rows = {j: len(ev.draws or ()) for j, ev in enumerate(evidence)}
    _install_draws_ref(b, draws_rows)
    _write_inputs(b, inputs, evidence)
    _write_prices(b, evidence)
    _write_tariff(b, evidence)
    _write_payments(b, evidence, simulation)
    _write_cash_flow(b)
    _write_read_me(b, title, subtitle, notes, simulation, generated)
    ws = b.wb.create_sheet("Draws")
    ws.sheet_state = "hidden"
    b.text(ws, 1, 1, "Draws of the non-intervention rate (used by the formulas)")
    for j, ev in enumerate(evidence):
        b.text(ws, 1, 2 + j, _plain(ev.outcome))
        for i, x in enumerate(ev.draws or ()):
            ws.cell(row=2 + i, column=2 + j, value=float(x))
    return b


def cell_addresses(inputs: Sequence[WhatIfInputs],
                   evidence: Sequence[Evidence]) -> dict[str, list[tuple[str, str]]]:
    """Where each quantity sits: key -> one ``(sheet, cell)`` per paid outcome.

    The keys are this module's own (``recommended``, ``budget_95``, ``npv``, ...);
    the tests use them to change input cells and read results after recalculation.
    """
    b = _build(inputs, evidence)
    return {key: [(sheet, f"{b.fixed.get(key) or b.col(j)}{row}") for j in range(b.n)]
            for key, (sheet, row) in b.where.items()}


def _install_draws_ref(b: _Book, draws_rows: Mapping[int, int]) -> None:
    """``{ev_draws}`` of outcome ``j`` is exactly its own draws (at least one cell)."""
    plain_ref = b.ref

    def ref(key: str, j: int = 0) -> str:
        if key == "ev_draws":
            col = b.col(j)
            return f"'Draws'!${col}$2:${col}${1 + max(1, draws_rows.get(j, 0))}"
        return plain_ref(key, j)

    b.ref = ref  # type: ignore[method-assign]


def workbook_labels(path: str | Path) -> list[str]:
    """Every text a reader sees in a workbook written here (cells, comments, validations, headers).

    Used by the tests to check that no label is a code identifier.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path)
    out: list[str] = list(wb.sheetnames)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.startswith("="):
                    out.append(cell.value)
                elif isinstance(cell.value, str):  # a formula: its quoted words are labels
                    out += [s for s in cell.value.split('"')[1::2] if " " in s]
                if cell.comment is not None:
                    out.append(cell.comment.text)
        for dv in ws.data_validations.dataValidation:
            out += [x for x in (dv.error, dv.errorTitle, dv.prompt, dv.promptTitle) if x]
        out += [ws.oddHeader.center.text or "", ws.oddFooter.left.text or ""]
    return [s for s in out if s]


def _recommendation(pricing: Any) -> Any:
    """Return the :class:`~pbr_eval.pricing.PriceRecommendation` in ``pricing`` (object or dict), or None."""
    return recommendation_of(pricing)


def workbook_inputs(results: Any, pricing: Any,
                    contract: Mapping[str, Any] | None = None,
                    ) -> tuple[list[WhatIfInputs], list[Evidence], dict[str, float] | None]:
    """Return the workbook's starting inputs and evidence from a report's results and pricing bundle.

    Parameters
    ----------
    results : CounterfactualResults or dict
        The estimates (their distributions become the Evidence block).
    pricing : PriceRecommendation, dict or bundle
        A recommendation (or its ``to_dict()``), or a bundle with
        ``recommendation`` and optionally ``cashflow`` (the contract's lags,
        fee and cost) and ``simulation`` (fixed figures for the Payments sheet).
    contract : mapping, optional
        Overrides: ``cohort_size``, ``cost_per_participant``, ``attachment_fee``,
        ``referrals_per_month``, ``months_of_referrals``, ``outcome_lag``,
        ``payment_lag``, ``discount_rate``.

    Returns
    -------
    (list of WhatIfInputs, list of Evidence, dict or None)

    Raises
    ------
    OptionError
        When ``pricing`` holds no price recommendation.
    """
    from dataclasses import replace

    outcomes = contract_outcomes(results, pricing, contract)
    sim = _part(pricing, "simulation") if not hasattr(pricing, "to_frame") else None
    simulation = None
    if sim is not None and hasattr(sim, "budget_at"):
        simulation = {"budget_p95": float(sim.budget_at(0.95)),
                      "prob_commissioner_overpays": float(sim.prob_commissioner_overpays)}
        try:
            simulation["prob_provider_loss"] = float(sim.prob_provider_loss)
        except Exception:  # noqa: BLE001 - no provider cost in the simulation
            pass
    # the sheet's rows bound the lags and the profile (a longer contract is cut to fit)
    inputs = [replace(o.inputs, outcome_lag=min(o.inputs.outcome_lag, _MAX_OUTCOME_LAG),
                      payment_lag=min(o.inputs.payment_lag, _MAX_PAYMENT_LAG),
                      referral_profile=o.inputs.referral_profile[:PROFILE_MONTHS])
              for o in outcomes]
    return inputs, [o.evidence for o in outcomes], simulation


def write_tariff_workbook(results: Any, path: str | Path, *, pricing: Any,
                          title: str | None = None, generated: str = "",
                          currency: str = DEFAULT_CURRENCY, notes: Sequence[str] = (),
                          contract: Mapping[str, Any] | None = None) -> Path:
    """Return the live tariff workbook of a report: :func:`workbook_inputs` then :func:`write_live_workbook`.

    Examples
    --------
    >>> import tempfile, os, pbr_eval
    >>> rec = pbr_eval.price(0.55, se=0.02, value_per_outcome=5000, expected_rate=0.62,
    ...                      outcome_name="not reoffended", cost_per_participant=250)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_tariff_workbook(None, os.path.join(d, "tariff.xlsx"), pricing=rec)
    ...     p.name
    'tariff.xlsx'
    """
    inputs, evidence, simulation = workbook_inputs(results, pricing, contract)
    return write_live_workbook(inputs, evidence, path, title=title or "Tariff workbook",
                               subtitle="Prices, tariff, payments and cash flow from the "
                               "evaluation's non-intervention rate", currency=currency,
                               simulation=simulation, notes=notes, generated=generated)
