"""Disclosure control: one marker, one threshold, every number a reader sees.

Everything pbr_eval publishes (reports, workbooks, the claims and area tables
for reports) carries aggregates only. On those aggregates this module applies
the rules official statistics use, with **one marker**, :data:`MARKER`
(``[c]``, "confidential", the Government Statistical Service symbol), and
**one threshold**, :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
(10) unless the caller sets another:

* **primary suppression**: a *count* of people (column kind ``count``) below
  the threshold is hidden (zeros too, by default);
* **derived values**: a *rate* that would reveal a small count (``rate x n``
  or ``(1 - rate) x n`` below the threshold, or ``n`` itself small) is
  hidden, and so is every value declared as derived from a hidden cell (a
  rate of a hidden denominator, money that is a count times a price, an SMD
  of hidden means): :attr:`pbr_eval.kinds.Column.denominator` and
  :attr:`pbr_eval.kinds.Column.derived_from` say which;
* **secondary suppression**: no hidden cell may be recoverable from the
  totals shown in the same report. The additive relations (a row total, a
  column summed to another table's cell or to a published total) are a
  linear system; a hidden cell is *recoverable* when it is determined by the
  visible cells (its unit vector lies in the row space of the system
  restricted to the hidden cells). While one is, a further cell of one of
  its relations is hidden (the smallest visible part, preferring non-zero
  parts to totals), with the counts it is derived from. And where the hidden
  counts of a relation whose total is shown add up to a small count
  themselves (three people hidden next to a hidden zero), one more goes, so
  a reader cannot tell that every hidden cell is small;
* the **minimum cohort**: an outcome estimated on fewer than ``min_cohort``
  programme participants is not published at all (report sections apply it
  with :meth:`DisclosurePolicy.publishable_cohort`).

Which cells are counts, rates or money is read from the declared column
kinds (:mod:`pbr_eval.kinds`), never from column names. Numbers in sentences
go through the same policy (:meth:`DisclosurePolicy.value`), or are read from
the protected table cell they repeat, so a sentence never shows what a table
hides.

Notes
-----
Limitations: the secondary step protects against *exact* recovery by
linear arithmetic on the relations declared in one report (row totals,
column totals, cells repeated across tables, published cohort sizes). It does
not bound how narrowly a hidden cell can be pinned down by non-negativity
(interval disclosure), and it cannot see relations between separate reports
(e.g. nested cohorts published separately): publish one report per cohort or
raise the threshold.

References
----------
Government Statistical Service (2021). Symbols in tables, definitions and
help ("[c] confidential"). Hundepool, A. et al. (2012). *Statistical
Disclosure Control*, Wiley, ch. 4 (secondary cell suppression). Ministry of
Justice, Justice Data Lab methodology: results are not published for cohorts
under 60 people.

Examples
--------
>>> from pbr_eval.kinds import Column, Schema
>>> p = DisclosurePolicy(threshold=10)
>>> p.count(7), p.count(12), p.rate(0.05, 100), p.rate(0.25, 100)
('[c]', 12, '[c]', 0.25)
>>> schema = Schema((Column("rule", "text", "Rule"), Column("valid", "count", "Valid"),
...                  Column("invalid", "count", "Invalid"), Column("total", "count", "Total")))
>>> rows = [{"rule": "a", "valid": 30, "invalid": 4, "total": 34}]
>>> p.protect_rows(schema, rows, totals=(("total", ("valid", "invalid")),))
[{'rule': 'a', 'valid': '[c]', 'invalid': '[c]', 'total': 34}]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from pbr_eval.kinds import Column, Schema, resolve_kind
from pbr_eval.kinds import finite_number as _number
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_MIN_TREATED, check_int

__all__ = [
    "MARKER",
    "SUPPRESSED",
    "WITHHELD",
    "DisclosurePolicy",
    "Cell",
    "Relation",
    "Link",
    "Protection",
    "TableData",
    "is_hidden",
    "recoverable",
]

#: The one marker shown in place of any number disclosure control hides.
MARKER = "[c]"
#: Old names of :data:`MARKER` (kept so existing imports work; there is one marker).
SUPPRESSED = MARKER
WITHHELD = MARKER

# markers older outputs used; read as hidden so saved tables are never un-hidden
_LEGACY = re.compile(r"^(\[w\]|\[c\]|suppressed|<\s*\d+)$", re.IGNORECASE)


def is_hidden(value: Any) -> bool:
    """Return True when ``value`` is the disclosure marker (or a marker older outputs used).

    Examples
    --------
    >>> is_hidden("[c]"), is_hidden("<10"), is_hidden(3), is_hidden("reoffended")
    (True, True, False, False)
    """
    return isinstance(value, str) and bool(_LEGACY.match(value.strip()))


@dataclass(frozen=True, order=True)
class Cell:
    """One cell of a published table: ``(table name, row number, column name)``."""

    table: str
    row: int
    column: str


@dataclass(frozen=True)
class Relation:
    """An additive relation a reader can use: ``total = sum(parts)``.

    ``total`` None means the total is published elsewhere or public (the
    programme's size printed in the headline, the comparison pool's size):
    the sum of the parts is then known to the reader.
    """

    total: Cell | None
    parts: tuple[Cell, ...]


@dataclass(frozen=True)
class Link:
    """``derived`` is computed from ``source`` (a rate of a count, money = count x price).

    ``derived`` is hidden whenever ``source`` is; hiding ``derived`` as a
    secondary cell hides ``source`` too (else it could be recomputed).
    """

    source: Cell
    derived: Cell


@dataclass(frozen=True)
class TableData:
    """A plain table for :meth:`DisclosurePolicy.protect` (see :class:`TableLike`)."""

    name: str
    schema: Schema
    rows: Sequence[Mapping[str, Any]]
    totals: Sequence[tuple[str, Sequence[str]]] = ()
    sums: Sequence[tuple[str, Cell | None]] = ()


class TableLike(Protocol):
    """What :meth:`DisclosurePolicy.protect` reads from a table (e.g. a report ``Table``)."""

    @property
    def name(self) -> str: ...  # noqa: D102 (read-only attributes of the protocol)

    @property
    def schema(self) -> Schema: ...  # noqa: D102

    @property
    def rows(self) -> Sequence[Mapping[str, Any]]: ...  # noqa: D102

    @property
    def totals(self) -> Sequence[tuple[str, Sequence[str]]]: ...  # noqa: D102

    @property
    def sums(self) -> Sequence[tuple[str, Cell | None]]: ...  # noqa: D102


@dataclass
class Protection:
    """The result of :meth:`DisclosurePolicy.protect`.

    Attributes
    ----------
    rows : dict
        Table name -> protected rows (raw values, hidden cells as :data:`MARKER`).
    primary : set of Cell
        Cells hidden because they are small or would reveal a small count.
    secondary : set of Cell
        Cells hidden so that no hidden cell can be worked out from totals.
    unprotectable : set of Cell
        Hidden cells that published totals determine whatever else is hidden
        (e.g. a table with one row whose total is public); empty in practice.
    """

    rows: dict[str, list[dict[str, Any]]]
    primary: set[Cell] = field(default_factory=set)
    secondary: set[Cell] = field(default_factory=set)
    unprotectable: set[Cell] = field(default_factory=set)

    def hidden(self, cell: Cell) -> bool:
        """Return True when ``cell`` is hidden."""
        return cell in self.primary or cell in self.secondary

    def value(self, cell: Cell) -> Any:
        """Return the published value of ``cell`` (the marker when hidden)."""
        return self.rows[cell.table][cell.row].get(cell.column)


@dataclass(frozen=True)
class DisclosurePolicy:
    """What a published report may show.

    Parameters
    ----------
    threshold : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
        Counts of people below this are hidden.
    min_cohort : int, default :data:`pbr_eval.options.DEFAULT_MIN_TREATED`
        Outcomes estimated on fewer programme participants are not published.
    suppress_zeros : bool, default True
        Hide zero counts as well ("none of the 12 people" describes all 12).

    Examples
    --------
    >>> p = DisclosurePolicy(threshold=10)
    >>> p.count(7), p.count(12)
    ('[c]', 12)
    >>> p.rate(0.05, 100)   # 5 people: the rate would disclose a count below 10
    '[c]'
    >>> p.value(0.93, "mean", denominator=600), p.value(3, "count")
    (0.93, '[c]')
    """

    threshold: int = DEFAULT_DISCLOSURE_THRESHOLD
    min_cohort: int = DEFAULT_MIN_TREATED
    suppress_zeros: bool = True

    def __post_init__(self) -> None:
        check_int("threshold", self.threshold, minimum=1)
        check_int("min_cohort", self.min_cohort, minimum=1)

    # ------------------------------------------------------------ single values
    def count_is_small(self, n: Any) -> bool:
        """Return True when a count must be hidden (hidden and missing counts count as small)."""
        v = _number(n)
        if v is None:
            return True
        k = int(round(v))
        if k == 0:
            return self.suppress_zeros
        return abs(k) < self.threshold

    def count(self, n: Any) -> int | str:
        """Return the count to publish: itself (as an int), or :data:`MARKER`."""
        if self.count_is_small(n):
            return MARKER
        return int(round(float(n)))

    def rate(self, rate: Any, n: Any, *, binary: bool = True) -> float | str:
        """Return the rate to publish, or :data:`MARKER`.

        For a proportion (``binary``) the numbers with the outcome ``rate x n``
        and without it ``(1 - rate) x n`` must both be publishable counts; for
        a mean (counts of events, continuous outcomes) only ``n`` must be.
        """
        r, size = _number(rate), _number(n)
        if r is None or size is None or self.count_is_small(size):
            return MARKER
        if binary and (self.count_is_small(r * size) or self.count_is_small((1 - r) * size)):
            return MARKER
        return r

    def value(self, value: Any, kind: str, *, denominator: Any = None) -> Any:
        """Any single value of a given kind, as it may be published.

        Counts go through :meth:`count`; a rate with a ``denominator`` through
        :meth:`rate`; a mean with a ``denominator`` is hidden when that count
        is small; every other kind (money, ratios, p-values, planned counts)
        is published as it is. A value that is already the marker stays hidden.
        """
        if is_hidden(value):
            return MARKER
        if kind == "count":
            return self.count(value)
        if denominator is None or _number(value) is None:
            return value
        if is_hidden(denominator):
            return MARKER
        if kind == "rate":
            return self.rate(value, denominator, binary=True)
        if kind == "mean":
            return self.rate(value, denominator, binary=False)
        return value

    def publishable_cohort(self, n_treated: Any) -> bool:
        """Return True when a cohort of ``n_treated`` may be reported at all."""
        v = _number(n_treated)
        return v is not None and v >= self.min_cohort and not self.count_is_small(v)

    def describe(self) -> str:
        """One plain sentence for a report's methods section."""
        zeros = " (and zero counts)" if self.suppress_zeros else ""
        return (
            f"Disclosure control: counts of fewer than {self.threshold} people{zeros}, figures "
            "that would reveal them (rates, amounts of money), and further figures that would "
            f"let them be worked out from totals are shown as {MARKER}; results for fewer than "
            f"{self.min_cohort} people in the programme are not published. The report contains "
            "aggregates only."
        )

    # ------------------------------------------------------------------ tables
    def protect_rows(self, schema: Schema, rows: Sequence[Mapping[str, Any]], *,
                     totals: Sequence[tuple[str, Sequence[str]]] = (),
                     public_sums: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Protect one table on its own (rows of raw values; see :meth:`protect`).

        ``public_sums`` names columns whose sum over the rows is published
        elsewhere (so that sum is known to a reader).
        """
        t = TableData("table", schema, rows, tuple(totals), tuple((c, None) for c in public_sums))
        return self.protect([t]).rows["table"]

    def protect(self, tables: Sequence[TableLike], *, relations: Iterable[Relation] = (),
                links: Iterable[Link] = ()) -> Protection:
        """Apply primary, derived and secondary suppression to the tables of one report.

        Parameters
        ----------
        tables : sequence of table-like objects
            Each with ``name`` (unique), ``schema`` (column kinds),
            ``rows`` (raw values; the marker where a section already hid a
            value), ``totals`` (row relations: ``("total", ("a", "b"))``
            says ``total = a + b`` in every row) and ``sums`` (column
            relations: ``("n", Cell(...))`` says the column summed over the
            rows equals that cell, ``("n", None)`` that the sum is published).
        relations : iterable of Relation
            Further additive relations across tables.
        links : iterable of Link
            Further derived-from links across tables (within a row, declare
            them with :attr:`Column.denominator` / :attr:`Column.derived_from`).

        Returns
        -------
        Protection
            The protected rows of every table and which cells were hidden.
        """
        tables = list(tables)
        raw: dict[Cell, Any] = {}
        out: dict[str, list[dict[str, Any]]] = {}
        rels: list[Relation] = list(relations)
        all_links: list[Link] = list(links)
        primary: set[Cell] = set()
        counts: set[Cell] = set()
        for t in tables:
            rows = [dict(r) for r in t.rows]
            out[t.name] = rows
            for i, row in enumerate(rows):
                for col in t.schema:
                    cell = Cell(t.name, i, col.name)
                    raw[cell] = row.get(col.name)
                    kind = resolve_kind(col, row)
                    if kind == "count":
                        counts.add(cell)
                    if is_hidden(row.get(col.name)):
                        primary.add(cell)
                        continue
                    if self._primary_hidden(col, kind, row):
                        primary.add(cell)
                    for src in self._sources(col, t.schema):
                        all_links.append(Link(Cell(t.name, i, src), cell))
            for total, parts in getattr(t, "totals", ()) or ():
                for i in range(len(rows)):
                    rels.append(Relation(Cell(t.name, i, total),
                                         tuple(Cell(t.name, i, p) for p in parts)))
            for col_name, total_cell in getattr(t, "sums", ()) or ():
                rels.append(Relation(total_cell,
                                     tuple(Cell(t.name, i, col_name) for i in range(len(rows)))))
        rels = [r for r in rels if all(c in raw for c in r.parts)
                and (r.total is None or r.total in raw)]
        hidden = set(primary)
        sources: dict[Cell, list[Cell]] = {}
        derived: dict[Cell, list[Cell]] = {}
        for lk in all_links:
            if lk.source in raw and lk.derived in raw:
                sources.setdefault(lk.derived, []).append(lk.source)
                derived.setdefault(lk.source, []).append(lk.derived)

        def propagate() -> None:
            stack = [c for c in hidden if c in derived]
            while stack:
                for d in derived.get(stack.pop(), []):
                    if d not in hidden:
                        hidden.add(d)
                        stack.append(d)

        def hide_with_sources(cell: Cell) -> None:
            stack = [cell]
            while stack:
                c = stack.pop()
                if c not in hidden:
                    hidden.add(c)
                stack += [s for s in sources.get(c, []) if s not in hidden]

        unprotectable: set[Cell] = set()
        propagate()
        for _ in range(10 * len(raw) + 10):
            det = sorted(recoverable(rels, hidden, raw) - unprotectable)
            x = det[0] if det else self._small_group(rels, hidden, raw, counts, unprotectable)
            if x is None:
                break
            cand = _candidate(x, rels, hidden, raw)
            if cand is None:
                unprotectable.add(x)
                continue
            hide_with_sources(cand)
            propagate()
        for c in hidden:
            out[c.table][c.row][c.column] = MARKER
        return Protection(rows=out, primary=primary, secondary=hidden - primary,
                          unprotectable=unprotectable)

    def _small_group(self, rels: Sequence[Relation], hidden: set[Cell], raw: Mapping[Cell, Any],
                     counts: set[Cell], unprotectable: set[Cell]) -> Cell | None:
        """Return a hidden cell of a relation of counts whose hidden cells add up to a small count.

        A reader can work out the *sum* of a relation's hidden cells; when that sum is
        itself small (three people hidden next to a zero), the hidden cells are known to be
        small: one more cell must go. Returns a hidden cell of such a relation, or None.
        """
        for r in rels:
            cells = ((r.total,) if r.total is not None else ()) + r.parts
            if not all(c in counts for c in cells):
                continue
            gone = [c for c in r.parts if c in hidden]
            if not gone or (r.total is not None and r.total in hidden):
                continue
            known = [_number(raw[c]) for c in gone]
            if any(v is None for v in known):  # hidden before (by an engine): value unknown here
                continue
            total = sum(v for v in known if v is not None)
            x = min(gone)
            if self.count_is_small(total) and x not in unprotectable:
                return x
        return None

    def _primary_hidden(self, col: Column, kind: str, row: Mapping[str, Any]) -> bool:
        v = row.get(col.name)
        if kind == "count":
            return _number(v) is not None and self.count_is_small(v)
        if kind not in ("rate", "mean") or col.denominator is None or _number(v) is None:
            return False
        n = row.get(col.denominator) if isinstance(col.denominator, str) else col.denominator
        return is_hidden(self.value(v, kind, denominator=n if not is_hidden(n) else MARKER))

    @staticmethod
    def _sources(col: Column, schema: Schema) -> list[str]:
        srcs = list(getattr(col, "derived_from", ()) or ())
        if isinstance(col.denominator, str):
            srcs.append(col.denominator)
        return [s for s in srcs if s in schema and s != col.name]


def recoverable(relations: Sequence[Relation], hidden: set[Cell],
                values: Mapping[Cell, Any]) -> set[Cell]:
    """Return the hidden cells a reader can work out exactly from the visible ones.

    A cell that is not a finite number (shown as n/a) is unknown to a reader
    too. The relations restricted to the unknown cells form a matrix ``A``;
    an unknown cell ``x_j`` is determined exactly when the unit vector
    ``e_j`` lies in the row space of ``A``, i.e. when every vector of the
    null space of ``A`` has a zero ``j``-th entry.

    Examples
    --------
    >>> a, b, t = Cell("t", 0, "a"), Cell("t", 0, "b"), Cell("t", 0, "total")
    >>> rel = [Relation(t, (a, b))]
    >>> sorted(c.column for c in recoverable(rel, {a}, {a: 3, b: 30, t: 33}))
    ['a']
    >>> recoverable(rel, {a, b}, {a: 3, b: 30, t: 33})
    set()
    """
    unknown = {c for c in values if c in hidden or _number(values[c]) is None}
    rows: list[dict[Cell, float]] = []
    for r in relations:
        coef: dict[Cell, float] = {}
        if r.total is not None and r.total in unknown:
            coef[r.total] = coef.get(r.total, 0.0) + 1.0
        for p in r.parts:
            if p in unknown:
                coef[p] = coef.get(p, 0.0) - 1.0
        coef = {c: v for c, v in coef.items() if v != 0.0}
        if coef:
            rows.append(coef)
    cells = sorted({c for row in rows for c in row})
    if not cells:
        return set()
    index = {c: j for j, c in enumerate(cells)}
    a = np.zeros((len(rows), len(cells)))
    for i, row in enumerate(rows):
        for c, v in row.items():
            a[i, index[c]] = v
    # null space by SVD: columns of v beyond the rank
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, s.max() if s.size else 1.0)).sum())
    null = vt[rank:].T  # (n_cells, n_null)
    if null.shape[1] == 0:
        determined = np.ones(len(cells), dtype=bool)
    else:
        determined = np.abs(null).max(axis=1) < 1e-9
    return {c for c, d in zip(cells, determined, strict=True) if d and c in hidden}


def _candidate(x: Cell, relations: Sequence[Relation], hidden: set[Cell],
               raw: Mapping[Cell, Any]) -> Cell | None:
    """Return a visible cell to hide so that ``x`` stops being recoverable (None if none)."""
    involved = [r for r in relations if x == r.total or x in r.parts]
    seen: set[int] = set()
    frontier = list(involved)
    while frontier:
        best: tuple[Any, ...] | None = None
        for r in frontier:
            seen.add(id(r))
            for pos, c in enumerate(((r.total,) if r.total is not None else ()) + r.parts):
                v = _number(raw.get(c))
                if c in hidden or v is None:
                    continue
                is_total = pos == 0 and r.total is not None
                key = (is_total, v == 0, abs(v), c)
                if best is None or key < best:
                    best = key
        if best is not None:
            return best[-1]
        # every cell of these relations is hidden: widen to relations sharing a hidden cell
        cells = {c for r in frontier for c in ((r.total,) if r.total else ()) + r.parts}
        frontier = [r for r in relations if id(r) not in seen
                    and (r.total in cells or any(p in cells for p in r.parts))]
    return None
