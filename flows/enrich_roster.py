"""The ``enrich-roster`` Prefect flow: a task per input file, then enrich, then publish."""

import datetime as dt
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows import publish as pub
from flows.catalog import refresh_catalog
from flows.config import load_rate_card
from flows.dictionary import write_data_dictionary
from flows.discover import Discovery, discover, discover_inputs
from flows.manifest import FileRecord, Manifest, PlatformTierRows, SkippedFile
from flows.pipeline import (
    FileOutcome,
    ReconciliationError,
    RosterBuild,
    RunOptions,
    build_roster,
    ingest_file,
    is_disk_full,
    sha256_of,
)
from flows.publish_steps import (
    Merged,
    PublishIncomplete,
    as_disk_full,
    check_reconciled,
    commit_tables,
    delivery_attributes,
    ledger_rows,
    merge_dates,
    publish_failure,
    read_staged,
)
from schemas.vocabulary import FileStatus, SkipReason

if TYPE_CHECKING:
    from prefect.futures import PrefectFuture
    from prefect.task_runners import TaskRunner

__all__ = ["ReconciliationError", "discover_inputs"]

CODE_VERSION = "0.1.0"


class EnrichParams(BaseModel):
    """Parameters of one run; validated before the run starts (CLI, UI or deployment)."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[str] = Field(min_length=1, description="files or folders of exports")
    out: str = Field(description="output folder (Delta tables, manifests)")
    platform: Literal["instagram", "tiktok", "youtube", "x", "facebook", "twitch"] | None = None
    snapshot_date: dt.date | None = None
    mapping: str | None = Field(None, description="TOML file naming which column is which")
    rate_card: str | None = Field(None, description="rate card TOML (default: the shipped one)")
    tier_scheme: str | None = Field(None, description="tier scheme of the rate card")
    wait_lock: float = Field(0.0, ge=0, description="seconds to wait for another run on --out")
    max_workers: int = Field(2, ge=1, le=64, description="files processed at once (threads)")
    full_refresh: bool = Field(
        False, description="reprocess every input, even files the ledger has already seen"
    )
    keep_contacts: bool = Field(
        False, description="write emails/phones to a separate `contacts` table (never to BI tables)"
    )
    max_file_mb: int = Field(
        2048,
        ge=1,
        description="largest size an input file may expand to, MiB (memory bound, RELIABILITY.md)",
    )
    task_runner: Literal["thread", "dask"] = Field(
        "thread", description="thread: one machine; dask: a dask.distributed cluster"
    )
    dask_address: str | None = Field(
        None, description="tcp://HOST:PORT of a dask scheduler; default: a local 2-worker cluster"
    )

    @field_validator("mapping")
    @classmethod
    def _mapping_loads(cls, v: str | None) -> str | None:
        if v is not None:
            from flows.config import load_mapping_file

            load_mapping_file(Path(v))  # a bad mapping file is a usage error, before any work
        return v

    @field_validator("inputs")
    @classmethod
    def _exist(cls, v: list[str]) -> list[str]:
        missing = [p for p in v if not Path(p).exists()]
        if missing:
            raise ValueError(f"input not found: {', '.join(missing)}")
        return v


class UsageError(ValueError):
    """Bad invocation: exit status 2."""


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only errors that may pass: IO hiccups, not bad data."""
    try:
        state.result()
    except (OSError, TimeoutError) as err:
        if is_disk_full(err):
            return False  # a full disk or a size limit does not pass by retrying
        return not isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError))
    except Exception:
        return False
    return False


@task(
    name="ingest-file",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=_transient,
    task_run_name="ingest {label}",
)
def ingest_task(
    path: str, label: str, index: int, options: RunOptions, staging: str, sha256: str | None = None
) -> list[FileOutcome]:
    outcomes = ingest_file(Path(path), label, index, options, Path(staging), sha256)
    logger = get_run_logger()
    for o in outcomes:
        if o.status == FileStatus.OK:
            logger.info(
                "%s: %d rows read, %d staged, %d quarantined (%.1fs)",
                o.source_file,
                o.rows_read,
                o.staged_rows,
                o.rows_read - o.staged_rows,
                o.seconds,
            )
        else:
            logger.warning("%s: quarantined whole file: %s", o.source_file, o.detail)
    return outcomes


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(
    outcomes: list[FileOutcome],
    options: RunOptions,
    staging: str,
    run_id: str,
    snapshots: str | None = None,
) -> RosterBuild:
    # earlier published snapshots: the creators' own earlier views (reach history)
    history = (
        pub.scan_table(Path(snapshots)) if snapshots and pub.table_exists(Path(snapshots)) else None
    )
    return build_roster(outcomes, options, Path(staging), run_id, history=history)


def vacuum_quietly(out: Path) -> None:
    """Housekeeping of earlier runs' files; a failure here must not stop the publish."""
    try:
        removed = pub.vacuum_tables(out)
        if any(removed.values()):
            get_run_logger().info(
                "vacuum: deleted unused data files older than a week: %s", removed
            )
    except Exception as err:
        get_run_logger().warning("vacuum skipped: %s", err)


@task(
    name="publish",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
)
def publish_task(
    outcomes: list[FileOutcome],
    build: RosterBuild,
    params: EnrichParams,
    run_id: str,
    started_at: str,
    timings: dict[str, float],
    skipped: list[SkippedFile],
    processing_key: str,
) -> dict[str, Any]:
    """Reconcile, merge, commit, then write the manifest and the reports."""
    out = Path(params.out)
    t0 = time.perf_counter()
    pub.seed_deliveries(out, run_id)  # an --out from before deliveries were kept
    attributes = delivery_attributes(outcomes, out, dt.datetime.fromisoformat(started_at))
    staged = read_staged(outcomes, build, attributes, run_id)
    delivery_files = sorted({o.delivery_file for o in outcomes})
    merged = merge_dates(out, staged, delivery_files, run_id)
    files = check_reconciled(outcomes, staged, merged)
    vacuum_quietly(out)
    delivered_at = dict(attributes.select("source_file", "delivered_at").iter_rows())
    replaced = sorted(
        {o.source_file for o in outcomes} | set(pub.source_files_of(out, delivery_files))
    )
    before = pub.table_versions(out)
    try:
        versions = commit_tables(
            out,
            merged,
            staged,
            replaced,
            build.contacts_path if params.keep_contacts else None,
            ledger_rows(outcomes, files, processing_key, delivered_at, run_id),
            run_id,
        )
    except Exception as err:
        raise PublishIncomplete(publish_failure(out, err, before, merged.dates)) from err
    refresh_catalog(out)
    write_data_dictionary(out)
    timings["publish"] = time.perf_counter() - t0
    quarantine = pl.concat([staged.quarantine, merged.superseded.select(staged.quarantine.columns)])
    manifest = build_manifest(
        outcomes, files, params, run_id, started_at, versions, merged, quarantine, timings
    )
    manifest.skipped_files = [s for s in skipped if s.reason == SkipReason.ALREADY_PROCESSED]
    manifest.not_read = [s for s in skipped if s.reason != SkipReason.ALREADY_PROCESSED]
    manifest.reach_model, manifest.reach_evaluation = build.reach_model, build.reach_evaluation
    payload = manifest.model_dump(mode="json")
    if quarantine.height:  # for analysts fixing their exports in a spreadsheet
        pub.write_csv_safe(
            out / "runs" / run_id / "quarantine.csv",
            quarantine.sort("source_file", "source_row", "reason", nulls_last=False),
        )
    pub.write_json_atomic(out / "runs" / run_id / "manifest.json", payload)
    report = write_report_quietly(out, payload)
    publish_artifacts(payload, report)
    return payload


def write_report_quietly(out: Path, manifest: dict[str, Any]) -> Path | None:
    """OUT/report.html; a report that cannot be drawn is a warning, never a failed run."""
    from flows.report import write_report

    try:
        return write_report(out, manifest)
    except Exception as err:
        get_run_logger().warning("report.html not written: %s: %s", type(err).__name__, err)
        return None


def build_manifest(
    outcomes: list[FileOutcome],
    files: list[dict],
    params: EnrichParams,
    run_id: str,
    started_at: str,
    versions: dict[str, int | None],
    merged: Merged,
    quarantine: pl.DataFrame,
    timings: dict[str, float],
) -> Manifest:
    rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
    by_file = {o.source_file: o for o in outcomes}
    records = [
        FileRecord(
            **{k: v for k, v in f.items() if k not in ("orphan", "problems")},
            sha256=by_file[f["source_file"]].sha256,
            path=by_file[f["source_file"]].path,
            platform=by_file[f["source_file"]].platform,
            snapshot_date=by_file[f["source_file"]].snapshot_date,
            detail=by_file[f["source_file"]].detail,
            copy_of=by_file[f["source_file"]].copy_of,
            mapping=by_file[f["source_file"]].mapping,
            decisions=by_file[f["source_file"]].decisions,
            unmapped_columns=by_file[f["source_file"]].unmapped_columns,
            notes=by_file[f["source_file"]].notes,
            column_decisions=by_file[f["source_file"]].column_decisions,
        )
        for f in files
    ]
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
        files=records,
        skipped_files=[],
        quarantine_by_reason=dict(quarantine.group_by("reason").len().sort("reason").iter_rows()),
        quarantined_rows_by_reason=quarantined_rows_by_reason(quarantine, files),
        rows_by_platform_tier=[
            PlatformTierRows(platform=p, tier=t, rows=n) for p, t, n in by_tier.iter_rows()
        ],
        timings_seconds={k: round(v, 3) for k, v in timings.items()},
    )


def summary_markdown(manifest: dict[str, Any]) -> str:
    """The run summary as markdown: the Prefect artifact, and what `--json` users can render."""
    lines = [
        f"# Roster run {manifest['run_id']}",
        "",
        f"Rate card {manifest['rate_card_version']}, tier scheme {manifest['tier_scheme']}.",
        "",
        "| file | status | read | enriched | quarantined | duplicates |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for f in manifest["files"]:
        status = f["status"] if f["status"] == FileStatus.OK else f"quarantined: {f['reason']}"
        lines.append(
            f"| {f['source_file']} | {status} | {f['rows_read']} | {f['enriched']} | "
            f"{f['quarantined']} | {f['duplicates_collapsed']} |"
        )
    for f in manifest.get("skipped_files", []):
        lines.append(f"| {f['source_file']} | skipped (seen in {f['processed_by_run']}) | | | | |")
    for f in manifest.get("not_read", []):
        lines.append(f"| {f['source_file']} | not read: {f['reason']} ({f['detail']}) | | | | |")
    if manifest.get("rows_by_platform_tier"):
        lines += ["", "| platform | tier | rows |", "|---|---|---:|"]
        lines += [
            f"| {r['platform']} | {r['tier']} | {r['rows']} |"
            for r in manifest["rows_by_platform_tier"]
        ]
    if manifest.get("quarantine_by_reason"):
        rows = manifest.get("quarantined_rows_by_reason", {})
        lines += ["", "| quarantine reason | cells or files | input rows |", "|---|---:|---:|"]
        lines += [
            f"| {k} | {v} | {rows.get(k, '')} |"
            for k, v in manifest["quarantine_by_reason"].items()
        ]
    return "\n".join(lines) + "\n"


def quarantined_rows_by_reason(quarantine: pl.DataFrame, files: list[dict]) -> dict[str, int]:
    """Input rows behind each quarantine reason: a file quarantined whole counts its rows,
    not 1; a row with several bad cells counts once per reason it has."""
    rows: dict[str, int] = dict(
        quarantine.filter(pl.col("source_row").is_not_null())
        .group_by("reason")
        .agg(pl.struct("source_file", "source_row").n_unique())
        .iter_rows()
    )
    for f in files:
        if f["status"] == FileStatus.QUARANTINED:
            rows[f["reason"]] = rows.get(f["reason"], 0) + f["rows_read"]
    return dict(sorted(rows.items()))


def publish_artifacts(manifest: dict[str, Any], report: Path | None = None) -> None:
    """A markdown summary, a per-file table and a link to report.html, in the Prefect UI."""
    from prefect.artifacts import (
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    if report is not None:
        create_link_artifact(
            link=report.resolve().as_uri(),
            link_text="report.html",
            key="roster-report",
            description=f"charts of the roster after run {manifest['run_id']}",
        )
    create_markdown_artifact(
        summary_markdown(manifest),
        key="roster-run-summary",
        description=f"roster run {manifest['run_id']}",
    )
    create_table_artifact(
        [
            {
                k: f[k]
                for k in (
                    "source_file",
                    "status",
                    "reason",
                    "rows_read",
                    "enriched",
                    "quarantined",
                    "duplicates_collapsed",
                )
            }
            for f in manifest["files"]
        ],
        key="roster-run-files",
        description=f"per-file counts of run {manifest['run_id']}",
    )


def processing_key_of(params: EnrichParams, rate_card_version: str, scheme: str) -> str:
    """What, besides the file's bytes, decides its output: a file is skipped only when it was
    processed with the same rate card, scheme and file-level options."""
    mapping = sha256_of(Path(params.mapping))[:12] if params.mapping else "-"
    return "/".join(
        [
            rate_card_version,
            scheme,
            params.platform or "-",
            str(params.snapshot_date or "-"),
            mapping,
        ]
    )


def sha256_or_none(path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read (ingest then quarantines it)."""
    try:
        return sha256_of(path)
    except OSError as err:
        if is_disk_full(err):
            raise
        return None


def flag_copies(outcomes: list[FileOutcome], loaded: dict[str, tuple[str, str]]) -> None:
    """A file whose bytes equal an already loaded delivery under another name (a vendor
    re-sending November as December) is processed as its name says, and flagged."""
    firsts: dict[str, str] = {}
    for o in outcomes:
        firsts.setdefault(o.sha256, o.delivery_file)
    for o in outcomes:
        other, run = loaded.get(o.sha256, (None, None))
        if other is not None and other != o.delivery_file:
            o.copy_of = other
            o.notes.append(f"same bytes as {other}, loaded by run {run}")
        elif firsts[o.sha256] != o.delivery_file:
            o.copy_of = firsts[o.sha256]
            o.notes.append(f"same bytes as {o.copy_of}, in this run")


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_options(params: EnrichParams) -> RunOptions:
    return RunOptions(
        platform=params.platform,
        snapshot_date=params.snapshot_date,
        mapping_file=params.mapping,
        rate_card_file=params.rate_card,
        tier_scheme=params.tier_scheme,
        keep_contacts=params.keep_contacts,
        max_file_bytes=params.max_file_mb << 20,
    )


def not_read_files(found: Discovery) -> list[SkippedFile]:
    return [
        SkippedFile(source_file=n.label, path=n.path, reason=n.reason, detail=n.detail)
        for n in found.not_read
    ]


@dataclass(frozen=True)
class Todo:
    """A file to process, with the options that apply to it."""

    path: Path
    label: str
    sha256: str | None
    params: EnrichParams  # the run's, or with a platform/date remembered for this file
    remembered: str | None = None  # what was remembered, and from which run


def split_known(
    files: list[tuple[Path, str]], params: EnrichParams, key_of: Callable[[EnrichParams], str]
) -> tuple[list[Todo], list[SkippedFile]]:
    """(files to process, files skipped as already processed): a file is skipped when the
    same path with the same bytes was processed with these options. A platform or date
    given for a file in an earlier run (``--snapshot-date`` on an undated export) is
    remembered with its bytes and applies again when this run gives none: a later plain
    run neither re-quarantines the file nor drops its rows."""
    out = Path(params.out)
    remembered = pub.remembered_options(out)  # --full-refresh reprocesses with them too
    lookups: dict[str, dict[tuple[str, str | None], str]] = {}
    todo, skipped = [], []
    for path, label in files:
        sha = sha256_or_none(path)
        mine, note = with_remembered(params, remembered.get((label, sha)))
        key = key_of(mine)
        if key not in lookups:
            lookups[key] = {} if params.full_refresh else pub.ledger_lookup(out, key)
        if (label, sha) in lookups[key]:
            run = lookups[key][(label, sha)]
            skipped.append(
                SkippedFile(source_file=label, path=str(path), sha256=sha, processed_by_run=run)
            )
        else:
            todo.append(Todo(path, label, sha, mine, note))
    return todo, skipped


def with_remembered(
    params: EnrichParams, memory: tuple[str | None, str | None, str] | None
) -> tuple[EnrichParams, str | None]:
    """``params`` with the platform and date remembered for one file, where the run gives
    none; and a note saying so."""
    if memory is None:
        return params, None
    platform, date, run = memory
    update: dict[str, Any] = {}
    if params.platform is None and platform:
        update["platform"] = platform
    if params.snapshot_date is None and date:
        update["snapshot_date"] = dt.date.fromisoformat(date)
    if not update:
        return params, None
    given = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in update.items())
    return params.model_copy(update=update), f"--{given} remembered from run {run}"


def nothing_to_do(
    run_id: str, params: EnrichParams, not_read: list[SkippedFile], started: float
) -> dict[str, Any]:
    """A nightly run on an empty landing folder has nothing to do: that is not a failure."""
    get_run_logger().warning("no export files found in %s", ", ".join(params.inputs))
    return {
        "run_id": run_id,
        "files": [],
        "skipped_files": [],
        "not_read": [n.model_dump(mode="json") for n in not_read],
        "nothing_to_do": True,
        "params": params.model_dump(mode="json"),
        "timings_seconds": {"flow_total": round(time.perf_counter() - started, 3)},
    }


def process(
    params: EnrichParams,
    files: list[tuple[Path, str]],
    not_read: list[SkippedFile],
    run_id: str,
    started_at: str,
    staging: Path,
) -> dict[str, Any]:
    """Ingest the new files, build the roster, publish: under the lock, in ``staging``."""
    out = Path(params.out)
    t0 = time.perf_counter()
    rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
    scheme = params.tier_scheme or rate_card.meta.default_scheme

    def key_of(p: EnrichParams) -> str:
        return processing_key_of(p, rate_card.meta.version, scheme)

    processing_key = key_of(params)
    todo, skipped = split_known(files, params, key_of)
    get_run_logger().info(
        "run %s: %d input file(s) -> %s (%d already processed, skipped)",
        run_id,
        len(files),
        out,
        len(skipped),
    )
    options = run_options(params)
    futures = [
        ingest_task.submit(str(t.path), t.label, i, run_options(t.params), str(staging), t.sha256)
        for i, t in enumerate(todo)
    ]
    outcomes = [o for fut in futures for o in fut.result()]
    by_delivery = {t.label: t for t in todo}
    for o in outcomes:  # the options that decided each file, for the ledger
        t = by_delivery[o.delivery_file]
        o.processing_key = key_of(t.params)
        if t.remembered:
            o.notes.append(t.remembered)
    flag_copies(outcomes, pub.loaded_copies(out))
    timings = {"ingest": time.perf_counter() - t0}
    build = enrich_task(
        outcomes, options, str(staging), run_id, str(pub.table_path(out, pub.SNAPSHOTS))
    )
    timings.update(build.seconds)
    return publish_task(
        outcomes,
        build,
        params,
        run_id,
        started_at,
        timings,
        [*skipped, *not_read],
        processing_key,
    )


@flow(
    name="enrich-roster",
    log_prints=False,
    validate_parameters=True,
    # deployments run the flow as declared: a bounded pool, files in parallel
    task_runner=cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=2)),
)
def enrich_roster(params: EnrichParams) -> dict[str, Any]:
    """Ingest every export under ``params.inputs`` and publish the enriched roster."""
    flow_started = time.perf_counter()
    run_id = new_run_id()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = Path(params.out)
    load_rate_card(Path(params.rate_card) if params.rate_card else None).scheme(params.tier_scheme)
    found = discover(params.inputs, out)
    not_read = not_read_files(found)
    for n in not_read:
        get_run_logger().info("not read: %s", n.detail)
    if not found.files:
        return nothing_to_do(run_id, params, not_read, flow_started)
    with pub.exclusive_lock(out, run_id, params.wait_lock):
        pub.remove_stale_staging(out)  # left by a killed run; we hold the lock
        staging = out / "_staging" / run_id
        staging.mkdir(parents=True, exist_ok=True)
        try:
            manifest = process(params, found.files, not_read, run_id, started_at, staging)
        except PublishIncomplete:
            raise  # its message already says where each table is
        except Exception as err:
            full = as_disk_full(out, err)
            if full is None:
                raise
            raise full from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with_parent = staging.parent
            if with_parent.exists() and not any(with_parent.iterdir()):
                with_parent.rmdir()
    manifest["timings_seconds"]["flow_total"] = round(time.perf_counter() - flow_started, 3)
    get_run_logger().info("run %s published", run_id)
    return manifest


def task_runner_for(params: EnrichParams) -> Any:
    """Threads on one machine (polars releases the GIL), or prefect-dask past one machine."""
    if params.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if params.dask_address:
            return DaskTaskRunner(address=params.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": 2,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": ":0",
            }
        )
    return ThreadPoolTaskRunner(max_workers=params.max_workers)


def run_enrich(params: EnrichParams) -> dict[str, Any]:
    """Run the flow with the task runner the parameters ask for."""
    return enrich_roster.with_options(task_runner=task_runner_for(params))(params)
