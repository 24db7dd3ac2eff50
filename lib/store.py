"""Audited row writes shared by the store modules: insert, update, soft delete, restore."""

from datetime import date
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from lib import audit
from lib.domain import Actor, FieldError, ValidationError


def to_row(record: dict[str, Any]) -> dict[str, Any]:
    """Dates as ISO text, enums as their codes, booleans as 0/1."""
    row = {}
    for key, value in record.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = int(value)
        elif hasattr(value, "value") and isinstance(value.value, str):
            value = value.value
        row[key] = value
    return row


def get(db: Database, table: str, row_id: Any) -> dict:
    """One row by primary key, or a field-named 'not found' refusal."""
    try:
        return dict(db[table].get(row_id))
    except NotFoundError:
        raise ValidationError([FieldError("id", "not_found")]) from None


def insert(db: Database, actor: Actor, table: str, record: dict[str, Any]) -> int:
    """Insert a row and audit it; return its rowid."""
    row = to_row(record)
    db[table].insert(row)
    row_id = db.execute("select last_insert_rowid()").fetchone()[0]
    audit.record(db, actor, "create", table, row_id, None, row)
    return row_id


def update(db: Database, actor: Actor, table: str, row_id: Any, changes: dict[str, Any]) -> dict:
    """Update a row, auditing before and after; return the new row."""
    before = get(db, table, row_id)
    db[table].update(row_id, to_row(changes))
    after = get(db, table, row_id)
    if after != before:
        audit.record(db, actor, "update", table, row_id, before, after)
    return after


def soft_delete(db: Database, actor: Actor, table: str, row_id: Any) -> None:
    """Mark a row deleted (deleted_at) without losing it."""
    before = get(db, table, row_id)
    if before.get("deleted_at"):
        return
    db[table].update(row_id, {"deleted_at": audit.now_iso()})
    audit.record(db, actor, "delete", table, row_id, before, get(db, table, row_id))


def restore(db: Database, actor: Actor, table: str, row_id: Any) -> None:
    """Clear deleted_at."""
    before = get(db, table, row_id)
    db[table].update(row_id, {"deleted_at": None})
    audit.record(db, actor, "restore", table, row_id, before, get(db, table, row_id))


def missing_refs(db: Database, record: dict[str, Any], refs: dict[str, str]) -> list[FieldError]:
    """An 'unknown' refusal for each id in record that names no row of its table (refs: field → table)."""
    errors = []
    for name, table in refs.items():
        if record.get(name) is not None and db.execute(f"select 1 from {table} where id = ?",
                                                      [record[name]]).fetchone() is None:
            errors.append(FieldError(name, "unknown_id"))
    return errors


def cell_outside_unit(db: Database, record: dict[str, Any]) -> list[FieldError]:
    """A refusal when record's cell_id does not belong to its unit_id."""
    if record.get("cell_id") is None:
        return []
    row = db.execute("select unit_id from cells where id = ?", [record["cell_id"]]).fetchone()
    if row is not None and row[0] != record.get("unit_id"):
        return [FieldError("cell_id", "cell_not_in_unit")]
    return []
