"""Outcome rules declared as data: the rule classes, their one registry and rule sets.

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

Every rule type is registered once, in :data:`RULE_TYPES` (by the
:func:`rule_type` decorator): TOML loading (:func:`rules_from_dict`), the
Python classes, :class:`RuleSet` and :meth:`RuleSet.to_dict` all read that
one registry, and :mod:`pbr_eval.claims.evaluation` holds one evaluator per
registered type. The evidence records live in :mod:`pbr_eval.claims.records`;
how a rule is evaluated (statuses *valid*, *invalid*, *unevidenced*) is in
:mod:`pbr_eval.claims.evaluation`.

Recipe, a new rule type: a frozen dataclass here decorated with
``@rule_type("name")`` (fields validated in ``__post_init__``, an
``outcome_days`` property), and one evaluator in
:mod:`pbr_eval.claims.evaluation` decorated with ``@evaluator("name")``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pbr_eval.exceptions import RuleError
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
    "RULE_TYPES",
    "rule_type",
    "load_rules",
    "rules_from_dict",
]

#: The one registry of rule types: TOML ``type`` -> rule class, filled by
#: :func:`rule_type`. :func:`rules_from_dict`, :class:`RuleSet` and
#: :meth:`RuleSet.to_dict` read it; :mod:`pbr_eval.claims.evaluation` has one
#: evaluator per entry.
RULE_TYPES: dict[str, type] = {}

_R = TypeVar("_R", bound=type)


def rule_type(kind: str) -> Callable[[_R], _R]:
    """Register a rule class under its TOML ``type`` (sets the class's ``kind``).

    Raises
    ------
    RuleError
        When ``kind`` is already registered.
    """
    def register(cls: _R) -> _R:
        if kind in RULE_TYPES:
            raise RuleError(f"Rule type '{kind}' is registered twice "
                            f"({RULE_TYPES[kind].__name__} and {cls.__name__}).")
        cls.kind = kind  # type: ignore[attr-defined]
        RULE_TYPES[kind] = cls
        return cls
    return register


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



@rule_type("threshold")
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
    kind: ClassVar[str]

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

    @property
    def outcome_days(self) -> int:
        """Days of evidence a claim under this rule covers (its window)."""
        return int(self.window_days)



@rule_type("change")
@dataclass(frozen=True)
class ChangeFromBaseline:
    r"""The sum of a measure over an outcome window against a baseline window.

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
    decrease is met when :math:`(b - o) / b \ge` ``amount`` (with a
    relative tolerance of 1e-9, so a fall from 5 to 2 meets 60%), an
    absolute decrease when :math:`b - o \ge` ``amount``. A relative change
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
    kind: ClassVar[str]

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

    @property
    def outcome_days(self) -> int:
        """Days of evidence a claim under this rule covers (the outcome window, not the baseline before it)."""
        return int(self.window_days)



@rule_type("sustained")
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
    kind: ClassVar[str]

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

    @property
    def outcome_days(self) -> int:
        """Days of evidence a claim under this rule covers (``periods`` x ``period_days``)."""
        return int(self.periods) * int(self.period_days)



@rule_type("all_of")
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
    kind: ClassVar[str]

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



@rule_type("any_of")
@dataclass(frozen=True)
class AnyOf(AllOf):
    """At least one named rule must be met (three-valued OR).

    Examples
    --------
    >>> AnyOf("crime", rules=["offending", "asb"]).kind
    'any_of'
    """



Rule = Threshold | ChangeFromBaseline | Sustained | AllOf | AnyOf


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

    def outcome_days(self, name: str) -> int:
        """Days of evidence a claim under rule ``name`` covers: its outcome window.

        Two claims for the same unit and rule whose dates are closer than this
        claim the same outcome (see :func:`pbr_eval.claims.find_duplicates`).
        A combination covers the longest window of its parts.

        Examples
        --------
        >>> rs = RuleSet([Threshold("a", measure="m", op=">=", value=1, window_days=365),
        ...               Sustained("w", measure="e", periods=13),
        ...               AllOf("both", rules=["a", "w"])])
        >>> rs.outcome_days("w"), rs.outcome_days("both")
        (91, 365)
        """
        r = self[name]
        if isinstance(r, AllOf):
            return max(self.outcome_days(p) for p in r.rules)
        return int(r.outcome_days)

    def prices(self) -> dict[str, float]:
        """Return the ``price`` of every rule that declares one."""
        return {n: float(r.price) for n, r in self._rules.items() if r.price is not None}

    def to_dict(self) -> dict[str, Any]:
        """Return the TOML/dict form (``{"rules": [...]}``), the inverse of :func:`rules_from_dict`."""
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
