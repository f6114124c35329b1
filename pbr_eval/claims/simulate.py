"""Simulated Troubled-Families-style claims with a known share of invalid ones.

:func:`simulate_claims` builds families (children and adults), evidence
records and one results claim per family under one of three rules modelled
on Troubled Families phase 1 (DCLG 2012):

``education``
    every child under 15% unauthorised absence in each of the last three
    terms *and* fewer than 3 fixed exclusions in total over them;
``crime_asb``
    youth offending down by 33% *and* anti-social behaviour down by 60%
    over six months against the six months before (monthly returns);
``employment``
    an adult in work in each of the last 13 weeks.

Each claim's true status is fixed *before* its records are generated (by
choosing a case, e.g. "absence exactly 15% in one term"), so the truth does
not come from the code under test. Edge cases included: absence exactly at
the threshold (invalid: the rule says *under* 15%), 14.9% (valid), exactly 2
exclusions (valid), ASB down exactly 60% (valid), a zero offending baseline
(invalid), a failing term older than the window (ignored: valid), a missing
term (unevidenced), a missing term beside a failing one (invalid), a missing
monthly return (unevidenced), an explicit gap week and a missing week inside
the employment window (invalid), and no employment records (unevidenced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbr_eval.claims.rules import (
    AllOf,
    ChangeFromBaseline,
    RuleSet,
    Sustained,
    Threshold,
)
from pbr_eval.options import check_int, check_probability

__all__ = ["ClaimsSimulation", "simulate_claims", "troubled_families_rules", "CASES"]

#: (rule, case) -> true status.
CASES: dict[tuple[str, str], str] = {
    ("education", "all_terms_fine"): "valid",
    ("education", "absence_14_9"): "valid",
    ("education", "exclusions_exactly_2"): "valid",
    ("education", "old_term_fails_outside_window"): "valid",
    ("education", "absence_exactly_15"): "invalid",
    ("education", "absence_high"): "invalid",
    ("education", "exclusions_3"): "invalid",
    ("education", "missing_term_and_failing_term"): "invalid",
    ("education", "missing_term"): "unevidenced",
    ("crime_asb", "both_fall"): "valid",
    ("crime_asb", "asb_down_exactly_60"): "valid",
    ("crime_asb", "offending_flat"): "invalid",
    ("crime_asb", "asb_down_50"): "invalid",
    ("crime_asb", "zero_offending_baseline"): "invalid",
    ("crime_asb", "missing_monthly_return"): "unevidenced",
    ("employment", "thirteen_weeks"): "valid",
    ("employment", "gap_week"): "invalid",
    ("employment", "missing_week"): "invalid",
    ("employment", "no_records"): "unevidenced",
}

_AUTHORITIES = np.array(["Northtown", "Southvale", "Eastbrook", "Westmoor", "Midshire",
                         "Riverside", "Hillcrest", "Lakeside"], dtype=object)
_AUTH_P = np.array([0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04])
_TERM_OFFSETS = np.array([0, 120, 240, 400])  # days before the claim date; 400 is outside
_MONTH_OUT = 15 + 30 * np.arange(6)  # outcome window (D-182, D]
_MONTH_BASE = 197 + 30 * np.arange(6)  # baseline window (D-364, D-182]
_WEEKS = 7 * np.arange(13)


def troubled_families_rules(price: float = 800.0) -> RuleSet:
    """Return the rules used by :func:`simulate_claims` (Troubled Families phase 1).

    Examples
    --------
    >>> sorted(troubled_families_rules())[:3]
    ['absence', 'asb', 'crime_asb']
    """
    return RuleSet([
        Threshold("absence", measure="unauthorised_absence_pct", op="<", value=15, periods=3,
                  window_days=365, members="child", member_combine="all"),
        Threshold("exclusions", measure="fixed_exclusions", op="<", value=3, periods=3,
                  window_days=365, aggregate="sum", members="child", member_combine="all"),
        AllOf("education", rules=("absence", "exclusions"), price=price),
        ChangeFromBaseline("youth_offending", measure="offences", amount=0.33, window_days=182,
                           min_records=6),
        ChangeFromBaseline("asb", measure="asb_incidents", amount=0.60, window_days=182,
                           min_records=6),
        AllOf("crime_asb", rules=("youth_offending", "asb"), price=price),
        Sustained("employment", measure="employed", periods=13, period_days=7,
                  members="adult", member_combine="any", price=price),
    ])


@dataclass(frozen=True)
class ClaimsSimulation:
    """Simulated claims with their known true status.

    Attributes
    ----------
    claims : DataFrame
        claim_id, unit_id (family), rule, date, authority.
    records : DataFrame
        unit_id (person or family), measure, date, value.
    members : DataFrame
        family, person, role ("child" / "adult").
    truth : DataFrame
        claim_id, status (the true status), case (which edge case).
    rules : RuleSet
    """

    claims: pd.DataFrame
    records: pd.DataFrame
    members: pd.DataFrame
    truth: pd.DataFrame
    rules: RuleSet


def _pick(rng: np.random.Generator, cases: list[str], n: int) -> np.ndarray:
    return np.asarray(cases, dtype=object)[rng.integers(0, len(cases), n)]


def simulate_claims(n_claims: int = 1000, *, invalid_share: float = 0.10,
                    unevidenced_share: float = 0.05, seed: int | None = 0,
                    start: str = "2014-07-01", days: int = 270,
                    duplicate_share: float = 0.0) -> ClaimsSimulation:
    """Simulate claims, evidence records and the truth.

    Parameters
    ----------
    n_claims : int, default 1000
        One claim per family.
    invalid_share, unevidenced_share : float
        Probability that a claim is truly invalid / unevidenced (one round of
        Troubled Families spot checks found 10% of a sample invalid).
    seed : int, optional
    start : str, default "2014-07-01"
        Earliest claim date; claim dates are spread over ``days`` days.
    days : int, default 270
    duplicate_share : float, default 0
        Share of ``n_claims`` repeated under a new claim identifier (``D...``),
        half on the same date and half a day later (cases ``same_date`` and
        ``one_day_later``): true status ``duplicate``. Drawn after everything
        else, so the other claims do not change with it.

    Returns
    -------
    ClaimsSimulation

    Notes
    -----
    About 20 records per claim (100,000 claims give about 2 million records).
    Every case in :data:`CASES` is equally likely within its rule and status.

    Examples
    --------
    >>> sim = simulate_claims(200, seed=1)
    >>> sim.truth["status"].value_counts().sort_index().to_dict()
    {'invalid': 11, 'unevidenced': 13, 'valid': 176}
    """
    n = check_int("n_claims", n_claims)
    p_inv = check_probability("invalid_share", invalid_share, open_interval=False)
    p_une = check_probability("unevidenced_share", unevidenced_share, open_interval=False)
    if p_inv + p_une > 1:
        from pbr_eval.exceptions import OptionError

        raise OptionError(f"`invalid_share` + `unevidenced_share` must be at most 1; got "
                          f"{p_inv + p_une}.")
    rng = np.random.default_rng(seed)
    fam = np.array([f"F{i:06d}" for i in range(n)], dtype=object)
    rule = np.asarray(["education", "crime_asb", "employment"], dtype=object)[
        rng.integers(0, 3, n)]
    status = np.asarray(["valid", "invalid", "unevidenced"], dtype=object)[
        rng.choice(3, size=n, p=[1 - p_inv - p_une, p_inv, p_une])]
    case = np.empty(n, dtype=object)
    for r in ("education", "crime_asb", "employment"):
        for s in ("valid", "invalid", "unevidenced"):
            sel = (rule == r) & (status == s)
            options = [c for (rr, c), ss in CASES.items() if rr == r and ss == s]
            case[sel] = _pick(rng, options, int(sel.sum()))
    d0 = np.datetime64(start, "D").astype(np.int64)
    end = d0 + rng.integers(0, days, n)
    auth = _AUTHORITIES[rng.choice(len(_AUTHORITIES), size=n, p=_AUTH_P)]
    n_child = rng.integers(1, 4, n)
    n_adult = rng.integers(1, 3, n)

    # members
    ci = np.repeat(np.arange(n), n_child)
    ck = np.arange(len(ci)) - np.repeat(np.cumsum(n_child) - n_child, n_child)
    ai = np.repeat(np.arange(n), n_adult)
    ak = np.arange(len(ai)) - np.repeat(np.cumsum(n_adult) - n_adult, n_adult)
    child_id = fam[ci] + "-c" + ck.astype(str).astype(object)
    adult_id = fam[ai] + "-a" + ak.astype(str).astype(object)
    members = pd.DataFrame({
        "family": np.concatenate([fam[ci], fam[ai]]),
        "person": np.concatenate([child_id, adult_id]),
        "role": np.repeat(np.array(["child", "adult"], dtype=object), [len(ci), len(ai)]),
    })

    parts: list[pd.DataFrame] = []

    # ---- education: children's records for every family (claims use them only under education)
    t = len(_TERM_OFFSETS)
    crow = np.repeat(np.arange(len(ci)), t)
    term = np.tile(np.arange(t), len(ci))
    cfam = ci[crow]
    absn = np.round(rng.uniform(0, 14.9, len(crow)), 1)
    excl = (rng.random(len(crow)) < 0.3).astype(float)
    excl[term == 2] = np.where(excl[term == 0] + excl[term == 1] >= 2, 0.0, excl[term == 2])
    keep_abs = np.ones(len(crow), dtype=bool)
    keep_exc = np.ones(len(crow), dtype=bool)
    target = (ck[crow] == 0)  # the first child carries the case
    fterm = rng.integers(0, 3, n)[cfam]  # which in-window term the case touches
    other = (fterm + 1) % 3
    c_case = case[cfam]
    is_edu = rule[cfam] == "education"
    keep_abs &= is_edu  # children's school records only where an education claim is made
    keep_exc &= is_edu
    at = target & is_edu & (term == fterm)
    absn[at & (c_case == "absence_14_9")] = 14.9
    absn[at & (c_case == "absence_exactly_15")] = 15.0
    absn[at & (c_case == "absence_high")] = 22.5
    three = target & is_edu & (term < 3)
    excl[three & (c_case == "exclusions_3")] = 1.0
    sel2 = three & (c_case == "exclusions_exactly_2")
    excl[sel2] = np.where(term[sel2] == fterm[sel2], 0.0, 1.0)
    old = target & is_edu & (term == 3) & (c_case == "old_term_fails_outside_window")
    absn[old] = 40.0
    excl[old] = 3.0
    miss = target & is_edu & (term == fterm) & np.isin(c_case, ["missing_term",
                                                               "missing_term_and_failing_term"])
    keep_abs[miss] = False
    keep_exc[miss] = False
    absn[target & is_edu & (term == other) & (c_case == "missing_term_and_failing_term")] = 30.0
    cdate = end[cfam] - _TERM_OFFSETS[term]
    cid = child_id[crow]
    parts.append(pd.DataFrame({"unit_id": cid[keep_abs], "measure": "unauthorised_absence_pct",
                               "day": cdate[keep_abs], "value": absn[keep_abs]}))
    parts.append(pd.DataFrame({"unit_id": cid[keep_exc], "measure": "fixed_exclusions",
                               "day": cdate[keep_exc], "value": excl[keep_exc]}))

    # ---- crime and ASB: family-level monthly returns, only for crime_asb claims
    cr = np.flatnonzero(rule == "crime_asb")
    m = len(cr)
    c_case = case[cr]
    b_off = rng.integers(3, 10, m).astype(float)
    o_off = np.floor(b_off * 0.67)
    b_asb = rng.integers(5, 16, m).astype(float)
    o_asb = np.floor(b_asb * 0.4)
    b_asb[c_case == "asb_down_exactly_60"], o_asb[c_case == "asb_down_exactly_60"] = 5.0, 2.0
    o_off[c_case == "offending_flat"] = b_off[c_case == "offending_flat"]
    b_asb[c_case == "asb_down_50"], o_asb[c_case == "asb_down_50"] = 10.0, 5.0
    b_off[c_case == "zero_offending_baseline"] = 0.0
    o_off[c_case == "zero_offending_baseline"] = 0.0

    def spread(totals: np.ndarray) -> np.ndarray:
        """Split integer totals over 6 months (multinomial, vectorised)."""
        u = rng.random((len(totals), 6))
        p = u / u.sum(1, keepdims=True)
        out = np.floor(totals[:, None] * p)
        short = (totals - out.sum(1)).astype(int)
        for k in range(6):  # hand out the remainder one month at a time
            add = short > k
            out[add, k] += 1
        return out

    for measure, b_tot, o_tot in (("offences", b_off, o_off), ("asb_incidents", b_asb, o_asb)):
        vb, vo = spread(b_tot), spread(o_tot)
        days_b = end[cr][:, None] - _MONTH_BASE[None, :]
        days_o = end[cr][:, None] - _MONTH_OUT[None, :]
        keep_o = np.ones((m, 6), dtype=bool)
        if measure == "offences":
            drop_month = rng.integers(0, 6, m)
            keep_o[np.arange(m), drop_month] = c_case != "missing_monthly_return"
        parts.append(pd.DataFrame({
            "unit_id": np.concatenate([np.repeat(fam[cr], 6), np.repeat(fam[cr], 6)[
                keep_o.ravel()]]),
            "measure": measure,
            "day": np.concatenate([days_b.ravel(), days_o.ravel()[keep_o.ravel()]]),
            "value": np.concatenate([vb.ravel(), vo.ravel()[keep_o.ravel()]]),
        }))

    # ---- employment: weekly status for adults of employment-claim families
    emp_fam = rule[ai] == "employment"
    a_case = case[ai]
    first = ak == 0
    w = len(_WEEKS)
    has_recs = emp_fam & (a_case != "no_records")
    arow = np.repeat(np.flatnonzero(has_recs), w)
    week = np.tile(np.arange(w), int(has_recs.sum()))
    val = np.where(first[arow], 1.0, 0.0)  # other adults: explicitly not in work
    gap_week = rng.integers(1, w - 1, n)[ai[arow]]
    val[first[arow] & (a_case[arow] == "gap_week") & (week == gap_week)] = 0.0
    keep = ~(first[arow] & (a_case[arow] == "missing_week") & (week == gap_week))
    parts.append(pd.DataFrame({"unit_id": adult_id[arow][keep], "measure": "employed",
                               "day": (end[ai[arow]] - _WEEKS[week])[keep],
                               "value": val[keep]}))

    rec = pd.concat(parts, ignore_index=True)
    rec["date"] = rec.pop("day").to_numpy().astype("datetime64[D]")
    rec = rec[["unit_id", "measure", "date", "value"]]
    claims = pd.DataFrame({"claim_id": np.array([f"C{i:06d}" for i in range(n)], dtype=object),
                           "unit_id": fam, "rule": rule,
                           "date": end.astype("datetime64[D]"), "authority": auth})
    truth = pd.DataFrame({"claim_id": claims["claim_id"], "status": status, "case": case})
    n_dup = int(round(n * check_probability("duplicate_share", duplicate_share,
                                            open_interval=False)))
    if n_dup:
        src = np.sort(rng.choice(n, size=n_dup, replace=False))
        later = np.arange(n_dup) % 2 == 1
        dups = claims.iloc[src].assign(
            claim_id=np.array([f"D{i:06d}" for i in range(n_dup)], dtype=object),
            date=(end[src] + later).astype("datetime64[D]"))
        claims = pd.concat([claims, dups], ignore_index=True)
        truth = pd.concat([truth, pd.DataFrame({
            "claim_id": dups["claim_id"].to_numpy(), "status": "duplicate",
            "case": np.where(later, "one_day_later", "same_date")})], ignore_index=True)
    return ClaimsSimulation(claims, rec, members, truth, troubled_families_rules())
