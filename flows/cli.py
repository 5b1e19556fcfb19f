"""roster: the command line for analysts (ad hoc) and operators (nightly)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

_CLI_STARTED = time.perf_counter()

import typer  # noqa: E402
import typer.core  # noqa: E402
from rich.console import Console  # noqa: E402

# typer 0.29 vendors click: its exceptions are the ones the parser raises
from typer._click import exceptions as click_errors  # noqa: E402

from flows import usage  # noqa: E402
from flows.prefect_api import LOCAL_API_URL, choose_api  # noqa: E402
from flows.usage import UsageProblem  # noqa: E402
from schemas.reasons import Reason  # noqa: E402  (an enum: pandera loads lazily)
from schemas.vocabulary import FileStatus, Tier  # noqa: E402

if TYPE_CHECKING:
    from pydantic import ValidationError

# file-level reasons that mean the file could not be read at all
UNREADABLE = frozenset(
    {
        Reason.EMPTY_FILE,
        Reason.NO_HEADER,
        Reason.UNREADABLE_CSV,
        Reason.UNREADABLE_EXCEL,
        Reason.UNREADABLE_JSON,
        Reason.UNSUPPORTED_FORMAT,
        Reason.PERMISSION_DENIED,
        Reason.TOO_DEEPLY_NESTED,
        Reason.UNREADABLE_FILE,
        Reason.READER_ERROR,
        Reason.UNREADABLE_ARCHIVE,
        Reason.UNREADABLE_PARQUET,
    }
)
EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE, EXIT_LOCKED, EXIT_FAILED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
TIER_NAMES = Tier.codes()


class RosterApp(typer.Typer):
    """Typer, with every usage error (unknown option, missing value, a number that is not
    one) as one line on stderr and exit status 2, instead of a boxed help panel."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "roster")
        try:
            code = super().__call__(*args, **kwargs)
        except click_errors.NoArgsIsHelpError as err:
            if err.format_message().strip():  # (rich help is printed while it is built)
                typer.echo(err.format_message())
            sys.exit(EXIT_OK)
        except click_errors.UsageError as err:
            command = err.ctx.command_path if err.ctx else "roster"
            message = " ".join(err.format_message().split())
            _usage_exit(f"{message} (see {command} --help)")
        except typer.Abort:
            err_console.print("interrupted", markup=False)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


class RosterCommand(typer.core.TyperCommand):
    """Help as a shell user reads it: ``INPUT...``, not ``{INPUT}...`` and ``<list[Path]>``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [p.replace("{", "").replace("}", "") for p in super().collect_usage_pieces(ctx)]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for param in self.params:
            if isinstance(param, typer.core.TyperArgument):
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        super().format_help(ctx, formatter)


app = RosterApp(
    add_completion=False,
    no_args_is_help=True,
    help=__doc__,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no boxes, no <type> placeholders
)
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


def _usage_exit(problem: UsageProblem | str) -> NoReturn:
    """The one line of a usage error, exit status 2."""
    print(f"usage error: {problem}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def validation_line(err: ValidationError) -> str:
    """A pydantic error of the run's parameters as ``--option 'value': message``."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "parameters"
    option = "INPUT" if field == "inputs" else "--" + field.replace("_", "-")
    value = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return str(
        UsageProblem(option, value if isinstance(value, str) else str(value), message + more)
    )


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
    str | None,
    typer.Option(
        metavar="PLATFORM",
        help=f"{'|'.join(usage.PLATFORMS)}: when neither a column nor the file name says",
    ),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", help='TOML file naming the columns, e.g. followers = "Fans (total)"'
    ),
]
RateCardOpt = Annotated[
    Path | None, typer.Option("--rate-card", metavar="FILE", help="rate card TOML")
]
TierSchemeOpt = Annotated[
    str | None,
    typer.Option("--tier-scheme", metavar="SCHEME", help="four_tier (default) or five_tier"),
]
OutOpt = Annotated[Path, typer.Option("--out", metavar="FOLDER", help="output folder")]
FLAG = ""  # no type placeholder after an on/off flag in the help


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"roster {version('roster-enrichment')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", metavar=FLAG, callback=_version, is_eager=True, help="print the version"
        ),
    ] = False,
) -> None:
    """roster enrichment: messy creator exports in, one enriched creator roster out."""


def print_summary(manifest: dict[str, Any]) -> None:
    from rich.table import Table

    files = Table(title=f"run {manifest['run_id']}: files", show_lines=False)
    for col in ("file", "status", "read", "enriched", "quarantined", "duplicates"):
        files.add_column(
            col, justify="right" if col not in ("file", "status") else "left", overflow="fold"
        )
    for f in manifest["files"]:
        status = f["status"] if f["status"] == FileStatus.OK else f"quarantined: {f['reason']}"
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
        order = Tier.codes()
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
        per_tier = [sum(cell.get((p, tier), 0) for p in platforms) for tier in present]
        t.add_row("all", *map(str, per_tier), str(sum(per_tier)), style="bold")
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
        if f["status"] != FileStatus.OK:
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


def checked_options(
    inputs: list[Path],
    out: Path,
    *,
    platform: str | None,
    snapshot_date: str | None,
    mapping: Path | None,
    rate_card: Path | None,
    tier_scheme: str | None,
    wait_lock: float,
    max_workers: int,
    max_file_mb: int | None = None,
    task_runner: str = "thread",
    dask_address: str | None = None,
    need_files: bool = True,
) -> tuple[dict[str, Any], list[Path]]:
    """Every option and input checked, cheap checks first (see ``flows.usage``); raises
    ``UsageProblem``. Returns the run's parameters as ``EnrichParams`` fields, and the
    export files found."""
    usage.check_inputs(inputs, "INPUT" if need_files else "--landing")
    usage.check_out(out)
    usage.check_out_outside_inputs(out, inputs)
    plat = usage.check_platform(platform)
    date = usage.check_date(snapshot_date)
    usage.check_numbers(wait_lock=wait_lock, max_workers=max_workers, max_file_mb=max_file_mb)
    usage.check_runner(task_runner, dask_address)
    usage.check_mapping_file(mapping)
    usage.check_rate_card(rate_card, tier_scheme)
    # the stage that needs polars: still before Prefect
    usage.check_rate_card_model(rate_card)
    files = usage.export_files(inputs)
    if need_files and not files:
        raise UsageProblem(
            "INPUT", ", ".join(map(str, inputs)), "no export files in it; expected CSV, TSV, "
            "TXT, XLSX/XLS, JSON or NDJSON files"
        )  # fmt: skip
    if mapping is not None:
        usage.mapping_columns(mapping)
        if files and need_files:  # (a landing folder's exports are yet to come)
            usage.check_mapping_headers(mapping, files)
    usage.make_out(out)
    fields = {
        "platform": plat,
        "snapshot_date": date,
        "mapping": str(mapping) if mapping else None,
        "rate_card": str(rate_card) if rate_card else None,
        "tier_scheme": tier_scheme,
        "wait_lock": wait_lock,
        "max_workers": max_workers,
    }
    return fields, files


def _locked_exit(message: str) -> NoReturn:
    print(f"output locked: {message}", file=sys.stderr)  # one line, never wrapped
    sys.exit(EXIT_LOCKED)


@app.command(
    cls=RosterCommand, short_help="Enrich creator exports into the roster tables under --out."
)
def enrich(
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUT", help="export files or folders")],
    out: OutOpt,
    platform: PlatformOpt = None,
    snapshot_date: Annotated[
        str | None,
        typer.Option(
            "--snapshot-date",
            metavar="YYYY-MM-DD",
            help="date the exports describe, when neither a column nor the file name says",
        ),
    ] = None,
    mapping: MappingOpt = None,
    rate_card: RateCardOpt = None,
    tier_scheme: TierSchemeOpt = None,
    wait_lock: Annotated[
        float,
        typer.Option(
            "--wait-lock", metavar="SECONDS", help="seconds to wait for another run on --out"
        ),
    ] = 0.0,
    max_workers: Annotated[
        int, typer.Option("--max-workers", metavar="N", help="files processed in parallel")
    ] = 2,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", metavar=FLAG, help=FULL_REFRESH_HELP)
    ] = False,
    keep_contacts: Annotated[
        bool, typer.Option("--keep-contacts", metavar=FLAG, help=KEEP_CONTACTS_HELP)
    ] = False,
    task_runner: Annotated[
        str, typer.Option("--task-runner", metavar="thread|dask", help=TASK_RUNNER_HELP)
    ] = "thread",
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", metavar="URL", help=DASK_ADDRESS_HELP)
    ] = None,
    max_file_mb: Annotated[
        int,
        typer.Option(
            "--max-file-mb",
            metavar="MIB",
            help="largest decoded size of an input (a workbook's XML, a zip's members, a "
            "gzip's content), MiB; bigger files are quarantined whole (reading peaks at about "
            "13x this in memory: docs/RELIABILITY.md)",
        ),
    ] = 2048,
    json_summary: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the manifest as JSON")
    ] = False,
) -> None:
    """Enrich creator exports into the roster tables under --out.

    Exit status: 0 every file processed; 1 some file was quarantined whole; 2 usage error
    or nothing could be read; 3 another run holds --out; 4 the run failed.
    """
    try:
        fields, files = checked_options(
            inputs,
            out,
            platform=platform,
            snapshot_date=snapshot_date,
            mapping=mapping,
            rate_card=rate_card,
            tier_scheme=tier_scheme,
            wait_lock=wait_lock,
            max_workers=max_workers,
            max_file_mb=max_file_mb,
            task_runner=task_runner,
            dask_address=dask_address,
        )
    except UsageProblem as err:
        _usage_exit(err)
    # no waiting asked for: a held lock is known now, not after Prefect's start-up (with
    # --wait-lock the run waits for the lock itself, inside the flow)
    from adapters.lock import lock_holder

    holder = lock_holder(out) if wait_lock == 0 else None
    if holder:
        _locked_exit(holder)
    api = choose_api()
    if api == LOCAL_API_URL:
        err_console.print(f"Prefect API: the local server at {api}", markup=False)
    from pydantic import ValidationError

    from flows.enrich_roster import EnrichParams

    try:
        params = EnrichParams(
            inputs=[str(p) for p in inputs],
            out=str(out),
            full_refresh=full_refresh,
            keep_contacts=keep_contacts,
            task_runner=task_runner,  # type: ignore[arg-type]  # checked by usage.check_runner
            dask_address=dask_address,
            max_file_mb=max_file_mb,
            **fields,
        )
    except ValidationError as err:
        _usage_exit(validation_line(err))
    from flows.progress import run_progress

    with run_progress(len(files), enabled=err_console.is_terminal and not json_summary):
        manifest = _run(params)
    _finish(manifest, json_summary)


def _run(params: Any) -> dict[str, Any]:
    """The flow run; a failure is one line and its exit status, never a traceback."""
    from adapters.lock import OutputLocked
    from flows.enrich_roster import run_enrich

    try:
        return run_enrich(params)
    except KeyError as err:
        _usage_exit(str(err).strip("'\""))
    except OutputLocked as err:
        _locked_exit(str(err))
    except KeyboardInterrupt:
        err_console.print("interrupted: the tables are unchanged or at a complete earlier version")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:  # the run failed: say why in one line, exit 4
        print(f"run failed: {explain_failure(err)}", file=sys.stderr)
        print(
            "Tables under --out are unchanged or at a complete earlier version (every table "
            "commit is atomic); run again once the cause is fixed.",
            file=sys.stderr,
        )
        sys.exit(EXIT_FAILED)


def _written_report(manifest: dict[str, Any]) -> Path | None:
    """OUT/report.html, which the run writes (a report it could not draw is a warning)."""
    from adapters.report import REPORT_NAME

    report = Path(manifest["params"]["out"]) / REPORT_NAME
    return report if report.is_file() else None


def _finish(manifest: dict[str, Any], json_summary: bool) -> None:
    """Print the summary and exit with the run's status."""
    if manifest.get("nothing_to_do"):
        _usage_exit(f"INPUT: no export files found in {', '.join(manifest['params']['inputs'])}")
    api_problem = prefect_api_problem()
    report = _written_report(manifest)
    timings = dict(manifest["timings_seconds"])
    timings["total"] = round(time.perf_counter() - _CLI_STARTED, 3)
    timings["outside_flow"] = round(timings["total"] - timings.get("flow_total", 0.0), 3)
    if json_summary:
        print(json.dumps(manifest, indent=2, default=str))
    else:
        print_summary(manifest)
    print("timing: " + json.dumps(timings), file=sys.stderr)
    if report and not json_summary:
        console.print(f"report: {report}  (open it in a browser; it works offline)", markup=False)
    if api_problem:
        err_console.print(
            f"run failed: {api_problem}. The tables and runs/{manifest['run_id']}/manifest.json "
            "were published and are complete, but the run's record in Prefect (state, logs, "
            "artifacts) is not.",
            markup=False,
        )
        sys.exit(EXIT_FAILED)
    files = manifest["files"]
    if files and all(f["status"] != FileStatus.OK and f["reason"] in UNREADABLE for f in files):
        sys.exit(EXIT_USAGE)
    if any(f["status"] != FileStatus.OK for f in files):
        sys.exit(EXIT_QUARANTINED)


@app.command(cls=RosterCommand, short_help="Show how files would be read; nothing is published.")
def inspect(
    inputs: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="export files or folders to preview")
    ],
    platform: PlatformOpt = None,
    snapshot_date: Annotated[
        str | None,
        typer.Option("--snapshot-date", metavar="YYYY-MM-DD", help="as for roster enrich"),
    ] = None,
    mapping: MappingOpt = None,
    rows: Annotated[int, typer.Option(metavar="N", help="rows to show as parsed")] = 5,
    json_out: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the reports as JSON")
    ] = False,
) -> None:
    """Show how each file would be read, without publishing anything (no Prefect).

    Format, encoding, delimiter, header row, each column's mapping and number format with
    examples, platform and date and where they come from, the first rows as parsed, and what
    a run would quarantine. The same reading code as `roster enrich`, with the same options.
    Exit status: 0 every file would be read; 1 some file would be quarantined whole; 2 usage.
    """
    try:
        usage.check_inputs(inputs, "FILE")
        plat = usage.check_platform(platform)
        date = usage.check_date(snapshot_date)
        usage.check_mapping_file(mapping)
        files = usage.export_files(inputs)
        if not files:
            raise UsageProblem("FILE", ", ".join(map(str, inputs)), "no export files in it")
        if mapping is not None:
            usage.check_mapping_headers(mapping, files)
    except UsageProblem as err:
        _usage_exit(err)
    from adapters.ingest import RunOptions
    from adapters.inspect import inspect_files, report_dict
    from flows.inspect import print_report

    options = RunOptions(
        platform=plat, snapshot_date=date, mapping_file=str(mapping) if mapping else None
    )
    reports = inspect_files(files, options, rows=rows)
    if json_out:
        print(json.dumps([report_dict(r) for r in reports], indent=2, default=str))
    else:
        for r in reports:
            print_report(r, console)
    if any(r.outcome.status != FileStatus.OK for r in reports):
        sys.exit(EXIT_QUARANTINED)


def _split(values: list[str] | None) -> list[str]:
    """``--platform tiktok,instagram`` and repeated options alike."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command(cls=RosterCommand, short_help="Choose the creators to book for a budget.")
def plan(
    budget: Annotated[
        float, typer.Option(metavar="USD", help="total to spend, USD (one post per creator)")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="FOLDER", help="output folder of roster enrich")
    ] = Path("out"),
    objective: Annotated[
        str, typer.Option(metavar="reach|engagements", help="what to maximise")
    ] = "reach",
    platform: Annotated[
        list[str] | None, typer.Option(metavar="PLATFORM", help="only these platforms")
    ] = None,
    tier: Annotated[list[str] | None, typer.Option(metavar="TIER", help="only these tiers")] = None,
    niche: Annotated[
        list[str] | None,
        typer.Option(metavar="TEXT", help="niche or category containing TEXT, e.g. beauty"),
    ] = None,
    country: Annotated[
        list[str] | None, typer.Option(metavar="CC", help="ISO country codes, e.g. US,GB")
    ] = None,
    min_audience_quality: Annotated[
        str | None,
        typer.Option(
            metavar="low|medium|high", help="minimum audience_quality (when the roster has it)"
        ),
    ] = None,
    include_flagged_costs: Annotated[
        bool,
        typer.Option(
            "--include-flagged-costs",
            metavar=FLAG,
            help="also consider creators whose cost estimate is outside the cited CPM range",
        ),
    ] = False,
    min_cost: Annotated[
        float | None, typer.Option(metavar="USD", help="cheapest creator to consider")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(metavar="USD", help="dearest creator to consider")
    ] = None,
    max_creators: Annotated[
        int | None, typer.Option(metavar="N", help="book at most N creators")
    ] = None,
    cost_basis: Annotated[
        str, typer.Option(metavar="low|mid|high", help="which rate-card estimate to budget")
    ] = "mid",
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", metavar="FILE", help="plan CSV (default OUT/plans/plan-TIME.csv)"),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the plan as JSON")
    ] = False,
) -> None:
    """Choose the creators that maximise estimated reach (or engagements) for a budget.

    An exact integer programme (HiGHS) over the published creators table: the plan costs at
    most --budget at the chosen cost basis, books at most --max-creators, and never two
    accounts of one person (when the roster has person_key). Prints the plan, its total
    cost, reach band and CPM and why each creator is in, and writes it as a CSV.
    """
    platforms, tiers, countries = _split(platform), _split(tier), _split(country)
    try:
        if not budget > 0:
            raise UsageProblem("--budget", str(budget), "expected a positive amount in USD")
        for p in platforms:
            usage.check_platform(p)
        for t in tiers:
            if t.lower() not in TIER_NAMES:
                raise UsageProblem("--tier", t, f"expected one of {', '.join(TIER_NAMES)}")
        for c in countries:
            if len(c) != 2 or not c.isalpha():
                raise UsageProblem("--country", c, "expected an ISO 3166 alpha-2 code, e.g. US")
        if objective not in ("reach", "engagements"):
            raise UsageProblem("--objective", objective, "expected reach or engagements")
        if cost_basis not in ("low", "mid", "high"):
            raise UsageProblem("--cost-basis", cost_basis, "expected low, mid or high")
        if min_audience_quality is not None and min_audience_quality not in (
            "low",
            "medium",
            "high",
        ):
            raise UsageProblem(
                "--min-audience-quality", min_audience_quality, "expected low, medium or high"
            )
        if max_creators is not None and max_creators < 1:
            raise UsageProblem("--max-creators", str(max_creators), "expected N >= 1")
        if not (out / "creators").is_dir():
            raise UsageProblem("--out", str(out), "has no creators table; run roster enrich")
    except UsageProblem as err:
        _usage_exit(err)
    from transforms.plan import PlanRequest

    req = PlanRequest(
        budget=budget,
        objective=objective,
        cost_basis=cost_basis,
        platforms=[p.lower() for p in platforms],
        tiers=[t.lower() for t in tiers],
        niches=_split(niche),
        countries=[c.upper() for c in countries],
        min_audience_quality=min_audience_quality,
        min_cost=min_cost,
        max_cost=max_cost,
        max_creators=max_creators,
        include_flagged_costs=include_flagged_costs,
    )
    _plan(req, out, csv_path, json_out)


def _plan(req: Any, out: Path, csv_path: Path | None, json_out: bool) -> None:
    import datetime as dt

    from adapters.plans import read_roster, write_plan_csv
    from transforms.plan import PlanError, make_plan

    try:
        result = make_plan(read_roster(out), req)
    except PlanError as err:
        _usage_exit(str(err))
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    csv_path = csv_path or out / "plans" / f"plan-{stamp}.csv"
    write_plan_csv(result, csv_path)
    if json_out:
        print(json.dumps(
            {"status": result.status, "eligible": result.eligible, "notes": result.notes,
             "totals": result.totals, "csv": str(csv_path),
             "creators": result.chosen.drop("categories", strict=False).to_dicts()},
            indent=2, default=str,
        ))  # fmt: skip
    else:
        print_plan(result, req.objective, csv_path)


def print_plan(result: Any, objective: str, csv_path: Path) -> None:
    from rich.table import Table

    t = Table(title=f"plan: {result.chosen.height} creator(s)", title_justify="left")
    for name in ("platform", "handle", "tier", "followers", objective, "cost USD", "why"):
        t.add_column(name, overflow="fold", justify="left" if name == "why" else "right")
    for r in result.chosen.iter_rows(named=True):
        t.add_row(
            r["platform"], r["handle"], r["tier"], f"{r['followers']:,}",
            f"{r['value']:,.0f}", f"{r['cost']:,.0f}", r["why"],
        )  # fmt: skip
    console.print(t)
    tot = result.totals
    if tot["creators"]:
        console.print(
            f"total cost ${tot['cost_usd']:,.0f} of ${tot['budget_usd']:,.0f} budget (rate card"
            f" range ${tot['cost_usd_low']:,.0f}-${tot['cost_usd_high']:,.0f}); est. reach "
            f"{tot['reach']:,} (band {tot['reach_low']:,}-{tot['reach_high']:,}); CPM "
            f"${tot['cpm_usd']:,.2f} (${tot['cpm_usd_best']:,.2f}-${tot['cpm_usd_worst']:,.2f})",
            markup=False,
        )
    else:
        console.print("no creator fits: widen the filters or raise the budget", markup=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    console.print(
        f"{result.eligible} of {result.considered} creators eligible; solver: {result.status};"
        f" CSV: {csv_path}",
        markup=False,
    )


@app.command(cls=RosterCommand, short_help="Query OUT/roster.duckdb, read-only.")
def sql(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="SQL over the catalog's views")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FOLDER", help="output folder of roster enrich")
    ] = Path("out"),
    csv: Annotated[bool, typer.Option("--csv", metavar=FLAG, help="CSV on stdout")] = False,
) -> None:
    """Query OUT/roster.duckdb (views creators, creator_snapshots, quarantine, tier_summary)
    read-only, with the duckdb package set-up installed; no DuckDB command line needed."""
    try:
        if not (out / "roster.duckdb").is_file():
            raise UsageProblem("--out", str(out), "has no roster.duckdb; run roster enrich")
    except UsageProblem as err:
        _usage_exit(err)
    import duckdb

    from adapters.catalog import connect_catalog

    with connect_catalog(out) as con:
        try:
            rel = con.sql(query)
        except duckdb.Error as err:
            _usage_exit(UsageProblem("QUERY", query, " ".join(str(err).split())))
        if rel is None:
            return
        if csv:
            import polars as pl

            pl.from_arrow(rel.fetch_arrow_table()).write_csv(sys.stdout)  # type: ignore[union-attr]
        else:
            rel.show(max_width=console.width, max_rows=200)


@app.command(cls=RosterCommand, short_help="Rewrite OUT/report.html.")
def report(
    out: Annotated[
        Path, typer.Option("--out", metavar="FOLDER", help="output folder of roster enrich")
    ] = Path("out"),
) -> None:
    """(Re)write OUT/report.html from the current tables and the latest run's manifest
    (`roster enrich` writes it after each run; use this after nightly runs)."""
    manifests = sorted((out / "runs").glob("*/manifest.json"))
    try:
        if not (out / "creators").is_dir() or not manifests:
            raise UsageProblem("--out", str(out), "has no published run; run roster enrich")
    except UsageProblem as err:
        _usage_exit(err)
    from adapters.report import write_report

    manifest = json.loads(manifests[-1].read_text())  # run ids sort by their start time
    console.print(f"report: {write_report(out, manifest)}", markup=False)


@app.command(cls=RosterCommand, short_help="Run enrich-roster on a schedule, one run at a time.")
def serve(
    landing: Annotated[
        Path, typer.Option("--landing", metavar="FOLDER", help="folder the exports land in")
    ],
    out: OutOpt,
    cron: Annotated[
        str, typer.Option(metavar="CRON", help="cron schedule of the runs")
    ] = "0 2 * * *",
    timezone: Annotated[
        str,
        typer.Option(metavar="TZ", help="IANA time zone of the schedule, e.g. Europe/Madrid"),
    ] = "UTC",
    name: Annotated[
        str, typer.Option(metavar="NAME", help="deployment name; one per landing folder")
    ] = "enrich-roster-nightly",
    platform: PlatformOpt = None,
    mapping: MappingOpt = None,
    rate_card: RateCardOpt = None,
    tier_scheme: TierSchemeOpt = None,
    wait_lock: Annotated[
        float,
        typer.Option(
            "--wait-lock", metavar="SECONDS", help="seconds a run waits for another run on --out"
        ),
    ] = 900.0,
    max_workers: Annotated[
        int,
        typer.Option("--max-workers", metavar="N", help="files processed in parallel (threads)"),
    ] = 2,
    keep_contacts: Annotated[
        bool, typer.Option("--keep-contacts", metavar=FLAG, help=KEEP_CONTACTS_HELP)
    ] = False,
) -> None:
    """Run the enrich-roster flow on a schedule (default 02:00 UTC), one run at a time.

    Registers the deployment enrich-roster/NAME with the Prefect API (PREFECT_API_URL) and
    runs its flow runs from this process until stopped (Ctrl-C pauses the schedule). Every
    new export in --landing is enriched into --out; files already processed are skipped. A
    run triggered while another is active waits for it. Runs use threads (--task-runner dask
    is for `roster enrich`).
    """
    try:
        usage.check_cron(cron)
        usage.check_timezone(timezone)
        fields, _ = checked_options(
            [landing],
            out,
            platform=platform,
            snapshot_date=None,
            mapping=mapping,
            rate_card=rate_card,
            tier_scheme=tier_scheme,
            wait_lock=wait_lock,
            max_workers=max_workers,
            need_files=False,
        )
    except UsageProblem as err:
        _usage_exit(err)
    _serve(landing, out, cron, timezone, name, fields, keep_contacts)


def _serve(
    landing: Path,
    out: Path,
    cron: str,
    timezone: str,
    name: str,
    fields: dict[str, Any],
    keep_contacts: bool,
) -> None:
    choose_api()  # a running server (PREFECT_API_URL, or `make server`) before a temporary one
    from pydantic import ValidationError

    from flows import serve as nightly

    fields.pop("snapshot_date", None)
    for key in ("mapping", "rate_card"):  # a run may start in another working directory
        if fields[key]:
            fields[key] = str(Path(fields[key]).resolve())
    try:
        deployment = nightly.build_deployment(
            landing, out, cron, timezone, name, keep_contacts=keep_contacts, **fields
        )
    except ValidationError as err:
        _usage_exit(validation_line(err))
    except ValueError as err:
        _usage_exit(" ".join(str(err).split()))
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        err_console.print(
            "[yellow]PREFECT_API_URL is not set:[/] serving against a temporary local API;"
            " runs stop with this process and are not visible in a Prefect UI."
            " Start `prefect server start` and set PREFECT_API_URL for the nightly."
        )
    due = nightly.due_in_words(nightly.next_run_at(cron, timezone))
    console.print(
        f"enrich-roster/{name}: next run due {due}, then on '{cron}' ({timezone}). "
        "Ctrl-C stops serving and pauses the schedule.",
        markup=False,
    )
    nightly.serve(deployment)


@app.command(cls=RosterCommand, short_help="Backtest the reach estimates on your exports.")
def evaluate(
    inputs: Annotated[list[Path], typer.Argument(metavar="INPUT", help="export files or folders")],
    snapshot_date: Annotated[
        str | None,
        typer.Option(
            "--snapshot-date",
            metavar="YYYY-MM-DD",
            help="date of every input without a date column (beats a date in the file "
            "name, as in roster enrich); without it, undated files are left out and listed",
        ),
    ] = None,
    platform: PlatformOpt = None,
    rate_card: RateCardOpt = None,
    tier_scheme: TierSchemeOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the result as JSON")
    ] = False,
) -> None:
    """Backtest the reach estimates on your own exports: hide the observed views of each
    platform's latest snapshot, predict them as `roster enrich` would, and print how far
    off the estimates are (per platform, tier, method, and for creators never seen before).

    Nothing is written. See docs/ESTIMATES.md for what the figures mean.
    """
    try:
        usage.check_inputs(inputs)
        plat = usage.check_platform(platform)
        date = usage.check_date(snapshot_date)
        usage.check_rate_card(rate_card, tier_scheme)
    except UsageProblem as err:
        _usage_exit(err)
    from adapters.evaluate import evaluate as run_backtest
    from adapters.ingest import RunOptions

    options = RunOptions(platform=plat, snapshot_date=date, tier_scheme=tier_scheme)
    result = run_backtest([str(p) for p in inputs], options, str(rate_card) if rate_card else None)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    for skipped in result.skipped_files:
        err_console.print(
            f"left out {skipped['source_file']}: {skipped['reason']}: {skipped['detail']}",
            markup=False,
        )
    if result.table.is_empty():
        err_console.print("no observed views to hold out: nothing to evaluate", markup=False)
        sys.exit(EXIT_QUARANTINED)
    print_backtest(result)


def print_backtest(result: Any) -> None:
    from rich.table import Table

    from adapters.evaluate import render_table

    held = ", ".join(f"{p} {d}" for p, d in result.held_out.items())
    table = Table(title=f"Reach backtest: observed views hidden for {held}")
    for name in ("platform", "slice", "rows", "typical error", "bias", "within 2x", "80% band"):
        table.add_column(name, justify="left" if name in ("platform", "slice") else "right")
    for row in render_table(result.table):
        table.add_row(*row)
    console.print(table)
    console.print(
        "typical error = exp(median |ln(est/observed)|); bias = exp(median ln(est/observed)),"
        " above 1 = over-estimates;\n80% band = share of observed views inside "
        "est_reach_low..est_reach_high (docs/ESTIMATES.md)",
        markup=False,
    )


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
