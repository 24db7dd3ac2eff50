"""A page opened by its own address reaches the server at the first try (lib.ui.deep_links_direct).

Streamlit's code does not know where its server is: at /tai-khoan it asked /tai-khoan/_stcore/health first, which
Streamlit's server answers 404 on purpose, waited 100 ms, then asked /_stcore/health. The app's index.html now
tells it (window.__streamlit.BACKEND_BASE_URL) when the address ends in one of the app's pages.
"""

import urllib.request
from pathlib import Path
from typing import Any

import pytest
import streamlit
from playwright.sync_api import expect

from lib import demo, nav, ui
from tests.e2e import browser as b
from tests.e2e.conftest import start_app, stop_app

STATIC = Path(streamlit.__file__).parent / "static"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deep_links")
    db = folder / "demo.db"
    demo.load(db)
    served = start_app(db, folder / "streamlit.log")
    yield served
    stop_app(served)


def fetch(url: str) -> tuple[int, Any, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read()  # headers looked up in any case


def probes(requests: list[str], base: str) -> list[str]:
    """The health checks the page made, as paths under the server's address."""
    return [u[len(base):] for u in requests if u.startswith(base) and u.endswith("/_stcore/health")]


def test_every_page_of_the_app_is_among_the_hinted_addresses():
    paths = ui.app_paths()
    assert {spec.url_path for spec in nav.PAGES} <= set(paths)
    assert {"dang-nhap", "thiet-lap", *ui.SHELL_PATHS.values()} <= set(paths)


def test_the_hint_goes_before_streamlits_code_once_and_a_changed_index_is_left_as_it_is():
    index = (STATIC / "index.html").read_text(encoding="utf-8")
    hinted = ui.hinted_index(index, ["tai-khoan"])
    assert hinted.count("BACKEND_BASE_URL") == 1
    assert hinted.index("BACKEND_BASE_URL") < hinted.index('<script type="module"')
    assert hinted.replace(ui._BASE_HINT % '["tai-khoan"]' + "    ", "") == index
    assert ui.hinted_index("<html><script src='x.js'></script></html>", ["a"]) == \
        "<html><script src='x.js'></script></html>"


def test_the_server_sends_the_hinted_index_at_every_address_and_its_other_files_as_they_are(app):
    for path in ("", "tai-khoan", "tong-quan", "trang-khong-co"):
        status, headers, body = fetch(app.at(path))
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-cache"
        assert body.decode("utf-8") == ui.hinted_index((STATIC / "index.html").read_text(encoding="utf-8"),
                                                       ui.app_paths())
    script = next((STATIC / "static" / "js").glob("index.*.js"))
    status, headers, body = fetch(app.at(f"static/js/{script.name}"))
    assert status == 200 and body == script.read_bytes() and "immutable" in headers["Cache-Control"]


@pytest.mark.parametrize("address", ["tai-khoan", "tong-quan", "dang-nhap"])
def test_a_page_opened_by_its_address_asks_the_servers_own_health_check_only(app, new_context, address):
    page = new_context().new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    b.goto(page, app.at(address))
    expect(b.key(page, "login_submit")).to_be_visible()
    assert probes(asked, app.url) == ["/_stcore/health"]
    assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == app.url + "/"


def test_an_address_of_no_page_is_left_to_streamlit_and_still_gets_the_app(app, new_context):
    page = new_context().new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    b.goto(page, app.at("trang-khong-co"))
    expect(b.key(page, "login_submit")).to_be_visible()
    assert page.evaluate("window.__streamlit === undefined")
    assert probes(asked, app.url) == ["/trang-khong-co/_stcore/health", "/_stcore/health"]


def test_an_address_the_browser_cannot_decode_is_told_apart():
    assert [ui.malformed_address(p) for p in (b"/%E0%A4%A", b"/tai-khoan%ZZ", b"/a%", b"/%FF", b"/tai-khoan",
                                              b"/%C4%91ang-nhap", b"/a%20b")] == [True] * 4 + [False] * 3


@pytest.mark.parametrize("address", ["%E0%A4%A", "tai-khoan%ZZ", "x" * 3000])
def test_a_malformed_or_huge_address_still_gets_the_app(app, new_context, address):
    # a %-escape decodeURIComponent refuses, a broken one after a page's name, an address of 3,000 letters: Streamlit's
    # code stopped on the first two ("URI malformed") and left the page blank; they are sent to the app's start
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    b.goto(page, app.at(address))
    expect(b.key(page, "login_submit")).to_be_visible()
    assert page.evaluate("window.__streamlit === undefined")
    assert not errors


def test_under_a_prefix_the_hint_names_the_prefix(app, new_context):
    # A proxy that serves the app under /chibo/ (and strips it) sends the browser's /chibo/tai-khoan here as
    # /tai-khoan; the browser only knows its own address, so the hint is computed from it.
    page = new_context().new_page()
    page.route(f"{app.url}/chibo/tai-khoan", lambda route: route.fulfill(
        status=200, content_type="text/html", body=fetch(app.at("tai-khoan"))[2]))
    page.route(f"{app.url}/chibo/static/**", lambda route: route.abort())
    page.goto(f"{app.url}/chibo/tai-khoan")
    assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == app.url + "/chibo/"


# ---- the addresses the first page takes: Streamlit serves that page at "/" but keeps its url_path taken ------------

def no_error(page, box: bool = False) -> None:
    """No traceback; and no Streamlit "Page not found" box unless box."""
    text = page.locator("[data-testid='stApp']").inner_text()
    assert "Traceback" not in text and "StreamlitAPIException" not in text
    if not box:
        assert "Page not found" not in text
        expect(page.get_by_role("dialog")).to_have_count(0)


def test_the_login_pages_own_address_opens_the_login_form(app, new_context):
    # /dang-nhap was taken as an unknown address and given a hidden page of its own, which Streamlit refused
    # (two pages at /dang-nhap): a traceback instead of the form
    page = new_context().new_page()
    b.goto(page, app.at("dang-nhap"))
    expect(b.key(page, "login_submit")).to_be_visible()
    no_error(page)


def test_the_first_pages_own_address_and_its_placeholder_open_it_after_logging_in(app, new_context):
    page = new_context().new_page()
    b.login(page, app.url, *b.DEMO_ADMIN)
    b.goto(page, app.at(nav.PAGES[0].url_path))
    expect(b.heading(page, ui.t(nav.PAGES[0].title_key))).to_be_visible()
    no_error(page)
    # the placeholder the first page takes (it is served at "/"): nobody is sent there, and a typed one gets
    # Streamlit's notice over that page, not a traceback
    b.goto(page, app.at(f"{nav.PAGES[0].url_path}-trang-dau"))
    expect(b.heading(page, ui.t(nav.PAGES[0].title_key))).to_be_visible()
    no_error(page, box=True)


def test_the_setup_pages_own_address_opens_the_setup_form_on_a_new_database(tmp_path, new_context):
    from lib import db as dbm

    dbm.init(tmp_path / "new.db")
    served = start_app(tmp_path / "new.db", tmp_path / "streamlit.log")
    try:
        page = new_context().new_page()
        b.goto(page, served.at("thiet-lap"))
        expect(page.locator("[data-testid='stForm']")).to_be_visible()
        no_error(page)
    finally:
        stop_app(served)


def test_the_benchmarks_app_without_the_hint_serves_streamlits_own_index(demo_db_for_bench, tmp_path):
    # bench.deep_links compares the app with this twin: it must differ by the hint alone
    from bench import deep_links

    plain = deep_links.start_without_hint(demo_db_for_bench, tmp_path / "plain.log")
    try:
        assert fetch(plain.at("tai-khoan"))[2] == (STATIC / "index.html").read_bytes()
        assert fetch(plain.at("_stcore/health"))[0] == 200
    finally:
        stop_app(plain)


@pytest.fixture(scope="module")
def demo_db_for_bench(app):
    return app.db
