"""The first visitor after the server starts gets the app, not Streamlit's old-style pages of the pages/ folder.

Streamlit decides once per process, on its first session, whether a pages/ folder beside the script makes an
old-style multipage app; before `python -m lib serve` (lib.ui.serve) it did, so the first visitor after every
start got a menu of file names in English ("weakness board", "users"...), pages/*.py run straight from the
folder without app.py's login, and "Page not found" at an unknown address. Each test starts its own server,
so its first page load is that server's first session.
"""

import pytest
from playwright.sync_api import expect

from lib import demo
from tests.e2e import browser as b
from tests.e2e.conftest import start_app, stop_app

# file names Streamlit's old-style menu shows for pages/*.py
FILE_MENU = ("weakness board", "record meeting", "leader reports", "import data", "not found")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("first_visit") / "demo.db"
    demo.load(db)
    return db


@pytest.mark.parametrize("address", ["users", "trang-khong-co", ""])
def test_the_first_session_after_a_start_is_the_app(demo_db, tmp_path, new_context, address):
    app = start_app(demo_db, tmp_path / "streamlit.log")
    try:
        page = new_context().new_page()
        b.goto(page, f"{app.url}/{address}")
        expect(b.key(page, "login_submit")).to_be_visible()
        text = page.locator("[data-testid='stApp']").inner_text()
        assert not [name for name in FILE_MENU if name in text]
        assert "Page not found" not in text
        expect(page.get_by_role("dialog")).to_have_count(0)
    finally:
        stop_app(app)
