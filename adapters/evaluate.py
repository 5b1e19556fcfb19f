"""``roster evaluate``: how wrong the reach estimates are, measured on the user's own data.

Reads and parses the exports as ``roster enrich`` does (into a temporary folder removed
after; nothing is written), drops repeated keys as it does, then runs the backtest of
``transforms.backtest``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from adapters.config import load_country_aliases, load_rate_card
from adapters.discover import discover_inputs
from adapters.ingest import RunOptions, ingest_file
from schemas.manifest import FileOutcome
from schemas.vocabulary import DuplicateStatus, FileStatus
from transforms.backtest import Evaluation, backtest
from transforms.country import country_lookup
from transforms.dedupe import mark_repeated, repeated_key_rows

__all__ = ["Evaluation", "backtest", "evaluate", "load_rows", "render_table"]


def load_rows(inputs: list[str], options: RunOptions, staging: Path) -> tuple[pl.DataFrame, list]:
    """Parse every export as ``roster enrich`` does and drop repeated keys as it does."""
    outcomes: list[FileOutcome] = [
        o
        for i, (path, label) in enumerate(discover_inputs(inputs))
        for o in ingest_file(path, label, i, options, staging)
    ]
    skipped = [
        {"source_file": o.source_file, "reason": o.reason, "detail": o.detail}
        for o in outcomes
        if o.status != FileStatus.OK
    ]
    staged = [o.staged_path for o in outcomes if o.staged_path and o.staged_rows]
    if not staged:
        return pl.DataFrame(), skipped
    rows = pl.scan_parquet(staged)
    repeated = repeated_key_rows(rows).collect().get_column("_input_order")
    marks = mark_repeated(rows.filter(pl.col("_input_order").is_in(repeated.implode()))).collect()
    dropped = marks.filter(pl.col("_dup_status") != DuplicateStatus.KEPT).get_column("_input_order")
    kept = rows.filter(~pl.col("_input_order").is_in(dropped.implode())).collect()
    return kept.sort("_input_order"), skipped


def evaluate(
    inputs: list[str], options: RunOptions | None = None, rate_card_file: str | None = None
) -> Evaluation:
    """``roster evaluate``: parse the exports as ``roster enrich`` does, then ``backtest``."""
    options = options or RunOptions()
    rate_card = load_rate_card(Path(rate_card_file) if rate_card_file else None)
    with tempfile.TemporaryDirectory(prefix="roster-evaluate-") as tmp:
        rows, skipped = load_rows(inputs, options, Path(tmp))
    countries = country_lookup(load_country_aliases())
    result = backtest(rows, rate_card, countries, options.tier_scheme)
    result.skipped_files = skipped
    return result


def render_table(table: pl.DataFrame) -> list[list[str]]:
    """Rows of text for a printed table (factors with 2 decimals, shares in percent)."""
    out = []
    for r in table.iter_rows(named=True):
        out.append(
            [
                r["platform"],
                r["slice"],
                f"{r['rows']:,}",
                f"{r['typical_error']:.2f}x",
                f"{r['bias']:.2f}x",
                f"{r['within_2x']:.0%}",
                f"{r['band_coverage']:.0%}",
            ]
        )
    return out
