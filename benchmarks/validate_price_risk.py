"""On-demand check: does the recommended price's stated risk hold with real estimators?

The default price (ceiling at the upper limit of the 95% interval of the non-intervention
rate) pays for deadweight only if the true rate lies beyond that limit; for the
complement of reoffending that happens when the reoffending interval's LOWER limit is
above the true non-intervention rate. Nominal share: 2.5%.

Run: python benchmarks/validate_price_risk.py [--reps 60] [--methods nearest,aipw,ipw]

Replicates simulate("reoffending", n_treated=400, n_comparison=4000, effect -40%) and
prints, per estimator, the share of replications in which the recommended price would pay
for deadweight, the mean error and its spread, and the mean reported standard error.
"""

from __future__ import annotations

import argparse

import numpy as np

from pbr_eval import Cohort, estimate, price
from pbr_eval.datasets import simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--methods", default="nearest,aipw,ipw")
    a = ap.parse_args()
    for method in a.methods.split(","):
        over, err, ses = [], [], []
        for s in range(a.reps):
            sim = simulate("reoffending", n_treated=400, n_comparison=4000, seed=5000 + s,
                           effect={"reoffended": -0.4})
            res = estimate(Cohort(sim.data, **sim.cohort_args), method=method)
            f = res.to_frame().set_index("outcome").loc["reoffended"]
            truth = sim.truth.loc["reoffended", "non_intervention"]
            r = 1 - sim.truth.loc["reoffended", "observed"]
            p = price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                      expected_rate=r).to_frame().iloc[0]
            over.append(p["recommended"] > 5000 * (1 - (1 - truth) / r) + 1e-9)
            err.append(f["non_intervention"] - truth)
            ses.append(f["non_intervention_se"])
        k = float(np.mean(over))
        print(f"{method:<10} pays for deadweight in {k:.1%} of {a.reps} replications "
              f"(nominal 2.5%, MC s.e. {np.sqrt(0.025 * 0.975 / a.reps):.1%}); error mean "
              f"{np.mean(err):+.4f}, sd {np.std(err, ddof=1):.4f}; mean reported SE "
              f"{np.mean(ses):.4f}")


if __name__ == "__main__":
    main()
