"""Benchmark: validate 100,000 claims over 2,000,000 evidence records (target < 30 s).

Run: python benchmarks/bench_claims.py [--claims 100000] [--records 2000000] [--repeat 3]

The simulated claims (pbr_eval.claims.simulate_claims) give about 19.4 records
per claim; the rest up to --records are older weekly employment records of the
same adults (dated before every claim window), so they sit in the same index
and must be searched past. Prints the best of --repeat runs (the machine may be
shared; the best run is the least disturbed) and checks every claim against
its known true status.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pbr_eval.claims import RecordStore, simulate_claims, validate_claims


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    sim = simulate_claims(args.claims, seed=2026)
    records = sim.records
    extra = args.records - len(records)
    if extra > 0:
        rng = np.random.default_rng(1)
        adults = sim.members.loc[sim.members["role"] == "adult", "person"].to_numpy()
        want, extra = extra, int(extra * 1.01) + 100  # spare rows for duplicates dropped below
        who = adults[rng.integers(0, len(adults), extra)]
        # weekly history two to six years before the earliest claim date
        day = np.datetime64("2014-07-01", "D") - np.timedelta64(730, "D") - (
            7 * rng.integers(0, 208, extra)).astype("timedelta64[D]")
        filler = pd.DataFrame({"unit_id": who, "measure": "employed", "date": day,
                               "value": rng.integers(0, 2, extra).astype(float)})
        filler = filler.drop_duplicates(["unit_id", "measure", "date"]).iloc[:want]
        records = pd.concat([records, filler], ignore_index=True)
    t_sim = time.perf_counter() - t0
    print(f"claims: {len(sim.claims):,}  records: {len(records):,}  (simulated in {t_sim:.1f} s)")

    best_total = best_index = best_eval = float("inf")
    for _ in range(args.repeat):
        t1 = time.perf_counter()
        store = RecordStore.from_frame(records)
        t2 = time.perf_counter()
        res = validate_claims(sim.claims, store, sim.rules, members=sim.members)
        t3 = time.perf_counter()
        best_index = min(best_index, t2 - t1)
        best_eval = min(best_eval, t3 - t2)
        best_total = min(best_total, t3 - t1)
    m = res.claims.merge(sim.truth, on="claim_id", suffixes=("", "_true"))
    wrong = int((m["status"].astype(str) != m["status_true"]).sum())
    print(f"index records (best of {args.repeat}): {best_index:.2f} s")
    print(f"evaluate claims (best of {args.repeat}): {best_eval:.2f} s")
    print(f"total validation (best of {args.repeat}): {best_total:.2f} s  (target < 30 s)")
    print(f"claims misclassified against the simulation's truth: {wrong}")
    print(res.counts(None).to_string(index=False))


if __name__ == "__main__":
    main()
