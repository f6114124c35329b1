"""DoubleML reference values for pbr_eval's cross-fitted AIPW (ATTE) on fixed folds.

Run by make_doubleml_reference.sh (its own venv with doubleml 0.11.4). Writes next to this
script ``crossfit_data.csv`` (a seeded simulated cohort: x1-x3, treatment d, outcome y, and
``fold`` for each of 2 repetitions of 5 folds) and ``doubleml_atte.json``: DoubleMLIRM(score="ATTE",
normalize_ipw=False, default propensity clipping 0.01) with the sample splitting set to those folds,
for two learner pairs (linear/logistic regression; random forests with fixed random_state):
coef, se, and each repetition's coef and se (DoubleML aggregates repetitions by the median of
the coefficients and the median of sqrt(se_r^2 + (coef_r - coef)^2)).
"""

from __future__ import annotations

import json

import doubleml as dml
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

N, K, REPS = 600, 5, 2


def data() -> pd.DataFrame:
    rng = np.random.default_rng(20261203)
    X = rng.normal(size=(N, 3))
    e = 1 / (1 + np.exp(-(-0.5 + 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 0] * X[:, 2])))
    d = (rng.random(N) < e).astype(int)
    y = 1 + X[:, 0] + np.sin(X[:, 1]) + 0.5 * X[:, 2] ** 2 + d * (1 + 0.5 * X[:, 0]) + rng.normal(size=N)
    df = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(d=d, y=y)
    for r in range(REPS):  # stratified by treatment: each fold holds both groups
        fold = np.empty(N, dtype=int)
        for g in (0, 1):
            idx = np.flatnonzero(d == g)
            fold[idx] = rng.permutation(np.arange(idx.size) % K)
        df[f"fold{r}"] = fold
    return df


LEARNERS = {
    "linear": (LinearRegression(), LogisticRegression(C=1e6, max_iter=1000)),
    "forest": (RandomForestRegressor(n_estimators=50, min_samples_leaf=10, random_state=1),
               RandomForestClassifier(n_estimators=50, min_samples_leaf=10, random_state=1)),
}


def main() -> None:
    df = data()
    df.to_csv("crossfit_data.csv", index=False)
    dd = dml.DoubleMLData(df[["x1", "x2", "x3", "d", "y"]], y_col="y", d_cols="d",
                          x_cols=["x1", "x2", "x3"])
    smpls = []
    for r in range(REPS):
        f = df[f"fold{r}"].to_numpy()
        smpls.append([(np.flatnonzero(f != k), np.flatnonzero(f == k)) for k in range(K)])
    out: dict = {"n": N, "k": K, "reps": REPS, "versions": {
        "doubleml": dml.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__},
        "results": {}}
    for name, (ml_g, ml_m) in LEARNERS.items():
        m = dml.DoubleMLIRM(dd, ml_g=ml_g, ml_m=ml_m, score="ATTE", n_folds=K, n_rep=REPS,
                            draw_sample_splitting=False)
        m.set_sample_splitting(smpls)
        m.fit()
        out["results"][name] = {"coef": float(m.coef[0]), "se": float(m.se[0]),
                                "coef_rep": [float(v) for v in m.all_coef[0]],
                                "se_rep": [float(v) for v in m.all_se[0]]}
    with open("doubleml_atte.json", "w") as fh:
        fh.write(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
