"""CSV and XLSX import of units, cells, leaders, assignments, meetings and weaknesses, all or nothing."""

import csv
import io
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from lib import assignments, directory, meetings, weaknesses
from lib import db as dbm
from lib.domain import (
    ENUMS,
    Actor,
    FieldError,
    PermissionDenied,
    ValidationError,
    is_blank,
)
from lib.i18n import t
from lib.users import require_admin

KINDS = ("units", "cells", "leaders", "assignments", "meetings", "weaknesses")

COLUMNS: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind", "valid_from", "valid_to", "successor_code"),
    "cells": ("code", "unit_code", "name", "cell_type", "meeting_day", "valid_from", "valid_to",
              "successor_code"),
    "leaders": ("code", "full_name", "position", "grp"),
    "assignments": ("leader_code", "unit_code", "cell_code", "decision_no", "decision_date", "valid_from",
                    "valid_to", "required_per_quarter"),
    "meetings": ("cell_code", "held_on", "mtype", "members_total", "members_exempt", "present",
                 "absent_excused", "absent_unexcused", "duration_minutes", "score", "rating", "leadership",
                 "education", "combativeness", "leaders_present", "reports_submitted_on", "topics", "notes"),
    "weaknesses": ("unit_code", "cell_code", "category", "description", "noted_on", "noted_by", "severity",
                   "status", "due_on", "resolved_on", "resolution"),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind"),
    "cells": ("code", "unit_code", "name", "cell_type"),
    "leaders": ("code", "full_name", "grp"),
    "assignments": ("leader_code", "unit_code", "valid_from"),
    "meetings": ("cell_code", "held_on", "mtype", "members_total", "present", "absent_excused",
                 "absent_unexcused"),
    "weaknesses": ("unit_code", "category", "description"),
}

DATE_COLUMNS = {"valid_from", "valid_to", "decision_date", "held_on", "noted_on", "due_on", "resolved_on"}
INT_COLUMNS = {"meeting_day", "required_per_quarter", "members_total", "members_exempt", "present",
               "absent_excused", "absent_unexcused", "duration_minutes", "score"}
BOOL_COLUMNS = {"leadership", "education", "combativeness"}

# Store modules name the ids they were given; the user wrote codes in these columns.
_STORE_TO_COLUMN = {
    "unit_id": "unit_code",
    "cell_id": "cell_code",
    "leader_id": "leader_code",
    "successor_id": "successor_code",
    "report_submitted_on": "reports_submitted_on",
    "meeting_id": None,
    "id": None,
}

_LIST_SPLIT = re.compile(r"[;,\n]")
_XLSX_EXT = {".xlsx", ".xlsm"}
_CSV_EXT = {".csv", ".txt", ""}
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"BM", b"\x7fELF")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


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
        for text in (column, t(f"field.{column}", "vi"), t(f"field.{column}", "en")):
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
    for column in REQUIRED[kind]:
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


def _csv_records(data: bytes) -> Iterable[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError([_err(None, None, "not_utf8")]) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    first = re.sub(r'"[^"]*"', "", first)
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for number, record in enumerate(reader, start=1):
            records.append((number, record))
    except csv.Error as exc:
        raise ImportFileError([_err(None, None, "bad_csv", row=reader.line_num, detail=str(exc))]) from None
    return records


def _xlsx_records(data: bytes) -> Iterable[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise ImportFileError([_err(None, None, "bad_xlsx", detail=type(exc).__name__)]) from None
    try:
        sheet = wb.worksheets[0]
        return [(number, list(values)) for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    except Exception as exc:  # openpyxl raises many types on a damaged workbook; none may reach the user raw
        raise ImportFileError([_err(None, None, "bad_xlsx", detail=type(exc).__name__)]) from None
    finally:
        wb.close()


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
    """Raw values by canonical column with the spreadsheet row number in '_row'; ImportFileError if unreadable."""
    if kind not in KINDS:
        raise ImportFileError([_err(None, None, "unknown_kind", kind=kind, kinds=", ".join(KINDS))])
    data = bytes(data or b"")
    records = _xlsx_records(data) if _detect(data, filename) == "xlsx" else _csv_records(data)
    records = [(n, r) for n, r in records if not all(is_blank(v) for v in r)]
    if not records:
        raise ImportFileError([_err(None, None, "empty")])
    _, headers = records[0]
    mapping, errors = _map_headers(kind, headers)
    for _, record in records[1:]:
        for index, value in enumerate(record[:len(headers)]):
            if is_blank(headers[index]) and not is_blank(value):
                errors.append(_err(None, None, "blank_header", position=index + 1))
    errors = list(dict.fromkeys(errors))
    if errors:
        raise ImportFileError(errors)
    rows = []
    for number, record in records[1:]:
        row: dict[str, Any] = {"_row": number}
        for index, column in mapping.items():
            row[column] = _cell_value(column, record[index]) if index < len(record) else None
        extra = [v for v in record[len(headers):] if not is_blank(v)]
        if extra:
            row["_extra"] = len(extra)
        rows.append(row)
    if not rows:
        raise ImportFileError([_err(None, None, "no_rows")])
    return rows


# ---- turning a row into a store call ----------------------------------------------------

def _lookup(db: Database, table: str, code: Any) -> int | None:
    found = db.execute(f"select id from {table} where code = ?", [_text(code)]).fetchone()
    return found[0] if found else None


def _ref(db: Database, row: dict, column: str, table: str, errors: list[RowError]) -> int | None:
    """The id for the code in a column; an 'unknown code' error when it names nothing."""
    code = _text(row.get(column))
    if code is None:
        return None
    found = _lookup(db, table, code)
    if found is None:
        errors.append(_field_error(row["_row"], FieldError(column, "unknown_code", {"value": code})))
    return found


def _split(value: Any) -> list[Any]:
    if is_blank(value):
        return []
    if not isinstance(value, str):
        return [value]
    return [part.strip() for part in _LIST_SPLIT.split(value)]


def _plain(row: dict, names: Iterable[str]) -> dict:
    return {name: row[name] for name in names if name in row}


class _Importer:
    """Carries the state one file needs across its rows: codes seen, meetings written."""

    def __init__(self, db: Database, kind: str, actor: Actor, today: date):
        self.db, self.kind, self.actor, self.today = db, kind, actor, today
        self.codes: dict[str, int] = {}
        self.meeting_rows: dict[int, int] = {}

    def write(self, row: dict) -> tuple[int | None, list[RowError]]:
        """Validate and write one row inside a savepoint, undone when the row has any error."""
        number = row["_row"]
        errors: list[RowError] = []
        if row.get("_extra"):
            errors.append(_err(number, None, "extra_values", count=row["_extra"]))
        new_id = None
        try:
            with dbm.write(self.db):
                try:
                    new_id = getattr(self, f"_{self.kind}")(row, errors)
                except ValidationError as exc:
                    # A column already refused here (an unknown code) also fails the store's
                    # check of the id it stood for; report it once, in the user's words.
                    own = {e.field for e in errors if e.field}
                    for fe in exc.errors:
                        error = self._translate(number, fe)
                        if error.field not in own:
                            errors.append(error)
                if errors:
                    raise _RowRefused
        except _RowRefused:
            return None, errors
        return new_id, errors

    def _translate(self, number: int, fe: FieldError) -> RowError:
        existing = fe.params.get("existing") if fe.key == "duplicate_regular" else None
        if existing in self.meeting_rows:
            return _err(number, "held_on", "duplicate_regular_in_file", month=fe.params.get("month"),
                        row=self.meeting_rows[existing])
        return _field_error(number, fe)

    def _code(self, row: dict, errors: list[RowError]) -> None:
        code = _text(row.get("code"))
        if code is not None and code in self.codes:
            errors.append(_err(row["_row"], "code", "duplicate_in_file", value=code, row=self.codes[code]))
        elif code is not None:
            # Registered even if this row fails, so a repeat is named against it.
            self.codes[code] = row["_row"]

    def _directory(self, table: str, row: dict, errors: list[RowError], names: Iterable[str]) -> int:
        self._code(row, errors)
        raw = {k: (_text(v) if k in ("code", "name", "full_name", "position") else v)
               for k, v in _plain(row, names).items()}
        if "successor_code" in row:
            raw["successor_id"] = _ref(self.db, row, "successor_code", table, errors)
        if "unit_code" in row:
            raw["unit_id"] = _ref(self.db, row, "unit_code", "units", errors)
        return directory.create(self.db, self.actor, table, raw)

    def _units(self, row: dict, errors: list[RowError]) -> int:
        return self._directory("units", row, errors, ("code", "name", "kind", "valid_from", "valid_to"))

    def _cells(self, row: dict, errors: list[RowError]) -> int:
        return self._directory("cells", row, errors,
                               ("code", "name", "cell_type", "meeting_day", "valid_from", "valid_to"))

    def _leaders(self, row: dict, errors: list[RowError]) -> int:
        return self._directory("leaders", row, errors, ("code", "full_name", "position", "grp"))

    def _assignments(self, row: dict, errors: list[RowError]) -> int:
        raw = _plain(row, ("decision_date", "valid_from", "valid_to", "required_per_quarter"))
        raw["decision_no"] = _text(row.get("decision_no"))
        raw["leader_id"] = _ref(self.db, row, "leader_code", "leaders", errors)
        raw["unit_id"] = _ref(self.db, row, "unit_code", "units", errors)
        raw["cell_id"] = _ref(self.db, row, "cell_code", "cells", errors)
        return assignments.create(self.db, self.actor, raw, today=self.today)

    def _meetings(self, row: dict, errors: list[RowError]) -> int:
        number = row["_row"]
        raw = _plain(row, [c for c in COLUMNS["meetings"]
                           if c not in ("cell_code", "leaders_present", "reports_submitted_on")])
        raw["topics"], raw["notes"] = _text(row.get("topics")), _text(row.get("notes"))
        raw["cell_id"] = _ref(self.db, row, "cell_code", "cells", errors)
        codes = [c for c in (_text(p) for p in _split(row.get("leaders_present"))) if c]
        reports = _split(row.get("reports_submitted_on"))
        if any(not is_blank(r) for r in reports[len(codes):]):
            errors.append(_field_error(number, FieldError("reports_submitted_on", "leaders_reports_mismatch")))
        leaders = [{"leader_id": _lookup(self.db, "leaders", code), "leader_code": code,
                    "report_submitted_on": reports[i] if i < len(reports) and not is_blank(reports[i]) else None}
                   for i, code in enumerate(codes)]
        new_id = meetings.create(self.db, self.actor, raw, leaders, today=self.today)
        self.meeting_rows[new_id] = number
        return new_id

    def _weaknesses(self, row: dict, errors: list[RowError]) -> int:
        raw = _plain(row, ("category", "noted_on", "severity", "status", "due_on", "resolved_on"))
        raw["description"], raw["resolution"] = _text(row.get("description")), _text(row.get("resolution"))
        raw["unit_id"] = _ref(self.db, row, "unit_code", "units", errors)
        raw["cell_id"] = _ref(self.db, row, "cell_code", "cells", errors)
        raw["noted_by"] = _ref(self.db, row, "noted_by", "leaders", errors)
        if raw.get("noted_on") is None:
            raw.pop("noted_on", None)  # the store dates it today
        return weaknesses.create(self.db, self.actor, raw, today=self.today)


class _RowRefused(Exception):
    pass


class _Rollback(Exception):
    pass


def _successors_first(rows: list[dict]) -> list[dict]:
    """Order rows so a unit or cell comes after the row of the successor it names (a merge into a new unit)."""
    index: dict[str, int] = {}
    for i, row in enumerate(rows):
        if (code := _text(row.get("code"))) is not None:
            index.setdefault(code, i)
    placed: set[int] = set()
    order: list[dict] = []
    for start in range(len(rows)):
        chain: list[int] = []
        i: int | None = start
        while i is not None and i not in placed and i not in chain:
            chain.append(i)
            successor = _text(rows[i].get("successor_code"))
            i = index.get(successor) if successor is not None else None
        for i in reversed(chain):
            placed.add(i)
            order.append(rows[i])
    return order


def _process(db: Database, kind: str, rows: list[dict], actor: Actor, today: date,
             progress: Callable[[int, int], Any] | None) -> tuple[list[int], list[RowError]]:
    errors: list[RowError] = []
    ids: list[int] = []
    try:
        if kind in ("units", "cells", "leaders", "assignments"):
            require_admin(db, actor)
    except PermissionDenied as exc:
        return [], [RowError(None, None, exc.message)]
    importer = _Importer(db, kind, actor, today)
    ordered = _successors_first(rows) if kind in ("units", "cells") else rows
    for done, row in enumerate(ordered, start=1):
        try:
            new_id, row_errors = importer.write(row)
        except PermissionDenied as exc:
            if exc.key != "out_of_scope":
                return [], [RowError(None, None, exc.message)]
            column = "cell_code" if kind == "meetings" else "unit_code"
            new_id, row_errors = None, [RowError(row["_row"], column, exc.message)]
        except sqlite3.Error as exc:
            new_id, row_errors = None, [_err(row["_row"], None, "database", detail=str(exc))]
        errors += row_errors
        if new_id is not None and not row_errors:
            ids.append(new_id)
        if progress is not None:
            progress(done, len(rows))
    order = {c: i for i, c in enumerate(COLUMNS[kind])}
    errors.sort(key=lambda e: (e.row or 0, order.get(e.field, len(order))))
    return ids, errors


def _import(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor, today: date | None,
            progress: Callable[[int, int], Any] | None, commit: bool) -> ImportResult:
    result = ImportResult(kind)
    try:
        result.rows = read_rows(kind, data, filename)
    except ImportFileError as exc:
        result.errors = exc.errors
        return result
    today = today or date.today()
    try:
        with dbm.write(path_or_db) as db:
            result.ids, result.errors = _process(db, kind, result.rows, actor, today, progress)
            if result.errors or not commit:
                raise _Rollback
    except _Rollback:
        pass
    result.count = 0 if result.errors else len(result.rows)
    result.written = commit and not result.errors
    if not result.written:
        result.ids = []
    return result


def preview(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor,
            today: date | None = None, progress: Callable[[int, int], Any] | None = None) -> ImportResult:
    """Read and validate every row in a transaction that is rolled back: nothing is written."""
    return _import(path_or_db, kind, data, filename, actor, today, progress, commit=False)


def run(path_or_db: Any, kind: str, data: bytes, filename: str, actor: Actor,
        today: date | None = None, progress: Callable[[int, int], Any] | None = None) -> ImportResult:
    """Validate and write every row in one transaction; on any error write nothing and return the errors."""
    return _import(path_or_db, kind, data, filename, actor, today, progress, commit=True)


# ---- templates and exports -----------------------------------------------------------

def _example(kind: str) -> dict[str, Any]:
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
        "assignments": {"leader_code": "LD01", "unit_code": "XA01", "decision_no": ex("decision_no"),
                        "decision_date": date(2025, 1, 2), "valid_from": date(2025, 1, 1),
                        "required_per_quarter": 1},
        "meetings": {"cell_code": "CB01", "held_on": date(2025, 3, 5), "mtype": label("mtype", "thuong_ky"),
                     "members_total": 30, "members_exempt": 2, "present": 25, "absent_excused": 2,
                     "absent_unexcused": 1, "duration_minutes": 120, "score": 85,
                     "rating": label("rating", "kha"), "leadership": "x", "education": "x", "combativeness": "",
                     "leaders_present": "LD01", "reports_submitted_on": "10/03/2025", "topics": ex("topics"),
                     "notes": ex("notes")},
        "weaknesses": {"unit_code": "XA01", "cell_code": "CB01", "category": label("category", "xay_dung_dang"),
                       "description": ex("description"), "noted_on": date(2025, 3, 5), "noted_by": "LD01",
                       "severity": label("severity", "medium"), "status": label("status", "open"),
                       "due_on": date(2025, 6, 30)},
    }[kind]


def _allowed(column: str) -> str:
    if column in ENUMS:
        return "; ".join(t(f"enum.{ENUMS[column].__name__}.{m.value}", "vi") for m in ENUMS[column])
    if column in DATE_COLUMNS:
        return t("import.hint.date", "vi")
    if column in BOOL_COLUMNS:
        return t("import.hint.bool", "vi")
    if column in INT_COLUMNS:
        return t("import.hint.int", "vi")
    if column in ("leaders_present", "reports_submitted_on", "unit_code", "cell_code", "leader_code",
                  "successor_code", "noted_by"):
        return t(f"import.hint.{column}", "vi")
    return ""


def template_xlsx(kind: str) -> bytes:
    """A workbook: sheet 'Mẫu' (Vietnamese headers and one example row) and sheet 'Cột' describing each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheet = wb.active
    sheet.title = t("import.template.sheet", "vi")
    columns = COLUMNS[kind]
    sheet.append([t(f"field.{c}", "vi") for c in columns])
    example = _example(kind)
    sheet.append([example.get(c) for c in columns])
    for index, column in enumerate(columns, start=1):
        sheet.cell(1, index).font = Font(bold=True)
        if column in DATE_COLUMNS:
            sheet.cell(2, index).number_format = "DD/MM/YYYY"
        letter = sheet.cell(1, index).column_letter
        sheet.column_dimensions[letter].width = max(14, len(t(f"field.{column}", "vi")) + 2)
    sheet.freeze_panes = "A2"
    info = wb.create_sheet(t("import.template.columns_sheet", "vi"))
    info.append([t(f"import.template.{h}", "vi") for h in ("column", "label_vi", "label_en", "required",
                                                           "allowed")])
    for column in columns:
        required = t("import.template.yes" if column in REQUIRED[kind] else "import.template.no", "vi")
        info.append([column, t(f"field.{column}", "vi"), t(f"field.{column}", "en"), required, _allowed(column)])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (24, 32, 32, 10, 70), strict=True):
        info.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


RECORDS_SQL = {
    "units": """
select u.code, u.name, u.kind, u.valid_from, u.valid_to, s.code as successor_code
from units u left join units s on s.id = u.successor_id
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
    "assignments": """
select l.code as leader_code, u.code as unit_code, c.code as cell_code, a.decision_no, a.decision_date,
       a.valid_from, a.valid_to, a.required_per_quarter
from assignments a join leaders l on l.id = a.leader_id join units u on u.id = a.unit_id
left join cells c on c.id = a.cell_id
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
    sheet.append([t(f"field.{c}", "vi") for c in COLUMNS[kind]])
    for row in rows:
        sheet.append(exports.text_row(sheet, [row.get(c) for c in COLUMNS[kind]]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
