"""Multiple imputation: R mice's pooled figures on the shared example, reproducibility, errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.exceptions import CovariateError, MissingColumnError, MissingValueError, OptionError
from pbr_eval.imputation import from_completed
from pbr_eval.inference.rubin import barnard_rubin_df, pool_scalar
from pbr_eval.results import Results

REF = Path(__file__).parent / "reference" / "r_mice"
_spec = importlib.util.spec_from_file_location("r_mice_reference", REF / "make_reference.py")
assert _spec is not None and _spec.loader is not None
mr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mr)

QUANTITIES = ("estimate", "std_error", "df", "fmi", "riv", "within", "between")


@pytest.fixture(scope="module")
def example() -> pd.DataFrame:
    return mr.shared_example()


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    return pd.read_csv(REF / "imputed_cells.csv")


@pytest.fixture(scope="module")
def pooled_r(example: pd.DataFrame, cells: pd.DataFrame) -> pbr_eval.ImputedResults:
    imp = from_completed(mr.completed_from_cells(example, cells), example, **mr.ROLES)
    return imp.estimate(method="regression", target="expected")


@pytest.mark.parametrize("row", pd.read_csv(REF / "pooled.csv").to_dict(orient="records"),
                         ids=lambda r: f"{r['outcome']}-{r['quantity']}")
def test_pooled_equals_r_mice_pool_scalar(pooled_r: pbr_eval.ImputedResults, row: dict) -> None:
    """Same imputations, regression adjustment in each, Rubin's rules: R mice to 1e-6 (relative)."""
    got = pooled_r.pooled(row["outcome"], row["quantity"])
    for q in QUANTITIES:
        assert getattr(got, q) == pytest.approx(row[q], rel=1e-6, abs=1e-12), q
    assert pooled_r.info["df_complete"] == row["dfcom"]


def test_per_imputation_estimates_equal_r(pooled_r: pbr_eval.ImputedResults) -> None:
    ref = pd.read_csv(REF / "per_imputation.csv")
    got = pooled_r.per_imputation()
    merged = ref.merge(got, on=["outcome", "imputation"], suffixes=("_r", ""))
    assert len(merged) == len(ref) == 2 * mr.M
    for c in ("non_intervention", "non_intervention_se", "effect", "std_error"):
        np.testing.assert_allclose(merged[c], merged[f"{c}_r"], rtol=1e-8)


def test_same_seed_gives_the_committed_imputations(example: pd.DataFrame,
                                                   cells: pd.DataFrame) -> None:
    imp = pbr_eval.impute(example, m=mr.M, seed=mr.SEED, **mr.ROLES)
    for c, part in cells.groupby("covariate"):
        for j, coh in enumerate(imp.cohorts, start=1):
            np.testing.assert_array_equal(coh.data.loc[part["row"].to_numpy(), c].to_numpy(),
                                          part[f"imp{j}"].to_numpy())
    # observed values untouched, outcomes and treatment never imputed
    for coh in imp.cohorts:
        seen = example["age"].notna()
        np.testing.assert_array_equal(coh.data.loc[seen, "age"], example.loc[seen, "age"])
        np.testing.assert_array_equal(coh.data["reoffended"], example["reoffended"])
    counts = imp.imputed.set_index("covariate")
    assert counts.loc["age", "n_imputed"] == int(example["age"].isna().sum())
    t = example["treated"] == 1
    assert counts.loc["age", "n_imputed_treated"] == int((example["age"].isna() & t).sum())
    other = pbr_eval.impute(example, m=2, seed=mr.SEED + 1, **mr.ROLES)
    assert not np.array_equal(other.cohorts[0].X, imp.cohorts[0].X)


def test_results_contract_round_trip_and_summary(pooled_r: pbr_eval.ImputedResults) -> None:
    again = Results.from_dict(pooled_r.to_dict())
    assert again.to_dict() == pooled_r.to_dict()
    assert again.to_frame().equals(pooled_r.to_frame())
    frame = pooled_r.to_frame()
    assert list(frame.columns) == [c.name for c in pooled_r.schema]
    p = pooled_r.pooled("reoffended")
    assert frame.loc[0, "non_intervention_ci_lower"] < p.estimate < frame.loc[0,
                                                                              "non_intervention_ci_upper"]
    text = pooled_r.summary()
    assert "pooled over 5 imputations" in text and "fraction of missing information" in text
    assert "Values imputed: age" in text
    assert len(pooled_r.balance()) == mr.M * 8


def test_rubin_rules_by_hand() -> None:
    q, u = [0.30, 0.34, 0.31, 0.33], [0.0004, 0.0005, 0.0004, 0.0006]
    p = pool_scalar(q, u, df_complete=100)
    b = np.var(q, ddof=1)
    assert p.estimate == pytest.approx(np.mean(q))
    assert p.total == pytest.approx(np.mean(u) + 1.25 * b)
    lam = 1.25 * b / p.total
    df_old = 3 / lam**2
    df_obs = 101 / 103 * 100 * (1 - lam)
    assert p.df == pytest.approx(df_old * df_obs / (df_old + df_obs))
    assert barnard_rubin_df(4, b, p.total) == pytest.approx(df_old)
    # imputations that agree: lambda floored, df close to the complete-data df
    same = pool_scalar([0.3, 0.3], [0.01, 0.01], df_complete=50)
    assert same.between == 0 and 40 < same.df < 50 and same.fmi < 0.05
    with pytest.raises(ValueError, match="at least 2 imputations"):
        pool_scalar([0.3], [0.01])
    with pytest.raises(ValueError, match="finite and non-negative"):
        pool_scalar([0.3, 0.4], [0.01, -1])


def test_errors_name_the_column_or_option(example: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="`m` must be"):
        pbr_eval.impute(example, m=1, **mr.ROLES)
    with pytest.raises(MissingColumnError, match="agee"):
        pbr_eval.impute(example, **{**mr.ROLES, "covariates": ["agee", "sex"]})
    text_gap = example.assign(sex=example["sex"].where(example.index % 7 != 0))
    with pytest.raises(CovariateError, match="Covariate 'sex' is text with"):
        pbr_eval.impute(text_gap, **mr.ROLES)
    with pytest.raises(MissingValueError, match="nothing to impute"):
        pbr_eval.impute(example.fillna(30), **mr.ROLES)
    with pytest.raises(OptionError, match="one row per person"):
        pbr_eval.impute(example, period="year", **mr.ROLES)
    with pytest.raises(OptionError, match="unexpected keyword.*caliper"):
        pbr_eval.impute(example, caliper=0.2, **mr.ROLES)
    with pytest.raises(OptionError, match="changes .* observed values of 'age'"):
        shifted = example.assign(age=example["age"] + 1).fillna(30)
        from_completed([shifted, shifted], example, **mr.ROLES)
    with pytest.raises(OptionError, match="at least 2 data sets"):
        from_completed([example], example, **mr.ROLES)


def test_missing_outcome_rows_follow_missing_option(example: pd.DataFrame) -> None:
    gap = example.assign(reoffended=example["reoffended"].where(example.index % 50 != 1))
    with pytest.raises(MissingValueError, match="'reoffended'"):
        pbr_eval.impute(gap, m=2, seed=1, iterations=2, **mr.ROLES)
    imp = pbr_eval.impute(gap, m=2, seed=1, iterations=2, missing="drop", **mr.ROLES)
    assert imp.cohorts[0].n_dropped == 40
    assert not np.isnan(imp.cohorts[0].X).any()


def test_cohort_missing_impute_points_to_impute(example: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match=r"missing='impute' makes several completed cohorts.*"
                                          r"pbr_eval\.impute\(data"):
        pbr_eval.Cohort(example, missing="impute", **mr.ROLES)


def test_report_section_pooled_figures_and_small_counts_suppressed(
        example: pd.DataFrame, tmp_path: Path) -> None:
    """The section shows the pooled figures; a small count of imputed values is suppressed."""
    t = example["treated"].to_numpy() == 1
    gap = example.fillna({"age": 35.0, "prior_offences": 3.0})
    gap.loc[np.flatnonzero(t)[:3], "age"] = np.nan        # 3 participants: below the threshold
    gap.loc[np.flatnonzero(~t)[:60], "age"] = np.nan
    pooled = pbr_eval.impute(gap, m=2, seed=3, iterations=2, **mr.ROLES).estimate(method="ipw")
    complete = pbr_eval.estimate(pbr_eval.Cohort(gap, missing="drop", **mr.ROLES),
                                 method="ipw")
    out = pbr_eval.report(complete, tmp_path / "pilot.md", imputation=pooled)
    text = Path(out[0]).read_text(encoding="utf-8")
    part = text[text.index("Missing covariates: multiple imputation"):]
    part = part[:part.index("\n## ")]
    row = next(line for line in part.splitlines() if line.startswith("| age |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "\\[c\\]" and "3" not in cells[1:3], row   # treated count hidden
    # secondary suppression: comparison and total are not both shown (3 = total - comparison)
    assert "\\[c\\]" in (cells[2], cells[3]), row
    shown = f"{pooled.to_frame().loc[0, 'non_intervention']:.1%}"
    assert shown in part and "fraction of missing information" in part
    with pytest.raises(OptionError, match="`imputation` must be the ImputedResults"):
        pbr_eval.report(complete, tmp_path / "bad.md", imputation=complete)


def test_reduced_coverage_and_complete_case_bias() -> None:
    """A reduced benchmarks/validate_imputation.py (committed output there): with 20% of two
    covariates missing at random depending on the outcome, the imputed estimate is close to
    the truth and covers it, while the complete cases are biased downwards."""
    spec = importlib.util.spec_from_file_location(
        "validate_imputation", Path(__file__).parents[1] / "benchmarks" / "validate_imputation.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    frame = bench.run(replicates=12, n_treated=150, n_comparison=1000, m=3)
    table = bench.summarise(frame).set_index("approach")
    imputed, cc = table.loc["imputed"], table.loc["complete cases"]
    assert abs(imputed["bias"]) < 3 * imputed["bias_mc_se"] + 0.01
    assert cc["bias"] < -0.04 and cc["bias"] < imputed["bias"] - 0.03
    assert imputed["coverage"] >= 10 / 12


def test_same_seed_same_imputations_whatever_the_blas_threads(tmp_path) -> None:
    """Predictive mean matching turns a last-digit rounding difference into another donor;
    impute() runs its linear algebra on one BLAS thread, so 1 or 2 threads give equal numbers
    (before the fix the docs example gave 0.3037 on 2 threads and 0.3047 on 1)."""
    import ast
    import os
    import subprocess
    import sys

    code = (
        "import pbr_eval\n"
        "from pbr_eval.datasets import load_reoffending\n"
        "sim = load_reoffending()\n"
        "data = pbr_eval.add_missing(sim.data, ['age', 'prior_offences'], share=0.2, seed=1,\n"
        "                            depends_on=['reoffended', 'sentence_months'])\n"
        "imp = pbr_eval.impute(data, m=2, seed=2026, iterations=3, **sim.cohort_args)\n"
        "print(repr(imp.estimate(method='regression').to_frame()['non_intervention'].tolist()))\n"
    )
    outs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, cwd=tmp_path, check=True)
        outs.append(run.stdout.strip())
    one, two = (np.array(ast.literal_eval(o)) for o in outs)  # floats printed by repr
    # the estimator's own sums may round in the last digit; a different donor moves the
    # rate by about 1e-3
    np.testing.assert_allclose(one, two, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("n", "n_obs", "levels", "k"), [(600, 400, 6, 3), (2000, 1600, 40, 2)])
def test_donors_do_not_move_with_last_digit_noise(n: int, n_obs: int, levels: int, k: int) -> None:
    """Another processor's rounding of the imputation model (coefficients off by 1e-14,
    relative) picks the same donors. Integer covariates make exact midpoints (a missing
    row's pattern x has observed neighbours x - e and x + e at equal distances in exact
    arithmetic) that the last digit would otherwise decide: statsmodels' own rule (plain
    argsort of unrounded predictions) moved 245 and 1,445 donors over these 50 trials."""
    from pbr_eval.imputation import pmm_donors

    x = np.random.default_rng(4).integers(0, levels, size=(n, k)).astype(float)
    coef = np.array([0.3137, -1.7021, 2.9114])[:k]
    pred = x @ coef + 40.0
    base = pmm_donors(pred[:n_obs], pred[n_obs:], 5, np.random.default_rng(1))
    moved = 0
    for trial in range(50):
        z = np.random.default_rng(100 + trial).standard_normal(k + 1)
        p = x @ (coef * (1 + 1e-14 * z[:k])) + 40.0 * (1 + 1e-14 * z[k])
        moved += int((pmm_donors(p[:n_obs], p[n_obs:], 5, np.random.default_rng(1)) != base).sum())
    assert moved == 0


def test_donors_are_among_the_nearest() -> None:
    from pbr_eval.imputation import pmm_donors

    obs = np.arange(100, dtype=float)
    got = pmm_donors(obs, np.array([10.2, 50.0, -3.0, 200.0]), 3, np.random.default_rng(0))
    assert got[0] in (9, 10, 11) and got[1] in (49, 50, 51)
    assert got[2] in (0, 1, 2) and got[3] in (97, 98, 99)
