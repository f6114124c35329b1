"""Time-to-event outcomes: the :class:`TimeToEvent` role of a :class:`~pbr_eval.Cohort`.

A time-to-event outcome (time to first reoffence, to leaving a job, to losing
a tenancy) is given either as a time and an event indicator, or as dates that
are converted here: the start of follow-up (e.g. release), the date of the
event (missing when none happened) and the end of follow-up (the date the data
were extracted, or a column of dates). Each outcome has the contract's
follow-up window (e.g. 365 days). The checks (negative times, events after the
end of follow-up, a window no comparison person is followed for) raise
:class:`~pbr_eval.exceptions.TimeToEventError` naming the columns.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError, TimeToEventError
from pbr_eval.options import check_choice, check_positive

__all__ = ["TimeToEvent", "TimeUnit", "TIME_UNITS", "DAYS_PER_UNIT", "as_time_to_event"]

#: Units of a time-to-event outcome's times and window.
TimeUnit = Literal["days", "weeks", "months"]
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)
#: Days in one unit when times are computed from dates (a month is 365.25 / 12 days).
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}


@dataclass(frozen=True)
class TimeToEvent:
    """How a time-to-event outcome is recorded, and the contract's follow-up window.

    Give either ``time`` and ``event`` columns, or dates: ``start`` with
    ``end`` and ``event`` (``end`` the date of the event or of the end of
    follow-up), or ``start`` with ``event_date`` and ``end`` (``event_date``
    missing when no event happened; ``end`` the end of follow-up, a column or
    one date for everyone, e.g. the data extraction date).

    Parameters
    ----------
    window : float
        The contract's follow-up window in ``unit`` (e.g. 365 days, 52
        weeks): outcomes after it do not count, and the window probability
        and restricted mean are taken up to it.
    time : str, optional
        Column: time from the start of follow-up to the event or censoring, in ``unit``.
    event : str, optional
        Column: 1 (or True) when the event was observed, 0 when follow-up ended first.
    start : str, optional
        Column of dates: start of follow-up (e.g. release from prison).
    end : str or date, optional
        Column of dates, or one date: the end of follow-up (with ``event``:
        the date of the event or of the end of follow-up).
    event_date : str, optional
        Column of dates: when the event happened (missing for none).
    unit : {"days", "weeks", "months"}, default "days"
        Unit of ``time`` and ``window``; dates are converted to it (a month
        is 365.25/12 days).

    Examples
    --------
    >>> TimeToEvent(window=52, time="week", event="arrest", unit="weeks").columns()
    ['week', 'arrest']
    >>> TimeToEvent(window=365, start="released", event_date="reoffence").columns()
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `time_to_event` with `start` and `event_date` needs `end` (the end of follow-up: a column of dates or one date such as pd.Timestamp('2024-03-31')); got none.
    """

    window: float
    time: str | None = None
    event: str | None = None
    start: str | None = None
    end: Any = None
    event_date: str | None = None
    unit: str = "days"

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", check_positive("window", self.window))
        check_choice("unit", self.unit, TIME_UNITS)
        for name in ("time", "event", "start", "event_date"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise OptionError(f"`{name}` must be a column name; got {v!r}.")
        end = self.end
        if end is not None and not isinstance(end, str):
            try:
                end = pd.Timestamp(end)
            except (TypeError, ValueError) as err:
                raise OptionError(
                    f"`end` must be a column name or a date; got {end!r}."
                ) from err
            if not isinstance(self.end, (_dt.date, np.datetime64, pd.Timestamp)):
                raise OptionError(f"`end` must be a column name or a date; got {self.end!r}.")
            object.__setattr__(self, "end", end)
        if self.time is not None:
            if self.event is None:
                raise OptionError(
                    "`time_to_event` with `time` needs `event` (the column holding 1 when the "
                    "event happened, 0 when follow-up ended first); got none."
                )
            if self.start is not None or self.event_date is not None or self.end is not None:
                raise OptionError(
                    "`time_to_event` takes either `time` and `event`, or dates (`start`, `end`, "
                    "`event` or `event_date`); got both."
                )
            return
        if self.start is None:
            raise OptionError(
                "`time_to_event` needs `time` and `event` columns, or a `start` date column with "
                "`end` and `event` (or `event_date`); got neither `time` nor `start`."
            )
        if self.end is None:
            raise OptionError(
                f"`time_to_event` with `start` and {'`event_date`' if self.event_date else '`event`'}"
                " needs `end` (the end of follow-up: a column of dates or one date such as "
                "pd.Timestamp('2024-03-31')); got none."
            )
        if (self.event is None) == (self.event_date is None):
            raise OptionError(
                "`time_to_event` with dates takes exactly one of `event` (1/0, with `end` the date "
                "of the event or of the end of follow-up) and `event_date` (missing for none); got "
                + ("both." if self.event is not None else "neither.")
            )

    @property
    def from_dates(self) -> bool:
        """Whether the times are computed from dates."""
        return self.time is None

    def columns(self) -> list[str]:
        """Return the data columns this outcome reads."""
        cols = [self.time, self.event, self.start, self.event_date,
                self.end if isinstance(self.end, str) else None]
        return [c for c in cols if c is not None]

    def roles(self) -> list[tuple[str, str]]:
        """(role, column) pairs, for messages."""
        return [(k, v) for k in ("time", "event", "start", "event_date", "end")
                if isinstance(v := getattr(self, k), str)]

    def date_columns(self) -> list[str]:
        """Columns holding dates."""
        return [c for c in (self.start, self.event_date,
                            self.end if isinstance(self.end, str) else None) if c is not None]

    def to_dict(self) -> dict[str, Any]:
        """Return the fields, dates as ISO text (JSON-friendly)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if isinstance(self.end, pd.Timestamp):
            out["end"] = self.end.isoformat()
        return out

    def describe(self) -> str:
        """Plain words, e.g. ``"time to the event within 365 days ('days', 'reoffended')"``."""
        src = ", ".join(f"'{c}'" for c in self.columns())
        return f"time to the event within {self.window:g} {self.unit} ({src})"


def as_time_to_event(name: str, spec: Any) -> TimeToEvent:
    """Return a :class:`TimeToEvent` from itself or a mapping of its fields (analysis files).

    Parameters
    ----------
    name : str
        The outcome's name (for messages).
    spec : TimeToEvent or mapping
        The outcome, or its fields (``window`` required).

    Returns
    -------
    TimeToEvent

    Raises
    ------
    OptionError
        Unknown keys, no ``window``, or neither a TimeToEvent nor a mapping.

    Examples
    --------
    >>> as_time_to_event("reoffence", {"time": "days", "event": "reoffended", "window": 365}).window
    365.0
    """
    if isinstance(spec, TimeToEvent):
        return spec
    if isinstance(spec, Mapping):
        allowed = {"window", "time", "event", "start", "end", "event_date", "unit"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise OptionError(
                f"`time_to_event['{name}']` has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"the keys are {', '.join(map(repr, sorted(allowed)))}."
            )
        if "window" not in spec:
            raise OptionError(
                f"`time_to_event['{name}']` needs `window` (the contract's follow-up window, "
                "e.g. 365 for a year in days); got none."
            )
        return TimeToEvent(**dict(spec))
    raise OptionError(
        f"`time_to_event['{name}']` must be a pbr_eval.TimeToEvent or a dict of its fields; got "
        f"{spec!r}."
    )


# ------------------------------------------------------------------- data checks
def _example(values: pd.Series) -> str:
    v = values.iloc[0]
    return repr(v.item() if hasattr(v, "item") else v)


def to_dates(frame: pd.DataFrame, spec: TimeToEvent, name: str,
             problems: list[TimeToEventError]) -> dict[str, pd.Series]:
    """Return the spec's date columns converted to datetime64 (problems appended, not raised)."""
    out: dict[str, pd.Series] = {}
    for col in spec.date_columns():
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s
            continue
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            problems.append(TimeToEventError(
                f"`time_to_event['{name}']`: column '{col}' must hold dates; found numbers "
                f"(e.g. {_example(s.dropna()) if s.notna().any() else 'none'}). Give dates (e.g. "
                "'2024-03-31'), or give the times themselves with `time` and `event`."
            ))
            continue
        conv = pd.to_datetime(s, errors="coerce", format="mixed")
        bad = s.notna() & conv.isna()
        if bad.any():
            problems.append(TimeToEventError(
                f"`time_to_event['{name}']`: column '{col}' has {int(bad.sum()):,} value(s) that "
                f"are not dates (e.g. {_example(s[bad])}). Correct them, or leave them empty"
                + (" (no event)." if col == spec.event_date else " and pass missing='drop'.")
            ))
            continue
        out[col] = conv
    return out


def times_from_frame(frame: pd.DataFrame, spec: TimeToEvent) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's time (in ``spec.unit``) and event indicator.

    Dates must already be datetime64 (:func:`to_dates`).
    """
    if not spec.from_dates:
        return (frame[spec.time].to_numpy(dtype=float),
                frame[spec.event].to_numpy(dtype=float))
    start = frame[spec.start]
    end = frame[spec.end] if isinstance(spec.end, str) else pd.Series(spec.end, index=frame.index)
    per_day = DAYS_PER_UNIT[spec.unit]
    if spec.event_date is not None:
        ev_date = frame[spec.event_date]
        happened = ev_date.notna().to_numpy()
        stop = ev_date.where(ev_date.notna(), end)
        event = happened.astype(float)
    else:
        stop = end
        event = frame[spec.event].to_numpy(dtype=float)
    days = (stop - start).dt.total_seconds().to_numpy(dtype=float) / 86400.0
    return days / per_day, event


def check_frame(frame: pd.DataFrame, spec: TimeToEvent, name: str,
                treated: np.ndarray | None) -> list[TimeToEventError]:
    """Every problem with one time-to-event outcome's columns (dates already converted)."""
    problems: list[TimeToEventError] = []
    label = f"`time_to_event['{name}']`"
    ev_col = spec.event
    if ev_col is not None:
        s = frame[ev_col]
        ok_type = pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype)
        bad = (~s.isin([0, 1, True, False])) if ok_type else s.notna()
        if bad.any():
            problems.append(TimeToEventError(
                f"{label}: `event` column '{ev_col}' must hold 1 (the event happened) or 0 "
                f"(follow-up ended first); found {_example(s[bad])}. Recode it."
            ))
    if not spec.from_dates:
        s = frame[spec.time]
        if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            problems.append(TimeToEventError(
                f"{label}: `time` column '{spec.time}' must hold numbers (time to the event or to "
                f"the end of follow-up, in {spec.unit}); found {s.dtype} values such as "
                f"{_example(s)}. If these are dates, give `start` and `end` instead."
            ))
            return problems
        v = s.to_numpy(dtype=float)
        if not np.isfinite(v).all():
            problems.append(TimeToEventError(
                f"{label}: `time` column '{spec.time}' holds infinite values; give each person's "
                "time to the event or to the end of follow-up."
            ))
            return problems
    if problems:
        return problems
    time, event = times_from_frame(frame, spec)
    neg = time < 0
    if neg.any():
        if spec.from_dates:
            stops = [f"'{c}'" for c in (spec.event_date, spec.end) if isinstance(c, str)]
            if not isinstance(spec.end, str):
                stops.append(f"the end of follow-up {spec.end.date()}")
            cols = f"{' or '.join(stops)} before `start` column '{spec.start}'"
        else:
            cols = f"`time` column '{spec.time}'"
        problems.append(TimeToEventError(
            f"{label}: {int(neg.sum()):,} negative time(s) ({cols}; e.g. {time[neg][0]:g} "
            f"{spec.unit}). A time runs from the start of follow-up to the event or its end; "
            "correct the dates or times."
        ))
    if spec.event_date is not None:
        end = (frame[spec.end] if isinstance(spec.end, str)
               else pd.Series(spec.end, index=frame.index))
        after = (frame[spec.event_date] > end).to_numpy()
        if after.any():
            where = (f"`end` column '{spec.end}'" if isinstance(spec.end, str)
                     else f"the end of follow-up {spec.end.date()}")
            problems.append(TimeToEventError(
                f"{label}: {int(after.sum()):,} event(s) after the end of follow-up (`event_date` "
                f"column '{spec.event_date}' later than {where}). An event cannot be seen after "
                "follow-up ended: correct the dates, or extend the end of follow-up."
            ))
    if problems or treated is None:
        return problems
    comparison = ~np.asarray(treated, dtype=bool)
    if comparison.any():
        longest = float(time[comparison].max())
        if longest < spec.window:
            problems.append(TimeToEventError(
                f"{label}: the window of {spec.window:g} {spec.unit} is longer than anyone in the "
                f"comparison pool is followed (the longest follow-up is {longest:g} {spec.unit}, in "
                f"{', '.join(repr(c) for c in spec.columns())}), so what would have happened "
                "within the window cannot be estimated. Shorten the window or extend follow-up."
            ))
    return problems
