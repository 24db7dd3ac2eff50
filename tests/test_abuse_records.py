"""Issue 14, items 8 and 12 (records): lost updates refused with who and when; records read only within scope;
weaknesses linked only to a meeting of their own commune and cell; ?id= text that is no id answers 'not found'."""

import json
import sqlite3
import threading
from datetime import date

import pytest

from lib import assignments, audit, directory, i18n, meetings, store, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, Role, ValidationError
from tests.factories import add_meeting, meeting, small_directory
from tests.helpers import app_test, login, make_user

TODAY = date(2025, 6, 15)
CLERK_A = Actor("thuky_a", Role.CLERK)  # scope is read from the database: Nhị Long (u1)
CLERK_B = Actor("thuky_b", Role.CLERK)
ADMIN = Actor("quantri", Role.ADMIN)
VIEWER = Actor("xem", Role.VIEWER)
OUTSIDER = Actor("thuky_dp", Role.CLERK)  # a clerk of Đại Phước (u2)


class Clock:
    """audit.now_iso, set by hand: the time written in updated_at and in the audit log."""

    def __init__(self, monkeypatch):
        self.now = "2025-06-15T10:00:00"
        monkeypatch.setattr(audit, "now_iso", lambda: self.now)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def world(db_path, clock) -> dict:
    """small_directory (u1 Nhị Long with c1, u2 Đại Phước with c2) plus a second cell c1b of u1, a meeting in
    each of c1, c1b and c2 (l1 present at m1), a weakness of u1, and users: two clerks of u1, one of u2, an admin
    and a viewer."""
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        ids["c1b"] = directory.create_cell(db, SYSTEM, {"code": "NL-2", "unit_id": ids["u1"], "name": "Chi bộ ấp 2",
                                                        "cell_type": "ap_khom", "valid_from": "2020-01-01"})
        ids["m1"] = meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-04-30"), [{"leader_id": ids["l1"]}],
                                    today=TODAY)
        ids["m1b"] = meetings.create(db, SYSTEM, meeting(ids["c1b"], "2025-04-12"), today=TODAY)
        ids["m2"] = meetings.create(db, SYSTEM, meeting(ids["c2"], "2025-04-10"), today=TODAY)
        ids["w1"] = weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "category": "other",
                                                   "description": "Thiếu sổ ghi biên bản", "noted_on": "2025-04-30"},
                                      today=TODAY)
    make_user(db_path, "thuky_a", "clerk", [ids["u1"]])
    make_user(db_path, "thuky_b", "clerk", [ids["u1"]])
    make_user(db_path, "thuky_dp", "clerk", [ids["u2"]])
    make_user(db_path, "quantri", "admin")
    make_user(db_path, "xem", "viewer")
    return ids


def snapshot(path) -> dict[str, list]:
    """Every row of every table, to check that a refusal wrote nothing."""
    with dbm.read(path) as db:
        return {name: sorted(map(repr, db.execute(f"select * from [{name}]").fetchall()))
                for name in db.table_names()}


def write(path, fn, *args, **kwargs):
    with dbm.write(path) as db:
        return fn(db, *args, **kwargs)


def read(path, fn, *args, **kwargs):
    with dbm.read(path) as db:
        return fn(db, *args, **kwargs)


VI_STALE = ("Bản ghi này đã được {by} sửa lúc {time} ngày {day}; hãy tải lại trang rồi sửa lại. "
            "Những gì bạn vừa nhập chưa được lưu.")


# ---- item 8: the second of two edits of one loaded record is refused ----------------------------------------

def test_second_of_two_meeting_edits_is_refused_naming_who_and_when(db_path, world, clock):
    mid = world["m1"]
    tab_a = read(db_path, meetings.read, CLERK_A, mid)  # two tabs load the same meeting
    tab_b = read(db_path, meetings.read, CLERK_B, mid)
    assert tab_a["version"] == tab_b["version"]

    clock.now = "2025-06-15T10:32:05"
    write(db_path, meetings.update, CLERK_A, mid, {"notes": "Ghi chú của tab A"}, today=TODAY,
          version=tab_a["version"])
    after_first = read(db_path, meetings.get, mid)
    assert after_first["notes"] == "Ghi chú của tab A"
    before = snapshot(db_path)

    clock.now = "2025-06-15T10:40:00"
    with pytest.raises(ValidationError) as exc:
        write(db_path, meetings.update, CLERK_B, mid, {"notes": "Ghi chú của tab B", "present": 24,
                                                       "absent_excused": 4}, today=TODAY, version=tab_b["version"])
    [error] = exc.value.errors
    # Who and when come from the audit log entry of the first save; no field is named.
    assert str(error) == VI_STALE.format(by="thuky_a", time="10:32:05", day="15/06/2025")
    with i18n.language("en"):
        assert str(error) == ("This record was changed by thuky_a at 10:32:05 on 15/06/2025; reload the page "
                              "and make your change again. What you typed has not been saved.")
    assert snapshot(db_path) == before  # nothing written, not even to the audit log
    assert read(db_path, meetings.get, mid) == after_first

    # Reloaded, the second tab's change goes through on top of the first's.
    fresh = read(db_path, meetings.read, CLERK_B, mid)
    write(db_path, meetings.update, CLERK_B, mid, {"topics": "Nghị quyết"}, today=TODAY, version=fresh["version"])
    saved = read(db_path, meetings.get, mid)
    assert (saved["notes"], saved["topics"]) == ("Ghi chú của tab A", "Nghị quyết")


def test_a_report_date_entered_meanwhile_makes_the_meeting_form_stale(db_path, world, clock):
    # The meeting form carries the leaders' report dates too: a date entered on the Leader reports page
    # after the form was loaded must not be wiped by saving the form.
    mid, lid = world["m1"], world["l1"]
    loaded = read(db_path, meetings.read, CLERK_A, mid)
    clock.now = "2025-06-15T11:05:09"
    write(db_path, meetings.set_report, CLERK_B, mid, lid, "2025-05-03", today=TODAY)
    before = snapshot(db_path)
    with pytest.raises(ValidationError) as exc:
        write(db_path, meetings.update, CLERK_A, mid, {"notes": "x"}, [{"leader_id": lid}], today=TODAY,
              version=loaded["version"])
    assert str(exc.value.errors[0]) == VI_STALE.format(by="thuky_b", time="11:05:09", day="15/06/2025")
    assert snapshot(db_path) == before
    assert read(db_path, meetings.get, mid)["leaders"][0]["report_submitted_on"] == "2025-05-03"


def test_a_meeting_deleted_from_a_stale_page_is_refused(db_path, world, clock):
    mid = world["m1"]
    loaded = read(db_path, meetings.read, CLERK_A, mid)
    clock.now = "2025-06-15T09:15:00"
    write(db_path, meetings.update, CLERK_B, mid, {"notes": "bổ sung"}, today=TODAY)
    before = snapshot(db_path)
    with pytest.raises(ValidationError) as exc:
        write(db_path, meetings.delete, CLERK_A, mid, version=loaded["version"])
    assert str(exc.value.errors[0]) == VI_STALE.format(by="thuky_b", time="09:15:00", day="15/06/2025")
    assert snapshot(db_path) == before


def _weakness_status(db, actor, ids, version, text):
    return weaknesses.set_status(db, actor, ids["w1"], "in_progress", text, today=TODAY, version=version)


def _unit_name(db, actor, ids, version, text):
    return directory.update(db, actor, "units", ids["u1"], {"name": text}, version=version)


def _leader_name(db, actor, ids, version, text):
    return directory.update(db, actor, "leaders", ids["l2"], {"full_name": text}, version=version)


def _assignment_end(db, actor, ids, version, text):
    last = {"A": "2025-06-30", "B": "2025-07-31"}[text[-1]]
    return assignments.end(db, actor, ids["a1"], last, version=version)


def _report_date(db, actor, ids, version, text):
    day = {"A": "2025-05-02", "B": "2025-05-06"}[text[-1]]
    return meetings.set_report(db, actor, ids["m1"], ids["l1"], day, today=TODAY, version=version)


def _version(db, kind, ids):
    if kind == "weakness":
        return weaknesses.version_of(db, store.get(db, "weaknesses", ids["w1"]))
    if kind == "unit":
        return directory.version_of(db, "units", store.get(db, "units", ids["u1"]))
    if kind == "leader":
        return directory.version_of(db, "leaders", store.get(db, "leaders", ids["l2"]))
    if kind == "assignment":
        return assignments.version_of(db, store.get(db, "assignments", ids["a1"]))
    row = db.execute("select report_submitted_on from meeting_leaders where meeting_id = ? and leader_id = ?",
                     [ids["m1"], ids["l1"]]).fetchone()
    return meetings.report_version(ids["m1"], ids["l1"], row[0])


EDITS = {  # kind: (save function, acting users A and B, table and row whose log entry names the first save)
    "weakness": (_weakness_status, CLERK_A, CLERK_B),
    "unit": (_unit_name, ADMIN, Actor("quantri2", Role.ADMIN)),
    "leader": (_leader_name, ADMIN, Actor("quantri2", Role.ADMIN)),
    "assignment": (_assignment_end, ADMIN, Actor("quantri2", Role.ADMIN)),
    "report date": (_report_date, CLERK_A, CLERK_B),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_second_of_two_edits_is_refused_on_every_edit_form(db_path, world, clock, kind):
    save, first, second = EDITS[kind]
    make_user(db_path, "quantri2", "admin")
    version = read(db_path, _version, kind, world)  # both tabs load the same version
    clock.now = "2025-06-15T14:20:31"
    write(db_path, save, first, world, version, "Bản của A")
    after_first = snapshot(db_path)
    clock.now = "2025-06-15T14:25:00"
    with pytest.raises(ValidationError) as exc:
        write(db_path, save, second, world, version, "Bản của B")
    assert [str(e) for e in exc.value.errors] == [VI_STALE.format(by=first.username, time="14:20:31",
                                                                  day="15/06/2025")]
    assert snapshot(db_path) == after_first
    # With the current version the same save goes through.
    write(db_path, save, second, world, read(db_path, _version, kind, world), "Bản của B")
    assert snapshot(db_path) != after_first


def test_check_and_write_hold_the_write_lock_together(db_path, world, monkeypatch):
    # Called on a connection outside any transaction, the update still checks and writes in one transaction
    # that holds the write lock from its first read: while it validates, no other writer can get in.
    attempts = []
    real_check = meetings.check

    def check_while_another_writer_tries(*args, **kwargs):
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            attempts.append("got in")
        except sqlite3.OperationalError as exc:
            attempts.append(str(exc))
        finally:
            other.close()
        return real_check(*args, **kwargs)

    db = dbm.connect(db_path)
    try:
        version = meetings.read(db, CLERK_A, world["m1"])["version"]
        assert not db.conn.in_transaction
        monkeypatch.setattr(meetings, "check", check_while_another_writer_tries)
        meetings.update(db, CLERK_A, world["m1"], {"notes": "một giao dịch"}, today=TODAY, version=version)
        assert not db.conn.in_transaction
    finally:
        db.close()
    assert attempts == ["database is locked"]
    assert read(db_path, meetings.get, world["m1"])["notes"] == "một giao dịch"


def test_many_concurrent_saves_of_one_loaded_version_exactly_one_wins(db_path, world):
    # Eight tabs loaded the same version and save at once, each on its own connection: one save is written,
    # seven are refused, and the log holds one update.
    mid = world["m1"]
    version = read(db_path, meetings.read, CLERK_A, mid)["version"]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def tab(n: int) -> None:
        db = dbm.connect(db_path)
        try:
            barrier.wait(timeout=30)
            meetings.update(db, CLERK_A, mid, {"notes": f"tab {n}"}, today=TODAY, version=version)
            outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(exc.errors[0].key)
        finally:
            db.close()

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(outcomes) == ["changed_since"] * 7 + ["saved"]
    with dbm.read(db_path) as db:
        updates = db.execute("select after_json from audit_log where table_name = 'meetings' and action = 'update'"
                             ).fetchall()
    assert len(updates) == 1
    assert json.loads(updates[0][0])["notes"] == read(db_path, meetings.get, mid)["notes"]


def test_stale_notice_without_a_log_entry_still_refuses(db_path, world):
    # A row changed behind the app's back (no audit entry) is still refused, with the general message.
    loaded = read(db_path, meetings.read, ADMIN, world["m2"])
    with dbm.write(db_path) as db:
        db.execute("update meetings set notes = 'sửa tay' where id = ?", [world["m2"]])
    with pytest.raises(ValidationError) as exc:
        write(db_path, meetings.update, SYSTEM, world["m2"], {"notes": "x"}, today=TODAY, version=loaded["version"])
    assert str(exc.value.errors[0]) == ("Bản ghi này đã bị thay đổi sau khi bạn mở nó; hãy tải lại trang rồi sửa "
                                        "lại. Những gì bạn vừa nhập chưa được lưu.")


# ---- item 12: reading one record checks scope in lib ---------------------------------------------------------

@pytest.mark.parametrize("who, meeting, outcome", [
    (CLERK_A, "m1", "ok"),
    (CLERK_A, "m2", "read_out_of_scope"),        # another commune's meeting
    (OUTSIDER, "m1", "read_out_of_scope"),
    (OUTSIDER, "m2", "ok"),
    (Actor("thuky_a", Role.ADMIN, frozenset({1, 2})), "m2", "read_out_of_scope"),  # the claimed role is ignored
    (ADMIN, "m2", "ok"),
    (VIEWER, "m2", "ok"),                        # viewers read everything, as on the dashboards
    (Actor("ke_gian", Role.ADMIN), "m1", "inactive"),
    (Actor("system", Role.ADMIN), "m1", "inactive"),  # a forged system actor
])
def test_reading_a_meeting_checks_scope(db_path, world, who, meeting, outcome):
    if outcome == "ok":
        assert read(db_path, meetings.read, who, world[meeting])["id"] == world[meeting]
    else:
        with pytest.raises(PermissionDenied) as exc:
            read(db_path, meetings.read, who, world[meeting])
        assert exc.value.key == outcome
        # The refusal names no commune: nothing of the other commune is shown.
        assert "Đại Phước" not in exc.value.message and "Nhị Long" not in exc.value.message


# ---- item 12: a weakness is linked only to a meeting of its own commune and cell ------------------------------

@pytest.mark.parametrize("who", [CLERK_A, ADMIN])
def test_weakness_cannot_be_linked_to_another_communes_meeting(db_path, world, who):
    before = snapshot(db_path)
    with pytest.raises(ValidationError) as exc:
        write(db_path, weaknesses.create, who, {"unit_id": world["u1"], "cell_id": world["c1"],
                                                "meeting_id": world["m2"], "category": "other",
                                                "description": "Gắn vào buổi họp xã khác"}, today=TODAY)
    assert [(e.field, e.key) for e in exc.value.errors] == [("meeting_id", "meeting_other_unit")]
    assert str(exc.value.errors[0]) == ("Buổi sinh hoạt: buổi sinh hoạt này thuộc đơn vị khác với đơn vị đã chọn; "
                                        "hãy chọn buổi sinh hoạt của đúng đơn vị, hoặc để trống.")
    with pytest.raises(ValidationError) as exc:
        write(db_path, weaknesses.update, who, world["w1"], {"meeting_id": world["m2"]}, today=TODAY)
    assert [(e.field, e.key) for e in exc.value.errors] == [("meeting_id", "meeting_other_unit")]
    assert snapshot(db_path) == before


def test_weakness_cannot_be_linked_to_a_meeting_of_another_cell(db_path, world):
    before = snapshot(db_path)
    with pytest.raises(ValidationError) as exc:
        write(db_path, weaknesses.create, CLERK_A, {"unit_id": world["u1"], "cell_id": world["c1"],
                                                    "meeting_id": world["m1b"], "category": "other",
                                                    "description": "Sai chi bộ"}, today=TODAY)
    assert [(e.field, e.key) for e in exc.value.errors] == [("meeting_id", "meeting_other_cell")]
    assert snapshot(db_path) == before


def test_weakness_linked_only_by_another_communes_meeting_is_out_of_scope(db_path, world):
    before = snapshot(db_path)
    with pytest.raises(PermissionDenied) as exc:
        write(db_path, weaknesses.create, CLERK_A, {"meeting_id": world["m2"], "category": "other",
                                                    "description": "x"}, today=TODAY)
    assert exc.value.key == "out_of_scope"
    assert snapshot(db_path) == before


def test_weakness_linked_to_own_meeting_takes_its_commune_and_cell(db_path, world):
    wid = write(db_path, weaknesses.create, CLERK_A, {"meeting_id": world["m1b"], "category": "other",
                                                      "description": "Đúng chi bộ"}, today=TODAY)
    row = read(db_path, store.get, "weaknesses", wid)
    assert (row["unit_id"], row["cell_id"], row["meeting_id"]) == (world["u1"], world["c1b"], world["m1b"])
    # The meeting is later moved to the commune's other cell: the weakness's status can still be changed.
    write(db_path, meetings.update, CLERK_A, world["m1b"], {"cell_id": world["c1"], "held_on": "2025-03-31"},
          today=TODAY)
    write(db_path, weaknesses.set_status, CLERK_A, wid, "in_progress", today=TODAY)
    assert read(db_path, store.get, "weaknesses", wid)["status"] == "in_progress"


# ---- item 12: ids from user input ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("12", 12), (" 12 ", 12), ("007", 7), (12, 12), ("9223372036854775807", 2**63 - 1),
    ("9223372036854775808", None), (2**63, None), ("99999999999999999999999999", None), ("abc", None),
    ("-1", None), (-1, None), ("0", None), ("1e9", None), ("1.5", None), ("", None), (None, None), (True, None),
    ("١٢", None), ("12abc", None), ("0x1F", None), (1.0, None),
])
def test_parse_id(text, expected):
    assert store.parse_id(text) == expected


@pytest.mark.parametrize("raw", ["9223372036854775808", "abc", "-1", "1e9", "0", "99999999999999999999999"])
def test_reading_a_meeting_by_a_bad_id_is_not_found(db_path, world, raw):
    with pytest.raises(ValidationError) as exc:
        read(db_path, meetings.read, ADMIN, raw)
    assert [(e.field, e.key) for e in exc.value.errors] == [("id", "not_found")]
    with pytest.raises(ValidationError):
        read(db_path, store.get, "weaknesses", 2**63)  # no OverflowError from SQLite


# ---- the Records page ---------------------------------------------------------------------------------------

@pytest.fixture
def page_world(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "clerk1", "clerk", [ids["u1"]])
    make_user(db_path, "clerk2", "clerk", [ids["u1"]])
    make_user(db_path, "admin1", "admin")
    today = date.today()
    last_month = (today.replace(day=1) - date.resolution).replace(day=15)
    ids["m1"] = add_meeting(db_path, ids["c1"], last_month.isoformat(), topics="Quán triệt nghị quyết")
    ids["m3"] = add_meeting(db_path, ids["c2"], last_month.isoformat(), topics="Đại Phước", notes="bí mật")
    return ids


def open_records(db_path, username: str, query: dict | None = None):
    at = app_test(db_path)
    login(at, username, "Matkhau123")
    if query:
        at.query_params.update(query)
    at.switch_page("pages/records.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def notes_of(db_path, mid: int) -> str | None:
    with dbm.read(db_path) as db:
        return db.execute("select notes from meetings where id = ?", [mid]).fetchone()[0]


def test_records_page_second_tab_save_is_refused_and_can_reload(db_path, page_world):
    mid = page_world["m1"]
    tab_a = open_records(db_path, "clerk1", {"id": str(mid)})
    tab_b = open_records(db_path, "clerk2", {"id": str(mid)})
    tab_a.text_area(key="recs_e_notes").input("Tab A: đã bàn xong")
    tab_a.button(key="recs_save").click().run()
    assert notes_of(db_path, mid) == "Tab A: đã bàn xong"

    tab_b.text_area(key="recs_e_notes").input("Tab B: ghi đè")
    tab_b.button(key="recs_save").click().run()
    assert not tab_b.exception
    with dbm.read(db_path) as db:
        at = db.execute("select at from audit_log where action = 'update' and table_name = 'meetings'").fetchone()[0]
    expected = shown_stale(by="clerk1", time=at[11:19], day=f"{at[8:10]}/{at[5:7]}/{at[:4]}")
    assert expected in [e.value for e in tab_b.error]
    assert not [s for s in tab_b.success if "Đã lưu" in s.value]
    assert notes_of(db_path, mid) == "Tab A: đã bàn xong"
    # What tab B typed is still there; the warning offers to reload, which brings in tab A's save.
    assert tab_b.text_area(key="recs_e_notes").value == "Tab B: ghi đè"
    assert expected in [w.value for w in tab_b.warning]
    tab_b.button(key="recs_e_reload").click().run()
    assert tab_b.text_area(key="recs_e_notes").value == "Tab A: đã bàn xong"
    tab_b.text_area(key="recs_e_notes").input("Tab B: sau khi tải lại")
    tab_b.button(key="recs_save").click().run()
    assert notes_of(db_path, mid) == "Tab B: sau khi tải lại"


def test_records_page_clerk_cannot_open_another_communes_meeting(db_path, page_world):
    for how in ("link", "number"):
        if how == "link":
            at = open_records(db_path, "clerk1", {"id": str(page_world["m3"])})
        else:
            at = open_records(db_path, "clerk1")
            at.number_input(key="recs_open_id").set_value(page_world["m3"])
            at.button(key="recs_open_btn").click().run()
        assert ("Bản ghi này thuộc đơn vị không do bạn phụ trách nên bạn không xem được. "
                "Hãy chọn một bản ghi trong danh sách.") in [e.value for e in at.error]
        assert not [w for w in at.text_area if w.key == "recs_e_notes"]
        assert all("bí mật" not in x.value and "Đại Phước" not in x.value for x in list(at.text) + list(at.error))
    admin = open_records(db_path, "admin1", {"id": str(page_world["m3"])})
    assert admin.text_area(key="recs_e_notes").value == "bí mật"


@pytest.mark.parametrize("raw", ["9223372036854775808", "abc", "-1", "1e9", "0"])
def test_records_page_bad_id_in_link_shows_not_found(db_path, page_world, raw):
    at = open_records(db_path, "admin1", {"id": raw})
    assert "Mã số: không tìm thấy bản ghi; có thể đã bị xóa." in [e.value for e in at.error]
    assert not [w for w in at.text_area if w.key == "recs_e_notes"]
    # A good link after a bad one still opens its record.
    at.query_params["id"] = str(page_world["m1"])
    at.run()
    assert at.text_area(key="recs_e_topics").value == "Quán triệt nghị quyết"


def open_page(db_path, username: str, page: str):
    at = app_test(db_path)
    login(at, username, "Matkhau123")
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown_stale(**params: str) -> str:
    """The stale-record refusal as a page renders it: its values Markdown-escaped (08\\:57 shows 08:57)."""
    from lib.ui import md_escape

    return VI_STALE.format(**{k: md_escape(v) for k, v in params.items()})


def last_update_time(db_path, table: str) -> tuple[str, str]:
    with dbm.read(db_path) as db:
        at = db.execute("select at from audit_log where action = 'update' and table_name = ? order by id desc",
                        [table]).fetchone()[0]
    return at[11:19], f"{at[8:10]}/{at[5:7]}/{at[:4]}"


def test_weaknesses_page_second_tab_status_change_is_refused(db_path, page_world):
    with dbm.write(db_path) as db:
        wid = weaknesses.create(db, SYSTEM, {"unit_id": page_world["u1"], "category": "other",
                                             "description": "Thiếu sổ ghi biên bản"})
    tab_a = open_page(db_path, "clerk1", "weaknesses")
    tab_b = open_page(db_path, "clerk2", "weaknesses")
    tab_a.text_area(key="weak_u_resolution").input("A: đã giao chi ủy bổ sung sổ")
    tab_a.button(key="weak_u_save").click().run()
    tab_b.text_area(key="weak_u_resolution").input("B: ghi đè")
    tab_b.button(key="weak_u_save").click().run()
    time, day = last_update_time(db_path, "weaknesses")
    assert shown_stale(by="clerk1", time=time, day=day) in [e.value for e in tab_b.error]
    with dbm.read(db_path) as db:
        assert store.get(db, "weaknesses", wid)["resolution"] == "A: đã giao chi ủy bổ sung sổ"


def test_directory_page_second_tab_edit_is_refused(db_path, page_world):
    make_user(db_path, "admin2", "admin")
    tab_a = open_page(db_path, "admin1", "directory")
    tab_b = open_page(db_path, "admin2", "directory")
    for at in (tab_a, tab_b):  # the leaders' tab and its edit section opened (only those are drawn)
        at.session_state["dir_tabs"] = i18n.t("page.directory.tab_leaders")
        at.session_state["dir_box_le"] = True
        at.run()
    tab_a.text_input(key="dir_le_full_name").input("Nguyễn Văn An (A)")
    tab_a.button(key="dir_le_save").click().run()
    tab_b.text_input(key="dir_le_position").input("Bí thư")
    tab_b.button(key="dir_le_save").click().run()
    time, day = last_update_time(db_path, "leaders")
    assert shown_stale(by="admin1", time=time, day=day) in [e.value for e in tab_b.error]
    with dbm.read(db_path) as db:
        leader = store.get(db, "leaders", page_world["l1"])
    assert (leader["full_name"], leader["position"]) == ("Nguyễn Văn An (A)", "Phó Bí thư")
