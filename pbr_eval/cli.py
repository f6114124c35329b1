"""The ``pbr-eval`` command line: thin commands over :mod:`pbr_eval.api`.

Any :class:`~pbr_eval.exceptions.PbrEvalError` prints one line and exits with
status 2 (no traceback unless ``--debug``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from pbr_eval._version import __version__
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_LEVEL, DEFAULT_MIN_TREATED

__all__ = ["main", "cli"]


#: The start of the one line printed for a failure pbr_eval did not foresee (a bug).
UNEXPECTED = "unexpected internal error"


def _echo(text: Any = "", *, err: bool = False) -> None:
    """Print to the terminal with the control and bidi characters of user-supplied text (labels, column names, file names) removed: an escape sequence or a right-to-left override in a data file cannot rewrite or reorder what the user reads."""
    from pbr_eval.io import clean_text

    text = clean_text(text, max_length=None).replace("\r\n", "\n").replace("\r", "")
    click.echo(text, err=err)


def _one_line(text: str) -> str:
    from pbr_eval.io import clean_text

    return " ".join(clean_text(text, max_length=2000).split())


def _error_line(err: BaseException) -> str:
    """Return the one line a CLI user sees for ``err`` (no traceback)."""
    if isinstance(err, PbrEvalError):
        return _one_line(str(err))
    if isinstance(err, MemoryError):
        return ("Not enough memory to finish. Use a smaller file (fewer rows or columns), "
                "close other programs, or run on a machine with more memory.")
    if isinstance(err, UnicodeDecodeError):
        return _one_line(f"A file is not UTF-8 text ({err.reason} at byte {err.start}). Save it "
                         "as UTF-8 (e.g. 'CSV UTF-8' in Excel) and try again.")
    if isinstance(err, OSError):
        import errno

        name = f" '{err.filename}'" if getattr(err, "filename", None) else ""
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            fix = "The disk is full: free some space or write to another folder (--out)."
        else:
            fix = "Check the path exists and can be read or written."
        return _one_line(f"Could not read or write{name}: {err.strerror or err}. {fix}")
    return _one_line(f"{UNEXPECTED} ({type(err).__name__}: {err}). This is a bug in pbr_eval: "
                     "please report it with the output of `pbr-eval --debug ...`.")


def _old_flag(old: str, new: str, dest: str, **kwargs: Any) -> Any:
    """Return a hidden option ``old`` kept for one release: it fills ``dest`` and warns on stderr.

    Flags take the API's names; version 0.1's spellings still work until
    after version 0.2 (the command reads ``<dest>_old`` through :func:`_pick`).
    """
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            click.echo(f"pbr-eval: warning: {old} is deprecated: use {new} (the old spelling "
                       "will be removed after version 0.2).", err=True)
        return value

    return click.option(old, f"{dest}_old", hidden=True, default=None, callback=callback,
                        expose_value=True, **kwargs)


def _pick(new: Any, old: Any, new_flag: str, old_flag: str, *, default: Any = None,
          required: bool = False) -> Any:
    """Return the value of a renamed flag: the new spelling, else the old one, else the default."""
    if new is not None and old is not None:
        raise OptionError(f"{old_flag} is the old name of {new_flag}; pass only {new_flag}.")
    value = new if new is not None else old
    if value is None:
        if required:
            raise click.UsageError(f"Missing option '{new_flag}'.")
        return default
    return value


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            if ctx.meta.get("pbr_debug"):
                raise
            _echo("pbr-eval: interrupted; outputs from earlier runs were left as they "
                  "were.", err=True)
            ctx.exit(130)
        except Exception as err:  # no traceback reaches a CLI user (--debug shows it)
            if ctx.meta.get("pbr_debug"):
                raise
            _echo(f"pbr-eval: error: {_error_line(err)}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pbr-eval")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """pbr-eval: non-intervention rates and outcome prices for Payment by Results.

    \b
    Examples:
      pbr-eval demo
      pbr-eval estimate data/reoffending.csv --treatment treated \\
          --outcome reoffended --covariates age,sex,prior_offences --json
      pbr-eval run examples/reoffending.toml
    """
    ctx.meta["pbr_debug"] = debug


def _parse_option(text: str, flag: str = "--option") -> tuple[str, Any]:
    """``KEY=VALUE``: the value read as JSON (numbers, true/false, lists, tables), else as text; ``a,b,c`` (not JSON) is a list of names, e.g.

    ``-o exact=sex,offence_type``.
    """
    if "=" not in text:
        raise OptionError(f"`{flag}` must look like KEY=VALUE (e.g. caliper=0.2); got '{text}'.")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise OptionError(f"`{flag}` must look like KEY=VALUE (e.g. caliper=0.2); got '{text}'.")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = [v.strip() for v in raw.split(",")] if "," in raw else raw
    return key, value


def _options(pairs: tuple[str, ...], flag: str = "--option") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in pairs:
        key, value = _parse_option(text, flag)
        if key in out:
            raise OptionError(f"`{flag}` sets '{key}' twice; give each option once.")
        out[key] = value
    return out


def _names(text: str, flag: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise OptionError(f"`{flag}` must list at least one column (comma-separated); got "
                          f"{text!r}.")
    return names


def _pricing_choice_options(f: Any) -> Any:
    """Return the options naming what to price (the names of :func:`pbr_eval.price`).

    Shared by ``pbr-eval price`` and ``pbr-eval workbook``: --outcome, --better,
    --expected-rate and --cost-per-participant.
    """
    for opt in reversed([
        click.option("--outcome", "outcomes", multiple=True,
                     help="Outcome to price (repeatable)."),
        click.option("--better", default="higher", show_default=True,
                     type=click.Choice(["higher", "lower"]),
                     help="'lower' prices the complement of a binary outcome "
                          "(e.g. NOT reoffending)."),
        click.option("--expected-rate", default=None, type=float,
                     help="Rate expected with the programme (default: the observed rate)."),
        click.option("--cost-per-participant", "cost", default=None, type=float,
                     help="Provider cost per participant."),
    ]):
        f = opt(f)
    return f


def _data_options(f: Any) -> Any:
    """Return the options that say how to read DATA and which role each column plays (the names of :class:`pbr_eval.Cohort` and :func:`pbr_eval.io.read_data`)."""
    for opt in reversed([
        click.option("--treatment", required=True,
                     help="0/1 column marking programme participants."),
        click.option("--outcome", "outcomes", required=True, multiple=True,
                     help="Outcome column (repeat for several)."),
        click.option("--covariates", required=True, help="Comma-separated covariate columns."),
        click.option("--unit-id", default=None, help="Unit identifier column."),
        click.option("--cluster", default=None, help="Cluster column (e.g. local authority)."),
        click.option("--period", default=None,
                     help="Period column of panel data (difference-in-differences)."),
        click.option("--first-treated", default=None,
                     help="Column holding the period each unit's programme started (0 or "
                          "empty: never), for a staggered roll-out (--method staggered_did)."),
        click.option("--period-order", default=None,
                     help="Comma-separated periods in time order, for text periods "
                          "(e.g. pre,post)."),
        click.option("--at-period", default=None,
                     help="Analyse only this period of panel data (e.g. 1)."),
        click.option("--outcome-type", "outcome_types", multiple=True,
                     help="NAME=TYPE (binary, count or continuous) to force an outcome's type."),
        click.option("--missing", default="error", show_default=True,
                     type=click.Choice(["error", "drop"]), help="What to do with missing values."),
        click.option("--min-treated", default=DEFAULT_MIN_TREATED, show_default=True, type=int,
                     help="Smallest acceptable treated cohort."),
        click.option("--query", default=None,
                     help="Table name or SELECT statement when DATA is a database URL."),
        click.option("--sheet", default=None,
                     help="Excel sheet to read (name, or number from 0; default the first)."),
        click.option("--sep", default=None,
                     help="CSV separator (default: sniffed; ';' files with decimal commas work)."),
    ]):
        f = opt(f)
    return f


def _roles(treatment: str, outcomes: tuple[str, ...], covariates: str, unit_id: str | None,
           cluster: str | None, period: str | None, period_order: str | None,
           outcome_types: tuple[str, ...], missing: str, min_treated: int,
           first_treated: str | None = None) -> dict[str, Any]:
    """Return the Cohort keyword arguments from the command-line options (API names)."""
    roles: dict[str, Any] = {"treatment": treatment, "outcome": list(outcomes),
                             "covariates": _names(covariates, "--covariates"),
                             "unit_id": unit_id, "cluster": cluster, "period": period,
                             "first_treated": first_treated,
                             "missing": missing, "min_treated": min_treated}
    if period_order is not None:
        roles["period_order"] = _names(period_order, "--period-order")
    if outcome_types:
        roles["outcome_types"] = {k: v for k, v in (_parse_option(t, "--outcome-type")
                                                    for t in outcome_types)}
    return {k: v for k, v in roles.items() if v is not None}


def _role_columns(roles: dict[str, Any]) -> dict[str, list[str]]:
    from pbr_eval.cohort import COLUMN_ROLES

    out: dict[str, list[str]] = {}
    for key in COLUMN_ROLES:
        v = roles.get(key)
        if v is not None:
            out[key] = [v] if isinstance(v, str) else list(v)
    return out


def _sheet_arg(sheet: str | None) -> str | int | None:
    return int(sheet) if sheet is not None and sheet.isdigit() else sheet


def _at_period(value: str | None, frame: Any, period: str | None) -> Any:
    """``--at-period`` text as the period column holds it (1 for a numeric column)."""
    if value is None or period is None or period not in frame.columns:
        return value
    import pandas as pd

    if pd.api.types.is_numeric_dtype(frame[period].dtype):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def _read_for_roles(data: str, roles: dict[str, Any], *, query: str | None, sheet: str | None,
                    sep: str | None) -> Any:
    """Read only the columns the roles name; a misspelt column is named with the option that gave it and the closest names the data have, before any row is read."""
    from pbr_eval.exceptions import MissingColumnError
    from pbr_eval.io import data_columns, missing_columns_message, read_data

    by_role = {f"--{k.replace('_', '-')}": v for k, v in _role_columns(roles).items()}
    cols = list(dict.fromkeys(c for v in by_role.values() for c in v))
    if query is None:
        have = data_columns(data, sheet=_sheet_arg(sheet), sep=sep)
        absent = [c for c in cols if c not in (have or [])]
        if have is not None and absent:
            raise MissingColumnError(missing_columns_message(
                absent, have, f"'{Path(data).name}'", roles=by_role))
    return read_data(data, columns=cols, query=query, sheet=_sheet_arg(sheet), sep=sep)


def _cohort(data: str, roles: dict[str, Any], *, at_period: str | None, query: str | None,
            sheet: str | None, sep: str | None) -> Any:
    import pbr_eval

    frame = _read_for_roles(data, roles, query=query, sheet=sheet, sep=sep)
    cohort = pbr_eval.Cohort(frame, **roles)
    if at_period is not None:
        if roles.get("period") is None:
            raise OptionError("`--at-period` needs `--period` (the column holding the periods).")
        cohort = cohort.at_period(_at_period(at_period, frame, roles.get("period")))
    return cohort


def _distributed_cohort(data: str, roles: dict[str, Any], scheduler: str, *, query: str | None,
                        sheet: str | None, sep: str | None) -> Any:
    """Return a :class:`pbr_eval.DistributedCohort` for ``--scheduler``: Parquet read by Dask, anything else read here first."""
    import pbr_eval

    path = Path(data)
    if query is None and (path.is_dir() or path.suffix.lower() in (".parquet", ".pq")):
        source: Any = path
    else:
        source = _read_for_roles(data, roles, query=query, sheet=sheet, sep=sep)
    return pbr_eval.DistributedCohort(source, scheduler=scheduler, **roles)


def _estimate(cohort: Any, method: str, options: tuple[str, ...], seed: int | None) -> Any:
    """``pbr_eval.estimate`` with ``-o`` options and ``--seed`` (given to estimators that take a seed; a note says when the method does not use one)."""
    import inspect

    import pbr_eval
    from pbr_eval.estimators import ESTIMATORS
    from pbr_eval.options import check_choice

    opts = _options(options)
    if method == "evaluate":  # the design-first default (no random step)
        if seed is not None:
            click.echo("note: 'evaluate' has no random step; --seed is not used.", err=True)
        return pbr_eval.evaluate(cohort, **opts)
    check_choice("method", method, ["evaluate", *sorted(ESTIMATORS)])
    if seed is not None:
        takes_seed = "seed" in inspect.signature(ESTIMATORS[method]).parameters
        if takes_seed and "seed" not in opts:
            opts["seed"] = seed
        elif not takes_seed:
            _echo(f"note: method '{method}' has no random step; --seed is not used.",
                  err=True)
    return pbr_eval.estimate(cohort, method=method, **opts)


@cli.command()
@click.option("--out", "out_dir", default="reports/demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the demo's outputs.")
@click.option("--value-per-outcome", "value", default=None, type=float,
              help="Illustrative value (£) of one person not reoffending.  [default: 5000]")
@_old_flag("--value", "--value-per-outcome", "value", type=float)
def demo(out_dir: str, value: float | None, value_old: float | None) -> None:
    """Run the whole job on the shipped reoffending data.

    Builds a cohort from the shipped (simulated) prison-leavers file,
    estimates the non-intervention rate by propensity-score matching,
    recommends a price per person not reoffending, prints a table and
    writes results.json, summary.md, the pilot report (pilot.html,
    pilot.md), the tariff report (tariff.html) and the workbook
    (workbook.xlsx).

    \b
    Example:
      pbr-eval demo --out reports/demo
    """
    from pbr_eval.demo import run_demo

    value = _pick(value, value_old, "--value-per-outcome", "--value", default=5000.0)
    text = run_demo(Path(out_dir), value_per_outcome=value)
    _echo(text)


@cli.command()
@click.argument("data")
@_data_options
@click.option("--method", default="evaluate", show_default=True,
              help="'evaluate' (the design-first default: overlap, a headline chosen by a "
                   "stated rule, a panel of checks, fragility warnings; docs/evaluate.md) or an "
                   "estimator name (see docs/matching.md, docs/weighting.md, docs/did.md).")
@click.option("--option", "-o", "options", multiple=True,
              help="Estimator option KEY=VALUE (repeatable), e.g. -o caliper=0.2 "
                   "-o exact=sex,offence_type -o 'caliper={\"age\": 0.5}'.")
@click.option("--seed", default=None, type=int,
              help="Random seed for methods with a random step (record it).")
@click.option("--level", default=DEFAULT_LEVEL, show_default=True, type=float, help="Confidence level.")
@click.option("--balance", "show_balance", is_flag=True,
              help="Also print the covariate balance table (before and after).")
@click.option("--save", "save", default=None, type=click.Path(dir_okay=False),
              help="Also write the full results (JSON) to this file, for `pbr-eval price`.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (estimates and info).")
@click.option("--scheduler", default=None,
              help="Run on Dask: 'local' (a LocalCluster here) or a scheduler address such as "
                   "tcp://10.0.0.5:8786; DATA may then be a folder of Parquet files "
                   "(see docs/distributed.md).")
def estimate(data: str, treatment: str, outcomes: tuple[str, ...], covariates: str,
             unit_id: str | None, cluster: str | None, period: str | None,
             first_treated: str | None, period_order: str | None, at_period: str | None,
             outcome_types: tuple[str, ...],
             missing: str, min_treated: int, query: str | None, sheet: str | None,
             sep: str | None, method: str, options: tuple[str, ...], seed: int | None,
             level: float, show_balance: bool, save: str | None, as_json: bool,
             scheduler: str | None) -> None:
    """Estimate the non-intervention rate from a data file (CSV, Parquet, Excel, Stata, SPSS) or a database query.

    \b
    Examples:
      pbr-eval estimate data/reoffending.csv --treatment treated \\
          --outcome reoffended --outcome reconviction_events \\
          --covariates age,sex,prior_offences,offence_type,sentence_months \\
          --unit-id person_id --method nearest -o caliper=0.2 --seed 1 --json
      pbr-eval estimate data/families.csv --treatment treated --outcome adult_employed \\
          --covariates n_children,lone_parent --unit-id family_id --period period \\
          --method did
    """
    roles = _roles(treatment, outcomes, covariates, unit_id, cluster, period, period_order,
                   outcome_types, missing, min_treated, first_treated)
    if scheduler is not None:
        if method == "evaluate":
            raise OptionError(
                "`--method evaluate` needs the rows in memory; with `--scheduler` name a method "
                "that runs on Dask: ipw, regression, aipw, ipwra, or nearest with -o replace=true.")
        cohort = _distributed_cohort(data, roles, scheduler, query=query, sheet=sheet, sep=sep)
        try:
            res = _estimate(cohort, method, options, seed)
        finally:
            cohort.close()
    else:
        cohort = _cohort(data, roles, at_period=at_period, query=query, sheet=sheet, sep=sep)
        res = _estimate(cohort, method, options, seed)
    if save:
        res.to_json(save, level=level)
    if as_json:
        _echo(res.to_json(level=level))
    else:
        _echo(res.summary(level))
        if show_balance:
            _echo("")
            _echo(_balance_text(res))


@cli.command("evaluate")
@click.argument("data")
@_data_options
@click.option("--option", "-o", "options", multiple=True,
              help="Option KEY=VALUE (repeatable): ratio (comparison people per participant "
                   "for the headline), disagreement (in headline standard errors).")
@click.option("--level", default=0.95, show_default=True, type=float, help="Confidence level.")
@click.option("--balance", "show_balance", is_flag=True,
              help="Also print the headline's covariate balance table.")
@click.option("--save", "save", default=None, type=click.Path(dir_okay=False),
              help="Also write the full results (JSON) to this file, for `pbr-eval price`.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (estimates and info).")
@click.pass_context
def evaluate_command(ctx: click.Context, **kwargs: Any) -> None:
    """Run the design-first evaluation (what `pbr-eval estimate` does by default).

    Assesses overlap, estimates the headline by matching with replacement and
    regression adjustment, checks it against doubly robust, entropy balancing,
    weighting and regression estimates, and prints fragility warnings
    (docs/evaluate.md).

    \b
    Example:
      pbr-eval evaluate data/reoffending.csv --treatment treated --outcome reoffended \\
          --covariates age,sex,prior_offences,offence_type,sentence_months --unit-id person_id
    """
    ctx.invoke(estimate, method="evaluate", seed=None, **kwargs)


#: The balance columns the text view shows (``--json`` gives every column).
_BALANCE_VIEW = ("smd_before", "smd_after", "var_ratio_before", "var_ratio_after",
                 "ecdf_max_before", "ecdf_max_after", "imbalanced_after")


def _balance_text(res: Any) -> str:
    if res.balance is None:
        return f"Method '{res.method}' reports no balance table."
    frame = res.balance.to_frame()
    shown = frame[[c for c in _BALANCE_VIEW if c in frame.columns]]
    return ("Covariate balance (standardised mean difference, variance ratio, largest eCDF "
            "gap; before and after adjustment; |SMD| > 0.1 is flagged):\n"
            + shown.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-"))


@cli.command()
@click.argument("data")
@_data_options
@click.option("--method", default="nearest", show_default=True, help="Estimator name.")
@click.option("--option", "-o", "options", multiple=True,
              help="Estimator option KEY=VALUE (repeatable), e.g. -o caliper=0.2.")
@click.option("--seed", default=None, type=int,
              help="Random seed for methods with a random step (record it).")
@click.option("--json", "as_json", is_flag=True, help="Print the balance table as JSON.")
def balance(data: str, treatment: str, outcomes: tuple[str, ...], covariates: str,
            unit_id: str | None, cluster: str | None, period: str | None,
            first_treated: str | None, period_order: str | None, at_period: str | None,
            outcome_types: tuple[str, ...],
            missing: str, min_treated: int, query: str | None, sheet: str | None,
            sep: str | None, method: str, options: tuple[str, ...], seed: int | None,
            as_json: bool) -> None:
    """Show covariate balance (standardised mean differences, variance ratios) before and after matching or weighting: the check to make before trusting an estimate.

    \b
    Example:
      pbr-eval balance data/reoffending.csv --treatment treated --outcome reoffended \\
          --covariates age,sex,prior_offences,offence_type,sentence_months -o caliper=0.2
    """
    roles = _roles(treatment, outcomes, covariates, unit_id, cluster, period, period_order,
                   outcome_types, missing, min_treated, first_treated)
    cohort = _cohort(data, roles, at_period=at_period, query=query, sheet=sheet, sep=sep)
    res = _estimate(cohort, method, options, seed)
    if as_json:
        rows = [] if res.balance is None else res.balance.to_frame().reset_index().to_dict(
            orient="records")
        _echo(json.dumps({"method": res.method, "balance": rows}, indent=2, default=str))
    else:
        _echo(_balance_text(res))


@cli.group()
def claims() -> None:
    """Check Payment-by-Results claims against outcome rules and draw audit samples.

    \b
    Examples:
      pbr-eval claims validate --rules examples/claims/rules.toml \\
          --records examples/claims/records.csv --claims examples/claims/claims.csv \\
          --members examples/claims/members.csv --out reports/claims
      pbr-eval claims sample --claims reports/claims/claims_checked.csv \\
          --tolerance 0.05 --strata authority --seed 1 --out reports/claims/sample.csv
    """


@claims.command("validate")
@click.option("--rules", required=True, type=click.Path(dir_okay=False), help="Rules TOML file.")
@click.option("--records", required=True, type=click.Path(dir_okay=False),
              help="Evidence records: unit_id, measure, date, value.")
@click.option("--claims", "claims_path", required=True, type=click.Path(dir_okay=False),
              help="Claims: claim_id, unit_id, rule, date[, authority].")
@click.option("--members", default=None, type=click.Path(dir_okay=False),
              help="Family members: family, person, role (for rules on children/adults).")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for claims_checked.csv, claims_review.csv, claims_counts.csv.")
@click.option("--duplicate-window-days", type=click.IntRange(min=0), default=None,
              help="A claim for the same unit and rule within this many days of one already "
                   "counted is a duplicate (default: each rule's outcome window; 0: off).")
@click.option("--json", "as_json", is_flag=True, help="Print aggregate counts as JSON.")
def claims_validate(rules: str, records: str, claims_path: str, members: str | None,
                    out_dir: str | None, duplicate_window_days: int | None,
                    as_json: bool) -> None:
    """Mark every claim valid, invalid, unevidenced or duplicate, with the evidence.

    A duplicate (same unit and rule inside the outcome window of a claim already
    counted) is flagged for review and never paid twice.

    \b
    Example:
      pbr-eval claims validate --rules examples/claims/rules.toml \\
          --records examples/claims/records.csv --claims examples/claims/claims.csv \\
          --members examples/claims/members.csv --out reports/claims
    """
    from pbr_eval.claims.validate import validate_files

    res, paths = validate_files(rules, records, claims_path, members=members, out_dir=out_dir,
                                duplicate_window_days=duplicate_window_days)
    if as_json:
        _echo(json.dumps(res.to_dict(), indent=2, default=str))
    else:
        _echo(res.summary())
        for kind, p in paths.items():
            _echo(f"wrote {kind}: {p}")


@claims.command("sample")
@click.option("--claims", "claims_path", required=True, type=click.Path(dir_okay=False),
              help="Claims file (e.g. claims_checked.csv from `claims validate`).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Sample CSV to write.")
@click.option("--n", type=int, default=None, help="Sample size.")
@click.option("--margin", type=float, default=None,
              help="Or: size to estimate the invalid rate to +/- this (e.g. 0.05).")
@click.option("--expected-rate", type=float, default=0.5, show_default=True,
              help="Guess at the invalid rate, used with --margin.")
@click.option("--tolerance", type=float, default=None,
              help="Or: size to show the invalid rate is below this (exact binomial).")
@click.option("--level", type=float, default=DEFAULT_LEVEL, show_default=True)
@click.option("--strata", default=None, help="Column to stratify by (e.g. authority, rule).")
@click.option("--allocation", default="proportional", show_default=True,
              type=click.Choice(["proportional", "equal"]))
@click.option("--status", default="valid", show_default=True,
              help="Sample only claims with this status ('all' for every claim).")
@click.option("--seed", type=int, default=None, help="Random seed (record it!).")
def claims_sample(claims_path: str, out: str, n: int | None, margin: float | None,
                  expected_rate: float, tolerance: float | None, level: float,
                  strata: str | None, allocation: str, status: str, seed: int | None) -> None:
    """Draw a (stratified) random audit sample of claims, with a seed.

    \b
    Example:
      pbr-eval claims sample --claims reports/claims/claims_checked.csv \\
          --tolerance 0.05 --strata authority --seed 1 --out reports/claims/sample.csv
    """
    from pbr_eval.claims.audit import sample_file

    size, sample = sample_file(claims_path, out=out, n=n, margin=margin,
                               expected_rate=expected_rate, tolerance=tolerance, level=level,
                               strata=strata, allocation=allocation,
                               status=None if status == "all" else status, seed=seed)
    _echo(f"sampled {len(sample)} claims (size asked: {size}); wrote {out}")


# --------------------------------------------------------------- issue 7: validate,
# simulate, report, run (reports and analysis files). Long work shows a progress bar on a
# terminal (stderr); scripts read --json on stdout.
def _progress(total: int, label: str) -> Any:
    """Return a rich progress bar on stderr, silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=not console.is_terminal)
    return progress, progress.add_task(label, total=total)


#: The roles a CSV file can be checked with block by block (pbr_eval.filecheck).
_BLOCKWISE_ROLES = {"treatment", "outcome", "covariates", "unit_id", "cluster", "period",
                    "missing", "min_treated", "outcome_types", "period_order", "max_levels"}


@cli.command()
@click.argument("data")
@_data_options
@click.option("--max-memory", default=None,
              help="Refuse (before reading) when checking would need more memory than this, "
                   "e.g. 4GB (default: the memory the machine has free).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(data: str, treatment: str, outcomes: tuple[str, ...], covariates: str,
             unit_id: str | None, cluster: str | None, period: str | None,
             first_treated: str | None, period_order: str | None, at_period: str | None,
             outcome_types: tuple[str, ...],
             missing: str, min_treated: int, query: str | None, sheet: str | None,
             sep: str | None, max_memory: str | None, as_json: bool) -> int:
    """Check a data file (or database query) against the roles; print the problems found.

    Every problem is listed in one run (each on its own line, ``problem:``),
    then data-quality warnings that do not stop an analysis (``warning:``).
    Exit status 0 when the data can be used as they are, 1 when problems were
    found, 2 when the file cannot be read (or would not fit in memory: the
    need is estimated from the file's size and first rows before reading it).
    Only the columns the roles name are read; a CSV file is checked in blocks
    of rows, in memory well below the file's size (pbr_eval.filecheck).
    DATA may also be an analysis file (.toml): it is validated, and so is
    the data it names.

    \b
    Examples:
      pbr-eval validate data/reoffending.csv --treatment treated \\
          --outcome reoffended --covariates age,sex,prior_offences --unit-id person_id
      pbr-eval validate examples/reoffending.toml --treatment x --outcome x --covariates x
    """
    import pbr_eval
    from pbr_eval.io import READERS, check_memory, data_columns, missing_columns_message, read_data

    roles = _roles(treatment, outcomes, covariates, unit_id, cluster, period, period_order,
                   outcome_types, missing, min_treated, first_treated)
    if data.lower().endswith(".toml"):
        from pbr_eval.analysis import load_analysis

        spec = load_analysis(data)
        roles = {k: v for k, v in spec.resolved["roles"].items()}
        at_period = roles.pop("at_period", None)
        data, query = spec.resolved["data"]["source"], spec.resolved["data"]["query"]
    problems: list[str] = []
    by_role = {f"--{k.replace('_', '-')}": v for k, v in _role_columns(roles).items()}
    wanted = list(dict.fromkeys(c for v in by_role.values() for c in v))
    have = None if query is not None else data_columns(data, sheet=_sheet_arg(sheet), sep=sep)
    frame = None
    # a CSV file is checked block by block (bounded memory); other sources are read whole
    blockwise = (have is not None and at_period is None and READERS.get(
        Path(data).suffix.lower()) == "CSV" and set(roles) <= _BLOCKWISE_ROLES)
    if have is not None:
        absent = [c for c in wanted if c not in have]
        if absent:
            problems.append(missing_columns_message(absent, have, f"'{Path(data).name}'",
                                                    roles=by_role))
        present = [c for c in wanted if c in have]
        if blockwise:
            from pbr_eval.filecheck import check_csv, count_rows, estimate_check_memory

            try:
                need = estimate_check_memory(data, present, sep=sep, roles=roles)
            except (OSError, ValueError, ImportError):  # the reading below says what is wrong
                need = None
            check_memory(data, present, limit=max_memory, sep=sep, need=need)
        else:
            check_memory(data, present, limit=max_memory, sep=sep, sheet=_sheet_arg(sheet))
            frame = read_data(data, columns=present, sheet=_sheet_arg(sheet), sep=sep)
    else:
        frame = read_data(data, query=query)
        absent = [c for c in wanted if c not in frame.columns]
        if absent:
            problems.append(missing_columns_message(absent, list(frame.columns), "the query",
                                                    roles=by_role))
    summary: dict[str, Any] = {"rows": 0, "columns": len(have or [])}
    if frame is not None:
        summary.update(rows=int(len(frame)), columns=len(have) if have is not None
                       else int(frame.shape[1]))
    if frame is not None:
        at_period = _at_period(at_period, frame, roles.get("period"))
    flags: list[str] = []
    args = {k: v for k, v in roles.items() if v is not None}
    if absent:  # reported above; check the rest of the roles all the same
        args["outcome"] = [c for c in args["outcome"] if c not in absent]
        args["covariates"] = [c for c in args["covariates"] if c not in absent]
        args = {k: v for k, v in args.items() if not (isinstance(v, str) and v in absent)}
    checked = "treatment" in args and args["outcome"]
    if blockwise:
        rows = None
        if checked:
            found_csv = check_csv(data, sep=sep, **args)
            problems += [str(err) for err in found_csv.errors]
            flags = list(found_csv.warnings)
            rows = found_csv.rows
            summary.update(found_csv.summary)
        summary["rows"] = rows if rows is not None else count_rows(data, present, sep=sep)
    elif checked:
        assert frame is not None
        # every problem in one run: Cohort.check collects instead of stopping at the first
        found = pbr_eval.Cohort.check(frame, **args)
        problems += [str(err) for err in found.errors]
        flags = list(found.warnings)
        cohort = found.cohort
        if cohort is not None and at_period is not None:
            try:
                cohort = cohort.at_period(at_period)
            except PbrEvalError as err:
                problems.append(str(err))
                cohort = None
        if cohort is not None:
            summary.update(n_treated=int(cohort.n_treated), n_comparison=int(cohort.n_comparison),
                           rows_dropped=int(cohort.n_dropped),
                           outcome_types=dict(cohort.outcome_types))
    ok = not problems
    if as_json:
        _echo(json.dumps({"ok": ok, "problems": problems, "warnings": flags,
                               "summary": summary}, indent=2))
    else:
        for p in problems:  # text from the file is cleaned: no control or escape codes
            _echo(f"problem: {_one_line(p)}")
        for w in flags:
            _echo(f"warning: {_one_line(w)}")
        if ok:
            _echo(f"OK: {summary['rows']:,} rows; {summary.get('n_treated', 0):,} treated, "
                  f"{summary.get('n_comparison', 0):,} comparison; "
                  f"{summary.get('rows_dropped', 0):,} rows would be left out.")
    return 0 if ok else 1


@cli.group()
def simulate() -> None:
    """Simulate data with a known true answer (for testing methods and training).

    \b
    Example:
      pbr-eval simulate data reoffending --n-treated 600 --n-comparison 12000 \\
          --seed 1 --out sim.csv
    """


@simulate.command("data")
@click.argument("scenario")
@click.option("--n-treated", default=600, show_default=True, type=int,
              help="Programme participants to simulate.")
@click.option("--n-comparison", default=12000, show_default=True, type=int,
              help="Comparison units to simulate.")
@click.option("--seed", required=True, type=int, help="Random seed (record it).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="CSV file for the simulated data.")
@click.option("--json", "as_json", is_flag=True, help="Print the true values as JSON.")
def simulate_data(scenario: str, n_treated: int, n_comparison: int, seed: int, out: str,
                  as_json: bool) -> None:
    """Write a simulated cohort (CSV) and print its true non-intervention rates.

    SCENARIO is one of the simulators in pbr_eval.datasets (e.g. reoffending,
    families). The same seed gives the same file.

    \b
    Example:
      pbr-eval simulate data families --n-treated 400 --n-comparison 4000 --seed 3 \\
          --out families_sim.csv --json
    """
    from pbr_eval.datasets import SCENARIOS
    from pbr_eval.datasets import simulate as _simulate
    from pbr_eval.options import check_choice

    check_choice("scenario", scenario, SCENARIOS)
    sim = _simulate(scenario, n_treated=n_treated, n_comparison=n_comparison, seed=seed)
    from pbr_eval.io import write_csv

    write_csv(sim.data, out, index=False)
    truth = {str(k): {str(a): (float(b) if isinstance(b, (int, float)) else str(b))
                      for a, b in row.items()} for k, row in sim.truth.to_dict("index").items()}
    if as_json:
        _echo(json.dumps({"file": out, "cohort_args": sim.cohort_args, "truth": truth},
                              indent=2))
    else:
        _echo(f"Wrote {len(sim.data):,} rows to {out} (seed {seed}).")
        _echo(sim.truth.to_string())


#: Fields of a saved estimate row that must be numbers (or null) when present.
_NUMERIC_FIELDS = ("n_treated", "n_comparison", "observed", "non_intervention",
                   "non_intervention_se", "non_intervention_ci_lower",
                   "non_intervention_ci_upper", "effect", "std_error", "ci_lower", "ci_upper",
                   "p_value", "naive_comparison", "n_dropped")


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise OptionError(f"`{what}` file '{path}' does not exist.") from err
    except IsADirectoryError as err:
        raise OptionError(f"`{what}` file '{path}' is a folder; give the JSON file.") from err
    except UnicodeDecodeError as err:
        raise OptionError(f"`{what}` file '{path}' is not UTF-8 text (byte {err.start}); give "
                          "the JSON file pbr_eval wrote.") from err
    except json.JSONDecodeError as err:
        raise OptionError(f"`{what}` file '{path}' is not valid JSON ({err.msg}, line "
                          f"{err.lineno}); "
                          "give the file `pbr-eval estimate --save` or `pbr-eval run` wrote."
                          ) from err


def _bad(path: str, where: str, expected: str, got: Any) -> OptionError:
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    return OptionError(f"`results` file '{path}': {where} must be {expected}; got {shown[:80]}. "
                       "It was edited by hand or is not from pbr_eval: save it again with "
                       "`pbr-eval estimate --save` (or use a `pbr-eval run` folder's "
                       "results.json).")


def _check_results_payload(path: str, payload: Any) -> None:
    """Return the shape of a saved results file, checked before any report or price uses it."""
    from pbr_eval.options import OUTCOME_TYPES

    est = payload.get("estimates")
    if not isinstance(est, list) or not est:
        raise _bad(path, "`estimates`", "a non-empty list of estimate rows", est)
    for i, row in enumerate(est):
        if not isinstance(row, dict):
            raise _bad(path, f"`estimates[{i}]`", "an object (one row per outcome)", row)
        name = row.get("outcome")
        if not isinstance(name, str) or not name.strip():
            raise _bad(path, f"`estimates[{i}].outcome`", "the outcome's name", name)
        if "outcome_type" in row and row["outcome_type"] not in OUTCOME_TYPES:
            raise _bad(path, f"`estimates[{i}].outcome_type`",
                       f"one of {', '.join(map(repr, OUTCOME_TYPES))}", row["outcome_type"])
        for key in _NUMERIC_FIELDS:
            v = row.get(key)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad(path, f"`estimates[{i}].{key}`", "a number or null", v)
            if isinstance(v, float) and math.isinf(v):
                raise _bad(path, f"`estimates[{i}].{key}`", "a finite number or null", v)
        _check_row_ranges(path, i, row)
    for key, kind, expected in (("info", dict, "an object"), ("balance", list, "a list"),
                                ("method", str, "text"), ("prices", dict, "an object")):
        if key in payload and payload[key] is not None and not isinstance(payload[key], kind):
            raise _bad(path, f"`{key}`", expected, payload[key])
    if isinstance(payload.get("balance"), list):
        for i, row in enumerate(payload["balance"]):
            if not isinstance(row, dict):
                raise _bad(path, f"`balance[{i}]`", "an object (one row per covariate)", row)
    level = payload.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, (int, float))
                              or not 0 < level < 1):
        raise _bad(path, "`level`", "a number strictly between 0 and 1", level)


def _check_row_ranges(path: str, i: int, row: dict[str, Any]) -> None:
    """Refuse a saved estimate row whose figures cannot be true (a hand-edited or corrupt file).

    Counts are whole and not negative; a p-value and standard errors lie in
    their ranges; a yes/no outcome's rates lie in [0, 1] and its differences in
    [-1, 1]; each interval holds its estimate (lower <= estimate <= upper).
    """
    def num(key: str) -> float | None:
        v = row.get(key)
        return float(v) if isinstance(v, (int, float)) and v == v else None

    for key in ("n_treated", "n_comparison", "n_dropped"):
        v = num(key)
        if v is not None and (v < 0 or v != int(v)):
            raise _bad(path, f"`estimates[{i}].{key}`", "a whole number, 0 or more", row[key])
    checks: list[tuple[str, float, float, str]] = [
        ("p_value", 0.0, 1.0, "a p-value between 0 and 1"),
        ("std_error", 0.0, math.inf, "a standard error, 0 or more"),
        ("non_intervention_se", 0.0, math.inf, "a standard error, 0 or more")]
    if row.get("outcome_type") == "binary":
        for key in ("observed", "non_intervention", "non_intervention_ci_lower",
                    "non_intervention_ci_upper", "naive_comparison"):
            checks.append((key, 0.0, 1.0, "a rate of a yes/no outcome, between 0 and 1"))
        for key in ("effect", "ci_lower", "ci_upper"):
            checks.append((key, -1.0, 1.0, "a difference of two rates, between -1 and 1"))
    for key, lo, hi, expected in checks:
        v = num(key)
        if v is not None and not lo <= v <= hi:
            raise _bad(path, f"`estimates[{i}].{key}`", expected, row[key])
    for est, lo_key, hi_key in (("non_intervention", "non_intervention_ci_lower",
                                 "non_intervention_ci_upper"),
                                ("effect", "ci_lower", "ci_upper")):
        e, a, b = num(est), num(lo_key), num(hi_key)
        if a is not None and b is not None and a > b:
            raise _bad(path, f"`estimates[{i}].{lo_key}` and `{hi_key}`",
                       "an interval with its lower end first", (row[lo_key], row[hi_key]))
        if e is not None and a is not None and b is not None and not a - 1e-9 <= e <= b + 1e-9:
            raise _bad(path, f"`estimates[{i}].{est}`", f"a value inside its interval "
                       f"[{row[lo_key]}, {row[hi_key]}]", row[est])


def _load_results_json(path: str) -> tuple[dict[str, Any], Any]:
    payload = _read_json(path, "results")
    if not isinstance(payload, dict):
        raise _bad(path, "the file", "a JSON object with `estimates`", payload)
    prices = None
    if "estimates" not in payload:
        prices = payload.get("prices")
        inner = [v for v in payload.values() if isinstance(v, dict) and "estimates" in v]
        if not inner:
            raise OptionError(
                f"`results` file '{path}' holds no 'estimates' list; save them with "
                "`pbr-eval estimate ... --save results.json` or use an analysis run's results.json."
            )
        payload = inner[0]
    else:
        prices = payload.get("prices")
    _check_results_payload(path, payload)
    if prices is not None and not isinstance(prices, dict):
        raise _bad(path, "`prices`", "an object", prices)
    return payload, prices


@cli.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--out", "outs", required=True, multiple=True,
              help="Report file(s) to write: .html, .md or .xlsx (repeatable).")
@click.option("--pricing", default=None, type=click.Path(dir_okay=False),
              help="Saved prices (JSON), if not inside RESULTS.")
@click.option("--kind", default="pilot", show_default=True,
              type=click.Choice(["pilot", "tariff"]),
              help="Evaluator's pilot report or commissioner's tariff report.")
@click.option("--title", default=None, help="Report title.")
@click.option("--level", default=DEFAULT_LEVEL, show_default=True, type=float, help="Confidence level.")
@click.option("--threshold", default=DEFAULT_DISCLOSURE_THRESHOLD, show_default=True, type=int,
              help="Counts below this are suppressed.")
@click.option("--min-cohort", default=DEFAULT_MIN_TREATED, show_default=True, type=int,
              help="Outcomes on fewer programme participants are not published.")
@click.option("--parallel-trends", "pt_restriction", default=None,
              type=click.Choice(["relative_magnitudes", "smoothness"]),
              help="Add how far parallel trends may fail before a difference-in-differences "
                   "effect, and its price, is lost (Rambachan & Roth 2023; results of "
                   "--method staggered_did -o base_period=universal, or did on more than two "
                   "periods).")
@click.option("--bounds", default=None,
              help="With --parallel-trends: comma-separated bounds to try (Mbar for "
                   "relative_magnitudes, M for smoothness; default a grid).")
@click.option("--pt-target", default="first", show_default=True,
              type=click.Choice(["first", "average"]),
              help="With --parallel-trends: the effect in the first period from the start, or "
                   "the average after it.")
@click.option("--value-per-outcome", default=None, type=float,
              help="With --parallel-trends: what one more outcome is worth (£), for the price "
                   "under each bound.")
@click.option("--better", default="higher", show_default=True,
              type=click.Choice(["higher", "lower"]),
              help="With --parallel-trends: whether more of the outcome is better.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="With --parallel-trends: seed of the relative-magnitudes test's draws.")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def report(results: str, outs: tuple[str, ...], pricing: str | None, kind: str,
           title: str | None, level: float, threshold: int, min_cohort: int,
           pt_restriction: str | None, bounds: str | None, pt_target: str,
           value_per_outcome: float | None, better: str, seed: int, as_json: bool) -> None:
    """Write reports from saved results (JSON from `estimate --save` or `run`).

    The format follows each file's suffix. Reports hold aggregates only,
    with counts below --threshold suppressed.

    \b
    Examples:
      pbr-eval estimate data/reoffending.csv --treatment treated --outcome reoffended \\
          --covariates age,sex,prior_offences --save results.json
      pbr-eval report results.json --out pilot.html --out pilot.md --out workbook.xlsx
      pbr-eval report rollout.json --out rollout.html --parallel-trends relative_magnitudes \\
          --pt-target average --value-per-outcome 500
    """
    import pbr_eval

    payload, prices = _load_results_json(results)
    parts: dict[str, Any] = {}
    if pt_restriction is not None:
        from pbr_eval.results.base import Results

        grid = None if bounds is None else [_bound(b) for b in _names(bounds, "--bounds")]
        parts["parallel_trends"] = pbr_eval.parallel_trends(
            Results.from_dict(payload), restriction=pt_restriction, bounds=grid,
            target=pt_target, level=level, value_per_outcome=value_per_outcome, better=better,
            seed=seed)
    elif bounds is not None or value_per_outcome is not None:
        flag = "--bounds" if bounds is not None else "--value-per-outcome"
        raise OptionError(f"`{flag}` belongs to the parallel-trends analysis; add "
                          "--parallel-trends relative_magnitudes (or smoothness), or leave "
                          f"{flag} out.")
    contract = payload.get("contract") or _read_json(results, "results").get("contract")
    if pricing:
        prices = _read_json(pricing, "pricing")
        if not isinstance(prices, dict):
            raise OptionError(f"`pricing` file '{pricing}' must hold a JSON object (from "
                              "`pbr-eval price --json`); got a {type(prices).__name__}.")
        contract = prices.pop("contract", None)
    if isinstance(prices, dict) and contract:
        prices = _tariff_bundle(prices, contract)
    from pbr_eval.io import Staging

    written: list[str] = []
    progress, task = _progress(len(outs), "writing reports")
    # All reports (and a Markdown report's figure folder) are written out of sight and moved
    # into place together at the end: a failure leaves every earlier file as it was.
    with progress, Staging(command="pbr-eval report") as staging:
        for out in outs:
            files = pbr_eval.report(payload, staging.file(out), pricing=prices, kind=kind,
                                    title=title, level=level, threshold=threshold,
                                    min_cohort=min_cohort, **parts)
            written += [str(Path(out).parent / staging.destination(f).relative_to(
                Path(out).absolute().parent)) for f in files]
            progress.advance(task)
    if as_json:
        _echo(json.dumps({"files": written}, indent=2))
    else:
        _echo("Wrote " + ", ".join(written))


def _bound(text: str) -> float:
    """Return one ``--bounds`` value as a number (a clear error naming the option otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"`--bounds` must be numbers separated by commas, e.g. 0.5,1,1.5; "
                          f"got {text!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise OptionError(f"`--bounds` must be numbers of at least 0; got {text!r}.")
    return value


def _tariff_bundle(prices: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    """Return the tariff, payment simulation and cash flow rebuilt from saved prices and the contract they were priced with (``pbr-eval price ... --referrals-per-month``)."""
    from pbr_eval.analysis import commissioner_bundle
    from pbr_eval.results.base import Results

    if not isinstance(contract, dict):
        raise OptionError(f"`contract` in the prices file must be a table of contract values; "
                          f"got {type(contract).__name__}. Write it with `pbr-eval price`.")
    rec = Results.from_dict(prices)
    return commissioner_bundle(rec, **contract)


@cli.command()
@click.argument("analysis", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Output folder (default: the file's [output] folder).")
@click.option("--check", is_flag=True,
              help="Check everything the run would (file, data, cohort, options) and stop.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the estimates, files and provenance as JSON.")
def run(analysis: str, out_dir: str | None, check: bool, as_json: bool) -> None:
    """Run a whole analysis declared in a TOML file; every output goes into one folder.

    The file is validated first (errors name the key and the line). The
    folder receives the estimates, balance and prices (CSV), results.json,
    the reports, a copy of the analysis file and provenance.json. The same
    file run twice gives identical numbers.

    \b
    Examples:
      pbr-eval run examples/reoffending.toml
      pbr-eval run examples/families.toml --out reports/families --json
    """
    from pbr_eval.analysis import check_analysis, load_analysis, run_analysis

    spec = check_analysis(analysis, out=out_dir) if check else load_analysis(analysis)
    if check:
        _echo(json.dumps(spec.resolved, indent=2) if as_json
              else f"OK: {analysis} is a valid analysis file.")
        return
    n_steps = 6 + len(spec.resolved["estimate"]) + len(spec.resolved["report"]["outputs"])
    progress, task = _progress(n_steps, "running")
    with progress:
        def step(msg: str) -> None:
            progress.update(task, description=msg, advance=1)

        result = run_analysis(analysis, out=out_dir, progress=step)
    if as_json:
        _echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _echo(f"Wrote {len(result.files)} files to {result.folder}:")
        for f in result.files:
            _echo(f"  {f.relative_to(result.folder)}")


@cli.command("workbook")
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, help="The .xlsx workbook to write.")
@click.option("--pricing", default=None, type=click.Path(dir_okay=False),
              help="Saved prices (JSON from `pbr-eval price --json`), if not inside RESULTS.")
@click.option("--value-per-outcome", "value", default=None, type=float,
              help="Value of one additional outcome: price afresh with the options below.")
@_pricing_choice_options
@click.option("--attachment-fee", default=None, type=float, help="Per participant.")
@click.option("--cohort-size", default=None, type=int, help="Participants.")
@click.option("--referrals-per-month", default=None, type=int)
@click.option("--months-of-referrals", default=None, type=int)
@click.option("--outcome-lag", default=None, type=int, help="Months from referral to evidence.")
@click.option("--payment-lag", default=None, type=int, help="Months from evidence to payment.")
@click.option("--discount-rate", default=None, type=float, help="A share: 0.035 for 3.5%.")
@click.option("--currency", default="£", show_default=True, help="Currency symbol.")
@click.option("--title", default=None, help="Workbook title.")
def workbook_cmd(results: str, out: str, pricing: str | None, value: float | None,
                 outcomes: tuple[str, ...], better: str, expected_rate: float | None,
                 cost: float | None, attachment_fee: float | None, cohort_size: int | None,
                 referrals_per_month: int | None, months_of_referrals: int | None,
                 outcome_lag: int | None, payment_lag: int | None,
                 discount_rate: float | None, currency: str, title: str | None) -> None:
    """Write the live tariff workbook (inputs, evidence and formulas) from saved results.

    The prices come from RESULTS (a `run` or `demo` results.json), from
    --pricing, or afresh from --value-per-outcome (with --cost-per-participant and
    --attachment-fee, which
    then feed the price, the tariff and the cash flow alike).

    \b
    Example:
      pbr-eval workbook reports/demo/results.json --out tariff.xlsx --value-per-outcome 5000 \\
          --better lower --outcome reoffended --cost-per-participant 300 --attachment-fee 100
    """
    from pbr_eval.pricing import price as _price
    from pbr_eval.reporting.workbook import write_tariff_workbook

    if Path(out).suffix.lower() != ".xlsx" or Path(out).is_dir():
        raise OptionError(f"`--out` must be an .xlsx file to write; got '{out}'"
                          + (", which is a folder." if Path(out).is_dir() else "."))
    payload, prices = _load_results_json(results)
    if pricing:
        prices = _read_json(pricing, "pricing")
    contract = {k: v for k, v in dict(
        cohort_size=cohort_size, cost_per_participant=cost, attachment_fee=attachment_fee,
        referrals_per_month=referrals_per_month, months_of_referrals=months_of_referrals,
        outcome_lag=outcome_lag, payment_lag=payment_lag, discount_rate=discount_rate,
    ).items() if v is not None}
    if value is not None:
        prices = _price(payload, value_per_outcome=value, outcomes=list(outcomes) or None,
                        better=better, expected_rate=expected_rate, cost_per_participant=cost,
                        attachment_fee=attachment_fee or 0.0, cohort_size=cohort_size)
    elif prices is None:
        raise OptionError(
            f"`results` file '{results}' holds no prices; give --value-per-outcome (the value "
            "of one additional outcome) to price it, or --pricing with a file from `pbr-eval price "
            "--json`.")
    path = write_tariff_workbook(payload, out, pricing=prices, title=title,
                                 currency=currency, contract=contract)
    _echo(f"Wrote {path}")


@cli.command("price")
@click.argument("results_json", type=click.Path(exists=True, dir_okay=False))
@click.option("--value-per-outcome", "value", default=None, type=float,
              help="Value (£) of one additional outcome, from a unit-cost source "
                   "(required).")
@_old_flag("--value", "--value-per-outcome", "value", type=float)
@_pricing_choice_options
@_old_flag("--cost", "--cost-per-participant", "cost", type=float)
@click.option("--attachment-fee", default=0.0, show_default=True, type=float,
              help="Paid per participant whatever the outcome (lowers the price per outcome).")
@click.option("--cohort-size", default=None, type=int,
              help="Participants, for totals (default with a contract: referrals per month x "
                   "months of referrals).")
@click.option("--referrals-per-month", default=None, type=int,
              help="Contract: people referred each month (with --months-of-referrals and "
                   "--cost-per-participant, the prices carry the contract, and `pbr-eval "
                   "report` adds the tariff, payment simulation and cash flow).")
@click.option("--months-of-referrals", default=None, type=int, help="Contract: months of referrals.")
@click.option("--outcome-lag", default=12, show_default=True, type=int,
              help="Contract: months from referral until the outcome is evidenced.")
@click.option("--payment-lag", default=3, show_default=True, type=int,
              help="Contract: months from evidence to payment.")
@click.option("--draws", default=2000, show_default=True, type=int,
              help="Contract: simulated cohorts for the payment simulation.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Contract: seed of the payment simulation.")
@click.option("--budget", default=None, type=float, help="Budget for the cohort.")
@click.option("--rule", default="upper", show_default=True,
              type=click.Choice(["upper", "one-sided", "central"]), help="Pricing rule.")
@click.option("--level", default=DEFAULT_LEVEL, show_default=True, type=float, help="Confidence level.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (prices, bands, risks).")
def price_cmd(results_json: str, value: float | None, value_old: float | None,
              outcomes: tuple[str, ...], better: str, expected_rate: float | None,
              cost: float | None, cost_old: float | None, attachment_fee: float,
              cohort_size: int | None, referrals_per_month: int | None,
              months_of_referrals: int | None, outcome_lag: int, payment_lag: int, draws: int,
              seed: int, budget: float | None, rule: str, level: float,
              as_json: bool) -> None:
    """Recommend outcome prices from a results file saved by `pbr-eval estimate --save`.

    With the contract (--cost-per-participant, --referrals-per-month,
    --months-of-referrals and optionally --attachment-fee and the lags), the
    price is set net of the attachment fee, with the provider's break-even
    floor, and --json writes the contract beside the prices, so `pbr-eval
    report --pricing` builds the tariff, payment simulation and cash flow from
    the same values.

    \b
    Examples:
      pbr-eval price results.json --value-per-outcome 5000 --better lower --outcome reoffended --json
      pbr-eval price results.json --value-per-outcome 5000 --better lower --outcome reoffended \\
          --attachment-fee 100 --cost-per-participant 300 --referrals-per-month 50 \\
          --months-of-referrals 12 --outcome-lag 18 --json > prices.json
    """
    from pbr_eval.pricing import price as _price

    value = _pick(value, value_old, "--value-per-outcome", "--value", required=True)
    cost = _pick(cost, cost_old, "--cost-per-participant", "--cost")
    payload, _ = _load_results_json(results_json)
    contract = None
    if referrals_per_month is not None or months_of_referrals is not None:
        missing = [f"--{k}" for k, v in (("referrals-per-month", referrals_per_month),
                                         ("months-of-referrals", months_of_referrals),
                                         ("cost-per-participant", cost)) if v is None]
        if missing:
            raise OptionError(f"A contract needs {', '.join(missing)} too (with "
                              "--referrals-per-month and --months-of-referrals): give them.")
        contract = {"attachment_fee": attachment_fee, "cost_per_participant": cost,
                    "referrals_per_month": referrals_per_month,
                    "months_of_referrals": months_of_referrals, "outcome_lag": outcome_lag,
                    "payment_lag": payment_lag, "draws": draws, "seed": seed}
        from pbr_eval.pricing.inputs import CONTRACT_OPTION_KINDS, option_problems

        for key, message in option_problems(contract, CONTRACT_OPTION_KINDS):
            raise OptionError(f"`--{key.replace('_', '-')}` {message}")
        if cohort_size is None:
            cohort_size = referrals_per_month * months_of_referrals  # type: ignore[operator]
    rec = _price(payload, value_per_outcome=value, outcomes=list(outcomes) or None,
                 better=better, expected_rate=expected_rate, cost_per_participant=cost,
                 attachment_fee=attachment_fee, cohort_size=cohort_size, budget=budget,
                 rule=rule, level=level)
    if as_json:
        out = rec.to_dict()
        if contract is not None:
            out["contract"] = contract
        _echo(json.dumps(out, indent=2))
    else:
        _echo(rec.summary())


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM: clean up staging folders as for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pbr-eval`` console script."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        previous = signal.signal(signal.SIGTERM, _terminate)
    else:
        previous = None
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    try:
        code = cli.main(args=argv, prog_name="pbr-eval", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except click.UsageError as e:  # one line, as every error (the help says the rest)
        cmd = e.ctx.command_path if e.ctx is not None else "pbr-eval"
        _echo(f"pbr-eval: error: {_one_line(e.format_message())} (see `{cmd} --help`)",
              err=True)
        return 2
    except click.ClickException as e:
        _echo(f"pbr-eval: error: {_one_line(e.format_message())}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        _echo("Aborted.", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
