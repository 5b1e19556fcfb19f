"""The bad-input corpus (tests/corpus/make_corpus.py): every case's exact outcome.

Per case, and per source file of the case:

* ``test_outcome``: whole-file quarantine with its reason, or exactly which source_rows are
  quarantined and why, how many rows are enriched and collapsed, and some enriched values.
  The pipeline stages (read -> parse -> validate -> dedupe -> enrich) run without Prefect on
  the case's files alone: cheap, and a crash in one case cannot hide another's result.
* ``test_reconciles``: every row read is in exactly one place - enriched, quarantined or
  collapsed as a duplicate - counted from the enriched and quarantine rows themselves, and
  ``reconcile()`` agrees.
* ``test_rows_read_matches_csv_module``: for delimited files, rows read equals an
  independent count of the non-blank records after the header made with Python's ``csv``.
* ``test_flow_outcome``: the same expectations hold in ONE Prefect flow run over every case
  without a known bug (manifest counts, published quarantine and creator_snapshots tables).

A case with ``bug`` asserts the right behaviour and is ``xfail(strict=True)`` (pinned to the
exception it raises today) in the checks the bug breaks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from adapters.build import RosterBuild, build_roster, staged_tally
from adapters.ingest import RunOptions, ingest_file
from flows.enrich_roster import discover_inputs
from schemas.manifest import FileCounts, FileOutcome
from tests.corpus.make_corpus import (
    CSV_COUNT,
    OUTCOME,
    RECONCILE,
    Case,
    CsvDialect,
    Expect,
    build_corpus,
    cases,
)
from transforms.quarantine import empty_quarantine
from transforms.reconcile import reconcile

CASES = cases()
BY_NAME = {c.name: c for c in CASES}
CSV_CASES = [c for c in CASES if any(e.csv for e in c.expect)]
FLOW_CASES = [c for c in CASES if not c.bug]  # a bug case may crash the run or block publishing
RAISES: dict[str, type[BaseException]] = {
    "AssertionError": AssertionError,
    "polars.exceptions.InvalidOperationError": pl.exceptions.InvalidOperationError,
    "_csv.Error": csv.Error,
}


def _params(check: str, selection: list[Case] = CASES) -> list:
    out = []
    for case in selection:
        marks = []
        if case.bug and check in case.bug_checks:
            raises = RAISES[case.bug_raises]
            marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=f"BUG: {case.bug}"))
        out.append(pytest.param(case.name, id=case.name, marks=marks))
    return out


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    build_corpus(root)
    return root


@dataclass
class Direct:
    outcomes: list[FileOutcome]
    build: RosterBuild
    quarantine: pl.DataFrame
    enriched: pl.DataFrame
    reconciled: list[FileCounts]


def _run_direct(case: Case, root: Path, staging: Path) -> Direct:
    options = RunOptions()
    outcomes: list[FileOutcome] = []
    for i, (path, label) in enumerate(discover_inputs([str(root / p) for p in case.paths])):
        outcomes += ingest_file(path, label, i, options, staging)
    build = build_roster(outcomes, options, staging, run_id="corpus")
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in build.quarantine_paths], how="vertical")
        if build.quarantine_paths
        else empty_quarantine()
    )
    enriched = (
        pl.read_parquet(build.enriched_path)
        if build.enriched_path
        else pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64})
    )
    return Direct(
        outcomes, build, quarantine, enriched, reconcile(outcomes, staged_tally(build)).files
    )


@pytest.fixture(scope="session")
def direct(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Direct]:
    """case name -> the pipeline stages run on that case's files (memoised; a crash re-raised)."""
    memo: dict[str, Direct | Exception] = {}

    def run(name: str) -> Direct:
        if name not in memo:
            try:
                staging = tmp_path_factory.mktemp(f"stage-{name}")
                memo[name] = _run_direct(BY_NAME[name], corpus, staging)
            except Exception as err:  # the case's result: every check of the case re-raises it
                memo[name] = err
        result = memo[name]
        if isinstance(result, Exception):
            raise result
        return result

    return run


@pytest.fixture(scope="module")
def flow_run(
    prefect_harness: None, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """ONE flow run over the files of every case without a known bug."""
    from flows.enrich_roster import EnrichParams, run_enrich

    out = tmp_path_factory.mktemp("flow") / "out"
    inputs = [str(corpus / p) for c in FLOW_CASES for p in c.paths]
    manifest = run_enrich(EnrichParams(inputs=inputs, out=str(out)))
    quarantine = pl.read_delta(str(out / "quarantine"))
    snapshots = pl.read_delta(str(out / "creator_snapshots"))
    return manifest, quarantine, snapshots


# --------------------------------------------------------------------------- helpers
def _status(e: Expect) -> tuple[str, str | None]:
    return ("quarantined", e.file_reason) if e.file_reason else ("ok", None)


def _check_quarantine(q: pl.DataFrame, e: Expect) -> None:
    """``q``: the quarantine rows of the source file ``e`` describes."""
    assert q.get_column("reason").null_count() == 0
    if e.file_reason:
        assert q.height == 1, q
        assert q.row(0, named=True)["source_row"] is None
        assert q.row(0, named=True)["reason"] == e.file_reason
        return
    assert q.filter(pl.col("source_row").is_null()).height == 0, "unexpected whole-file row"
    grouped = q.group_by("source_row").agg(pl.col("reason").unique())
    got = {row: frozenset(reasons) for row, reasons in grouped.iter_rows()}
    assert sorted(got) == sorted(e.quarantined), "quarantined source_rows differ"
    for row, expected in e.quarantined.items():
        assert expected == got[row], f"row {row}: got {sorted(got[row])}, expected {expected}"


def _same(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return want == got


def _check_values(enriched: pl.DataFrame, e: Expect) -> None:
    """``enriched``: the enriched rows of the source file ``e`` describes."""
    for row, columns in e.values.items():
        hit = enriched.filter(pl.col("source_row") == row)
        assert hit.height == 1, f"source_row {row} is not enriched exactly once"
        got = hit.row(0, named=True)
        for col, want in columns.items():
            assert _same(got[col], want), f"row {row} {col}: got {got[col]!r}, expected {want!r}"


def _count_csv_records(path: Path, dialect: CsvDialect) -> int:
    """Non-blank records after the header, counted with the csv module (no pipeline code)."""
    content = path.read_bytes().decode(dialect.encoding)
    old = csv.field_size_limit(1 << 30)  # restored at once: the pipeline gets the default
    try:
        records = list(csv.reader(io.StringIO(content, newline=""), delimiter=dialect.delimiter))
    finally:
        csv.field_size_limit(old)
    return sum(1 for r in records[dialect.preamble + 1 :] if any(cell.strip() for cell in r))


# --------------------------------------------------------------------------- the corpus
def test_corpus_has_the_required_cases() -> None:
    assert len(CASES) >= 30
    required = {
        "utf8_bom",
        "latin1",
        "cp1252",
        "utf16le_bom_sep_line",
        "semicolon_decimal_comma",
        "tab_delimited",
        "crlf_line_ends",
        "nul_bytes",
        "empty_file",
        "header_only",
        "only_blank_lines",
        "truncated_last_line",
        "unterminated_quote",
        "ragged_rows",
        "missing_followers_column",
        "extra_and_renamed_columns",
        "duplicated_headers",
        "duplicate_rows",
        "conflicting_values",
        "negative_values",
        "overflowing_followers",
        "nan_and_inf",
        "engagement_rate_over_100pct",
        "bad_value_at_row_10001",
        "ten_mb_cell",
        "formula_like_cells",
        "control_chars_and_emoji",
        "nfc_nfd_handle",
        "at_handle_vs_plain",
        "file_name_spaces_unicode",
        "file_name_double_dots",
        "same_file_twice",
        "xlsx_several_sheets",
        "json_missing_keys_string_numbers",
        "ndjson_malformed_line",
        "unknown_platform",
        "undated_file",
    }
    assert required <= set(BY_NAME)


def test_corpus_is_deterministic(tmp_path: Path, corpus: Path) -> None:
    build_corpus(tmp_path)

    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digests(tmp_path) == digests(corpus)


# --------------------------------------------------------------------------- per case
@pytest.mark.parametrize("name", _params(OUTCOME))
def test_outcome(name: str, direct: Callable[[str], Direct]) -> None:
    case, d = BY_NAME[name], direct(name)
    by_label = {o.source_file: o for o in d.outcomes}
    assert sorted(by_label) == sorted(e.label for e in case.expect)
    for e in case.expect:
        o = by_label[e.label]
        assert (o.status, o.reason) == _status(e), o.detail
        assert o.rows_read == e.rows_read
        assert (o.platform, o.snapshot_date) == (e.platform, e.snapshot_date)
        if e.mapping is not None:
            assert o.mapping == dict(e.mapping)
        if e.unmapped is not None:
            assert o.unmapped_columns == list(e.unmapped)
        _check_quarantine(d.quarantine.filter(pl.col("source_file") == e.label), e)
        mine = d.enriched.filter(pl.col("source_file") == e.label)
        assert mine.height == e.enriched
        assert d.build.per_file[e.label]["duplicates"] == e.duplicates
        _check_values(mine, e)


@pytest.mark.parametrize("name", _params(RECONCILE))
def test_reconciles(name: str, direct: Callable[[str], Direct]) -> None:
    d = direct(name)
    by_file = {r.source_file: r for r in d.reconciled}
    for o in d.outcomes:
        q = d.quarantine.filter(pl.col("source_file") == o.source_file)
        mine = d.enriched.filter(pl.col("source_file") == o.source_file)
        enriched_rows = set(mine.get_column("source_row"))
        assert len(enriched_rows) == mine.height, "a source_row enriched twice"
        if o.status == "quarantined":
            assert q.filter(pl.col("source_row").is_null()).height == 1
            assert mine.height == 0
            quarantined = o.rows_read
        else:
            q_rows = set(q.get_column("source_row").drop_nulls())
            assert not (q_rows & enriched_rows), "a row is both enriched and quarantined"
            quarantined = len(q_rows)
        dups = d.build.per_file[o.source_file]["duplicates"]
        assert o.rows_read == len(enriched_rows) + quarantined + dups
        assert o.records == o.rows_read + o.blank_rows
        rec = by_file[o.source_file]
        assert rec.reconciled is True
        assert (rec.enriched, rec.quarantined, rec.duplicates_collapsed) == (
            len(enriched_rows),
            quarantined,
            dups,
        )


@pytest.mark.parametrize("name", _params(CSV_COUNT, CSV_CASES))
def test_rows_read_matches_csv_module(
    name: str, corpus: Path, direct: Callable[[str], Direct]
) -> None:
    case = BY_NAME[name]
    labels = discover_inputs([str(corpus / p) for p in case.paths])
    path_of = {label: path for path, label in labels}
    by_label = {o.source_file: o for o in direct(name).outcomes}
    for e in case.expect:
        if e.csv is None:
            continue
        counted = _count_csv_records(path_of[e.label], e.csv)
        # the corpus holds what the case says it holds ...
        assert counted == (e.csv_records if e.csv_records is not None else e.rows_read)
        # ... and the pipeline saw every record of every file it could read
        if not e.read_rejected:  # footer rows are skipped and counted like blank rows
            assert by_label[e.label].rows_read == counted - e.footer_rows


@pytest.mark.parametrize("name", [c.name for c in FLOW_CASES])
def test_flow_outcome(name: str, flow_run: tuple[dict, pl.DataFrame, pl.DataFrame]) -> None:
    manifest, quarantine, snapshots = flow_run
    files = {f["source_file"]: f for f in manifest["files"]}
    for e in BY_NAME[name].expect:
        f = files[e.label]
        assert f["reconciled"] is True
        assert (f["status"], f["reason"]) == _status(e)
        assert (f["platform"], f["snapshot_date"]) == (e.platform, e.snapshot_date)
        assert (f["rows_read"], f["enriched"], f["quarantined"], f["duplicates_collapsed"]) == (
            e.rows_read,
            e.enriched - e.superseded,
            e.quarantined_count + e.superseded,
            e.duplicates,
        )
        q = quarantine.filter(pl.col("source_file") == e.label)
        assert q.filter(pl.col("reason") == "superseded").height == e.superseded
        _check_quarantine(q.filter(pl.col("reason") != "superseded"), e)
        mine = snapshots.filter(pl.col("source_file") == e.label)
        assert mine.height == e.enriched - e.superseded
        _check_values(mine, e)


def test_flow_run_covers_every_file(flow_run: tuple[dict, pl.DataFrame, pl.DataFrame]) -> None:
    manifest, _, _ = flow_run
    expected = sorted(e.label for c in FLOW_CASES for e in c.expect)
    assert sorted(f["source_file"] for f in manifest["files"]) == expected
    assert all(f["reconciled"] for f in manifest["files"])
