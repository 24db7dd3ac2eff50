"""Issue 11, "wording of today": the words of the UI, charts, DOCX/XLSX; Roman quarters; same-named units told apart
by their validity, never by internal codes; unit names in lower case inside a sentence."""

import io
import re
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook

from lib import charts, directory, metrics, reports
from lib import db as dbm
from lib.domain import (
    SYSTEM,
    MeetingType,
    ParseError,
    Severity,
    cell_in_sentence,
    mid_sentence,
    parse_enum,
    period_display,
)
from lib.i18n import catalogue, language, t
from tests.factories import add_meeting, small_directory
from tests.helpers import make_user, page_test
from tests.test_reports import with_district_body

# ---- 1. the locale files carry today's words ---------------------------------------------------------------------

# Old forms that no Vietnamese text may contain any more (case-insensitive).
FORBIDDEN_VI = ("dự họp", "đột xuất", "đảm bảo", "cuộc họp", "buổi họp", "đã họp", "không họp", "vắng họp",
                "xã, thị trấn", "các xã, thị trấn")


@pytest.mark.parametrize("old", FORBIDDEN_VI)
def test_no_vietnamese_text_keeps_an_old_form(old):
    found = {k: v for k, v in catalogue("vi").items() if old in v.lower()}
    assert found == {}


def test_thi_tran_survives_only_as_the_historical_kind():
    # the kind thi_tran stays for the units before 1/7/2025; no label of a commune-level picker names it
    found = {k for k, v in catalogue("vi").items() if "thị trấn" in v.lower()}
    assert found == {"enum.UnitKind.thi_tran"}
    assert {k for k, v in catalogue("en").items() if re.search(r"\btowns?\b", v, re.I)} == {"enum.UnitKind.thi_tran"}
    assert t("dash.units", "vi") == "Đảng bộ xã, phường"
    assert t("field.unit_id", "en") == "Commune / ward"


def test_todays_words_for_the_meeting_type_severity_and_figures():
    with language("vi"):
        assert MeetingType.DOT_XUAT.label == "Bất thường"  # the code dot_xuat stays
        assert Severity.MEDIUM.label == "Vừa"  # a level, not a rating ("Trung bình" is a rating)
        assert Severity.MEDIUM.value == "medium"
    vi = catalogue("vi")
    assert vi["metrics.attendance_rate"] == "Tỷ lệ đảng viên dự sinh hoạt"
    assert vi["metrics.on_schedule_rate"] == "Tỷ lệ sinh hoạt đúng ngày cố định"
    assert vi["metrics.meetings"] == "Số buổi sinh hoạt"
    # (branch format36: the leader's report no longer pre-fills "bảo đảm" / "chưa bảo đảm": the leader assesses)
    assert "bất thường" in vi["report.s1_attendance"]


def test_a_file_written_with_the_former_labels_still_reads():
    # a spreadsheet filled before the rename (or a clerk typing by habit) keeps working
    assert parse_enum(MeetingType, "Đột xuất") is MeetingType.DOT_XUAT
    assert parse_enum(MeetingType, "dot xuat") is MeetingType.DOT_XUAT
    assert parse_enum(MeetingType, "Bất thường") is MeetingType.DOT_XUAT
    assert parse_enum(Severity, "Trung bình") is Severity.MEDIUM
    assert parse_enum(Severity, "Vừa") is Severity.MEDIUM
    with pytest.raises(ParseError):
        parse_enum(Severity, "Tốt")


# ---- 2. quarters in Roman numerals -----------------------------------------------------------------------------

@pytest.mark.parametrize(("label", "vi", "en"), [
    ("2025-Q1", "Quý I/2025", "Q1 2025"),
    ("2025-Q2", "Quý II/2025", "Q2 2025"),
    ("2025-Q3", "Quý III/2025", "Q3 2025"),
    ("2024-Q4", "Quý IV/2024", "Q4 2024"),
    ("2025", "Năm 2025", "Year 2025"),
    ("2025-03", "Tháng 03/2025", "03/2025"),
])
def test_period_display_writes_quarters_in_roman_numerals(label, vi, en):
    period = metrics.parse_period(label)
    with language("vi"):
        assert period_display(period) == vi
    with language("en"):
        assert period_display(period) == en
    assert period.label == label  # the URL, CLI and JSON label is unchanged


def test_ui_period_label_is_the_roman_display():
    from lib import ui

    with language("vi"):
        assert ui.period_label(metrics.parse_period("2025-Q2")) == "Quý II/2025"


def test_the_docx_and_the_workbook_write_the_quarter_in_roman_numerals(db_path):
    ids = small_directory(db_path)
    add_meeting(db_path, ids["c1"], "2025-05-31")
    with_district_body(db_path)  # a report needs its issuing body (branch bodies)
    with language("vi"):
        doc = Document(io.BytesIO(reports.compiled_docx(db_path, "2025-Q2", today=date(2025, 8, 1))))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "quý II năm 2025" in text
    assert "2025-Q2" not in text and "quý 2" not in text.lower() and "Q2" not in text
    with language("vi"):
        book = load_workbook(io.BytesIO(reports.data_xlsx(db_path, "2025-Q2", today=date(2025, 8, 1))))
    summary = {r[0]: r[1] for r in book.worksheets[0].iter_rows(values_only=True)}
    assert summary[t("report.x_period", "vi")] == "Quý II/2025"


# ---- 3. same-named units told apart by their validity ----------------------------------------------------------

OLD_LABEL = "Xã An Trường (cũ, đến 30/6/2025)"


@pytest.fixture
def two_an_truong(db_path):
    """The old Xã An Trường (until 30/6/2025, cell Ấp 1: 28 due, 21 present on 10/06/2025) merged into the new
    Xã An Trường (from 1/7/2025, cell Ấp 1: 28 due, 27 present on 10/08/2025); and Xã Tân An (no cell)."""
    with dbm.write(db_path) as db:
        old = directory.create_unit(db, SYSTEM, {"code": "ANTRUONG", "name": "Xã An Trường", "kind": "xa",
                                                 "valid_from": "2000-01-01"})
        new = directory.create_unit(db, SYSTEM, {"code": "ANTRUONG25", "name": "Xã An Trường", "kind": "xa",
                                                 "valid_from": "2025-07-01"})
        other = directory.create_unit(db, SYSTEM, {"code": "TANAN", "name": "Xã Tân An", "kind": "xa"})
        directory.merge_unit(db, SYSTEM, old, new, "2025-06-30")
        c_old = directory.create_cell(db, SYSTEM, {"code": "AT-1", "unit_id": old, "name": "Ấp 1",
                                                   "cell_type": "ap_khom", "meeting_day": 10,
                                                   "valid_from": "2000-01-01", "valid_to": "2025-06-30"})
        c_new = directory.create_cell(db, SYSTEM, {"code": "AT25-1", "unit_id": new, "name": "Ấp 1",
                                                   "cell_type": "ap_khom", "meeting_day": 10,
                                                   "valid_from": "2025-07-01"})
    add_meeting(db_path, c_old, "2025-06-10", present=21)
    add_meeting(db_path, c_new, "2025-08-10", present=27)
    return {"old": old, "new": new, "other": other}


def test_display_names_tell_same_named_units_apart_by_validity():
    rows = [{"code": "ANTRUONG", "name": "Xã An Trường", "valid_from": None, "valid_to": "2025-06-30"},
            {"code": "ANTRUONG25", "name": "Xã An Trường", "valid_from": "2025-07-01", "valid_to": None},
            {"code": "TANAN", "name": "Xã Tân An", "valid_from": None, "valid_to": "2025-06-30"}]
    with language("vi"):
        assert directory.display_names(rows) == {"ANTRUONG": OLD_LABEL, "ANTRUONG25": "Xã An Trường",
                                                 "TANAN": "Xã Tân An"}
    with language("en"):
        assert directory.display_names(rows)["ANTRUONG"] == "Xã An Trường (old, until 30/6/2025)"


def test_same_named_cells_of_one_unit_are_told_apart_but_not_across_units():
    rows = [{"code": "A", "name": "Ấp Kinh", "unit_id": 1, "valid_from": None, "valid_to": "2025-06-30"},
            {"code": "B", "name": "Ấp Kinh", "unit_id": 1, "valid_from": "2025-07-01", "valid_to": None},
            {"code": "C", "name": "Ấp Kinh", "unit_id": 2, "valid_from": None, "valid_to": "2024-12-31"}]
    with language("vi"):
        assert directory.display_names(rows, group="unit_id") == {
            "A": "Ấp Kinh (cũ, đến 30/6/2025)", "B": "Ấp Kinh", "C": "Ấp Kinh"}


def test_figures_charts_and_workbook_name_the_old_unit_by_its_validity_not_its_code(db_path, two_an_truong):
    with language("vi"):
        data = reports.gather(db_path, "2025", today=date(2025, 12, 31))
        names = {r["unit_code"]: r["unit_name"] for r in data.figures["attendance_by_unit"]}
        assert names["ANTRUONG"] == OLD_LABEL and names["ANTRUONG25"] == "Xã An Trường"
        assert "TANAN" not in names  # no cell, no row
        axis = list(charts.unit_labels(__import__("pandas").DataFrame(data.figures["attendance_by_unit"])))
        assert sorted(axis) == sorted([OLD_LABEL, "Xã An Trường"])
        book = load_workbook(io.BytesIO(reports.data_xlsx(db_path, "2025", today=date(2025, 12, 31))))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert OLD_LABEL in cells
    assert not any(re.search(r"\((ANTRUONG|ANTRUONG25|AT-1|AT25-1)\)", v) for v in cells)


def test_the_docx_names_the_old_unit_by_its_validity_in_lower_case_mid_sentence(db_path, two_an_truong):
    with_district_body(db_path)
    with language("vi"):
        doc = Document(io.BytesIO(reports.compiled_docx(db_path, "2025", today=date(2025, 12, 31))))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for tb in doc.tables for row in tb.rows for c in row.cells])
    assert OLD_LABEL in text  # the table row, heading its line
    # 21/28 = 75% < 85%: the old commune is named inside the sentences, in lower case, by its validity
    assert "xã An Trường (cũ, đến 30/6/2025) (75,0%)" in text
    assert "(ANTRUONG" not in text


def test_the_reports_page_picker_tells_the_two_apart(db_path, two_an_truong):
    make_user(db_path, "user_admin", "admin")
    at = page_test("pages/reports.py", "user_admin").run()
    assert not at.exception
    options = at.selectbox(key="reports_unit").options
    assert OLD_LABEL in options and "Xã An Trường" in options
    assert not any("(ANTRUONG" in o for o in options)


# ---- 4. names inside a sentence --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "inside"), [
    ("Xã Đại Phước", "xã Đại Phước"),
    ("Chi bộ ấp Mẫu", "chi bộ ấp Mẫu"),
    ("Chi bộ Ấp Mẫu", "chi bộ ấp Mẫu"),
    ("Phường 1", "phường 1"),
    ("Thị trấn Càng Long", "thị trấn Càng Long"),
    ("Ấp 1", "ấp 1"),
    ("Huyện ủy Càng Long", "Huyện ủy Càng Long"),  # a body's name keeps its capital
    ("Tỉnh ủy Vĩnh Long", "Tỉnh ủy Vĩnh Long"),
    ("Đảng bộ Công an xã", "Đảng bộ Công an xã"),
    ("Công an xã An Trường", "Công an xã An Trường"),
    ("Xãhội", "Xãhội"),
])
def test_mid_sentence_lowers_only_the_leading_common_nouns(name, inside):
    assert mid_sentence(name) == inside


def test_a_cell_named_in_a_sentence_says_chi_bo_once():
    with language("vi"):
        assert cell_in_sentence("Ấp Mẫu") == "chi bộ ấp Mẫu"
        assert cell_in_sentence("Chi bộ ấp Mẫu") == "chi bộ ấp Mẫu"


def test_the_report_names_units_in_lower_case_inside_its_sentences(db_path):
    ids = small_directory(db_path)
    add_meeting(db_path, ids["c1"], "2025-01-31", present=20)  # 20/28 = 71,4% < 85%
    with_district_body(db_path)
    with language("vi"):
        doc = Document(io.BytesIO(reports.compiled_docx(db_path, "2025-Q1", unit_code="NL",
                                                        today=date(2025, 5, 1))))
    text = [p.text for p in doc.paragraphs]
    assert any(p.endswith("quý I năm 2025 tại xã Nhị Long") for p in text)  # branch format36: the trích yếu
    # a commune with only cells names its cells (branch creport)
    assert any("dưới mức 85,0%: chi bộ ấp Cầu Đúc (71,4%)." in p for p in text)


def test_a_dashboard_names_the_old_unit_by_its_validity_in_its_picker_and_table(db_path, two_an_truong):
    make_user(db_path, "user_admin", "admin")
    at = page_test("pages/attendance.py", "user_admin")
    at.query_params["ky"] = "2025"
    at.run()
    assert not at.exception
    picker = at.multiselect(key="dash_units")
    assert OLD_LABEL in picker.options and "Xã An Trường" in picker.options
    shown = [v for df in at.dataframe for col in df.value.columns if col for v in df.value[col].astype(str)]
    assert OLD_LABEL in shown
    assert not any(re.search(r"\(ANTRUONG", v) for v in shown + list(picker.options))
