"""The organisation tree (issue 11, first part): closure kept by triggers, the home node, figures by the children
of the node in view rolled up over subtrees, clerks scoped to subtrees, the migration of an existing database, and
the issuing body of the reports by date. Every expected number is worked out in a comment."""

import contextlib
import io
import json
import sqlite3
from datetime import date

import pytest
from docx import Document

import db.migrations as mig
from lib import assignments, cli, demo, directory, meetings, metrics, org, reports, store, users, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from lib.i18n import t
from lib.metrics import Filters
from tests.helpers import make_user

TODAY = date(2025, 7, 15)
Q2 = "2025-Q2"

# The world (today 15/07/2025, period 2025-Q2: April, May, June, all due):
#   TINH  province committee (the home node)
#     XA-A  commune A
#       A-BP  party sub-committee of A
#         S1  cell, day 10, since 2025
#         S2  cell, day 25, since 2025
#       A1  cell directly under A, day 5, since 2025
#       A2  cell under A, day 20, from 01/05/2025 (B1's hamlet after the merger)
#     XA-B  commune B, until 30/04/2025, merged into A
#       B1  cell, day 20, until 30/04/2025
# Cell-months of Q2: S1 3, S2 3, A1 3, A2 2 (May, June), B1 1 (April) = 12.
# Meetings (cell, day, total, exempt, present, excused, unexcused), all regular:
MEETINGS = [
    ("S1", "2025-04-10", 10, 0, 8, 2, 0),   # S1: June missing
    ("S1", "2025-05-10", 10, 0, 10, 0, 0),
    ("S2", "2025-04-25", 10, 0, 9, 0, 1),
    ("S2", "2025-05-25", 10, 0, 8, 2, 0),
    ("S2", "2025-06-20", 10, 0, 10, 0, 0),  # off its fixed day (25)
    ("A1", "2025-04-05", 20, 2, 15, 3, 0),  # A1: May missing
    ("A1", "2025-06-05", 20, 2, 18, 0, 0),
    ("A2", "2025-05-20", 12, 0, 12, 0, 0),
    ("A2", "2025-06-20", 12, 0, 9, 3, 0),
    ("B1", "2025-04-20", 12, 0, 6, 4, 2),
]
# Sums:  sub-committee A-BP (S1, S2): required 50, present 45, 5 meetings, cell-months 6, held 5, on schedule 4/5
#        A's own cells (A1, A2):     required 60, present 54, 4 meetings, cell-months 5, held 4, on schedule 4/4
#        A's subtree:                required 110, present 99, 9 meetings, cell-months 11, held 9, on schedule 8/9
#        B (B1):                     required 12, present 6, 1 meeting, cell-months 1, held 1, on schedule 1/1
# Leaders present (leader, cell, day):
PRESENT = [("L1", "S1", "2025-04-10"), ("L1", "A2", "2025-06-20"), ("L3", "S2", "2025-05-25"),
           ("L4", "S1", "2025-04-10")]
# Assignments (leader, unit, cell, valid from, valid to, required per quarter):
#   L1 commune A, 1/quarter: attends S1 (under the sub-committee, inside A's subtree) and A2: attended 2, expected 1
#   L2 commune B until 30/04, 1/quarter: valid in April only: expected 1/3 (1 third), attended 0
#   L3 the sub-committee, 2/quarter: attends S2: attended 1, expected 2 (6 thirds), capped 3 thirds
#   L4 cell A1, 1/quarter: was at S1, not A1: attended 0, expected 1 (3 thirds)
ASSIGNMENTS = [("L1", "XA-A", None, "2025-01-01", None, 1), ("L2", "XA-B", None, "2025-01-01", "2025-04-30", 1),
               ("L3", "A-BP", None, "2025-01-01", None, 2), ("L4", "XA-A", "A1", "2025-01-01", None, 1)]


def _build(db_path):
    with dbm.write(db_path) as db:
        u = {}
        for code, name, kind, parent, vf, vt in (
            ("TINH", "Tỉnh ủy Vĩnh Long", "tinh", None, None, None),
            ("XA-A", "Xã An Trường", "xa", "TINH", None, None),
            ("XA-B", "Xã Tân Bình", "xa", "TINH", None, "2025-04-30"),
            ("A-BP", "Đảng bộ bộ phận khối cơ quan", "dang_bo_bo_phan", "XA-A", None, None),
        ):
            u[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": kind, "valid_from": vf,
                                                         "valid_to": vt, "parent_id": u.get(parent)})
        directory.merge_unit(db, SYSTEM, u["XA-B"], u["XA-A"], "2025-04-30")
        org.set_home(db, SYSTEM, "TINH")
        c = {}
        for code, unit, day, vf, vt in (("S1", "A-BP", 10, "2025-01-01", None), ("S2", "A-BP", 25, "2025-01-01", None),
                                        ("A1", "XA-A", 5, "2025-01-01", None), ("A2", "XA-A", 20, "2025-05-01", None),
                                        ("B1", "XA-B", 20, "2025-01-01", "2025-04-30")):
            c[code] = directory.create_cell(db, SYSTEM, {"code": code, "unit_id": u[unit], "name": f"Chi bộ {code}",
                                                         "cell_type": "ap_khom", "meeting_day": day,
                                                         "valid_from": vf, "valid_to": vt})
        ldr = {code: directory.create_leader(db, SYSTEM, {"code": code, "full_name": f"Cán bộ {code}",
                                                          "grp": "uv_btv"}) for code in ("L1", "L2", "L3", "L4")}
        for lc, unit, cell, vf, vt, req in ASSIGNMENTS:
            assignments.create(db, SYSTEM, {"leader_id": ldr[lc], "unit_id": u[unit], "cell_id": c.get(cell),
                                            "decision_no": "1-QĐ/TU", "valid_from": vf, "valid_to": vt,
                                            "required_per_quarter": req}, today=TODAY)
        for cell, day, total, exempt, present, excused, unexcused in MEETINGS:
            leaders = [{"leader_id": ldr[lc], "report_submitted_on": day}
                       for lc, cc, d in PRESENT if (cc, d) == (cell, day)]
            meetings.create(db, SYSTEM, {"cell_id": c[cell], "held_on": day, "mtype": "thuong_ky",
                                         "members_total": total, "members_exempt": exempt, "present": present,
                                         "absent_excused": excused, "absent_unexcused": unexcused,
                                         "duration_minutes": 120}, leaders, today=TODAY)
        # Weaknesses noted in Q2: one of the sub-committee (open), one of B (open), one of A (resolved).
        for unit, noted, status, resolved in (("A-BP", "2025-05-02", "open", None),
                                              ("XA-B", "2025-04-15", "open", None),
                                              ("XA-A", "2025-04-01", "resolved", "2025-06-01")):
            weaknesses.create(db, SYSTEM, {"unit_id": u[unit], "category": "other", "description": "x",
                                           "noted_on": noted, "status": status, "resolved_on": resolved,
                                           "severity": "medium", "resolution": "Đã khắc phục" if resolved else None},
                             today=TODAY)
    return u, c


@pytest.fixture
def tree_world(db_path):
    units, cells = _build(db_path)
    return db_path, units, cells


def _rows(db_path, node=None, rollup=False, **kw):
    with dbm.read(db_path) as db:
        rows = metrics.attendance_by_unit(db, Q2, Filters(node=node, rollup=rollup, **kw), TODAY)
    return {r["unit_code"]: (r["meetings"], r["required"], r["present"], r["rate"], r["cell_months"], r["held"],
                             r["coverage"], r["on_schedule_rate"]) for r in rows}


def _compliance(db_path, node=None, rollup=False, **kw):
    with dbm.read(db_path) as db:
        tot = metrics.leader_totals(db, Q2, Filters(node=node, rollup=rollup, **kw), TODAY)
        leaders = {r["leader_code"]: (r["expected"], r["attended"], r["compliance"])
                   for r in metrics.participation_by_leader(db, Q2, Filters(node=node, rollup=rollup, **kw), TODAY)}
    return tot["expected"], tot["attended"], tot["compliance"], leaders


# ---- the closure table --------------------------------------------------------------------

def test_closure_follows_every_insert_and_move(tree_world):
    db_path, u, _ = tree_world
    with dbm.read(db_path) as db:
        pairs = {(a, d, n) for a, d, n in db.execute("select ancestor_id, descendant_id, depth from unit_tree")}
    # 4 units: 4 self rows, TINH over XA-A, XA-B, A-BP (3), XA-A over A-BP (1) = 8
    assert len(pairs) == 8
    assert (u["TINH"], u["A-BP"], 2) in pairs and (u["XA-A"], u["A-BP"], 1) in pairs
    with dbm.write(db_path) as db:
        # the sub-committee moves under B: TINH stays its ancestor at depth 2, A no longer is one
        directory.update(db, SYSTEM, "units", u["A-BP"], {"parent_id": u["XA-B"]})
        moved = {(a, d, n) for a, d, n in db.execute("select ancestor_id, descendant_id, depth from unit_tree")}
        assert (u["XA-B"], u["A-BP"], 1) in moved and (u["TINH"], u["A-BP"], 2) in moved
        assert not any(a == u["XA-A"] and d == u["A-BP"] for a, d, _ in moved)
        # and the triggers' result is what a rebuild from the parent links gives
        assert org.rebuild_tree(db) == 8
        assert {(a, d, n) for a, d, n in db.execute("select ancestor_id, descendant_id, depth from unit_tree")} == moved


def test_a_unit_cannot_be_put_under_itself_or_its_own_subtree(tree_world):
    db_path, u, _ = tree_world
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            directory.update(db, SYSTEM, "units", u["XA-A"], {"parent_id": u["A-BP"]})
        assert [(e.field, e.key) for e in exc.value.errors] == [("parent_id", "parent_cycle")]
        # and even SQL typed by hand is stopped by the trigger
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("update units set parent_id = ? where id = ?", [u["A-BP"], u["TINH"]])


def test_new_units_go_under_the_home_node(tree_world):
    db_path, u, _ = tree_world
    with dbm.write(db_path) as db:
        new = directory.create_unit(db, SYSTEM, {"code": "XA-C", "name": "Xã C", "kind": "xa"})
        assert store.get(db, "units", new)["parent_id"] == u["TINH"]
        assert [r["code"] for r in org.tree(db)] == ["TINH", "XA-A", "A-BP", "XA-B", "XA-C"]
        assert [r["code"] for r in org.ancestors(db, u["A-BP"])] == ["TINH", "XA-A", "A-BP"]


def test_without_a_home_setting_new_units_stay_roots(db_path):
    # a first unit is never taken as everyone's parent: only an explicit home node is
    with dbm.write(db_path) as db:
        directory.create_unit(db, SYSTEM, {"code": "U1", "name": "Xã 1", "kind": "xa"})
        second = directory.create_unit(db, SYSTEM, {"code": "U2", "name": "Xã 2", "kind": "xa"})
        assert store.get(db, "units", second)["parent_id"] is None
        assert org.home_node(db) is None  # two roots: the roots themselves are the rows


# ---- figures by the children of the node in view --------------------------------------------

def test_home_province_lists_its_communes_rolled_up_over_their_subtrees(tree_world):
    db_path, *_ = tree_world
    assert _rows(db_path) == {
        # A: 99/110 = 0.9; coverage 9/11 = 0.8182; on schedule 8/9 = 0.8889
        "XA-A": (9, 110, 99, 0.9, 11, 9, 0.8182, 0.8889),
        # B: 6/12 = 0.5; 1/1; 1/1
        "XA-B": (1, 12, 6, 0.5, 1, 1, 1.0, 1.0),
    }
    with dbm.read(db_path) as db:
        tot = metrics.attendance_totals(db, Q2, Filters(), TODAY)
    # 105/122 = 0.8607; coverage 10/12 = 0.8333
    assert (tot["required"], tot["present"], tot["rate"], tot["coverage"]) == (122, 105, 0.8607, 0.8333)


def test_rollup_puts_the_merged_commune_under_its_successor(tree_world):
    db_path, *_ = tree_world
    # B's April rolls into A: 110+12 = 122 required, 99+6 = 105 present: 0.8607; 12 cell-months, 10 held: 0.8333;
    # 9 of 10 on schedule
    assert _rows(db_path, rollup=True) == {"XA-A": (10, 122, 105, 0.8607, 12, 10, 0.8333, 0.9)}


def test_a_commune_in_view_lists_its_sub_committee_and_its_own_cells(tree_world):
    db_path, *_ = tree_world
    assert _rows(db_path, node="XA-A") == {
        # A's own cells A1, A2: 54/60 = 0.9; 4 of 5 cell-months: 0.8; 4/4 on schedule
        "XA-A": (4, 60, 54, 0.9, 5, 4, 0.8, 1.0),
        # the sub-committee: 45/50 = 0.9; 5 of 6: 0.8333; 4/5: 0.8
        "A-BP": (5, 50, 45, 0.9, 6, 5, 0.8333, 0.8),
    }
    # with rollup B's cell comes under A itself: 60+12 = 72 required, 54+6 = 60 present: 0.8333; 6 cell-months,
    # 5 held: 0.8333; 5/5 on schedule
    assert _rows(db_path, node="XA-A", rollup=True) == {
        "XA-A": (5, 72, 60, 0.8333, 6, 5, 0.8333, 1.0), "A-BP": (5, 50, 45, 0.9, 6, 5, 0.8333, 0.8)}
    # the sub-committee in view: one row, its own cells
    assert _rows(db_path, node="A-BP") == {"A-BP": (5, 50, 45, 0.9, 6, 5, 0.8333, 0.8)}


def test_unit_codes_mean_subtrees(tree_world):
    db_path, *_ = tree_world
    # the sub-committee chosen with the province in view: its row is its commune's (the child of the province)
    assert _rows(db_path, unit_codes=("A-BP",)) == {"XA-A": (5, 50, 45, 0.9, 6, 5, 0.8333, 0.8)}
    # the province chosen while a commune is in view: the commune lies inside it, so nothing is narrowed
    assert _rows(db_path, node="XA-A", unit_codes=("TINH",)) == _rows(db_path, node="XA-A")
    assert _rows(db_path, unit_codes=("XA-B",)) == {"XA-B": (1, 12, 6, 0.5, 1, 1, 1.0, 1.0)}


def test_missing_meetings_are_listed_under_the_child_in_view(tree_world):
    db_path, *_ = tree_world
    with dbm.read(db_path) as db:
        missing = metrics.missing_meetings(db, Q2, Filters(), TODAY)
        by_a = metrics.missing_meetings(db, Q2, Filters(node="XA-A"), TODAY)
    # S1 June and A1 May: both in A's subtree
    assert [(r["unit_code"], r["cell_code"], r["month"]) for r in missing] == [
        ("XA-A", "A1", "2025-05"), ("XA-A", "S1", "2025-06")]
    assert [(r["unit_code"], r["cell_code"]) for r in by_a] == [("A-BP", "S1"), ("XA-A", "A1")]


def test_leader_participation_at_every_level(tree_world):
    db_path, *_ = tree_world
    # province: thirds expected 3 (L1) + 1 (L2) + 6 (L3) + 3 (L4) = 13, capped 3 + 0 + 3 + 0 = 6: 6/13 = 0.4615;
    # expected 13/3 = 4.3333; attended 2 + 0 + 1 + 0 = 3
    expected, attended, compliance, leaders = _compliance(db_path)
    assert (expected, attended, compliance) == (4.3333, 3, 0.4615)
    # L1's unit-level assignment to A counts the meeting of a cell under A's sub-committee
    assert leaders == {"L1": (1.0, 2, 1.0), "L2": (0.3333, 0, 0.0), "L3": (2.0, 1, 0.5), "L4": (1.0, 0, 0.0)}
    # commune A: L1, L3, L4 (B's L2 is outside): 12 thirds, 6 capped: 0.5
    assert _compliance(db_path, node="XA-A")[:3] == (4.0, 3, 0.5)
    # with rollup B's assignment comes under A too: 6/13
    assert _compliance(db_path, node="XA-A", rollup=True)[:3] == (4.3333, 3, 0.4615)
    # the sub-committee: only L3's assignment is on it
    assert _compliance(db_path, node="A-BP")[2:] == (0.5, {"L3": (2.0, 1, 0.5)})


def test_weaknesses_count_under_the_child_in_view(tree_world):
    db_path, *_ = tree_world
    with dbm.read(db_path) as db:
        province = metrics.weakness_summary(db, Q2, Filters(), TODAY)
        commune = metrics.weakness_summary(db, Q2, Filters(node="XA-A"), TODAY)
    # the sub-committee's open one counts under A, with A's resolved one
    assert province["by_unit"] == [{"unit_code": "XA-A", "open": 1, "resolved": 1},
                                   {"unit_code": "XA-B", "open": 1, "resolved": 0}]
    assert province["open_now"] == 2
    assert commune["by_unit"] == [{"unit_code": "A-BP", "open": 1, "resolved": 0},
                                  {"unit_code": "XA-A", "open": 0, "resolved": 1}]


def test_every_page_bundle_equals_its_functions_on_the_tree(tree_world):
    # the pages' one-statement bundles and the single functions agree with a node in view, with and without rollup
    db_path, *_ = tree_world
    for filters in (Filters(), Filters(node="XA-A"), Filters(node="XA-A", rollup=True), Filters(rollup=True)):
        with dbm.read(db_path) as db:
            page = metrics.attendance_page(db, Q2, filters, TODAY)
            assert page["attendance_by_unit"] == metrics.attendance_by_unit(db, Q2, filters, TODAY)
            assert page["missing_meetings"] == metrics.missing_meetings(db, Q2, filters, TODAY)
            weak = metrics.weakness_page(db, Q2, filters, TODAY)
            assert weak["weakness_matrix"] == metrics.weakness_matrix(db, Q2, filters, TODAY)
            quality = metrics.quality_page(db, Q2, filters, TODAY)
            assert quality["quality_by_unit"] == metrics.quality_by_unit(db, Q2, filters, TODAY)


def test_metrics_cli_unit_lists_the_children_of_that_node(tree_world):
    db_path, *_ = tree_world
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", str(db_path), "metrics", "--period", Q2, "--unit", "XA-A", "--json"]) == 0
    data = json.loads(out.getvalue())
    assert [r["unit_code"] for r in data["attendance_by_unit"]] == ["A-BP", "XA-A"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", str(db_path), "units"]) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["TINH", "XA-A", "A-BP", "XA-B"]
    assert lines[2].startswith("    A-BP")  # two levels down


# ---- scope: a clerk's commune is its whole subtree ----------------------------------------------

def test_a_clerk_of_a_commune_sees_and_writes_its_whole_subtree_only(tree_world):
    db_path, u, c = tree_world
    make_user(db_path, "thu_ky_a", "clerk", [u["XA-A"]])
    with dbm.write(db_path) as db:
        clerk = users.actor_for(db, "thu_ky_a")
        assert clerk.unit_ids == {u["XA-A"], u["A-BP"]}
        # a meeting of a cell of the sub-committee: allowed
        meetings.create(db, clerk, {"cell_id": c["S1"], "held_on": "2025-06-12", "mtype": "chuyen_de",
                                    "members_total": 10, "members_exempt": 0, "present": 10, "absent_excused": 0,
                                    "absent_unexcused": 0}, today=TODAY)
        # commune B's cell: refused
        with pytest.raises(PermissionDenied):
            meetings.create(db, clerk, {"cell_id": c["B1"], "held_on": "2025-04-22", "mtype": "chuyen_de",
                                        "members_total": 12, "members_exempt": 0, "present": 12,
                                        "absent_excused": 0, "absent_unexcused": 0}, today=TODAY)
        # the dashboards' filters: opened at A (branch drill: the node in view, A's subtree needing no unit
        # filter); asking for B or the province is refused
        narrowed = org.scoped_filters(db, clerk, Filters())
        assert (narrowed.node, narrowed.unit_codes) == ("XA-A", ())
        assert org.scoped_filters(db, clerk, Filters(node="A-BP")).node == "A-BP"
        for asked in (Filters(unit_codes=("XA-B",)), Filters(node="TINH")):
            with pytest.raises(PermissionDenied):
                org.scoped_filters(db, clerk, asked)
    rows = _rows(db_path, node=narrowed.node, **{"unit_codes": narrowed.unit_codes})
    assert set(rows) == {"XA-A", "A-BP"}
    # an administrator's filters are left as they are
    with dbm.read(db_path) as db:
        assert org.scoped_filters(db, SYSTEM, Filters(node="TINH")) == Filters(node="TINH")


# ---- the migration of an existing database -------------------------------------------------

@contextlib.contextmanager
def _schema_before_m006():
    """dbm.init stops before m006: a database as the shipped versions wrote it."""
    original = mig.migrate
    mig.migrate = lambda db: mig.migrations.apply(db, stop_before="m006_org_tree")
    try:
        yield
    finally:
        mig.migrate = original


def _metrics_json(path, period, unit=None) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", str(path), "metrics", "--period", period, "--json",
                         *(["--unit", unit] if unit else [])]) == 0
    return out.getvalue()


DEMO_TODAY = date(2026, 11, 20)


def test_migration_leaves_every_demo_figure_unchanged(tmp_path):
    """The demo written by the shipped schema (up to m005), then migrated (a root district over its units, the
    home node), gives byte for byte the figures of the same demo held without a tree (every unit a root, each its
    own row, as the shipped code saw them)."""
    before, old = tmp_path / "before.db", tmp_path / "old.db"
    with _schema_before_m006():
        demo.load(old, today=DEMO_TODAY)
        with dbm.read(old) as db:
            assert "parent_id" not in db["units"].columns_dict
    demo.load(before, today=DEMO_TODAY, tree=False)  # the same demo as a forest, as the shipped versions wrote it
    dbm.init(old)  # the real migration
    tables = ("cells", "meetings", "meeting_leaders", "assignments", "weaknesses", "leaders")
    with dbm.read(old) as a, dbm.read(before) as b:
        for table in tables:  # the same data, so the comparison below means something
            # m008 adds columns the migration fills (an assignment's issuer); the shipped columns must agree
            cols = ", ".join(c for c in b[table].columns_dict if c != "issuer_unit_id")
            assert a.execute(f"select {cols} from {table} order by 1").fetchall() == \
                b.execute(f"select {cols} from {table} order by 1").fetchall(), table
    with dbm.read(old) as db:
        home = org.home_node(db)
        assert (home["code"], home["kind"], home["name"], home["parent_id"]) == ("HUYEN", "huyen",
                                                                              "Huyện ủy Càng Long", None)
        assert db.execute("select count(*) from units where parent_id is null").fetchone()[0] == 1
        # every other unit sits right under it, and the closure holds them
        n = db["units"].count
        assert db.execute("select count(*) from unit_tree where ancestor_id = ?", [home["id"]]).fetchone()[0] == n
        body = org.body_for(db, home["id"], "2025-06-30")
        assert (body["upper_line"], body["committee"], body["place"]) == ("ĐẢNG BỘ TỈNH VĨNH LONG",
                                                                          "Huyện ủy Càng Long", "Càng Long")
    for period in ("2024", "2025-Q2", "2025-Q3", "2025-06", "2026", "2026-Q3"):
        assert _metrics_json(old, period) == _metrics_json(before, period), period
    for unit in ("TANAN", "ANTRUONG25"):
        assert _metrics_json(old, "2025", unit) == _metrics_json(before, "2025", unit), unit
    # the page bundles too, with and without rollup and a commune chosen
    for filters in (Filters(), Filters(rollup=True), Filters(unit_codes=("NHILONG",)),
                    Filters(cell_types=("co_quan",))):
        for name in ("overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page"):
            with dbm.read(old) as a, dbm.read(before) as b:
                got = json.dumps(getattr(metrics, name)(a, "2025", filters, DEMO_TODAY), ensure_ascii=False)
                want = json.dumps(getattr(metrics, name)(b, "2025", filters, DEMO_TODAY), ensure_ascii=False)
            assert got == want, (name, filters)


def test_migration_of_a_fresh_database_creates_no_root(db_path):
    with dbm.read(db_path) as db:
        assert db["units"].count == 0 and db["issuing_bodies"].count == 0
        assert db.execute("select count(*) from settings where key = 'home_unit'").fetchone()[0] == 0


# ---- the issuing body by date -----------------------------------------------------------

def _docx_text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_body_for_takes_the_latest_in_force_on_the_day(db_path):
    with dbm.write(db_path) as db:
        d = directory.create_unit(db, SYSTEM, {"code": "HU", "name": "Huyện ủy Càng Long", "kind": "huyen"})
        org.create_body(db, SYSTEM, {"unit_id": d, "effective_from": "2020-01-01", "committee": "Huyện ủy Càng Long",
                                     "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH"})
        org.create_body(db, SYSTEM, {"unit_id": d, "effective_from": "2025-07-01", "committee": "Huyện ủy Càng Long",
                                     "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG", "recipients": "- A,\n- B."})
        assert org.body_for(db, d, "2019-12-31") is None
        assert org.body_for(db, d, "2025-06-30")["upper_line"] == "ĐẢNG BỘ TỈNH TRÀ VINH"
        assert org.body_for(db, d, date(2025, 7, 1))["recipients"] == ["- A,", "- B."]
        with pytest.raises(ValidationError) as exc:
            org.create_body(db, SYSTEM, {"unit_id": d, "effective_from": "01/07/2025", "committee": "X"})
        assert [(e.field, e.key) for e in exc.value.errors] == [("effective_from", "duplicate_body")]
        with pytest.raises(ValidationError) as exc:
            org.create_body(db, SYSTEM, {"unit_id": d, "effective_from": "2026-01-01"})
        assert [(e.field, e.key) for e in exc.value.errors] == [("committee", "required")]
        body = org.list_bodies(db, d)[0]
        org.update_body(db, SYSTEM, body["id"], {"place": "Càng Long"})
        assert org.body_for(db, d, "2024-01-01")["place"] == "Càng Long"
        assert db.execute("select count(*) from audit_log where table_name = 'issuing_bodies'").fetchone()[0] == 3
    make_user(db_path, "viewer1", "viewer")
    with dbm.write(db_path) as db, pytest.raises(PermissionDenied):
        org.create_body(db, users.actor_for(db, "viewer1"), {"unit_id": d, "effective_from": "2026-01-01",
                                                              "committee": "X"})


def test_the_same_period_from_a_district_era_body_and_from_a_commune_home(db_path):
    with dbm.write(db_path) as db:
        p = directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})
        d = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long", "kind": "huyen",
                                               "parent_id": p, "valid_to": "2025-06-30"})
        x = directory.create_unit(db, SYSTEM, {"code": "XA-AT", "name": "Xã An Trường", "kind": "xa",
                                               "parent_id": p, "valid_from": "2025-07-01"})
        org.create_body(db, SYSTEM, {"unit_id": d, "effective_from": "2016-01-01", "committee": "Huyện ủy Càng Long",
                                     "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH", "place": "Càng Long",
                                     "board": "Ban Tổ chức Huyện ủy", "signer_capacity": "T/M BAN THƯỜNG VỤ"})
        org.create_body(db, SYSTEM, {
            "unit_id": x, "effective_from": "2025-07-01", "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG",
            "committee": "Đảng ủy xã An Trường", "board": "Ban Xây dựng Đảng Đảng ủy xã", "symbol_suffix": "ĐU",
            "place": "An Trường", "signer_capacity": "T/M ĐẢNG ỦY", "signer_title": "BÍ THƯ",
            "recipients": ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Lưu Văn phòng Đảng ủy."]})
        org.set_home(db, SYSTEM, "HUYEN")
    district = _docx_text(reports.compiled_docx(db_path, Q2, today=TODAY))
    with dbm.write(db_path) as db:
        org.set_home(db, SYSTEM, "XA-AT")
    commune = _docx_text(reports.compiled_docx(db_path, "2025-Q3", today=date(2025, 10, 15)))
    assert "ĐẢNG BỘ TỈNH TRÀ VINH" in district and "HUYỆN ỦY CÀNG LONG" in district
    assert "/HU" in district and "Ban Tổ chức Huyện ủy" in district and "T/M BAN THƯỜNG VỤ" in district
    assert "Càng Long, ngày" in district
    assert "ĐẢNG BỘ TỈNH VĨNH LONG" in commune and "ĐẢNG ỦY XÃ AN TRƯỜNG" in commune
    assert "-BC/ĐU" in commune and "T/M ĐẢNG ỦY" in commune and "BÍ THƯ" in commune
    assert "Ban Xây dựng Đảng Đảng ủy xã" in commune and "Lưu Văn phòng Đảng ủy." in commune
    assert "An Trường, ngày" in commune
    assert "HUYỆN ỦY" not in commune and "Ban Tổ chức" not in commune
    # the commune's home, a period before it existed: the commune issues it now, under its first body (the wording
    # of the settings is no longer a fallback: branch bodies)
    before = _docx_text(reports.compiled_docx(db_path, Q2, today=TODAY))
    assert "ĐẢNG ỦY XÃ AN TRƯỜNG" in before and "HUYỆN ỦY" not in before


# ---- the Settings page: our organisation and the issuing bodies -------------------------------

def test_settings_page_sets_the_home_node_and_adds_and_edits_a_body(tree_world):
    from tests.helpers import app_test, login

    db_path, u, _ = tree_world
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau123").switch_page("pages/settings.py").run()
    assert at.selectbox(key="settings_home_unit").value == "TINH"
    at.selectbox(key="settings_home_unit").set_value("XA-A")
    at.button(key="settings_home_save").click().run()
    with dbm.read(db_path) as db:
        assert org.home_node(db)["code"] == "XA-A"
    at.selectbox(key="body_unit_id").set_value(u["XA-A"])
    at.date_input(key="body_effective_from").set_value(date(2025, 7, 1))
    at.text_input(key="body_committee").input("Đảng ủy xã An Trường")
    at.text_input(key="body_symbol_suffix").input("ĐU")
    at.text_area(key="body_recipients").input("- Ban Thường vụ Tỉnh ủy (b/c),\n- Lưu Văn phòng.")
    at.button(key="body_save").click().run()
    assert not at.exception and not at.error
    with dbm.read(db_path) as db:
        body = org.body_for(db, u["XA-A"], "2025-09-30")
    assert (body["committee"], body["symbol_suffix"], body["recipients"]) == (
        "Đảng ủy xã An Trường", "ĐU", ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Lưu Văn phòng."])
    # pick it, change the signer's title
    at.selectbox(key="body_pick").set_value(body["id"]).run()
    assert at.text_input(key="body_committee").value == "Đảng ủy xã An Trường"
    at.text_input(key="body_signer_title").input("BÍ THƯ")
    at.button(key="body_save").click().run()
    with dbm.read(db_path) as db:
        assert org.body_for(db, u["XA-A"], "2025-09-30")["signer_title"] == "BÍ THƯ"
    # a body without its committee is refused, naming the field
    at.selectbox(key="body_pick").set_value(None).run()
    at.button(key="body_save").click().run()
    assert any(t("field.committee") in e.value for e in at.error)
