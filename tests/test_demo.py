"""`pbr-eval demo` and `pbr-eval estimate` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.kinds import format_value


def test_demo_writes_outputs_and_covers_truth(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "non-intervention" in out and "recommended (at most" in out
    # money is printed as every report prints it: the money kind's currency symbol
    price = next(line for line in out.splitlines() if "recommended (at most" in line)
    symbol = format_value(1.0, "money")[:-1]
    assert f"{symbol}" in price and "GBP" not in out
    payload = json.loads((tmp_path / "reports/demo/results.json").read_text())
    row = next(r for r in payload["estimates"] if r["outcome"] == "reoffended")
    truth = load_reoffending().truth.loc["reoffended", "non_intervention"]
    assert row["non_intervention_ci_lower"] <= truth <= row["non_intervention_ci_upper"]
    assert not (row["non_intervention_ci_lower"] <= row["naive_comparison"]
                <= row["non_intervention_ci_upper"])
    assert (tmp_path / "reports/demo/summary.md").read_text().startswith("# pbr_eval demo")
    assert "P0000" not in (tmp_path / "reports/demo/results.json").read_text()


def _shipped_csv(tmp_path):
    path = tmp_path / "reoffending.csv"
    load_reoffending().data.to_csv(path, index=False)
    return path


def test_estimate_json(tmp_path, capsys):
    path = _shipped_csv(tmp_path)
    code = main(["estimate", str(path), "--treatment", "treated", "--outcome", "reoffended",
                 "--covariates", "age,sex,prior_offences,offence_type,sentence_months",
                 "--unit-id", "person_id", "--json", "-o", "ratio=1"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["estimates"][0]["outcome"] == "reoffended"
    assert d["info"]["method"] == "nearest"


def test_estimate_error_is_one_line_nonzero(tmp_path):
    path = _shipped_csv(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pbr_eval.cli", "estimate", str(path), "--treatment", "treat",
         "--outcome", "reoffended", "--covariates", "age"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "pbr-eval: error:" in proc.stderr and "'treat'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_estimate_unsupported_file(tmp_path, capsys):
    bad = tmp_path / "data.txt"
    bad.write_text("x")
    assert main(["estimate", str(bad), "--treatment", "t", "--outcome", "y",
                 "--covariates", "a"]) == 2
    assert "`data` must be a CSV (.csv, .tsv), Parquet (.parquet, .pq), Excel" in capsys.readouterr().err
