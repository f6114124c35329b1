"""Estimators of the non-intervention rate, one module per family.

Importing this package registers every estimator in :data:`ESTIMATORS`
under its ``method=`` name.
"""

from pbr_eval.estimators.base import ESTIMATORS, Estimator, build_estimator, register
from pbr_eval.estimators.baseline import HistoricalBaseline
from pbr_eval.estimators.did import DifferenceInDifferences
from pbr_eval.estimators.doubly_robust import AugmentedIPW, IPWRegressionAdjustment
from pbr_eval.estimators.entropy import EntropyBalancing
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.estimators.optimal import OptimalMatching
from pbr_eval.estimators.regression import RegressionAdjustment
from pbr_eval.estimators.staggered import StaggeredDiD
from pbr_eval.estimators.stratified import (
    CoarsenedExactMatching,
    ExactMatching,
    Subclassification,
)
from pbr_eval.estimators.weighting import InverseProbabilityWeighting

__all__ = ["ESTIMATORS", "Estimator", "NearestNeighborMatching", "build_estimator", "register",
           "InverseProbabilityWeighting", "RegressionAdjustment", "AugmentedIPW",
           "IPWRegressionAdjustment", "ExactMatching", "CoarsenedExactMatching",
           "Subclassification", "OptimalMatching", "EntropyBalancing",
           "DifferenceInDifferences", "HistoricalBaseline", "StaggeredDiD"]
