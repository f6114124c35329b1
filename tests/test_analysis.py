"""Analysis files: validation with key and line, reproducible runs, provenance."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pbr_eval.analysis import load_analysis, run_analysis
from pbr_eval.exceptions import AnalysisFileError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATA = Path(__file__).resolve().parents[1] / "data"
NUMBERS = ["estimates.csv", "balance.csv", "prices.csv", "results.json"]


@pytest.mark.parametrize("name", ["reoffending.toml", "families.toml"])
def test_example_runs_twice_with_identical_numbers(name, tmp_path):
    runs = [run_analysis(EXAMPLES / name, out=tmp_path / f"run{i}") for i in (1, 2)]
    a, b = (r.folder for r in runs)
    for f in NUMBERS:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    pa = json.loads((a / "provenance.json").read_text())
    pb = json.loads((b / "provenance.json").read_text())
    pa.pop("generated"), pb.pop("generated")
    assert pa == pb
    # the workbooks hold the same values cell by cell
    wa, wb = load_workbook(a / "workbook.xlsx"), load_workbook(b / "workbook.xlsx")
    for ws in wa.worksheets:
        other = wb[ws.title]
        for ra, rb in zip(ws.iter_rows(values_only=True), other.iter_rows(values_only=True),
                          strict=True):
            assert [v for v in ra if not (isinstance(v, str) and "UTC" in v)] == \
                   [v for v in rb if not (isinstance(v, str) and "UTC" in v)]


def test_fixed_timestamp_gives_byte_identical_reports(tmp_path):
    outs = [run_analysis(EXAMPLES / "reoffending.toml", out=tmp_path / f"r{i}",
                         generated="2026-01-01 00:00:00 UTC").folder for i in (1, 2)]
    for f in ("pilot.html", "pilot.md", "tariff.html", "provenance.json"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f


def test_provenance_records_versions_hash_options_seed(tmp_path):
    run = run_analysis(EXAMPLES / "reoffending.toml", out=tmp_path)
    prov = json.loads((run.folder / "provenance.json").read_text())
    assert prov["data_sha256"] == hashlib.sha256((DATA / "reoffending.csv").read_bytes()).hexdigest()
    assert prov["seed"] == 20240101
    for pkg in ("pbr_eval", "numpy", "pandas", "scipy", "statsmodels", "openpyxl", "matplotlib"):
        assert prov["versions"][pkg]
    assert prov["resolved"]["estimate"][0]["method"] == "nearest"
    assert prov["resolved"]["roles"]["min_treated"] == 60
    assert (run.folder / "analysis.toml").read_text() == (EXAMPLES / "reoffending.toml").read_text()
    assert prov["generated"].endswith("UTC")
    # the estimates match a direct run
    import pbr_eval
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    direct = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")
    got = run.results["psm"].to_frame()["non_intervention"].to_numpy()
    assert got == pytest.approx(direct.to_frame()["non_intervention"].to_numpy())
    # the contract fills the commissioner's live workbook (its inputs and formulas)
    wb = load_workbook(run.folder / "workbook.xlsx")
    assert wb.sheetnames[:6] == ["Read me", "Inputs", "Prices", "Tariff", "Payments", "Cash flow"]
    inputs = {row[0].value: row[1].value for row in wb["Inputs"].iter_rows(min_row=5)}
    assert inputs["Attachment fee per participant"] == 100
    assert inputs["Provider's delivery cost per participant"] == 300
    assert inputs["Months from referral to evidence of the outcome"] == 18
    for sheet in ("Prices", "Tariff", "Payments", "Cash flow"):
        assert any(str(c.value).startswith("=") for row in wb[sheet].iter_rows()
                   for c in row), sheet


BASE = """\
title = "t"
[data]
source = "{data}"
[roles]
treatment = "treated"
outcome = ["reoffended"]
covariates = ["age", "sex"]
"""


def _write(tmp_path, text):
    p = tmp_path / "a.toml"
    p.write_text(text.replace("{data}", (DATA / "reoffending.csv").as_posix()), encoding="utf-8")
    return p


@pytest.mark.parametrize("extra, msg", [
    ("caliper = 0.2\n", r"a.toml, line 8: `roles.caliper` is not a known key; allowed here: "),
    ("min_treated = \"many\"\n", r"line 8: `roles.min_treated` must be an integer; got 'many'"),
    ("[[estimate]]\nmethod = \"nn\"\n", r"line 9: `estimate.method` must be one of .*'nearest'.*; got 'nn'"),
    ("[report]\noutputs = [\"../../escape.html\"]\n",
     r"line 9: `report.outputs` must be a file name inside the output folder"),
    ("[report]\noutputs = [\"r.pdf\"]\n", r"`report.outputs` entries must end in .html"),
    ("[pricing]\nbetter = \"lower\"\n", r"line 8: `\[pricing\]` needs the key `value_per_outcome`"),
    ("[contract]\ncost_per_participant = 300\nreferrals_per_month = 5\nmonths_of_referrals = 2\n",
     r"line 8: `\[contract\]` needs a \[pricing\] table"),
    ("[sensitivity]\nhidden_bias = \"yes\"\n", r"line 9: `sensitivity.hidden_bias` must be true/false"),
    ("[estimate]\nmethod = \"nearest\"\nratio = 2\n",
     r"line 10: `estimate.ratio` is not a known key"),
    # estimator options are checked by the estimator itself, before anything is read
    ("[estimate]\nmethod = \"nearest\"\noptions = { ratio = 2, bogus = 1 }\n",
     r"line 10: `estimate.options.bogus` Method 'nearest' does not take option\(s\) 'bogus'"),
])
def test_validation_errors_name_key_and_line(tmp_path, extra, msg):
    p = _write(tmp_path, BASE + extra)
    with pytest.raises(AnalysisFileError, match=msg):
        load_analysis(p)


def test_toml_syntax_error_and_missing_file(tmp_path):
    p = _write(tmp_path, BASE + "seed = = 3\n")
    with pytest.raises(AnalysisFileError, match=r"a.toml: not valid TOML: .*line 8"):
        load_analysis(p)
    with pytest.raises(AnalysisFileError, match=r"Analysis file '.*nope.toml' does not exist"):
        load_analysis(tmp_path / "nope.toml")


def test_missing_table(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text('[data]\nsource = "x.csv"\n')
    with pytest.raises(AnalysisFileError, match=r"a.toml: `\[\]` needs the key `roles`|needs the key `roles`"):
        load_analysis(p)


def test_invalid_file_writes_nothing(tmp_path):
    p = _write(tmp_path, BASE + "bogus = 1\n")
    with pytest.raises(AnalysisFileError):
        run_analysis(p, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sql_source(tmp_path):
    import sqlite3

    from pbr_eval.datasets import load_reoffending

    db = tmp_path / "c.db"
    with sqlite3.connect(db) as con:
        load_reoffending().data.to_sql("people", con, index=False)
    p = tmp_path / "sql.toml"
    p.write_text(BASE.replace('source = "{data}"', f'source = "sqlite:///{db.as_posix()}"\n'
                              'query = "people"') + '[report]\noutputs = ["p.html"]\n')
    run = run_analysis(p, out=tmp_path / "o")
    prov = json.loads((run.folder / "provenance.json").read_text())
    assert prov["data_sha256_of"] == "the query result as CSV"
    assert (run.folder / "p.html").is_file()


def test_hostile_analysis_file_name_is_escaped_in_reports(tmp_path):
    p = tmp_path / "a<script>x.toml"
    p.write_text(BASE.replace("{data}", (DATA / "reoffending.csv").as_posix())
                 + '[report]\noutputs = ["p.html", "p.md"]\n', encoding="utf-8")
    run = run_analysis(p, out=tmp_path / "o")
    html = (run.folder / "p.html").read_text(encoding="utf-8")
    md = (run.folder / "p.md").read_text(encoding="utf-8")
    assert "<script" not in html and "a&lt;script&gt;x.toml" in html
    assert "<script" not in md


def test_cli_report_reads_an_analysis_results_file(tmp_path, capsys):
    from pbr_eval.cli import main

    run = run_analysis(EXAMPLES / "reoffending.toml", out=tmp_path / "o")
    assert main(["report", str(run.folder / "results.json"), "--out",
                 str(tmp_path / "again.html"), "--kind", "tariff"]) == 0
    text = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert 'id="prices"' in text and "Recommended price per &#x27;not reoffended&#x27;" in text
