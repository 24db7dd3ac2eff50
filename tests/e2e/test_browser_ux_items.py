"""Issue 16 in a real browser, one test (or more) per item, each failing on the code before its fix.

Items already covered elsewhere: 3 (Streamlit's English) in test_browser_ux_english.py, 4 (filters at the top)
in test_browser_ux_dash.py. Tables are drawn on a canvas, so what they show is read by recording every text the
page draws there (CanvasRenderingContext2D.fillText, wrapped before the app loads).
"""

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from lib import db as dbm
from lib import directory, importer, meetings, metrics, users
from lib.domain import SYSTEM, period_display
from lib.i18n import t
from lib.ui import HEADLINES
from tests.e2e import browser as b
from tests.e2e.conftest import start_app, stop_app

ADMIN = b.DEMO_ADMIN
CLERK = ("thuky", "demo-nhaplieu-2025")
PASSWORD = "Matkhau123"
PHONE = {"width": 390, "height": 844}
RECORD_CANVAS = b.RECORD_CANVAS
DASHBOARDS = ("", "nhac-viec", "du-hop", "can-bo-phu-trach", "han-che", "chat-luong")


def fresh_user(db_path, username: str, role: str = "viewer", unit_codes: tuple[str, ...] = ()) -> tuple[str, str]:
    """A new account with no stored language or period (the demo's accounts keep what earlier tests chose)."""
    with dbm.write(db_path) as db:
        ids = [directory.id_by_code(db, "units")[c] for c in unit_codes]
        users.create_user(db, SYSTEM, username, username.title(), PASSWORD, role, ids)
    return username, PASSWORD


def recording(new_context, **kwargs):
    """A browser context whose pages record what their canvases draw."""
    context = new_context(**kwargs)
    context.add_init_script(RECORD_CANVAS)
    return context


def drawn(page) -> list[str]:
    """The texts drawn on the page's canvases since it was loaded (or since the last forget)."""
    b.drawn(page)
    page.wait_for_timeout(300)  # the grid paints on the next animation frame after its data arrives
    return page.evaluate("() => window.__drawn")


def forget(page) -> None:
    page.evaluate("() => { window.__drawn = []; }")


@pytest.fixture(scope="module")
def admin_page(demo_app, playwright_browser):
    """One logged-in administrator for the module (each login is a bcrypt check and a cookie), recording canvases."""
    context = playwright_browser.new_context(viewport=b.VIEWPORT, locale="vi-VN", accept_downloads=True)
    context.set_default_timeout(b.WAIT_MS)
    context.add_init_script(RECORD_CANVAS)
    context.on("page", b.watch)
    page = context.new_page()
    b.login(page, demo_app.url, *ADMIN)
    yield page
    context.close()


# ---- item 1: the month in progress is not counted as "not held" ------------------------------------------------

def test_1_default_period_is_the_last_complete_quarter(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *fresh_user(demo_app.db, "xem_ky"))
    b.goto(page, demo_app.url)
    expected = metrics.last_complete("quarter", date.today())
    page.wait_for_url(re.compile(rf"ky={re.escape(expected.label)}"))
    assert date.today() > expected.end  # no month of it still in progress
    expect(page.get_by_text(period_display(expected)).first).to_be_visible()  # "Quý II/2025"


# ---- item 2: no "Select all" in the meeting form's leaders ------------------------------------------------------

def test_2_leaders_list_has_no_select_all(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *CLERK)
    b.goto(page, demo_app.at("nhap-buoi-sinh-hoat"))
    box = b.key(page, "rec_leaders")
    expect(box).to_be_visible()
    combo = box.locator("[role=combobox]").first
    first = page.get_by_role("option").first
    for _ in range(3):  # a late rerun of the form can close the list just opened: open it again
        b.idle(page)
        combo.click()
        try:
            expect(first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    expect(first).to_be_visible()
    assert "Select all" not in page.locator("body").inner_text()
    # those assigned to the cell or its commune come first, marked
    assert t("page.record.assigned_mark", lang="vi").strip() in first.inner_text()


# ---- item 5: numbers and widths in every dashboard table --------------------------------------------------------

@pytest.mark.parametrize("path", DASHBOARDS, ids=[p or "tong-quan" for p in DASHBOARDS])
def test_5_tables_show_whole_numbers_with_separators_and_fit_at_1440(demo_app, admin_page, path):
    page = admin_page
    b.goto(page, demo_app.at(f"{path}?ky=2025"))
    texts = drawn(page)
    # no whole number written with decimals ("8,00"), no count of thousands without its dot ("2147")
    assert not [s for s in texts if re.fullmatch(r"-?\d[\d.]*,00", s)]
    assert not [s for s in texts if re.fullmatch(r"\d{4,}", s) and not s.startswith(("19", "20"))
                and path not in ("chat-luong",)]  # quality lists meeting ids, which keep their plain digits
    # every table drawn whole at 1440 px: no sideways scrolling, the last column's header inside the box
    for frame in page.get_by_test_id("stDataFrame").all():
        if not frame.is_visible():
            continue
        sizes = frame.evaluate("e => { const s = e.querySelector('.dvn-scroller');"
                               " return [s.scrollWidth, s.clientWidth]; }")
        assert sizes[0] <= sizes[1] + 1, (path, sizes)


def test_5_expected_meetings_are_whole_and_counts_have_thousands(demo_app, admin_page):
    page = admin_page
    b.goto(page, demo_app.at("can-bo-phu-trach?ky=2025"))
    texts = drawn(page)
    assert "8" in texts and "8,00" not in texts  # a leader expected at two meetings a quarter all year
    b.goto(page, demo_app.at("du-hop?ky=2025"))
    texts = drawn(page)
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+", s) for s in texts), "a count over 999 has its dot"


def test_5_import_errors_table_fits_at_1440(demo_app, admin_page):
    page = admin_page
    upload_bad_meeting(page, demo_app)
    frame = page.get_by_test_id("stDataFrame").last
    expect(frame).to_be_visible()
    sizes = frame.evaluate("e => { const s = e.querySelector('.dvn-scroller');"
                           " return [s.scrollWidth, s.clientWidth]; }")
    assert sizes[0] <= sizes[1] + 1, sizes


# ---- item 6: a bad import row lists every error at once ----------------------------------------------------------

def upload_bad_meeting(page, app) -> None:
    b.goto(page, app.at("nhap-tep"))
    b.choose(page, "imp_kind", t("import.kind.meetings", lang="vi"), rerun_after=True)
    # a day not on the calendar, a negative exempt count, a word for a count, and a score of 180
    row = "DAIPHUOC-01,31/02/2025,thuong_ky,30,-1,25,abc,1,120,180,,,,,,,,"
    data = (",".join(importer.COLUMNS["meetings"]) + "\n" + row + "\n").encode()
    b.rerun(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": data}))
    b.idle(page)


def test_6_bad_import_row_lists_every_error_including_the_score(demo_app, admin_page):
    page = admin_page
    upload_bad_meeting(page, demo_app)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2)  # the preview, then the errors
    texts = drawn(page)
    for field in ("held_on", "members_exempt", "absent_excused", "score"):
        assert field in texts, field
    assert any(t("err.score_range", lang="vi") in s for s in texts)
    assert "None" not in texts


# ---- item 7: an empty install shows the first steps, and no "None" ----------------------------------------------

@pytest.fixture(scope="module")
def empty_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e_empty")
    db = folder / "empty.db"
    dbm.init(db)
    with dbm.write(db) as conn:
        users.create_user(conn, SYSTEM, "quantri", "Quản Trị", PASSWORD, "admin", [])
    app = start_app(db, folder / "streamlit.log")
    yield app
    stop_app(app)


def test_7_empty_install_shows_the_checklist_and_no_none(empty_app, new_context):
    page = recording(new_context).new_page()
    b.login(page, empty_app.url, "quantri", PASSWORD)
    b.goto(page, empty_app.at("nhap-buoi-sinh-hoat"))
    steps = b.key(page, "first_steps")
    expect(steps).to_be_visible()
    expect(steps).to_contain_text(t("page.first_steps.title", lang="vi"))
    assert "None" not in page.get_by_test_id("stMain").inner_text()
    for path in DASHBOARDS:
        b.goto(page, empty_app.at(path))
        assert "None" not in page.get_by_test_id("stMain").inner_text() and "None" not in drawn(page), path


# ---- item 8: language and period kept per user -----------------------------------------------------------------

def test_8_language_kept_after_a_reload_and_a_new_login(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *fresh_user(demo_app.db, "xem_lang"))
    b.rerun(page, lambda: b.language_link(page).click())
    b.heading(page, t("nav.overview", lang="en"))
    b.goto(page, demo_app.at("du-hop"))
    b.heading(page, t("nav.attendance", lang="en"))
    # another computer: the language follows the account
    other = new_context().new_page()
    b.login(other, demo_app.url, "xem_lang", PASSWORD)
    b.heading(other, t("nav.overview", lang="en"))


def test_8_period_kept_after_a_reload_and_a_deep_link_wins(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *fresh_user(demo_app.db, "xem_ky2"))
    b.goto(page, demo_app.at("du-hop"))
    b.choose(page, "dash_year", "2025", rerun_after=True)
    page.wait_for_url(re.compile(r"ky=2025-Q"))
    picked = re.search(r"ky=([^&]+)", page.url).group(1)
    # a reload of the bare address (no ?ky=) opens on the same period
    b.goto(page, demo_app.at("chat-luong"))
    page.wait_for_url(re.compile(rf"ky={picked}"))
    assert b.chosen(page, "dash_year") == ["2025"]
    # a deep link opens on its own period
    b.goto(page, demo_app.at("du-hop?ky=2025-03"))
    assert b.chosen(page, "dash_month") == ["03"]
    page.wait_for_url(re.compile(r"ky=2025-03"))


# ---- item 9: the overview's cards keep their order on a phone -------------------------------------------------

def test_9_phone_overview_cards_in_reading_order(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *ADMIN)  # the sidebar (and its logout button) folds away on a phone
    page.set_viewport_size(PHONE)
    b.goto(page, demo_app.at("?ky=2025"))
    # each card's box (its value's top moves with a label wrapped on two lines), read row by row
    boxes = [b.metric(page, f"dash.h_{key}").locator("xpath=ancestor::*[@data-testid='stMetric']").bounding_box()
             for key, _, _ in HEADLINES]
    order = sorted(range(len(boxes)), key=lambda i: (round(boxes[i]["y"] / 10), boxes[i]["x"]))
    assert order == list(range(len(boxes)))
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes)


# ---- item 10: the overview has a chart ------------------------------------------------------------------------------

def test_10_overview_has_a_chart(demo_app, admin_page):
    b.goto(admin_page, demo_app.at("?ky=2025"))
    expect(admin_page.get_by_test_id("stVegaLiteChart").first).to_be_visible()


# ---- item 11: presentation mode's seconds box has a label -------------------------------------------------------

def test_11_presentation_seconds_box_is_labelled(demo_app, admin_page):
    page = admin_page
    b.goto(page, demo_app.at("trinh-chieu"))
    expect(b.key(page, "pres_seconds").get_by_test_id("stWidgetLabel")).to_have_text(t("dash.p_seconds", lang="vi"))


# ---- item 12: the audit log in words, no raw JSON ----------------------------------------------------------------

def test_12_audit_page_shows_no_raw_json(demo_app, admin_page):
    page = admin_page
    b.goto(page, demo_app.at("nhat-ky"))
    texts = drawn(page)
    assert texts, "the audit table drew something"
    assert not [s for s in texts if s.lstrip().startswith(("{", "[")) or '":' in s or s == "null"]


# ---- item 13: the import template holds a lookup sheet of real codes ---------------------------------------------

def test_13_template_has_the_clerks_cells_in_a_lookup_sheet(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *CLERK)
    b.goto(page, demo_app.at("nhap-tep"))
    b.choose(page, "imp_kind", t("import.kind.meetings", lang="vi"), rerun_after=True)
    with page.expect_download() as info:
        b.key(page, "imp_template").get_by_role("button").click()
    book = load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    assert t("import.template.lookup_sheet", lang="vi") in book.sheetnames
    cells = {str(c.value) for row in book[t("import.template.lookup_sheet", lang="vi")].iter_rows() for c in row}
    assert "DAIPHUOC-01" in cells and "CB01" not in cells


# ---- item 14: the users table names units --------------------------------------------------------------------------

def test_14_users_table_shows_unit_names_not_codes(demo_app, admin_page):
    page = admin_page
    b.goto(page, demo_app.at("nguoi-dung"))
    texts = drawn(page)
    assert any("Xã Đại Phước" in s for s in texts)
    assert not any(re.search(r"\bDAIPHUOC\b", s) for s in texts)


# ---- the clerk's to-do and the reminders ---------------------------------------------------------------------------

def test_clerk_landing_shows_the_to_do_and_the_menu_counts_reminders(demo_app, new_context):
    page = new_context().new_page()
    b.login(page, demo_app.url, *CLERK)
    todo = metrics.todo(demo_app.db, CLERK[0])
    count = metrics.reminders(demo_app.db, CLERK[0])["count"]
    today = date.today()
    expect(page.get_by_test_id("stExpander").first).to_contain_text(t(
        "ux.todo.title", month=f"{today.month:02d}/{today.year}", missing=len(todo["missing"]),
        upcoming=len(todo["upcoming"]), reports=len(todo["reports"]), lang="vi"))
    link = page.get_by_test_id("stSidebarNav").get_by_role("link").filter(has_text=t("ux.nav.reminders", lang="vi"))
    expect(link).to_contain_text(f"({count})" if count else t("ux.nav.reminders", lang="vi"))
    b.rerun(page, lambda: link.click())
    b.heading(page, t("ux.nav.reminders", lang="vi"))


# ---- many communes: all, top and bottom ten, and a search --------------------------------------------------------

@pytest.fixture(scope="module")
def province_app(tmp_path_factory):
    """80 communes of one cell each; the cell of commune n held last month's meeting with 20 + n % 9 present."""
    folder = tmp_path_factory.mktemp("e2e_province")
    db = folder / "province.db"
    dbm.init(db)
    month = date.today().replace(day=1) - timedelta(days=1)
    with dbm.write(db) as conn:
        users.create_user(conn, SYSTEM, "quantri", "Quản Trị", PASSWORD, "admin", [])
        for n in range(1, 81):
            unit = directory.create_unit(conn, SYSTEM, {"code": f"X{n:02d}", "name": f"Xã Số {n:02d}", "kind": "xa"})
            cell = directory.create_cell(conn, SYSTEM, {"code": f"X{n:02d}-A", "unit_id": unit, "name": f"Ấp {n}",
                                                        "cell_type": "ap_khom", "meeting_day": 5,
                                                        "valid_from": "2020-01-01"})
            present = 20 + n % 9
            meetings.create(conn, SYSTEM, {"cell_id": cell, "held_on": month.replace(day=5).isoformat(),
                                           "mtype": "thuong_ky", "members_total": 30, "members_exempt": 2,
                                           "present": present, "absent_excused": 28 - present,
                                           "absent_unexcused": 0, "duration_minutes": 120}, [])
    app = start_app(db, folder / "streamlit.log")
    app.state["month"] = f"{month.year}-{month.month:02d}"
    yield app
    stop_app(app)


def test_many_communes_top_bottom_and_search(province_app, new_context):
    page = recording(new_context).new_page()
    b.login(page, province_app.url, "quantri", PASSWORD)
    b.goto(page, province_app.at(f"du-hop?ky={province_app.state['month']}"))
    rank = b.key(page, "att_units_rank")
    expect(rank).to_be_visible()
    expect(page.get_by_text(t("ux.rank.count", shown=80, total=80, lang="vi"))).to_be_visible()
    # the ten lowest: 20 present of 28 (n a multiple of 9: 9, 18, ... 72) and then 21 (n = 1, 10, 19)
    forget(page)
    b.rerun(page, lambda: rank.get_by_text(t("ux.rank.bottom", n=10, by=t("chart.rate", lang="vi"), lang="vi")).click())
    expect(page.get_by_text(t("ux.rank.count", shown=10, total=80, lang="vi"))).to_be_visible()
    texts = drawn(page)
    for n in (9, 18, 27, 36, 45, 54, 63, 72):
        assert f"Xã Số {n:02d}" in texts, n
    # a search by name, accents optional
    b.rerun(page, lambda: rank.get_by_text(t("ux.rank.all", n=10, by="", lang="vi")).click())
    b.fill(page, "att_units_find", "xa so 7", submit=True)
    expect(page.get_by_text(t("ux.rank.count", shown=10, total=80, lang="vi"))).to_be_visible()  # 70 to 79
