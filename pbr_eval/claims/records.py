"""Evidence records indexed once for fast window look-ups (:class:`RecordStore`).

Records are long-format rows (unit, measure, date, value). They are sorted
once per measure by (unit, date) into one integer key, so that the records of
any unit in any date window are two binary searches
(:meth:`RecordStore.window`), whatever the number of claims.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import DataError, MissingColumnError

__all__ = ["RecordStore"]

_OFF = np.int64(2**31)
_STRIDE = np.int64(2**32)


def _to_days(values: Any, what: str) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01 (NaT -> a sentinel checked by callers)."""
    try:
        with warnings.catch_warnings():  # "could not infer format": we report failures ourselves
            warnings.simplefilter("ignore", UserWarning)
            dt = pd.to_datetime(pd.Series(values), errors="raise")
    except (ValueError, TypeError) as err:
        raise DataError(f"{what} must hold dates (e.g. 2024-07-19); {err}.") from err
    out = dt.to_numpy().astype("datetime64[D]").astype(np.int64)
    out[dt.isna().to_numpy()] = np.iinfo(np.int64).min
    return out


@dataclass(frozen=True)
class _Measure:
    key: np.ndarray  # unit_code * STRIDE + day + OFF, sorted
    day: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class RecordStore:
    """Long-format evidence records, indexed once for fast window look-ups.

    Build it with :meth:`from_frame`. Records are sorted by (unit, date) per
    measure; a claim's window is then two binary searches.

    Attributes
    ----------
    units : pandas.Index
        Every unit identifier seen in the records.
    measures : dict
        Measure name -> sorted arrays.
    dropped : list of dict
        Rows left out (missing unit, date or value; exact duplicates) and why.
    """

    units: pd.Index
    measures: dict[str, _Measure]
    dropped: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_frame(cls, records: pd.DataFrame, *, unit_id: str = "unit_id",
                   measure: str = "measure", date: str = "date",
                   value: str = "value") -> RecordStore:
        """Index a records DataFrame (the caller's frame is not changed).

        Raises
        ------
        MissingColumnError
            A named column is absent.
        DataError
            Dates or values cannot be read, or the same unit, measure and
            date carry two different values.
        """
        if not isinstance(records, pd.DataFrame):
            raise DataError(f"`records` must be a pandas DataFrame; got {type(records).__name__}.")
        for role, col in (("unit_id", unit_id), ("measure", measure), ("date", date),
                          ("value", value)):
            if col not in records.columns:
                raise MissingColumnError(
                    f"Records column `{role}`='{col}' is not in the records; columns are "
                    f"{list(records.columns)[:10]}. Pass {role}=<column name>.")
        ucode, units = pd.factorize(records[unit_id], sort=False)
        mcode, mnames = pd.factorize(records[measure], sort=False)
        day = _to_days(records[date], f"Records column '{date}'")
        try:
            val = pd.to_numeric(records[value], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as err:
            raise DataError(f"Records column '{value}' must be numeric; {err}. Convert it "
                            "(e.g. '92%' -> 92).") from err
        dropped: list[dict[str, Any]] = []
        bad = (ucode < 0) | (mcode < 0) | (day == np.iinfo(np.int64).min) | ~np.isfinite(val)
        if bad.any():
            dropped.append({"n": int(bad.sum()), "reason": "records with a missing unit, "
                            "measure, date or value (treated as no evidence)",
                            "stage": "records"})
        ok = ~bad
        u, m, d, v = ucode[ok].astype(np.int64), mcode[ok], day[ok], val[ok]
        # sort by measure, unit, date (value last, to find duplicates): all integer work
        order = np.lexsort((v, d, u, m))
        u, m, d, v = u[order], m[order], d[order], v[order]
        same = (u[1:] == u[:-1]) & (m[1:] == m[:-1]) & (d[1:] == d[:-1])
        exact = same & (v[1:] == v[:-1])
        if exact.any():
            dropped.append({"n": int(exact.sum()), "reason": "exact duplicate records",
                            "stage": "records"})
        clash = same & ~exact
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            raise DataError(
                f"{int(clash.sum())} records give different values for the same unit, measure "
                f"and date (e.g. unit {units[u[i]]!r}, measure '{mnames[m[i]]}', values "
                f"{v[i]:g} and {v[i + 1]:g}); keep one value per unit, measure and date.")
        keep = np.ones(len(u), dtype=bool)
        keep[1:] = ~exact
        u, m, d, v = u[keep], m[keep], d[keep], v[keep]
        bounds = (np.flatnonzero(np.r_[True, m[1:] != m[:-1], True]) if len(m)
                  else np.zeros(1, dtype=np.int64))
        measures: dict[str, _Measure] = {}
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # one block per measure
            key = u[a:b] * _STRIDE + d[a:b] + _OFF  # sorted: (unit, date) within the block
            measures[str(mnames[m[a]])] = _Measure(key, d[a:b], v[a:b])
        return cls(pd.Index(units), measures, dropped)

    def unit_codes(self, units: Any) -> np.ndarray:
        """Codes of ``units`` in the store (-1 where a unit has no records)."""
        return self.units.get_indexer(pd.Index(units)).astype(np.int64)

    def window(self, measure: str, codes: np.ndarray, start: np.ndarray,
               end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index ranges [lo, hi) of each unit's records dated in (start, end]."""
        m = self.measures.get(measure)
        if m is None:
            z = np.zeros(len(codes), dtype=np.int64)
            return z, z
        base = np.where(codes < 0, -_STRIDE, codes * _STRIDE) + _OFF
        lo = np.searchsorted(m.key, base + start, side="right")
        hi = np.searchsorted(m.key, base + end, side="right")
        hi = np.where(codes < 0, lo, hi)
        return lo.astype(np.int64), hi.astype(np.int64)
