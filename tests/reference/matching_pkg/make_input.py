"""Input for the R `Matching` reference: the shipped reoffending data with pbr_eval's
propensity score, one row per person (no identifiers). Run from the repository root:

    python tests/reference/matching_pkg/make_input.py
    Rscript tests/reference/matching_pkg/make_reference.R
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pbr_eval import Cohort
from pbr_eval.datasets import load_reoffending
from pbr_eval.models.propensity import fit_propensity

OUT = Path(__file__).parent

sim = load_reoffending()
# 300 treated and 1,500 comparison people: `Matching` treats candidates whose squared
# standardised distances differ by less than 1e-10 as tied, and on the full 12,600 rows
# nearest distances are so small that near-ties are common.
rng = np.random.default_rng(20261122)
d = sim.data
keep = np.concatenate([
    rng.choice(np.flatnonzero(d["treated"] == 1), 300, replace=False),
    rng.choice(np.flatnonzero(d["treated"] == 0), 1500, replace=False),
])
cohort = Cohort(d.iloc[np.sort(keep)].reset_index(drop=True), **sim.cohort_args)
ps = fit_propensity(cohort, None).ps
# The shipped covariates repeat (integer ages, categories), so many people share a
# score, and `Matching` treats controls within 1e-10 (squared standardised distance) of
# the nearest as tied and averages over them, while MatchIt (and pbr_eval) take one.
# Seeded noise on the logit scale (SD 0.1) makes the scores continuous, so both
# packages face the same tie-free matching problem on this user-supplied score.
lin = np.log(ps / (1 - ps)) + 0.1 * rng.standard_normal(ps.size)
ps = 1 / (1 + np.exp(-lin))
pd.DataFrame({
    "treat": cohort.t.astype(int),
    "ps": [f"{v:.17g}" for v in ps],
    "reoffended": cohort.y("reoffended"),
    "reconviction_events": cohort.y("reconviction_events"),
}).to_csv(OUT / "ai_input.csv", index=False)
