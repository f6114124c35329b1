"""Wild cluster bootstrap (WCR, CRV1 "11") p-values by wildboottest on a small DiD panel.

Writes, beside this file:

* ``wild_data.csv``: 8 or 12 areas x 6 periods x 20 people, a programme in half the areas
  from period 4 (seeded, made here);
* ``wild_reference.json``: for 8 and 12 clusters, the t statistic and the two-tailed p-value
  of the DiD coefficient with the null imposed (WCR11): Rademacher weights by full
  enumeration (deterministic: 2^G draws), and Webb weights with the draws wildboottest used
  (saved, so pbr_eval can be given the same draws);
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


def main() -> None:
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import WildboottestCL

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
            boot = WildboottestCL(X=X, Y=y, cluster=d["area"].to_numpy(), R=R, B=B, seed=7,
                                  parallel=False)
            v, B_used, full = boot.get_weights(weights_type=wt)
            boot.get_scores(bootstrap_type="11", impose_null=True)
            boot.get_numer()
            boot.get_denom()
            boot.get_tboot()
            boot.get_vcov()
            boot.get_tstat()
            boot.get_pvalue(pval_type="two-tailed")
            res[wt] = {"t_stat": float(np.ravel(boot.t_stat)[0]), "p_value": float(boot.pvalue),
                       "B": int(B_used), "full_enumeration": bool(full)}
            if wt == "webb":
                res[wt]["draws"] = np.asarray(v, float).round(15).tolist()
        out[str(G)] = res
        print(G, {k: (r["t_stat"], r["p_value"], r["B"]) for k, r in res.items()})
    (HERE / "wild_reference.json").write_text(json.dumps(out))
    vers = [f"{p}=={md_meta.version(p)}" for p in ("wildboottest", "statsmodels", "numpy")]
    (HERE / "versions.txt").write_text("\n".join(vers) + "\n")


if __name__ == "__main__":
    main()
