"""Disclosure control for published reports and workbooks.

Reports carry aggregates only (the context builder never reads unit-level
rows or identifiers). On those aggregates this module applies the rules
official statistics use:

* a **count** below ``threshold`` (default 10) is suppressed (shown as
  ``[c]``, "confidential", the Government Statistical Service symbol);
* a **rate** computed from a suppressed count, or whose complement count
  (``n - k``) is suppressed, is withheld, since ``k`` could be recovered
  from ``rate x n``;
* the **minimum cohort size** guard: an outcome estimated on fewer than
  ``min_cohort`` programme participants is not published at all.

Notes
-----
A true zero count is suppressed too by default (``suppress_zeros=True``),
because "none of the 12 people" discloses an attribute of all 12.

Limitations: the rules protect single tables. They do not check
differencing between tables (e.g. two reports on nested cohorts); publish
one report per cohort or raise the threshold if cohorts nest.

References
----------
Government Statistical Service (2021). Symbols in tables, definitions and
help ("[c] confidential"). Ministry of Justice, Justice Data Lab
methodology: results are not published for cohorts under 60 people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pbr_eval.options import DEFAULT_MIN_TREATED, check_int

__all__ = ["SUPPRESSED", "WITHHELD", "DisclosurePolicy", "is_hidden"]

#: Shown in place of a suppressed count.
SUPPRESSED = "[c]"
#: Shown in place of a rate derived from a suppressed count or a too-small cohort.
WITHHELD = "[w]"


def is_hidden(value: Any) -> bool:
    """True when ``value`` is a suppression or withholding marker."""
    return isinstance(value, str) and value in (SUPPRESSED, WITHHELD)


@dataclass(frozen=True)
class DisclosurePolicy:
    """What a published report may show.

    Parameters
    ----------
    threshold : int, default 10
        Counts below this are suppressed.
    min_cohort : int, default 30
        Outcomes estimated on fewer programme participants are not published.
    suppress_zeros : bool, default True
        Suppress zero counts as well.

    Examples
    --------
    >>> p = DisclosurePolicy(threshold=10)
    >>> p.count(7), p.count(12)
    ('[c]', 12)
    >>> p.rate(0.05, 100)   # 5 people: the rate would disclose a count below 10
    '[w]'
    >>> p.rate(0.25, 100)
    0.25
    """

    threshold: int = 10
    min_cohort: int = DEFAULT_MIN_TREATED
    suppress_zeros: bool = True

    def __post_init__(self) -> None:
        check_int("threshold", self.threshold, minimum=1)
        check_int("min_cohort", self.min_cohort, minimum=1)

    def count_is_small(self, n: Any) -> bool:
        """True when a count must be suppressed (missing counts count as small)."""
        try:
            v = float(n)
        except (TypeError, ValueError):
            return True
        if not math.isfinite(v):
            return True
        k = int(round(v))
        if k == 0:
            return self.suppress_zeros
        return k < self.threshold

    def count(self, n: Any) -> int | str:
        """The count to publish: itself, or :data:`SUPPRESSED`."""
        if self.count_is_small(n):
            return SUPPRESSED
        return int(round(float(n)))

    def rate(self, rate: Any, n: Any, *, binary: bool = True) -> float | str:
        """The rate to publish, or :data:`WITHHELD`.

        For a proportion (``binary``) the number with the outcome ``rate x n``
        and without it ``(1 - rate) x n`` must both be publishable counts; for
        a mean (counts of events, continuous outcomes) only ``n`` must be.
        """
        try:
            r = float(rate)
            size = float(n)
        except (TypeError, ValueError):
            return WITHHELD
        if not (math.isfinite(r) and math.isfinite(size)):
            return WITHHELD
        if self.count_is_small(size):
            return WITHHELD
        if binary and (self.count_is_small(r * size) or self.count_is_small((1 - r) * size)):
            return WITHHELD
        return r

    def publishable_cohort(self, n_treated: Any) -> bool:
        """True when a cohort of ``n_treated`` may be reported at all."""
        try:
            return float(n_treated) >= self.min_cohort and not self.count_is_small(n_treated)
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        """One plain sentence for the report's methods section."""
        zeros = " (including zeros)" if self.suppress_zeros else ""
        return (
            f"Counts below {self.threshold}{zeros} are shown as {SUPPRESSED} and rates that would "
            f"reveal them as {WITHHELD}; results for fewer than {self.min_cohort} people in the "
            "programme are not published. The report contains aggregates only."
        )
