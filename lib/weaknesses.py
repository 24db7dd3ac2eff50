"""Weaknesses the committee flags, and their remediation: open → in progress → resolved."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import store
from lib.domain import (
    Actor,
    FieldError,
    Severity,
    ValidationError,
    WeaknessCategory,
    WeaknessStatus,
    coerce,
    validate_weakness,
    with_rules,
)
from lib.users import require_unit

FIELDS = {"unit_id": "int", "cell_id": "int", "meeting_id": "int", "category": WeaknessCategory,
          "description": "str", "noted_on": "date", "noted_by": "int", "severity": Severity,
          "status": WeaknessStatus, "due_on": "date", "resolved_on": "date", "resolution": "str"}


LINK = ("unit_id", "cell_id", "meeting_id")


def _link_meeting(db: Database, clean: dict, errors: list[FieldError], before: Mapping[str, Any] | None) -> None:
    # A weakness noted at a meeting belongs to that meeting's commune and cell: fill them in, and refuse a
    # meeting of another commune or cell (a clerk could otherwise attach their note to anyone's meeting).
    m = db.execute("select m.cell_id, c.unit_id from meetings m join cells c on c.id = m.cell_id "
                   "where m.id = ?", [clean["meeting_id"]]).fetchone()
    if m is None:
        errors.append(FieldError("meeting_id", "unknown_id"))
        return
    cell_id, unit_id = m
    if before is not None and all(clean.get(k) == before.get(k) for k in LINK):
        return  # the link is as stored: a later move of the meeting must not block a status change
    if clean.get("unit_id") is not None and clean["unit_id"] != unit_id:
        errors.append(FieldError("meeting_id", "meeting_other_unit"))
    elif clean.get("cell_id") is not None and clean["cell_id"] != cell_id:
        errors.append(FieldError("meeting_id", "meeting_other_cell"))
    else:
        clean["unit_id"], clean["cell_id"] = unit_id, cell_id


def _check(db: Database, raw: Mapping[str, Any], today: date, before: Mapping[str, Any] | None = None) -> dict:
    clean, errors = coerce(raw, FIELDS)
    clean["severity"] = clean.get("severity") or Severity.MEDIUM
    clean["status"] = clean.get("status") or WeaknessStatus.OPEN
    if clean.get("meeting_id") is not None:
        _link_meeting(db, clean, errors, before)
    if clean.get("status") == WeaknessStatus.RESOLVED and clean.get("resolved_on") is None and not errors:
        clean["resolved_on"] = today
    if clean.get("status") != WeaknessStatus.RESOLVED:
        clean["resolved_on"] = None
    errors = with_rules(errors, validate_weakness(clean, today))
    errors += store.missing_refs(db, clean, {"unit_id": "units", "cell_id": "cells", "noted_by": "leaders"})
    if not errors:
        errors += store.cell_outside_unit(db, clean)
    if errors:
        raise ValidationError(errors)
    return clean


def create(db: Database, actor: Actor, raw: Mapping[str, Any], *, today: date | None = None) -> int:
    """Flag a weakness on a unit, cell or meeting (clerk within scope, or admin); return its id."""
    today = today or date.today()
    raw = {"noted_on": today, **{k: v for k, v in raw.items() if v is not None or k != "noted_on"}}
    clean = _check(db, raw, today)
    require_unit(db, actor, clean["unit_id"])
    return store.insert(db, actor, "weaknesses", {**clean, "created_by": actor.username})


def update(db: Database, actor: Actor, weakness_id: int, changes: Mapping[str, Any],
           *, today: date | None = None, version: str | None = None) -> dict:
    """Change a weakness, e.g. move its status with a resolution note; refused if changed since version."""
    with store.transaction(db, lock=("weaknesses", weakness_id)):
        before = store.get(db, "weaknesses", weakness_id)
        require_unit(db, actor, before["unit_id"])
        store.require_version(db, "weaknesses", weakness_id, version, before)
        clean = _check(db, {k: before[k] for k in FIELDS} | dict(changes), today or date.today(), before)
        require_unit(db, actor, clean["unit_id"])
        return store.update(db, actor, "weaknesses", weakness_id, clean)


def set_status(db: Database, actor: Actor, weakness_id: int, status: str, resolution: str | None = None,
               *, today: date | None = None, version: str | None = None) -> dict:
    """Move a weakness through open → in progress → resolved."""
    changes: dict[str, Any] = {"status": status}
    if resolution is not None:
        changes["resolution"] = resolution
    return update(db, actor, weakness_id, changes, today=today, version=version)


def delete(db: Database, actor: Actor, weakness_id: int, *, version: str | None = None) -> None:
    """Soft-delete a weakness recorded by mistake."""
    with store.transaction(db, lock=("weaknesses", weakness_id)):
        before = store.get(db, "weaknesses", weakness_id)
        require_unit(db, actor, before["unit_id"])
        store.require_version(db, "weaknesses", weakness_id, version, before)
        store.soft_delete(db, actor, "weaknesses", weakness_id)


def version_of(db: Database, row: Mapping[str, Any]) -> str:
    """The version of a weakness row as listed (list_weaknesses), for the edit form to carry."""
    return store.row_version(db, "weaknesses", row)


LIST_SQL = """
select w.*, u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       l.full_name as noted_by_name,
       case when w.status != 'resolved' and w.due_on < :today then 1 else 0 end as overdue,
       case when w.status != 'resolved' then julianday(:today) - julianday(w.noted_on) end as age_days
from weaknesses w
join units u on u.id = w.unit_id
left join cells c on c.id = w.cell_id
left join leaders l on l.id = w.noted_by
where w.deleted_at is null
  and (:unit_id is null or w.unit_id = :unit_id)
  and (:category is null or w.category = :category)
  and (:status is null or w.status = :status)
  and (:open_only = 0 or w.status != 'resolved')
  and (:start is null or w.noted_on >= :start)
  and (:end is null or w.noted_on <= :end)
order by overdue desc, w.due_on is null, w.due_on, w.noted_on desc
limit :limit
"""


def list_weaknesses(db: Database, *, unit_id: int | None = None, category: str | None = None,
                    status: str | None = None, open_only: bool = False, start: str | None = None,
                    end: str | None = None, today: date | None = None, limit: int = 1000) -> list[dict]:
    """Weaknesses with names, overdue flag and age of open ones; overdue first."""
    params = {"unit_id": unit_id, "category": category, "status": status, "open_only": int(open_only),
              "start": start, "end": end, "today": (today or date.today()).isoformat(), "limit": limit}
    return [dict(r) for r in db.query(LIST_SQL, params)]
