"""Build the plain context every renderer reads, with disclosure control applied.

The context is a dictionary of plain Python values (str, int, float, None,
lists, dicts): no DataFrames, no unit-level rows, no identifiers. Renderers
(HTML, Markdown, Excel) only format it, so what a report may publish is
decided here, once.

Sections appear when their engine has produced something and say plainly
"not available" (with the reason) when it has not: the builder reads results
and pricing objects by duck typing (``to_frame()``, ``summary()``,
attributes) so it works with any estimator and whatever parts of the pricing
engine exist.

Context layout::

    {"kind": "pilot" | "tariff", "title", "subtitle", "generated",
     "headline": [str], "warnings": [str],
     "sections": [{"id", "title", "available", "reason", "paragraphs": [str],
                   "tables": [table], "plots": [plot]}],
     "disclosure": {...}, "provenance": {...}}
    table = {"name", "title", "columns": [{"key", "label", "fmt"}], "rows": [{key: value}]}
    plot  = {"kind", "title", "alt", "data": {...}}

Formats (``fmt``): ``"text"``, ``"int"``, ``"pct"`` (a proportion shown as a
percentage), ``"pp"`` (a difference of proportions in percentage points),
``"num"`` (3 significant decimals), ``"gbp"`` (money), ``"ratio"``.
Suppressed and withheld values are the strings ``[c]`` and ``[w]``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.disclosure import SUPPRESSED, WITHHELD, DisclosurePolicy, is_hidden
from pbr_eval.exceptions import OptionError
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_level

__all__ = ["REPORT_KINDS", "build_context", "frame_table", "PLAIN_NI", "PLAIN_CI"]

REPORT_KINDS: tuple[str, ...] = ("pilot", "tariff")

PLAIN_NI = (
    "The non-intervention rate is our best estimate of how often the outcome would have "
    "happened to these same people if the programme had not existed. It is estimated from a "
    "comparison group of similar people who were not in the programme. The difference between "
    "what happened and the non-intervention rate is what the programme added; outcomes that "
    "would have happened anyway (\"deadweight\") should not be paid for."
)
PLAIN_CI = (
    "The range in brackets (the {pct}% confidence interval) shows how precise the estimate is: "
    "had we been able to repeat the comparison many times with different people, ranges "
    "built this way would contain the true value {pct} times in 100. A wide range means the "
    "data cannot pin the rate down; if the range for the difference includes zero, the data "
    "are consistent with the programme having made no difference."
)
BASELINE_WARNING = (
    "WARNING: the non-intervention rate comes from a HISTORICAL BASELINE, not from a "
    "comparison group followed at the same time. Anything else that changed over time "
    "(policy, policing, the economy, how outcomes are recorded) is mixed into the estimate, "
    "so it is not a counterfactual comparison. Treat the figures as indicative only."
)

_METHOD_PHRASE = {
    "nearest": "a matched comparison group",
    "optimal": "a matched comparison group",
    "exact": "a matched comparison group",
    "cem": "a matched comparison group",
    "subclass": "a matched comparison group",
    "ipw": "a weighted comparison group",
    "entropy": "a weighted comparison group",
    "regression": "a comparison group (regression-adjusted)",
    "doubly_robust": "a weighted and regression-adjusted comparison group",
    "aipw": "a weighted and regression-adjusted comparison group",
    "did": "a comparison group (difference in differences)",
    "baseline": "the historical baseline (NOT a comparison group)",
}


# ----------------------------------------------------------------- helpers
def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _finite(v: Any) -> bool:
    return not is_hidden(v) and v is not None and math.isfinite(_num(v))


def _plain(v: Any) -> Any:
    """A JSON-ready scalar."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return str(v)
    return str(v)


def _guess_fmt(column: str, values: Sequence[Any]) -> str:
    c = column.lower()
    nums = [v for v in values if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)]
    if not nums:
        return "text"
    money = ("price", "value", "ceiling", "band", "floor", "recommended", "payment", "cost",
             "budget", "npv", "cash", "fee", "gbp", "amount", "cap", "capital", "margin", "paid",
             "income", "spend", "net", "saving")
    if any(m in c for m in ("share", "probability", "prob_", "rate", "non_intervention",
                            "percent", "proportion")) and not any(m in c for m in money):
        return "pct" if all(-1.5 <= float(v) <= 1.5 for v in nums) else "num"
    if any(m in c for m in money):
        return "gbp"
    if c.startswith("n_") or any(m in c for m in ("count", "month", "year", "people", "n ")) or all(
        float(v).is_integer() for v in nums
    ):
        return "int"
    return "num"


_COUNT_HINTS = ("n_", "count", "people", "referrals", "participants", "families", "persons")


_MONEY_HINTS = ("price", "value", "ceiling", "band", "floor", "recommended", "payment", "cost",
                "budget", "npv", "cash", "fee", "gbp", "amount", "cap", "capital", "margin",
                "paid", "rate", "share", "prob")


def _is_count_column(column: str) -> bool:
    c = column.lower()
    if any(m in c for m in _MONEY_HINTS):
        return False
    return c.startswith("n_") or c == "n" or any(h in c for h in _COUNT_HINTS[1:])


#: Columns of a price table shown in HTML/Markdown (the workbook shows all).
PRICE_DISPLAY = ["paid_outcome", "value_per_outcome", "expected_rate", "non_intervention",
                 "non_intervention_ci_lower", "non_intervention_ci_upper", "deadweight_share",
                 "floor", "ceiling", "recommended", "band_lower", "band_upper"]


def frame_table(
    frame: pd.DataFrame,
    *,
    name: str,
    title: str,
    policy: DisclosurePolicy,
    labels: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    max_rows: int = 500,
    suppress_counts: bool = True,
) -> dict[str, Any]:
    """Turn an aggregate DataFrame into a context table, suppressing small counts.

    Columns that look like counts of people (``n_*``, ``*count*``, ...) are
    passed through :meth:`DisclosurePolicy.count`. The index is kept as a
    first column when it is named or not a plain range.

    Examples
    --------
    >>> import pandas as pd
    >>> t = frame_table(pd.DataFrame({"group": ["a", "b"], "n_people": [4, 40]}),
    ...                 name="g", title="Groups", policy=DisclosurePolicy())
    >>> [r["n_people"] for r in t["rows"]]
    ['[c]', 40]
    """
    f = frame
    if not isinstance(f.index, pd.RangeIndex) or f.index.name is not None:
        f = f.reset_index()
    f = f.head(max_rows)
    labels = dict(labels or {})
    formats = dict(formats or {})
    columns = []
    rows: list[dict[str, Any]] = [{} for _ in range(len(f))]
    for col in f.columns:
        key = str(col)
        vals = [_plain(v) for v in f[col].tolist()]
        if suppress_counts and _is_count_column(key):
            vals = [policy.count(v) if isinstance(v, (int, float)) else v for v in vals]
        fmt = formats.get(key) or _guess_fmt(key, vals)
        columns.append({"key": key, "label": labels.get(key, key.replace("_", " ")), "fmt": fmt})
        for i, v in enumerate(vals):
            rows[i][key] = v
    return {"name": name, "title": title, "columns": columns, "rows": rows}


def _section(sid: str, title: str, *, available: bool = True, reason: str | None = None,
             paragraphs: Sequence[str] = (), tables: Sequence[dict] = (),
             plots: Sequence[dict] = ()) -> dict[str, Any]:
    return {"id": sid, "title": title, "available": available, "reason": reason,
            "paragraphs": list(paragraphs), "tables": list(tables), "plots": list(plots)}


def _get(obj: Any, *names: str) -> Any:
    """First attribute or mapping key of ``obj`` among ``names`` that is not None."""
    if obj is None:
        return None
    for n in names:
        v = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if v is not None:
            return v
    return None


def _as_frame(obj: Any) -> pd.DataFrame | None:
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.Series):
        return obj.to_frame()
    to_frame = getattr(obj, "to_frame", None)
    if callable(to_frame):
        try:
            f = to_frame()
        except Exception:  # a to_frame that needs arguments, or fails: not our job to fix
            return None
        return f if isinstance(f, pd.DataFrame) else None
    if isinstance(obj, Mapping):
        items = {str(k): _plain(v) for k, v in obj.items() if not isinstance(v, (Mapping, list))}
        if items:
            return pd.DataFrame({"item": list(items), "value": list(items.values())})
    if isinstance(obj, list) and obj and isinstance(obj[0], Mapping):
        return pd.DataFrame(obj)
    return None


def _summary_text(obj: Any) -> list[str]:
    """The lines of ``obj.summary()`` (rules of '=' or '-' dropped), or []."""
    s = getattr(obj, "summary", None)
    if not callable(s):
        return []
    try:
        out = s()
    except Exception:
        return []
    if not isinstance(out, str):
        return []
    return [ln.strip() for ln in out.splitlines()
            if ln.strip() and not re.fullmatch(r"[=\-_ ]+", ln.strip())]


# ------------------------------------------------------------ results parts
def _results_dict(results: Any, level: float) -> dict[str, Any]:
    if hasattr(results, "to_dict") and callable(results.to_dict):
        try:
            return dict(results.to_dict(level))
        except TypeError:
            return dict(results.to_dict())
    if isinstance(results, Mapping) and "estimates" in results:
        return dict(results)
    raise OptionError(
        "`results` must be a results object from pbr_eval.estimate() (or its to_dict() / saved "
        f"JSON); got {type(results).__name__}."
    )


def _published_estimates(rows: list[dict], info: Mapping[str, Any],
                         policy: DisclosurePolicy) -> tuple[list[dict], list[str]]:
    out = []
    notes = []
    pool = (info.get("cohort") or {}).get("n_comparison")
    for r in rows:
        binary = r.get("outcome_type") == "binary"
        nt, nc = r.get("n_treated"), r.get("n_comparison")
        p: dict[str, Any] = {"outcome": str(r.get("outcome")), "outcome_type": r.get("outcome_type"),
                             "n_treated": policy.count(nt), "n_comparison": policy.count(nc)}
        if not policy.publishable_cohort(nt):
            for k in ("observed", "non_intervention", "non_intervention_ci_lower",
                      "non_intervention_ci_upper", "effect", "ci_lower", "ci_upper", "p_value",
                      "naive_comparison"):
                p[k] = WITHHELD
            notes.append(
                f"Results for '{p['outcome']}' are withheld: fewer than {policy.min_cohort} people "
                "in the programme contributed (minimum cohort size)."
            )
            out.append(p)
            continue
        p["observed"] = policy.rate(r.get("observed"), nt, binary=binary)
        ni = policy.rate(r.get("non_intervention"), nc, binary=binary)
        p["non_intervention"] = ni
        for k in ("non_intervention_ci_lower", "non_intervention_ci_upper"):
            p[k] = WITHHELD if is_hidden(ni) else _plain(r.get(k))
        hidden = is_hidden(ni) or is_hidden(p["observed"])
        for k in ("effect", "ci_lower", "ci_upper", "p_value"):
            p[k] = WITHHELD if hidden else _plain(r.get(k))
        p["naive_comparison"] = policy.rate(r.get("naive_comparison"), pool, binary=binary)
        if hidden:
            notes.append(
                f"Some rates for '{p['outcome']}' are withheld because they would reveal a count "
                f"below {policy.threshold}."
            )
        out.append(p)
    return out, notes


def _fmt_rate(v: Any, binary: bool) -> str:
    if is_hidden(v) or v is None:
        return str(v if v is not None else "n/a")
    return f"{float(v):.0%}" if binary else f"{float(v):.2f}"


def _headline(p: dict, method: str, level: float) -> str:
    pct = int(round(level * 100))
    binary = p["outcome_type"] == "binary"
    who = _METHOD_PHRASE.get(method, f"a comparison group ({method})")
    if is_hidden(p.get("observed")) or is_hidden(p.get("non_intervention")):
        return (f"Results for '{p['outcome']}' are not published for this cohort "
                "(disclosure control: see the note below).")
    n = p["n_treated"]
    n_txt = f"{n:,}" if isinstance(n, int) else str(n)
    lo, hi = p["non_intervention_ci_lower"], p["non_intervention_ci_upper"]
    if binary:
        text = (f"{_fmt_rate(p['observed'], True)} of the {n_txt} people in the programme had the "
                f"outcome '{p['outcome']}', against {_fmt_rate(p['non_intervention'], True)} "
                f"({pct}% CI {_fmt_rate(lo, True)}-{_fmt_rate(hi, True)}) of {who}.")
    else:
        text = (f"The {n_txt} people in the programme had on average {float(p['observed']):.2f} "
                f"'{p['outcome']}' each, against {float(p['non_intervention']):.2f} "
                f"({pct}% CI {float(lo):.2f}-{float(hi):.2f}) estimated for {who}.")
    lo_e, hi_e, pv = p.get("ci_lower"), p.get("ci_upper"), p.get("p_value")
    if _finite(lo_e) and _finite(hi_e):
        s = 100.0 if binary else 1.0
        unit = " percentage points" if binary else ""
        lo_d, hi_d = sorted((abs(float(lo_e)) * s, abs(float(hi_e)) * s))
        if float(lo_e) > 0 or float(hi_e) < 0:
            direction = "higher" if float(lo_e) > 0 else "lower"
            text += (f" The difference is statistically significant: the programme's rate is "
                     f"between {lo_d:.{0 if binary else 2}f} and {hi_d:.{0 if binary else 2}f}"
                     f"{unit} {direction}.")
        else:
            text += (" The difference is not statistically significant: the data are consistent "
                     "with the programme making no difference"
                     + (f" (p = {float(pv):.2g})." if _finite(pv) else "."))
    return text


def _estimates_table(pub: list[dict], level: float) -> dict[str, Any]:
    pct = int(round(level * 100))
    cols = [("outcome", "Outcome", "text"), ("n_treated", "People in programme", "int"),
            ("n_comparison", "Comparison group", "int"), ("observed", "Programme", "auto"),
            ("non_intervention", "Non-intervention", "auto"),
            ("non_intervention_ci_lower", f"{pct}% CI lower", "auto"),
            ("non_intervention_ci_upper", f"{pct}% CI upper", "auto"),
            ("effect", "Difference", "autod"), ("ci_lower", f"Difference {pct}% CI lower", "autod"),
            ("ci_upper", f"Difference {pct}% CI upper", "autod"), ("p_value", "p-value", "num"),
            ("naive_comparison", "Unadjusted pool", "auto")]
    rows = []
    for p in pub:
        row = {k: p.get(k) for k, _, _ in cols}
        row["_binary"] = p["outcome_type"] == "binary"
        rows.append(row)
    # per-row formats: a rate table mixes proportions and means; record the format per cell
    columns = [{"key": k, "label": lab, "fmt": f} for k, lab, f in cols]
    for row in rows:
        b = row.pop("_binary")
        row["_fmt"] = {k: ("pct" if b else "num") if f == "auto" else ("pp" if b else "num")
                       for k, _, f in cols if f in ("auto", "autod")}
    return {"name": "estimates", "title": "Estimates", "columns": columns, "rows": rows}


def _balance_part(results: Any, rdict: Mapping[str, Any], pub: list[dict],
                  policy: DisclosurePolicy) -> tuple[dict | None, dict | None, list[str]]:
    rows = rdict.get("balance")
    if not rows:
        return None, None, []
    bal_obj = getattr(results, "balance", None)
    binary_names = set(getattr(bal_obj, "binary", set()) or set())
    cohort = (rdict.get("info") or {}).get("cohort") or {}
    n_t_before, n_c_before = cohort.get("n_treated"), cohort.get("n_comparison")
    n_t_after = pub[0].get("n_treated") if pub else None
    n_c_after = pub[0].get("n_comparison") if pub else None
    out_rows = []
    hidden_names = []
    threshold = _num(getattr(bal_obj, "threshold", 0.1))
    for r in rows:
        name = str(r.get("covariate", r.get("index", "")))
        vals = [r.get(k) for k in ("mean_treated_before", "mean_comparison_before",
                                   "mean_treated_after", "mean_comparison_after")]
        is_bin = name in binary_names or (
            not binary_names and all(_finite(v) and 0 <= float(v) <= 1 for v in vals)
        )
        row = {"covariate": name}
        for when, nt, nc in (("before", n_t_before, n_c_before), ("after", n_t_after, n_c_after)):
            mt, mc = r.get(f"mean_treated_{when}"), r.get(f"mean_comparison_{when}")
            if is_bin:
                pt = policy.rate(mt, nt if not is_hidden(nt) else 0)
                pc = policy.rate(mc, nc if not is_hidden(nc) else 0)
            else:
                pt, pc = _plain(mt), _plain(mc)
            row[f"mean_treated_{when}"], row[f"mean_comparison_{when}"] = pt, pc
            hide = is_hidden(pt) or is_hidden(pc)
            row[f"smd_{when}"] = WITHHELD if hide else _plain(r.get(f"smd_{when}"))
            row[f"var_ratio_{when}"] = WITHHELD if hide else _plain(r.get(f"var_ratio_{when}"))
            if hide and name not in hidden_names:
                hidden_names.append(name)
        row["_fmt"] = {k: "pct" for k in row if k.startswith("mean_")} if is_bin else {}
        out_rows.append(row)
    cols = [("covariate", "Covariate", "text"),
            ("mean_treated_before", "Programme (before)", "num"),
            ("mean_comparison_before", "Comparison (before)", "num"),
            ("smd_before", "SMD before", "num"),
            ("mean_treated_after", "Programme (after)", "num"),
            ("mean_comparison_after", "Comparison (after)", "num"),
            ("smd_after", "SMD after", "num"), ("var_ratio_after", "Variance ratio after", "ratio")]
    table = {"name": "balance", "title": "Covariate balance",
             "columns": [{"key": k, "label": lab, "fmt": f} for k, lab, f in cols],
             "rows": out_rows}
    love = {"kind": "love", "title": "Love plot: standardised mean differences",
            "alt": "Absolute standardised mean difference of each covariate before and after "
                   "adjustment; points left of the dashed line are balanced.",
            "data": {"covariates": [r["covariate"] for r in out_rows],
                     "before": [None if is_hidden(r["smd_before"]) else r["smd_before"]
                                for r in out_rows],
                     "after": [None if is_hidden(r["smd_after"]) else r["smd_after"]
                               for r in out_rows],
                     "threshold": threshold if math.isfinite(threshold) else 0.1}}
    notes = []
    if hidden_names:
        notes.append(f"Balance figures for {len(hidden_names)} categories are withheld because "
                     f"they would reveal counts below {policy.threshold}.")
    return table, love, notes


def _overlap_part(results: Any, policy: DisclosurePolicy, bins: int = 20) -> tuple[dict | None, str]:
    extras = getattr(results, "extras", None)
    if not extras:
        return None, ("the propensity scores are not in these results (a saved results file "
                      "carries aggregates only, or the method does not use a propensity score)")
    ps = extras.get("distance")
    t_index = extras.get("treated_index")
    estimand = getattr(results, "estimand", None)
    focal = extras.get("focal_index")
    if t_index is None and focal is not None and isinstance(ps, pd.Series):
        if estimand == "ATT":
            t_index = focal
        elif estimand == "ATC":
            t_index = ps.index.difference(focal)
    if not isinstance(ps, pd.Series) or t_index is None:
        return None, "this method does not record propensity scores"
    v = ps.to_numpy(dtype=float)
    is_t = ps.index.isin(t_index)
    ok = np.isfinite(v)
    if not ok.any() or not is_t[ok].any() or is_t[ok].all():
        return None, "the propensity scores of one of the groups are missing"
    lo, hi = float(np.min(v[ok])), float(np.max(v[ok]))
    edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5, bins + 1)
    label = "propensity score" if 0 <= lo and hi <= 1 else "propensity score (linear)"
    ct, _ = np.histogram(v[ok & is_t], bins=edges)
    cc, _ = np.histogram(v[ok & ~is_t], bins=edges)
    n_sup = 0
    out = {}
    for name, counts in (("treated", ct), ("comparison", cc)):
        small = (counts > 0) & (counts < policy.threshold)
        n_sup += int(small.sum())
        kept = np.where(small, 0, counts)
        total = counts.sum()
        out[name] = [float(x) for x in (kept / total if total else kept)]
    data = {"edges": [float(e) for e in edges], "label": label, "suppressed_bins": n_sup, **out}
    plot = {"kind": "overlap", "title": "Overlap of propensity scores",
            "alt": "Share of programme and comparison people in each propensity-score band; "
                   "bands holding fewer than the disclosure threshold are left blank.",
            "data": data}
    return plot, ""


def _provenance(rdict: Mapping[str, Any], extra: Mapping[str, Any] | None,
                generated: str) -> dict[str, Any]:
    info = rdict.get("info") or {}
    prov = {
        "generated": generated,
        "pbr_eval": info.get("version"),
        "versions": dict(info.get("versions") or {}),
        "data_fingerprint": info.get("fingerprint"),
        "seed": info.get("seed"),
        "method": rdict.get("method") or info.get("method"),
        "options": {str(k): _plain(v) for k, v in (info.get("options") or {}).items()},
    }
    for k, v in (extra or {}).items():
        prov[str(k)] = v
    return prov


# ------------------------------------------------------------ pricing parts
def _pricing_parts(pricing: Any) -> dict[str, Any]:
    """Split a pricing input into named parts by duck typing."""
    if pricing is None:
        return {}
    parts: dict[str, Any] = {}
    if isinstance(pricing, Mapping):
        src = dict(pricing)
        parts["recommendation"] = _get(src, "recommendation", "prices", "price")
    else:
        src = pricing
        # a PriceRecommendation itself, or an object bundling the parts
        parts["recommendation"] = _get(pricing, "recommendation") or pricing
    parts["tariff"] = _get(src, "tariff")
    parts["simulation"] = _get(src, "simulation", "payments", "risk")
    parts["cashflow"] = _get(src, "cashflow", "cash_flow")
    parts["sensitivity"] = _get(src, "sensitivity")
    if isinstance(pricing, Mapping) and parts["recommendation"] is None and "prices" in pricing:
        parts["recommendation"] = pricing["prices"]
    return parts


def _price_rows(rec: Any) -> pd.DataFrame | None:
    if isinstance(rec, Mapping) and isinstance(rec.get("prices"), list):
        return pd.DataFrame(rec["prices"])
    return _as_frame(rec)


def _price_curve(prices: pd.DataFrame) -> dict | None:
    need = {"value_per_outcome", "expected_rate", "non_intervention"}
    if not need <= set(prices.columns):
        return None
    lines = []
    for _, r in prices.head(6).iterrows():
        v, rate, n = _num(r["value_per_outcome"]), _num(r["expected_rate"]), _num(r["non_intervention"])
        if not all(math.isfinite(x) for x in (v, rate, n)) or rate <= 0:
            continue
        floor = _num(r.get("floor", float("nan")))
        tip = rate * (1 - floor / v) if math.isfinite(floor) else rate
        grid = np.linspace(0.0, min(1.0, max(rate, n) * 1.25), 60)
        lines.append({
            "label": str(r.get("paid_outcome", r.get("outcome", ""))),
            "x": [float(x) for x in grid],
            "price": [float(max(v * (1 - x / rate), 0.0)) for x in grid],
            "estimate": n, "price_at_estimate": float(max(v * (1 - n / rate), 0.0)),
            "recommended": _num(r.get("recommended")),
            "band": [_num(r.get("non_intervention_ci_lower")), _num(r.get("non_intervention_ci_upper"))],
            "tipping_point": float(tip), "floor": floor if math.isfinite(floor) else None,
        })
    if not lines:
        return None
    return {"kind": "price_curve", "title": "Price against the non-intervention rate",
            "alt": "Most worth paying per outcome as the non-intervention rate rises, with the "
                   "estimate, its confidence band and the tipping point where the price reaches "
                   "zero (or the provider's floor).",
            "data": {"lines": lines}}


def _tariff_frame(tariff: Any) -> pd.DataFrame | None:
    """A table of a tariff's mechanisms (``Tariff.mechanisms``) and caps."""
    mechs = getattr(tariff, "mechanisms", None)
    if not mechs:
        return None
    rows = []
    for m in mechs:
        fields = {k: v for k, v in vars(m).items() if not k.startswith("_")}
        amount = next((fields[k] for k in ("price", "amount", "fee") if
                       isinstance(fields.get(k), (int, float))), None)
        details = "; ".join(f"{k}={v}" for k, v in fields.items()
                            if k not in ("label", "price", "amount", "fee", "outcomes",
                                         "attributes") and v is not None)
        rows.append({"mechanism": type(m).__name__, "label": str(fields.get("label", "")),
                     "payment": amount, "details": details})
    for cap in ("per_person_cap", "programme_cap"):
        v = getattr(tariff, cap, None)
        if v is not None:
            rows.append({"mechanism": cap.replace("_", " "), "label": "", "payment": v,
                         "details": ""})
    return pd.DataFrame(rows)


def _payments_plot(sim: Any) -> dict | None:
    draws = _get(sim, "total_payments", "payments_draws", "draws")
    if draws is None and isinstance(getattr(sim, "payments", None), np.ndarray):
        draws = sim.payments  # pbr_eval.pricing.PaymentRisk
    if isinstance(draws, pd.DataFrame):
        col = next((c for c in draws.columns if "payment" in str(c).lower()), None)
        draws = draws[col] if col is not None else None
    if draws is None:
        return None
    try:
        arr = np.asarray(draws, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return None
    counts, edges = np.histogram(arr, bins=30)
    value = _get(sim, "value_created")
    if value is None and isinstance(getattr(sim, "value", None), np.ndarray):
        value = sim.value
    value_arr = None
    if value is not None:
        try:
            value_arr = float(np.nanmean(np.asarray(value, dtype=float)))
        except (TypeError, ValueError):
            value_arr = None
    budget = _get(sim, "budget")
    if budget is None and callable(getattr(sim, "budget_at", None)):
        try:
            budget = float(sim.budget_at(0.95))  # budget covering 95% of the draws
        except Exception:
            budget = None
    return {"kind": "payments", "title": "Distribution of total payments",
            "alt": "Histogram of simulated total outcome payments with the budget and the "
                   "mean value of the additional outcomes marked.",
            "data": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
                     "budget": _num(budget) if budget is not None else None,
                     "value": value_arr}}


def _cash_plot(cf: pd.DataFrame) -> dict | None:
    cols = {str(c).lower(): c for c in cf.columns}
    month = next((cols[c] for c in cols if "month" in c or c in ("period", "date")), None)
    cash = next((cols[c] for c in cols if "cash" in c and ("position" in c or "balance" in c
                                                          or "cumulative" in c)), None)
    cash = cash or next((cols[c] for c in cols if "cash" in c), None)
    if cash is None:
        return None
    x = cf[month].tolist() if month is not None else list(range(len(cf)))
    try:
        y = [float(v) for v in cf[cash].tolist()]
        xs = [float(v) for v in x]
    except (TypeError, ValueError):
        xs, y = list(range(len(cf))), [float(v) for v in cf[cash].tolist()]
    return {"kind": "cash", "title": "Monthly cash position of the provider",
            "alt": "Provider's cumulative cash position month by month; the lowest point is the "
                   "working capital needed.",
            "data": {"x": xs, "y": y, "label": str(cash)}}


# ---------------------------------------------------------------- builder
def build_context(
    results: Any,
    *,
    pricing: Any = None,
    sensitivity: Any = None,
    kind: str = "pilot",
    title: str | None = None,
    level: float = DEFAULT_LEVEL,
    policy: DisclosurePolicy | None = None,
    provenance: Mapping[str, Any] | None = None,
    generated: str | None = None,
    claims: Any = None,
    areas: Any = None,
    area_tariffs: Any = None,
) -> dict[str, Any]:
    """Build the report context from results (and pricing) with disclosure control.

    Parameters
    ----------
    results : CounterfactualResults or mapping
        From :func:`pbr_eval.estimate`, or its ``to_dict()`` (e.g. a saved
        results JSON file read back).
    pricing : PriceRecommendation, mapping or object, optional
        A price recommendation, or a bundle with any of ``recommendation``,
        ``tariff``, ``simulation``, ``cashflow``, ``sensitivity`` (mapping keys
        or attributes). Parts that are absent are reported as not available.
    sensitivity : object, optional
        Sensitivity-to-hidden-bias results (anything with ``to_frame()`` or a
        DataFrame); ``results.sensitivity`` is used when present.
    kind : {"pilot", "tariff"}
        The evaluator's pilot report or the commissioner's tariff report.
    title : str, optional
    level : float, default 0.95
        Confidence level of the intervals shown.
    policy : DisclosurePolicy, optional
        Disclosure rules (default threshold 10, minimum cohort 30).
    provenance : mapping, optional
        Extra provenance (e.g. from an analysis file run).
    generated : str, optional
        Timestamp to print (default: now, UTC). Fix it for byte-identical output.
    claims : ClaimsValidation or mapping, optional
        Checked claims (:func:`pbr_eval.claims.validate_claims`) for the
        "Claims checked" section; see :mod:`pbr_eval.reporting.sections`.
    areas : AreaRates, optional
        Area rates (:func:`pbr_eval.areas.area_rates`) for the "Local areas" section.
    area_tariffs : AreaTariffs, optional
        Area tariffs (:func:`pbr_eval.areas.area_tariffs`) for the same section.

    Returns
    -------
    dict
        Plain values only; see the module docstring for the layout.

    Raises
    ------
    OptionError
        For an unknown ``kind`` or a ``results`` that is not a results object.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> ctx = build_context(res, generated="2026-01-01")
    >>> ctx["headline"][0][:40]
    '25% of the 600 people in the programme h'
    """
    kind = check_choice("kind", kind, REPORT_KINDS)
    level = check_level(level)
    policy = policy or DisclosurePolicy()
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rdict = _results_dict(results, level)
    info = rdict.get("info") or {}
    method = str(rdict.get("method") or info.get("method") or "unknown")
    pub, est_notes = _published_estimates(list(rdict.get("estimates") or []), info, policy)
    pct = int(round(level * 100))
    warnings: list[str] = []
    is_baseline = method == "baseline" or bool(info.get("caveat"))
    if is_baseline:
        warnings.append(BASELINE_WARNING)
        if info.get("caveat"):
            warnings.append(str(info["caveat"]))
    headline = [_headline(p, method, level) for p in pub]
    sections: list[dict] = []

    # --- evaluator sections
    explain = _section("explain", "What the figures mean",
                       paragraphs=[PLAIN_NI, PLAIN_CI.format(pct=pct)])
    est = _section("estimates", "Estimates", tables=[_estimates_table(pub, level)],
                   paragraphs=[
                       "Programme: the outcome rate (or mean) of the people in the programme. "
                       "Non-intervention: the estimated rate without the programme. Difference: "
                       "programme minus non-intervention. Unadjusted pool: the rate of the "
                       "whole comparison pool before any matching or weighting, for contrast.",
                       *est_notes])
    bal_table, love, bal_notes = _balance_part(results, rdict, pub, policy)
    if bal_table is not None:
        bal_obj = getattr(results, "balance", None)
        thr = love["data"]["threshold"] if love else 0.1
        imb = list(getattr(bal_obj, "imbalanced", []) or [])
        para = [f"A standardised mean difference (SMD) below {thr:g} in absolute value is "
                "usually taken as good balance: the comparison group then resembles the "
                "programme group on that characteristic."]
        para.append(f"Still imbalanced after adjustment: {', '.join(imb)}." if imb
                    else f"After adjustment every covariate is within {thr:g}.")
        bal = _section("balance", "Balance: how alike the two groups are",
                       paragraphs=para + bal_notes, tables=[bal_table], plots=[love])
    else:
        bal = _section("balance", "Balance: how alike the two groups are", available=False,
                       reason="these results carry no balance table")
    ov_plot, ov_reason = _overlap_part(results, policy)
    if ov_plot is not None:
        ov = _section("overlap", "Overlap: are there comparable people?", plots=[ov_plot],
                      paragraphs=["Each person's propensity score is their estimated chance of "
                                  "joining the programme given their characteristics. The "
                                  "comparison is only trustworthy where both groups have "
                                  "people with similar scores."]
                      + ([f"{ov_plot['data']['suppressed_bins']} bands with fewer than "
                          f"{policy.threshold} people are left blank (disclosure control)."]
                         if ov_plot["data"]["suppressed_bins"] else []))
    else:
        ov = _section("overlap", "Overlap: are there comparable people?", available=False,
                      reason=ov_reason)
    sens_obj = sensitivity if sensitivity is not None else getattr(results, "sensitivity", None)
    # one object, or several: {"Rosenbaum bounds": ..., "E-values": ...} or a list
    if isinstance(sens_obj, Mapping) and sens_obj and all(
        isinstance(v, pd.DataFrame) or hasattr(v, "to_frame") for v in sens_obj.values()
    ):
        sens_items = [(str(k), v) for k, v in sens_obj.items()]
    elif isinstance(sens_obj, (list, tuple)):
        sens_items = [(f"Sensitivity analysis {i + 1}", v) for i, v in enumerate(sens_obj)]
    elif sens_obj is not None:
        sens_items = [("Sensitivity analysis", sens_obj)]
    else:
        sens_items = []
    sens_tables, sens_text = [], []
    for k, (label, obj) in enumerate(sens_items):
        frame = _as_frame(obj)
        if frame is not None and len(frame):
            sens_tables.append(frame_table(frame, name="sensitivity" if k == 0 else
                                           f"sensitivity_{k + 1}", title=label, policy=policy))
            sens_text += _summary_text(obj)
    if sens_tables:
        sens = _section("sensitivity", "Sensitivity to hidden bias",
                        paragraphs=["How strong an unmeasured difference between the groups "
                                    "would have to be to change the conclusion."] + sens_text,
                        tables=sens_tables)
    else:
        sens = _section("sensitivity", "Sensitivity to hidden bias", available=False,
                        reason="no sensitivity analysis was run for these results")

    # --- pricing
    parts = _pricing_parts(pricing)
    price_frame = _price_rows(parts.get("recommendation"))
    price_secs: list[dict] = []
    if price_frame is not None and len(price_frame):
        curve = _price_curve(price_frame)
        rec = parts.get("recommendation")
        level_p = _num(_get(rec, "level") or level)
        price_table = frame_table(price_frame, name="prices", title="Prices", policy=policy)
        shown = [c for c in PRICE_DISPLAY if c in price_frame.columns]
        if len(shown) >= 4:
            price_table["display"] = shown
        rec_info = _get(rec, "info") or {}
        ptxt = []
        for _, r in price_frame.iterrows():
            if {"recommended", "band_lower", "band_upper"} <= set(price_frame.columns):
                ptxt.append(
                    f"Recommended price per '{r.get('paid_outcome', r.get('outcome'))}': "
                    f"GBP {_num(r['recommended']):,.0f} (band GBP {_num(r['band_lower']):,.0f} to "
                    f"GBP {_num(r['band_upper']):,.0f})"
                    + (f"; {_num(r['deadweight_share']):.0%} of the outcomes paid for would have "
                       "happened anyway." if "deadweight_share" in price_frame.columns else ".")
                    + (f" {r['verdict']}" if isinstance(r.get("verdict"), str) and r.get("verdict")
                       else ""))
        price_secs.append(_section(
            "prices", "Recommended prices and bands",
            paragraphs=ptxt + [
                "The ceiling is the most worth paying per observed outcome so that, on average, "
                "only the additional outcomes are paid for: value x (1 - non-intervention rate / "
                f"expected rate). The band follows the {int(round(level_p * 100)) if math.isfinite(level_p) else pct}% "
                "confidence interval of the non-intervention rate.",
                *([f"Pricing rule: {rec_info['rule']}."] if isinstance(rec_info, Mapping)
                  and rec_info.get("rule") else []),
                *[f"Note: {n}" for n in (rec_info.get("notes", []) if isinstance(rec_info, Mapping)
                                         else [])]],
            tables=[price_table], plots=[curve] if curve else []))
    else:
        price_secs.append(_section("prices", "Recommended prices and bands", available=False,
                                   reason="no price recommendation was given (pricing=...)"))
    for key, sid, stitle in (("tariff", "tariff", "Tariff and payment mechanisms"),
                             ("simulation", "simulation", "Payment simulation"),
                             ("cashflow", "cashflow", "Cash-flow schedule"),
                             ("sensitivity", "price_sensitivity", "Price sensitivity")):
        obj = parts.get(key)
        frame = _tariff_frame(obj) if key == "tariff" and not hasattr(obj, "to_frame") else None
        frame = frame if frame is not None else _as_frame(obj)
        formats: dict[str, str] = {}
        if key == "simulation" and isinstance(getattr(obj, "payments", None), np.ndarray):
            formats = {str(c): "gbp" for c in frame.columns} if frame is not None else {}
        if frame is None or not len(frame):
            price_secs.append(_section(sid, stitle, available=False,
                                       reason=f"the pricing engine's {key} was not given"
                                       if pricing is not None else "no pricing inputs were given"))
            continue
        plots = []
        if key == "simulation":
            pp = _payments_plot(obj)
            plots = [pp] if pp else []
        elif key == "cashflow":
            cp = _cash_plot(frame)
            plots = [cp] if cp else []
        # projections from contract inputs (planned referrals, simulated cohorts) are not
        # data about people: their counts are not suppressed
        price_secs.append(_section(sid, stitle, paragraphs=_summary_text(obj),
                                   tables=[frame_table(frame, name=sid, title=stitle,
                                                       policy=policy, formats=formats,
                                                       suppress_counts=False)],
                                   plots=plots))

    # --- methods and provenance
    cohort = info.get("cohort") or {}
    se_method = info.get("se") or info.get("se_method")
    meth = [
        f"Method: {method}; estimand {rdict.get('estimand', info.get('estimand', '?'))} (the "
        "non-intervention rate of the people in the programme)." if method != "baseline" else
        "Method: historical baseline (the same population's earlier outcome rate).",
        f"Covariates used: {', '.join(map(str, cohort.get('covariates') or [])) or 'not recorded'}.",
    ]
    if se_method:
        meth.append(f"Standard errors: {se_method}.")
    opts = info.get("options") or {}
    if opts:
        meth.append("Options: " + ", ".join(f"{k}={v}" for k, v in opts.items()) + ".")
    for d in info.get("dropped") or []:
        meth.append(f"Rows left out ({d.get('stage')}): {policy.count(d.get('n'))}, "
                    f"{d.get('reason')}.")
    for note in info.get("notes") or []:
        meth.append(f"Note: {note}")
    meth += [
        "Limitations: the comparison can only adjust for characteristics that were recorded; "
        "a difference in something unrecorded (motivation, family support) would bias the "
        "non-intervention rate. The sensitivity section shows how strong such a difference "
        "would need to be.",
        policy.describe(),
    ]
    if is_baseline:
        meth.insert(0, BASELINE_WARNING)
    methods = _section("methods", "Methods and limitations", paragraphs=meth)
    from pbr_eval.reporting.sections import areas_section, claims_section

    extra = [claims_section(claims, policy), areas_section(areas, area_tariffs, policy, level)]
    prov = _provenance(rdict, provenance, generated)

    if kind == "pilot":
        sections = [explain, est, bal, ov, sens]
        if pricing is not None:
            sections += [s for s in price_secs if s["available"]]
        sections += extra
        sections.append(methods)
        default_title = "Pilot evaluation report"
    else:
        evidence = _section("estimates", "The evidence behind the prices",
                            paragraphs=headline + [PLAIN_NI],
                            tables=[_estimates_table(pub, level)])
        sections = [*price_secs, evidence, bal, sens, *extra, methods]
        default_title = "Tariff report for commissioners"
        if price_frame is not None and len(price_frame):
            headline = [p for p in price_secs[0]["paragraphs"]
                        if p.startswith("Recommended price per")] + headline[:1]
    subtitle = (f"{cohort.get('n_treated', '?')} people in the programme, "
                f"{cohort.get('n_comparison', '?')} in the comparison pool; method: {method}.")
    if cohort:
        subtitle = (f"{_count_text(policy, cohort.get('n_treated'))} people in the programme, "
                    f"{_count_text(policy, cohort.get('n_comparison'))} in the comparison pool; "
                    f"method: {method}.")
    return {
        "kind": kind,
        "title": title or default_title,
        "subtitle": subtitle,
        "generated": generated,
        "level": level,
        "headline": headline,
        "warnings": warnings,
        "sections": sections,
        "disclosure": {"threshold": policy.threshold, "min_cohort": policy.min_cohort,
                       "suppressed": SUPPRESSED, "withheld": WITHHELD,
                       "text": policy.describe()},
        "provenance": prov,
    }


def _count_text(policy: DisclosurePolicy, n: Any) -> str:
    v = policy.count(n)
    return f"{v:,}" if isinstance(v, int) else str(v)
