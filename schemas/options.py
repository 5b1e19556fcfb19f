"""The run's options, each declared once: its name and type (the annotation), default, help
text and metavar on the command line, the description in the flow's parameter schema, its
constraints (range, choices from the vocabulary, what a path must be), and whether it
decides how one file is read. Which commands take which option, in their help order and with
a command's own help or default where it has one, is ``COMMANDS``; the nightly deployment's
defaults are ``DEPLOYMENT``.

Generated from it: the typer options of the commands (``flows.cli_options``), the run's
pydantic model ``EnrichParams`` (``adapters.params``), the up-front checks (``flows.usage``),
``roster serve``'s deployment (``flows.serve``) and ``prefect.yaml`` (``flows.deployment``).

Standard library and ``schemas.vocabulary`` only: the CLI reads this before anything heavy.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from schemas.vocabulary import Platform


class PathKind(StrEnum):
    """What a path option must name, checked before the run starts."""

    EXISTING = "existing"  # a file or a folder that exists
    FILE = "file"  # a file that exists
    OUT_FOLDER = "out_folder"  # a writable folder, or one that can be created


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # an option without a default


@dataclass(frozen=True)
class Option:
    """One option. ``name`` and ``type`` come from the attribute it is declared as: the type
    is the run's (``str`` for a path the run is given, ``dt.date``); the command line reads
    paths as paths and dates as text (checked by ``flows.usage``)."""

    help: str  # on the command line; ``{choices}`` is replaced by the choices
    metavar: str
    default: Any = REQUIRED
    description: str | None = None  # in the flow's parameter schema (None: none there)
    argument: bool = False  # positional (INPUT...) rather than --name
    choices: tuple[str, ...] | None = None
    choices_in_schema: bool = True  # a JSON-schema enum; else checked up front only
    fold_case: bool = False  # a choice in any case (TikTok -> tiktok)
    ge: int | float | None = None
    le: int | float | None = None
    unit: str = ""  # in a range's message: "expected seconds >= 0"
    min_items: int | None = None
    path: PathKind | None = None
    expects: str = ""  # what a path must be, in messages: "a rate card TOML like ..."
    file_level: bool = False  # decides how a file is read (remembered with the file)
    name: str = ""
    type: Any = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        """How messages name it: ``INPUT`` for an argument, else its flag."""
        return self.metavar if self.argument else self.flag

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def many(self) -> bool:
        return typing.get_origin(self.type) is list

    @property
    def kind(self) -> Any:
        """The type of one value: ``dt.date`` for ``dt.date | None``, ``str`` for a list of
        them."""
        if self.many:
            return typing.get_args(self.type)[0]
        args = [a for a in typing.get_args(self.type) if a is not type(None)]
        return args[0] if isinstance(self.type, types.UnionType) else self.type

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    @property
    def cli_help(self) -> str:
        return self.help.format(choices="|".join(self.choices or ()))


def option(help: str, metavar: str = "", **declared: Any) -> Any:
    """An option's declaration, as a class attribute (typed ``Any`` like
    ``dataclasses.field``, so that the class reads as the options' types)."""
    return Option(help=help, metavar=metavar, **declared)


def declared(cls: type) -> dict[str, Option]:
    """The options declared on ``cls``, in declaration order, named and typed."""
    hints = typing.get_type_hints(cls)
    return {
        name: replace(getattr(cls, name), name=name, type=hints[name])
        for name in cls.__annotations__
    }


@dataclass(frozen=True)
class Deployment:
    """The nightly deployment, the same for ``roster serve`` and ``prefect.yaml``."""

    name: str
    cron: str
    timezone: str
    wait_lock: float  # an unattended run waits for an ad-hoc one holding the output
    concurrency_limit: int
    collision_strategy: str  # Prefect's ConcurrencyLimitStrategy
    tags: tuple[str, ...]
    work_pool: str  # prefect.yaml's (a process pool); `roster serve` needs none
    yaml_parameters: tuple[str, ...]  # spelt out in prefect.yaml, besides inputs and out


DEPLOYMENT = Deployment(
    name="enrich-roster-nightly",
    cron="0 2 * * *",
    timezone="UTC",
    wait_lock=900.0,
    # never two runs at once: a run triggered while one is active waits for it (ENQUEUE);
    # CANCEL_NEW would drop it, losing e.g. an operator's full_refresh run
    concurrency_limit=1,
    collision_strategy="ENQUEUE",
    tags=("roster", "nightly"),
    work_pool="roster-process",
    yaml_parameters=("wait_lock", "full_refresh", "keep_contacts"),
)


class RunParams:
    """The parameters of one enrich run (``EnrichParams`` is this, validated by pydantic);
    declaration order is the order of the flow's parameter schema."""

    inputs: list[str] = option(
        "export files or folders", "INPUT", argument=True, min_items=1,
        description="files or folders of exports",
        path=PathKind.EXISTING, expects="an export file or a folder",
    )  # fmt: skip
    out: str = option(
        "output folder", "FOLDER",
        description="output folder (Delta tables, manifests)", path=PathKind.OUT_FOLDER,
    )  # fmt: skip
    platform: str | None = option(
        "{choices}: when neither a column nor the file name says", "PLATFORM", default=None,
        choices=Platform.codes(), fold_case=True, file_level=True,
    )  # fmt: skip
    snapshot_date: dt.date | None = option(
        "date the exports describe, when neither a column nor the file name says",
        "YYYY-MM-DD", default=None, file_level=True,
    )  # fmt: skip
    mapping: str | None = option(
        'TOML file naming the columns, e.g. followers = "Fans (total)"', "FILE", default=None,
        description="TOML file naming which column is which",
        path=PathKind.FILE, expects='a TOML file with [columns] field = "header"',
    )  # fmt: skip
    rate_card: str | None = option(
        "rate card TOML", "FILE", default=None,
        description="rate card TOML (default: the shipped one)",
        path=PathKind.FILE, expects="a rate card TOML like transforms/config",
    )  # fmt: skip
    tier_scheme: str | None = option(
        "four_tier (default) or five_tier", "SCHEME", default=None,
        description="tier scheme of the rate card",  # its choices: the rate card's schemes
    )  # fmt: skip
    wait_lock: float = option(
        "seconds to wait for another run on --out", "SECONDS", default=0.0, ge=0,
        unit="seconds", description="seconds to wait for another run on --out",
    )  # fmt: skip
    max_workers: int = option(
        "files processed in parallel", "N", default=2, ge=1, le=64,
        description="files processed at once (threads)",
    )  # fmt: skip
    full_refresh: bool = option(
        "reprocess every input; by default a file already processed (same SHA-256, same rate"
        " card and options) is skipped", default=False,
        description="reprocess every input, even files the ledger has already seen",
    )  # fmt: skip
    keep_contacts: bool = option(
        "write emails/phones to OUT/contacts (a separate table; never to the BI tables)",
        default=False,
        description="write emails/phones to a separate `contacts` table (never to BI tables)",
    )  # fmt: skip
    max_file_mb: int = option(
        "largest decoded size of an input (a workbook's XML, a zip's members, a gzip's "
        "content), MiB; bigger files are quarantined whole (reading peaks at about 13x this "
        "in memory: docs/RELIABILITY.md)", "MIB", default=2048, ge=1, unit="MiB",
        description="largest size an input file may expand to, MiB (memory bound, "
        "RELIABILITY.md)",
    )  # fmt: skip
    task_runner: str = option(
        "thread (one machine) or dask (a dask.distributed cluster; unit: one file)",
        "thread|dask", default="thread", choices=("thread", "dask"),
        description="thread: one machine; dask: a dask.distributed cluster",
    )  # fmt: skip
    dask_address: str | None = option(
        "tcp://HOST:PORT of a dask scheduler, with --task-runner dask (default: a local "
        "cluster)", "URL", default=None,
        description="tcp://HOST:PORT of a dask scheduler; default: a local 2-worker cluster",
    )  # fmt: skip


class ServeOptions:
    """What ``roster serve`` takes besides the run's parameters: the deployment's."""

    landing: str = option(
        "folder the exports land in", "FOLDER",
        path=PathKind.EXISTING, expects="an export file or a folder",
    )  # fmt: skip
    cron: str = option("cron schedule of the runs", "CRON", default=DEPLOYMENT.cron)
    timezone: str = option(
        "IANA time zone of the schedule, e.g. Europe/Madrid", "TZ", default=DEPLOYMENT.timezone
    )
    name: str = option("deployment name; one per landing folder", "NAME", default=DEPLOYMENT.name)


RUN_PARAMS = declared(RunParams)
OPTIONS = {**RUN_PARAMS, **declared(ServeOptions)}
FILE_LEVEL = tuple(name for name, o in RUN_PARAMS.items() if o.file_level)


@dataclass(frozen=True)
class Use:
    """An option as one command takes it, where its help, default or metavar differ there
    (None: the declaration's)."""

    name: str
    help: str | None = None
    default: Any = None
    metavar: str | None = None


# the commands that take the declared options, each in its help order
COMMANDS: dict[str, tuple[str | Use, ...]] = {
    "enrich": (
        "inputs", "out", "platform", "snapshot_date", "mapping", "rate_card", "tier_scheme",
        "wait_lock", "max_workers", "full_refresh", "keep_contacts", "task_runner",
        "dask_address", "max_file_mb",
    ),
    "serve": (
        "landing", "out", "cron", "timezone", "name", "platform", "mapping", "rate_card",
        "tier_scheme",
        Use("wait_lock", help="seconds a run waits for another run on --out",
            default=DEPLOYMENT.wait_lock),
        Use("max_workers", help="files processed in parallel (threads)"),
        "keep_contacts",
    ),
    "inspect": (
        Use("inputs", help="export files or folders to preview", metavar="FILE"), "platform",
        Use("snapshot_date", help="as for roster enrich"), "mapping",
    ),
    "evaluate": (
        "inputs",
        Use("snapshot_date", help="date of every input without a date column (beats a date in the "
            "file name, as in roster enrich); without it, undated files are left out and listed"),
        "platform", "rate_card", "tier_scheme",
    ),
}  # fmt: skip


def command_options(command: str) -> tuple[Option, ...]:
    """The options ``command`` takes, in its help order, with its own help and defaults."""
    found = []
    for use in COMMANDS[command]:
        use = use if isinstance(use, Use) else Use(use)
        changed = {k: getattr(use, k) for k in ("help", "default", "metavar")}
        found.append(
            replace(OPTIONS[use.name], **{k: v for k, v in changed.items() if v is not None})
        )
    return tuple(found)


def commands_taking(name: str) -> tuple[str, ...]:
    """The commands that take the option ``name``."""
    return tuple(c for c in COMMANDS if any(o.name == name for o in command_options(c)))
