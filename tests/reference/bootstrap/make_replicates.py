"""Bootstrap replicates frozen before the bootstrap moved out of ``inference/`` (issue 13.5).

Run from the repository root: ``python tests/reference/bootstrap/make_replicates.py``.
It writes ``replicates.json`` beside this file: for every case below, the
replicate array (and the jackknife and cohort-noise arrays where there are
any) of ``pbr_eval.bootstrap`` on small simulated cohorts. The file was made
with the code of commit 147311e (the last one with
``pbr_eval/inference/bootstrap.py``); ``tests/test_bootstrap_fixture.py``
re-runs every case with today's code and asks for the same numbers, value for
value (floats are written with ``repr``, which round-trips exactly).

The cases cover every resampling kind, the fast path of nearest-neighbour
matching (warm start, distinct-row propensity fit, slim replicate cohorts),
covariate-distance matching, the BCa jackknife (one-unit and grouped
blocks), a panel cohort and the smooth estimators.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import pbr_eval
from pbr_eval import Cohort
from pbr_eval.datasets import load_families, simulate

HERE = Path(__file__).resolve().parent

#: name -> (cohort name, method, estimator options, bootstrap options)
CASES: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "nearest_cluster": ("reoffending", "nearest", {}, {"kind": "cluster"}),
    "nearest_exact_cluster": ("reoffending", "nearest", {"exact": ["sex"]}, {"kind": "cluster"}),
    "nearest_calipers_unit": (
        "reoffending", "nearest", {"caliper": {"distance": 0.3, "age": 1.0}}, {"kind": "unit"}),
    "nearest_replace_stratified": (
        "reoffending", "nearest", {"replace": True, "ratio": 2}, {"kind": "stratified"}),
    "nearest_mahalanobis_unit": (
        "reoffending", "nearest", {"distance": "mahalanobis"}, {"kind": "unit"}),
    "nearest_comparison": ("reoffending", "nearest", {}, {"kind": "comparison"}),
    "nearest_pair_bca": ("reoffending", "nearest", {}, {"kind": "pair", "ci": "bca"}),
    "nearest_cluster_bca": ("reoffending", "nearest", {}, {"kind": "cluster", "ci": "bca"}),
    "nearest_unit_grouped_bca": (
        "reoffending", "nearest", {}, {"kind": "unit", "ci": "bca", "n_jackknife": 7}),
    "ipw_unit": ("reoffending", "ipw", {}, {"kind": "unit"}),
    "aipw_stratified": ("reoffending", "aipw", {}, {"kind": "stratified"}),
    "entropy_cluster": ("reoffending", "entropy", {}, {"kind": "cluster"}),
    "subclass_cluster": ("reoffending", "subclass", {}, {"kind": "cluster"}),
    "did_panel_unit": ("families", "did", {}, {"kind": "unit"}),
}

N_BOOT = 6
SEED = 2024


def cohorts() -> dict[str, Cohort]:
    sim = simulate("reoffending", n_treated=120, n_comparison=900, seed=21)
    fam = load_families()
    return {
        "reoffending": Cohort(sim.data, **sim.cohort_args),
        "families": Cohort(fam.data, **fam.cohort_args),
    }


def run(name: str, cohort: Cohort) -> dict[str, Any]:
    """The arrays of case ``name`` as nested lists (NaN kept)."""
    _, method, opts, boot_opts = CASES[name]
    est = pbr_eval.ESTIMATORS[method](**opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = pbr_eval.bootstrap(est, cohort, n_boot=N_BOOT, seed=SEED, progress=False,
                                  **boot_opts)
    out: dict[str, Any] = {"replicates": boot.replicates.tolist()}
    if boot.jackknife is not None:
        out["jackknife"] = boot.jackknife.tolist()
    if boot.cohort_noise is not None:
        out["cohort_noise"] = boot.cohort_noise.tolist()
    return out


def main() -> None:
    cs = cohorts()
    data = {name: run(name, cs[case[0]]) for name, case in CASES.items()}
    meta = {"n_boot": N_BOOT, "seed": SEED, "numpy": np.__version__,
            "pbr_eval": pbr_eval.__version__, "python": sys.version.split()[0]}
    text = json.dumps({"meta": meta, "cases": data}, indent=1)
    (HERE / "replicates.json").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(data)} cases to {HERE / 'replicates.json'}")


if __name__ == "__main__":
    main()
