"""profile_snapshots: the issue-12 columns in one call, their contract, and what they give
on the real 2022 exports (YouTube renames, cross-platform people, flags, niche coverage)."""

from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from schemas.quality import CreatorProfile
from tests.conftest import REAL_EXPORTS
from tests.quality_helpers import D1, D2, frame, rules, taxonomy
from transforms.niche import niche_coverage
from transforms.profile import profile_snapshots

RULES, TAXONOMY = rules(), taxonomy()


def tiny() -> pl.DataFrame:
    rows = [
        {
            "handle": "Alejo Igoa",
            "display_name": "Alejo Igoa",
            "snapshot_date": D1,
            "followers": 11_000_000,
            "categories": ["Humor"],
        },
        {
            "handle": "AlejoIgoa",
            "display_name": "Alejo Igoa",
            "snapshot_date": D2,
            "followers": 11_600_000,
            "categories": ["Humor", "Family"],
        },
        {
            "platform": "tiktok",
            "handle": "alejoigoa",
            "display_name": "Alejo Igoa",
            "snapshot_date": D2,
            "followers": 5_000_000,
        },
    ]
    return frame(rows).drop("creator_id")


def test_profile_adds_the_contracted_columns_and_keeps_every_row() -> None:
    out = profile_snapshots(tiny().lazy(), RULES, TAXONOMY).collect()
    assert out.height == 3
    CreatorProfile.validate(out)
    ig = out.filter(pl.col("platform") == "instagram")
    assert ig.get_column("creator_id").n_unique() == 1
    assert ig.sort("snapshot_date").get_column("followers_growth_monthly").to_list()[1] > 0
    assert out.get_column("person_key").n_unique() == 1
    assert set(ig.get_column("primary_niche")) == {"pop_culture"}
    assert set(out.get_column("audience_quality")) == {"unknown"}


def test_a_creator_missing_from_the_latest_snapshot_is_not_current() -> None:
    rows = [
        {"handle": "stays", "snapshot_date": D1},
        {"handle": "stays", "snapshot_date": D2},
        {"handle": "left", "snapshot_date": D1},
        {"platform": "tiktok", "handle": "other_platform", "snapshot_date": D1},
    ]
    out = profile_snapshots(frame(rows).drop("creator_id").lazy(), RULES, TAXONOMY).collect()
    latest = out.sort("snapshot_date").group_by("handle").last()
    got = {
        r["handle"]: (r["last_seen_date"], r["is_current"]) for r in latest.iter_rows(named=True)
    }
    assert got == {"stays": (D2, True), "left": (D1, False), "other_platform": (D1, True)}


def test_contract_refuses_an_unknown_flag_code() -> None:
    out = profile_snapshots(tiny().lazy(), RULES, TAXONOMY).collect()
    bad = out.with_columns(quality_flags=pl.lit(["bought_followers"], pl.List(pl.String)))
    with pytest.raises(pandera.errors.SchemaError, match="known_quality_flags"):
        CreatorProfile.validate(bad)


@pytest.fixture(scope="module")
def real_profile(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from flows.enrich_roster import EnrichParams, run_enrich

    out: Path = tmp_path_factory.mktemp("real12") / "out"
    files = sorted(REAL_EXPORTS.glob("*.csv"))
    dated = [str(f) for f in files if "undated" not in f.name]
    undated = [str(f) for f in files if "undated" in f.name]
    run_enrich(EnrichParams(inputs=dated, out=str(out)))
    # --snapshot-date beats a file name's date, so only the undated files get it
    run_enrich(EnrichParams(inputs=undated, out=str(out), snapshot_date="2022-03-01"))
    snapshots = pl.read_delta(str(out / "creator_snapshots"))
    return profile_snapshots(snapshots.lazy(), RULES, TAXONOMY).collect()


@pytest.mark.real_exports
@pytest.mark.slow
def test_real_exports_renamed_youtube_channels_have_one_continuous_history(
    real_profile: pl.DataFrame,
) -> None:
    CreatorProfile.validate(real_profile)
    yt = real_profile.filter(pl.col("platform") == "youtube")
    # about 1,000 channels a month: merging renames leaves far fewer creators overall
    assert yt.get_column("creator_id").n_unique() < 0.95 * yt.get_column("creator_key").n_unique()
    per_month = yt.group_by("snapshot_date").agg(pl.col("creator_id").n_unique())
    assert per_month.get_column("creator_id").max() <= 1000
    for spelling in ("AlejoIgoa", "AttaHalilintar"):
        cid = yt.filter(pl.col("handle") == spelling).get_column("creator_id").item()
        history = yt.filter(pl.col("creator_id") == cid).sort("snapshot_date")
        assert history.height == 5, spelling  # every monthly export
        assert history.get_column("followers_growth_monthly").null_count() == 1


@pytest.mark.real_exports
@pytest.mark.slow
def test_real_exports_people_flags_and_niches(real_profile: pl.DataFrame) -> None:
    latest = real_profile.sort("snapshot_date").group_by("creator_id").last()
    platforms = latest.group_by("person_key").agg(pl.col("platform").n_unique())
    assert platforms.filter(pl.col("platform") > 1).height > 200
    selena = latest.filter(pl.col("handle_norm") == "selenagomez")
    assert selena.height == 3  # Instagram, TikTok and YouTube: one person
    assert selena.get_column("person_key").n_unique() == 1
    ig = latest.filter(pl.col("platform") == "instagram")
    assert ig.get_column("authentic_engagement_ratio").is_null().all() or (
        0.6 < ig.get_column("authentic_engagement_ratio").median() < 0.85
    )
    coverage = niche_coverage(latest.lazy(), by="creator_id").collect().row(0, named=True)
    assert coverage["unmapped_share"] < 0.01
    assert coverage["creators_with_niche"] > 0.9 * coverage["creators_with_categories"]
