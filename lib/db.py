"""Connections to the one SQLite file: one per operation, writes under BEGIN IMMEDIATE."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from lib import config

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path | None = None) -> Database:
    """Open the database with foreign keys on, WAL and a busy timeout."""
    path = Path(path) if path else config.db_path()
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


def init(path: str | Path | None = None) -> Path:
    """Create or migrate the database file; return its path."""
    from db.migrations import migrate

    path = Path(path) if path else config.db_path()
    db = connect(path)
    try:
        migrate(db)
    finally:
        db.close()
    return path
