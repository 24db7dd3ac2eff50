"""Read connections kept for the next read (lib.db.read): reused, yet every read sees what was committed before it,
a read that failed or left a transaction open gives its connection up, a file replaced under the app is opened
afresh, and two readers at once never share one."""

import os
import shutil
import sqlite3
import threading

import pytest

from lib import db as dbm


@pytest.fixture()
def table(tmp_path):
    """A table of 100 rows, read with connections kept (as the app's server does: lib.ui.serve)."""
    path = tmp_path / "r.db"
    dbm.keep_readers()
    with dbm.write(path) as db:
        db.execute("create table t(x)")
        db.conn.executemany("insert into t values (?)", [(i,) for i in range(100)])
    yield path
    dbm.keep_readers(False)


def count(path) -> int:
    with dbm.read(path) as db:
        return db.execute("select count(*) from t").fetchone()[0]


def test_a_read_connection_is_used_again(table):
    with dbm.read(table) as first:
        pass
    with dbm.read(table) as second:
        assert second is first


def test_an_unfinished_select_left_behind_does_not_hold_the_next_reader_on_old_data(table):
    with dbm.read(table) as db:
        kept = db
        cursor = db.execute("select x from t")
        assert cursor.fetchone() == (0,)  # 99 rows left unread; the cursor outlives the read
    with dbm.write(table) as db:
        db.execute("insert into t values (999)")
    with dbm.read(table) as db:
        assert db is kept
        assert db.execute("select count(*) from t").fetchone()[0] == 101
    # the cursor left behind was closed when its read ended (as its connection was before connections were kept)
    with pytest.raises(sqlite3.ProgrammingError):
        cursor.fetchone()


def test_every_read_sees_the_writes_committed_before_it(table):
    for n in range(101, 106):
        with dbm.write(table) as db:
            db.execute("insert into t values (?)", [n])
        assert count(table) == n


def test_a_read_that_raised_or_left_a_transaction_open_closes_its_connection(table):
    with pytest.raises(ValueError), dbm.read(table) as db:
        failed = db
        raise ValueError("a read that failed")
    with dbm.read(table) as db:
        assert db is not failed
        db.execute("begin")
        left_open = db
    with pytest.raises(sqlite3.ProgrammingError):
        left_open.execute("select 1")  # closed, not kept
    with dbm.read(table) as db:
        assert db is not left_open and not db.conn.in_transaction


def test_a_file_replaced_under_the_app_is_opened_afresh(table, tmp_path):
    with dbm.read(table) as old:
        pass
    other = tmp_path / "other.db"
    with dbm.write(other) as db:
        db.execute("create table t(x)")
        db.execute("insert into t values (1)")
    dbm.forget_readers()
    with dbm.read(table) as old:
        pass
    shutil.copy(other, tmp_path / "restored.db")
    os.replace(tmp_path / "restored.db", table)  # as a restore puts a backup in place
    with dbm.read(table) as db:
        assert db is not old
        assert db.execute("select count(*) from t").fetchone()[0] == 1


def test_readers_at_once_get_connections_of_their_own_and_few_are_kept(table):
    inside = threading.Barrier(6)
    seen: list = []

    def reader():
        with dbm.read(table) as db:
            inside.wait(timeout=10)  # all six readers hold their connection at the same time
            seen.append((db, db.execute("select count(*) from t").fetchone()[0]))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [n for _, n in seen] == [100] * 6
    assert len({id(db) for db, _ in seen}) == 6
    assert len(dbm._idle[str(table)]) == dbm.IDLE_READERS  # the other two were closed


def test_commands_and_tests_close_their_read_connections(tmp_path):
    path = tmp_path / "c.db"
    with dbm.write(path) as db:
        db.execute("create table t(x)")
    with dbm.read(path) as db:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("select 1")
    assert str(path) not in dbm._idle
