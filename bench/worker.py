"""One measurement in a child process: `python -m bench.worker '<json spec>'` prints one JSON line.

Modes: "sql" (the page's lib.metrics calls, timed in turn with the page's floor), "naive" (whole
tables into pandas), "floor" (the bare aggregates alone), "check" (naive figures against the SQL
ones), "explain" (the page's statements, each timed, with its query plan).
"""

import json
import re
import statistics
import sys
import time
from datetime import date
from typing import Any

from bench import floor, naive, peak
from bench.pages import DRILL_DOWNS, PAGES, Call, Context, missing_functions, run_call
from lib import db as dbm
from lib import metrics


def _timed(fn: Any, repeat: int) -> list[float]:
    fn()  # warm-up: the OS file cache and Python's first-call costs
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _examples(path: str, ctx: Context) -> Context:
    """The busiest unit and leader of the period, for the drill-down calls."""
    with dbm.read(path) as conn:
        units = metrics.attendance_by_unit(conn, ctx.period, today=ctx.today)
        leaders = metrics.participation_by_leader(conn, ctx.period, today=ctx.today)
    unit = max(units, key=lambda r: r["meetings"])["unit_code"] if units else ""
    leader = max(leaders, key=lambda r: r["attended"])["leader_code"] if leaders else ""
    return Context(ctx.period, ctx.today, unit, leader)


def _timed_in_turn(first: Any, second: Any, repeat: int) -> tuple[list[float], list[float]]:
    """Two measurements taken in turn (first, second, second, first, ...) after one warm-up of each, so that
    on a shared machine both meet the same load."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        order = ((first, times[0]), (second, times[1]))
        for fn, out in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def measure_sql(path: str, page: str, ctx: Context, repeat: int) -> dict[str, Any]:
    """The page's calls, each on its own fresh connection as lib.ui.figure opens one, timed in turn with the
    page's floor; per-call times too."""
    calls = [c for c in PAGES[page][1] if not missing_functions((c,))]
    drills = [c for c in DRILL_DOWNS.get(page, ()) if not missing_functions((c,))]
    per_call: dict[str, list[float]] = {c.name: [] for c in calls + drills}

    def one(call: Call) -> float:
        start = time.perf_counter()
        with dbm.read(path) as conn:
            run_call(conn, call, ctx)
        return time.perf_counter() - start

    def page_run() -> None:
        for call in calls:
            per_call[call.name].append(one(call))

    def floor_run() -> None:
        with dbm.read(path) as conn:
            floor.run(conn.conn, page, ctx.period)

    times, floor_times = _timed_in_turn(page_run, floor_run, repeat)
    if drills:
        ctx_drill = _examples(path, ctx)
        for call in drills:
            per_call[call.name] = _timed(lambda c=call: one_drill(path, c, ctx_drill), repeat)
    for call in calls:
        per_call[call.name] = per_call[call.name][1:]  # drop the warm-up
    return {"times": times, "floor_times": floor_times,
            "per_call": {k: statistics.median(v) * 1000 for k, v in per_call.items() if v},
            # statements are counted by SQLite's trace (the same lib.metrics calls run the same ones on PostgreSQL)
            "queries": None if dbm.pg_url(path) else len(statements(path, calls, ctx)),
            "missing": missing_functions(PAGES[page][1] + DRILL_DOWNS.get(page, ()))}


def statements(path: str, calls: list[Call], ctx: Context) -> list[tuple[str, str]]:
    """Every data query the calls run, as (function, SQL with its values), traced after the timing."""
    out: list[tuple[str, str]] = []
    with dbm.read(path) as conn:
        for call in calls:
            traced: list[str] = []
            conn.conn.set_trace_callback(traced.append)
            try:
                run_call(conn, call, ctx)
            finally:
                conn.conn.set_trace_callback(None)
            out += [(call.name, sql) for sql in traced if sql.lstrip().lower().startswith(("select", "with"))]
    return out


def one_drill(path: str, call: Call, ctx: Context) -> None:
    """One drill-down call on a fresh connection."""
    with dbm.read(path) as conn:
        run_call(conn, call, ctx)


def measure_naive(path: str, page: str, ctx: Context, repeat: int) -> dict[str, Any]:
    """Load the page's tables whole into pandas on a fresh connection, then compute its figures there."""
    def page_run() -> None:
        with dbm.read(path) as conn:
            frames = naive.load(conn, naive.TABLES[page])
        naive.page_figures(frames, page, ctx.period, ctx.today)

    return {"times": _timed(page_run, repeat)}


def measure_floor(path: str, page: str, ctx: Context, repeat: int) -> dict[str, Any]:
    """The page's bare aggregates on a fresh connection."""
    def page_run() -> None:
        with dbm.read(path) as conn:
            floor.run(conn.conn, page, ctx.period)

    return {"times": _timed(page_run, repeat)}


def _project(sql: Any, ref: Any) -> Any:
    """The SQL result cut down to the keys the naive one has, lists in a canonical order."""
    if isinstance(ref, dict) and isinstance(sql, dict):
        return {k: _project(sql.get(k, "<absent>"), v) for k, v in ref.items()}
    if isinstance(ref, list) and isinstance(sql, list):
        if ref and isinstance(ref[0], dict):
            sql = [_project(s, ref[0]) for s in sql]
        return sorted(sql, key=lambda x: json.dumps(x, sort_keys=True, default=str))
    return sql


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda x: json.dumps(x, sort_keys=True, default=str))
    return value


def differences(sql: Any, ref: Any, where: str = "") -> list[str]:
    """Where the SQL figures differ from the naive ones (only the naive keys are compared)."""
    got, want = _project(sql, ref), _canonical(ref)
    if got == want:
        return []
    if isinstance(want, dict) and isinstance(got, dict):
        return [d for k in want for d in differences(sql.get(k), ref[k], f"{where}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        dump = [json.dumps(x, sort_keys=True, default=str) for x in got]
        ref_dump = [json.dumps(x, sort_keys=True, default=str) for x in want]
        only_sql = [x for x in dump if x not in set(ref_dump)]
        only_naive = [x for x in ref_dump if x not in set(dump)]
        return [f"{where}: {len(got)} rows in SQL, {len(want)} naive; first only in SQL: "
                f"{(only_sql or ['-'])[0][:300]}; first only naive: {(only_naive or ['-'])[0][:300]}"]
    return [f"{where}: SQL {json.dumps(got, default=str)[:300]} naive {json.dumps(want, default=str)[:300]}"]


def page_values(conn: Any, page: str, ctx: Context) -> dict[str, Any]:
    """The page's figures by the lib.metrics name they equal: a bundle's (*_page) parts, or a call's result."""
    out: dict[str, Any] = {}
    for call in PAGES[page][1]:
        value = run_call(conn, call, ctx)
        out.update(value if call.name.endswith("_page") else {call.name: value})
    return out


def check(path: str, pages: list[str], ctx: Context) -> dict[str, Any]:
    """Compute each page's figures both ways and compare them; the tables are loaded once."""
    tables = tuple(sorted({t for p in pages for t in naive.TABLES[p]}))
    with dbm.read(path) as conn:
        frames = naive.load(conn, tables)
    out = {}
    for page in pages:
        ref = naive.page_figures(frames, page, ctx.period, ctx.today)
        with dbm.read(path) as conn:
            got = page_values(conn, page, ctx)
        checked, problems = [], []
        for name, value in ref.items():
            checked.append(name)
            problems += differences(got.get(name, "<not computed by the page>"), value, name)
        out[page] = {"checked": checked, "differences": problems}
    return out


# Plan lines about the scope CTEs (units, cells, json_each of the filters) repeat in every query;
# the lines kept are those about the big tables and the work SQLite adds.
PLAN_KEEP = ("meetings", " m ", " m\n", " ml ", " w ", "SCAN w", "SEARCH w", "SEARCH m", "SCAN m", "CORRELATED",
             "TEMP B-TREE", "AUTOMATIC", "SCAN sc", "SCAN x", "SCAN asg", "SCAN k")


def _query_patterns() -> dict[str, list[re.Pattern]]:
    """The SQL constants of lib.metrics as patterns that match their traced text (values in place of :params), as
    written and as run without filters (lib.metrics._specialized_sql)."""
    texts = {name: text for name, text in vars(metrics).items() if name.endswith("_SQL") and isinstance(text, str)
             and name != "ATTENDANCE_SQL"}
    texts.update({f"ATTENDANCE_SQL[{level}]": metrics.ATTENDANCE_SQL.format(**fmt)
                  for level, fmt in metrics.LEVELS.items()})
    return {name: [re.compile(".*?".join(re.escape(part) for part in re.split(r":[a-z_]+", variant)), re.DOTALL)
                   for variant in dict.fromkeys(metrics._specialized_sql(text, whole, typed)
                                                for whole in (False, True) for typed in (False, True))]
            for name, text in texts.items()}


def query_name(sql: str, patterns: dict[str, list[re.Pattern]]) -> str:
    """Which lib.metrics constant a traced statement comes from (the longest that matches), or "?"."""
    names = {name: max(len(p.pattern) for p in variants if p.fullmatch(sql))
             for name, variants in patterns.items() if any(p.fullmatch(sql) for p in variants)}
    return max(names, key=names.__getitem__) if names else "?"


def explain(path: str, page: str, ctx: Context, top: int) -> list[dict[str, Any]]:
    """The page's SQL statements, grouped by text: how often run, median time of one run, and the plan's gist."""
    calls = [c for c in PAGES[page][1] if not missing_functions((c,))]
    seen: dict[str, dict[str, Any]] = {}
    patterns = _query_patterns()
    for name, sql in statements(path, calls, ctx):
        entry = seen.setdefault(sql, {"functions": [], "runs": 0, "query": query_name(sql, patterns)})
        entry["runs"] += 1
        if name not in entry["functions"]:
            entry["functions"].append(name)
    with dbm.read(path) as conn:
        for sql, entry in seen.items():
            times = _timed(lambda s=sql: conn.execute(s).fetchall(), 3)
            entry["ms"] = statistics.median(times) * 1000
            plan = [r[3] for r in conn.execute("explain query plan " + sql).fetchall()]
            entry["plan"] = [line for line in plan if any(k in f" {line}\n" for k in PLAN_KEEP)]
            entry["sql"] = " ".join(sql.split())[:160]
    ranked = sorted(seen.values(), key=lambda e: e["ms"] * e["runs"], reverse=True)
    return ranked[:top]


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    path, page, mode = spec["db"], spec.get("page"), spec["mode"]
    ctx = Context(metrics.parse_period(spec["period"]), date.fromisoformat(spec["today"]))
    baseline = peak.peak_mb()
    if mode == "sql":
        result = measure_sql(path, page, ctx, spec["repeat"])
    elif mode == "naive":
        result = measure_naive(path, page, ctx, spec["repeat"])
    elif mode == "floor":
        result = measure_floor(path, page, ctx, spec["repeat"])
    elif mode == "check":
        result = {"pages": check(path, spec["pages"], ctx)}
    elif mode == "explain":
        result = {"statements": explain(path, page, ctx, spec.get("top", 3))}
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    result["baseline_mb"] = baseline
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
