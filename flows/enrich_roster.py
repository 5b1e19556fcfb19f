"""The ``enrich-roster`` Prefect flow: a task per input file, then enrich, then publish."""

import datetime as dt
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows import publish as pub
from flows.catalog import refresh_catalog
from flows.config import load_rate_card
from flows.dictionary import write_data_dictionary
from flows.pipeline import (
    FileOutcome,
    RosterBuild,
    RunOptions,
    build_roster,
    empty_quarantine,
    ingest_file,
    reconcile,
    sha256_of,
)
from flows.readers import SUPPORTED_SUFFIXES

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
        description="largest input file accepted, MiB (memory bound, see RELIABILITY.md)",
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


class ReconciliationError(RuntimeError):
    """Counts do not add up: nothing is published."""


def discover_inputs(inputs: list[str]) -> list[tuple[Path, str]]:
    """Expand folders (sorted, recursive, supported formats only) into (path, label)."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found.append(p)
    seen: dict[str, int] = {}
    out = []
    for f in dict.fromkeys(x.resolve() for x in found):
        label = f.name
        if label in seen:  # same file name in two folders: qualify with the folder
            label = f"{f.parent.name}/{f.name}"
        seen[label] = seen.get(label, 0) + 1
        out.append((f, label))
    return out


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only errors that may pass: IO hiccups, not bad data."""
    try:
        state.result()
    except (OSError, TimeoutError) as err:
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
        if o.status == "ok":
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
    skipped: list[dict[str, Any]],
    processing_key: str,
) -> dict[str, Any]:
    out = Path(params.out)
    t0 = time.perf_counter()
    quarantine = (
        (
            pl.concat([pl.read_parquet(p) for p in build.quarantine_paths], how="vertical")
            if build.quarantine_paths
            else empty_quarantine()
        )
        .with_columns(run_id=pl.lit(run_id))
        .sort("source_file", "source_row", "reason", nulls_last=False)
    )
    files = reconcile(outcomes, build, quarantine)
    broken = [f for f in files if not f["reconciled"]]
    if broken:
        raise ReconciliationError(
            "counts do not reconcile, nothing was published: "
            + "; ".join(
                f"{f['source_file']}: {f['records']} records (independent count "
                f"{f['independent_records']}), {f['blank_rows']} blank, read {f['rows_read']}"
                f" vs enriched {f['enriched']} + quarantined {f['quarantined']} + "
                f"duplicates {f['duplicates_collapsed']}"
                for f in broken
            )
        )
    enriched = Path(build.enriched_path) if build.enriched_path else None
    by_sha = {o.source_file: o for o in outcomes}
    versions: dict[str, int | None] = {}
    try:  # housekeeping of earlier runs' files; a failure here must not stop the publish
        removed = pub.vacuum_tables(out)
        if any(removed.values()):
            get_run_logger().info(
                "vacuum: deleted unused data files older than a week: %s", removed
            )
    except Exception as err:
        get_run_logger().warning("vacuum skipped: %s", err)
    _fault_point("before-commit")
    if enriched is not None:
        versions[pub.SNAPSHOTS] = pub.publish_snapshots(out, enriched, run_id)
    _fault_point("between-commits")
    versions[pub.QUARANTINE] = pub.publish_quarantine(
        out, quarantine, [o.source_file for o in outcomes], run_id
    )
    if enriched is not None:
        versions[pub.CREATORS] = pub.publish_creators(out, run_id)
    if params.keep_contacts and build.contacts_path:
        versions[pub.CONTACTS] = pub.publish_contacts(
            out, pl.read_parquet(build.contacts_path), run_id
        )
    versions[pub.LEDGER] = pub.publish_ledger(
        out,
        [
            {
                "source_file": f["source_file"],
                "path": by_sha[f["source_file"]].path,
                "sha256": by_sha[f["source_file"]].sha256,
                "processing_key": processing_key,
                "status": f["status"],
                "rows_read": f["rows_read"],
                "enriched": f["enriched"],
                "quarantined": f["quarantined"],
                "duplicates_collapsed": f["duplicates_collapsed"],
                "run_id": run_id,
            }
            for f in files
        ],
        run_id,
    )
    refresh_catalog(out)
    write_data_dictionary(out)
    timings["publish"] = time.perf_counter() - t0

    rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
    manifest = {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code_version": CODE_VERSION,
        "rate_card_version": rate_card.meta.version,
        "tier_scheme": params.tier_scheme or rate_card.meta.default_scheme,
        "params": params.model_dump(mode="json"),
        "table_versions": versions,
        "files": [
            {
                **f,
                "sha256": by_sha[f["source_file"]].sha256,
                "path": by_sha[f["source_file"]].path,
                "platform": by_sha[f["source_file"]].platform,
                "snapshot_date": by_sha[f["source_file"]].snapshot_date,
                "detail": by_sha[f["source_file"]].detail,
                "mapping": by_sha[f["source_file"]].mapping,
                "decisions": by_sha[f["source_file"]].decisions,
                "unmapped_columns": by_sha[f["source_file"]].unmapped_columns,
                "notes": by_sha[f["source_file"]].notes,
            }
            for f in files
        ],
        "skipped_files": skipped,
        "quarantine_by_reason": dict(
            quarantine.group_by("reason").len().sort("reason").iter_rows()
        ),
        "quarantined_rows_by_reason": quarantined_rows_by_reason(quarantine, files),
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    if enriched is not None:
        by_tier = (
            pl.scan_parquet(enriched)
            .group_by("platform", "tier")
            .len()
            .sort("platform", "tier")
            .collect()
        )
        if by_tier.height:
            manifest["rows_by_platform_tier"] = [
                {"platform": p, "tier": t, "rows": n} for p, t, n in by_tier.iter_rows()
            ]
    if quarantine.height:  # for analysts fixing their exports in a spreadsheet
        pub.write_csv_safe(out / "runs" / run_id / "quarantine.csv", quarantine)
    pub.write_json_atomic(out / "runs" / run_id / "manifest.json", manifest)
    publish_artifacts(manifest)
    return manifest


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
        status = f["status"] if f["status"] == "ok" else f"quarantined: {f['reason']}"
        lines.append(
            f"| {f['source_file']} | {status} | {f['rows_read']} | {f['enriched']} | "
            f"{f['quarantined']} | {f['duplicates_collapsed']} |"
        )
    for f in manifest.get("skipped_files", []):
        lines.append(f"| {f['source_file']} | skipped (seen in {f['processed_by_run']}) | | | | |")
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
        if f["status"] == "quarantined":
            rows[f["reason"]] = rows.get(f["reason"], 0) + f["rows_read"]
    return dict(sorted(rows.items()))


def publish_artifacts(manifest: dict[str, Any]) -> None:
    """A markdown summary and a per-file table, visible in the Prefect UI."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

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


def _fault_point(name: str) -> None:
    """Fault injection for the crash tests: ROSTER_FAULT_PAUSE=<point>:<seconds> makes the
    run sleep at that point of the publish, so a test can SIGKILL it there."""
    spec = os.environ.get("ROSTER_FAULT_PAUSE", "")
    point, _, seconds = spec.partition(":")
    if point == name:
        print(f"fault point {name}: pausing {seconds}s", flush=True)
        time.sleep(float(seconds or 60))


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@flow(
    name="enrich-roster",
    log_prints=False,
    validate_parameters=True,
    # deployments run the flow as declared: a bounded pool, files in parallel
    task_runner=ThreadPoolTaskRunner(max_workers=2),
)
def enrich_roster(params: EnrichParams) -> dict[str, Any]:
    """Ingest every export under ``params.inputs`` and publish the enriched roster."""
    flow_started = time.perf_counter()
    logger = get_run_logger()
    run_id = new_run_id()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = Path(params.out)
    options = RunOptions(
        platform=params.platform,
        snapshot_date=params.snapshot_date,
        mapping_file=params.mapping,
        rate_card_file=params.rate_card,
        tier_scheme=params.tier_scheme,
        keep_contacts=params.keep_contacts,
        max_file_bytes=params.max_file_mb << 20,
    )
    load_rate_card(Path(params.rate_card) if params.rate_card else None).scheme(params.tier_scheme)
    files = discover_inputs(params.inputs)
    if not files:
        # a nightly run on an empty landing folder has nothing to do: that is not a failure
        logger.warning("no export files found in %s", ", ".join(params.inputs))
        return {
            "run_id": run_id,
            "files": [],
            "skipped_files": [],
            "nothing_to_do": True,
            "params": params.model_dump(mode="json"),
            "timings_seconds": {"flow_total": round(time.perf_counter() - flow_started, 3)},
        }
    timings: dict[str, float] = {}
    with pub.exclusive_lock(out, run_id, params.wait_lock):
        pub.remove_stale_staging(out)  # left by a killed run; we hold the lock
        staging = out / "_staging" / run_id
        staging.mkdir(parents=True, exist_ok=True)
        try:
            t0 = time.perf_counter()
            rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
            processing_key = processing_key_of(
                params, rate_card.meta.version, params.tier_scheme or rate_card.meta.default_scheme
            )
            hashes = {str(path): sha256_of(path) for path, _ in files}
            seen = {} if params.full_refresh else pub.ledger_lookup(out, processing_key)
            todo = [(p, label) for p, label in files if hashes[str(p)] not in seen]
            skipped = [
                {
                    "source_file": label,
                    "path": str(p),
                    "sha256": hashes[str(p)],
                    "processed_by_run": seen[hashes[str(p)]],
                }
                for p, label in files
                if hashes[str(p)] in seen
            ]
            logger.info(
                "run %s: %d input file(s) -> %s (%d already processed, skipped)",
                run_id,
                len(files),
                out,
                len(skipped),
            )
            futures = [
                ingest_task.submit(str(path), label, i, options, str(staging), hashes[str(path)])
                for i, (path, label) in enumerate(todo)
            ]
            outcomes = [o for fut in futures for o in fut.result()]
            timings["ingest"] = time.perf_counter() - t0
            build = enrich_task(
                outcomes, options, str(staging), run_id, str(pub.table_path(out, pub.SNAPSHOTS))
            )
            timings.update(build.seconds)
            manifest = publish_task(
                outcomes, build, params, run_id, started_at, timings, skipped, processing_key
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with_parent = staging.parent
            if with_parent.exists() and not any(with_parent.iterdir()):
                with_parent.rmdir()
    manifest["timings_seconds"]["flow_total"] = round(time.perf_counter() - flow_started, 3)
    logger.info("run %s published", run_id)
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
