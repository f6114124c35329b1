"""NHEFS reference values: Hernan & Robins' published numbers and statsmodels' TreatmentEffect.

Run by make_reference.sh (its own venv with causaldata 0.1.5 and statsmodels).
Writes, next to this script:

* ``nhefs.csv``: the subset pbr_eval's tests use (the 1,566 NHEFS participants with a 1982
  weight; the columns of the book's models). Source: the ``causaldata`` package's copy of
  ``nhefs`` (the data of Hernan & Robins, *Causal Inference: What If*, from the book's site),
  National Health and Nutrition Examination Survey I Epidemiologic Follow-up Study (NCHS).
* ``nhefs_reference.json``: the book's published estimates (cited) and statsmodels 0.15's
  ``TreatmentEffect`` values for the book's propensity model (Program 12.2) with an OLS
  outcome model on the same design: ``ipw``, ``ra``, ``ipw_ra`` for ``effect_group`` "all"
  (ATE), 1 (ATT) and 0 (ATC), and ``aipw`` (ATE only in statsmodels): closed-form estimates
  (``return_results=False``) and the HC0 sandwich of statsmodels' own moment conditions
  (``results_gmm.model.momcond``) at the closed-form estimate with a well-scaled
  central-difference Jacobian (statsmodels' reported ``bse`` use a coarse numerical
  Jacobian that is badly off here, where age^2 and wt71^2 have tiny coefficients; both are
  recorded). No score is outside statsmodels' clipping bounds, so the closed form is the root
  of its moments. ``ipw_ra``: estimates only (statsmodels 0.15's GMM takes the last 6
  parameters as the selection model's). Also the book's standardisation (Program 13.3): OLS
  of wt82_71 on qsmk, the covariates and qsmk x smokeintensity, predictions with qsmk set to
  1 and 0 averaged over everyone.

Design: the book's models (Programs 12.2 and 13.2): sex, race, age, age^2, education
(5 levels), smokeintensity, smokeintensity^2, smokeyrs, smokeyrs^2, exercise (3 levels),
active (3 levels), wt71, wt71^2; categorical columns as indicators leaving out the lowest
level (pbr_eval's Cohort convention for text columns).
"""

from __future__ import annotations

import importlib.metadata
import json
import sys

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.treatment.treatment_effects import TreatmentEffect

COLUMNS = ["seqn", "qsmk", "wt82_71", "sex", "race", "age", "education", "smokeintensity",
           "smokeyrs", "exercise", "active", "wt71"]
SQUARED = ["age", "smokeintensity", "smokeyrs", "wt71"]
CATEGORICAL = ["education", "exercise", "active"]

BOOK = {
    "source": "Hernan MA, Robins JM (2020). Causal Inference: What If. Boca Raton: Chapman & "
              "Hall/CRC. Chapter 12 (section 12.2, Program 12.3) and chapter 13 (section 13.3, "
              "Program 13.4).",
    "ipw_stabilised_ate": 3.44, "ipw_ci": [2.4, 4.5],
    "standardisation_ate": 3.52, "standardisation_ci": [2.6, 4.5],
}


def design(d: pd.DataFrame) -> pd.DataFrame:
    cols = [d[["sex", "race", "age", "smokeintensity", "smokeyrs", "wt71"]].astype(float)]
    cols.append(pd.DataFrame({f"{c}_sq": d[c].astype(float) ** 2 for c in SQUARED}))
    for c in CATEGORICAL:
        levels = sorted(d[c].unique())
        cols.append(pd.DataFrame({f"{c}[{lev}]": (d[c] == lev).astype(float)
                                  for lev in levels[1:]}))
    return sm.add_constant(pd.concat(cols, axis=1), prepend=True)


def accurate_se(res_gmm, p: np.ndarray) -> list[float]:
    mod = res_gmm.model
    mom = mod.momcond(p)
    n, k = mom.shape[0], p.size
    J = np.zeros((mom.shape[1], k))
    for j in range(k):
        h = 1e-5 * max(abs(p[j]), 1e-3)
        e = np.zeros(k)
        e[j] = h
        J[:, j] = (mod.momcond(p + e).mean(0) - mod.momcond(p - e).mean(0)) / (2 * h)
    Ji = np.linalg.inv(J)
    V = Ji @ (mom.T @ mom / n) @ Ji.T / n
    return [float(v) for v in np.sqrt(np.diag(V))[:2]]


def main() -> None:
    from causaldata import nhefs  # installed by make_reference.sh only

    d = nhefs.load_pandas().data
    d = d[d["wt82"].notna()][COLUMNS].copy()
    for c in ["qsmk", "sex", "race", *CATEGORICAL]:
        d[c] = d[c].astype(int)
    d["seqn"] = d["seqn"].astype(int)
    d.to_csv("nhefs.csv", index=False)
    Z = design(d)
    t = d["qsmk"].to_numpy()
    y = d["wt82_71"].to_numpy(dtype=float)
    rs = sm.Logit(t, Z).fit(disp=False, tol=1e-12, maxiter=200)
    ps = rs.predict()
    teff = TreatmentEffect(sm.OLS(y, Z), t, results_select=rs)
    out: dict = {"n": int(len(d)), "n_treated": int(t.sum()), "design_columns": list(Z.columns),
                 "ps_range": [float(ps.min()), float(ps.max())], "book": BOOK, "statsmodels": {}}
    groups = {"ATE": "all", "ATT": 1, "ATC": 0}
    for method in ("ipw", "ra", "ipw_ra", "aipw"):
        for estimand, eg in groups.items():
            if method == "aipw" and estimand != "ATE":
                continue
            kw = {} if method == "aipw" else {"effect_group": eg}
            eff, pom0, pom1 = (float(np.squeeze(v)) for v in
                               getattr(teff, method)(return_results=False, **kw))
            row = {"effect": eff, "pom0": pom0, "pom1": pom1}
            if method != "ipw_ra":
                res = getattr(teff, method)(**kw)
                p = np.asarray(res.results_gmm.params, dtype=float).copy()
                p[0], p[1] = eff, pom0
                row["effect_se"], row["pom0_se"] = accurate_se(res.results_gmm, p)
                row["reported_bse"] = [float(b) for b in np.asarray(res.results_gmm.bse)[:2]]
            out["statsmodels"][f"{method}_{estimand}"] = row
    X = Z.assign(qsmk=t.astype(float), qsmk_x_smokeintensity=t * d["smokeintensity"].to_numpy())
    ols = sm.OLS(y, X).fit()
    m1 = ols.predict(X.assign(qsmk=1.0, qsmk_x_smokeintensity=d["smokeintensity"].to_numpy()))
    m0 = ols.predict(X.assign(qsmk=0.0, qsmk_x_smokeintensity=0.0))
    out["standardisation"] = {"ate": float(np.mean(m1 - m0)), "pom1": float(np.mean(m1)),
                              "pom0": float(np.mean(m0))}
    out["versions"] = {"causaldata": importlib.metadata.version("causaldata"), "statsmodels": statsmodels.__version__,
                       "numpy": np.__version__, "pandas": pd.__version__,
                       "python": sys.version.split()[0]}
    with open("nhefs_reference.json", "w") as fh:
        fh.write(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
