"""Regenerate docs/validation.md: the coverage table of every registered estimator.

Run: python benchmarks/make_validation.py [--n-reps 500] [--boot-reps 200] [--n-jobs 2]

Each estimator in pbr_eval.estimators.ESTIMATORS is run on each design it
declares (``validation_designs``, names in pbr_eval.validation.DESIGNS) over
--n-reps simulated cohorts with known truth, and the bootstrap over
--boot-reps cohorts. Its first design's row is labelled with the method name,
the others ``method (design label)``. The page is written between the markers
<!-- coverage-table:start --> and <!-- coverage-table:end --> in
docs/validation.md; the text around them is kept.

``--only-methods ipw,regression,aipw`` reruns only those estimators' rows (every
design, and the VARIANTS and BOOTSTRAPS rows of those methods), replaces exactly
those rows of docs/validation.csv (every other line kept byte for byte, in its
place) and rewrites the table block from the merged CSV; its caption names the
rows rerun, the command and the date, and keeps the earlier runs' provenance for
the others. ``--doc PATH`` works on another copy of the page (its table is the
``.csv`` beside it), e.g. for a trial run; ``--table-from-csv`` only rewrites the
block from the CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from pbr_eval._provenance import __version__
from pbr_eval.estimators.base import ESTIMATORS, build_estimator
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.io import write_text
from pbr_eval.options import check_choice
from pbr_eval.validation import Design, coverage_study, designs_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
N_TREATED, N_COMPARISON = 300, 3000
SEED = 20261122

#: Extra rows: option variants (on the method's main design) and bootstraps.
VARIANTS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("nearest (replace=True)", "nearest", {"replace": True}, {}),
    # Calipers discard treated units: scored against the treated kept (the default) ...
    ("nearest (caliper=0.1)", "nearest", {"caliper": 0.1}, {}),
    # ... and, for comparison, against the whole cohort a commissioner pays on.
    ("cem (whole-cohort truth)", "cem", {}, {"truth": "cohort"}),
]
#: Bootstraps of nearest-neighbour matching: (label, method, coverage_study options).
BOOTSTRAPS: list[tuple[str, str, dict[str, Any]]] = [
    ("nearest + pair bootstrap (percentile)", "nearest",
     {"boot_kind": "pair", "boot_ci": "percentile"}),
    ("nearest + comparison bootstrap (normal)", "nearest",
     {"boot_kind": "comparison", "boot_ci": "normal"}),
    ("nearest + stratified bootstrap (normal)", "nearest",
     {"boot_kind": "stratified", "boot_ci": "normal"}),
    # The remedy for exact and coarsened exact matching's count rows (docs item 4).
    ("exact + comparison bootstrap (normal)", "exact",
     {"boot_kind": "comparison", "boot_ci": "normal"}),
    ("cem + comparison bootstrap (normal)", "cem",
     {"boot_kind": "comparison", "boot_ci": "normal"}),
    # Kept to document why the percentile interval is not used with re-matching.
    ("nearest + stratified bootstrap (percentile)", "nearest",
     {"boot_kind": "stratified", "boot_ci": "percentile"}),
]


CACHE: Path | None = None
CACHED_ONLY = False
MISSING: list[str] = []


def run(row: Row, n_jobs: int) -> pd.DataFrame:
    """One row group's coverage table (from --cache when it holds it)."""
    label, method, options, n_reps = row.label, row.method, row.options, row.n_reps
    design, kw = row.design or designs_for(method)[0], row.kw
    key = re.sub(r"[^A-Za-z0-9]+", "_", f"{label}_{n_reps}_{sorted(kw.items())}")
    if CACHE is not None and (CACHE / f"{key}.csv").exists():
        print(f"{label}: from cache", flush=True)
        return pd.read_csv(CACHE / f"{key}.csv")
    if CACHED_ONLY:
        print(f"{label}: not in the cache, left out", flush=True)
        MISSING.append(label)
        return pd.DataFrame()
    t0 = time.perf_counter()
    kw = {**design.study_options(), **kw}
    cs = coverage_study(build_estimator(method, options), design.scenario, n_reps=n_reps,
                        seed=SEED, n_treated=N_TREATED, n_comparison=N_COMPARISON,
                        n_jobs=n_jobs, **kw)
    print(f"{label}: {time.perf_counter() - t0:.0f} s, failed {cs.info['n_failed']}", flush=True)
    t = cs.table.copy()
    t.insert(0, "estimator", label)
    t.insert(1, "scenario", design.scenario)
    if CACHE is not None:
        CACHE.mkdir(parents=True, exist_ok=True)
        write_text(CACHE / f"{key}.csv", t.to_csv(index=False))
    return t


def fmt(t: pd.DataFrame) -> str:
    lines = ["| estimator | scenario | truth of | outcome | quantity | reps | bias | RMSE "
             "| coverage (MCSE) | mean width | SE ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        cov = r["coverage"]
        flag = "" if 0.93 <= cov <= 0.97 else (" **low**" if cov < 0.93 else " high")
        share = r.get("kept_share", 1.0)
        truth = "cohort" if r.get("truth_of", "cohort") == "cohort" or share >= 0.9995 else (
            f"kept ({share:.0%})")
        lines.append(
            f"| {r['estimator']} | {r['scenario']} | {truth} | {r['outcome']} | {r['quantity']} | "
            f"{int(r['n_reps'])} | {r['bias']:+.4f} ({r['bias_mcse']:.4f}) | {r['rmse']:.4f} | "
            f"{cov:.3f} ({r['coverage_mcse']:.3f}){flag} | {r['mean_width']:.4f} | "
            f"{r['se_ratio']:.2f} |"
        )
    return "\n".join(lines)


# ---- which rows a run makes ------------------------------------------------------------

SCRIPT = "python benchmarks/make_validation.py"


class Row(NamedTuple):
    """One row group of the coverage table: an estimator on a design, a variant or a bootstrap."""

    label: str
    method: str
    options: dict[str, Any]
    n_reps: int
    design: Design | None = None
    kw: dict[str, Any] = {}  # noqa: RUF012 (never mutated)


def plan(n_reps: int, *, boot_reps: int = 200, boot_reps_pair: int = 500, n_boot: int = 199,
         skip_bootstrap: bool = False) -> list[Row]:
    """Every row group of the full table, in the table's order."""
    rows = []
    for method in sorted(ESTIMATORS):
        for i, design in enumerate(designs_for(method)):
            if design.own_study:  # a design coverage_study does not simulate: its own test
                continue
            label = method if i == 0 else f"{method} ({design.label})"
            rows.append(Row(label, method, {}, n_reps, design))
    for label, method, opts, kw in VARIANTS:
        rows.append(Row(label, method, opts, n_reps, kw=kw))
    if not skip_bootstrap:
        for label, method, kw in BOOTSTRAPS:
            if method in ESTIMATORS:
                reps = boot_reps_pair if kw.get("boot_kind") == "pair" else boot_reps
                rows.append(Row(label, method, {}, reps,
                                kw={"inference": "bootstrap", "n_boot": n_boot, **kw}))
    return rows


def parse_methods(text: str, rows: Sequence[Row]) -> list[str]:
    """The estimators named by ``--only-methods`` (comma-separated), checked.

    Raises :class:`OptionError` for a name that is not in ESTIMATORS, or an estimator
    without a row this script runs (its coverage is its own test's).
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise OptionError("`--only-methods` must name at least one estimator, comma-separated "
                          f"(e.g. ipw,aipw); got {text!r}.")
    for n in names:  # names of pbr_eval.estimators.ESTIMATORS, case-sensitive
        check_choice("--only-methods", n, sorted(ESTIMATORS))
    ran = {r.method for r in rows}
    own = [n for n in names if n not in ran]
    if own:
        studies = {n: [d.own_study for d in designs_for(n) if d.own_study] for n in own}
        raise OptionError(
            f"`--only-methods` must name estimators with a row in this table; got "
            f"{', '.join(map(repr, own))}, which have no row in this table (their coverage "
            f"is checked by their own tests: {studies}). Leave them out.")
    return list(dict.fromkeys(names))


# ---- merging rerun rows into the committed table ---------------------------------------

def _label(line: str) -> str:
    return next(csv.reader([line]))[0]


def merge_rows(old_csv: str, new: pd.DataFrame, order: Sequence[str] = ()) -> str:
    """``old_csv`` (the table's text) with the rows of every estimator label in ``new`` replaced.

    The replaced label's new rows take the place of its old ones; every other line is kept
    byte for byte, in its place. A label the old table lacks goes after the last row of the
    labels before it in ``order`` (the full table's order), else first. ``new`` is written as
    the full run writes the table (``DataFrame.to_csv``); its columns must be the old
    table's, else a :class:`ValueError` says to rerun the whole table.
    """
    old_lines = old_csv.splitlines(keepends=True)
    new_lines = new.to_csv(index=False).splitlines(keepends=True)
    if not old_lines or new_lines[0].rstrip("\r\n") != old_lines[0].rstrip("\r\n"):
        raise ValueError(
            "the rerun rows' columns differ from the committed table's "
            f"({new_lines[0].strip()!r} vs {old_lines[0].strip() if old_lines else ''!r}): the "
            "table's layout changed since it was made, so rerun the whole table (no "
            "--only-methods).")
    if not old_lines[-1].endswith("\n"):
        old_lines[-1] += "\n"
    groups: dict[str, list[str]] = {}
    for line in new_lines[1:]:
        groups.setdefault(_label(line), []).append(line)
    out: list[tuple[str, str]] = []
    placed: set[str] = set()
    for line in old_lines[1:]:
        label = _label(line)
        if label in groups:
            if label not in placed:
                out.extend((label, x) for x in groups[label])
                placed.add(label)
            continue
        out.append((label, line))
    rank = {label: i for i, label in enumerate(order)}
    for label in groups:
        if label in placed:
            continue
        before = {x for x, i in rank.items() if i < rank.get(label, len(rank))}
        at = max((k + 1 for k, (x, _) in enumerate(out) if x in before), default=0)
        out[at:at] = [(label, x) for x in groups[label]]
        placed.add(label)
    return old_lines[0] + "".join(line for _, line in out)


# ---- the caption: which run made which rows ---------------------------------------------

class TableRun(NamedTuple):
    """A run that made rows of the table: its command, date and version.

    ``labels`` is empty for the run that made the whole table; a rerun lists the estimator
    labels whose rows it replaced.
    """

    command: str
    date: str
    version: str
    labels: tuple[str, ...] = ()


def _ticks(labels: Sequence[str]) -> str:
    items = [f"`{x}`" for x in labels]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_BASE = re.compile(r"Generated by `(?P<command>[^`]+)` on (?P<date>\d{4}-\d\d-\d\d) with "
                   r"pbr_eval (?P<version>[0-9][\w.+-]*?)(?=[.:;]( |$))")
_RERUN = re.compile(r"[Rr]ows of (?P<labels>(?:`[^`]+`(?:, | and )?)+) rerun by "
                    r"`(?P<command>[^`]+)` on (?P<date>\d{4}-\d\d-\d\d) with pbr_eval "
                    r"(?P<version>[0-9][\w.+-]*?)(?=[.;]( |$))")
_EVERY_RUN = ". Every run: "
_MISSING = "\n\nNot yet run (time ran out in this session): "


def caption(base: TableRun, reruns: Sequence[TableRun] = ()) -> str:
    """The table's caption: how and when its rows were made, and the settings of every run."""
    made = f"Generated by `{base.command}` on {base.date} with pbr_eval {base.version}"
    if reruns:
        since = "; ".join(f"rows of {_ticks(r.labels)} rerun by `{r.command}` on {r.date} with "
                          f"pbr_eval {r.version}" for r in reruns)
        made += (f". {since[0].upper()}{since[1:]}; every other row is from the {base.date} "
                 f"run{_EVERY_RUN}")
    else:
        made += ": "
    return made + (
        f"{N_TREATED} treated and {N_COMPARISON:,} comparison units per simulated cohort, "
        f"nominal level 0.95, seed {SEED}. Coverage outside [0.93, 0.97] is marked. "
        "`truth of`: whose rate each estimate is scored against, `cohort` (every programme "
        "participant) or `kept (x%)` (the participants the estimator kept, x% of the cohort on "
        "average; `coverage_study(truth=...)`). Bootstrap rows use --n-boot replicates per "
        "cohort for speed (999 for reported intervals). The full table is in "
        "`docs/validation.csv`.")


def parse_block(block: str) -> tuple[TableRun, list[TableRun], str]:
    """The runs named by a table block's caption (inverse of :func:`caption`), and its note
    of rows not yet run ("" if none)."""
    m = _BASE.search(block)
    if m is None:
        raise ValueError("the coverage table's caption does not say which command made it "
                         "(`Generated by `...` on DATE with pbr_eval VERSION`): rerun the "
                         "whole table.")
    base = TableRun(m["command"], m["date"], m["version"])
    end = block.find(_EVERY_RUN)
    reruns = [TableRun(r["command"], r["date"], r["version"],
                       tuple(re.findall(r"`([^`]+)`", r["labels"])))
              for r in _RERUN.finditer(block[m.end():end + 1 if end >= 0 else m.end()])]
    note = re.search(re.escape(_MISSING) + r"[^\n]*", block)
    return base, reruns, note.group(0) if note else ""


def add_rerun(reruns: Sequence[TableRun], new: TableRun) -> list[TableRun]:
    """``reruns`` with ``new`` last; labels it reran are taken out of the earlier reruns
    (a rerun left with none is dropped)."""
    out = []
    for r in reruns:
        kept = tuple(x for x in r.labels if x not in new.labels)
        if kept:
            out.append(TableRun(r.command, r.date, r.version, kept))
    return [*out, new]


def coverage_block(table: pd.DataFrame, base: TableRun, reruns: Sequence[TableRun] = (),
                   note: str = "") -> str:
    """The docs block between the coverage-table markers, from the table (the CSV) only."""
    return ("<!-- coverage-table:start -->\n" + caption(base, reruns) + "\n\n" + fmt(table)
            + note + "\n<!-- coverage-table:end -->")


_BLOCK = re.compile(r"<!-- coverage-table:start -->.*<!-- coverage-table:end -->", re.S)


def write_block(doc: Path, block: str) -> None:
    """Put ``block`` between the coverage-table markers of ``doc`` (atomically)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else (
        "# Validation\n\n<!-- coverage-table:start -->\n<!-- coverage-table:end -->\n")
    write_text(doc, _BLOCK.sub(lambda _: block, text))
    print(f"wrote {doc}")


def read_block(doc: Path) -> str:
    m = _BLOCK.search(doc.read_text(encoding="utf-8"))
    if m is None:
        raise ValueError(f"{doc} has no <!-- coverage-table:start --> ... end block")
    return m.group(0)


MISSPEC_CSV = DOC.parent / "misspecification.csv"
TRADEOFF_CSV = DOC.parent / "warning_tradeoff.csv"
TOGETHER_CSV = DOC.parent / "missed_together.csv"
#: Fresh cohorts: the workflow's disagreement threshold was chosen on those of seed 20261203
#: (benchmarks/warning_calibration.py, benchmarks/results/warning_calibration.txt), so the
#: table checks it on cohorts it was not chosen on.
MISSPEC_SEED = 20261217


def misspecification(n_reps: int, n_jobs: int) -> None:
    """The misspecification table (issue 16): every design of
    pbr_eval.validation.MISSPECIFICATION_DESIGNS, every panel estimator, the default workflow
    and 1:1 matching without replacement; written between the misspecification-table markers
    of docs/validation.md, with the table in docs/misspecification.csv."""
    from pbr_eval.validation import (
        MISSPECIFICATION_DESIGNS,
        missed_together,
        misspecification_reps,
        summarise_misspecification,
        warning_tradeoff,
    )

    t0 = time.perf_counter()
    reps = []
    for k, name in enumerate(MISSPECIFICATION_DESIGNS):
        reps.append(misspecification_reps(name, n_reps=n_reps, seed=MISSPEC_SEED + k,
                                          n_treated=N_TREATED, n_jobs=n_jobs))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    reps = pd.concat(reps, ignore_index=True)
    if CACHE is not None:  # the per-cohort records, for analyses beyond the committed tables
        CACHE.mkdir(parents=True, exist_ok=True)
        reps.to_pickle(CACHE / f"misspecification_reps_{n_reps}.pkl")
    table = summarise_misspecification(reps)
    table = pd.concat([table, pooled_default(table)], ignore_index=True)
    table.to_csv(MISSPEC_CSV, index=False)
    warning_tradeoff(reps).to_csv(TRADEOFF_CSV, index=False)
    missed_together(reps).to_csv(TOGETHER_CSV, index=False)
    write_misspecification_doc(table, n_reps)


def tradeoff_block(tradeoff: pd.DataFrame) -> str:
    """The docs block of the disagreement threshold's trade-off (from docs/warning_tradeoff.csv,
    written by the same run as the misspecification table; tests/test_misspecification.py
    checks the block and that its default row is the table's own warnings)."""
    lines = ["| disagreement rule | missed, warned: all designs | wrong model | both right "
             "| sound, warned: both right | all designs |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for _, r in tradeoff.iterrows():
        name = (r["rule"] if r["rule"].startswith("every") else
                f"outcome-model checks at {r['threshold']:g}"
                + (" (default)" if r["rule"] == "default" else ""))
        lines.append(f"| {name} | {r['missed_warned']:.1%} | {r['missed_warned_wrong_model']:.1%} "
                     f"| {r['missed_warned_both_right']:.1%} | {r['sound_warned_both_right']:.1%} "
                     f"| {r['sound_warned']:.1%} |")
    return ("<!-- warning-tradeoff:start -->\n" + "\n".join(lines)
            + "\n<!-- warning-tradeoff:end -->")


ALL_DESIGNS = "all designs"
WRONG_MODEL = "designs with a wrong model"
BOTH_RIGHT = "designs with both models right"
#: The pooled rows of the default workflow (design column): which per-design rows each pools.
POOLS = {
    ALL_DESIGNS: lambda d: True,
    WRONG_MODEL: lambda d: not (d.propensity_right and d.outcome_right),
    BOTH_RIGHT: lambda d: d.propensity_right and d.outcome_right,
}


def per_design(table: pd.DataFrame) -> pd.DataFrame:
    """The table's per-design rows (the pooled rows of :data:`POOLS` left out)."""
    return table[~table["design"].isin(list(POOLS))]


def pooled_default(table: pd.DataFrame) -> pd.DataFrame:
    """The default workflow pooled over designs: one row per :data:`POOLS` entry.

    Computed from the per-design rows only (so the committed CSV reproduces it): the misses,
    the warned share of them and of the sound intervals, weighted by replicates. Besides all
    designs, the designs where a working model is wrong (where misses beyond the nominal 5%
    come from) and those where both are right (where the misses are the nominal ones of a
    95% interval, which no diagnostic can foresee) are pooled separately.
    """
    from pbr_eval.validation import MISSPECIFICATION_DESIGNS

    per = per_design(table)
    dws = per[per["estimator"] == "default workflow"]
    rows = []
    for pool, member in POOLS.items():
        dw = dws[[member(MISSPECIFICATION_DESIGNS[x]) for x in dws["design"]]]
        n = dw["n_reps"]
        misses = (1 - dw["coverage"]) * n
        sound = dw["coverage"] * n
        n_missed = float(misses.sum())
        cover = float(sound.sum() / n.sum())
        rows.append({
            "design": pool, "estimator": "default workflow", "n_reps": int(n.sum()),
            "bias": float((dw["bias"] * n).sum() / n.sum()), "coverage": cover,
            "coverage_mcse": (cover * (1 - cover) / n.sum()) ** 0.5,
            "warned": float((dw["warned"] * n).sum() / n.sum()),
            "n_missed": int(round(n_missed)),
            "missed_warned": float((misses * dw["missed_warned"].fillna(0)).sum() / n_missed),
            "missed_unwarned": float((misses * dw["missed_unwarned"].fillna(0)).sum()
                                     / n_missed),
            "sound_warned": float((sound * dw["sound_warned"].fillna(0)).sum() / sound.sum()),
        })
    return pd.DataFrame(rows)


def misspecification_block(table: pd.DataFrame, n_reps: int, date: str) -> str:
    """The docs block for the misspecification table (computed from the table only, so the
    committed CSV reproduces it: tests/test_misspecification.py checks)."""
    from pbr_eval.validation import MISSPECIFICATION_DESIGNS

    def pct(v: float) -> str:
        return "-" if pd.isna(v) else f"{v:.0%}"

    lines = ["| design | estimator | bias | coverage (MCSE) | warned | missed, no warning "
             "| sound, warned |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for _, r in per_design(table).iterrows():
        d = MISSPECIFICATION_DESIGNS[r["design"]]
        ok = d.one_model_right and r["estimator"] == "default workflow"
        mark = " **!**" if ok and not 0.93 <= r["coverage"] <= 0.97 else ""
        lines.append(f"| {r['design']} | {r['estimator']} | {r['bias']:+.3f} | "
                     f"{r['coverage']:.3f} ({r['coverage_mcse']:.3f}){mark} | {pct(r['warned'])} "
                     f"| {pct(r['missed_unwarned'])} | {pct(r['sound_warned'])} |")
    per = per_design(table)
    dw = per[per["estimator"] == "default workflow"]
    right = dw[[MISSPECIFICATION_DESIGNS[x].one_model_right for x in dw["design"]]]
    pools = pooled_default(table).set_index("design")
    p, wrong, sound = pools.loc[ALL_DESIGNS], pools.loc[WRONG_MODEL], pools.loc[BOTH_RIGHT]
    n_wrong = sum(POOLS[WRONG_MODEL](MISSPECIFICATION_DESIGNS[x]) for x in dw["design"])
    summary = (
        f"Default workflow over all {len(dw)} designs: {p['n_missed']} of "
        f"{p['n_reps']} intervals missed the truth, "
        f"{p['missed_warned']:.1%} of them with a fragility warning "
        f"({p['missed_unwarned']:.1%} missed with no warning); "
        f"{p['sound_warned']:.1%} of the intervals that covered the truth were "
        f"warned about. In the {n_wrong} designs with a wrong working model "
        f"{wrong['missed_warned']:.1%} of the {wrong['n_missed']} misses carry a warning "
        f"(and {wrong['sound_warned']:.1%} of the intervals that covered); in the "
        f"{len(dw) - n_wrong} designs with both models right the intervals cover "
        f"{sound['coverage']:.3f} (MCSE {sound['coverage_mcse']:.3f}), so their "
        f"{sound['n_missed']} misses are the ordinary ones of a 95% interval, and "
        f"{sound['missed_warned']:.1%} of them carry a warning "
        f"({sound['sound_warned']:.1%} of the intervals that covered). "
        f"Where at least one model is right the coverage ranges from "
        f"{right['coverage'].min():.3f} to {right['coverage'].max():.3f}.")
    return ("<!-- misspecification-table:start -->\n"
            f"Generated by `python benchmarks/make_validation.py --only-misspecification "
            f"--misspec-reps {n_reps}` on {date} with pbr_eval {__version__}: {N_TREATED} "
            f"participants per simulated cohort, seed {MISSPEC_SEED} + design number; table "
            "in `docs/misspecification.csv` (`--misspec-from-csv` rewrites this block from "
            "it).\n"
            f"<!-- docs-not-figures: {N_TREATED} {MISSPEC_SEED} -- the run's settings -->\n\n"
            + summary + "\n\n" + "\n".join(lines) + "\n<!-- misspecification-table:end -->")


def write_misspecification_doc(table: pd.DataFrame, n_reps: int,
                               date: str | None = None) -> None:
    block = misspecification_block(table, n_reps, date or dt.date.today().isoformat())
    text = DOC.read_text(encoding="utf-8")
    if "<!-- misspecification-table:start -->" not in text:
        text += "\n<!-- misspecification-table:start -->\n<!-- misspecification-table:end -->\n"
    text = re.sub(r"<!-- misspecification-table:start -->.*<!-- misspecification-table:end -->",
                  lambda _: block, text, flags=re.S)
    if TRADEOFF_CSV.exists():
        if "<!-- warning-tradeoff:start -->" not in text:
            text += "\n<!-- warning-tradeoff:start -->\n<!-- warning-tradeoff:end -->\n"
        trade = tradeoff_block(pd.read_csv(TRADEOFF_CSV))
        text = re.sub(r"<!-- warning-tradeoff:start -->.*<!-- warning-tradeoff:end -->",
                      lambda _: trade, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


def rerun_command(args: argparse.Namespace, rows: Sequence[Row]) -> str:
    """The command line that reproduces a --only-methods run's rows (options that change no
    number, such as --n-jobs, --cache and --doc, left out)."""
    cmd = f"{SCRIPT} --only-methods {args.only_methods} --n-reps {args.n_reps}"
    if any(r.kw.get("inference") == "bootstrap" for r in rows):
        cmd += (f" --boot-reps {args.boot_reps} --boot-reps-pair {args.boot_reps_pair} "
                f"--n-boot {args.n_boot}")
    return cmd


def coverage_tables(args: argparse.Namespace, doc: Path) -> None:
    """The main coverage table: the whole of it, or (--only-methods) some estimators' rows
    merged into the committed CSV; then the block of ``doc`` rewritten from the CSV."""
    csv_path = doc.with_suffix(".csv")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    rows = plan(args.n_reps, boot_reps=args.boot_reps, boot_reps_pair=args.boot_reps_pair,
                n_boot=args.n_boot, skip_bootstrap=args.skip_bootstrap)
    order = [r.label for r in rows]
    if args.table_from_csv:
        base, reruns, note = parse_block(read_block(doc))
        write_block(doc, coverage_block(pd.read_csv(csv_path), base, reruns, note))
        return
    if args.only_methods is None:
        for method in sorted(ESTIMATORS):
            for design in designs_for(method):
                if design.own_study:
                    print(f"{method}: coverage in {design.own_study}")
        table = pd.concat([run(r, args.n_jobs) for r in rows], ignore_index=True)
        text = table.to_csv(index=False)
        base = TableRun(f"{SCRIPT} --n-reps {args.n_reps} --boot-reps {args.boot_reps} "
                        f"--boot-reps-pair {args.boot_reps_pair} --n-boot {args.n_boot}",
                        today, __version__)
        reruns: list[TableRun] = []
        note = (f"{_MISSING}{', '.join(MISSING)}." if MISSING else "")
    else:
        methods = parse_methods(args.only_methods, rows)
        chosen = [r for r in rows if r.method in methods]
        base, reruns, note = parse_block(read_block(doc))
        old = csv_path.read_text(encoding="utf-8")
        old_reps = pd.read_csv(io.StringIO(old)).groupby("estimator")["n_reps"].max()
        for r in chosen:
            if r.label in old_reps and int(old_reps[r.label]) != r.n_reps:
                print(f"note: {r.label} had {int(old_reps[r.label])} cohorts per row; this run "
                      f"uses {r.n_reps}", file=sys.stderr)
        made = [(r.label, t) for r in chosen if len(t := run(r, args.n_jobs))]
        if not made:
            print("nothing rerun (every row is missing from the cache): tables left as they "
                  "are", file=sys.stderr)
            return
        new = pd.concat([t for _, t in made], ignore_index=True)
        text = merge_rows(old, new, order)
        labels = tuple(x for x in order if x in {label for label, _ in made})
        reruns = add_rerun(reruns, TableRun(rerun_command(args, chosen), today, __version__,
                                            labels))
        left = [r.label for r in chosen if r.label not in labels]
        if left:
            print(f"not rerun (not in the cache), kept from before: {', '.join(left)}",
                  file=sys.stderr)
    write_text(csv_path, text)
    print(f"wrote {csv_path}")
    write_block(doc, coverage_block(pd.read_csv(io.StringIO(text)), base, reruns, note))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--misspec-reps", type=int, default=200,
                    help="cohorts per misspecification design (0: skip that table)")
    ap.add_argument("--only-misspecification", action="store_true",
                    help="regenerate only the misspecification table")
    ap.add_argument("--misspec-from-csv", action="store_true",
                    help="rewrite the misspecification block (and the CSV's pooled rows) from the "
                         "per-design rows of docs/misspecification.csv")
    ap.add_argument("--n-reps", type=int, default=500)
    ap.add_argument("--boot-reps", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=199)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--boot-reps-pair", type=int, default=500,
                    help="cohorts for the (cheap) pair bootstrap")
    ap.add_argument("--skip-bootstrap", action="store_true")
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder keeping each row's table, so an interrupted run resumes")
    ap.add_argument("--cached-only", action="store_true",
                    help="write the page from the cache only, listing rows not yet run")
    ap.add_argument("--only-methods", default=None, metavar="NAMES",
                    help="rerun only these estimators' rows (comma-separated names of "
                         "ESTIMATORS: every design, variant and bootstrap row of each), merged "
                         "into the committed CSV; skips the misspecification table")
    ap.add_argument("--doc", type=Path, default=DOC,
                    help="the page to write (its table is the .csv beside it); default "
                         "docs/validation.md; use a copy for a trial run")
    ap.add_argument("--table-from-csv", action="store_true",
                    help="only rewrite the coverage-table block from the CSV (caption kept)")
    args = ap.parse_args(argv)
    global CACHE, CACHED_ONLY
    CACHE, CACHED_ONLY = args.cache, args.cached_only
    try:
        if args.only_methods is not None:
            parse_methods(args.only_methods, plan(args.n_reps))  # fail before any work
        if args.misspec_from_csv:
            table = per_design(pd.read_csv(MISSPEC_CSV))  # the pooled rows are recomputed
            table = pd.concat([table, pooled_default(table)], ignore_index=True)
            table.to_csv(MISSPEC_CSV, index=False)
            date = re.search(r"--misspec-reps \d+` on (\S+)", DOC.read_text(encoding="utf-8"))
            write_misspecification_doc(table, int(per_design(table)["n_reps"].max()),
                                       date.group(1) if date else None)
            return 0
        if args.misspec_reps > 0 and args.only_methods is None and not args.table_from_csv:
            misspecification(args.misspec_reps, args.n_jobs)
        if args.only_misspecification:
            return 0
        coverage_tables(args, args.doc)
    except (PbrEvalError, ValueError) as exc:
        print(f"make_validation: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
