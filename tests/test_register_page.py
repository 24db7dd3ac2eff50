"""The Báo cáo page's drafts and register (issue 15, branch register), driven through AppTest: the board opens a
draft, writes and saves the sections, issues with a confirmation; a stale save names who saved last; a viewer sees
the register and no draft."""

import pytest

from lib import db as dbm
from lib import pdf, register
from lib.i18n import t
from tests.helpers import page_test
from tests.test_register import FAKE_PDF, world  # noqa: F401  (the world fixture)

PAGE = "pages/reports.py"


@pytest.fixture(autouse=True)
def no_libreoffice(monkeypatch):
    monkeypatch.setattr(pdf, "docx_to_pdf", lambda docx: FAKE_PDF)


def _open(user: str):
    at = page_test(PAGE, user)
    at.run()
    at.radio(key="reports_kind").set_value("quarter").run()
    at.selectbox(key="reports_year").set_value(2025).run()
    at.selectbox(key="reports_quarter").set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def test_the_board_opens_writes_and_issues_a_draft(world):  # noqa: F811
    at = _open("ann")
    assert t("register.page.no_draft") in _texts(at, "info")
    at.button(key="reg_open").click().run()
    assert [a.label for a in at.text_area] == [t(f"register.section.{s}") for s in register.SECTIONS]
    at.text_area(key="reg_strengths").input("Sinh hoạt đều đặn.")
    at.text_area(key="reg_limitations").input("Còn vắng nhiều.")
    at.button(key="reg_save").click().run()
    assert t("register.page.saved") in _texts(at, "success")
    with dbm.read(world["path"]) as db:
        assert db.execute("select strengths, limitations, updated_by from report_drafts").fetchone() == (
            "Sinh hoạt đều đặn.", "Còn vắng nhiều.", "ann")
    # issue asks for the confirmation first, then issues: number 1 of the body's register
    at.button(key="reg_issue").click().run()
    assert t("register.page.issue_needs_confirm") in _texts(at, "error")
    with dbm.read(world["path"]) as db:
        assert db.execute("select count(*) from report_register").fetchone()[0] == 0
    at.checkbox(key="reg_confirm").check().run()
    at.button(key="reg_issue").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with dbm.read(world["path"]) as db:
        [(symbol, issued_on)] = db.execute("select symbol, issued_on from report_register").fetchall()
    assert symbol == "1-BC/HU"
    day = "/".join(reversed(issued_on.split("-")))
    assert t("register.page.issued", symbol="1-BC/HU", day=day) in _texts(at, "success")
    # the draft is gone from the form: the next one would be version 2
    assert t("register.page.no_draft") in _texts(at, "info")
    assert not at.text_area


def test_a_stale_save_on_the_page_names_who_saved_last(world):  # noqa: F811
    at = _open("ann")
    at.button(key="reg_open").click().run()
    with dbm.write(world["path"]) as db:
        draft_id = register.current_draft(db, world["binh"], "2025-Q1")["id"]
        form = register.get_draft(db, world["binh"], draft_id)["form_version"]
        register.save_sections(db, world["binh"], draft_id, {"strengths": "Bình viết trước."}, form)
    at.text_area(key="reg_strengths").input("Ann viết sau.")
    at.button(key="reg_save").click().run()
    assert any("binh" in e for e in _texts(at, "error"))
    with dbm.read(world["path"]) as db:
        assert db.execute("select strengths from report_drafts").fetchone()[0] == "Bình viết trước."


def test_a_viewer_sees_the_register_and_no_draft(world):  # noqa: F811
    draft_id = None
    with dbm.write(world["path"]) as db:
        draft_id = register.open_draft(db, world["ann"], "2025-Q1")
        form = register.get_draft(db, world["ann"], draft_id)["form_version"]
        form = register.save_sections(db, world["ann"], draft_id, {"strengths": "a", "limitations": "b"},
                                      form)["form_version"]
        register.issue(db, world["ann"], draft_id, form)
    at = _open("viewer")
    assert t("register.page.viewer_note") in [c.value for c in at.caption]
    assert not at.text_area and not any(b.key == "reg_open" for b in at.button)
    assert at.selectbox(key="reg_pick").options[0].startswith("Số 1-BC/HU")
