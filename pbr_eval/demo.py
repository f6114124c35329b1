"""``pbr-eval demo``: the whole job on the shipped reoffending data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pbr_eval
from pbr_eval.datasets import load_reoffending
from pbr_eval.kinds import format_value

__all__ = ["run_demo"]


def run_demo(out_dir: Path, *, value_per_outcome: float = 5000.0) -> str:
    """Estimate, price and write the demo outputs; return the printed text.

    Parameters
    ----------
    out_dir : Path
        Folder for ``results.json``, ``summary.md``, the evaluator's pilot report
        (``pilot.html``, ``pilot.md`` with its figures), the commissioner's
        tariff report (``tariff.html``), workbook (``workbook.xlsx``) and what-if
        page (``whatif.html``);
        created if needed. It is replaced whole, only once every file is
        written (a completion record ``.pbr_eval.json`` lists them); a folder
        holding files pbr_eval did not write is refused.
    value_per_outcome : float
        Illustrative value of one person not reoffending (in pounds).

    Returns
    -------
    str
        The table printed by ``pbr-eval demo``.
    """
    from pbr_eval.io import Staging

    # Every file is written into a staging folder, moved into place only when all are
    # complete: a failure or Ctrl-C leaves the previous outputs as they were. A folder
    # holding files pbr_eval did not write is refused before any work.
    with Staging(command="pbr-eval demo") as staging:
        work = staging.folder(out_dir, expected=DEMO_FILES)
        lines, written = _demo(work, value_per_outcome=value_per_outcome)
    final = [Path(out_dir) / p.relative_to(work) for p in written]
    lines += ["", "Wrote " + ", ".join(str(p) for p in final if p.suffix != ".png") + "."]
    return "\n".join(lines)


#: What ``pbr-eval demo`` writes into its folder.
DEMO_FILES = ("results.json", "summary.md", "pilot.html", "pilot.md", "pilot_figures",
              "tariff.html", "workbook.xlsx")


def _money(value: float) -> str:
    """Return an amount as every report shows it (the money kind: currency symbol, whole units)."""
    return format_value(value, "money")


def _demo(work: Path, *, value_per_outcome: float) -> tuple[list[str], list[Path]]:
    sim = load_reoffending()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    import warnings

    with warnings.catch_warnings():  # the warnings are in the results and printed below
        warnings.simplefilter("ignore", pbr_eval.exceptions.FragilityWarning)
        res = pbr_eval.evaluate(cohort)
    rec = pbr_eval.price(res, value_per_outcome=value_per_outcome, better="lower",
                         outcomes=["reoffended"])
    frame = res.to_frame()
    prices = rec.to_frame().set_index("outcome")
    lines = [
        "pbr-eval demo: shipped prison-leavers data (simulated; the true answer is known)",
        f"{cohort.n_treated:,} people in the programme, {cohort.n_comparison:,} in the national "
        f"comparison pool; design-first evaluation, headline: {res.headline} "
        "(pbr_eval.evaluate).",
        "",
        f"{'outcome':<22}{'observed':>10}{'non-intervention (95% CI)':>30}"
        f"{'effect (95% CI)':>28}{'true non-int.':>15}",
    ]
    for _, r in frame.iterrows():
        binary = r["outcome_type"] == "binary"
        s = 100.0 if binary else 1.0
        u = "%" if binary else ""
        d = 1 if binary else 2
        true_ni = sim.truth.loc[r["outcome"], "non_intervention"] * s
        lines.append(
            f"{r['outcome']:<22}{r['observed'] * s:>9.{d}f}{u or ' '}"
            f"{r['non_intervention'] * s:>12.{d}f}{u} ({r['non_intervention_ci_lower'] * s:.{d}f}"
            f"-{r['non_intervention_ci_upper'] * s:.{d}f}{u})".ljust(69)
            + f"{r['effect'] * s:>+8.{d}f} ({r['ci_lower'] * s:+.{d}f} to {r['ci_upper'] * s:+.{d}f})"
            + f"{true_ni:>13.{d}f}{u}"
        )
    agree = res.panel[res.panel["role"] == "check"]
    lines += ["", f"Checked against {agree['estimator'].nunique()} other estimators "
              f"(largest distance from the headline {agree['distance'].max():.2f} standard "
              "errors); fragility warnings: "
              + ("none." if not res.flags else "; ".join(f.message for f in res.flags))]
    p = prices.loc["reoffended"]
    naive = frame.set_index("outcome").loc["reoffended", "naive_comparison"]
    lines += [
        "",
        f"Unadjusted comparison pool reoffending rate: {naive:.1%}. Used as the "
        "non-intervention rate it would make the programme look better than it is, and the "
        "commissioner would overpay.",
        "",
        f"Price per person NOT reoffending (value of one such outcome "
        f"{_money(value_per_outcome)}); {p['deadweight_share']:.0%} of the paid outcomes would "
        "have happened anyway:",
        f"  most worth paying at the central estimate: {_money(p['ceiling'])} "
        f"(band {_money(p['band_lower'])} to {_money(p['band_upper'])})",
        f"  recommended (at most a {(1 - rec.level) / 2:.1%} chance of paying for deadweight): "
        f"{_money(p['recommended'])}",
    ]
    row = frame.set_index("outcome").loc["reoffended"]
    if p["recommended"] < 0.5 * p["ceiling"] and not row["ci_lower"] <= 0 <= row["ci_upper"]:
        lines.append(
            "  The effect is clearly different from zero, but the non-intervention rate is "
            "uncertain enough that a price safe against paying for deadweight is far below the "
            "central one: a larger comparison or a longer pilot would narrow the band.")
    elif p["recommended"] < 0.5 * p["ceiling"]:
        lines.append(
            "  The programme's effect is not clearly different from zero (see the effect's "
            "interval), so the evidence cannot yet justify a confident price: pilot longer, "
            "or pay mainly through attachment fees until the effect is established."
        )
    if cohort.dropped:
        lines.append(f"Rows left out: {cohort.n_dropped:,}.")
    payload = res.to_dict()
    payload["prices"] = rec.to_dict()
    md = [
        "# pbr_eval demo: reoffending programme",
        "",
        "```",
        res.summary(),
        "```",
        "",
        "## Recommended price",
        "",
        "```",
        rec.summary(),
        "```",
        "",
    ]
    from pbr_eval.io import write_json, write_text
    from pbr_eval.reporting import write_report

    title = "Prison leavers programme (shipped simulated data)"
    # the tariff is priced with the contract's attachment fee and provider cost (one set of
    # contract values feeds its price, payments and cash flow)
    tariff_rec = pbr_eval.price(res, value_per_outcome=value_per_outcome, better="lower",
                                outcomes=["reoffended"], **_contract_price_options())
    bundle = _commissioner_bundle(tariff_rec)
    sensitivity = _sensitivity(res, cohort)
    written = [write_json(work / "results.json", payload),
               write_text(work / "summary.md", "\n".join(md))]
    for name, kind in (("pilot.html", "pilot"), ("pilot.md", "pilot"),
                       ("tariff.html", "tariff"), ("workbook.xlsx", "tariff"),
                       ("whatif.html", "tariff")):
        written += write_report(res, work / name, pricing=bundle if kind == "tariff" else rec,
                                sensitivity=sensitivity, kind=kind, title=title)
    return lines, written


#: Illustrative contract inputs of the demo's tariff (not from any real scheme).
DEMO_CONTRACT: dict[str, Any] = {"attachment_fee": 100.0, "cost_per_participant": 300.0,
                 "referrals_per_month": 50, "months_of_referrals": 12,
                 "outcome_lag": 18, "payment_lag": 3, "draws": 2000, "seed": 1}


def _contract_price_options() -> dict[str, Any]:
    """Return the :func:`pbr_eval.price` options the demo contract sets (fee, cost, cohort)."""
    from pbr_eval.analysis import contract_price_options

    return contract_price_options(DEMO_CONTRACT)


def _commissioner_bundle(rec: Any, *, cohort_size: int | None = None) -> Any:
    """Return the demo tariff (attachment fee + the recommended price per person not reoffending), its simulated payments, cash flow and price sensitivity, for the tariff report.

    ``rec`` must be priced with the demo contract's fee and cost
    (``pbr_eval.price(..., **_contract_price_options())``).
    """
    from pbr_eval.analysis import commissioner_bundle

    return commissioner_bundle(rec, cohort_size=cohort_size, **DEMO_CONTRACT)


def _sensitivity(res: Any, cohort: Any) -> dict[str, Any]:
    """Rosenbaum bounds, E-values and the tipping point for the pilot report."""
    from pbr_eval.analysis import hidden_bias_sensitivity

    return hidden_bias_sensitivity(res, cohort, better="lower")
