"""The dashboards' bundles of figures (lib.metrics.*_page) equal, part by part, the functions they are named after,
on the hand-built world of test_metrics (its answers are worked out there) and on a demo across periods and filters."""

import re
import sqlite3
from datetime import date

import pytest

from lib import db as dbm
from lib import demo, metrics
from lib.metrics import Filters, parse_period
from tests.test_metrics import TODAY as WORLD_TODAY
from tests.test_metrics import (
    bounded_meeting_reads,
    world,  # noqa: F401 (the fixture)
)

DEMO_TODAY = date(2026, 6, 30)
BUNDLES = ("overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page")
# Parts computed whatever the period: they take (db, filters, today) or today's quarter.
WITHOUT_PERIOD = {"cells_missing_last_month", "open_weaknesses", "weakness_ageing"}


def expected_part(db, name: str, period, filters: Filters, today: date):
    fn = getattr(metrics, name)
    if name in WITHOUT_PERIOD:
        return fn(db, filters, today)
    if name == "leaders_without_attendance":
        return fn(db, metrics.quarter_of(today), filters, today)
    return fn(db, period, filters, today)


def assert_bundle_equals_functions(path, bundle: str, period: str, filters: Filters, today: date) -> dict:
    with dbm.read(path) as db:
        got = getattr(metrics, bundle)(db, period, filters, today)
        for name, value in got.items():
            expected = expected_part(db, name, period, filters, today)
            assert value == expected, (bundle, name, period, filters)
            # the same rows in the same order, each with its keys in the same order
            if isinstance(value, list):
                assert [list(r) for r in value] == [list(r) for r in expected], (bundle, name)
    return got


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    """The Càng Long demo scaled to 3,000 meetings up to DEMO_TODAY (fixed seed): merged communes included."""
    path = tmp_path_factory.mktemp("bundles") / "demo.db"
    demo.load(path, meetings=3000, seed=11, today=DEMO_TODAY)
    return path


def demo_filters(path) -> list[Filters]:
    with dbm.read(path) as db:
        merged = [r[0] for r in db.execute("select code from units where successor_id is not null order by code")]
        others = [r[0] for r in db.execute("select code from units where successor_id is null order by code")]
    assert merged and others
    return [Filters(), Filters(rollup=True), Filters(mtypes=("chuyen_de",)), Filters(cell_types=("co_quan",)),
            Filters(unit_codes=(merged[0], others[0])), Filters(unit_codes=(others[-1],), rollup=True),
            Filters(unit_codes=(merged[0],), cell_types=("ap_khom",), mtypes=("thuong_ky",), rollup=True)]


@pytest.mark.parametrize("bundle", BUNDLES)
@pytest.mark.parametrize("period", ["2025", "2025-Q3", "2026-Q2", "2026-06", "2015"])
def test_bundles_equal_their_functions_on_the_demo(demo_path, bundle, period):
    for filters in demo_filters(demo_path):
        assert_bundle_equals_functions(demo_path, bundle, period, filters, DEMO_TODAY)


def test_bundles_are_not_empty_on_the_demo(demo_path):
    att = assert_bundle_equals_functions(demo_path, "attendance_page", "2025", Filters(), DEMO_TODAY)
    assert sum(u["meetings"] for u in att["attendance_by_unit"]) > 500
    assert att["missing_meetings"] and len(att["attendance_by_month"]) == 12
    # a unit's row is its months summed
    first = att["attendance_by_unit"][0]
    months = [r for r in att["attendance_by_unit_month"] if r["unit_code"] == first["unit_code"]]
    assert first["present"] == sum(r["present"] for r in months) and first["held"] == sum(r["held"] for r in months)
    lead = assert_bundle_equals_functions(demo_path, "leaders_page", "2026-Q2", Filters(), DEMO_TODAY)
    assert lead["participation_by_group"] and lead["leader_totals"]["attended"] > 0
    weak = assert_bundle_equals_functions(demo_path, "weakness_page", "2025", Filters(), DEMO_TODAY)
    assert weak["open_weaknesses"] and sum(r["noted"] for r in weak["weakness_trend"]) > 0
    quality = assert_bundle_equals_functions(demo_path, "quality_page", "2025", Filters(), DEMO_TODAY)
    assert sum(b["count"] for b in quality["duration_bands"]) == quality["short_meetings"]["with_duration"] > 0


@pytest.mark.parametrize("bundle", BUNDLES)
@pytest.mark.parametrize("filters", [Filters(), Filters(rollup=True), Filters(unit_codes=("U1",)),
                                     Filters(cell_types=("co_quan",)), Filters(mtypes=("chuyen_de",))])
def test_bundles_equal_their_functions_on_the_hand_built_world(world, bundle, filters):  # noqa: F811
    for period in ("2025-Q1", "2025", "2025-05"):
        assert_bundle_equals_functions(world, bundle, period, filters, WORLD_TODAY)


def test_attendance_months_after_today_with_a_type_filter(world):  # noqa: F811
    # Seen as of 15/03/2025, April and May are after today: they have meetings but no cell-months. With
    # only the special-topic meetings counted, March has none of that type either, and the sums are 0, not null.
    got = assert_bundle_equals_functions(world, "attendance_page", "2025", Filters(mtypes=("chuyen_de",)),
                                         date(2025, 3, 15))
    march = [r for r in got["attendance_by_unit_month"] if r["month"] == "2025-03"]
    assert march and all(r["meetings"] == 0 and r["required"] == 0 and r["rate"] is None for r in march)
    # the one special-topic meeting: C1 (U1) on 12/04/2025, 10 members, 5 present
    april = [r for r in got["attendance_by_unit_month"] if r["month"] == "2025-04"]
    assert [(r["unit_code"], r["meetings"], r["required"], r["present"], r["cell_months"]) for r in april] == [
        ("U1", 1, 10, 5, 0)]


def test_attendance_page_worked_out_on_the_hand_built_world(world):  # noqa: F811
    got = assert_bundle_equals_functions(world, "attendance_page", "2025-05", Filters(), WORLD_TODAY)
    # May 2025 is the current month (today 15/05): C1 (day 31) and C4 (day 15) have not met and their day has
    # not passed: upcoming, outside coverage; C2 met on 05/05: the one due cell-month, held.
    assert got["missing_meetings"] == []
    assert [(r["cell_code"], r["status"]) for r in got["upcoming_meetings"]] == [("C1", "upcoming"), ("C4", "upcoming")]
    assert got["upcoming_by_unit"] == [{"unit_code": "U1", "unit_name": "An Phú", "upcoming": 1},
                                       {"unit_code": "U2", "unit_name": "Bình Hòa", "upcoming": 1}]
    totals = got["attendance_totals"]
    assert (totals["cell_months"], totals["held"], totals["coverage"], totals["upcoming"]) == (1, 1, 1.0, 2)


def test_bundles_on_an_empty_database(db_path):
    for bundle in BUNDLES:
        assert_bundle_equals_functions(db_path, bundle, "2025", Filters(), WORLD_TODAY)


def test_leaders_page_reuses_the_period_when_it_is_this_quarter(demo_path):
    quarter = metrics.quarter_of(DEMO_TODAY)
    assert quarter.label == "2026-Q2"
    got = assert_bundle_equals_functions(demo_path, "leaders_page", quarter.label, Filters(), DEMO_TODAY)
    assert got["leaders_without_attendance"] == [r for r in got["participation_by_leader"]
                                                 if r["expected_thirds"] > 0 and r["attended"] == 0]


def test_weakness_trend_and_page_see_weaknesses_with_odd_dates(db_path):
    # Rows a store would refuse, as an old import might have left them: resolved before being noted,
    # resolved without a date. The page keeps fewer weaknesses than the trend scans: it must see these.
    with dbm.write(db_path) as db:
        unit = db["units"].insert({"code": "U1", "name": "An Phú", "kind": "xa"}).last_pk
        for noted, status, resolved in (("2026-02-01", "resolved", "2025-03-10"),  # resolved in the period
                                        ("2024-06-01", "resolved", "2025-02-20"),  # open until February
                                        ("2024-06-01", "resolved", "2024-12-31"),  # resolved before the period
                                        ("2025-01-05", "resolved", None),          # noted in it, never open
                                        ("2024-11-11", "open", None)):
            db["weaknesses"].insert({"unit_id": unit, "category": "other", "noted_on": noted, "status": status,
                                     "resolved_on": resolved, "severity": "medium"})
    with dbm.read(db_path) as db:
        trend = metrics.weakness_trend(db, "2025-Q1", today=WORLD_TODAY)
    assert [(r["month"], r["noted"], r["resolved"], r["open_at_end"]) for r in trend] == [
        ("2025-01", 1, 0, 2), ("2025-02", 0, 1, 1), ("2025-03", 0, 1, 1)]
    got = assert_bundle_equals_functions(db_path, "weakness_page", "2025-Q1", Filters(), WORLD_TODAY)
    assert got["weakness_trend"] == trend


PAGE_SQL = ["ATTENDANCE_PAGE_SQL", "QUALITY_PAGE_SQL", "ATTENDANCE_SQL[cell]", "ATTENDANCE_SQL[unit_month]"]


@pytest.mark.parametrize("whole_scope", [False, True])
@pytest.mark.parametrize("name", PAGE_SQL)
def test_page_queries_read_meetings_through_an_index(world, name, whole_scope):  # noqa: F811
    if "[" in name:
        constant, level = name[:-1].split("[")
        sql = getattr(metrics, constant).format(**metrics.LEVELS[level])
    else:
        sql = getattr(metrics, name)
    sql = metrics._specialized_sql(sql, whole_scope, whole_scope)
    params = metrics._params(parse_period("2025"), Filters(), WORLD_TODAY, min_duration=90, current_month="2025-05")
    with dbm.read(world) as db:
        plan = [row[3] for row in db.execute("explain query plan " + sql, params)]
    assert bounded_meeting_reads(plan), plan


def _scoped_statements() -> dict[str, str]:
    """Every statement of lib.metrics that starts with the scope CTEs, each level of the templated ones (the
    CTE prefixes that others build on are not statements of their own)."""
    out = {}
    for name in dir(metrics):
        sql = getattr(metrics, name)
        if not (name.endswith("_SQL") and isinstance(sql, str) and sql.startswith(metrics.SCOPE_SQL)):
            continue
        if "{keys}" in sql:
            out.update({f"{name}[{level}]": sql.format(**values) for level, values in metrics.LEVELS.items()})
        elif _is_statement(sql):
            out[name] = sql
    return out


def _is_statement(sql: str) -> bool:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("explain " + sql, dict.fromkeys(re.findall(r":(\w+)", sql)))
    except sqlite3.OperationalError as e:
        if "incomplete input" in str(e):
            return False
        if "no such table" not in str(e):
            raise
    finally:
        conn.close()
    return True


SCOPED_STATEMENTS = _scoped_statements()


def test_every_figure_statement_is_specialized():
    # the ones the pages and the CLI run; a statement added later is found by the same rule
    assert {"ATTENDANCE_PAGE_SQL", "WEAKNESS_PAGE_SQL", "BY_LEADER_SQL", "QUALITY_PAGE_SQL",
            "ATTENDANCE_SQL[unit]"} <= set(SCOPED_STATEMENTS)
    for sql in SCOPED_STATEMENTS.values():
        assert metrics._specialized_sql(sql, True, False).startswith(metrics.WHOLE_SCOPE_SQL)
    assert metrics.TYPED_FILTER not in metrics._specialized_sql(metrics.ATTENDANCE_PAGE_SQL, False, True)
    assert metrics.WHOLE_SCOPE_WEAKNESS_ROWS in metrics._specialized_sql(metrics.WEAKNESS_PAGE_SQL, True, False)
    assert metrics.SCOPED_WEAKNESS_ROWS in metrics._specialized_sql(metrics.WEAKNESS_PAGE_SQL, False, True)


@pytest.mark.parametrize("period", ["2025", "2025-Q1", "2025-04"])
@pytest.mark.parametrize("name", sorted(SCOPED_STATEMENTS))
def test_specialized_statement_returns_the_same_rows(world, name, period):  # noqa: F811
    """Without filters, the statement as run (whole scope, no type test) gives exactly the general one's rows."""
    sql = SCOPED_STATEMENTS[name]
    p = parse_period(period)
    params = metrics._params(p, Filters(), WORLD_TODAY, report_days=7, min_duration=90, limit=10,
                             current_month="2025-05", leader_code="L1", as_of="2025-03-31",
                             # the member statements: every cell readable, a threshold of 1 so the world's two
                             # members flag, each rule's kind of absence, the year and 12-HD's look-back
                             cells=None, n=1, kind="excused" if name.startswith("HD12") else "unexcused",
                             year_start=f"{p.end.year}-01-01", lookback="2024-01-01")
    with dbm.read(world) as db:
        general = db.execute(sql, params).fetchall()
        special = db.execute(metrics._specialized_sql(sql, True, True), params).fetchall()
    if period == "2025":  # the world's year has rows for every statement, so the comparison means something
        assert general, name
    assert sorted(special, key=repr) == sorted(general, key=repr)
