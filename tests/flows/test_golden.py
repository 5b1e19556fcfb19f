"""Golden files: the roster and quarantine the README's main command produces from
sample_data/. Regenerate deliberately with UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SAMPLE_DATA

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ROSTER_COLUMNS = [
    "platform",
    "handle_norm",
    "creator_key",
    "display_name",
    "followers",
    "avg_views",
    "avg_likes",
    "avg_comments",
    "avg_shares",
    "avg_engagement",
    "engagement_rate",
    "engagement_formula",
    "tier",
    "est_reach",
    "est_reach_low",
    "est_reach_high",
    "est_reach_method",
    "est_cost_usd_low",
    "est_cost_usd_mid",
    "est_cost_usd_high",
    "est_cpm_usd",
    "country",
    "categories",
    "snapshot_date",
    "source_file",
    "source_row",
]
QUARANTINE_COLUMNS = ["source_file", "source_row", "reason", "column", "raw_value"]


@pytest.fixture(scope="module")
def sample_run(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:
    from flows.enrich_roster import EnrichParams, run_enrich

    out = tmp_path_factory.mktemp("sample") / "out"
    return run_enrich(EnrichParams(inputs=[str(SAMPLE_DATA)], out=str(out))), out


def _as_text(df: pl.DataFrame) -> str:
    df = df.with_columns(
        [pl.col(c).list.join("|") for c, t in df.schema.items() if isinstance(t, pl.List)]
    ).with_columns(pl.col(pl.Float64).round(6))
    return df.write_csv()


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(), f"{name} differs from the golden file"


def test_sample_roster_matches_golden(sample_run: tuple[dict, Path]) -> None:
    _, out = sample_run
    snaps = pl.read_delta(str(out / "creator_snapshots")).select(ROSTER_COLUMNS)
    _check("sample_creator_snapshots.csv", _as_text(snaps.sort("platform", "handle_norm")))


def test_sample_quarantine_matches_golden(sample_run: tuple[dict, Path]) -> None:
    _, out = sample_run
    q = pl.read_delta(str(out / "quarantine")).select(QUARANTINE_COLUMNS)
    _check(
        "sample_quarantine.csv",
        _as_text(q.sort("source_file", "source_row", "reason", nulls_last=True)),
    )


def test_sample_covers_every_tier_and_three_formats(sample_run: tuple[dict, Path]) -> None:
    manifest, out = sample_run
    tiers = set(pl.read_delta(str(out / "creator_snapshots")).get_column("tier"))
    assert tiers == {"nano", "micro", "macro", "mega"}
    suffixes = {Path(f["source_file"]).suffix for f in manifest["files"]}
    assert len(suffixes) >= 3
    for f in manifest["files"]:
        assert f["reconciled"] and f["status"] == "ok"


def test_creators_is_latest_snapshot_per_creator(sample_run: tuple[dict, Path]) -> None:
    _, out = sample_run
    creators = pl.read_delta(str(out / "creators"))
    snaps = pl.read_delta(str(out / "creator_snapshots"))
    assert creators.height == snaps.get_column("creator_key").n_unique()
    assert creators.get_column("creator_key").is_unique().all()


def test_manifest_records_hashes_counts_and_versions(sample_run: tuple[dict, Path]) -> None:
    import hashlib
    import json

    manifest, out = sample_run
    on_disk = json.loads((out / "runs" / manifest["run_id"] / "manifest.json").read_text())
    assert on_disk["rate_card_version"] and on_disk["code_version"]
    for f in on_disk["files"]:
        assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
        assert {"rows_read", "enriched", "quarantined", "duplicates_collapsed"} <= set(f)


def test_readme_bi_queries_run_on_the_sample_output(sample_run: tuple[dict, Path]) -> None:
    from adapters.catalog import BI_EXAMPLE_QUERIES, connect_catalog

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    _, out = sample_run
    con = connect_catalog(out)
    try:
        for q in BI_EXAMPLE_QUERIES:
            assert q.sql.strip() in readme, q.title
            con.sql(q.sql).fetchall()
        tiers = con.sql("SELECT tier, sum(creators) FROM tier_summary GROUP BY tier").fetchall()
        assert {t for t, _ in tiers} == {"nano", "micro", "macro", "mega"}
        current = con.sql("SELECT count(*) FROM creators WHERE is_current").fetchall()[0][0]
        assert sum(n for _, n in tiers) == current
    finally:
        con.close()


def test_run_publishes_prefect_artifacts(sample_run: tuple[dict, Path]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    manifest, _ = sample_run
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["roster-run-summary", "roster-run-files"])
            )
        )
    # other tests publish runs too: find this run's summary among them
    ours = [
        a
        for a in artifacts
        if manifest["run_id"] in str(a.data) or manifest["run_id"] in str(a.description)
    ]
    assert {a.key for a in ours} == {"roster-run-summary", "roster-run-files"}
    summary = next(a for a in ours if a.key == "roster-run-summary")
    assert "quarantine reason" in str(summary.data)
    assert summary.type == "markdown"
