"""One row per (platform, handle, snapshot): duplicates collapsed, conflicts quarantined.

Order is explicit (``_input_order`` = file position, then ``source_row``), never the
incidental order of a streaming collect. The first row of a key is kept. A later row with
the same values is a *collapsed duplicate* (counted); a later row with different values
is a *conflict* and goes to quarantine naming the row that was kept.
"""

from __future__ import annotations

import polars as pl

KEY = ("platform", "handle_norm", "snapshot_date")
# The handle as written is not compared: "@ABC" and "abc" are the same creator.
VALUE_COLUMNS = (
    "display_name",
    "followers",
    "avg_views",
    "avg_likes",
    "avg_comments",
    "avg_shares",
    "avg_engagement",
    "engagement_rate_reported",
    "country_raw",
    "categories",
)


def mark_duplicates(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_dup_status`` in {"kept", "duplicate", "conflict"} and ``_kept_file/_kept_row``.

    Keys that occur once (nearly all) take a cheap path; the window logic only runs on
    the rows whose key repeats.
    """
    key = list(KEY)
    repeated = pl.len().over(key) > 1
    lf = lf.with_columns(_repeated=repeated)
    singles = lf.filter(~pl.col("_repeated")).with_columns(
        _kept_file=pl.col("source_file"),
        _kept_row=pl.col("source_row"),
        _dup_status=pl.lit("kept"),
    )
    order = pl.col("_input_order")
    multi = (
        lf.filter(pl.col("_repeated"))
        .with_columns(
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
            .then(pl.lit("kept"))
            .when(pl.col("_value_hash") == pl.col("_kept_hash"))
            .then(pl.lit("duplicate"))
            .otherwise(pl.lit("conflict"))
        )
        .drop("_value_hash", "_kept_hash", "_is_first")
    )
    return pl.concat([singles, multi], how="vertical").drop("_repeated")


def conflicts_to_quarantine(marked: pl.LazyFrame) -> pl.LazyFrame:
    return marked.filter(pl.col("_dup_status") == "conflict").select(
        "source_file",
        "source_row",
        reason=pl.lit("duplicate_conflict"),
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
