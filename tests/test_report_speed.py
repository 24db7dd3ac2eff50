"""Issue 13 (speed13): the workbook streamed from the cursor, the import's per-row lookups made once; the outputs
are main's (the code of MAIN below, taken with git archive, run on the same databases). Speed itself is measured by
`python -m bench.speed13` (bench/RESULTS.md), not here."""

import io
import random
import shutil
from datetime import date

import pytest
from openpyxl import load_workbook

from lib import db as dbm
from lib import importer, meetings, reports, settings, users
from lib.domain import SYSTEM
from tests.factories import small_directory
from tests.helpers import REPO, run_with_code

# The report in the Party's format (branch format36, 2e53e4c) before the streamed workbook and the import's
# lookups were merged: their outputs must be its outputs (f8283d3, main before both, prints the older format).
MAIN = "2e53e4c"  # conftest's main_dir takes its code
DEMO_TODAY = date(2026, 6, 30)  # conftest's demo_db: the demo up to this day
TODAY = date(2025, 12, 1)


# ---- the workbook and the report: main's values -----------------------------------------------------------------

# Every sheet's cells (value and number format), widths, frozen panes and filter; the DOCX's paragraphs and table
# cells; the report's figures (ReportData).
OUTPUTS_SCRIPT = r"""
import dataclasses, io, json, sys
from datetime import date
from docx import Document
from openpyxl import load_workbook
from lib import reports
path, today = sys.argv[1], date.fromisoformat(sys.argv[2])
unit = reports.gather(path, "2025-Q3", None, today).figures["attendance_by_unit"]
busiest = max(unit, key=lambda r: r["meetings"])["unit_code"]
out = {}
for period, code in (("2025", None), ("2026-Q2", None), ("2025-Q3", busiest)):
    key = f"{period} {code}"
    wb = load_workbook(io.BytesIO(reports.data_xlsx(path, period, code, today=today)))
    out["xlsx " + key] = {ws.title: {
        "cells": [[(c.value.isoformat() if hasattr(c.value, "isoformat") else c.value, c.number_format) for c in row]
                  for row in ws.iter_rows()],
        "widths": {k: d.width for k, d in sorted(ws.column_dimensions.items())},
        "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref} for ws in wb.worksheets}
    doc = Document(io.BytesIO(reports.compiled_docx(path, period, code, today=today)))
    out["docx " + key] = [p.text for p in doc.paragraphs] + [
        [[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    data = reports.gather(path, period, code, today)
    out["data " + key] = json.dumps(dataclasses.asdict(data), default=str, ensure_ascii=False, sort_keys=True)
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def outputs(demo_db, main_dir) -> tuple[dict, dict]:
    """(this code's outputs, main's) on the demo."""
    return (run_with_code(REPO, OUTPUTS_SCRIPT, str(demo_db), DEMO_TODAY.isoformat()),
            run_with_code(main_dir, OUTPUTS_SCRIPT, str(demo_db), DEMO_TODAY.isoformat()))


def test_the_workbooks_cells_widths_and_formats_are_mains(outputs):
    ours, theirs = outputs
    keys = [k for k in ours if k.startswith("xlsx ")]
    assert len(keys) == 3
    for key in keys:
        assert ours[key].keys() == theirs[key].keys(), key
        for title in ours[key]:
            assert ours[key][title] == theirs[key][title], (key, title)
    year = ours["xlsx 2025 None"]
    records = next(v for title, v in year.items() if len(v["cells"]) > 500)  # the year's meeting records
    assert records["filter"] == f"A1:T{len(records['cells'])}"


def test_the_reports_text_tables_and_figures_are_mains(outputs):
    ours, theirs = outputs
    for key in (k for k in ours if k.startswith(("docx ", "data "))):
        assert ours[key] == theirs[key], key


def test_the_records_reach_the_sheet_from_the_cursor_not_as_a_list(demo_db, monkeypatch):
    """The workbook never builds the list of a period's meeting records (main did: 47,000 dicts for a year at
    1,000,000 meetings); the rows it writes are the list's, one by one."""
    with dbm.read(demo_db) as db:
        expected = reports.meeting_records(db, "2025")

    def whole_list(*args, **kw):
        raise AssertionError("the workbook holds the meeting records as a list")

    written: list[dict] = []
    streamed = reports.iter_meeting_records

    def spy(*args, **kw):
        for row in streamed(*args, **kw):
            written.append(dict(row))
            yield row

    monkeypatch.setattr(reports, "meeting_records", whole_list)
    monkeypatch.setattr(reports, "iter_meeting_records", spy)
    reports.data_xlsx(demo_db, "2025", today=DEMO_TODAY)
    assert [r["id"] for r in written] == [r["id"] for r in expected]
    assert written == expected


def test_widths_measured_as_rows_pass_are_those_of_the_whole_column():
    """_Width, fed one value at a time, gives _column_width of the whole list, for every kind: 'num' whole and
    with fractions, negative numbers (a minus is a character), percentages, texts, dates."""
    rng = random.Random(13)
    cases = {"int": [rng.randint(-5000, 120000) for _ in range(200)], "num": [3, 8.0, 12, 7],
             "pct": [rng.random() * 1.2 - 0.1 for _ in range(100)], "text": ["Xã Nhị Long", "ấp", 12345, "a" * 70],
             "date": ["2025-01-05", date(2025, 2, 1)]}
    cases["num_frac"] = [1.5, 12000.25, -3.0, 7]
    for kind, values in cases.items():
        measure = reports._Width("num" if kind == "num_frac" else kind)
        for value in values:
            measure.add(value)
        assert measure.value() == reports._column_width(values, "num" if kind == "num_frac" else kind), kind
    assert reports._Width("int").value() == 0


def test_a_sheet_without_rows_keeps_its_header_and_widths():
    wb = reports.Workbook(write_only=True)
    reports._sheet(wb, "Trống", [("a", "Một cột có tên dài", "text"), ("n", "Số", "int")], iter(()))
    buf = io.BytesIO()
    wb.save(buf)
    ws = load_workbook(buf).worksheets[0]
    assert [c.value for c in ws[1]] == ["Một cột có tên dài", "Số"]
    assert ws.column_dimensions["A"].width == len("Một cột có tên dài") + 2
    assert ws.column_dimensions["B"].width == reports.MIN_WIDTH + 2
    assert ws.auto_filter.ref == "A1:B1"


# ---- the import: each lookup once, the same errors as main's -----------------------------------------------------

def _csv(rows: list[str]) -> bytes:
    head = "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused"
    return ("\n".join([head, *rows]) + "\n").encode("utf-8")


def test_the_import_reads_each_cell_and_the_thresholds_once(db_path, monkeypatch):
    """40 meetings in 2 cells: the cell's unit, the cell and the thresholds are read once per cell (and once), not
    once per row as on main (40 each)."""
    ids = small_directory(db_path)
    calls = {"unit_of_cell": 0, "_cell": 0, "thresholds": 0}

    def counted(name, fn):
        def wrapper(*args, **kw):
            calls[name] += 1
            return fn(*args, **kw)
        return wrapper

    monkeypatch.setattr(importer, "unit_of_cell", counted("unit_of_cell", users.unit_of_cell))
    monkeypatch.setattr(meetings, "_cell", counted("_cell", meetings._cell))
    monkeypatch.setattr(meetings, "thresholds", counted("thresholds", settings.thresholds))
    rows = [f"{code},{year}-{month:02d}-05,thuong_ky,30,2,25,2,1"
            for code in ("NL-CD", "DP-LH") for year in (2023, 2024) for month in range(1, 11)]
    result = importer.run(db_path, "meetings", _csv(rows), "m.csv", SYSTEM, today=TODAY)
    assert result.written, [str(e) for e in result.errors]
    assert len(result.ids) == 40
    assert calls == {"unit_of_cell": 2, "_cell": 2, "thresholds": 1}
    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from meetings where cell_id in (?, ?)",
                          [ids["c1"], ids["c2"]]).fetchone()[0] == 40


IMPORT_SCRIPT = r"""
import json, sys
from datetime import date
from lib import db as dbm
from lib import importer, meetings, users
from lib.domain import SYSTEM, Actor
from tests.factories import small_directory
path = sys.argv[1]
dbm.init(path)
ids = small_directory(path)
with dbm.write(path) as db:
    meetings.create(db, SYSTEM, {"cell_id": ids["c1"], "held_on": "2025-03-31", "mtype": "thuong_ky",
                                 "members_total": 30, "members_exempt": 2, "present": 25, "absent_excused": 2,
                                 "absent_unexcused": 1, "duration_minutes": 90})
    users.create_user(db, SYSTEM, "clerk1", "Clerk1", "Matkhau123", "clerk", [ids["u1"]])
clerk = Actor("clerk1", "clerk", frozenset([ids["u1"]]))
head = "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused,leaders_present"
bad = "\n".join([head,
    "NL-CD,2025-03-10,thuong_ky,30,2,25,2,1,",      # the month's regular meeting is stored
    "NL-CD,2025-04-10,thuong_ky,30,2,25,2,1,L1",
    "NL-CD,2025-04-20,thuong_ky,30,2,25,2,1,",      # twice in the file
    "DP-LH,2025-04-10,thuong_ky,30,2,25,2,1,",      # outside the clerk's units
    "DP-LH,2025-05-10,thuong_ky,30,2,25,2,1,",      # again: refused again
    "XX-00,2025-04-10,thuong_ky,30,2,25,2,1,",      # no such cell
    "NL-CD,2025-06-10,thuong_ky,30,2,29,2,1,L9",    # counts do not add up, unknown leader
    "NL-CD,2025-07-10,bogus,abc,2,25,2,1,",
    "NL-CD,2031-07-10,thuong_ky,30,2,25,2,1,",      # in the future
    "NL-CD,2025-08-40,thuong_ky,30,2,25,2,1,"]) + "\n"
out = {}
for who, actor in (("clerk", clerk), ("system", SYSTEM)):
    result = importer.run(path, "meetings", bad.encode(), "m.csv", actor, today=date(2025, 12, 1))
    out["bad " + who] = [str(e) for e in result.errors] + result.error_lines() + [str(result.written)]
good = "\n".join([head, "NL-CD,2025-09-10,thuong_ky,30,2,25,2,1,L1", "NL-CD,2025-10-10,thuong_ky,30,2,24,3,1,",
                  "DP-LH,2025-09-10,chuyen_de,30,2,25,2,1,L2"]) + "\n"
result = importer.run(path, "meetings", good.encode(), "m.csv", SYSTEM, today=date(2025, 12, 1))
out["good"] = [result.written, result.count, [str(e) for e in result.errors]]
with dbm.read(path) as db:
    out["meetings"] = [list(r) for r in db.execute(
        "select id, cell_id, held_on, mtype, members_total, members_exempt, present, absent_excused, "
        "absent_unexcused, rating, created_by from meetings order by id")]
    out["leaders"] = [list(r) for r in db.execute("select * from meeting_leaders order by meeting_id, leader_id")]
    out["audit"] = [list(r) for r in db.execute(
        "select username, action, table_name, row_id from audit_log order by id")]
print(json.dumps(out, ensure_ascii=False, default=str))
"""


def test_the_imports_errors_and_rows_are_mains(tmp_path, main_dir):
    """The same file of refused rows (a stored and an in-file duplicate, two rows outside a clerk's units, an
    unknown cell and leader, counts that do not add up, a bad type and number, a future and an impossible day) gives
    main's messages word for word, for a clerk and for the system; a good file writes main's rows."""
    tests_dir = main_dir / "tests"
    if not tests_dir.exists():
        shutil.copytree(REPO / "tests", tests_dir, ignore=shutil.ignore_patterns("e2e", "__pycache__"))
    ours = run_with_code(REPO, IMPORT_SCRIPT, str(tmp_path / "ours.db"))
    theirs = run_with_code(main_dir, IMPORT_SCRIPT, str(tmp_path / "main.db"))
    assert ours == theirs
    assert ours["good"][0] is True
    assert ours["bad clerk"][-1] == "False" and len(ours["bad clerk"]) > 10
    assert sum("DP-LH" in line or "Đại Phước" in line for line in ours["bad clerk"]) >= 2


def test_a_refused_clerk_is_refused_on_every_row_and_nothing_is_written(db_path):
    """A pass is kept for the rest of the import, a refusal is not: two rows in a unit outside the clerk's both
    say so, and the file (all or nothing) writes nothing."""
    ids = small_directory(db_path)
    with dbm.write(db_path) as db:
        users.create_user(db, SYSTEM, "clerk1", "Clerk1", "Matkhau123", "clerk", [ids["u1"]])
    from lib.domain import Actor

    clerk = Actor("clerk1", "clerk", frozenset([ids["u1"]]))
    rows = ["NL-CD,2025-01-31,thuong_ky,30,2,25,2,1", "DP-LH,2025-01-10,thuong_ky,30,2,25,2,1",
            "NL-CD,2025-02-28,thuong_ky,30,2,25,2,1", "DP-LH,2025-02-10,thuong_ky,30,2,25,2,1"]
    result = importer.run(db_path, "meetings", _csv(rows), "m.csv", clerk, today=TODAY)
    assert not result.written
    assert [e.row for e in result.errors] == [3, 5]
    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from meetings").fetchone()[0] == 0


# ---- the benchmark's section ---------------------------------------------------------------------------------------

def test_the_bench_section_pairs_rounds_and_keeps_the_other_sections(tmp_path):
    """bench.speed13's ratio is the median of the rounds' own ratios, and its section of RESULTS.md leaves the
    others as they were (no timing asserted: the figures here are made up)."""
    from bench import results as results_md
    from bench import speed13

    runs = {"baseline": [{"seconds": s, "cpu": s / 2, "peak_mb": 280.0} for s in (10.0, 4.0, 6.0)],
            "this": [{"seconds": s, "cpu": s / 2, "peak_mb": 190.0} for s in (5.0, 3.0, 4.5)]}
    got = speed13.summary(runs)
    assert got["ratio"] == 0.75  # rounds: 0.5, 0.75, 0.75
    assert got["this"]["seconds"] == 4.5 and got["baseline"]["seconds"] == 6.0
    text = speed13.markdown({"xlsx": got}, {"cores": "2"}, "python -m bench.speed13", 1_000_000, "2025", 3, "abc")
    assert "| workbook XLSX, 2025, 1,000,000 meetings | 6.00 | 4.50 | 0.75× |" in text
    out = tmp_path / "RESULTS.md"
    out.write_text(results_md.merge("", "members", "members kept"), encoding="utf-8")
    results_md.write(out, "speed13", text)
    parts = results_md.sections(out.read_text(encoding="utf-8"))
    assert parts["members"] == "members kept"
    assert parts["speed13"].startswith("# The report, the workbook and the import")
