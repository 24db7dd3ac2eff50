"""Reliability: many sessions saving at once, a SIGKILL in the middle of an import, a backup under writes.

Each test is bounded: the concurrent-save test runs for CHIBO_STRESS_SECONDS (default 10; the 30 s run
of docs/RELIABILITY.md sets it to 30). Figures are printed on lines starting with "RELIABILITY:"
(`pytest tests/test_reliability.py -s`).
"""

import csv
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from lib import audit, directory, importer, meetings, users
from lib import db as dbm
from lib.domain import SYSTEM, Actor, Role, ValidationError
from tests.factories import meeting

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2025, 6, 15)
STRESS_SECONDS = float(os.environ.get("CHIBO_STRESS_SECONDS", "10"))
SESSIONS = 20
CELLS = SESSIONS // 2  # two sessions race for every cell-month
IMPORT_ROWS = 20_000
IMPORT_CELLS = 200
# Generous bounds on waits for another process or thread; reaching one is a failure, not a timing.
WAIT_LIMIT = 120.0


def report(**figures) -> None:
    print("RELIABILITY: " + " ".join(f"{k}={v}" for k, v in figures.items()))


def month_back(n: int) -> str:
    """The 5th of the month n months before May 2025 (n = 0 is 2025-05-05)."""
    months = 2025 * 12 + 4 - n
    return date(months // 12, months % 12 + 1, 5).isoformat()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def _unit_with_cells(path: Path, code: str, cells: int) -> tuple[int, list[int]]:
    with dbm.write(path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": code, "name": f"Xã {code}", "kind": "xa"})
        cell_ids = [directory.create_cell(db, SYSTEM, {"code": f"{code}-{i:03d}", "unit_id": unit,
                                                       "name": f"Chi bộ ấp {i}", "cell_type": "ap_khom",
                                                       "meeting_day": 5})
                    for i in range(cells)]
    return unit, cell_ids


# ---- 1. twenty sessions saving at once ------------------------------------------------------------

def test_twenty_sessions_saving_at_once_lose_and_duplicate_nothing(db_path):
    unit, cells = _unit_with_cells(db_path, "NL", CELLS)
    with dbm.write(db_path) as db:
        users.create_user(db, SYSTEM, "thuky", "Thư ký xã", "Matkhau123", Role.CLERK, [unit])
    clerk = Actor("thuky", Role.CLERK, frozenset({unit}))
    barrier = threading.Barrier(SESSIONS)
    lock = threading.Lock()
    acked: dict[str, int] = {}  # tag -> id the save returned
    refused: list[tuple[int, int]] = []  # (cell index, month) refused as a second regular meeting
    errors: list[str] = []

    def session(number: int) -> None:
        # Sessions 2k and 2k+1 share cell k and walk the same months, so they race for every
        # cell-month: exactly one regular meeting may win it. Odd sessions act as the clerk.
        actor = clerk if number % 2 else SYSTEM
        cell_index = number // 2
        try:
            barrier.wait()
            deadline = time.monotonic() + STRESS_SECONDS
            month = 0
            while time.monotonic() < deadline:
                tag = f"s{number}-m{month}"
                raw = meeting(cells[cell_index], month_back(month), notes=tag)
                try:
                    with dbm.write(db_path) as db:
                        new_id = meetings.create(db, actor, raw, today=TODAY)
                except ValidationError as exc:
                    if [(e.field, e.key) for e in exc.errors] != [("held_on", "duplicate_regular")]:
                        raise
                    with lock:
                        refused.append((cell_index, month))
                else:
                    with lock:
                        acked[tag] = new_id
                    with dbm.read(db_path) as db:  # the next rerun of this session shows the record
                        if meetings.get(db, new_id)["notes"] != tag:
                            errors.append(f"{tag}: saved row not read back")
                month += 1
        except BaseException as exc:  # noqa: BLE001 - every failure is collected and asserted below
            errors.append(f"session {number}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=session, args=(n,)) for n in range(SESSIONS)]
    started = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(STRESS_SECONDS + WAIT_LIMIT)
    elapsed = time.monotonic() - started
    assert not any(th.is_alive() for th in threads), "a session never finished"
    assert errors == []

    with dbm.read(db_path) as db:
        rows = list(db.query("select id, cell_id, held_on, notes from meetings"))
        created = [e["row_id"] for e in audit.entries(db, table_name="meetings", action="create", limit=10**9)]
        by_user = Counter(r["created_by"] for r in db.query("select created_by from meetings"))
    table = {r["notes"]: r["id"] for r in rows}
    # Every acknowledged save is in the table exactly once, under the id the save returned,
    # and the table holds nothing that was not acknowledged.
    assert len(rows) == len(table) == len(acked)
    assert table == acked
    assert len({r["id"] for r in rows}) == len(rows)
    # One regular meeting per cell-month, and every refusal lost to a row that exists.
    per_month = Counter((r["cell_id"], r["held_on"]) for r in rows)
    assert max(per_month.values()) == 1
    assert all(per_month[(cells[c], month_back(m))] == 1 for c, m in refused)
    # One audit entry per saved meeting, naming its id.
    assert sorted(int(i) for i in created) == sorted(acked.values())
    assert set(by_user) == {"system", "thuky"}
    assert integrity(db_path) == "ok"
    report(test="concurrent_saves", sessions=SESSIONS, seconds=round(elapsed, 1), saves=len(acked),
           refused_duplicates=len(refused), attempts=len(acked) + len(refused),
           rows_lost=len(set(acked.values()) - {r["id"] for r in rows}),
           rows_duplicated=len(rows) - len(table), audit_rows=len(created),
           saves_per_second=round(len(acked) / elapsed, 1))


# ---- 2. SIGKILL in the middle of a large import -----------------------------------------------------

def _import_file(path: Path, tmp: Path) -> Path:
    """A meetings CSV of IMPORT_ROWS regular meetings over IMPORT_CELLS cells, all valid."""
    _unit_with_cells(path, "DP", IMPORT_CELLS)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(importer.COLUMNS["meetings"])
    for k in range(IMPORT_ROWS):
        held = date.fromisoformat(month_back(k // IMPORT_CELLS + 1)).strftime("%d/%m/%Y")
        writer.writerow([f"DP-{k % IMPORT_CELLS:03d}", held, "thuong_ky", 30, 2, 25, 2, 1, 120, 85, "", "x",
                         "x", "", "", "", "Nghị quyết tháng", f"dòng {k}"])
    file = tmp / "meetings.csv"
    file.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    return file


# Imports through importer.run and waits to be killed at a point given by name, so the kill
# lands there whatever the machine's speed. The rows are checked first, with no write lock and
# no write ("check": half-way through the check), then all written in one transaction ("write":
# every row and audit entry inserted, COMMIT not yet run).
PAUSING_IMPORT = """
import sys, time
from datetime import date
from pathlib import Path
from lib import importer
from lib.domain import SYSTEM

db, file, marker, at, point = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def progress(done, total):
    if point == "check" and done == at:
        marker.write_text(f"check {done}/{total}")
        time.sleep(600)

real_insert = importer._insert

def insert(db, plan, actor):
    ids = real_insert(db, plan, actor)
    if point == "write":
        marker.write_text(f"write {len(ids)} rows inserted, not committed")
        time.sleep(600)
    return ids

importer._insert = insert
importer.run(db, "meetings", file.read_bytes(), file.name, SYSTEM, today=date(2025, 6, 15), progress=progress)
"""


def _wait_for(condition, proc: subprocess.Popen) -> None:
    limit = time.monotonic() + WAIT_LIMIT
    while not condition():
        assert proc.poll() is None, f"the import ended (exit {proc.returncode}) before it could be killed"
        assert time.monotonic() < limit, "the import never reached the kill point"
        time.sleep(0.005)


def _kill(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGKILL)
    return proc.wait(WAIT_LIMIT)


def _after_crash(path: Path) -> tuple[str, int, int, list]:
    """Open the database as the next process would (recovering the WAL) and read its state."""
    with dbm.read(path) as db:
        check = db.execute("pragma integrity_check").fetchone()[0]
        fk = db.execute("pragma foreign_key_check").fetchall()
        count = db.execute("select count(*) from meetings").fetchone()[0]
        audited = db.execute("select count(*) from audit_log where table_name = 'meetings'").fetchone()[0]
    return check, count, audited, fk


@pytest.mark.parametrize("point", ["check", "write"])
def test_sigkill_mid_import_leaves_none_of_the_rows_then_a_rerun_writes_all(db_path, tmp_path, point):
    file = _import_file(db_path, tmp_path)
    marker = tmp_path / "halfway"
    proc = subprocess.Popen([sys.executable, "-c", PAUSING_IMPORT, str(db_path), str(file), str(marker),
                             str(IMPORT_ROWS // 2), point], cwd=ROOT)
    _wait_for(marker.exists, proc)
    wal = db_path.with_name(db_path.name + "-wal").stat().st_size
    assert _kill(proc) == -signal.SIGKILL
    check, count, audited, fk = _after_crash(db_path)
    assert (check, count, audited, fk) == ("ok", 0, 0, [])

    # The same file imported again after the crash goes in whole.
    result = importer.run(db_path, "meetings", file.read_bytes(), file.name, SYSTEM, today=TODAY)
    assert result.errors == []
    check, count, audited, fk = _after_crash(db_path)
    assert (check, count, audited, fk) == ("ok", IMPORT_ROWS, IMPORT_ROWS, [])
    report(test=f"kill_mid_import_{point}", rows=IMPORT_ROWS, killed_at_row=marker.read_text(), wal_bytes_at_kill=wal,
           rows_after_kill=0, integrity="ok", rows_after_rerun=count)


def test_sigkill_of_cli_import_while_its_wal_grows_leaves_all_or_none(db_path, tmp_path):
    file = _import_file(db_path, tmp_path)
    wal = db_path.with_name(db_path.name + "-wal")
    proc = subprocess.Popen([sys.executable, "-m", "lib", "--db", str(db_path), "import", "meetings", str(file)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The check writes nothing; uncommitted pages spill into the WAL only once the single write
    # transaction outgrows the page cache, so 2 MB of WAL means the write is under way. The write
    # lasts a fraction of a second for these rows, so the kill may land before or after its
    # COMMIT: either way the database must hold all the rows or none.
    _wait_for(lambda: wal.exists() and wal.stat().st_size > 2_000_000, proc)
    size = wal.stat().st_size
    assert _kill(proc) == -signal.SIGKILL
    check, count, audited, fk = _after_crash(db_path)
    assert check == "ok" and fk == []
    assert count in (0, IMPORT_ROWS) and audited == count
    report(test="kill_cli_import", rows=IMPORT_ROWS, wal_bytes_at_kill=size, rows_after_kill=count, integrity=check)


# ---- 3. backup while writers keep committing -----------------------------------------------------

def test_backup_taken_during_writes_restores_every_row_committed_before_it(db_path, tmp_path):
    _, cells = _unit_with_cells(db_path, "HP", 4)
    stop = threading.Event()
    lock = threading.Lock()
    acked: list[int] = []
    errors: list[str] = []

    def writer(cell_id: int) -> None:
        try:
            while not stop.is_set():
                raw = meeting(cell_id, "2025-03-05", mtype="chuyen_de", topics="<b>chuyên đề</b> **số**")
                with dbm.write(db_path) as db:
                    new_id = meetings.create(db, SYSTEM, raw, today=TODAY)
                with lock:
                    acked.append(new_id)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(c,)) for c in cells]
    for th in threads:
        th.start()
    try:
        limit = time.monotonic() + WAIT_LIMIT
        while len(acked) < 500 and not errors:
            assert time.monotonic() < limit, "writers never reached 500 saves"
            time.sleep(0.01)
        with lock:
            before = set(acked)
        dest = tmp_path / "backups"
        dest.mkdir()
        done = subprocess.run([sys.executable, "-m", "lib", "--db", str(db_path), "backup", str(dest) + "/"],
                              cwd=ROOT, capture_output=True, text=True, timeout=WAIT_LIMIT)
        with lock:
            during = len(acked) - len(before)
    finally:
        stop.set()
        for th in threads:
            th.join(WAIT_LIMIT)
    assert errors == []
    assert done.returncode == 0, done.stderr
    assert during > 0  # writers went on committing while the backup process ran
    copies = list(dest.glob("app-*.db"))
    assert len(copies) == 1 and not list(dest.glob("*.part"))

    # Restore as an operator would: copy the file into place and start on it.
    restored = tmp_path / "restored" / "app.db"
    restored.parent.mkdir()
    shutil.copy(copies[0], restored)
    dbm.init(restored)  # migrations already applied: a no-op on a good copy
    with dbm.read(restored) as db:
        check = db.execute("pragma integrity_check").fetchone()[0]
        ids = {r[0] for r in db.execute("select id from meetings")}
        audited = {int(r[0]) for r in db.execute(
            "select row_id from audit_log where table_name = 'meetings' and action = 'create'")}
        topics = {r[0] for r in db.execute("select distinct topics from meetings")}
    assert check == "ok"
    assert before <= ids  # every row committed before the backup started
    assert ids <= set(acked)  # and nothing that was never committed
    assert audited == ids  # a consistent snapshot: each meeting with its audit entry
    assert topics == {"<b>chuyên đề</b> **số**"}
    with dbm.write(restored) as db:  # the restored database takes new writes
        new_id = meetings.create(db, SYSTEM, meeting(cells[0], "2025-04-05"), today=TODAY)
    assert new_id > max(ids)
    report(test="backup_under_writes", committed_before_backup=len(before), committed_during_backup=during,
           rows_in_backup=len(ids), missing_from_backup=len(before - ids), committed_total=len(acked),
           integrity=check)
