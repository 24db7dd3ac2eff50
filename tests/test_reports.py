"""Exports of lib/reports.py: the compiled report (DOCX), the data workbook (XLSX), the leader's written report,
the `report` command and the Reports page; every figure checked against lib.metrics and worked out by hand."""

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from lib import assignments, metrics, reports, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM
from lib.i18n import t
from tests.factories import add_meeting, small_directory
from tests.helpers import login, make_user, page_test

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2025, 5, 1)
PERIOD = "2025-Q1"

# The world (today = 01/05/2025), from tests/factories.small_directory plus:
#   NL Xã Nhị Long, cell "Chi bộ ấp Cầu Đúc" (day 31); DP Xã Đại Phước, "Chi bộ ấp Long Hòa" (day 10).
#   L1 Nguyễn Văn An (uv_btv, Phó Bí thư) on NL by 395-QĐ/HU of 21/02/2022; L2 Trần Thị Bình (uv_bch) on DP
#   by 401-QĐ/HU of 01/03/2022. Every meeting: 30 members, 2 exempt, so 28 due.
#   Cầu Đúc 31/01 present 25 (excused 3), score 95 → Tốt, leadership and education, L1 present, report 03/02;
#   Cầu Đúc 28/02 present 20 (excused 8); Long Hòa 10/01 present 27 (excused 1), L1 present (not his unit);
#   Long Hòa 10/02 present 26 (excused 1, unexcused 1).
# Worked out for 2025-Q1:
#   NL: 2 meetings, 45/56 present = 80.36%, held 2 of 3 cell-months (March missing), both on the fixed day
#       (28/02 is day 31 clamped to February's last day).
#   DP: 2 meetings, 53/56 = 94.64%, held 2 of 3, both on day 10.
#   L1 expected 1, attended 1 (Cầu Đúc 31/01), compliance 100%, report on time; L2 expected 1, attended 0.
#   Weakness on Cầu Đúc noted 01/02, due 01/03, open → overdue on 01/05.


# The issuing body of these reports (branch bodies: the wording is data, not locale text): the district committee
# the report always printed, as a root over the communes.
DISTRICT_BODY = {"effective_from": "2016-01-01", "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG",
                 "committee": "Huyện ủy Càng Long", "board": "Ban Tổ chức Huyện ủy", "symbol_suffix": "HU",
                 "place": "Càng Long", "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
                 "recipients": ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),", "- Lưu Văn phòng."]}


def with_district_body(path) -> None:
    """Give a database its issuing body: the district's, over its roots as a new home node, unless one is there."""
    from lib import directory, org

    with dbm.write(path) as db:
        if org.issuer(db, "2025-12-31") is not None:
            return
        home = org.home_node(db)
        if home is None:
            roots = [r[0] for r in db.execute("select id from units where parent_id is null")]
            home_id = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long",
                                                         "kind": "huyen"})
            for unit_id in roots:
                db.execute("update units set parent_id = ? where id = ?", [home_id, unit_id])
            org.set_home(db, SYSTEM, "HUYEN")
            home = org.home_node(db)
        org.create_body(db, SYSTEM, {**DISTRICT_BODY, "unit_id": home["id"]})


@pytest.fixture
def world(db_path):
    ids = small_directory(db_path)
    with_district_body(db_path)
    with dbm.write(db_path) as db:
        assignments.create(db, SYSTEM, {"leader_id": ids["l2"], "unit_id": ids["u2"], "decision_no": "401-QĐ/HU",
                                        "decision_date": "2022-03-01", "valid_from": "2022-03-01"})
    ids["m1"] = add_meeting(db_path, ids["c1"], "2025-01-31", present=25, score=95, leadership=1, education=1,
                            topics="Quán triệt Nghị quyết", leaders=[{"leader_id": ids["l1"],
                                                                       "report_submitted_on": "2025-02-03"}])
    ids["m2"] = add_meeting(db_path, ids["c1"], "2025-02-28", present=20)
    ids["m3"] = add_meeting(db_path, ids["c2"], "2025-01-10", present=27, leaders=[{"leader_id": ids["l1"]}])
    ids["m4"] = add_meeting(db_path, ids["c2"], "2025-02-10", present=26, absent_excused=1)
    with dbm.write(db_path) as db:
        weaknesses.create(db, SYSTEM, {"unit_id": ids["u1"], "cell_id": ids["c1"], "category": "pho_bien_van_ban",
                                       "description": "Chưa quán triệt Nghị quyết", "noted_on": "2025-02-01",
                                       "due_on": "2025-03-01"}, today=TODAY)
    return ids


@pytest.fixture
def figures(db_path, world):
    return metrics.compute(db_path, PERIOD, today=TODAY)


def docx(content: bytes):
    return Document(io.BytesIO(content))


def paragraphs(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def all_text(doc) -> str:
    cells = [c.text for table in doc.tables for row in table.rows for c in row.cells]
    return "\n".join(paragraphs(doc) + cells)


def table_with(doc, header: str) -> list[list[str]]:
    """The rows (as cell texts) of the first table whose header row holds header."""
    for table in doc.tables:
        rows = [[c.text for c in row.cells] for row in table.rows]
        if header in rows[0]:
            return rows
    raise AssertionError(f"no table with header {header!r}")


def by_name(rows: list[list[str]], col: int = 1) -> dict[str, list[str]]:
    return {r[col]: r for r in rows[1:]}


@pytest.fixture
def compiled(db_path, world) -> bytes:
    return reports.compiled_docx(db_path, PERIOD, today=TODAY)


# ---- the compiled report ----------------------------------------------------------------

def test_compiled_header_block_title_and_closing(compiled):
    doc = docx(compiled)
    left, right = (c.text.split("\n") for c in doc.tables[0].rows[0].cells)
    assert left[:3] == ["ĐẢNG BỘ TỈNH VĨNH LONG", "HUYỆN ỦY CÀNG LONG", "*"]
    assert left[3].startswith("Số") and left[3].endswith("-BC/HU") and left[3].replace(" ", "") == "Số-BC/HU"
    assert right[0] == "ĐẢNG CỘNG SẢN VIỆT NAM"
    assert right[-1] == "Càng Long, ngày …… tháng …… năm 2025"
    text = paragraphs(doc)
    assert "BÁO CÁO" in text
    # branch format36: the trích yếu in lower case, no comma; the communes the figures concern and the archive of
    # the body's office among the recipients
    assert ("tình hình sinh hoạt chi bộ và việc dự sinh hoạt của cán bộ phụ trách địa bàn quý I năm 2025"
            in text)
    closing = [c.text.split("\n") for c in doc.tables[-1].rows[0].cells]
    assert closing[0] == ["Nơi nhận:", "- Ban Thường vụ Tỉnh ủy (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),",
                          "- Đảng ủy xã Đại Phước, xã Nhị Long (t/h),", "- Lưu Văn phòng Huyện ủy."]
    assert closing[1][:2] == ["T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ"]


def test_compiled_sections_in_order_with_roman_numerals(compiled):
    text = paragraphs(docx(compiled))
    headings = [p for p in text if p.split(".")[0] in ("I", "II", "III", "IV")]
    # branch format36: the structure of a signed report; decisions cited with issuer and dashed dates
    assert headings == ["I. TÌNH HÌNH SINH HOẠT CHI BỘ VÀ VIỆC DỰ SINH HOẠT CỦA CÁN BỘ PHỤ TRÁCH ĐỊA BÀN",
                        "II. ĐÁNH GIÁ CHUNG", "III. NHIỆM VỤ, GIẢI PHÁP THỜI GIAN TỚI", "IV. KIẾN NGHỊ, ĐỀ XUẤT"]
    intro = next(p for p in text if p.startswith("Thực hiện"))
    assert intro.startswith("Thực hiện Quyết định số 395-QĐ/HU, ngày 21-02-2022 của Ban Thường vụ Huyện ủy Càng "
                            "Long; Quyết định số 401-QĐ/HU, ngày 01-3-2022 của Ban Thường vụ Huyện ủy Càng Long về "
                            "việc phân công cán bộ phụ trách địa bàn")
    assert intro.endswith("Ban Thường vụ Huyện ủy báo cáo tình hình sinh hoạt chi bộ và việc dự sinh hoạt của cán bộ "
                          "phụ trách địa bàn quý I năm 2025 như sau:")
    assert text[-1].startswith("Trên đây là báo cáo") and text[-1].endswith("quý I năm 2025./.")


def test_compiled_unit_tables_equal_the_metrics(compiled, figures):
    doc = docx(compiled)
    coverage = by_name(table_with(doc, "Phải sinh hoạt (lượt)"))
    attendance = by_name(table_with(doc, "Tỷ lệ dự sinh hoạt"))
    for row in figures["attendance_by_unit"]:
        name = row["unit_name"]
        assert coverage[name][2:] == [str(row["cell_months"]), str(row["held"]), reports.fmt_pct(row["coverage"]),
                                      reports.fmt_pct(row["on_schedule_rate"])]
        assert attendance[name][2:] == [str(row[k]) for k in ("meetings", "required", "present", "absent_excused",
                                                              "absent_unexcused")] + [reports.fmt_pct(row["rate"])]
    # The same figures worked out by hand.
    assert attendance["Xã Nhị Long"][2:] == ["2", "56", "45", "11", "0", "80,4%"]
    assert attendance["Xã Đại Phước"][2:] == ["2", "56", "53", "2", "1", "94,6%"]
    assert attendance["Tổng cộng"][2:] == ["4", "112", "98", "13", "1", "87,5%"]
    assert coverage["Xã Nhị Long"][2:] == ["3", "2", "66,7%", "100,0%"]
    assert coverage["Tổng cộng"][2:] == ["6", "4", "66,7%", "100,0%"]


def test_compiled_quality_table_counts_ratings_and_the_three_properties(compiled):
    quality = by_name(table_with(docx(compiled), "Tính chiến đấu"))
    # columns: meetings, Tốt, Khá, Trung bình, Kém, leadership, education, combativeness
    assert quality["Xã Nhị Long"][2:] == ["2", "1", "0", "0", "0", "1", "1", "0"]
    assert quality["Xã Đại Phước"][2:] == ["2", "0", "0", "0", "0", "0", "0", "0"]
    assert quality["Tổng cộng"][2:] == ["4", "1", "0", "0", "0", "1", "1", "0"]


def test_compiled_leader_tables_equal_the_metrics(compiled, figures, db_path):
    doc = docx(compiled)
    groups = by_name(table_with(doc, "Nhóm cán bộ"))
    for g in metrics.participation_by_group(db_path, PERIOD, today=TODAY):
        row = groups[t(f"enum.LeaderGroup.{g['grp']}")]
        assert row[3:6] == [reports.fmt_num(g["expected"], 2), str(g["attended"]), reports.fmt_pct(g["compliance"])]
    assert groups["Ủy viên Ban Thường vụ"][2:] == ["1", "1", "1", "100,0%", "1", "0", "0"]
    assert groups["Ủy viên Ban Chấp hành"][2:] == ["1", "1", "0", "0,0%", "0", "0", "0"]
    assert groups["Tổng cộng"][2:] == ["2", "2", "1", "50,0%", "1", "0", "0"]
    short = by_name(table_with(doc, "Họ và tên"))
    assert list(short) == ["Trần Thị Bình"]
    leader = next(r for r in figures["leader_participation"] if r["full_name"] == "Trần Thị Bình")
    assert short["Trần Thị Bình"][3:6] == [reports.fmt_num(leader["expected"], 2), "0", "0,0%"]


def test_compiled_weaknesses_and_recommendations_follow_the_figures(compiled, figures, db_path):
    doc = docx(compiled)
    assert figures["weaknesses"]["by_category"]["pho_bien_van_ban"] == 1
    categories = by_name(table_with(doc, "Loại hạn chế"))
    assert categories["Quán triệt văn bản cấp trên còn hạn chế"][2] == "1"
    overdue = table_with(doc, "Số ngày tồn đọng")
    # branch format36: aged as of the period's end (31/03/2025), not the day the report is made
    assert overdue[1][1:] == ["Chi bộ ấp Cầu Đúc, Xã Nhị Long", "Quán triệt văn bản cấp trên còn hạn chế",
                              "01/02/2025", "01/03/2025", "58"]
    # branch format36: the shortfalls are a draft's default text (findings), stated, naming bodies, not cadres
    found = reports.findings(reports.gather(db_path, PERIOD, today=TODAY))
    assert [f.split(" ")[0] for f in found] == ["Tỷ", "Còn", "Có", "Tính"]
    assert "xã Nhị Long (80,4%)" in found[0] and "Đại Phước" not in found[0]  # 80.4% < 85%, 94.6% is not
    assert "Trần Thị Bình" not in " ".join(found)


@pytest.mark.parametrize("submitted, expected", [
    (None, "Còn 1 báo cáo bằng văn bản sau khi dự sinh hoạt chưa gửi về Ban Tổ chức Huyện ủy."),
    ("2025-02-09", "Có 1 báo cáo bằng văn bản nộp trễ (quá 7 ngày sau buổi sinh hoạt).")])
def test_recommendation_on_written_reports_names_only_what_is_wrong(db_path, world, submitted, expected):
    from lib import meetings

    with dbm.write(db_path) as db:
        meetings.set_report(db, SYSTEM, world["m1"], world["l1"], submitted)  # 9 days after 31/01: late
    found = reports.findings(reports.gather(db_path, PERIOD, today=TODAY))  # branch format36: a draft's default
    assert [p for p in found if "nộp trễ" in p or "chưa gửi" in p] == [expected]


def test_compiled_vietnamese_text_survives_intact(compiled):
    text = all_text(docx(compiled))
    assert "chi bộ ấp Cầu Đúc, xã Nhị Long: tháng 03/2025" in text
    assert "chi bộ ấp Long Hòa, xã Đại Phước: tháng 03/2025" in text
    assert "Nơi nhận:" in text and "Trần Thị Bình" in text


def test_compiled_fonts_are_times_new_roman_for_every_script(compiled):
    doc = docx(compiled)
    from docx.oxml.ns import qn

    fonts = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(
        qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {"Times New Roman"}
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size.pt == 14


def test_compiled_embeds_the_charts_as_png(compiled):
    doc = docx(compiled)
    shapes = doc.inline_shapes
    # attendance by unit, ratings + three properties, group compliance, written reports, weakness categories
    assert len(shapes) == 5
    for shape in shapes:
        image = doc.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed]
        assert image.content_type == "image/png" and image.blob[:8] == b"\x89PNG\r\n\x1a\n"
        assert shape.width.cm > 10


def test_chart_png_prints_at_a_fixed_width_in_a_vietnamese_font():
    import altair as alt
    import pandas as pd

    chart = alt.Chart(pd.DataFrame({"x": ["Chi bộ ấp Cầu Đúc"], "y": [1]})).mark_bar().encode(
        y="x:N", x="y:Q").properties(width="container")
    spec = reports.chart_spec(chart)
    assert spec["width"] == reports.CHART_WIDTH_PX and spec["autosize"]["type"] == "fit-x"
    # branch pdfcharts (deliberate change): a serif close to Times New Roman, for print
    assert spec["config"]["font"].split(", ")[:2] == ["FreeSerif", "Liberation Serif"]
    png = reports.chart_png(chart, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == reports.CHART_WIDTH_PX  # the IHDR width: labels included


def test_empty_period_says_so_instead_of_failing(db_path, world):
    doc = docx(reports.compiled_docx(db_path, "2019", today=TODAY))
    text = paragraphs(doc)
    # branch format36: one figures section (I); the board's sections are dotted lines, the tasks' default says to
    # record the figures, not the open weaknesses of other periods
    assert sum("Không có số liệu trong kỳ (năm 2019)." == p for p in text) == 1
    assert len(doc.inline_shapes) == 0
    assert text[text.index("IV. KIẾN NGHỊ, ĐỀ XUẤT") + 1] == "\t"  # a dotted line
    data = reports.gather(db_path, "2019", today=TODAY)
    assert reports.recommendations(data) == [t("report.rec_no_data")] and reports.findings(data) == []
    assert "Nơi nhận:" in all_text(doc)
    wb = load_workbook(io.BytesIO(reports.data_xlsx(db_path, "2019", today=TODAY)))
    assert wb[t("report.sh_attendance")].max_row == 1
    assert ["Ghi chú", "Không có số liệu trong kỳ (năm 2019)."] in [list(r) for r in
                                                                   wb["Tổng hợp"].iter_rows(values_only=True)]


def test_unit_report_covers_only_that_unit(db_path, world):
    doc = docx(reports.compiled_docx(db_path, PERIOD, "NL", today=TODAY))
    # a commune with only cells lists its cells (issue 11, branch creport: not one row for the commune itself)
    assert list(by_name(table_with(doc, "Tỷ lệ dự sinh hoạt"))) == ["Chi bộ ấp Cầu Đúc", "Tổng cộng"]
    assert any(p.endswith("quý I năm 2025 tại xã Nhị Long") for p in paragraphs(doc))  # branch format36


@pytest.mark.parametrize("period, unit, message", [
    ("2025-Q5", None, "Kỳ không hợp lệ"), ("quý 1", None, "Kỳ không hợp lệ"), ("2025-Q1", "XYZ", "XYZ")])
def test_bad_period_or_unit_is_refused_with_a_message(db_path, world, period, unit, message):
    with pytest.raises(ValueError, match=message):
        reports.compiled_docx(db_path, period, unit)
    with pytest.raises(ValueError, match=message):
        reports.data_xlsx(db_path, period, unit)


def test_progress_reports_rising_fractions_ending_done(db_path, world):
    seen = []
    reports.compiled_docx(db_path, PERIOD, today=TODAY, progress=lambda f, text: seen.append((f, text)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) >= 5
    assert seen[-1][1] == t("report.progress_done")


@pytest.mark.parametrize("value, lang, text", [(0.80357, "vi", "80,4%"), (0.80357, "en", "80.4%"),
                                               (None, "vi", "–"), (1, "vi", "100,0%")])
def test_fmt_pct(value, lang, text):
    from lib.i18n import language

    with language(lang):
        assert reports.fmt_pct(value) == text


@pytest.mark.parametrize("value, decimals, text", [(12757, 0, "12.757"), (0.6667, 2, "0,67"), (1.0, 2, "1"),
                                                   (2, 2, "2"), (None, 0, "–")])
def test_fmt_num_vietnamese(value, decimals, text):
    assert reports.fmt_num(value, decimals) == text


@pytest.mark.parametrize("label, text", [("2025", "năm 2025"), ("2025-Q3", "quý III năm 2025"),
                                         ("2025-03", "tháng 3 năm 2025")])
def test_period_text(label, text):
    assert reports.period_text(label) == text


# ---- the data workbook -------------------------------------------------------------------

@pytest.fixture
def workbook(db_path, world):
    return load_workbook(io.BytesIO(reports.data_xlsx(db_path, PERIOD, today=TODAY)))


def records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_workbook_has_a_sheet_per_table_with_frozen_headers_and_filters(workbook):
    assert workbook.sheetnames == ["Tổng hợp", "Dự sinh hoạt theo đảng bộ", "Chất lượng theo đảng bộ",
                                   "Cán bộ phụ trách",
                                   "Theo nhóm cán bộ", "Theo phân công", "Hạn chế theo loại",
                                   "Hạn chế theo tình trạng", "Hạn chế theo đảng bộ", "Hạn chế chưa khắc phục",
                                   "Chi bộ chưa sinh hoạt", "Buổi sinh hoạt"]
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        assert all(c.font.b for c in ws[1])
        assert all(ws.column_dimensions[c.column_letter].width >= 10 for c in ws[1])


def test_workbook_figures_equal_the_metrics(workbook, figures):
    units = records(workbook["Dự sinh hoạt theo đảng bộ"])
    assert [(u["Mã đảng bộ"], u["Số buổi"], u["Đảng viên phải dự"], u["Có mặt"], u["Tỷ lệ dự sinh hoạt"],
             u["Phải sinh hoạt (lượt)"], u["Đã sinh hoạt"], u["Tỷ lệ tổ chức"], u["Đúng ngày cố định"])
            for u in units] == [
        (r["unit_code"], r["meetings"], r["required"], r["present"], r["rate"], r["cell_months"], r["held"],
         r["coverage"], r["on_schedule_rate"]) for r in figures["attendance_by_unit"]]
    assert units[0]["Mã đảng bộ"] == "DP" and units[0]["Tỷ lệ dự sinh hoạt"] == 0.9464
    assert workbook["Dự sinh hoạt theo đảng bộ"]["H2"].number_format == "0.0%"
    leaders = records(workbook["Cán bộ phụ trách"])
    assert [(r["Mã cán bộ"], r["Phải dự"], r["Đã dự"], r["Mức thực hiện"], r["Báo cáo đã nộp"], r["Nộp trễ"])
            for r in leaders] == [(r["leader_code"], r["expected"], r["attended"], r["compliance"], r["reports"],
                                   r["late_reports"]) for r in figures["leader_participation"]]
    assert leaders[1]["Mức thực hiện"] == 0
    weak = figures["weaknesses"]
    assert {r["Loại hạn chế"]: r["Số lượng"] for r in records(workbook["Hạn chế theo loại"])} == {
        t(f"enum.WeaknessCategory.{c}"): n for c, n in weak["by_category"].items()}
    assert [(r["Mã đảng bộ"], r["Chưa khắc phục xong"], r["Đã khắc phục"])
            for r in records(workbook["Hạn chế theo đảng bộ"])] == [
        (u["unit_code"], u["open"], u["resolved"]) for u in weak["by_unit"]]


def test_workbook_lists_the_missing_meetings_and_the_raw_records(workbook):
    missing = records(workbook["Chi bộ chưa sinh hoạt"])
    assert [(m["Chi bộ"], m["Tháng"]) for m in missing] == [("Chi bộ ấp Long Hòa", "03/2025"),
                                                           ("Chi bộ ấp Cầu Đúc", "03/2025")]
    raw = records(workbook["Buổi sinh hoạt"])
    assert [(r["Ngày sinh hoạt"].date(), r["Chi bộ"], r["Số có mặt"]) for r in raw] == [
        (date(2025, 1, 10), "Chi bộ ấp Long Hòa", 27), (date(2025, 1, 31), "Chi bộ ấp Cầu Đúc", 25),
        (date(2025, 2, 10), "Chi bộ ấp Long Hòa", 26), (date(2025, 2, 28), "Chi bộ ấp Cầu Đúc", 20)]
    assert raw[1]["Cán bộ dự sinh hoạt"] == "Nguyễn Văn An (03/02/2025)"
    assert raw[0]["Cán bộ dự sinh hoạt"] == "Nguyễn Văn An"
    assert raw[1]["Xếp loại"] == "Tốt" and raw[1]["Tính lãnh đạo"] == "Có" and raw[1]["Tính chiến đấu"] == "Không"
    assert workbook["Buổi sinh hoạt"]["B2"].number_format == "dd/mm/yyyy"


# ---- the leader's written report ------------------------------------------------------------

def test_leader_report_is_prefilled_from_the_record(db_path, world):
    doc = docx(reports.leader_report_docx(db_path, world["m1"], world["l1"]))
    text = paragraphs(doc)
    # branch format36: a personal report to the Standing Committee through the board
    assert "của đồng chí Nguyễn Văn An về kết quả dự sinh hoạt chi bộ ấp Cầu Đúc, xã Nhị Long ngày 31-01-2025" in text
    assert "Kính gửi: Ban Thường vụ Huyện ủy Càng Long (qua Ban Tổ chức Huyện ủy Càng Long)" in text
    expected = {
        "Họ và tên": "Nguyễn Văn An",
        "Chức vụ": "Phó Bí thư",
        "Nhóm": "Ủy viên Ban Thường vụ",
        "Phân công phụ trách": "Xã Nhị Long, theo Quyết định số 395-QĐ/HU, ngày 21-02-2022 của Ban Thường vụ "
                               "Huyện ủy Càng Long",
        "Chi bộ": "Chi bộ ấp Cầu Đúc, Xã Nhị Long",
        "Ngày sinh hoạt": "31/01/2025 – sinh hoạt thường kỳ",
        "Đảng viên": "tổng số 30, miễn sinh hoạt 2; có mặt 25, vắng có lý do 3, vắng không lý do 0",
        "Thời gian (phút)": "120",
        "Nội dung sinh hoạt": "Quán triệt Nghị quyết",
        "Chi bộ tự xếp loại": "Tốt (95 điểm)",  # the cell's own, said to be; the leader's assessment is blank
        "Xếp loại buổi sinh hoạt (Tốt, Khá, Trung bình, Kém)": "\t",
        "Tính lãnh đạo": "\t", "Tính giáo dục": "\t", "Tính chiến đấu": "\t",
    }
    fields = dict(p.split(": ", 1) for p in text if p.split(": ", 1)[0] in expected)
    assert fields == expected
    assessment, directions = text.index("3. Nhận xét, đánh giá của đồng chí dự sinh hoạt"), text.index(
        "4. Đề xuất, kiến nghị")
    assert text[assessment + 5:directions] == ["Nhận xét khác: \t"] + ["\t"] * 5  # dotted lines to write on
    signature = doc.tables[-1].rows[0].cells[1].text.split("\n")
    assert signature[0] == "NGƯỜI BÁO CÁO" and signature[-1] == "Nguyễn Văn An"


def test_leader_report_leaves_dots_where_the_record_is_blank(db_path, world):
    doc = docx(reports.leader_report_docx(db_path, world["m3"], world["l1"]))
    text = paragraphs(doc)
    # L1 has no assignment on Đại Phước and the meeting has no rating: both left to fill in by hand.
    assert "Phân công phụ trách: \t" in text and "Chi bộ tự xếp loại: \t" in text


def test_leader_report_refuses_a_leader_not_present(db_path, world):
    with pytest.raises(ValueError, match="không có tên"):
        reports.leader_report_docx(db_path, world["m2"], world["l1"])


def test_attended_meetings_lists_each_leader_present(db_path, world):
    with dbm.read(db_path) as db:
        rows = reports.attended_meetings(db, PERIOD)
    assert [(r["held_on"], r["cell_name"], r["full_name"]) for r in rows] == [
        ("2025-01-31", "Chi bộ ấp Cầu Đúc", "Nguyễn Văn An"), ("2025-01-10", "Chi bộ ấp Long Hòa", "Nguyễn Văn An")]


# ---- the command line ----------------------------------------------------------------------

def run_cli(db_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lib", "--db", str(db_path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_cli_report_writes_the_file(db_path, world, tmp_path, fmt):
    out = tmp_path / "out" / f"bao-cao.{fmt}"
    done = run_cli(db_path, "report", "--period", PERIOD, "--format", fmt, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.is_file() and str(out) in done.stdout
    if fmt == "docx":
        assert "IV. KIẾN NGHỊ, ĐỀ XUẤT" in paragraphs(Document(out))
    else:
        figures = metrics.compute(db_path, PERIOD)
        units = records(load_workbook(out)["Dự sinh hoạt theo đảng bộ"])
        assert [u["Tỷ lệ dự sinh hoạt"] for u in units] == [r["rate"] for r in figures["attendance_by_unit"]]


def test_cli_report_for_one_unit(db_path, world, tmp_path):
    out = tmp_path / "nl.docx"
    assert run_cli(db_path, "report", "--period", PERIOD, "--format", "docx", "--out", str(out),
                   "--unit", "NL").returncode == 0
    # the commune's cells are the rows (branch creport)
    assert list(by_name(table_with(Document(out), "Tỷ lệ dự sinh hoạt"))) == ["Chi bộ ấp Cầu Đúc", "Tổng cộng"]


@pytest.mark.parametrize("args", [["--period", "2025-Q9"], ["--period", "2025-Q1", "--unit", "KHONGCO"]])
def test_cli_report_refusal_exits_non_zero_without_a_traceback(db_path, world, tmp_path, args):
    out = tmp_path / "x.docx"
    done = run_cli(db_path, "report", *args, "--format", "docx", "--out", str(out))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert not out.exists()


def test_write_report_refuses_an_unknown_format(db_path, world, tmp_path):
    # branch pdfcharts (deliberate change): pdf is a format now; odt is not
    with pytest.raises(ValueError, match="odt"):
        reports.write_report(db_path, PERIOD, "odt", tmp_path / "x.odt")


# ---- the Reports page --------------------------------------------------------------------

def open_reports(db_path, role: str):
    make_user(db_path, f"user_{role}", role)
    at = page_test("pages/reports.py", f"user_{role}")
    return at.run()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_reports_page_makes_the_report_and_offers_it_for_download(db_path, world, role):
    at = open_reports(db_path, role)
    assert not at.exception and not at.error
    at.radio(key="reports_kind").set_value("quarter")
    at.selectbox(key="reports_year").set_value(2025)
    at.selectbox(key="reports_quarter").set_value(1)
    at.run()
    assert "Kỳ báo cáo: **quý I năm 2025**" in [m.value for m in at.markdown]
    at.button(key="reports_generate").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Đã tạo xong bao-cao-2025-Q1.docx."]
    made = at.session_state["reports_file"]
    assert made["name"] == "bao-cao-2025-Q1.docx"
    assert "IV. KIẾN NGHỊ, ĐỀ XUẤT" in paragraphs(docx(made["data"]))
    # The leader's written report form: two attended meeting/leader pairs in the quarter.
    assert len(at.selectbox(key="reports_leader_pick").options) == 2


def test_reports_page_workbook_for_one_unit(db_path, world):
    at = open_reports(db_path, "viewer")
    at.radio(key="reports_kind").set_value("month").run()
    at.selectbox(key="reports_year").set_value(2025)
    at.selectbox(key="reports_month").set_value(1)
    at.selectbox(key="reports_unit").set_value("NL")
    at.radio(key="reports_format").set_value("xlsx")
    at.run()
    at.button(key="reports_generate").click().run()
    made = at.session_state["reports_file"]
    assert made["name"] == "so-lieu-2025-01-NL.xlsx"
    # the commune's cells are the rows (branch creport)
    cells = records(load_workbook(io.BytesIO(made["data"]))["Dự sinh hoạt theo chi bộ"])
    assert [(c["Mã chi bộ"], c["Có mặt"]) for c in cells] == [("NL-CD", 25)]


def test_reports_page_is_refused_to_a_clerk(db_path, world):
    at = open_reports(db_path, "clerk")
    assert [e.value for e in at.error] == [t("perm.forbidden")]
    assert len(at.button) == 0


def test_reports_page_in_the_navigation_of_admin_and_viewer_only(db_path):
    from lib import nav

    assert {r for r in ("admin", "clerk", "viewer") if nav.allowed(r, "pages/reports.py")} == {"admin", "viewer"}


def test_reports_page_through_the_app_for_a_viewer(db_path, world):
    from tests.helpers import app_test, current_page

    make_user(db_path, "xem", "viewer")
    at = login(app_test(db_path), "xem", "Matkhau123")
    at.switch_page("pages/reports.py").run()
    assert current_page(at) == "pages/reports.py" and not at.exception
    assert at.button(key="reports_generate") is not None


def test_demo_exports_equal_metrics_json(db_path, tmp_path):
    """On the Càng Long demo, the workbook and the report tables carry exactly the `metrics --json` figures."""
    import json

    from lib import demo

    demo.load(db_path, today=date(2025, 6, 15))
    with_district_body(db_path)
    shown = json.loads(run_cli(db_path, "metrics", "--period", PERIOD, "--json").stdout)
    out = tmp_path / "so-lieu.xlsx"
    assert run_cli(db_path, "report", "--period", PERIOD, "--format", "xlsx", "--out", str(out)).returncode == 0
    wb = load_workbook(out)
    keys = ("unit_code", "meetings", "required", "present", "absent_excused", "absent_unexcused", "rate",
            "cell_months", "held", "coverage", "on_schedule_rate")
    assert [tuple(r.values())[:1] + tuple(r.values())[2:] for r in records(wb["Dự sinh hoạt theo đảng bộ"])] == [
        tuple(u[k] for k in keys) for u in shown["attendance_by_unit"]]
    assert len(shown["attendance_by_unit"]) == 14
    assert [(r["Mã cán bộ"], r["Phải dự"], r["Đã dự"], r["Mức thực hiện"], r["Báo cáo đã nộp"], r["Nộp trễ"])
            for r in records(wb["Cán bộ phụ trách"])] == [
        (r["leader_code"], r["expected"], r["attended"], r["compliance"], r["reports"], r["late_reports"])
        for r in shown["leader_participation"]]
    assert {r["Tình trạng"]: r["Số lượng"] for r in records(wb["Hạn chế theo tình trạng"])} == {
        t(f"enum.WeaknessStatus.{s}"): n for s, n in shown["weaknesses"]["by_status"].items()}
    doc = Document(io.BytesIO(reports.compiled_docx(db_path, PERIOD)))
    attendance = by_name(table_with(doc, "Tỷ lệ dự sinh hoạt"))
    assert len(attendance) == 15  # 14 communes and the total
    for u in shown["attendance_by_unit"]:
        assert attendance[u["unit_name"]][2:] == [reports.fmt_num(u[k]) for k in keys[1:6]] + [
            reports.fmt_pct(u["rate"])]
