"""Covariate balance: :class:`BalanceTable` and its numbers live in :mod:`pbr_eval.results.balance`.

Kept here so ``from pbr_eval.diagnostics.balance import BalanceTable`` keeps
working (diagnostics sit above results in the import layers).
"""

from pbr_eval.results.balance import (
    BalanceTable,
    balance_design,
    ecdf_stats,
    smd_threshold_default,
    weighted_mean_var,
)

__all__ = ["BalanceTable", "balance_design", "weighted_mean_var", "ecdf_stats",
           "smd_threshold_default"]
