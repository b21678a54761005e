"""The ``trialpipe`` command: ``generate`` a synthetic trial, ``run`` the pipeline in-process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from pipelines.settings import ENV_LANDING, ENV_RESTRICTED, ENV_WAREHOUSE

PACKAGE = "trialpipe"  # the distribution whose version `trialpipe --version` prints (assets.common.version)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=PACKAGE, prog_name=PACKAGE)
def main() -> None:
    """Data pipeline of the LDIL2SLE trial (low-dose IL-2 in SLE)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@main.command()
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Landing zone to write."
)
@click.option(
    "--restricted-out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the restricted RANDLIST.csv [default: <out>/../restricted].",
)
@click.option("--sites", default=6, show_default=True, type=click.IntRange(1, 899))
@click.option("--subjects", default=120, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option(
    "--defects",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Fraction of rows given a defect of the contract's 'Bad input' kinds (0 = clean).",
)
@click.option(
    "--data-cut",
    default=None,
    metavar="YYYY-MM-DD",
    help="Last day of data in every site's newest export [default: study/synth.yaml data_cut]. The "
    "trial's calendar stays put: an earlier cut is an interim look (fewer subjects screened, more "
    "mid-study), a later one lets more subjects finish.",
)
def generate(
    out: Path,
    restricted_out: Path | None,
    sites: int,
    subjects: int,
    seed: int,
    defects: float,
    data_cut: str | None,
) -> None:
    """Write a synthetic landing zone per the site export contract (deterministic for a seed)."""
    from synth.generate import DataCutError, generate_trial

    restricted_out = restricted_out or out.resolve().parent / "restricted"
    try:
        summary = generate_trial(
            out, restricted_out, sites=sites, subjects=subjects, seed=seed, defects=defects, data_cut=data_cut
        )
    except DataCutError as exc:
        raise click.BadParameter(str(exc), param_hint="--data-cut") from exc
    click.echo(f"landing zone: {out}\nrestricted list: {restricted_out}")
    for key, value in summary.items():
        click.echo(f"  {key}: {value}")


@main.command()
@click.option(
    "--landing",
    envvar=ENV_LANDING,
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help=f"Landing zone root [env {ENV_LANDING}].",
)
@click.option(
    "--warehouse",
    envvar=ENV_WAREHOUSE,
    required=True,
    type=click.Path(file_okay=False),
    help=f"Warehouse root [env {ENV_WAREHOUSE}].",
)
@click.option(
    "--restricted",
    envvar=ENV_RESTRICTED,
    default=None,
    type=click.Path(file_okay=False),
    help=f"Restricted folder with RANDLIST.csv, for --unblinded only [env {ENV_RESTRICTED}]. Given on "
    "the command line without --unblinded it is an error; from the environment a blinded run ignores "
    "it (never opens it).",
)
@click.option(
    "--unblinded", is_flag=True, default=False, help="Unblinded run (writes <warehouse>/unblinded)."
)
@click.pass_context
def run(ctx: click.Context, landing: str, warehouse: str, restricted: str | None, unblinded: bool) -> None:
    """Materialize the whole asset graph in-process and print what was written."""
    if unblinded and not restricted:
        raise click.UsageError(f"--unblinded needs --restricted DIR (or {ENV_RESTRICTED})")
    if restricted and not unblinded and ctx.get_parameter_source("restricted") == ParameterSource.COMMANDLINE:
        # Asked for on the command line, the restricted folder would be silently dropped: refuse.
        # From the environment it is not an error (operators may export it for every run).
        raise click.UsageError(
            "--restricted is read only by an unblinded run: add --unblinded to unblind, or drop "
            f"--restricted for a blinded run (which never opens the restricted folder; {ENV_RESTRICTED} "
            "in the environment is ignored by a blinded run)"
        )
    from pipelines.resources import resources_for
    from pipelines.run import run_pipeline, summarize, unblinded_problem

    # A blinded run is given no restricted location at all, whatever the environment says.
    resources = resources_for(
        landing=str(Path(landing).resolve()),
        warehouse=str(Path(warehouse).resolve()),
        unblinded=unblinded,
        restricted=str(Path(restricted).resolve()) if unblinded and restricted else None,
    )
    # Before any work: an unblinded run without its randomization list stops here, writing nothing.
    problem = unblinded_problem(resources["warehouse"], resources["restricted"]) if unblinded else None
    if problem:
        click.echo(problem, err=True)
        sys.exit(2)
    outcome = run_pipeline(resources=resources)
    if not outcome.success:
        click.echo(outcome.message, err=True)
        sys.exit(1)
    click.echo(summarize(resources["warehouse"].root))


@main.command("register-sites")
@click.option(
    "--landing",
    envvar=ENV_LANDING,
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help=f"Landing zone root [env {ENV_LANDING}].",
)
def register_sites_command(landing: str) -> None:
    """Register the landing zone's site folders as partitions of the DAGSTER_HOME instance, so the UI
    shows them before the sensor's first tick (``make dev``)."""
    from assets.common.partitions import register_sites, registered_sites
    from assets.ingest.discovery import list_sites
    from pipelines.instance import home_instance

    root = Path(landing).resolve()
    with home_instance() as instance:
        added = register_sites(instance, list_sites(root))
        click.echo(
            f"site partitions: {len(registered_sites(instance))} ({len(added)} new) from {root / 'sites'}"
        )


def _register_export() -> None:
    from assets.exports.cli import export_command

    main.add_command(export_command, name="export")


_register_export()

if __name__ == "__main__":
    main()
