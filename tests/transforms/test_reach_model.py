"""Reach learned from the roster: history, the fitted log-log model, measured bands and
the benchmark fallback (transforms/reach_model.py), on tiny frames."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.config import load_country_aliases, load_rate_card
from schemas.models import NORMALISED_COLUMNS
from transforms.country import country_lookup
from transforms.enrich import enrich, reach_observations
from transforms.reach_model import benchmark_table, fit_reach

RATE_CARD = load_rate_card()
RM = RATE_CARD.reach_model
COUNTRIES = country_lookup(load_country_aliases())
NOV, DEC = dt.date(2022, 11, 1), dt.date(2022, 12, 1)


def _rows(**cols: list) -> pl.LazyFrame:
    n = len(next(iter(cols.values())))
    base: dict[str, list] = {name: [None] * n for name in NORMALISED_COLUMNS}
    base.update(
        source_file=["f.csv"] * n,
        source_row=list(range(2, n + 2)),
        platform=["tiktok"] * n,
        snapshot_date=[DEC] * n,
        handle=[f"h{i}" for i in range(n)],
        handle_norm=[f"h{i}" for i in range(n)],
        categories=[[] for _ in range(n)],
    )
    base.update(cols)
    return pl.DataFrame(base, schema=NORMALISED_COLUMNS).lazy()


def _enrich(lf: pl.LazyFrame, **kw: object) -> pl.DataFrame:
    return enrich(lf, RATE_CARD, scheme=None, countries=COUNTRIES, run_id="r", **kw).collect()


def _synthetic(n: int, seed: int, b_f: float, b_i: float, noise: float = 0.3) -> dict:
    """Creators whose ln(views) = 2 + b_f ln(followers) + b_i ln(likes) + N(0, noise)."""
    rng = random.Random(seed)
    followers = [int(math.exp(rng.uniform(math.log(5e3), math.log(5e7)))) for _ in range(n)]
    likes = [f * math.exp(rng.uniform(-4.5, -1.5)) for f in followers]
    views = [
        math.exp(2 + b_f * math.log(f) + b_i * math.log(lk) + rng.gauss(0, noise))
        for f, lk in zip(followers, likes, strict=True)
    ]
    return {"followers": followers, "avg_likes": likes, "avg_views": views}


def test_model_recovers_known_coefficients_and_its_band_covers_held_out_rows() -> None:
    train = _synthetic(2_000, seed=1, b_f=0.2, b_i=0.7)
    fit = fit_reach(reach_observations(_rows(**train)), RM)
    model = fit.models.filter(variant="interactions").row(0, named=True)
    assert model["rows"] == 2_000
    assert model["b_followers"] == pytest.approx(0.2, abs=0.03)
    assert model["b_interactions"] == pytest.approx(0.7, abs=0.03)
    assert model["intercept"] == pytest.approx(2.0, abs=0.3)
    # held-out creators (another draw, views hidden): the 80% band covers about 80%
    test = _synthetic(2_000, seed=2, b_f=0.2, b_i=0.7)
    hidden = _rows(**{**test, "avg_views": [None] * 2_000})
    out = _enrich(hidden, reach_fit=fit)
    assert set(out["est_reach_method"]) == {"model_interactions"}
    views = pl.Series(test["avg_views"])
    inside = (out["est_reach_low"] <= views) & (views <= out["est_reach_high"])
    assert 0.75 <= inside.mean() <= 0.85
    typical = (out["est_reach"] / views).log().abs().median()
    assert math.exp(typical) < 1.3  # noise sd 0.3 -> median |error| ~ exp(0.2)


def test_slopes_are_never_negative_so_reach_never_falls_as_followers_grow() -> None:
    train = _synthetic(500, seed=3, b_f=-0.3, b_i=0.9)  # bigger accounts, fewer views
    fit = fit_reach(reach_observations(_rows(**train)), RM)
    model = fit.models.filter(variant="interactions").row(0, named=True)
    assert model["b_followers"] == 0.0
    assert model["b_interactions"] > 0


def test_history_uses_the_latest_earlier_views_of_the_same_creator() -> None:
    lf = _rows(
        handle_norm=["ana", "ana", "ana", "ben", "cy"],
        platform=["tiktok"] * 5,
        snapshot_date=[dt.date(2022, 6, 1), NOV, DEC, DEC, NOV],
        followers=[1_000_000] * 5,
        avg_views=[50_000.0, 80_000.0, None, None, 70_000.0],
    )
    out = _enrich(lf)
    assert out["est_reach_method"].to_list() == [
        "observed_views",
        "observed_views",
        "history",  # ana in December: her November views, not June's
        "benchmark",  # ben: never observed, too few rows for a model
        "observed_views",
    ]
    assert out["est_reach"].to_list()[2] == 80_000
    assert out["handle_norm"].to_list() == ["ana", "ana", "ana", "ben", "cy"]  # order kept


def test_history_comes_from_earlier_published_snapshots_too() -> None:
    published = _rows(handle_norm=["ana"], snapshot_date=[NOV], followers=[10], avg_views=[9e3])
    later = _rows(handle_norm=["ana", "ana"], snapshot_date=[DEC, NOV], followers=[10, 10])
    out = _enrich(later, history=published)
    # December: November's published views; November itself: not from the same date
    assert out["est_reach_method"].to_list() == ["history", "benchmark"]
    assert out["est_reach"].to_list()[0] == 9_000


def test_observed_band_is_measured_from_snapshot_to_snapshot_moves() -> None:
    rng = random.Random(4)
    n = 200
    nov = [math.exp(rng.uniform(8, 14)) for _ in range(n)]
    dec = [v * math.exp(rng.gauss(0, 0.5)) for v in nov]
    lf = _rows(
        handle_norm=[f"c{i}" for i in range(n)] * 2,
        snapshot_date=[NOV] * n + [DEC] * n,
        followers=[1_000_000] * (2 * n),
        avg_views=nov + dec,
    )
    fit = fit_reach(reach_observations(lf), RM)
    band = fit.bands.row(0, named=True)
    assert band["pairs"] == n
    steps = pl.Series([math.log(d / v) for v, d in zip(nov, dec, strict=True)])
    assert band["log_low"] == pytest.approx(steps.quantile(0.1, interpolation="linear"))
    assert band["log_high"] == pytest.approx(steps.quantile(0.9, interpolation="linear"))
    out = _enrich(lf, reach_fit=fit).row(0, named=True)
    assert out["est_reach_low"] == round(nov[0] * math.exp(band["log_low"]))
    # too few pairs: the rate card's cited fallback factors
    few = _enrich(_rows(followers=[1_000], avg_views=[1_000.0])).row(0, named=True)
    assert few["est_reach_low"] == round(1_000 * RM.observed_views_low_factor)


@pytest.mark.parametrize("scheme", ["four_tier", "five_tier"])
@pytest.mark.parametrize("platform", RATE_CARD.platforms)
def test_benchmark_reach_never_falls_across_tier_bounds(scheme: str, platform: str) -> None:
    bounds = RATE_CARD.scheme(scheme).bounds_for(platform)
    followers = sorted({max(b + d, 0) for b in bounds for d in (-1, 0, 1)} | {10**9})
    lf = _rows(followers=followers, platform=[platform] * len(followers))
    out = enrich(lf, RATE_CARD, scheme=scheme, countries=COUNTRIES, run_id="r").collect()
    for column in ("est_reach_low", "est_reach", "est_reach_high"):
        values = out[column].to_list()
        assert values == sorted(values), (column, list(zip(followers, values, strict=True)))


def test_benchmark_floor_is_the_top_of_the_tier_below() -> None:
    table = benchmark_table(RATE_CARD.rates_frame(), RATE_CARD.thresholds_frame(None))
    ig = table.filter(platform="instagram").to_dicts()
    assert ig[0]["floor_mid"] == 0.0
    micro_rate = next(r for r in ig if r["tier"] == "nano")["rate_mid"]
    assert next(r for r in ig if r["tier"] == "micro")["floor_mid"] >= 10_000 * micro_rate


FIT = fit_reach(reach_observations(_rows(**_synthetic(300, seed=5, b_f=0.3, b_i=0.6))), RM)


@settings(max_examples=40, deadline=None)
@given(
    followers=st.lists(st.integers(1, 3_000_000_000), min_size=2, max_size=25),
    likes=st.floats(1, 1e8),
    platform=st.sampled_from(RATE_CARD.platforms),
    has_model=st.booleans(),
)
def test_reach_is_monotone_in_followers_within_a_platform(
    followers: list[int], likes: float, platform: str, has_model: bool
) -> None:
    followers = sorted(followers)
    n = len(followers)
    lf = _rows(followers=followers, avg_likes=[likes] * n, platform=[platform] * n)
    out = _enrich(lf, reach_fit=FIT) if has_model else _enrich(lf)
    assert out["est_reach_method"].n_unique() == 1
    for column in ("est_reach_low", "est_reach", "est_reach_high"):
        assert out[column].to_list() == sorted(out[column].to_list())
    assert (out["est_reach_low"] <= out["est_reach"]).all()
    assert (out["est_reach"] <= out["est_reach_high"]).all()


@settings(max_examples=40, deadline=None)
@given(
    likes=st.lists(st.floats(1, 1e9), min_size=2, max_size=25),
    followers=st.integers(1, 3_000_000_000),
    platform=st.sampled_from(RATE_CARD.platforms),
    has_model=st.booleans(),
)
def test_reach_is_monotone_in_interactions_within_a_platform(
    likes: list[float], followers: int, platform: str, has_model: bool
) -> None:
    likes = sorted(likes)
    n = len(likes)
    lf = _rows(followers=[followers] * n, avg_likes=likes, platform=[platform] * n)
    out = _enrich(lf, reach_fit=FIT) if has_model else _enrich(lf)
    for column in ("est_reach_low", "est_reach", "est_reach_high"):
        assert out[column].to_list() == sorted(out[column].to_list())
