"""Cells as rows of the weakness board, the weaknesses page and the leaders page at a node with only cells under it
(issue 11, branch cellrows): a commune home with three cells lists its cells, and a weakness noted for the commune
as a whole counts in a row of its own ("Toàn xã …"); at a province home the rows stay communes. Every expected
number is worked out in a comment."""

import json
from datetime import date

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from lib import assignments, directory, meetings, metrics, org, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM
from lib.i18n import t
from lib.metrics import Filters
from tests.helpers import make_user
from tests.test_pages_tree import Q2, start, table_column

TODAY = date(2025, 7, 15)

# The world (today 15/07/2025, period 2025-Q2: 1/4 – 30/6/2025):
#   TINH  Tỉnh ủy Vĩnh Long (root)
#     XA  Xã An Phú (the commune home): cells C1 Ấp Một, C2 Ấp Hai, C3 Ấp Ba, no sub-committee
#     XB  Xã Bình Hòa: cell D1 Ấp Bốn
UNITS = (("TINH", "Tỉnh ủy Vĩnh Long", "tinh", None), ("XA", "Xã An Phú", "xa", "TINH"),
         ("XB", "Xã Bình Hòa", "xa", "TINH"))
CELLS = (("C1", "XA", "Ấp Một"), ("C2", "XA", "Ấp Hai"), ("C3", "XA", "Ấp Ba"), ("D1", "XB", "Ấp Bốn"))
# Weaknesses (unit, cell, category, noted, status, resolved, due):
WEAKNESSES = (
    ("XA", "C1", "other", "2025-04-10", "open", None, "2025-05-01"),                    # period; open, overdue
    ("XA", "C1", "attendance_low", "2025-05-02", "resolved", "2025-06-01", None),       # period; resolved
    ("XA", "C2", "other", "2025-06-05", "in_progress", None, "2025-09-01"),             # period; open (in progress)
    ("XA", "C3", "other", "2025-03-01", "open", None, "2025-04-01"),                    # before: open now, overdue
    ("XA", None, "other", "2025-04-20", "open", None, "2025-08-01"),                    # period; the whole commune
    ("XB", "D1", "not_held", "2025-05-10", "open", None, None),                         # period; the other commune
)
# Noted in 2025-Q2 at XA, by cell (unit_code, cell_code, n, open, resolved):
#   C1: two noted, one open (other), one resolved        → (XA, C1, 2, 1, 1)
#   C2: one noted, in progress (counts as open)          → (XA, C2, 1, 1, 0)
#   C3: nothing noted in the period (its one is March's) → no row
#   the whole commune (no cell), after the cells: 1 noted, open → (XA, None, 1, 1, 0)
# Together 4 noted, 3 open, 1 resolved: XA's one row by unit, as before.
BY_CELL = [("XA", "C1", 2, 1, 1), ("XA", "C2", 1, 1, 0), ("XA", None, 1, 1, 0)]
# By cell and category: C1 is split in two (attendance_low resolved, other open).
MATRIX = [("XA", "C1", "attendance_low", 1, 0, 1), ("XA", "C1", "other", 1, 1, 0), ("XA", "C2", "other", 1, 1, 0),
          ("XA", None, "other", 1, 1, 0)]
WHOLE = "Toàn xã An Phú"


def build(path) -> dict:
    """Write the world through the stores (leaders: L1 in charge of XA as a whole, L2 of cell C1); cell ids."""
    dbm.init(path)
    with dbm.write(path) as db:
        u: dict[str, int] = {}
        for code, name, kind, parent in UNITS:
            u[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": kind,
                                                         "parent_id": u.get(parent)})
        c = {code: directory.create_cell(db, SYSTEM, {"code": code, "unit_id": u[unit], "name": name,
                                                      "cell_type": "ap_khom", "meeting_day": 10,
                                                      "valid_from": "2025-01-01"})
             for code, unit, name in CELLS}
        for unit, cell, category, noted, status, resolved, due in WEAKNESSES:
            weaknesses.create(db, SYSTEM, {"unit_id": u[unit], "cell_id": c[cell] if cell else None,
                                           "category": category, "description": "x", "noted_on": noted,
                                           "status": status, "resolved_on": resolved, "due_on": due,
                                           "severity": "medium", "resolution": "Đã khắc phục" if resolved else None},
                              today=TODAY)
        ldr = {code: directory.create_leader(db, SYSTEM, {"code": code, "full_name": f"Cán bộ {code}",
                                                          "grp": "uv_btv"}) for code in ("L1", "L2")}
        assignments.create(db, SYSTEM, {"leader_id": ldr["L1"], "unit_id": u["XA"], "decision_no": "1-QĐ/ĐU",
                                        "valid_from": "2025-01-01", "required_per_quarter": 1}, today=TODAY)
        assignments.create(db, SYSTEM, {"leader_id": ldr["L2"], "unit_id": u["XA"], "cell_id": c["C1"],
                                        "decision_no": "2-QĐ/ĐU", "valid_from": "2025-01-01",
                                        "required_per_quarter": 1}, today=TODAY)
        meetings.create(db, SYSTEM, {"cell_id": c["C1"], "held_on": "2025-05-10", "mtype": "thuong_ky",
                                     "members_total": 10, "members_exempt": 0, "present": 9, "absent_excused": 1,
                                     "absent_unexcused": 0, "duration_minutes": 120},
                        [{"leader_id": ldr["L1"], "report_submitted_on": "2025-05-10"},
                         {"leader_id": ldr["L2"], "report_submitted_on": "2025-05-10"}], today=TODAY)
    return c


@pytest.fixture(scope="module")
def commune(tmp_path_factory):
    """The world with commune XA as the home node, and an administrator."""
    path = tmp_path_factory.mktemp("cells") / "commune.db"
    build(path)
    with dbm.write(path) as db:
        org.set_home(db, SYSTEM, "XA")
    make_user(path, "quantri", "admin")
    return path


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The same world with the province as the home node."""
    path = tmp_path_factory.mktemp("cells") / "province.db"
    build(path)
    with dbm.write(path) as db:
        org.set_home(db, SYSTEM, "TINH")
    make_user(path, "quantri", "admin")
    return path


def by_cell(path, **filters):
    with dbm.read(path) as db:
        return metrics.weakness_by_cell(db, Q2, Filters(**filters), TODAY)


# ---- lib figures ------------------------------------------------------------------------------------


def test_weaknesses_by_cell_at_a_commune_home(commune):
    got = by_cell(commune)
    assert [(r["unit_code"], r["cell_code"], r["n"], r["open"], r["resolved"]) for r in got["by_cell"]] == BY_CELL
    assert [(r["unit_code"], r["cell_code"], r["category"], r["n"], r["open"], r["resolved"])
            for r in got["matrix"]] == MATRIX
    assert [r["cell_name"] for r in got["by_cell"]] == ["Ấp Một", "Ấp Hai", None]
    # the same weaknesses as the one row by unit, whose figures do not move
    with dbm.read(commune) as db:
        summary = metrics.weakness_page(db, Q2, Filters(), TODAY)["weakness_summary"]
    assert summary["by_unit"] == [{"unit_code": "XA", "open": 3, "resolved": 1}]
    assert sum(r["n"] for r in got["by_cell"]) == sum(summary["by_status"].values()) == 4


def test_weaknesses_by_cell_when_drilled_into_a_commune_from_the_province(province):
    assert [(r["unit_code"], r["cell_code"], r["n"], r["open"], r["resolved"])
            for r in by_cell(province, node="XA")["by_cell"]] == BY_CELL
    # at the province itself each cell counts under its commune: XB's D1 too (1 noted, open)
    assert [(r["unit_code"], r["cell_code"], r["n"]) for r in by_cell(province)["by_cell"]] == [
        ("XA", "C1", 2), ("XA", "C2", 1), ("XA", None, 1), ("XB", "D1", 1)]


def test_weaknesses_by_cell_read_the_weaknesses_once(commune):
    traced: list[str] = []
    with dbm.read(commune) as db:
        db.conn.set_trace_callback(traced.append)
        try:
            metrics.weakness_by_cell(db, Q2, Filters(), TODAY)
        finally:
            db.conn.set_trace_callback(None)
    assert sum("from weaknesses" in s for s in traced) == 1


def matrix_chart(at, title_key: str) -> list[str]:
    """The column names (unit_name) of the weakness matrix chart with this title."""
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", {})
        if (title.get("text") if isinstance(title, dict) else title) == t(title_key):
            frame = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
            return list(frame["unit_name"])
    raise AssertionError(f"no chart titled {t(title_key)}")


# ---- pages ----------------------------------------------------------------------------------------------


def test_the_weakness_board_at_a_commune_home_lists_its_cells(commune, monkeypatch):
    at = start(commune, monkeypatch, page="pages/weakness_board.py")
    # the counts by cell: the cells with weaknesses noted in the quarter, then the whole commune's row
    assert table_column(at, t("field.cell_id"), t("dash.w_open")) == ["Ấp Một", "Ấp Hai", WHOLE]
    assert table_column(at, t("chart.count"), t("field.cell_id")) == [2, 1, 1]
    assert table_column(at, t("dash.w_open"), t("field.cell_id")) == [1, 1, 1]
    # the matrix by cell and category
    assert table_column(at, t("field.cell_id"), t("field.category"), t("dash.w_open")) == [
        "Ấp Một", "Ấp Một", "Ấp Hai", WHOLE]
    # no table of the commune as one row; the matrix chart's columns are the cells, and its title says so
    assert not any(t("chart.unit") in f.value.columns for f in at.dataframe)
    assert matrix_chart(at, "cell_rows.chart_title") == ["Ấp Một", "Ấp Một", "Ấp Hai", WHOLE]
    # the open list (oldest first): each weakness by its cell, the commune's own one named for the commune
    assert table_column(at, t("field.cell_id"), t("field.due_on"), t("dash.age_days"))[-4:] == [
        "Ấp Ba", "Ấp Một", WHOLE, "Ấp Hai"]


def test_the_weakness_board_drilled_into_a_commune_lists_its_cells(province, monkeypatch):
    at = start(province, monkeypatch, page="pages/weakness_board.py", to_chuc="XA")
    assert table_column(at, t("field.cell_id"), t("dash.w_open")) == ["Ấp Một", "Ấp Hai", WHOLE]


def test_the_weakness_board_at_a_province_home_keeps_communes_as_rows(province, monkeypatch):
    at = start(province, monkeypatch, page="pages/weakness_board.py")
    # XA: other, attendance_low; XB: not_held (the matrix sorted by unit code and category)
    assert table_column(at, t("chart.unit"), t("dash.w_open")) == ["Xã An Phú", "Xã An Phú", "Xã Bình Hòa"]
    assert table_column(at, t("chart.unit"), t("field.cell_id")) == ["Xã An Phú"] * 4
    assert matrix_chart(at, "chart.weakness_matrix") == ["Xã An Phú", "Xã An Phú", "Xã Bình Hòa"]
    assert not any(t("chart.unit") not in f.value.columns and t("dash.w_open") in f.value.columns
                   for f in at.dataframe)


def test_the_weaknesses_page_tells_cells_apart(commune, monkeypatch):
    at = start(commune, monkeypatch, page="pages/weaknesses.py")
    cells = table_column(at, t("field.cell_id"), t("field.category"))
    assert sorted(cells) == sorted(["Ấp Một", "Ấp Một", "Ấp Hai", "Ấp Ba", t("dash.tables.whole_unit"), "Ấp Bốn"])
    picks = at.selectbox(key="weak_u_pick").options
    assert any("Ấp Hai" in p and "Xã An Phú" in p for p in picks)
    assert any(t("dash.tables.whole_unit") in p for p in picks)


def test_the_leaders_page_at_a_commune_home_names_the_cell(commune, monkeypatch):
    at = start(commune, monkeypatch, page="pages/leaders.py")
    for leader, cell in (("L1", WHOLE), ("L2", "Ấp Một")):
        at.selectbox(key="lead_pick").select(leader).run()
        assert table_column(at, t("field.cell_id"), t("field.decision_no")) == [cell]
        assert not any(t("chart.unit") in f.value.columns for f in at.dataframe if
                       t("field.decision_no") in f.value.columns)
        # the meetings attended: C1's of 10/05/2025, by its cell
        assert table_column(at, t("field.cell_id"), t("field.held_on")) == ["Ấp Một"]


def test_the_leaders_page_at_a_province_home_keeps_the_unit(province, monkeypatch):
    at = start(province, monkeypatch, page="pages/leaders.py")
    at.selectbox(key="lead_pick").select("L1").run()
    assert table_column(at, t("chart.unit"), t("field.decision_no")) == ["Xã An Phú"]
    assert table_column(at, t("field.cell_id"), t("field.decision_no")) == [""]
