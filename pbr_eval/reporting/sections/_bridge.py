"""The declared column kinds of a part's table: from its results object, or a declaration here.

A results object declares its columns (:meth:`pbr_eval.results.base.Results.frame_schema`);
the report reads that. A table an engine returns as a plain DataFrame, with no results
class yet, is declared here by its exact columns: one declaration per table, never a
guess from a name. Any other table (an arbitrary DataFrame) has no declared kinds and is
left out of a report, which says so: a column of unknown kind could be a count of people.

Only :func:`pbr_eval.pricing.price_sensitivity` is declared here; delete the module once
it returns a results object with a ``schema``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pbr_eval.kinds import Schema
from pbr_eval.reporting.sections._common import schema_table

__all__ = ["schema_of", "BRIDGE"]

PRICE_SENSITIVITY = schema_table("""
    non_intervention | rate        | Non-intervention rate (assumed)
    expected_rate    | rate        | Expected rate
    deadweight_share | probability | Share paid for deadweight
    ceiling          | money       | Most worth paying (ceiling)
""")

#: The exact tuple of a plain frame's columns -> its declared schema.
BRIDGE: dict[tuple[str, ...], Schema] = {PRICE_SENSITIVITY.names: PRICE_SENSITIVITY}


def schema_of(obj: Any, frame: pd.DataFrame) -> Schema | None:
    """Return the declared schema of ``frame`` (the table of ``obj``), or None when undeclared.

    Examples
    --------
    >>> import pandas as pd
    >>> schema_of(None, pd.DataFrame({"x": [1]})) is None
    True
    """
    cols = [str(c) for c in (frame.reset_index().columns if frame.index.name is not None
                             else frame.columns)]
    fs = getattr(obj, "frame_schema", None)
    if callable(fs):
        s = fs()
        if isinstance(s, Schema) and all(c in s for c in cols):
            return s.select(cols)
    s = BRIDGE.get(tuple(cols))
    return s.select(cols) if s is not None else None
