"""Report drafts and the register of issued reports (issue 15, branch register): numbers per body and year, frozen
files unchanged after the data changes, the figures of `metrics --json` at the moment of issue, optimistic saves,
who may do what, and versions saying what changed."""

import hashlib
import io
import json
import sqlite3
from datetime import date

import pytest
from docx import Document

from lib import cli, directory, meetings, org, pdf, register, reports, store
from lib import db as dbm
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from lib.i18n import t
from lib.users import actor_for
from tests.factories import add_meeting
from tests.helpers import make_user

BODY = {"effective_from": "2016-01-01", "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH", "committee": "Huyện ủy Càng Long",
        "board": "Ban Tổ chức Huyện ủy", "symbol_suffix": "HU", "place": "Càng Long",
        "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
        "recipients": ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Lưu Văn phòng Huyện ủy."]}
TEXT = {"strengths": "Các chi bộ sinh hoạt đều đặn.\nNội dung sinh hoạt có chuẩn bị.",
        "limitations": "Tỷ lệ đảng viên dự còn thấp ở một số chi bộ.",
        "tasks": "Tăng cường kiểm tra việc sinh hoạt chi bộ."}
FAKE_PDF = b"%PDF-1.4 fake"


@pytest.fixture(autouse=True)
def no_libreoffice(monkeypatch):
    """A PDF without LibreOffice: these tests are about the register, tests/test_pdf*.py about the rendering."""
    monkeypatch.setattr(pdf, "docx_to_pdf", lambda docx: FAKE_PDF + hashlib.sha256(docx).hexdigest().encode())


@pytest.fixture
def world(db_path):
    """The district HUYEN (home, body from 2016, symbol HU) over the commune AT with one cell meeting on the 10th:
    three meetings in 2025-Q1 of 28 members due, 24 present each (72 of 84: 85,7%); admins ann and binh, a clerk
    and a viewer."""
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long", "kind": "huyen"})
        unit = directory.create_unit(db, SYSTEM, {"code": "AT", "name": "Xã An Trường", "kind": "xa",
                                                  "parent_id": home})
        cell = directory.create_cell(db, SYSTEM, {"code": "AT-1", "unit_id": unit, "name": "Chi bộ ấp 1",
                                                  "cell_type": "ap_khom", "meeting_day": 10,
                                                  "valid_from": "2020-01-01"})
        org.create_body(db, SYSTEM, {**BODY, "unit_id": home})
    ids = [add_meeting(db_path, cell, day, present=24) for day in ("2025-01-10", "2025-02-10", "2025-03-10")]
    make_user(db_path, "ann", "admin")
    make_user(db_path, "binh", "admin")
    make_user(db_path, "clerk", "clerk", [unit])
    make_user(db_path, "viewer", "viewer")
    with dbm.read(db_path) as db:
        people = {name: actor_for(db, name) for name in ("ann", "binh", "clerk", "viewer")}
    return {"path": db_path, "unit": unit, "cell": cell, "meetings": ids, **people}


def _draft(w, period="2025-Q1", who="ann", text=TEXT) -> tuple[int, str]:
    with dbm.write(w["path"]) as db:
        draft_id = register.open_draft(db, w[who], period)
        row = register.get_draft(db, w[who], draft_id)
        row = register.save_sections(db, w[who], draft_id, text, row["form_version"])
    return draft_id, row["form_version"]


def _issue(w, period="2025-Q1", today=None, **kw) -> dict:
    draft_id, version = _draft(w, period)
    with dbm.write(w["path"]) as db:
        return register.issue(db, w["ann"], draft_id, version, today=today, **kw)


def _files(w, register_id) -> dict[str, bytes]:
    with dbm.read(w["path"]) as db:
        return {k: register.issued_file(db, w["viewer"], register_id, k)[0] for k in ("docx", "pdf", "xlsx", "json")}


def _metrics_json(path, capsys, period="2025-Q1") -> str:
    capsys.readouterr()
    assert cli.main(["--db", str(path), "metrics", "--period", period, "--json"]) == 0
    return capsys.readouterr().out


def _text(docx: bytes) -> str:
    doc = Document(io.BytesIO(docx))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [" | ".join(c.text for c in row.cells) for row in table.rows]
    return "\n".join(parts)


def _edit_meeting(w) -> None:
    """The March meeting: 28 present instead of 24 (76 of 84: 90,5%)."""
    with dbm.write(w["path"]) as db:
        meetings.update(db, SYSTEM, w["meetings"][2], {"present": 28, "absent_excused": 0, "absent_unexcused": 0})


# ---- frozen: bytes unchanged after the data changes; a new draft shows what changed -----------------------------


def test_issued_files_unchanged_after_a_meeting_is_edited(world, capsys):
    entry = _issue(world)
    before = _files(world, entry["id"])
    assert before["pdf"].startswith(FAKE_PDF)
    metrics_before = _metrics_json(world["path"], capsys)
    _edit_meeting(world)
    assert _metrics_json(world["path"], capsys) != metrics_before  # the data did change
    after = _files(world, entry["id"])
    assert after == before
    with dbm.read(world["path"]) as db:
        listed = register.register_list(db, world["viewer"])[0]
    for kind, digest in (("docx", "docx_sha256"), ("pdf", "pdf_sha256"), ("xlsx", "xlsx_sha256"),
                         ("json", "figures_sha256")):
        assert hashlib.sha256(after[kind]).hexdigest() == listed[digest], kind
    # the issued document still prints the figures as sent: 85,7%, not 90,5%
    assert "85,7%" in _text(after["docx"]) and "90,5%" not in _text(after["docx"])

    # a new draft of the same period is version 2, starts from the issued text and shows the changed figures
    with dbm.write(world["path"]) as db:
        draft_id = register.open_draft(db, world["ann"], "2025-Q1")
        row = register.get_draft(db, world["ann"], draft_id)
        assert row["version"] == 2 and row["strengths"] == TEXT["strengths"]
        diff = register.changes(db, world["ann"], draft_id)
    assert diff["base"]["symbol"] == "1-BC/HU" and diff["sections"] == []
    changed = {(c["row"], c["path"].split("/")[-1]): (c["old"], c["new"]) for c in diff["figures"]}
    assert changed[("Xã An Trường", "rate")] == ("85,7%", "90,5%")
    assert changed[("Xã An Trường", "present")] == ("72", "76")
    assert changed[("Xã An Trường", "absent_excused")] == ("12", "8")
    assert ("Xã An Trường", "meetings") not in changed  # still three meetings
    with dbm.write(world["path"]) as db:
        register.save_sections(db, world["ann"], draft_id, {"limitations": "Đã khắc phục một phần."},
                               row["form_version"])
        assert register.changes(db, world["ann"], draft_id)["sections"] == ["limitations"]


def test_every_figure_of_the_issued_report_equals_metrics_json_at_issue(world, capsys):
    fresh = _metrics_json(world["path"], capsys)  # computed just before the issue (today's date, as issue uses)
    entry = _issue(world)
    files = _files(world, entry["id"])
    assert files["json"].decode("utf-8") + "\n" == fresh  # the very text `metrics --json` printed
    figures = json.loads(fresh)
    [row] = figures["attendance_by_unit"]
    assert (row["meetings"], row["required"], row["present"], row["rate"]) == (3, 84, 72, 0.8571)
    text = _text(files["docx"])
    # the attendance sentence and the unit's row of the attendance table print these very figures
    sentence = t("report.s1_attendance", meetings=reports.fmt_num(row["meetings"]),
                 required=reports.fmt_num(row["required"]), present=reports.fmt_num(row["present"]),
                 rate=reports.fmt_pct(row["rate"]), excused=reports.fmt_num(row["absent_excused"]),
                 unexcused=reports.fmt_num(row["absent_unexcused"]))
    assert sentence in text
    assert " | ".join(["1", row["unit_name"], "3", "84", "72", "12", "0", "85,7%"]) in text
    coverage_row = " | ".join(["1", row["unit_name"], reports.fmt_num(row["cell_months"]),
                               reports.fmt_num(row["held"]), reports.fmt_pct(row["coverage"]),
                               reports.fmt_pct(row["on_schedule_rate"])])
    assert coverage_row in text
    # the workbook holds the same rows
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(files["xlsx"]), read_only=True)
    values = [list(r) for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]
    assert any(r[:2] == ["AT", "Xã An Trường"] and 72 in r and 84 in r for r in values)


def test_the_issued_document_carries_number_date_and_the_committees_text(world):
    entry = _issue(world, today=date(2025, 4, 5))
    doc = Document(io.BytesIO(_files(world, entry["id"])["docx"]))
    left, right = (c.text for c in doc.tables[0].rows[0].cells)
    assert left.splitlines()[-1] == "Số 1-BC/HU"
    # 36-HD: a zero before a day under 10 and before the months 1 and 2 only
    assert right.splitlines()[-1] == "Càng Long, ngày 05 tháng 4 năm 2025"
    paras = [p.text for p in doc.paragraphs]
    # the sections written, each under its 36-HD heading (II. assessment, III. tasks); empty ones left to fill
    start = paras.index("II. " + t("report.f36.s2"))
    assert paras[start + 1:start + 5] == [t("report.f36.s2_1"), "Các chi bộ sinh hoạt đều đặn.",
                                          "Nội dung sinh hoạt có chuẩn bị.", t("report.f36.s2_2")]
    assert paras[start + 5] == TEXT["limitations"]
    tasks = paras.index("III. " + t("report.f36.s3"))
    assert paras[tasks + 1] == TEXT["tasks"]
    assert paras[paras.index(t("report.f36.s2_3a")) + 1] == "\t"  # the causes left to fill: a dotted line
    assert entry["symbol"] == "1-BC/HU" and entry["issued_on"] == "2025-04-05"


def test_compiled_docx_without_the_new_keywords_is_as_before(world):
    doc = Document(io.BytesIO(reports.compiled_docx(world["path"], "2025-Q1", today=date(2025, 4, 5))))
    left, right = (c.text for c in doc.tables[0].rows[0].cells)
    assert left.splitlines()[-1] == t("report.doc_number", kind="BC", symbol="HU")
    assert right.splitlines()[-1] == t("report.place_date", place="Càng Long", year=2025)
    paras = [p.text for p in doc.paragraphs]
    # nothing written by the board: every section of its own is a dotted line to fill
    for heading in (t("report.f36.s2_1"), t("report.f36.s2_2"), "III. " + t("report.f36.s3"),
                    "IV. " + t("report.f36.s4")):
        assert paras[paras.index(heading) + 1] == "\t", heading


# ---- numbers per body and year ---------------------------------------------------------------------------------


def test_numbers_run_per_body_and_year_and_restart_in_a_new_year(world):
    issued = [_issue(world, period, today=day) for period, day in (
        ("2025-Q1", date(2025, 4, 5)), ("2025-Q2", date(2025, 7, 6)), ("2025-Q3", date(2025, 10, 4)),
        ("2025", date(2026, 1, 8)), ("2025-Q4", date(2026, 1, 9)))]
    assert [(e["year"], e["number"], e["symbol"]) for e in issued] == [
        (2025, 1, "1-BC/HU"), (2025, 2, "2-BC/HU"), (2025, 3, "3-BC/HU"), (2026, 1, "1-BC/HU"), (2026, 2, "2-BC/HU")]
    # a second version of an already issued period takes the next number too
    again = _issue(world, "2025-Q1", today=date(2026, 2, 1))
    assert (again["number"], again["symbol"]) == (3, "3-BC/HU")
    with dbm.read(world["path"]) as db:
        listed = register.register_list(db, world["ann"], "2025-Q1")
    assert [(e["version"], e["symbol"]) for e in listed] == [(2, "3-BC/HU"), (1, "1-BC/HU")]


# ---- several people in turn -------------------------------------------------------------------------------------


def test_two_admins_saving_the_same_draft_in_turn_the_stale_one_is_refused(world):
    with dbm.write(world["path"]) as db:
        draft_id = register.open_draft(db, world["ann"], "2025-Q1")
        # binh continues the same draft rather than opening another
        assert register.open_draft(db, world["binh"], "2025-Q1") == draft_id
        ann_form = register.get_draft(db, world["ann"], draft_id)["form_version"]
        binh_form = register.get_draft(db, world["binh"], draft_id)["form_version"]
        saved = register.save_sections(db, world["ann"], draft_id, {"strengths": "Ý của Ann."}, ann_form)
        with pytest.raises(ValidationError) as refused:
            register.save_sections(db, world["binh"], draft_id, {"strengths": "Ý của Bình."}, binh_form)
        [error] = refused.value.errors
        assert isinstance(error, store.Stale) and error.params["by"] == "ann"
        assert "ann" in str(error)
        # binh reloads and saves in turn; ann's old form is now the stale one
        register.save_sections(db, world["binh"], draft_id, {"tasks": "Ý của Bình."}, register.get_draft(
            db, world["binh"], draft_id)["form_version"])
        with pytest.raises(ValidationError) as refused:
            register.issue(db, world["ann"], draft_id, saved["form_version"])
        assert refused.value.errors[0].params["by"] == "binh"
        row = register.get_draft(db, world["ann"], draft_id)
        assert (row["strengths"], row["tasks"], row["updated_by"]) == ("Ý của Ann.", "Ý của Bình.", "binh")
        logged = db.execute("select count(*) from audit_log where table_name = 'report_drafts' and "
                            "action = 'update'").fetchone()[0]
    assert logged == 2


# ---- who may do what ----------------------------------------------------------------------------------------------


def test_a_clerk_or_viewer_cannot_open_edit_or_issue(world):
    draft_id, version = _draft(world)
    with dbm.write(world["path"]) as db:
        for who in ("clerk", "viewer"):
            with pytest.raises(PermissionDenied):
                register.open_draft(db, world[who], "2025-Q2")
            with pytest.raises(PermissionDenied):
                register.get_draft(db, world[who], draft_id)
            with pytest.raises(PermissionDenied):
                register.save_sections(db, world[who], draft_id, {"strengths": "x"}, version)
            with pytest.raises(PermissionDenied):
                register.issue(db, world[who], draft_id, version)
            with pytest.raises(PermissionDenied):
                register.draft_docx(db, world[who], draft_id)
        assert db.execute("select count(*) from report_drafts").fetchone()[0] == 1
        assert db.execute("select count(*) from report_register").fetchone()[0] == 0
        entry = register.issue(db, world["ann"], draft_id, version)
        # the viewer lists and downloads what was issued; the clerk has no part in it
        assert [e["id"] for e in register.register_list(db, world["viewer"])] == [entry["id"]]
        assert register.issued_file(db, world["viewer"], entry["id"], "docx")[1] == \
            f"bao-cao-so-1-{entry['year']}-2025-Q1.docx"
        with pytest.raises(PermissionDenied) as refused:
            register.register_list(db, world["clerk"])
        assert refused.value.key == "register.readers_only"
        with pytest.raises(PermissionDenied):
            register.issued_file(db, world["clerk"], entry["id"], "docx")


# ---- an issued report is never changed ------------------------------------------------------------------------------


def test_an_issued_report_cannot_be_edited(world):
    draft_id, version = _draft(world)
    with dbm.write(world["path"]) as db:
        entry = register.issue(db, world["ann"], draft_id, version)
        current = register.get_draft(db, world["ann"], draft_id)["form_version"]
        for attempt in (lambda: register.save_sections(db, world["ann"], draft_id, {"strengths": "x"}, current),
                        lambda: register.issue(db, world["ann"], draft_id, current)):
            with pytest.raises(ValidationError) as refused:
                attempt()
            assert [(e.field, e.key) for e in refused.value.errors] == [("register.status",
                                                                         "register.issued_read_only")]
    # and underneath lib: the triggers abort any change of what was issued
    conn = sqlite3.connect(world["path"])
    for sql in ("update report_files set docx = x'00'", "delete from report_files",
                "update report_register set number = 9", "delete from report_register",
                "update report_drafts set strengths = 'x'", "delete from report_drafts"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    conn.close()
    assert _files(world, entry["id"])["docx"]


def test_issue_needs_strengths_and_limitations(world):
    draft_id, version = _draft(world, text={"strengths": "Tốt.", "limitations": "  "})
    with dbm.write(world["path"]) as db, pytest.raises(ValidationError) as refused:
        register.issue(db, world["ann"], draft_id, version)
    assert [e.field for e in refused.value.errors] == ["register.section.limitations"]
    assert str(refused.value.errors[0]).startswith("Hạn chế: chưa viết")


def test_without_libreoffice_the_report_is_issued_without_pdf_and_says_so(world, monkeypatch):
    def missing(docx):
        raise pdf.PdfUnavailable("missing")

    monkeypatch.setattr(pdf, "docx_to_pdf", missing)
    entry = _issue(world)
    with dbm.read(world["path"]) as db:
        [listed] = register.register_list(db, world["viewer"])
        assert (listed["has_pdf"], listed["pdf_note"], listed["pdf_sha256"]) == (0, "missing", None)
        with pytest.raises(ValidationError) as refused:
            register.issued_file(db, world["viewer"], entry["id"], "pdf")
        assert refused.value.errors[0].key == "register.no_pdf_missing"
        assert register.issued_file(db, world["viewer"], entry["id"], "docx")[0]


def test_a_draft_needs_an_issuing_body_and_a_real_period(db_path):
    make_user(db_path, "ann", "admin")
    with dbm.write(db_path) as db:
        ann = actor_for(db, "ann")
        directory.create_unit(db, SYSTEM, {"code": "HUYEN", "name": "Huyện ủy Càng Long", "kind": "huyen"})
        with pytest.raises(ValidationError) as refused:
            register.open_draft(db, ann, "2025-Q1")
        assert refused.value.errors[0].field == "register.body"
        assert "Cài đặt" in str(refused.value.errors[0])
        with pytest.raises(ValidationError) as refused:
            register.open_draft(db, ann, "2025-Q9")
        assert refused.value.errors[0].field == "register.period"
        with pytest.raises(ValidationError) as refused:
            register.save_sections(db, ann, 1, {"strengths": "x" * (register.SECTION_MAX + 1)}, None)
        assert refused.value.errors[0].field == "register.section.strengths"


def test_migration_creates_the_freezing_triggers(db):
    from db.migrations import migrate

    migrate(db)
    names = {r[0] for r in db.execute("select name from sqlite_master where type = 'trigger'")}
    assert {"report_files_no_update", "report_files_no_delete", "report_register_no_update",
            "report_register_no_delete", "report_drafts_issued_no_update", "report_drafts_issued_no_delete"} <= names


def test_the_command_line_lists_and_issues(world, capsys):
    draft_id, _ = _draft(world)
    capsys.readouterr()
    assert cli.main(["--db", str(world["path"]), "register", "issue"]) == 2
    assert "--draft" in capsys.readouterr().err
    assert cli.main(["--db", str(world["path"]), "register", "issue", "--draft", str(draft_id)]) == 0
    assert "1-BC/HU" in capsys.readouterr().out
    assert cli.main(["--db", str(world["path"]), "register", "issue", "--draft", str(draft_id)]) == 1
    assert t("err.register.issued_read_only") in capsys.readouterr().err
    assert cli.main(["--db", str(world["path"]), "register", "list", "--period", "2025-Q1"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    with dbm.read(world["path"]) as db:
        sha = db.execute("select docx_sha256 from report_files").fetchone()[0]
    assert line.split()[0] == "1-BC/HU" and line.split()[2:4] == ["2025-Q1", "-"] and line.endswith(sha)


@pytest.mark.parametrize(("committee", "place", "name"), [
    ("TỈNH ỦY VĨNH LONG", "Vĩnh Long", "Tỉnh ủy Vĩnh Long"), ("Huyện ủy Càng Long", "Càng Long", "Huyện ủy Càng Long"),
    ("ĐẢNG ỦY XÃ AN TRƯỜNG", "An Trường", "Đảng ủy xã An Trường"), ("ĐẢNG ỦY KHỐI", None, "Đảng ủy khối")])
def test_the_committee_is_named_as_a_sentence_names_it(committee, place, name):
    assert register.committee_name(committee, place) == name


# ---- issuing without holding the write lock while the files are made ------------------------------------------


def test_issuing_holds_no_write_lock_while_the_files_are_made(world, monkeypatch):
    """On a connection of its own (the page, the command line), issue makes the files with no write lock: a clerk's
    write during the PDF step goes through at once (a 0.2 s busy timeout), and the report is issued after it."""
    draft_id, version = _draft(world)
    wrote = []

    def convert(docx):
        other = sqlite3.connect(world["path"], timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the issuer held the write lock
            other.execute("ROLLBACK")
            wrote.append(True)
        finally:
            other.close()
        return FAKE_PDF

    monkeypatch.setattr(pdf, "docx_to_pdf", convert)
    with dbm.read(world["path"]) as db:
        entry = register.issue(db, world["ann"], draft_id, version, today=date(2025, 4, 5))
    assert wrote == [True] and entry["symbol"] == "1-BC/HU"
    assert _files(world, entry["id"])["pdf"] == FAKE_PDF


def test_a_save_while_the_files_are_made_refuses_the_issue(world, monkeypatch):
    """binh saves the draft while ann's files are being made: ann's issue is refused naming binh, nothing issued."""
    draft_id, version = _draft(world)

    def convert(docx):
        with dbm.write(world["path"]) as db:
            register.save_sections(db, world["binh"], draft_id, {**TEXT, "proposals": "Đề nghị bổ sung."}, version)
        return FAKE_PDF

    monkeypatch.setattr(pdf, "docx_to_pdf", convert)
    with dbm.read(world["path"]) as db, pytest.raises(ValidationError) as refused:
        register.issue(db, world["ann"], draft_id, version, today=date(2025, 4, 5))
    assert "binh" in str(refused.value.errors[0])
    with dbm.read(world["path"]) as db:
        assert register.register_list(db, world["viewer"]) == []
        assert register.get_draft(db, world["ann"], draft_id)["status"] == "draft"


def test_a_number_taken_meanwhile_is_made_again_with_the_next(world, monkeypatch):
    """Another report of the body is issued while this one's files are made: this one is made again and issued as
    number 2, its document printing "Số 2-BC/HU"."""
    first, first_version = _draft(world, "2025-01")
    draft_id, version = _draft(world, "2025-Q1")
    calls = []

    def convert(docx):
        calls.append(docx)
        if len(calls) == 1:
            with dbm.write(world["path"]) as db:
                register.issue(db, world["binh"], first, first_version, today=date(2025, 4, 5), with_pdf=False)
        return FAKE_PDF

    monkeypatch.setattr(pdf, "docx_to_pdf", convert)
    with dbm.read(world["path"]) as db:
        entry = register.issue(db, world["ann"], draft_id, version, today=date(2025, 4, 5))
    assert len(calls) == 2 and (entry["number"], entry["symbol"]) == (2, "2-BC/HU")
    left = Document(io.BytesIO(_files(world, entry["id"])["docx"])).tables[0].rows[0].cells[0].text
    assert left.splitlines()[-1] == "Số 2-BC/HU"
    with dbm.read(world["path"]) as db:
        assert [e["number"] for e in register.register_list(db, world["viewer"])] == [2, 1]
