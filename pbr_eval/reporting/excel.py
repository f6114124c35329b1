"""Render a report context as an Excel workbook (openpyxl).

One sheet per table: the recommended prices and bands, the tariff, the
payment simulation summary, the cash-flow schedule, the sensitivity tables,
the estimates and the balance table, plus a README sheet saying how the
workbook was made. Numbers are written as numbers with number formats
(percentages, GBP, counts), headers are bold and frozen, and every text cell
is written as text with formula characters neutralised
(:func:`~pbr_eval.reporting.safety.neutralise_formula`), so a category label
such as ``=HYPERLINK(...)`` cannot run.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pbr_eval.disclosure import is_hidden
from pbr_eval.reporting.figures import render_png
from pbr_eval.reporting.formatting import cell_format
from pbr_eval.reporting.safety import neutralise_formula

__all__ = ["write_workbook", "SHEETS", "NUMBER_FORMATS"]

#: Section id -> sheet name, in workbook order.
SHEETS: dict[str, str] = {
    "prices": "Prices",
    "tariff": "Tariff",
    "simulation": "Payment simulation",
    "cashflow": "Cash flow",
    "price_sensitivity": "Price sensitivity",
    "sensitivity": "Hidden-bias sensitivity",
    "estimates": "Estimates",
    "balance": "Balance",
    "claims": "Claims",
    "areas": "Areas",
}

#: Context format -> Excel number format.
NUMBER_FORMATS: dict[str, str] = {
    "pct": "0.0%",
    "pp": '+0.0%;-0.0%;0.0%',
    "gbp": '"£"#,##0;-"£"#,##0',
    "int": "#,##0",
    "num": "0.000",
    "ratio": "0.00",
}

#: Unit shown in a column header, by format (the cells carry the matching number format).
_UNITS: dict[str, str] = {"gbp": " (GBP)", "pct": " (%)", "pp": " (percentage points)"}

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")


def _text_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    cell = ws.cell(row=row, column=col)
    cell.value = neutralise_formula(str(value))
    cell.data_type = "s"  # never a formula, whatever the text
    return cell


def _write_value(ws: Any, row: int, col: int, value: Any, fmt: str) -> None:
    if value is None:
        _text_cell(ws, row, col, "n/a")
        return
    if is_hidden(value) or isinstance(value, str) or isinstance(value, bool):
        _text_cell(ws, row, col, value)
        return
    try:
        v = float(value)
    except (TypeError, ValueError):
        _text_cell(ws, row, col, value)
        return
    if not math.isfinite(v):
        _text_cell(ws, row, col, "n/a")
        return
    cell = ws.cell(row=row, column=col, value=int(v) if fmt == "int" and v.is_integer() else v)
    cell.number_format = NUMBER_FORMATS.get(fmt, "General")


def _write_table(ws: Any, t: dict[str, Any]) -> None:
    cols = t["columns"]
    for j, c in enumerate(cols, start=1):
        unit = _UNITS.get(c["fmt"], "")
        label = c["label"] if not unit or unit.strip(" ()") in c["label"] else c["label"] + unit
        cell = _text_cell(ws, 1, j, label)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(c["label"]) + 4))
    for i, row in enumerate(t["rows"], start=2):
        for j, c in enumerate(cols, start=1):
            _write_value(ws, i, j, row.get(c["key"]), cell_format(row, c))
    ws.freeze_panes = "B2" if cols and cols[0]["fmt"] == "text" else "A2"


def _sheet_name(title: str, taken: list[str]) -> str:
    """A valid, unique sheet name (31 characters, none of ``[]:*?/\\``) from a title."""
    base = re.sub(r"[\[\]:*?/\\']", " ", str(title)).strip()[:28] or "Sheet"
    name, k = base, 2
    while name.lower() in (t.lower() for t in taken):
        name, k = f"{base[:26]} {k}", k + 1
    return name


def _readme(ws: Any, ctx: dict[str, Any]) -> None:
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100
    rows: list[tuple[str, Any]] = [
        ("Workbook", ctx["title"]),
        ("Cohort", ctx["subtitle"]),
        ("Generated", ctx["generated"]),
        ("How it was made", "pbr_eval estimated the non-intervention rate (the outcome rate the "
         "programme's people would have had anyway) and turned it into prices; see the sheets."),
        ("Disclosure control", ctx["disclosure"]["text"]),
        ("Symbols", f"{ctx['disclosure']['suppressed']} = count suppressed; "
         f"{ctx['disclosure']['withheld']} = rate withheld; n/a = not computable."),
    ]
    rows += [("Warning", w) for w in ctx["warnings"]]
    rows += [("Headline", h) for h in ctx["headline"]]
    for s in ctx["sections"]:
        sheet = SHEETS.get(s["id"])
        if sheet:
            rows.append((f"Sheet '{sheet}'", s["title"] if s["available"]
                         else f"Not available: {s['reason']}."))
    for k, v in ctx["provenance"].items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        rows.append((f"Provenance: {k}", v))
    for i, (k, v) in enumerate(rows, start=1):
        _text_cell(ws, i, 1, k).font = _HEADER_FONT
        _write_value(ws, i, 2, v, "text")
        ws.cell(row=i, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def write_workbook(ctx: dict[str, Any], path: str | Path, *, figures: bool = True) -> Path:
    """Write the context as an .xlsx workbook.

    Parameters
    ----------
    ctx : dict
        From :func:`~pbr_eval.reporting.context.build_context`.
    path : str or Path
        Where to write (the caller has confined it to the output folder).
    figures : bool, default True
        Also place each section's figures beside its table.

    Returns
    -------
    Path
    """
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    _readme(readme, ctx)
    by_id = {s["id"]: s for s in ctx["sections"]}
    for sid, sheet in SHEETS.items():
        ws = wb.create_sheet(sheet)
        s = by_id.get(sid)
        if s is None or not s["available"] or not s["tables"]:
            reason = s["reason"] if s is not None and s["reason"] else "not part of this report"
            _text_cell(ws, 1, 1, f"Not available: {reason}.").font = _HEADER_FONT
            ws.column_dimensions["A"].width = 90
            continue
        _write_table(ws, s["tables"][0])
        for extra in s["tables"][1:]:  # further tables of a section get their own sheets
            _write_table(wb.create_sheet(_sheet_name(extra["title"], wb.sheetnames)), extra)
        if figures and s["plots"]:
            from openpyxl.drawing.image import Image

            ncol = len(s["tables"][0]["columns"])
            for k, p in enumerate(s["plots"]):
                img = Image(io.BytesIO(render_png(p)))
                img.width, img.height = img.width * 0.8, img.height * 0.8
                ws.add_image(img, f"{get_column_letter(ncol + 2)}{2 + 22 * k}")
    path = Path(path)
    wb.save(path)
    return path
