"""Multiple imputation in repeated simulation with known truth (issue 16 acceptance; on demand).

Cohorts from :func:`pbr_eval.datasets.simulate` (``"reoffending"``: 200 participants and
2,000 comparison people by default), one seed per replicate. In each, about 20% of ``age``
and of ``prior_offences`` are made missing at random by :func:`pbr_eval.add_missing`: more
often for people who reoffended and for longer sentences (the chance depends on observed
columns only, log-odds 1 per standard deviation). The non-intervention rate of
``reoffended`` (the participants' own rate without the programme, known in the simulation)
is then estimated with AIPW three ways:

- ``before gaps``: on the data before the gaps were made (the reference);
- ``imputed``: :func:`pbr_eval.impute` (m imputations, 5 iterations per chain) then
  ``estimate(method="aipw")``, pooled by Rubin's rules (t interval, Barnard-Rubin df);
- ``complete cases``: ``Cohort(missing="drop")``, the rows with no gap.

Printed per approach: mean bias and its Monte Carlo SE, mean SE / SD of the errors
(estimate minus truth: the truth, the cohort's own rate, varies between cohorts, so the SD of
the estimates alone is about half the SD the SE describes), coverage of the 95% interval with
its Monte Carlo SE, mean fraction of missing information.

    python benchmarks/validate_imputation.py [--replicates 300] [--n-treated 200]
        [--n-comparison 2000] [--m 5] [--workers 1] [--cache DIR]

``--cache DIR`` keeps each replicate's rows (and its CPU seconds) in ``DIR``, written
atomically, so an interrupted run resumes where it stopped and a run can be finished by
later runs; the table is the same whichever run computed a replicate (one seed per
replicate), and the CPU seconds printed are the replicates' own, summed.

Record its output with ``python benchmarks/record.py benchmarks/validate_imputation.py ...``
(under ``nice -n 10`` on a shared machine; about 2 CPU seconds per replicate at the default
size on the AMD EPYC machine of the recorded run, which used ``--workers 2``). A reduced version (12 replicates of 150 + 1,000 people, m = 3) runs in CI:
tests/test_imputation.py::test_reduced_coverage_and_complete_case_bias.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval.datasets import simulate

SEED0 = 160_000
GAPS = ("age", "prior_offences")
DRIVERS = ("reoffended", "sentence_months")
METHOD = "aipw"


def one(r: int, n_treated: int, n_comparison: int, m: int, share: float = 0.2) -> list[dict]:
    """One replicate: the three approaches' estimates, SEs, intervals and the truth."""
    c0 = time.process_time()
    sim = simulate("reoffending", n_treated=n_treated, n_comparison=n_comparison,
                   seed=SEED0 + r)
    truth = float(sim.truth.loc["reoffended", "non_intervention"])
    args = {k: v for k, v in sim.cohort_args.items() if k != "period"}
    gaps = pbr_eval.add_missing(sim.data, list(GAPS), share=share, seed=SEED0 + 50_000 + r,
                                depends_on=list(DRIVERS))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {
            "before gaps": pbr_eval.estimate(pbr_eval.Cohort(sim.data, **args), method=METHOD),
            "complete cases": pbr_eval.estimate(
                pbr_eval.Cohort(gaps, missing="drop", **args), method=METHOD),
        }
        pooled = pbr_eval.impute(gaps, m=m, seed=SEED0 + 90_000 + r, iterations=5,
                                 **args).estimate(method=METHOD)
    for name, res in fits.items():
        f = res.to_frame().iloc[0]
        rows.append({"approach": name, "rep": r, "estimate": float(f.non_intervention),
                     "se": float(f.non_intervention_se),
                     "lo": float(f.non_intervention_ci_lower),
                     "hi": float(f.non_intervention_ci_upper), "fmi": np.nan, "truth": truth})
    f = pooled.to_frame().iloc[0]
    rows.append({"approach": "imputed", "rep": r, "estimate": float(f.non_intervention),
                 "se": float(f.non_intervention_se), "lo": float(f.non_intervention_ci_lower),
                 "hi": float(f.non_intervention_ci_upper),
                 "fmi": float(f.non_intervention_fmi), "truth": truth})
    cpu = time.process_time() - c0
    return [{**row, "cpu_s": cpu} for row in rows]


def cached(r: int, n_treated: int, n_comparison: int, m: int,
           cache: Path | None) -> list[dict]:
    """:func:`one`, read from ``cache`` when there, else computed and saved (temp + rename)."""
    if cache is None:
        return one(r, n_treated, n_comparison, m)
    path = cache / f"rep_{r}_{n_treated}_{n_comparison}_{m}.csv"
    if path.exists():
        return pd.read_csv(path).to_dict("records")
    rows = one(r, n_treated, n_comparison, m)
    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".tmp")
    os.close(fd)
    pd.DataFrame(rows).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Bias, its MC SE, mean SE / SD of the errors, coverage and its MC SE, mean fmi by approach."""
    out = []
    for approach, g in frame.groupby("approach", sort=False):
        err = g["estimate"] - g["truth"]
        n = len(g)
        cov = float(((g["lo"] <= g["truth"]) & (g["truth"] <= g["hi"])).mean())
        out.append({"approach": approach, "replicates": n, "bias": err.mean(),
                    "bias_mc_se": err.std(ddof=1) / np.sqrt(n),
                    # the truth (the cohort's own rate) varies between cohorts: the SE is
                    # for the error, not for the estimate alone
                    "se_over_sd": g["se"].mean() / err.std(ddof=1),
                    "coverage": cov, "coverage_mc_se": np.sqrt(cov * (1 - cov) / n),
                    "mean_fmi": g["fmi"].mean()})
    return pd.DataFrame(out)


def run(replicates: int, n_treated: int, n_comparison: int, m: int,
        workers: int = 1, cache: Path | None = None) -> pd.DataFrame:
    """All replicates (in order; ``workers`` processes through joblib when above 1)."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    if workers > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=workers)(delayed(cached)(r, n_treated, n_comparison, m, cache)
                                         for r in range(replicates))
    else:
        parts = [cached(r, n_treated, n_comparison, m, cache) for r in range(replicates)]
    return pd.DataFrame([row for p in parts for row in p])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=300)
    ap.add_argument("--n-treated", type=int, default=200)
    ap.add_argument("--n-comparison", type=int, default=2000)
    ap.add_argument("--m", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder keeping each replicate's rows, so a run resumes")
    a = ap.parse_args()
    t0, c0 = time.time(), time.process_time()
    frame = run(a.replicates, a.n_treated, a.n_comparison, a.m, a.workers, a.cache)
    table = summarise(frame)
    print(f"Multiple imputation, {a.replicates} replicates of {a.n_treated} + "
          f"{a.n_comparison} people; about 20% of {' and '.join(GAPS)} missing at random "
          f"(depending on {' and '.join(DRIVERS)}); {METHOD}; m = {a.m}; seeds "
          f"{SEED0} + replicate")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"share of rows with a gap (mean): "
          f"{1 - (1 - 0.2) ** len(GAPS):.2f} expected")
    rep_cpu = frame.drop_duplicates("rep")["cpu_s"]
    print(f"CPU seconds of the replicates (summed, in the processes that ran them): "
          f"{rep_cpu.sum():.0f} ({rep_cpu.mean():.1f} per replicate); this process: "
          f"{time.process_time() - c0:.0f} CPU s, {time.time() - t0:.0f} s wall")


if __name__ == "__main__":
    main()
