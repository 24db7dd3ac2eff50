"""The members import (issue 12): a member-database export, all or nothing, re-import updates and transfers,
a clerk imports only into cells in scope; the template's Vietnamese headers; the CLI."""

import io
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from lib import db as dbm
from lib import directory, importer, members
from lib.domain import SYSTEM
from lib.users import actor_for
from tests.factories import small_directory
from tests.helpers import make_user

HEAD = "code;full_name;cell_code;joined_cell_on;admitted_on;official_on;exempt_from;exempt_to;exempt_reason\n"


def csv(*lines: str) -> bytes:
    return (HEAD + "\n".join(lines) + "\n").encode()


@pytest.fixture
def world(db_path):
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        ids["c3"] = directory.create_cell(db, SYSTEM, {"code": "NL-TH", "unit_id": ids["u1"], "name": "Chi bộ ấp Thạnh",
                                                       "cell_type": "ap_khom", "meeting_day": 5,
                                                       "valid_from": "2020-01-01"})
    return ids


def count(db_path, table: str) -> int:
    with dbm.read(db_path) as db:
        return db.execute(f"select count(*) from {table}").fetchone()[0]


def test_a_file_goes_in_whole(db_path, world):
    payload = csv("DV1;Lê Văn Ba;NL-CD;01/07/2025;19/05/2010;19/05/2011;;;",
                  "DV2;Trần Thị Tư;NL-CD;;03/02/2025;;;;",
                  "DV3;Võ Văn Năm;NL-TH;01/07/2025;02/09/1975;02/09/1976;01/08/2025;;Tuổi cao, sức yếu")
    result = importer.run(db_path, "members", payload, "dv.csv", SYSTEM)
    assert result.ok and result.written and result.count == 3, result.error_lines()
    with dbm.read(db_path) as db:
        nl = members.roster(db, world["c1"], "2025-07-01")
        assert [(r["code"], r["probationary"]) for r in nl] == [("DV1", False), ("DV2", True)]
        (th,) = members.roster(db, world["c3"], "2025-08-15")
        assert (th["code"], th["exempt"]) == ("DV3", True)
        assert members.roster(db, world["c1"], "2025-06-30")[0]["code"] == "DV2"  # blank: since always


def test_every_bad_row_and_field_is_listed_and_nothing_written(db_path, world):
    payload = csv("DV1;Lê Văn Ba;NL-CD;01/07/2025;19/05/2010;19/05/2009;;;",
                  "DV2;;KHONG-CO;;;;;;",
                  "DV1;Lặp Lại;NL-CD;;19/05/2010;;;;",
                  "DV4;Ngô Văn Sáu;NL-CD;;31/02/2010;;01/09/2025;01/08/2025;Ốm")
    result = importer.run(db_path, "members", payload, "dv.csv", SYSTEM)
    assert not result.written
    assert [(e.row, e.field) for e in result.errors] == [
        (2, "official_on"), (3, "full_name"), (3, "cell_code"), (3, "admitted_on"), (4, "code"),
        (5, "admitted_on"), (5, "exempt_to")]
    assert count(db_path, "members") == 0 and count(db_path, "member_cells") == 0


def test_reimport_updates_and_transfers(db_path, world):
    first = csv("DV1;Lê Văn Ba;NL-CD;01/07/2025;19/05/2010;;;;")
    assert importer.run(db_path, "members", first, "dv.csv", SYSTEM).ok
    # the same member, now official, in another cell from 15/09/2025: updated and transferred
    again = csv("DV1;Lê Văn Bá;NL-TH;15/09/2025;19/05/2010;19/05/2011;;;")
    result = importer.run(db_path, "members", again, "dv.csv", SYSTEM)
    assert result.ok, result.error_lines()
    with dbm.read(db_path) as db:
        mid = members.find_code(db, "DV1")
        got = members.get(db, SYSTEM, mid)
        assert (got["full_name"], got["official_on"]) == ("Lê Văn Bá", "2011-05-19")
        assert [(c["cell_code"], c["valid_from"], c["valid_to"]) for c in got["cells"]] == [
            ("NL-CD", "2025-07-01", "2025-09-14"), ("NL-TH", "2025-09-15", None)]
        assert [r["code"] for r in members.roster(db, world["c1"], "2025-09-10")] == ["DV1"]
        assert members.roster(db, world["c3"], "2025-09-10") == []
        assert [r["code"] for r in members.roster(db, world["c3"], "2025-09-20")] == ["DV1"]
        assert members.roster(db, world["c1"], "2025-09-20") == []
    # the same file again changes nothing and writes no audit entry
    with dbm.read(db_path) as db:
        before = db.execute("select count(*) from audit_log").fetchone()[0]
    assert importer.run(db_path, "members", again, "dv.csv", SYSTEM).ok
    assert count(db_path, "audit_log") == before


def test_transfer_by_reimport_must_start_after_the_current_membership(db_path, world):
    assert importer.run(db_path, "members", csv("DV1;Lê Văn Ba;NL-CD;01/07/2025;19/05/2010;;;;"), "a.csv", SYSTEM).ok
    for joined, key in (("01/07/2025", "transfer_before_joined"), ("", "required_for_transfer")):
        result = importer.run(db_path, "members", csv(f"DV1;Lê Văn Ba;NL-TH;{joined};19/05/2010;;;;"), "a.csv",
                              SYSTEM)
        assert [(e.row, e.field) for e in result.errors] == [(2, "joined_cell_on")], key
    assert count(db_path, "member_cells") == 1


def test_a_clerk_imports_only_into_cells_in_scope(db_path, world):
    make_user(db_path, "thuky_dp", "clerk", [world["u2"]])
    make_user(db_path, "thuky_nl", "clerk", [world["u1"]])
    make_user(db_path, "xem", "viewer")
    with dbm.read(db_path) as db:
        dp, nl, viewer = (actor_for(db, u) for u in ("thuky_dp", "thuky_nl", "xem"))
    payload = csv("DV1;Lê Văn Ba;DP-LH;;19/05/2010;;;;", "DV2;Trần Thị Tư;NL-CD;;19/05/2010;;;;",
                  "DV3;Võ Văn Năm;NL-TH;;19/05/2010;;;;")
    result = importer.run(db_path, "members", payload, "dv.csv", dp)
    assert [(e.row, e.field) for e in result.errors] == [(3, "cell_code"), (4, "cell_code")]
    assert "phạm vi" in result.errors[0].message
    assert count(db_path, "members") == 0
    result = importer.run(db_path, "members", payload, "dv.csv", viewer)
    assert [(e.row, e.field) for e in result.errors] == [(None, None)] and count(db_path, "members") == 0
    assert importer.run(db_path, "members", csv("DV2;Trần Thị Tư;NL-CD;;19/05/2010;;;;"), "a.csv", nl).ok
    # moving DV2 to another commune by re-import: the clerk of the new commune alone may not
    result = importer.run(db_path, "members", csv("DV2;Trần Thị Tư;DP-LH;01/10/2025;19/05/2010;;;;"), "a.csv", dp)
    assert [(e.row, e.field) for e in result.errors] == [(2, "cell_code")]
    assert "quản trị viên" in result.errors[0].message


def test_template_has_the_vietnamese_headers_and_imports_back(db_path, world):
    wb = load_workbook(io.BytesIO(importer.template_xlsx("members")))
    header = [c.value for c in wb["Mẫu"][1]]
    assert header == ["Số thẻ đảng viên", "Họ và tên", "Mã chi bộ", "Ngày vào chi bộ", "Ngày vào Đảng",
                      "Ngày chính thức", "Miễn sinh hoạt từ ngày", "Miễn sinh hoạt đến ngày", "Lý do miễn sinh hoạt"]
    # the filled template, with a real cell code, imports; the headers are read back as written
    sheet = wb["Mẫu"]
    sheet["C2"] = "NL-CD"
    out = io.BytesIO()
    wb.save(out)
    result = importer.run(db_path, "members", out.getvalue(), "mau.xlsx", SYSTEM)
    assert result.ok, result.error_lines()
    with dbm.read(db_path) as db:
        (row,) = members.roster(db, world["c1"], "2025-07-01")
    assert (row["code"], row["admitted_on"], row["official_on"]) == ("DV000001", "2010-05-19", "2011-05-19")


def test_a_members_file_has_its_own_row_limit(db_path, world, monkeypatch):
    monkeypatch.setitem(importer.MAX_ROWS_BY_KIND, "members", 2)
    payload = csv(*[f"DV{i};Tên {i};NL-CD;;19/05/2010;;;;" for i in range(3)])
    result = importer.run(db_path, "members", payload, "dv.csv", SYSTEM)
    assert [e.field for e in result.errors] == [None] and "2" in result.errors[0].message


def test_the_command_line_imports_members(db_path, world, tmp_path):
    file = tmp_path / "dv.csv"
    file.write_bytes(csv("DV1;Lê Văn Ba;NL-CD;01/07/2025;19/05/2010;;;;"))
    done = subprocess.run([sys.executable, "-m", "lib", "--db", str(db_path), "import", "members", str(file)],
                          capture_output=True, text=True, cwd=str(importer.Path(__file__).resolve().parent.parent))
    assert done.returncode == 0, done.stderr
    assert count(db_path, "members") == 1
