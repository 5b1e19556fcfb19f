"""Up-front checks of every option and input of ``roster``, before Prefect starts.

A bad invocation must fail in well under a second with one line that names the option, the
bad value and the form expected (exit status 2), not after Prefect's 10-20 s start-up with a
traceback. The checks come in two stages:

* ``check_options`` uses the standard library only (the ``roster`` process has imported
  nothing heavy yet): what the declaration of the options says (``schemas.options``: paths
  exist and are of the right kind, choices, ranges, dates), then ``RULES``, what it cannot
  say (the output is outside the inputs, a cron and a time zone the scheduler knows, a rate
  card's TOML parses and has the tier scheme asked for);
* stage 2 needs the readers (polars, ~0.3 s): the rate card's full validation, the mapping
  file as the run loads it (``adapters.config.load_mapping``), and a ``--mapping`` entry
  that names a header found in none of the inputs is refused with the headers found.

Everything here raises ``UsageProblem``; ``flows.cli`` prints it and exits 2.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.options import OPTIONS, RUN_PARAMS, Option, PathKind

if TYPE_CHECKING:
    from pydantic import ValidationError

# the platforms a file can be given with --platform (schemas.vocabulary: standard library only)
PLATFORMS = OPTIONS["platform"].choices or ()
DATE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DASK_ADDRESS_FORM = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s:/]+(:\d{1,5})?$")
HEADER_CHECK_MAX_BYTES = 256 << 20  # larger files are checked by the run itself


class UsageProblem(ValueError):
    """A bad option or input: one line, exit status 2."""

    def __init__(self, option: str, value: object, expected: str) -> None:
        self.option, self.value, self.expected = option, value, expected
        shown = value if isinstance(value, str) else repr(value)
        super().__init__(f"{option} {_quote(shown)}: {expected}")


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return f"'{text[:200]}'"


# ---------------------------------------------------------------- stage 1 (standard library)


def check_options(options: Sequence[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of a command as its declaration says, in the command's order, then the
    ``RULES`` between them; returns the values as the run takes them (a choice in lower
    case where case does not matter, a date)."""
    values = {}
    for opt in options:
        value = given[opt.name]
        if opt.path is not None and value is not None:
            for path in value if opt.many else [value]:
                check_path(opt, path)
        values[opt.name] = check_value(opt, value)
    for names, rule in RULES:
        if all(n in values for n in names):
            rule(*(values[n] for n in names))
    return values


def check_path(opt: Option, path: Path) -> None:
    if opt.path == PathKind.OUT_FOLDER:
        check_out(path, opt.label)
    elif not path.exists():
        raise UsageProblem(opt.label, str(path), f"not found; expected {opt.expects}")
    elif opt.path == PathKind.FILE and not path.is_file():
        raise UsageProblem(opt.label, str(path), f"is not a file; expected {opt.expects}")


def check_value(opt: Option, value: Any) -> Any:
    """One value by its option's choices, range or date form."""
    if value is None:
        return None
    if opt.choices is not None:
        chosen = value.lower() if opt.fold_case else value
        if chosen not in opt.choices:
            raise UsageProblem(opt.label, value, f"expected one of {', '.join(opt.choices)}")
        return chosen
    if opt.kind is dt.date:
        return check_date(value, opt.label)
    if opt.ge is not None or opt.le is not None:
        check_range(opt, value)
    return value


def check_range(opt: Option, value: float) -> None:
    low, high = opt.ge, opt.le
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        expected = f"{low} to {high}"
    else:
        expected = f"{opt.unit} >= {low}" if low is not None else f"{opt.unit} <= {high}"
    raise UsageProblem(opt.label, str(value), f"expected {expected}")


def run_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values that are the run's parameters, as ``EnrichParams`` takes them
    (paths as text)."""

    def text(v: Any) -> Any:
        return str(v) if isinstance(v, Path) else v

    return {
        name: [text(v) for v in value] if isinstance(value, list) else text(value)
        for name, value in values.items()
        if name in RUN_PARAMS
    }


def validation_problem(err: ValidationError) -> UsageProblem:
    """A pydantic error of the run's parameters as ``--option 'value': message``."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "parameters"
    option = OPTIONS[field].label if field in OPTIONS else "--" + field.replace("_", "-")
    value = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return UsageProblem(option, value if isinstance(value, str) else str(value), message + more)


def check_out(out: Path, option: str = "--out") -> None:
    """The output folder exists and is a writable folder, or can be created."""
    if out.exists():
        if not out.is_dir():
            raise UsageProblem(option, str(out), "is a file; expected a folder (new or existing)")
        if not os.access(out, os.W_OK | os.X_OK):
            raise UsageProblem(option, str(out), "is not writable; expected a folder you can write")
        return
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageProblem(
            option, str(out), f"cannot be created under {parent}; expected a writable location"
        )


def check_out_outside_inputs(out: Path, inputs: Sequence[Path]) -> None:
    """OUT inside an input folder would be read back as exports (its CSV and JSON files)."""
    target = out.absolute().resolve()
    for p in inputs:
        folder = p.absolute().resolve()
        if p.is_dir() and (target == folder or folder in target.parents):
            raise UsageProblem(
                "--out", str(out), f"is inside the input folder {p}; a later run would read "
                "the output's CSV and JSON files as exports; expected a folder elsewhere"
            )  # fmt: skip


def make_out(out: Path, option: str = "--out") -> None:
    """Create the output folder (the run would): the last check, after all the others."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".roster-write-check-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise UsageProblem(
            option, str(out), f"cannot be written ({err.strerror}); expected a writable folder"
        ) from None


def check_date(text: str | None, option: str = "--snapshot-date") -> dt.date | None:
    if text is None:
        return None
    try:
        if not DATE_FORM.match(text):
            raise ValueError("not in that form")
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise UsageProblem(option, text, f"expected a date YYYY-MM-DD ({err})") from None


def unreadable_toml(opt: Option, path: Path, err: Exception) -> UsageProblem:
    """A TOML file that does not parse or cannot be read, in one line."""
    if isinstance(err, OSError):
        return UsageProblem(opt.label, str(path), f"cannot be read ({err.strerror})")
    return UsageProblem(opt.label, str(path), f"is not valid TOML ({err}); expected {opt.expects}")


def check_rate_card(rate_card: Path | None, tier_scheme: str | None) -> None:
    """The rate card parses and has the tier scheme asked for (its full validation, sources
    and coverage, happens in ``check_rate_card_model``)."""
    from importlib import resources

    shipped = resources.files("transforms.config").joinpath("rate_card.toml")
    try:
        with (rate_card or shipped).open("rb") as fh:
            data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as err:
        raise unreadable_toml(OPTIONS["rate_card"], rate_card or Path(), err) from None
    schemes = sorted((data.get("schemes") or {}).keys())
    if tier_scheme is not None and tier_scheme not in schemes:
        raise UsageProblem("--tier-scheme", tier_scheme, f"expected one of {', '.join(schemes)}")


def check_runner(task_runner: str, dask_address: str | None) -> None:
    if dask_address is None:
        return
    if task_runner != "dask":
        raise UsageProblem("--dask-address", dask_address, "needs --task-runner dask")
    if not DASK_ADDRESS_FORM.match(dask_address):
        raise UsageProblem("--dask-address", dask_address, "expected tcp://HOST:PORT")


def check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageProblem(
            "--timezone", name, "expected an IANA time zone, e.g. UTC or Europe/Madrid"
        ) from None


def check_cron(cron: str) -> None:
    """A cron expression the scheduler can compute dates from (cronsim, as Prefect uses)."""
    import datetime as dt

    from cronsim import CronSim, CronSimError

    try:
        next(CronSim(cron, dt.datetime.now(dt.UTC)))
    except (CronSimError, StopIteration) as err:
        raise UsageProblem(
            "--cron", cron, f"expected five fields, e.g. '0 2 * * *' ({err or 'never fires'})"
        ) from None


# what the declaration of each option cannot say: (the options it needs, the check)
RULES: tuple[tuple[tuple[str, ...], Callable[..., None]], ...] = (
    (("out", "inputs"), check_out_outside_inputs),
    (("out", "landing"), lambda out, landing: check_out_outside_inputs(out, [landing])),
    (("task_runner", "dask_address"), check_runner),
    (("cron",), check_cron),
    (("timezone",), check_timezone),
    (("rate_card", "tier_scheme"), check_rate_card),
)


# ---------------------------------------------------------------- stage 2 (needs polars)


def check_rate_card_model(rate_card: Path | None) -> None:
    """The rate card passes its full validation (ordering, coverage, sources)."""
    if rate_card is None:
        return
    from pydantic import ValidationError

    from adapters.config import load_rate_card

    try:
        load_rate_card(rate_card)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "the file"
        raise UsageProblem(
            "--rate-card",
            str(rate_card),
            f"{where}: {first['msg']} ({err.error_count()} problem(s))",
        ) from None


def mapping_columns(mapping: Path) -> dict[str, str | list[str]]:
    """The ``[columns]`` of a mapping file, loaded as the run loads it."""
    from adapters.config import load_mapping

    try:
        return load_mapping(mapping).columns
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as err:
        raise unreadable_toml(OPTIONS["mapping"], mapping, err) from None
    except ValueError as err:
        text = str(err).removeprefix(f"{mapping}: ")
        raise UsageProblem("--mapping", str(mapping), text) from None


def export_files(inputs: Iterable[Path]) -> list[Path]:
    """The files a run would read (folders expanded, as ``discover_inputs`` does)."""
    from adapters.readers import SUPPORTED_SUFFIXES

    found: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found += sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found.append(p)
    return found


def headers_of(path: Path) -> dict[str, list[str]] | None:
    """Header row of each sheet of one export (None when it cannot be read: the run then
    quarantines it with the reason)."""
    from adapters.readers import FileRejected, read_export

    try:
        return {s.label: list(s.headers) for s in read_export(path, path.name)}
    except FileRejected:
        return None


def check_mapping_headers(mapping: Path, files: Sequence[Path]) -> None:
    """Every header the mapping names is in at least one input (case, spaces and punctuation
    aside, as the run matches them); otherwise list the headers found."""
    from transforms.headers import header_key

    columns = mapping_columns(mapping)
    found: dict[str, list[str]] = {}
    for f in files:
        if f.stat().st_size <= HEADER_CHECK_MAX_BYTES:
            found.update(headers_of(f) or {})
    if not found:
        return
    keys = {header_key(h) for hs in found.values() for h in hs}
    for field, names in columns.items():
        for name in [names] if isinstance(names, str) else names:
            if header_key(name) not in keys:
                listing = "; ".join(
                    f"{label}: {', '.join(repr(h) for h in hs)}"
                    for label, hs in list(found.items())[:3]
                )
                more = f" (and {len(found) - 3} more file(s))" if len(found) > 3 else ""
                raise UsageProblem(
                    "--mapping",
                    f'{field} = "{name}"',
                    f"no input has that header; headers found: {listing}{more}",
                )
