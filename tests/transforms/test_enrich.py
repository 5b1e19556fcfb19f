"""Enrichment: tiers per platform and scheme, engagement, reach, cost, identity."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.config import load_country_aliases, load_rate_card
from schemas.models import NORMALISED_COLUMNS
from transforms.country import country_lookup
from transforms.enrich import creator_key, engagement, enrich, with_tier
from transforms.lookup import lookup_row, pick

RATE_CARD = load_rate_card()
PLATFORMS = RATE_CARD.platforms


def _rows(**cols: list) -> pl.LazyFrame:
    n = len(next(iter(cols.values())))
    base = {name: [None] * n for name in NORMALISED_COLUMNS}
    base.update(
        source_file=["f.csv"] * n,
        source_row=list(range(2, n + 2)),
        platform=["instagram"] * n,
        snapshot_date=[dt.date(2026, 10, 1)] * n,
        handle=[f"h{i}" for i in range(n)],
        handle_norm=[f"h{i}" for i in range(n)],
        categories=[[] for _ in range(n)],
    )
    base.update(cols)
    return pl.DataFrame(base, schema=NORMALISED_COLUMNS).lazy()


def _tier(followers: int, platform: str, scheme: str | None = None) -> str:
    lf = _rows(followers=[followers], platform=[platform])
    return with_tier(lf, RATE_CARD.thresholds_frame(scheme)).collect().item(0, "tier")


FOUR_TIER_CASES = [
    (0, "nano"),
    (9_999, "nano"),
    (10_000, "micro"),
    (99_999, "micro"),
    (100_000, "macro"),
    (999_999, "macro"),
    (1_000_000, "mega"),
    (500_000_000, "mega"),
]
FIVE_TIER_CASES = [
    (9_999, "nano"),
    (10_000, "micro"),
    (99_999, "micro"),
    (100_000, "mid"),
    (499_999, "mid"),
    (500_000, "macro"),
    (999_999, "macro"),
    (1_000_000, "mega"),
]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("followers", "tier"), FOUR_TIER_CASES)
def test_default_four_tier_boundaries(platform: str, followers: int, tier: str) -> None:
    assert _tier(followers, platform) == tier


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("followers", "tier"), FIVE_TIER_CASES)
def test_five_tier_scheme_adds_mid(platform: str, followers: int, tier: str) -> None:
    assert _tier(followers, platform, "five_tier") == tier


@pytest.mark.parametrize("scheme", ["four_tier", "five_tier"])
@settings(max_examples=60, deadline=None)
@given(
    followers=st.lists(st.integers(min_value=0, max_value=3_000_000_000), min_size=2, max_size=40),
    platform=st.sampled_from(PLATFORMS),
)
def test_tier_never_decreases_as_followers_grow(
    scheme: str, followers: list[int], platform: str
) -> None:
    order = RATE_CARD.scheme(scheme).tiers
    lf = _rows(followers=sorted(followers), platform=[platform] * len(followers))
    tiers = with_tier(lf, RATE_CARD.thresholds_frame(scheme)).collect().get_column("tier").to_list()
    ranks = [order.index(t) for t in tiers]
    assert ranks == sorted(ranks)


@settings(max_examples=60, deadline=None)
@given(
    followers=st.lists(st.integers(min_value=0, max_value=2_000_000_000), min_size=1, max_size=30),
    views=st.lists(
        st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)), min_size=30, max_size=30
    ),
    platform=st.sampled_from(PLATFORMS),
    scheme=st.sampled_from(["four_tier", "five_tier"]),
)
def test_costs_and_reach_are_non_negative_and_ordered(
    followers: list[int], views: list[float | None], platform: str, scheme: str
) -> None:
    n = len(followers)
    lf = _rows(followers=followers, avg_views=views[:n], platform=[platform] * n)
    out = enrich(
        lf, RATE_CARD, scheme=scheme, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    assert out.select(pl.col("^est_cost_usd_.*$").min()).min_horizontal().item() >= 0
    assert (out["est_cost_usd_low"] <= out["est_cost_usd_mid"]).all()
    assert (out["est_cost_usd_mid"] <= out["est_cost_usd_high"]).all()
    assert (out["est_reach_low"] <= out["est_reach"]).all()
    assert (out["est_reach"] <= out["est_reach_high"]).all()
    assert (out["est_reach"] >= 0).all()


@pytest.mark.parametrize(
    ("platform", "followers", "views", "flag"),
    [
        ("tiktok", 50_000, 20_000.0, None),  # 20k views x $3-25 CPM: inside micro's range
        ("tiktok", 50_000, 5_000_000.0, "cpm_below_cited_range"),  # capped at micro's top
        ("youtube", 35_000_000, 125.0, "cpm_above_cited_range"),  # floored at mega's bottom
        ("instagram", 50_000, None, None),  # benchmark reach x CPM
    ],
)
def test_cost_is_reach_times_the_cited_cpm_inside_the_tier_range(
    platform: str, followers: int, views: float | None, flag: str | None
) -> None:
    lf = _rows(followers=[followers], avg_views=[views], platform=[platform], avg_likes=[100.0])
    row = (
        enrich(
            lf, RATE_CARD, scheme=None, countries=country_lookup(load_country_aliases()), run_id="r"
        )
        .collect()
        .row(0, named=True)
    )
    cpm = next(c for c in RATE_CARD.cpm if c.platform == platform)
    rate = next(r for r in RATE_CARD.rates if r.platform == platform and r.tier == row["tier"])
    for level, usd in (("low", cpm.usd_low), ("mid", cpm.usd_mid), ("high", cpm.usd_high)):
        expected = min(max(row["est_reach"] * usd / 1000, rate.cost_usd_low), rate.cost_usd_high)
        assert row[f"est_cost_usd_{level}"] == pytest.approx(expected)
    assert row["est_cpm_usd"] == pytest.approx(row["est_cost_usd_mid"] / row["est_reach"] * 1000)
    assert row["est_cpe_usd"] == pytest.approx(row["est_cost_usd_mid"] / 100.0)
    inside = cpm.usd_low <= row["est_cpm_usd"] <= cpm.usd_high
    assert row["estimate_flags"] == ([] if flag is None else [flag])
    assert inside == (flag is None)


def test_observed_views_drive_reach_when_present() -> None:
    lf = _rows(followers=[50_000, 50_000], avg_views=[20_000.0, 0.0])
    out = enrich(
        lf, RATE_CARD, scheme=None, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    rm = RATE_CARD.reach_model
    first, zero_views = out.row(0, named=True), out.row(1, named=True)
    assert first["est_reach"] == 20_000
    assert first["est_reach_low"] == round(20_000 * rm.observed_views_low_factor)
    assert first["est_reach_high"] == round(20_000 * rm.observed_views_high_factor)
    assert first["est_reach_method"] == "observed_views"
    assert zero_views["est_reach_method"] == "benchmark"  # 0 views = not measured


@pytest.mark.parametrize(
    ("cols", "rate", "formula"),
    [
        ({"avg_likes": [900.0], "avg_comments": [100.0]}, 0.1, "interactions"),
        ({"avg_likes": [900.0], "avg_comments": [50.0], "avg_shares": [50.0]}, 0.1, "interactions"),
        ({"avg_engagement": [500.0]}, 0.05, "aggregate"),
        ({"engagement_rate_reported": [0.034]}, 0.034, "reported"),
        ({}, None, None),
    ],
)
def test_engagement_rate_formula(cols: dict, rate: float | None, formula: str | None) -> None:
    out = (
        engagement(_rows(followers=[10_000], **cols), RATE_CARD.engagement)
        .collect()
        .row(0, named=True)
    )
    assert out["engagement_formula"] == formula
    assert out["engagement_rate"] == (pytest.approx(rate) if rate is not None else None)


def test_engagement_rate_is_null_for_zero_followers() -> None:
    out = engagement(_rows(followers=[0], avg_likes=[5.0]), RATE_CARD.engagement).collect()
    assert out.item(0, "engagement_rate") is None


def test_creator_key_is_stable_and_platform_scoped() -> None:
    df = pl.DataFrame(
        {"p": ["tiktok", "instagram", "tiktok"], "h": ["mrbeast", "mrbeast", "mrbeast"]}
    )
    keys = df.select(k=creator_key(pl.col("p"), pl.col("h"))).get_column("k").to_list()
    # sha256("tiktok:mrbeast")[:16], computed independently with hashlib
    import hashlib

    assert keys[0] == hashlib.sha256(b"tiktok:mrbeast").hexdigest()[:16]
    assert keys[0] == keys[2] != keys[1]


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("United States", "US"),
        ("Côte d'Ivoire", "CI"),
        ("CÃ´te d'Ivoire", "CI"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Turkey", "TR"),
        ("india", "IN"),
        (" Brazil ", "BR"),
        ("UK", "GB"),
        ("N/A", None),
        ("Narnia", None),
    ],
)
def test_country_to_iso_alpha2(raw: str, iso: str | None) -> None:
    lf = _rows(followers=[1], country_raw=[raw])
    out = enrich(
        lf, RATE_CARD, scheme=None, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    assert out.item(0, "country") == iso


def test_engagement_rate_follows_the_platform_convention() -> None:
    lf = _rows(
        followers=[3_000, 3_000, 3_000],
        avg_views=[100_000.0, None, 100_000.0],
        avg_likes=[9_000.0, 9_000.0, 9_000.0],
        avg_comments=[500.0, 500.0, 500.0],
        avg_shares=[500.0, 500.0, 500.0],
        platform=["tiktok", "tiktok", "instagram"],
    )
    out = engagement(lf, RATE_CARD.engagement).collect()
    # per follower it is 3.33 (TikTok likes come from the For You feed); per view, 10 %
    assert out["engagement_rate_by_followers"].to_list()[:2] == pytest.approx([10_000 / 3_000] * 2)
    assert out["engagement_rate_by_views"].to_list() == [
        pytest.approx(0.1),
        None,
        pytest.approx(0.1),
    ]
    # TikTok: per view (null without views); Instagram: per follower, and over 100% there
    # is impossible: left null and flagged, never averaged in
    assert out["engagement_rate"].to_list() == [pytest.approx(0.1), None, None]
    assert out["engagement_rate_by_followers"].to_list()[2] is None
    assert out["estimate_flags"].to_list() == [[], [], ["engagement_by_followers_over_100pct"]]


@pytest.mark.parametrize(
    ("platform", "views", "likes", "flags", "rate"),
    [
        ("youtube", 1_000.0, 1_500.0, ["engagement_by_views_over_100pct"], None),
        ("youtube", 1_000.0, 50.0, [], 0.05),
        ("youtube", 0.0, 50.0, ["zero_views"], None),
        ("instagram", None, 500.0, [], 0.05),
        ("x", None, 20_000.0, ["engagement_by_followers_over_100pct"], None),
    ],
)
def test_impossible_engagement_is_null_with_a_reason(
    platform: str, views: float | None, likes: float, flags: list[str], rate: float | None
) -> None:
    lf = _rows(followers=[10_000], avg_views=[views], avg_likes=[likes], platform=[platform])
    out = engagement(lf, RATE_CARD.engagement).collect().row(0, named=True)
    assert out["estimate_flags"] == flags
    assert out["engagement_rate"] == (pytest.approx(rate) if rate is not None else None)


def test_lookup_keeps_row_order_and_gives_null_for_unknown_keys() -> None:
    """The rate card and tier bounds are looked up per row, never joined: order is kept."""
    table = pl.DataFrame({"key": ["b", "a", "c"], "value": [20.0, 10.0, 30.0]})
    rows = pl.LazyFrame({"key": ["a", "zz", None, "c", "a", "b"]})
    row = lookup_row(pl.col("key"), table.get_column("key").to_list())
    got = rows.select(value=pick(table.get_column("value"), row)).collect()
    assert got.get_column("value").to_list() == [10.0, None, None, 30.0, 10.0, 20.0]


def test_lookup_refuses_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="not unique"):
        lookup_row(pl.col("key"), ["a", "b", "a"])


def test_unknown_platform_gets_no_tier_and_no_cost() -> None:
    lf = _rows(followers=[50_000, 50_000], platform=["instagram", "myspace"])
    out = enrich(
        lf, RATE_CARD, scheme=None, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    assert out.get_column("tier").to_list() == ["micro", None]
    assert out.get_column("est_cost_usd_mid").to_list()[1] is None


@settings(max_examples=60, deadline=None)
@given(
    views=st.lists(st.floats(min_value=1, max_value=1e10), min_size=2, max_size=30),
    followers=st.integers(min_value=0, max_value=3_000_000_000),
    platform=st.sampled_from(PLATFORMS),
    scheme=st.sampled_from(["four_tier", "five_tier"]),
)
def test_cost_is_monotone_in_reach_and_cpm_is_cited_or_flagged(
    views: list[float], followers: int, platform: str, scheme: str
) -> None:
    views = sorted(views)
    n = len(views)
    lf = _rows(followers=[followers] * n, avg_views=views, platform=[platform] * n)
    out = enrich(
        lf, RATE_CARD, scheme=scheme, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    for level in ("low", "mid", "high"):
        costs = out[f"est_cost_usd_{level}"].to_list()
        assert costs == sorted(costs), level
    cpm = next(c for c in RATE_CARD.cpm if c.platform == platform)
    for row in out.iter_rows(named=True):
        inside = cpm.usd_low * (1 - 1e-9) <= row["est_cpm_usd"] <= cpm.usd_high * (1 + 1e-9)
        flagged = {"cpm_below_cited_range", "cpm_above_cited_range"} & set(row["estimate_flags"])
        assert inside != bool(flagged), row


@pytest.mark.parametrize("scheme", ["four_tier", "five_tier"])
@settings(max_examples=40, deadline=None)
@given(
    followers=st.lists(st.integers(min_value=0, max_value=3_000_000_000), min_size=2, max_size=30),
    views=st.floats(min_value=1, max_value=1e10),
    platform=st.sampled_from(PLATFORMS),
)
def test_cost_never_falls_as_followers_grow_at_the_same_reach(
    scheme: str, followers: list[int], views: float, platform: str
) -> None:
    followers = sorted(followers)
    n = len(followers)
    lf = _rows(followers=followers, avg_views=[views] * n, platform=[platform] * n)
    out = enrich(
        lf, RATE_CARD, scheme=scheme, countries=country_lookup(load_country_aliases()), run_id="r"
    ).collect()
    for level in ("low", "mid", "high"):
        costs = out[f"est_cost_usd_{level}"].to_list()
        assert costs == sorted(costs), level
