"""Issue 14: impossible rates, counts and amounts are refused, never priced.

One test per defect found by testing (each failed before the range checks in
pbr_eval.options were used by every pricing entry point), then the same path
through the command line and analysis files, then a fuzz-style test over the
price entry points.
"""

from __future__ import annotations

import math
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

import pbr_eval
from pbr_eval import Cohort, estimate, price
from pbr_eval.analysis import load_analysis
from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import AnalysisFileError, NotViableError, OptionError, PbrEvalError
from pbr_eval.options import check_count, check_money, check_probability, check_rate
from pbr_eval.pricing import (
    AttachmentFee,
    MinimumPerformanceLevel,
    PerEventAvoided,
    PerOutcome,
    SlidingScale,
    Tariff,
    cash_flow,
    differential_tariff,
    simulate_payments,
    trigger_probability,
)

#: The shipped reoffending estimate (nearest matching), as a saved results file holds it.
REOFFENDING = {"estimates": [{"outcome": "reoffended", "outcome_type": "binary",
                              "observed": 0.2467, "non_intervention": 0.2817,
                              "non_intervention_se": 0.0183}]}
LOWER = {"value_per_outcome": 5000, "better": "lower", "outcomes": ["reoffended"]}


@pytest.fixture(scope="module")
def reoffending():
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    return cohort, estimate(cohort)


# ------------------------------------------------------------ defects found by testing
def test_expected_rate_80_meant_as_percent_is_refused(reoffending):
    _, res = reoffending
    good = price(res, expected_rate=0.80, **LOWER).to_frame().iloc[0]["recommended"]
    assert 150 < good < 300  # the docs' worked example: about 210
    with pytest.raises(OptionError, match=r"`expected_rate` must be a share above 0 and at most "
                       r"1 for a yes/no outcome; got 80, which looks like a percentage: give 0\.8"):
        price(res, expected_rate=80, **LOWER)


def test_expected_rate_1_2_for_yes_no_outcome_is_refused():
    with pytest.raises(OptionError, match=r"got 1\.2: a share cannot exceed 1 \(if you meant "
                       r"1\.2%, give 0\.012\)"):
        price(REOFFENDING, expected_rate=1.2, **LOWER)


def test_negative_plain_rate_is_refused_not_priced_above_value():
    with pytest.raises(OptionError, match=r"`results` must be a non-negative rate .*; got -0\.1: "
                       r"a rate cannot be negative"):
        price(-0.1, se=0.01, value_per_outcome=5000, expected_rate=0.2)
    with pytest.raises(OptionError, match=r"`draws` must be non-negative numbers; got 110 of 110"):
        price([-0.1] * 50 + [-0.05] * 60, value_per_outcome=5000, expected_rate=0.2)


def test_expected_effect_cannot_push_expected_rate_above_one():
    with pytest.raises(OptionError, match=r"`expected_effect` \(0\.5\) added to the "
                       r"non-intervention rate of 'not reoffended' \(0\.7183\) gives an expected "
                       r"rate of 1\.218, above 1.*at most 0\.2817"):
        price(REOFFENDING, expected_effect=0.5, **LOWER)
    # draws of the effect: their mean sets the rate
    with pytest.raises(OptionError, match="above 1"):
        price(REOFFENDING, expected_effect=np.full(200, 0.4), **LOWER)
    # an effect that fits keeps working, and at the band's upper end the rate is held at 1
    rec = price(REOFFENDING, expected_effect=0.26, **LOWER)
    row = rec.to_frame().iloc[0]
    assert row["expected_rate"] == pytest.approx(0.7183 + 0.26)
    assert any("taken as 1 there" in n for n in rec.info["notes"])


def test_area_tariffs_cannot_predict_more_outcomes_than_people(reoffending):
    from pbr_eval.areas import area_rates, area_tariffs

    cohort, _ = reoffending
    rates = area_rates(cohort, outcome="reoffended")
    with pytest.raises(OptionError, match=r"`effect` = 0\.9 .* expected rate above 1 in \d+ "
                       r"area\(s\) .*more outcomes than people"):
        area_tariffs(rates, value_per_outcome=5000, effect=0.9, better="lower")
    with pytest.raises(OptionError, match=r"`expected_rate` must be a share .*got 1\.6"):
        area_tariffs(rates, value_per_outcome=5000, expected_rate=1.6, better="lower")
    ok = area_tariffs(rates, value_per_outcome=5000, effect=0.05, better="lower").to_frame()
    assert (ok["expected_outcomes"] <= ok["n_treated"]).all()


@pytest.mark.parametrize("kwargs, name", [
    ({"expected_rate": "0.8"}, "expected_rate"),
    ({"expected_effect": "0.05"}, "expected_effect"),
    ({"expected_rate": 0.8, "cohort_size": "600"}, "cohort_size"),
    ({"expected_rate": 0.8, "cost_per_participant": "250"}, "cost_per_participant"),
    ({"expected_rate": 0.8, "value_per_outcome": "5000"}, "value_per_outcome"),
], ids=["expected_rate", "expected_effect", "cohort_size", "cost", "value"])
def test_string_number_is_refused(kwargs, name):
    opts = {**LOWER, **kwargs}
    with pytest.raises(OptionError, match=rf"`{name}` must be .*; got the text '[0-9.]+': give "
                       r"the number itself \([0-9.]+\)"):
        price(REOFFENDING, **opts)
    with pytest.raises(OptionError, match=r"`results` must be .*got the text '0\.8'"):
        price("0.8", se=0.01, value_per_outcome=5000, expected_rate=0.9)


# ------------------------------------------------------------ every engine, one path
def test_engines_refuse_percentages_and_impossible_rates():
    t = Tariff([PerOutcome("job", 1000.0)])
    base = {"value_per_outcome": {"job": 2500.0}, "cohort_size": 100, "draws": 200}
    with pytest.raises(OptionError, match=r"`effect\['job'\]` gives an expected rate of 0\.5 \+ "
                       r"0\.6 = 1\.1 for 'job', above 1"):
        simulate_payments(t, non_intervention={"job": (0.5, 0.01)}, effect={"job": 0.6}, **base)
    with pytest.raises(OptionError, match=r"`effect\['job'\]` must be a finite number; got the "
                       r"text '0\.05'"):
        simulate_payments(t, non_intervention={"job": (0.05, 0.01)}, effect={"job": "0.05"},
                          **base)
    with pytest.raises(OptionError, match=r"`non_intervention\['job'\]` must be .*got -0\.05"):
        simulate_payments(t, non_intervention={"job": (-0.05, 0.01)}, effect={"job": 0.05},
                          **base)
    with pytest.raises(OptionError, match=r"`expected_rate` must be a share .*got 25, which looks "
                       r"like a percentage: give 0\.25"):
        cash_flow(referrals=[10], cost_per_participant=100, price=500, expected_rate=25)
    # a count outcome says so, and may exceed 1
    cf = cash_flow(referrals=[10], cost_per_participant=100, price=50, expected_rate=2.5,
                   outcome_type="count", outcome_lag=1, payment_lag=0)
    assert cf.frame["outcome_income"].sum() == pytest.approx(10 * 2.5 * 50)
    with pytest.raises(OptionError, match=r"`discount_rate` must be a number between 0 and 1; "
                       r"got 3\.5, which looks like a percentage: give 0\.035"):
        cash_flow(referrals=[10], cost_per_participant=1, price=1, expected_rate=0.1,
                  discount_rate=3.5)
    with pytest.raises(OptionError, match=r"`effect` = 0\.1 \(additive\) gives 1 of 3 people an "
                       r"expected probability outside \[0, 1\] \(e\.g\. 1\.05\)"):
        differential_tariff([0.2, 0.5, 0.95], ["a", "a", "b"], effect=0.1,
                            cost_per_participant=10, flat_price=100)
    with pytest.raises(OptionError, match=r"`threshold` must be a number between 0 and 1; got "
                       r"10, which looks like a percentage: give 0\.1"):
        PerEventAvoided("events", 1000.0, comparison_rate=1.0, threshold=10)
    with pytest.raises(OptionError, match=r"`uplift` must be .*got 10, which looks like a "
                       r"percentage: give 0\.1"):
        MinimumPerformanceLevel("job", 1000.0, non_intervention=0.05, uplift=10)
    with pytest.raises(OptionError, match=r"`non_intervention` must be a share .*got 5, which "
                       r"looks like a percentage: give 0\.05"):
        MinimumPerformanceLevel("job", 1000.0, non_intervention=5)
    with pytest.raises(OptionError, match=r"`schedule` must be a list of \(performance, price\)"):
        SlidingScale("job", [0.1, 1000.0])
    with pytest.raises(OptionError, match=r"`rates\['job'\]` must be a share .*got 30"):
        Tariff([AttachmentFee(1.0), PerOutcome("job", 1.0)], per_person_cap=10).expected_payment(
            {"job": 30}, cohort_size=10, outcome_types={"job": "binary"})
    with pytest.raises(OptionError, match=r"`rate` must be a share .*got 1\.4"):
        trigger_probability(0.1, threshold=0.1, n_treated=100, n_comparison=100, rate=1.4)
    with pytest.raises(OptionError, match=r"`true_reduction` must be relative reductions of at "
                       r"most 1"):
        trigger_probability(np.array([0.1, 1.5]), threshold=0.1, n_treated=100, n_comparison=100,
                            rate=0.4)


def test_checkers_share_one_template():
    for fn, args, expected in [
        (check_rate, ("r", 80), "`r` must be a share between 0 and 1 for a yes/no outcome; "
                               "got 80, which looks like a percentage: give 0.8."),
        (check_probability, ("p", -0.2), "`p` must be a number strictly between 0 and 1; "
                                         "got -0.2."),
        (check_count, ("n", "12"), "`n` must be a whole number >= 0; got the text '12': give the "
                                   "number itself (12), not text."),
        (check_money, ("m", -5), "`m` must be a non-negative number; got -5: an amount of money "
                                 "is given without a sign."),
        (check_money, ("m", float("nan")), "`m` must be a non-negative number; got nan, which is "
                                           "missing or infinite: give a finite number."),
        (check_count, ("n", True), "`n` must be a whole number >= 0; got True: give one number."),
    ]:
        with pytest.raises(OptionError) as err:
            fn(*args)
        assert str(err.value) == expected


def test_cli_price_refuses_percentage(tmp_path, capsys, reoffending):
    _, res = reoffending
    path = tmp_path / "results.json"
    res.to_json(str(path))
    code = main(["price", str(path), "--value-per-outcome", "5000", "--better", "lower", "--outcome",
                 "reoffended", "--expected-rate", "80"])
    err = capsys.readouterr().err
    assert code == 2
    assert "looks like a percentage: give 0.8" in err
    assert "Traceback" not in err


#: The smallest analysis file (six lines: [data] and [roles]); each case adds its table.
BASE = "\n".join([
    "[data]", f'source = "{Path(pbr_eval.__file__).parents[1].as_posix()}/data/reoffending.csv"',
    "[roles]", 'treatment = "treated"', 'outcome = ["reoffended"]', 'covariates = ["age"]',
]) + "\n"


@pytest.mark.parametrize("extra, msg", [
    ("[pricing]\nvalue_per_outcome = 5000\nbetter = \"lower\"\nexpected_rate = 80\n",
     r"line 10: `pricing.expected_rate` must be a share .*got 80, which looks like a percentage"),
    ("[pricing]\nvalue_per_outcome = -5000\n",
     r"line 8: `pricing.value_per_outcome` must be a positive number; got -5000"),
    ("[pricing]\nvalue_per_outcome = 5000\ncohort_size = 0\n",
     r"line 9: `pricing.cohort_size` must be a whole number >= 1; got 0"),
    ("[pricing]\nvalue_per_outcome = 5000\nexpected_rate = { reoffended = -0.2 }\n",
     r"line 9: `pricing.expected_rate` must be .*got -0\.2"),
    ("[pricing]\nvalue_per_outcome = 5000\n[contract]\ncost_per_participant = -300\n"
     "referrals_per_month = 50\nmonths_of_referrals = 12\n",
     r"line 10: `contract.cost_per_participant` must be a non-negative number; got -300"),
], ids=["percent", "negative-value", "zero-cohort", "negative-rate", "negative-cost"])
def test_analysis_file_range_errors_name_key_and_line(tmp_path, extra, msg):
    p = tmp_path / "a.toml"
    p.write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(AnalysisFileError, match=msg):
        load_analysis(p)


# ------------------------------------------------------------ fuzz over the price entry points

#: Anything a careless caller, a spreadsheet or a hand-edited file might pass.
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2.0, 2.0), st.floats(1.0, 100.0),
    st.text(max_size=6), st.sampled_from(["0.8", "80%", "£5,000", "", "nan", "1e9"]),
    st.lists(st.floats(-1.0, 2.0), max_size=3),
    st.dictionaries(st.text(max_size=3), st.floats(0, 1), max_size=2),
    st.just(np.float32(0.4)), st.just(np.int64(7)), st.just(np.array([0.1, 0.2])),
)
#: Valid values over their whole range (the engines must stay in range on these too).
VALID = {
    "n": st.floats(0.0, 1.0), "se": st.floats(0.0, 0.3), "value": st.floats(1e-3, 1e6),
    "rate": st.floats(1e-6, 1.0), "effect": st.one_of(st.none(), st.floats(-0.2, 0.5)),
    "cost": st.one_of(st.none(), st.floats(0.0, 1e5)), "fee": st.floats(0.0, 1e3),
    "size": st.one_of(st.none(), st.integers(1, 10**5)),
    "budget": st.one_of(st.none(), st.floats(1.0, 1e7)),
    "refs": st.one_of(st.integers(0, 500), st.lists(st.floats(0, 100), min_size=1, max_size=4)),
    "p0": st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3),
}


def _inputs(data, keys):
    """Valid inputs with up to two of them replaced by anything at all."""
    bad = data.draw(st.sets(st.sampled_from(keys), max_size=2), label="replaced")
    return {k: data.draw(ANY if k in bad else VALID[k], label=k) for k in keys}


def _only_pbr_eval_errors(call):
    """Run ``call``; a PbrEvalError is a clean refusal (None), anything else fails the test."""
    try:
        with np.errstate(all="ignore"):
            return call()
    except PbrEvalError:
        return None


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])  # shared machine
@hypothesis.given(data=st.data())
def test_fuzz_price_entry_point(data):
    x = _inputs(data, ["n", "se", "value", "rate", "effect", "cost", "fee", "size", "budget"])
    kw = {"se": x["se"], "value_per_outcome": x["value"], "attachment_fee": x["fee"]}
    kw.update({k: v for k, v in (("cost_per_participant", x["cost"]), ("cohort_size", x["size"]),
                                  ("budget", x["budget"])) if v is not None})
    if kw.get("budget") is not None and "cohort_size" not in kw:
        kw.pop("budget")
    if x["effect"] is not None:
        kw["expected_effect"] = x["effect"]
    else:
        kw["expected_rate"] = x["rate"]
    rec = _only_pbr_eval_errors(lambda: price(x["n"], **kw))
    if rec is None:
        return
    f = rec.to_frame().iloc[0]
    binary = 0 <= float(x["n"]) <= 1 if isinstance(x["n"], (int, float)) else False
    for col in ("expected_rate", "non_intervention"):
        assert math.isfinite(f[col]) and f[col] >= 0, col
        assert not binary or f[col] <= 1, col
    for col in ("ceiling", "recommended", "band_lower", "band_upper", "prob_overpay",
                "deadweight_share", "payment_per_participant"):
        assert math.isfinite(f[col]), col
    assert 0 <= f["recommended"] <= f["value_per_outcome"] + 1e-9
    assert 0 <= f["prob_overpay"] <= 1


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])  # shared machine
@hypothesis.given(data=st.data())
def test_fuzz_engines(data):
    x = _inputs(data, ["n", "se", "effect", "value", "cost", "size", "rate", "fee", "refs", "p0"])
    size = x["size"] if not isinstance(x["size"], int) else min(abs(x["size"]), 50)
    t = Tariff([PerOutcome("job", 1000.0)])
    risk = _only_pbr_eval_errors(lambda: simulate_payments(
        t, non_intervention={"job": (x["n"], x["se"])}, effect={"job": x["effect"]},
        value_per_outcome={"job": x["value"]}, cohort_size=size,
        cost_per_participant=x["cost"], draws=50, seed=1))
    if risk is not None:
        assert np.isfinite(risk.payments).all() and np.isfinite(risk.value).all()
        drawn = risk.non_intervention["job"]
        assert (drawn >= 0).all()
        assert risk.info["outcome_types"]["job"] != "binary" or (drawn <= 1).all()
    refs = x["refs"] if not isinstance(x["refs"], int) else min(abs(x["refs"]), 1000)
    cf = _only_pbr_eval_errors(lambda: cash_flow(
        referrals=refs, months_of_referrals=3, cost_per_participant=x["cost"],
        price=x["value"], expected_rate=x["rate"], attachment_fee=x["fee"],
        outcome_lag=2, payment_lag=1))
    if cf is not None:
        assert np.isfinite(cf.frame.to_numpy(dtype=float)).all()
        assert 0 <= cf.info["expected_rate"] <= 1
    p0 = x["p0"]
    groups = ["a", "b", "c"][: len(p0)] if isinstance(p0, list) else ["a"]
    dt = _only_pbr_eval_errors(lambda: differential_tariff(
        p0, groups, effect=x["effect"], cost_per_participant=x["cost"], flat_price=x["value"]))
    if dt is not None:
        table = dt.to_frame()
        assert table["expected_rate"].between(0, 1).all()
        assert np.isfinite(table["price"].to_numpy(dtype=float)).all()
    for fn in (lambda: check_rate("x", x["rate"]), lambda: check_money("x", x["value"]),
               lambda: check_count("x", x["size"])):
        got = _only_pbr_eval_errors(fn)
        assert got is None or (isinstance(got, (int, float)) and math.isfinite(got))


def test_notviable_is_still_the_answer_when_nothing_is_additional():
    with pytest.raises(NotViableError, match="does not exceed the non-intervention rate"):
        price(REOFFENDING, expected_rate=0.5, **LOWER)
