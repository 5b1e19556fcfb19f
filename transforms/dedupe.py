"""One row per (platform, handle, snapshot): duplicates collapsed, conflicts quarantined.

Order is explicit (``_input_order`` = file position, then ``source_row``), never the
incidental order of a streaming collect. The first row of a key is kept. A later row with
the same values is a *collapsed duplicate* (counted); a later row with different values
is a *conflict* and goes to quarantine naming the row that was kept.
"""

from __future__ import annotations

import polars as pl

from schemas.reasons import Reason
from schemas.rows import COMPARED_STAGED, ROW_KEY
from schemas.vocabulary import DuplicateStatus

KEY = ROW_KEY
# The handle as written is not compared: "@ABC" and "abc" are the same creator.
VALUE_COLUMNS = COMPARED_STAGED


def repeated_key_rows(lf: pl.LazyFrame, key: tuple[str, ...] = KEY) -> pl.LazyFrame:
    """``_input_order`` of the rows whose (platform, handle, snapshot) key occurs more than
    once: a window over four narrow columns."""
    return (
        lf.select(*key, "_input_order").filter(pl.len().over(list(key)) > 1).select("_input_order")
    )


def mark_repeated(lf: pl.LazyFrame, key_columns: tuple[str, ...] = KEY) -> pl.LazyFrame:
    """For rows that share their key with another row: the first (by ``_input_order``) is
    kept, a later one with the same values is a duplicate, with other values a conflict."""
    key = list(key_columns)
    order = pl.col("_input_order")
    return (
        lf.with_columns(
            _value_hash=pl.struct(
                [
                    pl.col(c).str.normalize("NFC") if c == "display_name" else pl.col(c)
                    for c in VALUE_COLUMNS
                ]
            ).hash(seed=0)
        )
        .with_columns(
            _is_first=order == order.min().over(key),
            _kept_hash=pl.col("_value_hash").sort_by(order).first().over(key),
            _kept_file=pl.col("source_file").sort_by(order).first().over(key),
            _kept_row=pl.col("source_row").sort_by(order).first().over(key),
        )
        .with_columns(
            _dup_status=pl.when(pl.col("_is_first"))
            .then(pl.lit(DuplicateStatus.KEPT.value))
            .when(pl.col("_value_hash") == pl.col("_kept_hash"))
            .then(pl.lit(DuplicateStatus.DUPLICATE.value))
            .otherwise(pl.lit(DuplicateStatus.CONFLICT.value))
        )
        .drop("_value_hash", "_kept_hash", "_is_first")
    )


def conflicts_to_quarantine(marked: pl.LazyFrame) -> pl.LazyFrame:
    return marked.filter(pl.col("_dup_status") == DuplicateStatus.CONFLICT).select(
        "source_file",
        "source_row",
        reason=pl.lit(Reason.DUPLICATE_CONFLICT.value),
        column=pl.lit("handle"),
        field=pl.lit("handle"),
        platform=pl.col("platform"),
        snapshot_date=pl.col("snapshot_date"),
        raw_value=pl.concat_str(
            pl.col("handle"),
            pl.lit(" (same creator and snapshot as "),
            pl.col("_kept_file"),
            pl.lit(" row "),
            pl.col("_kept_row").cast(pl.String),
            pl.lit(", with different values)"),
        ),
    )
