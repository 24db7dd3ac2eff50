"""Figures of lib/metrics.py on small hand-built data; every expected number is worked out in a comment."""

import json
import re
from datetime import date

import pytest

from lib import assignments, directory, meetings, metrics, settings, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM
from lib.metrics import Filters, parse_period, previous

TODAY = date(2025, 5, 15)

# The world (today = 15/05/2025):
#   U1  cells C1 (ấp, day 31, since 2024), C2 (school, day 5, formed 10/02/2025),
#            C3 (ấp, day 10, dissolved 20/04/2025)
#   U2  cell  C4 (agency, day 15, since 2024)
#   U3  cell  C5 (ấp, day 20, until 31/03/2025); U3 merged into U2 on 31/03/2025
# Meetings (cell, day, type, total, exempt, present, excused, unexcused, extras):
MEETINGS = [
    ("C1", "2024-12-31", "thuong_ky", 10, 0, 10, 0, 0, {}),
    ("C1", "2025-01-31", "thuong_ky", 10, 0, 9, 1, 0, {"score": 95, "leadership": 1, "education": 1}),
    ("C1", "2025-02-28", "thuong_ky", 10, 2, 6, 1, 1, {"rating": "kha", "duration_minutes": 60, "leadership": 1}),
    ("C1", "2025-03-30", "thuong_ky", 10, 0, 10, 0, 0, {"rating": "trung_binh", "duration_minutes": 90}),
    ("C1", "2025-04-12", "chuyen_de", 10, 0, 5, 0, 5, {}),
    ("C1", "2025-04-30", "thuong_ky", 10, 0, 8, 1, 1, {}),
    ("C2", "2025-02-20", "thuong_ky", 4, 0, 4, 0, 0, {}),
    ("C2", "2025-03-05", "thuong_ky", 4, 0, 2, 2, 0, {"duration_minutes": None}),
    ("C2", "2025-05-05", "thuong_ky", 4, 0, 3, 0, 1, {}),
    ("C3", "2025-01-10", "thuong_ky", 20, 0, 20, 0, 0, {"score": 40, "duration_minutes": 45, "combativeness": 1}),
    ("C3", "2025-02-10", "thuong_ky", 20, 0, 20, 0, 0, {"deleted": True}),
    ("C3", "2025-03-10", "thuong_ky", 20, 5, 10, 3, 2, {}),
    ("C3", "2025-04-10", "thuong_ky", 20, 0, 15, 5, 0, {}),
    ("C4", "2025-01-15", "thuong_ky", 8, 0, 8, 0, 0, {"leadership": 1}),
    ("C5", "2025-01-20", "thuong_ky", 10, 0, 7, 3, 0, {"combativeness": 1}),
    ("C5", "2025-03-20", "thuong_ky", 10, 0, 10, 0, 0, {}),
]
# Leaders present (leader, cell, day, report received on):
ATTENDANCE = [
    ("L1", "C1", "2025-01-31", "2025-02-08"),  # 8 days after: late
    ("L1", "C1", "2025-02-28", "2025-03-07"),  # exactly 7 days: on time
    ("L1", "C2", "2025-03-05", "2025-03-05"),
    ("L1", "C3", "2025-03-10", None),  # missing
    ("L1", "C3", "2025-02-10", "2025-02-10"),  # meeting deleted: never counts
    ("L1", "C4", "2025-01-15", "2025-01-15"),  # not L1's unit: never counts
    ("L1", "C1", "2025-04-12", None),
    ("L2", "C1", "2025-01-31", "2025-01-31"),  # before L2's U1 assignment starts
    ("L2", "C1", "2025-02-28", "2025-03-01"),
    ("L2", "C4", "2025-01-15", "2025-01-20"),
    ("L2", "C1", "2025-04-30", "2025-05-09"),  # 9 days: late
]


def _add_meeting(db, cells, row, leaders):
    code, held_on, mtype, total, exempt, present, excused, unexcused, extra = row
    extra = dict(extra)
    deleted = extra.pop("deleted", False)
    raw = {"cell_id": cells[code], "held_on": held_on, "mtype": mtype, "members_total": total,
           "members_exempt": exempt, "present": present, "absent_excused": excused,
           "absent_unexcused": unexcused, "duration_minutes": 120, **extra}
    present_leaders = [{"leader_id": leaders[lc], "report_submitted_on": rep}
                       for lc, cc, day, rep in ATTENDANCE if (cc, day) == (code, held_on)]
    meeting_id = meetings.create(db, SYSTEM, raw, present_leaders, today=TODAY)
    if deleted:
        meetings.delete(db, SYSTEM, meeting_id)


@pytest.fixture
def world(db_path):
    """The world above, written through the store functions; returns the database path."""
    with dbm.write(db_path) as db:
        units = {code: directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": "xa"})
                 for code, name in (("U1", "An Phú"), ("U2", "Bình Hòa"), ("U3", "Cầu Đôi"))}
        cells = {}
        for code, unit, ctype, day, vf, vt in (
            ("C1", "U1", "ap_khom", 31, "2024-01-01", None),
            ("C2", "U1", "truong_hoc", 5, "2025-02-10", None),
            ("C3", "U1", "ap_khom", 10, "2024-01-01", "2025-04-20"),
            ("C4", "U2", "co_quan", 15, "2024-01-01", None),
            ("C5", "U3", "ap_khom", 20, "2024-01-01", "2025-03-31"),
        ):
            cells[code] = directory.create_cell(db, SYSTEM, {
                "code": code, "unit_id": units[unit], "name": f"Chi bộ {code}", "cell_type": ctype,
                "meeting_day": day, "valid_from": vf, "valid_to": vt})
        directory.merge_unit(db, SYSTEM, units["U3"], units["U2"], "2025-03-31")
        leaders = {code: directory.create_leader(db, SYSTEM, {"code": code, "full_name": name, "grp": grp})
                   for code, name, grp in (("L1", "Nguyễn Văn An", "uv_btv"), ("L2", "Trần Thị Bình", "uv_bch"),
                                           ("L3", "Lê Văn Cường", "truong_ban_nganh"))}
        for leader, unit, cell, vf, vt, per_quarter in (
            ("L1", "U1", None, "2024-01-01", None, 1),
            ("L2", "U1", None, "2025-02-15", None, 1),  # starts mid-Q1
            ("L2", "U2", "C4", "2024-06-01", "2025-02-10", 2),  # cell-level, ends mid-Q1
            ("L3", "U2", None, "2024-01-01", None, 1),
        ):
            assignments.create(db, SYSTEM, {
                "leader_id": leaders[leader], "unit_id": units[unit], "cell_id": cells.get(cell),
                "decision_no": "395-QĐ/HU", "valid_from": vf, "valid_to": vt,
                "required_per_quarter": per_quarter}, today=TODAY)
        for row in MEETINGS:
            _add_meeting(db, cells, row, leaders)
        # One 2025 meeting assessed by the 12-HD / 42-HD checklist (lib.checklist), so its figure has rows here too.
        db.execute("insert into meeting_checklists(meeting_id, proposed_rating, criteria_version) select min(id), "
                   "'tot', '12-HD/BTCTW' from meetings where deleted_at is null and held_on like '2025%'")
        # Two members' marks at C1's meetings, so the member statements (rule flags, member attendance) have rows
        # here too: M1 absent without reason on 28/02; M2 excused on 31/01 and 28/02 (two in a row), absent without
        # reason on 12/04. Only these marks: the meetings' counts stay typed (no figure of this file reads marks).
        for code, name, marks in (("M1", "Phạm Văn Một", (("2025-02-28", "unexcused"),)),
                                  ("M2", "Võ Thị Hai", (("2025-01-31", "excused"), ("2025-02-28", "excused"),
                                                        ("2025-04-12", "unexcused")))):
            member = db.execute("insert into members(code, full_name) values (?, ?)", [code, name]).lastrowid
            db.execute("insert into member_cells(member_id, cell_id, valid_from) values (?, ?, '2024-01-01')",
                       [member, cells["C1"]])
            for held_on, status in marks:
                db.execute("insert into attendance_marks(meeting_id, member_id, status) select id, ?, ? "
                           "from meetings where cell_id = ? and held_on = ?", [member, status, cells["C1"], held_on])
        for unit, cell, cat, noted, status, due, extra in (
            ("U1", "C1", "pho_bien_van_ban", "2025-01-20", "open", "2025-03-31", {}),  # W1 overdue
            ("U1", None, "xay_dung_dang", "2025-02-10", "resolved", None,  # W2
             {"resolved_on": "2025-03-01", "resolution": "Đã khắc phục"}),
            ("U2", "C4", "attendance_low", "2025-03-15", "in_progress", "2025-06-30", {}),  # W3
            ("U1", None, "not_held", "2024-11-05", "open", "2025-01-31", {}),  # W4 before Q1, overdue
            ("U3", None, "other", "2025-02-01", "open", None, {}),  # W5 on the merged unit
            ("U1", None, "other", "2025-03-01", "open", None, {"deleted": True}),  # W6 deleted
            ("U2", None, "pho_bien_van_ban", "2025-04-10", "open", "2025-05-15", {}),  # W7 due today
        ):
            deleted = extra.pop("deleted", False)
            wid = weaknesses.create(db, SYSTEM, {
                "unit_id": units[unit], "cell_id": cells.get(cell), "category": cat, "description": "x",
                "noted_on": noted, "status": status, "due_on": due, **extra}, today=TODAY)
            if deleted:
                weaknesses.delete(db, SYSTEM, wid)
    return db_path


def _pick(rows, *keys):
    return [tuple(r[k] for k in keys) for r in rows]


# ---- periods ---------------------------------------------------------------------------

@pytest.mark.parametrize("label, norm, start, end, months", [
    ("2025", "2025", date(2025, 1, 1), date(2025, 12, 31), [(2025, m) for m in range(1, 13)]),
    ("2025-Q2", "2025-Q2", date(2025, 4, 1), date(2025, 6, 30), [(2025, 4), (2025, 5), (2025, 6)]),
    (" 2025-q4 ", "2025-Q4", date(2025, 10, 1), date(2025, 12, 31), [(2025, 10), (2025, 11), (2025, 12)]),
    ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29), [(2024, 2)]),
    ("2025-02", "2025-02", date(2025, 2, 1), date(2025, 2, 28), [(2025, 2)]),
])
def test_parse_period(label, norm, start, end, months):
    p = parse_period(label)
    assert (p.label, p.start, p.end, p.months) == (norm, start, end, months)


@pytest.mark.parametrize("label", ["", "2025-Q5", "2025-Q0", "2025-13", "2025-00", "25", "2025/03", "2025-3",
                                   "Q2-2025", "năm 2025", "2025-03-01", None])
def test_parse_period_refuses(label):
    with pytest.raises(ValueError, match="2025-Q2"):  # the message shows the accepted forms
        parse_period(label)


@pytest.mark.parametrize("label, before", [
    ("2025", "2024"), ("2025-Q1", "2024-Q4"), ("2025-Q3", "2025-Q2"), ("2025-01", "2024-12"),
    ("2025-03", "2025-02"),
])
def test_previous(label, before):
    assert previous(parse_period(label)) == parse_period(before)


# ---- attendance, coverage, on-schedule -------------------------------------------------

UNIT_KEYS = ["unit_code", "unit_name", "meetings", "required", "present", "absent_excused", "absent_unexcused",
             "rate", "cell_months", "held", "coverage", "on_schedule_rate"]


def test_attendance_by_unit_year(world):
    rows = metrics.attendance_by_unit(world, "2025", today=TODAY)
    assert all(list(r) == UNIT_KEYS for r in rows)
    # U1, 11 live meetings (the deleted C3 10/02 and the 2024 one left out):
    #   required C1 10+8+10+10+10=48, C2 4+4+4=12, C3 20+15+20=55 -> 115
    #   present  C1 9+6+10+5+8=38,   C2 4+2+3=9,   C3 20+10+15=45 -> 92; rate 92/115 = 0.8
    #   (a mean of the cells' rates would be (0.7917+0.75+0.8182)/3 = 0.7866)
    #   excused 3+2+8=13, unexcused 7+1+2=10
    #   cell-months Jan..May (June on is future): C1 5, C2 Mar-May 3 (formed 10/02), C3 Jan-Apr 4
    #   (dissolved 20/04) -> 12, of which C1's May is not due yet (its day, the 31st, is to come): 11 due;
    #   held C1 Jan-Apr 4, C2 Mar+May 2 (its 20/02 meeting is before its first cell-month),
    #   C3 Jan,Mar,Apr 3 -> 9; coverage 9/11 = 0.8182
    #   on schedule: C1 31/01, 28/02 (Feb is short), 30/04 (April is short) yes, 30/03 no -> 3/4;
    #   C2 20/02 no, 05/03 and 05/05 yes -> 2/3; C3 all 3 -> 8/10
    # U2: one meeting 8/8; cell-months C4 Jan-May 5, May not due (its day is today, the 15th) -> 4, held 1;
    #     on schedule 1/1
    # U3: 7/10 and 10/10; cell-months C5 Jan-Mar 3, held 2; on schedule 2/2
    assert rows == [
        dict(zip(UNIT_KEYS, ["U1", "An Phú", 11, 115, 92, 13, 10, 0.8, 11, 9, 0.8182, 0.8], strict=True)),
        dict(zip(UNIT_KEYS, ["U2", "Bình Hòa", 1, 8, 8, 0, 0, 1.0, 4, 1, 0.25, 1.0], strict=True)),
        dict(zip(UNIT_KEYS, ["U3", "Cầu Đôi", 2, 20, 17, 3, 0, 0.85, 3, 2, 0.6667, 1.0], strict=True)),
    ]


def test_attendance_month_counts_non_regular_meetings(world):
    # April: U1 C1 30/04 (8/10) + chuyên đề 12/04 (5/10), C3 10/04 (15/20) -> 28/40 = 0.7;
    # cell-months C1, C2, C3 (valid on 01/04) -> 3, held C1, C3 -> 0.6667; on schedule 2/2.
    # U2: no meeting, one cell-month -> rate null, coverage 0. U3's C5 ended in March: no row.
    rows = metrics.attendance_by_unit(world, "2025-04", today=TODAY)
    assert _pick(rows, "unit_code", "meetings", "required", "present", "rate", "cell_months", "held",
                 "coverage", "on_schedule_rate") == [
        ("U1", 3, 40, 28, 0.7, 3, 2, 0.6667, 1.0),
        ("U2", 0, 0, 0, None, 1, 0, 0.0, None),
    ]


def test_future_period_has_no_cell_months(world):
    assert metrics.attendance_by_unit(world, "2025-Q3", today=TODAY) == []


def test_current_month_before_its_day_is_upcoming(world):
    # 2025: missing C2 Apr, C3 Feb (its meeting was deleted), C4 Feb-Apr, C5 Feb. In May (the current
    # month) C1 (day 31) and C4 (day 15, today) have not met and their day has not passed: upcoming, listed
    # apart. C3 in May and C2 in Feb are not cell-months.
    rows = metrics.missing_meetings(world, "2025", today=TODAY)
    assert _pick(rows, "unit_code", "cell_code", "month", "status") == [
        ("U1", "C2", "2025-04", "missing"),
        ("U1", "C3", "2025-02", "missing"),
        ("U2", "C4", "2025-02", "missing"),
        ("U2", "C4", "2025-03", "missing"),
        ("U2", "C4", "2025-04", "missing"),
        ("U3", "C5", "2025-02", "missing"),
    ]
    assert rows[0]["status_label"] == "Không sinh hoạt"
    upcoming = metrics.upcoming_meetings(world, "2025", today=TODAY)
    assert _pick(upcoming, "unit_code", "cell_code", "month", "status", "due_on") == [
        ("U1", "C1", "2025-05", "upcoming", "2025-05-31"), ("U2", "C4", "2025-05", "upcoming", "2025-05-15")]
    assert upcoming[0]["status_label"] == "Sắp đến hạn"
    # A month later both are missing.
    later = metrics.missing_meetings(world, "2025-05", today=date(2025, 6, 1))
    assert _pick(later, "cell_code", "status") == [("C1", "missing"), ("C4", "missing")]
    assert metrics.upcoming_meetings(world, "2025-05", today=date(2025, 6, 1)) == []


def test_cells_missing_last_month(world):
    # Last month of 15/05/2025 is April: C2 and C4 held no regular meeting.
    rows = metrics.cells_missing_last_month(world, today=TODAY)
    assert _pick(rows, "unit_code", "cell_code", "month") == [("U1", "C2", "2025-04"), ("U2", "C4", "2025-04")]


def test_attendance_by_cell(world):
    rows = metrics.attendance_by_cell(world, "2025", Filters(unit_codes=("U1",)), today=TODAY)
    # Per cell as worked out for U1 above.
    assert _pick(rows, "cell_code", "cell_type", "meetings", "required", "present", "cell_months", "held",
                 "regular", "on_schedule", "rate") == [
        ("C1", "ap_khom", 5, 48, 38, 4, 4, 4, 3, 0.7917),  # May not due yet: 4 cell-months
        ("C2", "truong_hoc", 3, 12, 9, 3, 2, 3, 2, 0.75),
        ("C3", "ap_khom", 3, 55, 45, 4, 3, 3, 3, 0.8182),
    ]


def test_attendance_by_unit_month(world):
    rows = metrics.attendance_by_unit_month(world, "2025-Q1", today=TODAY)
    # U1 Jan: C1 9/10 + C3 20/20; cell-months C1, C3 (C2 not yet formed), both held.
    # U1 Feb: C1 6/8 + C2 4/4; cell-months C1, C3; held C1 only (C3's was deleted).
    # U1 Mar: C1 10/10, C2 2/4, C3 10/15 -> 22/29; three cell-months, all held.
    assert _pick(rows, "unit_code", "month", "meetings", "required", "present", "cell_months", "held") == [
        ("U1", "2025-01", 2, 30, 29, 2, 2),
        ("U1", "2025-02", 2, 12, 10, 2, 1),
        ("U1", "2025-03", 3, 29, 22, 3, 3),
        ("U2", "2025-01", 1, 8, 8, 1, 1),
        ("U2", "2025-02", 0, 0, 0, 1, 0),
        ("U2", "2025-03", 0, 0, 0, 1, 0),
        ("U3", "2025-01", 1, 10, 7, 1, 1),
        ("U3", "2025-02", 0, 0, 0, 1, 0),
        ("U3", "2025-03", 1, 10, 10, 1, 1),
    ]
    assert rows[2]["rate"] == 0.7586  # 22/29


def test_attendance_by_month_stops_at_this_month(world):
    # Q2 on 15/05: June is future and has no row. April: U1 28/40 (3 meetings), U2 none;
    # cell-months C1, C2, C3, C4 = 4, held C1, C3. May: C2 05/05 3/4; cell-months C1, C2, C4
    # (C3 dissolved in April), of which only C2 is due (held); C1 and C4 are upcoming.
    rows = metrics.attendance_by_month(world, "2025-Q2", today=TODAY)
    assert _pick(rows, "month", "meetings", "required", "present", "rate", "cell_months", "held", "coverage",
                 "upcoming") == [
        ("2025-04", 3, 40, 28, 0.7, 4, 2, 0.5, 0), ("2025-05", 1, 4, 3, 0.75, 1, 1, 1.0, 2)]


def test_data_years(world):
    # The first live meeting is 31/12/2024.
    assert metrics.data_years(world, today=TODAY) == [2025, 2024]
    assert metrics.data_years(world, today=date(2027, 1, 1)) == [2027, 2026, 2025, 2024]


@pytest.mark.parametrize("meeting_day, held_on, on_schedule", [
    (31, "2025-04-30", 1),  # April has 30 days: its last day is the fixed day
    (31, "2025-04-29", 0),
    (31, "2025-02-28", 1),
    (30, "2025-02-28", 1),
    (29, "2024-02-29", 1),  # leap year
    (29, "2024-02-28", 0),
    (31, "2025-03-30", 0),
    (15, "2025-03-15", 1),
    (15, "2025-03-16", 0),
])
def test_on_schedule(db_path, meeting_day, held_on, on_schedule):
    with dbm.write(db_path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "U", "name": "U", "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "C", "unit_id": unit, "name": "C", "cell_type": "ap_khom",
                                                  "meeting_day": meeting_day, "valid_from": "2020-01-01"})
        meetings.create(db, SYSTEM, {"cell_id": cell, "held_on": held_on, "mtype": "thuong_ky", "members_total": 5,
                                     "present": 5, "absent_excused": 0, "absent_unexcused": 0}, today=TODAY)
    [row] = metrics.attendance_by_cell(db_path, held_on[:7], today=TODAY)
    assert (row["regular"], row["on_schedule"], row["on_schedule_rate"]) == (1, on_schedule, float(on_schedule))


# ---- filters ---------------------------------------------------------------------------

@pytest.mark.parametrize("filters, expected", [
    # Only the school cell C2: 9/12, cell-months Mar-May 3, held 2, on schedule 2/3.
    (Filters(cell_types=("truong_hoc",)), [("U1", 3, 12, 9, 0.75, 3, 2, 0.6667, 0.6667)]),
    # Only the chuyên đề meeting counts for attendance; coverage and on-schedule stay about
    # regular meetings; U2 and U3 keep their cell-months with no meeting counted. (Due cell-months:
    # C1's and C4's May are upcoming on 15/05, as in test_attendance_by_unit_year.)
    (Filters(mtypes=("chuyen_de",)), [("U1", 1, 10, 5, 0.5, 11, 9, 0.8182, 0.8),
                                      ("U2", 0, 0, 0, None, 4, 1, 0.25, 1.0),
                                      ("U3", 0, 0, 0, None, 3, 2, 0.6667, 1.0)]),
    (Filters(unit_codes=("U2",)), [("U2", 1, 8, 8, 1.0, 4, 1, 0.25, 1.0)]),
    # Rollup: U3 (merged into U2) counts under U2: 25/28 = 0.8929, cell-months 4+3, held 1+2 -> 3/7.
    (Filters(rollup=True), [("U1", 11, 115, 92, 0.8, 11, 9, 0.8182, 0.8),
                            ("U2", 3, 28, 25, 0.8929, 7, 3, 0.4286, 1.0)]),
    (Filters(unit_codes=("U2",), rollup=True), [("U2", 3, 28, 25, 0.8929, 7, 3, 0.4286, 1.0)]),
    # With rollup U3 reports under U2, so asking for U3 finds nothing.
    (Filters(unit_codes=("U3",), rollup=True), []),
    (Filters(unit_codes=("U1", "U3")), [("U1", 11, 115, 92, 0.8, 11, 9, 0.8182, 0.8),
                                       ("U3", 2, 20, 17, 0.85, 3, 2, 0.6667, 1.0)]),
])
def test_attendance_filters(world, filters, expected):
    rows = metrics.attendance_by_unit(world, "2025", filters, today=TODAY)
    assert _pick(rows, "unit_code", "meetings", "required", "present", "rate", "cell_months", "held", "coverage",
                 "on_schedule_rate") == expected


# ---- leaders -----------------------------------------------------------------------------

LEADER_KEYS = ["leader_code", "full_name", "grp", "expected", "attended", "compliance", "reports", "late_reports"]


def test_leader_participation_quarter(world):
    rows = metrics.leader_participation(world, "2025-Q1", today=TODAY)
    assert all(list(r) == LEADER_KEYS for r in rows)
    # L1 on U1 all quarter: expected 1; attended C1 31/01, C1 28/02, C2 05/03, C3 10/03 = 4 (the
    #   deleted meeting and the U2 one do not count) -> capped at 1, compliance 1.0; reports 3,
    #   late 1 (31/01 reported 08/02, 8 days), 28/02 reported 07/03 (7 days) on time.
    # L2 on U1 from 15/02: Feb and Mar -> expected 2/3; attended 28/02 (31/01 is before) -> capped 2/3.
    #   L2 on C4 (2 a quarter) until 10/02: Jan and Feb -> expected 4/3; attended 15/01 -> 1.
    #   expected 2/3+4/3 = 2; compliance (2/3 + 1) / 2 = 0.8333; reports 2, none late.
    # L3 on U2: expected 1, attended 0.
    assert _pick(rows, "leader_code", "grp", "expected", "attended", "compliance", "reports", "late_reports") == [
        ("L1", "uv_btv", 1.0, 4, 1.0, 3, 1),
        ("L2", "uv_bch", 2.0, 2, 0.8333, 2, 0),
        ("L3", "truong_ban_nganh", 1.0, 0, 0.0, 0, 0),
    ]


def test_leader_participation_current_quarter_stops_at_this_month(world):
    # Q2 on 15/05: April and May count, June is future -> each open assignment expects 2/3.
    # L1: chuyên đề 12/04 (no report) -> 1, compliance 1.0. L2 (U1): 30/04, reported 09/05 (9 days) -> late.
    # L2's C4 assignment ended in February: not in the quarter.
    rows = metrics.participation_by_leader(world, "2025-Q2", today=TODAY)
    assert _pick(rows, "leader_code", "expected", "attended", "compliance", "reports", "late_reports",
                 "missing_reports") == [
        ("L1", 0.6667, 1, 1.0, 0, 0, 1),
        ("L2", 0.6667, 1, 1.0, 1, 1, 0),
        ("L3", 0.6667, 0, 0.0, 0, 0, 0),
    ]


def test_leader_participation_year(world):
    # 2025 on 15/05: Jan-May. L1: expected 5/3, attended 5 -> capped 5/3, compliance 1.0.
    # L2: U1 Feb-May 4/3 with 2 attended (28/02, 30/04) -> capped 4/3; C4 4/3 with 1 -> 1;
    #   (4/3 + 1) / (8/3) = 7/8 = 0.875. L3: 5/3 expected, nothing.
    rows = metrics.leader_participation(world, "2025", today=TODAY)
    assert _pick(rows, "leader_code", "expected", "attended", "compliance") == [
        ("L1", 1.6667, 5, 1.0), ("L2", 2.6667, 3, 0.875), ("L3", 1.6667, 0, 0.0)]


def test_participation_by_assignment(world):
    rows = metrics.participation_by_assignment(world, "2025-Q1", today=TODAY)
    assert _pick(rows, "leader_code", "unit_code", "cell_code", "months", "expected", "attended",
                 "compliance", "missing_reports") == [
        ("L1", "U1", None, 3, 1.0, 4, 1.0, 1),
        ("L2", "U1", None, 2, 0.6667, 1, 1.0, 0),
        ("L2", "U2", "C4", 2, 1.3333, 1, 0.75, 0),
        ("L3", "U2", None, 3, 1.0, 0, 0.0, 0),
    ]
    assert rows[2]["cell_name"] == "Chi bộ C4" and rows[0]["decision_no"] == "395-QĐ/HU"


def test_participation_by_group_and_reports(world):
    rows = metrics.participation_by_group(world, "2025-Q1", today=TODAY)
    assert _pick(rows, "grp", "leaders", "expected", "attended", "compliance") == [
        ("uv_btv", 1, 1.0, 4, 1.0), ("uv_bch", 1, 2.0, 2, 0.8333), ("truong_ban_nganh", 1, 1.0, 0, 0.0)]
    # 6 attendances counted: L1's 31/01 late, 10/03 missing, four on time.
    assert metrics.report_status(world, "2025-Q1", today=TODAY) == {
        "attended": 6, "on_time": 4, "late": 1, "missing": 1}


def test_leader_meetings_drilldown(world):
    rows = metrics.leader_meetings(world, "2025-Q1", "L1", today=TODAY)
    assert _pick(rows, "held_on", "cell_code", "report_status") == [
        ("2025-01-31", "C1", "late"), ("2025-02-28", "C1", "on_time"),
        ("2025-03-05", "C2", "on_time"), ("2025-03-10", "C3", "missing")]


def test_report_days_setting(world):
    # With 8 days allowed, L1's report 8 days after 31/01 is no longer late.
    with dbm.write(world) as db:
        settings.save_settings(db, SYSTEM, {"report_days": "8"})
    rows = metrics.leader_participation(world, "2025-Q1", today=TODAY)
    assert rows[0]["late_reports"] == 0


def test_leaders_below_assignment_and_totals(world):
    # Lowest compliance first: L3 0.0, L2 0.8333; L1 is at 1.0.
    rows = metrics.leaders_below_assignment(world, "2025-Q1", today=TODAY)
    assert _pick(rows, "leader_code", "compliance") == [("L3", 0.0), ("L2", 0.8333)]
    # Expected 1 + 2 + 1 = 4; capped thirds 3 + 5 + 0 = 8 of 12.
    assert metrics.leader_totals(world, "2025-Q1", today=TODAY) == {
        "expected": 4.0, "attended": 6, "compliance": 0.6667, "reports": 5, "late_reports": 1, "missing_reports": 1}


def test_leaders_without_attendance(world):
    assert _pick(metrics.leaders_without_attendance(world, "2025-Q1", today=TODAY), "leader_code") == [("L3",)]


@pytest.mark.parametrize("filters, expected", [
    # U2: L2's C4 assignment (4/3 expected, 1 attended -> 0.75) and L3.
    (Filters(unit_codes=("U2",)), [("L2", 1.3333, 1, 0.75), ("L3", 1.0, 0, 0.0)]),
    # Agency cells: only the cell-level assignment on C4 remains.
    (Filters(cell_types=("co_quan",)), [("L2", 1.3333, 1, 0.75)]),
    # Regular meetings only: all Q1 attendances were regular, same as unfiltered.
    (Filters(mtypes=("thuong_ky",)), [("L1", 1.0, 4, 1.0), ("L2", 2.0, 2, 0.8333), ("L3", 1.0, 0, 0.0)]),
    (Filters(mtypes=("chuyen_de",)), [("L1", 1.0, 0, 0.0), ("L2", 2.0, 0, 0.0), ("L3", 1.0, 0, 0.0)]),
])
def test_leader_filters(world, filters, expected):
    rows = metrics.leader_participation(world, "2025-Q1", filters, today=TODAY)
    assert _pick(rows, "leader_code", "expected", "attended", "compliance") == expected


# ---- weaknesses --------------------------------------------------------------------------

def test_weakness_summary(world):
    # Noted in Q1 (W6 deleted, W4 from 2024 and W7 from April left out): W1, W2, W3, W5.
    # Open now (any period): W1, W3, W4, W5, W7 = 5; overdue on 15/05: W1 (31/03), W4 (31/01);
    # W7 is due today, not before it.
    s = metrics.weakness_summary(world, "2025-Q1", today=TODAY)
    assert {k: v for k, v in s["by_category"].items() if v} == {
        "pho_bien_van_ban": 1, "xay_dung_dang": 1, "attendance_low": 1, "other": 1}
    assert list(s["by_category"])[:5] == ["pho_bien_van_ban", "xay_dung_dang", "danh_gia_tu_tuong",
                                          "khac_phuc_kiem_diem", "y_kien_trong_tam"]
    assert s["by_status"] == {"open": 2, "in_progress": 1, "resolved": 1}
    assert s["by_unit"] == [{"unit_code": "U1", "open": 1, "resolved": 1},
                            {"unit_code": "U2", "open": 1, "resolved": 0},
                            {"unit_code": "U3", "open": 1, "resolved": 0}]
    assert (s["open_now"], s["overdue"]) == (5, 2)


@pytest.mark.parametrize("filters, by_unit, open_now, overdue", [
    # Rollup: W5 of U3 counts under U2.
    (Filters(rollup=True), [("U1", 1, 1), ("U2", 2, 0)], 5, 2),
    # U1: W1, W2 noted in Q1; open now W1 and W4, both overdue.
    (Filters(unit_codes=("U1",)), [("U1", 1, 1)], 2, 2),
    # Agency cells: only W3 (on C4) has such a cell.
    (Filters(cell_types=("co_quan",)), [("U2", 1, 0)], 1, 0),
])
def test_weakness_filters(world, filters, by_unit, open_now, overdue):
    s = metrics.weakness_summary(world, "2025-Q1", filters, today=TODAY)
    assert _pick(s["by_unit"], "unit_code", "open", "resolved") == by_unit
    assert (s["open_now"], s["overdue"]) == (open_now, overdue)


def test_open_weaknesses_ageing(world):
    # Age on 15/05/2025: W4 from 05/11/2024 = 191 days, W1 20/01 = 115, W5 01/02 = 103,
    # W3 15/03 = 61, W7 10/04 = 35.
    rows = metrics.open_weaknesses(world, today=TODAY)
    assert _pick(rows, "unit_code", "category", "age_days", "overdue") == [
        ("U1", "not_held", 191, 1), ("U1", "pho_bien_van_ban", 115, 1), ("U3", "other", 103, 0),
        ("U2", "attendance_low", 61, 0), ("U2", "pho_bien_van_ban", 35, 0)]


def test_weakness_ageing(world):
    # Ages 191 (W4); 115 (W1), 103 (W5); 61 (W3), 35 (W7).
    assert metrics.weakness_ageing(world, today=TODAY) == [
        {"bucket": "0-30", "count": 0}, {"bucket": "31-90", "count": 2},
        {"bucket": "91-180", "count": 2}, {"bucket": "181+", "count": 1}]


def test_weakness_trend_and_matrix(world):
    # Noted per month of 2025 to May: Jan W1, Feb W2 W5, Mar W3, Apr W7; W2 resolved in March.
    # Open at each month's end: Jan W4 W1; Feb + W5 (W2 still open); Mar W2 resolved, + W3; Apr + W7.
    rows = metrics.weakness_trend(world, "2025", today=TODAY)
    assert _pick(rows, "month", "noted", "resolved", "open_at_end") == [
        ("2025-01", 1, 0, 2), ("2025-02", 2, 0, 4), ("2025-03", 1, 1, 4), ("2025-04", 1, 0, 5),
        ("2025-05", 0, 0, 5)]
    matrix = metrics.weakness_matrix(world, "2025-Q1", today=TODAY)
    assert _pick(matrix, "unit_code", "category", "n") == [
        ("U1", "pho_bien_van_ban", 1), ("U1", "xay_dung_dang", 1), ("U2", "attendance_low", 1), ("U3", "other", 1)]


# ---- quality -----------------------------------------------------------------------------

def test_quality(world):
    # Q1: 10 live meetings. Score 95 -> Tốt (C1 31/01), Khá (C1 28/02), Trung bình (C1 30/03),
    # score 40 -> Kém (C3 10/01), six unrated.
    assert metrics.rating_distribution(world, "2025-Q1", today=TODAY) == {
        "tot": 1, "kha": 1, "trung_binh": 1, "kem": 1, "unrated": 6}
    # Leadership C1 31/01, C1 28/02, C4 15/01 = 3/10; education C1 31/01 = 1/10;
    # combativeness C3 10/01, C5 20/01 = 2/10.
    assert _pick(metrics.properties(world, "2025-Q1", today=TODAY), "property", "count", "share") == [
        ("leadership", 3, 0.3), ("education", 1, 0.1), ("combativeness", 2, 0.2)]
    # Durations known for 9 (C2 05/03 has none): under 90 minutes C3 10/01 (45), C1 28/02 (60);
    # the 90-minute meeting is not under.
    short = metrics.short_meetings(world, "2025-Q1", today=TODAY)
    assert (short["min_duration"], short["with_duration"], short["short"], short["share"]) == (90, 9, 2, 0.2222)
    assert _pick(short["meetings"], "cell_code", "duration_minutes") == [("C3", 45), ("C1", 60)]
    by_unit = metrics.quality_by_unit(world, "2025-Q1", today=TODAY)
    assert _pick(by_unit, "unit_code", "meetings", "tot", "kem", "unrated", "short") == [
        ("U1", 7, 1, 1, 3, 2), ("U2", 1, 0, 0, 1, 0), ("U3", 2, 0, 0, 2, 0)]


def test_duration_bands(world):
    # Q1 durations: 45 | 60 | 90 | 120 x6 (C2 05/03 has none); under 90 minutes: the first two bands.
    assert metrics.duration_bands(world, "2025-Q1", today=TODAY) == [
        {"bucket": "<60", "count": 1, "short": True}, {"bucket": "60-89", "count": 1, "short": True},
        {"bucket": "90-119", "count": 1, "short": False}, {"bucket": "120+", "count": 6, "short": False}]


def test_min_duration_setting(world):
    with dbm.write(world) as db:
        settings.save_settings(db, SYSTEM, {"min_duration_minutes": "100"})
    # Now the 90-minute C1 30/03 is short too.
    assert metrics.short_meetings(world, "2025-Q1", today=TODAY)["short"] == 3


def test_absences(world):
    # 2025, all units: required 115+8+20 = 143; excused 13+0+3 = 16, unexcused 10.
    assert metrics.absences(world, "2025", today=TODAY) == {
        "required": 143, "present": 117, "absent_excused": 16, "absent_unexcused": 10,
        "excused_share": 0.1119, "unexcused_share": 0.0699}


# ---- overview and compute ----------------------------------------------------------------

def test_overview(world):
    o = metrics.overview(world, "2025-Q1", today=TODAY)
    assert o["previous_period"] == {"label": "2024-Q4", "start": "2024-10-01", "end": "2024-12-31"}
    # Q1: required 71 (U1) + 8 + 20 = 99, present 61 + 8 + 17 = 86 -> 0.8687.
    # Cell-months C1 3, C2 1, C3 3, C4 3, C5 3 = 13, held 3+1+2+1+2 = 9 -> 0.6923;
    # regular meetings 10, on schedule 8 (C1 30/03 and C2 20/02 are not) -> 0.8.
    # Leaders: expected thirds 3+6+3 = 12, capped 3+5+0 = 8 -> 0.6667; 1 late, 1 missing.
    # Weaknesses open on 31/03: W1, W3, W4, W5 (W2 resolved 01/03); overdue then: W4 only.
    assert o["current"] == {
        "attendance_rate": 0.8687, "coverage": 0.6923, "on_schedule_rate": 0.8, "leader_compliance": 0.6667,
        "reports_late": 1, "reports_missing": 1, "weaknesses_open": 4, "weaknesses_overdue": 1,
        "meetings": 10, "missing_meetings": 4, "weaknesses_noted": 4, "upcoming_meetings": 0}
    # Q4 2024: one meeting (C1 31/12, 10/10, on its day); cell-months C1, C3, C4, C5 x 3 = 12, held 1;
    # leaders expected 1 + 2 + 1 with nothing attended; W4 open, not yet due.
    assert o["previous"] == {
        "attendance_rate": 1.0, "coverage": 0.0833, "on_schedule_rate": 1.0, "leader_compliance": 0.0,
        "reports_late": 0, "reports_missing": 0, "weaknesses_open": 1, "weaknesses_overdue": 0,
        "meetings": 1, "missing_meetings": 11, "weaknesses_noted": 1, "upcoming_meetings": 0}
    assert o["change"]["attendance_rate"] == -0.1313
    assert o["change"]["weaknesses_open"] == 3


def test_overview_current_period_matches_open_now(world):
    o = metrics.overview(world, "2025", today=TODAY)
    s = metrics.weakness_summary(world, "2025", today=TODAY)
    assert (o["current"]["weaknesses_open"], o["current"]["weaknesses_overdue"]) == (s["open_now"], s["overdue"])


def test_compute_shape(world):
    out = metrics.compute(world, "2025-Q1", today=TODAY)
    assert list(out) == ["period", "attendance_by_unit", "leader_participation", "weaknesses"]
    assert out["period"] == {"label": "2025-Q1", "start": "2025-01-01", "end": "2025-03-31"}
    assert [list(r) for r in out["attendance_by_unit"]] == [UNIT_KEYS] * 3
    assert [list(r) for r in out["leader_participation"]] == [LEADER_KEYS] * 3
    assert list(out["weaknesses"]) == ["by_category", "by_status", "by_unit", "open_now", "overdue"]
    assert json.loads(json.dumps(out)) == out


def test_compute_one_unit(world):
    out = metrics.compute(world, "2025", unit_code="U2", today=TODAY)
    assert _pick(out["attendance_by_unit"], "unit_code", "rate") == [("U2", 1.0)]
    # Q1-Q2 to May: L2's C4 assignment Jan+Feb -> 4/3; L3 Jan-May -> 5/3.
    assert _pick(out["leader_participation"], "leader_code", "expected") == [("L2", 1.3333), ("L3", 1.6667)]
    assert out["weaknesses"]["open_now"] == 2  # W3, W7


def test_compute_unknown_unit(world):
    with pytest.raises(ValueError, match="XX"):
        metrics.compute(world, "2025", unit_code="XX", today=TODAY)


def test_empty_database(db_path):
    out = metrics.compute(db_path, "2025", today=TODAY)
    assert out["attendance_by_unit"] == [] and out["leader_participation"] == []
    assert out["weaknesses"]["open_now"] == 0 and sum(out["weaknesses"]["by_category"].values()) == 0
    o = metrics.overview(db_path, "2025", today=TODAY)
    assert o["current"]["attendance_rate"] is None and o["change"]["coverage"] is None


# ---- query plans -------------------------------------------------------------------------

PLANNED = ["ATTENDANCE_SQL", "MISSING_SQL", "BY_LEADER_SQL", "LEADER_MEETINGS_SQL", "QUALITY_SQL",
           "SHORT_MEETINGS_SQL", "DURATION_SQL"]


def bounded_meeting_reads(plan: list[str]) -> bool:
    """Whether every step reading meetings is an index SEARCH bounded by the period's days (or one cell's days
    in it), or a probe of one cell-month in the index of regular meetings by month."""
    steps = [p for p in plan if re.match(r"(SCAN|SEARCH) (m|meetings)\b", p)]
    # A SCAN of meetings, even along an index, reads every meeting ever recorded.
    return bool(steps) and all(p.startswith("SEARCH") and ("held_on>? AND held_on<?" in p or
                                                            "idx_meetings_regular_month (cell_id=? AND <expr>=?)" in p)
                               for p in steps)


@pytest.mark.parametrize("whole_scope", [False, True])
@pytest.mark.parametrize("name", PLANNED)
def test_meetings_read_through_an_index(world, name, whole_scope):
    sql = getattr(metrics, name)
    if "{keys}" in sql:
        sql = sql.format(**metrics.LEVELS["unit"])
    # as run with the filters set, and as run without them (the scope and type tests dropped)
    sql = metrics._specialized_sql(sql, whole_scope, whole_scope)
    params = metrics._params(parse_period("2025"), Filters(), TODAY, report_days=7, min_duration=90, limit=10,
                             current_month="2025-05", leader_code="L1")
    with dbm.read(world) as db:
        plan = [row[3] for row in db.execute("explain query plan " + sql, params)]
    assert bounded_meeting_reads(plan), plan
