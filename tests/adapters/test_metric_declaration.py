"""Adding a metric is one entry in the one declaration (``schemas.rows.METRICS``).

A copy of the code gets one more ``Metric`` (``avg_saves``, with its header spelling
"Saves") and nothing else; a two-file delivery then runs through the run's steps in a fresh
interpreter on that copy, against the in-memory store. The value must be parsed, published
in ``creator_snapshots`` and ``creators``, make two rows that differ only in it a
``duplicate_conflict``, be won by the later delivery in the merge, and be listed in the
data dictionary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

NEW_METRIC = """\
    Metric(
        "avg_saves",
        "average saves per post (bookmarks)",
        "saves",
        MetricKind.PER_POST,
        max_value=MAX_PER_POST,
        aliases=("saves", "avg saves"),
    ),
"""

RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import polars as pl
    from adapters.dictionary import data_dictionary
    from adapters.params import EnrichParams
    from adapters.run import LocalSteps, run
    from adapters.store import MemoryTableStore, read_table

    landing, out = Path(sys.argv[1]), Path(sys.argv[2])
    store = MemoryTableStore()  # the run's steps against the in-memory twin of the tables
    manifest = run(EnrichParams(inputs=[str(landing)], out=str(out)), LocalSteps(), store)
    snaps = read_table(store, "creator_snapshots").sort("handle_norm")
    creators = read_table(store, "creators").sort("handle_norm")
    quarantine = read_table(store, "quarantine")
    print(json.dumps({
        "files": [(f.source_file, f.enriched, f.quarantined) for f in manifest.files],
        "snapshots": snaps.select("handle_norm", "avg_saves", "source_file").rows(),
        "creators": creators.select("handle_norm", "avg_saves").rows(),
        "quarantine": quarantine.select("source_file", "source_row", "reason").rows(),
        "dictionary": sorted(
            r["table"] for r in data_dictionary() if r["column"] == "avg_saves"
        ),
    }))
    """
)


def _code_with_one_more_metric(target: Path) -> None:
    for package in ("flows", "adapters", "transforms", "schemas"):
        shutil.copytree(
            REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    rows = target / "schemas" / "rows.py"
    text = rows.read_text()
    end = "\n)\n\nMETRIC_FIELDS"
    assert text.count(end) == 1, "METRICS is no longer one tuple ending before METRIC_FIELDS"
    rows.write_text(text.replace(end, "\n" + NEW_METRIC.rstrip("\n") + end))


def test_a_metric_added_to_the_declaration_reaches_every_stage(tmp_path: Path) -> None:
    code, landing, out = tmp_path / "code", tmp_path / "landing", tmp_path / "out"
    _code_with_one_more_metric(code)
    landing.mkdir()
    first = landing / "tiktok_dec_2022_a.csv"
    first.write_text(
        "handle,followers,avg views,saves\n"
        "ana,1000,500,12\n"
        "ben,2000,900,30\n"
        "ben,2000,900,31\n"  # differs from the row above only in saves
    )
    later = landing / "tiktok_dec_2022_b.csv"
    later.write_text("handle,followers,avg views,saves\nana,1000,500,40\n")
    os.utime(first, (1_700_000_000, 1_700_000_000))
    os.utime(later, (1_700_000_100, 1_700_000_100))  # delivered later: it wins
    env = {**os.environ, "PYTHONPATH": str(code), "PREFECT_LOGGING_LEVEL": "WARNING"}
    res = subprocess.run(
        [sys.executable, "-c", RUN, str(landing), str(out)],
        capture_output=True,
        text=True,
        cwd=code,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["snapshots"] == [
        ["ana", 40.0, "tiktok_dec_2022_b.csv"],
        ["ben", 30.0, "tiktok_dec_2022_a.csv"],
    ]
    assert got["creators"] == [["ana", 40.0], ["ben", 30.0]]
    assert ["tiktok_dec_2022_a.csv", 4, "duplicate_conflict"] in got["quarantine"]
    assert ["tiktok_dec_2022_a.csv", 2, "superseded"] in got["quarantine"]
    assert got["dictionary"] == ["creator_snapshots", "creators"]


def test_the_declared_metrics_are_what_staging_parses() -> None:
    """The parsing side reads the declaration, not a copy of it."""
    from schemas.models import EnrichedRoster, NormalisedCreator
    from schemas.rows import METRICS
    from transforms.dedupe import VALUE_COLUMNS
    from transforms.headers import NUMERIC_FIELDS
    from transforms.merge import COMPARED

    assert tuple(m.name for m in METRICS) == NUMERIC_FIELDS
    staged = set(NormalisedCreator.to_schema().columns)
    published = set(EnrichedRoster.to_schema().columns)
    for m in METRICS:
        assert m.staged_as in staged and m.staged_as in VALUE_COLUMNS
        if m.published:  # (a reported rate is published as the one enrich derives)
            assert m.name in published and m.name in COMPARED
