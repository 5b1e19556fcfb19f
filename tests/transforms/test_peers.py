"""Peer percentiles and follower growth (transforms.peers)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.quality_helpers import D1, D3, frame, rules
from transforms.peers import with_follower_growth, with_peer_percentiles

PEERS = rules().peers  # min_peers 20, min_niche_peers 20


def percentiles(rows: list[dict]) -> pl.DataFrame:
    df = frame(rows, primary_niche=pl.String)
    return with_peer_percentiles(df.lazy(), PEERS, by="creator_id").collect()


def test_mid_rank_percentile_within_platform_and_tier() -> None:
    rows = [{"handle": f"c{i}", "engagement_rate": float(i)} for i in range(1, 21)]
    rows.append({"handle": "other_tier", "tier": "mid", "engagement_rate": 100.0})
    out = percentiles(rows).filter(pl.col("tier") == "micro").sort("engagement_rate")
    expected = [(k - 0.5) / 20 * 100 for k in range(1, 21)]
    assert out.get_column("engagement_percentile").to_list() == pytest.approx(expected)
    assert set(out.get_column("peer_count")) == {20}
    assert set(out.get_column("peer_group")) == {"platform_tier"}


def test_no_percentile_below_min_peers() -> None:
    rows = [{"handle": f"c{i}", "engagement_rate": float(i)} for i in range(19)]
    out = percentiles(rows)
    assert out.get_column("engagement_percentile").null_count() == 19


def test_niche_group_used_when_large_enough() -> None:
    music = [
        {"handle": f"m{i}", "primary_niche": "music_and_audio", "engagement_rate": float(i)}
        for i in range(20)
    ]
    sport = [
        {"handle": f"s{i}", "primary_niche": "sports", "engagement_rate": 100.0 + i}
        for i in range(5)
    ]
    out = percentiles([*music, *sport])
    m = out.filter(pl.col("primary_niche") == "music_and_audio")
    s = out.filter(pl.col("primary_niche") == "sports")
    assert set(m.get_column("peer_group")) == {"platform_tier_niche"}
    assert m.get_column("engagement_percentile").max() == pytest.approx(97.5)
    # 5 sports creators are too few: compared with all 25 of the tier instead
    assert set(s.get_column("peer_group")) == {"platform_tier"}
    assert s.get_column("engagement_percentile").min() == pytest.approx(82.0)


@pytest.mark.parametrize(
    ("dates", "followers", "growth"),
    [
        ((D1, dt.date(2022, 10, 1)), (100, 110), 0.10),
        ((D1, D3), (100, 121), 0.10),  # two months at +10% compounded, per month
        ((D1, D3), (0, 50), None),  # no growth rate from zero followers
    ],
)
def test_follower_growth_per_month(
    dates: tuple[dt.date, dt.date], followers: tuple[int, int], growth: float | None
) -> None:
    rows = [{"snapshot_date": d, "followers": f} for d, f in zip(dates, followers, strict=True)]
    out = with_follower_growth(frame(rows).lazy(), by="creator_id").collect().sort("snapshot_date")
    got = out.get_column("followers_growth_monthly").to_list()
    assert got[0] is None
    if growth is None:
        assert got[1] is None
    else:
        # 30 and 61 days: monthly = ratio ** (30.4375 / days) - 1
        days = (dates[1] - dates[0]).days
        assert got[1] == pytest.approx((followers[1] / followers[0]) ** (30.4375 / days) - 1)
        assert got[1] == pytest.approx(growth, rel=0.05)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=20, max_size=60))
def test_percentiles_are_within_0_100_and_monotone(values: list[float]) -> None:
    rows = [{"handle": f"c{i}", "engagement_rate": v} for i, v in enumerate(values)]
    out = percentiles(rows).sort("engagement_rate")
    pct = out.get_column("engagement_percentile").to_list()
    assert all(0 < p < 100 for p in pct)
    assert pct == sorted(pct)
