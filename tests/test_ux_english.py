"""Issue 16, items 3, 12 and 14: Vietnamese words in Streamlit's widgets, the audit log in words, a warning for
a clerk with no unit, unit names in the users table, a calm focus colour."""

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import audit, directory, i18n, users
from lib import db as dbm
from lib.domain import SYSTEM, FieldWarning, Role
from lib.i18n import language, t
from tests.factories import add_meeting, small_directory
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


def test_command_line_creates_a_clerk_with_no_unit_and_says_why_it_is_pointless(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "x.db"
    done = subprocess.run([sys.executable, "-m", "lib", "--db", str(path), "create-user", "thuky", "--role",
                           "clerk", "--password-stdin"], input="Matkhau-2025\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f'{t("field.unit_ids")}: {t("warn.clerk_no_units")}'


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


# ---- item 12: the audit log in words -----------------------------------------------------------------------

def entry(action, table=None, before=None, after=None) -> dict:
    return {"action": action, "table_name": table, "before_json": json.dumps(before) if before else None,
            "after_json": json.dumps(after) if after else None}


CELL = {"cell_type": "ap_khom", "code": "TTCL-01", "id": 1, "meeting_day": 22, "name": "Khóm 1",
        "successor_id": None, "unit_id": 1, "valid_from": "2024-01-01", "valid_to": None,
        "updated_at": "2025-06-01T08:00:00"}
NAMES = {("units", 1): "Thị trấn Càng Long", ("cells", 170): "Khóm 1 (mới)", ("leaders", 3): "Nguyễn Văn An"}


def test_an_update_reads_field_old_new_in_words():
    after = {**CELL, "name": "Khóm Một", "valid_to": "2025-06-30", "successor_id": 170, "cell_type": "co_quan",
             "updated_at": "2025-07-01T09:30:00"}
    assert audit.describe(entry("update", "cells", CELL, after), NAMES) == [
        "Tên: Khóm 1 → Khóm Một",
        "Hiệu lực đến ngày: → 30/06/2025",
        "Kế thừa (đơn vị hoặc chi bộ): → Khóm 1 (mới)",
        "Loại chi bộ: Chi bộ ấp, khóm → Chi bộ cơ quan",
    ]
    with language("en"):
        assert audit.describe(entry("update", "cells", CELL, {**CELL, "name": "Khóm Một", "meeting_day": None}),
                              NAMES) == ["Name: Khóm 1 → Khóm Một", "Fixed meeting day: 22 →"]


def test_a_created_meeting_lists_its_main_fields_with_labels_dates_and_thousands():
    after = {"id": 9, "cell_id": 170, "held_on": "2025-03-05", "mtype": "thuong_ky", "members_total": 1200,
             "members_exempt": 0, "present": 1150, "absent_excused": 50, "absent_unexcused": 0, "score": None,
             "rating": "tot", "leadership": 1, "education": 0, "notes": None, "created_by": "thuky",
             "created_at": "2025-03-05T10:00:00", "deleted_at": None}
    assert audit.describe(entry("create", "meetings", None, after), NAMES) == [
        "Chi bộ: Khóm 1 (mới)",
        "Ngày sinh hoạt: 05/03/2025",
        "Loại sinh hoạt: Thường kỳ",
        "Tổng số đảng viên: 1.200",
        "Số miễn sinh hoạt: 0",
        "Số có mặt: 1.150",
        "Vắng có lý do: 50",
        "Vắng không lý do: 0",
        "Xếp loại: Tốt",
        "Tính lãnh đạo: có",
        "Tính giáo dục: không",
    ]


def test_a_deleted_weakness_lists_what_was_deleted():
    before = {"id": 4, "unit_id": 1, "category": "not_held", "noted_on": "2025-05-02", "noted_by": 3,
              "severity": "high", "status": "open", "due_on": None, "description": "Tháng 4 không họp"}
    after = {**before, "deleted_at": "2025-05-03T07:00:00"}
    assert audit.describe(entry("delete", "weaknesses", before, after), NAMES) == [
        "Đảng bộ xã, phường: Thị trấn Càng Long",
        "Loại hạn chế: Không tổ chức sinh hoạt",
        "Mô tả: Tháng 4 không họp",
        "Ngày ghi nhận: 02/05/2025",
        "Người ghi nhận: Nguyễn Văn An",
        "Mức độ: Cao",
        "Tình trạng: Chưa khắc phục",
    ]


def test_a_user_change_names_role_units_and_the_active_flag():
    before = {"username": "xem", "full_name": "Người Xem", "role": "viewer", "active": 1, "unit_ids": [],
              "locked_until": None}
    after = {**before, "role": "clerk", "active": 0, "unit_ids": [1], "logged_out_at": "2025-06-02T14:05:09"}
    assert audit.describe(entry("update", "users", before, after), NAMES) == [
        "Đang hoạt động: có → không",
        "Vai trò: Người xem (Thường vụ) → Cán bộ nhập liệu",
        "Đơn vị phụ trách nhập liệu: → Thị trấn Càng Long",
        "Đăng xuất mọi phiên lúc: → 02/06/2025 14:05",
    ]


def test_the_demo_entry_and_a_login_read_in_words():
    counts = {"assignments": 42, "cells": 195, "meetings": 5601, "meetings_requested": None, "seed": 42,
              "today": "2026-12-03", "units": 17, "users": 3}
    assert audit.action_label("demo") == "Nạp dữ liệu mẫu"
    assert audit.describe(entry("demo", None, None, counts)) == [
        "Phân công: 42", "Chi bộ: 195", "Buổi sinh hoạt: 5.601", "Số khởi tạo ngẫu nhiên: 42",
        "Ngày nạp dữ liệu: 03/12/2026", "Đơn vị: 17", "Người dùng: 3"]
    assert audit.describe(entry("login")) == []


def test_every_action_the_code_logs_is_translated_in_both_languages():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "lib").glob("*.py"))
    logged = set(re.findall(r'audit\.record\([^,]+, [^,]+, "(\w+)"', source))
    # The login outcomes are passed to audit.record through a variable; they are named in lib/users.py.
    logged |= set(re.findall(r'"(login_\w+)"', (ROOT / "lib" / "users.py").read_text(encoding="utf-8")))
    assert {"create", "update", "delete", "restore", "demo", "login", "logout", "password", "login_failed",
            "login_flood"} <= logged
    for lang in ("vi", "en"):
        missing = [a for a in logged if not i18n.has(f"page.audit.actions.{a}", lang)]
        assert not missing, (lang, missing)


def test_reference_names_reads_the_names_of_units_cells_leaders_and_meetings(db_path):
    ids = small_directory(db_path)
    meeting_id = add_meeting(db_path, ids["c1"], "2025-04-30")
    rows = [entry("update", "cells", {"unit_id": ids["u1"], "successor_id": None},
                  {"unit_id": ids["u2"], "successor_id": ids["c2"]}),
            entry("create", "weaknesses", None, {"noted_by": ids["l1"], "meeting_id": meeting_id})]
    with dbm.read(db_path) as db:
        names = audit.reference_names(db, rows)
    assert names == {("units", ids["u1"]): "Xã Nhị Long", ("units", ids["u2"]): "Xã Đại Phước",
                     ("cells", ids["c2"]): "Chi bộ ấp Long Hòa", ("leaders", ids["l1"]): "Nguyễn Văn An",
                     ("meetings", meeting_id): f"buổi số {meeting_id} ngày 30/04/2025"}
    assert audit.describe(rows[0], names) == ["Kế thừa (đơn vị hoặc chi bộ): → Chi bộ ấp Long Hòa",
                                              "Đảng bộ xã, phường: Xã Nhị Long → Xã Đại Phước"]


def test_audit_page_shows_changes_in_words_and_no_raw_json(db_path, admin_at):
    with dbm.write(db_path) as db:
        directory.update(db, users.actor_for(db, "quantri"), "units", admin_at.ids["u1"],
                         {"name": "Xã Nhị Long (mới)", "kind": "thi_tran"})
        audit.record(db, SYSTEM, "demo", None, None, None, {"units": 2, "seed": 42})
    at = admin_at.switch_page("pages/audit.py").run()
    assert not at.exception
    frame = at.dataframe[0].value
    first = frame.iloc[0]
    assert first[t("page.audit.action")] == "Nạp dữ liệu mẫu"
    assert first[t("page.audit.what")] == "Số khởi tạo ngẫu nhiên: 42; Đơn vị: 2"
    assert first[t("page.audit.table")] == ""  # not "(phiên đăng nhập)"
    second = frame.iloc[1]
    assert second[t("page.audit.what")] == "Tên: Xã Nhị Long → Xã Nhị Long (mới); Loại đơn vị: Xã → Thị trấn"
    assert not at.json
    at.selectbox(key="audit_pick").set_value(int(second[t("page.audit.id")])).run()
    # Escaped Markdown (the values are users' text): "\\:" and "\\(" show as ":" and "(".
    assert "- Tên\\: Xã Nhị Long → Xã Nhị Long \\(mới\\)\n- Loại đơn vị\\: Xã → Thị trấn" in \
        [m.value for m in at.main.markdown]


# ---- item 3: Streamlit's widgets in Vietnamese ----------------------------------------------------------------

def _calls(name: str) -> list[tuple[str, ast.Call]]:
    found = []
    for path in [ROOT / "app.py", ROOT / "lib" / "ui.py", *(ROOT / "pages").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords}


def test_every_multiselect_has_our_placeholder_and_no_english_select_all():
    calls = _calls("multiselect")
    assert len(calls) >= 6
    for where, call in calls:
        kw = _keywords(call)
        assert "placeholder" in kw, f"{where}: Streamlit would write 'Choose options' / 'No options to select'"
        assert isinstance(kw.get("select_all"), ast.Constant) and kw["select_all"].value is False, \
            f"{where}: Streamlit would offer 'Select all' in English"


def test_every_selectbox_that_can_show_its_placeholder_has_ours():
    # Streamlit shows a selectbox's placeholder when nothing is chosen (index=None) or the list is empty.
    for where, call in _calls("selectbox"):
        kw = _keywords(call)
        if isinstance(kw.get("index"), ast.Constant) and kw["index"].value is None:
            assert "placeholder" in kw, where


def test_users_page_widgets_carry_vietnamese_placeholders(db_path, admin_at):
    at = admin_at.switch_page("pages/users.py").run()
    units = at.multiselect(key="users_new_units").proto
    assert (units.placeholder, units.select_all) == ("Chọn một hoặc nhiều mục", 0)
    assert at.selectbox(key="users_edit_pick").proto.placeholder == "Chọn một mục"


def _widget_css(lang: str) -> str:
    at = AppTest.from_string(f"from lib import i18n, ui\ni18n.set_language({lang!r})\nui.widget_words()\n")
    at.run()
    assert not at.exception
    return at.get("html")[0].proto.body


def test_widget_words_replace_the_uploader_and_enter_hint_in_the_user_language(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    css = _widget_css("vi")
    assert "[data-testid='stFileUploaderDropzoneInstructions'] span { display: none; }" in css
    assert 'content: "Chọn tệp"' in css
    assert 'content: "Tệp tối đa 50 MB"' in css  # server.maxUploadSize in .streamlit/config.toml
    assert "[data-testid='InputInstructions'] > span { display: none; }" in css
    assert "[data-testid='stForm'] [data-testid='InputInstructions']::before { content: \"Nhấn Enter để gửi\"; }" in css
    assert 'content: "Press Enter to submit"' in _widget_css("en")


def test_css_text_escapes_quotes_and_backslashes():
    from lib.ui import _css_text

    assert _css_text('Nhấn "Enter" \\ rồi\ngửi') == '"Nhấn \\"Enter\\" \\\\ rồi gửi"'
