"""Project, outcome and price data in the INDIGO data standard's format.

The Government Outcomes Lab's International Network for Data on Impact and
Government Outcomes (INDIGO) publishes impact bond and outcomes-fund
projects as JSON following its data standard (version 4.1.0 of
``schema/project.json``, checked here). Every value sits in a wrapper,
``{"value": ...}`` (optionally with ``"status"``); money carries an ISO 4217
currency and plain numbers.

What is implemented (and checked against the 4.1.0 project schema):

* :func:`to_indigo` / :func:`write_indigo`: a published case as an INDIGO
  project: ``name``, ``status``, ``stage_development``, ``jurisdiction``,
  ``purpose_and_classifications.social_challenge``, ``notes``,
  ``overall_project_finance.total_investment_commitment``,
  ``service_and_beneficiaries.actual_number_service_users_or_beneficiaries_total``,
  one ``outcome_metrics`` entry (the paid outcome and its target),
  ``outcome_pricings`` (price per unit where one was published), one
  ``results`` entry (interim or final, with the number engaged), and every
  source (``sources``: name, type, URL, publication date).
* :func:`from_indigo` / :func:`read_indigo`: any INDIGO project JSON to an
  :class:`IndigoProject`: its outcome metrics with their prices and results
  as one table, and :meth:`IndigoProject.observed_rates`, the share of
  people engaged with positive outcomes, where a project published both
  counts (aggregates pbr_eval can compare with a non-intervention rate).

Not implemented or not verified: the organisation and fund models, the
identifiers the GO Lab assigns (``INDIGO-POJ-...``; a mapping with a
``"data"`` key is unwrapped on reading, but the wrapper itself was not
checked), the spreadsheet template, transactions, investments and technical
assistance, and US dollar conversions (the GO Lab's own).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pbr_eval.datasets.cases import Case
from pbr_eval.exceptions import DataError, OptionError

__all__ = ["INDIGO_VERSION", "IndigoProject", "to_indigo", "from_indigo", "read_indigo",
           "write_indigo"]

#: The INDIGO data standard version the export follows.
INDIGO_VERSION = "4.1.0"

_SOURCE_TYPES = ("Contract", "Report", "Award Notice", "Website", "News piece", "Press release",
                 "Email correspondence", "Evaluation report")
_STAGES = ("Contracted", "Implementation", "Service delivery complete", "Complete")


def _v(value: Any) -> dict[str, Any]:
    return {"value": value}


def to_indigo(case: Case) -> dict[str, Any]:
    """Return a published case as an INDIGO project (data standard 4.1.0).

    Parameters
    ----------
    case : Case

    Returns
    -------
    dict
        JSON-ready; figures the case does not have are left out, not invented.

    Examples
    --------
    >>> from pbr_eval.datasets.cases import load_case
    >>> p = to_indigo(load_case("essex_mst_sib"))
    >>> p["name"]["value"], p["overall_project_finance"]["total_investment_commitment"][
    ...     "amount"]["exact"]["value"]
    ('Essex edge-of-care social impact bond (multi-systemic therapy)', 3100000.0)
    """
    hints = dict(case.pricing.get("indigo", {}))
    out: dict[str, Any] = {
        "status": "PUBLIC",
        "name": _v(case.title),
        "jurisdiction": {"jurisdiction": _v("GB")},
        "purpose_and_classifications": {"social_challenge": _v(case.scheme)},
        "notes": _v(case.summary),
    }
    stage = hints.get("stage")
    if stage is not None:
        if stage not in _STAGES:
            raise DataError(f"Case {case.name!r}: INDIGO stage must be one of "
                            f"{', '.join(_STAGES)}; got {stage!r}.")
        out["stage_development"] = _v(stage)
    if "investment" in hints:
        amount = float(case.figure(hints["investment"]).value)
        out["overall_project_finance"] = {"total_investment_commitment": {
            "currency": _v("GBP"), "amount": {"exact": _v(amount)}}}
    engaged = hints.get("engaged", case.pricing.get("n_treated"))
    if isinstance(engaged, str):
        out["service_and_beneficiaries"] = {
            "actual_number_service_users_or_beneficiaries_total":
                _v(float(case.figure(engaged).value))}
    metric = {"id": "outcomemetric1",
              "definition": _v(str(case.pricing.get("paid_outcome") or case.decision)),
              "outcome_metric_target": _v(case.scheme),
              "notes": f"pbr_eval case {case.name}"}
    out["outcome_metrics"] = [metric]
    if "price_per_unit" in hints:
        out["outcome_pricings"] = [{
            "outcome_metric_id": _v("outcomemetric1"), "currency": _v("GBP"),
            "price_per_unit": {"amount": _v(float(case.figure(hints["price_per_unit"]).value))}}]
    result: dict[str, Any] = {
        "outcome_metric_id": _v("outcomemetric1"), "result_level": _v("Outcome level"),
        "result_type": _v(hints.get("result_type", "Final")),
        "outcomes_achieved": _v(case.decision),
    }
    if isinstance(engaged, str):
        result["number_engaged_in_impact_bond"] = _v(float(case.figure(engaged).value))
    if "positive" in hints:
        result["number_with_positive_social_outcomes"] = _v(
            float(case.figure(hints["positive"]).value))
    out["results"] = [result]
    out["sources"] = [
        {"id": s.id, "name": _v(s.publisher),
         "type": _v(s.type if s.type in _SOURCE_TYPES else "Report"),
         "url": _v(s.url), "publication_date": _v(s.date), "notes": s.title}
        for s in case.sources
    ]
    return out


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping):
            return None
        d = d.get(key)
    if isinstance(d, Mapping) and "value" in d:
        return d["value"]
    return d


def _number(v: Any, where: str) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise DataError(f"INDIGO field {where} must be a plain number (no symbols or commas, "
                        f"per the standard's formatting rules); got {v!r}.") from None


@dataclass(frozen=True)
class IndigoProject:
    """An INDIGO project read for pbr_eval: names, money, outcome metrics, prices, results."""

    name: str
    stage: str | None
    currency: str | None
    investment: float | None
    max_outcome_payment: float | None
    outcomes: pd.DataFrame
    sources: pd.DataFrame
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def observed_rates(self) -> pd.DataFrame:
        """Share engaged with positive outcomes, per metric where both counts were published.

        A rate without a comparison group is not a non-intervention estimate:
        pair it with one (e.g. :func:`pbr_eval.aggregates.from_rates`).
        """
        o = self.outcomes.dropna(subset=["engaged", "positive"])
        o = o[o["engaged"] > 0]
        return pd.DataFrame({"outcome_metric": o["outcome_metric"], "engaged": o["engaged"],
                             "positive": o["positive"],
                             "observed_rate": o["positive"] / o["engaged"]}).reset_index(drop=True)


def from_indigo(data: Mapping[str, Any]) -> IndigoProject:
    """Read an INDIGO project (a parsed JSON object).

    Parameters
    ----------
    data : mapping
        The project object; a mapping whose ``"data"`` key holds it is
        unwrapped.

    Returns
    -------
    IndigoProject

    Raises
    ------
    DataError
        When the object has no project name, or a money or count field is
        not a plain number.

    Examples
    --------
    >>> from pbr_eval.datasets.cases import load_case
    >>> p = from_indigo(to_indigo(load_case("troubled_families_phase1_tariff")))
    >>> p.outcomes[["outcome_metric", "price_per_unit", "currency"]].values.tolist()
    [['outcomemetric1', 4000.0, 'GBP']]
    """
    if not isinstance(data, Mapping):
        raise OptionError(f"`data` must be a mapping (a parsed INDIGO project); got "
                          f"{type(data).__name__}.")
    if "data" in data and isinstance(data["data"], Mapping):
        data = data["data"]
    name = _get(data, "name")
    if not name:
        raise DataError("INDIGO project has no name ('name': {'value': ...}); is this a project "
                        "file (schema/project.json)?")
    fin = data.get("overall_project_finance") or {}
    inv = fin.get("total_investment_commitment") or {}
    currency = _get(inv, "currency") or _get(fin, "maximum_potential_outcome_payment_v2",
                                             "currency")
    metrics = {m.get("id"): m for m in data.get("outcome_metrics") or []}
    prices: dict[Any, dict[str, Any]] = {}
    for i, p in enumerate(data.get("outcome_pricings") or []):
        prices[_get(p, "outcome_metric_id")] = {
            "price_per_unit": _number(_get(p, "price_per_unit", "amount"),
                                      f"outcome_pricings[{i}].price_per_unit.amount"),
            "currency": _get(p, "currency")}
    results: dict[Any, dict[str, Any]] = {}
    for i, r in enumerate(data.get("results") or []):
        results[_get(r, "outcome_metric_id")] = {
            "result_type": _get(r, "result_type"),
            "outcomes_achieved": _get(r, "outcomes_achieved"),
            "engaged": _number(_get(r, "number_engaged_in_impact_bond"),
                               f"results[{i}].number_engaged_in_impact_bond"),
            "positive": _number(_get(r, "number_with_positive_social_outcomes"),
                                f"results[{i}].number_with_positive_social_outcomes")}
    rows = []
    for mid in list(metrics) + [k for k in list(prices) + list(results) if k not in metrics]:
        m = metrics.get(mid, {})
        rows.append({"outcome_metric": mid, "definition": _get(m, "definition"),
                     "target": _get(m, "outcome_metric_target"),
                     **prices.get(mid, {"price_per_unit": None, "currency": None}),
                     **results.get(mid, {"result_type": None, "outcomes_achieved": None,
                                         "engaged": None, "positive": None})})
    cols = ["outcome_metric", "definition", "target", "price_per_unit", "currency",
            "result_type", "outcomes_achieved", "engaged", "positive"]
    outcomes = pd.DataFrame(rows, columns=cols)
    for c in ("price_per_unit", "engaged", "positive"):
        outcomes[c] = pd.to_numeric(outcomes[c])
    sources = pd.DataFrame([{"id": s.get("id"), "name": _get(s, "name"), "type": _get(s, "type"),
                             "url": _get(s, "url"), "date": _get(s, "publication_date")}
                            for s in data.get("sources") or []],
                           columns=["id", "name", "type", "url", "date"])
    return IndigoProject(
        name=str(name), stage=_get(data, "stage_development"), currency=currency,
        investment=_number(_get(inv, "amount", "exact"),
                           "overall_project_finance.total_investment_commitment.amount.exact"),
        max_outcome_payment=_number(
            _get(fin, "maximum_potential_outcome_payment_v2", "amount"),
            "overall_project_finance.maximum_potential_outcome_payment_v2.amount"),
        outcomes=outcomes, sources=sources, raw=dict(data))


def read_indigo(path: str | Path) -> IndigoProject:
    """Read an INDIGO project JSON file; see :func:`from_indigo`."""
    file = Path(path)
    if not file.is_file():
        raise OptionError(f"`path` must be a readable INDIGO JSON file; got {str(path)!r}, "
                          "which is not a file.")
    try:
        return from_indigo(json.loads(file.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}.") from None


def write_indigo(case: Case, path: str | Path) -> Path:
    """Write a case as an INDIGO project JSON file (atomically); returns the path."""
    from pbr_eval.io import write_text

    return write_text(path, json.dumps(to_indigo(case), indent=2, ensure_ascii=False) + "\n")
