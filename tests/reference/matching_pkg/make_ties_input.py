"""Input for the tied-score Abadie-Imbens reference (make_ties_reference.R).

The tie-free input (ai_input.csv, from make_input.py) plus "twins": for 80 comparison units
that the 1:1 matching with replacement uses, and 40 that it does not, a second comparison
unit with exactly the same score and its own outcomes. The twins are marked eligible = 0 and
barred from being matched (R: `restrict`; pbr_eval: `exact=["eligible"]`), so the matching is
the tie-free one and the ties meet only the variance step: each twinned comparison unit's
conditional variance comes from its nearest *other* comparison unit, its twin at distance 0
(not itself), and a unit whose nearest neighbour has a twin has two neighbours at the
nearest distance (R's `Matching` takes the sample variance over both and the unit). Run from
the repository root:

    python tests/reference/matching_pkg/make_ties_input.py
    Rscript tests/reference/matching_pkg/make_ties_reference.R
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent


def main() -> None:
    from pbr_eval import Cohort
    from pbr_eval.estimators.matching import NearestNeighborMatching

    d = pd.read_csv(OUT / "ai_input.csv")
    cohort = Cohort(d, treatment="treat", outcome=["reoffended", "reconviction_events"],
                    covariates=["ps"])
    res = NearestNeighborMatching(distance=d["ps"], replace=True).fit(cohort)
    w = res.weights.to_numpy()
    control = (d["treat"] == 0).to_numpy()
    matched = np.flatnonzero(control & (w > 0))
    unmatched = np.flatnonzero(control & (w == 0))
    rng = np.random.default_rng(20260307)
    src = np.sort(np.r_[rng.choice(matched, 80, replace=False),
                        rng.choice(unmatched, 40, replace=False)])
    twins = d.iloc[src].copy()
    twins["reoffended"] = rng.integers(0, 2, src.size).astype(float)
    twins["reconviction_events"] = rng.poisson(1.0, src.size).astype(float)
    out = pd.concat([d.assign(eligible=1), twins.assign(eligible=0)], ignore_index=True)
    out["ps"] = [f"{v:.17g}" for v in out["ps"]]
    out.to_csv(OUT / "ai_ties_input.csv", index=False)


if __name__ == "__main__":
    main()
