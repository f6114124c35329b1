"""Stata ``teffects`` reference values on cattaneo2, as statsmodels' own test suite carries them.

Run from the repository root: python tests/reference/stata_teffects/make_cattaneo2_reference.py

statsmodels (a pbr_eval dependency, BSD-3) ships, in
``statsmodels/treatment/tests/results/``, the data ``cataneo2.csv`` (Cattaneo 2010's birth-weight
data, Stata's ``webuse cattaneo2``) and ``results_teffects.py``, Stata's estimation tables of

    teffects ra     (bweight prenatal1 mmarried mage fbaby) (mbsmoke)
    teffects ipw    (bweight) (mbsmoke mmarried c.mage##c.mage fbaby medu, probit)
    teffects aipw   (bweight prenatal1 mmarried mage fbaby) (mbsmoke mmarried c.mage##c.mage fbaby medu, probit)
    teffects ipwra  (bweight prenatal1 mmarried mage fbaby) (mbsmoke mmarried c.mage##c.mage fbaby medu, probit)

for the ATE (``table``) and, except aipw, the ATET (``table_t``, option ``atet``): rows 0 and 1
are the effect and the non-intervention mean (POM of nonsmokers), columns ``b`` and ``se``.
(The model lists are statsmodels' test specification: outcome ``bweight ~ prenatal1_ +
mmarried_ + mage + fbaby_``, treatment probit ``mbsmoke_ ~ mmarried_ + mage + mage2 + fbaby_ +
medu``.) This script copies the columns used into ``cattaneo2.csv`` and the two rows of each
table into ``cattaneo2_stata.json``; it computes nothing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import statsmodels

HERE = Path(__file__).resolve().parent
SRC = Path(statsmodels.__file__).parent / "treatment" / "tests" / "results"
COLUMNS = ["bweight", "mbsmoke_", "prenatal1_", "mmarried_", "mage", "mage2", "fbaby_", "medu"]


def main() -> None:
    d = pd.read_csv(SRC / "cataneo2.csv")[COLUMNS]
    d.to_csv(HERE / "cattaneo2.csv", index=False)
    spec = importlib.util.spec_from_file_location("results_teffects", SRC / "results_teffects.py")
    assert spec is not None and spec.loader is not None
    st = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(st)
    out: dict = {"source": "statsmodels " + statsmodels.__version__
                 + ": statsmodels/treatment/tests/results/results_teffects.py (Stata teffects)",
                 "treatment_covariates": ["mmarried_", "mage", "mage2", "fbaby_", "medu"],
                 "treatment_model": "probit",
                 "outcome_covariates": ["prenatal1_", "mmarried_", "mage", "fbaby_"],
                 "outcome_model": "linear", "n": int(len(d)), "results": {}}
    for name in ("ra", "ipw", "aipw", "ipwra"):
        res = getattr(st, f"results_{name}")
        for estimand, key in (("ATE", "table"), ("ATT", "table_t")):
            if key not in res:
                continue
            tab = res[key]
            out["results"][f"{name}_{estimand}"] = {
                "effect": float(tab[0, 0]), "effect_se": float(tab[0, 1]),
                "pom0": float(tab[1, 0]), "pom0_se": float(tab[1, 1])}
    (HERE / "cattaneo2_stata.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
