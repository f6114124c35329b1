"""No report label is a code identifier, and no number shows more than its kind's decimals.

Every report a commissioner or evaluator gets is rendered on the shipped data (the pilot
and tariff reports as HTML and Markdown, the table workbooks, the live tariff workbook and
the what-if page, with every part: prices, a contract with a cap, trigger and minimum
performance level, payments, cash flow, hidden-bias checks, claims, areas) and by the
demo analyses (``examples/*.toml`` through ``pbr-eval run``). Their visible text must hold

* no code identifier: no ``snake_case`` or ``name[level]`` token, no ``CamelCase`` class
  name, no ``option=value``, no ``call()``, no "GBP" (money shows its symbol);
* no number with more decimals than its kind allows (:data:`pbr_eval.kinds.KIND_DECIMALS`:
  at most three anywhere, one for a percentage or percentage points, none for money),
  and every non-whole number in a workbook carries its kind's number format.

Every section in the registry (:data:`pbr_eval.reporting.model.SECTIONS`, so sections
other modules register later too) must be available in at least one of the reports
rendered here: beside the shipped-data report, the design-first evaluation (overlap and
fragility warnings), time-to-event, staggered roll-out, synthetic control and historical
baseline reports are rendered. A section
that needs a new part fails :func:`test_every_registered_section_is_rendered` until its
input is added to :data:`SCENARIOS`.

Machine-readable provenance is kept apart and not checked: the JSON in the HTML's
``<template>``, the Markdown's comment, the workbook's hidden
"Provenance data" sheet. The words come from one place, :mod:`pbr_eval.glossary`.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from test_report_sections import full  # noqa: F401  (the report with every part)

import pbr_eval
from pbr_eval.analysis import commissioner_bundle, run_analysis
from pbr_eval.estimators import ESTIMATORS
from pbr_eval.glossary import METHOD_WORDS, plain_name
from pbr_eval.kinds import KIND_DECIMALS
from pbr_eval.reporting import build, write_workbook
from pbr_eval.reporting.model import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
#: Proper names and abbreviations that look like CamelCase identifiers.
NAMES = {"McNemar", "DiD"}
IDENTIFIER = re.compile(
    r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b"      # snake_case
    r"|\b[A-Za-z]\w*\[[^\]\s]*\]"                   # design column name[level]
    r"|\b[A-Z][a-z]+[A-Z]\w*\b"                     # CamelCase class names
    r"|\b\w+=\S|\w\(\)|\bGBP\b")                    # option=value, call(), currency code
MAX_DECIMALS = max(KIND_DECIMALS.values())
TOO_PRECISE = re.compile(
    rf"\d\.\d{{{MAX_DECIMALS + 1},}}"                            # any number: at most 3
    rf"|\d\.\d{{{KIND_DECIMALS['rate'] + 1},}}\s?%"              # a percentage: 1
    rf"|\d\.\d{{{KIND_DECIMALS['rate_difference'] + 1},}} pp"    # percentage points: 1
    r"|£-?[\d,]+\.\d")                                          # money: none


def _visible_html(text: str) -> str:
    text = re.sub(r"<(style|script|template)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r'(src|href)="[^"]*"', " ", text)
    return htmllib.unescape(re.sub(r"<[^>]+>", "\n", text))


def _visible_markdown(text: str) -> str:
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    return text.replace("\\_", "_").replace("\\[", "[").replace("\\]", "]")


def _format_decimals(fmt: str) -> int:
    body = fmt.split(";")[0]
    return len(body.split(".")[1].rstrip("%\" ")) if "." in body else 0


def _visible_xlsx(path: Path) -> str:
    wb = load_workbook(path)
    out = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        out.append(ws.title)
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is None or (isinstance(v, str) and v.startswith("=")):
                    continue  # formulas: their words are in tests/test_workbook.py
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    if float(v).is_integer():
                        continue
                    if c.number_format == "General" or _format_decimals(
                            c.number_format) > MAX_DECIMALS:
                        out.append(f"{ws.title}!{c.coordinate} unformatted {v!r} "
                                   f"({c.number_format})")
                    continue
                out.append(str(v))
    return "\n".join(out)


def visible_text(path: Path) -> str:
    """Return what a reader sees in one output file."""
    if path.suffix == ".html":
        return _visible_html(path.read_text(encoding="utf-8"))
    if path.suffix == ".md":
        return _visible_markdown(path.read_text(encoding="utf-8"))
    if path.suffix == ".xlsx":
        return _visible_xlsx(path)
    raise AssertionError(f"not a report: {path}")


def problems(text: str) -> list[str]:
    """Return the visible lines holding an identifier or a too precise number."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        ids = [m for m in IDENTIFIER.findall(line) if m not in NAMES]
        if ids or TOO_PRECISE.search(line) or "unformatted" in line:
            out.append(line[:200])
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def shipped(full, tmp_path_factory) -> dict[str, Path]:  # noqa: F811  (the imported fixture)
    """Every report kind and format on the shipped reoffending data, with every part
    (``tests/test_report_sections.py``'s report, its contract given a cap, trigger and
    minimum performance level)."""
    d = tmp_path_factory.mktemp("labels")
    res, parts = full["res"], dict(full["parts"])
    parts["pricing"] = commissioner_bundle(
        full["bundle"]["recommendation"], cost_per_participant=300.0, referrals_per_month=50,
        months_of_referrals=12, attachment_fee=100.0, draws=400, seed=1, trigger=0.7,
        cap=200_000.0, mpl_uplift=0.01)
    out = {}
    for name in ("pilot.html", "pilot.md", "tariff.html", "tariff.md", "tariff.xlsx",
                 "whatif.html"):
        kind = "pilot" if name.startswith("pilot") else "tariff"
        out[name] = pbr_eval.report(res, d / name, kind=kind, generated="2026-01-01",
                                    **parts)[0]
    for kind in ("pilot", "tariff"):  # the table workbooks (the live one is tariff.xlsx)
        out[f"{kind} table workbook"] = write_workbook(
            build(res, kind=kind, generated="2026-01-01", **parts), d / f"{kind}_table.xlsx")
    return out


def _evaluation_scenario() -> tuple[object, dict]:
    """The design-first evaluation of a cohort whose propensity and outcome models are both
    wrong: overlap in words and two fragility warnings; priced, with a contract."""
    from pbr_eval.datasets._designs import simulate_design

    cohort = simulate_design("both_wrong", seed=1).cohort()
    ev = pbr_eval.evaluate(cohort, warn=False)
    assert {f.code for f in ev.flags} >= {"propensity_misspecified", "disagreement"}
    rec = pbr_eval.price(ev, value_per_outcome=5000, better="higher", attachment_fee=100.0,
                         cost_per_participant=300.0, cohort_size=cohort.n_treated)
    return ev, {"pricing": commissioner_bundle(
        rec, cohort_size=cohort.n_treated, cost_per_participant=300.0, referrals_per_month=25,
        months_of_referrals=12, attachment_fee=100.0, draws=200, seed=1)}


def _survival_scenario() -> tuple[object, dict]:
    from pbr_eval.datasets import load_reoffending_time

    sim = load_reoffending_time()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    res = pbr_eval.estimate_survival(cohort)
    return pbr_eval.estimate(cohort), {
        "survival": res, "interim": pbr_eval.interim_payment(res, cohort, pay_for="avoided",
                                                             price=2000.0)}


def _imputation_scenario() -> tuple[object, dict]:
    """Multiple imputation beside the complete cases (the section's part)."""
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    data = pbr_eval.add_missing(sim.data.sample(n=3000, random_state=2), ["age"], share=0.2,
                                seed=2, depends_on=["reoffended"])
    pooled = pbr_eval.impute(data, m=2, seed=2, iterations=2, **sim.cohort_args).estimate(
        method="ipw")
    complete = pbr_eval.estimate(pbr_eval.Cohort(data, missing="drop", **sim.cohort_args),
                                 method="ipw")
    return complete, {"imputation": pooled}


def _staggered_scenario() -> tuple[object, dict]:
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=400, seed=3)
    res = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=99, seed=1,
                            base_period="universal")
    # with its parallel-trends sensitivity section (bounds, breakdown, prices)
    return res, {"parallel_trends": pbr_eval.parallel_trends(res, bounds=[0.0, 1.0],
                                                             value_per_outcome=1000)}


def _synthetic_scenario() -> tuple[object, dict]:
    """Synthetic difference-in-differences on California's Proposition 99 panel."""
    from pbr_eval.datasets import PROP99_COHORT_ARGS, load_prop99

    prop99 = pbr_eval.Cohort(load_prop99(), **PROP99_COHORT_ARGS)
    return pbr_eval.estimate(prop99, method="sdid", seed=1), {}


def _baseline_scenario() -> tuple[object, dict]:
    """A historical baseline: the estimator's caveat as the warning box."""
    from pbr_eval.datasets import load_families

    sim = load_families()
    return pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args),
                             method="baseline"), {}


#: Reports beside the shipped-data one, so that every registered section is available in
#: one of them: name -> (builder of (results, parts), report kinds, files to write).
SCENARIOS = {
    "evaluation": (_evaluation_scenario, ("pilot", "tariff"), (".html", ".md", ".xlsx")),
    "survival": (_survival_scenario, ("pilot", "tariff"), (".html", ".md", ".xlsx")),
    "imputation": (_imputation_scenario, ("pilot", "tariff"), (".html", ".md", ".xlsx")),
    "staggered": (_staggered_scenario, ("pilot", "tariff"), (".html", ".md", ".xlsx")),
    "synthetic": (_synthetic_scenario, ("pilot",), (".html", ".md", ".xlsx")),
    "baseline": (_baseline_scenario, ("pilot", "tariff"), (".html", ".xlsx")),
}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict:
    """The :data:`SCENARIOS` reports: built (for the registry check) and written."""
    d = tmp_path_factory.mktemp("scenarios")
    built, files = [], {}
    for name, (make, kinds, suffixes) in SCENARIOS.items():
        res, parts = make()
        for kind in kinds:
            built.append(build(res, kind=kind, generated="2026-01-01", **parts))
            for suffix in suffixes:
                path = d / f"{name}_{kind}{suffix}"
                if suffix == ".xlsx":  # the table workbook (the live one: tariff.xlsx above)
                    files[path.name] = write_workbook(built[-1], path)
                else:
                    files[path.name] = pbr_eval.report(res, path, kind=kind,
                                                       generated="2026-01-01", **parts)[0]
    return {"built": built, "files": files}


def test_every_registered_section_is_rendered(full, scenarios):  # noqa: F811
    reports = [*scenarios["built"], *(build(full["res"], kind=k, generated="2026-01-01",
                                            **full["parts"]) for k in ("pilot", "tariff"))]
    shown = {(r.kind, s.id) for r in reports for s in r.sections if s.available}
    wanted = {(kind, spec.id) for spec in SECTIONS.values() for kind in spec.reports}
    assert wanted - shown == set(), (
        "these (report, section) pairs are never rendered available here: give their input "
        "in SCENARIOS of tests/test_report_labels.py")


@pytest.mark.parametrize("name", [f"{n}_{k}{s}" for n, (_, kinds, sfx) in SCENARIOS.items()
                                  for k in kinds for s in sfx])
def test_every_section_shows_words_and_kind_formats(scenarios, name):
    text = visible_text(scenarios["files"][name])
    assert len(text) > 500
    assert problems(text) == []


def test_evaluation_overlap_and_fragility_read_as_words(scenarios):
    text = visible_text(scenarios["files"]["evaluation_pilot.html"])
    assert "How the estimate was chosen" in text and "Overlap:" in text
    assert "effective size" in text and problems(text) == []


@pytest.fixture(scope="module")
def analyses(tmp_path_factory) -> dict[str, Path]:
    """Every report the shipped analysis files write (``pbr-eval run``)."""
    d = tmp_path_factory.mktemp("analyses")
    shutil.copytree(ROOT / "examples", d / "examples")
    shutil.copytree(ROOT / "data", d / "data")
    out = {}
    for name in ("reoffending.toml", "families.toml"):
        run = run_analysis(d / "examples" / name, out=d / name.replace(".toml", ""),
                           generated="2026-01-01")
        out.update({f"{name}: {f.name}": f for f in run.files
                    if f.suffix in (".html", ".md", ".xlsx")})
    return out


def test_every_format_is_rendered(shipped, analyses):
    suffixes = {p.suffix for p in [*shipped.values(), *analyses.values()]}
    assert suffixes == {".html", ".md", ".xlsx"}
    assert any("whatif" in k for k in analyses) and any(k.endswith("workbook.xlsx")
                                                          for k in analyses)


@pytest.mark.parametrize("name", ["pilot.html", "pilot.md", "tariff.html", "tariff.md",
                                  "tariff.xlsx", "whatif.html", "pilot table workbook",
                                  "tariff table workbook"])
def test_shipped_data_reports_show_words_and_kind_formats(shipped, name):
    text = visible_text(shipped[name])
    assert len(text) > 500
    assert problems(text) == []


def test_demo_analyses_show_words_and_kind_formats(analyses):
    found = {name: problems(visible_text(path)) for name, path in analyses.items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_check_finds_identifiers_and_long_decimals():
    assert problems("Options: std_caliper=True") and problems("offence_type[drugs]")
    assert problems("rate (0.7664)") and problems("24.67%") and problems("£1,234.50")
    assert problems("AttachmentFee") and problems("GBP 5,000") and problems("-3.52 pp")
    assert not problems("offence type: drugs, 24.7%, -3.5 pp, £1,235, 0.752, McNemar, DiD")


def test_names_from_the_data_read_as_words(shipped):
    text = visible_text(shipped["pilot.html"])
    assert "reconviction events" in text and "offence type: drugs" in text
    assert plain_name("reconviction_events") == "reconviction events"


def test_machine_provenance_is_kept_apart(shipped):
    html = shipped["pilot.html"].read_text(encoding="utf-8")
    block = re.search(r'<template id="pbr-eval-provenance" data-format="json">(.*?)</template>',
                      html, flags=re.S)
    data = json.loads(block.group(1))
    assert data["options"]["std_caliper"] is True and data["data_fingerprint"]
    md = shipped["pilot.md"].read_text(encoding="utf-8")
    assert json.loads(md.split("pbr-eval provenance (JSON)", 1)[1].split("-->")[0])["method"]
    wb = load_workbook(shipped["pilot table workbook"])
    assert wb["Provenance data"].sheet_state == "hidden"
    assert "data_fingerprint" in [c.value for c in wb["Provenance data"]["A"]]


def test_every_estimator_has_words():
    assert set(ESTIMATORS) <= set(METHOD_WORDS)


def test_kinds_decimals_cover_every_number_kind():
    from pbr_eval.kinds import COLUMN_KINDS, format_value

    assert set(KIND_DECIMALS) == set(COLUMN_KINDS) - {"text"}
    for kind, places in KIND_DECIMALS.items():
        for v in (0.000312, 0.123456, 1234.56789, 9_876_543.21):
            text = format_value(v, kind)
            dec = re.search(r"\.(\d+)", text)
            assert (len(dec.group(1)) if dec else 0) <= places, (kind, v, text)
    assert np.isfinite(MAX_DECIMALS)
