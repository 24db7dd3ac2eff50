"""Dashboards in a real browser at 1440×900 (issue 16): the period and scope filters within reach, at the top."""

import pytest
from playwright.sync_api import expect

from lib.i18n import t
from tests.e2e import browser as b

ADMIN = b.DEMO_ADMIN
# (URL path, heading key): the five dashboards an administrator reaches from the sidebar's 18 links
DASHBOARDS = (("", "nav.overview"), ("du-hop", "nav.attendance"), ("can-bo-phu-trach", "nav.leaders"),
              ("han-che", "nav.weakness_board"), ("chat-luong", "nav.quality"))


@pytest.fixture(scope="module")
def admin_page(demo_app, playwright_browser):
    context, page = b.signed_in_page(playwright_browser, demo_app.url, *ADMIN)
    yield page
    context.close()


def in_view(page, name: str) -> bool:
    """Whether the widget with this key lies wholly inside the window, without scrolling the page or the sidebar."""
    box = b.key(page, name).bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"]
            and box["y"] + box["height"] <= size["height"])


@pytest.mark.parametrize(("path", "heading"), DASHBOARDS, ids=[d[1].split(".")[1] for d in DASHBOARDS])
def test_period_and_scope_are_in_view_at_the_top_of_each_dashboard(demo_app, admin_page, path, heading):
    assert admin_page.viewport_size == {"width": 1440, "height": 900}
    # a quarter named in the link: the account keeps the last period it chose, perhaps a year (no quarter box)
    b.goto(admin_page, demo_app.at(f"{path}?ky=2025-Q4"))
    b.heading(admin_page, t(heading))
    for name in ("dash_kind", "dash_year", "dash_quarter", "dash_scope"):
        expect(b.key(admin_page, name)).to_be_visible()
        assert in_view(admin_page, name), name
    # in the main area, not the sidebar
    assert admin_page.locator("[data-testid='stSidebar'] .st-key-dash_year").count() == 0


def test_scope_button_opens_the_scope_filters_and_keeps_them_in_the_url(demo_app, admin_page):
    b.goto(admin_page, demo_app.at("du-hop?ky=2025"))
    scope = b.key(admin_page, "dash_scope")
    expect(scope).to_contain_text(t("dash.filter.scope", scope=t("dash.filter.scope_all")))
    scope.get_by_role("button").first.click()
    expect(b.key(admin_page, "dash_units")).to_be_visible()
    # an old commune near the top of the (longer, since the merger) list, with the merged mark it carries
    b.choose(admin_page, "dash_units", "Xã An Trường A" + t("dash.merged_mark"), rerun_after=True)
    admin_page.wait_for_url("**don_vi=ANTRUONGA**")
    expect(b.key(admin_page, "dash_scope")).to_contain_text(
        t("dash.filter.scope", scope=t("dash.filter.n_units", n=1)))
    assert "ky=2025" in admin_page.url
