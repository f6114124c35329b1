"""The HTML reports at a council laptop's width, in Debian's Chromium driven by Playwright.

Issue 15 found wide tables scrolling sideways at 1,280 px. Here the pilot and tariff
reports with every part (``tests/test_report_sections.py``'s report: prices, contract,
payments, cash flow, hidden bias, claims, areas) and the design-first evaluation's
report are opened offline at 1,280 x 900: the page does not scroll sideways, no table's
box scrolls or is cut (each table fits inside its box and the window), and the engine's
best advice ("pilot longer", "attachment fees") is on the tariff page, not only on the
demo's console. Needs Chromium and Playwright as ``tests/test_whatif_page.py`` does.
"""

from __future__ import annotations

import pytest
from test_report_sections import full  # noqa: F401  (the report with every part)
from test_whatif_page import Page, browser  # noqa: F401  (Chromium, offline page)

import pbr_eval
from pbr_eval.datasets._designs import simulate_design

WIDTH = 1280
#: Every table's box and the table inside it, measured in the page.
MEASURE = """() => [...document.querySelectorAll('table')].map(t => {
    const box = t.closest('.scroll') || t.parentElement;
    const r = t.getBoundingClientRect();
    return {caption: (t.caption ? t.caption.textContent : t.id || '').trim().slice(0, 60),
            right: r.right, box_scroll: box.scrollWidth, box_client: box.clientWidth};
})"""


@pytest.fixture(scope="module")
def reports(full, tmp_path_factory):  # noqa: F811  (the imported fixture)
    d = tmp_path_factory.mktemp("layout")
    out = {kind: pbr_eval.report(full["res"], d / f"{kind}.html", kind=kind,
                                 generated="2026-01-01", **full["parts"])[0]
           for kind in ("pilot", "tariff")}
    ev = pbr_eval.evaluate(simulate_design("both_wrong", seed=1).cohort(), warn=False)
    out["evaluation"] = pbr_eval.report(ev, d / "evaluation.html", kind="pilot",
                                        generated="2026-01-01")[0]
    return out


@pytest.mark.parametrize("name", ["pilot", "tariff", "evaluation"])
def test_wide_tables_fit_at_1280_px(reports, browser, name):  # noqa: F811
    page = Page(browser, reports[name], width=WIDTH)
    pg = page.page
    page_width, window = pg.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    tables = pg.evaluate(MEASURE)
    assert len(tables) >= 3
    scrolling = [t["caption"] for t in tables if t["box_scroll"] > t["box_client"] + 1]
    cut = [t["caption"] for t in tables if t["right"] > window + 1]
    assert window == WIDTH and page_width <= window
    assert scrolling == [] and cut == [], (scrolling, cut)
    assert page.console == [] and page.requests == []
    page.close()


def test_the_best_advice_is_on_the_tariff_page(reports, browser):  # noqa: F811
    page = Page(browser, reports["tariff"], width=WIDTH)
    text = page.page.inner_text("body")
    head = text[:text.index("Recommended prices")]
    assert "Pilot longer" in head and "attachment fees" in head
    assert "Two risks are quoted" in text
    page.close()


def test_the_check_sees_a_scrolling_table(browser, tmp_path):  # noqa: F811
    wide = "".join(f"<td>column number {k}</td>" for k in range(60))
    path = tmp_path / "wide.html"
    path.write_text("<html><body><div class='scroll' style='overflow-x:auto'><table>"
                    f"<caption>wide</caption><tr>{wide}</tr></table></div></body></html>")
    page = Page(browser, path, width=WIDTH)
    tables = page.page.evaluate(MEASURE)
    assert tables[0]["box_scroll"] > tables[0]["box_client"] + 1
    page.close()
