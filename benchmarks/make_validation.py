"""Regenerate docs/validation.md: the coverage table of every registered estimator.

Run: python benchmarks/make_validation.py [--n-reps 500] [--boot-reps 200] [--n-jobs 2]

Each estimator in pbr_eval.estimators.ESTIMATORS is run on each design it
declares (``validation_designs``, names in pbr_eval.validation.DESIGNS) over
--n-reps simulated cohorts with known truth, and the bootstrap over
--boot-reps cohorts. Its first design's row is labelled with the method name,
the others ``method (design label)``. The page is written between the markers
<!-- coverage-table:start --> and <!-- coverage-table:end --> in
docs/validation.md; the text around them is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from pbr_eval._provenance import __version__
from pbr_eval.estimators.base import ESTIMATORS, build_estimator
from pbr_eval.validation import Design, coverage_study, designs_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
N_TREATED, N_COMPARISON = 300, 3000

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


def run(label: str, method: str, options: dict[str, Any], n_reps: int, n_jobs: int,
        design: Design | None = None, **kw: Any) -> pd.DataFrame:
    design = design or designs_for(method)[0]
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
                        seed=20261122, n_treated=N_TREATED, n_comparison=N_COMPARISON,
                        n_jobs=n_jobs, **kw)
    print(f"{label}: {time.perf_counter() - t0:.0f} s, failed {cs.info['n_failed']}", flush=True)
    t = cs.table.copy()
    t.insert(0, "estimator", label)
    t.insert(1, "scenario", design.scenario)
    if CACHE is not None:
        CACHE.mkdir(parents=True, exist_ok=True)
        t.to_csv(CACHE / f"{key}.csv", index=False)
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


MISSPEC_CSV = DOC.parent / "misspecification.csv"
MISSPEC_SEED = 20261203


def misspecification(n_reps: int, n_jobs: int) -> None:
    """The misspecification table (issue 16): every design of
    pbr_eval.validation.MISSPECIFICATION_DESIGNS, every panel estimator, the default workflow
    and 1:1 matching without replacement; written between the misspecification-table markers
    of docs/validation.md, with the table in docs/misspecification.csv."""
    from pbr_eval.validation import (
        MISSPECIFICATION_DESIGNS,
        misspecification_reps,
        summarise_misspecification,
    )

    t0 = time.perf_counter()
    reps = []
    for k, name in enumerate(MISSPECIFICATION_DESIGNS):
        reps.append(misspecification_reps(name, n_reps=n_reps, seed=MISSPEC_SEED + k,
                                          n_treated=N_TREATED, n_jobs=n_jobs))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = summarise_misspecification(pd.concat(reps, ignore_index=True))
    table = pd.concat([table, pooled_default(table)], ignore_index=True)
    table.to_csv(MISSPEC_CSV, index=False)
    write_misspecification_doc(table, n_reps)


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
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


def main() -> None:
    ap = argparse.ArgumentParser()
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
    args = ap.parse_args()
    global CACHE, CACHED_ONLY
    CACHE, CACHED_ONLY = args.cache, args.cached_only
    if args.misspec_from_csv:
        table = per_design(pd.read_csv(MISSPEC_CSV))  # the pooled rows are recomputed
        table = pd.concat([table, pooled_default(table)], ignore_index=True)
        table.to_csv(MISSPEC_CSV, index=False)
        date = re.search(r"--misspec-reps \d+` on (\S+)", DOC.read_text(encoding="utf-8"))
        write_misspecification_doc(table, int(per_design(table)["n_reps"].max()),
                                   date.group(1) if date else None)
        return
    if args.misspec_reps > 0:
        misspecification(args.misspec_reps, args.n_jobs)
    if args.only_misspecification:
        return
    tables = []
    for method in sorted(ESTIMATORS):
        for i, design in enumerate(designs_for(method)):
            if design.own_study:  # a design coverage_study does not simulate: its own test
                print(f"{method}: coverage in {design.own_study}")
                continue
            label = method if i == 0 else f"{method} ({design.label})"
            tables.append(run(label, method, {}, args.n_reps, args.n_jobs, design=design))
    for label, method, opts, kw in VARIANTS:
        tables.append(run(label, method, opts, args.n_reps, args.n_jobs, **kw))
    if not args.skip_bootstrap:
        for label, method, kw in BOOTSTRAPS:
            if method in ESTIMATORS:
                reps = args.boot_reps_pair if kw.get("boot_kind") == "pair" else args.boot_reps
                tables.append(run(label, method, {}, reps, args.n_jobs,
                                  inference="bootstrap", n_boot=args.n_boot, **kw))
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(DOC.with_suffix(".csv"), index=False)
    block = (
        "<!-- coverage-table:start -->\n"
        f"Generated by `python benchmarks/make_validation.py --n-reps {args.n_reps} "
        f"--boot-reps {args.boot_reps} --boot-reps-pair {args.boot_reps_pair} "
        f"--n-boot {args.n_boot}` on "
        f"{dt.date.today().isoformat()} with pbr_eval {__version__}: {N_TREATED} treated and "
        f"{N_COMPARISON:,} comparison units per simulated cohort, nominal level 0.95, seed "
        "20261122. Coverage outside [0.93, 0.97] is marked. `truth of`: whose rate each "
        "estimate is scored against, `cohort` (every programme participant) or `kept (x%)` "
        "(the participants the estimator kept, x% of the cohort on average; "
        "`coverage_study(truth=...)`). Bootstrap rows use --n-boot replicates per cohort for "
        "speed (999 for reported intervals). The full table is in "
        "`docs/validation.csv`.\n\n" + fmt(table)
        + (f"\n\nNot yet run (time ran out in this session): {', '.join(MISSING)}."
           if MISSING else "")
        + "\n<!-- coverage-table:end -->"
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else (
        "# Validation\n\n<!-- coverage-table:start -->\n<!-- coverage-table:end -->\n")
    text = re.sub(r"<!-- coverage-table:start -->.*<!-- coverage-table:end -->", lambda _: block,
                  text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
