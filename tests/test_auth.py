"""Login outcomes and the persisted lockout, first-run setup, own password change, settings checks,
and that secrets stay out of the repository."""

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lib import audit, auth, settings, users
from lib import db as dbm
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from tests.helpers import fast_hashing, make_user

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 6, 15, 8, 0, 0)


@pytest.fixture(autouse=True)
def quick_bcrypt(monkeypatch):
    fast_hashing(monkeypatch)


def attempt(path, username, password, now=T0):
    with dbm.write(path) as db:
        return users.authenticate(db, username, password, now)


def log(path, **filters):
    with dbm.read(path) as db:
        return [(e["username"], e["action"]) for e in reversed(audit.entries(db, **filters))]


def test_login_outcomes_are_audited(db_path):
    make_user(db_path, "thuky", "clerk")
    assert attempt(db_path, "thuky", "sai") == "bad"
    assert attempt(db_path, " ThuKy ", "Matkhau123") == "ok"  # username is trimmed and lower-cased
    assert attempt(db_path, "khongco", "Matkhau123") == "bad"
    assert log(db_path)[1:] == [("thuky", "login_failed"), ("thuky", "login"), ("khongco", "login_failed")]


def test_sixth_try_refused_even_with_right_password_and_after_restart(db_path):
    make_user(db_path, "thuky", "clerk")
    for minute in range(5):
        assert attempt(db_path, "thuky", "sai", T0 + timedelta(minutes=minute)) in ("bad", "locked")
    assert attempt(db_path, "thuky", "sai", T0 + timedelta(minutes=4)) == "locked"
    # A fresh connection (a restarted server) sees the same lock.
    assert attempt(db_path, "thuky", "Matkhau123", T0 + timedelta(minutes=10)) == "locked"
    with dbm.read(db_path) as db:
        until = users.locked_until(db, "thuky", T0 + timedelta(minutes=10))
    assert until == T0 + timedelta(minutes=4 + 15)
    assert attempt(db_path, "thuky", "Matkhau123", T0 + timedelta(minutes=19, seconds=1)) == "ok"
    assert log(db_path).count(("thuky", "login_failed")) == 5
    assert log(db_path)[-3:] == [("thuky", "login_locked"), ("thuky", "login_locked"), ("thuky", "login")]


def test_fifth_failure_locks(db_path):
    make_user(db_path, "thuky", "clerk")
    outcomes = [attempt(db_path, "thuky", "sai") for _ in range(5)]
    assert outcomes == ["bad", "bad", "bad", "bad", "locked"]


def test_success_resets_the_failure_count(db_path):
    make_user(db_path, "thuky", "clerk")
    for _ in range(4):
        attempt(db_path, "thuky", "sai")
    assert attempt(db_path, "thuky", "Matkhau123") == "ok"
    assert [attempt(db_path, "thuky", "sai") for _ in range(4)] == ["bad"] * 4


def test_deactivated_user_cannot_log_in(db_path):
    make_user(db_path, "quantri", "admin")
    make_user(db_path, "thuky", "clerk")
    with dbm.write(db_path) as db:
        users.update_user(db, users.actor_for(db, "quantri"), "thuky", active=0)
    assert attempt(db_path, "thuky", "Matkhau123") == "inactive"


def test_passwords_are_stored_as_bcrypt_hashes_only(db_path):
    # (auth.credentials, which handed every hash to streamlit-authenticator on every run, is gone: the library
    # only writes the cookie; see tests/test_ui_speed.py)
    make_user(db_path, "quantri", "admin")
    make_user(db_path, "thuky", "clerk")
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "thuky", active=0)
        stored = dict(db.execute("select username, password_hash from users").fetchall())
    assert users.check_password("Matkhau123", stored["quantri"])
    assert all(h.startswith("$2b$") and len(h) == 60 for h in stored.values())
    assert b"Matkhau123" not in Path(db_path).read_bytes()


def test_first_run_setup_creates_the_admin_and_org_name(db_path):
    made = auth.first_run_setup(db_path, "Huyện ủy Tiểu Cần", "Trần Văn Hai", "TranHai", "Bimat2025", "Bimat2025")
    assert made == "tranhai"
    with dbm.read(db_path) as db:
        assert users.actor_for(db, "tranhai").role == "admin"
        assert settings.get_settings(db)["org_name"] == "Huyện ủy Tiểu Cần"
    assert attempt(db_path, "tranhai", "Bimat2025") == "ok"
    assert log(db_path, table_name="users") == [("system", "create")]


def test_first_run_setup_refused_once_a_user_exists(db_path):
    make_user(db_path, "quantri", "admin")
    with pytest.raises(ValidationError) as exc:
        auth.first_run_setup(db_path, "X", "Kẻ Lạ", "kela", "Bimat2025", "Bimat2025")
    assert [e.key for e in exc.value.errors] == ["setup_done"]
    with dbm.read(db_path) as db:
        assert users.get_user(db, "kela") is None


@pytest.mark.parametrize(
    "org, username, password, confirm, keys",
    [
        ("Huyện ủy", "tranhai", "Bimat2025", "Bimat2026", {"password_mismatch"}),
        ("Huyện ủy", "tranhai", "ngan1", "ngan1", {"weak_password"}),
        ("Huyện ủy", "trần hai", "Bimat2025", "Bimat2025", {"bad_username"}),
        ("  ", "tranhai", "Bimat2025", "Bimat2025", {"required"}),
        ("", "tranhai", "chuaco", "khac", {"required", "password_mismatch", "weak_password"}),
    ],
)
def test_first_run_setup_refusals_write_nothing(db_path, org, username, password, confirm, keys):
    with pytest.raises(ValidationError) as exc:
        auth.first_run_setup(db_path, org, "Trần Văn Hai", username, password, confirm)
    assert {e.key for e in exc.value.errors} == keys
    with dbm.read(db_path) as db:
        assert users.count_users(db) == 0
        assert audit.entries(db) == []


def test_setup_error_names_the_field(db_path):
    with pytest.raises(ValidationError) as exc:
        auth.first_run_setup(db_path, "Huyện ủy", "Trần Văn Hai", "tranhai", "Bimat2025", "Bimat2026")
    assert str(exc.value.errors[0]).startswith("Nhập lại mật khẩu: không khớp")


def test_change_own_password(db_path):
    make_user(db_path, "thuky", "clerk")
    with dbm.read(db_path) as db:
        me = users.actor_for(db, "thuky")
    for current, new, confirm, key in [
        ("sai", "Matkhau456", "Matkhau456", "wrong_password"),
        ("Matkhau123", "Matkhau456", "Matkhau457", "password_mismatch"),
        ("Matkhau123", "ngan", "ngan", "weak_password"),
    ]:
        with pytest.raises(ValidationError) as exc:
            with dbm.write(db_path) as db:
                auth.change_own_password(db, me, current, new, confirm)
        assert exc.value.errors[0].key == key
    with dbm.write(db_path) as db:
        auth.change_own_password(db, me, "Matkhau123", "Matkhau456", "Matkhau456")
    assert attempt(db_path, "thuky", "Matkhau123") == "bad"
    assert attempt(db_path, "thuky", "Matkhau456") == "ok"
    assert ("thuky", "password") in log(db_path, table_name="users")


def test_change_own_password_refused_for_deactivated_user(db_path):
    make_user(db_path, "thuky", "clerk")
    with dbm.write(db_path) as db:
        me = users.actor_for(db, "thuky")
        users.update_user(db, SYSTEM, "thuky", active=0)
    with pytest.raises(PermissionDenied):
        with dbm.write(db_path) as db:
            auth.change_own_password(db, me, "Matkhau123", "Matkhau456", "Matkhau456")


@pytest.mark.parametrize(
    "values, fields",
    [
        ({"threshold_tot": "70", "threshold_kha": "70"}, {"threshold_kha"}),
        ({"threshold_trung_binh": "101"}, {"threshold_trung_binh", "threshold_kha"}),
        ({"attendance_threshold": "85"}, {"attendance_threshold"}),
        ({"attendance_threshold": "0"}, {"attendance_threshold"}),
        ({"min_duration_minutes": "chín mươi"}, {"min_duration_minutes"}),
        ({"report_days": "-1", "refresh_seconds": "1"}, {"report_days", "refresh_seconds"}),
        ({"org_name": " "}, {"org_name"}),
    ],
)
def test_settings_refusals_write_nothing(db_path, values, fields):
    with pytest.raises(ValidationError) as exc:
        with dbm.write(db_path) as db:
            settings.save_settings(db, SYSTEM, values)
    assert {e.field for e in exc.value.errors} == fields
    with dbm.read(db_path) as db:
        assert settings.get_settings(db)["threshold_tot"] == "90"
        assert audit.entries(db) == []


def test_settings_saved_and_thresholds_follow(db_path):
    with dbm.write(db_path) as db:
        settings.save_settings(db, SYSTEM, {"threshold_tot": 95, "attendance_threshold": 0.8, "report_days": 5})
        th = settings.thresholds(db)
    assert (th.tot, th.attendance, th.report_days) == (95, 0.8, 5)
    assert str(settings.check_settings({"threshold_tot": "60"} | dict(settings.DEFAULT_SETTINGS))) == "[]"


def test_cookie_key_generated_once_kept_in_the_database_and_not_in_git(db_path):
    with dbm.read(db_path) as db:
        key = settings.cookie_key(db)
        assert settings.cookie_key(db) == key
        assert "cookie_key" not in settings.get_settings(db)
    assert len(key) >= 40
    found = subprocess.run(["git", "grep", "-F", "-e", key], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == ""
    # The database itself (where the key lives) is never committed.
    ignored = subprocess.run(["git", "check-ignore", "db/app.db"], cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0


def test_no_cookie_key_or_password_hash_committed():
    for pattern in (r"cookie_key\s*=\s*['\"][A-Za-z0-9_\-]{16,}", r"\$2[aby]\$1[0-9]\$[./A-Za-z0-9]{53}"):
        found = subprocess.run(["git", "grep", "-E", "-e", pattern], cwd=ROOT, capture_output=True, text=True)
        assert found.stdout == "", found.stdout


def test_first_run_setup_with_demo_keeps_the_setup_admin(db_path):
    auth.first_run_setup(db_path, "Huyện ủy Càng Long", "Trần Văn Hai", "admin", "Bimat2025", "Bimat2025", demo=True)
    with dbm.read(db_path) as db:
        accounts = {u["username"]: (u["role"], u["full_name"]) for u in users.list_users(db)}
        assert db.execute("select count(*) from meetings").fetchone()[0] > 0
    # Issue 14: the setup page creates none of the demo's accounts (their passwords are in the README).
    assert accounts == {"admin": ("admin", "Trần Văn Hai")}
    assert attempt(db_path, "admin", "Bimat2025") == "ok"
