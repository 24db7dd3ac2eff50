"""The floor: bare SQL aggregates over the same rows a page reads, with none of the figures' logic."""

from typing import Any

from lib import metrics

# Deliberately outside lib/: these are not figures, only the cheapest scan of the rows behind them.
MEETINGS_FLOOR = """
select c.unit_id, count(*), sum(m.present), sum(m.members_total - m.members_exempt),
       sum(m.absent_excused), sum(m.absent_unexcused)
from meetings m join cells c on c.id = m.cell_id
where m.deleted_at is null and m.held_on between :start and :end
group by 1
"""

QUALITY_FLOOR = """
select c.unit_id, m.rating, count(*), sum(m.duration_minutes < 90), sum(m.leadership)
from meetings m join cells c on c.id = m.cell_id
where m.deleted_at is null and m.held_on between :start and :end
group by 1, 2
"""

LEADERS_FLOOR = """
select ml.leader_id, count(*), count(ml.report_submitted_on)
from meetings m join meeting_leaders ml on ml.meeting_id = m.id
where m.deleted_at is null and m.held_on between :start and :end
group by 1
"""

WEAKNESSES_FLOOR = """
select unit_id, category, status, count(*)
from weaknesses
where deleted_at is null
group by 1, 2, 3
"""

# Per page, (query, which period) pairs: "current" the period asked for, "previous" the one before.
FLOORS: dict[str, tuple[tuple[str, str], ...]] = {
    "overview": ((MEETINGS_FLOOR, "current"), (MEETINGS_FLOOR, "previous"), (LEADERS_FLOOR, "current"),
                 (LEADERS_FLOOR, "previous"), (WEAKNESSES_FLOOR, "current")),
    "attendance": ((MEETINGS_FLOOR, "current"),),
    "leaders": ((LEADERS_FLOOR, "current"),),
    "weaknesses": ((WEAKNESSES_FLOOR, "current"),),
    "quality": ((QUALITY_FLOOR, "current"),),
    "compute": ((MEETINGS_FLOOR, "current"), (LEADERS_FLOOR, "current"), (WEAKNESSES_FLOOR, "current")),
}


def run(conn: Any, page: str, period: metrics.Period) -> int:
    """Run the page's floor queries on a sqlite3 connection; return the rows read back (to use the result)."""
    periods = {"current": period, "previous": metrics.previous(period)}
    rows = 0
    for sql, which in FLOORS[page]:
        p = periods[which]
        rows += len(conn.execute(sql, {"start": p.start.isoformat(), "end": p.end.isoformat()}).fetchall())
    return rows
