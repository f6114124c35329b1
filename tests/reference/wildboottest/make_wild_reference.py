"""Wild cluster bootstrap (WCR, CRV1 "11") p-values by wildboottest on a small DiD panel.

Writes, beside this file:

* ``wild_data.csv``: 8 or 12 areas x 6 periods x 20 people, a programme in half the areas
  from period 4 (seeded, made here);
* ``wild_reference.json``: for 8 and 12 clusters, the t statistic and the two-tailed p-value
  of the DiD coefficient with the null imposed (WCR11): Rademacher weights by full
  enumeration (deterministic: 2^G draws), and Webb weights with the draws wildboottest used
  (saved, so pbr_eval can be given the same draws);
* ``weighted_data.csv`` / ``weighted_reference.json``: a cohort over 12 areas (people in and
  out of a programme, a covariate, an area effect; seeded, made here) and, by full
  enumeration of the Rademacher weights (WCR11), the t statistic and p-value of the
  treatment coefficient in ``y ~ 1 + treated`` (the difference in means: pbr_eval's
  ``ipw``, ``aipw`` and ``regression`` without covariates) and in the weighted least squares
  ``y ~ 1 + treated`` with weight 1 for participants and ``w`` for the others (the rows
  scaled by ``sqrt(w)``: wildboottest takes no weights);
* ``versions.txt``.

Run by ``make_wild_reference.sh``.
"""

from __future__ import annotations

import importlib.metadata as md_meta
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def panel(G: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    shock = rng.normal(scale=0.5, size=(G, 6))
    for g in range(G):
        treated = g % 2 == 0
        for t in range(1, 7):
            post = t >= 4
            y = (10 + 0.3 * t + shock[g, t - 1] + 0.4 * (treated and post)
                 + rng.normal(size=20))
            for yi in y:
                rows.append({"G": G, "area": g, "period": t, "treated": int(treated),
                             "post": int(post), "y": float(yi)})
    return pd.DataFrame(rows)


def wcr11(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, R: np.ndarray, weights: str,
          B: int) -> tuple[dict, np.ndarray]:
    """wildboottest's WCR11 two-tailed test of ``R'beta = 0``: its figures and its draws."""
    from wildboottest.wildboottest import WildboottestCL

    boot = WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=B, seed=7, parallel=False)
    v, B_used, full = boot.get_weights(weights_type=weights)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return ({"t_stat": float(np.ravel(boot.t_stat)[0]), "p_value": float(boot.pvalue),
             "B": int(B_used), "full_enumeration": bool(full)}, v)


def wcr11_full(X: np.ndarray, y: np.ndarray, cluster: np.ndarray) -> dict:
    """The test of the last coefficient, Rademacher weights enumerated."""
    R = np.zeros(X.shape[1])
    R[-1] = 1
    return wcr11(X, y, cluster, R, "rademacher", 9999)[0]


def weighted() -> None:
    rng = np.random.default_rng(18)
    G, per = 12, 40
    area = np.repeat(np.arange(G), per)
    x = rng.normal(size=area.size)
    treated = rng.random(area.size) < 1 / (1 + np.exp(-(-1.0 + 0.8 * x + 1.5 * (area < 4))))
    y = 1 + 0.5 * x + rng.normal(scale=0.5, size=G)[area] + 0.3 * treated + rng.normal(
        size=area.size)
    w = np.where(treated, 1.0, np.exp(-0.5 + 0.6 * x))  # odds-like weights for the others
    d = pd.DataFrame({"area": area, "x": x, "treated": treated.astype(int), "y": y, "w": w})
    d.to_csv(HERE / "weighted_data.csv", index=False)
    X = np.column_stack([np.ones(area.size), treated.astype(float)])
    r = np.sqrt(w)
    out = {"difference_in_means": wcr11_full(X, y, area),
           "weighted": wcr11_full(X * r[:, None], y * r, area)}
    print(out)
    (HERE / "weighted_reference.json").write_text(json.dumps(out))


def main() -> None:
    import statsmodels.formula.api as smf

    data = pd.concat([panel(8, 1), panel(12, 2)], ignore_index=True)
    data.to_csv(HERE / "wild_data.csv", index=False)
    out = {}
    for G, d in data.groupby("G"):
        model = smf.ols("y ~ treated + post + treated:post", data=d)
        X = model.exog
        y = model.endog
        R = np.zeros(X.shape[1])
        R[list(model.exog_names).index("treated:post")] = 1
        res = {}
        for wt, B in (("rademacher", 9999), ("webb", 999)):
            res[wt], v = wcr11(X, y, d["area"].to_numpy(), R, wt, B)
            if wt == "webb":
                res[wt]["draws"] = np.asarray(v, float).round(15).tolist()
        out[str(G)] = res
        print(G, {k: (r["t_stat"], r["p_value"], r["B"]) for k, r in res.items()})
    (HERE / "wild_reference.json").write_text(json.dumps(out))
    weighted()
    vers = [f"{p}=={md_meta.version(p)}" for p in ("wildboottest", "statsmodels", "numpy")]
    (HERE / "versions.txt").write_text("\n".join(vers) + "\n")


if __name__ == "__main__":
    main()
