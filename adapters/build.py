"""The run's build step: every staged row of the run -> dedupe within deliveries -> enrich
-> validate the enriched roster; staged back as parquet for publishing, with the reach model
fitted in the run and its backtest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from adapters.config import load_country_aliases, load_rate_card
from adapters.ingest import RunOptions
from schemas.manifest import FileOutcome
from schemas.vocabulary import DuplicateStatus
from transforms.backtest import backtest
from transforms.country import country_lookup
from transforms.enrich import creator_key
from transforms.quarantine import empty_quarantine, quarantine_frame
from transforms.reconcile import tally_by_file
from transforms.settings import RateCard
from transforms.stages import dedupe_run, enrich_run, validate_enriched


@dataclass
class RosterBuild:
    enriched_path: str | None
    quarantine_paths: list[str]
    per_file: dict[str, dict[str, int]]  # source_file -> enriched, duplicates, conflicts, failed
    seconds: dict[str, float]
    contacts_path: str | None = None
    reach_model: dict | None = None  # what the run learned about reach (ReachFit.summary)
    # the backtest of the reach estimates on this run's rows (transforms.backtest)
    reach_evaluation: dict | None = None
    collapsed_path: str | None = None  # (source_file, source_row) of collapsed duplicates


def build_roster(
    outcomes: list[FileOutcome],
    options: RunOptions,
    staging: Path,
    run_id: str,
    history: pl.LazyFrame | None = None,
) -> RosterBuild:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    staged = [o.staged_path for o in outcomes if o.staged_path and o.staged_rows]
    qpaths = [o.quarantine_path for o in outcomes if o.quarantine_path]
    per_file = {
        o.source_file: {"enriched": 0, "duplicates": 0, "conflicts": 0, "enrich_failed": 0}
        for o in outcomes
    }
    if not staged:
        return RosterBuild(None, qpaths, per_file, timings)
    rate_card = load_rate_card(Path(options.rate_card_file) if options.rate_card_file else None)
    countries = country_lookup(load_country_aliases())

    deduped = dedupe_run(pl.scan_parquet(staged))
    collapsed_path = staging / "collapsed.parquet"
    dropped = deduped.dropped()
    dropped.filter(pl.col("_dup_status") == DuplicateStatus.DUPLICATE).select(
        "source_file", "source_row"
    ).write_parquet(collapsed_path)
    kept = deduped.kept
    timings["dedupe"] = time.perf_counter() - t0
    _count_staged(per_file, outcomes, dropped)
    conflicts = deduped.conflicts()

    t1 = time.perf_counter()
    # reach is learned from this run's rows and the earlier published snapshots (history)
    enriched, reach_fit = enrich_run(
        kept, rate_card, countries, scheme=options.tier_scheme, run_id=run_id, history=history
    )
    timings["enrich"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    result, failed = validate_enriched(enriched)
    timings["validate_enriched"] = time.perf_counter() - t2
    for src, n in (
        result.failures.group_by("source_file").agg(pl.col("source_row").n_unique()).iter_rows()
    ):
        per_file[src]["enriched"] -= n
        per_file[src]["enrich_failed"] += n
    extra_q = [quarantine_frame(q, None, None) for q in (conflicts, failed) if q.height]
    if extra_q:
        p = staging / "quarantine-roster.parquet"
        pl.concat(extra_q).write_parquet(p)
        qpaths.append(str(p))
    out = staging / "enriched.parquet"
    result.valid.write_parquet(out, compression="lz4")
    t3 = time.perf_counter()
    evaluation = evaluate_reach(kept, rate_card, countries, options.tier_scheme, history)
    timings["evaluate_reach"] = time.perf_counter() - t3
    # Contact data never goes further than here unless asked for (--keep-contacts).
    contacts_path = _stage_contacts(kept, run_id, staging) if options.keep_contacts else None
    timings["build_total"] = time.perf_counter() - t0
    return RosterBuild(
        str(out),
        qpaths,
        per_file,
        timings,
        contacts_path,
        reach_model=reach_fit.summary(),
        reach_evaluation=evaluation,
        collapsed_path=str(collapsed_path),
    )


EVALUATE_MAX_ROWS = 200_000  # past this, the run's backtest scores an even sample of creators


def evaluate_reach(
    kept: pl.LazyFrame,
    rate_card: RateCard,
    countries: pl.DataFrame,
    scheme: str | None,
    history: pl.LazyFrame | None,
    max_rows: int = EVALUATE_MAX_ROWS,
) -> dict | None:
    """The backtest of ``roster evaluate`` on the run's own rows, for the manifest: each
    platform's latest snapshot has its views hidden and predicted from everything else.
    A run over ``max_rows`` rows is scored on every k-th creator (all of that
    creator's rows, chosen by a hash of platform and handle) to bound the second enrich
    pass; the result says which share. None when no row has views."""
    rows = kept.select(pl.len()).collect().item()
    every = -(-rows // max_rows)  # ceil: 1 = every creator
    if every > 1:
        creator = pl.concat_str("platform", "handle_norm", separator=":")
        kept = kept.filter(creator.hash(seed=0) % every == 0)
    result = backtest(kept.collect(), rate_card, countries, scheme, history)
    if not result.held_out:
        return None
    return {**result.to_dict(), "creators_sampled": f"1 in {every}" if every > 1 else "all"}


def _count_staged(
    per_file: dict[str, dict[str, int]], outcomes: list[FileOutcome], dropped: pl.DataFrame
) -> None:
    """Per file: rows staged, less the repeats ``dedupe_run`` dropped (duplicates
    collapsed, conflicts quarantined)."""
    for o in outcomes:
        if o.staged_path and o.staged_rows:
            per_file[o.source_file]["enriched"] += o.staged_rows
    key = {DuplicateStatus.DUPLICATE: "duplicates", DuplicateStatus.CONFLICT: "conflicts"}
    for src, status, n in dropped.group_by("source_file", "_dup_status").len().iter_rows():
        per_file[src][key[status]] += n
        per_file[src]["enriched"] -= n


def _stage_contacts(kept: pl.LazyFrame, run_id: str, staging: Path) -> str | None:
    contacts = (
        kept.filter(pl.col("email").is_not_null() | pl.col("phone").is_not_null())
        .select(
            creator_key(pl.col("platform"), pl.col("handle_norm")).alias("creator_key"),
            "platform",
            "handle",
            "email",
            "phone",
            "snapshot_date",
            "source_file",
            "source_row",
            run_id=pl.lit(run_id),
        )
        .collect()
    )
    if not contacts.height:
        return None
    path = staging / "contacts.parquet"
    contacts.write_parquet(path)
    return str(path)


def staged_tally(build: RosterBuild) -> dict[str, dict[str, int]]:
    """``tally_by_file`` of one run's staging alone (before any merge with other
    deliveries: nothing superseded)."""
    delivered = (
        pl.read_parquet(build.enriched_path, columns=["source_file"])
        if build.enriched_path
        else pl.DataFrame(schema={"source_file": pl.String})
    )
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in build.quarantine_paths], how="vertical")
        if build.quarantine_paths
        else empty_quarantine()
    )
    collapsed = (
        pl.read_parquet(build.collapsed_path)
        if build.collapsed_path
        else pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64})
    )
    return tally_by_file(delivered, delivered.clear(), quarantine, collapsed)
