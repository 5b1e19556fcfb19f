"""The merge of deliveries (transforms.merge) on tiny frames: one documented rule decides
which delivery's row is published for a creator and date, and no row is lost."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import merge

DAY = dt.date(2022, 12, 1)
T0 = dt.datetime(2022, 12, 2, 2, 0)
T1 = dt.datetime(2022, 12, 3, 2, 0)


def frame(rows: list[dict]) -> pl.DataFrame:
    base = {
        "platform": "tiktok",
        "handle_norm": "ana",
        "handle": "ana",
        "snapshot_date": DAY,
        "followers": 100,
        "delivered_at": T0,
        "file_modified_at": T0,
        "source_row": 2,
    }
    return pl.DataFrame([{**base, **r} for r in rows]).with_row_index(merge.ROW_ID)


def published(rows: list[dict]) -> tuple[list[tuple[str, int]], pl.DataFrame]:
    df = frame(rows)
    losers = merge.superseded(df.lazy()).collect()
    won = merge.winners(df.lazy(), losers).collect()
    return list(won.select("source_file", "followers").iter_rows()), losers


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        # the file loaded by the later run wins, whatever its modification time or name
        ({"delivered_at": T1, "file_modified_at": T0}, {"file_modified_at": T1}, "a.csv"),
        # in one run: the file modified later
        ({"file_modified_at": T1}, {}, "a.csv"),
        ({}, {"file_modified_at": T1}, "b.csv"),
        # same run, same time: the path that sorts later
        ({}, {}, "b.csv"),
    ],
)
def test_the_later_delivery_wins(first: dict, second: dict, winner: str) -> None:
    won, losers = published(
        [
            {"source_file": "a.csv", "followers": 1, **first},
            {"source_file": "b.csv", "followers": 2, **second},
        ]
    )
    assert [f for f, _ in won] == [winner]
    [lost] = losers.iter_rows(named=True)
    assert lost["_winner_file"] == winner and lost["source_file"] != winner
    assert lost["_same_values"] is False


def test_keys_delivered_once_are_never_superseded() -> None:
    won, losers = published(
        [
            {"source_file": "a.csv", "handle_norm": "ana"},
            {"source_file": "b.csv", "handle_norm": "bob"},
            {"source_file": "b.csv", "handle_norm": "ana", "platform": "instagram"},
            {"source_file": "b.csv", "handle_norm": "ana", "snapshot_date": dt.date(2022, 11, 1)},
        ]
    )
    assert len(won) == 4 and losers.height == 0


def test_superseded_rows_name_the_winner_and_whether_values_differ() -> None:
    df = frame(
        [
            {"source_file": "a.csv", "source_row": 7},
            {"source_file": "b.csv", "source_row": 3, "file_modified_at": T1},
            {"source_file": "c.csv", "source_row": 9, "followers": 5},
        ]
    )
    losers = merge.superseded(df.lazy()).collect()
    q = merge.superseded_to_quarantine(losers.lazy()).collect().sort("source_file")
    assert q.get_column("reason").to_list() == ["superseded", "superseded"]
    assert q.get_column("source_file").to_list() == ["a.csv", "c.csv"]
    details = q.get_column("detail").to_list()
    assert "b.csv row 3 (same values)" in details[0]
    assert "b.csv row 3 (other values)" in details[1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a.csv", "b.csv", "c/a.csv"]),
            st.sampled_from(["ana", "bob", "cy"]),
            st.sampled_from([DAY, dt.date(2022, 11, 1)]),
            st.sampled_from([T0, T1]),
            st.integers(0, 3),
        ),
        max_size=30,
    )
)
def test_every_row_is_published_or_superseded_and_keys_are_unique(rows: list[tuple]) -> None:
    records = [
        {
            "source_file": f,
            "handle_norm": h,
            "handle": h,
            "snapshot_date": d,
            "delivered_at": t,
            "followers": n,
            "source_row": i + 2,
        }
        for i, (f, h, d, t, n) in enumerate(rows)
    ]
    if not records:
        return
    df = frame(records)
    losers = merge.superseded(df.lazy()).collect()
    won = merge.winners(df.lazy(), losers).collect()
    assert won.height + losers.height == df.height
    assert not won.select(*merge.KEY).is_duplicated().any()
    assert won.select(*merge.KEY).unique().height == df.select(*merge.KEY).unique().height
    # each winner is the maximum of its key in the documented order
    order = list(merge.DELIVERY_ORDER)
    best = df.group_by(list(merge.KEY)).agg(pl.col(merge.ROW_ID).sort_by(order).last())
    assert sorted(best.get_column(merge.ROW_ID)) == sorted(won.get_column(merge.ROW_ID))
