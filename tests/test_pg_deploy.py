"""Deploying on PostgreSQL (issue 17): `backup` by pg_dump with rotation, restorable to the same figures; the
PostgreSQL layout's deploy files (nginx site, units) pass nginx -t and systemd-analyze verify."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest

from lib import cli, demo, i18n, meetings
from lib import db as dbm
from lib.domain import SYSTEM
from tests.pgcluster import required

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
TODAY = date(2026, 11, 20)
DAY = 86400


@pytest.fixture(autouse=True)
def _language_back():
    """cli.main(["--lang", "en", …]) sets the language for the thread: later test modules expect the default."""
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def _cluster(pg_cluster):
    return required(pg_cluster)


@pytest.fixture(scope="module")
def demo_pg(pg_cluster, tmp_path_factory):
    """The demo, built on SQLite and copied into a new PostgreSQL database."""
    cluster = _cluster(pg_cluster)
    path = tmp_path_factory.mktemp("pgdeploy") / "demo.db"
    demo.load(path, today=TODAY)
    url = cluster.fresh()
    dbm.copy(path, url)
    yield url
    cluster.drop(url)


def _lib(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m lib ARGS` as the nightly unit runs it (English messages)."""
    return subprocess.run([sys.executable, "-m", "lib", "--lang", "en", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "CHIBO_TESTING": "1", **(env or {})})


def _metrics(url: str, period: str) -> str:
    run = _lib("--db", url, "metrics", "--period", period, "--json")
    assert run.returncode == 0, run.stderr
    return run.stdout


def _aged(path: Path, days: float) -> Path:
    path.write_bytes(b"old")
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))
    return path


def _restore(cluster, dump: Path) -> str:
    """A new database (C collation, as the docs say) with the dump restored into it by pg_restore: its URL."""
    name = f"r_{os.urandom(6).hex()}"
    cluster.admin(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE 'C' ENCODING 'UTF8'")
    url = cluster.url(name)
    dbname, env = cli.pg_client_args(url)
    run = subprocess.run([cli.pg_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={dbname}", str(dump)],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return url


def test_backup_of_a_postgresql_address_is_a_pg_dump_that_restores_to_the_same_figures(demo_pg, pg_cluster, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    # what the rotation finds there: copies 40 and 31 days old go, a 29-day-old one stays, as does a file not ours
    gone = [_aged(folder / "app-20251001-023000.dump", 40), _aged(folder / "app-20251010-023000.db.age", 31),
            _aged(folder / "app-20251011-023000.part", 1)]
    kept = [_aged(folder / "app-20251022-023000.dump", 29), _aged(folder / "notes.txt", 400)]

    run = _lib("backup", str(folder), "--keep-days", "30", env={"CHIBO_DB": demo_pg, "CHIBO_BACKUP_RECIPIENTS": ""})
    assert run.returncode == 0, run.stderr
    made = sorted(set(folder.glob("app-*.dump")) - set(kept))
    assert len(made) == 1 and f"Backed up to {made[0]}" in run.stdout
    assert "Deleted 3 backup(s) older than 30 days." in run.stdout
    assert not any(f.exists() for f in gone) and all(f.exists() for f in kept)
    assert made[0].stat().st_mode & 0o777 == 0o600  # it holds the password hashes and the cookie key
    assert made[0].read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    restored = _restore(pg_cluster, made[0])
    try:
        for period in ("2025", "2025-Q2", "2026-Q3"):
            assert _metrics(restored, period) == _metrics(demo_pg, period)
        # the restored database is whole: init finds nothing to do, the identity columns go on after the largest id,
        # and the data version moves with a write (its trigger came with the dump)
        assert _lib("--db", restored, "init").returncode == 0
        with dbm.write(restored) as db:
            version = db.execute("select version from data_version where id = 1").fetchone()[0]
            largest = db.execute("select max(id) from meetings").fetchone()[0]
            cell = db.execute("select id from cells where valid_to is null order by id limit 1").fetchone()[0]
            new = meetings.create(db, SYSTEM, {"cell_id": cell, "held_on": date(2026, 11, 2), "mtype": "chuyen_de",
                                               "members_total": 10, "present": 10, "absent_excused": 0,
                                               "absent_unexcused": 0}, [], today=TODAY)
        with dbm.read(restored) as db:
            assert new > largest
            assert db.execute("select version from data_version where id = 1").fetchone()[0] == version + 1
    finally:
        pg_cluster.drop(restored)


def test_encrypted_pg_dump_leaves_no_clear_copy_and_decrypts_to_a_restorable_dump(demo_pg, pg_cluster, tmp_path):
    if not (shutil.which("age") and shutil.which("age-keygen")):
        if os.environ.get("CI") == "true":
            pytest.fail("age is not installed (.ci/run installs it)")
        pytest.skip("age is not installed")
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(public)
    folder = tmp_path / "backups"
    folder.mkdir()
    run = _lib("backup", str(folder), env={"CHIBO_DB": demo_pg, "CHIBO_BACKUP_RECIPIENTS": str(recipients)})
    assert run.returncode == 0, run.stderr
    files = list(folder.iterdir())
    assert [f.suffixes[-2:] for f in files] == [[".dump", ".age"]] and files[0].stat().st_mode & 0o777 == 0o600
    assert b"PGDMP" not in files[0].read_bytes() and b"pbkdf2" not in files[0].read_bytes()
    clear = tmp_path / "clear.dump"
    subprocess.run(["age", "--decrypt", "-i", str(key), "-o", str(clear), str(files[0])], check=True)
    restored = _restore(pg_cluster, clear)
    try:
        assert _metrics(restored, "2025") == _metrics(demo_pg, "2025")
    finally:
        pg_cluster.drop(restored)


def test_pg_backup_refusals_name_the_cause_and_leave_nothing(pg_cluster, tmp_path, monkeypatch, capsys):
    cluster = _cluster(pg_cluster)
    monkeypatch.delenv("CHIBO_BACKUP_RECIPIENTS", raising=False)
    missing = cluster.url("no_such_database")
    assert cli.main(["--lang", "en", "--db", missing, "backup", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pg_dump failed (") and "no_such_database" in err and "CHIBO_DB" in err
    assert list(tmp_path.iterdir()) == []
    assert cli.main(["--lang", "en", "--db", missing, "backup", str(tmp_path), "--keep-days", "0"]) == 2
    assert "--keep-days 0: give a number of days, 1 or more" in capsys.readouterr().err
    assert cli.main(["--lang", "en", "--db", missing, "backup", str(tmp_path / "none" / "x.dump")]) == 2
    assert f"the folder {tmp_path / 'none'} does not exist; nothing backed up" in capsys.readouterr().err
    monkeypatch.setattr(cli, "pg_tool", lambda name: None)
    assert cli.main(["--lang", "en", "--db", missing, "backup", str(tmp_path)]) == 1
    assert "apt-get install postgresql-client" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_password_in_the_address_goes_to_pg_dump_by_its_environment_not_its_command_line():
    dbname, env = cli.pg_client_args("postgresql://chibo:s3cr%40t@db.example.vn:5433/chibo?sslmode=require")
    assert "s3cr" not in dbname and env["PGPASSWORD"] == "s3cr@t"
    assert dict(p.split("=") for p in dbname.split()) == {"user": "chibo", "host": "db.example.vn", "port": "5433",
                                                          "dbname": "chibo", "sslmode": "require"}
    dbname, env = cli.pg_client_args("postgresql://chibo@/chibo?host=/run/postgresql")
    assert "PGPASSWORD" not in env or env["PGPASSWORD"] == os.environ.get("PGPASSWORD")
    assert "host=/run/postgresql" in dbname


def test_keep_days_rotates_sqlite_copies_the_same_way(db_path, tmp_path, capsys):
    folder = tmp_path / "b"
    folder.mkdir()
    old, young = _aged(folder / "app-20250101-023000.db", 30.5), _aged(folder / "app-20250201-023000.db", 29.5)
    assert cli.main(["--lang", "en", "--db", str(db_path), "backup", str(folder), "--keep-days", "30"]) == 0
    assert not old.exists() and young.exists() and len(list(folder.glob("app-*.db"))) == 2
    assert "Deleted 1 backup(s) older than 30 days." in capsys.readouterr().out


# ---- the PostgreSQL layout's deploy files ------------------------------------------------------------------------

def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    return found


@pytest.mark.parametrize("ports", [(), ("8501", "8502"), ("8501", "8502", "10.0.0.12:8501")],
                         ids=["sqlite", "two-local", "another-machine"])
def test_the_site_for_each_layout_passes_nginx_t(tmp_path, ports):
    nginx = _nginx()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=chibo.test",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    site = subprocess.run([str(DEPLOY / "nginx-site.sh"), "chibo.test", str(tmp_path), *ports], check=True,
                          capture_output=True, text=True).stdout
    (tmp_path / "logs").mkdir()
    (tmp_path / "site.conf").write_text(site.replace("/var/log/nginx/", f"{tmp_path}/logs/"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n    access_log {tmp_path}/logs/access.log;\n    include {tmp_path}/site.conf;\n}}\n")
    check = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", f"{tmp_path}/logs/error.log",
                            "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    upstream = site[site.index("upstream chibo_streamlit {"):]
    upstream = upstream[:upstream.index("}")]
    if not ports:
        assert site == (DEPLOY / "nginx-chibo.conf").read_text().replace("chibo.example.vn", "chibo.test").replace(
            "/etc/letsencrypt/live/chibo.test", str(tmp_path))
        return
    # sticky by the cookie, one server line per process, the cookie set beside the other headers
    assert "hash $chibo_node consistent;" in upstream
    servers = [line.split()[1] for line in upstream.splitlines() if line.strip().startswith("server ")]
    assert servers == [p if ":" in p else f"127.0.0.1:{p}" for p in ports]
    assert site.count('add_header Set-Cookie "chibo_node=$chibo_node;') == 1
    # the WebSocket upgrade of the site is unchanged
    assert "proxy_set_header Upgrade $http_upgrade;" in site
    assert "proxy_set_header Connection $connection_upgrade;" in site


def test_nginx_site_refuses_an_upstream_that_is_not_a_port():
    run = subprocess.run([str(DEPLOY / "nginx-site.sh"), "chibo.test", "/tmp", "8501;evil"], capture_output=True,
                         text=True)
    assert run.returncode == 2 and "not a port or HOST:PORT" in run.stderr


def test_postgresql_layout_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    names = {"chibo@.service": "chibo@8501.service", "chibo-pgdump.service": "chibo-pgdump.service",
             "chibo-pgdump.timer": "chibo-pgdump.timer"}
    for source, name in names.items():
        (tmp_path / name).write_text((DEPLOY / source).read_text().replace("/opt/chibo", str(REPO)))
    run = subprocess.run([analyze, "verify", "--man=no", *(str(tmp_path / n) for n in names.values())],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout + run.stderr == "", run.stdout + run.stderr
    unit = (DEPLOY / "chibo-pgdump.service").read_text()
    assert "ExecStart=/opt/chibo/.venv/bin/python -m lib backup /var/backups/chibo/ --keep-days 30" in unit
    assert "EnvironmentFile=/etc/chibo/chibo.env" in unit and "UMask=0077" in unit
    assert "PrivateNetwork=" not in unit  # the database may be on another machine
    instance = (DEPLOY / "chibo@.service").read_text()
    assert "--server.port %i" in instance and "EnvironmentFile=/etc/chibo/chibo.env" in instance


def test_metrics_json_is_what_the_backup_test_compares(demo_pg):
    # the figures compared above are not empty: the demo's year holds meetings
    data = json.loads(_metrics(demo_pg, "2025"))
    assert data["attendance_by_unit"] and any(r["rate"] for r in data["attendance_by_unit"])


def test_each_instance_reads_the_production_streamlit_config_install_sh_puts_in_its_home():
    # install.sh puts the production settings (error details hidden, no file watcher, 50 MB messages) in the
    # service user's ~/.streamlit; an instance with a home of its own (/var/lib/chibo/8501) ran without them
    install = (DEPLOY / "install.sh").read_text()
    assert "DATA_DIR=/var/lib/chibo\n" in install
    assert '"$APP_DIR/deploy/streamlit-config.toml" "$DATA_DIR/.streamlit/config.toml"' in install
    for unit in ("chibo.service", "chibo@.service"):
        homes = [line for line in (DEPLOY / unit).read_text().splitlines() if line.startswith("Environment=HOME=")]
        assert homes == ["Environment=HOME=/var/lib/chibo"], unit


def test_install_sh_sets_up_the_postgresql_layout_on_request():
    install = DEPLOY / "install.sh"
    assert subprocess.run(["bash", "-n", str(install)]).returncode == 0
    # an unknown layout is refused before anything is installed
    run = subprocess.run([str(install)], env={**os.environ, "LAYOUT": "mysql", "DOMAIN": "chibo.test"},
                         capture_output=True, text=True)
    assert run.returncode == 1 and "LAYOUT must be sqlite or postgresql" in run.stderr
    text = install.read_text()
    pg = text[text.index('if [ "$LAYOUT" = postgresql ]; then\n    units='):]
    assert "units=(chibo@.service chibo-pgdump.service chibo-pgdump.timer)" in pg
    assert 'apps+=("chibo@$port.service")' in pg and "backup=chibo-pgdump.timer" in pg
    assert "old=(chibo.service chibo-backup.timer)" in pg  # the one-server layout's units stop
    assert "createdb --locale=C --encoding=UTF8 --template=template0 --owner=chibo chibo" in text
    assert "printf 'CHIBO_DB=%s\\n' \"$PG_URL\" >>/etc/chibo/chibo.env" in text
    assert 'copy-db --from "$SQLITE_DB" --to "$PG_URL"' in text
    assert '"$APP_DIR/deploy/nginx-site.sh" "$DOMAIN" "$cert_dir" ${UPSTREAMS:-$PORTS}' in text
    assert 'LAYOUT="${LAYOUT:-sqlite}"' in text  # not the default


# ---- a streaming replica, and failover to it by hand (docs/DEPLOY.md) -------------------------------------------

def _replica_of(cluster, root: Path) -> str:
    """pg_basebackup -R of the cluster into root/data, started on a socket in root: the socket folder."""
    as_user = ["runuser", "-u", cluster.user, "--"] if cluster.user else []
    if cluster.user:
        shutil.chown(root, cluster.user)
    subprocess.run([*as_user, str(cluster.bin / "pg_basebackup"), "-D", str(root / "data"), "-R", "-X", "stream",
                    "-c", "fast", "-d", f"host={cluster.socket} user={cluster.superuser}"],
                   check=True, capture_output=True, cwd=root)
    # a standby refuses to start with fewer connections than its primary allows (tests/pgcluster.py: 200)
    run = subprocess.run([*as_user, str(cluster.bin / "pg_ctl"), "-D", str(root / "data"), "-w", "-l",
                          str(root / "log"), "-o", f"-k {root} -c listen_addresses='' -c max_connections=200", "start"],
                         capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, (root / "log").read_text() if (root / "log").exists() else run.stderr
    return str(root)


def _one(url: str, sql: str):
    with dbm.read(url) as db:
        return db.execute(sql).fetchone()[0]


def test_a_streaming_replica_follows_the_primary_and_takes_over_when_promoted(pg_cluster):
    from lib import pg
    from tests.factories import add_meeting, small_directory

    cluster = _cluster(pg_cluster)
    primary = cluster.fresh()
    ids = small_directory(primary)
    name = primary.split("?")[0].rsplit("/", 1)[-1]
    root = Path(tempfile.mkdtemp(prefix="chibo-replica-"))  # the cluster's user cannot enter pytest's folders
    replica = f"postgresql://{cluster.superuser}@/{name}?host={_replica_of(cluster, root)}"
    as_user = ["runuser", "-u", cluster.user, "--"] if cluster.user else []
    try:
        assert _one(replica, "select pg_is_in_recovery()") == 1  # booleans read as SQLite gives them
        # a meeting saved on the primary reaches the replica: the same figures there
        add_meeting(primary, ids["c1"], "2025-06-10", present=21)
        lsn = _one(primary, "select pg_current_wal_lsn()::text")
        deadline = time.monotonic() + 30
        while not _one(replica, f"select pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.2)  # polling another server's progress
        assert _metrics(replica, "2025") == _metrics(primary, "2025")
        rates = {r["unit_code"]: r["rate"] for r in json.loads(_metrics(replica, "2025"))["attendance_by_unit"]}
        assert rates == {"NL": 21 / 28, "DP": None}
        # a standby takes no writes
        with pytest.raises(Exception, match="read-only"):
            add_meeting(replica, ids["c2"], "2025-06-10")
        # failover by hand: promote it; the app pointed at it writes, and its data version moves
        subprocess.run([*as_user, str(cluster.bin / "pg_ctl"), "-D", str(root / "data"), "-w", "promote"],
                       check=True, capture_output=True, cwd=root)
        assert _one(replica, "select pg_is_in_recovery()") == 0
        assert _lib("--db", replica, "init").returncode == 0
        version = _one(replica, "select version from data_version where id = 1")
        add_meeting(replica, ids["c2"], "2025-06-10", present=14)
        assert _one(replica, "select version from data_version where id = 1") == version + 1
        rates = {r["unit_code"]: r["rate"] for r in json.loads(_metrics(replica, "2025"))["attendance_by_unit"]}
        assert rates == {"NL": 21 / 28, "DP": 14 / 28}
    finally:
        pg.close_pools(replica)
        subprocess.run([*as_user, str(cluster.bin / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)
        cluster.drop(primary)
