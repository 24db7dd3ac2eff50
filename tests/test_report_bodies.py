"""The issuing body as data, by date (issue 11, branch bodies): the compiled report's and the leader's report's
header, symbol, board, signer and recipients come from the body in force (lib.org.issuer), never from locale text
or settings defaults; a fresh install starts empty and says who it is at setup (lib.org.setup_home)."""

import io
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from lib import auth, directory, org, reports, settings, users
from lib import db as dbm
from lib.config import DEFAULT_SETTINGS
from lib.domain import SYSTEM, ValidationError
from lib.i18n import t
from tests.factories import add_meeting
from tests.helpers import make_user, page_test

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 4, 10)

# The worlds. Each has one commune-level node with one cell (fixed day 10) and a meeting in every quarter used
# below (2025-05-10, 2025-08-10, 2026-02-10), so no report is empty; the figures themselves are test_reports'.
#
# district: HUYEN (huyen) the only root and home, its body from 2016 (Trà Vinh's upper line, HU, Càng Long).
# commune:  XA-AT (xa) the only root and home, its body from 1/7/2025 (Vĩnh Long's upper line, ĐU, An Trường).
# province: TINH (tinh) home; under it HUYEN (valid until 30/6/2025, the district's body from 2016) over the old
#           commune; TINH's body from 1/7/2025 (no upper line: a provincial committee has none, TU, Vĩnh Long).
DISTRICT = {"effective_from": "2016-01-01", "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH", "committee": "Huyện ủy Càng Long",
            "board": "Ban Tổ chức Huyện ủy", "symbol_suffix": "HU", "place": "Càng Long",
            "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
            "recipients": ["- Ban Thường vụ Tỉnh ủy Trà Vinh (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),",
                           "- Lưu Văn phòng Huyện ủy."]}
COMMUNE = {"effective_from": "2025-07-01", "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG", "committee": "Đảng ủy xã An Trường",
           "board": "Ban Xây dựng Đảng Đảng ủy xã", "symbol_suffix": "ĐU", "place": "An Trường",
           "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ",
           "recipients": "- Ban Thường vụ Tỉnh ủy (b/c),\n- Ban Xây dựng Đảng (b/c),\n- Lưu Văn phòng Đảng ủy."}
PROVINCE = {"effective_from": "2025-07-01", "committee": "Tỉnh ủy Vĩnh Long", "board": "Ban Tổ chức Tỉnh ủy",
            "symbol_suffix": "TU", "place": "Vĩnh Long", "signer_capacity": "T/M BAN THƯỜNG VỤ",
            "signer_title": "BÍ THƯ", "recipients": ["- Văn phòng Trung ương Đảng (b/c),", "- Lưu Văn phòng Tỉnh ủy."]}
MEETINGS = ("2025-05-10", "2025-08-10", "2026-02-10")


def _commune_with_a_cell(db, code: str, name: str, parent: int | None) -> int:
    unit = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": "xa", "parent_id": parent})
    directory.create_cell(db, SYSTEM, {"code": f"{code}-1", "unit_id": unit, "name": "Chi bộ ấp 1",
                                       "cell_type": "ap_khom", "meeting_day": 10, "valid_from": "2020-01-01"})
    return db.execute("select id from cells where code = ?", [f"{code}-1"]).fetchone()[0]


def _meetings(path, cell: int) -> None:
    for day in MEETINGS:
        add_meeting(path, cell, day, present=24)


@pytest.fixture
def district(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long", "kind": "huyen"})
        cell = _commune_with_a_cell(db, "AT", "Xã An Trường", home)
        org.create_body(db, SYSTEM, {**DISTRICT, "unit_id": home})
    _meetings(db_path, cell)
    return db_path


@pytest.fixture
def commune(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "XA-AT", "name": "Đảng bộ xã An Trường", "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "AT-1", "unit_id": home, "name": "Chi bộ ấp 1",
                                                  "cell_type": "ap_khom", "meeting_day": 10,
                                                  "valid_from": "2020-01-01"})
        org.create_body(db, SYSTEM, {**COMMUNE, "unit_id": home})
    _meetings(db_path, cell)
    return db_path


@pytest.fixture
def province(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})
        old = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long", "kind": "huyen",
                                                 "parent_id": home, "valid_to": "2025-06-30"})
        cell = _commune_with_a_cell(db, "AT", "Xã An Trường", old)
        org.create_body(db, SYSTEM, {**DISTRICT, "unit_id": old})
        org.create_body(db, SYSTEM, {**PROVINCE, "unit_id": home})
        org.set_home(db, SYSTEM, "TINH")
    _meetings(db_path, cell)
    return db_path


def _doc(content: bytes):
    return Document(io.BytesIO(content))


def header(content: bytes) -> dict:
    """The parts of a compiled report that carry the issuing body, read back with python-docx."""
    doc = _doc(content)
    left, right = (c.text.split("\n") for c in doc.tables[0].rows[0].cells)
    recipients, signature = (c.text.split("\n") for c in doc.tables[-1].rows[0].cells)
    intro = next(p.text for p in doc.paragraphs if p.text.startswith("Thực hiện"))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for tb in doc.tables for row in tb.rows for c in row.cells])
    return {"left": left, "date_line": right[-1], "recipients": recipients, "signature": signature[:2],
            "intro": intro, "text": text}


def compiled(path, period: str) -> dict:
    return header(reports.compiled_docx(path, period, today=TODAY))


# ---- the same period from a district-era database and from a commune home --------------------------


def test_2025_q2_from_the_district_era_database_carries_the_district_body(district):
    h = compiled(district, "2025-Q2")
    assert h["left"] == ["ĐẢNG BỘ TỈNH TRÀ VINH", "HUYỆN ỦY CÀNG LONG", "*", "Số        -BC/HU"]
    assert h["date_line"] == "Càng Long, ngày …… tháng …… năm 2026"
    assert "do Ban Tổ chức Huyện ủy tổng hợp, Ban Thường vụ Huyện ủy báo cáo" in h["intro"]
    assert h["signature"] == ["T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ"]
    # branch format36: the commune whose cell missed April and June is sent the report, the archive stays last
    assert h["recipients"] == ["Nơi nhận:", "- Ban Thường vụ Tỉnh ủy Trà Vinh (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),",
                               "- Đảng ủy xã An Trường (t/h),", "- Lưu Văn phòng Huyện ủy."]


@pytest.mark.parametrize("period", ["2025-Q2", "2026-Q1"])
def test_the_same_periods_from_a_commune_home_carry_the_commune_body(commune, period):
    # 2026-Q1: the body in force at 31/03/2026. 2025-Q2 ends on 30/06/2025, before the commune's first body
    # (01/07/2025): the commune issues that report now, so under its first body, not the district it replaced.
    h = compiled(commune, period)
    assert h["left"] == ["ĐẢNG BỘ TỈNH VĨNH LONG", "ĐẢNG ỦY XÃ AN TRƯỜNG", "*", "Số        -BC/ĐU"]
    assert h["date_line"] == "An Trường, ngày …… tháng …… năm 2026"
    assert "do Ban Xây dựng Đảng Đảng ủy xã tổng hợp, Ban Thường vụ Đảng ủy xã báo cáo" in h["intro"]
    assert h["signature"] == ["T/M BAN THƯỜNG VỤ", "BÍ THƯ"]
    assert h["recipients"] == ["Nơi nhận:", "- Ban Thường vụ Tỉnh ủy (b/c),", "- Ban Xây dựng Đảng (b/c),",
                               "- Chi bộ ấp 1 (t/h),", "- Lưu Văn phòng Đảng ủy."]  # branch format36: the cell
    for word in ("Huyện ủy", "HUYỆN ỦY", "/HU", "Càng Long", "Ban Tổ chức", "PHÓ BÍ THƯ"):
        assert word not in h["text"], word


def test_the_body_changes_mid_way_in_one_database(province):
    # Home: the province. 2025-Q2 (to 30/06/2025): the province has no body yet, the one node below it in being
    # then with a body is the district. 2025-Q3 (to 30/09/2025): the province's own body, no upper line.
    before, after = compiled(province, "2025-Q2"), compiled(province, "2025-Q3")
    assert before["left"] == ["ĐẢNG BỘ TỈNH TRÀ VINH", "HUYỆN ỦY CÀNG LONG", "*", "Số        -BC/HU"]
    assert before["signature"] == ["T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ"]
    assert after["left"] == ["TỈNH ỦY VĨNH LONG", "*", "Số        -BC/TU"]
    assert after["date_line"] == "Vĩnh Long, ngày …… tháng …… năm 2026"
    assert "do Ban Tổ chức Tỉnh ủy tổng hợp, Ban Thường vụ Tỉnh ủy báo cáo" in after["intro"]
    assert after["signature"] == ["T/M BAN THƯỜNG VỤ", "BÍ THƯ"]
    assert after["recipients"] == ["Nơi nhận:", "- Văn phòng Trung ương Đảng (b/c),", "- Huyện ủy Càng Long (t/h),",
                                   "- Lưu Văn phòng Tỉnh ủy."]  # branch format36: the row named as a committee
    # (the district still names a row of the figures: its communes' cells were under it until 30/06/2025)
    assert "Huyện ủy" not in after["intro"] and "TRÀ VINH" not in after["text"]


def test_the_issuer_lookup_by_day(province):
    with dbm.read(province) as db:
        assert org.issuer(db, "2025-06-30")["committee"] == "Huyện ủy Càng Long"
        assert org.issuer(db, date(2025, 7, 1))["committee"] == "Tỉnh ủy Vĩnh Long"
        # before the district's first body: the province's first body (it issues the report now)
        assert org.issuer(db, "2015-12-31")["committee"] == "Tỉnh ủy Vĩnh Long"


def test_two_bodies_below_the_home_node_speak_for_neither(db_path):
    # Two communes with bodies under a province with none that day: not a province report's header.
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})
        for code in ("XA-A", "XA-B"):
            unit = directory.create_unit(db, SYSTEM, {"code": code, "name": code, "kind": "xa", "parent_id": home})
            org.create_body(db, SYSTEM, {**COMMUNE, "committee": f"Đảng ủy xã {code}", "unit_id": unit})
        org.set_home(db, SYSTEM, "TINH")
        assert org.issuer(db, "2026-01-01") is None
        org.create_body(db, SYSTEM, {**PROVINCE, "effective_from": "2026-06-01", "unit_id": home})
        assert org.issuer(db, "2026-01-01")["committee"] == "Tỉnh ủy Vĩnh Long"


def test_leader_report_is_addressed_to_the_board_of_the_meeting_day(province):
    with dbm.write(province) as db:
        cell = db.execute("select id from cells where code = 'AT-1'").fetchone()[0]
        leader = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "Nguyễn Văn An", "grp": "uv_btv"})
    ids = {}
    with dbm.write(province) as db:
        for day in MEETINGS[:2]:
            ids[day] = db.execute("select id from meetings where held_on = ?", [day]).fetchone()[0]
            db.execute("insert into meeting_leaders (meeting_id, leader_id) values (?, ?)", [ids[day], leader])
    assert cell
    # branch format36: a personal report (no committee's header), to the Standing Committee through the board
    for day, board in (("2025-05-10", "Kính gửi: Ban Thường vụ Huyện ủy Càng Long (qua Ban Tổ chức Huyện ủy Càng "
                                      "Long)"),
                       ("2025-08-10", "Kính gửi: Ban Thường vụ Tỉnh ủy Vĩnh Long (qua Ban Tổ chức Tỉnh ủy Vĩnh "
                                      "Long)")):
        doc = _doc(reports.leader_report_docx(province, ids[day], leader))
        assert doc.tables[0].rows[0].cells[0].text == ""
        assert board in [p.text for p in doc.paragraphs]


# ---- blank fields: neutral stand-ins, never someone else's name ----------------------------------------------


def test_a_body_with_only_its_committee_prints_nothing_of_another_organisation(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "P-LC", "name": "Đảng bộ phường Long Châu",
                                                  "kind": "phuong"})
        cell = directory.create_cell(db, SYSTEM, {"code": "LC-1", "unit_id": home, "name": "Chi bộ khóm 1",
                                                  "cell_type": "ap_khom", "meeting_day": 10})
        org.create_body(db, SYSTEM, {"unit_id": home, "effective_from": "2025-07-01",
                                     "committee": "Đảng ủy phường Long Châu"})
    add_meeting(db_path, cell, "2026-02-10")
    h = compiled(db_path, "2026-Q1")
    assert h["left"] == ["ĐẢNG ỦY PHƯỜNG LONG CHÂU", "*", "Số        -BC/ĐU"]  # no upper line; the initials
    assert h["date_line"] == "……, ngày …… tháng …… năm 2026"
    assert "do Đảng ủy phường Long Châu tổng hợp" in h["intro"]  # the committee stands for its board
    # branch format36: the cell concerned, then the archive in the office of the committee's kind ("Đảng ủy")
    assert h["recipients"] == ["Nơi nhận:", "- Chi bộ khóm 1 (t/h),", "- Lưu Văn phòng Đảng ủy."]
    assert h["signature"][0] == t("report.name_blank")  # no capacity line, dots for the title
    for word in ("Huyện", "HUYỆN", "Tỉnh ủy", "Càng Long", "Vĩnh Long", "/HU", "T/M", "PHÓ BÍ THƯ", "Ban Tổ chức"):
        assert word not in h["text"], word


def test_no_wording_of_a_body_stays_in_the_locale_files_or_the_setting_defaults():
    for lang in ("vi", "en"):
        report = tomllib.loads((ROOT / "lib" / "locales" / f"{lang}.toml").read_text(encoding="utf-8"))["report"]
        for key in ("on_behalf", "signer_title", "to_province_standing", "to_province_board", "org_board"):
            assert key not in report, (lang, key)
        flat = "\n".join(str(v) for v in report.values() if isinstance(v, str))
        for word in ("Huyện ủy", "Càng Long", "Vĩnh Long", "Tỉnh ủy", "/HU", "Provincial"):
            assert word not in flat, (lang, word)
    for word in ("Huyện", "Càng Long", "Vĩnh Long"):
        assert not any(word in value for value in DEFAULT_SETTINGS.values()), word


# ---- no body: the report says where to set it ---------------------------------------------------------------


@pytest.fixture
def no_body(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "XA", "name": "Xã Một", "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "XA-1", "unit_id": home, "name": "Chi bộ ấp 1",
                                                  "cell_type": "ap_khom", "meeting_day": 10})
    add_meeting(db_path, cell, "2026-02-10")
    return db_path


def test_without_a_body_the_report_is_refused_naming_the_settings_page(no_body):
    with pytest.raises(org.NoIssuingBody) as refused:
        reports.compiled_docx(no_body, "2026-Q1", today=TODAY)
    assert "31/03/2026" in str(refused.value) and "Cài đặt" in str(refused.value)
    assert "Cơ quan ban hành văn bản" in str(refused.value)
    # the workbook is data, not a document: it is still made
    assert reports.data_xlsx(no_body, "2026-Q1", today=TODAY)[:2] == b"PK"


def test_cli_report_without_a_body_exits_with_the_message(no_body, tmp_path):
    done = subprocess.run([sys.executable, "-m", "lib", "--db", str(no_body), "report", "--period", "2026-Q1",
                           "--format", "docx", "--out", str(tmp_path / "r.docx")], cwd=ROOT, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "CHIBO_TESTING": "1"})
    assert done.returncode == 2 and "Cài đặt" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r.docx").exists()


def test_reports_page_says_the_body_must_be_set_on_the_settings_page(no_body):
    make_user(no_body, "quantri", "admin")
    at = page_test("pages/reports.py", "quantri").run()
    at.selectbox(key="reports_year").set_value(2026).run()
    at.selectbox(key="reports_quarter").set_value(1).run()
    assert any("Cài đặt" in w.value and "31/03/2026" in w.value for w in at.warning)
    at.button(key="reports_generate").click().run()
    assert not at.exception
    assert any("Cài đặt" in e.value for e in at.error)
    assert "reports_file" not in at.session_state


# ---- a fresh install starts empty and says who it is at setup ----------------------------------------------

WHO = {"home_kind": "xa", "home_code": "XA-AT", "home_name": "Đảng bộ xã An Trường", **COMMUNE}


def test_a_fresh_install_has_no_organisation_and_no_body(db_path):
    with dbm.read(db_path) as db:
        assert db["units"].count == 0 and db["issuing_bodies"].count == 0
        assert settings.get_settings(db)["org_name"] == ""
        assert org.home_node(db) is None and org.issuer(db, "2026-01-01") is None


def test_setup_writes_the_home_node_its_body_and_the_admin_in_one_go(db_path):
    auth.first_run_setup(db_path, "", "Trần Văn Hai", "tranhai", "Bimat2025", "Bimat2025", home=WHO)
    with dbm.read(db_path) as db:
        home = org.home_node(db)
        assert (home["code"], home["name"], home["kind"], home["parent_id"]) == (
            "XA-AT", "Đảng bộ xã An Trường", "xa", None)
        body = org.issuer(db, "2026-03-31")
        assert (body["committee"], body["symbol_suffix"], body["effective_from"], body["recipients"]) == (
            "Đảng ủy xã An Trường", "ĐU", "2025-07-01",
            ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Ban Xây dựng Đảng (b/c),", "- Lưu Văn phòng Đảng ủy."])
        assert settings.get_settings(db)["org_name"] == "Đảng ủy xã An Trường"
        assert users.get_user(db, "tranhai")["role"] == "admin"
        audited = {r[0] for r in db.execute("select table_name from audit_log")}
    assert {"units", "issuing_bodies", "settings", "users"} <= audited


@pytest.mark.parametrize("change, fields", [
    ({"home_kind": None}, {"home_kind"}),
    ({"home_kind": "huyen"}, {"home_kind"}),  # the district level is gone
    ({"home_code": " ", "home_name": ""}, {"home_code", "home_name"}),
    ({"committee": "", "effective_from": "31/02/2025"}, {"committee", "effective_from"}),
])
def test_setup_refuses_by_field_and_writes_nothing(db_path, change, fields):
    with pytest.raises(ValidationError) as refused:
        auth.first_run_setup(db_path, "", "Trần Văn Hai", "tranhai", "Bimat2025", "Bimat2026",
                             home={**WHO, **change})
    assert {e.field for e in refused.value.errors} == fields | {"password_confirm"}
    with dbm.read(db_path) as db:
        assert db["units"].count == db["issuing_bodies"].count == db["users"].count == 0


def test_setup_home_over_units_imported_before_setup_then_refuses_a_second_time(db_path):
    # Two communes imported before anyone set up: who we are goes above them, as m006 put a root above a forest.
    with dbm.write(db_path) as db:
        a = directory.create_unit(db, SYSTEM, {"code": "A", "name": "Xã A", "kind": "xa"})
        b = directory.create_unit(db, SYSTEM, {"code": "B", "name": "Xã B", "kind": "xa"})
        home = org.setup_home(db, SYSTEM, {**WHO, "home_kind": "tinh", "home_code": "TINH", "home_name": "Tỉnh"})
        assert [u["code"] for u in org.children(db, home)] == ["A", "B"]
        assert org.subtree_ids(db, [home]) == {home, a, b}
        with pytest.raises(ValidationError) as refused:
            org.setup_home(db, SYSTEM, {**WHO, "home_code": "OTHER"})
    assert [(e.field, e.key) for e in refused.value.errors] == [("home_code", "home_exists")]


def test_setup_page_asks_who_we_are(db_path):
    from tests.helpers import app_test

    at = app_test(db_path).run()
    at.selectbox(key="setup_home_kind").set_value("xa")
    at.text_input(key="setup_home_code").input("XA-AT")
    at.text_input(key="setup_home_name").input("Đảng bộ xã An Trường")
    at.text_input(key="setup_upper_line").input("ĐẢNG BỘ TỈNH VĨNH LONG")
    at.text_input(key="setup_committee").input("Đảng ủy xã An Trường")
    at.text_input(key="setup_symbol_suffix").input("ĐU")
    at.text_input(key="setup_place").input("An Trường")
    at.text_input(key="setup_full_name").input("Trần Văn Hai")
    at.text_input(key="setup_username").input("tranhai")
    at.text_input(key="setup_password").input("Bimat2025")
    at.text_input(key="setup_confirm").input("Bimat2025")
    at.button(key="setup_submit").click().run()
    assert not at.exception and not at.error
    with dbm.read(db_path) as db:
        assert org.home_node(db)["code"] == "XA-AT"
        assert org.issuer(db, "2026-03-31")["place"] == "An Trường"


def test_setup_page_names_the_missing_fields(db_path):
    from tests.helpers import app_test

    at = app_test(db_path).run()
    at.text_input(key="setup_full_name").input("Trần Văn Hai")
    at.text_input(key="setup_username").input("tranhai")
    at.text_input(key="setup_password").input("Bimat2025")
    at.text_input(key="setup_confirm").input("Bimat2025")
    at.button(key="setup_submit").click().run()
    shown = " ".join(e.value for e in at.error)
    for field in ("home_kind", "home_code", "home_name", "committee"):
        assert t(f"field.{field}") in shown, field
    with dbm.read(db_path) as db:
        assert db["users"].count == 0


def test_a_committee_typed_in_capitals_reads_as_a_sentence_in_the_text(commune):
    with dbm.write(commune) as db:
        body = org.list_bodies(db)[0]
        org.update_body(db, SYSTEM, body["id"], {"committee": "ĐẢNG ỦY XÃ AN TRƯỜNG", "board": None})
    h = compiled(commune, "2026-Q1")
    assert h["left"][1] == "ĐẢNG ỦY XÃ AN TRƯỜNG"
    assert "do Đảng ủy xã An Trường tổng hợp, Ban Thường vụ Đảng ủy xã báo cáo" in h["intro"]
