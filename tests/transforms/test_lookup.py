"""Per-distinct-value parsing gives exactly what per-row parsing gives."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.config import load_header_aliases
from transforms.headers import ColumnMapping
from transforms.lookup import by_distinct_values
from transforms.normalise import FileContext, normalise

MESSY = st.one_of(
    st.none(),
    st.sampled_from(
        ["Instagram", " tiktok ", "YOUTUBE", "N/A", "", "-", "myspace", "2024-05-01", "x"]
    ),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(MESSY, max_size=40))
def test_by_distinct_values_equals_the_expression_on_every_row(values: list[str | None]) -> None:
    df = pl.DataFrame({"c": values}, schema={"c": pl.String})

    def expr_of(raw: pl.Expr) -> pl.Expr:
        text = raw.str.strip_chars().str.to_lowercase()
        return pl.struct(upper=text.str.to_uppercase(), missing=text.is_null() | (text == ""))

    direct = df.select(out=expr_of(pl.col("c")))
    looked_up = df.select(out=by_distinct_values("c", df.get_column("c").unique(), expr_of))
    assert looked_up.equals(direct)


def test_normalise_is_the_same_with_and_without_distinct_values() -> None:
    cells = pl.DataFrame(
        {
            "source_row": list(range(2, 10)),
            "c0": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "c1": ["1", "2", "3", "4", "5", "6", "7", "8"],
            "c2": ["Instagram", " TIKTOK", "N/A", None, "myspace", "youtube", "ig", "tiktok"],
            "c3": ["2024-05-01", "2024-05-01", "N/A", None, "bad", "2024-13-01", "", "2024-05-02"],
        }
    )
    mapping = ColumnMapping(
        columns={"handle": "c0", "followers": "c1", "platform": "c2", "snapshot_date": "c3"},
        headers={"c0": "handle", "c1": "followers", "c2": "platform", "c3": "date"},
    )
    lookup = load_header_aliases().platform_lookup()
    base = FileContext("f.csv", "x", dt.date(2024, 1, 1), date_format="%Y-%m-%d")
    per_row = normalise(cells.lazy(), mapping, base, lookup).collect()
    distinct = {c: cells.get_column(c).unique() for c in ("c2", "c3")}
    fast_ctx = FileContext(
        "f.csv", "x", dt.date(2024, 1, 1), date_format="%Y-%m-%d", distinct_values=distinct
    )
    fast = normalise(cells.lazy(), mapping, fast_ctx, lookup).collect()
    assert fast.equals(per_row)
    # and the flags say what a user needs: unknown platform and bad dates are flagged
    assert per_row.get_column("_bad_platform").to_list() == [
        False, False, False, False, True, False, False, False
    ]  # fmt: skip
    assert per_row.get_column("_bad_snapshot_date").to_list() == [
        False, False, False, False, True, True, False, False
    ]  # fmt: skip
