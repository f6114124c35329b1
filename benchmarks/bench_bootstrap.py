"""Benchmark: 999-replicate cluster bootstrap of nearest-neighbour matching.

2,000 treated x 100,000 comparison units (simulated reoffending scenario, 20
local authorities as clusters), n_jobs=1 and n_jobs=2; prints the wall time
of each and the speed-up. Issue 5 asks for under 60 s with n_jobs=2 on a
2-core machine.

Run: python benchmarks/bench_bootstrap.py [--n-boot 999] [--repeats 1] [--jobs 1 2]
     [--save replicates.npy]

On a shared machine, read the CPU time per replicate (printed for n_jobs=1)
rather than the wall time, and the load average printed before each run.
``--save`` writes the replicates (of the last n_jobs) so that runs of two
versions of the code can be compared value for value.
"""

from __future__ import annotations

import argparse
import os
import time

from pbr_eval import Cohort
from pbr_eval.bootstrap import bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators.matching import NearestNeighborMatching


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-boot", type=int, default=999)
    ap.add_argument("--n-treated", type=int, default=2_000)
    ap.add_argument("--n-comparison", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=1, help="runs per n_jobs; the best is kept")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--save", default=None, help="write the replicates to this .npy file")
    args = ap.parse_args()

    sim = simulate("reoffending", n_treated=args.n_treated, n_comparison=args.n_comparison, seed=1)
    cohort = Cohort(sim.data, **sim.cohort_args)
    est = NearestNeighborMatching()
    t0 = time.perf_counter()
    res = est.fit(cohort)
    one_fit = time.perf_counter() - t0
    print(f"cpus visible: {os.cpu_count()}; load average: {os.getloadavg()}")
    print(f"cohort: {cohort.n_treated:,} treated, {cohort.n_comparison:,} comparison, "
          f"{res.info['cohort']['cluster']} clusters; one fit {one_fit:.3f} s")
    best: dict[int, float] = {}
    reps = {}
    for n_jobs in args.jobs:
        times, cpus = [], []
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            boot = bootstrap(res, cohort, n_boot=args.n_boot, kind="cluster", seed=2024,
                             n_jobs=n_jobs, progress=False)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        best[n_jobs] = min(times)
        reps[n_jobs] = boot.replicates
        cpu_note = (f"; CPU time of this process {min(cpus):.1f} s "
                    f"({1000 * min(cpus) / args.n_boot:.0f} ms/replicate)" if n_jobs == 1 else "")
        print(f"n_jobs={n_jobs}: {args.n_boot} replicates, runs "
              f"{', '.join(f'{t:.1f}' for t in times)} s (best {best[n_jobs]:.1f} s, "
              f"{1000 * best[n_jobs] / args.n_boot:.0f} ms/replicate){cpu_note}; "
              f"failed {boot.n_failed}; load average before {load_before:.1f}, "
              f"now {os.getloadavg()[0]:.1f}", flush=True)
    if 1 in best and 2 in best:
        print(f"speed-up 1 -> 2 workers: {best[1] / best[2]:.2f}x")
    import numpy as np

    first = next(iter(reps.values()))
    print("identical replicates across n_jobs:",
          all(np.array_equal(first, r) for r in reps.values()))
    if args.save:
        np.save(args.save, boot.replicates)
    print(boot.to_frame()[["outcome", "non_intervention", "non_intervention_ci_lower",
                           "non_intervention_ci_upper", "ci_lower", "ci_upper"]].to_string())


if __name__ == "__main__":
    main()
