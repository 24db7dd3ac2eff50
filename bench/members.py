"""`python -m bench.members`: the member-based figures of a quarter on 100,000 meetings × 25 members each.

The demo database of the SQL benchmark (bench-N.db) is copied and given 25 members in every cell and a mark for
each of them at every meeting (2.5 million attendance_marks at 100,000 meetings), the meetings' counts written
from the marks as the app writes them. Then the rule flags (lib.metrics.member_flags) and the member attendance
(lib.metrics.member_attendance) of a quarter are timed for the whole tree and for one commune, each rule's statement
also alone, each beside a bare SQL aggregate of the rows it reads (see the floors below). Targets, as the other
pages': under 0.3 s and within 3× the bare aggregate. The result goes to the "members" section of bench/RESULTS.md.
"""

import argparse
import os
import sqlite3
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MEMBERS_PER_CELL = 25
TARGET_S = 0.3
TARGET_RATIO = 3.0

# Deterministic statuses from the meeting and the member's place in the cell: about 88% present, 6% excused,
# 3.5% unexcused, 2.5% exempt (a multiplicative hash, so neighbours differ).
STATUS = """case
    when (m.id * 2654435761 + k.k * 40503) % 1000 < 880 then 'present'
    when (m.id * 2654435761 + k.k * 40503) % 1000 < 940 then 'excused'
    when (m.id * 2654435761 + k.k * 40503) % 1000 < 975 then 'unexcused'
    else 'exempt' end"""

PLACES = """with recursive k(k) as (select 0 union all select k + 1 from k where k + 1 < :per_cell)"""

# Member ids follow from the cell and the place in it: (cell_id - 1) * per_cell + place + 1.
MEMBERS_SQL = PLACES + """
insert into members(id, code, full_name, admitted_on, official_on)
select (c.id - 1) * :per_cell + k.k + 1, 'BM' || c.id || '-' || (k.k + 1),
       'Đảng viên ' || c.code || ' số ' || (k.k + 1), '2010-01-01', '2011-01-01'
from cells c cross join k order by 1"""

MEMBER_CELLS_SQL = """
insert into member_cells(member_id, cell_id, valid_from, valid_to)
select id, (id - 1) / :per_cell + 1, null, null from members order by id"""

MARKS_SQL = PLACES + """
insert into attendance_marks(meeting_id, member_id, status)
select m.id, (m.cell_id - 1) * :per_cell + k.k + 1, """ + STATUS + """
from meetings m cross join k order by m.id, k.k"""

# The counts of a meeting with marks are the marks' (as lib.meetings writes them).
COUNTS_SQL = """
update meetings set members_total = x.total, members_exempt = x.exempt, present = x.present,
       absent_excused = x.excused, absent_unexcused = x.unexcused
from (select meeting_id, count(*) as total, sum(status = 'exempt') as exempt, sum(status = 'present') as present,
             sum(status = 'excused') as excused, sum(status = 'unexcused') as unexcused
      from attendance_marks group by meeting_id) x
where x.meeting_id = meetings.id"""

# The floors: for each figure a bare SQL aggregate of the rows it reads, with none of its logic (no scope walk, no
# candidates, no numbering, no islands, no names). Each is asked with the same index terms as the figure
# ("status <> 'present'" lets SQLite read the partial index of absences), so the floor is the fastest plain read of
# those rows. {cells} is empty for the whole tree and CELLS_OF_UNIT for a commune.
CELLS_OF_UNIT = """
  and m.cell_id in (select c.id from cells c join unit_tree t on t.descendant_id = c.unit_id
                    where t.ancestor_id = (select id from units where code = :unit))"""

# Statute Art. 8 reads the year's unexcused marks up to the period's end: their count by member and month.
ART8_FLOOR = """
select mk.member_id, substr(m.held_on, 1, 7), count(*)
from meetings m join attendance_marks mk on mk.meeting_id = m.id
where m.deleted_at is null and m.held_on between :year_start and :end
  and mk.status <> 'present' and mk.status = 'unexcused'{cells}
group by 1, 2"""

# 12-HD's runs read the excused and exempt marks of the look-back window (from 2 × (N + 1) months before the
# period to its end) at the cells' meetings: their count by member and cell.
HD12_FLOOR = """
select mk.member_id, m.cell_id, count(*)
from meetings m join attendance_marks mk on mk.meeting_id = m.id
where m.deleted_at is null and m.held_on between :lookback and :end
  and mk.status <> 'present' and mk.status in ('excused', 'exempt'){cells}
group by 1, 2"""

# The member attendance reads the period's marks of every status: their count by status and the cell's unit.
ATTENDANCE_FLOOR = """
select c.unit_id, mk.status, count(*)
from meetings m join cells c on c.id = m.cell_id join attendance_marks mk on mk.meeting_id = m.id
where m.deleted_at is null and m.held_on between :start and :end{cells}
group by 1, 2"""

# The figures timed: each rule's statement alone (as member_flags runs it) against its own floor, member_flags
# (both rules) against both floors run one after the other, and the member attendance against its floor.
FIGURES = (("art8", (ART8_FLOOR,)), ("hd12", (HD12_FLOOR,)), ("member_flags", (ART8_FLOOR, HD12_FLOOR)),
           ("member_attendance", (ATTENDANCE_FLOOR,)))


def add_members(path: Path, per_cell: int = MEMBERS_PER_CELL) -> dict[str, Any]:
    """Give every cell of a database `per_cell` members and every meeting a mark for each; return the counts."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("pragma journal_mode = wal")
        conn.execute("pragma synchronous = off")
        params = {"per_cell": per_cell}
        with conn:
            conn.execute("delete from attendance_marks")
            conn.execute("delete from member_cells")
            conn.execute("delete from members")
            conn.execute(MEMBERS_SQL, params)
            conn.execute(MEMBER_CELLS_SQL, params)
            conn.execute(MARKS_SQL, params)
            conn.execute(COUNTS_SQL)
        conn.execute("analyze")
        counts = {table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608 (fixed names)
                  for table in ("meetings", "members", "attendance_marks")}
    finally:
        conn.close()
    return counts


def _analyze_new_indexes(path: Path) -> None:
    """Gather the planner's statistics again when an index has none (one added by a migration since the build)."""
    conn = sqlite3.connect(path)
    try:
        has_stats = conn.execute("select count(*) from sqlite_master where name = 'sqlite_stat1'").fetchone()[0]
        missing = not has_stats or conn.execute("""
            select count(*) from sqlite_master i where i.type = 'index' and i.sql is not null
              and i.name not in (select idx from sqlite_stat1 where idx is not null)""").fetchone()[0]
        if missing:
            conn.execute("analyze")
    finally:
        conn.close()


def build(db_dir: Path, size: int, keep: bool, log: Any = print) -> tuple[Path, dict[str, Any]]:
    """bench-members-N.db: the demo of `size` meetings (bench-N.db, built as `python -m bench` builds it) with
    members and marks; reused with --keep when it already holds them."""
    from bench.harness import build as build_demo
    from bench.harness import meetings_in
    from lib import db as dbm

    path = db_dir / f"bench-members-{size}.db"
    if keep and path.exists() and meetings_in(path) == size:
        conn = sqlite3.connect(path)
        marks = conn.execute("select count(*) from attendance_marks").fetchone()[0]
        conn.close()
        if marks == size * MEMBERS_PER_CELL:
            dbm.init(path)  # a file kept from before a migration (m010's, m011's indexes) gets it
            _analyze_new_indexes(path)
            return path, {"cached": True, "seconds": None, "marks": marks, "meetings": size}
    demo = db_dir / f"bench-{size}.db"
    log(f"building {demo} ({size:,} meetings)")
    build_demo(demo, size, keep)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(demo)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    log(f"adding {MEMBERS_PER_CELL} members per cell and their marks to {path}")
    start = time.perf_counter()
    counts = add_members(path)
    return path, {"cached": False, "seconds": time.perf_counter() - start, "marks": counts["attendance_marks"],
                  **counts}


def commune_of(path: Path) -> str:
    """The commune measured alone: the unit whose subtree holds the most marks' cells (the largest commune)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("""
            select u.code from units u join unit_tree t on t.ancestor_id = u.id
            join cells c on c.unit_id = t.descendant_id
            where u.kind = 'xa' group by u.id order by count(*) desc, u.code limit 1""").fetchone()[0]
    finally:
        conn.close()


def _paired(fn: Any, floor: Any, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of fn and of its floor, run side by side in each round (after one warm-up of each), so a load that
    comes and goes on a shared machine slows both halves of a pair."""
    fn()
    floor()
    times, floor_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        floor()
        floor_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times, floor_times


def floor_params(period: Any, commune: str, n: int = 3) -> dict[str, str]:
    """The floors' parameters for a period (n: the 12-HD threshold, which sets the look-back window)."""
    from lib import metrics

    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "year_start": date(period.end.year, 1, 1).isoformat(), "lookback": metrics._lookback(period, n),
            "unit": commune}


def measure(path: Path, period: str, repeat: int, commune: str) -> list[dict[str, Any]]:
    """Median seconds of each member figure of the period and of its bare aggregate, whole tree and one commune."""
    from bench.harness import paired_ratio
    from lib import db as dbm
    from lib import metrics, rules
    from lib.domain import SYSTEM

    p = metrics.parse_period(period)
    today = date.today()
    conn = dbm.connect(path)
    raw = conn.conn
    rows = []
    try:
        n = int(rules.in_force(conn, rules.HD12_STREAK, p.end)["value"])
        params = floor_params(p, commune, n)
        figures = {"art8": lambda f: metrics.member_rule_flags(conn, SYSTEM, p, "art8", f, today),
                   "hd12": lambda f: metrics.member_rule_flags(conn, SYSTEM, p, "hd12", f, today),
                   "member_flags": lambda f: metrics.member_flags(conn, SYSTEM, p, f, today),
                   "member_attendance": lambda f: metrics.member_attendance(conn, SYSTEM, p, f, today)}
        for scope, filters, cells in (("whole tree", metrics.Filters(), ""),
                                      (f"commune {commune}", metrics.Filters(unit_codes=(commune,)), CELLS_OF_UNIT)):
            for name, floor_sqls in FIGURES:
                sqls = [sql.format(cells=cells) for sql in floor_sqls]
                rows_read = sum(count for sql in sqls for *_, count in raw.execute(sql, params).fetchall())
                fn = figures[name]
                result = fn(filters)
                times, floor = _paired(lambda fn=fn, filters=filters: fn(filters),
                                       lambda sqls=sqls: [raw.execute(sql, params).fetchall() for sql in sqls],
                                       repeat)
                if name == "member_flags":
                    size = f"{len(result['art8']['flags'])} Art. 8, {len(result['hd12']['flags'])} 12-HD flags"
                elif name == "member_attendance":
                    size = f"{len(result['by_unit'])} units, {len(result['members'])} members listed"
                else:
                    size = f"{len(result['flags'])} flags"
                rows.append({"scope": scope, "figure": name, "seconds": statistics.median(times),
                             "floor": statistics.median(floor), "ratio": paired_ratio(times, floor),
                             "marks": rows_read, "result": size})
    finally:
        conn.close()
    return rows


def markdown(rows: list[dict[str, Any]], built: dict[str, Any], command: str, period: str, repeat: int,
             info: dict[str, str], notes: Path | None = None) -> str:
    """The members section of bench/RESULTS.md (info: bench.harness.machine() read before the runs; notes: a
    markdown file appended, bench/MEMBERS_NOTES.md by default)."""
    lines = ["## Members: rule flags and member attendance (issue 12)", "",
             f"Command: `{command}` (part of `make bench`). Period {period}, median of {repeat} runs after a warm-up, "
             f"in one process on a `lib.db` connection; measured on {date.today().isoformat()}.", "",
             f"- Database: {built['meetings']:,} meetings × {MEMBERS_PER_CELL} members = "
             f"{built['marks']:,} attendance_marks"
             + (f", members and marks added in {built['seconds']:.1f} s" if built.get("seconds") else " (cached)"),
             f"- Machine: {info['CPU']}, {info['cores']} cores, SQLite {info['SQLite']}, load at start "
             f"{info['load average at start (1/5/15 min)']}",
             "- Floors (bare SQL aggregates of the rows each figure reads, for the commune at its cells, "
             "nothing else; `bench/members.py`): **art8** the year's unexcused marks up to the period's end, "
             "counted by member and month; **hd12** the look-back window's excused and exempt marks "
             "(2 × (N + 1) months before the period to its end), counted by member and cell; **member_flags** "
             "(both rules, as the page runs them) both of those in turn; **member_attendance** the period's "
             "marks counted by status and unit.",
             f"- Targets: under {TARGET_S} s and within {TARGET_RATIO:.0f}× the floor. The ratio is the median over "
             "the rounds of the figure's time over the floor's, timed side by side in each round.",
             f"- Load average at end (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}", "",
             "| scope | figure | median ms | floor ms | paired ratio | marks the floor reads | result | verdict |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    under, within = [], []
    for r in rows:
        ratio = r["ratio"] if r["ratio"] is not None else float("inf")
        ok = r["seconds"] < TARGET_S and ratio <= TARGET_RATIO
        lines.append(f"| {r['scope']} | {r['figure']} | {r['seconds'] * 1000:,.1f} | {r['floor'] * 1000:,.1f} | "
                     f"{ratio:.1f}× | {r['marks']:,} | {r['result']} | {'met' if ok else 'MISSED'} |")
        if r["seconds"] < TARGET_S:
            under.append(r)
        if ratio <= TARGET_RATIO:
            within.append(r)

    def verdict(met: list[dict[str, Any]], what: str) -> str:
        missed = [f"{r['scope']} {r['figure']}" for r in rows if r not in met]
        return (f"- {what}: **met**" if not missed else
                f"- {what}: **missed** by {', '.join(missed)} ({len(met)} of {len(rows)} met)")

    lines += ["", "Verdict:", "", verdict(under, f"every member figure under {TARGET_S} s"),
              verdict(within, f"every member figure within {TARGET_RATIO:.0f}× its floor")]
    if notes is not None and notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the members database, time the member figures, write the members section."""
    from bench import results as results_md
    from bench.harness import machine

    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.members", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=100_000, help="meetings (default 100000)")
    p.add_argument("--period", default="2025-Q4", help="quarter timed (default 2025-Q4: the flags read its year)")
    p.add_argument("--repeat", type=int, default=9, help="timed runs after one warm-up (default 9)")
    p.add_argument("--keep", action="store_true", help="reuse bench/bench-members-N.db when it holds the marks")
    p.add_argument("--db-dir", type=Path, default=HERE, help="where the databases go (default bench/)")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="markdown file (default bench/RESULTS.md)")
    p.add_argument("--notes", type=Path, default=HERE / "MEMBERS_NOTES.md",
                   help="markdown appended to the section (default bench/MEMBERS_NOTES.md, if it exists)")
    args = p.parse_args(argv)
    args.db_dir.mkdir(parents=True, exist_ok=True)
    path, built = build(args.db_dir, args.size, args.keep)
    info = machine()
    rows = measure(path, args.period, args.repeat, commune_of(path))
    command = "python -m bench.members" + ("" if not argv else " " + " ".join(argv))
    text = markdown(rows, built, command, args.period, args.repeat, info, args.notes)
    print(text)
    if args.out is not None:
        results_md.write(args.out, "members", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
