"""Public functions and classes have numpydoc docstrings whose examples run as doctests.

"Public" means every function or class named in the ``__all__`` of ``pbr_eval`` or of one of its
modules (exceptions and warnings excepted: their docstrings say when they are raised). A
function's docstring needs a ``Parameters`` section naming every parameter, a ``Returns`` (or
``Yields``) section unless it returns ``None``, and an ``Examples`` section whose ``>>>`` lines
are collected by ``pytest --doctest-modules`` (``pyproject.toml`` runs them over ``pbr_eval/``
in the suite). A class needs an ``Examples`` section.

What is still missing is listed in ``tests/docstring_debt.txt``, one object a line. The test
fails when a public object misses something not on that list (write the docstring) and when a
listed object is now complete (delete its line): the list only shrinks.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pbr_eval

DEBT = Path(__file__).with_name("docstring_debt.txt")
SECTION = re.compile(r"^([A-Z][A-Za-z ]*)\n-{3,}[ \t]*$", re.M)


def public_objects() -> dict[str, object]:
    """Every function and class in a public ``__all__`` of pbr_eval, by defining name."""
    names = ["pbr_eval"] + [m.name for m in pkgutil.walk_packages(pbr_eval.__path__, "pbr_eval.")]
    found: dict[str, object] = {}
    for name in names:
        if any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("pbr_eval"):
                continue
            if inspect.isclass(obj) and issubclass(obj, (BaseException, Warning)):
                continue
            found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


def sections(doc: str) -> dict[str, str]:
    """A numpydoc docstring's sections: title -> body."""
    parts = SECTION.split(doc)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def documented_parameters(body: str) -> set[str]:
    """Names in a Parameters section (``name : type``, ``a, b : type``, ``*args``)."""
    names: set[str] = set()
    for line in body.splitlines():
        if line and not line[0].isspace():
            head = re.split(r"\s:(?:\s|$)", line)[0]
            names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


def doctest_examples(obj: object) -> int:
    """How many examples ``--doctest-modules`` collects from the object's own docstring."""
    module = sys.modules[obj.__module__]
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, obj.__qualname__, module=module, globs={})
    return sum(len(t.examples) for t in tests)


def problems(obj: object) -> list[str]:
    """What the object's docstring lacks, in a fixed order."""
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ["docstring"]
    found = sections(doc)
    missing: list[str] = []
    if inspect.isfunction(obj):
        signature = inspect.signature(obj)
        wanted = [p for p in signature.parameters if p not in ("self", "cls")]
        if wanted:
            have = documented_parameters(found.get("Parameters", ""))
            if "Parameters" not in found:
                missing.append("Parameters")
            elif set(wanted) - have:
                missing.append("Parameters: " + ", ".join(p for p in wanted if p not in have))
        returns = signature.return_annotation
        if returns not in (None, "None") and not {"Returns", "Yields"} & found.keys():
            missing.append("Returns")
    if "Examples" not in found or ">>>" not in found["Examples"]:
        missing.append("Examples")
    elif not doctest_examples(obj):
        missing.append("Examples (not collected as a doctest)")
    return missing


def read_debt() -> dict[str, str]:
    debt: dict[str, str] = {}
    for line in DEBT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, what = line.partition(": ")
            debt[name.strip()] = what.strip()
    return debt


def current() -> dict[str, str]:
    return {name: "; ".join(missing) for name, obj in sorted(public_objects().items())
            if (missing := problems(obj))}


def test_public_objects_are_found() -> None:
    found = public_objects()
    for name in ("pbr_eval.api.estimate", "pbr_eval.pricing.recommend.price_from_rate",
                 "pbr_eval.cohort.Cohort", "pbr_eval.results.base.Results"):
        assert name in found
    assert not any("Error" in name.rsplit(".", 1)[1] for name in found)


def test_every_public_function_has_a_numpydoc_docstring_with_a_doctest() -> None:
    now, debt = current(), read_debt()
    changed = sorted(n for n in set(now) | set(debt) if now.get(n) != debt.get(n))
    worse = [n for n in changed if n in now and (
        n not in debt or set(now[n].split("; ")) - set(debt[n].split("; ")))]
    better = [n for n in changed if n not in worse]
    message = []
    if worse:
        message.append("Public objects whose docstrings lack something not listed in "
                       f"tests/{DEBT.name} (write it: STYLE.md rule 8):\n"
                       + "\n".join(f"  {n}: {now[n]}" for n in worse))
    if better:
        message.append(f"Docstrings completed: update or delete their lines in tests/{DEBT.name}:\n"
                       + "\n".join(f"  {n}: {now.get(n, '(complete)')}" for n in better))
    assert not message, "\n\n".join(message)


# ------------------------------------------------------------------------ the checks themselves
def _good(rate: float, *, level: float = 0.95) -> float:
    """Double a rate.

    Parameters
    ----------
    rate, level : float
        The rate and a level.

    Returns
    -------
    float

    Examples
    --------
    >>> 2 * 0.1
    0.2
    """
    return 2 * rate


def _bad(rate: float, cap: float) -> float:
    """Double a rate.

    Parameters
    ----------
    rate : float
        The rate.

    Examples
    --------
    Call it with a rate.
    """
    return 2 * rate


class _Shape:
    """A shape.

    Examples
    --------
    >>> 1 + 1
    2
    """


def test_the_checks_find_what_is_missing() -> None:
    assert problems(_good) == []
    assert problems(_bad) == ["Parameters: cap", "Returns", "Examples"]
    assert problems(_Shape) == []
    assert problems(lambda: None) == ["docstring"]
    assert documented_parameters("a, *b : int\n    text\nc\nd, e :\n") == set("abcde")
