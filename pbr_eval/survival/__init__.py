"""Time-to-event outcomes: survival with and without the programme.

Weighted Kaplan-Meier curves and restricted mean survival time
(:mod:`pbr_eval.survival.km`, pure functions over arrays) and the curves of a
cohort's participants and of its comparison group weighted by any matching or
weighting estimator (:func:`weighted_curves`).
"""

from pbr_eval.survival.curves import follow_up, weighted_curves
from pbr_eval.survival.km import KMCurve, kaplan_meier

__all__ = ["KMCurve", "follow_up", "kaplan_meier", "weighted_curves"]
