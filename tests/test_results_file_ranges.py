"""A hand-edited results file with impossible figures is refused by `report` and `price` (issue 14)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pbr_eval.cli import cli


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranges")
    path = folder / "results.json"
    res = CliRunner().invoke(cli, [
        "estimate", "data/reoffending.csv", "--treatment", "treated", "--outcome", "reoffended",
        "--covariates", "age,sex,prior_offences", "--method", "nearest", "--save", str(path)])
    assert res.exit_code == 0, res.output
    return json.loads(path.read_text())


@pytest.mark.parametrize("key,value,expected", [
    ("non_intervention", 3.2, "between 0 and 1"),
    ("observed", -0.1, "between 0 and 1"),
    ("effect", 1.5, "between -1 and 1"),
    ("n_treated", -5, "0 or more"),
    ("n_treated", 10.5, "whole number"),
    ("p_value", 1.2, "p-value"),
    ("std_error", -0.01, "0 or more"),
])
def test_impossible_figure_is_refused(tmp_path, saved, key, value, expected):
    payload = json.loads(json.dumps(saved))
    payload["estimates"][0][key] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    for args in (["report", str(path), "--out", str(tmp_path / "r.html")],
                 ["price", str(path), "--value-per-outcome", "5000"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert key in res.output and expected in res.output
        assert "Traceback" not in res.output
    assert not (tmp_path / "r.html").exists()


def test_swapped_interval_is_refused(tmp_path, saved):
    payload = json.loads(json.dumps(saved))
    row = payload["estimates"][0]
    row["ci_lower"], row["ci_upper"] = row["ci_upper"], row["ci_lower"]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    res = CliRunner().invoke(cli, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "lower end first" in res.output


def test_estimate_outside_its_interval_is_refused(tmp_path, saved):
    payload = json.loads(json.dumps(saved))
    row = payload["estimates"][0]
    row["non_intervention"] = min(1.0, row["non_intervention_ci_upper"] + 0.05)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    res = CliRunner().invoke(cli, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "inside its interval" in res.output


def test_the_saved_file_itself_passes(tmp_path, saved):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(saved))
    res = CliRunner().invoke(cli, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
