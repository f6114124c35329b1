"""Balance, overlap and sensitivity diagnostics."""

from pbr_eval.diagnostics.balance import BalanceTable, ecdf_stats, weighted_mean_var

__all__ = ["BalanceTable", "ecdf_stats", "weighted_mean_var"]
