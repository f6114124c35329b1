"""Issue 14: no traceback reaches a CLI user.

Every `pbr-eval` command is run on hostile input (garbage and empty files, hand-edited
results, NaN intervals, a text column given a caliper, a full disk, impossible options):
each must end with one line `pbr-eval: error: ...` and exit 2 (or `problem:` lines and exit
1 for `validate`), and never with the line kept for failures pbr_eval did not foresee.
"""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import click
import pandas as pd
import pytest

from pbr_eval.cli import UNEXPECTED, cli, main
from pbr_eval.datasets import load_reoffending

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "examples" / "claims"
ROLES = ["--treatment", "treated", "--outcome", "reoffended", "--covariates",
         "age,sex,prior_offences,offence_type"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    f: dict[str, Path] = {}
    data = load_reoffending().data
    f["csv"] = d / "reo.csv"
    data.to_csv(f["csv"], index=False)
    f["empty"] = d / "empty.csv"
    f["empty"].write_text("")
    f["header"] = d / "header.csv"
    f["header"].write_text(",".join(data.columns) + "\n")
    f["binary"] = d / "binary.csv"
    f["binary"].write_bytes(bytes(range(256)) * 40)
    f["latin1"] = d / "latin1.csv"
    f["latin1"].write_bytes("treated,age\n1,3\xe9\n".encode("latin-1"))
    for suffix in ("parquet", "xlsx", "dta", "sav"):
        f[suffix] = d / f"fake.{suffix}"
        f[suffix].write_text("not really a file of that kind")
    f["nan_text"] = d / "nan_text.csv"
    data.assign(reoffended=data["reoffended"].astype(str).replace({"1": "yes"})).to_csv(
        f["nan_text"], index=False)
    # results files
    import pbr_eval

    res = pbr_eval.estimate(pbr_eval.Cohort(data, treatment="treated", outcome="reoffended",
                                            covariates=["age", "sex"]))
    good = res.to_dict()
    f["results"] = d / "results.json"
    f["results"].write_text(json.dumps(good))

    def variant(name, edit):
        payload = json.loads(json.dumps(good))
        edit(payload)
        f[name] = d / f"{name}.json"
        f[name].write_text(json.dumps(payload))

    variant("r_list_of_ints", lambda p: p.__setitem__("estimates", [1, 2]))
    variant("r_info_text", lambda p: p.__setitem__("info", "x"))
    variant("r_effect_text", lambda p: p["estimates"][0].__setitem__("effect", "abc"))
    variant("r_no_estimates", lambda p: p.pop("estimates"))
    variant("r_outcome_number", lambda p: p["estimates"][0].__setitem__("outcome", 5))
    variant("r_balance_text", lambda p: p.__setitem__("balance", "x"))
    variant("r_level_95", lambda p: p.__setitem__("level", 95))
    f["r_nan"] = d / "r_nan.json"  # NaN intervals, as a one-pair match gives
    nan = json.loads(json.dumps(good))
    for key in ("non_intervention_se", "non_intervention_ci_lower", "non_intervention_ci_upper",
                "std_error", "ci_lower", "ci_upper", "p_value"):
        nan["estimates"][0][key] = float("nan")
    f["r_nan"].write_text(json.dumps(nan))
    f["r_list"] = d / "list.json"
    f["r_list"].write_text("[1, 2, 3]")
    f["r_garbage"] = d / "garbage.json"
    f["r_garbage"].write_bytes(b"\xff\xfe{")
    f["toml_binary"] = d / "bad.toml"
    f["toml_binary"].write_bytes(b"\xff\xfe\x00garbage")
    f["toml_bad"] = d / "bad2.toml"
    f["toml_bad"].write_text("[data\nsource = ")
    f["rules_bad"] = d / "rules.toml"
    f["rules_bad"].write_text("[[rule]]\nname = 3\n")
    members = pd.read_csv(CLAIMS / "members.csv")
    f["members_gap"] = d / "members_gap.csv"
    members.assign(person=members["person"].where(members.index > 2)).to_csv(f["members_gap"],
                                                                           index=False)
    f["members_numeric"] = d / "members_numeric.csv"
    members.assign(family=12345).to_csv(f["members_numeric"], index=False)
    f["dir"] = d / "a folder"
    f["dir"].mkdir()
    f["afile"] = d / "a_file.txt"
    f["afile"].write_text("x")
    return f


def _cases(f: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    csv, res = str(f["csv"]), str(f["results"])
    out = str(f["dir"] / "out.html")
    cases = [
        # estimate / balance / validate on hostile data and options
        *[(f"estimate-{k}", ["estimate", str(f[k]), *ROLES], 2)
          for k in ("empty", "header", "binary", "latin1", "parquet", "xlsx", "dta", "sav",
                    "nan_text", "dir")],
        ("estimate-caliper-on-text-column",
         ["estimate", csv, *ROLES, "--method", "nearest", "-o", 'caliper={"offence_type": 0.1}'],
         2),
        ("estimate-caliper-text", ["estimate", csv, *ROLES, "--method", "nearest", "-o",
                                   "caliper=wide"], 2),
        ("estimate-caliper-default", ["estimate", csv, *ROLES, "-o", "caliper=0.2"], 2),
        ("evaluate-unknown-option", ["evaluate", csv, *ROLES, "-o", "caliper=0.2"], 2),
        ("evaluate-ratio-zero", ["evaluate", csv, *ROLES, "-o", "ratio=0"], 2),
        ("evaluate-misspelt-column", ["evaluate", csv, "--treatment", "treatd", "--outcome",
                                      "reoffended", "--covariates", "age"], 2),
        ("estimate-option-garbage", ["estimate", csv, *ROLES, "-o", "novalue"], 2),
        ("estimate-option-twice", ["estimate", csv, *ROLES, "-o", "ratio=1", "-o", "ratio=2"], 2),
        ("estimate-unknown-method", ["estimate", csv, *ROLES, "--method", "magic"], 2),
        ("estimate-level-95", ["estimate", csv, *ROLES, "--level", "95"], 2),
        ("estimate-misspelt-column", ["estimate", csv, "--treatment", "treatd", "--outcome",
                                      "reoffended", "--covariates", "age"], 2),
        ("estimate-sheet-on-csv", ["estimate", csv, *ROLES, "--sheet", "2"], 2),
        ("estimate-at-period-without-period", ["estimate", csv, *ROLES, "--at-period", "1"], 2),
        ("estimate-outcome-type-bad", ["estimate", csv, *ROLES, "--outcome-type",
                                       "reoffended=binomial"], 2),
        ("estimate-save-into-folder", ["estimate", csv, *ROLES, "--save", str(f["dir"])], 2),
        ("estimate-save-under-a-file", ["estimate", csv, *ROLES, "--save",
                                        str(f["afile"] / "r.json")], 2),
        ("estimate-min-treated-0", ["estimate", csv, *ROLES, "--min-treated", "0"], 2),
        ("estimate-period-order-without-period", ["estimate", csv, *ROLES, "--period-order",
                                                  "pre,post"], 2),
        ("balance-unknown-option", ["balance", csv, *ROLES, "-o", "bogus=1"], 2),
        ("validate-binary", ["validate", str(f["binary"]), *ROLES], 1),
        ("validate-empty", ["validate", str(f["empty"]), *ROLES], 2),
        ("validate-header-only", ["validate", str(f["header"]), *ROLES], 1),
        ("validate-misspelt", ["validate", csv, "--treatment", "treated", "--outcome",
                               "reoffended", "--covariates", "agee"], 1),
        ("validate-max-memory-garbage", ["validate", csv, *ROLES, "--max-memory", "lots"], 2),
        ("validate-toml-binary", ["validate", str(f["toml_binary"]), *ROLES], 2),
        # report / price on hand-edited results
        *[(f"report-{k}", ["report", str(f[k]), "--out", out], 2)
          for k in ("r_list_of_ints", "r_info_text", "r_effect_text", "r_no_estimates",
                    "r_outcome_number", "r_balance_text", "r_level_95", "r_list", "r_garbage",
                    "dir")],
        *[(f"price-{k}", ["price", str(f[k]), "--value-per-outcome", "5000"], 2)
          for k in ("r_list_of_ints", "r_info_text", "r_effect_text", "r_outcome_number",
                    "r_list", "r_garbage", "r_nan")],
        ("report-pdf", ["report", res, "--out", str(f["dir"] / "r.pdf")], 2),
        ("report-into-a-folder", ["report", res, "--out", str(f["dir"])], 2),
        ("report-threshold-0", ["report", res, "--out", out, "--threshold", "0"], 2),
        ("report-level-95", ["report", res, "--out", out, "--level", "95"], 2),
        ("report-pricing-garbage", ["report", res, "--out", out, "--pricing",
                                    str(f["r_garbage"])], 2),
        ("price-negative-value", ["price", res, "--value-per-outcome", "-5000"], 2),
        ("price-level-95", ["price", res, "--value-per-outcome", "5000", "--level", "95"], 2),
        # run
        ("run-binary-toml", ["run", str(f["toml_binary"])], 2),
        ("run-bad-toml", ["run", str(f["toml_bad"])], 2),
        ("run-check-binary-toml", ["run", str(f["toml_binary"]), "--check"], 2),
        ("run-missing", ["run", str(f["dir"] / "nope.toml")], 2),
        # simulate
        ("simulate-unknown", ["simulate", "data", "nowhere", "--seed", "1", "--out",
                              str(f["dir"] / "s.csv")], 2),
        ("simulate-zero-treated", ["simulate", "data", "reoffending", "--n-treated", "0",
                                   "--seed", "1", "--out", str(f["dir"] / "s.csv")], 2),
        ("simulate-out-is-a-folder", ["simulate", "data", "reoffending", "--seed", "1",
                                      "--out", str(f["dir"])], 2),
        # claims
        ("claims-validate-bad-rules", ["claims", "validate", "--rules", str(f["rules_bad"]),
                                       "--records", str(CLAIMS / "records.csv"), "--claims",
                                       str(CLAIMS / "claims.csv")], 2),
        ("claims-validate-binary-claims", ["claims", "validate", "--rules",
                                           str(CLAIMS / "rules.toml"), "--records",
                                           str(CLAIMS / "records.csv"), "--claims",
                                           str(f["binary"])], 2),
        ("claims-validate-out-is-a-file", ["claims", "validate", "--rules",
                                           str(CLAIMS / "rules.toml"), "--records",
                                           str(CLAIMS / "records.csv"), "--claims",
                                           str(CLAIMS / "claims.csv"), "--out",
                                           str(f["afile"])], 2),
        *[(f"claims-validate-{k}", ["claims", "validate", "--rules", str(CLAIMS / "rules.toml"),
                                    "--records", str(CLAIMS / "records.csv"), "--claims",
                                    str(CLAIMS / "claims.csv"), "--members", str(f[k])], 2)
          for k in ("members_gap", "members_numeric")],  # were "unexpected internal error"
        ("claims-sample-no-status", ["claims", "sample", "--claims", str(CLAIMS / "claims.csv"),
                                     "--n", "5", "--out", str(f["dir"] / "s.csv")], 2),
        ("claims-sample-two-sizes", ["claims", "sample", "--claims", csv, "--n", "5",
                                     "--margin", "0.1", "--out", str(f["dir"] / "s.csv")], 2),
        # workbook
        ("workbook-no-prices", ["workbook", res, "--out", str(f["dir"] / "t.xlsx")], 2),
        ("workbook-garbage", ["workbook", str(f["r_garbage"]), "--out",
                              str(f["dir"] / "t.xlsx"), "--value-per-outcome", "5000"], 2),
        ("workbook-negative-value", ["workbook", res, "--out", str(f["dir"] / "t.xlsx"),
                                     "--value-per-outcome", "-5"], 2),
        ("workbook-pdf", ["workbook", res, "--out", str(f["dir"] / "t.pdf"), "--value-per-outcome", "5"], 2),
        ("workbook-into-a-folder", ["workbook", res, "--out", str(f["dir"]), "--value-per-outcome", "5"], 2),
        ("workbook-percent-discount", ["workbook", res, "--out", str(f["dir"] / "t.xlsx"),
                                       "--value-per-outcome", "5000", "--discount-rate", "3.5"], 2),
        # demo
        ("demo-out-is-a-file", ["demo", "--out", str(f["afile"])], 2),
    ]
    return cases


CASE_IDS = [c[0] for c in _cases({k: Path("x") for k in (
    "csv", "results", "dir", "afile", "empty", "header", "binary", "latin1", "parquet", "xlsx",
    "dta", "sav", "nan_text", "r_list_of_ints", "r_info_text", "r_effect_text",
    "r_no_estimates", "r_outcome_number", "r_balance_text", "r_level_95", "r_list",
    "r_garbage", "r_nan", "toml_binary", "toml_bad", "rules_bad", "members_gap",
    "members_numeric")})]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_every_cli_command_on_hostile_input_ends_in_one_line_without_traceback(
        files, case_id, capsys):
    case = {c[0]: c for c in _cases(files)}[case_id]
    _, argv, want = case
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err + captured.out
    assert UNEXPECTED not in err, err
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", err + captured.out)  # no escape codes
    assert code == want, f"exit {code}: {err or captured.out}"
    if want == 2:
        lines = [ln for ln in err.splitlines() if not ln.startswith("note:")]
        assert len(lines) == 1 and lines[0].startswith("pbr-eval: error: "), err
    else:
        assert "problem:" in captured.out


def test_the_hostile_cases_cover_every_command():
    covered = {c.split("-")[0] for c in CASE_IDS}

    def commands(group: click.Group, prefix: str = "") -> list[str]:
        out = []
        for name, cmd in group.commands.items():
            out += commands(cmd, f"{prefix}{name}-") if isinstance(cmd, click.Group) else \
                [f"{prefix}{name}".split("-")[0]]
        return out

    assert set(commands(cli)) <= covered | {"price"}, set(commands(cli)) - covered


def test_report_on_nan_intervals_says_not_computable(files, tmp_path, capsys):
    for name in ("r.html", "r.md", "r.xlsx"):
        assert main(["report", str(files["r_nan"]), "--out", str(tmp_path / name)]) == 0, \
            capsys.readouterr().err
    for name in ("r.html", "r.md"):
        text = re.sub(r"data:image/[^\"')]+", "", (tmp_path / name).read_text(encoding="utf-8"))
        assert not re.search(r"\bnan\b", text, re.I), name


def test_full_disk_while_writing_reports_is_one_line(files, tmp_path, monkeypatch, capsys):
    import pbr_eval.reporting as reporting

    def full(ctx, path):  # what writing a file on a full disk raises
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setitem(reporting.RENDERERS, ".html", full)
    code = main(["report", str(files["results"]), "--out", str(tmp_path / "r.md"), "--out",
                 str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "The disk is full" in err
    assert list(tmp_path.iterdir()) == []  # the Markdown report written first was not kept


def test_an_unforeseen_failure_is_still_one_line_and_says_it_is_a_bug(monkeypatch, capsys):
    import pbr_eval.demo

    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(pbr_eval.demo, "run_demo", boom)
    assert main(["demo", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and UNEXPECTED in err and "--debug" in err
    assert "Traceback" not in err


# ------------------------------ Ctrl-C or a broken install while pbr_eval is imported
def _launch(monkeypatch, failure: BaseException, argv: list[str]) -> int:
    import builtins

    import pbr_eval_cli

    real_import = builtins.__import__

    def importing(name, *args, **kwargs):
        if name == "pbr_eval.cli":  # the seconds the package takes to import
            raise failure
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)
    return pbr_eval_cli.main(argv)


@pytest.mark.parametrize("failure, code, says", [
    (KeyboardInterrupt(), 130, "pbr-eval: interrupted while starting; nothing was written."),
    (ImportError("No module named 'pandas'"), 2, "pbr-eval: error: pbr_eval could not start"),
], ids=["ctrl_c", "broken_install"])
def test_ctrl_c_or_a_broken_install_while_starting_is_one_line(monkeypatch, capsys, failure,
                                                               code, says):
    assert _launch(monkeypatch, failure, ["run", "x.toml"]) == code
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith(says), captured.err
    assert "Traceback" not in captured.err + captured.out
    with pytest.raises(type(failure)):  # --debug shows the traceback
        _launch(monkeypatch, failure, ["--debug", "run", "x.toml"])


# A real process, stopped while it is really importing pbr_eval: a finder that pauses the
# import of pandas (which pbr_eval.cli pulls in) says so on stdout, then the test signals it.
_PAUSE_IN_IMPORT = """
import sys, time
class Pause:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            sys.meta_path.remove(self)
            print("importing", flush=True)
            time.sleep(120)
        return None
sys.meta_path.insert(0, Pause())
import pbr_eval_cli
sys.exit(pbr_eval_cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig, says", [
    ("SIGTERM", "pbr-eval: stopped (SIGTERM) while starting; nothing was written."),
    ("SIGINT", "pbr-eval: interrupted while starting; nothing was written."),
], ids=["sigterm", "ctrl_c"])
def test_a_signal_while_the_cli_is_still_importing_is_one_line(tmp_path, sig, says):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _PAUSE_IN_IMPORT, "demo", "--out", "d"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "importing\n"
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, (proc.returncode, err)
    assert err == says + "\n" and "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_the_console_script_starts_through_the_launcher():
    from importlib.metadata import entry_points

    import pbr_eval_cli

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "pbr-eval"]
    assert script.value == "pbr_eval_cli:main"
    assert pbr_eval_cli.main(["--version"]) == 0
