"""``roster inspect``'s terminal view of the reports ``adapters.inspect`` builds."""

from __future__ import annotations

from typing import Any

import polars as pl

from adapters.inspect import SheetReport
from schemas.vocabulary import FileStatus


def print_report(report: SheetReport, console: Any) -> None:
    """The report for a terminal (rich)."""
    from rich.table import Table

    o = report.outcome
    status = "ok" if o.status == FileStatus.OK else f"QUARANTINED WHOLE: {o.reason}"
    console.print(f"[bold]{o.source_file}[/]  {status}")
    console.print(
        f"  format: {report.file_format}; {', '.join(o.notes) or 'no notes'}; header row "
        f"{report.header_row}; {o.rows_read} rows read: {report.would_enrich} would be enriched"
        f", {report.duplicates} duplicates collapsed",
        markup=False,
    )

    def origin(text: str) -> str:
        return "not found" if text == "unknown" else f"from {text}"

    console.print(
        f"  platform: {o.platform or '-'} ({origin(report.platform_from)}); snapshot date: "
        f"{o.snapshot_date or '-'} ({origin(report.date_from)})",
        markup=False,
    )
    if o.detail:
        console.print(f"  {o.detail}", markup=False)
    cols = Table(title="columns", title_justify="left")
    for name in ("field", "header", "number format (values)", "example: raw -> parsed"):
        cols.add_column(name, overflow="fold")
    for c in report.columns:
        forms = ", ".join(f"{k} {v}" for k, v in c.forms.items())
        examples = "; ".join(f"{raw!r} -> {val}" for raw, val in c.examples)
        cols.add_row(c.field, repr(c.header), forms, examples)
    console.print(cols)
    for d in o.decisions:
        console.print(f"  decision: {d}", markup=False)
    if o.unmapped_columns:
        console.print(f"  not used: {', '.join(map(repr, o.unmapped_columns))}", markup=False)
    if report.first_rows.height:
        console.print("  first rows as parsed:")
        with pl.Config(tbl_cols=-1, tbl_width_chars=console.width, tbl_hide_dataframe_shape=True):
            console.print(str(report.first_rows), markup=False)
    if report.problems.height:
        problems = Table(title="a run would quarantine", title_justify="left")
        for name in report.problems.columns:
            problems.add_column(name, overflow="fold")
        for row in report.problems.iter_rows():
            problems.add_row(*("" if v is None else str(v) for v in row))
        console.print(problems)
    console.print()
