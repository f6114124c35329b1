"""Every pricing results object shows the same face; independent checks (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending
from pbr_eval.pricing import (
    AttachmentFee,
    PerEventAvoided,
    PerOutcome,
    Tariff,
    cash_flow,
    differential_tariff,
    irr,
    price,
    simulate_payments,
)


def _objects():
    rec = price(0.05, se=0.01, value_per_outcome=1000, expected_rate=0.1,
                cost_per_participant=20, cohort_size=100)
    t = Tariff([AttachmentFee(10), PerOutcome("job", 100)])
    st = t.payments(pd.DataFrame({"person_id": ["a"], "outcome": ["job"]}), people=["a", "b"])
    risk = simulate_payments(t, non_intervention={"job": (0.05, 0.01)}, effect={"job": 0.05},
                             value_per_outcome={"job": 300.0}, cohort_size=50, draws=200,
                             cost_per_participant=15)
    cf = cash_flow(referrals=[10, 10], cost_per_participant=100, price=500,
                   expected_rate=0.4, outcome_lag=3, payment_lag=1)
    dt = differential_tariff([0.2, 0.6], ["a", "b"], effect=0.1, cost_per_participant=10,
                             flat_price=100)
    return [rec, st, risk, cf, dt]


@pytest.mark.parametrize("obj", _objects(), ids=lambda o: type(o).__name__)
def test_results_face(obj):
    assert isinstance(obj.to_frame(), pd.DataFrame) and len(obj.to_frame()) > 0
    assert isinstance(obj.summary(), str) and obj.summary() == str(obj)
    assert "<table" in obj._repr_html_()
    assert type(obj).__name__ in repr(obj)
    json.dumps(obj.to_dict())
    assert hasattr(obj, "info")
    with pytest.raises(AttributeError, match="read-only"):
        obj.info = {}


def test_irr_against_polynomial_roots():
    # Independent implementation: the monthly IRR is 1/z - 1 for the real positive root z of
    # sum_t x_t z^t = 0 (numpy.roots), annualised.
    cf = cash_flow(referrals=[30, 20, 10], cost_per_participant=900, attachment_fee=100,
                   price=4000, expected_rate=0.35, outcome_lag=6, payment_lag=2)
    x = cf.frame["net"].to_numpy()
    roots = np.roots(x[::-1])
    z = [r.real for r in roots if abs(r.imag) < 1e-9 and r.real > 0]
    monthly = [1 / r - 1 for r in z]
    annual = [(1 + m) ** 12 - 1 for m in monthly]
    assert any(cf.investor_irr() == pytest.approx(a, rel=1e-7) for a in annual)
    assert irr(x) == cf.investor_irr()


def test_simulate_payments_from_results_object():
    sim = load_reoffending()
    res = estimate(Cohort(sim.data, **sim.cohort_args))
    t = Tariff([PerEventAvoided("reconviction_events", 1500.0, threshold=0.10)])
    kw = {"effect": {"reconviction_events": -0.15},
          "value_per_outcome": {"reconviction_events": 2500.0},
          "better": {"reconviction_events": "lower"}, "cohort_size": 600, "draws": 500}
    a = simulate_payments(t, non_intervention=res, **kw)
    b = simulate_payments(t, non_intervention=json.loads(res.to_json()), **kw)
    np.testing.assert_allclose(a.payments, b.payments)
    assert a.info["outcome_types"]["reconviction_events"] == "count"
    ni = res.to_frame().set_index("outcome").loc["reconviction_events", "non_intervention"]
    assert a.non_intervention["reconviction_events"].mean() == pytest.approx(ni, rel=0.02)
