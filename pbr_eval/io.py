"""One reader for the data files pbr_eval accepts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pbr_eval.exceptions import DataError, OptionError

__all__ = ["read_data", "READERS"]

READERS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xls": "Excel"}


def read_data(path: str | Path, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file into a DataFrame.

    Parameters
    ----------
    path : str or Path
    columns : list of str, optional
        Read only these columns (Parquet reads only them from disk).

    Raises
    ------
    DataError
        When the file is missing or unreadable.
    OptionError
        When the file type is not supported.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in READERS:
        raise OptionError(
            f"`data` must be a .csv, .parquet or .xlsx file; got '{p.name}'. Save the data in "
            "one of those formats."
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
