"""Safe output: escaping, formula-injection neutralisation, confined paths.

Every text that reaches a report may come from the data (column names,
category labels, outcome names, file names), so every renderer passes it
through these helpers:

* :func:`escape_html` for HTML (and for Markdown, which renders inline HTML);
* :func:`neutralise_formula` for spreadsheet and CSV cells: a text cell that
  begins with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return, which
  some spreadsheet programs strip before reading a formula) is prefixed with
  an apostrophe so it is shown as text and never runs (OWASP "CSV
  injection");
* :func:`confine` for output paths: a name given in an analysis file or on
  the command line cannot leave the chosen output folder.

References
----------
OWASP Foundation. CSV Injection.
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import Any

from pbr_eval.exceptions import OptionError

__all__ = [
    "FORMULA_PREFIXES",
    "escape_html",
    "escape_markdown",
    "neutralise_formula",
    "confine",
    "safe_filename",
    "write_csv",
]

#: Leading characters that make a spreadsheet cell a formula (or can, once stripped).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def escape_html(value: Any) -> str:
    """Escape any value for HTML text or attribute content.

    Examples
    --------
    >>> escape_html("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def escape_markdown(value: Any) -> str:
    """Escape a value for a Markdown table cell or paragraph.

    HTML special characters are escaped (Markdown renders inline HTML), as are
    the characters that would break a table (``|``) or start emphasis or links.

    Examples
    --------
    >>> escape_markdown("a|b <i>")
    'a\\\\|b &lt;i&gt;'
    """
    text = html.escape(str(value), quote=False).replace("\n", " ").replace("\r", " ")
    return re.sub(r"([\\|`*_\[\]])", r"\\\1", text)


def neutralise_formula(value: Any) -> Any:
    """Make a text cell safe for a spreadsheet or CSV file.

    Non-text values (numbers, dates, None) are returned unchanged; text that
    starts with a formula character gets a leading apostrophe.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_formula(-0.5)
    -0.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_filename(name: Any, *, default: str = "output") -> str:
    """A file-name fragment from any text: letters, digits, ``-``, ``_``, ``.`` only.

    Examples
    --------
    >>> safe_filename("../../etc/passwd")
    'etc_passwd'
    """
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._")
    text = re.sub(r"\.{2,}", ".", text)
    return text[:80] or default


def confine(folder: str | Path, name: str | Path, *, option: str = "path") -> Path:
    """Resolve ``name`` inside ``folder``, refusing anything that would leave it.

    Parameters
    ----------
    folder : str or Path
        The chosen output folder.
    name : str or Path
        A relative file name (may contain sub-folders).
    option : str
        The option or key the name came from, for the error message.

    Returns
    -------
    Path
        The resolved path, inside ``folder``.

    Raises
    ------
    OptionError
        When ``name`` is absolute or climbs out with ``..`` (or a symbolic link).

    Examples
    --------
    >>> confine("/tmp/out", "pilot.html").name
    'pilot.html'
    >>> confine("/tmp/out", "../secret.html")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `path` must be a file name inside the output folder ...
    """
    base = Path(folder).resolve()
    raw = Path(name)
    target = (base / raw).resolve()
    if raw.is_absolute() or ".." in raw.parts or (target != base and base not in target.parents):
        raise OptionError(
            f"`{option}` must be a file name inside the output folder '{base}'; got "
            f"'{name}'. Give a relative name without '..' (e.g. 'pilot.html')."
        )
    return target


def _csv_cell(v: Any) -> Any:
    if isinstance(v, str):
        return neutralise_formula(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return v
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        f = float(v)
        return "" if f != f else repr(f)  # shortest round-trip text of a Python float
    return v


def write_csv(frame: Any, path: str | Path) -> Path:
    """Write an aggregate DataFrame as CSV with every text cell neutralised.

    Column names and text values that begin with a formula character get a
    leading apostrophe (:func:`neutralise_formula`); numbers are written as
    numbers (with ``repr`` precision, so a second run gives identical bytes).

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path

    Returns
    -------
    Path
    """
    path = Path(path)
    f = frame.reset_index() if frame.index.name is not None else frame
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([neutralise_formula(str(c)) for c in f.columns])
        for row in f.itertuples(index=False, name=None):
            w.writerow([_csv_cell(v) for v in row])
    return path
