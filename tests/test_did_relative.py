"""Relative magnitudes (Rambachan & Roth 2023, Delta^RM): references, known truth, wiring, report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_did_sensitivity import REF, _medicaid

import pbr_eval
from pbr_eval.estimators.did_relative import (
    _accepts,
    relative_magnitudes_breakdown,
    relative_magnitudes_ci,
    rm_identified_set,
    rm_polyhedra,
)
from pbr_eval.estimators.did_sensitivity import parallel_trends_sensitivity
from pbr_eval.exceptions import OptionError


def _sig3(x: float) -> str:
    return f"{x:.3g}"


def _published(grid: str) -> pd.DataFrame:
    pub = pd.read_csv(REF / "published.csv", dtype={"lower": str, "upper": str})
    return pub[(pub["restriction"] == "relative_magnitudes") & (pub["grid"] == grid)]


@pytest.mark.parametrize("row", _published("zero").to_dict("records"), ids=lambda r: str(r["bound"]))
def test_medicaid_equals_honestdid_2023_readme_at_printed_precision(row: dict) -> None:
    """HonestDiD's code grid (-20 to +20 SE): every end equals the README of Oct 2023 as printed."""
    b, S = _medicaid()
    ci = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=float(row["bound"]), grid="zero")
    assert _sig3(ci.lower) == _sig3(float(row["lower"]))
    assert _sig3(ci.upper) == _sig3(float(row["upper"]))


@pytest.mark.parametrize("row", _published("identified").to_dict("records"),
                         ids=lambda r: str(r["bound"]))
def test_medicaid_within_one_grid_step_of_current_readme(row: dict) -> None:
    """The documented grid (identified set +/- 20 SE, the README since 2024): ends within one step.

    The README's least-favourable critical value came from 1,000 draws of R's generator
    (unseeded then): an end moves by one grid step between draws, as ours do between seeds.
    Five of the eight printed ends are equal at printed precision with the default seed.
    """
    b, S = _medicaid()
    ci = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=float(row["bound"]))
    assert abs(ci.lower - float(row["lower"])) <= ci.grid_step * 1.01 + 5e-6
    assert abs(ci.upper - float(row["upper"])) <= ci.grid_step * 1.01 + 5e-6


def test_medicaid_readme_ends_are_among_the_1000_draw_outcomes() -> None:
    """With R's 1,000 draws, some seeds give exactly the current README's ends (Mbar 1.5 and 2)."""
    b, S = _medicaid()
    seen: dict[float, set[str]] = {1.5: set(), 2.0: set()}
    for seed in range(12):
        for M in seen:
            ci = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=M, seed=seed, draws=1000)
            seen[M].add(f"{_sig3(ci.lower)} {_sig3(ci.upper)}")
    assert "0.00859 0.0796" in seen[1.5]
    assert "-0.00107 0.0883" in seen[2.0]


def test_identified_set_matches_readme_grid_and_hand_example() -> None:
    b, S = _medicaid()
    lo, hi = rm_identified_set(b, n_pre=5, n_post=2, Mbar=2.0)
    sd = np.sqrt(S[5, 5])
    grid = np.linspace(lo - 20 * sd, hi + 20 * sd, 1000)
    # the README's -0.00107 and 0.0883 are points of this grid (to printed precision)
    assert min(abs(grid - -0.00107)) < 5e-6 and min(abs(grid - 0.0883)) < 5e-5
    # one pre step of -0.1: the post step may be up to Mbar x 0.1 either way
    assert rm_identified_set([0.0, -0.1, 0.5], n_pre=2, n_post=1, Mbar=1.0) == pytest.approx(
        (0.4, 0.6))


def test_against_python_port_when_its_values_are_committed() -> None:
    """honestdid 0.1.1 (tests/reference/honestdid/make_relative_magnitudes.sh): the conditional
    test's kept grid points equal, the C-LF ends within one grid step (simulated first stage)."""
    path = REF / "relative_magnitudes.json"
    if not path.exists():
        pytest.fail("relative_magnitudes.json missing: run make_relative_magnitudes.sh")
    ref = json.loads(path.read_text())
    b, S = _medicaid()
    for case in ref["conditional"]:
        lv = np.array(case["l"])
        sd = float(np.sqrt(lv @ S[5:, 5:] @ lv))
        thetas = np.linspace(-20 * sd, 20 * sd, 1000)
        ours = np.flatnonzero(_accepts(b, S, 5, 2, lv, case["Mbar"], thetas, 0.95, 0, 0,
                                       "conditional"))
        assert ours.tolist() == case["accepted"], case["Mbar"]
    for case in ref["clf"]:
        ci = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=case["Mbar"], l=case["l"],
                                    grid="zero")
        assert abs(ci.lower - case["lower"]) <= ci.grid_step * 1.01
        assert abs(ci.upper - case["upper"]) <= ci.grid_step * 1.01


def test_medicaid_breakdown_between_readme_bounds() -> None:
    b, S = _medicaid()
    bd = relative_magnitudes_breakdown(b, S, n_pre=5, n_post=2)
    assert 1.5 < bd < 2.0       # README: significant at Mbar = 1.5, not at 2
    zero = np.zeros(1)
    lv = np.array([1.0, 0.0])
    assert not _accepts(b, S, 5, 2, lv, bd * 0.99, zero, 0.95, 0, 10_000)[0]
    assert _accepts(b, S, 5, 2, lv, bd * 1.01 + 0.002, zero, 0.95, 0, 10_000)[0]


def test_polyhedra_union_is_the_restriction() -> None:
    """delta in Delta^RM(Mbar) iff it satisfies some polyhedron's inequalities."""
    rng = np.random.default_rng(5)
    n_pre, n_post, Mbar = 3, 2, 1.3
    A = rm_polyhedra(n_pre, n_post, Mbar)
    for _ in range(2000):
        d = rng.normal(size=n_pre + n_post)
        full = np.r_[d[:n_pre], 0.0, d[n_pre:]]
        steps = np.diff(full)
        inside = np.all(np.abs(steps[n_pre:]) <= Mbar * np.abs(steps[:n_pre]).max())
        assert inside == any(np.all(a @ d <= 1e-12) for a in A)


def _ar(k: int, rho: float = 0.5, sd: float = 0.1) -> np.ndarray:
    i = np.arange(k)
    return sd**2 * rho ** np.abs(i[:, None] - i[None, :])


@pytest.mark.parametrize("kind", ["at_bound", "outside"])
def test_known_truth_coverage(kind: str) -> None:
    """Simulated event studies with a known violation: the true effect is kept at the level
    when the violation is inside Delta^RM(Mbar); far outside it, the test rejects it often."""
    n_pre, n_post, Mbar = 3, 2, 1.0
    S = _ar(n_pre + n_post)
    # pre-period steps of 0.1 (largest 0.1); post steps Mbar x 0.1 ("at_bound") or 4x that
    scale = 1.0 if kind == "at_bound" else 4.0
    delta_full = np.cumsum([0.0, 0.05, 0.1, 0.05])          # -3..0: steps 0.05, 0.1, 0.05
    delta_full = delta_full - delta_full[-1]
    post = np.cumsum([Mbar * 0.1 * scale] * n_post)
    delta = np.r_[delta_full[:-1], post]
    tau = np.r_[np.zeros(n_pre), 0.3, 0.4]
    rng = np.random.default_rng(11)
    L = np.linalg.cholesky(S)
    reps, kept = 300, 0
    for r in range(reps):
        b = tau + delta + L @ rng.standard_normal(n_pre + n_post)
        kept += bool(_accepts(b, S, n_pre, n_post, np.array([1.0, 0.0]), Mbar,
                              np.array([0.3]), 0.95, r, 2000)[0])
    cover = kept / reps
    se = np.sqrt(0.95 * 0.05 / reps)
    if kind == "at_bound":
        assert cover >= 0.95 - 3 * se
    else:
        assert cover < 0.6


def test_options_are_checked() -> None:
    b, S = _medicaid()
    with pytest.raises(OptionError, match="Mbar"):
        relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=-1)
    with pytest.raises(OptionError, match="grid"):
        relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=1, grid="wide")
    with pytest.raises(OptionError, match="method"):
        relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=1, method="FLCI")
    with pytest.raises(OptionError, match="post periods"):
        relative_magnitudes_ci(np.zeros(13), np.eye(13), n_pre=2, n_post=11, Mbar=1)
    with pytest.raises(OptionError, match="restriction"):
        parallel_trends_sensitivity(b, S, n_pre=5, n_post=2, restriction="monotone")


def test_same_seed_same_interval() -> None:
    b, S = _medicaid()
    a = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=1.5, seed=3)
    c = relative_magnitudes_ci(b, S, n_pre=5, n_post=2, Mbar=1.5, seed=3)
    assert (a.lower, a.upper) == (c.lower, c.upper)


# ------------------------------------------------------------------ the user's path
@pytest.fixture(scope="module")
def staggered_results() -> pbr_eval.CounterfactualResults:
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=600, seed=3)
    return pbr_eval.estimate(sim.cohort(), method="staggered_did", base_period="universal",
                             n_boot=0)


def test_staggered_event_study_feeds_the_analysis(staggered_results) -> None:
    st = staggered_results.extras["staggered"]
    ev = st.event_study()
    cov = st.event_cov["y"]
    assert np.allclose(np.sqrt(np.diag(cov)), ev["std_error"], rtol=1e-10)
    pt = pbr_eval.parallel_trends(staggered_results, bounds=[0.0, 1.0])
    k = int(np.flatnonzero(ev["event_time"] == -1)[0])
    keep = np.r_[0:k, k + 1:len(ev)]
    direct = parallel_trends_sensitivity(ev["estimate"].to_numpy()[keep], cov[np.ix_(keep, keep)],
                                         n_pre=k, n_post=len(ev) - k - 1, M=[0.0, 1.0],
                                         restriction="relative_magnitudes")
    assert np.allclose(pt.to_frame()["lower"], direct.to_frame()["lower"])
    assert pt.original["estimate"] == pytest.approx(float(ev.set_index("event_time").loc[0,
                                                                                         "estimate"]))


def test_a_saved_file_feeds_the_analysis_and_the_report(staggered_results, tmp_path) -> None:
    """A results file (to_json, `estimate --save`) keeps the roll-out's effects by group and
    period with the event-study covariance: the sensitivity analysis and the report's
    roll-out section come out the same from it."""
    from pbr_eval.results import Results

    path = tmp_path / "rollout.json"
    staggered_results.to_json(path)
    saved = Results.from_dict(json.loads(path.read_text(encoding="utf-8")))
    a = pbr_eval.parallel_trends(staggered_results, bounds=[0.0, 1.0], value_per_outcome=500)
    b = pbr_eval.parallel_trends(saved, bounds=[0.0, 1.0], value_per_outcome=500)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.breakdown == b.breakdown
    pbr_eval.report(json.loads(path.read_text(encoding="utf-8")), tmp_path / "r.md",
                    parallel_trends=b)
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Effects by summary" in text and "how far they may fail" in text
    # a file saved before the parts were kept still loads, without them
    old = {k: v for k, v in staggered_results.to_dict().items() if k != "parts"}
    with pytest.raises(OptionError, match="event study"):
        pbr_eval.parallel_trends(Results.from_dict(old))


def test_prices_follow_the_interval(staggered_results) -> None:
    pt = pbr_eval.parallel_trends(staggered_results, bounds=[0.0, 0.5, 1.0],
                                  value_per_outcome=1000, expected_rate=12.0)
    f = pt.to_frame()
    assert np.allclose(f["price"], np.maximum(0.0, 1000 * f["lower"] / 12.0))
    assert np.allclose(f["non_intervention_upper"], 12.0 - f["lower"])
    assert pt.info["ordinary_price"] == pytest.approx(1000 * pt.original["lower"] / 12.0)
    assert "£" in pt.summary() and "deadweight" in pt.summary()


def test_user_path_errors(staggered_results) -> None:
    from pbr_eval.datasets import load_families, simulate_staggered

    sim = simulate_staggered(n_units=300, seed=4)
    varying = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=0)
    with pytest.raises(OptionError, match="base_period"):
        pbr_eval.parallel_trends(varying)
    fam = load_families()
    post = pbr_eval.Cohort(fam.data, **fam.cohort_args).at_period(1)
    with pytest.raises(OptionError, match="difference-in-differences"):
        pbr_eval.parallel_trends(pbr_eval.estimate(post, method="ipw"))
    with pytest.raises(OptionError, match="binary"):
        pbr_eval.parallel_trends(staggered_results, value_per_outcome=100, better="lower")
    with pytest.raises(OptionError, match="target"):
        pbr_eval.parallel_trends(staggered_results, target="last")
    with pytest.raises(OptionError, match="expected_rate"):
        pbr_eval.parallel_trends({"betahat": [0.0, 0.0, 1.0], "sigma": np.eye(3) * 0.01,
                                  "n_pre": 2, "n_post": 1}, value_per_outcome=100)


def test_twfe_event_study_feeds_the_analysis() -> None:
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=300, seed=5)
    d = sim.data.copy()
    d = d[d["first_treated"].isin([0, 5])]          # one start: a plain event study
    d["treated"] = (d["first_treated"] == 5).astype(int)
    cohort = pbr_eval.Cohort(d, treatment="treated", outcome="y", covariates=["x1"],
                             unit_id="unit", period="period")
    res = pbr_eval.estimate(cohort, method="did", model="twfe", post=5)
    tab = res.extras["event_study"]["y"]
    cov = res.extras["event_study_cov"]["y"]
    assert np.allclose(np.sqrt(np.diag(cov)), tab["std_error"])
    pt = pbr_eval.parallel_trends(res, bounds=[0.0, 1.0], restriction="smoothness")
    assert pt.info["n_pre"] == 3 and pt.info["n_post"] == 4
    assert pt.to_frame()["lower"].iloc[0] < pt.original["estimate"]


def test_report_section_and_workbook(staggered_results, tmp_path) -> None:
    pt = pbr_eval.parallel_trends(staggered_results, value_per_outcome=1000, target="average")
    pbr_eval.report(staggered_results, tmp_path / "pilot.md", parallel_trends=pt)
    text = (tmp_path / "pilot.md").read_text()
    assert "## Parallel trends: how far they may fail" in text
    assert "times the largest departure between consecutive periods" in text
    assert "Price safe at this bound" in text and "£" in text
    pbr_eval.report(staggered_results, tmp_path / "pilot2.md")
    assert "## Parallel trends" not in (tmp_path / "pilot2.md").read_text()   # optional section
    with pytest.raises(OptionError, match="parallel_trends"):
        pbr_eval.report(staggered_results, tmp_path / "p.md", parallel_trends=staggered_results)
    saved = pbr_eval.results.base.Results.from_dict(pt.to_dict())
    assert saved.summary() == pt.summary()
