import threading
from datetime import date

import pytest

from lib import assignments, audit, directory, meetings, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, ValidationError
from tests.factories import add_meeting, meeting, small_directory

TODAY = date(2025, 6, 15)


@pytest.fixture
def ids(db_path):
    return small_directory(db_path)


def count(path, table, where="1=1"):
    with dbm.read(path) as db:
        return db.execute(f"select count(*) from {table} where {where}").fetchone()[0]


def test_create_meeting_saves_leaders_and_audits(db_path, ids):
    mid = add_meeting(db_path, ids["c1"], "2025-04-30", leaders=[{"leader_id": ids["l1"],
                                                                  "report_submitted_on": "05/05/2025"}], score=91)
    with dbm.read(db_path) as db:
        m = meetings.get(db, mid)
        log = audit.entries(db, table_name="meetings")
    assert m["rating"] == "tot"  # derived from the score
    assert m["leaders"][0]["report_submitted_on"] == "2025-05-05"
    assert [(e["action"], e["row_id"]) for e in log] == [("create", str(mid))]


def test_second_regular_meeting_in_month_refused_and_nothing_written(db_path, ids):
    first = add_meeting(db_path, ids["c1"], "2025-04-30")
    with pytest.raises(ValidationError) as exc:
        add_meeting(db_path, ids["c1"], "2025-04-02")
    assert exc.value.errors[0].field == "held_on"
    assert str(first) in str(exc.value)
    assert count(db_path, "meetings") == 1
    # Another type in the same month is fine.
    add_meeting(db_path, ids["c1"], "2025-04-02", mtype="chuyen_de")
    assert count(db_path, "meetings") == 2


def test_update_validates_and_audits_before_after(db_path, ids):
    mid = add_meeting(db_path, ids["c1"], "2025-04-30")
    with dbm.write(db_path) as db:
        meetings.update(db, SYSTEM, mid, {"present": 20, "absent_excused": 8, "notes": "<script>x</script>"})
    with pytest.raises(ValidationError):
        with dbm.write(db_path) as db:
            meetings.update(db, SYSTEM, mid, {"present": 21})
    with dbm.read(db_path) as db:
        m = meetings.get(db, mid)
        entry = audit.entries(db, action="update", table_name="meetings")[0]
    assert (m["present"], m["absent_excused"], m["notes"]) == (20, 8, "<script>x</script>")
    assert '"present": 25' in entry["before_json"] and '"present": 20' in entry["after_json"]


def test_soft_delete_hides_and_restore_returns(db_path, ids):
    mid = add_meeting(db_path, ids["c1"], "2025-04-30")
    with dbm.write(db_path) as db:
        meetings.delete(db, SYSTEM, mid)
    with dbm.read(db_path) as db:
        assert meetings.list_meetings(db) == []
        assert [r["id"] for r in meetings.list_meetings(db, only_deleted=True)] == [mid]
    # A deleted regular meeting no longer blocks a new one in its month ...
    other = add_meeting(db_path, ids["c1"], "2025-04-29")
    # ... and restoring it then would duplicate the month, so it is refused.
    with pytest.raises(ValidationError):
        with dbm.write(db_path) as db:
            meetings.restore(db, SYSTEM, mid)
    with dbm.write(db_path) as db:
        meetings.delete(db, SYSTEM, other)
        meetings.restore(db, SYSTEM, mid)
    with dbm.read(db_path) as db:
        assert [r["id"] for r in meetings.list_meetings(db)] == [mid]


def test_set_report_rules(db_path, ids):
    mid = add_meeting(db_path, ids["c1"], "2025-04-30", leaders=[{"leader_id": ids["l1"]}])
    with pytest.raises(ValidationError) as exc:
        with dbm.write(db_path) as db:
            meetings.set_report(db, SYSTEM, mid, ids["l1"], "29/04/2025", today=TODAY)
    assert exc.value.errors[0].field == "report_submitted_on"
    with dbm.write(db_path) as db:
        meetings.set_report(db, SYSTEM, mid, ids["l1"], "02/05/2025", today=TODAY)
        assert meetings.get(db, mid)["leaders"][0]["report_submitted_on"] == "2025-05-02"


def test_unknown_leader_refused(db_path, ids):
    with pytest.raises(ValidationError) as exc:
        add_meeting(db_path, ids["c1"], "2025-04-30", leaders=[{"leader_id": 999}])
    assert exc.value.fields() == {"leaders_present"}
    assert count(db_path, "meetings") == 0


def test_list_meetings_filters_and_text_search(db_path, ids):
    add_meeting(db_path, ids["c1"], "2025-03-31", topics="Quán triệt Nghị quyết")
    add_meeting(db_path, ids["c2"], "2025-03-10", notes="vắng nhiều")
    add_meeting(db_path, ids["c2"], "2025-04-10")
    with dbm.read(db_path) as db:
        assert len(meetings.list_meetings(db, start="2025-03-01", end="2025-03-31")) == 2
        assert [r["cell_code"] for r in meetings.list_meetings(db, text="nghị quyết")] == ["NL-CD"]
        assert len(meetings.list_meetings(db, unit_ids=[ids["u2"]])) == 2
        assert [r["held_on"] for r in meetings.list_meetings(db, sort="held_on")][0] == "2025-03-10"


def test_weakness_lifecycle(db_path, ids):
    with dbm.write(db_path) as db:
        wid = weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "category": "xay_dung_dang",
                                             "description": "Chưa đi sâu", "noted_on": "2025-05-01",
                                             "due_on": "2025-06-01"}, today=TODAY)
        weaknesses.set_status(db, SYSTEM, wid, "in_progress", today=TODAY)
        with pytest.raises(ValidationError) as exc:
            weaknesses.set_status(db, SYSTEM, wid, "resolved", today=TODAY)
        assert exc.value.fields() == {"resolution"}
        weaknesses.set_status(db, SYSTEM, wid, "resolved", "Đã bổ sung nội dung", today=TODAY)
        row = weaknesses.list_weaknesses(db, today=TODAY)[0]
    assert (row["status"], row["resolved_on"], row["overdue"]) == ("resolved", "2025-06-15", 0)


def test_assignment_end_keeps_history(db_path, ids):
    with dbm.write(db_path) as db:
        assignments.end(db, SYSTEM, ids["a1"], "30/06/2025")
        assert assignments.list_assignments(db, on="2025-07-01") == []
        assert len(assignments.list_assignments(db, on="2025-06-30")) == 1
        assert len(assignments.list_assignments(db)) == 1


def test_directory_duplicate_code_and_merge(db_path, ids):
    with pytest.raises(ValidationError) as exc:
        with dbm.write(db_path) as db:
            directory.create_unit(db, SYSTEM, {"code": "NL", "name": "Trùng", "kind": "xa"})
    assert exc.value.fields() == {"code"}
    with dbm.write(db_path) as db:
        directory.merge_unit(db, SYSTEM, ids["u1"], ids["u2"], "2025-06-30")
        units = {u["code"]: u for u in directory.list_units(db)}
    assert units["NL"]["successor_code"] == "DP" and units["NL"]["valid_to"] == "2025-06-30"


def test_eight_threads_saving_at_once_lose_nothing(db_path):
    # 8 cells, one per thread; each thread saves 12 monthly meetings on its own connection.
    with dbm.write(db_path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "U", "name": "Xã U", "kind": "xa"})
        cells = [directory.create_cell(db, SYSTEM, {"code": f"C{i}", "unit_id": unit, "name": f"Ấp {i}",
                                                    "cell_type": "ap_khom", "meeting_day": 5})
                 for i in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(cell_id: int) -> None:
        try:
            barrier.wait()
            for month in range(1, 13):
                with dbm.write(db_path) as db:
                    meetings.create(db, SYSTEM, meeting(cell_id, f"2024-{month:02d}-05"))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in cells]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert count(db_path, "meetings") == 96
    assert count(db_path, "audit_log", "table_name = 'meetings'") == 96
    with dbm.read(db_path) as db:
        per_cell = db.execute("select count(distinct held_on) from meetings group by cell_id").fetchall()
    assert per_cell == [(12,)] * 8
