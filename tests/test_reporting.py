"""Reports: content, formats, graceful degradation, the front door."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import pbr_eval
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import OptionError
from pbr_eval.reporting import build_context, write_report
from pbr_eval.reporting.excel import SHEETS


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
    ctx = build_context(res, generated="2026-01-01")
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    expected = (
        f"{f['observed']:.0%} of the {int(f['n_treated']):,} people in the programme had the "
        f"outcome 'reoffended', against {f['non_intervention']:.0%} (95% CI "
        f"{f['non_intervention_ci_lower']:.0%}-{f['non_intervention_ci_upper']:.0%}) of a "
        "matched comparison group."
    )
    assert ctx["headline"][0].startswith(expected)
    # the estimates table carries the unrounded numbers of to_frame()
    row = ctx["sections"][1]["tables"][0]["rows"][0]
    assert row["non_intervention"] == pytest.approx(f["non_intervention"])
    assert row["ci_upper"] == pytest.approx(f["ci_upper"])


def test_level_changes_the_interval(res):
    c90 = build_context(res, level=0.90, generated="x")
    c95 = build_context(res, level=0.95, generated="x")
    r90 = c90["sections"][1]["tables"][0]["rows"][0]
    r95 = c95["sections"][1]["tables"][0]["rows"][0]
    assert r90["non_intervention_ci_upper"] < r95["non_intervention_ci_upper"]
    assert "90% CI" in c90["headline"][0]


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
    (path,) = pbr_eval.report(res, tmp_path / "tariff.xlsx", pricing=rec, kind="tariff")
    wb = load_workbook(path)
    assert wb.sheetnames == ["README", *SHEETS.values()]
    ws = wb["Prices"]
    assert ws.freeze_panes == "B2"
    header = [c.value for c in ws[1]]
    col = header.index("recommended (GBP)") + 1  # units in the header
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
    assert "Disclosure control" in readme and "Provenance: data_fingerprint" in readme


def test_unknown_suffix_and_kind_are_errors(res, tmp_path):
    with pytest.raises(OptionError, match=r"`path` must end in one of '.html'.*got 'x.pdf'"):
        pbr_eval.report(res, tmp_path / "x.pdf")
    with pytest.raises(OptionError, match=r"`kind` must be one of 'pilot', 'tariff'; got 'board'"):
        pbr_eval.report(res, tmp_path / "x.html", kind="board")
    with pytest.raises(OptionError, match=r"`results` must be a results object"):
        pbr_eval.report(42, tmp_path / "x.html")


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
    ctx = build_context(saved, generated="x")
    assert ctx["warnings"][0].startswith("WARNING: the non-intervention rate comes from a "
                                         "HISTORICAL BASELINE")
    assert "the historical baseline (NOT a comparison group)" in ctx["headline"][0]
    (path,) = pbr_eval.report(saved, tmp_path / "b.html")
    assert 'class="warning" role="alert"' in path.read_text(encoding="utf-8")


def test_pricing_engine_parts_are_consumed_by_duck_typing(res, rec, tmp_path):
    rng = np.random.default_rng(1)

    class Simulation:
        total_payments = rng.normal(500_000, 50_000, 2000)
        value_created = rng.normal(450_000, 80_000, 2000)
        budget = 600_000.0

        def to_frame(self):
            return pd.DataFrame({"quantity": ["mean total payment", "P(pay > value)"],
                                 "value": [500_000.0, 0.31]})

        def summary(self):
            return "Simulated 2,000 cohorts."

    bundle = SimpleNamespace(
        recommendation=rec,
        tariff=pd.DataFrame({"mechanism": ["attachment", "results"], "payment": [1000.0, 800.0]}),
        simulation=Simulation(),
        cashflow=pd.DataFrame({"month": np.arange(1, 25),
                               "cash_position": -np.minimum(np.arange(1, 25), 12) * 1e4}),
        sensitivity=pd.DataFrame({"non_intervention": [0.6, 0.7, 0.8],
                                  "recommended": [900.0, 350.0, 0.0]}),
    )
    (html_path,) = pbr_eval.report(res, tmp_path / "t.html", pricing=bundle, kind="tariff")
    text = html_path.read_text(encoding="utf-8")
    for kind in ("price_curve", "payments", "cash"):
        assert f'data-plot="{kind}"' in text
    assert "Simulated 2,000 cohorts." in text
    assert "Not available" not in text.split("The evidence behind")[0]
    (xlsx,) = pbr_eval.report(res, tmp_path / "t.xlsx", pricing=bundle, kind="tariff")
    wb = load_workbook(xlsx)
    cf = wb["Cash flow"]
    assert [c.value for c in cf[1]] == ["month", "cash position (GBP)"]
    assert cf.cell(row=13, column=2).value == pytest.approx(-120000.0)
    assert "£" in cf.cell(row=13, column=2).number_format
    assert wb["Tariff"].cell(row=3, column=2).value == pytest.approx(800.0)


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
    ctx = build_context(res.to_dict(), pricing=pricing, kind="tariff", generated="x")
    missing = {s["id"]: s["reason"] for s in ctx["sections"] if not s["available"]}
    assert {"prices", "tariff", "simulation", "cashflow", "price_sensitivity"} <= set(missing)
    assert all(isinstance(r, str) and r for r in missing.values())
