"""The ``pbr-eval`` command line: thin commands over :mod:`pbr_eval.api`.

Any :class:`~pbr_eval.exceptions.PbrEvalError` prints one line and exits with
status 2 (no traceback unless ``--debug``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pbr_eval._version import __version__
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_MIN_TREATED

__all__ = ["main", "cli"]


#: The start of the one line printed for a failure pbr_eval did not foresee (a bug).
UNEXPECTED = "unexpected internal error"


def _one_line(text: str) -> str:
    from pbr_eval.io import clean_text

    return " ".join(clean_text(text, max_length=2000).split())


def _error_line(err: BaseException) -> str:
    """The one line a CLI user sees for ``err`` (no traceback)."""
    if isinstance(err, PbrEvalError):
        return _one_line(str(err))
    if isinstance(err, MemoryError):
        return ("Not enough memory to finish. Use a smaller file (fewer rows or columns), "
                "close other programs, or run on a machine with more memory.")
    if isinstance(err, UnicodeDecodeError):
        return _one_line(f"A file is not UTF-8 text ({err.reason} at byte {err.start}). Save it "
                         "as UTF-8 (e.g. 'CSV UTF-8' in Excel) and try again.")
    if isinstance(err, OSError):
        name = f" '{err.filename}'" if getattr(err, "filename", None) else ""
        return _one_line(f"Could not read or write{name}: {err.strerror or err}. Check the "
                         "path exists, can be read or written, and the disk is not full.")
    return _one_line(f"{UNEXPECTED} ({type(err).__name__}: {err}). This is a bug in pbr_eval: "
                     "please report it with the output of `pbr-eval --debug ...`.")


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
            click.echo("pbr-eval: interrupted; outputs from earlier runs were left as they "
                       "were.", err=True)
            ctx.exit(130)
        except Exception as err:  # no traceback reaches a CLI user (--debug shows it)
            if ctx.meta.get("pbr_debug"):
                raise
            click.echo(f"pbr-eval: error: {_error_line(err)}", err=True)
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


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise OptionError(f"`--option` must look like KEY=VALUE (e.g. caliper=0.2); got '{text}'.")
    key, raw = text.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


@cli.command()
@click.option("--out", "out_dir", default="reports/demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the demo's outputs.")
@click.option("--value", "value", default=5000.0, show_default=True,
              help="Illustrative value (GBP) of one person not reoffending.")
def demo(out_dir: str, value: float) -> None:
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

    text = run_demo(Path(out_dir), value_per_outcome=value)
    click.echo(text)


@cli.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--treatment", required=True, help="0/1 column marking programme participants.")
@click.option("--outcome", "outcomes", required=True, multiple=True,
              help="Outcome column (repeat for several).")
@click.option("--covariates", required=True, help="Comma-separated covariate columns.")
@click.option("--unit-id", default=None, help="Unit identifier column.")
@click.option("--cluster", default=None, help="Cluster column (e.g. local authority).")
@click.option("--method", default="nearest", show_default=True, help="Estimator name.")
@click.option("--missing", default="error", show_default=True,
              type=click.Choice(["error", "drop"]), help="What to do with missing values.")
@click.option("--min-treated", default=30, show_default=True, type=int,
              help="Smallest acceptable treated cohort.")
@click.option("--option", "-o", "options", multiple=True,
              help="Estimator option KEY=VALUE (repeatable), e.g. -o caliper=0.2.")
@click.option("--level", default=0.95, show_default=True, type=float, help="Confidence level.")
@click.option("--save", "save", default=None, type=click.Path(dir_okay=False),
              help="Also write the full results (JSON) to this file, for `pbr-eval price`.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (estimates and info).")
def estimate(data: str, treatment: str, outcomes: tuple[str, ...], covariates: str,
             unit_id: str | None, cluster: str | None, method: str, missing: str,
             min_treated: int, options: tuple[str, ...], level: float, save: str | None,
             as_json: bool) -> None:
    """Estimate the non-intervention rate from a CSV, Parquet or Excel file.

    \b
    Example:
      pbr-eval estimate data/reoffending.csv --treatment treated \\
          --outcome reoffended --outcome reconviction_events \\
          --covariates age,sex,prior_offences,offence_type,sentence_months \\
          --unit-id person_id --method nearest --json
    """
    import pbr_eval
    from pbr_eval.io import read_data

    covs = [c.strip() for c in covariates.split(",") if c.strip()]
    cols = [treatment, *outcomes, *covs, *(c for c in (unit_id, cluster) if c)]
    frame = read_data(data, columns=list(dict.fromkeys(cols)))
    cohort = pbr_eval.Cohort(frame, treatment=treatment, outcome=list(outcomes), covariates=covs,
                             unit_id=unit_id, cluster=cluster, missing=missing,
                             min_treated=min_treated)
    opts = dict(_parse_option(o) for o in options)
    res = pbr_eval.estimate(cohort, method=method, **opts)
    if save:
        res.to_json(save, level=level)
    if as_json:
        click.echo(res.to_json(level=level))
    else:
        click.echo(res.summary(level))


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
@click.option("--json", "as_json", is_flag=True, help="Print aggregate counts as JSON.")
def claims_validate(rules: str, records: str, claims_path: str, members: str | None,
                    out_dir: str | None, as_json: bool) -> None:
    """Mark every claim valid, invalid or unevidenced, with the evidence.

    \b
    Example:
      pbr-eval claims validate --rules examples/claims/rules.toml \\
          --records examples/claims/records.csv --claims examples/claims/claims.csv \\
          --members examples/claims/members.csv --out reports/claims
    """
    from pbr_eval.claims.validate import validate_files

    res, paths = validate_files(rules, records, claims_path, members=members, out_dir=out_dir)
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2, default=str))
    else:
        click.echo(res.summary())
        for kind, p in paths.items():
            click.echo(f"wrote {kind}: {p}")


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
@click.option("--level", type=float, default=0.95, show_default=True)
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
    click.echo(f"sampled {len(sample)} claims (size asked: {size}); wrote {out}")


# --------------------------------------------------------------- issue 7: validate,
# simulate, report, run (reports and analysis files). Long work shows a progress bar on a
# terminal (stderr); scripts read --json on stdout.
def _progress(total: int, label: str) -> Any:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=not console.is_terminal)
    return progress, progress.add_task(label, total=total)


def _roles_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--treatment", required=True, help="0/1 column marking programme participants."),
        click.option("--outcome", "outcomes", required=True, multiple=True,
                     help="Outcome column (repeat for several)."),
        click.option("--covariates", required=True, help="Comma-separated covariate columns."),
        click.option("--unit-id", default=None, help="Unit identifier column."),
        click.option("--cluster", default=None, help="Cluster column (e.g. local authority)."),
        click.option("--period", default=None, help="Period column of panel data."),
        click.option("--missing", default="error", show_default=True,
                     type=click.Choice(["error", "drop"]), help="What to do with missing values."),
        click.option("--min-treated", default=30, show_default=True, type=int,
                     help="Smallest acceptable treated cohort."),
        click.option("--query", default=None,
                     help="Table name or SELECT statement when DATA is a database URL."),
    ]):
        f = opt(f)
    return f


@cli.command()
@click.argument("data")
@_roles_options
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(data: str, treatment: str, outcomes: tuple[str, ...], covariates: str,
             unit_id: str | None, cluster: str | None, period: str | None, missing: str,
             min_treated: int, query: str | None, as_json: bool) -> int:
    """Check a data file (or database query) against the roles; print the problems found.

    Every problem is listed in one run (each on its own line, ``problem:``),
    then data-quality warnings that do not stop an analysis (``warning:``).
    Exit status 0 when the data can be used as they are, 1 when problems were
    found, 2 when the file cannot be read.
    DATA may also be an analysis file (.toml): it is validated, and so is
    the data it names.

    \b
    Examples:
      pbr-eval validate data/reoffending.csv --treatment treated \\
          --outcome reoffended --covariates age,sex,prior_offences --unit-id person_id
      pbr-eval validate examples/reoffending.toml --treatment x --outcome x --covariates x
    """
    import pbr_eval
    from pbr_eval.io import read_data

    covs = [c.strip() for c in covariates.split(",") if c.strip()]
    roles: dict[str, Any] = {"treatment": treatment, "outcome": list(outcomes),
                             "covariates": covs, "unit_id": unit_id, "cluster": cluster,
                             "period": period, "missing": missing, "min_treated": min_treated}
    at_period = None
    if data.lower().endswith(".toml"):
        from pbr_eval.analysis import load_analysis

        spec = load_analysis(data)
        roles = {k: v for k, v in spec.resolved["roles"].items()}
        at_period = roles.pop("at_period", None)
        data, query = spec.resolved["data"]["source"], spec.resolved["data"]["query"]
    problems: list[str] = []
    frame = read_data(data, query=query)
    wanted = [roles["treatment"], *roles["outcome"], *roles["covariates"],
              *(roles.get(k) for k in ("unit_id", "cluster", "period") if roles.get(k))]
    absent = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if absent:
        problems.append(f"Columns not in the data: {', '.join(map(repr, absent))}; the data "
                        f"have {', '.join(map(repr, list(frame.columns)[:30]))}.")
    summary: dict[str, Any] = {"rows": int(len(frame)), "columns": int(frame.shape[1])}
    flags: list[str] = []
    args = {k: v for k, v in roles.items() if v is not None}
    if absent:  # reported above; check the rest of the roles all the same
        args["outcome"] = [c for c in args["outcome"] if c not in absent]
        args["covariates"] = [c for c in args["covariates"] if c not in absent]
        args = {k: v for k, v in args.items() if not (isinstance(v, str) and v in absent)}
    if "treatment" in args and args["outcome"]:
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
        click.echo(json.dumps({"ok": ok, "problems": problems, "warnings": flags,
                               "summary": summary}, indent=2))
    else:
        for p in problems:
            click.echo(f"problem: {p}")
        for w in flags:
            click.echo(f"warning: {w}")
        if ok:
            click.echo(f"OK: {summary['rows']:,} rows; {summary.get('n_treated', 0):,} treated, "
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
        click.echo(json.dumps({"file": out, "cohort_args": sim.cohort_args, "truth": truth},
                              indent=2))
    else:
        click.echo(f"Wrote {len(sim.data):,} rows to {out} (seed {seed}).")
        click.echo(sim.truth.to_string())


def _load_results_json(path: str) -> tuple[dict[str, Any], Any]:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise OptionError(f"`results` file '{path}' does not exist.") from err
    except json.JSONDecodeError as err:
        raise OptionError(f"`results` file '{path}' is not JSON: {err}.") from err
    prices = None
    if isinstance(payload, dict) and "estimates" not in payload:
        prices = payload.get("prices")
        inner = [v for v in payload.values() if isinstance(v, dict) and "estimates" in v]
        if not inner:
            raise OptionError(
                f"`results` file '{path}' holds no estimates; save them with "
                "`pbr-eval estimate ... --save results.json` or use an analysis run's results.json."
            )
        payload = inner[0]
    elif isinstance(payload, dict):
        prices = payload.get("prices")
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
@click.option("--level", default=0.95, show_default=True, type=float, help="Confidence level.")
@click.option("--threshold", default=DEFAULT_DISCLOSURE_THRESHOLD, show_default=True, type=int,
              help="Counts below this are suppressed.")
@click.option("--min-cohort", default=DEFAULT_MIN_TREATED, show_default=True, type=int,
              help="Outcomes on fewer programme participants are not published.")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def report(results: str, outs: tuple[str, ...], pricing: str | None, kind: str,
           title: str | None, level: float, threshold: int, min_cohort: int,
           as_json: bool) -> None:
    """Write reports from saved results (JSON from `estimate --save` or `run`).

    The format follows each file's suffix. Reports hold aggregates only,
    with counts below --threshold suppressed.

    \b
    Example:
      pbr-eval estimate data/reoffending.csv --treatment treated --outcome reoffended \\
          --covariates age,sex,prior_offences --save results.json
      pbr-eval report results.json --out pilot.html --out pilot.md --out workbook.xlsx
    """
    import pbr_eval

    payload, prices = _load_results_json(results)
    if pricing:
        prices = json.loads(Path(pricing).read_text(encoding="utf-8"))
    from pbr_eval.io import Staging

    written: list[str] = []
    progress, task = _progress(len(outs), "writing reports")
    # All reports (and a Markdown report's figure folder) are written out of sight and moved
    # into place together at the end: a failure leaves every earlier file as it was.
    with progress, Staging(command="pbr-eval report") as staging:
        for out in outs:
            files = pbr_eval.report(payload, staging.file(out), pricing=prices, kind=kind,
                                    title=title, level=level, threshold=threshold,
                                    min_cohort=min_cohort)
            written += [str(Path(out).parent / staging.destination(f).relative_to(
                Path(out).absolute().parent)) for f in files]
            progress.advance(task)
    if as_json:
        click.echo(json.dumps({"files": written}, indent=2))
    else:
        click.echo("Wrote " + ", ".join(written))


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

    spec = check_analysis(analysis) if check else load_analysis(analysis)
    if check:
        click.echo(json.dumps(spec.resolved, indent=2) if as_json
                   else f"OK: {analysis} is a valid analysis file.")
        return
    n_steps = 6 + len(spec.resolved["estimate"]) + len(spec.resolved["report"]["outputs"])
    progress, task = _progress(n_steps, "running")
    with progress:
        def step(msg: str) -> None:
            progress.update(task, description=msg, advance=1)

        result = run_analysis(analysis, out=out_dir, progress=step)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(f"Wrote {len(result.files)} files to {result.folder}:")
        for f in result.files:
            click.echo(f"  {f.relative_to(result.folder)}")


@cli.command("price")
@click.argument("results_json", type=click.Path(exists=True, dir_okay=False))
@click.option("--value", "value", required=True, type=float,
              help="Value (e.g. GBP) of one additional outcome, from a unit-cost source.")
@click.option("--outcome", "outcomes", multiple=True, help="Outcome to price (repeatable).")
@click.option("--better", default="higher", show_default=True,
              type=click.Choice(["higher", "lower"]),
              help="'lower' prices the complement of a binary outcome (e.g. NOT reoffending).")
@click.option("--expected-rate", default=None, type=float,
              help="Rate expected with the programme (default: the observed rate).")
@click.option("--cost", "cost", default=None, type=float, help="Provider cost per participant.")
@click.option("--attachment-fee", default=0.0, show_default=True, type=float)
@click.option("--cohort-size", default=None, type=int, help="Participants, for totals.")
@click.option("--budget", default=None, type=float, help="Budget for the cohort.")
@click.option("--rule", default="upper", show_default=True,
              type=click.Choice(["upper", "one-sided", "central"]), help="Pricing rule.")
@click.option("--level", default=0.95, show_default=True, type=float, help="Confidence level.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (prices, bands, risks).")
def price_cmd(results_json: str, value: float, outcomes: tuple[str, ...], better: str,
              expected_rate: float | None, cost: float | None, attachment_fee: float,
              cohort_size: int | None, budget: float | None, rule: str, level: float,
              as_json: bool) -> None:
    """Recommend outcome prices from a results file saved by `pbr-eval estimate --save`.

    \b
    Example:
      pbr-eval price results.json --value 5000 --better lower --outcome reoffended --json
    """
    from pbr_eval.pricing import price as _price

    try:
        payload = json.loads(Path(results_json).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise OptionError(f"`RESULTS_JSON` must be a JSON file from `pbr-eval estimate --save`; "
                          f"{results_json} is not valid JSON ({err.msg}, line {err.lineno}).") from err
    rec = _price(payload, value_per_outcome=value, outcomes=list(outcomes) or None,
                 better=better, expected_rate=expected_rate, cost_per_participant=cost,
                 attachment_fee=attachment_fee, cohort_size=cohort_size, budget=budget,
                 rule=rule, level=level)
    click.echo(json.dumps(rec.to_dict(), indent=2) if as_json else rec.summary())


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
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
