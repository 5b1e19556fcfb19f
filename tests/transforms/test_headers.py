"""Header mapping on every real export, and the content rules behind it."""

from __future__ import annotations

import polars as pl
import pytest

from adapters.config import load_country_aliases, load_header_aliases
from adapters.readers import read_export
from tests.conftest import REAL_EXPORTS
from transforms.country import country_lookup, country_share
from transforms.filenames import date_from_name, platform_from_name
from transforms.headers import resolve_columns

COUNTRIES = country_lookup(load_country_aliases())


def _resolve(headers: list[str], sample: pl.DataFrame, **kw):
    return resolve_columns(
        headers,
        sample,
        load_header_aliases(),
        country_share=lambda s: country_share(s, COUNTRIES),
        **kw,
    )


# file -> {field: header as written}; categories joined with " + "
EXPECTED = {
    "instagram_dec_2022.csv": {
        "handle": "name",
        "display_name": "instagram name",
        "followers": "followers",
        "avg_engagement": "Eng. (Avg.)",
        "avg_engagement_authentic": "Eng. (Auth.)",
        "country": "country",
        "categories": "Category_1 + Category_2",
    },
    "instagram_jun_2022.csv": {
        "handle": "instagram name",
        "display_name": "influencer name ",
        "followers": "Subscribers count",
        "avg_likes": "Likes avg",
        "avg_comments": "Comments avg.",
        "country": "Views avg.",
        "categories": "Category_1 + Category_2",
    },
    "instagram_nov_2022.csv": {
        "handle": "Name",
        "display_name": "Instagram Name",
        "followers": "Followers",
        "avg_engagement": "Eng. (Avg.)",
        "avg_engagement_authentic": "Eng. (Auth.)",
        "country": "\nCountry",
        "categories": "Category-1 + Category-2",
    },
    "instagram_sep_2022.csv": {
        "handle": "Instagram name",
        "display_name": " Name",
        "followers": "Subscribers",
        "avg_engagement": "Engagement average Values \n",
        "avg_engagement_authentic": "Authentic engagement Values \n",
        "audience_country": "Audience country",
        "categories": "Category_1 + Category_2",
    },
    "instagram_undated_2022.csv": {
        "handle": "Influencer insta name",
        "display_name": "instagram name",
        "followers": "Followers Numbers ",
        "avg_engagement": "Engagement avg Values \n",
        "avg_engagement_authentic": "Authentic engagement Values \n",
        "audience_country": "Audience country(mostly)",
        "categories": "category_1 + category_2",
    },
    "tiktok_dec_2022.csv": {
        "handle": "Tiktoker name",
        "display_name": "Tiktok name",
        "followers": "followers",
        "avg_views": "views(avg)",
        "avg_likes": "likes(avg.)",
        "avg_comments": "comments(avg.)",
        "avg_shares": "shares(avg.)",
    },
    "tiktok_jun_2022.csv": {
        "handle": "Tiktoker",
        "display_name": "influencer name",
        "followers": "Subscribers count",
        "avg_views": "Views avg.",
        "avg_likes": "Likes avg",
        "avg_comments": "Comments avg.",
        "avg_shares": "Shares avg",
    },
    "tiktok_nov_2022.csv": {
        "handle": "Tiktoker name",
        "display_name": "Tiktok name",
        "followers": "\nFollowers",
        "avg_views": "Views (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_comments": "Comments (Avg.)",
        "avg_shares": "Shares (Avg.)",
    },
    "tiktok_sep_2022.csv": {
        "handle": "Tiktoker name",
        "display_name": "Tiktok name",
        "followers": "Subscribers",
        "avg_views": "Views avg.",
        "avg_likes": "Likes avg.",
        "avg_comments": "Comments avg.",
        "avg_shares": "Shares avg.",
    },
    "tiktok_undated_2022.csv": {
        "handle": "Tiktoker name",
        "display_name": "Tiktok name",
        "followers": "Subscribers count",
        "avg_views": "Views avg.",
        "avg_likes": "Likes avg",
        "avg_comments": "Comments avg.",
        "avg_shares": "Shares avg",
    },
    "youtube_dec_2022.csv": {
        "handle": "Youtube channel",
        "display_name": "youtuber name",
        "followers": "Followers",
        "avg_views": "\nViews (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_comments": "Comments (Avg.)",
        "country": "Country",
        "categories": "Category + Category-2",
    },
    "youtube_jun_2022.csv": {
        "handle": "channel name",
        "display_name": "youTuber",
        "followers": "Subscribers count",
        "avg_views": "Views avg.",
        "avg_likes": "Likes avg",
        "avg_comments": "Comments avg.",
        "country": "Country",
        "categories": "Category + Category_2",
    },
    "youtube_nov_2022.csv": {
        "handle": "Youtube channel",
        "display_name": "youtuber name",
        "followers": "Followers",
        "avg_views": "\nViews (Avg.)",
        "avg_likes": "Likes (Avg.)",
        "avg_comments": "Comments (Avg.)",
        "country": "Country",
        "categories": "Category + Category-2",
    },
    "youtube_sep_2022.csv": {
        "handle": "Youtuber",
        "display_name": "Name",
        "followers": " Subscribers",
        "avg_likes": "Avg. likes",
        "avg_comments": "Avg Comments",
        "country": "Country",
        "categories": "Category_2 + Category_3",
    },
    "youtube_undated_2022.csv": {
        "handle": "youtuber name",
        "display_name": "channel name",
        "followers": "Subscribers",
        "avg_views": "avg views",
        "avg_likes": "avg likes",
        "avg_comments": "avg comments",
        "audience_country": "Audience Country",
        "categories": "Category",
    },
}
# Duplicated headers resolve to the numeric copy: 0-based position of the chosen followers column
NUMERIC_COPY = {
    "instagram_dec_2022.csv": 6,
    "instagram_sep_2022.csv": 4,
    "youtube_sep_2022.csv": 5,
    "tiktok_jun_2022.csv": 3,
}


@pytest.mark.real_exports
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_header_mapping_of_each_real_export(name: str) -> None:
    sheet = read_export(REAL_EXPORTS / name, name)[0]
    data_cols = [c for c in sheet.cells.columns if c.startswith("c") and c[1:].isdigit()]
    mapping = _resolve(sheet.headers, sheet.cells.select(data_cols).head(2000))
    got = {f: mapping.headers[c] for f, c in mapping.columns.items()}
    if mapping.categories:
        got["categories"] = " + ".join(mapping.headers[c] for c in mapping.categories)
    assert got == EXPECTED[name]
    if name in NUMERIC_COPY:
        assert mapping.columns["followers"] == f"c{NUMERIC_COPY[name]}"
    assert {"Rank", "S.no", "s.no", "row-cell"}.isdisjoint(set(mapping.unmapped))


def test_duplicated_header_uses_the_numeric_copy() -> None:
    sample = pl.DataFrame({"c0": ["a", "b"], "c1": ["1.2M", "3K"], "c2": ["1200000", "3000"]})
    m = _resolve(["handle", "Followers", "Followers"], sample)
    assert m.columns["followers"] == "c2"


def test_a_metric_column_holding_text_is_not_used_as_that_metric() -> None:
    sample = pl.DataFrame(
        {"c0": ["a", "b", "c"], "c1": ["10", "20", "30"], "c2": ["Spain", "India", "Brazil"]}
    )
    m = _resolve(["handle", "followers", "avg views"], sample)
    assert "avg_views" not in m.columns
    assert m.columns["country"] == "c2"
    assert any("not used as avg_views" in d for d in m.decisions)


def test_handle_and_display_name_are_decided_by_content() -> None:
    sample = pl.DataFrame(
        {"c0": ["Leo Messi", "Kylie 🤍"], "c1": ["leomessi", "kyliejenner"], "c2": ["1", "2"]}
    )
    m = _resolve(["Name", "Instagram name", "followers"], sample)
    assert (m.columns["handle"], m.columns["display_name"]) == ("c1", "c0")


def test_headers_are_matched_regardless_of_case_spaces_line_breaks_and_word_order() -> None:
    sample = pl.DataFrame({"c0": ["a"], "c1": ["1"], "c2": ["2"], "c3": ["3"]})
    m = _resolve(["  HANDLE ", "\nFollowers ", "Avg. likes", "Likes (Avg.)"], sample)
    assert m.columns["handle"] == "c0"
    assert m.columns["followers"] == "c1"
    assert m.columns["avg_likes"] in ("c2", "c3")


def test_index_columns_are_ignored() -> None:
    sample = pl.DataFrame({"c0": ["1"], "c1": ["2"], "c2": ["3"], "c3": ["a"], "c4": ["10"]})
    m = _resolve(["Rank", "S.no", "row-cell", "handle", "followers"], sample)
    assert set(m.ignored) == {"Rank", "S.no", "row-cell"}
    assert set(m.columns) == {"handle", "followers"}


def test_mapping_file_overrides_win() -> None:
    sample = pl.DataFrame({"c0": ["x"], "c1": ["5"], "c2": ["7"]})
    m = _resolve(
        ["Creator ID thing", "Audience", "Fans (total)"],
        sample,
        overrides={"handle": "Creator ID thing", "followers": "Fans (total)"},
    )
    assert m.columns["handle"] == "c0"
    assert m.columns["followers"] == "c2"


@pytest.mark.parametrize(
    ("name", "platform", "date"),
    [
        ("tiktok_dec_2022.csv", "tiktok", "2022-12-01"),
        ("instagram_jun_2022.csv", "instagram", "2022-06-01"),
        ("youtube_sep_2022.csv", "youtube", "2022-09-01"),
        ("youtube_undated_2022.csv", "youtube", None),
        ("export-2024-03-15.csv", None, "2024-03-15"),
        ("IG creators March 2025.xlsx", "instagram", "2025-03-01"),
        ("twitter_2023_07.csv", "x", "2023-07-01"),
        ("agency_roster_oct_2026.ndjson", None, "2026-10-01"),
        ("roster20250102.csv", None, "2025-01-02"),
    ],
)
def test_platform_and_date_from_file_name(
    name: str, platform: str | None, date: str | None
) -> None:
    lookup = load_header_aliases().platform_lookup()
    assert platform_from_name(name, lookup) == platform
    got = date_from_name(name)
    assert (got.isoformat() if got else None) == date
