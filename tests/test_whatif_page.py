"""The what-if page (issue 15.2), driven in Debian's Chromium by Playwright.

Moving the controls changes the shown figures to :func:`pbr_eval.pricing.whatif.whatif`'s
values for the same inputs (60 random settings, plus draws evidence), with no console
error and no network request (every request other than the page itself is refused and
recorded, and the browser context is offline); keyboard-only use works; the page has no
horizontal scroll at 1,280 px; no label is a Python identifier; "copy these settings" is
accepted by ``pbr-eval run`` and gives the page's price.
Needs Debian's ``chromium`` (CI installs it) and Playwright (the test extra); the browser is
never downloaded. Under CI a missing browser fails the test.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import pbr_eval
from pbr_eval.analysis import commissioner_bundle, contract_price_options, load_analysis
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import NotViableError
from pbr_eval.pricing.whatif import Evidence, WhatIfInputs, whatif
from pbr_eval.reporting.whatif_page import page_inputs, render_whatif, whatif_settings

CONTRACT = {"attachment_fee": 100.0, "cost_per_participant": 300.0, "referrals_per_month": 50,
            "months_of_referrals": 12, "outcome_lag": 18, "payment_lag": 3}
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: page output id -> WhatIfFigures field, and whether it is money (else a probability)
OUTPUTS = {"out-recommended": ("recommended", True), "out-paid": ("price_paid", True),
           "out-fee": ("attachment_fee", True), "out-ceiling": ("ceiling", True),
           "out-band-lower": ("band_lower", True), "out-band-upper": ("band_upper", True),
           "out-deadweight": ("deadweight_chance", False), "out-break-even": ("break_even", True),
           "out-expected": ("expected_total", True), "out-budget": ("budget_95", True),
           "out-trigger": ("trigger_chance", False), "out-peak": ("peak_working_capital", True),
           "out-npv": ("npv", True), "out-rate-at-risk": ("rate_at_risk", False)}


def _chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        msg = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; CI must install it")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def bundle():
    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                         **contract_price_options(CONTRACT))
    return commissioner_bundle(rec, **CONTRACT, draws=200)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    exe = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Page:
    """A page opened offline, refusing and recording any request but its own file."""

    def __init__(self, browser, path: Path, width: int = 1280) -> None:
        self.context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.requests: list[str] = []
        own = path.resolve().as_uri()

        def route(r):
            if r.request.url == own:
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.goto(own)

    def values(self) -> dict[str, float | None]:
        got = self.page.evaluate(
            "ids => Object.fromEntries(ids.map(i => [i, document.getElementById(i).dataset.value]))",
            list(OUTPUTS))
        return {k: (float(v) if v not in (None, "") else None) for k, v in got.items()}

    def set(self, fid: str, text: str) -> None:
        self.page.fill(f"#{fid}", text)

    def close(self) -> None:
        self.context.close()


def _write(tmp_path: Path, settings, name="whatif.html") -> Path:
    path = tmp_path / name
    path.write_text(render_whatif(settings), encoding="utf-8")
    return path


def _random_setting(rng: np.random.Generator, n: float) -> dict[str, str]:
    """Field id -> text typed, for one random setting (all fields, valid or not viable)."""
    s = {"in-value": f"{rng.integers(500, 20000)}",
         "in-rate": f"{round(float(rng.uniform(n + 0.005, min(0.99, n + 0.2))) * 100, 2)}",
         "in-risk": f"{rng.choice([0.5, 1, 2.5, 5, 10, 17.5, 30, 50])}",
         "in-cohort": f"{rng.integers(20, 3000)}", "in-cost": f"{rng.integers(0, 2500)}",
         "in-olag": f"{rng.integers(0, 25)}", "in-plag": f"{rng.integers(0, 7)}",
         "in-discount": f"{round(float(rng.uniform(0, 10)), 1)}",
         "in-profile": ", ".join(str(int(x)) for x in rng.integers(0, 6, rng.integers(1, 19))),
         "in-cap": "", "in-trigger": "", "in-mpl": "", "in-paid": ""}
    if "1" not in s["in-profile"] and not re.search(r"[1-9]", s["in-profile"]):
        s["in-profile"] += ", 1"
    if rng.random() < 0.5:
        s["in-feemode"], s["in-fee"] = "amount", f"{rng.integers(0, 600)}"
    else:
        s["in-feemode"], s["in-share"] = "share", f"{rng.integers(0, 91)}"
    if rng.random() < 0.3:
        s["in-cap"] = f"{rng.integers(1, 200) * 5000}"
    if rng.random() < 0.3:
        s["in-trigger"] = f"{round(float(rng.uniform(0.5, 0.95)) * 100, 1)}"
    if rng.random() < 0.3:
        s["in-mpl"] = f"{round(float(rng.uniform(0, 0.15)) * 100, 1)}"
    if rng.random() < 0.3:
        s["in-paid"] = f"{rng.integers(0, 3000)}"
    return s


def _python_inputs(s: dict[str, str], base: WhatIfInputs) -> WhatIfInputs:
    """The WhatIfInputs the page reads from the same text (same float operations)."""
    def opt(fid: str, scale: float = 1.0):
        return None if s.get(fid, "") == "" else float(s[fid]) / scale

    share = s["in-feemode"] == "share"
    return WhatIfInputs(
        value_per_outcome=float(s["in-value"]), expected_rate=float(s["in-rate"]) / 100,
        risk=float(s["in-risk"]) / 100, level=base.level,
        attachment_fee=0.0 if share else float(s["in-fee"]),
        attachment_share=float(s["in-share"]) / 100 if share else None,
        cohort_size=round(float(s["in-cohort"])), cost_per_participant=float(s["in-cost"]),
        referral_profile=tuple(float(x) for x in s["in-profile"].split(", ")),
        delivery_months=base.delivery_months, outcome_lag=int(s["in-olag"]),
        payment_lag=int(s["in-plag"]), discount_rate=float(s["in-discount"]) / 100,
        cap=opt("in-cap"), trigger=opt("in-trigger", 100), mpl_uplift=opt("in-mpl", 100),
        price_paid=opt("in-paid"))


def _apply(page: Page, s: dict[str, str]) -> None:
    page.page.select_option("#in-feemode", s["in-feemode"])
    for fid, text in s.items():
        if fid != "in-feemode":
            page.set(fid, text)


def _compare(page: Page, inp: WhatIfInputs, ev: Evidence, where: str) -> None:
    try:
        fig = whatif(inp, ev)
    except NotViableError:
        assert page.page.get_attribute("#results", "data-state") == "invalid", where
        assert "minimum performance level" in page.page.inner_text("#message"), where
        return
    assert page.page.get_attribute("#results", "data-state") == "ok", (
        where, page.page.inner_text("#message"))
    got = page.values()
    for out, (name, is_money) in OUTPUTS.items():
        want = float(getattr(fig, name))
        tol = 0.005 + 1e-9 * abs(want) if is_money else 1e-9
        assert got[out] == pytest.approx(want, abs=tol), (where, out, got[out], want)
    rows = page.page.eval_on_selector_all("#risk-table td[data-value]",
                                          "tds => tds.map(t => Number(t.dataset.value))")
    assert rows == pytest.approx([p for _, p in fig.price_by_risk], abs=0.005)
    js = page.page.evaluate("window.whatifLast.figures.schedule.cash_position")
    assert js == pytest.approx(fig.schedule["cash_position"].tolist(), abs=0.01)


def test_starting_page_equals_python(bundle, browser, tmp_path):
    settings = whatif_settings(bundle)
    path = _write(tmp_path, settings)
    page = Page(browser, path)
    inp, ev = page_inputs(settings)
    _compare(page, inp, ev, "start")
    # the starting values are the contract's: fee, cost, cohort and lags feed the page too
    assert page.page.input_value("#in-fee") == "100" and page.page.input_value("#in-cost") == "300"
    assert page.page.input_value("#in-olag") == "18"
    assert page.console == [] and page.requests == []
    page.close()


def test_random_settings_equal_python(bundle, browser, tmp_path):
    settings = whatif_settings(bundle)
    base, ev = page_inputs(settings)
    page = Page(browser, _write(tmp_path, settings))
    rng = np.random.default_rng(20261203)
    before = page.values()
    changed = 0
    for k in range(60):
        s = _random_setting(rng, ev.estimate)
        _apply(page, s)
        _compare(page, _python_inputs(s, base), ev, f"setting {k}: {s}")
        after = page.values()
        changed += after != before
        before = after
    assert changed >= 55  # the figures move with the controls
    assert page.console == [], page.console
    assert page.requests == [], page.requests
    page.close()


def test_each_control_moves_the_figures(bundle, browser, tmp_path):
    """One control at a time from the starting values: each changes some shown figure."""
    settings = whatif_settings(bundle)
    base, ev = page_inputs(settings)
    page = Page(browser, _write(tmp_path, settings))
    base_setting = {"in-value": "20000", "in-rate": "85", "in-risk": "10", "in-feemode": "amount",
                    "in-fee": "50", "in-cohort": "700", "in-cost": "900", "in-profile": "1, 1, 1",
                    "in-olag": "12", "in-plag": "3", "in-discount": "3.5", "in-cap": "",
                    "in-trigger": "", "in-mpl": "", "in-paid": ""}
    change = {"in-value": "15000", "in-rate": "88", "in-risk": "20", "in-fee": "80",
              "in-cohort": "500", "in-cost": "400", "in-profile": "1, 2, 3", "in-olag": "6",
              "in-plag": "1", "in-discount": "8", "in-cap": "20000", "in-trigger": "90",
              "in-mpl": "5", "in-paid": "1500"}
    for fid, text in change.items():
        _apply(page, base_setting)
        before = page.values()
        page.set(fid, text)
        assert page.values() != before, f"changing {fid} changed no figure"
        _compare(page, _python_inputs({**base_setting, fid: text}, base), ev, fid)
    # a slider moved by keyboard moves its number field and the figures
    page.page.click("#reset")
    before = page.values()
    page.page.focus("#in-risk-range")
    page.page.keyboard.press("ArrowRight")
    page.page.keyboard.press("ArrowRight")
    assert page.page.input_value("#in-risk") == "3.5"
    assert page.values() != before
    s = {"in-value": "5000", "in-rate": page.page.input_value("#in-rate"), "in-risk": "3.5",
         "in-feemode": "amount", "in-fee": "100", "in-cohort": "600", "in-cost": "300",
         "in-profile": ", ".join(["50"] * 12), "in-olag": "18", "in-plag": "3",
         "in-discount": "3.5"}
    _compare(page, _python_inputs(s, base), ev, "slider")
    assert page.console == [] and page.requests == []
    page.close()


def test_draws_evidence_and_count_outcome(browser, tmp_path):
    rng = np.random.default_rng(5)
    draws = tuple(float(x) for x in np.round(rng.beta(40, 60, 400), 9))
    ev = Evidence("job", 0.0, 0.0, "draws", draws=draws)
    inp = WhatIfInputs(6000.0, 0.55, cohort_size=300, cost_per_participant=800.0)
    count = Evidence("events avoided", 1.4, 0.12, "log", outcome_type="count")
    cinp = WhatIfInputs(900.0, 1.9, cohort_size=200, cost_per_participant=150.0)
    settings = {"outcomes": [
        {"outcome": "job", "paid": "job", "better": "higher", "evidence": ev.to_dict(),
         "inputs": inp.to_dict(), "expected_default": 0.55},
        {"outcome": "events", "paid": "events avoided", "better": "higher",
         "evidence": count.to_dict(), "inputs": cinp.to_dict(), "expected_default": 1.9}],
        "level": 0.95, "risks": [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5]}
    page = Page(browser, _write(tmp_path, settings))
    _compare(page, inp, ev, "draws start")
    gen = np.random.default_rng(9)
    for k in range(8):
        s = _random_setting(gen, 0.4)
        _apply(page, s)
        _compare(page, _python_inputs(s, inp), ev, f"draws {k}")
    page.page.select_option("#in-outcome", "1")
    _compare(page, cinp, count, "count start")
    assert page.console == [] and page.requests == []
    page.close()


def test_keyboard_only_use(bundle, browser, tmp_path):
    page = Page(browser, _write(tmp_path, whatif_settings(bundle)))
    pg = page.page
    order = []
    for _ in range(60):
        pg.keyboard.press("Tab")
        order.append(pg.evaluate("document.activeElement.id"))
    for fid in ("in-outcome", "in-value", "in-value-range", "in-risk", "in-feemode", "in-fee",
                "in-cohort", "in-profile", "reset", "settings", "copy"):
        assert fid in order, f"{fid} cannot be reached with the Tab key: {order}"
    # type a new value with the keyboard only
    while pg.evaluate("document.activeElement.id") != "in-value":
        pg.keyboard.press("Shift+Tab")
    before = page.values()
    pg.keyboard.press("Control+A")
    pg.keyboard.type("12000")
    assert page.values()["out-ceiling"] > before["out-ceiling"]
    # every control has a visible label
    unlabelled = pg.evaluate("""() => [...document.querySelectorAll('input,select,textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.id)""")
    assert unlabelled == []
    # copy with the keyboard
    while pg.evaluate("document.activeElement.id") != "copy":
        pg.keyboard.press("Tab")
    pg.keyboard.press("Enter")
    assert pg.inner_text("#copy-status") != ""
    assert page.console == [] and page.requests == []
    page.close()


def test_plain_labels_and_no_horizontal_scroll(bundle, browser, tmp_path):
    page = Page(browser, _write(tmp_path, whatif_settings(bundle)))
    pg = page.page
    labels = pg.evaluate("""() => [...document.querySelectorAll(
        'label,legend,dt,th,h1,h2,button,option,.hint,small,#out-viable,.explain,.lead')]
        .map(e => e.textContent.trim())
        .concat([...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label')))
        .concat([...document.querySelectorAll('svg text')].map(e => e.textContent))""")
    assert len(labels) > 60
    identifier = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\b[A-Z][a-z]+[A-Z]\w*\b|GBP|\b\w+=\S")
    bad = [t for t in labels if identifier.search(t)]
    assert bad == [], bad
    shown = pg.inner_text("#results")
    assert "£" in shown and "GBP" not in shown
    assert not re.search(r"(?<![\d,])0\.\d{3,}", shown), "a raw decimal is shown"
    width = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] == 1280
    pdf = pg.pdf(format="A4", landscape=True)
    assert pdf[:4] == b"%PDF"
    page.close()


def test_copied_settings_run_and_give_the_page_price(bundle, browser, tmp_path):
    settings = whatif_settings(bundle)
    page = Page(browser, _write(tmp_path, settings))
    s = {"in-value": "9000", "in-rate": "82.5", "in-risk": "10", "in-feemode": "amount",
         "in-fee": "40", "in-cohort": "480", "in-cost": "250", "in-profile": "1, 1, 2, 2",
         "in-olag": "12", "in-plag": "2", "in-discount": "3", "in-cap": "", "in-trigger": "",
         "in-mpl": "", "in-paid": ""}
    _apply(page, s)
    toml = page.page.input_value("#settings")
    shown = page.values()
    page.close()
    assert "[pricing]" in toml and "[contract]" in toml
    text = (EXAMPLES / "reoffending.toml").read_text(encoding="utf-8")
    kept = re.split(r"(?m)^\[(?:pricing|contract)\]", text)[0]
    rest = re.search(r"(?ms)^\[sensitivity\].*", text).group(0)
    rest = re.sub(r'outputs = \[.*\]', 'outputs = ["whatif.html", "tariff.html"]', rest)
    data = (Path(__file__).resolve().parents[1] / "data" / "reoffending.csv").as_posix()
    kept = kept.replace('"../data/reoffending.csv"', f'"{data}"')
    path = tmp_path / "chosen.toml"
    path.write_text(kept + toml + "\n" + rest.replace("hidden_bias = true", "hidden_bias = false"),
                    encoding="utf-8")
    load_analysis(path)  # pbr-eval run accepts the copied tables
    run = pbr_eval.analysis.run_analysis(path, out=tmp_path / "out")
    row = run.prices.to_frame().iloc[0]
    assert row["recommended"] == pytest.approx(shown["out-recommended"], abs=0.005)
    assert row["attachment_fee"] == 40.0 and row["cohort_size"] == 480
    # the run's what-if page opens on the chosen settings, with the same figures
    again = Page(browser, tmp_path / "out" / "whatif.html")
    for out in ("out-recommended", "out-break-even", "out-peak", "out-npv", "out-budget"):
        assert again.values()[out] == pytest.approx(shown[out], abs=0.01), out
    assert again.page.input_value("#in-profile") == "1, 1, 2, 2"
    again.close()


def test_page_is_one_self_contained_file(bundle, tmp_path):
    html = render_whatif(whatif_settings(bundle))
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#|data:)""", html)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "@import" not in html and "url(" not in html
    assert "<script>" in html and "Content-Security-Policy" in html
    assert math.isfinite(len(html)) and len(html) < 200_000
