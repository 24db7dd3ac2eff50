"""The app shell through AppTest from app.py: first-run setup, login and lockout, the re-login cookie,
navigation per role, refused pages, logout, and the admin pages (users, settings, audit, account)."""

from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

from lib import audit, auth, meetings, nav, settings, users
from lib import db as dbm
from lib.domain import SYSTEM, Role
from lib.i18n import t
from tests.factories import meeting, small_directory
from tests.helpers import app_test, current_page, fast_hashing, log_out, login, make_user, nav_files, page_test

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def quick_bcrypt(monkeypatch):
    fast_hashing(monkeypatch)


def existing(role: str) -> list[str]:
    """The role's pages in menu order, leaving out pages not written yet."""
    return [p.file for p in nav.pages_for(role) if (ROOT / p.file).is_file()]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def on_login_page(at: AppTest) -> bool:
    return current_page(at) == "pages/login.py" and at.button(key="login_submit") is not None


def audit_actions(path, **filters) -> list[tuple[str, str]]:
    with dbm.read(path) as db:
        return [(e["username"], e["action"]) for e in reversed(audit.entries(db, **filters))]


def fill_setup(at: AppTest, username="quantri", password="Matkhau123", confirm="Matkhau123") -> AppTest:
    # who we are (branch bodies: the organisation's name is its committee, asked with its issuing body)
    at.selectbox(key="setup_home_kind").set_value("xa")
    at.text_input(key="setup_home_code").input("XA-TC")
    at.text_input(key="setup_home_name").input("Đảng bộ xã Tiểu Cần")
    at.text_input(key="setup_committee").input("Đảng ủy xã Tiểu Cần")
    at.text_input(key="setup_full_name").input("Trần Văn Hai")
    at.text_input(key="setup_username").input(username)
    at.text_input(key="setup_password").input(password)
    at.text_input(key="setup_confirm").input(confirm)
    return at.button(key="setup_submit").click().run()


# ---- first run --------------------------------------------------------------------------

def test_empty_database_shows_setup_and_completing_it_creates_the_admin(db_path):
    at = app_test(db_path).run()
    assert nav_files(at) == {"pages/setup.py"} and current_page(at) == "pages/setup.py"
    fill_setup(at)
    assert not at.exception
    assert on_login_page(at) and nav_files(at) == {"pages/login.py"}
    assert at.success[0].value == t("page.setup.done")
    with dbm.read(db_path) as db:
        admin = users.get_user(db, "quantri")
        assert settings.get_settings(db)["org_name"] == "Đảng ủy xã Tiểu Cần"
    assert (admin["full_name"], admin["role"], admin["active"]) == ("Trần Văn Hai", "admin", 1)
    assert admin["password_hash"].startswith("$2b$")
    login(at, "quantri", "Matkhau123")
    assert current_page(at) == existing("admin")[0]


def test_setup_with_demo_data_loads_it_beside_the_new_admin(db_path):
    at = app_test(db_path).run()
    at.checkbox(key="setup_demo").check()
    fill_setup(at)
    assert not at.exception and on_login_page(at)
    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from meetings").fetchone()[0] > 0
        # issue 14: the demo's accounts (README passwords) are not created from the setup page
        assert [u["username"] for u in db.query("select username from users")] == ["quantri"]
    assert current_page(login(at, "quantri", "Matkhau123")) == existing("admin")[0]


def test_setup_refusal_names_the_field_and_creates_nothing(db_path):
    at = fill_setup(app_test(db_path).run(), confirm="Matkhau124")
    assert errors(at) == [f'{t("auth.field.password_confirm")}: {t("auth.err.password_mismatch")}']
    assert current_page(at) == "pages/setup.py"
    with dbm.read(db_path) as db:
        assert users.count_users(db) == 0


# ---- login and lockout --------------------------------------------------------------------

def test_wrong_password_shows_an_error(db_path):
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau124")
    assert errors(at) == [t("auth.bad")]
    assert on_login_page(at)
    assert at.session_state["authentication_status"] is None


def test_right_password_reaches_the_dashboard(db_path):
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau123")
    assert current_page(at) == existing("admin")[0]
    assert existing("admin")[0] == "pages/overview.py" or not (ROOT / "pages/overview.py").exists()
    assert "**Quantri**" in at.sidebar.markdown[0].value
    assert at.sidebar.caption[0].value == Role.ADMIN.label
    assert audit_actions(db_path)[-1] == ("quantri", "login")


def test_sixth_try_refused_even_with_the_right_password_and_after_a_restart(db_path):
    make_user(db_path, "thuky", "clerk")
    at = app_test(db_path)
    for _ in range(4):
        assert errors(login(at, "thuky", "sai")) == [t("auth.bad")]
    assert t("auth.locked").split("{")[0] in errors(login(at, "thuky", "sai"))[0]
    at = login(at, "thuky", "Matkhau123")
    assert t("auth.locked").split("{")[0] in errors(at)[0]
    assert on_login_page(at)
    restarted = login(app_test(db_path), "thuky", "Matkhau123")
    assert t("auth.locked").split("{")[0] in errors(restarted)[0]
    assert on_login_page(restarted)
    assert audit_actions(db_path, username="thuky") == [("thuky", "login_failed")] * 5 + [("thuky", "login_locked")] * 2
    # An admin's password reset lifts the lock.
    with dbm.write(db_path) as db:
        users.set_password(db, SYSTEM, "thuky", "Matkhau456")
    assert current_page(login(app_test(db_path), "thuky", "Matkhau456")) == existing("clerk")[0]


# ---- navigation by role --------------------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_navigation_holds_exactly_the_roles_pages(db_path, role):
    make_user(db_path, "nguoidung", role)
    at = login(app_test(db_path), "nguoidung", "Matkhau123")
    assert nav_files(at) == set(existing(role))
    for spec in nav.PAGES:
        if (ROOT / spec.file).is_file() and role not in spec.roles:
            with pytest.raises(ValueError):
                at.switch_page(spec.file)


def test_logged_out_navigation_is_only_the_login_page(db_path):
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path).run()
    assert nav_files(at) == {"pages/login.py"}
    with pytest.raises(ValueError):
        at.switch_page("pages/users.py")


def test_role_is_read_from_the_database_on_every_run(db_path):
    make_user(db_path, "xem", "viewer")
    at = login(app_test(db_path), "xem", "Matkhau123")
    at.session_state["roles"] = ["admin"]  # what streamlit-authenticator keeps; it grants nothing here
    at.run()
    assert "pages/users.py" not in nav_files(at)
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "xem", role="admin")
    at.run()
    assert nav_files(at) == set(existing("admin"))


def test_page_outside_the_role_shows_nothing_once_the_role_is_taken_away(db_path):
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau123")
    at.switch_page("pages/users.py").run()
    assert at.button(key="users_new_submit") is not None
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "quantri", role="viewer")
    at.run()
    assert current_page(at) != "pages/users.py"
    assert "users_new_submit" not in [b.key for b in at.button]


@pytest.mark.parametrize(
    "role, page",
    [(r, p.file) for r in (Role.VIEWER, Role.CLERK) for p in nav.PAGES
     if r not in p.roles and p.roles <= nav.WRITERS and (ROOT / p.file).is_file()],
)
def test_write_pages_check_the_role_again(db_path, role, page):
    make_user(db_path, "nguoidung", role)
    at = page_test(page, "nguoidung").run()
    assert errors(at) == [t("perm.forbidden")]
    assert not at.exception
    assert len(at.button) == 0


def test_clerk_save_for_another_commune_is_refused_and_nothing_written(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "thuky", "clerk", [ids["u1"]])
    script = f"""
from lib import meetings, ui
from tests.factories import meeting
ui.write(meetings.create, meeting({ids["c2"]}, "2025-04-10"))
"""
    at = AppTest.from_string(script, default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "thuky"
    at.run()
    assert errors(at) == [t("perm.out_of_scope", unit="Xã Đại Phước")]
    with dbm.read(db_path) as db:
        assert meetings.list_meetings(db) == []
        assert audit.entries(db, table_name="meetings") == []
    with dbm.write(db_path) as db:  # the same save inside the clerk's own unit goes through
        meetings.create(db, users.actor_for(db, "thuky"), meeting(ids["c1"], "2025-04-30"))


# ---- session end -----------------------------------------------------------------------------

def test_logout_returns_to_the_login_page(db_path):
    make_user(db_path, "thuky", "clerk")
    at = login(app_test(db_path), "thuky", "Matkhau123")
    log_out(at)
    assert on_login_page(at) and nav_files(at) == {"pages/login.py"}
    assert at.session_state["username"] is None
    assert audit_actions(db_path)[-2:] == [("thuky", "login"), ("thuky", "logout")]
    at.run()
    assert on_login_page(at)


def test_deactivated_user_is_logged_out_on_the_next_run(db_path):
    make_user(db_path, "quantri", "admin")
    make_user(db_path, "thuky", "clerk")
    at = login(app_test(db_path), "thuky", "Matkhau123")
    assert current_page(at) == existing("clerk")[0]
    with dbm.write(db_path) as db:
        users.update_user(db, users.actor_for(db, "quantri"), "thuky", active=0)
    at.run()
    assert on_login_page(at)


def cookie(path, username, key=None, days=1) -> str:
    with dbm.read(path) as db:
        key = key or settings.cookie_key(db)
    return jwt.encode({"username": username, "exp_date": (datetime.now() + timedelta(days=days)).timestamp()},
                      key, algorithm="HS256")


@pytest.mark.parametrize(
    "make_token, logged_in",
    [
        (lambda p: cookie(p, "thuky"), True),
        (lambda p: cookie(p, "thuky", key="khoa-gia-mao-khong-dung-khoa-that"), False),
        (lambda p: cookie(p, "thuky", days=-1), False),
        (lambda p: cookie(p, "khongco"), False),
        (lambda p: cookie(p, "khoa"), False),
    ],
)
def test_cookie_logs_back_in_after_a_reload(db_path, monkeypatch, make_token, logged_in):
    make_user(db_path, "thuky", "clerk")
    make_user(db_path, "khoa", "clerk")
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "khoa", active=0)
    token = make_token(db_path)
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: {auth.COOKIE_NAME: token}))
    at = app_test(db_path).run()
    assert on_login_page(at) != logged_in
    if logged_in:
        assert current_page(at) == existing("clerk")[0]


def test_password_reset_voids_earlier_cookies(db_path, monkeypatch):
    make_user(db_path, "thuky", "clerk")
    token = cookie(db_path, "thuky", days=6)  # issued a day ago (cookies last 7 days)
    with dbm.write(db_path) as db:
        users.set_password(db, SYSTEM, "thuky", "Matkhau-moi-2025")
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: {auth.COOKIE_NAME: token}))
    assert on_login_page(app_test(db_path).run())


def test_logout_voids_earlier_cookies_even_if_the_browser_keeps_them(db_path, monkeypatch):
    make_user(db_path, "thuky", "clerk")
    token = cookie(db_path, "thuky", days=6)  # issued a day ago
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: {auth.COOKIE_NAME: token}))
    at = app_test(db_path).run()
    assert not on_login_page(at)  # the cookie logs in ...
    log_out(at)
    assert on_login_page(at)
    # ... and after logout the same cookie, still in the browser, no longer does.
    assert on_login_page(app_test(db_path).run())


def test_successful_login_sets_the_cookie_and_logout_deletes_it(db_path):
    make_user(db_path, "thuky", "clerk")
    at = login(app_test(db_path), "thuky", "Matkhau123")
    # streamlit-authenticator's cookie manager is a component; its "set"/"delete" calls show as elements.
    assert "set" in [getattr(e, "key", None) for e in at.main.children.values()]
    log_out(at)
    assert "delete" in [getattr(e, "key", None) for e in at.main.children.values()]


def test_language_switch_changes_the_labels(db_path):
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path).run()
    assert at.button(key="login_submit").label == "Đăng nhập"
    at.sidebar.radio(key="lang_pick").set_value("en").run()
    assert at.button(key="login_submit").label == "Log in"
    assert at.text_input(key="login_username").label == "Username"


# ---- admin pages -------------------------------------------------------------------------------

@pytest.fixture
def admin_at(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau123")
    at.ids = ids
    return at


def test_users_page_creates_a_clerk_with_units(db_path, admin_at):
    at = admin_at.switch_page("pages/users.py").run()
    at.text_input(key="users_new_username").input("thuky2")
    at.text_input(key="users_new_full_name").input("Lê Thị Ba")
    at.selectbox(key="users_new_role").set_value("clerk")
    at.multiselect(key="users_new_units").set_value([at.ids["u2"]])
    at.text_input(key="users_new_password").input("Matkhau456")
    at.text_input(key="users_new_confirm").input("Matkhau456")
    at.button(key="users_new_submit").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == t("page.users.created", username="thuky2")
    with dbm.read(db_path) as db:
        assert users.actor_for(db, "thuky2") == users.Actor("thuky2", "clerk", frozenset({at.ids["u2"]}))
    assert audit_actions(db_path, table_name="users")[-1] == ("quantri", "create")


def test_users_page_shows_refusals(db_path, admin_at):
    at = admin_at.switch_page("pages/users.py").run()
    at.text_input(key="users_new_username").input("quantri")
    at.text_input(key="users_new_full_name").input("Trùng Tên")
    at.text_input(key="users_new_password").input("ngan")
    at.text_input(key="users_new_confirm").input("ngan")
    at.button(key="users_new_submit").click().run()
    assert errors(at) == [f'{t("field.username")}: {t("err.username_taken", value="quantri")}',
                          f'{t("field.password")}: {t("err.weak_password")}']
    with dbm.read(db_path) as db:
        assert users.count_users(db) == 1


def test_users_page_deactivates_changes_role_and_resets_password(db_path, admin_at):
    make_user(db_path, "xem", "viewer")
    at = admin_at.switch_page("pages/users.py").run()
    at.selectbox(key="users_edit_pick").set_value("xem").run()
    at.selectbox(key="users_edit_role_xem").set_value("clerk")
    at.multiselect(key="users_edit_units_xem").set_value([at.ids["u1"]])
    at.checkbox(key="users_edit_active_xem").uncheck()
    at.button(key="users_edit_submit").click().run()
    assert at.success[0].value == t("page.users.updated", username="xem")
    with dbm.read(db_path) as db:
        row = users.get_user(db, "xem")
    assert (row["role"], row["active"], row["unit_ids"]) == ("clerk", 0, [at.ids["u1"]])
    at.selectbox(key="users_password_pick").set_value("xem").run()
    at.text_input(key="users_password_new").input("Matkhau789")
    at.text_input(key="users_password_confirm").input("Matkhau789")
    at.button(key="users_password_submit").click().run()
    assert at.success[0].value == t("page.users.password_reset", username="xem")
    with dbm.read(db_path) as db:
        assert users.check_password("Matkhau789", users.get_user(db, "xem")["password_hash"])


def test_settings_page_saves_and_refuses_out_of_order_thresholds(db_path, admin_at):
    at = admin_at.switch_page("pages/settings.py").run()
    at.number_input(key="settings_threshold_kha").set_value(95)
    at.button(key="settings_submit").click().run()
    assert errors(at) == [f'{t("page.settings.threshold_kha")}: '
                          f'{t("page.settings.err.order", tot=90, kha=95, trung_binh=50)}']
    at.number_input(key="settings_threshold_kha").set_value(75)
    at.number_input(key="settings_attendance").set_value(80)
    at.text_input(key="settings_org_name").input("Huyện ủy Càng Long (mới)")
    at.button(key="settings_submit").click().run()
    assert at.success[0].value == t("page.settings.saved")
    with dbm.read(db_path) as db:
        values = settings.get_settings(db)
    assert (values["threshold_kha"], values["attendance_threshold"], values["org_name"]) == \
        ("75", "0.8", "Huyện ủy Càng Long (mới)")


def test_audit_page_filters_and_shows_before_and_after(db_path, admin_at):
    with dbm.write(db_path) as db:
        users.create_user(db, users.actor_for(db, "quantri"), "xem", "Người Xem", "Matkhau456", "viewer")
        users.update_user(db, users.actor_for(db, "quantri"), "xem", full_name="Người Xem Mới")
    at = admin_at.switch_page("pages/audit.py").run()
    at.selectbox(key="audit_user").set_value("quantri")
    at.selectbox(key="audit_table").set_value("users").run()
    frame = at.dataframe[0].value
    assert list(frame[t("page.audit.action")]) == [t("page.audit.actions.update"), t("page.audit.actions.create")]
    assert not at.exception
    # The change in words (issue 16 item 12; the page showed raw JSON before): only the field that changed.
    assert f'- {t("field.full_name")}\\: Người Xem → Người Xem Mới' in [m.value for m in at.main.markdown]
    assert not at.json


def test_account_page_changes_own_password(db_path):
    make_user(db_path, "xem", "viewer")
    at = login(app_test(db_path), "xem", "Matkhau123")
    at.switch_page("pages/account.py").run()
    at.text_input(key="account_current").input("sai")
    at.text_input(key="account_new").input("Matkhau456")
    at.text_input(key="account_confirm").input("Matkhau456")
    at.button(key="account_submit").click().run()
    assert errors(at) == [f'{t("auth.field.current_password")}: {t("auth.err.wrong_password")}']
    at.text_input(key="account_current").input("Matkhau123")
    at.text_input(key="account_new").input("Matkhau456")
    at.text_input(key="account_confirm").input("Matkhau456")
    at.button(key="account_submit").click().run()
    assert at.success[0].value == t("page.account.changed")
    with dbm.read(db_path) as db:
        assert users.check_password("Matkhau456", users.get_user(db, "xem")["password_hash"])
