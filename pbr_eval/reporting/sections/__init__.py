"""The registered report sections (importing this package registers them all).

A new section is one function decorated with :func:`pbr_eval.reporting.model.section`
in one of these modules (or a new module imported below); see docs/ARCHITECTURE.md.
"""

from pbr_eval.reporting.sections import areas, claims, evidence, pricing, staggered

__all__ = ["areas", "claims", "evidence", "pricing", "staggered"]
