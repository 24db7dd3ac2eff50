"""CSV and XLSX import of units, cells, leaders, posts, assignments, meetings, weaknesses and members, all or
nothing."""

import csv
import io
import json
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from lib import (
    assignments,
    audit,
    checklist,
    directory,
    exports,
    leaders,
    meetings,
    members,
    org,
    settings,
    store,
    users,
    weaknesses,
)
from lib import db as dbm
from lib.domain import (
    ENUMS,
    SYSTEM,
    Actor,
    FieldError,
    MeetingType,
    PermissionDenied,
    ValidationError,
    fmt_date,
    is_blank,
)
from lib.i18n import get_language, t
from lib.users import require_admin, require_unit, unit_of_cell

KINDS = ("units", "cells", "leaders", "posts", "assignments", "meetings", "weaknesses", "members")

COLUMNS: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind", "valid_from", "valid_to", "successor_code", "parent_code"),
    "cells": ("code", "unit_code", "name", "cell_type", "meeting_day", "valid_from", "valid_to",
              "successor_code"),
    "leaders": ("code", "full_name", "position", "grp"),
    "posts": ("leader_code", "unit_code", "title", "grp", "valid_from", "valid_to"),
    "assignments": ("leader_code", "unit_code", "cell_code", "decision_no", "decision_date", "valid_from",
                    "valid_to", "required_per_quarter", "issuer_code"),
    "meetings": ("cell_code", "held_on", "mtype", "members_total", "members_exempt", "present",
                 "absent_excused", "absent_unexcused", "duration_minutes", "score", "rating", "leadership",
                 "education", "combativeness", "leaders_present", "reports_submitted_on", "topics", "notes",
                 # marks: the absent members by card number; a cell with members that day gets its marks from them
                 "absent_excused_members", "absent_unexcused_members"),
    "weaknesses": ("unit_code", "cell_code", "category", "description", "noted_on", "noted_by", "severity",
                   "status", "due_on", "resolved_on", "resolution"),
    # the shape of a member-database export (lib.members.plan_import)
    "members": ("code", "full_name", "cell_code", "joined_cell_on", "admitted_on", "official_on", "exempt_from",
                "exempt_to", "exempt_reason"),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind"),
    "cells": ("code", "unit_code", "name", "cell_type"),
    "leaders": ("code", "full_name", "grp"),
    "posts": ("leader_code", "grp"),
    "assignments": ("leader_code", "unit_code", "valid_from"),
    "meetings": ("cell_code", "held_on", "mtype", "members_total", "present", "absent_excused",
                 "absent_unexcused"),
    "weaknesses": ("unit_code", "category", "description"),
    "members": ("code", "full_name", "cell_code", "admitted_on"),
}

# A column whose label in one kind's template differs from the shared field label (field.<column>).
LABEL_KEYS: dict[str, dict[str, str]] = {"members": {"code": "member_code"}}


def column_label(kind: str, column: str, lang: str | None = None) -> str:
    """A column's header in a kind's template and exports (e.g. members' code: "Số thẻ đảng viên")."""
    return t(f"field.{LABEL_KEYS.get(kind, {}).get(column, column)}", lang)


DATE_COLUMNS = {"valid_from", "valid_to", "decision_date", "held_on", "noted_on", "due_on", "resolved_on",
                "joined_cell_on", "admitted_on", "official_on", "exempt_from", "exempt_to"}
MEMBER_COLUMNS = {"absent_excused_members": "excused", "absent_unexcused_members": "unexcused"}
MEETING_COUNT_COLUMNS = ("members_total", "members_exempt", "present", "absent_excused", "absent_unexcused")
INT_COLUMNS = {"meeting_day", "required_per_quarter", "members_total", "members_exempt", "present",
               "absent_excused", "absent_unexcused", "duration_minutes", "score"}
BOOL_COLUMNS = {"leadership", "education", "combativeness"}

# The 12-HD / 42-HD checklist: optional columns of the meetings file; a row with all of them blank (or a file
# without them) has no checklist.
COLUMNS["meetings"] += checklist.COLUMNS
INT_COLUMNS |= {"speakers"}
BOOL_COLUMNS |= set(checklist.ITEMS)

# Store modules name the ids they were given; the user wrote codes in these columns.
_STORE_TO_COLUMN = {
    "unit_id": "unit_code",
    "cell_id": "cell_code",
    "leader_id": "leader_code",
    "successor_id": "successor_code",
    "issuer_unit_id": "issuer_code",
    "parent_id": "parent_code",
    "report_submitted_on": "reports_submitted_on",
    "meeting_id": None,
    "id": None,
}

_LIST_SPLIT = re.compile(r"[;,\n]")
_XLSX_EXT = {".xlsx", ".xlsm"}
_CSV_EXT = {".csv", ".txt", ""}
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"BM", b"\x7fELF")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"

# Limits on one file. 100,000 rows is years of meetings for a district; the check of such a
# file takes a while but holds no lock, and its write is one transaction of a few seconds.
MAX_ROWS = 100_000
# A members file is one district's member database at most (some 30 communes × 20 cells × 40 members); each row
# is checked and written as the single writes are (several statements and audit entries), not in bulk.
MAX_ROWS_BY_KIND = {"members": 30_000}
# An .xlsx is a zip: what it unpacks to is bounded before openpyxl opens it. A 100,000-row
# meetings sheet written by openpyxl is 91 MB of XML packed 14 to 1; a zip bomb packs 300 to 1.
MAX_XLSX_PARTS = 500
MAX_XLSX_UNPACKED = 250 * 2**20
MAX_XLSX_SHEET = 200 * 2**20
MAX_XLSX_OTHER = 50 * 2**20  # shared strings are held in memory whole
MAX_XLSX_RATIO = 100


@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet row (None for the whole file), the canonical field (or None), the reason."""

    row: int | None
    field: str | None
    message: str

    @property
    def label(self) -> str:
        return t(f"field.{self.field}") if self.field else ""

    def line(self) -> str:
        """The problem as one translated line, e.g. 'Dòng 5, Số có mặt (present): ...'."""
        if self.row is None and self.field:
            return t("import.line_column", label=self.label, field=self.field, message=self.message)
        if self.row is None:
            return t("import.line_file", message=self.message)
        if self.field:
            return t("import.line", row=self.row, label=self.label, field=self.field, message=self.message)
        return t("import.line_row", row=self.row, message=self.message)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (empty, binary, missing or unknown columns...)."""

    def __init__(self, errors: Iterable[RowError]):
        self.errors = list(errors)
        super().__init__("; ".join(e.line() for e in self.errors))

    @property
    def field(self) -> str | None:
        return self.errors[0].field

    @property
    def message(self) -> str:
        return self.errors[0].message


@dataclass
class ImportResult:
    """What an import or preview found: the rows read, every error, and how many rows were (or would be) written."""

    kind: str
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    count: int = 0
    written: bool = False
    ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors if e.row is not None})

    def summary(self) -> str:
        """One translated sentence: written, ready to write, or refused."""
        kind = t(f"import.kind.{self.kind}") if self.kind in KINDS else self.kind
        if self.errors and not self.bad_rows:
            return t("import.summary_file")
        if self.errors:
            return t("import.summary_failed", errors=len(self.errors), rows=len(self.bad_rows))
        if self.written:
            return t("import.summary_written", count=self.count, kind=kind)
        return t("import.summary_ready", count=self.count, kind=kind)

    def error_lines(self) -> list[str]:
        """Every error as a translated line naming row and field."""
        return [e.line() for e in self.errors]


def _err(row: int | None, name: str | None, key: str, /, **params: Any) -> RowError:
    return RowError(row, name, t(f"import.err.{key}", **params))


def _field_error(row: int | None, fe: FieldError) -> RowError:
    name = _STORE_TO_COLUMN.get(fe.field, fe.field)
    return RowError(row, name, fe.message)


# ---- reading the file -----------------------------------------------------------------

def _fold(text: str) -> str:
    text = str(text).replace("đ", "d").replace("Đ", "D").replace("_", " ")
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").casefold()
    return " ".join(text.strip(" *:").split())


def header_names(kind: str) -> dict[str, str]:
    """Folded header text → canonical column: the names and their vi and en labels."""
    names: dict[str, str] = {}
    for column in COLUMNS[kind]:
        for text in (column, column_label(kind, column, "vi"), column_label(kind, column, "en"),
                     t(f"field.{column}", "vi"), t(f"field.{column}", "en")):
            names.setdefault(_fold(text), column)
    return names


def _map_headers(kind: str, headers: list[Any]) -> tuple[dict[int, str], list[RowError]]:
    names = header_names(kind)
    mapping: dict[int, str] = {}
    errors: list[RowError] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(headers):
        if is_blank(raw):
            continue
        text = str(raw).strip()
        column = names.get(_fold(text))
        if column is None and (m := re.search(r"\(([A-Za-z_]+)\)\s*$", text)):
            # "Mã chi bộ (cell_code)": a label followed by the canonical name.
            column = names.get(_fold(m.group(1)))
        if column is None:
            errors.append(_err(None, None, "unknown_column", column=text, kind=t(f"import.kind.{kind}"),
                               columns=", ".join(COLUMNS[kind])))
        elif column in seen:
            errors.append(_err(None, column, "duplicate_column", column=text, other=seen[column]))
        else:
            seen[column] = text
            mapping[index] = column
    required = REQUIRED[kind]
    if kind == "meetings" and MEMBER_COLUMNS & seen.keys():
        # With the absent members named, the counts may be left out: they are derived from the marks.
        required = tuple(c for c in required if c not in MEETING_COUNT_COLUMNS)
    for column in required:
        if column not in seen:
            errors.append(_err(None, column, "missing_column"))
    return mapping, errors


def _detect(data: bytes, filename: str) -> str:
    ext = Path(filename or "").suffix.lower()
    stripped = data.removeprefix(b"\xef\xbb\xbf").strip()
    if not stripped:
        raise ImportFileError([_err(None, None, "empty")])
    if data.startswith(_OLE_MAGIC) or ext == ".xls":
        raise ImportFileError([_err(None, None, "old_xls")])
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data[:8192]:
        raise ImportFileError([_err(None, None, "binary")])
    if ext in _XLSX_EXT:
        raise ImportFileError([_err(None, None, "bad_xlsx", detail=filename)])
    if ext not in _CSV_EXT:
        raise ImportFileError([_err(None, None, "not_supported", filename=filename)])
    return "csv"


# A record: spreadsheet row number, its values, and the positions of formula cells that
# carry no computed value (a workbook written by a program and never opened in Excel).
Record = tuple[int, list[Any], tuple[int, ...]]


def _csv_records(data: bytes) -> Iterator[Record]:
    try:
        text = data.decode("utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError([_err(None, None, "not_utf8")]) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    first = re.sub(r'"[^"]*"', "", first)
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            # Our own CSV exports quote text that would start a formula ("'=x"); read it back as typed.
            yield number, [exports.unquote_cell(v) for v in record], ()
    except csv.Error as exc:
        raise ImportFileError([_err(None, None, "bad_csv", row=reader.line_num, detail=str(exc))]) from None


def _count(number: float) -> str:
    """A whole number grouped as the reader writes it: 100.000 in Vietnamese, 100,000 in English."""
    text = f"{number:,.0f}"
    return text.replace(",", ".") if get_language() == "vi" else text


def _mb(size: int) -> str:
    return _count(max(1, round(size / 2**20)))


def _check_zip(data: bytes) -> zipfile.ZipFile:
    """The workbook's zip directory, refused when it would unpack to more than the limits allow."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError([_err(None, None, "bad_xlsx", detail=type(exc).__name__)]) from None
    limits = {"parts": MAX_XLSX_PARTS, "total": _mb(MAX_XLSX_UNPACKED), "sheet": _mb(MAX_XLSX_SHEET),
              "other": _mb(MAX_XLSX_OTHER), "ratio": MAX_XLSX_RATIO}
    if len(infos) > MAX_XLSX_PARTS:
        raise ImportFileError([_err(None, None, "xlsx_too_many_parts", count=len(infos), **limits)])
    # The sizes in the directory bound what zipfile will unpack (it stops at the declared
    # size), so checking them here refuses a zip bomb before a byte of it is inflated.
    for info in infos:
        limit = MAX_XLSX_SHEET if info.filename.startswith("xl/worksheets/") else MAX_XLSX_OTHER
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > limit or (info.file_size > 2**20 and ratio > MAX_XLSX_RATIO):
            raise ImportFileError([_err(None, None, "xlsx_too_big", part=info.filename, size=_mb(info.file_size),
                                        packed=_mb(info.compress_size), **limits)])
    total = sum(info.file_size for info in infos)
    if total > MAX_XLSX_UNPACKED:
        raise ImportFileError([_err(None, None, "xlsx_too_big", part="*", size=_mb(total),
                                    packed=_mb(len(data)), **limits)])
    return archive


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?f[\s>/]")


def _has_formulas(archive: zipfile.ZipFile) -> bool:
    """Whether any worksheet holds a formula cell, scanned as bytes (cheap, no XML parse)."""
    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        tail = b""
        with archive.open(info) as part:
            while chunk := part.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-32:]
    return False


def _xlsx_records(data: bytes) -> Iterator[Record]:
    from openpyxl import load_workbook

    archive = _check_zip(data)
    books = []
    try:
        try:
            formulas = _has_formulas(archive)
            books.append(load_workbook(io.BytesIO(data), read_only=True, data_only=True))
            if formulas:
                # A second reader of the same sheet sees the formulas themselves: a formula
                # whose computed value Excel saved is read as that value; one without is refused.
                books.append(load_workbook(io.BytesIO(data), read_only=True, data_only=False))
            sheets = [wb.worksheets[0] for wb in books]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
            raise ImportFileError([_err(None, None, "bad_xlsx", detail=type(exc).__name__)]) from None
        try:
            values = sheets[0].iter_rows(values_only=True)
            cells = sheets[1].iter_rows() if len(sheets) > 1 else None
            for number, row in enumerate(values, start=1):
                uncached: tuple[int, ...] = ()
                if cells is not None:
                    raw = next(cells, ())
                    uncached = tuple(i for i, cell in enumerate(raw)
                                     if getattr(cell, "data_type", None) == "f" and i < len(row) and row[i] is None)
                yield number, list(row), uncached
        except ImportFileError:
            raise
        except Exception as exc:  # openpyxl raises many types on a damaged workbook; none may reach the user raw
            raise ImportFileError([_err(None, None, "bad_xlsx", detail=type(exc).__name__)]) from None
    finally:
        for wb in books:
            wb.close()
        archive.close()


def _text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _cell_value(column: str, value: Any) -> Any:
    if is_blank(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if column in DATE_COLUMNS:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2_958_466:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value)  # a date cell Excel lost its format on: a serial day number
        return value
    if column in INT_COLUMNS or column in BOOL_COLUMNS or column == "reports_submitted_on":
        return value
    return _text(value)


def read_rows(kind: str, data: bytes, filename: str = "") -> list[dict]:
    """Raw values by canonical column with the spreadsheet row number in '_row'; ImportFileError if unreadable.

    Rows are read one at a time: the header is checked on the first row and reading stops
    past MAX_ROWS, so a huge or hostile file is refused without being held in memory.
    """
    if kind not in KINDS:
        raise ImportFileError([_err(None, None, "unknown_kind", kind=kind, kinds=", ".join(KINDS))])
    data = bytes(data or b"")
    records = _xlsx_records(data) if _detect(data, filename) == "xlsx" else _csv_records(data)
    headers: list[Any] | None = None
    mapping: dict[int, str] = {}
    errors: list[RowError] = []
    formula_errors: list[RowError] = []
    rows: list[dict] = []
    try:
        for number, record, uncached in records:
            if not uncached and all(is_blank(v) for v in record):
                continue
            if headers is None:
                headers = record
                mapping, header_errors = _map_headers(kind, headers)
                if header_errors:
                    raise ImportFileError(list(dict.fromkeys(header_errors)))
                continue
            limit = MAX_ROWS_BY_KIND.get(kind, MAX_ROWS)
            if len(rows) == limit:
                raise ImportFileError([_err(None, None, "too_many_rows", limit=_count(limit))])
            for index, value in enumerate(record[:len(headers)]):
                if is_blank(headers[index]) and not is_blank(value):
                    errors.append(_err(None, None, "blank_header", position=index + 1))
            row: dict[str, Any] = {"_row": number}
            for index, column in mapping.items():
                row[column] = _cell_value(column, record[index]) if index < len(record) else None
            for index in uncached:
                if index in mapping:
                    from openpyxl.utils import get_column_letter

                    formula_errors.append(_err(number, mapping[index], "formula",
                                               cell=f"{get_column_letter(index + 1)}{number}"))
            extra = [v for v in record[len(headers):] if not is_blank(v)]
            if extra:
                row["_extra"] = len(extra)
            rows.append(row)
    finally:
        records.close()
    if headers is None:
        raise ImportFileError([_err(None, None, "empty")])
    errors = list(dict.fromkeys(errors)) + formula_errors
    if errors:
        raise ImportFileError(errors)
    if not rows:
        raise ImportFileError([_err(None, None, "no_rows")])
    return rows


# ---- checking the rows against a read snapshot --------------------------------------------

def _split(value: Any) -> list[Any]:
    if is_blank(value):
        return []
    if not isinstance(value, str):
        return [value]
    return [part.strip() for part in _LIST_SPLIT.split(value)]


def _plain(row: dict, names: Iterable[str]) -> dict:
    return {name: row[name] for name in names if name in row}


@dataclass
class _Item:
    """One checked row, ready to insert: its table row, and for meetings the leaders present."""

    number: int
    record: dict
    leaders: list[dict] = field(default_factory=list)
    marks: list[dict] | None = None  # a meeting's attendance marks, one per roster member
    successor: int | None = None  # index of the item this unit or cell merges into, when in the file
    parent: int | None = None  # index of the item this unit is under, when in the file
    checklist: dict | None = None  # a meeting's checklist row (without meeting_id), when the row has one


@dataclass
class _Plan:
    """What a checked file will write, and what it read that a concurrent writer could change."""

    kind: str
    items: list[_Item] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)  # code → row, for units, cells and leaders
    regular: dict[tuple[int, str], int] = field(default_factory=dict)  # (cell, yyyy-mm) → row
    cells: set[int] = field(default_factory=set)  # cells whose unit, validity or scope the rows relied on
    mark: int = 0  # the last audit entry the check saw
    # PostgreSQL: (table, row id or None for the whole table) → the state the check read, compared at the write
    basis: dict[tuple[str, str | None], str] = field(default_factory=dict)


class _Checker:
    """Checks every row as the store modules would, without writing: in-file state kept here."""

    def __init__(self, db: Database, kind: str, actor: Actor, today: date):
        self.db, self.kind, self.actor, self.today = db, kind, actor, today
        self.plan = _Plan(kind)
        self.seen: dict[str, int] = {}  # codes met so far, even on refused rows
        self.pending: dict[str, int] = {}  # code → item index of rows accepted so far (units, cells)
        self.ids: dict[tuple[str, str], int | None] = {}
        self.in_file: dict[int, int] = {}  # stand-in id of an accepted regular meeting → its row
        self.regular_index: dict[tuple[int, str], int] = {}  # (cell, yyyy-mm) → item index
        self.posts: dict[tuple[int, str], list[_Item]] = {}  # (leader, group) → the file's posts accepted so far
        self.cycles: set[str] = set()  # codes of the file's units whose parent_code chain in the file loops
        # Per-row lookups that cannot change under the snapshot, made once per cell or unit: a cell's unit, the
        # units the actor may write in (only a pass is kept: a refusal is asked again, and says the same),
        # and what meetings.check reads (the cell, the thresholds).
        self.unit_of: dict[int, int | None] = {}
        self.allowed: set[int] = set()
        self.lookups: dict[Any, Any] = {}
        self.meeting_columns = [c for c in COLUMNS["meetings"]
                                if c not in ("cell_code", "leaders_present", "reports_submitted_on", *MEMBER_COLUMNS,
                                             *checklist.COLUMNS)]

    def lookup(self, table: str, code: Any) -> int | None:
        """The id of a stored code; cached, as the snapshot does not change under the check."""
        key = (table, _text(code))
        if key not in self.ids:
            found = self.db.execute(f"select id from {table} where code = ?", [key[1]]).fetchone()
            self.ids[key] = found[0] if found else None
        return self.ids[key]

    def ref(self, row: dict, column: str, table: str, errors: list[RowError]) -> int | None:
        """The id for the code in a column; an 'unknown code' error when it names nothing."""
        code = _text(row.get(column))
        if code is None:
            return None
        found = self.lookup(table, code)
        if found is None:
            errors.append(_field_error(row["_row"], FieldError(column, "unknown_code", {"value": code})))
        return found

    def check(self, row: dict) -> tuple[_Item | None, list[RowError]]:
        """Check one row; the item to write, or None and the row's errors."""
        number = row["_row"]
        errors: list[RowError] = []
        if row.get("_extra"):
            errors.append(_err(number, None, "extra_values", count=row["_extra"]))
        item = None
        try:
            item = getattr(self, f"_{self.kind}")(row, errors)
        except ValidationError as exc:
            # A column already refused here (an unknown code) also fails the store's
            # check of the id it stood for; report it once, in the user's words.
            own = {e.field for e in errors if e.field}
            for fe in exc.errors:
                error = self._translate(number, fe)
                if error.field not in own:
                    errors.append(error)
        if errors:
            return None, errors
        self._accept(item)
        return item, errors

    def _accept(self, item: _Item) -> None:
        index = len(self.plan.items)
        self.plan.items.append(item)
        record = item.record
        if self.kind in ("units", "cells", "leaders"):
            self.plan.codes[record["code"]] = item.number
            self.pending[record["code"]] = index
        if self.kind == "meetings" and record["mtype"] == MeetingType.THUONG_KY.value:
            self.plan.regular[(record["cell_id"], record["held_on"][:7])] = item.number
            self.regular_index[(record["cell_id"], record["held_on"][:7])] = index
            self.in_file[-1 - index] = item.number

    def _translate(self, number: int, fe: FieldError) -> RowError:
        existing = fe.params.get("existing") if fe.key == "duplicate_regular" else None
        if existing in self.in_file:
            return _err(number, "held_on", "duplicate_regular_in_file", month=fe.params.get("month"),
                        row=self.in_file[existing])
        return _field_error(number, fe)

    def _code(self, row: dict, errors: list[RowError]) -> None:
        code = _text(row.get("code"))
        if code is not None and code in self.seen:
            errors.append(_err(row["_row"], "code", "duplicate_in_file", value=code, row=self.seen[code]))
        elif code is not None:
            # Registered even if this row fails, so a repeat is named against it.
            self.seen[code] = row["_row"]

    def _directory(self, table: str, row: dict, errors: list[RowError], names: Iterable[str]) -> _Item:
        self._code(row, errors)
        raw = {k: (_text(v) if k in ("code", "name", "full_name", "position") else v)
               for k, v in _plain(row, names).items()}
        successor = None
        if "successor_code" in row:
            code = _text(row.get("successor_code"))
            if code is not None and self.lookup(table, code) is None and code in self.pending:
                # Merged into a row of this file, written before this one: the store's check
                # runs without it and the id is filled in at the write.
                successor = self.pending[code]
                raw["successor_id"] = None
            else:
                raw["successor_id"] = self.ref(row, "successor_code", table, errors)
        if "unit_code" in row:
            raw["unit_id"] = self.ref(row, "unit_code", "units", errors)
        parent = None
        if table == "units":
            parent = self._parent(row, raw, errors)
        require_admin(self.db, self.actor)
        if table == "leaders" and "active" not in raw:
            raw = {**raw, "active": True}
        clean = directory._check(self.db, table, raw, None)
        return _Item(row["_row"], store.to_row(clean), successor=successor, parent=parent)

    def _parent(self, row: dict, raw: dict, errors: list[RowError]) -> int | None:
        """The unit above: parent_code (stored, or a row earlier in the file: its index, the id filled in at the
        write), else our own organisation (org.default_parent) as a unit made on the Directory page."""
        code = _text(row.get("parent_code"))
        if code is None:
            if (home := org.default_parent(self.db)) is not None:
                raw["parent_id"] = home
            return None
        if code in self.cycles:
            errors.append(_field_error(row["_row"], FieldError("parent_code", "parent_cycle")))
            return None
        if self.lookup("units", code) is None and code in self.pending:
            raw["parent_id"] = None
            return self.pending[code]
        if self.lookup("units", code) is None and code in self.seen:
            return None  # its own row was refused, and says why; all or nothing, so this one is not written either
        raw["parent_id"] = self.ref(row, "parent_code", "units", errors)
        return None

    def _units(self, row: dict, errors: list[RowError]) -> _Item:
        return self._directory("units", row, errors, ("code", "name", "kind", "valid_from", "valid_to"))

    def _cells(self, row: dict, errors: list[RowError]) -> _Item:
        return self._directory("cells", row, errors,
                               ("code", "name", "cell_type", "meeting_day", "valid_from", "valid_to"))

    def _leaders(self, row: dict, errors: list[RowError]) -> _Item:
        return self._directory("leaders", row, errors, ("code", "full_name", "position", "grp"))

    def _posts(self, row: dict, errors: list[RowError]) -> _Item:
        raw = _plain(row, ("grp", "valid_from", "valid_to"))
        raw["title"] = _text(row.get("title"))
        raw["leader_id"] = self.ref(row, "leader_code", "leaders", errors)
        raw["unit_id"] = self.ref(row, "unit_code", "units", errors)
        require_admin(self.db, self.actor)
        clean = leaders._check_post(self.db, raw, None)
        # The store's overlap check sees the stored posts; this one sees the file's rows accepted so far.
        for other in self.posts.get((clean["leader_id"], clean["grp"]), ()):
            start, end = store.to_row(clean).get("valid_from"), store.to_row(clean).get("valid_to")
            if (other.record.get("valid_from") is None or end is None or other.record["valid_from"] <= end) \
                    and (other.record.get("valid_to") is None or start is None or other.record["valid_to"] >= start):
                errors.append(_err(row["_row"], "valid_from", "post_overlap_in_file", row=other.number))
                break
        item = _Item(row["_row"], store.to_row(clean))
        if not errors:
            self.posts.setdefault((clean["leader_id"], clean["grp"]), []).append(item)
        return item

    def _assignments(self, row: dict, errors: list[RowError]) -> _Item:
        raw = _plain(row, ("decision_date", "valid_from", "valid_to", "required_per_quarter"))
        raw["decision_no"] = _text(row.get("decision_no"))
        raw["leader_id"] = self.ref(row, "leader_code", "leaders", errors)
        raw["unit_id"] = self.ref(row, "unit_code", "units", errors)
        raw["cell_id"] = self.ref(row, "cell_code", "cells", errors)
        raw["issuer_unit_id"] = self.ref(row, "issuer_code", "units", errors)
        require_admin(self.db, self.actor)
        clean = assignments._check(self.db, assignments.with_issuer(self.db, raw), self.today)
        if clean.get("cell_id") is not None:
            self.plan.cells.add(clean["cell_id"])
        return _Item(row["_row"], store.to_row(clean))

    def _meetings(self, row: dict, errors: list[RowError]) -> _Item:
        number = row["_row"]
        raw = _plain(row, self.meeting_columns)
        raw["topics"], raw["notes"] = _text(row.get("topics")), _text(row.get("notes"))
        raw["cell_id"] = self.ref(row, "cell_code", "cells", errors)
        codes = [c for c in (_text(p) for p in _split(row.get("leaders_present"))) if c]
        reports = _split(row.get("reports_submitted_on"))
        if any(not is_blank(r) for r in reports[len(codes):]):
            errors.append(_field_error(number, FieldError("reports_submitted_on", "leaders_reports_mismatch")))
        leaders = [{"leader_id": self.lookup("leaders", code), "leader_code": code,
                    "report_submitted_on": reports[i] if i < len(reports) and not is_blank(reports[i]) else None}
                   for i, code in enumerate(codes)]
        # As meetings.create: the scope first (a refusal replaces the row's other errors), then the record.
        unit_id = None
        if isinstance(raw["cell_id"], int):
            if raw["cell_id"] not in self.unit_of:
                self.unit_of[raw["cell_id"]] = unit_of_cell(self.db, raw["cell_id"])
            unit_id = self.unit_of[raw["cell_id"]]
        if unit_id is not None and unit_id not in self.allowed:
            require_unit(self.db, self.actor, unit_id)
            self.allowed.add(unit_id)
        marks = self._marks(row, errors)
        if marks is not None and isinstance(raw["cell_id"], int):
            members.require_cell(self.db, self.actor, raw["cell_id"])
        clean, clean_leaders, problems = meetings.check(self.db, raw, leaders, today=self.today, marks=marks,
                                                        lookups=self.lookups)
        clean_marks = clean.pop("_marks", None)
        if marks and clean_marks is None and clean.get("cell_id") is not None and clean.get("held_on") is not None \
                and not members.roster(self.db, clean["cell_id"], clean["held_on"].isoformat()):
            # A cell with no member list that day: the columns must be blank (the counts are typed).
            problems = [e for e in problems if e.field not in MEMBER_COLUMNS]
            problems += [FieldError(c, "members_blank_without_list") for c in MEMBER_COLUMNS if _split(row.get(c))]
        # As the store: the file's duplicate is looked up whenever the cell, day and type are known.
        main = [e for e in problems if e.field not in ("leaders_present", "report_submitted_on")]
        settled = not {"cell_id", "held_on", "mtype"} & {e.field for e in problems}
        if settled and clean.get("cell_id") is not None and clean.get("held_on") is not None \
                and clean.get("mtype") == MeetingType.THUONG_KY:
            month = clean["held_on"].strftime("%Y-%m")
            index = self.regular_index.get((clean["cell_id"], month))
            if index is not None:
                # The store's duplicate check sees the stored meetings; this one sees the file's.
                problems.insert(len(main), FieldError("held_on", "duplicate_regular",
                                                      {"month": clean["held_on"].strftime("%m/%Y"),
                                                       "existing": -1 - index}))
        listed = _plain(row, checklist.COLUMNS)
        clean_list = None
        if any(not is_blank(v) for v in listed.values()):
            clean_list, list_problems = checklist.check(listed, clean)
            problems += list_problems
        if problems:
            raise ValidationError(problems)
        self.plan.cells.add(clean["cell_id"])
        return _Item(number, store.to_row({**clean, "created_by": self.actor.username}),
                     leaders=[store.to_row(entry) for entry in clean_leaders], marks=clean_marks,
                     checklist=None if clean_list is None else checklist.row_for(
                         clean_list, checklist.propose(self.db, clean, clean_list)))

    def _marks(self, row: dict, errors: list[RowError]) -> list[dict] | None:
        """The marks named by the absent-member columns (None when the file has neither column)."""
        if not MEMBER_COLUMNS.keys() & row.keys():
            return None  # a file in the shape before marks: count meetings, as before
        marks = []
        for column, status in MEMBER_COLUMNS.items():
            for code in (c for c in (_text(p) for p in _split(row.get(column))) if c):
                found = self.lookup("members", code)
                if found is None:
                    errors.append(_field_error(row["_row"], FieldError(column, "unknown_member_code", value=code)))
                    continue
                marks.append({"member_id": found, "member_code": code, "status": status, "field": column})
        return marks

    def _members(self, row: dict, errors: list[RowError]) -> _Item:
        self._code(row, errors)
        raw = {k: (_text(v) if k in ("code", "full_name", "exempt_reason") else v)
               for k, v in _plain(row, [c for c in COLUMNS["members"] if c != "cell_code"]).items()}
        raw["cell_id"] = self.ref(row, "cell_code", "cells", errors)
        members.plan_import(self.db, self.actor, raw)  # refused rows raise; the write plans again in its transaction
        if raw["cell_id"] is not None:
            self.plan.cells.add(raw["cell_id"])
        return _Item(row["_row"], raw)

    def _weaknesses(self, row: dict, errors: list[RowError]) -> _Item:
        raw = _plain(row, ("category", "noted_on", "severity", "status", "due_on", "resolved_on"))
        raw["description"], raw["resolution"] = _text(row.get("description")), _text(row.get("resolution"))
        raw["unit_id"] = self.ref(row, "unit_code", "units", errors)
        raw["cell_id"] = self.ref(row, "cell_code", "cells", errors)
        raw["noted_by"] = self.ref(row, "noted_by", "leaders", errors)
        if raw.get("noted_on") is None:
            raw.pop("noted_on", None)  # the store dates it today
        # As weaknesses.create: the record first, then the scope of its unit.
        raw = {"noted_on": self.today, **raw}
        clean = weaknesses._check(self.db, raw, self.today)
        require_unit(self.db, self.actor, clean["unit_id"])
        if clean.get("cell_id") is not None:
            self.plan.cells.add(clean["cell_id"])
        return _Item(row["_row"], store.to_row({**clean, "created_by": self.actor.username}))


def _successors_first(rows: list[dict]) -> list[dict]:
    """Order rows so a unit or cell comes after the rows it names in the file: the successor it merges into and,
    for units, the unit above it (parent_code). Rows in a loop keep the file's order (the loop is refused)."""
    index: dict[str, int] = {}
    for i, row in enumerate(rows):
        if (code := _text(row.get("code"))) is not None:
            index.setdefault(code, i)

    def refs(i: int) -> list[int]:
        named = (_text(rows[i].get("successor_code")), _text(rows[i].get("parent_code")))
        return [index[c] for c in named if c is not None and c in index and index[c] != i]

    placed: set[int] = set()
    order: list[dict] = []
    for start in range(len(rows)):
        # Depth first, without recursion (a chain may be thousands of rows long); a row on the current path
        # that is named again is a loop, left to the check.
        stack: list[tuple[int, list[int]]] = [] if start in placed else [(start, refs(start))]
        on_path = {start}
        while stack:
            i, todo = stack[-1]
            nxt = next((j for j in todo if j not in placed and j not in on_path), None)
            if nxt is None:
                stack.pop()
                on_path.discard(i)
                placed.add(i)
                order.append(rows[i])
                continue
            todo.remove(nxt)
            on_path.add(nxt)
            stack.append((nxt, refs(nxt)))
    return order


def _parent_cycles(rows: list[dict]) -> set[str]:
    """The codes of units whose chain of parent_code within the file comes back to them."""
    parent = {c: p for row in rows if (c := _text(row.get("code"))) is not None
              and (p := _text(row.get("parent_code"))) is not None}
    looped: set[str] = set()
    for code in parent:
        seen, cur = set(), code
        while cur in parent and cur not in seen:
            seen.add(cur)
            cur = parent[cur]
        if cur == code:
            looped.add(code)
    return looped


def _check_rows(db: Database, kind: str, rows: list[dict], actor: Actor, today: date,
                progress: Callable[[int, int], Any] | None) -> tuple[_Plan, list[RowError]]:
    errors: list[RowError] = []
    checker = _Checker(db, kind, actor, today)
    if kind == "units":
        checker.cycles = _parent_cycles(rows)
    checker.plan.mark = db.execute("select coalesce(max(id), 0) from audit_log").fetchone()[0]
    try:
        if kind in ("units", "cells", "leaders", "posts", "assignments"):
            require_admin(db, actor)
    except PermissionDenied as exc:
        return checker.plan, [RowError(None, None, exc.message)]
    ordered = _successors_first(rows) if kind in ("units", "cells") else rows
    for done, row in enumerate(ordered, start=1):
        try:
            _, row_errors = checker.check(row)
        except PermissionDenied as exc:
            if exc.key not in ("out_of_scope", "members_out_of_scope", "members_transfer_out_of_scope"):
                return checker.plan, [RowError(None, None, exc.message)]
            column = "cell_code" if kind in ("meetings", "members") else "unit_code"
            row_errors = [RowError(row["_row"], column, exc.message)]
        except sqlite3.Error as exc:
            row_errors = [_err(row["_row"], None, "database", detail=str(exc))]
        errors += row_errors
        if progress is not None:
            progress(done, len(rows))
    if dbm.is_postgres(db):
        checker.plan.basis = _basis(db, checker.plan, actor)
    return checker.plan, _in_order(kind, errors)


def _in_order(kind: str, errors: list[RowError]) -> list[RowError]:
    order = {c: i for i, c in enumerate(COLUMNS[kind])}
    return sorted(errors, key=lambda e: (e.row or 0, order.get(e.field, len(order))))


# ---- writing a checked file in one short transaction -----------------------------------------

TABLE_OF = {"units": "units", "cells": "cells", "leaders": "leaders", "posts": "leader_posts",
            "assignments": "assignments",
            "meetings": "meetings", "weaknesses": "weaknesses", "members": "members"}

CHANGES_SQL = """
select id, at, username, action, table_name, row_id from audit_log
where id > ? and table_name in ('units', 'cells', 'leaders', 'meetings', 'users', 'settings', 'leader_posts',
                                'leader_groups')
order by id
"""

# Each new meeting's audit entry as meetings.create writes it (the meeting as meetings.get reads
# it: its row, cell, unit and leaders present), built by SQLite in the write transaction: JSON
# of 100,000 meetings in Python would hold the write lock seconds longer (keys sorted as in
# audit._dump; SQLite writes the JSON without spaces, which json.loads reads the same).
MEETING_AUDIT_SQL = """
insert into audit_log (at, username, action, table_name, row_id, before_json, after_json)
select :at, :username, 'create', 'meetings', cast(m.id as text), null, {after}
from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
where m.id between :first and :last
order by m.id
"""

MEETING_AUDIT_LEADERS = """json(coalesce((
    select json_group_array(json_object('full_name', full_name, 'grp', grp, 'leader_code', leader_code,
                                        'leader_id', leader_id, 'position', position, 'remarks', remarks,
                                        'report_submitted_on', report_submitted_on))
    from (select l.full_name, l.grp, l.code as leader_code, ml.leader_id, l.position, ml.remarks,
                 ml.report_submitted_on
          from meeting_leaders ml join leaders l on l.id = ml.leader_id
          where ml.meeting_id = m.id order by l.full_name)), '[]'))"""


MEETING_AUDIT_MARKS = """json((
    select json_group_array(json_object('member_id', member_id, 'member_code', member_code, 'full_name', full_name,
                                        'status', status, 'reason', reason))
    from (select am.member_id, mb.code as member_code, mb.full_name, am.status, am.reason
          from attendance_marks am join members mb on mb.id = am.member_id
          where am.meeting_id = m.id order by mb.full_name, mb.code)))"""


def _meeting_audit_sql(db: Database) -> str:
    """MEETING_AUDIT_SQL with every column of meetings (read from the schema, so none is forgotten)."""
    values = {name: f"m.{name}" for name in db["meetings"].columns_dict}
    values.update(unit_id="c.unit_id", cell_code="c.code", cell_name="c.name", meeting_day="c.meeting_day",
                  unit_code="u.code", unit_name="u.name", leaders=MEETING_AUDIT_LEADERS)
    pairs = ", ".join(f"'{name}', {values[name]}" for name in sorted(values))
    # A meeting with marks has them in its entry, as meetings.get reads it; one without has no such key.
    after = f"""case when exists (select 1 from attendance_marks am where am.meeting_id = m.id)
        then json_patch(json_object({pairs}), json_object('marks', {MEETING_AUDIT_MARKS}))
        else json_object({pairs}) end"""
    return MEETING_AUDIT_SQL.format(after=after)


def _hold(db: Database, plan: _Plan) -> None:
    """PostgreSQL: hold, until the import commits, what its rows were checked against and what the single writes
    lock (SQLite's write lock holds the whole file): names first, then rows, each in order, as every writer takes
    them, so two imports or an import and a form queue instead of deadlocking."""
    if plan.kind == "units":
        dbm.lock_name(db, "units")
    if plan.kind in ("units", "cells", "leaders"):
        for code in sorted(plan.codes):
            dbm.lock_name(db, f"{TABLE_OF[plan.kind]}.code", code)
    if plan.kind == "members":
        for code in sorted({str(item.record.get("code") or "").strip() for item in plan.items} - {""}):
            dbm.lock_name(db, "members.code", code)
        dbm.lock_rows(db, "members", [i for i in (members.find_code(db, item.record.get("code"))
                                                  for item in plan.items) if i is not None])
    if plan.kind == "meetings":
        dbm.lock_name(db, "settings")  # the thresholds the ratings were checked against (settings.save_settings)
    if plan.kind == "posts":
        dbm.lock_rows(db, "leaders", [item.record["leader_id"] for item in plan.items])
    # A regular meeting is saved under its cell's row (meetings.create): the import holds every cell it writes in.
    dbm.lock_rows(db, "cells", plan.cells | {cell for cell, _ in plan.regular})


REGULAR_NOW_SQL = """
select m.id, m.cell_id, substr(m.held_on, 1, 7) from meetings m
where m.cell_id in (select value from json_each(:cells)) and m.mtype = 'thuong_ky' and m.deleted_at is null
  and m.held_on >= :start and m.held_on < :end
"""

LAST_ENTRY_SQL = """
select id, at, username, action, table_name, row_id from audit_log where table_name = ? and row_id = ?
order by id desc limit 1
"""

LAST_OF_TABLE_SQL = """
select id, at, username, action, table_name, row_id from audit_log where table_name = ?
order by id desc limit 1
"""

_IN_IDS = "in (select value from json_each(?))"


def _basis(db: Database, plan: _Plan, actor: Actor) -> dict[tuple[str, str | None], str]:
    """What the rows were checked against beyond codes and regular meetings, as the fingerprint of each row (or
    table) now: the cells they are in, the thresholds (meetings), the posts' leaders and groups (posts), the
    author's role and scope; the same rows the audit entries after the check are looked at for."""
    basis: dict[tuple[str, str | None], str] = {}

    def rows(table: str, sql: str, ids: Iterable[int]) -> None:
        for row in db.query(sql, [json.dumps(sorted(set(ids)))]):
            basis[(table, str(row["id"]))] = store.fingerprint(row)

    if plan.kind in ("meetings", "weaknesses", "assignments", "members") and plan.cells:
        rows("cells", f"select * from cells where id {_IN_IDS}", plan.cells)
    if plan.kind == "meetings":
        basis[("settings", None)] = store.fingerprint(settings.get_settings(db))
    if plan.kind == "posts":
        ids = [item.record["leader_id"] for item in plan.items]
        rows("leaders", f"select * from leaders where id {_IN_IDS}", ids)
        rows("leader_posts", f"select * from leader_posts where leader_id {_IN_IDS}", ids)
        basis[("leader_groups", None)] = store.fingerprint(
            {"groups": [dict(r) for r in db.query("select * from leader_groups order by code")]})
    if actor is not SYSTEM:
        fresh = users.actor_for(db, actor.username)
        basis[("users", actor.username)] = store.fingerprint(
            {"role": fresh.role, "units": sorted(fresh.unit_ids)} if fresh else {"active": False})
    return basis


def _changed(db: Database, plan: _Plan, actor: Actor) -> list[tuple[str, str | None]]:
    """PostgreSQL, with the rows held (_hold): what the check relied on that is no longer as it read it (_basis),
    compared directly, so that a write committed after the check with a smaller audit id is seen too."""
    now = _basis(db, plan, actor)
    return sorted((key for key in plan.basis.keys() | now.keys() if plan.basis.get(key) != now.get(key)),
                  key=lambda key: (key[0], key[1] or ""))


def _earliest(db: Database, first: dict | None, table: str, row_id: str | None) -> dict:
    """The change to name in the refusal: the older of first and the last audit entry of a row (or table)."""
    entry = next(iter(db.query(LAST_ENTRY_SQL, [table, row_id]) if row_id is not None
                      else db.query(LAST_OF_TABLE_SQL, [table])), None)
    if first is None or (entry is not None and entry["id"] < first.get("id", entry["id"] + 1)):
        return entry or {"table_name": table, "row_id": row_id, "username": "", "at": ""}
    return first


def _seen_late(db: Database, plan: _Plan) -> list[tuple[str, str, FieldError, int]]:
    """PostgreSQL: what the audit entries after the check's last one can miss. There ids are handed out at insert,
    not in commit order, so a write committed after the check may carry a smaller id than the check's last entry;
    with the rows held (_hold), the codes and regular meetings the import would duplicate are looked up directly.
    Returns (table, row id, refusal, file row) for each."""
    found: list[tuple[str, str, FieldError, int]] = []
    if plan.kind in ("units", "cells", "leaders") and plan.codes:
        table = TABLE_OF[plan.kind]
        for row_id, code in db.execute(f"select id, code from {table} where code in (select value from "
                                       "json_each(?))", [json.dumps(sorted(plan.codes))]):
            found.append((table, str(row_id), FieldError("code", "duplicate_code", value=code), plan.codes[code]))
    if plan.kind == "meetings" and plan.regular:
        months = sorted(month for _, month in plan.regular)
        last = date.fromisoformat(months[-1] + "-01")
        end = date(last.year + last.month // 12, last.month % 12 + 1, 1).isoformat()
        cells = json.dumps(sorted({cell for cell, _ in plan.regular}))
        for row_id, cell, month in db.execute(REGULAR_NOW_SQL, {"cells": cells, "start": months[0] + "-01",
                                                                "end": end}):
            if (cell, month) in plan.regular:
                found.append(("meetings", str(row_id), FieldError("held_on", "duplicate_regular", {
                    "month": f"{month[5:7]}/{month[:4]}", "existing": row_id}), plan.regular[(cell, month)]))
    return found


def _conflicts(db: Database, plan: _Plan, actor: Actor) -> list[RowError]:
    """What writers changed since the check that would make a checked row wrong now (normally nothing).

    Every write of the app is audited in its own transaction, so the audit entries after the
    check's last one name exactly the rows changed meanwhile; only those are looked at again.
    """
    problems: list[RowError] = []
    first: dict | None = None
    table = TABLE_OF[plan.kind]
    if dbm.is_postgres(db):
        # The author's row first (shared, as every write holds it), then names, then rows.
        users.hold_actor(db, actor)
        _hold(db, plan)
        for name, row_id, fe, number in _seen_late(db, plan):
            problems.append(_field_error(number, fe))
            first = _earliest(db, first, name, row_id)
        for name, row_id in _changed(db, plan, actor):
            first = _earliest(db, first, name, row_id)
        if problems:
            # named once each, by the direct look-up; the audit entries below only add what it does not cover
            plan = _Plan(plan.kind, plan.items, {}, {}, plan.cells, plan.mark)
    for change in db.query(CHANGES_SQL, [plan.mark]):
        name, row_id = change["table_name"], change["row_id"]
        # the log keeps ids as text; PostgreSQL compares an integer id with an integer only
        key = int(row_id) if row_id is not None and row_id.isdigit() else row_id
        hit = False
        if name == table and plan.kind in ("units", "cells", "leaders"):
            found = db.execute(f"select code from {table} where id = ?", [key]).fetchone()
            if found and found[0] in plan.codes:
                hit = True
                problems.append(_field_error(plan.codes[found[0]], FieldError("code", "duplicate_code",
                                                                              value=found[0])))
        elif name == "meetings" and plan.kind == "meetings":
            found = db.execute("select cell_id, held_on, mtype, deleted_at from meetings where id = ?",
                               [key]).fetchone()
            if found and found[2] == MeetingType.THUONG_KY.value and found[3] is None \
                    and (found[0], found[1][:7]) in plan.regular:
                hit = True
                month = f"{found[1][5:7]}/{found[1][:4]}"
                problems.append(_field_error(plan.regular[(found[0], found[1][:7])],
                                             FieldError("held_on", "duplicate_regular",
                                                        {"month": month, "existing": int(row_id)})))
        elif name == "cells" and plan.kind in ("meetings", "weaknesses", "assignments", "members"):
            hit = row_id is not None and row_id.isdigit() and int(row_id) in plan.cells
        elif name in ("leaders", "leader_posts", "leader_groups") and plan.kind == "posts":
            hit = True  # a post or group changed meanwhile: the overlap and group checks are made again
        elif name == "settings":
            hit = plan.kind == "meetings"  # the score thresholds decide the rating
        elif name == "users":
            hit = row_id == actor.username  # a changed role or scope
        if hit and first is None:
            first = change
    if first is None:
        return []
    what = t(f"page.audit.tables.{first['table_name']}") + (f" {first['row_id']}" if first["row_id"] else "")
    return [_err(None, None, "changed_meanwhile", what=what, user=first["username"] or "",
                 at=str(first["at"]).replace("T", " "))] + _in_order(plan.kind, problems)


def _insert_runs(db: Database, table: str, ids: list[int], records: list[dict]) -> None:
    """Insert rows with their ids in order, one executemany per run of rows naming the same columns."""
    start = 0
    while start < len(records):
        keys = list(records[start])
        end = start
        while end < len(records) and list(records[end]) == keys:
            end += 1
        columns = ", ".join(f'"{k}"' for k in ["id", *keys])
        marks = ", ".join("?" for _ in range(len(keys) + 1))
        db.conn.executemany(f'insert into "{table}" ({columns}) values ({marks})',
                            ([ids[i], *records[i].values()] for i in range(start, end)))
        start = end


def _dump(row: Any) -> str:
    return json.dumps(dict(row), ensure_ascii=False, default=str, sort_keys=True)


def _write_members(db: Database, plan: _Plan, actor: Actor) -> tuple[list[int], list[RowError]]:
    """Plan each member row again inside the write transaction (members changed since the check are seen) and
    write it as the single writes do; any refusal: the errors, and the caller rolls everything back."""
    ids: list[int] = []
    errors: list[RowError] = []
    for item in plan.items:
        try:
            ids.append(members.apply_import(db, actor, members.plan_import(db, actor, item.record)))
        except ValidationError as exc:
            errors += [_field_error(item.number, fe) for fe in exc.errors]
        except PermissionDenied as exc:
            errors.append(RowError(item.number, "cell_code", exc.message))
    return ids, errors


def _insert(db: Database, plan: _Plan, actor: Actor) -> list[int]:
    """Write every checked row and one audit entry per record created; the caller holds the transaction."""
    table = TABLE_OF[plan.kind]
    # Ids are given, not left to SQLite, so rows can be inserted in bulk and still point at
    # each other (a merge into a unit of the same file); max(id) + 1 is what SQLite would pick.
    ids = dbm.new_ids(db, table, len(plan.items))
    now = audit.now_iso()
    records = [item.record for item in plan.items]  # filled in place: a copy of 100,000 rows costs memory
    for item in plan.items:
        if item.successor is not None:
            item.record["successor_id"] = ids[item.successor]
        if item.parent is not None:
            item.record["parent_id"] = ids[item.parent]
        if plan.kind == "meetings":
            item.record.update(created_at=now, updated_at=now)
    _insert_runs(db, table, ids, records)
    if plan.kind == "meetings":
        db.conn.executemany(
            "insert into meeting_leaders (meeting_id, leader_id, report_submitted_on, remarks) values (?, ?, ?, ?)",
            ((ids[i], e["leader_id"], e.get("report_submitted_on"), e.get("remarks"))
             for i, item in enumerate(plan.items) for e in item.leaders))
        db.conn.executemany(
            "insert into attendance_marks (meeting_id, member_id, status, reason) values (?, ?, ?, ?)",
            ((ids[i], e["member_id"], e["status"], e["reason"])
             for i, item in enumerate(plan.items) for e in item.marks or ()))
        _insert_checklists(db, actor, now, ids, plan.items)
        if ids:
            sql, params = _meeting_audit_sql(db), {"at": now, "username": actor.username, "first": ids[0],
                                                   "last": ids[-1]}
            if dbm.is_postgres(db):
                # ids from the sequence, with others' saves perhaps in between: only this import's meetings
                sql = sql.replace("where m.id between", "where m.id in (select value from json_each(:ids)) and "
                                  "m.id between")
                params["ids"] = json.dumps(ids)
            db.execute(sql, params)
        return ids
    db.conn.executemany(
        "insert into audit_log (at, username, action, table_name, row_id, before_json, after_json) "
        "values (?, ?, 'create', ?, ?, null, ?)",
        # As store.insert audits a record: the row as inserted, without its id.
        ((now, actor.username, table, str(row_id), _dump(record)) for row_id, record in zip(ids, records, strict=True)))
    if plan.kind == "leaders":
        # As directory.create: each new leader starts with one post (position and group, open, at the home node).
        for row_id, record in zip(ids, records, strict=True):
            store.insert(db, actor, "leader_posts", leaders.first_post(db, {**record, "id": row_id}))
    if plan.kind == "posts":
        for leader_id in dict.fromkeys(record["leader_id"] for record in records):
            leaders.sync_leader(db, actor, leader_id)
    return ids


def _insert_checklists(db: Database, actor: Actor, now: str, ids: list[int], items: list[_Item]) -> None:
    """Write the meetings' checklists and one audit entry each, as lib.checklist.save does for one meeting."""
    rows = [{"meeting_id": ids[i], **item.checklist} for i, item in enumerate(items) if item.checklist]
    if not rows:
        return
    columns = list(rows[0])
    db.conn.executemany(f"insert into meeting_checklists ({', '.join(columns)}) values "
                        f"({', '.join('?' for _ in columns)})", ([r[c] for c in columns] for r in rows))
    db.conn.executemany(
        "insert into audit_log (at, username, action, table_name, row_id, before_json, after_json) "
        "values (?, ?, 'create', 'meeting_checklists', ?, null, ?)",
        ((now, actor.username, str(r["meeting_id"]), _dump(r)) for r in rows))


class _Rollback(Exception):
    pass


def _import(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor, today: date | None,
            progress: Callable[[int, int], Any] | None, commit: bool) -> ImportResult:
    result = ImportResult(kind)
    try:
        result.rows = read_rows(kind, data, filename)
    except ImportFileError as exc:
        result.errors = exc.errors
        return result
    today = today or date.today()
    # The check reads one snapshot and holds no write lock, however long the file.
    with dbm.snapshot(path_or_db) as db:
        plan, result.errors = _check_rows(db, kind, result.rows, actor, today, progress)
    if not result.errors and commit:
        try:
            with dbm.write(path_or_db) as db:
                result.errors = _conflicts(db, plan, actor)
                if result.errors:
                    raise _Rollback
                if kind == "members":
                    result.ids, result.errors = _write_members(db, plan, actor)
                    if result.errors:
                        raise _Rollback
                else:
                    result.ids = _insert(db, plan, actor)
        except _Rollback:
            pass
        except sqlite3.Error as exc:
            result.ids = []
            key = "busy" if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc) else "database"
            result.errors = [_err(None, None, key, detail=str(exc))]
    result.count = 0 if result.errors else len(result.rows)
    result.written = commit and not result.errors
    if not result.written:
        result.ids = []
    return result


def preview(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor,
            today: date | None = None, progress: Callable[[int, int], Any] | None = None) -> ImportResult:
    """Read and check every row against a read snapshot: no write lock is taken and nothing is written."""
    return _import(path_or_db, kind, data, filename, actor, today, progress, commit=False)


def run(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor,
        today: date | None = None, progress: Callable[[int, int], Any] | None = None) -> ImportResult:
    """Check every row outside any write lock, then write them all in one short transaction, or none.

    Rows changed by another writer between the check and the write (a regular meeting saved
    by a clerk meanwhile) are found again inside the transaction; the import then writes nothing.
    """
    return _import(path_or_db, kind, data, filename, actor, today, progress, commit=True)


# ---- templates and exports -----------------------------------------------------------

@dataclass
class Lookup:
    """What a user may name in a file: units and cells in their scope, active leaders (for the template)."""

    units: list[dict]
    cells: list[dict]
    leaders: list[dict]


def lookup(db: Database, actor: Actor, today: date | None = None) -> Lookup:
    """The units and cells of the user's scope (all for an admin) and the active leaders, current ones first."""
    on = (today or date.today()).isoformat()

    def current_first(rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda r: bool(r["valid_to"] and r["valid_to"] < on))

    mine = (lambda r: True) if actor.is_admin else (lambda r: r["unit_id"] in actor.unit_ids)
    units = [u for u in directory.list_units(db) if actor.is_admin or u["id"] in actor.unit_ids]
    cells = [c for c in directory.list_cells(db) if mine(c)]
    return Lookup(current_first(units), current_first(cells), directory.list_leaders(db, active_only=True))


def _example(kind: str) -> dict[str, Any]:
    """The template's example row, with made-up codes (CB01, LD01), never real ones."""
    # A clerk who uploads the template without deleting the example would otherwise import an invented
    # meeting for a real cell. With made-up codes the unchanged row is refused by its unknown code; the
    # real codes stand in the template's lookup sheet.
    def ex(key: str) -> str:
        return t(f"import.example.{key}", "vi")

    def label(column: str, value: str) -> str:
        return t(f"enum.{ENUMS[column].__name__}.{value}", "vi")

    return {
        "units": {"code": "XA01", "name": ex("unit_name"), "kind": label("kind", "xa"),
                  "valid_from": date(2020, 1, 1)},
        "cells": {"code": "CB01", "unit_code": "XA01", "name": ex("cell_name"),
                  "cell_type": label("cell_type", "ap_khom"), "meeting_day": 5, "valid_from": date(2020, 1, 1)},
        "leaders": {"code": "LD01", "full_name": ex("leader_name"), "position": ex("position"),
                    "grp": label("grp", "uv_btv")},
        "posts": {"leader_code": "LD01", "unit_code": "XA01", "title": ex("position"), "grp": label("grp", "uv_bch"),
                  "valid_from": date(2025, 7, 1)},
        "assignments": {"leader_code": "LD01", "unit_code": "XA01", "decision_no": ex("decision_no"),
                        "decision_date": date(2025, 1, 2), "valid_from": date(2025, 1, 1),
                        "required_per_quarter": 1},
        "meetings": {"cell_code": "CB01", "held_on": date(2025, 3, 5), "mtype": label("mtype", "thuong_ky"),
                     "members_total": 30, "members_exempt": 2, "present": 25, "absent_excused": 2,
                     "absent_unexcused": 1, "duration_minutes": 120, "score": 85,
                     "rating": label("rating", "kha"), "leadership": "x", "education": "x", "combativeness": "",
                     "leaders_present": "LD01", "reports_submitted_on": "10/03/2025", "topics": ex("topics"),
                     "notes": ex("notes"), "committee_prepared": "x", "content_prepared": "x", "speakers": 8,
                     "criticism_held": "x", "resolution_issued": "x", "minutes_complete": "x", "followed_up": "",
                     "documents": ex("documents")},
        "members": {"code": "DV000001", "full_name": ex("member_name"), "cell_code": "CB01",
                    "joined_cell_on": date(2025, 7, 1), "admitted_on": date(2010, 5, 19),
                    "official_on": date(2011, 5, 19)},
        "weaknesses": {"unit_code": "XA01", "cell_code": "CB01", "category": label("category", "xay_dung_dang"),
                       "description": ex("description"), "noted_on": date(2025, 3, 5), "noted_by": "LD01",
                       "severity": label("severity", "medium"), "status": label("status", "open"),
                       "due_on": date(2025, 6, 30)},
    }[kind]


# The ranges the store's rules enforce (lib.domain.validate_*), stated in the template's column sheet.
INT_RANGES: dict[str, tuple[int, int | None]] = {
    "meeting_day": (1, 31), "required_per_quarter": (1, None), "members_total": (1, None),
    "duration_minutes": (0, 24 * 60), "score": (0, 100),
}


def _allowed(column: str) -> str:
    if column in ENUMS:
        return "; ".join(t(f"enum.{ENUMS[column].__name__}.{m.value}", "vi") for m in ENUMS[column])
    if column in DATE_COLUMNS:
        return t("import.hint.date", "vi")
    if column in BOOL_COLUMNS:
        return t("import.hint.bool", "vi")
    if column in INT_COLUMNS:
        low, high = INT_RANGES.get(column, (0, None))
        if high is None:
            return t("import.hint.int_min", "vi", low=low)
        return t("import.hint.int_range", "vi", low=low, high=high)
    if column in ("leaders_present", "reports_submitted_on", "unit_code", "cell_code", "leader_code",
                  "successor_code", "parent_code", "noted_by", "issuer_code", *MEMBER_COLUMNS):
        return t(f"import.hint.{column}", "vi")
    return ""


def template_xlsx(kind: str, db: Database | None = None, actor: Actor | None = None) -> bytes:
    """A workbook: 'Mẫu' (Vietnamese headers, one example row), 'Cột' describing each column and, given the
    database and the user, 'Tra cứu mã' listing the units, cells and leaders they may name (their own scope)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheet = wb.active
    sheet.title = t("import.template.sheet", "vi")
    columns = COLUMNS[kind]
    sheet.append([column_label(kind, c, "vi") for c in columns])
    found = lookup(db, actor) if db is not None and actor is not None else None
    example = _example(kind)
    sheet.append([example.get(c) for c in columns])
    for index, column in enumerate(columns, start=1):
        sheet.cell(1, index).font = Font(bold=True)
        if column in DATE_COLUMNS:
            sheet.cell(2, index).number_format = "DD/MM/YYYY"
        letter = sheet.cell(1, index).column_letter
        sheet.column_dimensions[letter].width = max(14, len(column_label(kind, column, "vi")) + 2)
    sheet.freeze_panes = "A2"
    info = wb.create_sheet(t("import.template.columns_sheet", "vi"))
    info.append([t(f"import.template.{h}", "vi") for h in ("column", "label_vi", "label_en", "required",
                                                           "allowed")])
    for column in columns:
        required = t("import.template.yes" if column in REQUIRED[kind] else "import.template.no", "vi")
        info.append([column, column_label(kind, column, "vi"), column_label(kind, column, "en"), required,
                     _allowed(column)])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (24, 32, 32, 10, 70), strict=True):
        info.column_dimensions[letter].width = width
    if found is not None:
        _lookup_sheet(wb.create_sheet(t("import.template.lookup_sheet", "vi")), found)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _lookup_sheet(sheet: Any, found: Lookup) -> None:
    """Three tables side by side: communes (code, name), cells (code, name, commune), leaders (code, name)."""
    from openpyxl.styles import Font

    def h(key: str) -> str:
        return t(f"import.lookup.{key}", "vi")

    blocks = [
        (("unit_code", "unit_name", "until"),
         [[u["code"], u["name"], fmt_date(u["valid_to"])] for u in found.units]),
        (("cell_code", "cell_name", "unit_code", "unit_name", "until"),
         [[c["code"], c["name"], c["unit_code"], c["unit_name"], fmt_date(c["valid_to"])] for c in found.cells]),
        (("leader_code", "leader_name", "position"),
         [[r["code"], r["full_name"], r["position"] or ""] for r in found.leaders]),
    ]
    start = 1
    for header, rows in blocks:
        for offset, key in enumerate(header):
            cell = sheet.cell(1, start + offset, h(key))
            cell.font = Font(bold=True)
            sheet.column_dimensions[cell.column_letter].width = 14 if key.endswith("code") or key == "until" else 30
        for number, values in enumerate(rows or [[h("none")]], start=2):
            for offset, value in enumerate(values):
                sheet.cell(number, start + offset, value)
        start += len(header) + 1  # a blank column between the tables
    sheet.freeze_panes = "A2"


RECORDS_SQL = {
    "units": """
select u.code, u.name, u.kind, u.valid_from, u.valid_to, s.code as successor_code, p.code as parent_code
from units u left join units s on s.id = u.successor_id left join units p on p.id = u.parent_id
order by u.id
""",
    "cells": """
select c.code, u.code as unit_code, c.name, c.cell_type, c.meeting_day, c.valid_from, c.valid_to,
       s.code as successor_code
from cells c join units u on u.id = c.unit_id left join cells s on s.id = c.successor_id
order by c.id
""",
    "leaders": """
select code, full_name, position, grp from leaders order by id
""",
    "posts": """
select l.code as leader_code, u.code as unit_code, p.title, p.grp, p.valid_from, p.valid_to
from leader_posts p join leaders l on l.id = p.leader_id left join units u on u.id = p.unit_id
order by p.id
""",
    "assignments": """
select l.code as leader_code, u.code as unit_code, c.code as cell_code, a.decision_no, a.decision_date,
       a.valid_from, a.valid_to, a.required_per_quarter, i.code as issuer_code
from assignments a join leaders l on l.id = a.leader_id join units u on u.id = a.unit_id
left join cells c on c.id = a.cell_id left join units i on i.id = a.issuer_unit_id
order by a.id
""",
    "meetings": """
select c.code as cell_code, m.held_on, m.mtype, m.members_total, m.members_exempt, m.present,
       m.absent_excused, m.absent_unexcused, m.duration_minutes, m.score, m.rating, m.leadership,
       m.education, m.combativeness,
       (select group_concat(code, ';') from (
            select l.code from meeting_leaders ml join leaders l on l.id = ml.leader_id
            where ml.meeting_id = m.id order by l.code)) as leaders_present,
       (select group_concat(coalesce(report_submitted_on, ''), ';') from (
            select ml.report_submitted_on from meeting_leaders ml join leaders l on l.id = ml.leader_id
            where ml.meeting_id = m.id order by l.code)) as reports_submitted_on,
       m.topics, m.notes
from meetings m join cells c on c.id = m.cell_id
where m.deleted_at is null
order by m.id
""",
    "weaknesses": """
select u.code as unit_code, c.code as cell_code, w.category, w.description, w.noted_on,
       l.code as noted_by, w.severity, w.status, w.due_on, w.resolved_on, w.resolution
from weaknesses w join units u on u.id = w.unit_id left join cells c on c.id = w.cell_id
left join leaders l on l.id = w.noted_by
where w.deleted_at is null
order by w.id
""",
    # A member as the import takes them: their current (else last) cell and latest exemption.
    "members": """
select m.code, m.full_name, c.code as cell_code, mc.valid_from as joined_cell_on, m.admitted_on, m.official_on,
       e.valid_from as exempt_from, e.valid_to as exempt_to, e.reason as exempt_reason
from members m
left join member_cells mc on mc.id = (select x.id from member_cells x where x.member_id = m.id
                                      order by x.valid_to is null desc, x.valid_to desc, x.id desc limit 1)
left join cells c on c.id = mc.cell_id
left join member_exemptions e on e.id = (select y.id from member_exemptions y where y.member_id = m.id
                                         order by y.valid_from desc, y.id desc limit 1)
order by m.id
""",
}


def records(path_or_db: Any, kind: str) -> list[dict]:
    """The stored rows of a kind in the import format (codes, ISO dates, enum codes), oldest first."""
    with dbm.session(path_or_db) as db:
        return [dict(r) for r in db.query(RECORDS_SQL[kind])]


def export_csv(kind: str, rows: Iterable[Mapping[str, Any]], delimiter: str = ",") -> bytes:
    """Rows as a UTF-8 CSV with BOM (so Excel reads the accents) under the canonical headers."""
    from lib import exports

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS[kind])
    for row in rows:
        # A text starting with = + - @ gets a leading ' (a spreadsheet would run it as a formula).
        writer.writerow(exports.safe_row("" if row.get(c) is None else row.get(c) for c in COLUMNS[kind]))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def export_xlsx(kind: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as a one-sheet workbook under the Vietnamese headers, importable as it is."""
    from openpyxl import Workbook

    from lib import exports

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(t("import.template.sheet", "vi"))
    sheet.append([column_label(kind, c, "vi") for c in COLUMNS[kind]])
    for row in rows:
        sheet.append(exports.text_row(sheet, [row.get(c) for c in COLUMNS[kind]]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
