"""`python -m bench.pgscale [--meetings N] [--keep] [--repeat K] …`: the figures on PostgreSQL at 10,000,000 meetings.

Builds the demo database on SQLite (`python -m lib demo --meetings N`), starts a PostgreSQL cluster of its own (initdb
and pg_ctl in --dir, a unix socket only), loads the file with `copy-db` (COPY), then times each page's bundle of
figures for one year of the whole tree and for one commune, on a fresh pooled connection per figure as
lib.ui.figure opens one; medians of --repeat after a warm-up. Checks that every bundle gives the same bytes as on
the SQLite file, and writes its own section of bench/RESULTS.md. With --keep the file, the cluster's data folder
and the loaded database are reused when they already hold N meetings (a re-run skips the build and the load);
the cluster is stopped at the end either way.
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import results as results_md
from bench.harness import machine, meetings_in
from bench.pages import PAGES, Call
from lib import db as dbm
from lib import metrics, pg
from tests.pgcluster import Cluster, bindir

ROOT = Path(__file__).resolve().parent.parent
# Issue 17: a year's figures for the whole tree within 3 s, a commune's within 0.3 s (per page bundle).
TREE_TARGET, COMMUNE_TARGET = 3.0, 0.3
# The cluster's settings: a server of its own with a few GB of memory (docs/POSTGRESQL.md, "At scale").
SETTINGS = {"shared_buffers": "1GB", "effective_cache_size": "4GB", "work_mem": "64MB",
            "maintenance_work_mem": "1GB", "max_wal_size": "8GB", "random_page_cost": "1.1", "jit": "off"}


def own_cluster(folder: Path) -> Cluster:
    """The bench's cluster (tests/pgcluster.py's, kept in folder for --keep, with SETTINGS), not yet started."""
    found = bindir()
    if found is None:
        raise SystemExit("PostgreSQL's server is not installed (initdb not found): apt-get install postgresql")
    return Cluster(found, folder, settings=SETTINGS)


@dataclass
class Run:
    """What one run measured."""

    meetings: int
    period: str
    today: date
    unit: str = ""
    build: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, float] = field(default_factory=dict)
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # scope → page → seconds
    sqlite_times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    same: dict[str, bool] = field(default_factory=dict)  # "scope page" → bytes equal on both engines
    load_before: str = ""
    load_after: str = ""
    pg_version: str = ""


def build(path: Path, meetings: int, keep: bool, log: Any) -> dict[str, Any]:
    """The demo on SQLite (the cached file with --keep when it holds N meetings): build time and peak."""
    if keep and path.exists() and meetings_in(path) == meetings:
        log(f"reusing {path}")
        return {"cached": True}
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    log(f"building {path} ({meetings:,} meetings) ...")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lib", "--db", str(path), "demo", "--meetings", str(meetings)], cwd=ROOT,
                   check=True, capture_output=True)
    return {"cached": False, "seconds": time.perf_counter() - start}


def load(cluster: Cluster, path: Path, meetings: int, keep: bool, log: Any) -> tuple[str, dict[str, Any]]:
    """The file copied into database demo_N (reused with --keep when it holds N meetings): time and rows/s."""
    name = f"demo_{meetings}"
    url = cluster.url(name)
    exists = cluster.admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if keep and exists:
        with dbm.read(url) as db:
            held = db.execute("select count(*) from meetings").fetchone()[0] if "meetings" in db.table_names() else 0
        if held == meetings:
            log(f"reusing {name}")
            dbm.init(url)  # the compatibility functions as this checkout defines them
            return url, {"cached": True}
    pg.close_pools(url)
    cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    cluster.admin(f"CREATE DATABASE {name}")
    log(f"copy-db {path} -> {name} ...")
    start = time.perf_counter()
    counts = dbm.copy(path, url)
    seconds = time.perf_counter() - start
    rows = sum(counts.values())
    return url, {"cached": False, "seconds": seconds, "rows": rows, "rows_per_s": rows / seconds,
                 "meetings": counts["meetings"]}


def busiest_commune(path: Path, period: metrics.Period) -> str:
    """The commune (or ward) with the most meetings in the period: the one a clerk of a big commune picks."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "select u.code from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id "
            "where m.deleted_at is null and m.held_on between ? and ? and u.kind in ('xa', 'phuong', 'thi_tran') "
            "group by u.id order by count(*) desc, u.code limit 1",
            [period.start.isoformat(), period.end.isoformat()]).fetchone()
    finally:
        conn.close()
    return row[0] if row else ""


def call(db: Any, c: Call, period: metrics.Period, today: date, unit: str) -> Any:
    """One figure as the page asks for it: the whole tree, or with the commune chosen in the sidebar (compute: the
    CLI's --unit)."""
    fn = getattr(metrics, c.name)
    if c.name == "compute":
        return fn(db, period.label, unit or None)
    args = []
    for role in c.args:
        if role == "period":
            args.append(period)
        elif role == "filters":
            args.append(metrics.Filters(unit_codes=(unit,)) if unit else metrics.Filters())
        else:
            raise ValueError(f"unknown argument role {role!r}")
    kwargs = {"today": today} if "today" in fn.__code__.co_varnames else {}
    return fn(db, *args, **kwargs)


def bundle(where: str | Path, page: str, period: metrics.Period, today: date, unit: str) -> list[Any]:
    """A page's figures, each on its own connection (lib.ui.figure opens one per figure)."""
    out = []
    for c in PAGES[page][1]:
        with dbm.read(where) as db:
            out.append(call(db, c, period, today, unit))
    return out


def timed(where: str | Path, page: str, period: metrics.Period, today: date, unit: str, repeat: int) -> list[float]:
    """Seconds per run of a page's bundle, after one warm-up run."""
    bundle(where, page, period, today, unit)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        bundle(where, page, period, today, unit)
        times.append(time.perf_counter() - start)
    return times


def digest(value: Any) -> str:
    """The bundle as the app would serialise it, hashed."""
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode()).hexdigest()


def measure(run: Run, url: str, path: Path, repeat: int, with_sqlite: bool, check: bool, log: Any) -> None:
    """Every bundle, whole tree and commune, on PostgreSQL (and SQLite with --sqlite); the bytes compared."""
    period = metrics.parse_period(run.period)
    for scope, unit in (("tree", ""), ("commune", run.unit)):
        run.times[scope], run.sqlite_times[scope] = {}, {}
        for page in PAGES:
            log(f"{scope} {page} ...")
            run.times[scope][page] = timed(url, page, period, run.today, unit, repeat)
            if with_sqlite:
                run.sqlite_times[scope][page] = timed(path, page, period, run.today, unit, repeat)
            if check:
                ours = digest(bundle(path, page, period, run.today, unit))
                run.same[f"{scope} {page}"] = ours == digest(bundle(url, page, period, run.today, unit))


def _s(values: list[float] | None) -> str:
    return "–" if not values else f"{statistics.median(values):.3f}"


def verdict(values: list[float], limit: float) -> str:
    """Met or missed, on the median."""
    return "**met**" if statistics.median(values) <= limit else "**missed**"


def report(run: Run, repeat: int, argv: list[str]) -> str:
    """The section of bench/RESULTS.md."""
    m = machine()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## PostgreSQL at {run.meetings:,} meetings (issue 17) — `python -m bench.pgscale`", "",
             f"Measured {stamp}: `python -m bench.pgscale {' '.join(argv)}`. {m['CPU']}, {m['cores']} cores, "
             f"{m['RAM']}, {run.pg_version}, Python {m['Python']}, SQLite {m['SQLite']}. Load average (1/5/15 min) "
             f"{run.load_before} at the start, {run.load_after} at the end (the machine is shared: other jobs ran "
             "beside this one).", "",
             "Method: the demo generator's database on SQLite, copied into a PostgreSQL cluster of the bench's own "
             "(" + ", ".join(f"{k}={v}" for k, v in SETTINGS.items()) + ") with `copy-db` (COPY; VACUUM ANALYZE "
             f"after). Each page's bundle (bench/pages.py) for the year {run.period}, as of {run.today}, each figure "
             "on its own pooled connection as lib.ui.figure opens one; the median of "
             f"{repeat} runs after a warm-up, in seconds. The commune is {run.unit} (the busiest of the year), chosen "
             "as the sidebar chooses a unit (Filters(unit_codes=…); compute: `metrics --unit`).", ""]
    if run.build.get("cached"):
        lines.append("Build: the SQLite file was reused (--keep).")
    elif run.build:
        lines.append(f"Build: `python -m lib demo --meetings {run.meetings}` {run.build['seconds']:.0f} s.")
    if run.load.get("cached"):
        lines.append("Load: the PostgreSQL database was reused (--keep).")
    elif run.load:
        lines.append(f"Load: `copy-db` of {run.load['rows']:,} rows in {run.load['seconds']:.0f} s "
                     f"({run.load['rows_per_s']:,.0f} rows/s, migrations, index builds and VACUUM ANALYZE "
                     "included).")
    lines.append(f"Sizes: SQLite file {run.sizes.get('sqlite_gb', 0):.2f} GB, PostgreSQL database "
                 f"{run.sizes.get('pg_gb', 0):.2f} GB; {run.sizes.get('year_meetings', 0):,.0f} meetings in "
                 f"{run.period} ({run.sizes.get('commune_meetings', 0):,.0f} in {run.unit}).")
    lines += ["", "| page bundle | whole tree s | target ≤ 3 s | commune s | target ≤ 0.3 s |"
              + (" SQLite tree s | SQLite commune s |" if run.sqlite_times.get("tree") else "")
              + (" same bytes as SQLite |" if run.same else ""),
              "|---|---:|---|---:|---|" + ("---:|---:|" if run.sqlite_times.get("tree") else "")
              + ("---|" if run.same else "")]
    for page in PAGES:
        tree, commune = run.times["tree"][page], run.times["commune"][page]
        row = f"| {page} | {_s(tree)} | {verdict(tree, TREE_TARGET)} | {_s(commune)} | " \
              f"{verdict(commune, COMMUNE_TARGET)} |"
        if run.sqlite_times.get("tree"):
            row += f" {_s(run.sqlite_times['tree'][page])} | {_s(run.sqlite_times['commune'][page])} |"
        if run.same:
            both = run.same[f"tree {page}"] and run.same[f"commune {page}"]
            row += " yes |" if both else " **no** |"
        lines.append(row)
    tree_ok = all(statistics.median(run.times["tree"][p]) <= TREE_TARGET for p in PAGES)
    commune_ok = all(statistics.median(run.times["commune"][p]) <= COMMUNE_TARGET for p in PAGES)
    missed = [p for p in PAGES if statistics.median(run.times["commune"][p]) > COMMUNE_TARGET]
    lines += ["", f"Verdicts: a year's figures for the whole tree within {TREE_TARGET:g} s per bundle: "
              + ("**met**" if tree_ok else "**missed**") + f"; a commune's within {COMMUNE_TARGET:g} s per bundle: "
              + ("**met**" if commune_ok else f"**missed** ({', '.join(missed)})") + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, build, load, measure, write."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.pgscale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meetings", type=lambda s: int(s.replace("_", "")), default=10_000_000,
                   help="meetings in the demo database (default 10000000)")
    p.add_argument("--dir", type=Path, default=Path("/tmp/pgscale"),
                   help="where the SQLite file and the cluster's folder go (default /tmp/pgscale)")
    p.add_argument("--keep", action="store_true",
                   help="reuse the file, the cluster's data and the loaded database when they hold N meetings")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per bundle after one warm-up (default 5)")
    p.add_argument("--period", default="2025", help="the year whose figures are timed (default 2025)")
    p.add_argument("--unit", default="", help="the commune's code (default: the busiest of the period)")
    p.add_argument("--sqlite", action="store_true", help="time the same bundles on the SQLite file too")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip comparing each bundle's bytes with the SQLite file's")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md",
                   help="markdown file whose pgscale section is written (default bench/RESULTS.md; '-' for none)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")

    def log(text: str) -> None:
        print(f"[pgscale {datetime.now().strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    run = Run(args.meetings, args.period, date.today(), load_before=" / ".join(f"{x:.2f}" for x in os.getloadavg()))
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"demo-{args.meetings}.db"
    run.build = build(path, args.meetings, args.keep, log)
    period = metrics.parse_period(args.period)
    run.unit = args.unit or busiest_commune(path, period)
    cluster = own_cluster(args.dir / "pg").start()
    try:
        url, run.load = load(cluster, path, args.meetings, args.keep, log)
        with dbm.read(url) as db:
            raw = db.conn.raw  # PostgreSQL's own statements, not SQLite's dialect
            run.pg_version = "PostgreSQL " + raw.execute("show server_version").fetchone()[0].split()[0]
            run.sizes["pg_gb"] = raw.execute("select pg_database_size(current_database())").fetchone()[0] / 1e9
            run.sizes["year_meetings"] = db.execute(
                "select count(*) from meetings where held_on between ? and ?",
                [period.start.isoformat(), period.end.isoformat()]).fetchone()[0]
            run.sizes["commune_meetings"] = db.execute(
                "select count(*) from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id "
                "where u.code = ? and m.held_on between ? and ?",
                [run.unit, period.start.isoformat(), period.end.isoformat()]).fetchone()[0]
        run.sizes["sqlite_gb"] = path.stat().st_size / 1e9
        measure(run, url, path, args.repeat, args.sqlite, args.check, log)
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(cluster.root, ignore_errors=True)
    run.load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(run, args.repeat, argv)
    print(text)
    if str(args.out) != "-":
        results_md.write(args.out, "pgscale", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
