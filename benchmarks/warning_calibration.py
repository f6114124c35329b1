"""Choose the default workflow's disagreement threshold on cohorts kept apart from its check.

Run: OPENBLAS_NUM_THREADS=1 python benchmarks/record.py benchmarks/warning_calibration.py
     [--reps 400] [--seed 20261203]

Simulates --reps cohorts of every misspecification design
(pbr_eval.validation.MISSPECIFICATION_DESIGNS; seed --seed + design number, the cohorts of
the misspecification table before it moved to fresh seeds), runs the design-first workflow on
each, and prints pbr_eval.validation.warning_tradeoff: for each threshold of the checks with an
outcome model, the share of the headline's missed intervals that carry a warning and the share
of sound intervals warned about. The threshold in pbr_eval.workflow.THRESHOLDS was chosen from
this table as the largest one reaching 92% of missed intervals warned (the issue's 90% with a
margin of about one Monte Carlo standard error), then checked on fresh cohorts by
``benchmarks/make_validation.py --only-misspecification`` (docs/validation.md).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from pbr_eval.validation import MISSPECIFICATION_DESIGNS, misspecification_reps, warning_tradeoff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    reps = pd.concat([misspecification_reps(name, n_reps=args.reps, seed=args.seed + k,
                                            n_treated=300, n_jobs=args.n_jobs)
                      for k, name in enumerate(MISSPECIFICATION_DESIGNS)], ignore_index=True)
    table = warning_tradeoff(reps, thresholds=(0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.75, 1.0))
    print(f"{args.reps} cohorts per design, {len(MISSPECIFICATION_DESIGNS)} designs, seed "
          f"{args.seed} + design number, 300 participants per cohort "
          f"({time.perf_counter() - t0:.0f} s)")
    print("missed_warned: share of the headline's missed intervals with a warning (all designs,"
          " designs with a wrong model, designs with both models right); sound_warned: share of"
          " intervals that covered the truth and were warned about")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
