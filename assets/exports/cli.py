"""``trialpipe export``: build the submission formats and the DuckDB catalog from an existing
warehouse, without rerunning the pipeline (registered in ``pipelines/cli.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

ENV_WAREHOUSE = "TRIALPIPE_WAREHOUSE"


@click.command("export")
@click.option(
    "--warehouse",
    envvar=ENV_WAREHOUSE,
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help=f"Warehouse root holding blinded/ or unblinded/ [env {ENV_WAREHOUSE}].",
)
@click.option(
    "--unblinded", is_flag=True, default=False, help="Export <warehouse>/unblinded instead of blinded."
)
def export_command(warehouse: str, unblinded: bool) -> None:
    """Write XPT v5, Dataset-JSON 1.1, define.xml (+ qa/define.html) and warehouse.duckdb.

    A value a format cannot hold (text that is not ASCII in XPORT v5, ...) is listed and only that
    dataset's file in that format is not written (derivations.md v2); exits 1 only when define.xml
    has an unresolved reference."""
    from assets.exports.build import FINDINGS_FILE, build_all, not_written

    mode_root = Path(warehouse).resolve() / ("unblinded" if unblinded else "blinded")
    if not (mode_root / "sdtm").is_dir() and not (mode_root / "adam").is_dir():
        raise click.UsageError(f"{mode_root} has no sdtm/ or adam/ folder: run `trialpipe run` first")
    result = build_all(mode_root)
    findings = result["xpt_findings"]
    click.echo(f"Exported {result['datasets']} datasets from {mode_root}")
    click.echo(f"  submission/*/*.xpt     {result['xpt_written']} written")
    click.echo(f"  submission/*/*.json    {result['dataset_json_written']} written")
    click.echo(
        f"  {result['define'].relative_to(mode_root)}  and {result['define_html'].relative_to(mode_root)}"
    )
    click.echo(f"  {result['duckdb'].name}       {result['duckdb_views']} views")
    failed = False
    for missing in not_written(mode_root):
        click.echo(f"  not written: {missing.file} ({missing.reason})")
    if not findings.empty:
        click.echo(f"XPORT v5 cannot hold {len(findings)} values (full list: {FINDINGS_FILE}):")
        for r in findings.head(20).itertuples():
            click.echo(
                f"  {r.FORM}.{r.COLUMN or '(dataset)'} row {r.RECID or '-'}: {r.VALUE!s:.40} ({r.RULE})"
            )
    if result["define_problems"]:
        failed = True
        click.echo("define.xml has unresolved references:", err=True)
        for p in result["define_problems"][:20]:
            click.echo(f"  {p}", err=True)
    if failed:
        sys.exit(1)
