"""Abadie-Imbens (2006) standard errors against R's Matching package (Sekhon 2011).

Reference: tests/reference/matching_pkg/ (make_input.py writes the input from the shipped
data, make_reference.R runs Matching::Match with Var.calc = 1 on it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.estimators.matching import NearestNeighborMatching

REF = Path(__file__).parent / "reference" / "matching_pkg"


@pytest.fixture(scope="module")
def results():  # noqa: ANN201
    d = pd.read_csv(REF / "ai_input.csv")
    cohort = Cohort(d, treatment="treat", outcome=["reoffended", "reconviction_events"],
                    covariates=["ps"])
    est = NearestNeighborMatching(distance=d["ps"], replace=True, se="abadie_imbens")
    return est.fit(cohort)


@pytest.mark.parametrize("outcome", ["reoffended", "reconviction_events"])
def test_effect_and_ai_se_match_r_matching(results, outcome: str) -> None:  # noqa: ANN001
    ref = pd.read_csv(REF / "ai_reference.csv").set_index("outcome").loc[outcome]
    e = results.estimate_for(outcome)
    np.testing.assert_allclose(e.effect, ref["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(e.std_error, ref["se_ai"], rtol=1e-10)
    assert e.n_comparison == ref["n_matched_controls"]
    assert "Abadie-Imbens" in e.se_method


@pytest.fixture(scope="module")
def tied_results():  # noqa: ANN201
    d = pd.read_csv(REF / "ai_ties_input.csv")
    cohort = Cohort(d, treatment="treat", outcome=["reoffended", "reconviction_events"],
                    covariates=["ps", "eligible"])
    est = NearestNeighborMatching(distance=d["ps"], replace=True, se="abadie_imbens",
                                  exact=["eligible"])
    return est.fit(cohort)


@pytest.mark.parametrize("outcome", ["reoffended", "reconviction_events"])
def test_abadie_imbens_se_with_tied_scores_matches_r_matching(tied_results, outcome: str) -> None:  # noqa: ANN001
    """Issue 14: two comparison units sharing a score no longer make a unit its own nearest
    neighbour (variance 0). Reference: make_ties_reference.R (Matching with ties)."""
    ref = pd.read_csv(REF / "ai_ties_reference.csv").set_index("outcome").loc[outcome]
    e = tied_results.estimate_for(outcome)
    np.testing.assert_allclose(e.effect, ref["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(e.std_error, ref["se_ai"], rtol=1e-10)
    assert e.n_comparison == ref["n_matched_controls"]
    assert ref["n_matched_with_twin"] == 80  # the ties reach the variance of matched units
