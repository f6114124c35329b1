"""Estimators of the non-intervention rate, one module per family.

Importing this package registers every estimator in :data:`ESTIMATORS`
under its ``method=`` name.
"""

from pbr_eval.estimators.base import ESTIMATORS, Estimator, build_estimator, register
from pbr_eval.estimators.matching import NearestNeighborMatching

__all__ = ["ESTIMATORS", "Estimator", "NearestNeighborMatching", "build_estimator", "register"]
