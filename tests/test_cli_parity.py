"""Issue 14: the CLI keeps up with the API.

`--period` (and `--period-order`, `--at-period`), `--seed`, estimator options by their API
names (`-o key=value`), a balance view, Stata (.dta) and SPSS (.sav) files, `--sheet` for
Excel, separator sniffing for semicolon CSVs, and a misspelt column named with the closest
names instead of a raw pandas message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import pbr_eval
from pbr_eval.cli import main
from pbr_eval.io import read_data, sniff_csv

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ROOT / "data" / "families.csv"
REO = ROOT / "data" / "reoffending.csv"
ROLES = ["--treatment", "treated", "--outcome", "reoffended", "--covariates",
         "age,sex,prior_offences,offence_type", "--unit-id", "person_id"]


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def _effect(payload: dict) -> list[float]:
    return [round(r["effect"], 12) for r in payload["estimates"]]


def test_period_makes_difference_in_differences_possible_from_the_shell(tmp_path, capsys):
    fam = ["--treatment", "treated", "--outcome", "adult_employed", "--covariates",
           "n_children,lone_parent", "--unit-id", "family_id", "--method", "did", "--json"]
    assert main(["estimate", str(FAMILIES), *fam, "--period", "period"]) == 0
    numeric = _json(capsys)
    assert numeric["info"]["method"] == "did"
    data = pd.read_csv(FAMILIES)
    data["period"] = data["period"].map({0: "pre", 1: "post"})  # sorts the wrong way round
    text = tmp_path / "fam.csv"
    data.to_csv(text, index=False)
    assert main(["estimate", str(text), *fam, "--period", "period",
                 "--period-order", "pre,post"]) == 0
    assert _effect(_json(capsys)) == _effect(numeric)
    direct = pbr_eval.estimate(pbr_eval.Cohort(pd.read_csv(FAMILIES), treatment="treated",
                                               outcome="adult_employed",
                                               covariates=["n_children", "lone_parent"],
                                               unit_id="family_id", period="period"),
                               method="did")
    assert _effect(numeric) == [round(v, 12) for v in direct.to_frame()["effect"]]


def test_at_period_analyses_one_period(capsys):
    fam = ["--treatment", "treated", "--outcome", "adult_employed", "--covariates",
           "n_children,lone_parent", "--unit-id", "family_id", "--json"]
    assert main(["estimate", str(FAMILIES), *fam, "--period", "period", "--at-period", "1"]) == 0
    assert _json(capsys)["estimates"][0]["n_treated"] > 0


def test_seed_and_estimator_options_by_their_api_names(capsys):
    assert main(["estimate", str(REO), *ROLES, "--method", "nearest", "--seed", "11",
                 "-o", "caliper=0.2",
                 "-o", "exact=sex,offence_type", "-o", "ratio=2", "--json"]) == 0
    info = _json(capsys)["info"]
    assert info["seed"] == 11
    assert info["options"]["caliper"] == 0.2 and info["options"]["ratio"] == 2
    assert list(info["options"]["exact"]) == ["sex", "offence_type"]
    # subclassification has no random step (ipw's and entropy's seeds now seed their
    # few-cluster bootstrap)
    assert main(["estimate", str(REO), *ROLES, "--method", "subclass", "--seed", "11"]) == 0
    assert "has no random step; --seed is not used" in capsys.readouterr().err


def test_balance_view(capsys):
    assert main(["balance", str(REO), *ROLES, "-o", "caliper=0.2"]) == 0
    out = capsys.readouterr().out
    assert "smd_before" in out and "smd_after" in out and "prior_offences" in out
    assert main(["balance", str(REO), *ROLES, "--json"]) == 0
    rows = _json(capsys)["balance"]
    assert {r["covariate"] for r in rows} >= {"age", "prior_offences"}
    assert main(["estimate", str(REO), *ROLES, "--balance"]) == 0
    assert "Covariate balance" in capsys.readouterr().out


def _same_as_csv(path: Path, capsys, *extra: str) -> None:
    assert main(["estimate", str(REO), *ROLES, "--json"]) == 0
    want = _effect(_json(capsys))
    assert main(["estimate", str(path), *ROLES, *extra, "--json"]) == 0
    assert _effect(_json(capsys)) == want


def test_stata_files_are_read(tmp_path, capsys):
    p = tmp_path / "reo.dta"
    pd.read_csv(REO).to_stata(p, write_index=False)
    _same_as_csv(p, capsys)


def test_spss_files_are_read(tmp_path, capsys):
    import pyreadstat  # in the test extra (pip install ".[test]")

    p = tmp_path / "reo.sav"
    pyreadstat.write_sav(pd.read_csv(REO), str(p))
    _same_as_csv(p, capsys)


def test_excel_sheet_choice(tmp_path, capsys):
    p = tmp_path / "reo.xlsx"
    with pd.ExcelWriter(p) as xl:
        pd.DataFrame({"note": ["read me first"]}).to_excel(xl, sheet_name="README", index=False)
        pd.read_csv(REO).to_excel(xl, sheet_name="cohort", index=False)
    _same_as_csv(p, capsys, "--sheet", "cohort")
    _same_as_csv(p, capsys, "--sheet", "1")
    assert main(["estimate", str(p), *ROLES, "--sheet", "people"]) == 2
    assert "`sheet` 'people' is not in 'reo.xlsx'; its sheets are 'README', 'cohort'" in \
        capsys.readouterr().err


def test_semicolon_csv_with_decimal_commas_is_sniffed(tmp_path, capsys):
    data = pd.read_csv(REO)
    p = tmp_path / "reo_eu.csv"
    data.to_csv(p, sep=";", decimal=",", index=False)
    assert sniff_csv(p) == {"sep": ";", "decimal": ","}
    back = read_data(p)
    assert list(back.columns) == list(data.columns)
    assert back["sentence_months"].tolist() == data["sentence_months"].tolist()
    _same_as_csv(p, capsys)
    tabs = tmp_path / "reo.tsv"
    data.to_csv(tabs, sep="\t", index=False)
    _same_as_csv(tabs, capsys)


def test_a_misspelt_column_is_named_with_the_closest_names(capsys):
    code = main(["estimate", str(REO), "--treatment", "treated", "--outcome", "reofended",
                 "--covariates", "age,Sex,prior_offences"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert ("`--outcome` names 'reofended', which is not in 'reoffending.csv' (did you mean "
            "'reoffended'?); `--covariates` names 'Sex', which is not in 'reoffending.csv' "
            "(did you mean 'sex'?)") in err
    assert "Usecols" not in err and "usecols" not in err


def test_duplicate_window_from_the_shell(capsys):
    claims = ROOT / "examples" / "claims"
    argv = ["claims", "validate", "--rules", str(claims / "rules.toml"), "--records",
            str(claims / "records.csv"), "--claims", str(claims / "claims.csv"), "--members",
            str(claims / "members.csv"), "--json"]
    truth = pd.read_csv(claims / "truth.csv")
    assert main(argv) == 0
    counts = _json(capsys)["counts"]
    assert counts["duplicate"] == (truth["status"] == "duplicate").sum() > 0
    assert main([*argv, "--duplicate-window-days", "0"]) == 0  # the API's 0 = off
    assert _json(capsys)["counts"]["duplicate"] == 0
    assert main([*argv, "--duplicate-window-days", "-1"]) == 2
    assert "--duplicate-window-days" in capsys.readouterr().err
