"""Issue 16, what was left: preferences kept per user, a clerk's to-do, reminders, top/bottom for many communes,
numbers in tables, and Streamlit's rarer English. Data built here, answers worked out by hand."""

from datetime import date

import pytest

from lib import db as dbm
from lib import directory, meetings, metrics, nav, ui, users, weaknesses
from lib.domain import SYSTEM, Actor
from lib.i18n import t
from tests.factories import meeting, small_directory
from tests.helpers import app_test, current_page, fast_hashing, login, make_user, switch_language

TODAY = date(2025, 3, 21)


@pytest.fixture
def ids(db_path):
    return small_directory(db_path)


# ---- item 8: language and period kept per user -------------------------------------------------------------------

def test_prefs_are_stored_per_user_and_bad_values_ignored(db_path):
    make_user(db_path, "anh", "viewer")
    make_user(db_path, "binh", "viewer")
    with dbm.write(db_path) as db:
        assert users.get_prefs(db, "anh") == {"lang": None, "period": None}
        users.save_prefs(db, Actor("anh", "viewer"), lang="en")
        users.save_prefs(db, Actor("anh", "viewer"), period="2025-Q2")
        users.save_prefs(db, Actor("binh", "viewer"), lang="fr", period="2025-Q9")  # neither is one of ours
        users.save_prefs(db, Actor("ghost", "viewer"), lang="en")  # no such account: nothing stored
        users.save_prefs(db, Actor("anh", "viewer"), period="2024")
        assert users.get_prefs(db, "anh") == {"lang": "en", "period": "2024"}
        assert users.get_prefs(db, "binh") == {"lang": None, "period": None}
        assert db.execute("select count(*) from user_prefs").fetchone()[0] == 1
        # a preference is not audited: the figures' data version stays put
        assert db.execute("select count(*) from audit_log where table_name = 'user_prefs'").fetchone()[0] == 0


def test_language_chosen_is_restored_at_the_next_login(db_path, ids, monkeypatch):
    fast_hashing(monkeypatch)
    make_user(db_path, "anh", "admin")
    at = login(app_test(db_path), "anh", "Matkhau123")
    assert at.title[0].value == t("nav.overview", lang="vi")
    switch_language(at)
    assert at.title[0].value == t("nav.overview", lang="en")
    # a reload or another computer: a new session, the same account
    again = login(app_test(db_path), "anh", "Matkhau123")
    assert again.title[0].value == t("nav.overview", lang="en")
    assert again.session_state["lang"] == "en"


def test_period_chosen_is_the_next_sessions_default_and_a_link_wins(db_path, ids, monkeypatch):
    fast_hashing(monkeypatch)
    make_user(db_path, "anh", "admin")
    at = login(app_test(db_path), "anh", "Matkhau123")
    year = date.today().year
    at.segmented_control(key="dash_kind").set_value("month").run()
    at.selectbox(key="dash_month").select(3).run()
    with dbm.read(db_path) as db:
        assert users.get_prefs(db, "anh")["period"] == f"{year}-03"
    again = login(app_test(db_path), "anh", "Matkhau123")
    assert again.query_params["ky"] in (f"{year}-03", [f"{year}-03"])
    assert again.segmented_control(key="dash_kind").value == "month"
    assert again.selectbox(key="dash_month").value == 3
    linked = app_test(db_path)
    linked.query_params["ky"] = "2023-05"
    linked = login(linked, "anh", "Matkhau123")
    assert linked.segmented_control(key="dash_kind").value == "month"
    assert linked.selectbox(key="dash_month").value == 5


def test_a_user_who_never_picked_a_period_stores_none(db_path, ids, monkeypatch):
    # the default (the last complete quarter) moves on with the calendar; storing it would pin the user to it
    fast_hashing(monkeypatch)
    make_user(db_path, "anh", "admin")
    login(app_test(db_path), "anh", "Matkhau123")
    with dbm.read(db_path) as db:
        assert users.get_prefs(db, "anh")["period"] is None


# ---- the clerk's to-do and the reminders -----------------------------------------------------------------------------

@pytest.fixture
def world(db_path, ids):
    """On 21/03/2025 (grace 0 days, reports due 7 days after the meeting), with a clerk of commune NL only:
    - cell DP-LH (fixed day 10): March due and not held (missing); cell NL-CD (day 31): March upcoming;
    - NL-CD met on 27/02 with leader L1, no report: 22 days on, 15 days late;
    - DP-LH met on 18/03 with leader L2, no report: 3 days on, not late yet (due 25/03);
    - weaknesses: NL open, due 01/03 (20 days overdue); DP open, due 01/04 (not yet); NL resolved, due 01/02."""
    make_user(db_path, "thuky", "clerk", [ids["u1"]])
    with dbm.write(db_path) as db:
        meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-02-27"), [{"leader_id": ids["l1"]}], today=TODAY)
        meetings.create(db, SYSTEM, meeting(ids["c2"], "2025-03-18", mtype="chuyen_de"),
                        [{"leader_id": ids["l2"]}], today=TODAY)
        for unit, due, status in ((ids["u1"], "2025-03-01", "open"), (ids["u2"], "2025-04-01", "open"),
                                  (ids["u1"], "2025-02-01", "resolved")):
            weaknesses.create(db, SYSTEM, {"unit_id": unit, "category": "other", "description": "Chưa làm",
                                           "noted_on": "2025-01-15", "due_on": due, "status": status,
                                           "resolution": "Đã làm" if status == "resolved" else None}, today=TODAY)
    return ids


def test_clerk_to_do_covers_their_commune_only(db_path, world):
    todo = metrics.todo(db_path, "thuky", TODAY)
    assert todo["missing"] == []  # DP-LH is not theirs
    assert [(r["cell_code"], r["due_on"]) for r in todo["upcoming"]] == [("NL-CD", "2025-03-31")]
    assert [(r["cell_code"], r["leader_code"], r["due_on"], r["days_late"], r["late"]) for r in todo["reports"]] == [
        ("NL-CD", "L1", "2025-03-06", 15, True)]


def test_admin_to_do_covers_everyone_late_reports_first(db_path, world):
    make_user(db_path, "quantri", "admin")
    todo = metrics.todo(db_path, "quantri", TODAY)
    assert [r["cell_code"] for r in todo["missing"]] == ["DP-LH"]
    assert [r["cell_code"] for r in todo["upcoming"]] == ["NL-CD"]
    assert [(r["leader_code"], r["days_late"], r["late"]) for r in todo["reports"]] == [
        ("L1", 15, True), ("L2", -4, False)]


def test_reminders_count_late_reports_and_overdue_weaknesses_in_scope(db_path, world):
    make_user(db_path, "quantri", "admin")
    mine = metrics.reminders(db_path, "thuky", TODAY)
    assert [r["leader_code"] for r in mine["late_reports"]] == ["L1"]
    assert [(w["unit_code"], w["days_overdue"]) for w in mine["overdue_weaknesses"]] == [("NL", 20)]
    assert mine["count"] == 2
    # the administrator's: the same two (DP's report is not late, its weakness not overdue, NL's resolved)
    assert metrics.reminders(db_path, "quantri", TODAY)["count"] == 2
    # ten days on, DP's report is late and its weakness overdue
    assert metrics.reminders(db_path, "quantri", date(2025, 4, 2))["count"] == 4
    assert metrics.reminders(db_path, "thuky", date(2025, 4, 2))["count"] == 2


def test_no_scope_no_reminders(db_path, world):
    make_user(db_path, "trong", "clerk")  # a clerk with no commune
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "thuky", active=0)
    for name in ("trong", "thuky", "ghost"):
        assert metrics.reminders(db_path, name, TODAY)["count"] == 0
        assert metrics.todo(db_path, name, TODAY)["upcoming"] == []


def test_reminders_page_in_the_menu_with_the_count(db_path, world, monkeypatch):
    fast_hashing(monkeypatch)
    at = login(app_test(db_path), "thuky", "Matkhau123")
    count = metrics.reminders(db_path, "thuky")["count"]  # today's: the page counts as of today
    assert count == 1  # today NL's weakness is still overdue; the late report is older than REMINDER_DAYS
    titles = [info.get("page_name") for info in at._registered_pages.values()]
    assert t("ux.nav.reminders_n", n=1) in titles
    at.switch_page(nav.REMINDERS).run()
    assert current_page(at) == nav.REMINDERS and not at.exception
    assert at.title[0].value == t("ux.nav.reminders")
    assert at.subheader[1].value == t("ux.remind.overdue", n=1)


def test_clerk_landing_shows_the_to_do(db_path, world, monkeypatch):
    fast_hashing(monkeypatch)
    at = login(app_test(db_path), "thuky", "Matkhau123")
    todo = metrics.todo(db_path, "thuky")
    (box,) = [e for e in at.expander if e.label.startswith(t("ux.todo.title", month="", missing="", upcoming="",
                                                                 reports="").split(":")[0])]
    assert t("ux.todo.title", month=f"{date.today().month:02d}/{date.today().year}", missing=len(todo["missing"]),
             upcoming=len(todo["upcoming"]), reports=len(todo["reports"])) == box.label


# ---- many communes: all, top ten, bottom ten, search ------------------------------------------------------------

@pytest.fixture
def province(db_path):
    """80 communes of one cell each; the cell of commune n met in January 2025 with 20 + n % 9 of 28 present."""
    with dbm.write(db_path) as db:
        for n in range(1, 81):
            unit = directory.create_unit(db, SYSTEM, {"code": f"X{n:02d}", "name": f"Xã Số {n:02d}", "kind": "xa"})
            cell = directory.create_cell(db, SYSTEM, {"code": f"X{n:02d}-A", "unit_id": unit, "name": f"Ấp {n}",
                                                      "cell_type": "ap_khom", "meeting_day": 5,
                                                      "valid_from": "2020-01-01"})
            present = 20 + n % 9
            meetings.create(db, SYSTEM, meeting(cell, "2025-01-05", present=present, absent_excused=28 - present),
                            [], today=TODAY)
    return db_path


def attendance_at(db_path, monkeypatch):
    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path)
    at.query_params["ky"] = "2025-01"
    at = login(at, "quantri", "Matkhau123")
    at.switch_page("pages/attendance.py").run()
    assert not at.exception
    return at


def unit_table(at):
    return next(f.value for f in at.dataframe if t("chart.unit") in f.value.columns and len(f.value) > 1
                or f.value.columns[0] == t("chart.unit"))


def test_many_communes_offer_all_top_and_bottom(province, monkeypatch):
    at = attendance_at(province, monkeypatch)
    assert at.segmented_control(key="att_units_rank").value == "all"
    assert len(unit_table(at)) == 80
    at.segmented_control(key="att_units_rank").set_value("bottom").run()
    names = list(unit_table(at)[t("chart.unit")])
    # 20 of 28 for n = 9, 18, ... 72 (eight communes), then 21 of 28 for n = 1, 10 (the first two of nine)
    assert names == [f"Xã Số {n:02d}" for n in (9, 18, 27, 36, 45, 54, 63, 72, 1, 10)]
    at.segmented_control(key="att_units_rank").set_value("top").run()
    names = list(unit_table(at)[t("chart.unit")])
    # 28 of 28 for n = 8, 17, ... 80 (nine communes), then 27 of 28 for n = 7
    assert names == [f"Xã Số {n:02d}" for n in (8, 17, 26, 35, 44, 53, 62, 71, 80, 7)]


def test_many_communes_can_be_searched_without_accents(province, monkeypatch):
    at = attendance_at(province, monkeypatch)
    at.text_input(key="att_units_find").input("xa so 7").run()
    assert list(unit_table(at)[t("chart.unit")]) == [f"Xã Số {n}" for n in range(70, 80)]
    at.text_input(key="att_units_find").input("khong co").run()
    assert t("ux.rank.none", total=80) in [c.value for c in at.caption]


def test_a_short_list_gets_no_choice(db_path, ids, monkeypatch):
    with dbm.write(db_path) as db:
        meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-01-31"), [], today=TODAY)
    at = attendance_at(db_path, monkeypatch)
    assert not [w for w in at.segmented_control if w.key == "att_units_rank"]


# ---- item 5 and Streamlit's rarer English ----------------------------------------------------------------------------

def test_widget_words_cover_no_results_drop_here_and_upload_refusals():
    css = ui._more_widget_words()
    assert "[role='listbox'][data-empty='true']" in css and "stTooltipErrorContent" in css
    for key in ("ux.widgets.no_results", "ux.widgets.drop_here"):
        assert f'"{t(key)}"' in css
    assert t("ux.widgets.upload_refused", mb=50) in css
