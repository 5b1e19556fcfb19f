"""One run of the pipeline, in order, without Prefect:

1. find the input files (``adapters.discover``) and say why any other file is not read;
2. under the output folder's lock, skip the files already processed with these options
   (the ledger), remembering a ``--platform``/``--snapshot-date`` once given for a file;
3. ingest each new file (``adapters.ingest``: read, plan, parse, validate, stage);
4. build the run's roster (``adapters.build``: dedupe, enrich, validate);
5. publish (``publish``): merge the deliveries of the touched dates, reconcile every count,
   commit the tables, then the catalog, data dictionary, manifest and report.

The tables are read and written through the ``TableStore`` given to ``run``: Delta tables in
the output folder (``DeltaTableStore(params.out)``), or in memory (``MemoryTableStore``: the
whole run without a Delta table; the lock, staging, manifest and report still go to
``params.out``, and the DuckDB catalog, views over Delta files, is left out).

The Prefect flow (``flows.enrich_roster``) runs steps 3-5 as tasks by handing ``run`` its
``Steps``; ``LocalSteps`` runs them as plain calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from adapters import publish as pub
from adapters.build import RosterBuild, build_roster
from adapters.catalog import refresh_catalog
from adapters.config import load_rate_card
from adapters.dictionary import write_data_dictionary
from adapters.discover import Discovery, discover
from adapters.ingest import RunOptions, ingest_file, is_disk_full, sha256_of
from adapters.lock import exclusive_lock
from adapters.params import EnrichParams
from adapters.publish_steps import (
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
from adapters.run_manifest import build_manifest
from adapters.run_manifest import (  # where callers have found it
    quarantined_rows_by_reason as quarantined_rows_by_reason,
)
from adapters.store import DeltaTableStore, TableStore
from adapters.upgrade import upgrade
from adapters.writers import write_csv_safe, write_json_atomic
from schemas.manifest import FileOutcome, Manifest, SkippedFile
from schemas.options import FILE_LEVEL
from schemas.tables import SNAPSHOTS
from schemas.vocabulary import SkipReason

Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class Todo:
    """A file to process, with the options that apply to it."""

    path: Path
    label: str
    sha256: str | None
    params: EnrichParams  # the run's, or with a platform/date remembered for this file
    remembered: str | None = None  # what was remembered, and from which run


class Steps(Protocol):
    """How the run's heavy steps are executed: plain calls, or Prefect tasks."""

    log: Logger

    def ingest(self, todo: list[Todo], staging: Path) -> list[FileOutcome]: ...

    def build(
        self,
        outcomes: list[FileOutcome],
        options: RunOptions,
        staging: Path,
        run_id: str,
        store: TableStore,
    ) -> RosterBuild: ...

    def publish(
        self,
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
    ) -> Manifest: ...


class LocalSteps:
    """The steps as plain calls in this process, one file after another."""

    def __init__(self, log: Logger | None = None) -> None:
        self.log = log or logging.getLogger("roster")

    def ingest(self, todo: list[Todo], staging: Path) -> list[FileOutcome]:
        return [
            o
            for i, t in enumerate(todo)
            for o in ingest_file(t.path, t.label, i, run_options(t.params), staging, t.sha256)
        ]

    def build(
        self,
        outcomes: list[FileOutcome],
        options: RunOptions,
        staging: Path,
        run_id: str,
        store: TableStore,
    ) -> RosterBuild:
        return build_with_history(outcomes, options, staging, run_id, store)

    def publish(self, *args: Any) -> Manifest:
        manifest, _ = publish(*args, log=self.log)
        return manifest


def build_with_history(
    outcomes: list[FileOutcome],
    options: RunOptions,
    staging: Path,
    run_id: str,
    store: TableStore,
) -> RosterBuild:
    """``build_roster`` with the earlier published snapshots as the creators' own history."""
    history = store.scan(SNAPSHOTS) if store.exists(SNAPSHOTS) else None
    return build_roster(outcomes, options, staging, run_id, history=history)


def vacuum_quietly(store: TableStore, log: Logger) -> None:
    """Housekeeping of earlier runs' files; a failure here must not stop the publish."""
    try:
        removed = pub.vacuum_tables(store)
        if any(removed.values()):
            log.info("vacuum: deleted unused data files older than a week: %s", removed)
    except Exception as err:
        log.warning("vacuum skipped: %s", err)


def publish(
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
    *,
    log: Logger,
) -> tuple[Manifest, Path | None]:
    """Reconcile, merge, commit, then write the manifest and the reports; returns the
    manifest and the report's path (None when it could not be drawn)."""
    out = Path(params.out)
    t0 = time.perf_counter()
    attributes = delivery_attributes(outcomes, store, dt.datetime.fromisoformat(started_at))
    staged = read_staged(outcomes, build, attributes, run_id)
    delivery_files = sorted({o.delivery_file for o in outcomes})
    merged = merge_dates(store, staged, delivery_files, run_id)
    files = check_reconciled(outcomes, staged, merged)
    vacuum_quietly(store, log)
    delivered_at = dict(attributes.select("source_file", "delivered_at").iter_rows())
    replaced = sorted(
        {o.source_file for o in outcomes} | set(pub.source_files_of(store, delivery_files))
    )
    before = pub.table_versions(store)
    try:
        versions = commit_tables(
            store,
            merged,
            staged,
            replaced,
            build.contacts_path if params.keep_contacts else None,
            ledger_rows(outcomes, files, processing_key, delivered_at, run_id),
            run_id,
        )
    except Exception as err:
        raise PublishIncomplete(publish_failure(store, err, before, merged.dates)) from err
    if isinstance(store, DeltaTableStore):  # the catalog is views over the Delta files
        refresh_catalog(store.root)
    write_data_dictionary(out)
    timings["publish"] = time.perf_counter() - t0
    quarantine = pl.concat([staged.quarantine, merged.superseded.select(staged.quarantine.columns)])
    manifest = build_manifest(
        outcomes, files, params, run_id, started_at, versions, merged, quarantine, timings
    )
    manifest.skipped_files = [s for s in skipped if s.reason == SkipReason.ALREADY_PROCESSED]
    manifest.not_read = [s for s in skipped if s.reason != SkipReason.ALREADY_PROCESSED]
    manifest.reach_model, manifest.reach_evaluation = build.reach_model, build.reach_evaluation
    manifest.upgrades = upgrades
    if quarantine.height:  # for analysts fixing their exports in a spreadsheet
        write_csv_safe(
            out / "runs" / run_id / "quarantine.csv",
            quarantine.sort("source_file", "source_row", "reason", nulls_last=False),
        )
    write_json_atomic(out / "runs" / run_id / "manifest.json", manifest.model_dump(mode="json"))
    return manifest, write_report_quietly(out, manifest, store, log)


def write_report_quietly(
    out: Path, manifest: Manifest, store: TableStore, log: Logger
) -> Path | None:
    """OUT/report.html; a report that cannot be drawn is a warning, never a failed run."""
    from adapters.report import write_report

    try:
        return write_report(out, manifest, store)
    except Exception as err:
        log.warning("report.html not written: %s: %s", type(err).__name__, err)
        return None


def processing_key_of(params: EnrichParams, rate_card_version: str, scheme: str) -> str:
    """What, besides the file's bytes, decides its output: a file is skipped only when it was
    processed with the same rate card, scheme and file-level options. The format is
    ``publish.KEYED_OPTIONS`` by position; any other file-level option that is set follows
    the mapping as ``name=value`` (so keys written before it existed stay valid)."""
    mapping = sha256_of(Path(params.mapping))[:12] if params.mapping else "-"
    keyed = [str(getattr(params, name) or "-") for name in pub.KEYED_OPTIONS]
    named = [
        f"{name}={getattr(params, name)}"
        for name in FILE_LEVEL
        if name not in pub.KEYED_OPTIONS and getattr(params, name) is not None
    ]
    return "/".join([rate_card_version, scheme, *keyed, mapping, *named])


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


def split_known(
    files: list[tuple[Path, str]],
    params: EnrichParams,
    key_of: Callable[[EnrichParams], str],
    store: TableStore,
) -> tuple[list[Todo], list[SkippedFile]]:
    """(files to process, files skipped as already processed): a file is skipped when the
    same path with the same bytes was processed with these options. A platform or date
    given for a file in an earlier run (``--snapshot-date`` on an undated export) is
    remembered with its bytes and applies again when this run gives none: a later plain
    run neither re-quarantines the file nor drops its rows."""
    remembered = pub.remembered_options(store)  # --full-refresh reprocesses with them too
    lookups: dict[str, dict[tuple[str, str | None], str]] = {}
    todo, skipped = [], []
    for path, label in files:
        sha = sha256_or_none(path)
        mine, note = with_remembered(params, remembered.get((label, sha)))
        key = key_of(mine)
        if key not in lookups:
            lookups[key] = {} if params.full_refresh else pub.ledger_lookup(store, key)
        if (label, sha) in lookups[key]:
            run = lookups[key][(label, sha)]
            skipped.append(
                SkippedFile(source_file=label, path=str(path), sha256=sha, processed_by_run=run)
            )
        else:
            todo.append(Todo(path, label, sha, mine, note))
    return todo, skipped


def with_remembered(
    params: EnrichParams, memory: tuple[dict[str, str], str] | None
) -> tuple[EnrichParams, str | None]:
    """``params`` with the file-level options remembered for one file where the run gives
    none of its own; and a note saying so."""
    if memory is None:
        return params, None
    given, run = memory
    update: dict[str, Any] = {n: v for n, v in given.items() if getattr(params, n) is None}
    if not update:
        return params, None
    said = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in update.items())
    checked = EnrichParams.model_validate({**params.model_dump(), **update})
    return checked, f"--{said} remembered from run {run}"


def nothing_to_do(
    run_id: str, params: EnrichParams, not_read: list[SkippedFile], started: float, log: Logger
) -> Manifest:
    """A nightly run on an empty landing folder has nothing to do: that is not a failure."""
    log.warning("no export files found in %s", ", ".join(params.inputs))
    return Manifest(
        run_id=run_id,
        params=params.model_dump(mode="json"),
        not_read=not_read,
        nothing_to_do=True,
        timings_seconds={"flow_total": round(time.perf_counter() - started, 3)},
    )


def process(
    params: EnrichParams,
    files: list[tuple[Path, str]],
    not_read: list[SkippedFile],
    run_id: str,
    started_at: str,
    staging: Path,
    steps: Steps,
    store: TableStore,
) -> Manifest:
    """Ingest the new files, build the roster, publish: under the lock, in ``staging``."""
    out = Path(params.out)
    t0 = time.perf_counter()
    rate_card = load_rate_card(Path(params.rate_card) if params.rate_card else None)
    scheme = params.tier_scheme or rate_card.meta.default_scheme

    def key_of(p: EnrichParams) -> str:
        return processing_key_of(p, rate_card.meta.version, scheme)

    processing_key = key_of(params)
    upgrades = upgrade(store, run_id)  # a folder written by an earlier release
    for line in upgrades:
        steps.log.info("upgraded %s: %s", out, line)
    todo, skipped = split_known(files, params, key_of, store)
    steps.log.info(
        "run %s: %d input file(s) -> %s (%d already processed, skipped)",
        run_id,
        len(files),
        out,
        len(skipped),
    )
    outcomes = steps.ingest(todo, staging)
    by_delivery = {t.label: t for t in todo}
    for o in outcomes:  # the options that decided each file, for the ledger
        t = by_delivery[o.delivery_file]
        o.processing_key = key_of(t.params)
        if t.remembered:
            o.notes.append(t.remembered)
    flag_copies(outcomes, pub.loaded_copies(store))
    timings = {"ingest": time.perf_counter() - t0}
    build = steps.build(outcomes, run_options(params), staging, run_id, store)
    timings.update(build.seconds)
    return steps.publish(
        outcomes,
        build,
        params,
        run_id,
        started_at,
        timings,
        [*skipped, *not_read],
        processing_key,
        upgrades,
        store,
    )


def remove_stale_staging(out: Path) -> None:
    """Staging folders of runs that died; only call while holding the lock."""
    staging = out / "_staging"
    if staging.is_dir():
        for child in staging.iterdir():
            shutil.rmtree(child, ignore_errors=True)


def run(params: EnrichParams, steps: Steps, store: TableStore) -> Manifest:
    """Ingest every export under ``params.inputs`` and publish the enriched roster to
    ``store``."""
    flow_started = time.perf_counter()
    run_id = new_run_id()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = Path(params.out)
    load_rate_card(Path(params.rate_card) if params.rate_card else None).scheme(params.tier_scheme)
    found = discover(params.inputs, out)
    not_read = not_read_files(found)
    for n in not_read:
        steps.log.info("not read: %s", n.detail)
    if not found.files:
        return nothing_to_do(run_id, params, not_read, flow_started, steps.log)
    with exclusive_lock(out, run_id, params.wait_lock):
        remove_stale_staging(out)  # left by a killed run; we hold the lock
        staging = out / "_staging" / run_id
        staging.mkdir(parents=True, exist_ok=True)
        try:
            manifest = process(
                params, found.files, not_read, run_id, started_at, staging, steps, store
            )
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
    manifest.timings_seconds["flow_total"] = round(time.perf_counter() - flow_started, 3)
    steps.log.info("run %s published", run_id)
    return manifest
