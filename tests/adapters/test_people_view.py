"""The catalog's people view SQL gives the same rows as transforms.identity.people."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from adapters.people_view import people_view_sql
from tests.quality_helpers import D1, frame, rules
from transforms.identity import creator_identity, people, with_person_key


def test_people_view_matches_the_polars_transform(tmp_path: Path) -> None:
    rows = [
        {
            "platform": "instagram",
            "handle": "selenagomez",
            "display_name": "Selena Gomez",
            "followers": 400,
            "est_reach": 40,
            "est_reach_low": 20,
            "est_reach_high": 80,
        },
        {
            "platform": "tiktok",
            "handle": "selenagomez",
            "display_name": "Selena",
            "followers": 100,
            "est_reach": 30,
            "est_reach_low": 10,
            "est_reach_high": 50,
        },
        {
            "platform": "youtube",
            "handle": "Selena Gomez",
            "display_name": "Selena Gomez",
            "followers": 50,
            "est_reach": 5,
            "est_reach_low": 2,
            "est_reach_high": 9,
        },
        {
            "platform": "youtube",
            "handle": "solo",
            "followers": 7,
            "est_reach": 1,
            "est_reach_low": 1,
            "est_reach_high": 2,
        },
    ]
    ints = {c: pl.Int64 for c in ("est_reach", "est_reach_low", "est_reach_high")}
    df = frame([{"snapshot_date": D1, **r} for r in rows], **ints).drop("creator_id")
    identity = rules().identity
    creators = with_person_key(creator_identity(df.lazy(), identity), identity).collect()
    creators.write_parquet(tmp_path / "creators.parquet")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW creators AS FROM read_parquet('{tmp_path / 'creators.parquet'}')")
    con.execute(people_view_sql())
    got = con.sql("FROM people").pl()
    expected = people(creators.lazy()).collect()
    assert isinstance(got, pl.DataFrame)
    assert got.height == 2 and got.row(0, named=True)["accounts"] == 3
    assert_frame_equal(got, expected, check_dtypes=False)
