"""Audience-quality rules (transforms.quality): one table-driven case per rule and band, the
combination policy, `unknown` without any signal, and the sourced settings."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.quality_helpers import D1, D2, D3, frame, rules, rules_toml
from transforms.quality import QUALITY_FLAGS, with_quality
from transforms.quality_settings import QualityRules

RULES = rules()


def run(df: pl.DataFrame) -> pl.DataFrame:
    return with_quality(df.lazy(), RULES, by="creator_id").collect()


def one(**row: Any) -> dict[str, Any]:
    return run(frame([row])).row(0, named=True)


@pytest.mark.parametrize(
    ("fields", "quality", "flags"),
    [
        # authentic-to-average engagement ratio: >= 0.75 high, < 0.5 low, else medium
        ({"avg_engagement": 1000.0, "avg_engagement_authentic": 800.0}, "high", []),
        ({"avg_engagement": 1000.0, "avg_engagement_authentic": 750.0}, "high", []),
        (
            {"avg_engagement": 1000.0, "avg_engagement_authentic": 600.0},
            "medium",
            ["low_authentic_engagement"],
        ),
        (
            {"avg_engagement": 1000.0, "avg_engagement_authentic": 400.0},
            "low",
            ["low_authentic_engagement"],
        ),
        # HypeAuditor AQS (1-100): >= 70 high, < 40 low (flagged), else medium
        ({"vendor_quality_score": 85.0}, "high", []),
        ({"vendor_quality_score": 55.0}, "medium", []),
        ({"vendor_quality_score": 25.0}, "low", ["low_vendor_quality_score"]),
        # audience credibility (fraction real): >= 0.75 high, < 0.5 low; flagged below 0.75
        ({"audience_credibility": 0.9}, "high", []),
        ({"audience_credibility": 0.7}, "medium", ["low_audience_credibility"]),
        ({"audience_credibility": 0.3}, "low", ["low_audience_credibility"]),
        # several strong signals: the worst one decides
        (
            {"vendor_quality_score": 85.0, "audience_credibility": 0.6},
            "medium",
            ["low_audience_credibility"],
        ),
    ],
)
def test_strong_rules_band_and_flag(fields: dict, quality: str, flags: list[str]) -> None:
    row = one(**fields)
    assert row["audience_quality"] == quality
    assert row["quality_flags"] == flags


def test_a_creator_without_any_signal_is_unknown_with_null_flags() -> None:
    row = one(followers=12_000)
    assert row["audience_quality"] == "unknown"
    assert row["quality_flags"] is None
    assert row["audience_quality_basis"] is None
    assert row["authentic_engagement_ratio"] is None


def test_optional_vendor_columns_absent_are_not_added() -> None:
    out = run(frame([{}]))
    assert not {"avg_engagement_authentic", "vendor_quality_score", "audience_credibility"} & set(
        out.columns
    )


def peers(n: int, **overrides: Any) -> list[dict[str, Any]]:
    """n ordinary creators of one platform/tier/snapshot with slightly different metrics."""
    return [
        {
            "handle": f"peer{i}",
            "followers": 50_000 + 1_000 * i,
            "engagement_rate": 0.03 * (1 + 0.02 * (i - n / 2)),
            "avg_views": 5_000.0 * (1 + 0.02 * (i - n / 2)),
            **overrides,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("subject", "flag"),
    [
        ({"engagement_rate": 0.6}, "engagement_far_above_peers"),
        ({"engagement_rate": 0.0005}, "engagement_far_below_peers"),
        ({"avg_views": 20.0}, "views_far_below_followers"),
    ],
)
def test_peer_outliers_are_flagged_and_weak(subject: dict, flag: str) -> None:
    rows = [
        *peers(30),
        {
            "handle": "subject",
            "followers": 60_000,
            "engagement_rate": 0.03,
            "avg_views": 5_000.0,
            **subject,
        },
    ]
    out = run(frame(rows))
    flagged = out.filter(pl.col("quality_flags").list.contains(flag))
    assert flagged.get_column("handle").to_list() == ["subject"]
    subject_row = out.filter(pl.col("handle") == "subject").row(0, named=True)
    # one weak flag and no strong signal: medium, on weak rules only
    assert subject_row["audience_quality"] == "medium"
    assert subject_row["audience_quality_basis"] == "weak_rules"
    ordinary = out.filter(pl.col("handle") != "subject")
    assert ordinary.get_column("quality_flags").list.len().sum() == 0
    assert set(ordinary.get_column("audience_quality")) == {"unknown"}


def test_too_few_peers_evaluates_no_peer_rule() -> None:
    rows = [*peers(5), {"handle": "subject", "engagement_rate": 0.9, "avg_views": 1.0}]
    out = run(frame(rows))
    assert out.get_column("quality_flags").null_count() == out.height
    assert set(out.get_column("audience_quality")) == {"unknown"}


def history(n: int, growth: float, dates: tuple = (D1, D2, D3)) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        base = 50_000 + 500 * i
        for k, d in enumerate(dates):
            rows.append(
                {
                    "handle": f"peer{i}",
                    "snapshot_date": d,
                    "followers": int(base * (1 + growth * (1 + 0.005 * i)) ** k),
                }
            )
    return rows


@pytest.mark.parametrize(
    ("subject_followers", "jump"),
    [
        ((50_000, 51_000, 90_000), True),  # +76% in a month after +2%: far beyond
        ((50_000, 51_000, 52_000), False),  # like its peers
        ((50_000, 85_000, 145_000), False),  # grows ~70%/month every month: its usual
        ((50_000, 51_000, 53_500), False),  # beyond peers' spread, but under the 10% floor
    ],
)
def test_follower_jump_needs_tier_and_own_history(
    subject_followers: tuple[int, int, int], jump: bool
) -> None:
    rows = history(30, 0.02) + [
        {"handle": "subject", "snapshot_date": d, "followers": f}
        for d, f in zip((D1, D2, D3), subject_followers, strict=True)
    ]
    out = run(frame(rows)).filter(pl.col("handle") == "subject").sort("snapshot_date")
    flags = out.get_column("quality_flags").to_list()
    assert ("follower_jump" in flags[2]) is jump
    assert "follower_jump" not in (flags[1] or [])


@pytest.mark.parametrize(
    ("strong", "weak_flags", "expected"),
    [
        ({"vendor_quality_score": 90.0}, 0, "high"),
        ({"vendor_quality_score": 90.0}, 1, "medium"),  # one weak flag caps high at medium
        ({"vendor_quality_score": 90.0}, 2, "low"),
        ({"vendor_quality_score": 55.0}, 1, "medium"),
        ({}, 1, "medium"),
        ({}, 2, "low"),
    ],
)
def test_weak_flags_combine_with_strong_bands(strong: dict, weak_flags: int, expected: str) -> None:
    subject: dict[str, Any] = {
        "handle": "subject",
        "followers": 60_000,
        "engagement_rate": 0.03,
        "avg_views": 5_000.0,
        **strong,
    }
    if weak_flags >= 1:
        subject["engagement_rate"] = 0.6
    if weak_flags >= 2:
        subject["avg_views"] = 20.0
    out = run(frame([*peers(30), subject]))
    row = out.filter(pl.col("handle") == "subject").row(0, named=True)
    assert row["audience_quality"] == expected
    assert len(row["quality_flags"]) == weak_flags + 0


def test_every_flag_code_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "QUALITY.md").read_text()
    for code in QUALITY_FLAGS:
        assert f"`{code}`" in doc, code


def test_settings_refuse_an_uncited_threshold() -> None:
    data = rules_toml()
    data["follower_jump"]["source"] = "nist-modified-z,made-up-source"
    with pytest.raises(ValidationError, match="made-up-source"):
        QualityRules.model_validate(data)


def test_settings_refuse_inverted_bands() -> None:
    data = rules_toml()
    data["authentic_ratio"]["low_below"] = 0.9
    with pytest.raises(ValidationError, match="low_below must be <= high_min"):
        QualityRules.model_validate(data)


OPTIONAL = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "engagement_rate": OPTIONAL,
                "avg_views": st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
                "avg_engagement": st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),
                "avg_engagement_authentic": st.one_of(
                    st.none(), st.floats(0, 1e5, allow_nan=False)
                ),
                "vendor_quality_score": st.one_of(st.none(), st.floats(1, 100)),
                "audience_credibility": OPTIONAL,
            }
        ),
        min_size=1,
        max_size=40,
    )
)
def test_quality_invariants(rows: list[dict[str, Any]]) -> None:
    out = run(frame([{"handle": f"c{i}", **r} for i, r in enumerate(rows)]))
    assert out.height == len(rows)
    assert set(out.get_column("audience_quality")) <= {"high", "medium", "low", "unknown"}
    codes = out.get_column("quality_flags").explode().drop_nulls()
    assert set(codes) <= set(QUALITY_FLAGS)
    # never high without a vendor measurement; never unknown with a flag
    weak_only = out.filter(
        pl.col("audience_quality_basis").is_null()
        | (pl.col("audience_quality_basis") == "weak_rules")
    )
    assert "high" not in set(weak_only.get_column("audience_quality"))
    flagged = out.filter(pl.col("quality_flags").list.len() > 0)
    assert "unknown" not in set(flagged.get_column("audience_quality"))
