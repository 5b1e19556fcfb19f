"""Quarantine rows as frames: failures of any stage given the one staged quarantine shape
(``schemas.validation.QUARANTINE_COLUMNS``), and the row of a file refused whole."""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.validation import QUARANTINE_COLUMNS


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_COLUMNS)


def quarantine_frame(
    df: pl.DataFrame, platform: str | None, snapshot: dt.date | None
) -> pl.DataFrame:
    """Give failure rows the full quarantine column set."""
    out = df
    for name, dtype in QUARANTINE_COLUMNS.items():
        if name not in out.columns:
            default = {"platform": platform, "snapshot_date": snapshot}.get(name)
            out = out.with_columns(pl.lit(default, dtype=dtype).alias(name))
    return out.select([pl.col(n).cast(t) for n, t in QUARANTINE_COLUMNS.items()])


def whole_file_row(
    source_file: str,
    reason: str,
    detail: str,
    platform: str | None,
    snapshot: dt.date | None,
) -> pl.DataFrame:
    """The quarantine row of a file (or sheet) refused whole: ``source_row`` null."""
    return quarantine_frame(
        pl.DataFrame(
            {
                "source_file": [source_file],
                "source_row": [None],
                "reason": [reason],
                "detail": [detail],
            },
            schema_overrides={"source_row": pl.Int64},
        ),
        platform,
        snapshot,
    )
