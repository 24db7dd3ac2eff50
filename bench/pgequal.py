"""`python -m bench.pgequal --meetings N`: `metrics --json` and every page bundle, byte for byte, on both engines.

Builds (or reuses with --keep) a demo database of N meetings on SQLite, copies it into PostgreSQL (a throwaway
cluster, or the empty database --url names), and compares the strings the CLI prints and the app's bundles (as
JSON) on both. Prints one line per figure (equal/DIFFERENT and the SHA-256 of each side) and exits 1 on any
difference (issue 17: "byte for byte the same on both engines ... on a 100,000-meeting database").
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lib import db as dbm
from lib import metrics
from lib.domain import SYSTEM
from lib.metrics import Filters
from lib.users import actor_for

ROOT = Path(__file__).resolve().parent.parent
SECTION = "pgequal"
# The dashboards' bundles (as test_pg.py compares them on the demo) and the other figures the pages ask for.
BUNDLES = ("overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page", "report_page",
           "checklist_ratings", "classification_distribution")
# A figure that failed to compute: never counted equal, even when both engines fail alike.
FAILED = "<failed: "
DRILLS = ("attendance_by_cell", "quality_by_cell", "weakness_by_cell", "participation_by_assignment")


@dataclass(frozen=True)
class Item:
    """One figure compared: its name and how to compute its text on an open connection (None: by the CLI)."""

    name: str
    text: Callable[[Any], str] | None = None
    cli: tuple[str, ...] = ()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def sample(path: str | Path) -> dict[str, str]:
    """Codes the filters name, read from the SQLite file: the commune with most meetings, a cell type present in
    several communes (not the commonest), the commonest meeting type and the busiest leader."""
    with dbm.read(path) as db:
        commune = db.execute(
            "select u.code from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id "
            "where u.kind in ('xa', 'phuong', 'thi_tran') group by u.code order by count(*) desc, u.code limit 1"
        ).fetchone()[0]
        cell_type = db.execute(
            "select cell_type from cells group by cell_type order by count(distinct unit_id) desc, cell_type "
            "limit 1 offset 1").fetchone()[0]
        mtype = db.execute("select mtype from meetings group by mtype order by count(*) desc limit 1").fetchone()[0]
        leader = db.execute("select l.code from meeting_leaders ml join leaders l on l.id = ml.leader_id "
                            "group by l.code order by count(*) desc, l.code limit 1").fetchone()
        # an administrator (the whole tree) and a clerk (their communes: the scoped statements) for the to-do
        users = [r[0] for r in db.execute(
            "select min(username) from users where active = 1 and role in ('admin', 'clerk') group by role "
            "order by role")]
    return {"commune": commune, "cell_type": cell_type, "mtype": mtype, "leader": leader[0] if leader else "",
            "users": ",".join(users)}


def items(codes: dict[str, str], today: date) -> list[Item]:
    """Everything compared: metrics --json for a year, a quarter, a month and the dashboards' default period (and
    a commune's, by --unit), then each bundle under each filter set, the drill-downs and the member figures."""
    default = metrics.last_complete("quarter", today).label
    periods = ("2025", "2025-Q2", "2025-06", default)
    out = [Item(f"metrics --json --period {p}", cli=("--period", p)) for p in periods]
    out.append(Item(f"metrics --json --period 2025 --unit {codes['commune']}",
                    cli=("--period", "2025", "--unit", codes["commune"])))
    filters = {
        "all": Filters(),
        "rollup": Filters(rollup=True),
        "co_quan": Filters(cell_types=("co_quan",)),
        f"cell type {codes['cell_type']}": Filters(cell_types=(codes["cell_type"],)),
        f"commune {codes['commune']}": Filters(unit_codes=(codes["commune"],)),
        f"node {codes['commune']}": Filters(node=codes["commune"]),
        f"meeting type {codes['mtype']}": Filters(mtypes=(codes["mtype"],)),
    }
    one = Filters(unit_codes=(codes["commune"],))
    for period in ("2025", default):
        for label, f in filters.items():
            for name in BUNDLES:
                out.append(Item(f"{name} {period} [{label}]",
                                lambda db, n=name, p=period, f=f: _dump(getattr(metrics, n)(db, p, f, today))))
        for name in DRILLS:
            out.append(Item(f"{name} {period} [commune {codes['commune']}]",
                            lambda db, n=name, p=period: _dump(getattr(metrics, n)(db, p, one, today))))
        out.append(Item(f"leader_posts {period}", lambda db, p=period: _dump(metrics.leader_posts(db, p))))
        if codes["leader"]:
            out.append(Item(f"leader_meetings {period} [{codes['leader']}]", lambda db, p=period: _dump(
                metrics.leader_meetings(db, p, codes["leader"], Filters(), today))))
        for name in ("member_attendance", "member_flags"):
            out.append(Item(f"{name} {period}",
                            lambda db, n=name, p=period: _dump(getattr(metrics, n)(db, SYSTEM, p, today=today))))
            for user in filter(None, codes["users"].split(",")):
                out.append(Item(f"{name} {period} [as {user}]", lambda db, n=name, p=period, u=user: _dump(
                    getattr(metrics, n)(db, actor_for(db, u), p, today=today))))
    out.append(Item("data_years", lambda db: _dump(metrics.data_years(db, today))))
    for user in filter(None, codes["users"].split(",")):
        for name in ("todo", "reminders"):
            out.append(Item(f"{name} [{user}]", lambda db, n=name, u=user: _dump(getattr(metrics, n)(db, u, today))))
    return out


def cli_metrics(where: str | Path, args: tuple[str, ...]) -> str:
    """What `python -m lib --db WHERE metrics ARGS --json` prints."""
    run = subprocess.run([sys.executable, "-m", "lib", "--db", str(where), "metrics", *args, "--json"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return f"{FAILED}exit {run.returncode}: {run.stderr.strip()[-500:]}>"
    return run.stdout


def texts(where: str | Path, todo: list[Item]) -> dict[str, str]:
    """Each item's text on one database (an error's text in its place, so one failure hides no other)."""
    out = {}
    for item in todo:
        if item.text is None:
            out[item.name] = cli_metrics(where, item.cli)
            continue
        try:
            with dbm.read(where) as db:
                out[item.name] = item.text(db)
        except Exception as exc:  # noqa: BLE001 - reported as a difference, the others still compared
            out[item.name] = f"{FAILED}{type(exc).__name__}: {str(exc)[:500]}>"
    return out


def digest(text: str) -> str:
    """A short SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def first_difference(a: str, b: str) -> str:
    """Where two texts part, with a little of each around it."""
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at {i}: sqlite …{a[max(0, i - 60):i + 80]!r} postgresql …{b[max(0, i - 60):i + 80]!r}"


@dataclass
class Compared:
    """The outcome of one comparison."""

    name: str
    equal: bool
    sqlite: str
    postgresql: str
    size: int
    detail: str = ""


def compare(lite: dict[str, str], post: dict[str, str]) -> list[Compared]:
    """Each item's texts side by side."""
    out = []
    for name in lite:
        a, b = lite[name], post[name]
        same = a == b and not a.startswith(FAILED)
        out.append(Compared(name, same, digest(a), digest(b), len(a),
                            "" if same else a[:300] if a == b else first_difference(a, b)))
    return out


def build(path: Path, meetings: int, keep: bool) -> float | None:
    """The demo of `meetings` meetings in a fresh file (kept with --keep if it holds as many): build seconds."""
    from bench.harness import meetings_in

    if keep and path.exists() and meetings_in(path) == meetings:
        dbm.init(path)
        return None
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lib", "--db", str(path), "demo", "--meetings", str(meetings)], cwd=ROOT,
                   check=True, capture_output=True)
    return time.perf_counter() - start


@dataclass
class Server:
    """A PostgreSQL database to copy into: the one given, or a fresh one in a throwaway cluster (stopped after)."""

    url: str | None = None

    def __enter__(self) -> str:
        self._cluster = None
        if self.url:
            return self.url
        from tests.pgcluster import Cluster, bindir

        found = bindir()
        if found is None:
            raise SystemExit("PostgreSQL is not installed (no initdb): give --url of an empty database")
        self._cluster = Cluster(found).start()
        return self._cluster.fresh()

    def __exit__(self, *exc: Any) -> None:
        if self._cluster is not None:
            self._cluster.stop()


def markdown(results: list[Compared], meetings: int, command: str, timings: dict[str, float | None],
             today: date) -> str:
    """One size's part of the pgequal section of RESULTS.md."""
    bad = [r for r in results if not r.equal]
    lines = [
        f"### {meetings:,} meetings",
        "",
        f"Written by `{command}` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} (today {today}): the demo "
        f"of {meetings:,} meetings on SQLite, copied into PostgreSQL by `copy-db` "
        f"({_s(timings.get('copy'))} s), then `metrics --json` (the CLI's output) and every page bundle (as JSON) "
        "compared byte for byte, each a SHA-256 of its UTF-8 text.",
        "",
        f"**{len(results) - len(bad)} of {len(results)} equal**"
        + (". Different: " + ", ".join(f"`{r.name}`" for r in bad) if bad else "."),
        "",
        "| figure | result | bytes | SHA-256 (first 16) |",
        "|---|---|---:|---|",
    ]
    for r in results:
        shown = r.sqlite if r.equal else f"{r.sqlite} / {r.postgresql}"
        lines.append(f"| {r.name} | {'equal' if r.equal else '**different**'} | {r.size:,} | `{shown}` |")
    return "\n".join(lines)


TITLE = "## Both engines, byte for byte (issue 17)"
_PART = re.compile(r"^### ([\d,]+) meetings$", re.M)


def section(old: str, meetings: int, part: str) -> str:
    """The pgequal section with this size's part replaced and the other sizes' parts kept, smallest first."""
    starts = [(int(m.group(1).replace(",", "")), m.start()) for m in _PART.finditer(old)]
    parts = {size: old[at:(starts[i + 1][1] if i + 1 < len(starts) else len(old))].strip("\n")
             for i, (size, at) in enumerate(starts)}
    parts[meetings] = part.strip("\n")
    return "\n\n".join([TITLE, *(parts[k] for k in sorted(parts))])


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def run(meetings: int, path: Path, keep: bool, url: str | None, today: date,
        log: Callable[[str], None] = print) -> tuple[list[Compared], dict[str, float | None]]:
    """Build, copy and compare; the comparisons and the build and copy seconds."""
    timings: dict[str, float | None] = {"build": build(path, meetings, keep)}
    codes = sample(path)
    todo = items(codes, today)
    log(f"{meetings:,} meetings in {path}; filters on {codes}; {len(todo)} figures")
    with Server(url) as target:
        start = time.perf_counter()
        dbm.copy(path, target)
        timings["copy"] = time.perf_counter() - start
        log(f"copied into PostgreSQL in {timings['copy']:.1f} s")
        with dbm.read(target) as db:  # the planner's statistics: the figures are the same, only sooner
            db.conn.raw.execute("ANALYZE")
        start = time.perf_counter()
        post = texts(target, todo)
        timings["postgresql"] = time.perf_counter() - start
        from lib import pg

        pg.close_pools(target)
    start = time.perf_counter()
    lite = texts(path, todo)
    timings["sqlite"] = time.perf_counter() - start
    return compare(lite, post), timings


def lines(results: list[Compared]) -> Iterator[str]:
    """One line per figure."""
    for r in results:
        yield (f"equal      {r.sqlite}  {r.name}" if r.equal else
               f"DIFFERENT  {r.sqlite} {r.postgresql}  {r.name}\n           {r.detail}")


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, compare, print, optionally write RESULTS.md; 1 on any difference."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.pgequal", description=__doc__)
    p.add_argument("--meetings", type=int, default=100_000, help="demo meetings (default 100000)")
    p.add_argument("--db", type=Path, default=None,
                   help="the SQLite file (default bench/bench-N.db, the one `python -m bench` builds)")
    p.add_argument("--keep", action="store_true", help="reuse the file when it already holds N meetings")
    p.add_argument("--url", default=os.environ.get("PGEQUAL_URL"),
                   help="an empty PostgreSQL database to copy into (default: a throwaway cluster)")
    p.add_argument("--today", type=date.fromisoformat, default=date.today(), help="the day the figures are for")
    p.add_argument("--out", type=Path, default=None, help="write the result into this RESULTS.md's pgequal section")
    args = p.parse_args(argv)
    path = args.db or ROOT / "bench" / f"bench-{args.meetings}.db"
    results, timings = run(args.meetings, path, args.keep, args.url, args.today)
    for line in lines(results):
        print(line)
    bad = sum(not r.equal for r in results)
    print(f"{len(results) - bad} of {len(results)} equal; build {_s(timings['build'])} s, copy "
          f"{_s(timings['copy'])} s, figures on SQLite {_s(timings['sqlite'])} s, on PostgreSQL "
          f"{_s(timings['postgresql'])} s")
    if args.out:
        from bench import results as results_md

        command = "python -m bench.pgequal " + " ".join(a for a in argv if a)
        old = results_md.sections(args.out.read_text(encoding="utf-8")).get(SECTION, "") if args.out.exists() else ""
        part = markdown(results, args.meetings, command, timings, args.today)
        results_md.write(args.out, SECTION, section(old, args.meetings, part))
        print(f"written to {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
