"""PostgreSQL at scale (issue 17): copy-db loads with COPY, the translation's faster forms give SQLite's answers."""

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from lib import db as dbm
from lib import demo, metrics, pg
from tests.factories import small_directory
from tests.pgcluster import assert_next_id_follows, required

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    """A small demo (3,000 meetings) on SQLite."""
    path = tmp_path_factory.mktemp("pgscale") / "demo.db"
    demo.load(path, meetings=3000, today=TODAY)
    return path


def _rows(where) -> dict[str, list[tuple]]:
    with dbm.read(where) as db:
        out = {}
        for table in [t for t in db.table_names() if t not in dbm.NOT_COPIED and not t.startswith("sqlite_")]:
            cols = [c.name for c in db[table].columns]
            keys = db[table].pks if db[table].pks != ["rowid"] else cols
            out[table] = [tuple(r) for r in db.execute(f"select {', '.join(cols)} from {table} "
                                                       f"order by {', '.join(keys)}")]
    return out


def _schema_objects(url: str) -> tuple[set, set]:
    with dbm.read(url) as db:
        raw = db.conn.raw
        indexes = {r[0] for r in raw.execute(
            "select indexdef from pg_indexes where schemaname = current_schema()").fetchall()}
        keys = {(r[0], r[1]) for r in raw.execute(
            "select conrelid::regclass::text, pg_get_constraintdef(oid) from pg_constraint where contype = 'f'")}
    return indexes, keys


# ---- loading: COPY, indexes and foreign keys set aside and put back ---------------------------------------------

def test_copy_streams_every_table_with_copy_and_keeps_rows_figures_sequences_and_schema(small_demo, pg_cluster,
                                                                                        monkeypatch):
    cluster = required(pg_cluster)
    url, fresh = cluster.fresh(), cluster.fresh()
    try:
        # Every table counts as big: each loads with its indexes and foreign keys set aside and put back.
        monkeypatch.setattr(dbm, "BULK_ROWS", 1)

        def no_executemany(*args, **kwargs):
            raise AssertionError("a copy into PostgreSQL writes with COPY, not a statement per row")

        monkeypatch.setattr(pg.PgDatabase, "executemany", no_executemany)
        counts = dbm.copy(small_demo, url)
        assert counts["meetings"] == 3000 and counts["weaknesses"] > 0 and counts["unit_tree"] > 0
        assert _rows(url) == _rows(small_demo)
        with dbm.read(small_demo) as lite, dbm.read(url) as post:
            for period in ("2025", "2026-Q3"):
                assert json.dumps(metrics.compute(post, period, today=TODAY), ensure_ascii=False) == \
                    json.dumps(metrics.compute(lite, period, today=TODAY), ensure_ascii=False)
        # the indexes and foreign keys are those a migrated database has, the same definitions
        assert _schema_objects(url) == _schema_objects(fresh)
        # ids kept and sequences moved past them: a new row gets max(id) + 1, as in SQLite
        assert_next_id_follows(url, "meetings", "insert into meetings(cell_id, held_on, mtype, members_total, present, "
                               "absent_excused, absent_unexcused) values ((select min(id) from cells), '2026-11-01', "
                               "'chuyen_de', 10, 9, 1, 0)")
        # VACUUM (ANALYZE) ran after the load: the table's row count is known (-1 until a table is first read so)
        with dbm.read(url) as db:
            tuples = db.conn.raw.execute("select reltuples from pg_class where relname = 'meetings'").fetchone()[0]
        assert tuples == 3000
    finally:
        cluster.drop(url)
        cluster.drop(fresh)


def test_copy_with_a_broken_foreign_key_is_refused_whole(tmp_path, pg_url, monkeypatch):
    # The source's foreign keys were off when a meeting of a cell that does not exist was written: the keys put
    # back after the load find it, and nothing of the copy stays.
    source = tmp_path / "broken.db"
    dbm.init(source)
    small_directory(source)
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("insert into meetings(cell_id, held_on, mtype, members_total, present, absent_excused, "
                 "absent_unexcused) values (999, '2025-03-10', 'thuong_ky', 10, 9, 1, 0)")
    conn.commit()
    conn.close()
    monkeypatch.setattr(dbm, "BULK_ROWS", 1)
    with pytest.raises(sqlite3.Error):
        dbm.copy(source, pg_url)
    with dbm.read(pg_url) as db:
        assert db.execute("select count(*) from units").fetchone()[0] == 0
        assert db.execute("select count(*) from meetings").fetchone()[0] == 0
        indexes = {r[0] for r in db.execute("select indexname from pg_indexes where schemaname = current_schema()")}
    assert "idx_meetings_live_held_cell" in indexes  # the rollback put the set-aside index back


def test_copy_refuses_a_destination_with_data_before_setting_anything_aside(small_demo, pg_url, monkeypatch):
    monkeypatch.setattr(dbm, "BULK_ROWS", 1)
    small_directory(pg_url)
    with pytest.raises(dbm.CopyRefused) as refused:
        dbm.copy(small_demo, pg_url)
    assert refused.value.key == "copy_dest_not_empty"


def test_migration_indexes_weaknesses_by_unit_on_postgresql_only(pg_url, tmp_path):
    with dbm.read(pg_url) as db:
        found = db.conn.raw.execute("select indexdef from pg_indexes where indexname = 'idx_weaknesses_unit_id'")
        (definition,) = found.fetchone()
    assert "(unit_id) INCLUDE (id, cell_id, category, severity, status, noted_on, due_on, resolved_on" in definition
    path = tmp_path / "s.db"
    dbm.init(path)
    conn = sqlite3.connect(path)
    assert conn.execute("select count(*) from sqlite_master where name = 'idx_weaknesses_unit_id'").fetchone() == (0,)
    assert conn.execute("select 1 from _sqlite_migrations where name = 'm014_pg_scale'").fetchone() == (1,)
    conn.close()


# ---- the translation's faster forms: the same answers as SQLite --------------------------------------------------

# Worked out by hand (SQLite counts a day past the month's end into the next month, keeps a date without
# modifiers as typed, and the julian day of 2000-01-01 is 2451544.5).
DATES = [
    ("date('2025-12-31', '+1 day')", "2026-01-01"),
    ("date('2024-02-28', '+1 day')", "2024-02-29"),
    ("date('2025-03-01', '-1 day')", "2025-02-28"),
    ("date('2025-06-15', '+7 days')", "2025-06-22"),
    ("date('2025-02-01', '+1 month', '-1 day')", "2025-02-28"),
    ("date('2024-02-01', '+1 month', '-1 day')", "2024-02-29"),
    ("date('2025-02-28', '+1 month', '-1 day')", "2025-03-27"),
    ("date('2025-01-31', '+1 month', '-1 day')", "2025-03-02"),
    ("date('2025-02-30')", "2025-02-30"),
    ("date('2025-04-31', '+1 day')", "2025-05-02"),
    ("date('2025-06-15 10:30', '+1 day')", "2025-06-16"),
    ("date('not a day', '+1 day')", None),
    ("julianday('2000-01-01')", 2451544.5),
    ("julianday('2025-02-30')", 2460736.5),
    ("julianday('2025-03-02') - julianday('2025-02-27')", 3.0),
    ("julianday('2025-03-02 12:00')", 2460737.0),
    ("julianday('nonsense')", None),
]


@pytest.mark.parametrize(("expression", "expected"), DATES, ids=[e for e, _ in DATES])
def test_dates_agree_with_sqlite(pg_url, expression, expected):
    lite = sqlite3.connect(":memory:")
    assert lite.execute(f"select {expression}").fetchone()[0] == expected  # the worked answer is SQLite's
    with dbm.read(pg_url) as db:
        assert db.execute(f"select {expression}").fetchone()[0] == expected


def test_date_of_a_plain_day_is_computed_in_the_query_not_by_plpgsql(pg_url):
    with dbm.read(pg_url) as db:
        plan = "\n".join(r[0] for r in db.conn.raw.execute(
            "explain verbose select sqlite_date(held_on, '+1 day'), sqlite_julianday(held_on) from meetings"))
    # inlined: the plain-day forms are expressions of the row; the PL/pgSQL reader stays for other forms only
    assert "sqlite_date(" not in plan and "sqlite_julianday(" not in plan and "sqlite_any_date(" in plan


def test_sum_of_a_comparison_counts_as_in_sqlite(pg_url):
    (sql,), _, _ = pg.translate("select sum(a > 1) from t")
    assert "SUM(CAST(a > 1 AS INT))" in sql  # the built-in sum, not the sum(boolean) aggregate
    lite = sqlite3.connect(":memory:")
    lite.execute("create table vals (a integer)")
    with dbm.write(pg_url) as db:
        db.execute("create table vals (a integer)")
    for rows, expected in (([1, 2, 3, None], 2), ([], None), ([None], None), ([0], 0)):
        lite.execute("delete from vals")
        lite.executemany("insert into vals values (?)", [(r,) for r in rows])
        with dbm.write(pg_url) as db:
            db.execute("delete from vals")
            for r in rows:
                db.execute("insert into vals values (?)", [r])
            got = db.execute("select sum(a > 1), sum(b) from (select a, a > 1 as b from vals)").fetchone()
        assert lite.execute("select sum(a > 1), sum(b) from (select a, a > 1 as b from vals)").fetchone() \
            == (expected, expected) == got
        assert type(got[0]) is type(expected)


def test_a_cross_join_keeps_its_written_order_for_that_statement_only(pg_url):
    with dbm.read(pg_url) as db:
        before = db.conn.raw.execute("show join_collapse_limit").fetchone()[0]
        inside = db.execute("select current_setting('join_collapse_limit') from (select 1 as x) s "
                            "cross join (select 2 as y) t").fetchone()
        plain = db.execute("select current_setting('join_collapse_limit') from (select 1 as x) s "
                           "join (select 2 as y) t on t.y = s.x + 1").fetchone()
        after = db.conn.raw.execute("show join_collapse_limit").fetchone()[0]
    assert inside == ("1",) and plain == (before,) and after == before != "1"


def test_a_failed_statement_with_a_cross_join_leaves_the_setting_as_it_was(pg_url):
    with dbm.read(pg_url) as db:
        with pytest.raises(sqlite3.Error):
            db.execute("select nosuchcolumn from settings s cross join settings t")
        assert db.conn.raw.execute("show join_collapse_limit").fetchone()[0] != "1"
        with pytest.raises(sqlite3.Error), dbm.write(db):
            db.execute("select nosuchcolumn from settings s cross join settings t")
        assert db.conn.raw.execute("show join_collapse_limit").fetchone()[0] != "1"


# ---- the figures whose SQL changed: hand-built rows, worked answers, both engines --------------------------------

def _weakness_world(where) -> None:
    ids = small_directory(where)
    u1, u2 = ids["u1"], ids["u2"]
    with dbm.write(where) as db:
        rows = [  # (unit, noted_on, status, due_on, resolved_on)
            (u1, "2010-03-01", "resolved", "2010-04-01", "2010-05-01"),  # resolved long ago: counts nowhere
            (u1, "2024-12-01", "open", "2025-01-15", None),  # open at the end of 2025, overdue
            (u1, "2025-02-01", "resolved", "2025-03-01", "2026-02-01"),  # noted in 2025, open at its end, overdue
            (u2, "2025-06-01", "resolved", "2025-07-01", "2025-06-20"),  # noted in 2025, resolved in it
            (u2, "2025-11-01", "in_progress", "2026-03-01", None),  # noted in 2025, open, not yet due
            (u2, "2026-01-10", "open", "2026-02-01", None),  # after the period: not yet noted then
            (u2, "2020-01-01", "resolved", None, None),  # resolved without a date: stays resolved
        ]
        for unit, noted, status, due, resolved in rows:
            db.execute("insert into weaknesses(unit_id, category, noted_on, severity, status, due_on, resolved_on) "
                       "values (?, 'khac', ?, 'low', ?, ?, ?)", [unit, noted, status, due, resolved])


def test_weaknesses_open_on_a_day_count_only_those_that_can_count(tmp_path, pg_url):
    lite = tmp_path / "w.db"
    dbm.init(lite)
    for where in (lite, pg_url):
        _weakness_world(where)
        with dbm.read(where) as db:
            got = metrics._weaknesses_as_of(db, metrics.parse_period("2025"), metrics.Filters(), TODAY)
            one = metrics._weaknesses_as_of(db, metrics.parse_period("2025"), metrics.Filters(unit_codes=("DP",)),
                                            TODAY)
        assert got == {"open": 3, "overdue": 2, "noted": 3}, where
        assert one == {"open": 1, "overdue": 0, "noted": 2}, where
