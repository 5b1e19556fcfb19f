"""Merge the deliveries of a snapshot into one row per (platform, creator, snapshot_date).

A *delivery* is one file (named by its path relative to the input root) or one sheet of a
workbook. Several deliveries can describe the same platform and date: a month in two parts,
a corrections file, two agencies' exports. Within one delivery duplicates were already
collapsed (``transforms.dedupe``); across deliveries this module applies ONE rule:

    the later delivery wins: the file loaded by the later run (``delivered_at``); within
    one run the file modified later (``file_modified_at``); then the path that sorts
    later; then the later row.

The losing row is not dropped: it goes to quarantine as ``superseded``, naming the winning
file and row and whether the values differed. ``delivered_at`` of a file loaded again with
the same bytes stays that of its first load, so a --full-refresh gives the same winners.
"""

from __future__ import annotations

import polars as pl

from schemas.reasons import Reason
from schemas.rows import COMPARED_PUBLISHED, ROW_KEY

KEY = ROW_KEY
DELIVERY_ORDER = ("delivered_at", "file_modified_at", "source_file", "source_row")
ROW_ID = "_row"  # a unique row number the caller gives the frame
COMPARED = COMPARED_PUBLISHED


def superseded(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The losing rows of ``rows`` (every delivered row of some snapshot dates, with the
    ``DELIVERY_ORDER`` columns and a unique ``ROW_ID``), with the winner of their key.

    Only keys that more than one row carries are looked at (a window over narrow
    columns); a key delivered once is its own winner."""
    key = list(KEY)
    order = list(DELIVERY_ORDER)
    compared = [c for c in COMPARED if c in rows.collect_schema()]

    def winner(column: str) -> pl.Expr:
        return pl.col(column).sort_by(order).last().over(key)

    return (
        rows.filter(pl.len().over(key) > 1)
        .with_columns(_value_hash=pl.struct(compared).hash(seed=0))
        .with_columns(
            _winner_id=winner(ROW_ID),
            _winner_file=winner("source_file"),
            _winner_row=winner("source_row"),
            _same_values=pl.col("_value_hash") == winner("_value_hash"),
        )
        .filter(pl.col(ROW_ID) != pl.col("_winner_id"))
        .select(
            ROW_ID,
            "source_file",
            "source_row",
            "platform",
            "snapshot_date",
            "handle",
            "_winner_file",
            "_winner_row",
            "_same_values",
        )
    )


def winners(rows: pl.LazyFrame, losers: pl.DataFrame) -> pl.LazyFrame:
    """``rows`` without the losing rows: one row per key."""
    return rows.filter(~pl.col(ROW_ID).is_in(losers.get_column(ROW_ID).implode()))


def superseded_to_quarantine(losers: pl.LazyFrame) -> pl.LazyFrame:
    """Quarantine rows (reason ``superseded``) for the losing rows."""
    return losers.select(
        "source_file",
        "source_row",
        reason=pl.lit(Reason.SUPERSEDED.value),
        column=pl.lit(None, pl.String),
        field=pl.lit("handle"),
        raw_value=pl.col("handle"),
        detail=pl.concat_str(
            pl.lit("the same creator and snapshot is in the later delivery "),
            pl.col("_winner_file"),
            pl.lit(" row "),
            pl.col("_winner_row").cast(pl.String),
            pl.when(pl.col("_same_values"))
            .then(pl.lit(" (same values), which is published"))
            .otherwise(pl.lit(" (other values), which is published instead")),
        ),
        platform="platform",
        snapshot_date="snapshot_date",
    )
