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


def test_cash_flow_takes_the_pricing_names():
    from pbr_eval.pricing import cash_flow

    new = cash_flow(referrals=[10, 10], cost_per_participant=1000, price=3000,
                    expected_rate=0.5, outcome_lag=2, payment_lag=1)
    with pytest.warns(DeprecationWarning, match=r"`outcome_payment` is deprecated: use `price`"):
        old = cash_flow(referrals=[10, 10], cost_per_participant=1000, outcome_payment=3000,
                        expected_rate=0.5, outcome_lag=2, payment_lag=1)
    assert old.frame.equals(new.frame)
    assert new.info["price"] == 3000 and new.info["expected_rate"] == 0.5
    with pytest.warns(DeprecationWarning, match=r"`outcome_rate` is deprecated: use `expected_rate`"):
        cash_flow(referrals=[10], cost_per_participant=1, price=1, outcome_rate=0.5)
    with pytest.raises(OptionError, match=r"`outcome_payment` is the old name of `price`"):
        cash_flow(referrals=[10], cost_per_participant=1, price=1, outcome_payment=1,
                  expected_rate=0.5)
    with pytest.raises(OptionError, match=r"cash_flow\(\) got unknown option\(s\) 'rate'"):
        cash_flow(referrals=[10], cost_per_participant=1, price=1, rate=0.5)
    with pytest.raises(OptionError, match=r"cash_flow\(\) needs `expected_rate`"):
        cash_flow(referrals=[10], cost_per_participant=1, price=1)


def test_cli_flags_take_the_api_names(tmp_path, capsys):
    import json

    from pbr_eval import estimate, price
    from pbr_eval.cli import main
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    res = estimate(Cohort(sim.data, **sim.cohort_args))
    path = tmp_path / "results.json"
    res.to_json(str(path))
    args = ["price", str(path), "--better", "lower", "--outcome", "reoffended", "--json"]
    assert main([*args, "--value-per-outcome", "5000", "--cost-per-participant", "100"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main([*args, "--value", "5000", "--cost", "100"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == new
    assert "--value is deprecated: use --value-per-outcome" in captured.err
    assert "--cost is deprecated: use --cost-per-participant" in captured.err
    api = price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                cost_per_participant=100)
    assert new["prices"][0]["recommended"] == pytest.approx(
        float(api.to_frame()["recommended"].iloc[0]), rel=1e-12)
    assert main([*args, "--value", "5000", "--value-per-outcome", "5000"]) == 2
    assert "--value is the old name of --value-per-outcome" in capsys.readouterr().err
    assert main(args) == 2
    assert "Missing option '--value-per-outcome'" in capsys.readouterr().err


def test_defaults_are_named_once():
    # The defaults live in pbr_eval.options and the signatures read them from there.
    import inspect

    import pbr_eval
    from pbr_eval.options import (
        DEFAULT_DISCLOSURE_THRESHOLD,
        DEFAULT_LEVEL,
        DEFAULT_MIN_TREATED,
        DEFAULT_N_BOOT,
        SMD_THRESHOLD,
    )
    from pbr_eval.results.balance import BalanceTable

    assert (DEFAULT_LEVEL, SMD_THRESHOLD, DEFAULT_N_BOOT) == (0.95, 0.1, 999)
    rep = inspect.signature(pbr_eval.report).parameters
    assert rep["level"].default is DEFAULT_LEVEL
    assert rep["threshold"].default == DEFAULT_DISCLOSURE_THRESHOLD
    assert rep["min_cohort"].default == DEFAULT_MIN_TREATED
    assert inspect.signature(pbr_eval.bootstrap).parameters["n_boot"].default == DEFAULT_N_BOOT
    assert inspect.signature(BalanceTable).parameters["threshold"].default == SMD_THRESHOLD
