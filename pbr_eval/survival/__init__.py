"""Time-to-event outcomes: survival with and without the programme.

:func:`estimate_survival` estimates the participants' observed and
non-intervention survival curves, the probability of the outcome by the
contract's window and the restricted mean time free of it, with standard
errors (:class:`~pbr_eval.results.survival.SurvivalResults`). The numbers
live in :mod:`~pbr_eval.survival.km` (weighted Kaplan-Meier),
:mod:`~pbr_eval.survival.cox` (Cox model) and
:mod:`~pbr_eval.survival.pieces` (influence functions and variances);
:func:`weighted_curves` gives the bare curves for any weights;
:func:`interim_payment` the outcomes expected by the end of the window for a
cohort still in follow-up (:mod:`~pbr_eval.survival.interim`).
"""

from pbr_eval.survival.cox import CoxFit, fit_cox
from pbr_eval.survival.curves import follow_up, weighted_curves
from pbr_eval.survival.estimate import SURVIVAL_METHODS, estimate_survival
from pbr_eval.survival.interim import interim_payment
from pbr_eval.survival.km import KMCurve, kaplan_meier

__all__ = ["SURVIVAL_METHODS", "CoxFit", "KMCurve", "estimate_survival", "fit_cox", "follow_up",
           "interim_payment", "kaplan_meier", "weighted_curves"]
