"""The compiled report and the workbook at each level of the tree (issue 11, branch creport): a commune committee
without sub-committees reports on its own cells (tables 1-3 and 7 list them, the recommendations go to them), a
province's report keeps its communes as rows.

The world (period 2025-Q1, today 01/05/2025, attendance threshold 85%; every meeting 30 members, 2 exempt: 28 due):
  P "Tỉnh Vĩnh Long" (tinh) over XA "Xã An Hòa" and XB "Xã Bình Lợi" (xa), each body issuing from 2020.
  XA cells, all on day 10: XA-1 "Ấp Một" met 10/01, 10/02, 10/03 (present 26, 25, 27: 78/84 = 92,9%);
      XA-2 "Ấp Hai" met 10/01, 10/02 (present 20, 21: 41/56 = 73,2%, March not held);
      XA-3 "Ấp Ba" met 10/01, 10/02, 10/03 (28 each: 84/84 = 100%).
      XA: 8 meetings, 203/224 = 90,6%; 9 cell-months, 8 held = 88,9%.
  XB cell XB-1 "Ấp Bốn" met 10/01 (present 14: 14/28 = 50,0%), February and March not held: 1 of 3 held.
  Weaknesses noted in the quarter: on Ấp Hai 01/02 due 01/03 (open, overdue on 01/05); on Ấp Ba 15/02 due 30/06
  (open, not yet due); on the whole of XA 01/03 due 31/03 (open, overdue)."""

import io
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook

from lib import db as dbm
from lib import directory, metrics, org, reports, weaknesses
from lib.domain import SYSTEM
from tests.factories import add_meeting
from tests.test_reports_bundles import MAX_STATEMENTS, statements

PERIOD = "2025-Q1"
TODAY = date(2025, 5, 1)

PROVINCE_BODY = {"effective_from": "2020-01-01", "committee": "Tỉnh ủy Vĩnh Long", "board": "Ban Tổ chức Tỉnh ủy",
                 "symbol_suffix": "TU", "place": "Vĩnh Long", "signer_capacity": "T/M BAN THƯỜNG VỤ",
                 "signer_title": "PHÓ BÍ THƯ", "recipients": ["- Lưu Văn phòng Tỉnh ủy."]}
COMMUNE_BODY = {"effective_from": "2020-01-01", "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG",
                "committee": "Đảng ủy xã An Hòa", "board": "Ban Xây dựng Đảng Đảng ủy xã", "symbol_suffix": "ĐU",
                "place": "An Hòa", "signer_capacity": "T/M ĐẢNG ỦY", "signer_title": "BÍ THƯ",
                "recipients": ["- Lưu Văn phòng Đảng ủy."]}


def _cell(db, code: str, unit_id: int, name: str) -> int:
    return directory.create_cell(db, SYSTEM, {"code": code, "unit_id": unit_id, "name": name, "cell_type": "ap_khom",
                                              "meeting_day": 10, "valid_from": "2020-01-01"})


@pytest.fixture
def tree(db_path):
    with dbm.write(db_path) as db:
        p = directory.create_unit(db, SYSTEM, {"code": "P", "name": "Tỉnh Vĩnh Long", "kind": "tinh"})
        xa = directory.create_unit(db, SYSTEM, {"code": "XA", "name": "Xã An Hòa", "kind": "xa", "parent_id": p})
        xb = directory.create_unit(db, SYSTEM, {"code": "XB", "name": "Xã Bình Lợi", "kind": "xa", "parent_id": p})
        c1, c2, c3 = (_cell(db, f"XA-{i}", xa, name) for i, name in enumerate(("Ấp Một", "Ấp Hai", "Ấp Ba"), 1))
        b1 = _cell(db, "XB-1", xb, "Ấp Bốn")
        org.create_body(db, SYSTEM, {**PROVINCE_BODY, "unit_id": p})
        org.create_body(db, SYSTEM, {**COMMUNE_BODY, "unit_id": xa})
        org.set_home(db, SYSTEM, "XA")
    for cell, days in ((c1, ((1, 26), (2, 25), (3, 27))), (c2, ((1, 20), (2, 21))), (c3, ((1, 28), (2, 28), (3, 28))),
                       (b1, ((1, 14),))):
        for month, present in days:
            add_meeting(db_path, cell, f"2025-{month:02d}-10", present=present)
    with dbm.write(db_path) as db:
        for cell, noted, due in ((c2, "2025-02-01", "2025-03-01"), (c3, "2025-02-15", "2025-06-30"),
                                 (None, "2025-03-01", "2025-03-31")):
            weaknesses.create(db, SYSTEM, {"unit_id": xa, "cell_id": cell, "category": "pho_bien_van_ban",
                                           "description": "Chưa quán triệt", "noted_on": noted, "due_on": due},
                              today=TODAY)
    return {"p": p, "xa": xa, "xb": xb}


def home(path, code: str) -> None:
    with dbm.write(path) as db:
        org.set_home(db, SYSTEM, code)


def docx_of(content: bytes) -> tuple[list[str], list[list[list[str]]]]:
    doc = Document(io.BytesIO(content))
    return [p.text for p in doc.paragraphs], [[[c.text for c in row.cells] for row in tb.rows] for tb in doc.tables]


def table_after(paragraphs: list[str], tables: list, caption_start: str) -> list[list[str]]:
    """The rows of the numbered table whose caption starts so (tables[0] is the header block: Bảng n is n)."""
    n = next(int(p.split(".")[0].split()[1]) for p in paragraphs if p.startswith("Bảng ") and caption_start in p)
    return tables[n]


# ---- the commune home: its cells are the rows ----------------------------------------------------------------


def test_a_commune_home_reports_its_cells_as_rows(db_path, tree):
    paragraphs, tables = docx_of(reports.compiled_docx(db_path, PERIOD, today=TODAY))
    assert any(p.startswith("Trong quý I năm 2025, 3 chi bộ trực thuộc Đảng ủy xã An Hòa phải tổ chức 9 lượt "
                            "sinh hoạt thường kỳ") and "đã tổ chức 8 lượt, đạt 88,9%; còn 1 lượt chưa tổ chức" in p
               for p in paragraphs)
    assert "Bảng 1. Tổ chức sinh hoạt thường kỳ theo chi bộ" in paragraphs
    assert table_after(paragraphs, tables, "Tổ chức sinh hoạt") == [
        ["STT", "Chi bộ", "Phải sinh hoạt (lượt)", "Đã sinh hoạt", "Tỷ lệ tổ chức", "Đúng ngày cố định"],
        ["1", "Ấp Một", "3", "3", "100,0%", "100,0%"], ["2", "Ấp Hai", "3", "2", "66,7%", "100,0%"],
        ["3", "Ấp Ba", "3", "3", "100,0%", "100,0%"], ["", "Tổng cộng", "9", "8", "88,9%", "100,0%"]]
    assert table_after(paragraphs, tables, "Đảng viên dự sinh hoạt theo chi bộ")[1:] == [
        ["1", "Ấp Một", "3", "84", "78", "6", "0", "92,9%"], ["2", "Ấp Hai", "2", "56", "41", "15", "0", "73,2%"],
        ["3", "Ấp Ba", "3", "84", "84", "0", "0", "100,0%"], ["", "Tổng cộng", "8", "224", "203", "21", "0", "90,6%"]]
    assert "Có 1 chi bộ có tỷ lệ đảng viên dự sinh hoạt dưới mức 85,0%: ấp Hai (73,2%)." in paragraphs
    assert [r[:3] for r in table_after(paragraphs, tables, "3 tính chất theo chi bộ")] == [
        ["STT", "Chi bộ", "Số buổi"], ["1", "Ấp Một", "3"], ["2", "Ấp Hai", "2"], ["3", "Ấp Ba", "3"],
        ["", "Tổng cộng", "8"]]
    assert table_after(paragraphs, tables, "ghi nhận trong kỳ theo chi bộ") == [
        ["STT", "Chi bộ", "Chưa khắc phục xong", "Đã khắc phục"], ["1", "Ấp Hai", "1", "0"],
        ["2", "Ấp Ba", "1", "0"], ["3", "Xã An Hòa (chung, không riêng chi bộ nào)", "1", "0"]]
    # the missing month names the cell alone: the commune is the report's own
    assert "Các chi bộ chưa tổ chức sinh hoạt thường kỳ: ấp Hai: tháng 03/2025." in paragraphs
    assert not any("đảng bộ cơ sở" in p or "1 đảng bộ" in p or "theo đảng bộ" in p for p in paragraphs)


def test_a_commune_home_addresses_its_findings_and_tasks_to_its_cells(db_path, tree):
    # branch format36: the shortfalls and the tasks are a draft's defaults (reports.narrative_defaults), no longer
    # printed as orders in section IV; they name the cells, never the committee that signs the report
    data = reports.gather(db_path, PERIOD, today=TODAY)
    found, tasks = reports.findings(data), reports.recommendations(data)
    assert found[0] == "Tỷ lệ đảng viên dự sinh hoạt còn dưới 85,0% ở các chi bộ: ấp Hai (73,2%)."
    assert found[1] == "Còn 1 lượt chưa tổ chức sinh hoạt thường kỳ, ở các chi bộ: ấp Hai (1) (số lượt)."
    assert tasks[0] == ("Chỉ đạo các chi bộ còn dưới 85,0% nâng tỷ lệ đảng viên dự sinh hoạt, hạn chế thấp nhất "
                        "trường hợp vắng không lý do.")
    assert "Đôn đốc các chi bộ khắc phục dứt điểm các hạn chế, thiếu sót đã quá hạn và báo cáo kết quả." in tasks
    assert not any("Đảng ủy các xã, phường" in r or "các đảng bộ" in r or "xã An Hòa (" in r for r in found + tasks)
    paragraphs, tables = docx_of(reports.compiled_docx(db_path, PERIOD, today=TODAY))
    assert "- Chi bộ ấp Hai (t/h)," in tables[-1][0][0].split("\n")  # the cell concerned (ấp Ba: not yet due)


def test_a_commune_home_workbook_lists_its_cells(db_path, tree):
    book = load_workbook(io.BytesIO(reports.data_xlsx(db_path, PERIOD, today=TODAY)))
    assert "Dự sinh hoạt theo đảng bộ" not in book.sheetnames
    rows = list(book["Dự sinh hoạt theo chi bộ"].iter_rows(values_only=True))
    assert rows[0][:4] == ("Mã chi bộ", "Chi bộ", "Số buổi", "Đảng viên phải dự")
    assert [r[:5] for r in rows[1:]] == [("XA-1", "Ấp Một", 3, 84, 78), ("XA-2", "Ấp Hai", 2, 56, 41),
                                         ("XA-3", "Ấp Ba", 3, 84, 84)]
    assert [r[:3] for r in book["Chất lượng theo chi bộ"].iter_rows(min_row=2, values_only=True)] == [
        ("XA-1", "Ấp Một", 3), ("XA-2", "Ấp Hai", 2), ("XA-3", "Ấp Ba", 3)]
    assert list(book["Hạn chế theo chi bộ"].iter_rows(min_row=2, values_only=True)) == [
        ("XA-2", "Ấp Hai", 1, 0), ("XA-3", "Ấp Ba", 1, 0), (None, "Xã An Hòa (chung, không riêng chi bộ nào)", 1, 0)]
    summary = dict(book["Tổng hợp"].iter_rows(values_only=True))
    assert summary["Phạm vi"] == "Xã An Hòa (các chi bộ trực thuộc)"


def test_the_cells_figures_add_up_to_the_commune_and_json_keeps_its_shape(db_path, tree):
    page = metrics.report_page(db_path, PERIOD, today=TODAY, by_cell=True)
    cells = page["attendance_by_cell"]
    for key in ("meetings", "required", "present", "cell_months", "held"):
        assert sum(c[key] for c in cells) == page["attendance_totals"][key]
    assert sum(q["meetings"] for q in page["quality_by_cell"]) == page["attendance_totals"]["meetings"]
    for name in reports.BY_CELL_KEYS:  # each part equals its own function
        assert page[name] == getattr(metrics, name)(db_path, PERIOD, today=TODAY), name
    assert [(w["cell_code"], w["open"], w["resolved"]) for w in page["weaknesses_noted_by_cell"]] == [
        ("XA-2", 1, 0), ("XA-3", 1, 0), (None, 1, 0)]
    # metrics --json at the commune home: still the one row of the node itself
    figures = metrics.compute(db_path, PERIOD, today=TODAY)
    assert [r["unit_code"] for r in figures["attendance_by_unit"]] == ["XA"]
    assert "attendance_by_cell" not in metrics.report_page(db_path, PERIOD, today=TODAY)


def test_a_cells_report_runs_a_bounded_number_of_statements(db_path, tree):
    small = statements(db_path, reports.compiled_docx, PERIOD, today=TODAY)
    with dbm.write(db_path) as db:
        more = [_cell(db, f"XA-{i}", tree["xa"], f"Ấp {i}") for i in range(4, 10)]
    for cell in more:
        add_meeting(db_path, cell, "2025-02-10", present=24)
    big = statements(db_path, reports.compiled_docx, PERIOD, today=TODAY)
    # the province's report runs no more than before; the cells' adds the thresholds and three by-cell statements,
    # each with its check of a flat tree
    # (branch format36: and the statements of the Party's format, as many whatever the size)
    assert len(big) == len(small) <= MAX_STATEMENTS + 7 + reports.FORMAT36_STATEMENTS


# ---- the province home and the other cases: rows stay units --------------------------------------------------


def test_a_province_home_keeps_its_communes_as_rows(db_path, tree):
    home(db_path, "P")
    paragraphs, tables = docx_of(reports.compiled_docx(db_path, PERIOD, today=TODAY))
    assert any(p.startswith("Trong quý I năm 2025, các chi bộ trực thuộc 2 đảng bộ phải tổ chức 12 lượt")
               for p in paragraphs)
    assert [r[:4] for r in table_after(paragraphs, tables, "Tổ chức sinh hoạt")] == [
        ["STT", "Đảng bộ", "Phải sinh hoạt (lượt)", "Đã sinh hoạt"], ["1", "Xã An Hòa", "9", "8"],
        ["2", "Xã Bình Lợi", "3", "1"], ["", "Tổng cộng", "12", "9"]]
    assert table_after(paragraphs, tables, "ghi nhận trong kỳ theo đảng bộ")[1:] == [["1", "Xã An Hòa", "3", "0"]]
    # branch format36: the findings (a draft's default) name the communes
    found = reports.findings(reports.gather(db_path, PERIOD, today=TODAY))
    assert found[0] == "Tỷ lệ đảng viên dự sinh hoạt còn dưới 85,0% ở: xã Bình Lợi (50,0%)."
    assert found[1].startswith("Còn 3 lượt chi bộ chưa tổ chức sinh hoạt thường kỳ, ở: xã Bình Lợi (2), xã An Hòa (1)")
    assert not any("các chi bộ" in r for r in found)
    book = load_workbook(io.BytesIO(reports.data_xlsx(db_path, PERIOD, today=TODAY)))
    assert [r[:2] for r in book["Dự sinh hoạt theo đảng bộ"].iter_rows(min_row=2, values_only=True)] == [
        ("XA", "Xã An Hòa"), ("XB", "Xã Bình Lợi")]


def test_a_province_report_of_one_commune_lists_that_communes_cells(db_path, tree):
    home(db_path, "P")
    paragraphs, tables = docx_of(reports.compiled_docx(db_path, PERIOD, "XA", today=TODAY))
    assert [r[1] for r in table_after(paragraphs, tables, "Tổ chức sinh hoạt")] == [
        "Chi bộ", "Ấp Một", "Ấp Hai", "Ấp Ba", "Tổng cộng"]
    assert any(p.endswith("quý I năm 2025 tại xã An Hòa") for p in paragraphs)  # branch format36


def test_a_node_with_child_units_and_own_cells_keeps_its_rows_by_unit(db_path, tree):
    with dbm.write(db_path) as db:
        bp = directory.create_unit(db, SYSTEM, {"code": "XA-BP", "name": "Đảng bộ bộ phận Khối cơ quan",
                                                "kind": "dang_bo_bo_phan", "parent_id": tree["xa"]})
        cell = _cell(db, "XA-BP-1", bp, "Chi bộ Trường học")
    add_meeting(db_path, cell, "2025-01-10", present=28)
    assert metrics.cell_node(db_path) is None
    assert metrics.cell_node(db_path, "XA-BP") == {"code": "XA-BP", "name": "Đảng bộ bộ phận Khối cơ quan",
                                                   "kind": "dang_bo_bo_phan"}
    paragraphs, tables = docx_of(reports.compiled_docx(db_path, PERIOD, today=TODAY))
    # today's behaviour: the node's own cells in a row for the node, the sub-committee in its own row
    assert [r[1] for r in table_after(paragraphs, tables, "Tổ chức sinh hoạt")] == [
        "Đảng bộ", "Xã An Hòa", "Đảng bộ bộ phận Khối cơ quan", "Tổng cộng"]
    # a report of the sub-committee alone lists its cells, under its own name
    paragraphs, _ = docx_of(reports.compiled_docx(db_path, PERIOD, "XA-BP", today=TODAY))
    assert any(p.startswith("Trong quý I năm 2025, 1 chi bộ trực thuộc Đảng bộ bộ phận Khối cơ quan phải tổ chức")
               for p in paragraphs)
