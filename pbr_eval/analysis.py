"""Analysis files: a whole analysis declared in one TOML file, run reproducibly.

``pbr-eval run analysis.toml`` (or :func:`run_analysis`) validates the file
first (every error names the file, the line and the key), reads the data,
builds the cohort, runs each estimator, prices the outcomes, writes the
reports, and records provenance, all into one output folder::

    title = "Prison leavers mentoring pilot"
    seed = 20240101

    [data]
    source = "../data/reoffending.csv"     # relative to this file; or a database URL
    # query = "SELECT * FROM cohort"      # for a database URL

    [roles]
    treatment = "treated"
    outcome = ["reoffended", "reconviction_events"]
    covariates = ["age", "sex", "prior_offences", "offence_type", "sentence_months"]
    unit_id = "person_id"
    # at_period = 1                        # for panel data: the period to analyse

    [[estimate]]
    method = "nearest"
    options = { caliper = 0.2 }

    [pricing]
    value_per_outcome = 5000
    better = "lower"
    outcomes = ["reoffended"]

    [contract]                             # optional: tariff, payment simulation, cash flow
    attachment_fee = 100
    cost_per_participant = 300
    referrals_per_month = 50
    months_of_referrals = 12

    [sensitivity]                          # optional: Rosenbaum bounds, E-values, tipping point
    hidden_bias = true
    better = "lower"

    [report]
    outputs = ["pilot.html", "pilot.md", "tariff.html", "workbook.xlsx"]
    threshold = 10

    [output]
    folder = "reoffending-output"          # relative to this file; --out overrides

The folder receives ``estimates.csv``, ``balance.csv``, ``prices.csv``,
``results.json`` (aggregates only), the reports, a copy of the analysis file
and ``provenance.json`` (package and dependency versions, the data's SHA-256,
the resolved options, the seed and a timestamp). Running the same file twice
gives byte-identical numbers; only the timestamp in ``provenance.json`` and in
the reports' "generated" line differs (pass ``generated=`` to fix it too).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pbr_eval.exceptions import AnalysisFileError, PbrEvalError
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_MIN_TREATED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["SCHEMA", "AnalysisSpec", "load_analysis", "run_analysis", "AnalysisRun",
           "commissioner_bundle", "hidden_bias_sensitivity"]

#: Allowed keys per table: key -> (accepted types, required).
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "": {"title": ((str,), False), "seed": ((int,), False), "level": ((float, int), False),
         "data": ((dict,), True), "roles": ((dict,), True), "estimate": ((dict, list), False),
         "pricing": ((dict,), False), "report": ((dict,), False), "output": ((dict,), False),
         "contract": ((dict,), False), "sensitivity": ((dict,), False)},
    "data": {"source": ((str,), True), "query": ((str,), False)},
    "roles": {"treatment": ((str,), True), "outcome": ((str, list), True),
              "covariates": ((list,), True), "unit_id": ((str,), False),
              "cluster": ((str,), False), "period": ((str,), False),
              "missing": ((str,), False), "min_treated": ((int,), False),
              "at_period": ((int, str), False),
              "outcome_types": ((dict,), False)},
    "estimate": {"method": ((str,), True), "name": ((str,), False),
                 "options": ((dict,), False)},
    "pricing": {"value_per_outcome": ((float, int, dict), True),
                "expected_rate": ((float, int, dict), False), "better": ((str, dict), False),
                "outcomes": ((list,), False), "level": ((float,), False),
                "cost_per_participant": ((float, int, dict), False),
                "attachment_fee": ((float, int, dict), False), "cohort_size": ((int,), False),
                "budget": ((float, int), False), "rule": ((str,), False)},
    "report": {"outputs": ((list,), False), "threshold": ((int,), False),
               "min_cohort": ((int,), False), "title": ((str,), False),
               "level": ((float,), False)},
    "output": {"folder": ((str,), False)},
    "contract": {"attachment_fee": ((float, int), False),
                 "cost_per_participant": ((float, int), True),
                 "referrals_per_month": ((int,), True), "months_of_referrals": ((int,), True),
                 "outcome_lag": ((int,), False), "payment_lag": ((int,), False),
                 "draws": ((int,), False)},
    "sensitivity": {"hidden_bias": ((bool,), False), "better": ((str,), False)},
}

_DEFAULT_OUTPUTS = ["pilot.html", "pilot.md", "tariff.html", "workbook.xlsx"]
_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", list: "a list",
               dict: "a table", bool: "true/false"}


# ----------------------------------------------------------- locating keys
def _line_of(text: str, table: str, key: str | None) -> int | None:
    """The line (1-based) where ``key`` is set in ``[table]`` (or the table header)."""
    current = ""
    header_line = None
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if m:
            current = m.group(1).replace(" ", "")
            if current == table and header_line is None:
                header_line = i
            continue
        if key is None:
            continue
        if current == table and re.match(rf'^"?{re.escape(key)}"?\s*=', line):
            return i
        if table and current == "" and re.match(
            rf"^{re.escape(table)}\.{re.escape(key)}\s*=", line
        ):
            return i
        if current == table.rsplit(".", 1)[0] and "." in table and re.match(
            rf"^{re.escape(table.rsplit('.', 1)[1])}\s*=.*\b{re.escape(key)}\s*=", line
        ):
            return i  # inline table: options = { caliper = 0.2 }
    return header_line


def _fail(path: Path, text: str, table: str, key: str | None, message: str) -> AnalysisFileError:
    line = _line_of(text, table, key)
    where = f"{path.name}, line {line}" if line else path.name
    full = f"{table}.{key}" if table and key else (key or f"[{table}]")
    return AnalysisFileError(f"{where}: `{full}` {message}")


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if float in types and isinstance(value, int):
        return True
    return isinstance(value, types)


def _check_table(path: Path, text: str, table: str, values: Mapping[str, Any],
                 schema_key: str | None = None) -> None:
    schema = SCHEMA[schema_key if schema_key is not None else table]
    for key, value in values.items():
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise _fail(path, text, table, key,
                        f"is not a known key; allowed here: {allowed}. Check the spelling.")
        types, _ = schema[key]
        if not _type_ok(value, types):
            want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise _fail(path, text, table, key, f"must be {want}; got {value!r}.")
    for key, (_, required) in schema.items():
        if required and key not in values:
            raise _fail(path, text, table, None,
                        f"needs the key `{key}` (see examples/ for complete files).")


# ----------------------------------------------------------------- spec
@dataclass(frozen=True)
class AnalysisSpec:
    """A validated analysis file.

    Attributes
    ----------
    path : Path
        The analysis file.
    text : str
        Its text (copied into the output folder).
    resolved : dict
        Every option with defaults filled in and paths resolved.
    """

    path: Path
    text: str
    resolved: dict[str, Any]


def load_analysis(path: str | Path) -> AnalysisSpec:
    """Read and validate an analysis file (nothing is run).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    AnalysisSpec

    Raises
    ------
    AnalysisFileError
        For a TOML syntax error, an unknown key, a wrong type, a missing key or
        an unknown estimator, naming the file, the line and the key.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.toml")
    >>> _ = open(p, "w").write('[data]\\nsource = "x.csv"\\n[roles]\\ntreatment = "t"\\n'
    ...                        'outcome = "y"\\ncovariates = ["a"]\\ncaliper = 0.2\\n')
    >>> load_analysis(p)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.AnalysisFileError: a.toml, line 7: `roles.caliper` is not a known key; ...
    """
    p = Path(path)
    if not p.is_file():
        raise AnalysisFileError(f"Analysis file '{p}' does not exist.")
    text = p.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AnalysisFileError(f"{p.name}: not valid TOML: {err}.") from err
    _check_table(p, text, "", raw)
    _check_table(p, text, "data", raw["data"])
    _check_table(p, text, "roles", raw["roles"])
    estimates = raw.get("estimate", [{"method": "nearest"}])
    if isinstance(estimates, dict):
        estimates = [estimates]
    from pbr_eval.estimators import ESTIMATORS

    names: list[str] = []
    resolved_est = []
    for est in estimates:
        if not isinstance(est, dict):
            raise _fail(p, text, "estimate", None, "must be a table with `method`.")
        _check_table(p, text, "estimate", est)
        if est["method"] not in ESTIMATORS:
            raise _fail(p, text, "estimate", "method",
                        f"must be one of {', '.join(map(repr, sorted(ESTIMATORS)))}; got "
                        f"{est['method']!r}.")
        name = est.get("name", est["method"])
        if name in names:
            raise _fail(p, text, "estimate", "name",
                        f"must be unique; '{name}' appears twice (give each a `name`).")
        names.append(name)
        resolved_est.append({"name": name, "method": est["method"],
                             "options": dict(est.get("options", {}))})
    for table in ("pricing", "report", "output", "contract", "sensitivity"):
        if table in raw:
            _check_table(p, text, table, raw[table])
    from pbr_eval.pricing.inputs import CONTRACT_OPTION_KINDS, PRICING_OPTION_KINDS, option_problems

    for table, kinds in (("pricing", PRICING_OPTION_KINDS), ("contract", CONTRACT_OPTION_KINDS)):
        for key, message in option_problems(raw.get(table, {}), kinds,
                                            outcome_types=raw["roles"].get("outcome_types")):
            raise _fail(p, text, table, key, message)
    if "contract" in raw and "pricing" not in raw:
        raise _fail(p, text, "contract", None,
                    "needs a [pricing] table: the contract is priced from its recommendation.")
    report = dict(raw.get("report", {}))
    outputs = report.get("outputs", _DEFAULT_OUTPUTS)
    from pbr_eval.reporting import RENDERERS
    from pbr_eval.reporting.safety import confine

    for name in outputs:
        if not isinstance(name, str) or Path(name).suffix.lower() not in RENDERERS:
            raise _fail(p, text, "report", "outputs",
                        f"entries must end in {', '.join(RENDERERS)}; got {name!r}.")
        try:
            confine(p.parent, name, option="report.outputs")
        except PbrEvalError as err:
            raise _fail(p, text, "report", "outputs", str(err).split("` ", 1)[1]) from err
    source = raw["data"]["source"]
    from pbr_eval.io import is_database_url

    source_resolved = source if is_database_url(source) else str((p.parent / source).resolve())
    roles = dict(raw["roles"])
    outcome = roles["outcome"]
    roles["outcome"] = [outcome] if isinstance(outcome, str) else list(outcome)
    resolved = {
        "title": raw.get("title"),
        "seed": raw.get("seed", 0),
        "level": float(raw.get("level", 0.95)),
        "data": {"source": source_resolved, "query": raw["data"].get("query")},
        "roles": roles,
        "estimate": resolved_est,
        "pricing": dict(raw["pricing"]) if "pricing" in raw else None,
        "report": {"outputs": list(outputs), "threshold": int(report.get("threshold", DEFAULT_DISCLOSURE_THRESHOLD)),
                   "min_cohort": int(report.get("min_cohort", DEFAULT_MIN_TREATED)),
                   "title": report.get("title"), "level": report.get("level")},
        "output": {"folder": raw.get("output", {}).get("folder", f"{p.stem}-output")},
        "contract": dict(raw["contract"]) if "contract" in raw else None,
        "sensitivity": dict(raw["sensitivity"]) if "sensitivity" in raw else None,
    }
    return AnalysisSpec(path=p.resolve(), text=text, resolved=resolved)


# ------------------------------------------------------------------- run
@dataclass(frozen=True)
class AnalysisRun:
    """What :func:`run_analysis` did.

    Attributes
    ----------
    folder : Path
        The output folder.
    files : list of Path
        Every file written.
    results : dict
        Estimator name -> CounterfactualResults.
    prices : PriceRecommendation or None
    provenance : dict
    """

    folder: Path
    files: list[Path]
    results: dict[str, Any]
    prices: Any
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for ``pbr-eval run --json``)."""
        return {"folder": str(self.folder), "files": [str(f) for f in self.files],
                "estimates": {k: r.to_dict()["estimates"] for k, r in self.results.items()},
                "provenance": self.provenance}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dependency_versions() -> dict[str, str]:
    from pbr_eval._provenance import versions

    out = dict(versions())
    for name in ("matplotlib", "openpyxl", "sqlalchemy", "pyarrow", "click", "rich"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _takes_seed(method: str) -> bool:
    from pbr_eval.estimators import ESTIMATORS

    cls = ESTIMATORS[method]
    try:
        return "seed" in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def run_analysis(
    path: str | Path,
    *,
    out: str | Path | None = None,
    generated: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AnalysisRun:
    """Run an analysis file and write every output into one folder.

    Parameters
    ----------
    path : str or Path
        The analysis (TOML) file.
    out : str or Path, optional
        Output folder (default: ``[output] folder`` of the file, relative to
        it, else ``<file stem>-output`` beside it).
    generated : str, optional
        Timestamp recorded in the provenance and reports (default: now, UTC).
    progress : callable, optional
        Called with a short description before each step (the CLI draws a
        progress bar from it).

    Returns
    -------
    AnalysisRun

    Raises
    ------
    AnalysisFileError
        When the file is invalid (before anything is read or written).
    PbrEvalError
        From reading the data, building the cohort, estimating or pricing.

    Notes
    -----
    Reproducibility: the seed of the file is passed to every estimator that
    takes one (unless its options set their own), numbers are written with
    full precision (``repr``), and nothing else in the outputs depends on the
    clock except the "generated" timestamp.
    """
    import pbr_eval
    from pbr_eval.io import is_database_url, read_data
    from pbr_eval.reporting import write_report
    from pbr_eval.reporting.safety import confine, write_csv

    step = progress or (lambda _msg: None)
    step("validating the analysis file")
    spec = load_analysis(path)
    r = spec.resolved
    folder = Path(out) if out is not None else spec.path.parent / r["output"]["folder"]
    folder = folder.resolve()
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    step("reading the data")
    roles = r["roles"]
    cols = [roles["treatment"], *roles["outcome"], *roles["covariates"],
            *(roles[k] for k in ("unit_id", "cluster", "period") if roles.get(k))]
    cols = list(dict.fromkeys(cols))
    source = r["data"]["source"]
    frame = read_data(source, columns=cols, query=r["data"]["query"])
    if is_database_url(source):
        data_hash = hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()
        hash_of = "the query result as CSV"
    else:
        data_hash = _sha256_file(Path(source))
        hash_of = "the data file"

    step("building the cohort")
    cohort_args = {k: v for k, v in roles.items() if v is not None and k != "at_period"}
    cohort = pbr_eval.Cohort(frame, **cohort_args)
    if roles.get("at_period") is not None:
        cohort = cohort.at_period(roles["at_period"])

    results: dict[str, Any] = {}
    resolved_options: dict[str, dict[str, Any]] = {}
    for est in r["estimate"]:
        step(f"estimating ({est['name']})")
        opts = dict(est["options"])
        if "seed" not in opts and _takes_seed(est["method"]):
            opts["seed"] = r["seed"]
        results[est["name"]] = pbr_eval.estimate(cohort, method=est["method"], **opts)
        resolved_options[est["name"]] = {"method": est["method"], **opts}
    primary_name = r["estimate"][0]["name"]
    primary = results[primary_name]

    prices = None
    if r["pricing"] is not None:
        step("pricing")
        pricing_opts = dict(r["pricing"])
        pricing_opts.setdefault("level", r["level"])
        prices = pbr_eval.price(primary, **pricing_opts)

    bundle: Any = prices
    if prices is not None and r["contract"] is not None:
        step("simulating payments and cash flow")
        bundle = commissioner_bundle(prices, cohort_size=cohort.n_treated, seed=r["seed"],
                                     **r["contract"])
    sensitivity = None
    sens_opts = r["sensitivity"] or {}
    if sens_opts.get("hidden_bias", False):
        step("sensitivity to hidden bias")
        sensitivity = hidden_bias_sensitivity(primary, cohort,
                                              better=sens_opts.get("better", "higher"))

    step("writing tables")
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    import pandas as pd

    est_frames = []
    for name, res in results.items():
        f = res.to_frame(r["level"])
        f.insert(0, "estimator", name)
        est_frames.append(f)
    files.append(write_csv(pd.concat(est_frames, ignore_index=True),
                           confine(folder, "estimates.csv")))
    if primary.balance is not None:
        files.append(write_csv(primary.balance.to_frame(), confine(folder, "balance.csv")))
    if prices is not None:
        files.append(write_csv(prices.to_frame(), confine(folder, "prices.csv")))
    payload = {name: res.to_dict(r["level"]) for name, res in results.items()}
    if prices is not None:
        payload["prices"] = prices.to_dict()
    res_path = confine(folder, "results.json")
    res_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    files.append(res_path)

    provenance = {
        "analysis_file": spec.path.name,
        "analysis_sha256": hashlib.sha256(spec.text.encode("utf-8")).hexdigest(),
        "data_source": source if is_database_url(source) else Path(source).name,
        "data_sha256": data_hash,
        "data_sha256_of": hash_of,
        "cohort_fingerprint": cohort.fingerprint,
        "seed": r["seed"],
        "resolved": {**r, "estimate": [{"name": n, **o} for n, o in resolved_options.items()],
                     "data": {"source": source if is_database_url(source) else Path(source).name,
                              "query": r["data"]["query"]}},
        "versions": _dependency_versions(),
        "generated": generated,
    }

    rep = r["report"]
    for name in rep["outputs"]:
        step(f"writing {name}")
        target = confine(folder, name, option="report.outputs")
        kind = "tariff" if ("tariff" in Path(name).stem.lower() or
                            Path(name).suffix.lower() == ".xlsx") else "pilot"
        files += write_report(
            primary, target, pricing=bundle, sensitivity=sensitivity, kind=kind, title=rep["title"] or r["title"],
            level=rep["level"] or r["level"], threshold=rep["threshold"],
            min_cohort=rep["min_cohort"], generated=generated,
            provenance={"analysis_file": spec.path.name,
                        "analysis_sha256": provenance["analysis_sha256"],
                        "data_sha256": data_hash},
        )
    copy = confine(folder, "analysis.toml")
    copy.write_text(spec.text, encoding="utf-8")
    files.append(copy)
    prov_path = confine(folder, "provenance.json")
    prov_path.write_text(json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n",
                         encoding="utf-8")
    files.append(prov_path)
    step("done")
    return AnalysisRun(folder=folder, files=files, results=results, prices=prices,
                       provenance=provenance)


def commissioner_bundle(
    rec: Any,
    *,
    cohort_size: int,
    cost_per_participant: float,
    referrals_per_month: int,
    months_of_referrals: int,
    attachment_fee: float = 0.0,
    outcome_lag: int = 12,
    payment_lag: int = 3,
    draws: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """A tariff from a price recommendation, with its payment simulation, cash flow and
    price sensitivity, for the commissioner's report and workbook.

    The tariff is an attachment fee plus the recommended price per paid outcome of the
    recommendation's first outcome. Everything is computed by :mod:`pbr_eval.pricing`;
    this only wires the contract inputs together.

    Parameters
    ----------
    rec : PriceRecommendation
    cohort_size : int
        People in the simulated cohort.
    cost_per_participant, referrals_per_month, months_of_referrals, attachment_fee,
    outcome_lag, payment_lag : contract inputs (see :func:`pbr_eval.pricing.cash_flow`)
    draws, seed : simulation size and seed (see :func:`pbr_eval.pricing.simulate_payments`)

    Returns
    -------
    dict
        ``recommendation``, ``tariff``, ``simulation``, ``cashflow``, ``sensitivity``.
    """
    from pbr_eval.pricing import (
        AttachmentFee,
        PerOutcome,
        Tariff,
        cash_flow,
        price_sensitivity,
        simulate_payments,
    )
    from pbr_eval.reporting.safety import safe_filename

    r = rec.to_frame().iloc[0]
    price, n, se, rate, value = (float(r["recommended"]), float(r["non_intervention"]),
                                 float(r["non_intervention_se"]), float(r["expected_rate"]),
                                 float(r["value_per_outcome"]))
    paid = safe_filename(r["paid_outcome"], default="outcome")
    mechanisms = [PerOutcome(paid, price)]
    if attachment_fee:
        mechanisms.insert(0, AttachmentFee(float(attachment_fee)))
    tariff = Tariff(mechanisms, name="tariff")
    risk = simulate_payments(tariff, non_intervention={paid: (n, se)}, effect={paid: rate - n},
                             value_per_outcome={paid: value}, cohort_size=int(cohort_size),
                             cost_per_participant=float(cost_per_participant), draws=int(draws),
                             seed=int(seed))
    cf = cash_flow(referrals=int(referrals_per_month), months_of_referrals=int(months_of_referrals),
                   cost_per_participant=float(cost_per_participant), outcome_payment=price,
                   outcome_rate=rate, attachment_fee=float(attachment_fee),
                   outcome_lag=int(outcome_lag), payment_lag=int(payment_lag))
    sens = price_sensitivity(value_per_outcome=value,
                             non_intervention=(max(0.0, n - 0.2), min(rate, 1.0)),
                             expected_rate=rate, num=11)
    return {"recommendation": rec, "tariff": tariff, "simulation": risk, "cashflow": cf,
            "sensitivity": sens}


def hidden_bias_sensitivity(res: Any, cohort: Any, *, better: str = "higher") -> dict[str, Any]:
    """Rosenbaum bounds (matched pairs only), E-values and the tipping point, as available."""
    from pbr_eval.sensitivity import e_values, rosenbaum_bounds, tipping_point

    out: dict[str, Any] = {}
    try:
        out["Rosenbaum bounds (matched pairs)"] = rosenbaum_bounds(res, cohort)
    except PbrEvalError:  # not 1:1 matching without replacement: bounds do not apply
        pass
    out["E-values"] = e_values(res)
    out["Tipping point of the non-intervention rate"] = tipping_point(res, better=better)
    return out
