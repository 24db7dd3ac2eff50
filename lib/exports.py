"""Exported cells that a spreadsheet shows as text and never runs as a formula (CSV and XLSX).

Text a clerk typed (a note "=HYPERLINK(...)", a cell named "+1 ấp") would otherwise become a live
formula when the file is opened in Excel or LibreOffice (CSV/formula injection, OWASP). In XLSX every
text cell is written as a string cell, so the text is kept exactly; in CSV, which has no types, a text
starting with a formula character gets a leading single quote (OWASP's advice). Numbers stay numbers.
"""

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

# = + - @ start a formula; a leading tab or line break can hide one from the eye; the full-width forms
# are read as their ASCII twins by some spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def needs_quote(value: Any) -> bool:
    """Whether a CSV cell would start a formula: text beginning with = + - @ (or tab, line break), not a number."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value)


def safe_cell(value: Any) -> Any:
    """A value for a CSV cell: text that would start a formula gets a leading ' ; anything else unchanged."""
    return "'" + value if needs_quote(value) else value


def unquote_cell(value: Any) -> Any:
    """The text a safe_cell quote protected (for reading our own CSV back): "'=x" gives "=x"."""
    if isinstance(value, str) and value.startswith("'") and needs_quote(value[1:]):
        return value[1:]
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """safe_cell on every value of a CSV row."""
    return [safe_cell(v) for v in values]


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table for CSV: text cells that would start a formula quoted, numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_cell).astype(object)
    out.columns = [safe_cell(c) for c in out.columns]
    return out


def text_cells(ws: Any) -> None:
    """Make every text cell of an openpyxl worksheet a string cell (openpyxl turns "=..." into a formula)."""
    for row in ws.iter_rows():
        for cell in row:
            # openpyxl marks text starting with "=" as a formula ('f') and "#N/A"-like text as an error ('e').
            if isinstance(cell.value, str) and cell.data_type != "s":
                cell.data_type = "s"


def text_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for a write-only worksheet with every text value a string cell (never a formula)."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
