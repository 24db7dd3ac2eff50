"""Issue 17 (a commune's overview at 10,000,000 meetings): with a unit or cell-type filter, the leaders' figures read
the period's meeting-leader pairs of the cells the assignments in scope can count (asg_cells), not the whole tree's.
The figures are the same as without that narrowing: for a commune, with rollup (a unit merged out of the commune
still counts for the commune's unit-level assignment), with a unit-level assignment on a sub-committee, with a
cell-level one, and with a cell-type filter. Both engines."""

from datetime import date

import pytest

from lib import assignments, directory, meetings, metrics
from lib import db as dbm
from lib.domain import SYSTEM
from lib.metrics import Filters, parse_period
from tests.factories import meeting

TODAY = date(2026, 1, 15)
YEAR = parse_period("2025")

# The tree: P (province, the only root) > X, Y (communes); X > S, Z (sub-committees); Z merged into Y on
# 31/03/2025 (successor Y: with rollup Z reports under Y, but unit_tree still puts Z under X).
# Cells: CX (X, ấp), CS (S, agency), CZ (Z, ấp), CY (Y, ấp).
# Assignments (all valid since 2024, 1 a quarter): LA unit-level at X; LB cell-level at CS; LC unit-level at Y;
# LD unit-level at S; LE unit-level at Z.
# Meetings of 2025 with the leaders present (report received the same day unless said):
#   CX 10/01: LA, LC          CS 10/02: LA, LB (8 days late), LD
#   CZ 10/03: LA, LC, LE (no report)          CY 10/04: LA, LC
# and CY 10/12/2024: LA, LC (outside the year).
# What counts (counted: the assignment's cell, else a cell of its unit or of a unit under it in unit_tree):
#   LA (X): CX, CS, CZ = 3 (CY is not under X)     LB (CS): CS = 1 (late)     LD (S): CS = 1
#   LC (Y): CY = 1 (CX is not under Y; nor is CZ, whatever the rollup)      LE (Z): CZ = 1 (missing)
MEETINGS = [("CX", "2025-01-10", ("LA", "LC")), ("CS", "2025-02-10", ("LA", "LB", "LD")),
            ("CZ", "2025-03-10", ("LA", "LC", "LE")), ("CY", "2025-04-10", ("LA", "LC")),
            ("CY", "2024-12-10", ("LA", "LC"))]
LATE = {("LB", "CS")}
MISSING = {("LE", "CZ")}


@pytest.fixture
def world(db_path):
    with dbm.write(db_path) as db:
        units = {"P": directory.create_unit(db, SYSTEM, {"code": "P", "name": "Tỉnh", "kind": "tinh"})}
        for code, kind, parent in (("X", "xa", "P"), ("Y", "xa", "P"), ("S", "dang_bo_bo_phan", "X"),
                                   ("Z", "dang_bo_bo_phan", "X")):
            units[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": f"Đảng bộ {code}", "kind": kind,
                                                             "parent_id": units[parent]})
        directory.merge_unit(db, SYSTEM, units["Z"], units["Y"], "2025-03-31")
        cells = {}
        for code, unit, ctype in (("CX", "X", "ap_khom"), ("CS", "S", "co_quan"), ("CZ", "Z", "ap_khom"),
                                  ("CY", "Y", "ap_khom")):
            cells[code] = directory.create_cell(db, SYSTEM, {
                "code": code, "unit_id": units[unit], "name": f"Chi bộ {code}", "cell_type": ctype,
                "meeting_day": 10, "valid_from": "2024-01-01"})
        leaders = {code: directory.create_leader(db, SYSTEM, {"code": code, "full_name": f"Lãnh đạo {code}",
                                                              "grp": "uv_bch"})
                   for code in ("LA", "LB", "LC", "LD", "LE")}
        for leader, unit, cell in (("LA", "X", None), ("LB", "S", "CS"), ("LC", "Y", None), ("LD", "S", None),
                                   ("LE", "Z", None)):
            assignments.create(db, SYSTEM, {
                "leader_id": leaders[leader], "unit_id": units[unit], "cell_id": cells.get(cell),
                "decision_no": "1-QĐ/HU", "valid_from": "2024-01-01", "required_per_quarter": 1}, today=TODAY)
        for cell, day, present in MEETINGS:
            reports = []
            for lc in present:
                received = None if (lc, cell) in MISSING else \
                    (date.fromisoformat(day).replace(day=18).isoformat() if (lc, cell) in LATE else day)
                reports.append({"leader_id": leaders[lc], "report_submitted_on": received})
            meetings.create(db, SYSTEM, meeting(cells[cell], day), reports, today=TODAY)
    return db_path


# The statements as they were before the narrowing: every pair of the period, whatever the filters.
def _unnarrowed(sql: str) -> str:
    narrowing = "\n      and :unit_codes is null and :cell_types is null"
    assert sql.count(narrowing) == 1
    start = sql.index("\n    union all\n", sql.index("period_leaders as materialized"))
    end = sql.index("\n),", start)
    return sql[:start].replace(narrowing, "") + sql[end:]


UNNARROWED_BY_LEADER = _unnarrowed(metrics.BY_LEADER_SQL)
UNNARROWED_BY_ASSIGNMENT = _unnarrowed(metrics.BY_ASSIGNMENT_SQL)

CASES = {
    "commune": (Filters(unit_codes=("X",)), {"LA": 3, "LB": 1, "LD": 1, "LE": 1}),
    # Z reports under Y: LE's assignment leaves X's figures, and CZ's meeting still counts for LA at X
    "commune rollup": (Filters(unit_codes=("X",), rollup=True), {"LA": 3, "LB": 1, "LD": 1}),
    # Y with Z rolled in: LE's assignment at Z is in scope and counts CZ; LC's at Y does not (Z is not under Y)
    "other commune rollup": (Filters(unit_codes=("Y",), rollup=True), {"LC": 1, "LE": 1}),
    "sub-committee": (Filters(unit_codes=("S",)), {"LB": 1, "LD": 1}),
    # a cell-type filter keeps the cell-level assignments on cells of that type only
    "cell type": (Filters(unit_codes=("X",), cell_types=("co_quan",)), {"LB": 1}),
    "cell type alone": (Filters(cell_types=("co_quan",)), {"LB": 1}),
}


@pytest.mark.parametrize("case", CASES)
def test_narrowed_figures_equal_the_unnarrowed(world, case):
    filters, attended = CASES[case]
    with dbm.read(world) as db:
        narrowed = metrics.participation_by_leader(db, YEAR, filters, today=TODAY)
        whole = metrics._participation(db, UNNARROWED_BY_LEADER, YEAR, filters, TODAY)
        by_assignment = metrics.participation_by_assignment(db, YEAR, filters, today=TODAY)
        whole_by_assignment = metrics._participation(db, UNNARROWED_BY_ASSIGNMENT, YEAR, filters, TODAY)
    for r in whole:
        r.pop("grp_order")
    assert narrowed == whole
    assert by_assignment == whole_by_assignment
    assert {r["leader_code"]: r["attended"] for r in narrowed} == attended
    # 4 quarters × 1 expected each; LB's report is late (8 days), LE's is missing
    assert {r["leader_code"]: (r["expected"], r["late_reports"], r["missing_reports"]) for r in narrowed} == {
        code: (4.0, int(code == "LB"), int(code == "LE")) for code in attended}


def test_whole_tree_figures_unchanged(world):
    with dbm.read(world) as db:
        narrowed = metrics.participation_by_leader(db, YEAR, Filters(), today=TODAY)
    # LA: CX, CS, CZ; LC: CY only (its 2024 meeting is outside the year)
    assert {r["leader_code"]: r["attended"] for r in narrowed} == {"LA": 3, "LB": 1, "LC": 1, "LD": 1, "LE": 1}


def _pairs(db, filters: Filters) -> int:
    params = metrics._params(YEAR, filters, TODAY, report_days=7)
    return metrics._rows(db, metrics.ASSIGNMENT_SQL + "\nselect count(*) as n from period_leaders", params)[0]["n"]


def test_a_commune_reads_only_the_pairs_of_the_cells_it_can_count(world):
    with dbm.read(world) as db:
        # the year's pairs: CX 2 + CS 3 + CZ 3 + CY 2 = 10; X's assignments count CX, CS, CZ: 8; S's: CS: 3;
        # Y rolled up (LC at Y, LE at Z): CY and CZ: 5
        assert _pairs(db, Filters()) == 10
        assert _pairs(db, Filters(unit_codes=("X",))) == 8
        assert _pairs(db, Filters(unit_codes=("X",), rollup=True)) == 8
        assert _pairs(db, Filters(unit_codes=("S",))) == 3
        assert _pairs(db, Filters(unit_codes=("Y",), rollup=True)) == 5
