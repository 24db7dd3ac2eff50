import os
from pathlib import Path

import pytest

from lib import db as dbm

os.environ.setdefault("CHIBO_TESTING", "1")


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch) -> Path:
    """A fresh migrated database file, also set as CHIBO_DB."""
    path = tmp_path / "test.db"
    monkeypatch.setenv("CHIBO_DB", str(path))
    dbm.init(path)
    return path


@pytest.fixture
def db(db_path: Path):
    """An open connection to the fresh database, in autocommit mode."""
    conn = dbm.connect(db_path)
    yield conn
    conn.close()
