"""Estimators of the non-intervention rate, one module per family.

Importing this package imports every public module in it, so each estimator
class registers itself in :data:`ESTIMATORS` under its ``method=`` name (a new
module needs no line here); :func:`estimator_catalog` lists what each
declares about itself.
"""

import importlib
import pkgutil

from pbr_eval.estimators.base import ESTIMATORS, Estimator, build_estimator, register
from pbr_eval.estimators.baseline import HistoricalBaseline
from pbr_eval.estimators.catalog import estimator_catalog, estimator_table
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

# Every public module registers its estimators when imported, including ones added
# after this file was written (their classes are exported from pbr_eval/__init__.py).
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["ESTIMATORS", "Estimator", "NearestNeighborMatching", "build_estimator", "register",
           "InverseProbabilityWeighting", "RegressionAdjustment", "AugmentedIPW",
           "IPWRegressionAdjustment", "ExactMatching", "CoarsenedExactMatching",
           "Subclassification", "OptimalMatching", "EntropyBalancing",
           "DifferenceInDifferences", "HistoricalBaseline", "StaggeredDiD", "estimator_catalog",
           "estimator_table"]
