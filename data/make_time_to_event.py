"""Make the shipped time-to-first-reoffence dataset.

Run from the repository root::

    python data/make_time_to_event.py

It writes ``reoffending_time.csv`` to ``data/`` and to
``pbr_eval/datasets/_data/`` (the copy :func:`pbr_eval.datasets.load_reoffending_time`
reads): ``simulate_reoffending_time(n_treated=600, n_comparison=6000,
seed=20130401)`` with the default parameters. Deterministic;
``tests/test_survival_curves.py`` checks the committed files match.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(ROOT))

from pbr_eval.datasets._reoffending_time import (  # noqa: E402
    SHIPPED,
    SHIPPED_FILE,
    simulate_reoffending_time,
)


def build() -> str:
    """The CSV text (nothing is written)."""
    sim = simulate_reoffending_time(**SHIPPED)
    buffer = io.StringIO()
    sim.data.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def main() -> None:
    text = build()
    for folder in (ROOT / "data", ROOT / "pbr_eval" / "datasets" / "_data"):
        (folder / SHIPPED_FILE).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {(folder / SHIPPED_FILE).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
