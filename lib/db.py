"""Connections to the database (one SQLite file, or PostgreSQL by URL): one per operation, writes as one transaction."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from lib import config

BUSY_TIMEOUT_MS = 30_000


def location(value: str | Path | None = None) -> str | Path:
    """The database a value names: a postgresql:// URL as given, else a file path; nothing: CHIBO_DB or the default."""
    if not value:
        return config.db_path()
    return value if pg_url(value) else Path(value)


def pg_url(value: object) -> bool:
    """Whether a location is a PostgreSQL URL."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def is_postgres(db: Database) -> bool:
    """Whether an open Database is PostgreSQL's adapter (lib.pg)."""
    return getattr(db, "is_postgres", False)


def connect(path: str | Path | None = None) -> Database:
    """Open the database: SQLite with foreign keys on, WAL and a busy timeout; PostgreSQL from its pool."""
    path = location(path)
    if pg_url(path):
        from lib import pg

        return pg.connect(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN ourselves, so sqlite3 never opens a
    # deferred transaction that would later fail to upgrade to a write lock.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return Database(conn)


@contextmanager
def read(path: str | Path | None = None) -> Iterator[Database]:
    """A connection for one read operation, closed afterwards."""
    db = connect(path)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def write(path: str | Path | Database | None = None) -> Iterator[Database]:
    """One write transaction; given an open Database in a transaction, nest as a savepoint."""
    if isinstance(path, Database):
        with path.atomic():
            yield path
        return
    db = connect(path)
    try:
        with immediate(db):
            yield db
    finally:
        db.close()


@contextmanager
def immediate(db: Database) -> Iterator[Database]:
    """A write transaction on an open connection: a savepoint inside one already open, else BEGIN IMMEDIATE."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    # IMMEDIATE takes the write lock before the first read, so concurrent writers queue on the busy
    # timeout instead of failing with "database is locked" mid-way, and no other writer can change a
    # row between a check and the write that depends on it.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def snapshot(path: str | Path | Database | None = None) -> Iterator[Database]:
    """One consistent read view for a long check, taking no write lock; an open Database is reused as is."""
    if isinstance(path, Database):
        yield path
        return
    db = connect(path)
    if is_postgres(db):
        try:
            # One snapshot for the whole check; READ ONLY refuses any stray write, as query_only does.
            db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield db
        finally:
            db.close()
        return
    try:
        # query_only makes any stray write fail at once instead of taking the write lock;
        # in WAL mode the deferred transaction reads one snapshot while writers go on.
        db.execute("PRAGMA query_only = ON")
        db.execute("BEGIN")
        db.execute("select count(*) from sqlite_master").fetchone()
        yield db
    finally:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        db.close()


@contextmanager
def session(path: str | Path | Database | None = None) -> Iterator[Database]:
    """Reuse an open Database, or open one for this operation."""
    if isinstance(path, Database):
        yield path
        return
    with read(path) as db:
        yield db


def lock(db: Database, table: str, row_id: object) -> None:
    """Hold one row against concurrent writers until the transaction ends: SQLite's BEGIN IMMEDIATE already holds
    the whole file; PostgreSQL locks the row (SELECT … FOR UPDATE), so other rows stay writable."""
    if is_postgres(db):
        db.lock(table, row_id)


def init(path: str | Path | None = None) -> str | Path:
    """Create or migrate the database (file or PostgreSQL); return its location."""
    from db.migrations import migrate

    path = location(path)
    db = connect(path)
    try:
        migrate(db)
    finally:
        db.close()
    return path
