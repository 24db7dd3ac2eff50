"""Meeting records: create, update, soft delete, restore, list; leaders present and their reports; attendance
marks by member.

Attendance marks (issue 12). A meeting is entered either by counts (members_total, members_exempt, present,
absent_excused, absent_unexcused typed) or by marks, one per member of the cell's roster on the meeting's day:
present, excused (vắng có lý do), unexcused (vắng không lý do) or exempt (miễn sinh hoạt). Decisions:
- Marks are used when the caller gives them (the meeting form and the import do whenever the cell has members
  that day); a cell with no members that day keeps the count entry, and so does a call that gives no marks
  (an older meeting of a cell whose members were entered later stays a count meeting until marked).
- Every member listed must be in the roster on held_on; a roster member left out is marked present, or exempt
  when exempt that day: so every roster member has a mark row.
- A member exempt that day may be marked present (came anyway) or exempt, never absent, and always counts as
  exempt: DESIGN leaves exempt members out of the attendance rate, so one who came is neither in the numerator
  nor the denominator. A member not exempt that day cannot be marked exempt (exemption is a decision recorded
  on the member, not a mark).
- The counts are derived from the marks and written on the meeting in the same transaction: members_total =
  roster size, members_exempt = exempt that day, present / absent_excused / absent_unexcused = the others'
  marks. Counts typed alongside marks that disagree are refused, field by field.
- Editing a marked meeting keeps its marks unless new ones are given; its counts follow them. Going back to
  counts is refused unless the marks are removed explicitly (update(..., clear_marks=True)).
- Marks are personal data: reading or writing them goes through members.require_cell. They are part of the
  meeting's audit entries and of its version; a soft-deleted meeting keeps them, and they count nowhere because
  the meeting does not.
"""

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit, checklist, members, store
from lib import db as dbm
from lib.domain import (
    MEETING_FIELDS,
    Actor,
    FieldError,
    MeetingType,
    ParseError,
    PermissionDenied,
    ValidationError,
    coerce,
    parse_date,
    rating_for_score,
    validate_leader_report,
    validate_meeting,
    with_rules,
)
from lib.settings import thresholds
from lib.users import require_admin, require_unit

CELL_SQL = "select id, unit_id, name, meeting_day, valid_from, valid_to from cells where id = ?"

DUPLICATE_SQL = """
select id from meetings
where cell_id = :cell_id and mtype = 'thuong_ky' and deleted_at is null
  and held_on >= :month_start and held_on < date(:month_start, '+1 month')
  and (:own_id is null or id != :own_id)
limit 1
"""


def _cell(db: Database, cell_id: int | None) -> dict | None:
    if cell_id is None:
        return None
    cur = db.execute(CELL_SQL, [cell_id])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def _clean_leaders(
    db: Database, leaders: Iterable[Mapping[str, Any]], held_on: date | None, today: date
) -> tuple[list[dict], list[FieldError]]:
    clean, errors, seen = [], [], set()
    for entry in leaders or ():
        leader_id = entry.get("leader_id")
        if leader_id is None or db.execute("select 1 from leaders where id = ?", [leader_id]).fetchone() is None:
            errors.append(FieldError("leaders_present", "unknown_code", value=entry.get("leader_code", leader_id)))
            continue
        if leader_id in seen:
            errors.append(FieldError("leaders_present", "duplicate_leader", value=entry.get("leader_code", leader_id)))
            continue
        seen.add(leader_id)
        try:
            submitted = parse_date(entry.get("report_submitted_on"))
        except ParseError as exc:
            errors.append(FieldError("report_submitted_on", exc.key, exc.params))
            continue
        errors += validate_leader_report(held_on, submitted, today)
        clean.append({"leader_id": leader_id, "report_submitted_on": submitted,
                      "remarks": (entry.get("remarks") or None)})
    return clean, errors


MARK_STATUSES = ("present", "excused", "unexcused", "exempt")
COUNT_FIELDS = ("members_total", "members_exempt", "present", "absent_excused", "absent_unexcused")
REASON_MAX = 300


def _normalise_marks(marks: Any) -> list[dict]:
    # Marks come as {member_id: status}, {member_id: {"status", "reason"}} or a list of such dicts with member_id.
    if isinstance(marks, Mapping):
        return [({"member_id": k, **v} if isinstance(v, Mapping) else {"member_id": k, "status": v})
                for k, v in marks.items()]
    return [dict(m) for m in marks]


def derive_counts(roster: Iterable[Mapping[str, Any]], marks: Mapping[int, str]) -> dict[str, int]:
    """The meeting's five counts from its roster (each with `exempt`) and its marks (member id -> status).

    An exempt member counts as exempt whatever the mark; a member without a mark is present.
    """
    counts = dict.fromkeys(COUNT_FIELDS, 0)
    for r in roster:
        counts["members_total"] += 1
        if r["exempt"]:
            counts["members_exempt"] += 1
            continue
        status = marks.get(r["id"], "present")
        counts[{"present": "present", "excused": "absent_excused", "unexcused": "absent_unexcused"}[status]] += 1
    return counts


def _check_marks(
    db: Database, clean: dict, marks: Any, typed: Iterable[str]
) -> tuple[list[dict] | None, list[FieldError]]:
    """Check marks against the cell's roster on held_on; derive the counts into clean (in place).

    Returns (the marks to write, one per roster member, or None for a count meeting; the errors). typed: the
    count fields the caller typed, which must agree with the marks.
    """
    if marks is None or clean.get("cell_id") is None or clean.get("held_on") is None:
        return None, []
    on = clean["held_on"].isoformat()
    roster = {r["id"]: r for r in members.roster(db, clean["cell_id"], on)}
    given = _normalise_marks(marks)
    if not roster and not given:
        return None, []  # a cell with no members that day: the count entry, as before
    errors: list[FieldError] = []
    by_member: dict[int, dict] = {}
    for entry in given:
        member_id = store.parse_id(entry.get("member_id"))
        label = entry.get("member_code") or entry.get("member_id")
        field = entry.get("field") or "marks"  # an import names its column
        if member_id is None or member_id not in roster:
            row = db.execute("select code, full_name from members where id = ?", [member_id]).fetchone() \
                if member_id is not None else None
            errors.append(FieldError(field, "member_not_in_cell",
                                     member=f"{row[1]} ({row[0]})" if row else label, day=clean["held_on"]
                                     .strftime("%d/%m/%Y")))
            continue
        member = roster[member_id]
        name = f"{member['full_name']} ({member['code']})"
        if member_id in by_member:
            errors.append(FieldError(field, "member_twice", member=name))
            continue
        status = entry.get("status") or "present"
        if status not in MARK_STATUSES:
            errors.append(FieldError(field, "bad_mark", member=name, value=status))
            continue
        if member["exempt"] and status in ("excused", "unexcused"):
            errors.append(FieldError(field, "exempt_member_absent", member=name))
            continue
        if not member["exempt"] and status == "exempt":
            errors.append(FieldError(field, "not_exempt_that_day", member=name))
            continue
        reason = entry.get("reason")
        reason = str(reason).strip() if reason is not None and str(reason).strip() else None
        if reason is not None and len(reason) > REASON_MAX:
            errors.append(FieldError(field, "reason_too_long", member=name, max=REASON_MAX))
            continue
        # A reason belongs to an absence; one left on a present mark (the clerk changed their mind) is dropped.
        by_member[member_id] = {"member_id": member_id, "status": status,
                                "reason": reason if status in ("excused", "unexcused") else None}
    if errors:
        # The counts still come from the roster (and the marks that were right), so that the refusal names the
        # marks, not counts the clerk was never asked for.
        if roster:
            clean.update(derive_counts(roster.values(), {k: v["status"] for k, v in by_member.items()}))
        return None, errors
    clean_marks = [by_member.get(mid) or {"member_id": mid, "status": "exempt" if r["exempt"] else "present",
                                          "reason": None}
                   for mid, r in roster.items()]
    derived = derive_counts(roster.values(), {m["member_id"]: m["status"] for m in clean_marks})
    for name in COUNT_FIELDS:
        if name in typed and clean.get(name) is not None and clean[name] != derived[name]:
            errors.append(FieldError(name, "count_disagrees_with_marks", typed=clean[name], derived=derived[name]))
    clean.update(derived)
    return clean_marks, errors


def check(
    db: Database,
    raw: Mapping[str, Any],
    leaders: Iterable[Mapping[str, Any]] = (),
    *,
    own_id: int | None = None,
    today: date | None = None,
    marks: Any = None,
    typed: Iterable[str] | None = None,
    lookups: dict | None = None,
) -> tuple[dict, list[dict], list[FieldError]]:
    """Parse and validate a meeting and its leaders; return the typed record, leaders and errors.

    marks (optional): the attendance marks (see the module's docstring); when the cell has members that day the
    counts are derived from them into the record, and the marks to write are in the record under "_marks".
    typed: the count fields the caller typed (default: those in raw that are not blank).
    lookups (optional): a dict kept by a caller checking many rows on one snapshot (the importer), in which the
    cell and the thresholds read here are kept for the next row.
    """
    today = today or date.today()
    clean, errors = coerce(raw, MEETING_FIELDS)
    clean.setdefault("members_exempt", 0)
    if clean.get("members_exempt") is None:
        clean["members_exempt"] = 0
    if lookups is None:
        cell = _cell(db, clean.get("cell_id"))
    else:
        key = ("cell", clean.get("cell_id"))
        if key not in lookups:
            lookups[key] = _cell(db, clean.get("cell_id"))
        cell = lookups[key]
    if clean.get("cell_id") is not None and cell is None:
        errors.append(FieldError("cell_id", "unknown_id"))
    if marks is not None and cell is not None:
        typed = set(typed) if typed is not None else {k for k in COUNT_FIELDS if raw.get(k) not in (None, "")}
        clean_marks, mark_errors = _check_marks(db, clean, marks, typed)
        errors += mark_errors
        if clean_marks is not None:
            clean["_marks"] = clean_marks
    if lookups is None:
        th = thresholds(db)
    else:
        if "thresholds" not in lookups:
            lookups["thresholds"] = thresholds(db)
        th = lookups["thresholds"]
    # Every rule runs even when some field failed to parse: a row lists all its problems at once
    # (a score of 180 is not held back until the date is fixed).
    errors = with_rules(errors, validate_meeting(clean, today=today, cell=cell, thresholds=th))
    if clean.get("score") is not None and clean.get("rating") is None and 0 <= clean["score"] <= 100:
        clean["rating"] = rating_for_score(clean["score"], th)
    # The month's duplicate can only be looked up with a known cell, day and type.
    settled = not {"cell_id", "held_on", "mtype"} & {e.field for e in errors}
    if settled and clean.get("cell_id") is not None and clean.get("held_on") is not None \
            and clean.get("mtype") == MeetingType.THUONG_KY:
        month_start = clean["held_on"].replace(day=1).isoformat()
        dup = db.execute(DUPLICATE_SQL, {"cell_id": clean["cell_id"], "month_start": month_start,
                                        "own_id": own_id}).fetchone()
        if dup:
            errors.append(FieldError("held_on", "duplicate_regular",
                                     {"month": clean["held_on"].strftime("%m/%Y"), "existing": dup[0]}))
    clean_leaders, leader_errors = _clean_leaders(db, leaders, clean.get("held_on"), today)
    return clean, clean_leaders, errors + leader_errors


def _write_leaders(db: Database, meeting_id: int, leaders: list[dict]) -> None:
    db.execute("delete from meeting_leaders where meeting_id = ?", [meeting_id])
    for entry in leaders:
        db["meeting_leaders"].insert(store.to_row({"meeting_id": meeting_id, **entry}))


def _write_marks(db: Database, meeting_id: int, marks: list[dict] | None) -> None:
    # None: a count meeting (no marks); the caller decides whether dropping existing marks is allowed.
    db.execute("delete from attendance_marks where meeting_id = ?", [meeting_id])
    db.conn.executemany(
        "insert into attendance_marks (meeting_id, member_id, status, reason) values (?, ?, ?, ?)",
        [(meeting_id, m["member_id"], m["status"], m["reason"]) for m in marks or ()])


def create(
    db: Database,
    actor: Actor,
    raw: Mapping[str, Any],
    leaders: Iterable[Mapping[str, Any]] = (),
    *,
    today: date | None = None,
    marks: Any = None,
) -> int:
    """Validate, scope-check and save a meeting with its leaders (and attendance marks); return its id."""
    with store.transaction(db):
        _lock_cell(db, raw.get("cell_id"))
        return _create(db, actor, raw, leaders, today=today, marks=marks)


def _lock_cell(db: Database, cell_id: Any) -> None:
    # PostgreSQL: saves into one cell queue on its row, so the check for a second regular meeting in the month sees
    # the first (SQLite's BEGIN IMMEDIATE queues every save). Lock order: a meeting's row first, then a cell's.
    row_id = store.parse_id(cell_id)
    if row_id is not None:
        dbm.lock(db, "cells", row_id)


def _create(db: Database, actor: Actor, raw: Mapping[str, Any], leaders: Iterable[Mapping[str, Any]], *,
            today: date | None, marks: Any) -> int:
    cell = _cell(db, raw.get("cell_id")) if isinstance(raw.get("cell_id"), int) else None
    if cell is not None:
        require_unit(db, actor, cell["unit_id"])
        if marks is not None:
            members.require_cell(db, actor, cell["id"])
    clean, clean_leaders, errors = check(db, raw, leaders, today=today, marks=marks)
    if errors:
        raise ValidationError(errors)
    if cell is None:
        require_unit(db, actor, _cell(db, clean["cell_id"])["unit_id"])
        if marks is not None:
            members.require_cell(db, actor, clean["cell_id"])
    clean_marks = clean.pop("_marks", None)
    now = audit.now_iso()
    row = store.to_row({**clean, "created_by": actor.username, "created_at": now, "updated_at": now})
    with db.atomic():
        db["meetings"].insert(row)
        meeting_id = db.execute("select last_insert_rowid()").fetchone()[0]
        _write_leaders(db, meeting_id, clean_leaders)
        _write_marks(db, meeting_id, clean_marks)
        audit.record(db, actor, "create", "meetings", meeting_id, None, get(db, meeting_id))
        checklist.save(db, actor, meeting_id, raw)  # the 12-HD / 42-HD checklist, if the save carries one
    return meeting_id


def update(
    db: Database,
    actor: Actor,
    meeting_id: int,
    changes: Mapping[str, Any],
    leaders: Iterable[Mapping[str, Any]] | None = None,
    *,
    today: date | None = None,
    version: str | None = None,
    marks: Any = None,
    clear_marks: bool = False,
) -> None:
    """Validate and save changes to a meeting (and optionally its leaders and marks), audited; refused if changed
    since. A marked meeting keeps its marks unless new ones are given; clear_marks=True makes it a count meeting."""
    # version: the meeting's version when the form loaded it (read()); if the meeting changed since, the
    # save is refused naming who changed it and when, and nothing is written. The check and the write are
    # one transaction holding the write lock (PostgreSQL: the meeting's row), so no other save can slip in between.
    with store.transaction(db, lock=("meetings", meeting_id)):
        before = get(db, meeting_id)
        require_unit(db, actor, before["unit_id"])
        had_marks = bool(before.get("marks"))
        if marks is not None or had_marks or clear_marks:
            members.require_cell(db, actor, before["cell_id"])
        _require_version(db, meeting_id, version, before)
        merged = {k: before[k] for k in MEETING_FIELDS} | dict(changes)
        _lock_cell(db, merged.get("cell_id"))  # the cell the meeting will be in: its month's duplicate is checked
        if leaders is None:
            leaders = before["leaders"]
        if clear_marks:
            marks = None
        elif marks is None and had_marks:
            # Kept as they are; the counts follow them (a changed day or cell is checked against its roster).
            marks = [{"member_id": m["member_id"], "status": m["status"], "reason": m["reason"]}
                     for m in before["marks"]]
        typed = {k for k in COUNT_FIELDS if k in changes and changes[k] not in (None, "")}
        clean, clean_leaders, errors = check(db, merged, leaders, own_id=meeting_id, today=today, marks=marks,
                                             typed=typed)
        if errors:
            raise ValidationError(errors)
        new_cell = _cell(db, clean["cell_id"])
        require_unit(db, actor, new_cell["unit_id"])
        if marks is not None:
            members.require_cell(db, actor, new_cell["id"])
        clean_marks = clean.pop("_marks", None)
        db["meetings"].update(meeting_id, store.to_row({**clean, "updated_at": audit.now_iso()}))
        _write_leaders(db, meeting_id, clean_leaders)
        if clean_marks is not None or clear_marks or had_marks:
            _write_marks(db, meeting_id, clean_marks)
        audit.record(db, actor, "update", "meetings", meeting_id, before, get(db, meeting_id))
        checklist.save(db, actor, meeting_id, changes)  # the checklist, if the save carries one


def delete(db: Database, actor: Actor, meeting_id: int, *, version: str | None = None) -> None:
    """Soft-delete a meeting (a clerk within scope, or an admin); refused if changed since version."""
    with store.transaction(db, lock=("meetings", meeting_id)):
        m = get(db, meeting_id)
        require_unit(db, actor, m["unit_id"])
        _require_version(db, meeting_id, version, m)
        store.soft_delete(db, actor, "meetings", meeting_id)


def restore(db: Database, actor: Actor, meeting_id: int) -> None:
    """Restore a soft-deleted meeting (admin only); refused if it would duplicate a regular meeting."""
    require_admin(db, actor)
    with store.transaction(db, lock=("meetings", meeting_id)):
        m = get(db, meeting_id)
        _lock_cell(db, m["cell_id"])
        _restore(db, actor, meeting_id, m)


def _restore(db: Database, actor: Actor, meeting_id: int, m: Mapping[str, Any]) -> None:
    if m["mtype"] == MeetingType.THUONG_KY:
        dup = db.execute(DUPLICATE_SQL, {"cell_id": m["cell_id"], "month_start": m["held_on"][:8] + "01",
                                        "own_id": meeting_id}).fetchone()
        if dup:
            raise ValidationError([FieldError("held_on", "duplicate_regular",
                                              {"month": m["held_on"][5:7] + "/" + m["held_on"][:4],
                                               "existing": dup[0]})])
    store.restore(db, actor, "meetings", meeting_id)


def report_version(meeting_id: int, leader_id: int, submitted_on: Any) -> str:
    """The version of one leader's report date on a meeting, as a form loaded it."""
    return store.fingerprint({"meeting_id": meeting_id, "leader_id": leader_id, "report_submitted_on": submitted_on})


def set_report(
    db: Database, actor: Actor, meeting_id: int, leader_id: int, submitted_on: Any, *, today: date | None = None,
    version: str | None = None,
) -> None:
    """Record (or clear) the date a leader's report on a meeting was received; refused if changed since version."""
    # version: report_version() of the date as the form showed it.
    with store.transaction(db, lock=("meetings", meeting_id)):
        m = get(db, meeting_id)
        require_unit(db, actor, m["unit_id"])
        before = next((e for e in m["leaders"] if e["leader_id"] == leader_id), None)
        if before is None:
            raise ValidationError([FieldError("leader_id", "unknown_id")])
        store.require_version(db, "meeting_leaders", f"{meeting_id}:{leader_id}", version,
                              {"report_submitted_on": before["report_submitted_on"]},
                              report_version(meeting_id, leader_id, before["report_submitted_on"]))
        try:
            day = parse_date(submitted_on)
        except ParseError as exc:
            raise ValidationError([FieldError("report_submitted_on", exc.key, exc.params)]) from None
        errors = validate_leader_report(date.fromisoformat(m["held_on"]), day, today or date.today())
        if errors:
            raise ValidationError(errors)
        db.execute(
            "update meeting_leaders set report_submitted_on = ? where meeting_id = ? and leader_id = ?",
            [day.isoformat() if day else None, meeting_id, leader_id],
        )
        after = dict(before, report_submitted_on=day.isoformat() if day else None)
        audit.record(db, actor, "update", "meeting_leaders", f"{meeting_id}:{leader_id}", before, after)


GET_SQL = """
select m.*, c.unit_id, c.code as cell_code, c.name as cell_name, c.meeting_day,
       u.code as unit_code, u.name as unit_name
from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
where m.id = ?
"""

LEADERS_SQL = """
select ml.leader_id, l.code as leader_code, l.full_name, l.position, l.grp,
       ml.report_submitted_on, ml.remarks
from meeting_leaders ml join leaders l on l.id = ml.leader_id
where ml.meeting_id = ? order by l.full_name
"""


MARKS_SQL = """
select am.member_id, mb.code as member_code, mb.full_name, am.status, am.reason
from attendance_marks am join members mb on mb.id = am.member_id
where am.meeting_id = ? order by mb.full_name, mb.code
"""


def get(db: Database, meeting_id: int) -> dict:
    """One meeting with its cell, unit, leaders present and (when it has any) attendance marks; no scope check."""
    if store.parse_id(meeting_id) is None:
        raise ValidationError([FieldError("id", "not_found")])
    with store.snapshot(db):
        cur = db.execute(GET_SQL, [meeting_id])
        row = cur.fetchone()
        if row is None:
            raise ValidationError([FieldError("id", "not_found")])
        m = dict(zip([d[0] for d in cur.description], row, strict=True))
        m["leaders"] = [dict(r) for r in db.query(LEADERS_SQL, [meeting_id])]
        marks = [dict(r) for r in db.query(MARKS_SQL, [meeting_id])]
        if marks:  # a count meeting reads (and is audited and versioned) exactly as before marks existed
            m["marks"] = marks
    return m


def meeting_version(db: Database, m: Mapping[str, Any]) -> str:
    """The version of a meeting as got: its own columns and its leaders' report dates and remarks."""
    own = {c.name: m.get(c.name) for c in db["meetings"].columns}
    parts = {"leaders": _leader_tuples(m.get("leaders", ()))}
    if m.get("marks"):
        parts["marks"] = _mark_tuples(m["marks"])
    return store.fingerprint({**own, **parts})


def _mark_tuples(entries: Iterable[Mapping[str, Any]]) -> list[tuple]:
    return sorted((e["member_id"], e["status"], e["reason"]) for e in entries)


def _leader_tuples(entries: Iterable[Mapping[str, Any]]) -> list[tuple]:
    return sorted((e["leader_id"], e["report_submitted_on"], e["remarks"]) for e in entries)


def _logged_as_now(db: Database, m: Mapping[str, Any]) -> Any:
    # Whether an audit entry (of the meeting, or of one leader's report date) left the meeting as it is now.
    def matches(logged_table: str, after: Mapping[str, Any]) -> bool:
        if logged_table == "meeting_leaders":
            now = next((e for e in m["leaders"] if e["leader_id"] == after.get("leader_id")), None)
            return now is not None and now["report_submitted_on"] == after.get("report_submitted_on")
        if "leaders" in after and _leader_tuples(after["leaders"]) != _leader_tuples(m["leaders"]):
            return False
        # an entry that carries the meeting's parts (leaders) carries its marks too; none there means none
        if "leaders" in after and _mark_tuples(after.get("marks") or ()) != _mark_tuples(m.get("marks") or ()):
            return False
        return store.same_columns(db, "meetings", after, m)
    return matches


def _require_version(db: Database, meeting_id: int, expected: str | None, m: Mapping[str, Any]) -> None:
    store.require_version(db, "meetings", meeting_id, expected, m, meeting_version(db, m),
                          part_table="meeting_leaders", matches=_logged_as_now(db, m))


def _stale(db: Database, meeting_id: int, m: Mapping[str, Any]) -> FieldError:
    return store.stale(db, "meetings", meeting_id, m, part_table="meeting_leaders", matches=_logged_as_now(db, m))


def read(db: Database, actor: Actor, meeting_id: Any) -> dict:
    """One meeting for viewing and editing, with its version; a clerk only reads meetings of their units."""
    # meeting_id may be user input (a ?id= text): anything but a valid id is 'not found'.
    row_id = store.parse_id(meeting_id)
    if row_id is None:
        raise ValidationError([FieldError("id", "not_found")])
    m = get(db, row_id)
    store.require_read(db, actor, m["unit_id"])
    version = meeting_version(db, m)
    if m.get("marks"):
        try:
            members.require_cell(db, actor, m["cell_id"])
        except PermissionDenied:
            # Someone who may read the meeting but not the cell's members (a viewer of other communes) sees
            # its counts, not who was absent.
            m = {**m, "marks": None, "marks_hidden": True}
    return {**m, "version": version}


def marks_of(db: Database, actor: Actor, meeting_id: Any) -> list[dict]:
    """A meeting's attendance marks (member, status, reason), by name; refused outside the reader's scope."""
    m = get(db, meeting_id)
    members.require_cell(db, actor, m["cell_id"])  # first: it refuses an anonymous reader too
    store.require_read(db, actor, m["unit_id"])
    return m.get("marks") or []


def changed_since(db: Database, meeting_id: int, loaded_version: str | None) -> FieldError | None:
    """The 'changed by X at T' notice when the meeting is no longer as its form loaded it, else None."""
    if loaded_version is None:
        return None
    m = get(db, meeting_id)
    return None if meeting_version(db, m) == loaded_version else _stale(db, meeting_id, m)


def report_changed_since(db: Database, meeting_id: int, leader_id: int,
                         loaded_version: str | None) -> FieldError | None:
    """The 'changed by X at T' notice when a leader's report date is no longer as loaded, else None."""
    if loaded_version is None:
        return None
    row = db.execute("select report_submitted_on from meeting_leaders where meeting_id = ? and leader_id = ?",
                     [meeting_id, leader_id]).fetchone()
    if row is not None and report_version(meeting_id, leader_id, row[0]) == loaded_version:
        return None
    return store.stale(db, "meeting_leaders", f"{meeting_id}:{leader_id}",
                       None if row is None else {"report_submitted_on": row[0]})


LIST_COLUMNS = """
select m.id, m.held_on, u.code as unit_code, u.name as unit_name, c.code as cell_code,
       c.name as cell_name, m.mtype, m.members_total, m.members_exempt, m.present,
       m.absent_excused, m.absent_unexcused, m.duration_minutes, m.score, m.rating,
       m.leadership, m.education, m.combativeness, m.topics, m.notes, m.created_by,
       m.updated_at, m.deleted_at,
       (select count(*) from meeting_leaders ml where ml.meeting_id = m.id) as leaders_present"""
LIST_FROM = """
from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
where """

# The test of each filter given, joined with "and": only the filters in use are in the statement, and live
# meetings are asked for as "deleted_at is null" in so many words, so that SQLite can read the period from the
# partial index of live meetings by day (newest first, stopping at the limit) instead of every row of the
# table, as it must for a test like "(:start is null or m.held_on >= :start)". Values are always parameters.
LIST_FILTERS = {
    "start": "m.held_on >= :start",
    "end": "m.held_on <= :end",
    "unit_id": "c.unit_id = :unit_id",
    "cell_id": "m.cell_id = :cell_id",
    "mtype": "m.mtype = :mtype",
    "rating": "m.rating = :rating",
    "text": "(m.topics like :text or m.notes like :text)",
    "scope": "c.unit_id in (select value from json_each(:scope))",
}

SORTS = {
    "held_on_desc": "m.held_on desc, m.id desc",
    "held_on": "m.held_on, m.id",
    "unit": "u.name, c.name, m.held_on desc",
    "attendance": "cast(m.present as real) / max(1, m.members_total - m.members_exempt), m.held_on desc",
    "score_desc": "m.score desc, m.held_on desc",
}


def _list_where(start: str | None = None, end: str | None = None, unit_id: int | None = None,
                cell_id: int | None = None, mtype: str | None = None, rating: str | None = None,
                text: str | None = None, unit_ids: Iterable[int] | None = None, deleted: bool = False,
                only_deleted: bool = False) -> tuple[str, dict[str, Any]]:
    import json

    params = {
        "start": start, "end": end, "unit_id": unit_id, "cell_id": cell_id, "mtype": mtype, "rating": rating,
        "text": f"%{text.strip()}%" if text and text.strip() else None,
        "scope": json.dumps(sorted(unit_ids)) if unit_ids is not None else None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    tests = [LIST_FILTERS[k] for k in params]
    if only_deleted:
        tests.insert(0, "m.deleted_at is not null")
    elif not deleted:
        tests.insert(0, "m.deleted_at is null")
    return " and ".join(tests) or "1", params


def list_meetings(
    db: Database,
    *,
    start: str | None = None,
    end: str | None = None,
    unit_id: int | None = None,
    cell_id: int | None = None,
    mtype: str | None = None,
    rating: str | None = None,
    text: str | None = None,
    unit_ids: Iterable[int] | None = None,
    deleted: bool = False,
    only_deleted: bool = False,
    sort: str = "held_on_desc",
    limit: int = 200,
    offset: int = 0,
) -> list[dict]:
    """Meeting rows for the records page, filtered and sorted in SQL."""
    where, params = _list_where(start, end, unit_id, cell_id, mtype, rating, text, unit_ids, deleted, only_deleted)
    sql = (LIST_COLUMNS + LIST_FROM + where + "\norder by " + SORTS.get(sort, SORTS["held_on_desc"])
           + "\nlimit :limit offset :offset")
    return [dict(r) for r in db.query(sql, {**params, "limit": limit, "offset": offset})]


def count_meetings(db: Database, **filters: Any) -> int:
    """How many meetings list_meetings would give with no limit (the records page shows the first ones).

    filters: list_meetings' keyword filters (start, end, unit_id, cell_id, mtype, rating, text, unit_ids, deleted,
    only_deleted); an unknown one is a TypeError, as it would be there.
    """
    where, params = _list_where(**filters)
    return db.execute("select count(*)" + LIST_FROM + where, params).fetchone()[0]


ATTENDANCES_SQL = """
select m.id as meeting_id, m.held_on, m.mtype, u.id as unit_id, u.code as unit_code, u.name as unit_name,
       c.name as cell_name, l.id as leader_id, l.code as leader_code, l.full_name, ml.report_submitted_on
from meeting_leaders ml
join meetings m on m.id = ml.meeting_id
join cells c on c.id = m.cell_id
join units u on u.id = c.unit_id
join leaders l on l.id = ml.leader_id
where m.deleted_at is null
  and (:unit_id is null or u.id = :unit_id)
  and (:unit_code is null or u.code = :unit_code)
  and (:leader_id is null or l.id = :leader_id)
  and (:start is null or m.held_on >= :start)
  and (:end is null or m.held_on <= :end)
  and (:scope is null or u.id in (select value from json_each(:scope)))
order by m.held_on desc, u.name, c.name, l.full_name
limit :limit
"""


def leader_attendances(
    db: Database,
    *,
    start: str | None = None,
    end: str | None = None,
    unit_id: int | None = None,
    unit_code: str | None = None,
    leader_id: int | None = None,
    unit_ids: Iterable[int] | None = None,
    limit: int = 2000,
) -> list[dict]:
    """Each (meeting, leader present) pair with its report date, newest first."""
    import json

    params = {"start": start, "end": end, "unit_id": unit_id, "unit_code": unit_code or None,
              "leader_id": leader_id, "scope": json.dumps(sorted(unit_ids)) if unit_ids is not None else None,
              "limit": limit}
    return [dict(r) for r in db.query(ATTENDANCES_SQL, params)]
