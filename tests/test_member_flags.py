"""Rule flags and member attendance (issue 12) on hand-built members, meetings and marks with worked-out answers."""

from datetime import date

import pytest

from lib import db as dbm
from lib import metrics, rules
from lib.domain import SYSTEM, Actor, PermissionDenied
from tests.factories import small_directory
from tests.helpers import make_user

TODAY = date(2026, 6, 30)


class Book:
    """Members, meetings and marks written straight into the tables (the forms are another branch's work)."""

    def __init__(self, path):
        self.path = path
        self.ids = small_directory(path)

    def member(self, code: str, name: str, cell: str, valid_from: str = "2020-01-01", valid_to: str | None = None,
               ) -> int:
        with dbm.write(self.path) as db:
            member_id = db["members"].insert({"code": code, "full_name": name, "admitted_on": "2010-01-01",
                                              "official_on": "2011-01-01"}).last_pk
            db["member_cells"].insert({"member_id": member_id, "cell_id": self.ids[cell], "valid_from": valid_from,
                                       "valid_to": valid_to})
        return member_id

    def move(self, member_id: int, cell: str, on: str, last_day: str) -> None:
        """A transfer: the member's open cell row closes on last_day, a row in the new cell opens on `on`."""
        with dbm.write(self.path) as db:
            db.execute("update member_cells set valid_to = ? where member_id = ? and valid_to is null",
                       [last_day, member_id])
            db["member_cells"].insert({"member_id": member_id, "cell_id": self.ids[cell], "valid_from": on})

    def meeting(self, cell: str, held_on: str, marks: dict[int, str], mtype: str = "chuyen_de") -> int:
        """A live meeting whose counts are those of its marks."""
        statuses = list(marks.values())
        with dbm.write(self.path) as db:
            meeting_id = db["meetings"].insert({
                "cell_id": self.ids[cell], "held_on": held_on, "mtype": mtype, "members_total": len(statuses),
                "members_exempt": statuses.count("exempt"), "present": statuses.count("present"),
                "absent_excused": statuses.count("excused"), "absent_unexcused": statuses.count("unexcused"),
                "created_by": "system", "created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00",
            }).last_pk
            db["attendance_marks"].insert_all({"meeting_id": meeting_id, "member_id": member, "status": status}
                                              for member, status in marks.items())
        return meeting_id


@pytest.fixture
def book(db_path) -> Book:
    return Book(db_path)


def flags(path, period: str, rule: str, actor: Actor = SYSTEM, **kw) -> list[dict]:
    return metrics.member_flags(path, actor, period, today=TODAY, **kw)[rule]["flags"]


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {r["member_code"]: r for r in rows}


def test_art8_three_unexcused_months_flag_and_two_do_not(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c1")
    # A: unexcused in January (twice: still one month), March and May = 3 months; B: February and April = 2.
    days = {"2025-01-05": ("unexcused", "present"), "2025-01-20": ("unexcused", "present"),
            "2025-02-05": ("present", "unexcused"), "2025-03-05": ("unexcused", "present"),
            "2025-04-05": ("excused", "unexcused"), "2025-05-05": ("unexcused", "excused")}
    ids = {day: book.meeting("c1", day, {a: sa, b: sb}) for day, (sa, sb) in days.items()}
    found = flags(book.path, "2025", "art8")
    assert [f["member_code"] for f in found] == ["A"]
    flag = found[0]
    assert flag["count"] == 3
    assert flag["cell_code"] == "NL-CD" and flag["unit_code"] == "NL"
    assert flag["meeting_ids"] == sorted(ids[d] for d in ("2025-01-05", "2025-01-20", "2025-03-05", "2025-05-05"))
    out = metrics.member_flags(book.path, SYSTEM, "2025", today=TODAY)["art8"]
    assert out["threshold"] == 3 and "Điều 8" in out["document"]


def test_art8_flags_in_the_period_that_holds_the_nth_month(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    for day in ("2025-01-05", "2025-02-05", "2025-05-05", "2025-07-05"):
        book.meeting("c1", day, {a: "unexcused"})
    assert flags(book.path, "2025-Q1", "art8") == []  # two months by the end of March
    q2 = flags(book.path, "2025-Q2", "art8")
    assert [(f["member_code"], f["count"]) for f in q2] == [("A", 3)]
    assert flags(book.path, "2025-Q3", "art8") == []  # already flagged in the quarter that reached three
    assert [f["count"] for f in flags(book.path, "2025", "art8")] == [4]
    assert flags(book.path, "2026", "art8") == []  # a new calendar year starts from none


def test_art8_deleted_meetings_do_not_count(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    ids = [book.meeting("c1", day, {a: "unexcused"}) for day in ("2025-01-05", "2025-02-05", "2025-03-05")]
    assert len(flags(book.path, "2025", "art8")) == 1
    with dbm.write(book.path) as db:
        db.execute("update meetings set deleted_at = '2025-04-01T00:00:00' where id = ?", [ids[1]])
    assert flags(book.path, "2025", "art8") == []


def test_hd12_four_excused_in_a_row_flag_and_three_do_not(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c1")
    # A: excused 4 in a row (Feb–May); B: excused 3, present, excused 3 again
    seq_a = ["present", "excused", "excused", "excused", "excused", "present", "present", "present"]
    seq_b = ["excused", "excused", "excused", "present", "excused", "excused", "excused", "present"]
    ids = [book.meeting("c1", f"2025-{m:02d}-10", {a: sa, b: sb}, mtype="thuong_ky")
           for m, sa, sb in zip(range(1, 9), seq_a, seq_b, strict=True)]
    found = flags(book.path, "2025", "hd12")
    assert [(f["member_code"], f["count"]) for f in found] == [("A", 4)]
    assert found[0]["meeting_ids"] == ids[1:5]
    out = metrics.member_flags(book.path, SYSTEM, "2025", today=TODAY)["hd12"]
    assert out["threshold"] == 3 and "12-HD" in out["document"]


def test_hd12_unexcused_breaks_a_streak_and_exempt_neither_breaks_nor_extends(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c1")
    # A: excused, excused, exempt, excused, excused → 4 in a row (the exempt mark skipped)
    # B: excused, excused, unexcused, excused, excused → two streaks of 2
    seq_a = ["excused", "excused", "exempt", "excused", "excused"]
    seq_b = ["excused", "excused", "unexcused", "excused", "excused"]
    ids = [book.meeting("c1", f"2025-{m:02d}-10", {a: sa, b: sb}, mtype="thuong_ky")
           for m, sa, sb in zip(range(1, 6), seq_a, seq_b, strict=True)]
    found = flags(book.path, "2025", "hd12")
    assert [(f["member_code"], f["count"]) for f in found] == [("A", 4)]
    assert found[0]["meeting_ids"] == [ids[0], ids[1], ids[3], ids[4]]


def test_hd12_streak_flags_in_the_period_where_it_crosses(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    # excused from February to June: the 4th in a row is in May (Q2), begun in Q1
    ids = [book.meeting("c1", f"2025-{m:02d}-10", {a: "excused" if m >= 2 else "present"})
           for m in range(1, 8)]
    assert flags(book.path, "2025-Q1", "hd12") == []
    q2 = flags(book.path, "2025-Q2", "hd12")
    assert [(f["count"], f["meeting_ids"]) for f in q2] == [(5, ids[1:6])]
    assert flags(book.path, "2025-Q3", "hd12") == []  # the streak goes on, but it crossed in Q2
    # same-day meetings are ordered by id
    assert flags(book.path, "2025-05", "hd12")[0]["count"] == 4


def test_transfer_mid_month_counts_once_and_in_one_cell(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    other_c1 = book.member("X", "Lê Thị X", "c1")
    other_c2 = book.member("Y", "Phạm Văn Y", "c2")
    book.meeting("c1", "2025-01-10", {a: "unexcused", other_c1: "present"})
    m_a = book.meeting("c1", "2025-03-10", {a: "unexcused", other_c1: "present"})
    book.move(a, "c2", "2025-03-15", "2025-03-14")
    m_b = book.meeting("c2", "2025-03-20", {a: "unexcused", other_c2: "present"})
    # January and March (in both cells): two months, not three
    assert flags(book.path, "2025", "art8") == []
    m_last = book.meeting("c2", "2025-04-20", {a: "unexcused", other_c2: "present"})
    found = flags(book.path, "2025", "art8")
    assert [(f["member_code"], f["count"], f["cell_code"]) for f in found] == [("A", 3, "DP-LH")]
    assert {m_a, m_b, m_last} <= set(found[0]["meeting_ids"])
    # the member's marks of March: one in each cell's meeting, none counted twice
    att = metrics.member_attendance(book.path, SYSTEM, "2025-03", today=TODAY)
    units = {u["unit_code"]: u for u in att["by_unit"]}
    assert (units["NL"]["unexcused"], units["NL"]["present"]) == (1, 1)
    assert (units["DP"]["unexcused"], units["DP"]["present"]) == (1, 1)
    assert att["totals"]["unexcused"] == 2
    [row] = [m for m in att["members"] if m["member_code"] == "A"]
    assert (row["unexcused"], row["cell_code"]) == (2, "DP-LH")


def test_exempt_is_never_in_the_denominator_of_member_attendance(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c1")
    c = book.member("C", "Lê Văn C", "c1")
    d = book.member("D", "Phạm Thị D", "c1")
    book.meeting("c1", "2025-02-10", {a: "present", b: "present", c: "excused", d: "exempt"})
    book.meeting("c1", "2025-03-10", {a: "present", b: "unexcused", c: "exempt", d: "exempt"})
    att = metrics.member_attendance(book.path, SYSTEM, "2025-Q1", today=TODAY)
    tot = att["totals"]
    # 8 marks, 3 exempt: required 5, present 3
    assert (tot["present"], tot["excused"], tot["unexcused"], tot["exempt"], tot["required"]) == (3, 1, 1, 3, 5)
    assert tot["rate"] == 0.6
    members = by_code(att["members"])
    assert set(members) == {"B", "C"}  # only members with an absence
    assert (members["C"]["required"], members["C"]["rate"]) == (1, 0.0)
    assert (members["B"]["required"], members["B"]["rate"]) == (2, 0.5)
    # a member exempt at every meeting has no required meeting at all
    [unit] = att["by_unit"]
    assert (unit["required"], unit["exempt"]) == (5, 3)


def test_raising_the_threshold_changes_a_later_year_not_an_earlier_one(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    for year in (2024, 2025):
        for month in (1, 2, 3):
            book.meeting("c1", f"{year}-{month:02d}-05", {a: "unexcused"})
    assert [f["count"] for f in flags(book.path, "2024", "art8")] == [3]
    assert [f["count"] for f in flags(book.path, "2025", "art8")] == [3]
    with dbm.write(book.path) as db:
        rules.add_version(db, SYSTEM, {"rule": rules.ART8_MONTHS, "value": 4, "valid_from": "2025-01-01",
                                       "document": "Quy định thử: bốn tháng"})
    assert [f["count"] for f in flags(book.path, "2024", "art8")] == [3]
    assert flags(book.path, "2025", "art8") == []
    out = metrics.member_flags(book.path, SYSTEM, "2025", today=TODAY)["art8"]
    assert (out["threshold"], out["document"], out["valid_from"]) == (4, "Quy định thử: bốn tháng", "2025-01-01")


def test_flags_are_kept_to_the_users_scope_and_refused_to_anonymous(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c2")
    for month in (1, 2, 3):
        book.meeting("c1", f"2025-{month:02d}-05", {a: "unexcused"})
        book.meeting("c2", f"2025-{month:02d}-12", {b: "unexcused"})
    make_user(book.path, "clerk_nl", "clerk", [book.ids["u1"]])
    make_user(book.path, "clerk_none", "clerk", [])
    clerk = Actor("clerk_nl", "clerk", frozenset({book.ids["u1"]}))
    assert [f["member_code"] for f in flags(book.path, "2025", "art8")] == ["B", "A"]  # by unit code: DP, NL
    # a node spanning more than the clerk's scope shows the part inside it
    assert [f["member_code"] for f in flags(book.path, "2025", "art8", clerk)] == ["A"]
    att = metrics.member_attendance(book.path, clerk, "2025", today=TODAY)
    assert [u["unit_code"] for u in att["by_unit"]] == ["NL"] and by_code(att["members"]).keys() == {"A"}
    assert flags(book.path, "2025", "art8", Actor("clerk_none", "clerk")) == []
    with pytest.raises(PermissionDenied):
        metrics.member_flags(book.path, None, "2025", today=TODAY)
    with pytest.raises(PermissionDenied):
        metrics.member_attendance(book.path, None, "2025", today=TODAY)


def test_the_node_in_view_narrows_the_flags(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c2")
    for month in (1, 2, 3):
        book.meeting("c1", f"2025-{month:02d}-05", {a: "unexcused"})
        book.meeting("c2", f"2025-{month:02d}-12", {b: "unexcused"})
    only_dp = metrics.Filters(unit_codes=("DP",))
    assert [f["member_code"] for f in flags(book.path, "2025", "art8", filters=only_dp)] == ["B"]


def test_each_rule_is_one_statement(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    book.meeting("c1", "2025-01-05", {a: "unexcused"})
    seen: list[str] = []
    conn = dbm.connect(book.path)
    conn.conn.set_trace_callback(seen.append)
    try:
        metrics.member_flags(conn, SYSTEM, "2025", today=TODAY)
    finally:
        conn.conn.set_trace_callback(None)
        conn.close()
    assert sum("attendance_marks" in s for s in seen) == 2


def docx_text(content: bytes) -> tuple[list[str], list[list[list[str]]]]:
    import io

    from docx import Document

    doc = Document(io.BytesIO(content))
    return ([p.text for p in doc.paragraphs],
            [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables])


def test_compiled_report_counts_and_names_the_flagged_members_per_unit(book):
    from lib import reports
    from tests.test_reports import with_district_body

    with_district_body(book.path)
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Văn B", "c2")
    for month in (1, 2, 3):
        book.meeting("c1", f"2025-{month:02d}-05", {a: "unexcused"})
    for month in (1, 2, 3, 4):
        book.meeting("c2", f"2025-{month:02d}-12", {b: "excused"})
    paras, tables = docx_text(reports.compiled_docx(book.path, "2025", today=TODAY))
    title = "6. Đảng viên cần xem xét theo Điều 8 Điều lệ Đảng và Hướng dẫn 12-HD"  # branch format36: in section I
    assert title in paras
    intro = paras[paras.index(title) + 1]
    assert "có 1 đảng viên vắng sinh hoạt không có lý do chính đáng từ 3 tháng" in intro
    assert "1 đảng viên vắng có lý do quá 3 lần liên tục" in intro
    per_unit = next(tb for tb in tables if len(tb[0]) > 2 and tb[0][2] == "Điều 8 (xem xét xóa tên)")
    assert [r[1:] for r in per_unit[1:]] == [["Xã Nhị Long", "1", "0"], ["Xã Đại Phước", "0", "1"],
                                             ["Tổng cộng", "1", "1"]]
    names = next(tb for tb in tables if len(tb[0]) > 3 and tb[0][3] == "Căn cứ")
    assert [r[1:] for r in names[1:]] == [
        # branch format36: names without the register's member codes
        ["Nguyễn Văn A", "Chi bộ ấp Cầu Đúc, Xã Nhị Long", "Điều 8 Điều lệ Đảng", "3"],
        ["Trần Văn B", "Chi bộ ấp Long Hòa, Xã Đại Phước", "Hướng dẫn 12-HD", "4"]]
    # the report of one commune names its own members only
    _, tables = docx_text(reports.compiled_docx(book.path, "2025", "DP", today=TODAY))
    names = next(tb for tb in tables if len(tb[0]) > 3 and tb[0][3] == "Căn cứ")
    assert [r[1] for r in names[1:]] == ["Trần Văn B"]


def test_compiled_report_without_member_marks_has_no_member_section(book):
    from lib import reports
    from tests.test_reports import with_district_body

    with_district_body(book.path)
    from tests.factories import add_meeting

    add_meeting(book.path, book.ids["c1"], "2025-03-31")
    paras, _ = docx_text(reports.compiled_docx(book.path, "2025", today=TODAY))
    assert not any("Điều 8 Điều lệ Đảng và Hướng dẫn 12-HD" in p for p in paras)


def test_hd12_meetings_without_marks_neither_break_nor_extend_a_run(book):
    a = book.member("A", "Nguyễn Văn A", "c1")
    ids = [book.meeting("c1", "2025-01-10", {a: "excused"}), book.meeting("c1", "2025-02-10", {a: "excused"})]
    book.meeting("c1", "2025-03-10", {})  # counts typed, no marks: nothing known of A there
    ids += [book.meeting("c1", "2025-04-10", {a: "excused"}), book.meeting("c1", "2025-05-10", {a: "excused"})]
    found = flags(book.path, "2025", "hd12")
    assert [(f["count"], f["meeting_ids"]) for f in found] == [(4, ids)]
