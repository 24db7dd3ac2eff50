"""Issue 13 (branch pages13): the app shell draws fewer kinds of element, and the benchmark's light clients.

Structural checks only (no timing): what the shell sends on a signed-in run, that its menu entries switch the
language and log out, and that a light client over Streamlit's websocket protocol gets its page's script_finished.
"""

from datetime import datetime, timedelta

import jwt
import pytest

from lib import audit, auth, settings, ui
from lib import db as dbm
from lib import users as users_mod
from lib.i18n import t
from tests.helpers import app_test, current_page, log_out, login, make_user, nav_files, switch_language


def _kinds(node) -> list[str]:
    """The element kinds of a block's drawn elements, in order (containers' contents included)."""
    out = []
    for child in getattr(node, "children", {}).values():
        if getattr(child, "type", None) in (None, "block") or hasattr(child, "children"):
            out += _kinds(child)
        else:
            out.append(child.type)
    return out


@pytest.fixture
def admin(db_path):
    make_user(db_path, "quantri", "admin")
    return login(app_test(db_path), "quantri", "Matkhau123")


# ---- the shell ------------------------------------------------------------------------------------------------

def test_a_signed_in_sidebar_draws_only_markdown_no_radio_or_button(admin):
    # The user's name and role: two Markdown elements (a caption is Markdown drawn small); the language switch and
    # logout are menu entries, so no radio and no button (each kind loads its own browser code on every page load).
    assert _kinds(admin.sidebar) == ["markdown", "caption"]
    assert not admin.sidebar.radio and not admin.sidebar.button


def test_style_sheets_go_through_st_html_and_no_markdown_carries_html(admin):
    # Markdown with HTML in it makes the browser load its HTML parser (rehype-raw, parse5) on every page load;
    # st.html of <style> alone is a small chunk, sent to the event container (no room taken on the page).
    # (The run right after logging in draws the cookie manager, whose own CSS is Markdown: a later run does not.)
    admin.run()
    assert not [m.value[:40] for m in admin.markdown if m.proto.allow_html]
    bodies = [h.proto.body for h in admin.get("html")]
    assert len([b for b in bodies if "stFileUploaderDropzone" in b]) == 1  # the widget words, in Vietnamese
    assert any('content: "Chọn tệp"' in b for b in bodies)
    assert any("stMainBlockContainer" in b for b in bodies)  # the dashboards' margins (the overview is one)
    assert all(b.lstrip().startswith("<style>") for b in bodies)


def test_the_menu_holds_the_language_and_logout_entries_for_every_signed_in_role(db_path):
    for role in ("admin", "clerk", "viewer"):
        make_user(db_path, f"u_{role}", role)
        at = login(app_test(db_path), f"u_{role}", "Matkhau123")
        pages = {info["url_pathname"]: info["page_name"] for info in at._registered_pages.values()
                 if info.get("url_pathname") in ui.SHELL_PATHS.values()}
        assert pages == {"ngon-ngu": "English", "dang-xuat": t("auth.logout", lang="vi")}, role
        assert "pages/language.py" not in nav_files(at)  # not a page of a role (tests/helpers.nav_files)


def test_the_language_entry_switches_and_returns_to_the_page_it_was_clicked_from(db_path, admin):
    admin.switch_page("pages/attendance.py").run()
    assert admin.title[0].value == t("nav.attendance", lang="vi")
    switch_language(admin)
    assert current_page(admin) == "pages/attendance.py"
    assert admin.title[0].value == t("nav.attendance", lang="en")
    with dbm.read(db_path) as db:
        assert users_mod.get_prefs(db, "quantri")["lang"] == "en"
    # the entry now offers Vietnamese, and switches back
    names = {info["page_name"] for info in admin._registered_pages.values()
             if info.get("url_pathname") == "ngon-ngu"}
    assert names == {"Tiếng Việt"}
    switch_language(admin)
    assert admin.title[0].value == t("nav.attendance", lang="vi")


def test_the_logout_entry_signs_out_and_shows_the_login_form_there(db_path, admin):
    admin.switch_page("pages/quality.py").run()
    log_out(admin)
    assert admin.session_state["username"] is None
    assert admin.button(key="login_submit").label == t("auth.login", lang="vi")
    with dbm.read(db_path) as db:
        assert [(e["username"], e["action"]) for e in audit.entries(db)][0] == ("quantri", "logout")  # newest first


def test_an_entry_reached_without_a_click_in_the_session_changes_nothing(db_path, monkeypatch):
    # A fresh session that lands on /dang-xuat or /ngon-ngu (a link, a bookmark) is sent to the first page,
    # still signed in and in its language: only a click in the session's own menu logs out or switches.
    from streamlit.runtime.context import ContextProxy

    make_user(db_path, "thuky", "clerk")
    with dbm.read(db_path) as db:
        key = settings.cookie_key(db)
    token = jwt.encode({"username": "thuky", "exp_date": (datetime.now() + timedelta(days=1)).timestamp()}, key,
                       algorithm="HS256")
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: {auth.COOKIE_NAME: token}))
    at = app_test(db_path).run()
    assert at.session_state["username"] == "thuky"
    del at.session_state["_shell_back"]  # as if this session had shown no page yet
    log_out(at)
    assert at.session_state["username"] == "thuky"
    assert current_page(at) == "pages/overview.py"
    del at.session_state["_shell_back"]
    at.switch_page("pages/language.py").run()
    assert at.title[0].value == t("nav.overview", lang="vi")


def test_before_logging_in_the_login_page_keeps_its_language_radio(db_path):
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path).run()
    at.sidebar.radio(key="lang_pick").set_value("en").run()
    assert at.button(key="login_submit").label == "Log in"
    at = login(at, "quantri", "Matkhau123")
    assert at.title[0].value == t("nav.overview", lang="en")  # the language picked before logging in stays
    at.run()
    assert at.title[0].value == t("nav.overview", lang="en")


# ---- the light clients of bench/browser.py ------------------------------------------------------------------------

def test_a_light_client_request_is_a_rerun_of_the_page_by_its_address():
    from streamlit.proto.BackMsg_pb2 import BackMsg

    from bench import browser

    msg = BackMsg()
    msg.ParseFromString(browser.rerun_request("tong-quan", "ky=2025"))
    assert msg.WhichOneof("type") == "rerun_script"
    assert (msg.rerun_script.page_name, msg.rerun_script.query_string) == ("tong-quan", "ky=2025")
    assert browser.stream_url("http://127.0.0.1:8610") == "ws://127.0.0.1:8610/_stcore/stream"
    storage = {"cookies": [{"name": "chibo_auth", "value": "abc"}, {"name": "_streamlit_xsrf", "value": "x"}]}
    assert browser.cookie_header(storage) == "chibo_auth=abc; _streamlit_xsrf=x"


def test_light_clients_get_the_overview_run_finished_with_the_login_cookie(db_path, tmp_path):
    from bench import browser
    from tests.e2e.server import start_app, stop_app
    from tests.factories import small_directory

    small_directory(db_path)
    make_user(db_path, "quantri", "admin")
    with dbm.read(db_path) as db:
        key = settings.cookie_key(db)
    token = jwt.encode({"username": "quantri", "exp_date": (datetime.now() + timedelta(days=1)).timestamp()}, key,
                       algorithm="HS256")
    storage = {"cookies": [{"name": auth.COOKIE_NAME, "value": token}]}
    app = start_app(db_path, tmp_path / "app.log")
    try:
        signed_in: list[str] = []
        cookie = browser.cookie_header(storage)
        # in a thread of its own, as the bench runs them: a browser test before this one may leave Playwright's
        # event loop running in this thread
        browser._in_thread(browser.light_open(app.url, cookie, "tong-quan", headings=signed_in))
        assert t("nav.overview", lang="vi") in signed_in  # the overview itself, drawn for the signed-in user
        anonymous: list[str] = []
        browser._in_thread(browser.light_open(app.url, "", "tong-quan", headings=anonymous))
        assert t("nav.overview", lang="vi") not in anonymous  # without the cookie: the login form
        single, together, cpu = browser.light_together(app.url, storage, "tong-quan", 3, 1, app.proc.pid)
        assert len(single) == 1 and len(together) == 3 and all(x > 0 for x in together) and cpu is not None
    finally:
        stop_app(app)


def test_the_results_show_the_light_clients_beside_the_tabs_and_judge_each():
    from bench import browser
    from bench.browser import SizeRun

    run = SizeRun(100_000, {}, bare=[0.3], single=[1.0], together=[10.0, 20.0], light_single=[0.2],
                  light_together=[0.3, 0.5], light_server_cpu=1.5)
    lines = browser.target_lines([run])
    assert any("light clients: the server's part" in x and "**pass**" in x for x in lines)
    assert any("Chromium tabs on the same cores" in x and "**miss**" in x for x in lines)
    text = browser.markdown([run], "python -m bench.browser", 1, 2.0, {})
    assert "2 light clients (Streamlit's websocket protocol, no browser): overview alone median 200 ms" in text
    # an earlier run's JSON (without the light clients) still reads
    old = browser.from_json(browser.to_json([SizeRun(100_000, {}, single=[1.0], together=[2.0])]).replace(
        ', "light_single": []', "").replace(', "light_together": []', ""))
    assert old[0].light_single == []


# ---- the directory page's first view ------------------------------------------------------------------------------

def test_the_directory_first_view_draws_one_list_and_no_form(db_path, admin):
    from tests.factories import small_directory

    small_directory(db_path)
    at = admin.switch_page("pages/directory.py").run()
    assert not at.exception
    # the units' list and the titles of its folded sections; no form widget (they were drawn folded before)
    assert [d.proto.id for d in at.dataframe] and len(at.dataframe) == 1
    assert not at.text_input and not at.selectbox and not at.date_input and not at.button
    labels = [e.label for e in at.expander]
    assert labels == [t("page.directory.add_unit"), t("page.directory.edit_unit"), t("page.directory.merge")]
    # a section opened: its form, and the page remembers it is open
    at.session_state["dir_box_un"] = True
    at.run()
    assert at.text_input(key="dir_un_code") and at.button(key="dir_un_save")
    # the cells' tab picked: its list (and its filter) only
    at.session_state["dir_tabs"] = t("page.directory.tab_cells")
    at.run()
    assert len(at.dataframe) == 1 and at.selectbox(key="dir_cf_unit")
    assert [e.label for e in at.expander] == [t("page.directory.add_cell"), t("page.directory.edit_cell")]


# ---- the server's part of a run -----------------------------------------------------------------------------------

def test_a_dashboard_run_reads_the_data_version_once_and_its_watch_once(db_path, admin, monkeypatch):
    # every figure is keyed by the data version; it was read on a connection of its own for each figure
    from lib import audit as audit_mod

    calls = []
    real = audit_mod.data_version
    monkeypatch.setattr(audit_mod, "data_version", lambda db: calls.append(1) or real(db))
    admin.switch_page("pages/weakness_board.py").run()
    calls.clear()
    admin.run()
    assert not admin.exception
    assert len(calls) == 2  # once for the run's figures, once by the live-refresh watch (read afresh there)


def test_each_run_reads_the_data_version_afresh(db_path, admin):
    # read once per run, never kept from an earlier run: another session's write is seen at the next run
    from tests.factories import small_directory

    admin.switch_page("pages/weakness_board.py").run()
    before = admin.session_state[ui._RUN_VERSION]
    admin.run()
    assert admin.session_state[ui._RUN_VERSION] == before  # nothing written meanwhile
    small_directory(db_path)  # written through lib (audit entries): a new data version
    admin.run()
    assert admin.session_state[ui._RUN_VERSION] > before
