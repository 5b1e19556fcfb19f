"""``OUT/roster.duckdb``: a DuckDB catalog of the published Delta tables, for BI tools.

The database holds no data, only views over the Parquet files of the *current* version of each
Delta table (the file list comes from the Delta log, so files of replaced or unfinished commits
are never read):

* ``creators``, ``creator_snapshots``, ``quarantine``: one view per Delta table, columns in the
  table's order and with its types (partition columns included: ``snapshot_date`` DATE,
  ``platform`` VARCHAR), column comments from the data dictionary;
* ``tier_summary``: per platform and tier, from ``creators``;
* ``catalog_info`` (a small table): the Delta version, file and row count of each view and
  when the catalog was built, so a dashboard can show how fresh it is.

A table that does not exist yet (say no quarantine) gets an *empty* view with the contract's
columns and types (from ``schemas.tables``) rather than no view, so BI queries and dashboards
keep working on a fresh output folder; ``catalog_info`` shows it with version NULL.

The views name the files by their path *relative to OUT* (``creators/platform=x/part-...``),
so the output folder can be moved or copied (another disk, a zip to a colleague) and the
catalog still works. DuckDB resolves a relative path against the working directory, or the
folders of its ``file_search_path`` setting, so open it from OUT or name OUT there:
``connect_catalog(OUT)`` does the latter; ``cd OUT && duckdb -readonly roster.duckdb``, or
``SET file_search_path = '/path/to/OUT'`` in any client. ``vacuum`` removing files of an old
version needs a new ``refresh_catalog``; until then a catalog keeps reading the version it was
built on, which stays consistent because Delta never rewrites a data file in place.

The database is built in a temporary file in OUT and renamed onto ``roster.duckdb``, so a
reader sees the previous catalog or the new one, never a half-built one. For the three tables
to come from the same run, refresh under the run's lock (i.e. at the end of publishing).

Read it offline with only the ``duckdb`` package::

    con = duckdb.connect("OUT/roster.duckdb", read_only=True,
                         config={"file_search_path": "OUT"})
    con.sql("SELECT * FROM tier_summary").show()
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from adapters.dictionary import data_dictionary
from adapters.people_view import PEOPLE, PEOPLE_COMMENTS, people_view_sql
from adapters.store import DeltaTableStore
from schemas.tables import CREATORS, TABLES, polars_schema
from schemas.vocabulary import Tier

CATALOG_NAME = "roster.duckdb"
TIER_SUMMARY = "tier_summary"
CATALOG_INFO = "catalog_info"
GLOB_CHARS = frozenset("*?[")
UNREADABLE_FEATURES = frozenset({"deletionVectors", "columnMapping"})


class CatalogError(RuntimeError):
    """The catalog could not be built; the previous ``roster.duckdb`` is left as it was."""


class BIQuery(NamedTuple):
    title: str
    sql: str


# Example queries for the README ("Read the output from BI"); tests run each against a catalog.
BI_EXAMPLE_QUERIES: list[BIQuery] = [
    BIQuery(
        "Top 10 creators by estimated reach, per platform",
        """\
SELECT platform, handle, display_name, tier, followers, est_reach,
       est_cost_usd_low, est_cost_usd_mid, est_cost_usd_high
FROM creators
QUALIFY row_number() OVER (PARTITION BY platform ORDER BY est_reach DESC, handle_norm) <= 10
ORDER BY platform, est_reach DESC, handle_norm""",
    ),
    BIQuery(
        "Micro-influencers in one country (here GB), best engagement first, with their cost range",
        """\
SELECT platform, handle, followers, engagement_rate, categories,
       est_cost_usd_low, est_cost_usd_mid, est_cost_usd_high, est_cpm_usd
FROM creators
WHERE tier = 'micro' AND country = 'GB' AND is_current
ORDER BY engagement_rate DESC NULLS LAST, handle_norm""",
    ),
    BIQuery(
        "Current micro-influencers with one clear niche and a trusted audience",
        """\
SELECT platform, handle, followers, primary_niche, niche_focus, audience_quality,
       engagement_percentile, est_reach, est_cost_usd_mid
FROM creators
WHERE is_current AND tier = 'micro' AND niche_focus >= 0.5
  AND audience_quality IN ('high', 'medium')
ORDER BY engagement_percentile DESC NULLS LAST, handle_norm""",
    ),
    BIQuery(
        "People with accounts on several platforms",
        """\
SELECT person_key, display_name, platforms, handles, total_followers, total_est_reach,
       person_confidence
FROM people
WHERE accounts > 1
ORDER BY total_followers DESC, person_key
LIMIT 20""",
    ),
    BIQuery(
        "Quarantine by reason: what to fix in the exports",
        """\
SELECT reason,
       count(*) AS problems,
       count(*) FILTER (WHERE source_row IS NULL) AS whole_files,
       count(DISTINCT source_file) AS files,
       min(detail) AS example
FROM quarantine
GROUP BY reason
ORDER BY problems DESC, reason""",
    ),
    BIQuery(
        "Month-over-month follower growth per platform (creators present in both months)",
        """\
WITH monthly AS (
    SELECT platform, creator_key,
           CAST(date_trunc('month', snapshot_date) AS DATE) AS month,
           arg_max(followers, snapshot_date) AS followers
    FROM creator_snapshots
    GROUP BY ALL
), paired AS (
    SELECT cur.platform, cur.month, cur.followers, prev.followers AS followers_prev
    FROM monthly AS cur
    LEFT JOIN monthly AS prev
      ON prev.creator_key = cur.creator_key
     AND prev.month = CAST(cur.month - INTERVAL 1 MONTH AS DATE)
)
SELECT platform, month,
       count(*) AS creators,
       count(followers_prev) AS creators_in_both_months,
       CAST(sum(followers - followers_prev) AS BIGINT) AS followers_gained,
       sum(followers - followers_prev) / nullif(sum(followers_prev), 0) AS growth_pct
FROM paired
GROUP BY platform, month
ORDER BY platform, month""",
    ),
]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_schema(dt_: DeltaTable) -> pa.Schema:
    return pa.schema(dt_.schema().to_arrow())


def _sql_types(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> list[tuple[str, str]]:
    """(column, DuckDB type) of an Arrow schema, as DuckDB reads Parquet of that schema."""
    rel = con.from_arrow(schema.empty_table())
    return [(n, str(t)) for n, t in zip(rel.columns, rel.types, strict=True)]


class _Source(NamedTuple):
    table: str
    version: int | None
    files: list[str]
    rows: int | None
    columns: list[tuple[str, str]]  # (name, DuckDB type) in table order
    partition_by: list[str]


def _source(con: duckdb.DuckDBPyConnection, out: Path, table: str) -> _Source:
    store = DeltaTableStore(out)
    path = store.path(table)
    if not store.exists(table):
        schema = polars_schema(table).to_frame().to_arrow().schema
        return _Source(table, None, [], 0, _sql_types(con, schema), [])
    delta = DeltaTable(str(path))
    protocol = delta.protocol()
    features = set(protocol.reader_features or [])
    if protocol.min_reader_version == 2:
        features.add("columnMapping")  # reader version 2 is column mapping
    unreadable = features & UNREADABLE_FEATURES
    if unreadable:
        # plain Parquet reads would show deleted rows or physical column names
        raise CatalogError(
            f"{table}: the Delta table uses {', '.join(sorted(unreadable))}, which reading "
            "its Parquet files directly cannot honour"
        )
    # relative to OUT: the catalog keeps working when OUT is moved or copied
    files = [Path(f).resolve().relative_to(out).as_posix() for f in delta.file_uris()]
    bad = [f for f in files if GLOB_CHARS & set(f)]
    if bad:
        raise CatalogError(
            f"{table}: DuckDB would read {bad[0]!r} as a glob pattern; "
            "use an output folder whose path has no * ? or ["
        )
    adds = pa.table(delta.get_add_actions(flatten=True))
    rows = pc.sum(adds["num_records"]).as_py() if adds.num_rows else 0
    return _Source(
        table,
        delta.version(),
        files,
        rows,
        _sql_types(con, _arrow_schema(delta)),
        list(delta.metadata().partition_columns),
    )


def _view_sql(src: _Source) -> str:
    cols = ", ".join(_ident(n) for n, _ in src.columns)
    if not src.files:  # no table yet, or a table with no data files: an empty, typed view
        nulls = ", ".join(f"CAST(NULL AS {t}) AS {_ident(n)}" for n, t in src.columns)
        return f"CREATE VIEW {_ident(src.table)} AS SELECT {nulls} WHERE false"
    types = dict(src.columns)
    options = ["union_by_name = true"]
    if src.partition_by:
        # Delta writes hive-style directories (``platform=x``) and leaves partition columns
        # out of the Parquet files. Give their types rather than let DuckDB guess from the
        # directory names (a value like ``2026`` would come back as a number).
        hive_types = ", ".join(f"{_literal(c)}: {types[c]}" for c in src.partition_by)
        options += ["hive_partitioning = true", f"hive_types = {{{hive_types}}}"]
    else:
        # Not auto-detect: a ``key=value`` folder above OUT must not turn into a column.
        options.append("hive_partitioning = false")
    files = ",\n    ".join(_literal(f) for f in src.files)
    return (
        f"CREATE VIEW {_ident(src.table)} AS SELECT {cols}\n"
        f"FROM read_parquet([\n    {files}\n], {', '.join(options)})"
    )


def _tier_summary_sql() -> str:
    tiers = ", ".join(_literal(t) for t in Tier.codes())
    return f"""\
CREATE VIEW {TIER_SUMMARY} AS
SELECT platform,
       tier,
       coalesce(list_position([{tiers}], tier), {len(Tier) + 1}) AS tier_order,
       count(*) AS creators,
       CAST(sum(est_reach) AS BIGINT) AS total_est_reach,
       CAST(sum(est_reach_low) AS BIGINT) AS total_est_reach_low,
       CAST(sum(est_reach_high) AS BIGINT) AS total_est_reach_high,
       sum(est_cost_usd_low) AS total_est_cost_usd_low,
       sum(est_cost_usd_mid) AS total_est_cost_usd_mid,
       sum(est_cost_usd_high) AS total_est_cost_usd_high,
       median(followers) AS median_followers,
       avg(engagement_rate) AS avg_engagement_rate,
       median(engagement_rate) AS median_engagement_rate,
       median(est_cpm_usd) AS median_est_cpm_usd,
       median(est_cpe_usd) AS median_est_cpe_usd,
       count(*) FILTER (
           WHERE list_has_any(estimate_flags, ['cpm_below_cited_range', 'cpm_above_cited_range'])
       ) AS creators_cpm_flagged
FROM {CREATORS}
WHERE is_current
GROUP BY platform, tier
ORDER BY platform, tier_order, tier"""


TIER_SUMMARY_COMMENTS = {
    "": "per platform and tier, from the current creators (present in the latest snapshot "
    "of their platform; is_current)",
    "tier_order": "1 = nano ... 5 = mega; sort on it, tier names do not sort in tier order",
    "creators": "number of creators",
    "total_est_reach": "sum of est_reach over the creators (people; one post each)",
    "total_est_reach_low": "sum of est_reach_low (people)",
    "total_est_reach_high": "sum of est_reach_high (people)",
    "total_est_cost_usd_low": "sum of est_cost_usd_low: one sponsored post by each (USD)",
    "total_est_cost_usd_mid": "sum of est_cost_usd_mid (USD)",
    "total_est_cost_usd_high": "sum of est_cost_usd_high (USD)",
    "median_followers": "median of followers (people; interpolated for an even count)",
    "avg_engagement_rate": "mean of engagement_rate (the platform's convention: per view on "
    "TikTok/YouTube, per follower elsewhere) over creators that have one; impossible rates "
    "are null, so never averaged in (fraction)",
    "median_engagement_rate": "median of engagement_rate over creators that have one (fraction)",
    "median_est_cpm_usd": "median of est_cpm_usd (USD per 1,000 reach)",
    "median_est_cpe_usd": "median of est_cpe_usd (USD per interaction)",
    "creators_cpm_flagged": "creators whose est_cpm_usd is outside the platform's cited CPM "
    "range (estimate_flags)",
}


def _comment_sql(con: duckdb.DuckDBPyConnection) -> None:
    """Table and column comments from the data dictionary (BI tools show them)."""
    for spec in TABLES:
        con.execute(f"COMMENT ON VIEW {_ident(spec.name)} IS {_literal(spec.description)}")
    for row in data_dictionary():
        text = row["description"]
        if row["unit"]:
            text += f" [{row['unit']}]"
        if row["allowed_values"]:
            text += " (one of: " + ", ".join(map(str, row["allowed_values"])) + ")"
        con.execute(
            f"COMMENT ON COLUMN {_ident(row['table'])}.{_ident(row['column'])} IS {_literal(text)}"
        )
    for view, comments in ((TIER_SUMMARY, TIER_SUMMARY_COMMENTS), (PEOPLE, PEOPLE_COMMENTS)):
        for col, text in comments.items():
            target = f"VIEW {view}" if not col else f"COLUMN {view}.{_ident(col)}"
            con.execute(f"COMMENT ON {target} IS {_literal(text)}")


def _check_view(con: duckdb.DuckDBPyConnection, src: _Source) -> None:
    got = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {_ident(src.table)}").fetchall()]
    if got != src.columns:
        diff = [
            f"{n}: {t} expected {e}"
            for (n, t), (_, e) in zip(got, src.columns, strict=False)
            if t != e
        ] or [f"columns {[n for n, _ in got]} expected {[n for n, _ in src.columns]}"]
        raise CatalogError(f"view {src.table} does not read as its Delta schema: {'; '.join(diff)}")


def _build(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    sources = [_source(con, out, spec.name) for spec in TABLES]
    for src in sources:
        con.execute(_view_sql(src))
        _check_view(con, src)
    con.execute(_tier_summary_sql())
    con.execute(people_view_sql(_ident(CREATORS)))
    _comment_sql(con)
    con.execute(
        f"CREATE TABLE {CATALOG_INFO} (view_name VARCHAR, delta_version BIGINT, files BIGINT, "
        "row_count BIGINT, table_path VARCHAR, refreshed_at TIMESTAMPTZ)"  # path: within OUT
    )
    now = dt.datetime.now(dt.UTC)
    con.executemany(
        f"INSERT INTO {CATALOG_INFO} VALUES (?, ?, ?, ?, ?, ?)",
        [
            [s.table, s.version, len(s.files), s.rows, DeltaTableStore(out).path(s.table).name, now]
            for s in sources
        ],
    )
    con.execute(
        f"COMMENT ON TABLE {CATALOG_INFO} IS "
        + _literal("what each view reads: Delta version (NULL = no table yet), files, rows")
    )


def connect_catalog(out: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open ``OUT/roster.duckdb`` (wherever OUT now is) with its views' paths resolved in OUT."""
    out = Path(out).resolve()
    target = out / CATALOG_NAME
    if not target.is_file():
        raise FileNotFoundError(f"no catalog at {target}: run `roster enrich ... --out {out}`")
    return duckdb.connect(str(target), read_only=read_only, config={"file_search_path": str(out)})


def refresh_catalog(out: Path) -> Path:
    """(Re)build ``OUT/roster.duckdb`` over the current version of each table; return its path.

    Raises ``CatalogError`` (and leaves any previous catalog untouched) when a view does not
    read back with its Delta schema's column names and types.
    """
    out = Path(out).resolve()
    if not out.is_dir():
        raise FileNotFoundError(f"output folder not found: {out}")
    target = out / CATALOG_NAME
    tmp = out / f".{CATALOG_NAME}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        con = duckdb.connect(str(tmp), config={"file_search_path": str(out)})
        try:
            _build(con, out)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return target
