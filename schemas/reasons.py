"""Every quarantine reason, defined once: its code, what it covers and how to fix it.

A reason is a ``str`` enum, so ``Reason.UNPARSEABLE_NUMBER == "unparseable_number"`` and the
code goes into the quarantine table as plain text. A new rule is one member here (code,
scope, fix) plus one test. ``Reason.fix`` is the text a user reads next to the code.
"""

from __future__ import annotations

from enum import StrEnum

from schemas.vocabulary import Platform


class Scope(StrEnum):
    FILE = "file"  # the whole file (or workbook sheet) is quarantined, source_row null
    ROW = "row"  # one input row is quarantined
    CELL = "cell"  # one cell made its row fail (the row is quarantined, the cell named)


class Reason(StrEnum):
    """Quarantine reason codes. ``fix`` says what the user does about it."""

    scope: Scope
    fix: str

    def __new__(cls, code: str, scope: Scope, fix: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.scope = scope
        member.fix = fix
        return member

    # ---- files that cannot be read
    EMPTY_FILE = ("empty_file", Scope.FILE, "deliver the export again: the file has no data")
    NO_HEADER = ("no_header", Scope.FILE, "put the column headers on the first non-empty row")
    UNREADABLE_CSV = (
        "unreadable_csv",
        Scope.FILE,
        'close the quote that swallows the rest of the file (an unmatched ") and deliver again',
    )
    UNREADABLE_EXCEL = (
        "unreadable_excel",
        Scope.FILE,
        "open the workbook in Excel, save it again as .xlsx and deliver that copy",
    )
    UNREADABLE_JSON = ("unreadable_json", Scope.FILE, "deliver valid JSON (an array of objects)")
    UNSUPPORTED_FORMAT = (
        "unsupported_format",
        Scope.FILE,
        "save the export as CSV, XLSX, JSON or NDJSON",
    )
    FILE_TOO_LARGE = (
        "file_too_large",
        Scope.FILE,
        "split the export, or raise --max-file-mb on a bigger machine",
    )
    PERMISSION_DENIED = (
        "permission_denied",
        Scope.FILE,
        "give the user that runs the roster read access to the file",
    )
    TOO_DEEPLY_NESTED = (
        "too_deeply_nested",
        Scope.FILE,
        "export flat records (a JSON array of objects, or CSV)",
    )
    UNREADABLE_FILE = ("unreadable_file", Scope.FILE, "copy the file again and deliver that copy")
    READER_ERROR = (
        "reader_error",
        Scope.FILE,
        "deliver the export again as CSV, or report the file to the roster team",
    )
    UNREADABLE_ARCHIVE = (
        "unreadable_archive",
        Scope.FILE,
        "pack the exports again as a plain .zip (or .gz) and deliver that",
    )
    UNREADABLE_PARQUET = (
        "unreadable_parquet",
        Scope.FILE,
        "write the parquet file again (or deliver CSV)",
    )
    TOO_MANY_SHEETS = ("too_many_sheets", Scope.FILE, "split the workbook into several workbooks")
    # ---- files that can be read but not understood
    NO_HANDLE_COLUMN = (
        "no_handle_column",
        Scope.FILE,
        'name the handle column in a --mapping file: [columns] handle = "<header>"',
    )
    NO_FOLLOWERS_COLUMN = (
        "no_followers_column",
        Scope.FILE,
        'name the followers column in a --mapping file: [columns] followers = "<header>"',
    )
    UNKNOWN_PLATFORM = (
        "unknown_platform",
        Scope.FILE,
        f"pass --platform ({', '.join(Platform.codes())}), rename the file like "
        "tiktok_dec_2022.csv, or add a platform column",
    )
    UNKNOWN_SNAPSHOT_DATE = (
        "unknown_snapshot_date",
        Scope.FILE,
        "pass --snapshot-date YYYY-MM-DD or rename the file like tiktok_dec_2022.csv",
    )
    FUTURE_SNAPSHOT_DATE = (
        "future_snapshot_date",
        Scope.FILE,
        "the date is in the future (a typo such as _2032?): fix the file name or date column, "
        "or pass --snapshot-date YYYY-MM-DD",
    )
    AMBIGUOUS_PLATFORM_COLUMNS = (
        "ambiguous_platform_columns",
        Scope.FILE,
        "the file has one column group per platform: pass --platform to pick the group, or "
        "map the columns in a --mapping file",
    )
    # ---- rows and cells
    UNPARSEABLE_NUMBER = (
        "unparseable_number",
        Scope.CELL,
        "write the cell as a number (1234, 1.2K, 1,2M); the raw text is kept here",
    )
    AMBIGUOUS_NUMBER_FORMAT = (
        "ambiguous_number_format",
        Scope.CELL,
        "the column's values read both ways (1.234 = 1234 or 1.234): add "
        '[numbers] decimal = "," (or ".") to a --mapping file',
    )
    OUT_OF_RANGE = (
        "out_of_range",
        Scope.CELL,
        "the number is beyond any audience (a unit or typing error): correct the cell",
    )
    NEGATIVE_VALUE = ("negative_value", Scope.CELL, "counts cannot be negative: correct the cell")
    ENGAGEMENT_RATE_OVER_100PCT = (
        "engagement_rate_over_100pct",
        Scope.CELL,
        "a reported engagement rate above 100% is a typing error: correct the cell",
    )
    INVALID_DATE = (
        "invalid_date",
        Scope.CELL,
        "write the date as YYYY-MM-DD (or an Excel date cell)",
    )
    INVALID_PLATFORM = ("invalid_platform", Scope.CELL, "use a known platform name")
    MISSING_HANDLE = ("missing_handle", Scope.CELL, "fill in the creator's handle")
    MISSING_FOLLOWERS = ("missing_followers", Scope.CELL, "fill in the follower count")
    MISSING_HANDLE_NORM = (
        "missing_handle_norm",
        Scope.CELL,
        "the handle is empty once trimmed: fill in the creator's handle",
    )
    EMPTY_HANDLE = ("empty_handle", Scope.CELL, "fill in the creator's handle")
    MISSING_PLATFORM = (
        "missing_platform",
        Scope.CELL,
        "fill in the row's platform, or pass --platform for rows without one",
    )
    MISSING_SNAPSHOT_DATE = (
        "missing_snapshot_date",
        Scope.CELL,
        "fill in the row's date, or pass --snapshot-date for rows without one",
    )
    EMPTY_HANDLE_NORM = (
        "empty_handle_norm",
        Scope.CELL,
        "the handle is only '@' or spaces: fill in the creator's handle",
    )
    TOO_MANY_FIELDS = (
        "too_many_fields",
        Scope.ROW,
        "the row has more cells than headers: quote cells that contain the delimiter",
    )
    SWALLOWED_ROWS = (
        "swallowed_rows",
        Scope.ROW,
        "a quoted cell holds line breaks and many delimiters (an unclosed quote swallowed the "
        "rows after it): fix the quote and deliver again",
    )
    MALFORMED_JSON = ("malformed_json", Scope.ROW, "fix the JSON on that line")
    NOT_AN_OBJECT = ("not_an_object", Scope.ROW, "each record must be a JSON object")
    DUPLICATE_CONFLICT = (
        "duplicate_conflict",
        Scope.ROW,
        "the same creator and snapshot appear twice with different values: keep one row",
    )
    SUPERSEDED = (
        "superseded",
        Scope.ROW,
        "nothing to fix: a later delivery of the same platform and date has this creator "
        "(detail names it); deliver this file again to make it the latest",
    )


# pandera check names -> reason (see schemas.validation.soft_validate)
_BY_CHECK: tuple[tuple[str, str], ...] = (
    ("not_nullable", "missing_{column}"),
    ("greater_than_or_equal_to(0)", "negative_value"),
    ("less_than_or_equal_to", "out_of_range"),
    ("str_length(1", "empty_{column}"),
    ("isin", "invalid_{column}"),
)


def reason_for_check(check: str, column: str) -> str:
    """The reason code of a failed pandera check on ``column`` (a member's value where one
    exists; a check with no member keeps its own name, e.g. a model's named check)."""
    for prefix, template in _BY_CHECK:
        if check.startswith(prefix):
            code = template.format(column=column)
            return code
    return check


def fix_for(code: str) -> str:
    """The fix text of a reason code ('' when the code has no member); '+'-joined file
    reasons give each fix."""
    members = {r.value: r for r in Reason}
    fixes = [members[c].fix for c in code.split("+") if c in members]
    return " | ".join(fixes)


class FileRejected(Exception):
    def __init__(self, reason: Reason | str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
