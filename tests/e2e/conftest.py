"""Browser tests: the app served by Streamlit on a free local port, driven by Playwright in Debian's chromium."""

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lib import assignments, directory, settings
from lib import db as dbm
from lib.domain import SYSTEM
from tests.e2e import server
from tests.e2e.browser import VIEWPORT, WAIT_MS, watch
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, App, stop_app

__all__ = ["App", "start_app", "stop_app"]
FAILURES = Path(__file__).resolve().parent / "screenshots" / "failures"
# Playwright's expect() waits 5 s by default, whatever the context's timeout: too short for a login and the first
# page after it on a loaded CI machine (seen: an unknown address's notice after logging in). Same as every wait.
expect.set_options(timeout=WAIT_MS)


def start_app(db: Path, log: Path) -> App:
    """Start the app (`python -m lib serve`) against db (tests/e2e/server.py); the test fails if it does not answer."""
    try:
        return server.start_app(db, log)
    except server.StartError as exc:
        pytest.fail(str(exc))


def seed_directory(path: Path, refresh_seconds: int = 5) -> dict:
    """Two communes with one hamlet cell each (fixed day = today's day) and one leader; live refresh every 5 s."""
    today = date.today()
    with dbm.write(path) as db:
        u1 = directory.create_unit(db, SYSTEM, {"code": "NL", "name": "Xã Nhị Long", "kind": "xa"})
        u2 = directory.create_unit(db, SYSTEM, {"code": "DP", "name": "Xã Đại Phước", "kind": "xa"})
        c1 = directory.create_cell(db, SYSTEM, {"code": "NL-CD", "unit_id": u1, "name": "Chi bộ ấp Cầu Đúc",
                                                "cell_type": "ap_khom", "meeting_day": today.day,
                                                "valid_from": "2020-01-01"})
        c2 = directory.create_cell(db, SYSTEM, {"code": "DP-LH", "unit_id": u2, "name": "Chi bộ ấp Long Hòa",
                                                "cell_type": "ap_khom", "meeting_day": today.day,
                                                "valid_from": "2020-01-01"})
        leader = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "Nguyễn Văn An", "grp": "uv_btv",
                                                      "position": "Phó Bí thư"})
        assignments.create(db, SYSTEM, {"leader_id": leader, "unit_id": u1, "decision_no": "395-QĐ/HU",
                                        "decision_date": "2022-02-21", "valid_from": "2022-02-21"})
        settings.save_settings(db, SYSTEM, {"refresh_seconds": refresh_seconds})
    return {"u1": u1, "u2": u2, "c1": c1, "c2": c2, "leader": leader}


@pytest.fixture(scope="session")
def playwright_browser():
    """Debian's chromium driven by Playwright; the tests fail (never skip) when it is not installed."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def flow_app(tmp_path_factory):
    """The app on an empty users table (first-run setup) over a small seeded directory."""
    folder = tmp_path_factory.mktemp("e2e_flow")
    db = folder / "flow.db"
    dbm.init(db)
    ids = seed_directory(db)
    app = start_app(db, folder / "streamlit.log")
    app.state["ids"] = ids
    yield app
    stop_app(app)


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory):
    """The app over the demo data (Càng Long), for the screenshots."""
    from lib import demo

    folder = tmp_path_factory.mktemp("e2e_demo")
    db = folder / "demo.db"
    demo.load(db)
    from tests.test_reports import with_district_body

    with_district_body(db)  # the report's header is an issuing body's (branch bodies); the demo's own when it has one
    app = start_app(db, folder / "streamlit.log")
    yield app
    stop_app(app)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell at teardown whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def new_context(playwright_browser, request):
    """A factory of fresh browser contexts (separate cookies, like separate computers), closed after the test.

    When the test fails, every page it opened is saved to tests/e2e/screenshots/failures/ first.
    """
    made = []

    def make(**kwargs):
        context = playwright_browser.new_context(viewport=VIEWPORT, locale="vi-VN", accept_downloads=True,
                                                 **kwargs)
        context.set_default_timeout(WAIT_MS)
        context.on("page", watch)
        made.append(context)
        return context

    yield make
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = FAILURES / request.node.name.replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(p for context in made for p in context.pages):
            page.screenshot(path=folder / f"page-{i}.png", full_page=True)
        print(f"screenshots of the failed test's pages: {folder}")
    for context in made:
        context.close()
