"""The typed report model: sections built by registered functions, rendered by writers.

What a report shows is decided here, once, as typed values; *how* it is shown
is the renderers' job (HTML, Markdown, Excel, the what-if page). This is the
pyfixest ``etable`` -> ``maketables`` split.

* :class:`ReportInputs` - one frozen object holding everything a report is
  built from (the results, the named parts such as ``pricing`` or ``claims``,
  the level, the disclosure policy, the currency, ...). It replaces the
  keyword chain from :func:`pbr_eval.report` to the renderers.
* :class:`Section` - title, paragraphs, tables, figures, notes, or "not
  available" with the reason; ``relations`` and ``links`` tell disclosure
  control how its tables add up across tables.
* :class:`Table` - rows of raw values (numbers, text, or the disclosure
  marker) with a :class:`~pbr_eval.kinds.Schema` declaring each column's kind
  and label; renderers format by kind. ``totals`` (row relations) and
  ``sums`` (column relations) are what secondary suppression protects.
* :class:`Paragraph` - a sentence template with typed values, so numbers in
  words are formatted and disclosure-controlled like numbers in tables. A
  template (and a plain ``str`` paragraph) carries no digits: every number
  is a :class:`Value` (``tests/test_report_sections.py`` checks it).
* :class:`Figure` - a figure name and the plain data it is drawn from.
* :class:`Report` - the built report: header, sections in order, the
  disclosure statement and provenance; what every renderer reads.
* :data:`SECTIONS` and :func:`section` - the registry: a new section is one
  function decorated with ``@section(...)``, naming its workbook sheet, the
  inputs it needs, the reports it appears in and its order.

Examples
--------
>>> p = Paragraph("{n} people left out, {share} of the cohort.", n=Value(3, "count"),
...               share=Value(0.005, "probability"))
>>> sorted(p.values)
['n', 'share']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pbr_eval.disclosure import Cell, Link, Relation
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import COLUMN_KINDS, DEFAULT_CURRENCY, Schema

__all__ = [
    "Value",
    "Paragraph",
    "Table",
    "Figure",
    "Section",
    "SectionSpec",
    "ReportInputs",
    "Report",
    "Cell",
    "Relation",
    "Link",
    "SECTIONS",
    "REPORT_KINDS",
    "section",
    "sections_for",
    "sheets_for",
    "report_parts",
]

#: The report kinds: the evaluator's pilot report and the commissioner's tariff report.
REPORT_KINDS: tuple[str, ...] = ("pilot", "tariff")


@dataclass(frozen=True)
class Value:
    """A number in a sentence, with its kind.

    Parameters
    ----------
    value : object
        The raw number (or text for ``kind="text"``).
    kind : str
        A column kind (:data:`pbr_eval.kinds.COLUMN_KINDS`).
    denominator : float, optional
        For a rate or mean: the count it is a share or mean of (disclosure
        control hides it when that would reveal a small count).
    cell : Cell, optional
        The table cell this number repeats: the sentence then shows exactly
        what the protected table shows (the marker when the cell is hidden).
    """

    value: Any
    kind: str
    denominator: Any = None
    cell: Cell | None = None

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise OptionError(f"Value: `kind` must be one of {', '.join(COLUMN_KINDS)}; "
                              f"got {self.kind!r}.")


_FIELD = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Paragraph:
    """A sentence with typed values: ``Paragraph("{n} people left out.", n=Value(3, "count"))``.

    Renderers format each value by its kind after disclosure control, so a
    hidden count never appears in words.
    """

    template: str
    values: Mapping[str, Value] = field(default_factory=dict)

    def __init__(self, template: str, **values: Value) -> None:
        missing = set(_FIELD.findall(template)) - set(values)
        if missing:
            raise OptionError(f"Paragraph: no value given for {sorted(missing)} in {template!r}.")
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "values", MappingProxyType(dict(values)))

    def render(self, fmt: Callable[[Value], str]) -> str:
        """Return the sentence with each value formatted by ``fmt``."""
        return _FIELD.sub(lambda m: fmt(self.values[m.group(1)]), self.template)


@dataclass(frozen=True)
class Table:
    """A table of raw values with declared column kinds.

    Parameters
    ----------
    name : str
        Stable identifier, unique in a report (used in the HTML, for the
        workbook's sheet and by disclosure control's cell references).
    title : str
        Plain-English caption (and the sheet name of a section's further tables).
    schema : Schema
        Every column's kind and label, in display order.
    rows : tuple of mapping
        Column name -> raw value (number, text, None, or the disclosure
        marker). Rows may carry keys outside the schema (e.g. the outcome
        type an ``outcome`` column resolves by); they are never shown.
    display : tuple of str, optional
        Columns shown in HTML / Markdown when the table is wide (the workbook
        shows all).
    totals : tuple of (str, tuple of str), optional
        Additive relations inside each row: ``("total", ("valid", "invalid",
        "unevidenced"))`` says the ``total`` column is the sum of the three.
    sums : tuple of (str, Cell or None), optional
        Column relations: the column summed over the rows equals that cell
        (another table's), or is published (None: e.g. the programme's size).
    """

    name: str
    title: str
    schema: Schema
    rows: tuple[Mapping[str, Any], ...] = ()
    display: tuple[str, ...] | None = None
    totals: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sums: tuple[tuple[str, Cell | None], ...] = ()


@dataclass(frozen=True)
class Figure:
    """A figure: its drawing function's name, title, alternative text and plain data.

    ``points`` and ``series`` tie a figure to the table it draws: ``points[k]``
    is the table cell the ``k``-th point repeats, and ``series`` names the
    per-point lists in ``data``; where disclosure control hides that cell, the
    point is dropped from every series, so a figure never shows what the table
    hides.
    """

    name: str
    title: str
    alt: str
    data: Mapping[str, Any]
    points: tuple[Cell, ...] = ()
    series: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One section of a report; ``available=False`` sections carry the reason.

    ``role`` is ``"body"``, ``"headline"`` (shown emphasised at the top and on
    the workbook's first sheet) or ``"warning"`` (a warning box).
    """

    id: str
    title: str
    paragraphs: tuple[str | Paragraph, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    notes: tuple[str | Paragraph, ...] = ()
    available: bool = True
    reason: str | None = None
    relations: tuple[Relation, ...] = ()
    links: tuple[Link, ...] = ()
    role: str = "body"


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report is built from, frozen.

    Parameters
    ----------
    results : object or None
        The main results (e.g. :class:`~pbr_eval.results.CounterfactualResults`,
        or its ``to_dict()`` read back from a file).
    parts : mapping
        Named inputs (``pricing``, ``sensitivity``, ``claims``, ``areas``,
        ``area_tariffs``, ...): the names sections declare in ``needs``.
    kind : str
        Which report (``"pilot"``, ``"tariff"``).
    level : float
    policy : DisclosurePolicy
    title : str, optional
    generated : str
        Timestamp printed in the report.
    provenance : mapping
    currency : str
    """

    results: Any
    parts: Mapping[str, Any]
    kind: str
    level: float
    policy: Any
    title: str | None = None
    generated: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    currency: str = DEFAULT_CURRENCY

    def get(self, name: str) -> Any:
        """Return the named part, or None when it was not given."""
        return self.parts.get(name)


@dataclass(frozen=True)
class Report:
    """A built report: what every renderer reads (disclosure control already applied).

    Attributes
    ----------
    kind, title, generated, level, currency
    subtitle : Paragraph
        The cohort line under the title.
    sections : tuple of Section
        In order; each has its spec's ``sheet`` in :attr:`sheets`.
    sheets : mapping
        Section id -> workbook sheet name (sections without a sheet absent).
    optional : frozenset of str
        Ids of sections HTML / Markdown leave out when not available.
    disclosure : Paragraph
        The disclosure rule in words.
    provenance : mapping
    """

    kind: str
    title: str
    subtitle: Paragraph
    generated: str
    level: float
    currency: str
    sections: tuple[Section, ...]
    sheets: Mapping[str, str]
    optional: frozenset[str]
    disclosure: Paragraph
    provenance: Mapping[str, Any]

    def section(self, id: str) -> Section:
        """Return the section with this id."""
        for s in self.sections:
            if s.id == id:
                return s
        raise OptionError(f"This report has no section {id!r}; it has "
                          f"{', '.join(repr(s.id) for s in self.sections)}.")

    def tables(self) -> list[Table]:
        """Every table of the report, in order."""
        return [t for s in self.sections for t in s.tables]


@dataclass(frozen=True)
class SectionSpec:
    """A registered section: how to build it and where it goes.

    ``order`` maps each report kind that includes the section to its position.
    """

    id: str
    title: str
    build: Callable[[ReportInputs], Section]
    order: Mapping[str, float]
    needs: tuple[str, ...] = ()
    sheet: str | None = None
    optional: tuple[str, ...] = ()

    @property
    def reports(self) -> tuple[str, ...]:
        """The report kinds that include this section."""
        return tuple(self.order)


#: section id -> spec; filled by :func:`section`.
SECTIONS: dict[str, SectionSpec] = {}


def section(
    id: str,
    *,
    title: str,
    order: float | Mapping[str, float],
    reports: tuple[str, ...] = REPORT_KINDS,
    needs: tuple[str, ...] = (),
    sheet: str | None = None,
    optional: bool | tuple[str, ...] = False,
) -> Callable[[Callable[[ReportInputs], Section]], Callable[[ReportInputs], Section]]:
    """Register a section-building function.

    Parameters
    ----------
    id : str
        Unique section id.
    title : str
        Heading (plain English); the function may give its :class:`Section`
        another title for one report kind.
    order : float or mapping
        Position in the report (lower first), or report kind -> position
        (the section then appears in exactly those kinds).
    reports : tuple of str
        The report kinds that include it (when ``order`` is one number).
    needs : tuple of str
        The :attr:`ReportInputs.parts` it reads: :func:`pbr_eval.report`
        accepts exactly the union of these names as keywords.
    sheet : str, optional
        The workbook sheet it becomes (None: no sheet).
    optional : bool or tuple of str
        Left out of HTML / Markdown (not the workbook) when not available:
        in every report kind (True) or in the kinds named.

    Examples
    --------
    >>> @section("example_note", title="A note", order=99, reports=("pilot",))
    ... def example_note(inputs: ReportInputs) -> Section:
    ...     return Section("example_note", "A note", paragraphs=("Nothing to add.",))
    >>> SECTIONS["example_note"].reports, SECTIONS["example_note"].sheet
    (('pilot',), None)
    >>> del SECTIONS["example_note"]
    """
    orders = dict(order) if isinstance(order, Mapping) else {k: float(order) for k in reports}
    unknown = sorted(set(orders) - set(REPORT_KINDS))
    if unknown:
        raise OptionError(f"report section {id!r}: report kinds must be among "
                          f"{', '.join(map(repr, REPORT_KINDS))}; got {unknown}.")
    opt = tuple(orders) if optional is True else tuple(optional or ())

    def deco(fn: Callable[[ReportInputs], Section]) -> Callable[[ReportInputs], Section]:
        if id in SECTIONS and SECTIONS[id].build.__qualname__ != fn.__qualname__:
            raise OptionError(f"report section {id!r} is registered twice")
        SECTIONS[id] = SectionSpec(id=id, title=title, build=fn, order=orders,
                                   needs=tuple(needs), sheet=sheet, optional=opt)
        return fn

    return deco


def sections_for(kind: str) -> list[SectionSpec]:
    """Return the registered sections of report ``kind``, in order."""
    return sorted((s for s in SECTIONS.values() if kind in s.order),
                  key=lambda s: (s.order[kind], s.id))


def sheets_for(kind: str) -> list[str]:
    """Return the workbook's sheets (after README) for report ``kind``, from the registry, in order."""
    return [s.sheet for s in sections_for(kind) if s.sheet]


def report_parts() -> tuple[str, ...]:
    """Every part name a registered section needs: what :func:`pbr_eval.report` accepts."""
    return tuple(sorted({n for s in SECTIONS.values() for n in s.needs}))
