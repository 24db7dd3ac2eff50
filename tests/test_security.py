"""Security at the lib level: every write refuses viewers, out-of-scope clerks and forged actors and writes
nothing; stored markup comes back verbatim; lockout persists; cookie key and passwords stay secret."""

import inspect
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import bcrypt
import pytest

from lib import assignments, directory, importer, meetings, settings, users, weaknesses
from lib import db as dbm
from lib.domain import SYSTEM, Actor, PermissionDenied, Role
from tests.factories import meeting

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2025, 6, 15)
PASSWORD = "Matkhau123"


def _build(path: Path) -> dict:
    """Units NL (the clerk's), DP (not the clerk's) and TL; a cell, meeting and weakness in each of NL and DP."""
    dbm.init(path)
    with dbm.write(path) as db:
        ids = {}
        for code, name in (("NL", "Xã Nhị Long"), ("DP", "Xã Đại Phước"), ("TL", "Xã Tân Lợi")):
            ids[code] = directory.create_unit(db, SYSTEM, {"code": code, "name": name, "kind": "xa",
                                                           "valid_from": "2020-01-01"})
        for code in ("NL", "DP"):
            ids[f"{code}-1"] = directory.create_cell(db, SYSTEM, {
                "code": f"{code}-1", "unit_id": ids[code], "name": f"Chi bộ ấp 1 {code}", "cell_type": "ap_khom",
                "meeting_day": 10, "valid_from": "2020-01-01"})
        ids["L1"] = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "Nguyễn Văn An",
                                                         "grp": "uv_btv"})
        ids["L2"] = directory.create_leader(db, SYSTEM, {"code": "L2", "full_name": "Trần Thị Bình",
                                                         "grp": "uv_bch"})
        for code in ("NL", "DP"):
            ids[f"a_{code}"] = assignments.create(db, SYSTEM, {"leader_id": ids["L1"], "unit_id": ids[code],
                                                               "valid_from": "2024-01-01"}, today=TODAY)
            ids[f"m_{code}"] = meetings.create(db, SYSTEM, meeting(ids[f"{code}-1"], "2025-04-10"),
                                               [{"leader_id": ids["L1"]}], today=TODAY)
            ids[f"gone_{code}"] = meetings.create(db, SYSTEM, meeting(ids[f"{code}-1"], "2025-04-20",
                                                                      mtype="chuyen_de"), today=TODAY)
            meetings.delete(db, SYSTEM, ids[f"gone_{code}"])
            ids[f"w_{code}"] = weaknesses.create(db, SYSTEM, {"unit_id": ids[code], "category": "xay_dung_dang",
                                                              "description": "Chưa bàn nghị quyết",
                                                              "noted_on": "2025-04-10"}, today=TODAY)
        users.create_user(db, SYSTEM, "quantri", "Quản trị", PASSWORD, Role.ADMIN)
        users.create_user(db, SYSTEM, "thuky", "Thư ký Nhị Long", PASSWORD, Role.CLERK, [ids["NL"]])
        users.create_user(db, SYSTEM, "xem", "Ủy viên", PASSWORD, Role.VIEWER)
        users.create_user(db, SYSTEM, "cuqt", "Quản trị cũ", PASSWORD, Role.ADMIN)
        users.update_user(db, SYSTEM, "cuqt", active=0)
    with dbm.read(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")  # all in the main file, so a plain copy is complete
    return ids


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("security") / "template.db"
    return path, _build(path)


@pytest.fixture
def world(template, tmp_path, monkeypatch) -> tuple[Path, dict]:
    """A private copy of the template database, set as CHIBO_DB."""
    path = tmp_path / "app.db"
    shutil.copy(template[0], path)
    monkeypatch.setenv("CHIBO_DB", str(path))
    return path, template[1]


def fingerprint(path: Path) -> dict[str, list]:
    """Every row of every table, so 'nothing was written' can be checked exactly."""
    with dbm.read(path) as db:
        return {name: sorted(map(repr, db.execute(f"select * from [{name}]").fetchall()))
                for name in db.table_names()}


# ---- every write function, refused ---------------------------------------------------------------

def _tx(fn: Callable) -> Callable:
    def call(path: Path, actor: Actor, ids: dict):
        with dbm.write(path) as db:
            return fn(db, actor, ids)
    return call


def _import(kind: str, text: str) -> Callable:
    def call(path: Path, actor: Actor, ids: dict):
        return importer.run(path, kind, text.encode("utf-8"), f"{kind}.csv", actor, today=TODAY)
    return call


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable
    admin_only: bool  # False: a clerk may do it inside their units, so the case targets Đại Phước (DP)


CASES = [
    Case("directory.create unit", _tx(lambda db, a, i: directory.create(
        db, a, "units", {"code": "MOI", "name": "Xã Mới", "kind": "xa"})), True),
    Case("directory.create cell", _tx(lambda db, a, i: directory.create(
        db, a, "cells", {"code": "NL-2", "unit_id": i["NL"], "name": "Chi bộ ấp 2", "cell_type": "ap_khom"})), True),
    Case("directory.create leader", _tx(lambda db, a, i: directory.create(
        db, a, "leaders", {"code": "L9", "full_name": "Lê Văn Chín", "grp": "uv_bch"})), True),
    Case("directory.update", _tx(lambda db, a, i: directory.update(db, a, "units", i["NL"], {"name": "Xã Khác"})),
         True),
    Case("directory.merge_unit", _tx(lambda db, a, i: directory.merge_unit(db, a, i["TL"], i["DP"], "2025-06-30")),
         True),
    Case("directory.end_validity", _tx(lambda db, a, i: directory.end_validity(
        db, a, "cells", i["NL-1"], date(2025, 6, 30))), True),
    Case("assignments.create", _tx(lambda db, a, i: assignments.create(
        db, a, {"leader_id": i["L2"], "unit_id": i["NL"], "valid_from": "2025-01-01"}, today=TODAY)), True),
    Case("assignments.update", _tx(lambda db, a, i: assignments.update(
        db, a, i["a_NL"], {"required_per_quarter": 2}, today=TODAY)), True),
    Case("assignments.end", _tx(lambda db, a, i: assignments.end(db, a, i["a_NL"], "2025-06-30")), True),
    Case("meetings.create", _tx(lambda db, a, i: meetings.create(
        db, a, meeting(i["DP-1"], "2025-05-10"), today=TODAY)), False),
    Case("meetings.update", _tx(lambda db, a, i: meetings.update(
        db, a, i["m_DP"], {"notes": "sửa"}, today=TODAY)), False),
    Case("meetings.update moving a meeting out of scope", _tx(lambda db, a, i: meetings.update(
        db, a, i["m_NL"], {"cell_id": i["DP-1"], "held_on": "2025-05-10"}, today=TODAY)), False),
    Case("meetings.delete", _tx(lambda db, a, i: meetings.delete(db, a, i["m_DP"])), False),
    Case("meetings.restore", _tx(lambda db, a, i: meetings.restore(db, a, i["gone_NL"])), True),
    Case("meetings.set_report", _tx(lambda db, a, i: meetings.set_report(
        db, a, i["m_DP"], i["L1"], "2025-04-12", today=TODAY)), False),
    Case("weaknesses.create", _tx(lambda db, a, i: weaknesses.create(
        db, a, {"unit_id": i["DP"], "category": "other", "description": "Thiếu hồ sơ"}, today=TODAY)), False),
    Case("weaknesses.update", _tx(lambda db, a, i: weaknesses.update(
        db, a, i["w_DP"], {"description": "Đã sửa"}, today=TODAY)), False),
    Case("weaknesses.update moving a weakness out of scope", _tx(lambda db, a, i: weaknesses.update(
        db, a, i["w_NL"], {"unit_id": i["DP"]}, today=TODAY)), False),
    Case("weaknesses.set_status", _tx(lambda db, a, i: weaknesses.set_status(
        db, a, i["w_DP"], "resolved", "Đã khắc phục", today=TODAY)), False),
    Case("weaknesses.delete", _tx(lambda db, a, i: weaknesses.delete(db, a, i["w_DP"])), False),
    Case("users.create_user", _tx(lambda db, a, i: users.create_user(
        db, a, "moi", "Người mới", "Matkhau456", Role.ADMIN)), True),
    Case("users.update_user promoting the viewer", _tx(lambda db, a, i: users.update_user(
        db, a, "xem", role=Role.ADMIN)), True),
    Case("users.update_user widening the clerk", _tx(lambda db, a, i: users.update_user(
        db, a, "thuky", unit_ids=[i["NL"], i["DP"]])), True),
    Case("users.set_password of another user", _tx(lambda db, a, i: users.set_password(
        db, a, "quantri", "Matkhau456")), True),
    Case("settings.save_settings", _tx(lambda db, a, i: settings.save_settings(
        db, a, {"org_name": "Huyện ủy Khác"})), True),
    Case("importer.run units", _import("units", "code,name,kind\nMOI,Xã Mới,xa\n"), True),
    Case("importer.run cells", _import("cells", "code,unit_code,name,cell_type\nNL-2,NL,Chi bộ ấp 2,ap_khom\n"),
         True),
    Case("importer.run leaders", _import("leaders", "code,full_name,grp\nL9,Lê Văn Chín,uv_bch\n"), True),
    Case("importer.run assignments", _import("assignments", "leader_code,unit_code,valid_from\nL2,NL,01/01/2025\n"),
         True),
    Case("importer.run meetings", _import(
        "meetings", "cell_code;held_on;mtype;members_total;members_exempt;present;absent_excused;absent_unexcused\n"
                    "DP-1;10/05/2025;thuong_ky;30;2;25;2;1\n"), False),
    Case("importer.run weaknesses", _import("weaknesses", "unit_code,category,description\nDP,other,Thiếu hồ sơ\n"),
         False),
]

# Who must be refused. Role and scope are re-read from the users table on every write, so what
# an Actor claims (role admin, more units) counts for nothing.
REFUSED = {
    "viewer": Actor("xem", Role.VIEWER),
    "clerk": Actor("thuky", Role.CLERK, frozenset({1})),
    "viewer claiming admin": Actor("xem", Role.ADMIN, frozenset({1, 2, 3})),
    "clerk claiming admin and every unit": Actor("thuky", Role.ADMIN, frozenset({1, 2, 3})),
    "deactivated admin": Actor("cuqt", Role.ADMIN),
    "unknown user claiming admin": Actor("ke_gian", Role.ADMIN),
    "forged system actor": Actor("system", Role.ADMIN),
}


def _perm_messages(ids_name: str = "Xã Đại Phước") -> set[str]:
    return {PermissionDenied(k).message for k in ("admin_only", "read_only", "inactive")} | {
        PermissionDenied("out_of_scope", unit=ids_name).message}


@pytest.mark.parametrize("who", list(REFUSED))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_write_refused_and_nothing_written(world, case, who):
    path, ids = world
    before = fingerprint(path)
    if case.name.startswith("importer.run"):
        result = case.call(path, REFUSED[who], ids)
        assert result.errors and not result.written
        assert {e.message for e in result.errors} <= _perm_messages()
    else:
        with pytest.raises(PermissionDenied) as exc:
            case.call(path, REFUSED[who], ids)
        expected = {"viewer": "read_only", "viewer claiming admin": "read_only", "deactivated admin": "inactive",
                    "unknown user claiming admin": "inactive", "forged system actor": "inactive"}.get(who)
        if case.admin_only and who.startswith(("viewer", "clerk")):
            expected = "admin_only"
        elif who.startswith("clerk"):
            expected = "out_of_scope"
        assert exc.value.key == expected
    assert fingerprint(path) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_write_by_an_admin_goes_through(world, case):
    # The control for the refusals above: the very same call succeeds for an administrator,
    # so each refusal is the permission check and not some other failure.
    path, ids = world
    before = fingerprint(path)
    result = case.call(path, Actor("quantri", Role.VIEWER), ids)  # the claimed role is ignored both ways
    if case.name.startswith("importer.run"):
        assert result.errors == [] and result.written
    assert fingerprint(path) != before


def test_clerk_writes_inside_own_units(world):
    path, ids = world
    clerk = Actor("thuky", Role.CLERK)  # scope comes from the database, not from the Actor
    with dbm.write(path) as db:
        mid = meetings.create(db, clerk, meeting(ids["NL-1"], "2025-05-10"), today=TODAY)
        meetings.update(db, clerk, mid, {"notes": "bổ sung"}, today=TODAY)
        meetings.set_report(db, clerk, ids["m_NL"], ids["L1"], "2025-04-12", today=TODAY)
        weaknesses.set_status(db, clerk, ids["w_NL"], "in_progress", today=TODAY)
        meetings.delete(db, clerk, mid)
    result = _import("meetings", "cell_code,held_on,mtype,members_total,present,absent_excused,absent_unexcused\n"
                                 "NL-1,10/06/2025,thuong_ky,20,18,1,1\n")(path, clerk, ids)
    assert result.errors == [] and result.count == 1
    with dbm.read(path) as db:
        mine = db.execute("select action, table_name from audit_log where username = 'thuky' order by id").fetchall()
    assert mine == [("create", "meetings"), ("update", "meetings"), ("update", "meeting_leaders"),
                    ("update", "weaknesses"), ("delete", "meetings"), ("create", "meetings")]


def test_a_user_changes_only_their_own_password(world):
    path, _ = world
    viewer = Actor("xem", Role.VIEWER)
    with dbm.write(path) as db:
        users.set_password(db, viewer, "xem", "Matkhau789")
    with dbm.write(path) as db:
        assert users.authenticate(db, "xem", "Matkhau789") == "ok"
        with pytest.raises(PermissionDenied):
            users.set_password(db, viewer, "thuky", "Matkhau789")


def test_role_and_scope_changes_take_effect_on_the_next_write(world):
    # A session that still holds the old Actor loses its rights the moment the admin acts.
    path, ids = world
    clerk = Actor("thuky", Role.CLERK, frozenset({ids["NL"]}))
    admin = Actor("quantri", Role.ADMIN)
    with dbm.write(path) as db:
        users.update_user(db, admin, "thuky", role=Role.VIEWER)
    with pytest.raises(PermissionDenied, match=PermissionDenied("read_only").message):
        _tx(lambda db, a, i: meetings.create(db, a, meeting(i["NL-1"], "2025-05-10"), today=TODAY))(path, clerk, ids)
    with dbm.write(path) as db:
        users.update_user(db, admin, "thuky", role=Role.CLERK, unit_ids=[ids["NL"]], active=0)
    with pytest.raises(PermissionDenied) as exc:
        _tx(lambda db, a, i: meetings.create(db, a, meeting(i["NL-1"], "2025-05-10"), today=TODAY))(path, clerk, ids)
    assert exc.value.key == "inactive"


# ---- stored markup comes back verbatim -------------------------------------------------------------

MARKUP = ('<script>alert("x")</script> <img src=x onerror=alert(1)> **đậm** _nghiêng_ '
          '[bấm](javascript:alert(1)) :red[đỏ] $x^2$ &amp; &lt;b&gt;\n# Tiêu đề\n| a | b |\n<!-- c --> `code`')


def test_html_and_markdown_round_trip_verbatim_through_the_stores(world):
    path, ids = world
    with dbm.write(path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "X1", "name": MARKUP, "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "X1-1", "unit_id": unit, "name": MARKUP,
                                                  "cell_type": "khac", "meeting_day": 1})
        leader = directory.create_leader(db, SYSTEM, {"code": "X9", "full_name": MARKUP, "position": MARKUP,
                                                      "grp": "khac"})
        aid = assignments.create(db, SYSTEM, {"leader_id": leader, "unit_id": unit, "decision_no": MARKUP,
                                              "valid_from": "2025-01-01"}, today=TODAY)
        mid = meetings.create(db, SYSTEM, meeting(cell, "2025-05-01", topics=MARKUP, notes=MARKUP),
                              [{"leader_id": leader, "remarks": MARKUP}], today=TODAY)
        wid = weaknesses.create(db, SYSTEM, {"unit_id": unit, "category": "other", "description": MARKUP,
                                             "status": "resolved", "resolution": MARKUP, "noted_on": "2025-05-01",
                                             "resolved_on": "2025-05-02"}, today=TODAY)
        users.create_user(db, SYSTEM, "markup", MARKUP, PASSWORD, Role.VIEWER)
        settings.save_settings(db, SYSTEM, {"org_name": MARKUP, "report_header": MARKUP})
    with dbm.read(path) as db:
        m = meetings.get(db, mid)
        w = next(r for r in weaknesses.list_weaknesses(db, unit_id=unit, today=TODAY) if r["id"] == wid)
        got = [
            next(u for u in directory.list_units(db) if u["id"] == unit)["name"],
            next(c for c in directory.list_cells(db, unit) if c["id"] == cell)["name"],
            next(ldr for ldr in directory.list_leaders(db) if ldr["id"] == leader)["full_name"],
            next(ldr for ldr in directory.list_leaders(db) if ldr["id"] == leader)["position"],
            next(a for a in assignments.list_assignments(db, unit_id=unit) if a["id"] == aid)["decision_no"],
            m["topics"], m["notes"], m["unit_name"], m["cell_name"], m["leaders"][0]["full_name"],
            m["leaders"][0]["remarks"], w["description"], w["resolution"],
            users.get_user(db, "markup")["full_name"],
            settings.get_settings(db)["org_name"], settings.get_settings(db)["report_header"],
        ]
    assert got == [MARKUP] * len(got)


def test_markup_in_an_imported_file_comes_back_verbatim(world):
    import csv
    import io

    path, ids = world
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["cell_code", "held_on", "mtype", "members_total", "present", "absent_excused",
                     "absent_unexcused", "topics", "notes"])
    writer.writerow(["NL-1", "2025-05-10", "thuong_ky", 10, 10, 0, 0, MARKUP, MARKUP])
    result = importer.run(path, "meetings", out.getvalue().encode("utf-8"), "m.csv", SYSTEM, today=TODAY)
    assert result.errors == []
    row = importer.records(path, "meetings")[-1]
    assert (row["topics"], row["notes"]) == (MARKUP, MARKUP)


def test_md_escape_leaves_no_markup_and_loses_no_character():
    from lib.ui import md_escape

    escaped = md_escape(MARKUP)
    # Every Markdown/HTML special character is preceded by a backslash...
    for index, char in enumerate(escaped):
        if char in "<>*_[]()`#|$!:~":
            assert escaped[index - 1] == "\\", (index, char)
    # ...and dropping those backslashes gives back exactly what was stored.
    import re

    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.S) == MARKUP


# ---- login lockout ------------------------------------------------------------------------------

def _auth(path: Path, password: str, now: datetime) -> str:
    with dbm.write(path) as db:
        return users.authenticate(db, "thuky", password, now)


def test_five_failures_lock_the_account_for_fifteen_minutes_across_a_restart(world):
    path, _ = world
    t0 = datetime(2025, 6, 15, 9, 0, 0)
    outcomes = [_auth(path, "sai-mat-khau", t0 + timedelta(seconds=s)) for s in range(5)]
    assert outcomes == ["bad", "bad", "bad", "bad", "locked"]
    assert _auth(path, PASSWORD, t0 + timedelta(seconds=10)) == "locked"  # the sixth try, right password

    # A restart: a new process reads the lockout from the database.
    probe = ("import sys; from datetime import datetime; from lib import db, users\n"
             "with db.write(sys.argv[1]) as d: print(users.authenticate(d, 'thuky', sys.argv[2], "
             "datetime.fromisoformat(sys.argv[3])))")
    later = t0 + timedelta(minutes=14, seconds=59)
    out = subprocess.run([sys.executable, "-c", probe, str(path), PASSWORD, later.isoformat()], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "locked", out.stderr

    assert _auth(path, PASSWORD, t0 + timedelta(minutes=15, seconds=5)) == "ok"
    with dbm.read(path) as db:
        user = users.get_user(db, "thuky")
        actions = [r[0] for r in db.execute("select action from audit_log where username = 'thuky' order by id")]
    assert (user["failed_logins"], user["locked_until"]) == (0, None)
    assert actions == ["login_failed"] * 5 + ["login_locked", "login_locked", "login"]


def test_a_deactivated_user_cannot_log_in(world):
    path, _ = world
    with dbm.write(path) as db:
        assert users.authenticate(db, "cuqt", PASSWORD) == "inactive"
        assert users.authenticate(db, "khong_co", PASSWORD) == "bad"


# ---- secrets -------------------------------------------------------------------------------------

def test_cookie_key_is_random_per_database_stable_and_not_the_library_default(tmp_path):
    import streamlit_authenticator as stauth

    default = inspect.signature(stauth.Authenticate.__init__).parameters["cookie_key"].default
    keys = []
    for name in ("a.db", "b.db"):
        with dbm.write(dbm.init(tmp_path / name)) as db:
            keys.append(settings.cookie_key(db))
            assert settings.cookie_key(db) == keys[-1]
            assert settings.COOKIE_KEY not in settings.get_settings(db)
    assert default not in keys and keys[0] != keys[1]
    assert all(len(k) >= 40 for k in keys)  # 32 random bytes, URL-safe base64


def test_cookie_key_is_nowhere_in_the_repository(world):
    path, _ = world
    with dbm.write(path) as db:
        key = settings.cookie_key(db)
    found = subprocess.run(["git", "grep", "-F", "-e", key], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == ""  # 1: searched and found nothing
    ignored = subprocess.run(["git", "check-ignore", "db/app.db", ".streamlit/secrets.toml"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.stdout.split() == ["db/app.db", ".streamlit/secrets.toml"]


def test_passwords_are_stored_only_as_bcrypt_hashes(world):
    path, _ = world
    plain = "Bimat-Rieng-2025"
    with dbm.write(path) as db:
        users.create_user(db, SYSTEM, "moi", "Người mới", plain, Role.CLERK)
        users.set_password(db, SYSTEM, "xem", plain + "x")
    with dbm.read(path) as db:
        hashes = dict(db.execute("select username, password_hash from users").fetchall())
        audit_text = " ".join(str(r) for r in db.execute("select before_json, after_json from audit_log"))
    assert all(h.startswith("$2b$") and len(h) == 60 for h in hashes.values())
    assert bcrypt.checkpw(plain.encode(), hashes["moi"].encode())
    assert "password_hash" not in audit_text and "$2b$" not in audit_text
    # Neither password appears anywhere in the database files, log included.
    conn = sqlite3.connect(str(path))
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    raw = path.read_bytes()
    assert plain.encode() not in raw


# ---- production configuration (deploy/) ------------------------------------------------------------

def _toml(path: Path) -> dict:
    import tomllib

    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _flat(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_production_streamlit_config_locks_the_app_down():
    prod = _flat(_toml(ROOT / "deploy" / "streamlit-config.toml"))
    assert {k: prod[k] for k in ("client.toolbarMode", "browser.gatherUsageStats", "server.headless",
                                 "server.enableXsrfProtection", "server.address", "client.showErrorDetails")} == {
        "client.toolbarMode": "viewer", "browser.gatherUsageStats": False, "server.headless": True,
        "server.enableXsrfProtection": True, "server.address": "127.0.0.1", "client.showErrorDetails": "none"}
    # On the server the checkout's own .streamlit/config.toml is read after the production file (it is
    # the service user's global config), so the two must agree wherever both set a value.
    project = _flat(_toml(ROOT / ".streamlit" / "config.toml"))
    assert {k: v for k, v in project.items() if k in prod and prod[k] != v} == {}


def test_nginx_accepts_the_uploads_streamlit_accepts_and_upgrades_the_websocket():
    import re

    site = (ROOT / "deploy" / "nginx-chibo.conf").read_text()
    upload_mb = _toml(ROOT / "deploy" / "streamlit-config.toml")["server"]["maxUploadSize"]
    assert re.findall(r"client_max_body_size (\d+)m;", site) == [str(upload_mb)]
    stream = re.search(r"location /_stcore/stream \{(.*?)\}", site, re.S).group(1)
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert "proxy_set_header Connection $connection_upgrade;" in stream
    assert "proxy_http_version 1.1;" in stream
    # the WebSocket, uploads (their own rate limit since issue 14), Streamlit's scripts (no request rate) and
    # everything else
    assert re.findall(r"proxy_pass http://(\w+);", site) == ["chibo_streamlit"] * 4
    assert "server 127.0.0.1:8501;" in site
    assert "ssl_certificate /etc/letsencrypt/live/chibo.example.vn/fullchain.pem;" in site


def test_systemd_units_run_the_app_as_its_own_user_and_back_up_nightly():
    app = (ROOT / "deploy" / "chibo.service").read_text()
    backup = (ROOT / "deploy" / "chibo-backup.service").read_text()
    timer = (ROOT / "deploy" / "chibo-backup.timer").read_text()
    for line in ("User=chibo", "WorkingDirectory=/opt/chibo", "Environment=CHIBO_DB=/var/lib/chibo/app.db",
                 "ExecStart=/opt/chibo/.venv/bin/python -m lib serve --server.address 127.0.0.1 "
                 "--server.port 8501", "Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert line in app.splitlines()
    assert "ExecStart=/opt/chibo/.venv/bin/python -m lib backup /var/backups/chibo/" in backup.splitlines()
    assert any(line.startswith("ExecStartPost=/usr/bin/find /var/backups/chibo ") and "-mtime +29 -delete" in line
               for line in backup.splitlines())
    assert {"OnCalendar=*-*-* 02:30:00", "Persistent=true", "Unit=chibo-backup.service"} <= set(timer.splitlines())
    tracked = subprocess.run(["git", "ls-files", ".streamlit", "deploy"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert ".streamlit/secrets.toml" not in tracked


# ---- session tampering through the app (AppTest) ---------------------------------------------------

def test_session_keys_without_a_login_grant_nothing(world):
    from tests.helpers import app_test, nav_files

    path, _ = world
    at = app_test(path)
    # Everything a session could hold about a user, except a login that went through the form.
    at.session_state["roles"] = ["admin"]
    at.session_state["role"] = "admin"
    at.session_state["username"] = "quantri"
    at.session_state["name"] = "Quản trị"
    at.run()
    assert nav_files(at) == {"pages/login.py"}
    with pytest.raises(ValueError):
        at.switch_page("pages/users.py")


def test_a_session_of_a_user_deactivated_meanwhile_is_logged_out(world):
    from tests.helpers import app_test, login, nav_files

    path, _ = world
    at = login(app_test(path), "thuky", PASSWORD)
    assert "pages/record_meeting.py" in nav_files(at)
    with dbm.write(path) as db:
        users.update_user(db, SYSTEM, "thuky", active=0)
    at.run()
    assert nav_files(at) == {"pages/login.py"}
    assert at.session_state["username"] is None
