"""The run's manifest (``OUT/runs/<run id>/manifest.json``): what each file gave, the table
versions the run committed, the quarantine by reason, rows per platform and tier."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from adapters.config import load_rate_card
from adapters.params import EnrichParams
from adapters.publish_steps import Merged
from schemas.manifest import FileCounts, FileOutcome, FileRecord, Manifest, PlatformTierRows
from schemas.vocabulary import FileStatus

CODE_VERSION = "0.1.0"


def build_manifest(
    outcomes: list[FileOutcome],
    files: list[FileRecord],
    params: EnrichParams,
    run_id: str,
    started_at: str,
    versions: dict[str, int | None],
    merged: Merged,
    quarantine: pl.DataFrame,
    timings: dict[str, float],
) -> Manifest:
    rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
    by_file = {o.source_file for o in outcomes}
    own = merged.snapshots.filter(pl.col("source_file").is_in(list(by_file)))
    by_tier = own.group_by("platform", "tier").len().sort("platform", "tier")
    return Manifest(
        run_id=run_id,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        code_version=CODE_VERSION,
        rate_card_version=rate_card.meta.version,
        tier_scheme=params.tier_scheme or rate_card.meta.default_scheme,
        params=params.model_dump(mode="json"),
        table_versions=versions,
        snapshot_dates_merged=[d.isoformat() for d in merged.dates],
        files=files,
        skipped_files=[],
        quarantine_by_reason=dict(quarantine.group_by("reason").len().sort("reason").iter_rows()),
        quarantined_rows_by_reason=quarantined_rows_by_reason(quarantine, files),
        rows_by_platform_tier=[
            PlatformTierRows(platform=p, tier=t, rows=n) for p, t, n in by_tier.iter_rows()
        ],
        timings_seconds={k: round(v, 3) for k, v in timings.items()},
    )


def quarantined_rows_by_reason(
    quarantine: pl.DataFrame, files: Sequence[FileCounts]
) -> dict[str, int]:
    """Input rows behind each quarantine reason: a file quarantined whole counts its rows,
    not 1; a row with several bad cells counts once per reason it has."""
    rows: dict[str, int] = dict(
        quarantine.filter(pl.col("source_row").is_not_null())
        .group_by("reason")
        .agg(pl.struct("source_file", "source_row").n_unique())
        .iter_rows()
    )
    for f in files:
        if f.status == FileStatus.QUARANTINED and f.reason is not None:
            rows[f.reason] = rows.get(f.reason, 0) + f.rows_read
    return dict(sorted(rows.items()))
