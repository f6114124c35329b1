"""Duplicate claims: the same outcome claimed twice for the same unit.

A claim says "unit U met outcome R by date D"; it evidences R over the rule's
outcome window, the ``w`` days up to D (:meth:`RuleSet.outcome_days`). A
second claim for the same unit and rule whose window overlaps the window of a
claim already accepted for payment claims the same outcome again, whatever
its claim identifier: it is a *duplicate* of that first claim. It is flagged
for review, never paid, and counted.

The search is vectorised: claims are sorted once by (unit, rule, date) and
the first claim clear of each kept claim's window is found by binary search;
the only loop is over the number of separate outcomes claimed for one unit
and rule (a handful), never over claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.claims.rules import RuleSet
from pbr_eval.options import check_count

__all__ = ["find_duplicates", "duplicate_windows"]


def duplicate_windows(rules: RuleSet, names: Any,
                      window_days: int | Mapping[str, int] | None = None) -> np.ndarray:
    """Return the duplicate window (days) of each claim's rule.

    Parameters
    ----------
    rules : RuleSet
    names : array-like of str
        Each claim's rule.
    window_days : int or dict, optional
        Override for every rule (an int) or some (rule -> days); ``0`` turns
        duplicate detection off. Default: each rule's outcome window
        (:meth:`RuleSet.outcome_days`).

    Returns
    -------
    numpy.ndarray of int64
    """
    codes, rule_names = pd.factorize(np.asarray(names, dtype=object), sort=False)
    if window_days is None or isinstance(window_days, Mapping):
        given = dict(window_days or {})
        unknown = sorted(set(given) - set(rules))
        if unknown:
            from pbr_eval.exceptions import RuleError

            raise RuleError(f"`duplicate_window_days` names rules that are not declared: "
                            f"{unknown}; declared rules are {sorted(rules)}.")
        per = [check_count(f"duplicate_window_days['{r}']", given[r]) if r in given
               else rules.outcome_days(str(r)) for r in rule_names]
    else:
        per = [check_count("duplicate_window_days", window_days)] * len(rule_names)
    return np.asarray(per, dtype=np.int64)[codes] if len(codes) else np.zeros(0, dtype=np.int64)


def find_duplicates(units: Any, rules: Any, days: np.ndarray, windows: np.ndarray,
                    checkable: np.ndarray | None = None) -> np.ndarray:
    """For each claim, the position of the claim it duplicates (-1 if none).

    Parameters
    ----------
    units, rules : array-like
        The unit (person or family) and rule of each claim (rule names, or
        integer codes of the rules).
    days : numpy.ndarray of int64
        Claim dates, days since 1970-01-01.
    windows : numpy.ndarray of int64
        The outcome window (days) of each claim's rule (:func:`duplicate_windows`).
    checkable : numpy.ndarray of bool, optional
        Claims that can take part (a claim with no unit or date cannot).

    Returns
    -------
    numpy.ndarray of int64
        ``-1`` for a claim to be judged on its evidence; otherwise the
        position (0-based, in the order given) of the earlier claim for the
        same unit and rule whose window it overlaps.

    Notes
    -----
    Within each (unit, rule), claims are taken in date order (ties in the
    order given). The first is kept; a later claim dated less than ``w``
    days after the last *kept* claim (its outcome window overlaps that
    claim's) is a duplicate of it; the first claim ``w`` or more days after
    it is kept and starts the next outcome. So claims 0, 100 and 200 days
    apart under a 182-day window give: kept, duplicate of the first, kept.

    Examples
    --------
    >>> days = np.array([0, 0, 1, 200, 100])
    >>> find_duplicates(["F1", "F1", "F1", "F1", "F2"], ["edu"] * 5, days,
    ...                 np.full(5, 182)).tolist()
    [-1, 0, 0, -1, -1]
    """
    units = np.asarray(units, dtype=object)
    rules = np.asarray(rules)
    if rules.dtype.kind not in "iu":
        rules = rules.astype(object)
    days = np.asarray(days, dtype=np.int64)
    windows = np.asarray(windows, dtype=np.int64)
    n = len(days)
    out = np.full(n, -1, dtype=np.int64)
    ok = np.ones(n, dtype=bool) if checkable is None else np.asarray(checkable, dtype=bool)
    ok = ok & (windows > 0)
    pos = np.flatnonzero(ok)
    if len(pos) < 2:
        return out
    ucode, _ = pd.factorize(units[pos], sort=False)
    if rules.dtype.kind in "iu":  # rule codes already (e.g. from pd.factorize)
        rcode, n_rules = rules[pos].astype(np.int64), int(rules.max()) + 1
    else:
        rcode, rnames = pd.factorize(rules[pos], sort=False)
        n_rules = max(len(rnames), 1)
    group = ucode.astype(np.int64) * n_rules + rcode
    d, w = days[pos], windows[pos]
    order = np.lexsort((pos, d, group))
    g, d, w = group[order], d[order], w[order]
    m = len(order)
    # one sortable key: group, then day (the span leaves room for day + window)
    d0 = int(d.min())
    span = int(d.max()) - d0 + int(w.max()) + 1
    key = g * span + (d - d0)
    nxt = np.searchsorted(key, key + w, side="left")  # first claim clear of the window
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    kept = np.zeros(m, dtype=bool)
    frontier = starts
    while frontier.size:  # one pass per separate outcome of a unit and rule
        kept[frontier] = True
        step = nxt[frontier]
        inside = step < m
        step, src = step[inside], frontier[inside]
        frontier = step[g[step] == g[src]]
    last_kept = np.maximum.accumulate(np.where(kept, np.arange(m), -1))
    dup = ~kept
    out[pos[order[dup]]] = pos[order[last_kept[dup]]]
    return out
