"""``roster``: the command line for analysts (ad hoc) and operators (nightly)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

_CLI_STARTED = time.perf_counter()

import typer  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

# file-level reasons that mean the file could not be read at all
UNREADABLE = {
    "empty_file",
    "no_header",
    "unreadable_csv",
    "unreadable_excel",
    "unreadable_json",
    "unsupported_format",
}

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=False, width=120)
err_console = Console(stderr=True)


FULL_REFRESH_HELP = (
    "reprocess every input; by default a file already processed (same SHA-256, same rate card"
    " and options) is skipped"
)
KEEP_CONTACTS_HELP = (
    "write emails/phones to OUT/contacts (a separate table; never to the BI tables)"
)
TASK_RUNNER_HELP = "thread (one machine) or dask (a dask.distributed cluster; unit: one file)"
DASK_ADDRESS_HELP = (
    "tcp://HOST:PORT of a dask scheduler, with --task-runner dask (default: a local cluster)"
)


def _check_runner(task_runner: str, dask_address: str | None) -> None:
    if dask_address and task_runner != "dask":
        raise ValueError("--dask-address needs --task-runner dask")


def explain_failure(err: BaseException) -> str:
    """One line a user can act on, from the exception chain of a failed run."""
    import errno

    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " | ".join(str(e) for e in chain)
    if any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG) for e in chain) or any(
        s in text for s in ("No space left", "File too large", "os error 28", "os error 27")
    ):
        first = str(err).splitlines()[0][:300] if str(err) else ""
        return (
            "the disk is full or a file-size limit was hit while writing "
            f"({type(err).__name__}: {first})"
        )
    api_words = (
        "Failed to reach API",
        "ConnectError",
        "Connection refused",
        "RemoteProtocolError",
        "ReadError",
        "Server disconnected",
        "PrefectHTTPStatusError",
    )
    if any(w in text or w in type(e).__name__ for e in chain for w in api_words):
        import os

        url = os.environ.get("PREFECT_API_URL", "the embedded Prefect server")
        return (
            f"the Prefect API at {url} is unreachable ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]}); start it again, or unset PREFECT_API_URL to "
            "use the embedded one"
        )
    return f"{type(err).__name__}: {str(err).splitlines()[0][:500] if str(err) else ''}"


def prefect_api_problem() -> str | None:
    """After a run against an external Prefect API: is it still answering?"""
    import os

    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return None  # the embedded server lives and dies with this process
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    return (
        None
        if error is None
        else f"the Prefect API at {url} became unreachable during the run ({error})"
    )


# Options shared by `enrich` and `serve`.
PlatformOpt = Annotated[
    str | None, typer.Option(help="platform when neither a column nor the file name says")
]
MappingOpt = Annotated[
    Path | None, typer.Option(help='TOML file naming the columns, e.g. followers = "Fans (total)"')
]
RateCardOpt = Annotated[Path | None, typer.Option("--rate-card", help="rate card TOML")]
TierSchemeOpt = Annotated[
    str | None, typer.Option("--tier-scheme", help="four_tier (default) or five_tier")
]


@app.callback()
def _root() -> None:
    """roster enrichment: messy creator exports in, one enriched creator roster out."""


def print_summary(manifest: dict[str, Any]) -> None:
    files = Table(title=f"run {manifest['run_id']}: files", show_lines=False)
    for col in ("file", "status", "read", "enriched", "quarantined", "duplicates"):
        files.add_column(
            col, justify="right" if col not in ("file", "status") else "left", overflow="fold"
        )
    for f in manifest["files"]:
        status = f["status"] if f["status"] == "ok" else f"quarantined: {f['reason']}"
        files.add_row(
            f["source_file"],
            status,
            str(f["rows_read"]),
            str(f["enriched"]),
            str(f["quarantined"]),
            str(f["duplicates_collapsed"]),
        )
    if manifest["files"]:
        console.print(files)
    skipped = manifest.get("skipped_files", [])
    if skipped:
        t = Table(title="skipped: already processed", show_lines=False)
        t.add_column("file", overflow="fold")
        t.add_column("processed by run")
        for f in skipped:
            t.add_row(f["source_file"], f["processed_by_run"])
        console.print(t)
    not_read = manifest.get("not_read", [])
    if not_read:
        t = Table(title="not read: not an export", show_lines=False)
        t.add_column("file", overflow="fold")
        t.add_column("why", overflow="fold")
        for f in not_read:
            t.add_row(f["source_file"], f["detail"] or f["reason"])
        console.print(t)
    tiers = manifest.get("rows_by_platform_tier", [])
    if tiers:
        order = ["nano", "micro", "mid", "macro", "mega"]
        present = [t for t in order if any(r["tier"] == t for r in tiers)]
        platforms = sorted({r["platform"] for r in tiers})
        cell = {(r["platform"], r["tier"]): r["rows"] for r in tiers}
        t = Table(title="enriched rows by platform and tier", min_width=60)
        t.add_column("platform")
        for tier in [*present, "total"]:
            t.add_column(tier, justify="right")
        for p in platforms:
            counts = [cell.get((p, tier), 0) for tier in present]
            t.add_row(p, *map(str, counts), str(sum(counts)))
        totals = [sum(cell.get((p, tier), 0) for p in platforms) for tier in present]
        t.add_row("all", *map(str, totals), str(sum(totals)), style="bold")
        console.print(t)
    reasons = manifest.get("quarantine_by_reason", {})
    if reasons:
        rows = manifest.get("quarantined_rows_by_reason", {})
        t = Table(title="quarantine by reason", min_width=60)
        t.add_column("reason")
        t.add_column("cells or files", justify="right")
        t.add_column("input rows", justify="right")
        for reason, n in reasons.items():
            t.add_row(reason, str(n), str(rows.get(reason, "")))
        console.print(t)
    for f in manifest["files"]:
        if f["status"] != "ok":
            console.print(f["detail"], markup=False)
    totals = {
        k: sum(f[k] for f in manifest["files"])
        for k in ("rows_read", "enriched", "quarantined", "duplicates_collapsed")
    }
    if manifest["files"]:
        console.print(
            f"{len(manifest['files'])} file(s): {totals['rows_read']} rows read"
            f" = {totals['enriched']} enriched + {totals['quarantined']} quarantined"
            f" + {totals['duplicates_collapsed']} duplicates collapsed"
        )
    else:
        console.print("no new file: nothing was enriched")
    if skipped:
        console.print(
            f"{len(skipped)} file(s) skipped: already processed (use --full-refresh to reprocess)"
        )
    console.print(
        f"output: {manifest['params']['out']}  (manifest: runs/{manifest['run_id']}/manifest.json)"
    )


@app.command()
def enrich(
    inputs: Annotated[list[Path], typer.Argument(help="export files or folders")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    platform: PlatformOpt = None,
    snapshot_date: Annotated[
        str | None,
        typer.Option(
            "--snapshot-date", help="YYYY-MM-DD, when neither a column nor the file name says"
        ),
    ] = None,
    mapping: MappingOpt = None,
    rate_card: RateCardOpt = None,
    tier_scheme: TierSchemeOpt = None,
    wait_lock: Annotated[
        float, typer.Option("--wait-lock", help="seconds to wait for another run on --out")
    ] = 0.0,
    max_workers: Annotated[
        int, typer.Option("--max-workers", help="files processed in parallel")
    ] = 2,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help=FULL_REFRESH_HELP)] = False,
    keep_contacts: Annotated[
        bool, typer.Option("--keep-contacts", help=KEEP_CONTACTS_HELP)
    ] = False,
    task_runner: Annotated[str, typer.Option("--task-runner", help=TASK_RUNNER_HELP)] = "thread",
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help=DASK_ADDRESS_HELP)
    ] = None,
    max_file_mb: Annotated[
        int,
        typer.Option(
            "--max-file-mb",
            help="largest input file accepted, MiB; bigger files are quarantined whole "
            "(peak memory is about 8x the largest file)",
        ),
    ] = 2048,
    json_summary: Annotated[
        bool, typer.Option("--json", help="print the manifest as JSON")
    ] = False,
) -> None:
    """Enrich creator exports into the roster tables under --out."""
    from flows.enrich_roster import EnrichParams, UsageError, run_enrich
    from flows.publish import OutputLocked

    try:
        _check_runner(task_runner, dask_address)
        params = EnrichParams(
            inputs=[str(p) for p in inputs],
            out=str(out),
            platform=platform.lower() if platform else None,
            snapshot_date=dt.date.fromisoformat(snapshot_date) if snapshot_date else None,
            mapping=str(mapping) if mapping else None,
            rate_card=str(rate_card) if rate_card else None,
            tier_scheme=tier_scheme,
            wait_lock=wait_lock,
            max_workers=max_workers,
            full_refresh=full_refresh,
            keep_contacts=keep_contacts,
            task_runner=task_runner,
            dask_address=dask_address,
            max_file_mb=max_file_mb,
        )
    except (ValidationError, ValueError) as err:
        err_console.print(f"[red]usage error:[/] {err}")
        raise typer.Exit(2) from None
    before_flow = time.perf_counter()
    try:
        manifest = run_enrich(params)
    except (UsageError, KeyError) as err:
        err_console.print(f"[red]usage error:[/] {err}")
        raise typer.Exit(2) from None
    except OutputLocked as err:
        err_console.print(f"[red]output locked:[/] {err}")
        raise typer.Exit(3) from None
    except Exception as err:  # the run failed: say why in one line, exit 4
        err_console.print(f"[red]run failed:[/] {explain_failure(err)}", markup=True)
        err_console.print(
            "Tables under --out are unchanged or at a complete earlier version (every table "
            "commit is atomic); run again once the cause is fixed.",
            markup=False,
        )
        raise typer.Exit(4) from None
    if manifest.get("nothing_to_do"):
        err_console.print(
            f"usage error: no export files found in {', '.join(params.inputs)}", markup=False
        )
        raise typer.Exit(2)
    wall = time.perf_counter() - before_flow
    api_problem = prefect_api_problem()
    flow_total = manifest["timings_seconds"].get("flow_total", wall)
    timings = dict(manifest["timings_seconds"])
    timings["prefect_startup"] = round(max(wall - flow_total, 0.0), 3)
    timings["total"] = round(time.perf_counter() - _CLI_STARTED, 3)
    if json_summary:
        print(json.dumps(manifest, indent=2, default=str))
    else:
        print_summary(manifest)
    print("timing: " + json.dumps(timings), file=sys.stderr)
    if api_problem:
        err_console.print(
            f"run failed: {api_problem}. The tables and runs/{manifest['run_id']}/manifest.json "
            "were published and are complete, but the run's record in Prefect (state, logs, "
            "artifacts) is not.",
            markup=False,
        )
        raise typer.Exit(4)
    files = manifest["files"]
    if files and all(f["status"] != "ok" and f["reason"] in UNREADABLE for f in files):
        raise typer.Exit(2)
    if any(f["status"] != "ok" for f in files):
        raise typer.Exit(1)


@app.command()
def serve(
    landing: Annotated[Path, typer.Option("--landing", help="folder the exports land in")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    cron: Annotated[str, typer.Option(help="cron schedule of the runs")] = "0 2 * * *",
    timezone: Annotated[
        str, typer.Option(help="IANA time zone of the schedule, e.g. Europe/Madrid")
    ] = "UTC",
    name: Annotated[
        str, typer.Option(help="deployment name; one per landing folder")
    ] = "enrich-roster-nightly",
    platform: PlatformOpt = None,
    mapping: MappingOpt = None,
    rate_card: RateCardOpt = None,
    tier_scheme: TierSchemeOpt = None,
    wait_lock: Annotated[
        float,
        typer.Option("--wait-lock", help="seconds a run waits for another run on --out"),
    ] = 900.0,
    max_workers: Annotated[
        int, typer.Option("--max-workers", help="files processed in parallel (threads)")
    ] = 2,
    keep_contacts: Annotated[
        bool, typer.Option("--keep-contacts", help=KEEP_CONTACTS_HELP)
    ] = False,
) -> None:
    """Run the enrich-roster flow on a schedule (default 02:00 UTC), one run at a time.

    Registers the deployment enrich-roster/NAME with the Prefect API (PREFECT_API_URL) and
    runs its flow runs from this process until stopped (Ctrl-C pauses the schedule). Every
    new export in --landing is enriched into --out; files already processed are skipped. A
    run triggered while another is active waits for it. Runs use threads (--task-runner dask
    is for `roster enrich`).
    """
    from prefect.settings import PREFECT_API_URL

    from flows import serve as nightly

    try:
        deployment = nightly.build_deployment(
            landing,
            out,
            cron,
            timezone,
            name,
            platform=platform.lower() if platform else None,
            mapping=str(mapping.resolve()) if mapping else None,
            rate_card=str(rate_card.resolve()) if rate_card else None,
            tier_scheme=tier_scheme,
            wait_lock=wait_lock,
            max_workers=max_workers,
            keep_contacts=keep_contacts,
        )
    except (ValidationError, ValueError) as err:
        err_console.print(f"[red]usage error:[/] {err}")
        raise typer.Exit(2) from None
    if not PREFECT_API_URL.value():
        err_console.print(
            "[yellow]PREFECT_API_URL is not set:[/] serving against a temporary local API;"
            " runs stop with this process and are not visible in a Prefect UI."
            " Start `prefect server start` and set PREFECT_API_URL for the nightly."
        )
    nightly.serve(deployment)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
