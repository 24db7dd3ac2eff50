"""Playwright helpers for a Streamlit page: wait for script runs, fill widgets by key, log in and out."""

import re
import time
from typing import Any

from google.protobuf.message import DecodeError
from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from lib.i18n import t

VIEWPORT = {"width": 1440, "height": 900}
WAIT_MS = 30_000  # longest wait for one script run or one element
APP_STATE = "[data-testid='stApp']"
COOKIE = "chibo_auth"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
_RUN_ENDS = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)

_SOCKETS: dict[Page, WebSocket] = {}
# The demo data's administrator (lib/demo.py), for the browser tests over the demo.
DEMO_ADMIN = ("admin", "demo-quantri-2025")
# Every text a canvas draws, kept in window.__drawn (the table widget draws its cells and headers so).
RECORD_CANVAS = """(() => {
  window.__drawn = [];
  const fill = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    window.__drawn.push(String(text));
    return fill.call(this, text, ...rest);
  };
})();"""


def watch(page: Page) -> None:
    """Keep track of the page's current Streamlit websocket (a reload opens a new one)."""
    page.on("websocket", lambda ws: _SOCKETS.__setitem__(page, ws))
    page.on("close", lambda _: _SOCKETS.pop(page, None))


def _run_finished(payload: bytes | str) -> bool:
    """Whether a frame from the server is the ForwardMsg that ends a whole script run."""
    if isinstance(payload, str):
        return False
    msg = ForwardMsg()
    try:
        msg.ParseFromString(payload)
    except DecodeError:
        return False
    return msg.WhichOneof("type") == "script_finished" and msg.script_finished in _RUN_ENDS


def idle(page: Page) -> None:
    """Wait until the app is connected and no script run is going on."""
    page.wait_for_selector(IDLE, timeout=WAIT_MS)


def goto(page: Page, url: str) -> None:
    """Open a URL and wait for the app's first script run to finish."""
    page.goto(url)
    page.wait_for_selector(APP_STATE, timeout=WAIT_MS)
    idle(page)


def rerun(page: Page, action) -> None:
    """Do an action that makes Streamlit rerun the script, and wait until that run has finished and drawn."""
    idle(page)
    # The server's "script finished" message is the sure sign: a quick run can start and end
    # between two renders, so the page's script-state attribute may never show it.
    with _SOCKETS[page].expect_event("framereceived", predicate=_run_finished, timeout=WAIT_MS):
        action()
    idle(page)


def key(page: Page, name: str) -> Locator:
    """The element container of the widget with this Streamlit key."""
    return page.locator(f".st-key-{name}")


def fill(page: Page, name: str, value: object, submit: bool = False) -> None:
    """Type into a text or number input by key; outside a form, commit it (Enter) and wait for the rerun."""
    box = key(page, name).locator("input, textarea").first
    if submit:
        rerun(page, lambda: (box.fill(str(value)), box.press("Enter")))
    else:
        box.fill(str(value))


def click(page: Page, name: str) -> None:
    """Click the button with this key and wait for the run it starts."""
    rerun(page, lambda: key(page, name).locator("button").first.click())


def choose(page: Page, name: str, option: str, rerun_after: bool = False) -> None:
    """Pick an option by its visible text in a selectbox or multiselect with this key."""
    def pick() -> None:
        key(page, name).locator("[role=combobox]").first.click()
        page.get_by_role("option", name=option, exact=True).click()
        page.keyboard.press("Escape")

    if rerun_after and option in chosen(page, name):
        return  # already chosen (the first option is the default): picking it again starts no run
    if rerun_after:
        rerun(page, pick)
    else:
        pick()


def chosen(page: Page, name: str) -> list[str]:
    """What a selectbox (the text in its box) or a multiselect (its chips) with this key shows as chosen."""
    box = key(page, name).locator("[role=combobox]").first
    chips = key(page, name).inner_text(timeout=WAIT_MS).splitlines()[1:]  # the first line is the label
    return [text.strip() for text in (box.input_value(timeout=WAIT_MS), *chips) if text.strip()]


def login(page: Page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form and wait for the logged-in sidebar."""
    goto(page, base_url)
    fill(page, "login_username", username)
    fill(page, "login_password", password)
    key(page, "login_submit").locator("button").click()
    try:
        expect(logout_link(page)).to_be_visible(timeout=WAIT_MS // 3)
    except AssertionError:
        # Seen once in CI on a server's first session: the click landed while the login page's cookie component
        # made its first rerun, and the form was drawn again without logging in (no error shown). A person
        # clicks again; so does the test, once, and only when the form is still there with nothing said.
        if not key(page, "login_submit").is_visible() or page.locator("[data-testid='stAlert']").count():
            raise
        key(page, "login_submit").locator("button").click()
        expect(logout_link(page)).to_be_visible(timeout=WAIT_MS)
    idle(page)
    # The re-login cookie is written by a component after the run; a new page load before it lands
    # would be a logged-out session.
    wait_cookie(page, COOKIE)


def logout_link(page: Page) -> Locator:
    """The menu's logout entry (a signed-in menu's link; lib.ui.shell_pages)."""
    return page.locator("[data-testid='stSidebarNav'] a[href$='/dang-xuat']")


def language_link(page: Page) -> Locator:
    """The menu's entry that switches to the other language (lib.ui.shell_pages)."""
    return page.locator("[data-testid='stSidebarNav'] a[href$='/ngon-ngu']")


def logout(page: Page) -> None:
    """Click the menu's logout entry and wait for the login form."""
    logout_link(page).click()
    expect(key(page, "login_submit")).to_be_visible(timeout=WAIT_MS)
    idle(page)


def wait_cookie(page: Page, name: str, present: bool = True) -> None:
    """Wait until the browser holds (or no longer holds) the named cookie."""
    check = f"() => document.cookie.split('; ').some(c => c.startsWith('{name}=')) === {str(present).lower()}"
    page.wait_for_function(check, timeout=WAIT_MS)


def heading(page: Page, name: str, exact: bool = True) -> Locator:
    """Wait until the page shows this heading once and visibly, and return it.

    While a run draws, Streamlit leaves the previous run's elements on the page (stale, faded) until the new
    run ends: for a moment a page can hold its title twice (seen in CI right after a login, when the run that
    applies the account's language follows the first). Expecting one at once would fail on that moment; this
    waits for it to pass, as a person would.
    """
    found = page.get_by_role("heading", name=name, exact=exact)
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            idle(page)
            expect(found).to_have_count(1, timeout=2_000)
            expect(found).to_be_visible(timeout=2_000)  # fails at once if a second copy came meanwhile
            return found
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def errors(page: Page) -> list[str]:
    """The texts of the error messages on the page."""
    found = page.locator("[data-testid='stAlertContentError'] [data-testid='stMarkdownContainer']")
    return [e.inner_text().strip() for e in found.all()]


def metric(page: Page, label_key: str) -> Locator:
    """The value of the headline metric whose label is t(label_key)."""
    box = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(t(label_key))}$")))
    return box.locator("[data-testid='stMetricValue']")


def drawn(page: Page) -> None:
    """Wait until the run is over, no placeholder is left and every visible chart and table has drawn itself."""
    idle(page)
    # Charts and tables inside a hidden tab only draw when their tab is opened.
    page.wait_for_function(
        """() => {
             const shown = sel => [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0);
             return shown("[data-testid='stSkeleton'], [data-testid='stSpinner']").length === 0
               && shown("[data-testid='stVegaLiteChart']").every(
                    c => [...c.querySelectorAll('canvas, svg')].some(g => g.getBoundingClientRect().width > 50))
               && shown("[data-testid='stDataFrame']").every(d => d.querySelector('canvas') !== null)
               && document.fonts.status === 'loaded';
           }""",
        timeout=WAIT_MS)


def signed_in_page(browser, base_url: str, username: str, password: str) -> tuple[Any, Page]:
    """A fresh context (1440×900, Vietnamese) and a page logged in through the form; close the context after."""
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(WAIT_MS)
    context.on("page", watch)
    page = context.new_page()
    login(page, base_url, username, password)
    return context, page
