"""Claims validation run, value at stake, disclosure control and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval.claims import load_rules
from pbr_eval.claims.simulate import simulate_claims, troubled_families_rules
from pbr_eval.claims.validate import (
    SECONDARY,
    SUPPRESSED,
    ClaimsValidation,
    claim_payments,
    claims_summary,
    validate_claims,
)
from pbr_eval.cli import main
from pbr_eval.exceptions import DataError, DuplicateIdError, MissingColumnError, RuleError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "claims"


@pytest.fixture(scope="module")
def sim():
    return simulate_claims(1500, seed=4)


@pytest.fixture(scope="module")
def res(sim):
    return validate_claims(sim.claims, sim.records, sim.rules, members=sim.members)


def test_counts_by_rule_and_authority_match_truth(sim, res):
    truth = sim.truth.merge(sim.claims, on="claim_id")
    expect = pd.crosstab(truth["authority"], truth["status"]).reindex(
        columns=["valid", "invalid", "unevidenced"], fill_value=0)
    got = res.counts("authority")
    assert (got[["valid", "invalid", "unevidenced"]].to_numpy() == expect.to_numpy()).all()
    assert got["total"].sum() == len(sim.claims)
    assert res.counts(None).iloc[0]["total"] == 1500


def test_value_at_stake(sim, res):
    v = res.value_at_stake()
    n_bad = int((sim.truth["status"] != "valid").sum())
    assert v.loc[0, "at_risk"] == pytest.approx(800.0 * n_bad)
    assert v.loc[0, "total"] == pytest.approx(800.0 * 1500)
    by = res.value_at_stake("rule")
    assert by["total"].sum() == pytest.approx(800.0 * 1500)


def test_review_file_holds_every_non_valid_claim(sim, res):
    review = res.review()
    assert set(review["claim_id"]) == set(sim.truth.loc[sim.truth["status"] != "valid",
                                                        "claim_id"])
    assert review["evidence"].str.len().min() > 10


def test_tariff_object_is_duck_typed(sim):
    class Tariff:  # the pricing engine's Tariff only needs payments(claims)
        def payments(self, claims):
            return pd.DataFrame({"payment": np.where(claims["rule"] == "employment", 1000.0,
                                                     500.0)})

    res = validate_claims(sim.claims, sim.records, sim.rules, members=sim.members,
                          prices=Tariff())
    expect = np.where(sim.claims["rule"] == "employment", 1000.0, 500.0).sum()
    assert res.value_at_stake().loc[0, "total"] == pytest.approx(expect)
    assert res.info["prices"] == "tariff"


def test_claim_payments_errors():
    claims = pd.DataFrame({"rule": ["a", "b"]})
    with pytest.raises(RuleError, match="`prices` must be a mapping"):
        claim_payments(claims, 5)

    class Short:
        def payments(self, c):
            return [1.0]

    with pytest.raises(RuleError, match="returned 1 values for 2 claims"):
        claim_payments(claims, Short())

    class NoCol:
        def payments(self, c):
            return pd.DataFrame({"x": [1, 2]})

    with pytest.raises(RuleError, match="without a 'payment' or 'amount' column"):
        claim_payments(claims, NoCol())


def test_claims_without_date_or_unit_are_unevidenced(sim):
    claims = sim.claims.head(20).copy()
    claims.loc[claims.index[0], "date"] = None
    claims.loc[claims.index[1], "unit_id"] = None
    before = claims.copy()
    res = validate_claims(claims, sim.records, sim.rules, members=sim.members)
    pd.testing.assert_frame_equal(claims, before)
    assert res.claims["status"].iloc[:2].tolist() == ["unevidenced", "unevidenced"]
    assert "no date" in res.claims["evidence"].iloc[0]
    assert res.info["dropped"][-1]["n"] == 2


def test_validation_errors(sim):
    rs = sim.rules
    with pytest.raises(MissingColumnError, match="Claims column `rule`='rule'"):
        validate_claims(sim.claims.drop(columns="rule"), sim.records, rs)
    dup = pd.concat([sim.claims.head(2), sim.claims.head(1)])
    with pytest.raises(DuplicateIdError, match="Claim identifier `claim_id` must be unique"):
        validate_claims(dup, sim.records, rs, members=sim.members)
    bad = sim.claims.head(3).assign(rule=["education", "magic", "magic"])
    with pytest.raises(RuleError, match=r"2 claims name rules that are not declared: \['magic'\]"):
        validate_claims(bad, sim.records, rs, members=sim.members)
    with pytest.raises(RuleError, match="`rules` must be a RuleSet"):
        validate_claims(sim.claims, sim.records, {"a": 1})
    with pytest.raises(DataError, match="`claims` must be a pandas DataFrame"):
        validate_claims([1], sim.records, rs)
    with pytest.raises(MissingColumnError, match="`members` must have columns family"):
        validate_claims(sim.claims, sim.records, rs, members=pd.DataFrame({"family": []}))


def test_claims_summary_suppresses_small_counts():
    df = pd.DataFrame({
        "authority": ["A"] * 40 + ["B"] * 25 + ["C"] * 4,
        "status": ["valid"] * 30 + ["invalid"] * 4 + ["unevidenced"] * 6
        + ["valid"] * 20 + ["invalid"] * 5 + ["valid"] * 4,
        "value": 0.0, "rule": "x"})
    out = claims_summary(ClaimsValidation(df), by="authority")
    assert out.loc["A"].tolist()[:5] == [30, SUPPRESSED, SUPPRESSED, 0, 40]
    # B: one small cell (5) would be recoverable from the total: valid is suppressed too
    assert out.loc["B"].tolist()[:5] == [SECONDARY, SUPPRESSED, 0, 0, 25]
    assert out.loc["B", "share_valid"] == SUPPRESSED  # one marker for every hidden cell
    assert out.loc["C", "total"] == SUPPRESSED
    # nothing between 1 and 9 is left anywhere
    nums = [v for v in out[["valid", "invalid", "unevidenced", "total"]].to_numpy().ravel()
            if not isinstance(v, str)]
    assert all(v == 0 or v >= 10 for v in nums)


def test_to_dict_is_aggregate_only(res):
    d = res.to_dict()
    text = json.dumps(d, default=str)
    assert "F000" not in text and "C000" not in text
    assert d["counts"]["total"] == 1500


def test_example_files_classified_as_their_truth():
    rs = load_rules(EXAMPLES / "rules.toml")
    assert rs.to_dict() == troubled_families_rules().to_dict()
    res = validate_claims(pd.read_csv(EXAMPLES / "claims.csv"),
                          pd.read_csv(EXAMPLES / "records.csv"), rs,
                          members=pd.read_csv(EXAMPLES / "members.csv"))
    truth = pd.read_csv(EXAMPLES / "truth.csv")
    m = res.claims.merge(truth, on="claim_id", suffixes=("", "_true"))
    assert (m["status"].astype(str) == m["status_true"]).all()


def test_cli_validate_and_sample(tmp_path, capsys):
    args = ["claims", "validate", "--rules", str(EXAMPLES / "rules.toml"),
            "--records", str(EXAMPLES / "records.csv"), "--claims", str(EXAMPLES / "claims.csv"),
            "--members", str(EXAMPLES / "members.csv"), "--out", str(tmp_path)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "claims checked: 63" in text and "claims_review.csv" in text
    assert "duplicate (already claimed, not paid again): 3" in text
    checked = pd.read_csv(tmp_path / "claims_checked.csv")
    review = pd.read_csv(tmp_path / "claims_review.csv")
    assert len(checked) == 63 and set(review["status"]) == {"invalid", "unevidenced", "duplicate"}
    assert main(args[:-2] + ["--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    truth = pd.read_csv(EXAMPLES / "truth.csv")["status"].value_counts()
    assert payload["counts"]["invalid"] == truth["invalid"]
    out = tmp_path / "sample.csv"
    assert main(["claims", "sample", "--claims", str(tmp_path / "claims_checked.csv"),
                 "--n", "12", "--strata", "authority", "--seed", "1", "--out", str(out)]) == 0
    s1 = pd.read_csv(out)
    assert len(s1) == 12 and (s1["status"] == "valid").all() and "invalid" in s1
    assert main(["claims", "sample", "--claims", str(tmp_path / "claims_checked.csv"),
                 "--n", "12", "--strata", "authority", "--seed", "1", "--out", str(out)]) == 0
    assert pd.read_csv(out)["claim_id"].tolist() == s1["claim_id"].tolist()


def test_cli_errors(tmp_path, capsys):
    assert main(["claims", "validate", "--rules", str(tmp_path / "none.toml"),
                 "--records", "r.csv", "--claims", "c.csv"]) == 2
    assert "Rules file" in capsys.readouterr().err
    assert main(["claims", "sample", "--claims", str(EXAMPLES / "claims.csv"),
                 "--out", str(tmp_path / "s.csv")]) == 2
    assert "exactly one of `n`, `margin` or `tolerance`" in capsys.readouterr().err
    assert main(["claims", "sample", "--claims", str(EXAMPLES / "claims.csv"), "--n", "5",
                 "--out", str(tmp_path / "s.csv")]) == 2
    assert "no 'status' column" in capsys.readouterr().err


def test_report_tables_blank_values_of_suppressed_counts(res):
    from pbr_eval.claims import claims_report_tables

    small = ClaimsValidation(res.claims.head(40), res.info)
    tabs = claims_report_tables(small)
    for rule in tabs["by_rule"].index:
        for c in ("valid", "invalid", "unevidenced"):
            if tabs["by_rule"].loc[rule, c] in (SUPPRESSED, SECONDARY):
                assert tabs["value"].loc[rule, c] == SUPPRESSED
            else:
                assert tabs["value"].loc[rule, c] == 800.0 * tabs["by_rule"].loc[rule, c]
    text = json.dumps({k: (v.to_dict() if hasattr(v, "to_dict") else v)
                       for k, v in tabs.items()}, default=str)
    assert "F000" not in text and "C000" not in text


def test_mismatched_identifiers_warn(sim):
    from pbr_eval.exceptions import PbrEvalWarning

    claims = sim.claims.head(30).assign(unit_id=lambda d: d["unit_id"].str.lower())
    with pytest.warns(PbrEvalWarning, match="None of the claims' unit identifiers appears"):
        out = validate_claims(claims, sim.records, sim.rules, members=sim.members)
    assert (out.claims["status"] == "unevidenced").all()


def test_summaries_show_money_by_its_kind(res):
    from pbr_eval.claims import estimate_invalid_rate

    val = res.value_at_stake().iloc[0]
    text = res.summary()
    assert f"value of valid claims: £{val['valid']:,.0f}; at risk" in text and "GBP" not in text
    est = estimate_invalid_rate(pd.DataFrame({"invalid": [True] * 2 + [False] * 13}),
                                paid_total=766 * 800)
    assert f"Implied recovery: £{est.recovery:,.0f} (between £" in est.summary()
    assert "GBP" not in est.summary()


def test_results_surface_smoke(res, tmp_path):
    from pbr_eval.claims import estimate_invalid_rate

    assert res.to_frame().equals(res.counts("rule"))
    assert "By local authority:" in res.summary() and str(res) == res.summary()
    assert "<th>Invalid claims</th>" in res._repr_html_()  # the results face: a labelled table
    paths = res.write(tmp_path / "out")
    assert all(p.exists() for p in paths.values())
    est = estimate_invalid_rate(pd.DataFrame({"invalid": [True, False, False]}))
    assert est.to_frame().shape == (1, 12) and est.recovery is None
    assert "Implied recovery" not in str(est) and "<table" in est._repr_html_()


def test_value_at_stake_under_the_pricing_tariff(sim, res):
    from pbr_eval.claims import tariff_value_at_stake
    from pbr_eval.pricing.mechanisms import AttachmentFee, PerOutcome
    from pbr_eval.pricing.tariff import Tariff

    prices = {"education": 800.0, "crime_asb": 800.0, "employment": 800.0}
    plain = Tariff([PerOutcome(k, v) for k, v in prices.items()])
    out = tariff_value_at_stake(res, plain)
    n_bad = int((sim.truth["status"] != "valid").sum())
    assert out.loc[0, "at_stake"] == pytest.approx(800.0 * n_bad)
    assert out.loc[0, "claimed"] == pytest.approx(800.0 * len(sim.claims))
    # an attachment fee is paid either way: it cancels out of the value at stake
    with_fee = Tariff([AttachmentFee(1000.0)] + [PerOutcome(k, v) for k, v in prices.items()])
    out2 = tariff_value_at_stake(res, with_fee)
    assert out2.loc[0, "at_stake"] == pytest.approx(800.0 * n_bad)
    assert out2.loc[0, "claimed"] == pytest.approx(1800.0 * len(sim.claims))
    with pytest.raises(RuleError, match="cannot price claims one by one"):
        validate_claims(sim.claims.head(5), sim.records, sim.rules, members=sim.members,
                        prices=plain)
    with pytest.raises(RuleError, match="`tariff` must have a `payments"):
        tariff_value_at_stake(res, {"a": 1})
