"""Relative-magnitudes reference values from the Python port ``honestdid`` (0.1.1).

Run by make_relative_magnitudes.sh (its own venv: honestdid 0.1.1 with numpy < 2.3, which
that release needs; never a dependency of pbr_eval). On the Medicaid event study beside this
script (``medicaid_event_study.json``) it writes ``relative_magnitudes.json``:

* ``conditional``: for Mbar = 0.5, 1, 1.5, 2 (target: the first post period) and Mbar = 1
  (target: the average of the two), the indices of the grid points (1,000 points from -20 to
  +20 standard errors of the target's estimate, the port's default) that the conditional ARP
  test (``hybrid_flag="ARP"``: deterministic, no simulation) keeps;
* ``clf``: the port's C-LF intervals (its least-favourable critical value from 1,000 draws of
  its own generator, seed 0), for the same cases.

R HonestDiD could not be installed here (no R); its README's printed intervals are in
``published.csv``.
"""

from __future__ import annotations

import json
from pathlib import Path

import honestdid
import numpy as np

HERE = Path(__file__).resolve().parent
CASES = [(0.5, [1.0, 0.0]), (1.0, [1.0, 0.0]), (1.5, [1.0, 0.0]), (2.0, [1.0, 0.0]),
         (1.0, [0.5, 0.5])]


def main() -> None:
    """Compute and write the reference values."""
    d = json.loads((HERE / "medicaid_event_study.json").read_text())
    b, S = np.array(d["betahat"]), np.array(d["sigma"])
    out: dict = {"package": f"honestdid {honestdid.__version__}",
                 "numpy": np.__version__, "grid_points": 1000, "grid": "-20 to +20 sd of l'betahat",
                 "conditional": [], "clf": []}
    for Mbar, lv in CASES:
        res = honestdid.computeConditionalCS_DeltaRM(b, S, 5, 2, l_vec=np.array(lv), Mbar=Mbar,
                                                     hybrid_flag="ARP")
        acc = np.asarray(res["accept"], dtype=float)
        out["conditional"].append({"Mbar": Mbar, "l": lv,
                                   "accepted": [int(i) for i in np.flatnonzero(acc > 0.5)]})
        res = honestdid.computeConditionalCS_DeltaRM(b, S, 5, 2, l_vec=np.array(lv), Mbar=Mbar)
        grid, acc = np.asarray(res["grid"], float), np.asarray(res["accept"], float) > 0.5
        out["clf"].append({"Mbar": Mbar, "l": lv, "lower": float(grid[acc].min()),
                           "upper": float(grid[acc].max())})
        print(Mbar, lv, out["clf"][-1], flush=True)
    (HERE / "relative_magnitudes.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
