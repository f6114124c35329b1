"""Disclosure control and hostile inputs: nothing small, nothing identifying, nothing that runs."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from openpyxl import load_workbook

import pbr_eval
from pbr_eval.datasets import simulate
from pbr_eval.exceptions import OptionError
from pbr_eval.reporting import DisclosurePolicy, build
from pbr_eval.reporting.disclosure import SUPPRESSED, WITHHELD
from pbr_eval.reporting.safety import confine, escape_html, neutralise_formula, safe_filename

# starts with "x" so that it is not the reference level (the first in sort order)
SCRIPT = "x<script>alert('pwned')</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_policy_counts_and_rates():
    p = DisclosurePolicy(threshold=10, min_cohort=30)
    assert [p.count(n) for n in (0, 1, 9, 10, 250)] == [SUPPRESSED] * 3 + [10, 250]
    assert p.rate(0.05, 100) == WITHHELD          # 5 with the outcome
    assert p.rate(0.95, 100) == WITHHELD          # 5 without it
    assert p.rate(0.5, 100) == 0.5
    assert p.rate(2.3, 100, binary=False) == 2.3  # a mean: only n matters
    assert p.rate(2.3, 8, binary=False) == WITHHELD
    assert not p.publishable_cohort(29) and p.publishable_cohort(30)
    assert DisclosurePolicy(suppress_zeros=False).count(0) == 0


@pytest.mark.parametrize("kw, msg", [
    ({"threshold": 0}, r"`threshold` must be an integer >= 1; got 0"),
    ({"min_cohort": 2.5}, r"`min_cohort` must be an integer >= 1; got 2.5"),
])
def test_policy_errors(kw, msg):
    with pytest.raises(OptionError, match=msg):
        DisclosurePolicy(**kw)


def test_escaping_and_formula_neutralisation():
    assert "<" not in escape_html(SCRIPT)
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1"):
        assert neutralise_formula(bad).startswith("'")
    assert neutralise_formula("safe") == "safe" and neutralise_formula(-3.0) == -3.0
    assert safe_filename("../../x y.html") == "x_y.html"


@pytest.mark.parametrize("name", ["../evil.html", "/etc/passwd", "a/../../b.html"])
def test_paths_cannot_escape_the_output_folder(tmp_path, name):
    with pytest.raises(OptionError, match=r"`path` must be a file name inside the output folder"):
        confine(tmp_path, name)
    assert confine(tmp_path, "sub/ok.html") == (tmp_path / "sub" / "ok.html").resolve()


@pytest.fixture(scope="module")
def hostile():
    """A cohort with a script tag as a category label (held by a few people) and a
    formula as a column name."""
    s = simulate("reoffending", n_treated=300, n_comparison=3000, seed=11)
    data = s.data.copy()
    treated = np.flatnonzero(data["treated"].to_numpy() == 1)
    comp = np.flatnonzero(data["treated"].to_numpy() == 0)
    rows = np.r_[treated[:4], comp[:40]]  # 4 treated people hold the hostile label
    data.loc[data.index[rows], "offence_type"] = SCRIPT
    data = data.rename(columns={"age": FORMULA})
    args = dict(s.cohort_args)
    args["covariates"] = [FORMULA if c == "age" else c for c in args["covariates"]]
    res = pbr_eval.estimate(pbr_eval.Cohort(data, **args), method="nearest")
    return data, res


def test_hostile_inputs_are_neutralised_everywhere(hostile, tmp_path):
    data, res = hostile
    html_file, = pbr_eval.report(res, tmp_path / "r.html")
    md_file = pbr_eval.report(res, tmp_path / "r.md")[0]
    xlsx, = pbr_eval.report(res, tmp_path / "r.xlsx")
    html = html_file.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "x&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    md = md_file.read_text(encoding="utf-8")
    assert "<script" not in md.lower()
    wb = load_workbook(xlsx)
    found_formula_name = False
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    assert c.data_type == "s"
                    assert not c.value.startswith(("=", "+", "-", "@")), c.value
                    found_formula_name |= c.value == "'" + FORMULA
    assert found_formula_name


def test_small_category_is_withheld_in_balance(hostile):
    _, res = hostile
    rep = build(res, generated="x")
    bal = rep.section("balance").tables[0]
    row = next(r for r in bal.rows if "script" in r["covariate"])
    assert row["mean_treated_before"] == WITHHELD and row["smd_before"] == WITHHELD
    love = rep.section("balance").figures[0].data
    i = love["covariates"].index(row["covariate"])
    assert love["before"][i] is None


def _all_text(paths):
    out = []
    for p in paths:
        if p.suffix == ".xlsx":
            for ws in load_workbook(p).worksheets:
                for row in ws.iter_rows():
                    out += [str(c.value) for c in row if c.value is not None]
        elif p.suffix in (".html", ".md", ".csv", ".json"):
            out.append(p.read_text(encoding="utf-8"))
    return "\n".join(out)


def test_outputs_hold_no_unit_identifiers_and_no_small_counts(hostile, tmp_path):
    data, res = hostile
    files = []
    for name in ("s.html", "s.md", "s.xlsx"):
        files += pbr_eval.report(res, tmp_path / name)
    text = _all_text(files)
    ids = data["person_id"].astype(str)
    assert not any(i in text for i in ids)
    # every count cell of the workbook is at least the threshold
    for ws in load_workbook(tmp_path / "s.xlsx").worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.number_format == "#,##0" and isinstance(c.value, (int, float)):
                    assert c.value >= 10, (ws.title, c.coordinate, c.value)
    # and no table of the built report shows a count below it
    rep = build(res, generated="x")
    for s in rep.sections:
        for t in s.tables:
            for col in t.schema:
                if col.kind == "count":
                    for r in t.rows:
                        v = r.get(col.name)
                        assert not isinstance(v, (int, float)) or v >= 10


def test_minimum_cohort_guard_withholds_everything(hostile, tmp_path):
    _, res = hostile
    html_file, = pbr_eval.report(res, tmp_path / "g.html", min_cohort=1000)
    html = html_file.read_text(encoding="utf-8")
    assert "are not published for this cohort" in html
    assert "fewer than 1,000 people in the programme contributed" in html  # integer by kind
    est = re.search(r'<table data-name="estimates">.*?</table>', html, re.S).group(0)
    assert "%</td>" not in est and "pp</td>" not in est  # no rate at all in the table


def test_csv_writer_neutralises(tmp_path):
    import pandas as pd

    from pbr_eval.reporting.safety import write_csv

    p = write_csv(pd.DataFrame({FORMULA: ["+cmd", "ok"], "x": [-1.5, 2.0]}), tmp_path / "o.csv")
    rows = list(csv.reader(p.open(encoding="utf-8")))
    assert rows[0][0] == "'" + FORMULA and rows[1][0] == "'+cmd" and rows[1][1] == "-1.5"
