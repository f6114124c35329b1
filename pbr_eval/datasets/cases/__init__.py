"""Published UK outcome-contract cases, as data.

Each case is one JSON file in ``_data/``: the scheme, who commissioned it,
the published aggregate figures (each with the precision it was published
to and the source it was checked against), the published statistics and
decisions to rebuild (``checks``), what the commissioner decided or paid,
what could not be verified, and any assumption pbr_eval adds to price it
(kept apart from the published figures). Aggregates only: no person-level
data.

>>> from pbr_eval.datasets.cases import load_case, list_cases
>>> case = load_case("peterborough_cohort1")
>>> case.figure("treated_frequency").value
1.42
>>> len(list_cases()) >= 12
True

:func:`pbr_eval.aggregates.reproduce` rebuilds a case's published
statistics; :mod:`pbr_eval.datasets.cases.indigo` reads and writes the
INDIGO data standard.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from pbr_eval.exceptions import DataError, OptionError

__all__ = ["Case", "Figure", "Source", "CaseCheck", "load_case", "list_cases",
           "list_case_names", "case_from_dict"]

#: Kinds a figure may have (formatting follows :mod:`pbr_eval.kinds`).
FIGURE_KINDS = ("rate", "frequency", "count", "money", "number", "ratio")


@dataclass(frozen=True)
class Source:
    """Where figures were checked: publisher, title, date and address (as text)."""

    id: str
    publisher: str
    title: str
    date: str
    url: str
    type: str = "Report"
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """One published figure.

    Attributes
    ----------
    name : str
    value : float
        In natural units: proportions for rates (19% is 0.19), events per
        person for frequencies, pounds for money.
    precision : float
        Half the width of the rounding it was published to (19% is
        0.19 +/- 0.005); 0 for an exact figure (a contract price).
    kind : str
        One of :data:`FIGURE_KINDS`.
    as_published : str
        How the publisher stated it (paraphrased).
    source : str
        Id of the :class:`Source` it was checked against.
    """

    name: str
    value: float
    precision: float
    kind: str
    as_published: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class CaseCheck:
    """A published statistic or decision to rebuild from the published inputs.

    ``kind`` names a function in :data:`pbr_eval.aggregates.CHECKS`; ``params``
    name figures, numbers, or earlier checks (``"@id"``). ``published`` is the
    published value (a number, a ``[lower, upper]`` interval, or True/False for
    a decision); ``None`` marks an intermediate step that is not counted.
    """

    id: str
    kind: str
    params: Mapping[str, Any]
    statement: str
    published: Any = None
    precision: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class Case:
    """A published outcome contract (or evaluation) with its figures and decisions."""

    name: str
    title: str
    scheme: str
    commissioner: str
    period: str
    published: str
    summary: str
    decision: str
    paid: str
    figures: Mapping[str, Figure]
    checks: tuple[CaseCheck, ...]
    sources: tuple[Source, ...]
    unverified: tuple[str, ...] = ()
    assumptions: Mapping[str, Any] = field(default_factory=dict)
    pricing: Mapping[str, Any] = field(default_factory=dict)
    lesson: str = ""

    def figure(self, name: str) -> Figure:
        """Return the figure called ``name``."""
        try:
            return self.figures[name]
        except KeyError:
            raise OptionError(
                f"`name` must be one of {', '.join(map(repr, self.figures))}; got {name!r}."
            ) from None

    def source(self, sid: str) -> Source:
        """Return the source with id ``sid``."""
        for s in self.sources:
            if s.id == sid:
                return s
        raise OptionError(f"`sid` must be one of {', '.join(s.id for s in self.sources)}; "
                          f"got {sid!r}.")

    def figures_frame(self) -> pd.DataFrame:
        """Return the published figures with their precision and source."""
        rows = [{"figure": f.name, "value": f.value, "precision": f.precision, "kind": f.kind,
                 "as_published": f.as_published, "source": self.source(f.source).publisher,
                 "date": self.source(f.source).date} for f in self.figures.values()]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the case as a JSON-ready dictionary (the file it was loaded from)."""
        return {
            "name": self.name, "title": self.title, "scheme": self.scheme,
            "commissioner": self.commissioner, "period": self.period,
            "published": self.published, "summary": self.summary, "decision": self.decision,
            "paid": self.paid, "lesson": self.lesson,
            "figures": {k: {kk: vv for kk, vv in f.__dict__.items() if kk != "name"}
                        for k, f in self.figures.items()},
            "checks": [{kk: (dict(vv) if kk == "params" else vv) for kk, vv in c.__dict__.items()}
                       for c in self.checks],
            "sources": [s.__dict__.copy() for s in self.sources],
            "unverified": list(self.unverified), "assumptions": dict(self.assumptions),
            "pricing": dict(self.pricing),
        }


def _need(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise DataError(f"Case data {where} lacks the field {key!r}.")
    return d[key]


def case_from_dict(data: Mapping[str, Any]) -> Case:
    """Build and validate a :class:`Case` from its dictionary (``Case.to_dict()``).

    Raises
    ------
    DataError
        When a field is missing, a figure cites an unknown source, a figure's
        kind is unknown, or a check refers to an unknown figure or check.
    """
    name = str(_need(data, "name", "(unnamed)"))
    where = f"for case {name!r}"
    sources = tuple(Source(**s) for s in _need(data, "sources", where))
    sids = {s.id for s in sources}
    figures: dict[str, Figure] = {}
    for fname, f in _need(data, "figures", where).items():
        fig = Figure(name=fname, **f)
        if fig.source not in sids:
            raise DataError(f"Figure {fname!r} {where} cites source {fig.source!r}, which is not "
                            f"among its sources ({', '.join(sorted(sids))}).")
        if fig.kind not in FIGURE_KINDS:
            raise DataError(f"Figure {fname!r} {where} has kind {fig.kind!r}; expected one of "
                            f"{', '.join(FIGURE_KINDS)}.")
        figures[fname] = fig
    checks = []
    seen: set[str] = set()
    for c in _need(data, "checks", where):
        chk = CaseCheck(**c)
        for key, ref in chk.params.items():
            if key == "op":
                continue
            for r in (ref if isinstance(ref, list) else [ref]):
                if isinstance(r, str) and r.startswith("@") and r[1:] not in seen:
                    raise DataError(f"Check {chk.id!r} {where} refers to {r!r} in {key!r}; "
                                    "only earlier checks can be referred to.")
                if isinstance(r, str) and not r.startswith("@") and r not in figures:
                    raise DataError(f"Check {chk.id!r} {where} refers to figure {r!r} in "
                                    f"{key!r}, which the case does not have.")
        if chk.source and chk.source not in sids:
            raise DataError(f"Check {chk.id!r} {where} cites unknown source {chk.source!r}.")
        seen.add(chk.id)
        checks.append(chk)
    keys = ("title", "scheme", "commissioner", "period", "published", "summary", "decision",
            "paid")
    return Case(name=name, **{k: str(_need(data, k, where)) for k in keys},
                figures=figures, checks=tuple(checks), sources=sources,
                unverified=tuple(data.get("unverified", ())),
                assumptions=dict(data.get("assumptions", {})),
                pricing=dict(data.get("pricing", {})), lesson=str(data.get("lesson", "")))


def _data_files() -> dict[str, Any]:
    return {p.name[:-5]: p for p in resources.files(__name__).joinpath("_data").iterdir()
            if p.name.endswith(".json")}


def list_case_names() -> list[str]:
    """Return the names of the shipped cases, sorted.

    >>> "peterborough_final" in list_case_names()
    True
    """
    return sorted(_data_files())


@cache
def _load(name: str) -> Case:
    data = json.loads(_data_files()[name].read_text(encoding="utf-8"))
    case = case_from_dict(data)
    if case.name != name:
        raise DataError(f"Case file {name}.json holds the case named {case.name!r}.")
    return case


def load_case(name: str) -> Case:
    """Load a published case by name.

    Parameters
    ----------
    name : str
        One of :func:`list_case_names` (e.g. ``"peterborough_cohort1"``).

    Returns
    -------
    Case

    Raises
    ------
    OptionError
        For an unknown name (the message lists the shipped ones).

    Examples
    --------
    >>> load_case("peterborough_final").paid
    'paid'
    """
    names = list_case_names()
    if name not in names:
        raise OptionError(f"`name` must be one of {', '.join(map(repr, names))}; got {name!r}.")
    return _load(name)


def list_cases() -> pd.DataFrame:
    """Return a table of the shipped cases: scheme, period, what was decided, sources.

    Returns
    -------
    pandas.DataFrame
        One row per case: ``name``, ``title``, ``commissioner``, ``period``,
        ``decision``, ``paid``, ``figures``, ``checks`` (published statistics
        rebuilt by :func:`pbr_eval.aggregates.reproduce`), ``sources``.
    """
    rows = []
    for n in list_case_names():
        c = load_case(n)
        rows.append({
            "name": c.name, "title": c.title, "commissioner": c.commissioner,
            "period": c.period, "decision": c.decision, "paid": c.paid,
            "figures": len(c.figures),
            "checks": sum(1 for k in c.checks if k.published is not None),
            "sources": "; ".join(f"{s.publisher} ({s.date})" for s in c.sources),
        })
    return pd.DataFrame(rows)
