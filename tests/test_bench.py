"""Smoke test of the benchmark harness on a tiny demo database (no timing is asserted)."""

import re
import sqlite3
from datetime import date

import pytest

from bench import naive, worker
from bench.__main__ import main
from bench.harness import paired_ratio, run_child
from bench.pages import DRILL_DOWNS, PAGES, Call, Context, missing_functions, unlisted_figures
from lib import db as dbm
from lib import metrics

SIZE = 2000
# The small demo walks back from today, so this year is the one that surely has meetings.
PERIOD = str(date.today().year)
HEADER = ("| meetings | page | SQL median ms | statements | naive median ms | floor ms | ratio to floor "
          "| peak MB (SQL) | peak MB (naive) |")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of `python -m bench` at 2,000 meetings, one repetition, into a temporary folder."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "RESULTS.md"
    assert main(["--sizes", str(SIZE), "--repeat", "1", "--period", PERIOD, "--out", str(out),
                 "--db-dir", str(tmp)]) == 0
    return tmp, out.read_text(encoding="utf-8")


def table_rows(text: str) -> list[list[str]]:
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_bench_builds_a_fresh_database_of_the_size_asked(run):
    tmp, _ = run
    conn = sqlite3.connect(tmp / f"bench-{SIZE}.db")
    try:
        assert conn.execute("select count(*) from meetings").fetchone()[0] == SIZE
    finally:
        conn.close()


def test_bench_table_has_one_row_per_page_with_every_measurement(run):
    _, text = run
    rows = table_rows(text)
    assert [r[1] for r in rows] == list(PAGES)
    for r in rows:
        assert len(r) == 9
        assert r[0] == "2,000"
        sql_ms, statements, naive_ms, floor_ms = (float(r[i].replace(",", "")) for i in (2, 3, 4, 5))
        assert sql_ms > 0 and naive_ms > 0 and floor_ms > 0 and statements >= 1
        assert re.fullmatch(r"\d+\.\d×", r[6])
        assert 20 < float(r[7]) < 2000 and 20 < float(r[8]) < 2000


def test_bench_results_name_the_machine_the_checks_and_the_verdict(run):
    _, text = run
    for heading in ("## Machine", "## Method", "## Results", "### Each figure", "### Build and command line",
                    "## Verdict"):
        assert heading in text
    assert re.search(r"^- CPU: .+$", text, re.MULTILINE)
    assert re.search(r"^- SQLite: \d+\.\d+\.\d+$", text, re.MULTILINE)
    assert f"--period {PERIOD}" in text
    # No target is set below 100,000 meetings, and lib.metrics defines every figure the pages ask for.
    assert "- 100,000 meetings: not measured in this run" in text
    assert "Not timed" not in text
    assert re.search(r"^- 2,000: all \d+ figures equal$", text, re.MULTILINE)


@pytest.fixture(scope="module")
def small_db(run):
    tmp, _ = run
    return str(tmp / f"bench-{SIZE}.db")


def test_naive_figures_equal_the_sql_ones_and_are_not_empty(small_db):
    ctx = Context(metrics.parse_period(PERIOD), date.today())
    result = worker.check(small_db, list(PAGES), ctx)
    for page, outcome in result.items():
        assert outcome["differences"] == [], page
    assert {"attendance_by_unit", "attendance_totals", "missing_meetings"} <= set(result["attendance"]["checked"])
    assert {"participation_by_leader", "participation_by_group"} <= set(result["leaders"]["checked"])
    with dbm.read(small_db) as conn:
        frames = naive.load(conn, naive.TABLES["compute"])
    units = naive.attendance_by_unit(frames, ctx.period, ctx.today)
    assert sum(u["meetings"] for u in units) > 100
    assert any(u["coverage"] is not None for u in units) and any(u["on_schedule_rate"] for u in units)
    assert sum(r["attended"] for r in naive.participation_by_leader(frames, ctx.period, ctx.today)) > 0


def test_check_reports_a_figure_that_differs(small_db):
    ctx = Context(metrics.parse_period(PERIOD), date.today())
    with dbm.read(small_db) as conn:
        frames = naive.load(conn, naive.TABLES["attendance"])
        m = frames["meetings"]
        regular = m[(m["held_on"].str[:4] == PERIOD) & (m["mtype"] == "thuong_ky") & m["deleted_at"].isna()]
        frames["meetings"] = m.drop(regular.index[0])
        ref = naive.attendance_totals(frames, ctx.period, ctx.today)
        got = metrics.attendance_totals(conn, ctx.period, today=ctx.today)
    problems = worker.differences(got, ref, "attendance_totals")
    assert any(p.startswith("attendance_totals.meetings: SQL") for p in problems)
    assert any(p.startswith("attendance_totals.required: SQL") for p in problems)


def test_explain_names_the_metrics_query_and_counts_its_runs(small_db, monkeypatch):
    ctx = Context(metrics.parse_period(PERIOD), date.today())
    # The attendance page as it was before lib.metrics.attendance_page: calls that repeat a query.
    monkeypatch.setitem(PAGES, "attendance", ("pages/attendance.py", (
        Call("attendance_by_unit"), Call("attendance_totals"), Call("absences"), Call("missing_meetings"))))
    statements = worker.explain(small_db, "attendance", ctx, top=10)
    by_query = {s["query"]: s for s in statements}
    # attendance_by_unit, attendance_totals and absences each run the unit-level query again.
    assert by_query["ATTENDANCE_SQL[unit]"]["runs"] == 3
    assert by_query["ATTENDANCE_SQL[unit]"]["functions"] == ["attendance_by_unit", "attendance_totals", "absences"]
    assert by_query["MISSING_SQL"]["runs"] == 1
    assert any("idx_meetings" in line for line in by_query["MISSING_SQL"]["plan"])


def test_bench_times_every_figure_the_dashboard_pages_ask_for():
    assert unlisted_figures() == {}
    every = tuple(c for _, calls in PAGES.values() for c in calls) + tuple(
        c for calls in DRILL_DOWNS.values() for c in calls)
    assert missing_functions(every) == []


def test_child_peak_memory_is_the_childs_own_not_the_parents():
    # pytest itself holds well over 100 MB here; a child's ru_maxrss would report at least that.
    small = run_child(["-c", "print('{}')"])
    big = run_child(["-c", "b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('{}')"])
    assert small.returncode == 0 and big.returncode == 0
    assert small.peak_mb < 60
    assert big.peak_mb - small.peak_mb > 250


def test_bench_refuses_bad_flags(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--sizes", "ten"])
    assert exc.value.code == 2
    assert "sizes must be numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--pages", "nowhere"])


def test_ratio_to_floor_is_the_median_of_the_rounds_ratios():
    # Round 3 met a load that slowed both halves: its pair still says 2×. The ratio of the medians
    # (4 / 1) would blame the page for it; the rounds' ratios are 2, 4, 2.
    assert paired_ratio([2.0, 4.0, 10.0], [1.0, 1.0, 5.0]) == 2.0
    assert paired_ratio([3.0], [0.0]) is None
