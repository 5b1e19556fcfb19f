"""Reconciliation: per delivery, rows read = enriched + quarantined (superseded included) +
collapsed duplicates, with the right side counted from the rows about to be published, never
from the outcome records being checked. Nothing is published when it does not add up."""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.manifest import FileOutcome
from schemas.vocabulary import FileStatus


class ReconciliationError(RuntimeError):
    """Counts do not add up: nothing is published."""


def tally_by_file(
    delivered: pl.DataFrame, losers: pl.DataFrame, quarantine: pl.DataFrame, collapsed: pl.DataFrame
) -> dict[str, dict[str, int]]:
    """Per source file, counted from the rows about to be published (never from the
    outcome records that ``reconcile`` checks): rows delivered, of which superseded;
    distinct quarantined rows; whole-file rejections; repeated quarantine rows (a
    bookkeeping error); collapsed duplicates."""
    tally: dict[str, dict[str, int]] = {}

    def add(frame: pl.DataFrame, name: str) -> None:
        for src, n in frame.iter_rows():
            tally.setdefault(src, {}).setdefault(name, 0)
            tally[src][name] += n

    add(delivered.group_by("source_file").len(), "delivered")
    add(losers.group_by("source_file").len(), "superseded")
    add(collapsed.group_by("source_file").len(), "collapsed")
    rowwise = quarantine.filter(pl.col("source_row").is_not_null())
    add(rowwise.group_by("source_file").agg(pl.col("source_row").n_unique()), "quarantined")
    whole = quarantine.filter(pl.col("source_row").is_null())
    add(whole.group_by("source_file").len(), "whole_file")
    identity = ["source_file", "source_row", "reason", "column", "field", "raw_value"]
    repeats = quarantine.filter(pl.struct(identity).is_duplicated())
    add(repeats.group_by("source_file").len(), "repeated_quarantine_rows")
    return tally


def reconcile(
    outcomes: list[FileOutcome], tally: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """Per delivery: rows read = enriched + quarantined (superseded included) + collapsed
    duplicates, with the right side counted from the staged and merged rows. A staged
    artefact that went missing, was counted twice or belongs to no outcome fails it."""
    labels = [o.source_file for o in outcomes]
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        t = tally.get(o.source_file, {})
        whole = o.status == FileStatus.QUARANTINED
        superseded = t.get("superseded", 0)
        enriched = t.get("delivered", 0) - superseded
        quarantined = (o.rows_read if whole else t.get("quarantined", 0)) + superseded
        dups = t.get("collapsed", 0)
        problems = [
            text
            for failed, text in (
                (labels.count(o.source_file) != 1, "the label is used by another file"),
                (
                    t.get("repeated_quarantine_rows", 0) > 0,
                    f"{t.get('repeated_quarantine_rows', 0)} quarantine rows staged twice",
                ),
                (
                    t.get("whole_file", 0) != (1 if whole else 0),
                    f"{t.get('whole_file', 0)} whole-file quarantine rows, expected "
                    f"{1 if whole else 0}",
                ),
                (whole and enriched + dups > 0, "rows staged for a file rejected whole"),
            )
            if failed
        ]
        sound = not problems
        rows.append(
            {
                "source_file": o.source_file,
                "delivery_file": o.delivery_file,
                "status": o.status,
                "reason": o.reason,
                "records": o.records,
                "blank_rows": o.blank_rows,
                "rows_read": o.rows_read,
                "enriched": enriched,
                "quarantined": quarantined,
                "superseded": superseded,
                "duplicates_collapsed": dups,
                "independent_records": o.independent_records,
                "problems": problems,
                "reconciled": sound
                and o.rows_read == enriched + quarantined + dups
                and (o.independent_records is None or o.independent_records == o.records),
            }
        )
    orphans = sorted(set(tally) - set(labels))
    for src in orphans:  # staged rows no outcome accounts for
        rows.append({"source_file": src, "reconciled": False, "orphan": tally[src]})
    return rows
