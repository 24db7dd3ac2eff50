"""Audited row writes shared by the store modules: insert, update, soft delete, restore."""

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from lib import audit
from lib import db as dbm
from lib.domain import SYSTEM, Actor, FieldError, PermissionDenied, Role, ValidationError
from lib.users import actor_for

# SQLite stores integers in 64 bits: a larger id cannot name a row, and binding it raises OverflowError.
MAX_ID = 2**63 - 1


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


def parse_id(value: Any) -> int | None:
    """A row id from user input ("12", 12), or None for anything else ("abc", "-1", "1e9", "1.5", 2**63)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        if len(text) > 19:  # longer than MAX_ID: refused without building a huge int
            return None
        number = int(text)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def get(db: Database, table: str, row_id: Any) -> dict:
    """One row by primary key, or a field-named 'not found' refusal."""
    if isinstance(row_id, int) and not isinstance(row_id, bool) and not -MAX_ID - 1 <= row_id <= MAX_ID:
        raise ValidationError([FieldError("id", "not_found")])
    try:
        return dict(db[table].get(row_id))
    except NotFoundError:
        raise ValidationError([FieldError("id", "not_found")]) from None


# ---- transactions and versions (optimistic concurrency) ------------------------------------

@contextmanager
def transaction(db: Database, lock: tuple[str, Any] | None = None) -> Iterator[Database]:
    """Check-and-write as one transaction: a savepoint inside the caller's, else BEGIN IMMEDIATE; lock: the (table,
    id) of the row checked, held until the end on PostgreSQL (SQLite's BEGIN IMMEDIATE holds the whole file)."""
    with dbm.immediate(db):
        if lock is not None:
            dbm.lock(db, *lock)
        yield db


@contextmanager
def snapshot(db: Database) -> Iterator[Database]:
    """Several reads from one consistent state of the database (a read transaction unless already in one)."""
    if db.conn.in_transaction:
        yield db
        return
    db.execute("BEGIN")
    try:
        yield db
    finally:
        if db.conn.in_transaction:
            db.execute("COMMIT")


def fingerprint(values: Mapping[str, Any]) -> str:
    """A short hash of values (the version an edit form carries)."""
    text = json.dumps(dict(values), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def row_version(db: Database, table: str, row: Mapping[str, Any]) -> str:
    """The version of a row as loaded: a hash of its own columns (extra joined columns ignored)."""
    return fingerprint({c.name: row.get(c.name) for c in db[table].columns})


def version(db: Database, table: str, row_id: Any) -> str:
    """The version of a row as it is now."""
    return row_version(db, table, get(db, table, row_id))


class Stale(FieldError):
    """The record changed after the form loaded it: who changed it, when, and what to do."""

    __slots__ = ()

    def __str__(self) -> str:
        # The whole record is meant, not one field: the message alone, naming no field.
        return self.message


LAST_CHANGE_SQL = """
select username, at, table_name, after_json from audit_log
where (table_name = :table and row_id = :row_id) or (:part_table is not null and table_name = :part_table
       and row_id like :part_prefix)
order by id desc limit 1
"""


def same_columns(db: Database, table: str, logged: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether a logged copy of a row agrees with the current row on the table's own columns both hold."""
    return all(logged[c.name] == current[c.name] for c in db[table].columns if c.name in logged and c.name in current)


def stale(db: Database, table: str, row_id: Any, current: Mapping[str, Any] | None = None,
          part_table: str | None = None, matches: Any = None) -> Stale:
    """The refusal for an edit of an outdated copy, naming who last changed the row and when (audit log)."""
    # The last log entry is named only if it left the row as it is now (matches(table_name, after), or
    # same_columns with current); otherwise the row was changed outside the app and no one is named.
    # part_table: a table whose rows belong to this one, logged as "<row_id>:<n>" (a meeting's leaders).
    found = db.execute(LAST_CHANGE_SQL, {"table": table, "row_id": str(row_id), "part_table": part_table,
                                         "part_prefix": f"{row_id}:%"}).fetchone()
    if found is not None:
        username, at, logged_table, after_json = found
        after = json.loads(after_json) if after_json else {}
        if matches is not None:
            named = matches(logged_table, after)
        else:
            named = current is None or same_columns(db, table, after, current)
        if named:
            when = datetime.fromisoformat(at)
            return Stale("record", "changed_since", by=username, time=when.strftime("%H:%M:%S"),
                         day=when.strftime("%d/%m/%Y"))
    return Stale("record", "changed_since_unknown")


def require_version(db: Database, table: str, row_id: Any, expected: str | None, current: Mapping[str, Any],
                    current_version: str | None = None, **who: Any) -> None:
    """Refuse (nothing written) when the form's version is not the row's current one; None skips the check."""
    # current: the row as it is now; its version is row_version(current) unless current_version is given.
    # who: passed on to stale() to find who changed the row.
    if expected is None:
        return
    if expected != (current_version or row_version(db, table, current)):
        raise ValidationError([stale(db, table, row_id, current, **who)])


def changed_since(db: Database, table: str, row_id: Any, loaded_version: str | None) -> Stale | None:
    """The 'changed by X at T' notice when the row is no longer as its form loaded it, else None."""
    if loaded_version is None:
        return None
    current = get(db, table, row_id)
    return None if row_version(db, table, current) == loaded_version else stale(db, table, row_id, current)


def require_read(db: Database, actor: Actor, unit_id: int | None) -> Actor:
    """Refuse a clerk reading one record of a unit outside their scope; admins and viewers read all."""
    # Viewers see every commune on the dashboards already; role and scope come from the database.
    if actor is SYSTEM:
        return actor
    fresh = actor_for(db, actor.username)
    if fresh is None:
        raise PermissionDenied("inactive")
    if fresh.role == Role.CLERK and unit_id not in fresh.unit_ids:
        raise PermissionDenied("read_out_of_scope")
    return fresh


def insert(db: Database, actor: Actor, table: str, record: dict[str, Any]) -> int:
    """Insert a row and audit it; return its rowid."""
    row = to_row(record)
    db[table].insert(row)
    row_id = db.execute("select last_insert_rowid()").fetchone()[0]
    audit.record(db, actor, "create", table, row_id, None, row)
    return row_id


def update(db: Database, actor: Actor, table: str, row_id: Any, changes: dict[str, Any], *,
           version: str | None = None) -> dict:
    """Update a row, auditing before and after; refused if version is given and the row changed since."""
    # PostgreSQL: this row only is locked; a concurrent edit waits, then finds it stale.
    with transaction(db, lock=(table, row_id)):
        before = get(db, table, row_id)
        require_version(db, table, row_id, version, before)
        db[table].update(row_id, to_row(changes))
        after = get(db, table, row_id)
        if after != before:
            audit.record(db, actor, "update", table, row_id, before, after)
    return after


def soft_delete(db: Database, actor: Actor, table: str, row_id: Any) -> None:
    """Mark a row deleted (deleted_at) without losing it."""
    with transaction(db, lock=(table, row_id)):
        before = get(db, table, row_id)
        if before.get("deleted_at"):
            return
        db[table].update(row_id, {"deleted_at": audit.now_iso()})
        audit.record(db, actor, "delete", table, row_id, before, get(db, table, row_id))


def restore(db: Database, actor: Actor, table: str, row_id: Any) -> None:
    """Clear deleted_at."""
    with transaction(db, lock=(table, row_id)):
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
