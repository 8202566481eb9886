"""Rich progress bars for long CLI work."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kbayes.io.ingest import ImportReport, run_import
from kbayes.io.store import DuckDBStore


def import_with_progress(
    root: Path, store: DuckDBStore, console: Console, force: bool = False
) -> ImportReport:
    """Run :func:`kbayes.io.ingest.run_import` with a progress bar and print the skip report."""
    with Progress(
        TextColumn("[bold]import[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def tick(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=name)

        report = run_import(root, store, force=force, progress=tick)
    print_import_report(report, console)
    return report


def print_import_report(report: ImportReport, console: Console, max_issues: int = 30) -> None:
    rate = report.rows / report.seconds if report.seconds > 0 else 0.0
    console.print(
        f"imported {len(report.files)} files, {report.rows:,} rows in {report.seconds:.1f} s "
        f"({rate:,.0f} rows/s); {len(report.unchanged)} unchanged, {len(report.failed)} failed, "
        f"{len(report.issues)} issues reported (records skipped, or kept with a note)"
    )
    for f, why in report.failed.items():
        console.print(f"[red]failed[/] {f}: {why}")
    for issue in report.issues[:max_issues]:
        console.print(f"[yellow]issue[/] {issue}")
    if len(report.issues) > max_issues:
        console.print(f"... and {len(report.issues) - max_issues} more (table import_issues)")
    for f in report.unclaimed:
        console.print(f"[yellow]no importer[/] for {f}")
