"""Make the shipped example datasets and their true values.

Run from the repository root::

    python data/make_data.py

It writes ``reoffending.csv``, ``families.csv`` and ``truth.json`` to both
``data/`` and ``pbr_eval/datasets/_data/`` (the copy the installed package
loads), and refreshes the table of true values in ``data/README.md``
between the ``truth:begin`` / ``truth:end`` markers. The output is
deterministic: running it twice gives identical files, and
``tests/test_datasets.py`` checks that the committed files match.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(ROOT))

from pbr_eval.datasets import simulate  # noqa: E402

COMMAND = "python data/make_data.py"
DATA_DIR = ROOT / "data"
PACKAGE_DIR = ROOT / "pbr_eval" / "datasets" / "_data"
README = DATA_DIR / "README.md"
BEGIN = "<!-- truth:begin (written by data/make_data.py; do not edit by hand) -->"
END = "<!-- truth:end -->"

#: What is shipped: file stem -> simulate() arguments.
DATASETS: dict[str, dict[str, Any]] = {
    "reoffending": {
        "scenario": "reoffending",
        "n_treated": 600,
        "n_comparison": 12_000,
        "seed": 20130401,  # the Justice Data Lab opened in April 2013
    },
    "families": {
        "scenario": "families",
        "n_treated": 800,
        "n_comparison": 8_000,
        "seed": 20120401,  # Troubled Families phase 1 began in April 2012
    },
}

LABELS = {
    "observed": "observed",
    "non_intervention": "non-intervention",
    "effect": "effect",
    "naive_comparison": "naive comparison",
    "pre_mean": "pre-period (treated)",
    "pre_comparison": "pre-period (comparison)",
}


def _csv(frame: Any) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _fmt(value: float, outcome_type: str) -> str:
    return f"{value:.2f}" if outcome_type == "continuous" else f"{value:.4f}"


def truth_markdown(truth: dict[str, Any]) -> str:
    """The README block of true values, built from the ``truth.json`` content."""
    lines = [BEGIN, ""]
    for record in truth.values():
        rows = record["truth"]
        stats = [k for k in LABELS if k in next(iter(rows.values()))]
        lines.append(
            f"**{record['file']}** (`{record['command']}`; scenario `{record['scenario']}`, "
            f"seed {record['seed']}, {record['n_treated']} treated, "
            f"{record['n_comparison']} comparison"
            + (", period 1 unless stated" if "pre_mean" in stats else "")
            + ")"
        )
        lines.append("")
        lines.append("| outcome | type | " + " | ".join(LABELS[s] for s in stats) + " |")
        lines.append("|---|---|" + "---:|" * len(stats))
        for outcome, row in rows.items():
            cells = [_fmt(row[s], row["outcome_type"]) for s in stats]
            lines.append(f"| `{outcome}` | {row['outcome_type']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def build() -> dict[str, str]:
    """Simulate the shipped datasets; return ``{file name: text}`` (nothing is written)."""
    files: dict[str, str] = {}
    truth: dict[str, Any] = {}
    for stem, args in DATASETS.items():
        sim = simulate(
            args["scenario"],
            n_treated=args["n_treated"],
            n_comparison=args["n_comparison"],
            seed=args["seed"],
        )
        name = f"{stem}.csv"
        files[name] = _csv(sim.data)
        truth[stem] = {
            "file": name,
            "command": COMMAND,
            "scenario": sim.scenario,
            "seed": sim.seed,
            "n_treated": args["n_treated"],
            "n_comparison": args["n_comparison"],
            "rows": len(sim.data),
            "truth": {
                outcome: {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
                for outcome, row in sim.truth.to_dict(orient="index").items()
            },
            "params": sim.params,
        }
    files["truth.json"] = json.dumps(truth, indent=2) + "\n"
    return files


def update_readme(text: str, block: str) -> str:
    """Replace the text between the truth markers with ``block``."""
    start = text.index(BEGIN)
    stop = text.index(END) + len(END)
    return text[:start] + block + text[stop:]


def main() -> None:
    files = build()
    for folder in (DATA_DIR, PACKAGE_DIR):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {(folder / name).relative_to(ROOT)}")
    block = truth_markdown(json.loads(files["truth.json"]))
    README.write_text(update_readme(README.read_text(encoding="utf-8"), block), encoding="utf-8")
    print(f"updated {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
