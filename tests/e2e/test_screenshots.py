"""Every dashboard drawn in a real browser over the demo data, saved as PNG for the README (`make screenshots`): each
at 1440×900, 1920×1080 and on a 390×844 phone, named <page>-<width>.png."""

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lib import db as dbm
from lib import forms, members, users
from lib.i18n import t
from tests.e2e import browser as b

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# the laptop the issue was tried on, a meeting-room screen, a hamlet clerk's phone
SIZES = {1440: {"width": 1440, "height": 900}, 1920: {"width": 1920, "height": 1080},
         390: {"width": 390, "height": 844}}
ADMIN = b.DEMO_ADMIN
CLERK = ("thuky", "demo-nhaplieu-2025")

# (file name, URL path, heading key or None for presentation mode, whether the page draws charts)
PAGES = (
    ("overview", "", "nav.overview", False),  # the default page lives at the root address
    ("attendance", "du-hop", "nav.attendance", True),
    ("leaders", "can-bo-phu-trach", "nav.leaders", True),
    ("weaknesses", "han-che", "nav.weakness_board", True),
    ("quality", "chat-luong", "nav.quality", True),
)


@pytest.fixture(scope="module")
def admin_page(demo_app, playwright_browser):
    with dbm.write(demo_app.db) as db:
        db.execute("delete from user_prefs")  # each page on its default period, whatever earlier tests chose
    context, page = b.signed_in_page(playwright_browser, demo_app.url, *ADMIN)
    yield page
    context.close()


def sized(page, width: int) -> None:
    """Set the window to one of SIZES (before the page is opened, so it draws at that size)."""
    page.set_viewport_size(SIZES[width])


def shoot(page, name: str) -> Path:
    """Once everything has drawn, save the first screen as <name>.png and the whole page as full/<name>.png."""
    size = page.viewport_size
    b.drawn(page)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    (SCREENSHOTS / "full").mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled")
    # Streamlit scrolls inside its main element, so for the whole page the window grows to its height.
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 6000)})
    b.drawn(page)
    page.screenshot(path=SCREENSHOTS / "full" / f"{name}.png", animations="disabled")
    page.set_viewport_size(size)
    assert path.stat().st_size > 20_000  # a drawn page, not a blank one
    return path


@pytest.mark.parametrize("width", SIZES)
@pytest.mark.parametrize(("name", "path", "heading", "charts"), PAGES, ids=[p[0] for p in PAGES])
def test_dashboard_screenshot(demo_app, admin_page, name, path, heading, charts, width):
    sized(admin_page, width)
    b.goto(admin_page, demo_app.at(path))
    b.heading(admin_page, t(heading))
    if charts:
        expect(admin_page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    assert b.errors(admin_page) == []
    shoot(admin_page, f"{name}-{width}")


@pytest.mark.parametrize("width", SIZES)
def test_reports_screenshot(demo_app, admin_page, width):
    sized(admin_page, width)
    b.goto(admin_page, demo_app.at("bao-cao"))
    b.click(admin_page, "reports_generate")
    expect(b.key(admin_page, "reports_download").get_by_role("button")).to_be_visible(timeout=60_000)
    assert b.errors(admin_page) == []
    shoot(admin_page, f"reports-{width}")


@pytest.mark.parametrize("width", SIZES)
def test_presentation_screenshot(demo_app, admin_page, width):
    sized(admin_page, width)
    b.goto(admin_page, demo_app.at("trinh-chieu"))
    b.rerun(admin_page, lambda: b.key(admin_page, "pres_paused").locator("label").first.click())
    slide = admin_page.get_by_role("heading", level=2)
    for _ in range(7):  # on to the ranked attendance chart, the projector's main slide
        if slide.inner_text().strip() == t("nav.attendance"):
            break
        b.click(admin_page, "pres_next")
    expect(slide).to_have_text(t("nav.attendance"))
    expect(admin_page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    shoot(admin_page, f"presentation-{width}")


def _free_cell(db_path: Path, username: str) -> tuple[str, int, date]:
    """A cell of the clerk's first commune whose default meeting date has no regular meeting yet: name, id, day."""
    today = date.today()
    with dbm.read(db_path) as db:
        who = users.actor_for(db, username)
        unit = forms.units_in_scope(db, who)[0]
        for cell in forms.cells_for_entry(db, unit["id"], today):
            done = forms.existing_regular(db, cell["id"], forms.previous_month_day(today)) is not None
            held_on = forms.default_held_on(cell["meeting_day"], today, done)
            if not cell["valid_to"] and forms.existing_regular(db, cell["id"], held_on) is None:
                return cell["name"], cell["id"], held_on
    raise AssertionError("the demo data has no cell free for a new meeting")


@pytest.mark.parametrize("width", SIZES)
def test_record_meeting_screenshot(demo_app, new_context, width):
    page = new_context().new_page()
    b.login(page, demo_app.url, *CLERK)
    sized(page, width)
    b.goto(page, demo_app.at("nhap-buoi-sinh-hoat"))
    title = page.get_by_role("heading", name=t("nav.record_meeting"), exact=True)
    expect(title).to_be_visible()
    name, cell_id, held_on = _free_cell(demo_app.db, CLERK[0])
    b.choose(page, "rec_cell", name, rerun_after=True)
    # The demo clerk's commune keeps its members (xã Nhị Long): the form lists them, all present by default, and
    # the counts come from the list.
    with dbm.read(demo_app.db) as db:
        roster = members.roster(db, cell_id, held_on.isoformat())
    expected = sum(not m["exempt"] for m in roster)
    assert expected, "the demo clerk's cell has members"
    expect(page.get_by_text(t("page.record.by_member"))).to_be_visible()
    expect(page.get_by_text(t("page.record.marks_rate", present=expected, required=expected, rate="100%"))
           ).to_be_visible()
    for field, value in (("duration_minutes", 110), ("score", 86)):
        b.fill(page, f"rec_{field}", value, submit=True)
    topics = b.key(page, "rec_topics").locator("textarea")
    b.rerun(page, lambda: (topics.fill("Quán triệt Nghị quyết Hội nghị Trung ương; kiểm điểm công tác tháng; "
                                       "phân công đảng viên phụ trách hộ."), title.click()))
    assert b.errors(page) == []
    shoot(page, f"record-meeting-{width}")


@pytest.fixture(scope="module")
def commune_app(tmp_path_factory):
    """The app of one commune's party committee: the same demo, home node the new xã Nhị Long (1/7/2025)."""
    from lib import demo
    from tests.e2e.server import start_app, stop_app

    folder = tmp_path_factory.mktemp("e2e_commune")
    db = folder / "commune.db"
    demo.load(db, home=("commune", "NHILONG25"))
    app = start_app(db, folder / "streamlit.log")
    yield app
    stop_app(app)


def test_overview_at_province_and_commune_level_screenshots(demo_app, commune_app, new_context):
    """The overview of a provincial committee (its communes as rows) and of a commune's committee (its cells), for
    the README (issue 11)."""
    for app, level, root in ((demo_app, "province", "Tỉnh Vĩnh Long"), (commune_app, "commune", "Xã Nhị Long")):
        with dbm.write(app.db) as db:
            db.execute("delete from user_prefs")
        page = new_context().new_page()
        b.login(page, app.url, *ADMIN)
        sized(page, 1440)
        b.goto(page, app.at(""))
        b.heading(page, t("nav.overview"))
        expect(page.get_by_text(root).first).to_be_visible()  # the breadcrumbs start at the home node
        assert b.errors(page) == []
        shoot(page, f"overview-{level}-1440")
