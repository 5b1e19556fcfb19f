"""The estimates on the real 2022 exports: engagement in published ranges, reach and cost
as the model card (docs/ESTIMATES.md) states. Runs the pipeline's stages without Prefect."""

from __future__ import annotations

import polars as pl
import pytest

from adapters.build import build_roster
from adapters.config import load_rate_card
from adapters.ingest import RunOptions, ingest_file
from flows.enrich_roster import discover_inputs
from tests.conftest import REAL_EXPORTS

pytestmark = [pytest.mark.real_exports, pytest.mark.slow]
RATE_CARD = load_rate_card()


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    staging = tmp_path_factory.mktemp("staging")
    options = RunOptions()
    outcomes = [
        o
        for i, (path, label) in enumerate(discover_inputs([str(REAL_EXPORTS)]))
        for o in ingest_file(path, label, i, options, staging)
    ]
    build = build_roster(outcomes, options, staging, "test-run")
    assert build.enriched_path
    return pl.read_parquet(build.enriched_path)


@pytest.mark.parametrize(
    "benchmark", RATE_CARD.engagement.benchmarks, ids=lambda b: f"{b.platform}-{b.basis}"
)
def test_engagement_convention_falls_in_the_published_range(
    enriched: pl.DataFrame, benchmark
) -> None:
    """The median creator of each platform sits inside the cited typical range, in the
    column the platform's convention uses (TikTok per view, Instagram per follower)."""
    rows = enriched.filter(pl.col("platform") == benchmark.platform)
    assert RATE_CARD.engagement.basis(benchmark.platform) == benchmark.basis
    column = f"engagement_rate_by_{benchmark.basis}"
    rate = rows.get_column(column).drop_nulls()
    assert rate.len() >= 0.9 * rows.height, "most rows have the convention's rate"
    assert rows.get_column("engagement_rate").drop_nulls().equals(rate)
    assert benchmark.low <= rate.median() <= benchmark.high, (column, rate.median())


def test_impossible_engagement_never_reaches_the_rate_columns(enriched: pl.DataFrame) -> None:
    per_view = enriched.filter(pl.col("engagement_rate_by_views").is_not_null())
    assert per_view.get_column("engagement_rate_by_views").max() <= 1
    per_follower = enriched.filter(~pl.col("platform").is_in(["tiktok", "youtube"]))
    assert per_follower.get_column("engagement_rate").drop_nulls().max() <= 1
    flagged = enriched.filter(pl.col("estimate_flags").list.len() > 0)
    assert (
        flagged.filter(pl.col("engagement_rate").is_not_null())
        .filter(pl.col("estimate_flags").list.contains("engagement_by_views_over_100pct"))
        .height
        == 0
    )


def test_every_published_cpm_is_inside_its_cited_range_or_flagged(enriched: pl.DataFrame) -> None:
    cpm = pl.DataFrame([c.model_dump() for c in RATE_CARD.cpm]).select(
        "platform", "usd_low", "usd_high"
    )
    rows = enriched.join(cpm, on="platform", how="left")
    inside = (pl.col("est_cpm_usd") >= pl.col("usd_low") * (1 - 1e-9)) & (
        pl.col("est_cpm_usd") <= pl.col("usd_high") * (1 + 1e-9)
    )
    flagged = (
        pl.col("estimate_flags")
        .list.set_intersection(["cpm_below_cited_range", "cpm_above_cited_range"])
        .list.len()
        > 0
    )
    check = rows.select(inside=inside, flagged=flagged)
    assert check.filter(pl.col("inside") == pl.col("flagged")).height == 0
    assert check.get_column("inside").mean() > 0.6  # most rows need no flag


def test_cost_scales_with_reach_not_with_the_tier(enriched: pl.DataFrame) -> None:
    """No flat per-tier cost: within TikTok mega, costs follow reach."""
    mega = enriched.filter(platform="tiktok", tier="mega")
    assert mega.get_column("est_cost_usd_mid").n_unique() > 100
    assert mega.select(pl.corr("est_reach", "est_cost_usd_mid", method="spearman")).item() > 0.9
