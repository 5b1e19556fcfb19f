"""What ``roster`` prints on a terminal: a run's summary, a plan, a reach backtest (rich
tables; ``roster inspect``'s reports are ``flows.inspect``'s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from flows.terminal import console
from schemas.manifest import Manifest, PlatformTierRows, SkippedFile
from schemas.vocabulary import FileStatus, Tier


def print_summary(manifest: Manifest | dict[str, Any]) -> None:
    """A run's summary: its files, what was skipped or not read, rows by platform and tier,
    quarantine by reason, and the totals."""
    m = manifest if isinstance(manifest, Manifest) else Manifest.model_validate(manifest)
    tables = [
        _files_table(m) if m.files else None,
        _skipped_table(m.skipped_files) if m.skipped_files else None,
        _not_read_table(m.not_read),
        _tiers_table(m.rows_by_platform_tier),
        _reasons_table(m),
    ]
    for table in tables:
        if table is not None:
            console.print(table)
    for f in m.files:
        if f.status != FileStatus.OK:
            console.print(f.detail, markup=False)
    totals = m.totals()
    if m.files:
        console.print(
            f"{len(m.files)} file(s): {totals['rows_read']} rows read"
            f" = {totals['enriched']} enriched + {totals['quarantined']} quarantined"
            f" + {totals['duplicates_collapsed']} duplicates collapsed"
        )
    else:
        console.print("no new file: nothing was enriched")
    if m.skipped_files:
        console.print(
            f"{len(m.skipped_files)} file(s) skipped: already processed (use --full-refresh "
            "to reprocess)"
        )
    for line in m.upgrades:
        console.print(f"upgraded {m.out} (written by an earlier release): {line}", markup=False)
    console.print(f"output: {m.out}  (manifest: runs/{m.run_id}/manifest.json)")


def _files_table(manifest: Manifest) -> Table:
    files = Table(title=f"run {manifest.run_id}: files", show_lines=False)
    for col in ("file", "status", "read", "enriched", "quarantined", "duplicates"):
        files.add_column(
            col, justify="right" if col not in ("file", "status") else "left", overflow="fold"
        )
    for f in manifest.files:
        status = f.status if f.status == FileStatus.OK else f"quarantined: {f.reason}"
        files.add_row(
            f.source_file,
            status,
            str(f.rows_read),
            str(f.enriched),
            str(f.quarantined),
            str(f.duplicates_collapsed),
        )
    return files


def _skipped_table(skipped: list[SkippedFile]) -> Table:
    t = Table(title="skipped: already processed", show_lines=False)
    t.add_column("file", overflow="fold")
    t.add_column("processed by run")
    for f in skipped:
        t.add_row(f.source_file, f.processed_by_run)
    return t


def _not_read_table(not_read: list[SkippedFile]) -> Table | None:
    if not not_read:
        return None
    t = Table(title="not read: not an export", show_lines=False)
    t.add_column("file", overflow="fold")
    t.add_column("why", overflow="fold")
    for f in not_read:
        t.add_row(f.source_file, f.detail or f.reason)
    return t


def _tiers_table(tiers: list[PlatformTierRows]) -> Table | None:
    if not tiers:
        return None
    present = [t for t in Tier.codes() if any(r.tier == t for r in tiers)]
    platforms = sorted({r.platform for r in tiers})
    cell = {(r.platform, r.tier): r.rows for r in tiers}
    t = Table(title="enriched rows by platform and tier", min_width=60)
    t.add_column("platform")
    for tier in [*present, "total"]:
        t.add_column(tier, justify="right")
    for p in platforms:
        counts = [cell.get((p, tier), 0) for tier in present]
        t.add_row(p, *map(str, counts), str(sum(counts)))
    per_tier = [sum(cell.get((p, tier), 0) for p in platforms) for tier in present]
    t.add_row("all", *map(str, per_tier), str(sum(per_tier)), style="bold")
    return t


def _reasons_table(manifest: Manifest) -> Table | None:
    reasons = manifest.quarantine_by_reason
    if not reasons:
        return None
    rows = manifest.quarantined_rows_by_reason
    t = Table(title="quarantine by reason", min_width=60)
    t.add_column("reason")
    t.add_column("cells or files", justify="right")
    t.add_column("input rows", justify="right")
    for reason, n in reasons.items():
        t.add_row(reason, str(n), str(rows.get(reason, "")))
    return t


def print_plan(result: Any, objective: str, csv_path: Path) -> None:
    t = Table(title=f"plan: {result.chosen.height} creator(s)", title_justify="left")
    for name in ("platform", "handle", "tier", "followers", objective, "cost USD", "why"):
        t.add_column(name, overflow="fold", justify="left" if name == "why" else "right")
    for r in result.chosen.iter_rows(named=True):
        t.add_row(
            r["platform"], r["handle"], r["tier"], f"{r['followers']:,}",
            f"{r['value']:,.0f}", f"{r['cost']:,.0f}", r["why"],
        )  # fmt: skip
    console.print(t)
    tot = result.totals
    if tot["creators"]:
        console.print(
            f"total cost ${tot['cost_usd']:,.0f} of ${tot['budget_usd']:,.0f} budget (rate card"
            f" range ${tot['cost_usd_low']:,.0f}-${tot['cost_usd_high']:,.0f}); est. reach "
            f"{tot['reach']:,} (band {tot['reach_low']:,}-{tot['reach_high']:,}); CPM "
            f"${tot['cpm_usd']:,.2f} (${tot['cpm_usd_best']:,.2f}-${tot['cpm_usd_worst']:,.2f})",
            markup=False,
        )
    else:
        console.print("no creator fits: widen the filters or raise the budget", markup=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    console.print(
        f"{result.eligible} of {result.considered} creators eligible; solver: {result.status};"
        f" CSV: {csv_path}",
        markup=False,
    )


def print_backtest(result: Any) -> None:
    from adapters.evaluate import render_table

    held = ", ".join(f"{p} {d}" for p, d in result.held_out.items())
    table = Table(title=f"Reach backtest: observed views hidden for {held}")
    for name in ("platform", "slice", "rows", "typical error", "bias", "within 2x", "80% band"):
        table.add_column(name, justify="left" if name in ("platform", "slice") else "right")
    for row in render_table(result.table):
        table.add_row(*row)
    console.print(table)
    console.print(
        "typical error = exp(median |ln(est/observed)|); bias = exp(median ln(est/observed)),"
        " above 1 = over-estimates;\n80% band = share of observed views inside "
        "est_reach_low..est_reach_high (docs/ESTIMATES.md)",
        markup=False,
    )
