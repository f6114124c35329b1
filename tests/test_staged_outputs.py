"""Issue 14: half-finished output must not look finished.

Every run (`pbr-eval run`, `demo`, `report`, claims files) is written into a staging folder
and moved into place only when complete, with a completion record; a failure or Ctrl-C
part-way leaves the previous outputs intact; a replaced folder keeps nothing of the old one
(no stale figures, no mixing of two runs); output folders are confined and a folder pbr_eval
did not make is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pbr_eval
from pbr_eval.analysis import run_analysis
from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import AnalysisFileError, OutputError
from pbr_eval.io import MARKER, Staging, read_marker, verify_folder, write_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "reoffending.toml"
DATA = ROOT / "data" / "reoffending.csv"


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return [e.name for e in parent.iterdir() if ".pbr-partial-" in e.name or ".pbr-old-" in e.name
            or e.name.endswith(".part")]


def _analysis(tmp_path: Path, outputs: list[str], *, pricing: bool = True,
              name: str = "a.toml") -> Path:
    text = f"""\
title = "staging"
seed = 3
[data]
source = "{DATA.as_posix()}"
[roles]
treatment = "treated"
outcome = ["reoffended"]
covariates = ["age", "sex", "prior_offences"]
[report]
outputs = {json.dumps(outputs)}
[output]
folder = "out"
"""
    if pricing:
        text += '[pricing]\nvalue_per_outcome = 5000\nbetter = "lower"\n'
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("first")
    run = run_analysis(EXAMPLE, out=d / "out", generated="2026-01-01 00:00:00 UTC")
    return run.folder


# ------------------------------------------------------------------ completion marker
def test_a_complete_run_carries_a_completion_marker_in_provenance(first_run):
    prov = json.loads((first_run / "provenance.json").read_text())
    assert prov["output"]["complete"] is True
    listed = set(prov["output"]["files"])
    on_disk = {p.relative_to(first_run).as_posix() for p in first_run.rglob("*") if p.is_file()}
    assert listed == on_disk - {MARKER}
    marker = read_marker(first_run)
    assert marker["complete"] is True and marker["command"] == "pbr-eval run"
    assert set(marker["files"]) == listed and verify_folder(first_run) == []


def test_verify_folder_names_a_changed_a_missing_and_an_added_file(first_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(first_run, copy)
    (copy / "estimates.csv").write_text("edited")
    (copy / "balance.csv").unlink()
    (copy / "notes.txt").write_text("mine")
    assert verify_folder(copy) == ["'balance.csv' is missing",
                                   "'estimates.csv' was changed after pbr_eval wrote it",
                                   "'notes.txt' was not written by pbr_eval"]


# --------------------------------------------------------- failure mid-run: old intact
def test_a_failure_mid_run_leaves_the_previous_outputs_intact(first_run, tmp_path, monkeypatch):
    import shutil

    import pbr_eval.reporting as reporting

    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    before = _snapshot(out)
    calls = []

    def fail_on_workbook(ctx, path):  # the page and the Markdown report are written first
        calls.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(reporting.RENDERERS, ".xlsx", fail_on_workbook)
    with pytest.raises(OSError):
        run_analysis(EXAMPLE, out=out)
    assert calls, "the injected failure did not happen"
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_failed_run_leaves_no_empty_folder_made_for_its_outputs(tmp_path, monkeypatch):
    import pbr_eval.reporting as reporting

    def fail_on_workbook(ctx, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(reporting.RENDERERS, ".xlsx", fail_on_workbook)
    with pytest.raises(OSError):
        run_analysis(EXAMPLE, out=tmp_path / "new" / "deeper" / "out")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / "kept").mkdir()  # a folder that was there before stays
    with Staging() as st:
        write_text(st.file(tmp_path / "kept" / "a" / "r.md"), "x")
    assert (tmp_path / "kept" / "a" / "r.md").read_text() == "x"  # committed: kept


def _run_and_signal(tmp_path: Path, sig: int, first: Path, cmd: list[str]) -> tuple[int, str]:
    """Start `pbr-eval ...`, send ``sig`` once it is writing into its staging folder.

    A run can finish in the moment between the first staged file and the signal (the
    faster the estimators, the likelier): then the signal interrupted nothing, and the
    run is tried again (up to 5 times) rather than the test passing or failing on a race.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "pbr_eval.cli", *cmd], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 300
        signalled = False
        while proc.poll() is None and time.monotonic() < deadline:
            stages = [e for e in first.parent.iterdir() if ".pbr-partial-" in e.name]
            if any(any(s.rglob("*")) for s in stages if s.is_dir()):
                proc.send_signal(sig)
                signalled = True
                break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=300)
        if signalled and proc.returncode != 0:
            return proc.returncode, err
    raise AssertionError(f"five runs finished before they could be interrupted: {err}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_mid_run_leaves_the_previous_outputs_intact(first_run, tmp_path, sig):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first_run, out)
    before = _snapshot(out)
    code, err = _run_and_signal(tmp_path, sig, out, ["run", str(EXAMPLE), "--out", str(out)])
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_ctrl_c_mid_demo_leaves_the_previous_demo_intact(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    before = _snapshot(tmp_path / "demo")
    code, err = _run_and_signal(tmp_path, signal.SIGINT, tmp_path / "demo",
                                ["demo", "--out", str(tmp_path / "demo")])
    assert code == 130 and _snapshot(tmp_path / "demo") == before
    assert _leftovers(tmp_path) == []


# -------------------------------------------------------- nothing lingers, nothing mixes
def test_old_figures_do_not_linger_in_pilot_figures(tmp_path, capsys):
    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    with_prices = tmp_path / "with.json"
    with_prices.write_text(json.dumps({**res.to_dict(), "prices": rec.to_dict()}))
    without = tmp_path / "without.json"
    without.write_text(json.dumps(res.to_dict()))
    md = tmp_path / "pilot.md"
    assert main(["report", str(with_prices), "--out", str(md)]) == 0
    first = sorted(p.name for p in (tmp_path / "pilot_figures").iterdir())
    assert any("price_curve" in n for n in first)
    assert main(["report", str(without), "--out", str(md)]) == 0
    second = sorted(p.name for p in (tmp_path / "pilot_figures").iterdir())
    assert not any("price_curve" in n for n in second) and second  # only this report's
    linked = {line.split("pilot_figures/")[1].split(")")[0]
              for line in md.read_text().splitlines() if "pilot_figures/" in line}
    assert linked == set(second) - {MARKER}
    assert verify_folder(tmp_path / "pilot_figures") == []


def test_no_folder_mixes_files_from_two_runs(tmp_path):
    a = _analysis(tmp_path, ["pilot.html", "pilot.md", "workbook.xlsx"])
    run_analysis(a)
    b = _analysis(tmp_path, ["pilot.md"], pricing=False)
    run = run_analysis(b)
    names = sorted(p.name for p in run.folder.iterdir())
    assert names == sorted([MARKER, "analysis.toml", "balance.csv", "estimates.csv",
                            "pilot.md", "pilot_figures", "provenance.json", "results.json"])
    assert verify_folder(run.folder) == []
    assert "price_curve" not in " ".join(p.name for p in (run.folder / "pilot_figures").iterdir())


# ---------------------------------------------------------------- confined, never foreign
@pytest.mark.parametrize("folder", ["../outside", "/tmp/pbr-anywhere", ".", "a/../../b"])
def test_the_output_folder_of_an_analysis_file_is_confined_to_its_folder(tmp_path, folder):
    a = _analysis(tmp_path, ["pilot.html"]).read_text().replace('folder = "out"',
                                                                f'folder = "{folder}"')
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "a.toml"
    p.write_text(a)
    with pytest.raises(AnalysisFileError, match=r"a.toml, line 12: `output.folder` must be a "
                                                r"(sub-)?folder"):
        run_analysis(p)
    assert sorted(e.name for e in tmp_path.iterdir()) == ["a.toml", "sub"]


def test_an_output_folder_that_is_a_link_leading_outside_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "out").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    p = tmp_path / "sub" / "a.toml"
    p.write_text(_analysis(tmp_path, ["pilot.html"]).read_text())
    with pytest.raises(AnalysisFileError, match=r"line 12: `output.folder` must be a folder "
                                                r"inside .*which leads through a link to"):
        run_analysis(p)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_run_check_refuses_a_folder_pbr_eval_did_not_make_as_the_run_would(tmp_path, capsys):
    a = _analysis(tmp_path, ["pilot.html"])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "board paper.docx").write_text("the user's own work")
    assert main(["run", str(a), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbr-eval: error: a.toml, line 12: `output.folder` cannot be written")
    assert "'board paper.docx'" in err
    assert main(["run", str(a), "--check", "--out", str(tmp_path / "out")]) == 2
    assert "'board paper.docx'" in capsys.readouterr().err
    assert main(["run", str(a), "--check", "--out", str(tmp_path / "new")]) == 0
    assert sorted(e.name for e in tmp_path.iterdir()) == ["a.toml", "out"]


def test_run_refuses_to_overwrite_a_folder_pbr_eval_did_not_make(tmp_path, capsys):
    a = _analysis(tmp_path, ["pilot.html"])
    mine = tmp_path / "out"
    mine.mkdir()
    (mine / "board paper.docx").write_text("the user's own work")
    code = main(["run", str(a)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "holds files pbr_eval did not write ('board paper.docx')" in err
    assert (mine / "board paper.docx").read_text() == "the user's own work"
    assert sorted(e.name for e in mine.iterdir()) == ["board paper.docx"]
    # the same with --out, and for the demo
    assert main(["run", str(a), "--out", str(mine)]) == 2
    assert main(["demo", "--out", str(mine)]) == 2
    assert sorted(e.name for e in mine.iterdir()) == ["board paper.docx"]
    # a file added to a finished pbr_eval folder makes it foreign too (it would be deleted)
    run = run_analysis(a, out=tmp_path / "done")
    (run.folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"'notes.txt'"):
        run_analysis(a, out=run.folder)
    assert (run.folder / "notes.txt").read_text() == "mine"


def test_a_pbr_eval_folder_from_before_completion_markers_is_replaced(tmp_path):
    a = _analysis(tmp_path, ["pilot.html"])
    old = tmp_path / "out"
    old.mkdir()
    for name in ("estimates.csv", "pilot.html", "provenance.json"):  # what 0.1 wrote
        (old / name).write_text("0.1")
    run = run_analysis(a)
    assert (run.folder / "pilot.html").read_text() != "0.1" and verify_folder(run.folder) == []


def test_staging_commits_all_files_or_none(tmp_path):
    write_text(tmp_path / "a.txt", "old a")
    with pytest.raises(RuntimeError), Staging() as st:
        write_text(st.file(tmp_path / "a.txt"), "new a")
        write_text(st.file(tmp_path / "b.txt"), "new b")
        raise RuntimeError("stop")
    assert (tmp_path / "a.txt").read_text() == "old a" and not (tmp_path / "b.txt").exists()
    with Staging() as st:
        write_text(st.file(tmp_path / "a.txt"), "new a")
        write_text(st.file(tmp_path / "b.txt"), "new b")
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").exists()
    assert _leftovers(tmp_path) == []


def test_a_staging_folder_left_by_a_killed_run_is_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.pbr-partial-{dead.pid}-abc123"
    stale.mkdir()
    (stale / "half.html").write_text("<html>")
    with Staging() as st:
        write_text(st.folder(tmp_path / "out") / "x.txt", "x")
    assert not stale.exists() and (tmp_path / "out" / "x.txt").exists()
