"""The ``enrich-roster`` Prefect flow: the run of ``adapters.run`` publishing to the Delta
tables in ``params.out``, its heavy steps as coarse tasks (one per input file, then enrich,
then publish) that pass paths and small records between them, with retries for IO hiccups
and the run's summary as artifacts."""

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from adapters import run as steps
from adapters.build import RosterBuild
from adapters.discover import discover_inputs
from adapters.ingest import RunOptions, ingest_file, is_disk_full
from adapters.params import EnrichParams
from adapters.store import DeltaTableStore, TableStore
from schemas.manifest import FileOutcome, Manifest, SkippedFile
from schemas.options import RUN_PARAMS
from schemas.vocabulary import FileStatus
from transforms.reconcile import ReconciliationError

if TYPE_CHECKING:
    from prefect.futures import PrefectFuture
    from prefect.task_runners import TaskRunner

__all__ = ["EnrichParams", "ReconciliationError", "discover_inputs", "enrich_roster", "run_enrich"]


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
    store: TableStore,
) -> RosterBuild:
    return steps.build_with_history(outcomes, options, Path(staging), run_id, store)


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
    upgrades: list[str],
    store: TableStore,
) -> Manifest:
    """Reconcile, merge, commit, then write the manifest and the reports."""
    manifest, report = steps.publish(
        outcomes,
        build,
        params,
        run_id,
        started_at,
        timings,
        skipped,
        processing_key,
        upgrades,
        store,
        log=get_run_logger(),
    )
    publish_artifacts(manifest, report)
    return manifest


class PrefectSteps:
    """The run's steps as Prefect tasks: files ingested in parallel on the flow's runner."""

    def __init__(self) -> None:
        self.log = get_run_logger()

    def ingest(self, todo: list[steps.Todo], staging: Path) -> list[FileOutcome]:
        futures = [
            ingest_task.submit(
                str(t.path), t.label, i, steps.run_options(t.params), str(staging), t.sha256
            )
            for i, t in enumerate(todo)
        ]
        return [o for fut in futures for o in fut.result()]

    def build(
        self,
        outcomes: list[FileOutcome],
        options: RunOptions,
        staging: Path,
        run_id: str,
        store: TableStore,
    ) -> RosterBuild:
        return enrich_task(outcomes, options, str(staging), run_id, store)

    def publish(self, *args: Any) -> Manifest:
        return publish_task(*args)


@flow(
    name="enrich-roster",
    log_prints=False,
    validate_parameters=True,
    # deployments run the flow as declared: a bounded pool, files in parallel
    task_runner=cast(
        "TaskRunner[PrefectFuture[Any]]",
        ThreadPoolTaskRunner(max_workers=RUN_PARAMS["max_workers"].default),
    ),
)
def enrich_roster(params: EnrichParams) -> dict[str, Any]:
    """Ingest every export under ``params.inputs`` and publish the enriched roster; the
    result is the run's manifest as JSON data (``schemas.manifest.Manifest``)."""
    return steps.run(params, PrefectSteps(), DeltaTableStore(params.out)).model_dump(mode="json")


def summary_markdown(manifest: Manifest) -> str:
    """The run summary as markdown: the Prefect artifact, and what `--json` users can render."""
    lines = [
        f"# Roster run {manifest.run_id}",
        "",
        f"Rate card {manifest.rate_card_version}, tier scheme {manifest.tier_scheme}.",
        "",
        "| file | status | read | enriched | quarantined | duplicates |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for f in manifest.files:
        status = f.status if f.status == FileStatus.OK else f"quarantined: {f.reason}"
        lines.append(
            f"| {f.source_file} | {status} | {f.rows_read} | {f.enriched} | "
            f"{f.quarantined} | {f.duplicates_collapsed} |"
        )
    for s in manifest.skipped_files:
        lines.append(f"| {s.source_file} | skipped (seen in {s.processed_by_run}) | | | | |")
    for s in manifest.not_read:
        lines.append(f"| {s.source_file} | not read: {s.reason} ({s.detail}) | | | | |")
    if manifest.rows_by_platform_tier:
        lines += ["", "| platform | tier | rows |", "|---|---|---:|"]
        lines += [f"| {r.platform} | {r.tier} | {r.rows} |" for r in manifest.rows_by_platform_tier]
    if manifest.quarantine_by_reason:
        rows = manifest.quarantined_rows_by_reason
        lines += ["", "| quarantine reason | cells or files | input rows |", "|---|---:|---:|"]
        lines += [
            f"| {k} | {v} | {rows.get(k, '')} |" for k, v in manifest.quarantine_by_reason.items()
        ]
    return "\n".join(lines) + "\n"


def publish_artifacts(manifest: Manifest, report: Path | None = None) -> None:
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
            description=f"charts of the roster after run {manifest.run_id}",
        )
    create_markdown_artifact(
        summary_markdown(manifest),
        key="roster-run-summary",
        description=f"roster run {manifest.run_id}",
    )
    columns = {
        "source_file",
        "status",
        "reason",
        "rows_read",
        "enriched",
        "quarantined",
        "duplicates_collapsed",
    }
    create_table_artifact(
        [f.model_dump(mode="json", include=columns) for f in manifest.files],
        key="roster-run-files",
        description=f"per-file counts of run {manifest.run_id}",
    )


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
