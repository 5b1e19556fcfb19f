"""Identity resolution (transforms.identity): spellings within a platform, people across."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.quality_helpers import D1, D2, D3, frame, rules
from transforms.enrich import creator_key
from transforms.identity import components, creator_identity, people, with_person_key

IDENTITY = rules().identity


def resolve(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = frame(rows).drop("creator_id")
    return creator_identity(df.lazy(), IDENTITY).collect()


def ids_by_handle(out: pl.DataFrame) -> dict[str, str]:
    return dict(out.select("handle", "creator_id").unique().iter_rows())


def key_of(platform: str, handle_norm: str) -> str:
    return pl.select(creator_key(pl.lit(platform), pl.lit(handle_norm))).item()


@pytest.mark.parametrize(
    ("rows", "merged", "evidence"),
    [
        # spaces / case / punctuation: one creator
        (
            [
                {
                    "handle": "Alejo Igoa",
                    "display_name": "Alejo Igoa",
                    "snapshot_date": D1,
                    "followers": 11_000_000,
                },
                {
                    "handle": "AlejoIgoa",
                    "display_name": "Alejo Igoa",
                    "snapshot_date": D2,
                    "followers": 11_500_000,
                },
            ],
            True,
            "spacing_case_punctuation",
        ),
        # a display name used as handle, carried by exactly one other spelling
        (
            [
                {
                    "handle": "AH",
                    "display_name": "AH",
                    "snapshot_date": D1,
                    "followers": 29_600_000,
                },
                {
                    "handle": "AttaHalilintar",
                    "display_name": "AH",
                    "snapshot_date": D2,
                    "followers": 30_100_000,
                },
            ],
            True,
            "display_name_as_handle",
        ),
        # two spellings in the same snapshot are two accounts
        (
            [
                {"handle": "john.doe", "snapshot_date": D1, "followers": 50_000},
                {"handle": "johndoe", "snapshot_date": D1, "followers": 52_000},
            ],
            False,
            "merge_refused",
        ),
        # very different sizes: an impersonator, not a rename
        (
            [
                {"handle": "charlidamelio", "snapshot_date": D1, "followers": 140_000_000},
                {"handle": "charli.damelio", "snapshot_date": D2, "followers": 64_600},
            ],
            False,
            "merge_refused",
        ),
        # unrelated handles stay apart
        (
            [
                {"handle": "alpha", "snapshot_date": D1},
                {"handle": "beta", "snapshot_date": D2},
            ],
            False,
            "single_spelling",
        ),
    ],
)
def test_spellings_within_a_platform(rows: list[dict], merged: bool, evidence: str) -> None:
    out = resolve(rows)
    assert out.height == len(rows)
    assert (out.get_column("creator_id").n_unique() == 1) is merged
    assert set(out.get_column("identity_evidence")) == {evidence}


def test_creator_id_is_the_key_of_the_first_seen_spelling() -> None:
    rows = [
        {"handle": "AlejoIgoa", "snapshot_date": D3, "followers": 12_000_000},
        {"handle": "Alejo Igoa", "snapshot_date": D1, "followers": 11_000_000},
        {"handle": "solo", "snapshot_date": D2},
    ]
    ids = ids_by_handle(resolve(rows))
    assert ids["AlejoIgoa"] == ids["Alejo Igoa"] == key_of("instagram", "alejo igoa")
    assert ids["solo"] == key_of("instagram", "solo")  # unmerged: its creator_key


def test_display_name_carried_by_two_handles_is_not_a_link() -> None:
    rows = [
        {"handle": "Panda", "display_name": "Panda", "snapshot_date": D1},
        {"handle": "pandaofficial", "display_name": "Panda", "snapshot_date": D2},
        {"handle": "panda_tv", "display_name": "Panda", "snapshot_date": D3},
    ]
    out = resolve(rows)
    assert out.get_column("creator_id").n_unique() == 3


def test_a_refused_display_link_keeps_the_spelling_merge() -> None:
    rows = [
        {
            "handle": "Big Show",
            "display_name": "Big Show",
            "snapshot_date": D1,
            "followers": 1_000_000,
        },
        {
            "handle": "BigShow",
            "display_name": "Big Show",
            "snapshot_date": D2,
            "followers": 1_010_000,
        },
        # same display name, other account in the same month as "Big Show": display link refused
        {
            "handle": "bigshowclips",
            "display_name": "Big Show",
            "snapshot_date": D1,
            "followers": 990_000,
        },
    ]
    ids = ids_by_handle(resolve(rows))
    assert ids["Big Show"] == ids["BigShow"] != ids["bigshowclips"]


def test_platforms_never_merge_within_creator_identity() -> None:
    rows = [
        {"platform": "instagram", "handle": "same", "snapshot_date": D1},
        {"platform": "tiktok", "handle": "same", "snapshot_date": D2},
    ]
    assert resolve(rows).get_column("creator_id").n_unique() == 2


def union_find(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)))
        )
    )
)
def test_components_match_union_find(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = case
    got = components(
        pl.Series(range(n), dtype=pl.UInt32),
        pl.DataFrame(edges or None, schema={"a": pl.UInt32, "b": pl.UInt32}, orient="row"),
    )
    assert got.get_column("component").to_list() == union_find(n, edges)


def accounts(rows: list[dict[str, Any]]) -> pl.DataFrame:
    extra = {"email": pl.String} if any("email" in r for r in rows) else {}
    df = frame([{"snapshot_date": D1, **r} for r in rows], **extra)
    return with_person_key(df.lazy(), IDENTITY).collect()


@pytest.mark.parametrize(
    ("rows", "linked", "confidence", "evidence"),
    [
        (
            [
                # two different names shared: handle and display name
                {"platform": "instagram", "handle": "leomessi", "display_name": "Lionel Messi"},
                {"platform": "tiktok", "handle": "leomessi", "display_name": "Lionel Messi"},
            ],
            True,
            "high",
            ["same_display_name", "same_handle"],
        ),
        (
            [
                {"platform": "instagram", "handle": "neymarjr", "display_name": "NJ"},
                {"platform": "tiktok", "handle": "neymarjr", "display_name": "Neymar"},
            ],
            True,
            "medium",
            ["same_handle"],
        ),
        (
            [
                {"platform": "instagram", "handle": "justinbieber", "display_name": "Justin B"},
                {"platform": "youtube", "handle": "kidrauhl", "display_name": "Justin Bieber"},
            ],
            True,
            "low",
            ["handle_matches_display_name"],
        ),
        (
            [
                {"platform": "instagram", "handle": "a1", "email": "Me@Mail.com "},
                {"platform": "tiktok", "handle": "b2", "email": "me@mail.com"},
            ],
            True,
            "high",
            ["same_email"],
        ),
        (
            [
                {"platform": "instagram", "handle": "xy"},  # shorter than min_key_length
                {"platform": "tiktok", "handle": "xy"},
            ],
            False,
            None,
            None,
        ),
        (
            [  # "cooking" is the display name of two TikTok accounts: not unique, no link
                {"platform": "instagram", "handle": "cookingmama", "display_name": "Cooking"},
                {"platform": "tiktok", "handle": "cook1", "display_name": "Cooking"},
                {"platform": "tiktok", "handle": "cook2", "display_name": "Cooking"},
            ],
            False,
            None,
            None,
        ),
    ],
)
def test_person_key_across_platforms(
    rows: list[dict], linked: bool, confidence: str | None, evidence: list[str] | None
) -> None:
    out = accounts(rows)
    first_two = out.head(2)
    assert (first_two.get_column("person_key").n_unique() == 1) is linked
    row = first_two.row(0, named=True)
    assert row["person_confidence"] == confidence
    assert row["person_evidence"] == evidence


def test_a_person_holds_one_account_per_platform() -> None:
    rows = [
        # the Instagram account matches one TikTok account by handle, another by name
        {"platform": "instagram", "handle": "bobcooks", "display_name": "Bob Smith"},
        {"platform": "tiktok", "handle": "bobcooks", "display_name": "Bobby"},
        {"platform": "tiktok", "handle": "bobsmith_fan", "display_name": "Bob Smith"},
    ]
    out = accounts(rows)
    keys = {
        f"{handle}@{platform}": key
        for handle, platform, key in out.select("handle_norm", "platform", "person_key").rows()
    }
    assert keys["bobcooks@instagram"] == keys["bobcooks@tiktok"]  # the handle link survives
    assert keys["bobsmith_fan@tiktok"] != keys["bobcooks@instagram"]


def test_people_totals() -> None:
    rows = [
        {
            "platform": "instagram",
            "handle": "leomessi",
            "display_name": "Leo Messi",
            "followers": 400,
            "est_reach": 40,
            "est_reach_low": 20,
            "est_reach_high": 80,
        },
        {
            "platform": "tiktok",
            "handle": "leomessi",
            "display_name": "Leo Messi",
            "followers": 100,
            "est_reach": 30,
            "est_reach_low": 10,
            "est_reach_high": 50,
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
    df = frame(
        [{"snapshot_date": dt.date(2022, 12, 1), **r} for r in rows],
        est_reach=pl.Int64,
        est_reach_low=pl.Int64,
        est_reach_high=pl.Int64,
    )
    linked = with_person_key(df.lazy(), IDENTITY)
    out = people(linked).collect()
    assert out.height == 2
    messi = out.row(0, named=True)
    assert messi["platforms"] == ["instagram", "tiktok"]
    assert messi["accounts"] == 2
    assert messi["total_followers"] == 500
    assert (
        messi["total_est_reach"],
        messi["total_est_reach_low"],
        messi["total_est_reach_high"],
    ) == (70, 30, 130)
    assert messi["display_name"] == "Leo Messi"
    assert out.row(1, named=True)["person_confidence"] is None
