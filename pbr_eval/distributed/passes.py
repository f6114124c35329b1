"""Several fits sharing the passes over a distributed cohort's partitions.

A fit is written as a *job*: a generator that yields the requests it needs
answered in the next pass (``{name: (fn, args)}``, see
:meth:`~pbr_eval.distributed.cohort.DistributedCohort.run`), receives their
reduced answers, and returns its result. It may also yield
:class:`Publish` to hand a value to later jobs before it is finished (the
propensity model publishes its coefficients, then asks for its state at
them, which can share a pass with the estimates that use them).
:func:`run_jobs` serves every active job's requests in one pass per round,
so a propensity model and the outcome models iterate in lockstep, and the
number of passes is the largest number any one job needs, not the sum.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Publish", "Job", "run_jobs"]

#: A fit's generator: yields requests (or :class:`Publish`), receives answers, returns a value.
Job = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Publish:
    """A value a job hands to the others before it has finished (see :func:`run_jobs`).

    Attributes
    ----------
    value : object
        Recorded as ``"<job>.published"`` and passed to the hook.

    Examples
    --------
    >>> class Nothing:
    ...     def run(self, requests):
    ...         return {}
    >>> def early():
    ...     yield Publish(41)
    ...     return 42
    >>> run_jobs(Nothing(), {"a": early()})
    {'a.published': 41, 'a': 42}
    """

    value: Any


def run_jobs(cohort: Any, jobs: Mapping[str, Job],
             hook: Callable[[str, Any, dict[str, Any]], Mapping[str, Job]] | None = None
             ) -> dict[str, Any]:
    """Run jobs in lockstep, one pass over the partitions per round.

    Parameters
    ----------
    cohort : DistributedCohort
    jobs : mapping of str to generator
        The jobs to start (each yields ``{request: (fn, args)}``).
    hook : callable, optional
        ``hook(event, value, done)`` is called when a job publishes
        (``event = "<name>.published"``) or returns (``event = name``);
        ``done`` holds what every job has returned or published so far. It
        returns new jobs to start (their first requests join the next pass).

    Returns
    -------
    dict
        What each job returned, and ``"<name>.published"`` for what it published.

    Notes
    -----
    Within a round the answers go to the jobs in the order they were
    started, so a job started earlier (the propensity model, whose
    separation check must come first) sees its answer first.

    Examples
    --------
    >>> class Rows:  # a stand-in cohort whose one pass counts rows
    ...     passes = 0
    ...     def run(self, requests):
    ...         self.passes += 1
    ...         return {k: 10 for k in requests}
    >>> def count(times):
    ...     total = 0
    ...     for _ in range(times):
    ...         total += (yield {"n": (len, ())})["n"]
    ...     return total
    >>> c = Rows()
    >>> run_jobs(c, {"a": count(2), "b": count(3)}), c.passes
    ({'a': 20, 'b': 30}, 3)
    """
    done: dict[str, Any] = {}
    pending: dict[str, tuple[int, Job, dict[str, Any]]] = {}
    order = [0]

    def start(name: str, job: Job) -> None:
        order[0] += 1
        advance(name, order[0], job, None)

    def advance(name: str, seq: int, job: Job, answer: Any) -> None:
        while True:
            try:
                req = job.send(answer)
            except StopIteration as stop:
                done[name] = stop.value
                for new_name, new_job in (hook(name, stop.value, done) if hook else {}).items():
                    start(new_name, new_job)
                return
            if isinstance(req, Publish):
                done[f"{name}.published"] = req.value
                answer = None
                for new_name, new_job in (hook(f"{name}.published", req.value, done)
                                          if hook else {}).items():
                    start(new_name, new_job)
                continue
            pending[name] = (seq, job, req)
            return

    for name, job in jobs.items():
        start(name, job)
    while pending:
        requests = {f"{name}|{k}": v for name, (_, _, req) in pending.items()
                    for k, v in req.items()}
        got = cohort.run(requests)
        current = sorted(pending.items(), key=lambda kv: kv[1][0])
        pending.clear()
        for name, (seq, job, req) in current:
            advance(name, seq, job, {k: got[f"{name}|{k}"] for k in req})
    return done
