"""The main flows in a real browser: setup, users, recording a meeting, live dashboards, roles, login, reports."""

import zipfile
from datetime import date

from playwright.sync_api import expect

from lib import db as dbm
from lib import meetings, settings, users
from lib.domain import SYSTEM
from lib.i18n import t
from tests.e2e import browser as b

ORG = "Tỉnh ủy Vĩnh Long"  # the committee named at setup ("who are we?", branch bodies)
ADMIN = ("quantri", "Bimat-2025-qt")  # a password holding the username is refused
CLERK = ("thuky.nl", "Thuky2025nl")
VIEWER = ("xem.tv", "Xem2025tv")


def setup_and_create_users(app, new_context) -> None:
    """First-run setup in the browser, then the admin adds a clerk for Nhị Long and a viewer (once per server)."""
    if app.state.get("users_made"):
        return
    page = new_context().new_page()
    b.goto(page, app.url)
    b.heading(page, t("page.setup.title"), exact=False)
    # picked without b.choose's closing Escape, which here (a selectbox with no value yet, inside a form) undoes it
    b.key(page, "setup_home_kind").locator("[role=combobox]").first.click()
    page.get_by_role("option", name=t("page.setup.kind_tinh"), exact=True).click()
    b.fill(page, "setup_home_code", "TINH")
    b.fill(page, "setup_home_name", "Đảng bộ tỉnh Vĩnh Long")
    b.fill(page, "setup_committee", ORG)
    b.fill(page, "setup_place", "Vĩnh Long")
    b.fill(page, "setup_full_name", "Lê Văn Quản")
    b.fill(page, "setup_username", ADMIN[0])
    b.fill(page, "setup_password", ADMIN[1])
    b.fill(page, "setup_confirm", ADMIN[1])
    b.click(page, "setup_submit")
    expect(page.get_by_text(t("page.setup.done"))).to_be_visible()

    b.fill(page, "login_username", ADMIN[0])
    b.fill(page, "login_password", ADMIN[1])
    b.key(page, "login_submit").locator("button").click()
    expect(b.logout_link(page)).to_be_visible()
    b.wait_cookie(page, b.COOKIE)
    b.goto(page, app.at("nguoi-dung"))
    b.heading(page, t("nav.users"), exact=False)

    for (username, password), role, units in ((CLERK, "clerk", ["NL – Xã Nhị Long"]), (VIEWER, "viewer", [])):
        b.fill(page, "users_new_username", username)
        b.fill(page, "users_new_full_name", username.title())
        if role != "clerk":
            b.choose(page, "users_new_role", t(f"enum.Role.{role}"))
        for unit in units:
            b.choose(page, "users_new_units", unit)
        b.fill(page, "users_new_password", password)
        b.fill(page, "users_new_confirm", password)
        b.click(page, "users_new_submit")
        expect(page.get_by_text(t("page.users.created", username=username))).to_be_visible()
    page.context.close()
    app.state["users_made"] = True


def test_setup_then_admin_creates_clerk_and_viewer(flow_app, new_context):
    setup_and_create_users(flow_app, new_context)
    with dbm.read(flow_app.db) as db:
        made = {u["username"]: u for u in users.list_users(db)}
        clerk = users.actor_for(db, CLERK[0])
        viewer = users.actor_for(db, VIEWER[0])
    assert made[ADMIN[0]]["role"] == "admin" and made[ADMIN[0]]["full_name"] == "Lê Văn Quản"
    assert settings_org(flow_app) == ORG
    assert clerk.role == "clerk" and clerk.unit_ids == {flow_app.state["ids"]["u1"]}
    assert viewer.role == "viewer" and viewer.unit_ids == frozenset()


def test_clerk_records_meeting_and_open_viewer_dashboard_refreshes(flow_app, new_context):
    setup_and_create_users(flow_app, new_context)
    today = date.today()

    # The overview is the default page, at the root address; ?ky= picks this month.
    viewer = new_context().new_page()
    b.login(viewer, flow_app.url, *VIEWER)
    b.goto(viewer, flow_app.at(f"?ky={today:%Y-%m}"))
    b.heading(viewer, t("nav.overview"))
    expect(viewer.get_by_text(t("dash.label_month", month=f"{today:%m}", year=today.year)).first).to_be_visible()
    expect(viewer.get_by_text(t("ui.no_data"))).to_be_visible()
    viewer.evaluate("() => { window.__e2eSamePage = true; }")

    clerk = new_context().new_page()
    b.login(clerk, flow_app.url, *CLERK)
    b.goto(clerk, flow_app.at("nhap-buoi-sinh-hoat"))
    b.heading(clerk, t("nav.record_meeting"), exact=False)
    for name, value in (("members_total", 10), ("present", 8), ("absent_excused", 1), ("absent_unexcused", 1),
                        ("duration_minutes", 120), ("score", 150)):
        b.fill(clerk, f"rec_{name}", value, submit=True)
    expect(clerk.get_by_text(t("page.record.count_ok", given=10, required=10, rate="80%"))).to_be_visible()
    b.click(clerk, "rec_save")
    assert b.errors(clerk) == [f'{t("field.score")}: {t("err.score_range")}']
    assert _meetings(flow_app) == []

    b.fill(clerk, "rec_score", 85, submit=True)
    b.click(clerk, "rec_save")
    saved = _meetings(flow_app)
    assert [(m["present"], m["members_total"], m["score"], m["held_on"]) for m in saved] == [
        (8, 10, 85, today.isoformat())]
    expect(clerk.get_by_text(t("page.record.saved", id=saved[0]["id"]))).to_be_visible()
    assert f'{t("field.score")}: {t("err.score_range")}' not in b.errors(clerk)

    # The viewer's page was not reloaded: its live fragment redraws with the new figures (refresh 5 s).
    expect(b.metric(viewer, "dash.h_attendance_rate")).to_have_text("80,0%", timeout=30_000)
    # Both cells' fixed day is today: the one that met is due and held; the other's day has not passed, so
    # it is coming up, outside coverage (1 of 1), and said apart.
    expect(b.metric(viewer, "dash.h_coverage")).to_have_text("100,0%")
    expect(viewer.get_by_text(t("dash.upcoming_note", n="1"))).to_be_visible()
    assert viewer.evaluate("() => window.__e2eSamePage === true")


def _meetings(app) -> list[dict]:
    with dbm.read(app.db) as db:
        return [dict(r) for r in db.query("select * from meetings where deleted_at is null order by id")]


def test_clerk_cannot_open_admin_pages_by_url(flow_app, new_context):
    setup_and_create_users(flow_app, new_context)
    page = new_context().new_page()
    b.login(page, flow_app.url, *CLERK)
    # (address, title, the key prefix of that page's widgets)
    for path, title, prefix in (("nguoi-dung", "nav.users", "users_"), ("cai-dat", "nav.settings", "settings_"),
                                ("nhat-ky", "nav.audit", "audit_"), ("danh-muc", "nav.directory", "dir_"),
                                ("phan-cong", "nav.assignments", "asg_"), ("bao-cao", "nav.reports", "reports_")):
        b.goto(page, flow_app.at(path))
        # The address answers with the app's own refusal (not Streamlit's English "page not found"); never drawn.
        expect(page.get_by_text(t("perm.page_forbidden"), exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name=t(title), exact=True)).to_have_count(0)
        expect(page.locator(f"[class*='st-key-{prefix}']")).to_have_count(0)
        expect(page.get_by_test_id("stSidebarNav").get_by_text(t(title), exact=True)).to_have_count(0)


def test_logout_survives_reload_and_cookie_login_survives_reload(flow_app, new_context):
    setup_and_create_users(flow_app, new_context)
    page = new_context().new_page()
    b.login(page, flow_app.url, *VIEWER)

    page.reload()
    b.idle(page)
    expect(b.logout_link(page)).to_be_visible()
    expect(b.key(page, "login_submit")).to_have_count(0)
    # A second tab of the same browser is logged in by the cookie too, on a deep link.
    tab = page.context.new_page()
    b.goto(tab, flow_app.at("chat-luong"))
    b.heading(tab, t("nav.quality"))
    # The first page of the menu answers at its own address too (a bookmark), not only at "/".
    b.goto(tab, flow_app.at("tong-quan"))
    b.heading(tab, t("nav.overview"))
    tab.close()

    b.logout(page)
    # The server voids the cookie at logout (the browser's delete is a component that may not run).
    page.reload()
    b.idle(page)
    expect(b.key(page, "login_submit")).to_be_visible()
    expect(b.logout_link(page)).to_have_count(0)
    b.goto(page, flow_app.at("tong-quan"))
    expect(b.key(page, "login_submit")).to_be_visible()
    expect(page.get_by_role("heading", name=t("nav.overview"), exact=True)).to_have_count(0)


SLIDES = ("nav.overview", "nav.attendance", "chart.attendance_heatmap", "nav.leaders", "nav.weakness_board",
          "chart.weakness_trend", "nav.quality")


def test_presentation_mode_moves_through_slides(flow_app, new_context):
    setup_and_create_users(flow_app, new_context)
    page = new_context().new_page()
    b.login(page, flow_app.url, *VIEWER)
    b.goto(page, flow_app.at("trinh-chieu"))
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    slide = page.get_by_role("heading", level=2)
    titles = [t(k) for k in SLIDES]

    b.rerun(page, lambda: b.key(page, "pres_paused").locator("label").first.click())
    first = titles.index(slide.inner_text().strip())
    b.click(page, "pres_next")
    expect(slide).to_have_text(titles[(first + 1) % len(titles)])
    b.click(page, "pres_prev")
    expect(slide).to_have_text(titles[first])
    # Running again, it moves on by itself after the interval (5 s here, the refresh setting).
    b.rerun(page, lambda: b.key(page, "pres_paused").locator("label").first.click())
    expect(slide).to_have_text(titles[(first + 1) % len(titles)], timeout=20_000)


def test_report_downloads_as_docx(flow_app, new_context, tmp_path):
    setup_and_create_users(flow_app, new_context)
    if not _meetings(flow_app):  # run on its own, without the clerk's meeting of the test above
        with dbm.write(flow_app.db) as db:
            meetings.create(db, SYSTEM, {"cell_id": flow_app.state["ids"]["c1"], "held_on": date.today(),
                                         "mtype": "thuong_ky", "members_total": 10, "present": 8,
                                         "absent_excused": 1, "absent_unexcused": 1}, [])
    page = new_context().new_page()
    b.login(page, flow_app.url, *VIEWER)
    b.goto(page, flow_app.at("bao-cao"))
    b.heading(page, t("nav.reports"))
    b.click(page, "reports_generate")
    button = b.key(page, "reports_download").get_by_role("button")
    expect(button).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        button.click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".docx"
    with zipfile.ZipFile(target) as docx:
        assert "word/document.xml" in docx.namelist()
    text = _docx_text(target)
    assert ORG.upper() in text  # the organisation named at setup heads the report
    assert "Xã Nhị Long" in text  # its cell was due to meet in the last complete quarter, the page's default


def _docx_text(path) -> str:
    from docx import Document

    doc = Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def settings_org(app) -> str:
    with dbm.read(app.db) as db:
        return settings.get_settings(db)["org_name"]
