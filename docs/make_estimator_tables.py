"""Regenerate the estimator tables in docs/*.md from the estimators' declarations.

Run from the repository root: ``python docs/make_estimator_tables.py``. Every
block between ``<!-- estimators:FAMILY[,FAMILY...]:start -->`` (or
``estimators:all``) and ``<!-- estimators:end -->`` is rewritten by
:func:`pbr_eval.estimators.catalog.update_estimator_tables`;
``tests/test_estimator_contract.py`` fails when a committed table is stale.
"""

from __future__ import annotations

from pathlib import Path

from pbr_eval.estimators.catalog import update_estimator_tables
from pbr_eval.io import write_text
from pbr_eval.validation import DESIGNS

DOCS = Path(__file__).resolve().parent
LABELS = {name: d.label for name, d in DESIGNS.items()}


def main() -> None:
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = update_estimator_tables(text, design_labels=LABELS)
        if new != text:
            write_text(page, new)
            print(f"updated {page.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
