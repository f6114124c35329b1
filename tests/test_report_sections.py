"""The section registry, formats by kind and disclosure control over a whole report.

One report with every part (prices, tariff, simulation, cash flow, hidden-bias checks,
claims, areas, rows left out) is built and written in every format; the tests check

* the registry is the single source: docs/reports.md's table, `pbr_eval.report`'s keywords,
  the workbook's sheets and the analysis file's [report] keys agree with it, and a new
  section is one decorated function;
* every value is shown by its declared kind (no E-value or ratio as money, no count as a
  percentage) in the HTML, Markdown and workbook;
* no hidden count appears in words, and no hidden cell of any table (claims and areas
  included) can be worked out from what the report shows, checked by solving the
  relations a reader could use, declared here independently of the sections.
"""

from __future__ import annotations

import html as htmllib
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _recover import rank_recoverable
from openpyxl import load_workbook

import pbr_eval
from pbr_eval.analysis import SCHEMA, commissioner_bundle, hidden_bias_sensitivity
from pbr_eval.areas import area_rates, area_tariffs
from pbr_eval.claims import simulate_claims, validate_claims
from pbr_eval.datasets import load_reoffending
from pbr_eval.disclosure import MARKER, DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import finite_number, resolve_kind
from pbr_eval.reporting import (
    OPTIONS,
    SECTIONS,
    build,
    report_inputs,
    report_parts,
    section,
    sections_for,
    sheets_for,
)
from pbr_eval.reporting.model import Paragraph, Section, Table, Value
from pbr_eval.reporting.text import cell_text, paragraph_text

THR = 15
DOCS = Path(__file__).resolve().parents[1] / "docs" / "reports.md"


@pytest.fixture(scope="module")
def full() -> dict:
    sim = load_reoffending()
    data = sim.data.copy()
    t = np.flatnonzero(data["treated"].to_numpy() == 1)[:3]
    c = np.flatnonzero(data["treated"].to_numpy() == 0)[:40]
    data.loc[data.index[np.r_[t, c]], "age"] = np.nan  # 3 programme rows left out
    cohort = pbr_eval.Cohort(data, missing="drop", **sim.cohort_args)
    res = pbr_eval.estimate(cohort)
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         attachment_fee=100.0, cost_per_participant=300.0,
                         cohort_size=cohort.n_treated)
    bundle = commissioner_bundle(rec, cohort_size=cohort.n_treated, cost_per_participant=300.0,
                                 referrals_per_month=50, months_of_referrals=12,
                                 attachment_fee=100.0, draws=400, seed=1)
    sens = hidden_bias_sensitivity(res, cohort, better="lower")
    rates = area_rates(cohort, outcome="reoffended")
    tariffs = area_tariffs(rates, value_per_outcome=5000, effect=0.05)
    cs = simulate_claims(300, seed=2)
    cv = validate_claims(cs.claims, cs.records, cs.rules, members=cs.members)
    parts = dict(pricing=bundle, sensitivity=sens, claims=cv, areas=rates, area_tariffs=tariffs)
    return {"res": res, "cohort": cohort, "parts": parts, "rates": rates, "tariffs": tariffs,
            "cv": cv, "bundle": bundle}


@pytest.fixture(scope="module")
def built(full):
    return {kind: build(full["res"], kind=kind, threshold=THR, generated="2026-01-01",
                        **full["parts"]) for kind in ("pilot", "tariff")}


@pytest.fixture(scope="module")
def written(full, tmp_path_factory):
    d = tmp_path_factory.mktemp("full")
    out = {}
    for name in ("pilot.html", "pilot.md", "tariff.html"):
        kind = "tariff" if name.startswith("tariff") else "pilot"
        out[name] = pbr_eval.report(full["res"], d / name, kind=kind, threshold=THR,
                                    generated="2026-01-01", **full["parts"])[0]
    # the table workbook of the tariff report (pbr_eval.report writes the live tariff
    # workbook for a tariff .xlsx with prices: tests/test_workbook.py)
    from pbr_eval.reporting import build, write_workbook

    out["tariff.xlsx"] = write_workbook(build(full["res"], kind="tariff", threshold=THR,
                                              generated="2026-01-01", **full["parts"]),
                                        d / "tariff.xlsx")
    return out


# ----------------------------------------------------------------- registry
def _docs_table() -> dict[str, tuple[set[str], str | None, set[str]]]:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("| section | id | reports | workbook sheet | reads |", 1)[1]
    out = {}
    for line in block.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        sid = cells[1].strip("`")
        reads = set(re.findall(r"`(\w+)`", cells[4]))
        out[sid] = ({k.strip() for k in cells[2].split(",")},
                    None if cells[3] == "-" else cells[3], reads)
    return out


def test_docs_table_is_the_registry():
    docs = _docs_table()
    reg = {s.id: (set(s.reports), s.sheet, set(s.needs)) for s in SECTIONS.values()}
    assert docs == reg
    # the Claims and Areas sheets are there (docs/reports.md once missed them)
    assert {"Claims", "Areas"} <= {sheet for _, sheet, _ in docs.values()}


def test_front_door_takes_exactly_the_registered_parts_and_options():
    params = inspect.signature(pbr_eval.report).parameters
    options = [p for p in params if p not in ("results", "path", "parts")]
    assert set(options) == set(OPTIONS)
    doc = pbr_eval.report.__doc__ or ""
    for part in report_parts():
        assert f"``{part}``" in doc, part
    # an analysis file's [report] table sets the report's options (and its outputs)
    assert set(SCHEMA["report"]) - {"outputs"} <= set(OPTIONS)
    with pytest.raises(OptionError, match=r"`boardnote` is not a part of a report; the parts "
                                          r"are 'area_tariffs'.*'sensitivity', 'simulation', "
                                          r"'staggered', 'survival', 'synthetic', 'tariff' \(and the options 'kind'"):
        report_inputs(None, boardnote="x")


def test_workbook_sheets_come_from_the_registry(written):
    wb = load_workbook(written["tariff.xlsx"])
    main = [n for n in wb.sheetnames if n in sheets_for("tariff")]
    assert main == sheets_for("tariff")
    assert wb.sheetnames[0] == "README"
    # a section's further tables follow its sheet (claims by rule, by authority, value)
    i = wb.sheetnames.index("Claims")
    assert wb.sheetnames[i + 1:i + 4] == ["Claims by rule", "Claims by authority",
                                          "Claims value at stake"]


def test_a_new_section_is_one_function(full, tmp_path):
    """Register a section (one function + its decorator): it reaches every format, its sheet
    the workbook, and its input becomes a keyword of pbr_eval.report."""
    from pbr_eval.kinds import Column, Schema
    from pbr_eval.reporting.model import ReportInputs

    @section("board_note", title="Board note", order={"tariff": 55}, needs=("board_note",),
             sheet="Board note")
    def board_note(inputs: ReportInputs) -> Section:
        note = inputs.get("board_note")
        if note is None:
            return Section("board_note", "Board note", available=False, reason="none given")
        table = Table("board_note", "Board note", Schema((Column("item", "text", "Item"),
                                                          Column("people", "count", "People"))),
                      ({"item": "referred", "people": note},))
        return Section("board_note", "Board note", tables=(table,), paragraphs=(
            Paragraph("{n} people were referred.", n=Value(note, "count")),))

    try:
        assert "board_note" in report_parts() and "Board note" in sheets_for("tariff")
        files = {ext: pbr_eval.report(full["res"], tmp_path / f"t.{ext}", kind="tariff",
                                      board_note=4, generated="x")[0]
                 for ext in ("html", "md", "xlsx")}
        html = files["html"].read_text()
        assert '<section id="board_note"><h2>Board note</h2>' in html
        assert f"<p>{MARKER} people were referred.</p>" in html  # 4 people: hidden
        assert "## Board note" in files["md"].read_text()
        wb = load_workbook(files["xlsx"])
        assert wb["Board note"]["B2"].value == MARKER
        assert "board_note" not in [s.id for s in sections_for("pilot")]
    finally:
        del SECTIONS["board_note"]
    assert "board_note" not in report_parts()


# ------------------------------------------------------------ words and kinds
_DIGIT = re.compile(r"\d")


def test_sentences_carry_numbers_only_as_typed_values(full):
    """Every number in a sentence a section writes is a typed Value (so formatted by kind and
    disclosure-controlled); engine text is converted, counts inside it typed as counts."""
    for kind in ("pilot", "tariff"):
        inputs = report_inputs(full["res"], kind=kind, threshold=THR, generated="x",
                               **full["parts"])
        for spec in sections_for(kind):
            s = spec.build(inputs)
            for p in (*s.paragraphs, *s.notes):
                template = p.template if isinstance(p, Paragraph) else p
                assert not _DIGIT.search(re.sub(r"{\w+}", "", template)), (spec.id, template)


def _all_paragraphs(rep):
    for s in rep.sections:
        for p in (*s.paragraphs, *s.notes):
            yield s, p
    yield None, rep.subtitle
    yield None, rep.disclosure


def test_no_hidden_count_in_words(built, written, full):
    policy = DisclosurePolicy(threshold=THR)
    counts = 0
    for rep in built.values():
        for _, p in _all_paragraphs(rep):
            for v in p.values.values():
                if v.kind == "count" and v.value != MARKER:
                    counts += 1  # a count shown in words is never a small one
                    assert not policy.count_is_small(v.value), (p.template, v)
    assert counts > 5
    # a small count given in words is hidden there: a section's sentence with 4 people
    p = Paragraph("{n} people were referred.", n=Value(4, "count"))
    from pbr_eval.reporting.build import _paragraph

    prot = DisclosurePolicy(threshold=THR).protect([])
    assert paragraph_text(_paragraph(p, prot, DisclosurePolicy(threshold=THR)), "£") == \
        f"{MARKER} people were referred."
    # the rows-left-out sentence and table: 3 programme rows are hidden everywhere
    html = htmllib.unescape(re.sub(r"<[^>]+>", " ", written["pilot.html"].read_text()))
    assert (f"Rows left out (cohort): 43 ({MARKER} programme participants, {MARKER} of the "
            f"programme cohort; {MARKER} comparison units), missing values in age (43).") in html
    table = built["pilot"].section("methods").tables[0]
    assert table.rows[0]["n_treated"] == MARKER and table.rows[0]["n"] == 43
    # 40 comparison rows would give the 3 back (43 - 40): hidden too, in the headline as well
    assert table.rows[0]["n_comparison"] == MARKER
    assert (f"Rows left out before estimating: {MARKER} programme participants ({MARKER} of the "
            f"programme cohort) and {MARKER} comparison units, 43 rows in all") in html
    for text in (html, written["pilot.md"].read_text()):
        assert not re.search(r"\b3 programme participants?\b", text)
        assert "(3)" not in text
    # every rendered string of every format: a number of people, claims or rows in words is
    # never a small one
    wb = load_workbook(written["tariff.xlsx"])
    strings = [html, written["pilot.md"].read_text(),
               htmllib.unescape(re.sub(r"<[^>]+>", " ", written["tariff.html"].read_text()))]
    strings += [str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r
                if isinstance(c.value, str)]
    people = re.compile(r"(?<![\w.])(\d[\d,]*) (?:people|persons?|claims?|rows?|families|"
                        r"participants?|programme participants?|comparison units?)\b")
    found = 0
    for text in strings:
        for m in people.finditer(text):
            found += 1
            assert not policy.count_is_small(int(m.group(1).replace(",", ""))), m.group(0)
    assert found > 10


def _expect(kind: str, text: str) -> bool:
    if text in (MARKER, "n/a"):
        return True
    if kind == "money":
        return bool(re.fullmatch(r"-?£[\d,]+", text))
    if kind in ("count", "planned_count", "integer"):
        return bool(re.fullmatch(r"-?[\d,]+", text))
    if kind in ("rate", "probability"):
        return bool(re.fullmatch(r"-?[\d,]+\.\d%", text))
    if kind == "rate_difference":
        return bool(re.fullmatch(r"[+-]\d+\.\d pp", text))
    if kind == "ratio":
        return bool(re.fullmatch(r"-?[\d,]+\.\d\d", text))
    if kind == "p_value":
        return bool(re.fullmatch(r"<0\.001|[01]\.\d{3}", text))
    if kind in ("mean", "mean_difference", "number"):
        return "£" not in text and "%" not in text and bool(re.search(r"\d", text))
    return True


def _html_tables(text: str) -> dict[str, list[list[str]]]:
    out = {}
    for m in re.finditer(r'<table data-name="([^"]+)">(.*?)</table>', text, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", m.group(2), re.S)
        out[m.group(1)] = [[htmllib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
                           for r in rows if "<td" in r]
    return out


def test_every_value_is_shown_by_its_kind(built, written):
    rep = built["tariff"]
    html_tables = _html_tables(written["tariff.html"].read_text())
    checked = {"money": 0, "ratio": 0, "count": 0, "rate": 0, "mean": 0}
    for t in rep.tables():
        cols = [c for c in t.schema if not t.display or c.name in t.display]
        shown = html_tables[t.name]
        for row, cells in zip(t.rows, shown, strict=True):
            for col, text in zip(cols, cells, strict=True):
                kind = resolve_kind(col, row)
                assert text == cell_text(row, col, "£")
                assert _expect(kind, text), (t.name, col.name, kind, text)
                checked[kind] = checked.get(kind, 0) + (text not in (MARKER, "n/a"))
    assert min(checked[k] for k in ("money", "ratio", "count", "rate", "mean")) > 3, checked
    # the defects the old name-guessing made: E-values were money, a count outcome a percentage
    ev = next(t for t in rep.tables() if t.title == "E-values")
    count_row = next(i for i, r in enumerate(ev.rows) if r["outcome_type"] == "count")
    cells = html_tables[ev.name][count_row]
    names = [c.name for c in ev.schema if c.name in ev.display]
    assert cells[names.index("e_value")] == f"{ev.rows[count_row]['e_value']:.2f}"
    assert "£" not in "".join(cells)
    assert not cells[names.index("non_intervention")].endswith("%")


def test_workbook_number_formats_follow_kinds(built, written):
    rep = built["tariff"]
    wb = load_workbook(written["tariff.xlsx"])
    formats = {"money": '"£"#,##0', "count": "#,##0", "rate": "0.0%", "ratio": "0.00",
               "p_value": "0.000", "probability": "0.0%", "mean": "0.000"}
    n = 0
    for sid, sheet in rep.sheets.items():
        s = rep.section(sid)
        if not s.available or not s.tables:
            continue
        for t, name in zip(s.tables, [sheet, *(x.title for x in s.tables[1:])], strict=True):
            ws = wb[name[:28]]
            for i, row in enumerate(t.rows, start=2):
                for j, col in enumerate(t.schema, start=1):
                    cell = ws.cell(row=i, column=j)
                    kind = resolve_kind(col, row)
                    if row.get(col.name) == MARKER:
                        assert cell.value == MARKER
                    elif isinstance(cell.value, (int, float)) and kind in formats:
                        assert cell.number_format == formats[kind], (name, col.name, kind)
                        assert cell.value == pytest.approx(row[col.name])  # full precision
                        n += 1
    assert n > 100


def test_csv_files_hold_plain_numbers(full, tmp_path):
    """Working CSV files carry numbers, never formatted text: no money sign, no percent."""
    from pbr_eval.reporting.safety import write_csv

    ev = full["parts"]["sensitivity"]["E-values"]
    text = write_csv(ev, tmp_path / "e.csv").read_text()
    assert "£" not in text and "%" not in text
    back = pd.read_csv(tmp_path / "e.csv")
    assert back["e_value"].dtype.kind == "f"
    np.testing.assert_allclose(back["e_value"], ev["e_value"], rtol=1e-15)


def test_currency_is_configurable(full):
    rep = build(full["res"], pricing=full["bundle"], kind="tariff", currency="EUR ",
                generated="x")
    p = paragraph_text(rep.section("headline").paragraphs[0], rep.currency)
    assert p.startswith("Recommended price per 'not reoffended': EUR ")
    assert "£" not in p


# --------------------------------------------------------------- differencing
def _raw_truth(full) -> dict[tuple[str, int, str], float]:
    """The true value of every count (and money) cell of the claims, areas and rows-left-out
    tables, computed here from the engines' raw outputs."""
    cv, rates = full["cv"], full["rates"]
    truth: dict[tuple[str, int, str], float] = {}
    statuses = ("valid", "invalid", "unevidenced", "total")
    for name, by in (("claims_overall", None), ("claims_by_rule", "rule"),
                     ("claims_by_authority", "authority")):
        c = cv.counts(by)
        for i in range(len(c)):
            for s in statuses:
                truth[(name, i, s)] = float(c.iloc[i][s])
    v = cv.value_at_stake("rule")
    for i in range(len(v)):
        for s in (*statuses, "at_risk"):
            truth[("claims_value", i, s)] = float(v.iloc[i][s])
    f = rates.to_frame()
    return truth | {("_areas", 0, str(a)): float(n) for a, n in zip(f["area"], f["n_treated"],
                                                                     strict=True)} | {
        ("_areas_c", 0, str(a)): float(n) for a, n in zip(f["area"], f["n_comparison"],
                                                           strict=True)}


def test_no_hidden_cell_is_recoverable_by_subtraction(built, full):
    """Over every table of one report: declare the sums a reader can do, mark the cells the
    report hides, and solve; no hidden cell may be determined."""
    rep = built["tariff"]
    tables = {t.name: t for t in rep.tables()}
    truth = _raw_truth(full)
    hidden: set = set()
    values: dict = {}
    for t in tables.values():
        for i, row in enumerate(t.rows):
            for col in t.schema:
                if col.kind in ("count", "money"):
                    key = (t.name, i, col.name)
                    values[key] = row.get(col.name)
                    if row.get(col.name) == MARKER:
                        hidden.add(key)
    statuses = ("valid", "invalid", "unevidenced")
    rels: list = []
    for name in ("claims_overall", "claims_by_rule", "claims_by_authority", "claims_value"):
        for i in range(len(tables[name].rows)):
            rels.append(((name, i, "total"), [(name, i, s) for s in statuses]))
    for i in range(len(tables["claims_value"].rows)):
        rels.append((("claims_value", i, "at_risk"),
                     [("claims_value", i, s) for s in ("invalid", "unevidenced")]))
    for name in ("claims_by_rule", "claims_by_authority"):
        for s in (*statuses, "total"):
            rels.append((("claims_overall", 0, s),
                         [(name, i, s) for i in range(len(tables[name].rows))]))
    # money = claims x price: a shown amount gives its count back
    for i, r in enumerate(tables["claims_value"].rows):
        for s in (*statuses, "total"):
            if r[s] != MARKER:
                assert ("claims_by_rule", i, s) not in hidden, ("money reveals", i, s)
    # areas: the counts add up to the published programme and pool sizes, and a count is
    # the same in the area table and the area tariff table
    areas, at = tables["areas"], tables["area_tariffs"]
    rels.append((None, [("areas", i, "n_treated") for i in range(len(areas.rows))]))
    rels.append((None, [("areas", i, "n_comparison") for i in range(len(areas.rows))]))
    rels.append((None, [("area_tariffs", i, "n_treated") for i in range(len(at.rows))]))
    where = {r["area"]: i for i, r in enumerate(areas.rows)}
    for i, r in enumerate(at.rows):
        rels.append((("areas", where[r["area"]], "n_treated"), [("area_tariffs", i,
                                                                  "n_treated")]))
    # rows left out: by group
    left = tables["rows_left_out"]
    rels.append((("rows_left_out", 0, "n"), [("rows_left_out", 0, c) for c in
                                             ("n_treated", "n_comparison", "no_treatment")
                                             if c in left.schema]))
    reasons = tables["rows_left_out_reasons"]
    rels.append((("rows_left_out", 0, "n"), [("rows_left_out_reasons", i, "n")
                                             for i in range(len(reasons.rows))]))
    unknown = hidden | {k for k, v in values.items() if finite_number(v) is None}
    got = rank_recoverable(rels, unknown) & hidden
    assert got == set(), sorted(got)[:10]
    # the protected cells carry the engines' true values where shown
    for (name, i, col), v in truth.items():
        if name in tables and tables[name].rows[i][col] != MARKER:
            assert tables[name].rows[i][col] == pytest.approx(v), (name, i, col)
    # the two leaks of the old reports are closed: the merged small areas' size, and a
    # rule's hidden count, are hidden and not determined
    merged = next(i for i, r in enumerate(areas.rows) if r["area"].startswith("Smaller"))
    small = sum(n for (t, _, a), n in truth.items() if t == "_areas" and n < THR)
    assert small >= THR or areas.rows[merged]["n_treated"] == MARKER
    assert any(k[0] == "claims_by_rule" for k in hidden)
    assert len(hidden) > 20


def test_rates_never_reveal_a_hidden_count(built, written):
    """A rate shown (at full precision in the workbook) never gives back a hidden count."""
    policy = DisclosurePolicy(threshold=THR)
    n = 0
    for t in built["tariff"].tables():
        for row in t.rows:
            for col in t.schema:
                kind = resolve_kind(col, row)
                if kind != "rate" or not isinstance(col.denominator, str):
                    continue
                den = row.get(col.denominator)
                if row.get(col.name) == MARKER:
                    continue
                assert den != MARKER, (t.name, col.name)  # rate of a hidden count
                k = float(row[col.name]) * float(den)
                assert not policy.count_is_small(k) and not policy.count_is_small(float(den) - k)
                n += 1
    assert n >= 4


def test_plain_frames_without_kinds_are_not_guessed(full):
    frame = pd.DataFrame({"quantity": ["x"], "value": [1.5]})
    rep = build(full["res"], simulation=frame, kind="tariff", generated="x")
    assert not rep.section("simulation").available


def test_rows_left_out_by_group_and_reason_protected_together():
    """Issue 14 ("missing data under-reported"): rows left out are counted by group
    (programme, comparison, share of the programme cohort) and by reason, stage by
    stage with a row of totals, in the methods table and the headline; a small reason count
    is hidden with whatever would give it back (the stage's total minus the other reasons,
    a total row minus the other stages), checked by solving the relations a reader can use."""
    sim = load_reoffending()
    data = sim.data.copy()
    treated = data["treated"].to_numpy() == 1
    t, c = np.flatnonzero(treated)[:36], np.flatnonzero(~treated)[:400]
    data.loc[data.index[np.r_[t, c[3:]]], "age"] = np.nan
    data.loc[data.index[c[:3]], "sex"] = np.nan
    res = pbr_eval.estimate(pbr_eval.Cohort(data, missing="drop", **sim.cohort_args))
    f = res.to_frame().iloc[0]
    assert (f["n_dropped"], f["n_dropped_treated"], f["n_dropped_comparison"]) == (436, 36, 400)
    one = build(res, threshold=THR, generated="x")
    head = [paragraph_text(p, "£") for p in one.section("headline").paragraphs]
    assert ("Rows left out before estimating: 36 programme participants (6.0% of the programme "
            "cohort) and 400 comparison units, 436 rows in all (see Methods and limitations)."
            ) in head
    methods = [paragraph_text(p, "£") for p in one.section("methods").paragraphs]
    # sex's 3 rows are hidden, and so is age's 433 (436 - 433 would give the 3 back)
    assert ("Rows left out (cohort): 436 (36 programme participants, 6.0% of the programme "
            f"cohort; 400 comparison units), missing values in age ({MARKER}), missing values "
            f"in sex ({MARKER}).") in methods
    # a second stage (as a trimming estimator records it), read from a saved results file
    saved = res.to_dict()
    saved["info"]["dropped"] = [*saved["info"]["dropped"], {
        "n": 25, "reason": "weights trimmed (25)", "stage": "ipw", "n_treated": 4,
        "n_comparison": 21, "share_treated": 4 / 564}]
    rep = build(saved, threshold=THR, generated="x")
    tables = {tb.name: tb for tb in rep.tables()}
    by_group, by_reason = tables["rows_left_out"], tables["rows_left_out_reasons"]
    assert [r["stage"] for r in by_group.rows] == ["cohort", "ipw", "all stages"]
    assert by_group.rows[2]["n"] == 461
    assert [r["reason"] for r in by_reason.rows] == ["missing values in age",
                                                     "missing values in sex", "weights trimmed"]
    cols = ("n", "n_treated", "n_comparison")
    rels: list = [((by_group.name, 2, col), [(by_group.name, i, col) for i in (0, 1)])
                  for col in cols]
    rels += [((by_group.name, i, "n"), [(by_group.name, i, "n_treated"),
                                        (by_group.name, i, "n_comparison")]) for i in range(3)]
    rels += [((by_group.name, 0, "n"), [(by_reason.name, 0, "n"), (by_reason.name, 1, "n")]),
             ((by_group.name, 1, "n"), [(by_reason.name, 2, "n")])]
    hidden = {(name, i, col) for name, tb in ((by_group.name, by_group),
                                              (by_reason.name, by_reason))
              for i, r in enumerate(tb.rows) for col in cols if r.get(col) == MARKER}
    assert (by_group.name, 1, "n_treated") in hidden and (by_reason.name, 1, "n") in hidden
    assert rank_recoverable(rels, hidden) & hidden == set()
    # the headline repeats the row of totals exactly as the table shows it
    total = by_group.rows[2]
    words = [paragraph_text(p, "£") for p in rep.section("headline").paragraphs][-1]
    shown = [cell_text(total, by_group.schema.column(col), "£")
             for col in ("n_treated", "share_treated", "n_comparison", "n")]
    assert words == (f"Rows left out before estimating: {shown[0]} programme participants "
                     f"({shown[1]} of the programme cohort) and {shown[2]} comparison units, "
                     f"{shown[3]} rows in all (see Methods and limitations).")
    # the 4 programme rows of the second stage: 40 - 36 would give them back, so one goes
    assert MARKER in (by_group.rows[0]["n_treated"], total["n_treated"])
