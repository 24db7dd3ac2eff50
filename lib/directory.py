"""The directory: units (nodes of the organisation tree), their cells, and the leaders."""

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import db as dbm
from lib import leaders, org, store
from lib.domain import (
    Actor,
    CellType,
    FieldError,
    UnitKind,
    ValidationError,
    coerce,
    fmt_day_short,
    search_key,
    validate_cell,
    validate_leader,
    validate_unit,
    validate_validity,
    with_rules,
)
from lib.i18n import get_language, language, t
from lib.users import require_admin

UNIT_FIELDS = {"code": "str", "name": "str", "kind": UnitKind, "valid_from": "date",
               "valid_to": "date", "successor_id": "int", "parent_id": "int"}
CELL_FIELDS = {"code": "str", "unit_id": "int", "name": "str", "cell_type": CellType,
               "meeting_day": "int", "valid_from": "date", "valid_to": "date", "successor_id": "int"}
# grp is a code of leader_groups (checked against the table by lib.leaders.parse_group, not an enum).
LEADER_FIELDS = {"code": "str", "full_name": "str", "position": "str", "grp": "str",
                 "active": "bool"}

TABLES: dict[str, tuple[dict, Callable[[Mapping], list[FieldError]]]] = {
    "units": (UNIT_FIELDS, validate_unit),
    "cells": (CELL_FIELDS, validate_cell),
    "leaders": (LEADER_FIELDS, validate_leader),
}


def _check(db: Database, table: str, raw: Mapping[str, Any], own_id: int | None) -> dict:
    spec, rules = TABLES[table]
    clean, errors = coerce(raw, spec)
    if table == "leaders" and "grp" in raw:
        clean["grp"], group_errors = leaders.parse_group(db, raw["grp"])
        errors += group_errors
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
    with store.transaction(db):
        _lock_rules(db, table, raw)
        row_id = store.insert(db, actor, table, _check(db, table, raw, None))
        if table == "leaders" and leaders.has_posts(db):
            # A new leader starts with one post: their position and group, open at both ends, at the home node.
            store.insert(db, actor, "leader_posts", leaders.first_post(db, store.get(db, "leaders", row_id)))
    return row_id


def update(db: Database, actor: Actor, table: str, row_id: int, changes: Mapping[str, Any], *,
           version: str | None = None) -> dict:
    """Change a unit, cell or leader (admin only); refused if the row changed since version (version_of)."""
    require_admin(db, actor)
    with store.transaction(db):
        _lock_rules(db, table, changes)  # names before rows: the order every writer takes them in
        dbm.lock(db, table, row_id)
        before = store.get(db, table, row_id)
        store.require_version(db, table, row_id, version, before)
        spec, _ = TABLES[table]
        clean = _check(db, table, {k: before[k] for k in spec if k in before} | dict(changes), row_id)
        after = store.update(db, actor, table, row_id, clean)
        if table == "leaders" and (after["position"], after["grp"]) != (before["position"], before["grp"]):
            _correct_latest_post(db, actor, after)
        return after


def _lock_rules(db: Database, table: str, raw: Mapping[str, Any]) -> None:
    # PostgreSQL: what _check reads beyond the row itself, held until the write. A code is unique (a second
    # writer of the same code waits, then is refused by name rather than by the index); units form one tree
    # (two moves at once could make a cycle the check of each alone allows), so unit writes queue as in SQLite.
    if table == "units":
        dbm.lock_name(db, "units")
    code = str(raw.get("code") or "").strip()
    if code:
        dbm.lock_name(db, f"{table}.code", code)


def _correct_latest_post(db: Database, actor: Actor, leader: Mapping[str, Any]) -> None:
    """An edit of a leader's position or group corrects their latest post (the two stay in step)."""
    latest = leaders.latest_post(db, leader["id"])
    if latest is None:
        store.insert(db, actor, "leader_posts", leaders.first_post(db, leader))
    else:
        leaders.update_post(db, actor, latest["id"], {"title": leader["position"], "grp": leader["grp"]})


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


# ---- names as people read them ----------------------------------------------------------------------------------

def display_names(rows: Iterable[Mapping[str, Any]], group: str | None = None) -> dict[str, str]:
    """Code → the name to show, for units (or cells, with group="unit_id"): a name shared by several rows (the old
    and the merged "Xã An Trường") gets the validity that tells them apart, "Xã An Trường (cũ, đến 30/6/2025)",
    the one still in force stays plain; never the internal code."""
    rows = list(rows)
    shared: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rows:
        shared.setdefault((r.get(group) if group else None, search_key(r["name"] or "")), []).append(r)
    names = {r["code"]: r["name"] for r in rows}
    for same in shared.values():
        if len(same) < 2:
            continue
        in_force = sorted((r for r in same if not r.get("valid_to")), key=lambda r: r.get("valid_from") or "")
        for r in same:
            if r.get("valid_to"):
                names[r["code"]] = t("wording.old_until", name=r["name"], day=fmt_day_short(r["valid_to"]))
        # two in force at once under one name (unusual): the later ones say since when
        for r in in_force[1:]:
            if r.get("valid_from"):
                names[r["code"]] = t("wording.from_day", name=r["name"], day=fmt_day_short(r["valid_from"]))
    return names


def _rows(db: Database, sql: str) -> list[dict]:
    # one plain statement (no sqlite_utils savepoint): the report counts its statements
    cur = db.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def unit_display_names(db: Database) -> dict[str, str]:
    """Unit code → display name (display_names over every unit), for the pickers, tables, charts and reports."""
    return display_names(_rows(db, "select code, name, valid_from, valid_to from units"))


def renamed(db: Database, lang: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Only the units and the cells whose display name differs from their stored name: (unit code → name,
    cell code → name), in the language given; both empty when no two share a name, which is the usual case."""
    units = _rows(db, "select code, name, valid_from, valid_to from units")
    cells = _rows(db, "select code, name, unit_id, valid_from, valid_to from cells")
    with language(lang or get_language()):
        unit_names, cell_names = display_names(units), display_names(cells, group="unit_id")
    stored = {r["code"]: r["name"] for r in units}
    stored_cells = {r["code"]: r["name"] for r in cells}
    return ({c: n for c, n in unit_names.items() if n != stored[c]},
            {c: n for c, n in cell_names.items() if n != stored_cells[c]})


def relabel(value: Any, units: Mapping[str, str], cells: Mapping[str, str] | None = None) -> Any:
    """A copy of figures (dicts, lists of rows) with unit_name and cell_name replaced by the display names given
    (renamed()), looked up by unit_code and cell_code; the value itself when there is nothing to rename."""
    cells = cells or {}
    if not units and not cells:
        return value
    if isinstance(value, list):
        return [relabel(v, units, cells) for v in value]
    if isinstance(value, tuple):
        return tuple(relabel(v, units, cells) for v in value)
    if isinstance(value, dict):
        out = {k: relabel(v, units, cells) if isinstance(v, (list, dict, tuple)) else v for k, v in value.items()}
        if "unit_name" in out and out.get("unit_code") in units:
            out["unit_name"] = units[out["unit_code"]]
        if "cell_name" in out and out.get("cell_code") in cells:
            out["cell_name"] = cells[out["cell_code"]]
        return out
    return value
