"""AppTest of the meeting form's attendance by member (issue 12): a cell with members lists them, all present
by default, the clerk marks who was absent, the counts are derived and saved with the marks; a cell without
members keeps the count inputs; editing loads the marks; the records page shows who was absent, in scope only."""

from datetime import date, timedelta

import pytest

from lib import db as dbm
from lib import meetings
from lib.domain import SYSTEM
from tests.factories import small_directory
from tests.helpers import app_test, login, make_user

TODAY = date.today()
# a day of last month on which the members below are in the cell
DAY = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=20)


def _member(db, code: str, name: str, cell_id: int, exempt: bool = False) -> int:
    db.execute("insert into members (code, full_name, admitted_on, official_on) values (?, ?, '2010-01-01', "
               "'2011-01-01')", [code, name])
    member_id = db.execute("select id from members where code = ?", [code]).fetchone()[0]
    db.execute("insert into member_cells (member_id, cell_id, valid_from) values (?, ?, '2020-01-01')",
               [member_id, cell_id])
    if exempt:
        db.execute("insert into member_exemptions (member_id, valid_from, reason) values (?, '2020-01-01', "
                   "'tuổi cao')", [member_id])
    return member_id


@pytest.fixture
def ids(db_path):
    """Commune NL's cell c1 with 25 members (Đảng viên 01..24, and Ông Exempt exempt); commune DP's c2 with
    none. clerk1 enters for NL, clerk2 for DP."""
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        ids["members"] = [_member(db, f"M{i:02d}", f"Đảng viên {i:02d}", ids["c1"]) for i in range(1, 25)]
        ids["exempt"] = _member(db, "X01", "Ông Exempt", ids["c1"], exempt=True)
    make_user(db_path, "clerk1", "clerk", [ids["u1"]])
    make_user(db_path, "clerk2", "clerk", [ids["u2"]])
    return ids


def open_page(db_path, username: str, page: str):
    at = app_test(db_path)
    login(at, username, "Matkhau123")
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _editor_key(prefix: str, cell_id: int) -> str:
    return f"{prefix}marks_{cell_id}_{DAY}"


def _counts(db_path, meeting_id: int) -> tuple:
    with dbm.read(db_path) as db:
        return db.execute("select members_total, members_exempt, present, absent_excused, absent_unexcused "
                          "from meetings where id = ?", [meeting_id]).fetchone()


def _marks(db_path, meeting_id: int) -> dict:
    with dbm.read(db_path) as db:
        return {r[0]: (r[1], r[2]) for r in db.execute(
            "select mb.code, am.status, am.reason from attendance_marks am join members mb on mb.id = am.member_id "
            "where am.meeting_id = ?", [meeting_id])}


def test_the_form_lists_the_members_all_present_and_saves_the_marks(db_path, ids):
    at = open_page(db_path, "clerk1", "record_meeting")
    at.date_input(key="rec_held_on").set_value(DAY).run()
    # the list: 24 members due (the exempt one apart), all present; no count inputs
    editor = at.data_editor(key=_editor_key("rec_", ids["c1"]))
    table = editor.value
    assert len(table) == 24 and set(table["status"]) == {"Có mặt"}
    assert "Ông Exempt" not in set(table["full_name"])
    assert not any(w.key == "rec_present" for w in at.number_input)
    assert any("1 đảng viên được miễn sinh hoạt" in c.value for c in at.caption)
    assert any("tổng số **25**" in m.value and "có mặt **24**" in m.value for m in at.markdown)
    # rows 0 and 1 (by name: Đảng viên 01, 02) absent; the exempt member came anyway
    at.session_state[_editor_key("rec_", ids["c1"])] = {
        "edited_rows": {0: {"status": "Vắng có lý do", "reason": "ốm"}, 1: {"status": "Vắng không lý do"}},
        "added_rows": [], "deleted_rows": []}
    at.multiselect(key="rec_came").set_value([ids["exempt"]])
    at.number_input(key="rec_duration_minutes").set_value(90)
    at.run()
    assert any("có mặt **22**" in m.value and "vắng có lý do **1**" in m.value for m in at.markdown)
    assert any("Có mặt 22 trên 24" in x.value and "92%" in x.value for x in at.success)
    at.button(key="rec_save").click().run()
    assert not at.error, [e.value for e in at.error]
    with dbm.read(db_path) as db:
        mid = db.execute("select max(id) from meetings").fetchone()[0]
    # 25 total, 1 exempt (came, still exempt), 22 present, 1 excused, 1 unexcused: 22 + 1 + 1 = 25 - 1
    assert _counts(db_path, mid) == (25, 1, 22, 1, 1)
    marks = _marks(db_path, mid)
    assert marks["M01"] == ("excused", "ốm") and marks["M02"] == ("unexcused", None)
    assert marks["X01"] == ("present", None) and marks["M24"] == ("present", None) and len(marks) == 25


def test_a_cell_without_members_keeps_the_count_inputs(db_path, ids):
    at = open_page(db_path, "clerk2", "record_meeting")
    at.date_input(key="rec_held_on").set_value(DAY).run()
    assert not at.data_editor and not any(t.key == "rec_by_member" for t in at.toggle)
    for key, value in (("members_total", 30), ("members_exempt", 2), ("present", 25), ("absent_excused", 3)):
        at.number_input(key=f"rec_{key}").set_value(value)
    at.button(key="rec_save").click().run()
    assert not at.error, [e.value for e in at.error]
    with dbm.read(db_path) as db:
        mid = db.execute("select max(id) from meetings").fetchone()[0]
    assert _counts(db_path, mid) == (30, 2, 25, 3, 0) and _marks(db_path, mid) == {}


def test_editing_a_marked_meeting_loads_its_marks_and_shows_who_was_absent(db_path, ids):
    m = ids["members"]
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, {"cell_id": ids["c1"], "held_on": DAY.isoformat(), "mtype": "chuyen_de"},
                              marks={m[2]: {"status": "excused", "reason": "đi làm xa"}, m[5]: "unexcused"})
    at = app_test(db_path)
    login(at, "clerk1", "Matkhau123")
    at.query_params["id"] = str(mid)
    at.switch_page("pages/records.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # the detail: who was absent, with the reason
    absent = next(d.value for d in at.dataframe if d.proto.editing_mode == d.proto.EditingMode.READ_ONLY
                  and "Lý do vắng" in d.value.columns)
    assert list(absent.iloc[:, 0]) == ["Đảng viên 03", "Đảng viên 06"]
    assert "đi làm xa" in set(absent.iloc[:, 3])
    # the form: the list as saved
    table = at.data_editor(key=_editor_key("recs_e_", ids["c1"])).value
    assert table.loc[table["code"] == "M03", "status"].item() == "Vắng có lý do"
    assert table.loc[table["code"] == "M06", "status"].item() == "Vắng không lý do"
    # mark M06 present after all and save: the counts follow
    at.session_state[_editor_key("recs_e_", ids["c1"])] = {"edited_rows": {5: {"status": "Có mặt"}},
                                                          "added_rows": [], "deleted_rows": []}
    at.button(key="recs_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert _counts(db_path, mid) == (25, 1, 23, 1, 0)
    assert _marks(db_path, mid)["M06"] == ("present", None) and _marks(db_path, mid)["M03"] == ("excused", "đi làm xa")


def test_a_clerk_of_another_commune_sees_no_names(db_path, ids):
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, {"cell_id": ids["c1"], "held_on": DAY.isoformat(), "mtype": "chuyen_de"},
                              marks={ids["members"][0]: "unexcused"})
    at = app_test(db_path)
    login(at, "clerk2", "Matkhau123")
    at.query_params["id"] = str(mid)
    at.switch_page("pages/records.py").run()
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.text, *at.error))
    assert "Đảng viên 01" not in shown and not any("Lý do vắng" in d.value.columns for d in at.dataframe)
    assert any("không xem được" in e.value for e in at.error)


def test_switching_a_marked_meeting_back_to_counts_removes_its_marks_only_when_asked(db_path, ids):
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, {"cell_id": ids["c1"], "held_on": DAY.isoformat(), "mtype": "chuyen_de"},
                              marks={ids["members"][0]: "unexcused"})
    at = app_test(db_path)
    login(at, "clerk1", "Matkhau123")
    at.query_params["id"] = str(mid)
    at.switch_page("pages/records.py").run()
    assert at.toggle(key="recs_e_by_member").value is True
    at.toggle(key="recs_e_by_member").set_value(False).run()
    # the clerk is told the marks will go, and types the counts
    assert any("điểm danh sẽ bị xóa" in w.value for w in at.warning)
    for key, value in (("members_total", 26), ("members_exempt", 1), ("present", 25), ("absent_excused", 0),
                       ("absent_unexcused", 0)):
        at.number_input(key=f"recs_e_{key}").set_value(value)
    at.button(key="recs_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert _counts(db_path, mid) == (26, 1, 25, 0, 0) and _marks(db_path, mid) == {}
