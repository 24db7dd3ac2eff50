"""The helpers the tests and benches share instead of restating them (branch dups): each does what the copies it
replaced did, and each still fails where what it checks is broken."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from lib import db as dbm
from tests.factories import small_directory
from tests.helpers import REPO, code_of, run_with_code
from tests.pgcluster import THROWAWAY, Cluster, assert_next_id_follows, bindir, required

# ---- tests/pgcluster.Cluster: a kept folder and the server's settings (bench.pgscale's cluster) --------------------


def _show(cluster: Cluster, name: str) -> str:
    return cluster.admin(f"show {name}")[0][0]


def test_the_run_cluster_is_a_throwaway_one_that_does_not_fsync(pg_cluster):
    cluster = required(pg_cluster)
    assert not cluster.kept and cluster.settings == THROWAWAY
    assert (_show(cluster, "fsync"), _show(cluster, "full_page_writes"), _show(cluster, "max_connections")) == \
        ("off", "off", "200")


def test_a_kept_cluster_runs_with_the_settings_given_and_keeps_its_data_between_runs(pg_cluster):
    required(pg_cluster)  # skipped (or failed under CI) where PostgreSQL is not installed, as every engine test
    # under /tmp, not pytest's tmp_path: the server's user must reach the folder (pytest's base is root's alone)
    base = Path(tempfile.mkdtemp(prefix="chibo-kept-"))
    base.chmod(0o755)  # as bench.pgscale's --dir is made
    folder = base / "pg"
    cluster = Cluster(bindir(), folder, settings={"work_mem": "7MB", "random_page_cost": "1.1"}).start()
    try:
        assert cluster.kept and cluster.url("x") == f"postgresql://postgres@/x?host={folder}"
        # the settings given, and nothing of the throwaway's: this server fsyncs
        assert (_show(cluster, "work_mem"), _show(cluster, "random_page_cost")) == ("7MB", "1.1")
        assert (_show(cluster, "fsync"), _show(cluster, "max_connections")) == ("on", "100")
        cluster.admin("CREATE DATABASE kept_one")
    finally:
        cluster.stop()
    assert (folder / "data" / "PG_VERSION").exists() and not (folder / "data" / "postmaster.pid").exists()
    cluster.stop()  # once: a second stop (atexit's) finds no server and does nothing
    again = Cluster(bindir(), folder, settings={"work_mem": "9MB"}).start()
    try:
        # the same cluster started again (no initdb): the database made before is there, with the new settings
        assert again.admin("select datname from pg_database where datname = 'kept_one'") == [("kept_one",)]
        assert _show(again, "work_mem") == "9MB"
        with dbm.read(again.url("kept_one")) as db:
            assert db.conn.raw.execute("select 1").fetchone() == (1,)
    finally:
        again.stop()
        assert folder.is_dir()  # stop leaves a kept folder: the bench removes it itself without --keep
        shutil.rmtree(base, ignore_errors=True)


# ---- tests/pgcluster.assert_next_id_follows: test_pg's and test_pg_scale's "a new row after a copy" ---------------

WEAKNESS = ("insert into weaknesses(unit_id, category, noted_on, severity, status) "
            "values ((select min(id) from units), 'khac', '2026-11-01', 'low', 'open')")


def _two_weaknesses(url: str) -> None:
    small_directory(url)
    with dbm.write(url) as db:
        db.execute(WEAKNESS)
        db.execute(WEAKNESS)


def _weaknesses(url: str) -> list[int]:
    with dbm.read(url) as db:
        return [r[0] for r in db.execute("select id from weaknesses order by id")]


def test_the_next_id_check_passes_where_the_sequence_follows_the_largest_id_and_leaves_no_row(pg_url):
    _two_weaknesses(pg_url)
    before = _weaknesses(pg_url)
    assert len(before) == 2
    assert_next_id_follows(pg_url, "weaknesses", WEAKNESS)
    assert _weaknesses(pg_url) == before


def test_the_next_id_check_fails_where_the_sequence_was_not_moved_to_the_largest_id(pg_url):
    _two_weaknesses(pg_url)
    top = max(_weaknesses(pg_url))
    with dbm.write(pg_url) as db:  # a copy that set the sequence past where it should: ids would skip
        db.conn.raw.execute("select setval(pg_get_serial_sequence('weaknesses', 'id'), %s)", [top + 4])
    with pytest.raises(AssertionError, match=f"got id {top + 5} after the copy's largest {top}"):
        assert_next_id_follows(pg_url, "weaknesses", WEAKNESS)


# ---- tests/helpers: an earlier commit's code run beside this one's (test_docx13, test_report_speed) ---------------

SCRIPT = "import json, sys, lib\nprint('noise')\nprint(json.dumps({'lib': lib.__file__, 'args': sys.argv[1:]}))\n"


def test_code_of_takes_lib_and_db_as_they_were_at_the_commit_and_run_with_code_runs_that_code(tmp_path):
    folder = code_of("HEAD", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["db", "lib"]
    at_head = subprocess.run(["git", "show", "HEAD:lib/db.py"], cwd=REPO, capture_output=True, check=True).stdout
    assert (folder / "lib" / "db.py").read_bytes() == at_head
    # the script imports the folder's lib, not this checkout's; Paths and numbers arrive as strings; the last line
    assert run_with_code(folder, SCRIPT, tmp_path / "x.db", 7) == {
        "lib": str(folder / "lib" / "__init__.py"), "args": [str(tmp_path / "x.db"), "7"]}
    assert run_with_code(REPO, SCRIPT)["lib"] == str(REPO / "lib" / "__init__.py")


def test_run_with_code_fails_the_test_with_the_scripts_error():
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        run_with_code(REPO, "print('{}')\n1 / 0")


# ---- test_pg_locks.second_refused: a race whose second write must wait and then be refused -------------------------

def test_second_refused_gives_the_keys_of_a_second_write_that_waited_and_was_refused(pg_url):
    from lib import directory
    from lib.domain import SYSTEM
    from tests.test_pg_locks import created_twice, second_refused

    ids = small_directory(pg_url)
    raw = {"code": "NL-X", "unit_id": ids["u1"], "name": "Chi bộ X", "cell_type": "ap_khom", "meeting_day": 5}
    assert second_refused(pg_url, lambda db: directory.create_cell(db, SYSTEM, raw),
                          lambda db: directory.create_cell(db, SYSTEM, {**raw, "name": "Chi bộ Y"})) == \
        {"duplicate_code"}
    # created_twice: the same, the second with changes; a second cell of another code is not refused, and that fails
    assert created_twice(pg_url, directory.create_cell, {**raw, "code": "NL-Z"}, {"name": "Chi bộ Z2"}) == \
        {"duplicate_code"}
    with pytest.raises(AssertionError):
        created_twice(pg_url, directory.create_cell, {**raw, "code": "NL-V"}, {"code": "NL-W"})


def test_second_refused_fails_where_the_second_write_did_not_wait(pg_url):
    from lib import meetings
    from lib.domain import SYSTEM
    from tests.factories import meeting
    from tests.test_pg_locks import second_refused

    ids = small_directory(pg_url)
    with pytest.raises(AssertionError, match="did not wait for the first"):  # two cells: nothing to wait for
        second_refused(pg_url, lambda db: meetings.create(db, SYSTEM, meeting(ids["c2"], "2025-03-10")),
                       lambda db: meetings.create(db, SYSTEM, meeting(ids["c1"], "2025-03-20")))


def test_second_refused_fails_where_the_second_write_waited_and_went_through(pg_url):
    from lib import org, register
    from lib.domain import SYSTEM
    from tests.test_pg_locks import second_refused

    with dbm.write(pg_url) as db:
        org.setup_home(db, SYSTEM, {"home_kind": "xa", "home_code": "NL", "home_name": "Xã Nhị Long",
                                    "effective_from": "2020-01-01", "committee": "Đảng ủy xã Nhị Long"})
    # the second board member waits for the first's draft and then shares it: no refusal
    with pytest.raises(AssertionError, match="expected a refusal"):
        second_refused(pg_url, lambda db: register.open_draft(db, SYSTEM, "2025"),
                       lambda db: register.open_draft(db, SYSTEM, "2025"))


# ---- lib/cli._backup_failed: every failed backup (SQLite, PostgreSQL, encryption) leaves no .part and says why -----

@pytest.fixture
def english():
    """For cli.main(["--lang", "en", …]), which sets the thread's language: the default back after (later test
    modules expect it)."""
    from lib import i18n

    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_backup_failed_removes_the_part_file_says_why_and_exits_1(tmp_path, capsys):
    from lib import cli

    part = tmp_path / "app-20260101-023000.db.part"
    part.write_bytes(b"half a copy")
    assert cli._backup_failed(part, "the reason") == 1
    assert not part.exists() and capsys.readouterr().err == "the reason\n"
    assert cli._backup_failed(part, "again") == 1  # nothing there: still a message, no error


def test_error_of_a_client_program_is_its_stderr_or_its_exit_code():
    from lib import cli

    said = subprocess.CompletedProcess([], 3, b"", b" pg_dump: error: no such database \n")
    silent = subprocess.CompletedProcess([], 3, b"", b"  \n")
    assert (cli._error_of(said), cli._error_of(silent)) == ("pg_dump: error: no such database", "exit 3")


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_a_sqlite_copy_failing_its_integrity_check_leaves_nothing(db_path, tmp_path, monkeypatch, capsys, english):
    import sqlite3

    from lib import cli

    connect = sqlite3.connect

    class Damaged(sqlite3.Connection):  # the copy reads back as damaged
        def execute(self, sql, *args):
            if sql.startswith("pragma integrity_check"):
                return super().execute("select 'row 3 missing from index'")
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **k, factory=Damaged))
    monkeypatch.delenv("CHIBO_BACKUP_RECIPIENTS", raising=False)
    dest = tmp_path / "b"
    dest.mkdir()
    assert cli.main(["--lang", "en", "--db", str(db_path), "backup", str(dest)]) == 1
    assert "failed its integrity check; discarded." in capsys.readouterr().err
    assert list(dest.iterdir()) == []


def test_an_encryption_failing_leaves_nothing_and_names_ages_error(db_path, tmp_path, monkeypatch, capsys, english):
    from lib import cli

    tools = tmp_path / "bin"
    tools.mkdir()
    # an age that writes part of its output and then fails, saying so or not
    _script(tools / "age", 'out=""; while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done\n'
                           'echo partial > "$out"; [ -n "$AGE_SAYS" ] && echo "$AGE_SAYS" >&2; exit 3')
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    recipients = tmp_path / "r.txt"
    recipients.write_text("age1anything\n")
    dest = tmp_path / "b"
    dest.mkdir()
    for says, shown in (("age: bad recipient", "(age: bad recipient)"), ("", "(exit 3)")):
        monkeypatch.setenv("AGE_SAYS", says)
        assert cli.main(["--lang", "en", "--db", str(db_path), "backup", str(dest), "--recipients",
                         str(recipients)]) == 1
        assert f"Encrypting the backup with age failed {shown}; nothing backed up." in capsys.readouterr().err
        assert list(dest.iterdir()) == []


def test_a_postgresql_dump_that_does_not_read_back_leaves_nothing(pg_url, tmp_path, monkeypatch, capsys, english):
    from lib import cli

    real = cli.pg_tool
    failing = _script(tmp_path / "pg_restore", "cat >/dev/null; exit 1")
    monkeypatch.setattr(cli, "pg_tool", lambda name: str(failing) if name == "pg_restore" else real(name))
    monkeypatch.delenv("CHIBO_BACKUP_RECIPIENTS", raising=False)
    dest = tmp_path / "b"
    dest.mkdir()
    assert cli.main(["--lang", "en", "--db", pg_url, "backup", str(dest)]) == 1
    assert "failed its integrity check; discarded." in capsys.readouterr().err
    assert list(dest.iterdir()) == []  # pg_dump's file was written as .part and removed
