"""Figures at every level of a hand-built three-level tree (issue 11, branch drill): province, commune, party
sub-committee and cells, rolled up and not, with a commune merged in the middle of the quarter; the node in view
and its breadcrumbs, and dashboards scoped to a clerk's subtrees. Every expected number is worked out in a comment.
(tests/test_org_tree.py covers the tree itself; this file covers the levels and the scope of the dashboards.)"""

from datetime import date

import pytest

from lib import assignments, directory, meetings, metrics, org, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from lib.metrics import Filters
from tests.helpers import make_user

TODAY = date(2025, 7, 15)
Q2 = "2025-Q2"

# The world (today 15/07/2025, period 2025-Q2: April, May, June, all due):
#   TINH  Tỉnh ủy (the home node)
#     XA-A  commune A
#       A-BP  party sub-committee of A
#         S1  cell, day 10
#         S2  cell, day 20
#       A1  cell directly under A, day 5
#     XA-O  old commune, until 15/05/2025, merged into C
#       O1  cell, day 8, until 15/05/2025
#     XA-C  commune C, from 16/05/2025 (the 16th of the quarter's second month)
#       C1  cell, day 25, from 16/05/2025
# A cell-month counts when the cell is valid on the month's first day:
#   S1 3, S2 3, A1 3, O1 2 (April, May: valid on 1/5, gone by 1/6), C1 1 (June: not yet on 1/5) = 12.
UNITS = (("TINH", "Tỉnh ủy Vĩnh Long", "tinh", None, None, None),
         ("XA-A", "Xã An Trường", "xa", "TINH", None, None),
         ("A-BP", "Đảng bộ bộ phận khối cơ quan", "dang_bo_bo_phan", "XA-A", None, None),
         ("XA-O", "Xã Tân Bình (cũ)", "xa", "TINH", None, "2025-05-15"),
         ("XA-C", "Xã Tân Hòa", "xa", "TINH", "2025-05-16", None))
CELLS = (("S1", "A-BP", 10, "2025-01-01", None), ("S2", "A-BP", 20, "2025-01-01", None),
         ("A1", "XA-A", 5, "2025-01-01", None), ("O1", "XA-O", 8, "2025-01-01", "2025-05-15"),
         ("C1", "XA-C", 25, "2025-05-16", None))
# Regular meetings (cell, day, total, exempt, present, excused, unexcused):
MEETINGS = [
    ("S1", "2025-04-10", 10, 0, 9, 1, 0),
    ("S1", "2025-05-10", 10, 0, 8, 2, 0),
    ("S1", "2025-06-10", 10, 0, 10, 0, 0),   # S1: 3 held, required 30, present 27, 3/3 on its day
    ("S2", "2025-04-20", 8, 0, 6, 2, 0),
    ("S2", "2025-06-22", 8, 0, 8, 0, 0),     # S2: May missing, off its day (20) in June: 2 held, 16, 14, 1/2
    ("A1", "2025-04-05", 20, 2, 15, 3, 0),
    ("A1", "2025-05-05", 20, 2, 18, 0, 0),   # A1: June missing: 2 held, required 36, present 33, 2/2
    ("O1", "2025-04-08", 12, 0, 6, 4, 2),
    ("O1", "2025-05-08", 12, 0, 9, 3, 0),    # O1: 2 held of 2, required 24, present 15, 2/2
    ("C1", "2025-06-25", 15, 1, 12, 2, 0),   # C1: 1 held of 1, required 14, present 12, 1/1
]
# Sums:  A-BP (S1, S2):   5 meetings, required 46, present 41, cell-months 6, held 5, on schedule 4/5
#        A's own (A1):    2 meetings, required 36, present 33, cell-months 3, held 2, on schedule 2/2
#        A's subtree:     7 meetings, required 82, present 74, cell-months 9, held 7, on schedule 6/7
#        O (O1):          2 meetings, required 24, present 15, cell-months 2, held 2, on schedule 2/2
#        C (C1):          1 meeting,  required 14, present 12, cell-months 1, held 1, on schedule 1/1
# Leaders present (leader, cell, day) and assignments (leader, unit, from, to, required per quarter):
PRESENT = [("L1", "S1", "2025-04-10"), ("L1", "A1", "2025-05-05"), ("L2", "O1", "2025-05-08"),
           ("L4", "S2", "2025-04-20")]
ASSIGNMENTS = [("L1", "XA-A", "2025-01-01", None, 1),          # April-June: 3 thirds; attends 2 (S1, A1): 3 capped
               ("L2", "XA-O", "2025-01-01", "2025-05-15", 1),  # April, May: 2 thirds; attends O1: 2 capped
               ("L3", "XA-C", "2025-05-16", None, 1),          # May, June: 2 thirds; attends nothing: 0
               ("L4", "A-BP", "2025-01-01", None, 2)]          # 6 thirds; attends S2 once: 3 capped
# Weaknesses (unit, noted, status): open now are W1, W2, W3
WEAKNESSES = [("A-BP", "2025-04-10", "open", None), ("XA-A", "2025-05-01", "open", None),
              ("XA-O", "2025-04-20", "open", None), ("XA-C", "2025-06-01", "resolved", "2025-06-20")]


def build(db_path) -> tuple[dict, dict]:
    """Write the world above through the stores; return the unit and cell ids by code."""
    with dbm.write(db_path) as db:
        u: dict[str, int] = {}
        for code, name, kind, parent, vf, vt in UNITS:
            u[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": kind, "valid_from": vf,
                                                         "valid_to": vt, "parent_id": u.get(parent)})
        directory.merge_unit(db, SYSTEM, u["XA-O"], u["XA-C"], "2025-05-15")
        org.set_home(db, SYSTEM, "TINH")
        c = {code: directory.create_cell(db, SYSTEM, {"code": code, "unit_id": u[unit], "name": f"Chi bộ {code}",
                                                      "cell_type": "ap_khom", "meeting_day": day, "valid_from": vf,
                                                      "valid_to": vt})
             for code, unit, day, vf, vt in CELLS}
        ldr = {code: directory.create_leader(db, SYSTEM, {"code": code, "full_name": f"Cán bộ {code}",
                                                          "grp": "uv_btv"}) for code in ("L1", "L2", "L3", "L4")}
        for lc, unit, vf, vt, req in ASSIGNMENTS:
            assignments.create(db, SYSTEM, {"leader_id": ldr[lc], "unit_id": u[unit], "decision_no": "1-QĐ/TU",
                                            "valid_from": vf, "valid_to": vt, "required_per_quarter": req},
                               today=TODAY)
        for cell, day, total, exempt, present, excused, unexcused in MEETINGS:
            leaders = [{"leader_id": ldr[lc], "report_submitted_on": day}
                       for lc, cc, d in PRESENT if (cc, d) == (cell, day)]
            meetings.create(db, SYSTEM, {"cell_id": c[cell], "held_on": day, "mtype": "thuong_ky",
                                         "members_total": total, "members_exempt": exempt, "present": present,
                                         "absent_excused": excused, "absent_unexcused": unexcused,
                                         "duration_minutes": 120}, leaders, today=TODAY)
        for unit, noted, status, resolved in WEAKNESSES:
            weaknesses.create(db, SYSTEM, {"unit_id": u[unit], "category": "other", "description": "x",
                                           "noted_on": noted, "status": status, "resolved_on": resolved,
                                           "severity": "medium", "resolution": "Đã khắc phục" if resolved else None},
                              today=TODAY)
    return u, c


@pytest.fixture
def world(db_path):
    units, cells = build(db_path)
    return db_path, units, cells


def rows(db_path, node=None, rollup=False, **kw):
    with dbm.read(db_path) as db:
        found = metrics.attendance_by_unit(db, Q2, Filters(node=node, rollup=rollup, **kw), TODAY)
    return {r["unit_code"]: (r["meetings"], r["required"], r["present"], r["rate"], r["cell_months"], r["held"],
                             r["coverage"], r["on_schedule_rate"]) for r in found}


def headline(db_path, node=None, rollup=False):
    with dbm.read(db_path) as db:
        cur = metrics.overview(db, Q2, Filters(node=node, rollup=rollup), TODAY)["current"]
    return (cur["attendance_rate"], cur["coverage"], cur["meetings"], cur["missing_meetings"],
            cur["leader_compliance"], cur["weaknesses_open"])


def open_by_unit(db_path, node=None, rollup=False):
    with dbm.read(db_path) as db:
        summary = metrics.weakness_summary(db, Q2, Filters(node=node, rollup=rollup), TODAY)
    return {r["unit_code"]: (r["open"], r["resolved"]) for r in summary["by_unit"]}, summary["open_now"]


# ---- figures at every level ------------------------------------------------------------------------

def test_province_rows_are_its_communes_not_rolled_up(world):
    db_path, *_ = world
    assert rows(db_path) == {
        # A's subtree: 74/82 = 0.9024; 7 of 9 cell-months: 0.7778; 6 of 7 on their day: 0.8571
        "XA-A": (7, 82, 74, 0.9024, 9, 7, 0.7778, 0.8571),
        # C: 12/14 = 0.8571; its one June cell-month held
        "XA-C": (1, 14, 12, 0.8571, 1, 1, 1.0, 1.0),
        # the old commune keeps its own row: 15/24 = 0.625; April and May held
        "XA-O": (2, 24, 15, 0.625, 2, 2, 1.0, 1.0),
    }
    # the province: 101/120 = 0.8417; 10 of 12 held: 0.8333; 10 meetings, 2 missing;
    # leaders: thirds 3 + 2 + 2 + 6 = 13, capped 3 + 2 + 0 + 3 = 8: 8/13 = 0.6154; 3 weaknesses open
    assert headline(db_path) == (0.8417, 0.8333, 10, 2, 0.6154, 3)


def test_province_rows_rolled_up_put_the_old_commune_under_its_successor(world):
    db_path, *_ = world
    assert rows(db_path, rollup=True) == {
        "XA-A": (7, 82, 74, 0.9024, 9, 7, 0.7778, 0.8571),
        # C with O: 27/38 = 0.7105; 3 of 3 cell-months; 3/3 on their day
        "XA-C": (3, 38, 27, 0.7105, 3, 3, 1.0, 1.0),
    }
    # the province's totals do not change with rollup: the same cells, counted under other rows
    assert headline(db_path, rollup=True) == (0.8417, 0.8333, 10, 2, 0.6154, 3)


def test_commune_rows_are_its_sub_committee_and_its_own_cells(world):
    db_path, *_ = world
    assert rows(db_path, node="XA-A") == {
        # the sub-committee: 41/46 = 0.8913; 5 of 6: 0.8333; 4/5 on their day: 0.8
        "A-BP": (5, 46, 41, 0.8913, 6, 5, 0.8333, 0.8),
        # A's own cell A1: 33/36 = 0.9167; 2 of 3: 0.6667; 2/2
        "XA-A": (2, 36, 33, 0.9167, 3, 2, 0.6667, 1.0),
    }
    # nothing was merged into A: rollup changes nothing at A
    assert rows(db_path, node="XA-A", rollup=True) == rows(db_path, node="XA-A")
    # A's headline: 74/82, 7 of 9, 7 meetings, 2 missing; leaders L1 (3 of 3 thirds) and L4 (3 of 6): 6/9 = 0.6667;
    # open: the sub-committee's and A's own
    assert headline(db_path, node="XA-A") == (0.9024, 0.7778, 7, 2, 0.6667, 2)


def test_merged_commune_in_view_not_rolled_up_and_rolled_up(world):
    db_path, *_ = world
    # C alone: its June only; L3 expected 2 thirds, attended nothing: 0.0; no weakness open (W4 resolved)
    assert rows(db_path, node="XA-C") == {"XA-C": (1, 14, 12, 0.8571, 1, 1, 1.0, 1.0)}
    assert headline(db_path, node="XA-C") == (0.8571, 1.0, 1, 0, 0.0, 0)
    # C with the old commune's history: 27/38; L2 (2 of 2 thirds) and L3 (0 of 2): 2/4 = 0.5; O's weakness open
    assert rows(db_path, node="XA-C", rollup=True) == {"XA-C": (3, 38, 27, 0.7105, 3, 3, 1.0, 1.0)}
    assert headline(db_path, node="XA-C", rollup=True) == (0.7105, 1.0, 3, 0, 0.5, 1)


def test_sub_committee_rows_and_its_cells(world):
    db_path, *_ = world
    assert rows(db_path, node="A-BP") == {"A-BP": (5, 46, 41, 0.8913, 6, 5, 0.8333, 0.8)}
    # L4 only: 3 of 6 thirds = 0.5; the sub-committee's one weakness
    assert headline(db_path, node="A-BP") == (0.8913, 0.8333, 5, 1, 0.5, 1)
    with dbm.read(db_path) as db:
        cells = metrics.attendance_by_cell(db, Q2, Filters(node="A-BP"), TODAY)
    # the cells are the rows below it: S1 27/30 = 0.9, 3 of 3; S2 14/16 = 0.875, 2 of 3 = 0.6667, 1 of 2 on its day
    assert {c["cell_code"]: (c["meetings"], c["required"], c["present"], c["rate"], c["held"], c["coverage"],
                             c["on_schedule_rate"]) for c in cells} == {
        "S1": (3, 30, 27, 0.9, 3, 1.0, 1.0), "S2": (2, 16, 14, 0.875, 2, 0.6667, 0.5)}


def test_quality_by_cell_at_a_sub_committee(world):
    db_path, *_ = world
    with dbm.read(db_path) as db:
        cells = metrics.quality_by_cell(db, Q2, Filters(node="A-BP"), TODAY)
        commune = metrics.quality_by_cell(db, Q2, Filters(node="XA-A"), TODAY)
    # every meeting unrated and 120 minutes long: S1 3, S2 2, none short
    assert [(c["cell_code"], c["unit_code"], c["meetings"], c["unrated"], c["with_duration"], c["short"])
            for c in cells] == [("S1", "A-BP", 3, 3, 3, 0), ("S2", "A-BP", 2, 2, 2, 0)]
    # at the commune the cells count under their rows: the sub-committee's two, then A's own A1 (2 meetings)
    assert [(c["unit_code"], c["cell_code"], c["meetings"]) for c in commune] == [
        ("A-BP", "S1", 3), ("A-BP", "S2", 2), ("XA-A", "A1", 2)]


def test_cells_of_a_commune_report_under_the_row_they_belong_to(world):
    db_path, *_ = world
    with dbm.read(db_path) as db:
        cells = metrics.attendance_by_cell(db, Q2, Filters(node="XA-A"), TODAY)
        province = metrics.attendance_by_cell(db, Q2, Filters(), TODAY)
    assert [(c["unit_code"], c["cell_code"]) for c in cells] == [("A-BP", "S1"), ("A-BP", "S2"), ("XA-A", "A1")]
    assert [(c["unit_code"], c["cell_code"]) for c in province] == [
        ("XA-A", "A1"), ("XA-A", "S1"), ("XA-A", "S2"), ("XA-C", "C1"), ("XA-O", "O1")]


def test_weaknesses_open_at_every_level(world):
    db_path, *_ = world
    assert open_by_unit(db_path) == ({"XA-A": (2, 0), "XA-C": (0, 1), "XA-O": (1, 0)}, 3)
    assert open_by_unit(db_path, rollup=True) == ({"XA-A": (2, 0), "XA-C": (1, 1)}, 3)
    assert open_by_unit(db_path, node="XA-A") == ({"A-BP": (1, 0), "XA-A": (1, 0)}, 2)
    assert open_by_unit(db_path, node="A-BP") == ({"A-BP": (1, 0)}, 1)


def test_leader_compliance_at_every_level(world):
    db_path, *_ = world
    with dbm.read(db_path) as db:
        def by_leader(node=None, rollup=False):
            return {r["leader_code"]: (r["expected"], r["attended"], r["compliance"]) for r in
                    metrics.participation_by_leader(db, Q2, Filters(node=node, rollup=rollup), TODAY)}

        # L1: 1 expected, attended 2 (a cell of A's sub-committee counts for A): 1.0; L2 2/3 expected, 1: 1.0;
        # L3 2/3 expected, none: 0.0; L4 2 expected, 1: 0.5
        assert by_leader() == {"L1": (1.0, 2, 1.0), "L2": (0.6667, 1, 1.0), "L3": (0.6667, 0, 0.0),
                               "L4": (2.0, 1, 0.5)}
        assert by_leader("XA-A") == {"L1": (1.0, 2, 1.0), "L4": (2.0, 1, 0.5)}
        assert by_leader("A-BP") == {"L4": (2.0, 1, 0.5)}
        assert by_leader("XA-C", rollup=True) == {"L2": (0.6667, 1, 1.0), "L3": (0.6667, 0, 0.0)}


# ---- the node in view, its breadcrumbs and children --------------------------------------------------

def test_node_view_gives_breadcrumbs_children_and_cells(world):
    db_path, *_ = world
    with dbm.read(db_path) as db:
        home = org.node_view(db, SYSTEM, None)
        assert (home.code, home.trail, home.top) == ("TINH", (("TINH", "Tỉnh ủy Vĩnh Long"),), "TINH")
        assert [c for c, _ in home.children] == ["XA-A", "XA-C", "XA-O"] and home.cells == 0
        commune = org.node_view(db, SYSTEM, "XA-A")
        assert [c for c, _ in commune.trail] == ["TINH", "XA-A"]
        assert commune.children == (("A-BP", "Đảng bộ bộ phận khối cơ quan"),) and commune.cells == 1
        sub = org.node_view(db, SYSTEM, "A-BP")
        # the sub-committee has only cells: no child units, its two cells are its rows
        assert [c for c, _ in sub.trail] == ["TINH", "XA-A", "A-BP"] and sub.children == () and sub.cells == 2


def test_an_unknown_node_is_refused_by_name(world):
    db_path, *_ = world
    with dbm.write(db_path) as db:
        with pytest.raises(ValidationError) as exc:
            org.node_view(db, SYSTEM, "KHONG-CO")
        assert [(e.field, e.key) for e in exc.value.errors] == [("drill.node", "unknown_code")]
        # a root left beside the home node's tree is not part of the organisation followed
        directory.create_unit(db, SYSTEM, {"code": "LE", "name": "Đơn vị lẻ", "kind": "xa", "parent_id": None})
        db.execute("update units set parent_id = null where code = 'LE'")
        with pytest.raises(ValidationError) as exc:
            org.node_view(db, SYSTEM, "LE")
        assert [(e.field, e.key) for e in exc.value.errors] == [("drill.node", "drill.outside_tree")]


# ---- scope: a clerk's dashboards open at their node and stay inside their subtrees ---------------------

def test_a_clerk_of_one_commune_opens_at_it_and_cannot_leave_it(world):
    db_path, u, _ = world
    make_user(db_path, "thu_ky_a", "clerk", [u["XA-A"]])
    with dbm.read(db_path) as db:
        from lib import users

        clerk = users.actor_for(db, "thu_ky_a")
        view = org.node_view(db, clerk, None)
        # the trail starts at their commune: the province above it is not theirs
        assert (view.code, [c for c, _ in view.trail]) == ("XA-A", ["XA-A"])
        filters = org.scoped_filters(db, clerk, Filters())
        assert (filters.node, filters.unit_codes) == ("XA-A", ())
        assert set(metrics.attendance_by_unit(db, Q2, filters, TODAY)[i]["unit_code"] for i in (0, 1)) == {
            "A-BP", "XA-A"}
        assert [c for c, _ in org.node_view(db, clerk, "A-BP").trail] == ["XA-A", "A-BP"]
        for other in ("TINH", "XA-C"):
            with pytest.raises(PermissionDenied) as exc:
                org.node_view(db, clerk, other)
            assert exc.value.key == "drill.view_out_of_scope"
        with pytest.raises(PermissionDenied):
            org.scoped_filters(db, clerk, Filters(unit_codes=("XA-O",)))
        assert {r["code"] for r in org.visible_units(db, clerk)} == {"A-BP", "XA-A"}


def test_a_clerk_of_two_communes_opens_at_the_province_with_only_their_rows(world):
    db_path, u, _ = world
    make_user(db_path, "thu_ky_ac", "clerk", [u["A-BP"], u["XA-C"]])
    with dbm.read(db_path) as db:
        from lib import users

        clerk = users.actor_for(db, "thu_ky_ac")
        view = org.node_view(db, clerk, None)
        # the lowest node over both is the province; its children shown are those holding their units
        assert view.code == "TINH" and [c for c, _ in view.children] == ["XA-A", "XA-C"]
        filters = org.scoped_filters(db, clerk, Filters())
        assert (filters.node, filters.unit_codes) == ("TINH", ("A-BP", "XA-C"))
        # commune A's row holds only the sub-committee (not A's own cell A1): 41/46; C its own: 12/14
        assert rows(db_path, node="TINH", unit_codes=filters.unit_codes) == {
            "XA-A": (5, 46, 41, 0.8913, 6, 5, 0.8333, 0.8), "XA-C": (1, 14, 12, 0.8571, 1, 1, 1.0, 1.0)}
        # commune A lies between their opening node and their sub-committee: allowed, still narrowed
        assert org.scoped_filters(db, clerk, Filters(node="XA-A")).unit_codes == ("A-BP", "XA-C")
        assert [c for c, _ in org.node_view(db, clerk, "XA-A").children] == ["A-BP"]
        with pytest.raises(PermissionDenied):
            org.node_view(db, clerk, "XA-O")


def test_viewers_see_everything_unless_given_units(world):
    db_path, u, _ = world
    make_user(db_path, "xem", "viewer")
    with dbm.write(db_path) as db:
        from lib import users

        viewer = users.actor_for(db, "xem")
        assert org.scoped_filters(db, viewer, Filters()) == Filters()
        assert org.node_view(db, viewer, "XA-O").code == "XA-O"
        # users.py gives viewers no units; one written by hand scopes the viewer like a clerk
        db.execute("insert into user_units(username, unit_id) values ('xem', ?)", [u["XA-C"]])
        assert org.scoped_filters(db, viewer, Filters()).node == "XA-C"
        with pytest.raises(PermissionDenied):
            org.node_view(db, viewer, "XA-A")


def test_report_units_are_the_subtree_under_the_opening_node(world):
    db_path, u, _ = world
    make_user(db_path, "thu_ky_a", "clerk", [u["XA-A"]])
    with dbm.read(db_path) as db:
        from lib import users

        assert [(r["code"], r["depth"]) for r in org.report_units(db, SYSTEM)] == [
            ("XA-A", 1), ("A-BP", 2), ("XA-C", 1), ("XA-O", 1)]
        assert [(r["code"], r["depth"]) for r in org.report_units(db, users.actor_for(db, "thu_ky_a"))] == [
            ("A-BP", 1)]
