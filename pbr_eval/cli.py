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

__all__ = ["main", "cli"]


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PbrEvalError as err:
            if ctx.meta.get("pbr_debug"):
                raise
            click.echo(f"pbr-eval: error: {err}", err=True)
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
    writes results.json and summary.md.

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
    """Mark every claim valid, invalid or unevidenced, with the evidence."""
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
    """Draw a (stratified) random audit sample of claims, with a seed."""
    from pbr_eval.claims.audit import sample_file

    size, sample = sample_file(claims_path, out=out, n=n, margin=margin,
                               expected_rate=expected_rate, tolerance=tolerance, level=level,
                               strata=strata, allocation=allocation,
                               status=None if status == "all" else status, seed=seed)
    click.echo(f"sampled {len(sample)} claims (size asked: {size}); wrote {out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pbr-eval`` console script."""
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
