"""``roster serve``: the nightly deployment (``flows.serve``), registered and served from
this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows import usage
from flows.cli_options import with_options
from flows.enrich_cli import checked_run
from flows.prefect_api import choose_api
from flows.terminal import console, err_console, usage_exit
from flows.usage import UsageProblem


@with_options("serve")
def serve(given: dict[str, Any]) -> None:
    """Run the enrich-roster flow on a schedule (default 02:00 UTC), one run at a time.

    Registers the deployment enrich-roster/NAME with the Prefect API (PREFECT_API_URL) and
    runs its flow runs from this process until stopped (Ctrl-C pauses the schedule). Every
    new export in --landing is enriched into --out; files already processed are skipped. A
    run triggered while another is active waits for it. Runs use threads (--task-runner dask
    is for `roster enrich`).
    """
    try:
        fields, _ = checked_run("serve", given)
    except UsageProblem as err:
        usage_exit(err)
    _serve(given["landing"], given["cron"], given["timezone"], given["name"], fields)


def _serve(landing: Path, cron: str, timezone: str, name: str, fields: dict[str, Any]) -> None:
    choose_api()  # a running server (PREFECT_API_URL, or `make server`) before a temporary one
    from pydantic import ValidationError

    from flows import serve as nightly

    out = fields.pop("out")
    for key in ("mapping", "rate_card"):  # a run may start in another working directory
        if fields[key]:
            fields[key] = str(Path(fields[key]).resolve())
    try:
        deployment = nightly.build_deployment(landing, out, cron, timezone, name, **fields)
    except ValidationError as err:
        usage_exit(usage.validation_problem(err))
    except ValueError as err:
        usage_exit(" ".join(str(err).split()))
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
