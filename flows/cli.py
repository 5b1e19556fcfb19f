"""roster: the command line for analysts (ad hoc) and operators (nightly)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

# isort: off
# first: the command's start time (flows.terminal.STARTED) is taken when it is imported
from flows.terminal import EXIT_INTERRUPTED, EXIT_OK, FLAG, err_console, usage_exit

# isort: on
import typer
import typer.core

# typer 0.29 vendors click: its exceptions are the ones the parser raises
from typer._click import exceptions as click_errors

from flows.enrich_cli import UNREADABLE, enrich, explain_failure
from flows.preview_cli import evaluate, inspect
from flows.roster_cli import TIER_NAMES, plan, report, sql
from flows.serve_cli import serve

__all__ = ["TIER_NAMES", "UNREADABLE", "app", "explain_failure", "main"]


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
            usage_exit(f"{message} (see {command} --help)")
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


# the commands, in the order `roster --help` lists them, with their one-line help
COMMANDS = (
    (enrich, "Enrich creator exports into the roster tables under --out."),
    (inspect, "Show how files would be read; nothing is published."),
    (plan, "Choose the creators to book for a budget."),
    (sql, "Query OUT/roster.duckdb, read-only."),
    (report, "Rewrite OUT/report.html."),
    (serve, "Run enrich-roster on a schedule, one run at a time."),
    (evaluate, "Backtest the reach estimates on your exports."),
)
for command, short_help in COMMANDS:
    app.command(cls=RosterCommand, short_help=short_help)(command)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
