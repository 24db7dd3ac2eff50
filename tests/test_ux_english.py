"""Issue 16, items 3, 12 and 14: Vietnamese words in Streamlit's widgets, the audit log in words, a warning for
a clerk with no unit, unit names in the users table, a calm focus colour."""

import tomllib
from pathlib import Path

import pytest

from lib import db as dbm
from lib import users
from lib.domain import SYSTEM, FieldWarning, Role
from lib.i18n import language, t
from tests.factories import small_directory
from tests.helpers import app_test, fast_hashing, login, make_user

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def quick_bcrypt(monkeypatch):
    fast_hashing(monkeypatch)


@pytest.fixture
def admin_at(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "quantri", "admin")
    at = login(app_test(db_path), "quantri", "Matkhau123")
    at.ids = ids
    return at


# ---- item 14: a clerk with no unit, unit names, the focus colour -----------------------------------------

def test_a_clerk_created_without_a_unit_is_saved_with_a_warning(db_path):
    with dbm.write(db_path) as db:
        warned = users.create_user(db, SYSTEM, "thuky", "Lê Văn Ba", "Matkhau456", Role.CLERK, [])
        quiet = users.create_user(db, SYSTEM, "xem", "Trần Thị Tư", "Matkhau456", Role.VIEWER, [])
    assert warned == [FieldWarning("unit_ids", "clerk_no_units")]
    assert quiet == []
    with dbm.read(db_path) as db:
        assert users.get_user(db, "thuky")["role"] == "clerk"  # allowed, only pointless


def test_turning_a_viewer_into_a_clerk_without_units_warns_and_giving_a_unit_does_not(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "xem", "viewer")
    with dbm.write(db_path) as db:
        assert users.update_user(db, SYSTEM, "xem", role="clerk") == [FieldWarning("unit_ids", "clerk_no_units")]
        assert users.update_user(db, SYSTEM, "xem", unit_ids=[ids["u1"]]) == []


def test_users_page_warns_after_creating_a_clerk_with_no_unit(db_path, admin_at):
    at = admin_at.switch_page("pages/users.py").run()
    at.text_input(key="users_new_username").input("thuky2")
    at.text_input(key="users_new_full_name").input("Lê Thị Ba")
    at.selectbox(key="users_new_role").set_value("clerk")
    at.text_input(key="users_new_password").input("Matkhau456")
    at.text_input(key="users_new_confirm").input("Matkhau456")
    at.button(key="users_new_submit").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == "Đã thêm người dùng thuky2."
    assert [w.value for w in at.warning] == [
        "Đơn vị phụ trách nhập liệu: cán bộ nhập liệu chưa được giao đơn vị nào nên đăng nhập được nhưng không "
        "nhập được hồ sơ nào; hãy chọn ít nhất một đơn vị (vẫn lưu được khi để trống)."]
    at.run()  # the warning belongs to that save only
    assert not at.warning


def test_users_page_saving_a_clerk_with_a_unit_shows_no_warning(db_path, admin_at):
    at = admin_at.switch_page("pages/users.py").run()
    at.text_input(key="users_new_username").input("thuky3")
    at.text_input(key="users_new_full_name").input("Lê Thị Năm")
    at.selectbox(key="users_new_role").set_value("clerk")
    at.multiselect(key="users_new_units").set_value([at.ids["u1"]])
    at.text_input(key="users_new_password").input("Matkhau456")
    at.text_input(key="users_new_confirm").input("Matkhau456")
    at.button(key="users_new_submit").click().run()
    assert at.success and not at.warning


def test_list_users_gives_unit_names_in_code_order(db_path):
    ids = small_directory(db_path)
    make_user(db_path, "thuky", "clerk", [ids["u1"], ids["u2"]])
    make_user(db_path, "xem", "viewer")
    with dbm.read(db_path) as db:
        rows = {r["username"]: r["units"] for r in users.list_users(db)}
    assert rows == {"thuky": "Xã Đại Phước, Xã Nhị Long", "xem": None}


def test_users_table_shows_unit_names(db_path, admin_at):
    make_user(db_path, "thuky", "clerk", [admin_at.ids["u1"]])
    at = admin_at.switch_page("pages/users.py").run()
    table = at.dataframe[0].value
    row = table[table[t("field.username")] == "thuky"].iloc[0]
    assert row[t("page.users.units")] == "Xã Nhị Long"


@pytest.mark.parametrize("path", [".streamlit/config.toml", "deploy/streamlit-config.toml"])
def test_theme_primary_colour_is_not_an_alarm_red(path):
    theme = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))["theme"]
    red, green, blue = (int(theme["primaryColor"][i:i + 2], 16) for i in (1, 3, 5))
    # A focused select box is outlined in primaryColor; errors are drawn in red, so the primary is not red.
    assert not (red > 150 and green < 80 and blue < 80), theme["primaryColor"]
    with language("en"):
        assert t("field.unit_ids") == "Units they enter data for"
