"""Find the input files of a run, and say why every other file under the inputs is not read.

A delivery is named by its path relative to the input root it was found under (so two
agencies' ``tiktok_dec_2022.csv`` in their own sub-folders are two deliveries), or by its
name when given as a file. The name is what a later run replaces: keep it stable.

Folders are walked following symlinks (a folder reached twice, or a symlink loop, is
listed once as such). Nothing under --out is read. Every file not read is listed with why:
hidden files and folders, Excel's ``~$`` lock files, formats the tool does not read,
text or JSON files that are not a table (a README.txt, a settings.json), folders it may
not list.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from adapters.readers import SUPPORTED_SUFFIXES
from adapters.readers.archives import ARCHIVE_SUFFIXES, PARQUET_SUFFIXES
from schemas.vocabulary import SkipReason

READABLE_SUFFIXES = frozenset(SUPPORTED_SUFFIXES | ARCHIVE_SUFFIXES | PARQUET_SUFFIXES)
PEEK_BYTES = 64 * 1024
PEEK_JSON_BYTES = 1 << 20  # JSON files up to this size are checked for being a table


@dataclass(frozen=True)
class NotRead:
    """A file (or folder) under the inputs that the run does not read, and why."""

    path: str
    label: str
    reason: SkipReason
    detail: str


@dataclass
class Discovery:
    files: list[tuple[Path, str]] = field(default_factory=list)
    not_read: list[NotRead] = field(default_factory=list)


def discover_inputs(inputs: list[str]) -> list[tuple[Path, str]]:
    """(path, label) of every export under ``inputs`` (see ``discover``)."""
    return discover(inputs).files


def discover(inputs: list[str], out: Path | None = None) -> Discovery:
    found = Discovery()
    skip = out.resolve() if out is not None else None
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            _walk(root, skip, found)
        else:
            found.files.append((root, root.name))
    found.files = unique_labels(found.files)
    return found


def _walk(root: Path, skip: Path | None, found: Discovery) -> None:
    seen_dirs: set[tuple[int, int]] = set()

    def listed(err: OSError) -> None:
        where = Path(err.filename or root)
        found.not_read.append(
            NotRead(
                str(where),
                _relative(where, root),
                SkipReason.PERMISSION_DENIED
                if isinstance(err, PermissionError)
                else SkipReason.UNREADABLE_FOLDER,
                f"{_relative(where, root)}: the folder cannot be listed ({err.strerror}); "
                "give the run's user read access to it",
            )
        )

    for folder, dirs, names in os.walk(root, onerror=listed, followlinks=True):
        here = Path(folder)
        st = here.stat()
        if (st.st_dev, st.st_ino) in seen_dirs:
            found.not_read.append(
                NotRead(
                    str(here),
                    _relative(here, root),
                    SkipReason.SYMLINK_LOOP,
                    f"{_relative(here, root)}: a symlink to a folder already read (read once)",
                )
            )
            dirs[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        for d in sorted(dirs):
            sub = here / d
            if skip is not None and sub.resolve() == skip:
                found.not_read.append(
                    NotRead(
                        str(sub),
                        _relative(sub, root),
                        SkipReason.OUTPUT_FOLDER,
                        f"{_relative(sub, root)}: the --out folder; the run never reads "
                        "its own output",
                    )
                )
            elif d.startswith("."):
                found.not_read.append(
                    NotRead(str(sub), _relative(sub, root), SkipReason.HIDDEN, "a hidden folder")
                )
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and (skip is None or (here / d).resolve() != skip)
        )
        for name in sorted(names):
            _classify(here / name, root, found)


def _classify(path: Path, root: Path, found: Discovery) -> None:
    label = _relative(path, root)
    why = not_an_input(path)
    if why is None:
        found.files.append((path, label))
    else:
        found.not_read.append(NotRead(str(path), label, why[0], f"{label}: {why[1]}"))


def not_an_input(path: Path) -> tuple[SkipReason, str] | None:
    """(reason, why) when a file found in a folder is not an export, else None."""
    name = path.name
    if name.startswith("~$"):
        return (
            SkipReason.OFFICE_LOCK_FILE,
            "an Excel/Word lock file (the workbook is open somewhere)",
        )
    if name.startswith("."):
        return SkipReason.HIDDEN, "a hidden file"
    if not path.exists():
        return SkipReason.BROKEN_SYMLINK, "a symlink to a file that does not exist"
    if not path.is_file():
        return SkipReason.NOT_A_FILE, "not a regular file"
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        return SkipReason.NOT_AN_EXPORT, (
            f"{suffix or 'no extension'} is not an export format "
            f"(read: {', '.join(sorted(READABLE_SUFFIXES))})"
        )
    if suffix == ".txt":
        return _prose(path)
    if suffix == ".json":
        return _settings_json(path)
    return None


def _prose(path: Path) -> tuple[SkipReason, str] | None:
    """A .txt whose first lines have no delimiter in common is text, not a table."""
    try:
        with path.open("rb") as fh:
            head = fh.read(PEEK_BYTES).decode("utf-8", errors="ignore")
    except OSError:
        return None  # the reader reports it, as a quarantined file
    lines = [ln for ln in head.splitlines()[:50] if ln.strip()]
    if not lines:
        return None
    for delim in (",", ";", "\t", "|"):
        if sum(delim in ln for ln in lines) >= max(1, len(lines) * 0.8):
            return None
    return SkipReason.NOT_AN_EXPORT, "plain text without columns (no delimiter on its lines)"


def _settings_json(path: Path) -> tuple[SkipReason, str] | None:
    """A small JSON document that is one object holding no list of records."""
    try:
        if path.stat().st_size > PEEK_JSON_BYTES:
            return None
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None  # the reader reports it, as a quarantined file
    if isinstance(doc, dict) and not any(
        isinstance(v, list) and v and all(isinstance(x, dict) for x in v) for v in doc.values()
    ):
        return (
            SkipReason.NOT_AN_EXPORT,
            "a JSON object without a list of records (a settings file?)",
        )
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def unique_labels(found: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """One entry per file (a file reached twice is read once); files that share a label
    (``a/x.csv`` and ``b/x.csv`` given as files) are each named with as many of the folders
    above them as makes the names differ: ``a/x.csv``, ``b/x.csv``."""
    by_path: dict[Path, tuple[Path, str]] = {}
    for path, label in found:
        by_path.setdefault(path.resolve(), (path, label))
    entries = list(by_path.values())
    labels = [label for _, label in entries]
    for depth in range(1, 64):
        repeated = {x for x in labels if labels.count(x) > 1}
        if not repeated:
            break
        labels = [
            "/".join(Path(os.path.abspath(p)).parts[-depth - 1 :]).lstrip("/")
            if x in repeated
            else x
            for (p, _), x in zip(entries, labels, strict=True)
        ]
    return [(p.resolve(), x) for (p, _), x in zip(entries, labels, strict=True)]
