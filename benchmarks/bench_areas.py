"""Benchmark: area rates for 150 areas with 1,000,000 comparison rows (target < 30 s).

    python benchmarks/bench_areas.py [repeats]

Times (best of `repeats`) building the Cohort and fitting area_rates with the
default national model, with and without area covariates, plus area_tariffs.
The machine may be shared, so take the best of several runs.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from pbr_eval import Cohort
from pbr_eval.areas import area_rates, area_tariffs
from pbr_eval.datasets import simulate_areas


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(repeats: int = 3) -> None:
    t0 = time.perf_counter()
    sim = simulate_areas(n_areas=150, n_treated=50_000, n_comparison=1_000_000, seed=1)
    print(f"simulate: {time.perf_counter() - t0:.2f} s; rows {len(sim.data):,}; "
          f"areas {sim.data['local_authority'].nunique()}")
    cov = sim.data.groupby("local_authority")[["unemployment_rate", "deprivation"]].first()
    t_c, cohort = best_of(repeats, lambda: Cohort(sim.data, **sim.cohort_args))
    print(f"Cohort (1,050,000 rows): best of {repeats}: {t_c:.2f} s")
    for label, ac in (("no area covariates", None), ("with area covariates", cov)):
        for outcome in ("job_outcome", "wellbeing"):
            t_f, rates = best_of(repeats, lambda ac=ac, outcome=outcome: area_rates(
                cohort, outcome=outcome, area_covariates=ac))
            print(f"area_rates {outcome}, {label}: best of {repeats}: {t_f:.2f} s "
                  f"(Cohort + fit {t_c + t_f:.2f} s; target < 30 s)")
    rates = area_rates(cohort, outcome="job_outcome", area_covariates=cov)
    t_t, _ = best_of(repeats, lambda: area_tariffs(rates, value_per_outcome=4000, effect=0.05))
    print(f"area_tariffs: best of {repeats}: {t_t:.3f} s")
    tracemalloc.start()
    area_rates(cohort, outcome="job_outcome", area_covariates=cov)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak memory traced during area_rates: {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
