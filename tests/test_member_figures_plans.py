"""The member figures' query shapes (branch mbench): a narrowed scope's statements give the rows of the whole-tree
ones, the absences-by-member index serves a commune's Art. 8, and the benchmark's floors count the rows each figure
reads; on hand-built members, meetings and marks with worked-out answers."""

from datetime import date

import pytest

from bench import members as bench_members
from lib import db as dbm
from lib import metrics
from lib.domain import SYSTEM
from tests.test_member_flags import Book

TODAY = date(2026, 6, 30)
PERIOD = "2025-Q2"


@pytest.fixture
def world(db_path):
    """NL (cell c1) and DP (cell c2), 2025. A: unexcused in January and March at c1, moved to c2 on 15 March,
    unexcused there on 20 March and in April and May (months Jan, Mar, Apr, May: the third is April, in Q2).
    B: excused at c1 in February, March, April, May and June (five in a row: the fourth is in May, Q2).
    C: exempt at c2 on 20 March, excused in April, present in May. X: always present at c1, Y at c2."""
    book = Book(db_path)
    a = book.member("A", "Nguyễn Văn A", "c1")
    b = book.member("B", "Trần Thị B", "c1")
    x = book.member("X", "Lê Thị X", "c1")
    c = book.member("C", "Phạm Văn C", "c2")
    y = book.member("Y", "Võ Văn Y", "c2")
    book.meeting("c1", "2025-01-10", {a: "unexcused", b: "present", x: "present"})
    book.meeting("c1", "2025-02-10", {a: "present", b: "excused", x: "present"})
    book.meeting("c1", "2025-03-10", {a: "unexcused", b: "excused", x: "present"})
    book.move(a, "c2", "2025-03-15", "2025-03-14")
    book.meeting("c2", "2025-03-20", {a: "unexcused", c: "exempt", y: "present"})
    book.meeting("c1", "2025-04-10", {b: "excused", x: "present"})
    book.meeting("c2", "2025-04-20", {a: "unexcused", c: "excused", y: "present"})
    book.meeting("c1", "2025-05-10", {b: "excused", x: "present"})
    book.meeting("c2", "2025-05-20", {a: "unexcused", c: "present", y: "present"})
    book.meeting("c1", "2025-06-10", {b: "excused", x: "unexcused"})
    return book


def scoped(commune: str | None) -> metrics.Filters:
    return metrics.Filters(unit_codes=(commune,)) if commune else metrics.Filters()


def statement_params(conn, commune: str | None, **extra) -> dict:
    p = metrics.parse_period(PERIOD)
    return metrics._member_params(conn, SYSTEM, p, scoped(commune), TODAY, year_start="2025-01-01",
                                  lookback=metrics._lookback(p, 3), n=3, limit=20, **extra)


def test_the_flags_of_each_commune_are_worked_out(world):
    by_scope = {}
    for commune in (None, "NL", "DP"):
        flags = metrics.member_flags(world.path, SYSTEM, PERIOD, scoped(commune), today=TODAY)
        by_scope[commune] = {rule: [(f["member_code"], f["count"], f["cell_code"]) for f in flags[rule]["flags"]]
                             for rule in ("art8", "hd12")}
    # A's four months (two at c1, two at c2 after the move; March in both cells counts once) flag at DP
    assert by_scope["DP"] == {"art8": [("A", 4, "DP-LH")], "hd12": []}
    # B's five excused marks in a row at c1
    assert by_scope["NL"] == {"art8": [], "hd12": [("B", 5, "NL-CD")]}
    assert by_scope[None] == {"art8": [("A", 4, "DP-LH")], "hd12": [("B", 5, "NL-CD")]}


@pytest.mark.parametrize("name", ["ART8_SQL", "HD12_SQL", "MEMBER_ATTENDANCE_SQL"])
@pytest.mark.parametrize("commune", ["NL", "DP"])
def test_the_narrowed_statement_gives_the_rows_of_the_whole_tree_one(world, name, commune):
    sql = getattr(metrics, name)
    kind = "excused" if name == "HD12_SQL" else "unexcused"
    conn = dbm.connect(world.path)
    seen = 0
    try:
        for n in (0, 1, 3):  # thresholds low and high, so that each rule flags someone in each commune
            params = {**statement_params(conn, commune, kind=kind), "n": n}
            wide = sorted(map(tuple, conn.conn.execute(sql, params).fetchall()), key=repr)
            narrow = sorted(map(tuple, conn.conn.execute(metrics._narrow_sql(sql), params).fetchall()), key=repr)
            assert narrow == wide
            seen += len(wide)
    finally:
        conn.close()
    assert seen  # there were rows to compare


def plan(conn, sql: str, params: dict) -> str:
    return "\n".join(r[3] for r in conn.conn.execute("explain query plan " + sql, params))


def test_a_communes_art8_reads_its_candidates_absences_from_the_index_of_absences_by_member(world):
    conn = dbm.connect(world.path)
    try:
        assert "idx_marks_member_absent" in {i.name for i in conn["attendance_marks"].indexes}
        params = statement_params(conn, "DP", kind="unexcused")
        # (member, status) finds a candidate's unexcused marks alone, not every mark of their history
        assert "idx_marks_member_absent (member_id=? AND status=?)" in plan(conn, metrics._narrow_sql(
            metrics.ART8_SQL), params)
    finally:
        conn.close()


def test_a_communes_member_attendance_finds_its_absentees_at_its_own_cells_meetings(world):
    conn = dbm.connect(world.path)
    try:
        sql = metrics._narrow_sql(metrics.MEMBER_ATTENDANCE_SQL)
        listed = sql[sql.index("listed(member_id)"):sql.index("theirs(member_id")]
        # the absences are asked of the meeting's cell among the scope's cells, which a narrowed scope reads by cell
        assert "and m.cell_id in (select cell_id from scope_cells)" in listed
        assert "+m.cell_id in" in metrics.MEMBER_ATTENDANCE_SQL  # the whole tree reads the period by day
        att = metrics.member_attendance(conn, SYSTEM, PERIOD, scoped("DP"), today=TODAY)
        assert [(m["member_code"], m["excused"], m["unexcused"]) for m in att["members"]] == [("A", 0, 2),
                                                                                             ("C", 1, 0)]
    finally:
        conn.close()


def floor_rows(world, sql: str, commune: str | None) -> list[tuple]:
    p = metrics.parse_period(PERIOD)
    conn = dbm.connect(world.path)
    try:
        cells = bench_members.CELLS_OF_UNIT if commune else ""
        params = bench_members.floor_params(p, commune or "", 3)
        return sorted(tuple(r) for r in conn.conn.execute(sql.format(cells=cells), params).fetchall())
    finally:
        conn.close()


def test_the_benchmark_floors_count_the_rows_each_figure_reads(world):
    ids = {code: i for i, code in enumerate(("A", "B", "X", "C", "Y"), start=1)}
    c1, c2 = world.ids["c1"], world.ids["c2"]
    # Art. 8: the year's unexcused marks to the period's end, by member and month (A's March: one in each cell)
    assert floor_rows(world, bench_members.ART8_FLOOR, None) == [
        (ids["A"], "2025-01", 1), (ids["A"], "2025-03", 2), (ids["A"], "2025-04", 1), (ids["A"], "2025-05", 1),
        (ids["X"], "2025-06", 1)]
    assert floor_rows(world, bench_members.ART8_FLOOR, "DP") == [
        (ids["A"], "2025-03", 1), (ids["A"], "2025-04", 1), (ids["A"], "2025-05", 1)]
    # 12-HD: the look-back window's (from 2024-08-01) excused and exempt marks, by member and cell
    assert floor_rows(world, bench_members.HD12_FLOOR, None) == [(ids["B"], c1, 5), (ids["C"], c2, 2)]
    # member attendance: the quarter's marks by unit and status
    u1, u2 = world.ids["u1"], world.ids["u2"]
    assert floor_rows(world, bench_members.ATTENDANCE_FLOOR, None) == [
        (u1, "excused", 3), (u1, "present", 2), (u1, "unexcused", 1),
        (u2, "excused", 1), (u2, "present", 3), (u2, "unexcused", 2)]
    assert floor_rows(world, bench_members.ATTENDANCE_FLOOR, "NL") == [
        (u1, "excused", 3), (u1, "present", 2), (u1, "unexcused", 1)]


def test_the_section_says_which_figures_miss_which_target(tmp_path):
    def row(scope, figure, ms, floor_ms):
        return {"scope": scope, "figure": figure, "seconds": ms / 1000, "floor": floor_ms / 1000,
                "ratio": ms / floor_ms, "marks": 10, "result": "-"}

    rows = [row("whole tree", "hd12", 350, 100), row("whole tree", "art8", 20, 10), row("commune X", "hd12", 2, 0.5)]
    info = {"CPU": "cpu", "cores": "2", "SQLite": "3", "load average at start (1/5/15 min)": "1 / 1 / 1"}
    notes = tmp_path / "notes.md"
    notes.write_text("### Notes kept by hand\n", encoding="utf-8")
    text = bench_members.markdown(rows, {"meetings": 4, "marks": 100, "seconds": None}, "cmd", PERIOD, 1, info,
                                  notes)
    assert "- every member figure under 0.3 s: **missed** by whole tree hd12 (2 of 3 met)" in text
    assert "- every member figure within 3× its floor: **missed** by whole tree hd12, commune X hd12 (1 of 3 met)" \
        in text
    assert text.rstrip().endswith("### Notes kept by hand")
