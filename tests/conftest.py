import os
from pathlib import Path

import pytest

from lib import db as dbm

os.environ.setdefault("CHIBO_TESTING", "1")

# Test modules whose tests taking a database run on both engines (the `engine` parameter): stores, figures,
# imports and security. Every other test runs on SQLite alone, under its usual id.
BOTH_ENGINES = {
    "test_stores.py", "test_metrics.py", "test_metrics_due.py", "test_importer.py", "test_members_import.py",
    "test_security.py", "test_abuse_records.py", "test_members.py", "test_marks.py", "test_pg.py",
    "test_pg_equal.py", "test_commune_scope.py",
}
# Tests in those modules that read the SQLite file itself (its path, sqlite3 on it): SQLite only.
SQLITE_ONLY = {
    "test_meetings_read_through_an_index",  # reads SQLite's EXPLAIN QUERY PLAN
    "test_check_and_write_hold_the_write_lock_together",  # opens the file with sqlite3 to try BEGIN IMMEDIATE
}


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames and Path(metafunc.module.__file__).name in BOTH_ENGINES \
            and metafunc.function.__name__ not in SQLITE_ONLY:
        metafunc.parametrize("engine", ["sqlite", "postgresql"])


@pytest.fixture
def engine() -> str:
    """The engine a test's database runs on: SQLite unless the module is in BOTH_ENGINES (then both)."""
    return "sqlite"


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the run (tests/pgcluster.py), stopped after; missing: skipped, or a
    failure under CI=true (CI must run the PostgreSQL tests: .ci/run installs the server)."""
    from tests.pgcluster import Cluster, bindir

    found = bindir()
    cluster = Cluster(found).start() if found else None
    yield cluster
    if cluster is not None:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """A new migrated database on the run's PostgreSQL cluster, dropped after (no PostgreSQL: skipped, or failed
    under CI=true)."""
    from tests.pgcluster import required

    cluster = required(pg_cluster)
    url = cluster.fresh()
    yield url
    cluster.drop(url)


@pytest.fixture(scope="module")
def main_dir(request, tmp_path_factory) -> Path:
    """lib/ and db/ as they were at the test module's MAIN commit (tests/helpers.code_of): the code whose outputs
    the module compares this code's with (test_docx13, test_report_speed)."""
    from tests.helpers import code_of

    return code_of(request.module.MAIN, tmp_path_factory.mktemp(f"main_code_{request.module.__name__}"))


@pytest.fixture(scope="module")
def demo_db(request, tmp_path_factory) -> Path:
    """The Càng Long demo at 3,000 meetings (seed 11) up to the test module's DEMO_TODAY (renamed and merged
    communes, appendices included): the database both codes' outputs are taken from."""
    from tests.helpers import demo_3000

    return demo_3000(tmp_path_factory.mktemp(f"demo_{request.module.__name__}") / "demo.db", request.module.DEMO_TODAY)


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch, engine: str, request):
    """A fresh migrated database, also set as CHIBO_DB: a file (SQLite), or a postgresql:// URL."""
    if engine == "postgresql":
        from tests.pgcluster import required

        cluster = required(request.getfixturevalue("pg_cluster"))
        url = cluster.fresh()
        monkeypatch.setenv("CHIBO_DB", url)
        yield url
        cluster.drop(url)
        return
    path = tmp_path / "test.db"
    monkeypatch.setenv("CHIBO_DB", str(path))
    dbm.init(path)
    yield path


@pytest.fixture
def db(db_path: Path):
    """An open connection to the fresh database, in autocommit mode."""
    conn = dbm.connect(db_path)
    yield conn
    conn.close()
