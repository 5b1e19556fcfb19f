"""The vocabulary and the row and table declarations in ``schemas/`` are consistent with
themselves: every spelling names one platform, tiers keep their size order, every table's
declared columns carry a polars type and its key, and the manifest survives JSON."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.manifest import ColumnDecision, FileCounts, FileRecord, Manifest, SkippedFile
from schemas.rows import COMPARED_STAGED, METRIC_COLUMNS, METRICS, ROW_KEY
from schemas.tables import TABLES, polars_schema
from schemas.vocabulary import FileStatus, Platform, QualityFlag, ReachMethod, SkipReason, Tier


def test_every_spelling_and_domain_names_exactly_one_platform() -> None:
    spellings = [s for p in Platform for s in p.spellings]
    assert len(spellings) == len(set(spellings)), "a spelling is claimed by two platforms"
    assert all(s == s.lower().strip() for s in spellings)
    for platform in Platform:
        assert platform.value in platform.spellings
        assert set(platform.profile_domains) <= set(platform.spellings)
    domains = [d for p in Platform for d in p.profile_domains]
    assert len(domains) == len(set(domains))
    assert Platform.spelling_lookup()["twitter"] == Platform.X


def test_tiers_rank_in_size_order() -> None:
    assert [t.rank for t in Tier] == list(range(1, len(Tier) + 1))
    assert Tier.NANO.rank < Tier.MICRO.rank < Tier.MACRO.rank < Tier.MEGA.rank
    assert Tier.codes()[0] == "nano" and Tier.codes()[-1] == "mega"


def test_coded_vocabularies_explain_every_member() -> None:
    assert all(m.meaning for m in ReachMethod)
    assert all(f.meaning and f.strength for f in QualityFlag)


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_every_table_declares_typed_columns_and_its_partition(spec) -> None:  # type: ignore[no-untyped-def]
    schema = polars_schema(spec.name)
    assert len(schema) == len(spec.schema().columns)
    assert all(isinstance(dtype, pl.DataType) for dtype in schema.values())
    if spec.partitioned_by is not None:
        assert spec.partitioned_by in schema
    assert spec.grain.startswith("one row per")


def test_published_rows_carry_the_row_key_and_every_published_metric() -> None:
    snapshots = polars_schema("creator_snapshots")
    assert {"platform", "snapshot_date"} <= set(snapshots)
    assert set(ROW_KEY) - {"handle_norm"} <= set(snapshots)
    published = {m.name for m in METRICS if m.published}
    assert published <= set(snapshots)
    assert set(METRIC_COLUMNS) <= set(COMPARED_STAGED)


def test_the_manifest_survives_json() -> None:
    counts = FileCounts(
        source_file="a.csv", delivery_file="a.csv", status=FileStatus.OK, records=3,
        blank_rows=0, rows_read=3, enriched=2, quarantined=1, superseded=0,
        duplicates_collapsed=0, reconciled=True,
    )  # fmt: skip
    record = FileRecord(**counts.model_dump(), path="/in/a.csv", sha256="0" * 64, platform="tiktok")
    record.column_decisions.append(
        ColumnDecision("Followers", "followers", "number_format", "decimal comma", "3 of 3 values")
    )
    skipped = SkippedFile(
        source_file="~$a.xlsx", path="/in/~$a.xlsx", reason=SkipReason.OFFICE_LOCK_FILE
    )
    manifest = Manifest(run_id="r1", files=[record], not_read=[skipped])
    again = Manifest.model_validate_json(manifest.model_dump_json())
    assert again == manifest
    assert again.files[0].status is FileStatus.OK
    assert again.files[0].column_decisions[0].decision == "decimal comma"
    assert again.not_read[0].reason is SkipReason.OFFICE_LOCK_FILE
