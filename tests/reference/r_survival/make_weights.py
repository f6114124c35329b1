"""Weights for the R survival reference: every weighting or matching estimator's weights.

Run from the repository root (writes ``weights_sim.csv`` and ``weights_rossi.csv`` here;
then ``Rscript tests/reference/r_survival/survival.R`` reads them)::

    python tests/reference/r_survival/make_weights.py

The weights are pbr_eval's own (the R script checks the curves, not the weights);
``tests/test_survival_curves.py`` checks that pbr_eval still produces exactly these
weights, so the reference stays tied to the code.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pbr_eval  # noqa: E402
from pbr_eval.datasets import load_reoffending_time  # noqa: E402

#: method label -> estimate() arguments.
SIM_METHODS = {
    "nearest": {"method": "nearest"},
    "nearest_replace3": {"method": "nearest", "replace": True, "ratio": 3},
    "ipw": {"method": "ipw"},
    "entropy": {"method": "entropy"},
    "subclass": {"method": "subclass"},
    "cem": {"method": "cem"},
}
ROSSI_METHODS = {
    "nearest": {"method": "nearest"},
    "ipw": {"method": "ipw"},
    "entropy": {"method": "entropy"},
    "subclass": {"method": "subclass"},
}
ROSSI_COVARIATES = ["age", "race", "wexp", "mar", "paro", "prio"]


def sim_cohort() -> pbr_eval.Cohort:
    """The shipped simulated cohort."""
    sim = load_reoffending_time()
    return pbr_eval.Cohort(sim.data, **sim.cohort_args)


def rossi_cohort() -> pbr_eval.Cohort:
    """Rossi et al.'s released prisoners: financial aid (``fin``) as the programme."""
    data = pd.read_csv(HERE / "rossi.csv")
    return pbr_eval.Cohort(
        data, treatment="fin", covariates=ROSSI_COVARIATES, time_to_event={
            "arrest": pbr_eval.TimeToEvent(time="week", event="arrest", window=52,
                                           unit="weeks")})


def weights(cohort: pbr_eval.Cohort, methods: dict[str, dict]) -> pd.DataFrame:
    """One column of weights per method, in the cohort's row order."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, args in methods.items():
            res = pbr_eval.estimate(cohort, **args)
            out[label] = res.weights.reindex(cohort.index).to_numpy(dtype=float)
    return pd.DataFrame(out, index=cohort.index)


def main() -> None:
    for name, cohort, methods in (("sim", sim_cohort(), SIM_METHODS),
                                  ("rossi", rossi_cohort(), ROSSI_METHODS)):
        frame = weights(cohort, methods)
        frame.insert(0, "row", range(1, len(frame) + 1))
        frame.to_csv(HERE / f"weights_{name}.csv", index=False, float_format="%.17g",
                     lineterminator="\n")
        print(f"wrote weights_{name}.csv ({len(frame)} rows)")


if __name__ == "__main__":
    main()
