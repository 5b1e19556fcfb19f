"""Text made safe for people's tools (spreadsheets)."""

from __future__ import annotations

import polars as pl

# A spreadsheet runs a cell as a formula when it starts with = + - @ (or their full-width
# forms, which Excel and Sheets accept too), also after leading spaces, NBSP, line breaks or
# other control characters it strips; a cell starting with tab or CR is neutralised as well.
FORMULA_START = r"^[\s\p{Cc}\p{Zs}\x{FEFF}]*[=+\-@\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}]|^[\t\r]"


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula (see ``FORMULA_START``) get a
    leading apostrophe, so opening the file in Excel or Sheets never executes them."""
    text_cols = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        [
            pl.when(pl.col(c).str.contains(FORMULA_START))
            .then(pl.lit("'") + pl.col(c))
            .otherwise(pl.col(c))
            .alias(c)
            for c in text_cols
        ]
    )
