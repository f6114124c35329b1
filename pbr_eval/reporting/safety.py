"""Safe output: escaping, formula-injection neutralisation, confined paths.

Every text that reaches a report may come from the data (column names,
category labels, outcome names, file names), so every renderer passes it
through these helpers, which first clean it with :func:`pbr_eval.io.clean_text`
(control characters and Unicode bidi overrides removed, length bounded):

* :func:`escape_html` for HTML (and for Markdown, which renders inline HTML);
* :func:`escape_markdown` for Markdown text and table cells;
* :func:`neutralise_formula` (= :func:`pbr_eval.io.safe_cell`) for spreadsheet
  and CSV cells: a text cell that begins with ``=``, ``+``, ``-``, ``@`` (or a
  tab / carriage return, which some spreadsheet programs strip before reading
  a formula, or a full-width form of those) is prefixed with an apostrophe so
  it is shown as text and never runs (OWASP "CSV injection");
* :func:`confine` for output paths: a name given in an analysis file or on
  the command line cannot leave the chosen output folder.

Files themselves are written by :mod:`pbr_eval.io` (``write_text``,
``write_bytes``, ``write_csv``, ``save_workbook``, ``write_figure``): complete
or not at all.

References
----------
OWASP Foundation. CSV Injection.
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.io import FORMULA_PREFIXES, MAX_CELL_CHARS, clean_text, safe_cell
from pbr_eval.io import write_csv as _write_csv

__all__ = [
    "FORMULA_PREFIXES",
    "MAX_CELL_CHARS",
    "clean_text",
    "escape_html",
    "escape_markdown",
    "neutralise_formula",
    "safe_cell",
    "confine",
    "safe_filename",
    "write_csv",
]


def escape_html(value: Any) -> str:
    r"""Escape any value for HTML text or attribute content.

    Examples
    --------
    >>> escape_html("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    >>> escape_html("abc\u202edef\x07")
    'abcdef'
    """
    return html.escape(clean_text(value), quote=True)


def escape_markdown(value: Any) -> str:
    r"""Escape a value for a Markdown table cell or paragraph.

    HTML special characters are escaped (Markdown renders inline HTML), as are
    the characters that would break a table (``|``) or start emphasis or links.

    Examples
    --------
    >>> escape_markdown("a|b <i>")
    'a\\|b &lt;i&gt;'
    """
    text = html.escape(clean_text(value), quote=False).replace("\n", " ").replace("\r", " ")
    return re.sub(r"([\\|`*_\[\]])", r"\\\1", text)


def neutralise_formula(value: Any) -> Any:
    r"""Make a value safe for a spreadsheet or CSV cell (:func:`pbr_eval.io.safe_cell`).

    Non-text values (numbers, dates, None) are returned unchanged; text is
    cleaned (:func:`pbr_eval.io.clean_text`: controls that crash the workbook
    writer and bidi overrides removed, at most 32,767 characters) and, if it
    starts with a formula character, gets a leading apostrophe.

    Examples
    --------
    >>> neutralise_formula('@SUM(A1:A9)\x07')
    "'@SUM(A1:A9)"
    >>> neutralise_formula(3)
    3
    """
    return safe_cell(value)


def safe_filename(name: Any, *, default: str = "output") -> str:
    """Return a file-name fragment from any text: letters, digits, ``-``, ``_``, ``.`` only.

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


def write_csv(frame: Any, path: str | Path) -> Path:
    """Write an aggregate DataFrame as CSV with every text cell made safe, atomically.

    Delegates to :func:`pbr_eval.io.write_csv` (kept here for the renderers' imports).
    """
    return _write_csv(frame, path)
