"""Issue 14: duplicate claims are flagged for review and never paid twice.

Before, the same family, rule and date under a new claim id (or a day later,
inside the same outcome window) were validated and paid twice; only a
repeated claim id was caught.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval.claims import (
    ClaimsValidation,
    RuleSet,
    Sustained,
    Threshold,
    claims_report_tables,
    claims_summary,
    find_duplicates,
    simulate_claims,
    tariff_value_at_stake,
    validate_claims,
)
from pbr_eval.disclosure import MARKER
from pbr_eval.exceptions import DuplicateIdError, OptionError, RuleError
from pbr_eval.pricing import PerOutcome, Tariff

WEEKS = pd.date_range("2024-01-07", periods=20, freq="7D")
RECORDS = pd.DataFrame({"unit_id": "F1", "measure": "employed", "date": WEEKS, "value": 1})
RULES = RuleSet([Sustained("work", measure="employed", periods=4, price=800)])


def _claims(dates, ids=None, units=None):
    n = len(dates)
    return pd.DataFrame({"claim_id": ids or [f"C{i}" for i in range(n)],
                         "unit_id": units or ["F1"] * n, "rule": "work", "date": dates})


def test_same_family_rule_and_date_under_new_claim_id_is_a_duplicate_not_paid_twice():
    res = validate_claims(_claims(["2024-03-03", "2024-03-03"], ids=["C1", "C2"]), RECORDS, RULES)
    c = res.claims
    assert c["status"].tolist() == ["valid", "duplicate"]
    assert c["duplicate_of"].isna().tolist() == [True, False] and c["duplicate_of"].iloc[1] == "C1"
    assert "duplicate of claim C1" in c["evidence"].iloc[1]
    assert "the records alone say valid" in c["evidence"].iloc[1]
    v = res.value_at_stake().iloc[0]
    assert v["valid"] == 800 and v["duplicate"] == 800 and v["at_risk"] == 800
    # under a tariff, the valid claims pay the outcome once; the duplicate is at stake
    t = tariff_value_at_stake(res, Tariff([PerOutcome("work", 800)]))
    assert t.iloc[0].to_dict() == {"claimed": 1600.0, "valid_only": 800.0, "at_stake": 800.0}


def test_claim_a_day_later_inside_the_outcome_window_is_a_duplicate():
    res = validate_claims(_claims(["2024-03-03", "2024-03-04"]), RECORDS, RULES)
    assert res.claims["status"].tolist() == ["valid", "duplicate"]
    assert "1 day(s) later, inside its 28-day outcome window" in res.claims["evidence"].iloc[1]


def test_claim_after_the_outcome_window_is_a_new_outcome():
    # 4 weekly periods = 28 days: a claim 28 days on evidences new weeks
    res = validate_claims(_claims(["2024-03-03", "2024-03-31", "2024-03-30"]), RECORDS, RULES)
    assert res.claims["status"].tolist() == ["valid", "valid", "duplicate"]
    assert res.claims["duplicate_of"].fillna("-").tolist() == ["-", "-", "C0"]


def test_other_units_rules_and_missing_dates_are_not_duplicates():
    rules = RuleSet([Sustained("work", measure="employed", periods=4, price=800),
                     Sustained("work2", measure="employed", periods=4, price=100)])
    claims = pd.DataFrame({"claim_id": ["A", "B", "C", "D", "E"],
                           "unit_id": ["F1", "F2", "F1", "F1", None],
                           "rule": ["work", "work", "work2", "work", "work"],
                           "date": ["2024-03-03", "2024-03-03", "2024-03-03", None, "2024-03-03"]})
    res = validate_claims(claims, RECORDS, rules)
    assert (res.claims["status"] != "duplicate").all()
    assert res.info["duplicates"] == 0


def test_duplicate_window_can_be_set_or_turned_off():
    claims = _claims(["2024-03-03", "2024-03-20"])
    assert validate_claims(claims, RECORDS, RULES).claims["status"].tolist() == [
        "valid", "duplicate"]
    assert validate_claims(claims, RECORDS, RULES, duplicate_window_days=0).claims[
        "status"].tolist() == ["valid", "valid"]
    assert validate_claims(claims, RECORDS, RULES, duplicate_window_days={"work": 10}).claims[
        "status"].tolist() == ["valid", "valid"]
    with pytest.raises(RuleError, match="`duplicate_window_days` names rules that are not "
                       r"declared: \['nope'\]"):
        validate_claims(claims, RECORDS, RULES, duplicate_window_days={"nope": 5})
    with pytest.raises(OptionError, match="`duplicate_window_days` must be a whole number >= 0"):
        validate_claims(claims, RECORDS, RULES, duplicate_window_days=-1)


def test_repeated_claim_id_is_still_an_error():
    with pytest.raises(DuplicateIdError, match="must be unique"):
        validate_claims(_claims(["2024-03-03", "2024-03-04"], ids=["C1", "C1"]), RECORDS, RULES)


def test_duplicates_are_counted_in_summaries_and_report_tables():
    sim = simulate_claims(400, seed=3, duplicate_share=0.05)
    res = validate_claims(sim.claims, sim.records, sim.rules, members=sim.members)
    m = res.claims.merge(sim.truth, on="claim_id", suffixes=("", "_true"))
    assert (m["status"].astype(str) == m["status_true"]).all()
    n_dup = int((sim.truth["status"] == "duplicate").sum())
    assert n_dup == 20
    assert res.counts(None).iloc[0]["duplicate"] == n_dup
    assert "duplicate (already claimed, not paid again): 20" in res.summary()
    assert (res.review()["status"] == "duplicate").sum() == n_dup
    tabs = claims_report_tables(res)
    assert "duplicate" in tabs["overall"].columns and "duplicate" in tabs["by_rule"].columns
    assert any("duplicate:" in n for n in tabs["notes"])
    # small duplicate counts are suppressed like any other count
    by_rule = claims_summary(res, by="rule")
    assert all(v == MARKER or v == 0 or v >= 10 for v in by_rule["duplicate"])
    assert (by_rule["duplicate"] == MARKER).any()  # the case is exercised
    # the audit sample draws from valid claims only: duplicates are never sampled as paid
    assert res.to_dict()["counts"]["duplicate"] == n_dup


def _brute_force(units, rules, days, windows):
    """One claim at a time: the reference for the vectorised search."""
    out = [-1] * len(days)
    kept: dict[tuple, int] = {}
    for i in sorted(range(len(days)), key=lambda i: (days[i], i)):
        k = (units[i], rules[i])
        if k in kept and days[i] - days[kept[k]] < windows[i]:
            out[i] = kept[k]
        else:
            kept[k] = i
    return out


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_search_equals_one_claim_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    units = rng.integers(0, 300, n).astype(str).astype(object)
    rules = np.asarray(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)]
    days = rng.integers(0, 2000, n).astype(np.int64)
    win = {"a": 30, "b": 182, "c": 365}
    windows = np.array([win[r] for r in rules], dtype=np.int64)
    got = find_duplicates(units, rules, days, windows)
    assert got.tolist() == _brute_force(units.tolist(), rules.tolist(), days.tolist(),
                                        windows.tolist())
    assert (got >= 0).sum() > 100  # the case is exercised


def test_outcome_window_of_each_rule_kind():
    rs = RuleSet([Threshold("t", measure="m", op="<", value=1, window_days=365),
                  Sustained("s", measure="e", periods=13, period_days=7)])
    assert rs.outcome_days("t") == 365 and rs.outcome_days("s") == 91


def test_results_frame_round_trip_keeps_duplicates():
    res = validate_claims(_claims(["2024-03-03", "2024-03-03"], ids=["C1", "C2"]), RECORDS, RULES)
    again = ClaimsValidation(res.claims, res.info)
    assert again.counts(None).iloc[0]["duplicate"] == 1
