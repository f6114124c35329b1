"""Standard errors and intervals."""

from pbr_eval.inference.intervals import normal_interval, rate_interval
from pbr_eval.inference.sandwich import wls_sandwich

__all__ = ["normal_interval", "rate_interval", "wls_sandwich"]
