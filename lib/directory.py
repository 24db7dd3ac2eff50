"""The directory: units (nodes of the organisation tree), their cells, and the leaders."""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import org, store
from lib.domain import (
    Actor,
    CellType,
    FieldError,
    LeaderGroup,
    UnitKind,
    ValidationError,
    coerce,
    validate_cell,
    validate_leader,
    validate_unit,
    validate_validity,
    with_rules,
)
from lib.users import require_admin

UNIT_FIELDS = {"code": "str", "name": "str", "kind": UnitKind, "valid_from": "date",
               "valid_to": "date", "successor_id": "int", "parent_id": "int"}
CELL_FIELDS = {"code": "str", "unit_id": "int", "name": "str", "cell_type": CellType,
               "meeting_day": "int", "valid_from": "date", "valid_to": "date", "successor_id": "int"}
LEADER_FIELDS = {"code": "str", "full_name": "str", "position": "str", "grp": LeaderGroup,
                 "active": "bool"}

TABLES: dict[str, tuple[dict, Callable[[Mapping], list[FieldError]]]] = {
    "units": (UNIT_FIELDS, validate_unit),
    "cells": (CELL_FIELDS, validate_cell),
    "leaders": (LEADER_FIELDS, validate_leader),
}


def _check(db: Database, table: str, raw: Mapping[str, Any], own_id: int | None) -> dict:
    spec, rules = TABLES[table]
    clean, errors = coerce(raw, spec)
    errors = with_rules(errors, rules(clean) + store.missing_refs(db, clean, {"successor_id": table,
                                                                           "unit_id": "units"}))
    if table == "units":
        errors = with_rules(errors, org.check_parent(db, own_id, clean.get("parent_id")))
    code = clean.get("code")
    if code:
        other = db.execute(f"select id from {table} where code = ?", [code]).fetchone()
        if other and other[0] != own_id:
            errors.append(FieldError("code", "duplicate_code", value=code))
    if errors:
        raise ValidationError(errors)
    return clean


def create(db: Database, actor: Actor, table: str, raw: Mapping[str, Any]) -> int:
    """Create a unit, cell or leader (admin only); return its id."""
    require_admin(db, actor)
    if table == "leaders" and "active" not in raw:
        raw = {**raw, "active": True}
    if table == "units" and "parent_id" not in raw and (parent := org.default_parent(db)) is not None:
        raw = {**raw, "parent_id": parent}
    return store.insert(db, actor, table, _check(db, table, raw, None))


def update(db: Database, actor: Actor, table: str, row_id: int, changes: Mapping[str, Any], *,
           version: str | None = None) -> dict:
    """Change a unit, cell or leader (admin only); refused if the row changed since version (version_of)."""
    require_admin(db, actor)
    with store.transaction(db):
        before = store.get(db, table, row_id)
        store.require_version(db, table, row_id, version, before)
        spec, _ = TABLES[table]
        clean = _check(db, table, {k: before[k] for k in spec if k in before} | dict(changes), row_id)
        return store.update(db, actor, table, row_id, clean)


def version_of(db: Database, table: str, row: Mapping[str, Any]) -> str:
    """The version of a unit, cell or leader row as listed, for the edit form to carry."""
    if table not in TABLES:
        raise ValueError(table)
    return store.row_version(db, table, row)


def create_unit(db: Database, actor: Actor, raw: Mapping[str, Any]) -> int:
    """Create a unit."""
    return create(db, actor, "units", raw)


def create_cell(db: Database, actor: Actor, raw: Mapping[str, Any]) -> int:
    """Create a cell."""
    return create(db, actor, "cells", raw)


def create_leader(db: Database, actor: Actor, raw: Mapping[str, Any]) -> int:
    """Create a leader."""
    return create(db, actor, "leaders", raw)


def merge_unit(db: Database, actor: Actor, unit_id: int, successor_id: int, last_day: Any) -> None:
    """Close a unit on last_day and point it at its successor (history stays under it)."""
    if unit_id == successor_id:
        raise ValidationError([FieldError("successor_id", "merge_into_self")])
    update(db, actor, "units", unit_id, {"valid_to": last_day, "successor_id": successor_id})


def end_validity(db: Database, actor: Actor, table: str, row_id: int, last_day: date) -> None:
    """Close a cell or unit on last_day (dissolved), keeping its history."""
    before = store.get(db, table, row_id)
    errors = validate_validity(date.fromisoformat(before["valid_from"]) if before.get("valid_from") else None,
                               last_day)
    if errors:
        raise ValidationError(errors)
    update(db, actor, table, row_id, {"valid_to": last_day})


UNITS_SQL = """
select u.*, s.code as successor_code, s.name as successor_name, p.code as parent_code, p.name as parent_name,
       (select count(*) from cells c where c.unit_id = u.id) as cells
from units u left join units s on s.id = u.successor_id left join units p on p.id = u.parent_id
where (:on is null or ((u.valid_from is null or u.valid_from <= :on) and (u.valid_to is null or u.valid_to >= :on)))
order by u.name
"""

CELLS_SQL = """
select c.*, u.code as unit_code, u.name as unit_name
from cells c join units u on u.id = c.unit_id
where (:unit_id is null or c.unit_id = :unit_id)
  and (:on is null or ((c.valid_from is null or c.valid_from <= :on) and (c.valid_to is null or c.valid_to >= :on)))
order by u.name, c.name
"""


def list_units(db: Database, on: str | None = None) -> list[dict]:
    """Units (valid on a day, if given), with successor, parent (the unit above in the tree) and cell count."""
    return [dict(r) for r in db.query(UNITS_SQL, {"on": on})]


def list_cells(db: Database, unit_id: int | None = None, on: str | None = None) -> list[dict]:
    """Cells of a unit or of all units (valid on a day, if given)."""
    return [dict(r) for r in db.query(CELLS_SQL, {"unit_id": unit_id, "on": on})]


def list_leaders(db: Database, active_only: bool = False) -> list[dict]:
    """Leaders by name."""
    where = "where active = 1" if active_only else ""
    return [dict(r) for r in db.query(f"select * from leaders {where} order by full_name")]


def id_by_code(db: Database, table: str) -> dict[str, int]:
    """Map of code → id for units, cells or leaders."""
    return {code: row_id for row_id, code in db.execute(f"select id, code from {table}")}
