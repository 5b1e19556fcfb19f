"""``roster enrich``: the options checked up front, the flow run, its summary and exit
status; and ``checked_run``, the checks ``roster serve`` shares."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows import usage
from flows.cli_options import with_options
from flows.prefect_api import LOCAL_API_URL, choose_api
from flows.terminal import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_QUARANTINED,
    EXIT_USAGE,
    FLAG,
    STARTED,
    console,
    err_console,
    locked_exit,
    usage_exit,
)
from flows.usage import UsageProblem
from schemas.options import command_options
from schemas.reasons import Reason  # (an enum: pandera loads lazily)
from schemas.vocabulary import FileStatus

if TYPE_CHECKING:
    from schemas.manifest import Manifest

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


def checked_run(command: str, given: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    """Every option and input of ``command`` checked, cheap checks first (see
    ``flows.usage``); raises ``UsageProblem``. Returns the run's parameters as
    ``EnrichParams`` fields, and the export files found (``serve``: its landing folder's
    exports are yet to come, none is needed)."""
    values = usage.check_options(command_options(command), given)
    need_files = "inputs" in values
    inputs = values["inputs"] if need_files else [values["landing"]]
    # the stage that needs polars: still before Prefect
    usage.check_rate_card_model(values["rate_card"])
    files = usage.export_files(inputs)
    if need_files and not files:
        raise UsageProblem(
            "INPUT", ", ".join(map(str, inputs)), "no export files in it; expected CSV, TSV, "
            "TXT, XLSX/XLS, JSON or NDJSON files"
        )  # fmt: skip
    if values["mapping"] is not None:
        usage.mapping_columns(values["mapping"])
        if files and need_files:
            usage.check_mapping_headers(values["mapping"], files)
    usage.make_out(values["out"])
    return usage.run_fields(values), files


@with_options("enrich")
def enrich(
    given: dict[str, Any],
    json_summary: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="print the manifest as JSON")
    ] = False,
) -> None:
    """Enrich creator exports into the roster tables under --out.

    Exit status: 0 every file processed; 1 some file was quarantined whole; 2 usage error
    or nothing could be read; 3 another run holds --out; 4 the run failed.
    """
    try:
        fields, files = checked_run("enrich", given)
    except UsageProblem as err:
        usage_exit(err)
    # no waiting asked for: a held lock is known now, not after Prefect's start-up (with
    # --wait-lock the run waits for the lock itself, inside the flow)
    from adapters.lock import lock_holder

    holder = lock_holder(Path(fields["out"])) if fields["wait_lock"] == 0 else None
    if holder:
        locked_exit(holder)
    api = choose_api()
    if api == LOCAL_API_URL:
        err_console.print(f"Prefect API: the local server at {api}", markup=False)
    from pydantic import ValidationError

    from flows.enrich_roster import EnrichParams

    try:
        params = EnrichParams(**fields)
    except ValidationError as err:
        usage_exit(usage.validation_problem(err))
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
        usage_exit(str(err).strip("'\""))
    except OutputLocked as err:
        locked_exit(str(err))
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


def _finish(payload: dict[str, Any], json_summary: bool) -> None:
    """Print the summary and exit with the run's status."""
    from flows.printing import print_summary
    from schemas.manifest import Manifest

    manifest = Manifest.model_validate(payload)
    if manifest.nothing_to_do:
        usage_exit(f"INPUT: no export files found in {', '.join(manifest.params['inputs'])}")
    api_problem = prefect_api_problem()
    report = _written_report(manifest)
    timings = dict(manifest.timings_seconds)
    timings["total"] = round(time.perf_counter() - STARTED, 3)
    timings["outside_flow"] = round(timings["total"] - timings.get("flow_total", 0.0), 3)
    if json_summary:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print_summary(manifest)
    print("timing: " + json.dumps(timings), file=sys.stderr)
    if report and not json_summary:
        console.print(f"report: {report}  (open it in a browser; it works offline)", markup=False)
    if api_problem:
        err_console.print(
            f"run failed: {api_problem}. The tables and runs/{manifest.run_id}/manifest.json "
            "were published and are complete, but the run's record in Prefect (state, logs, "
            "artifacts) is not.",
            markup=False,
        )
        sys.exit(EXIT_FAILED)
    files = manifest.files
    if files and all(f.status != FileStatus.OK and f.reason in UNREADABLE for f in files):
        sys.exit(EXIT_USAGE)
    if any(f.status != FileStatus.OK for f in files):
        sys.exit(EXIT_QUARANTINED)


def _written_report(manifest: Manifest) -> Path | None:
    """OUT/report.html, which the run writes (a report it could not draw is a warning)."""
    from adapters.report import REPORT_NAME

    report = Path(manifest.out) / REPORT_NAME
    return report if report.is_file() else None


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
