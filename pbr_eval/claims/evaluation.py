"""The vectorised evaluation of outcome rules on evidence records.

Every claim gets one of three statuses, never a silent default:

``valid``
    the records prove the outcome;
``invalid``
    the records disprove it;
``unevidenced``
    the records that would decide it are missing (a missing term, a missing
    month of offending data, no employment records, a family with no
    children listed).

Combinations use three-valued (Kleene) logic: *all of* is invalid if any part
is invalid, else unevidenced if any part is unevidenced, else valid; *any of*
is valid if any part is valid, else unevidenced if any part is unevidenced,
else invalid.

The evaluation is vectorised: records of each measure are sorted once by
(unit, date) (:class:`~pbr_eval.claims.records.RecordStore`) and every
claim's window is found with a binary search (:func:`numpy.searchsorted`);
sums use prefix sums. The only Python loops are over rules and their parts,
never over claims. Each rule type of :data:`~pbr_eval.claims.rules.RULE_TYPES`
has one evaluator here, registered with :func:`evaluator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.claims.records import RecordStore
from pbr_eval.claims.rules import (
    RULE_TYPES,
    AllOf,
    ChangeFromBaseline,
    Rule,
    RuleSet,
    Sustained,
    Threshold,
)
from pbr_eval.exceptions import RuleError

__all__ = ["STATUS_CODES", "STATUS_NAMES", "EVALUATORS", "evaluator", "evaluate_rule"]

#: Status codes in Kleene order: ``all of`` is the minimum, ``any of`` the maximum.
STATUS_CODES: dict[str, int] = {"invalid": 0, "unevidenced": 1, "valid": 2}
STATUS_NAMES: tuple[str, ...] = ("invalid", "unevidenced", "valid")

#: Relative tolerance used when a computed change is compared with its target
#: (so that a fall from 5 to 2 counts as exactly 60%).
_TOL = 1e-9

#: Rule type (a key of :data:`~pbr_eval.claims.rules.RULE_TYPES`) -> its evaluator,
#: ``fn(rule, store, unit_codes, end_days) -> _Outcome``. Combinations (``all_of``,
#: ``any_of``) are evaluated by combining their parts.
EVALUATORS: dict[str, Callable[..., Any]] = {}


def evaluator(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the evaluator of a registered rule type."""
    if kind not in RULE_TYPES:
        raise RuleError(f"No rule type '{kind}' is registered; register the rule class with "
                        "@rule_type first.")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        EVALUATORS[kind] = fn
        return fn
    return register


@dataclass(frozen=True)
class _Outcome:
    status: np.ndarray  # int8 codes (STATUS_CODES)
    evidence: np.ndarray  # object array of str


def _fmt(x: np.ndarray) -> pd.Series:
    """Numbers as short text ("15", "14.9", "NA"); formats each distinct value once."""
    a = np.asarray(x, dtype=float)
    uniq, inv = np.unique(a, return_inverse=True)
    text = np.array(["NA" if not np.isfinite(v) else f"{v:g}" for v in uniq], dtype=object)
    return pd.Series(text[inv.reshape(-1)] if len(a) else np.array([], dtype=object))


def _date_str(days: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(days, dtype="datetime64[D]")).astype(str)


_OPS = {
    ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
    "==": np.equal, "!=": np.not_equal,
}


def _reduce(values: np.ndarray, lo: np.ndarray, n: int, how: str) -> np.ndarray:
    """Reduce values[lo:lo+n] for each row (all rows have n >= 1 records)."""
    if len(lo) == 0:
        return np.zeros(0)
    idx = lo[:, None] + np.arange(n)[None, :]
    block = values[idx]
    return {"sum": block.sum(1), "mean": block.mean(1), "min": block.min(1),
            "max": block.max(1), "last": block[:, -1]}[how]


@evaluator("threshold")
def _eval_threshold(r: Threshold, store: RecordStore, codes: np.ndarray,
                    end: np.ndarray) -> _Outcome:
    lo, hi = store.window(r.measure, codes, end - r.window_days, end)
    count = hi - lo
    n = len(codes)
    status = np.full(n, STATUS_CODES["unevidenced"], dtype=np.int8)
    enough = count >= r.periods
    start = np.where(enough, hi - r.periods, lo)
    m = store.measures.get(r.measure)
    ev = pd.Series(f"{r.measure}: ", index=range(n), dtype=object)
    need = f"{r.periods} record(s) in the {r.window_days} days to the claim date"
    if m is None or n == 0:
        ev = ev + f"no records at all (needs {need})"
        return _Outcome(status, ev.to_numpy(dtype=object))
    op = _OPS[r.op]
    if r.aggregate == "each":
        ok = op(m.value, r.value)
        fails = np.concatenate([[0], np.cumsum(~ok)])
        n_fail = fails[hi] - fails[start]  # fails among the records used
        failing = n_fail > 0
        status[failing] = STATUS_CODES["invalid"]
        status[enough & ~failing] = STATUS_CODES["valid"]
        # the worst record used: min for >,>= ; max for <,<=
        worst_how = "min" if r.op in (">=", ">") else "max"
        worst = np.full(n, np.nan)
        has = count > 0
        used = np.minimum(count, r.periods)
        for k in np.unique(used[has]):
            sel = has & (used == k)
            worst[sel] = _reduce(m.value, start[sel], int(k), worst_how)
        label = "lowest" if worst_how == "min" else "highest"
        ev = (ev + count.astype(str) + " of " + str(r.periods) + " record(s) found; " + label
              + " " + _fmt(worst).to_numpy(dtype=object) + f" (each must be {r.op} {r.value:g})")
        ev = ev.where(~(~enough & ~failing), ev + f"; missing evidence: needs {need}")
        # point at the failing record
        if failing.any():
            ev = ev.where(~failing, ev + " -> fails")
    else:
        agg = np.full(n, np.nan)
        if enough.any():
            agg[enough] = _reduce(m.value, start[enough], r.periods, r.aggregate)
        passed = op(agg, r.value)
        status[enough & passed] = STATUS_CODES["valid"]
        status[enough & ~passed] = STATUS_CODES["invalid"]
        ev = (ev + count.astype(str) + " of " + str(r.periods) + " record(s) found; "
              + r.aggregate + " " + _fmt(agg).to_numpy(dtype=object)
              + f" (must be {r.op} {r.value:g})")
        ev = ev.where(enough, ev + f"; missing evidence: needs {need}")
    return _Outcome(status, ev.to_numpy(dtype=object))


@evaluator("change")
def _eval_change(r: ChangeFromBaseline, store: RecordStore, codes: np.ndarray,
                 end: np.ndarray) -> _Outcome:
    w = r.window_days
    b = int(r.baseline_days)  # type: ignore[arg-type]
    lo1, hi1 = store.window(r.measure, codes, end - w, end)
    lo0, hi0 = store.window(r.measure, codes, end - w - b, end - w)
    m = store.measures.get(r.measure)
    n = len(codes)
    if m is None:
        o_sum = b_sum = np.zeros(n)
    else:
        cs = np.concatenate([[0.0], np.cumsum(m.value)])
        o_sum = cs[hi1] - cs[lo1]
        b_sum = cs[hi0] - cs[lo0]
    n1, n0 = hi1 - lo1, hi0 - lo0
    enough = (n1 >= r.min_records) & (n0 >= r.min_records)
    fall = b_sum - o_sum if r.direction == "decrease" else o_sum - b_sum
    if r.change == "relative":
        with np.errstate(divide="ignore", invalid="ignore"):
            achieved = np.where(b_sum > 0, fall / np.where(b_sum > 0, b_sum, 1.0), np.nan)
        met = achieved >= r.amount * (1 - _TOL)
        zero_base = enough & (b_sum <= 0)
        target = f"{r.amount:.0%}" if r.amount < 1 else f"{r.amount:g}x"
        shown = _fmt(np.round(achieved * 100, 1)).to_numpy(dtype=object) + "%"
    else:
        achieved = fall
        met = achieved >= r.amount - _TOL * max(1.0, abs(r.amount))
        zero_base = np.zeros(n, dtype=bool)
        target = f"{r.amount:g}"
        shown = _fmt(achieved).to_numpy(dtype=object)
    status = np.full(n, STATUS_CODES["unevidenced"], dtype=np.int8)
    status[enough & met] = STATUS_CODES["valid"]
    status[enough & ~met] = STATUS_CODES["invalid"]
    ev = (pd.Series(f"{r.measure}: baseline {b} days ", index=range(n), dtype=object)
          + _fmt(b_sum).to_numpy(dtype=object) + " (" + n0.astype(str) + " records), last "
          + f"{w} days " + _fmt(o_sum).to_numpy(dtype=object) + " (" + n1.astype(str)
          + f" records); {r.direction} " + shown + f" (needs {target})")
    ev = ev.where(~zero_base, ev + "; baseline is zero so there is nothing to reduce")
    ev = ev.where(enough, ev + f"; missing evidence: each window needs {r.min_records} record(s)")
    return _Outcome(status, ev.to_numpy(dtype=object))


@evaluator("sustained")
def _eval_sustained(r: Sustained, store: RecordStore, codes: np.ndarray,
                    end: np.ndarray) -> _Outcome:
    n, k = len(codes), r.periods
    span = k * r.period_days
    lo, hi = store.window(r.measure, codes, end - span, end)
    count = hi - lo
    m = store.measures.get(r.measure)
    qual = np.zeros((n, k), dtype=bool)
    seen = np.zeros((n, k), dtype=bool)
    if m is not None and count.sum() > 0:
        rows = np.repeat(np.arange(n), count)
        offs = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        idx = np.repeat(lo, count) + offs
        per = (end[rows] - m.day[idx]) // r.period_days  # 0 = the period ending on the claim date
        per = (k - 1 - per).astype(np.int64)  # 0 = first period of the window
        seen[rows, per] = True
        q = m.value[idx] >= r.min_value
        qual[rows[q], per[q]] = True
    n_qual = qual.sum(1)
    explicit_gap = (seen & ~qual).any(1)
    missing = (~seen).any(1)
    status = np.full(n, STATUS_CODES["unevidenced"], dtype=np.int8)
    status[n_qual == k] = STATUS_CODES["valid"]
    anyrec = count > 0
    gap = explicit_gap | (missing & (r.missing_period == "gap"))
    status[anyrec & (n_qual < k) & gap] = STATUS_CODES["invalid"]
    first_bad = np.argmax(~qual, axis=1)
    gap_start = end - span + first_bad * r.period_days + 1
    ev = (pd.Series(f"{r.measure}: ", index=range(n), dtype=object) + n_qual.astype(str)
          + f" of {k} periods of {r.period_days} days qualifying (value >= {r.min_value:g})")
    gap_txt = ev + "; first gap in the period starting " + _date_str(gap_start).to_numpy(
        dtype=object)
    ev = ev.where(~((n_qual < k) & anyrec), gap_txt)
    ev = ev.where(anyrec, ev + "; missing evidence: no records in the window")
    ev = ev.where(~(anyrec & (n_qual < k) & ~gap),
                  ev + "; missing evidence: periods without records")
    return _Outcome(status, ev.to_numpy(dtype=object))




def _combine(statuses: list[np.ndarray], evidences: list[np.ndarray], names: Sequence[str],
             how: str) -> _Outcome:
    S = np.column_stack(statuses)
    if how == "all":
        status = S.min(1)
        pick = np.argmin(S, axis=1)
    else:
        status = S.max(1)
        pick = np.argmax(S, axis=1)
    E = np.column_stack(evidences)
    rows = np.arange(len(status))
    label = np.array(STATUS_NAMES, dtype=object)
    ev = pd.Series(np.asarray(names, dtype=object)[pick]) + " " + pd.Series(
        label[S[rows, pick]]) + " [" + pd.Series(E[rows, pick]) + "]"
    # when every part agrees (all met for "all of", none met for "any of"), show them all
    unanimous = status == (STATUS_CODES["valid"] if how == "all" else STATUS_CODES["invalid"])
    if unanimous.any() and S.shape[1] > 1:
        joined = pd.Series(names[0] + " " + label[S[:, 0]] + " [" + E[:, 0] + "]")
        for j in range(1, S.shape[1]):
            joined = joined + "; " + names[j] + " " + label[S[:, j]] + " [" + E[:, j] + "]"
        ev = ev.where(~unanimous, joined)
    return _Outcome(status.astype(np.int8), ev.to_numpy(dtype=object))


def _eval_leaf_on_members(rule: Rule, store: RecordStore, units: np.ndarray, end: np.ndarray,
                          members: pd.DataFrame | None) -> _Outcome:
    fn = EVALUATORS[rule.kind]
    if getattr(rule, "members", None) is None:
        return fn(rule, store, store.unit_codes(units), end)
    return _on_members(rule, units, end, members,
                       lambda u, e: fn(rule, store, store.unit_codes(u), e))


def _on_members(rule: Rule, units: np.ndarray, end: np.ndarray, members: pd.DataFrame | None,
                inner: Callable[[np.ndarray, np.ndarray], _Outcome]) -> _Outcome:
    """Evaluate ``inner`` on each member with the rule's role; combine per claim row."""
    role = rule.members
    n = len(units)
    if members is None:
        raise RuleError(f"Rule '{rule.name}' applies to members with role '{role}', but no "
                        "`members` table (family, person, role) was given.")
    mem = members.loc[members["role"] == role, ["family", "person"]]
    left = pd.DataFrame({"family": units, "row": np.arange(n)})
    x = left.merge(mem, on="family", how="inner", sort=False).sort_values("row", kind="stable")
    rows = x["row"].to_numpy()
    out = inner(x["person"].to_numpy(dtype=object), end[rows])
    how = rule.member_combine
    status = np.full(n, STATUS_CODES["unevidenced"], dtype=np.int8)
    evidence = np.full(n, f"no member with role '{role}' is listed for this unit; missing "
                          "evidence", dtype=object)
    if len(rows):
        key = out.status.astype(np.int64) if how == "all" else -out.status.astype(np.int64)
        order = np.lexsort((key, rows))  # within row: the deciding member first
        r_sorted = rows[order]
        first = np.r_[True, r_sorted[1:] != r_sorted[:-1]]
        pos = order[first]
        status[rows[pos]] = out.status[pos]
        counts = np.bincount(rows, minlength=n)
        evidence[rows[pos]] = ("member " + x["person"].astype(str).to_numpy(dtype=object)[pos]
                               + f" decides ({how} of " + counts[rows[pos]].astype(str)
                               + f" '{role}' members): " + out.evidence[pos])
    return _Outcome(status, evidence)


def evaluate_rule(rule: Rule | str, rules: RuleSet, store: RecordStore, units: Any,
                  end_days: np.ndarray, *, members: pd.DataFrame | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate one rule for many (unit, claim date) pairs at once.

    Parameters
    ----------
    rule : rule or str
        The rule (or its name in ``rules``).
    rules : RuleSet
        Resolves the parts of combinations.
    store : RecordStore
    units : array-like
        The unit each claim is about (a person, or a family when a rule
        names ``members``).
    end_days : numpy.ndarray of int64
        Claim dates as days since 1970-01-01.
    members : DataFrame with columns family, person, role, optional

    Returns
    -------
    status : numpy.ndarray of str
        ``"valid"``, ``"invalid"`` or ``"unevidenced"``.
    evidence : numpy.ndarray of str
        What decided it, in words.

    Examples
    --------
    >>> recs = pd.DataFrame({"unit_id": ["a"] * 3 + ["b"] * 2, "measure": "att",
    ...     "date": ["2024-04-01", "2024-07-20", "2024-12-20", "2024-07-20", "2024-12-20"],
    ...     "value": [95, 90, 97, 99, 99]})
    >>> rs = RuleSet([Threshold("attend", measure="att", op=">=", value=90, periods=3)])
    >>> store = RecordStore.from_frame(recs)
    >>> days = np.array([np.datetime64("2024-12-20", "D").astype(np.int64)] * 2)
    >>> status, evidence = evaluate_rule("attend", rs, store, ["a", "b"], days)
    >>> status.tolist()
    ['valid', 'unevidenced']
    """
    out = _evaluate(rules[rule] if isinstance(rule, str) else rule, rules, store,
                    np.asarray(units, dtype=object), np.asarray(end_days, dtype=np.int64),
                    members)
    return np.asarray(STATUS_NAMES, dtype=object)[out.status], out.evidence


def _evaluate(rule: Rule, rules: RuleSet, store: RecordStore, units: np.ndarray,
              end: np.ndarray, members: pd.DataFrame | None) -> _Outcome:
    if isinstance(rule, AllOf):
        def combined(u: np.ndarray, e: np.ndarray) -> _Outcome:
            parts = [_evaluate(rules[p], rules, store, u, e, members) for p in rule.rules]
            return _combine([p.status for p in parts], [p.evidence for p in parts], rule.rules,
                            "any" if rule.kind == "any_of" else "all")
        if rule.members is None:
            return combined(units, end)
        return _on_members(rule, units, end, members, combined)
    return _eval_leaf_on_members(rule, store, units, end, members)
