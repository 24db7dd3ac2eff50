"""Build the demo databases, run every measurement in its own child process, and write the results as markdown."""

import json
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bench import peak
from bench import results as results_md
from bench.pages import PAGES, unlisted_figures
from lib import metrics

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# Targets of issue 5 (every page) and issue 2 (the metrics command), in seconds and MB.
PAGE_TARGET_100K, FLOOR_RATIO, PAGE_TARGET_1M, PEAK_MB, METRICS_TARGET_100K = 0.3, 3.0, 3.0, 500, 1.0
# The command line is timed end to end this many times (the median is quoted; the first run is shown too).
CLI_RUNS = 3
# Targets of issue 13: the compiled report and the workbook at 1,000,000 meetings, an import of 10,000 meetings.
DOCX_TARGET_1M, XLSX_TARGET_1M, XLSX_PEAK_MB, IMPORT_TARGET_10K = 3.0, 5.0, 300, 2.0
REPORT_RUNS, IMPORT_ROWS = 3, 10_000
# Engines the page bundles are timed on (issue 17): SQLite always; PostgreSQL beside it where its server is installed.
ENGINES = ("sqlite", "postgresql")


@dataclass
class Child:
    """What one child process gave back: its wall time, peak resident memory and parsed output."""

    seconds: float
    peak_mb: float
    output: Any
    returncode: int
    stderr: str = ""


def parse_sizes(text: str) -> list[int]:
    """The --sizes flag: meetings per database, comma-separated (1_000_000 allowed)."""
    import argparse

    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be numbers separated by commas, not {text!r}") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def default_engines() -> list[str]:
    """Both engines where PostgreSQL's server (initdb) is installed, else SQLite alone."""
    from tests.pgcluster import bindir

    return list(ENGINES) if bindir() is not None else ["sqlite"]


def parse_engines(text: str) -> list[str]:
    """The --engines flag: sqlite and/or postgresql, comma-separated (SQLite always runs: PostgreSQL's copy is
    made from its file)."""
    import argparse

    engines = [e.strip().lower() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"engines must be among {', '.join(ENGINES)}, not {text!r}")
    return [e for e in ENGINES if e in engines or e == "sqlite"]


def run_child(args: list[str], parse_json: bool = True) -> Child:
    """Run `python -m MODULE ARGS` (or `-c CODE`) from the project root under bench.peak, which reports its peak."""
    with tempfile.TemporaryFile(mode="w+") as err:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.peak", *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=err, text=True, check=False)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    marks = [line for line in stderr.splitlines() if line.startswith(peak.MARKER)]
    peak_mb = float(marks[-1][len(peak.MARKER):]) if marks else float("nan")
    output: Any = proc.stdout
    if parse_json and proc.returncode == 0:
        output = json.loads(proc.stdout.strip().splitlines()[-1])
    return Child(seconds, peak_mb, output, proc.returncode, stderr)


def worker(spec: dict[str, Any]) -> Child:
    """One measurement by bench.worker; raise with its stderr if it failed."""
    child = run_child(["bench.worker", json.dumps(spec)])
    if child.returncode != 0:
        raise RuntimeError(f"bench.worker {spec['mode']} {spec.get('page', '')} failed:\n{child.stderr[-3000:]}")
    return child


def meetings_in(path: Path) -> int | None:
    """How many meetings a cached database holds, or None if it is not a usable one."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("select count(*) from meetings").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def build(path: Path, size: int, keep: bool) -> dict[str, Any]:
    """A database of `size` demo meetings in a fresh file (or the cached one with --keep); its build time."""
    if keep and path.exists() and meetings_in(path) == size:
        return {"cached": True, "seconds": None, "peak_mb": None}
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    child = run_child(["lib", "--db", str(path), "demo", "--meetings", str(size)], parse_json=False)
    if child.returncode != 0:
        raise RuntimeError(f"demo --meetings {size} failed:\n{child.stderr[-3000:]}")
    ensure_body(path)
    return {"cached": False, "seconds": child.seconds, "peak_mb": child.peak_mb}


def ensure_body(path: Path) -> None:
    """An issuing body for the report to be timed with, when the demo wrote none (the demo before the reorganised
    one of issue 11 is a forest without bodies): a neutral root over its communes, as migration m006 adds."""
    from lib import db as dbm
    from lib import directory, org
    from lib.domain import SYSTEM

    with dbm.write(path) as db:
        if org.issuer(db, date.today()) is not None:
            return
        home = org.home_node(db)
        if home is None:
            roots = [r[0] for r in db.execute("select id from units where parent_id is null")]
            home_id = directory.create_unit(db, SYSTEM, {"code": "BENCH", "name": "Cấp ủy", "kind": "tinh"})
            for unit_id in roots:
                db.execute("update units set parent_id = ? where id = ?", [home_id, unit_id])
            org.set_home(db, SYSTEM, "BENCH")
            home = org.home_node(db)
        org.create_body(db, SYSTEM, {"unit_id": home["id"], "effective_from": "1900-01-01", "committee": "Cấp ủy"})


@dataclass
class SizeResult:
    """Everything measured on one database."""

    size: int
    build: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    check: dict[str, Any] = field(default_factory=dict)
    cli: dict[str, Any] = field(default_factory=dict)
    slow: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    # PostgreSQL beside SQLite: the copy's seconds and the same page rows (empty when not measured)
    pg: dict[str, Any] = field(default_factory=dict)


def median_ms(times: list[float]) -> float:
    """The median of a list of seconds, in milliseconds."""
    return statistics.median(times) * 1000


def paired_ratio(times: list[float], floor_times: list[float]) -> float | None:
    """The median, over the rounds, of the page's time over the floor's time taken beside it in the same round:
    a load that comes and goes on a shared machine then slows both halves of a pair, not one of them."""
    ratios = [t / f for t, f in zip(times, floor_times, strict=True) if f]
    return statistics.median(ratios) if ratios else None


def misses(size: int, row: dict[str, Any]) -> list[str]:
    """The targets this page's measurement misses at this size."""
    out = []
    if size == 100_000 and row["sql_ms"] >= PAGE_TARGET_100K * 1000:
        out.append(f"over {PAGE_TARGET_100K} s")
    if size == 100_000 and row["ratio"] > FLOOR_RATIO:
        out.append(f"over {FLOOR_RATIO:g}× the floor")
    if size == 1_000_000 and row["sql_ms"] >= PAGE_TARGET_1M * 1000:
        out.append(f"over {PAGE_TARGET_1M:g} s")
    if row["sql_peak_mb"] >= PEAK_MB:
        out.append(f"peak over {PEAK_MB} MB")
    if row["naive_ms"] is not None and row["sql_ms"] > row["naive_ms"]:
        out.append("slower than the naive pandas version")
    return out


def measure_size(size: int, path: Path, pages: list[str], repeat: int, period: str, today: date, keep: bool,
                 naive: bool = True, log: Any = print, cluster: Any = None) -> SizeResult:
    """Build one database and take every measurement on it."""
    log(f"[{size:,}] building {path} ...")
    result = SizeResult(size, build(path, size, keep))
    base = {"db": str(path), "period": period, "today": today.isoformat(), "repeat": repeat}
    if naive:
        log(f"[{size:,}] checking the naive figures against the SQL ones ...")
        result.check = worker({**base, "mode": "check", "pages": pages}).output["pages"]
    for page in pages:
        log(f"[{size:,}] {page} ...")
        sql = worker({**base, "mode": "sql", "page": page})
        nai = worker({**base, "mode": "naive", "page": page}) if naive else None
        row = {"page": page, "sql_ms": median_ms(sql.output["times"]), "floor_ms": median_ms(sql.output["floor_times"]),
               "naive_ms": median_ms(nai.output["times"]) if nai else None, "sql_peak_mb": sql.peak_mb,
               "naive_peak_mb": nai.peak_mb if nai else None, "baseline_mb": sql.output["baseline_mb"],
               "per_call": sql.output["per_call"], "missing": sql.output["missing"],
               "queries": sql.output["queries"]}
        row["ratio"] = paired_ratio(sql.output["times"], sql.output["floor_times"])
        result.rows.append(row)
    log(f"[{size:,}] python -m lib metrics --period {period} --json ...")
    clis = [run_child(["lib", "--db", str(path), "metrics", "--period", period, "--json"], parse_json=False)
            for _ in range(CLI_RUNS)]
    if any(c.returncode != 0 for c in clis):
        raise RuntimeError(f"metrics --period {period} --json failed:\n{clis[0].stderr[-3000:]}")
    startup = [run_child(["lib", "--help"], parse_json=False).seconds for _ in range(CLI_RUNS)]
    result.cli = {"seconds": statistics.median(c.seconds for c in clis), "first_seconds": clis[0].seconds,
                  "peak_mb": max(c.peak_mb for c in clis), "startup_seconds": statistics.median(startup)}
    result.reports = measure_reports(path, period, min(repeat, REPORT_RUNS), log)
    for row in result.rows:
        if misses(size, row):
            log(f"[{size:,}] {row['page']} misses a target: explaining its queries ...")
            result.slow[row["page"]] = worker({**base, "mode": "explain", "page": row["page"],
                                               "top": 100}).output["statements"]
    if cluster is not None:
        result.pg = measure_pg(size, path, cluster, pages, base, log)
    return result


def measure_pg(size: int, path: Path, cluster: Any, pages: list[str], base: dict[str, Any],
               log: Any = print) -> dict[str, Any]:
    """The SQLite file copied into a new database of the throwaway cluster (`copy-db`, timed), then each page's
    bundles timed there as on SQLite (bench.worker "sql": a connection from the pool per call, as lib.ui.figure
    takes one; page and floor in turn); the database is dropped after."""
    from lib import db as dbm

    url = cluster.fresh()
    try:
        log(f"[{size:,}] copying into PostgreSQL ...")
        start = time.perf_counter()
        counts = dbm.copy(path, url)
        out: dict[str, Any] = {"copy_seconds": time.perf_counter() - start, "rows_copied": sum(counts.values()),
                               "rows": []}
        # The planner's statistics, as autovacuum would gather them a minute later: timed right after the copy
        # without them, a page can take several times as long (a plan for tables it believes empty).
        start = time.perf_counter()
        with dbm.read(url) as db:
            db.conn.raw.execute("ANALYZE")
        out["analyze_seconds"] = time.perf_counter() - start
        for page in pages:
            log(f"[{size:,}] {page} on PostgreSQL ...")
            sql = worker({**base, "db": url, "mode": "sql", "page": page})
            out["rows"].append({"page": page, "sql_ms": median_ms(sql.output["times"]),
                                "floor_ms": median_ms(sql.output["floor_times"]),
                                "ratio": paired_ratio(sql.output["times"], sql.output["floor_times"]),
                                "per_call": sql.output["per_call"], "sql_peak_mb": sql.peak_mb})
        return out
    finally:
        cluster.drop(url)


def measure_reports(path: Path, period: str, runs: int, log: Any = print) -> dict[str, Any]:
    """The compiled report and the workbook of the period, each built `runs` times in a child of its own:
    median wall and CPU seconds, the first build's seconds, and the child's peak memory."""
    out: dict[str, Any] = {}
    for fmt in ("docx", "xlsx"):
        log(f"[{path.name}] report {fmt} of {period} ...")
        child = run_child(["bench.reports", "build", str(path), period, fmt, str(runs)])
        if child.returncode != 0:
            raise RuntimeError(f"bench.reports build {fmt} failed:\n{child.stderr[-3000:]}")
        times = child.output["times"]
        out[fmt] = {"seconds": statistics.median(times), "cpu": statistics.median(child.output["cpu"]),
                    "first": times[0], "peak_mb": child.peak_mb, "runs": len(times)}
    return out


def measure_import(db_dir: Path, runs: int, log: Any = print) -> dict[str, Any]:
    """`python -m lib --db DB import meetings FILE` of IMPORT_ROWS meetings into a fresh database, end to end
    (starting Python included), `runs` times: the median and every time."""
    times = []
    for _ in range(runs):
        log(f"import of {IMPORT_ROWS:,} meetings ...")
        made = run_child(["bench.reports", "import-file", str(db_dir), str(IMPORT_ROWS)])
        if made.returncode != 0:
            raise RuntimeError(f"bench.reports import-file failed:\n{made.stderr[-3000:]}")
        child = run_child(["lib", "--db", made.output["db"], "import", "meetings", made.output["file"]],
                          parse_json=False)
        if child.returncode != 0:
            raise RuntimeError(f"import meetings failed:\n{child.stderr[-3000:]}")
        times.append(child.seconds)
    return {"seconds": statistics.median(times), "times": times, "rows": IMPORT_ROWS}


def _target(value: float | None, limit: float) -> str:
    return "–" if value is None else ("**met**" if value < limit else "**missed**")


def reports_table(results: list[SizeResult]) -> str:
    """The compiled report and the workbook per size, and the import, with the targets of issue 13."""
    lines = ["| meetings | file | median s (wall) | CPU s | first build s | peak MB | target at 1,000,000 | "
             "result |", "|---:|---|---:|---:|---:|---:|---|---|"]
    for res in results:
        for fmt, target in (("docx", f"under {DOCX_TARGET_1M:g} s"),
                            ("xlsx", f"under {XLSX_TARGET_1M:g} s and {XLSX_PEAK_MB} MB")):
            r = res.reports.get(fmt)
            if not r:
                continue
            verdict = "–"
            if res.size == 1_000_000:
                limit = DOCX_TARGET_1M if fmt == "docx" else XLSX_TARGET_1M
                verdict = _target(r["seconds"], limit)
                if fmt == "xlsx" and r["peak_mb"] >= XLSX_PEAK_MB:
                    verdict = "**missed**"
            lines.append(f"| {res.size:,} | {fmt} | {_s(r['seconds'])} | {_s(r['cpu'])} | {_s(r['first'])} | "
                         f"{_mb(r['peak_mb'])} | {target} | {verdict} |")
    imports = next((res.reports["import"] for res in results if "import" in res.reports), None)
    if imports:
        lines += ["", f"Import of {imports['rows']:,} meetings (`python -m lib --db DB import meetings FILE`, a fresh "
                  f"database of one commune with 1,000 cells, end to end): median {_s(imports['seconds'])} s of "
                  f"{', '.join(_s(x) for x in imports['times'])}; target under {IMPORT_TARGET_10K:g} s: "
                  f"{_target(imports['seconds'], IMPORT_TARGET_10K)}."]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """CPU model, cores, memory, and the versions that matter."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram,
            "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version, "pandas": pd.__version__,
            "OS": platform.platform(), "load average at start (1/5/15 min)": " / ".join(
                f"{x:.2f}" for x in os.getloadavg())}


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def main_table(results: list[SizeResult]) -> str:
    """The headline table: one row per size and page."""
    lines = ["| meetings | page | SQL median ms | statements | naive median ms | floor ms | ratio to floor "
             "| peak MB (SQL) | peak MB (naive) |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        for r in res.rows:
            ratio = "–" if r["ratio"] is None else f"{r['ratio']:.1f}×"
            lines.append(f"| {res.size:,} | {r['page']} | {_ms(r['sql_ms'])} | {r['queries']} | {_ms(r['naive_ms'])} | "
                         f"{_ms(r['floor_ms'])} | {ratio} | {_mb(r['sql_peak_mb'])} | {_mb(r['naive_peak_mb'])} |")
    return "\n".join(lines)


def function_table(results: list[SizeResult]) -> str:
    """Median milliseconds of each lib.metrics call, on its own fresh connection, per size."""
    sizes = [r.size for r in results]
    lines = ["| page | function | " + " | ".join(f"{s:,}" for s in sizes) + " |",
             "|---|---|" + "---:|" * len(sizes)]
    seen = []
    for res in results:
        for r in res.rows:
            for name in r["per_call"]:
                if (r["page"], name) not in seen:
                    seen.append((r["page"], name))
    for page, name in seen:
        cells = []
        for res in results:
            row = next((r for r in res.rows if r["page"] == page), None)
            cells.append(_ms(row["per_call"].get(name)) if row else "–")
        drill = " (drill-down)" if not any(c.name == name for c in PAGES[page][1]) else ""
        lines.append(f"| {page} | {name}{drill} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def engines_table(results: list[SizeResult]) -> str:
    """Each page on SQLite and on PostgreSQL side by side (median ms), with the ratio and the copy's time."""
    lines = ["| meetings | page | SQLite ms | PostgreSQL ms | PostgreSQL / SQLite | PostgreSQL floor ms | "
             "PostgreSQL peak MB |", "|---:|---|---:|---:|---:|---:|---:|"]
    for res in results:
        if not res.pg:
            continue
        for pg_row in res.pg["rows"]:
            lite = next((r for r in res.rows if r["page"] == pg_row["page"]), None)
            ratio = f"{pg_row['sql_ms'] / lite['sql_ms']:.1f}×" if lite and lite["sql_ms"] else "–"
            lines.append(f"| {res.size:,} | {pg_row['page']} | {_ms(lite['sql_ms'] if lite else None)} | "
                         f"{_ms(pg_row['sql_ms'])} | {ratio} | {_ms(pg_row['floor_ms'])} | "
                         f"{_mb(pg_row['sql_peak_mb'])} |")
    copies = [f"{res.size:,} meetings {_s(res.pg['copy_seconds'])} s ({res.pg['rows_copied']:,} rows; then "
              f"`ANALYZE` {_s(res.pg.get('analyze_seconds'))} s)" for res in results if res.pg]
    lines += ["", "Copy of the SQLite file into PostgreSQL (`lib.db.copy`, what `python -m lib copy-db` runs): "
              + "; ".join(copies) + "."]
    return "\n".join(lines)


def cli_table(results: list[SizeResult]) -> str:
    """Build time and the metrics command end to end, per size."""
    lines = ["| meetings | build s | build peak MB | `metrics --json` s (median, first) | its peak MB "
             "| `python -m lib --help` s |", "|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        build = "cached" if res.build["cached"] else _s(res.build["seconds"])
        cli = f"{_s(res.cli.get('seconds'))}, {_s(res.cli.get('first_seconds'))}"
        lines.append(f"| {res.size:,} | {build} | {_mb(res.build['peak_mb'])} | {cli} | "
                     f"{_mb(res.cli.get('peak_mb'))} | {_s(res.cli.get('startup_seconds'))} |")
    return "\n".join(lines)


def check_lines(results: list[SizeResult]) -> list[str]:
    """Whether the naive figures equal the SQL ones, per size and page."""
    out = []
    for res in results:
        if not res.check:
            out.append(f"- {res.size:,}: not checked (--no-naive)")
            continue
        bad = {p: c for p, c in res.check.items() if c["differences"]}
        checked = sum(len(c["checked"]) for c in res.check.values())
        if not bad:
            out.append(f"- {res.size:,}: all {checked} figures equal")
        for page, c in bad.items():
            out.append(f"- {res.size:,}: **{page} differs**: " + "; ".join(c["differences"][:3]))
    return out


def verdict(results: list[SizeResult]) -> list[str]:
    """One line per target: met, missed (with the pages), or not measured."""
    by_size = {r.size: r for r in results}
    out = []

    def pages_over(size: int, test: Any) -> list[str]:
        return [f"{r['page']} ({_ms(r['sql_ms'])} ms, {r['ratio']:.1f}× floor)" for r in by_size[size].rows
                if test(r)]

    if 100_000 in by_size:
        slow = pages_over(100_000, lambda r: r["sql_ms"] >= PAGE_TARGET_100K * 1000)
        out.append(f"- Every page under {PAGE_TARGET_100K} s at 100,000: " + (
            "**met**" if not slow else "**missed** by " + ", ".join(slow)))
        far = pages_over(100_000, lambda r: r["ratio"] > FLOOR_RATIO)
        out.append(f"- Every page within {FLOOR_RATIO:g}× the floor at 100,000: " + (
            "**met**" if not far else "**missed** by " + ", ".join(far)))
        res = by_size[100_000]
        compute = next((r for r in res.rows if r["page"] == "compute"), None)
        parts = []
        if compute:
            parts.append(f"compute {_ms(compute['sql_ms'])} ms in process")
        if res.cli:
            parts.append(f"`python -m lib metrics --period P --json` {_s(res.cli['seconds'])} s end to end, of which "
                         f"{_s(res.cli['startup_seconds'])} s is starting Python and importing lib")
        ok = res.cli and res.cli["seconds"] < METRICS_TARGET_100K and (
            compute is None or compute["sql_ms"] < METRICS_TARGET_100K * 1000)
        out.append(f"- Issue 2, metrics under {METRICS_TARGET_100K:g} s at 100,000: "
                   f"{'**met**' if ok else '**missed**'} ({'; '.join(parts)})")
    else:
        out.append("- 100,000 meetings: not measured in this run")
    if 1_000_000 in by_size:
        slow = pages_over(1_000_000, lambda r: r["sql_ms"] >= PAGE_TARGET_1M * 1000)
        out.append(f"- Every page under {PAGE_TARGET_1M:g} s at 1,000,000: " + (
            "**met**" if not slow else "**missed** by " + ", ".join(slow)))
    else:
        out.append("- 1,000,000 meetings: not measured in this run")
    heavy = [f"{r['page']} at {res.size:,} ({_mb(r['sql_peak_mb'])} MB)" for res in results for r in res.rows
             if r["sql_peak_mb"] >= PEAK_MB]
    peak = max((r["sql_peak_mb"] for res in results for r in res.rows), default=None)
    out.append(f"- Peak memory of the SQL figures under {PEAK_MB} MB: " + (
        f"**met** (largest {_mb(peak)} MB)" if not heavy else "**missed** by " + ", ".join(heavy)))
    slower = [f"{r['page']} at {res.size:,} ({_ms(r['sql_ms'])} vs {_ms(r['naive_ms'])} ms)" for res in results
              for r in res.rows if r["naive_ms"] is not None and r["sql_ms"] > r["naive_ms"]]
    if any(r["naive_ms"] is not None for res in results for r in res.rows):
        out.append("- (Not a target) SQL faster than the naive pandas version everywhere: " + (
            "**yes**" if not slower else "**no**: " + ", ".join(slower)))
    missing = sorted({name for res in results for r in res.rows for name in r["missing"]})
    if missing:
        out.append("- **Not timed**, because lib.metrics does not define them yet: " + ", ".join(missing)
                   + " (the page totals above leave them out)")
    return out


PLANS_SHOWN = 3


def slow_lines(results: list[SizeResult]) -> list[str]:
    """For each page that missed a target: queries it runs more than once, its costliest statements and plans."""
    out = []
    for res in results:
        for page, statements in res.slow.items():
            row = next(r for r in res.rows if r["page"] == page)
            out.append(f"### {page} at {res.size:,} meetings: {', '.join(misses(res.size, row))}")
            out.append("")
            repeats = [s for s in statements if s["runs"] > 1 and s["query"] != "?"]
            if repeats:
                wasted = sum(s["ms"] * (s["runs"] - 1) for s in repeats)
                out.append("Run again with the same values: " + "; ".join(
                    f"`{s['query']}` {s['runs']}× (by {', '.join(s['functions'])})" for s in repeats)
                    + f" — about {_ms(wasted)} ms of the page's {_ms(row['sql_ms'])} ms are repeats.")
                out.append("")
            for s in statements[:PLANS_SHOWN]:
                # a statement that is no lib.metrics query (a settings read) is shown by its text
                name = f"`{s['query']}`" if s["query"] != "?" else f"`{s['sql'][:80]}`"
                out.append(f"- {name} from {', '.join(s['functions'])}: {_ms(s['ms'])} ms a run, "
                           f"run {s['runs']}× by the page")
                if s["plan"]:
                    out.append("  ```")
                    out.extend(f"  {line}" for line in s["plan"])
                    out.append("  ```")
            out.append("")
    return out


def markdown(results: list[SizeResult], info: dict[str, str], command: str, repeat: int, period: str,
             today: date, notes: str = "") -> str:
    """The SQL section of RESULTS.md (bench/results.py keeps the browser section beside it)."""
    baseline = max((r["baseline_mb"] for res in results for r in res.rows), default=None)
    parts = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} "
        f"(period {period}, today {today.isoformat()}). The machine is shared with other work, so the "
        f"times are medians of {repeat} runs after one warm-up.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "## Method",
        "",
        "- Each database is built into a fresh file by `python -m lib --db FILE demo --meetings N` (the demo "
        "generator, seed 42); its wall time is the build time.",
        "- **SQL**: the `lib.metrics` calls the page makes on first render (listed in `bench/pages.py`, "
        "checked against the page files), each on a fresh connection as `lib.ui.figure` opens one: each "
        "dashboard asks for one bundle of its figures (`lib.metrics.*_page`), whose parts equal the functions "
        "they are named after. Drill-downs are timed apart, in the per-function table. **compute** is what "
        "`metrics --json` computes. **statements**: the SQL statements those calls run (settings reads "
        "included).",
        "- **naive**: a fresh connection, `pd.read_sql('select * from T')` of every table the page needs "
        "(meetings, cells, meeting_leaders, ...), then the same figures in pandas (`bench/naive.py`). Before "
        "timing, the naive figures are checked equal to the SQL ones (below).",
        "- **floor**: bare SQL aggregates over the same rows (`bench/floor.py`), e.g. `select c.unit_id, "
        "count(*), sum(present), sum(members_total - members_exempt) ... from meetings m join cells c ... where "
        "held_on between ... group by 1`; the overview's floor covers both periods it compares. The floor is "
        "timed in turn with the page (page, floor, floor, page, ...) in the same process, so that on a shared "
        "machine both meet the same load. **ratio to floor** is the median over the rounds of the page's time "
        "over the floor's in the same round (not the ratio of the two medians), so that a load which comes and "
        "goes slows both halves of a pair.",
        "- **peak MB**: each measurement runs in its own child process (`python -m bench.peak bench.worker ...`), "
        "which reports its own high-water mark of resident memory (`VmHWM` in /proc/self/status) when done. Not "
        "`ru_maxrss` of the child: on Linux exec carries the parent's high-water mark over into the child, so it "
        "reports at least the harness's own size. The peak includes the interpreter and the imports "
        f"(`sqlite_utils` imports pandas and numpy): about {_mb(baseline)} MB before any work.",
        "",
        "## Results",
        "",
        main_table(results),
        "",
        "### Each figure (SQL, median ms on its own connection)",
        "",
        function_table(results),
        "",
        "### Build and command line",
        "",
        cli_table(results),
        "",
        "### The compiled report, the workbook and an import",
        "",
        "Each file built the way the Reports page builds it (`lib.reports.compiled_docx` / `data_xlsx` of the "
        "period, in a child process of its own: `python -m bench.peak bench.reports build DB PERIOD FORMAT RUNS`); "
        "wall time (median of the runs), CPU time (all threads: the charts are drawn in a second one) and the "
        "child's peak memory, the interpreter and imports included.",
        "",
        reports_table(results),
        "",
        *(["### SQLite and PostgreSQL side by side (issue 17)", "",
            "After each size's SQLite measurements its file is copied into a new database of a throwaway "
            "PostgreSQL cluster (`tests/pgcluster.py`: `initdb --no-locale -E UTF8`, a unix socket, the server's "
            "default memory settings, fsync off; `ANALYZE` after the copy, as autovacuum would run it soon "
            "after), and each page's bundles are timed there the same way (a "
            "connection per call from lib.pg's pool, as `lib.ui.figure` takes one; median of the rounds, page and "
            "floor in turn). The figures are the same bytes on both engines (`python -m bench.pgequal`, its "
            "section below).", "", engines_table(results), ""] if any(res.pg for res in results) else []),
        "### Naive figures equal to the SQL ones",
        "",
        *check_lines(results),
        "",
        "## Verdict",
        "",
        *verdict(results),
        "",
    ]
    slow = slow_lines(results)
    if slow:
        parts += ["## Where the time goes (pages that missed a target)", "",
                  "The page's statements, most costly first (time of one run × times the page runs it), each "
                  "named after the `lib.metrics` query it comes from, with the lines of `EXPLAIN QUERY PLAN` "
                  "about the big tables (the scope CTEs, the same in every query, are left out).", "", *slow]
    if notes:
        parts += ["## Notes", "", notes.strip(), ""]
    unlisted = unlisted_figures()
    if unlisted:
        parts += ["## Out of step", "", *[f"- {p} asks for figures the benchmark does not time: {', '.join(n)}"
                                          for p, n in unlisted.items()], ""]
    return "\n".join(parts)


def run(sizes: list[int], repeat: int, keep: bool, out: Path | None, period: str, db_dir: Path,
        pages: list[str] | None = None, naive: bool = True, notes: str = "", argv: list[str] | None = None,
        log: Any = print, engines: list[str] | None = None) -> tuple[list[SizeResult], str]:
    """Measure every size (on each engine), print the table, write the markdown to `out`; return the results and
    the markdown."""
    metrics.parse_period(period)
    today = date.today()
    pages = pages or list(PAGES)
    info = machine()
    db_dir.mkdir(parents=True, exist_ok=True)
    cluster = None
    if "postgresql" in (engines or ["sqlite"]):
        from tests.pgcluster import Cluster, bindir

        found = bindir()
        if found is None:
            raise RuntimeError("--engines postgresql: PostgreSQL's server is not installed (no initdb found)")
        cluster = Cluster(found).start()
        info["PostgreSQL"] = found.parent.name
    try:
        results = [measure_size(size, db_dir / f"bench-{size}.db", pages, repeat, period, today, keep, naive, log,
                                cluster) for size in sizes]
    finally:
        if cluster is not None:
            cluster.stop()
    results[0].reports["import"] = measure_import(db_dir, min(repeat, REPORT_RUNS), log)
    command = "python -m bench" + ("" if not argv else " " + shlex.join(argv))
    info["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = markdown(results, info, command, repeat, period, today, notes)
    log("")
    log(main_table(results))
    log("")
    if cluster is not None:
        log(engines_table(results))
        log("")
    log("\n".join(verdict(results)))
    if out is not None:
        # only the SQL section: the browser benchmark's figures (bench/browser.py) stay as they are
        results_md.write(out, "sql", text)
        log(f"\nwritten to {out}")
    return results, text
