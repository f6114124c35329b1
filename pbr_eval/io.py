"""One reader for the data pbr_eval accepts: CSV, Parquet, Excel files and SQL databases.

SQL goes through SQLAlchemy: give a database URL instead of a path and a
``query`` (a table name or a SELECT statement)::

    read_data("sqlite:///cohort.db", query="people")
    read_data("postgresql+psycopg://user@host/db", query="SELECT * FROM pbr.cohort_2024")

PostgreSQL needs a driver (``pip install "psycopg[binary]"``); put the
password in ``~/.pgpass`` or the ``PGPASSWORD`` environment variable rather
than in the URL (messages never print it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pbr_eval.exceptions import DataError, OptionError

__all__ = ["read_data", "READERS", "is_database_url", "write_bytes", "write_text"]

READERS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xls": "Excel"}


def is_database_url(source: str | Path) -> bool:
    """True when ``source`` is a database URL such as ``sqlite:///file.db``.

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


def read_data(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file, or a SQL query, into a DataFrame.

    Parameters
    ----------
    path : str or Path
        A file (.csv, .parquet/.pq, .xlsx/.xls) or a database URL
        understood by SQLAlchemy (``sqlite:///file.db``,
        ``postgresql+psycopg://user@host/db``).
    columns : list of str, optional
        Read only these columns (Parquet reads only them from disk; a table
        named in ``query`` is read with only them in the SELECT).
    query : str, optional
        For a database URL: a table name (optionally ``schema.table``) or a
        SELECT statement.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        When the file is missing or unreadable, or the query fails.
    OptionError
        When the file type is not supported, or a database URL comes without
        a query.

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
    if suffix not in READERS:
        raise OptionError(
            f"`data` must be a .csv, .parquet or .xlsx file; got '{p.name}'. Save the data in "
            "one of those formats, or give a database URL (e.g. sqlite:///file.db) with "
            "`query=`."
        )
    if not p.is_file():
        raise DataError(f"Data file '{p}' does not exist.")
    cols = list(columns) if columns is not None else None
    try:
        if suffix == ".csv":
            return pd.read_csv(p, usecols=cols)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p, columns=cols)
        return pd.read_excel(p, usecols=cols)
    except ImportError as err:
        raise DataError(
            f"Reading {READERS[suffix]} files needs an extra package: {err}. "
            "Install it with pip install 'pbr_eval[parquet]' (pyarrow) or openpyxl."
        ) from err
    except ValueError as err:
        if cols and "not in" in str(err) or "Usecols" in str(err) or "do not match" in str(err):
            raise DataError(f"Data file '{p.name}': {err}") from err
        raise DataError(f"Could not read '{p.name}' as {READERS[suffix]}: {err}") from err
    except Exception as err:  # parser errors, corrupt files
        raise DataError(f"Could not read '{p.name}' as {READERS[suffix]}: {err}") from err


# ----------------------------------------------------------------- writing
def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` completely or not at all (temporary file, then rename).

    The folder is created if needed. A failure (or Ctrl-C) part-way leaves any
    earlier file at ``path`` untouched and no partial file behind.

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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes`."""
    return write_bytes(path, text.encode("utf-8"))
