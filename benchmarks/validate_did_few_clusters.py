"""Few clusters through estimate(method="did"): the automatic wild cluster bootstrap vs CRV1.

The panels of benchmarks/validate_wild.py as a Cohort: 12 areas (4 in the programme from
period 4 of 6), 20 people per area followed over the 6 periods, area-by-period shocks
(sd 0.5) and person effects (sd 0.5); the true effect is 0.3. Each panel is estimated twice:
``se="auto"`` (fewer than FEW_CLUSTERS clusters: the wild cluster restricted bootstrap's
interval) and ``se="cluster"`` (the cluster-robust normal interval). Coverage is the share
of panels whose 95% interval holds 0.3.

    python benchmarks/validate_did_few_clusters.py [--replicates 1000]

Commit its output with benchmarks/record.py (benchmarks/results/).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval.exceptions import PreTrendWarning

G, TREATED, T, PEOPLE, EFFECT = 12, 4, 6, 20, 0.3


def panel(rng: np.random.Generator) -> pd.DataFrame:
    """One simulated panel: a row per person and period."""
    area = np.repeat(np.arange(G), T * PEOPLE)
    period = np.tile(np.repeat(np.arange(1, T + 1), PEOPLE), G)
    treated = (area < TREATED).astype(int)
    shock = rng.normal(scale=0.5, size=(G, T))[area, period - 1]
    person = area * PEOPLE + np.tile(np.arange(PEOPLE), G * T)
    y = (10 + 0.3 * period + shock + EFFECT * treated * (period >= 4)
         + rng.normal(scale=0.5, size=G * PEOPLE)[person] + rng.normal(size=area.size))
    return pd.DataFrame({"person": person, "area": area, "period": period,
                         "treated": treated, "y": y})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    R = ap.parse_args().replicates
    rng = np.random.default_rng(20261203)
    t0 = time.perf_counter()
    cover = {"auto": [], "cluster": []}
    for _ in range(R):
        c = pbr_eval.Cohort(panel(rng), treatment="treated", outcome="y", covariates=[],
                            unit_id="person", period="period", cluster="area", min_treated=1)
        for se, ok in cover.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PreTrendWarning)
                f = pbr_eval.estimate(c, method="did", post=4, se=se).to_frame().iloc[0]
            ok.append(f["ci_lower"] <= EFFECT <= f["ci_upper"])
    mc = lambda p: np.sqrt(p * (1 - p) / R)  # noqa: E731
    pa, pc = float(np.mean(cover["auto"])), float(np.mean(cover["cluster"]))
    print(f"{R:,} simulated panels: {G} areas ({TREATED} in the programme), {T} periods, "
          f"{PEOPLE} people per area; true effect {EFFECT}")
    print("coverage of the true effect by the 95% interval of estimate(method='did') (MCSE)")
    print(f"  se='cluster' (cluster-robust CRV1, normal): {pc:.3f} ({mc(pc):.3f})")
    print(f"  se='auto' (wild cluster restricted bootstrap, chosen below 30 clusters): "
          f"{pa:.3f} ({mc(pa):.3f})")
    print(f"run time {time.perf_counter() - t0:,.0f} s")


if __name__ == "__main__":
    main()
