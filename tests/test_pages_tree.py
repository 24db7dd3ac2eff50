"""Dashboards on an organisation tree through AppTest from app.py (issue 11, branch drill): with the home node a
province and with the home node a commune every dashboard and the report page show the home node's children as
their rows; the node in view is kept in the URL (?to_chuc=CODE) with breadcrumbs back up; a drill-down goes to a
commune, its sub-committee and the cells' meetings; a clerk sees only their subtree and is refused another one.
The world is tests/test_org_levels.py's hand-built tree (period 2025-Q2)."""

import pytest

from lib import db as dbm
from lib import org
from lib.domain import SYSTEM
from lib.i18n import t
from tests.helpers import app_test, current_page, fast_hashing, login, make_user
from tests.test_org_levels import build

Q2 = "2025-Q2"
PASSWORD = "Matkhau123"
NAMES = {"TINH": "Tỉnh ủy Vĩnh Long", "XA-A": "Xã An Trường", "A-BP": "Đảng bộ bộ phận khối cơ quan",
         "XA-O": "Xã Tân Bình (cũ)", "XA-C": "Xã Tân Hòa"}
PAGES = ("pages/overview.py", "pages/attendance.py", "pages/quality.py", "pages/leaders.py",
         "pages/weakness_board.py", "pages/weaknesses.py", "pages/reports.py", "pages/presentation.py")


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The tree with the province as its home node, an administrator and a clerk of commune A."""
    path = tmp_path_factory.mktemp("tree") / "province.db"
    dbm.init(path)
    units, _ = build(path)
    make_user(path, "quantri", "admin")
    make_user(path, "thuky_a", "clerk", [units["XA-A"]])
    make_user(path, "xem", "viewer")
    return path


@pytest.fixture(scope="module")
def commune(tmp_path_factory):
    """The same tree with commune A as the home node (a commune's own deployment)."""
    path = tmp_path_factory.mktemp("tree") / "commune.db"
    dbm.init(path)
    build(path)
    with dbm.write(path) as db:
        org.set_home(db, SYSTEM, "XA-A")
    make_user(path, "quantri", "admin")
    return path


def start(path, monkeypatch, user: str = "quantri", page: str = "pages/attendance.py", **params: str):
    """Log in to app.py on path with the URL holding the period and params, then open page."""
    fast_hashing(monkeypatch)
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = app_test(path)
    at.query_params["ky"] = Q2
    for name, value in params.items():
        at.query_params[name] = value
    login(at, user, PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    # the landing dashboard reads the link: what it refused is said there, once (the URL is then rewritten)
    at.said = [m.value.replace("\\", "") for m in (*at.error, *at.warning)]  # Markdown escapes dropped
    return go(at, page)


def go(at, page: str):
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert current_page(at) == page
    return at


def table_column(at, header: str, *others: str) -> list:
    """The values of the column with this header in the first table that has it (and the other headers)."""
    for frame in at.dataframe:
        if {header, *others} <= set(frame.value.columns):
            return list(frame.value[header])
    raise AssertionError(f"no table with {header}: {[list(f.value.columns) for f in at.dataframe]}")


def trail(at) -> list[str]:
    """The breadcrumbs: the buttons back up, then the node in view (bold)."""
    ups = [b.label for b in at.button if (b.key or "").startswith("dash_trail_")]
    here = [m.value.strip("*") for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]
    return [name.replace("\\", "") for name in ups + here[:1]]  # Markdown escapes dropped


def children_offered(at) -> list[str]:
    box = [s for s in at.selectbox if s.key == "dash_drill"]
    return [o for o in box[0].options[1:]] if box else []


def rows_by_unit(at) -> list[str]:
    return table_column(at, t("chart.unit"))


def test_every_dashboard_at_a_province_home_shows_its_communes(province, monkeypatch):
    at = start(province, monkeypatch, page="pages/overview.py")
    communes = [NAMES["XA-A"], NAMES["XA-C"], NAMES["XA-O"]]
    for page in PAGES:
        go(at, page)
        if page not in ("pages/weaknesses.py", "pages/reports.py", "pages/presentation.py"):
            assert trail(at) == [NAMES["TINH"]], page
            assert children_offered(at) == communes, page
    go(at, "pages/attendance.py")
    assert rows_by_unit(at) == communes
    go(at, "pages/quality.py")
    assert rows_by_unit(at) == communes
    go(at, "pages/weakness_board.py")
    # the matrix by unit and category: the sub-committee's weakness counts under commune A
    assert set(table_column(at, t("chart.unit"), t("dash.w_open"))) == set(communes)
    go(at, "pages/leaders.py")
    assert table_column(at, t("field.leader_code"), t("dash.assignments")) == ["L1", "L2", "L3", "L4"]
    go(at, "pages/reports.py")
    # the report's units: the province's subtree in tree order, the communes its rows
    assert at.selectbox(key="reports_unit").options == [
        t("drill.report_all", unit=NAMES["TINH"]), NAMES["XA-A"], "\u2003" + NAMES["A-BP"], NAMES["XA-C"],
        NAMES["XA-O"]]


def test_drill_down_by_url_to_a_commune_then_its_sub_committee_then_a_cell(province, monkeypatch):
    at = start(province, monkeypatch, to_chuc="XA-A")
    assert trail(at) == [NAMES["TINH"], NAMES["XA-A"]]
    # commune A: its sub-committee and the row of its own cell
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    assert children_offered(at) == [NAMES["A-BP"]]
    # one level down: the sub-committee has only cells, so the cells are the rows
    at.selectbox(key="dash_drill").select("A-BP").run()
    assert not at.exception
    assert at.query_params["to_chuc"] in ("A-BP", ["A-BP"]) and at.query_params["ky"] in (Q2, [Q2])
    assert trail(at) == [NAMES["TINH"], NAMES["XA-A"], NAMES["A-BP"]]
    assert table_column(at, t("field.cell_code")) == ["S1", "S2"]
    assert table_column(at, t("dash.held"))[:2] == [3, 2]
    # a cell opens its meetings
    at.selectbox(key="att_cell_pick").select("S1").run()
    assert table_column(at, t("field.held_on")) == ["10/06/2025", "10/05/2025", "10/04/2025"]  # newest first
    # the other dashboards follow the node in view
    go(at, "pages/quality.py")
    assert trail(at)[-1] == NAMES["A-BP"]
    # the quality page's rows are the cells too: S1's 3 meetings, S2's 2
    assert table_column(at, t("field.cell_code"), t("ux.q.meetings")) == ["S1", "S2"]
    assert table_column(at, t("ux.q.meetings"), t("field.cell_code")) == [3, 2]
    # back up to the province in one click, the period kept
    at.button(key="dash_trail_0").click().run()
    assert not at.exception
    assert trail(at) == [NAMES["TINH"]]
    assert "to_chuc" not in at.query_params and at.query_params["ky"] in (Q2, [Q2])
    assert rows_by_unit(at) == [NAMES["XA-A"], NAMES["XA-C"], NAMES["XA-O"]]


def test_an_unknown_node_in_the_url_is_named_and_the_home_view_shown(province, monkeypatch):
    at = start(province, monkeypatch, to_chuc="KHONG-CO")
    assert any("KHONG-CO" in m and t("field.drill.node") in m for m in at.said)
    assert trail(at) == [NAMES["TINH"]]
    assert rows_by_unit(at) == [NAMES["XA-A"], NAMES["XA-C"], NAMES["XA-O"]]


def test_every_dashboard_at_a_commune_home_shows_its_children(commune, monkeypatch):
    at = start(commune, monkeypatch, page="pages/overview.py")
    for page in PAGES:
        go(at, page)
        if page not in ("pages/weaknesses.py", "pages/reports.py", "pages/presentation.py"):
            assert trail(at) == [NAMES["XA-A"]], page
            assert children_offered(at) == [NAMES["A-BP"]], page
    go(at, "pages/attendance.py")
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    go(at, "pages/quality.py")
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    go(at, "pages/leaders.py")
    # only the leaders assigned inside the commune: L1 (the commune) and L4 (its sub-committee)
    assert table_column(at, t("field.leader_code"), t("dash.assignments")) == ["L1", "L4"]
    go(at, "pages/reports.py")
    assert at.selectbox(key="reports_unit").options == [t("drill.report_all", unit=NAMES["XA-A"]), NAMES["A-BP"]]
    # a node of the province above the home is not part of this deployment's view
    at = start(commune, monkeypatch, to_chuc="XA-C")
    assert any("XA-C" in m for m in at.said)
    assert trail(at) == [NAMES["XA-A"]]


def test_a_clerk_of_one_commune_sees_only_its_subtree(province, monkeypatch):
    at = start(province, monkeypatch, "thuky_a", page="pages/overview.py")
    assert trail(at) == [NAMES["XA-A"]]
    go(at, "pages/attendance.py")
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    assert set(at.multiselect(key="dash_units").options) == {NAMES["A-BP"], NAMES["XA-A"]}
    go(at, "pages/weaknesses.py")
    assert set(table_column(at, t("field.unit_id"))) == {NAMES["A-BP"], NAMES["XA-A"]}
    # another commune by a link: refused by name, and their own view shown
    at = start(province, monkeypatch, "thuky_a", to_chuc="XA-C")
    assert t("perm.drill.view_out_of_scope", unit=NAMES["XA-C"]) in at.said
    assert trail(at) == [NAMES["XA-A"]]
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    # the province above them too; and another commune in the units filter is dropped with a warning
    at = start(province, monkeypatch, "thuky_a", to_chuc="TINH", don_vi="XA-O")
    assert t("perm.drill.view_out_of_scope", unit=NAMES["TINH"]) in at.said
    assert any("XA-O" in m for m in at.said)
    assert rows_by_unit(at) == [NAMES["A-BP"], NAMES["XA-A"]]
    # their own sub-committee by a link: allowed, the trail starting at their commune
    at = start(province, monkeypatch, "thuky_a", to_chuc="A-BP")
    assert trail(at) == [NAMES["XA-A"], NAMES["A-BP"]]
    assert table_column(at, t("field.cell_code")) == ["S1", "S2"]


def test_a_viewer_sees_the_whole_province(province, monkeypatch):
    at = start(province, monkeypatch, "xem", to_chuc="XA-O")
    assert trail(at) == [NAMES["TINH"], NAMES["XA-O"]]
    assert table_column(at, t("field.cell_code")) == ["O1"]
