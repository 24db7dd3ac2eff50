"""Members per cell (issue 12): create, edit, transfer, end, exemptions; history kept, audited, refused by field."""

import json

import pytest

from lib import db as dbm
from lib import directory, members
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from tests.factories import small_directory
from tests.helpers import make_user


@pytest.fixture
def world(db_path):
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        ids["c3"] = directory.create_cell(db, SYSTEM, {"code": "NL-TH", "unit_id": ids["u1"], "name": "Chi bộ ấp Thạnh",
                                                       "cell_type": "ap_khom", "meeting_day": 5,
                                                       "valid_from": "2020-01-01"})
    return ids


def add(db, cell_id, code="DV1", name="Lê Văn Ba", admitted="2020-03-01", official="2021-03-01", joined="2025-07-01"):
    return members.create(db, SYSTEM, {"code": code, "full_name": name, "admitted_on": admitted,
                                       "official_on": official}, cell_id, joined)


def fields(exc) -> list[tuple[str, str]]:
    return [(e.field, e.key) for e in exc.value.errors]


def test_create_puts_the_member_in_the_cell_from_the_day(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"], official=None)
        assert members.roster(db, world["c1"], "2025-06-30") == []
        (row,) = members.roster(db, world["c1"], "2025-07-01")
        assert (row["id"], row["code"], row["probationary"], row["exempt"]) == (mid, "DV1", True, False)
        got = members.get(db, SYSTEM, mid)
        assert [(c["cell_code"], c["valid_from"], c["valid_to"]) for c in got["cells"]] == [
            ("NL-CD", "2025-07-01", None)]


def test_refusals_name_the_field(db_path, world):
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            members.create(db, SYSTEM, {"code": "", "full_name": " ", "admitted_on": "31/02/2020"}, world["c1"])
        assert {f for f, _ in fields(exc)} == {"code", "full_name", "admitted_on"}
        with pytest.raises(ValidationError) as exc:
            add(db, world["c1"], admitted="2021-01-01", official="2020-12-31")
        assert fields(exc) == [("official_on", "official_before_admitted")]
        add(db, world["c1"])
        with pytest.raises(ValidationError) as exc:
            add(db, world["c2"])
        assert fields(exc) == [("code", "duplicate_code")]
        with pytest.raises(ValidationError) as exc:
            add(db, 999, code="DV9")
        assert fields(exc) == [("cell_id", "unknown_id")]
        # the message is in both languages and says what to do
        from lib.i18n import language
        err = ValidationError([exc.value.errors[0]])
        with language("en"):
            assert "choose" in str(ValidationError(err.errors))
        assert "chọn" in str(err)


def test_transfer_mid_month_counts_in_one_cell_only(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"])
        members.transfer(db, SYSTEM, mid, world["c3"], "2025-09-15", note="chuyển sinh hoạt")
        for day in ("2025-09-10", "2025-09-14", "2025-09-15", "2025-09-20"):
            old = [r["id"] for r in members.roster(db, world["c1"], day)]
            new = [r["id"] for r in members.roster(db, world["c3"], day)]
            assert len(old + new) == 1, day
        assert [r["id"] for r in members.roster(db, world["c1"], "2025-09-10")] == [mid]
        assert [r["id"] for r in members.roster(db, world["c3"], "2025-09-20")] == [mid]
        history = members.get(db, SYSTEM, mid)["cells"]
        assert [(c["cell_code"], c["valid_from"], c["valid_to"]) for c in history] == [
            ("NL-CD", "2025-07-01", "2025-09-14"), ("NL-TH", "2025-09-15", None)]
        # over the month, both cells list the member with the dates of their time there
        sept = members.members_between(db, SYSTEM, world["c1"], "2025-09-01", "2025-09-30")
        assert [(r["code"], r["valid_to"]) for r in sept] == [("DV1", "2025-09-14")]


def test_memberships_never_overlap(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"])
        with pytest.raises(ValidationError) as exc:
            members.transfer(db, SYSTEM, mid, world["c3"], "2025-07-01")
        assert fields(exc) == [("valid_from", "transfer_before_joined")]
        with pytest.raises(ValidationError) as exc:
            members.transfer(db, SYSTEM, mid, world["c1"], "2025-08-01")
        assert fields(exc) == [("cell_id", "same_cell")]
        with pytest.raises(ValidationError) as exc:
            members.transfer(db, SYSTEM, mid, world["c3"], "")
        assert fields(exc) == [("valid_from", "required")]
        members.end_membership(db, SYSTEM, mid, "2025-10-31", note="chuyển ra ngoài huyện")
        assert members.roster(db, world["c1"], "2025-11-01") == []
        with pytest.raises(ValidationError) as exc:
            members.end_membership(db, SYSTEM, mid, "2025-12-31")
        assert fields(exc) == [("valid_to", "no_open_membership")]
        # joining again inside the time already spent in a cell overlaps it
        with pytest.raises(ValidationError) as exc:
            members.transfer(db, SYSTEM, mid, world["c3"], "2025-10-01")
        assert fields(exc) == [("valid_from", "membership_overlap")]
        members.transfer(db, SYSTEM, mid, world["c3"], "2026-01-01")
        cells = [(c["cell_code"], c["valid_from"], c["valid_to"], c["note"]) for c in members.memberships(db, mid)]
        assert cells == [("NL-CD", "2025-07-01", "2025-10-31", "chuyển ra ngoài huyện"),
                         ("NL-TH", "2026-01-01", None, None)]


def test_end_before_start_refused(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"])
        with pytest.raises(ValidationError) as exc:
            members.end_membership(db, SYSTEM, mid, "2025-06-30")
        assert fields(exc) == [("valid_to", "to_before_from")]


def test_exemptions_mark_the_roster_and_never_overlap(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"])
        eid = members.exempt(db, SYSTEM, mid, {"valid_from": "2025-08-01", "valid_to": "2025-12-31",
                                               "reason": "Tuổi cao, sức yếu", "decision_no": "12-QĐ/ĐU"})
        assert [r["exempt"] for r in members.roster(db, world["c1"], "2025-07-31")] == [False]
        assert [r["exempt"] for r in members.roster(db, world["c1"], "2025-08-01")] == [True]
        (row,) = members.members_on(db, SYSTEM, world["c1"], "2025-09-01")
        assert (row["exempt_reason"], row["exempt_decision"], row["since"]) == ("Tuổi cao, sức yếu", "12-QĐ/ĐU",
                                                                               "2025-07-01")
        with pytest.raises(ValidationError) as exc:
            members.exempt(db, SYSTEM, mid, {"valid_from": "2025-12-01", "reason": "Ốm"})
        assert fields(exc) == [("valid_from", "exemption_overlap")]
        with pytest.raises(ValidationError) as exc:
            members.exempt(db, SYSTEM, mid, {"valid_from": "2026-02-01", "valid_to": "2026-01-01"})
        assert set(fields(exc)) == {("reason", "required"), ("valid_to", "to_before_from")}
        members.update_exemption(db, SYSTEM, eid, {"valid_to": "2025-10-31"})
        members.exempt(db, SYSTEM, mid, {"valid_from": "2025-12-01", "reason": "Ốm"})
        assert [(e["valid_from"], e["valid_to"]) for e in members.exemptions(db, mid)] == [
            ("2025-08-01", "2025-10-31"), ("2025-12-01", None)]


def test_every_change_is_audited_with_before_and_after(db_path, world):
    with dbm.write(db_path) as db:
        start = db.execute("select max(id) from audit_log").fetchone()[0]
        mid = add(db, world["c1"])
        version = members.version_of(db, members.get(db, SYSTEM, mid))
        members.update(db, SYSTEM, mid, {"full_name": "Lê Văn Bá"}, version=version)
        members.transfer(db, SYSTEM, mid, world["c3"], "2025-09-15")
        members.exempt(db, SYSTEM, mid, {"valid_from": "2025-10-01", "reason": "Ốm"})
        members.end_membership(db, SYSTEM, mid, "2025-12-31")
        log = [dict(r) for r in db.query("select * from audit_log where id > ? order by id", [start])]
    assert [(r["action"], r["table_name"]) for r in log] == [
        ("create", "members"), ("create", "member_cells"), ("update", "members"), ("update", "member_cells"),
        ("create", "member_cells"), ("create", "member_exemptions"), ("update", "member_cells")]
    rename = log[2]
    assert (json.loads(rename["before_json"])["full_name"], json.loads(rename["after_json"])["full_name"]) == (
        "Lê Văn Ba", "Lê Văn Bá")
    assert json.loads(log[3]["after_json"])["valid_to"] == "2025-09-14"
    assert all(r["username"] == "system" for r in log)


def test_a_stale_edit_is_refused(db_path, world):
    with dbm.write(db_path) as db:
        mid = add(db, world["c1"])
        old = members.version_of(db, members.get(db, SYSTEM, mid))
        members.update(db, SYSTEM, mid, {"full_name": "Lê Văn Bá"})
        with pytest.raises(ValidationError) as exc:
            members.update(db, SYSTEM, mid, {"full_name": "Lê Văn Bả"}, version=old)
        assert fields(exc) == [("record", "changed_since")]


def test_viewers_never_write_and_clerks_write_only_in_scope(db_path, world):
    make_user(db_path, "xem", "viewer")
    make_user(db_path, "thuky_nl", "clerk", [world["u1"]])
    make_user(db_path, "thuky_dp", "clerk", [world["u2"]])
    from lib.users import actor_for
    with dbm.write(db_path) as db:
        viewer, nl, dp = (actor_for(db, u) for u in ("xem", "thuky_nl", "thuky_dp"))
        with pytest.raises(PermissionDenied) as denied:
            members.create(db, viewer, {"code": "X", "full_name": "X", "admitted_on": "2020-01-01"}, world["c1"])
        assert denied.value.key == "read_only"
        mid = members.create(db, nl, {"code": "DV1", "full_name": "Lê Văn Ba", "admitted_on": "2020-01-01"},
                             world["c1"], "2025-07-01")
        with pytest.raises(PermissionDenied) as denied:
            members.create(db, dp, {"code": "DV2", "full_name": "X", "admitted_on": "2020-01-01"}, world["c1"])
        assert denied.value.key == "members_out_of_scope"
        for write in (lambda a: members.update(db, a, mid, {"full_name": "Y"}),
                      lambda a: members.exempt(db, a, mid, {"valid_from": "2025-08-01", "reason": "Ốm"}),
                      lambda a: members.end_membership(db, a, mid, "2025-12-31")):
            with pytest.raises(PermissionDenied):
                write(dp)
            with pytest.raises(PermissionDenied):
                write(viewer)
            with pytest.raises(PermissionDenied):
                write(None)
        # a transfer to another commune: the clerk of the old commune alone may not, nor the new one's; an admin may
        with pytest.raises(PermissionDenied) as denied:
            members.transfer(db, nl, mid, world["c2"], "2025-09-15")
        assert denied.value.key == "members_out_of_scope"
        with pytest.raises(PermissionDenied) as denied:
            members.transfer(db, dp, mid, world["c2"], "2025-09-15")
        assert denied.value.key == "members_transfer_out_of_scope"
        assert "quản trị viên" in denied.value.message
        members.transfer(db, nl, mid, world["c3"], "2025-09-15")  # within the commune: the clerk may
        members.transfer(db, SYSTEM, mid, world["c2"], "2025-10-15")
        assert [r["id"] for r in members.roster(db, world["c2"], "2025-10-20")] == [mid]


# ---- the demo: one commune's members from 1/7/2025 and marks that agree with every meeting's counts ----------

DEMO_TODAY = __import__("datetime").date(2026, 6, 30)
MEETING_COLUMNS = "id, cell_id, held_on, mtype, members_total, members_exempt, present, absent_excused, " \
                  "absent_unexcused, score, rating"


@pytest.fixture(scope="module")
def demo_dbs(tmp_path_factory):
    from lib import demo

    path = tmp_path_factory.mktemp("demo_members")
    with_members = path / "with.db"
    demo.load(with_members, today=DEMO_TODAY)
    without = path / "without.db"
    saved = demo._demo_members
    demo._demo_members = lambda db, rng: {}
    try:
        demo.load(without, today=DEMO_TODAY)
    finally:
        demo._demo_members = saved
    return with_members, without


def test_demo_members_keep_every_meeting_figure(demo_dbs):
    with_members, without = demo_dbs
    with dbm.read(with_members) as a, dbm.read(without) as b:
        sql = f"select {MEETING_COLUMNS} from meetings order by id"
        assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
        assert a.execute("select count(*) from weaknesses").fetchone() == b.execute(
            "select count(*) from weaknesses").fetchone()
        assert b.execute("select count(*) from members").fetchone()[0] == 0


def test_demo_marks_equal_the_counts_and_the_roster(demo_dbs):
    with_members, _ = demo_dbs
    with dbm.read(with_members) as db:
        units = {r[0] for r in db.execute("select distinct u.code from attendance_marks a join meetings m "
                                          "on m.id = a.meeting_id join cells c on c.id = m.cell_id "
                                          "join units u on u.id = c.unit_id")}
        assert units == {"NHILONG25"}
        assert db.execute("select min(m.held_on) from attendance_marks a join meetings m on m.id = a.meeting_id"
                          ).fetchone()[0] >= "2025-07-01"
        off = db.execute("""
            select count(*) from meetings m join (
              select meeting_id, count(*) total, sum(status = 'exempt') exempt, sum(status = 'present') present,
                     sum(status = 'excused') excused, sum(status = 'unexcused') unexcused
              from attendance_marks group by meeting_id) k on k.meeting_id = m.id
            where (m.members_total, m.members_exempt, m.present, m.absent_excused, m.absent_unexcused)
                  != (k.total, k.exempt, k.present, k.excused, k.unexcused)""").fetchone()[0]
        assert off == 0
        marked = list(db.query("select distinct m.id, m.cell_id, m.held_on from meetings m "
                               "join attendance_marks a on a.meeting_id = m.id"))
        assert len(marked) > 100
        for r in marked[::7]:
            listed = {x["id"]: x["exempt"] for x in members.roster(db, r["cell_id"], r["held_on"])}
            marks = {x[0]: x[1] == "exempt" for x in db.execute(
                "select member_id, status from attendance_marks where meeting_id = ?", [r["id"]])}
            assert listed == marks, r
        sizes = [r[0] for r in db.execute("select count(*) from member_cells where valid_from = '2025-07-01' "
                                          "group by cell_id")]
        assert min(sizes) >= 5 and db.execute("select count(*) from members where official_on is null "
                                              "or official_on > '2025-07-01'").fetchone()[0] >= 2
        assert db.execute("select count(*) from member_exemptions").fetchone()[0] >= 2


def test_demo_has_the_cases_a_flags_page_shows(demo_dbs):
    with_members, _ = demo_dbs
    with dbm.read(with_members) as db:
        art8 = db.execute("""
            select a.member_id from attendance_marks a join meetings m on m.id = a.meeting_id
            where a.status = 'unexcused' group by a.member_id, substr(m.held_on, 1, 4)
            having count(distinct substr(m.held_on, 1, 7)) >= 3""").fetchall()
        assert art8
        # four meetings in a row of the member's cell, absent with reason at each
        streaks = 0
        for (member_id,) in db.execute("select distinct member_id from attendance_marks where status = 'excused'"):
            run = best = 0
            for (status,) in db.execute("select a.status from attendance_marks a join meetings m "
                                        "on m.id = a.meeting_id where a.member_id = ? order by m.held_on, m.id",
                                        [member_id]):
                run = run + 1 if status == "excused" else 0
                best = max(best, run)
            streaks += best >= 4
        assert streaks >= 1
        # a transfer mid-month between two of the commune's cells, never in both on one day
        moved = list(db.query("select a.member_id, a.cell_id old, a.valid_to, b.cell_id new, b.valid_from "
                              "from member_cells a join member_cells b on b.member_id = a.member_id "
                              "and b.valid_from = date(a.valid_to, '+1 day') and b.cell_id != a.cell_id"))
        assert [(r["valid_to"], r["valid_from"]) for r in moved] == [("2025-09-14", "2025-09-15")]
        (r,) = moved
        on_10 = [x["id"] for x in members.roster(db, r["old"], "2025-09-10")] + \
            [x["id"] for x in members.roster(db, r["new"], "2025-09-10")]
        on_20 = [x["id"] for x in members.roster(db, r["old"], "2025-09-20")] + \
            [x["id"] for x in members.roster(db, r["new"], "2025-09-20")]
        assert on_10.count(r["member_id"]) == on_20.count(r["member_id"]) == 1


def test_the_page_adds_and_transfers_a_member(db_path, world):
    from datetime import date

    from tests.helpers import page_test

    make_user(db_path, "thuky_nl", "clerk", [world["u1"]])
    at = page_test("pages/members.py", "thuky_nl")
    at.session_state["mem_on"] = date(2025, 9, 20)
    at.run()
    assert not at.exception
    at.selectbox(key="mem_cell_id").select(world["c1"])
    at.text_input(key="mem_add_code").input("DV7")
    at.text_input(key="mem_add_full_name").input("Phan Văn Bảy")
    at.date_input(key="mem_add_admitted_on").set_value(date(2015, 3, 3))
    at.date_input(key="mem_add_joined_cell_on").set_value(date(2025, 7, 1))
    next(b for b in at.button if b.label == "Thêm vào chi bộ").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with dbm.read(db_path) as db:
        mid = members.find_code(db, "DV7")
        assert [r["id"] for r in members.roster(db, world["c1"], "2025-09-20")] == [mid]
    at.selectbox(key="mem_move_member_id").select(mid)
    at.selectbox(key="mem_move_cell_id").select(world["c3"])
    at.date_input(key="mem_move_valid_from").set_value(date(2025, 9, 15))
    next(b for b in at.button if b.label == "Chuyển sinh hoạt").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with dbm.read(db_path) as db:
        assert [(c["cell_code"], c["valid_to"]) for c in members.memberships(db, mid)] == [
            ("NL-CD", "2025-09-14"), ("NL-TH", None)]
