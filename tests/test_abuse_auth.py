"""Issue 14, login, passwords and sessions under abuse: an anonymous flood stays small, locks run out and
are per address, unknown usernames answer like known ones, sessions end after a reset or deactivation,
long passphrases work, common passwords and ones holding the name are refused, the audit log keeps the
client address."""

import sqlite3
import statistics
import time
from datetime import datetime, timedelta

import bcrypt
import jwt
import pytest
from streamlit.runtime.context import ContextProxy

from lib import audit, auth, settings, users
from lib import db as dbm
from lib.domain import SYSTEM, ValidationError
from lib.i18n import t
from tests.helpers import app_test, current_page, fast_hashing, log_out, login, make_user, page_test
from tests.test_cli import cli

T0 = datetime(2026, 3, 2, 8, 0, 0)
ATTACKER = "203.0.113.5"
OFFICE = "198.51.100.7"
# A Vietnamese passphrase of 71 characters, 109 bytes in UTF-8: well over bcrypt's 72 bytes.
PASSPHRASE = "Đảng ủy Đại Phước nhắc chi bộ ấp họp đủ 12 kỳ; mười đảng viên dự đủ cả!"


@pytest.fixture(autouse=True)
def quick_bcrypt(request, monkeypatch):
    if request.node.originalname != "test_unknown_usernames_take_about_as_long_as_known_ones":
        fast_hashing(monkeypatch)


def attempt(path, username, password, now=T0, client=None):
    with dbm.write(path) as db:
        return users.authenticate(db, username, password, now, **({"client": client} if client else {}))


def entries(path):
    with dbm.read(path) as db:
        return [(e["username"], e["action"], e["client"]) for e in reversed(audit.entries(db, limit=100_000))]


def db_bytes(path) -> int:
    # File and write-ahead log after a checkpoint: what the flood left on disk.
    with dbm.read(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def counting_checkpw(monkeypatch) -> list:
    calls = []
    real = bcrypt.checkpw

    def checkpw(password, hashed):
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    return calls


# ---- 1. anonymous flood ---------------------------------------------------------------------------

def test_a_flood_of_huge_usernames_from_one_address_leaves_the_database_within_a_bound(db_path):
    make_user(db_path, "quantri", "admin")
    before = db_bytes(db_path)
    outcomes = [attempt(db_path, f"{i}-" + "x" * 200_000, "sai", T0 + timedelta(seconds=i)) for i in range(300)]
    # 60 MB typed; the first 20 failures are logged with a 32-character prefix, the rest refused unchecked.
    assert outcomes[:20] == ["bad"] * 20 and set(outcomes[20:]) == {"throttled"}
    log = entries(db_path)
    assert [a for _, a, _ in log] == ["create"] + ["login_failed"] * 20 + ["login_throttled"]
    assert max(len(u or "") for u, _, _ in log) == 33  # 32 characters and "…"
    assert db_bytes(db_path) - before < 64 * 1024


def test_a_flood_from_many_addresses_is_bounded_overall(db_path, monkeypatch):
    # Smaller caps than in production so the test stays quick; the rule is the same.
    monkeypatch.setattr(users, "MAX_AUDITED_FAILURES", 40)
    monkeypatch.setattr(users, "MAX_GUARD_ROWS", 60)
    make_user(db_path, "quantri", "admin")
    before = db_bytes(db_path)
    for i in range(600):
        # Half the names could exist (each one makes an account-at-address row), half are 50,000 characters.
        name = f"nguoi{i}" + ("y" * 50_000 if i % 2 else "")
        users.login(db_path, name, "sai", client=f"10.{i // 250}.{i % 250}.1", now=T0 + timedelta(seconds=i))
    with dbm.read(db_path) as db:
        logged = db.execute("select count(*) from audit_log where action like 'login%'").fetchone()[0]
        flood = db.execute("select count(*) from audit_log where action = 'login_flood'").fetchone()[0]
        rows = db.execute("select count(*) from login_guard").fetchone()[0]
    assert (logged, flood) == (41, 1)
    assert rows <= 60 + 2  # past the cap: no new account rows, new addresses share one bucket
    assert db_bytes(db_path) - before < 128 * 1024
    # The price: while the table is full a new address shares the flooded bucket; when the window is over
    # the admin logs in from it.
    assert users.login(db_path, "quantri", "Matkhau123", client=OFFICE, now=T0 + timedelta(minutes=11)) == "throttled"
    assert users.login(db_path, "quantri", "Matkhau123", client=OFFICE, now=T0 + timedelta(minutes=25)) == "ok"


def test_a_throttled_address_is_refused_without_a_bcrypt_check_until_the_window_ends(db_path, monkeypatch):
    make_user(db_path, "quantri", "admin")
    for i in range(users.MAX_FAILURES_PER_CLIENT):
        attempt(db_path, f"ten{i}", "sai", T0 + timedelta(seconds=i), ATTACKER)
    calls = counting_checkpw(monkeypatch)
    assert attempt(db_path, "quantri", "Matkhau123", T0 + timedelta(minutes=5), ATTACKER) == "throttled"
    assert calls == []
    with dbm.read(db_path) as db:
        until = users.throttled_until(db, ATTACKER, T0 + timedelta(minutes=5))
        assert until == T0 + timedelta(minutes=users.WINDOW_MINUTES)
        assert users.minutes_left(until, T0 + timedelta(minutes=5)) == 10
    # Another address is not affected, and the window runs out.
    assert attempt(db_path, "quantri", "Matkhau123", T0 + timedelta(minutes=5), OFFICE) == "ok"
    assert attempt(db_path, "quantri", "Matkhau123", T0 + timedelta(minutes=15, seconds=1), ATTACKER) == "ok"


def test_the_login_form_bounds_its_inputs_and_says_when_to_come_back(db_path):
    make_user(db_path, "quantri", "admin")
    at = app_test(db_path).run()
    assert at.text_input(key="login_username").max_chars == 32
    assert at.text_input(key="login_password").max_chars == 256
    with dbm.write(db_path) as db:
        for i in range(20):
            users.authenticate(db, f"ten{i}", "sai")
    at = login(at, "quantri", "Matkhau123")
    assert at.error[0].value.startswith(t("auth.throttled").split("{")[0])
    assert "15" in at.error[0].value or "14" in at.error[0].value
    assert at.session_state["authentication_status"] is None


# ---- 4. locks run out and are per address -----------------------------------------------------------

def test_an_expired_lock_gives_a_fresh_five_tries_and_the_right_password_works(db_path):
    make_user(db_path, "quantri", "admin")
    assert [attempt(db_path, "quantri", "sai", T0) for _ in range(5)] == ["bad"] * 4 + ["locked"]
    later = T0 + timedelta(minutes=15, seconds=1)
    assert attempt(db_path, "quantri", "sai", later) == "bad"
    assert attempt(db_path, "quantri", "Matkhau123", later) == "ok"


def test_one_wrong_try_every_fifteen_minutes_does_not_keep_the_admin_out(db_path):
    make_user(db_path, "quantri", "admin")
    for _ in range(5):
        attempt(db_path, "quantri", "sai", T0)
    for cycle in range(1, 6):
        assert attempt(db_path, "quantri", "sai", T0 + timedelta(minutes=15 * cycle, seconds=1)) == "bad"
    assert attempt(db_path, "quantri", "Matkhau123", T0 + timedelta(minutes=76)) == "ok"


def test_an_attacker_elsewhere_locks_the_account_only_for_their_own_address(db_path):
    make_user(db_path, "quantri", "admin")
    assert [attempt(db_path, "quantri", "sai", T0, ATTACKER) for _ in range(6)] == ["bad"] * 4 + ["locked"] * 2
    assert attempt(db_path, "quantri", "Matkhau123", T0, ATTACKER) == "locked"
    assert attempt(db_path, "quantri", "Matkhau123", T0, OFFICE) == "ok"
    with dbm.read(db_path) as db:
        assert users.locked_until(db, "quantri", T0, client=ATTACKER) == T0 + timedelta(minutes=15)
        assert users.locked_until(db, "quantri", T0, client=OFFICE) is None
        # The Users page shows the lock that holds somewhere.
        assert users.list_users(db, T0)[0]["locked_until"] == (T0 + timedelta(minutes=15)).isoformat()
    assert ("quantri", "login", OFFICE) in entries(db_path)
    assert ("quantri", "login_locked", ATTACKER) in entries(db_path)


def test_ipv6_addresses_count_by_their_64_bit_network():
    assert users.client_key("2001:db8:1:2:aaaa::1") == users.client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert users.client_key("::ffff:203.0.113.5") == "203.0.113.5"
    assert users.client_key(None) == ""


def fake_peer(monkeypatch, ip=None, headers=None):
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda self: ip))
    monkeypatch.setattr(ContextProxy, "headers", property(lambda self: headers or {}))


@pytest.mark.parametrize(
    "ip, headers, expected",
    [
        # Streamlit (uvicorn) already resolved nginx's X-Forwarded-For: the address it gives is used.
        (ATTACKER, {}, ATTACKER),
        # A direct peer elsewhere cannot choose its address with a header.
        (ATTACKER, {"X-Real-IP": OFFICE, "X-Forwarded-For": OFFICE}, ATTACKER),
        # A loopback peer (nginx on this machine): its X-Real-IP, else the last X-Forwarded-For entry.
        (None, {"X-Real-IP": OFFICE}, OFFICE),
        (None, {"X-Forwarded-For": f"1.2.3.4, {OFFICE}"}, OFFICE),
        (None, {"X-Real-IP": "khong-phai-dia-chi<script>"}, None),
        (None, {}, None),
    ],
)
def test_the_client_address_is_recorded_with_every_audit_entry_of_the_run(db_path, monkeypatch, ip, headers,
                                                                          expected):
    make_user(db_path, "quantri", "admin")
    fake_peer(monkeypatch, ip, headers)
    at = login(app_test(db_path), "quantri", "sai")
    at = login(at, "quantri", "Matkhau123")
    log_out(at)
    assert entries(db_path)[1:] == [("quantri", "login_failed", expected), ("quantri", "login", expected),
                                    ("quantri", "logout", expected)]


def test_the_audit_page_shows_the_client_address(db_path, monkeypatch):
    make_user(db_path, "quantri", "admin")
    attempt(db_path, "quantri", "sai", datetime.now(), ATTACKER)
    at = page_test("pages/audit.py", "quantri").run()
    frame = at.dataframe[0].value
    assert t("page.audit.client") in frame.columns
    assert ATTACKER in set(frame[t("page.audit.client")])
    assert not at.exception


# ---- 6. unknown usernames answer like known ones ----------------------------------------------------

def test_unknown_and_known_usernames_get_the_same_answers_and_one_bcrypt_check_each(db_path, monkeypatch):
    make_user(db_path, "quantri", "admin")
    calls = counting_checkpw(monkeypatch)
    seen = {}
    for name in ("quantri", "khongco"):
        calls.clear()
        seen[name] = ([attempt(db_path, name, "sai", T0 + timedelta(seconds=s)) for s in range(7)], len(calls))
    assert seen["quantri"] == seen["khongco"] == (["bad"] * 4 + ["locked"] * 3, 5)
    # After the lock runs out both get a fresh five tries.
    later = T0 + timedelta(minutes=16)
    assert attempt(db_path, "quantri", "sai", later) == attempt(db_path, "khongco", "sai", later) == "bad"


def test_unknown_usernames_take_about_as_long_as_known_ones(db_path):
    # A generous bound (the machine is shared): with real bcrypt work (cost 12, the default; this test
    # alone skips the quick hashing) an unknown username must take at least half as long as a known one;
    # before the fix it took no bcrypt time.
    make_user(db_path, "quantri", "admin")

    def timed(name):
        start = time.perf_counter()
        attempt(db_path, name, "sai")
        return time.perf_counter() - start

    # Four tries each (the fifth would lock, and a locked account is refused without a check), taken in
    # turn so that a load that comes and goes slows both names alike.
    pairs = [(timed("quantri"), timed("khongco")) for _ in range(4)]
    known = statistics.median(k for k, _ in pairs)
    unknown = statistics.median(u for _, u in pairs)
    assert unknown > 0.5 * known, (known, unknown)


def test_the_write_lock_is_free_while_bcrypt_runs(db_path, monkeypatch):
    make_user(db_path, "quantri", "admin")
    free = []
    real = bcrypt.checkpw

    def checkpw(password, hashed):
        other = sqlite3.connect(str(db_path), timeout=0, isolation_level=None)
        try:
            other.execute("pragma busy_timeout = 0")
            other.execute("begin immediate")
            other.execute("rollback")
            free.append(True)
        except sqlite3.OperationalError:
            free.append(False)
        finally:
            other.close()
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    assert users.login(db_path, "quantri", "Matkhau123", client=OFFICE) == "ok"
    assert users.login(db_path, "khongco", "Matkhau123", client=OFFICE) == "bad"
    assert free == [True, True]


def test_over_long_input_is_refused_before_any_work(db_path, monkeypatch):
    make_user(db_path, "quantri", "admin")
    calls = counting_checkpw(monkeypatch)
    assert attempt(db_path, "quantri", "x" * (users.MAX_PASSWORD_CHARS + 1)) == "bad"
    assert attempt(db_path, "q" * 5_000_000, "Matkhau123") == "bad"
    assert calls == []


# ---- 10. sessions end after a reset, logout or deactivation ------------------------------------------

def test_an_admin_reset_ends_the_users_live_session(db_path):
    make_user(db_path, "thuky", "clerk")
    at = login(app_test(db_path), "thuky", "Matkhau123")
    assert current_page(at) != "pages/login.py"
    with dbm.write(db_path) as db:
        users.set_password(db, SYSTEM, "thuky", "Mat-khau-moi-7")
    at.run()
    assert current_page(at) == "pages/login.py"
    assert at.session_state["username"] is None
    # The new password logs in again.
    assert current_page(login(at, "thuky", "Mat-khau-moi-7")) != "pages/login.py"


def test_deactivating_and_reactivating_ends_a_session_that_did_not_run_meanwhile(db_path):
    make_user(db_path, "thuky", "clerk")
    at = login(app_test(db_path), "thuky", "Matkhau123")
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "thuky", active=0)
        users.update_user(db, SYSTEM, "thuky", active=1)
    at.run()
    assert current_page(at) == "pages/login.py"


def test_deactivating_and_reactivating_voids_earlier_cookies(db_path, monkeypatch):
    make_user(db_path, "thuky", "clerk")
    with dbm.read(db_path) as db:
        key = settings.cookie_key(db)
    token = jwt.encode({"username": "thuky", "exp_date": (datetime.now() + timedelta(days=6)).timestamp()},
                       key, algorithm="HS256")  # a cookie issued a day ago
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: {auth.COOKIE_NAME: token}))
    assert current_page(app_test(db_path).run()) != "pages/login.py"  # the cookie logs in ...
    with dbm.write(db_path) as db:
        users.update_user(db, SYSTEM, "thuky", active=0)
        users.update_user(db, SYSTEM, "thuky", active=1)
    # ... and after a deactivation, even one undone, it no longer does.
    assert current_page(app_test(db_path).run()) == "pages/login.py"


def test_changing_ones_own_password_keeps_this_session(db_path):
    make_user(db_path, "xem", "viewer")
    at = login(app_test(db_path), "xem", "Matkhau123")
    at.switch_page("pages/account.py").run()
    at.text_input(key="account_current").input("Matkhau123")
    at.text_input(key="account_new").input("Mat-khau-moi-7")
    at.text_input(key="account_confirm").input("Mat-khau-moi-7")
    at.button(key="account_submit").click().run()
    assert at.success[0].value == t("page.account.changed")
    at.run()
    assert current_page(at) == "pages/account.py"


# ---- 11. passwords over bcrypt's 72 bytes -------------------------------------------------------------

def test_a_long_vietnamese_passphrase_is_accepted_and_checked_in_full(db_path):
    assert (len(PASSPHRASE), len(PASSPHRASE.encode())) == (71, 109)
    make_user(db_path, "quantri", "admin", password=PASSPHRASE)
    with dbm.read(db_path) as db:
        stored = users.get_user(db, "quantri")["password_hash"]
    assert stored.startswith("sha256$$2b$")
    assert attempt(db_path, "quantri", PASSPHRASE) == "ok"
    # The first 72 bytes alone (what a truncating bcrypt would compare) are not the password.
    prefix = PASSPHRASE.encode()[:72].decode(errors="ignore")
    assert attempt(db_path, "quantri", prefix) == "bad"
    assert attempt(db_path, "quantri", PASSPHRASE + "!") == "bad"
    with dbm.write(db_path) as db:
        me = users.actor_for(db, "quantri")
        auth.change_own_password(db, me, PASSPHRASE, PASSPHRASE + " nữa", PASSPHRASE + " nữa")
    assert attempt(db_path, "quantri", PASSPHRASE + " nữa") == "ok"


def test_a_password_over_the_limit_is_refused_with_the_limit_named(db_path):
    with pytest.raises(ValidationError) as exc:
        make_user(db_path, "quantri", "admin", password="a1" * 129)
    error = exc.value.errors[0]
    assert (error.field, error.key) == ("password", "password_too_long")
    assert "256" in str(error)


def test_create_user_on_the_command_line_takes_a_long_passphrase_and_refuses_an_over_long_one(tmp_path):
    path = tmp_path / "x.db"
    done = cli("--db", str(path), "create-user", "quantri", "--role", "admin", "--password-stdin",
               stdin=PASSPHRASE + "\n")
    assert done.returncode == 0, done.stderr
    assert attempt(path, "quantri", PASSPHRASE) == "ok"
    refused = cli("--db", str(path), "create-user", "thuky", "--role", "clerk", "--password-stdin",
                  stdin="Mật khẩu rất dài 1 " * 20 + "\n")
    assert refused.returncode == 1
    assert "256" in refused.stderr and "Traceback" not in refused.stderr


def test_the_account_page_takes_a_long_passphrase_without_a_traceback(db_path):
    make_user(db_path, "xem", "viewer")
    at = login(app_test(db_path), "xem", "Matkhau123")
    at.switch_page("pages/account.py").run()
    at.text_input(key="account_current").input("Matkhau123")
    at.text_input(key="account_new").input(PASSPHRASE)
    at.text_input(key="account_confirm").input(PASSPHRASE)
    at.button(key="account_submit").click().run()
    assert not at.exception
    assert at.success[0].value == t("page.account.changed")
    assert attempt(db_path, "xem", PASSPHRASE) == "ok"


# ---- 12. common passwords and ones holding the name ---------------------------------------------------

@pytest.mark.parametrize(
    "password, key",
    [
        ("password1", "common_password"),
        ("Qwerty123", "common_password"),
        ("thuky2025", "password_has_name"),
        ("2025-ThuKy!", "password_has_name"),
        ("levantam1975", "password_has_name"),
        ("Lê Văn Tâm 1975", "password_has_name"),
        ("ngan1", "weak_password"),
    ],
)
def test_common_passwords_and_ones_holding_the_name_are_refused(db_path, password, key):
    with pytest.raises(ValidationError) as exc:
        with dbm.write(db_path) as db:
            users.create_user(db, SYSTEM, "thuky", "Lê Văn Tâm", password, "clerk")
    assert [(e.field, e.key) for e in exc.value.errors] == [("password", key)]
    assert str(exc.value.errors[0]).startswith(t("field.password") + ": ")


def test_an_admin_reset_applies_the_same_rule(db_path):
    make_user(db_path, "thuky", "clerk")
    with pytest.raises(ValidationError) as exc:
        with dbm.write(db_path) as db:
            users.set_password(db, SYSTEM, "thuky", "Thuky-2026")
    assert exc.value.errors[0].key == "password_has_name"


def test_the_demo_passwords_pass_the_rule():
    from lib import demo

    for username, full_name, password, _, _ in demo.DEMO_USERS:
        assert users.password_problems(password, username, full_name) == []
