"""A throwaway PostgreSQL cluster for the test run: initdb and pg_ctl into a temporary folder, a unix socket only."""

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from lib import db as dbm
from lib import pg

TEMPLATE = "chibo_template"


def required(cluster: "Cluster | None", what: str = "every engine test") -> "Cluster":
    """The run's cluster; without PostgreSQL the test is skipped, or fails under CI=true (CI must run it: .ci/run
    installs the server)."""
    import pytest

    if cluster is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not installed: CI runs {what} (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed (initdb not found)")
    return cluster


def bindir() -> Path | None:
    """The folder of initdb and pg_ctl (Debian's /usr/lib/postgresql/N/bin, or PATH), None if not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


# The server settings of a throwaway cluster: nothing is made durable, and enough connections for the tests' pools
# and for a standby (tests/test_pg_deploy.py: a standby needs as many as its primary allows).
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


class Cluster:
    """One cluster: start(), url(name), fresh() for a migrated empty database per test, stop().

    folder: None for a throwaway one in a new temporary folder (removed at stop), or a folder that outlives the run
    (bench.pgscale --keep: initdb only where it holds no cluster yet, and stop leaves the data). settings: the
    server's -c settings (postgresql.conf names), THROWAWAY unless given."""

    def __init__(self, bin_dir: Path, folder: Path | None = None, settings: dict[str, str] | None = None):
        self.bin = bin_dir
        self.kept = folder is not None
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="chibo-pg-"))
        folder.mkdir(parents=True, exist_ok=True)
        self.root = folder
        self.data, self.socket = self.root / "data", self.root
        self.settings = dict(THROWAWAY if settings is None else settings)
        # initdb refuses root: as root the cluster runs as postgres (Debian's package makes it) or nobody.
        self.user = None
        if os.geteuid() == 0:
            self.user = next(u for u in ("postgres", "nobody") if _exists(u))
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.superuser = "postgres"

    def _run(self, *args: str) -> None:
        cmd = [*(["runuser", "-u", self.user, "--"] if self.user else []), *args]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> "Cluster":
        """initdb (C collation: text sorts by code point, as SQLite's) unless a kept folder holds a cluster, and
        pg_ctl start on a socket in the folder."""
        if not (self.data / "PG_VERSION").exists():
            # --no-sync only where the server will not fsync either: a kept cluster's files must survive a crash
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.superuser, "-A", "trust",
                      "-E", "UTF8", "--no-locale", *(["--no-sync"] if self.settings.get("fsync") == "off" else []))
        settings = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        options = f"-k {self.socket} -c listen_addresses='' {settings}"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.root / "log"), "start")
        atexit.register(self.stop)  # a run ended without the session's teardown leaves no server behind
        return self

    def url(self, name: str) -> str:
        """The address of a database of this cluster."""
        return f"postgresql://{self.superuser}@/{name}?host={self.socket}"

    def admin(self, sql: str) -> list[tuple]:
        """One statement on the postgres database (CREATE/DROP DATABASE, a look at pg_database): its rows."""
        db = pg.connect(self.url("postgres"), pooled=False)
        try:
            cur = db.conn.raw.execute(sql)
            return cur.fetchall() if cur.description else []
        finally:
            db.close()

    def fresh(self) -> str:
        """A new database copied from the migrated template (made at the first call): its URL."""
        if not getattr(self, "_template", False):
            self.admin(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            self.admin(f"CREATE DATABASE {TEMPLATE}")
            try:
                dbm.init(self.url(TEMPLATE))
            finally:
                pg.close_pools(self.url(TEMPLATE))
            self._template = True
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a test's database (its pool closed first)."""
        pg.close_pools(url)
        name = url.split("?")[0].rsplit("/", 1)[-1]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """pg_ctl stop (once): a throwaway cluster at once and its folder removed, a kept one by a fast shutdown
        that leaves its data for the next run."""
        if not self.data.exists() or (self.kept and not (self.data / "postmaster.pid").exists()):
            return
        pg.close_pools()
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast" if self.kept else "immediate",
                      "-w", "stop")
        finally:
            if not self.kept:
                shutil.rmtree(self.root, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def assert_next_id_follows(url: str, table: str, insert: str, params=()) -> None:
    """A row written by insert (an INSERT into table) after a copy gets max(id) + 1, as in SQLite: the copy kept the
    ids and moved the identity sequence past them. The row is deleted after."""
    with dbm.write(url) as db:
        top = db.execute(f"select max(id) from {table}").fetchone()[0]
        db.execute(insert, list(params))
        new = db.execute("select last_insert_rowid()").fetchone()[0]
        assert new == top + 1, f"{table}: a new row got id {new} after the copy's largest {top}"
        assert db.execute(f"select max(id) from {table}").fetchone()[0] == top + 1
        db.execute(f"delete from {table} where id = ?", [new])
