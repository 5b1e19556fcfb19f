"""``roster inspect`` and ``roster evaluate``: read exports as a run would, publish nothing
(no Prefect)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from flows import usage
from flows.cli_options import with_options
from flows.terminal import EXIT_QUARANTINED, FLAG, console, err_console, usage_exit
from flows.usage import UsageProblem
from schemas.options import command_options
from schemas.vocabulary import FileStatus


@with_options("inspect")
def inspect(
    given: dict[str, Any],
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
        values = usage.check_options(command_options("inspect"), given)
        files = usage.export_files(values["inputs"])
        if not files:
            raise UsageProblem(
                "FILE", ", ".join(map(str, values["inputs"])), "no export files in it"
            )
        if values["mapping"] is not None:
            usage.check_mapping_headers(values["mapping"], files)
    except UsageProblem as err:
        usage_exit(err)
    from adapters.ingest import RunOptions
    from adapters.inspect import inspect_files, report_dict
    from flows.inspect import print_report

    mapping = values["mapping"]
    options = RunOptions(
        platform=values["platform"],
        snapshot_date=values["snapshot_date"],
        mapping_file=str(mapping) if mapping else None,
    )
    reports = inspect_files(files, options, rows=rows)
    if json_out:
        print(json.dumps([report_dict(r) for r in reports], indent=2, default=str))
    else:
        for r in reports:
            print_report(r, console)
    if any(r.outcome.status != FileStatus.OK for r in reports):
        sys.exit(EXIT_QUARANTINED)


@with_options("evaluate")
def evaluate(
    given: dict[str, Any],
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
        values = usage.check_options(command_options("evaluate"), given)
    except UsageProblem as err:
        usage_exit(err)
    from adapters.evaluate import evaluate as run_backtest
    from adapters.ingest import RunOptions
    from flows.printing import print_backtest

    options = RunOptions(
        platform=values["platform"],
        snapshot_date=values["snapshot_date"],
        tier_scheme=values["tier_scheme"],
    )
    rate_card = values["rate_card"]
    inputs = [str(p) for p in values["inputs"]]
    result = run_backtest(inputs, options, str(rate_card) if rate_card else None)
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
