"""Helpers for the data-entry pages: choices in scope, form defaults, live checks, table frames (no streamlit)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlite_utils import Database

from lib import assignments, directory, meetings
from lib.domain import (
    ENUMS,
    MEETING_FIELDS,
    Actor,
    FieldError,
    ValidationError,
    coerce,
    meeting_warnings,
    scheduled_day,
)
from lib.i18n import t
from lib.settings import thresholds

# ---- choices in the user's scope -------------------------------------------------------

def units_in_scope(db: Database, actor: Actor) -> list[dict]:
    """The units a user may write for: all for an admin, the clerk's own otherwise; those still valid today first
    (a unit closed by a merger stays, for late entries, but is not the form's first choice)."""
    units = directory.list_units(db)
    units = units if actor.is_admin else [u for u in units if u["id"] in actor.unit_ids]
    iso = date.today().isoformat()
    return sorted(units, key=lambda u: bool(u["valid_to"] and u["valid_to"] < iso))


def cells_for_entry(db: Database, unit_id: int | None, today: date | None = None) -> list[dict]:
    """A unit's cells, those valid today first, then the closed ones (late entries still allowed)."""
    if unit_id is None:
        return []
    iso = (today or date.today()).isoformat()
    cells = directory.list_cells(db, unit_id)
    return sorted(cells, key=lambda c: (bool(c["valid_to"] and c["valid_to"] < iso), c["name"]))


def leaders_for_unit(db: Database, unit_id: int | None, keep: Iterable[int] = (),
                     today: date | None = None, cell_id: int | None = None) -> list[dict]:
    """Active leaders, those assigned on the day to the cell, then to the whole unit, first (flag 'assigned').

    Without a cell, an assignment to any cell of the unit counts; ids in keep are always included.
    """
    keep = set(keep)
    on = (today or date.today()).isoformat()
    rank: dict[int, int] = {}  # leader → 0 assigned to this cell, 1 to the whole unit
    for a in assignments.list_assignments(db, unit_id=unit_id, on=on) if unit_id else ():
        if cell_id is None or a["cell_id"] in (None, cell_id):
            here = 0 if cell_id is not None and a["cell_id"] == cell_id else 1
            rank[a["leader_id"]] = min(here, rank.get(a["leader_id"], here))
    rows = [dict(r, assigned=r["id"] in rank) for r in directory.list_leaders(db)
            if r["active"] or r["id"] in keep]
    return sorted(rows, key=lambda r: (rank.get(r["id"], 2), r["full_name"]))


def existing_regular(db: Database, cell_id: int | None, held_on: date | None, own_id: int | None = None) -> int | None:
    """The id of a live regular meeting of the cell in the month of held_on, if any."""
    if cell_id is None or held_on is None:
        return None
    row = db.execute(meetings.DUPLICATE_SQL, {"cell_id": cell_id, "month_start": held_on.replace(day=1).isoformat(),
                                              "own_id": own_id}).fetchone()
    return row[0] if row else None


def next_cell_to_record(db: Database, unit_id: int, saved_cell_id: int, held_on: date,
                        today: date | None = None) -> int | None:
    """After a save, the next cell of the unit (in form order) with no regular meeting in held_on's month."""
    cells = [c["id"] for c in cells_for_entry(db, unit_id, today)]
    if saved_cell_id not in cells:
        return None
    start = cells.index(saved_cell_id) + 1
    for cell_id in cells[start:] + cells[:start]:
        if existing_regular(db, cell_id, held_on) is None:
            return cell_id
    return None


# ---- first steps on an empty install --------------------------------------------------

FIRST_STEPS_SQL = """
select (select count(*) from units) as units, (select count(*) from cells) as cells,
       (select count(*) from leaders) as leaders, (select count(*) from assignments) as assignments,
       (select count(*) from users) as users
"""


@dataclass(frozen=True)
class FirstStep:
    """One step of setting up the directory: its locale key, the page that does it, and whether it is done."""

    key: str
    page: str
    done: bool


def first_steps(db: Database) -> list[FirstStep]:
    """The administrator's steps before the first meeting can be recorded, each with its page and state."""
    n = dict(zip(("units", "cells", "leaders", "assignments", "users"),
                 db.execute(FIRST_STEPS_SQL).fetchone(), strict=True))
    return [
        FirstStep("units", "pages/directory.py", n["units"] > 0),
        FirstStep("cells", "pages/directory.py", n["cells"] > 0),
        FirstStep("leaders", "pages/directory.py", n["leaders"] > 0),
        FirstStep("assignments", "pages/assignments.py", n["assignments"] > 0),
        FirstStep("users", "pages/users.py", n["users"] > 1),  # beyond the administrator made at setup
        FirstStep("import", "pages/import_data.py", n["units"] > 0 and n["cells"] > 0),
    ]


# ---- meeting form ----------------------------------------------------------------------

def default_held_on(meeting_day: int | None, today: date, previous_recorded: bool = False) -> date:
    """The cell's fixed day this month; if still ahead, last month's fixed day (or today if that one is recorded)."""
    if not meeting_day:
        return today
    this_month = today.replace(day=scheduled_day(meeting_day, today.year, today.month))
    if this_month <= today:
        return this_month
    if previous_recorded:
        return today
    prev = today.replace(day=1) - timedelta(days=1)
    return prev.replace(day=scheduled_day(meeting_day, prev.year, prev.month))


def previous_month_day(today: date) -> date:
    """A day in the month before today's (for the duplicate lookup behind default_held_on)."""
    return today.replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class CountCheck:
    """The live member-count check: required = total − exempt, given = present + excused + unexcused."""

    required: int | None
    given: int | None

    @property
    def complete(self) -> bool:
        return self.required is not None and self.given is not None

    @property
    def ok(self) -> bool:
        return self.complete and self.required == self.given


def count_check(total: Any, exempt: Any, present: Any, excused: Any, unexcused: Any) -> CountCheck:
    """Work out the required and the given counts from what is typed so far (None where incomplete)."""
    nums = [_int_or_none(v) for v in (total, exempt, present, excused, unexcused)]
    total_n, exempt_n = nums[0], nums[1] or 0
    required = total_n - exempt_n if total_n is not None else None
    parts = nums[2:]
    given = sum(parts) if None not in parts else None
    return CountCheck(required, given)


def attendance_rate(present: Any, required: int | None) -> float | None:
    """present / required, or None without a positive requirement."""
    present_n = _int_or_none(present)
    if present_n is None or not required or required <= 0:
        return None
    return present_n / required


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def live_warnings(db: Database, raw: Mapping[str, Any], meeting_day: int | None,
                  leaders: Iterable[Any] = ()) -> list[FieldError]:
    """The non-blocking warnings (off day, short, low attendance, many leaders) for what the form holds now."""
    clean, errors = coerce(raw, MEETING_FIELDS)
    # The leaders' count is worth a warning even while another field is still being typed.
    return meeting_warnings({} if errors else clean, meeting_day=meeting_day, thresholds=thresholds(db),
                            leaders=len(list(leaders)))


def expected_rating(db: Database, score: Any) -> str | None:
    """The rating label the score earns under the thresholds, or None."""
    from lib.domain import rating_for_score

    score_n = _int_or_none(score)
    if score_n is None or not 0 <= score_n <= 100:
        return None
    return rating_for_score(score_n, thresholds(db)).label


def leaders_payload(selected: Iterable[int], report_dates: Mapping[int, Any]) -> list[dict]:
    """The leaders-present list lib.meetings expects from the chosen ids and their report dates."""
    return [{"leader_id": lid, "report_submitted_on": report_dates.get(lid)} for lid in selected]


# ---- leader reports --------------------------------------------------------------------

REPORT_STATES = ("on_time", "late", "missing", "waiting")


def report_state(held_on: str | date, submitted_on: str | date | None, today: date, report_days: int) -> str:
    """on_time / late (received after report_days) / missing (none and the time is up) / waiting."""
    held = date.fromisoformat(held_on) if isinstance(held_on, str) else held_on
    if submitted_on:
        sub = date.fromisoformat(submitted_on) if isinstance(submitted_on, str) else submitted_on
        return "late" if (sub - held).days > report_days else "on_time"
    return "missing" if (today - held).days > report_days else "waiting"


def leader_reports(db: Database, actor: Actor, *, unit_id: int | None = None, leader_id: int | None = None,
                   start: str | None = None, end: str | None = None, state: str | None = None,
                   today: date | None = None, limit: int = 2000) -> list[dict]:
    """Each leader attendance in scope with its written-report state and days until received."""
    today = today or date.today()
    days = thresholds(db).report_days
    rows = []
    found = meetings.leader_attendances(db, unit_id=unit_id, leader_id=leader_id, start=start, end=end,
                                        unit_ids=None if actor.is_admin else actor.unit_ids, limit=limit)
    for r in found:
        r["state"] = report_state(r["held_on"], r["report_submitted_on"], today, days)
        sub = r["report_submitted_on"]
        r["days"] = (date.fromisoformat(sub) - date.fromisoformat(r["held_on"])).days if sub else None
        if state is None or r["state"] == state:
            rows.append(r)
    return rows


# ---- assignments decided together ------------------------------------------------------

class LineError(FieldError):
    """A field error on one numbered line of a multi-line form."""

    __slots__ = ("line",)

    def __init__(self, line: int, error: FieldError):
        super().__init__(error.field, error.key, error.params)
        self.line = line

    def __str__(self) -> str:
        return f"{t('page.assign.line')} {self.line} — {super().__str__()}"


def create_assignments(db: Database, actor: Actor, decision_no: Any, decision_date: Any,
                       lines: list[Mapping[str, Any]], *, today: date | None = None) -> list[int]:
    """Save every line of one decision (all or nothing); errors name the line and the field."""
    if not lines:
        raise ValidationError([FieldError("leader_id", "required")])
    errors: list[FieldError] = []
    ids = []
    for number, line in enumerate(lines, start=1):
        raw = {**line, "decision_no": decision_no, "decision_date": decision_date}
        if raw.get("valid_from") is None:
            raw["valid_from"] = decision_date  # a decision usually takes effect the day it is signed
        try:
            with db.atomic():
                ids.append(assignments.create(db, actor, raw, today=today))
        except ValidationError as exc:
            errors += [LineError(number, e) for e in exc.errors]
    if errors:
        raise ValidationError(errors)
    return ids


# ---- tables for display ----------------------------------------------------------------

DATE_COLUMNS = {"held_on", "valid_from", "valid_to", "decision_date", "noted_on", "due_on", "resolved_on",
                "report_submitted_on", "deleted_at"}


def frame(rows: list[Mapping[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    """Rows as a display table: chosen columns, translated headers, dd/mm/yyyy dates, enum labels, blanks as ."""
    data = []
    for row in rows:
        out = {}
        for name, header in columns.items():
            value = row.get(name)
            if name in DATE_COLUMNS and value:
                value = date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
            elif name in ENUMS and value:
                try:
                    value = ENUMS[name](value).label
                except ValueError:
                    pass
            out[header] = "" if value is None else value  # blank, not "None", in an empty cell
        data.append(out)
    return pd.DataFrame(data, columns=list(columns.values()))


def headers(*names: str, **overrides: str) -> dict[str, str]:
    """Column name → translated header (field.<name> unless overridden)."""
    return {n: overrides.get(n, t(f"field.{n}")) for n in names}


def date_label(value: Any) -> str:
    """A date as dd/mm/yyyy ('' when blank)."""
    if not value:
        return ""
    d = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return d.strftime("%d/%m/%Y")


def meeting_label(m: Mapping[str, Any]) -> str:
    """'No. 12 — 05/03/2025 — Chi bộ ấp X (Thường kỳ)' for pick lists."""
    from lib.domain import MeetingType

    return t("page.records.pick_label", id=m["id"], day=date_label(m["held_on"]), cell=m.get("cell_name", ""),
             mtype=MeetingType(m["mtype"]).label)


MEETING_DEFAULTS: dict[str, Any] = {
    "mtype": "thuong_ky", "members_total": None, "members_exempt": 0, "present": None, "absent_excused": 0,
    "absent_unexcused": 0, "duration_minutes": None, "score": None, "rating": None, "leadership": False,
    "education": False, "combativeness": False, "topics": "", "notes": "", "leaders": [],
}


def meeting_state(m: Mapping[str, Any]) -> dict[str, Any]:
    """A stored meeting as the meeting form's widget values (dates as dates, flags as booleans)."""
    state = {name: m.get(name) for name in MEETING_DEFAULTS}
    state.update(unit=m["unit_id"], cell=m["cell_id"], date_for=m["cell_id"],
                 held_on=date.fromisoformat(m["held_on"]), topics=m.get("topics") or "",
                 notes=m.get("notes") or "", leaders=[e["leader_id"] for e in m.get("leaders", [])])
    for name in ("leadership", "education", "combativeness"):
        state[name] = bool(m.get(name))
    for entry in m.get("leaders", []):
        sub = entry.get("report_submitted_on")
        state[f"report_{entry['leader_id']}"] = date.fromisoformat(sub) if sub else None
    return state


def widget_values(record: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as widget values for the fields in spec: ISO text → date, 0/1 → bool, text blanks → ''."""
    values = {}
    for name, kind in spec.items():
        value = record.get(name)
        if kind == "date":
            value = date.fromisoformat(value[:10]) if value else None
        elif kind == "bool":
            value = bool(value)
        elif kind in ("str", "text"):
            value = value or ""
        values[name] = value
    return values


def import_file(path: Any, actor: Actor, kind: str, data: bytes, filename: str, progress: Any = None) -> Any:
    """Import a file into the database at path: checked with no write lock, written all or none in one go.

    Given a path, not a Database in a write transaction: lib.importer.run opens its own
    snapshot to check and its own short transaction to write.
    """
    from lib import importer

    return importer.run(path, kind, data, filename, actor, progress=progress)


def import_template(path: Any, actor: Actor, kind: str) -> bytes:
    """The XLSX template of a kind with the user's own units, cells and leaders in its lookup sheet.

    Given a path, as it is built when the button is clicked, on a thread of its own with its own connection.
    """
    from lib import db as dbm
    from lib import importer

    with dbm.read(path) as db:
        return importer.template_xlsx(kind, db, actor)


def import_kinds(actor: Actor) -> tuple[str, ...]:
    """The kinds a user may import: everything for an admin; meetings, weaknesses and members for a clerk."""
    from lib import importer

    return importer.KINDS if actor.is_admin else ("meetings", "weaknesses", "members")


def weaknesses_in_scope(db: Database, actor: Actor, **filters: Any) -> list[dict]:
    """Weaknesses (lib.weaknesses.list_weaknesses) limited to a clerk's units."""
    from lib import weaknesses

    if actor.is_admin:
        return weaknesses.list_weaknesses(db, **filters)
    wanted = filters.pop("unit_id", None)
    units = [u for u in sorted(actor.unit_ids) if wanted is None or u == wanted]
    rows = [r for u in units for r in weaknesses.list_weaknesses(db, unit_id=u, **filters)]
    # The same order as one query over all units: overdue first, then by due date, newest noted first.
    rows.sort(key=lambda r: r["noted_on"] or "", reverse=True)
    rows.sort(key=lambda r: (-r["overdue"], r["due_on"] is None, r["due_on"] or ""))
    return rows


def meetings_in_scope(db: Database, actor: Actor, limit: int = 300) -> list[dict]:
    """The latest live meetings in the user's scope (for pick lists)."""
    return meetings.list_meetings(db, unit_ids=None if actor.is_admin else actor.unit_ids, limit=limit)


def assignment_status(row: Mapping[str, Any], today: date) -> str:
    """current / ended / future for an assignment on a day."""
    iso = today.isoformat()
    if row["valid_from"] and row["valid_from"] > iso:
        return "future"
    if row["valid_to"] and row["valid_to"] < iso:
        return "ended"
    return "current"


def next_status(status: str) -> str:
    """The usual next step of a weakness: open → in progress → resolved (resolved stays)."""
    order = ("open", "in_progress", "resolved")
    return order[min(order.index(status) + 1, len(order) - 1)] if status in order else "open"


# ---- marks: attendance by member on the meeting form ----------------------------------------------

MARK_CHOICES = ("present", "excused", "unexcused")


def roster_for_entry(db: Database, actor: Actor, cell_id: int | None, held_on: date | None) -> list[dict]:
    """The cell's members on the meeting's day for the form's attendance list; [] when there are none, or when
    the user may not read them (then the form keeps the count entry)."""
    from lib import members
    from lib.domain import PermissionDenied

    if cell_id is None or held_on is None:
        return []
    try:
        members.require_cell(db, actor, cell_id)
    except PermissionDenied:
        return []
    return members.roster(db, cell_id, held_on.isoformat())


def marks_rows(roster: Iterable[Mapping[str, Any]], loaded: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """The rows of the form's attendance table for members not exempt: name, code, mark and reason, as loaded
    (editing a meeting) or present (a new one)."""
    before = {m["member_id"]: m for m in loaded or ()}
    rows = []
    for r in roster:
        if r["exempt"]:
            continue
        mark = before.get(r["id"], {})
        status = mark.get("status") if mark.get("status") in MARK_CHOICES else "present"
        rows.append({"member_id": r["id"], "full_name": r["full_name"], "code": r["code"],
                     "status": t(f"page.record.mark_{status}"), "reason": mark.get("reason") or ""})
    return rows


def marks_payload(rows: Iterable[Mapping[str, Any]], exempt_ids: Iterable[int], came: Iterable[int]) -> list[dict]:
    """The marks to save from the form's table rows (status as shown) and its exempt members (those who came
    anyway marked present)."""
    by_label = {t(f"page.record.mark_{s}"): s for s in MARK_CHOICES}
    came = set(came)
    def reason(value: Any) -> str | None:
        return None if value is None or pd.isna(value) else (str(value).strip() or None)

    marks = [{"member_id": int(r["member_id"]), "status": by_label.get(r["status"], "present"),
              "reason": reason(r.get("reason"))} for r in rows]
    return marks + [{"member_id": i, "status": "present" if i in came else "exempt", "reason": None}
                    for i in exempt_ids]
