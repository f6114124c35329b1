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
    # period = "year"                      # panel data; with first_treated = "start_year"
    #                                      # for a staggered roll-out (method "staggered_did")

    [[estimate]]                           # leave out for the design-first default
    method = "nearest"                     # "evaluate" (default) or an estimator name
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
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pbr_eval.cohort import COLUMN_ROLES
from pbr_eval.exceptions import AnalysisFileError, PbrEvalError
from pbr_eval.kinds import DEFAULT_CURRENCY
from pbr_eval.options import (
    DEFAULT_DISCLOSURE_THRESHOLD,
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_MIN_TREATED,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["SCHEMA", "AnalysisSpec", "load_analysis", "run_analysis", "AnalysisRun",
           "commissioner_bundle", "contract_price_options", "CONTRACT_PRICE_KEYS",
           "hidden_bias_sensitivity"]

#: Allowed keys per table: key -> (accepted types, required).
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "": {"title": ((str,), False), "seed": ((int,), False), "level": ((float, int), False),
         "data": ((dict,), True), "roles": ((dict,), True), "estimate": ((dict, list), False),
         "pricing": ((dict,), False), "report": ((dict,), False), "output": ((dict,), False),
         "contract": ((dict,), False), "sensitivity": ((dict,), False),
         "dask": ((dict,), False)},
    "data": {"source": ((str,), True), "query": ((str,), False)},
    "roles": {"treatment": ((str,), True), "outcome": ((str, list), True),
              "covariates": ((list,), True), "unit_id": ((str,), False),
              "cluster": ((str,), False), "period": ((str,), False),
              "first_treated": ((str,), False),
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
               "level": ((float,), False), "currency": ((str,), False)},
    "output": {"folder": ((str,), False)},
    "contract": {"attachment_fee": ((float, int), False),
                 "cost_per_participant": ((float, int), True),
                 "referrals_per_month": ((int,), True), "months_of_referrals": ((int,), True),
                 "outcome_lag": ((int,), False), "payment_lag": ((int,), False),
                 "draws": ((int,), False), "discount_rate": ((float, int), False),
                 "referral_profile": ((list,), False), "price_paid": ((float, int), False),
                 "cap": ((float, int), False), "trigger": ((float, int), False),
                 "mpl_uplift": ((float, int), False)},
    "sensitivity": {"hidden_bias": ((bool,), False), "better": ((str,), False)},
    # beyond memory (docs/distributed.md): the cohort is a DistributedCohort on this scheduler
    "dask": {"scheduler": ((str,), True), "partitions": ((int,), False)},
}

_DEFAULT_OUTPUTS = ["pilot.html", "pilot.md", "tariff.html", "workbook.xlsx"]
_TYPE_NAMES = {str: "text", int: "an integer", float: "a number", list: "a list",
               dict: "a table", bool: "true/false"}


# ----------------------------------------------------------- locating keys
def _line_of(text: str, table: str, key: str | None, index: int = 0) -> int | None:
    """Return the line (1-based) where ``key`` is set in ``[table]`` (or the table header).

    ``index`` picks the n-th ``[[table]]`` of an array of tables (``[[estimate]]``);
    a sub-table such as ``estimate.options`` is looked for inside that n-th block.
    """
    current = ""
    header_line = None
    top = table.split(".", 1)[0]
    seen = -1  # which [[top]] block we are in
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if m:
            current = m.group(1).replace(" ", "")
            if current == top and line.startswith("[["):
                seen += 1
            if current == table and header_line is None and seen in (index, -1):
                header_line = i
            continue
        if key is None or (seen != -1 and seen != index and current.split(".")[0] == top):
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
    if header_line is None and "." in table:
        return _line_of(text, table.rsplit(".", 1)[0], table.rsplit(".", 1)[1], index)
    return header_line


def _fail(path: Path, text: str, table: str, key: str | None, message: str,
          index: int = 0) -> AnalysisFileError:
    line = _line_of(text, table, key, index)
    where = f"{path.name}, line {line}" if line else path.name
    full = f"{table}.{key}" if table and key else (key or f"[{table}]")
    return AnalysisFileError(f"{where}: `{full}` {message}")


def _after_name(err: BaseException | str) -> str:
    """Return an option error's message without its leading "`name` " (the caller names the key)."""
    text = str(err)
    m = re.match(r"^`[^`]*`\s+", text)
    return text[m.end():] if m else text


def _checked(path: Path, text: str, table: str, key: str, check: Callable[[Any], Any],
             value: Any, index: int = 0) -> None:
    """Run ``check(value)``; turn its OptionError into one naming the file, line and key."""
    from pbr_eval.exceptions import OptionError

    try:
        check(value)
    except OptionError as err:
        raise _fail(path, text, table, key, _after_name(err), index) from err


def _check_table_at(path: Path, text: str, values: Mapping[str, Any], key: str,
                    index: int) -> None:
    """Return the error of :func:`_check_table` for ``key`` of the ``index``-th ``[[estimate]]``."""
    schema = SCHEMA["estimate"]
    if key not in schema:
        raise _fail(path, text, "estimate", key, f"is not a known key; allowed here: "
                    f"{', '.join(sorted(schema))}. Check the spelling.", index)
    want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in schema[key][0])
    raise _fail(path, text, "estimate", key, f"must be {want}; got {values[key]!r}.", index)


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


# ------------------------------------------------------------ value ranges
def _ranges() -> dict[tuple[str, str], Callable[[Any], Any]]:
    """(table, key) -> a check of the key's value, with the shared option validators.

    The rates, counts and money of ``[pricing]`` and ``[contract]`` are checked by
    :func:`pbr_eval.pricing.inputs.option_problems` (the one range-checking path of the
    pricing engines); here are the other tables and the pricing vocabularies.
    """
    from pbr_eval.distributed.cohort import check_scheduler
    from pbr_eval.options import (
        BETTER,
        MISSING,
        PRICE_RULES,
        check_choice,
        check_int,
        check_level,
    )

    def level(v: Any) -> Any:
        return check_level(v)

    def at_least(m: int) -> Callable[[Any], Any]:
        return lambda v: check_int("value", v, minimum=m)

    def choice(allowed: tuple[str, ...]) -> Callable[[Any], Any]:
        return lambda v: check_choice("value", v, allowed)

    return {
        ("", "level"): level, ("", "seed"): at_least(0),
        ("roles", "missing"): choice(MISSING), ("roles", "min_treated"): at_least(1),
        ("pricing", "better"): choice(BETTER), ("pricing", "rule"): choice(PRICE_RULES),
        ("report", "threshold"): at_least(1), ("report", "min_cohort"): at_least(1),
        ("report", "level"): level,
        ("sensitivity", "better"): choice(BETTER),
        ("dask", "scheduler"): check_scheduler, ("dask", "partitions"): at_least(1),
    }


#: Pricing keys that may be one value or a table of values per outcome.
_PER_OUTCOME = ("value_per_outcome", "expected_rate", "better", "cost_per_participant",
                "attachment_fee")


def _names_list(path: Path, text: str, table: str, key: str, value: Any,
                *, allow_empty: bool = False) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names and not allow_empty:
        raise _fail(path, text, table, key, "must name at least one column; got an empty list.")
    bad = [v for v in names if not isinstance(v, str) or not v.strip()]
    if bad:
        raise _fail(path, text, table, key,
                    f"must list column names (text); got {bad[0]!r}. Quote each name.")
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise _fail(path, text, table, key,
                    f"lists {', '.join(map(repr, dup))} more than once; name each column once.")
    return names


def _check_values(path: Path, text: str, raw: Mapping[str, Any]) -> None:
    """Ranges, vocabularies and cross-references that need no data (issue 14: ``run --check`` rejects what the run would)."""
    from pbr_eval.options import OUTCOME_TYPES

    ranges = _ranges()
    for table in ("", "roles", "pricing", "contract", "report", "sensitivity", "dask"):
        values = raw if table == "" else raw.get(table)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            check = ranges.get((table, key))
            if check is None:
                continue
            if table == "pricing" and key in _PER_OUTCOME and isinstance(value, Mapping):
                for outcome, v in value.items():
                    _checked(path, text, f"pricing.{key}", outcome, check, v)
            else:
                _checked(path, text, table, key, check, value)
    if not raw["data"]["source"].strip():
        raise _fail(path, text, "data", "source", "must name the data file (relative to this "
                    "file) or a database URL; got ''.")
    roles = raw["roles"]
    outcomes = _names_list(path, text, "roles", "outcome", roles["outcome"])
    covariates = _names_list(path, text, "roles", "covariates", roles["covariates"])
    treatment = roles["treatment"]
    if not treatment.strip():
        raise _fail(path, text, "roles", "treatment", "must name a column; got ''.")
    for key, names in (("outcome", outcomes), ("covariates", covariates)):
        if treatment in names:
            raise _fail(path, text, "roles", key,
                        f"includes the treatment column '{treatment}'; remove it from `{key}`.")
    both = [c for c in outcomes if c in covariates]
    if both:
        raise _fail(path, text, "roles", "covariates",
                    f"includes the outcome {', '.join(map(repr, both))}: an outcome cannot "
                    "explain selection into the programme. Remove it from `covariates`.")
    if "period" in roles and "unit_id" not in roles:
        raise _fail(path, text, "roles", "period",
                    "needs `unit_id`: panel data has one row per unit and period, so name the "
                    "column identifying each unit.")
    if "at_period" in roles and "period" not in roles:
        raise _fail(path, text, "roles", "at_period",
                    "needs `period` (the column holding the periods); add it to [roles].")
    for outcome, kind in dict(roles.get("outcome_types", {})).items():
        if outcome not in outcomes:
            raise _fail(path, text, "roles.outcome_types", outcome,
                        f"names '{outcome}', which is not an outcome; the outcomes are "
                        f"{', '.join(map(repr, outcomes))}.")
        if kind not in OUTCOME_TYPES:
            raise _fail(path, text, "roles.outcome_types", outcome,
                        f"must be one of {', '.join(map(repr, OUTCOME_TYPES))}; got {kind!r}.")
    pricing = raw.get("pricing")
    if isinstance(pricing, Mapping):
        priced = _names_list(path, text, "pricing", "outcomes", pricing.get("outcomes", outcomes))
        unknown = [o for o in priced if o not in outcomes]
        if unknown:
            raise _fail(path, text, "pricing", "outcomes",
                        f"names {', '.join(map(repr, unknown))}, not among `roles.outcome` "
                        f"({', '.join(map(repr, outcomes))}).")
        for key in _PER_OUTCOME:
            per = pricing.get(key)
            if isinstance(per, Mapping):
                if not per:
                    raise _fail(path, text, "pricing", key, "is an empty table; give a value "
                                "per priced outcome, e.g. { reoffended = 5000 }.")
                for outcome in per:
                    if outcome not in outcomes:
                        raise _fail(path, text, f"pricing.{key}", outcome,
                                    f"names '{outcome}', which is not an outcome; the outcomes "
                                    f"are {', '.join(map(repr, outcomes))}.")
        if isinstance(pricing.get("value_per_outcome"), Mapping):
            missing = [o for o in priced if o not in pricing["value_per_outcome"]]
            if missing:
                raise _fail(path, text, "pricing", "value_per_outcome",
                            f"gives no value for {', '.join(map(repr, missing))}; give one per "
                            "priced outcome, or list only the outcomes to price in "
                            "`pricing.outcomes`.")
    outputs = raw.get("report", {}).get("outputs", [])
    if isinstance(outputs, list):
        low = [str(o).lower() for o in outputs]
        dup = sorted({o for o in outputs if low.count(str(o).lower()) > 1})
        if dup:
            raise _fail(path, text, "report", "outputs",
                        f"lists {', '.join(map(repr, dup))} more than once; each report once.")


def _check_estimators(path: Path, text: str, estimates: list[dict[str, Any]]) -> None:
    """Build each estimator from its options (unknown options and bad values are found now)."""
    from pbr_eval.estimators.base import build_estimator

    for k, est in enumerate(estimates):
        opts = est["options"]
        if est["method"] == "evaluate":  # the design-first default takes these options only
            bad = [o for o in opts if o not in ("ratio", "disagreement")]
            if bad:
                raise _fail(path, text, "estimate.options", bad[0],
                            "is not an option of 'evaluate'; its options are 'ratio' and "
                            "'disagreement'.", k)
            continue
        try:
            build_estimator(est["method"], dict(opts))
        except (PbrEvalError, TypeError, ValueError) as err:
            msg = str(err)
            m = re.match(r"^`([A-Za-z_]\w*)", msg)
            first = msg.split(";", 1)[0]  # "does not take option(s) 'x'; its options are ..."
            named = [o for o in opts if re.search(rf"'{re.escape(o)}'", first)]
            key = m.group(1) if m and m.group(1) in opts else (named[0] if named else None)
            if key is not None:
                raise _fail(path, text, "estimate.options", key,
                            _after_name(err) if m else msg, k) from err
            raise _fail(path, text, "estimate", "options", msg, k) from err


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
    r"""Read and validate an analysis file (nothing is run).

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
    >>> _ = open(p, "w").write('[data]\nsource = "x.csv"\n[roles]\ntreatment = "t"\n'
    ...                        'outcome = "y"\ncovariates = ["a"]\ncaliper = 0.2\n')
    >>> load_analysis(p)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.AnalysisFileError: a.toml, line 7: `roles.caliper` is not a known key; ...
    """
    p = Path(path)
    if not p.is_file():
        raise AnalysisFileError(f"Analysis file '{p}' does not exist.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise AnalysisFileError(f"{p.name}: not UTF-8 text (byte {err.start}); save the analysis "
                                "file as UTF-8.") from err
    except OSError as err:
        raise AnalysisFileError(f"Analysis file '{p}' cannot be read: {err.strerror}.") from err
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AnalysisFileError(f"{p.name}: not valid TOML: {err}.") from err
    _check_table(p, text, "", raw)
    _check_table(p, text, "data", raw["data"])
    _check_table(p, text, "roles", raw["roles"])
    estimates = raw.get("estimate", [{"method": "evaluate"}])  # the design-first default
    if isinstance(estimates, dict):
        estimates = [estimates]
    from pbr_eval.estimators import ESTIMATORS

    names: list[str] = []
    resolved_est = []
    for k, est in enumerate(estimates):
        if not isinstance(est, dict):
            raise _fail(p, text, "estimate", None, "must be a table with `method`.", k)
        try:
            _check_table(p, text, "estimate", est)
        except AnalysisFileError:
            bad = next((key for key in est if key not in SCHEMA["estimate"] or not _type_ok(
                est[key], SCHEMA["estimate"][key][0])), None)
            if bad is None:
                raise
            _check_table_at(p, text, est, bad, k)
        if est["method"] not in ESTIMATORS and est["method"] != "evaluate":
            raise _fail(p, text, "estimate", "method",
                        f"must be one of {', '.join(map(repr, ['evaluate', *sorted(ESTIMATORS)]))}; got "
                        f"{est['method']!r}.", k)
        name = str(est.get("name", est["method"]))
        if name in names:
            raise _fail(p, text, "estimate", "name",
                        f"must be unique; '{name}' appears twice (give each a `name`).", k)
        names.append(name)
        resolved_est.append({"name": name, "method": est["method"],
                             "options": dict(est.get("options", {}))})
    for table in ("pricing", "report", "output", "contract", "sensitivity", "dask"):
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
    _check_values(p, text, raw)
    _check_estimators(p, text, resolved_est)
    if "contract" in raw:  # one place declares the contract's money: [contract]
        for key in CONTRACT_PRICE_KEYS:
            if key in raw["pricing"]:
                raise _fail(p, text, "pricing", key,
                            "belongs in [contract] when the file has one: the contract's values "
                            "feed the price, the tariff and the cash flow alike. Move it there.")
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
    out_folder = raw.get("output", {}).get("folder", f"{p.stem}-output")
    try:  # the output folder stays inside the analysis file's folder
        out_path = confine(p.parent, out_folder, option="output.folder")
    except PbrEvalError as err:
        got = repr(out_folder)
        if not Path(out_folder).is_absolute() and ".." not in Path(out_folder).parts:
            got += f", which leads through a link to '{(p.parent / out_folder).resolve()}'"
        raise _fail(p, text, "output", "folder",
                    f"must be a folder inside the analysis file's folder ('{p.parent.resolve()}'); "
                    f"got {got}. Give a relative name without '..' or links (e.g. "
                    f"'{p.stem}-output'), or choose any folder with `pbr-eval run --out`.") from err
    if out_path == p.parent.resolve():
        raise _fail(p, text, "output", "folder",
                    f"must be a sub-folder, not the analysis file's own folder; got "
                    f"{out_folder!r}. pbr_eval replaces its output folder whole (e.g. "
                    f"'{p.stem}-output').")
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
        "data": {"source": source_resolved, "query": raw["data"].get("query"),
                 "source_given": source},
        "roles": roles,
        "estimate": resolved_est,
        "pricing": dict(raw["pricing"]) if "pricing" in raw else None,
        "report": {"outputs": list(outputs), "threshold": int(report.get("threshold", DEFAULT_DISCLOSURE_THRESHOLD)),
                   "min_cohort": int(report.get("min_cohort", DEFAULT_MIN_TREATED)),
                   "title": report.get("title"), "level": report.get("level"),
                   "currency": report.get("currency", DEFAULT_CURRENCY)},
        "output": {"folder": out_folder, "path": str(out_path)},
        "contract": dict(raw["contract"]) if "contract" in raw else None,
        "sensitivity": dict(raw["sensitivity"]) if "sensitivity" in raw else None,
        "dask": dict(raw["dask"]) if "dask" in raw else None,
    }
    return AnalysisSpec(path=p.resolve(), text=text, resolved=resolved)


# ------------------------------------------------------- checks on the data
#: Exceptions from building the cohort -> the [roles] key at fault.
_ROLE_OF_ERROR = {"TreatmentError": "treatment", "MissingValueError": "missing",
                  "OutcomeTypeError": "outcome", "CovariateError": "covariates",
                  "ContaminationError": "unit_id", "DuplicateIdError": "unit_id",
                  "SmallCohortError": "min_treated", "InfiniteValueError": "covariates"}

#: Estimator options whose values name covariates (a list, or a table keyed by column).
_COLUMN_OPTIONS = ("exact", "mahvars", "caliper", "cutpoints", "grouping")


@dataclass(frozen=True)
class _Prepared:
    frame: Any
    data_hash: str
    hash_of: str
    cohort: Any


def _roles_key_for(err: BaseException, roles: Mapping[str, Any]) -> str | None:
    msg = str(err)
    m = re.match(r"^`([A-Za-z_]\w*)`", msg)
    if m and m.group(1) in SCHEMA["roles"]:
        return m.group(1)
    key = _ROLE_OF_ERROR.get(type(err).__name__)
    if key == "covariates" or key is None:  # name the role holding the column the message names
        for role in ("outcome", "covariates", "treatment", *COLUMN_ROLES[3:]):
            cols = roles.get(role)
            cols = [cols] if isinstance(cols, str) else list(cols or [])
            if any(f"'{c}'" in msg for c in cols):
                return role
    return key


def _prepare(spec: AnalysisSpec) -> _Prepared:
    """Read the data and build the cohort as the run does, turning every failure into an error naming the file, line and key; then the checks that need the data (columns named by estimator options, expected rates within the outcome's range)."""
    import pbr_eval
    from pbr_eval.io import data_columns, is_database_url, missing_columns_message, read_data

    p, text, r = spec.path, spec.text, spec.resolved
    roles = r["roles"]
    source, query = r["data"]["source"], r["data"]["query"]
    role_cols = {k: ([v] if isinstance(v, str) else list(v)) for k, v in roles.items()
                 if k in COLUMN_ROLES}
    cols = list(dict.fromkeys(c for v in role_cols.values() for c in v))
    try:
        have = data_columns(source)
    except PbrEvalError as err:
        msg = str(err)
        key = "query" if msg.startswith("`query`") else "source"
        raise _fail(p, text, "data", key, _after_name(err) if msg.startswith("`") else msg) from err
    if have is not None:
        absent = [c for c in cols if c not in have]
        if absent:
            role = next(k for k, v in role_cols.items() if absent[0] in v)
            raise _fail(p, text, "roles", role, _after_name(missing_columns_message(
                absent, have, f"'{Path(source).name}'", roles=role_cols)))
    try:
        frame = read_data(source, columns=cols, query=query)
    except PbrEvalError as err:
        missing = re.findall(r"'([^']+)'", str(err))
        role = next((k for k, v in role_cols.items() for c in missing if c in v), None)
        if role is not None and "column" in str(err):
            raise _fail(p, text, "roles", role, str(err)) from err
        msg = str(err)
        key = "query" if msg.startswith("`query`") or (query and "query" in msg) else "source"
        raise _fail(p, text, "data", key, _after_name(err) if msg.startswith("`") else msg) from err
    if is_database_url(source):
        data_hash = hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()
        hash_of = "the query result as CSV"
    else:
        data_hash = _sha256_file(Path(source))
        hash_of = "the data file"

    cohort_args = {k: v for k, v in roles.items() if v is not None and k != "at_period"}
    dask_opts = r.get("dask")
    cohort: Any
    try:
        if dask_opts:
            cohort = pbr_eval.DistributedCohort(frame, scheduler=dask_opts["scheduler"],
                                                npartitions=dask_opts.get("partitions"),
                                                **cohort_args)
        else:
            cohort = pbr_eval.Cohort(frame, **cohort_args)
    except PbrEvalError as err:
        role_key = _roles_key_for(err, roles)
        raise _fail(p, text, "roles", role_key, _after_name(err)
                    if role_key and str(err).startswith(f"`{role_key}`") else str(err)) from err
    if roles.get("at_period") is not None:
        try:
            cohort = cohort.at_period(roles["at_period"])
        except PbrEvalError as err:
            raise _fail(p, text, "roles", "at_period", str(err)) from err

    for k, est in enumerate(r["estimate"]):
        for opt in _COLUMN_OPTIONS:
            value = est["options"].get(opt)
            if value is None or isinstance(value, (int, float)):
                continue
            named = ([value] if isinstance(value, str) else list(value))
            named = [c for c in named if c != "distance"]
            absent = [c for c in named if c not in cohort.covariates]
            if absent:
                near = [n for c in absent for n in _closest(c, cohort.covariates)]
                raise _fail(p, text, "estimate.options", opt,
                            f"names {', '.join(map(repr, absent))}, not among the covariates "
                            f"({', '.join(map(repr, cohort.covariates))})"
                            + (f"; did you mean {' or '.join(map(repr, near))}?" if near else
                               ". Add it to `roles.covariates`."), k)
            if opt == "caliper":
                text_cols = [c for c in named if not _numeric(frame[c])]
                if text_cols:
                    raise _fail(p, text, "estimate.options", opt,
                                f"on {', '.join(map(repr, text_cols))}: a per-covariate caliper "
                                "needs a numeric covariate, and it holds text. Match within its "
                                "categories with `exact` instead.", k)

    pricing = r["pricing"]
    if pricing is not None:  # rates checked again now that each outcome's type is known
        from pbr_eval.pricing.inputs import PRICING_OPTION_KINDS, option_problems

        types = {o: cohort.outcome_types[o] for o in pricing.get("outcomes", roles["outcome"])
                 if o in cohort.outcome_types}
        for key, message in option_problems(pricing, PRICING_OPTION_KINDS, outcome_types=types):
            raise _fail(p, text, "pricing", key, message)
    return _Prepared(frame=frame, data_hash=data_hash, hash_of=hash_of, cohort=cohort)


def _closest(name: str, names: list[str]) -> list[str]:
    from pbr_eval.io import closest_names

    return closest_names(name, names)


def _numeric(s: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(
        s.dtype, pd.CategoricalDtype)) or pd.api.types.is_bool_dtype(s.dtype)


def check_analysis(path: str | Path, *, out: str | Path | None = None) -> AnalysisSpec:
    """Check an analysis file as ``pbr-eval run`` would, without estimating or writing.

    Everything :func:`load_analysis` checks (syntax, keys, types, ranges, vocabularies,
    each estimator's options), then what needs the data: the data can be read, every
    column a role or an estimator option names exists (with the closest names when it
    does not), the cohort builds (treatment 0/1, identifiers, missing values, cohort
    size, ``at_period``), a per-covariate caliper names a numeric covariate, and an
    expected rate lies in its outcome's range (0 to 1 for a yes/no outcome). Last, the
    output folder must be one the run may replace (new, empty or an earlier pbr_eval
    output). Every error names the file, the line and the key. What
    ``pbr-eval run --check`` does.

    Parameters
    ----------
    path : str or Path
        The analysis (TOML) file; its data file is read (only the role columns).
    out : str or Path, optional
        The output folder the run would be given (``pbr-eval run --out``); default the
        file's ``[output] folder``.

    Returns
    -------
    AnalysisSpec
        As from :func:`load_analysis`, once the data have passed too.

    Raises
    ------
    AnalysisFileError
        Naming the file, the line and the key.
    OutputError
        When ``out`` holds files pbr_eval did not write.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pbr_eval
    >>> ex = Path(pbr_eval.__file__).parents[1] / "examples" / "reoffending.toml"
    >>> check_analysis(ex).resolved["roles"]["treatment"] if ex.is_file() else "treated"
    'treated'
    """
    from pbr_eval.io import check_replaceable

    spec = load_analysis(path)
    _prepare(spec)
    expected = _expected_outputs(spec.resolved)
    if out is not None:
        check_replaceable(Path(out).absolute(), expected)
        return spec
    try:
        check_replaceable(Path(spec.resolved["output"]["path"]), expected)
    except PbrEvalError as err:
        raise _fail(spec.path, spec.text, "output", "folder", f"cannot be written: {err}") from err
    return spec


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
    from pbr_eval.io import sha256_file

    return sha256_file(path)


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

    cls = ESTIMATORS.get(method)
    if cls is None:  # 'evaluate': no random step
        return False
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
    from pbr_eval.io import Staging

    step = progress or (lambda _msg: None)
    step("validating the analysis file")
    spec = load_analysis(path)
    r = spec.resolved
    if out is not None:
        folder = Path(out).absolute()
    else:
        folder = Path(r["output"]["path"])  # confined to the file's folder by load_analysis
    with Staging(command="pbr-eval run") as staging:
        # Checked before any work: the folder must be new, empty or an earlier pbr_eval output.
        work = staging.folder(folder, expected=_expected_outputs(r))
        run = _run_into(spec, work, generated=generated, step=step)
    step("done")
    files = [staging.destination(f) for f in run.files]
    return AnalysisRun(folder=folder, files=files, results=run.results, prices=run.prices,
                       provenance=run.provenance)


def _expected_outputs(r: Mapping[str, Any]) -> list[str]:
    """Return the names a run of the resolved file ``r`` writes into its folder."""
    from pbr_eval.reporting.safety import safe_filename

    names = ["estimates.csv", "balance.csv", "prices.csv", "results.json", "analysis.toml",
             "provenance.json"]
    for name in r["report"]["outputs"]:
        names.append(Path(name).parts[0])
        if Path(name).suffix.lower() == ".md":
            names.append(safe_filename(Path(name).stem) + "_figures")
    return names


def _failed_at(spec: AnalysisSpec, table: str, index: int, what: str,
               err: PbrEvalError) -> PbrEvalError:
    """``err`` (same type) saying which part of the file failed at run time, and its line."""
    line = _line_of(spec.text, table, "method" if table == "estimate" else None, index)
    where = f"{spec.path.name}, line {line}" if line else spec.path.name
    return type(err)(f"{where}: {what}: {err}")


def _run_into(spec: AnalysisSpec, folder: Path, *, generated: str | None,
              step: Callable[[str], None]) -> AnalysisRun:
    """Do the run, writing every output into ``folder`` (a staging folder)."""
    import pbr_eval
    from pbr_eval.io import is_database_url, write_json, write_text
    from pbr_eval.reporting import write_report
    from pbr_eval.reporting.safety import confine, write_csv

    r = spec.resolved
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    step("reading the data and building the cohort")
    prepared = _prepare(spec)  # the same checks as --check, errors naming file/line/key
    cohort, data_hash, hash_of = prepared.cohort, prepared.data_hash, prepared.hash_of
    source = r["data"]["source"]

    results: dict[str, Any] = {}
    resolved_options: dict[str, dict[str, Any]] = {}
    for est in r["estimate"]:
        step(f"estimating ({est['name']})")
        opts = dict(est["options"])
        if "seed" not in opts and _takes_seed(est["method"]):
            opts["seed"] = r["seed"]
        try:
            if est["method"] == "evaluate":
                results[est["name"]] = pbr_eval.evaluate(cohort, **opts)
            else:
                results[est["name"]] = pbr_eval.estimate(cohort, method=est["method"], **opts)
        except PbrEvalError as err:  # say which [[estimate]] failed, and where it is declared
            raise _failed_at(spec, "estimate", r["estimate"].index(est),
                             f"[[estimate]] '{est['name']}' ({est['method']})", err) from err
        resolved_options[est["name"]] = {"method": est["method"], **opts}
    primary_name = r["estimate"][0]["name"]
    primary = results[primary_name]

    prices = None
    if r["pricing"] is not None:
        step("pricing")
        pricing_opts = dict(r["pricing"])
        pricing_opts.setdefault("level", r["level"])
        if r["contract"] is not None:
            pricing_opts.update(contract_price_options(r["contract"], pricing_opts))
        try:
            prices = pbr_eval.price(primary, **pricing_opts)
        except PbrEvalError as err:
            raise _failed_at(spec, "pricing", 0,
                             f"[pricing] of [[estimate]] '{primary_name}'", err) from err

    bundle: Any = prices
    if prices is not None and r["contract"] is not None:
        step("simulating payments and cash flow")
        try:
            bundle = commissioner_bundle(prices, seed=r["seed"], **r["contract"])
        except PbrEvalError as err:
            raise _failed_at(spec, "contract", 0, "[contract]", err) from err
    sensitivity = None
    sens_opts = r["sensitivity"] or {}
    if sens_opts.get("hidden_bias", False):
        step("sensitivity to hidden bias")
        sensitivity = hidden_bias_sensitivity(primary, cohort,
                                              better=sens_opts.get("better", "higher"))

    step("writing tables")
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
        if r["contract"] is not None:  # `pbr-eval report` rebuilds the tariff from it
            payload["contract"] = {**r["contract"], "seed": r["seed"]}
    files.append(write_json(confine(folder, "results.json"), payload, sort_keys=True))

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
                              "query": r["data"]["query"]},
                     "output": {"folder": r["output"]["folder"]}},
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
            primary, target, pricing=bundle, sensitivity=sensitivity, kind=kind,
            title=rep["title"] or r["title"], level=rep["level"] or r["level"],
            threshold=rep["threshold"], min_cohort=rep["min_cohort"], generated=generated,
            currency=rep["currency"],
            provenance={"analysis_file": spec.path.name,
                        "analysis_sha256": provenance["analysis_sha256"],
                        "data_sha256": data_hash},
        )
    files.append(write_text(confine(folder, "analysis.toml"), spec.text))
    # The completion marker: written last, inside the staging folder, so a provenance.json
    # saying "complete" only ever appears with every file it lists (the folder is moved into
    # place whole; .pbr_eval.json beside it holds each file's SHA-256).
    provenance["output"] = {"complete": True,
                            "files": sorted(p.relative_to(folder).as_posix()
                                            for p in [*files, folder / "provenance.json"])}
    files.append(write_json(confine(folder, "provenance.json"), provenance, sort_keys=True,
                            default=str))
    return AnalysisRun(folder=folder, files=files, results=results, prices=prices,
                       provenance=provenance)


#: ``[contract]`` keys that are also :func:`pbr_eval.price` options: declared once, in
#: ``[contract]``, they set the price as well as the tariff and the cash flow.
CONTRACT_PRICE_KEYS = ("attachment_fee", "cost_per_participant")


def contract_price_options(contract: Mapping[str, Any],
                           pricing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the :func:`pbr_eval.price` options a contract sets.

    The attachment fee and the provider's cost per participant (so the price
    is net of the fee and has the provider's break-even floor), and, unless
    ``pricing`` gives ``cohort_size``, the contract's cohort: referrals per
    month times months of referrals.

    Examples
    --------
    >>> contract_price_options({"attachment_fee": 100, "cost_per_participant": 300,
    ...                         "referrals_per_month": 50, "months_of_referrals": 12})
    {'attachment_fee': 100.0, 'cost_per_participant': 300.0, 'cohort_size': 600}
    """
    out: dict[str, Any] = {"attachment_fee": float(contract.get("attachment_fee", 0.0)),
                           "cost_per_participant": float(contract["cost_per_participant"])}
    if not (pricing or {}).get("cohort_size"):
        out["cohort_size"] = int(contract["referrals_per_month"]) * int(
            contract["months_of_referrals"])
    return out


def commissioner_bundle(
    rec: Any,
    *,
    referrals_per_month: int,
    months_of_referrals: int,
    cost_per_participant: float | None = None,
    attachment_fee: float | None = None,
    cohort_size: int | None = None,
    outcome_lag: int = 12,
    payment_lag: int = 3,
    draws: int = 2000,
    seed: int = 0,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    referral_profile: Sequence[float] | None = None,
    price_paid: float | None = None,
    cap: float | None = None,
    trigger: float | None = None,
    mpl_uplift: float | None = None,
) -> dict[str, Any]:
    """Return a tariff from a price recommendation, with its payment simulation, cash flow and price sensitivity, for the commissioner's report and workbook.

    The tariff is the attachment fee plus the recommended price per paid outcome of the
    recommendation's first outcome. The recommendation must have been priced with the
    contract's attachment fee and provider cost (:func:`contract_price_options`), so that
    one set of contract values feeds the price, the tariff and the cash flow alike.
    Everything is computed by :mod:`pbr_eval.pricing`; this only wires the inputs together.

    Parameters
    ----------
    rec : PriceRecommendation
        Priced with ``attachment_fee`` and ``cost_per_participant``.
    referrals_per_month, months_of_referrals, outcome_lag, payment_lag : contract inputs
        (see :func:`pbr_eval.pricing.cash_flow`).
    cost_per_participant, attachment_fee : float, optional
        Default: the recommendation's. When given they must equal it.
    cohort_size : int, optional
        People in the simulated cohort (default: the recommendation's cohort size,
        else referrals per month times months of referrals).
    draws, seed : simulation size and seed (see :func:`pbr_eval.pricing.simulate_payments`)
    discount_rate : float, default 0.035
        Annual rate of the cash flow's net present value.
    referral_profile : list of float, optional
        Relative referrals by month: the cohort is shared out in these proportions
        (instead of ``referrals_per_month`` each month).
    price_paid : float, optional
        The price per paid outcome of the tariff (default: the recommended price).
    cap, trigger, mpl_uplift : float, optional
        A cap on the cohort's payments, a rate the cohort must reach, and a minimum
        performance level's uplift (see :class:`pbr_eval.pricing.whatif.WhatIfInputs`).
        The cash flow is :func:`pbr_eval.pricing.whatif.whatif`'s schedule for the
        contract (the one reading of it, :func:`pbr_eval.reporting.contract.contract_outcomes`,
        that the tariff report's payments, the workbook and the what-if page share), so it
        applies all three; the tariff simulated applies the cap (``programme_cap``) and the
        minimum performance level (:class:`~pbr_eval.pricing.MinimumPerformanceLevel`),
        not the trigger (a limitation the report states).

    Returns
    -------
    dict
        ``recommendation``, ``tariff``, ``simulation``, ``cashflow``, ``sensitivity`` and
        ``contract`` (the contract's values, for the what-if page).

    Raises
    ------
    OptionError
        When the recommendation was priced with another attachment fee or cost, or
        without a provider cost.
    """
    import math

    import pandas as pd

    from pbr_eval.exceptions import OptionError
    from pbr_eval.options import check_money, check_rates
    from pbr_eval.pricing import (
        AttachmentFee,
        MinimumPerformanceLevel,
        PerOutcome,
        Tariff,
        price_sensitivity,
        simulate_payments,
    )
    from pbr_eval.pricing.cashflow import CashFlowSchedule
    from pbr_eval.pricing.whatif import whatif
    from pbr_eval.reporting.contract import contract_outcomes
    from pbr_eval.reporting.safety import safe_filename

    r = rec.to_frame().iloc[0]
    price, n, se, rate, value = (float(r["recommended"]), float(r["non_intervention"]),
                                 float(r["non_intervention_se"]), float(r["expected_rate"]),
                                 float(r["value_per_outcome"]))
    fee_priced, cost_priced = float(r["attachment_fee"]), float(r["cost_per_participant"])
    for name, given, priced in (("attachment_fee", attachment_fee, fee_priced),
                                ("cost_per_participant", cost_per_participant, cost_priced)):
        if given is not None and not (math.isclose(float(given), priced, abs_tol=1e-9)):
            raise OptionError(
                f"`{name}` of the contract ({float(given):,.2f}) differs from the one the price "
                f"was set with ({priced:,.2f}); price with the contract's values "
                "(pbr_eval.price(..., attachment_fee=, cost_per_participant=) or `pbr-eval price "
                "--attachment-fee --cost-per-participant`) so the price, tariff and cash flow agree."
            )
    if not math.isfinite(cost_priced):
        raise OptionError(
            "`cost_per_participant` is needed for the tariff's cash flow and payment simulation; "
            "price with it (pbr_eval.price(..., cost_per_participant=) or `pbr-eval price --cost-per-participant`)."
        )
    fee, cost = fee_priced, cost_priced
    if cohort_size is None:
        rec_n = r.get("cohort_size")
        cohort_size = (int(rec_n) if rec_n is not None and math.isfinite(float(rec_n))
                       else int(referrals_per_month) * int(months_of_referrals))
    if price_paid is not None:
        price = check_money("price_paid", price_paid)
    if referral_profile is not None:
        w = check_rates("referral_profile", list(referral_profile), outcome_type=None)
        if w.sum() <= 0:
            raise OptionError("`referral_profile` must hold at least one month with a positive "
                              "number of referrals; got none.")
    contract = {"attachment_fee": fee, "cost_per_participant": cost,
                "referrals_per_month": int(referrals_per_month),
                "months_of_referrals": int(months_of_referrals), "outcome_lag": int(outcome_lag),
                "payment_lag": int(payment_lag), "discount_rate": float(discount_rate),
                "referral_profile": None if referral_profile is None else
                [float(x) for x in referral_profile], "price_paid": price_paid, "cap": cap,
                "trigger": trigger, "mpl_uplift": mpl_uplift}
    # the contract read once, as the report's payments, the workbook and the what-if page read
    # it: the cash flow is the what-if schedule (price paid, fee, cap, trigger, minimum level)
    terms = contract_outcomes(None, {"recommendation": rec, "contract": contract},
                              {"cohort_size": int(cohort_size)})[0]
    figures = whatif(terms.inputs, terms.evidence)
    price = figures.price_paid
    paid = safe_filename(r["paid_outcome"], default="outcome")
    mechanisms: list[Any] = [PerOutcome(paid, price) if mpl_uplift is None else
                             MinimumPerformanceLevel(paid, price, non_intervention=n,
                                                     uplift=float(mpl_uplift),
                                                     outcome_type=terms.evidence.outcome_type)]
    if fee:
        mechanisms.insert(0, AttachmentFee(fee))
    tariff = Tariff(mechanisms, name="tariff", programme_cap=cap)
    risk = simulate_payments(tariff, non_intervention={paid: (n, se)}, effect={paid: rate - n},
                             value_per_outcome={paid: value}, cohort_size=int(cohort_size),
                             cost_per_participant=cost, draws=int(draws), seed=int(seed))
    frame = pd.DataFrame({k: figures.schedule[k] for k in (
        "month", "referrals", "delivery_cost", "attachment_income", "outcome_income", "net",
        "cash_position")})
    frame["month"] = frame["month"].astype(int)
    cf = CashFlowSchedule(frame, discount_rate=float(discount_rate), info={
        "cost_per_participant": cost, "price": price, "expected_rate": rate,
        "attachment_fee": figures.attachment_fee, "delivery_months": 1,
        "outcome_lag": int(outcome_lag), "payment_lag": int(payment_lag),
        "attachment_lag": int(payment_lag), "upfront_cost": 0.0,
        "outcome_type": terms.evidence.outcome_type, "cap": cap, "trigger": trigger,
        "mpl_uplift": mpl_uplift})
    sens = price_sensitivity(value_per_outcome=value,
                             non_intervention=(max(0.0, n - 0.2), min(rate, 1.0)),
                             expected_rate=rate, attachment_fee=fee, num=11)
    return {"recommendation": rec, "tariff": tariff, "simulation": risk, "cashflow": cf,
            "sensitivity": sens, "contract": contract}


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
