"""Attendance marks by member (issue 12): counts derived from marks, checked against the roster, audited,
versioned, kept with a deleted meeting, read only in scope; figures of count-only databases unchanged."""

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import db as dbm
from lib import directory, importer, meetings, metrics
from lib.domain import SYSTEM, Actor, PermissionDenied, Role, ValidationError
from tests.factories import meeting, small_directory

TODAY = date(2025, 12, 31)
REPO = Path(__file__).resolve().parent.parent


def add_member(db, code: str, name: str, cell_id: int, valid_from: str = "2020-01-01", valid_to=None,
               exempt_from: str | None = None, exempt_to: str | None = None) -> int:
    """A member in a cell from valid_from (to valid_to), exempt from meetings between the exempt dates if given."""
    db.execute("insert into members (code, full_name, admitted_on, official_on) values (?, ?, ?, ?)",
               [code, name, "2010-01-01", "2011-01-01"])
    member_id = db.execute("select id from members where code = ?", [code]).fetchone()[0]
    db.execute("insert into member_cells (member_id, cell_id, valid_from, valid_to) values (?, ?, ?, ?)",
               [member_id, cell_id, valid_from, valid_to])
    if exempt_from:
        db.execute("insert into member_exemptions (member_id, valid_from, valid_to, reason) values (?, ?, ?, ?)",
                   [member_id, exempt_from, exempt_to, "tuổi cao"])
    return member_id


@pytest.fixture
def cell(db_path):
    """Cell c1 (commune NL) with five members on 2025-03-31: An, Bình, Cường, Dũng and Em (Em exempt from 2025);
    Phúc joins on 2025-05-01; Giang is in cell c2 (commune DP)."""
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        ids["m"] = {
            "A": add_member(db, "A01", "An", ids["c1"]),
            "B": add_member(db, "B01", "Bình", ids["c1"]),
            "C": add_member(db, "C01", "Cường", ids["c1"]),
            "D": add_member(db, "D01", "Dũng", ids["c1"]),
            "E": add_member(db, "E01", "Em", ids["c1"], exempt_from="2025-01-01"),
            "F": add_member(db, "F01", "Phúc", ids["c1"], valid_from="2025-05-01"),
            "G": add_member(db, "G01", "Giang", ids["c2"]),
        }
    return ids


def _base(cell_id: int, held_on: str, **extra) -> dict:
    return {"cell_id": cell_id, "held_on": held_on, "mtype": extra.pop("mtype", "thuong_ky"),
            "duration_minutes": 90, **extra}


def _counts(db, meeting_id: int) -> tuple:
    return db.execute("select members_total, members_exempt, present, absent_excused, absent_unexcused "
                      "from meetings where id = ?", [meeting_id]).fetchone()


def _marks(db, meeting_id: int) -> dict:
    return {r[0]: (r[1], r[2]) for r in db.execute(
        "select mb.code, am.status, am.reason from attendance_marks am join members mb on mb.id = am.member_id "
        "where am.meeting_id = ?", [meeting_id])}


def _errors(exc) -> set[tuple[str, str]]:
    return {(e.field, e.key) for e in exc.value.errors}


# ---- derived counts --------------------------------------------------------------------------------

def test_counts_are_derived_from_the_marks(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={m["B"]: {"status": "excused", "reason": "ốm"}, m["C"]: "unexcused"})
        # roster on 31/03: An, Bình, Cường, Dũng, Em (exempt); Phúc not yet. 5 total, 1 exempt, 2 present.
        assert _counts(db, mid) == (5, 1, 2, 1, 1)
        assert _marks(db, mid) == {"A01": ("present", None), "B01": ("excused", "ốm"),
                                   "C01": ("unexcused", None), "D01": ("present", None), "E01": ("exempt", None)}
        # the sum rule of DESIGN: 2 + 1 + 1 = 5 - 1
        mid2 = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-06-30"), today=TODAY,
                               marks=[{"member_id": m["A"], "status": "unexcused"},
                                      {"member_id": m["F"], "status": "excused", "reason": "đi công tác"},
                                      {"member_id": m["D"], "status": "present", "reason": "left over"}])
        # on 30/06 Phúc is in: 6 total, 1 exempt, present Bình, Cường, Dũng = 3, 1 excused, 1 unexcused
        assert _counts(db, mid2) == (6, 1, 3, 1, 1)
        assert _marks(db, mid2)["D01"] == ("present", None)  # a reason on a present mark is dropped


def test_an_exempt_member_who_came_still_counts_as_exempt(db_path, cell):
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={cell["m"]["E"]: "present"})
        assert _counts(db, mid) == (5, 1, 4, 0, 0)
        assert _marks(db, mid)["E01"] == ("present", None)  # the mark says she came; the counts leave her out


def test_marks_naming_someone_outside_the_roster_are_refused_by_member(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                            marks={m["F"]: "excused", m["G"]: "present"})
        assert _errors(exc) == {("marks", "member_not_in_cell")}
        text = str(exc.value)
        assert "Phúc (F01)" in text and "Giang (G01)" in text and "31/03/2025" in text
        assert db.execute("select count(*) from meetings").fetchone()[0] == 0
        assert db.execute("select count(*) from attendance_marks").fetchone()[0] == 0


def test_exempt_marks_follow_the_exemption(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                            marks={m["E"]: "unexcused", m["A"]: "exempt", m["B"]: "late"})
        assert [e.key for e in exc.value.errors] == ["exempt_member_absent", "not_exempt_that_day", "bad_mark"]
        # before 2025 Em was not exempt: her absence counts
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2024-12-31"), today=TODAY,
                              marks={m["E"]: "unexcused"})
        assert _counts(db, mid) == (5, 0, 4, 0, 1)


def test_counts_typed_with_marks_cannot_disagree(db_path, cell):
    m = cell["m"]
    marks = {m["B"]: "excused"}
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31", members_total=5, present=4,
                                              absent_excused=0, absent_unexcused=0), today=TODAY, marks=marks)
        assert _errors(exc) == {("present", "count_disagrees_with_marks"),
                                ("absent_excused", "count_disagrees_with_marks")}
        assert "theo điểm danh là 3" in str(exc.value)
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31", members_total=5, members_exempt=1,
                                                present=3, absent_excused=1, absent_unexcused=0),
                              today=TODAY, marks=marks)
        assert _counts(db, mid) == (5, 1, 3, 1, 0)


def test_a_cell_without_members_keeps_the_count_entry(db_path, cell):
    with dbm.write(db_path) as db:
        c3 = directory.create_cell(db, SYSTEM, {"code": "NL-B", "unit_id": cell["u1"], "name": "Chi bộ ấp B",
                                                "cell_type": "ap_khom", "meeting_day": 15,
                                                "valid_from": "2020-01-01"})
        mid = meetings.create(db, SYSTEM, meeting(c3, "2025-03-15", present=20), today=TODAY, marks={})
        assert _counts(db, mid) == (30, 2, 20, 8, 0)
        assert "marks" not in meetings.get(db, mid)
        with pytest.raises(ValidationError) as exc:
            meetings.create(db, SYSTEM, meeting(c3, "2025-04-15"), today=TODAY, marks={cell["m"]["A"]: "present"})
        assert _errors(exc) == {("marks", "member_not_in_cell")}
        # no marks given on a cell with members: a count meeting, as before
        mid = meetings.create(db, SYSTEM, meeting(cell["c1"], "2025-01-31"), today=TODAY)
        assert _counts(db, mid) == (30, 2, 25, 3, 0) and not _marks(db, mid)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(st.sampled_from(["present", "excused", "unexcused", None]), min_size=4, max_size=4),
       em=st.sampled_from(["present", "exempt", None]))
def test_property_derived_counts_meet_the_sum_rule(db_path, cell, statuses, em):
    m = cell["m"]
    marks = {m[k]: s for k, s in zip("ABCD", statuses, strict=True) if s is not None}
    if em is not None:
        marks[m["E"]] = em
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-20", mtype="chuyen_de"), today=TODAY,
                              marks=marks)
        total, exempt, present, excused, unexcused = _counts(db, mid)
        assert present + excused + unexcused == total - exempt
        assert (total, exempt) == (5, 1)
        given_ = [s or "present" for s in statuses]
        assert (present, excused, unexcused) == (given_.count("present"), given_.count("excused"),
                                                 given_.count("unexcused"))
        assert len(_marks(db, mid)) == 5


# ---- editing, audit, version, delete ---------------------------------------------------------------

def test_update_rederives_audits_and_versions_the_marks(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={m["B"]: "excused"})
        created = json.loads(db.execute("select after_json from audit_log where table_name = 'meetings' "
                                        "and row_id = ? and action = 'create'", [str(mid)]).fetchone()[0])
        assert {(x["member_code"], x["status"]) for x in created["marks"]} >= {("B01", "excused")}
        v1 = meetings.read(db, SYSTEM, mid)["version"]
        meetings.update(db, SYSTEM, mid, {}, today=TODAY, version=v1,
                        marks={m["B"]: "excused", m["C"]: {"status": "unexcused", "reason": "không báo"}})
        assert _counts(db, mid) == (5, 1, 2, 1, 1)
        after = json.loads(db.execute("select after_json from audit_log where table_name = 'meetings' "
                                      "and action = 'update' order by id desc").fetchone()[0])
        assert ("C01", "unexcused", "không báo") in {(x["member_code"], x["status"], x["reason"])
                                                     for x in after["marks"]}
        # only the marks changed, yet the form's old version is refused
        v2 = meetings.read(db, SYSTEM, mid)["version"]
        assert v2 != v1
        with pytest.raises(ValidationError) as exc:
            meetings.update(db, SYSTEM, mid, {"notes": "x"}, today=TODAY, version=v1)
        assert _errors(exc) == {("record", "changed_since")}
        # editing the notes keeps the marks and their counts
        meetings.update(db, SYSTEM, mid, {"notes": "Ghi chú"}, today=TODAY, version=v2)
        assert _counts(db, mid) == (5, 1, 2, 1, 1) and _marks(db, mid)["C01"] == ("unexcused", "không báo")


def test_a_marked_meeting_goes_back_to_counts_only_when_the_marks_are_removed(db_path, cell):
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={cell["m"]["B"]: "excused"})
        counts = {"members_total": 30, "members_exempt": 2, "present": 25, "absent_excused": 3,
                  "absent_unexcused": 0}
        with pytest.raises(ValidationError) as exc:
            meetings.update(db, SYSTEM, mid, counts, today=TODAY)
        assert ("members_total", "count_disagrees_with_marks") in _errors(exc)
        assert _counts(db, mid) == (5, 1, 3, 1, 0)
        meetings.update(db, SYSTEM, mid, counts, today=TODAY, clear_marks=True)
        assert _counts(db, mid) == (30, 2, 25, 3, 0) and not _marks(db, mid)
        assert "marks" not in meetings.get(db, mid)


def test_moving_a_marked_meeting_to_a_day_its_members_were_not_in_is_refused(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-06-30"), today=TODAY,
                              marks={m["F"]: "excused"})
        with pytest.raises(ValidationError) as exc:
            meetings.update(db, SYSTEM, mid, {"held_on": "2025-03-31"}, today=TODAY)
        assert _errors(exc) == {("marks", "member_not_in_cell")} and "Phúc (F01)" in str(exc.value)


def test_a_deleted_meetings_marks_stay_but_count_nowhere(db_path, cell):
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={cell["m"]["C"]: "unexcused"})
        meetings.delete(db, SYSTEM, mid)
        assert len(_marks(db, mid)) == 5
        nl = next(r for r in metrics.compute(db, "2025-Q1")["attendance_by_unit"] if r["unit_code"] == "NL")
        assert (nl["meetings"], nl["present"], nl["absent_unexcused"]) == (0, 0, 0)
        meetings.restore(db, SYSTEM, mid)
        nl = next(r for r in metrics.compute(db, "2025-Q1")["attendance_by_unit"] if r["unit_code"] == "NL")
        assert (nl["meetings"], nl["present"], nl["absent_unexcused"], nl["required"]) == (1, 3, 1, 4)


# ---- figures ---------------------------------------------------------------------------------------

def test_exempt_members_never_in_the_denominator_of_a_quarter_by_marks(db_path, cell):
    """Q1 2025 of cell c1 by marks, Em exempt all quarter and coming twice anyway:
    Jan: Bình excused, Em present -> 3 present of 4; Feb: Cường unexcused, Dũng excused -> 2 of 4;
    Mar: everyone, Em present -> 4 of 4. Rate = 9 / 12 = 0.75 (with Em in the denominator it would be 11/15)."""
    m = cell["m"]
    with dbm.write(db_path) as db:
        for day, marks in (("2025-01-31", {m["B"]: "excused", m["E"]: "present"}),
                           ("2025-02-28", {m["C"]: "unexcused", m["D"]: "excused"}),
                           ("2025-03-31", {m["E"]: "present"})):
            meetings.create(db, SYSTEM, _base(cell["c1"], day), today=TODAY, marks=marks)
        nl = next(r for r in metrics.compute(db, "2025-Q1")["attendance_by_unit"] if r["unit_code"] == "NL")
    assert (nl["meetings"], nl["required"], nl["present"], nl["absent_excused"], nl["absent_unexcused"]) == \
        (3, 12, 9, 2, 1)
    assert nl["rate"] == 0.75


def test_a_mixed_commune_gives_the_worked_out_rate(db_path, cell):
    """Commune NL in Q1 2025: cell c1 by marks (Jan: 3 of 4 present; Feb: 4 of 4) and cell NL-B by counts
    (Jan 20 of 28; Feb 25 of 28). Rate = (3 + 4 + 20 + 25) / (4 + 4 + 28 + 28) = 52 / 64 = 0.8125."""
    m = cell["m"]
    with dbm.write(db_path) as db:
        c3 = directory.create_cell(db, SYSTEM, {"code": "NL-B", "unit_id": cell["u1"], "name": "Chi bộ ấp B",
                                                "cell_type": "ap_khom", "meeting_day": 15,
                                                "valid_from": "2020-01-01"})
        meetings.create(db, SYSTEM, _base(cell["c1"], "2025-01-31"), today=TODAY, marks={m["A"]: "unexcused"})
        meetings.create(db, SYSTEM, _base(cell["c1"], "2025-02-28"), today=TODAY, marks={})
        meetings.create(db, SYSTEM, meeting(c3, "2025-01-15", present=20), today=TODAY)
        meetings.create(db, SYSTEM, meeting(c3, "2025-02-15", present=25), today=TODAY)
        nl = next(r for r in metrics.compute(db, "2025-Q1")["attendance_by_unit"] if r["unit_code"] == "NL")
    assert (nl["meetings"], nl["required"], nl["present"], nl["absent_unexcused"]) == (4, 64, 52, 1)
    assert nl["rate"] == 0.8125


# ---- scope -----------------------------------------------------------------------------------------

def test_out_of_scope_users_cannot_read_or_write_marks(db_path, cell):
    m = cell["m"]
    with dbm.write(db_path) as db:
        mid = meetings.create(db, SYSTEM, _base(cell["c1"], "2025-03-31"), today=TODAY,
                              marks={m["B"]: {"status": "excused", "reason": "ốm"}})
        for name, role, units in (("clerk_dp", "clerk", [cell["u2"]]), ("viewer_dp", "viewer", [cell["u2"]]),
                                  ("clerk_nl", "clerk", [cell["u1"]])):
            from lib import users
            users.create_user(db, SYSTEM, name, name, "Matkhau123!x", role, units)
        # users.py gives viewers no units (they see everything); one held to commune DP is the case to refuse
        db.execute("insert or ignore into user_units (username, unit_id) values ('viewer_dp', ?)", [cell["u2"]])
        clerk_dp = Actor("clerk_dp", Role.CLERK, frozenset({cell["u2"]}))
        viewer_dp = Actor("viewer_dp", Role.VIEWER, frozenset({cell["u2"]}))
        clerk_nl = Actor("clerk_nl", Role.CLERK, frozenset({cell["u1"]}))
        # reading
        for actor in (clerk_dp, viewer_dp, None):
            with pytest.raises(PermissionDenied):
                meetings.marks_of(db, actor, mid)
        with pytest.raises(PermissionDenied):
            meetings.read(db, clerk_dp, mid)
        seen = meetings.read(db, viewer_dp, mid)  # a viewer reads the meeting's counts, not who was absent
        assert seen["marks"] is None and seen["marks_hidden"] and "Bình" not in json.dumps(seen, ensure_ascii=False)
        assert [x["full_name"] for x in meetings.marks_of(db, clerk_nl, mid) if x["status"] == "excused"] == ["Bình"]
        assert meetings.read(db, clerk_nl, mid)["marks"][1]["reason"] == "ốm"
        # writing
        with pytest.raises(PermissionDenied):
            meetings.create(db, clerk_dp, _base(cell["c1"], "2025-04-30"), today=TODAY, marks={m["A"]: "excused"})
        with pytest.raises(PermissionDenied):
            meetings.update(db, clerk_dp, mid, {}, today=TODAY, marks={m["A"]: "excused"})
        with pytest.raises(PermissionDenied):
            meetings.update(db, viewer_dp, mid, {}, today=TODAY, marks={m["A"]: "excused"})
        assert _marks(db, mid)["A01"] == ("present", None)
        meetings.update(db, clerk_nl, mid, {}, today=TODAY, marks={m["A"]: "excused"})
        assert _counts(db, mid) == (5, 1, 3, 1, 0)


# ---- figures of count-only databases are main's ------------------------------------------------

FIGURES_SCRIPT = r"""
import json, sys
from datetime import date
from lib import demo, metrics
from lib import db as dbm
from lib.metrics import Filters
path, out = sys.argv[1], sys.argv[2]
today = date(2026, 11, 20)
demo.load(path, today=today)
with dbm.write(path) as db:
    # a database without member lists (should the demo gain them): marks and members go, counts stay
    for table in ("attendance_marks", "member_exemptions", "member_cells", "members"):
        if table in db.table_names():
            db.execute(f"delete from {table}")
result = {}
with dbm.read(path) as db:
    for period in ("2025", "2025-Q2", "2025-06", "2026-Q3"):
        result["metrics " + period] = json.dumps(metrics.compute(db, period), ensure_ascii=False, indent=2)
    for i, filters in enumerate((Filters(), Filters(rollup=True), Filters(cell_types=("co_quan",)))):
        for name in ("overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page"):
            result[f"{name} {i}"] = json.dumps(getattr(metrics, name)(db, "2025", filters, today),
                                               ensure_ascii=False)
open(out, "w").write(json.dumps(result))
"""


def _figures(code_dir: Path, tmp: Path, tag: str) -> dict:
    script = tmp / f"figures_{tag}.py"
    script.write_text(FIGURES_SCRIPT)
    out = tmp / f"figures_{tag}.json"
    env = {**os.environ, "PYTHONPATH": str(code_dir), "CHIBO_TESTING": "1"}
    subprocess.run([sys.executable, str(script), str(tmp / f"{tag}.db"), str(out)], check=True, env=env,
                   cwd=str(code_dir))
    return json.loads(out.read_text())


# The last commit of main before issue 12 (members, marks): its figures are the reference.
BEFORE_MEMBERS = "4dc4da952da39fbf0706626f59dabe3acd5dd549"


def test_figures_without_member_lists_are_byte_for_byte_mains(tmp_path):
    """metrics --json and the page bundles of the demo, computed by this code and by the code of the last commit
    before members and marks (issue 11's end, taken from git), are the same strings: the demo's members and marks
    (xã Nhị Long) follow its counts, and every other cell is held by counts."""
    assert shutil.which("git") is not None, "git is needed to take the earlier code (the set-up installs it)"
    ref = BEFORE_MEMBERS
    main_dir = tmp_path / "main"
    main_dir.mkdir()
    archive = subprocess.run(["git", "archive", ref, "lib", "db"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(main_dir)], input=archive.stdout, check=True)
    ours, theirs = _figures(REPO, tmp_path, "ours"), _figures(main_dir, tmp_path, "main")
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == theirs[key], key
    assert '"attendance_by_unit"' in ours["metrics 2025"]


def test_import_audit_and_get_agree_for_marked_meetings(db_path, cell):
    """Kept for the importer: its SQL-built audit entry of a meeting equals meetings.get of it (marks included)."""
    data = (b"cell_code,held_on,mtype,duration_minutes,absent_excused_members,absent_unexcused_members\n"
            b"NL-CD,2025-03-31,thuong_ky,90,B01,C01\n")
    with dbm.write(db_path) as db:
        result = importer.run(db, "meetings", data, "m.csv", SYSTEM, today=TODAY)
        assert result.written, [str(e) for e in result.errors]
        mid = result.ids[0]
        logged = json.loads(db.execute("select after_json from audit_log where table_name = 'meetings' "
                                       "and row_id = ?", [str(mid)]).fetchone()[0])
        assert logged == json.loads(json.dumps(meetings.get(db, mid), default=str))


# ---- meetings import ---------------------------------------------------------------------------------

def _import(db, text: str):
    return importer.run(db, "meetings", text.encode("utf-8"), "m.csv", SYSTEM, today=TODAY)


def test_import_derives_marks_from_the_absent_member_columns(db_path, cell):
    """Row 2: c1 on 31/03 with Bình excused and Cường unexcused, counts left out -> (5, 1, 2, 1, 1). Row 3: c1 on
    30/06 under the Vietnamese headers, counts typed and agreeing (Phúc in: 6 total, 1 exempt, 4 present, 1
    unexcused). Row 4: cell NL-B has no members: columns blank, counts typed, a count meeting."""
    with dbm.write(db_path) as db:
        c3 = directory.create_cell(db, SYSTEM, {"code": "NL-B", "unit_id": cell["u1"], "name": "Chi bộ ấp B",
                                                "cell_type": "ap_khom", "meeting_day": 15,
                                                "valid_from": "2020-01-01"})
        result = _import(db, "Mã chi bộ,Ngày sinh hoạt,Loại sinh hoạt,Tổng số đảng viên,Số miễn sinh hoạt,Số có mặt,"
                             "Vắng có lý do,Vắng không lý do,Đảng viên vắng có lý do,Đảng viên vắng không lý do\n"
                             "NL-CD,2025-03-31,thuong_ky,,,,,,B01,C01\n"
                             "NL-CD,2025-06-30,thuong_ky,6,1,4,0,1,,F01\n"
                             "NL-B,2025-03-15,thuong_ky,30,2,25,3,0,,\n")
        assert result.written, [str(e) for e in result.errors]
        a, b, c = result.ids
        assert _counts(db, a) == (5, 1, 2, 1, 1)
        assert _marks(db, a) == {"A01": ("present", None), "B01": ("excused", None), "C01": ("unexcused", None),
                                 "D01": ("present", None), "E01": ("exempt", None)}
        assert _counts(db, b) == (6, 1, 4, 0, 1) and _marks(db, b)["F01"] == ("unexcused", None)
        assert _counts(db, c) == (30, 2, 25, 3, 0) and not _marks(db, c)
        assert c3


def test_import_with_members_is_all_or_nothing_and_names_the_column(db_path, cell):
    with dbm.write(db_path) as db:
        result = _import(db, "cell_code,held_on,mtype,members_total,present,absent_excused,absent_unexcused,"
                             "absent_excused_members,absent_unexcused_members\n"
                             "NL-CD,2025-03-31,thuong_ky,5,3,1,0,B01,\n"        # fine: 5 total, 3 present, 1 excused
                             "NL-CD,2025-04-30,thuong_ky,5,4,0,0,B01,\n"        # counts disagree with the marks
                             "NL-CD,2025-05-31,thuong_ky,,,,,ZZ9,G01;E01\n"     # unknown code; other cell; exempt
                             "DP-LH,2025-03-10,thuong_ky,1,0,1,0,G01,\n")       # fine: Giang, alone in DP-LH, excused
        assert not result.written and result.ids == []
        got = {(e.row, e.field, e.message.split(" ")[0]) for e in result.errors}
        keys = {(e.row, e.field) for e in result.errors}
        assert (3, "present") in keys and (3, "absent_excused") in keys
        assert (4, "absent_excused_members") in keys and (4, "absent_unexcused_members") in keys
        assert not any(e.row in (2, 5) for e in result.errors), got
        text = "\n".join(str(e) for e in result.errors)
        assert "ZZ9" in text and "Giang (G01)" in text and "Em (E01)" in text
        assert db.execute("select count(*) from meetings").fetchone()[0] == 0
        assert db.execute("select count(*) from attendance_marks").fetchone()[0] == 0


def test_import_member_columns_must_be_blank_for_a_cell_without_members(db_path, cell):
    with dbm.write(db_path) as db:
        directory.create_cell(db, SYSTEM, {"code": "NL-B", "unit_id": cell["u1"], "name": "Chi bộ ấp B",
                                           "cell_type": "ap_khom", "meeting_day": 15, "valid_from": "2020-01-01"})
        result = _import(db, "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,"
                             "absent_unexcused,absent_excused_members\n"
                             "NL-B,2025-03-15,thuong_ky,30,2,25,3,0,A01\n")
        assert [(e.row, e.field) for e in result.errors] == [(2, "absent_excused_members")]
        assert "chưa có danh sách đảng viên" in str(result.errors[0])


def test_the_template_carries_the_absent_member_columns():
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(importer.template_xlsx("meetings")))
    headers = [c.value for c in wb.worksheets[0][1]]
    at = headers.index("Đảng viên vắng có lý do")
    assert headers[at:at + 2] == ["Đảng viên vắng có lý do", "Đảng viên vắng không lý do"]
    columns = {r[0].value: r for r in wb.worksheets[1].iter_rows(min_row=2)}
    assert "dấu ;" in columns["absent_unexcused_members"][4].value
