"""Results objects: frozen, with the same face for every estimator."""

from pbr_eval.results.counterfactual import FRAME_COLUMNS, CounterfactualResults, OutcomeEstimate

__all__ = ["CounterfactualResults", "OutcomeEstimate", "FRAME_COLUMNS"]
