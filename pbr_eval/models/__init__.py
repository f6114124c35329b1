"""Nuisance models: the propensity score and the outcome models."""

from pbr_eval.models.logit import LogitFit, fit_logit
from pbr_eval.models.propensity import PropensityScore, fit_propensity

__all__ = ["LogitFit", "fit_logit", "PropensityScore", "fit_propensity"]
