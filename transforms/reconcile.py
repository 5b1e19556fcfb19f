"""Reconciliation: per delivery, rows read = enriched + quarantined (superseded included) +
collapsed duplicates, with the right side counted from the rows about to be published, never
from the outcome records being checked. Nothing is published when it does not add up."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.manifest import FileCounts, FileOutcome
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


@dataclass
class Reconciliation:
    files: list[FileCounts]  # one per outcome, in their order
    orphans: dict[str, dict[str, int]]  # staged rows of a source file no outcome accounts for

    def broken(self) -> list[str]:
        """Each delivery that does not reconcile, and each orphan, as a line of text."""
        lines = [f.explain() for f in self.files if not f.reconciled]
        lines += [f"{s}: staged rows no file accounts for: {t}" for s, t in self.orphans.items()]
        return lines


def _problems(o: FileOutcome, t: dict[str, int], labels: list[str], staged: int) -> list[str]:
    """What is wrong with one delivery's bookkeeping (``staged`` = rows enriched or
    collapsed)."""
    whole = o.status == FileStatus.QUARANTINED
    repeated, whole_rows = t.get("repeated_quarantine_rows", 0), t.get("whole_file", 0)
    return [
        text
        for failed, text in (
            (labels.count(o.source_file) != 1, "the label is used by another file"),
            (repeated > 0, f"{repeated} quarantine rows staged twice"),
            (
                whole_rows != (1 if whole else 0),
                f"{whole_rows} whole-file quarantine rows, expected {1 if whole else 0}",
            ),
            (whole and staged > 0, "rows staged for a file rejected whole"),
        )
        if failed
    ]


def reconcile(outcomes: list[FileOutcome], tally: dict[str, dict[str, int]]) -> Reconciliation:
    """Per delivery: rows read = enriched + quarantined (superseded included) + collapsed
    duplicates, with the right side counted from the staged and merged rows. A staged
    artefact that went missing, was counted twice or belongs to no outcome fails it."""
    labels = [o.source_file for o in outcomes]
    files = []
    for o in outcomes:
        t = tally.get(o.source_file, {})
        whole = o.status == FileStatus.QUARANTINED
        superseded = t.get("superseded", 0)
        enriched = t.get("delivered", 0) - superseded
        quarantined = (o.rows_read if whole else t.get("quarantined", 0)) + superseded
        dups = t.get("collapsed", 0)
        problems = _problems(o, t, labels, enriched + dups)
        files.append(
            FileCounts(
                source_file=o.source_file,
                delivery_file=o.delivery_file,
                status=o.status,
                reason=o.reason,
                records=o.records,
                blank_rows=o.blank_rows,
                rows_read=o.rows_read,
                enriched=enriched,
                quarantined=quarantined,
                superseded=superseded,
                duplicates_collapsed=dups,
                independent_records=o.independent_records,
                problems=problems,
                reconciled=not problems
                and o.rows_read == enriched + quarantined + dups
                and (o.independent_records is None or o.independent_records == o.records),
            )
        )
    orphans = {src: tally[src] for src in sorted(set(tally) - set(labels))}
    return Reconciliation(files, orphans)
