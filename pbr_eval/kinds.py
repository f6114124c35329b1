"""Column kinds: what a number *is*, declared once, read by formats and disclosure.

Every column of every results table declares a kind (:class:`Column`). Reports,
workbooks, CSV exports and ``_repr_html_`` format a value by its kind, and
disclosure control (:mod:`pbr_eval.disclosure`) decides what to suppress by its
kind: never by the column's name.

The kinds
---------
``count``
    A number of people (or families, claims, records) *in the data*: disclosive,
    suppressed below the threshold. Shown as ``1,234``.
``planned_count``
    A number from contract inputs or a simulation (planned referrals, simulated
    cohort size, draws): not data about people, never suppressed.
``rate``
    A proportion of people in [0, 1] (an outcome rate). Shown as ``24.7%``.
    Withheld when it would reveal a small count of its ``denominator``.
``probability``
    A probability or share that is not a share of people in the data (risk of
    paying for deadweight, deadweight share, attachment share). Shown as ``2.5%``.
``rate_difference``
    A difference of proportions. Shown in percentage points (``-3.5 pp``).
``mean``
    The mean of a count or continuous outcome per person. Shown as ``0.93``.
``mean_difference``
    A difference of means. Shown signed (``-0.18``).
``outcome`` / ``outcome_difference``
    An outcome summary whose kind depends on the row's outcome type: ``rate``
    (``rate_difference``) for a binary outcome, else ``mean``
    (``mean_difference``). :attr:`Column.by` names the column holding the type.
``money``
    An amount of money. Shown with the currency symbol (``£1,234``).
``ratio``
    A ratio (E-value, variance ratio, Rosenbaum's Gamma, risk ratio). ``2.10``.
``p_value``
    A p-value: ``0.169``, ``<0.001``.
``number``
    Any other real number (SMD, standard error, coefficient): 3 significant digits.
``integer``
    An integer that is not a count of people (month, year, subclass number).
``text``
    Words: outcome names, labels, verdicts. Never a code identifier in a report.

Examples
--------
>>> format_value(0.2467, "rate"), format_value(-0.031, "rate_difference")
('24.7%', '-3.1 pp')
>>> format_value(1234.5, "money"), format_value(1234.5, "money", currency="GBP ")
('£1,235', 'GBP 1,235')
>>> format_value(2.0997, "ratio"), format_value(0.0004, "p_value"), format_value(0.93, "mean")
('2.10', '<0.001', '0.930')
>>> resolve_kind(Column("observed", "outcome", "Programme", by="outcome_type"),
...              {"outcome_type": "count"})
'mean'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, get_args

import numpy as np

from pbr_eval.exceptions import OptionError

__all__ = [
    "ColumnKind",
    "COLUMN_KINDS",
    "DISCLOSIVE_KINDS",
    "Column",
    "Schema",
    "resolve_kind",
    "format_value",
    "finite_number",
    "excel_format",
    "DEFAULT_CURRENCY",
    "format_money",
    "KIND_DECIMALS",
]

ColumnKind = Literal[
    "count",
    "planned_count",
    "rate",
    "probability",
    "rate_difference",
    "mean",
    "mean_difference",
    "outcome",
    "outcome_difference",
    "money",
    "ratio",
    "p_value",
    "number",
    "integer",
    "text",
]
COLUMN_KINDS: tuple[str, ...] = get_args(ColumnKind)

#: Kinds that disclosure control acts on: counts are suppressed, rates withheld.
DISCLOSIVE_KINDS: frozenset[str] = frozenset({"count", "rate", "outcome"})

#: The most decimal places a reader sees for a number of each kind (rates and
#: probabilities as percentages, rate differences in percentage points); the report tests
#: fail on any visible number with more.
KIND_DECIMALS: dict[str, int] = {
    "count": 0, "planned_count": 0, "integer": 0, "money": 0, "rate": 1, "probability": 1,
    "rate_difference": 1, "ratio": 2, "p_value": 3, "mean": 3, "mean_difference": 3,
    "number": 3, "outcome": 3, "outcome_difference": 3,
}

#: Currency symbol shown with money (UK default; configurable where money is shown).
DEFAULT_CURRENCY = "£"


@dataclass(frozen=True)
class Column:
    """One column of a results table: its name, kind and plain-English label.

    Parameters
    ----------
    name : str
        The column's key in ``to_frame()``.
    kind : str
        One of :data:`COLUMN_KINDS`.
    label : str
        What a reader sees as the header: plain words, no code identifiers.
    denominator : str, optional
        For ``rate`` / ``outcome`` / ``mean`` columns: the ``count`` column (in
        the same row) the value is a share or mean of, so disclosure control
        can tell whether it reveals a small count (and withholds it whenever
        that count is hidden). For a fixed denominator held outside the
        table, use a number.
    by : str, optional
        For ``outcome`` / ``outcome_difference`` columns: the column holding
        the outcome type (``"binary"``, ``"count"``, ``"continuous"``).
    description : str, default ""
        A glossary sentence for the workbook's notes and the page's tooltips.
    derived_from : tuple of str, default ()
        Other columns (same row) this value is computed from, so that it
        reveals them: money that is a count times a price, a share of valid
        claims (from the valid count), an SMD (from the means). Disclosure
        control withholds it whenever one of them is hidden, and hides them
        with it when it has to hide it.

    Examples
    --------
    >>> Column("observed", "outcome", "Observed in the programme", denominator="n_treated",
    ...        by="outcome_type").kind
    'outcome'
    >>> Column("price", "dollars", "Price")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: Column 'price': `kind` must be one of ...; got 'dollars'.
    """

    name: str
    kind: str
    label: str
    denominator: str | float | None = None
    by: str | None = None
    description: str = ""
    derived_from: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise OptionError(
                f"Column {self.name!r}: `kind` must be one of "
                f"{', '.join(map(repr, COLUMN_KINDS))}; got {self.kind!r}."
            )


@dataclass(frozen=True)
class Schema:
    """The declared columns of one table, in order.

    Examples
    --------
    >>> s = Schema((Column("n", "count", "People"), Column("p", "rate", "Rate", denominator="n")))
    >>> s.kind("p"), s.label("n"), list(s.names)
    ('rate', 'People', ['n', 'p'])
    """

    columns: tuple[Column, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the :class:`Column` called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise OptionError(
            f"Column {name!r} is not declared; declared columns are "
            f"{', '.join(map(repr, self.names))}."
        )

    def kind(self, name: str) -> str:
        """Return the declared kind of column ``name``."""
        return self.column(name).kind

    def label(self, name: str) -> str:
        """Return the plain-English label of column ``name``."""
        return self.column(name).label

    def select(self, names: Iterable[str]) -> Schema:
        """Return a schema of the named columns, in the order given."""
        return Schema(tuple(self.column(n) for n in names))

    def check_frame(self, columns: Iterable[Any]) -> None:
        """Raise :class:`OptionError` unless every column in ``columns`` is declared."""
        missing = [str(c) for c in columns if str(c) not in self]
        if missing:
            raise OptionError(
                f"Columns {', '.join(map(repr, missing))} have no declared kind; declare them "
                "in the results class's schema."
            )


def resolve_kind(column: Column, row: Mapping[str, Any] | None = None) -> str:
    """Return the concrete kind of ``column`` in ``row`` (``outcome*`` kinds depend on the row).

    Parameters
    ----------
    column : Column
        The declared column.
    row : mapping, optional
        The row's values; ``column.by`` names the one holding the outcome type.

    Returns
    -------
    str
        ``column.kind``, except that ``outcome`` is ``rate`` for a yes/no outcome and
        ``mean`` otherwise, and ``outcome_difference`` is ``rate_difference`` or
        ``mean_difference``.

    Examples
    --------
    >>> col = Column("observed", "outcome", "Observed", by="outcome_type")
    >>> resolve_kind(col, {"outcome_type": "binary"}), resolve_kind(col, {"outcome_type": "count"})
    ('rate', 'mean')
    """
    if column.kind not in ("outcome", "outcome_difference"):
        return column.kind
    otype = None if row is None or column.by is None else row.get(column.by)
    binary = otype == "binary"
    if column.kind == "outcome":
        return "rate" if binary else "mean"
    return "rate_difference" if binary else "mean_difference"


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not text, bool or missing), else None.

    Parameters
    ----------
    value : object
        Any value.

    Returns
    -------
    float or None

    Examples
    --------
    >>> finite_number(3), finite_number("3"), finite_number(float("nan")), finite_number(True)
    (3.0, None, None, None)
    """
    if value is None or isinstance(value, (bool, str, np.bool_)):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def format_value(value: Any, kind: str, *, currency: str = DEFAULT_CURRENCY,
                 missing: str = "n/a") -> str:
    """Format one value for a reader, by its kind.

    Strings (including the disclosure marker) are returned as they are;
    ``None``, NaN and infinities print as ``missing``.

    Parameters
    ----------
    value : object
        The value (a number, a string such as the disclosure marker, or missing).
    kind : str
        One of :data:`COLUMN_KINDS` (resolved: see :func:`resolve_kind`).
    currency : str, default "£"
        The symbol before money.
    missing : str, default "n/a"
        What a missing or non-finite value prints as.

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(0.2817, "rate"), format_value(-0.035, "rate_difference")
    ('28.2%', '-3.5 pp')
    >>> format_value(2.5, "money"), format_value(12000, "count"), format_value(0.0004, "p_value")
    ('£3', '12,000', '<0.001')
    >>> format_value(float("nan"), "ratio"), format_value("[c]", "count")
    ('n/a', '[c]')
    >>> format_value(0.000312, "number"), format_value(-0.0002, "mean_difference")
    ('0.000', '+0.000')
    """
    if isinstance(value, str):
        return value
    if kind == "text":
        return missing if value is None else str(value)
    v = finite_number(value)
    if v is None:
        return missing
    if kind in ("count", "planned_count", "integer"):
        return f"{v:,.0f}"
    if kind in ("rate", "probability"):
        return f"{v:.1%}"
    if kind == "rate_difference":
        return f"{v * 100:+.1f} pp"
    if kind == "money":
        # whole units, halves away from zero as spreadsheets round (not Python's half-even)
        whole = int(Decimal(repr(abs(v))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return f"{currency}{whole:,}" if v >= 0 or whole == 0 else f"-{currency}{whole:,}"
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "p_value":
        return "<0.001" if v < 0.001 else f"{v:.3f}"
    # means, differences and other numbers: at most KIND_DECIMALS places, never exponents
    if round(v, 3) == 0:
        v = 0.0
    if kind == "mean_difference":
        return f"{v:+,.3f}"
    if kind != "mean" and abs(v) >= 1e6:
        return f"{v:,.0f}"
    return f"{v:,.3f}"


def format_money(value: Any, *, currency: str = DEFAULT_CURRENCY) -> str:
    """Return an amount of money for a sentence, by the money kind.

    Parameters
    ----------
    value : float
        The amount.
    currency : str, default "£"
        The currency symbol.

    Returns
    -------
    str
        Whole units with thousands separators and the symbol; a negative amount
        carries its sign before the symbol.

    Examples
    --------
    >>> format_money(12345.6), format_money(-50)
    ('£12,346', '-£50')
    """
    return format_value(value, "money", currency=currency)


def excel_format(kind: str, *, currency: str = DEFAULT_CURRENCY) -> str:
    """Return the spreadsheet number format of a kind (Excel / LibreOffice syntax).

    Parameters
    ----------
    kind : str
        One of :data:`COLUMN_KINDS` (resolved).
    currency : str, default "£"
        The symbol before money.

    Returns
    -------
    str

    Examples
    --------
    >>> excel_format("rate"), excel_format("money")
    ('0.0%', '"£"#,##0')
    """
    if kind in ("count", "planned_count", "integer"):
        return "#,##0"
    if kind in ("rate", "probability"):
        return "0.0%"
    if kind == "rate_difference":
        return "+0.0%;-0.0%"  # a number format cannot scale to percentage points
    if kind == "money":
        return f'"{currency}"#,##0'
    if kind == "ratio":
        return "0.00"
    if kind == "p_value":
        return "0.000"
    if kind == "mean_difference":
        return "+0.000;-0.000"
    if kind == "text":
        return "@"
    return "0.000"
