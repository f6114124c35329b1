"""The one base every results object shares: the same face everywhere.

Every results object (counterfactual estimates, bootstrap, prices, tariffs,
payment simulation, cash flow, sensitivity, claims, areas, balance, ...) is a
:class:`Results`:

* read-only once built (:class:`~pbr_eval.results._readonly.ReadOnly`);
* ``to_frame()`` whose every column has a declared kind (:attr:`Results.schema`,
  or :meth:`Results.frame_schema` when the columns depend on the data);
* ``summary()`` (plain text), ``__str__`` (the summary), ``_repr_html_``
  (the frame formatted by its kinds);
* ``to_dict()`` / ``to_json()`` (aggregates only, JSON-ready, tagged with the
  class's :attr:`Results.kind`) and ``Results.from_dict()`` /
  ``Results.from_json()`` that rebuild an equivalent object, so
  ``Results.from_dict(r.to_dict()).to_dict() == r.to_dict()``;
* ``plot()`` where a figure exists (:class:`HasFigures`): the figure is drawn
  by one function in :mod:`pbr_eval.figures` from plain data
  (:meth:`HasFigures.figure_data`), the same function the reports use.

A new results kind: subclass :class:`Results`, set ``kind`` (a registry name,
unique) and ``schema``, implement ``to_frame``, ``summary``, ``_to_state`` and
``_from_state``. ``tests/test_results_contract.py`` walks every registered
class.
"""

from __future__ import annotations

import html
import json
import math
from abc import ABC, ABCMeta, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Schema, format_value, resolve_kind
from pbr_eval.results._readonly import ReadOnly

__all__ = ["Results", "HasFigures", "RESULTS_KINDS", "jsonable", "frame_from_records"]

#: kind name -> results class; filled when a subclass with a ``kind`` is defined.
RESULTS_KINDS: dict[str, type[Results]] = {}


def jsonable(obj: Any) -> Any:
    """Return a JSON-ready copy of ``obj``: numpy scalars to Python, NaN/inf to None.

    Parameters
    ----------
    obj : object
        Mappings, lists, tuples, numpy scalars and arrays, numbers, strings, nested.

    Returns
    -------
    object
        The same structure with dictionary keys as strings, tuples as lists, numpy values
        as Python ones, non-finite numbers as ``None``, timestamps as ISO text and any
        other object as its ``repr``.

    Examples
    --------
    >>> jsonable({"a": np.float64(0.5), "b": [np.int64(2), float("nan")]})
    {'a': 0.5, 'b': [2, None]}
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (str, int)) or obj is None:
        return obj
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return repr(obj)


def _import_all_results() -> None:
    """Import every pbr_eval module, so every results class has registered its kind."""
    import importlib
    import pkgutil

    # by name, not `import pbr_eval`: no static import of the layers above results
    root = importlib.import_module(__name__.split(".")[0])
    for mod in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        if mod.name.split(".")[-1] in ("__main__",):
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError:  # an optional dependency that is not installed
            continue


def frame_from_records(rows: Any, columns: Any = None, *, index: str | None = None,
                       text: Any = ()) -> pd.DataFrame:
    """Return a DataFrame rebuilt from ``to_dict(orient="records")`` rows of a saved results file.

    ``None`` (JSON's null) becomes NaN in number columns; columns named in
    ``text`` keep their values as they are. ``index``: the column to set as
    the index.

    Parameters
    ----------
    rows : list of dict
        The saved rows.
    columns : sequence of str, optional
        The columns, in order (default: as in the rows; needed when there are no rows).
    index : str, optional
        The column to set as the index.
    text : sequence of str
        Columns whose values are kept as they are.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> f = frame_from_records([{"a": 1.0, "b": "x"}, {"a": None, "b": "y"}], text=["b"])
    >>> f["a"].tolist(), f["b"].tolist()
    ([1.0, nan], ['x', 'y'])
    """
    frame = pd.DataFrame([dict(r) for r in (rows or [])], columns=columns)
    for c in frame.columns:
        if c in text or c == index:
            continue
        values = frame[c]
        if values.map(lambda v: v is None or isinstance(v, (int, float, np.number))
                      and not isinstance(v, bool)).all():
            frame[c] = pd.to_numeric(values, errors="coerce")
            if values.map(lambda v: v is None).any() or frame[c].dtype.kind == "f":
                frame[c] = frame[c].astype(float)
    if index is not None:
        frame = frame.set_index(index)
    return frame


class Results(ReadOnly, metaclass=ABCMeta):
    """Base of every results object.

    Class attributes
    ----------------
    kind : str
        Registry name written into ``to_dict()["kind"]``; unique per class.
    schema : Schema
        The columns of ``to_frame()`` with their kinds and labels.
    title : str
        Plain-English name of what the object holds (``_repr_html_`` heading).

    Examples
    --------
    Every results object has the same face: a table whose columns declare their kinds
    (formats and disclosure read the kinds), a text summary, and a dictionary that rebuilds it.

    >>> from pbr_eval.aggregates import from_rates
    >>> res = from_rates(0.26, 231, 0.35, outcome="reoffended")
    >>> res.kind, [c.kind for c in res.frame_schema().columns][:5]
    ('counterfactual', ['text', 'text', 'count', 'count', 'outcome'])
    >>> print(res.summary().splitlines()[0])
    pbr_eval: non-intervention estimate (aggregates:rates, estimand ATT)
    >>> Results.from_dict(res.to_dict()).to_frame().equals(res.to_frame())
    True
    """

    kind: ClassVar[str] = ""
    schema: ClassVar[Schema] = Schema()
    title: ClassVar[str] = "pbr_eval results"
    #: Keys that identify this class's ``to_dict()`` output written before
    #: dictionaries carried their ``kind`` (pbr_eval 0.1), so ``Results.from_dict``
    #: still reads those files.
    _legacy_keys: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        k = cls.__dict__.get("kind")
        if k:
            other = RESULTS_KINDS.get(k)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"results kind {k!r} is taken by {other.__qualname__}")
            RESULTS_KINDS[k] = cls

    # ----------------------------------------------------------- the face
    def frame_schema(self) -> Schema:
        """Return the schema of this object's ``to_frame()`` (override when it depends on the data)."""
        return type(self).schema

    @abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """Return the object's table; every column declared in :meth:`frame_schema`."""

    @abstractmethod
    def summary(self) -> str:
        """Return a plain-text summary for a terminal or a report."""

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={type(self).kind!r}>"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        if frame.index.name is not None or any(n is not None for n in frame.index.names):
            frame = frame.reset_index()
        schema = self.frame_schema()
        cols = [c for c in schema if c.name in frame.columns]
        head = "".join(f"<th>{html.escape(c.label)}</th>" for c in cols)
        body = []
        for row in frame.to_dict(orient="records"):
            cells = "".join(
                f"<td>{html.escape(format_value(row.get(c.name), resolve_kind(c, row)))}</td>"
                for c in cols
            )
            body.append(f"<tr>{cells}</tr>")
        return (f"<div><strong>{html.escape(self.title)}</strong><table><thead><tr>{head}"
                f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")

    # ------------------------------------------------------------ export
    @abstractmethod
    def _to_state(self) -> dict[str, Any]:
        """Return the JSON-ready content of :meth:`to_dict` (without ``kind``)."""

    @classmethod
    @abstractmethod
    def _from_state(cls, state: Mapping[str, Any]) -> Results:
        """Rebuild an object from :meth:`_to_state`'s output."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (aggregates only), tagged with ``kind``."""
        state = jsonable(self._to_state())
        if "kind" in state:
            raise TypeError(f"{type(self).__name__}._to_state() must not use the key 'kind' "
                            "(it holds the results kind); rename it.")
        return {"kind": type(self).kind, **state}

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise :meth:`to_dict` as JSON; write it to ``path`` if given (atomically)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            from pbr_eval.io import write_text

            write_text(path, text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        """Rebuild a results object from :meth:`to_dict`'s output.

        Called on :class:`Results` it dispatches on ``data["kind"]``; called on
        a subclass it checks the kind matches.
        """
        if not isinstance(data, Mapping):
            raise OptionError(f"`data` must be a mapping from to_dict(); got {type(data).__name__}.")
        k = data.get("kind")
        if k is not None and str(k) not in RESULTS_KINDS:
            _import_all_results()  # a kind defined in a module not imported yet
        target = RESULTS_KINDS.get(str(k)) if k is not None else None
        if target is None and k is None:
            # a dictionary written before results carried their kind (pbr_eval 0.1)
            if cls is not Results and cls.kind:
                target = cls
            else:
                keys = set(data)
                found = [c for c in RESULTS_KINDS.values() if c._legacy_keys
                         and c._legacy_keys <= keys]
                target = found[0] if len(found) == 1 else None
        if target is None:
            raise OptionError(
                f"`data['kind']` must be one of {', '.join(map(repr, sorted(RESULTS_KINDS)))};"
                f" got {k!r}. Pass the output of a results object's to_dict()."
            )
        if cls is not Results and not issubclass(target, cls):
            raise OptionError(
                f"This dictionary holds {target.__name__} ('{target.kind}'), not {cls.__name__}."
            )
        state = {key: v for key, v in data.items() if key != "kind"}
        return target._from_state(state)

    @classmethod
    def from_json(cls, source: str | Path) -> Results:
        """Rebuild a results object from JSON text or a JSON file's path."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise OptionError(f"`source` must be JSON text or a readable file; got {source!r} "
                                  f"({exc.strerror}).") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OptionError(f"`source` is not valid JSON: {exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}.") from None
        return cls.from_dict(data)


class HasFigures(ABC):
    """Mixin for results that have figures: ``plot()`` draws one with :mod:`pbr_eval.figures`.

    A subclass lists its figures in ``figures`` (names in
    :data:`pbr_eval.figures.FIGURES`; the first is the default) and implements
    :meth:`figure_data`, which returns the plain, disclosure-safe data the
    figure function draws from. Reports call the same :meth:`figure_data` and
    the same drawing function.

    Examples
    --------
    >>> from pbr_eval.datasets import load_reoffending; sim = load_reoffending()
    >>> import pbr_eval
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest")
    >>> res.figures
    ('love', 'overlap')
    >>> sorted(res.figure_data("love"))
    ['after', 'before', 'covariates', 'threshold']
    >>> ax = res.plot("love")  # save it with ax.figure.savefig("love.png")
    """

    figures: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return the plain data figure ``name`` is drawn from (aggregates only).

        Parameters
        ----------
        name : str
            One of ``figures``.
        policy : disclosure policy, optional
            ``None``: the analyst's view (everything in these results).
            A :class:`pbr_eval.disclosure.DisclosurePolicy`: the published
            view, with values that would reveal a small count left out
            (``None``), as the reports draw it.
        """

    def plot(self, name: str | None = None, *, ax: Any = None, policy: Any = None) -> Any:
        """Draw a figure of these results with matplotlib and return its Axes.

        Parameters
        ----------
        name : str, optional
            Which figure (default: the first in ``figures``).
        ax : matplotlib.axes.Axes, optional
            Where to draw (default: a new figure; save it with
            ``ax.figure.savefig("figure.png")``).
        policy : disclosure policy, optional
            Draw the published view (see :meth:`figure_data`).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from pbr_eval.figures import draw
        from pbr_eval.options import check_choice

        name = self.figures[0] if name is None else check_choice("name", name, self.figures)
        return draw(name, self.figure_data(name, policy=policy), ax=ax)
