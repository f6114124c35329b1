"""`pbr-eval price RESULTS_JSON` (issue 6)."""

from __future__ import annotations

import json

import pytest

from pbr_eval import Cohort, estimate, price
from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    sim = load_reoffending()
    res = estimate(Cohort(sim.data, **sim.cohort_args))
    path = tmp_path_factory.mktemp("price") / "results.json"
    res.to_json(str(path))
    return path, res


def test_price_command_json_matches_api(results_file, capsys):
    path, res = results_file
    code = main(["price", str(path), "--value-per-outcome", "5000", "--better", "lower", "--outcome",
                 "reoffended", "--cost-per-participant", "100", "--cohort-size", "600", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    row = out["prices"][0]
    api = price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                cost_per_participant=100, cohort_size=600).to_frame().iloc[0]
    for col in ("recommended", "band_lower", "band_upper", "ceiling", "floor", "prob_overpay"):
        assert row[col] == pytest.approx(api[col], rel=1e-9)
    assert out["rule"] == "upper"


def test_price_command_text_and_errors(results_file, tmp_path, capsys):
    path, _ = results_file
    assert main(["price", str(path), "--value-per-outcome", "5000", "--better", "lower", "--outcome",
                 "reoffended", "--rule", "central"]) == 0
    assert "recommended price per outcome" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["price", str(bad), "--value-per-outcome", "10"]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}', encoding="utf-8")
    assert main(["price", str(other), "--value-per-outcome", "10"]) == 2
    assert "'estimates' list" in capsys.readouterr().err
