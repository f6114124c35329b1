"""Beyond memory: a cohort backed by a Dask DataFrame and map-reduce estimators (issue 17.3).

:class:`DistributedCohort` holds the role columns as partitions on a Dask
cluster (a ``LocalCluster`` here, or a remote scheduler); the estimators in
:mod:`pbr_eval.distributed.estimators` and :mod:`pbr_eval.distributed.matching`
fit their nuisance models by distributed Newton / IRLS (one pass per
iteration, sums reduced across partitions) and compute the estimates and
their influence-function standard errors as sums over partitions, so
``pbr_eval.estimate(cohort, method=...)`` gives the in-memory numbers.
Dask is imported only when a distributed cohort is built (``pip install
pbr_eval[dask]``).
"""

from __future__ import annotations

from pbr_eval.distributed.cohort import DistributedCohort
from pbr_eval.distributed.estimators import DISTRIBUTED_METHODS, fit_distributed

__all__ = ["DistributedCohort", "DISTRIBUTED_METHODS", "fit_distributed"]
