"""What each pricing option holds (a rate, a count, a probability or money) and its check.

The one table that the command line and analysis files consult before anything
runs, so that ``expected_rate = 80`` or ``cost_per_participant = -250`` is
refused with the file, the line and the key, not priced. The engines
(:func:`pbr_eval.price`, :func:`~pbr_eval.pricing.cash_flow`,
:func:`~pbr_eval.pricing.simulate_payments`, ...) run the same checkers from
:mod:`pbr_eval.options` on the values they receive, so the API, the command
line and analysis files share one range-checking path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.options import (
    check_count,
    check_level,
    check_money,
    check_probability,
    check_rate,
)

__all__ = ["PRICING_OPTION_KINDS", "CONTRACT_OPTION_KINDS", "option_problems"]

#: ``[pricing]`` keys (the keywords of :func:`pbr_eval.price`) -> what they hold.
PRICING_OPTION_KINDS: dict[str, str] = dict(
    value_per_outcome="money>0", expected_rate="rate>0", cost_per_participant="money",
    attachment_fee="money", budget="money>0", cohort_size="count>=1", level="level",
)

#: ``[contract]`` keys (see :func:`pbr_eval.analysis.commissioner_bundle`) -> what they hold.
CONTRACT_OPTION_KINDS: dict[str, str] = dict(
    attachment_fee="money", cost_per_participant="money", referrals_per_month="count>=0",
    months_of_referrals="count>=1", outcome_lag="count>=0", payment_lag="count>=0",
    draws="count>=1", discount_rate="share<1", price_paid="money", cap="money",
    trigger="rate>=0", mpl_uplift="share",
)


def _checker(kind: str, outcome_type: str | None) -> Callable[[str, Any], Any]:
    if kind == "money":
        return check_money
    if kind == "money>0":
        return lambda name, v: check_money(name, v, positive=True)
    if kind == "rate>0":
        return lambda name, v: check_rate(name, v, outcome_type=outcome_type, positive=True)
    if kind.startswith("count>="):
        low = int(kind.split(">=")[1])
        return lambda name, v: check_count(name, v, minimum=low)
    if kind == "level":
        return lambda name, v: check_level(v)
    if kind == "rate>=0":
        return lambda name, v: check_rate(name, v, outcome_type=outcome_type)
    if kind in ("share", "share<1"):
        def share(name: str, v: Any) -> float:
            s = check_probability(name, v, open_interval=False)
            if kind == "share<1" and s >= 1:
                check_probability(name, s)  # raises: strictly below 1
            return s
        return share
    raise KeyError(kind)  # pragma: no cover - a kind missing from this module


def option_problems(
    options: Mapping[str, Any],
    kinds: Mapping[str, str],
    *,
    outcome_types: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """Check every rate, count and money option; yield ``(key, message)`` per problem.

    Parameters
    ----------
    options : mapping
        Option name -> value as written (a number, or a table with one value
        per outcome, e.g. ``expected_rate = {reoffended = 0.8}``).
    kinds : mapping
        :data:`PRICING_OPTION_KINDS` or :data:`CONTRACT_OPTION_KINDS`.
    outcome_types : mapping, optional
        Outcome -> ``"binary"`` / ``"count"`` / ``"continuous"`` where known
        (e.g. an analysis file's ``[roles] outcome_types``); a rate of an
        outcome of unknown type is only required to be non-negative here
        (:func:`pbr_eval.price` checks the rest once the type is known).
        ``better = "lower"`` in ``options`` marks the priced outcomes as
        yes/no outcomes, the only ones :func:`pbr_eval.price` prices that way.

    Yields
    ------
    (str, str)
        The key and the message (the template of :mod:`pbr_eval.options`,
        without the option's name).

    Examples
    --------
    >>> list(option_problems({"expected_rate": 80, "cohort_size": 600}, PRICING_OPTION_KINDS,
    ...                      outcome_types={"reoffended": "binary"}))
    [('expected_rate', 'must be a share above 0 and at most 1 for a yes/no outcome; got 80, which looks like a percentage: give 0.8.')]
    """
    types = dict(outcome_types or {})
    better = options.get("better")
    if isinstance(better, Mapping):  # better = "lower" prices yes/no outcomes only
        types.update({str(o): "binary" for o, b in better.items() if b == "lower"})
    known = set(types.values())
    single_type = "binary" if better == "lower" else known.pop() if len(known) == 1 else None
    for key, value in options.items():
        kind = kinds.get(key)
        if kind is None:
            continue
        if isinstance(value, Mapping):
            items = [(f"{key}['{o}']", v, types.get(str(o))) for o, v in value.items()]
        else:
            items = [(key, value, single_type)]
        for name, v, otype in items:
            try:
                _checker(kind, otype)(name, v)
            except OptionError as err:
                text = str(err)
                prefix = f"`{name}` "
                yield key, text[len(prefix):] if text.startswith(prefix) else text
                break
