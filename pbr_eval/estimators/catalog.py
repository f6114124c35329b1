"""Every registered estimator as it describes itself: a table for users and for the docs.

The docs' estimator tables are generated from the declarations
(``family``, ``phrase``, ``estimands``, ``se_kinds``, ``validation_designs`` and
the class docstring's summary): ``python docs/make_estimator_tables.py``
rewrites each block between ``<!-- estimators:FAMILY[,FAMILY...]:start -->``
and ``<!-- estimators:end -->`` in ``docs/*.md``, and
``tests/test_estimator_contract.py`` fails when a committed table differs from
what the declarations give.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from pbr_eval.estimators.base import ESTIMATORS, Estimator
from pbr_eval.options import ESTIMATOR_FAMILIES, SE_DESCRIPTIONS, SE_KINDS, check_choice

__all__ = ["estimator_catalog", "estimator_table", "se_table", "module_table",
           "update_estimator_tables", "summary_line"]

_BLOCK = re.compile(r"(<!-- estimators:([a-z_,]+):start -->\n)(.*?)(<!-- estimators:end -->)",
                    re.S)
_SE_BLOCK = re.compile(r"(<!-- se-kinds:start -->\n)(.*?)(<!-- se-kinds:end -->)", re.S)
_MODULE_BLOCK = re.compile(
    r"(<!-- estimator-modules:start -->\n)(.*?)(<!-- estimator-modules:end -->)", re.S)


def summary_line(cls: type) -> str:
    """Return the first paragraph of a class docstring, on one line."""
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def _default(cls: type[Estimator], name: str) -> object:
    p = inspect.signature(cls.__init__).parameters.get(name)
    return None if p is None else p.default


def estimator_catalog(family: str | Iterable[str] | None = None) -> pd.DataFrame:
    """One row per registered estimator: what it is and what it declares.

    Parameters
    ----------
    family : str or list of str, optional
        Keep these families only (``"matching"``, ``"weighting"``, ...; see
        :data:`pbr_eval.options.ESTIMATOR_FAMILIES`).

    Returns
    -------
    pandas.DataFrame
        Columns ``method, class, module, family, summary, phrase, estimands,
        se_kinds, se_default, validation_designs, caveat`` (``""`` when the
        estimator declares none), ordered by family
        (as listed in :data:`~pbr_eval.options.ESTIMATOR_FAMILIES`) then method.

    Examples
    --------
    >>> from pbr_eval.estimators import estimator_catalog
    >>> estimator_catalog("doubly_robust")[["method", "class", "estimands"]]
      method                    class estimands
    0   aipw             AugmentedIPW  (ATT, ATE, ATC, ATO)
    1  ipwra  IPWRegressionAdjustment  (ATT, ATE, ATC, ATO)
    """
    wanted = ESTIMATOR_FAMILIES if family is None else (
        [family] if isinstance(family, str) else list(family))
    for f in wanted:
        check_choice("family", f, ESTIMATOR_FAMILIES)
    rows = []
    for method, cls in ESTIMATORS.items():
        if cls.family not in wanted:
            continue
        rows.append({
            "method": method,
            "class": cls.__name__,
            "module": cls.__module__,
            "family": cls.family,
            "summary": summary_line(cls),
            "phrase": cls.phrase,
            "estimands": tuple(cls.estimands),
            "se_kinds": tuple(cls.se_kinds),
            "se_default": _default(cls, "se"),
            "validation_designs": tuple(cls.validation_designs),
            "caveat": cls.caveat or "",
        })
    order = {f: i for i, f in enumerate(ESTIMATOR_FAMILIES)}
    rows.sort(key=lambda r: (order[str(r["family"])], str(r["method"])))
    return pd.DataFrame(rows, columns=["method", "class", "module", "family", "summary", "phrase",
                                       "estimands", "se_kinds", "se_default",
                                       "validation_designs", "caveat"])


def _se_cell(kinds: tuple[str, ...], default: object) -> str:
    if not kinds:
        return "none (model-based)"
    first = [default] if default in kinds else []
    rest = [k for k in kinds if k != default]
    return ", ".join(f'`"{k}"`' + (" (default)" if k == default else "") for k in first + rest)


def estimator_table(
    family: str | Iterable[str] | None = None, *, design_labels: Mapping[str, str] | None = None
) -> str:
    """Return the Markdown table of :func:`estimator_catalog` that the docs show.

    Columns: the ``method=`` name, the class, what it does (the class
    docstring's summary), the estimands, the ``se=`` choices (default first)
    and the coverage-study designs that check it (``docs/validation.md``).

    Parameters
    ----------
    family : str or list of str, optional
        As for :func:`estimator_catalog`.
    design_labels : mapping, optional
        Design name -> the label to show (``docs/make_estimator_tables.py``
        passes those of :data:`pbr_eval.validation.DESIGNS`); default the names.

    Examples
    --------
    >>> print(estimator_table("panel").splitlines()[0])
    | `method=` | class | what it does | estimands | `se=` | checked on (docs/validation.md) |
    """
    labels = dict(design_labels or {})
    lines = ["| `method=` | class | what it does | estimands | `se=` | "
             "checked on (docs/validation.md) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in estimator_catalog(family).to_dict(orient="records"):
        designs = ", ".join(labels.get(d, d) for d in r["validation_designs"])
        what = r["summary"] + (" Reports print a caveat." if r["caveat"] else "")
        lines.append(
            f'| `"{r["method"]}"` | `{r["class"]}` | {what.replace("|", "/")} | '
            f'{", ".join(r["estimands"])} | {_se_cell(r["se_kinds"], r["se_default"])} | '
            f"{designs} |"
        )
    return "\n".join(lines)


def se_table() -> str:
    """Return the ``se=`` names, what each means and which estimators take it (Markdown).

    Examples
    --------
    >>> print(next(row for row in se_table().splitlines() if "abadie_imbens" in row))
    | `"abadie_imbens"` | Abadie-Imbens (2006) matching variance (with replacement) | `nearest` |
    """
    cat = estimator_catalog()
    lines = ["| `se=` | what it is | taken by |", "| --- | --- | --- |"]
    for kind in SE_KINDS:
        users = [m for m, kinds in zip(cat["method"], cat["se_kinds"], strict=True)
                 if kind in kinds]
        if not users:
            continue
        who = ", ".join(f"`{m}`" for m in users)
        lines.append(f'| `"{kind}"` | {SE_DESCRIPTIONS[kind]} | {who} |')
    return "\n".join(lines)


def module_table() -> str:
    """Which module holds which registered estimators (Markdown; ``docs/ARCHITECTURE.md``).

    Examples
    --------
    >>> print(module_table().splitlines()[0])
    | module | estimators (`method=`) | family |
    """
    cat = estimator_catalog()
    lines = ["| module | estimators (`method=`) | family |", "| --- | --- | --- |"]
    for module, g in cat.groupby("module", sort=False):
        path = "pbr_eval/" + "/".join(str(module).split(".")[1:]) + ".py"
        members = ", ".join(f'`{c}` (`"{m}"`)' for c, m in zip(g["class"], g["method"],
                                                                 strict=True))
        lines.append(f"| `{path}` | {members} | {', '.join(dict.fromkeys(g['family']))} |")
    return "\n".join(lines)


def update_estimator_tables(text: str, *, design_labels: Mapping[str, str] | None = None) -> str:
    r"""``text`` with every ``<!-- estimators:...:start -->`` block regenerated (``all`` for every family).

    Examples
    --------
    >>> page = "<!-- estimators:panel:start -->\nold\n<!-- estimators:end -->"
    >>> update_estimator_tables(page).splitlines()[1].startswith("| `method=`")
    True
    """
    def block(m: re.Match[str]) -> str:
        families = [f for f in m.group(2).split(",") if f != "all"] or None
        table = estimator_table(families, design_labels=design_labels)
        return f"{m.group(1)}{table}\n{m.group(4)}"

    text = _BLOCK.sub(block, text)
    text = _MODULE_BLOCK.sub(lambda m: f"{m.group(1)}{module_table()}\n{m.group(3)}", text)
    return _SE_BLOCK.sub(lambda m: f"{m.group(1)}{se_table()}\n{m.group(3)}", text)
