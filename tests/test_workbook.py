"""The live tariff workbook: the report route, plain labels, no macros, print set-up, PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from test_workbook_recalc import recalculate

import pbr_eval
from pbr_eval.pricing.whatif import Evidence, WhatIfInputs
from pbr_eval.reporting.workbook import (
    cell_addresses,
    workbook_inputs,
    workbook_labels,
    write_live_workbook,
)

LIVE_SHEETS = ["Read me", "Inputs", "Prices", "Tariff", "Payments", "Cash flow", "Draws"]
#: What a code identifier looks like: snake_case, camelCase / CamelCase, a call, p05-style names.
IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+[A-Z]\w*\b|"
                        r"\b[A-Z][a-z]+[A-Z][A-Za-z]*\b|\b\w+\(\)|\bp\d{2}\b|\bGBP\b")


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    """The demo's workbook, as `pbr-eval demo` writes it."""
    from pbr_eval.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out)
    return out / "workbook.xlsx"


@pytest.fixture(scope="module")
def two_outcome_book(tmp_path_factory):
    ev = [Evidence("into_work", 0.2, 0.015, "logit"),
          Evidence("days_in_work", 40.0, 3.5, "log", outcome_type="count"),
          Evidence("=HYPERLINK(\"x\")", 0.0, 0.0, "draws",
                   tuple(np.random.default_rng(1).beta(20, 80, 300)))]
    inp = [WhatIfInputs(4000.0, 0.3, attachment_fee=150.0, cohort_size=400),
           WhatIfInputs(50.0, 55.0, cohort_size=400, trigger=50.0),
           WhatIfInputs(3000.0, 0.35, cohort_size=400, mpl_uplift=0.1)]
    path = tmp_path_factory.mktemp("two") / "book.xlsx"
    return write_live_workbook(inp, ev, path, title="Families: =cmd|' /C calc'!A0",
                               currency="€"), inp, ev


def test_tariff_report_writes_the_live_workbook(demo_book):
    wb = load_workbook(demo_book)
    assert wb.sheetnames == LIVE_SHEETS
    assert wb["Draws"].sheet_state == "hidden"
    prices = wb["Prices"]
    formulas = [c.value for row in prices.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(formulas) >= 20
    # the inputs are validated, commented, yellow
    ws = wb["Inputs"]
    assert len(ws.data_validations.dataValidation) >= 16
    risk = ws["B5"]
    assert risk.value == pytest.approx(0.025) and risk.comment is not None
    assert risk.fill.fgColor.rgb.endswith("FFF2CC")


def test_demo_workbook_recalculates_to_the_python_prices(demo_book, tmp_path):
    """Opened in LibreOffice with nothing changed, the formulas give pbr_eval's own price."""
    import json

    from pbr_eval.demo import DEMO_CONTRACT

    payload = json.loads((demo_book.parent / "results.json").read_text())
    # the demo's contract (attachment fee, cost) feeds the workbook's prices
    rec = pbr_eval.price(payload, value_per_outcome=5000, better="lower",
                         outcomes=["reoffended"],
                         attachment_fee=DEMO_CONTRACT["attachment_fee"],
                         cost_per_participant=DEMO_CONTRACT["cost_per_participant"])
    inputs, evidence, _ = workbook_inputs(payload, rec)
    cells = cell_addresses(inputs, evidence)
    reads = [f"{s}!{c}" for k in ("recommended", "band_lower", "band_upper", "deadweight")
             for s, c in cells[k][:1]]
    (got,), = recalculate([{"workbook": str(demo_book), "sets": [{"set": {}, "read": reads}]}],
                          tmp_path)
    row = rec.to_frame().iloc[0]
    assert got[0] == pytest.approx(row["recommended"], abs=0.005)
    assert got[1] == pytest.approx(row["band_lower"], abs=0.005)
    assert got[2] == pytest.approx(row["band_upper"], abs=0.005)
    assert got[3] == pytest.approx(row["prob_overpay"], abs=1e-6)
    assert row["band_upper"] > 0


def test_no_macros_and_formulas_only_from_own_references(two_outcome_book):
    path, _, _ = two_outcome_book
    names = zipfile.ZipFile(path).namelist()
    assert not any("vba" in n.lower() or n.endswith(".bin") for n in names)
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert "HYPERLINK" not in c.value and "cmd" not in c.value, c.coordinate
                    # only sheet names this module wrote appear in references
                    for sheet in re.findall(r"'([^']+)'!", c.value):
                        assert sheet in LIVE_SHEETS, (ws.title, c.coordinate, sheet)
    read_me = wb["Read me"]
    assert read_me["A1"].value == "Families: =cmd|' /C calc'!A0"  # text, never a formula
    assert read_me["A1"].data_type == "s"
    texts = [c.value for row in wb["Inputs"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=HYPERLINK(\"x\")" in texts  # an outcome name, neutralised text
    _, inp, ev = two_outcome_book
    sheet, ref = cell_addresses(inp, ev)["recommended"][0]
    assert '"€"' in wb[sheet][ref].number_format


def test_no_label_is_a_code_identifier(demo_book, two_outcome_book):
    labels = workbook_labels(demo_book) + workbook_labels(two_outcome_book[0])
    assert len(labels) > 150
    bad = sorted({m.group(0) for s in labels for m in IDENTIFIER.finditer(s)})
    assert bad == [], bad


def test_identifier_pattern_catches_code(tmp_path):
    for code in ("commissioner_net", "provider_margin", "p05", "AttachmentFee",
                 "deadweight_discount=0.0", "prob_overpay", "GBP 15,000", "to_frame()"):
        assert IDENTIFIER.search(code), code
    for words in ("Provider's break-even price per outcome", "Chance of paying for deadweight",
                  "Month 12", "£15,000", "log-odds"):
        assert not IDENTIFIER.search(words), words


def test_print_setup(demo_book):
    wb = load_workbook(demo_book)
    for ws in wb.worksheets:
        if ws.sheet_state == "hidden":
            continue
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.oddHeader.center.text
    assert wb["Cash flow"].print_title_rows == "$4:$4"
    assert wb["Prices"].print_title_rows == "$4:$4"


def _pdf_pages(xlsx: Path, tmp_path: Path) -> list[str]:
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is needed: apt-get install libreoffice-calc-nogui "
                    "(.ci/run installs it).")
    from pypdf import PdfReader

    run = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                         capture_output=True, text=True, timeout=300)
    pdf = tmp_path / (xlsx.stem + ".pdf")
    assert pdf.exists(), run.stderr
    return [p.extract_text() for p in PdfReader(pdf).pages]


def test_demo_pdf_is_at_most_8_pages_with_no_cut_table(demo_book, tmp_path):
    pages = _pdf_pages(demo_book, tmp_path)
    assert len(pages) <= 8, len(pages)
    by_sheet: dict[str, list[str]] = {}
    for text in pages:
        sheet = next(s for s in LIVE_SHEETS if f"{s} Page" in text or f"{s}Page" in text)
        by_sheet.setdefault(sheet, []).append(text)
    assert "Draws" not in by_sheet  # the hidden sheet is not printed
    assert set(by_sheet) == set(LIVE_SHEETS) - {"Draws"}
    # one page each, except the long cash flow, whose every page repeats the whole header
    for sheet, texts in by_sheet.items():
        assert len(texts) == 1 or sheet == "Cash flow", (sheet, len(texts))
    for text in by_sheet["Cash flow"]:
        flat = " ".join(text.split())
        for label in ("Month", "Referrals", "Delivery cost", "Net cash flow", "(cumulative)"):
            assert label in flat, label  # every column on every page: no table cut
    # the last month and the last price-by-value row are printed (nothing cut off the bottom)
    assert re.search(r"\b71 ", " ".join(by_sheet["Cash flow"]))
    assert "200%" in by_sheet["Prices"][0]


def test_workbook_command(demo_book, tmp_path, capsys):
    from pbr_eval.cli import main

    results = demo_book.parent / "results.json"
    out = tmp_path / "board" / "tariff.xlsx"
    assert main(["workbook", str(results), "--out", str(out), "--value-per-outcome", "8000", "--better",
                 "lower", "--outcome", "reoffended", "--cost-per-participant", "300", "--attachment-fee", "100",
                 "--cohort-size", "600", "--outcome-lag", "18", "--currency", "€"]) == 0
    wb = load_workbook(out)
    assert wb.sheetnames == LIVE_SHEETS
    inputs = {row[0].value: row[1].value for row in wb["Inputs"].iter_rows(min_row=5)}
    assert inputs["Value of one additional outcome"] == 8000
    assert inputs["Attachment fee per participant"] == 100
    assert inputs["Cohort size"] == 600
    assert inputs["Months from referral to evidence of the outcome"] == 18
    assert '"€"' in wb["Inputs"]["B7"].number_format
    # a results file without prices and no --value: a plain error, no traceback
    bare = tmp_path / "bare.json"
    import json

    payload = json.loads(results.read_text())
    payload.pop("prices")
    bare.write_text(json.dumps(payload))
    capsys.readouterr()
    assert main(["workbook", str(bare), "--out", str(tmp_path / "x.xlsx")]) != 0
    err = capsys.readouterr().err
    assert "holds no prices; give --value-per-outcome" in err and "Traceback" not in err
    assert main(["workbook", str(results), "--out", str(tmp_path / "y.xlsx"),
                 "--discount-rate", "3.5"]) != 0
    assert "`discount_rate` must be a number between 0 and 1" in capsys.readouterr().err
