"""Callaway & Sant'Anna (2021) on mpdta by two independent ports (and diff-diff).

Writes, beside this file:

* ``mpdta.csv``: the minimum-wage county panel shipped with R ``did`` (500 counties,
  2003-2007), copied from moderndid's packaged copy;
* ``cs_reference.json``: ATT(g, t) with analytic (influence-function) standard errors and
  every aggregation (simple, group, calendar, dynamic) with their overall values, for
  doubly robust, IPW and outcome regression, never- and not-yet-treated comparisons, with
  covariate ``lpop``, from moderndid and csdid (and diff-diff, doubly robust);
* ``versions.txt``.

Run by ``make_cs_reference.sh`` (which installs the ports in their own environment).
"""

from __future__ import annotations

import importlib.metadata as md_meta
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent


def as_list(v):
    return [float(x) for x in np.asarray(v, dtype=float).ravel()]


def moderndid_values(df, est, cg, anticipation=0, base_period="varying"):
    import moderndid as md

    r = md.att_gt(data=df, yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                  xformla="~lpop", est_method=est, control_group=cg, boot=False,
                  anticipation=anticipation, base_period=base_period)
    out = {"group": as_list(r.groups), "time": as_list(r.times), "att": as_list(r.att_gt),
           "se": as_list(r.se_gt), "agg": {}}
    for typ in ("simple", "group", "calendar", "dynamic"):
        a = md.aggte(r, type=typ, boot=False, cband=False)
        out["agg"][typ] = {
            "overall": float(a.overall_att), "overall_se": float(a.overall_se),
            "labels": None if a.event_times is None else as_list(a.event_times),
            "estimate": None if a.att_by_event is None else as_list(a.att_by_event),
            "se": None if a.se_by_event is None else as_list(a.se_by_event),
        }
    return out


def csdid_values(df, est, cg, anticipation=0, base_period="varying"):
    from csdid.att_gt import ATTgt

    a = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
              xformla="lemp~lpop", data=df, control_group=[cg], anticipation=anticipation,
              base_period=base_period).fit(est_method=est, bstrap=False)
    res = a.results
    out = {"group": as_list(res["group"]), "time": as_list(res["year"]), "att": as_list(res["att"]),
           "se": as_list(res["se"]), "agg": {}}
    for typ in ("simple", "group", "calendar", "dynamic"):
        a.aggte(typec=typ, bstrap=False, cband=False)
        e = a.atte
        out["agg"][typ] = {
            "overall": float(e["overall_att"]), "overall_se": float(e["overall_se"]),
            "labels": None if e.get("egt") is None else as_list(e["egt"]),
            "estimate": None if e.get("att_egt") is None else as_list(e["att_egt"]),
            "se": None if e.get("se_egt") is None else as_list(e["se_egt"]),
        }
    return out


def diffdiff_values(df, est, cg):
    import diff_diff as dd

    cs = dd.CallawaySantAnna(control_group=cg, estimation_method=est, n_bootstrap=0)
    r = cs.fit(df, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat",
               covariates=["lpop"], aggregate="all")
    gte = r.group_time_effects
    keys = sorted(gte)
    return {"group": [float(k[0]) for k in keys], "time": [float(k[1]) for k in keys],
            "att": [float(gte[k]["effect"]) for k in keys],
            "se": [float(gte[k]["se"]) for k in keys],
            "overall": float(r.overall_att), "overall_se": float(r.overall_se)}


def main() -> None:
    import moderndid as md

    df = md.load_mpdta()
    df = df.to_pandas() if hasattr(df, "to_pandas") else pd.DataFrame(df)
    df = df[["year", "countyreal", "lpop", "lemp", "first.treat", "treat"]]
    df.to_csv(HERE / "mpdta.csv", index=False, float_format="%.17g")
    df = pd.read_csv(HERE / "mpdta.csv")
    ref: dict = {"data": "mpdta.csv", "outcome": "lemp", "covariates": ["lpop"], "cases": {}}
    cg_names = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}
    for est in ("dr", "ipw", "reg"):
        for cg in ("nevertreated", "notyettreated"):
            key = f"{est}_{cg_names[cg]}"
            ref["cases"][key] = {"moderndid": moderndid_values(df, est, cg),
                                 "csdid": csdid_values(df, est, cg)}
            if est == "dr":
                ref["cases"][key]["diff_diff"] = diffdiff_values(df, est, cg_names[cg])
            print("done", key, flush=True)
    for name, kw in (("dr_never_treated_anticipation1", {"anticipation": 1}),
                     ("dr_never_treated_universal", {"base_period": "universal"})):
        ref["cases"][name] = {"moderndid": moderndid_values(df, "dr", "nevertreated", **kw),
                              "csdid": csdid_values(df, "dr", "nevertreated", **kw)}
        print("done", name, flush=True)
    (HERE / "cs_reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    vers = {p: md_meta.version(p) for p in ("moderndid", "csdid", "diff-diff", "numpy", "pandas",
                                            "scipy")}
    (HERE / "versions.txt").write_text("".join(f"{k}=={v}\n" for k, v in vers.items()))


if __name__ == "__main__":
    main()
