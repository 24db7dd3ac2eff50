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


class Cluster:
    """One cluster: start(), url(name), fresh() for a migrated empty database per test, stop()."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="chibo-pg-"))
        self.data, self.socket = self.root / "data", self.root
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
        """initdb (C collation: text sorts by code point, as SQLite's) and pg_ctl start on a socket in the folder."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.superuser, "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        options = f"-k {self.socket} -c listen_addresses='' -c fsync=off -c synchronous_commit=off " \
                  "-c full_page_writes=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.root / "log"), "start")
        atexit.register(self.stop)  # a run ended without the session's teardown leaves no server behind
        return self

    def url(self, name: str) -> str:
        """The address of a database of this cluster."""
        return f"postgresql://{self.superuser}@/{name}?host={self.socket}"

    def admin(self, sql: str) -> None:
        """One statement on the postgres database (CREATE/DROP DATABASE)."""
        db = pg.connect(self.url("postgres"), pooled=False)
        try:
            db.conn.raw.execute(sql)
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
        """pg_ctl stop and remove the folder (once)."""
        if not self.data.exists():
            return
        pg.close_pools()
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False
