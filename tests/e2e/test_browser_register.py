"""The Báo cáo page's draft and register in a real browser over the demo (issue 15, branch register): the board
writes a draft, issues it, and downloads from the register the Word file carrying its number and text."""

import io
import re

from docx import Document
from playwright.sync_api import expect

from lib.i18n import t
from tests.e2e import browser as b

ISSUE_WAIT_MS = 180_000  # making the files (and the PDF, by LibreOffice) on a shared machine


def test_the_board_issues_a_draft_and_downloads_it_from_the_register(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *b.DEMO_ADMIN)
    b.goto(page, demo_app.at("bao-cao"))
    b.click(page, "reg_open")
    b.fill(page, "reg_strengths", "Các chi bộ duy trì sinh hoạt đều đặn.")
    b.fill(page, "reg_limitations", "Một số chi bộ tỷ lệ dự còn thấp.")
    b.click(page, "reg_save")
    expect(page.get_by_text(t("register.page.saved"))).to_be_visible()
    b.rerun(page, lambda: b.key(page, "reg_confirm").locator("label").click())
    b.key(page, "reg_issue").locator("button").click()
    expect(page.get_by_text(re.compile(r"Đã ban hành báo cáo số \d+-BC/"))).to_be_visible(timeout=ISSUE_WAIT_MS)
    b.idle(page)
    assert b.errors(page) == []
    symbol = re.search(r"số (\d+-BC/\S+) ngày", page.get_by_text(re.compile("Đã ban hành báo cáo số")).inner_text())[1]
    with page.expect_download() as info:
        b.key(page, "reg_download_docx").get_by_role("button").click()
    doc = Document(io.BytesIO(open(info.value.path(), "rb").read()))
    assert doc.tables[0].rows[0].cells[0].text.splitlines()[-1] == f"Số {symbol}"
    assert "Các chi bộ duy trì sinh hoạt đều đặn." in [p.text for p in doc.paragraphs]
