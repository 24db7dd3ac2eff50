"""Connections to the database (one SQLite file, or PostgreSQL by URL): one per operation (read connections kept
for the next read), writes as one transaction."""

import os
import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class _Connection(sqlite3.Connection):
    """sqlite3's connection, remembering its cursors, so that a read connection kept for the next read (see read)
    closes those left open: an unfinished SELECT holds its snapshot, and the next reader would see old data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursors: weakref.WeakSet = weakref.WeakSet()

    def cursor(self, factory: Any = sqlite3.Cursor) -> sqlite3.Cursor:  # type: ignore[override]
        made = super().cursor(factory)
        self.cursors.add(made)
        return made

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executescript(script)

    def close_cursors(self) -> None:
        """Close every cursor of this connection still open (their statements reset)."""
        for made in list(self.cursors):
            made.close()


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
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, factory=_Connection
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return Database(conn)


# In the app's server (lib.ui.serve calls keep_readers), SQLite read connections are kept for the next read
# instead of closed: opening one (its pragmas, and SQLite reading the schema at its first statement) was a quarter
# of a dashboard run's server time, a run making a dozen reads (py-spy of the overview at 1,000,000 meetings,
# bench/NOTES.md). A kept connection is handed to one reader at a time and only taken back with no transaction
# open and its cursors closed, so every read still sees what was committed before it; it is used again only while
# its file is the one it was opened on (a file replaced under the app, as by a restore, is opened afresh; the kept
# connection holds its old file open, so the old file's inode cannot come back). A read that raised closes its
# connection. PostgreSQL has its own pool (lib.pg). Commands and tests open and close as before: a connection left
# open keeps the file's write-ahead log beside it, and a plain copy of the file alone (which the tests make of
# their fixtures) would miss what the log holds; backups use SQLite's backup API.
IDLE_READERS = 4  # kept connections per database file
FILES_KEPT = 8  # database files with kept connections (tests open many)
_idle: "OrderedDict[str, list[tuple[Database, tuple[int, int]]]]" = OrderedDict()
_idle_lock = threading.Lock()
_keeping = False


def keep_readers(keep: bool = True) -> None:
    """Keep SQLite read connections for the next read from now on (the app's server), or stop and close them."""
    global _keeping
    _keeping = keep
    if not keep:
        forget_readers()


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _kept_reader(key: str, identity: tuple[int, int]) -> Database | None:
    stale = []
    found = None
    with _idle_lock:
        kept = _idle.get(key) or []
        while kept and found is None:
            db, opened_on = kept.pop()
            if opened_on == identity:
                found = db
            else:
                stale.append(db)
    for db in stale:
        db.close()
    return found


def _keep_reader(key: str, db: Database, identity: tuple[int, int]) -> None:
    closing = []
    with _idle_lock:
        kept = _idle.setdefault(key, [])
        _idle.move_to_end(key)
        if len(kept) < IDLE_READERS:
            kept.append((db, identity))
        else:
            closing.append(db)
        while len(_idle) > FILES_KEPT:
            _, dropped = _idle.popitem(last=False)
            closing.extend(d for d, _ in dropped)
    for d in closing:
        d.close()


def forget_readers() -> None:
    """Close every kept read connection (the next reads open new ones)."""
    with _idle_lock:
        dropped = [db for kept in _idle.values() for db, _ in kept]
        _idle.clear()
    for db in dropped:
        db.close()


@contextmanager
def read(path: str | Path | None = None) -> Iterator[Database]:
    """A connection for one read operation: SQLite's kept for the next read (see IDLE_READERS), PostgreSQL's
    returned to its pool."""
    where = location(path)
    keeping = _keeping and not pg_url(where)
    identity = _file_identity(where) if keeping else None
    db = _kept_reader(str(where), identity) if identity else None
    if db is None:
        db = connect(where)
        identity = _file_identity(where) if keeping else None
    done = False
    try:
        yield db
        done = True
    finally:
        if done and identity is not None and not db.conn.in_transaction:
            db.conn.close_cursors()
            _keep_reader(str(where), db, identity)
        else:
            db.close()


@contextmanager
def write(path: str | Path | Database | None = None) -> Iterator[Database]:
    """One write transaction; given an open Database in a transaction, nest as a savepoint."""
    if isinstance(path, Database):
        with path.atomic(), _writing(path):
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
        with db.atomic(), _writing(db):
            yield db
        return
    # IMMEDIATE takes the write lock before the first read, so concurrent writers queue on the busy
    # timeout instead of failing with "database is locked" mid-way, and no other writer can change a
    # row between a check and the write that depends on it.
    db.execute("BEGIN IMMEDIATE")
    try:
        with _writing(db):
            yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def _writing(db: Database) -> Iterator[None]:
    # Marks the connection as inside a write (see in_write), for as long as the write's block runs.
    depth = getattr(db, "_chibo_writes", 0)
    db._chibo_writes = depth + 1
    try:
        yield
    finally:
        db._chibo_writes = depth


def in_write(db: Database) -> bool:
    """Whether the connection is inside a write (dbm.write, immediate, store.transaction), not a read or a check's
    snapshot: what is read there may be held with share_name() until the commit."""
    return getattr(db, "_chibo_writes", 0) > 0 and db.conn.in_transaction


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
    the whole file; PostgreSQL locks the row (SELECT … FOR NO KEY UPDATE), so other rows stay writable."""
    if is_postgres(db):
        db.lock(table, row_id)


def share_name(db: Database, *name: object) -> None:
    """Hold a name against exclusive holders of it (lock_name) until the transaction ends, without keeping out
    others who also only share it: SQLite's BEGIN IMMEDIATE already holds the whole file; PostgreSQL takes a shared
    advisory lock, kept in the lock table (a shared row lock that many writers hold at once is written into the row
    and its multixact)."""
    if is_postgres(db):
        db.lock_name("\x1f".join(str(part) for part in name), shared=True)


def new_ids(db: Database, table: str, count: int) -> list[int]:
    """Ids for rows a caller inserts with their ids given (an import in bulk), ascending: max(id) + 1 onwards on
    SQLite, whose write lock keeps them free; on PostgreSQL taken from the table's id sequence, so that saves
    running alongside (which take theirs from it) never get one of them."""
    if not is_postgres(db):
        base = db.execute(f"select coalesce(max(id), 0) from {table}").fetchone()[0]
        return [base + 1 + i for i in range(count)]
    return sorted(db.next_ids(table, count))


def lock_rows(db: Database, table: str, row_ids: Iterable[object]) -> None:
    """Hold several rows (lock() of each), taken in id order so that two writers locking overlapping sets queue
    instead of deadlocking."""
    if is_postgres(db):
        db.lock_rows(table, sorted(set(row_ids)))


def lock_name(db: Database, *name: object) -> None:
    """Hold a name against concurrent writers until the transaction ends: a rule no row can be locked for (a code
    not yet taken, the only open draft of a period, a login counter not yet written). SQLite's BEGIN IMMEDIATE
    already holds the whole file; PostgreSQL takes an advisory lock on the name."""
    if is_postgres(db):
        db.lock_name("\x1f".join(str(part) for part in name))


def init(path: str | Path | None = None) -> str | Path:
    """Create or migrate the database (file or PostgreSQL); return its location."""
    from db.migrations import migrate

    path = location(path)
    db = connect(path)
    try:
        if is_postgres(db) and db.execute("select pg_is_in_recovery()").fetchone()[0]:
            _standby_current(db)
        else:
            migrate(db)
    finally:
        db.close()
    return path


def _standby_current(db: Database) -> None:
    # A streaming replica is read-only and takes its schema from the primary through replication: nothing to
    # migrate there (read-only commands such as `metrics` run on it), but one behind the program is refused.
    from db.migrations import migrations
    from lib.i18n import t

    behind = sorted(m.name for m in migrations.pending(db))
    if behind:
        raise RuntimeError(t("pgdeploy.standby_behind", names=", ".join(behind)))


# ---- copying a database between engines ------------------------------------------------------------------------

# Tables the copy leaves alone: the migrations' own record (init writes it) and SQLite's internal tables.
NOT_COPIED = ("_sqlite_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4")
# Tables a trigger fills from another (the closure of units.parent_id, the data version moved by audit entries):
# copied last, after the trigger's rows are cleared, so they hold the source's rows exactly.
DERIVED = ("unit_tree", "data_version")
# A destination holding any of these has data of its own: the copy refuses rather than mixing two databases.
DATA_TABLES = ("units", "cells", "leaders", "meetings", "members", "users", "audit_log")
COPY_BATCH = 5_000
# A table with at least this many rows in the source loads into PostgreSQL with its indexes and foreign keys set
# aside (pg.PgDatabase.set_aside) and put back after.
BULK_ROWS = 100_000


class CopyRefused(ValueError):
    """The copy cannot run: the message (lib.i18n key pg.<key>) says why and what to do."""

    def __init__(self, key: str, **params: object):
        from lib.i18n import t

        super().__init__(t(f"pg.{key}", **params))
        self.key = key


def copy(source: str | Path, dest: str | Path) -> dict[str, int]:
    """Copy every row of every table from one database to another (SQLite or PostgreSQL, either way), ids kept;
    the destination is migrated first and must hold no data. Returns rows copied per table."""
    from db.migrations import migrations

    src_loc, dst_loc = location(source), location(dest)
    if not pg_url(src_loc) and not Path(src_loc).is_file():
        raise CopyRefused("copy_no_source", where=src_loc)
    init(dst_loc)
    counts: dict[str, int] = {}
    with read(src_loc) as src, read(dst_loc) as dst:
        behind = {m.name for m in migrations.pending(src)}
        if behind:
            raise CopyRefused("copy_source_behind", where=src_loc, names=", ".join(sorted(behind)))
        for table in DATA_TABLES:
            if dst.execute(f"select 1 from {table} limit 1").fetchone():
                raise CopyRefused("copy_dest_not_empty", where=dst_loc, table=table)
        tables = [t for t in src.table_names() if t not in NOT_COPIED and not t.startswith("sqlite_")]
        tables = [t for t in tables if t not in DERIVED] + [t for t in DERIVED if t in tables]
        # One transaction with foreign keys checked at the commit: a unit may name a parent copied after it.
        dst.execute("BEGIN")
        try:
            if is_postgres(dst):
                dst.execute("SET CONSTRAINTS ALL DEFERRED")
                # The copied audit entries leave the data version as the source has it (no bump at the commit).
                dst.execute("SELECT set_config('chibo.data_version_bumped', txid_current()::text, true)")
            else:
                dst.execute("PRAGMA defer_foreign_keys = ON")
            # Big tables load with their indexes and foreign keys set aside (before any row is written: a table
            # with checks pending cannot be altered), put back and checked once every table is in.
            big = [t for t in tables if is_postgres(dst) and _source_rows(src, t) >= BULK_ROWS]
            put_back = [statement for table in big for statement in dst.set_aside(table)]
            for table in tables:
                # Rows init seeded (leader groups, rule thresholds) or a trigger derived give way to the source's.
                if table != "audit_log":
                    dst.execute(f"delete from {table}")
                counts[table] = _copy_table(src, dst, table)
            if put_back:
                # The pending row checks run first (ALTER TABLE refuses a table with checks pending).
                dst.execute("SET CONSTRAINTS ALL IMMEDIATE")
                dst.put_back(put_back)
            dst.execute("COMMIT")
        except BaseException:
            if dst.conn.in_transaction:
                dst.execute("ROLLBACK")
            raise
        if is_postgres(dst):
            for table in tables:
                if dst.primary_key(table) == ["id"]:
                    dst.reset_sequence(table)
            # The planner's statistics (and the visibility map) for the rows just loaded, not autovacuum's later.
            dst.analyze(tables)
    return counts


def _copy_table(src: Database, dst: Database, table: str) -> int:
    have = {c.name for c in dst[table].columns}
    cols = [c.name for c in src[table].columns]
    missing = [c for c in cols if c not in have]
    if missing:
        raise CopyRefused("copy_column_missing", table=table, columns=", ".join(missing))
    names = ", ".join(cols)
    order = ", ".join(src[table].pks) if src[table].pks and src[table].pks != ["rowid"] else "1"
    cur = src.execute(f"select {names} from {table} order by {order}")
    if is_postgres(dst):
        # COPY streams the rows (one statement for the table, not one per row): ~10× executemany's rate.
        return dst.copy_rows(table, cols, _batches(cur))
    insert = f"insert into {table} ({names}) values ({', '.join('?' * len(cols))})"
    total = 0
    while batch := cur.fetchmany(COPY_BATCH):
        dst.conn.executemany(insert, [tuple(r) for r in batch])
        total += len(batch)
    return total


def _batches(cur) -> Iterator[tuple]:
    while batch := cur.fetchmany(COPY_BATCH):
        yield from batch


def _source_rows(src: Database, table: str) -> int:
    return src.execute(f"select count(*) from {table}").fetchone()[0]
