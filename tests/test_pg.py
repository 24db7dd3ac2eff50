"""The app on PostgreSQL (issue 17): the same schema, the same figures byte for byte, a copy either way, row locks."""

import json
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from lib import db as dbm
from lib import demo, metrics, pg, store
from lib.domain import SYSTEM, ValidationError
from lib.metrics import Filters
from tests.factories import small_directory
from tests.pgcluster import assert_next_id_follows, required

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 20)
PERIODS = ("2025", "2025-Q2", "2025-06", "2026-Q3")
PAGES = ("overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page", "report_page")
FILTERS = (Filters(), Filters(rollup=True), Filters(cell_types=("co_quan",)))


def _cluster(pg_cluster):
    return required(pg_cluster)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    """The demo, built once on SQLite."""
    path = tmp_path_factory.mktemp("pgdemo") / "demo.db"
    demo.load(path, today=TODAY)
    return path


@pytest.fixture(scope="module")
def demo_pg(pg_cluster, demo_file):
    """The SQLite demo copied into a new PostgreSQL database."""
    cluster = _cluster(pg_cluster)
    url = cluster.fresh()
    dbm.copy(demo_file, url)
    yield url
    cluster.drop(url)


def _figures(where) -> dict[str, str]:
    # metrics --json's content and every page bundle, as the strings the app and the CLI would print.
    out = {}
    with dbm.read(where) as db:
        for period in PERIODS:
            out[f"metrics {period}"] = json.dumps(metrics.compute(db, period), ensure_ascii=False, indent=2)
        for i, filters in enumerate(FILTERS):
            for name in PAGES:
                out[f"{name} {i}"] = json.dumps(getattr(metrics, name)(db, "2025", filters, TODAY),
                                                ensure_ascii=False, default=str)
        for period in ("2025", "2026-Q3"):
            out[f"member_attendance {period}"] = json.dumps(
                metrics.member_attendance(db, SYSTEM, period, today=TODAY), ensure_ascii=False, default=str)
            out[f"member_flags {period}"] = json.dumps(
                metrics.member_flags(db, SYSTEM, period, today=TODAY), ensure_ascii=False, default=str)
    return out


def _cli_metrics(where, period: str) -> str:
    run = subprocess.run([sys.executable, "-m", "lib", "--db", str(where), "metrics", "--period", period, "--json"],
                         cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "CHIBO_TESTING": "1"})
    return run.stdout


def _rows(where) -> dict[str, list[tuple]]:
    with dbm.read(where) as db:
        tables = [t for t in db.table_names() if t not in dbm.NOT_COPIED and not t.startswith("sqlite_")]
        out = {}
        for table in tables:
            keys = db[table].pks if db[table].pks != ["rowid"] else None
            cols = [c.name for c in db[table].columns]
            order = ", ".join(keys) if keys else ", ".join(cols)
            out[table] = [tuple(r) for r in db.execute(f"select {', '.join(cols)} from {table} order by {order}")]
    return out


# ---- the core: the demo on SQLite and on PostgreSQL gives the same strings ------------------------------------

def test_demo_copied_to_postgresql_gives_the_same_figures_and_page_bundles(demo_file, demo_pg):
    ours, theirs = _figures(demo_file), _figures(demo_pg)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == theirs[key], key
    # the figures are the demo's, not empty ones
    assert '"attendance_by_unit"' in ours["metrics 2025"] and json.loads(ours["metrics 2025"])["attendance_by_unit"]


def test_round_trip_keeps_every_row_and_metrics_json(demo_file, demo_pg, tmp_path):
    back = tmp_path / "back.db"
    counts = dbm.copy(demo_pg, back)
    assert counts["meetings"] > 1000 and counts["attendance_marks"] > 1000 and counts["unit_tree"] > 0
    original, on_pg, returned = _rows(demo_file), _rows(demo_pg), _rows(back)
    assert original.keys() == on_pg.keys() == returned.keys()
    for table in original:
        assert on_pg[table] == original[table], table
        assert returned[table] == original[table], table
    for period in ("2025", "2025-Q2"):
        text = _cli_metrics(demo_file, period)
        assert text.startswith("{") and _cli_metrics(demo_pg, period) == text == _cli_metrics(back, period)


def test_copied_database_takes_new_rows_after_the_largest_id(demo_pg):
    # ids were kept, so the identity sequences were moved past them: a new row gets max(id) + 1, as in SQLite.
    assert_next_id_follows(demo_pg, "weaknesses", "insert into weaknesses(unit_id, category, noted_on, severity, "
                           "status) values ((select min(id) from units), 'khac', '2026-11-01', 'low', 'open')")


def test_copy_refuses_a_destination_holding_data(demo_file, demo_pg):
    with pytest.raises(dbm.CopyRefused) as refused:
        dbm.copy(demo_file, demo_pg)
    assert refused.value.key == "copy_dest_not_empty" and "units" in str(refused.value)


# ---- schema ----------------------------------------------------------------------------------------------------

def _schema(where) -> dict:
    with dbm.read(where) as db:
        tables = [t for t in db.table_names() if not t.startswith("sqlite_")]
        out = {}
        for t in tables:
            cols = [(c.name, db[t].columns_dict[c.name].__name__) for c in db[t].columns]
            out[t] = (cols, db[t].pks)
        return out


def test_migrations_build_the_same_schema_on_both_engines(tmp_path, pg_cluster):
    cluster = _cluster(pg_cluster)
    url = cluster.fresh()
    try:
        dbm.init(url)  # init again: nothing pending, nothing changes
        lite, post = _schema(dbm.init(tmp_path / "s.db")), _schema(url)
        assert lite == post
        assert post["meetings"][1] == ["id"] and post["attendance_marks"][1] == ["meeting_id", "member_id"]
        with dbm.read(url) as db:
            applied = [r[0] for r in db.execute("select name from _sqlite_migrations order by id")]
            indexes = {r[0] for r in db.execute("select indexname from pg_indexes where schemaname = current_schema()")}
        from db.migrations import migrations

        assert applied == [m.name for m in migrations._migrations]
        assert {"idx_meetings_live_held_cell", "idx_marks_absent", "idx_units_code"} <= indexes
    finally:
        cluster.drop(url)


def test_triggers_keep_the_tree_and_the_append_only_log_on_postgresql(pg_cluster):
    cluster = _cluster(pg_cluster)
    url = cluster.fresh()
    try:
        with dbm.write(url) as db:
            a = db.execute("insert into units(code, name, kind) values ('A', 'A', 'tinh')").lastrowid
            b = db.execute("insert into units(code, name, kind, parent_id) values ('B', 'B', 'xa', ?)", [a]).lastrowid
            c = db.execute("insert into units(code, name, kind, parent_id) values ('C', 'C', 'xa', ?)", [b]).lastrowid
        with dbm.read(url) as db:
            tree = db.execute("select ancestor_id, descendant_id, depth from unit_tree order by 1, 2").fetchall()
        assert tree == [(a, a, 0), (a, b, 1), (a, c, 2), (b, b, 0), (b, c, 1), (c, c, 0)]
        import sqlite3

        with pytest.raises(sqlite3.IntegrityError, match="cycle"), dbm.write(url) as db:
            db.execute("update units set parent_id = ? where id = ?", [c, a])
        with dbm.write(url) as db:  # C moves under A: its paths follow
            db.execute("update units set parent_id = ? where id = ?", [a, c])
            assert db.execute("select depth from unit_tree where ancestor_id = ? and descendant_id = ?",
                              [a, c]).fetchone() == (1,)
            assert db.execute("select 1 from unit_tree where ancestor_id = ? and descendant_id = ?",
                              [b, c]).fetchone() is None
            db.execute("insert into audit_log(at, action) values ('2026-01-01', 'x')")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), dbm.write(url) as db:
            db.execute("delete from audit_log")
    finally:
        cluster.drop(url)


# ---- the translation: SQLite's functions give SQLite's answers ---------------------------------------------------

# Each expression with the value SQLite gives (worked out by hand; the test checks SQLite agrees too).
EXPRESSIONS = [
    ("date('2025-01-31', '+1 month')", "2025-03-03"),
    ("date('2024-02-29', '+1 year')", "2025-03-01"),
    ("date('2025-03-01', '+1 month', '-1 day')", "2025-03-31"),
    ("date('2025-12-15', '+' || 20 || ' days')", "2026-01-04"),
    ("date('not a date')", None),
    ("julianday('2025-03-01') - julianday('2025-02-01')", 28.0),
    ("julianday('2000-01-01')", 2451544.5),
    ("cast(julianday('2025-03-01') - julianday('2024-12-31') as integer)", 60),
    ("printf('%012d', 42)", "000000000042"),
    ("(select group_concat(value) from json_each('[3, 1, 2]'))", "3,1,2"),
    ("(select group_concat(value, ';') from json_each('[\"a\", \"b\"]'))", "a;b"),
    ("(select count(*) from json_each(?))", 3),
    ("2 in (select value from json_each('[1, 2]'))", 1),
    ("max(1, 5, 3)", 5),
    ("max(1, null)", None),
    ("ifnull(null, 7)", 7),
    ("'Nghị Quyết' like 'nghị%'", 1),
    ("'Ế' like 'ế'", 0),
    ("case when 2 then 'yes' else 'no' end", "yes"),
    ("coalesce(3 > 2, 0) + 1", 2),
    ("(select sum(x = 1) from (select 1 as x union all select 2 union all select 1))", 2),
    ("(select sum(x) from (select 1 as x union all select 2))", 3),
    ("(select avg(x) from (select 1 as x union all select 2))", 1.5),
    ("round(2.0 / 3, 2)", 0.67),
    ("1.0 * 1 / 3", 1 / 3),
    ("7 / 2", 3),
    ("substr('2025-06-30', 1, 7)", "2025-06"),
    ("instr('a#b', '#')", 2),
    ("cast(substr('2025-06-30#000000000042', instr('2025-06-30#000000000042', '#') + 1) as integer)", 42),
]


@pytest.mark.parametrize(("expression", "expected"), EXPRESSIONS, ids=[e for e, _ in EXPRESSIONS])
def test_sqlite_functions_agree_on_both_engines(db_path, engine, expression, expected):
    params = ["[1, 2, 3]"] if "?" in expression else []
    with dbm.read(db_path) as db:
        value = db.execute(f"select {expression}", params).fetchone()[0]
    assert value == expected and type(value) is type(expected)


def test_translation_is_cached_and_rewrites_sqlite_only_syntax():
    (sql,), takes, _ = pg.translate("select * from settings where key = :on and value like '%x%'")
    assert takes and "%(on)s" in sql and "ILIKE '%%x%%'" in sql
    assert pg.translate("PRAGMA foreign_keys = ON") == ((), False, False)
    assert pg.translate("BEGIN IMMEDIATE")[0][0].strip() == "BEGIN"
    (sql,), _, _ = pg.translate("select u.code, count(*) from units u join cells c on c.unit_id = u.id group by u.id")
    assert "GROUP BY u.id, u.code" in sql
    assert pg.translate.cache_info().hits >= 0
    pg.translate("select 1")
    before = pg.translate.cache_info().hits
    pg.translate("select 1")
    assert pg.translate.cache_info().hits == before + 1


def test_insert_or_ignore_and_replace(db_path, engine):
    with dbm.write(db_path) as db:
        db.execute("insert or ignore into settings(key, value) values ('k', 'one')")
        db.execute("insert or ignore into settings(key, value) values ('k', 'two')")
        assert db.execute("select value from settings where key = 'k'").fetchone() == ("one",)
        db.execute("insert or replace into settings(key, value) values ('k', 'three')")
        assert db.execute("select value from settings where key = 'k'").fetchone() == ("three",)


# ---- concurrency: rows, not the whole database --------------------------------------------------------------------

def test_a_concurrent_edit_of_the_same_row_is_refused_as_stale(pg_url):
    ids = small_directory(pg_url)
    with dbm.read(pg_url) as db:
        version = store.version(db, "units", ids["u1"])
    first_wrote, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        with dbm.write(pg_url) as db:
            store.update(db, SYSTEM, "units", ids["u1"], {"name": "Tên mới"}, version=version)
            first_wrote.set()
            release.wait(10)

    def second():
        first_wrote.wait(10)
        try:
            with dbm.write(pg_url) as db:
                store.update(db, SYSTEM, "units", ids["u1"], {"name": "Tên khác"}, version=version)
            outcome["second"] = "written"
        except Exception as exc:  # noqa: BLE001 - the refusal is what is looked for
            outcome["second"] = exc

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    first_wrote.wait(10)
    b.join(0.5)  # the second waits on the row's lock while the first is open
    assert b.is_alive()
    release.set()
    a.join(10)
    b.join(10)
    assert isinstance(outcome["second"], ValidationError)
    with dbm.read(pg_url) as db:
        assert db.execute("select name from units where id = ?", [ids["u1"]]).fetchone() == ("Tên mới",)


def test_writers_of_different_rows_do_not_wait_for_each_other(pg_url):
    ids = small_directory(pg_url)
    release = threading.Event()
    opened = threading.Event()

    def hold():
        with dbm.write(pg_url) as db:
            store.update(db, SYSTEM, "units", ids["u1"], {"name": "Một"})
            opened.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert opened.wait(10)
        # SQLite's BEGIN IMMEDIATE would wait here for the holder's whole-file lock; PostgreSQL writes at once.
        with dbm.write(pg_url) as db:
            db.execute("select set_config('lock_timeout', '2s', true)")
            store.update(db, SYSTEM, "units", ids["u2"], {"name": "Hai"})
    finally:
        release.set()
        holder.join(10)
    with dbm.read(pg_url) as db:
        assert [r[0] for r in db.execute("select name from units where id in (?, ?) order by id",
                                         [ids["u1"], ids["u2"]])] == ["Một", "Hai"]


def test_health_of_a_postgresql_address(pg_url, pg_cluster):
    from lib import health

    assert health.problem(pg_url) is None
    empty = pg_cluster.url("postgres")
    assert health.problem(empty) is not None


# ---- the command line ----------------------------------------------------------------------------------------------

def test_cli_copy_db_both_ways_and_its_refusals(tmp_path, pg_url, capsys):
    from lib import cli

    source = tmp_path / "small.db"
    dbm.init(source)
    ids = small_directory(source)
    assert cli.main(["copy-db", "--from", str(source), "--to", pg_url]) == 0
    assert "units=2" in capsys.readouterr().out
    with dbm.read(pg_url) as db:
        assert db.execute("select code from units where id = ?", [ids["u2"]]).fetchone() == ("DP",)
    back = tmp_path / "back.db"
    assert cli.main(["--lang", "en", "copy-db", "--from", pg_url, "--to", str(back)]) == 0
    assert _rows(back) == _rows(source)
    # a destination with data, a missing source: refused, saying what to do
    assert cli.main(["--lang", "en", "copy-db", "--from", str(source), "--to", pg_url]) == 2
    assert "already holds data (table units)" in capsys.readouterr().err
    assert cli.main(["--lang", "en", "copy-db", "--from", str(tmp_path / "none.db"), "--to", str(back)]) == 2
    assert "there is no such database file" in capsys.readouterr().err


def test_cli_on_a_postgresql_address(pg_url, capsys, monkeypatch):
    from lib import cli, config

    monkeypatch.setenv("CHIBO_DB", pg_url)
    assert config.db_path() == pg_url and dbm.location(None) == pg_url
    # backup on PostgreSQL is pg_dump's (tests/test_pg_deploy.py); a folder that is not there is refused
    assert cli.main(["--lang", "en", "backup", "/tmp/never-made-folder/x.dump"]) == 2
    assert "does not exist" in capsys.readouterr().err and not Path("/tmp/never-made-folder").exists()
    small_directory(pg_url)
    assert cli.main(["units"]) == 0
    assert "NL" in capsys.readouterr().out


# ---- the data version (m013): cached figures expire on every server when the data changes --------------------------

def test_data_version_moves_with_each_audited_write(db_path, engine):
    from lib import audit

    with dbm.read(db_path) as db:
        first = audit.data_version(db)
    ids = small_directory(db_path)
    with dbm.read(db_path) as db:
        second = audit.data_version(db)
    assert second > first
    with dbm.write(db_path) as db:  # a sign-in changes no figure
        db.execute("insert into audit_log(at, username, action) values ('2026-01-01', 'a', 'login')")
    with dbm.read(db_path) as db:
        assert audit.data_version(db) == second
    with dbm.write(db_path) as db:
        store.update(db, SYSTEM, "units", ids["u1"], {"name": "Tên mới"})
    with dbm.read(db_path) as db:
        assert audit.data_version(db) > second


def test_data_version_follows_the_commit_order_not_the_ids(pg_url):
    # Two writers: A's audit entry gets the smaller id but A commits last. The newest id (the key before m013) is
    # B's, and stays so after A's commit: cached figures would never show A's change. The counter moves at A's commit.
    from lib import audit

    small_directory(pg_url)
    a, b = dbm.connect(pg_url), dbm.connect(pg_url)
    try:
        a.execute("BEGIN")
        a.execute("insert into audit_log(at, username, action) values ('2026-01-01', 'a', 'update')")
        b.execute("BEGIN")
        b.execute("insert into audit_log(at, username, action) values ('2026-01-01', 'b', 'update')")
        b.execute("COMMIT")
        with dbm.read(pg_url) as db:
            after_b = audit.data_version(db)
            newest_after_b = db.execute("select max(id) from audit_log").fetchone()[0]
        a.execute("COMMIT")
        with dbm.read(pg_url) as db:
            assert db.execute("select max(id) from audit_log").fetchone()[0] == newest_after_b  # the old key: stuck
            assert audit.data_version(db) == after_b + 1
    finally:
        a.close()
        b.close()


def test_a_refusing_trigger_is_translated_by_its_shape(pg_url):
    # Migrations after m011 (the register's m012 on main) guard rows with SQLite triggers that only refuse: each
    # becomes the same row trigger on PostgreSQL, its condition and message kept, without a hand-written copy.
    import sqlite3

    with dbm.write(pg_url) as db:
        db.execute("CREATE TABLE guarded (id INTEGER PRIMARY KEY, status TEXT)")
        db.execute("CREATE TRIGGER guarded_issued_no_update BEFORE UPDATE ON guarded WHEN OLD.status = 'issued' "
                   "BEGIN SELECT RAISE(ABORT, 'guarded: an issued row is never changed'); END")
        db.execute("CREATE TRIGGER guarded_no_delete BEFORE DELETE ON guarded "
                   "BEGIN SELECT RAISE(ABORT, 'guarded is issued: never changed'); END")
        db.execute("insert into guarded(id, status) values (1, 'draft'), (2, 'issued')")
        db.execute("update guarded set status = 'x' where id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="never changed"), dbm.write(pg_url) as db:
        db.execute("update guarded set status = 'x' where id = 2")
    with pytest.raises(sqlite3.IntegrityError, match="is issued"), dbm.write(pg_url) as db:
        db.execute("delete from guarded where id = 1")
    with dbm.read(pg_url) as db:
        assert db.execute("select id, status from guarded order by id").fetchall() == [(1, "x"), (2, "issued")]
