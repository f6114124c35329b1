"""Synthetic control and synthetic DiD in repeated simulation: bias and interval coverage.

Area panels from :func:`pbr_eval.datasets.simulate_synthetic` (30 areas, 20 periods, the
programme from period 15, an effect of -3 growing by -0.2 a period; an interactive
fixed-effects model whose treated areas load on the common factors like the others,
``selection=0``). Rows: ``sdid`` with three programme areas (jackknife standard errors,
``--replicates`` panels), then ``sdid`` and ``synthetic_control`` with three and with one
programme area (placebo standard errors, ``--n-placebo`` replications each,
``--replicates-placebo`` panels; synthetic control offers no jackknife). For each: the mean estimate minus the truth (bias, with its Monte Carlo
error), the coverage of the 95% interval (with its MCSE) and the ratio of the mean
standard error to the estimates' standard deviation.

    python benchmarks/validate_synthetic.py [--replicates 400] [--replicates-placebo 200]

Run it with benchmarks/record.py to commit its output (benchmarks/results/). A reduced
version runs in CI: tests/test_synthetic_estimator.py::test_reduced_coverage_synthetic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pbr_eval
from pbr_eval.datasets import simulate_synthetic

DESIGN = {"n_areas": 30, "n_periods": 20, "start": 15, "effect": -3.0, "growth": -0.2,
          "selection": 0.0}


def study(method: str, n_treated: int, replicates: int, n_placebo: int, se: str, seed0: int
          ) -> tuple[float, ...]:
    """Bias, its MCSE, coverage, its MCSE, SE ratio over ``replicates`` panels."""
    err, cover, ses = [], [], []
    for r in range(replicates):
        sim = simulate_synthetic(n_treated=n_treated, seed=seed0 + r, **DESIGN)
        res = pbr_eval.estimate(sim.cohort(), method=method, n_placebo=n_placebo, seed=r,
                                se=se, cross_checks=False)
        f = res.to_frame().iloc[0]
        truth = float(sim.truth.loc["y", "effect"])
        err.append(f["effect"] - truth)
        cover.append(f["ci_lower"] <= truth <= f["ci_upper"])
        ses.append(f["std_error"])
    e, c = np.asarray(err), np.asarray(cover, dtype=float)
    R = len(e)
    return (float(e.mean()), float(e.std(ddof=1) / np.sqrt(R)), float(c.mean()),
            float(np.sqrt(c.mean() * (1 - c.mean()) / R)), float(np.mean(ses) / e.std(ddof=1)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=400)
    ap.add_argument("--replicates-placebo", type=int, default=100)
    ap.add_argument("--n-placebo", type=int, default=100)
    a = ap.parse_args()
    print(f"design: {DESIGN}")
    print("method, programme areas, standard error, panels: bias (MCSE), coverage of the 95% "
          "interval (MCSE), mean SE / SD of estimates")
    placebo = f"placebo x{a.n_placebo}"
    rows = (("sdid", 3, a.replicates, "jackknife"), ("sdid", 3, a.replicates_placebo, placebo),
            ("sdid", 1, a.replicates_placebo, placebo),
            ("synthetic_control", 3, a.replicates_placebo, placebo),
            ("synthetic_control", 1, a.replicates_placebo, placebo))
    for method, n_treated, reps, se in rows:
        t0 = time.perf_counter()
        b, bm, c, cm, ratio = study(method, n_treated, reps, a.n_placebo, se.split()[0], 70_000)
        print(f"{method}, {n_treated}, {se}, {reps}: bias {b:+.3f} ({bm:.3f}), coverage "
              f"{c:.3f} ({cm:.3f}), SE ratio {ratio:.2f}  [{time.perf_counter() - t0:,.0f} s]",
              flush=True)


if __name__ == "__main__":
    main()
