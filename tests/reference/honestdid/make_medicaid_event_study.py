"""The Medicaid event study of R HonestDiD's README, recomputed from the public data.

Input: ``ehec_data.csv``, the state-level ACS panel of the Mixtape Sessions' Advanced-DID
course (github.com/Mixtape-Sessions/Advanced-DID, Exercises/Data/ehec_data.csv; the
HonestDiD README and the Stata honestdid README load the same file): the share of
low-income childless adults with health insurance (``dins``) by state and year, and the year
the state expanded Medicaid (``yexp2``, missing if never).

As the README: years before 2016, the states that expanded in 2015 dropped, ``D`` = expanded
in 2014; the two-way fixed effects event study ``dins ~ i(year, D, ref = 2013) | stfips +
year`` clustered by state. The covariance is CRV1 with fixest's small-sample factor
``G/(G-1) (n-1)/(n-K)``, K = 15 (the 7 coefficients and the 8 year effects; the state
effects, nested in the clusters, are not counted): the original 95% interval for 2014 is
then 0.029 to 0.064 as both READMEs print.

    python tests/reference/honestdid/make_medicaid_event_study.py

writes ``medicaid_event_study.json`` beside this script (betahat: 2008-2012, 2014, 2015).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Fit the event study and write betahat and sigma."""
    df = pd.read_csv(HERE / "ehec_data.csv")
    df = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))]
    d = (df["yexp2"] == 2014).to_numpy(float)
    years = sorted(df["year"].unique())
    states = sorted(df["stfips"].unique())
    ev = [y for y in years if y != 2013]
    X = np.column_stack(
        [((df["year"] == y).to_numpy() * d) for y in ev]
        + [(df["stfips"] == s).to_numpy(float) for s in states]
        + [(df["year"] == y).to_numpy(float) for y in years[1:]])
    y = df["dins"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    u = y - X @ beta
    bread = np.linalg.pinv(X.T @ X)
    g = pd.factorize(df["stfips"])[0]
    G, n, K = int(g.max()) + 1, len(y), len(ev) + len(years)
    scores = np.zeros((G, X.shape[1]))
    np.add.at(scores, g, X * u[:, None])
    V = bread @ scores.T @ scores @ bread * G / (G - 1) * (n - 1) / (n - K)
    k = len(ev)
    out = {"source": "Mixtape-Sessions/Advanced-DID Exercises/Data/ehec_data.csv",
           "event_years": [int(e) for e in ev], "reference_year": 2013, "n_pre": 5,
           "n_post": 2, "n_obs": n, "n_clusters": G, "small_sample_K": K,
           "betahat": beta[:k].tolist(), "sigma": V[:k, :k].tolist()}
    (HERE / "medicaid_event_study.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"betahat {np.round(beta[:k], 6).tolist()}")
    print(f"se {np.round(np.sqrt(np.diag(V[:k, :k])), 6).tolist()}")


if __name__ == "__main__":
    main()
