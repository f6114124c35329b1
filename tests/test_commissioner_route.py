"""The commissioner's route without Python (issue 15.4): one set of contract values feeds
the price, the tariff and the cash flow, through the analysis file and the commands alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import pbr_eval
from pbr_eval.analysis import commissioner_bundle, contract_price_options, load_analysis
from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import AnalysisFileError, OptionError

CONTRACT = {"attachment_fee": 100.0, "cost_per_participant": 300.0, "referrals_per_month": 50,
            "months_of_referrals": 12, "outcome_lag": 18, "payment_lag": 3}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """`pbr-eval estimate --save` on the shipped data, and the same results in Python."""
    folder = tmp_path_factory.mktemp("route")
    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    res.to_json(str(folder / "results.json"))
    return folder, res


def _text(path: Path) -> str:
    page = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", page)


def _missing(text: str) -> list[str]:
    """What comes just before each "Not available" (the section's title)."""
    return [text[max(0, m.start() - 40):m.start()] for m in re.finditer("Not available", text)]


def _no_pricing_gaps(text: str) -> None:
    gaps = [g for g in _missing(text) if "hidden bias" not in g]  # no sensitivity was run
    assert not gaps, gaps


def test_price_command_with_contract_feeds_tariff_report(saved, capsys):
    folder, res = saved
    args = ["price", str(folder / "results.json"), "--value-per-outcome", "5000", "--better", "lower",
            "--outcome", "reoffended", "--attachment-fee", "100", "--cost-per-participant", "300",
            "--referrals-per-month", "50", "--months-of-referrals", "12", "--outcome-lag", "18",
            "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["prices"][0]
    api = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         **contract_price_options(CONTRACT)).to_frame().iloc[0]
    assert row["attachment_fee"] == 100.0 and row["cost_per_participant"] == 300.0
    assert row["cohort_size"] == 600
    for col in ("ceiling", "floor", "recommended", "band_upper", "prob_overpay"):
        assert row[col] == pytest.approx(api[col], rel=1e-12)
    # the fee lowers the ceiling by A / r
    no_fee = pbr_eval.price(res, value_per_outcome=5000, better="lower",
                            outcomes=["reoffended"]).to_frame().iloc[0]
    assert row["ceiling"] == pytest.approx(no_fee["ceiling"] - 100 / row["expected_rate"])
    assert out["contract"]["attachment_fee"] == 100.0
    prices = folder / "prices.json"
    prices.write_text(json.dumps(out), encoding="utf-8")
    assert main(["report", str(folder / "results.json"), "--pricing", str(prices), "--kind",
                 "tariff", "--out", str(folder / "tariff.html")]) == 0
    capsys.readouterr()
    text = _text(folder / "tariff.html")
    _no_pricing_gaps(text)
    # the engine's advice leads the tariff report, and the two risks are explained
    head = text[:text.index("Recommended prices")] if "Recommended prices" in text else text
    assert "Pilot longer" in head and "attachment fees" in head
    assert "Two risks are quoted" in text
    assert re.search(r"(GBP |£)100\b", text), "the attachment fee is in the tariff"


def test_price_command_contract_needs_cost(saved, capsys):
    folder, _ = saved
    assert main(["price", str(folder / "results.json"), "--value-per-outcome", "5000", "--better", "lower",
                 "--outcome", "reoffended", "--referrals-per-month", "50",
                 "--months-of-referrals", "12"]) == 2
    assert "A contract needs --cost-per-participant" in capsys.readouterr().err
    assert main(["price", str(folder / "results.json"), "--value-per-outcome", "5000", "--better", "lower",
                 "--outcome", "reoffended", "--cost-per-participant", "300", "--referrals-per-month", "-5",
                 "--months-of-referrals", "12"]) == 2
    assert "`--referrals-per-month`" in capsys.readouterr().err


def test_bundle_refuses_a_price_set_without_the_contract(saved):
    _, res = saved
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         cost_per_participant=300)
    with pytest.raises(OptionError, match=r"`attachment_fee` of the contract \(100.00\) differs"):
        commissioner_bundle(rec, **CONTRACT)
    bare = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    with pytest.raises(OptionError, match="`cost_per_participant` is needed"):
        commissioner_bundle(bare, referrals_per_month=50, months_of_referrals=12)
    good = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                          **contract_price_options(CONTRACT))
    bundle = commissioner_bundle(good, **CONTRACT)
    assert bundle["cashflow"].frame["attachment_income"].sum() == pytest.approx(100.0 * 600)
    assert bundle["simulation"].info.get("cohort_size", 600) == 600


def _analysis(tmp_path: Path, pricing: str, contract: str) -> Path:
    data = (Path(__file__).resolve().parents[1] / "data" / "reoffending.csv").as_posix()
    p = tmp_path / "a.toml"
    p.write_text(
        f'seed = 1\n[data]\nsource = "{data}"\n[roles]\ntreatment = "treated"\n'
        'outcome = "reoffended"\ncovariates = ["age", "sex", "prior_offences"]\n'
        f"[pricing]\n{pricing}\n[contract]\n{contract}\n"
        '[report]\noutputs = ["tariff.html"]\n', encoding="utf-8")
    return p


def test_analysis_file_contract_sets_the_price(tmp_path):
    contract = ("attachment_fee = 100\ncost_per_participant = 300\nreferrals_per_month = 50\n"
                "months_of_referrals = 12")
    path = _analysis(tmp_path, 'value_per_outcome = 5000\nbetter = "lower"', contract)
    run = pbr_eval.analysis.run_analysis(path, out=tmp_path / "out")
    row = run.prices.to_frame().iloc[0]
    assert row["attachment_fee"] == 100.0 and row["floor"] == pytest.approx(
        (300 - 100) / row["expected_rate"])
    assert row["cohort_size"] == 600
    import pandas as pd

    csv = pd.read_csv(tmp_path / "out" / "prices.csv").iloc[0]
    assert csv["attachment_fee"] == 100.0 and csv["floor"] == pytest.approx(row["floor"])
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["contract"]["attachment_fee"] == 100 and saved["contract"]["seed"] == 1
    _no_pricing_gaps(_text(tmp_path / "out" / "tariff.html"))


def test_analysis_file_declares_contract_money_once(tmp_path):
    contract = "cost_per_participant = 300\nreferrals_per_month = 50\nmonths_of_referrals = 12"
    path = _analysis(tmp_path, "value_per_outcome = 5000\nattachment_fee = 50", contract)
    with pytest.raises(AnalysisFileError,
                       match=r"line 10: `pricing.attachment_fee` belongs in \[contract\]"):
        load_analysis(path)


# ------------------------------------------------------------- docs/commissioners.md runs
REPO = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _page_blocks(text: str) -> list[tuple[str, str, str | None]]:
    """(language, code, the text block right after it or None) for every bash block."""
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in _BLOCK.finditer(text)]
    out = []
    for i, (lang, code, _, end) in enumerate(blocks):
        if lang != "bash":
            continue
        after = None
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text" \
                and not text[end:blocks[i + 1][2]].strip():
            after = blocks[i + 1][1]
        out.append((lang, code, after))
    return out


def test_commissioners_page_runs_as_written(tmp_path):
    """Every command of docs/commissioners.md runs in a folder holding data/ and examples/,
    prints what the page shows, and the board pack is written."""
    import shutil
    import subprocess
    import sys

    for folder in ("data", "examples"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    text = (REPO / "docs" / "commissioners.md").read_text(encoding="utf-8")
    blocks = _page_blocks(text)
    assert len(blocks) >= 6
    env = {**__import__("os").environ, "PATH": f"{Path(sys.executable).parent}:"
           + __import__("os").environ.get("PATH", "")}
    for _, code, expected in blocks:
        for command in code.replace("\\\n", " ").strip().splitlines():
            assert command.startswith("pbr-eval "), command
            proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, (command, proc.stderr[-2000:])
            if expected is not None:
                got = [" ".join(line.split()) for line in proc.stdout.strip().splitlines()]
                want = [" ".join(line.split()) for line in expected.strip().splitlines()]
                assert got == want, (command, proc.stdout)
    for name in ("tariff.html", "workbook.xlsx", "whatif.html"):
        assert (tmp_path / "board" / name).stat().st_size > 1000, name
    assert (tmp_path / "board-pack" / "prices.csv").is_file()
    assert (tmp_path / "board-pack" / "whatif.html").stat().st_size > 1000
    import pandas as pd

    row = pd.read_csv(tmp_path / "board-pack" / "prices.csv").iloc[0]
    assert row["attachment_fee"] == 100.0 and row["floor"] > 0
    _no_pricing_gaps(_text(tmp_path / "board" / "tariff.html"))
