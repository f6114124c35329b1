"""Speed of staggered DiD: 1,000,000 units x 12 periods, doubly robust ATT(g, t) with
covariates and 999 multiplier-bootstrap draws (issue 18: <= 10 s on the project machine).

Times, in one run (medians of ``--repeat`` runs):

* ``fit``: ``StaggeredDiD(model="dr", n_boot=999, cross_checks=False).fit(cohort)`` on a
  built Cohort (the acceptance figure): every ATT(g, t) with its influence function, the
  four aggregations, the bootstrap over all of them (``multiplier="auto"``, which at this
  size draws the Gaussian multiplier bootstrap from its exact conditional distribution);
* ``fit_rademacher_200k``: the same on the first 200,000 units with Rademacher weights,
  and the same 200,000 with Gaussian weights (the ratio shows what the choice saves);
* ``cohort``: building the Cohort (validation of 12 million rows), reported apart.

Run: ``python benchmarks/bench_staggered.py [--units 1000000] [--repeat 3]``; the output
committed beside this file is ``bench_staggered.txt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from pbr_eval import Cohort
from pbr_eval.datasets import simulate_staggered
from pbr_eval.estimators.staggered import StaggeredDiD


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sim = simulate_staggered(n_units=a.units, n_periods=a.periods, waves=(4, 6, 8, 10),
                             effect_start=(1.0, 0.8, 0.5, 0.2), seed=1)
    print(f"data: {a.units:,} units x {a.periods} periods = {len(sim.data):,} rows; "
          f"load average {os.getloadavg()[0]:.1f}")
    t_cohort, cohort = timed(lambda: sim.cohort(), 1)
    print(f"cohort: {t_cohort:.2f} s (building and validating the Cohort, not part of fit)")
    est = StaggeredDiD(model="dr", n_boot=999, cross_checks=False, seed=1)
    t_fit, res = timed(lambda: est.fit(cohort), a.repeat)
    st = res.extras["staggered"]
    print(f"fit: {t_fit:.2f} s median of {a.repeat} (DR ATT(g,t) with covariates x1, x2; "
          f"{len(st.group_time)} cells; 999 draws, {res.info['multiplier']} weights)")
    print(f"overall effect {res.estimates[0].effect:.4f} (truth {sim.truth.loc['y', 'effect']:.4f})")
    sub_ids = np.arange(1, 200_001)
    sub = Cohort(sim.data[sim.data["unit"].isin(sub_ids)], **sim.cohort_args)
    t_r, _ = timed(lambda: StaggeredDiD(n_boot=999, cross_checks=False, seed=1,
                                        multiplier="rademacher").fit(sub), a.repeat)
    t_g, _ = timed(lambda: StaggeredDiD(n_boot=999, cross_checks=False, seed=1,
                                        multiplier="gaussian").fit(sub), a.repeat)
    t_0, _ = timed(lambda: StaggeredDiD(n_boot=0, cross_checks=False).fit(sub), a.repeat)
    print(f"200,000 units: fit with Rademacher weights {t_r:.2f} s, Gaussian {t_g:.2f} s, "
          f"no bootstrap {t_0:.2f} s (Rademacher / Gaussian = {t_r / t_g:.2f}x)")
    print(f"acceptance (fit <= 10 s at 1,000,000 units x 12 periods): "
          f"{'met' if t_fit <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
