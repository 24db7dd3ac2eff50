"""AppTest tests of the entry pages: record, records, leader reports, weaknesses, import, directory, assignments."""

import json
from datetime import date, timedelta

import pytest

from lib import audit, forms
from lib import db as dbm
from lib.domain import SYSTEM
from lib.i18n import t
from tests.factories import add_meeting, small_directory
from tests.helpers import app_test, login, make_user

TODAY = date.today()
FIRST = TODAY.replace(day=1)
LAST_MONTH = (FIRST - timedelta(days=1)).replace(day=15)
TWO_MONTHS = (LAST_MONTH.replace(day=1) - timedelta(days=1)).replace(day=15)
THREE_MONTHS = (TWO_MONTHS.replace(day=1) - timedelta(days=1)).replace(day=15)
EARLY = date(2000, 1, 1)
HOSTILE = "**x** <script>alert(1)</script>"


@pytest.fixture
def ids(db_path):
    """Units u1 (Nhị Long, cell c1 meeting on day 31) and u2 (Đại Phước, c2), leaders l1 (assigned to u1) and l2."""
    ids = small_directory(db_path)
    make_user(db_path, "admin1", "admin")
    make_user(db_path, "clerk1", "clerk", [ids["u1"]])
    return ids


def open_page(db_path, username: str, page: str, query: dict | None = None):
    at = app_test(db_path)
    login(at, username, "Matkhau123")
    if query:
        at.query_params.update(query)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def rows(db_path, sql: str, params=()) -> list[dict]:
    with dbm.read(db_path) as db:
        return [dict(r) for r in db.query(sql, params)]


def count(db_path, table: str) -> int:
    return rows(db_path, f"select count(*) as n from {table}")[0]["n"]


def log(db_path, table: str) -> list[tuple]:
    with dbm.read(db_path) as db:
        return [(e["action"], e["row_id"], e["username"]) for e in audit.entries(db, table_name=table)]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def no_markup_rendered(at) -> None:
    """User text never reaches a Markdown element (where ** would bold and <script> would be HTML)."""
    for md in list(at.markdown) + list(at.caption) + list(at.error) + list(at.success) + list(at.warning):
        assert "<script>" not in md.value and "**x**" not in md.value and "alert(1)" not in md.value


def fill_counts(at, prefix="rec_", total=30, exempt=2, present=25, excused=2, unexcused=1):
    for name, value in (("members_total", total), ("members_exempt", exempt), ("present", present),
                        ("absent_excused", excused), ("absent_unexcused", unexcused)):
        at.number_input(key=prefix + name).set_value(value)


# ---- pure helpers behind the forms ---------------------------------------------------------

@pytest.mark.parametrize("meeting_day, today, recorded, expected", [
    (10, date(2025, 6, 15), False, date(2025, 6, 10)),   # this month's day has passed
    (15, date(2025, 6, 15), False, date(2025, 6, 15)),   # it is today
    (20, date(2025, 6, 15), False, date(2025, 5, 20)),   # still ahead: last month's
    (31, date(2025, 3, 15), False, date(2025, 2, 28)),   # clamped to February's last day
    (31, date(2025, 4, 30), False, date(2025, 4, 30)),   # clamped to April's last day, which is today
    (20, date(2025, 6, 15), True, date(2025, 6, 15)),    # last month's already recorded: today
    (None, date(2025, 6, 15), False, date(2025, 6, 15)),
])
def test_forms_default_held_on(meeting_day, today, recorded, expected):
    assert forms.default_held_on(meeting_day, today, recorded) == expected


@pytest.mark.parametrize("values, required, given, ok", [
    ((30, 2, 25, 2, 1), 28, 28, True),
    ((30, 2, 25, 2, 0), 28, 27, False),
    ((30, None, 25, 4, 1), 30, 30, True),
    ((None, 2, 25, 2, 1), None, 28, False),
    ((30, 2, None, 2, 1), 28, None, False),
])
def test_forms_count_check(values, required, given, ok):
    check = forms.count_check(*values)
    assert (check.required, check.given, check.ok) == (required, given, ok)


@pytest.mark.parametrize("held, submitted, state", [
    ("2025-05-01", "2025-05-08", "on_time"),
    ("2025-05-01", "2025-05-09", "late"),
    ("2025-05-01", None, "missing"),
    ("2025-06-10", None, "waiting"),
])
def test_forms_report_state(held, submitted, state):
    assert forms.report_state(held, submitted, date(2025, 6, 15), 7) == state


# ---- record a meeting ---------------------------------------------------------------------

def test_record_meeting_saves_audits_and_clears_the_form(db_path, ids):
    at = open_page(db_path, "clerk1", "record_meeting")
    # The clerk's scope is one commune; the cell's fixed day (31) defaults the date.
    assert at.selectbox(key="rec_unit").options == ["Xã Nhị Long"]
    month_end = (FIRST + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    held = TODAY if TODAY == month_end else FIRST - timedelta(days=1)
    assert at.date_input(key="rec_held_on").value == held
    fill_counts(at)
    at.number_input(key="rec_duration_minutes").set_value(120)
    at.number_input(key="rec_score").set_value(88)
    at.checkbox(key="rec_leadership").check()
    at.text_area(key="rec_topics").input("Quán triệt Nghị quyết")
    at.text_area(key="rec_notes").input(HOSTILE)
    at.multiselect(key="rec_leaders").set_value([ids["l1"]])
    at.run()
    # Live checks before saving: required = 30 − 2, the sum adds up, the score's rating.
    assert any("28" in s and "100%" not in s for s in texts(at.success))
    assert any("Khá" in c for c in texts(at.caption))
    at.date_input(key=f"rec_report_{ids['l1']}").set_value(held)
    at.button(key="rec_save").click().run()

    saved = rows(db_path, "select * from meetings")
    assert len(saved) == 1
    m = saved[0]
    assert (m["cell_id"], m["held_on"], m["mtype"], m["members_total"], m["members_exempt"], m["present"],
            m["absent_excused"], m["absent_unexcused"], m["duration_minutes"], m["score"], m["rating"],
            m["leadership"], m["education"], m["notes"], m["created_by"]) == (
        ids["c1"], held.isoformat(), "thuong_ky", 30, 2, 25, 2, 1, 120, 88, "kha", 1, 0, HOSTILE, "clerk1")
    assert rows(db_path, "select leader_id, report_submitted_on from meeting_leaders") == [
        {"leader_id": ids["l1"], "report_submitted_on": held.isoformat()}]
    assert log(db_path, "meetings") == [("create", str(m["id"]), "clerk1")]
    assert any(f"số {m['id']}" in s for s in texts(at.success))
    # The form is empty again, the commune kept for the next cell.
    assert at.number_input(key="rec_members_total").value is None
    assert at.number_input(key="rec_score").value is None
    assert at.text_area(key="rec_notes").value == ""
    assert at.multiselect(key="rec_leaders").value == []
    assert at.selectbox(key="rec_unit").value == ids["u1"]
    # No alarm right after a good save: the month's meeting of the kept cell is a notice, not an error.
    assert texts(at.error) == []
    no_markup_rendered(at)


def test_forms_next_cell_to_record_skips_cells_already_recorded(db_path, ids):
    from lib import directory

    with dbm.write(db_path) as db:
        extra = [directory.create_cell(db, SYSTEM, {"code": f"NL-{n}", "unit_id": ids["u1"], "name": f"Chi bộ ấp {n}",
                                                    "cell_type": "ap_khom", "meeting_day": 5})
                 for n in ("Rạch Mát", "Đon")]
    # Form order is by name: Chi bộ ấp Cầu Đúc (c1), Chi bộ ấp Rạch Mát, Chi bộ ấp Đon.
    add_meeting(db_path, extra[0], "2025-04-05")
    with dbm.read(db_path) as db:
        assert forms.next_cell_to_record(db, ids["u1"], ids["c1"], date(2025, 4, 30), date(2025, 6, 1)) == extra[1]
        assert forms.next_cell_to_record(db, ids["u1"], extra[1], date(2025, 4, 30), date(2025, 6, 1)) == ids["c1"]
    add_meeting(db_path, ids["c1"], "2025-04-30")
    add_meeting(db_path, extra[1], "2025-04-05")
    with dbm.read(db_path) as db:
        assert forms.next_cell_to_record(db, ids["u1"], ids["c1"], date(2025, 4, 30), date(2025, 6, 1)) is None


def test_record_meeting_counts_that_do_not_add_up_are_refused(db_path, ids):
    at = open_page(db_path, "clerk1", "record_meeting")
    fill_counts(at, present=20, excused=2, unexcused=1)
    at.run()
    assert any("23" in w and "28" in w for w in texts(at.warning))  # shown before saving
    at.button(key="rec_save").click().run()
    assert any(e.startswith("Số có mặt:") and "28" in e and "23" in e for e in texts(at.error))
    assert count(db_path, "meetings") == 0
    assert log(db_path, "meetings") == []


def test_record_meeting_future_date_is_refused(db_path, ids):
    at = open_page(db_path, "clerk1", "record_meeting")
    fill_counts(at)
    at.date_input(key="rec_held_on").set_value(TODAY + timedelta(days=1))
    at.button(key="rec_save").click().run()
    assert any(e.startswith("Ngày sinh hoạt:") and "tương lai" in e for e in texts(at.error))
    assert count(db_path, "meetings") == 0


def test_record_meeting_second_regular_in_month_is_refused_with_a_link(db_path, ids):
    first = add_meeting(db_path, ids["c1"], LAST_MONTH.isoformat())
    at = open_page(db_path, "clerk1", "record_meeting")
    fill_counts(at)
    at.date_input(key="rec_held_on").set_value(LAST_MONTH.replace(day=20))
    at.run()
    links = [p for p in at.page_link if p.proto.query_string == f"id={first}"]
    assert len(links) == 1 and str(first) in links[0].value
    at.button(key="rec_save").click().run()
    assert any(e.startswith("Ngày sinh hoạt:") and f"bản ghi số {first}" in e for e in texts(at.error))
    assert count(db_path, "meetings") == 1
    # Another type in that month is fine, with the off-day and short-meeting warnings not blocking.
    at.selectbox(key="rec_mtype").set_value("chuyen_de")
    at.number_input(key="rec_duration_minutes").set_value(60)
    at.run()
    assert any(w.startswith("Thời gian (phút):") for w in texts(at.warning))
    at.button(key="rec_save").click().run()
    assert count(db_path, "meetings") == 2
    # The link opens the existing record on the Records page.
    linked = open_page(db_path, "clerk1", "records", query={"id": str(first)})
    assert any(f"Bản ghi số {first}" in h.value for h in linked.subheader)


@pytest.mark.parametrize("key, value, message", [
    ("rec_score", 140, "Điểm: phải từ 0 đến 100."),
    ("rec_absent_unexcused", -1, "Vắng không lý do: không được là số âm"),
    ("rec_duration_minutes", 2000, "Thời gian (phút): quá dài"),
])
def test_record_meeting_values_set_through_session_state_are_refused(db_path, ids, key, value, message):
    at = open_page(db_path, "clerk1", "record_meeting")
    fill_counts(at)
    at.run()
    at.session_state[key] = value
    at.button(key="rec_save").click().run()
    assert any(e.startswith(message) for e in texts(at.error)), texts(at.error)
    assert count(db_path, "meetings") == 0


def test_record_meeting_cell_of_another_commune_is_not_offered_or_accepted(db_path, ids):
    at = app_test(db_path)
    login(at, "clerk1", "Matkhau123")
    # A session that claims the other commune's unit and cell is put back to the clerk's own.
    at.session_state["rec_unit"] = ids["u2"]
    at.session_state["rec_cell"] = ids["c2"]
    at.switch_page("pages/record_meeting.py").run()
    assert at.selectbox(key="rec_unit").value == ids["u1"]
    assert at.selectbox(key="rec_cell").options == ["Chi bộ ấp Cầu Đúc"]


# ---- records: filter, edit, delete, restore, scope ----------------------------------------

@pytest.fixture
def three(db_path, ids):
    """m1 (c1, last month, regular, hostile notes), m2 (c1, two months ago, thematic), m3 (c2 of u2)."""
    m1 = add_meeting(db_path, ids["c1"], LAST_MONTH.isoformat(), topics="Quán triệt nghị quyết", notes=HOSTILE)
    m2 = add_meeting(db_path, ids["c1"], TWO_MONTHS.isoformat(), mtype="chuyen_de", topics="Học tập chuyên đề")
    m3 = add_meeting(db_path, ids["c2"], LAST_MONTH.isoformat(), topics="Đại Phước")
    return {"m1": m1, "m2": m2, "m3": m3}


def test_records_lists_scope_filters_and_shows_user_text_plainly(db_path, ids, three):
    at = open_page(db_path, "clerk1", "records")
    at.date_input(key="recs_f_start").set_value(EARLY).run()
    df = at.dataframe[0].value
    assert sorted(df["Mã số"]) == sorted([three["m1"], three["m2"]])  # not m3: another commune
    assert df.loc[df["Mã số"] == three["m1"], "Ghi chú"].item() == HOSTILE
    at.text_input(key="recs_f_text").input("nghị quyết").run()
    assert at.dataframe[0].value["Mã số"].tolist() == [three["m1"]]
    at.text_input(key="recs_f_text").input("").run()
    at.selectbox(key="recs_f_mtype").set_value("chuyen_de").run()
    assert at.dataframe[0].value["Mã số"].tolist() == [three["m2"]]
    at.number_input(key="recs_open_id").set_value(three["m1"])
    at.button(key="recs_open_btn").click().run()
    assert at.text_area(key="recs_e_notes").value == HOSTILE
    no_markup_rendered(at)


def test_records_edit_is_validated_and_audited(db_path, ids, three):
    at = open_page(db_path, "clerk1", "records")
    at.number_input(key="recs_open_id").set_value(three["m1"])
    at.button(key="recs_open_btn").click().run()
    assert at.number_input(key="recs_e_present").value == 25
    at.number_input(key="recs_e_present").set_value(21)  # 21 + 3 + 0 ≠ 28
    at.button(key="recs_save").click().run()
    assert any(e.startswith("Số có mặt:") for e in texts(at.error))
    assert rows(db_path, "select present from meetings where id = ?", [three["m1"]]) == [{"present": 25}]
    at.number_input(key="recs_e_absent_excused").set_value(7)
    at.button(key="recs_save").click().run()
    assert rows(db_path, "select present, absent_excused from meetings where id = ?", [three["m1"]]) == [
        {"present": 21, "absent_excused": 7}]
    entry = next(e for e in rows(db_path, "select * from audit_log where action = 'update'"))
    assert entry["username"] == "clerk1" and entry["row_id"] == str(three["m1"])
    assert json.loads(entry["before_json"])["present"] == 25 and json.loads(entry["after_json"])["present"] == 21
    assert any(f"bản ghi số {three['m1']}" in s for s in texts(at.success))


def test_records_soft_delete_then_admin_restores(db_path, ids, three):
    at = open_page(db_path, "clerk1", "records")
    at.date_input(key="recs_f_start").set_value(EARLY)
    at.number_input(key="recs_open_id").set_value(three["m1"])
    at.button(key="recs_open_btn").click().run()
    at.checkbox(key="recs_confirm_delete").check().run()
    at.button(key="recs_delete").click().run()
    assert rows(db_path, "select deleted_at is not null as gone from meetings where id = ?", [three["m1"]]) == [
        {"gone": 1}]
    assert ("delete", str(three["m1"]), "clerk1") in log(db_path, "meetings")
    assert three["m1"] not in at.dataframe[0].value["Mã số"].tolist()
    # The clerk sees that it is deleted but cannot restore it.
    at.number_input(key="recs_open_id").set_value(three["m1"])
    at.button(key="recs_open_btn").click().run()
    assert any("đã bị xóa" in w for w in texts(at.warning))
    assert not [b for b in at.button if b.key == "recs_restore"]

    admin = open_page(db_path, "admin1", "records")
    admin.date_input(key="recs_f_start").set_value(EARLY)
    admin.checkbox(key="recs_f_deleted").check().run()
    assert three["m1"] in admin.dataframe[0].value["Mã số"].tolist()
    admin.number_input(key="recs_open_id").set_value(three["m1"])
    admin.button(key="recs_open_btn").click().run()
    admin.button(key="recs_restore").click().run()
    assert rows(db_path, "select deleted_at from meetings where id = ?", [three["m1"]]) == [{"deleted_at": None}]
    assert ("restore", str(three["m1"]), "admin1") in log(db_path, "meetings")


def test_records_clerk_cannot_change_another_communes_meeting(db_path, ids, three):
    # Issue 14: the clerk cannot even open it (the lib read checks scope), so there is no form to save or delete
    # from; lib refuses the writes themselves too (tests/test_security.py).
    at = open_page(db_path, "clerk1", "records")
    at.number_input(key="recs_open_id").set_value(three["m3"])
    at.button(key="recs_open_btn").click().run()
    assert any("không do bạn phụ trách" in e for e in texts(at.error))
    assert not [w for w in at.text_area if w.key == "recs_e_notes"]
    assert not [b for b in at.button if b.key in ("recs_save", "recs_delete")]
    assert rows(db_path, "select notes, deleted_at from meetings where id = ?", [three["m3"]]) == [
        {"notes": None, "deleted_at": None}]
    assert log(db_path, "meetings") == [("create", str(three[k]), "system") for k in ("m3", "m2", "m1")]


# ---- leader reports --------------------------------------------------------------------------

def test_leader_reports_marks_received_dates_and_lists_missing(db_path, ids):
    held = TWO_MONTHS
    ma = add_meeting(db_path, ids["c1"], held.isoformat(),
                     leaders=[{"leader_id": ids["l1"]},
                              {"leader_id": ids["l2"], "report_submitted_on": (held + timedelta(days=3)).isoformat()}])
    add_meeting(db_path, ids["c2"], held.isoformat(), leaders=[{"leader_id": ids["l1"]}])  # another commune
    at = open_page(db_path, "clerk1", "leader_reports")
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Đúng hạn"], metrics["Chưa nộp, đã quá hạn"], metrics["Nộp trễ"]) == ("1", "1", "0")
    assert len(at.dataframe[0].value) == 2
    pick = f"{ma}:{ids['l1']}"
    at.selectbox(key="lrep_pick").set_value(pick)
    for bad, message in ((TODAY + timedelta(days=1), "tương lai"), (held - timedelta(days=1), "trước ngày")):
        at.date_input(key="lrep_date").set_value(bad)
        at.button(key="lrep_save").click().run()
        assert any(e.startswith("Ngày nhận báo cáo:") and message in e for e in texts(at.error))
    assert rows(db_path, "select report_submitted_on from meeting_leaders where meeting_id = ? and leader_id = ?",
                [ma, ids["l1"]]) == [{"report_submitted_on": None}]
    at.date_input(key="lrep_date").set_value(held + timedelta(days=10))
    at.button(key="lrep_save").click().run()
    assert rows(db_path, "select report_submitted_on from meeting_leaders where meeting_id = ? and leader_id = ?",
                [ma, ids["l1"]]) == [{"report_submitted_on": (held + timedelta(days=10)).isoformat()}]
    assert log(db_path, "meeting_leaders") == [("update", pick, "clerk1")]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Nộp trễ"], metrics["Chưa nộp, đã quá hạn"]) == ("1", "0")


# ---- weaknesses ------------------------------------------------------------------------------

def test_weakness_flagged_from_a_meeting_moved_to_resolved(db_path, ids, three):
    at = open_page(db_path, "clerk1", "weaknesses")
    at.selectbox(key="weak_n_meeting_id").set_value(three["m1"])
    at.selectbox(key="weak_n_category").set_value("xay_dung_dang")
    at.button(key="weak_n_save").click().run()
    assert any(e.startswith("Mô tả:") for e in texts(at.error))
    assert count(db_path, "weaknesses") == 0
    at.text_area(key="weak_n_description").input(HOSTILE)
    at.date_input(key="weak_n_due_on").set_value(TODAY + timedelta(days=30))
    at.button(key="weak_n_save").click().run()
    w = rows(db_path, "select * from weaknesses")
    assert [(r["unit_id"], r["cell_id"], r["meeting_id"], r["category"], r["description"], r["status"])
            for r in w] == [(ids["u1"], ids["c1"], three["m1"], "xay_dung_dang", HOSTILE, "open")]
    wid = w[0]["id"]
    assert log(db_path, "weaknesses") == [("create", str(wid), "clerk1")]
    # The description is shown as plain text, in the table and above the status form.
    assert at.dataframe[0].value["Mô tả"].tolist() == [HOSTILE]
    assert HOSTILE in texts(at.text)
    no_markup_rendered(at)
    assert at.selectbox(key="weak_u_status").value == "in_progress"  # the next step is offered
    at.button(key="weak_u_save").click().run()
    assert rows(db_path, "select status from weaknesses")[0]["status"] == "in_progress"
    at.selectbox(key="weak_u_status").set_value("resolved")
    at.button(key="weak_u_save").click().run()
    assert any(e.startswith("Kết quả khắc phục:") for e in texts(at.error))
    assert rows(db_path, "select status from weaknesses")[0]["status"] == "in_progress"
    at.text_area(key="weak_u_resolution").input("Đã họp rút kinh nghiệm")
    at.button(key="weak_u_save").click().run()
    assert rows(db_path, "select status, resolved_on, resolution from weaknesses") == [
        {"status": "resolved", "resolved_on": TODAY.isoformat(), "resolution": "Đã họp rút kinh nghiệm"}]


def test_weakness_list_highlights_overdue_and_keeps_to_scope(db_path, ids):
    from lib import weaknesses

    with dbm.write(db_path) as db:
        late = weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "category": "not_held", "description": "Trễ",
                                              "noted_on": TODAY - timedelta(days=60),
                                              "due_on": TODAY - timedelta(days=10)})
        weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "category": "other", "description": "Còn hạn",
                                       "noted_on": TODAY, "due_on": TODAY + timedelta(days=10)})
        weaknesses.create(db, SYSTEM, {"unit_id": ids["u2"], "category": "other", "description": "Xã khác",
                                       "due_on": TODAY + timedelta(days=1)})
    at = open_page(db_path, "clerk1", "weaknesses")
    df = at.dataframe[0].value
    assert df["Mô tả"].tolist() == ["Trễ", "Còn hạn"]  # overdue first, the other commune left out
    # a red label in a pinned first column, not a coloured row
    assert [list(v) for v in df["Quá hạn"]] == [["Quá hạn"], []] and list(df.columns)[0] == "Quá hạn"
    assert df.loc[df["Mã số"] == late, "Số ngày tồn tại"].item() == 60
    assert {m.label: m.value for m in at.metric}["Quá hạn"] == "1"


# ---- import ------------------------------------------------------------------------------------

HEADER = "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused," \
         "duration_minutes,score,notes\n"


def upload(at, text: str, name: str = "buoi_hop.csv"):
    at.selectbox(key="imp_kind").set_value("meetings").run()
    at.file_uploader[0].set_value((name, text.encode("utf-8"), "text/csv"))
    return at.run()


def test_import_preview_lists_every_error_and_writes_nothing(db_path, ids):
    bad = HEADER + (
        f"NL-CD,{THREE_MONTHS:%d/%m/%Y},thuong_ky,abc,2,25,2,1,120,,\n"
        f"NL-CD,{TWO_MONTHS:%d/%m/%Y},thuong_ky,30,2,25,2,1,120,140,\n"
        f"XX-00,{LAST_MONTH:%d/%m/%Y},thuong_ky,30,2,25,2,1,120,,\n"
        f"DP-LH,{LAST_MONTH:%d/%m/%Y},thuong_ky,30,2,25,2,1,120,,\n"
    )
    at = open_page(db_path, "clerk1", "import_data")
    upload(at, bad)
    errors = at.dataframe[1].value
    found = {(row, code) for row, code in zip(errors["Dòng"], errors["Tên mã của cột"], strict=True)}
    assert {("2", "members_total"), ("3", "score"), ("4", "cell_code"), ("5", "cell_code")} <= found
    assert any("abc" in p for p in errors["Lỗi và cách sửa"])
    assert any("Xã Đại Phước" in p for p in errors["Lỗi và cách sửa"])
    assert any("Không ghi dòng nào" in e for e in texts(at.error))
    assert not [b for b in at.button if b.key == "imp_run"]
    assert count(db_path, "meetings") == 0
    assert log(db_path, "meetings") == []


def test_import_good_file_imports_every_row_in_one_go(db_path, ids):
    good = HEADER + (
        f"NL-CD,{THREE_MONTHS:%d/%m/%Y},thuong_ky,30,2,25,2,1,120,95,\n"
        f"NL-CD,{TWO_MONTHS.isoformat()},thuong_ky,30,2,20,5,3,90,,\"{HOSTILE}\"\n"
        f"NL-CD,{LAST_MONTH:%d/%m/%Y},chuyen_de,30,0,30,0,0,150,72,\n"
    )
    at = open_page(db_path, "clerk1", "import_data")
    upload(at, good)
    assert at.dataframe[0].value["Ghi chú"].tolist()[1] == HOSTILE
    at.button(key="imp_run").click().run()
    assert any("Đã nhập 3 dòng" in s for s in texts(at.success))
    saved = rows(db_path, "select held_on, mtype, present, score, rating, notes, created_by from meetings order by "
                          "held_on")
    assert [(r["held_on"], r["mtype"], r["present"], r["score"], r["rating"], r["created_by"]) for r in saved] == [
        (THREE_MONTHS.isoformat(), "thuong_ky", 25, 95, "tot", "clerk1"),
        (TWO_MONTHS.isoformat(), "thuong_ky", 20, None, None, "clerk1"),
        (LAST_MONTH.isoformat(), "chuyen_de", 30, 72, "kha", "clerk1")]
    assert saved[1]["notes"] == HOSTILE
    assert [a for a, _, u in log(db_path, "meetings") if u == "clerk1"] == ["create"] * 3
    no_markup_rendered(at)


# ---- directory (admin) --------------------------------------------------------------------

def test_directory_adds_refuses_bad_values_merges_and_edits(db_path, ids):
    at = open_page(db_path, "admin1", "directory")
    # only the open tab and the opened sections are drawn (pages/directory.py): opened as a click does
    at.session_state["dir_box_un"] = at.session_state["dir_box_mg"] = True
    at.run()
    at.text_input(key="dir_un_code").input("NL")
    at.text_input(key="dir_un_name").input("Thị trấn Càng Long")
    at.button(key="dir_un_save").click().run()
    assert any(e.startswith("Mã:") and "NL" in e for e in texts(at.error))
    assert count(db_path, "units") == 2
    at.text_input(key="dir_un_code").input("TT")
    at.selectbox(key="dir_un_kind").set_value("thi_tran")
    at.button(key="dir_un_save").click().run()
    new = rows(db_path, "select id, kind from units where code = 'TT'")
    assert [r["kind"] for r in new] == ["thi_tran"]
    assert ("create", str(new[0]["id"]), "admin1") in log(db_path, "units")

    at.session_state["dir_tabs"] = t("page.directory.tab_cells")
    at.session_state["dir_box_cn"] = True
    at.run()
    at.text_input(key="dir_cn_code").input("NL-X")
    at.text_input(key="dir_cn_name").input("Chi bộ ấp X")
    at.session_state["dir_cn_meeting_day"] = 40
    at.button(key="dir_cn_save").click().run()
    assert any(e.startswith("Ngày sinh hoạt cố định:") for e in texts(at.error))
    assert count(db_path, "cells") == 2

    last = TODAY - timedelta(days=1)
    at.session_state["dir_tabs"] = t("page.directory.tab_units")
    at.session_state["dir_box_mg"] = True  # a section of a tab not drawn does not stay open
    at.run()
    at.selectbox(key="dir_mg_unit").set_value(ids["u2"])
    at.selectbox(key="dir_mg_successor").set_value(ids["u1"])
    at.date_input(key="dir_mg_day").set_value(last)
    at.button(key="dir_mg_save").click().run()
    assert rows(db_path, "select valid_to, successor_id from units where id = ?", [ids["u2"]]) == [
        {"valid_to": last.isoformat(), "successor_id": ids["u1"]}]
    assert ("update", str(ids["u2"]), "admin1") in log(db_path, "units")

    at.session_state["dir_tabs"] = t("page.directory.tab_leaders")
    at.session_state["dir_box_le"] = True
    at.run()
    at.selectbox(key="dir_le_pick").set_value(ids["l2"]).run()
    assert at.text_input(key="dir_le_full_name").value == "Trần Thị Bình"
    at.checkbox(key="dir_le_active").uncheck()
    at.button(key="dir_le_save").click().run()
    assert rows(db_path, "select active from leaders where id = ?", [ids["l2"]]) == [{"active": 0}]


# ---- assignments (admin) ----------------------------------------------------------------

def test_assignment_decision_saved_all_or_nothing_and_ended_without_deleting(db_path, ids):
    at = open_page(db_path, "admin1", "assignments")
    signed = TODAY - timedelta(days=5)
    at.text_input(key="asg_decision_no").input("12-QĐ/HU")
    at.date_input(key="asg_decision_date").set_value(signed)
    at.selectbox(key="asg_l0_leader_id").set_value(ids["l2"])
    at.selectbox(key="asg_l0_unit_id").set_value(ids["u2"])
    at.button(key="asg_add_line").click().run()
    at.selectbox(key="asg_l1_leader_id").set_value(ids["l1"])
    at.selectbox(key="asg_l1_unit_id").set_value(ids["u2"]).run()
    at.selectbox(key="asg_l1_cell_id").set_value(ids["c2"])
    at.number_input(key="asg_l1_required_per_quarter").set_value(0)
    at.button(key="asg_save").click().run()
    assert any(e.startswith("Dòng 2 — Số lần dự bắt buộc mỗi quý:") for e in texts(at.error))
    assert count(db_path, "assignments") == 1  # line 1 was not written either
    at.number_input(key="asg_l1_required_per_quarter").set_value(2)
    at.button(key="asg_save").click().run()
    saved = rows(db_path, "select leader_id, unit_id, cell_id, decision_no, decision_date, valid_from, "
                          "required_per_quarter from assignments where decision_no = '12-QĐ/HU' order by id")
    assert saved == [
        {"leader_id": ids["l2"], "unit_id": ids["u2"], "cell_id": None, "decision_no": "12-QĐ/HU",
         "decision_date": signed.isoformat(), "valid_from": signed.isoformat(), "required_per_quarter": 1},
        {"leader_id": ids["l1"], "unit_id": ids["u2"], "cell_id": ids["c2"], "decision_no": "12-QĐ/HU",
         "decision_date": signed.isoformat(), "valid_from": signed.isoformat(), "required_per_quarter": 2}]
    assert [a for a, _, u in log(db_path, "assignments") if u == "admin1"] == ["create", "create"]

    at.selectbox(key="asg_vu_unit").set_value(ids["u2"]).run()
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="asg_end_pick").set_value(ids["a1"])
    at.date_input(key="asg_end_day").set_value(TODAY - timedelta(days=1))
    at.button(key="asg_end_save").click().run()
    assert rows(db_path, "select valid_to from assignments where id = ?", [ids["a1"]]) == [
        {"valid_to": (TODAY - timedelta(days=1)).isoformat()}]
    at.selectbox(key="asg_vl_leader").set_value(ids["l1"]).run()
    assert at.dataframe[1].value["Tình trạng"].tolist().count("Đã kết thúc") == 1


def test_records_form_refills_after_visiting_another_page(db_path, ids, three):
    at = open_page(db_path, "clerk1", "records")
    at.number_input(key="recs_open_id").set_value(three["m2"])
    at.button(key="recs_open_btn").click().run()
    # Streamlit drops a page's widget values once the user is elsewhere; the open record is loaded again.
    at.switch_page("pages/record_meeting.py").run()
    at.switch_page("pages/leader_reports.py").run()
    at.switch_page("pages/records.py").run()
    assert at.number_input(key="recs_e_present").value == 25
    assert at.selectbox(key="recs_e_mtype").value == "chuyen_de"
    assert at.date_input(key="recs_e_held_on").value == TWO_MONTHS


def test_weakness_flagged_on_a_commune_cell_checks_its_dates(db_path, ids):
    at = open_page(db_path, "clerk1", "weaknesses")
    at.radio(key="weak_n_source").set_value("unit").run()
    assert at.selectbox(key="weak_n_unit_id").options == ["Xã Nhị Long"]
    at.selectbox(key="weak_n_cell_id").set_value(ids["c1"])
    at.selectbox(key="weak_n_category").set_value("attendance_low")
    at.selectbox(key="weak_n_severity").set_value("high")
    at.text_area(key="weak_n_description").input("Tỷ lệ dự họp dưới 70% ba tháng liền")
    at.date_input(key="weak_n_due_on").set_value(TODAY - timedelta(days=1))
    at.button(key="weak_n_save").click().run()
    assert any(e.startswith("Hạn khắc phục:") for e in texts(at.error))
    assert count(db_path, "weaknesses") == 0
    at.date_input(key="weak_n_due_on").set_value(TODAY + timedelta(days=14))
    at.button(key="weak_n_save").click().run()
    assert rows(db_path, "select unit_id, cell_id, meeting_id, category, severity, noted_on, due_on "
                         "from weaknesses") == [
        {"unit_id": ids["u1"], "cell_id": ids["c1"], "meeting_id": None, "category": "attendance_low",
         "severity": "high", "noted_on": TODAY.isoformat(), "due_on": (TODAY + timedelta(days=14)).isoformat()}]
    assert at.text_area(key="weak_n_description").value == ""  # the form is cleared
