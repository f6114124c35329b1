"""One reader for the data pbr_eval accepts (CSV, Parquet, Excel files, SQL databases) and one safe writer for every file pbr_eval writes.

SQL goes through SQLAlchemy: give a database URL instead of a path and a
``query`` (a table name or a SELECT statement)::

    read_data("sqlite:///cohort.db", query="people")
    read_data("postgresql+psycopg://user@host/db", query="SELECT * FROM pbr.cohort_2024")

PostgreSQL needs a driver (``pip install "psycopg[binary]"``); put the
password in ``~/.pgpass`` or the ``PGPASSWORD`` environment variable rather
than in the URL (messages never print it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pbr_eval.exceptions import (
    DataError,
    MissingColumnError,
    OptionError,
    OutputError,
    PbrEvalError,
)

__all__ = ["read_data", "READERS", "is_database_url", "write_bytes", "write_text",
           "closest_names", "data_columns", "missing_columns_message", "sniff_csv"]

READERS = {".csv": "CSV", ".tsv": "CSV", ".parquet": "Parquet", ".pq": "Parquet",
           ".xlsx": "Excel", ".xls": "Excel", ".dta": "Stata", ".sav": "SPSS", ".zsav": "SPSS"}


def is_database_url(source: str | Path) -> bool:
    """Return True when ``source`` is a database URL such as ``sqlite:///file.db``.

    Examples
    --------
    >>> is_database_url("sqlite:///x.db"), is_database_url("data/x.csv")
    (True, False)
    """
    return isinstance(source, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source))


def _read_sql(url: str, query: str | None, cols: list[str] | None) -> pd.DataFrame:
    try:
        import sqlalchemy as sa
    except ImportError as err:  # pragma: no cover - sqlalchemy is a dependency
        raise DataError("Reading from a database needs SQLAlchemy: pip install sqlalchemy.") from err
    try:
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception as err:
        raise OptionError(
            f"`data` looks like a database URL but could not be parsed: {err}. Use the form "
            "dialect+driver://user@host/database, e.g. sqlite:///cohort.db."
        ) from err
    if not query or not str(query).strip():
        raise OptionError(
            f"`query` must name a table or give a SELECT statement when reading from the "
            f"database {shown}; got {query!r}."
        )
    q = str(query).strip()
    try:
        engine = sa.create_engine(url)
    except Exception as err:  # unknown dialect or driver not installed
        raise DataError(f"Could not connect to {shown}: {err}") from err
    try:
        with engine.connect() as conn:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", q):
                schema, _, name = q.rpartition(".")
                table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)
                if cols is not None:
                    missing = [c for c in cols if c not in table.c]
                    if missing:
                        raise DataError(
                            f"Table '{q}' in {shown} has no column "
                            f"{', '.join(map(repr, missing))}; its columns are "
                            f"{', '.join(map(repr, table.c.keys()))}."
                        )
                    stmt = sa.select(*(table.c[c] for c in cols))
                else:
                    stmt = sa.select(table)
                frame = pd.read_sql(stmt, conn)
            else:
                frame = pd.read_sql(sa.text(q), conn)
    except DataError:
        raise
    except Exception as err:
        raise DataError(f"The query on {shown} failed: {err}") from err
    finally:
        engine.dispose()
    if cols is not None:
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(
                f"The query on {shown} returned no column {', '.join(map(repr, missing))}; it "
                f"returned {', '.join(map(repr, frame.columns))}."
            )
        frame = frame[cols]
    return frame


def closest_names(name: str, names: Sequence[Any], n: int = 3) -> list[str]:
    """Return the columns most like ``name`` (a misspelling, other case or spacing), best first.

    Examples
    --------
    >>> closest_names("agee", ["person_id", "age", "sex"])
    ['age']
    >>> closest_names("Sex ", ["person_id", "age", "sex"])
    ['sex']
    """
    import difflib

    pool = [str(x) for x in names]
    folded = {" ".join(x.split()).casefold(): x for x in pool}
    key = " ".join(str(name).split()).casefold()
    exact = [folded[key]] if key in folded else []
    near = difflib.get_close_matches(key, list(folded), n=n, cutoff=0.6)
    return list(dict.fromkeys(exact + [folded[k] for k in near]))[:n]


def missing_columns_message(absent: Sequence[str], available: Sequence[Any], where: str,
                            roles: Mapping[str, Sequence[str]] | None = None) -> str:
    """One message for columns that are not in the data: which option named each, the closest names the data do have, and (some of) the columns it has.

    Examples
    --------
    >>> missing_columns_message(["agee"], ["person_id", "age"], "'d.csv'",
    ...                         roles={"covariates": ["age", "agee"]})
    "`covariates` names 'agee', which is not in 'd.csv' (did you mean 'age'?). The data have 'person_id', 'age'."
    """
    parts = []
    for col in absent:
        owner = next((r for r, cols in (roles or {}).items() if col in cols), None)
        near = closest_names(col, available)
        hint = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
        parts.append((f"`{owner}` names {col!r}" if owner else f"Column {col!r}")
                     + f", which is not in {where}{hint}")
    shown = ", ".join(repr(str(c)) for c in list(available)[:30])
    more = f" and {len(available) - 30} more" if len(available) > 30 else ""
    return "; ".join(parts) + f". The data have {shown}{more}."


#: Separators tried when sniffing a CSV file (comma, semicolon, tab, pipe).
CSV_SEPARATORS = (",", ";", "\t", "|")


def sniff_csv(path: str | Path, *, sample_bytes: int = 65536) -> dict[str, str]:
    r"""Return the separator (and decimal mark) of a CSV file, from its first lines.

    Spreadsheets in much of Europe save "CSV" with semicolons and decimal
    commas (``1,5``); this returns ``{"sep": ";", "decimal": ","}`` for those,
    ``{"sep": ",", "decimal": "."}`` for ordinary files.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.csv")
    >>> _ = open(p, "w").write("id;age;score\n1;30;1,5\n2;41;2,25\n")
    >>> sniff_csv(p)
    {'sep': ';', 'decimal': ','}
    """
    import csv as _csv

    with open(path, "rb") as fh:
        head = fh.read(sample_bytes)
    text = head.decode("utf-8", errors="replace")
    if len(head) == sample_bytes and "\n" in text:
        text = text[: text.rfind("\n")]  # whole lines only
    lines = [ln for ln in text.splitlines() if ln.strip()][:200]
    sep = ","
    if lines:
        try:
            sep = _csv.Sniffer().sniff("\n".join(lines), delimiters="".join(CSV_SEPARATORS)).delimiter
        except _csv.Error:
            counts = {d: lines[0].count(d) for d in CSV_SEPARATORS}
            best = max(counts, key=lambda d: counts[d])
            sep = best if counts[best] else ","
        if sep not in CSV_SEPARATORS:
            sep = ","
        if lines[0].count(sep) == 0 and lines[0].count(",") > 0:
            sep = ","
    decimal = "."
    if sep == ";":
        body = [f.strip().strip('"') for ln in lines[1:] for f in ln.split(";")]
        comma = sum(bool(re.fullmatch(r"-?\d+,\d+", f)) for f in body)
        dot = sum(bool(re.fullmatch(r"-?\d+\.\d+", f)) for f in body)
        decimal = "," if comma > 0 and dot == 0 else "."
    return {"sep": sep, "decimal": decimal}


def _csv_options(path: Path, sep: str | None) -> dict[str, str]:
    if sep is not None:
        return {"sep": sep, "decimal": "," if sep == ";" and
                sniff_csv(path)["decimal"] == "," else "."}
    return sniff_csv(path)


def data_columns(path: str | Path, *, sheet: str | int | None = None,
                 sep: str | None = None) -> list[str] | None:
    """Return the column names of a data file, read without loading its rows (``None`` for a database URL, whose columns the query decides)."""
    if is_database_url(path):
        return None
    p = Path(path)
    suffix = p.suffix.lower()
    _check_file(p, suffix, sheet)
    try:
        if READERS[suffix] == "CSV":
            return [str(c) for c in pd.read_csv(p, nrows=0, **_csv_options(p, sep)).columns]
        if READERS[suffix] == "Parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(p).names if not str(c).startswith(
                "__index_level_")]
        if READERS[suffix] == "Excel":
            try:
                return [str(c) for c in pd.read_excel(p, nrows=0, sheet_name=_sheet(sheet)).columns]
            except (ValueError, IndexError) as err:
                raise _sheet_error(p, sheet, err) from err
        if READERS[suffix] == "Stata":
            with pd.read_stata(p, iterator=True) as reader:
                return [str(c) for c in reader.variable_labels()]
        import pyreadstat

        _, meta = pyreadstat.read_sav(str(p), metadataonly=True)
        return [str(c) for c in meta.column_names]
    except ImportError as err:
        raise _reader_missing(p, suffix, err) from err
    except PbrEvalError:
        raise
    except Exception as err:  # corrupt or unreadable file: say which
        raise DataError(f"Could not read '{p.name}' as {READERS[suffix]}: {err}") from err


def _sheet(sheet: str | int | None) -> str | int:
    return 0 if sheet is None else sheet


def _sheet_error(p: Path, sheet: str | int | None, err: Exception) -> PbrEvalError:
    if not ("Worksheet" in str(err) or isinstance(err, IndexError)):
        return DataError(f"Could not read '{p.name}' as Excel: {err}")
    try:
        names = pd.ExcelFile(p).sheet_names
    except Exception:  # pragma: no cover - the file opened a moment ago
        names = []
    return OptionError(f"`sheet` {sheet!r} is not in '{p.name}'; its sheets are "
                       f"{', '.join(map(repr, names))} (by name, or numbered from 0).")


def _reader_missing(p: Path, suffix: str, err: ImportError) -> DataError:
    extra = {"Parquet": "pip install 'pbr_eval[parquet]' (pyarrow)",
             "SPSS": "pip install 'pbr_eval[spss]' (pyreadstat)",
             "Excel": "pip install openpyxl"}.get(READERS[suffix], f"the package named: {err}")
    return DataError(f"Reading {READERS[suffix]} files ('{p.name}') needs an extra package "
                     f"({err.name or err}). Install it with {extra}.")


def _check_file(p: Path, suffix: str, sheet: str | int | None) -> None:
    if suffix not in READERS:
        kinds: dict[str, list[str]] = {}
        for suf, kind in READERS.items():
            kinds.setdefault(kind, []).append(suf)
        listed = ", ".join(f"{k} ({', '.join(v)})" for k, v in kinds.items())
        raise OptionError(
            f"`data` must be a {listed} file; got '{p.name}'. Save "
            "the data in one of those formats, or give a database URL (e.g. "
            "sqlite:///file.db) with `query=`."
        )
    if not p.is_file():
        if p.is_dir():
            raise DataError(f"Data file '{p}' is a folder; give the file inside it.")
        raise DataError(f"Data file '{p}' does not exist.")
    if sheet is not None and READERS[suffix] != "Excel":
        raise OptionError(f"`sheet` is only for Excel files (.xlsx, .xls); got '{p.name}'. "
                          "Drop `sheet`.")


def read_data(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    query: str | None = None,
    sheet: str | int | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read a CSV, Parquet, Excel, Stata or SPSS file, or a SQL query, into a DataFrame.

    Parameters
    ----------
    path : str or Path
        A file (.csv/.tsv, .parquet/.pq, .xlsx/.xls, .dta, .sav/.zsav) or a
        database URL understood by SQLAlchemy (``sqlite:///file.db``,
        ``postgresql+psycopg://user@host/db``).
    columns : list of str, optional
        Read only these columns (a file's other columns are never loaded; a
        table named in ``query`` is read with only them in the SELECT). A name
        the data do not have raises :class:`MissingColumnError` with the
        closest names it does have.
    query : str, optional
        For a database URL: a table name (optionally ``schema.table``) or a
        SELECT statement.
    sheet : str or int, optional
        For an Excel file: the sheet (name or 0-based position; default the first).
    sep : str, optional
        For a CSV file: the separator. By default it is sniffed from the first
        lines (comma, semicolon, tab or pipe), and a semicolon file with
        decimal commas (``1,5``) is read with ``decimal=","``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        When the file is missing or unreadable, or the query fails.
    MissingColumnError
        When ``columns`` names a column the data do not have.
    OptionError
        When the file type is not supported, or a database URL comes without
        a query, or ``sheet`` is given for a file that is not Excel.

    Notes
    -----
    Stata files are read with :func:`pandas.read_stata` (value labels become
    categories) and SPSS files with :func:`pandas.read_spss`, which needs the
    optional ``pyreadstat`` package (``pip install 'pbr_eval[spss]'``).

    Examples
    --------
    >>> import sqlite3, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> con = sqlite3.connect(os.path.join(d, "c.db"))
    >>> _ = con.execute("CREATE TABLE people (id TEXT, treated INT, age REAL)")
    >>> _ = con.executemany("INSERT INTO people VALUES (?, ?, ?)", [("a", 1, 30.0), ("b", 0, 41.0)])
    >>> con.commit(); con.close()
    >>> read_data(f"sqlite:///{d}/c.db", query="people", columns=["treated", "age"])
       treated   age
    0        1  30.0
    1        0  41.0
    """
    if is_database_url(path):
        return _read_sql(str(path), query, list(columns) if columns is not None else None)
    if query is not None:
        raise OptionError(
            f"`query` is only for a database URL (e.g. sqlite:///file.db); got a file "
            f"'{Path(path).name}'. Drop `query` or give a database URL."
        )
    p = Path(path)
    suffix = p.suffix.lower()
    _check_file(p, suffix, sheet)
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    if cols is not None:
        have = data_columns(p, sheet=sheet, sep=sep)
        absent = [c for c in cols if c not in (have or [])]
        if have is not None and absent:
            raise MissingColumnError(missing_columns_message(absent, have, f"'{p.name}'"))
    kind = READERS[suffix]
    try:
        if kind == "CSV":
            return pd.read_csv(p, usecols=cols, **_csv_options(p, sep))
        if kind == "Parquet":
            return pd.read_parquet(p, columns=cols)
        if kind == "Excel":
            return pd.read_excel(p, usecols=cols, sheet_name=_sheet(sheet))
        if kind == "Stata":
            return _read_stata(p, cols)
        return pd.read_spss(p, usecols=cols, convert_categoricals=True)
    except ImportError as err:
        raise _reader_missing(p, suffix, err) from err
    except (ValueError, IndexError) as err:
        if kind == "Excel" and not isinstance(err, UnicodeDecodeError):
            raise _sheet_error(p, sheet, err) from err
        raise reading_error(p, kind, err) from err
    except Exception as err:  # parser errors, corrupt files, memory
        raise reading_error(p, kind, err) from err


def reading_error(path: Path, kind: str, err: BaseException) -> DataError:
    """Return the typed error for a ``kind`` file (e.g. "CSV") that could not be read.

    Parameters
    ----------
    path : pathlib.Path
        The file (only its name is shown).
    kind : str
        The format it was read as, in words ("CSV", "Parquet").
    err : BaseException
        What the reader raised.

    Returns
    -------
    DataError
        A message saying what went wrong and how to fix it (UTF-8, memory or the reader's words).

    Examples
    --------
    >>> str(reading_error(Path("a.csv"), "CSV", MemoryError()))
    "'a.csv' does not fit in memory. Read fewer columns, or use a machine with more memory."
    """
    if isinstance(err, UnicodeDecodeError):
        return DataError(f"'{path.name}' is not UTF-8 text (byte {err.start}); save it as UTF-8 "
                         "(in Excel: 'CSV UTF-8').")
    if isinstance(err, MemoryError):
        return DataError(f"'{path.name}' does not fit in memory. Read fewer columns, or use a "
                         "machine with more memory.")
    return DataError(f"Could not read '{path.name}' as {kind}: {err}")


def _read_stata(p: Path, cols: list[str] | None) -> pd.DataFrame:
    import warnings

    try:
        return pd.read_stata(p, columns=cols, convert_categoricals=True)
    except ValueError as err:
        if "labels" not in str(err).lower():
            raise
        from pbr_eval.exceptions import PbrEvalWarning

        warnings.warn(f"'{p.name}': Stata value labels are not unique ({err}); the columns are "
                      "read as their numeric codes.", PbrEvalWarning, stacklevel=3)
        return pd.read_stata(p, columns=cols, convert_categoricals=False)


# ------------------------------------------------------------------ memory
#: Peak memory of checking a cohort (``pbr-eval validate``: the frame read, then
#: ``Cohort.check``'s copy of it and its design matrix) as a multiple of the size of the
#: frame read. Measured on the shipped reoffending data replicated to 5 million rows
#: (frame 529 MB, peak 2,246 MB: 4.2x); see benchmarks/bench_validate_memory.py.
CHECK_MEMORY_FACTOR = 4.5

__all__ += ["reading_error"]
__all__ += ["CHECK_MEMORY_FACTOR", "available_memory", "check_memory", "estimate_memory",
            "parse_size"]


def available_memory() -> int | None:
    """Bytes of memory the system could give this process now (``None`` if unknown)."""
    import os

    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def parse_size(text: str | int | float, *, option: str = "max_memory") -> int:
    """Bytes from a size such as ``"4GB"``, ``"500 MB"``, ``"2G"`` or a number of bytes.

    Examples
    --------
    >>> parse_size("4GB"), parse_size("1.5 g"), parse_size(1000)
    (4000000000, 1500000000, 1000)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?i?b?)\s*", str(text), re.I)
        if not m:
            raise OptionError(f"`{option}` must be a size such as 4GB or 500MB; got {text!r}.")
        value, unit = float(m.group(1)), m.group(2).lower()
    scale = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
             "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
             "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}[unit]
    if value <= 0:
        raise OptionError(f"`{option}` must be a positive size such as 4GB; got {text!r}.")
    return int(value * scale)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def estimate_memory(path: str | Path, columns: Sequence[str], *, sep: str | None = None,
                    sample_rows: int = 20_000) -> tuple[int, int] | None:
    """(bytes a check of ``columns`` would need, rows) for a CSV or Parquet file, estimated from its size and its first rows without reading the rest; ``None`` for other sources."""
    if is_database_url(path):
        return None
    p = Path(path)
    kind = READERS.get(p.suffix.lower())
    if kind == "CSV":
        opts = _csv_options(p, sep)
        sample = pd.read_csv(p, nrows=sample_rows, usecols=list(columns) or None, **opts)
        if len(sample) == 0:
            return 0, 0
        with open(p, "rb") as fh:
            fh.readline()  # header
            start = fh.tell()
            for _ in range(len(sample)):
                if not fh.readline():
                    break
            line_bytes = (fh.tell() - start) / len(sample)
        rows = int((p.stat().st_size - start) / max(line_bytes, 1.0))
    elif kind == "Parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(p)
        rows = int(pf.metadata.num_rows)
        if rows == 0 or pf.num_row_groups == 0:
            return 0, 0
        sample = pf.read_row_group(0, columns=list(columns) or None).to_pandas()
        if len(sample) == 0:
            return 0, rows
    else:
        return None
    per_row = float(sample.memory_usage(deep=True, index=False).sum()) / len(sample)
    return int(rows * per_row * CHECK_MEMORY_FACTOR), rows


def check_memory(path: str | Path, columns: Sequence[str], *,
                 limit: str | int | None = None, sep: str | None = None,
                 sheet: Any = None, need: tuple[int, int] | None = None) -> None:
    """Refuse, before reading, a check that would not fit in memory.

    The need is estimated with :func:`estimate_memory` (or given as ``need``:
    bytes and rows, e.g. by :func:`pbr_eval.filecheck.estimate_check_memory`);
    the budget is ``limit`` (e.g. ``"4GB"``) or, by default, 90% of the memory
    the system has free.

    Raises
    ------
    DataError
        Saying how much would be needed, how much there is, and what to do.
    """
    budget = parse_size(limit) if limit is not None else available_memory()
    if budget is None:
        return
    if limit is None:
        budget = int(budget * 0.9)
    try:
        est = need if need is not None else estimate_memory(path, columns, sep=sep)
    except (OSError, ValueError, ImportError):  # the reader will say what is wrong
        return
    if est is None or est[0] <= budget:
        return
    needed, rows = est
    name = Path(path).name
    raise DataError(
        f"Checking '{name}' ({_size(Path(path).stat().st_size)} on disk, about {rows:,} rows, "
        f"{len(columns)} columns) would need about {_size(needed)} of memory; "
        + (f"the limit (--max-memory) is {_size(budget)}" if limit is not None else
           f"this machine has about {_size(budget)} free")
        + ". Nothing was read. Check a sample first (e.g. the first million rows: "
        f"head -n 1000001 {name} > sample.csv), name fewer columns, or use a machine with more "
        "memory."
    )


# ================================================================= writing
# Every file pbr_eval writes goes through this section: complete or not at all (temporary
# file, then rename), text cleaned of control and bidirectional-override characters, cells
# neutralised so that a spreadsheet never runs them, lengths bounded. Multi-file outputs are
# built in a staging folder and moved into place only when complete (:class:`Staging`).

#: Longest text written into one cell, label or value (an Excel cell holds 32,767 characters).
MAX_CELL_CHARS = 32_767

#: Unicode bidirectional controls: they make text display in a different order from the one
#: it is stored in ("Trojan Source", CVE-2021-42574), so a label could show one thing and be
#: another. Arabic letter mark, left-to-right / right-to-left marks, embeddings, overrides
#: and isolates.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# C0 controls except tab, newline and carriage return; DEL and the C1 controls; the bidi
# controls; U+FFFE/U+FFFF (not characters: XML, hence .xlsx, refuses them).
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\ufffe\uffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")  # lone surrogates cannot be encoded as UTF-8

#: Leading characters that make a spreadsheet cell a formula, or can once a program strips
#: them (tab, carriage return), including the full-width forms some spreadsheet programs
#: convert (OWASP "CSV injection").
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r",
                                     "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: The file that marks a folder as pbr_eval's complete output (see :class:`Staging`).
MARKER = ".pbr_eval.json"

__all__ += ["BIDI_CONTROLS", "FORMULA_PREFIXES", "MARKER", "MAX_CELL_CHARS", "Staging",
            "check_replaceable", "read_marker", "sha256_file", "verify_folder",
            "clean_text", "neutralise_formula", "safe_cell", "save_workbook", "staged_folder",
            "write_csv", "write_figure", "write_json"]


def clean_text(value: Any, *, max_length: int | None = MAX_CELL_CHARS) -> str:
    r"""Text safe to show anywhere: controls and bidi overrides removed, length bounded.

    Every renderer (HTML, Markdown, workbook, CSV) passes text that may come from
    the user's data or files (labels, column names, file names) through this.
    Tab, newline and carriage return are kept; other control characters (which
    crash the workbook writer and can hide text in a terminal), the Unicode
    bidirectional controls (:data:`BIDI_CONTROLS`) and the non-characters
    U+FFFE/U+FFFF are removed; a lone surrogate becomes U+FFFD. Text longer
    than ``max_length`` is cut and ends in an ellipsis.

    Parameters
    ----------
    value : any
        Converted with ``str()``.
    max_length : int or None, default MAX_CELL_CHARS
        Longest text returned (``None``: no limit).

    Returns
    -------
    str

    Examples
    --------
    >>> clean_text("re\x00offended\u202e")
    'reoffended'
    >>> clean_text("a" * 10, max_length=5)
    'aaaa…'
    """
    text = value if isinstance(value, str) else str(value)
    text = _UNSAFE_CHARS.sub("", text)
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(max_length - 1, 0)] + "…"
    return text


def neutralise_formula(value: Any) -> Any:
    r"""Make a text cell inert in a spreadsheet: prefix an apostrophe if it could run.

    Non-text values (numbers, dates, None) are returned unchanged; text that
    starts with one of :data:`FORMULA_PREFIXES` gets a leading apostrophe, so
    Excel and LibreOffice show it as text (OWASP "CSV injection").

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","y")')
    '\'=HYPERLINK("http://x","y")'
    >>> neutralise_formula(-0.5)
    -0.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_cell(value: Any, *, max_length: int | None = MAX_CELL_CHARS) -> Any:
    r"""Return a spreadsheet or CSV cell: text cleaned (:func:`clean_text`) then neutralised (:func:`neutralise_formula`); numbers, dates, booleans and missing values unchanged.

    Examples
    --------
    >>> safe_cell("\u202e=1+1")
    "'=1+1"
    >>> safe_cell(3)
    3
    """
    if isinstance(value, str):
        return neutralise_formula(clean_text(value, max_length=max_length))
    return value


def _output_error(path: Path, err: OSError) -> OutputError:
    import errno

    reason = err.strerror or str(err)
    if err.errno == errno.ENOSPC or err.errno == getattr(errno, "EDQUOT", -1):
        fix = "The disk is full: free some space or write to another folder (--out)."
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "pbr_eval may not write there: choose another folder (--out)."
    elif err.errno == errno.EISDIR:
        fix = "A folder has that name: choose another file name."
    elif err.errno == errno.ENAMETOOLONG:
        fix = "Choose a shorter name."
    else:
        fix = "Check that the folder exists and can be written, or choose another (--out)."
    out = OutputError(f"Could not write '{path}': {reason}. {fix} Nothing was changed there.")
    out.errno = err.errno
    return out


_UMASK: int | None = None


def _umask() -> int:
    """Return the process's umask, read without changing it where the system allows."""
    global _UMASK
    if _UMASK is None:
        import os

        try:
            with open("/proc/self/status", encoding="ascii") as fh:
                line = next(ln for ln in fh if ln.startswith("Umask:"))
            _UMASK = int(line.split()[1], 8)
        except (OSError, StopIteration, ValueError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` completely or not at all (temporary file, then rename).

    The folder is created if needed. A failure (full disk, no permission, Ctrl-C)
    part-way leaves any earlier file at ``path`` untouched and no partial file
    behind.

    Raises
    ------
    OutputError
        When the file cannot be written (the message says why and how to fix it).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_bytes(os.path.join(d, "a", "x.txt"), b"hello")
    ...     p.read_bytes()
    b'hello'
    """
    import os
    import tempfile

    target = Path(path)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".part",
                                   dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # mkstemp makes 0600; give the usual permissions
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise _output_error(target, err) from err
        raise
    return target


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes`.

    A lone surrogate (which UTF-8 cannot hold) is written as U+FFFD rather than
    failing half-way through a run.
    """
    return write_bytes(path, text.encode("utf-8", errors="replace"))


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2, sort_keys: bool = False,
               default: Any = None) -> Path:
    r"""Write ``obj`` as JSON (with a final newline) atomically.

    Non-ASCII and control characters are written as ``\u`` escapes, so the
    file shows no bidi reordering in any viewer.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_json(os.path.join(d, "r.json"), {"a": 1}).read_text()
    '{\n  "a": 1\n}\n'
    """
    return write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys,
                                       default=default) + "\n")


def _safe_label(c: Any) -> str:
    if isinstance(c, tuple):
        c = " ".join(str(x) for x in c if str(x))
    return safe_cell(str(c))


def write_csv(frame: Any, path: str | Path, *, index: bool | None = None) -> Path:
    """Write a DataFrame as CSV atomically, every text cell and header made safe.

    Text cells and column names are cleaned and neutralised (:func:`safe_cell`);
    numbers are written as numbers with full (round-trip) precision, so a
    second run gives identical bytes; missing values are empty cells.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path
    index : bool, optional
        Write the index as the first column(s). Default: only when it is named.

    Returns
    -------
    Path

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(pd.DataFrame({"label": ["=1+1", "ok"], "x": [0.5, None]}),
    ...                   os.path.join(d, "t.csv"))
    ...     print(p.read_text())
    label,x
    '=1+1,0.5
    ok,
    <BLANKLINE>
    """
    f = frame
    if index is None:
        index = any(n is not None for n in f.index.names)
    if index:
        f = f.reset_index()
    cols: dict[int, Any] = {}
    for j in range(f.shape[1]):
        s = f.iloc[:, j]
        if s.dtype == object or isinstance(s.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            s = s.astype(object).map(safe_cell)
        cols[j] = s.reset_index(drop=True)
    out = pd.DataFrame(cols)
    out.columns = [_safe_label(c) for c in f.columns]
    return write_text(path, out.to_csv(index=False, lineterminator="\n"))


def write_figure(path: str | Path, fig: Any, **savefig_kw: Any) -> Path:
    """Save a matplotlib figure atomically (format from the suffix, default PNG).

    ``metadata={"Software": None}`` is the default, so the same figure gives the
    same bytes on every run.
    """
    import io

    buf = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    savefig_kw.setdefault("metadata", {"Software": None} if fmt == "png" else None)
    if savefig_kw["metadata"] is None:
        savefig_kw.pop("metadata")
    fig.savefig(buf, format=fmt, **savefig_kw)
    return write_bytes(path, buf.getvalue())


def save_workbook(workbook: Any, path: str | Path) -> Path:
    """Save an openpyxl workbook atomically (built in memory, then written and renamed).

    A failure while saving leaves any earlier workbook at ``path`` intact.
    """
    import io

    buf = io.BytesIO()
    workbook.save(buf)
    return write_bytes(path, buf.getvalue())


# ------------------------------------------------------------ staged outputs
_STAGE_RE = re.compile(r"^\..*\.pbr-(?:partial|old)-(\d+)-[A-Za-z0-9_]+$")
_FIGURE_RE = re.compile(r"^\d{2}_[A-Za-z0-9._-]+\.png$")


def _pid_alive(pid: int) -> bool:
    import os

    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (or not allowed to ask): keep its folder
        return True
    return True


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _sweep_stale(parent: Path) -> None:
    """Remove staging folders left by pbr_eval processes that were killed (SIGKILL, power cut)."""
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for e in entries:
        m = _STAGE_RE.match(e.name)
        if m and e.is_dir() and not e.is_symlink() and not _pid_alive(int(m.group(1))):
            _remove_tree(e)


def _make_stage(parent: Path, label: str) -> Path:
    import os
    import tempfile

    try:
        parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale(parent)
        stage = Path(tempfile.mkdtemp(prefix=f".{label[:60]}.pbr-partial-{os.getpid()}-",
                                      dir=parent))
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; the output folder is normal
        return stage
    except OSError as err:
        raise _output_error(parent, err) from err


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 of a file, read in 1 MB blocks (provenance, completion records)."""
    import hashlib

    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree_files(folder: Path) -> list[str]:
    import os

    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            out.append(Path(root, f).relative_to(folder).as_posix())
    return out


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """Return the completion record of a folder pbr_eval wrote (``None`` if it has none).

    The record (``.pbr_eval.json``) holds ``complete: true``, the command, the
    pbr_eval version, the time and the SHA-256 of every file in the folder, so
    :func:`verify_folder` can tell a complete output from a mixed or edited one.
    """
    p = Path(folder) / MARKER
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("made_by") == "pbr_eval" else None


def verify_folder(folder: str | Path) -> list[str]:
    """Problems with a pbr_eval output folder: no completion record, a file missing, changed or added since pbr_eval wrote it.

    An empty list means complete and untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with staged_folder(os.path.join(d, "out")) as work:
    ...     _ = write_text(work / "a.txt", "x")
    >>> verify_folder(os.path.join(d, "out"))
    []
    >>> _ = write_text(os.path.join(d, "out", "b.txt"), "y")
    >>> verify_folder(os.path.join(d, "out"))
    ["'b.txt' was not written by pbr_eval"]
    """
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is None or not marker.get("complete"):
        return [f"'{folder}' has no pbr_eval completion record ({MARKER})"]
    listed: dict[str, str] = marker.get("files", {})
    problems = []
    present = set(_tree_files(folder)) - {MARKER}
    for name, digest in sorted(listed.items()):
        if name not in present:
            problems.append(f"'{name}' is missing")
        elif sha256_file(folder / name) != digest:
            problems.append(f"'{name}' was changed after pbr_eval wrote it")
    problems += [f"'{n}' was not written by pbr_eval" for n in sorted(present - set(listed))]
    return problems


def _write_marker(folder: Path, command: str) -> None:
    import datetime as _dt

    from pbr_eval._version import __version__

    files = {n: sha256_file(folder / n) for n in _tree_files(folder) if n != MARKER}
    write_json(folder / MARKER, {
        "made_by": "pbr_eval", "version": __version__, "command": command, "complete": True,
        "completed": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "files": files,
    }, sort_keys=True)


def check_replaceable(target: str | Path, names: Sequence[str] = ()) -> None:
    """Refuse to replace ``target`` unless it is absent, empty or pbr_eval's own output.

    pbr_eval replaces an output folder whole (so no file from an earlier run
    lingers); it therefore refuses a folder holding anything it did not write.
    A folder is pbr_eval's when its completion record lists every file in it; a
    folder from before completion records counts when every entry is one of
    ``names`` (what the new output will hold), or, for a ``*_figures`` folder,
    a PNG file.

    Raises
    ------
    OutputError
        Naming the folder, up to three foreign entries, and what to do.
    """
    import os

    target = Path(target)
    if not os.path.lexists(target):
        return
    if target.is_symlink() or not target.is_dir():
        raise OutputError(
            f"Output folder '{target}' exists and is not a folder (a file or a link). Choose "
            "another folder name, or remove it."
        )
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        cwd = None
    if cwd is not None and (cwd == target.resolve() or target.resolve() in cwd.parents):
        raise OutputError(
            f"Output folder '{target}' is the current folder (or holds it); pbr_eval replaces its "
            "output folder whole. Give a sub-folder, e.g. --out reports/run1."
        )
    entries = sorted(os.listdir(target))
    if not entries:
        return
    marker = read_marker(target)
    if marker is not None:
        listed = set(marker.get("files", {}))
        foreign = [n for n in _tree_files(target) if n != MARKER and n not in listed]
    else:
        wanted = set(names) | {MARKER}
        pngs = target.name.endswith("_figures") and all(
            _FIGURE_RE.match(e) or e.endswith(".png") for e in entries)
        foreign = [] if pngs else [e for e in entries if e not in wanted]
    if foreign:
        shown = ", ".join(repr(f) for f in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise OutputError(
            f"Output folder '{target}' holds files pbr_eval did not write ({shown}). pbr_eval "
            "replaces its output folder whole, so it will not write there: choose a new or empty "
            "folder (--out), or move those files away."
        )


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def _swap_in(new: Path, dest: Path) -> None:
    """Put folder ``new`` at ``dest``, replacing what is there, with no mixed state visible."""
    import os
    import secrets

    if not os.path.lexists(dest):
        os.rename(new, dest)
        return
    if not any(dest.iterdir()):
        try:
            dest.rmdir()
            os.rename(new, dest)
            return
        except OSError:  # e.g. a mount point: move the entries in instead
            for e in new.iterdir():
                os.rename(e, dest / e.name)
            new.rmdir()
            return
    if _exchange(new, dest):
        _remove_tree(new)  # now holds the old output
        return
    old = dest.parent / f".{dest.name[:60]}.pbr-old-{os.getpid()}-{secrets.token_hex(4)}"
    os.rename(dest, old)
    os.rename(new, dest)
    _remove_tree(old)


class _SignalsDeferred:
    """Hold Ctrl-C / SIGTERM while outputs are moved into place (delivered afterwards)."""

    def __enter__(self) -> _SignalsDeferred:
        import signal

        self._old = None
        if hasattr(signal, "pthread_sigmask"):
            self._old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self._old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old)


class Staging:
    """Build outputs out of sight and put them in place only when all are complete.

    ``folder(target)`` gives a staging folder that replaces ``target`` whole at
    the end (an analysis run, the demo); ``file(target)`` gives a staging path
    for one file whose neighbours written with it (a Markdown report's
    ``<name>_figures/`` folder) come too. Leaving the ``with`` block normally
    writes a completion record (``.pbr_eval.json``: ``complete: true``, the
    SHA-256 of every file) into each staged folder and moves everything into
    place; an error or Ctrl-C inside the block removes the staging folders and
    leaves every earlier output as it was. The moves themselves run with
    Ctrl-C held back, so no destination ever mixes files from two runs, and a
    replaced folder keeps no file of the old one (no stale figures).

    Parameters
    ----------
    command : str
        Recorded in the completion record (e.g. ``"pbr-eval run"``).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with Staging(command="example") as st:
    ...     work = st.folder(os.path.join(d, "out"))
    ...     _ = write_text(work / "a.txt", "complete")
    >>> sorted(os.listdir(os.path.join(d, "out")))
    ['.pbr_eval.json', 'a.txt']
    """

    def __init__(self, *, command: str = "pbr_eval") -> None:
        self.command = command
        self._folders: list[tuple[Path, Path]] = []
        self._files: dict[Path, Path] = {}
        self._made: list[Path] = []  # folders made for the outputs (removed again if empty)
        self._done = False

    def _stage(self, parent: Path, label: str) -> Path:
        missing = []
        p = parent
        while not p.exists() and p != p.parent:
            missing.append(p)
            p = p.parent
        stage = _make_stage(parent, label)
        self._made += [m for m in missing if m not in self._made]  # deepest first
        return stage

    def folder(self, target: str | Path, *, expected: Sequence[str] = ()) -> Path:
        """Return a staging folder that will replace ``target`` whole.

        ``target`` is checked at once (:func:`check_replaceable`, with
        ``expected`` the names the output will hold), so a refusal comes
        before any work.
        """
        dest = Path(target).absolute()
        check_replaceable(dest, expected)
        stage = self._stage(dest.parent, dest.name)
        self._folders.append((stage, dest))
        return stage

    def file(self, target: str | Path) -> Path:
        """Return a staging path for the file ``target`` (same name, in a hidden folder beside it)."""
        dest = Path(target).absolute()
        if dest.is_dir():
            raise OutputError(f"'{dest}' is a folder; give a file name such as '{dest}/report.html'.")
        parent = dest.parent
        if parent not in self._files:
            self._files[parent] = self._stage(parent, "files")
        return self._files[parent] / dest.name

    def destination(self, staged: str | Path) -> Path:
        """Where a path inside a staging folder will be once committed."""
        p = Path(staged).absolute()
        for stage, dest in self._folders:
            if p == stage or stage in p.parents:
                return dest / p.relative_to(stage)
        for parent, stage in self._files.items():
            if p == stage or stage in p.parents:
                return parent / p.relative_to(stage)
        return p

    def commit(self) -> None:
        """Write the completion records and move everything into place."""
        import os

        try:
            moves: list[tuple[str, Path, Path]] = []
            for stage, dest in self._folders:
                _write_marker(stage, self.command)
                check_replaceable(dest, [e.name for e in stage.iterdir()])
                moves.append(("dir", stage, dest))
            for parent, stage in self._files.items():
                for entry in sorted(stage.iterdir()):
                    dest = parent / entry.name
                    if entry.is_dir():
                        _write_marker(entry, self.command)
                        check_replaceable(dest, [e.name for e in entry.iterdir()])
                        moves.append(("dir", entry, dest))
                    elif dest.is_dir():
                        raise OutputError(f"'{dest}' is a folder; pbr_eval will not replace it "
                                          "with a file. Choose another file name.")
                    else:
                        moves.append(("file", entry, dest))
            with _SignalsDeferred():
                for kind, src, dest in moves:
                    try:
                        if kind == "file":
                            os.replace(src, dest)
                        else:
                            _swap_in(src, dest)
                    except OutputError:
                        raise
                    except OSError as err:
                        raise _output_error(dest, err) from err
        finally:
            self.abort()
        self._done = True

    def abort(self) -> None:
        """Remove every staging folder, and the folders made for them if left empty.

        Earlier outputs are untouched; a failed run leaves no empty folder behind.
        """
        for stage, _ in self._folders:
            _remove_tree(stage)
        for stage in self._files.values():
            _remove_tree(stage)
        for made in self._made:
            try:
                made.rmdir()  # only if empty: after a commit it holds the outputs
            except OSError:
                pass

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
            return
        self.commit()


class staged_folder:
    """``with staged_folder(target) as work:`` write into ``work``; ``target`` is replaced whole, with a completion record, only if the block finishes (see :class:`Staging`)."""

    def __init__(self, target: str | Path, *, command: str = "pbr_eval",
                 expected: Sequence[str] = ()) -> None:
        self._staging = Staging(command=command)
        self._target, self._expected = target, expected

    def __enter__(self) -> Path:
        return self._staging.folder(self._target, expected=self._expected)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._staging.__exit__(exc_type, exc, tb)
