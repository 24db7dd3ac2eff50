"""The compiled report and the leader's report in the Party's format (Hướng dẫn 36-HD/VPTW, issue 15, branch
format36), read back with python-docx from documents built on data made here.

The world: the district HUYEN (home, its body from 2016: Trà Vinh's upper line, HU, Càng Long), two communes under
it, An Trường (code ANTRUONG25, cell AT-1) and Nhị Long (code NHILONG25, cell NL-1), both meeting on the 10th.
Period 2025-Q1, issued as number 12 on 5/4/2025.

- AT-1 meets on 10/1, 10/2, 10/3 with 25 of 28 present (89,3%); NL-1 on 10/1 and 10/2 with 20 of 28 (71,4%, below
  85%) and misses March.
- Leaders (one meeting a quarter each): An (decision 395-QĐ/HU of 21/2/2022, issuer stored: the home node) attends
  AT-1 on 10/1 and sends no report: 100%, not in table 5. Bình (decision 12-QĐ/HU of 5/1/2025, issuer not stored:
  found by the suffix HU) attends nothing: 0%, in table 5 with her post at 31/3/2025, "Phó Chủ tịch UBND huyện"
  (until 31/12/2024 she was "Chủ tịch Hội Nông dân huyện"). Cường (decision 7-QĐ/BTC of 6/1/2025, no issuer and no
  body of that symbol) attends NL-1 on 10/1: 100%.
- Weaknesses, as of 31/3/2025 (the period's end; the report is made on 5/4/2025):
  W1 AT noted 1/3/2024, due 30/6/2024, open             → overdue, aged 395 days
  W2 NL noted 1/2/2025, due 28/2/2025, open             → overdue, aged 58 days
  W3 AT noted 1/5/2025 (after the period), open         → not in this report
  W4 NL noted 10/1/2024, due 10/2/2024, resolved 20/4/2025 → still open at 31/3/2025: overdue, aged 446 days
  W5 AT noted 5/1/2024, due 1/2/2024, resolved 1/12/2024  → not open at the period's end
  W6 AT noted 1/3/2025, due 30/4/2025, open             → open, not overdue
  So 4 open and 3 overdue "tính đến ngày 31/03/2025", listed W4, W1, W2 (oldest first).
"""

import io
from datetime import date

import pytest
from docx import Document
from docx.table import Table
from openpyxl import load_workbook

from lib import assignments, directory, leaders, org, reports, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, Role
from tests.factories import add_meeting

PERIOD = "2025-Q1"
TODAY = date(2025, 4, 5)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
BODY = {"effective_from": "2016-01-01", "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH", "committee": "Huyện ủy Càng Long",
        "board": "Ban Tổ chức Huyện ủy", "symbol_suffix": "HU", "place": "Càng Long",
        "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
        "recipients": ["- Ban Tổ chức Tỉnh ủy (b/c),", "- Lưu Văn phòng Huyện ủy."]}
NARRATIVE = {"uu_diem": "Các chi bộ duy trì sinh hoạt đều đặn.", "han_che": "Chi bộ ấp 1 xã Nhị Long vắng nhiều.",
             "nguyen_nhan_khach_quan": "Mùa thu hoạch.", "nguyen_nhan_chu_quan": "Chi ủy chưa đôn đốc.",
             "nhiem_vu": "- Đôn đốc các chi bộ.\n- Kiểm tra việc dự sinh hoạt."}


@pytest.fixture
def world(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện Càng Long", "kind": "huyen"})
        units, cells = {}, {}
        for code, name, cell in (("ANTRUONG25", "Xã An Trường", "AT-1"), ("NHILONG25", "Xã Nhị Long", "NL-1")):
            units[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": "xa",
                                                             "parent_id": home})
            cells[cell] = directory.create_cell(db, SYSTEM, {"code": cell, "unit_id": units[code],
                                                             "name": "Chi bộ ấp 1", "cell_type": "ap_khom",
                                                             "meeting_day": 10, "valid_from": "2020-01-01"})
        body = org.create_body(db, SYSTEM, {**BODY, "unit_id": home})
        # the body's document settings, as org.save_body_document stores them (written here as rows so the world
        # builds on main too, where the tests below then fail on what they check)
        basis = "Quy định số 784-QĐ/TU, ngày 10-5-2016 của Ban Thường vụ Tỉnh ủy Trà Vinh;"
        for name, value in (("legal_basis", basis), ("upper_body", "Ban Thường vụ Tỉnh ủy Trà Vinh"),
                            ("signer_name", "Trần Văn Bảy")):
            db.execute("insert into settings(key, value) values (?, ?)", [f"body.{body}.{name}", value])
        an = directory.create_leader(db, SYSTEM, {"code": "L-AN", "full_name": "Nguyễn Văn An", "grp": "uv_btv",
                                                  "position": "Trưởng Ban Tổ chức Huyện ủy"})
        binh = directory.create_leader(db, SYSTEM, {"code": "L-BINH", "full_name": "Trần Thị Bình", "grp": "uv_bch",
                                                    "position": "Chủ tịch Hội Nông dân huyện"})
        cuong = directory.create_leader(db, SYSTEM, {"code": "L-CUONG", "full_name": "Lê Văn Cường",
                                                     "grp": "uv_bch", "position": "Phó Trưởng Ban Dân vận"})
        first = leaders.latest_post(db, binh)["id"]
        leaders.update_post(db, SYSTEM, first, {"valid_to": "2024-12-31"})
        leaders.create_post(db, SYSTEM, {"leader_id": binh, "unit_id": home, "title": "Phó Chủ tịch UBND huyện",
                                         "grp": "uv_bch", "valid_from": "2025-01-01"})
        assignments.create(db, SYSTEM, {"leader_id": an, "unit_id": units["ANTRUONG25"], "decision_no": "395-QĐ/HU",
                                        "decision_date": "2022-02-21", "valid_from": "2022-02-21"})
        for leader, unit, number, day in ((binh, "NHILONG25", "12-QĐ/HU", "2025-01-05"),
                                          (cuong, "NHILONG25", "7-QĐ/BTC", "2025-01-06")):
            row = assignments.create(db, SYSTEM, {"leader_id": leader, "unit_id": units[unit], "decision_no": number,
                                                  "decision_date": day, "valid_from": day})
            db.execute("update assignments set issuer_unit_id = null where id = ?", [row])
    meetings = {}
    for day in ("2025-01-10", "2025-02-10", "2025-03-10"):
        meetings[("AT", day)] = add_meeting(db_path, cells["AT-1"], day, present=25,
                                            leaders=[{"leader_id": an}] if day == "2025-01-10" else ())
    for day in ("2025-01-10", "2025-02-10"):
        meetings[("NL", day)] = add_meeting(db_path, cells["NL-1"], day, present=20,
                                            leaders=[{"leader_id": cuong}] if day == "2025-01-10" else ())
    with dbm.write(db_path) as db:
        for unit, noted, due, status, resolved, label in (
                ("ANTRUONG25", "2024-03-01", "2024-06-30", "open", None, "W1"),
                ("NHILONG25", "2025-02-01", "2025-02-28", "open", None, "W2"),
                ("ANTRUONG25", "2025-05-01", "2025-05-15", "open", None, "W3"),
                ("NHILONG25", "2024-01-10", "2024-02-10", "resolved", "2025-04-20", "W4"),
                ("ANTRUONG25", "2024-01-05", "2024-02-01", "resolved", "2024-12-01", "W5"),
                ("ANTRUONG25", "2025-03-01", "2025-04-30", "open", None, "W6")):
            weaknesses.create(db, SYSTEM, {"unit_id": units[unit], "category": "other", "description": label,
                                           "noted_on": noted, "due_on": due, "status": status,
                                           "resolved_on": resolved, "resolution": "Đã khắc phục" if resolved
                                           else None}, today=date(2025, 6, 1))
    return {"path": db_path, "an": an, "binh": binh, "cuong": cuong, "meetings": meetings, "body": body}


def docx(world, **kw) -> Document:
    kw = {"number": 12, "issued_on": TODAY, "narrative": NARRATIVE, **kw}
    return Document(io.BytesIO(reports.compiled_docx(world["path"], PERIOD, today=TODAY, **kw)))


def blocks(doc) -> list:
    """The body's paragraphs and tables in document order, each as ("p", text, element) or ("t", Table)."""
    out = []
    for el in doc.element.body.iterchildren():
        if el.tag == W + "p":
            out.append(("p", "".join(x.text or "" for x in el.iter(W + "t")), el))
        elif el.tag == W + "tbl":
            out.append(("t", Table(el, doc)))
    return out


def texts(doc) -> list[str]:
    return [b[1] for b in blocks(doc) if b[0] == "p"]


def everything(doc) -> str:
    return "\n".join(texts(doc) + [c.text for tb in doc.tables for row in tb.rows for c in row.cells])


def signature_table(doc) -> Table:
    return next(tb for tb in doc.tables if "Nơi nhận:" in tb.rows[0].cells[0].text)


def table_after(doc, caption_start: str) -> Table:
    found = False
    for b in blocks(doc):
        if b[0] == "p" and b[1].startswith(caption_start):
            found = True
        elif b[0] == "t" and found:
            return b[1]
    raise AssertionError(caption_start)


# ---- header block, symbol, date, trích yếu ------------------------------------------------------------------


def test_header_block_carries_the_number_symbol_and_date_of_issue(world):
    doc = docx(world)
    left, right = doc.tables[0].rows[0].cells
    assert left.text.split("\n") == ["ĐẢNG BỘ TỈNH TRÀ VINH", "HUYỆN ỦY CÀNG LONG", "*", "Số 12-BC/HU"]
    assert right.text.split("\n") == ["ĐẢNG CỘNG SẢN VIỆT NAM", "", "Càng Long, ngày 05 tháng 4 năm 2025"]
    # 36-HD styles: the Party's title bold, the committee bold, the upper line not, the place and date in italics
    assert [r.bold for r in left.paragraphs[0].runs] == [None] and left.paragraphs[1].runs[0].bold
    assert right.paragraphs[0].runs[0].bold and right.paragraphs[2].runs[0].italic
    # a draft: dots for the number and the day
    draft = Document(io.BytesIO(reports.compiled_docx(world["path"], PERIOD, today=TODAY)))
    assert draft.tables[0].rows[0].cells[0].text.split("\n")[-1] == "Số        -BC/HU"
    assert draft.tables[0].rows[0].cells[1].text.endswith("Càng Long, ngày …… tháng …… năm 2025")


def test_party_dates_pad_the_day_and_the_first_two_months():
    assert reports.party_date("2022-02-21") == "21-02-2022"
    assert reports.party_date(date(2026, 1, 5)) == "05-01-2026"
    assert reports.party_date("2016-05-10") == "10-5-2016"


def test_trich_yeu_in_lower_case_without_a_stray_comma(world):
    paras = texts(docx(world))
    i = paras.index("BÁO CÁO")
    assert paras[i + 1] == "tình hình sinh hoạt chi bộ và việc dự sinh hoạt của cán bộ phụ trách địa bàn quý I năm 2025"
    assert paras[i + 2] == "-----"
    para = next(p for p in docx(world).paragraphs if p.text == paras[i + 1])
    assert all(r.bold for r in para.runs)


# ---- legal basis and decisions ------------------------------------------------------------------------------------


def test_legal_basis_and_decisions_cited_with_issuer_and_dashed_dates(world):
    intro = next(p for p in texts(docx(world)) if p.startswith("Căn cứ"))
    assert intro.startswith("Căn cứ Quy định số 784-QĐ/TU, ngày 10-5-2016 của Ban Thường vụ Tỉnh ủy Trà Vinh; "
                            "thực hiện Quyết định số 395-QĐ/HU, ngày 21-02-2022 của Ban Thường vụ Huyện ủy Càng "
                            "Long; ")
    # the issuer not stored: found by the symbol's suffix (HU) and the body in force on the decision's day
    assert "Quyết định số 12-QĐ/HU, ngày 05-01-2025 của Ban Thường vụ Huyện ủy Càng Long;" in intro
    # no body of that symbol: cited without a guessed issuer
    assert "Quyết định số 7-QĐ/BTC, ngày 06-01-2025 về việc phân công" in intro
    assert "/" + "01/2025" not in intro and "21/02/2022" not in intro


def test_legal_basis_is_the_bodys_data_and_only_an_admin_sets_it(world):
    clerk = Actor("thuky", Role.CLERK, frozenset())
    with dbm.write(world["path"]) as db:
        with pytest.raises(PermissionDenied):
            org.save_body_document(db, clerk, world["body"], {"legal_basis": "Khác"})
        before = db.execute("select count(*) from audit_log where table_name = 'settings'").fetchone()[0]
        org.save_body_document(db, SYSTEM, world["body"], {"legal_basis": ""})
        assert org.body_document(db, world["body"])["legal_basis"] == []
        after = db.execute("select count(*) from audit_log where table_name = 'settings'").fetchone()[0]
    assert after == before + 1  # audited like every setting
    intro = next(p for p in texts(docx(world)) if p.startswith("Thực hiện"))
    assert "784-QĐ/TU" not in intro


# ---- the sections of a signed report ------------------------------------------------------------------------------


def test_sections_in_the_order_of_a_signed_report_with_the_boards_text(world):
    paras = texts(docx(world))
    heads = [p for p in paras if p[:3] in ("I. ", "II.", "III", "IV.")]
    assert heads == ["I. TÌNH HÌNH SINH HOẠT CHI BỘ VÀ VIỆC DỰ SINH HOẠT CỦA CÁN BỘ PHỤ TRÁCH ĐỊA BÀN",
                     "II. ĐÁNH GIÁ CHUNG", "III. NHIỆM VỤ, GIẢI PHÁP THỜI GIAN TỚI", "IV. KIẾN NGHỊ, ĐỀ XUẤT"]
    ii = paras.index("II. ĐÁNH GIÁ CHUNG")
    assert paras[ii:ii + 11] == [
        "II. ĐÁNH GIÁ CHUNG", "1. Ưu điểm", NARRATIVE["uu_diem"], "2. Hạn chế", NARRATIVE["han_che"],
        "3. Nguyên nhân", "a) Nguyên nhân khách quan", NARRATIVE["nguyen_nhan_khach_quan"],
        "b) Nguyên nhân chủ quan", NARRATIVE["nguyen_nhan_chu_quan"], "III. NHIỆM VỤ, GIẢI PHÁP THỜI GIAN TỚI"]
    assert paras[ii + 11:ii + 13] == ["- Đôn đốc các chi bộ.", "- Kiểm tra việc dự sinh hoạt."]


def test_a_section_without_text_is_a_dotted_line_not_generated_orders(world):
    doc = docx(world)  # no "kien_nghi" in the narrative
    body = blocks(doc)
    iv = next(i for i, b in enumerate(body) if b[0] == "p" and b[1].startswith("IV. "))
    dotted = body[iv + 1][2]
    assert body[iv + 1][1] == "" and dotted.find(f".//{W}tab[@{W}leader='dot']") is not None
    text = everything(doc)
    for name in ("Nguyễn Văn An", "Lê Văn Cường"):  # cadres are named in table 5 only, never given orders
        assert name not in text
    assert "Đề nghị các đồng chí" not in text


def test_the_draft_defaults_state_the_shortfalls_without_naming_cadres(world):
    data = reports.gather(world["path"], PERIOD, today=TODAY)
    defaults = reports.narrative_defaults(data)
    assert set(defaults) == {"han_che", "nhiem_vu"}
    assert "xã Nhị Long (71,4%)" in defaults["han_che"]
    assert "Có 1 đồng chí cán bộ phụ trách địa bàn chưa dự đủ" in defaults["han_che"]
    assert "Trần Thị Bình" not in defaults["han_che"] + defaults["nhiem_vu"]


# ---- appendix after the signature ---------------------------------------------------------------------------------


def test_long_tables_go_to_numbered_appendices_after_the_signature(world, monkeypatch):
    monkeypatch.setattr(reports, "APPENDIX_ROWS", 2)
    doc = docx(world)
    body = blocks(doc)
    sign = next(i for i, b in enumerate(body) if b[0] == "t" and "Nơi nhận:" in b[1].rows[0].cells[0].text)
    appendix = next(i for i, b in enumerate(body) if b[0] == "p" and b[1] == "PHỤ LỤC 1")
    assert sign < appendix
    assert body[appendix][2].find(f".//{W}pageBreakBefore") is not None
    assert [b[1] for b in body[appendix:appendix + 4]] == [
        "PHỤ LỤC 1", "HẠN CHẾ QUÁ HẠN KHẮC PHỤC TÍNH ĐẾN NGÀY 31/03/2025",
        "(Kèm theo Báo cáo số 12-BC/HU, ngày 05-4-2025 của Ban Thường vụ Huyện ủy Càng Long)", "-----"]
    table = body[appendix + 4][1]
    assert len(table.rows) == 4  # header and W4, W1, W2
    before = [b[1] for b in body[:sign] if b[0] == "p"]
    assert "(Hạn chế quá hạn khắc phục tính đến ngày 31/03/2025: chi tiết tại Phụ lục 1 kèm theo.)" in before
    assert not any("tệp số liệu" in p or "Excel" in p for p in texts(doc))


# ---- recipients and signer ------------------------------------------------------------------------------------------


def test_recipients_built_from_the_upper_body_the_fixed_list_and_the_bodies_concerned(world):
    doc = docx(world)
    left, right = signature_table(doc).rows[0].cells
    assert left.text.split("\n") == ["Nơi nhận:", "- Ban Thường vụ Tỉnh ủy Trà Vinh (b/c),",
                                     "- Ban Tổ chức Tỉnh ủy (b/c),", "- Đảng ủy xã An Trường, xã Nhị Long (t/h),",
                                     "- Lưu Văn phòng Huyện ủy."]
    label = left.paragraphs[0].runs[0]
    assert label.underline and not label.bold and not label.italic and label.font.size.pt == 14
    assert {r.font.size.pt for p in left.paragraphs[1:] for r in p.runs} == {12}
    lines = right.text.split("\n")
    assert lines[:2] == ["T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ"] and lines[-1] == "Trần Văn Bảy"
    assert right.paragraphs[-1].runs[0].bold


def test_archive_line_names_the_office_of_the_body(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "P-LC", "name": "Đảng bộ phường Long Châu",
                                                  "kind": "phuong"})
        cell = directory.create_cell(db, SYSTEM, {"code": "LC-1", "unit_id": home, "name": "Chi bộ khóm 1",
                                                  "cell_type": "ap_khom", "meeting_day": 10})
        org.create_body(db, SYSTEM, {"unit_id": home, "effective_from": "2025-07-01",
                                     "committee": "Đảng ủy phường Long Châu"})
    add_meeting(db_path, cell, "2026-02-10")
    doc = Document(io.BytesIO(reports.compiled_docx(db_path, "2026-Q1", today=date(2026, 4, 10))))
    # no fixed list: the cell that missed January and March (the body concerned), then the archive of the office
    assert signature_table(doc).rows[0].cells[0].text.split("\n") == ["Nơi nhận:", "- Chi bộ khóm 1 (t/h),",
                                                                      "- Lưu Văn phòng Đảng ủy."]


# ---- labels, table 5, overdue ---------------------------------------------------------------------------------------


def test_no_internal_codes_in_the_documents_tables_or_text(world):
    text = everything(docx(world))
    for code in ("ANTRUONG25", "NHILONG25", "AT-1", "NL-1", "HUYEN", "L-AN", "L-BINH"):
        assert code not in text, code


def test_table_5_lists_only_leaders_below_100_percent_with_their_post_at_the_periods_end(world):
    doc = docx(world)
    table = table_after(doc, "Bảng 5.")
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:3] == ["STT", "Họ và tên", "Chức vụ"]
    assert rows[1:] == [["1", "Trần Thị Bình", "Phó Chủ tịch UBND huyện", "1", "0", "0,0%", "0", "0"]]
    assert "Có 1 đồng chí chưa dự đủ số lần sinh hoạt theo phân công (mức thực hiện dưới 100%):" in texts(doc)


def test_overdue_items_of_the_period_aged_as_of_its_end_and_the_same_day_in_the_workbook(world):
    doc = docx(world)
    paras = texts(doc)
    assert any("Tính đến ngày 31/03/2025, còn 4 hạn chế chưa khắc phục xong (kể cả các kỳ trước), trong đó 3 hạn chế "
               "đã quá hạn khắc phục." in p for p in paras)
    table = table_after(doc, next(p for p in paras if p.startswith("Bảng") and "quá hạn" in p))
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert [(r[3], r[4], r[5]) for r in rows] == [("10/01/2024", "10/02/2024", "446"),
                                                 ("01/03/2024", "30/06/2024", "395"),
                                                 ("01/02/2025", "28/02/2025", "58")]
    wb = load_workbook(io.BytesIO(reports.data_xlsx(world["path"], PERIOD, today=TODAY)))
    summary = {r[0]: r[1] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)}
    open_key = next(k for k in summary if k.startswith("Hạn chế") and "chưa" in k and "tính đến ngày" in k)
    overdue_key = next(k for k in summary if "quá hạn" in k and "tính đến ngày" in k)
    assert open_key.endswith("(tính đến ngày 31/03/2025)") and overdue_key.endswith("(tính đến ngày 31/03/2025)")
    assert (summary[open_key], summary[overdue_key]) == ("4", "3")


# ---- the leader's report ---------------------------------------------------------------------------------------------


def test_the_leaders_report_is_personal_and_addressed_to_the_standing_committee_through_the_board(world):
    meeting = world["meetings"][("AT", "2025-01-10")]
    doc = Document(io.BytesIO(reports.leader_report_docx(world["path"], meeting, world["an"])))
    left, right = doc.tables[0].rows[0].cells
    assert left.text == ""  # not the committee's document: no committee, no number
    assert right.text.split("\n")[0] == "ĐẢNG CỘNG SẢN VIỆT NAM"
    paras = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in paras
    assert ("của đồng chí Nguyễn Văn An về kết quả dự sinh hoạt chi bộ ấp 1, xã An Trường ngày 10-01-2025"
            in paras)
    assert "Kính gửi: Ban Thường vụ Huyện ủy Càng Long (qua Ban Tổ chức Huyện ủy Càng Long)" in paras
    assert "HUYỆN ỦY CÀNG LONG" not in "\n".join(paras + [left.text, right.text])
    # the assessment is the leader's: the rating and the three properties are blank lines, none pre-filled
    own = next(p for p in doc.paragraphs if p.text.startswith("Xếp loại buổi sinh hoạt"))
    assert own.text.endswith(": \t")
    for label in ("Tính lãnh đạo", "Tính giáo dục", "Tính chiến đấu"):
        line = next(p.text for p in doc.paragraphs if p.text.startswith(label))
        assert line == f"{label}: \t"
    assert not any("bảo đảm" in p for p in paras)


# ---- the Settings page: a body's signer, legal basis and upper body -------------------------------------------------


def test_settings_page_sets_a_bodys_signer_legal_basis_and_upper_body(world):
    from tests.helpers import app_test, login, make_user

    make_user(world["path"], "quantri", "admin")
    at = login(app_test(world["path"]), "quantri", "Matkhau123").switch_page("pages/settings.py").run()
    at.selectbox(key="body_pick").set_value(world["body"]).run()
    assert at.text_input(key="bodydoc_signer_name").value == "Trần Văn Bảy"
    at.text_input(key="bodydoc_signer_name").input("Lê Thị Tám")
    at.text_area(key="bodydoc_legal_basis").input("Quy định số 1-QĐ/TU\n\nHướng dẫn số 2-HD/BTCTW")
    at.button(key="bodydoc_save").click().run()
    assert not at.exception and not at.error
    with dbm.read(world["path"]) as db:
        assert org.body_document(db, world["body"]) == {
            "signer_name": "Lê Thị Tám", "legal_basis": ["Quy định số 1-QĐ/TU", "Hướng dẫn số 2-HD/BTCTW"],
            "upper_body": "Ban Thường vụ Tỉnh ủy Trà Vinh"}
    intro = next(p for p in texts(docx(world)) if p.startswith("Căn cứ"))
    assert intro.startswith("Căn cứ Quy định số 1-QĐ/TU; Hướng dẫn số 2-HD/BTCTW; thực hiện Quyết định số 395")


def test_a_report_narrowed_to_one_commune_goes_to_its_committee_not_its_cells(world):
    with dbm.write(world["path"]) as db:  # no fixed line for the communes: the body concerned is listed
        db.execute("update issuing_bodies set recipients = ? where id = ?", ['["- Lưu Văn phòng Huyện ủy."]',
                                                                           world["body"]])
    doc = Document(io.BytesIO(reports.compiled_docx(world["path"], PERIOD, "NHILONG25", today=TODAY)))
    assert signature_table(doc).rows[0].cells[0].text.split("\n") == [
        "Nơi nhận:", "- Ban Thường vụ Tỉnh ủy Trà Vinh (b/c),", "- Đảng ủy xã Nhị Long (t/h),",
        "- Lưu Văn phòng Huyện ủy."]
