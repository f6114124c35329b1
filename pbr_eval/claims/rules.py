"""Outcome rules declared as data, and their vectorised evaluation on records.

A Payment-by-Results *claim* says "unit U met outcome R by date D". An
*outcome rule* says what evidence proves it. Rules are plain frozen
dataclasses (or the same thing written in TOML, see :func:`load_rules`):

* :class:`Threshold` -- a measure compared with a value over the last
  ``periods`` records in a window, e.g. unauthorised absence under 15% in each
  of three consecutive terms, or fewer than 3 fixed exclusions in total over
  three terms;
* :class:`ChangeFromBaseline` -- the sum of a measure in the outcome window
  against the window before it, e.g. youth offending down by 33% over six
  months compared with the six months before (relative) or down by 2 events
  (absolute);
* :class:`Sustained` -- a status held in every period of a window, e.g. in
  work in each of 13 consecutive weeks; a gap breaks continuity;
* :class:`AllOf` / :class:`AnyOf` -- combinations of other rules by name.

Any rule can be applied to the *members* of a family (``members="child"``
with ``member_combine="all"``: every child must meet it), given a table that
links families to people and their roles.

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
(unit, date) and every claim's window is found with a binary search
(:func:`numpy.searchsorted`); sums use prefix sums. The only Python loops are
over rules and their parts, never over claims.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import DataError, MissingColumnError, RuleError
from pbr_eval.options import (
    CHANGE_DIRECTIONS,
    CHANGE_KINDS,
    MEMBER_COMBINES,
    MISSING_PERIODS,
    RULE_AGGREGATES,
    RULE_OPS,
    check_choice,
    check_int,
    check_positive,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "Threshold",
    "ChangeFromBaseline",
    "Sustained",
    "AllOf",
    "AnyOf",
    "Rule",
    "RuleSet",
    "RecordStore",
    "RULE_TYPES",
    "STATUS_CODES",
    "STATUS_NAMES",
    "load_rules",
    "rules_from_dict",
    "evaluate_rule",
]

#: Status codes in Kleene order: ``all of`` is the minimum, ``any of`` the maximum.
STATUS_CODES: dict[str, int] = {"invalid": 0, "unevidenced": 1, "valid": 2}
STATUS_NAMES: tuple[str, ...] = ("invalid", "unevidenced", "valid")

#: Relative tolerance used when a computed change is compared with its target
#: (so that a fall from 5 to 2 counts as exactly 60%).
_TOL = 1e-9

_OFF = np.int64(2**31)
_STRIDE = np.int64(2**32)


def _check_measure(rule: str, measure: Any) -> None:
    if not isinstance(measure, str) or not measure:
        raise RuleError(f"`measure` of rule '{rule}' must be a measure name; got {measure!r}.")


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"`name` of a rule must be a non-empty string; got {name!r}.")
    return name


def _check_members(members: Any, combine: str) -> None:
    if members is not None and (not isinstance(members, str) or not members):
        raise RuleError(
            f"`members` must be a role name such as 'child' (or omitted); got {members!r}."
        )
    check_choice("member_combine", combine, MEMBER_COMBINES)


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RuleError(f"`{name}` must be a finite number; got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class Threshold:
    """A measure compared with a value over the last ``periods`` records.

    Parameters
    ----------
    name : str
        The rule's name, as used in the claims file's ``rule`` column.
    measure : str
        The measure in the records' ``measure`` column, e.g.
        ``"unauthorised_absence_pct"``.
    op : {">=", ">", "<=", "<", "==", "!="}
        Comparison with ``value``.
    value : float
        The threshold.
    periods : int, default 1
        How many of the most recent records (e.g. terms) are used.
    window_days : int, default 365
        Records dated in (claim date - window_days, claim date] are eligible.
        Fewer than ``periods`` records there makes the claim *unevidenced*
        (a missing term), unless ``aggregate="each"`` and a record present
        already fails the test (then it is *invalid*).
    aggregate : {"each", "sum", "mean", "min", "max", "last"}, default "each"
        ``"each"``: every one of the ``periods`` records must pass;
        otherwise the records are summarised first (``"sum"`` for e.g. fewer
        than 3 exclusions in total over three terms).
    members : str, optional
        Apply the rule to each family member with this role (see
        :class:`RuleSet`); ``None`` applies it to the claim's own unit.
    member_combine : {"all", "any"}, default "all"
        With ``members``: must every such member meet it, or any one?
    price : float, optional
        Payment for a valid claim under this rule (used for value at stake).

    Examples
    --------
    >>> Threshold("absence", measure="unauth_absence_pct", op="<", value=15, periods=3)
    Threshold(name='absence', measure='unauth_absence_pct', op='<', value=15, periods=3, ...)
    """

    name: str
    measure: str
    op: str
    value: float
    periods: int = 1
    window_days: int = 365
    aggregate: str = "each"
    members: str | None = None
    member_combine: str = "all"
    price: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_measure(self.name, self.measure)
        check_choice("op", self.op, RULE_OPS)
        _check_number("value", self.value)
        check_int("periods", self.periods)
        check_int("window_days", self.window_days)
        check_choice("aggregate", self.aggregate, RULE_AGGREGATES)
        _check_members(self.members, self.member_combine)
        if self.price is not None:
            check_positive("price", self.price, allow_zero=True)

    kind = "threshold"


@dataclass(frozen=True)
class ChangeFromBaseline:
    """The sum of a measure over an outcome window against a baseline window.

    The outcome window is (claim date - ``window_days``, claim date]; the
    baseline window is the ``baseline_days`` before it. Each window needs at
    least ``min_records`` records (e.g. 6 monthly returns, zeros included),
    else the claim is *unevidenced*: no record is not the same as no offence.

    Parameters
    ----------
    name, measure : str
    amount : float
        The change required: a share (``0.33`` = 33%) when ``change`` is
        ``"relative"``, a number of units when ``"absolute"``.
    change : {"relative", "absolute"}, default "relative"
    direction : {"decrease", "increase"}, default "decrease"
    window_days : int, default 182
    baseline_days : int, optional
        Defaults to ``window_days``.
    min_records : int, default 1
    members, member_combine, price
        As for :class:`Threshold`.

    Notes
    -----
    With baseline sum :math:`b` and outcome sum :math:`o`, a relative
    decrease is met when :math:`(b - o) / b \\ge` ``amount`` (with a
    relative tolerance of 1e-9, so a fall from 5 to 2 meets 60%), an
    absolute decrease when :math:`b - o \\ge` ``amount``. A relative change
    from a baseline of zero is undefined and the claim is *invalid* (there
    was nothing to reduce); the evidence says so.

    Examples
    --------
    >>> ChangeFromBaseline("offending", measure="offences", amount=0.33).baseline_days
    182
    """

    name: str
    measure: str
    amount: float
    change: str = "relative"
    direction: str = "decrease"
    window_days: int = 182
    baseline_days: int | None = None
    min_records: int = 1
    members: str | None = None
    member_combine: str = "all"
    price: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_measure(self.name, self.measure)
        check_positive("amount", self.amount)
        check_choice("change", self.change, CHANGE_KINDS)
        check_choice("direction", self.direction, CHANGE_DIRECTIONS)
        check_int("window_days", self.window_days)
        if self.baseline_days is None:
            object.__setattr__(self, "baseline_days", self.window_days)
        check_int("baseline_days", self.baseline_days)
        check_int("min_records", self.min_records)
        _check_members(self.members, self.member_combine)
        if self.price is not None:
            check_positive("price", self.price, allow_zero=True)

    kind = "change"


@dataclass(frozen=True)
class Sustained:
    """A status held in every period of a window (continuity).

    The window (claim date - ``periods`` x ``period_days``, claim date] is cut
    into ``periods`` periods of ``period_days`` days, counted back from the
    claim date. A period *qualifies* when it has a record with
    ``value >= min_value`` (e.g. a weekly employment record of 1).

    * every period qualifies -> *valid*;
    * no record at all in the window -> *unevidenced*;
    * a period with records none of which qualify (an explicit gap) ->
      *invalid*;
    * a period with no record: a gap (*invalid*) when
      ``missing_period="gap"`` (the default: employment data list jobs, so
      no record means no job), else *unevidenced*.

    Parameters
    ----------
    name, measure : str
    periods : int
        e.g. 13 (weeks).
    period_days : int, default 7
    min_value : float, default 1
    missing_period : {"gap", "unevidenced"}, default "gap"
    members, member_combine, price
        As for :class:`Threshold`.

    Notes
    -----
    Evaluation holds two claims x ``periods`` boolean tables (100,000
    claims x 26 weeks is 5 MB); daily periods over a long window for very
    many claims need proportionally more memory.

    Examples
    --------
    >>> Sustained("employment", measure="employed", periods=13).period_days
    7
    """

    name: str
    measure: str
    periods: int
    period_days: int = 7
    min_value: float = 1.0
    missing_period: str = "gap"
    members: str | None = None
    member_combine: str = "any"
    price: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_measure(self.name, self.measure)
        check_int("periods", self.periods)
        check_int("period_days", self.period_days)
        _check_number("min_value", self.min_value)
        check_choice("missing_period", self.missing_period, MISSING_PERIODS)
        _check_members(self.members, self.member_combine)
        if self.price is not None:
            check_positive("price", self.price, allow_zero=True)

    kind = "sustained"


@dataclass(frozen=True)
class AllOf:
    """Every named rule must be met (three-valued AND).

    Parameters
    ----------
    name : str
    rules : sequence of str
        Names of other rules in the same :class:`RuleSet`.
    price : float, optional
    members : str, optional
        Combine the parts *per member* with this role: with
        ``members="adult", member_combine="any"`` one adult must meet every
        part (not one adult one part and another the other). The parts must
        then not name ``members`` themselves.
    member_combine : {"all", "any"}, default "all"

    Examples
    --------
    >>> AllOf("education", rules=["absence", "exclusions"]).rules
    ('absence', 'exclusions')
    """

    name: str
    rules: tuple[str, ...]
    price: float | None = None
    members: str | None = None
    member_combine: str = "all"

    def __post_init__(self) -> None:
        _check_name(self.name)
        parts = (self.rules,) if isinstance(self.rules, str) else tuple(self.rules)
        if not parts or any(not isinstance(p, str) for p in parts):
            raise RuleError(f"`rules` of '{self.name}' must be a non-empty list of rule names; "
                            f"got {self.rules!r}.")
        object.__setattr__(self, "rules", parts)
        _check_members(self.members, self.member_combine)
        if self.price is not None:
            check_positive("price", self.price, allow_zero=True)

    kind = "all_of"


@dataclass(frozen=True)
class AnyOf(AllOf):
    """At least one named rule must be met (three-valued OR).

    Examples
    --------
    >>> AnyOf("crime", rules=["offending", "asb"]).kind
    'any_of'
    """

    kind = "any_of"


Rule = Threshold | ChangeFromBaseline | Sustained | AllOf | AnyOf

#: Registry: TOML ``type`` -> rule class.
RULE_TYPES: dict[str, type] = {
    "threshold": Threshold,
    "change": ChangeFromBaseline,
    "sustained": Sustained,
    "all_of": AllOf,
    "any_of": AnyOf,
}


class RuleSet(Mapping[str, Any]):
    """A named collection of outcome rules (a read-only mapping name -> rule).

    Parameters
    ----------
    rules : iterable of rules
        Names must be unique; combinations must name rules in the set and
        must not refer to themselves, directly or indirectly.

    Raises
    ------
    RuleError
        Duplicate names, unknown names in a combination, or a cycle.

    Examples
    --------
    >>> rs = RuleSet([Threshold("a", measure="m", op=">=", value=1),
    ...               AnyOf("either", rules=["a"])])
    >>> sorted(rs)
    ['a', 'either']
    >>> rs.prices()
    {}
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        items: dict[str, Rule] = {}
        for r in rules:
            if not isinstance(r, tuple(RULE_TYPES.values())):
                raise RuleError(f"A RuleSet holds Threshold, ChangeFromBaseline, Sustained, "
                                f"AllOf or AnyOf rules; got {type(r).__name__}.")
            if r.name in items:
                raise RuleError(f"Rule name '{r.name}' is declared twice; rule names must be "
                                "unique.")
            items[r.name] = r
        self._rules = items
        for r in items.values():
            if isinstance(r, AllOf):
                missing = [p for p in r.rules if p not in items]
                if missing:
                    raise RuleError(
                        f"Rule '{r.name}' combines {missing}, which are not declared; declare "
                        f"them or correct the names (declared: {sorted(items)}).")
        for name in items:
            self._check_cycle(name, ())
        for r in items.values():
            if isinstance(r, AllOf) and r.members is not None:
                nested = sorted(self._descendants_with_members(r.name))
                if nested:
                    raise RuleError(
                        f"Rule '{r.name}' is applied to each '{r.members}' member, so its parts "
                        f"must not name members themselves; {nested} do. Remove `members` from "
                        "the parts (or from the combination).")

    def _descendants_with_members(self, name: str) -> set[str]:
        out: set[str] = set()
        for p in self._rules[name].rules:  # type: ignore[union-attr]
            part = self._rules[p]
            if getattr(part, "members", None) is not None:
                out.add(p)
            if isinstance(part, AllOf):
                out |= self._descendants_with_members(p)
        return out

    def _check_cycle(self, name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise RuleError(f"Rules refer to each other in a cycle: {' -> '.join(path + (name,))}.")
        r = self._rules[name]
        if isinstance(r, AllOf):
            for p in r.rules:
                self._check_cycle(p, path + (name,))

    def __getitem__(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise RuleError(f"No rule named '{name}'; declared rules are "
                            f"{sorted(self._rules)}.") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"RuleSet({list(self._rules)})"

    def prices(self) -> dict[str, float]:
        """The ``price`` of every rule that declares one."""
        return {n: float(r.price) for n, r in self._rules.items() if r.price is not None}

    def to_dict(self) -> dict[str, Any]:
        """The TOML/dict form (``{"rules": [...]}``), the inverse of :func:`rules_from_dict`."""
        out = []
        for r in self._rules.values():
            d: dict[str, Any] = {"type": r.kind}
            for f in fields(r):
                v = getattr(r, f.name)
                if v is not None:
                    d[f.name] = list(v) if isinstance(v, tuple) else v
            out.append(d)
        return {"rules": out}


def rules_from_dict(spec: Mapping[str, Any]) -> RuleSet:
    """Build a :class:`RuleSet` from its dict form (as read from TOML).

    The dict has a list ``rules`` (or a table ``claims`` holding it), each
    entry a table with ``type`` (``threshold``, ``change``, ``sustained``,
    ``all_of``, ``any_of``), ``name`` and the fields of that rule class.
    An optional table ``prices`` maps rule names to payments.

    Raises
    ------
    RuleError
        Unknown ``type`` or field, or a bad value.

    Examples
    --------
    >>> rs = rules_from_dict({"rules": [
    ...     {"type": "sustained", "name": "work13", "measure": "employed", "periods": 13}],
    ...     "prices": {"work13": 800}})
    >>> rs["work13"].periods, rs.prices()
    (13, {'work13': 800.0})
    """
    if "claims" in spec and "rules" not in spec:
        spec = spec["claims"]
    entries = spec.get("rules")
    if not isinstance(entries, list) or not entries:
        raise RuleError("The rules file must hold a non-empty list of [[rules]] tables (or "
                        "[[claims.rules]]); none was found.")
    prices = dict(spec.get("prices", {}))
    rules: list[Rule] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RuleError(f"Rule {i + 1} must be a table; got {entry!r}.")
        e = dict(entry)
        typ = e.pop("type", None)
        cls = RULE_TYPES.get(typ)  # type: ignore[arg-type]
        if cls is None:
            raise RuleError(f"`type` of rule {i + 1} ({e.get('name', '?')}) must be one of "
                            f"{', '.join(repr(t) for t in RULE_TYPES)}; got {typ!r}.")
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(e) - allowed)
        if unknown:
            raise RuleError(f"Rule '{e.get('name', i + 1)}' ({typ}) has unknown field(s) "
                            f"{unknown}; allowed fields are {sorted(allowed)}.")
        if e.get("name") in prices and e.get("price") is None:
            e["price"] = prices.pop(e["name"])
        try:
            rules.append(cls(**e))
        except TypeError as err:
            raise RuleError(f"Rule '{e.get('name', i + 1)}' ({typ}) is incomplete: {err}.") from err
    rs = RuleSet(rules)
    stray = sorted(set(prices) - set(rs))
    if stray:
        raise RuleError(f"[prices] names rules that are not declared: {stray}.")
    return rs


def load_rules(path: str | Path) -> RuleSet:
    """Read outcome rules from a TOML file (see :func:`rules_from_dict`).

    Raises
    ------
    RuleError
        When the file is missing, is not valid TOML or declares bad rules.
    """
    p = Path(path)
    if not p.is_file():
        raise RuleError(f"Rules file '{p}' does not exist.")
    try:
        spec = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise RuleError(f"Rules file '{p.name}' is not valid TOML: {err}.") from err
    return rules_from_dict(spec)


# --------------------------------------------------------------------------- records


def _to_days(values: Any, what: str) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01 (NaT -> a sentinel checked by callers)."""
    try:
        with warnings.catch_warnings():  # "could not infer format": we report failures ourselves
            warnings.simplefilter("ignore", UserWarning)
            dt = pd.to_datetime(pd.Series(values), errors="raise")
    except (ValueError, TypeError) as err:
        raise DataError(f"{what} must hold dates (e.g. 2024-07-19); {err}.") from err
    out = dt.to_numpy().astype("datetime64[D]").astype(np.int64)
    out[dt.isna().to_numpy()] = np.iinfo(np.int64).min
    return out


@dataclass(frozen=True)
class _Measure:
    key: np.ndarray  # unit_code * STRIDE + day + OFF, sorted
    day: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class RecordStore:
    """Long-format evidence records, indexed once for fast window look-ups.

    Build it with :meth:`from_frame`. Records are sorted by (unit, date) per
    measure; a claim's window is then two binary searches.

    Attributes
    ----------
    units : pandas.Index
        Every unit identifier seen in the records.
    measures : dict
        Measure name -> sorted arrays.
    dropped : list of dict
        Rows left out (missing unit, date or value; exact duplicates) and why.
    """

    units: pd.Index
    measures: dict[str, _Measure]
    dropped: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_frame(cls, records: pd.DataFrame, *, unit_id: str = "unit_id",
                   measure: str = "measure", date: str = "date",
                   value: str = "value") -> RecordStore:
        """Index a records DataFrame (the caller's frame is not changed).

        Raises
        ------
        MissingColumnError
            A named column is absent.
        DataError
            Dates or values cannot be read, or the same unit, measure and
            date carry two different values.
        """
        if not isinstance(records, pd.DataFrame):
            raise DataError(f"`records` must be a pandas DataFrame; got {type(records).__name__}.")
        for role, col in (("unit_id", unit_id), ("measure", measure), ("date", date),
                          ("value", value)):
            if col not in records.columns:
                raise MissingColumnError(
                    f"Records column `{role}`='{col}' is not in the records; columns are "
                    f"{list(records.columns)[:10]}. Pass {role}=<column name>.")
        ucode, units = pd.factorize(records[unit_id], sort=False)
        mcode, mnames = pd.factorize(records[measure], sort=False)
        day = _to_days(records[date], f"Records column '{date}'")
        try:
            val = pd.to_numeric(records[value], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as err:
            raise DataError(f"Records column '{value}' must be numeric; {err}. Convert it "
                            "(e.g. '92%' -> 92).") from err
        dropped: list[dict[str, Any]] = []
        bad = (ucode < 0) | (mcode < 0) | (day == np.iinfo(np.int64).min) | ~np.isfinite(val)
        if bad.any():
            dropped.append({"n": int(bad.sum()), "reason": "records with a missing unit, "
                            "measure, date or value (treated as no evidence)",
                            "stage": "records"})
        ok = ~bad
        u, m, d, v = ucode[ok].astype(np.int64), mcode[ok], day[ok], val[ok]
        # sort by measure, unit, date (value last, to find duplicates): all integer work
        order = np.lexsort((v, d, u, m))
        u, m, d, v = u[order], m[order], d[order], v[order]
        same = (u[1:] == u[:-1]) & (m[1:] == m[:-1]) & (d[1:] == d[:-1])
        exact = same & (v[1:] == v[:-1])
        if exact.any():
            dropped.append({"n": int(exact.sum()), "reason": "exact duplicate records",
                            "stage": "records"})
        clash = same & ~exact
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            raise DataError(
                f"{int(clash.sum())} records give different values for the same unit, measure "
                f"and date (e.g. unit {units[u[i]]!r}, measure '{mnames[m[i]]}', values "
                f"{v[i]:g} and {v[i + 1]:g}); keep one value per unit, measure and date.")
        keep = np.ones(len(u), dtype=bool)
        keep[1:] = ~exact
        u, m, d, v = u[keep], m[keep], d[keep], v[keep]
        bounds = (np.flatnonzero(np.r_[True, m[1:] != m[:-1], True]) if len(m)
                  else np.zeros(1, dtype=np.int64))
        measures: dict[str, _Measure] = {}
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # one block per measure
            key = u[a:b] * _STRIDE + d[a:b] + _OFF  # sorted: (unit, date) within the block
            measures[str(mnames[m[a]])] = _Measure(key, d[a:b], v[a:b])
        return cls(pd.Index(units), measures, dropped)

    def unit_codes(self, units: Any) -> np.ndarray:
        """Codes of ``units`` in the store (-1 where a unit has no records)."""
        return self.units.get_indexer(pd.Index(units)).astype(np.int64)

    def window(self, measure: str, codes: np.ndarray, start: np.ndarray,
               end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index ranges [lo, hi) of each unit's records dated in (start, end]."""
        m = self.measures.get(measure)
        if m is None:
            z = np.zeros(len(codes), dtype=np.int64)
            return z, z
        base = np.where(codes < 0, -_STRIDE, codes * _STRIDE) + _OFF
        lo = np.searchsorted(m.key, base + start, side="right")
        hi = np.searchsorted(m.key, base + end, side="right")
        hi = np.where(codes < 0, lo, hi)
        return lo.astype(np.int64), hi.astype(np.int64)


# --------------------------------------------------------------------------- evaluation


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


_LEAF_EVALUATORS = {"threshold": _eval_threshold, "change": _eval_change,
                    "sustained": _eval_sustained}


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
    fn = _LEAF_EVALUATORS[rule.kind]
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
