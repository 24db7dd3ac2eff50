"""Party members per cell over time, and who of them a meeting lists.

A member (card number, name, probationary from admitted_on, official from official_on) belongs to one cell at a
time (member_cells, validity dates, a transfer closes one row and opens the next) and may be exempt from meetings
for a while (member_exemptions). A meeting of a cell lists the members in the cell on its day; exempt ones are
listed apart and stay outside the attendance denominator.
"""

import json
from typing import Any

from sqlite_utils import Database

from lib import org
from lib.domain import Actor, PermissionDenied

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
