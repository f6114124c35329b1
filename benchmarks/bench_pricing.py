"""Benchmark: simulate_payments, 10,000 draws x 1,000 people.

Run: python benchmarks/bench_pricing.py [--draws 10000] [--people 1000] [--repeat 3]

Prints the best wall time of several runs (the machine may be shared: take the best)
and the peak traced memory of one run, for three tariffs: a price per outcome; a rate
card over three outcomes with a per-person cap; Peterborough-style payments per event
avoided with cohort and pooled triggers.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from pbr_eval.pricing import PerEventAvoided, PerOutcome, RateCard, Tariff, simulate_payments


def cases(n: int) -> dict[str, dict]:
    people = pd.DataFrame({"cohort": np.repeat([1, 2, 3], -(-n // 3))[:n]})
    return {
        "per outcome (1 binary outcome)": dict(
            tariff=Tariff([PerOutcome("job", 1200.0)]),
            non_intervention={"job": (0.05, 0.005)}, effect={"job": 0.05},
            value_per_outcome={"job": 3000.0}, cohort_size=n),
        "rate card (3 outcomes, per-person cap)": dict(
            tariff=Tariff([RateCard({"a": 700.0, "b": 900.0, "c": 2000.0},
                                    per_person_cap=2500.0)]),
            non_intervention={"a": (0.5, 0.02), "b": (0.3, 0.02), "c": (0.1, 0.01)},
            effect={"a": 0.1, "b": 0.1, "c": 0.05},
            value_per_outcome={"a": 1000.0, "b": 1500.0, "c": 4000.0}, cohort_size=n),
        "per event avoided (counts, 3 cohorts, pooled)": dict(
            tariff=Tariff([PerEventAvoided("events", 800.0, threshold=0.10,
                                           pooled_threshold=0.075, cohort_column="cohort")]),
            non_intervention={"events": (1.0, 0.05)}, effect={"events": -0.12},
            value_per_outcome={"events": 2000.0}, better={"events": "lower"},
            outcome_types={"events": "count"}, people=people),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"simulate_payments: {a.draws:,} draws x {a.people:,} people, best of {a.repeat}")
    for name, kw in cases(a.people).items():
        times = []
        for i in range(a.repeat):
            t0 = time.perf_counter()
            simulate_payments(draws=a.draws, seed=i, **kw)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        simulate_payments(draws=a.draws, seed=0, **kw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        person_draws = a.draws * a.people
        print(f"  {name:<48} best {min(times):6.2f} s  ({person_draws / min(times) / 1e6:5.1f} M "
              f"person-draws/s)  peak memory {peak / 2**20:6.1f} MiB")


if __name__ == "__main__":
    main()
