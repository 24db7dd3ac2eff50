"""`python -m bench.peak bench.reports build DB PERIOD FORMAT REPEAT`, `... import-file DIR ROWS` or `... records DB
REPEAT`.

build: the compiled report (docx) or the data workbook (xlsx) of a period built REPEAT times in this process,
the way the Reports page builds it (lib.reports.compiled_docx / data_xlsx on the database file); prints the wall
and CPU seconds of each build as JSON. bench.peak adds the process's peak memory.
import-file: a fresh database with one commune of 1,000 cells and a CSV of ROWS regular meetings (one per
cell-month, all valid) for `python -m lib --db DB import meetings FILE`, which the harness times end to end.
records: the records page's list as it opens (the last twelve months up to the newest meeting, newest first, the
first 200 rows), its count and the newest 200 meetings of any day, each timed REPEAT times on one connection;
medians in ms as JSON.
"""

import csv
import io
import json
import sys
import time
from datetime import date
from pathlib import Path

IMPORT_CELLS = 1_000
IMPORT_HEAD = ["cell_code", "held_on", "mtype", "members_total", "members_exempt", "present", "absent_excused",
               "absent_unexcused"]


def build(db: str, period: str, fmt: str, repeat: int) -> dict:
    """Wall and CPU seconds of each of `repeat` builds (the first one included: a download is built once)."""
    from lib import reports

    make = reports.compiled_docx if fmt == "docx" else reports.data_xlsx
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        size = len(make(db, period))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"times": walls, "cpu": cpus, "bytes": size}


def import_file(folder: Path, rows: int) -> dict:
    """A fresh database and the CSV to import into it; their paths."""
    from lib import db as dbm
    from lib import directory
    from lib.domain import SYSTEM

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"import-{rows}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    dbm.init(path)
    with dbm.write(path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "DP", "name": "Xã DP", "kind": "xa"})
        for i in range(IMPORT_CELLS):
            directory.create_cell(db, SYSTEM, {"code": f"DP-{i:03d}", "unit_id": unit, "name": f"Chi bộ ấp {i}",
                                               "cell_type": "ap_khom", "meeting_day": 5, "valid_from": "2000-01-01"})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_HEAD)
    for k in range(rows):
        # cell k % 1,000 on the 5th of the month k // 1,000 months before May 2025: one regular meeting a cell-month
        months = 2025 * 12 + 4 - k // IMPORT_CELLS
        day = date(months // 12, months % 12 + 1, 5).isoformat()
        writer.writerow([f"DP-{k % IMPORT_CELLS:03d}", day, "thuong_ky", 30, 2, 25, 2, 1])
    file = folder / f"meetings-{rows}.csv"
    file.write_text(out.getvalue(), encoding="utf-8")
    return {"db": str(path), "file": str(file)}


def records(db: str, repeat: int) -> dict:
    """Median ms of the records page's list (and its count, where lib.meetings has one) as the page opens."""
    import statistics

    from lib import db as dbm
    from lib import meetings

    with dbm.read(db) as conn:
        newest = date.fromisoformat(conn.execute("select max(held_on) from meetings").fetchone()[0])
        chosen = {"start": date(newest.year - 1, newest.month, 1).isoformat(), "end": newest.isoformat()}
        out: dict = {"filters": chosen}
        calls = {"list": lambda: meetings.list_meetings(conn, **chosen, sort="held_on_desc", limit=200),
                 # the newest 200 whatever their day, as the weakness form offers them to pick from
                 "newest": lambda: meetings.list_meetings(conn, limit=200)}
        if hasattr(meetings, "count_meetings"):
            calls["count"] = lambda: meetings.count_meetings(conn, **chosen)
        for name, call in calls.items():
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            out[name + "_ms"] = statistics.median(times) * 1000
    return out


def main(argv: list[str]) -> int:
    """Run one mode and print its JSON on the last line."""
    if argv[0] == "build":
        out = build(argv[1], argv[2], argv[3], int(argv[4]))
    elif argv[0] == "records":
        out = records(argv[1], int(argv[2]))
    else:
        out = import_file(Path(argv[1]), int(argv[2]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
