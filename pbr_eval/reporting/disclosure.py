"""Moved to :mod:`pbr_eval.disclosure` (one disclosure module, below reporting).

This name is kept so existing imports keep working; new code imports
:mod:`pbr_eval.disclosure`.
"""

from __future__ import annotations

from pbr_eval.disclosure import MARKER, SUPPRESSED, WITHHELD, DisclosurePolicy, is_hidden

__all__ = ["MARKER", "SUPPRESSED", "WITHHELD", "DisclosurePolicy", "is_hidden"]
