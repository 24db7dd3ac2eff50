"""Assignments: a decision puts a leader in charge of a unit or a cell for a time.

The decision belongs to the node whose committee issued it (issuer_unit_id): by default the home node.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import leaders, org, store
from lib.domain import Actor, ValidationError, coerce, fmt_date, validate_assignment, with_rules
from lib.i18n import t
from lib.users import require_admin

FIELDS = {"leader_id": "int", "unit_id": "int", "cell_id": "int", "decision_no": "str",
          "decision_date": "date", "valid_from": "date", "valid_to": "date",
          "required_per_quarter": "int", "issuer_unit_id": "int"}


def _check(db: Database, raw: Mapping[str, Any], today: date) -> dict:
    clean, errors = coerce(raw, FIELDS)
    if clean.get("required_per_quarter") is None and not errors:
        clean["required_per_quarter"] = 1
    errors = with_rules(errors, validate_assignment(clean, today))
    errors += store.missing_refs(db, clean, {"leader_id": "leaders", "unit_id": "units", "cell_id": "cells",
                                             "issuer_unit_id": "units"})
    if not errors:
        errors += store.cell_outside_unit(db, clean)
    if errors:
        raise ValidationError(errors)
    return clean


def create(db: Database, actor: Actor, raw: Mapping[str, Any], *, today: date | None = None) -> int:
    """Record one assignment line of a decision (admin only); return its id."""
    require_admin(db, actor)
    return store.insert(db, actor, "assignments", _check(db, with_issuer(db, raw), today or date.today()))


def with_issuer(db: Database, raw: Mapping[str, Any]) -> dict:
    """The raw assignment with its issuer defaulted to the home node when none is named."""
    if raw.get("issuer_unit_id") not in (None, "") or not leaders.has_posts(db):
        return dict(raw)  # named, or a database before m008 (no issuer column; only the tests build one)
    home = org.home_node(db)
    return {**raw, "issuer_unit_id": home["id"] if home else None}


def update(db: Database, actor: Actor, assignment_id: int, changes: Mapping[str, Any],
           *, today: date | None = None, version: str | None = None) -> dict:
    """Change an assignment (admin only); refused if it changed since version (version_of)."""
    require_admin(db, actor)
    with store.transaction(db, lock=("assignments", assignment_id)):
        before = store.get(db, "assignments", assignment_id)
        store.require_version(db, "assignments", assignment_id, version, before)
        clean = _check(db, {k: before[k] for k in FIELDS} | dict(changes), today or date.today())
        return store.update(db, actor, "assignments", assignment_id, clean)


def end(db: Database, actor: Actor, assignment_id: int, last_day: Any, *, version: str | None = None) -> dict:
    """End an assignment on last_day, keeping its history."""
    return update(db, actor, assignment_id, {"valid_to": last_day}, version=version)


def version_of(db: Database, row: Mapping[str, Any]) -> str:
    """The version of an assignment row as listed, for the form to carry."""
    return store.row_version(db, "assignments", row)


LIST_SQL = """
select a.*, l.code as leader_code, l.full_name, l.position, l.grp,
       u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       i.code as issuer_code, i.name as issuer_name
from assignments a
join leaders l on l.id = a.leader_id
join units u on u.id = a.unit_id
left join cells c on c.id = a.cell_id
left join units i on i.id = a.issuer_unit_id
where (:unit_id is null or a.unit_id = :unit_id)
  and (:leader_id is null or a.leader_id = :leader_id)
  and (:on is null or (a.valid_from <= :on and (a.valid_to is null or a.valid_to >= :on)))
order by u.name, l.full_name, a.valid_from
"""


def list_assignments(db: Database, *, unit_id: int | None = None, leader_id: int | None = None,
                     on: str | None = None) -> list[dict]:
    """Assignments with leader, unit and cell names; current ones when 'on' is a day."""
    return [dict(r) for r in db.query(LIST_SQL, {"unit_id": unit_id, "leader_id": leader_id, "on": on})]


def decision_citation(db: Database, assignment: Mapping[str, Any]) -> str:
    """How a report cites the decision: "Quyết định số 395-QĐ/HU ngày 02/01/2025 của Ban Thường vụ Huyện ủy …"."""
    # The body is the issuer's as it was on the decision's day (org.body_for); without one, the issuer's name.
    row = dict(assignment)
    if "issuer_unit_id" not in row and row.get("id") is not None:
        row = store.get(db, "assignments", row["id"])
    number = row.get("decision_no")
    day = row.get("decision_date") or row.get("valid_from")
    text = t("assign.citation_no", no=number) if number else t("assign.citation")
    if row.get("decision_date"):
        text += t("assign.citation_day", day=fmt_date(row["decision_date"]))
    issuer = row.get("issuer_unit_id")
    if issuer is None:
        return text
    body = org.body_for(db, issuer, day) if day else None
    if body is not None and body.get("committee"):
        return text + t("assign.citation_body", committee=body["committee"])
    found = db.execute("select name from units where id = ?", [issuer]).fetchone()
    return text + t("assign.citation_unit", unit=found[0]) if found else text


def with_citations(db: Database, rows: list[Mapping[str, Any]]) -> list[dict]:
    """Assignment rows each with its decision's citation (decision_citation) under "citation"."""
    return [dict(r, citation=decision_citation(db, r)) for r in rows]
