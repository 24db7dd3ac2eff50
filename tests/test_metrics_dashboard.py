"""The figures added for the dashboards (period choices, monthly totals, leader totals, ageing, durations)."""

from datetime import date

import pytest

from lib import assignments, metrics, settings, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM
from lib.metrics import Filters
from tests.factories import add_meeting, small_directory

TODAY = date(2025, 5, 15)


@pytest.fixture
def world(db_path):
    """NL (cell c1, fixed day 31) and DP (cell c2, day 10); L1 on NL (1 a quarter), L2 on DP (2 a quarter).

    Q1 2025 regular meetings of 28 required members each:
      c1 31/01 present 25 (L1 there, report the same day), c1 28/02 present 20, c2 12/01 present 28
      (L2 there, report 10 days later: late). No meeting in March.
    """
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        assignments.create(db, SYSTEM, {"leader_id": ids["l2"], "unit_id": ids["u2"], "decision_no": "12-QĐ/HU",
                                        "valid_from": "2024-01-01", "required_per_quarter": 2}, today=TODAY)
    add_meeting(db_path, ids["c1"], "2025-01-31", leaders=[{"leader_id": ids["l1"],
                                                            "report_submitted_on": "2025-01-31"}])
    add_meeting(db_path, ids["c1"], "2025-02-28", present=20)
    add_meeting(db_path, ids["c2"], "2025-01-12", present=28, leaders=[{"leader_id": ids["l2"],
                                                                       "report_submitted_on": "2025-01-22"}])
    return db_path, ids


def test_data_years_from_first_meeting_to_this_year(db_path, world):
    path, ids = world
    add_meeting(path, ids["c2"], "2023-06-10")
    with dbm.read(path) as db:
        assert metrics.data_years(db, today=date(2026, 3, 1)) == [2026, 2025, 2024, 2023]
        assert metrics.data_years(db, today=TODAY) == [2025, 2024, 2023]


def test_data_years_on_an_empty_database(db):
    assert metrics.data_years(db, today=TODAY) == [2025]


def test_attendance_by_month_sums_every_unit(world):
    path, _ = world
    with dbm.read(path) as db:
        rows = metrics.attendance_by_month(db, "2025-Q1", today=TODAY)
        totals = metrics.attendance_totals(db, "2025-Q1", today=TODAY)
    picked = [(r["month"], r["meetings"], r["present"], r["required"], r["rate"], r["held"], r["cell_months"],
               r["coverage"], r["regular"], r["on_schedule"], r["on_schedule_rate"]) for r in rows]
    assert picked == [
        # 53/56; both cells met; c1 on its day 31, c2 on the 12th instead of the 10th
        ("2025-01", 2, 53, 56, 0.9464, 2, 2, 1.0, 2, 1, 0.5),
        # 20/28; only c1 met, on 28/02 (the last day stands in for day 31)
        ("2025-02", 1, 20, 28, 0.7143, 1, 2, 0.5, 1, 1, 1.0),
        # nobody met: no rate, no schedule to keep, coverage 0 of 2
        ("2025-03", 0, 0, 0, None, 0, 2, 0.0, 0, 0, None),
    ]
    assert sum(r["present"] for r in rows) == totals["present"] == 73
    assert sum(r["held"] for r in rows) == totals["held"] == 3


def test_attendance_by_month_follows_filters(world):
    path, _ = world
    with dbm.read(path) as db:
        rows = metrics.attendance_by_month(db, "2025-Q1", Filters(unit_codes=("DP",)), today=TODAY)
    assert [(r["month"], r["present"], r["cell_months"]) for r in rows] == [
        ("2025-01", 28, 1), ("2025-02", 0, 1), ("2025-03", 0, 1)]


def test_leader_totals_and_leaders_below_assignment(world):
    path, _ = world
    with dbm.read(path) as db:
        totals = metrics.leader_totals(db, "2025-Q1", today=TODAY)
        below = metrics.leaders_below_assignment(db, "2025-Q1", today=TODAY)
    # L1: expected 1, attended 1; L2: expected 2, attended 1 → (1 + 1) / 3
    assert totals == {"expected": 3.0, "attended": 2, "compliance": 0.6667, "reports": 2, "late_reports": 1,
                      "missing_reports": 0}
    assert [(r["leader_code"], r["expected"], r["attended"], r["compliance"]) for r in below] == [
        ("L2", 2.0, 1, 0.5)]


def test_weakness_ageing_bands(world):
    path, ids = world
    noted = {"2025-05-01": "open",  # 14 days
             "2025-04-15": "open",  # 30 days: still the first band
             "2025-04-14": "in_progress",  # 31 days
             "2024-12-01": "open",  # 165 days
             "2024-01-10": "open",  # 491 days
             "2024-02-01": "resolved"}  # resolved: not open, not counted
    with dbm.write(path) as db:
        for day, status in noted.items():
            extra = {"resolved_on": "2024-03-01", "resolution": "Đã sửa"} if status == "resolved" else {}
            weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "category": "xay_dung_dang", "description": "x",
                                           "noted_on": day, "status": status, **extra}, today=TODAY)
        weaknesses.create(db, SYSTEM, {"unit_id": ids["u2"], "category": "other", "description": "y",
                                       "noted_on": "2025-05-10", "status": "open"}, today=TODAY)
    with dbm.read(path) as db:
        assert metrics.weakness_ageing(db, today=TODAY) == [
            {"bucket": "0-30", "count": 3}, {"bucket": "31-90", "count": 1},
            {"bucket": "91-180", "count": 1}, {"bucket": "181+", "count": 1}]
        assert [b["count"] for b in metrics.weakness_ageing(db, Filters(unit_codes=("DP",)), today=TODAY)] == [
            1, 0, 0, 0]


def test_weakness_ageing_empty(db):
    assert [b["count"] for b in metrics.weakness_ageing(db, today=TODAY)] == [0, 0, 0, 0]


def test_duration_bands_and_the_minimum(world):
    path, ids = world
    # the Q1 regular meetings last 120 minutes; add thematic ones of these lengths (and one without)
    for minutes, day in ((45, "2025-01-03"), (59, "2025-01-04"), (60, "2025-02-03"), (89, "2025-02-04"),
                         (90, "2025-03-03"), (119, "2025-03-04"), (200, "2025-03-05"), (None, "2025-03-06")):
        add_meeting(path, ids["c1"], day, mtype="chuyen_de", duration_minutes=minutes)
    with dbm.read(path) as db:
        bands = metrics.duration_bands(db, "2025-Q1", today=TODAY)
        regular = metrics.duration_bands(db, "2025-Q1", Filters(mtypes=("thuong_ky",)), today=TODAY)
    assert bands == [{"bucket": "<60", "count": 2, "short": True}, {"bucket": "60-89", "count": 2, "short": True},
                     {"bucket": "90-119", "count": 2, "short": False},
                     {"bucket": "120+", "count": 4, "short": False}]
    assert [b["count"] for b in regular] == [0, 0, 0, 3]
    with dbm.write(path) as db:
        settings.save_settings(db, SYSTEM, {"min_duration_minutes": "120"})
    with dbm.read(path) as db:
        assert [b["short"] for b in metrics.duration_bands(db, "2025-Q1", today=TODAY)] == [True, True, True, False]
