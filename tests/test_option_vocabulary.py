"""One option vocabulary (issue 13.6): `se=` names say what they are, old spellings
keep working for one release with a DeprecationWarning that names the new one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pbr_eval import (
    CoarsenedExactMatching,
    Cohort,
    ExactMatching,
    NearestNeighborMatching,
    OptimalMatching,
    Subclassification,
)
from pbr_eval.datasets import simulate
from pbr_eval.exceptions import OptionError
from pbr_eval.options import SE_DESCRIPTIONS, SE_KINDS, renamed_keyword, warn_renamed


@pytest.fixture(scope="module")
def sim():
    return simulate("reoffending", n_treated=150, n_comparison=1500, seed=3)


@pytest.fixture(scope="module")
def cohort(sim):
    return Cohort(sim.data, **sim.cohort_args)


MATCHED_SET = {
    "nearest": NearestNeighborMatching,
    "optimal": OptimalMatching,
    "exact": ExactMatching,
    "cem": CoarsenedExactMatching,
    "subclass": Subclassification,
}


@pytest.mark.parametrize("cls", MATCHED_SET.values(), ids=MATCHED_SET.keys())
def test_old_cluster_spelling_means_matched_set_with_a_warning(cls, cohort, sim):
    with pytest.warns(DeprecationWarning, match=r"`se='cluster'` is deprecated: use "
                                                r"`se='matched_set'`"):
        old = cls(se="cluster")
    assert old.se == "matched_set"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = cls(se="matched_set")
    if cls is OptimalMatching:  # O(n^3): a smaller cohort
        cohort = cohort.take(np.flatnonzero(cohort.t | (np.arange(cohort.n) % 4 == 0)))
    if cls is ExactMatching:  # strata on categorical covariates
        cohort = Cohort(sim.data, **{**sim.cohort_args, "covariates": ["sex", "offence_type"]})
    a, b = old.fit(cohort), new.fit(cohort)
    assert a.info["se"] == b.info["se"] == "matched_set"
    for x, y in zip(a.estimates, b.estimates, strict=True):
        assert (x.std_error, x.se_method) == (y.std_error, y.se_method)
        assert "matched set" in x.se_method


def test_matched_set_is_the_default_without_replacement(cohort):
    assert NearestNeighborMatching().fit(cohort).info["se"] == "matched_set"
    assert NearestNeighborMatching(replace=True).fit(cohort).info["se"] == "HC3"


def test_every_se_name_is_described():
    assert set(SE_DESCRIPTIONS) == set(SE_KINDS)


def test_unknown_se_lists_the_new_names():
    with pytest.raises(OptionError, match=r"`se` must be one of 'auto', 'matched_set', 'HC3'"):
        NearestNeighborMatching(se="pair")


def test_renamed_keyword_helper():
    with pytest.warns(DeprecationWarning, match=r"`value` is deprecated: use `value_per_outcome`"):
        assert renamed_keyword({"value": 5.0}, "value", "value_per_outcome", None, None) == 5.0
    assert renamed_keyword({}, "value", "value_per_outcome", 3.0, None) == 3.0
    with pytest.raises(OptionError, match=r"`value` is the old name of `value_per_outcome`; "
                                          r"pass only `value_per_outcome` \(got both\)"):
        renamed_keyword({"value": 5.0}, "value", "value_per_outcome", 3.0, None)
    with pytest.warns(DeprecationWarning, match="removed after version 0.2"):
        warn_renamed("a", "b")


def test_propensity_names_the_model_everywhere(cohort):
    # every estimator that fits a propensity model takes it as `propensity=`
    from sklearn.linear_model import LogisticRegression

    from pbr_eval import ESTIMATORS

    takers = sorted(m for m, c in ESTIMATORS.items() if "propensity" in c.option_names())
    assert takers == ["aipw", "ipw", "ipwra", "nearest", "optimal", "subclass"]
    clf = LogisticRegression(C=0.5, max_iter=500)
    new = NearestNeighborMatching(propensity=clf)
    with pytest.warns(DeprecationWarning, match=r"`distance=<classifier>` is deprecated: use "
                                                r"`propensity=<classifier>, distance='glm'`"):
        old = NearestNeighborMatching(distance=clf)
    assert (old.distance, old.propensity) == ("glm", clf)
    a, b = old.fit(cohort), new.fit(cohort)
    assert a.to_frame().equals(b.to_frame())
    with pytest.raises(OptionError, match="pass the model once, as `propensity`"):
        NearestNeighborMatching(distance=clf, propensity=clf)
    with pytest.warns(DeprecationWarning, match=r"`propensity=None` is deprecated: use "
                                                r"`propensity='logit'`"):
        assert Subclassification(propensity=None).propensity == "logit"
    with pytest.raises(OptionError, match="`propensity` must be 'logit'"):
        Subclassification(propensity="probit")
