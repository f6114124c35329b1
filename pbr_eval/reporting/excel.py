"""Render a built report as an Excel workbook (openpyxl).

A README sheet (how the workbook was made, the headline, warnings, the
disclosure rule, which sheets are filled, provenance), then one sheet per
registered section that names a ``sheet``, in report order: the section's
first table, with its figures beside it; its further tables get sheets of
their own, named by their titles. Numbers are written as numbers with the
number format of their kind (money with the report's currency, rates as
percentages, counts as counts, ratios as ratios), headers are bold and
frozen, and every text cell is written as text with formula characters
neutralised (:func:`~pbr_eval.reporting.safety.neutralise_formula`), so a
category label such as ``=HYPERLINK(...)`` cannot run. The file is written
atomically (:func:`pbr_eval.io.write_bytes`).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pbr_eval.disclosure import MARKER, is_hidden
from pbr_eval.figures import render_png
from pbr_eval.kinds import Column, excel_format, finite_number, resolve_kind
from pbr_eval.reporting.model import Report, Section, Table
from pbr_eval.reporting.safety import neutralise_formula
from pbr_eval.reporting.text import paragraph_text, provenance_items

__all__ = ["write_workbook", "workbook_bytes", "header_label"]

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")


def header_label(col: Column, kinds: set[str], currency: str) -> str:
    """Return a column header with its unit when every cell of the column has the same kind."""
    unit = ""
    if len(kinds) == 1:
        kind = next(iter(kinds))
        unit = {"money": f" ({currency.strip() or 'money'})", "rate": " (%)",
                "probability": " (%)", "rate_difference": " (difference, %)"}.get(kind, "")
    return col.label if not unit or unit.strip(" ()") in col.label else col.label + unit


def _text_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    cell = ws.cell(row=row, column=col)
    cell.value = neutralise_formula(str(value))
    cell.data_type = "s"  # never a formula, whatever the text
    return cell


def _write_value(ws: Any, row: int, col: int, value: Any, kind: str, currency: str) -> None:
    if is_hidden(value):
        _text_cell(ws, row, col, MARKER)
        return
    if kind == "text" or isinstance(value, (str, bool)):
        _text_cell(ws, row, col, "n/a" if value is None else value)
        return
    v = finite_number(value)
    if v is None:
        _text_cell(ws, row, col, "n/a")
        return
    whole = kind in ("count", "planned_count", "integer") and v.is_integer()
    cell = ws.cell(row=row, column=col, value=int(v) if whole else v)
    cell.number_format = excel_format(kind, currency=currency)


def _write_table(ws: Any, t: Table, currency: str) -> None:
    cols = list(t.schema)
    for j, c in enumerate(cols, start=1):
        kinds = {resolve_kind(c, r) for r in t.rows} or {c.kind}
        cell = _text_cell(ws, 1, j, header_label(c, kinds, currency))
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(40, len(c.label) + 4))
    for i, row in enumerate(t.rows, start=2):
        for j, c in enumerate(cols, start=1):
            _write_value(ws, i, j, row.get(c.name), resolve_kind(c, row), currency)
    ws.freeze_panes = "B2" if cols and cols[0].kind == "text" else "A2"


def _sheet_name(title: str, taken: list[str]) -> str:
    r"""Return a valid, unique sheet name (31 characters, none of ``[]:*?/\``) from a title."""
    base = re.sub(r"[\[\]:*?/\\']", " ", str(title)).strip()[:28] or "Sheet"
    name, k = base, 2
    while name.lower() in (t.lower() for t in taken):
        name, k = f"{base[:26]} {k}", k + 1
    return name


def _readme(ws: Any, report: Report) -> None:
    cur = report.currency
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100
    rows: list[tuple[str, str]] = [
        ("Workbook", report.title),
        ("Cohort", paragraph_text(report.subtitle, cur)),
        ("Generated", report.generated),
        ("How it was made", "pbr-eval estimated the non-intervention rate (the outcome rate the "
         "programme's people would have had anyway) and turned it into prices; see the sheets."),
        ("Disclosure control", paragraph_text(report.disclosure, cur)),
        ("Symbols", f"{MARKER} = hidden by disclosure control; n/a = not computable."),
    ]
    for s in report.sections:
        if s.role == "warning" and s.available:
            rows += [("Warning", paragraph_text(p, cur)) for p in s.paragraphs]
        if s.role == "headline":
            rows += [("Headline", paragraph_text(p, cur)) for p in s.paragraphs]
    for s in report.sections:
        sheet = report.sheets.get(s.id)
        if sheet:
            rows.append((f"Sheet '{sheet}'", s.title if s.available
                         else f"Not available: {s.reason}."))
    rows += [(f"Provenance: {k}", v) for k, v in provenance_items(report.provenance)]
    rows.append(("Provenance data", "The same with its machine-readable keys: the hidden "
                 "sheet 'Provenance data' (unhide it to read it)."))
    for i, (k, v) in enumerate(rows, start=1):
        _text_cell(ws, i, 1, k).font = _HEADER_FONT
        _text_cell(ws, i, 2, v).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def _section_sheet(wb: Any, ws: Any, s: Section, currency: str, figures: bool) -> None:
    if not s.available or not s.tables:
        reason = s.reason if not s.available and s.reason else "no table in this section"
        _text_cell(ws, 1, 1, f"Not available: {reason}.").font = _HEADER_FONT
        ws.column_dimensions["A"].width = 90
        return
    _write_table(ws, s.tables[0], currency)
    for extra in s.tables[1:]:  # further tables of a section get their own sheets
        _write_table(wb.create_sheet(_sheet_name(extra.title, wb.sheetnames)), extra, currency)
    if figures and s.figures:
        from openpyxl.drawing.image import Image

        ncol = len(s.tables[0].schema)
        for k, f in enumerate(s.figures):
            img = Image(io.BytesIO(render_png(f.name, f.data, title=f.title)))
            img.width, img.height = img.width * 0.8, img.height * 0.8
            ws.add_image(img, f"{get_column_letter(ncol + 2)}{2 + 22 * k}")


def _provenance_sheet(ws: Any, report: Report) -> None:
    """Write the machine-readable provenance (keys and values as recorded) on a hidden sheet."""
    ws.sheet_state = "hidden"
    _text_cell(ws, 1, 1, "key").font = _HEADER_FONT
    _text_cell(ws, 1, 2, "value").font = _HEADER_FONT
    for i, (k, v) in enumerate(report.provenance.items(), start=2):
        _text_cell(ws, i, 1, k)
        _text_cell(ws, i, 2, json.dumps(v, default=str) if not isinstance(v, str) else v)


def workbook_bytes(report: Report, *, figures: bool = True) -> bytes:
    """Return the report as the bytes of an .xlsx workbook."""
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    _readme(readme, report)
    for s in report.sections:
        sheet = report.sheets.get(s.id)
        if sheet:
            _section_sheet(wb, wb.create_sheet(_sheet_name(sheet, wb.sheetnames)), s,
                           report.currency, figures)
    _provenance_sheet(wb.create_sheet("Provenance data"), report)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbook(report: Report, path: str | Path, *, figures: bool = True) -> Path:
    """Write a built report as an .xlsx workbook (atomically).

    Parameters
    ----------
    report : Report
        From :func:`~pbr_eval.reporting.build.build_report`.
    path : str or Path
        Where to write (the caller has confined it to the output folder).
    figures : bool, default True
        Also place each section's figures beside its table.

    Returns
    -------
    Path
    """
    from pbr_eval.io import write_bytes

    return write_bytes(path, workbook_bytes(report, figures=figures))
