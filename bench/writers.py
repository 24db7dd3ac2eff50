"""`python -m bench.writers --engine postgresql --writers 50 --seconds 60 [--record]`: concurrent writers (issue 17).

A throwaway database (PostgreSQL: a cluster of tests/pgcluster.py, the demo copied in; SQLite: the demo file) gets
bench cells with members and weaknesses, then N writer processes, each with its own connection, write through lib's
public functions for S seconds, as the forms and the import do: new regular meetings with attendance marks (several
writers aim at the same cell-months, so the second regular meeting of a month is refused), edits of meetings and
weaknesses from the version their form read (two edits of one row: the second is refused as stale), and a few
imports of three meetings each (all or nothing). Each writer keeps a ledger of what was acknowledged and refused.

At the end every acknowledged write must be in the database exactly once with the values written (lost,
duplicated), no cell-month may hold two live regular meetings, every refusal must be one a rule makes (a duplicate
regular meeting, a stale version, an import refused for either), and nothing else may fail (errors: deadlocks,
serialization failures, pool timeouts, any other exception). Prints writes/s, acknowledged, refused, lost,
duplicated, errors and p50/p95 latency; --record writes them to bench/RESULTS.md (section writers).
"""

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECTION = "writers"
BENCH_CELLS = 100
MEMBERS_PER_CELL = 8
WEAKNESSES = 40
MONTHS = 36  # regular-meeting slots per bench cell: so many months back from last month
# A fifth of the new meetings aim at a few cell-months that every writer wants (refused once taken, so the
# check-then-write of "one regular meeting a month" runs under contention the whole time); the rest at any slot.
HOT_SHARE, HOT_CELLS, HOT_MONTHS = 0.2, 3, 2
# The share of each kind of write (the rest are new meetings).
EDIT_MEETING, EDIT_WEAKNESS, IMPORT = 0.30, 0.15, 0.03
# Refusals a rule makes (FieldError keys), as opposed to failures.
EXPECTED = {"duplicate_regular", "changed_since", "changed_since_unknown"}


@dataclass
class Setup:
    """What the writers share: where the database is, who writes, the bench cells and their members."""

    where: str
    actor: Any
    cells: list[dict]  # id, code, unit_id, members (ids)
    weaknesses: list[int]
    months: list[str]  # yyyy-mm
    today: str


@dataclass
class Entry:
    """One write as a writer saw it."""

    op: str
    outcome: str  # ok, refused, error
    ms: float
    token: str | None = None
    detail: str | None = None
    row_id: int | None = None
    tokens: list[str] = field(default_factory=list)


# ---- the database --------------------------------------------------------------------------------------------------

def _months(today: date) -> list[str]:
    out, y, m = [], today.year, today.month
    for _ in range(MONTHS):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y}-{m:02d}")
    return out


def prepare(where: str, today: date) -> Setup:
    """Bench cells (valid for years, no meetings yet) with members, and weaknesses to edit, written as the admin."""
    from lib import db as dbm
    from lib import directory, members, users, weaknesses

    with dbm.write(where) as db:
        actor = users.actor_for(db, "admin")
        units = [r[0] for r in db.execute("select id from units where kind = 'xa' order by code")][:6]
        cells = []
        for i in range(BENCH_CELLS):
            unit = units[i % len(units)]
            cell_id = directory.create_cell(db, actor, {
                "code": f"BENCH-{i:02d}", "unit_id": unit, "name": f"Chi bộ thử {i:02d}", "cell_type": "ap_khom",
                "meeting_day": 10, "valid_from": "2015-01-01"})
            ids = [members.create(db, actor, {"code": f"BW{i:02d}{k:02d}", "full_name": f"Đảng viên {i:02d}-{k:02d}",
                                              "admitted_on": "2010-01-01", "official_on": "2011-01-01"},
                                  cell_id, "2015-01-01") for k in range(MEMBERS_PER_CELL)]
            cells.append({"id": cell_id, "code": f"BENCH-{i:02d}", "unit_id": unit, "members": ids})
        found = []
        for i in range(WEAKNESSES):
            cell = cells[i % len(cells)]
            found.append(weaknesses.create(db, actor, {
                "unit_id": cell["unit_id"], "cell_id": cell["id"], "category": "xay_dung_dang",
                "description": f"Điểm yếu thử {i}", "noted_on": "2025-03-05", "severity": "medium",
                "status": "open", "due_on": "2026-06-30"}, today=today))
    return Setup(str(where), actor, cells, found, _months(today), today.isoformat())


# ---- one writer ----------------------------------------------------------------------------------------------------

class Writer:
    """One writer process: its own connection per write (as a page's), its own random choices and ledger."""

    def __init__(self, setup: Setup, number: int):
        self.s, self.n, self.k = setup, number, 0
        self.rng = random.Random(1000 + number)
        self.today = date.fromisoformat(setup.today)
        self.ledger: list[Entry] = []

    def token(self) -> str:
        self.k += 1
        return f"bench w{self.n} n{self.k}"

    def run(self, start: float, seconds: float) -> list[Entry]:
        """Write until start + seconds."""
        while time.time() < start:
            time.sleep(0.01)
        deadline = start + seconds
        while time.time() < deadline:
            draw = self.rng.random()
            if draw < EDIT_MEETING:
                self.one("edit_meeting", self.edit_meeting)
            elif draw < EDIT_MEETING + EDIT_WEAKNESS:
                self.one("edit_weakness", self.edit_weakness)
            elif draw < EDIT_MEETING + EDIT_WEAKNESS + IMPORT:
                self.one("import", self.import_file)
            else:
                self.one("create", self.create)
        return self.ledger

    def one(self, op: str, fn) -> None:
        from lib.domain import ValidationError

        entry = Entry(op, "ok", 0.0)
        began = time.perf_counter()
        try:
            fn(entry)
        except ValidationError as exc:
            keys = {e.key for e in exc.errors}
            entry.outcome = "refused" if keys <= EXPECTED else "error"
            entry.detail = ",".join(sorted(keys))
        except Exception as exc:  # noqa: BLE001 - every other failure is counted, not hidden
            entry.outcome, entry.detail = "error", f"{type(exc).__name__}: {exc}"[:300]
        entry.ms = (time.perf_counter() - began) * 1000
        self.ledger.append(entry)

    def _slot(self, hot: bool = False) -> tuple[dict, str]:
        if hot:
            return self.rng.choice(self.s.cells[:HOT_CELLS]), self.rng.choice(self.s.months[:HOT_MONTHS])
        return self.rng.choice(self.s.cells), self.rng.choice(self.s.months)

    def create(self, entry: Entry) -> None:
        """A new regular meeting with its marks, as the meeting form saves it."""
        from lib import db as dbm
        from lib import meetings

        cell, month = self._slot(hot=self.rng.random() < HOT_SHARE)
        entry.token = self.token()
        marks = {m: self.rng.choice(("present", "present", "present", "excused", "unexcused"))
                 for m in cell["members"]}
        raw = {"cell_id": cell["id"], "held_on": f"{month}-10", "mtype": "thuong_ky", "duration_minutes": 90,
               "notes": entry.token}
        with dbm.write(self.s.where) as db:
            entry.row_id = meetings.create(db, self.s.actor, raw, marks=marks, today=self.today)

    def _bench_meetings(self, db) -> list[int]:
        cells = json.dumps([c["id"] for c in self.s.cells])
        return [r[0] for r in db.execute("select id from meetings where deleted_at is null and cell_id in "
                                         "(select value from json_each(?)) order by id", [cells])]

    def edit_meeting(self, entry: Entry) -> None:
        """Change a meeting's notes and one member's mark from the version a form read a moment before."""
        from lib import db as dbm
        from lib import meetings

        with dbm.read(self.s.where) as db:
            ids = self._bench_meetings(db)
            if not ids:
                entry.op = "idle"
                return
            meeting_id = self.rng.choice(ids)
            m = meetings.read(db, self.s.actor, meeting_id)
        time.sleep(self.rng.random() * 0.05)  # the clerk types
        marks = {x["member_id"]: {"status": x["status"], "reason": x["reason"]} for x in m.get("marks") or ()}
        if marks:
            member = self.rng.choice(sorted(marks))
            marks[member] = {"status": "excused" if marks[member]["status"] == "present" else "present",
                             "reason": "Bận việc" if marks[member]["status"] == "present" else None}
        entry.token, entry.row_id = self.token(), meeting_id
        with dbm.write(self.s.where) as db:
            meetings.update(db, self.s.actor, meeting_id, {"notes": entry.token}, version=m["version"],
                            marks=marks or None, today=self.today)

    def edit_weakness(self, entry: Entry) -> None:
        """Change a weakness's description from the version its form read."""
        from lib import db as dbm
        from lib import store, weaknesses

        weakness_id = self.rng.choice(self.s.weaknesses)
        with dbm.read(self.s.where) as db:
            version = weaknesses.version_of(db, store.get(db, "weaknesses", weakness_id))
        time.sleep(self.rng.random() * 0.05)
        entry.token, entry.row_id = self.token(), weakness_id
        with dbm.write(self.s.where) as db:
            weaknesses.update(db, self.s.actor, weakness_id, {"description": entry.token}, version=version,
                              today=self.today)

    def import_file(self, entry: Entry) -> None:
        """Three regular meetings in one file, all written or none, as the import page runs it."""
        from lib import importer
        from lib.i18n import t

        head = "cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused,notes"
        lines, slots = [head], set()
        while len(slots) < 3:
            cell, month = self._slot()
            if (cell["code"], month) in slots:
                continue
            slots.add((cell["code"], month))
            token = self.token()
            entry.tokens.append(token)
            n = len(cell["members"])
            lines.append(f"{cell['code']},{month}-10,thuong_ky,{n},0,{n},0,0,{token}")
        data = ("\n".join(lines) + "\n").encode("utf-8")
        result = importer.run(self.s.where, "meetings", data, "bench.csv", self.s.actor, today=self.today)
        if result.written:
            return
        failures = [t(f"import.err.{key}", detail="\x00").split("\x00")[0] for key in ("database", "busy")]
        text = " | ".join(e.message for e in result.errors)
        entry.outcome, entry.detail = ("error" if any(f in text for f in failures) else "refused"), text[:300]


def _writer(setup: Setup, number: int, start: float, seconds: float, out: str) -> None:
    try:
        ledger = Writer(setup, number).run(start, seconds)
    except BaseException:  # noqa: BLE001 - a writer that dies is reported, not lost
        ledger = [Entry("crash", "error", 0.0, detail=traceback.format_exc()[-300:])]
    Path(out).write_text(json.dumps([e.__dict__ for e in ledger], ensure_ascii=False), encoding="utf-8")


# ---- the checks ----------------------------------------------------------------------------------------------------

def check(setup: Setup, ledger: list[Entry]) -> dict[str, Any]:
    """Lost, duplicated and inconsistent writes, found by reading the database against the ledgers."""
    from lib import db as dbm

    lost = duplicated = inconsistent = 0
    why: dict[str, int] = {}

    def note(reason: str, n: Any) -> int:
        if n:
            why[reason] = why.get(reason, 0) + int(n)
        return int(n)
    with dbm.read(setup.where) as db:
        cells = json.dumps([c["id"] for c in setup.cells])
        rows = {r[0]: r for r in db.execute(
            "select id, cell_id, held_on, notes, members_total, present, absent_excused, absent_unexcused, "
            "deleted_at from meetings where cell_id in (select value from json_each(?))", [cells])}
        # what each meeting was created with (its notes hold the writer's token; a later edit changes them)
        by_notes: dict[str, list[int]] = {}
        for row_id, after in db.execute("select row_id, after_json from audit_log where action = 'create' "
                                        "and table_name = 'meetings' and after_json like '%bench w%'"):
            notes = json.loads(after).get("notes")
            if int(row_id) in rows:
                by_notes.setdefault(notes, []).append(int(row_id))
        marks: dict[int, list[str]] = {}
        for meeting_id, status in db.execute(
                "select am.meeting_id, am.status from attendance_marks am join meetings m on m.id = am.meeting_id "
                "where m.cell_id in (select value from json_each(?))", [cells]):
            marks.setdefault(meeting_id, []).append(status)
        # the meeting updates and weakness updates in the log, in order: what each acknowledged edit left
        logged: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for entry_id, table, row_id, after in db.execute(
                "select id, table_name, row_id, after_json from audit_log where action = 'update' "
                "and table_name in ('meetings', 'weaknesses') order by id"):
            value = json.loads(after or "{}").get("notes" if table == "meetings" else "description")
            logged.setdefault((table, row_id), []).append((entry_id, value))
        descriptions = dict(db.execute("select id, description from weaknesses where id in "
                                       "(select value from json_each(?))", [json.dumps(setup.weaknesses)]))
        regular_twice = db.execute(
            "select count(*) from (select cell_id, substr(held_on, 1, 7) from meetings where deleted_at is null "
            "and mtype = 'thuong_ky' and cell_id in (select value from json_each(?)) "
            "group by cell_id, substr(held_on, 1, 7) having count(*) > 1) x", [cells]).fetchone()[0]
    duplicated += regular_twice
    created = {e.token for e in ledger if e.op == "create" and e.outcome == "ok"}
    for e in ledger:
        if e.op == "create" and e.outcome == "ok":
            found = by_notes.get(e.token, [])
            lost += note("create lost", not found)
            duplicated += note("create twice", len(found) > 1)
            inconsistent += note("create under another id", len(found) == 1 and found != [e.row_id])
        if e.op == "import":
            for token in e.tokens:
                n = len(by_notes.get(token, []))
                if e.outcome == "ok":
                    lost += note("import row lost", n == 0)
                    duplicated += note("import row twice", n > 1)
                else:
                    inconsistent += note("refused import row written", n > 0)  # not all-or-nothing
        if e.op == "create" and e.outcome != "ok" and e.token in by_notes and e.token not in created:
            inconsistent += note("refused save written", 1)
        if e.op in ("edit_meeting", "edit_weakness") and e.outcome == "ok":
            table = "meetings" if e.op == "edit_meeting" else "weaknesses"
            n = sum(1 for _, v in logged.get((table, str(e.row_id)), ()) if v == e.token)
            lost += note(f"{e.op} lost", n == 0)
            duplicated += note(f"{e.op} twice", n > 1)
    # every edited row holds what its last logged edit wrote (no edit silently overwritten by an older form)
    for (table, row_id), entries in logged.items():
        if table == "meetings" and int(row_id) in rows:
            lost += note("meeting not as last edited", rows[int(row_id)][3] != entries[-1][1])
        elif table == "weaknesses" and int(row_id) in descriptions:
            lost += note("weakness not as last edited", descriptions[int(row_id)] != entries[-1][1])
    # the counts of a marked meeting are its marks', whatever order the edits came in
    for meeting_id, r in rows.items():
        statuses = marks.get(meeting_id)
        if statuses and (r[4] != len(statuses) or r[5] != statuses.count("present")
                         or r[6] != statuses.count("excused") or r[7] != statuses.count("unexcused")):
            inconsistent += note("counts not the marks'", 1)
    return {"lost": lost, "duplicated": duplicated, "inconsistent": inconsistent, "why": why}


# ---- a run ---------------------------------------------------------------------------------------------------------

def run(engine: str, writers: int, seconds: float, today: date | None = None, meetings: int | None = None,
        cluster: Any = None, threads: bool = False) -> dict[str, Any]:
    """Build a throwaway database, run the writers, check the ledgers; return the figures. cluster: a running
    tests/pgcluster.Cluster to make the database in (the tests'), else one is started and stopped here. threads:
    the writers are threads of this one process sharing its connection pool (as one app server's sessions are),
    instead of processes with a connection each."""
    from lib import db as dbm
    from lib import demo, pg

    today = today or date.today()
    root = Path(tempfile.mkdtemp(prefix="chibo-writers-"))
    own, where = cluster is None, None
    try:
        source = root / "demo.db"
        demo.load(source, today=today, meetings=meetings)
        if engine == "postgresql":
            from tests.pgcluster import Cluster, bindir

            if cluster is None:
                found = bindir()
                if found is None:
                    raise SystemExit("PostgreSQL is not installed (initdb not found)")
                cluster = Cluster(found).start()
            where = cluster.fresh()
            dbm.copy(source, where)
        else:
            where = str(source)
        before = demo_count(where)
        setup = prepare(where, today)
        # One write of each kind here first: the statements' PostgreSQL translations (pg.translate's cache) are made
        # once and every forked writer starts with them, as a long-running app server has them (not in the ledgers).
        warm = Writer(setup, 999)
        for fn in (warm.create, warm.edit_meeting, warm.edit_weakness, warm.import_file):
            warm.one("warm-up", fn)
        pg.close_pools()  # no pool (nor its threads) crosses into the writers
        start = time.time() + 2 + writers * 0.05
        outs = [root / f"ledger-{i}.json" for i in range(writers)]
        kind = threading.Thread if threads else multiprocessing.get_context("fork").Process
        procs = [kind(target=_writer, args=(setup, i, start, seconds, str(outs[i]))) for i in range(writers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(seconds + 300)
        ledger = []
        for i, out in enumerate(outs):
            if out.exists():
                ledger += [Entry(**e) for e in json.loads(out.read_text(encoding="utf-8"))]
            else:
                ledger.append(Entry("crash", "error", 0.0, detail=f"writer {i} left no ledger"))
        figures = summarise(engine + (" (threads)" if threads else ""), writers, seconds, ledger)
        figures.update(check(setup, ledger))
        with dbm.read(where) as db:
            figures["connections"] = writers
            figures["meetings_before"] = before
            figures["meetings_after"] = db.execute("select count(*) from meetings").fetchone()[0]
        return figures
    finally:
        pg.close_pools()
        if cluster is not None and own:
            cluster.stop()
        elif cluster is not None and where is not None:
            cluster.drop(where)
        shutil.rmtree(root, ignore_errors=True)


def demo_count(path: Any) -> int:
    """How many meetings a database holds."""
    from lib import db as dbm

    with dbm.read(path) as db:
        return db.execute("select count(*) from meetings").fetchone()[0]


def summarise(engine: str, writers: int, seconds: float, ledger: list[Entry]) -> dict[str, Any]:
    """Counts by outcome and kind, writes per second and latency percentiles."""
    done = [e for e in ledger if e.op not in ("idle", "crash")]
    ok = [e for e in done if e.outcome == "ok"]
    times = sorted(e.ms for e in done) or [0.0]
    kinds = {}
    for e in done:
        kinds.setdefault(e.op, {"ok": 0, "refused": 0, "error": 0})[e.outcome] += 1
    errors = [e for e in ledger if e.outcome == "error"]
    samples: dict[str, int] = {}
    for e in errors:
        samples[e.detail or ""] = samples.get(e.detail or "", 0) + 1
    return {
        "engine": engine, "writers": writers, "seconds": seconds, "attempted": len(done),
        "acknowledged": len(ok), "refused": sum(e.outcome == "refused" for e in done), "errors": len(errors),
        "writes_per_s": round(len(ok) / seconds, 1), "attempts_per_s": round(len(done) / seconds, 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "kinds": kinds, "error_samples": dict(sorted(samples.items(), key=lambda kv: -kv[1])[:5]),
    }


# ---- output --------------------------------------------------------------------------------------------------------

COLUMNS = ("engine", "writers", "seconds", "writes_per_s", "acknowledged", "refused", "lost", "duplicated",
           "inconsistent", "errors", "p50_ms", "p95_ms")
HEADER = ("| engine | writers | seconds | writes/s | acknowledged | refused by rule | lost | duplicated | "
          "inconsistent | errors | p50 ms | p95 ms |")


def row(figures: dict[str, Any]) -> str:
    """One table row of a run's figures."""
    return "| " + " | ".join(str(figures[c]) for c in COLUMNS) + " |"


def section(old: str, figures: dict[str, Any], command: str) -> str:
    """The writers section of RESULTS.md with this engine's row replaced (the other engine's kept)."""
    rows = {line.split("|")[1].strip(): line for line in old.splitlines()
            if line.startswith("| ") and not line.startswith("| engine")}
    notes = {line.split(":", 1)[0]: line for line in old.splitlines() if line.startswith("- `")}
    rows[figures["engine"]] = row(figures)
    kinds = ", ".join(f"{k} {v['ok']}/{v['refused']}/{v['error']}" for k, v in sorted(figures["kinds"].items()))
    notes[f"- `{figures['engine']}`"] = (f"- `{figures['engine']}`: {command} on {date.today().isoformat()}; "
                                         f"by kind (acknowledged/refused/errors): {kinds}; meetings "
                                         f"{figures['meetings_before']} → {figures['meetings_after']}.")
    return "\n".join([
        "## Concurrent writers (issue 17): `python -m bench.writers`", "",
        "Writer processes, each with its own connection, saving through lib for the time given: new regular "
        "meetings with marks (several aimed at one cell-month), edits of meetings and weaknesses from the version "
        "a form read, imports of three meetings. Lost, duplicated and inconsistent are found by reading the "
        "database against every writer's ledger; refused by rule = a second regular meeting of a month or a stale "
        "version (expected); errors = anything else. Processes: a connection each, the statements' translations made "
        "once before they fork; threads: one process sharing its pool, as one app server's sessions. Measured on the "
        "shared 2-core machine while other work ran: the counts are the point, the rates are rough.", "",
        HEADER, "|" + "---|" * len(COLUMNS), *[rows[k] for k in sorted(rows)], "", *[notes[k] for k in sorted(notes)]])


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run, print and (with --record) write RESULTS.md."""
    p = argparse.ArgumentParser(prog="python -m bench.writers", description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--writers", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--threads", action="store_true", help="writers as threads of one process sharing its pool "
                   "(one app server), not processes")
    p.add_argument("--record", action="store_true", help="write the figures to bench/RESULTS.md (section writers)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    figures = run(args.engine, args.writers, args.seconds, threads=args.threads)
    print(HEADER)
    print(row(figures))
    print(json.dumps({k: figures[k] for k in ("kinds", "why", "error_samples", "attempts_per_s")},
                     ensure_ascii=False, indent=1))
    if args.record:
        from bench import results

        path = HERE / "RESULTS.md"
        old = results.sections(path.read_text(encoding="utf-8")).get(SECTION, "") if path.exists() else ""
        command = f"`python -m bench.writers --engine {args.engine} --writers {args.writers} --seconds " \
                  f"{args.seconds:g}{' --threads' if args.threads else ''}`"
        results.write(path, SECTION, section(old, figures, command))
    bad = figures["lost"] + figures["duplicated"] + figures["inconsistent"] + figures["errors"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
