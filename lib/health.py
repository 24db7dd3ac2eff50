"""Whether the database file can be served: present, initialised, readable and writable. Never creates it."""

import logging
import sqlite3
from pathlib import Path

from lib import config
from lib.i18n import t

log = logging.getLogger(__name__)

# Tables every initialised database has (created by `python -m lib init`, migration m001).
REQUIRED_TABLES = ("users", "settings", "units", "meetings")


def _open(path: Path) -> sqlite3.Connection:
    # mode=rw: open an existing file only; sqlite3.connect(path) would create an empty one.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5, isolation_level=None)


def _check_writable(conn: sqlite3.Connection) -> None:
    # A write that is rolled back: a read-only file, folder or mount fails here rather than at a clerk's save.
    # No waiting for the write lock: if another connection holds it, the file is writable.
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return  # another connection is writing: so the file is writable
        raise
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.execute("ROLLBACK")


def problem(path: str | Path | None = None) -> str | None:
    """Why the database cannot be served (a translated sentence for the error page), or None when it can."""
    path = path or config.db_path()
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        return _pg_problem(path)
    path = Path(path)
    if not path.is_file():
        log.error("database file %s does not exist; run `python -m lib init`", path)
        return t("db.missing")
    try:
        conn = _open(path)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not set(REQUIRED_TABLES) <= tables:
                log.error("database file %s is not initialised; run `python -m lib init`", path)
                return t("db.not_initialised")
            _check_writable(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.error("database file %s cannot be served: %s", path, exc)
        return explain(exc)
    return None


def _pg_problem(url: str) -> str | None:
    # PostgreSQL: reachable, and initialised (the required tables exist); writability is the server's business.
    from lib import db as dbm

    try:
        with dbm.read(url) as db:
            if not set(REQUIRED_TABLES) <= set(db.table_names()):
                log.error("database %s is not initialised; run `python -m lib init`", url.split("@")[-1])
                return t("db.not_initialised")
    except Exception as exc:  # psycopg's errors (no server, refused) as well as sqlite3's  # noqa: BLE001
        log.error("database %s cannot be served: %s", url.split("@")[-1], exc)
        return explain(exc)
    return None


def explain(exc: BaseException) -> str:
    """The error page's sentence for a database error met while a page ran."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return t("db.busy")
    return t("db.unavailable", reason=text)
