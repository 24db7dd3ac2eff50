"""The due rule of coverage (DESIGN.md, Figures): a cell-month counts once its fixed day (plus grace_days) has
passed or it has a regular meeting; before that it is upcoming, outside coverage and listed apart. Every expected
number is worked out in a comment; the stores validate meetings against the real date, so every meeting here
is on or before 03/12/2026 while the figures are asked as of fixed days."""

import io
from datetime import date, timedelta

import pytest
from docx import Document

from lib import db as dbm
from lib import demo, directory, metrics, reports, settings
from lib.domain import SYSTEM, ValidationError
from lib.metrics import Filters
from tests.factories import add_meeting

SEP = "2026-09"  # 30 days


@pytest.fixture
def cells(db_path):
    """Unit NL with cells A (fixed day 20), B (day 5), C (no fixed day), D (day 31); returns their ids."""
    with dbm.write(db_path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "NL", "name": "Xã Nhị Long", "kind": "xa"})
        ids = {code: directory.create_cell(db, SYSTEM, {
            "code": code, "unit_id": unit, "name": f"Chi bộ {code}", "cell_type": "ap_khom", "meeting_day": day,
            "valid_from": "2020-01-01"}) for code, day in (("A", 20), ("B", 5), ("C", None), ("D", 31))}
    return ids


def _set_grace(path, days: int) -> None:
    with dbm.write(path) as db:
        settings.save_settings(db, SYSTEM, {"grace_days": days})


def _state(path, today: date, period: str = SEP) -> dict:
    """Coverage figures of the period as of today: (cell_months, held, coverage, upcoming), missing and upcoming."""
    tot = metrics.attendance_totals(path, period, today=today)
    return {"totals": (tot["cell_months"], tot["held"], tot["coverage"], tot["upcoming"]),
            "missing": [r["cell_code"] for r in metrics.missing_meetings(path, period, today=today)],
            "upcoming": [(r["cell_code"], r["due_on"]) for r in metrics.upcoming_meetings(path, period, today=today)]}


def test_internals_day_20_is_upcoming_on_the_10th_and_missing_on_the_21st(db_path, cells):
    # B met on its day (05/09); A (day 20), C (no day: 30/09) and D (31st: 30/09 in September) have not.
    add_meeting(db_path, cells["B"], "2026-09-05")
    # 10/09: only B is due (held) -> 1 cell-month, 1 held, 100%; A, C, D upcoming, outside the denominator.
    assert _state(db_path, date(2026, 9, 10)) == {
        "totals": (1, 1, 1.0, 3), "missing": [],
        "upcoming": [("A", "2026-09-20"), ("C", "2026-09-30"), ("D", "2026-09-30")]}
    # 20/09: A's day has come but not passed: still upcoming.
    assert _state(db_path, date(2026, 9, 20))["upcoming"][0] == ("A", "2026-09-20")
    # 21/09: A is missing -> 2 due, 1 held, 50%; C and D still upcoming.
    assert _state(db_path, date(2026, 9, 21)) == {
        "totals": (2, 1, 0.5, 2), "missing": ["A"], "upcoming": [("C", "2026-09-30"), ("D", "2026-09-30")]}


def test_internals_grace_days_move_the_due_day(db_path, cells):
    _set_grace(db_path, 3)
    # A is due after 20 + 3 = 23/09: upcoming on the 23rd, missing from the 24th (B, due 08/09, is missing).
    on_23 = _state(db_path, date(2026, 9, 23))
    assert on_23["missing"] == ["B"] and on_23["upcoming"][0] == ("A", "2026-09-23")
    on_24 = _state(db_path, date(2026, 9, 24))
    assert on_24["missing"] == ["A", "B"] and ("A", "2026-09-23") not in on_24["upcoming"]
    # B (day 5 + 3 = 08/09) held nothing: missing from the 9th. C and D: 30/09 + 3 = 03/10, so September is
    # still upcoming on 03/10 and missing on 04/10.
    assert _state(db_path, date(2026, 9, 8))["missing"] == []
    assert _state(db_path, date(2026, 9, 9))["missing"] == ["B"]
    assert _state(db_path, date(2026, 10, 3))["upcoming"] == [("C", "2026-10-03"), ("D", "2026-10-03")]
    assert _state(db_path, date(2026, 10, 4)) == {"totals": (4, 0, 0.0, 0), "missing": ["A", "B", "C", "D"],
                                                  "upcoming": []}


def test_internals_a_meeting_held_early_counts_as_held_and_due(db_path, cells):
    # A (day 20) met on 03/09: on the 4th it is due and held (1 of 1); B (day 5), C and D are upcoming.
    add_meeting(db_path, cells["A"], "2026-09-03")
    assert _state(db_path, date(2026, 9, 4)) == {
        "totals": (1, 1, 1.0, 3), "missing": [],
        "upcoming": [("B", "2026-09-05"), ("C", "2026-09-30"), ("D", "2026-09-30")]}
    # the cell's own row says the same: one due cell-month, held, on a day other than its fixed one
    [a] = metrics.attendance_by_cell(db_path, SEP, Filters(), today=date(2026, 9, 4))[:1]
    assert (a["cell_code"], a["cell_months"], a["held"], a["coverage"], a["upcoming"], a["on_schedule"]) == (
        "A", 1, 1, 1.0, 0, 0)


@pytest.mark.parametrize("code, last_upcoming", [("C", date(2026, 9, 30)), ("D", date(2026, 9, 30))])
def test_internals_no_fixed_day_and_the_31st_are_due_after_the_months_last_day(db_path, cells, code, last_upcoming):
    # C (no fixed day) and D (day 31, September has 30) fall due after 30/09: upcoming on the 30th itself,
    # missing from 01/10 (asked of September).
    def status(today):
        got = _state(db_path, today)
        return "missing" if code in got["missing"] else "upcoming" if (code, "2026-09-30") in got["upcoming"] else None

    assert status(last_upcoming - timedelta(days=29)) == "upcoming"
    assert status(last_upcoming) == "upcoming"
    assert status(last_upcoming + timedelta(days=1)) == "missing"


def test_internals_due_on():
    assert metrics.due_on("2026-09", 20, 0) == date(2026, 9, 20)
    assert metrics.due_on("2026-09", 31, 0) == date(2026, 9, 30)
    assert metrics.due_on("2026-02", None, 3) == date(2026, 3, 3)  # 28/02 + 3
    assert metrics.due_on("2028-02", 30, 0) == date(2028, 2, 29)


def test_internals_past_months_are_all_due(db_path, cells):
    # September seen from 01/10 and from a year later: every cell-month due, the same figures, nothing upcoming.
    add_meeting(db_path, cells["A"], "2026-09-20")
    one = metrics.attendance_page(db_path, SEP, today=date(2026, 10, 1))
    later = metrics.attendance_page(db_path, SEP, today=date(2027, 10, 1))
    assert one == later
    assert one["attendance_totals"]["cell_months"] == 4 and one["attendance_totals"]["held"] == 1
    assert one["upcoming_meetings"] == [] and one["upcoming_by_unit"] == []


def test_internals_overview_compares_like_for_like(db_path, cells):
    # As of 25/11/2026, 2026-Q4 is in progress: it is compared with 2026-Q3 up to 25/08/2026.
    # A (day 20) and B (day 5) met on their days in Jul, Aug, Oct and Nov; C (no fixed day) met on 28/08.
    for month in ("2026-07", "2026-08", "2026-10", "2026-11"):
        add_meeting(db_path, cells["A"], f"{month}-20")
        add_meeting(db_path, cells["B"], f"{month}-05")
    add_meeting(db_path, cells["C"], "2026-08-28")
    ov = metrics.overview(db_path, "2026-Q4", today=date(2026, 11, 25))
    assert ov["previous_period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-08-25"}
    # Q4 as of 25/11: meetings Oct A, B and Nov A, B -> 4; due: Oct A, B, C, D (month over) + Nov A, B (held)
    #   -> 6, held 4, coverage 0.6667, missing Oct C, D -> 2; upcoming Nov C, D (due 30/11) -> 2.
    # Q3 as of 25/08: meetings 01/07-25/08: Jul A, B and Aug A, B -> 4; due Jul A, B, C, D + Aug A, B -> 6,
    #   held 4; upcoming Aug C (its 28/08 meeting is after 25/08, its due day 31/08) and D -> 2.
    #   Seen whole, Q3 would have 5 meetings and C's August held: not like for like.
    for side in ("current", "previous"):
        got = ov[side]
        assert (got["meetings"], got["coverage"], got["missing_meetings"], got["upcoming_meetings"]) == (
            4, 0.6667, 2, 2), side
    assert ov["change"]["meetings"] == 0 and ov["change"]["coverage"] == 0.0
    # A complete period is compared with the whole period before it.
    done = metrics.overview(db_path, "2026-Q3", today=date(2026, 11, 25))
    assert done["previous_period"]["end"] == "2026-06-30"
    assert done["current"]["meetings"] == 5 and done["current"]["upcoming_meetings"] == 0
    # the overview bundle says the same
    assert metrics.overview_page(db_path, "2026-Q4", today=date(2026, 11, 25))["overview"] == ov


@pytest.mark.parametrize("today, quarter, month, year", [
    (date(2026, 12, 3), "2026-Q3", "2026-11", "2025"),
    (date(2027, 1, 5), "2026-Q4", "2026-12", "2026"),
    (date(2026, 4, 1), "2026-Q1", "2026-03", "2025"),
    (date(2026, 3, 31), "2025-Q4", "2026-02", "2025"),
])
def test_internals_last_complete_period(today, quarter, month, year):
    assert metrics.last_complete("quarter", today).label == quarter
    assert metrics.last_complete("month", today).label == month
    assert metrics.last_complete("year", today).label == year


def test_html_dashboards_open_on_the_last_complete_quarter():
    from lib import ui

    assert ui._dash_defaults(date(2026, 12, 3))["period"] == "2026-Q3"
    assert ui._dash_defaults(date(2027, 2, 1))["period"] == "2026-Q4"


@pytest.mark.parametrize("value, ok", [("0", True), ("31", True), ("32", False), ("-1", False), ("x", False)])
def test_internals_grace_days_setting_is_checked(db_path, value, ok):
    with dbm.write(db_path) as db:
        if ok:
            settings.save_settings(db, SYSTEM, {"grace_days": value})
            assert settings.thresholds(db).grace_days == int(value)
        else:
            with pytest.raises(ValidationError) as refused:
                settings.save_settings(db, SYSTEM, {"grace_days": value})
            assert "grace_days" in {e.field for e in refused.value.errors}


def test_internals_compiled_report_lists_upcoming_beside_missing(db_path, cells):
    # As of 21/09 for September: A missing (day 20 passed), B held, C and D upcoming.
    add_meeting(db_path, cells["B"], "2026-09-05")
    from tests.test_reports import with_district_body

    with_district_body(db_path)  # the report's header comes from an issuing body (branch bodies)
    content = reports.compiled_docx(db_path, SEP, today=date(2026, 9, 21))
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "phải tổ chức 2 lượt sinh hoạt thường kỳ" in text
    assert "còn 1 lượt chưa tổ chức" in text
    assert "Ngoài ra còn 2 lượt sắp đến hạn" in text
    # a month wholly past has nothing coming up, and says nothing of it
    content = reports.compiled_docx(db_path, SEP, today=date(2026, 10, 1))
    assert "sắp đến hạn" not in "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


# ---- figures of past periods unchanged, on the demo ----------------------------------------------

DEMO_TODAY = date(2026, 12, 3)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("due") / "demo.db"
    demo.load(path, meetings=3000, seed=5, today=DEMO_TODAY)
    return path


def _old_rule(path, period: str, today: date) -> dict[str, tuple[int, int]]:
    """Per unit (no rollup; a unit below a child of the home node counts under that child, as the demo is a
    tree): every cell-month not after today's month, and those with a live regular meeting - coverage as it
    was computed before the due rule, written independently."""
    p = metrics.parse_period(period)
    months = [f"{y}-{m:02d}" for y, m in p.months if (y, m) <= (today.year, today.month)]
    out: dict[str, list[int]] = {}
    with dbm.read(path) as db:
        cells = list(db.execute("select c.id, c.unit_id, c.valid_from, c.valid_to from cells c"))
        held = {(c, m) for c, m in db.execute("select cell_id, substr(held_on, 1, 7) from meetings "
                                               "where deleted_at is null and mtype = 'thuong_ky'")}
        units = {i: (code, parent) for i, code, parent in db.execute("select id, code, parent_id from units")}
        home = db.execute("select value from settings where key = 'home_unit'").fetchone()[0]

    def row(unit_id: int) -> str:
        while units[unit_id][1] is not None and units[units[unit_id][1]][0] != home:
            unit_id = units[unit_id][1]
        return units[unit_id][0]

    cells = [(cell, row(unit_id), vf, vt) for cell, unit_id, vf, vt in cells]
    for cell, unit, vf, vt in cells:
        for month in months:
            first = month + "-01"
            if (vf is None or vf <= first) and (vt is None or vt >= first):
                acc = out.setdefault(unit, [0, 0])
                acc[0] += 1
                acc[1] += (cell, month) in held
    return {u: tuple(v) for u, v in out.items()}


@pytest.mark.parametrize("period", ["2025", "2025-Q4", "2026-Q3", "2026-11"])
def test_internals_past_periods_keep_the_old_figures_on_the_demo(demo_path, period):
    # Wholly before 03/12/2026: every cell-month is due, so coverage is what the old rule gave.
    got = metrics.attendance_page(demo_path, period, today=DEMO_TODAY)
    assert {u["unit_code"]: (u["cell_months"], u["held"]) for u in got["attendance_by_unit"]
            if u["cell_months"]} == _old_rule(demo_path, period, DEMO_TODAY)
    assert got["upcoming_meetings"] == [] and got["attendance_totals"]["upcoming"] == 0
    assert len(got["missing_meetings"]) == got["attendance_totals"]["cell_months"] - got["attendance_totals"]["held"]
    # and the attendance figures do not move as today goes on
    later = metrics.compute(demo_path, period, today=date(2030, 1, 1))
    assert metrics.compute(demo_path, period, today=DEMO_TODAY)["attendance_by_unit"] == later["attendance_by_unit"]


def test_internals_current_quarter_on_the_demo(demo_path):
    # On 03/12/2026 the quarter in progress: December's cell-months before their day are upcoming, not missing.
    got = metrics.attendance_page(demo_path, "2026-Q4", today=DEMO_TODAY)
    old = _old_rule(demo_path, "2026-Q4", DEMO_TODAY)
    tot = got["attendance_totals"]
    assert tot["upcoming"] > 0 and len(got["upcoming_meetings"]) == tot["upcoming"]
    assert all(r["month"] == "2026-12" and r["due_on"] >= DEMO_TODAY.isoformat() for r in got["upcoming_meetings"])
    # every cell-month the old rule counted is now due or upcoming
    assert tot["cell_months"] + tot["upcoming"] == sum(v[0] for v in old.values())
    assert {r["unit_code"] for r in got["upcoming_by_unit"]} == {r["unit_code"] for r in got["upcoming_meetings"]}
    assert sum(r["upcoming"] for r in got["upcoming_by_unit"]) == tot["upcoming"]


# ---- pages ------------------------------------------------------------------------------------------

def test_html_attendance_and_overview_show_upcoming_apart(db_path, cells, monkeypatch):
    # The pages ask as of the real date. D's fixed day (31st, or the month's last) is never passed within the
    # month, so this month D is always upcoming; B meets today, so the overview has a meeting to show.
    from lib.i18n import t
    from tests.helpers import app_test, fast_hashing, login, make_user

    today = date.today()
    month = f"{today:%Y-%m}"
    add_meeting(db_path, cells["B"], today.isoformat())
    upcoming = metrics.upcoming_meetings(db_path, month, today=today)
    assert "D" in [r["cell_code"] for r in upcoming]
    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path)
    at.query_params["ky"] = month
    login(at, "quantri", "Matkhau123")
    assert not at.exception, [e.value for e in at.exception]
    assert t("dash.upcoming_note", n=str(len(upcoming))) in [c.value for c in at.caption]
    at.switch_page("pages/attendance.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("dash.upcoming") in [s.value for s in at.subheader]
    assert any(c.value.startswith(t("dash.upcoming_help", n=str(len(upcoming)), grace=0)) for c in at.caption)
    shown = [df.value for df in at.dataframe]
    assert any(len(df) == len(upcoming) and set(df.iloc[:, 2]) >= {"Chi bộ D"} for df in shown), shown
