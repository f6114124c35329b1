"""Outcome rules: every edge case classified exactly as the rule says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval.claims import (
    AllOf,
    AnyOf,
    ChangeFromBaseline,
    RecordStore,
    RuleSet,
    Sustained,
    Threshold,
    evaluate_rule,
    load_rules,
    rules_from_dict,
)
from pbr_eval.claims.simulate import CASES, simulate_claims
from pbr_eval.claims.validate import validate_claims
from pbr_eval.exceptions import DataError, MissingColumnError, OptionError, RuleError

CLAIM_DATE = "2024-07-19"
END = np.datetime64(CLAIM_DATE, "D")


def _day(offset: int) -> str:
    return str(END - np.timedelta64(offset, "D"))


def _records(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"unit_id": u, "measure": m, "date": _day(o), "value": v}
                         for u, m, o, v in rows],
                        columns=["unit_id", "measure", "date", "value"])


def _status(rule, rows, *, rules=None, members=None, unit="p1"):
    rs = rules if rules is not None else RuleSet([rule])
    store = RecordStore.from_frame(_records(rows))
    end = np.array([END.astype(np.int64)])
    status, evidence = evaluate_rule(rule if isinstance(rule, str) else rule.name, rs, store,
                                     [unit], end, members=members)
    return status[0], evidence[0]


ABSENCE = Threshold("absence", measure="absence", op="<", value=15, periods=3, window_days=365)
ATTEND = Threshold("attend", measure="attendance", op=">=", value=90, periods=3,
                   window_days=365)
EXCL = Threshold("excl", measure="excl", op="<", value=3, periods=3, window_days=365,
                 aggregate="sum")


def terms(measure: str, values, offsets=(0, 120, 240), unit="p1"):
    return [(unit, measure, o, v) for o, v in zip(offsets, values, strict=True) if v is not None]


THRESHOLD_CASES = [
    ("attendance exactly 90 meets >= 90", ATTEND, terms("attendance", [90, 95, 99]), "valid"),
    ("attendance 89.99 fails", ATTEND, terms("attendance", [89.99, 95, 99]), "invalid"),
    ("absence exactly 15 fails < 15", ABSENCE, terms("absence", [15, 2, 3]), "invalid"),
    ("absence 14.9 meets < 15", ABSENCE, terms("absence", [14.9, 2, 3]), "valid"),
    ("missing term", ABSENCE, terms("absence", [1, None, 3]), "unevidenced"),
    ("missing term beside a failing term", ABSENCE, terms("absence", [1, None, 30]),
     "invalid"),
    ("no records at all", ABSENCE, [], "unevidenced"),
    ("failing term older than the window is ignored", ABSENCE,
     terms("absence", [1, 2, 3, 40], offsets=(0, 120, 240, 400)), "valid"),
    ("term dated exactly window_days before is outside", ABSENCE,
     terms("absence", [1, 2, 3], offsets=(0, 120, 365)), "unevidenced"),
    ("record after the claim date is not evidence", ABSENCE,
     terms("absence", [1, 2, 3], offsets=(0, 120, -5)), "unevidenced"),
    ("four terms in window: the last three are used", ABSENCE,
     terms("absence", [1, 2, 3, 40], offsets=(0, 100, 200, 300)), "valid"),
    ("exclusions sum 2 meets < 3", EXCL, terms("excl", [1, 1, 0]), "valid"),
    ("exclusions sum 3 fails < 3", EXCL, terms("excl", [1, 1, 1]), "invalid"),
    ("exclusions missing term is unevidenced", EXCL, terms("excl", [0, None, 0]),
     "unevidenced"),
    ("other person's records do not count", ABSENCE, terms("absence", [1, 2, 3], unit="p2"),
     "unevidenced"),
]


@pytest.mark.parametrize("rule,rows,expected", [c[1:] for c in THRESHOLD_CASES],
                         ids=[c[0] for c in THRESHOLD_CASES])
def test_threshold_cases(rule, rows, expected):
    status, evidence = _status(rule, rows)
    assert status == expected, evidence


OFF = ChangeFromBaseline("off", measure="off", amount=0.33, window_days=182, min_records=6)
ASB = ChangeFromBaseline("asb", measure="asb", amount=0.60, window_days=182, min_records=6)
ABS_DROP = ChangeFromBaseline("abs", measure="off", amount=2, change="absolute",
                              window_days=182, min_records=6)
RISE = ChangeFromBaseline("rise", measure="off", amount=0.5, direction="increase",
                          window_days=182, min_records=6)


def months(measure: str, base, out, drop_out=None):
    """Six monthly returns in each window; base/out are the six values."""
    rows = [("p1", measure, 197 + 30 * k, v) for k, v in enumerate(base)]
    rows += [("p1", measure, 15 + 30 * k, v) for k, v in enumerate(out) if k != drop_out]
    return rows


CHANGE_CASES = [
    ("33% fall from 3 to 2 (33.3%)", OFF, months("off", [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]),
     "valid"),
    ("no fall", OFF, months("off", [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]), "invalid"),
    ("ASB exactly 60% (5 to 2)", ASB, months("asb", [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0]),
     "valid"),
    ("ASB 50% (10 to 5)", ASB, months("asb", [2, 2, 2, 2, 2, 0], [1, 1, 1, 1, 1, 0]),
     "invalid"),
    ("zero baseline is invalid", OFF, months("off", [0] * 6, [0] * 6), "invalid"),
    ("missing monthly return", OFF, months("off", [1] * 6, [0] * 6, drop_out=2),
     "unevidenced"),
    ("absolute fall of exactly 2", ABS_DROP, months("off", [1, 1, 1, 0, 0, 0],
                                                    [1, 0, 0, 0, 0, 0]), "valid"),
    ("absolute fall of 1", ABS_DROP, months("off", [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]),
     "invalid"),
    ("increase of 50% (2 to 3)", RISE, months("off", [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]),
     "valid"),
    ("increase of 0%", RISE, months("off", [1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]), "invalid"),
]


@pytest.mark.parametrize("rule,rows,expected", [c[1:] for c in CHANGE_CASES],
                         ids=[c[0] for c in CHANGE_CASES])
def test_change_cases(rule, rows, expected):
    status, evidence = _status(rule, rows)
    assert status == expected, evidence


WORK = Sustained("work", measure="emp", periods=13, period_days=7)
WORK_LENIENT = Sustained("work2", measure="emp", periods=13, period_days=7,
                         missing_period="unevidenced")


def weeks(values):
    return [("p1", "emp", 7 * k, v) for k, v in enumerate(values) if v is not None]


SUSTAINED_CASES = [
    ("13 weeks in work", WORK, weeks([1] * 13), "valid"),
    ("gap week inside the window", WORK, weeks([1] * 6 + [0] + [1] * 6), "invalid"),
    ("missing week counts as a gap", WORK, weeks([1] * 6 + [None] + [1] * 6), "invalid"),
    ("missing week is unevidenced when so declared", WORK_LENIENT,
     weeks([1] * 6 + [None] + [1] * 6), "unevidenced"),
    ("explicit gap is invalid even when lenient", WORK_LENIENT,
     weeks([1] * 6 + [0] + [1] * 6), "invalid"),
    ("no records", WORK, [], "unevidenced"),
    ("only 12 weeks (started late)", WORK, weeks([1] * 12), "invalid"),
    ("gap just before the window does not matter", WORK, weeks([1] * 13 + [0]), "valid"),
    ("two records in one week, one in work", WORK,
     weeks([1] * 13) + [("p1", "emp", 3, 0)], "valid"),
]


@pytest.mark.parametrize("rule,rows,expected", [c[1:] for c in SUSTAINED_CASES],
                         ids=[c[0] for c in SUSTAINED_CASES])
def test_sustained_cases(rule, rows, expected):
    status, evidence = _status(rule, rows)
    assert status == expected, evidence


def test_gap_evidence_names_the_week():
    status, evidence = _status(WORK, weeks([1] * 6 + [0] + [1] * 6))
    # period 7 of 13 counted from the window start; window starts 90 days before the claim
    gap_start = END - np.timedelta64(90, "D") + np.timedelta64(6 * 7, "D")
    assert str(gap_start) in evidence


@pytest.mark.parametrize("parts,how,expected", [
    (("valid", "valid"), "all", "valid"),
    (("valid", "unevidenced"), "all", "unevidenced"),
    (("invalid", "unevidenced"), "all", "invalid"),
    (("invalid", "valid"), "all", "invalid"),
    (("invalid", "invalid"), "any", "invalid"),
    (("invalid", "unevidenced"), "any", "unevidenced"),
    (("valid", "unevidenced"), "any", "valid"),
    (("valid", "invalid"), "any", "valid"),
], ids=lambda v: "-".join(v) if isinstance(v, tuple) else str(v))
def test_combinations_use_three_valued_logic(parts, how, expected):
    make = {"valid": [1, 1, 1], "invalid": [20, 1, 1], "unevidenced": [1, None, 1]}
    rows = terms("a", make[parts[0]]) + terms("b", make[parts[1]])
    ra = Threshold("ra", measure="a", op="<", value=15, periods=3)
    rb = Threshold("rb", measure="b", op="<", value=15, periods=3)
    combo = (AllOf if how == "all" else AnyOf)("combo", rules=("ra", "rb"))
    status, evidence = _status("combo", rows, rules=RuleSet([ra, rb, combo]))
    assert status == expected, evidence


def test_members_all_children_and_family_without_children():
    rule = Threshold("abs", measure="absence", op="<", value=15, periods=3, members="child")
    members = pd.DataFrame({"family": ["F1", "F1", "F1", "F2"],
                            "person": ["c1", "c2", "a1", "a2"],
                            "role": ["child", "child", "adult", "adult"]})
    rows = terms("absence", [1, 2, 3], unit="c1") + terms("absence", [1, 20, 3], unit="c2")
    status, ev = _status(rule, rows, members=members, unit="F1")
    assert status == "invalid" and "c2" in ev
    status, ev = _status(rule, rows, members=members, unit="F2")
    assert status == "unevidenced" and "no member" in ev
    anyrule = Threshold("abs", measure="absence", op="<", value=15, periods=3, members="child",
                        member_combine="any")
    assert _status(anyrule, rows, members=members, unit="F1")[0] == "valid"


def test_members_table_required():
    rule = Threshold("abs", measure="absence", op="<", value=15, members="child")
    with pytest.raises(RuleError, match="no `members` table"):
        _status(rule, terms("absence", [1, 2, 3]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_claims_classified_exactly(seed):
    sim = simulate_claims(3000, seed=seed)
    res = validate_claims(sim.claims, sim.records, sim.rules, members=sim.members)
    m = res.claims.merge(sim.truth, on="claim_id", suffixes=("", "_true"))
    wrong = m.loc[m["status"].astype(str) != m["status_true"], ["case", "status", "evidence"]]
    assert wrong.empty, wrong.head().to_string()
    assert set(m["case"]) == {c for _, c in CASES}  # every edge case occurred


def test_simulated_invalid_share_matches_setting():
    sim = simulate_claims(20_000, invalid_share=0.1, unevidenced_share=0.05, seed=5)
    share = (sim.truth["status"] == "invalid").mean()
    assert abs(share - 0.10) < 4 * np.sqrt(0.1 * 0.9 / 20_000)


# ------------------------------------------------------------------ declaration and errors


def test_toml_round_trip(tmp_path):
    rs = simulate_claims(10, seed=0).rules
    spec = rs.to_dict()
    lines = []
    for r in spec["rules"]:
        lines.append("[[rules]]")
        for k, v in r.items():
            if isinstance(v, str):
                lines.append(f'{k} = "{v}"')
            elif isinstance(v, list):
                lines.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
            else:
                lines.append(f"{k} = {v}")
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(lines))
    back = load_rules(path)
    assert back.to_dict() == spec


def test_prices_table_and_claims_section():
    rs = rules_from_dict({"claims": {"rules": [
        {"type": "threshold", "name": "a", "measure": "m", "op": ">=", "value": 1}],
        "prices": {"a": 400}}})
    assert rs.prices() == {"a": 400.0}


@pytest.mark.parametrize("spec,match", [
    ({"rules": []}, "non-empty list"),
    ({"rules": [{"type": "magic", "name": "a"}]}, r"`type` of rule 1 \(a\) must be one of"),
    ({"rules": [{"type": "threshold", "name": "a", "measure": "m", "op": ">=", "value": 1,
                 "colour": "red"}]}, r"unknown field\(s\) \['colour'\]"),
    ({"rules": [{"type": "threshold", "name": "a", "measure": "m"}]}, "is incomplete"),
    ({"rules": [{"type": "all_of", "name": "a", "rules": ["b"]}]}, "not declared"),
    ({"rules": [{"type": "all_of", "name": "a", "rules": ["b"]},
                {"type": "any_of", "name": "b", "rules": ["a"]}]}, "cycle"),
    ({"rules": [{"type": "threshold", "name": "a", "measure": "m", "op": ">=", "value": 1},
                {"type": "threshold", "name": "a", "measure": "m", "op": ">=", "value": 2}]},
     "declared twice"),
    ({"rules": [{"type": "threshold", "name": "a", "measure": "m", "op": ">=", "value": 1}],
      "prices": {"zz": 1}}, r"\[prices\] names rules that are not declared"),
])
def test_rule_declaration_errors(spec, match):
    with pytest.raises(RuleError, match=match):
        rules_from_dict(spec)


@pytest.mark.parametrize("make,err,match", [
    (lambda: Threshold("a", measure="m", op="=>", value=1), OptionError,
     "`op` must be one of '>=', '>'"),
    (lambda: Threshold("a", measure="m", op=">=", value=float("nan")), RuleError,
     "`value` must be a finite number"),
    (lambda: Threshold("a", measure="m", op=">=", value=1, periods=0), OptionError,
     "`periods` must be an integer >= 1; got 0"),
    (lambda: Threshold("a", measure="m", op=">=", value=1, aggregate="median"), OptionError,
     "`aggregate` must be one of"),
    (lambda: Threshold("", measure="m", op=">=", value=1), RuleError, "`name` of a rule"),
    (lambda: Threshold("a", measure="", op=">=", value=1), RuleError, "`measure` of rule 'a'"),
    (lambda: ChangeFromBaseline("a", measure="m", amount=-0.3), OptionError,
     "`amount` must be a positive number; got -0.3"),
    (lambda: ChangeFromBaseline("a", measure="m", amount=0.3, change="ratio"), OptionError,
     "`change` must be one of 'relative', 'absolute'"),
    (lambda: Sustained("a", measure="m", periods=13, missing_period="skip"), OptionError,
     "`missing_period` must be one of 'gap', 'unevidenced'"),
    (lambda: Sustained("a", measure="m", periods=13, member_combine="most"), OptionError,
     "`member_combine` must be one of 'all', 'any'"),
    (lambda: AllOf("a", rules=()), RuleError, "non-empty list of rule names"),
    (lambda: RuleSet(["a"]), RuleError, "A RuleSet holds"),
    (lambda: RuleSet([])["nope"], RuleError, "No rule named 'nope'"),
])
def test_rule_errors(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_load_rules_errors(tmp_path):
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]\nname=")
    with pytest.raises(RuleError, match="is not valid TOML"):
        load_rules(bad)


def test_record_errors_and_drops():
    with pytest.raises(MissingColumnError, match="Records column `measure`='measure'"):
        RecordStore.from_frame(pd.DataFrame({"unit_id": [1], "date": ["2024-01-01"],
                                             "value": [1]}))
    base = {"unit_id": ["a", "a"], "measure": ["m", "m"], "date": ["2024-01-01"] * 2}
    with pytest.raises(DataError, match="different values for the same unit, measure and date"):
        RecordStore.from_frame(pd.DataFrame({**base, "value": [1, 2]}))
    with pytest.raises(DataError, match="Records column 'value' must be numeric"):
        RecordStore.from_frame(pd.DataFrame({**base, "value": ["92%", "1"]}))
    with pytest.raises(DataError, match="Records column 'date' must hold dates"):
        RecordStore.from_frame(pd.DataFrame({**base, "date": ["soon", "later"], "value": [1, 2]}))
    frame = pd.DataFrame({"unit_id": ["a", "a", None, "b"], "measure": "m",
                          "date": ["2024-01-01", "2024-01-01", "2024-01-01", None],
                          "value": [1, 1, 1, 1]})
    before = frame.copy()
    store = RecordStore.from_frame(frame)
    pd.testing.assert_frame_equal(frame, before)  # caller's frame untouched
    assert [d["n"] for d in store.dropped] == [2, 1]
    assert "missing unit, measure, date or value" in store.dropped[0]["reason"]


def test_combination_per_member_differs_from_parts_per_member():
    """One adult must meet both parts: not one adult one part and the other the other."""
    members = pd.DataFrame({"family": ["F1", "F1", "F2"], "person": ["a1", "a2", "a3"],
                            "role": "adult"})
    rows = (terms("work", [1, 1, 1], unit="a1") + terms("skills", [0, 0, 0], unit="a1")
            + terms("work", [0, 0, 0], unit="a2") + terms("skills", [1, 1, 1], unit="a2")
            + terms("work", [1, 1, 1], unit="a3") + terms("skills", [1, 1, 1], unit="a3"))
    work = Threshold("work", measure="work", op=">=", value=1, periods=3)
    skills = Threshold("skills", measure="skills", op=">=", value=1, periods=3)
    same_adult = AllOf("same_adult", rules=("work", "skills"), members="adult",
                       member_combine="any")
    rs = RuleSet([work, skills, same_adult])
    assert _status("same_adult", rows, rules=rs, members=members, unit="F1")[0] == "invalid"
    assert _status("same_adult", rows, rules=rs, members=members, unit="F2")[0] == "valid"
    w_any = Threshold("w", measure="work", op=">=", value=1, periods=3, members="adult",
                      member_combine="any")
    s_any = Threshold("s", measure="skills", op=">=", value=1, periods=3, members="adult",
                      member_combine="any")
    rs2 = RuleSet([w_any, s_any, AllOf("either_adult", rules=("w", "s"))])
    assert _status("either_adult", rows, rules=rs2, members=members, unit="F1")[0] == "valid"


def test_nested_members_rejected():
    with pytest.raises(RuleError, match=r"must not name members themselves; \['a'\] do"):
        RuleSet([Threshold("a", measure="m", op=">=", value=1, members="child"),
                 AllOf("b", rules=("a",), members="child")])


def test_one_rule_registry_for_toml_python_and_evaluation():
    """Issue 13.7: rules, records and evaluation are split; one registry of rule types."""
    from pbr_eval.claims.evaluation import EVALUATORS, evaluator
    from pbr_eval.claims.rules import RULE_TYPES, rule_type

    assert list(RULE_TYPES) == ["threshold", "change", "sustained", "all_of", "any_of"]
    for kind, cls in RULE_TYPES.items():
        assert cls.kind == kind
    # combinations are evaluated from their parts; every other type has one evaluator
    assert set(EVALUATORS) == set(RULE_TYPES) - {"all_of", "any_of"}
    # TOML loading reads the same registry: a dict per type round-trips
    rs = RuleSet([Threshold("t", measure="m", op="<", value=1),
                  ChangeFromBaseline("c", measure="m", amount=0.3),
                  Sustained("s", measure="e", periods=2), AllOf("a", rules=["t", "c"]),
                  AnyOf("o", rules=["s", "a"])])
    again = rules_from_dict(rs.to_dict())
    assert [again[n].kind for n in again] == ["threshold", "change", "sustained", "all_of",
                                              "any_of"]
    with pytest.raises(RuleError, match="Rule type 'threshold' is registered twice"):
        rule_type("threshold")(type("Other", (), {}))
    with pytest.raises(RuleError, match="No rule type 'nope' is registered"):
        evaluator("nope")
