"""The classification page and the quality dashboard's classification section, driven through AppTest (branch
classify). The world is tests/test_classification.py's: XA's cells E, G, C, F, N, Z with proposals xuat_sac, tot,
hoan_thanh, khong_hoan_thanh, none, none for 2025; XB's D1 with no record."""

from datetime import date

import pytest

from lib import classification
from lib import db as dbm
from lib.i18n import t
from tests.helpers import app_test, current_page, fast_hashing, login, make_user, nav_files
from tests.test_classification import ADMIN, TODAY, YEAR, build
from tests.test_pages_tree import table_column

PAGE = "pages/classification.py"
PASSWORD = "Matkhau123"


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "page.db"
    cells = build(path)
    make_user(path, "xem", "viewer")
    make_user(path, "thuky", "clerk", [1])
    return path, cells


def open_page(path, monkeypatch, user="quantri", page=PAGE, **params):
    fast_hashing(monkeypatch)
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = app_test(path)
    for name, value in params.items():
        at.query_params[name] = value
    login(at, user, PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    if page not in nav_files(at):
        return at
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert current_page(at) == page
    return at


def choose(at, year=YEAR, unit="XA"):
    at.selectbox(key="cls_year").set_value(year).run()
    at.selectbox(key="cls_unit").set_value(unit).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_lists_each_cell_with_its_proposal_and_reasons(world, monkeypatch):
    at = choose(open_page(world[0], monkeypatch))
    assert table_column(at, t("class.page.cell")) == ["Chi bộ C", "Chi bộ E", "Chi bộ F", "Chi bộ G", "Chi bộ N",
                                                      "Chi bộ Z"]
    assert table_column(at, t("class.page.proposed")) == [
        "Hoàn thành nhiệm vụ", "Hoàn thành xuất sắc nhiệm vụ", "Không hoàn thành nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ", "Chưa đủ căn cứ", "Chưa đủ căn cứ"]
    # the one criterion that decided: E met every one; G missed excellent on its Tốt/Khá share
    reasons = table_column(at, t("class.page.reasons"))
    assert reasons[1] == "Đạt các tiêu chí mức Hoàn thành xuất sắc nhiệm vụ (tiêu chí 2023-124)."
    assert reasons[3] == ("Chưa đạt mức Hoàn thành xuất sắc nhiệm vụ vì: tỷ lệ buổi xếp loại Tốt, Khá 75,0% "
                          "(cần từ 80,0%).")
    assert reasons[4].startswith("Chưa đủ căn cứ: chi bộ không hoạt động đủ cả năm 2025")
    assert t("class.why.flags_unknown") in [c.value for c in at.caption]
    assert any("124-QĐ/TW" in c.value for c in at.caption)


def test_an_administrator_records_a_decision(world, monkeypatch):
    path, cells = world
    at = choose(open_page(path, monkeypatch))
    at.selectbox(key="cls_one_cell_id").set_value(cells["G"]).run()
    assert at.selectbox(key="cls_one_decided_level").value == "tot"  # opens on the proposal
    # every criterion behind the picked cell's proposal, listed above the form
    assert any(m.value.startswith("- Đạt các tiêu chí mức Hoàn thành tốt nhiệm vụ") for m in at.markdown)
    at.selectbox(key="cls_one_decided_level").set_value("hoan_thanh")
    at.date_input(key="cls_one_decision_date").set_value(date(2026, 1, 15))
    at.button(key="cls_one_save").click().run()
    # no decision number: refused, naming the field, nothing written
    assert any(t("field.decision_no") in e.value for e in at.error), [e.value for e in at.error]
    with dbm.read(path) as db:
        assert db["cell_classifications"].count == 0
    at.text_input(key="cls_one_decision_no").input("25-QĐ/ĐU")
    at.button(key="cls_one_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [t("class.page.saved")]
    assert table_column(at, t("class.page.decided"))[3] == "Hoàn thành nhiệm vụ"
    assert table_column(at, t("class.page.decision"))[3] == "Số 25-QĐ/ĐU ngày 15/01/2026"
    assert table_column(at, t("class.page.proposed"))[3] == "Hoàn thành tốt nhiệm vụ"  # kept beside


def test_an_administrator_accepts_the_proposals_of_a_commune(world, monkeypatch):
    path, _ = world
    at = choose(open_page(path, monkeypatch))
    at.text_input(key="cls_all_decision_no").input("26-QĐ/ĐU")
    at.date_input(key="cls_all_decision_date").set_value(date(2026, 1, 16))
    at.button(key="cls_all_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [t("class.page.accepted", n=4)]
    assert table_column(at, t("class.page.decided")) == [
        "Hoàn thành nhiệm vụ", "Hoàn thành xuất sắc nhiệm vụ", "Không hoàn thành nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ", "", ""]


def test_a_viewer_reads_but_records_nothing(world, monkeypatch):
    at = choose(open_page(world[0], monkeypatch, user="xem"))
    assert len(table_column(at, t("class.page.cell"))) == 6
    assert not [b for b in at.button if (b.key or "").startswith("cls_")]
    assert t("class.page.read_only") in [c.value for c in at.caption]


def test_a_clerk_has_no_classification_page(world, monkeypatch):
    at = open_page(world[0], monkeypatch, user="thuky")
    assert PAGE not in nav_files(at)


def test_the_quality_dashboard_shows_the_years_distribution(world, monkeypatch):
    path, cells = world
    with dbm.write(path) as db:
        classification.decide(db, ADMIN, cells["E"], YEAR, {"decided_level": "xuat_sac", "decision_no": "25-QĐ/ĐU",
                                                            "decision_date": "2026-01-15"}, today=TODAY)
        classification.refresh(db, ADMIN, YEAR, None, today=TODAY)
    at = open_page(path, monkeypatch, page="pages/quality.py", ky="2025")
    # a tab among the lists under the table by unit, drawn when picked (issue 13)
    assert t("class.dist.title", year=2025) in [tab.label for tab in at.tabs]
    at.session_state["q_lists"] = t("class.dist.title", year=2025)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # XA: 6 cells, E decided excellent; G, C, F proposed (tot, hoan_thanh, khong_hoan_thanh); N, Z unclassified
    assert table_column(at, t("class.dist.cells"), t("class.dist.d_xuat_sac")) == [6, 1]
    assert table_column(at, t("class.dist.p_tot"), t("class.dist.cells")) == [1, 0]
    assert table_column(at, t("class.dist.unclassified"), t("class.dist.cells")) == [2, 1]
    # a quarter of 2025 shows it too (the year has classifications); a quarter of 2024 does not
    at = open_page(path, monkeypatch, page="pages/quality.py", ky="2025-Q4")
    assert t("class.dist.title", year=2025) in [tab.label for tab in at.tabs]
    at = open_page(path, monkeypatch, page="pages/quality.py", ky="2024-Q4")
    assert t("class.dist.title", year=2024) not in [tab.label for tab in at.tabs]


def test_the_form_follows_the_year_chosen(world, monkeypatch):
    path, cells = world
    at = choose(open_page(path, monkeypatch))
    at.selectbox(key="cls_one_cell_id").set_value(cells["G"]).run()
    assert at.selectbox(key="cls_one_decided_level").value == "tot"
    # the same cell in the year after (no record yet, so no proposal): the form opens afresh, not on 2025's level
    at.selectbox(key="cls_year").set_value(YEAR + 1).run()
    assert at.selectbox(key="cls_one_cell_id").value == cells["G"]
    assert at.selectbox(key="cls_one_decided_level").value == "hoan_thanh"
