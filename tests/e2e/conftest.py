"""Browser tests: the app served by Streamlit on a free local port, driven by Playwright in Debian's chromium."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from lib import assignments, directory, settings
from lib import db as dbm
from lib.domain import SYSTEM
from tests.e2e.browser import VIEWPORT, WAIT_MS, watch

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# --disable-dev-shm-usage: CI containers often have a tiny /dev/shm, where chromium's tabs crash.
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
FAILURES = Path(__file__).resolve().parent / "screenshots" / "failures"
START_TIMEOUT = 60  # seconds for Streamlit to answer /_stcore/health


@dataclass
class App:
    """A running Streamlit server: its base URL, database file, process and log."""

    url: str
    db: Path
    proc: subprocess.Popen
    log: Path
    state: dict = field(default_factory=dict)

    def at(self, path: str = "") -> str:
        """The full URL of a page path such as "tong-quan" or "tong-quan?ky=2025"."""
        return f"{self.url}/{path.lstrip('/')}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start_app(db: Path, log: Path) -> App:
    """Start `streamlit run app.py` on 127.0.0.1 against db and wait until its health check answers."""
    port = _free_port()
    env = {**os.environ, "CHIBO_DB": str(db), "CHIBO_TESTING": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", db, proc, log)
    deadline = time.monotonic() + START_TIMEOUT
    while not _healthy(app.url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_app(app)
            pytest.fail(f"streamlit did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)  # polling a server that is starting, not waiting on the page
    return app


def stop_app(app: App) -> None:
    """Stop the server started by start_app."""
    if app.proc.poll() is None:
        app.proc.terminate()
        try:
            app.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.proc.kill()
            app.proc.wait()


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
