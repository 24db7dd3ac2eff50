"""Party members per cell over time, and who of them a meeting lists.

A member (card number, name, probationary from admitted_on, official from official_on) belongs to one cell at a
time (member_cells, validity dates, a transfer closes one row and opens the next) and may be exempt from meetings
for a while (member_exemptions). A meeting of a cell lists the members in the cell on its day; exempt ones are
listed apart and stay outside the attendance denominator.
"""

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlite_utils import Database

from lib import audit, org, store, users
from lib import db as dbm
from lib.domain import (
    Actor,
    FieldError,
    PermissionDenied,
    Role,
    ValidationError,
    coerce,
    fmt_date,
    validate_validity,
    with_rules,
)

ROSTER_SQL = """
SELECT m.id, m.code, m.full_name, m.admitted_on, m.official_on,
       EXISTS (SELECT 1 FROM member_exemptions e
               WHERE e.member_id = m.id AND e.valid_from <= :on
                 AND (e.valid_to IS NULL OR e.valid_to >= :on)) AS exempt
FROM member_cells mc JOIN members m ON m.id = mc.member_id
WHERE mc.cell_id = :cell_id
  AND (mc.valid_from IS NULL OR mc.valid_from <= :on)
  AND (mc.valid_to IS NULL OR mc.valid_to >= :on)
ORDER BY m.full_name, m.code
"""


def roster(db: Database, cell_id: int, on: str) -> list[dict[str, Any]]:
    """The members in a cell on a day (ISO date), by name, each with `exempt` true when exempt that day.

    No scope check: callers that show names to a user go through the scoped readers.
    """
    return [
        {**dict(r), "exempt": bool(r["exempt"]),
         "probationary": not r["official_on"] or r["official_on"] > on}
        for r in db.query(ROSTER_SQL, {"cell_id": cell_id, "on": on})
    ]


def readable_cell_ids(db: Database, actor: Actor | None) -> frozenset[int] | None:
    """The cells whose members a user may read: None for every cell (an administrator, a viewer given no units),
    else the cells under their units' subtrees (a clerk with no unit: none). Anonymous: refused."""
    if actor is None:
        raise PermissionDenied("members_out_of_scope")
    codes = org.scope_codes(db, actor)
    if codes is None:
        return None
    if not codes:
        return frozenset()
    units = org.subtree_ids(db, [r[0] for r in db.execute(
        "SELECT id FROM units WHERE code IN (SELECT value FROM json_each(?))", [json.dumps(list(codes))])])
    return frozenset(r[0] for r in db.execute(
        "SELECT id FROM cells WHERE unit_id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(units))]))


def require_cell(db: Database, actor: Actor | None, cell_id: int) -> None:
    """Refuse (PermissionDenied) a read or write of a cell's members by a user whose scope does not cover it."""
    cells = readable_cell_ids(db, actor)
    if cells is not None and cell_id not in cells:
        raise PermissionDenied("members_out_of_scope")


# ---- who may write ---------------------------------------------------------------------------

def _writer(db: Database, actor: Actor | None, cell_id: int) -> Actor:
    """The user, fresh from the database, if they may change the members of this cell: admin, or a clerk in scope."""
    if actor is None:
        raise PermissionDenied("members_out_of_scope")
    fresh = users.fresh_actor(db, actor)  # in a write, the author's row is held until the commit
    if fresh.role not in (Role.ADMIN, Role.CLERK):
        raise PermissionDenied("read_only")
    require_cell(db, fresh, cell_id)
    return fresh


def _both_cells(db: Database, actor: Actor | None, from_cell: int | None, to_cell: int) -> Actor:
    """A transfer needs scope over the cell the member leaves and the one they join (or an administrator)."""
    fresh = _writer(db, actor, to_cell)
    if from_cell is not None and from_cell != to_cell:
        try:
            require_cell(db, fresh, from_cell)
        except PermissionDenied:
            raise PermissionDenied("members_transfer_out_of_scope") from None
    return fresh


# ---- checks --------------------------------------------------------------------------------

FIELDS = {"code": "str", "full_name": "str", "admitted_on": "date", "official_on": "date", "notes": "str"}
EXEMPTION_FIELDS = {"valid_from": "date", "valid_to": "date", "reason": "str", "decision_no": "str"}


def _day(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _check_member(db: Database, raw: Mapping[str, Any], own_id: int | None = None) -> dict:
    """The member's own fields typed and checked: code and name required, code unique, official on/after admitted."""
    clean, errors = coerce(raw, FIELDS)
    rules = [FieldError(n, "required") for n in ("code", "full_name", "admitted_on") if clean.get(n) is None]
    admitted, official = clean.get("admitted_on"), clean.get("official_on")
    if admitted and official and official < admitted:
        rules.append(FieldError("official_on", "official_before_admitted"))
    code = clean.get("code")
    if code is not None:
        found = db.execute("SELECT id FROM members WHERE code = ?", [code]).fetchone()
        if found is not None and found[0] != own_id:
            rules.append(FieldError("code", "duplicate_code", value=code))
    errors = with_rules(errors, rules)
    if errors:
        raise ValidationError(errors)
    return clean


def _cell_row(db: Database, cell_id: Any, field: str = "cell_id") -> dict:
    found = next(iter(db.query("SELECT id, code, name, unit_id FROM cells WHERE id = ?", [cell_id])), None) \
        if isinstance(cell_id, int) else None
    if found is None:
        raise ValidationError([FieldError(field, "required" if cell_id is None else "unknown_id")])
    return dict(found)


def memberships(db: Database, member_id: int) -> list[dict]:
    """A member's cells over time, oldest first, with the cell's code and name (no scope check)."""
    return [dict(r) for r in db.query(
        "SELECT mc.*, c.code AS cell_code, c.name AS cell_name, c.unit_id FROM member_cells mc "
        "JOIN cells c ON c.id = mc.cell_id WHERE mc.member_id = ? "
        "ORDER BY coalesce(mc.valid_from, ''), mc.id", [member_id])]


def _latest(rows: list[dict]) -> dict | None:
    # The membership that decides who may see and change the member: the open one, else the last one.
    open_rows = [r for r in rows if r["valid_to"] is None]
    return open_rows[-1] if open_rows else (rows[-1] if rows else None)


def _overlaps(a_from: str | None, a_to: str | None, b_from: str | None, b_to: str | None) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and (b_to is None or a_from is None or a_from <= b_to)


def _check_new_membership(rows: list[dict], valid_from: str | None, field: str, skip: int | None = None) -> None:
    # Memberships of one member never overlap: on any day a member is in one cell at most.
    for r in rows:
        if r["id"] != skip and _overlaps(r["valid_from"], r["valid_to"], valid_from, None):
            raise ValidationError([FieldError(field, "membership_overlap", cell=r["cell_name"],
                                              since=fmt_date(r["valid_from"]) or "…",
                                              until=fmt_date(r["valid_to"]) or "…")])


def _member_row(db: Database, member_id: Any) -> dict:
    return store.get(db, "members", member_id)


def _scope_cell(db: Database, member_id: int) -> int:
    latest = _latest(memberships(db, member_id))
    if latest is None:
        raise ValidationError([FieldError("cell_id", "no_membership")])
    return latest["cell_id"]


# ---- writes --------------------------------------------------------------------------------

def hold(db: Database, member_id: Any, code: Any = None) -> None:
    """Hold a member against concurrent writers until the transaction ends (PostgreSQL; SQLite's write lock holds
    everything): a card number about to be taken, then the member's row, whose cells over time and exemptions are
    checked for overlaps before one is written."""
    code = str(code or "").strip()
    if code:
        dbm.lock_name(db, "members.code", code)
    row_id = store.parse_id(member_id)
    if row_id is not None:
        dbm.lock(db, "members", row_id)


def create(db: Database, actor: Actor | None, raw: Mapping[str, Any], cell_id: int,
           joined_on: Any = None, note: str | None = None) -> int:
    """Add a member (card number, name, dates) to a cell from joined_on (blank: since always); return the id."""
    with store.transaction(db):
        hold(db, None, raw.get("code"))
        cell = _cell_row(db, cell_id)
        fresh = _writer(db, actor, cell["id"])
        clean = _check_member(db, raw)
        since, errors = coerce({"joined_on": joined_on}, {"joined_on": "date"})
        if errors:
            raise ValidationError(errors)
        member_id = store.insert(db, fresh, "members", {**clean, "created_at": audit.now_iso()})
        store.insert(db, fresh, "member_cells", {"member_id": member_id, "cell_id": cell["id"],
                                                 "valid_from": since.get("joined_on"), "valid_to": None,
                                                 "note": note})
        return member_id


def update(db: Database, actor: Actor | None, member_id: int, changes: Mapping[str, Any],
           *, version: str | None = None) -> dict:
    """Edit a member's card number, name or dates; refused if changed since version (version_of)."""
    with store.transaction(db):
        hold(db, member_id, changes.get("code"))
        before = _member_row(db, member_id)
        fresh = _writer(db, actor, _scope_cell(db, member_id))
        store.require_version(db, "members", member_id, version, before)
        clean = _check_member(db, {k: before[k] for k in FIELDS} | dict(changes), own_id=member_id)
        return store.update(db, fresh, "members", member_id, clean)


def version_of(db: Database, row: Mapping[str, Any]) -> str:
    """The version of a member row as read, for the edit form to carry."""
    return store.row_version(db, "members", row)


def _required_day(value: Any, field: str) -> date:
    """A required date typed in a field (refused by that field when blank or unreadable)."""
    day, errors = coerce({field: value}, {field: "date"})
    if not errors and day.get(field) is None:
        errors = [FieldError(field, "required")]
    if errors:
        raise ValidationError(errors)
    return day[field]


def transfer(db: Database, actor: Actor | None, member_id: int, cell_id: int, on: Any,
             note: str | None = None) -> int:
    """Move a member to another cell from a day: their open membership ends the day before, history kept.

    A clerk needs scope over both cells (a transfer between two communes is done by an administrator or a user
    covering both). A member with no open membership joins the cell from that day. Returns the new membership id.
    """
    with store.transaction(db):
        hold(db, member_id)
        _member_row(db, member_id)
        start = _required_day(on, "valid_from")
        cell = _cell_row(db, cell_id)
        rows = memberships(db, member_id)
        current = next((r for r in rows if r["valid_to"] is None or r["valid_to"] >= start.isoformat()), None)
        fresh = _both_cells(db, actor, current["cell_id"] if current else None, cell["id"])
        if current is not None and current["valid_to"] is None:
            if current["cell_id"] == cell["id"]:
                raise ValidationError([FieldError("cell_id", "same_cell")])
            if current["valid_from"] is not None and current["valid_from"] >= start.isoformat():
                raise ValidationError([FieldError("valid_from", "transfer_before_joined",
                                                  since=fmt_date(current["valid_from"]))])
            store.update(db, fresh, "member_cells", current["id"],
                         {"valid_to": (start - timedelta(days=1)).isoformat()})
            rows = memberships(db, member_id)
        _check_new_membership(rows, start.isoformat(), "valid_from")
        return store.insert(db, fresh, "member_cells", {"member_id": member_id, "cell_id": cell["id"],
                                                        "valid_from": start, "valid_to": None, "note": note})


def end_membership(db: Database, actor: Actor | None, member_id: int, last_day: Any, note: str | None = None) -> dict:
    """End a member's open membership on last_day (left the cell or the Party), with a note; history kept."""
    with store.transaction(db):
        hold(db, member_id)
        _member_row(db, member_id)
        day = {"valid_to": _required_day(last_day, "valid_to")}
        current = next((r for r in memberships(db, member_id) if r["valid_to"] is None), None)
        if current is None:
            raise ValidationError([FieldError("valid_to", "no_open_membership")])
        fresh = _writer(db, actor, current["cell_id"])
        if current["valid_from"] and day["valid_to"].isoformat() < current["valid_from"]:
            raise ValidationError([FieldError("valid_to", "to_before_from")])
        changes = {"valid_to": day["valid_to"]}
        if note and note.strip():
            changes["note"] = note.strip()
        return store.update(db, fresh, "member_cells", current["id"], changes)


def exemptions(db: Database, member_id: int) -> list[dict]:
    """A member's exemptions from meetings (miễn sinh hoạt), oldest first (no scope check)."""
    return [dict(r) for r in db.query("SELECT * FROM member_exemptions WHERE member_id = ? "
                                      "ORDER BY valid_from, id", [member_id])]


def _check_exemption(db: Database, member_id: int, raw: Mapping[str, Any], skip: int | None = None) -> dict:
    clean, errors = coerce(raw, EXEMPTION_FIELDS)
    rules = [FieldError(n, "required") for n in ("valid_from", "reason") if clean.get(n) is None]
    rules += validate_validity(clean.get("valid_from"), clean.get("valid_to"))
    errors = with_rules(errors, rules)
    if not errors:
        start, end = clean["valid_from"].isoformat(), _day(clean.get("valid_to"))
        for e in exemptions(db, member_id):
            if e["id"] != skip and _overlaps(e["valid_from"], e["valid_to"], start, end):
                errors.append(FieldError("valid_from", "exemption_overlap", since=fmt_date(e["valid_from"]),
                                         until=fmt_date(e["valid_to"]) or "…"))
                break
    if errors:
        raise ValidationError(errors)
    return clean


def exempt(db: Database, actor: Actor | None, member_id: int, raw: Mapping[str, Any]) -> int:
    """Exempt a member from meetings from/to (blank: open) with reason and decision number; no overlaps."""
    with store.transaction(db):
        hold(db, member_id)
        _member_row(db, member_id)
        fresh = _writer(db, actor, _scope_cell(db, member_id))
        clean = _check_exemption(db, member_id, raw)
        return store.insert(db, fresh, "member_exemptions", {"member_id": member_id, **clean})


def update_exemption(db: Database, actor: Actor | None, exemption_id: int, changes: Mapping[str, Any]) -> dict:
    """Change an exemption (e.g. end it on a day); still no overlap with the member's others."""
    with store.transaction(db):
        hold(db, store.get(db, "member_exemptions", exemption_id)["member_id"])
        before = store.get(db, "member_exemptions", exemption_id)  # as it is now that its member is held
        fresh = _writer(db, actor, _scope_cell(db, before["member_id"]))
        clean = _check_exemption(db, before["member_id"], {k: before[k] for k in EXEMPTION_FIELDS} | dict(changes),
                                 skip=exemption_id)
        return store.update(db, fresh, "member_exemptions", exemption_id, clean)


# ---- scoped reads ----------------------------------------------------------------------------

def members_on(db: Database, actor: Actor | None, cell_id: int, on: str) -> list[dict]:
    """A cell's members on a day (roster) with since when, the exemption of that day; scope checked."""
    require_cell(db, actor, cell_id)
    rows = roster(db, cell_id, on)
    ids = json.dumps([r["id"] for r in rows])
    since = {r[0]: r[1] for r in db.execute(
        "SELECT member_id, valid_from FROM member_cells WHERE cell_id = ? AND member_id IN "
        "(SELECT value FROM json_each(?)) AND (valid_from IS NULL OR valid_from <= ?) "
        "AND (valid_to IS NULL OR valid_to >= ?)", [cell_id, ids, on, on])}
    exempt_rows = {r["member_id"]: dict(r) for r in db.query(
        "SELECT * FROM member_exemptions WHERE member_id IN (SELECT value FROM json_each(?)) "
        "AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)", [ids, on, on])}
    out = []
    for r in rows:
        e = exempt_rows.get(r["id"], {})
        out.append({**r, "since": since.get(r["id"]), "exempt_from": e.get("valid_from"),
                    "exempt_to": e.get("valid_to"), "exempt_reason": e.get("reason"),
                    "exempt_decision": e.get("decision_no")})
    return out


PERIOD_SQL = """
SELECT m.*, mc.id AS membership_id, mc.valid_from, mc.valid_to, mc.note
FROM member_cells mc JOIN members m ON m.id = mc.member_id
WHERE mc.cell_id = :cell_id
  AND (mc.valid_from IS NULL OR mc.valid_from <= :end)
  AND (mc.valid_to IS NULL OR mc.valid_to >= :start)
ORDER BY m.full_name, m.code, coalesce(mc.valid_from, '')
"""


def members_between(db: Database, actor: Actor | None, cell_id: int, start: str, end: str) -> list[dict]:
    """Everyone in a cell at some time in [start, end], one row per membership (from, to, note); scope checked."""
    require_cell(db, actor, cell_id)
    return [dict(r) for r in db.query(PERIOD_SQL, {"cell_id": cell_id, "start": start, "end": end})]


def get(db: Database, actor: Actor | None, member_id: Any) -> dict:
    """One member with their cells over time and exemptions; refused unless their current cell is in scope."""
    member = _member_row(db, member_id)
    rows = memberships(db, member["id"])
    latest = _latest(rows)
    if latest is None:
        # a member in no cell is read only by users who read every cell (anonymous refused there too)
        if readable_cell_ids(db, actor) is not None:
            raise PermissionDenied("members_out_of_scope")
    else:
        require_cell(db, actor, latest["cell_id"])
    return {**member, "cells": rows, "exemptions": exemptions(db, member["id"])}


def find_code(db: Database, code: Any) -> int | None:
    """The id of the member with this card number, or None (no personal data returned)."""
    found = db.execute("SELECT id FROM members WHERE code = ?", [str(code).strip()]).fetchone() if code else None
    return found[0] if found else None


def cells_in_scope(db: Database, actor: Actor | None, on: str | None = None) -> list[dict]:
    """The cells whose members a user may read (and a clerk change), current on a day when given, by name."""
    readable = readable_cell_ids(db, actor)
    rows = db.query("SELECT c.id, c.code, c.name, c.unit_id, u.name AS unit_name, c.valid_from, c.valid_to "
                    "FROM cells c JOIN units u ON u.id = c.unit_id ORDER BY u.name, c.name")
    return [dict(r) for r in rows if (readable is None or r["id"] in readable)
            and (on is None or ((not r["valid_from"] or r["valid_from"] <= on)
                                and (not r["valid_to"] or r["valid_to"] >= on)))]


EXPORT_COLUMNS = ("code", "full_name", "cell_code", "joined_cell_on", "admitted_on", "official_on",
                  "exempt_from", "exempt_to", "exempt_reason")


def export_rows(db: Database, actor: Actor | None, cell_id: int, on: str) -> list[dict]:
    """A cell's members on a day in the members import format (re-importable); scope checked."""
    cell = _cell_row(db, cell_id)
    return [{"code": r["code"], "full_name": r["full_name"], "cell_code": cell["code"], "joined_cell_on": r["since"],
             "admitted_on": r["admitted_on"], "official_on": r["official_on"], "exempt_from": r["exempt_from"],
             "exempt_to": r["exempt_to"], "exempt_reason": r["exempt_reason"]}
            for r in members_on(db, actor, cell_id, on)]


def download(db: Database, actor: Actor | None, cell_id: int, on: str, fmt: str = "xlsx") -> bytes:
    """The cell's list on a day as CSV or XLSX under the import template's headers; scope checked."""
    from lib import importer  # importer imports this module for its members kind

    rows = export_rows(db, actor, cell_id, on)
    return importer.export_csv("members", rows) if fmt == "csv" else importer.export_xlsx("members", rows)


# ---- the members import (lib.importer kind "members"): one row planned by reading, then written --------------

IMPORT_FIELDS = {"joined_cell_on": "date", "exempt_from": "date", "exempt_to": "date", "exempt_reason": "str"}


def plan_import(db: Database, actor: Actor | None, raw: Mapping[str, Any]) -> dict:
    """Check one member row of an import without writing; the plan apply_import writes.

    A new card number makes a member in the cell from joined_cell_on; a known one has name and dates updated
    and, if the cell differs, is transferred from joined_cell_on (after their current membership began).
    """
    cell_id = raw.get("cell_id")
    member_id = find_code(db, raw.get("code"))
    extra, errors = coerce(raw, IMPORT_FIELDS)
    try:
        clean = _check_member(db, {k: raw.get(k) for k in FIELDS if k != "notes"}, own_id=member_id)
    except ValidationError as exc:
        errors = exc.errors + errors
        clean = {}
    exemption = None
    if extra.get("exempt_from") is not None or extra.get("exempt_to") is not None \
            or extra.get("exempt_reason") is not None:
        if extra.get("exempt_from") is None and "exempt_from" not in {e.field for e in errors}:
            errors.append(FieldError("exempt_from", "required"))
        elif extra.get("exempt_to") and extra.get("exempt_from") and extra["exempt_to"] < extra["exempt_from"]:
            errors.append(FieldError("exempt_to", "to_before_from"))
        exemption = {"valid_from": _day(extra.get("exempt_from")), "valid_to": _day(extra.get("exempt_to")),
                     "reason": extra.get("exempt_reason")}
    since = _day(extra.get("joined_cell_on"))
    if cell_id is None:
        raise ValidationError([FieldError("cell_id", "required"), *errors])
    rows = memberships(db, member_id) if member_id is not None else []
    current = next((r for r in rows if r["valid_to"] is None), None)
    action, close_id = "new", None
    if member_id is not None:
        if current is not None and current["cell_id"] == cell_id:
            action = "same"
        elif current is not None:
            action, close_id = "transfer", current["id"]
            if since is None:
                errors.append(FieldError("joined_cell_on", "required_for_transfer"))
            elif current["valid_from"] is not None and since <= current["valid_from"]:
                errors.append(FieldError("joined_cell_on", "transfer_before_joined",
                                         since=fmt_date(current["valid_from"])))
        else:
            action = "join"
            try:
                _check_new_membership(rows, since, "joined_cell_on")
            except ValidationError as exc:
                errors += exc.errors
    # Scope: the cell named, and for a transfer the cell the member leaves (a refusal ends the row's check).
    _both_cells(db, actor, current["cell_id"] if current is not None else None, cell_id)
    exemption_id = None
    if exemption is not None and not errors and member_id is not None:
        same = next((e for e in exemptions(db, member_id) if e["valid_from"] == exemption["valid_from"]), None)
        exemption_id = same["id"] if same else None
        try:
            _check_exemption(db, member_id, exemption, skip=exemption_id)
        except ValidationError as exc:
            errors += [FieldError({"valid_from": "exempt_from", "valid_to": "exempt_to",
                                   "reason": "exempt_reason"}.get(e.field, e.field), e.key, e.params)
                       for e in exc.errors]
    if errors:
        raise ValidationError(errors)
    return {"member_id": member_id, "member": clean, "cell_id": cell_id, "since": since, "action": action,
            "close_id": close_id, "exemption": exemption, "exemption_id": exemption_id}


def apply_import(db: Database, actor: Actor, plan: Mapping[str, Any]) -> int:
    """Write one planned import row (audited as the single writes are); return the member id."""
    member_id = plan["member_id"]
    if member_id is None:
        member_id = store.insert(db, actor, "members", {**plan["member"], "created_at": audit.now_iso()})
    else:
        before = _member_row(db, member_id)
        changes = {k: _day(v) for k, v in plan["member"].items() if _day(v) != before.get(k)}
        if changes:
            store.update(db, actor, "members", member_id, changes)
    if plan["action"] == "transfer":
        last = (date.fromisoformat(plan["since"]) - timedelta(days=1)).isoformat()
        store.update(db, actor, "member_cells", plan["close_id"], {"valid_to": last})
    if plan["action"] != "same":
        store.insert(db, actor, "member_cells", {"member_id": member_id, "cell_id": plan["cell_id"],
                                                 "valid_from": plan["since"], "valid_to": None, "note": None})
    exemption = plan["exemption"]
    if exemption is not None:
        if plan["exemption_id"] is not None:
            store.update(db, actor, "member_exemptions", plan["exemption_id"], exemption)
        else:
            store.insert(db, actor, "member_exemptions", {"member_id": member_id, **exemption,
                                                          "decision_no": None})
    return member_id
