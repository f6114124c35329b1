"""Synthetic DiD, synthetic control and DiD on California's Proposition 99 by a port of R synthdid.

Writes, beside this file:

* ``california_prop99.csv``: cigarette packs per capita, 39 states, 1970-2000 (Abadie,
  Diamond & Hainmueller 2010; California treated from 1989), copied from the port's
  packaged copy of R ``synthdid``'s data;
* ``synthdid_reference.json``: for ``synthdid_estimate``, ``sc_estimate`` and
  ``did_estimate`` (the port's defaults, which are R synthdid's): the estimate, the unit
  weights ``omega`` and time weights ``lambda``, and the effect curve; the fixed-weights
  jackknife standard error on a second panel with three treated units (California and the
  two states after it in the data's order, which makes N1 > 1); the published values of
  Arkhangelsky et al. (2021, Table 1 / the R package README): -15.604, -19.620, -27.349;
* ``versions.txt``.

Run by ``make_synthdid_reference.sh`` (which installs the port in its own environment).
"""

from __future__ import annotations

import importlib.metadata as md_meta
import json
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PUBLISHED = {"sdid": -15.604, "sc": -19.620, "did": -27.349}


def fit_all(Y, N0, T0):
    # the port is imported here, not at the top: pytest's doctest collection imports this file
    from synthdid import (
        did_estimate,
        jackknife_se,
        sc_estimate,
        synthdid_effect_curve,
        synthdid_estimate,
    )

    out = {}
    for name, fn in (("sdid", synthdid_estimate), ("sc", sc_estimate), ("did", did_estimate)):
        est = fn(Y, N0, T0)
        w = est.weights
        out[name] = {"estimate": float(est), "omega": np.asarray(w.omega, float).tolist(),
                     "lambda": np.asarray(w.lambda_, float).tolist(),
                     "curve": np.asarray(synthdid_effect_curve(est), float).tolist(),
                     "jackknife_se": float(jackknife_se(est))}
    return out


def main() -> None:
    import synthdid
    from synthdid import load_california_prop99, panel_matrices

    src = Path(synthdid.__file__).parent / "data" / "california_prop99.csv"
    shutil.copyfile(src, HERE / "california_prop99.csv")
    df = load_california_prop99()
    panel = panel_matrices(df)
    Y, N0, T0 = np.asarray(panel.Y, float), int(panel.N0), int(panel.T0)
    units = [str(u) for u in panel.units]
    ref = {"prop99": {"N0": N0, "T0": T0, "units": units, **fit_all(Y, N0, T0)},
           "published": PUBLISHED}
    # three treated units: the last two comparison states (in the panel's order) moved to
    # the treated block, California's post-1988 rows kept; for the jackknife (N1 > 1)
    Y3 = np.vstack([Y[:N0 - 2], Y[N0 - 2:N0], Y[N0:]])
    ref["three_treated"] = {"N0": N0 - 2, "T0": T0, **fit_all(Y3, N0 - 2, T0)}
    (HERE / "synthdid_reference.json").write_text(json.dumps(ref, indent=1))
    vers = [f"{p}=={md_meta.version(p)}" for p in ("synthdid-py", "numpy", "pandas", "scipy")]
    (HERE / "versions.txt").write_text("\n".join(vers) + "\n")
    for k in ("sdid", "sc", "did"):
        print(k, ref["prop99"][k]["estimate"], ref["three_treated"][k]["jackknife_se"])


if __name__ == "__main__":
    main()
