"""Reports: content, formats, graceful degradation, the front door."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import pbr_eval
from pbr_eval.analysis import commissioner_bundle
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import OptionError
from pbr_eval.reporting import build, sheets_for, write_report
from pbr_eval.reporting.text import paragraph_text


def text(p):
    return paragraph_text(p, "£")


@pytest.fixture(scope="module")
def sim():
    return load_reoffending()


@pytest.fixture(scope="module")
def res(sim):
    return pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")


@pytest.fixture(scope="module")
def rec(res):
    return pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])


def test_headline_is_justice_data_lab_style_and_matches_results(res):
    rep = build(res, generated="2026-01-01")
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    expected = (  # rates formatted by their kind (one decimal), as in every table
        f"{f['observed']:.1%} of the {int(f['n_treated']):,} people in the programme had the "
        f"outcome 'reoffended', against {f['non_intervention']:.1%} (95% CI "
        f"{f['non_intervention_ci_lower']:.1%} to {f['non_intervention_ci_upper']:.1%}) of a "
        "matched comparison group."
    )
    assert text(rep.section("headline").paragraphs[0]).startswith(expected)
    # the estimates table carries the unrounded numbers of to_frame()
    row = rep.section("estimates").tables[0].rows[0]
    assert row["non_intervention"] == pytest.approx(f["non_intervention"])
    assert row["ci_upper"] == pytest.approx(f["ci_upper"])


def test_level_changes_the_interval(res):
    c90 = build(res, level=0.90, generated="x")
    c95 = build(res, level=0.95, generated="x")
    r90 = c90.section("estimates").tables[0].rows[0]
    r95 = c95.section("estimates").tables[0].rows[0]
    assert r90["non_intervention_ci_upper"] < r95["non_intervention_ci_upper"]
    assert "90% CI" in text(c90.section("headline").paragraphs[0])


def test_html_is_self_contained_and_has_every_section(res, rec, tmp_path):
    (path,) = pbr_eval.report(res, tmp_path / "pilot.html", pricing=rec)
    text = path.read_text(encoding="utf-8")
    for sid in ("headline", "explain", "estimates", "balance", "overlap", "sensitivity",
                "prices", "methods", "provenance"):
        assert f'id="{sid}"' in text, sid
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from outside
    assert text.count('src="data:image/png;base64,') == 3  # love, overlap, price curve
    assert "@media print" in text
    assert "Not available: no sensitivity analysis" in text
    assert res.info["fingerprint"] in text


def test_markdown_writes_figures_beside_it(res, tmp_path):
    files = pbr_eval.report(res, tmp_path / "pilot.md")
    assert files[0].name == "pilot.md"
    pngs = [f for f in files if f.suffix == ".png"]
    assert len(pngs) == 2 and all(f.read_bytes()[:4] == b"\x89PNG" for f in pngs)
    md = files[0].read_text(encoding="utf-8")
    assert "](pilot_figures/01_love.png)" in md
    assert "| Outcome | People in programme |" in md


def test_workbook_sheets_numbers_formats_and_frozen_headers(res, rec, tmp_path):
    # the table workbook (a tariff report's .xlsx with prices is the live workbook instead:
    # tests/test_workbook.py)
    from pbr_eval.reporting import write_workbook

    path = write_workbook(build(res, pricing=rec, kind="tariff"), tmp_path / "tables.xlsx")
    wb = load_workbook(path)
    # sheets from the registry, then the hidden machine-readable provenance
    assert wb.sheetnames == ["README", *sheets_for("tariff"), "Provenance data"]
    assert wb["Provenance data"].sheet_state == "hidden"
    ws = wb["Prices"]
    assert ws.freeze_panes == "B2"
    header = [c.value for c in ws[1]]
    label = rec.frame_schema().label("recommended") + " (£)"  # plain label, unit in the header
    col = header.index(label) + 1
    cell = ws.cell(row=2, column=col)
    assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)
    assert cell.value == pytest.approx(rec.to_frame()["recommended"].iloc[0])
    assert "£" in cell.number_format
    est = wb["Estimates"]
    header = [c.value for c in est[1]]
    ni = est.cell(row=2, column=header.index("Non-intervention") + 1)  # mixed units: none
    assert ni.number_format == "0.0%" and isinstance(ni.value, float)
    assert "Not available" in wb["Tariff"]["A1"].value
    readme = [r[0].value for r in wb["README"].iter_rows()]
    # provenance labelled in words; the keys on the hidden machine-readable sheet
    assert "Disclosure control" in readme and any(
        str(k).startswith("Provenance: Data fingerprint") for k in readme)
    assert "data_fingerprint" in [c.value for c in wb["Provenance data"]["A"]]


def test_unknown_suffix_and_kind_are_errors(res, tmp_path):
    with pytest.raises(OptionError, match=r"`path` must end in one of '.html'.*got 'x.pdf'"):
        pbr_eval.report(res, tmp_path / "x.pdf")
    with pytest.raises(OptionError, match=r"`kind` must be one of 'pilot', 'tariff'; got 'board'"):
        pbr_eval.report(res, tmp_path / "x.html", kind="board")
    with pytest.raises(OptionError, match=r"`results` must be a results object"):
        pbr_eval.report(42, tmp_path / "x.html")
    # a keyword that is neither an option nor a part a section needs: the error lists them
    with pytest.raises(OptionError, match=r"`pricng` is not a part of a report; the parts are "
                                          r"'area_tariffs', 'areas', 'cashflow', 'claims'"):
        pbr_eval.report(res, tmp_path / "x.html", pricng=object())


def test_saved_results_json_reports_without_unit_level_parts(res, tmp_path):
    saved = json.loads(res.to_json())
    (path,) = pbr_eval.report(saved, tmp_path / "from_json.html")
    text = path.read_text(encoding="utf-8")
    assert "of a matched comparison group" in text
    assert "Not available: the propensity scores are not in these results" in text
    assert 'data-plot="love"' in text


def test_historical_baseline_is_flagged_loudly(res, tmp_path):
    saved = res.to_dict()
    saved["method"] = "baseline"
    saved["info"] = {**saved["info"], "method": "baseline",
                     "caveat": "Historical baseline: not a counterfactual comparison."}
    rep = build(saved, generated="x")
    warnings = [text(p) for p in rep.section("warnings").paragraphs]
    assert warnings[0].startswith("WARNING: the non-intervention rate comes from a "
                                  "HISTORICAL BASELINE")
    assert "Historical baseline: not a counterfactual comparison." in warnings
    assert "the historical baseline (NOT a comparison group)" in text(
        rep.section("headline").paragraphs[0])
    (path,) = pbr_eval.report(saved, tmp_path / "b.html")
    assert 'class="warning" role="alert"' in path.read_text(encoding="utf-8")


def test_pricing_engine_parts_fill_the_tariff_report(res, tmp_path):
    # the tariff is priced with the contract's fee and cost (one place for contract values)
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         attachment_fee=100.0, cost_per_participant=300.0, cohort_size=600)
    bundle = commissioner_bundle(rec, cohort_size=600, cost_per_participant=300.0,
                                 referrals_per_month=50, months_of_referrals=12,
                                 attachment_fee=100.0, draws=500, seed=1)
    (html_path,) = pbr_eval.report(res, tmp_path / "t.html", pricing=bundle, kind="tariff")
    text_ = html_path.read_text(encoding="utf-8")
    for kind in ("price_curve", "payments", "cash"):
        assert f'data-plot="{kind}"' in text_
    assert "500 simulated cohorts of 600 people (seed 1)" in text_
    assert "Not available" not in text_.split("The evidence behind")[0]
    # the parts can be given by name too, with the same result
    (again,) = pbr_eval.report(res, tmp_path / "t2.html", kind="tariff", pricing=rec,
                               tariff=bundle["tariff"], simulation=bundle["simulation"],
                               cashflow=bundle["cashflow"],
                               price_sensitivity=bundle["sensitivity"])
    assert again.read_text(encoding="utf-8").split("Generated")[1].split("</p>")[1] == \
        text_.split("Generated")[1].split("</p>")[1]
    from pbr_eval.reporting import write_workbook

    xlsx = write_workbook(build(res, pricing=bundle, kind="tariff"), tmp_path / "t.xlsx")
    wb = load_workbook(xlsx)
    cf = wb["Cash flow"]
    header = [c.value for c in cf[1]]
    label = bundle["cashflow"].frame_schema().label("cash_position") + " (£)"
    assert header[0] == "Month" and label in header
    frame = bundle["cashflow"].to_frame()
    col = header.index(label) + 1
    assert cf.cell(row=13, column=col).value == pytest.approx(frame["cash_position"].iloc[11])
    assert "£" in cf.cell(row=13, column=col).number_format
    tariff = wb["Tariff"]
    amounts = [r[3].value for r in tariff.iter_rows(min_row=2)]
    assert amounts == [pytest.approx(100.0), pytest.approx(rec.to_frame()["recommended"][0])]


def test_undeclared_tables_are_left_out(res, rec):
    """A DataFrame whose columns declare no kinds could hold counts of people: not shown."""
    frame = pd.DataFrame({"month": np.arange(1, 4), "people": [3, 4, 5]})
    rep = build(res, pricing=rec, cashflow=frame, kind="tariff", generated="x")
    sec = rep.section("cashflow")
    assert not sec.available and "no table with declared column kinds" in sec.reason


def test_front_door_is_exported():
    assert "report" in pbr_eval.__all__ and callable(pbr_eval.report)


def test_report_does_not_mutate_or_need_the_data(res, sim, tmp_path):
    before = sim.data.copy()
    write_report(res, tmp_path / "p.html")
    pd.testing.assert_frame_equal(sim.data, before)


@pytest.mark.parametrize("pricing", [None, {}, {"tariff": 3}, {"simulation": object()},
                                     {"cashflow": pd.DataFrame()}, [1, 2], "x", {"prices": []}],
                         ids=["none", "empty", "number", "object", "empty-frame", "list", "str",
                              "no-rows"])
def test_odd_pricing_inputs_degrade_to_not_available(res, pricing):
    rep = build(res.to_dict(), pricing=pricing, kind="tariff", generated="x")
    missing = {s.id: s.reason for s in rep.sections if not s.available}
    assert {"prices", "tariff", "simulation", "cashflow", "price_sensitivity"} <= set(missing)
    assert all(isinstance(r, str) and r for r in missing.values())


def test_staggered_rollout_section_shows_the_summaries_and_cross_checks(res, tmp_path):
    """A staggered_did estimate's report has its effects by summary (overall, by start period,
    by period, event study) and cross-checks, the overall effect in words repeating its cell;
    a saved results file keeps the part; one saved without it says the section is not
    available unless the part is given."""
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=400, seed=3)
    r = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=99, seed=1)
    st = r.extras["staggered"]
    s = build(r, generated="x").section("staggered")
    assert s.available
    effects, checks, _cells = s.tables  # the group-time table: tests/test_staggered.py
    agg = st.aggregations()
    assert [row["aggregation"] for row in effects.rows] == agg["aggregation"].tolist()
    np.testing.assert_allclose([row["estimate"] for row in effects.rows], agg["estimate"],
                               rtol=0, atol=0)
    assert len(checks.rows) == len(st.cross_checks())
    overall = agg[agg["aggregation"] == "overall"].iloc[0]
    sentence = text(s.paragraphs[1])
    assert f"changed 'y' by +{overall['estimate']:.3f}" in sentence
    assert f"(95% CI +{overall['ci_lower']:.3f} to +{overall['ci_upper']:.3f})" in sentence
    # the event study's pre-periods are there, with the simultaneous band
    pre = [row for row in effects.rows if row["aggregation"] == "by periods since start"
           and (row["event_time"] or 0) < 0]
    assert pre and all(row["band_lower"] is not None for row in pre)
    wb = load_workbook(pbr_eval.report(r, tmp_path / "w.xlsx", generated="x")[0])
    assert wb.sheetnames[wb.sheetnames.index("Staggered roll-out") + 1] == "Roll-out cross-checks"
    kept = build(json.loads(r.to_json()), generated="x").section("staggered")
    assert kept.available and kept.tables[0].rows == effects.rows  # a saved file keeps its parts
    saved = {k: v for k, v in json.loads(r.to_json()).items() if k != "parts"}  # an older file
    gone = build(saved, generated="x").section("staggered")
    assert not gone.available and "pass 'staggered'" in gone.reason
    back = build(saved, generated="x", staggered=st.to_dict()).section("staggered")
    assert back.available and back.tables[0].rows == effects.rows
    with pytest.raises(OptionError, match=r"`staggered` must be the StaggeredResults .* got "
                                          r"DataFrame\. Leave it out for other methods\."):
        build(saved, generated="x", staggered=st.to_frame())
    # other methods leave the section out of the page
    assert 'id="staggered"' not in pbr_eval.report(res, tmp_path / "p.html",
                                                   generated="x")[0].read_text()


def test_constant_outcome_is_not_called_significant_in_the_report(sim):
    """Issue 14 ("a constant outcome is statistically significant"): the headline of an
    outcome with no variation gives no interval and no p-value, says so and why, and never
    calls the difference significant."""
    data = sim.data.copy()
    data["reconviction_events"] = 2
    r = pbr_eval.estimate(pbr_eval.Cohort(data, **sim.cohort_args))
    words = [text(p) for p in build(r, generated="x").section("headline").paragraphs]
    line = next(w for w in words if "'reconviction events'" in w)  # the name in words
    assert line == ("The 600 people in the programme had on average 2.000 'reconviction events' "
                    "each, against 2.000 estimated for a matched comparison group. The "
                    "uncertainty of these figures cannot be computed (no interval, no p-value); "
                    "the reason is under Methods and limitations.")
    assert "n/a" not in line and "significant" not in line


def test_report_on_nan_intervals_writes_every_format(res, tmp_path):
    """Issue 14 ("report() on NaN intervals" gave a traceback): a saved results file whose
    intervals, standard errors and p-values are missing is reported in every format."""
    saved = json.loads(res.to_json())
    for r in saved["estimates"]:
        for k in ("ci_lower", "ci_upper", "non_intervention_ci_lower",
                  "non_intervention_ci_upper", "p_value", "std_error", "non_intervention_se"):
            r[k] = None
    for ext in ("html", "md", "xlsx"):
        (path, *_) = pbr_eval.report(saved, tmp_path / f"nan.{ext}", generated="x")
        assert path.stat().st_size > 0
    page = path.with_suffix(".html").read_text(encoding="utf-8")
    assert "The uncertainty of these figures cannot be computed" in page
    assert "statistically significant" not in page
