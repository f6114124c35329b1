"""The typed report model: sections built by registered functions, rendered by writers.

What a report shows is decided here, once, as typed values; *how* it is shown
is the renderers' job (HTML, Markdown, Excel, the what-if page). This is the
pyfixest ``etable`` -> ``maketables`` split.

* :class:`ReportInputs` - one frozen object holding everything a report is
  built from (the results, the named parts such as ``pricing`` or ``claims``,
  the level, the disclosure policy, the currency, ...). It replaces the
  keyword chain from :func:`pbr_eval.report` to the renderers.
* :class:`Section` - title, paragraphs, tables, figures, notes, or "not
  available" with the reason.
* :class:`Table` - rows of raw values (numbers, text, or the disclosure
  marker) with a :class:`~pbr_eval.kinds.Schema` declaring each column's kind
  and label; renderers format by kind.
* :class:`Paragraph` - a sentence template with typed values, so numbers in
  words are formatted and disclosure-controlled like numbers in tables (a
  plain ``str`` paragraph must carry no number taken from the data).
* :class:`Figure` - a figure name in :data:`pbr_eval.figures.FIGURES` and the
  plain data it is drawn from.
* :data:`SECTIONS` and :func:`section` - the registry: a new section is one
  function decorated with ``@section(...)``, naming its workbook sheet, the
  inputs it needs, the reports it appears in and its order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import DEFAULT_CURRENCY, Schema

__all__ = [
    "Value",
    "Paragraph",
    "Table",
    "Figure",
    "Section",
    "SectionSpec",
    "ReportInputs",
    "SECTIONS",
    "section",
    "sections_for",
]


@dataclass(frozen=True)
class Value:
    """A number in a sentence, with its kind (and, for rates, the count it is a share of)."""

    value: Any
    kind: str
    denominator: float | None = None


@dataclass(frozen=True)
class Paragraph:
    """A sentence with typed values: ``Paragraph("{n} people left out.", n=Value(3, "count"))``.

    Renderers format each value by its kind after disclosure control, so a
    suppressed count never appears in words.
    """

    template: str
    values: Mapping[str, Value] = field(default_factory=dict)

    def __init__(self, template: str, **values: Value) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "values", MappingProxyType(dict(values)))


@dataclass(frozen=True)
class Table:
    """A table of raw values with declared column kinds.

    Parameters
    ----------
    name : str
        Stable identifier (used for the workbook's table and in tests).
    title : str
        Plain-English caption.
    schema : Schema
        Every column's kind and label, in display order.
    rows : tuple of mapping
        Column name -> raw value (number, text, None, or the disclosure marker).
    display : tuple of str, optional
        Columns shown in HTML / Markdown when the table is wide (the workbook
        shows all).
    totals : tuple of (str, tuple of str), optional
        Additive relations inside the table that secondary suppression must
        respect: ``("total", ("valid", "invalid", "unevidenced"))`` says the
        ``total`` column of each row is the sum of the three.
    """

    name: str
    title: str
    schema: Schema
    rows: tuple[Mapping[str, Any], ...] = ()
    display: tuple[str, ...] | None = None
    totals: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Figure:
    """A figure: its drawing function's name, title, alternative text and plain data."""

    name: str
    title: str
    alt: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Section:
    """One section of a report; ``available=False`` sections carry the reason."""

    id: str
    title: str
    paragraphs: tuple[str | Paragraph, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    notes: tuple[str | Paragraph, ...] = ()
    available: bool = True
    reason: str | None = None


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report is built from, frozen.

    Parameters
    ----------
    results : object or None
        The main results (e.g. :class:`~pbr_eval.results.CounterfactualResults`).
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
        """The named part, or None when it was not given."""
        return self.parts.get(name)


@dataclass(frozen=True)
class SectionSpec:
    """A registered section: how to build it and where it goes."""

    id: str
    title: str
    build: Callable[[ReportInputs], Section]
    order: float
    reports: tuple[str, ...]
    needs: tuple[str, ...] = ()
    sheet: str | None = None
    optional: bool = False


#: section id -> spec; filled by :func:`section`.
SECTIONS: dict[str, SectionSpec] = {}


def section(
    id: str,
    *,
    title: str,
    order: float,
    reports: tuple[str, ...] = ("pilot", "tariff"),
    needs: tuple[str, ...] = (),
    sheet: str | None = None,
    optional: bool = False,
) -> Callable[[Callable[[ReportInputs], Section]], Callable[[ReportInputs], Section]]:
    """Register a section-building function.

    Parameters
    ----------
    id : str
        Unique section id.
    title : str
        Heading (plain English).
    order : float
        Position in the report (lower first).
    reports : tuple of str
        The report kinds that include it.
    needs : tuple of str
        The :attr:`ReportInputs.parts` it reads: :func:`pbr_eval.report`
        accepts exactly the union of these names as keywords.
    sheet : str, optional
        The workbook sheet it becomes (None: no sheet).
    optional : bool
        Left out of HTML / Markdown (not the workbook) when not available.
    """

    def deco(fn: Callable[[ReportInputs], Section]) -> Callable[[ReportInputs], Section]:
        if id in SECTIONS and SECTIONS[id].build.__qualname__ != fn.__qualname__:
            raise OptionError(f"report section {id!r} is registered twice")
        SECTIONS[id] = SectionSpec(id=id, title=title, build=fn, order=order, reports=reports,
                                   needs=tuple(needs), sheet=sheet, optional=optional)
        return fn

    return deco


def sections_for(kind: str) -> list[SectionSpec]:
    """The registered sections of report ``kind``, in order."""
    return sorted((s for s in SECTIONS.values() if kind in s.reports), key=lambda s: s.order)
