"""The run manifest (``runs/<run_id>/manifest.json``) as a typed model.

The flow returns ``Manifest.model_dump(mode="json")``: the CLI, the Prefect artifacts and
the tests read that dict, so every key is declared here once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.vocabulary import FileStatus, SkipReason


@dataclass(frozen=True)
class ColumnDecision:
    """One decision about one column, typed and human-readable."""

    header: str  # as written in the file
    field: str | None  # canonical field it feeds (None: not used)
    topic: str  # "number_format" | "meaning" | "mapping"
    decision: str  # e.g. "decimal comma", "not used as avg_likes"
    evidence: str  # why, with counts and example values

    def line(self) -> str:
        target = f" ({self.field})" if self.field else ""
        return f"{self.header!r}{target}: {self.decision} -- {self.evidence}"

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass
class FileOutcome:
    """What happened to one input file (or workbook sheet). Small and JSON-friendly."""

    source_file: str  # the delivery: path relative to the input root, "#sheet" for a sheet
    path: str
    sha256: str
    file_index: int  # stage index, unique per outcome of a run (see stage_index)
    delivery_file: str = ""  # the file part of source_file: the unit a later run replaces
    modified_at: str | None = None  # the file's modification time (UTC, ISO)
    copy_of: str | None = None  # an already loaded delivery with exactly the same bytes
    # the options that decided this file's output (see enrich_roster.processing_key_of);
    # "" = the run's own
    processing_key: str = ""
    status: FileStatus = FileStatus.OK
    reason: str | None = None
    detail: str | None = None
    platform: str | None = None
    snapshot_date: str | None = None
    records: int = 0  # data records in the file, blank ones included
    independent_records: int | None = None  # the same, counted by a second reader
    blank_rows: int = 0
    rows_read: int = 0  # records - blank_rows
    parse_failed_rows: int = 0
    validation_failed_rows: int = 0
    staged_rows: int = 0
    staged_path: str | None = None
    quarantine_path: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # field -> header as written
    mapped_columns: dict[str, str] = field(default_factory=dict)  # field -> cell column (c3)
    decisions: list[str] = field(default_factory=list)
    column_decisions: list[ColumnDecision] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class FileCounts(BaseModel):
    """One delivery's reconciliation: rows read = enriched + quarantined (superseded
    included) + duplicates collapsed, counted from the rows about to be published."""

    model_config = ConfigDict(extra="forbid")

    source_file: str
    delivery_file: str
    status: FileStatus
    reason: str | None = None
    records: int
    blank_rows: int
    rows_read: int
    enriched: int
    quarantined: int = Field(description="rows in quarantine, superseded ones included")
    superseded: int = Field(description="rows a later delivery of the same creator replaced")
    duplicates_collapsed: int
    independent_records: int | None = None
    reconciled: bool
    # what is wrong with the bookkeeping when it does not reconcile (not in the manifest)
    problems: list[str] = Field(default_factory=list, exclude=True)

    def explain(self) -> str:
        problems = f" ({', '.join(self.problems)})" if self.problems else ""
        return (
            f"{self.source_file}: {self.records} records (independent count "
            f"{self.independent_records}), {self.blank_rows} blank, read {self.rows_read} vs "
            f"enriched {self.enriched} + quarantined {self.quarantined} + duplicates "
            f"{self.duplicates_collapsed}{problems}"
        )


class FileRecord(FileCounts):
    """One delivery (file or workbook sheet) of the run, with its reconciled counts."""

    sha256: str
    path: str
    platform: str | None = None
    snapshot_date: str | None = None
    detail: str | None = None
    copy_of: str | None = Field(
        None, description="an already loaded delivery with exactly the same bytes"
    )
    mapping: dict[str, str] = Field(default_factory=dict)
    decisions: list[str] = Field(default_factory=list)
    unmapped_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    column_decisions: list[ColumnDecision] = Field(
        default_factory=list,
        description="per column: the field it maps to, its number format and the evidence",
    )

    @classmethod
    def of(cls, outcome: FileOutcome, counts: FileCounts) -> FileRecord:
        """The manifest's record of ``outcome`` with its reconciled ``counts``."""
        return cls(
            **counts.model_dump(),
            problems=counts.problems,
            sha256=outcome.sha256,
            path=outcome.path,
            platform=outcome.platform,
            snapshot_date=outcome.snapshot_date,
            detail=outcome.detail,
            copy_of=outcome.copy_of,
            mapping=outcome.mapping,
            decisions=outcome.decisions,
            unmapped_columns=outcome.unmapped_columns,
            notes=outcome.notes,
            column_decisions=outcome.column_decisions,
        )


class SkippedFile(BaseModel):
    """A file not read by this run, and why: already processed, or not an input at all."""

    model_config = ConfigDict(extra="forbid")

    source_file: str
    path: str
    sha256: str | None = None
    processed_by_run: str | None = None
    reason: SkipReason = SkipReason.ALREADY_PROCESSED
    detail: str | None = None


class PlatformTierRows(BaseModel):
    platform: str
    tier: str
    rows: int


class Manifest(BaseModel):
    """One run: what each file gave, what was skipped or not read, the table versions it
    committed, the quarantine by reason, the reach model and its backtest, timings."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    started_at: str = ""
    finished_at: str = ""
    code_version: str = ""
    rate_card_version: str = ""
    tier_scheme: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    table_versions: dict[str, int | None] = Field(default_factory=dict)
    snapshot_dates_merged: list[str] = Field(
        default_factory=list,
        description="snapshot dates whose deliveries were merged again by this run",
    )
    files: list[FileRecord] = Field(default_factory=list)
    skipped_files: list[SkippedFile] = Field(default_factory=list)
    not_read: list[SkippedFile] = Field(
        default_factory=list, description="files under the inputs that are not exports"
    )
    quarantine_by_reason: dict[str, int] = Field(default_factory=dict)
    quarantined_rows_by_reason: dict[str, int] = Field(default_factory=dict)
    rows_by_platform_tier: list[PlatformTierRows] = Field(default_factory=list)
    timings_seconds: dict[str, float] = Field(default_factory=dict)
    reach_model: dict[str, Any] | None = Field(
        default=None,
        description="the per-platform reach model fitted in the run: coefficients, rows",
    )
    reach_evaluation: dict[str, Any] | None = Field(
        default=None,
        description="backtest of the reach estimates on the run's rows (as roster evaluate)",
    )
    upgrades: list[str] = Field(
        default_factory=list,
        description="what this run changed in a folder written by an earlier release",
    )
    nothing_to_do: bool = Field(
        default=False, description="no export file under the inputs: the run did nothing"
    )

    @property
    def out(self) -> str:
        return str(self.params.get("out", ""))

    def totals(self) -> dict[str, int]:
        """Rows read, enriched, quarantined and collapsed over the run's files."""
        keys = ("rows_read", "enriched", "quarantined", "duplicates_collapsed")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}
