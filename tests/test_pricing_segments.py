"""Differential tariffs equalise the provider's expected margin across groups (issue 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.datasets import load_families, load_reoffending
from pbr_eval.exceptions import ClaimError, NotViableError, OptionError
from pbr_eval.models.logit import fit_logit
from pbr_eval.pricing import differential_tariff, payment_groups, simulate_payments


def _p0_paid(cohort: Cohort, outcome: str, complement: bool) -> np.ndarray:
    """Outcome model fitted on the comparison group, predicted for the treated."""
    fit = fit_logit(cohort.X[~cohort.t], cohort.y(outcome)[~cohort.t])
    p = fit.predict(cohort.X[cohort.t])
    return 1.0 - p if complement else p


def _simulators():
    sim = load_reoffending()
    yield "reoffending", Cohort(sim.data, **sim.cohort_args), "reoffended", True
    fam = load_families()
    args = dict(fam.cohort_args, period=None, outcome=["adult_employed"])
    post = fam.data[fam.data["period"] == 1]
    yield "families", Cohort(post, **args), "adult_employed", False


@pytest.mark.parametrize("name,cohort,outcome,complement", list(_simulators()),
                         ids=["reoffending", "families"])
def test_differential_tariff_equalises_margin_on_simulators(name, cohort, outcome, complement):
    p0 = _p0_paid(cohort, outcome, complement)
    groups = payment_groups(p0, n_groups=4)
    dt = differential_tariff(p0, groups, effect=0.05, cost_per_participant=300.0,
                             flat_price=1500.0, outcome="paid")
    t = dt.table
    # analytic: equal within 1% (exactly, by construction)
    assert (t["margin"] - dt.margin).abs().max() <= 0.01 * abs(dt.margin)
    # the flat tariff's margins show the cherry-picking gap
    assert t["flat_margin"].max() - t["flat_margin"].min() > 0.10 * abs(dt.margin)
    assert t["flat_margin"].idxmax() == t["mean_p0"].idxmax()
    # budget neutral: same expected total as the flat price
    assert (t["price"] * t["expected_rate"] * t["n"]).sum() == pytest.approx(
        1500.0 * (t["expected_rate"] * t["n"]).sum())
    # independent check: simulate each person's outcome and pay through the Tariff
    rng = np.random.default_rng(99)
    r = np.clip(p0 + 0.05, 0, 1)
    draws = 4000
    y = (rng.random((draws, r.size)) < r).astype(float)
    tariff = dt.tariff()
    per_person = tariff.amounts({"paid": y}, {"payment_group": groups.to_numpy()})
    pay = sum(per_person.values()).mean(axis=0)
    sim_margin = pd.Series(pay - 300.0).groupby(groups.to_numpy()).mean()
    assert (sim_margin - dt.margin).abs().max() <= 0.01 * abs(dt.margin)
    assert "cherry-pick" in dt.summary()


def test_groups_by_columns_and_bands():
    df = pd.DataFrame({"benefit": ["JSA", "ESA", "JSA"], "age": ["18-24", "25+", "25+"]})
    g = payment_groups(data=df, columns=["benefit", "age"])
    assert g.tolist() == ["JSA / 18-24", "ESA / 25+", "JSA / 25+"]
    dt = differential_tariff([0.2, 0.5, 0.4], g, effect=0.5, effect_scale="relative",
                             cost_per_participant={"JSA / 18-24": 100, "ESA / 25+": 300,
                                                   "JSA / 25+": 200}, total_payment=1500)
    assert dt.table["margin"].round(6).nunique() == 1
    assert dt.margin == pytest.approx((1500 - 600) / 3)


def test_segment_errors():
    with pytest.raises(OptionError, match="Choose exactly one of `n_groups`, `bands` or `columns`"):
        payment_groups([0.1, 0.2])
    with pytest.raises(OptionError, match="all in \\[0, 1\\]"):
        payment_groups([0.1, 1.2], n_groups=2)
    with pytest.raises(OptionError, match="`bands` must cover every probability"):
        payment_groups([0.1, 0.9], bands=[0.2, 0.5])
    with pytest.raises(OptionError, match="Give exactly one of `flat_price`"):
        differential_tariff([0.1, 0.2], ["a", "b"], effect=0.1, cost_per_participant=1)
    with pytest.raises(NotViableError, match="negative price"):
        differential_tariff([0.1, 0.9], ["a", "b"], effect=0.0, cost_per_participant={"a": 10,
                            "b": 1000}, total_payment=10)
    with pytest.raises(OptionError, match="no cost for group\\(s\\) 'b'"):
        differential_tariff([0.1, 0.9], ["a", "b"], effect=0.0, cost_per_participant={"a": 1},
                            total_payment=10)
    dt = differential_tariff([0.1, 0.9], ["a", "b"], effect=0.0, cost_per_participant=1,
                             total_payment=10)
    with pytest.raises(ClaimError, match="group\\(s\\) 'c' with no price"):
        dt.mechanism().payments(pd.DataFrame({"outcome": [1], "payment_group": ["c"]}))


def test_simulate_payments_with_person_rates_matches_differential_prices():
    rng = np.random.default_rng(8)
    p0 = rng.uniform(0.2, 0.8, 300)
    groups = payment_groups(p0, n_groups=3)
    dt = differential_tariff(p0, groups, effect=0.05, cost_per_participant=100.0,
                             flat_price=1000.0, outcome="ok")
    people = pd.DataFrame({"payment_group": groups.to_numpy()})
    risk = simulate_payments(dt.tariff(), non_intervention={"ok": float(p0.mean())},
                             effect={"ok": 0.05}, value_per_outcome={"ok": 2000.0},
                             people=people, person_rates={"ok": p0}, draws=4000, seed=2,
                             cost_per_participant=100.0)
    expected = float(sum(dt.prices[g] * (p + 0.05) for g, p in zip(groups, p0, strict=True)))
    assert risk.payments.mean() == pytest.approx(expected, rel=0.005)
    # the same total as the flat tariff (budget neutral)
    assert expected == pytest.approx(1000.0 * float((p0 + 0.05).sum()))
    with pytest.raises(OptionError, match="`person_rates\\['ok'\\]` must be 300 non-negative"):
        simulate_payments(dt.tariff(), non_intervention={"ok": 0.5}, effect={"ok": 0.05},
                          value_per_outcome={"ok": 1.0}, people=people,
                          person_rates={"ok": p0[:10]})
