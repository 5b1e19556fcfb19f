"""Dedupe as a pure transform, on tiny frames: which row is kept, which collapse, which conflict."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.dedupe import VALUE_COLUMNS, mark_repeated, repeated_key_rows

DAY = dt.date(2026, 10, 1)


def _rows(rows: list[tuple[int, str, int, str]]) -> pl.LazyFrame:
    """(input order, handle_norm, followers, display name) on instagram, one snapshot."""
    base = {c: [None] * len(rows) for c in VALUE_COLUMNS}
    base.update(
        _input_order=[r[0] for r in rows],
        handle_norm=[r[1] for r in rows],
        followers=[r[2] for r in rows],
        display_name=[r[3] for r in rows],
        categories=[[] for _ in rows],
        platform=["instagram"] * len(rows),
        snapshot_date=[DAY] * len(rows),
        source_file=["f.csv"] * len(rows),
        source_row=[r[0] + 1 for r in rows],
    )
    return pl.LazyFrame(base, schema_overrides={"categories": pl.List(pl.String)})


def test_only_rows_whose_key_repeats_are_marked() -> None:
    rows = _rows([(1, "a", 10, "A"), (2, "b", 20, "B"), (3, "a", 10, "A"), (4, "c", 5, "C")])
    got = repeated_key_rows(rows).collect().get_column("_input_order").sort().to_list()
    assert got == [1, 3]


def test_first_row_is_kept_same_values_collapse_other_values_conflict() -> None:
    # input order, not position in the frame, decides which row is first
    rows = _rows(
        [
            (5, "a", 10, "Zoë"),  # same values as row 2 (display name in NFD vs NFC)
            (2, "a", 10, "Zoe\u0308"),
            (9, "a", 11, "Zoë"),  # different followers
        ]
    )
    marks = mark_repeated(rows).collect().sort("_input_order")
    assert marks.select("_input_order", "_dup_status", "_kept_row").rows() == [
        (2, "kept", 3),
        (5, "duplicate", 3),
        (9, "conflict", 3),
    ]
