"""Every figure of DESIGN.md ("Figures"), computed by SQL aggregates over the period's rows only."""

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from lib.db import session
from lib.domain import LeaderGroup, Rating, WeaknessCategory, WeaknessStatus, last_day
from lib.i18n import t
from lib.settings import thresholds

# The database: an open connection, or a file path opened for the one call.
Source = Database | str | Path

_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A year, quarter or month: its label, first and last day, and its months as (year, month)."""

    label: str
    start: date
    end: date
    months: list[tuple[int, int]] = field(hash=False)

    @property
    def kind(self) -> str:
        """"year", "quarter" or "month"."""
        return "year" if len(self.months) == 12 else "quarter" if len(self.months) == 3 else "month"

    def as_dict(self) -> dict[str, str]:
        """Label, start and end as in `metrics --json`."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


def _months(year: int, first: int, count: int) -> list[tuple[int, int]]:
    return [(year, m) for m in range(first, first + count)]


def _make(year: int, first: int, count: int, label: str) -> Period:
    last = first + count - 1
    return Period(label, date(year, first, 1), date(year, last, last_day(year, last)), _months(year, first, count))


def parse_period(label: str | Period) -> Period:
    """A period from "2025", "2025-Q2" or "2025-03"; ValueError naming the accepted forms otherwise."""
    if isinstance(label, Period):
        return label
    text = str(label or "").strip()
    m = _PERIOD.match(text)
    if m is None or int(m[1]) < 1000 or (m[3] and not 1 <= int(m[3]) <= 12):
        raise ValueError(t("metrics.bad_period", value=text))
    year = int(m[1])
    if m[2]:
        quarter = int(m[2])
        return _make(year, 3 * quarter - 2, 3, f"{year}-Q{quarter}")
    if m[3]:
        return _make(year, int(m[3]), 1, f"{year}-{int(m[3]):02d}")
    return _make(year, 1, 12, str(year))


def previous(period: Period | str) -> Period:
    """The period just before, of the same kind (2025-Q1 → 2024-Q4, 2025-01 → 2024-12)."""
    period = parse_period(period)
    year, month = period.months[0]
    if period.kind == "year":
        return parse_period(str(year - 1))
    if period.kind == "quarter":
        q = (month - 1) // 3 + 1
        return parse_period(f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}")
    return parse_period(f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}")


def month_period(day: date) -> Period:
    """The month containing a day."""
    return parse_period(f"{day.year}-{day.month:02d}")


@dataclass(frozen=True)
class Filters:
    """What the figures cover: units (by code), cell types, meeting types (empty = all); rollup of merged units."""

    unit_codes: tuple[str, ...] = ()
    cell_types: tuple[str, ...] = ()
    mtypes: tuple[str, ...] = ()
    rollup: bool = False

    def params(self) -> dict[str, Any]:
        """The SQL parameters: JSON lists (None = no restriction) and the rollup flag."""

        def as_json(values: tuple) -> str | None:
            return json.dumps([str(v) for v in values]) if values else None

        return {"unit_codes": as_json(tuple(self.unit_codes)), "cell_types": as_json(tuple(self.cell_types)),
                "mtypes": as_json(tuple(self.mtypes)), "rollup": int(bool(self.rollup))}


def _rate(num: float | None, den: float | None) -> float | None:
    return round(num / den, 4) if den else None


def _counted_months(period: Period, today: date) -> list[str]:
    """The period's months not after the current month, as "YYYY-MM"."""
    return [f"{y}-{m:02d}" for y, m in period.months if (y, m) <= (today.year, today.month)]


def _params(period: Period, filters: Filters | None, today: date, **extra: Any) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "today": today.isoformat(),
            "months": json.dumps(_counted_months(period, today)),
            **(filters or Filters()).params(), **extra}


def _rows(db: Database, sql: str, params: dict[str, Any]) -> list[dict]:
    return [dict(r) for r in db.query(sql, params)]


# Units are mapped to the unit they report under: themselves, or with rollup the last
# successor of a chain of mergers (depth-capped so a cycle typed by mistake cannot loop).
SCOPE_SQL = """
with recursive chain(unit_id, report_id, depth) as (
    select id, id, 0 from units
    union all
    select chain.unit_id, u.successor_id, chain.depth + 1
    from chain join units u on u.id = chain.report_id
    where :rollup = 1 and u.successor_id is not null and chain.depth < 32
),
unit_map(unit_id, report_id) as (
    select unit_id, report_id from (
        select unit_id, report_id, row_number() over (partition by unit_id order by depth desc) as rn
        from chain
    ) where rn = 1
),
scope_units(unit_id, report_id) as materialized (
    select um.unit_id, um.report_id
    from unit_map um join units r on r.id = um.report_id
    where :unit_codes is null or r.code in (select value from json_each(:unit_codes))
),
scope_cells(cell_id, own_unit_id, unit_id, meeting_day, valid_from, valid_to) as materialized (
    select c.id, c.unit_id, su.report_id, c.meeting_day, c.valid_from, c.valid_to
    from cells c join scope_units su on su.unit_id = c.unit_id
    where :cell_types is null or c.cell_type in (select value from json_each(:cell_types))
),
months(month) as (select value from json_each(:months))"""

# A cell-month: a counted month on whose first day the cell is valid.
CELL_MONTHS_SQL = """,
cell_months as (
    select sc.cell_id, sc.unit_id, months.month
    from scope_cells sc join months
      on (sc.valid_from is null or sc.valid_from <= months.month || '-01')
     and (sc.valid_to is null or sc.valid_to >= months.month || '-01')
)"""

# On the fixed day, or on the month's last day when the fixed day is beyond it; the date
# arithmetic runs only for the few meetings not on their day.
ON_SCHEDULE = """(cast(substr(held_on, 9, 2) as integer) = meeting_day
    or (cast(substr(held_on, 9, 2) as integer) < meeting_day and substr(date(held_on, '+1 day'), 9, 2) = '01'))"""

# One pass over the period's meetings (the partial index's held_on range), per cell or
# cell-month, then summed to the level asked for. Coverage and on-schedule are
# about regular meetings by definition, so the meeting-type filter narrows only the attendance
# sums; a regular meeting is "held" for a cell-month only when that month is a cell-month;
# cells without a fixed day have no schedule to keep.
ATTENDANCE_SQL = SCOPE_SQL + CELL_MONTHS_SQL + """,
per_cell as (
    select sc.unit_id, sc.cell_id{month},
           count(*) filter (where typed) as meetings,
           sum(m.members_total - m.members_exempt) filter (where typed) as required,
           sum(m.present) filter (where typed) as present,
           sum(m.absent_excused) filter (where typed) as absent_excused,
           sum(m.absent_unexcused) filter (where typed) as absent_unexcused,
           count(*) filter (where regular and sc.meeting_day is not null) as regular,
           count(*) filter (where regular and """ + ON_SCHEDULE + """) as on_schedule,
           count(distinct substr(m.held_on, 1, 7)) filter (
               where regular and substr(m.held_on, 1, 7) in (select month from months)
                 and (sc.valid_from is null or sc.valid_from <= substr(m.held_on, 1, 7) || '-01')
                 and (sc.valid_to is null or sc.valid_to >= substr(m.held_on, 1, 7) || '-01')
           ) as held
    from (
        select m.cell_id, m.held_on, m.members_total, m.members_exempt, m.present, m.absent_excused,
               m.absent_unexcused, m.mtype = 'thuong_ky' as regular,
               (:mtypes is null or m.mtype in (select value from json_each(:mtypes))) as typed
        from meetings m
        where m.deleted_at is null and m.held_on between :start and :end
    ) m cross join scope_cells sc on sc.cell_id = m.cell_id
    -- grouped on scope_cells' column: grouping on m.cell_id tempts the planner to walk the
    -- whole meetings(cell_id, held_on) index to save a sort
    group by sc.cell_id{per_month}
),
att as (
    select {keys}, sum(meetings) as meetings, sum(required) as required, sum(present) as present,
           sum(absent_excused) as absent_excused, sum(absent_unexcused) as absent_unexcused,
           sum(regular) as regular, sum(on_schedule) as on_schedule, sum(held) as held
    from per_cell group by {keys}
),
cov as (select {keys}, count(*) as cell_months from cell_months group by {keys}),
keyset as (select {keys} from att union select {keys} from cov)
select {names},
       coalesce(att.meetings, 0) as meetings, coalesce(att.required, 0) as required,
       coalesce(att.present, 0) as present, coalesce(att.absent_excused, 0) as absent_excused,
       coalesce(att.absent_unexcused, 0) as absent_unexcused,
       coalesce(cov.cell_months, 0) as cell_months, coalesce(att.held, 0) as held,
       coalesce(att.regular, 0) as regular, coalesce(att.on_schedule, 0) as on_schedule
from keyset k
left join att using ({keys}) left join cov using ({keys})
join units u on u.id = k.unit_id {join}
order by {order}
"""

LEVELS = {
    "unit": {"keys": "unit_id", "month": "", "per_month": "",
             "names": "u.code as unit_code, u.name as unit_name", "join": "", "order": "u.code"},
    "cell": {"keys": "unit_id, cell_id", "month": "", "per_month": "",
             "names": "u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name, "
                      "c.cell_type, c.meeting_day",
             "join": "join cells c on c.id = k.cell_id", "order": "u.code, c.code"},
    "unit_month": {"keys": "unit_id, month", "month": ", substr(m.held_on, 1, 7) as month", "per_month": ", month",
                   "names": "u.code as unit_code, u.name as unit_name, k.month", "join": "",
                   "order": "u.code, k.month"},
}

UNIT_KEYS = ("unit_code", "unit_name", "meetings", "required", "present", "absent_excused", "absent_unexcused",
             "rate", "cell_months", "held", "coverage", "on_schedule_rate")


def _attendance(db: Source, level: str, period: Period | str, filters: Filters | None,
                today: date | None) -> list[dict]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        rows = _rows(conn, ATTENDANCE_SQL.format(**LEVELS[level]), _params(period, filters, today))
    for r in rows:
        r["rate"] = _rate(r["present"], r["required"])
        r["coverage"] = _rate(r["held"], r["cell_months"])
        r["on_schedule_rate"] = _rate(r["on_schedule"], r["regular"])
    return rows


def attendance_by_unit(db: Source, period: Period | str, filters: Filters | None = None,
                       today: date | None = None) -> list[dict]:
    """Per unit: meetings, attendance sums and weighted rate, coverage and on-schedule rate."""
    return [{k: r[k] for k in UNIT_KEYS} for r in _attendance(db, "unit", period, filters, today)]


def attendance_by_cell(db: Source, period: Period | str, filters: Filters | None = None,
                       today: date | None = None) -> list[dict]:
    """Per cell (drill-down): the unit figures plus regular and on-schedule counts."""
    return _attendance(db, "cell", period, filters, today)


def attendance_by_unit_month(db: Source, period: Period | str, filters: Filters | None = None,
                             today: date | None = None) -> list[dict]:
    """Per unit and month ("YYYY-MM"): the unit figures, for the heatmap and trend lines."""
    return _attendance(db, "unit_month", period, filters, today)


def attendance_by_month(db: Source, period: Period | str, filters: Filters | None = None,
                        today: date | None = None) -> list[dict]:
    """Per counted month ("YYYY-MM", none after this month): everything in the filters summed."""
    period, today = parse_period(period), today or date.today()
    rows = attendance_by_unit_month(db, period, filters, today)
    return [{"month": month, **_totals([r for r in rows if r["month"] == month])}
            for month in _counted_months(period, today)]


FIRST_MEETING_SQL = """
select min(held_on) from meetings where deleted_at is null
"""


def data_years(db: Source, today: date | None = None) -> list[int]:
    """The years a period can be chosen from: this year back to the first live meeting's, newest first."""
    today = today or date.today()
    with session(db) as conn:
        first = conn.execute(FIRST_MEETING_SQL).fetchone()[0]
    first_year = min(int(first[:4]), today.year) if first else today.year
    return list(range(today.year, first_year - 1, -1))


def _totals(rows: list[dict]) -> dict[str, Any]:
    keys = ("meetings", "required", "present", "absent_excused", "absent_unexcused", "cell_months", "held",
            "regular", "on_schedule")
    tot = {k: sum(r[k] for r in rows) for k in keys}
    tot["rate"] = _rate(tot["present"], tot["required"])
    tot["coverage"] = _rate(tot["held"], tot["cell_months"])
    tot["on_schedule_rate"] = _rate(tot["on_schedule"], tot["regular"])
    return tot


def attendance_totals(db: Source, period: Period | str, filters: Filters | None = None,
                      today: date | None = None) -> dict[str, Any]:
    """The unit figures summed over everything in the filters."""
    return _totals(_attendance(db, "unit", period, filters, today))


def absences(db: Source, period: Period | str, filters: Filters | None = None,
             today: date | None = None) -> dict[str, Any]:
    """Members required, present, absent with and without reason, and the shares of the required."""
    tot = attendance_totals(db, period, filters, today)
    return {"required": tot["required"], "present": tot["present"], "absent_excused": tot["absent_excused"],
            "absent_unexcused": tot["absent_unexcused"],
            "excused_share": _rate(tot["absent_excused"], tot["required"]),
            "unexcused_share": _rate(tot["absent_unexcused"], tot["required"])}


MISSING_SQL = SCOPE_SQL + CELL_MONTHS_SQL + """
select u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       cm.month, case when cm.month = :current_month then 'not_yet_held' else 'missing' end as status
from cell_months cm
join cells c on c.id = cm.cell_id
join units u on u.id = cm.unit_id
where not exists (
    select 1 from meetings m
    where m.cell_id = cm.cell_id and m.held_on >= cm.month || '-01'
      and m.held_on < date(cm.month || '-01', '+1 month')
      and m.mtype = 'thuong_ky' and m.deleted_at is null
)
order by u.code, c.code, cm.month
"""


def missing_meetings(db: Source, period: Period | str, filters: Filters | None = None,
                     today: date | None = None) -> list[dict]:
    """Cell-months without a regular meeting; in the current month they are "not yet held"."""
    period, today = parse_period(period), today or date.today()
    params = _params(period, filters, today, current_month=f"{today.year}-{today.month:02d}")
    with session(db) as conn:
        rows = _rows(conn, MISSING_SQL, params)
    for r in rows:
        r["status_label"] = t(f"metrics.{r['status']}")
    return rows


def cells_missing_last_month(db: Source, filters: Filters | None = None, today: date | None = None) -> list[dict]:
    """Cells that held no regular meeting last month (the month before today's)."""
    today = today or date.today()
    return missing_meetings(db, month_period(today.replace(day=1) - timedelta(days=1)), filters, today)


# Per assignment: expected in thirds of required_per_quarter (exact integers), the
# distinct meetings attended inside period and validity, and the report status of each.
# The joins are written as CROSS JOINs to fix their order: the period's meetings (index range)
# drive, each probes its leaders, then the (materialized, small) assignments of those leaders.
# The cell-type filter keeps cell-level assignments on cells of those types only: a
# unit-level assignment is not about any one type. The meeting-type filter narrows attended.
ASSIGNMENT_SQL = SCOPE_SQL + """,
asg as materialized (
    select a.id, a.leader_id, a.unit_id, a.cell_id, a.required_per_quarter, a.valid_from, a.valid_to,
           max(a.valid_from, :start) as from_day, min(coalesce(a.valid_to, :end), :end) as to_day
    from assignments a join scope_units su on su.unit_id = a.unit_id
    where a.valid_from <= :end and (a.valid_to is null or a.valid_to >= :start)
      and ((:cell_types is null and a.cell_id is null) or a.cell_id in (select cell_id from scope_cells))
),
asg_months as (
    select asg.id, count(months.month) as months
    from asg left join months
      on asg.valid_from <= date(months.month || '-01', '+1 month', '-1 day')
     and (asg.valid_to is null or asg.valid_to >= months.month || '-01')
    group by asg.id
),
counted as (
    select asg.id as assignment_id, m.id as meeting_id, m.cell_id, c.unit_id, m.held_on, m.mtype, ml.leader_id,
           ml.report_submitted_on,
           case when ml.report_submitted_on is null then 'missing'
                when julianday(ml.report_submitted_on) - julianday(m.held_on) > :report_days then 'late'
                else 'on_time' end as report_status
    from meetings m
    cross join meeting_leaders ml
    cross join asg
    cross join cells c
    where ml.meeting_id = m.id and asg.leader_id = ml.leader_id and c.id = m.cell_id
      and m.deleted_at is null and m.held_on between :start and :end
      and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
      and m.held_on between asg.from_day and asg.to_day
      and (m.cell_id = asg.cell_id or (asg.cell_id is null and c.unit_id = asg.unit_id))
),
per_assignment as (
    select asg.id as assignment_id, asg.leader_id, asg.unit_id, asg.cell_id, asg.required_per_quarter,
           asg.valid_from, asg.valid_to, am.months,
           asg.required_per_quarter * am.months as expected_thirds,
           coalesce(n.attended, 0) as attended,
           min(3 * coalesce(n.attended, 0), asg.required_per_quarter * am.months) as capped_thirds,
           coalesce(n.reports, 0) as reports, coalesce(n.late, 0) as late_reports,
           coalesce(n.attended, 0) - coalesce(n.reports, 0) as missing_reports
    from asg join asg_months am on am.id = asg.id
    left join (
        select assignment_id, count(*) as attended, sum(report_status != 'missing') as reports,
               sum(report_status = 'late') as late
        from counted group by assignment_id
    ) n on n.assignment_id = asg.id
)"""

BY_ASSIGNMENT_SQL = ASSIGNMENT_SQL + """
select p.assignment_id, l.code as leader_code, l.full_name, l.grp, u.code as unit_code, u.name as unit_name,
       c.code as cell_code, c.name as cell_name, a.decision_no, p.valid_from, p.valid_to,
       p.required_per_quarter, p.months, p.expected_thirds, p.attended, p.capped_thirds,
       p.reports, p.late_reports, p.missing_reports
from per_assignment p
join assignments a on a.id = p.assignment_id
join leaders l on l.id = p.leader_id
join units u on u.id = p.unit_id
left join cells c on c.id = p.cell_id
order by l.code, u.code, c.code, p.valid_from
"""

BY_LEADER_SQL = ASSIGNMENT_SQL + """
select l.code as leader_code, l.full_name, l.grp, count(*) as assignments,
       sum(p.expected_thirds) as expected_thirds, sum(p.attended) as attended,
       sum(p.capped_thirds) as capped_thirds, sum(p.reports) as reports,
       sum(p.late_reports) as late_reports, sum(p.missing_reports) as missing_reports
from per_assignment p join leaders l on l.id = p.leader_id
group by p.leader_id
order by l.code
"""

BY_GROUP_SQL = ASSIGNMENT_SQL + """
select l.grp, count(distinct p.leader_id) as leaders, count(*) as assignments,
       sum(p.expected_thirds) as expected_thirds, sum(p.attended) as attended,
       sum(p.capped_thirds) as capped_thirds, sum(p.reports) as reports,
       sum(p.late_reports) as late_reports, sum(p.missing_reports) as missing_reports
from per_assignment p join leaders l on l.id = p.leader_id
group by l.grp
"""

LEADER_MEETINGS_SQL = ASSIGNMENT_SQL + """
select x.assignment_id, x.meeting_id, x.held_on, x.mtype, u.code as unit_code, u.name as unit_name,
       c.code as cell_code, c.name as cell_name, x.report_submitted_on, x.report_status
from counted x
join leaders l on l.id = x.leader_id
join cells c on c.id = x.cell_id
join units u on u.id = x.unit_id
where l.code = :leader_code
order by x.held_on, c.code
"""


def _participation(db: Source, sql: str, period: Period | str, filters: Filters | None,
                   today: date | None, **extra: Any) -> list[dict]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        params = _params(period, filters, today, report_days=thresholds(conn).report_days, **extra)
        rows = _rows(conn, sql, params)
    for r in rows:
        if "expected_thirds" in r:
            r["expected"] = round(r["expected_thirds"] / 3, 4)
            r["compliance"] = _rate(r["capped_thirds"], r["expected_thirds"])
    return rows


def leader_participation(db: Source, period: Period | str, filters: Filters | None = None,
                         today: date | None = None) -> list[dict]:
    """Per leader: expected and attended meetings over their assignments, compliance, reports and late ones."""
    keys = ("leader_code", "full_name", "grp", "expected", "attended", "compliance", "reports", "late_reports")
    return [{k: r[k] for k in keys} for r in _participation(db, BY_LEADER_SQL, period, filters, today)]


def participation_by_leader(db: Source, period: Period | str, filters: Filters | None = None,
                            today: date | None = None) -> list[dict]:
    """Per leader, with the missing reports and the sums in thirds behind the figures."""
    return _participation(db, BY_LEADER_SQL, period, filters, today)


def participation_by_group(db: Source, period: Period | str, filters: Filters | None = None,
                           today: date | None = None) -> list[dict]:
    """Per leader group (Standing Committee first): the leader sums and compliance."""
    order = {g.value: i for i, g in enumerate(LeaderGroup)}
    rows = _participation(db, BY_GROUP_SQL, period, filters, today)
    return sorted(rows, key=lambda r: (order.get(r["grp"], len(order)), r["grp"]))


def participation_by_assignment(db: Source, period: Period | str, filters: Filters | None = None,
                                today: date | None = None) -> list[dict]:
    """One row per assignment with leader, unit and cell names, for the drill-down."""
    return _participation(db, BY_ASSIGNMENT_SQL, period, filters, today)


def leader_meetings(db: Source, period: Period | str, leader_code: str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """The meetings a leader attended that count for their assignments, with each report's status."""
    rows = _participation(db, LEADER_MEETINGS_SQL, period, filters, today, leader_code=leader_code)
    for r in rows:
        r["report_label"] = t(f"metrics.report_{r['report_status']}")
    return rows


def report_status(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, int]:
    """Attendances counted for assignments, and their reports on time, late and missing."""
    rows = participation_by_group(db, period, filters, today)
    attended = sum(r["attended"] for r in rows)
    late = sum(r["late_reports"] for r in rows)
    missing = sum(r["missing_reports"] for r in rows)
    return {"attended": attended, "on_time": attended - late - missing, "late": late, "missing": missing}


def leaders_without_attendance(db: Source, period: Period | str, filters: Filters | None = None,
                               today: date | None = None) -> list[dict]:
    """Leaders expected at meetings in the period who attended none."""
    return [r for r in participation_by_leader(db, period, filters, today)
            if r["expected_thirds"] > 0 and r["attended"] == 0]


def leaders_below_assignment(db: Source, period: Period | str, filters: Filters | None = None,
                             today: date | None = None) -> list[dict]:
    """Leaders whose compliance is under 1 in the period, lowest first."""
    rows = [r for r in participation_by_leader(db, period, filters, today)
            if r["compliance"] is not None and r["compliance"] < 1]
    return sorted(rows, key=lambda r: (r["compliance"], r["leader_code"]))


def leader_totals(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, Any]:
    """Expected, attended, compliance and reports over every assignment in the filters."""
    return _compliance_totals(participation_by_group(db, period, filters, today))


def _compliance_totals(rows: list[dict]) -> dict[str, Any]:
    expected = sum(r["expected_thirds"] for r in rows)
    return {"expected": round(expected / 3, 4), "attended": sum(r["attended"] for r in rows),
            "compliance": _rate(sum(r["capped_thirds"] for r in rows), expected),
            "reports": sum(r["reports"] for r in rows), "late_reports": sum(r["late_reports"] for r in rows),
            "missing_reports": sum(r["missing_reports"] for r in rows)}


# Weaknesses: the cell-type filter keeps those on a cell of those types (a unit-level one
# has no type); meeting types do not apply to them.
WEAKNESS_SCOPE_SQL = SCOPE_SQL + """,
scoped_weaknesses as materialized (
    select w.id, w.unit_id, su.report_id, w.cell_id, w.category, w.severity, w.status,
           w.noted_on, w.due_on, w.resolved_on
    from weaknesses w cross join scope_units su
    where su.unit_id = w.unit_id and w.deleted_at is null
      and (:cell_types is null or w.cell_id in (select cell_id from scope_cells))
)"""

WEAKNESS_SUMMARY_SQL = WEAKNESS_SCOPE_SQL + """
select 'category' as dim, category as key, count(*) as n, 0 as resolved
from scoped_weaknesses where noted_on between :start and :end group by category
union all
select 'status', status, count(*), 0
from scoped_weaknesses where noted_on between :start and :end group by status
union all
select 'unit', u.code, sum(w.status != 'resolved'), sum(w.status = 'resolved')
from scoped_weaknesses w join units u on u.id = w.report_id
where w.noted_on between :start and :end group by u.code
union all
select 'open_now', null, count(*), 0 from scoped_weaknesses where status != 'resolved'
union all
select 'overdue', null, count(*), 0 from scoped_weaknesses where status != 'resolved' and due_on < :today
"""

# Open on a day: noted by then and not resolved by then (a resolved one without a date stays resolved).
WEAKNESS_AS_OF_SQL = WEAKNESS_SCOPE_SQL + """
select coalesce(sum(open), 0) as open, coalesce(sum(open and due_on < :as_of), 0) as overdue,
       coalesce(sum(noted_on between :start and :end), 0) as noted
from (
    select *, noted_on <= :as_of and (status != 'resolved' or resolved_on > :as_of) as open
    from scoped_weaknesses
)
"""

OPEN_WEAKNESSES_SQL = WEAKNESS_SCOPE_SQL + """
select w.id, u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       w.category, w.severity, w.status, w.noted_on, w.due_on,
       cast(julianday(:today) - julianday(w.noted_on) as integer) as age_days,
       coalesce(w.due_on < :today, 0) as overdue
from scoped_weaknesses w
join units u on u.id = w.report_id
left join cells c on c.id = w.cell_id
where w.status != 'resolved'
order by age_days desc, w.id
"""

AGE_BANDS = ("0-30", "31-90", "91-180", "181+")

AGEING_SQL = WEAKNESS_SCOPE_SQL + """
select sum(age <= 30) as b0, sum(age between 31 and 90) as b1, sum(age between 91 and 180) as b2,
       sum(age > 180) as b3
from (
    select cast(julianday(:today) - julianday(noted_on) as integer) as age
    from scoped_weaknesses where status != 'resolved'
)
"""

WEAKNESS_MATRIX_SQL = WEAKNESS_SCOPE_SQL + """
select u.code as unit_code, u.name as unit_name, w.category, count(*) as n,
       sum(w.status != 'resolved') as open, sum(w.status = 'resolved') as resolved
from scoped_weaknesses w join units u on u.id = w.report_id
where w.noted_on between :start and :end
group by u.code, w.category
order by u.code
"""

WEAKNESS_TREND_SQL = WEAKNESS_SCOPE_SQL + """
select months.month,
       (select count(*) from scoped_weaknesses w where substr(w.noted_on, 1, 7) = months.month) as noted,
       (select count(*) from scoped_weaknesses w
        where w.status = 'resolved' and substr(w.resolved_on, 1, 7) = months.month) as resolved,
       (select count(*) from scoped_weaknesses w
        where w.noted_on <= date(months.month || '-01', '+1 month', '-1 day')
          and (w.status != 'resolved' or w.resolved_on > date(months.month || '-01', '+1 month', '-1 day'))
       ) as open_at_end
from months order by months.month
"""


def _weakness_rows(db: Source, sql: str, period: Period | str, filters: Filters | None, today: date | None,
                   **extra: Any) -> list[dict]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        return _rows(conn, sql, _params(period, filters, today, **extra))


def weakness_summary(db: Source, period: Period | str, filters: Filters | None = None,
                     today: date | None = None) -> dict[str, Any]:
    """Weaknesses noted in the period by category, status and unit; open now and overdue whenever noted."""
    rows = _weakness_rows(db, WEAKNESS_SUMMARY_SQL, period, filters, today)
    by = {"category": {}, "status": {}}
    units, totals = [], {}
    for r in rows:
        if r["dim"] in by:
            by[r["dim"]][r["key"]] = r["n"]
        elif r["dim"] == "unit":
            units.append({"unit_code": r["key"], "open": r["n"], "resolved": r["resolved"]})
        else:
            totals[r["dim"]] = r["n"]
    return {"by_category": {c.value: by["category"].get(c.value, 0) for c in WeaknessCategory},
            "by_status": {s.value: by["status"].get(s.value, 0) for s in WeaknessStatus},
            "by_unit": sorted(units, key=lambda u: u["unit_code"]),
            "open_now": totals.get("open_now", 0), "overdue": totals.get("overdue", 0)}


def open_weaknesses(db: Source, filters: Filters | None = None, today: date | None = None) -> list[dict]:
    """Every weakness not resolved, oldest first, with its age in days and whether it is overdue."""
    today = today or date.today()
    # Open ones are listed whenever noted: the period only fills the shared parameters.
    return _weakness_rows(db, OPEN_WEAKNESSES_SQL, month_period(today), filters, today)


def weakness_ageing(db: Source, filters: Filters | None = None, today: date | None = None) -> list[dict]:
    """Open weaknesses by age band (0-30, 31-90, 91-180, 181+ days), for the ageing chart."""
    today = today or date.today()
    counts = _weakness_rows(db, AGEING_SQL, month_period(today), filters, today)[0]
    return [{"bucket": band, "count": counts[f"b{i}"] or 0} for i, band in enumerate(AGE_BANDS)]


def weakness_matrix(db: Source, period: Period | str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """Weaknesses noted in the period per unit and category, with open and resolved counts."""
    return _weakness_rows(db, WEAKNESS_MATRIX_SQL, period, filters, today)


def weakness_trend(db: Source, period: Period | str, filters: Filters | None = None,
                   today: date | None = None) -> list[dict]:
    """Per counted month: weaknesses noted, resolved, and open at the month's end."""
    return _weakness_rows(db, WEAKNESS_TREND_SQL, period, filters, today)


def _weaknesses_as_of(db: Source, period: Period, filters: Filters | None, today: date) -> dict[str, int]:
    as_of = min(period.end, today).isoformat()
    return _weakness_rows(db, WEAKNESS_AS_OF_SQL, period, filters, today, as_of=as_of)[0]


QUALITY_SQL = SCOPE_SQL + """
select u.code as unit_code, u.name as unit_name, count(*) as meetings,
       sum(m.rating = 'tot') as tot, sum(m.rating = 'kha') as kha, sum(m.rating = 'trung_binh') as trung_binh,
       sum(m.rating = 'kem') as kem, sum(m.rating is null) as unrated,
       sum(m.leadership) as leadership, sum(m.education) as education, sum(m.combativeness) as combativeness,
       sum(m.duration_minutes is not null) as with_duration, sum(m.duration_minutes < :min_duration) as short
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join units u on u.id = sc.unit_id
where m.deleted_at is null and m.held_on between :start and :end
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
group by sc.unit_id
order by u.code
"""

SHORT_MEETINGS_SQL = SCOPE_SQL + """
select m.id, m.held_on, m.mtype, u.code as unit_code, u.name as unit_name, c.code as cell_code,
       c.name as cell_name, m.duration_minutes
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join cells c on c.id = m.cell_id
join units u on u.id = sc.unit_id
where m.deleted_at is null and m.held_on between :start and :end and m.duration_minutes < :min_duration
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
order by m.duration_minutes, m.held_on
limit :limit
"""

QUALITY_KEYS = ("meetings", "tot", "kha", "trung_binh", "kem", "unrated", "leadership", "education",
                "combativeness", "with_duration", "short")
PROPERTIES = ("leadership", "education", "combativeness")


def quality_by_unit(db: Source, period: Period | str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """Per unit: meetings by rating, with each of the three properties, and under the minimum duration."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        params = _params(period, filters, today, min_duration=thresholds(conn).min_duration)
        rows = _rows(conn, QUALITY_SQL, params)
    for r in rows:
        for k in QUALITY_KEYS:
            r[k] = r[k] or 0
    return rows


def _quality_totals(rows: list[dict]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in QUALITY_KEYS}


def rating_distribution(db: Source, period: Period | str, filters: Filters | None = None,
                        today: date | None = None) -> dict[str, int]:
    """Meetings rated Tốt, Khá, Trung bình, Kém, and unrated."""
    tot = _quality_totals(quality_by_unit(db, period, filters, today))
    return {**{r.value: tot[r.value] for r in Rating}, "unrated": tot["unrated"]}


def properties(db: Source, period: Period | str, filters: Filters | None = None,
               today: date | None = None) -> list[dict]:
    """For leadership, education and combativeness: meetings showing it and their share."""
    tot = _quality_totals(quality_by_unit(db, period, filters, today))
    return [{"property": p, "count": tot[p], "meetings": tot["meetings"], "share": _rate(tot[p], tot["meetings"])}
            for p in PROPERTIES]


def short_meetings(db: Source, period: Period | str, filters: Filters | None = None,
                   today: date | None = None, limit: int = 200) -> dict[str, Any]:
    """Meetings under the minimum duration (setting): how many of those with a duration, and the shortest."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        minimum = thresholds(conn).min_duration
        tot = _quality_totals(quality_by_unit(conn, period, filters, today))
        rows = _rows(conn, SHORT_MEETINGS_SQL, _params(period, filters, today, min_duration=minimum, limit=limit))
    return {"min_duration": minimum, "with_duration": tot["with_duration"], "short": tot["short"],
            "share": _rate(tot["short"], tot["with_duration"]), "meetings": rows}


# Upper bounds of the duration bands in minutes (the last is open).
DURATION_BANDS = (("<60", 59), ("60-89", 89), ("90-119", 119), ("120+", None))

DURATION_SQL = SCOPE_SQL + """
select sum(m.duration_minutes < 60) as b0, sum(m.duration_minutes between 60 and 89) as b1,
       sum(m.duration_minutes between 90 and 119) as b2, sum(m.duration_minutes >= 120) as b3
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
where m.deleted_at is null and m.held_on between :start and :end and m.duration_minutes is not null
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
"""


def duration_bands(db: Source, period: Period | str, filters: Filters | None = None,
                   today: date | None = None) -> list[dict]:
    """Meetings with a duration by band, each marked short when the whole band is under the minimum (setting)."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        minimum = thresholds(conn).min_duration
        counts = _rows(conn, DURATION_SQL, _params(period, filters, today))[0]
    return [{"bucket": band, "count": counts[f"b{i}"] or 0, "short": top is not None and top < minimum}
            for i, (band, top) in enumerate(DURATION_BANDS)]


HEADLINE_KEYS = ("attendance_rate", "coverage", "on_schedule_rate", "leader_compliance", "reports_late",
                 "reports_missing", "weaknesses_open", "weaknesses_overdue")


def _headline(db: Source, period: Period, filters: Filters | None, today: date) -> dict[str, Any]:
    att = attendance_totals(db, period, filters, today)
    lead = _compliance_totals(participation_by_group(db, period, filters, today))
    weak = _weaknesses_as_of(db, period, filters, today)
    return {"attendance_rate": att["rate"], "coverage": att["coverage"], "on_schedule_rate": att["on_schedule_rate"],
            "leader_compliance": lead["compliance"], "reports_late": lead["late_reports"],
            "reports_missing": lead["missing_reports"], "weaknesses_open": weak["open"],
            "weaknesses_overdue": weak["overdue"], "meetings": att["meetings"],
            "missing_meetings": att["cell_months"] - att["held"], "weaknesses_noted": weak["noted"]}


def overview(db: Source, period: Period | str, filters: Filters | None = None,
             today: date | None = None) -> dict[str, Any]:
    """Headline figures for the period and the one before, and the change (weaknesses as of each period's end)."""
    period, today = parse_period(period), today or date.today()
    prev = previous(period)
    with session(db) as conn:
        current, before = _headline(conn, period, filters, today), _headline(conn, prev, filters, today)
    change = {k: (None if current[k] is None or before[k] is None else round(current[k] - before[k], 4))
              for k in current}
    return {"period": period.as_dict(), "previous_period": prev.as_dict(), "current": current,
            "previous": before, "change": change}


def _unit_exists(db: Database, code: str) -> bool:
    return db.execute("select 1 from units where code = ?", [code]).fetchone() is not None


def compute(db: Source, period_label: str, unit_code: str | None = None,
            today: date | None = None) -> dict[str, Any]:
    """The figures of `metrics --json`: period, attendance by unit, leader participation, weaknesses."""
    period, today = parse_period(period_label), today or date.today()
    filters = Filters(unit_codes=(unit_code,) if unit_code else ())
    with session(db) as conn:
        if unit_code and not _unit_exists(conn, unit_code):
            raise ValueError(t("metrics.unknown_unit", code=unit_code))
        return {"period": period.as_dict(),
                "attendance_by_unit": attendance_by_unit(conn, period, filters, today),
                "leader_participation": leader_participation(conn, period, filters, today),
                "weaknesses": weakness_summary(conn, period, filters, today)}
