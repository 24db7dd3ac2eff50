"""bench.members on a small demo: the members build (25 members a cell, a mark each at every meeting, the counts
from the marks) and its section of RESULTS.md; no timing is asserted."""

import sqlite3
from datetime import date

import pytest

from bench import members as bench_members
from bench import results as results_md

SIZE = 600
PERIOD = f"{date.today().year}-Q1" if date.today().month > 3 else f"{date.today().year - 1}-Q4"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `python -m bench.members` at 600 meetings, one repetition, into a temporary folder."""
    tmp = tmp_path_factory.mktemp("bench_members")
    out = tmp / "RESULTS.md"
    out.write_text(results_md.merge("", "browser", "browser figures kept"), encoding="utf-8")
    assert bench_members.main(["--size", str(SIZE), "--repeat", "1", "--period", PERIOD, "--db-dir", str(tmp),
                               "--out", str(out)]) == 0
    return tmp, out.read_text(encoding="utf-8")


def test_every_meeting_has_a_mark_for_each_of_its_cells_25_members(run):
    tmp, _ = run
    conn = sqlite3.connect(tmp / f"bench-members-{SIZE}.db")
    try:
        cells = conn.execute("select count(*) from cells").fetchone()[0]
        assert conn.execute("select count(*) from meetings").fetchone()[0] == SIZE
        assert conn.execute("select count(*) from members").fetchone()[0] == 25 * cells
        assert conn.execute("select count(*) from attendance_marks").fetchone()[0] == 25 * SIZE
        # each mark is of a member of the meeting's cell
        assert conn.execute("""select count(*) from attendance_marks mk join meetings m on m.id = mk.meeting_id
                               join member_cells mc on mc.member_id = mk.member_id
                               where mc.cell_id <> m.cell_id""").fetchone()[0] == 0
        # the counts are the marks', as the app writes them
        assert conn.execute("""select count(*) from meetings m join (
                                   select meeting_id, count(*) as total, sum(status = 'present') as present,
                                          sum(status = 'excused') as excused, sum(status = 'unexcused') as unexcused,
                                          sum(status = 'exempt') as exempt
                                   from attendance_marks group by meeting_id) x on x.meeting_id = m.id
                               where m.members_total <> x.total or m.present <> x.present
                                  or m.absent_excused <> x.excused or m.absent_unexcused <> x.unexcused
                                  or m.members_exempt <> x.exempt""").fetchone()[0] == 0
        statuses = dict(conn.execute("select status, count(*) from attendance_marks group by status").fetchall())
        assert set(statuses) == {"present", "excused", "unexcused", "exempt"}
        assert 0.8 < statuses["present"] / (25 * SIZE) < 0.95
    finally:
        conn.close()


def test_the_members_section_has_a_row_per_figure_and_scope_and_keeps_the_others(run):
    _, text = run
    parts = results_md.sections(text)
    assert parts["browser"] == "browser figures kept"
    section = parts["members"]
    assert "python -m bench.members --size 600" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| scope")]
    assert [r.split("|")[2].strip() for r in rows] == ["art8", "hd12", "member_flags", "member_attendance"] * 2
    assert all(r.split("|")[1].strip() in ("whole tree",) or r.split("|")[1].strip().startswith("commune ")
               for r in rows)
    assert f"{25 * SIZE:,} attendance_marks" in section
