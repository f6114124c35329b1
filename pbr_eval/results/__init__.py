"""Results objects: read-only, with the same face everywhere (:class:`Results`)."""

from pbr_eval.results.balance import BalanceTable
from pbr_eval.results.base import RESULTS_KINDS, HasFigures, Results
from pbr_eval.results.counterfactual import FRAME_COLUMNS, CounterfactualResults, OutcomeEstimate
from pbr_eval.results.sensitivity import EValues, PlaceboResults, RosenbaumBounds, TippingPoint

__all__ = ["Results", "HasFigures", "RESULTS_KINDS", "BalanceTable", "CounterfactualResults",
           "OutcomeEstimate", "FRAME_COLUMNS", "RosenbaumBounds", "EValues", "TippingPoint",
           "PlaceboResults"]
