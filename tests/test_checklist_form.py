"""AppTest of the meeting form's 12-HD / 42-HD section: it saves, the proposal shows live beside the clerk's rating,
editing loads it."""

from datetime import date

import pytest

from lib import checklist, meetings
from lib import db as dbm
from lib.domain import SYSTEM
from tests.factories import meeting, small_directory
from tests.helpers import app_test, login, make_user

ITEMS = checklist.ITEMS


@pytest.fixture
def ids(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "clerk1", "clerk", [ids["u1"]])
    return ids


def open_page(db_path, page: str):
    at = app_test(db_path)
    login(at, "clerk1", "Matkhau123")
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def rows(db_path, sql: str, params=()) -> list[dict]:
    with dbm.read(db_path) as db:
        return [dict(r) for r in db.query(sql, params)]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def fill_meeting(at, held: date, prefix="rec_"):
    at.date_input(key=prefix + "held_on").set_value(held)
    # 30 members, 2 exempt, 26 present, 2 excused: 92.9 %; 120 minutes; the three properties.
    for name, value in (("members_total", 30), ("members_exempt", 2), ("present", 26), ("absent_excused", 2),
                        ("absent_unexcused", 0), ("duration_minutes", 120)):
        at.number_input(key=prefix + name).set_value(value)
    for name in ("leadership", "education", "combativeness"):
        at.checkbox(key=prefix + name).check()
    at.checkbox(key=prefix + "cl_on").check()
    return at.run()


def test_section_shows_the_proposal_live_and_saves_it_beside_the_clerks_rating(db_path, ids):
    at = open_page(db_path, "record_meeting")
    assert at.checkbox(key="rec_cl_on").value is False  # not assessed unless the clerk asks
    fill_meeting(at, date(2025, 6, 30))
    assert any("12-HD/BTCTW" in c for c in (e.value for e in at.caption))
    # Nothing ticked yet: 7 checklist criteria fail → Kém, each named.
    assert metrics(at)["Xếp loại đề xuất"] == "Kém"
    assert "chi ủy chưa họp chuẩn bị" in " ".join(m.value for m in at.markdown)
    for name in ITEMS:
        at.checkbox(key="rec_cl_" + name).check()
    at.number_input(key="rec_cl_speakers").set_value(27)  # more than the 26 present
    at.run()
    assert any(e.value.startswith("Số đảng viên phát biểu:") for e in at.error)
    at.number_input(key="rec_cl_speakers").set_value(9)
    at.selectbox(key="rec_rating").set_value("kha")
    at.run()
    assert metrics(at) == {"Xếp loại đề xuất": "Tốt", "Xếp loại của chi bộ": "Khá"}
    assert any("khác xếp loại đề xuất" in i.value for i in at.info)
    at.button(key="rec_save").click().run()
    assert not at.exception
    saved = rows(db_path, "select id, rating from meetings")
    assert [m["rating"] for m in saved] == ["kha"]
    cl = rows(db_path, "select * from meeting_checklists")
    assert [(c["meeting_id"], c["speakers"], c["criteria_version"], c["proposed_rating"]) for c in cl] == [
        (saved[0]["id"], 9, "12-HD/BTCTW", "tot")]
    assert rows(db_path, "select action, username from audit_log where table_name = 'meeting_checklists'") == [
        {"action": "create", "username": "clerk1"}]
    assert at.checkbox(key="rec_cl_on").value is False  # the form starts afresh


def test_after_42hd_the_content_per_cell_type_shows_and_documents_count(db_path, ids):
    at = open_page(db_path, "record_meeting")
    fill_meeting(at, date(2025, 11, 30))
    for name in ITEMS:
        at.checkbox(key="rec_cl_" + name).check()
    at.number_input(key="rec_cl_speakers").set_value(9)
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "42-HD/BTCTW" in captions and "ấp, khóm" in captions
    assert metrics(at)["Xếp loại đề xuất"] == "Khá"
    assert "chưa ghi văn bản cấp trên" in " ".join(m.value for m in at.markdown)
    at.text_area(key="rec_cl_documents").input("Chỉ thị 50-CT/TW")
    at.run()
    assert metrics(at)["Xếp loại đề xuất"] == "Tốt"
    at.button(key="rec_save").click().run()
    assert rows(db_path, "select documents, criteria_version, proposed_rating from meeting_checklists") == [
        {"documents": "Chỉ thị 50-CT/TW", "criteria_version": "42-HD/BTCTW", "proposed_rating": "tot"}]


def test_editing_loads_the_checklist_and_saves_the_change(db_path, ids):
    with dbm.write(db_path) as db:
        raw = meeting(ids["c1"], "2025-06-30", present=26, leadership=True, education=True, combativeness=True,
                      checklist={**{n: True for n in ITEMS}, "speakers": 9, "documents": "Kết luận 21-KL/TW"})
        mid = meetings.create(db, SYSTEM, raw)
    at = open_page(db_path, "records")
    at.number_input(key="recs_open_id").set_value(mid)
    at.button(key="recs_open_btn").click().run()
    assert at.checkbox(key="recs_e_cl_on").value is True
    assert at.number_input(key="recs_e_cl_speakers").value == 9
    assert at.checkbox(key="recs_e_cl_followed_up").value is True
    assert at.text_area(key="recs_e_cl_documents").value == "Kết luận 21-KL/TW"
    assert metrics(at)["Xếp loại đề xuất"] == "Tốt"
    at.checkbox(key="recs_e_cl_followed_up").uncheck()
    at.run()
    assert metrics(at)["Xếp loại đề xuất"] == "Khá"
    at.button(key="recs_save").click().run()
    assert not at.exception
    assert rows(db_path, "select followed_up, proposed_rating from meeting_checklists") == [
        {"followed_up": 0, "proposed_rating": "kha"}]
    # Reloaded after the save: the stored checklist again.
    assert at.checkbox(key="recs_e_cl_followed_up").value is False
    assert at.checkbox(key="recs_e_cl_on").value is True


def test_quality_page_shows_the_share_rated_otherwise_and_the_crosstab(db_path, ids):
    full = {**{n: True for n in ITEMS}, "speakers": 9}
    with dbm.write(db_path) as db:
        for day, rating in (("2025-04-30", "tot"), ("2025-05-30", "kha")):
            meetings.create(db, SYSTEM, meeting(ids["c1"], day, present=26, leadership=True, education=True,
                                                combativeness=True, rating=rating, checklist=full))
    at = app_test(db_path)
    login(at, "clerk1", "Matkhau123")
    at.query_params["ky"] = "2025-Q2"
    at.switch_page("pages/quality.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # a tab of its own among the lists under the table by unit, drawn when picked (issue 13)
    title = "Xếp loại đề xuất theo tiêu chí và xếp loại của chi bộ"
    assert title in [tab.label for tab in at.tabs]
    assert "Buổi có đánh giá theo tiêu chí" not in metrics(at)
    at.session_state["q_lists"] = title
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    shown = metrics(at)
    assert shown["Buổi có đánh giá theo tiêu chí"] == "2"
    assert shown["Chi bộ xếp loại khác đề xuất"] == "1"
    # proposed Tốt both times (every item met); rated Tốt once and Khá once
    crosstab = at.dataframe[-1].value
    assert crosstab.columns[0] == "Đề xuất \\ Chi bộ xếp"
    assert crosstab[["Tốt", "Khá", "Số buổi"]].values.tolist() == [[1, 1, 2]]
