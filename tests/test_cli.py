import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lib import db as dbm
from lib import users
from tests.factories import add_meeting, small_directory

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, stdin: str = "", env_db: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m lib` as a user would."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "CHIBO_DB"}
    if env_db:
        env["CHIBO_DB"] = str(env_db)
    return subprocess.run([sys.executable, "-m", "lib", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_init_then_create_user_from_stdin(tmp_path):
    path = tmp_path / "x.db"
    assert cli("--db", str(path), "init").returncode == 0
    done = cli("--db", str(path), "create-user", "Tochuc", "--role", "admin", "--password-stdin",
               stdin="Matkhau-2025\n")
    assert done.returncode == 0, done.stderr
    with dbm.read(path) as db:
        user = users.get_user(db, "tochuc")
    assert user["role"] == "admin" and user["password_hash"].startswith("$2b$")
    assert users.check_password("Matkhau-2025", user["password_hash"])


def test_create_user_weak_password_and_unknown_unit_refused(tmp_path):
    path = tmp_path / "x.db"
    weak = cli("--db", str(path), "create-user", "a1b", "--role", "viewer", "--password-stdin", stdin="123\n")
    assert weak.returncode == 1 and "Mật khẩu" in weak.stderr and "Traceback" not in weak.stderr
    unknown = cli("--db", str(path), "create-user", "clerk1", "--role", "clerk", "--unit", "NOPE",
                  "--password-stdin", stdin="Matkhau-2025\n")
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr
    with dbm.read(path) as db:
        assert users.count_users(db) == 0


def test_env_var_picks_database(tmp_path):
    path = tmp_path / "env.db"
    assert cli("init", env_db=path).returncode == 0
    assert path.is_file()


def test_backup_is_a_consistent_copy(tmp_path, db_path):
    ids = small_directory(db_path)
    add_meeting(db_path, ids["c1"], "2025-04-30")
    dest = tmp_path / "copy.db"
    done = cli("--db", str(db_path), "backup", str(dest))
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(dest)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select count(*) from meetings").fetchone()[0] == 1
    conn.close()


def test_backup_of_missing_file_is_a_message(tmp_path):
    done = cli("--db", str(tmp_path / "none.db"), "backup", str(tmp_path / "b.db"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.parametrize("period", ["2025-Q5", "25", "2025-13", "năm nay"])
def test_metrics_bad_period_is_a_message(db_path, period):
    done = cli("--db", str(db_path), "metrics", "--period", period, "--json")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.strip()


def test_metrics_json_shape(db_path):
    ids = small_directory(db_path)
    add_meeting(db_path, ids["c1"], "2025-03-31", present=21, leaders=[{"leader_id": ids["l1"]}])
    done = cli("--db", str(db_path), "metrics", "--period", "2025-Q1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["period"] == {"label": "2025-Q1", "start": "2025-01-01", "end": "2025-03-31"}
    assert set(data) == {"period", "attendance_by_unit", "leader_participation", "weaknesses"}
    nl = next(r for r in data["attendance_by_unit"] if r["unit_code"] == "NL")
    assert set(nl) == {"unit_code", "unit_name", "meetings", "required", "present", "absent_excused",
                       "absent_unexcused", "rate", "cell_months", "held", "coverage", "on_schedule_rate"}
    # 21 of 28 required; 3 cell-months, one held; held on 31 March = fixed day 31.
    assert (nl["meetings"], nl["required"], nl["present"], nl["rate"]) == (1, 28, 21, 0.75)
    assert (nl["cell_months"], nl["held"], nl["coverage"], nl["on_schedule_rate"]) == (3, 1, 0.3333, 1.0)
    leader = next(r for r in data["leader_participation"] if r["leader_code"] == "L1")
    assert set(leader) == {"leader_code", "full_name", "grp", "expected", "attended", "compliance", "reports",
                           "late_reports"}
    assert (leader["expected"], leader["attended"], leader["compliance"], leader["reports"]) == (1, 1, 1.0, 0)
    assert set(data["weaknesses"]) == {"by_category", "by_status", "by_unit", "open_now", "overdue"}
