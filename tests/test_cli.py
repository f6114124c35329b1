"""The command line: validate, simulate, report, run, demo; help, --json, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from pbr_eval.cli import cli, main
from pbr_eval.datasets import load_reoffending

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROLES = ["--treatment", "treated", "--outcome", "reoffended", "--covariates",
         "age,sex,prior_offences,offence_type,sentence_months", "--unit-id", "person_id"]


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix}{name} ")


@pytest.mark.parametrize("name, cmd", list(_commands(cli)), ids=lambda x: str(x))
def test_every_command_has_an_example_in_help(name, cmd):
    if not isinstance(name, str):
        return
    text = cmd.help or ""
    assert "Example" in text, f"`pbr-eval {name} --help` shows no example"


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "reoffending.csv"
    load_reoffending().data.to_csv(p, index=False)
    return p


def test_validate_ok_and_json(csv_path, capsys):
    assert main(["validate", str(csv_path), *ROLES]) == 0
    assert capsys.readouterr().out.startswith("OK: 12,600 rows; 600 treated, 12,000 comparison")
    assert main(["validate", str(csv_path), *ROLES, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] is True and d["summary"]["n_treated"] == 600


def test_validate_prints_each_problem_and_exits_1(csv_path, tmp_path, capsys):
    assert main(["validate", str(csv_path), "--treatment", "treated", "--outcome", "reoffended",
                 "--covariates", "age,agee,sexx"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("problem: `--covariates` names 'agee', which is not in")
    assert "(did you mean 'age'?)" in out and "names 'sexx'" in out
    broken = tmp_path / "broken.csv"
    df = load_reoffending().data.copy()
    df.loc[df.index[:5], "age"] = None
    df.to_csv(broken, index=False)
    assert main(["validate", str(broken), *ROLES, "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert not d["ok"] and any("'age'" in p for p in d["problems"])


def test_validate_an_analysis_file(capsys):
    assert main(["validate", str(EXAMPLES / "reoffending.toml"), "--treatment", "x",
                 "--outcome", "x", "--covariates", "x"]) == 0
    assert "OK:" in capsys.readouterr().out


def test_simulate_data_is_seeded(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        assert main(["simulate", "data", "reoffending", "--n-treated", "100",
                     "--n-comparison", "500", "--seed", "4", "--out", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "\n}")
    assert a.read_bytes() == b.read_bytes()
    assert set(d["truth"]) == {"reoffended", "reconviction_events"}
    assert main(["simulate", "data", "nosuch", "--seed", "1", "--out", str(a)]) == 2
    assert "`scenario` must be one of" in capsys.readouterr().err


def test_estimate_save_then_report_all_formats(csv_path, tmp_path, capsys):
    saved = tmp_path / "results.json"
    assert main(["estimate", str(csv_path), *ROLES, "--save", str(saved)]) == 0
    capsys.readouterr()
    outs = [tmp_path / "r" / n for n in ("pilot.html", "pilot.md", "book.xlsx")]
    args = ["report", str(saved), "--json"]
    for o in outs:
        args += ["--out", str(o)]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert all(str(o) in d["files"] for o in outs) and all(o.is_file() for o in outs)
    assert "of a matched comparison group" in outs[0].read_text(encoding="utf-8")


def test_staggered_rollout_and_parallel_trends_from_the_command_line(csv_path, tmp_path,
                                                                       capsys):
    """--first-treated reaches staggered adoption, the saved file keeps its event study, and
    `report --parallel-trends` adds the sensitivity with the same numbers as the Python call."""
    import pbr_eval
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=600, seed=3)
    data = tmp_path / "rollout.csv"
    sim.data.to_csv(data, index=False)
    saved = tmp_path / "rollout.json"
    assert main(["estimate", str(data), "--treatment", "treated", "--outcome", "y",
                 "--covariates", "x1,x2", "--unit-id", "unit", "--period", "period",
                 "--first-treated", "first_treated", "--method", "staggered_did",
                 "-o", "base_period=universal", "--seed", "1", "--save", str(saved)]) == 0
    capsys.readouterr()
    md = tmp_path / "rollout.md"
    assert main(["report", str(saved), "--out", str(md), "--parallel-trends",
                 "relative_magnitudes", "--bounds", "0.5,1", "--pt-target", "average",
                 "--value-per-outcome", "500"]) == 0
    text = md.read_text(encoding="utf-8")
    assert "## Staggered roll-out" in text and "## Parallel trends" in text
    live = pbr_eval.estimate(sim.cohort(), method="staggered_did", base_period="universal",
                             seed=1)
    pt = pbr_eval.parallel_trends(live, bounds=[0.5, 1.0], target="average",
                                  value_per_outcome=500)
    assert f"{pt.breakdown:.2f}" in text
    # an analysis file takes the role too
    toml = tmp_path / "rollout.toml"
    toml.write_text('[data]\nsource = "rollout.csv"\n[roles]\ntreatment = "treated"\n'
                    'outcome = ["y"]\ncovariates = ["x1", "x2"]\nunit_id = "unit"\n'
                    'period = "period"\nfirst_treated = "first_treated"\n[[estimate]]\n'
                    'method = "staggered_did"\n[report]\noutputs = ["pilot.md"]\n',
                    encoding="utf-8")
    assert main(["run", str(toml), "--out", str(tmp_path / "run")]) == 0
    assert "## Staggered roll-out" in (tmp_path / "run" / "pilot.md").read_text(encoding="utf-8")
    capsys.readouterr()
    # the options of the analysis need it, and bad bounds are named
    assert main(["report", str(saved), "--out", str(md), "--bounds", "1"]) == 2
    assert "belongs to the parallel-trends analysis" in capsys.readouterr().err
    assert main(["report", str(saved), "--out", str(md), "--parallel-trends", "smoothness",
                 "--bounds", "1,x"]) == 2
    assert "`--bounds` must be numbers" in capsys.readouterr().err
    # results without an event study get a clear error, no traceback
    plain = tmp_path / "plain.json"
    assert main(["estimate", str(csv_path), *ROLES, "--method", "ipw", "--save",
                 str(plain)]) == 0
    capsys.readouterr()
    assert main(["report", str(plain), "--out", str(md), "--parallel-trends",
                 "smoothness"]) == 2
    err = capsys.readouterr().err
    assert "event study" in err and "--first-treated" in err and "Traceback" not in err


def test_report_from_demo_results_includes_prices(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # the budget is CPU time: wall time on a shared machine measures the load, not the demo
    t0 = time.process_time()
    assert main(["demo"]) == 0
    elapsed = time.process_time() - t0
    assert elapsed < 30, f"pbr-eval demo took {elapsed:.1f} s of CPU"
    demo = tmp_path / "reports" / "demo"
    for name in ("results.json", "summary.md", "pilot.html", "pilot.md", "tariff.html",
                 "workbook.xlsx"):
        assert (demo / name).is_file(), name
    # every section of both reports is filled from the engines that exist
    for name in ("pilot.html", "tariff.html"):
        assert "Not available" not in (demo / name).read_text(encoding="utf-8"), name
    # no unit identifier (person_id looks like P0001234) in any published output; standing
    # alone, not inside a longer run of letters and digits such as an embedded image's base64
    import re

    for name in ("pilot.html", "pilot.md", "tariff.html", "results.json", "summary.md"):
        assert not re.search(r"(?<![A-Za-z0-9+/])P\d{7}(?![A-Za-z0-9])",
                             (demo / name).read_text(encoding="utf-8")), name
    from openpyxl import load_workbook

    wb = load_workbook(demo / "workbook.xlsx")
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not any(re.search(r"P\d{7}", c) for c in cells)
    # the live tariff workbook: inputs, and sheets computed by formulas
    assert wb.sheetnames[:6] == ["Read me", "Inputs", "Prices", "Tariff", "Payments", "Cash flow"]
    for sheet in ("Prices", "Tariff", "Payments", "Cash flow"):
        assert any(str(c.value).startswith("=") for row in wb[sheet].iter_rows()
                   for c in row), sheet
    capsys.readouterr()
    assert main(["report", str(demo / "results.json"), "--out", "t.html", "--kind",
                 "tariff"]) == 0
    assert 'id="prices"' in (tmp_path / "t.html").read_text(encoding="utf-8")


def test_run_example_json_and_check(tmp_path, capsys):
    assert main(["run", str(EXAMPLES / "reoffending.toml"), "--check"]) == 0
    assert "is a valid analysis file" in capsys.readouterr().out
    assert main(["run", str(EXAMPLES / "reoffending.toml"), "--out", str(tmp_path / "o"),
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["provenance"]["seed"] == 20240101
    assert (tmp_path / "o" / "provenance.json").is_file()
    assert d["estimates"]["psm"][0]["outcome"] == "reoffended"


def test_run_error_is_one_line_with_key_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nsource = "x.csv"\n[roles]\ntreatment = "t"\noutcome = "y"\n'
                   'covariates = ["a"]\ncalipr = 0.2\n')
    proc = subprocess.run([sys.executable, "-m", "pbr_eval.cli", "run", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("pbr-eval: error: bad.toml, line 7: `roles.calipr` is not a "
                                  "known key")
    assert "Traceback" not in proc.stderr


def test_report_missing_results_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "--out", "x.html"]) == 2
    assert "`results` file" in capsys.readouterr().err
