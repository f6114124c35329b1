"""Few-cluster intervals of the cohort's own rate over a grid of areas and area effects.

The coverage table (``docs/validation.md``) scores every interval of ``ipw``, ``regression``,
``aipw`` and ``ipwra`` against the simulated cohort's *own* rate and effect (the truth a
commissioner pays on). Its default interval (``to_frame()``) uses ``cohort_std_error`` for
the rate and the effect alike. Below ``options.FEW_CLUSTERS`` clusters the effect's interval
is the wild cluster restricted bootstrap's, ``r`` times as wide as the cluster-robust normal
one, and the cohort standard error is widened with it.

For each cell of a grid (number of areas x the sd of the area effect) this script simulates
cohorts, fits ``ipw`` (ATT) with ``se="cluster"``, ``se="robust"`` and ``se="auto"`` (the wild
bootstrap below 30 areas; seed 1) and reports, for each outcome, the coverage (Monte Carlo
SE) of the cohort's own non-intervention rate by

* ``CRV``: the cluster-robust cohort interval (``se="cluster"``; ``to_frame()``'s rate
  interval, on the logit / log scale);
* ``whole x r``: the cohort SE multiplied by ``r`` as a whole (the rule before 2026-12-04);
* ``default``: ``se="auto"`` (pbr_eval's rule: only the part of the cohort variance that is
  not the cohort's own outcome noise ``sum_T v(X) / n1^2``, which the outcome model gives,
  is multiplied by ``r^2``; checked against that formula in every cohort);
* ``wild itself``: the wild bootstrap's own interval of the effect
  (``info["few_clusters"]``), scored against the cohort's own effect;
* ``part x r`` (a rejected candidate): only the cluster-summed part of the cohort variance
  (the comparison-side influences, summed by area) multiplied by ``r^2``, the area-variance
  correction and the cohort's own outcome noise left as they are;

and, to say why: each interval's mean SE over the spread of the errors (``se/sd``), the mean
shares of the cohort variance of the cluster-summed part and of the cohort's own outcome
noise, the mean ``r``, and the mean ratio of the cluster-robust cohort SE to the
unclustered (``se="robust"``) one.

Designs: ``reoffending`` is the table's scenario (300 treated, 3,000 comparison; every area
recruits in proportion to its size, area shares ~ k^-0.7, so area effects largely cancel
between the estimate and the cohort's own rate), with ``n_areas`` and the outcome's
``area_sd`` (logit scale) set per cell; ``concentrated`` is
``benchmarks/validate_weighting_few_clusters.py``'s design (a third of the areas recruit far
more, so they do not cancel; continuous outcome, true effect 0.4 for everyone) with its area
sd set per cell.

    python benchmarks/validate_few_clusters_grid.py [--replicates 200] [--areas 12,20,29]
        [--sds 0,0.15,0.5] [--designs reoffending,concentrated]

Committed output: benchmarks/results/validate_few_clusters_grid.txt; the 29-area, sd 0.5
reoffending cell on 600 cohorts (``--replicates 600 --areas 29 --sds 0.5 --designs
reoffending``, ``record.py --name validate_few_clusters_grid_29``):
benchmarks/results/validate_few_clusters_grid_29.txt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import pbr_eval
import pbr_eval.estimators._outcome_se as outcome_se
from pbr_eval.datasets import simulate
from pbr_eval.inference.influence import influence_covariance
from pbr_eval.inference.intervals import rate_interval

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validate_weighting_few_clusters import EFFECT, cohort as concentrated_cohort  # noqa: E402

Z = 1.959963984540054
SEED = 20261122

# --- the candidate's split of the cohort variance (read, never changed) ------------------
_PARTS: list[tuple[float, float, float]] = []
_cohort_variance = outcome_se.cohort_variance


def _recording_cohort_variance(phi0: np.ndarray, mu0: float, noise: Any, *,
                               cluster: np.ndarray | None) -> float:
    """pbr_eval's cohort variance, unchanged; records its parts beside it.

    (cluster-summed part, the cohort's own outcome noise ``sum_T v(X) / n1^2``, the variance)
    """
    var = _cohort_variance(phi0, mu0, noise, cluster=cluster)
    tt = np.asarray(noise.treated, dtype=bool)
    n1 = float(tt.sum())
    a = phi0 - np.where(tt, (noise.m0 - mu0) / n1, 0.0)
    own = float(np.sum(noise.v0, where=tt)) / n1**2
    _PARTS.append((float(influence_covariance(a, cluster)[0, 0]), own, var))
    return var


outcome_se.cohort_variance = _recording_cohort_variance  # type: ignore[assignment]


def fits(c: pbr_eval.Cohort) -> tuple[Any, Any, Any, list[tuple[float, float, float]]]:
    """``se="cluster"`` (with its variance parts), ``se="robust"`` and ``se="auto"`` fits."""
    _PARTS.clear()
    crv = pbr_eval.estimate(c, method="ipw", se="cluster")
    parts = list(_PARTS)
    rob = pbr_eval.estimate(c, method="ipw", se="robust")
    auto = pbr_eval.estimate(c, method="ipw", seed=1)
    return crv, rob, auto, parts


def one_cell(design: str, G: int, sd: float, R: int) -> pd.DataFrame:
    """Per cohort and outcome: truths, errors, SEs and whether each interval covers."""
    rows = []
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(SEED).spawn(R)]
    rng = np.random.default_rng(SEED)
    for rep, seed in enumerate(seeds):
        if design == "reoffending":
            sim = simulate("reoffending", n_treated=300, n_comparison=3000, seed=seed,
                           n_areas=G, outcome={"reoffended": {"area_sd": sd}})
            c = pbr_eval.Cohort(sim.data, **sim.cohort_args)
            truth = sim.truth
        else:
            c = concentrated_cohort(rng, G, 60, area_sd=sd)
            truth = None
        crv, rob, auto, parts = fits(c)
        f_crv, f_auto = crv.to_frame(), auto.to_frame()
        for k, e in enumerate(crv.estimates):
            o = e.outcome
            if truth is not None:
                t_ni, t_eff = truth.loc[o, "non_intervention"], truth.loc[o, "effect"]
            else:  # the same effect for everyone: the cohort's own effect is EFFECT
                t_eff = EFFECT
                t_ni = e.observed - EFFECT
            w = auto.estimates[k]
            rec = auto.info["few_clusters"][o]
            clustered, own, var = parts[k]
            r = w.std_error / e.std_error
            se_part = float(np.sqrt(max(var + (r**2 - 1) * clustered, 0.0)))
            lo_p, hi_p = rate_interval(e.non_intervention, se_part, 0.95, e.outcome_type)
            se_rest = float(np.sqrt(var + (r**2 - 1) * max(var - own, 0.0)))
            if not np.isclose(se_rest, w.cohort_std_error, rtol=1e-9):
                raise AssertionError(f"se='auto' gave {w.cohort_std_error}, the rule {se_rest}")
            se_whole = e.cohort_std_error * r
            lo_r, hi_r = rate_interval(e.non_intervention, se_whole, 0.95, e.outcome_type)

            def covers(frame: pd.DataFrame, k: int = k, t_ni: float = t_ni) -> bool:
                row = frame.iloc[k]
                return bool(row["non_intervention_ci_lower"] <= t_ni
                            <= row["non_intervention_ci_upper"])

            rows.append({
                "outcome": o, "err": e.non_intervention - t_ni,
                "se_crv": e.cohort_std_error, "se_auto": w.cohort_std_error, "se_part": se_part,
                "se_whole": se_whole,
                "cov_crv": covers(f_crv), "cov_auto": covers(f_auto),
                "cov_part": bool(lo_p <= t_ni <= hi_p),
                "cov_whole": bool(lo_r <= t_ni <= hi_r), "own": own / var if var > 0 else np.nan,
                "cov_wild": bool(rec["lower"] <= t_eff <= rec["upper"]),
                "share": clustered / var if var > 0 else np.nan, "r": r,
                "crv_over_robust": e.cohort_std_error / rob.estimates[k].cohort_std_error,
            })
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--areas", default="12,20,29")
    ap.add_argument("--sds", default="0,0.15,0.5")
    ap.add_argument("--designs", default="reoffending,concentrated")
    a = ap.parse_args()
    warnings.simplefilter("ignore")  # overlap warnings of the concentrated design, counted there
    R = a.replicates
    areas = [int(x) for x in a.areas.split(",")]
    sds = [float(x) for x in a.sds.split(",")]
    t0, c0 = time.perf_counter(), time.process_time()
    print(f"ipw (ATT), {R} simulated cohorts per cell (seed {SEED}); coverage of the cohort's own "
          "rate by the 95% interval (Monte Carlo SE); se/sd: mean SE over the errors' sd")
    print("columns: CRV | whole x r (before 2026-12-04) | default (se='auto') | wild itself "
          "(effect) | part x r (rejected) | shares of the cohort variance: summed by area, the "
          "cohort's own outcome noise | mean r | CRV/robust cohort SE")
    for design in a.designs.split(","):
        for G in areas:
            for sd in sds:
                cell = one_cell(design, G, sd, R)
                for o, g in cell.groupby("outcome", sort=False):
                    s = float(g["err"].std())

                    def cov(col: str, g: pd.DataFrame = g) -> str:
                        p = float(g[col].mean())
                        return f"{p:.3f} ({np.sqrt(p * (1 - p) / len(g)):.3f})"

                    def ratio(col: str, g: pd.DataFrame = g, s: float = s) -> str:
                        return f"{g[col].mean() / s:.2f}"

                    print(f"{design:<12} G={G:<2} sd={sd:<4} {o:<19} CRV {cov('cov_crv')} "
                          f"se/sd {ratio('se_crv')} | whole x r {cov('cov_whole')} se/sd "
                          f"{ratio('se_whole')} | default {cov('cov_auto')} se/sd "
                          f"{ratio('se_auto')} | wild itself {cov('cov_wild')} | part x r "
                          f"{cov('cov_part')} se/sd {ratio('se_part')} | shares "
                          f"{g['share'].mean():.2f} {g['own'].mean():.2f} | r "
                          f"{g['r'].mean():.3f} | CRV/robust "
                          f"{g['crv_over_robust'].mean():.3f}", flush=True)
    print(f"run time {time.perf_counter() - t0:,.0f} s wall, {time.process_time() - c0:,.0f} s "
          f"CPU; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
