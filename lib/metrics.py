"""Every figure of DESIGN.md ("Figures"), computed by SQL aggregates over the period's rows only."""

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from lib.db import session
from lib.domain import Rating, WeaknessCategory, WeaknessStatus, last_day
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


def last_complete(kind: str, today: date) -> Period:
    """The last month, quarter or year wholly before today's: the period a dashboard or report opens on."""
    if kind == "month":
        return previous(month_period(today))
    if kind == "quarter":
        return previous(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    return parse_period(str(today.year - 1))


@dataclass(frozen=True)
class Filters:
    """What the figures cover: the subtrees of units (by code), cell types, meeting types (empty = all); rollup
    of merged units; the node in view (by code; None = the home node), whose children are the rows "by unit"."""

    unit_codes: tuple[str, ...] = ()
    cell_types: tuple[str, ...] = ()
    mtypes: tuple[str, ...] = ()
    rollup: bool = False
    node: str | None = None

    def params(self) -> dict[str, Any]:
        """The SQL parameters: JSON lists (None = no restriction), the rollup flag and the node in view."""

        def as_json(values: tuple) -> str | None:
            return json.dumps([str(v) for v in values]) if values else None

        return {"unit_codes": as_json(tuple(self.unit_codes)), "cell_types": as_json(tuple(self.cell_types)),
                "mtypes": as_json(tuple(self.mtypes)), "rollup": int(bool(self.rollup)), "node": self.node or None}


def _rate(num: float | None, den: float | None) -> float | None:
    return round(num / den, 4) if den else None


def _counted_months(period: Period, today: date) -> list[str]:
    """The period's months not after the current month, as "YYYY-MM"."""
    return [f"{y}-{m:02d}" for y, m in period.months if (y, m) <= (today.year, today.month)]


def _open_from(year: int, month: int, today: date, grace: int) -> int | None:
    """The first fixed day whose cell-month is not yet due on today, or None when every one is due.

    A cell-month falls due the day after its fixed day (the month's last day when shorter, or with no
    fixed day) plus `grace`: on today, those with a fixed day at or after this number are still to come.
    Only the month in progress (and, with a grace, the one or two before it) can return a number:
    every other month reads as before, with no test per cell-month."""
    first_due = (today - date(year, month, 1)).days + 1 - grace
    return first_due if first_due <= last_day(year, month) else None


def _params(period: Period, filters: Filters | None, today: date, grace: int = 0, **extra: Any) -> dict[str, Any]:
    months = [(y, m) for y, m in period.months if (y, m) <= (today.year, today.month)]
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "today": today.isoformat(),
            "months": json.dumps([f"{y}-{m:02d}" for y, m in months]),
            "open_from": json.dumps([_open_from(y, m, today, grace) for y, m in months]),
            **(filters or Filters()).params(), **extra}


@lru_cache(maxsize=256)
def _specialized_sql(sql: str, whole_scope: bool, all_types: bool) -> str:
    if whole_scope and sql.startswith(SCOPE_SQL):
        sql = (WHOLE_SCOPE_SQL + sql[len(SCOPE_SQL):]).replace(SCOPED_WEAKNESS_ROWS, WHOLE_SCOPE_WEAKNESS_ROWS)
    return sql.replace(TYPED_FILTER, "") if all_types else sql


def _execute(db: Database, sql: str, params: dict[str, Any]) -> Any:
    """Run a figure's statement, without the filters' tests when the filters narrow nothing."""
    whole_scope = (params.get("unit_codes") is None and params.get("cell_types") is None and not params.get("rollup")
                   and sql.startswith(SCOPE_SQL) and db.execute(FLAT_SQL, params).fetchone()[0] == 1)
    return db.execute(_specialized_sql(sql, whole_scope, params.get("mtypes") is None), params)


def _rows(db: Database, sql: str, params: dict[str, Any]) -> list[dict]:
    cursor = _execute(db, sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _rows_by_kind(db: Database, sql: str, params: dict[str, Any],
                  keys: dict[str, tuple[str, ...]]) -> dict[str, list[dict]]:
    """The rows of a statement uniting several kinds of row (its first column), each kind with its own keys."""
    cursor = _execute(db, sql, params)
    names = [d[0] for d in cursor.description]
    pick = {kind: itemgetter(*(names.index(k) for k in wanted)) for kind, wanted in keys.items()}
    out: dict[str, list[dict]] = {kind: [] for kind in keys}
    for row in cursor:
        kind = row[0]
        out[kind].append(dict(zip(keys[kind], pick[kind](row), strict=True)))
    return out


# Units are nodes of a tree (docs/ORGANISATION.md). The figures "by unit" are the rows of the children of
# the node in view (Filters.node, else the home node: setting home_unit, else the only root; with no such
# node, the roots themselves are the rows). Each unit is mapped to the row it reports under by walking up
# its parents to the node in view: the node just below it (or the node itself, for cells hanging directly
# under it). With rollup every step of the walk first goes to the last successor of a chain of mergers, so
# a party sub-committee of a merged commune rolls up into the commune it merged into (depth-capped so a
# cycle typed by mistake cannot loop). Unit codes narrow to their subtrees: a unit is in scope when its
# walk passes one of them, or when the node in view lies inside one of them.
# The months are materialized with their first day: read once, not once per cell they are joined with.
VIEW_CTE = """view_node(id, inside) as materialized (
    select v.id, exists (
        select 1 from unit_tree t join units a on a.id = t.ancestor_id
        where t.descendant_id = v.id and a.code in (select value from json_each(:unit_codes)))
    from (select coalesce(
        (select id from units where code = coalesce(:node, (select value from settings where key = 'home_unit'))),
        (select min(id) from units where parent_id is null having count(*) = 1)) as id) v
)"""

# Whether every unit is the node in view or one of its children: then each unit is its own row.
FLAT_SQL = "with " + VIEW_CTE + """
select not exists (select 1 from units u cross join view_node v where u.id is not v.id and u.parent_id is not v.id)
"""


SCOPE_SQL = """
with recursive chain(unit_id, report_id, depth) as (
    select id, id, 0 from units
    union all
    select chain.unit_id, u.successor_id, chain.depth + 1
    from chain join units u on u.id = chain.report_id
    where :rollup = 1 and u.successor_id is not null and chain.depth < 32
),
unit_map(unit_id, report_id) as materialized (
    select unit_id, report_id from (
        select unit_id, report_id, row_number() over (partition by unit_id order by depth desc) as rn
        from chain
    ) where rn = 1
),
""" + VIEW_CTE + """,
walk(unit_id, node_id, below_id, hit, depth) as (
    select um.unit_id, um.report_id, cast(null as integer),
           :unit_codes is not null and r.code in (select value from json_each(:unit_codes)), 0
    from unit_map um join units r on r.id = um.report_id
    union all
    select w.unit_id, pm.report_id, w.node_id,
           w.hit or (:unit_codes is not null and p.code in (select value from json_each(:unit_codes))), w.depth + 1
    from walk w
    join units n on n.id = w.node_id
    join unit_map pm on pm.unit_id = n.parent_id
    join units p on p.id = pm.report_id
    where w.node_id is not (select id from view_node) and w.depth < 32
),
scope_units(unit_id, report_id) as materialized (
    select w.unit_id, case when v.id is not null and w.below_id is not null then w.below_id else w.node_id end
    from walk w cross join view_node v join units n on n.id = w.node_id
    where (w.node_id = v.id or (v.id is null and n.parent_id is null))
      and (:unit_codes is null or w.hit or v.inside)
),
scope_cells(cell_id, own_unit_id, unit_id, meeting_day, valid_from, valid_to) as materialized (
    select c.id, c.unit_id, su.report_id, c.meeting_day, c.valid_from, c.valid_to
    from cells c join scope_units su on su.unit_id = c.unit_id
    where :cell_types is null or c.cell_type in (select value from json_each(:cell_types))
),
months(month, first, open_from) as materialized (
    select value, value || '-01', cast(:open_from ->> key as integer) from json_each(:months)
)"""

# The same scope when nothing narrows it, merged units are not rolled up and every unit is the node in
# view or one of its children (FLAT_SQL; always so before units had parents): every unit reports under
# itself and every cell is in scope. Statements that start with SCOPE_SQL run with this one instead in that
# case (_execute): the same rows, without the mapping's recursion and lookups.
WHOLE_SCOPE_SQL = """
with scope_units(unit_id, report_id) as materialized (select id, id from units),
scope_cells(cell_id, own_unit_id, unit_id, meeting_day, valid_from, valid_to) as materialized (
    select id, unit_id, unit_id, meeting_day, valid_from, valid_to from cells
),
months(month, first, open_from) as materialized (
    select value, value || '-01', cast(:open_from ->> key as integer) from json_each(:months)
)"""

# A cell-month: a counted month on whose first day the cell is valid (sc: scope cells, or spans of them).
# Cells outer, months inner: one cell's probes of an index follow each other.
CELL_MONTHS_JOIN = """cross join months
      on (sc.valid_from is null or sc.valid_from <= months.first)
     and (sc.valid_to is null or sc.valid_to >= months.first)"""

# On the fixed day, or on the month's last day when the fixed day is beyond it; the date
# arithmetic runs only for the few meetings not on their day.
ON_SCHEDULE = """(cast(substr(held_on, 9, 2) as integer) = meeting_day
    or (cast(substr(held_on, 9, 2) as integer) < meeting_day and substr(date(held_on, '+1 day'), 9, 2) = '01'))"""

# The meeting-type filter; it narrows the attendance sums only.
TYPED = "(:mtypes is null or m.mtype in (select value from json_each(:mtypes)))"
# As an aggregate's filter; dropped from the statement when no meeting type is chosen (_execute).
TYPED_FILTER = " filter (where " + TYPED + ")"

# A meeting of a cell in scope. Asked of the index's cell_id, so meetings outside a unit or
# cell-type filter are dropped before their row is read; without those filters every cell is in scope.
IN_SCOPE = "((:unit_codes is null and :cell_types is null) or m.cell_id in (select cell_id from scope_cells))"

# The cell-months without a regular meeting, with the unit they count under: each cell-month asks
# the partial index of live regular meetings by (cell, month) whether it holds one, an equality probe
# that reads no table row. Those whose due day has not passed yet (only in the months with an
# open_from) are upcoming; the others are the missing meetings. In those months a meeting counts once
# held, by today: seen as of an earlier day (the previous period, like for like) a later one is not yet.
MISSING_CTE = """,
unheld(unit_id, cell_id, month, upcoming) as materialized (
    select sc.unit_id, sc.cell_id, months.month, coalesce(coalesce(sc.meeting_day, 31) >= months.open_from, 0)
    from scope_cells sc
    """ + CELL_MONTHS_JOIN + """
    where not exists (
        select 1 from meetings m
        where m.cell_id = sc.cell_id and substr(m.held_on, 1, 7) = months.month
          and m.deleted_at is null and m.mtype = 'thuong_ky'
          and (months.open_from is null or m.held_on <= :today))
)"""

# One pass over the period's meetings (the partial index's held_on range) grouped by the cell's
# own unit (and cell or month, by level); scope then maps the few groups to the unit they report
# under. A cell-month is held unless it is unheld, so coverage needs no count of distinct months; the
# due cell-months are the cell-months less the upcoming ones.
# Coverage and on-schedule are about regular meetings by definition, so the meeting-type filter
# narrows only the attendance sums; cells without a fixed day have no schedule to keep.
ATTENDANCE_CTES = SCOPE_SQL + MISSING_CTE + """,
own as (
    select c.unit_id{own_select},
           count(*)""" + TYPED_FILTER + """ as meetings,
           sum(m.members_total - m.members_exempt)""" + TYPED_FILTER + """ as required,
           sum(m.present)""" + TYPED_FILTER + """ as present,
           sum(m.absent_excused)""" + TYPED_FILTER + """ as absent_excused,
           sum(m.absent_unexcused)""" + TYPED_FILTER + """ as absent_unexcused,
           count(*) filter (where m.mtype = 'thuong_ky' and c.meeting_day is not null) as regular,
           count(*) filter (where m.mtype = 'thuong_ky' and """ + ON_SCHEDULE + """) as on_schedule
    from meetings m join cells c on c.id = m.cell_id
    where m.deleted_at is null and m.held_on between :start and :end and """ + IN_SCOPE + """
    group by c.unit_id{own_group}
),
cov({keys}, cell_months) as ({cov}),
parts({keys}, meetings, required, present, absent_excused, absent_unexcused, regular, on_schedule,
      cell_months, missing, upcoming) as (
    select su.report_id{own_keys}, meetings, required, present, absent_excused, absent_unexcused, regular,
           on_schedule, 0, 0, 0
    from own o join scope_units su on su.unit_id = o.unit_id
    union all
    select {keys}, 0, 0, 0, 0, 0, 0, 0, cell_months, 0, 0 from cov
    union all
    select unit_id{missing_keys}, 0, 0, 0, 0, 0, 0, 0, 0, 1 - upcoming, upcoming from unheld
)"""

# coalesce: a month after today has meetings but no cell-months, and with a meeting-type filter its
# typed sums can all be null
ATTENDANCE_SUMS = """sum(p.meetings) as meetings, coalesce(sum(p.required), 0) as required,
       coalesce(sum(p.present), 0) as present, coalesce(sum(p.absent_excused), 0) as absent_excused,
       coalesce(sum(p.absent_unexcused), 0) as absent_unexcused,
       sum(p.cell_months) - sum(p.upcoming) as cell_months,
       sum(p.cell_months) - sum(p.upcoming) - sum(p.missing) as held,
       sum(p.regular) as regular, sum(p.on_schedule) as on_schedule, sum(p.upcoming) as upcoming"""

ATTENDANCE_SQL = ATTENDANCE_CTES + """
select {names},
       """ + ATTENDANCE_SUMS + """
from parts p join units u on u.id = p.unit_id {join}
group by {group}
order by {order}
"""

# Cells valid over the same days have the same cell-months: the unit levels count them per
# span of validity rather than per cell.
_SPANS = """
    select sc.unit_id{month}, sum(sc.cells)
    from (select unit_id, valid_from, valid_to, count(*) as cells from scope_cells
          group by unit_id, valid_from, valid_to) sc
    """ + CELL_MONTHS_JOIN + """
    group by sc.unit_id{month}"""

LEVELS = {
    "unit": {"keys": "unit_id", "own_select": "", "own_group": "", "own_keys": "", "missing_keys": "",
             "cov": _SPANS.format(month=""), "names": "u.code as unit_code, u.name as unit_name", "join": "",
             "group": "p.unit_id", "order": "u.code"},
    "cell": {"keys": "unit_id, cell_id", "own_select": ", c.id as cell_id", "own_group": ", c.id",
             "own_keys": ", o.cell_id", "missing_keys": ", cell_id",
             "cov": "select sc.unit_id, sc.cell_id, count(*) from scope_cells sc " + CELL_MONTHS_JOIN
                    + " group by sc.unit_id, sc.cell_id",
             "names": "u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name, "
                      "c.cell_type, c.meeting_day",
             "join": "join cells c on c.id = p.cell_id", "group": "p.unit_id, p.cell_id", "order": "u.code, c.code"},
    "unit_month": {"keys": "unit_id, month", "own_select": ", substr(m.held_on, 1, 7) as month",
                   "own_group": ", month", "own_keys": ", o.month", "missing_keys": ", month",
                   "cov": _SPANS.format(month=", months.month"),
                   "names": "u.code as unit_code, u.name as unit_name, p.month", "join": "",
                   "group": "p.unit_id, p.month", "order": "u.code, p.month"},
}

ATTENDANCE_KEYS = ("meetings", "required", "present", "absent_excused", "absent_unexcused", "cell_months", "held",
                   "regular", "on_schedule", "upcoming")
UNIT_KEYS = ("unit_code", "unit_name", "meetings", "required", "present", "absent_excused", "absent_unexcused",
             "rate", "cell_months", "held", "coverage", "on_schedule_rate")


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    # _rate written out: this runs for every unit-month of the attendance page
    required, cell_months, regular = row["required"], row["cell_months"], row["regular"]
    row["rate"] = round(row["present"] / required, 4) if required else None
    row["coverage"] = round(row["held"] / cell_months, 4) if cell_months else None
    row["on_schedule_rate"] = round(row["on_schedule"] / regular, 4) if regular else None
    return row


def _attendance(db: Source, level: str, period: Period | str, filters: Filters | None,
                today: date | None) -> list[dict]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        rows = _rows(conn, ATTENDANCE_SQL.format(**LEVELS[level]), _params(period, filters, today, _grace(conn)))
    return [_with_rates(r) for r in rows]


def _sums_by(rows: list[dict], key: str) -> dict[Any, dict[str, Any]]:
    """The attendance sums of the rows per value of key, in the order the values first come."""
    sums: dict[Any, dict[str, Any]] = {}
    for r in rows:
        acc = sums.get(r[key])
        if acc is None:
            sums[r[key]] = {k: r[k] for k in ATTENDANCE_KEYS}
        else:
            for k in ATTENDANCE_KEYS:
                acc[k] += r[k]
    return sums


def _units_of(unit_months: list[dict]) -> list[dict]:
    """The unit figures from the unit-month ones (sorted by unit), summed over the months."""
    names = {r["unit_code"]: r["unit_name"] for r in unit_months}
    units = []
    for code, sums in _sums_by(unit_months, "unit_code").items():
        unit = {"unit_code": code, "unit_name": names[code], **_with_rates(sums)}
        units.append({k: unit[k] for k in UNIT_KEYS})
    return units


def _by_month(unit_months: list[dict], period: Period, today: date) -> list[dict]:
    """Per counted month, the unit-month figures summed over the units."""
    sums = _sums_by(unit_months, "month")
    return [{"month": month, **(_with_rates(sums[month]) if month in sums else _totals([]))}
            for month in _counted_months(period, today)]


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
    return _by_month(attendance_by_unit_month(db, period, filters, today), period, today)


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
    return _with_rates({k: sum(r[k] for r in rows) for k in ATTENDANCE_KEYS})


def _absences_of(tot: dict[str, Any]) -> dict[str, Any]:
    return {"required": tot["required"], "present": tot["present"], "absent_excused": tot["absent_excused"],
            "absent_unexcused": tot["absent_unexcused"],
            "excused_share": _rate(tot["absent_excused"], tot["required"]),
            "unexcused_share": _rate(tot["absent_unexcused"], tot["required"])}


def attendance_totals(db: Source, period: Period | str, filters: Filters | None = None,
                      today: date | None = None) -> dict[str, Any]:
    """The unit figures summed over everything in the filters."""
    return _totals(_attendance(db, "unit", period, filters, today))


def absences(db: Source, period: Period | str, filters: Filters | None = None,
             today: date | None = None) -> dict[str, Any]:
    """Members required, present, absent with and without reason, and the shares of the required."""
    return _absences_of(attendance_totals(db, period, filters, today))


MISSING_ROWS = """
select u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name, x.month,
       case when x.upcoming then 'upcoming' else 'missing' end as status, c.meeting_day
from unheld x
join cells c on c.id = x.cell_id
join units u on u.id = x.unit_id"""

MISSING_SQL = SCOPE_SQL + MISSING_CTE + MISSING_ROWS + """
order by u.code, c.code, x.month
"""

# The attendance page in one statement: the unit-month figures and the lists of missing and upcoming
# meetings come from the same pass over the meetings and the same set of unheld cell-months.
ATTENDANCE_PAGE_SQL = (ATTENDANCE_CTES + """
select 'unit_month' as kind, u.code as unit_code, u.name as unit_name, null as cell_code, null as cell_name,
       p.month, null as status, null as meeting_day,
       """ + ATTENDANCE_SUMS + """
from parts p join units u on u.id = p.unit_id
group by p.unit_id, p.month
union all
select 'missing', unit_code, unit_name, cell_code, cell_name, month, status, meeting_day,
       null, null, null, null, null, null, null, null, null, null
from (""" + MISSING_ROWS + """
)
order by kind, unit_code, cell_code, month
""").format(**LEVELS["unit_month"])


def _grace(conn: Database) -> int:
    return thresholds(conn).grace_days


def due_on(month: str, meeting_day: int | None, grace: int) -> date:
    """The last day a cell-month is upcoming: the fixed day (the month's last when shorter or none) plus grace."""
    year, mon = int(month[:4]), int(month[5:7])
    days = last_day(year, mon)
    return date(year, mon, min(meeting_day or days, days)) + timedelta(days=grace)


def _split_unheld(rows: list[dict], grace: int) -> tuple[list[dict], list[dict]]:
    """The unheld cell-months as (missing, upcoming), labelled; an upcoming one with the day it falls due."""
    labels = {status: t(f"metrics.{status}") for status in ("missing", "upcoming")}
    missing, upcoming = [], []
    # a month in progress lists a row for most cells, but few distinct fixed days
    days: dict[tuple[str, int | None], str] = {}
    for r in rows:
        meeting_day = r.pop("meeting_day")
        r["status_label"] = labels[r["status"]]
        if r["status"] == "missing":
            missing.append(r)
        else:
            key = (r["month"], meeting_day)
            day = days.get(key)
            if day is None:
                day = days[key] = due_on(r["month"], meeting_day, grace).isoformat()
            r["due_on"] = day
            upcoming.append(r)
    return missing, upcoming


def _unheld(db: Source, period: Period | str, filters: Filters | None,
            today: date | None) -> tuple[list[dict], list[dict]]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        grace = _grace(conn)
        rows = _rows(conn, MISSING_SQL, _params(period, filters, today, grace))
    return _split_unheld(rows, grace)


def missing_meetings(db: Source, period: Period | str, filters: Filters | None = None,
                     today: date | None = None) -> list[dict]:
    """Due cell-months without a regular meeting: the fixed day (plus grace_days) has passed."""
    return _unheld(db, period, filters, today)[0]


def upcoming_meetings(db: Source, period: Period | str, filters: Filters | None = None,
                      today: date | None = None) -> list[dict]:
    """Cell-months without a regular meeting yet whose fixed day (plus grace_days) has not passed, with that day."""
    return _unheld(db, period, filters, today)[1]


def _per_unit(upcoming: list[dict]) -> list[dict]:
    units: dict[str, dict] = {}
    for r in upcoming:
        unit = units.setdefault(r["unit_code"], {"unit_code": r["unit_code"], "unit_name": r["unit_name"],
                                                 "upcoming": 0})
        unit["upcoming"] += 1
    return list(units.values())


def upcoming_by_unit(db: Source, period: Period | str, filters: Filters | None = None,
                     today: date | None = None) -> list[dict]:
    """Per unit with any: how many of its cell-months are upcoming (not yet due, outside coverage)."""
    return _per_unit(upcoming_meetings(db, period, filters, today))


def cells_missing_last_month(db: Source, filters: Filters | None = None, today: date | None = None) -> list[dict]:
    """Cells whose regular meeting of last month (the month before today's) is due and was not held."""
    today = today or date.today()
    return missing_meetings(db, month_period(today.replace(day=1) - timedelta(days=1)), filters, today)


MISSING_KEYS = ("unit_code", "unit_name", "cell_code", "cell_name", "month", "status", "meeting_day")
UNIT_MONTH_KEYS = ("unit_code", "unit_name", "month", *ATTENDANCE_KEYS)


def attendance_page(db: Source, period: Period | str, filters: Filters | None = None,
                    today: date | None = None) -> dict[str, Any]:
    """The attendance page's figures from one statement, each under the name of the function it equals."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        grace = _grace(conn)
        rows = _rows_by_kind(conn, ATTENDANCE_PAGE_SQL, _params(period, filters, today, grace),
                             {"unit_month": UNIT_MONTH_KEYS, "missing": MISSING_KEYS})
    unit_months = [_with_rates(r) for r in rows["unit_month"]]
    missing, upcoming = _split_unheld(rows["missing"], grace)
    totals = _totals(unit_months)
    return {"attendance_by_unit": _units_of(unit_months), "attendance_totals": totals, "absences": _absences_of(totals),
            "attendance_by_unit_month": unit_months, "attendance_by_month": _by_month(unit_months, period, today),
            "missing_meetings": missing, "upcoming_meetings": upcoming, "upcoming_by_unit": _per_unit(upcoming)}


# Per assignment: expected in thirds of required_per_quarter (exact integers), the
# distinct meetings attended inside period and validity, and the report status of each.
# The joins are written as CROSS JOINs to fix their order: the period's meetings (index range)
# drive, each probes its leaders, then the (materialized, small) assignments of those leaders. The
# period's meeting-leader pairs are materialized once: a planner that misjudges the assignments' count
# (PostgreSQL's has no statistics of a CTE) would otherwise read them again for every assignment; so are
# the counts per assignment, for the same reason. A unit or cell-type filter leaves few assignments: the pairs are
# then only those of the cells an assignment in asg can count (asg_cells: its cell, else every cell of its unit or
# of a unit under it in unit_tree), each cell's meetings of the period read by the (cell_id, held_on) index, not
# the whole tree's pairs of the period. counted keeps no other pair, so its rows are the same: asg_cells follows
# counted's own test (unit_tree, not scope: with rollup a unit merged out of the filter still counts for an
# assignment above it; a unit-level assignment counts cells of every type).
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
      on asg.valid_from <= date(months.first, '+1 month', '-1 day')
     and (asg.valid_to is null or asg.valid_to >= months.first)
    group by asg.id
),
asg_cells(cell_id) as materialized (
    select cell_id from asg where cell_id is not null
    union
    select c.id from asg cross join cells c where asg.cell_id is null and c.unit_id = asg.unit_id
    union
    select c.id from asg cross join unit_tree t cross join cells c
    where asg.cell_id is null and t.ancestor_id = asg.unit_id and c.unit_id = t.descendant_id
),
period_leaders as materialized (
    select m.id, m.cell_id, m.held_on, m.mtype, ml.leader_id, ml.report_submitted_on
    from meetings m
    cross join meeting_leaders ml
    where ml.meeting_id = m.id
      and m.deleted_at is null and m.held_on between :start and :end
      and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
      and :unit_codes is null and :cell_types is null
    union all
    select m.id, m.cell_id, m.held_on, m.mtype, ml.leader_id, ml.report_submitted_on
    from asg_cells ac
    cross join meetings m
    cross join meeting_leaders ml
    where m.cell_id = ac.cell_id and ml.meeting_id = m.id
      and m.deleted_at is null and m.held_on between :start and :end
      and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
      and (:unit_codes is not null or :cell_types is not null)
),
counted as (
    select asg.id as assignment_id, pl.id as meeting_id, pl.cell_id, c.unit_id, pl.held_on, pl.mtype, pl.leader_id,
           pl.report_submitted_on,
           case when pl.report_submitted_on is null then 'missing'
                when julianday(pl.report_submitted_on) - julianday(pl.held_on) > :report_days then 'late'
                else 'on_time' end as report_status
    from period_leaders pl
    cross join asg
    cross join cells c
    where asg.leader_id = pl.leader_id and c.id = pl.cell_id
      and pl.held_on between asg.from_day and asg.to_day
      and (pl.cell_id = asg.cell_id or (asg.cell_id is null and (c.unit_id = asg.unit_id or exists (
          select 1 from unit_tree t where t.ancestor_id = asg.unit_id and t.descendant_id = c.unit_id))))
),
attended as materialized (
    select assignment_id, count(*) as attended, sum(report_status != 'missing') as reports,
           sum(report_status = 'late') as late
    from counted group by assignment_id
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
    left join attended n on n.assignment_id = asg.id
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

# The post of a leader that counts for a period (the id; {leader} is the leader id's column).
PERIOD_POST = """(select lp.id from leader_posts lp left join leader_groups g on g.code = lp.grp
            where lp.leader_id = {leader}
              and (lp.valid_from is null or lp.valid_from <= :end) and (lp.valid_to is null or lp.valid_to >= :start)
            order by min(coalesce(lp.valid_to, :end), :end) desc, coalesce(g.sort_order, 1e9),
                     lp.valid_from is not null desc, lp.valid_from desc, lp.id desc
            limit 1)"""

# A leader's group in the period is that of the post valid at the period's end, else of the last post valid in
# the period (the latest ending); the most senior group (lowest sort_order) when several tie; a leader with no
# post in the period keeps leaders.grp (their latest post). One probe of leader_posts(leader_id, ...) per leader
# counted, not a scan. PERIOD_POSTS_SQL picks the same post for the page's title column.
BY_LEADER_SQL = ASSIGNMENT_SQL + """,
by_leader as (
    select p.leader_id, count(*) as assignments,
           sum(p.expected_thirds) as expected_thirds, sum(p.attended) as attended,
           sum(p.capped_thirds) as capped_thirds, sum(p.reports) as reports,
           sum(p.late_reports) as late_reports, sum(p.missing_reports) as missing_reports,
           """ + PERIOD_POST.format(leader="p.leader_id") + """ as post_id
    from per_assignment p
    group by p.leader_id
)
select l.code as leader_code, l.full_name, coalesce(lp.grp, l.grp) as grp, coalesce(g.sort_order, 1e9) as grp_order,
       b.assignments,
       b.expected_thirds, b.attended, b.capped_thirds, b.reports, b.late_reports, b.missing_reports
from by_leader b join leaders l on l.id = b.leader_id
left join leader_posts lp on lp.id = b.post_id
left join leader_groups g on g.code = coalesce(lp.grp, l.grp)
order by l.code
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


def _with_compliance(row: dict[str, Any]) -> dict[str, Any]:
    row["expected"] = round(row["expected_thirds"] / 3, 4)
    row["compliance"] = _rate(row["capped_thirds"], row["expected_thirds"])
    return row


def _participation(db: Source, sql: str, period: Period | str, filters: Filters | None,
                   today: date | None, report_days: int | None = None, **extra: Any) -> list[dict]:
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        days = thresholds(conn).report_days if report_days is None else report_days
        rows = _rows(conn, sql, _params(period, filters, today, report_days=days, **extra))
    return [_with_compliance(r) if "expected_thirds" in r else r for r in rows]


def leader_participation(db: Source, period: Period | str, filters: Filters | None = None,
                         today: date | None = None) -> list[dict]:
    """Per leader: expected and attended meetings over their assignments, compliance, reports and late ones."""
    return leader_participation_of(participation_by_leader(db, period, filters, today))


LEADER_PARTICIPATION_KEYS = ("leader_code", "full_name", "grp", "expected", "attended", "compliance", "reports",
                             "late_reports")


def leader_participation_of(leaders: list[dict]) -> list[dict]:
    """The leader_participation rows (of `metrics --json`) from the participation_by_leader ones."""
    return [{k: r[k] for k in LEADER_PARTICIPATION_KEYS} for r in leaders]


def participation_by_leader(db: Source, period: Period | str, filters: Filters | None = None,
                            today: date | None = None) -> list[dict]:
    """Per leader, with the missing reports and the sums in thirds behind the figures."""
    return _leader_rows(db, period, filters, today)[0]


def _leader_rows(db: Source, period: Period | str, filters: Filters | None, today: date | None,
                 report_days: int | None = None) -> tuple[list[dict], dict[str, float]]:
    """The participation_by_leader rows and the order of their groups (leader_groups.sort_order)."""
    # The order travels beside the rows, not in them: the rows keep the keys they always had.
    rows = _participation(db, BY_LEADER_SQL, period, filters, today, report_days)
    return rows, {r["grp"]: r.pop("grp_order") for r in rows}


GROUP_SUMS = ("assignments", "expected_thirds", "attended", "capped_thirds", "reports", "late_reports",
              "missing_reports")


def _groups_of(leaders: list[dict], order: dict[str, float]) -> list[dict]:
    """Per leader group (Standing Committee first): its leaders counted and their rows summed."""
    groups: dict[str, dict] = {}
    for r in leaders:
        group = groups.setdefault(r["grp"], {"grp": r["grp"], "leaders": 0, **dict.fromkeys(GROUP_SUMS, 0)})
        group["leaders"] += 1
        for k in GROUP_SUMS:
            group[k] += r[k]
    # The groups' own order (leader_groups.sort_order); the shipped five keep their shipped order.
    return sorted(map(_with_compliance, groups.values()), key=lambda r: (order[r["grp"]], r["grp"]))


def participation_by_group(db: Source, period: Period | str, filters: Filters | None = None,
                           today: date | None = None) -> list[dict]:
    """Per leader group (Standing Committee first): the leader sums and compliance."""
    return _groups_of(*_leader_rows(db, period, filters, today))


def participation_by_assignment(db: Source, period: Period | str, filters: Filters | None = None,
                                today: date | None = None) -> list[dict]:
    """One row per assignment with leader, unit and cell names, for the drill-down."""
    return _participation(db, BY_ASSIGNMENT_SQL, period, filters, today)


PERIOD_POSTS_SQL = """
select l.code as leader_code, lp.title, lp.grp, g.name as grp_name, u.code as unit_code, u.name as unit_name,
       lp.valid_from, lp.valid_to
from leaders l
join leader_posts lp on lp.id = """ + PERIOD_POST.format(leader="l.id") + """
left join leader_groups g on g.code = lp.grp
left join units u on u.id = lp.unit_id
order by l.code
"""


def leader_posts(db: Source, period: Period | str) -> dict[str, dict]:
    """Per leader code: the post that counts for the period (title, group, unit, dates), as the figures pick it."""
    period = parse_period(period)
    with session(db) as conn:
        rows = _rows(conn, PERIOD_POSTS_SQL, {"start": period.start.isoformat(), "end": period.end.isoformat()})
    return {r.pop("leader_code"): r for r in rows}


def leader_meetings(db: Source, period: Period | str, leader_code: str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """The meetings a leader attended that count for their assignments, with each report's status."""
    rows = _participation(db, LEADER_MEETINGS_SQL, period, filters, today, leader_code=leader_code)
    for r in rows:
        r["report_label"] = t(f"metrics.report_{r['report_status']}")
    return rows


def _report_status(groups: list[dict]) -> dict[str, int]:
    attended = sum(r["attended"] for r in groups)
    late = sum(r["late_reports"] for r in groups)
    missing = sum(r["missing_reports"] for r in groups)
    return {"attended": attended, "on_time": attended - late - missing, "late": late, "missing": missing}


def report_status(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, int]:
    """Attendances counted for assignments, and their reports on time, late and missing."""
    return _report_status(participation_by_group(db, period, filters, today))


def _without_attendance(leaders: list[dict]) -> list[dict]:
    return [r for r in leaders if r["expected_thirds"] > 0 and r["attended"] == 0]


def leaders_without_attendance(db: Source, period: Period | str, filters: Filters | None = None,
                               today: date | None = None) -> list[dict]:
    """Leaders expected at meetings in the period who attended none."""
    return _without_attendance(participation_by_leader(db, period, filters, today))


def _below_assignment(leaders: list[dict]) -> list[dict]:
    rows = [r for r in leaders if r["compliance"] is not None and r["compliance"] < 1]
    return sorted(rows, key=lambda r: (r["compliance"], r["leader_code"]))


def leaders_below_assignment(db: Source, period: Period | str, filters: Filters | None = None,
                             today: date | None = None) -> list[dict]:
    """Leaders whose compliance is under 1 in the period, lowest first."""
    return _below_assignment(participation_by_leader(db, period, filters, today))


def leader_totals(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, Any]:
    """Expected, attended, compliance and reports over every assignment in the filters."""
    return _compliance_totals(participation_by_group(db, period, filters, today))


def quarter_of(day: date) -> Period:
    """The quarter containing a day."""
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def leaders_page(db: Source, period: Period | str, filters: Filters | None = None,
                 today: date | None = None) -> dict[str, Any]:
    """The leaders page's figures under the names of the functions they equal; nobody attended: today's quarter."""
    period, today = parse_period(period), today or date.today()
    quarter = quarter_of(today)
    with session(db) as conn:
        days = thresholds(conn).report_days
        leaders, order = _leader_rows(conn, period, filters, today, days)
        in_quarter = leaders if quarter == period else _leader_rows(conn, quarter, filters, today, days)[0]
    groups = _groups_of(leaders, order)
    return {"participation_by_leader": leaders, "participation_by_group": groups,
            "report_status": _report_status(groups), "leader_totals": _compliance_totals(groups),
            "leaders_without_attendance": _without_attendance(in_quarter)}


def _compliance_totals(rows: list[dict]) -> dict[str, Any]:
    expected = sum(r["expected_thirds"] for r in rows)
    return {"expected": round(expected / 3, 4), "attended": sum(r["attended"] for r in rows),
            "compliance": _rate(sum(r["capped_thirds"] for r in rows), expected),
            "reports": sum(r["reports"] for r in rows), "late_reports": sum(r["late_reports"] for r in rows),
            "missing_reports": sum(r["missing_reports"] for r in rows)}


# Weaknesses: the cell-type filter keeps those on a cell of those types (a unit-level one
# has no type); meeting types do not apply to them.
SCOPED_WEAKNESS_ROWS = """
    select w.id, w.unit_id, su.report_id, w.cell_id, w.category, w.severity, w.status,
           w.noted_on, w.due_on, w.resolved_on
    from weaknesses w cross join scope_units su
    where su.unit_id = w.unit_id and w.deleted_at is null
      and (:cell_types is null or w.cell_id in (select cell_id from scope_cells))"""
# The same rows in the whole scope (_execute): every weakness counts under its own unit.
WHOLE_SCOPE_WEAKNESS_ROWS = """
    select w.id, w.unit_id, w.unit_id as report_id, w.cell_id, w.category, w.severity, w.status,
           w.noted_on, w.due_on, w.resolved_on
    from weaknesses w
    where w.deleted_at is null"""
SCOPED_WEAKNESSES = """,
scoped_weaknesses as materialized (""" + SCOPED_WEAKNESS_ROWS

WEAKNESS_SCOPE_SQL = SCOPE_SQL + SCOPED_WEAKNESSES + "\n)"

# The weakness page keeps only the weaknesses its figures can see: those open now, those noted
# in the period, and resolved ones whose resolution falls in the period or leaves them open at the
# end of one of its months. Years of weaknesses resolved long ago are read once and not kept.
WEAKNESS_PAGE_SCOPE_SQL = SCOPE_SQL + SCOPED_WEAKNESSES + """
      and (w.status != 'resolved' or w.noted_on between :start and :end
           or w.resolved_on between :start and :end or (w.noted_on <= :end and w.resolved_on >= :start))
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
# Only the weaknesses that can count are kept (open, resolved after the day, or noted in the period): the years
# of weaknesses resolved long ago are read once and not kept (at 10,000,000 meetings, 392,000 rows).
WEAKNESS_AS_OF_SQL = SCOPE_SQL + SCOPED_WEAKNESSES + """
      and (w.status != 'resolved' or w.resolved_on > :as_of or w.noted_on between :start and :end)
)
select coalesce(sum(open), 0) as open, coalesce(sum(open and due_on < :as_of), 0) as overdue,
       coalesce(sum(noted_on between :start and :end), 0) as noted
from (
    select *, noted_on <= :as_of and (status != 'resolved' or resolved_on > :as_of) as open
    from scoped_weaknesses
)
"""

OPEN_WEAKNESS_ROWS = """
select w.id, u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       w.category, w.severity, w.status, w.noted_on, w.due_on,
       cast(julianday(:today) - julianday(w.noted_on) as integer) as age_days,
       coalesce(w.due_on < :today, 0) as overdue
from scoped_weaknesses w
join units u on u.id = w.report_id
left join cells c on c.id = w.cell_id
where w.status != 'resolved'"""

OPEN_WEAKNESSES_SQL = WEAKNESS_SCOPE_SQL + OPEN_WEAKNESS_ROWS + """
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
order by u.code, w.category
"""

# Every month's counts are sums over the weaknesses grouped by the month noted, whether resolved
# and the month resolved: one pass and a few hundred groups instead of a scan per month.
# Open at a month's end: noted by then and not resolved by then (resolved without a date: never open).
TREND_CTE = """,
trend_groups as (
    select substr(noted_on, 1, 7) as nm, status = 'resolved' as done, substr(resolved_on, 1, 7) as rm,
           count(*) as n
    from scoped_weaknesses
    group by nm, done, rm
),
trend as (
    select months.month,
           coalesce(sum(g.n) filter (where g.nm = months.month), 0) as noted,
           coalesce(sum(g.n) filter (where g.done and g.rm = months.month), 0) as resolved,
           coalesce(sum(g.n) filter (where g.nm <= months.month and (not g.done or g.rm > months.month)), 0)
               as open_at_end
    from months left join trend_groups g on 1
    group by months.month
)"""

WEAKNESS_TREND_SQL = WEAKNESS_SCOPE_SQL + TREND_CTE + """
select month, noted, resolved, open_at_end from trend order by month
"""

# The weakness page in one statement over one reading of the weaknesses: the open ones (list,
# ageing), the period's counts by unit and category with their statuses (matrix and summary), and
# the trend. Each kind of row keeps its values in the first columns after the kind.
WEAKNESS_PAGE_SQL = WEAKNESS_PAGE_SCOPE_SQL + TREND_CTE + """
select 'open' as kind, id, unit_code, unit_name, cell_code, cell_name, category, severity, status, noted_on, due_on,
       age_days, overdue
from (""" + OPEN_WEAKNESS_ROWS + """
)
union all
select 'matrix', u.code, u.name, w.category, w.n, w.open, w.resolved, w.status_open, w.status_in_progress,
       null, null, null, null
from (
    select report_id, category, count(*) as n, sum(status != 'resolved') as open,
           sum(status = 'resolved') as resolved, sum(status = 'open') as status_open,
           sum(status = 'in_progress') as status_in_progress
    from scoped_weaknesses
    where noted_on between :start and :end
    group by report_id, category
) w join units u on u.id = w.report_id
union all
select 'trend', month, noted, resolved, open_at_end, null, null, null, null, null, null, null, null
from trend
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


# The overdue weaknesses of a report, as of its period's end (or today, if earlier): noted by then, not resolved by
# then, due before then; aged on that day (branch format36). The same test as WEAKNESS_AS_OF_SQL's overdue count,
# so the list and the headline's weaknesses_overdue agree.
OVERDUE_AS_OF_SQL = WEAKNESS_SCOPE_SQL + """
select w.id, u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       w.category, w.severity, w.status, w.noted_on, w.due_on,
       cast(julianday(:as_of) - julianday(w.noted_on) as integer) as age_days,
       cast(julianday(:as_of) - julianday(w.due_on) as integer) as days_overdue
from scoped_weaknesses w
join units u on u.id = w.report_id
left join cells c on c.id = w.cell_id
where w.noted_on <= :as_of and (w.status != 'resolved' or w.resolved_on > :as_of) and w.due_on < :as_of
order by w.noted_on, w.id
"""


def as_of_day(period: Period | str, today: date | None = None) -> date:
    """The day a report's open and overdue counts are taken on: the period's end, or today if it is not over."""
    return min(parse_period(period).end, today or date.today())


def overdue_as_of(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> list[dict]:
    """The weaknesses overdue on as_of_day (noted and not resolved by then, due before), oldest first, aged then."""
    as_of = as_of_day(period, today).isoformat()
    return _weakness_rows(db, OVERDUE_AS_OF_SQL, period, filters, today, as_of=as_of)


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


OPEN_KEYS = ("id", "unit_code", "unit_name", "cell_code", "cell_name", "category", "severity", "status", "noted_on",
             "due_on", "age_days", "overdue")
TREND_KEYS = ("month", "noted", "resolved", "open_at_end")
MATRIX_KEYS = ("unit_code", "unit_name", "category", "n", "open", "resolved")
# plain strings: an enum member's value is a lookup, and the weakness page adds them up per matrix row
STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_RESOLVED = (WeaknessStatus.OPEN.value, WeaknessStatus.IN_PROGRESS.value,
                                                    WeaknessStatus.RESOLVED.value)


def _ageing_of(open_rows: list[dict]) -> list[dict]:
    counts = [0] * len(AGE_BANDS)
    for r in open_rows:
        age = r["age_days"]
        if age is not None:
            counts[0 if age <= 30 else 1 if age <= 90 else 2 if age <= 180 else 3] += 1
    return [{"bucket": band, "count": n} for band, n in zip(AGE_BANDS, counts, strict=True)]


def _summary_of(matrix: list[dict], by_status: dict[str, int], open_rows: list[dict]) -> dict[str, Any]:
    """The summary from the matrix (sorted by unit), the period's counts by status, and the open weaknesses."""
    by_category = {c.value: 0 for c in WeaknessCategory}
    units: dict[str, dict] = {}
    for m in matrix:
        if m["category"] in by_category:
            by_category[m["category"]] += m["n"]
        unit = units.setdefault(m["unit_code"], {"unit_code": m["unit_code"], "open": 0, "resolved": 0})
        unit["open"] += m["open"]
        unit["resolved"] += m["resolved"]
    return {"by_category": by_category, "by_status": by_status, "by_unit": list(units.values()),
            "open_now": len(open_rows), "overdue": sum(1 for r in open_rows if r["overdue"])}


def weakness_page(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, Any]:
    """The weakness page's figures from one statement, each under the name of the function it equals."""
    period, today = parse_period(period), today or date.today()
    open_rows: list[dict] = []
    matrix: list[dict] = []
    trend: list[dict] = []
    by_status = {s.value: 0 for s in WeaknessStatus}
    with session(db) as conn:
        for row in _execute(conn, WEAKNESS_PAGE_SQL, _params(period, filters, today)):
            kind = row[0]
            if kind == "open":
                open_rows.append(dict(zip(OPEN_KEYS, row[1:], strict=True)))
            elif kind == "matrix":
                matrix.append(dict(zip(MATRIX_KEYS, row[1:7], strict=True)))
                by_status[STATUS_OPEN] += row[7]
                by_status[STATUS_IN_PROGRESS] += row[8]
                by_status[STATUS_RESOLVED] += row[6]
            else:
                trend.append(dict(zip(TREND_KEYS, row[1:5], strict=True)))
    # sorted here rather than by the statement: each kind has its own order
    open_rows.sort(key=lambda r: (r["age_days"] is None, -(r["age_days"] or 0), r["id"]))
    matrix.sort(key=itemgetter("unit_code", "category"))
    trend.sort(key=itemgetter("month"))
    return {"weakness_summary": _summary_of(matrix, by_status, open_rows), "weakness_matrix": matrix,
            "weakness_trend": trend, "weakness_ageing": _ageing_of(open_rows), "open_weaknesses": open_rows}


# Per cell (a node with only cells under it: its cells are the rows, issue 11). A weakness noted for a unit as a
# whole has no cell: it counts in a row of its own (cell_code null) for the unit it reports under, after its
# cells (as the report's weaknesses_noted_by_cell has it).
WEAKNESS_CELL_SQL = WEAKNESS_SCOPE_SQL + """
select u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name, w.category,
       count(*) as n, sum(w.status != 'resolved') as open, sum(w.status = 'resolved') as resolved
from scoped_weaknesses w join units u on u.id = w.report_id
left join cells c on c.id = w.cell_id
where w.noted_on between :start and :end
group by w.report_id, w.cell_id, w.category
order by u.code, c.code is null, c.code, w.category
"""
CELL_MATRIX_KEYS = ("unit_code", "unit_name", "cell_code", "cell_name", "category", "n", "open", "resolved")


def weakness_by_cell(db: Source, period: Period | str, filters: Filters | None = None,
                     today: date | None = None) -> dict[str, list[dict]]:
    """Weaknesses noted in the period per cell (a unit's own ones in a row without a cell): matrix and counts."""
    matrix = _weakness_rows(db, WEAKNESS_CELL_SQL, period, filters, today)
    counts: dict[tuple, dict] = {}
    for m in matrix:
        row = counts.setdefault((m["unit_code"], m["cell_code"]), {k: m[k] for k in CELL_MATRIX_KEYS[:4]}
                                | {"n": 0, "open": 0, "resolved": 0})
        for k in ("n", "open", "resolved"):
            row[k] += m[k]
    return {"matrix": matrix, "by_cell": list(counts.values())}


def _weaknesses_as_of(db: Source, period: Period, filters: Filters | None, today: date) -> dict[str, int]:
    as_of = min(period.end, today).isoformat()
    return _weakness_rows(db, WEAKNESS_AS_OF_SQL, period, filters, today, as_of=as_of)[0]


# Meetings with a duration by band (upper bounds in minutes, the last band open).
DURATION_BANDS = (("<60", 59), ("60-89", 89), ("90-119", 119), ("120+", None))
DURATION_SUMS = """sum(m.duration_minutes < 60) as b0, sum(m.duration_minutes between 60 and 89) as b1,
       sum(m.duration_minutes between 90 and 119) as b2, sum(m.duration_minutes >= 120) as b3"""

QUALITY_COLUMNS = """u.code as unit_code, u.name as unit_name, count(*) as meetings,
       sum(m.rating = 'tot') as tot, sum(m.rating = 'kha') as kha, sum(m.rating = 'trung_binh') as trung_binh,
       sum(m.rating = 'kem') as kem, sum(m.rating is null) as unrated,
       sum(m.leadership) as leadership, sum(m.education) as education, sum(m.combativeness) as combativeness,
       sum(m.duration_minutes is not null) as with_duration, sum(m.duration_minutes < :min_duration) as short"""

QUALITY_FROM = """
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join units u on u.id = sc.unit_id
where m.deleted_at is null and m.held_on between :start and :end
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
group by sc.unit_id
order by u.code
"""

QUALITY_SQL = SCOPE_SQL + "\nselect " + QUALITY_COLUMNS + QUALITY_FROM

# The quality page's per-unit figures with the duration bands summed in the same pass.
QUALITY_PAGE_SQL = SCOPE_SQL + "\nselect " + QUALITY_COLUMNS + ",\n       " + DURATION_SUMS + QUALITY_FROM

SHORT_MEETINGS_SQL = SCOPE_SQL + """
select m.id, m.held_on, m.mtype, u.code as unit_code, u.name as unit_name, c.code as cell_code,
       c.name as cell_name, m.duration_minutes
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join cells c on c.id = m.cell_id
join units u on u.id = sc.unit_id
where m.deleted_at is null and m.held_on between :start and :end and m.duration_minutes < :min_duration
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
order by m.duration_minutes, m.held_on, m.id
limit :limit
"""

# Per cell (a node with only cells under it: its cells are the rows; branch drill).
QUALITY_CELL_SQL = SCOPE_SQL + "\nselect c.code as cell_code, c.name as cell_name, " + QUALITY_COLUMNS + """
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join cells c on c.id = sc.cell_id
join units u on u.id = sc.unit_id
where m.deleted_at is null and m.held_on between :start and :end
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
group by sc.cell_id
order by u.code, c.code
"""

QUALITY_KEYS = ("meetings", "tot", "kha", "trung_binh", "kem", "unrated", "leadership", "education",
                "combativeness", "with_duration", "short")
PROPERTIES = ("leadership", "education", "combativeness")
BAND_KEYS = tuple(f"b{i}" for i in range(len(DURATION_BANDS)))


def _quality_rows(rows: list[dict]) -> list[dict]:
    for r in rows:
        for k in QUALITY_KEYS:
            r[k] = r[k] or 0
    return rows


def quality_by_unit(db: Source, period: Period | str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """Per unit: meetings by rating, with each of the three properties, and under the minimum duration."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        params = _params(period, filters, today, min_duration=thresholds(conn).min_duration)
        return _quality_rows(_rows(conn, QUALITY_SQL, params))


def quality_by_cell(db: Source, period: Period | str, filters: Filters | None = None,
                    today: date | None = None) -> list[dict]:
    """Per cell with meetings (and the unit it counts under): the quality figures of quality_by_unit."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        params = _params(period, filters, today, min_duration=thresholds(conn).min_duration)
        return _quality_rows(_rows(conn, QUALITY_CELL_SQL, params))


def _quality_totals(rows: list[dict]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in QUALITY_KEYS}


def _ratings_of(tot: dict[str, int]) -> dict[str, int]:
    return {**{r.value: tot[r.value] for r in Rating}, "unrated": tot["unrated"]}


def _properties_of(tot: dict[str, int]) -> list[dict]:
    return [{"property": p, "count": tot[p], "meetings": tot["meetings"], "share": _rate(tot[p], tot["meetings"])}
            for p in PROPERTIES]


def _short_of(tot: dict[str, int], minimum: int, rows: list[dict]) -> dict[str, Any]:
    return {"min_duration": minimum, "with_duration": tot["with_duration"], "short": tot["short"],
            "share": _rate(tot["short"], tot["with_duration"]), "meetings": rows}


def _bands_of(counts: dict[str, int | None], minimum: int) -> list[dict]:
    return [{"bucket": band, "count": counts[f"b{i}"] or 0, "short": top is not None and top < minimum}
            for i, (band, top) in enumerate(DURATION_BANDS)]


def rating_distribution(db: Source, period: Period | str, filters: Filters | None = None,
                        today: date | None = None) -> dict[str, int]:
    """Meetings rated Tốt, Khá, Trung bình, Kém, and unrated."""
    return _ratings_of(_quality_totals(quality_by_unit(db, period, filters, today)))


def properties(db: Source, period: Period | str, filters: Filters | None = None,
               today: date | None = None) -> list[dict]:
    """For leadership, education and combativeness: meetings showing it and their share."""
    return _properties_of(_quality_totals(quality_by_unit(db, period, filters, today)))


def _short_rows(conn: Database, period: Period, filters: Filters | None, today: date, minimum: int,
                limit: int) -> list[dict]:
    return _rows(conn, SHORT_MEETINGS_SQL, _params(period, filters, today, min_duration=minimum, limit=limit))


def short_meetings(db: Source, period: Period | str, filters: Filters | None = None,
                   today: date | None = None, limit: int = 200) -> dict[str, Any]:
    """Meetings under the minimum duration (setting): how many of those with a duration, and the shortest."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        minimum = thresholds(conn).min_duration
        tot = _quality_totals(quality_by_unit(conn, period, filters, today))
        return _short_of(tot, minimum, _short_rows(conn, period, filters, today, minimum, limit))


DURATION_SQL = SCOPE_SQL + """
select """ + DURATION_SUMS + """
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
    return _bands_of(counts, minimum)


def quality_page(db: Source, period: Period | str, filters: Filters | None = None,
                 today: date | None = None, limit: int = 200) -> dict[str, Any]:
    """The quality page's figures under the names of the functions they equal, from two statements."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        minimum = thresholds(conn).min_duration
        rows = _rows(conn, QUALITY_PAGE_SQL, _params(period, filters, today, min_duration=minimum))
        short = _short_rows(conn, period, filters, today, minimum, limit)
    bands = {k: sum(r.pop(k) or 0 for r in rows) for k in BAND_KEYS}
    units = _quality_rows(rows)
    tot = _quality_totals(units)
    return {"rating_distribution": _ratings_of(tot), "properties": _properties_of(tot),
            "short_meetings": _short_of(tot, minimum, short), "duration_bands": _bands_of(bands, minimum),
            "quality_by_unit": units}



# ---- the 12-HD / 42-HD checklist: the proposed rating against the clerk's (lib/checklist.py) ----

CHECKLIST_SQL = SCOPE_SQL + """
select mc.proposed_rating as proposed, m.rating as final, count(*) as meetings
from meetings m
join scope_cells sc on sc.cell_id = m.cell_id
join meeting_checklists mc on mc.meeting_id = m.id
where m.deleted_at is null and m.held_on between :start and :end
  and (:mtypes is null or m.mtype in (select value from json_each(:mtypes)))
group by 1, 2
"""


def checklist_ratings(db: Source, period: Period | str, filters: Filters | None = None,
                      today: date | None = None) -> dict[str, Any]:
    """The period's meetings with a checklist: how many, how many the clerk rated otherwise than proposed (and
    their share of those with a checklist), and the crosstab of proposed (rows) by final rating (columns)."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        pairs = _rows(conn, CHECKLIST_SQL, _params(period, filters, today))
    finals = [r.value for r in Rating] + ["unrated"]
    table = {p: dict.fromkeys(finals, 0) for p in [r.value for r in Rating] + [None]}
    for r in pairs:
        table[r["proposed"]][r["final"] or "unrated"] += r["meetings"]
    total = sum(r["meetings"] for r in pairs)
    differs = sum(r["meetings"] for r in pairs if r["proposed"] and r["final"] and r["final"] != r["proposed"])
    return {"meetings": total, "differs": differs, "share": _rate(differs, total),
            "crosstab": [{"proposed": p, **row, "meetings": sum(row.values())} for p, row in table.items()
                         if sum(row.values())]}


HEADLINE_KEYS = ("attendance_rate", "coverage", "on_schedule_rate", "leader_compliance", "reports_late",
                 "reports_missing", "weaknesses_open", "weaknesses_overdue")


def _headline(db: Source, period: Period, filters: Filters | None, today: date,
              leaders: list[dict] | None = None) -> dict[str, Any]:
    att = attendance_totals(db, period, filters, today)
    leaders = participation_by_leader(db, period, filters, today) if leaders is None else leaders
    return _headline_of(att, leaders, _weaknesses_as_of(db, period, filters, today))


def _headline_of(att: dict[str, Any], leaders: list[dict], weak: dict[str, int]) -> dict[str, Any]:
    """The headline from the attendance totals, the per-leader rows and the weaknesses as of the period's end."""
    lead = _compliance_totals(leaders)
    return {"attendance_rate": att["rate"], "coverage": att["coverage"], "on_schedule_rate": att["on_schedule_rate"],
            "leader_compliance": lead["compliance"], "reports_late": lead["late_reports"],
            "reports_missing": lead["missing_reports"], "weaknesses_open": weak["open"],
            "weaknesses_overdue": weak["overdue"], "meetings": att["meetings"],
            "missing_meetings": att["cell_months"] - att["held"], "weaknesses_noted": weak["noted"],
            "upcoming_meetings": att["upcoming"]}


def _overview_of(period: Period, prev: Period, current: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    change = {k: (None if current[k] is None or before[k] is None else round(current[k] - before[k], 4))
              for k in current}
    return {"period": period.as_dict(), "previous_period": prev.as_dict(), "current": current,
            "previous": before, "change": change}


def previous_as_of(period: Period | str, today: date) -> tuple[Period, date]:
    """The period before and the day it is seen as of, like for like: in full once the period is over; while
    it runs, up to the same point (today moved back by the period's length, and the period cut there)."""
    period = parse_period(period)
    prev = previous(period)
    if today > period.end:
        return prev, today
    back = today.year * 12 + today.month - 1 - len(period.months)
    year, month = divmod(back, 12)
    as_of = date(year, month + 1, min(today.day, last_day(year, month + 1)))
    months = [(y, m) for y, m in prev.months if (y, m) <= (as_of.year, as_of.month)]
    return Period(prev.label, prev.start, min(prev.end, as_of), months), as_of


def overview(db: Source, period: Period | str, filters: Filters | None = None,
             today: date | None = None) -> dict[str, Any]:
    """Headline figures for the period and the one before (like for like), the change; weaknesses as of each end."""
    period, today = parse_period(period), today or date.today()
    prev, as_of = previous_as_of(period, today)
    with session(db) as conn:
        return _overview_of(period, prev, _headline(conn, period, filters, today),
                            _headline(conn, prev, filters, as_of))


def overview_page(db: Source, period: Period | str, filters: Filters | None = None,
                  today: date | None = None) -> dict[str, Any]:
    """The overview page's figures on one connection, each under the name of the function it equals."""
    period, today = parse_period(period), today or date.today()
    prev, as_of = previous_as_of(period, today)
    with session(db) as conn:
        # The period's per-leader rows give both its compliance headline and who is below their assignment.
        leaders = participation_by_leader(conn, period, filters, today)
        ov = _overview_of(period, prev, _headline(conn, period, filters, today, leaders),
                          _headline(conn, prev, filters, as_of))
        return {"overview": ov, "cells_missing_last_month": cells_missing_last_month(conn, filters, today),
                "leaders_below_assignment": _below_assignment(leaders),
                "open_weaknesses": open_weaknesses(conn, filters, today)}


# ---- the report at a node with only cells under it (branch creport) -----------------------------------------------

# The node a report is for (the code given, else the home node: setting home_unit, else the only root) when it has
# cells of its own and no child unit: its cells are then the report's rows. None otherwise (a node with child units,
# even with cells of its own too, keeps its rows by unit).
CELL_NODE_SQL = """
select v.code, v.name, v.kind from units v
where v.id = coalesce(
        (select id from units where code = coalesce(:node, (select value from settings where key = 'home_unit'))),
        (select min(id) from units where parent_id is null having count(*) = 1))
  and not exists (select 1 from units k where k.parent_id = v.id)
  and exists (select 1 from cells c where c.unit_id = v.id)
"""

# Weaknesses noted in the period per cell, open and resolved (the by-unit counts of weakness_summary, one row a
# cell); those noted for the whole node (no cell) come last in a row without a cell.
WEAKNESS_BY_CELL_SQL = WEAKNESS_SCOPE_SQL + """
select c.code as cell_code, c.name as cell_name, sum(w.status != 'resolved') as open,
       sum(w.status = 'resolved') as resolved
from scoped_weaknesses w left join cells c on c.id = w.cell_id
where w.noted_on between :start and :end
group by w.cell_id
order by c.code is null, c.code
"""


def cell_node(db: Source, unit_code: str | None = None) -> dict | None:
    """The node a report is for (unit_code, else the home node) when its rows are its cells: it has cells and no
    child unit; None when its rows are units (or there is no such node)."""
    with session(db) as conn:
        row = conn.execute(CELL_NODE_SQL, {"node": unit_code or None}).fetchone()
    return dict(zip(("code", "name", "kind"), row, strict=True)) if row else None


def weaknesses_noted_by_cell(db: Source, period: Period | str, filters: Filters | None = None,
                             today: date | None = None) -> list[dict]:
    """Weaknesses noted in the period per cell, open and resolved; those noted for no cell in a last row."""
    return _weakness_rows(db, WEAKNESS_BY_CELL_SQL, period, filters, today)


def _by_cell(conn: Database, period: Period, filters: Filters | None, today: date) -> dict[str, list[dict]]:
    """Attendance, quality and weaknesses per cell (attendance_by_cell, quality_by_cell, weaknesses_noted_by_cell),
    with the thresholds read once."""
    th = thresholds(conn)
    attendance = _rows(conn, ATTENDANCE_SQL.format(**LEVELS["cell"]), _params(period, filters, today, th.grace_days))
    quality = _rows(conn, QUALITY_CELL_SQL, _params(period, filters, today, min_duration=th.min_duration))
    weak = _rows(conn, WEAKNESS_BY_CELL_SQL, _params(period, filters, today))
    return {"attendance_by_cell": [_with_rates(r) for r in attendance], "quality_by_cell": _quality_rows(quality),
            "weaknesses_noted_by_cell": weak}


def report_page(db: Source, period: Period | str, filters: Filters | None = None,
                today: date | None = None, by_cell: bool = False) -> dict[str, Any]:
    """The report's and workbook's figures in one pass, each under the name of the function it equals; by_cell adds
    the per-cell figures of a node whose rows are its cells (cell_node)."""
    # The attendance, leaders, quality and weakness pages' bundles on one connection, the assignments, and the
    # period's headline ("overview_current" equals overview(...)["current"]).
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        out = {**attendance_page(conn, period, filters, today), **leaders_page(conn, period, filters, today),
               **quality_page(conn, period, filters, today), **weakness_page(conn, period, filters, today)}
        out["participation_by_assignment"] = participation_by_assignment(conn, period, filters, today)
        # The headline's attendance and leader parts are in the bundles already: only the weaknesses as of
        # the period's end are asked for.
        out["overview_current"] = _headline_of(out["attendance_totals"], out["participation_by_leader"],
                                               _weaknesses_as_of(conn, period, filters, today))
        if by_cell:
            out.update(_by_cell(conn, period, filters, today))
    return out


def _unit_exists(db: Database, code: str) -> bool:
    return db.execute("select 1 from units where code = ?", [code]).fetchone() is not None


def compute(db: Source, period_label: str, unit_code: str | None = None,
            today: date | None = None) -> dict[str, Any]:
    """The figures of `metrics --json`: period, attendance by the children of the node given (default: the home
    node), leader participation and weaknesses over its subtree."""
    period, today = parse_period(period_label), today or date.today()
    filters = Filters(node=unit_code or None)
    with session(db) as conn:
        if unit_code and not _unit_exists(conn, unit_code):
            raise ValueError(t("metrics.unknown_unit", code=unit_code))
        return {"period": period.as_dict(),
                "attendance_by_unit": attendance_by_unit(conn, period, filters, today),
                "leader_participation": leader_participation(conn, period, filters, today),
                "weaknesses": weakness_summary(conn, period, filters, today)}


# ---- a user's to-do and reminders (issue 16, branch ux) ---------------------------------------------------------
#
# Scoped in here by the user named, whose role and communes are read from the database: a clerk sees the
# communes assigned to them, an administrator or a viewer the whole organisation, an unknown or inactive
# name nothing. The pages pass the logged-in username, never a scope of their own.

# Reports of meetings held in about the last quarter: an older backlog is the leaders dashboard's business,
# and a to-do list years long helps no one.
REMINDER_DAYS = 92

SCOPE_IDS = "(:unit_ids is null or {unit} in (select value from json_each(:unit_ids)))"

REPORTS_DUE_SQL = """
select m.id as meeting_id, m.held_on, u.code as unit_code, u.name as unit_name, c.code as cell_code,
       c.name as cell_name, l.code as leader_code, l.full_name,
       date(m.held_on, '+' || :report_days || ' days') as due_on,
       cast(julianday(:today) - julianday(m.held_on) as integer) - :report_days as days_late
from meeting_leaders ml
join meetings m on m.id = ml.meeting_id
join cells c on c.id = m.cell_id
join units u on u.id = c.unit_id
join leaders l on l.id = ml.leader_id
where ml.report_submitted_on is null and m.deleted_at is null and m.held_on between :since and :today
  and """ + SCOPE_IDS.format(unit="c.unit_id") + """
order by m.held_on, c.code, l.code
"""

OVERDUE_WEAKNESSES_SQL = """
select w.id, u.code as unit_code, u.name as unit_name, c.name as cell_name, w.category, w.severity, w.status,
       w.due_on, cast(julianday(:today) - julianday(w.due_on) as integer) as days_overdue
from weaknesses w
join units u on u.id = w.unit_id
left join cells c on c.id = w.cell_id
where w.deleted_at is null and w.status != 'resolved' and w.due_on < :today
  and """ + SCOPE_IDS.format(unit="w.unit_id") + """
order by w.due_on, w.id
"""


@dataclass(frozen=True)
class UserScope:
    """The communes a user's to-do covers: every one (ids None), some, or none."""

    unit_ids: tuple[int, ...] | None
    unit_codes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Whether the user has no commune at all (a clerk without one, an unknown name)."""
        return self.unit_ids == ()

    def params(self) -> dict[str, Any]:
        """The unit_ids parameter of the to-do statements (None = the whole organisation)."""
        return {"unit_ids": None if self.unit_ids is None else json.dumps(list(self.unit_ids))}


def user_scope(db: Source, username: str) -> UserScope:
    """The communes of a user's to-do and reminders, from the user's role and assigned units in the database."""
    from lib.users import actor_for

    with session(db) as conn:
        who = actor_for(conn, username)
        if who is None:
            return UserScope((), ())
        if who.role != "clerk":
            return UserScope(None, ())
        ids = tuple(sorted(who.unit_ids))
        codes = tuple(r[0] for r in conn.execute(
            "select code from units where id in (select value from json_each(:ids)) order by code",
            {"ids": json.dumps(list(ids))}))
        return UserScope(ids, codes)


def reports_due(db: Source, username: str, today: date | None = None) -> list[dict]:
    """Leaders' attendances in the user's scope without a written report, held in the last REMINDER_DAYS days:
    each with its due day (held_on + report_days) and days late (> 0 once the report is late)."""
    today = today or date.today()
    with session(db) as conn:
        scope = user_scope(conn, username)
        if scope.empty:
            return []
        params = {"today": today.isoformat(), "since": (today - timedelta(days=REMINDER_DAYS)).isoformat(),
                  "report_days": thresholds(conn).report_days, **scope.params()}
        rows = _rows(conn, REPORTS_DUE_SQL, params)
    for r in rows:
        r["late"] = r["days_late"] > 0
    return rows


def overdue_weaknesses(db: Source, username: str, today: date | None = None) -> list[dict]:
    """Open weaknesses in the user's scope whose due day has passed, oldest due first, with the days overdue."""
    today = today or date.today()
    with session(db) as conn:
        scope = user_scope(conn, username)
        if scope.empty:
            return []
        return _rows(conn, OVERDUE_WEAKNESSES_SQL, {"today": today.isoformat(), **scope.params()})


def todo(db: Source, username: str, today: date | None = None) -> dict[str, Any]:
    """A user's to-do: this month's cells without a regular meeting (due and upcoming apart, by the due rule)
    and the leaders' reports due, late ones first."""
    today = today or date.today()
    with session(db) as conn:
        scope = user_scope(conn, username)
        if scope.empty:
            return {"missing": [], "upcoming": [], "reports": [], "report_days": thresholds(conn).report_days}
        missing, upcoming = _unheld(conn, month_period(today), Filters(unit_codes=scope.unit_codes), today)
        reports = reports_due(conn, username, today)
        return {"missing": missing, "upcoming": upcoming,
                "reports": sorted(reports, key=lambda r: (not r["late"], r["held_on"])),
                "report_days": thresholds(conn).report_days}


def reminders(db: Source, username: str, today: date | None = None) -> dict[str, Any]:
    """A user's reminders: late leader reports and overdue weaknesses in the user's scope, and their count."""
    today = today or date.today()
    with session(db) as conn:
        late = [r for r in reports_due(conn, username, today) if r["late"]]
        overdue = overdue_weaknesses(conn, username, today)
    return {"late_reports": late, "overdue_weaknesses": overdue, "count": len(late) + len(overdue)}


# ---- members: rule flags and member attendance (issue 12, branch rules) -----------------------------------------
#
# Names are personal data: each figure asks lib.members for the cells the user may read and keeps only the rows of
# those cells, so a node that spans more than the user's scope shows the part inside it (an anonymous caller is
# refused there). A flag belongs to the cell of its last meeting. Art. 8 is about the member's year: their marks
# are counted in every cell (a transfer resets nothing), and their meeting ids are listed whatever cell they were
# held in.

# How far before the period a 12-HD streak is traced back: twice the N + 1 months a streak of monthly meetings
# needs to cross the threshold (a cell that skipped a month or two still has its whole streak read).
def _streak_lookback_months(n: int) -> int:
    return 2 * (n + 1)


# The members with an absence of one kind in the period at a meeting of a cell in scope: only they can be flagged
# there (a flag's last mark falls in the period), and the rest of their record is read for them alone. Absences
# are read from the partial index of absences (the "status <> 'present'" term lets SQLite use it); "+member_id"
# keeps SQLite from reading a candidate's whole history by member instead of the year's absences by meeting, and
# "+cell_id" reads the period's meetings from the index of live meetings by day (no table row) rather than cell
# by cell.
CANDIDATES_CTE = """,
candidates(member_id) as materialized (
    select distinct mk.member_id
    from meetings m join attendance_marks mk on mk.meeting_id = m.id
    where m.deleted_at is null and m.held_on between :start and :end
      and mk.status <> 'present' and mk.status = :kind
      and +m.cell_id in (select cell_id from scope_cells)
      and (:cells is null or m.cell_id in (select value from json_each(:cells)))
)"""

FLAG_COLUMNS = """select f.member_id, mb.code as member_code, mb.full_name, c.id as cell_id, c.code as cell_code,
       c.name as cell_name, u.code as unit_code, u.name as unit_name, f.count, f.meeting_ids
from flagged f join members mb on mb.id = f.member_id
join meetings lm on lm.id = cast(substr(f.last_key, instr(f.last_key, '#') + 1) as integer)
join scope_cells sc on sc.cell_id = lm.cell_id
join cells c on c.id = lm.cell_id join units u on u.id = sc.unit_id
where (:cells is null or lm.cell_id in (select value from json_each(:cells)))
order by u.code, c.code, mb.full_name, mb.code"""

# Statute Art. 8: distinct months of the calendar year with an unexcused mark at a live meeting, up to the
# period's end, in any cell. A member is flagged in the period that holds their Nth such month (so a year flags
# once, and a quarter shows the members who reached N in it); the count is every such month of the year so far.
# The flag's cell is that of its last meeting (the one max() key: day, then id, so ties go to the later meeting).
ART8_SQL = SCOPE_SQL + CANDIDATES_CTE + """,
unexcused(member_id, month, held_on, meeting_id) as (
    select mk.member_id, substr(m.held_on, 1, 7), m.held_on, m.id
    from meetings m join attendance_marks mk on mk.meeting_id = m.id
    where m.deleted_at is null and m.held_on between :year_start and :end
      and mk.status <> 'present' and mk.status = 'unexcused'
      and +mk.member_id in (select member_id from candidates)
),
flagged(member_id, count, last_key, meeting_ids) as (
    select member_id, count(distinct month), max(held_on || '#' || printf('%012d', meeting_id)),
           group_concat(meeting_id)
    from unexcused
    group by member_id
    having count(distinct month) >= :n and count(distinct month) filter (where held_on < :start) < :n
)
""" + FLAG_COLUMNS

# Hướng dẫn 12-HD: more than N excused marks in a row at a cell's meetings. The cell's meetings with marks are
# numbered in order of day (then id); a member is marked at each while in the cell, so their absences at
# consecutive numbers have no present mark between them. Gaps and islands over the member's excused and exempt
# marks in a cell: a number less the mark's place among them is the same along a run; a present or unexcused
# mark (a number missing from the run) breaks it, an exempt mark neither breaks it nor counts (not an absence). A
# transfer starts the count again in the new cell: 12-HD judges a cell's meetings. A streak flags in the period
# holding its (N+1)th excused mark: more than N in all, at most N before the period. Only absences are read (the
# partial index), and only the candidates'. A run of more than N needs more than N excused marks of the member in
# the cell over the window ("heavy"): only those cells' meetings are numbered and only those members' runs read
# (numbering every marked meeting of the window cost three times the reading of the absences).
HD12_SQL = SCOPE_SQL + CANDIDATES_CTE + """,
heavy(member_id, cell_id) as materialized (
    select mk.member_id, m.cell_id
    from meetings m join attendance_marks mk on mk.meeting_id = m.id
    where m.deleted_at is null and m.held_on between :lookback and :end
      and mk.status <> 'present' and mk.status = 'excused'
      and +m.cell_id in (select cell_id from scope_cells)
      and +mk.member_id in (select member_id from candidates)
    group by mk.member_id, m.cell_id
    having count(*) > :n
),
marked(meeting_id, cell_id, held_on) as materialized (
    select m.id, m.cell_id, m.held_on
    from meetings m
    where m.deleted_at is null and m.held_on between :lookback and :end
      and m.cell_id in (select cell_id from heavy)
      and exists (select 1 from attendance_marks x where x.meeting_id = m.id)
),
numbered(meeting_id, cell_id, held_on, seq) as materialized (
    select meeting_id, cell_id, held_on, row_number() over (partition by cell_id order by held_on, meeting_id)
    from marked
),
runs(member_id, cell_id, meeting_id, held_on, excused, island) as (
    select mk.member_id, n.cell_id, n.meeting_id, n.held_on, mk.status = 'excused',
           n.seq - row_number() over (partition by mk.member_id, n.cell_id order by n.seq)
    from numbered n join attendance_marks mk on mk.meeting_id = n.meeting_id
    where mk.status <> 'present' and mk.status in ('excused', 'exempt')
      and (mk.member_id, n.cell_id) in (select member_id, cell_id from heavy)
),
flagged(member_id, count, last_key, meeting_ids) as (
    select member_id, count(*) filter (where excused),
           max(held_on || '#' || printf('%012d', meeting_id)) filter (where excused),
           group_concat(meeting_id) filter (where excused)
    from runs
    group by member_id, cell_id, island
    having count(*) filter (where excused) > :n and count(*) filter (where excused and held_on < :start) <= :n
)
""" + FLAG_COLUMNS

# The marks of the period's live meetings in scope: per unit by status (one pass, grouped by the few units), and
# the members with the most absences, found among the absences alone (the partial index), then their marks of
# every status read for them alone. A member transferred in the period counts in each cell for the meetings held
# there, never twice for one meeting; their row shows the cell of their last meeting. Exempt marks stay outside
# the denominator (required = present + excused + unexcused). The absences are asked of the meeting's cell_id
# ("+cell_id", as the flags' candidates): the period's meetings by day for the whole tree, a narrowed scope's cells
# one by one (joined to scope_cells, SQLite read the whole tree's meetings by day for a commune: 6 ms, not 1.5 ms).
PERIOD_MARKS = """
    from meetings m join scope_cells sc on sc.cell_id = m.cell_id
    join attendance_marks mk on mk.meeting_id = m.id
    where m.deleted_at is null and m.held_on between :start and :end and """ + TYPED + """
      and (:cells is null or m.cell_id in (select value from json_each(:cells)))"""
MEMBER_ATTENDANCE_SQL = SCOPE_SQL + """,
listed(member_id) as materialized (
    select mk.member_id
    from meetings m join attendance_marks mk on mk.meeting_id = m.id
    where m.deleted_at is null and m.held_on between :start and :end and """ + TYPED + """
      and +m.cell_id in (select cell_id from scope_cells)
      and (:cells is null or m.cell_id in (select value from json_each(:cells)))
      and mk.status <> 'present' and mk.status in ('excused', 'unexcused')
    group by mk.member_id
    order by count(*) desc, sum(mk.status = 'unexcused') desc, mk.member_id
    limit :limit
),
theirs(member_id, cell_id, unit_id, last_on, present, excused, unexcused, exempt) as (
    select mk.member_id, m.cell_id, sc.unit_id, max(m.held_on), sum(mk.status = 'present'),
           sum(mk.status = 'excused'), sum(mk.status = 'unexcused'), sum(mk.status = 'exempt')
    from listed l join attendance_marks mk on mk.member_id = l.member_id
    join meetings m on m.id = mk.meeting_id join scope_cells sc on sc.cell_id = m.cell_id
    where m.deleted_at is null and m.held_on between :start and :end and """ + TYPED + """
      and (:cells is null or m.cell_id in (select value from json_each(:cells)))
    group by mk.member_id
)
select 'unit' as kind, u.code as unit_code, u.name as unit_name, p.present, p.excused, p.unexcused, p.exempt,
       null as member_code, null as full_name, null as cell_code, null as cell_name
from (select sc.unit_id, sum(mk.status = 'present') as present, sum(mk.status = 'excused') as excused,
             sum(mk.status = 'unexcused') as unexcused, sum(mk.status = 'exempt') as exempt""" + PERIOD_MARKS + """
      group by sc.unit_id) p
join units u on u.id = p.unit_id
union all
select 'member', u.code, u.name, x.present, x.excused, x.unexcused, x.exempt, mb.code, mb.full_name, c.code, c.name
from theirs x join members mb on mb.id = x.member_id join cells c on c.id = x.cell_id join units u on u.id = x.unit_id
"""

MEMBER_UNIT_KEYS = ("unit_code", "unit_name", "present", "excused", "unexcused", "exempt")
MEMBER_KEYS = ("member_code", "full_name", "unit_code", "unit_name", "cell_code", "cell_name", "present", "excused",
               "unexcused", "exempt")
FLAG_RULES = ("art8", "hd12")


def _member_params(conn: Database, actor: Any, period: Period, filters: Filters | None, today: date,
                   **extra: Any) -> dict[str, Any]:
    from lib import members

    cells = members.readable_cell_ids(conn, actor)
    return _params(period, filters, today, cells=None if cells is None else json.dumps(sorted(cells)), **extra)


# The member statements are written for the whole tree: the period's meetings read by day ("+cell_id" and
# "+member_id" keep SQLite off the per-cell and per-member indexes). A scope narrowed to a commune or a node holds
# a few cells: then the flags and the members listed by the member attendance read its cells' meetings cell by cell,
# and a candidate's marks by member.
NARROW = (("+m.cell_id in", "m.cell_id in"), ("+mk.member_id in", "mk.member_id in"))


@lru_cache(maxsize=16)
def _narrow_sql(sql: str) -> str:
    for wide, narrow in NARROW:
        sql = sql.replace(wide, narrow)
    return sql


def _member_rows(conn: Database, sql: str, params: dict[str, Any], **kinds: tuple[str, ...]) -> Any:
    narrowed = any(params[k] is not None for k in ("unit_codes", "cell_types", "cells", "node"))
    sql = _narrow_sql(sql) if narrowed else sql
    return _rows_by_kind(conn, sql, params, kinds) if kinds else _rows(conn, sql, params)


def _flag_rows(conn: Database, sql: str, params: dict[str, Any]) -> list[dict]:
    rows = _member_rows(conn, sql, params)
    for r in rows:
        r["meeting_ids"] = sorted(int(i) for i in str(r["meeting_ids"]).split(","))
    return rows


def _lookback(period: Period, n: int) -> str:
    year, month = period.start.year, period.start.month - _streak_lookback_months(n)
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1).isoformat()


def member_flags(db: Source, actor: Any, period: Period | str, filters: Filters | None = None,
                 today: date | None = None) -> dict[str, Any]:
    """The members flagged in a period by Statute Art. 8 and Hướng dẫn 12-HD, with the threshold in force and its
    document, inside the user's scope (anonymous: refused): per rule, each flag with member, cell, count and the
    ids of the meetings behind it."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        return {key: member_rule_flags(conn, actor, period, key, filters, today) for key in FLAG_RULES}


def member_rule_flags(db: Source, actor: Any, period: Period | str, key: str, filters: Filters | None = None,
                      today: date | None = None) -> dict[str, Any]:
    """One rule's part of member_flags (key "art8" or "hd12"): its threshold in force, document and flags."""
    from lib import rules

    rule, sql, kind = {"art8": (rules.ART8_MONTHS, ART8_SQL, "unexcused"),
                       "hd12": (rules.HD12_STREAK, HD12_SQL, "excused")}[key]
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        version = rules.in_force(conn, rule, period.end)
        if version is None:
            return {"threshold": None, "document": None, "valid_from": None, "flags": []}
        n = int(version["value"])
        params = _member_params(conn, actor, period, filters, today, n=n, kind=kind,
                                year_start=date(period.end.year, 1, 1).isoformat(), lookback=_lookback(period, n))
        return {"threshold": n, "document": version["document"], "valid_from": version["valid_from"],
                "flags": _flag_rows(conn, sql, params)}


def member_attendance(db: Source, actor: Any, period: Period | str, filters: Filters | None = None,
                      today: date | None = None, limit: int = 20) -> dict[str, Any]:
    """The period's attendance by member marks inside the user's scope: per unit (marks by status, the rate over
    present + excused + unexcused, exempt left out) and the members with the most absences (at most `limit`)."""
    period, today = parse_period(period), today or date.today()
    with session(db) as conn:
        rows = _member_rows(conn, MEMBER_ATTENDANCE_SQL,
                            _member_params(conn, actor, period, filters, today, limit=limit),
                            unit=MEMBER_UNIT_KEYS, member=MEMBER_KEYS)
    rows["member"].sort(key=lambda r: (-(r["excused"] + r["unexcused"]), -r["unexcused"], r["full_name"]))
    rows["unit"].sort(key=itemgetter("unit_code"))
    for r in rows["unit"] + rows["member"]:
        r["required"] = r["present"] + r["excused"] + r["unexcused"]
        r["rate"] = _rate(r["present"], r["required"])
    sums = {k: sum(r[k] for r in rows["unit"]) for k in ("present", "excused", "unexcused", "exempt", "required")}
    return {"by_unit": rows["unit"], "members": rows["member"],
            "totals": {**sums, "rate": _rate(sums["present"], sums["required"])}}


MARKED_CELLS_SQL = """
select distinct m.cell_id from meetings m
where m.deleted_at is null and m.held_on between ? and ?
  and exists (select 1 from attendance_marks x where x.meeting_id = m.id)
"""


def flags_by_cell(db: Source, year: int) -> tuple[dict[int, int], frozenset[int]]:
    """For the year-end classification: per cell id the members flagged in the year by either rule (each member
    once, in the cell of their flag), and the cells whose meetings of the year carry member marks (the only cells
    the rules can judge). Counts only, no names: read with the system's scope."""
    from lib.domain import SYSTEM

    flags = member_flags(db, SYSTEM, str(year))
    members_by_cell: dict[int, set[int]] = {}
    for rule in FLAG_RULES:
        for f in flags[rule]["flags"]:
            members_by_cell.setdefault(f["cell_id"], set()).add(f["member_id"])
    with session(db) as conn:
        marked = frozenset(r[0] for r in conn.execute(MARKED_CELLS_SQL, [f"{year}-01-01", f"{year}-12-31"]))
    return {cell: len(ids) for cell, ids in members_by_cell.items()}, marked


def has_member_marks(db: Source, period: Period | str) -> bool:
    """Whether any live meeting of the period has member marks (else the member figures have nothing to say)."""
    period = parse_period(period)
    with session(db) as conn:
        return conn.execute(
            "select exists (select 1 from meetings m join attendance_marks mk on mk.meeting_id = m.id "
            "where m.deleted_at is null and m.held_on between ? and ?)",
            [period.start.isoformat(), period.end.isoformat()]).fetchone()[0] == 1


# ---- year-end classification of cells (branch classify) ---------------------------------------------------------

CLASS_LEVELS = ("xuat_sac", "tot", "hoan_thanh", "khong_hoan_thanh")

# Per child of the node in view: its cells valid in the year, by the level the committee decided, and the cells not
# yet decided by the level proposed for them (lib.classification.refresh stores proposals), apart; "unclassified":
# neither decided nor proposed (no proposal stored, or too little record).
CLASSIFICATION_SQL = SCOPE_SQL + """
select u.code as unit_code, u.name as unit_name, count(*) as cells,
       count(*) filter (where cc.decided_level = 'xuat_sac') as decided_xuat_sac,
       count(*) filter (where cc.decided_level = 'tot') as decided_tot,
       count(*) filter (where cc.decided_level = 'hoan_thanh') as decided_hoan_thanh,
       count(*) filter (where cc.decided_level = 'khong_hoan_thanh') as decided_khong_hoan_thanh,
       count(*) filter (where cc.decided_level is null and cc.proposed_level = 'xuat_sac') as proposed_xuat_sac,
       count(*) filter (where cc.decided_level is null and cc.proposed_level = 'tot') as proposed_tot,
       count(*) filter (where cc.decided_level is null and cc.proposed_level = 'hoan_thanh') as proposed_hoan_thanh,
       count(*) filter (where cc.decided_level is null and cc.proposed_level = 'khong_hoan_thanh')
           as proposed_khong_hoan_thanh,
       count(*) filter (where cc.decided_level is null and cc.proposed_level is null) as unclassified
from scope_cells sc
join units u on u.id = sc.unit_id
left join cell_classifications cc on cc.cell_id = sc.cell_id and cc.year = cast(substr(:start, 1, 4) as integer)
where (sc.valid_from is null or sc.valid_from <= :end) and (sc.valid_to is null or sc.valid_to >= :start)
group by sc.unit_id
order by u.code
"""

CLASSIFICATION_KEYS = ("cells", *(f"decided_{lv}" for lv in CLASS_LEVELS),
                       *(f"proposed_{lv}" for lv in CLASS_LEVELS), "unclassified")


def classification_distribution(db: Source, period: Period | str, filters: Filters | None = None,
                                today: date | None = None) -> list[dict]:
    """Per unit (child of the node in view): the cells of the period's year by decided level, and by proposed level
    where not decided, apart; each row with "decided" and "proposed" totals."""
    period, today = parse_period(period), today or date.today()
    whole = parse_period(str(period.start.year))  # the year of the period, whatever its length
    with session(db) as conn:
        rows = _rows(conn, CLASSIFICATION_SQL, _params(whole, filters, today))
    for r in rows:
        r["decided"] = sum(r[f"decided_{lv}"] for lv in CLASS_LEVELS)
        r["proposed"] = sum(r[f"proposed_{lv}"] for lv in CLASS_LEVELS)
    return rows


def classification_totals(rows: list[dict]) -> dict[str, int]:
    """The distribution's rows summed (the whole node in view)."""
    keys = (*CLASSIFICATION_KEYS, "decided", "proposed")
    return {k: sum(r[k] for r in rows) for k in keys}
