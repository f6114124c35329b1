"""The tariff report, the live workbook and the what-if page agree on a contract's payments.

One contract with a price paid, an attachment fee, a cap, a trigger and a minimum
performance level: the report's "Payments under the contract" table and its cash
flow, the what-if page's starting figures and the workbook recalculated by
LibreOffice all equal :func:`pbr_eval.pricing.whatif.whatif` on the inputs of
:func:`pbr_eval.reporting.contract.contract_outcomes`, to the penny (chances to 1e-9
in Python, 1e-6 from the spreadsheet).
"""

from __future__ import annotations

import math

import pytest

import pbr_eval
from pbr_eval.analysis import commissioner_bundle
from pbr_eval.datasets import load_reoffending
from pbr_eval.demo import DEMO_CONTRACT, _contract_price_options
from pbr_eval.pricing.whatif import whatif
from pbr_eval.reporting.build import build
from pbr_eval.reporting.contract import contract_outcomes
from pbr_eval.reporting.whatif_page import page_inputs, whatif_settings
from pbr_eval.reporting.workbook import cell_addresses, workbook_inputs

MONEY = ("attachment_fee", "price_paid", "expected_total", "budget_95", "break_even",
         "peak_working_capital", "npv")
CHANCES = ("trigger_chance", "deadweight_chance")
TERMS = {"price_paid": 900.0, "cap": 150_000.0, "trigger": 0.70, "mpl_uplift": 0.01}


@pytest.fixture(scope="module")
def demo():
    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         **_contract_price_options())
    plain = commissioner_bundle(rec, **DEMO_CONTRACT)
    bundle = commissioner_bundle(rec, **{**DEMO_CONTRACT, **TERMS})
    return res, plain, bundle


def _report_row(res, bundle):
    report = build(res, kind="tariff", pricing=bundle)
    [table] = report.section("contract_payments").tables
    return report, table.rows[0]


def _close(got, want, key, tol=0.005):
    assert math.isclose(got, want, abs_tol=tol), f"{key}: {got!r} != {want!r}"


def test_the_terms_change_the_payments(demo):
    res, plain, bundle = demo
    _, a = _report_row(res, plain)
    _, b = _report_row(res, bundle)
    assert b["price_paid"] == TERMS["price_paid"] != a["price_paid"]
    # the minimum level and the cap lower what a price of 900 would pay without them
    o = contract_outcomes(res, bundle)[0]
    free = whatif(o.inputs.__class__(**{**o.inputs.to_dict(), "cap": None, "mpl_uplift": None,
                                        "referral_profile": o.inputs.referral_profile}),
                  o.evidence)
    assert b["expected_total"] < free.expected_total
    assert b["trigger_chance"] < 1.0 == a["trigger_chance"]


@pytest.mark.parametrize("which", ["plain", "terms"])
def test_report_page_and_workbook_inputs_agree_to_the_penny(demo, which):
    res, plain, bundle = demo
    bundle = plain if which == "plain" else bundle
    report, row = _report_row(res, bundle)
    page_in, page_ev = page_inputs(whatif_settings(bundle, res))
    wb_in, wb_ev, _ = workbook_inputs(res, bundle)
    for inp, ev in ((page_in, page_ev), (wb_in[0], wb_ev[0])):
        f = whatif(inp, ev)
        for key in MONEY:
            _close(row[key], getattr(f, key), key)
        for key in CHANCES:
            _close(row[key], getattr(f, key), key, 1e-9)
    # the report's cash flow is the same schedule (cap, trigger and minimum level applied)
    cf = bundle["cashflow"]
    _close(cf.peak_working_capital, row["peak_working_capital"], "peak working capital")
    _close(cf.npv, row["npv"], "npv")
    sentences = " ".join(str(p) for p in report.section("contract_payments").paragraphs)
    if which == "terms":
        assert "minimum performance level" in sentences and "cap" in sentences


def test_libreoffice_recalculated_workbook_equals_the_report(demo, tmp_path):
    from test_workbook_recalc import recalculate

    res, _, bundle = demo
    _, row = _report_row(res, bundle)
    path = tmp_path / "tariff.xlsx"
    pbr_eval.report(res, path, kind="tariff", pricing=bundle)
    inputs, evidence, _ = workbook_inputs(res, bundle)
    cells = cell_addresses(inputs, evidence)
    keys = {"fee": "attachment_fee", "recommended": "recommended",
            "expected_total": "expected_total", "budget_95": "budget_95",
            "break_even": "break_even", "deadweight": "deadweight_chance",
            "trigger_chance": "trigger_chance", "peak_wc": "peak_working_capital",
            "npv": "npv"}
    # the contract's terms are in the workbook's input cells, as written
    reads = [f"{s}!{r}" for k in keys for s, r in cells[k][:1]]
    terms = [f"{s}!{r}" for k in ("cap", "trigger", "mpl_uplift", "price_paid")
             for s, r in cells[k][:1]]
    [[got]] = recalculate([{"workbook": str(path), "sets": [{"set": {}, "read": reads + terms}]}],
                          tmp_path)
    want = whatif(inputs[0], evidence[0])
    for (key, attr), g in zip(keys.items(), got, strict=False):
        w = getattr(want, attr)
        _close(g, w, key, 1e-6 if attr in CHANCES else 0.005)
        if attr in row:
            _close(g, row[attr], f"report {key}", 1e-6 if attr in CHANCES else 0.005)
    assert got[len(keys):] == [TERMS["cap"], TERMS["trigger"], TERMS["mpl_uplift"],
                               TERMS["price_paid"]]
