"""The roster CLI as analysts use it: summary, exit status, usage errors."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REAL_EXPORTS, SAMPLE_DATA


def _roster(*args: str, api: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if api:  # reuse the session's test API instead of starting another one
        from prefect.settings import PREFECT_API_URL

        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_sample_data_run_prints_summary_and_exits_0(prefect_harness: None, tmp_path: Path) -> None:
    res = _roster("enrich", str(SAMPLE_DATA), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rows read =" in res.stdout
    assert "enriched rows by platform and tier" in res.stdout
    assert "quarantine by reason" in res.stdout
    assert "timing: " in res.stderr
    assert (tmp_path / "out" / "creators" / "_delta_log").is_dir()
    assert "report: " in res.stdout and (tmp_path / "out" / "report.html").is_file()
    # the catalog, queried with what set-up installs, after the folder has been moved
    (tmp_path / "out").rename(tmp_path / "moved")
    query = "SELECT sum(creators) AS n FROM tier_summary"
    sql = _roster("sql", query, "--out", str(tmp_path / "moved"), "--csv", api=False)
    assert sql.returncode == 0, sql.stderr
    assert sql.stdout.splitlines()[0] == "n" and int(sql.stdout.splitlines()[1]) > 0


@pytest.mark.real_exports
def test_a_file_quarantined_whole_exits_1_and_says_how_to_fix(
    prefect_harness: None, tmp_path: Path
) -> None:
    res = _roster(
        "enrich",
        str(REAL_EXPORTS / "tiktok_undated_2022.csv"),
        str(REAL_EXPORTS / "tiktok_dec_2022.csv"),
        "--out",
        str(tmp_path / "out"),
    )
    assert res.returncode == 1, res.stderr[-2000:]
    assert "--snapshot-date YYYY-MM-DD" in res.stdout
    # the summary counts the whole file's rows behind its reason, not just "1 file"
    [manifest] = [
        json.loads(p.read_text()) for p in (tmp_path / "out").glob("runs/*/manifest.json")
    ]
    assert manifest["quarantine_by_reason"]["unknown_snapshot_date"] == 1
    assert manifest["quarantined_rows_by_reason"]["unknown_snapshot_date"] == 1000
    assert manifest["quarantined_rows_by_reason"].keys() == manifest["quarantine_by_reason"].keys()


def test_nothing_readable_exits_2(prefect_harness: None, tmp_path: Path) -> None:
    empty = tmp_path / "tiktok_jan_2025.csv"
    empty.write_text("")
    res = _roster("enrich", str(empty), "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr[-2000:]


BAD_RATE_CARD = """
[meta]
version = "x"
default_scheme = "four_tier"
"""


def _usage_cases(tmp: Path) -> list[tuple[list[str], str]]:
    """(arguments, what the one line must say) for every kind of usage error."""
    data, out = str(SAMPLE_DATA), str(tmp / "out")
    a_file = tmp / "a_file.txt"
    a_file.write_text("not a folder")
    bad_toml = tmp / "bad.toml"
    bad_toml.write_text("[columns\n")
    absent = tmp / "absent_header.toml"
    absent.write_text('[columns]\navg_views = "Plays"\n')
    unknown_field = tmp / "unknown_field.toml"
    unknown_field.write_text('[columns]\nviews = "Plays"\n')
    rate_card = tmp / "rate_card.toml"
    rate_card.write_text(BAD_RATE_CARD)
    empty = tmp / "empty_folder"
    empty.mkdir()
    csv = str(SAMPLE_DATA / "instagram_oct_2026.csv")
    return [
        (["enrich", "/nonexistent", "--out", out], "INPUT '/nonexistent': not found"),
        (["enrich", str(empty), "--out", out], "no export files"),
        (["enrich", data, "--out", str(a_file)], "--out '"),
        (["enrich", data, "--out", "/proc/roster-out"], "--out '/proc/roster-out'"),
        (["enrich", str(tmp), "--out", str(tmp / "out")], "is inside the input folder"),
        (["enrich", data, "--out", out, "--snapshot-date", "2022-13-01"], "month must be in"),
        (["enrich", data, "--out", out, "--snapshot-date", "01/12/2022"], "YYYY-MM-DD"),
        (["enrich", data, "--out", out, "--platform", "myspace"], "--platform 'myspace'"),
        (["enrich", data, "--out", out, "--tier-scheme", "six"], "--tier-scheme 'six'"),
        (["enrich", data, "--out", out, "--mapping", "nope.toml"], "--mapping 'nope.toml'"),
        (["enrich", data, "--out", out, "--mapping", str(bad_toml)], "not valid TOML"),
        (["enrich", data, "--out", out, "--mapping", str(unknown_field)], "unknown field"),
        (["enrich", csv, "--out", out, "--mapping", str(absent)], "headers found: "),
        (["enrich", data, "--out", out, "--rate-card", "nope.toml"], "--rate-card 'nope.toml'"),
        (["enrich", data, "--out", out, "--rate-card", str(rate_card)], "--rate-card '"),
        (["enrich", data, "--out", out, "--max-workers", "abc"], "--max-workers"),
        (["enrich", data, "--out", out, "--max-workers", "0"], "--max-workers '0'"),
        (["enrich", data, "--out", out, "--wait-lock", "-1"], "--wait-lock '-1.0'"),
        (["enrich", data, "--out", out, "--max-file-mb", "0"], "--max-file-mb '0'"),
        (["enrich", data, "--out", out, "--task-runner", "gpu"], "--task-runner 'gpu'"),
        (["enrich", data, "--out", out, "--dask-address", "tcp://h:1"], "--task-runner dask"),
        (["enrich", data], "Missing option '--out'"),
        (["enrich", data, "--out", out, "--bogus"], "No such option: --bogus"),
        (["serve", "--landing", "/nonexistent", "--out", out], "--landing '/nonexistent'"),
        (["serve", "--landing", data, "--out", out, "--timezone", "Mars/Base"], "--timezone"),
        (["serve", "--landing", data, "--out", out, "--cron", "every night"], "--cron"),
        (["plan", "--budget", "0", "--out", out], "--budget '0.0'"),
        (["plan", "--budget", "100", "--out", str(empty)], "has no creators table"),
        (["plan", "--budget", "100", "--out", out, "--tier", "giga"], "--tier 'giga'"),
        (["plan", "--budget", "100", "--out", out, "--country", "USA"], "--country 'USA'"),
        (["plan", "--budget", "100", "--out", out, "--objective", "likes"], "--objective"),
        (["inspect", "/nonexistent"], "FILE '/nonexistent': not found"),
        (["sql", "SELECT 1", "--out", str(empty)], "has no roster.duckdb"),
    ]


CHECK_BEFORE_PREFECT = """
import json, sys, time
started = time.perf_counter()
from flows.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"prefect", "pandera", "deltalake"})
print(json.dumps({"code": code, "heavy": heavy, "seconds": time.perf_counter() - started}))
"""


def test_every_usage_error_is_one_line_exit_2_before_prefect(tmp_path: Path) -> None:
    for args, message in _usage_cases(tmp_path):
        res = subprocess.run(
            [sys.executable, "-c", CHECK_BEFORE_PREFECT, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        shown = f"{args}: {res.stderr}"
        result = json.loads(res.stdout.strip().splitlines()[-1])
        assert result["code"] == 2, shown
        assert result["heavy"] == [], shown  # refused before Prefect or pandera started
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("usage error: "), shown
        assert message in res.stderr, shown
        assert "Traceback" not in res.stderr, shown
    assert not (tmp_path / "out").exists()  # nothing was created for a refused run


def test_usage_error_of_the_installed_command_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    res = subprocess.run(
        [str(Path(sys.executable).parent / "roster"), "enrich", "/nonexistent", "--out", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    elapsed = time.perf_counter() - started
    assert res.returncode == 2
    assert res.stderr == (
        "usage error: INPUT '/nonexistent': not found; expected an export file or a folder\n"
    )
    assert elapsed < 2.0


def test_a_held_lock_is_exit_3_in_one_line_before_prefect(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with (out / ".roster.lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("run 20260101T000000Z-abcdef (pid 1)")
        fh.flush()
        res = subprocess.run(
            [sys.executable, "-c", CHECK_BEFORE_PREFECT, "enrich", str(SAMPLE_DATA),
             "--out", str(out)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["code"] == 3
    assert "prefect" not in result["heavy"]
    assert "being written by run 20260101T000000Z-abcdef" in res.stderr
    assert res.stderr.startswith("output locked: ") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr


def test_help_and_version_are_clean() -> None:
    res = _roster("enrich", "--help", api=False)
    assert res.returncode == 0
    assert "Usage: roster enrich [OPTIONS] INPUT..." in res.stdout
    for noise in ("<bool>", "<str>", "<path>", "{", "``", "╭"):
        assert noise not in res.stdout, noise
    top = _roster("--help", api=False)
    for command in ("enrich", "inspect", "plan", "sql", "report", "serve"):
        assert f"  {command}  " in top.stdout or f"  {command} " in top.stdout, command
    assert "..." not in top.stdout.split("Commands:")[1]  # no truncated one-line help
    version = _roster("--version", api=False)
    assert version.returncode == 0 and version.stdout.startswith("roster ")


def test_platform_list_is_the_schema_s() -> None:
    from typing import get_args

    from flows.enrich_roster import EnrichParams
    from flows.usage import PLATFORMS
    from schemas.models import PLATFORMS as SCHEMA_PLATFORMS

    assert PLATFORMS == SCHEMA_PLATFORMS
    from flows.cli import TIER_NAMES
    from schemas.models import TIERS

    assert TIER_NAMES == TIERS
    literal = EnrichParams.model_fields["platform"].annotation
    assert set(get_args(get_args(literal)[0])) == set(PLATFORMS)


def test_quarantined_rows_count_rows_not_cells_and_whole_files_by_their_rows() -> None:
    import polars as pl

    from adapters.run import quarantined_rows_by_reason

    quarantine = pl.DataFrame(
        {
            "source_file": ["a.csv", "a.csv", "a.csv", "b.csv"],
            "source_row": [5, 5, 7, None],
            "reason": ["unparseable_number", "unparseable_number", "negative_value", "empty_file"],
        }
    )
    from schemas.manifest import FileCounts

    def counts(status: str, reason: str | None, rows_read: int) -> FileCounts:
        zero = dict.fromkeys(("records", "blank_rows", "quarantined", "superseded"), 0)
        return FileCounts(
            source_file=f"{reason}.csv",
            delivery_file=f"{reason}.csv",
            status=status,  # type: ignore[arg-type]
            reason=reason,
            rows_read=rows_read,
            enriched=0,
            duplicates_collapsed=0,
            reconciled=True,
            **zero,
        )

    files = [
        counts("ok", None, 10),
        counts("quarantined", "empty_file", 0),
        counts("quarantined", "unknown_platform", 40),
    ]
    assert quarantined_rows_by_reason(quarantine, files) == {
        "empty_file": 0,
        "negative_value": 1,
        "unknown_platform": 40,
        "unparseable_number": 1,
    }


def test_a_running_local_server_is_used_instead_of_a_temporary_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import http.server
    import threading

    from flows import prefect_api

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api"
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))  # no profile setting an API
    monkeypatch.setattr(prefect_api, "LOCAL_API_URL", url)
    try:
        assert prefect_api.choose_api() == url
        assert os.environ["PREFECT_API_URL"] == url
        # the user's own setting wins over the local server
        monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
        assert prefect_api.choose_api() == "http://prefect.example:4200/api"
        # and a profile's
        monkeypatch.delenv("PREFECT_API_URL")
        (tmp_path / "profiles.toml").write_text(
            'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://team:4200/api"\n'
        )
        assert prefect_api.choose_api() == "http://team:4200/api"
    finally:
        server.shutdown()
    (tmp_path / "profiles.toml").unlink()
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert prefect_api.choose_api() == "ephemeral"  # nothing answers any more


def test_progress_on_a_terminal_and_plain_logs_otherwise(
    prefect_harness: None, tmp_path: Path
) -> None:
    import pty
    import threading

    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()), COLUMNS="100")
    env["PREFECT_LOGGING_LEVEL"] = "INFO"
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    args = [sys.executable, "-m", "flows.cli", "enrich", str(SAMPLE_DATA), "--out"]
    res = subprocess.run(
        [*args, str(tmp_path / "tty")], stdout=subprocess.PIPE, stderr=slave, env=env, timeout=300
    )
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert res.returncode == 0, shown[-2000:]
    assert "read " in shown and "━" in shown  # the per-file bar, with the file it read last
    assert "| INFO " not in shown  # Prefect's INFO lines are held back meanwhile
    # not a terminal: no progress bar, the log lines as before
    plain = subprocess.run(
        [*args, str(tmp_path / "log")], capture_output=True, text=True, env=env, timeout=300
    )
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "━" not in plain.stderr and "| INFO " in plain.stderr
