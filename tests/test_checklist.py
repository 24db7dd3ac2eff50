"""The 12-HD / 42-HD checklist of a meeting: versions by date, worked-out proposals, refusals by field, one
transaction with the meeting, audit, and the meetings import's optional checklist columns."""

import csv
import io
import json
from datetime import date

import pytest

from lib import checklist, importer, meetings
from lib.domain import SYSTEM, Rating, ValidationError
from tests.factories import meeting, small_directory

TODAY = date(2026, 1, 31)
FULL = {"committee_prepared": True, "content_prepared": True, "speakers": 9, "criticism_held": True,
        "resolution_issued": True, "minutes_complete": True, "followed_up": True, "documents": "Chỉ thị 50-CT/TW"}
PROPERTIES = {"leadership": True, "education": True, "combativeness": True}


@pytest.fixture
def ids(db_path):
    return small_directory(db_path)


def _create(db, cell, day, cl=None, **kw):
    raw = meeting(cell, day, **{**PROPERTIES, **kw})
    if cl is not None:
        raw["checklist"] = cl
    return meetings.create(db, SYSTEM, raw, today=TODAY)


# ---- versions and worked-out proposals ------------------------------------------------------------------

def test_version_in_force_is_chosen_by_the_meetings_day():
    assert checklist.version_on("2018-05-17") is None
    assert checklist.version_on("2018-05-18").code == "12-HD/BTCTW"
    assert checklist.version_on(date(2025, 6, 1)).code == "12-HD/BTCTW"
    assert checklist.version_on("2025-10-27").code == "12-HD/BTCTW"
    assert checklist.version_on("2025-10-28").code == "42-HD/BTCTW"
    assert checklist.version_on("2026-01-05").code == "42-HD/BTCTW"


def test_42hd_sets_content_per_cell_type_12hd_none():
    v12, v42 = checklist.version_on("2025-06-01"), checklist.version_on("2025-11-10")
    assert checklist.content_for(v12, "truong_hoc") is None
    assert "dạy và học" in checklist.content_for(v42, "truong_hoc")
    assert checklist.content_for(v42, "ap_khom") != checklist.content_for(v42, "y_te")


def test_meeting_of_1_6_2025_is_judged_by_12hd(db, ids):
    # 30 members, 2 exempt: 28 required; 26 present, 2 excused: 92.9 % > 85 %, no unexcused, 120 minutes.
    # 9 spoke, 30 % of 26 is 7.8 → 8 wanted. No documents written: 12-HD does not ask for them → Tốt.
    mid = _create(db, ids["c1"], "2025-06-01", {**FULL, "documents": None}, present=26)
    row = checklist.get(db, mid)
    assert (row["criteria_version"], row["proposed_rating"]) == ("12-HD/BTCTW", "tot")
    assert meetings.get(db, mid)["rating"] is None  # the clerk's rating is untouched


def test_meeting_after_42hd_is_judged_by_42hd(db, ids):
    # The same meeting on 5/11/2025: 42-HD asks which documents were disseminated → one failure → Khá.
    mid = _create(db, ids["c1"], "2025-11-05", {**FULL, "documents": ""}, present=26)
    row = checklist.get(db, mid)
    assert (row["criteria_version"], row["proposed_rating"]) == ("42-HD/BTCTW", "kha")
    proposal = checklist.propose(db, meetings.get(db, mid), row)
    assert [r.key for r in proposal.reasons] == ["documents"]


def test_worked_out_steps_kha_trung_binh_kem():
    v12 = checklist.version_on("2025-06-01")
    base = {"held_on": "2025-06-01", "members_total": 30, "members_exempt": 2, "present": 26, "absent_excused": 2,
            "absent_unexcused": 0, "duration_minutes": 120, **PROPERTIES}
    good = checklist.propose_rating(base, FULL, v12, good_pct=85)
    assert (good.rating, good.reasons) == (Rating.TOT, ())
    # 24 of 28 = 85.7 % > 85: still met. 23 of 28 = 82.1 %: attendance fails; 1 unexcused fails → 2 → Khá.
    assert checklist.propose_rating({**base, "present": 24, "absent_excused": 4}, FULL, v12, good_pct=85).rating \
        == Rating.TOT
    two = checklist.propose_rating({**base, "present": 23, "absent_excused": 4, "absent_unexcused": 1}, FULL, v12,
                                   good_pct=85)
    assert (two.rating, [r.key for r in two.reasons]) == (Rating.KHA, ["attendance", "unexcused"])
    # + 80 minutes and no minutes and 2 speakers (8 wanted of 26): 5 failed → Kém; only 4 failed → Trung bình.
    four = checklist.propose_rating({**base, "duration_minutes": 80}, {**FULL, "minutes_complete": False,
                                                                        "speakers": 2, "followed_up": False},
                                    v12, good_pct=85)
    assert (four.rating, [r.key for r in four.reasons]) == (
        Rating.TRUNG_BINH, ["duration", "speakers", "minutes_complete", "followed_up"])
    five = checklist.propose_rating({**base, "duration_minutes": 80, "leadership": False},
                                    {**FULL, "minutes_complete": False, "speakers": 2, "followed_up": False},
                                    v12, good_pct=85)
    assert (five.rating, len(five.reasons)) == (Rating.KEM, 5)
    # Fewer than half the required present (13 of 28 = 46 %): Kém whatever the checklist.
    half = checklist.propose_rating({**base, "present": 13, "absent_excused": 15}, FULL, v12, good_pct=85)
    assert half.rating == Rating.KEM and [r.key for r in half.reasons] == ["attendance"]
    assert checklist.propose_rating(base, FULL, None, good_pct=85).rating is None


def test_threshold_is_read_from_rule_thresholds_in_force_on_the_day(db, ids):
    # 24 of 28 = 85.7 %: above 85, not above 90. A new threshold from 2025-09-01 changes later meetings only.
    db.execute("insert into rule_thresholds(rule, value, valid_from, document) values "
               "('hd12_good_attendance_pct', 90, '2025-09-01', 'Hướng dẫn của tỉnh (thử)')")
    assert checklist.threshold_on(db, "hd12_good_attendance_pct", "2025-08-31") == 85
    assert checklist.threshold_on(db, "hd12_good_attendance_pct", "2025-09-01") == 90
    assert checklist.threshold_on(db, "hd12_good_attendance_pct", "2018-05-17") is None
    before = _create(db, ids["c1"], "2025-08-20", FULL, present=24)
    after = _create(db, ids["c1"], "2025-09-20", FULL, present=24)
    assert checklist.get(db, before)["proposed_rating"] == "tot"
    assert checklist.get(db, after)["proposed_rating"] == "kha"


# ---- saving: refusals by field, one transaction, audit, editing ---------------------------------------------

def test_refusals_name_the_field_and_nothing_is_written(db, ids):
    n = db.execute("select count(*) from meetings").fetchone()[0]
    with pytest.raises(ValidationError) as exc:
        _create(db, ids["c1"], "2025-06-01", {**FULL, "speakers": 27, "criticism_held": "maybe",
                                              "documents": "x" * 2001}, present=26)
    assert {(e.field, e.key) for e in exc.value.errors} == {
        ("speakers", "speakers_over_present"), ("criticism_held", "not_bool"), ("documents", "documents_too_long")}
    assert "26" in str(next(e for e in exc.value.errors if e.field == "speakers"))
    # One transaction: the meeting whose checklist was refused is not saved either.
    assert db.execute("select count(*) from meetings").fetchone()[0] == n
    assert db.execute("select count(*) from meeting_checklists").fetchone()[0] == 0
    with pytest.raises(ValidationError) as exc:
        _create(db, ids["c1"], "2025-06-01", {**FULL, "speakers": -1})
    assert [(e.field, e.key) for e in exc.value.errors] == [("speakers", "negative")]


def test_save_is_audited_and_update_keeps_both_ratings(db, ids):
    mid = _create(db, ids["c1"], "2025-06-01", FULL, present=26, rating="kha")
    entry = db.execute("select action, username, after_json from audit_log where table_name = 'meeting_checklists'"
                       " and row_id = ?", [str(mid)]).fetchall()
    assert [(a, u) for a, u, _ in entry] == [("create", "system")]
    assert json.loads(entry[0][2])["proposed_rating"] == "tot"
    # The clerk rated it Khá; the proposal stays Tốt beside it.
    assert (meetings.get(db, mid)["rating"], checklist.get(db, mid)["proposed_rating"]) == ("kha", "tot")
    # An update that changes the checklist: 2 items fail → Khá, audited as an update with the before.
    m = meetings.read(db, SYSTEM, mid)
    meetings.update(db, SYSTEM, mid, {"checklist": {**FULL, "followed_up": False, "minutes_complete": False}},
                    version=m["version"], today=TODAY)
    assert checklist.get(db, mid)["proposed_rating"] == "kha"
    rows = db.execute("select action, before_json from audit_log where table_name = 'meeting_checklists' "
                      "order by id").fetchall()
    assert [r[0] for r in rows] == ["create", "update"] and json.loads(rows[1][1])["followed_up"] == 1
    # An update without the key keeps the checklist and recomputes its proposal from the changed meeting
    # (26 → 20 present, 8 excused: 71 %).
    m = meetings.read(db, SYSTEM, mid)
    meetings.update(db, SYSTEM, mid, {"present": 20, "absent_excused": 8}, version=m["version"], today=TODAY)
    assert checklist.get(db, mid)["proposed_rating"] == "trung_binh"
    # None removes it, audited.
    m = meetings.read(db, SYSTEM, mid)
    meetings.update(db, SYSTEM, mid, {"checklist": None}, version=m["version"], today=TODAY)
    assert checklist.get(db, mid) is None
    assert db.execute("select action from audit_log where table_name = 'meeting_checklists' order by id desc"
                      ).fetchone()[0] == "delete"


def test_update_refused_by_the_checklist_leaves_the_meeting_as_it_was(db, ids):
    mid = _create(db, ids["c1"], "2025-06-01", FULL, present=26)
    m = meetings.read(db, SYSTEM, mid)
    with pytest.raises(ValidationError) as exc:
        meetings.update(db, SYSTEM, mid, {"notes": "sửa", "checklist": {**FULL, "speakers": 30}},
                        version=m["version"], today=TODAY)
    assert exc.value.fields() == {"speakers"}
    assert meetings.get(db, mid)["notes"] is None
    assert checklist.get(db, mid)["speakers"] == 9


def test_meeting_without_checklist_has_none(db, ids):
    mid = _create(db, ids["c1"], "2025-06-01")
    assert checklist.get(db, mid) is None
    assert db.execute("select count(*) from audit_log where table_name = 'meeting_checklists'").fetchone()[0] == 0


def test_read_is_scope_checked(db, ids, db_path):
    from lib.domain import PermissionDenied
    from tests.helpers import make_user

    mid = _create(db, ids["c1"], "2025-06-01", FULL)
    make_user(db_path, "xa_dp", "clerk", unit_ids=[ids["u2"]])
    make_user(db_path, "xa_nl", "clerk", unit_ids=[ids["u1"]])
    from lib.users import actor_for

    with pytest.raises(PermissionDenied):
        checklist.read(db, actor_for(db, "xa_dp"), mid)
    assert checklist.read(db, actor_for(db, "xa_nl"), mid)["speakers"] == 9


# ---- the meetings import's optional checklist columns --------------------------------------------------------

def _csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


HEAD = ["cell_code", "held_on", "mtype", "members_total", "members_exempt", "present", "absent_excused",
        "absent_unexcused", "duration_minutes", "leadership", "education", "combativeness"]


def test_import_without_checklist_columns_writes_no_checklist(db_path, ids):
    data = _csv([HEAD, ["NL-CD", "01/06/2025", "thuong_ky", 30, 2, 26, 2, 0, 120, "x", "x", "x"]])
    result = importer.run(db_path, "meetings", data, "m.csv", SYSTEM, today=TODAY)
    assert result.ok, result.error_lines()
    from lib import db as dbm

    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from meeting_checklists").fetchone()[0] == 0


def test_import_with_vietnamese_checklist_headers(db_path, ids):
    from lib import db as dbm
    from lib.i18n import t

    labels = [t(f"field.{c}", "vi") for c in checklist.COLUMNS]
    data = _csv([HEAD + labels,
                 ["NL-CD", "01/06/2025", "thuong_ky", 30, 2, 26, 2, 0, 120, "x", "x", "x",
                  "có", "x", 9, "x", "1", "x", "có", ""],
                 ["DP-LH", "10/11/2025", "thuong_ky", 30, 2, 26, 2, 0, 120, "x", "x", "x",
                  "", "", "", "", "", "", "", ""]])
    result = importer.run(db_path, "meetings", data, "m.csv", SYSTEM, today=TODAY)
    assert result.ok, result.error_lines()
    with dbm.read(db_path) as db:
        rows = [dict(r) for r in db.query("select * from meeting_checklists")]
        assert [(r["meeting_id"], r["speakers"], r["criteria_version"], r["proposed_rating"]) for r in rows] == [
            (result.ids[0], 9, "12-HD/BTCTW", "tot")]  # the all-blank second row: no checklist
        audited = db.execute("select count(*) from audit_log where table_name = 'meeting_checklists'").fetchone()
        assert audited[0] == 1


def test_import_refuses_checklist_errors_by_row_and_column(db_path, ids):
    data = _csv([HEAD + ["speakers", "criticism_held"],
                 ["NL-CD", "01/06/2025", "thuong_ky", 30, 2, 26, 2, 0, 120, "x", "x", "x", 27, "maybe"]])
    result = importer.run(db_path, "meetings", data, "m.csv", SYSTEM, today=TODAY)
    assert not result.ok
    assert {(e.row, e.field) for e in result.errors} == {(2, "speakers"), (2, "criticism_held")}


def test_template_lists_the_checklist_columns():
    from openpyxl import load_workbook

    from lib.i18n import t

    wb = load_workbook(io.BytesIO(importer.template_xlsx("meetings")))
    headers = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    assert [t(f"field.{c}", "vi") for c in checklist.COLUMNS] == headers[-len(checklist.COLUMNS):]


# ---- the quality dashboard's figure ------------------------------------------------------------------------

def test_checklist_ratings_share_and_crosstab(db, ids):
    from lib import metrics

    # Q2 2025: four meetings with a checklist, one without. Proposals: Tốt, Tốt, Khá (2 items fail), Kém (7 fail).
    # The clerk: Tốt (same), Khá (differs), unrated (not counted as differing), Trung bình (differs).
    fails2 = {**FULL, "minutes_complete": False, "followed_up": False}
    none = {n: False for n in checklist.ITEMS}
    _create(db, ids["c1"], "2025-04-30", FULL, present=26, rating="tot")
    _create(db, ids["c1"], "2025-05-30", FULL, present=26, rating="kha")
    _create(db, ids["c2"], "2025-04-10", fails2, present=26)
    _create(db, ids["c2"], "2025-05-10", none, present=26, rating="trung_binh")
    _create(db, ids["c1"], "2025-06-30", rating="kem")  # no checklist: not in the figure
    _create(db, ids["c2"], "2025-07-10", FULL, present=26, rating="kem")  # Q3: outside the period
    fig = metrics.checklist_ratings(db, "2025-Q2", today=TODAY)
    assert (fig["meetings"], fig["differs"], fig["share"]) == (4, 2, 0.5)
    assert fig["crosstab"] == [
        {"proposed": "tot", "tot": 1, "kha": 1, "trung_binh": 0, "kem": 0, "unrated": 0, "meetings": 2},
        {"proposed": "kha", "tot": 0, "kha": 0, "trung_binh": 0, "kem": 0, "unrated": 1, "meetings": 1},
        {"proposed": "kem", "tot": 0, "kha": 0, "trung_binh": 1, "kem": 0, "unrated": 0, "meetings": 1}]
    assert metrics.checklist_ratings(db, "2024", today=TODAY)["meetings"] == 0


def test_excused_streak_from_the_marks_is_a_12hd_criterion(db, ids):
    # Member A is excused at the four meetings of Jan–Apr 2025 (exempt in February: skipped); B is excused at
    # the March and April ones only. At April's meeting A has 3 excused marks in a row (Jan, Mar, Apr): not more
    # than 3; with May's excused too A has 4 → the criterion fails, counted once (B has 2).
    db.execute("insert into members(id, code, full_name) values (1, 'A', 'Nguyễn Văn A'), (2, 'B', 'Lê Thị B')")
    db.execute("insert into member_cells(member_id, cell_id, valid_from) values (1, ?, '2020-01-01'), "
               "(2, ?, '2020-01-01')", [ids["c1"], ids["c1"]])
    db.execute("insert into member_exemptions(member_id, valid_from, valid_to) values (1, '2025-02-01', '2025-02-28')")
    # and 26 members present at every meeting, so the counts the marks give are those of the meetings created
    for n in range(3, 29):
        db.execute("insert into members(id, code, full_name) values (?, ?, ?)", [n, f"P{n}", f"Đảng viên {n}"])
        db.execute("insert into member_cells(member_id, cell_id, valid_from) values (?, ?, '2020-01-01')",
                   [n, ids["c1"]])
    days = ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]
    a_marks = ["excused", "exempt", "excused", "excused", "excused"]
    b_marks = ["present", "present", "present", "excused", "excused"]
    mids = []
    for day, a, b in zip(days, a_marks, b_marks, strict=True):
        mid = _create(db, ids["c1"], day, present=26)
        db.execute("insert into attendance_marks(meeting_id, member_id, status) values (?, 1, ?), (?, 2, ?)",
                   [mid, a, mid, b])
        db.conn.executemany("insert into attendance_marks(meeting_id, member_id, status) values (?, ?, 'present')",
                            [(mid, n) for n in range(3, 29)])
        mids.append(mid)
    assert checklist.excused_streaks(db, mids[3], 3) == 0
    assert checklist.excused_streaks(db, mids[4], 3) == 1
    assert checklist.excused_streaks(db, mids[4], 1) == 2  # A: 4 in a row, B: 2 (April, May)
    for mid in mids[3:]:
        m = meetings.read(db, SYSTEM, mid)
        meetings.update(db, SYSTEM, mid, {"checklist": FULL}, version=m["version"], today=TODAY)
    assert checklist.get(db, mids[3])["proposed_rating"] == "tot"
    assert checklist.get(db, mids[4])["proposed_rating"] == "kha"
    reasons = checklist.propose(db, meetings.get(db, mids[4]), FULL).reasons
    assert [(r.key, r.params["count"]) for r in reasons] == [("excused_streak", 1)]
    # A meeting where nobody is excused has no run to judge.
    assert checklist.excused_streaks(db, _create(db, ids["c1"], "2026-01-31", present=26), 0) == 0
